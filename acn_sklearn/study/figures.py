"""Figures 4 and 5 of the paper from learning-curve cells, and calibration figures.

Figures are drawn on :class:`matplotlib.figure.Figure` objects and saved directly,
without pyplot: no global matplotlib state (backend, current figure) changes. A
model has one colour in every figure (:func:`model_colour`).
"""

from __future__ import annotations

import zlib
from pathlib import Path

import numpy as np
from ase import Atoms
from matplotlib import colormaps
from matplotlib.colors import to_hex, to_rgb
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter, NullFormatter

from ..registry import CATALOGUE, parse_model_spec
from .analysis import fit_power_law, summarise
from .learning_curve import Cell
from .peers import Peer

__all__ = ["PALETTE", "model_colour", "plot_calibration", "plot_learning_curves", "plot_parity"]

#: A power law is fitted only through at least this many training-set sizes.
MIN_SIZES_FOR_FIT = 3

_PLAIN = FuncFormatter(lambda value, _: f"{value:,.10g}")

#: One colour per catalogue model, in :data:`acn_sklearn.registry.CATALOGUE` order:
#: matplotlib's ten ``tab10`` colours, then the lighter halves of ``tab20``.
PALETTE = tuple(
    to_hex(c) for c in colormaps["tab20"].colors[0::2] + colormaps["tab20"].colors[1::2]
)
#: Colours of names that are no catalogue model (e.g. the methods of a calibration
#: figure), chosen by a checksum of the name so that they too never change.
_OTHER = tuple(to_hex(c) for c in colormaps["Dark2"].colors)
#: Variants of a model (``"acn:radius=4"``) share its hue, mixed with black (< 0)
#: or white (> 0) by one of these shares.
_SHADES = (-0.6, 0.6, -0.45, 0.45, -0.3, 0.3, -0.15, 0.15)


def model_colour(model: str) -> str:
    """The colour of a model in every figure, the same in every run.

    Parameters
    ----------
    model : str
        A model spec (``"slatm"``, ``"acn:radius=4"``) or a catalogue label
        (``"SLATM"``); any other name gets a fixed colour of its own.

    Returns
    -------
    str
        A ``#rrggbb`` colour: the catalogue model's :data:`PALETTE` entry; for a
        spec with parameters, a darker or lighter shade of it chosen by a checksum
        of the parameters (two variants may rarely share a shade; their legend
        entries tell them apart).

    Examples
    --------
    >>> from acn_sklearn.study.figures import model_colour
    >>> model_colour("cm"), model_colour("CM")
    ('#1f77b4', '#1f77b4')
    """
    labels = {entry.label: name for name, entry in CATALOGUE.items()}
    try:
        name, params = parse_model_spec(labels.get(model, model))
    except ValueError:
        return _OTHER[zlib.crc32(model.encode()) % len(_OTHER)]
    base = PALETTE[list(CATALOGUE).index(name) % len(PALETTE)]
    if not params:
        return base
    share = _SHADES[zlib.crc32(repr(sorted(params.items())).encode()) % len(_SHADES)]
    target = 1.0 if share > 0 else 0.0
    return to_hex([c + abs(share) * (target - c) for c in to_rgb(base)])


def plot_learning_curves(
    cells: list[Cell], path: Path, unit: str, subtitle: str = "", peers: tuple[Peer, ...] = ()
) -> dict[str, tuple]:
    """Figure 4: log-log test MAE against N, with a fitted ``a / N**b`` per model.

    A power law is fitted and drawn only for models with at least
    :data:`MIN_SIZES_FOR_FIT` sizes (through two points any line fits); other
    models' points are joined by dashed lines. Axes carry plain numbers. Sizes
    a model skipped are named in its legend entry, with the reason; published
    peers are black stars at their N, labelled.

    Parameters
    ----------
    cells : list of Cell
    path : path
        The PNG to write.
    unit : str
        Unit of the target.
    subtitle : str, optional
        What was learned and scored on, e.g. ``"U_atomization, 2,000 test molecules"``.
    peers : tuple of Peer, optional
        Published results to mark (:func:`acn_sklearn.peers.peers_for`).

    Returns
    -------
    dict
        Model -> ``(a, b)`` of the fit.
    """
    fig, fits = _learning_curve_figure(cells, unit, subtitle, peers)
    fig.savefig(path, dpi=120)
    return fits


def _skip_note(skipped: list[dict]) -> str:
    sizes = ", ".join(f"{r['n_train']:,}" for r in skipped)
    return f"\n  skipped at N = {sizes}: {skipped[-1]['skipped']}"


def _learning_curve_figure(cells, unit, subtitle, peers):
    """Figure 4 drawn, and the power-law fits."""
    rows = summarise(cells)
    fits = {}
    fig = Figure(figsize=(7.5, 5.4))
    ax = fig.subplots()
    for model in dict.fromkeys(r["model"] for r in rows):
        mine = [r for r in rows if r["model"] == model and r["repeats"]]
        skipped = [r for r in rows if r["model"] == model and not r["repeats"]]
        color = model_colour(model)
        if not mine:
            ax.plot([], [], ls="", marker="x", color=color, label=f"{model}{_skip_note(skipped)}")
            continue
        n = np.array([r["n_train"] for r in mine])
        mae = np.array([r["mae"] for r in mine])
        yerr = [r["mae_std"] for r in mine]
        line = ax.errorbar(n, mae, yerr=yerr, marker="o", ls="", capsize=3, color=color)
        label = model
        if len(n) >= MIN_SIZES_FOR_FIT:
            a, b = fits[model] = fit_power_law(n, mae)
            grid = np.geomspace(n.min(), n.max(), 50)
            ax.plot(grid, a / grid**b, color=color)
            label = f"{model}: {a:.3g} / N^{b:.2f}"
        elif len(n) > 1:
            ax.plot(n, mae, color=color, ls="--", lw=0.8)
        line[0].set_label(label + (_skip_note(skipped) if skipped else ""))
    # Labels alternate right and left of the stars, in order of MAE, so that close
    # values (DimeNet++ 0.146, PaiNN 0.135) do not overprint.
    for i, peer in enumerate(sorted(peers, key=lambda p: p.mae)):
        ax.plot(peer.n_train, peer.mae, marker="*", color="black", ls="", ms=8)
        ax.annotate(
            f"{peer.name} {peer.mae:.2g}",
            (peer.n_train, peer.mae),
            xytext=(6 if i % 2 == 0 else -6, 0),
            textcoords="offset points",
            fontsize=7,
            va="center",
            ha="left" if i % 2 == 0 else "right",
        )
    if peers:
        ax.plot([], [], marker="*", color="black", ls="", label="published, U0, own test sets")
    ax.set(xscale="log", yscale="log", xlabel="training molecules N", ylabel=f"test MAE ({unit})")
    for axis in (ax.xaxis, ax.yaxis):
        axis.set_major_formatter(_PLAIN)
        axis.set_minor_formatter(NullFormatter())
    ax.set_title("Learning curves (Figure 4)" + (f"\n{subtitle}" if subtitle else ""), fontsize=10)
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=7)
    fig.tight_layout()
    return fig, fits


def _formula(molecule: np.ndarray) -> str:
    return Atoms(numbers=molecule[molecule[:, 0] > 0, 0].astype(int)).get_chemical_formula()


def plot_parity(
    cells: list[Cell],
    y_test: np.ndarray,
    X_test: np.ndarray,
    smiles: np.ndarray,
    path: Path,
    unit: str,
    n_outliers: int = 5,
    subtitle: str = "",
) -> list[dict]:
    """Figure 5: predicted against reference, and the error itself, for every model.

    Left, the parity plot of all models; right, one small panel per model (best
    first, each on its own error scale) with its error against the reference
    value, so that no model's points hide another's and errors of a few units
    stay visible on a scale of thousands. The largest errors of the best model
    (lowest MAE) are numbered on its panels and listed under them, so labels
    never pile up or leave the figure.

    Parameters
    ----------
    cells : list of Cell
        Cells scored on the same test molecules (one N), one per model.
    y_test, X_test, smiles : the test molecules' targets, molecules and SMILES
    path : path
        The PNG to write.
    unit : str
    n_outliers : int, default=5
    subtitle : str, optional

    Returns
    -------
    list of dict
        The best model's largest errors, largest first: SMILES, formula,
        reference, prediction, error.
    """
    fig, outliers = _parity_figure(cells, y_test, X_test, smiles, unit, n_outliers, subtitle)
    fig.savefig(path, dpi=120)
    return outliers


def _parity_figure(cells, y_test, X_test, smiles, unit, n_outliers=5, subtitle=""):
    """Figure 5 drawn, and the best model's largest errors."""
    reference = np.asarray(y_test).reshape(len(y_test), -1)[:, 0]
    ranked = sorted(cells, key=lambda c: c.mae)
    best = ranked[0]
    fig = Figure(figsize=(10, max(5.8, 1.2 * len(ranked) + 2.5)))
    grid = fig.add_gridspec(len(ranked), 2)
    parity = fig.add_subplot(grid[:, 0])
    residuals = []
    for row, cell in enumerate(ranked):
        residual = fig.add_subplot(grid[row, 1], sharex=residuals[0] if residuals else None)
        prediction = np.asarray(cell.predictions).reshape(len(y_test), -1)[:, 0]
        label = f"{cell.model}: MAE {cell.mae:.3g}"
        colour = model_colour(cell.model)
        residual.scatter(reference, prediction - reference, s=3, color=colour, label=label)
        residual.axhline(0.0, color="black", lw=0.8)
        residual.set_title(label, fontsize=8, loc="left", color=colour)
        residual.tick_params(labelsize=7, labelbottom=row == len(ranked) - 1)
        residuals.append(residual)
    for cell in reversed(ranked):  # the best model drawn last, on top
        prediction = np.asarray(cell.predictions).reshape(len(y_test), -1)[:, 0]
        label = f"{cell.model}: MAE {cell.mae:.3g}"
        parity.scatter(
            reference, prediction, s=3, alpha=0.5, color=model_colour(cell.model), label=label
        )
    prediction = np.asarray(best.predictions).reshape(len(y_test), -1)[:, 0]
    error = prediction - reference
    worst = np.argsort(-np.abs(error))[:n_outliers]
    outliers = [
        {
            "smiles": str(smiles[i]),
            "formula": _formula(X_test[i]),
            "reference": float(reference[i]),
            "prediction": float(prediction[i]),
            "error": float(error[i]),
        }
        for i in worst
    ]
    for rank, i in enumerate(worst, start=1):
        for ax, value in ((parity, prediction[i]), (residuals[0], error[i])):
            ax.annotate(str(rank), (reference[i], value), fontsize=8, fontweight="bold")
    low, high = reference.min(), reference.max()
    parity.plot([low, high], [low, high], color="black", lw=0.8)
    parity.set(xlabel=f"reference ({unit})", ylabel=f"predicted ({unit})")
    residuals[-1].set_xlabel(f"reference ({unit})")
    residuals[len(residuals) // 2].set_ylabel(f"predicted - reference ({unit})")
    parity.legend(fontsize=8, markerscale=3)
    listing = "\n".join(
        f"{rank}. {o['smiles']} ({o['formula']}): error {o['error']:+.3g} {unit}"
        for rank, o in enumerate(outliers, start=1)
    )
    fig.text(0.01, 0.01, f"Largest errors of {best.model}:\n{listing}", fontsize=7, va="bottom")
    title = f"Test predictions at N = {best.n_train:,} (Figure 5)"
    fig.suptitle(title + (f"\n{subtitle}" if subtitle else ""), fontsize=10)
    fig.tight_layout(rect=(0, 0.04 + 0.022 * len(outliers), 1, 1))
    return fig, outliers


def plot_calibration(curves: dict, path: Path, title: str) -> None:
    """Observed against expected coverage of Gaussian error bars, one line per curve.

    Parameters
    ----------
    curves : dict
        Label -> ``(expected, observed)`` as
        :func:`acn_sklearn.uncertainty.calibration_curve` returns them; each
        curve has the colour :func:`model_colour` gives its label.
    path : path
        The image to write (PNG or SVG, by its suffix).
    title : str
        The model and the data, e.g. ``"SLATM, N = 1,000, 2,000 test molecules"``.
    """
    fig = Figure(figsize=(4.8, 4.6))
    ax = fig.subplots()
    ax.plot([0, 1], [0, 1], color="black", lw=0.8, label="calibrated")
    for label, (expected, observed) in curves.items():
        ax.plot(expected, observed, marker="o", ms=3, color=model_colour(label), label=label)
    ax.set(
        xlim=(0, 1),
        ylim=(0, 1),
        xlabel="expected coverage of the Gaussian interval",
        ylabel="observed share of test molecules inside",
    )
    ax.set_title(title, fontsize=10)
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize=8, loc="upper left")
    fig.tight_layout()
    fig.savefig(path, dpi=120)

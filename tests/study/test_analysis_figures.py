"""Report numbers against hand computations: errors by element and the parity outliers."""

import numpy as np
import pytest

from acn_sklearn.study.analysis import mae_by_element
from acn_sklearn.study.figures import plot_learning_curves, plot_parity
from acn_sklearn.study.learning_curve import Cell

# Methane, water, ammonia, methanol (rows [Z, x, y, z]; coordinates do not matter here).
FORMULAS = ["CH4", "H2O", "H3N", "CH4O"]
CHARGES = [[6, 1, 1, 1, 1], [8, 1, 1], [7, 1, 1, 1], [6, 8, 1, 1, 1, 1]]


def _molecules():
    X = np.zeros((len(CHARGES), 6, 4))
    for i, z in enumerate(CHARGES):
        X[i, : len(z), 0] = z
        X[i, : len(z), 3] = np.arange(len(z))
    return X


def test_mae_by_element_averages_over_the_molecules_holding_each_element():
    X = _molecules()
    y = np.array([10.0, 20.0, 30.0, 40.0])
    predictions = y + np.array([1.0, -2.0, 4.0, -8.0])
    by_element = mae_by_element(X, y, predictions)
    assert by_element == {
        "H": {"n_molecules": 4, "mae": pytest.approx((1 + 2 + 4 + 8) / 4)},
        "C": {"n_molecules": 2, "mae": pytest.approx((1 + 8) / 2)},
        "N": {"n_molecules": 1, "mae": pytest.approx(4.0)},
        "O": {"n_molecules": 2, "mae": pytest.approx((2 + 8) / 2)},
    }
    # Several outputs: a molecule's error is the mean over its outputs.
    two = mae_by_element(X, np.column_stack([y, y]), np.column_stack([predictions, y]))
    assert two["N"]["mae"] == pytest.approx(2.0)


def test_parity_outliers_are_the_largest_errors_largest_first(tmp_path):
    X = _molecules()
    reference = np.array([-400.0, -200.0, -300.0, -500.0])
    errors = np.array([0.5, -6.0, 2.0, -1.0])
    cell = Cell(
        model="cm",
        n_train=10,
        repeat=0,
        mae=float(np.abs(errors).mean()),
        fit_s=0.0,
        predict_s=0.0,
        test_indices=np.arange(4),
        predictions=reference + errors,
    )
    smiles = np.array(["C", "O", "N", "CO"])
    worse = Cell(**{**cell.__dict__, "model": "slatm", "mae": 9.0, "predictions": reference + 9})
    outliers = plot_parity([worse, cell], reference, X, smiles, tmp_path / "p.png", "kcal/mol", 3)
    assert [o["smiles"] for o in outliers] == ["O", "N", "CO"]
    assert [o["formula"] for o in outliers] == ["H2O", "H3N", "CH4O"]
    np.testing.assert_allclose([o["error"] for o in outliers], [-6.0, 2.0, -1.0])
    np.testing.assert_allclose([o["reference"] for o in outliers], [-200.0, -300.0, -500.0])
    np.testing.assert_allclose([o["prediction"] for o in outliers], [-206.0, -298.0, -501.0])
    assert (tmp_path / "p.png").stat().st_size > 0


def test_a_power_law_needs_three_sizes(tmp_path):
    def cell(model, n, mae):
        return Cell(model, n, 0, mae, 0.0, 0.0, np.arange(2), np.zeros(2))

    sizes = [100, 1000, 10000]
    cells = [cell("slatm", n, 50 / n**0.5) for n in sizes] + [
        cell("cm", n, 9.0) for n in (100, 1000)
    ]
    fits = plot_learning_curves(cells, tmp_path / "f4.png", "kcal/mol", "U, 2 test molecules")
    assert set(fits) == {"slatm"}
    np.testing.assert_allclose(fits["slatm"], (50.0, 0.5))
    assert (tmp_path / "f4.png").stat().st_size > 0


def test_figure_4_names_skipped_sizes_and_marks_the_peers():
    from acn_sklearn.study.figures import _learning_curve_figure
    from acn_sklearn.study.peers import PEERS

    def cell(model, n, mae):
        return Cell(model, n, 0, mae, 0.0, 0.0, np.arange(2), np.zeros(2))

    reason = "needs 90.1 GiB for its kernel matrices, 20.0 GiB available"
    cells = [cell("slatm", n, 50 / n**0.5) for n in (100, 1000, 10000)]
    cells.append(Cell.skip("slatm", 110000, 0, np.arange(2), reason, 90 * 2**30))
    cells.append(Cell.skip("fchl19", 110000, 0, np.arange(2), reason, 90 * 2**30))
    fig, fits = _learning_curve_figure(cells, "kcal/mol", "", PEERS)
    # The skipped size neither bends the fit nor disappears.
    np.testing.assert_allclose(fits["slatm"], (50.0, 0.5))
    legend = [text.get_text() for text in fig.axes[0].get_legend().get_texts()]
    assert legend[0] == f"slatm: 50 / N^0.50\n  skipped at N = 110,000: {reason}"
    assert legend[1] == f"fchl19\n  skipped at N = 110,000: {reason}"
    assert legend[2] == "published, U0, own test sets"
    marked = {text.get_text() for text in fig.axes[0].texts}
    assert marked == {f"{p.name} {p.mae:.2g}" for p in PEERS}
    stars = [
        line for line in fig.axes[0].lines if line.get_marker() == "*" and len(line.get_xdata())
    ]
    assert sorted((s.get_xdata()[0], s.get_ydata()[0]) for s in stars) == sorted(
        (p.n_train, p.mae) for p in PEERS
    )


def test_summary_rows_leave_skipped_cells_out_of_the_statistics():
    from acn_sklearn.study.analysis import summarise

    ran = Cell("cm", 100, 0, 4.0, 1.0, 2.0, np.arange(2), np.zeros(2))
    skipped = Cell.skip("cm", 100, 1, np.arange(2), "out of memory: no", 0)
    (row,) = summarise([ran, skipped])
    assert (row["repeats"], row["mae"], row["fit_s"], row["skipped"]) == (
        1,
        4.0,
        1.0,
        "out of memory: no",
    )
    (alone,) = summarise([skipped])
    assert alone["repeats"] == 0 and np.isnan(alone["mae"])


def test_a_model_has_one_colour_in_figures_4_and_5_and_its_own_residual_panel():
    from matplotlib.colors import to_hex

    from acn_sklearn.study.figures import _learning_curve_figure, _parity_figure, model_colour

    X = _molecules()
    reference = np.array([-400.0, -200.0, -300.0, -500.0])
    models = {"cm": 9.0, "slatm": 2.0, "acn:radius=4": 1.0, "fchl19": 0.5}
    cells = [
        Cell(model, n, 0, mae, 0.0, 0.0, np.arange(4), reference + mae)
        for model, mae in models.items()
        for n in (10, 100)
    ]
    figure4, _ = _learning_curve_figure(cells, "kcal/mol", "", ())
    in_figure4 = {
        line.get_label(): to_hex(line.get_color())  # two sizes: no power law in the label
        for line in figure4.axes[0].lines
        if line.get_marker() == "o"
    }
    at_100 = [c for c in cells if c.n_train == 100]
    smiles = np.array(["C", "O", "N", "CO"])
    figure5, _ = _parity_figure(at_100, reference, X, smiles, "kcal/mol", 2)
    parity, *residuals = figure5.axes
    in_parity = {
        points.get_label().split(": MAE")[0]: to_hex(points.get_facecolor()[0])
        for points in parity.collections
    }
    # One small panel per model, best first, holding that model's errors only.
    assert len(residuals) == len(models)
    in_residuals = {}
    for panel, model in zip(residuals, sorted(models, key=models.get), strict=True):
        (points,) = panel.collections
        assert points.get_label().startswith(f"{model}: MAE")
        np.testing.assert_allclose(points.get_offsets()[:, 1], models[model])
        in_residuals[model] = to_hex(points.get_facecolor()[0])
    expected = {model: model_colour(model) for model in models}
    assert in_figure4 == in_parity == in_residuals == expected
    assert len(set(expected.values())) == len(models)


def test_model_colours_follow_the_catalogue():
    from acn_sklearn.registry import CATALOGUE
    from acn_sklearn.study.figures import PALETTE, model_colour

    assert [model_colour(name) for name in CATALOGUE] == list(PALETTE[: len(CATALOGUE)])
    assert model_colour("SLATM") == model_colour("slatm")
    radii = {model_colour(f"acn:radius={r}") for r in (3, 4, 5)}
    assert len(radii | {model_colour("acn")}) == 4  # the paper's networks stay apart
    assert model_colour("as implemented") == model_colour("as implemented")

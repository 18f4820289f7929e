"""How well each model's ``predict(X, return_std=True)`` measures its own error.

On the fixed QM9 split (``common.held_out_split``) at one training size N, for
SLATM and FCHL19 kernel ridge regression, one ACN network and a deep ensemble of
four ACN networks: fit on the N training molecules, predict the 2,000 test
molecules with their standard deviation sigma, and report the share of test
molecules with ``|error| <= 2 sigma`` (90-98 % is the goal; a Gaussian gives
95.4 %), the Spearman rank correlation between sigma and ``|error|`` (goal
>= 0.4) and a calibration figure per model. The single network is the
ensemble's first member (seed 0, the same fit), and for it two ways to get
sigma are compared, both calibrated on its validation split: the Bayesian last
layer that ``ACNRegressor`` implements, and the distance to the nearest
training molecules in the same last-layer features. Every model also predicts
tridecane (41 atoms) and the straight-chain alkanes of 32 to 59 atoms, which
must each get a domain warning; the test molecules' warnings are counted by
reason. The test set is only predicted: every scale is fitted on leave-one-out
or validation molecules.

Results accumulate in a JSON file (``--results``; one entry per model and N,
rerun to replace); every run appends the report's new rows to the record
(``benchmarks/results.jsonl``) and rewrites the figures
``docs/benchmarks/uncertainty_<model>_n<N>.png`` from all of them
(``--models`` with no model only rewrites them).

Run from the repository root::

    python -m benchmarks.uncertainty.bench_uncertainty --n-train 1000 \\
        --models SLATM FCHL19 ENSEMBLE --results /tmp/uncertainty.json
"""

from __future__ import annotations

import argparse
import json
import os
import pickle
import sys
import time
import warnings
from pathlib import Path

import numpy as np
from scipy.stats import spearmanr
from sklearn.neighbors import NearestNeighbors

from acn_sklearn import ACNRegressor, DeepEnsembleRegressor, make_fchl19_krr, make_slatm_krr
from acn_sklearn.acn._uncertainty import network_outputs
from acn_sklearn.domain import DomainWarning
from acn_sklearn.molecules import check_molecules
from acn_sklearn.registry import set_elements
from acn_sklearn.study.figures import plot_calibration
from acn_sklearn.uncertainty import calibration_curve, std_scale
from benchmarks.common import DOCS, RAW, ROOT, held_out_split, write_report

sys.path.insert(0, str(ROOT / "tests"))
from test_domain import alkane  # the tests' zigzag alkane builder

#: Straight-chain alkanes predicted out of domain: CnH2n+2 with 3n + 2 atoms.
ALKANE_CARBONS = (10, 11, 12, 13, 15, 17, 19)
#: Reasons of a DomainWarning, by the words of its message.
REASONS = {
    "size": "more heavy atoms than any training molecule",
    "element": "an element never seen in training",
    "bond": "a bonded element pair never seen in training",
    "uncertainty": "uncertainty far above the validation level",
}
NEIGHBOURS = 5
RECOUNT_NOTE = """
*Size recounted*: these runs matched the size warnings by their words before the
size reason became "more heavy atoms than any training molecule", so they counted
none; the size reason depends only on the training molecules (every model records
`TrainingDomain.of(X_train)`), and recounted on the same training molecules with
`TrainingDomain.of(X_train).outside(alkanes)` it names all seven alkanes (at most 9
heavy atoms in training) and no test molecule."""
#: Every model takes QM9's elements, so test molecules with fluorine are predicted.
QM9_ELEMENTS = (1, 6, 7, 8, 9)


def _warned(estimator, X):
    """``predict(X, return_std=True)`` and, per reason, the molecules its warnings name.

    The warnings' own listings stop at ten molecules, so the molecules come from
    the domain's :meth:`~acn_sklearn.domain.TrainingDomain.outside`, which the
    warnings are made of; that every reason was warned about is checked.
    """
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", DomainWarning)
        mean, std = estimator.predict(X, return_std=True)
    outside = estimator.training_domain_.outside(X, std)
    messages = [str(w.message) for w in caught if issubclass(w.category, DomainWarning)]
    assert len(messages) == len(outside), (messages, list(outside))
    named = {
        reason: sorted({i for text, ids in outside.items() if words in text for i in ids})
        for reason, words in REASONS.items()
    }
    return (mean, std), named


def _spearman_if_calibrated(std, draws=200):
    """The Spearman correlation sigma would reach if every error were drawn from
    N(0, sigma^2): the ceiling that the spread of these sigmas allows."""
    z = np.random.default_rng(0).standard_normal((draws, len(std)))
    return float(np.mean([spearmanr(std, np.abs(row * std))[0] for row in z]))


def _metrics(y, mean, std):
    error = mean - y
    expected, observed = calibration_curve(error, std)
    ranks = np.ptp(std) > 0
    return {
        "mae": float(np.abs(error).mean()),
        "within_2_sigma": float(np.mean(np.abs(error) <= 2 * std)),
        "spearman": float(spearmanr(std, np.abs(error))[0]) if ranks else None,
        "spearman_if_calibrated": _spearman_if_calibrated(std) if ranks else None,
        "rms_z": float(np.sqrt(np.mean((error / std) ** 2))),
        "mean_sigma": float(std.mean()),
        "curve": [expected.tolist(), observed.tolist()],
    }


def _latent_distance(network, X_train, y_train, X_test):
    """Comparison for one network: sigma from the distance to training molecules in the
    last-layer features, calibrated on the validation split like the last layer."""
    valid = network.validation_indices_
    train = np.setdiff1d(np.arange(len(X_train)), valid)
    outputs = {
        part: network_outputs(network, network._featurize(X))
        for part, X in (("train", X_train[train]), ("valid", X_train[valid]), ("test", X_test))
    }
    # The first output's last-layer Jacobian features (its head's slope folded in).
    train_features = outputs["train"][1][0]
    scale = train_features.std(axis=0) + 1e-12
    neighbours = NearestNeighbors(n_neighbors=NEIGHBOURS).fit(train_features / scale)

    def raw(part):
        y, features, _ = outputs[part]
        return y[:, 0], neighbours.kneighbors(features[0] / scale)[0].mean(axis=1)

    y_valid, raw_valid = raw("valid")
    factor = std_scale(y_train[valid] - y_valid, raw_valid)
    mean, raw_test = raw("test")
    return mean, raw_test * factor


def _pickled_mb(model):
    return len(pickle.dumps(model)) / 1e6


def run(name, n_train, members, acn_params):
    X_train, y_train, X_test, y_test = held_out_split(n_train)
    X_train, X_test = check_molecules(X_train), check_molecules(X_test)
    load_before = os.getloadavg()
    start = time.perf_counter()
    if name in ("SLATM", "FCHL19"):
        factory = make_slatm_krr if name == "SLATM" else make_fchl19_krr
        step = name.lower()
        model = set_elements(factory(**{f"{step}__n_jobs": 2}), QM9_ELEMENTS)
        model.fit(X_train, y_train)
    else:
        member = ACNRegressor(radius=3.0, elements=QM9_ELEMENTS, verbose=0, **acn_params)
        model = DeepEnsembleRegressor(member, n_members=members, random_state=0, n_jobs=2)
        model.fit(X_train, y_train)
    fit_s = time.perf_counter() - start
    results = {}
    entries = {name: model} if name != "ENSEMBLE" else {"ACN": model.estimators_[0], name: model}
    for label, estimator in entries.items():
        start = time.perf_counter()
        (mean, std), test_named = _warned(estimator, X_test)
        predict_s = time.perf_counter() - start
        _, alkane_named = _warned(estimator, check_molecules([alkane(n) for n in ALKANE_CARBONS]))
        warned = sorted({i for named in alkane_named.values() for i in named})
        result = {
            "model": label,
            "n_train": n_train,
            "fit_s (whole ensemble for ACN)": fit_s,
            "predict_s": predict_s,
            "sigma": _metrics(y_test, mean, std),
            "test_warned": {reason: len(set(v)) for reason, v in test_named.items()},
            "alkane_atoms": [3 * n + 2 for n in ALKANE_CARBONS],
            "alkanes_warned": [3 * ALKANE_CARBONS[i] + 2 for i in warned],
            "alkane_reasons": {
                r: sorted(3 * ALKANE_CARBONS[i] + 2 for i in v) for r, v in alkane_named.items()
            },
            "load_average": [load_before, os.getloadavg()],
        }
        if label in ("SLATM", "FCHL19"):
            krr = estimator[-1]
            added = (krr.L_inv_.nbytes + krr.loo_std_.nbytes) / 1e6
            result["pickled_mb"] = {"with std": _pickled_mb(estimator)}
            result["pickled_mb"]["without (L_inv_, loo_std_)"] = (
                result["pickled_mb"]["with std"] - added
            )
        if label == "ACN":
            distance_mean, distance_std = _latent_distance(estimator, X_train, y_train, X_test)
            result["compare"] = {
                "last-layer distance": _metrics(y_test, distance_mean, distance_std)
            }
            valid = estimator.validation_indices_
            constant = np.sqrt(np.mean((y_train[valid] - estimator.predict(X_train[valid])) ** 2))
            result["compare"]["constant (validation RMSE)"] = _metrics(
                y_test, mean, np.full_like(mean, constant)
            )
        if label == "ENSEMBLE":
            spread = std / estimator.std_scale_
            result["std_scale"] = float(estimator.std_scale_)
            result["compare"] = {"uncalibrated spread": _metrics(y_test, mean, spread)}
        print(json.dumps(result), flush=True)
        results[label] = result
    return results


def _figure(result):
    curves = {"as implemented": result["sigma"]["curve"]} | {
        label: metrics["curve"] for label, metrics in result.get("compare", {}).items()
    }
    path = DOCS / f"uncertainty_{result['model'].lower()}_n{result['n_train']}.png"
    title = f"{result['model']}, N = {result['n_train']:,}, 2,000 test molecules"
    plot_calibration(curves, path, title)
    return path.name


def _spearmans(metrics):
    """Measured Spearman and its ceiling, "-" where absent (rows run before it existed)."""
    return " | ".join(
        "-" if metrics.get(key) is None else f"{metrics[key]:.2f}"
        for key in ("spearman", "spearman_if_calibrated")
    )


def _row(label, metrics):
    return (
        f"| {label} | {metrics['mae']:.3f} | {100 * metrics['within_2_sigma']:.1f} % | "
        f"{_spearmans(metrics)} | {metrics['rms_z']:.2f} | {metrics['mean_sigma']:.3f} |"
    )


def report(results):
    order = ["SLATM", "FCHL19", "ACN", "ENSEMBLE"]
    rows = sorted(results.values(), key=lambda r: (r["n_train"], order.index(r["model"])))
    table = [
        "| model | N | test MAE | within 2 sigma | Spearman | ceiling | RMS z | mean sigma "
        "| fit (s) | load |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    compare = [
        "| model, N, sigma | test MAE | within 2 sigma | Spearman | ceiling | RMS z | mean sigma |",
        "|---|---|---|---|---|---|---|",
    ]
    domain, figures, sizes = [], [], []
    for r in rows:
        m = r["sigma"]
        load = r["load_average"][1][0]
        table.append(
            f"| {r['model']} | {r['n_train']:,} | {m['mae']:.3f} | "
            f"{100 * m['within_2_sigma']:.1f} % "
            f"| {_spearmans(m)} | {m['rms_z']:.2f} | {m['mean_sigma']:.3f} | "
            f"{r['fit_s (whole ensemble for ACN)']:.0f} | {load:.1f} |"
        )
        label = f"{r['model']}, {r['n_train']:,}"
        compare.append(_row(f"{label}, as implemented", m))
        for name, metrics in r.get("compare", {}).items():
            compare.append(_row(f"{label}, {name}", metrics))
        warned = r["test_warned"]
        missing = sorted(set(r["alkane_atoms"]) - set(r["alkanes_warned"]))
        domain.append(
            f"| {r['model']} | {r['n_train']:,} | {warned['size']} | {warned['element']} | "
            f"{warned['bond']} | {warned['uncertainty']} | "
            f"{len(r['alkanes_warned'])} of {len(r['alkane_atoms'])}"
            f"{' (missing: ' + ', '.join(map(str, missing)) + ')' if missing else ''} | "
            f"{', '.join(map(str, r['alkane_reasons']['uncertainty'])) or 'none'} |"
            + (" size recounted (below) |" if "recounted" in r else " |")
        )
        figures.append(f"![{label}]({_figure(r)})")
        if "pickled_mb" in r:
            sizes.append(
                f"| {r['model']} | {r['n_train']:,} | "
                f"{r['pickled_mb']['without (L_inv_, loo_std_)']:.1f} | "
                f"{r['pickled_mb']['with std']:.1f} |"
            )
    body = f"""
Target U_atomization (kcal/mol); the fixed held-out test set of 2,000 QM9 molecules
(`benchmarks/common.py`), only predicted. *Within 2 sigma*: share of test molecules
with |error| <= 2 sigma (goal 90-98 %; a calibrated Gaussian gives 95.4 %).
*Spearman*: rank correlation of sigma and |error| (goal >= 0.4). *Ceiling*: the
Spearman correlation the same sigmas would reach if each error were drawn from its
own Gaussian N(0, sigma^2), mean of 200 draws: perfectly calibrated error bars with
this spread of sigmas rank no better than this. *RMS z*: root mean
square of error / sigma (1 when calibrated on average). Every sigma is scaled on
molecules the model did not train on: closed-form leave-one-out residuals (kernels),
the early-stopping split (ACN), the molecules each member held out (ensemble).
ACN is the ensemble's first member (seed 0), the same fit. Load: 1-minute load
average at the end of the row (2 cores shared with other jobs). What was built,
the findings and what is short: [uncertainty_notes.md](uncertainty_notes.md).

{chr(10).join(table)}

## Ways to get sigma, compared

For the single network: *as implemented* is the Bayesian last layer
(`acn_sklearn.acn._uncertainty`); *last-layer distance* is the mean distance to the
{NEIGHBOURS} nearest training-split molecules in the same standardised last-layer
features (the first output's last-layer Jacobian, its slope folded in), scaled on the
validation split the same way; *constant* is the validation RMSE for every molecule
(it ranks nothing). For the ensemble: *uncalibrated spread* is the members' standard
deviation as it was returned before calibration.

{chr(10).join(compare)}

## Applicability domain

Test molecules named by each reason of a `DomainWarning` (of 2,000; all are QM9
molecules, in-domain by construction), and the straight-chain alkanes of
{", ".join(str(3 * n + 2) for n in ALKANE_CARBONS)} atoms (tridecane has 41) that got any
warning, and which of them the uncertainty reason named (std above
`STD_LIMIT_FACTOR` = 2 times the 99th percentile of the held-out molecules' std).

| model | N | size | element | bond | uncertainty | alkanes warned | named by uncertainty | note |
|---|---|---|---|---|---|---|---|---|
{chr(10).join(domain)}
{RECOUNT_NOTE if any("recounted" in r for r in rows) else ""}

## Size of the fitted kernel models

Pickled size (MB) without and with what the std needs (the inverse Cholesky factor `L_inv_`,
8 N^2 bytes, and the leave-one-out stds).

| model | N | without (MB) | with (MB) |
|---|---|---|---|
{chr(10).join(sizes)}

## Calibration figures

Observed share of test molecules inside the central Gaussian interval against the
share it should hold.

{chr(10).join(figures)}
"""
    write_report(
        "uncertainty", "Calibrated uncertainty of every model", body, question="uncertainty"
    )


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--n-train", type=int, default=1000)
    parser.add_argument(
        "--models",
        nargs="*",
        default=["SLATM", "FCHL19", "ENSEMBLE"],
        choices=["SLATM", "FCHL19", "ENSEMBLE"],
    )
    parser.add_argument("--members", type=int, default=4)
    parser.add_argument("--results", type=Path, default=RAW / "uncertainty.json")
    parser.add_argument(
        "--acn-params", type=json.loads, default={}, help="JSON, e.g. a smoke test's"
    )
    args = parser.parse_args()
    stored = json.loads(args.results.read_text()) if args.results.exists() else {}
    for name in args.models:
        for label, result in run(name, args.n_train, args.members, args.acn_params).items():
            stored[f"{label}/{args.n_train}"] = result
            args.results.write_text(json.dumps(stored, indent=1))
    report(stored)


if __name__ == "__main__":
    main()

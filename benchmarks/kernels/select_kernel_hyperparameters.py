"""Choose the kernel models' default sigma, alpha and target baseline by cross-validation.

Only QM9 training molecules are used: the first ``--n`` molecules of the benchmark's
training pool (``held_out_split``), never its test set. For each representation the
kernel between all ``n`` molecules is built once per sigma (a kernel value does not
depend on the fold), then every fold, alpha and baseline is solved by Cholesky on
sub-blocks of it. The result table goes to the record
(``benchmarks/results.jsonl``).

Run: ``python -m benchmarks.kernels.select_kernel_hyperparameters --n 4000``
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
from scipy.linalg import LinAlgError, cho_factor, cho_solve
from sklearn.model_selection import KFold

from acn_sklearn.kernel_ridge._kernels import gaussian_kernel, laplacian
from acn_sklearn.kernel_ridge._local import local_gaussian_kernel
from acn_sklearn.molecules import element_baseline, element_counts, elements_in
from acn_sklearn.pipelines import make_cm_krr, make_fchl19_krr, make_slatm_krr
from benchmarks.common import held_out_split, write_report

#: Sigma grids; a first run over wider grids (CM 500-32,000, SLATM 125-4,000, FCHL19
#: 1-32; mean or no baseline) found its optima inside these.
GRIDS = {
    "CM": (make_cm_krr, laplacian, [2000, 4000, 8000, 16000, 32000]),
    "SLATM": (make_slatm_krr, gaussian_kernel, [250, 500, 1000, 2000]),
    "FCHL19": (make_fchl19_krr, local_gaussian_kernel, [2, 4, 8, 16]),
}
ALPHAS = [1e-10, 1e-8, 1e-6, 1e-4, 1e-3]


def baselines(X, train):
    """Target baselines fitted on the training fold, evaluated on all molecules."""
    counts = np.column_stack([element_counts(X, elements_in(X)), np.ones(len(X))])
    return {
        "None": lambda y: np.zeros(len(X)),
        "mean": lambda y: np.full(len(X), y[train].mean()),
        "elements": lambda y: counts @ element_baseline(counts[train], y[train]),
    }


def cv_scores(K, X, y, alphas, folds):
    """Mean validation MAE for each (alpha, baseline) from one full kernel matrix."""
    errors = {}
    for train, valid in folds:
        for alpha in alphas:
            block = K[np.ix_(train, train)]
            block.flat[:: len(train) + 1] += alpha
            try:
                factor = cho_factor(block, lower=True, overwrite_a=True, check_finite=False)
            except LinAlgError:  # not positive definite at this alpha: no score
                continue
            cross = K[np.ix_(valid, train)]
            for name, baseline in baselines(X, train).items():
                offset = baseline(y)
                coef = cho_solve(factor, y[train] - offset[train], check_finite=False)
                mae = np.abs(cross @ coef + offset[valid] - y[valid]).mean()
                errors.setdefault((alpha, name), []).append(mae)
    return {key: float(np.mean(v)) for key, v in errors.items() if len(v) == len(folds)}


def report(sections):
    """Write kernels_selection.md from every section run so far (``--results``)."""
    intro = [
        "5-fold cross-validation on the first N molecules of the training pool "
        "(target U_atomization, kcal/mol MAE averaged over folds; the held-out test "
        "set is discarded unseen). Target baselines, fitted on each training fold: "
        "`None`, the training `mean`, or `elements` (least squares on the number of "
        "atoms of each element plus a constant, a dressed-atom model). Best 12 settings "
        "per model.",
        "",
    ]
    order = sorted(
        sections, key=lambda key: (list(GRIDS).index(key.split("/")[0]), int(key.split("/")[1]))
    )
    lines = intro + [line for key in order for line in sections[key]]
    write_report(
        "kernels_selection",
        "Kernel models: hyperparameter selection",
        "\n".join(lines),
        question="kernels",
    )


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=4000, help="training molecules used")
    parser.add_argument(
        "--models",
        nargs="*",
        default=list(GRIDS),
        help="none: only rewrite the report from --results",
    )
    parser.add_argument("--sigmas", nargs="+", type=float, help="override the model's grid")
    parser.add_argument("--n-jobs", type=int, default=2)
    parser.add_argument(
        "--results",
        type=Path,
        default=Path("/tmp/kernels_selection.json"),
        help="sections of earlier runs, kept and rewritten with this one's",
    )
    args = parser.parse_args()
    sections = json.loads(args.results.read_text()) if args.results.exists() else {}

    X, y, _, _ = held_out_split(args.n)  # the test set is discarded here
    folds = list(KFold(5, shuffle=True, random_state=0).split(X))
    for name in args.models:
        factory, kernel, sigmas = GRIDS[name]
        sigmas = args.sigmas or sigmas
        representation = factory().steps[0][1].set_params(n_jobs=args.n_jobs)
        start = time.perf_counter()
        R = representation.fit_transform(X)
        rows = []
        for sigma in sigmas:
            scores = cv_scores(kernel(R, None, sigma), X, y, ALPHAS, folds)
            rows += [(mae, sigma, alpha, baseline) for (alpha, baseline), mae in scores.items()]
            print(name, sigma, min(r for r in rows if r[1] == sigma), flush=True)
        best = min(rows)
        sections[f"{name}/{args.n}"] = [
            f"## {name} (N = {args.n:,})",
            "",
            f"Best: sigma = {best[1]:g}, alpha = {best[2]:g}, baseline = {best[3]} "
            f"(CV MAE {best[0]:.3f}); search took {time.perf_counter() - start:.0f} s.",
            "",
            "| sigma | alpha | baseline | CV MAE |",
            "|---|---|---|---|",
            *(f"| {s:g} | {a:g} | {b} | {m:.3f} |" for m, s, a, b in sorted(rows)[:12]),
            "",
        ]
        args.results.write_text(json.dumps(sections))
        report(sections)
    report(sections)


if __name__ == "__main__":
    main()

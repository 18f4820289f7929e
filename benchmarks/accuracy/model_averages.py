"""How far apart are the models' errors? Pairwise averages of a learning curve's test predictions.

Reads the ``results.json`` of an ``acn-sklearn learning-curve`` run (every cell
keeps its test predictions) and reports, per training-set size and pair of
models scored on the same test molecules: each model's test MAE, the
correlation of their errors, and the MAE of the plain mean of the two
predictions (what ``sklearn.ensemble.VotingRegressor`` with equal weights
predicts); and per size the MAE of the mean of all the run's networks.
Nothing is fitted or tuned here: the averages have no weights to choose, so
the test set still chooses nothing.

Example
-------
python -m benchmarks.accuracy.model_averages docs/paper/results.json
"""

from __future__ import annotations

import argparse
import itertools
import json

import numpy as np

from acn_sklearn.datasets import load_qm9
from benchmarks.common import write_report


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("results", help="results.json of an acn-sklearn learning-curve run")
    args = parser.parse_args()
    with open(args.results) as f:
        results = json.load(f)
    y = load_qm9(target=results["target"], return_X_y=True)[1]
    errors = {}
    for cell in results["cells"]:
        if cell.get("skipped") or cell["repeat"] != 0:
            continue
        test = np.asarray(cell["test_indices"])
        errors[cell["model"], cell["n_train"]] = (test, np.asarray(cell["predictions"]) - y[test])
    rows = []
    sizes = sorted({n for _, n in errors})
    for n in sizes:
        models = [m for m, size in errors if size == n]
        for a, b in itertools.combinations(models, 2):
            (test_a, e_a), (test_b, e_b) = errors[a, n], errors[b, n]
            if not np.array_equal(test_a, test_b):
                raise ValueError(f"{args.results}: {a} and {b} at N = {n} have different test sets")
            rows.append(
                f"| {n:,} | {a} | {b} | {np.abs(e_a).mean():.3f} | {np.abs(e_b).mean():.3f} "
                f"| {np.corrcoef(e_a, e_b)[0, 1]:.2f} | **{np.abs((e_a + e_b) / 2).mean():.3f}** |"
            )
    networks = []
    for n in sizes:
        acn = [m for m, size in errors if size == n and m.startswith("acn")]
        if len(acn) > 1:
            mean_error = np.mean([errors[m, n][1] for m in acn], axis=0)
            networks.append(f"| {n:,} | {', '.join(acn)} | **{np.abs(mean_error).mean():.3f}** |")
    unit = results["unit"]
    body = f"""
Source: `{args.results}`, written by `{results["settings"]["command"]}`.
Target {results["target"]}; MAE in {unit} on the run's held-out test molecules.

| N | model A | model B | MAE A | MAE B | correlation of errors | MAE of the mean of A and B |
|---|---|---|---|---|---|---|
{chr(10).join(rows)}

Every network of the run averaged (what `DeepEnsembleRegressor` with `member_params`
listing their settings predicts, up to the members' seeds):

| N | networks | MAE of their mean |
|---|---|---|
{chr(10).join(networks)}
"""
    write_report(
        "model_averages",
        "Pairwise averages of a learning curve's models",
        body,
        question="accuracy",
    )


if __name__ == "__main__":
    main()

"""Peak memory of a kernel model's leave-one-out search against one fit at fixed values.

Each fit runs in a fresh process (peak resident memory, ``ru_maxrss``, is per
process): first the factory pipeline with its automatic sigma and alpha search, then
the same pipeline at the values that search chose. Appends one record row per model
and N (question ``kernels``).

Example
-------
python -m benchmarks.kernels.bench_search_memory --model fchl19 --n-train 4000
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys

_FIT = """
import json, resource, sys, time
from benchmarks.common import held_out_split
from acn_sklearn.registry import make_model
model, n, params = sys.argv[1], int(sys.argv[2]), json.loads(sys.argv[3])
X, y, _, _ = held_out_split(n)
start = time.perf_counter()
fitted = make_model(model, **params).fit(X, y)
krr = fitted[-1]
print(json.dumps({"fit_s": time.perf_counter() - start, "sigma": krr.sigma_,
                  "alpha": krr.alpha_,
                  "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""


def _fit(model: str, n_train: int, params: dict) -> dict:
    out = subprocess.run(
        [sys.executable, "-c", _FIT, model, str(n_train), json.dumps(params)],
        check=True,
        capture_output=True,
        text=True,
    )
    return json.loads(out.stdout.splitlines()[-1])


def main() -> None:
    from benchmarks.common import append_record

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="fchl19")
    parser.add_argument("--n-train", type=int, default=4000)
    args = parser.parse_args()
    search = _fit(args.model, args.n_train, {})
    fixed = _fit(
        args.model, args.n_train, {"krr__sigma": search["sigma"], "krr__alpha": search["alpha"]}
    )
    metrics = {
        "search_peak_mb": round(search["peak_mb"]),
        "fixed_peak_mb": round(fixed["peak_mb"]),
        "peak_ratio": round(search["peak_mb"] / fixed["peak_mb"], 3),
        "search_fit_s": round(search["fit_s"], 1),
        "fixed_fit_s": round(fixed["fit_s"], 1),
    }
    row = append_record(
        {
            "id": f"search_memory_{args.model}_n{args.n_train}",
            "question": "kernels",
            "title": "Peak memory of the automatic sigma and alpha search against one fit",
            "params": {"model": args.model},
            "n_train": args.n_train,
            "metrics": metrics,
        }
    )
    print(json.dumps(row))


if __name__ == "__main__":
    main()

"""Time load_qm9: cold (parse the CSVs and write the cache) and warm (read the cache).

Each run is a fresh Python process, so nothing stays in memory between runs; the
cold runs use a new, empty cache folder each. Goals (issue 2): cold < 30 s, warm < 2 s.

    python -m benchmarks.speed.bench_load_qm9 [--repeats 3]
"""

import argparse
import json
import statistics
import subprocess
import sys
import tempfile

from benchmarks.common import write_report

TIMED = """
import json, sys, time
t = time.perf_counter()
from acn_sklearn.datasets import load_qm9
imported = time.perf_counter()
bunch = load_qm9(target=None, data_home=sys.argv[1])
print(json.dumps({"import_s": imported - t, "load_s": time.perf_counter() - imported,
                  "n": len(bunch.data)}))
"""


def run(data_home: str) -> dict:
    out = subprocess.run(
        [sys.executable, "-c", TIMED, data_home], check=True, capture_output=True, text=True
    ).stdout
    return json.loads(out)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    cold = []
    for _ in range(args.repeats):
        with tempfile.TemporaryDirectory() as empty_home:
            cold.append(run(empty_home)["load_s"])
    with tempfile.TemporaryDirectory() as home:
        run(home)  # fill the cache that the warm runs read
        warm = [run(home)["load_s"] for _ in range(args.repeats)]
    rows = [("cold (parse + write cache)", cold, "< 30 s"), ("warm (read cache)", warm, "< 2 s")]
    body = [
        "All 130,831 molecules and 19 targets, `load_qm9(target=None)`, time of the "
        f"call in a fresh process (imports excluded), {args.repeats} runs each.",
        "",
        "| load | median (s) | min (s) | max (s) | goal |",
        "|---|---|---|---|---|",
    ]
    for label, times, goal in rows:
        body.append(
            f"| {label} | {statistics.median(times):.2f} | {min(times):.2f} | "
            f"{max(times):.2f} | {goal} |"
        )
    print("\n".join(body))
    write_report("load_qm9", "Loading QM9", "\n".join(body), question="speed")


if __name__ == "__main__":
    main()

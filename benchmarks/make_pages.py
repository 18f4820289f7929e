"""Build the benchmark pages of docs/benchmarks/ from the results record.

    python benchmarks/make_pages.py

One page per question (speed, accuracy, peers, kernels, uncertainty, scaling, properties)
from ``benchmarks/results.jsonl``, every table row ending in its record id, with the
hand-written notes of ``benchmarks/notes/<question>/``: a notes file named after a
report (``<report>.md``, the part of a record id before ``-<table>-<row>``) goes
below that report's tables, the others (each with its own ``#`` title) to the end of
the page. ``decisions.md`` is
built from ``benchmarks/decisions.toml``: each option with the mean test and
validation MAE of its runs and of the runs it was compared with, at each N.
The pages are generated: edit the record, the notes or the decisions, not the pages.
"""

from __future__ import annotations

import json
import re
import sys
import tomllib
from collections import defaultdict
from pathlib import Path
from statistics import mean

ROOT = Path(__file__).resolve().parents[1]
RECORD = ROOT / "benchmarks" / "results.jsonl"
NOTES = ROOT / "benchmarks" / "notes"
DECISIONS = ROOT / "benchmarks" / "decisions.toml"
PAGES = ROOT / "docs" / "benchmarks"

QUESTIONS = {
    "speed": ("Speed", "How fast the models featurize, train and predict, and QM9 loads."),
    "accuracy": (
        "Accuracy",
        "ACNRegressor on the fixed QM9 split (U_atomization, kcal/mol; 2,000 test molecules "
        "never used for fitting, early stopping or choices): single networks by N, "
        "ensembles and averages, screens and ablations.",
    ),
    "peers": (
        "Against peers",
        "ACN, SchNet and MACE on the same QM9 split within the same CPU wall-clock budget: "
        "the test MAE (U_atomization, kcal/mol) each reaches.",
    ),
    "kernels": ("Kernel models", "CM, SLATM and FCHL19 kernel ridge: accuracy, cost, settings."),
    "uncertainty": ("Uncertainty", "How well each model's predicted std measures its error."),
    "scaling": ("Scaling", "Memory and time as N grows: featurization, storage, allocators."),
    "properties": ("QM9 properties", "The other QM9 targets: property heads and atomic charges."),
}
#: Columns of the single-network ACN tables: (header, metric, format).
ACN_COLUMNS = [
    ("test MAE", "test_mae", ".3f"),
    ("best validation MAE", "valid_mae", ".3f"),
    ("epochs", "epochs", "d"),
    ("fit (s)", "fit_s", ",.0f"),
    ("training molecules/s", "molecules_per_s", ",.0f"),
    ("peak MB", "peak_mb", ",.0f"),
]


def read_record() -> list[dict]:
    return [json.loads(line) for line in RECORD.read_text().splitlines()]


def show(value, fmt: str = "") -> str:
    """A metric as a table cell."""
    if value is None:
        return "-"
    if isinstance(value, list):
        return ", ".join(show(v, fmt) for v in value)
    if isinstance(value, dict):
        return ", ".join(f"{k} {show(v, fmt)}" for k, v in value.items())
    if isinstance(value, float) and not fmt:
        fmt = ".3g" if abs(value) < 0.01 else (",.0f" if abs(value) >= 1000 else ".3f")
    if isinstance(value, str) or not fmt:
        return str(value).replace("|", "\\|")
    return format(value, fmt)


def table(headers: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    return "\n".join(lines + ["| " + " | ".join(row) + " |" for row in rows])


def report_of(row: dict) -> str:
    """The report a row came from: its id before ``-<table>-<row>`` (and a ``~k`` suffix)."""
    return re.sub(r"-\d+-\d+(~\d+)?$", "", row["id"]) if "table" in row else row["id"]


def notes(path: Path, top: int) -> str:
    """A notes file with its largest heading at level ``top`` (fenced code left alone)."""
    lines, fenced, levels = path.read_text().strip().splitlines(), False, []
    for line in lines:
        fenced ^= line.startswith("```")
        if not fenced and (found := re.match(r"(#+) ", line)):
            levels.append(len(found[1]))
    shift, fenced = top - min(levels, default=top), False
    for i, line in enumerate(lines):
        fenced ^= line.startswith("```")
        if not fenced and re.match(r"#+ ", line):
            lines[i] = "#" * shift + line if shift > 0 else line[-shift:]
    return "\n".join(lines)


def acn_sections(rows: list[dict]) -> list[str]:
    """The ACN runs of bench_acn: one table per N, then ensembles and averages."""
    single = [r for r in rows if r.get("config") and "members" not in r]
    combined = [r for r in rows if "members" in r or "averaged" in r]
    sections = []
    for n in sorted({r["n_train"] for r in single}):
        body = [
            [f"`{r['config']}`", str(r["seed"])]
            + [show(r["metrics"].get(key), fmt) for _, key, fmt in ACN_COLUMNS]
            + [r["date"][:10], show(r["metrics"].get("load_end"), ".1f"), f"`{r['id']}`"]
            for r in single
            if r["n_train"] == n
        ]
        headers = ["configuration", "seed", *(h for h, _, _ in ACN_COLUMNS)]
        sections.append(
            f"## One network, N = {n:,}\n\n"
            + table([*headers, "date", "load at the end", "record"], body)
        )
    body = [
        [
            f"{r['n_train']:,}",
            f"{r['members']} networks of `{r['config']}`"
            if "members" in r
            else "mean of " + ", ".join(f"`{a}`" for a in r["averaged"]),
            show(r["metrics"]["test_mae"], ".3f"),
            show(r["metrics"].get("member_test_mae"), ".3f"),
            r["date"][:10],
            f"`{r['id']}`",
        ]
        for r in combined
    ]
    headers = ["N", "networks", "test MAE", "each network's test MAE", "date", "record"]
    sections.append("## Ensembles and averages of networks\n\n" + table(headers, body))
    return sections


def other_sections(rows: list[dict], question: str) -> list[str]:
    """Every other report: its tables as they were, or its rows' metrics as columns."""
    groups = defaultdict(list)
    for row in rows:
        groups[row.get("title") or report_of(row)].append(row)
    sections = []
    for title, group in groups.items():
        tables = defaultdict(list)
        for row in group:
            tables[row.get("table")].append(row)
        parts = [f"## {title}"]
        for members in tables.values():
            metrics = list(dict.fromkeys(k for r in members for k in r["metrics"]))
            params = ["parameters"] if any(r.get("params") for r in members) else []
            body = [
                [show(r.get("params")) for _ in params]
                + [show(r["metrics"].get(m)) for m in metrics]
                + [f"`{r['id']}`"]
                for r in members
            ]
            parts.append(table([*params, *metrics, "record"], body))
        provenance = sorted({(r["date"], r["machine"], r["command"]) for r in group})
        parts.append(
            "\n".join(f"*{date}, {machine}:* `{command}`" for date, machine, command in provenance)
        )
        path = NOTES / question / f"{report_of(group[0])}.md"
        if path.exists():
            parts.append(notes(path, 3))
        sections.append("\n\n".join(parts))
    return sections


def page(question: str, rows: list[dict]) -> str:
    title, intro = QUESTIONS[question]
    mine = [r for r in rows if r["question"] == question]
    acn = [r for r in mine if "table" not in r and (r.get("config") or "averaged" in r)]
    others = [r for r in mine if r not in acn]
    sections = acn_sections(acn) if acn else []
    sections += other_sections(others, question)
    reports = {report_of(r) for r in others}
    page_notes = [
        notes(p, 2) for p in sorted((NOTES / question).glob("*.md")) if p.stem not in reports
    ]
    sections += page_notes
    header = (
        f"# {title}\n\n{intro}\n\n"
        "Generated by `python benchmarks/make_pages.py` from the results record "
        "`benchmarks/results.jsonl`: the last column of every table is the id of the "
        "record row that holds the run's date, machine, command, parameters and all its "
        "metrics. Rows back-filled from the former per-run reports have revision "
        "`unknown` and the load average at the end of the run (`load_end`)."
    )
    return "\n\n".join([header, *sections]) + "\n"


def runs(names: list[str], rows: list[dict]) -> list[dict]:
    """The networks of the configurations or record ids ``names``: (N, seed, test, valid).

    An ensemble's members count as runs of their seeds (member k has seed k); a seed
    measured twice (a single run and an ensemble member) counts once.
    """
    found = {}
    for row in rows:
        if row.get("config") not in names and row["id"] not in names:
            continue
        metrics = row["metrics"]
        if "members" in row:
            members = zip(metrics["member_test_mae"], metrics["valid_mae"], strict=True)
            for seed, (test, valid) in enumerate(members):
                found.setdefault((row["n_train"], seed), (test, valid, row["id"]))
        else:
            valid = metrics.get("valid_mae")
            found.setdefault((row["n_train"], row["seed"]), (metrics["test_mae"], valid, row["id"]))
    return [
        {"n": n, "seed": s, "test": t, "valid": v, "id": i} for (n, s), (t, v, i) in found.items()
    ]


def summary(measured: list[dict], n: int) -> tuple[str, str, list[str]]:
    """Mean test and validation MAE at N over the seeds measured, and the record ids."""
    at_n = [m for m in measured if m["n"] == n]
    if not at_n:
        return "-", "-", []
    seeds = f" ({len(at_n)} seed{'s' if len(at_n) > 1 else ''})"
    valid = [m["valid"] for m in at_n if m["valid"] is not None]
    return (
        f"{mean(m['test'] for m in at_n):.3f}{seeds}",
        f"{mean(valid):.3f}" if valid else "-",
        sorted({m["id"] for m in at_n}),
    )


def decisions_page(rows: list[dict]) -> str:
    decisions = tomllib.loads(DECISIONS.read_text())["decision"]
    body = []
    for d in decisions:
        option, against = runs(d.get("runs", []), rows), runs(d.get("against", []), rows)
        sizes = sorted({m["n"] for m in option}) or [d.get("n")]
        for n in sizes:
            test, valid, ids = summary(option, n)
            base_test, base_valid, base_ids = summary(against, n)
            records = ", ".join(f"`{i}`" for i in [*ids, *base_ids, *d.get("records", [])])
            body.append(
                [
                    d["option"],
                    f"{n:,}" if n else "-",
                    test,
                    valid,
                    base_test,
                    base_valid,
                    d.get("evidence", ""),
                    f"**{d['verdict']}**" if d["verdict"].startswith("default") else d["verdict"],
                    records or "-",
                ]
            )
    headers = [
        "option",
        "N",
        "test MAE",
        "validation MAE",
        "against: test MAE",
        "validation MAE",
        "evidence",
        "verdict",
        "record",
    ]
    intro = (
        "# Decisions: why each default is what it is\n\n"
        "Each option of `ACNRegressor` that was measured, against the configuration of "
        "its time (`against`), on the fixed QM9 split: mean test and validation MAE "
        "(kcal/mol) over the seeds measured at each N, and the verdict. Validation MAE "
        "(the estimator's own 10 % split) chooses; the test MAE is reported beside it. "
        "The seed-to-seed spread of one configuration is up to 0.16 kcal/mol at "
        "N = 10,000 and 0.6 at N = 1,000, so single-seed differences below about 0.1 "
        "are noise.\n\n"
        "Generated by `python benchmarks/make_pages.py` from `benchmarks/decisions.toml` "
        "(the options, what they were compared with, the verdicts) and the results record "
        "`benchmarks/results.jsonl` (the numbers; the last column lists the record rows)."
    )
    return intro + "\n\n" + table(headers, body) + "\n"


def pages() -> dict[str, str]:
    """Every generated page: file name -> text."""
    rows = read_record()
    built = {f"{q}.md": page(q, rows) for q in QUESTIONS}
    built["decisions.md"] = decisions_page(rows)
    return built


def main() -> None:
    for name, text in pages().items():
        (PAGES / name).write_text(text)
        print(f"wrote {PAGES / name}", file=sys.stderr)


if __name__ == "__main__":
    main()

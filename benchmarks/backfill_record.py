"""Build benchmarks/results.jsonl, the configs and the notes from the reports of docs/benchmarks.

Run once from the repository root (``python -m benchmarks.backfill_record``) to move
the Markdown reports that the scripts used to write into the record: every ACN run
report becomes one row with its metrics, every other report one row per table row
(its cells as metrics), with the date, machine and command of the report; revision
"unknown" unless the report names its commit; load ``null`` (the reports give the
load at the end of a run, kept as the metric ``load_end``). The reports' prose goes
to ``benchmarks/notes/<question>/<report>.md``, the ACN runs' parameters to
``benchmarks/configs/<config>.toml``; links to the reports in the notes are pointed at
the question pages (a run's report becomes its record id).
"""

from __future__ import annotations

import ast
import json
import re
from collections import defaultdict

from benchmarks.accuracy.bench_acn import PAPER
from benchmarks.common import BENCHMARKS, CONFIGS, DOCS, RAW, RECORD, RECORD_KEYS, markdown_tables

#: The question each report of docs/benchmarks answers.
QUESTIONS = {
    "acn_gpu": "speed",
    "acn_speed": "speed",
    "load_qm9": "speed",
    "acn_throughput": "scaling",
    "featurize_memory": "scaling",
    "dask_malloc_trim": "scaling",
    "density_precision": "scaling",
    "kernels": "kernels",
    "kernels_loo": "kernels",
    "kernels_selection": "kernels",
    "fchl19_representation": "kernels",
    "nystroem": "kernels",
    "model_size": "kernels",
    "uncertainty": "uncertainty",
    "acn_heads": "properties",
    "acn_heads_n100": "properties",
    "acn_heads_n300": "properties",
    "qm9_properties": "properties",
    "atomic_charges": "properties",
    "screen_acn_n1000": "accuracy",
    "model_averages": "accuracy",
    "tuning": "accuracy",
}
#: The hand-written companions of the reports, moved to the notes of these pages.
NOTES = {"acn": "accuracy", "kernels_notes": "kernels", "kernels_loo_notes": "kernels"}
NOTES |= {"uncertainty_notes": "uncertainty"}
LINK = re.compile(r"\[([^\]]+)\]\(([\w./-]+?)\.(md|json|jsonl)(#[\w-]+)?\)")
#: The quantity rows of an ACN run report, as metric names.
ACN_ROWS = {
    "test MAE, U_atomization (kcal/mol)": "test_mae",
    "test MAE of the mean prediction, U_atomization (kcal/mol)": "test_mae",
    "test MAE of each member alone (kcal/mol)": "member_test_mae",
    "test MAE of each network alone (kcal/mol)": "member_test_mae",
    "test MAE over the molecules containing each element (number)": "test_mae_by_element",
    "best validation MAE (kcal/mol)": "valid_mae",
    "epochs run (best restored)": "epochs",
    "fit wall time, featurization included (s)": "fit_s",
    "training throughput, mean over epochs (molecules/s)": "molecules_per_s",
    "training throughput, fastest epoch (molecules/s)": "molecules_per_s_best",
    "peak resident memory (MB)": "peak_mb",
    "peak resident memory of the process (MB)": "peak_mb",
    "load average at the end (1, 5, 15 min)": "load_end",
    "test molecules": "n_test",
}
HEADER = re.compile(r"^- (date|machine|command|code|raw output|raw rows): ?(.*)$")


def relink(text: str) -> str:
    """Point the links to reports at the question pages; a run's report is its record id."""

    def link(found: re.Match) -> str:
        label, target, suffix = found.groups()[:3]
        if suffix != "md":  # a raw output, now in benchmarks/raw/
            return f"{label} (`benchmarks/raw/{target}.{suffix}`)"
        page = QUESTIONS.get(target) or NOTES.get(target)
        if page:
            return f"[{label}]({page}.md)"
        if label.strip("`") in (target, target.removeprefix("acn_")):
            return f"`{target}`"
        return f"{label} (`{target}`)"

    return LINK.sub(link, text)


def parse_header(text: str) -> tuple[str, dict, list[str]]:
    """Title, header fields and the remaining lines of a report."""
    lines = text.splitlines()
    title, fields, rest, key = lines[0].removeprefix("# "), {}, [], None
    for line in lines[1:]:
        found = HEADER.match(line)
        if found and found[1] in ("date", "machine", "command", "code"):
            key = found[1]
            fields[key] = found[2]
        elif key and line.startswith("  ") and not rest:
            fields[key] += " " + line.strip()
        else:
            key = None
            rest.append(line)
    fields["command"] = fields.get("command", "unknown").strip("`")
    return title, fields, rest


def number(cell: str):
    """A report cell as a number or a list of numbers where it is one, else the text."""
    values = [v.replace(",", "") for v in re.split(r",\s+|\s+(?=\d)", cell.split(" (")[0])]
    try:
        parsed = [float(v) for v in values]
    except ValueError:
        return cell
    parsed = [
        int(v) if v.is_integer() and "." not in s else v
        for v, s in zip(parsed, values, strict=True)
    ]
    return parsed[0] if len(parsed) == 1 else parsed


def revision(fields: dict) -> str:
    found = re.search(r"commit ([0-9a-f]{7,})", fields.get("code", ""))
    return found[1] if found else "unknown"


def acn_row(name: str, title: str, fields: dict, rest: list[str]) -> dict:
    """One ACN run report (a network, an ensemble or an average) as a record row."""
    body = "\n".join(rest)
    table = markdown_tables(body)[0]
    metrics = {}
    for cells in table:
        quantity = cells["quantity"]
        if quantity.startswith("prediction from raw coordinates"):
            metrics["predict_molecules_per_s"] = number(cells["value"])
        elif quantity == "training molecules N":
            n_train = number(cells["value"])
        else:
            metrics[ACN_ROWS[quantity]] = number(cells["value"])
    row = {"id": name, "question": "accuracy", "title": title, "metrics": metrics}
    found = re.search(r"parameters `(\{.*?\})`", body)
    if found:  # a network or an ensemble
        params = ast.literal_eval(found[1])
        members = re.search(r"DeepEnsembleRegressor` of (\d+) networks", body)
        seed = params.get("random_state", 0)
        row |= {
            "config": re.sub(r"_seed\d$", "", name),
            "params": params,
            "n_train": n_train,
            "seed": seed,
            "members": int(members[1]) if members else 1,
            "paper": "the paper's plus" in body,
        }
    else:  # the mean prediction of earlier runs
        runs = re.search(r"\(runs (.*?)[:,]? (?:whose|a tag)", body, re.S)[1].split(", ")
        row |= {"n_train": int(re.search(r"N = ([\d,]+)", title)[1].replace(",", ""))}
        row |= {"averaged": [f"acn_{r}" if "#" not in r else r for r in runs]}
    return row


def paper_rows() -> list[dict]:
    """The cells of the ``--paper`` learning curve (docs/paper/results.json)."""
    results = json.loads((DOCS.parent / "paper" / "results.json").read_text())
    settings = results["settings"]
    rows = []
    for cell in results["cells"]:
        if cell.get("skipped"):
            continue
        metrics = {"test_mae": cell["mae"], "fit_s": cell["fit_s"], "predict_s": cell["predict_s"]}
        model = cell["model"].replace(":", "_").replace("=", "")
        rows.append(
            {
                "id": f"paper_{model}_n{cell['n_train']}",
                "question": "accuracy",
                "params": {"model": cell["model"]},
                "n_train": cell["n_train"],
                "seed": cell["repeat"],
                "date": settings["date"],
                "machine": settings["machine"],
                "command": settings["command"],
                "metrics": metrics,
                "title": "The --paper learning curve (docs/paper/results.json)",
                "source": "docs/paper/results.json",
            }
        )
    return rows


def json_rows() -> list[dict]:
    """The raw outputs that have no report of their own."""
    rows = []
    device = json.loads((DOCS / "acn_ablation_device.json").read_text())
    for run in device:
        rows.append(
            {
                "id": f"acn_ablation_device_{run['config']}",
                "question": "accuracy",
                "params": run["params"],
                "n_train": 10000,
                "seed": 0,
                "date": "2026-11-26",
                "machine": "lent GPU machine: one NVIDIA H100 80GB HBM3, 16 CPU cores",
                "command": "python3 benchmarks/ablation_acn_device.py --train-seconds 250",
                "metrics": {k: v for k, v in run.items() if k not in ("config", "params")},
                "title": "ACN ablation on the lent GPU, 250 s of training each",
                "source": "docs/benchmarks/acn_ablation_device.json",
            }
        )
    auxiliary = json.loads((DOCS / "acn_auxiliary_targets.json").read_text())
    for run, command in zip(auxiliary["runs"], auxiliary["commands"], strict=True):
        rows.append(
            {
                "id": f"acn_auxiliary_targets_{len(run['targets'])}",
                "question": "accuracy",
                "params": {"targets": run["targets"], "heads": run["heads"]},
                "n_train": run["n_train"],
                "seed": run["seed"],
                "date": auxiliary["date"],
                "machine": auxiliary["machine"],
                "command": command,
                "metrics": {
                    "test_mae": run["test_mae"],
                    "epochs": run["epochs"],
                    "fit_s": run["fit_s"],
                    "load_end": run["load"],
                },
                "title": "Auxiliary QM9 targets fitted beside U_atomization",
                "source": "docs/benchmarks/acn_auxiliary_targets.json",
            }
        )
    busy = json.loads((DOCS / "acn_gpu_busy_cpu.json").read_text())
    rows.append(
        {
            "id": "acn_gpu_busy_cpu",
            "question": "speed",
            "params": busy["args"],
            "n_train": busy["split"]["n_train"],
            "seed": 0,
            "date": "2026-11-26",
            "machine": f"lent GPU machine: one {busy['device']}, {busy['cpu_count']} CPU cores",
            "command": "bash benchmarks/gpu_check.sh (CPU shared with other jobs)",
            "metrics": {k: v for k, v in busy.items() if isinstance(v, int | float | str)},
            "title": "All of QM9 on one GPU while its CPU was busy",
            "source": "docs/benchmarks/acn_gpu_busy_cpu.json",
        }
    )
    return rows


def toml_value(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return json.dumps(value)
    if isinstance(value, list):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    return repr(value)


def write_configs(rows: list[dict]) -> None:
    """One configuration file per ACN configuration that the reports ran."""
    by_config = defaultdict(list)
    for row in rows:
        if row.get("config"):
            by_config[row["config"]].append(row)
    CONFIGS.mkdir(exist_ok=True)
    for name, runs in sorted(by_config.items()):
        first = runs[0]
        paper = first["paper"]
        params = {
            k: v
            for k, v in first["params"].items()
            if k not in ("random_state", "verbose")
            and not (paper and k in PAPER and v == getattr(PAPER[k], "__name__", PAPER[k]))
        }
        reports = ", ".join(f"{r['id']}.md" for r in runs)
        lines = [
            f"# Back-filled from docs/benchmarks/{reports}",
            f"# (run {first['date'][:10]}): parameters on top of that date's package defaults.",
            f"n_train = {first['n_train']}",
            f"seeds = {toml_value(sorted(r['seed'] for r in runs))}",
        ]
        if first["members"] > 1:
            lines.append(f"members = {first['members']}")
        if paper:
            lines.append("paper = true")
        lines += ["", "[params]", *(f"{k} = {toml_value(v)}" for k, v in params.items())]
        (CONFIGS / f"{name}.toml").write_text("\n".join(lines) + "\n")


def main() -> None:
    rows, notes = [], {}
    for path in sorted(DOCS.glob("*.md")):
        name = path.stem
        title, fields, rest = parse_header(path.read_text())
        provenance = {
            "revision": revision(fields),
            "date": fields["date"],
            "machine": fields["machine"],
            "load": None,
            "command": fields["command"],
            "source": f"docs/benchmarks/{path.name}",
        }
        if name.startswith("acn_") and name not in QUESTIONS:
            rows.append(acn_row(name, title, fields, rest) | provenance)
            continue
        for t, table in enumerate(markdown_tables("\n".join(rest)), 1):
            for r, cells in enumerate(table, 1):
                rows.append(
                    {"id": f"{name}-{t}-{r}", "question": QUESTIONS[name], "title": title}
                    | {"table": t, "metrics": cells}
                    | provenance
                )
        notes[name] = "\n".join(line for line in rest if not line.startswith("|")).strip()
    rows += paper_rows() + json_rows()
    write_configs(rows)
    with RECORD.open("w") as f:
        for row in rows:
            full = {key: row.get(key) for key in RECORD_KEYS}
            full |= {"revision": row.get("revision", "unknown"), "load": row.get("load")}
            full |= {k: v for k, v in row.items() if k not in (*RECORD_KEYS, "paper", "members")}
            if row.get("members", 1) > 1:
                full["members"] = row["members"]
            f.write(json.dumps(full) + "\n")
    for name, text in notes.items():
        if text:
            path = BENCHMARKS / "notes" / QUESTIONS[name] / f"{name}.md"
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(relink(re.sub(r"\n{3,}", "\n\n", text)) + "\n")
    for name, question in NOTES.items():
        path = BENCHMARKS / "notes" / question / f"{name}.md"
        path.write_text(relink(path.read_text()))
    print(f"{len(rows)} rows, {len(notes)} notes; raw outputs stay in {RAW}")


if __name__ == "__main__":
    main()

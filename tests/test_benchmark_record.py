"""The benchmark record is valid, and the pages of docs/benchmarks are built from it."""

import json
import re
import tomllib
from pathlib import Path

import pytest

import benchmarks.common
from benchmarks.common import CONFIGS, RECORD, RECORD_KEYS, write_report
from benchmarks.make_pages import DECISIONS, PAGES, QUESTIONS, pages, read_record, report_of

ROOT = Path(__file__).parents[1]


@pytest.fixture(scope="module")
def record():
    return read_record()


def test_record_rows_are_json_objects_with_the_required_keys():
    for number, line in enumerate(RECORD.read_text().splitlines(), 1):
        row = json.loads(line)
        assert list(row)[: len(RECORD_KEYS)] == list(RECORD_KEYS), f"row {number}"
        assert isinstance(row["metrics"], dict) and row["metrics"], f"row {number}"
        assert row["question"] in QUESTIONS, f"row {number}"


def test_record_ids_are_unique(record):
    ids = [row["id"] for row in record]
    assert len(ids) == len(set(ids))


def test_pages_are_the_record_made_into_pages():
    """The committed pages are exactly what make_pages.py builds: they cannot drift."""
    built = pages()
    assert built == {name: (PAGES / name).read_text() for name in built}, (
        "docs/benchmarks is out of date: run python benchmarks/make_pages.py"
    )
    assert {p.name for p in PAGES.glob("*.md")} == set(built), "a page make_pages.py does not build"


def test_every_record_id_on_a_page_is_in_the_record(record):
    ids = {row["id"] for row in record}
    for name, text in pages().items():
        for line in text.splitlines():
            if line.startswith("| ") and not line.startswith("| ---"):
                last_cell = line.rstrip(" |").rsplit(" | ", 1)[-1]
                for cited in re.findall(r"`([^`]+)`", last_cell):
                    assert cited in ids, f"{name} cites {cited!r}, which is not in the record"


def test_decisions_name_runs_that_exist(record):
    names = {row["id"] for row in record} | {row["config"] for row in record}
    for decision in tomllib.loads(DECISIONS.read_text())["decision"]:
        for name in decision.get("runs", []) + decision.get("against", []):
            assert name in names, f"{decision['option']}: no run {name!r}"
        for name in decision.get("records", []):
            assert name in {row["id"] for row in record}, f"{decision['option']}: {name!r}"


def test_configurations_are_complete(record):
    for path in CONFIGS.glob("*.toml"):
        config = tomllib.loads(path.read_text())
        assert {"n_train", "seeds", "params"} <= set(config), path.name
    configs = {path.stem for path in CONFIGS.glob("*.toml")}
    assert {row["config"] for row in record if row["config"]} <= configs


def test_benchmark_links_of_the_docs_name_a_page_or_a_record_row(record):
    known = {path.stem for path in PAGES.glob("*.md")}
    known |= {row["id"] for row in record} | {report_of(row) for row in record}
    for path in [*ROOT.glob("docs/*.rst"), ROOT / "README.md"]:
        for name in re.findall(r":benchmark:`([^`]+)`", path.read_text()):
            assert name in known, f"{path.name}: :benchmark:`{name}`"


def test_a_report_appends_its_new_table_rows_once(tmp_path, monkeypatch):
    """Scripts that accumulate results print every earlier row again: recorded once."""
    monkeypatch.setattr(benchmarks.common, "RECORD", tmp_path / "results.jsonl")
    benchmarks.common.RECORD.touch()
    body = "Text.\n\n| model | **MAE** |\n|---|---|\n| CM | **6.0** |\n"
    write_report("demo", "Demo", body, question="kernels")
    write_report("demo", "Demo", body + "| SLATM | 0.82 |\n", question="kernels")
    rows = [json.loads(line) for line in benchmarks.common.RECORD.read_text().splitlines()]
    assert [(r["id"], r["metrics"]) for r in rows] == [
        ("demo-1-1", {"model": "CM", "MAE": "6.0"}),
        ("demo-1-2", {"model": "SLATM", "MAE": "0.82"}),
    ]
    assert list(rows[0])[: len(RECORD_KEYS)] == list(RECORD_KEYS)
    assert rows[0]["command"].startswith("python")

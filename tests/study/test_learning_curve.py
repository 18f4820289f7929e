"""The learning-curve protocol and the `acn-sklearn learning-curve` command."""

import csv
import json
import os
import re
import shlex
from pathlib import Path

import numpy as np
import pytest

from acn_sklearn.cli import main
from acn_sklearn.registry import make_model, set_elements
from acn_sklearn.study.analysis import fit_power_law, summarise
from acn_sklearn.study.learning_curve import run_cells
from acn_sklearn.study.protocol import held_out_split
from acn_sklearn.study.reports import markdown_table, table_rows

SUBSET = str(Path(__file__).parents[1] / "data" / "qm9_subset.extxyz")
TINY_ACN = "acn:max_epochs=3,n_clouds=1,embedding_dim=8,hidden_sizes=(16, 16)"


def test_split_keeps_the_test_set_fixed_and_nests_training_sets():
    train_small, test_a = held_out_split(1000, 50, n_test=200, test_seed=3, repeat=0)
    train_large, test_b = held_out_split(1000, 300, n_test=200, test_seed=3, repeat=0)
    train_other, test_c = held_out_split(1000, 50, n_test=200, test_seed=3, repeat=1)
    np.testing.assert_array_equal(test_a, test_b)
    np.testing.assert_array_equal(test_a, test_c)
    np.testing.assert_array_equal(train_small, train_large[:50])
    assert not np.array_equal(train_small, train_other)
    for train in (train_small, train_large, train_other):
        assert not set(train) & set(test_a)
        assert len(set(train)) == len(train)
    _, test_d = held_out_split(1000, 50, n_test=200, test_seed=4, repeat=0)
    assert not np.array_equal(test_a, test_d)


def test_split_refuses_a_size_larger_than_the_pool():
    with pytest.raises(ValueError, match=r"training size 801 is not in \[1, 800\]"):
        held_out_split(1000, 801, n_test=200, test_seed=0, repeat=0)


def test_power_law_fit_recovers_a_and_b():
    n = np.array([100, 1000, 10000])
    a, b = fit_power_law(n, 300 / n**0.4)
    assert a == pytest.approx(300) and b == pytest.approx(0.4)


def test_network_cells_are_seeded_by_repeat_and_reproducible(qm9_subset):
    X, y = qm9_subset
    first, second = (
        run_cells([TINY_ACN], [60], X, y, repeats=2, n_test=100, test_seed=0) for _ in range(2)
    )
    assert [c.mae for c in first] == [c.mae for c in second]
    assert first[0].mae != first[1].mae
    # An explicit random_state in the spec is kept for every repeat.
    seeded = run_cells([TINY_ACN + ",random_state=7"], [60], X, y, n_test=100, test_seed=0)
    train, _ = held_out_split(len(X), 60, n_test=100, test_seed=0, repeat=0)
    model = set_elements(make_model(TINY_ACN + ",random_state=7"), [1, 6, 7, 8, 9])
    expected = model.fit(X[train], y[train]).predict(X[seeded[0].test_indices])
    np.testing.assert_allclose(seeded[0].predictions, expected, rtol=1e-6)


def test_cells_score_on_the_held_out_set(qm9_subset):
    X, y = qm9_subset
    cells = run_cells(["cm"], [40, 120], X, y, repeats=2, n_test=100, test_seed=0)
    assert [(c.n_train, c.repeat) for c in cells] == [(40, 0), (40, 1), (120, 0), (120, 1)]
    for cell in cells:
        _, test = held_out_split(len(X), cell.n_train, n_test=100, test_seed=0, repeat=cell.repeat)
        np.testing.assert_array_equal(cell.test_indices, test)
        assert cell.mae == pytest.approx(np.mean(np.abs(cell.predictions - y[test])))
    rows = summarise(cells)
    assert [r["n_train"] for r in rows] == [40, 120]
    assert rows[0]["mae"] == pytest.approx(np.mean([cells[0].mae, cells[1].mae]))
    assert rows[0]["mae_std"] == pytest.approx(np.std([cells[0].mae, cells[1].mae], ddof=1))
    assert rows[1]["mae"] < rows[0]["mae"], "more data must help CM"
    # Markdown: the spread over repeats, and none for a single repeat.
    first = markdown_table(table_rows(cells), "kcal/mol").splitlines()[2]
    assert f"{rows[0]['mae']:.3g} ± {rows[0]['mae_std']:.2g} |" in first
    single = markdown_table(table_rows(cells[:1]), "kcal/mol").splitlines()[2]
    assert f"| {cells[0].mae:.3g} | 1 |" in single


def run_cli(tmp_path, *extra):
    return main(
        [
            "learning-curve",
            "--data",
            SUBSET,
            "--n-test",
            "100",
            "--sizes",
            "60",
            "150",
            "-o",
            str(tmp_path / "out"),
            *extra,
        ]
    )


@pytest.fixture(scope="module")
def finished_run(tmp_path_factory):
    tmp_path = tmp_path_factory.mktemp("lc")
    assert run_cli(tmp_path, "--models", "cm", TINY_ACN) == 0
    return tmp_path / "out"


def test_cli_writes_table_figures_and_json(finished_run, qm9_subset):
    out = finished_run
    for name in (
        "table1.md",
        "table1.csv",
        "results.json",
        "figure4_learning_curves.png",
        "figure5_parity.png",
    ):
        assert (out / name).stat().st_size > 0, name
    record = json.loads((out / "results.json").read_text())
    _, y = qm9_subset
    assert len(record["cells"]) == 4
    for cell in record["cells"]:
        test = np.array(cell["test_indices"])
        assert cell["mae"] == pytest.approx(
            np.mean(np.abs(np.array(cell["predictions"]) - y[test]))
        )
    with (out / "table1.csv").open() as handle:
        table = list(csv.DictReader(handle))
    assert [(r["model"], r["n_train"]) for r in table] == [
        ("cm", "60"),
        (TINY_ACN, "60"),
        ("cm", "150"),
        (TINY_ACN, "150"),
    ]
    by_cell = {(c["model"], c["n_train"]): c["mae"] for c in record["cells"]}
    for row in table:
        assert float(row["mae"]) == pytest.approx(by_cell[(row["model"], int(row["n_train"]))])
        assert f"{float(row['mae']):.3g}" in (out / "table1.md").read_text()
    assert record["power_law_fits"] == {}  # two sizes: no power law is fitted
    # Errors by element at the largest N, recomputed from the cells' predictions.
    X, _ = qm9_subset
    by_element = record["errors_by_element"]
    assert by_element["n_train"] == 150 and set(by_element["models"]) == {"cm", TINY_ACN}
    for cell in (c for c in record["cells"] if c["n_train"] == 150):
        test = np.array(cell["test_indices"])
        has_oxygen = (np.asarray(X)[test, :, 0] == 8).any(axis=1)
        error = np.abs(np.array(cell["predictions"]) - y[test])
        oxygen = by_element["models"][cell["model"]]["O"]
        assert oxygen["n_molecules"] == has_oxygen.sum() > 0
        assert oxygen["mae"] == pytest.approx(error[has_oxygen].mean())
        assert f"{oxygen['mae']:.3g}" in (out / "table1.md").read_text()
    # Provenance: the command as typed, and where it ran.
    settings = record["settings"]
    assert settings["command"].startswith("acn-sklearn learning-curve --data ")
    assert settings["command"].endswith(shlex.join(["--models", "cm", TINY_ACN]))
    assert settings["command"] in (out / "table1.md").read_text()
    assert f"{os.cpu_count()} cores" in settings["machine"]
    parity = record["parity"]
    assert parity["n_train"] == 150 and len(parity["outliers"]) == 5
    assert (
        parity["model"]
        == min((c for c in record["cells"] if c["n_train"] == 150), key=lambda c: c["mae"])["model"]
    )


def test_cli_resumes_from_finished_cells(finished_run, capsys):
    before = json.loads((finished_run / "results.json").read_text())
    assert run_cli(finished_run.parent, "--models", "cm", TINY_ACN) == 0
    log = capsys.readouterr().err
    assert log.count("(cached)") == 4
    after = json.loads((finished_run / "results.json").read_text())
    assert [c["mae"] for c in after["cells"]] == [c["mae"] for c in before["cells"]]


def test_cli_interrupt_writes_the_finished_cells(tmp_path, monkeypatch, capsys):
    import acn_sklearn.study.learning_curve as lc

    real, calls = lc._run_cell, []

    def interrupt_second_cell(*args):
        calls.append(args)
        if len(calls) == 2:
            raise KeyboardInterrupt
        return real(*args)

    monkeypatch.setattr(lc, "_run_cell", interrupt_second_cell)
    assert run_cli(tmp_path, "--models", "cm", "--no-cache") == 130
    assert "interrupted: writing the 1 finished cell(s)" in capsys.readouterr().err
    record = json.loads((tmp_path / "out" / "results.json").read_text())
    assert record["settings"]["complete"] is False
    assert [c["n_train"] for c in record["cells"]] == [60]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--models", "schnet"], "unknown model 'schnet'"),
        (["--models", "cm", "--sizes", "350"], r"training size 350 is not in \[1, 300\]"),
        (
            ["--models", "cm", "--target", "nonsense"],
            r"molecule 0 \(.*\) has no property 'nonsense'",
        ),
    ],
)
def test_cli_bad_arguments_fail_clearly(tmp_path, capsys, args, message):
    assert run_cli(tmp_path, *args) == 1
    err = capsys.readouterr().err
    assert "acn-sklearn learning-curve: error:" in err
    assert re.search(message, err)


def test_cli_rejects_non_positive_sizes(tmp_path, capsys):
    with pytest.raises(SystemExit):
        run_cli(tmp_path, "--sizes", "0")
    assert "must be a positive integer" in capsys.readouterr().err


def test_small_training_sets_missing_an_element_still_score_every_test_molecule(qm9_subset):
    X, y = qm9_subset
    cells = run_cells(["cm", "slatm"], [10], X, y, n_test=100, test_seed=0)
    train, test = held_out_split(len(X), 10, n_test=100, test_seed=0, repeat=0)
    assert 9 not in X[train, :, 0] and 9 in X[test, :, 0], "the split must test the F case"
    for cell in cells:
        assert len(cell.predictions) == 100 and np.all(np.isfinite(cell.predictions))


def test_cache_is_invalidated_when_a_model_default_changes(qm9_subset, tmp_path, monkeypatch):
    import acn_sklearn.pipelines as pipelines

    X, y = qm9_subset
    first = run_cells(["cm"], [50], X, y, n_test=100, cache_dir=tmp_path)
    again = run_cells(["cm"], [50], X, y, n_test=100, cache_dir=tmp_path)
    assert not first[0].cached and again[0].cached
    real = pipelines.make_cm_krr
    monkeypatch.setattr(pipelines, "make_cm_krr", lambda **p: real(**p).set_params(krr__sigma=7.0))
    changed = run_cells(["cm"], [50], X, y, n_test=100, cache_dir=tmp_path)
    assert not changed[0].cached
    assert changed[0].mae != pytest.approx(first[0].mae)


def test_outputs_leave_matplotlib_state_alone(finished_run, monkeypatch):
    """Figures are drawn without pyplot and without switching matplotlib's backend."""
    import sys

    import matplotlib

    def refuse(*args, **kwargs):
        raise AssertionError("matplotlib.use was called")

    monkeypatch.setattr(matplotlib, "use", refuse)
    monkeypatch.setitem(sys.modules, "matplotlib.pyplot", None)  # importing it fails
    figure = finished_run / "figure4_learning_curves.png"
    figure.unlink()
    # Every cell is cached: only the outputs are written again.
    assert run_cli(finished_run.parent, "--models", "cm", TINY_ACN) == 0
    assert figure.stat().st_size > 0


def test_cli_targets_need_data(tmp_path, capsys):
    assert main(["learning-curve", "--targets", "y.csv", "-o", str(tmp_path)]) == 1
    assert "--targets needs --data" in capsys.readouterr().err


def test_split_protocol_invariants_across_repeats_and_sizes():
    n_molecules, n_test = 500, 120
    pool_size = n_molecules - n_test
    sizes = [1, 10, 100, pool_size - 1, pool_size]
    splits = {
        (n, r): held_out_split(n_molecules, n, n_test=n_test, test_seed=5, repeat=r)
        for n in sizes
        for r in range(3)
    }
    test = splits[(1, 0)][1]
    assert len(test) == len(set(test)) == n_test
    pool = set(range(n_molecules)) - set(test)
    for (n, r), (train, other_test) in splits.items():
        np.testing.assert_array_equal(other_test, test)  # one test set for every cell
        assert len(train) == len(set(train)) == n
        assert set(train) <= pool  # disjoint from the test set, within the pool
        smaller = [m for m in sizes if m < n]
        if smaller:  # nested within a repeat
            np.testing.assert_array_equal(train[: smaller[-1]], splits[(smaller[-1], r)][0])
    for n in (10, 100):
        trains = [set(splits[(n, r)][0]) for r in range(3)]
        assert trains[0] != trains[1] and trains[1] != trains[2] and trains[0] != trains[2]
    # N equal to the pool: every repeat trains on the whole pool.
    for r in range(3):
        assert set(splits[(pool_size, r)][0]) == pool


def test_split_sizes_at_the_edges_of_the_pool():
    with pytest.raises(ValueError, match=r"training size 0 is not in \[1, 380\]"):
        held_out_split(500, 0, n_test=120, test_seed=0, repeat=0)
    with pytest.raises(ValueError, match=r"training size 381 is not in \[1, 380\]"):
        held_out_split(500, 381, n_test=120, test_seed=0, repeat=0)
    # A test set that leaves a single molecule for training.
    train, test = held_out_split(500, 1, n_test=499, test_seed=0, repeat=0)
    assert len(test) == 499 and len(train) == 1 and train[0] not in test
    with pytest.raises(ValueError, match=r"training size 1 is not in \[1, 0\]"):
        held_out_split(500, 1, n_test=500, test_seed=0, repeat=0)


def test_each_repeat_of_a_run_trains_on_its_own_molecules(qm9_subset, monkeypatch):
    import acn_sklearn.study.learning_curve as lc

    X, y = qm9_subset
    seen = []
    real = lc._run_cell

    def record(spec, repeat, key, X, y, train, test, *rest):
        seen.append((repeat, len(train), train.copy(), test.copy()))
        return real(spec, repeat, key, X, y, train, test, *rest)

    monkeypatch.setattr(lc, "_run_cell", record)
    cells = run_cells(["cm"], [30, 80], X, y, repeats=3, n_test=100, test_seed=2)
    assert sorted((r, n) for r, n, _, _ in seen) == [(r, n) for r in range(3) for n in (30, 80)]
    by_cell = {(r, n): (train, test) for r, n, train, test in seen}
    for (r, _), (train, test) in by_cell.items():
        np.testing.assert_array_equal(test, by_cell[(0, 30)][1])
        assert not set(train) & set(test) and set(train) <= set(range(len(X)))
        np.testing.assert_array_equal(by_cell[(r, 80)][0][:30], by_cell[(r, 30)][0])
    for n in (30, 80):
        trains = [set(by_cell[(r, n)][0]) for r in range(3)]
        assert len({frozenset(t) for t in trains}) == 3, "repeats must differ in molecules"
    # Different training molecules give different kernel ridge fits.
    maes = {(c.n_train, c.repeat): c.mae for c in cells}
    assert len({maes[(30, r)] for r in range(3)}) == 3


def test_published_values_carry_the_caveat_of_the_paper():
    from acn_sklearn.study.reports import PAPER_CAVEAT

    row = dict(mae=1.0, mae_std=0.0, repeats=1, fit_s=1.0, predict_s=1.0)
    with_paper = markdown_table(
        [{"model": "acn", "n_train": 10000, **row, "paper_mae": "1.31"}], "u"
    )
    assert "paper's Table 1\\* |" in with_paper and with_paper.endswith(PAPER_CAVEAT)
    assert "divided its ACN column by 100" in PAPER_CAVEAT and "131 kcal/mol" in PAPER_CAVEAT
    without = markdown_table([{"model": "fchl19", "n_train": 10000, **row, "paper_mae": ""}], "u")
    assert "\\*" not in without and PAPER_CAVEAT not in without


CM_LANDMARKS = "cm_nystroem:krr__n_landmarks=30"


def test_a_cell_too_large_for_the_memory_is_skipped_and_the_others_run(qm9_subset, tmp_path):
    X, y = qm9_subset
    limit = 100_000  # bytes: CM's 60 x 60 kernel fits, its 150 x 150 one (180,000) does not
    cells = run_cells(["cm", CM_LANDMARKS], [60, 150], X, y, n_test=100, max_memory=limit)
    by_key = {(c.model, c.n_train): c for c in cells}
    assert list(by_key) == [("cm", 60), (CM_LANDMARKS, 60), ("cm", 150), (CM_LANDMARKS, 150)]
    skipped = by_key["cm", 150]
    assert skipped.skipped == "needs 175.8 KiB for its kernel matrices, 97.7 KiB available"
    assert skipped.memory_needed == 150 * 150 * 8
    assert np.isnan(skipped.mae) and skipped.predictions.size == 0
    for key in [("cm", 60), (CM_LANDMARKS, 60), (CM_LANDMARKS, 150)]:
        assert not by_key[key].skipped and np.isfinite(by_key[key].mae), key
    # A cell already in the cache is returned, whatever the memory now.
    run_cells(["cm"], [150], X, y, n_test=100, cache_dir=tmp_path)
    (cached,) = run_cells(["cm"], [150], X, y, n_test=100, cache_dir=tmp_path, max_memory=limit)
    assert cached.cached and not cached.skipped and np.isfinite(cached.mae)


def test_a_fit_that_runs_out_of_memory_is_skipped_not_raised(qm9_subset):
    X, y = qm9_subset
    # The planning sees enough memory; the model's own guard refuses the kernel.
    first, second = run_cells(["cm:krr__max_memory=1000", "cm"], [60], X, y, n_test=100)
    assert first.skipped.startswith("out of memory: the 60 x 60 training kernel needs")
    assert np.isfinite(second.mae)


@pytest.mark.parametrize(
    ("params", "n_matrices"),
    [
        ({"sigma": 2.0, "alpha": 1e-8}, 1),
        ({"sigma": "auto", "alpha": "auto"}, 2),
        ({"sigma": [1.0, 2.0], "alpha": 1e-8}, 2),
        ({"kernel": "local_gaussian", "sigma": "auto", "alpha": "auto"}, 2),
    ],
)
def test_kernel_memory_counts_the_matrices_a_fit_holds(params, n_matrices):
    from acn_sklearn import KernelRidgeRegressor

    model = KernelRidgeRegressor(**params)
    assert model.kernel_memory(1000) == n_matrices * 1000 * 1000 * 8


def test_kernel_memory_is_what_the_fit_refuses_below():
    from acn_sklearn import KernelRidgeRegressor

    X, target = np.random.default_rng(0).normal(size=(50, 3)), np.arange(50.0)
    model = KernelRidgeRegressor(sigma="auto", alpha="auto")
    need = model.kernel_memory(50) + X.nbytes  # plus the distances' temporaries
    model.set_params(max_memory=need).fit(X, target)
    with pytest.raises(MemoryError, match="50 x 50 matrices"):
        model.set_params(max_memory=need - 1).fit(X, target)


def test_cli_reports_skipped_cells_everywhere_and_marks_the_peers(tmp_path, qm9_subset, capsys):
    X, _ = qm9_subset
    # "all": every molecule not in the test set; 1e-4 GiB holds CM's kernel at 60, not 300.
    code = run_cli(tmp_path, "--models", "cm", "--sizes", "60", "all", "--max-memory", "1e-4")
    assert code == 0
    out = tmp_path / "out"
    err = capsys.readouterr().err
    pool = len(X) - 100
    assert f"cm             N={pool:<7,} repeat 0  SKIPPED: needs 703.1 KiB" in err
    record = json.loads((out / "results.json").read_text())
    assert record["settings"]["sizes"] == [60, pool]
    skipped = record["cells"][1]
    assert skipped["n_train"] == pool and skipped["mae"] is None
    assert skipped["memory_needed"] == pool * pool * 8
    assert record["table"][1]["skipped"] == skipped["skipped"]
    table = (out / "table1.md").read_text()
    assert f"| cm | {pool} | skipped: needs 703.1 KiB" in table
    assert "| PaiNN | 110,000 | 0.135 | 5.85 meV |" in table
    assert [p["name"] for p in record["peers"]] == [
        "SchNet",
        "Cormorant",
        "DimeNet++",
        "PaiNN",
        "Allegro",
    ]


def test_cells_tell_models_a_qm9_target_so_acn_picks_its_head(qm9_subset_atoms, qm9_subset):
    X, _ = qm9_subset
    mu = np.array([a.info["mu"] for a in qm9_subset_atoms])
    cells = [run_cells([TINY_ACN], [60], X, mu, n_test=100, target=t) for t in (None, "mu")]
    assert cells[0][0].mae != cells[1][0].mae
    train, _ = held_out_split(len(X), 60, n_test=100, test_seed=0, repeat=0)
    dipole = set_elements(make_model(TINY_ACN + ",target='mu',random_state=0"), [1, 6, 7, 8, 9])
    expected = dipole.fit(X[train], mu[train]).predict(X[cells[1][0].test_indices])
    np.testing.assert_allclose(cells[1][0].predictions, expected, rtol=1e-6)


def test_remaining_time_counts_the_cells_not_yet_timed():
    """The estimate scales each model's last time to the larger N still to run (N^2 for a
    kernel, N for the network): after the N = 100 cells, the N = 1,000 ones are most of
    the time left, not the mean of what ran."""
    from acn_sklearn.cli._learning_curve import remaining_seconds
    from acn_sklearn.study.learning_curve import Cell

    def cell(model, n, seconds, predict=0.0, **kwargs):
        return Cell(model, n, 0, 1.0, seconds, predict, None, None, **kwargs)

    done = [cell("cm", 100, 1.0), cell("acn", 100, 10.0)]
    assert remaining_seconds(done, ["cm", "acn"], [100, 1000], 1) == 1.0 * 100 + 10.0 * 10
    # the predict time is that of the same test set at every N: not scaled
    done = [cell("cm", 100, 1.0, predict=5.0)]
    assert remaining_seconds(done, ["cm"], [100, 1000], 1) == 1.0 * 100 + 5.0
    # a model not timed yet gets the mean of those that were; cached cells count as nothing
    done = [cell("cm", 100, 2.0), cell("slatm", 100, 0.0, cached=True)]
    assert remaining_seconds(done, ["cm", "slatm", "acn"], [100], 1) == 2.0


def test_an_interrupted_network_cell_is_not_cached_and_resumes_at_its_last_epoch(
    qm9_subset, tmp_path, monkeypatch, capsys
):
    from acn_sklearn.acn._checkpoint import TrainingCheckpoint

    X, y = qm9_subset
    spec = TINY_ACN.replace("max_epochs=3", "max_epochs=4")
    uninterrupted = run_cells([spec], [60], X, y, n_test=100)
    save = TrainingCheckpoint.on_epoch_end

    def ctrl_c_after_epoch_2(self, net, **kwargs):
        save(self, net, **kwargs)
        if len(net.history) == 2:
            raise KeyboardInterrupt  # skorch ends the fit quietly, as on Ctrl-C

    monkeypatch.setattr(TrainingCheckpoint, "on_epoch_end", ctrl_c_after_epoch_2)
    with pytest.raises(KeyboardInterrupt, match="interrupted"):
        run_cells([spec], [60], X, y, n_test=100, cache_dir=tmp_path)
    monkeypatch.undo()
    capsys.readouterr()
    resumed = run_cells([spec], [60], X, y, n_test=100, cache_dir=tmp_path)
    assert "resumed fit: 2 epochs done" in capsys.readouterr().out
    assert not resumed[0].cached
    np.testing.assert_array_equal(resumed[0].predictions, uninterrupted[0].predictions)
    assert run_cells([spec], [60], X, y, n_test=100, cache_dir=tmp_path)[0].cached


def test_cli_merges_the_cells_of_earlier_runs_into_one_table(finished_run, tmp_path, capsys):
    """A cell that took hours on its own (all of QM9) joins a grid run earlier: one table,
    one Figure 4, each run's command named; runs on other test molecules are refused."""
    large = tmp_path / "large"
    common = ["learning-curve", "--data", SUBSET, "--n-test", "100", "--models", "cm"]
    assert main([*common, "--sizes", "250", "-o", str(large)]) == 0
    merged = tmp_path / "merged"
    runs = [str(finished_run / "results.json"), str(large / "results.json")]
    assert main(["learning-curve", "--data", SUBSET, "--merge", *runs, "-o", str(merged)]) == 0
    record = json.loads((merged / "results.json").read_text())
    sources = [json.loads(Path(run).read_text())["cells"] for run in runs]
    assert record["cells"] == sorted(
        sources[0] + sources[1], key=lambda c: (c["n_train"], c["model"], c["repeat"])
    )
    assert [(c["model"], c["n_train"]) for c in record["cells"]][-1] == ("cm", 250)
    assert record["errors_by_element"]["n_train"] == 250
    table = (merged / "table1.md").read_text()
    for run in record["settings"]["runs"]:
        assert run["command"] in table
    assert (merged / "figure4_learning_curves.png").stat().st_size > 0
    capsys.readouterr()
    merge = ["learning-curve", "--data", SUBSET, "--merge", runs[0]]
    assert main([*merge, runs[0], "-o", str(merged)]) == 1
    assert "the cell cm at N = 60 (repeat 0) is also in" in capsys.readouterr().err
    other = tmp_path / "other"
    assert main([*common, "--sizes", "250", "--n-test", "90", "-o", str(other)]) == 0
    assert main([*merge, str(other / "results.json"), "-o", str(merged)]) == 1
    assert "its n_test differ" in capsys.readouterr().err
    assert main(["learning-curve", "--merge", runs[0], "-o", str(merged)]) == 1
    assert "give --data" in capsys.readouterr().err

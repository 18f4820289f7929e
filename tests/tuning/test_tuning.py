"""Search spaces, both tuning paths, resuming and concurrent workers."""

import json
import time
import warnings
from pathlib import Path

import numpy as np
import optuna
import pandas as pd
import pytest
from optuna.distributions import CategoricalDistribution, FloatDistribution
from sklearn.base import clone

from acn_sklearn.cli import main
from acn_sklearn.registry import MODEL_NAMES, make_model
from acn_sklearn.study.protocol import held_out_split
from acn_sklearn.tuning import (
    OptunaPruning,
    enqueue_defaults,
    open_study,
    sample_params,
    search_space,
    tune_cv,
    tune_holdout,
)

SUBSET = str(Path(__file__).parents[1] / "data" / "qm9_subset.extxyz")
TINY_ACN = "acn:max_epochs=8,n_clouds=1,embedding_dim=8,atom_dim=32,hidden_sizes=(16, 16)"
SMALL_ACN_SPACE = {
    "n_clouds": None,
    "embedding_dim": None,
    "atom_dim": None,
    "cloud_order": None,
    "n_radial": None,
}

optuna.logging.set_verbosity(optuna.logging.WARNING)


@pytest.mark.parametrize("name", MODEL_NAMES)
def test_search_space_samples_valid_parameters(name):
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=0))
    space = search_space(name)
    for _ in range(5):
        params = sample_params(study.ask(), space)
        assert set(params) == set(space) - (
            {"pooling_power"} if params.get("pooling") == "sum" else set()
        )
        for key, value in params.items():
            assert space[key]._contains(space[key].to_internal_repr(value)), (key, value)
        model = make_model(name, **params)
        assert {k: model.get_params()[k] for k in params} == params


def test_pooling_power_is_sampled_only_for_power_pooling():
    """A value that changes nothing would only mislead the sampler and the trials table."""
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=0))
    space = search_space("acn")
    reversed_space = dict(reversed(space.items()))  # the order of the space does not matter
    drawn = [sample_params(study.ask(), s) for _ in range(10) for s in (space, reversed_space)]
    assert {p["pooling"] for p in drawn} == {"sum", "power"}
    for params in drawn:
        assert ("pooling_power" in params) == (params["pooling"] == "power")
    without_pooling = search_space("acn", {"pooling": None})
    assert "pooling_power" in sample_params(study.ask(), without_pooling)


def test_search_space_overrides_replace_add_and_remove():
    space = search_space(
        "slatm",
        {
            "krr__sigma": FloatDistribution(1, 2),
            "krr__kernel": None,
            "slatm__rcut": FloatDistribution(3, 6),
        },
    )
    assert space["krr__sigma"] == FloatDistribution(1, 2)
    assert "krr__kernel" not in space and "slatm__rcut" in space
    assert "krr__kernel" in search_space("slatm"), "the defaults must not change"
    with pytest.raises(ValueError, match="no search space for 'schnet'"):
        search_space("schnet")


def test_cv_path_runs_three_trials_and_refits_the_best(qm9_subset):
    X, y = qm9_subset
    study = open_study(None, "cv", direction="maximize", resume=False, seed=0)
    result = tune_cv("cm", X[:200], y[:200], study=study, n_trials=3, cv=3)
    assert len(study.trials) == 3
    # A fold trains without the subset's two fluorine molecules: it must still be scored,
    # not left out of the trial's mean as NaN.
    fold_scores = [
        v for t in study.trials for k, v in t.user_attrs.items() if k.startswith("split")
    ]
    assert len(fold_scores) == 9 and np.isfinite(fold_scores).all()
    assert result.search_mae == pytest.approx(-max(t.value for t in study.trials))
    assert result.best_params == study.best_params
    expected = make_model("cm", **result.best_params).fit(X[:200], y[:200]).predict(X[300:])
    np.testing.assert_allclose(result.estimator.predict(X[300:]), expected)
    assert result.test_mae(X[300:], y[300:]) == pytest.approx(np.mean(np.abs(expected - y[300:])))
    # The first trial is the model's own configuration.
    defaults = make_model("cm").get_params()
    assert study.trials[0].params == {k: defaults[k] for k in search_space("cm")}


def test_defaults_are_queued_once_and_only_inside_the_space():
    study = optuna.create_study()
    space = search_space("acn", {"radius": FloatDistribution(4.0, 6.0)})
    queued = enqueue_defaults(study, make_model("acn"), space)
    assert "radius" not in queued, "3.0 lies outside [4, 6]"
    assert queued["n_clouds"] == 1 and queued["radial_basis"] == "bessel"
    enqueue_defaults(study, make_model("acn"), space)
    assert len(study.get_trials(states=(optuna.trial.TrialState.WAITING,))) == 1


def test_holdout_path_reports_every_epoch_and_prunes(qm9_subset):
    X, y = qm9_subset
    study = open_study(None, "nn", direction="minimize", resume=False, seed=0)
    space = search_space("acn", SMALL_ACN_SPACE | {"lr": CategoricalDistribution([1e-3])})
    result = tune_holdout(TINY_ACN, X[:150], y[:150], study=study, n_trials=3, space=space)
    assert len(study.trials) == 3
    for trial in study.trials:
        assert len(trial.intermediate_values) >= 1
        if trial.state == optuna.trial.TrialState.COMPLETE:
            assert trial.value == pytest.approx(min(trial.intermediate_values.values()))
    assert result.search_mae == study.best_value
    assert np.isfinite(result.test_mae(X[300:], y[300:]))


def test_a_named_target_reaches_every_trial_and_the_refit(
    qm9_subset, qm9_subset_atoms, monkeypatch
):
    """``target="mu"`` tunes and refits the dipole head, as ``fit`` would use."""
    from acn_sklearn import ACNRegressor

    heads = []  # of every network fitted: each trial's, then the refit's
    fit = ACNRegressor.fit

    def recording_fit(self, X, y, **fit_params):
        fitted = fit(self, X, y, **fit_params)
        heads.append(fitted.heads_)
        return fitted

    monkeypatch.setattr(ACNRegressor, "fit", recording_fit)
    X = qm9_subset[0][:120]
    y = np.array([atoms.info["mu"] for atoms in qm9_subset_atoms[:120]])
    study = open_study(None, "mu", direction="minimize", resume=False, seed=0)
    result = tune_holdout(
        TINY_ACN.replace("max_epochs=8", "max_epochs=2"),
        X,
        y,
        study=study,
        n_trials=2,
        # Summed atom outputs: with pooling="power" a trial would predict mu from
        # pooled features, not through the dipole head.
        space=search_space("acn", SMALL_ACN_SPACE | {"pooling": None, "pooling_power": None}),
        target="mu",
    )
    assert len(study.trials) == 2
    assert heads == [("dipole",)] * 3
    assert result.estimator.heads_ == ("dipole",)
    assert result.estimator.predict_dipole(X[:3]).shape == (3, 3)


def test_pruning_stops_a_trial_the_pruner_rejects(qm9_subset):
    X, y = qm9_subset

    class AlwaysPrune(optuna.pruners.BasePruner):
        def prune(self, study, trial):
            return True

    study = optuna.create_study(pruner=AlwaysPrune())
    trial = study.ask()
    model = make_model(TINY_ACN, callbacks=[("prune", OptunaPruning(trial))])
    with pytest.raises(optuna.TrialPruned, match="pruned at epoch 1"):
        model.fit(X[:100], y[:100])


def test_pruning_ends_a_trial_that_runs_past_the_deadline(qm9_subset):
    X, y = qm9_subset
    trial = optuna.create_study().ask()
    past = time.monotonic() - 1.0
    model = make_model(TINY_ACN, callbacks=[("prune", OptunaPruning(trial, deadline=past))])
    with pytest.raises(optuna.TrialPruned, match="time budget spent at epoch 1"):
        model.fit(X[:100], y[:100])


def test_pruning_callback_survives_clone():
    trial = optuna.create_study().ask()
    pruning = OptunaPruning(trial, "valid_mae", deadline=123.0)
    callback = dict(clone(make_model("acn", callbacks=[("prune", pruning)])).callbacks)["prune"]
    assert callback.trial is trial and callback.monitor == "valid_mae"
    assert callback.deadline == 123.0


CM_TUNE = [
    "--model",
    "cm",
    "--data",
    SUBSET,
    *"--n-train 150 --n-test 100 --cv 3 --n-trials 3".split(),
]


def tune_cli(out, *extra):
    return main(["tune", *CM_TUNE, "-o", str(out), *extra])


def test_cli_writes_files_with_the_study_numbers_and_resumes(tmp_path, qm9_subset, capsys):
    out = tmp_path / "t"
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        assert tune_cli(out, "--seed", "1") == 0
    assert len(pd.read_csv(out / "trials.csv")) == 3
    # One line per trial with the MAE itself (not optuna's negative scores), no warnings.
    trials = pd.read_csv(out / "trials.csv")
    err = capsys.readouterr().err
    for number, value in zip(trials["number"], trials["value"], strict=True):
        assert f"trial {number}: search MAE {abs(value):.4g} kcal/mol" in err
    assert "finished with value: -" not in err
    assert not [w for w in caught if "optuna" in str(w.filename) + str(w.message).lower()]
    for name in ("optimization_history.png", "param_importances.png"):
        assert (out / name).stat().st_size > 0
    record = json.loads((out / "best_params.json").read_text())
    study = optuna.load_study(study_name=record["study_name"], storage=record["storage"])
    assert record["params"] == study.best_params
    assert record["search_mae"] == pytest.approx(-study.best_value)
    X, y = qm9_subset
    train, test = held_out_split(len(X), 150, n_test=100, test_seed=0, repeat=0)
    model = make_model(record["model"], **record["params"]).fit(X[train], y[train])
    assert record["test_mae"] == pytest.approx(np.mean(np.abs(model.predict(X[test]) - y[test])))

    assert tune_cli(out) == 1
    assert "already exists" in capsys.readouterr().err
    assert tune_cli(out, "--resume") == 0
    assert len(pd.read_csv(out / "trials.csv")) == 6
    assert json.loads((out / "best_params.json").read_text())["n_trials"] == 6


def test_cli_prints_no_optuna_log_and_plots_the_mae_itself(tmp_path, monkeypatch):
    """No "[I ...] A new study created": optuna is quiet before the study opens; the
    history plot shows the search MAE (a kernel search maximises its negative)."""
    import logging

    from matplotlib.figure import Figure

    records = []
    handler = logging.Handler()
    handler.emit = records.append
    logging.getLogger("optuna").addHandler(handler)
    verbosity = optuna.logging.get_verbosity()
    optuna.logging.set_verbosity(optuna.logging.INFO)  # as in a new process
    plotted = []
    savefig = Figure.savefig
    monkeypatch.setattr(
        Figure, "savefig", lambda f, *a, **k: plotted.append(f) or savefig(f, *a, **k)
    )
    try:
        assert tune_cli(tmp_path / "t") == 0
    finally:
        logging.getLogger("optuna").removeHandler(handler)
        optuna.logging.set_verbosity(verbosity)
    assert [record.getMessage() for record in records] == []
    history, importances = (figure.axes[0] for figure in plotted)
    assert history.get_ylabel() == "search MAE (kcal/mol)"
    maes = pd.read_csv(tmp_path / "t" / "trials.csv")["value"].abs()
    np.testing.assert_allclose(history.collections[0].get_offsets()[:, 1], maes)
    best = [line for line in history.get_lines() if line.get_label() == "Best Value"]
    np.testing.assert_allclose(best[0].get_ydata(), np.minimum.accumulate(maes))
    assert importances.get_legend().get_texts()[0].get_text() == "search MAE (kcal/mol)"


@pytest.mark.slow
def test_two_concurrent_workers_share_one_journal_study(tmp_path, two_tune_workers):
    study = two_tune_workers(f"journal:{tmp_path / 'study.log'}", CM_TUNE)
    assert sorted(t.number for t in study.trials) == list(range(6))
    assert all(t.state == optuna.trial.TrialState.COMPLETE for t in study.trials)


def test_cv_path_caches_representations_across_trials(qm9_subset, tmp_path):
    X, y = qm9_subset
    study = open_study(None, "cached", direction="maximize", resume=False, seed=0)
    result = tune_cv("slatm", X[:80], y[:80], study=study, n_trials=2, cv=2, cache_dir=tmp_path)
    assert result.estimator.get_params()["slatm__memory"] == str(tmp_path)
    assert any(tmp_path.rglob("*")), "the representations must be cached on disk"


def _retries_granted(storage, chain=6):
    """How many times the storage's stale-trial callback re-queues one trial that keeps
    dying: Optuna's callback, called on each re-run in turn."""
    study = optuna.create_study(storage=storage)
    callback = storage.heartbeat_stale_trial_callback
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", "Heartbeat of storage", UserWarning)
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        study.tell(study.ask(), state=optuna.trial.TrialState.FAIL)
        for _ in range(chain):
            before = len(study.trials)
            callback(study, study.trials[-1])
            if len(study.trials) == before:
                break
    return len(study.trials) - 1


def test_database_storage_heartbeat_defaults(tmp_path):
    """A trial's heartbeat every 60 s, dead after 120 s of silence (Optuna's 2 x interval for
    grace_period=None), run again up to 3 times; the CLI's defaults are the same (issue 31)."""
    from acn_sklearn.cli import build_parser
    from acn_sklearn.tuning import make_storage

    storage = make_storage(f"sqlite:///{tmp_path / 'study.db'}")
    assert storage.get_heartbeat_interval() == 60
    assert (storage.grace_period or 2 * storage.get_heartbeat_interval()) == 120
    assert _retries_granted(storage) == 3
    assert _retries_granted(make_storage(f"sqlite:///{tmp_path / 'b.db'}", max_retry=1)) == 1
    args = build_parser().parse_args(["tune", "--model", "cm", "--out", str(tmp_path)])
    assert (args.heartbeat, args.max_retry) == (60, 3)
    none = make_storage(f"sqlite:///{tmp_path / 'c.db'}", heartbeat_interval=None)
    assert none.get_heartbeat_interval() is None


def test_sqlite_trial_whose_heartbeat_stops_is_failed_and_retried(tmp_path):
    """With a 1 s heartbeat and a 2 s grace period, a running trial silent for 3 s is failed by
    the next trial any worker starts and run again with its parameters (no PostgreSQL needed)."""
    from acn_sklearn.tuning import make_storage

    storage = make_storage(
        f"sqlite:///{tmp_path / 'study.db'}", heartbeat_interval=1, grace_period=2
    )
    study = optuna.create_study(storage=storage, study_name="stale")
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", "Heartbeat of storage", UserWarning)
        dead = study.ask({"x": FloatDistribution(-1.0, 1.0)})
    storage.record_heartbeat(dead._trial_id)  # its worker beat once, then was killed
    time.sleep(3)
    study.optimize(lambda trial: trial.suggest_float("x", -1.0, 1.0) ** 2, n_trials=1)
    killed, retried = study.trials
    assert killed.state == optuna.trial.TrialState.FAIL
    assert retried.state == optuna.trial.TrialState.COMPLETE
    assert retried.params == killed.params


def test_cli_saves_the_refitted_best_model_and_prints_its_fit_command(tmp_path, qm9_subset, capsys):
    import shlex

    from acn_sklearn.persistence import load_model
    from acn_sklearn.registry import parse_model_spec

    out = tmp_path / "t"
    assert tune_cli(out, "--seed", "1") == 0
    stdout = capsys.readouterr().out
    record = json.loads((out / "best_params.json").read_text())
    saved = load_model(out / "best.model")
    assert (saved.target, saved.unit) == ("U_atomization", "kcal/mol")
    X, y = qm9_subset
    _, test = held_out_split(len(X), 150, n_test=100, test_seed=0, repeat=0)
    mae = np.mean(np.abs(saved.estimator.predict(X[test]) - y[test]))
    assert mae == pytest.approx(record["test_mae"], rel=1e-9)
    # the printed command fits the same model: the spec with the best parameters
    command = shlex.split(next(line for line in stdout.splitlines() if "acn-sklearn fit" in line))
    assert command[:2] == ["acn-sklearn", "fit"]
    spec = command[command.index("--model") + 1]
    assert parse_model_spec(spec) == ("cm", record["params"])
    assert command[command.index("--data") + 1] == SUBSET
    assert command[command.index("--n-train") + 1] == "150"
    assert main([*command[1:-1], str(tmp_path / "refit.model")]) == 0
    refit = load_model(tmp_path / "refit.model")
    assert refit.info["model"] == spec == saved.info["model"]
    assert refit.estimator[-1].regressor.sigma == record["params"]["krr__sigma"]

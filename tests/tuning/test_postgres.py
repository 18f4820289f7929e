"""Tuning across processes in a real PostgreSQL database: shared studies, killed workers."""

import signal
import subprocess
import sys
import textwrap
import time
import warnings
from pathlib import Path

import optuna
import pytest
from optuna.storages import RetryHeartbeatStaleTrialCallback

from acn_sklearn.tuning import make_storage, open_study

#: Separate processes, servers or clusters: minutes together; `pytest -m "not slow"` skips.
pytestmark = pytest.mark.slow

SUBSET = str(Path(__file__).parents[1] / "data" / "qm9_subset.extxyz")
CM_TUNE = ["--model", "cm", "--data", SUBSET, "--n-train", "100", "--n-test", "50"]
CM_TUNE += ["--cv", "2", "--n-trials", "3", "--seed", "0"]
#: Heartbeat settings of the killed-worker test: a dead trial is noticed after 2 s.
HEARTBEAT = {"heartbeat_interval": 1, "grace_period": 2}


def test_two_worker_processes_share_one_postgres_study(postgres_url, two_tune_workers):
    study = two_tune_workers(postgres_url, CM_TUNE)
    assert sorted(t.number for t in study.trials) == list(range(6))
    assert all(t.state == optuna.trial.TrialState.COMPLETE for t in study.trials)
    assert study.best_value < 0  # the negative MAE of OptunaSearchCV


#: A worker whose trial never ends: it says which trial it runs, then waits to be killed.
STUCK_WORKER = textwrap.dedent(
    """
    import sys, time
    from acn_sklearn.tuning import make_storage, open_study
    storage = make_storage(sys.argv[1], heartbeat_interval=1, grace_period=2)
    study = open_study(storage, "killed", direction="minimize", resume=True, seed=0)

    def objective(trial):
        trial.suggest_float("x", -1.0, 1.0)
        print(trial.number, flush=True)
        time.sleep(600)
        return 0.0

    study.optimize(objective, n_trials=1)
    """
)


def test_trial_of_a_killed_worker_is_failed_and_retried(postgres_url):
    worker = subprocess.Popen(
        [sys.executable, "-c", STUCK_WORKER, postgres_url], stdout=subprocess.PIPE, text=True
    )
    try:
        assert worker.stdout.readline().strip() == "0"
    finally:
        worker.send_signal(signal.SIGKILL)
        worker.wait()
    storage = make_storage(postgres_url, **HEARTBEAT)
    study = open_study(storage, "killed", direction="minimize", resume=True, seed=0)
    assert [t.state for t in study.trials] == [optuna.trial.TrialState.RUNNING]
    time.sleep(HEARTBEAT["grace_period"] + 1)  # its heartbeat goes stale
    study.optimize(lambda trial: trial.suggest_float("x", -1.0, 1.0) ** 2, n_trials=1)
    killed, retried = study.trials
    assert killed.state == optuna.trial.TrialState.FAIL
    assert retried.state == optuna.trial.TrialState.COMPLETE
    assert retried.params == killed.params
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        assert RetryHeartbeatStaleTrialCallback.retried_trial_number(retried) == 0
    assert study.best_value == pytest.approx(killed.params["x"] ** 2)


def test_without_heartbeat_the_storage_has_none(postgres_url):
    assert make_storage(postgres_url, heartbeat_interval=None).get_heartbeat_interval() is None
    assert make_storage(postgres_url).get_heartbeat_interval() == 60

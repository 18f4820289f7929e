"""ACNRegressor's checkpoint: an interrupted fit resumes to the uninterrupted one."""

import pickle
import sys

import numpy as np
import pytest
import torch
from skorch.callbacks import Callback

from acn_sklearn import ACNRegressor
from acn_sklearn.acn._checkpoint import CHECKPOINT_FILE


class InterruptInEpoch(Callback):
    """Press Ctrl-C after the first training step of epoch ``epoch``."""

    def __init__(self, epoch):
        self.epoch = epoch

    def on_batch_end(self, net, training=False, **kwargs):
        if training and len(net.history) == self.epoch:
            raise KeyboardInterrupt


class CountEpochs(Callback):
    def initialize(self):
        self.epochs = 0
        return self

    def on_epoch_begin(self, net, **kwargs):
        self.epochs += 1


#: Parameters, and the epoch to interrupt: in "early-stopping", epoch 6 after an epoch
#: without improvement, so that resuming depends on early stopping's restored state.
CONFIGURATIONS = {
    "plateau": (dict(max_epochs=8), 4),
    "average-cosine": (dict(max_epochs=8, ema_decay=0.9, lr_schedule="cosine"), 4),
    "early-stopping": (dict(max_epochs=30, patience=2, lr_patience=1), 6),
}


@pytest.mark.parametrize("configuration", CONFIGURATIONS)
def test_interrupted_fit_resumes_to_the_uninterrupted_fit(
    qm9_subset, tiny, tmp_path, configuration
):
    X, y = qm9_subset
    extra, epoch = CONFIGURATIONS[configuration]
    params = dict(random_state=0, **tiny, **extra)
    whole = ACNRegressor(**params).fit(X[:200], y[:200])
    interrupted = ACNRegressor(
        **params, checkpoint_dir=tmp_path, callbacks=[("stop", InterruptInEpoch(epoch))]
    ).fit(X[:200], y[:200])
    assert len(interrupted.history) == epoch  # the epochs done and the one interrupted
    count = CountEpochs()
    resumed = ACNRegressor(**params, checkpoint_dir=tmp_path, callbacks=[("count", count)]).fit(
        X[:200], y[:200]
    )
    assert count.epochs == len(whole.history) - (epoch - 1)
    assert len(resumed.history) == len(whole.history)
    assert resumed.history[:, "valid_mae"] == whole.history[:, "valid_mae"]
    assert resumed.history[:, "train_loss_best"] == whole.history[:, "train_loss_best"]
    np.testing.assert_array_equal(resumed.predict(X[300:]), whole.predict(X[300:]))


def test_a_finished_fit_is_returned_without_training(qm9_subset, tiny, tmp_path, capsys):
    X, y = qm9_subset
    params = dict(CONFIGURATIONS["early-stopping"][0], random_state=0, checkpoint_dir=tmp_path)
    first = ACNRegressor(**params, **tiny).fit(X[:200], y[:200])
    n_epochs = len(first.history)
    assert n_epochs < params["max_epochs"]  # early stopping ended it
    count = CountEpochs()
    again = ACNRegressor(**params, **tiny, verbose=1, callbacks=[("count", count)])
    again.fit(X[:200], y[:200])
    assert count.epochs == 0 and len(again.history) == n_epochs
    assert f"finished fit: {n_epochs} epochs done" in capsys.readouterr().out
    np.testing.assert_array_equal(again.predict(X[300:]), first.predict(X[300:]))
    assert dict(again.callbacks_)["checkpoint"].finished_
    twin = pickle.loads(pickle.dumps(again))
    np.testing.assert_array_equal(twin.predict(X[300:]), first.predict(X[300:]))


@pytest.mark.parametrize(
    "change",
    [
        dict(y_shift=1.0),
        dict(rows=slice(1, 101)),
        dict(lr=1e-3),
        dict(max_epochs=4),
        dict(random_state=1),  # another seed: other initial weights and shuffles
    ],
    ids=["targets", "molecules", "lr", "max_epochs", "random_state"],
)
def test_a_checkpoint_of_another_fit_is_refused(qm9_subset, tiny, tmp_path, change):
    X, y = qm9_subset
    params = dict(max_epochs=2, random_state=0, checkpoint_dir=tmp_path, **tiny)
    ACNRegressor(**params).fit(X[:100], y[:100])
    change = dict(change)
    rows, shift = change.pop("rows", slice(0, 100)), change.pop("y_shift", 0.0)
    other = ACNRegressor(**(params | change))
    with pytest.raises(ValueError, match="checkpoint of a fit with other data or parameters"):
        other.fit(X[rows], y[rows] + shift)


def test_parameters_that_do_not_change_the_fit_may_differ(qm9_subset, tiny, tmp_path):
    X, y = qm9_subset
    params = dict(max_epochs=2, random_state=0, checkpoint_dir=tmp_path, **tiny)
    ACNRegressor(**params, callbacks=[("stop", InterruptInEpoch(2))]).fit(X[:100], y[:100])
    resumed = ACNRegressor(**params, verbose=1, n_jobs=1).fit(X[:100], y[:100])
    assert len(resumed.history) == 2


def test_a_write_cut_short_leaves_the_last_checkpoint(qm9_subset, tiny, tmp_path, monkeypatch):
    X, y = qm9_subset
    params = dict(max_epochs=5, random_state=0, **tiny)
    whole = ACNRegressor(**params).fit(X[:200], y[:200])
    save, calls = torch.save, []

    def save_then_die_mid_write(obj, handle):
        calls.append(1)
        if len(calls) < 3:
            return save(obj, handle)
        handle.write(b"half a checkpoint")
        raise KeyboardInterrupt  # Ctrl-C or a kill while the third epoch is written

    monkeypatch.setattr(torch, "save", save_then_die_mid_write)
    ACNRegressor(**params, checkpoint_dir=tmp_path).fit(X[:200], y[:200])
    monkeypatch.setattr(torch, "save", save)
    saved = torch.load(tmp_path / CHECKPOINT_FILE, weights_only=True)
    assert not saved["finished"] and saved["history"].count('"epoch"') == 2
    resumed = ACNRegressor(**params, checkpoint_dir=tmp_path).fit(X[:200], y[:200])
    assert len(resumed.history) == 5
    np.testing.assert_array_equal(resumed.predict(X[300:]), whole.predict(X[300:]))


@pytest.mark.parametrize("terminal", [False, True])
def test_epoch_log_is_coloured_only_on_a_terminal(qm9_subset, tiny, capsys, monkeypatch, terminal):
    X, y = qm9_subset
    monkeypatch.setattr(sys.stdout, "isatty", lambda: terminal)
    ACNRegressor(max_epochs=3, random_state=0, verbose=2, **tiny).fit(X[:100], y[:100])
    out = capsys.readouterr().out
    lines = out.splitlines()
    # A header, a rule and one row per epoch (then, if an earlier epoch was the best,
    # early stopping's "Restoring best model" line).
    assert "time_left" in lines[0] and set(lines[1]) <= {"-", " "}
    rows = [line for line in lines[2:] if not line.startswith("Restoring")]
    assert len(rows) == 3
    assert ("\x1b[" in out) is terminal

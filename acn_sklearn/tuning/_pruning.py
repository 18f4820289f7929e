"""Pruning the network's trials: a skorch callback that reports every epoch to Optuna."""

from __future__ import annotations

import time

import optuna
from skorch.callbacks import Callback

__all__ = ["OptunaPruning"]


class OptunaPruning(Callback):
    """Report a skorch metric to an Optuna trial every epoch and prune bad trials.

    Parameters
    ----------
    trial : optuna.Trial
        The trial being evaluated.
    monitor : str, default="valid_mae"
        History key reported each epoch (lower is better).
    deadline : float, optional
        A :func:`time.monotonic` time after which the trial is pruned at the end
        of its current epoch, so that a search's time budget also bounds the
        trial running when it ends.

    Notes
    -----
    ``sklearn.base.clone`` keeps the same trial (``__sklearn_clone__``) instead of
    deep-copying it with its storage connection, so an estimator carrying this
    callback can be cloned, e.g. by ``cross_validate``.
    """

    def __init__(self, trial, monitor="valid_mae", deadline=None):
        self.trial = trial
        self.monitor = monitor
        self.deadline = deadline

    def __sklearn_clone__(self):
        return type(self)(self.trial, self.monitor, self.deadline)

    def on_epoch_end(self, net, **kwargs):
        epoch = len(net.history)
        self.trial.report(float(net.history[-1, self.monitor]), step=epoch)
        if self.trial.should_prune():
            raise optuna.TrialPruned(f"{self.monitor} pruned at epoch {epoch}")
        if self.deadline is not None and time.monotonic() > self.deadline:
            raise optuna.TrialPruned(f"time budget spent at epoch {epoch}")

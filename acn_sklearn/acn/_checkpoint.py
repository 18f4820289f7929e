"""Checkpoints of an ACN fit: its state after every epoch, to resume after an interruption.

A checkpoint is one file, :data:`CHECKPOINT_FILE` in the checkpoint folder, written
atomically (a temporary file, then :func:`os.replace`): a kill while it is
written leaves the previous epoch's checkpoint, and a full disk stops the fit with
an error and the previous checkpoint. It holds everything later epochs depend on:
the network's state (weights, buffers, weight average), the optimizer's state, the
history, the learning-rate schedule, early stopping (best score, epochs without
improvement, best weights), the scoring callbacks' best scores and the state of
the random generator that shuffles the mini-batches. Nothing else in a fit is
random after the weights are initialised, so a resumed CPU fit repeats the
uninterrupted one. (skorch's ``Checkpoint`` and ``LoadInitState`` write the
parameters, optimizer and history as separate files, one after another, keep none
of the other state, and train ``max_epochs`` more epochs after loading.)
"""

from __future__ import annotations

import io
import json
from pathlib import Path

import joblib
import torch
from skorch.callbacks import Callback, EarlyStopping, LRScheduler
from skorch.history import History

from .._files import write_atomically
from ._callbacks import stopped_early
from ._distributed import is_main_process

#: The checkpoint's file name in the checkpoint folder.
CHECKPOINT_FILE = "acn_checkpoint.pt"

#: Parameters that do not change what a fit computes; a checkpoint resumes with others.
_IGNORED_PARAMETERS = ("verbose", "device", "n_jobs", "checkpoint_dir", "callbacks")


def fit_fingerprint(X, y, params: dict) -> str:
    """A hash of the training data and of the parameters that shape a fit.

    Parameters
    ----------
    X, y : ndarray
        The validated molecules and targets.
    params : dict
        The estimator's ``get_params(deep=False)``; those of
        :data:`_IGNORED_PARAMETERS` (and ``callbacks__*``) are left out.

    Returns
    -------
    str
    """
    kept = {
        key: value for key, value in params.items() if key.split("__")[0] not in _IGNORED_PARAMETERS
    }
    return joblib.hash((X, y, sorted(kept.items())))


def _callback_state(callback) -> dict | None:
    """The state of a skorch callback that later epochs depend on; None if it has none."""
    if isinstance(callback, EarlyStopping):
        return {
            "misses": callback.misses_,
            "threshold": float(callback.dynamic_threshold_),
            "best_epoch": callback.best_epoch_,
            "best_weights": callback.best_model_weights_,
        }
    if isinstance(callback, LRScheduler):
        return {"scheduler": callback.lr_scheduler_.state_dict(), "batches": callback.batch_idx_}
    if hasattr(callback, "best_score_"):  # scoring callbacks: which epoch is the best
        return {"best_score": float(callback.best_score_)}
    return None


def _restore_callback(callback, state: dict) -> None:
    if isinstance(callback, EarlyStopping):
        callback.misses_ = state["misses"]
        callback.dynamic_threshold_ = state["threshold"]
        callback.best_epoch_ = state["best_epoch"]
        callback.best_model_weights_ = state["best_weights"]
    elif isinstance(callback, LRScheduler):
        callback.lr_scheduler_.load_state_dict(state["scheduler"])
        callback.batch_idx_ = state["batches"]
    else:
        callback.best_score_ = state["best_score"]


class TrainingCheckpoint(Callback):
    """Save a fit's state after every epoch, and restore it when the fit resumes.

    :meth:`resume` (called by the estimator's ``fit`` after the net is initialised)
    reads an existing checkpoint of the same fit; the state is put back when
    training begins, after the other callbacks have reset theirs. The final state
    is saved as finished when the fit ends by itself (all epochs run, or early
    stopping), not when it is interrupted.

    Attributes
    ----------
    finished_ : bool
        Whether the last fit ended by itself (False: interrupted, the
        checkpoint holds its last complete epoch).

    Parameters
    ----------
    directory : str or path-like
        Folder of the checkpoint; created when the first epoch ends.
    """

    def __init__(self, directory):
        self.directory = directory

    @property
    def path(self) -> Path:
        """The checkpoint file."""
        return Path(self.directory) / CHECKPOINT_FILE

    def initialize(self):
        self.fingerprint_ = None
        self.saved_ = None
        self.epochs_done_ = 0
        self.finished_ = False
        return self

    def resume(self, fingerprint: str, net) -> int:
        """Read the folder's checkpoint of this fit, if any; return the epochs left to train.

        Parameters
        ----------
        fingerprint : str
            :func:`fit_fingerprint` of the fit.
        net : ACNRegressor
            The initialised estimator.

        Returns
        -------
        int
            ``max_epochs`` without a checkpoint, ``max_epochs`` minus the epochs
            done with one, 0 with a finished one.

        Raises
        ------
        ValueError
            If the folder holds a checkpoint of other data or parameters.
        """
        self.fingerprint_ = fingerprint
        if not self.path.exists():
            return net.max_epochs
        saved = torch.load(self.path, map_location=net.device, weights_only=True)
        if saved["fingerprint"] != fingerprint:
            raise ValueError(
                f"{self.path} is the checkpoint of a fit with other data or parameters; "
                "remove it, or give this fit another checkpoint_dir"
            )
        self.saved_ = saved
        if saved["finished"]:
            return 0
        return net.max_epochs - len(json.loads(saved["history"]))

    def on_train_begin(self, net, **kwargs):
        if self.saved_ is None:
            return
        saved, self.saved_ = self.saved_, None
        net.module_.load_state_dict(saved["module"])
        net.optimizer_.load_state_dict(saved["optimizer"])
        net.history = History(json.loads(saved["history"]))
        net.shuffle_rng_.bit_generator.state = saved["shuffle_rng"]
        for name, callback in net.callbacks_:
            if name in saved["callbacks"]:
                _restore_callback(callback, saved["callbacks"][name])
        self.epochs_done_ = len(net.history)
        if net.verbose:
            state = "finished" if saved["finished"] else "resumed"
            print(f"{state} fit: {self.epochs_done_} epochs done, checkpoint {self.path}")

    def on_epoch_end(self, net, **kwargs):
        self.epochs_done_ = len(net.history)
        self._save(net, finished=False)

    def on_train_end(self, net, **kwargs):
        self.finished_ = stopped_early(net) or self.epochs_done_ >= net.max_epochs
        if self.finished_:
            self._save(net, finished=True)

    def _save(self, net, finished: bool) -> None:
        if not is_main_process():  # data-parallel processes hold the same state
            return
        callbacks = {name: _callback_state(callback) for name, callback in net.callbacks_}
        state = {
            "fingerprint": self.fingerprint_,
            "finished": finished,
            "module": net.module_.state_dict(),
            "optimizer": net.optimizer_.state_dict(),
            "history": json.dumps(net.history.to_list()),
            "shuffle_rng": net.shuffle_rng_.bit_generator.state,
            "callbacks": {name: state for name, state in callbacks.items() if state is not None},
        }
        # Serialized in memory first: torch turns a failed write to a file (a full disk)
        # into a RuntimeError of its zip writer, which hides the OSError.
        content = io.BytesIO()
        torch.save(state, content)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        write_atomically(self.path, lambda handle: handle.write(content.getbuffer()))

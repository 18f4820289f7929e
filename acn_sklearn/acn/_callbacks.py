"""skorch callbacks of the ACN training loop: validation MAE, NaN guard, weight averaging,
progress lines and the epoch log."""

from __future__ import annotations

import math
import sys
import time

import torch
from skorch.callbacks import Callback, EarlyStopping, PrintLog


def stopped_early(net) -> bool:
    """Whether the net's early stopping ended its fit (it raises ``KeyboardInterrupt`` to)."""
    return any(
        isinstance(callback, EarlyStopping) and callback.misses_ >= callback.patience
        for _, callback in net.callbacks_
    )


class ValidationMAE(Callback):
    """Record ``valid_mae``: mean absolute error of the validation split in target units.

    With several outputs it is the mean over outputs of each output's MAE.
    """

    def on_epoch_begin(self, net, **kwargs):
        self.abs_error_, self.count_ = 0.0, 0

    def on_batch_end(self, net, batch=None, training=False, y_pred=None, **kwargs):
        if training:
            return
        y_true = batch[1].to(y_pred.device)
        self.abs_error_ += (y_pred.detach() - y_true).abs().sum(dim=0)
        self.count_ += len(y_true)

    def on_epoch_end(self, net, **kwargs):
        if self.count_:
            net.history.record("valid_mae", float(torch.mean(self.abs_error_ / self.count_)))


class StopOnNaN(Callback):
    """Stop training with a clear error as soon as the training loss is not finite."""

    def on_batch_end(self, net, training=False, loss=None, **kwargs):
        if training and not math.isfinite(loss.item()):
            epoch = len(net.history)
            raise RuntimeError(
                f"ACNRegressor training diverged: the loss became {loss.item()} in epoch "
                f"{epoch}. Lower `lr`, check the targets for extreme values, or use a "
                "smaller `batch_size`."
            )


class UpdateAverage(Callback):
    """After every training step, fold the weights into their moving average.

    For a net whose ``module_`` is an
    :class:`~acn_sklearn.acn._network.AveragedNetwork`.
    """

    def on_batch_end(self, net, training=False, **kwargs):
        if training:
            net.module_.update()


class EpochLog(PrintLog):
    """skorch's epoch table, with the time left, coloured only on a terminal.

    ``time_left`` is the mean epoch duration so far times the epochs left to
    ``max_epochs`` (an upper bound when early stopping ends the fit sooner). The
    best scores are highlighted with ANSI colours only when the table is printed
    to standard output and that is a terminal; piped or sent to another ``sink``
    it is plain text.
    """

    def on_epoch_end(self, net, **kwargs):
        durations = net.history[:, "dur"]
        self.time_left_ = _clock(
            sum(durations) / len(durations) * (net.max_epochs - len(net.history))
        )
        super().on_epoch_end(net, **kwargs)

    def table(self, row):
        return super().table({**row, "time_left": self.time_left_})

    def _sorted_keys(self, keys):
        return [key for key in super()._sorted_keys(keys) if key != "time_left"] + ["time_left"]

    def format_row(self, row, key, color):
        if not (self.sink is print and sys.stdout.isatty()):
            row = {name: value for name, value in row.items() if name != f"{key}_best"}
        return super().format_row(row, key, color)


def _clock(seconds: float) -> str:
    """``m:ss``, or ``h:mm:ss`` from an hour on."""
    minutes, seconds = divmod(int(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}:{minutes:02d}:{seconds:02d}" if hours else f"{minutes}:{seconds:02d}"


class Progress(Callback):
    """A progress line on standard error every ``interval`` seconds of a long fit.

    Each line gives the epoch, the validation MAE (and the best so far), the
    time spent and the time left if all ``max_epochs`` run (early stopping may
    end the fit sooner); inside an epoch longer than ``interval`` (all of QM9:
    minutes), lines give the training batch instead, and every epoch that
    printed one ends with its line. A fit that ends within ``interval`` seconds
    prints nothing, one that printed ends with a summary line. A fit interrupted by
    Ctrl-C (the estimator's ``interrupted_``) always ends with one, which names
    the epoch interrupted and the best validation MAE, whose weights the fit keeps.

    Parameters
    ----------
    interval : float, default=10.0
        Seconds between lines.
    """

    def __init__(self, interval: float = 10.0):
        self.interval = interval

    def on_train_begin(self, net, **kwargs):
        self.start_ = self.last_ = time.monotonic()
        self.printed_ = False
        self.epoch_batches_ = None  # training batches per epoch, known after the first

    def on_epoch_begin(self, net, **kwargs):
        self.batches_ = 0
        self.batch_printed_ = False

    def on_batch_end(self, net, training=False, **kwargs):
        if not training:
            return
        self.batches_ += 1
        now = time.monotonic()
        if now - self.last_ < self.interval:
            return
        self.last_, self.batch_printed_ = now, True
        epoch, spent = len(net.history), now - self.start_
        text = f"epoch {epoch}/{net.max_epochs}, batch {self.batches_:,}"
        if self.epoch_batches_:
            done = epoch - 1 + self.batches_ / self.epoch_batches_
            left = spent / done * (net.max_epochs - done)
            text += (
                f" of {self.epoch_batches_:,}, {_clock(spent)} spent, at most {_clock(left)} left"
            )
        else:
            text += f", {_clock(spent)} spent"
        self._line(net, text)

    def _line(self, net, text: str) -> None:
        print(f"{type(net).__name__}: {text}", file=sys.stderr, flush=True)
        self.printed_ = True

    def on_epoch_end(self, net, **kwargs):
        self.epoch_batches_ = self.epoch_batches_ or self.batches_
        now = time.monotonic()
        if now - self.last_ < self.interval and not self.batch_printed_:
            return
        self.last_ = now
        epoch, spent = len(net.history), now - self.start_
        left = spent / epoch * (net.max_epochs - epoch) if epoch else 0.0
        text = f"epoch {epoch}/{net.max_epochs}"
        mae = net.history[-1].get("valid_mae")
        if mae is not None:
            text += f", validation MAE {mae:.4g} (best {min(net.history[:, 'valid_mae']):.4g})"
        self._line(net, f"{text}, {_clock(spent)} spent, at most {_clock(left)} left")

    def on_train_end(self, net, **kwargs):
        spent = _clock(time.monotonic() - self.start_)
        if net.interrupted_:
            text = f"interrupted in epoch {len(net.history)} after {spent}"
        elif self.printed_:
            text = f"done after {len(net.history)} epochs in {spent}"
        else:
            return
        # the epochs validated: an interrupted epoch has no validation MAE
        scored = [(row["valid_mae"], row["epoch"]) for row in net.history if "valid_mae" in row]
        if scored:
            mae, epoch = min(scored)
            text += f", best validation MAE {mae:.4g} (epoch {epoch})"
        self._line(net, text)

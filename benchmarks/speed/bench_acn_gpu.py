"""A timed full-QM9 ACNRegressor fit on a GPU, within a wall-clock budget.

Example
-------
python -m benchmarks.speed.bench_acn_gpu                       # full QM9 on CUDA (gpu_check.sh)
python -m benchmarks.speed.bench_acn_gpu --device cpu --n-train 2000 --max-epochs 2   # smoke run

Reads QM9 from a compact npz (``Z`` uint8, ``R`` float32 coordinates, ``y``
U_atomization in kcal/mol; see ``gpu_check.sh``), so neither qm9pack nor its
cache is needed. Split: the learning-curve protocol
(:func:`acn_sklearn.study.protocol.held_out_split`, test_seed 0, repeat 0, 2,000
test molecules) with the whole remaining pool as training set by default.
The estimator keeps its defaults (10 % validation split, early stopping with
the best epoch restored) except the device, the cosine schedule and a GPU-sized
batch: 256 molecules (default 32) with lr 6e-3 (default 3e-3; 2x, below the
sqrt(8) = 2.8x of square-root scaling, for Adam's sake). On the CPU at N = 10,000,
12 epochs, batch 256: test MAE 3.56 kcal/mol with lr 6e-3, 4.35 with 3e-3.
CPU threads stay at the estimator's default (``n_jobs=None``: one thread for
featurization and gathering batches).

Time budget: the cosine schedule needs its length up front, so after the
first epoch :class:`TimeBudget` counts how many epochs fit in
``--train-seconds`` at that pace, shortens the schedule to end there and stops
training after it (and earlier if later epochs run late). The training budget
is ``--train-seconds``, cut to end ``--total-seconds`` - 30 s after the start
(the last 30 s are for prediction). ``--max-epochs`` is an upper bound.
Writes ``bench_acn_gpu.json`` to ``--out`` (``$OUT``, else ``./gpu_out``).
"""

from __future__ import annotations

import argparse
import copy
import json
import os
import platform
import resource
import time
from pathlib import Path

import numpy as np
import torch
from skorch.callbacks import Callback

from acn_sklearn import ACNRegressor
from benchmarks.common import N_TEST, TEST_SEED, load_compact_qm9, split_indices


class TimeBudget(Callback):
    """Fit the training (and its cosine schedule) into ``seconds`` of wall time.

    ``deadline`` (a ``time.perf_counter`` value) shortens the budget further, so
    that a slow featurization cannot push the whole run past its time limit.
    """

    def __init__(self, seconds: float, deadline: float = float("inf")):
        self.seconds, self.deadline = seconds, deadline

    def on_train_begin(self, net, **kwargs):
        self.start_ = time.perf_counter()
        self.budget_ = min(self.seconds, self.deadline - self.start_)
        self.planned_ = net.max_epochs

    def on_epoch_end(self, net, **kwargs):
        done = len(net.history)
        elapsed = time.perf_counter() - self.start_
        per_epoch = elapsed / done
        if done == 1 and elapsed * net.max_epochs > self.budget_:
            # The first epoch is the slowest (CUDA warm-up), so this errs short.
            self.planned_ = max(2, int(self.budget_ // per_epoch))
            scheduler = dict(net.callbacks_).get("lr_scheduler")
            if scheduler is not None and hasattr(scheduler.lr_scheduler_, "T_max"):
                scheduler.lr_scheduler_.T_max = self.planned_
        net.history.record("planned_epochs", self.planned_)
        if done >= self.planned_ or elapsed + per_epoch > self.budget_:
            # skorch prints the epoch's row after every other callback: print it here.
            h = net.history[-1]
            print(
                f"stopping after epoch {done} of {self.planned_} planned ({elapsed:.0f} s): "
                f"train_loss {h['train_loss']:.4f}, valid_mae {h.get('valid_mae', np.nan):.3f}, "
                f"lr {h.get('event_lr', np.nan):.2e}, {h['dur']:.1f} s"
            )
            raise KeyboardInterrupt  # how skorch's EarlyStopping ends a fit, too


class Stages(Callback):
    """Record when training starts, i.e. when featurization and statistics are done."""

    def on_train_begin(self, net, **kwargs):
        self.train_begin_ = time.perf_counter()

    def on_train_end(self, net, **kwargs):
        self.train_end_ = time.perf_counter()


def on_device(model: ACNRegressor, device: str) -> ACNRegressor:
    """A copy of a fitted model whose network lives on ``device``.

    ``set_params(device=...)`` only changes where skorch sends batches; the
    fitted ``module_`` has to be moved as well.
    """
    model = copy.deepcopy(model)
    model.set_params(device=device)
    model.module_.to(device)
    model.criterion_.to(device)
    return model


def timed_predict(model, X, device):
    if device.startswith("cuda"):
        torch.cuda.synchronize()
    start = time.perf_counter()
    prediction = model.predict(X)
    return prediction, time.perf_counter() - start


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", type=Path, default=Path(".gpu-data/qm9_U_atomization.npz"))
    parser.add_argument("--device", default="cuda")
    parser.add_argument("--n-train", type=int, default=None, help="default: the whole pool")
    parser.add_argument("--batch-size", type=int, default=256)
    parser.add_argument("--lr", type=float, default=6e-3)
    parser.add_argument("--max-epochs", type=int, default=200)
    parser.add_argument("--train-seconds", type=float, default=390.0)
    parser.add_argument(
        "--total-seconds",
        type=float,
        default=480.0,
        help="training also stops this long after the start, less 30 s for prediction",
    )
    parser.add_argument("--n-jobs", type=int, default=None, help="CPU threads (estimator's)")
    parser.add_argument(
        "--params",
        type=json.loads,
        default={},
        help="more ACNRegressor parameters as JSON, e.g. '{\"n_interactions\": 1}'",
    )
    parser.add_argument("--out", type=Path, default=Path(os.environ.get("OUT") or "gpu_out"))
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    cuda = args.device.startswith("cuda")

    start = time.perf_counter()
    X, y = load_compact_qm9(args.data)
    n_train = len(X) - N_TEST if args.n_train is None else args.n_train
    train, test = split_indices(len(X), n_train, n_test=N_TEST, test_seed=TEST_SEED, repeat=0)
    load_s = time.perf_counter() - start
    print(f"loaded {len(X)} molecules in {load_s:.1f} s; train {len(train)}, test {len(test)}")

    deadline = start + args.total_seconds - 30
    budget, stages = TimeBudget(args.train_seconds, deadline), Stages()
    model = ACNRegressor(
        device=args.device,
        batch_size=args.batch_size,
        lr=args.lr,
        lr_schedule="cosine",
        max_epochs=args.max_epochs,
        n_jobs=args.n_jobs,
        random_state=0,
        verbose=2,
        callbacks=[("time_budget", budget), ("stages", stages)],
        **args.params,
    )
    if cuda:
        torch.cuda.reset_peak_memory_stats()
    fit_start = time.perf_counter()
    model.fit(X[train], y[train])
    fit_s = time.perf_counter() - fit_start
    fit_peak_gpu = torch.cuda.max_memory_allocated() if cuda else None

    history = model.history
    scale = float(np.std(y[train]))  # the estimator's L1 loss is on y / std(y_train)
    n_fit = len(train) - max(1, round(model.validation_fraction * len(train)))  # see fit
    epochs = [
        {
            "epoch": h["epoch"],
            "seconds": h["dur"],
            "train_molecules_per_s": n_fit / h["dur"],
            "lr": h.get("event_lr"),
            # Running mean over the epoch's batches (weights change during the epoch).
            "train_mae": h["train_loss"] * scale,
            "valid_mae": h.get("valid_mae"),
        }
        for h in history
    ]

    # Prediction from raw coordinates (featurization included); the first call warms up.
    timed_predict(model, X[test[:100]], args.device)
    prediction, predict_s = timed_predict(model, X[test], args.device)
    test_mae = float(np.abs(prediction - y[test]).mean())
    cpu_prediction = on_device(model, "cpu").predict(X[test])
    diff = np.abs(prediction - cpu_prediction)

    durations = np.array([e["seconds"] for e in epochs])
    results = {
        "device": torch.cuda.get_device_name() if cuda else platform.processor() or "cpu",
        "torch": torch.__version__,
        "cuda": torch.version.cuda,
        "python": platform.python_version(),
        "cpu_count": os.cpu_count(),
        "args": {k: str(v) for k, v in vars(args).items()},
        "split": {
            "protocol": "acn_sklearn.study.protocol.held_out_split",
            "n_molecules": len(X),
            "n_train": len(train),
            "n_test": len(test),
            "test_seed": TEST_SEED,
            "repeat": 0,
            "n_fit_after_validation_split": n_fit,
        },
        "load_seconds": load_s,
        "fit_seconds": fit_s,
        # fit start to the first epoch: validation, featurization, statistics, network
        # setup (the CUDA context already exists: reset_peak_memory_stats made it).
        "featurize_seconds": stages.train_begin_ - fit_start,
        "train_seconds": stages.train_end_ - stages.train_begin_,
        "train_budget_seconds": budget.budget_,
        "epochs_run": len(history),
        "epochs_planned": budget.planned_,
        "stopped_by": "planned epochs (cosine ran to its end)"
        if len(history) >= budget.planned_
        else "time guard or early stopping (cosine cut short)",
        "best_epoch": int(np.argmin(history[:, "valid_mae"])) + 1,
        "epoch_seconds_median": float(np.median(durations)),
        "train_molecules_per_s_median": float(n_fit / np.median(durations)),
        "epochs": epochs,
        "test_mae_kcal_mol": test_mae,
        "predict_seconds": predict_s,
        "predict_molecules_per_s": len(test) / predict_s,
        "cpu_vs_device_max_abs_diff_kcal_mol": float(diff.max()),
        "cpu_vs_device_max_rel_diff": float((diff / np.abs(cpu_prediction)).max()),
        "peak_gpu_memory_fit_bytes": fit_peak_gpu,
        "peak_gpu_memory_bytes": torch.cuda.max_memory_allocated() if cuda else None,
        "peak_host_rss_bytes": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024,
        "total_seconds": time.perf_counter() - start,
    }
    path = args.out / "bench_acn_gpu.json"
    path.write_text(json.dumps(results, indent=2) + "\n")
    summary = {k: v for k, v in results.items() if k not in ("epochs", "args")}
    print(json.dumps(summary, indent=2))
    print(f"wrote {path}")


if __name__ == "__main__":
    main()

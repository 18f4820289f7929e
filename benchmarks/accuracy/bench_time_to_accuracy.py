"""Time to accuracy against peers: ACN, SchNet and MACE within one CPU wall-clock budget.

Examples (from the repository root, in the peer venv; see benchmarks/peers-requirements.txt)
-------------------------------------------------------------------------------------------
OMP_NUM_THREADS=1 MKL_NUM_THREADS=1 /work/peersvenv/bin/python -m \\
    benchmarks.accuracy.bench_time_to_accuracy --model schnet --budget-minutes 10 --seed 0
... --model acn --budget-minutes 60 --seed 0
... --model mace --n-train 200 --budget-minutes 0.5 --no-record      # smoke run

Every model gets the same data and the same clock:

* the fixed split of ``benchmarks/common.py`` (``held_out_split``: the first N molecules
  of the training pool; 2,000 test molecules, test seed 0), target U_atomization (the
  package's U0 atomization energy), kcal/mol;
* a validation split of 10 % of the N training molecules, drawn exactly as
  ``ACNRegressor`` draws its own (``default_rng(seed).permutation(N)``, the first
  ``round(0.1 N)`` are validation), for choosing the best epoch; never the test set;
* a wall-clock budget of ``--budget-minutes`` that starts after QM9 is loaded (the same
  for all) and covers everything model-specific: featurization or neighbour lists,
  statistics, building the network and training, validation passes included. Prediction
  of the 2,000 test molecules (from raw coordinates) comes after it and is timed apart;
* a cosine learning-rate schedule that ends with the budget, the weights of the epoch
  with the lowest validation MAE restored at the end. ACN: ``TimeBudget``
  (``benchmarks/speed/bench_acn_gpu.py``, imported) times the first epoch, sets the
  cosine's length to the epochs that fit into what is left of the budget and stops
  after them, or earlier when an epoch would not finish in time; at N = 10,000 an ACN
  epoch takes seconds, so that is a fine-grained schedule. Peers: the same cosine on
  the wall clock (:func:`budgeted_training`): before each step the learning rate is set
  from the time left, reaching 0 when training must stop to leave time for the last
  validation, mid-epoch if need be. An epoch-level plan cannot shape the peers'
  schedules: in smoke runs on one busy CPU core, one epoch of 9,000 molecules would
  take SchNet about 1.4 and MACE about 7.5 of the 10 minutes;
* ``--threads`` CPU threads (torch and BLAS); run with ``OMP_NUM_THREADS`` set to the
  same number. The published schedules (ReduceLROnPlateau, hundreds of epochs) do not fit
  a fixed budget, so all three get a budgeted cosine instead; everything else is each
  library's QM9 or default setting, below. ``--params`` (JSON) overrides them.

Settings
--------
``acn``: ``ACNRegressor`` defaults (AdamW lr 3e-3, weight decay 0.1, batch 32, L1 loss,
its own 10 % validation split, best epoch restored) with ``lr_schedule="cosine"``,
``random_state=seed`` and no limit but the budget: ``max_epochs`` and ``patience``
100,000 (defaults 500 and 60, which would end a 60-minute fit after about half of it).

``schnet``: schnetpack's QM9 experiment (``schnetpack/configs/experiment/qm9_atomwise.yaml``
with ``model/representation/schnet.yaml``, ``task/optimizer/adam.yaml``, ``callbacks/ema``
of schnetpack 2.1.1): SchNet, 128 atom features, 6 interactions, 20 Gaussian radial
functions, cosine cutoff 5 A (matscipy neighbour list), sum of atomwise outputs, MSE
loss, AdamW lr 5e-4 without weight decay, batch 100, exponential moving average of the
weights (decay 0.995) used for validation and prediction. Energies in eV, as that
config does (``property_units: energy_U0: eV``), converted back to kcal/mol for the
scores; the per-atom mean energy of the fitted molecules is removed first
(``RemoveOffsets(remove_mean=True)``; the atom references are already out of
U_atomization).

``mace``: ``mace_run_train`` defaults of mace-torch 0.3.16 (``mace/tools/arg_parser.py``):
model "MACE" (``ScaleShiftMACE``, first interaction ``RealAgnosticInteractionBlock``,
then ``RealAgnosticResidualInteractionBlock``), 2 interactions, correlation order 3,
spherical harmonics up to l = 3, r_max 5 A, 8 Bessel functions with a polynomial
cutoff of order 5, radial MLP [64, 64, 64], readout MLP 16x0e, SiLU gate; E0s
"average" (least squares on the fitted molecules), "std_scaling" (the forces-based
default needs forces), average number of neighbours from the fitted molecules; Adam
with amsgrad, lr 0.01, weight decay 5e-7 on the interaction and product weights (MACE's
parameter groups), batch 10, gradient norm clipped at 10, EMA decay 0.99 (``--ema
--ema_decay 0.99`` of MACE's examples); the loss is MACE's energy term, the mean squared
error of the energy per atom. Hidden irreps ``64x0e + 64x1o``, smaller than MACE's
default ``128x0e + 128x1o``: even so it trained only about 20 molecules/s on one busy
CPU core (smoke runs), about one pass over 9,000 molecules in 10 minutes. float32, like
the other two (MACE trains in float64 by default).

Each run appends one row to the record (question "peers", id
``time_to_accuracy_<model>_n<N>_<M>min_seed<S>``) unless ``--no-record``.
"""

from __future__ import annotations

import argparse
import copy
import json
import math
import time
import typing
from types import SimpleNamespace

import numpy as np
import torch

# e3nn 0.4.4 (MACE's pin; the package itself has a newer one) loads its constants with
# torch.load, whose weights-only default (torch >= 2.6) refuses the slices they hold.
# Allow just those, before acn_sklearn imports e3nn.o3 (mace, when imported, turns
# weights-only loading off altogether).
torch.serialization.add_safe_globals([slice])

from skorch.history import History  # noqa: E402
from threadpoolctl import threadpool_limits  # noqa: E402

from acn_sklearn import ACNRegressor  # noqa: E402
from acn_sklearn.acn._base import validation_split  # noqa: E402
from benchmarks.common import held_out_split, write_report  # noqa: E402
from benchmarks.speed.bench_acn_gpu import Stages, TimeBudget  # noqa: E402

#: One kcal/mol in eV (ase.units.kcal / ase.units.mol).
KCAL_PER_MOL_EV = 0.04336411530877085
#: ACN's epoch limit and early-stopping patience: only the budget ends training, as for
#: the peers (with the defaults, 500 epochs and patience 60, a 60-minute fit would end
#: after about 30 minutes).
MAX_EPOCHS = 100_000

ACN = dict(lr_schedule="cosine", max_epochs=MAX_EPOCHS, patience=MAX_EPOCHS)
SCHNET = dict(
    n_atom_basis=128,
    n_interactions=6,
    n_rbf=20,
    cutoff=5.0,
    lr=5e-4,
    batch_size=100,
    ema_decay=0.995,
    eval_batch_size=100,
)
MACE = dict(
    hidden_irreps="64x0e + 64x1o",
    r_max=5.0,
    num_bessel=8,
    num_polynomial_cutoff=5,
    max_ell=3,
    correlation=3,
    num_interactions=2,
    MLP_irreps="16x0e",
    radial_MLP=[64, 64, 64],
    lr=0.01,
    weight_decay=5e-7,
    batch_size=10,
    clip_grad=10.0,
    ema_decay=0.99,
    eval_batch_size=100,
)


def fit_valid_split(n: int, seed: int, fraction: float = 0.1) -> tuple[np.ndarray, np.ndarray]:
    """Fitted and (sorted) validation indices: the split ``ACNRegressor`` draws for that seed."""
    fit, valid = validation_split(n, fraction, seed)
    return fit, np.sort(valid)


def molecules(X: np.ndarray):
    """Atomic numbers (int) and coordinates (A) of each padded row [Z, x, y, z] of ``X``."""
    for rows in X:
        atoms = rows[:, 0] > 0
        yield rows[atoms, 0].astype(np.int64), rows[atoms, 1:]


def budgeted_training(model, optimizer, epoch_batches, step, validate, n_valid, deadline, ema=None):
    """Train a peer until ``deadline`` with a cosine that ends there.

    ``epoch_batches()`` yields one shuffled epoch as ``(batch, n_molecules)``;
    ``step(batch)`` takes one optimizer step and returns its loss; ``validate()`` returns
    the validation MAE in kcal/mol (with the EMA weights when there are some). Before
    each step the learning rate is set to the cosine of the wall-clock time: from the
    optimizer's lr at the start to 0 when training has to stop to leave time for the
    next step (as long as the last one) and the last validation (as long as the last
    validation took; before the first one, estimated from the training pace). Training
    stops there, mid-epoch if need be, and the weights are validated once more. An
    epoch row of the history holds its molecules, mean loss, validation MAE, lr at its
    start and duration; the weights of the epoch with the best validation MAE are
    loaded at the end. Returns the history and when training began (the end of the
    preparation).
    """
    start = time.perf_counter()
    base_lrs = [group["lr"] for group in optimizer.param_groups]
    history = History()
    best_mae, best_state, reserve, trained, step_s, stop = math.inf, None, None, 0, 0.0, False
    while not stop:
        epoch_start = time.perf_counter()
        history.new_epoch()
        history.record("epoch", len(history))
        losses, molecules_ = [], 0
        for batch, n in epoch_batches():
            now = time.perf_counter()
            need = 0.0  # time for this step and the last validation
            if trained:
                # A validation pass is forward only: at most half the time of a training pass.
                need = reserve if reserve is not None else 0.5 * n_valid * (now - start) / trained
                need += step_s
                if now + need >= deadline:
                    stop = True
                    break
            span = max(deadline - need - start, 1e-9)
            factor = 0.5 * (1 + math.cos(math.pi * min((now - start) / span, 1.0)))
            for group, lr in zip(optimizer.param_groups, base_lrs, strict=True):
                group["lr"] = lr * factor
            if not losses:
                history.record("event_lr", optimizer.param_groups[0]["lr"])
            losses.append(step(batch))
            step_s = time.perf_counter() - now
            molecules_ += n
            trained += n
        if not molecules_ and len(history) > 1:  # out of time as an epoch began
            history.pop()
            break
        validation_start = time.perf_counter()
        valid_mae = validate()
        reserve = time.perf_counter() - validation_start
        history.record("molecules", molecules_)
        history.record("train_loss", float(np.mean(losses)) if losses else math.nan)
        history.record("valid_mae", valid_mae)
        history.record("dur", time.perf_counter() - epoch_start)
        if valid_mae < best_mae:
            best_mae = valid_mae
            if ema is None:
                best_state = copy.deepcopy(model.state_dict())
            else:
                with ema.average_parameters():
                    best_state = copy.deepcopy(model.state_dict())
        h = history[-1]
        print(
            f"epoch {h['epoch']}: {molecules_} molecules, train_loss {h['train_loss']:.4f}, "
            f"valid_mae {valid_mae:.3f}, lr {h['event_lr']:.2e}, {h['dur']:.1f} s"
            + (" (best)" if valid_mae == best_mae else ""),
            flush=True,
        )
    model.load_state_dict(best_state)
    return history, start


# -- ACN ---------------------------------------------------------------------------------


def run_acn(X_train, y_train, X_test, seed, budget_s, deadline, params):
    budget = TimeBudget(budget_s, deadline)  # the budget counts from before featurization
    stages = Stages()  # for the end of training (fit goes on with a last-layer posterior)
    model = ACNRegressor(
        **{
            **ACN,
            "random_state": seed,
            "verbose": 2,
            **params,
            "callbacks": [("time_budget", budget), ("stages", stages)],
        }
    )
    model.fit(X_train, y_train)
    fit_end = time.perf_counter()
    start = time.perf_counter()
    y_pred = model.predict(X_test)
    predict_s = time.perf_counter() - start
    history = model.history
    n_fit = len(X_train) - max(1, round(model.validation_fraction * len(X_train)))
    valid = history[:, "valid_mae"]
    return {
        "y_pred": y_pred,
        "predict_s": predict_s,
        "train_begin": stages.train_begin_,
        "train_end": stages.train_end_,
        "after_train_s": fit_end - stages.train_end_,
        "planned_epochs": budget.planned_,
        "history": history,
        "valid_mae": float(min(valid)),
        "best_epoch": int(np.argmin(valid)) + 1,
        "n_fit": n_fit,
        "molecules": n_fit * len(history),
        "n_params": sum(p.numel() for _, p in model.get_all_learnable_params()),
        "versions": {},
    }


# -- SchNet (schnetpack) -----------------------------------------------------------------


def _schnetpack():
    """``import schnetpack``, whose data loader imports a type variable newer torch lacks."""
    import torch.utils.data.dataloader as dataloader

    if not hasattr(dataloader, "T_co"):  # used only in a type hint of schnetpack's loader
        dataloader.T_co = typing.TypeVar("T_co", covariant=True)
    import schnetpack

    return schnetpack


def run_schnet(X_train, y_train, X_test, seed, budget_s, deadline, params):
    spk = _schnetpack()
    from schnetpack import properties
    from schnetpack.data.loader import _atoms_collate_fn
    from torch_ema import ExponentialMovingAverage

    s = {**SCHNET, **params}
    neighbours = spk.transform.MatScipyNeighborList(cutoff=s["cutoff"])

    def inputs(X):
        """schnetpack's per-molecule input dicts, with the neighbour lists of the QM9 config."""
        out = []
        for k, (Z, R) in enumerate(molecules(X)):
            d = {
                properties.idx: torch.tensor([k]),
                properties.Z: torch.from_numpy(Z),
                properties.R: torch.from_numpy(R).float(),
                properties.cell: torch.zeros(1, 3, 3),
                properties.pbc: torch.zeros(3, dtype=torch.bool),
                properties.n_atoms: torch.tensor([len(Z)]),
            }
            out.append(neighbours(d))
        return out

    fit, valid = fit_valid_split(len(X_train), seed)
    data = inputs(X_train)
    n_atoms = np.array([len(d[properties.Z]) for d in data])
    y_ev = y_train * KCAL_PER_MOL_EV
    mean_per_atom = float(np.mean(y_ev[fit] / n_atoms[fit]))  # RemoveOffsets(remove_mean)
    residual = torch.tensor(y_ev - mean_per_atom * n_atoms, dtype=torch.float32)

    torch.manual_seed(seed)
    n = s["n_atom_basis"]
    model = spk.model.NeuralNetworkPotential(
        representation=spk.representation.SchNet(
            n_atom_basis=n,
            n_interactions=s["n_interactions"],
            radial_basis=spk.nn.GaussianRBF(n_rbf=s["n_rbf"], cutoff=s["cutoff"]),
            cutoff_fn=spk.nn.CosineCutoff(s["cutoff"]),
        ),
        input_modules=[spk.atomistic.PairwiseDistances()],
        output_modules=[spk.atomistic.Atomwise(n_in=n, output_key="energy")],
    )
    optimizer = torch.optim.AdamW(model.parameters(), lr=s["lr"], weight_decay=0.0)
    ema = ExponentialMovingAverage(model.parameters(), decay=s["ema_decay"])
    rng = np.random.default_rng(seed)

    def predict_residual(items):
        model.eval()
        out = []
        with torch.no_grad():
            for b in range(0, len(items), s["eval_batch_size"]):
                batch = _atoms_collate_fn(items[b : b + s["eval_batch_size"]])
                out.append(model(batch)["energy"])
        return torch.cat(out).numpy()

    def epoch_batches():
        order = rng.permutation(fit)
        for b in range(0, len(order), s["batch_size"]):
            chosen = order[b : b + s["batch_size"]]
            yield (_atoms_collate_fn([data[i] for i in chosen]), residual[chosen]), len(chosen)

    def step(batch):
        model.train()
        inputs_, target = batch
        loss = torch.nn.functional.mse_loss(model(inputs_)["energy"], target)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        ema.update()
        return loss.item()

    def validate():
        with ema.average_parameters():
            pred = predict_residual([data[i] for i in valid])
        return float(np.abs(pred - residual[valid].numpy()).mean() / KCAL_PER_MOL_EV)

    history, train_begin = budgeted_training(
        model, optimizer, epoch_batches, step, validate, len(valid), deadline, ema
    )
    train_end = time.perf_counter()

    start = time.perf_counter()
    test = inputs(X_test)
    test_atoms = np.array([len(d[properties.Z]) for d in test])
    y_pred = (predict_residual(test) + mean_per_atom * test_atoms) / KCAL_PER_MOL_EV
    predict_s = time.perf_counter() - start
    return _peer_result(history, y_pred, predict_s, train_begin, train_end, fit, model, spk)


# -- MACE (mace-torch) -------------------------------------------------------------------


def run_mace(X_train, y_train, X_test, seed, budget_s, deadline, params):
    import mace
    from e3nn import o3
    from mace import data as mace_data
    from mace import modules
    from mace.tools import AtomicNumberTable, torch_geometric
    from mace.tools.scripts_utils import get_params_options
    from torch_ema import ExponentialMovingAverage

    s = {**MACE, **params}
    torch.set_default_dtype(torch.float32)
    fit, valid = fit_valid_split(len(X_train), seed)
    train_mols = list(molecules(X_train))
    z_table = AtomicNumberTable(sorted({int(z) for Z, _ in train_mols for z in Z}))

    def graphs(mols, energies):
        configs = [
            mace_data.Configuration(
                atomic_numbers=Z,
                positions=R,
                properties={"energy": float(e)},
                property_weights={"energy": 1.0},
            )
            for (Z, R), e in zip(mols, energies, strict=True)
        ]
        data = [
            mace_data.AtomicData.from_config(c, z_table=z_table, cutoff=s["r_max"]) for c in configs
        ]
        return configs, data

    configs, data = graphs(train_mols, y_train)
    fit_data, valid_data = [data[i] for i in fit], [data[i] for i in valid]
    E0s = mace_data.compute_average_E0s([configs[i] for i in fit], z_table)
    atomic_energies = np.array([E0s[z] for z in z_table.zs])
    stats_loader = torch_geometric.dataloader.DataLoader(fit_data, batch_size=100)
    avg_num_neighbors = modules.compute_avg_num_neighbors(stats_loader)
    _, std = modules.scaling_classes["std_scaling"](stats_loader, atomic_energies)

    torch.manual_seed(seed)
    model = modules.ScaleShiftMACE(
        r_max=s["r_max"],
        num_bessel=s["num_bessel"],
        num_polynomial_cutoff=s["num_polynomial_cutoff"],
        max_ell=s["max_ell"],
        interaction_cls=modules.interaction_classes["RealAgnosticResidualInteractionBlock"],
        interaction_cls_first=modules.interaction_classes["RealAgnosticInteractionBlock"],
        num_interactions=s["num_interactions"],
        num_elements=len(z_table),
        hidden_irreps=o3.Irreps(s["hidden_irreps"]),
        MLP_irreps=o3.Irreps(s["MLP_irreps"]),
        atomic_energies=atomic_energies,
        avg_num_neighbors=avg_num_neighbors,
        atomic_numbers=z_table.zs,
        correlation=s["correlation"],
        gate=torch.nn.functional.silu,
        radial_MLP=s["radial_MLP"],
        radial_type="bessel",
        atomic_inter_scale=std,
        atomic_inter_shift=[0.0],
        heads=["Default"],
    )
    options = get_params_options(
        SimpleNamespace(
            lr=s["lr"],
            weight_decay=s["weight_decay"],
            lr_params_factors="{}",
            freeze=None,
            amsgrad=True,
            beta=0.9,
        ),
        model,
    )
    optimizer = torch.optim.Adam(**options)
    ema = ExponentialMovingAverage(model.parameters(), decay=s["ema_decay"])
    generator = torch.Generator().manual_seed(seed)
    train_loader = torch_geometric.dataloader.DataLoader(
        fit_data, batch_size=s["batch_size"], shuffle=True, drop_last=False, generator=generator
    )

    def energies(items):
        model.eval()
        loader = torch_geometric.dataloader.DataLoader(items, batch_size=s["eval_batch_size"])
        with torch.no_grad():  # energies only: no forces, so no gradients of positions
            out = [model(batch.to_dict(), compute_force=False)["energy"] for batch in loader]
        return torch.cat(out).numpy()

    def epoch_batches():
        for batch in train_loader:
            yield batch, batch.num_graphs

    def step(batch):
        model.train()
        output = model(batch.to_dict(), training=True, compute_force=False)
        n_atoms = batch.ptr[1:] - batch.ptr[:-1]
        loss = torch.mean(torch.square((batch.energy - output["energy"]) / n_atoms))
        optimizer.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), max_norm=s["clip_grad"])
        optimizer.step()
        ema.update()
        return loss.item()

    def validate():
        with ema.average_parameters():
            pred = energies(valid_data)
        return float(np.abs(pred - y_train[valid]).mean())

    history, train_begin = budgeted_training(
        model, optimizer, epoch_batches, step, validate, len(valid), deadline, ema
    )
    train_end = time.perf_counter()

    start = time.perf_counter()
    _, test_data = graphs(list(molecules(X_test)), np.zeros(len(X_test)))
    y_pred = energies(test_data)
    predict_s = time.perf_counter() - start
    return _peer_result(history, y_pred, predict_s, train_begin, train_end, fit, model, mace)


def _peer_result(history, y_pred, predict_s, train_begin, train_end, fit, model, library):
    import e3nn

    valid = history[:, "valid_mae"]
    version = getattr(library, "__version__", None)
    if version is None:  # schnetpack has no __version__
        from importlib.metadata import version as dist_version

        version = dist_version(library.__name__)
    return {
        "y_pred": np.asarray(y_pred, dtype=np.float64),
        "predict_s": predict_s,
        "train_begin": train_begin,
        "train_end": train_end,
        "history": history,
        "valid_mae": float(min(valid)),
        "best_epoch": int(np.argmin(valid)) + 1,
        "n_fit": len(fit),
        "molecules": int(sum(history[:, "molecules"])),
        "n_params": sum(p.numel() for p in model.parameters()),
        "versions": {library.__name__: version, "e3nn": e3nn.__version__},
    }


RUNNERS = {"acn": run_acn, "schnet": run_schnet, "mace": run_mace}
DEFAULTS = {"acn": ACN, "schnet": SCHNET, "mace": MACE}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", choices=sorted(RUNNERS), required=True)
    parser.add_argument("--budget-minutes", type=float, required=True)
    parser.add_argument("--n-train", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=1, help="torch and BLAS threads")
    parser.add_argument(
        "--params", default="{}", help="JSON overriding the model's settings (see the docstring)"
    )
    parser.add_argument("--no-record", action="store_true", help="smoke run: no record row")
    args = parser.parse_args(argv)
    overrides = json.loads(args.params)
    torch.set_num_threads(args.threads)

    with threadpool_limits(args.threads):
        X_train, y_train, X_test, y_test = held_out_split(args.n_train)
        budget_s = 60 * args.budget_minutes
        start = time.perf_counter()  # the budget starts here: QM9 is loaded
        result = RUNNERS[args.model](
            X_train, y_train, X_test, args.seed, budget_s, start + budget_s, overrides
        )

    history = result["history"]
    test_mae = float(np.abs(result["y_pred"] - y_test).mean())
    passes = result["molecules"] / result["n_fit"]
    metrics = {
        "model": args.model,
        "budget_min": args.budget_minutes,
        "test_mae": round(test_mae, 3),
        "valid_mae": round(result["valid_mae"], 3),
        # passes over the fitted molecules (a peer's last epoch may stop part-way)
        "epochs": len(history) if args.model == "acn" else round(passes, 2),
        "best_epoch": result["best_epoch"],
        "prepare_s": round(result["train_begin"] - start, 1),
        "train_s": round(result["train_end"] - start, 1),
        "predict_s": round(result["predict_s"], 2),
        # validation passes included
        "molecules_per_s": round(result["molecules"] / float(sum(history[:, "dur"]))),
        "n_params": result["n_params"],
        "threads": args.threads,
    }
    for key in ("planned_epochs", "after_train_s"):
        if key in result:
            metrics[key] = round(result[key], 1)
    settings = {**DEFAULTS[args.model], **overrides}
    versions = {"torch": torch.__version__, **result["versions"]}
    body = f"""
{args.model} on the fixed QM9 split, N = {args.n_train:,} ({result["n_fit"]:,} fitted, the
rest validation), within a budget of {args.budget_minutes:g} min on {args.threads} thread(s);
settings {json.dumps(settings)}; versions {json.dumps(versions)}.

| quantity | value |
|---|---|
| **test MAE, U_atomization (kcal/mol)** | **{test_mae:.3f}** |
| best validation MAE (kcal/mol), epoch | {result["valid_mae"]:.3f}, {result["best_epoch"]} |
| epochs (passes over the fitted molecules) | {len(history)} ({passes:.2f}) |
| preparation before the first epoch (s) | {metrics["prepare_s"]} |
| budget used: preparation and training (s) | {metrics["train_s"]} of {budget_s:g} |
| training molecules/s (validation passes included) | {metrics["molecules_per_s"]:,} |
| prediction of {len(X_test):,} test molecules from coordinates (s) | {metrics["predict_s"]} |
"""
    if args.no_record:
        print(body)
        print(json.dumps(metrics))
        return
    write_report(
        f"time_to_accuracy_{args.model}_n{args.n_train}_{args.budget_minutes:g}min_seed{args.seed}",
        f"Time to accuracy against peers, N = {args.n_train:,}",
        body,
        question="peers",
        metrics=metrics,
        params=overrides,
        n_train=args.n_train,
        seed=args.seed,
        settings=settings,
        versions=versions,
    )


if __name__ == "__main__":
    main()

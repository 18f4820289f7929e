"""What the molecular and the atomic AtomCloudNet estimators share.

:class:`ACNBase` holds the network's and the training's parameters, checks them
with scikit-learn's parameter constraints, fences off the skorch parameters it
fixes, validates molecules, featurizes them once (:mod:`._data`), learns the
training statistics (:mod:`._statistics`) and lets skorch run the training loop
over the dataset's own mini-batches. :class:`~acn_sklearn.ACNRegressor` and
:class:`~acn_sklearn.ACNAtomRegressor` add only their own parameters and how
their targets reach the network.
"""

from __future__ import annotations

import os
from numbers import Integral, Real
from typing import ClassVar

import numpy as np
import torch
from sklearn.utils._param_validation import Interval, StrOptions, validate_parameter_constraints
from skorch import NeuralNetRegressor
from skorch.callbacks import EarlyStopping, EpochTimer, LRScheduler, PassthroughScoring
from torch.optim.lr_scheduler import CosineAnnealingLR, ReduceLROnPlateau

from ..domain import TrainingDomain
from ..molecules import check_elements, check_molecules, element_counts, elements_in
from ._callbacks import (
    EpochLog,
    Progress,
    StopOnNaN,
    UpdateAverage,
    ValidationMAE,
    stopped_early,
)
from ._checkpoint import TrainingCheckpoint, fit_fingerprint
from ._data import MoleculeDataset, featurize
from ._distributed import data_parallel, is_main_process, mean_over_processes, shard, world_size
from ._heads import HEADS
from ._network import ACNModule, AveragedNetwork
from ._runtime import torch_cpu_settings
from ._statistics import training_statistics
from ._uncertainty import LastLayerPosterior

#: Molecules featurized at once in ``predict`` (bounds memory).
_PREDICT_CHUNK = 8192
#: Mini-batch size for validation and prediction (no gradients, so larger is faster).
_EVAL_BATCH = 1024

#: Hyperparameters passed on to :class:`ACNModule` as they are.
_MODULE_PARAMETERS = (
    "n_radial",
    "cloud_order",
    "embedding_dim",
    "cloud_channels",
    "n_clouds",
    "n_interactions",
    "atom_dim",
    "hidden_sizes",
    "potentials",
)

#: skorch parameters the estimators fix, and why.
_FIXED_SKORCH_PARAMETERS = {
    "module": "it builds its own AtomCloudNet module (set the network's parameters instead)",
    "train_split": "use validation_fraction",
    "iterator_train": "the featurized dataset makes its own mini-batches (set batch_size)",
    "iterator_valid": "the featurized dataset makes its own mini-batches",
    "dataset": "molecules are featurized by the estimator",
    "predict_nonlinearity": "the network's output is the prediction",
    "compile": "not supported",
    "warm_start": "fit always starts from a fresh network",
}

_POSITIVE_INT = Interval(Integral, 1, None, closed="left")


def _quiet(*args, **kwargs) -> None:
    """A skorch ``sink`` that prints nothing."""


def _refuse_fixed(estimator, params) -> None:
    for key in params:
        reason = _FIXED_SKORCH_PARAMETERS.get(key.split("__")[0])
        if reason is not None:
            raise ValueError(f"{estimator} does not take the skorch parameter {key!r}: {reason}")


def validation_split(n: int, fraction: float, random_state) -> tuple[np.ndarray, np.ndarray]:
    """The fitted and the validation molecules of a fit's random split, in drawn order.

    ``max(1, round(fraction * n))`` molecules are held out for validation (early
    stopping, the learning-rate schedule, the posterior's calibration).

    Parameters
    ----------
    n : int
        Training molecules.
    fraction : float
        ``validation_fraction``, above 0.
    random_state : int, Generator or None
        Seed of the draw.

    Returns
    -------
    fit, valid : ndarray of int
    """
    n_valid = max(1, round(fraction * n))
    order = np.random.default_rng(random_state).permutation(n)
    return order[n_valid:], order[:n_valid]


class ACNBase(NeuralNetRegressor):
    """The parameters and the training of an AtomCloudNet estimator.

    Not for direct use: see :class:`~acn_sklearn.ACNRegressor`, whose docstring
    describes every parameter, and :class:`~acn_sklearn.ACNAtomRegressor`.
    Subclasses add their own parameters in ``__init__`` and
    ``_parameter_constraints``, give the network what it needs of them in
    :meth:`_own_module_parameters`, and set ``n_outputs_`` and ``heads_`` before
    calling :meth:`_fit`.
    """

    # The fixed skorch parameters live on the class, so skorch finds them while
    # get_params() (which lists instance attributes) does not offer them.
    module = ACNModule
    train_split = None
    iterator_train = iterator_valid = dataset = None
    predict_nonlinearity = None
    compile = False
    warm_start = False

    _parameter_constraints: ClassVar[dict] = {
        "radius": [Interval(Real, 0, None, closed="neither")],
        "cloud_order": [_POSITIVE_INT],
        "n_radial": [_POSITIVE_INT],
        "radial_basis": [StrOptions({"bessel", "gaussian"})],
        "embedding_dim": [_POSITIVE_INT],
        "cloud_channels": [_POSITIVE_INT],
        "n_clouds": [_POSITIVE_INT],
        "n_interactions": [Interval(Integral, 0, None, closed="left")],
        "atom_dim": [_POSITIVE_INT],
        "hidden_sizes": [tuple, list],
        "potentials": ["boolean"],
        "ema_decay": [Interval(Real, 0, 1, closed="neither"), None],
        "lr": [Interval(Real, 0, None, closed="neither")],
        "batch_size": [_POSITIVE_INT],
        "max_epochs": [Interval(Integral, 0, None, closed="left")],
        "patience": [_POSITIVE_INT],
        "lr_schedule": [StrOptions({"plateau", "cosine"})],
        "lr_patience": [Interval(Integral, 0, None, closed="left")],
        "validation_fraction": [Interval(Real, 0, 1, closed="left")],
        "criterion": [type, callable],
        "elements": ["array-like", None],
        "device": [str, torch.device],
        "n_jobs": [Integral, None],
        "random_state": [Interval(Integral, 0, None, closed="left"), None],
        "checkpoint_dir": [str, os.PathLike, None],
        "verbose": ["verbose"],
    }

    def __init__(
        self,
        *,
        radius=3.0,
        cloud_order=4,
        n_radial=12,
        radial_basis="bessel",
        embedding_dim=24,
        cloud_channels=48,
        n_clouds=1,
        n_interactions=0,
        atom_dim=128,
        hidden_sizes=(128, 64),
        potentials=True,
        ema_decay=None,
        lr=3e-3,
        batch_size=32,
        max_epochs=500,
        patience=60,
        lr_schedule="plateau",
        lr_patience=25,
        validation_fraction=0.1,
        criterion=torch.nn.L1Loss,
        elements=None,
        device="cpu",
        n_jobs=None,
        random_state=None,
        checkpoint_dir=None,
        verbose=1,
        **kwargs,
    ):
        _refuse_fixed(type(self).__name__, kwargs)
        if "optimizer" not in kwargs:
            kwargs["optimizer"] = torch.optim.AdamW
            kwargs.setdefault("optimizer__weight_decay", 0.1)
        super().__init__(
            ACNModule,
            criterion=criterion,
            lr=lr,
            batch_size=batch_size,
            max_epochs=max_epochs,
            device=device,
            verbose=verbose,
            **kwargs,
        )
        for name in _FIXED_SKORCH_PARAMETERS:
            vars(self).pop(name, None)
        self.radius = radius
        self.cloud_order = cloud_order
        self.n_radial = n_radial
        self.radial_basis = radial_basis
        self.embedding_dim = embedding_dim
        self.cloud_channels = cloud_channels
        self.n_clouds = n_clouds
        self.n_interactions = n_interactions
        self.atom_dim = atom_dim
        self.hidden_sizes = hidden_sizes
        self.potentials = potentials
        self.ema_decay = ema_decay
        self.patience = patience
        self.lr_schedule = lr_schedule
        self.lr_patience = lr_patience
        self.validation_fraction = validation_fraction
        self.elements = elements
        self.n_jobs = n_jobs
        self.random_state = random_state
        self.checkpoint_dir = checkpoint_dir

    def set_params(self, **params):
        """Set parameters (the skorch parameters the estimator fixes are refused)."""
        _refuse_fixed(type(self).__name__, params)
        return super().set_params(**params)

    def _get_param_names(self):
        # skorch lists its private bookkeeping set among the parameters; it is none.
        return [name for name in super()._get_param_names() if name != "_params_to_validate"]

    def __repr__(self, N_CHAR_MAX=700):
        """Print as scikit-learn does: the parameters that differ from a default instance's."""
        from .._repr import estimator_repr

        default = type(self)().get_params(deep=False)
        changed = {
            key: value
            for key, value in self.get_params(deep=False).items()
            if key not in default or repr(value) != repr(default[key])
        }
        return estimator_repr(type(self).__name__, changed, N_CHAR_MAX)

    # -- configuration -----------------------------------------------------------------

    @property
    def _default_callbacks(self):
        callbacks = [
            ("epoch_timer", EpochTimer()),
            ("train_loss", PassthroughScoring(name="train_loss", on_train=True)),
            ("stop_on_nan", StopOnNaN()),
        ]
        if self.ema_decay is not None:
            callbacks.append(("update_average", UpdateAverage()))
        if self.lr_schedule == "cosine":
            callbacks.append(
                ("lr_scheduler", LRScheduler(CosineAnnealingLR, T_max=self.max_epochs))
            )
        if self.validation_fraction:
            callbacks += [
                ("valid_loss", PassthroughScoring(name="valid_loss")),
                ("valid_mae", ValidationMAE()),
            ]
        # Before early stopping, which ends the fit by raising in the last epoch's
        # on_epoch_end: Progress gets that epoch too (skorch runs EpochLog, a
        # PrintLog, after all other callbacks wherever it is listed).
        if is_main_process() and self.verbose:
            callbacks.append(("print_log", EpochLog() if self.verbose > 1 else Progress()))
        if self.validation_fraction:
            callbacks.append(
                (
                    "early_stopping",
                    EarlyStopping(
                        monitor="valid_mae",
                        patience=self.patience,
                        threshold=0,
                        load_best=True,
                        # its lines belong to the epoch table; Progress sums them up
                        sink=print if self.verbose > 1 else _quiet,
                    ),
                )
            )
            if self.lr_schedule == "plateau":
                callbacks.append(
                    (
                        "lr_scheduler",
                        LRScheduler(
                            ReduceLROnPlateau,
                            monitor="valid_mae",
                            factor=0.5,
                            patience=self.lr_patience,
                        ),
                    )
                )
        if self.checkpoint_dir is not None:
            callbacks.append(("checkpoint", TrainingCheckpoint(self.checkpoint_dir)))
        return callbacks

    def _check_params(self):
        """Validate the parameters against ``_parameter_constraints``, once per ``fit``."""
        validate_parameter_constraints(
            self._parameter_constraints,
            self.get_params(deep=False),
            caller_name=type(self).__name__,
        )
        if self.n_interactions > 0 and self.cloud_order < 2:
            raise ValueError(
                "n_interactions > 0 needs cloud_order >= 2: the interaction layers' "
                "vectors start from the first cloud's degree-1 channels, got "
                f"cloud_order={self.cloud_order}"
            )
        if world_size() > 1 and self.random_state is None:
            raise ValueError(
                "data-parallel training (torch.distributed is initialised) needs an int "
                "random_state: every process must draw the same validation split and batches"
            )

    # -- saving as data (acn_sklearn.persistence) ---------------------------------------

    #: Fitted attributes a saved model keeps; the network is rebuilt from them and its weights.
    _SAVED_ATTRIBUTES = (
        "target_ndim_",
        "n_outputs_",
        "heads_",
        "elements_",
        "training_domain_",
        "statistics_",
        "validation_indices_",
        "last_layer_",
    )

    def __getstate_data__(self) -> dict:
        """The estimator as plain data: parameters, fitted attributes, network weights
        and the per-epoch training history (callbacks and per-batch records, which
        matter during training only, are left out)."""
        params = self.get_params(deep=False) | {"callbacks": None}
        state = {"params": params}
        if getattr(self, "initialized_", False):
            state["fitted"] = {k: vars(self)[k] for k in self._SAVED_ATTRIBUTES if k in vars(self)}
            state["weights"] = self.module_.state_dict()
            # Per epoch; the per-batch records only matter while training.
            state["history"] = [
                {k: v for k, v in epoch.items() if k != "batches"} for epoch in self.history_
            ]
        return state

    @classmethod
    def __setstate_data__(cls, state: dict):
        """The estimator back from :meth:`__getstate_data__`'s data."""
        from skorch.history import History

        estimator = cls(**state["params"])
        if "fitted" in state:
            vars(estimator).update(state["fitted"])
            estimator.initialize()
            estimator.module_.load_state_dict(state["weights"])
            estimator.history_ = History(state["history"])
        return estimator

    def _own_module_parameters(self) -> dict:
        """The network's arguments that come from the subclass's own parameters."""
        return {}

    def _featurize(self, X, y=None) -> MoleculeDataset:
        return featurize(
            X,
            y,
            elements=self.elements_,
            radius=self.radius,
            cloud_order=self.cloud_order,
            n_radial=self.n_radial,
            radial_basis=self.radial_basis,
            pair_degrees=(
                self.cloud_order if self.n_clouds > 1 else 2 if self.n_interactions > 0 else 0
            ),
            per_atom=HEADS[self.heads_[0]].per_atom,
        )

    # -- fitting -------------------------------------------------------------------------

    def _fit(self, X: np.ndarray, y: np.ndarray, *, output="linear", **fit_params):
        """Fit validated molecules to validated targets, one row per molecule or, for
        the atomic head, per real atom (``n_outputs_`` and ``heads_`` already set),
        through a linear or sigmoid ``output``."""
        declared = () if self.elements is None else self.elements
        self.elements_ = np.union1d(elements_in(X), np.asarray(declared, dtype=int))
        self.training_domain_ = TrainingDomain.of(X)
        with torch_cpu_settings(self.n_jobs):
            dataset = self._featurize(X, y)
            self.statistics_ = training_statistics(
                dataset,
                y,
                element_counts(X, self.elements_),
                cloud_order=self.cloud_order,
                n_radial=self.n_radial,
                output=output,
                heads=self.heads_,
            )
            if self.random_state is not None:
                torch.manual_seed(self.random_state)
            self.shuffle_rng_ = np.random.default_rng(self.random_state)
            self.initialized_ = False  # every fit starts afresh: no "re-initializing" notes
            self.initialize()
            epochs = self.max_epochs
            if self.checkpoint_dir is not None:
                fingerprint = fit_fingerprint(X, y, self.get_params(deep=False))
                epochs = dict(self.callbacks_)["checkpoint"].resume(fingerprint, self)
            # Not an attribute skorch manages: it lives for this fit only.
            vars(self)["_data_parallel"] = data_parallel(self.module_, self.device)
            try:
                self.partial_fit(dataset, None, epochs=epochs, **fit_params)
            finally:
                del vars(self)["_data_parallel"]
            self.__dict__.pop("last_layer_", None)  # from an earlier fit
            if self.validation_fraction:
                valid = self.validation_indices_
                train = np.setdiff1d(np.arange(len(X)), valid)
                self.last_layer_ = LastLayerPosterior.fit(
                    self, dataset.subset(train), dataset.subset(valid)
                )
                self.training_domain_ = self.training_domain_.with_std_limit(
                    self.last_layer_.validation_std
                )
        return self

    def fit_loop(self, X, y=None, epochs=None, **fit_params):
        """skorch's training loop, noting in ``interrupted_`` whether Ctrl-C ended it.

        skorch's ``partial_fit`` ends the loop on any ``KeyboardInterrupt``, then
        lets the callbacks end the fit: early stopping restores the best weights
        (and with ``verbose=2`` says so). Early stopping raises one too, so only
        one it did not raise is an interruption. With ``verbose=2`` it is said
        here, before early stopping's note: skorch runs the epoch table's
        callback after all others.
        """
        self.interrupted_ = False
        try:
            return super().fit_loop(X, y, epochs=epochs, **fit_params)
        except KeyboardInterrupt:
            self.interrupted_ = not stopped_early(self)
            if self.interrupted_ and self.verbose > 1 and is_main_process():
                print(f"Interrupted in epoch {len(self.history)}.")
            raise

    def initialize_module(self):
        """Build the network for the elements and targets seen in ``fit``."""
        network = ACNModule(
            n_species=len(self.elements_),
            n_outputs=self.n_outputs_,
            heads=self.heads_,
            **{name: getattr(self, name) for name in _MODULE_PARAMETERS},
            **self._own_module_parameters(),
        )
        network.set_statistics(self.statistics_)
        self.module_ = (
            network if self.ema_decay is None else AveragedNetwork(network, self.ema_decay)
        )
        return self

    def get_all_learnable_params(self):
        """The parameters the optimizer trains (a weight average's take no gradient)."""
        for name, parameter in super().get_all_learnable_params():
            if parameter.requires_grad:
                yield name, parameter

    def get_split_datasets(self, X, y=None, **fit_params):
        """Random train/validation split of the (featurized) training data."""
        if not self.validation_fraction:
            self.validation_indices_ = np.zeros(0, dtype=int)
            return X, None
        fit, valid = validation_split(len(X), self.validation_fraction, self.random_state)
        self.validation_indices_ = np.sort(valid)
        return X.subset(fit), X.subset(valid)

    def get_iterator(self, dataset, training=False):
        """Mini-batches of a :class:`MoleculeDataset` (shuffled when training)."""
        if training:
            # Data-parallel: the shuffle of a one-process fit, then this process's share.
            select = shard if world_size() > 1 else None
            return dataset.batches(self.batch_size, self.shuffle_rng_, select)
        return dataset.batches(max(self.batch_size, _EVAL_BATCH))

    def infer(self, x, **fit_params):
        parallel = vars(self).get("_data_parallel")
        module = parallel if parallel is not None and self.module_.training else self.module_
        return module(x.to(self.device))

    def train_step(self, batch, **fit_params):
        """One optimizer step; in data-parallel training the loss recorded is the
        mean over the processes (the loss of the whole step)."""
        step = super().train_step(batch, **fit_params)
        if world_size() > 1:
            step["loss"] = mean_over_processes(step["loss"])
        return step

    def get_loss(self, y_pred, y_true, X=None, training=False):
        """The criterion on errors in units of the training targets' standard deviation."""
        scale = self.statistics_.loss_scale.to(y_pred.device)
        return self.criterion_(y_pred / scale, y_true.to(y_pred.device) / scale)

    # -- prediction --------------------------------------------------------------------

    def _network_outputs(self, X: np.ndarray) -> np.ndarray:
        """The network's outputs for validated molecules, featurized in chunks."""
        with torch_cpu_settings(self.n_jobs):
            parts = [
                self.forward(self._featurize(X[start : start + _PREDICT_CHUNK])).numpy()
                for start in range(0, len(X), _PREDICT_CHUNK)
            ]
        return np.concatenate(parts).astype(np.float64)

    def _rows_with_std(self, X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Outputs and calibrated standard deviations of the network's rows (molecules, or
        real atoms for the atomic head), for validated molecules."""
        if getattr(self, "last_layer_", None) is None:
            raise ValueError(
                f"this {type(self).__name__} was fitted with validation_fraction=0, so its "
                "standard deviation has no validation molecules to be calibrated on; refit "
                "with validation_fraction > 0"
            )
        with torch_cpu_settings(self.n_jobs):
            parts = [
                self.last_layer_.predict(self, self._featurize(X[start : start + _PREDICT_CHUNK]))
                for start in range(0, len(X), _PREDICT_CHUNK)
            ]
        y, std = (np.concatenate(part) for part in zip(*parts, strict=True))
        return y, std

    def _checked_input(self, X) -> np.ndarray:
        """Validate molecules to predict for (the caller warns for those outside the domain)."""
        self.check_is_fitted()
        X = check_molecules(X)
        check_elements(X, self.elements_, type(self).__name__)
        return X

    def _per_batch(self, X: np.ndarray, function) -> np.ndarray:
        """``function(network, batch)`` over mini-batches of validated molecules, joined."""
        network = getattr(self.module_, "average", self.module_)
        network.eval()
        parts = []
        with torch_cpu_settings(self.n_jobs), torch.no_grad():
            for start in range(0, len(X), _PREDICT_CHUNK):
                dataset = self._featurize(X[start : start + _PREDICT_CHUNK])
                for batch, _ in dataset.batches(max(self.batch_size, _EVAL_BATCH)):
                    parts.append(function(network, batch.to(self.device)).cpu())
        return torch.cat(parts).numpy().astype(np.float64)

"""ACNRegressor: AtomCloudNet as a scikit-learn / skorch estimator."""

from __future__ import annotations

import os
from contextlib import contextmanager

import numpy as np
import torch
from skorch import NeuralNetRegressor
from skorch.callbacks import EarlyStopping, EpochTimer, LRScheduler, PassthroughScoring, PrintLog
from torch.optim.lr_scheduler import CosineAnnealingLR, ReduceLROnPlateau

from ..molecules import check_molecules
from ._callbacks import StopOnNaN, ValidationMAE
from ._data import MoleculeDataset, featurize
from ._network import ACNModule
from ._potentials import compress, many_body_potentials

#: Molecules featurized at once in ``predict`` (bounds memory).
_PREDICT_CHUNK = 8192
#: Mini-batch size for validation and prediction (no gradients, so larger is faster).
_EVAL_BATCH = 1024


@contextmanager
def _torch_cpu_settings(n_jobs):
    """Run torch with ``n_jobs`` threads and denormal floats flushed to zero.

    ``n_jobs`` follows sklearn: None = 1, -1 = all cores. Softplus units pushed
    far negative during training produce denormal (subnormal) floats, which x86
    CPUs process about 10x slower: without flushing, epochs of a long fit grew
    from 3 s to over 20 s. Values below 1e-38 change nothing else. Both settings
    are process-wide; afterwards the thread count is restored and flushing is
    switched back off (torch's default).
    """
    if n_jobs is None:
        n_jobs = 1
    elif n_jobs < 0:
        n_jobs = max(1, (os.cpu_count() or 1) + 1 + n_jobs)
    before = torch.get_num_threads()
    torch.set_num_threads(n_jobs)
    torch.set_flush_denormal(True)
    try:
        yield
    finally:
        torch.set_flush_denormal(False)
        torch.set_num_threads(before)


class _Batches:
    """Iterate over a :class:`MoleculeDataset` in mini-batches, optionally shuffled."""

    def __init__(self, dataset: MoleculeDataset, batch_size: int, rng=None):
        self.dataset, self.batch_size, self.rng = dataset, batch_size, rng

    def __iter__(self):
        n = len(self.dataset)
        order = self.rng.permutation(n) if self.rng is not None else np.arange(n)
        for start in range(0, n, self.batch_size):
            yield self.dataset.batch(order[start : start + self.batch_size])

    def __len__(self):
        return -(-len(self.dataset) // self.batch_size)


class ACNRegressor(NeuralNetRegressor):
    """AtomCloudNet: a rotation-invariant spherical-harmonic point-convolution network.

    Every atom is embedded by element; an AtomCloud convolution sums, over the
    neighbours within ``radius``, learned radial functions times real spherical
    harmonics of the neighbour directions and contracts them to invariants (a
    learned power spectrum per degree). Per-atom many-body potentials
    ``V_i, V_ij, V_ijk`` are concatenated, a residual block's output is
    concatenated with its input, atoms are pooled per molecule and a small head
    predicts the target(s). Geometry-only quantities (neighbour lists, harmonics,
    radial basis, potentials) are computed once per ``fit``/``predict`` call.

    Parameters
    ----------
    radius : float, default=3.0
        Neighbour cutoff of the AtomCloud convolutions, in Angstrom.
    cloud_order : int, default=3
        Number of spherical-harmonic degrees, ``l = 0 .. cloud_order - 1``.
    n_radial : int, default=12
        Size of the Gaussian radial basis (smoothly cut off at ``radius``).
    embedding_dim : int, default=24
        Atom-type embedding size.
    cloud_channels : int, default=48
        Channels per spherical-harmonic degree of each AtomCloud convolution
        (each gives one invariant per degree, plus one for degree 0).
    n_clouds : int, default=1
        Number of stacked AtomCloud convolutions. The first runs on
        precomputed densities and is cheap; each further one is a sparse
        message pass over the neighbour pairs (about 3x slower training).
    atom_dim : int, default=128
        Width of the per-atom features (the residual block's width).
    hidden_sizes : tuple of two int, default=(128, 64)
        Widths of the two softplus layers of the head.
    pooling : {"sum", "power"}, default="sum"
        ``"sum"``: the head runs on every atom and atom contributions are
        summed (extensive). ``"power"``: power-average pooling
        ``(mean_i |c_i|**pooling_power)**(1 / pooling_power)`` over the real
        atoms, then the head (the paper).
    pooling_power : float, default=2.0
        Power of the power-average pooling (``pooling="power"`` only).
    output : {"linear", "sigmoid"}, default="linear"
        ``"linear"``: per-element linear baseline fitted in ``fit`` plus a
        linear head on the standardised residual. ``"sigmoid"``: sigmoid
        output on the target scaled into (0, 1) with the training range
        widened by 5 % on each side (the paper).
    potentials : bool, default=True
        Concatenate the per-atom many-body potentials to the cloud features.
    element_clouds : bool, default=False
        Give every centre element its own weights in the first AtomCloud
        convolution (radial functions and channel mixing), as
        Behler-Parrinello and SOAP models do. ``False`` shares one set of
        weights across elements (the paper). On QM9 ``True`` was better at
        N = 1,000 and worse at N = 10,000 (``docs/benchmarks/acn.md``).
    lr : float, default=3e-3
        Adam learning rate.
    batch_size : int, default=32
        Training mini-batch size, in molecules.
    max_epochs : int, default=300
    patience : int, default=40
        Early stopping: epochs without a better validation MAE before training
        stops; the best weights are restored.
    lr_schedule : {"plateau", "cosine"}, default="plateau"
        ``"plateau"``: halve the learning rate after ``lr_patience`` epochs
        without a better validation MAE. ``"cosine"``: cosine decay to zero over
        ``max_epochs`` (predictable run time; pair with a large ``patience``).
    lr_patience : int, default=15
        Epochs without improvement before the learning rate is halved
        (``lr_schedule="plateau"``).
    validation_fraction : float, default=0.1
        Share of the training data held out for early stopping and the learning
        rate schedule. ``0`` trains on everything for ``max_epochs`` epochs.
    criterion : torch loss class, default=torch.nn.L1Loss
        Applied to errors divided by the target standard deviation.
    elements : sequence of int or None, default=None
        Nuclear charges the model can take. ``None``: those in the training
        data. Give e.g. ``(1, 6, 7, 8, 9)`` for QM9 when small training sets
        may miss an element that later data holds (its embedding then stays
        untrained).
    device : str, default="cpu"
        Torch device, e.g. ``"cuda"``.
    n_jobs : int or None, default=None
        CPU threads torch uses during ``fit`` and ``predict``; ``None`` means 1,
        ``-1`` all cores. One thread is much faster than several on a machine
        whose cores are shared with other work.
    random_state : int or None, default=None
        Seeds weight initialisation, the validation split and shuffling; with
        an int a CPU fit is reproducible.
    verbose : int, default=0
        ``1`` prints one line per epoch (train loss, validation loss and MAE in
        target units, duration).
    **kwargs
        Further skorch parameters (``optimizer``, ``callbacks``, ...).

    Attributes
    ----------
    elements_ : ndarray of int
        Nuclear charges seen in ``fit``; other elements cannot be predicted.
    n_outputs_ : int
        Number of targets.
    module_ : ACNModule
        The trained network (holds the fitted feature and target statistics).
    history_ : skorch.History
        Per-epoch training record.

    Notes
    -----
    The paper's configuration is ``n_clouds=1, pooling="power",
    pooling_power=2, output="sigmoid", potentials=True, embedding_dim=24,
    cloud_channels=4, n_radial=4, cloud_order=3, radius=3`` (also 4 and 5) with
    ``criterion=torch.nn.MSELoss, lr=5e-4, batch_size=72``. The defaults
    differ where that measured better on QM9 (see ``docs/benchmarks/acn.md``):
    atom-wise sum pooling on top of a per-element linear baseline, 48 cloud
    channels on 12 radial functions, L1 loss.

    Examples
    --------
    >>> from acn_sklearn import ACNRegressor
    >>> model = ACNRegressor(radius=3.0, max_epochs=50, random_state=0)
    >>> model.fit(X, y).predict(X[:5])  # doctest: +SKIP
    """

    def __init__(
        self,
        *,
        radius=3.0,
        cloud_order=3,
        n_radial=12,
        embedding_dim=24,
        cloud_channels=48,
        n_clouds=1,
        atom_dim=128,
        hidden_sizes=(128, 64),
        pooling="sum",
        pooling_power=2.0,
        output="linear",
        potentials=True,
        element_clouds=False,
        lr=3e-3,
        batch_size=32,
        max_epochs=300,
        patience=40,
        lr_schedule="plateau",
        lr_patience=15,
        validation_fraction=0.1,
        criterion=torch.nn.L1Loss,
        elements=None,
        device="cpu",
        n_jobs=None,
        random_state=None,
        verbose=0,
        **kwargs,
    ):
        kwargs.setdefault("module", ACNModule)
        kwargs.setdefault("optimizer", torch.optim.Adam)
        kwargs.setdefault("train_split", None)
        super().__init__(
            criterion=criterion,
            lr=lr,
            batch_size=batch_size,
            max_epochs=max_epochs,
            device=device,
            verbose=verbose,
            **kwargs,
        )
        self.radius = radius
        self.cloud_order = cloud_order
        self.n_radial = n_radial
        self.embedding_dim = embedding_dim
        self.cloud_channels = cloud_channels
        self.n_clouds = n_clouds
        self.atom_dim = atom_dim
        self.hidden_sizes = hidden_sizes
        self.pooling = pooling
        self.pooling_power = pooling_power
        self.output = output
        self.potentials = potentials
        self.element_clouds = element_clouds
        self.patience = patience
        self.lr_schedule = lr_schedule
        self.lr_patience = lr_patience
        self.validation_fraction = validation_fraction
        self.elements = elements
        self.n_jobs = n_jobs
        self.random_state = random_state

    # -- configuration -----------------------------------------------------------------

    @property
    def _default_callbacks(self):
        callbacks = [
            ("epoch_timer", EpochTimer()),
            ("train_loss", PassthroughScoring(name="train_loss", on_train=True)),
            ("stop_on_nan", StopOnNaN()),
        ]
        if self.lr_schedule == "cosine":
            callbacks.append(
                ("lr_scheduler", LRScheduler(CosineAnnealingLR, T_max=self.max_epochs))
            )
        if self.validation_fraction:
            callbacks += [
                ("valid_loss", PassthroughScoring(name="valid_loss")),
                ("valid_mae", ValidationMAE()),
                (
                    "early_stopping",
                    EarlyStopping(
                        monitor="valid_mae", patience=self.patience, threshold=0, load_best=True
                    ),
                ),
            ]
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
        return [*callbacks, ("print_log", PrintLog())]

    def _check_params(self):
        if self.pooling not in ("sum", "power"):
            raise ValueError(f"pooling must be 'sum' or 'power', got {self.pooling!r}")
        if self.lr_schedule not in ("plateau", "cosine"):
            raise ValueError(f"lr_schedule must be 'plateau' or 'cosine', got {self.lr_schedule!r}")
        if self.output not in ("linear", "sigmoid"):
            raise ValueError(f"output must be 'linear' or 'sigmoid', got {self.output!r}")
        if not (isinstance(self.n_clouds, int | np.integer) and self.n_clouds >= 1):
            raise ValueError(f"n_clouds must be an integer >= 1, got {self.n_clouds!r}")
        if not self.radius > 0:
            raise ValueError(f"radius must be positive, got {self.radius!r}")
        if not 0 <= self.validation_fraction < 1:
            raise ValueError(
                f"validation_fraction must be in [0, 1), got {self.validation_fraction!r}"
            )

    def _featurize(self, X, y=None) -> MoleculeDataset:
        return featurize(
            X,
            y,
            elements=self.elements_,
            radius=self.radius,
            cloud_order=self.cloud_order,
            n_radial=self.n_radial,
            keep_pairs=self.n_clouds > 1,
        )

    # -- fitting -----------------------------------------------------------------------

    def fit(self, X, y, **fit_params):
        """Fit the network to molecules ``X`` and targets ``y``.

        Parameters
        ----------
        X : array-like of shape (n_molecules, max_atoms, 4), or sequence
            Molecules in any format :func:`acn_sklearn.molecules.check_molecules`
            accepts.
        y : array-like of shape (n_molecules,) or (n_molecules, n_outputs)
            Target(s).

        Returns
        -------
        self
        """
        self._check_params()
        X = check_molecules(X)
        y = np.asarray(y, dtype=np.float64)
        if y.ndim not in (1, 2) or len(y) != len(X):
            raise ValueError(
                f"y must have shape (n_molecules,) or (n_molecules, n_outputs) with "
                f"n_molecules={len(X)}; got shape {y.shape}"
            )
        if not np.isfinite(y).all():
            bad = np.argwhere(~np.isfinite(y))[0][0]
            raise ValueError(f"y contains NaN or inf (molecule {bad})")
        self.target_ndim_ = y.ndim
        y = y.reshape(len(X), -1)
        self.n_outputs_ = y.shape[1]
        Z = X[:, :, 0].astype(np.int64)
        seen = np.unique(Z[Z > 0])
        self.elements_ = seen if self.elements is None else np.union1d(seen, self.elements)
        with _torch_cpu_settings(self.n_jobs):
            dataset = self._featurize(X, y)
            self.statistics_ = self._statistics(X, Z, y, dataset.arrays["density"])
            if self.random_state is not None:
                torch.manual_seed(self.random_state)
            self.shuffle_rng_ = np.random.default_rng(self.random_state)
            return super().fit(dataset, None, **fit_params)

    def _statistics(self, X, Z, y, density) -> dict[str, torch.Tensor]:
        """Feature and target statistics of the training data, stored in the module."""
        V = compress(many_body_potentials(X))
        # Mean square of each column over the atoms that have a neighbour of its
        # element: over all atoms, a rare element's columns (fluorine) would be
        # inflated by 1 / sqrt(its frequency) and dwarf the others.
        present = density.ne(0).any(dim=1).sum(dim=0).clamp_min(1)  # (n_inputs,)
        squares = density.square().sum(dim=0) / present  # (cloud_order**2, n_inputs)
        degree = torch.repeat_interleave(
            torch.arange(self.cloud_order), 2 * torch.arange(self.cloud_order) + 1
        )
        rms = torch.zeros(self.cloud_order, squares.shape[1]).index_add_(0, degree, squares)
        rms = (rms / (2 * torch.arange(self.cloud_order) + 1)[:, None]).sqrt()
        counts = (Z[:, :, None] == self.elements_).sum(axis=1).astype(np.float64)
        if self.output == "sigmoid":
            low, high = y.min(axis=0), y.max(axis=0)
            margin = 0.05 * np.maximum(high - low, 1e-12)
            baseline = np.zeros((len(self.elements_), y.shape[1]))
            shift, scale = low - margin, high - low + 2 * margin
        else:
            baseline = np.linalg.lstsq(counts, y, rcond=None)[0]
            residual = y - counts @ baseline
            shift, scale = residual.mean(axis=0), residual.std(axis=0)
        stats = {
            "cloud.density_scale": torch.where(rms > 0, rms, torch.ones_like(rms)),
            "potential_mean": V.mean(axis=0),
            "potential_scale": np.maximum(V.std(axis=0), 1e-6),
            "element_baseline": baseline,
            "target_shift": shift,
            "target_scale": np.maximum(scale, 1e-6),
        }
        self.loss_scale_ = torch.as_tensor(np.maximum(y.std(axis=0), 1e-6), dtype=torch.float32)
        return {k: torch.as_tensor(v, dtype=torch.float32) for k, v in stats.items()}

    def initialize_module(self):
        """Build the network for the elements and targets seen in ``fit``."""
        module = ACNModule(
            n_species=len(self.elements_),
            n_outputs=self.n_outputs_,
            n_radial=self.n_radial,
            cloud_order=self.cloud_order,
            embedding_dim=self.embedding_dim,
            cloud_channels=self.cloud_channels,
            n_clouds=self.n_clouds,
            atom_dim=self.atom_dim,
            hidden_sizes=tuple(self.hidden_sizes),
            pooling=self.pooling,
            pooling_power=self.pooling_power,
            output=self.output,
            potentials=self.potentials,
            element_clouds=self.element_clouds,
        )
        for name, value in self.statistics_.items():
            module.get_buffer(name).copy_(value)
        self.module_ = module
        return self

    def get_split_datasets(self, X, y=None, **fit_params):
        """Random train/validation split of the (featurized) training data."""
        if not self.validation_fraction:
            return X, None
        n_valid = max(1, round(self.validation_fraction * len(X)))
        order = np.random.default_rng(self.random_state).permutation(len(X))
        return X.subset(order[n_valid:]), X.subset(order[:n_valid])

    def get_iterator(self, dataset, training=False):
        """Mini-batches of a :class:`MoleculeDataset` (shuffled when training)."""
        if training:
            return _Batches(dataset, self.batch_size, self.shuffle_rng_)
        return _Batches(dataset, max(self.batch_size, _EVAL_BATCH))

    def infer(self, x, **fit_params):
        return self.module_(x.to(self.device))

    def get_loss(self, y_pred, y_true, X=None, training=False):
        """The criterion on errors in units of the training targets' standard deviation."""
        scale = self.loss_scale_.to(y_pred.device)
        return self.criterion_(y_pred / scale, y_true.to(y_pred.device) / scale)

    # -- prediction --------------------------------------------------------------------

    def predict(self, X):
        """Predict the target(s) of molecules ``X``.

        Parameters
        ----------
        X : array-like of shape (n_molecules, max_atoms, 4), or sequence
            Molecules in any accepted format; only elements seen in ``fit``.

        Returns
        -------
        ndarray of shape (n_molecules,) or (n_molecules, n_outputs)
        """
        self.check_is_fitted()
        X = check_molecules(X)
        Z = X[:, :, 0].astype(np.int64)
        unknown = (Z > 0) & ~np.isin(Z, self.elements_)
        if unknown.any():
            i, a = np.argwhere(unknown)[0]
            raise ValueError(
                f"molecule {i}: element Z={Z[i, a]} (atom {a}) was not in the training data; "
                f"this model knows Z in {self.elements_.tolist()}"
            )
        with _torch_cpu_settings(self.n_jobs):
            parts = [
                self.forward(self._featurize(X[start : start + _PREDICT_CHUNK])).numpy()
                for start in range(0, len(X), _PREDICT_CHUNK)
            ]
        y = np.concatenate(parts).astype(np.float64)
        return y.ravel() if self.target_ndim_ == 1 else y

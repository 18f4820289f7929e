"""ACNRegressor: AtomCloudNet as a scikit-learn / skorch estimator.

The estimator validates molecules, featurizes them once (:mod:`._data`), learns
the training statistics (:mod:`._statistics`) and lets skorch run the training
loop over the dataset's own mini-batches.
"""

from __future__ import annotations

import numpy as np
import torch
from skorch import NeuralNetRegressor
from skorch.callbacks import EarlyStopping, EpochTimer, LRScheduler, PassthroughScoring
from torch.optim.lr_scheduler import CosineAnnealingLR, ReduceLROnPlateau

from ..domain import TrainingDomain
from ..molecules import check_elements, check_molecules, check_targets, element_counts, elements_in
from ._callbacks import EpochLog, StopOnNaN, UpdateAverage, ValidationMAE
from ._checkpoint import TrainingCheckpoint, fit_fingerprint
from ._data import MoleculeDataset, featurize
from ._distributed import data_parallel, is_main_process, mean_over_processes, shard, world_size
from ._heads import dipole_vectors, resolve_heads
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
    "neighbour_cloud_order",
    "equivariant_channels",
    "atom_dim",
    "hidden_sizes",
    "pooling",
    "pooling_power",
    "output",
    "potentials",
    "element_clouds",
    "body_order",
    "bispectrum_channels",
)

#: skorch parameters this estimator fixes, and why.
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


def _refuse_fixed(params) -> None:
    for key in params:
        reason = _FIXED_SKORCH_PARAMETERS.get(key.split("__")[0])
        if reason is not None:
            raise ValueError(f"ACNRegressor does not take the skorch parameter {key!r}: {reason}")


class ACNRegressor(NeuralNetRegressor):
    """AtomCloudNet: a rotation-invariant spherical-harmonic point-convolution network.

    Every atom is embedded by element; an AtomCloud convolution sums, over the
    neighbours within ``radius``, learned radial functions times real spherical
    harmonics of the neighbour directions and contracts them to invariants (a
    learned power spectrum per degree). Per-atom many-body potentials
    ``V_i, V_ij, V_ijk`` are concatenated, a residual block's output is
    concatenated with its input, atoms are pooled per molecule and a small head
    predicts the target(s), each through the property head of its kind
    (``head``). Geometry-only quantities (neighbour lists, harmonics, radial
    basis, potentials) are computed once per ``fit``/``predict`` call.

    Parameters
    ----------
    head : str or sequence of str, default="auto"
        How the atoms' outputs become each target (``pooling="sum"`` and
        ``output="linear"`` only):

        - ``"extensive"``: their sum, on top of a per-element linear baseline
          (energies; what every target got before heads existed);
        - ``"intensive"``: their attention-weighted mean, the weights a softmax
          over the molecule's atoms of learned scores (``homo``, ``lumo``,
          ``gap``): a molecule and two far-apart copies of it get the same
          prediction;
        - ``"dipole"``: latent atomic charges, shifted equally to sum to zero
          (molecules are taken as neutral), and the norm of their dipole about
          the centre of mass, in Debye for coordinates in Angstrom (``mu``; the
          charges and the vector: :meth:`predict_charges`,
          :meth:`predict_dipole`);
        - ``"spatial_extent"``: positive latent electron populations ``p_i``
          (a softplus) and ``sum_i p_i |r_i - r_c|^2`` about the centre of mass,
          in bohr^2 (``r2``);
        - ``"auto"``: the head of each target's kind in
          :data:`acn_sklearn.datasets.TARGET_KINDS`, by the names in ``target``
          (the rotational constants ``A, B, C`` get the intensive head);
          extensive when ``target`` is None.

        One name applies to every output; a sequence gives one per output
        column. With ``pooling="power"`` or ``output="sigmoid"`` the network
        pools atom features into one molecular vector first, and ``head`` must
        be ``"auto"``.
    target : str, sequence of str or None, default=None
        The QM9 name of the target (of every column of a 2-D y), read by
        ``head="auto"``: ``ACNRegressor(target="mu")`` fits a dipole moment.
    radius : float, default=3.0
        Neighbour cutoff of the AtomCloud convolutions, in Angstrom.
    cloud_order : int, default=4
        Number of spherical-harmonic degrees, ``l = 0 .. cloud_order - 1``
        (the paper used 3; 4 measured better on QM9 at N = 1,000 and 10,000).
    n_radial : int, default=12
        Size of the radial basis (smoothly cut off at ``radius``).
    radial_basis : {"bessel", "gaussian"}, default="bessel"
        The spherical Bessel functions ``sin(k pi r / radius) / r`` times a
        polynomial envelope (as in DimeNet, NequIP and MACE), or Gaussians
        centred evenly on ``[0, radius]`` times a cosine envelope (the default
        before the Bessel functions measured better on QM9; see
        ``docs/benchmarks/acn.md``).
    embedding_dim : int, default=24
        Atom-type embedding size.
    cloud_channels : int, default=48
        Channels per spherical-harmonic degree of each AtomCloud convolution
        (each gives one invariant per degree, plus one for degree 0).
    n_clouds : int, default=1
        Number of stacked AtomCloud convolutions. The first runs on
        precomputed densities and is cheap; each further one is a sparse
        message pass over the neighbour pairs (about 3x slower training).
    neighbour_cloud_order : int or None, default=None
        Number of spherical-harmonic degrees of the further convolutions
        (used only with ``n_clouds > 1``), at most ``cloud_order``; None:
        ``cloud_order``. The paper's "different cloud orders": 1 makes them
        invariant message passes (radial filters only, as in SchNet), whose cost
        is that of one degree.
    equivariant_channels : int, default=0
        If positive, a convolution after the first that passes that many
        channels of the first one's equivariant (``l > 0``) features from each
        neighbour to the centre and couples them with the bond direction and
        with the centre's own (tensor-product paths to invariants, as NequIP
        and MACE do): it sees how two neighbourhoods are oriented to each
        other, such as dihedral angles. 0: none (the paper).
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
        weights across elements (the paper). How each choice measured on QM9:
        ``docs/benchmarks/acn.md``.
    body_order : {3, 4}, default=3
        Invariants of the first AtomCloud convolution: 3, a learned power
        spectrum (products of two neighbour densities: 3-body terms); 4, also a
        learned bispectrum (three densities coupled by Clebsch-Gordan
        coefficients: 4-body terms, as in ACE and MACE).
    bispectrum_channels : int, default=16
        Channels of the bispectrum (``body_order=4``), each the product of one
        learned density with itself twice, per degree triple.
    ema_decay : float or None, default=None
        If set, the network validates and predicts with the exponential moving
        average of its weights (updated after every step with this decay, e.g.
        0.999), as NequIP and MACE do; None uses the weights themselves.
    lr : float, default=3e-3
        Learning rate of the optimizer: by default AdamW with decoupled weight
        decay ``optimizer__weight_decay=0.1``, which measured better than Adam
        without it at N = 1,000 and 10,000 (``docs/benchmarks/acn.md``). Pass
        ``optimizer`` (a ``torch.optim`` class) to use another; its
        ``optimizer__`` parameters then start from that class's defaults.
    batch_size : int, default=32
        Training mini-batch size, in molecules.
    max_epochs : int, default=500
        Most epochs a fit runs. With the default schedule a fit at N = 10,000
        runs all of them, the last ones at a learning rate near zero where the
        validation MAE still improves (500 against 300 epochs measured 3.9 %
        better over four seeds, ``docs/benchmarks/acn.md``).
    patience : int, default=60
        Early stopping: epochs without a better validation MAE before training
        stops; the best weights are restored.
    lr_schedule : {"plateau", "cosine"}, default="plateau"
        ``"plateau"``: halve the learning rate after ``lr_patience`` epochs
        without a better validation MAE. ``"cosine"``: cosine decay to zero over
        ``max_epochs`` (predictable run time; pair with a large ``patience``).
    lr_patience : int, default=25
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
    checkpoint_dir : str, path-like or None, default=None
        Folder where ``fit`` saves its state after every epoch (one file,
        replaced atomically), so that a fit stopped by Ctrl-C, a kill or a
        reboot resumes: calling ``fit`` again with the same data and parameters
        restores the state and trains only the epochs left, ending with the
        epochs and weights of an uninterrupted fit. A fit that ended (all
        epochs, or early stopping) stays saved as finished, and fitting again
        returns it without training. A checkpoint of other data or parameters
        (``verbose``, ``device``, ``n_jobs`` and ``callbacks`` aside) is an
        error: remove it or use another folder. ``None`` saves nothing.
    verbose : int, default=0
        ``1`` prints one line per epoch (train loss, validation loss and MAE in
        target units, duration, and the time left if all ``max_epochs`` run),
        coloured only on a terminal.
    **kwargs
        Further skorch parameters: ``optimizer`` and ``optimizer__*``,
        ``criterion__*``, ``callbacks`` and ``callbacks__*``, ``use_caching``,
        ``torch_load_kwargs``. The estimator builds its own network, batches and
        validation split and always fits from scratch (or from its
        ``checkpoint_dir``), so skorch's ``module``, ``train_split``,
        ``iterator_train``, ``iterator_valid``, ``dataset``,
        ``predict_nonlinearity``, ``compile`` and ``warm_start`` (and their
        ``__`` parameters) are refused.

    Attributes
    ----------
    elements_ : ndarray of int
        Nuclear charges seen in ``fit``; other elements cannot be predicted.
    n_outputs_ : int
        Number of targets.
    heads_ : tuple of str
        The head of every output (see ``head``).
    module_ : ACNModule or AveragedNetwork
        The trained network (holds the fitted feature and target statistics);
        with ``ema_decay``, the network and its average.
    statistics_ : TrainingStatistics
        Feature and target statistics of the training data.
    training_domain_ : TrainingDomain
        What the training molecules covered (see :mod:`acn_sklearn.domain`),
        and the level of uncertainty of the validation molecules.
    validation_indices_ : ndarray of int
        The training molecules held out for early stopping (none with
        ``validation_fraction=0``).
    last_layer_ : LastLayerPosterior
        Only with a validation split: the Bayesian linear model of the last
        layer that gives ``predict(X, return_std=True)`` its standard deviation,
        fitted on the training split and calibrated on the validation split.
    history_ : skorch.History
        Per-epoch training record.

    Notes
    -----
    The paper's configuration is ``n_clouds=1, pooling="power",
    pooling_power=2, output="sigmoid", potentials=True, embedding_dim=24,
    cloud_channels=4, n_radial=4, cloud_order=3, radius=3`` (also 4 and 5),
    ``radial_basis="gaussian"`` (the paper's code used 4 cosines) with
    ``criterion=torch.nn.MSELoss, optimizer=torch.optim.Adam, lr=5e-4,
    batch_size=72``. The defaults differ where that measured better on QM9 (see
    ``docs/benchmarks/acn.md``): atom-wise sum pooling on top of a per-element
    linear baseline, degrees 0-3 (``cloud_order=4``), 48 cloud channels on 12
    Bessel radial functions, L1 loss, AdamW with weight decay 0.1.

    Data-parallel training: when :mod:`torch.distributed` is initialised (one
    process per device, started by ``torchrun``), ``fit`` wraps the network in
    :class:`~torch.nn.parallel.DistributedDataParallel` and each process trains
    on its :class:`~torch.utils.data.DistributedSampler` share of every epoch's
    shuffle: K processes with ``batch_size=b`` take the steps of one with
    ``K * b``. Statistics and validation are computed in full on every process
    (an int ``random_state`` is required, so that they agree); only rank 0
    prints and saves checkpoints. See ``docs/scaling.rst``.

    Examples
    --------
    >>> from acn_sklearn import ACNRegressor
    >>> model = ACNRegressor(radius=3.0, max_epochs=50, random_state=0)
    >>> model.fit(X, y).predict(X[:5])  # doctest: +SKIP
    """

    # The fixed skorch parameters live on the class, so skorch finds them while
    # get_params() (which lists instance attributes) does not offer them.
    module = ACNModule
    train_split = None
    iterator_train = iterator_valid = dataset = None
    predict_nonlinearity = None
    compile = False
    warm_start = False
    _module_parameters = _MODULE_PARAMETERS

    def __init__(
        self,
        *,
        head="auto",
        target=None,
        radius=3.0,
        cloud_order=4,
        n_radial=12,
        radial_basis="bessel",
        embedding_dim=24,
        cloud_channels=48,
        n_clouds=1,
        neighbour_cloud_order=None,
        equivariant_channels=0,
        atom_dim=128,
        hidden_sizes=(128, 64),
        pooling="sum",
        pooling_power=2.0,
        output="linear",
        potentials=True,
        element_clouds=False,
        body_order=3,
        bispectrum_channels=16,
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
        verbose=0,
        **kwargs,
    ):
        _refuse_fixed(kwargs)
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
        self.head = head
        self.target = target
        self.radius = radius
        self.cloud_order = cloud_order
        self.n_radial = n_radial
        self.radial_basis = radial_basis
        self.embedding_dim = embedding_dim
        self.cloud_channels = cloud_channels
        self.n_clouds = n_clouds
        self.neighbour_cloud_order = neighbour_cloud_order
        self.equivariant_channels = equivariant_channels
        self.atom_dim = atom_dim
        self.hidden_sizes = hidden_sizes
        self.pooling = pooling
        self.pooling_power = pooling_power
        self.output = output
        self.potentials = potentials
        self.element_clouds = element_clouds
        self.body_order = body_order
        self.bispectrum_channels = bispectrum_channels
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
        """Set parameters (the fixed skorch parameters are refused, see ``**kwargs``)."""
        _refuse_fixed(params)
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
        if self.checkpoint_dir is not None:
            callbacks.append(("checkpoint", TrainingCheckpoint(self.checkpoint_dir)))
        if is_main_process():
            callbacks.append(("print_log", EpochLog()))
        return callbacks

    def _check_params(self):
        if self.pooling not in ("sum", "power"):
            raise ValueError(f"pooling must be 'sum' or 'power', got {self.pooling!r}")
        if self.lr_schedule not in ("plateau", "cosine"):
            raise ValueError(f"lr_schedule must be 'plateau' or 'cosine', got {self.lr_schedule!r}")
        if self.radial_basis not in ("bessel", "gaussian"):
            raise ValueError(
                f"radial_basis must be 'bessel' or 'gaussian', got {self.radial_basis!r}"
            )
        if self.output not in ("linear", "sigmoid"):
            raise ValueError(f"output must be 'linear' or 'sigmoid', got {self.output!r}")
        if not (isinstance(self.n_clouds, int | np.integer) and self.n_clouds >= 1):
            raise ValueError(f"n_clouds must be an integer >= 1, got {self.n_clouds!r}")
        order = self.neighbour_cloud_order
        if order is not None and (
            isinstance(order, bool)
            or not isinstance(order, int | np.integer)
            or not 1 <= order <= self.cloud_order
        ):
            raise ValueError(
                f"neighbour_cloud_order must be None or an integer from 1 to cloud_order="
                f"{self.cloud_order}, got {order!r}"
            )
        channels = self.equivariant_channels
        if isinstance(channels, bool) or not (
            isinstance(channels, int | np.integer) and channels >= 0
        ):
            raise ValueError(f"equivariant_channels must be an integer >= 0, got {channels!r}")
        if not self.radius > 0:
            raise ValueError(f"radius must be positive, got {self.radius!r}")
        if self.body_order not in (3, 4):
            raise ValueError(f"body_order must be 3 or 4, got {self.body_order!r}")
        if self.ema_decay is not None and not 0 < self.ema_decay < 1:
            raise ValueError(f"ema_decay must be in (0, 1) or None, got {self.ema_decay!r}")
        if (self.pooling != "sum" or self.output != "linear") and not (
            isinstance(self.head, str) and self.head == "auto"
        ):
            raise ValueError(
                f"head={self.head!r} needs pooling='sum' and output='linear'; pooling="
                f"{self.pooling!r} with output={self.output!r} predicts every target from "
                "features pooled over the molecule: leave head='auto'"
            )
        if not 0 <= self.validation_fraction < 1:
            raise ValueError(
                f"validation_fraction must be in [0, 1), got {self.validation_fraction!r}"
            )
        if world_size() > 1 and self.random_state is None:
            raise ValueError(
                "data-parallel training (torch.distributed is initialised) needs an int "
                "random_state: every process must draw the same validation split and batches"
            )

    def _featurize(self, X, y=None) -> MoleculeDataset:
        return featurize(
            X,
            y,
            elements=self.elements_,
            radius=self.radius,
            cloud_order=self.cloud_order,
            n_radial=self.n_radial,
            radial_basis=self.radial_basis,
            keep_pairs=self.n_clouds > 1 or self.equivariant_channels > 0,
            per_atom=self.heads_ == ("atomic",),
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
        **fit_params
            Passed to :meth:`skorch.NeuralNet.partial_fit`.

        Returns
        -------
        self
        """
        self._check_params()
        X = check_molecules(X)
        y = check_targets(y, len(X))
        self.target_ndim_ = y.ndim
        y = y.reshape(len(X), -1)
        self.n_outputs_ = y.shape[1]
        if self.pooling == "sum" and self.output == "linear":
            self.heads_ = resolve_heads(self.head, self.target, self.n_outputs_)
        else:
            self.heads_ = ("extensive",) * self.n_outputs_
        return self._fit(X, y, **fit_params)

    def _fit(self, X: np.ndarray, y: np.ndarray, **fit_params):
        """Fit validated molecules to validated targets, one row per molecule or, for
        the atomic head, per real atom (``n_outputs_`` and ``heads_`` already set)."""
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
                output=self.output,
                heads=self.heads_,
            )
            if self.random_state is not None:
                torch.manual_seed(self.random_state)
            self.shuffle_rng_ = np.random.default_rng(self.random_state)
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

    def initialize_module(self):
        """Build the network for the elements and targets seen in ``fit``."""
        network = ACNModule(
            n_species=len(self.elements_),
            n_outputs=self.n_outputs_,
            heads=self.heads_,
            **{name: getattr(self, name) for name in self._module_parameters},
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
        n_valid = max(1, round(self.validation_fraction * len(X)))
        order = np.random.default_rng(self.random_state).permutation(len(X))
        self.validation_indices_ = np.sort(order[:n_valid])
        return X.subset(order[n_valid:]), X.subset(order[:n_valid])

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

    def predict(self, X, return_std=False):
        """Predict the target(s) of molecules ``X``.

        Parameters
        ----------
        X : array-like of shape (n_molecules, max_atoms, 4), or sequence
            Molecules in any accepted format; only elements the model accepts
            (``elements_``).
        return_std : bool, default=False
            Also return the standard deviation of each prediction, from a
            Bayesian linear model of the network's last layer calibrated on
            the validation split (:mod:`acn_sklearn.acn._uncertainty`), and
            warn about molecules whose uncertainty is far above that of the
            validation molecules.

        Returns
        -------
        y : ndarray of shape (n_molecules,) or (n_molecules, n_outputs)
        y_std : ndarray of the shape of y, only with ``return_std=True``

        Raises
        ------
        ValueError
            With ``return_std=True`` for a model fitted without a validation
            split (``validation_fraction=0``), which has nothing to calibrate on.

        Warns
        -----
        DomainWarning
            For molecules outside the training domain (more heavy atoms than every
            training molecule, or with an element or bonded element pair never
            seen in training), naming them; they are predicted all the same.
        """
        X = self._checked_input(X)
        if return_std:
            return self._predict_with_std(X)
        self.training_domain_.warn(X, type(self).__name__)
        y = self._network_outputs(X)
        return y.ravel() if self.target_ndim_ == 1 else y

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

    def _predict_with_std(self, X):
        y, std = self._rows_with_std(X)
        self.training_domain_.warn(X, type(self).__name__, std)
        return (y.ravel(), std.ravel()) if self.target_ndim_ == 1 else (y, std)

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

    def _dipole_column(self) -> int:
        dipoles = [k for k, head in enumerate(self.heads_) if head == "dipole"]
        if len(dipoles) != 1:
            raise ValueError(
                f"this model has {len(dipoles)} dipole head(s) (heads_ = {self.heads_}); "
                "charges and dipole vectors need exactly one"
            )
        return dipoles[0]

    def predict_charges(self, X) -> np.ndarray:
        """The dipole head's latent atomic charges, in e.

        They sum to zero over every molecule (to float precision) and give the
        predicted dipole moment.

        Parameters
        ----------
        X : array-like of shape (n_molecules, max_atoms, 4), or sequence
            Molecules in any accepted format.

        Returns
        -------
        ndarray of shape (n_molecules, max_atoms)
            One charge per atom of the canonical array of ``X``, zero at padding.

        Raises
        ------
        ValueError
            Unless exactly one output has the dipole head.
        """
        k = self._dipole_column()
        X = self._checked_input(X)
        self.training_domain_.warn(X, type(self).__name__)
        charges = np.zeros(X.shape[:2])
        charges[X[:, :, 0] > 0] = self._per_batch(X, lambda net, b: net.charges(b)[:, k])
        return charges

    def predict_dipole(self, X) -> np.ndarray:
        """The dipole head's dipole vectors about the centre of mass, in Debye.

        Their norms are the predictions of the dipole output; they rotate with
        the molecule.

        Parameters
        ----------
        X : array-like of shape (n_molecules, max_atoms, 4), or sequence
            Molecules in any accepted format, coordinates in Angstrom.

        Returns
        -------
        ndarray of shape (n_molecules, 3)

        Raises
        ------
        ValueError
            Unless exactly one output has the dipole head.
        """
        k = self._dipole_column()
        X = self._checked_input(X)
        self.training_domain_.warn(X, type(self).__name__)
        return self._per_batch(X, lambda net, b: dipole_vectors(net.charges(b), b)[:, k])

"""ACNRegressor: AtomCloudNet for molecular properties, a scikit-learn / skorch estimator."""

from __future__ import annotations

from numbers import Real
from typing import ClassVar

import numpy as np
from sklearn.utils._param_validation import Interval, StrOptions

from ..molecules import check_molecules, check_targets
from ._base import ACNBase
from ._heads import dipole_vectors, resolve_heads


class ACNRegressor(ACNBase):
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
          (energies);
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
        centred evenly on ``[0, radius]`` times a cosine envelope (which
        measured worse on QM9; see ``docs/benchmarks/decisions.md``).
    embedding_dim : int, default=24
        Atom-type embedding size.
    cloud_channels : int, default=48
        Channels per spherical-harmonic degree of each AtomCloud convolution
        (each gives one invariant per degree, plus one for degree 0).
    n_clouds : int, default=1
        Number of stacked AtomCloud convolutions. The first runs on
        precomputed densities and is cheap; each further one is a sparse
        message pass over the neighbour pairs (about 3x slower training).
    n_interactions : int, default=0
        Number of interaction layers after the first atom layer (message
        passing as in PaiNN): each updates the atom features from the
        neighbours' features over the precomputed pairs, with scalar features
        and vector features (``cloud_channels`` of them, started from the
        first cloud's degree-1 channels) that rotate with the molecule, radial
        filters linear in the radial basis (zero at ``radius``), neighbour
        sums divided by the training atoms' mean number of neighbours, and
        gated updates that start as the identity; predictions stay invariant.
        ``0`` is the network without them. Needs ``cloud_order >= 2``. Each
        layer makes a training epoch about 1.3-1.5x as long again as the
        network without it; at N = 1,000 they have not scored better (see
        ``docs/benchmarks/acn_interactions.md``).
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
    ema_decay : float or None, default=None
        If set, the network validates and predicts with the exponential moving
        average of its weights (updated after every step with this decay, e.g.
        0.999), as NequIP and MACE do; None uses the weights themselves.
    lr : float, default=3e-3
        Learning rate of the optimizer: by default AdamW with decoupled weight
        decay ``optimizer__weight_decay=0.1``, which measured better than Adam
        without it at N = 1,000 and 10,000 (``docs/benchmarks/decisions.md``). Pass
        ``optimizer`` (a ``torch.optim`` class) to use another; its
        ``optimizer__`` parameters then start from that class's defaults.
    batch_size : int, default=32
        Training mini-batch size, in molecules.
    max_epochs : int, default=500
        Most epochs a fit runs. With the default schedule a fit at N = 10,000
        runs all of them, the last ones at a learning rate near zero where the
        validation MAE still improves (500 against 300 epochs measured 3.9 %
        better over four seeds, ``docs/benchmarks/decisions.md``).
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
    verbose : int, default=1
        ``1``: a fit longer than 10 seconds prints a progress line to standard
        error every 10 seconds (epoch, validation MAE, time spent and left) and
        one when it ends. ``2``: one line per epoch on standard output (train
        loss, validation loss and MAE in target units, duration, and the time
        left if all ``max_epochs`` run), coloured only on a terminal. ``0``:
        nothing.
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
    interrupted_ : bool
        Whether Ctrl-C (a ``KeyboardInterrupt``) ended the last fit. The fit
        then keeps the weights of its best validation epoch so far (with
        ``validation_fraction=0``, those it had when interrupted), and says so
        unless ``verbose=0``.

    Notes
    -----
    The paper's configuration is ``n_clouds=1, pooling="power",
    pooling_power=2, output="sigmoid", potentials=True, embedding_dim=24,
    cloud_channels=4, n_radial=4, cloud_order=3, radius=3`` (also 4 and 5),
    ``radial_basis="gaussian"`` (the paper's code used 4 cosines) with
    ``criterion=torch.nn.MSELoss, optimizer=torch.optim.Adam, lr=5e-4,
    batch_size=72``. The defaults differ where that measured better on QM9 (see
    ``docs/benchmarks/decisions.md``): atom-wise sum pooling on top of a per-element
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

    _parameter_constraints: ClassVar[dict] = {
        **ACNBase._parameter_constraints,
        "head": [str, list, tuple],
        "target": [str, list, tuple, None],
        "pooling": [StrOptions({"sum", "power"})],
        "pooling_power": [Interval(Real, 0, None, closed="neither")],
        "output": [StrOptions({"linear", "sigmoid"})],
    }

    def __init__(
        self,
        *,
        head="auto",
        target=None,
        pooling="sum",
        pooling_power=2.0,
        output="linear",
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.head = head
        self.target = target
        self.pooling = pooling
        self.pooling_power = pooling_power
        self.output = output

    def _check_params(self):
        super()._check_params()
        if (self.pooling != "sum" or self.output != "linear") and not (
            isinstance(self.head, str) and self.head == "auto"
        ):
            raise ValueError(
                f"head={self.head!r} needs pooling='sum' and output='linear'; pooling="
                f"{self.pooling!r} with output={self.output!r} predicts every target from "
                "features pooled over the molecule: leave head='auto'"
            )

    def _own_module_parameters(self) -> dict:
        return {"pooling": self.pooling, "pooling_power": self.pooling_power, "output": self.output}

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
        return self._fit(X, y, output=self.output, **fit_params)

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

    def _predict_with_std(self, X):
        y, std = self._rows_with_std(X)
        self.training_domain_.warn(X, type(self).__name__, std)
        return (y.ravel(), std.ravel()) if self.target_ndim_ == 1 else (y, std)

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

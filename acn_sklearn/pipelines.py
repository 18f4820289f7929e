"""Model factories: a representation and kernel ridge regression in one Pipeline.

SLATM and FCHL19 choose their kernel's sigma and alpha from the training data
itself, by closed-form leave-one-out (``sigma="auto", alpha="auto"``), so each is
at its best at every N; CM keeps the values 5-fold cross-validation chose at
N = 4,000, which leave-one-out reproduces at every N for several times the cost
(``docs/benchmarks/kernels.md``).
Neither ever looks at a test set. Every parameter stays
reachable by its nested name (``krr__sigma``, ``cm__sorting``, ``slatm__rcut``...),
so ``GridSearchCV`` and Optuna searches work as for any sklearn pipeline.

:class:`ElementBaselinePipeline` validates the molecules once per ``fit`` and
``predict`` and hands the checked array to its steps
(:func:`acn_sklearn.molecules.checked`).
"""

from __future__ import annotations

from typing import ClassVar

import numpy as np
from sklearn.metrics import r2_score
from sklearn.pipeline import Pipeline
from sklearn.utils._param_validation import StrOptions
from sklearn.utils.validation import check_is_fitted

from .datasets import QM9_MAX_ATOMS, TARGET_KINDS
from .domain import TrainingDomain
from .kernel_ridge import AtomKernelRidge, KernelRidgeRegressor, NystroemKernelRidge
from .molecules import (
    check_molecules,
    check_targets,
    checked,
    element_baseline,
    element_counts,
    elements_in,
)
from .representations import FCHL19, SLATM, CoulombMatrix

__all__ = [
    "ElementBaselinePipeline",
    "make_cm_krr",
    "make_cm_nystroem",
    "make_fchl19_atom_krr",
    "make_fchl19_krr",
    "make_slatm_krr",
    "make_slatm_nystroem",
]


#: Target kinds that grow with the atoms, for which ``baseline="auto"`` counts elements.
_SUMMED_KINDS = {"extensive", "spatial_extent"}


class ElementBaselinePipeline(Pipeline):
    """A molecule Pipeline that learns y minus a per-element linear baseline.

    Before the steps are fitted, ``y`` is fitted by least squares to the number
    of atoms of each element plus a constant (a "dressed atom" model); the steps
    learn the rest, and predictions add the baseline back. A sum over atoms
    suits extensive targets (energies); for intensive ones (HOMO, LUMO, gap) a
    molecule of more atoms is not more of anything, and the baseline is their
    mean instead. Everything else is a :class:`sklearn.pipeline.Pipeline`:
    nested parameters (``krr__sigma``), slicing, ``memory``.

    Parameters
    ----------
    steps : list of (str, estimator)
        A representation transformer, then a regressor; or only a regressor
        of molecules (:func:`make_cm_nystroem`).
    baseline : {"auto", "elements", "mean"} or None, default="auto"
        ``"elements"``: the per-element baseline for every target; ``"mean"``:
        the training mean; ``"auto"``: per target from its kind
        (:data:`~acn_sklearn.datasets.TARGET_KINDS` of ``target``), the
        per-element baseline for extensive targets and the spatial extent r2
        (which grows with the molecule), the mean for the others;
        None: a plain Pipeline.
    target : str or list of str, default=None
        The QM9 names of y's columns (one name for 1-D y), read by
        ``baseline="auto"``; None: every target is taken as extensive.
    transform_input, memory, verbose
        As for :class:`sklearn.pipeline.Pipeline`.

    Attributes
    ----------
    baseline_elements_ : ndarray of int
        Elements counted by the baseline (those of the training molecules).
    baseline_coef_ : ndarray of shape (n_elements + 1,) or (n_elements + 1, n_targets)
        Energy per atom of each element, then the constant; for a target with
        the mean baseline, zeros then the mean; all zeros with ``baseline=None``.
    baseline_kinds_ : list of str
        ``"elements"`` or ``"mean"``, the baseline of each target (empty with
        ``baseline=None``).
    training_domain_ : TrainingDomain
        What the training molecules covered, and, when the last step
        calibrates its standard deviation on leave-one-out molecules
        (``loo_std_``), the level above which a molecule's uncertainty is far
        above theirs; ``predict`` warns (a
        :class:`~acn_sklearn.domain.DomainWarning`) for molecules outside it.
    """

    _parameter_constraints: ClassVar[dict] = {
        **Pipeline._parameter_constraints,
        "baseline": [StrOptions({"auto", "elements", "mean"}), None],
        "target": [str, list, tuple, None],
    }

    def __init__(
        self,
        steps,
        *,
        baseline="auto",
        target=None,
        transform_input=None,
        memory=None,
        verbose=False,
    ):
        super().__init__(steps, transform_input=transform_input, memory=memory, verbose=verbose)
        self.baseline = baseline
        self.target = target

    def _baseline_kinds(self, y):
        """``"elements"`` or ``"mean"`` for each column of y."""
        n_targets = 1 if y.ndim == 1 else y.shape[1]
        if self.baseline != "auto":
            return [self.baseline] * n_targets
        if self.target is None:
            return ["elements"] * n_targets
        names = [self.target] if isinstance(self.target, str) else list(self.target)
        if len(names) != n_targets or isinstance(self.target, str) != (y.ndim == 1):
            raise ValueError(
                f"target={self.target!r} must name each column of y, which has shape {y.shape}"
            )
        unknown = [name for name in names if name not in TARGET_KINDS]
        if unknown:
            raise ValueError(f"unknown QM9 target(s) {unknown} in target")
        kinds = [TARGET_KINDS[name] for name in names]
        return ["elements" if kind in _SUMMED_KINDS else "mean" for kind in kinds]

    def _design(self, X):
        return np.column_stack([element_counts(X, self.baseline_elements_), np.ones(len(X))])

    def _baseline(self, X):
        if self.baseline is None:
            return 0.0
        return self._design(X) @ self.baseline_coef_

    def fit(self, X, y, **params):
        """Fit the baseline, then the steps on what it leaves of y.

        Parameters
        ----------
        X : array-like of shape (n_molecules, max_atoms, 4), or sequence
            Training molecules.
        y : array-like of shape (n_molecules,) or (n_molecules, n_targets)
        **params
            Passed to :meth:`sklearn.pipeline.Pipeline.fit`.

        Returns
        -------
        self : ElementBaselinePipeline
        """
        self._validate_params()
        X = check_molecules(X)
        y = check_targets(y, len(X))
        self.baseline_elements_ = elements_in(X)
        self.baseline_kinds_ = [] if self.baseline is None else self._baseline_kinds(y)
        design = self._design(X)
        columns = y.reshape(len(y), -1)
        coef = np.zeros((design.shape[1], columns.shape[1]))
        for j, kind in enumerate(self.baseline_kinds_):
            if kind == "elements":
                coef[:, j] = element_baseline(design, columns[:, j])
            else:
                coef[-1, j] = columns[:, j].mean()
        self.baseline_coef_ = coef.reshape(design.shape[1], *y.shape[1:])
        domain = TrainingDomain.of(X)
        with checked(X):
            super().fit(X, y - self._baseline(X), **params)
        calibration_std = getattr(self._final_estimator, "loo_std_", None)
        if calibration_std is not None:
            domain = domain.with_std_limit(calibration_std)
        self.training_domain_ = domain
        return self

    def predict(self, X, return_std=False, **params):
        """Predict y: the steps' prediction plus the baseline.

        Parameters
        ----------
        X : array-like of shape (n_molecules, max_atoms, 4), or sequence
        return_std : bool, default=False
            Also return the last step's standard deviation of each prediction
            (the baseline, fitted by least squares on many molecules, adds
            none), and warn about molecules whose uncertainty is far above that
            of the leave-one-out molecules.
        **params
            Passed to :meth:`sklearn.pipeline.Pipeline.predict`.

        Returns
        -------
        y : ndarray of shape (n_molecules,) or (n_molecules, n_targets)
        y_std : ndarray of the shape of y, only with ``return_std=True``
        """
        check_is_fitted(self, "baseline_coef_")
        X = check_molecules(X)
        with checked(X):
            if return_std:
                params["return_std"] = True
            prediction = super().predict(X, **params)
        y, std = prediction if return_std else (prediction, None)
        self.training_domain_.warn(X, f"{type(self.steps[0][1]).__name__} model", std)
        y = y + self._baseline(X)
        return (y, std) if return_std else y

    def score(self, X, y, sample_weight=None, **params):
        """R^2 of :meth:`predict` (the baseline included).

        Parameters
        ----------
        X : array-like of shape (n_molecules, max_atoms, 4), or sequence
        y : array-like of shape (n_molecules,) or (n_molecules, n_targets)
        sample_weight : array-like of shape (n_molecules,), default=None
        **params
            Passed to :meth:`predict`.

        Returns
        -------
        float
        """
        return r2_score(y, self.predict(X, **params), sample_weight=sample_weight)


def make_cm_krr(**params) -> ElementBaselinePipeline:
    """Coulomb matrix + Laplacian kernel ridge regression (the paper's baseline).

    Parameters
    ----------
    **params
        Nested parameters set on the pipeline, e.g. ``krr__sigma=3000``,
        ``cm__n_jobs=2``, ``cm__memory="cache/"``.

    Returns
    -------
    ElementBaselinePipeline
        Steps ``cm``: ``CoulombMatrix(size=29)`` (row-norm sorted; 29 atoms, the
        largest QM9 molecule, so test molecules larger than every training
        molecule are represented alike; ``cm__size=None`` learns the size from
        the training molecules; a molecule of more atoms is represented at its
        own size and predicted with a ``DomainWarning``, see
        :class:`~acn_sklearn.CoulombMatrix`) and ``krr``:
        ``KernelRidgeRegressor(kernel="laplacian", sigma=4000, alpha=1e-8)``,
        after the per-element baseline (the cross-validated choices are in
        ``docs/benchmarks/kernels.md``).

    Examples
    --------
    >>> from acn_sklearn import make_cm_krr
    >>> model = make_cm_krr(krr__sigma=1000.0)
    >>> model.get_params()["krr__kernel"]
    'laplacian'
    """
    model = ElementBaselinePipeline(
        [
            ("cm", CoulombMatrix(size=QM9_MAX_ATOMS)),
            ("krr", KernelRidgeRegressor(kernel="laplacian", sigma=4000.0, alpha=1e-8)),
        ]
    )
    return model.set_params(**params)


def make_slatm_krr(**params) -> ElementBaselinePipeline:
    """Global SLATM + Gaussian kernel ridge regression (the paper's state of the art).

    Parameters
    ----------
    **params
        Nested parameters set on the pipeline, e.g. ``krr__sigma=500``,
        ``slatm__n_jobs=2``, ``slatm__memory="cache/"``.

    Returns
    -------
    ElementBaselinePipeline
        Steps ``slatm``: ``SLATM()`` and ``krr``:
        ``KernelRidgeRegressor(kernel="gaussian", sigma="auto", alpha="auto",
        baseline=None)``, after the per-element baseline: sigma and alpha are
        chosen by leave-one-out on the training molecules (the chosen values
        are ``model[-1].sigma_`` and ``alpha_``; ``docs/benchmarks/kernels.md``).
    """
    model = ElementBaselinePipeline(
        [
            ("slatm", SLATM()),
            (
                "krr",
                KernelRidgeRegressor(kernel="gaussian", sigma="auto", alpha="auto", baseline=None),
            ),
        ]
    )
    return model.set_params(**params)


def make_fchl19_krr(**params) -> ElementBaselinePipeline:
    """FCHL19 + local Gaussian kernel ridge regression (the strongest QML kernel model).

    Parameters
    ----------
    **params
        Nested parameters set on the pipeline, e.g. ``krr__sigma=2.5`` (a fixed
        value skips the search), ``fchl19__n_jobs=2``.

    Returns
    -------
    ElementBaselinePipeline
        Steps ``fchl19``: ``FCHL19(rcut=4.5, acut=4.5)`` and ``krr``:
        ``KernelRidgeRegressor(kernel="local_gaussian", sigma="auto",
        alpha="auto", baseline=None)``, after the per-element baseline. The
        cutoffs of 4.5 A (qmllib's default is 8) won a leave-one-out comparison
        on training molecules at N = 1,000 and 10,000
        (``docs/benchmarks/kernels.md``); sigma and alpha are
        chosen by leave-one-out at every fit. The local kernel sums
        atomic contributions, so it models the extensive part of the energy
        itself; subtracting only the mean instead of the element baseline
        measured much worse (``docs/benchmarks/kernels.md``).
    """
    model = ElementBaselinePipeline(
        [
            ("fchl19", FCHL19(rcut=4.5, acut=4.5)),
            (
                "krr",
                KernelRidgeRegressor(
                    kernel="local_gaussian", sigma="auto", alpha="auto", baseline=None
                ),
            ),
        ]
    )
    return model.set_params(**params)


def make_fchl19_atom_krr(**params) -> AtomKernelRidge:
    """FCHL19 atomic environments + per-element Gaussian KRR of per-atom targets (charges).

    Parameters
    ----------
    **params
        Parameters set on the model, e.g. ``molecule_total=None`` (no charge
        constraint), ``representation__n_jobs=2``, ``sigma=[1.0, 2.0]``.

    Returns
    -------
    AtomKernelRidge
        ``AtomKernelRidge(FCHL19(rcut=4.5, acut=4.5), sigma="auto",
        alpha="auto", molecule_total=0.0)``: each atom's target from its FCHL19
        environment, compared with the training atoms of its element only, after
        their mean; sigma and alpha by leave-one-out per element on the training
        atoms; the predicted charges of each molecule shifted to sum to 0, the
        total charge of QM9's neutral molecules. y and predictions have shape
        (n_molecules, max_atoms), aligned with the atoms of X.

    Examples
    --------
    >>> from acn_sklearn import make_fchl19_atom_krr
    >>> make_fchl19_atom_krr().get_params()["molecule_total"]
    0.0
    """
    model = AtomKernelRidge(
        FCHL19(rcut=4.5, acut=4.5), sigma="auto", alpha="auto", molecule_total=0.0
    )
    return model.set_params(**params)


def make_cm_nystroem(**params) -> ElementBaselinePipeline:
    """Coulomb matrix + Laplacian KRR on landmark molecules (Nystroem), for large N.

    :func:`make_cm_krr`'s model with the subset-of-regressors approximation: fit
    memory O(m^2) instead of O(N^2), so N can be all of QM9 (see
    ``docs/benchmarks/kernels.md`` for its accuracy and cost against exact KRR).

    Parameters
    ----------
    **params
        Nested parameters set on the pipeline, e.g. ``krr__n_landmarks=8000``,
        ``krr__representation__n_jobs=2``.

    Returns
    -------
    ElementBaselinePipeline
        One step, ``krr``: :class:`~acn_sklearn.kernel_ridge.NystroemKernelRidge`
        with ``CoulombMatrix(size=29)``, ``kernel="laplacian"``, ``sigma=4000``,
        ``alpha=1e-8``, ``n_landmarks=4000``, ``random_state=0``: the exact
        model's kernel and hyperparameters, after the per-element baseline.

    Examples
    --------
    >>> from acn_sklearn import make_cm_nystroem
    >>> make_cm_nystroem(krr__n_landmarks=500).get_params()["krr__kernel"]
    'laplacian'
    """
    model = ElementBaselinePipeline(
        [
            (
                "krr",
                NystroemKernelRidge(
                    CoulombMatrix(size=QM9_MAX_ATOMS),
                    kernel="laplacian",
                    sigma=4000.0,
                    alpha=1e-8,
                    n_landmarks=4000,
                    random_state=0,
                ),
            )
        ]
    )
    return model.set_params(**params)


def make_slatm_nystroem(**params) -> ElementBaselinePipeline:
    """Global SLATM + Gaussian KRR on landmark molecules (Nystroem), for large N.

    :func:`make_slatm_krr`'s model with the subset-of-regressors approximation:
    fit memory O(m^2) instead of O(N^2), and SLATM vectors generated block by
    block instead of all at once (see ``docs/benchmarks/kernels.md``).

    Parameters
    ----------
    **params
        Nested parameters set on the pipeline, e.g. ``krr__n_landmarks=4000``,
        ``krr__representation__n_jobs=2``.

    Returns
    -------
    ElementBaselinePipeline
        One step, ``krr``: :class:`~acn_sklearn.kernel_ridge.NystroemKernelRidge`
        with ``SLATM()``, ``kernel="gaussian"``, ``sigma=500``, ``alpha=1e-8``,
        ``baseline=None``, ``n_landmarks=4000``, ``random_state=0``, after the
        per-element baseline: the exact model's kernel with the sigma it was
        given by cross-validation before leave-one-out (which needs the N x N
        kernel that the landmarks avoid).
    """
    model = ElementBaselinePipeline(
        [
            (
                "krr",
                NystroemKernelRidge(
                    SLATM(),
                    kernel="gaussian",
                    sigma=500.0,
                    alpha=1e-8,
                    n_landmarks=4000,
                    baseline=None,
                    random_state=0,
                ),
            )
        ]
    )
    return model.set_params(**params)

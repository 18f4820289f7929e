"""acn_sklearn: AtomCloudNet and kernel baselines for molecular properties, sklearn style.

The estimators are imported on first use, so ``import acn_sklearn`` (and the
``acn-sklearn`` command) stay fast when torch is not needed.
"""

from importlib import import_module
from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("acn-sklearn")
except PackageNotFoundError:  # pragma: no cover - running from a source tree
    __version__ = "0+unknown"

_PUBLIC = {
    "ACNRegressor": ".acn",
    "ACNAtomRegressor": ".acn",
    "CoulombMatrix": ".representations",
    "SLATM": ".representations",
    "FCHL19": ".representations",
    "DeepEnsembleRegressor": ".ensemble",
    "KernelRidgeRegressor": ".kernel_ridge",
    "NystroemKernelRidge": ".kernel_ridge",
    "AtomKernelRidge": ".kernel_ridge",
    "ElementBaselinePipeline": ".pipelines",
    "make_cm_krr": ".pipelines",
    "make_slatm_krr": ".pipelines",
    "make_fchl19_krr": ".pipelines",
    "make_fchl19_atom_krr": ".pipelines",
    "make_cm_nystroem": ".pipelines",
    "make_slatm_nystroem": ".pipelines",
    "RotationalConstants": ".properties",
}

__all__ = ["__version__", *_PUBLIC]


def __getattr__(name):
    if name in _PUBLIC:
        return getattr(import_module(_PUBLIC[name], __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__():
    return sorted(__all__)

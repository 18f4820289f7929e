"""Fast kernel ridge regression for molecular representations."""

from ._atomic import AtomKernelRidge
from ._compact import CompactKernelRidge, compact_pipeline
from ._krr import KernelRidgeRegressor
from ._local import local_gaussian_kernel
from ._nystroem import NystroemKernelRidge

__all__ = [
    "AtomKernelRidge",
    "CompactKernelRidge",
    "KernelRidgeRegressor",
    "NystroemKernelRidge",
    "compact_pipeline",
    "local_gaussian_kernel",
]

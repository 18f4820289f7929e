"""Fast kernel ridge regression for molecular representations."""

from ._atomic import AtomKernelRidge
from ._krr import KernelRidgeRegressor
from ._local import local_gaussian_kernel
from ._nystroem import NystroemKernelRidge

__all__ = [
    "AtomKernelRidge",
    "KernelRidgeRegressor",
    "NystroemKernelRidge",
    "local_gaussian_kernel",
]

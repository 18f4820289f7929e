"""Fast kernel ridge regression for molecular representations."""

from ._krr import KernelRidgeRegressor
from ._local import local_gaussian_kernel
from ._nystroem import NystroemKernelRidge

__all__ = ["KernelRidgeRegressor", "NystroemKernelRidge", "local_gaussian_kernel"]

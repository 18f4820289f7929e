"""Fast kernel ridge regression for molecular representations."""

from ._krr import KernelRidgeRegressor
from ._local import local_gaussian_kernel

__all__ = ["KernelRidgeRegressor", "local_gaussian_kernel"]

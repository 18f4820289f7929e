"""AtomCloudNet: the point-convolution network and its scikit-learn estimators."""

from ._atom_regressor import ACNAtomRegressor
from ._regressor import ACNRegressor

__all__ = ["ACNAtomRegressor", "ACNRegressor"]

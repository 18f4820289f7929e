"""AtomCloudNet: the point-convolution network and its scikit-learn estimator."""

from ._regressor import ACNRegressor

__all__ = ["ACNRegressor"]

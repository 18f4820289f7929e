"""Predictive standard deviations: their calibration, and how well they measure.

Every model's ``predict(X, return_std=True)`` returns a spread the model knows
by itself (the Gaussian-process posterior standard deviation of a kernel model,
the posterior of a network's last layer, the disagreement of an ensemble's
members) times one scale per target, fitted on residuals of data the model did
not train on: closed-form leave-one-out residuals for kernel models, the early
stopping split for networks. :func:`std_scale` chooses the scale so that those
residuals divided by their standard deviations have unit root mean square, the
maximum-likelihood scale of a Gaussian error model. The root mean square (rather
than a median) lets the few large errors widen every error bar: heavy-tailed
errors would otherwise be covered less often than a Gaussian promises.
"""

from __future__ import annotations

import numpy as np
from scipy.special import erfinv

__all__ = ["calibration_curve", "std_scale"]


def std_scale(residuals, std) -> np.ndarray:
    """The scale that gives held-out residuals unit root-mean-square z-scores.

    Parameters
    ----------
    residuals : array-like of shape (n_samples,) or (n_samples, n_targets)
        Errors of predictions for samples the model did not train on.
    std : array-like of shape (n_samples,) or of the shape of ``residuals``
        The model's uncalibrated standard deviation of each prediction.

    Returns
    -------
    scale : ndarray of shape () or (n_targets,)
        ``sqrt(mean((residuals / std) ** 2))`` per target.

    Raises
    ------
    ValueError
        If there are no residuals, or a standard deviation is not positive and
        finite.
    """
    residuals = np.asarray(residuals, dtype=np.float64)
    std = np.asarray(std, dtype=np.float64)
    if residuals.size == 0:
        raise ValueError("no held-out residuals to calibrate the standard deviation on")
    if not (np.all(np.isfinite(std)) and np.all(std > 0)):
        raise ValueError("the standard deviations to calibrate must be positive and finite")
    if std.ndim < residuals.ndim:
        std = std.reshape(len(std), *[1] * (residuals.ndim - 1))
    return np.sqrt(np.mean((residuals / std) ** 2, axis=0))


def calibration_curve(errors, std, expected=None) -> tuple[np.ndarray, np.ndarray]:
    """Observed against expected coverage of Gaussian error bars.

    For each expected coverage p, the share of samples whose ``|error|`` lies
    within the central interval holding p of a Gaussian of their standard
    deviation, ``sqrt(2) erfinv(p) std``. Calibrated error bars lie on the
    diagonal; below it they are too narrow.

    Parameters
    ----------
    errors : array-like of shape (n_samples,)
        Prediction minus truth.
    std : array-like of shape (n_samples,)
        Predicted standard deviations.
    expected : array-like of float in (0, 1), default=None
        Coverages to evaluate; None: 0.05, 0.10, ..., 0.95 and 0.99.

    Returns
    -------
    expected : ndarray
    observed : ndarray
    """
    errors = np.abs(np.asarray(errors, dtype=np.float64))
    std = np.asarray(std, dtype=np.float64)
    if errors.shape != std.shape:
        raise ValueError(f"errors have shape {errors.shape} but std has shape {std.shape}")
    if expected is None:
        expected = np.r_[np.arange(0.05, 0.951, 0.05), 0.99]
    expected = np.asarray(expected, dtype=np.float64)
    half_widths = np.sqrt(2.0) * erfinv(expected)
    observed = (errors[None, :] <= half_widths[:, None] * std[None, :]).mean(axis=1)
    return expected, observed

"""scikit-learn's printout (``Name(param=value)``) for estimators that cannot get it as is.

sklearn prints the parameters that differ from the defaults of ``__init__``'s
signature. A skorch network takes many parameters through ``**kwargs``, which
the signature does not show, so sklearn would print each of them as changed
(and skorch prints ``<class ...>[uninitialized](``); such an estimator works out
its changed parameters itself and has :func:`estimator_repr` lay them out.
"""

from __future__ import annotations

from sklearn.base import BaseEstimator


class _Verbatim:
    """A value printed as the given text: a nested estimator's own repr."""

    def __init__(self, text: str):
        self.text = text

    def __repr__(self) -> str:
        return self.text


def estimator_repr(name: str, params: dict, N_CHAR_MAX: int = 700) -> str:
    """``name(key=value, ...)`` laid out by scikit-learn's estimator printer.

    Parameters
    ----------
    name : str
        The estimator's class name.
    params : dict
        The parameters to show, all of them.
    N_CHAR_MAX : int, default=700
        Non-blank characters beyond which the middle is elided, as in
        :meth:`sklearn.base.BaseEstimator.__repr__`.

    Returns
    -------
    str
        Parameters in sorted order, wrapped at 80 columns; an estimator among the
        values that prints itself (its own ``__repr__``) is shown as it does.
    """
    shown = {
        key: _Verbatim(repr(value))
        if isinstance(value, BaseEstimator) and type(value).__repr__ is not BaseEstimator.__repr__
        else value
        for key, value in params.items()
    }
    # An estimator class whose parameters are exactly `shown` and whose signature has
    # no defaults, so that sklearn's printer shows every one of them.
    layout = type(name, (BaseEstimator,), {"get_params": lambda self, deep=True: shown})
    return BaseEstimator.__repr__(layout(), N_CHAR_MAX)

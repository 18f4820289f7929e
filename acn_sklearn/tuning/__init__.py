"""Hyperparameter search with Optuna, the same way for every model.

Search spaces live in one place (:data:`SEARCH_SPACES`, :func:`search_space`);
:func:`tune_cv` searches kernel models with ``OptunaSearchCV`` and
:func:`tune_holdout` searches the network with per-epoch pruning. Both return a
:class:`TuningResult`; :func:`write_results` writes the files of the
``acn-sklearn tune`` command.
"""

from ._outputs import write_results
from ._spaces import SEARCH_SPACES, sample_params, search_space
from ._study import (
    OptunaPruning,
    TuningResult,
    enqueue_defaults,
    make_storage,
    open_study,
    tune_cv,
    tune_holdout,
)

__all__ = [
    "SEARCH_SPACES",
    "OptunaPruning",
    "TuningResult",
    "enqueue_defaults",
    "make_storage",
    "open_study",
    "sample_params",
    "search_space",
    "tune_cv",
    "tune_holdout",
    "write_results",
]

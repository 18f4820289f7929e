"""Hyperparameter search with Optuna, the same way for every model.

Search spaces live in the model catalogue (:data:`acn_sklearn.registry.CATALOGUE`,
read by :func:`search_space`);
:func:`tune_cv` searches kernel models with ``OptunaSearchCV`` and
:func:`tune_holdout` searches the network with per-epoch pruning. Both return a
:class:`TuningResult`; :func:`write_results` writes the files of the
``acn-sklearn tune`` command.
"""

from ._outputs import write_results
from ._pruning import OptunaPruning
from ._spaces import sample_params, search_space
from ._storage import make_storage, open_study
from ._study import (
    TuningResult,
    enqueue_defaults,
    report_trials,
    study_direction,
    tune_cv,
    tune_holdout,
)

__all__ = [
    "OptunaPruning",
    "TuningResult",
    "enqueue_defaults",
    "make_storage",
    "open_study",
    "report_trials",
    "sample_params",
    "search_space",
    "study_direction",
    "tune_cv",
    "tune_holdout",
    "write_results",
]

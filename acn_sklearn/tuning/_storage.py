"""Where studies live: Optuna storages that survive a killed worker, and opening a study.

Storages (:func:`make_storage`): any Optuna database URL
(``sqlite:///study.db``, ``postgresql+psycopg://...``, ``mysql://...``), where
each running trial records a heartbeat and a trial whose worker died is run
again, or ``journal:PATH`` for Optuna's journal file storage, which several
worker processes on one machine may share safely.
"""

from __future__ import annotations

import time
import warnings

import optuna

__all__ = ["HEARTBEAT_INTERVAL", "MAX_RETRY", "make_storage", "open_study"]


#: Seconds between a running trial's heartbeats in a database storage.
HEARTBEAT_INTERVAL = 60
#: Times a trial whose worker died is run again (with the same parameters).
MAX_RETRY = 3


def make_storage(
    url: str | None,
    *,
    heartbeat_interval: int | None = HEARTBEAT_INTERVAL,
    grace_period: int | None = None,
    max_retry: int = MAX_RETRY,
):
    """An Optuna storage from a URL; in a database, trials of dead workers are retried.

    Parameters
    ----------
    url : str or None
        ``journal:PATH``: Optuna's journal file storage, for workers on one
        machine. A database URL (``sqlite:///study.db``,
        ``postgresql+psycopg://user@host/db``, ``mysql://...``): an
        ``RDBStorage`` for workers on several machines (PostgreSQL needs the
        ``postgres`` extra, its driver). None: in memory, for this process only.
    heartbeat_interval : int or None, default=60
        Database storages: seconds between the heartbeats a running trial
        records. A trial whose heartbeat is older than ``grace_period`` (its
        worker was killed, or its machine lost) is marked failed by the next
        trial any worker starts, and run again with the same parameters, up to
        ``max_retry`` times. None: no heartbeat; such a trial stays "running".
    grace_period : int, optional
        Seconds without a heartbeat after which a trial counts as dead
        (default: twice ``heartbeat_interval``).
    max_retry : int, default=3
        Retries of one trial (``optuna.storages.RetryHeartbeatStaleTrialCallback``).

    Returns
    -------
    optuna.storages.BaseStorage or None
    """
    if url is None:
        return None
    if url.startswith("journal:"):
        from optuna.storages import JournalStorage
        from optuna.storages.journal import JournalFileBackend

        return JournalStorage(JournalFileBackend(url.removeprefix("journal:")))
    heartbeat = {}
    if heartbeat_interval is not None:
        with warnings.catch_warnings():  # heartbeats are "experimental" since Optuna 2.9
            warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
            retry = optuna.storages.RetryHeartbeatStaleTrialCallback(max_retry=max_retry)
        heartbeat = {
            "heartbeat_interval": heartbeat_interval,
            "grace_period": grace_period,
            "heartbeat_stale_trial_callback": retry,
        }
    return _rdb_storage(url, heartbeat)


def _rdb_storage(url: str, heartbeat: dict, attempts: int = 5):
    """``RDBStorage``, tolerating workers that create its tables at the same time.

    Workers started together on a new database all create Optuna's tables; in
    PostgreSQL, all but one then fail on a duplicate type or table. By then the
    tables exist (or soon will), so connecting again succeeds.
    """
    from sqlalchemy.exc import IntegrityError, ProgrammingError

    for attempt in range(attempts):
        try:
            with warnings.catch_warnings():  # heartbeats are "experimental" since Optuna 2.9
                warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
                return optuna.storages.RDBStorage(url, **heartbeat)
        except (IntegrityError, ProgrammingError):
            if attempt == attempts - 1:
                raise
            time.sleep(0.5 * (attempt + 1))


def open_study(
    storage,
    study_name: str,
    *,
    direction: str,
    resume: bool,
    seed: int | None = None,
) -> optuna.Study:
    """Create a study, or with ``resume`` load it to add trials.

    Parameters
    ----------
    storage : str, optuna storage or None
        A URL for :func:`make_storage` (with its default heartbeat), or a
        storage it made.
    study_name : str
    direction : {"minimize", "maximize"}
    resume : bool
        Load the study if it exists (several workers all pass True).
    seed : int, optional
        Seed of the TPE sampler.

    Returns
    -------
    optuna.Study

    Raises
    ------
    ValueError
        If the study exists and ``resume`` is False, or its direction differs.
    """
    sampler = optuna.samplers.TPESampler(seed=seed)
    where = storage if isinstance(storage, str) else getattr(storage, "url", "this storage")
    if isinstance(storage, str):
        storage = make_storage(storage)
    try:
        study = optuna.create_study(
            storage=storage,
            study_name=study_name,
            direction=direction,
            sampler=sampler,
            pruner=optuna.pruners.MedianPruner(n_warmup_steps=5),
            load_if_exists=resume,
        )
    except optuna.exceptions.DuplicatedStudyError:
        raise ValueError(
            f"study {study_name!r} already exists in {where}; pass --resume to add "
            "trials to it, or choose another --study-name"
        ) from None
    if study.direction.name.lower() != direction:
        raise ValueError(
            f"study {study_name!r} {study.direction.name.lower()}s, not {direction}s: "
            "it was made by the other tuning path"
        )
    return study

"""Subject-wise hyper-parameter search with Optuna.

:class:`SubjectSearchCV` tunes any estimator -- a feature pipeline on image
paths, a skorch network, a model on a 2-D table -- with an Optuna study whose
every inner split keeps subjects apart, optionally stored in SQLite (or any
Optuna RDB URL) so that a stopped search resumes where it left off, and prunes
network trials epoch by epoch through optuna-integration's
``SkorchPruningCallback``.
"""

# Authors: the skanimal developers
# SPDX-License-Identifier: BSD-3-Clause

import copy
import hashlib
import inspect
import json
import logging
import os
import re
import sys
import threading
import time
import warnings
from numbers import Integral, Real

import joblib
import numpy as np
import optuna
import pandas as pd
from optuna.distributions import (
    BaseDistribution,
    CategoricalDistribution,
    FloatDistribution,
    IntDistribution,
    distribution_to_json,
)
from optuna.pruners import BasePruner, NopPruner
from optuna.samplers import BaseSampler, TPESampler
from optuna.storages import BaseStorage, InMemoryStorage
from optuna.trial import TrialState
from scipy import sparse
from sklearn.base import BaseEstimator, MetaEstimatorMixin, _fit_context, clone, is_classifier
from sklearn.exceptions import FitFailedWarning
from sklearn.metrics import check_scoring, get_scorer_names
from sklearn.model_selection import GroupKFold, check_cv
from sklearn.pipeline import Pipeline
from sklearn.utils import get_tags
from sklearn.utils._param_validation import HasMethods, Interval, StrOptions
from sklearn.utils.metadata_routing import (
    MetadataRouter,
    MethodMapping,
    _routing_enabled,
    process_routing,
)
from sklearn.utils.metaestimators import available_if
from sklearn.utils.validation import (
    _check_method_params,
    _num_samples,
    check_is_fitted,
    indexable,
)

from ..utils._folds import _features_once, fit_and_predict, stateless_head
from ..utils._validation import check_groups, check_subject_splits, fit_requests
from ._spaces import SEARCH_SPACES, make_preset_estimator, search_space

__all__ = ["SubjectSearchCV"]

_FINISHED = (TrialState.COMPLETE, TrialState.PRUNED)
_STUDY_ATTR = "skanimal_search"  # the study's fingerprint (user attribute)
_TRIAL_ATTR = "skanimal_cv"  # a trial's fold scores and times (user attribute)
_SURPLUS_ATTR = "skanimal_surplus"  # a trial given up: the study was full (user attribute)
# seconds an SQLite connection waits for another process's write lock before
# "database is locked" (sqlite3's default is 5)
_SQLITE_TIMEOUT = 120


# --------------------------------------------------------------------------- #
# Validation of the data and of the inner splits
# --------------------------------------------------------------------------- #


def _subject_splits(cv, X, y, groups, estimator):
    """The inner (train, test) index pairs, each checked to be subject-disjoint.

    Without groups only an int (or None) is accepted: image-wise
    (Stratified)KFold splits, with a warning.
    """
    if isinstance(cv, str):  # a str has no split method but is iterable
        raise ValueError(f"cv must be None, an int, a splitter or an iterable; got {cv!r}.")
    if groups is None:
        warnings.warn(
            "SubjectSearchCV got no groups: the inner splits are image-wise, so images "
            "of one subject may fall in both parts and the scores are optimistic. Pass "
            "groups= to fit.",
            UserWarning, stacklevel=3,
        )
        splitter = check_cv(5 if cv is None else cv, y, classifier=is_classifier(estimator))
        return list(splitter.split(X, y))
    if cv is None:
        cv = GroupKFold(n_splits=min(5, len(pd.unique(groups))))
    elif isinstance(cv, Integral):
        cv = GroupKFold(n_splits=int(cv))
    return check_subject_splits(cv, X, y, groups, split_name="inner split")


def _check_space(space, estimator):
    if isinstance(space, str):
        space = search_space(space)
    space = dict(space)
    if not space:
        raise ValueError("param_distributions is empty; give at least one parameter.")
    valid = estimator.get_params(deep=True)
    for name, dist in space.items():
        if not isinstance(dist, BaseDistribution):
            raise TypeError(
                f"param_distributions[{name!r}] must be an optuna distribution (e.g. "
                f"optuna.distributions.FloatDistribution), got {dist!r}."
            )
        if not isinstance(dist, (FloatDistribution, IntDistribution,
                                 CategoricalDistribution)):
            raise TypeError(
                f"param_distributions[{name!r}] is a deprecated optuna distribution "
                f"({type(dist).__name__}); use FloatDistribution, IntDistribution or "
                "CategoricalDistribution."
            )
        if name not in valid:
            raise ValueError(
                f"param_distributions has {name!r}, which is not a parameter of "
                f"{type(estimator).__name__}; valid names include "
                f"{sorted(valid)[:12]}{' ...' if len(valid) > 12 else ''}."
            )
    return space


def _suggest(trial, name, dist):
    if isinstance(dist, FloatDistribution):
        return trial.suggest_float(name, dist.low, dist.high, step=dist.step, log=dist.log)
    if isinstance(dist, IntDistribution):
        return trial.suggest_int(name, dist.low, dist.high, step=dist.step, log=dist.log)
    return trial.suggest_categorical(name, dist.choices)


# --------------------------------------------------------------------------- #
# Fingerprints: what a stored study was created for
# --------------------------------------------------------------------------- #

_ADDRESS = re.compile(r" at 0x[0-9a-fA-F]+")


def _describe(obj):
    """Deterministic text of an object: estimators by type and parameters."""
    if hasattr(obj, "get_params") and not isinstance(obj, type):
        params = obj.get_params(deep=False)
        inner = ", ".join(f"{k}={_describe(v)}" for k, v in sorted(params.items()))
        return f"{type(obj).__module__}.{type(obj).__qualname__}({inner})"
    if isinstance(obj, (list, tuple)):
        inner = ", ".join(_describe(v) for v in obj)
        return f"[{inner}]" if isinstance(obj, list) else f"({inner})"
    if isinstance(obj, dict):
        return "{" + ", ".join(f"{k!r}: {_describe(v)}" for k, v in obj.items()) + "}"
    if isinstance(obj, type) or inspect.isfunction(obj):
        return f"{obj.__module__}.{obj.__qualname__}"
    return _ADDRESS.sub("", repr(obj))


def _update_digest(h, a):
    if a is None:
        h.update(b"none")
    elif isinstance(a, pd.DataFrame):
        h.update(repr(list(a.columns)).encode())
        h.update(pd.util.hash_pandas_object(a, index=False).to_numpy().tobytes())
    elif sparse.issparse(a):
        a = a.tocsr()
        for part in (a.data, a.indices, a.indptr):
            h.update(np.ascontiguousarray(part).tobytes())
    else:
        a = np.asarray(a.to_numpy() if hasattr(a, "to_numpy") else a)
        h.update(f"{a.shape}".encode())
        if a.dtype.kind in "OUS":
            h.update("\0".join(map(str, a.ravel().tolist())).encode("utf-8", "replace"))
        else:
            h.update(a.dtype.str.encode())
            h.update(np.ascontiguousarray(a).reshape(-1).view(np.uint8))
    h.update(b"\1")


def _fingerprint(estimator, space, scoring, X, y, groups, splits):
    h = hashlib.sha256()
    for part in (X, y, groups):
        _update_digest(h, part)
    for train, test in splits:
        h.update(train.tobytes() + b"|" + test.tobytes() + b"\1")
    return {
        "estimator": _describe(estimator),
        "param_distributions": {k: distribution_to_json(d) for k, d in sorted(space.items())},
        "scoring": _describe(scoring),
        "data": h.hexdigest()[:32],
    }


def _short(text, n=300):
    text = str(text)
    return text if len(text) <= n else text[:n] + "..."


# --------------------------------------------------------------------------- #
# Storage and study
# --------------------------------------------------------------------------- #


def _resolve_storage(storage, heartbeat_interval):
    """None, a storage object, or an RDB storage for a path or URL."""
    if storage is None or isinstance(storage, BaseStorage):
        return storage
    text = os.fspath(storage)
    if "://" in text:
        url = text
    else:
        path = os.path.abspath(os.path.expanduser(text))
        folder = os.path.dirname(path)
        if not os.path.isdir(folder):
            raise FileNotFoundError(
                f"storage={text!r}: the folder {folder!r} does not exist; create it "
                "first (the SQLite file itself is created when missing)."
            )
        if os.path.isdir(path):
            raise IsADirectoryError(
                f"storage={text!r} is a folder; give a file such as 'search.db'."
            )
        url = "sqlite:///" + path
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        kwargs = {}
        if url.startswith("sqlite"):
            # processes sharing the study wait for each other's write lock
            kwargs["engine_kwargs"] = {"connect_args": {"timeout": _SQLITE_TIMEOUT}}
        if heartbeat_interval is not None:
            kwargs |= {
                "heartbeat_interval": int(heartbeat_interval),
                # a trial killed with its process is run again, once, with the
                # same parameters, when its heartbeat has gone stale
                "heartbeat_stale_trial_callback":
                    optuna.storages.RetryHeartbeatStaleTrialCallback(max_retry=1),
            }
        try:
            return _open_rdb(url, kwargs)
        except (ImportError, ValueError) as exc:
            raise ValueError(f"storage={text!r} cannot be opened as an Optuna RDB "
                             f"storage: {exc}") from exc


def _open_rdb(url, kwargs, attempts=3):
    """An RDB storage; retried when another process creates its tables at once."""
    from sqlalchemy.exc import IntegrityError, OperationalError, ProgrammingError

    for attempt in range(attempts):
        try:
            return optuna.storages.RDBStorage(url, **kwargs)
        except (IntegrityError, OperationalError, ProgrammingError) as exc:
            # processes that found no tables and created them at once: the later
            # ones' CREATE TABLE or insert of the schema version collides
            collided = not isinstance(exc, OperationalError) or "already exists" in str(exc)
            if not collided or attempt == attempts - 1:
                raise
            time.sleep(0.1 * (attempt + 1))


def _open_study(storage, study_name, sampler, pruner, fingerprint):
    study = optuna.create_study(storage=storage, sampler=sampler, pruner=pruner,
                                study_name=study_name, direction="maximize",
                                load_if_exists=True)
    if len(study.directions) != 1 or study.direction != optuna.study.StudyDirection.MAXIMIZE:
        raise ValueError(
            f"The study {study_name!r} is not a single-objective maximisation; "
            "SubjectSearchCV maximises the score. Use another study_name."
        )
    stored = study.user_attrs.get(_STUDY_ATTR)
    if stored is None:
        if study.trials:
            raise ValueError(
                f"The study {study_name!r} already holds {len(study.trials)} trials but "
                "was not created by SubjectSearchCV; use another study_name."
            )
        study.set_user_attr(_STUDY_ATTR, fingerprint)
        return study
    differ = [key for key in fingerprint if stored.get(key) != fingerprint[key]]
    if differ:
        details = "; ".join(
            f"{key}: stored {_short(json.dumps(stored.get(key), default=str))}, now "
            f"{_short(json.dumps(fingerprint[key], default=str))}" for key in differ
        )
        what = {"estimator": "estimator", "param_distributions": "search space",
                "scoring": "scoring", "data": "data or inner splits"}
        raise ValueError(
            f"The study {study_name!r} was created for a different "
            f"{' and '.join(what[k] for k in differ)}, so its trials cannot be resumed "
            f"by this search ({details}). Use another study_name (or the default, "
            "derived from all of these), or delete the study with "
            "optuna.delete_study."
        )
    return study


def _fail_stale_trials(study):
    with warnings.catch_warnings():  # a no-op without heartbeats
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        optuna.storages.fail_stale_trials(study)


# --------------------------------------------------------------------------- #
# Parallel loops: threads, or joblib workers sharing a storage
# --------------------------------------------------------------------------- #


class _SurplusTrial(Exception):
    """Raised by the objective of a trial that the full study does not need."""


class _Quota:
    """Stops a fit's loops once the study's trials reach `n_trials`.

    Counted ("taken"): the finished trials, and the trials of this fit or of
    other processes begun since this fit opened the study (numbered from
    `first_number`) that are running or failed -- a failed trial uses up its
    place, as in a single ``study.optimize(n_trials=missing)``. Running trials
    older than this fit are not counted: they may be dead ones of a killed
    process. Each loop (thread, joblib worker, other process) stops after a
    trial once `n_trials` are taken (an Optuna callback); a trial begun by two
    loops at the same instant is given up at once, before any parameter is
    drawn, when `n_trials` trials numbered below it are taken (recorded as
    failed with the user attribute ``"skanimal_surplus"``). So the study ends
    with exactly `n_trials` finished trials unless some fail.
    """

    def __init__(self, n_trials, first_number):
        self.n_trials = n_trials
        self.first_number = first_number

    def _taken(self, study, below=None):
        n = 0
        for t in study.get_trials(deepcopy=False):
            if below is not None and t.number >= below:
                continue
            n += t.state in _FINISHED or (
                t.number >= self.first_number and t.state != TrialState.WAITING
                and not t.user_attrs.get(_SURPLUS_ATTR))
        return n

    def __call__(self, study, frozen_trial):
        if self._taken(study) >= self.n_trials:
            study.stop()

    def claim(self, trial):
        if self._taken(trial.study, below=trial.number) >= self.n_trials:
            trial.set_user_attr(_SURPLUS_ATTR, True)
            trial.study.stop()
            raise _SurplusTrial(f"the study already holds {self.n_trials} trials")


class _SurplusLogFilter(logging.Filter):
    """Drops Optuna's "Trial N failed" warnings of surplus trials."""

    _FAILED = re.compile(r"Trial (\d+) failed")

    def __init__(self, study):
        super().__init__()
        self.study = study

    def filter(self, record):
        match = self._FAILED.match(str(record.msg))
        if match is None:
            return True
        number = int(match.group(1))
        trials = [t for t in self.study.get_trials(deepcopy=False) if t.number == number]
        return not (trials and trials[0].user_attrs.get(_SURPLUS_ATTR))


def _run_loop(study, objective, n_trials, timeout, n_jobs, callbacks, verbose):
    """One optimisation loop (n_jobs threads); returns (new trials, errors)."""
    optuna_logger = logging.getLogger("optuna")
    old_level = optuna_logger.level
    if not verbose:
        optuna_logger.setLevel(max(logging.WARNING, optuna_logger.getEffectiveLevel()))
    trial_logger = logging.getLogger("optuna.study._optimize")
    log_filter = _SurplusLogFilter(study)
    trial_logger.addFilter(log_filter)
    try:
        study.optimize(objective, n_trials=n_trials, timeout=timeout, n_jobs=n_jobs,
                       catch=(_SurplusTrial,),
                       callbacks=[objective.quota, *callbacks])
    finally:
        trial_logger.removeFilter(log_filter)
        optuna_logger.setLevel(old_level)
    return objective.n_calls, objective.errors


def _worker_loop(study_name, storage, sampler, pruner, objective, n_trials, timeout,
                 callbacks, verbose):
    """One loop in a joblib worker (a process, a Dask worker) on a shared storage."""
    study = optuna.load_study(study_name=study_name, storage=storage, sampler=sampler,
                              pruner=pruner)
    return _run_loop(study, objective, n_trials, timeout, 1, callbacks, verbose)


def _wait_for_other_processes(study, storage, first_number, poll=0.1):
    """Wait until the trials that other processes began during this fit end.

    Only with heartbeats, which bound the wait: a trial of a killed process
    is failed once its heartbeat is stale.
    """
    get_interval = getattr(storage, "get_heartbeat_interval", None)
    if get_interval is None or get_interval() is None:
        return
    while any(t.number >= first_number
              for t in study.get_trials(deepcopy=False, states=(TrialState.RUNNING,))):
        time.sleep(poll)
        _fail_stale_trials(study)


def _joblib_backend():
    """The joblib backend set by ``joblib.parallel_config``, or None.

    None also for a thread-based backend: trials then run in Optuna's threads.
    """
    try:  # joblib keeps the context's settings in a thread-local
        from joblib.parallel import _backend, default_parallel_config
    except ImportError:  # pragma: no cover - another joblib
        return None
    config = getattr(_backend, "config", default_parallel_config)
    if config["backend"] is default_parallel_config["backend"]:
        return None  # joblib's default, not the user's choice
    backend = joblib.parallel.get_active_backend()[0]
    return None if getattr(backend, "uses_threads", False) else backend


def _is_dask(backend):
    return type(backend).__name__ == "DaskDistributedBackend"


def _shared_storage(storage, backend):
    """The storage that joblib workers of `backend` share; (storage, made here)."""
    if storage is None and _is_dask(backend):
        from optuna_integration import DaskStorage

        with warnings.catch_warnings():
            warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
            return DaskStorage(), True  # in the scheduler's memory, for this fit only
    if storage is None or isinstance(storage, InMemoryStorage):
        raise ValueError(
            f"n_jobs with the joblib backend {type(backend).__name__} runs trials in "
            "other processes, which cannot reach a study in this process's memory "
            f"(storage={storage!r}). Give storage= an SQLite path (one machine) or a "
            "PostgreSQL/MySQL URL (a cluster), use the 'dask' backend (its scheduler "
            "then holds the study), or run trials in threads (no backend, or "
            "'threading')."
        )
    return storage, False


# --------------------------------------------------------------------------- #
# The objective
# --------------------------------------------------------------------------- #


def _net_step(estimator):
    """The skorch net of an estimator (itself, or a pipeline's final step), or None."""
    if "skorch" not in sys.modules:  # no net was made: spare the import of torch
        return None
    from skorch import NeuralNet

    if isinstance(estimator, NeuralNet):
        return estimator
    if isinstance(estimator, Pipeline) and isinstance(estimator.steps[-1][1], NeuralNet):
        return estimator.steps[-1][1]
    return None


class _FoldTrial:
    """What a ``SkorchPruningCallback`` sees of a trial during one inner fold.

    Steps are epochs counted over the trial's folds in order (the epochs of
    earlier folds are added), and values are negated for losses, so that every
    reported value is higher-is-better like the study's score.
    """

    def __init__(self, trial, offset, sign):
        self._trial = trial
        self._offset = offset
        self._sign = sign

    def report(self, value, step):
        self._trial.report(self._sign * float(value), self._offset + int(step))

    def should_prune(self):
        return self._trial.should_prune()


def _searches_past_head(estimator, space, fit_params):
    """Whether a pipeline's first step is stateless and the space leaves it alone.

    Then every trial would compute the same features of every image: they are
    computed once, before the trials.
    """
    head, _ = stateless_head(estimator, fit_params)
    if head is None:
        return False
    prefix = f"{estimator.steps[0][0]}__"
    return not any(name == estimator.steps[0][0] or name.startswith(prefix) for name in space)


class _Objective:
    """Cross-validates one trial's parameters on the fixed inner splits."""

    def __init__(self, estimator, space, X, y, splits, fit_params, scorer, error_score,
                 prune, prune_on, quota):
        self.quota = quota
        self.estimator = estimator
        self.space = space
        self.X = X
        self.y = y
        self.splits = splits
        self.fit_params = fit_params
        self.scorer = scorer
        self.error_score = error_score
        self.prune = prune
        self.prune_on = prune_on
        self.n_calls = 0
        self.errors = []
        self._lock = threading.Lock()

    def __getstate__(self):  # pickled to joblib workers
        state = self.__dict__.copy()
        del state["_lock"]
        return state

    def __setstate__(self, state):
        self.__dict__.update(state)
        self._lock = threading.Lock()

    def __call__(self, trial):
        self.quota.claim(trial)
        with self._lock:
            self.n_calls += 1
        params = {name: _suggest(trial, name, dist) for name, dist in self.space.items()}
        record = {"test_scores": [], "fit_times": [], "score_times": []}
        epochs = 0
        try:
            for k, (train, test) in enumerate(self.splits):
                estimator = clone(self.estimator).set_params(**params)
                net = _net_step(estimator)
                if self.prune and net is not None:
                    from optuna_integration import SkorchPruningCallback

                    sign = -1.0 if self.prune_on.endswith("loss") else 1.0
                    callback = SkorchPruningCallback(_FoldTrial(trial, epochs, sign),
                                                     monitor=self.prune_on)
                    callbacks = net.callbacks if isinstance(net.callbacks, list) else []
                    net.set_params(callbacks=[*callbacks, ("optuna_pruning", callback)])
                score, fit_time, score_time = self._fit_and_score(estimator, train, test, k)
                record["test_scores"].append(score)
                record["fit_times"].append(fit_time)
                record["score_times"].append(score_time)
                if net is not None:
                    history = getattr(net, "history_", None)
                    epochs += len(history) if history is not None else 0
                elif self.prune:
                    trial.report(float(np.mean(record["test_scores"])), k)
                    if trial.should_prune():
                        raise optuna.TrialPruned(f"Trial pruned after inner fold {k}.")
        finally:
            trial.set_user_attr(_TRIAL_ATTR, {key: [float(v) for v in values]
                                              for key, values in record.items()})
        # like scikit-learn's searches: a failed fold (error_score=nan) makes the
        # mean NaN, and Optuna records the trial as failed
        return float(np.mean(record["test_scores"]))

    def _fit_and_score(self, estimator, train, test, fold):
        result = fit_and_predict(
            estimator, self.X, self.y, train, test, fit_params=self.fit_params,
            response=None, scorer=self.scorer, error_score=self.error_score,
            note=f"Raised by SubjectSearchCV in inner fold {fold}.",
            reraise=(optuna.TrialPruned,),
        )
        if result["error"] is not None:
            with self._lock:
                self.errors.append(result["error"])
        fit_time = 0.0 if np.isnan(result["fit_time"]) else result["fit_time"]
        score_time = 0.0 if np.isnan(result["predict_time"]) else result["predict_time"]
        return result["score"], fit_time, score_time


# --------------------------------------------------------------------------- #
# The estimator
# --------------------------------------------------------------------------- #


def _estimator_has(attr):
    """For available_if: the refitted estimator, else the unfitted one, has attr."""

    def check(self):
        if hasattr(self, "best_estimator_"):
            getattr(self.best_estimator_, attr)
        else:
            getattr(self.estimator, attr)
        return True

    return check


class SubjectSearchCV(MetaEstimatorMixin, BaseEstimator):
    """Subject-wise hyper-parameter search with Optuna, resumable in SQLite.

    Each trial draws parameters from `param_distributions` (Optuna's TPE
    sampler by default), fits the estimator on the training part of every
    inner split and scores it on the test part; the study maximises the mean
    score. Every inner split keeps subjects apart: the default is
    :class:`~sklearn.model_selection.GroupKFold` on the subjects passed as
    ``groups``, and any splitter is checked to be subject-disjoint on every
    split before the first trial runs. All trials use the same splits. The
    best parameters are then refitted on all the data.

    Nest it in a subject-wise evaluation to get an unbiased score of the whole
    procedure: ``cross_validate(search, X, y, groups=g, cv=LeaveOneGroupOut(),
    params={"groups": g})`` or ``subject_report(search, X, y, g,
    params={"groups": g})`` run one search per held-out subject, on the other
    subjects only.

    Parameters
    ----------
    estimator : estimator object
        The estimator to tune: a pipeline on image paths or arrays (e.g.
        :func:`~skanimal.features.make_lbp_svm`), a skanimal network, or any
        scikit-learn estimator. Cloned for every fit.
    param_distributions : dict or str
        ``{parameter name: optuna distribution}`` (``FloatDistribution``,
        ``IntDistribution``, ``CategoricalDistribution``), with the names of
        ``estimator.get_params()``; or the name of a preset of
        :func:`search_space` (``"lbp_svm"``, ``"linear_probe"``,
        ``"painseeker"``). Names that are not parameters of `estimator` raise
        an error before any trial runs.
    n_trials : int, default=20
        The number of **finished** (complete or pruned) trials wanted in the
        study, in total. A new study runs `n_trials` trials; a resumed one runs
        only the missing ones (none when it already holds `n_trials`). A
        failed trial is not finished: a later fit runs a new one.
    cv : int, cross-validation generator or iterable, default=None
        The inner splits: None is ``GroupKFold(n_splits=min(5, n_subjects))``;
        an int is ``GroupKFold`` with that many splits; or a splitter whose
        ``split(X, y, groups)`` is called once, or an iterable of
        ``(train, test)`` index arrays. Each split must have no subject on
        both sides (checked). Without groups (None or an int only), the
        splits are image-wise, with a warning.
    scoring : str, callable or None, default=None
        The score to maximise: a scikit-learn scorer name (``"f1"``,
        ``"balanced_accuracy"``...), a scorer callable
        ``scorer(estimator, X, y)``, or None for the estimator's ``score``.
    storage : str, path-like, optuna storage or None, default=None
        Where the study lives. None: in memory, a fresh study on every fit
        (under joblib's Dask backend with parallel trials, on the Dask
        scheduler for the fit's duration, see Notes). A file path
        (``"search.db"``; the folder must exist): an SQLite database, created
        when missing, whose connections wait up to 120 s for another process's
        write lock -- for one machine only, never on a network file system.
        A URL (``"sqlite:///search.db"``,
        ``"postgresql+psycopg2://user@host/db"``): any Optuna RDB storage;
        PostgreSQL (or MySQL) is the storage for processes on several machines.
        An :class:`optuna.storages.BaseStorage` object is used as it is.
    study_name : str, default=None
        The study in `storage`. None derives it from the estimator, the search
        space, the scoring, the data and the inner splits
        (``"skanimal-<estimator class>-<digest>"``), so that a repeated fit
        on the same storage resumes its own study, and that the searches of
        different outer folds of a nested cross-validation never share one.
    sampler : optuna.samplers.BaseSampler, default=None
        The sampler (a copy is used in each fit). None is
        ``TPESampler(seed=...)`` seeded from `random_state`.
    pruner : optuna.pruners.BasePruner, default=None
        None never prunes. With a pruner, a trial of a skorch network (or of
        a pipeline ending in one) reports `prune_on` after every epoch through
        optuna-integration's ``SkorchPruningCallback``; a trial of any other
        estimator reports its running mean score after every inner fold.
        Pruned trials count as finished.
    random_state : int, RandomState instance or None, default=None
        Seeds the default sampler. With an int, the seed also depends on the
        number of trials already in the study, so that a resumed search
        continues with new draws instead of repeating the first ones.
    n_jobs : int, default=None
        Trials run in parallel. By default in threads of this process (Optuna's
        ``n_jobs``; None means 1). Under a process-based joblib backend set
        with :func:`joblib.parallel_config` (``"loky"``, ``"dask"``...), in
        `n_jobs` loops run by joblib's workers on the shared storage (None
        takes the ``n_jobs`` of ``parallel_config``; under Dask, None and -1
        are one loop per worker thread of the cluster), see Notes.
    refit : bool, default=True
        Refit the best parameters on all the data, as ``best_estimator_``,
        which ``predict``, ``predict_proba``, ``decision_function``,
        ``transform`` and ``score`` use.
    timeout : float, default=None
        Stop starting new trials after this many seconds.
    error_score : "raise" or float, default=np.nan
        The score of an inner fold whose fit or scoring fails. "raise"
        re-raises (the fold is named in a note); NaN fails the trial (it is
        not finished, see `n_trials`); another number scores the fold with it.
        A :class:`~sklearn.exceptions.FitFailedWarning` summarises failures.
    prune_on : str, default="valid_loss"
        The entry of a skorch net's history reported for pruning, which needs
        the net's internal validation split for ``"valid_*"`` entries (skanimal
        nets' default ``GroupValidSplit`` keeps subjects apart there too).
        Entries whose name ends with ``"loss"`` are reported negated, so that
        higher is better as for the score.
    heartbeat_interval : int or None, default=60
        For a storage given as a path or URL: seconds between the heartbeats
        of a running trial. A trial whose heartbeat is older than twice this
        (its process was killed) is marked failed by the next fit or trial on
        the study, and run again once with the same parameters. None disables
        heartbeats: such trials then stay "running" forever (and are never
        counted as finished).
    callbacks : list of callable, default=None
        Optuna callbacks ``f(study, frozen_trial)`` called after each trial
        (e.g. to stop the study).
    verbose : int, default=0
        0 keeps Optuna quiet (warnings only); 1 or more logs every trial.

    Attributes
    ----------
    best_params_ : dict
        The parameters of the best complete trial of the study (previous fits
        included).
    best_score_ : float
        Its mean inner score.
    best_index_ : int
        Its row in ``cv_results_``.
    best_trial_ : optuna.trial.FrozenTrial
        The best trial.
    best_estimator_ : estimator
        `estimator` with `best_params_`, fitted on all the data. Only with
        ``refit=True``.
    refit_time_ : float
        Seconds spent refitting. Only with ``refit=True``.
    study_ : optuna.study.Study
        The study (its ``trials_dataframe()`` lists every trial).
    cv_results_ : dict of ndarray
        One entry per trial of the study (but surplus ones, see Notes), in
        order: ``number``, ``state``,
        ``params``, ``param_<name>``, ``split<k>_test_score``,
        ``mean_test_score``, ``std_test_score``, ``rank_test_score``,
        ``mean_fit_time``, ``std_fit_time``, ``mean_score_time``,
        ``std_score_time`` (NaN for folds a trial did not reach). Loads into
        a :class:`pandas.DataFrame`.
    n_trials_ : int
        Finished (complete or pruned) trials in the study.
    n_new_trials_ : int
        Trials run by the last fit.
    n_splits_ : int
        The number of inner splits.
    scorer_ : callable
        The scorer.
    study_name_ : str
        The study's name.
    param_distributions_ : dict
        The search space used (a preset name resolved).
    classes_ : ndarray of shape (n_classes,)
        The classes of ``best_estimator_`` (classifiers).
    n_features_in_ : int
        Of ``best_estimator_``, when it has one.

    See Also
    --------
    search_space : Preset search spaces.
    skanimal.evaluation.subject_report : Subject-wise evaluation, with which a
        search nests.
    optuna_integration.OptunaSearchCV : Optuna's search, which this one
        replaces for subject-wise work (see Notes).

    Notes
    -----
    **Resuming.** With a storage, the study is loaded if it exists
    (``load_if_exists``), and its previous trials stay: they inform the
    sampler, appear in ``cv_results_`` and compete for ``best_params_``. A
    study created for another estimator, search space, scoring, data or
    inner splits is refused (its fingerprint is stored as the study's user
    attribute ``"skanimal_search"``).

    **Several processes on one study.** Processes may run the same study at
    once on a shared storage (same `storage` and `study_name`): an SQLite
    path on one machine, PostgreSQL or MySQL across machines. Together they
    run the missing trials only: a process starts no new trial once the
    study holds `n_trials` trials that are finished or that were begun (and
    are running, or failed) since it opened the study; a trial that two
    processes begin at the same instant beyond that is given up before it
    draws parameters (recorded as failed with the user attribute
    ``"skanimal_surplus"``, left out of ``cv_results_``). So the study ends
    with exactly `n_trials` finished trials unless some fail, as in a single
    process. With heartbeats, each fit then waits for the trials still
    running in other processes, so that every process reports the same
    ``best_params_``; a trial of a killed process ends the wait once its
    heartbeat is stale.

    **Parallel trials through joblib.** ``with
    joblib.parallel_config(backend="dask"):`` (a ``distributed.Client``
    connected to the cluster) runs `n_jobs` optimisation loops as joblib
    tasks on the cluster's workers, each with its own sampler, each
    stopping as above; ``"loky"`` does the same in local processes. The
    loops share `storage`, which must be one they can reach: PostgreSQL (or
    MySQL) on a cluster, an SQLite path on one machine. With
    ``storage=None`` under Dask, the study lives on the Dask scheduler
    (optuna-integration's ``DaskStorage``) during the fit and is copied into
    memory for ``study_`` at its end; under another process backend,
    ``storage=None`` is an error. `callbacks` run in the workers. The
    results follow the same rules as a local run: `n_trials` finished
    trials, the best of them as ``best_params_``.

    **Features once.** When `estimator` is a pipeline whose first step is a
    :class:`~skanimal.features.DeepFeatures` or an
    :class:`~skanimal.features.LBPFeatures` (which learn nothing in ``fit``)
    and the search space has no parameter of that step, the step transforms
    X once, in this process (its ``n_jobs``, and so a Dask cluster, apply),
    before the trials; every trial then fits the rest of the pipeline on the
    feature matrix. The scores are those of the whole pipeline fitted per
    fold; the refit fits the whole pipeline.

    **Trials left running.** A process killed during a trial leaves it
    "running". With heartbeats (the default for paths and URLs), such a
    trial is recognised as dead once its heartbeat is older than
    ``2 * heartbeat_interval`` seconds, marked failed and re-enqueued with
    its parameters; trials of live processes elsewhere are never touched.
    (A process killed before its trial's first heartbeat was written, within
    milliseconds of the trial's start, leaves a trial Optuna cannot judge:
    it stays "running" and is not counted as finished.)

    **Groups.** `groups` defines the inner splits. With metadata routing
    disabled (scikit-learn's default), it is also passed to
    ``estimator.fit`` when that has a ``groups`` parameter (skanimal
    networks, for their subject-wise internal validation split; a nested
    search), indexed to each training part. Other fit parameters are indexed
    like scikit-learn's ``cross_validate`` does. With routing enabled, fit
    parameters and `groups` go where the estimator requests them.

    **Why not OptunaSearchCV.** optuna-integration 5.0's ``OptunaSearchCV``
    turns any ``ValueError`` of the inner ``cross_validate`` into NaN scores
    (so with metadata routing enabled, where ``groups=`` is refused, every
    trial silently fails, and ``error_score="raise"`` ends in an unrelated
    ``TypeError``), counts ``n_trials`` as new trials, is no classifier for
    :func:`~sklearn.base.is_classifier` (scikit-learn >= 1.6), and gives a
    skorch callback no access to the trial. This class reuses Optuna's study,
    samplers, pruners, storages and ``SkorchPruningCallback`` and records the
    same per-trial results.

    Examples
    --------
    >>> import numpy as np
    >>> from optuna.distributions import FloatDistribution
    >>> from sklearn.linear_model import LogisticRegression
    >>> from skanimal.model_selection import SubjectSearchCV
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(60, 3))
    >>> y = (X[:, 0] > 0).astype(int)
    >>> rats = np.repeat(["r1", "r2", "r3", "r4", "r5", "r6"], 10)
    >>> search = SubjectSearchCV(
    ...     LogisticRegression(), {"C": FloatDistribution(1e-3, 1e3, log=True)},
    ...     n_trials=5, random_state=0,
    ... ).fit(X, y, groups=rats)
    >>> search.n_trials_, search.n_splits_, len(search.cv_results_["mean_test_score"])
    (5, 5, 5)
    >>> search.best_score_ > 0.8
    True
    >>> search.predict(X[:3]).shape
    (3,)
    """

    _parameter_constraints: dict = {
        "estimator": [HasMethods(["fit"])],
        "param_distributions": [dict, StrOptions(set(SEARCH_SPACES))],
        "n_trials": [Interval(Integral, 1, None, closed="left")],
        "cv": ["cv_object"],
        "scoring": [StrOptions(set(get_scorer_names())), callable, None],
        "storage": [str, os.PathLike, BaseStorage, None],
        "study_name": [str, None],
        "sampler": [BaseSampler, None],
        "pruner": [BasePruner, None],
        "random_state": ["random_state"],
        "n_jobs": [Integral, None],
        "refit": ["boolean"],
        "timeout": [Interval(Real, 0, None, closed="neither"), None],
        "error_score": [StrOptions({"raise"}), Real],
        "prune_on": [str],
        "heartbeat_interval": [Interval(Integral, 1, None, closed="left"), None],
        "callbacks": [list, None],
        "verbose": ["verbose"],
    }

    def __init__(
        self,
        estimator,
        param_distributions,
        *,
        n_trials=20,
        cv=None,
        scoring=None,
        storage=None,
        study_name=None,
        sampler=None,
        pruner=None,
        random_state=None,
        n_jobs=None,
        refit=True,
        timeout=None,
        error_score=np.nan,
        prune_on="valid_loss",
        heartbeat_interval=60,
        callbacks=None,
        verbose=0,
    ):
        self.estimator = estimator
        self.param_distributions = param_distributions
        self.n_trials = n_trials
        self.cv = cv
        self.scoring = scoring
        self.storage = storage
        self.study_name = study_name
        self.sampler = sampler
        self.pruner = pruner
        self.random_state = random_state
        self.n_jobs = n_jobs
        self.refit = refit
        self.timeout = timeout
        self.error_score = error_score
        self.prune_on = prune_on
        self.heartbeat_interval = heartbeat_interval
        self.callbacks = callbacks
        self.verbose = verbose

    @classmethod
    def from_preset(cls, name, **params):
        """Create a search of a preset space over the estimator it is made for.

        Parameters
        ----------
        name : {"lbp_svm", "linear_probe", "painseeker"}
            The preset (see :func:`search_space` and
            :func:`make_preset_estimator`).
        **params : dict
            Other parameters of :class:`SubjectSearchCV` (``n_trials``,
            ``storage``...). Settings of the estimator are changed with
            ``set_params(estimator__<name>=...)``.

        Returns
        -------
        search : SubjectSearchCV
            Unfitted, with ``param_distributions=name``.

        Examples
        --------
        >>> from skanimal.model_selection import SubjectSearchCV
        >>> search = SubjectSearchCV.from_preset("lbp_svm", n_trials=10)
        >>> search.estimator.steps[0][0], search.param_distributions
        ('lbpfeatures', 'lbp_svm')
        """
        return cls(make_preset_estimator(name), name, **params)

    # ------------------------------------------------------------------ tags

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        sub = get_tags(self.estimator)
        tags.estimator_type = sub.estimator_type
        tags.classifier_tags = copy.deepcopy(sub.classifier_tags)
        tags.regressor_tags = copy.deepcopy(sub.regressor_tags)
        tags.transformer_tags = copy.deepcopy(sub.transformer_tags)
        tags.input_tags = copy.deepcopy(sub.input_tags)
        tags.target_tags.required = sub.target_tags.required
        return tags

    def get_metadata_routing(self):
        """Get the metadata routing of this object.

        ``groups`` is consumed by the search itself (request it with
        ``set_fit_request(groups=True)`` when the search is nested in a
        routed cross-validation); other fit parameters are routed to
        ``estimator.fit``.

        Returns
        -------
        routing : MetadataRouter
            The routing information.
        """
        router = MetadataRouter(owner=self).add_self_request(self)
        router.add(estimator=self.estimator,
                   method_mapping=MethodMapping().add(caller="fit", callee="fit"))
        return router

    # ------------------------------------------------------------------- fit

    @_fit_context(prefer_skip_nested_validation=False)
    def fit(self, X, y=None, groups=None, **fit_params):
        """Run the trials that are missing, then refit the best parameters.

        Parameters
        ----------
        X : array-like of shape (n_samples, ...)
            The input of `estimator`: image paths, an image array, a 2-D
            table... It is only indexed.
        y : array-like of shape (n_samples,), default=None
            The targets.
        groups : array-like of shape (n_samples,), default=None
            The subject of each sample. Required unless `cv` is None or an
            int, which without groups means image-wise ``KFold`` (or
            ``StratifiedKFold`` for a classifier) splits, with a warning:
            images of one subject then fall on both sides and the scores are
            optimistic.
        **fit_params : dict
            Parameters of ``estimator.fit``; sample-aligned arrays are indexed
            to each training part.

        Returns
        -------
        self : object
            The fitted search.
        """
        X, y = indexable(X, y)
        n_samples = _num_samples(X)
        if groups is not None or not (self.cv is None or isinstance(self.cv, Integral)):
            groups = check_groups(
                groups, n_samples, caller="SubjectSearchCV.fit",
                hint="Call fit(X, y, groups=subject_ids).",
            )
        if y is not None and _num_samples(y) != n_samples:
            raise ValueError(
                f"X and y have inconsistent numbers of samples: {n_samples} and "
                f"{_num_samples(y)}."
            )
        space = _check_space(self.param_distributions, self.estimator)
        splits = _subject_splits(self.cv, X, y, groups, self.estimator)
        scorer = check_scoring(self.estimator, scoring=self.scoring)
        inner_params = self._inner_fit_params(groups, fit_params)
        prune = self.pruner is not None
        net = _net_step(self.estimator)
        if (prune and net is not None and self.prune_on.startswith("valid")
                and net.train_split is None):
            raise ValueError(
                f"prune_on={self.prune_on!r} needs the network's internal validation "
                "split, but its train_split is None; give it one (e.g. "
                "GroupValidSplit(0.2)) or prune on a training entry such as "
                "'train_loss'."
            )

        storage = _resolve_storage(self.storage, self.heartbeat_interval)
        backend = _joblib_backend()
        n_loops = 1
        if backend is not None:  # Dask's counts every worker thread, whatever n_jobs
            n_loops = joblib.effective_n_jobs(self.n_jobs)
            if self.n_jobs is not None and self.n_jobs > 0:
                n_loops = min(n_loops, self.n_jobs)
        made_storage = False
        if n_loops > 1:
            storage, made_storage = _shared_storage(storage, backend)
        study_name = self.study_name
        fingerprint = None
        if storage is not None:
            fingerprint = _fingerprint(self.estimator, space, self.scoring, X, y, groups,
                                       splits)
            if study_name is None:
                digest = hashlib.sha256(json.dumps(fingerprint, sort_keys=True).encode())
                study_name = (f"skanimal-{type(self.estimator).__name__}-"
                              f"{digest.hexdigest()[:16]}")
        pruner = copy.deepcopy(self.pruner) if prune else NopPruner()

        optuna_logger = logging.getLogger("optuna")
        old_level = optuna_logger.level
        if not self.verbose:
            optuna_logger.setLevel(max(logging.WARNING, optuna_logger.getEffectiveLevel()))
        try:
            if storage is None:
                study = optuna.create_study(direction="maximize", pruner=pruner,
                                            study_name=study_name)
            else:
                study = _open_study(storage, study_name, None, pruner, fingerprint)
                _fail_stale_trials(study)
            n_existing = len(study.trials)
            n_done = len(study.get_trials(deepcopy=False, states=_FINISHED))
            n_new, errors = 0, []
            missing = self.n_trials - n_done
            X_trials, trial_estimator = X, self.estimator
            if missing > 0 and _searches_past_head(self.estimator, space, inner_params):
                # the features of a stateless first step, once, on this machine
                # (through its n_jobs: the cluster's workers under Dask); the
                # trials fit the rest of the pipeline on them
                X_trials, trial_estimator = _features_once(
                    self.estimator, X, inner_params, self.error_score)
            objective = _Objective(trial_estimator, space, X_trials, y, splits, inner_params,
                                   scorer, self.error_score, prune, self.prune_on,
                                   _Quota(self.n_trials, n_existing))
            if missing > 0:
                n_new, errors = self._optimize(study, storage, objective, missing,
                                               min(n_loops, missing), backend)
            if storage is not None:
                _wait_for_other_processes(study, storage, n_existing)
        finally:
            optuna_logger.setLevel(old_level)
        if made_storage:  # keep the study after the cluster is gone; free the scheduler
            in_memory = InMemoryStorage()
            optuna.copy_study(from_study_name=study.study_name, from_storage=storage,
                              to_storage=in_memory)
            optuna.delete_study(study_name=study.study_name, storage=storage)
            study = optuna.load_study(study_name=study.study_name, storage=in_memory)

        self.study_ = study
        self.study_name_ = study.study_name
        self.param_distributions_ = space
        self.scorer_ = scorer
        self.n_splits_ = len(splits)
        self.n_new_trials_ = n_new
        self.n_trials_ = len(study.get_trials(deepcopy=False, states=_FINISHED))
        self._warn_failures(n_new, errors)
        self.cv_results_ = self._cv_results(study, space, len(splits))
        complete = study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))
        if not complete:
            states = pd.Series([t.state.name for t in study.trials]).value_counts()
            raise ValueError(
                f"No trial of the study {study.study_name!r} completed "
                f"({states.to_dict()}); there are no best parameters."
                + (f" The first error was:\n{errors[0]}" if errors else "")
            )
        self.best_trial_ = study.best_trial
        self.best_params_ = dict(self.best_trial_.params)
        self.best_score_ = float(self.best_trial_.value)
        self.best_index_ = int(np.flatnonzero(
            self.cv_results_["number"] == self.best_trial_.number)[0])
        if self.refit:
            estimator = clone(self.estimator).set_params(**self.best_params_)
            params = _check_method_params(X, params=inner_params)
            start = time.perf_counter()
            estimator.fit(X, y, **params)
            self.refit_time_ = time.perf_counter() - start
            self.best_estimator_ = estimator
        return self

    def _optimize(self, study, storage, objective, missing, n_loops, backend):
        """Run the missing trials: in threads here, or in `n_loops` joblib workers."""
        callbacks = list(self.callbacks or [])
        if n_loops <= 1:
            study.sampler = self._make_sampler(len(study.trials))
            n_threads = 1 if backend is not None or self.n_jobs is None else self.n_jobs
            return _run_loop(study, objective, missing, self.timeout, n_threads,
                             callbacks, self.verbose)
        n_existing = len(study.trials)
        with warnings.catch_warnings():  # DaskStorage is "experimental"
            warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
            results = joblib.Parallel(n_jobs=n_loops)(
                joblib.delayed(_worker_loop)(
                    study.study_name, storage, self._make_sampler(n_existing, loop),
                    study.pruner, objective, missing, self.timeout, callbacks, self.verbose,
                )
                for loop in range(n_loops)
            )
        return sum(n for n, _ in results), [e for _, errors in results for e in errors]

    def _make_sampler(self, n_existing, loop=0):
        """A copy of `sampler`, or a TPE sampler; each parallel loop draws its own."""
        if self.sampler is not None:
            sampler = copy.deepcopy(self.sampler)
            if loop:
                sampler.reseed_rng()
            return sampler
        rs = self.random_state
        if rs is None:
            seed = None
        elif isinstance(rs, Integral):
            entropy = [int(rs), n_existing] + ([loop] if loop else [])
            seed = int(np.random.SeedSequence(entropy).generate_state(1)[0])
        else:
            seed = int(rs.randint(np.iinfo(np.int32).max))
        return TPESampler(seed=seed)

    def _inner_fit_params(self, groups, fit_params):
        if _routing_enabled():
            params = dict(process_routing(self, "fit", **fit_params).estimator.fit)
        else:
            params = dict(fit_params)
        if groups is not None and fit_requests(self.estimator, "groups"):
            params["groups"] = groups
        return params

    def _warn_failures(self, n_new, errors):
        if errors:
            warnings.warn(
                f"{len(errors)} inner fits failed in {n_new} new "
                f"trials and were scored error_score={self.error_score!r}. The first "
                f"error was:\n{errors[0]}",
                FitFailedWarning,
                stacklevel=3,
            )

    @staticmethod
    def _cv_results(study, space, n_splits):
        trials = sorted((t for t in study.get_trials(deepcopy=False)
                         if not t.user_attrs.get(_SURPLUS_ATTR)), key=lambda t: t.number)
        n = len(trials)
        results = {
            "number": np.array([t.number for t in trials], dtype=int),
            "state": np.array([t.state.name for t in trials], dtype=object),
            "params": [dict(t.params) for t in trials],
        }
        for name in space:
            values = np.ma.MaskedArray(np.empty(n, dtype=object), mask=True)
            for i, t in enumerate(trials):
                if name in t.params:
                    values[i] = t.params[name]
            results[f"param_{name}"] = values
        arrays = {key: np.full((n, n_splits), np.nan)
                  for key in ("test_scores", "fit_times", "score_times")}
        for i, t in enumerate(trials):
            record = t.user_attrs.get(_TRIAL_ATTR, {})
            for key, arr in arrays.items():
                values = record.get(key, [])[:n_splits]
                arr[i, :len(values)] = values
        for k in range(n_splits):
            results[f"split{k}_test_score"] = arrays["test_scores"][:, k]
        complete = results["state"] == TrialState.COMPLETE.name
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN rows
            mean = np.where(complete, np.nanmean(arrays["test_scores"], axis=1), np.nan)
            std = np.where(complete, np.nanstd(arrays["test_scores"], axis=1), np.nan)
            for key, name in (("fit_times", "fit_time"), ("score_times", "score_time")):
                results[f"mean_{name}"] = np.nanmean(arrays[key], axis=1)
                results[f"std_{name}"] = np.nanstd(arrays[key], axis=1)
        values = np.array([t.value if t.state == TrialState.COMPLETE else np.nan
                           for t in trials], dtype=float)
        results["mean_test_score"] = np.where(complete, values, mean)
        results["std_test_score"] = std
        # rank 1 is best; trials without a score come last, like scikit-learn
        order = np.where(np.isnan(results["mean_test_score"]), -np.inf,
                         results["mean_test_score"])
        ranks = np.empty(n, dtype=np.int32)
        for i in range(n):
            ranks[i] = 1 + int(np.sum(order > order[i]))
        results["rank_test_score"] = ranks
        return results

    # ------------------------------------------------------- delegation

    def _check_refitted(self, method):
        check_is_fitted(self)
        if not self.refit:
            raise AttributeError(
                f"This SubjectSearchCV was initialised with refit=False; {method} needs "
                "the best estimator refitted on all the data (refit=True)."
            )

    @property
    def classes_(self):
        """Class labels of the best estimator (classifiers)."""
        self._check_refitted("classes_")
        return self.best_estimator_.classes_

    @property
    def n_features_in_(self):
        """Number of features seen by the best estimator."""
        self._check_refitted("n_features_in_")
        return self.best_estimator_.n_features_in_

    def __sklearn_is_fitted__(self):
        return hasattr(self, "study_")

    @available_if(_estimator_has("predict"))
    def predict(self, X):
        """Predict with the best estimator.

        Parameters
        ----------
        X : array-like of shape (n_samples, ...)
            The input of `estimator`.

        Returns
        -------
        y_pred : ndarray of shape (n_samples,)
            The predictions of ``best_estimator_``.
        """
        self._check_refitted("predict")
        return self.best_estimator_.predict(X)

    @available_if(_estimator_has("predict_proba"))
    def predict_proba(self, X):
        """Class probabilities of the best estimator.

        Parameters
        ----------
        X : array-like of shape (n_samples, ...)
            The input of `estimator`.

        Returns
        -------
        proba : ndarray of shape (n_samples, n_classes)
            The probabilities of ``best_estimator_``.
        """
        self._check_refitted("predict_proba")
        return self.best_estimator_.predict_proba(X)

    @available_if(_estimator_has("predict_log_proba"))
    def predict_log_proba(self, X):
        """Log class probabilities of the best estimator.

        Parameters
        ----------
        X : array-like of shape (n_samples, ...)
            The input of `estimator`.

        Returns
        -------
        log_proba : ndarray of shape (n_samples, n_classes)
            The log-probabilities of ``best_estimator_``.
        """
        self._check_refitted("predict_log_proba")
        return self.best_estimator_.predict_log_proba(X)

    @available_if(_estimator_has("decision_function"))
    def decision_function(self, X):
        """Decision function of the best estimator.

        Parameters
        ----------
        X : array-like of shape (n_samples, ...)
            The input of `estimator`.

        Returns
        -------
        scores : ndarray of shape (n_samples,) or (n_samples, n_classes)
            The decision function of ``best_estimator_``.
        """
        self._check_refitted("decision_function")
        return self.best_estimator_.decision_function(X)

    @available_if(_estimator_has("transform"))
    def transform(self, X):
        """Transform with the best estimator.

        Parameters
        ----------
        X : array-like of shape (n_samples, ...)
            The input of `estimator`.

        Returns
        -------
        X_new : ndarray of shape (n_samples, n_features_new)
            The output of ``best_estimator_.transform``.
        """
        self._check_refitted("transform")
        return self.best_estimator_.transform(X)

    def score(self, X, y=None):
        """Score the best estimator with the search's scorer.

        Parameters
        ----------
        X : array-like of shape (n_samples, ...)
            The input of `estimator`.
        y : array-like of shape (n_samples,), default=None
            The targets.

        Returns
        -------
        score : float
            ``scorer_(best_estimator_, X, y)``.
        """
        self._check_refitted("score")
        return float(self.scorer_(self.best_estimator_, X, y))

"""The fold engine: fit on each training part, then predict or score its test part.

One engine, like scikit-learn's ``_fit_and_score`` behind ``cross_validate``
and its searches, serves every skanimal caller that fits folds:
:func:`~skanimal.evaluation.subject_report` (out-of-fold predictions),
:class:`~skanimal.selective.ConfidenceThresholdClassifierCV` (out-of-fold
probabilities), :class:`~skanimal.model_selection.SubjectSearchCV` (inner-fold
scores) and, through ``subject_report``, the benchmark. Fit parameters, timing
and error scores are handled here once.

scikit-learn's own ``_fit_and_score`` is private and returns scores only;
``cross_val_predict`` returns predictions but neither timings nor a failed
fold's error, so neither fits all four callers.

The folds are joblib tasks (:class:`sklearn.utils.parallel.Parallel`), so they
run wherever joblib's backend sends them: threads or processes on one
machine, or the workers of a Dask cluster
(``joblib.parallel_config(backend="dask")``). A pipeline's leading stateless
image transformer can be applied once, by the caller, before the folds fan
out (``features_once``): the folds then receive the feature matrix and the
rest of the pipeline, not the images.
"""

# Authors: the skanimal developers
# SPDX-License-Identifier: BSD-3-Clause

import hashlib
import os
import time
import traceback

import numpy as np
from sklearn.base import BaseEstimator, clone
from sklearn.utils import _safe_indexing
from sklearn.utils.parallel import Parallel, delayed
from sklearn.utils.validation import _check_method_params, _num_samples

__all__ = [
    "FoldCheckpoint",
    "extract_features",
    "fit_and_predict",
    "fit_folds",
    "out_of_fold",
    "stateless_head",
]


def _index(values, indices):
    return None if values is None else _safe_indexing(values, indices)


def _check_predictions(y_pred, n_test):
    y_pred = np.asarray(y_pred)
    if y_pred.ndim == 2 and y_pred.shape[1] == 1:
        y_pred = y_pred.ravel()
    if y_pred.shape != (n_test,):
        raise ValueError(f"predict returned shape {y_pred.shape}, expected ({n_test},).")
    return y_pred


def _predict(estimator, X_test, response, n_test):
    """(y_pred, proba) of the test part, with one inference per image.

    With ``"predict_proba"`` the predicted class is the winning class of the
    probabilities (``classes_[argmax]``), the label an abstaining classifier
    gives, so that the network runs once rather than for ``predict`` and then
    again for ``predict_proba``.
    """
    if response == "predict":
        return _check_predictions(estimator.predict(X_test), n_test), None
    proba = np.asarray(estimator.predict_proba(X_test))
    if proba.ndim != 2 or proba.shape[0] != n_test:
        raise ValueError(
            f"predict_proba returned shape {proba.shape}, expected ({n_test}, n_classes)."
        )
    return np.asarray(estimator.classes_)[np.argmax(proba, axis=1)], proba


def fit_and_predict(estimator, X, y, train, test, *, fit_params=None, response="predict",
                    scorer=None, error_score="raise", note=None, reraise=()):
    """Fit `estimator` on the training part; predict and/or score the test part.

    Parameters
    ----------
    estimator : estimator object
        Fitted in place (pass a clone).
    X : array-like of shape (n_samples, ...)
        Only indexed, so image paths, image arrays and tables all work.
    y : array-like of shape (n_samples,) or None
        The targets.
    train, test : ndarray of int
        The indices of the two parts.
    fit_params : dict, default=None
        Parameters of ``fit``; sample-aligned arrays are indexed to `train`.
    response : {"predict", "predict_proba"} or None, default="predict"
        What to compute on the test part; None for a score only.
    scorer : callable, default=None
        ``scorer(estimator, X_test, y_test) -> float``, computed after the
        predictions.
    error_score : "raise" or float, default="raise"
        "raise" re-raises an error of ``fit``, of the predictions or of the
        scorer, with `note` added; a number is returned as the score and the
        error is recorded.
    note : str, default=None
        Added to a re-raised exception (e.g. which fold and subjects).
    reraise : tuple of exception types, default=()
        Always re-raised unchanged (e.g. ``optuna.TrialPruned``).

    Returns
    -------
    result : dict
        ``y_pred``, ``proba`` and ``confidence`` (the winning probability)
        (None unless computed, or when the fold failed), ``score`` (float or
        None), ``fit_time``, ``predict_time``
        (seconds; NaN when not reached) and ``error`` (None, or the formatted
        exception).
    """
    result = {"y_pred": None, "proba": None, "confidence": None, "score": None,
              "error": None, "fit_time": np.nan, "predict_time": np.nan}
    try:
        params = _check_method_params(X, params=fit_params or {}, indices=train)
        start = time.perf_counter()
        estimator.fit(_index(X, train), _index(y, train), **params)
        result["fit_time"] = time.perf_counter() - start
        start = time.perf_counter()
        X_test = _index(X, test)
        if response is not None:
            result["y_pred"], proba = _predict(estimator, X_test, response, len(test))
            if proba is not None:
                result["proba"], result["confidence"] = proba, proba.max(axis=1)
        if scorer is not None:
            result["score"] = float(scorer(estimator, X_test, _index(y, test)))
        result["predict_time"] = time.perf_counter() - start
    except reraise:
        raise
    except Exception as exc:
        if isinstance(error_score, str):  # "raise"
            if note and hasattr(exc, "add_note"):  # Python >= 3.11
                exc.add_note(note)
            raise
        result.update(y_pred=None, proba=None, confidence=None, score=float(error_score),
                      error="".join(traceback.format_exception_only(type(exc), exc)))
    return result


def _params_text(estimator):
    """Every parameter of an estimator, nested ones too, as text (reprs truncate)."""
    if not isinstance(estimator, BaseEstimator):
        return repr(estimator)
    params = estimator.get_params(deep=False)
    parts = [f"{k}={_params_text(v) if isinstance(v, BaseEstimator) else _value_text(v)}"
             for k, v in sorted(params.items())]
    return f"{type(estimator).__module__}.{type(estimator).__qualname__}({', '.join(parts)})"


def _value_text(value):
    if isinstance(value, (list, tuple)):
        inner = ", ".join(_params_text(v) if isinstance(v, BaseEstimator) else _value_text(v)
                          for v in value)
        return f"[{inner}]"
    return repr(value)


def _digest(*arrays_or_text):
    h = hashlib.sha256()
    for item in arrays_or_text:
        if isinstance(item, str):
            h.update(item.encode())
        else:
            a = np.asarray(item)
            h.update(str(a.dtype).encode() + str(a.shape).encode())
            h.update(np.ascontiguousarray(a.astype(str) if a.dtype == object else a).tobytes())
        h.update(b"\0")
    return h.hexdigest()


_STORED_KINDS = "biufUS"  # dtypes an .npz holds without pickle


class FoldCheckpoint:
    """A folder that keeps each finished fold's predictions, to resume an evaluation.

    One ``fold-<k>.npz`` file per fold, written atomically when the fold
    finishes, holds its predictions, probabilities, timings and a key: a
    hash of the estimator's parameters, the fold's train and test indices,
    their labels and the response. A fold is reused only when its key
    matches; a file with another key means the folder holds another
    evaluation, and is refused rather than mixed in. Files are read with
    ``allow_pickle=False``: loading never executes code. Failed folds are
    not stored (they are refitted).

    Parameters
    ----------
    directory : str or path-like
        The folder, created when the first fold is saved.
    """

    def __init__(self, directory):
        self.directory = os.fspath(directory)

    def key(self, estimator, y, train, test, response):
        """The key of one fold: what its predictions depend on, besides the images."""
        y = None if y is None else np.asarray(y)
        return _digest(_params_text(estimator), str(response), train, test,
                       *(() if y is None else (y[train], y[test])))

    def path(self, k):
        """The file of fold `k`."""
        return os.path.join(self.directory, f"fold-{k}.npz")

    def load(self, k, key):
        """The stored result of fold `k`, None if it has not finished.

        Raises
        ------
        skanimal.exceptions.ResultsExistError
            If the stored fold was computed for another estimator, data or
            folds.
        """
        from ..exceptions import ResultsExistError

        path = self.path(k)
        if not os.path.exists(path):
            return None
        with np.load(path, allow_pickle=False) as f:
            if str(f["key"]) != key:
                raise ResultsExistError(
                    f"the checkpoint {path!r} holds fold {k} of another evaluation (another "
                    "estimator, other data or other folds); use another folder, or remove "
                    "it to start again.", files=[path])
            result = {"y_pred": None, "proba": None, "confidence": None, "score": None,
                      "error": None, "fit_time": float(f["fit_time"]),
                      "predict_time": float(f["predict_time"]), "resumed": True}
            for name in ("y_pred", "proba", "confidence"):
                if name in f.files:
                    result[name] = f[name]
            if "score" in f.files:
                result["score"] = float(f["score"])
            if bool(f["y_pred_was_object"]) and result["y_pred"] is not None:
                result["y_pred"] = result["y_pred"].astype(object)
        return result

    def save(self, k, key, result):
        """Store the result of fold `k` atomically (failed folds are not stored)."""
        from ._io import atomic_path

        if result["error"] is not None:
            return
        arrays = {"key": np.asarray(key), "fit_time": np.asarray(result["fit_time"]),
                  "predict_time": np.asarray(result["predict_time"]),
                  "y_pred_was_object": np.asarray(False)}
        for name in ("y_pred", "proba", "confidence"):
            value = result[name]
            if value is None:
                continue
            value = np.asarray(value)
            if value.dtype.kind not in _STORED_KINDS:
                if name == "y_pred" and all(isinstance(v, str) for v in value.ravel()):
                    value, arrays["y_pred_was_object"] = value.astype(str), np.asarray(True)
                else:
                    return  # predictions NumPy cannot store without pickle: not resumable
            arrays[name] = value
        if result["score"] is not None:
            arrays["score"] = np.asarray(result["score"])
        os.makedirs(self.directory, exist_ok=True)
        with atomic_path(self.path(k)) as tmp:
            with open(tmp, "wb") as fh:
                np.savez(fh, **arrays)

    def __repr__(self):
        return f"FoldCheckpoint({self.directory!r})"


def _stateless_types():
    """The image transformers that learn nothing in ``fit`` (exact types: a
    subclass may learn)."""
    from ..features import DeepFeatures, LBPFeatures

    return (DeepFeatures, LBPFeatures)


def stateless_head(estimator, fit_params=None):
    """Split a pipeline into its leading stateless image transformer and the rest.

    A frozen :class:`~skanimal.features.DeepFeatures` or an
    :class:`~skanimal.features.LBPFeatures` learns nothing in ``fit``: the
    features of an image are the same whichever images it was fitted on, so
    cross-validating the pipeline equals cross-validating the rest of it on
    the features of all images, computed once.

    Parameters
    ----------
    estimator : estimator object
        Any estimator; only a :class:`~sklearn.pipeline.Pipeline` (or a
        subclass, e.g. imbalanced-learn's) of two or more steps is split.
    fit_params : dict, default=None
        The parameters of ``estimator.fit``; a parameter of the leading step
        (``<name>__<param>``) keeps the pipeline whole.

    Returns
    -------
    head : transformer or None
        The leading step (not a copy), or None when there is nothing to split.
    rest : estimator object
        The pipeline without its leading step (``estimator[1:]``: same step
        names, so ``<name>__<param>`` fit parameters still reach their step),
        or `estimator` itself when `head` is None.
    """
    from sklearn.pipeline import Pipeline

    if not isinstance(estimator, Pipeline) or len(estimator.steps) < 2:
        return None, estimator
    name, step = estimator.steps[0]
    if type(step) not in _stateless_types() or getattr(estimator, "transform_input", None):
        return None, estimator
    if any(key.startswith(f"{name}__") for key in fit_params or {}):
        return None, estimator
    return step, estimator[1:]


def extract_features(transformer, X, *, chunk_size=None, progress=None):
    """Fit a clone of a stateless transformer and transform all of X, on the caller.

    The transformer's own parallelism (``n_jobs``) applies, and with it
    joblib's backend: inside ``joblib.parallel_config(backend="dask")`` the
    images are embedded by the cluster's workers while the cache stays with
    the caller.

    Parameters
    ----------
    transformer : transformer object
        Stateless (see :func:`stateless_head`); fitted on the first image
        only, which is all it checks.
    X : array-like of shape (n_samples, ...)
        The images (paths or arrays), only indexed.
    chunk_size : int, default=None
        Images per ``transform`` call (the progress granularity); None
        transforms X in one call, which lets the transformer spread all of it
        over its workers at once.
    progress : object with ``update(n)``, default=None
        E.g. a tqdm bar, updated after each chunk.

    Returns
    -------
    features : ndarray of shape (n_samples, n_features)
        The transformed X.
    fitted : transformer object
        The fitted clone.
    """
    n_samples = _num_samples(X)
    transformer = clone(transformer).fit(_safe_indexing(X, np.arange(min(1, n_samples))))
    step = n_samples if chunk_size is None else int(chunk_size)
    parts = []
    for start in range(0, n_samples, max(step, 1)):
        stop = min(start + step, n_samples)
        parts.append(np.asarray(transformer.transform(_safe_indexing(X, np.arange(start, stop)))))
        if progress is not None:
            progress.update(stop - start)
    return np.concatenate(parts), transformer


def _features_once(estimator, X, fit_params, error_score):
    """(X, estimator) for the folds: the features and the rest of a pipeline with a
    stateless head, else X and `estimator` unchanged."""
    head, rest = stateless_head(estimator, fit_params)
    if head is None:
        return X, estimator
    try:
        features, _ = extract_features(head, X)
    except Exception as exc:
        if not isinstance(error_score, str):  # a number: each fold fails and records why
            return X, estimator
        if hasattr(exc, "add_note"):  # Python >= 3.11
            exc.add_note(f"Raised while computing the features of the pipeline's first step "
                         f"({type(head).__name__}) once, for all folds.")
        raise
    return features, rest


def _fit_and_save(checkpoint, k, key, *args, **kwargs):
    result = fit_and_predict(*args, **kwargs)
    if checkpoint is not None:
        checkpoint.save(k, key, result)
    return result


def fit_folds(estimator, X, y, folds, *, fit_params=None, response="predict", scorer=None,
              error_score="raise", notes=None, n_jobs=None, verbose=0, desc="folds",
              checkpoint=None, features_once=False):
    """:func:`fit_and_predict` on a clone of `estimator` for every fold.

    Parameters
    ----------
    estimator : estimator object
        Cloned for each fold; never fitted itself.
    X, y : array-like
        As for :func:`fit_and_predict`.
    folds : list of (train, test)
        The folds, already checked (e.g. by ``check_subject_splits``).
    fit_params, response, scorer, error_score : see :func:`fit_and_predict`
    notes : list of str, default=None
        One note per fold for re-raised errors.
    n_jobs : int, default=None
        Folds fitted in parallel with joblib.
    verbose : int, default=0
        If > 0, a progress bar over the folds.
    desc : str, default="folds"
        The progress bar's label.
    checkpoint : FoldCheckpoint, str or path-like, default=None
        Where each finished fold is stored; folds already there (same key)
        are loaded instead of refitted. Their results have ``resumed=True``.
    features_once : bool, default=False
        When `estimator` is a pipeline whose first step is a stateless image
        transformer (:func:`stateless_head`), transform X with it once, here,
        and send the folds the feature matrix and the rest of the pipeline.
        The predictions equal those of the whole pipeline fitted per fold;
        ``fit_time`` no longer includes the features. Nothing is extracted
        when every fold is loaded from `checkpoint`, whose keys stay those of
        the whole pipeline. With a numeric `error_score`, a failed extraction
        falls back to the whole pipeline per fold (each fold records its
        error).

    Returns
    -------
    results : list of dict
        One :func:`fit_and_predict` result per fold, in the order of `folds`.
    """
    notes = notes if notes is not None else [None] * len(folds)
    if checkpoint is not None and not isinstance(checkpoint, FoldCheckpoint):
        checkpoint = FoldCheckpoint(checkpoint)
    keys = [None] * len(folds)
    results = [None] * len(folds)
    if checkpoint is not None:
        keys = [checkpoint.key(estimator, y, train, test, response) for train, test in folds]
        results = [checkpoint.load(k, key) for k, key in enumerate(keys)]
    todo = [k for k, r in enumerate(results) if r is None]
    if features_once and todo:
        X, estimator = _features_once(estimator, X, fit_params, error_score)
    tasks = (
        delayed(_fit_and_save)(
            checkpoint, k, keys[k], clone(estimator), X, y, *folds[k], fit_params=fit_params,
            response=response, scorer=scorer, error_score=error_score, note=notes[k],
        )
        for k in todo
    )
    fitted = Parallel(n_jobs=n_jobs, return_as="generator")(tasks)
    if verbose:
        from tqdm.auto import tqdm

        fitted = tqdm(fitted, total=len(todo), desc=desc, unit="fold")
    for k, result in zip(todo, fitted):
        results[k] = result
    return results


def out_of_fold(results, folds, n_samples):
    """The predictions and confidences of the test parts, in the order of X.

    Parameters
    ----------
    results : list of dict
        The results of :func:`fit_folds`.
    folds : list of (train, test)
        The folds; their test parts must not overlap (a ValueError otherwise:
        one prediction per sample).
    n_samples : int
        The number of samples of X.

    Returns
    -------
    y_pred : ndarray of object of shape (n_samples,)
        The predictions; None where missing.
    confidence : ndarray of float of shape (n_samples,)
        The winning probabilities; NaN where missing or not computed.
    done : ndarray of bool of shape (n_samples,)
        Whether each sample has a prediction. Samples in no test part, or in
        a failed fold, have none.
    """
    y_pred = np.empty(n_samples, dtype=object)
    confidence = np.full(n_samples, np.nan)
    done = np.zeros(n_samples, dtype=bool)
    seen = np.zeros(n_samples, dtype=bool)
    for (_, test), r in zip(folds, results):
        if np.any(seen[test]):
            raise ValueError("out_of_fold needs test parts that do not overlap.")
        seen[test] = True
        if r["y_pred"] is not None:
            y_pred[test] = list(r["y_pred"])
            done[test] = True
        if r["confidence"] is not None:
            confidence[test] = r["confidence"]
    return y_pred, confidence, done

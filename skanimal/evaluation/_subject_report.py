"""Subject-wise evaluation: one row of metrics per held-out subject.

:func:`subject_report` is the evaluation protocol of every skanimal paper: the
estimator is refitted with each subject (or group of subjects) held out, the
held-out subject's images are predicted, and the predictions are scored per
subject and pooled over all folds.
"""

# Authors: the skanimal developers
# SPDX-License-Identifier: BSD-3-Clause

import warnings
from numbers import Integral, Real

import numpy as np
import pandas as pd
from sklearn.base import is_classifier, is_regressor
from sklearn.exceptions import FitFailedWarning
from sklearn.model_selection import GroupKFold, LeaveOneGroupOut
from sklearn.utils._param_validation import (
    HasMethods,
    Interval,
    StrOptions,
    validate_params,
)
from sklearn.utils.multiclass import type_of_target
from sklearn.utils.validation import _num_samples, indexable

from ..exceptions import DataError
from ..metrics import (
    BINARY_SCORES,
    MULTICLASS_SCORES,
    REGRESSION_SCORES,
    binary_scores,
    multiclass_scores,
    regression_scores,
)
from ..utils._docs import cite_papers
from ..utils._folds import fit_folds, out_of_fold
from ..utils._validation import _py, _subjects_repr, check_1d, check_groups, check_subject_splits

__all__ = ["subject_report", "SUMMARY_ROWS"]

#: Labels of the summary rows appended after the per-subject rows.
SUMMARY_ROWS = ("pooled", "mean", "std")

# The delta degrees of freedom of the "std" row (sample standard deviation).
_STD_DDOF = 1

_BINARY_DEFAULT = (
    "tp",
    "tn",
    "fp",
    "fn",
    "f1",
    "accuracy",
    "precision",
    "recall",
    "specificity",
)
_BINARY_EXTRA = tuple(m for m in BINARY_SCORES if m not in _BINARY_DEFAULT)
_MULTICLASS_DEFAULT = MULTICLASS_SCORES
_PER_CLASS = ("precision", "recall", "f1")
_REGRESSION_DEFAULT = REGRESSION_SCORES[:3]  # pearson_r, mae, rmse
_REGRESSION_EXTRA = REGRESSION_SCORES[3:]  # r2


def _selective_columns(task):
    extra = ("selective_sensitivity", "selective_specificity") if task == "binary" else ()
    return ("n_retained", "coverage", "selective_accuracy", *extra)


def _scores(task, y_true, y_pred, *, pos_label, classes, retained=None):
    """The metric columns of one set of predictions (a subject's, or all)."""
    if task == "binary":
        values = binary_scores(y_true, y_pred, pos_label=pos_label)
    elif task == "multiclass":
        values = multiclass_scores(y_true, y_pred, labels=classes)
    else:
        return regression_scores(y_true, y_pred)
    if retained is not None:
        n_kept = int(np.sum(retained))
        kept = (y_true[retained], y_pred[retained])
        values["n_retained"] = n_kept
        values["coverage"] = n_kept / len(y_true) if len(y_true) else np.nan
        if task == "binary":
            kept_scores = binary_scores(*kept, pos_label=pos_label)
            values["selective_sensitivity"] = kept_scores["sensitivity"]
            values["selective_specificity"] = kept_scores["specificity"]
            values["selective_accuracy"] = kept_scores["accuracy"]
        else:
            values["selective_accuracy"] = multiclass_scores(*kept, labels=classes)["accuracy"]
    return values


# --------------------------------------------------------------------------- #
# Validation helpers
# --------------------------------------------------------------------------- #


def _check_y(y, n_samples):
    y = check_1d(y, "y", hint=" (one label or value per sample)")
    if y.shape[0] != n_samples:
        raise DataError(
            "X and y have inconsistent numbers of samples: "
            f"{n_samples} and {y.shape[0]}."
        )
    if pd.isna(y).any():
        raise DataError("y contains missing values (NaN or None).")
    return y


def _check_groups(groups, n_samples):
    groups = check_groups(
        groups, n_samples, caller="subject_report", samples_name="X and y"
    )
    subjects = pd.unique(groups)
    clash = [s for s in subjects if isinstance(s, str) and s in SUMMARY_ROWS]
    if clash:
        raise DataError(
            f"Subject id(s) {clash} collide with the report's summary rows "
            f"{list(SUMMARY_ROWS)}; rename these subjects."
        )
    return groups


def _task_of(estimator, y):
    """Return ("binary" | "multiclass" | "regression", classes or None)."""
    if is_regressor(estimator):
        try:
            values = y.astype(float)
        except (TypeError, ValueError):
            raise DataError(
                f"{type(estimator).__name__} is a regressor but y is not numeric "
                f"(dtype {y.dtype})."
            ) from None
        if not np.all(np.isfinite(values)):
            raise DataError("y contains non-finite values (inf).")
        return "regression", None
    target = type_of_target(y, input_name="y")
    if target == "continuous" and not is_classifier(estimator):
        return "regression", None
    if target not in ("binary", "multiclass"):
        if is_classifier(estimator):
            raise DataError(
                f"{type(estimator).__name__} is a classifier but y is {target!r}; "
                "subject_report supports binary and multiclass labels."
            )
        raise DataError(f"Unsupported target type {target!r} for subject_report.")
    classes = np.unique(y)
    if len(classes) < 2:
        raise DataError(
            f"y holds a single class ({_py(classes[0])!r}); a classifier cannot be "
            "evaluated."
        )
    return ("binary" if len(classes) == 2 else "multiclass"), classes


def _check_pos_label(pos_label, task, classes):
    if task != "binary":
        if pos_label is not None:
            raise DataError(
                f"pos_label={pos_label!r} is only used with binary labels; this is a "
                f"{task} task."
            )
        return None
    if pos_label is None:
        return classes[-1]  # the greater of the two sorted labels
    matches = []
    for c in classes:
        try:
            if _py(c) == pos_label:
                matches.append(c)
        except (TypeError, ValueError):  # incomparable types: not a match
            pass
    if not matches:
        raise DataError(
            f"pos_label={pos_label!r} is not one of the labels in y: "
            f"{[_py(c) for c in classes]}."
        )
    return matches[0]


def _check_metrics(metrics, task, classes):
    """Return (column names, {name: callable})."""
    if task == "binary":
        default, extra = _BINARY_DEFAULT, _BINARY_EXTRA
    elif task == "multiclass":
        per_class = tuple(f"{m}[{c}]" for m in _PER_CLASS for c in classes)
        default, extra = _MULTICLASS_DEFAULT + per_class, ()
    else:
        default, extra = _REGRESSION_DEFAULT, _REGRESSION_EXTRA
    if metrics is None:
        return list(default), {}
    if isinstance(metrics, str) or callable(metrics):
        metrics = [metrics]
    names, funcs = [], {}
    for m in metrics:
        if callable(m):
            name = getattr(m, "__name__", None)
            if not name or name == "<lambda>":
                raise DataError(
                    "A callable in metrics needs a distinctive __name__ (used as its "
                    f"column name); got {m!r}. Use a def or functools.update_wrapper."
                )
            if name in default or name in extra:
                raise DataError(
                    f"Callable metric name {name!r} collides with a built-in metric."
                )
            funcs[name] = m
        elif isinstance(m, str):
            if m not in default and m not in extra:
                raise DataError(
                    f"Unknown metric {m!r} for a {task} task; valid names are "
                    f"{list(default) + list(extra)}, or a callable f(y_true, y_pred)."
                )
            name = m
        else:
            raise TypeError(
                f"metrics must hold metric names (str) or callables, got {m!r}."
            )
        if name in names or name == "n_images":
            raise DataError(f"Metric {name!r} is given more than once.")
        names.append(name)
    if not names:
        raise DataError("metrics is empty; give at least one metric or None.")
    return names, funcs


def _resolve_cv(cv):
    if isinstance(cv, str):  # str has a split method but is no splitter
        raise DataError(
            "The 'cv' parameter of subject_report must be None, an int, a "
            "splitter with split(X, y, groups) or an iterable of (train, test) "
            f"pairs. Got {cv!r} instead."
        )
    if cv is None:
        return LeaveOneGroupOut()
    if isinstance(cv, Integral):
        return GroupKFold(n_splits=int(cv))
    return cv


def _make_folds(cv, X, y, groups, classifier):
    """Materialise and check the (train, test) index pairs of cv."""
    folds = check_subject_splits(cv, X, y, groups, split_name="fold")
    tested = np.full(len(y), -1, dtype=np.intp)
    subject_fold = {}
    for k, (train, test) in enumerate(folds):
        test_subjects = np.unique(groups[test])
        again = tested[test] >= 0
        if np.any(again):
            raise DataError(
                f"Sample {int(test[again][0])} is in the test sets of folds "
                f"{int(tested[test[again][0]])} and {k}; subject_report needs each "
                "sample to be tested at most once (test folds must not overlap)."
            )
        tested[test] = k
        for s in test_subjects:
            s = _py(s)
            if s in subject_fold:
                raise DataError(
                    f"Subject {s!r} is in the test sets of folds {subject_fold[s]} "
                    f"and {k}; each subject must be held out in a single fold."
                )
            subject_fold[s] = k
        if classifier:
            present = np.unique(y[train])
            if present.size < 2:
                raise DataError(
                    f"The training set of fold {k} (held-out subject(s) "
                    f"{_subjects_repr(test_subjects)}) contains a single class, "
                    f"{_py(present[0])!r}: a classifier cannot be fitted on it. Every "
                    "training fold needs two classes or more: hold these subject(s) "
                    "out together with others (e.g. cv=StratifiedGroupKFold(...)) or "
                    "drop them."
                )
    return folds, tested


def _check_abstention(abstain_threshold, task, estimator):
    """Whether the report abstains; an error where it cannot."""
    if abstain_threshold is None:
        return False
    if task == "regression":
        raise DataError(
            "abstain_threshold applies to classifiers; y is continuous or the "
            "estimator is a regressor."
        )
    if not hasattr(estimator, "predict_proba"):
        raise DataError(
            f"abstain_threshold={abstain_threshold} needs probabilities, but "
            f"{type(estimator).__name__} has no predict_proba; wrap it, e.g. in "
            "sklearn.calibration.CalibratedClassifierCV."
        )
    return True


def _warn_missing_classes(folds, y, groups, classes):
    for k, (train, test) in enumerate(folds):
        missing = np.setdiff1d(classes, y[train])
        if missing.size:
            warnings.warn(
                f"The training set of fold {k} (held-out subject(s) "
                f"{_subjects_repr(np.unique(groups[test]))}) has no sample of "
                f"class(es) {[_py(c) for c in missing]}; the model cannot "
                "predict them in that fold.",
                UserWarning,
                stacklevel=4,
            )


def _check_failures(results, error_score):
    failed = [(k, r) for k, r in enumerate(results) if r["error"] is not None]
    if len(failed) == len(results):
        raise DataError(
            f"All the {len(results)} fits failed; the first error was:\n"
            f"{failed[0][1]['error']}"
        )
    if failed:
        warnings.warn(
            f"{len(failed)} of {len(results)} folds failed and were scored "
            f"{error_score!r}; they are left out of the pooled row. Errors:\n"
            + "\n".join(f"fold {k}: {r['error']}" for k, r in failed),
            FitFailedWarning,
            stacklevel=4,
        )


def _check_predicted_labels(y_pred, ok, tested, classes):
    known = {_py(c) for c in classes}
    unknown = [i for i in np.flatnonzero(ok) if _py(y_pred[i]) not in known]
    if unknown:
        i = int(unknown[0])
        raise DataError(
            f"The estimator of fold {int(tested[i])} predicted "
            f"{_py(y_pred[i])!r} for sample {i}, which is not one of the "
            f"labels in y {[_py(c) for c in classes]}."
        )


def _score_table(task, y, y_pred, ok, scored, groups, columns, funcs, *, pos_label,
                 classes, retained, error_score):
    """Per-subject rows (a groupby of the out-of-fold predictions), then the summary."""

    def row_of(idx):
        # cast per subset: y_pred holds None where a fold failed or a sample
        # is in no test set, which would keep the whole array object dtype
        y_true, pred = y[idx], _as_like(y_pred[idx], y)
        values = _scores(task, y_true, pred, pos_label=pos_label, classes=classes,
                         retained=None if retained is None else retained[idx])
        for name, f in funcs.items():
            values[name] = float(f(y_true, pred))
        return {"n_images": len(idx), **{name: values[name] for name in columns}}

    rows, index = [], []
    for subject in np.unique(groups[scored]):
        idx = scored[groups[scored] == subject]
        # a subject is held out in one fold only: all its images or none failed
        rows.append(row_of(idx) if ok[idx].all() else
                    {"n_images": len(idx), **dict.fromkeys(columns, float(error_score))})
        index.append(_py(subject))
    per_subject = pd.DataFrame(rows, columns=["n_images", *columns], dtype=float)
    summary = pd.DataFrame(
        [
            row_of(scored[ok[scored]]),  # the pooled row: all predictions together
            per_subject.mean(axis=0, skipna=True).to_dict(),
            per_subject.std(axis=0, skipna=True, ddof=_STD_DDOF).to_dict(),
        ],
        columns=per_subject.columns,
        dtype=float,
    )
    report = pd.concat([per_subject, summary], ignore_index=True)
    report.index = pd.Index(index + list(SUMMARY_ROWS), dtype=object, name="subject")
    return report


# --------------------------------------------------------------------------- #
# The public function
# --------------------------------------------------------------------------- #


@cite_papers("liu2025")
@validate_params(
    {
        "estimator": [HasMethods(["fit", "predict"])],
        "X": ["array-like"],
        "y": ["array-like"],
        "groups": ["array-like", None],
        "cv": ["cv_object", HasMethods(["split"])],
        "metrics": [list, tuple, str, callable, None],
        "pos_label": "no_validation",
        "n_jobs": [Integral, None],
        "return_predictions": ["boolean"],
        "verbose": ["verbose"],
        "error_score": [StrOptions({"raise"}), Real],
        "params": [dict, None],
        "abstain_threshold": [Interval(Real, 0, 1, closed="both"), None],
    },
    prefer_skip_nested_validation=False,
)
def subject_report(
    estimator,
    X,
    y,
    groups,
    *,
    cv=None,
    metrics=None,
    pos_label=None,
    n_jobs=None,
    return_predictions=False,
    verbose=0,
    error_score="raise",
    params=None,
    abstain_threshold=None,
    checkpoint=None,
):
    """Evaluate an estimator subject-wise: one row of metrics per held-out subject.

    A clone of `estimator` is fitted on each training fold of `cv` and predicts
    its test fold; no subject is ever in both. The out-of-fold predictions are
    scored per held-out subject, pooled over all folds, and summarised by the
    mean and standard deviation over subjects.

    X is only indexed (with scikit-learn's ``_safe_indexing``) and passed to the
    clones, so it can be image paths, an image array or a feature table.

    Parameters
    ----------
    estimator : estimator object
        A classifier or regressor with ``fit`` and ``predict``; cloned per fold,
        never fitted itself. A regressor (``is_regressor``) gets regression
        metrics; anything else is scored as a classifier when y holds classes
        (binary or multiclass) and as a regressor when y is continuous.
    X : array-like of shape (n_samples, ...)
        The input of `estimator`: e.g. image paths, an image array or a 2-D
        feature array.
    y : array-like of shape (n_samples,)
        Labels (classification) or values (regression).
    groups : array-like of shape (n_samples,)
        The subject (animal or person id) of each sample. Required.
    cv : int, cross-validation generator or iterable, default=None
        How subjects are held out:

        - None: :class:`~sklearn.model_selection.LeaveOneGroupOut`, one fold per
          subject (leave-one-rat-out);
        - int: :class:`~sklearn.model_selection.GroupKFold` with that many folds;
        - an object with ``split(X, y, groups)`` (any group-aware splitter, e.g.
          :class:`~sklearn.model_selection.StratifiedGroupKFold` or
          :class:`~sklearn.model_selection.GroupShuffleSplit` with one split);
        - an iterable of ``(train, test)`` index arrays.

        Every fold is checked before anything is fitted: a subject in both the
        training and the test set of a fold, a sample or subject tested in two
        folds, or (for classifiers) a training set with a single class raises a
        ValueError naming the fold. Samples in no test set are not scored.
    metrics : list of str or callable, default=None
        The metric columns, after ``n_images``. None gives the task's defaults:

        - binary: ``tp, tn, fp, fn, f1, accuracy, precision, recall,
          specificity`` (also available: ``sensitivity`` (= recall),
          ``balanced_accuracy``);
        - multiclass: ``accuracy, precision_macro, recall_macro, f1_macro`` and
          per class ``precision[<class>], recall[<class>], f1[<class>]``;
        - regression: ``pearson_r, mae, rmse`` (also available: ``r2``).

        A callable ``f(y_true, y_pred) -> float`` adds a column named after its
        ``__name__``; its pooled value is computed on all out-of-fold
        predictions together.
    pos_label : int, float, bool or str, default=None
        The positive ("pain") class of a binary task. None means the greater of
        the two sorted labels: 1 for {0, 1} or {-1, 1}, True for booleans,
        ``"pain"`` for {``"no pain"``, ``"pain"``}. An explicit value must be one
        of the labels of y. Must be None for other tasks.
    n_jobs : int, default=None
        Number of folds fitted in parallel with joblib. None means 1 unless in
        a :obj:`joblib.parallel_backend` context; -1 means all processors. Keep
        it at 1 when the estimator itself uses several threads.
    return_predictions : bool, default=False
        Also return the out-of-fold predictions.
    verbose : int, default=0
        If > 0, show a progress bar over the folds.
    error_score : "raise" or float, default="raise"
        What to do when fitting or predicting a fold fails. "raise" re-raises
        (with a note naming the fold); a number is written to every metric of
        the fold's subjects, the fold is left out of the pooled row and a
        :class:`~sklearn.exceptions.FitFailedWarning` is issued.
    params : dict, default=None
        Parameters passed to ``estimator.fit``; sample-aligned arrays are
        indexed to the training fold.
    abstain_threshold : float in [0, 1], default=None
        Also evaluate the classifier as an abstaining one (the aMGS protocol,
        Tuttle et al., 2018): an image is *retained* when its confidence, the
        largest probability of ``predict_proba``, is at least this value, and
        the others are discarded as ambiguous. Adds the columns ``n_retained``,
        ``coverage`` (retained fraction) and ``selective_accuracy`` (accuracy
        on the retained images), and for a binary task
        ``selective_sensitivity`` and ``selective_specificity``; the pooled
        row sums the retained counts over all folds. The ordinary metrics
        still score every image. Each fold then runs ``predict_proba`` once
        (a network's inference once per image), and the prediction of an
        image is its winning class, the label an abstaining classifier gives
        with its confidence; for most classifiers this is what ``predict``
        returns too (not for ``SVC(probability=True)``, whose ``predict`` does
        not use the calibrated probabilities). Needs a classifier with
        ``predict_proba``;
        see :class:`~skanimal.selective.ConfidenceThresholdClassifier` for the
        deployable estimator.
    checkpoint : str or path-like, default=None
        A folder in which each fold's out-of-fold predictions are saved (one
        ``.npz`` file, written atomically) as soon as the fold finishes. A
        later call with the same folder, estimator parameters, labels and
        folds loads the finished folds instead of refitting them, so that an
        interrupted evaluation resumes and ends with the same report. A fold
        file from another evaluation raises
        :class:`~skanimal.exceptions.ResultsExistError` instead of being
        mixed in. The files are read without pickle. The images themselves
        are not part of the check: give each dataset its own folder.

    Returns
    -------
    report : pandas.DataFrame
        One row per held-out subject (sorted by subject id), then the rows
        ``"pooled"``, ``"mean"`` and ``"std"``; index named ``"subject"``;
        column ``n_images`` then the metric columns. Binary accuracy is a
        fraction (0-1). ``report.attrs`` holds ``task`` ("binary", "multiclass"
        or "regression"), ``pos_label``, ``classes``, ``metrics``, ``cv`` and
        ``estimator`` (their reprs), ``abstain_threshold``, ``std_ddof`` and
        ``folds`` (one dict per
        fold: ``subjects``, ``n_train``, ``n_test``, ``fit_time``,
        ``predict_time``, ``error``, ``resumed``: whether it was loaded from
        `checkpoint`).
    predictions : pandas.DataFrame
        Only if `return_predictions`. One row per scored sample in the order of
        X, indexed by its position in X (index ``"position"``), with columns
        ``subject``, ``fold``, ``y_true`` and ``y_pred`` (missing for a failed
        fold), and with `abstain_threshold` ``confidence`` and ``retained``.

    See Also
    --------
    skanimal.evaluation.paper_table : Lay out several reports like the papers.
    sklearn.model_selection.cross_validate : Fold-wise scores, not pooled.

    Notes
    -----
    The ``"pooled"`` row follows the PainSeeker protocol (Liu et al., 2025): for
    a binary task TP, TN, FP and FN are **summed over all folds** and then
    F1 = 2TP / (2TP + FP + FN) and accuracy = (TP + TN) / N; for multiclass the
    confusion matrices are summed; for regression the metrics are computed on
    all out-of-fold predictions together. This is not the mean of the
    per-subject scores, which is the ``"mean"`` row.

    A ratio whose denominator is zero is NaN (scikit-learn's
    ``zero_division=np.nan``): a subject with no positive images has NaN recall,
    and NaN F1 unless the model predicts positives for it (then F1 is 0).
    Macro averages skip NaN classes, as scikit-learn does. The ``"mean"`` and
    ``"std"`` rows skip NaN values. ``"std"`` is the *sample* standard deviation
    over subjects (ddof=1, pandas' default; NaN with one subject): it estimates
    the spread between subjects. Note that ``np.std(cross_val_score(...))`` in
    scikit-learn's user guide uses ddof=0; multiply by ``sqrt((n - 1) / n)`` to
    compare.

    A pipeline whose first step is a :class:`~skanimal.features.DeepFeatures`
    or an :class:`~skanimal.features.LBPFeatures` (transformers that learn
    nothing in ``fit``) has its features computed once, on all of X, before
    the folds: the folds fit the rest of the pipeline on the feature matrix.
    The predictions are those of the whole pipeline refitted per fold, and
    no fold ever reads an image. The step's own ``n_jobs`` parallelises the
    extraction; the folds' ``n_jobs`` the rest. Both follow joblib's backend:
    inside ``joblib.parallel_config(backend="dask")`` the images are embedded
    and the folds fitted on a Dask cluster, while the embedding cache stays
    on this machine (see :ref:`scaling_out`).

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.linear_model import LogisticRegression
    >>> from skanimal.evaluation import subject_report
    >>> X = np.array([[0.1], [0.9], [0.2], [0.8], [0.3], [0.4], [0.7], [0.6]])
    >>> y = np.array([0, 1, 0, 1, 0, 1, 1, 0])
    >>> rats = np.repeat(["rat1", "rat2", "rat3", "rat4"], 2)
    >>> report = subject_report(LogisticRegression(C=100), X, y, rats)
    >>> report.index.tolist()
    ['rat1', 'rat2', 'rat3', 'rat4', 'pooled', 'mean', 'std']
    >>> report.loc["pooled", ["tp", "tn", "fp", "fn"]].tolist()
    [3.0, 3.0, 1.0, 1.0]
    >>> float(report.loc["pooled", "f1"])
    0.75
    """
    X = indexable(X)[0]  # e.g. a sparse COO matrix becomes CSR
    n_samples = _num_samples(X)
    y = _check_y(y, n_samples)
    groups = _check_groups(groups, n_samples)
    task, classes = _task_of(estimator, y)
    pos_label = _check_pos_label(pos_label, task, classes)
    columns, funcs = _check_metrics(metrics, task, classes)
    cv = _resolve_cv(cv)
    selective = _check_abstention(abstain_threshold, task, estimator)
    if selective:
        columns = [*columns, *_selective_columns(task)]
    folds, tested = _make_folds(cv, X, y, groups, classifier=task != "regression")
    if task == "multiclass":
        _warn_missing_classes(folds, y, groups, classes)

    fold_subjects = [np.unique(groups[test]) for _, test in folds]
    results = fit_folds(
        estimator, X, y, folds, fit_params=params,
        response="predict_proba" if selective else "predict", error_score=error_score,
        notes=[f"Raised by subject_report in fold {k} (held-out subject(s) "
               f"{_subjects_repr(subjects)})." for k, subjects in enumerate(fold_subjects)],
        n_jobs=n_jobs, verbose=verbose, desc="subject_report", checkpoint=checkpoint,
        features_once=True,
    )
    _check_failures(results, error_score)

    # Out-of-fold predictions, in the order of X.
    y_pred_all, confidence, ok = out_of_fold(results, folds, n_samples)
    retained = confidence >= abstain_threshold if selective else None
    scored = np.flatnonzero(tested >= 0)
    if task != "regression":
        _check_predicted_labels(y_pred_all, ok, tested, classes)
    report = _score_table(task, y, y_pred_all, ok, scored, groups, columns, funcs,
                          pos_label=pos_label, classes=classes, retained=retained,
                          error_score=error_score)
    report.attrs.update(
        {
            "task": task,
            "pos_label": _py(pos_label),
            "classes": None if classes is None else [_py(c) for c in classes],
            "metrics": list(columns),
            "cv": repr(cv),
            "estimator": repr(estimator),
            "abstain_threshold": abstain_threshold,
            "std_ddof": _STD_DDOF,
            "folds": [
                {
                    "fold": k,
                    "subjects": [_py(s) for s in fold_subjects[k]],
                    "n_train": len(train),
                    "n_test": len(test),
                    "fit_time": r["fit_time"],
                    "predict_time": r["predict_time"],
                    "error": r["error"],
                    "resumed": bool(r.get("resumed", False)),
                }
                for k, ((train, test), r) in enumerate(zip(folds, results))
            ],
        }
    )
    if not return_predictions:
        return report

    y_pred_col = y_pred_all[scored]
    if ok[scored].all():
        y_pred_col = _as_like(y_pred_col, y)
    predictions = pd.DataFrame(
        {
            "subject": groups[scored],
            "fold": tested[scored],
            "y_true": y[scored],
            "y_pred": y_pred_col,
        },
        index=pd.Index(scored, name="position"),
    )
    if selective:
        predictions["confidence"] = confidence[scored]
        predictions["retained"] = retained[scored]
    return report, predictions


def _as_like(values, y):
    """Object array of predictions cast back to the dtype of y when possible."""
    try:
        return values.astype(y.dtype) if y.dtype != object else values
    except (TypeError, ValueError):
        return values

"""Per-animal and per-video aggregation of image predictions.

The aMGS workflow (Tuttle et al., 2018) turns image-level predictions into a score
per animal or per video: the share of pain images among the confidently
classified ones, the difference of that share between two conditions (after
surgery minus baseline), and an exclusion rule for videos with too few
confident images. The dog-paper reproductions report video-level accuracy of
frame-level models; :func:`make_group_scorer` gives that accuracy as a
scikit-learn scorer that receives the video ids through metadata routing.
"""

# Authors: the skanimal developers
# SPDX-License-Identifier: BSD-3-Clause

from collections.abc import Mapping
from numbers import Real

import numpy as np
import pandas as pd
from sklearn.metrics import accuracy_score
from sklearn.metrics._scorer import _BaseScorer
from sklearn.utils._param_validation import Interval, StrOptions, validate_params
from sklearn.utils.metadata_routing import MetadataRequest

from ..utils._docs import cite_papers
from ..utils._labels import auto_abstain_value, labels_equal
from ..utils._validation import _py

__all__ = [
    "aggregate_predictions",
    "difference_scores",
    "group_accuracy_score",
    "make_group_scorer",
]

#: Seconds between two grabbed frames in the aMGS protocol (Tuttle et al., 2018).
_FRAME_INTERVAL = 10.0

# value column of difference_scores -> the column whose sum pools it: the
# pooled value is the weighted mean of the groups' values, which for a ratio
# is the ratio of the summed counts (e.g. sum(n_pain) / sum(n_confident)).
_POOL_WEIGHTS = {
    "pct_pain": "n_confident",
    "mean_proba": "n_confident",
    "coverage": "n_images",
    "mean_confidence": "n_images",
}


# --------------------------------------------------------------------------- #
# Validation helpers
# --------------------------------------------------------------------------- #


def _column(values, name, n_samples=None, what=("image", "images")):
    """A sample-aligned 1-D array; errors name the parameter."""
    if hasattr(values, "to_numpy"):
        values = values.to_numpy()
    values = np.asarray(values)
    if values.ndim != 1:
        raise ValueError(f"{name} must be 1-D (one value per {what[0]}), got shape "
                         f"{values.shape}.")
    if n_samples is not None and values.shape[0] != n_samples:
        raise ValueError(f"{name} has {values.shape[0]} entries but there are "
                         f"{n_samples} {what[1]}; give one value per {what[0]}.")
    if pd.isna(values).any():
        raise ValueError(f"{name} contains missing values (NaN or None).")
    return values


def _numeric_column(values, name, n_samples):
    values = _column(values, name, n_samples)
    try:
        values = values.astype(float)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be numeric, got dtype {values.dtype}.") from None
    if not np.all(np.isfinite(values)):
        raise ValueError(f"{name} contains non-finite values (inf).")
    return values


def _is_text(values):
    return values.dtype.kind in "OUST" and any(isinstance(v, str) for v in values)


def _resolve_abstain(abstain_value, labels, *, avoid_labels):
    """``"auto"`` -> -1 for numeric labels, ``"abstain"`` for text labels.

    `avoid_labels` when `labels` are the classes (then the value is never one
    of them, as for the abstaining classifiers); not when they are predictions
    that may already hold the abstain value.
    """
    if isinstance(abstain_value, str) and abstain_value == "auto":
        return auto_abstain_value(labels, avoid_labels=avoid_labels)
    return abstain_value


def _equal_to(values, value):
    """Element-wise ``values == value`` that never broadcasts or warns."""
    if value is None:
        return np.zeros(len(values), dtype=bool)
    return np.fromiter((_py(v) == value for v in values), dtype=bool,
                       count=len(values))


def _factorize(groups, name="groups"):
    """Sorted unique group ids and the group index of every image."""
    try:
        uniques, codes = np.unique(groups, return_inverse=True)
    except TypeError:
        raise ValueError(f"{name} mixes ids of different types that cannot be "
                         "sorted; use ids of one type (all str or all int).") from None
    return uniques, codes.ravel()


def _constant_per_group(values, codes, uniques, name):
    """The single value of `values` within each group, or a ValueError."""
    _, first = np.unique(codes, return_index=True)  # codes cover every group
    per_group = values[first]
    differs = np.flatnonzero(~labels_equal(values, per_group[codes]))
    if differs.size:
        g = codes[differs[0]]
        found = pd.unique(values[codes == g])
        raise ValueError(
            f"{name} must be constant within a group, but group "
            f"{_py(uniques[g])!r} has the values {[_py(v) for v in found]}."
        )
    return per_group


def _empty_vote(abstain_value, labels):
    """The prediction of a group without a kept image: never a real label."""
    if abstain_value is None:  # only the threshold skips images
        return _resolve_abstain("auto", labels, avoid_labels=True)
    return abstain_value


def _vote(y_pred, kept, codes, n_groups, empty):
    """Majority vote of the kept predictions of each group.

    Ties go to the smallest label in sorted order (as in scikit-learn's
    ``VotingClassifier``); a group without a kept prediction gets `empty`.
    Returns (votes as an object array, kept counts).
    """
    votes = np.empty(n_groups, dtype=object)
    votes[:] = [empty] * n_groups
    n_kept = np.bincount(codes[kept], minlength=n_groups)
    if kept.any():
        labels, idx = np.unique(y_pred[kept], return_inverse=True)
        k = len(labels)
        counts = np.bincount(codes[kept] * k + idx.ravel(),
                             minlength=n_groups * k).reshape(n_groups, k)
        has = n_kept > 0
        votes[has] = [_py(v) for v in labels[np.argmax(counts[has], axis=1)]]
    return votes, n_kept


def _as_labels(votes, like):
    """Votes cast to the dtype of `like` when they all fit."""
    if like.dtype.kind not in "biuf":  # text: a cast could truncate the votes
        return votes
    try:
        return votes.astype(like.dtype)
    except (TypeError, ValueError):  # e.g. a text abstain value
        return votes


def _group_values(spec, name, uniques, codes, n_samples):
    """Per-group values from a mapping (dict or Series) or a per-image array."""
    if isinstance(spec, (Mapping, pd.Series)):
        return _lookup(spec, uniques, name)
    values = _column(spec, name, n_samples)
    return _constant_per_group(values, codes, uniques, name)


def _lookup(mapping, group_ids, name):
    """The values of a dict or Series for every group id, in order."""
    lookup = mapping.to_dict() if isinstance(mapping, pd.Series) else mapping
    missing = [_py(g) for g in group_ids if _py(g) not in lookup]
    if missing:
        raise ValueError(
            f"{name} has no entry for the group(s) {missing[:5]}; a dict or "
            "Series maps each group id to a value (pass a per-image column "
            "as an array, e.g. with .to_numpy())."
        )
    values = np.array([lookup[_py(g)] for g in group_ids], dtype=object)
    if pd.isna(values).any():
        raise ValueError(f"{name} contains missing values (NaN or None).")
    return values


# --------------------------------------------------------------------------- #
# aggregate_predictions
# --------------------------------------------------------------------------- #


@cite_papers("tuttle2018")
@validate_params(
    {
        "y_pred": ["array-like"],
        "groups": ["array-like"],
        "y_true": ["array-like", None],
        "confidence": ["array-like", None],
        "threshold": [Interval(Real, 0, 1, closed="both"), None],
        "y_proba": ["array-like", None],
        "pos_label": "no_validation",
        "abstain_value": "no_validation",
        "frame_times": ["array-like", None],
        "durations": [dict, pd.Series, "array-like", None],
        "frame_interval": [Interval(Real, 0, None, closed="neither")],
        "min_rate": [Interval(Real, 0, None, closed="left")],
    },
    prefer_skip_nested_validation=True,
)
def aggregate_predictions(
    y_pred,
    groups,
    *,
    y_true=None,
    confidence=None,
    threshold=None,
    y_proba=None,
    pos_label=1,
    abstain_value="auto",
    frame_times=None,
    durations=None,
    frame_interval=_FRAME_INTERVAL,
    min_rate=1.0,
):
    """Summarise image predictions per animal or per video, as in the aMGS paper.

    An image is *retained* when its prediction is not the abstain value and,
    if `threshold` is given, its confidence is at least `threshold`. Per group
    (video, animal or session) the summary gives the share of pain images
    among the retained ones, the majority vote and, when frame times or video
    durations are known, the exclusion rule of the aMGS paper (Tuttle et al., 2018): a video with
    fewer than `min_rate` retained images per minute is excluded.

    Parameters
    ----------
    y_pred : array-like of shape (n_samples,)
        Predicted label of each image, e.g. the output of
        ``ConfidenceThresholdClassifier.predict`` (where abstentions are
        `abstain_value`) or of any classifier.
    groups : array-like of shape (n_samples,)
        The group (video, animal or session id) of each image.
    y_true : array-like of shape (n_samples,), default=None
        True label of each image. It must be constant within a group (each
        frame carries its video's label); otherwise a ValueError names the
        group. Adds the columns ``y_true`` and ``correct``.
    confidence : array-like of shape (n_samples,), default=None
        Confidence of each prediction, e.g. the winning-class probability
        ``predict_proba(X).max(axis=1)`` (0.5-1 for two classes). Adds
        ``mean_confidence`` and, with `threshold`, discards the images under
        it.
    threshold : float in [0, 1], default=None
        Minimum confidence of a retained image (the aMGS paper uses 0.75).
        Needs `confidence`, or `y_proba` of a binary task, in which case the
        confidence is ``max(y_proba, 1 - y_proba)``. None keeps every image
        that is not an abstention.
    y_proba : array-like of shape (n_samples,), default=None
        Probability of `pos_label` for each image. Adds ``mean_proba``.
    pos_label : int, float, bool or str, default=1
        The pain label, counted in ``n_pain`` and ``pct_pain``.
    abstain_value : int, float, str or None, default="auto"
        The prediction that means "abstained": ``"auto"`` is -1 for numeric
        predictions and ``"abstain"`` for text labels (the convention of
        :class:`~skanimal.selective.ConfidenceThresholdClassifier`); None means
        that no prediction is an abstention. A classifier one of whose classes
        is -1 (or ``"abstain"``) abstains with another value: pass its
        ``abstain_value_`` here.
    frame_times : array-like of shape (n_samples,), default=None
        Time of each image in its video, in seconds. A group's duration is
        then ``max - min + frame_interval``: n frames grabbed every
        `frame_interval` seconds cover n intervals of video.
    durations : dict, pandas.Series or array-like of shape (n_samples,), \
            default=None
        Duration of each group in seconds: a dict or Series mapping every
        group id to its duration, or one value per image (constant within a
        group). Takes the place of `frame_times`; give at most one of them.
    frame_interval : float, default=10.0
        Seconds between two grabbed frames (the aMGS paper takes one frame
        per 10 s). Only used with `frame_times`.
    min_rate : float, default=1.0
        Minimum number of retained images per minute of video; a group under
        it is excluded (Tuttle et al., 2018: fewer than one high-confidence image
        per minute). 0 excludes nothing.

    Returns
    -------
    summary : pandas.DataFrame
        One row per group, sorted by group id (index named after `groups` if
        it is a named Series, else ``"group"``), with the columns:

        - ``n_images``: images of the group;
        - ``n_confident``: retained images;
        - ``coverage``: ``n_confident / n_images``;
        - ``n_pain``: retained images predicted `pos_label`;
        - ``pct_pain``: ``n_pain / n_confident * 100`` (NaN when nothing is
          retained);
        - ``mean_confidence``: mean confidence of **all** the group's images
          (only with `confidence` or `threshold`);
        - ``mean_proba``: mean `y_proba` of the retained images (only with
          `y_proba`);
        - ``majority``: majority vote of the retained predictions (ties go to
          the smallest label in sorted order; `abstain_value` when nothing is
          retained; if `abstain_value` is None, -1 / ``"abstain"``, or a value
          that is not one of the predictions when they hold it);
        - ``y_true`` and ``correct`` (``majority == y_true``; False when
          nothing is retained): only with `y_true`;
        - ``minutes``: duration in minutes (NaN without times or durations);
        - ``confident_per_minute``: ``n_confident / minutes``;
        - ``excluded``: ``confident_per_minute < min_rate``;
        - ``reason``: why the group is excluded ("" when it is not).

        ``summary.attrs`` holds ``threshold``, ``pos_label``,
        ``abstain_value``, ``min_rate`` and ``exclusion`` (how the durations
        were obtained, or that the rule was not applied).

    See Also
    --------
    difference_scores : Per-subject difference of % pain between conditions.
    make_group_scorer : Video-level scores inside cross-validation.

    Notes
    -----
    Without `frame_times` or `durations` the exclusion rule cannot be applied
    (the number of images says nothing about the length of a video): every
    group has ``excluded=False`` and NaN ``minutes`` and
    ``confident_per_minute``, and ``summary.attrs["exclusion"]`` says so.
    Excluded groups stay in the summary; :func:`difference_scores` leaves
    them out.

    Examples
    --------
    >>> from skanimal.evaluation import aggregate_predictions
    >>> y_pred = [1, 1, -1, 0, 0, 0, 1, -1]
    >>> videos = ["v1", "v1", "v1", "v1", "v2", "v2", "v2", "v2"]
    >>> times = [0, 10, 20, 30, 0, 10, 20, 150]
    >>> summary = aggregate_predictions(y_pred, videos, frame_times=times,
    ...                                min_rate=1.5)
    >>> summary[["n_confident", "pct_pain", "majority", "minutes"]]
           n_confident   pct_pain  majority  minutes
    group
    v1               3  66.666667         1 0.666667
    v2               3  33.333333         0 2.666667
    >>> summary["excluded"].tolist()
    [False, True]
    >>> summary.loc["v2", "reason"]
    '1.12 confident images per minute < min_rate=1.5'
    """
    y_pred = _column(y_pred, "y_pred")
    n = y_pred.shape[0]
    if n == 0:
        raise ValueError("y_pred is empty; there is nothing to aggregate.")
    named = isinstance(groups, pd.Series) and groups.name is not None
    index_name = groups.name if named else "group"
    groups = _column(groups, "groups", n)
    uniques, codes = _factorize(groups)
    n_groups = len(uniques)
    abstain_value = _resolve_abstain(abstain_value, y_pred, avoid_labels=False)
    _check_pos_label(pos_label, y_pred, abstain_value)

    if y_proba is not None:
        y_proba = _numeric_column(y_proba, "y_proba", n)
    if confidence is not None:
        confidence = _numeric_column(confidence, "confidence", n)
    elif threshold is not None:
        if y_proba is None:
            raise ValueError(
                f"threshold={threshold} needs the confidence of each image: give "
                "confidence (e.g. predict_proba(X).max(axis=1)) or y_proba."
            )
        confidence = np.maximum(y_proba, 1.0 - y_proba)

    kept = ~_equal_to(y_pred, abstain_value)
    if threshold is not None:
        kept &= confidence >= threshold
    n_images = np.bincount(codes, minlength=n_groups)
    majority, n_kept = _vote(y_pred, kept, codes, n_groups,
                             _empty_vote(abstain_value, y_pred))
    n_pain = np.bincount(codes[kept & _equal_to(y_pred, pos_label)],
                         minlength=n_groups)
    with np.errstate(divide="ignore", invalid="ignore"):
        columns = {
            "n_images": n_images,
            "n_confident": n_kept,
            "coverage": n_kept / n_images,
            "n_pain": n_pain,
            "pct_pain": np.where(n_kept > 0, 100.0 * n_pain / n_kept, np.nan),
        }
        if confidence is not None:
            columns["mean_confidence"] = (
                np.bincount(codes, weights=confidence, minlength=n_groups) / n_images
            )
        if y_proba is not None:
            columns["mean_proba"] = np.bincount(
                codes[kept], weights=y_proba[kept], minlength=n_groups
            ) / n_kept
    columns["majority"] = _as_labels(majority, y_pred)
    if y_true is not None:
        y_true = _column(y_true, "y_true", n)
        truth = _constant_per_group(y_true, codes, uniques, "y_true")
        columns["y_true"] = truth
        columns["correct"] = labels_equal(majority, truth) & (n_kept > 0)

    seconds, exclusion = _durations(frame_times, durations, frame_interval,
                                    uniques, codes, n)
    minutes = seconds / 60.0
    rate = n_kept / minutes
    excluded = rate < min_rate  # False for NaN rates
    columns["minutes"] = minutes
    columns["confident_per_minute"] = rate
    columns["excluded"] = excluded
    columns["reason"] = [
        ("no confident image" if k == 0 else
         f"{r:.2f} confident images per minute < min_rate={min_rate:g}")
        if e else ""
        for k, r, e in zip(n_kept, rate, excluded)
    ]
    summary = pd.DataFrame(columns, index=pd.Index([_py(g) for g in uniques],
                                                   name=index_name))
    summary.attrs.update({
        "threshold": threshold,
        "pos_label": _py(pos_label),
        "abstain_value": _py(abstain_value),
        "min_rate": float(min_rate),
        "exclusion": exclusion,
    })
    return summary


def _check_pos_label(pos_label, y_pred, abstain_value):
    """A text pos_label with numeric predictions (or the reverse) is a mistake."""
    labels = y_pred[~_equal_to(y_pred, abstain_value)]
    if labels.size and isinstance(pos_label, str) != _is_text(labels):
        raise ValueError(
            f"pos_label={pos_label!r} cannot be one of the predicted labels "
            f"{[_py(v) for v in pd.unique(labels)][:5]}; give the pain label "
            "as it appears in y_pred."
        )


def _durations(frame_times, durations, frame_interval, uniques, codes, n):
    """Seconds per group and a sentence on how they were obtained."""
    if frame_times is not None and durations is not None:
        raise ValueError("Give either frame_times or durations, not both.")
    if durations is not None:
        values = _group_values(durations, "durations", uniques, codes, n)
        try:
            seconds = values.astype(float)
        except (TypeError, ValueError):
            raise ValueError("durations must be numbers of seconds.") from None
        bad = np.flatnonzero(~np.isfinite(seconds) | (seconds <= 0))
        if bad.size:
            raise ValueError(
                f"durations must be positive numbers of seconds; group "
                f"{_py(uniques[bad[0]])!r} has {values[bad[0]]!r}."
            )
        return seconds, "durations"
    if frame_times is not None:
        times = _numeric_column(frame_times, "frame_times", n)
        lo = np.full(len(uniques), np.inf)
        hi = np.full(len(uniques), -np.inf)
        np.minimum.at(lo, codes, times)
        np.maximum.at(hi, codes, times)
        return hi - lo + frame_interval, (
            f"frame_times: max - min + frame_interval ({frame_interval:g} s)"
        )
    return (np.full(len(uniques), np.nan),
            "not applied: no frame_times or durations were given")


# --------------------------------------------------------------------------- #
# difference_scores
# --------------------------------------------------------------------------- #


@cite_papers("tuttle2018")
@validate_params(
    {
        "summary": [pd.DataFrame],
        "subject": [str, dict, pd.Series, "array-like"],
        "condition": [str, dict, pd.Series, "array-like"],
        "baseline": "no_validation",
        "treatment": "no_validation",
        "value": [StrOptions(set(_POOL_WEIGHTS))],
    },
    prefer_skip_nested_validation=True,
)
def difference_scores(summary, subject, condition, *, baseline, treatment,
                      value="pct_pain"):
    """Per-subject difference of a group score between two conditions.

    The aMGS difference score (Tuttle et al., 2018): % pain after surgery minus %
    pain at baseline, per animal. Groups (videos) marked ``excluded`` are
    left out; several groups of one subject in one condition are pooled.

    Parameters
    ----------
    summary : pandas.DataFrame
        The output of :func:`aggregate_predictions`, one row per group.
    subject : str, dict, pandas.Series or array-like of shape (n_groups,)
        The subject (animal) of each group: the name of a column of
        `summary`, a dict or Series mapping group ids to subjects, or one
        value per row of `summary`.
    condition : str, dict, pandas.Series or array-like of shape (n_groups,)
        The condition of each group (e.g. ``"baseline"`` / ``"post-op"``),
        given like `subject`. Groups in neither `baseline` nor `treatment`
        are ignored.
    baseline : object
        The condition subtracted.
    treatment : object
        The condition from which `baseline` is subtracted.
    value : {"pct_pain", "mean_proba", "coverage", "mean_confidence"}, \
            default="pct_pain"
        The column of `summary` compared.

    Returns
    -------
    scores : pandas.DataFrame
        One row per subject with a group in either condition, sorted (index
        ``"subject"``), with the columns ``baseline``, ``treatment``,
        ``difference`` (``treatment - baseline``; NaN when either is missing),
        ``n_groups_baseline``, ``n_groups_treatment`` (groups pooled) and
        ``n_excluded_baseline``, ``n_excluded_treatment`` (groups left out).
        ``scores.attrs`` holds ``value``, ``baseline``, ``treatment`` and
        ``excluded_groups`` (the ids of the groups left out).

    See Also
    --------
    aggregate_predictions : Compute the per-group summary.

    Notes
    -----
    Pooling follows skanimal's pooled metrics: the value is recomputed from
    summed counts, not averaged over groups. ``pct_pain`` is
    ``sum(n_pain) / sum(n_confident) * 100`` over the subject's included
    groups of that condition; ``mean_proba`` is weighted by ``n_confident``
    and ``coverage`` and ``mean_confidence`` by ``n_images`` (the mean over
    all their images). A group with no retained image adds nothing. A subject
    whose groups of a condition are all excluded gets NaN there.

    Examples
    --------
    >>> from skanimal.evaluation import aggregate_predictions, difference_scores
    >>> y_pred = [0, 0, 1, 0, 1, 1, 1, 0, 1, 1]
    >>> videos = ["a0", "a0", "a0", "a0", "a1", "a1", "b0", "b0", "b1", "b1"]
    >>> summary = aggregate_predictions(y_pred, videos)
    >>> summary["mouse"] = ["A", "A", "B", "B"]
    >>> summary["phase"] = ["pre", "post", "pre", "post"]
    >>> difference_scores(summary, "mouse", "phase", baseline="pre",
    ...                   treatment="post")[["baseline", "treatment", "difference"]]
             baseline  treatment  difference
    subject
    A            25.0      100.0        75.0
    B            50.0      100.0        50.0
    """
    for name in (value, _POOL_WEIGHTS[value]):
        if name not in summary.columns:
            raise ValueError(f"summary has no column {name!r}; pass the output of "
                             "aggregate_predictions.")
    if baseline == treatment:
        raise ValueError(f"baseline and treatment are both {baseline!r}; give two "
                         "different conditions.")
    subjects = _summary_column(summary, subject, "subject")
    conditions = _summary_column(summary, condition, "condition")
    for name, cond in (("baseline", baseline), ("treatment", treatment)):
        if not _equal_to(conditions, cond).any():
            found = [_py(c) for c in pd.unique(conditions)]
            raise ValueError(f"{name}={cond!r} is not a condition of any group; the "
                             f"conditions are {found}.")
    excluded = (summary["excluded"].to_numpy(dtype=bool) if "excluded" in summary
                else np.zeros(len(summary), dtype=bool))
    values = summary[value].to_numpy(dtype=float)
    weights = summary[_POOL_WEIGHTS[value]].to_numpy(dtype=float)
    weights = np.where(np.isnan(values), 0.0, weights)
    values = np.nan_to_num(values)

    frames = {}
    for label, cond in (("baseline", baseline), ("treatment", treatment)):
        sel = _equal_to(conditions, cond)
        used = sel & ~excluded
        frame = pd.DataFrame({
            "subject": subjects[sel],
            "num": np.where(used, values * weights, 0.0)[sel],
            "den": np.where(used, weights, 0.0)[sel],
            "n": used[sel].astype(int),
            "x": (sel & excluded)[sel].astype(int),
        }).groupby("subject", sort=True).sum()
        with np.errstate(divide="ignore", invalid="ignore"):
            pooled = np.where(frame["den"] > 0, frame["num"] / frame["den"], np.nan)
        frames[label] = pd.DataFrame({
            label: pooled,
            f"n_groups_{label}": frame["n"],
            f"n_excluded_{label}": frame["x"],
        }, index=frame.index)
    scores = frames["baseline"].join(frames["treatment"], how="outer").sort_index()
    for col in scores.columns:
        if col.startswith("n_"):
            scores[col] = scores[col].fillna(0).astype(int)
    scores.insert(2, "difference", scores["treatment"] - scores["baseline"])
    scores = scores[["baseline", "treatment", "difference", "n_groups_baseline",
                     "n_groups_treatment", "n_excluded_baseline",
                     "n_excluded_treatment"]]
    scores.index.name = "subject"
    in_either = _equal_to(conditions, baseline) | _equal_to(conditions, treatment)
    scores.attrs.update({
        "value": value,
        "baseline": _py(baseline),
        "treatment": _py(treatment),
        "excluded_groups": [_py(g) for g in summary.index[excluded & in_either]],
    })
    return scores


def _summary_column(summary, spec, name):
    """One value per row of summary: a column name, a mapping or an array."""
    if isinstance(spec, str):
        if spec not in summary.columns:
            raise ValueError(f"{name}={spec!r} is not a column of summary.")
        spec = summary[spec].to_numpy()
    elif isinstance(spec, (Mapping, pd.Series)):
        return _lookup(spec, summary.index, name)
    return _column(spec, name, len(summary), what=("row of summary", "rows in summary"))


# --------------------------------------------------------------------------- #
# Group-level scoring
# --------------------------------------------------------------------------- #


def _group_predictions(y_true, y_pred, groups, *, abstain_value, vote="majority",
                       proba=None, classes=None, threshold=None):
    """Per-group true labels and predictions (majority vote or mean probability).

    Images predicted `abstain_value`, or under `threshold` (the largest
    probability in `proba`), are skipped; a group without a kept image gets
    the abstain value as its prediction.
    """
    y_true = _column(y_true, "y_true")
    n = y_true.shape[0]
    if n == 0:
        raise ValueError("y_true is empty; there is nothing to score.")
    groups = _column(groups, "groups", n)
    uniques, codes = _factorize(groups)
    n_groups = len(uniques)
    truth = _constant_per_group(y_true, codes, uniques, "y_true")
    abstain_value = _resolve_abstain(abstain_value, y_true, avoid_labels=True)
    kept = np.ones(n, dtype=bool)
    if y_pred is not None:
        y_pred = _column(y_pred, "y_pred", n)
        kept &= ~_equal_to(y_pred, abstain_value)
    if proba is not None:
        proba = np.asarray(proba, dtype=float)
        if proba.ndim != 2 or proba.shape != (n, len(classes)):
            raise ValueError(f"predict_proba returned shape {proba.shape}, expected "
                             f"({n}, {len(classes)}).")
        if threshold is not None:
            kept &= proba.max(axis=1) >= threshold
    if vote == "majority":
        votes, _ = _vote(y_pred, kept, codes, n_groups,
                         _empty_vote(abstain_value, y_true))
    else:
        sums = np.zeros((n_groups, len(classes)))
        np.add.at(sums, codes[kept], proba[kept])
        votes = np.empty(n_groups, dtype=object)
        votes[:] = [_empty_vote(abstain_value, y_true)] * n_groups
        has = np.bincount(codes[kept], minlength=n_groups) > 0
        votes[has] = [_py(c) for c in np.asarray(classes)[np.argmax(sums[has], axis=1)]]
    return truth, _as_labels(votes, y_true)


@validate_params(
    {
        "y_true": ["array-like"],
        "y_pred": ["array-like"],
        "groups": ["array-like"],
        "abstain_value": "no_validation",
    },
    prefer_skip_nested_validation=True,
)
def group_accuracy_score(y_true, y_pred, *, groups, abstain_value="auto"):
    """Accuracy of the majority vote of each group (e.g. video-level accuracy).

    Every frame carries its video's label; the prediction of a video is the
    majority vote of its frames' predictions, abstentions left out.

    Parameters
    ----------
    y_true : array-like of shape (n_samples,)
        True label of each image; constant within a group.
    y_pred : array-like of shape (n_samples,)
        Predicted label of each image (abstentions are `abstain_value`).
    groups : array-like of shape (n_samples,)
        The group (video) of each image.
    abstain_value : int, float, str or None, default="auto"
        The prediction that means "abstained": ``"auto"`` is -1 for numeric
        labels and ``"abstain"`` for text labels, or a value that is not one
        of the labels of `y_true` when they hold it; None means no
        abstention. With predictions of a fitted
        :class:`~skanimal.selective.ConfidenceThresholdClassifier`, pass its
        ``abstain_value_``: the labels of one test fold may not show all of
        its classes.

    Returns
    -------
    score : float
        The fraction of groups whose vote equals their label. A group whose
        predictions are all abstentions counts as wrong, so abstaining cannot
        raise the score.

    See Also
    --------
    make_group_scorer : The same score as a scorer for cross-validation.
    aggregate_predictions : Per-group summary with the votes.

    Notes
    -----
    Ties go to the smallest label in sorted order, as in scikit-learn's
    :class:`~sklearn.ensemble.VotingClassifier`.

    Examples
    --------
    >>> from skanimal.evaluation import group_accuracy_score
    >>> y_true = [1, 1, 1, 0, 0, 0, 1, 1]
    >>> y_pred = [1, 0, 1, 1, 1, 0, -1, -1]
    >>> videos = [1, 1, 1, 2, 2, 2, 3, 3]
    >>> group_accuracy_score(y_true, y_pred, groups=videos)
    0.3333333333333333
    """
    truth, votes = _group_predictions(y_true, y_pred, groups,
                                      abstain_value=abstain_value)
    return float(accuracy_score(truth, votes))


class _GroupScorer(_BaseScorer):
    """A scorer of group-level (e.g. video-level) predictions.

    It requests the sample-aligned group ids under the name `group_param`
    through metadata routing (requested by default, as group splitters
    request ``groups``).
    """

    def __init__(self, score_func, sign, kwargs, *, vote, group_param,
                 abstain_value, threshold):
        super().__init__(
            score_func, sign, kwargs,
            response_method="predict_proba" if vote == "mean_proba" else "predict",
        )
        self._vote = vote
        self._group_param = group_param
        self._abstain_value = abstain_value
        self._threshold = threshold

    def __repr__(self):
        func = getattr(self._score_func, "__name__", repr(self._score_func))
        args = "".join(f", {k}={v!r}" for k, v in self._kwargs.items())
        sign = "" if self._sign > 0 else ", greater_is_better=False"
        threshold = "" if self._threshold is None else f", threshold={self._threshold}"
        return (f"make_group_scorer({func}, vote={self._vote!r}, "
                f"group_param={self._group_param!r}{threshold}{sign}{args})")

    def _accept_sample_weight(self):
        return False

    def _get_metadata_request(self):
        if hasattr(self, "_metadata_request"):  # set by set_score_request
            return super()._get_metadata_request()
        requests = MetadataRequest(owner=self)
        requests.score.add_request(param=self._group_param, alias=True)
        return requests

    def __call__(self, estimator, X, y_true, **kwargs):
        """Score `estimator` on `X` and `y_true` at the group level.

        Unlike scikit-learn's scorers it can also be called directly, without
        metadata routing, as ``scorer(estimator, X, y, video=video_ids)``.

        Parameters
        ----------
        estimator : object
            A fitted classifier.
        X : array-like of shape (n_samples, ...)
            The test input of `estimator`.
        y_true : array-like of shape (n_samples,)
            True labels, constant within a group.
        **kwargs : dict
            The group ids, under the scorer's `group_param` name.

        Returns
        -------
        score : float
            The score of the group predictions (negated when lower is better).
        """
        return self._score(None, estimator, X, y_true, **kwargs)

    def _score(self, method_caller, estimator, X, y_true, **kwargs):
        groups = kwargs.pop(self._group_param, None)
        if "sample_weight" in kwargs:
            raise ValueError("sample_weight is not supported by a group scorer: "
                             "image weights do not define group weights.")
        if groups is None:
            name = self._group_param
            raise ValueError(
                f"{self!r} needs the {name!r} id of each sample. In cross-validation "
                "enable metadata routing: with sklearn.config_context("
                "enable_metadata_routing=True): cross_validate(..., params={"
                f"'{name}': ids, ...}}); or call scorer(estimator, X, y, {name}=ids)."
            )
        y_pred = estimator.predict(X) if self._vote == "majority" else None
        proba = classes = None
        if self._vote == "mean_proba" or self._threshold is not None:
            proba = estimator.predict_proba(X)
            classes = estimator.classes_
        abstain_value = self._abstain_value
        if isinstance(abstain_value, str) and abstain_value == "auto":
            # an abstaining classifier knows its value (-2 when -1 is a class);
            # the labels of one test fold may not show that -1 is a class
            abstain_value = getattr(estimator, "abstain_value_", abstain_value)
        truth, votes = _group_predictions(
            y_true, y_pred, groups, abstain_value=abstain_value,
            vote=self._vote, proba=proba, classes=classes, threshold=self._threshold,
        )
        return self._sign * self._score_func(truth, votes, **{**self._kwargs, **kwargs})


@cite_papers("boneh-shitrit")
@validate_params(
    {
        "score_func": [callable],
        "vote": [StrOptions({"majority", "mean_proba"})],
        "group_param": [str],
        "threshold": [Interval(Real, 0, 1, closed="both"), None],
        "abstain_value": "no_validation",
        "greater_is_better": ["boolean"],
    },
    prefer_skip_nested_validation=True,
)
def make_group_scorer(score_func=accuracy_score, *, vote="majority",
                      group_param="video", threshold=None, abstain_value="auto",
                      greater_is_better=True, **kwargs):
    """Make a scorer of group-level predictions, e.g. video-level accuracy.

    The frames of a video each carry the video's label; a frame-level model
    is scored per video by voting over the video's frames, as the dog-paper
    reproductions report. The scorer gets the video id of each test sample
    through scikit-learn's metadata routing, so it works as ``scoring=`` in
    :func:`~sklearn.model_selection.cross_validate` or
    :class:`~sklearn.model_selection.GridSearchCV` with a group-aware splitter.

    Parameters
    ----------
    score_func : callable, default=accuracy_score
        A metric ``score_func(y_true, y_pred, **kwargs)`` applied to the
        per-group true labels and predictions.
    vote : {"majority", "mean_proba"}, default="majority"
        How a group's prediction is made: "majority" votes over the
        ``predict`` outputs (ties go to the smallest label in sorted order);
        "mean_proba" takes the class of largest mean ``predict_proba`` (ties to
        the first of ``estimator.classes_``).
    group_param : str, default="video"
        The metadata name under which the group ids are routed to the scorer
        (requested by default). Use ``"groups"`` to vote per subject with the
        ids that the splitter gets.
    threshold : float in [0, 1], default=None
        Images whose largest predicted probability is under it are skipped in
        the vote (needs ``predict_proba``). None keeps all images.
    abstain_value : int, float, str or None, default="auto"
        Predictions skipped in the majority vote: ``"auto"`` is the scored
        estimator's ``abstain_value_`` when it has one (an abstaining
        :class:`~skanimal.selective.ConfidenceThresholdClassifier`), else -1
        for numeric labels and ``"abstain"`` for text labels; None skips
        nothing. The "mean_proba" vote
        does not call ``predict``: use `threshold` to skip images there. A
        group with no kept image is predicted `abstain_value` (-1 or
        ``"abstain"`` when it is None).
    greater_is_better : bool, default=True
        Whether a higher `score_func` is better; if not, the scorer returns
        the negated score, as scikit-learn's scorers do.
    **kwargs : dict
        Further arguments of `score_func`, e.g. ``pos_label``.

    Returns
    -------
    scorer : callable
        ``scorer(estimator, X, y_true, **{group_param: ids})``. A group with
        no kept image gets the abstain value as its prediction, which is
        compared with its label: it counts as wrong, so abstaining cannot
        raise the score.

    See Also
    --------
    group_accuracy_score : The majority-vote accuracy as a metric function.
    aggregate_predictions : Per-group summary of predictions.

    Notes
    -----
    Metadata routing must be enabled to pass the ids through
    ``cross_validate``; it does not change the global configuration when
    used as a context::

        with sklearn.config_context(enable_metadata_routing=True):
            cross_validate(model, X, y, cv=GroupKFold(3),
                           scoring=make_group_scorer(),
                           params={"groups": subjects, "video": videos})

    The splitter must keep every video in one fold (split by subject, or by
    video); a video whose label changes between frames is an error. With
    routing enabled, the estimator's ``fit`` receives only what it requests.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.linear_model import LogisticRegression
    >>> from skanimal.evaluation import make_group_scorer
    >>> X = np.array([[0.0], [0.2], [0.9], [1.0], [0.1], [0.7], [0.8], [0.6]])
    >>> y = np.array([0, 0, 1, 1, 0, 0, 1, 1])
    >>> videos = np.array([1, 1, 2, 2, 3, 3, 4, 4])
    >>> model = LogisticRegression(C=100).fit(X, y)
    >>> model.predict(X).tolist()
    [0, 0, 1, 1, 0, 1, 1, 1]
    >>> scorer = make_group_scorer()
    >>> scorer(model, X, y, video=videos)
    1.0
    """
    return _GroupScorer(score_func, 1 if greater_is_better else -1, kwargs,
                        vote=vote, group_param=group_param,
                        abstain_value=abstain_value, threshold=threshold)

"""Agreement between a classifier's confidence and human grimace scores.

The automated Mouse Grimace Scale paper (Tuttle et al., 2018) maps each image's
confidence to a signed score in [-1, 1] (-1 certain no pain, +1 certain pain)
and reports its Pearson correlation with the human Mouse Grimace Scale sum
(r = 0.75 on 433 images).
"""

# Authors: the skanimal developers
# SPDX-License-Identifier: BSD-3-Clause

from numbers import Integral, Real

import numpy as np
import pandas as pd
from scipy import stats
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval, StrOptions, validate_params

from ..utils._docs import cite_papers
from ..utils._labels import equals_value as _equals

__all__ = ["human_agreement", "signed_confidence"]

_COLUMNS = ["r", "ci_low", "ci_high", "p_value", "n"]

# Bootstrap resamples drawn at once (bounds the memory of the count matrix).
_BOOTSTRAP_BATCH = 2048


@cite_papers("tuttle2018")
@validate_params(
    {
        "y_proba": ["array-like"],
        "classes": ["array-like", None],
        "pos_label": [Real, str],
    },
    prefer_skip_nested_validation=True,
)
def signed_confidence(y_proba, *, classes=None, pos_label=1):
    """Map pain probabilities to a signed score: -1 certain no pain, +1 certain pain.

    The score is ``2 * p(pain) - 1``. Equivalently, with ``c`` the winning
    class probability (the confidence, 0.5-1), it is ``+(2c - 1)`` when the
    predicted class is pain and ``-(2c - 1)`` when it is no pain: 0 is a
    coin toss, and the sign is the prediction, as in the aMGS paper [1]_.

    Parameters
    ----------
    y_proba : array-like of shape (n_samples,) or (n_samples, 2)
        Either the probability of pain of each sample, or the two-column
        output of a binary ``predict_proba``.
    classes : array-like of shape (2,), default=None
        The classes of the columns of a two-column `y_proba` (the
        estimator's ``classes_``), used to find the column of `pos_label`.
        None means ``[0, 1]``.
    pos_label : int, float or str, default=1
        The pain class. Only used with a two-column `y_proba`.

    Returns
    -------
    score : ndarray of shape (n_samples,)
        The signed confidence, in [-1, 1].

    See Also
    --------
    human_agreement : Its correlation with human scores.

    Examples
    --------
    >>> import numpy as np
    >>> from skanimal.selective import signed_confidence
    >>> signed_confidence([0.0, 0.5, 0.9])
    array([-1. ,  0. ,  0.8])
    >>> proba = np.array([[0.9, 0.1], [0.2, 0.8]])
    >>> signed_confidence(proba, classes=["no pain", "pain"], pos_label="pain")
    array([-0.8,  0.6])
    """
    proba = y_proba.to_numpy() if hasattr(y_proba, "to_numpy") else y_proba
    try:
        proba = np.asarray(proba, dtype=float)
    except (TypeError, ValueError):
        raise ValueError("y_proba must hold numbers (probabilities).") from None
    if proba.ndim == 2:
        if proba.shape[1] != 2:
            raise ValueError(
                f"y_proba has {proba.shape[1]} columns; a signed confidence needs a "
                "binary (pain / no pain) classifier: give 2 columns or p(pain)."
            )
        classes = np.arange(2) if classes is None else np.asarray(classes)
        if classes.shape != (2,):
            raise ValueError(
                f"classes must hold the 2 classes of the columns of y_proba, got "
                f"{classes.tolist()}."
            )
        column = np.flatnonzero(_equals(classes, pos_label))
        if column.size != 1:
            raise ValueError(
                f"pos_label={pos_label!r} is not one of the classes "
                f"{classes.tolist()}."
            )
        proba = proba[:, column[0]]
    elif proba.ndim != 1:
        raise ValueError(
            f"y_proba must be 1-D (p(pain)) or 2-D with 2 columns, got shape "
            f"{proba.shape}."
        )
    if not np.all(np.isfinite(proba)) or np.any((proba < 0) | (proba > 1)):
        raise ValueError("y_proba must hold probabilities in [0, 1] (no NaN).")
    return 2.0 * proba - 1.0


def _as_scores(values, name):
    values = values.to_numpy() if hasattr(values, "to_numpy") else values
    try:
        values = np.asarray(values, dtype=float)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be numeric.") from None
    if values.ndim != 1:
        raise ValueError(f"{name} must be 1-D, got shape {values.shape}.")
    if not np.all(np.isfinite(values)):
        raise ValueError(f"{name} contains NaN or infinite values.")
    return values


def _cluster_bootstrap(x, y, clusters, n_resamples, confidence_level, random_state):
    """Percentile CI of Pearson's r, resampling whole clusters with replacement.

    Each resample draws as many clusters as there are, with replacement, and
    pools their samples. r is computed from summed per-cluster moments, so a
    resample costs O(n_clusters), not O(n_samples).
    """
    _, codes = np.unique(clusters, return_inverse=True)
    n_clusters = codes.max() + 1
    moments = np.stack([np.bincount(codes, weights=w, minlength=n_clusters)
                        for w in (np.ones_like(x), x, y, x * x, y * y, x * y)], axis=1)
    rng = check_random_state(random_state)
    r = []
    for start in range(0, n_resamples, _BOOTSTRAP_BATCH):
        size = min(_BOOTSTRAP_BATCH, n_resamples - start)
        counts = rng.multinomial(n_clusters, np.full(n_clusters, 1 / n_clusters),
                                 size=size)
        n, sx, sy, sxx, syy, sxy = (counts @ moments).T
        cov = sxy - sx * sy / n
        var = (sxx - sx * sx / n) * (syy - sy * sy / n)
        with np.errstate(invalid="ignore", divide="ignore"):
            r.append(np.clip(cov / np.sqrt(var), -1.0, 1.0))
    r = np.concatenate(r)
    r = r[np.isfinite(r)]  # resamples with a constant variable have no r
    if r.size == 0:
        return np.nan, np.nan
    alpha = (1.0 - confidence_level) / 2.0
    low, high = np.quantile(r, [alpha, 1.0 - alpha])
    return float(low), float(high)


def _agreement_row(x, y, clusters, method, confidence_level, n_resamples, rng):
    result = stats.pearsonr(x, y)
    r, p_value = float(result.statistic), float(result.pvalue)
    if method == "fisher":
        ci = result.confidence_interval(confidence_level=confidence_level)
        low, high = float(ci.low), float(ci.high)
    else:
        low, high = _cluster_bootstrap(
            x, y, clusters, n_resamples, confidence_level, rng
        )
        if clusters.shape[0] != np.unique(clusters).shape[0]:
            p_value = np.nan  # pearsonr's test assumes independent samples
    return {"r": r, "ci_low": low, "ci_high": high, "p_value": p_value, "n": x.size}


@cite_papers("tuttle2018")
@validate_params(
    {
        "score": ["array-like"],
        "human": ["array-like"],
        "groups": ["array-like", None],
        "confidence_level": [Interval(Real, 0, 1, closed="neither")],
        "method": [StrOptions({"fisher", "bootstrap"})],
        "n_resamples": [Interval(Integral, 1, None, closed="left")],
        "random_state": ["random_state"],
    },
    prefer_skip_nested_validation=True,
)
def human_agreement(
    score,
    human,
    *,
    groups=None,
    confidence_level=0.95,
    method="fisher",
    n_resamples=9999,
    random_state=None,
):
    """Pearson correlation of a model's score with human scores, with CIs.

    Parameters
    ----------
    score : array-like of shape (n_samples,)
        The model's score of each image, e.g. :func:`signed_confidence`.
    human : array-like of shape (n_samples,)
        The human score of each image: the Mouse Grimace Scale sum (0-10),
        the Rat Grimace Scale, PSPI...
    groups : array-like of shape (n_samples,), default=None
        The subject (animal) of each image. When given, a ``"subject"`` row
        correlates the mean score and the mean human score of each subject,
        and the bootstrap resamples subjects.
    confidence_level : float, default=0.95
        Confidence level of the intervals.
    method : {"fisher", "bootstrap"}, default="fisher"
        How the confidence intervals are computed:

        - ``"fisher"``: the Fisher transformation,
          ``tanh(atanh(r) +/- z / sqrt(n - 3))``
          (:meth:`scipy.stats.PearsonRResult.confidence_interval`), which
          assumes independent samples;
        - ``"bootstrap"``: a percentile bootstrap with `n_resamples`
          resamples. With `groups`, the ``"image"`` row resamples whole
          **subjects** (a cluster bootstrap): the images of one animal are
          not independent (same face, same session, correlated scores), so
          resampling images would give intervals that are too narrow. The
          ``"subject"`` row resamples subjects, the ``"image"`` row without
          groups resamples images.
    n_resamples : int, default=9999
        Number of bootstrap resamples (``method="bootstrap"`` only).
    random_state : int, RandomState instance or None, default=None
        Seed of the bootstrap.

    Returns
    -------
    agreement : pandas.DataFrame
        Rows ``"image"`` and, with `groups`, ``"subject"``; columns ``r``
        (Pearson's r), ``ci_low``, ``ci_high``, ``p_value`` (two-sided test
        of r = 0, :func:`scipy.stats.pearsonr`) and ``n`` (images or
        subjects). The ``"image"`` row's p-value assumes independent images;
        with ``method="bootstrap"`` and `groups` it is NaN, since a cluster
        bootstrap gives no p-value: use the ``"subject"`` row's test, whose
        samples are independent animals.

    See Also
    --------
    signed_confidence : The model score of the aMGS paper.
    scipy.stats.pearsonr : The correlation and its test.

    Notes
    -----
    r is NaN (with scipy's ``ConstantInputWarning``) when either score is
    constant. The Fisher interval needs ``n > 3``.

    Examples
    --------
    >>> import numpy as np
    >>> from skanimal.selective import human_agreement
    >>> score = np.array([-0.9, -0.5, 0.1, 0.4, 0.8, 0.9, -0.2, 0.3])
    >>> mgs = np.array([0, 2, 3, 6, 8, 9, 1, 4])
    >>> mice = np.repeat(["m1", "m2", "m3", "m4"], 2)
    >>> table = human_agreement(score, mgs, groups=mice)
    >>> table.index.tolist(), table.columns.tolist()
    (['image', 'subject'], ['r', 'ci_low', 'ci_high', 'p_value', 'n'])
    >>> table.round(3).loc["image"].tolist()
    [0.947, 0.729, 0.991, 0.0, 8.0]
    """
    score = _as_scores(score, "score")
    human = _as_scores(human, "human")
    if score.shape != human.shape:
        raise ValueError(
            f"score and human have different lengths: {score.shape[0]} and "
            f"{human.shape[0]}."
        )
    if score.shape[0] < 3:
        raise ValueError(f"human_agreement needs 3 samples or more, got {score.size}.")
    rng = check_random_state(random_state)
    kwargs = {"method": method, "confidence_level": confidence_level,
              "n_resamples": n_resamples, "rng": rng}
    if groups is None:
        rows = {"image": _agreement_row(score, human, np.arange(score.size), **kwargs)}
    else:
        groups = groups.to_numpy() if hasattr(groups, "to_numpy") else groups
        groups = np.asarray(groups)
        if groups.shape != score.shape:
            raise ValueError(
                f"groups must be 1-D with one subject per sample: got shape "
                f"{groups.shape} for {score.size} samples."
            )
        if pd.isna(groups).any():
            raise ValueError("groups contains missing values (NaN or None).")
        means = pd.DataFrame({"score": score, "human": human}).groupby(
            groups, sort=True).mean()
        if len(means) < 3:
            raise ValueError(
                f"groups holds {len(means)} subject(s); a subject-level correlation "
                "needs 3 or more."
            )
        rows = {
            "image": _agreement_row(score, human, groups, **kwargs),
            "subject": _agreement_row(
                means["score"].to_numpy(), means["human"].to_numpy(),
                np.arange(len(means)), **kwargs,
            ),
        }
    table = pd.DataFrame.from_dict(rows, orient="index", columns=_COLUMNS)
    table.attrs.update({"method": method, "confidence_level": confidence_level})
    return table

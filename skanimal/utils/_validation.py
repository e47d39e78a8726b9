"""Small parameter checks shared by skanimal's estimators."""

# Authors: the skanimal developers
# SPDX-License-Identifier: BSD-3-Clause

import numbers

import numpy as np
import pandas as pd

from ..exceptions import DataError

__all__ = [
    "check_1d",
    "check_groups",
    "check_pair",
    "check_subject_splits",
    "fit_requests",
]


def fit_requests(estimator, param):
    """Whether a meta-estimator should pass ``param`` on to ``estimator.fit``.

    With scikit-learn's metadata routing enabled, when the estimator requests
    it for ``fit`` (``set_fit_request(groups=True)``); otherwise when its
    ``fit`` takes such a parameter (``groups``: skanimal's networks, a nested
    search; ``sample_weight``: most scikit-learn estimators).
    """
    from sklearn.utils.metadata_routing import _routing_enabled, get_routing_for_object
    from sklearn.utils.validation import has_fit_parameter

    if _routing_enabled():
        return get_routing_for_object(estimator).consumes("fit", [param])
    return has_fit_parameter(estimator, param)


def check_pair(value, name, *, labels="(height, width)"):
    """Return an int or a pair of ints as a tuple of two positive ints.

    ``labels`` names the two entries in the error message, e.g.
    ``"(rows, columns)"`` for a grid. A ValueError names the parameter.
    """
    if isinstance(value, numbers.Integral) and not isinstance(value, bool):
        pair = (int(value), int(value))
    else:
        pair = tuple(value)
        if len(pair) != 2 or not all(
            isinstance(v, numbers.Integral) and not isinstance(v, bool) for v in pair
        ):
            raise DataError(
                f"{name} must be an int or a pair of ints {labels}, got {value!r}."
            )
        pair = (int(pair[0]), int(pair[1]))
    if min(pair) < 1:
        raise DataError(f"{name} must be positive, got {value!r}.")
    return pair


def _py(value):
    """A numpy scalar as the equivalent Python scalar (for messages)."""
    return value.item() if isinstance(value, np.generic) else value


def _subjects_repr(subjects, most=5):
    """``['a', 'b', ...]`` naming at most ``most`` subjects."""
    subjects = list(subjects)
    shown = [repr(_py(s)) for s in subjects[:most]]
    if len(subjects) > most:
        shown.append(f"... ({len(subjects)} in all)")
    return "[" + ", ".join(shown) + "]"


def _short_repr(obj, width=80):
    """``repr(obj)``, cut to ``width`` characters."""
    text = repr(obj)
    return text if len(text) <= width else text[: width - 3] + "..."


def check_1d(values, name, *, hint=""):
    """A 1-D ndarray of `values`: the one ``column_or_1d``-style validator.

    A pandas object is taken by its values and an ``(n, 1)`` column is
    raveled; any other shape is a ValueError naming the parameter (`hint`
    follows "1-D" in the message, e.g. ``" (one label per sample)"``). Unlike
    scikit-learn's ``column_or_1d`` it keeps object and string dtypes as
    they are and never warns.
    """
    if hasattr(values, "to_numpy"):
        values = values.to_numpy()
    values = np.asarray(values)
    if values.ndim == 2 and values.shape[1] == 1:
        values = values.ravel()
    if values.ndim != 1:
        raise DataError(f"{name} must be 1-D{hint}, got shape {values.shape}.")
    return values


def _groups_1d(groups):
    """Groups (a pandas Series is taken by its values) as a 1-D ndarray."""
    return check_1d(groups, "groups")


def _id_kind(value):
    """``"str"`` or ``"number"`` (the kinds of subject id), else the type's name."""
    if isinstance(value, str):
        return "str"
    if isinstance(value, numbers.Number):
        return "number"
    return type(value).__name__


def _check_one_id_type(groups):
    """Refuse subject ids that mix strings and numbers (or other types)."""
    first = {}
    for i, value in enumerate(groups):
        first.setdefault(_id_kind(value), i)
        if len(first) > 1:
            break
    if len(first) < 2:
        return
    (_, i), (_, j) = first.items()
    a, b = _py(groups[i]), _py(groups[j])
    raise DataError(
        f"groups mixes subject ids of different types: {a!r} ({type(a).__name__}) at "
        f"groups[{i}] and {b!r} ({type(b).__name__}) at groups[{j}]. Give every subject "
        "an id of one type (7 and '7' would be two subjects, and mixed ids cannot be "
        "sorted), e.g. groups = np.asarray(groups).astype(str)."
    )


def check_groups(
    groups,
    n_samples,
    *,
    caller,
    min_subjects=2,
    samples_name="X",
    hint="",
):
    """Check the subject id of each sample; return them as a 1-D ndarray.

    Subject-wise evaluation needs to know which animal or person each image
    shows, so that no subject is both trained on and tested on.

    Parameters
    ----------
    groups : array-like of shape (n_samples,) or None
        The subject (animal or person id) of each sample; a pandas Series is
        taken by its values. None raises an error naming ``caller``.
    n_samples : int
        The number of samples ``groups`` must match.
    caller : str
        What needs the groups, e.g. ``"subject_report"`` or
        ``"SubjectSearchCV.fit"``; it starts the error messages.
    min_subjects : int, default=2
        The least number of distinct subjects accepted.
    samples_name : str, default="X"
        How the messages name the data of ``n_samples`` samples, e.g.
        ``"X and y"``.
    hint : str, default=""
        A sentence appended to the error raised when ``groups`` is None,
        e.g. ``"Call fit(X, y, groups=subject_ids)."``.

    Returns
    -------
    groups : ndarray of shape (n_samples,)
        The subject ids.

    Raises
    ------
    DataError
        If ``groups`` is None, is not 1-D, does not have ``n_samples``
        entries, holds missing values (NaN or None), mixes ids of different
        types (strings and numbers) or holds fewer than ``min_subjects``
        distinct subjects.

    See Also
    --------
    check_subject_splits : Check that (train, test) splits keep subjects apart.

    Examples
    --------
    >>> import pandas as pd
    >>> from skanimal.utils._validation import check_groups
    >>> check_groups(pd.Series(["rat1", "rat1", "rat2"]), 3, caller="my_eval")
    array(['rat1', 'rat1', 'rat2'], dtype=object)
    >>> check_groups(None, 3, caller="my_eval")
    Traceback (most recent call last):
        ...
    skanimal.exceptions.DataError: my_eval needs groups: the subject (animal or person id) ...
    >>> check_groups(["rat1"] * 3, 3, caller="my_eval")
    Traceback (most recent call last):
        ...
    skanimal.exceptions.DataError: groups holds a single subject ('rat1'); ...
    """
    if groups is None:
        message = (
            f"{caller} needs groups: the subject (animal or person id) of each "
            "sample, so that no subject is in both training and test data."
        )
        raise DataError(f"{message} {hint}" if hint else message)
    groups = _groups_1d(groups)
    if groups.shape[0] != n_samples:
        raise DataError(
            f"groups has {groups.shape[0]} entries but {samples_name} "
            f"{'have' if ' and ' in samples_name else 'has'} {n_samples} samples; give "
            "one subject id per sample."
        )
    if pd.isna(groups).any():
        raise DataError("groups contains missing values (NaN or None).")
    if groups.dtype == object:
        _check_one_id_type(groups)
    subjects = pd.unique(groups)
    if len(subjects) < min_subjects:
        held = (
            f"a single subject ({_py(subjects[0])!r})"
            if len(subjects) == 1
            else f"{len(subjects)} subjects {_subjects_repr(subjects)}"
        )
        raise DataError(
            f"groups holds {held}; {caller} needs at least {min_subjects} "
            "distinct subjects for a subject-wise split."
        )
    return groups


def _index_array(idx, side, n, where):
    """One side of a split as an intp array (boolean masks become indices)."""
    idx = np.asarray(idx)
    if idx.dtype == bool:
        if idx.shape != (n,):
            raise DataError(
                f"{where} has a boolean {side} mask of shape {idx.shape}; a mask "
                f"needs shape ({n},)."
            )
        idx = np.flatnonzero(idx)
    if idx.ndim != 1:
        raise DataError(
            f"{where} has {side} indices of shape {idx.shape}; they must be 1-D."
        )
    if idx.size == 0:
        raise DataError(f"{where} has an empty {side} set.")
    if idx.dtype.kind not in "iu":
        raise DataError(
            f"{where} has {side} indices of dtype {idx.dtype}; they must be integers."
        )
    if idx.min() < -n or idx.max() >= n:
        raise DataError(f"{where} has {side} indices outside [0, {n}).")
    return idx.astype(np.intp, copy=False) % n  # negative indices wrap


def _pairs(cv, X, y, groups, cv_repr):
    """The (train, test) pairs of cv; a splitter's own ValueError names cv."""
    pairs = cv.split(X, y, groups) if hasattr(cv, "split") else cv
    try:
        yield from pairs
    except DataError:
        raise
    except ValueError as exc:  # e.g. GroupKFold with more splits than subjects
        raise DataError(f"cv={cv_repr} cannot split these data: {exc}") from exc


def check_subject_splits(cv, X, y, groups, *, cv_repr=None, split_name="fold"):
    """Materialise (train, test) splits and check that they keep subjects apart.

    A subject (animal or person) on both sides of a split lets a model
    recognise the individual instead of its pain, and inflates the scores.
    The splits are checked before anything is fitted.

    Parameters
    ----------
    cv : splitter or iterable of (train, test) pairs
        An object with ``split(X, y, groups)``, such as
        :class:`~sklearn.model_selection.GroupKFold`, or an iterable of
        (train, test) index arrays (or boolean masks).
    X : array-like of shape (n_samples, ...)
        The data, only passed to ``cv.split``.
    y : array-like of shape (n_samples,) or None
        The targets, only passed to ``cv.split``.
    groups : array-like of shape (n_samples,)
        The subject of each sample, already checked (e.g. with
        :func:`check_groups`); it sets the number of samples.
    cv_repr : str, default=None
        How the messages show ``cv``; None uses its ``repr``, cut to 80
        characters.
    split_name : str, default="fold"
        How the messages name one split, e.g. ``"inner split"``.

    Returns
    -------
    splits : list of tuple of (ndarray, ndarray)
        The (train, test) pairs as ``intp`` arrays in ``[0, n_samples)``;
        negative indices are wrapped, boolean masks turned into indices.

    Raises
    ------
    DataError
        If ``cv`` gives no split, a split has an empty side or indices out of
        ``[-n_samples, n_samples)``, the splitter cannot split these data
        (its own ValueError, re-raised naming ``cv``), or a subject is on
        both sides of a split
        (the message names the split, the first 5 such subjects and ``cv``).

    See Also
    --------
    check_groups : Check the subject id of each sample.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.model_selection import GroupKFold
    >>> from skanimal.utils._validation import check_subject_splits
    >>> X = np.zeros((6, 1))
    >>> rats = np.array(["r1", "r1", "r2", "r2", "r3", "r3"])
    >>> splits = check_subject_splits(GroupKFold(3), X, None, rats)
    >>> sorted(rats[test].tolist() for _, test in splits)
    [['r1', 'r1'], ['r2', 'r2'], ['r3', 'r3']]
    >>> check_subject_splits([([0, 1, 2, 3], [-2, -1])], X, None, rats)[0][1]
    array([4, 5])
    >>> check_subject_splits([([0, 1, 2], [3, 4, 5])], X, None, rats)
    Traceback (most recent call last):
        ...
    skanimal.exceptions.DataError: cv=[([0, 1, 2], [3, 4, 5])] is not subject-wise: fold 0 has
    subject(s) ['r2'] in both ...
    """
    if isinstance(cv, str):  # a str is iterable but holds no splits
        raise DataError(
            "cv must be a splitter with split(X, y, groups) or an iterable of "
            f"(train, test) pairs; got {cv!r}."
        )
    if cv_repr is None:
        cv_repr = _short_repr(cv)
    groups = _groups_1d(groups)
    n = groups.shape[0]
    codes, subjects = pd.factorize(groups)  # subject ids as ints, any id type
    splits = []
    for k, pair in enumerate(_pairs(cv, X, y, groups, cv_repr)):
        where = f"{split_name[:1].upper()}{split_name[1:]} {k} of cv={cv_repr}"
        try:
            train, test = pair
        except (TypeError, ValueError):
            raise DataError(
                f"{where} is not a (train, test) pair: {_short_repr(pair)}."
            ) from None
        train = _index_array(train, "training", n, where)
        test = _index_array(test, "test", n, where)
        leaked = subjects[np.intersect1d(codes[train], codes[test])]
        if leaked.size:
            try:
                leaked = np.sort(leaked)
            except TypeError:  # ids of mixed types: keep order of appearance
                pass
            raise DataError(
                f"cv={cv_repr} is not subject-wise: {split_name} {k} has subject(s) "
                f"{_subjects_repr(leaked)} in both its training and test sets. Use "
                "a group-aware splitter such as GroupKFold, StratifiedGroupKFold or "
                "LeaveOneGroupOut (or an int)."
            )
        splits.append((train, test))
    if not splits:
        raise DataError(f"cv={cv_repr} produced no {split_name}s.")
    return splits

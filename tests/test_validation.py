"""Tests of the shared subject checks in skanimal.utils._validation."""

import re

import numpy as np
import pandas as pd
import pytest
from sklearn.model_selection import GroupKFold, LeaveOneGroupOut

from skanimal.utils._validation import check_groups, check_subject_splits

RATS = np.array(["r1", "r1", "r2", "r2", "r3", "r3", "r4", "r4"])


# --------------------------------------------------------------------------- #
# check_groups
# --------------------------------------------------------------------------- #


def test_check_groups_returns_a_1d_array_from_series_and_lists():
    series = pd.Series(RATS, index=np.arange(10, 18))  # index is ignored
    out = check_groups(series, len(RATS), caller="f")
    assert isinstance(out, np.ndarray) and out.shape == (len(RATS),)
    np.testing.assert_array_equal(out, RATS)
    np.testing.assert_array_equal(
        check_groups([1, 1, 2], 3, caller="f"), np.array([1, 1, 2])
    )


def test_check_groups_none_names_the_caller_and_adds_the_hint():
    with pytest.raises(ValueError, match=r"^my_eval needs groups: the subject") as err:
        check_groups(None, 3, caller="my_eval")
    assert "training and test data." in str(err.value)
    hint = "Call fit(X, y, groups=subject_ids)."
    with pytest.raises(ValueError, match=re.escape(hint)):
        check_groups(None, 3, caller="Search.fit", hint=hint)


def test_check_groups_shape_length_and_missing_values():
    with pytest.raises(ValueError, match=r"groups must be 1-D, got shape \(4, 2\)"):
        check_groups(RATS.reshape(4, 2), 8, caller="f")
    with pytest.raises(ValueError, match="groups has 7 entries but X has 8 samples"):
        check_groups(RATS[:-1], 8, caller="f")
    with pytest.raises(ValueError, match="groups has 7 entries but X and y have 8"):
        check_groups(RATS[:-1], 8, caller="f", samples_name="X and y")
    for missing in (np.nan, None):
        groups = np.array(["a", "b", missing], dtype=object)
        with pytest.raises(ValueError, match="groups contains missing values"):
            check_groups(groups, 3, caller="f")


def test_check_groups_refuses_ids_of_mixed_types():
    groups = np.array([1, 1, 2, "rat3", "rat3"], dtype=object)
    with pytest.raises(ValueError, match=(
        r"groups mixes subject ids of different types: 1 \(int\) at groups\[0\] and "
        r"'rat3' \(str\) at groups\[3\].*astype\(str\)"
    )):
        check_groups(groups, 5, caller="f")
    with pytest.raises(ValueError, match=r"'a' \(str\) at groups\[0\] and 2\.5 \(float\)"):
        check_groups(pd.Series(["a", "a", 2.5]), 3, caller="f")
    # one type, whatever its numpy or Python flavour, is accepted
    same = np.array([np.int64(1), 2, 2.0, np.float32(3)], dtype=object)
    assert check_groups(same, 4, caller="f").tolist() == [1, 2, 2, 3]
    np.testing.assert_array_equal(
        check_groups(np.asarray(groups).astype(str), 5, caller="f"),
        ["1", "1", "2", "rat3", "rat3"],
    )


def test_subject_report_with_mixed_ids_says_so():
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import GroupKFold

    from skanimal.evaluation import subject_report

    X = np.arange(12, dtype=float).reshape(6, 2)
    y = np.array([0, 1] * 3)
    groups = np.array([1, 1, "b", "b", "c", "c"], dtype=object)
    with pytest.raises(ValueError, match="groups mixes subject ids of different types"):
        subject_report(LogisticRegression(), X, y, groups, cv=GroupKFold(3))


def test_check_groups_counts_distinct_subjects():
    single = r"single subject \('r1'\); f needs at least 2"
    with pytest.raises(ValueError, match=single):
        check_groups(["r1"] * 4, 4, caller="f")
    four = r"4 subjects \['r1', 'r2', 'r3', 'r4'\]; f needs at least 5"
    with pytest.raises(ValueError, match=four):
        check_groups(RATS, len(RATS), caller="f", min_subjects=5)
    out = check_groups(RATS, len(RATS), caller="f", min_subjects=4)
    assert len(np.unique(out)) == 4


# --------------------------------------------------------------------------- #
# check_subject_splits
# --------------------------------------------------------------------------- #


def test_group_aware_splitter_passes_and_is_materialised():
    X = np.zeros((len(RATS), 1))
    splits = check_subject_splits(
        (s for s in LeaveOneGroupOut().split(X, None, RATS)), X, None, RATS
    )  # a one-shot generator is materialised into a list
    assert isinstance(splits, list) and len(splits) == 4
    for train, test in splits:
        assert train.dtype == np.intp and test.dtype == np.intp
        assert not set(RATS[train]) & set(RATS[test])
    held_out = sorted(np.concatenate([test for _, test in splits]).tolist())
    assert held_out == list(range(len(RATS)))
    # a splitter is called with (X, y, groups)
    assert len(check_subject_splits(GroupKFold(2), X, None, RATS)) == 2


def test_negative_indices_wrap_and_masks_become_indices():
    X = np.zeros((len(RATS), 1))
    mask = RATS == "r4"
    (train, test), = check_subject_splits([(~mask, [-2, -1])], X, None, RATS)
    np.testing.assert_array_equal(test, [6, 7])
    np.testing.assert_array_equal(train, np.arange(6))
    assert test.dtype == np.intp


def test_leak_names_split_subjects_and_cv():
    X = np.zeros((len(RATS), 1))
    leaky = [([0, 1, 2, 3], [4, 5, 6, 7]), ([0, 2, 4, 6], [1, 3, 5, 7])]
    message = (
        r"cv=custom is not subject-wise: inner split 1 has subject\(s\) "
        r"\['r1', 'r2', 'r3', 'r4'\] in both its training and test sets\. "
        r"Use a group-aware splitter such as GroupKFold"
    )
    with pytest.raises(ValueError, match=message):
        check_subject_splits(
            leaky, X, None, RATS, cv_repr="custom", split_name="inner split"
        )
    # at most five subjects are named, and the total is given
    many = np.repeat([f"s{i}" for i in range(7)], 2)
    with pytest.raises(ValueError, match=r"\['s0', .*'s4', \.\.\. \(7 in all\)\]"):
        check_subject_splits([(np.arange(0, 14, 2), np.arange(1, 14, 2))],
                             None, None, many)


def test_leak_is_found_with_ids_of_mixed_types():
    groups = np.array([1, 1, "a", "a"], dtype=object)
    with pytest.raises(ValueError, match=r"subject\(s\) \['a'\]"):
        check_subject_splits([([0, 2], [3])], None, None, groups)


def test_bad_splits_are_refused_with_the_split_named():
    groups = RATS
    cases = [
        ([], "no folds"),
        ([([], [0, 1])], r"Fold 0 of cv=.* has an empty training set"),
        ([([2, 3], [0, 1]), ([0, 1], [])], "Fold 1 of cv=.* has an empty test set"),
        ([([2, 8], [0, 1])], r"training indices outside \[0, 8\)"),
        ([([2, 3], [-9])], r"test indices outside \[0, 8\)"),
        ([([2.0, 3.0], [0])], "must be integers"),
        ([([[2, 3]], [0])], "must be 1-D"),
        ([(RATS == "r2", [True])],
         r"boolean test mask of shape \(1,\); a mask needs shape \(8,\)"),
        ([([2, 3],)], "is not a \\(train, test\\) pair"),
    ]
    for cv, message in cases:
        with pytest.raises(ValueError, match=message):
            check_subject_splits(cv, None, None, groups)
    with pytest.raises(ValueError, match="cv must be a splitter"):
        check_subject_splits("GroupKFold", None, None, groups)


def test_a_splitter_that_cannot_split_is_a_data_error_naming_cv():
    from sklearn.model_selection import GroupKFold

    from skanimal.exceptions import DataError

    groups = np.repeat(["a", "b", "c"], 2)
    with pytest.raises(DataError, match=r"cv=GroupKFold\(n_splits=10.*cannot split"):
        check_subject_splits(GroupKFold(10), np.zeros((6, 1)), None, groups)

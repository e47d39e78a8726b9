"""Tests of skanimal.selective: abstention, selective metrics, human agreement."""

import pickle
import warnings

import numpy as np
import pytest
from scipy import stats
from sklearn import config_context, get_config
from sklearn.base import clone
from sklearn.dummy import DummyClassifier
from sklearn.exceptions import NotFittedError
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import (
    GridSearchCV,
    GroupKFold,
    KFold,
    LeaveOneGroupOut,
    StratifiedGroupKFold,
    cross_validate,
)
from sklearn.naive_bayes import GaussianNB
from sklearn.pipeline import make_pipeline
from sklearn.utils import get_tags
from sklearn.utils._param_validation import InvalidParameterError
from sklearn.utils.estimator_checks import parametrize_with_checks

from skanimal.datasets import make_grimace_faces
from skanimal.features import LBPFeatures
from skanimal.nets import FineTunedClassifier
from skanimal.selective import (
    ConfidenceThresholdClassifier,
    ConfidenceThresholdClassifierCV,
    RiskCoverageDisplay,
    aurc_score,
    coverage_score,
    human_agreement,
    risk_coverage_curve,
    selective_accuracy_score,
    selective_report,
    signed_confidence,
)

# --------------------------------------------------------------------------- #
# scikit-learn's estimator checks
# --------------------------------------------------------------------------- #

@parametrize_with_checks(
    [
        # threshold 0 keeps every sample, so the checks' accuracy tests apply;
        # the checks use the labels {-1, 1}, for which "auto" picks -2
        ConfidenceThresholdClassifier(LogisticRegression(), threshold=0.0),
        ConfidenceThresholdClassifierCV(LogisticRegression(), target="coverage",
                                        target_value=1.0, cv=KFold(3)),
    ],
)
def test_sklearn_compatible(estimator, check):
    check(estimator)


# --------------------------------------------------------------------------- #
# Metrics, against hand-computed values
# --------------------------------------------------------------------------- #


def test_coverage_score_hand_values():
    assert coverage_score([1, 0, -1, 1, -1]) == pytest.approx(3 / 5)
    assert coverage_score(["pain", "abstain", "no pain"],
                          abstain_value="abstain") == pytest.approx(2 / 3)
    assert coverage_score([1.0, np.nan, 0.0, np.nan], abstain_value=np.nan) == 0.5
    # weights: kept samples weigh 1 + 3 out of 1 + 2 + 3
    assert coverage_score([1, -1, 0], sample_weight=[1, 2, 3]) == pytest.approx(4 / 6)
    # a str abstain value never matches numeric predictions
    assert coverage_score([1, 0], abstain_value="abstain") == 1.0
    with pytest.raises(ValueError, match="y_pred is empty"):
        coverage_score([])


def test_selective_accuracy_hand_values():
    y_true = [1, 0, 1, 0, 1]
    y_pred = [1, 1, -1, 0, -1]  # kept: 1/1 right, 0/1 wrong, 0/0 right
    assert selective_accuracy_score(y_true, y_pred) == pytest.approx(2 / 3)
    w = [1, 3, 5, 1, 5]
    assert selective_accuracy_score(y_true, y_pred, sample_weight=w) == pytest.approx(
        2 / 5)
    # nothing kept: undefined, NaN (documented)
    assert np.isnan(selective_accuracy_score([1, 0], [-1, -1]))
    with pytest.raises(ValueError, match="inconsistent numbers of samples"):
        selective_accuracy_score([1, 0, 1], [1, 0])


def _from_counts(tp, fn, tn, fp, pos=1, neg=0):
    y_true = np.r_[np.full(tp + fn, pos), np.full(tn + fp, neg)]
    y_pred = np.r_[np.full(tp, pos), np.full(fn, neg), np.full(tn, neg),
                   np.full(fp, pos)]
    return y_true, y_pred


def test_selective_report_paper_layout():
    """The aMGS layout (SPEC 4): all images, then confidence >= 0.75."""
    # all images: 1,000 pain and 1,000 no-pain images
    y_true, y_all = _from_counts(tp=790, fn=210, tn=872, fp=128)
    report = selective_report(y_true, y_all)
    assert report["coverage"] == 1.0 and report["n_retained"] == 2000
    assert report["sensitivity"] == pytest.approx(0.79)
    assert report["specificity"] == pytest.approx(0.872)
    assert report["accuracy"] == pytest.approx((790 + 872) / 2000)  # 83 %
    # keep 1,340 images (67 %): 694 pain (628 right), 646 no pain (621 right)
    kept = np.zeros(2000, dtype=bool)
    kept[:628] = True  # true positives
    kept[790:790 + 66] = True  # false negatives
    kept[1000:1000 + 621] = True  # true negatives
    kept[1872:1872 + 25] = True  # false positives
    y_sel = np.where(kept, y_all, -1)
    report = selective_report(y_true, y_sel)
    assert report["n_retained"] == 1340
    assert report["coverage"] == pytest.approx(0.67)
    assert report["sensitivity"] == pytest.approx(628 / 694)  # 90.5 %
    assert report["specificity"] == pytest.approx(621 / 646)  # 96.1 %
    assert report["accuracy"] == pytest.approx((628 + 621) / 1340)  # 93.2 %
    assert round(100 * report["sensitivity"], 1) == 90.5
    assert round(100 * report["specificity"], 1) == 96.1
    assert round(100 * report["accuracy"], 1) == 93.2


def test_selective_report_labels_and_errors():
    y_true = np.array(["pain", "pain", "no", "no", "no"], dtype=object)
    y_pred = np.array(["pain", "?", "pain", "no", "?"], dtype=object)
    report = selective_report(y_true, y_pred, pos_label="pain", abstain_value="?")
    assert report == {
        "n_samples": 5, "n_retained": 3, "coverage": 0.6,
        "accuracy": pytest.approx(2 / 3), "sensitivity": 1.0, "specificity": 0.5,
    }
    # no kept positive: sensitivity undefined
    report = selective_report([1, 0, 0], [-1, 0, 1])
    assert np.isnan(report["sensitivity"]) and report["specificity"] == 0.5
    with pytest.raises(ValueError, match="pos_label=2"):
        selective_report([0, 1], [0, 1], pos_label=2)


def _brute_force_curve(y_true, y_pred, conf):
    """Independent computation: one point per distinct confidence value."""
    y_true, y_pred, conf = map(np.asarray, (y_true, y_pred, conf))
    rows = []
    for t in np.unique(conf)[::-1]:
        keep = conf >= t
        rows.append((keep.mean(), np.mean(y_true[keep] == y_pred[keep]), t))
    return tuple(np.array(c) for c in zip(*rows))


def test_risk_coverage_curve_hand_example_with_ties():
    y_true = [1, 0, 1, 1, 0, 0]
    y_pred = [1, 0, 0, 1, 1, 0]
    conf = [0.95, 0.8, 0.8, 0.8, 0.6, 0.55]
    coverage, accuracy, thresholds = risk_coverage_curve(y_true, y_pred, conf)
    # 0.95 keeps 1 (right); 0.8 keeps 4 (3 right); 0.6 keeps 5 (3 right); all: 4/6
    np.testing.assert_allclose(coverage, [1 / 6, 4 / 6, 5 / 6, 1.0])
    np.testing.assert_allclose(accuracy, [1.0, 3 / 4, 3 / 5, 4 / 6])
    np.testing.assert_allclose(thresholds, [0.95, 0.8, 0.6, 0.55])
    # same as the brute force, and independent of the order of tied samples
    rng = np.random.default_rng(0)
    for _ in range(3):
        perm = rng.permutation(6)
        curve = risk_coverage_curve(*(np.asarray(a)[perm] for a in (y_true, y_pred,
                                                                    conf)))
        for got, want in zip(curve, _brute_force_curve(y_true, y_pred, conf)):
            np.testing.assert_allclose(got, want)


def test_risk_coverage_curve_random_against_brute_force():
    rng = np.random.default_rng(1)
    y_true = rng.integers(0, 3, 200)
    y_pred = np.where(rng.random(200) < 0.7, y_true, rng.integers(0, 3, 200))
    conf = np.round(rng.uniform(1 / 3, 1, 200), 2)  # many ties
    for got, want in zip(risk_coverage_curve(y_true, y_pred, conf),
                         _brute_force_curve(y_true, y_pred, conf)):
        np.testing.assert_allclose(got, want)
    with pytest.raises(ValueError, match="confidence contains NaN"):
        risk_coverage_curve([1, 0], [1, 0], [0.5, np.nan])


def test_aurc_hand_values():
    # no ties: mean over k of the error rate of the k most confident samples
    y_true, y_pred, conf = [1, 0, 1, 0], [1, 0, 0, 0], [0.9, 0.8, 0.7, 0.6]
    assert aurc_score(y_true, y_pred, conf) == pytest.approx((0 + 0 + 1 / 3 + 1 / 4) / 4)
    # ties: the tied group's risk over its coverage segment
    y_true, y_pred, conf = [1, 0, 1, 0], [1, 1, 1, 0], [0.9, 0.7, 0.7, 0.6]
    assert aurc_score(y_true, y_pred, conf) == pytest.approx(
        0.25 * 0 + 0.5 * (1 / 3) + 0.25 * (1 / 4))
    # errors ranked least confident give a smaller area than errors ranked first
    good = aurc_score([1, 1, 0, 0], [1, 1, 1, 1], [0.9, 0.8, 0.7, 0.6])
    bad = aurc_score([1, 1, 0, 0], [1, 1, 1, 1], [0.6, 0.7, 0.8, 0.9])
    assert good < bad


# --------------------------------------------------------------------------- #
# ConfidenceThresholdClassifier
# --------------------------------------------------------------------------- #


@pytest.fixture(scope="module")
def table_data():
    rng = np.random.default_rng(0)
    y = np.tile([0, 1], 60)
    X = np.c_[y + rng.normal(0, 0.7, y.size), rng.normal(size=y.size)]
    groups = np.repeat(np.arange(6), 20)
    return X, y, groups


def test_abstains_below_threshold(table_data):
    X, y, _ = table_data
    clf = ConfidenceThresholdClassifier(LogisticRegression()).fit(X, y)
    proba = clf.estimator_.predict_proba(X)
    expected = np.where(proba.max(axis=1) >= 0.75, proba.argmax(axis=1), -1)
    y_pred = clf.predict(X)
    np.testing.assert_array_equal(y_pred, expected)
    assert y_pred.dtype == np.int64 and clf.abstain_value_ == -1
    assert 0 < np.mean(y_pred == -1) < 1  # some, not all, abstentions
    np.testing.assert_allclose(clf.confidence(X), proba.max(axis=1))
    # score is the selective accuracy
    kept = expected != -1
    assert clf.score(X, y) == pytest.approx(np.mean(expected[kept] == y[kept]))
    # the pass-through methods are the inner estimator's
    np.testing.assert_allclose(clf.predict_proba(X), proba)
    np.testing.assert_allclose(clf.decision_function(X),
                               clf.estimator_.decision_function(X))
    np.testing.assert_allclose(clf.predict_log_proba(X),
                               clf.estimator_.predict_log_proba(X))
    assert clf.n_features_in_ == 2


def test_threshold_boundary_is_inclusive():
    # DummyClassifier("prior") gives every sample the class prior, 0.75 here
    X, y = np.zeros((8, 1)), np.array([0, 0, 1, 1, 1, 1, 1, 1])
    kept = ConfidenceThresholdClassifier(DummyClassifier(), threshold=0.75).fit(X, y)
    np.testing.assert_array_equal(kept.predict(X), np.ones(8))
    dropped = ConfidenceThresholdClassifier(DummyClassifier(), threshold=0.76).fit(X, y)
    np.testing.assert_array_equal(dropped.predict(X), np.full(8, -1))


def test_score_when_everything_is_abstained_on_is_zero_not_nan():
    # a NaN score would poison the ranking of a GridSearchCV
    X, y = np.zeros((8, 1)), np.array([0, 0, 1, 1, 1, 1, 1, 1])
    dropped = ConfidenceThresholdClassifier(DummyClassifier(), threshold=0.76).fit(X, y)
    assert dropped.score(X, y) == 0.0
    assert np.isnan(selective_accuracy_score(y, dropped.predict(X)))  # the metric: undefined
    search = GridSearchCV(ConfidenceThresholdClassifier(DummyClassifier()),
                          {"threshold": [0.5, 0.99]}, cv=2).fit(X, y)
    assert np.all(np.isfinite(search.cv_results_["mean_test_score"]))
    assert search.best_params_ == {"threshold": 0.5}


def test_fit_does_not_predict_the_training_set():
    # train_coverage_ is gone: fit costs one fit and no predict_proba pass
    class Counting(LogisticRegression):
        def predict_proba(self, X):
            type(self).calls += 1
            return super().predict_proba(X)

    Counting.calls = 0
    X, y = np.arange(20.0)[:, None], np.tile([0, 1], 10)
    clf = ConfidenceThresholdClassifier(Counting()).fit(X, y)
    assert Counting.calls == 0 and not hasattr(clf, "train_coverage_")


def test_abstain_value_for_string_classes(table_data):
    X, y, _ = table_data
    names = np.array(["no pain", "pain"])[y]
    clf = ConfidenceThresholdClassifier(LogisticRegression(), threshold=0.8)
    y_pred = clf.fit(X, names).predict(X)
    assert clf.abstain_value_ == "abstain"
    assert set(np.unique(y_pred)) == {"abstain", "no pain", "pain"}
    # an explicit number with str classes: an object array holding both
    clf.set_params(abstain_value=-1).fit(X, names)
    y_pred = clf.predict(X)
    assert y_pred.dtype == object and -1 in y_pred.tolist()


@pytest.mark.parametrize("classes, expected", [
    ([-1, 1], -2),
    ([-3, -1, 0], -4),
    ([2.0, -1.0], -2),
    (["abstain", "pain"], "abstain_"),
    (["abstain", "abstain_", "x"], "abstain__"),
])
def test_auto_abstain_value_is_never_a_class(table_data, classes, expected):
    X, y, _ = table_data
    labels = np.asarray(classes, dtype=object if isinstance(classes[0], str) else None)
    labels = labels[np.arange(len(y)) % len(classes)]
    clf = ConfidenceThresholdClassifier(LogisticRegression(), threshold=0.9).fit(X, labels)
    assert clf.abstain_value_ == expected
    assert expected not in clf.classes_.tolist()
    y_pred = clf.predict(X)
    abstained = np.array([p == expected for p in y_pred.tolist()])
    np.testing.assert_array_equal(abstained, clf.confidence(X) < 0.9)


def test_abstain_value_errors(table_data):
    X, y, _ = table_data
    with pytest.raises(ValueError, match="abstain_value=1 is one of the classes"):
        ConfidenceThresholdClassifier(LogisticRegression(), abstain_value=1).fit(X, y)
    # the same labels work with an explicit abstain value
    clf = ConfidenceThresholdClassifier(LogisticRegression(), abstain_value=0)
    assert set(np.unique(clf.fit(X, 2 * y - 1).predict(X))) <= {-1, 0, 1}
    with pytest.raises(InvalidParameterError, match="'threshold'"):
        ConfidenceThresholdClassifier(LogisticRegression(), threshold=1.5).fit(X, y)
    with pytest.raises(InvalidParameterError, match="'estimator'"):
        ConfidenceThresholdClassifier(KFold()).fit(X, y)
    with pytest.raises(ValueError, match="Unknown label type"):
        ConfidenceThresholdClassifier(LogisticRegression()).fit(X, X[:, 0])


def test_unfitted_and_available_methods(table_data):
    X, y, _ = table_data
    clf = ConfidenceThresholdClassifier(GaussianNB())
    for method in ("predict", "confidence", "predict_proba"):
        with pytest.raises(NotFittedError):
            getattr(clf, method)(X)
    assert not hasattr(clf, "decision_function")  # GaussianNB has none
    assert hasattr(clf, "predict_log_proba")


def test_pickle_and_clone(table_data):
    X, y, _ = table_data
    clf = ConfidenceThresholdClassifier(LogisticRegression(C=0.5), threshold=0.7)
    clf.fit(X, y)
    again = pickle.loads(pickle.dumps(clf))
    np.testing.assert_array_equal(again.predict(X), clf.predict(X))
    np.testing.assert_array_equal(again.confidence(X), clf.confidence(X))
    fresh = clone(clf)
    assert not hasattr(fresh, "estimator_")
    assert fresh.get_params()["estimator__C"] == 0.5 and fresh.threshold == 0.7


def test_fit_params_forwarded_and_routed(table_data):
    X, y, _ = table_data
    weight = np.linspace(0.1, 2, y.size)
    clf = ConfidenceThresholdClassifier(LogisticRegression())
    clf.fit(X, y, sample_weight=weight)
    ref = LogisticRegression().fit(X, y, sample_weight=weight)
    np.testing.assert_allclose(clf.estimator_.coef_, ref.coef_)
    assert not get_config()["enable_metadata_routing"]
    with config_context(enable_metadata_routing=True):
        routed = ConfidenceThresholdClassifier(
            LogisticRegression().set_fit_request(sample_weight=True))
        routed.fit(X, y, sample_weight=weight)
        np.testing.assert_allclose(routed.estimator_.coef_, ref.coef_)
        with pytest.raises(Exception, match="sample_weight"):  # not requested
            ConfidenceThresholdClassifier(LogisticRegression()).fit(
                X, y, sample_weight=weight)
    assert not get_config()["enable_metadata_routing"]


def test_image_input_paths_and_arrays(png_folder, image_labels_groups):
    paths, images = png_folder
    y, _ = image_labels_groups
    # the tags are the inner estimator's: image input for an image classifier
    tags = get_tags(ConfidenceThresholdClassifier(FineTunedClassifier())).input_tags
    assert tags.string and tags.three_d_array and not tags.two_d_array
    inner = make_pipeline(LBPFeatures(grid=2, image_size=32),
                          LogisticRegression(C=10))
    clf = ConfidenceThresholdClassifier(inner, threshold=0.6)
    from_paths = clf.fit(paths, y).predict(paths)
    conf_paths = clf.confidence(paths)
    from_arrays = clone(clf).fit(images, y).predict(images)
    np.testing.assert_array_equal(from_paths, from_arrays)
    expected = np.where(conf_paths >= 0.6, clf.predict_proba(paths).argmax(1), -1)
    np.testing.assert_array_equal(from_paths, expected)


# --------------------------------------------------------------------------- #
# ConfidenceThresholdClassifierCV
# --------------------------------------------------------------------------- #


def _held_out_curve(estimator, X, y, groups):
    """Leave-one-subject-out predictions, computed here independently."""
    y_true, y_pred, conf = [], [], []
    for g in np.unique(groups):
        test = groups == g
        model = clone(estimator).fit(X[~test], y[~test])
        proba = model.predict_proba(X[test])
        y_true.append(y[test])
        y_pred.append(model.classes_[proba.argmax(1)])
        conf.append(proba.max(1))
    return _brute_force_curve(*map(np.concatenate, (y_true, y_pred, conf)))


@pytest.fixture(scope="module")
def grimace_lbp():
    """Built-in faces of 4 rats and their LBP features (a per-image transform)."""
    faces = make_grimace_faces(n_subjects=4, n_samples=80, image_size=32,
                               random_state=0)
    X = LBPFeatures(grid=2, image_size=32).fit_transform(faces.images)
    return faces, X


def test_cv_threshold_on_held_out_subjects_from_images(grimace_lbp):
    faces, X = grimace_lbp
    y, groups = faces.target, faces.groups
    # the held-out curve computed here on precomputed LBP features
    coverage, accuracy, thresholds = _held_out_curve(
        LogisticRegression(), X, y, groups)
    # the estimator on the images themselves: the LBP step runs in each fold
    inner = make_pipeline(LBPFeatures(grid=2, image_size=32), LogisticRegression())
    clf = ConfidenceThresholdClassifierCV(inner, target="coverage", target_value=0.5,
                                          cv=LeaveOneGroupOut())
    clf.fit(faces.images, y, groups=groups)
    first = np.flatnonzero(coverage >= 0.5)[0]
    assert clf.n_splits_ == 4 and clf.target_reached_
    assert clf.threshold_ == pytest.approx(thresholds[first])
    assert clf.best_coverage_ == pytest.approx(coverage[first])
    assert clf.best_score_ == pytest.approx(accuracy[first])
    np.testing.assert_allclose(clf.cv_results_["coverage"], coverage)
    np.testing.assert_allclose(clf.cv_results_["selective_accuracy"], accuracy)
    np.testing.assert_allclose(clf.cv_results_["thresholds"], thresholds)
    # refitted on all data; predictions abstain under the chosen threshold
    proba = clf.predict_proba(faces.images)
    expected = np.where(proba.max(1) >= clf.threshold_, proba.argmax(1), -1)
    np.testing.assert_array_equal(clf.predict(faces.images), expected)


def test_cv_accuracy_target(table_data):
    X, y, groups = table_data
    coverage, accuracy, thresholds = _held_out_curve(
        LogisticRegression(), X, y, groups)
    clf = ConfidenceThresholdClassifierCV(LogisticRegression(), target="accuracy",
                                          target_value=0.9, cv=LeaveOneGroupOut())
    clf.fit(X, y, groups=groups)
    # the smallest threshold (largest coverage) with held-out accuracy >= 0.9
    ok = np.flatnonzero(accuracy >= 0.9)
    assert 0.2 < coverage[ok[-1]] < 0.9  # a real trade-off on these data
    assert clf.target_reached_
    assert clf.threshold_ == pytest.approx(thresholds[ok[-1]])
    assert clf.best_coverage_ == pytest.approx(coverage[ok[-1]])
    assert clf.best_score_ == pytest.approx(accuracy[ok[-1]]) and clf.best_score_ >= 0.9
    assert np.all(accuracy[ok[-1] + 1:] < 0.9)


def test_cv_coverage_target(table_data):
    X, y, groups = table_data
    coverage, accuracy, thresholds = _held_out_curve(
        LogisticRegression(), X, y, groups)
    clf = ConfidenceThresholdClassifierCV(
        LogisticRegression(), target="coverage", target_value=0.6,
        cv=LeaveOneGroupOut()).fit(X, y, groups=groups)
    first = np.flatnonzero(coverage >= 0.6)[0]  # the highest such threshold
    assert clf.threshold_ == pytest.approx(thresholds[first])
    assert clf.best_coverage_ >= 0.6 > coverage[first - 1]
    # a coverage of 1 keeps every new sample, however unsure
    full = clone(clf).set_params(target_value=1.0).fit(X, y, groups=groups)
    assert full.threshold_ == 0.0
    assert coverage_score(full.predict(X)) == 1.0


def test_cv_default_int_cv_is_group_aware(table_data):
    X, y, groups = table_data
    # groups are not passed to LogisticRegression.fit (it would raise)
    for routing in (False, True):
        with config_context(enable_metadata_routing=routing):
            clf = ConfidenceThresholdClassifierCV(LogisticRegression(), cv=3,
                                                  target_value=0.8)
            with warnings.catch_warnings():
                warnings.simplefilter("error")  # no image-wise warning
                clf.fit(X, y, groups=groups)
        assert clf.n_splits_ == 3


def test_cv_groups_routed_from_cross_validate(table_data):
    X, y, groups = table_data
    with config_context(enable_metadata_routing=True):
        clf = ConfidenceThresholdClassifierCV(LogisticRegression(), cv=2,
                                              target_value=0.8)
        clf.set_fit_request(groups=True)
        with warnings.catch_warnings():
            warnings.simplefilter("error")  # the groups reach the inner folds
            result = cross_validate(clf, X, y, params={"groups": groups},
                                    cv=GroupKFold(3), return_estimator=True)
    assert [est.n_splits_ for est in result["estimator"]] == [2, 2, 2]
    assert np.all((result["test_score"] > 0.5) & (result["test_score"] <= 1))


@pytest.mark.filterwarnings("ignore:The groups parameter is ignored by KFold")
def test_cv_leak_and_image_wise_warnings(table_data):
    X, y, groups = table_data
    clf = ConfidenceThresholdClassifierCV(LogisticRegression(),
                                          cv=KFold(3, shuffle=True, random_state=0))
    with pytest.raises(ValueError, match="not subject-wise: fold 0 has subject"):
        clf.fit(X, y, groups=groups)
    with pytest.warns(UserWarning, match="image-wise"):
        ConfidenceThresholdClassifierCV(LogisticRegression(), cv=3,
                                        target_value=0.8).fit(X, y)
    with pytest.raises(ValueError, match="groups must be 1-D"):
        clf.fit(X, y, groups=groups[:-1])


def test_cv_unreachable_target_falls_back_with_warning():
    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(40, 1)), np.r_[np.zeros(10), np.ones(30)].astype(int)
    groups = np.tile(np.arange(4), 10)  # each subject: 1/4 class 0
    clf = ConfidenceThresholdClassifierCV(DummyClassifier(), target_value=0.99,
                                          cv=LeaveOneGroupOut())
    with pytest.warns(UserWarning, match="No threshold reaches the target_value=0.99"):
        clf.fit(X, y, groups=groups)
    # every sample has the same confidence: one point, full coverage, 75 %
    assert not clf.target_reached_
    assert clf.best_score_ == 0.75 and clf.best_coverage_ == 1.0
    assert clf.threshold_ == 0.0
    reached = clone(clf).set_params(target_value=0.75).fit(X, y, groups=groups)
    assert reached.target_reached_


# --------------------------------------------------------------------------- #
# Display
# --------------------------------------------------------------------------- #


def test_display_from_predictions_and_estimator(table_data):
    matplotlib = pytest.importorskip("matplotlib")
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    y_true, y_pred, conf = [1, 0, 1, 0], [1, 0, 0, 0], [0.9, 0.8, 0.7, 0.6]
    display = RiskCoverageDisplay.from_predictions(y_true, y_pred, conf,
                                                   threshold=0.75, name="m")
    np.testing.assert_allclose(display.line_.get_xdata(), [0.25, 0.5, 0.75, 1.0])
    np.testing.assert_allclose(display.line_.get_ydata(), [1, 1, 2 / 3, 0.75])
    # the marker sits on the point of samples with confidence >= 0.75
    np.testing.assert_allclose(display.threshold_marker_.get_xydata(), [[0.5, 1.0]])
    assert display.aurc == pytest.approx(aurc_score(y_true, y_pred, conf))
    assert "AURC = 0.146" in display.line_.get_label()
    assert display.ax_.get_ylabel() == "Selective accuracy"
    fig, ax = plt.subplots()
    risk = display.plot(ax=ax, risk=True)
    assert risk.ax_ is ax and risk.threshold_marker_ is None
    np.testing.assert_allclose(risk.line_.get_ydata(), [0, 0, 1 / 3, 0.25])

    X, y, _ = table_data
    clf = ConfidenceThresholdClassifier(LogisticRegression(), threshold=0.8).fit(X, y)
    display = RiskCoverageDisplay.from_estimator(clf, X, y)
    coverage = coverage_score(clf.predict(X))
    assert display.threshold_marker_.get_xdata()[0] == pytest.approx(coverage)
    assert display.line_.get_label().startswith("ConfidenceThresholdClassifier")
    plt.close("all")


# --------------------------------------------------------------------------- #
# Human agreement
# --------------------------------------------------------------------------- #


def test_signed_confidence():
    np.testing.assert_allclose(signed_confidence([0.0, 0.25, 0.5, 1.0]),
                               [-1.0, -0.5, 0.0, 1.0])
    proba = np.array([[0.9, 0.1], [0.3, 0.7], [0.5, 0.5]])
    # equivalently +/-(2c - 1), the sign being the predicted class
    c, pain = proba.max(1), proba.argmax(1) == 1
    np.testing.assert_allclose(signed_confidence(proba), np.where(pain, 1, -1) * (2 * c - 1))
    # pos_label picks the column through classes
    np.testing.assert_allclose(
        signed_confidence(proba, classes=["pain", "none"], pos_label="pain"),
        [0.8, -0.4, 0.0])
    with pytest.raises(ValueError, match="pos_label='x' is not one of"):
        signed_confidence(proba, classes=["pain", "none"], pos_label="x")
    with pytest.raises(ValueError, match="3 columns"):
        signed_confidence(np.full((2, 3), 1 / 3))
    with pytest.raises(ValueError, match=r"probabilities in \[0, 1\]"):
        signed_confidence([0.2, 1.3])


@pytest.fixture(scope="module")
def scores_with_subjects():
    rng = np.random.default_rng(3)
    subjects = np.repeat(np.arange(8), 6)
    level = rng.normal(size=8)[subjects]  # shared within a subject
    human = np.clip(np.round(5 + 2 * level + rng.normal(0, 1, subjects.size)), 0, 10)
    score = np.tanh(level + rng.normal(0, 0.6, subjects.size))
    return score, human, subjects


def test_human_agreement_fisher_matches_formula(scores_with_subjects):
    score, human, subjects = scores_with_subjects
    table = human_agreement(score, human, groups=subjects, confidence_level=0.9)
    z = stats.norm.ppf(0.95)
    for row, x, h in [
        ("image", score, human),
        ("subject", np.bincount(subjects, score) / 6, np.bincount(subjects, human) / 6),
    ]:
        r = np.corrcoef(x, h)[0, 1]
        n = x.size
        assert table.loc[row, "r"] == pytest.approx(r)
        half = z / np.sqrt(n - 3)
        assert table.loc[row, "ci_low"] == pytest.approx(np.tanh(np.arctanh(r) - half))
        assert table.loc[row, "ci_high"] == pytest.approx(np.tanh(np.arctanh(r) + half))
        assert table.loc[row, "p_value"] == pytest.approx(stats.pearsonr(x, h).pvalue)
        assert table.loc[row, "n"] == n
    only_images = human_agreement(score, human)
    assert only_images.index.tolist() == ["image"]
    assert only_images.loc["image", "r"] == pytest.approx(table.loc["image", "r"])


def test_human_agreement_cluster_bootstrap(scores_with_subjects):
    score, human, subjects = scores_with_subjects
    B = 400
    table = human_agreement(score, human, groups=subjects, method="bootstrap",
                            n_resamples=B, random_state=0)
    # an independent loop over the same draws of subjects, r by np.corrcoef
    counts = np.random.RandomState(0).multinomial(8, np.full(8, 1 / 8), size=B)
    r_boot = []
    for c in counts:
        idx = np.concatenate([np.flatnonzero(subjects == s)
                              for s in np.repeat(np.arange(8), c)])
        r_boot.append(np.corrcoef(score[idx], human[idx])[0, 1])
    low, high = np.quantile(r_boot, [0.025, 0.975])
    assert table.loc["image", "ci_low"] == pytest.approx(low)
    assert table.loc["image", "ci_high"] == pytest.approx(high)
    assert np.isnan(table.loc["image", "p_value"])  # no test for clustered images
    assert table.loc["subject", "p_value"] > 0
    # resampling images as if independent gives a narrower interval here
    naive = human_agreement(score, human, method="bootstrap", n_resamples=B,
                            random_state=0)
    assert (naive.loc["image", "ci_high"] - naive.loc["image", "ci_low"]
            < table.loc["image", "ci_high"] - table.loc["image", "ci_low"])
    assert naive.loc["image", "p_value"] == pytest.approx(
        stats.pearsonr(score, human).pvalue)
    again = human_agreement(score, human, groups=subjects, method="bootstrap",
                            n_resamples=B, random_state=0)
    assert again.equals(table)


def test_human_agreement_errors(scores_with_subjects):
    score, human, subjects = scores_with_subjects
    with pytest.raises(ValueError, match="human contains NaN"):
        human_agreement(score, np.r_[human[:-1], np.nan])
    with pytest.raises(ValueError, match="different lengths"):
        human_agreement(score, human[:-1])
    with pytest.raises(ValueError, match="2 subject"):
        human_agreement(score, human, groups=subjects % 2)
    with pytest.raises(InvalidParameterError, match="'method'"):
        human_agreement(score, human, method="spearman")


def test_agreement_with_rgs_on_grimace_faces(grimace_lbp):
    """The aMGS analysis on built-in data: signed confidence vs the RGS score."""
    faces, X = grimace_lbp
    y, groups = faces.target, faces.groups
    clf = ConfidenceThresholdClassifier(LogisticRegression(C=10)).fit(X, y)
    score = signed_confidence(clf.predict_proba(X), classes=clf.classes_)
    table = human_agreement(score, faces.frame["rgs"], groups=groups)
    assert table.loc["image", "r"] == pytest.approx(
        stats.pearsonr(score, faces.frame["rgs"]).statistic)
    assert table.loc["image", "r"] > 0  # pain score rises with the grimace score
    assert table.loc["subject", "n"] == 4


def test_score_request_sample_weight_is_honoured(table_data):
    X, y, _ = table_data
    w = np.linspace(0.1, 3.0, len(y))
    folds = list(KFold(3).split(X))
    with config_context(enable_metadata_routing=True):
        clf = ConfidenceThresholdClassifier(
            LogisticRegression().set_fit_request(sample_weight=False), threshold=0.55
        ).set_score_request(sample_weight=True)
        scores = cross_validate(clf, X, y, cv=folds, params={"sample_weight": w})
    differs = []
    for (train, test), score in zip(folds, scores["test_score"]):
        fitted = clone(clf).fit(X[train], y[train])
        expected = selective_accuracy_score(y[test], fitted.predict(X[test]),
                                            sample_weight=w[test])
        assert score == pytest.approx(expected)
        unweighted = selective_accuracy_score(y[test], fitted.predict(X[test]))
        differs.append(expected != pytest.approx(unweighted))
    assert any(differs)  # the weights matter here


def test_cv_threshold_is_chosen_on_weighted_held_out_curve(table_data):
    X, y, groups = table_data
    rng = np.random.default_rng(3)
    w = rng.uniform(0.0, 5.0, len(y))
    cv = StratifiedGroupKFold(3)
    clf = ConfidenceThresholdClassifierCV(LogisticRegression(), target="coverage",
                                          target_value=0.5, cv=cv)
    weighted = clone(clf).fit(X, y, groups=groups, sample_weight=w)
    plain = clone(clf).fit(X, y, groups=groups)
    # the same choice by hand, from the out-of-fold predictions
    y_pred, conf = np.empty(len(y), dtype=y.dtype), np.empty(len(y))
    for train, test in cv.split(X, y, groups):
        model = LogisticRegression().fit(X[train], y[train], sample_weight=w[train])
        proba = model.predict_proba(X[test])
        y_pred[test], conf[test] = model.classes_[proba.argmax(1)], proba.max(1)
    coverage, _, thresholds = risk_coverage_curve(y, y_pred, conf, sample_weight=w)
    expected = thresholds[np.flatnonzero(coverage >= 0.5)[0]]
    assert weighted.threshold_ == pytest.approx(expected)
    assert weighted.best_coverage_ >= 0.5
    assert weighted.threshold_ != pytest.approx(plain.threshold_)
    # the refitted inner estimator got the weights too
    refit = LogisticRegression().fit(X, y, sample_weight=w)
    np.testing.assert_allclose(weighted.estimator_.coef_, refit.coef_)


def test_cv_threshold_pools_every_held_out_prediction_of_overlapping_splits(table_data):
    # GroupShuffleSplit test parts overlap: each held-out prediction counts
    from sklearn.model_selection import GroupShuffleSplit

    X, y, groups = table_data
    cv = GroupShuffleSplit(n_splits=4, test_size=2, random_state=0)
    clf = ConfidenceThresholdClassifierCV(LogisticRegression(), target="coverage",
                                          target_value=0.5, cv=cv).fit(X, y, groups=groups)
    y_true, y_pred, conf = [], [], []
    for train, test in cv.split(X, y, groups):
        model = LogisticRegression().fit(X[train], y[train])
        proba = model.predict_proba(X[test])
        y_true.append(y[test])
        y_pred.append(model.classes_[proba.argmax(1)])
        conf.append(proba.max(1))
    coverage, _, thresholds = risk_coverage_curve(
        np.concatenate(y_true), np.concatenate(y_pred), np.concatenate(conf))
    assert sum(len(t) for t in y_true) > len(np.unique(np.concatenate(
        [test for _, test in cv.split(X, y, groups)])))  # they do overlap
    assert clf.threshold_ == pytest.approx(thresholds[np.flatnonzero(coverage >= 0.5)[0]])


def test_cv_threshold_features_of_a_stateless_first_step_once():
    # the held-out curve of LBP + LR equals that of LR on the precomputed histograms
    rng = np.random.default_rng(0)
    X = rng.integers(0, 256, size=(24, 16, 16), dtype=np.uint8)
    y = np.tile([0, 1], 12)
    groups = np.repeat(np.arange(6), 4)
    lbp = LBPFeatures(grid=2, image_size=16)
    whole = ConfidenceThresholdClassifierCV(make_pipeline(lbp, LogisticRegression()),
                                            target="coverage", target_value=0.5, cv=3)
    whole.fit(X, y, groups=groups)
    rest = ConfidenceThresholdClassifierCV(make_pipeline(LogisticRegression()),
                                           target="coverage", target_value=0.5, cv=3)
    rest.fit(clone(lbp).fit(X).transform(X), y, groups=groups)
    for key in ("thresholds", "coverage", "selective_accuracy"):
        np.testing.assert_array_equal(whole.cv_results_[key], rest.cv_results_[key])
    assert whole.threshold_ == rest.threshold_
    assert len(whole.estimator_.steps) == 2  # the refit is the whole pipeline

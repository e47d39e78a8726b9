"""Tests of skanimal.evaluation's per-animal / per-video aggregation and scorers."""

import pickle
from collections import Counter

import numpy as np
import pandas as pd
import pytest
import sklearn
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import f1_score
from sklearn.model_selection import GridSearchCV, GroupKFold, cross_validate
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from skanimal.datasets import load_manifest, make_grimace_faces, save_dataset
from skanimal.evaluation import (
    aggregate_predictions,
    difference_scores,
    group_accuracy_score,
    make_group_scorer,
)
from skanimal.features import LBPFeatures

# --------------------------------------------------------------------------- #
# A tiny input whose summary is worked out by hand (threshold 0.75):
#   group a: preds 0 0, conf .95 .70      -> kept 1 (0)       pct 0
#   group b: preds 1 0 1 -1, conf .9 .8 .6 .55 -> kept 2 (1, 0) pct 50, tie -> 0
#   group c: preds 1 1 1, conf .9 .76 .74 -> kept 2 (1, 1)    pct 100
# --------------------------------------------------------------------------- #
Y_PRED = np.array([1, 0, 1, -1, 0, 0, 1, 1, 1])
GROUPS = np.array(["b", "b", "b", "b", "a", "a", "c", "c", "c"])
P_PAIN = np.array([0.9, 0.2, 0.6, 0.45, 0.05, 0.3, 0.9, 0.76, 0.74])
CONF = np.maximum(P_PAIN, 1 - P_PAIN)  # .9 .8 .6 .55 .95 .7 .9 .76 .74
Y_TRUE = np.array([1, 1, 1, 1, 0, 0, 1, 1, 1])
TIMES = np.array([0, 10, 20, 30, 0, 10, 0, 60, 120])


def test_aggregate_hand_computed_table():
    summary = aggregate_predictions(
        Y_PRED, GROUPS, y_true=Y_TRUE, confidence=CONF, threshold=0.75,
        y_proba=P_PAIN, frame_times=TIMES,
    )
    assert summary.index.tolist() == ["a", "b", "c"]
    assert summary.index.name == "group"
    assert summary.columns.tolist() == [
        "n_images", "n_confident", "coverage", "n_pain", "pct_pain",
        "mean_confidence", "mean_proba", "majority", "y_true", "correct",
        "minutes", "confident_per_minute", "excluded", "reason",
    ]
    assert summary["n_images"].tolist() == [2, 4, 3]
    assert summary["n_confident"].tolist() == [1, 2, 2]
    np.testing.assert_allclose(summary["coverage"], [1 / 2, 2 / 4, 2 / 3])
    assert summary["n_pain"].tolist() == [0, 1, 2]
    np.testing.assert_allclose(summary["pct_pain"], [0.0, 50.0, 100.0])
    # mean confidence over all the group's images, mean p(pain) over retained
    np.testing.assert_allclose(summary["mean_confidence"],
                               [(0.95 + 0.7) / 2, (0.9 + 0.8 + 0.6 + 0.55) / 4,
                                (0.9 + 0.76 + 0.74) / 3])
    np.testing.assert_allclose(summary["mean_proba"],
                               [0.05, (0.9 + 0.2) / 2, (0.9 + 0.76) / 2])
    # group b has one 1 and one 0 retained: the tie goes to the smaller label
    assert summary["majority"].tolist() == [0, 0, 1]
    assert summary["y_true"].tolist() == [0, 1, 1]
    assert summary["correct"].tolist() == [True, False, True]
    # durations: max - min + 10 s -> 20 s, 40 s, 130 s
    np.testing.assert_allclose(summary["minutes"], [20 / 60, 40 / 60, 130 / 60])
    np.testing.assert_allclose(summary["confident_per_minute"], [3.0, 3.0, 12 / 13])
    assert summary["excluded"].tolist() == [False, False, True]
    assert summary["reason"].tolist() == [
        "", "", "0.92 confident images per minute < min_rate=1"]
    assert summary.attrs["threshold"] == 0.75
    assert summary.attrs["abstain_value"] == -1
    assert "frame_times" in summary.attrs["exclusion"]


def test_aggregate_confidence_from_y_proba_and_no_threshold():
    with_conf = aggregate_predictions(Y_PRED, GROUPS, confidence=CONF, threshold=0.75)
    from_proba = aggregate_predictions(Y_PRED, GROUPS, y_proba=P_PAIN, threshold=0.75)
    assert from_proba["n_confident"].tolist() == with_conf["n_confident"].tolist()
    # without a threshold only the abstention (-1 in group b) is discarded
    no_thr = aggregate_predictions(Y_PRED, GROUPS)
    assert no_thr["n_confident"].tolist() == [2, 3, 3]
    np.testing.assert_allclose(no_thr["pct_pain"], [0.0, 200 / 3, 100.0])
    assert "mean_confidence" not in no_thr and "y_true" not in no_thr
    # abstain_value=None: -1 is an ordinary prediction
    assert aggregate_predictions(Y_PRED, GROUPS, abstain_value=None)[
        "n_confident"].tolist() == [2, 4, 3]
    # ... so a group with nothing over the threshold votes -2, not the label -1
    strict = aggregate_predictions(Y_PRED, GROUPS, abstain_value=None,
                                   confidence=CONF, threshold=0.92)
    assert strict["n_confident"].tolist() == [1, 0, 0]
    assert strict["majority"].tolist() == [0, -2, -2]
    assert -1 in Y_PRED.tolist()


def test_aggregate_without_times_does_not_exclude():
    summary = aggregate_predictions(Y_PRED, GROUPS, min_rate=100)
    assert not summary["excluded"].any()
    assert summary["minutes"].isna().all()
    assert summary["confident_per_minute"].isna().all()
    assert summary["reason"].tolist() == ["", "", ""]
    assert summary.attrs["exclusion"].startswith("not applied")


def test_aggregate_durations_mapping_array_and_series():
    durations = {"a": 30, "b": 600, "c": 60}
    by_dict = aggregate_predictions(Y_PRED, GROUPS, durations=durations)
    np.testing.assert_allclose(by_dict["minutes"], [0.5, 10.0, 1.0])
    np.testing.assert_allclose(by_dict["confident_per_minute"], [4.0, 0.3, 3.0])
    assert by_dict["excluded"].tolist() == [False, True, False]
    assert by_dict.attrs["exclusion"] == "durations"
    per_image = np.array([durations[g] for g in GROUPS])
    by_array = aggregate_predictions(Y_PRED, GROUPS, durations=per_image)
    by_series = aggregate_predictions(Y_PRED, GROUPS,
                                      durations=pd.Series(durations))
    pd.testing.assert_frame_equal(by_dict, by_array)
    pd.testing.assert_frame_equal(by_dict, by_series)
    # min_rate=0 excludes nothing
    assert not aggregate_predictions(Y_PRED, GROUPS, durations=durations,
                                     min_rate=0)["excluded"].any()


def test_aggregate_group_without_confident_image_is_excluded():
    summary = aggregate_predictions([-1, -1, 1], ["v1", "v1", "v2"],
                                    frame_times=[0, 10, 0])
    assert summary.loc["v1", "n_confident"] == 0
    assert np.isnan(summary.loc["v1", "pct_pain"])
    assert summary.loc["v1", "majority"] == -1
    assert summary.loc["v1", "excluded"]
    assert summary.loc["v1", "reason"] == "no confident image"
    # a single frame covers one interval of 10 s: 6 frames per minute
    assert summary.loc["v2", "confident_per_minute"] == pytest.approx(6.0)
    assert not summary.loc["v2", "excluded"]


def test_aggregate_text_labels_and_named_groups():
    y_pred = ["pain", "no pain", "abstain", "pain", "pain"]
    videos = pd.Series(["v1", "v1", "v1", "v2", "v2"], name="video")
    summary = aggregate_predictions(y_pred, videos, pos_label="pain",
                                    y_true=["pain"] * 3 + ["no pain"] * 2)
    assert summary.index.name == "video"
    assert summary["n_confident"].tolist() == [2, 2]
    assert summary["pct_pain"].tolist() == [50.0, 100.0]
    assert summary["majority"].tolist() == ["no pain", "pain"]  # tie: sorted first
    assert summary["correct"].tolist() == [False, False]
    assert summary.attrs["abstain_value"] == "abstain"


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"y_true": [1, 0, 1, 1, 0, 0, 1, 1, 1]}, "y_true.*group 'b'"),
        ({"threshold": 0.75}, "threshold=0.75 needs"),
        ({"pos_label": "pain"}, "pos_label='pain'"),
        ({"durations": {"a": 30, "b": 60}}, "durations.*'c'"),
        ({"durations": {"a": 30, "b": 0, "c": 60}}, "durations.*group 'b'"),
        ({"durations": [30] * 8 + [60]}, "durations.*group 'c'"),
        ({"durations": {"a": 1, "b": 1, "c": 1}, "frame_times": TIMES},
         "either frame_times or durations"),
        ({"frame_times": TIMES[:5]}, "frame_times has 5 entries"),
        ({"confidence": [0.9] * 8 + [np.nan]}, "confidence contains missing"),
        ({"min_rate": -1}, "min_rate"),
        ({"threshold": 2.0}, "threshold"),
    ],
)
def test_aggregate_errors_name_the_parameter(kwargs, match):
    with pytest.raises(ValueError, match=match):
        aggregate_predictions(Y_PRED, GROUPS, **kwargs)


# --------------------------------------------------------------------------- #
# difference_scores
# --------------------------------------------------------------------------- #


def _two_condition_summary():
    videos = {  # video: (predictions, mouse, condition, duration in s)
        "A_pre1": ([1, 0, 0, 0], "A", "pre", 60),
        "A_pre2": ([1, 1], "A", "pre", 60),
        "A_post": ([1, 1, 1, 0], "A", "post", 60),
        "B_pre": ([0, 0], "B", "pre", 60),
        "B_post": ([1, 1], "B", "post", 600),  # 0.2 per minute: excluded
        "C_post": ([1, 0], "C", "post", 60),
        "C_other": ([1, 1], "C", "sham", 60),
    }
    y_pred = np.concatenate([v[0] for v in videos.values()])
    ids = np.concatenate([[k] * len(v[0]) for k, v in videos.items()])
    summary = aggregate_predictions(
        y_pred, ids, durations={k: v[3] for k, v in videos.items()})
    mouse = {k: v[1] for k, v in videos.items()}
    phase = {k: v[2] for k, v in videos.items()}
    return summary, mouse, phase


def test_difference_scores_pool_counts_and_leave_out_excluded():
    summary, mouse, phase = _two_condition_summary()
    scores = difference_scores(summary, mouse, phase, baseline="pre",
                               treatment="post")
    assert scores.index.tolist() == ["A", "B", "C"]
    assert scores.index.name == "subject"
    # A: pre pooled from counts (1 + 2) / (4 + 2) = 50 %, not (25 + 100) / 2
    assert scores.loc["A", "baseline"] == pytest.approx(50.0)
    assert scores.loc["A", "treatment"] == pytest.approx(75.0)
    assert scores.loc["A", "difference"] == pytest.approx(25.0)
    assert scores.loc["A", ["n_groups_baseline", "n_groups_treatment"]].tolist() == [
        2, 1]
    # B: its only post video is excluded
    assert scores.loc["B", "baseline"] == 0.0
    assert np.isnan(scores.loc["B", "treatment"])
    assert np.isnan(scores.loc["B", "difference"])
    assert scores.loc["B", "n_excluded_treatment"] == 1
    assert scores.loc["B", "n_groups_treatment"] == 0
    # C: no baseline video; its "sham" video is ignored
    assert np.isnan(scores.loc["C", "baseline"])
    assert scores.loc["C", "treatment"] == pytest.approx(50.0)
    assert scores.loc["C", "n_groups_baseline"] == 0
    assert scores.attrs["excluded_groups"] == ["B_post"]
    assert scores.attrs["value"] == "pct_pain"


def test_difference_scores_subject_as_column_array_or_series():
    summary, mouse, phase = _two_condition_summary()
    expected = difference_scores(summary, mouse, phase, baseline="pre",
                                 treatment="post")
    with_cols = summary.assign(mouse=[mouse[g] for g in summary.index],
                               phase=[phase[g] for g in summary.index])
    by_column = difference_scores(with_cols, "mouse", "phase", baseline="pre",
                                  treatment="post")
    by_array = difference_scores(summary, with_cols["mouse"].to_numpy(),
                                 pd.Series(phase), baseline="pre", treatment="post")
    pd.testing.assert_frame_equal(expected, by_column)
    pd.testing.assert_frame_equal(expected, by_array)
    # coverage pools over all images: A pre = (4 + 2) / (4 + 2) = 1
    cov = difference_scores(summary, mouse, phase, baseline="pre",
                            treatment="post", value="coverage")
    assert cov.loc["A", "baseline"] == 1.0


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"baseline": "before"}, "baseline='before' is not a condition"),
        ({"treatment": "pre"}, "baseline and treatment are both"),
        ({"value": "mean_proba"}, "no column 'mean_proba'"),
        ({"value": "n_pain"}, "value"),
        ({"subject": {"A_pre1": "A"}}, "subject has no entry"),
        ({"subject": "mouse"}, "subject='mouse' is not a column"),
    ],
)
def test_difference_scores_errors(kwargs, match):
    summary, mouse, phase = _two_condition_summary()
    args = {"subject": mouse, "condition": phase, "baseline": "pre",
            "treatment": "post", **kwargs}
    with pytest.raises(ValueError, match=match):
        difference_scores(summary, **args)


# --------------------------------------------------------------------------- #
# Group-level scores
# --------------------------------------------------------------------------- #


def test_group_accuracy_votes_skip_abstentions():
    y_true = [1, 1, 1, 0, 0, 0, 1, 1, 0, 0]
    y_pred = [1, 0, 1, 1, 1, 0, -1, -1, -1, 0]
    videos = [1, 1, 1, 2, 2, 2, 3, 3, 4, 4]
    # 1: 1 (right); 2: 1 (wrong); 3: all abstained (wrong); 4: 0 (right)
    assert group_accuracy_score(y_true, y_pred, groups=videos) == 0.5
    # without abstention -1 is a class: group 3 votes -1, group 4 ties -> -1
    assert group_accuracy_score(y_true, y_pred, groups=videos,
                                abstain_value=None) == 0.25
    text = np.where(np.array(y_true) == 1, "pain", "no pain")
    text_pred = np.array(["pain", "no pain", "abstain"])[[0, 1, 0, 0, 0, 1, 2, 2, 2, 1]]
    assert group_accuracy_score(text, text_pred, groups=videos) == 0.5
    with pytest.raises(ValueError, match="y_true.*group 2"):
        group_accuracy_score([1, 1, 1, 0, 1, 0, 1, 1, 0, 0], y_pred, groups=videos)


class _AbstainingLogistic(ClassifierMixin, BaseEstimator):
    """Logistic regression that predicts -1 under a confidence of 0.75."""

    def fit(self, X, y):
        self.model_ = LogisticRegression().fit(X, y)
        self.classes_ = self.model_.classes_
        return self

    def predict_proba(self, X):
        return self.model_.predict_proba(X)

    def predict(self, X):
        proba = self.predict_proba(X)
        pred = self.classes_[proba.argmax(axis=1)]
        return np.where(proba.max(axis=1) >= 0.75, pred, -1)


def _frames(seed=0):
    rng = np.random.default_rng(seed)
    video = np.repeat(np.arange(12), 5)
    y = rng.permutation(np.repeat([0, 1], 6))[video]
    X = y[:, None] + rng.normal(0, 0.9, (len(y), 2))
    return X, y, video


def _by_hand(y_true, y_pred, video):
    """Video accuracy: majority of the non-abstained frames, ties to min label."""
    right = []
    for v in np.unique(video):
        counts = Counter(p for p in y_pred[video == v] if p != -1)
        if not counts:
            right.append(False)
            continue
        top = max(counts.values())
        right.append(min(c for c, k in counts.items() if k == top)
                     == y_true[video == v][0])
    return float(np.mean(right))


def test_group_scorer_votes_match_hand_computation():
    X, y, video = _frames()
    model = LogisticRegression().fit(X, y)
    majority = make_group_scorer()(model, X, y, video=video)
    assert majority == pytest.approx(_by_hand(y, model.predict(X), video))
    proba = model.predict_proba(X)
    mean_vote = [model.classes_[proba[video == v].mean(axis=0).argmax()]
                 for v in np.unique(video)]
    assert make_group_scorer(vote="mean_proba")(model, X, y, video=video) == (
        pytest.approx(np.mean(np.array(mean_vote) == y[::5])))
    # the threshold skips low-confidence frames in the vote
    low = np.where(proba.max(axis=1) >= 0.8, model.predict(X), -1)
    assert make_group_scorer(threshold=0.8)(model, X, y, video=video) == (
        pytest.approx(_by_hand(y, low, video)))
    # an abstaining estimator: abstentions are skipped
    abstainer = _AbstainingLogistic().fit(X, y)
    pred = abstainer.predict(X)
    assert (pred == -1).any()
    assert make_group_scorer()(abstainer, X, y, video=video) == pytest.approx(
        _by_hand(y, pred, video))
    # another metric with its arguments, and a loss (negated)
    f1 = make_group_scorer(f1_score, pos_label=0)(model, X, y, video=video)
    votes = [Counter(model.predict(X)[video == v]).most_common(1)[0][0]
             for v in np.unique(video)]
    assert f1 == pytest.approx(f1_score(y[::5], votes, pos_label=0))
    neg = make_group_scorer(greater_is_better=False)(model, X, y, video=video)
    assert neg == -majority
    # a video with no kept frame counts as wrong: nothing kept -> 0
    for vote in ("majority", "mean_proba"):
        for abstain_value in ("auto", None):
            assert make_group_scorer(vote=vote, threshold=1.0,
                                     abstain_value=abstain_value)(
                model, X, y, video=video) == 0.0


def test_group_scorer_errors_and_pickle():
    X, y, video = _frames()
    model = LogisticRegression().fit(X, y)
    scorer = make_group_scorer()
    with pytest.raises(ValueError, match="'video'.*enable_metadata_routing"):
        scorer(model, X, y)
    with pytest.raises(ValueError, match="groups has 3 entries"):
        scorer(model, X, y, video=video[:3])
    with pytest.raises(ValueError, match="vote"):
        make_group_scorer(vote="mode")
    clone_ = pickle.loads(pickle.dumps(scorer))
    assert clone_(model, X, y, video=video) == scorer(model, X, y, video=video)
    assert repr(scorer) == (
        "make_group_scorer(accuracy_score, vote='majority', group_param='video')")


@pytest.fixture(scope="module")
def grimace_videos(tmp_path_factory):
    """96 grimace faces of 6 rats as PNG files, cut into 'videos' of 4 frames.

    A video holds consecutive images of one rat with one label.
    """
    faces = make_grimace_faces(n_samples=96, image_size=64, random_state=1)
    csv = save_dataset(faces, tmp_path_factory.mktemp("grimace_videos"))
    data = load_manifest(csv)
    paths = np.asarray(data.images, dtype=object)
    frame = pd.DataFrame({"subject": data.groups, "label": data.target})
    frame["video"] = (frame["subject"] + "_" + frame["label"].astype(str) + "_"
                      + (frame.groupby(["subject", "label"]).cumcount() // 4)
                      .astype(str))
    return paths, np.asarray(data.target), np.asarray(data.groups), (
        frame["video"].to_numpy())


def test_group_scorer_in_cross_validate_with_routing(grimace_videos):
    paths, y, subjects, videos = grimace_videos
    model = make_pipeline(LBPFeatures(image_size=64), StandardScaler(),
                          LogisticRegression(C=0.1))
    scoring = {"video_accuracy": make_group_scorer(), "accuracy": "accuracy"}
    with sklearn.config_context(enable_metadata_routing=True):
        result = cross_validate(
            model, paths, y, cv=GroupKFold(3), scoring=scoring,
            params={"groups": subjects, "video": videos},
            return_estimator=True, return_indices=True,
        )
    assert sklearn.get_config()["enable_metadata_routing"] is False
    # the routed name can be aliased, as for any scikit-learn consumer
    features = LBPFeatures(image_size=64).fit_transform(paths)
    with sklearn.config_context(enable_metadata_routing=True):
        aliased = cross_validate(
            make_pipeline(StandardScaler(), LogisticRegression(C=0.1)), features,
            y, cv=GroupKFold(3), params={"groups": subjects, "clip": videos},
            scoring=make_group_scorer().set_score_request(video="clip"),
        )
    np.testing.assert_allclose(aliased["test_score"], result["test_video_accuracy"])
    expected, frame_acc = [], []
    for est, train, test in zip(result["estimator"], result["indices"]["train"],
                                result["indices"]["test"]):
        assert not set(subjects[train]) & set(subjects[test])
        pred = est.predict(paths[test])
        expected.append(_by_hand(y[test], pred, videos[test]))
        frame_acc.append(np.mean(pred == y[test]))
    np.testing.assert_allclose(result["test_video_accuracy"], expected)
    np.testing.assert_allclose(result["test_accuracy"], frame_acc)
    # the vote is not the frame-level number
    assert not np.allclose(result["test_video_accuracy"], frame_acc)

    # the same scorer in a grid search on the features, voting by mean proba
    with sklearn.config_context(enable_metadata_routing=True):
        search = GridSearchCV(
            LogisticRegression(), {"C": [0.1, 10.0]}, cv=GroupKFold(3),
            scoring=make_group_scorer(vote="mean_proba"),
        ).fit(features, y, groups=subjects, video=videos)
    for k, C in enumerate([0.1, 10.0]):
        scores = []
        for train, test in GroupKFold(3).split(features, y, subjects):
            est = LogisticRegression(C=C).fit(features[train], y[train])
            proba = pd.DataFrame(est.predict_proba(features[test]))
            mean = proba.groupby(videos[test]).mean()
            truth = pd.Series(y[test]).groupby(videos[test]).first()
            scores.append(np.mean(est.classes_[mean.to_numpy().argmax(axis=1)]
                                  == truth.to_numpy()))
        assert search.cv_results_["mean_test_score"][k] == pytest.approx(
            np.mean(scores))


def test_group_scorer_auto_reads_the_abstaining_classifiers_value():
    # classes {-1, 1}: the classifier abstains with -2; a test fold whose
    # labels hold no -1 must still skip the -2 predictions
    from sklearn.linear_model import LogisticRegression

    from skanimal.selective import ConfidenceThresholdClassifier

    X = np.r_[np.linspace(-3, -1, 10), np.linspace(1, 3, 10)][:, None]
    y = np.repeat([-1, 1], 10)
    clf = ConfidenceThresholdClassifier(LogisticRegression(), threshold=0.9).fit(X, y)
    assert clf.abstain_value_ == -2
    X_test = np.array([[0.0], [0.05], [2.5]])  # two unsure images, one sure
    assert clf.predict(X_test).tolist() == [-2, -2, 1]
    scorer = make_group_scorer(group_param="video")
    assert scorer(clf, X_test, np.array([1, 1, 1]), video=np.array([0, 0, 0])) == 1.0

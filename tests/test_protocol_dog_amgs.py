"""The dog-backbones and amgs protocols: tables checked against independent computations."""

import warnings

import numpy as np
import pandas as pd
import pytest
from scipy.stats import pearsonr
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import accuracy_score, recall_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils import Bunch

from skanimal.benchmark import PAPER_RESULTS, run_protocol
from skanimal.benchmark._papers import PAPER_SUMMARIES
from skanimal.benchmark._proto_amgs import _method
from skanimal.benchmark._proto_dog import _HeldOutSubjects, _resolve_cv
from skanimal.datasets import make_grimace_faces
from skanimal.exceptions import DataError
from skanimal.features import DeepFeatures
from skanimal.sampling import AugmentingOverSampler

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")  # random weights

DOG_SETTINGS = dict(backbones=["dino_resnet50", "test_vit"], weights={"test_vit": None},
                    image_size=64)
SUBSTITUTE = "efficientnet_lite0 (substitute)"


@pytest.fixture(scope="module")
def cache(tmp_path_factory):
    return str(tmp_path_factory.mktemp("embeddings"))


@pytest.fixture(scope="module")
def dog_run(tmp_path_factory, cache):
    out = tmp_path_factory.mktemp("dog")
    ctx = run_protocol("dog-backbones", output=out, n_samples=48,
                       settings=dict(DOG_SETTINGS, cache=cache), verbose=0)
    table = pd.read_csv(out / "dog_backbones.csv", index_col="backbone")
    pred = pd.read_csv(out / "dog_predictions.csv")
    return out, ctx, table, pred


# -- dog-backbones ---------------------------------------------------------------------------


@pytest.mark.parametrize("n_subjects, n_test", [(29, 7), (8, 2), (6, 2), (4, 1), (2, 1)])
def test_holdout_split_holds_out_a_quarter_of_the_subjects(n_subjects, n_test):
    groups = np.repeat([f"dog{i:02d}" for i in range(n_subjects)], 3)
    y = np.tile([0, 1, 1], n_subjects)
    splits = [list(_HeldOutSubjects(random_state=s).split(groups, y, groups))
              for s in range(4)]
    for (train, test), in splits:
        assert len(np.unique(groups[test])) == n_test
        assert not set(groups[train]) & set(groups[test])
        assert len(train) + len(test) == len(groups)
    again = list(_HeldOutSubjects(random_state=0).split(groups, y, groups))
    assert np.array_equal(again[0][1], splits[0][0][1])  # seeded
    if n_subjects >= 6:  # other seeds draw other subjects
        assert len({tuple(s[0][1]) for s in splits}) > 1


def test_cv_setting():
    assert isinstance(_resolve_cv("holdout", 0)[0], _HeldOutSubjects)
    assert _resolve_cv(None, 0)[0] is None and _resolve_cv("loso", 0)[0] is None
    assert _resolve_cv(3, 0)[0] == 3
    with pytest.raises(DataError, match="cv='half'"):
        _resolve_cv("half", 0)


def test_dog_split_keeps_a_quarter_of_the_subjects_apart(dog_run):
    _, ctx, _, pred = dog_run
    (fold,) = ctx.timings["main/Linear probe test_vit"]["folds"]
    held = sorted(fold["subjects"])
    assert len(held) == 2  # 8 built-in subjects
    assert sorted(pred["subject"].unique()) == held
    assert fold["n_train"] + fold["n_test"] == 48
    assert fold["n_test"] == len(pred[pred["backbone"] == "test_vit"])


def test_dog_table_matches_predictions_and_paper(dog_run, cache):
    _, ctx, table, pred = dog_run
    assert list(table.index) == ["dino_resnet50", "test_vit", SUBSTITUTE]
    for name in ("test_vit", SUBSTITUTE):
        p = pred[pred["backbone"] == name]
        assert table.loc[name, "held-out accuracy"] == pytest.approx(
            accuracy_score(p["y_true"], p["y_pred"]))
    paper = PAPER_RESULTS["dog-backbones"]
    for metric in ("train accuracy", "held-out accuracy"):
        assert table.loc["dino_resnet50", f"{metric} (paper)"] == paper.loc["dino_resnet50",
                                                                            metric]
        assert np.isnan(table.loc["dino_resnet50", metric])  # skipped: no weights
        assert np.isnan(table.loc["test_vit", f"{metric} (paper)"])
    assert table.loc["dino_resnet50", "status"].startswith("skipped")
    assert table.loc[SUBSTITUTE, "status"].startswith("substitute")
    notes = [i["text"] for i in ctx.items if i["kind"] == "note"]
    assert any("'dino_resnet50' skipped" in n and "local file" in n for n in notes)
    assert any(SUBSTITUTE in n for n in notes)


def test_dog_train_accuracy_is_the_probe_scored_on_its_training_subjects(dog_run, cache):
    _, _, table, pred = dog_run
    data = make_grimace_faces(n_subjects=8, n_samples=48, random_state=0)
    train = ~np.isin(data.groups, pred["subject"].unique())
    Z = DeepFeatures("test_vit", weights=None, image_size=64, cache=cache,
                     verbose=0).fit_transform(data.images)
    probe = make_pipeline(StandardScaler(), LogisticRegression(max_iter=2000))
    probe.fit(Z[train], data.target[train])
    expected = accuracy_score(data.target[train], probe.predict(Z[train]))
    assert table.loc["test_vit", "train accuracy"] == pytest.approx(expected)


def test_dog_video_accuracy_is_the_majority_vote_per_video(dog_run):
    out, _, table, pred = dog_run
    for name in ("test_vit", SUBSTITUTE):
        p = pred[pred["backbone"] == name]
        votes = p.groupby("video").agg(
            y_true=("y_true", "first"),
            # majority vote, ties to the smallest label
            vote=("y_pred", lambda v: v.value_counts().sort_index().idxmax()))
        assert table.loc[name, "held-out video accuracy"] == pytest.approx(
            (votes["y_true"] == votes["vote"]).mean())
        assert table.loc[name, "held-out videos"] == len(votes)
    for png in ("accuracy_bars", "confusion_matrix", "eigencam"):
        assert (out / f"{png}.png").stat().st_size > 1000


@pytest.mark.parametrize("per_subject_ids", [False, True])
def test_dog_video_with_two_labels_is_a_data_error(tmp_path, per_subject_ids):
    data = make_grimace_faces(n_samples=24, image_size=32, random_state=0)
    k = data.frame.groupby("subject").cumcount().to_numpy() // 3
    videos = np.array([f"clip{i}" for i in k]) if per_subject_ids else np.array(
        [f"{s}_clip{i}" for s, i in zip(data.groups, k)])
    data.frame["video"] = videos
    keys = np.array([f"{s}/{v}" for s, v in zip(data.groups, videos)]) if per_subject_ids \
        else videos  # a recurring id is a video of each subject
    mixed = sorted(v for v in set(keys) if len(set(data.target[keys == v])) > 1)
    assert mixed
    with pytest.raises(DataError, match=f"video '{mixed[0]}' has frames with the labels"):
        run_protocol("dog-backbones", data, output=tmp_path, settings=DOG_SETTINGS,
                     verbose=0)


# -- amgs --------------------------------------------------------------------------------------


def _amgs_data():
    data = make_grimace_faces(n_samples=48, image_size=64, random_state=1)
    frame = data.frame.copy()
    rng = np.random.default_rng(0)
    frame["human_score"] = frame["rgs"] * 5 + rng.normal(0, 0.5, len(frame))
    half = frame.groupby("subject").cumcount() % 2
    frame["session"] = np.where(half == 0, "s1", "s2")
    frame["condition"] = np.where(half == 0, "baseline", "post-op")
    return Bunch(images=data.images, target=data.target, groups=data.groups,
                 target_names=data.target_names, frame=frame)


@pytest.fixture(scope="module")
def amgs_run(tmp_path_factory, cache):
    out = tmp_path_factory.mktemp("amgs")
    data = _amgs_data()
    ctx = run_protocol("amgs", data, output=out, verbose=0,
                       settings=dict(backbone="test_resnet", weights={"test_resnet": None},
                                     image_size=64, cv=3, cache=cache))
    pred = pd.read_csv(out / "amgs_predictions.csv")
    return out, ctx, data, pred


def _table(out, name, index_col):
    return pd.read_csv(out / f"{name}.csv", index_col=index_col)


def test_amgs_table_matches_the_retained_predictions(amgs_run):
    out, _, _, pred = amgs_run
    table = _table(out, "amgs_vs_paper", [0, 1])
    (method,) = table.index.get_level_values("method").unique()
    assert method == "test_resnet + logistic regression"
    kept = pred[pred["confidence"] >= 0.75]
    assert kept["retained"].all() and not pred.loc[pred["confidence"] < 0.75, "retained"].any()
    all_, conf = table.loc[(method, "all images")], table.loc[(method, "confidence >= 0.75")]
    assert all_["accuracy %"] == pytest.approx(100 * accuracy_score(pred.y_true, pred.y_pred))
    assert all_["sensitivity %"] == pytest.approx(100 * recall_score(pred.y_true, pred.y_pred))
    assert all_["specificity %"] == pytest.approx(
        100 * recall_score(pred.y_true, pred.y_pred, pos_label=0))
    assert conf["accuracy %"] == pytest.approx(100 * accuracy_score(kept.y_true, kept.y_pred))
    assert conf["sensitivity %"] == pytest.approx(100 * recall_score(kept.y_true, kept.y_pred))
    assert conf["coverage %"] == pytest.approx(100 * len(kept) / len(pred))
    paper = PAPER_RESULTS["amgs"]
    for metric in paper.columns:
        assert all_[f"{metric} (paper)"] == paper.loc["all images", metric]
        assert conf[f"{metric} (paper)"] == paper.loc["confidence >= 0.75", metric]
    assert (out / "risk_coverage.png").stat().st_size > 1000


def test_amgs_agreement_is_pearson_r_of_the_signed_confidence(amgs_run):
    out, _, data, pred = amgs_run
    p_pain = np.where(pred["y_pred"] == 1, pred["confidence"], 1 - pred["confidence"])
    assert np.allclose(pred["signed_confidence"], 2 * p_pain - 1)
    human = data.frame["human_score"].to_numpy()[pred["position"]]
    table = _table(out, "human_agreement", "level")
    assert table.loc["image", "r"] == pytest.approx(
        pearsonr(2 * p_pain - 1, human).statistic)
    assert table.loc["image", "r (paper)"] == PAPER_SUMMARIES["amgs"][
        "Pearson r with human score"]
    assert table.loc["subject", "n"] == 6


def test_amgs_pain_per_animal_and_difference_scores(amgs_run):
    out, _, data, pred = amgs_run
    kept = pred[pred["confidence"] >= 0.75].assign(
        condition=data.frame["condition"].to_numpy()[pred["position"]][
            pred["confidence"] >= 0.75])
    per = _table(out, "pain_per_animal", "subject")
    expected = kept.groupby("subject")["y_pred"].mean() * 100
    assert np.allclose(per.loc[expected.index, "% pain"], expected)
    assert per["n_images"].sum() == 48
    diff = _table(out, "difference_scores", "subject")
    pct = kept.groupby(["subject", "condition"])["y_pred"].mean().unstack() * 100
    both = pct.dropna().index
    assert len(both) >= 3
    assert np.allclose(diff.loc[both, "difference"],
                       pct.loc[both, "post-op"] - pct.loc[both, "baseline"])


def test_amgs_sampler_comes_before_the_feature_step():
    from types import SimpleNamespace

    ctx = SimpleNamespace(settings=dict(backbone="test_resnet", weights={"test_resnet": None},
                                        image_size=64, cache=False, device="cpu",
                                        batch_size=8, random_state=0))
    method, skipped, used, substituted = _method(ctx)
    sampler, features = method.estimator.steps[0][1], method.estimator.steps[1][1]
    assert isinstance(sampler, AugmentingOverSampler) and isinstance(features, DeepFeatures)
    assert tuple(sampler.augmentations) == ("crop", "flip", "brightness")
    assert sampler.n_ops == 1 and not skipped and not substituted


def test_amgs_substitute_row_is_labelled(tmp_path, cache):
    ctx = run_protocol("amgs", output=tmp_path, n_samples=36, verbose=0,
                       settings=dict(backbone="dino_resnet50", image_size=64, cv=2,
                                     cache=cache))
    table = _table(tmp_path, "amgs_vs_paper", [0, 1])
    (method,) = table.index.get_level_values("method").unique()
    assert method == ("efficientnet_lite0 + logistic regression "
                      "[substitute for dino_resnet50]")
    assert table[["accuracy %", "coverage %"]].notna().all().all()
    notes = " ".join(i["text"] for i in ctx.items if i["kind"] == "note")
    assert "dino_resnet50" in notes and "in its place" in notes


def test_amgs_needs_two_classes(tmp_path):
    data = make_grimace_faces(n_samples=30, image_size=32, n_classes=3, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with pytest.raises(DataError, match="2 classes, got 3"):
            run_protocol("amgs", data, output=tmp_path, verbose=0,
                         settings=dict(backbone="test_resnet", weights={"test_resnet": None}))


def test_amgs_paper_confident_row_only_at_the_papers_threshold():
    from skanimal.benchmark._proto_amgs import _comparison

    table = _comparison({"skipped row": None}, 0.8)
    assert list(table.index.get_level_values("images")) == ["all images", "confidence >= 0.8"]
    assert table.loc[("skipped row", "all images"), "accuracy % (paper)"] == 83.0
    assert np.isnan(table.loc[("skipped row", "confidence >= 0.8"), "accuracy % (paper)"])
    assert table[["accuracy %", "coverage %"]].isna().all().all()


def test_amgs_weights_of_another_backbone_are_an_error(tmp_path):
    with pytest.raises(DataError, match=r"weights given for \['resnet50'\]"):
        run_protocol("amgs", output=tmp_path, n_samples=24, verbose=0,
                     settings=dict(backbone="test_resnet", weights={"resnet50": None}))

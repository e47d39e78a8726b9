"""Tests for skanimal.scoring: per-image predictions, per-animal summaries, files."""

import json

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LogisticRegression

from skanimal.datasets import make_grimace_faces
from skanimal.exceptions import ResultsExistError
from skanimal.features import LBPFeatures
from skanimal.pipeline import make_pipeline
from skanimal.scoring import predict_images, score_animals, summarize_predictions
from skanimal.selective import ConfidenceThresholdClassifier


@pytest.fixture(scope="module")
def faces():
    return make_grimace_faces(n_samples=90, image_size=48, random_state=0)


@pytest.fixture(scope="module")
def model(faces):
    # a large C: confident predictions, so that some images pass the 0.75 threshold
    pipe = make_pipeline(LBPFeatures(image_size=(48, 48)),
                         LogisticRegression(C=1e4, max_iter=5000))
    return pipe.fit(faces.images, faces.target)


def _pred(**columns):
    pred = pd.DataFrame(columns)
    pred.attrs["pos_label"] = 1
    return pred


def test_predictions_are_the_models_probabilities_and_its_threshold(faces, model):
    proba = model.predict_proba(faces.images)
    pred = predict_images(model, faces.images, frame=faces.frame, threshold=0.8)
    np.testing.assert_allclose(pred["confidence"], proba.max(axis=1))
    np.testing.assert_allclose(pred["p_pain"], proba[:, 1])
    np.testing.assert_allclose(pred["signed_confidence"], 2 * proba[:, 1] - 1)
    np.testing.assert_array_equal(pred["label"], model.predict(faces.images))
    np.testing.assert_array_equal(pred["abstained"], proba.max(axis=1) < 0.8)
    np.testing.assert_array_equal(pred["subject"], faces.groups)
    # "auto" is the aMGS paper's 0.75, or an abstaining model's own threshold
    assert predict_images(model, faces.images[:3]).attrs["threshold"] == 0.75
    abstaining = ConfidenceThresholdClassifier(
        make_pipeline(LBPFeatures(image_size=(48, 48)), LogisticRegression()),
        threshold=0.6).fit(faces.images, faces.target)
    pred = predict_images(abstaining, faces.images)
    assert pred.attrs["threshold"] == 0.6
    np.testing.assert_array_equal(pred["abstained"],
                                  abstaining.predict(faces.images) == abstaining.abstain_value_)


def test_per_animal_pct_pain_is_pain_among_the_confident_images():
    pred = _pred(subject=["a", "a", "a", "a", "b", "b", "b"],
                 label=[1, 1, 0, 1, 0, 0, 1],
                 signed_confidence=[0.9, 0.8, -0.7, 0.1, -0.9, -0.6, 0.2],
                 abstained=[False, False, False, True, False, False, True])
    summary = summarize_predictions(pred)
    assert summary.loc["a", "n_images"] == 4 and summary.loc["a", "n_confident"] == 3
    assert summary.loc["a", "pct_pain"] == pytest.approx(200 / 3)
    assert summary.loc["b", "pct_pain"] == 0.0
    assert summary.loc["a", "mean_signed_confidence"] == pytest.approx((0.9 + 0.8 - 0.7) / 3)


def test_a_video_with_too_few_confident_frames_per_minute_is_excluded():
    # video v1: 12 frames every 10 s (2 min), 4 confident -> 2/min, kept;
    # video v2: 12 frames, 1 confident -> 0.5/min, excluded
    times = np.arange(12) * 10.0
    conf_v1 = np.zeros(12, bool)
    conf_v1[:4] = True
    conf_v2 = np.zeros(12, bool)
    conf_v2[0] = True
    pred = _pred(subject=["m"] * 24, video=["v1"] * 12 + ["v2"] * 12,
                 time=np.concatenate([times, times]),
                 label=[1, 1, 1, 0] + [0] * 8 + [1] * 12,
                 signed_confidence=np.zeros(24),
                 abstained=~np.concatenate([conf_v1, conf_v2]))
    per_video = summarize_predictions(pred, by="video")
    assert per_video.loc["m / v1", "minutes"] == pytest.approx(2.0)
    assert list(per_video["excluded"]) == [False, True]
    summary = summarize_predictions(pred)
    assert summary.loc["m", "n_videos"] == 2 and summary.loc["m", "n_excluded"] == 1
    assert summary.loc["m", "n_confident"] == 4  # v2's confident frame is left out
    assert summary.loc["m", "pct_pain"] == 75.0
    assert not summary.loc["m", "excluded"]
    assert summarize_predictions(pred, min_rate=0).loc["m", "n_confident"] == 5


def test_score_animals_writes_the_files_and_refuses_to_overwrite(model, tmp_path):
    faces = make_grimace_faces(n_samples=90, image_size=48, random_state=1)  # new images
    frame = faces.frame.assign(
        session=np.where(np.arange(len(faces.target)) % 2 == 0, "baseline", "post-op"))
    result = score_animals(model, faces.images, tmp_path, frame=frame,
                           class_names=faces.target_names)
    pred = pd.read_csv(tmp_path / "predictions.csv")
    assert len(pred) == len(faces.target)
    summary = pd.read_csv(tmp_path / "summary.csv", index_col=0)
    kept = pred[~pred["abstained"]]
    assert 0 < len(kept) < len(pred)
    expected = kept.groupby("subject")["label"].apply(lambda s: (s == 1).mean() * 100)
    np.testing.assert_allclose(summary["pct_pain"], expected.reindex(summary.index))
    diff = pd.read_csv(tmp_path / "differences.csv", index_col=[0, 1])
    for subject in ("rat01", "rat02"):
        rows = kept[kept["subject"] == subject]
        pct = rows.groupby("session")["label"].apply(
            lambda s: (s == 1).mean() * 100)
        row = diff.loc[(subject, "post-op")]
        assert row["difference"] == pytest.approx(pct["post-op"] - pct["baseline"])
    pngs = sorted(tmp_path.glob("timecourse_*.png"))
    assert len(pngs) == 6 and all(p.read_bytes()[:4] == b"\x89PNG" for p in pngs)
    page = (tmp_path / "report.html").read_text()
    assert page.count("<img") == 6  # one time course per animal; LBP has no EigenCAM
    assert "no EigenCAM overlays" in page
    assert json.loads((tmp_path / "scoring.json").read_text())["threshold"] == 0.75
    assert set(result.summary.index) == set(faces.groups)
    before = (tmp_path / "summary.csv").read_bytes()
    with pytest.raises(ResultsExistError, match="overwrite"):
        score_animals(model, faces.images, tmp_path, frame=frame)
    assert (tmp_path / "summary.csv").read_bytes() == before


def test_a_painseeker_report_shows_its_attention_beta(faces, tmp_path):
    import warnings

    from skanimal.nets import PainSeekerClassifier

    images, frame = faces.images[:24], faces.frame[:24]
    net = PainSeekerClassifier(backbone="test_resnet", weights=None, image_size=64,
                               train_resize=64, hflip=False, k_high=2, max_epochs=1,
                               batch_size=12, train_split=None, verbose=0, device="cpu",
                               random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # random test weights
        net.fit(images, faces.target[:24])
    result = score_animals(net, images, tmp_path, frame=frame, threshold=None)
    page = (tmp_path / "report.html").read_text()
    assert "region attention beta" in page and "EigenCAM" not in page
    assert page.count("<img") == len(result.summary) + 1  # the time courses, the overlays
    # the overlays are beta of the most and least confident images
    conf = result.predictions["confidence"].to_numpy()
    order = np.argsort(-conf, kind="stable")
    shown = np.unique(np.concatenate([order[:4], order[-4:]]))
    maps = net.attention_maps(images[shown])
    assert maps.shape[0] == len(shown) and np.allclose(maps.sum(axis=(1, 2)), 1, atol=1e-5)

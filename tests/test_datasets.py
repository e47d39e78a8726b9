"""Tests of skanimal.datasets: the generated grimace faces and the loaders."""

import os
import re

import numpy as np
import pandas as pd
import pytest
from PIL import Image
from skimage.feature import local_binary_pattern
from sklearn.model_selection import LeaveOneGroupOut, StratifiedKFold, cross_val_score
from sklearn.svm import LinearSVC

import skanimal.datasets as ds
from skanimal.datasets import (
    GRIMACE_ACTION_UNITS,
    DatasetError,
    DatasetExistsError,
    MissingFilesError,
    check_dataset_folder,
    load_image_folder,
    load_manifest,
    load_unbc_mcmaster,
    make_grimace_faces,
    pspi_to_level,
    save_dataset,
)
from skanimal.utils import load_image

# RatsPain per-rat counts (no pain / moderate / severe), SPEC section 3.
RATSPAIN = np.array(
    [[56, 163, 2], [102, 108, 0], [148, 50, 0], [138, 92, 0], [63, 116, 3], [34, 62, 1]]
)


@pytest.fixture(scope="module")
def default_faces():
    return make_grimace_faces()


@pytest.fixture(scope="module")
def small_faces():
    return make_grimace_faces(n_samples=30, image_size=32, random_state=3)


def test_all_exports_exist():
    for name in ds.__all__:
        assert hasattr(ds, name), name
    assert issubclass(DatasetError, ValueError)
    assert issubclass(MissingFilesError, DatasetError)
    assert issubclass(MissingFilesError, FileNotFoundError)


# --------------------------------------------------------------------------
# make_grimace_faces
# --------------------------------------------------------------------------


def test_grimace_default_mimics_ratspain(default_faces):
    b = default_faces
    assert b.images.shape == (1138, 96, 96, 3)
    assert b.images.dtype == np.uint8
    assert list(b.target_names) == ["no pain", "pain"]
    f = b.frame
    assert len(f) == 1138
    counts = pd.crosstab(f["subject"], f["level"]).reindex(columns=[0, 1, 2], fill_value=0)
    assert list(counts.index) == [f"rat0{i}" for i in range(1, 7)]
    np.testing.assert_array_equal(counts.to_numpy(), RATSPAIN)
    # moderate and severe merged into "pain"
    np.testing.assert_array_equal(b.target, (f["level"].to_numpy() >= 1).astype(int))
    assert np.bincount(b.target).tolist() == [541, 597]
    np.testing.assert_array_equal(b.groups, f["subject"].to_numpy(dtype=object))
    np.testing.assert_array_equal(b.target, f["label"].to_numpy())
    assert isinstance(b.DESCR, str) and "Rat Grimace Scale" in b.DESCR


def test_grimace_labels_follow_the_rgs_rule(default_faces):
    f = default_faces.frame
    aus = f[list(GRIMACE_ACTION_UNITS)].to_numpy()
    assert set(np.unique(aus)) <= {0, 1, 2}
    np.testing.assert_allclose(f["rgs"], aus.mean(axis=1))
    # rounded half up: mean 0.5 -> 1 (moderate), 1.5 -> 2 (severe)
    expected = np.floor(aus.mean(axis=1) + 0.5).astype(int)
    np.testing.assert_array_equal(f["level"], expected)
    assert (aus.sum(axis=1)[f["level"] == 0] <= 1).all()
    assert (aus.sum(axis=1)[f["level"] == 2] >= 6).all()
    assert f["image_id"].is_unique


def test_grimace_frame_holds_generating_parameters(small_faces):
    f = small_faces.frame
    for col in ("image_id", "subject", "label", "label_name", "rgs", "yaw", "roll",
                "scale", "shift_x", "shift_y", "light_strength", "noise_sd",
                "background_texture", "face_width", "eye_size", "fur_texture",
                *GRIMACE_ACTION_UNITS, *(f"{a}_intensity" for a in GRIMACE_ACTION_UNITS)):
        assert col in f.columns, col
    np.testing.assert_array_equal(f["label_name"], small_faces.target_names[small_faces.target])
    # subject parameters are constant within a subject and differ between them
    per_subject = f.groupby("subject")["eye_size"].nunique()
    assert (per_subject == 1).all()
    assert f.groupby("subject")["eye_size"].first().nunique() == f["subject"].nunique()


def test_grimace_is_deterministic():
    a = make_grimace_faces(n_samples=40, image_size=40, random_state=7)
    b = make_grimace_faces(n_samples=40, image_size=40, random_state=7)
    c = make_grimace_faces(n_samples=40, image_size=40, random_state=8)
    assert a.images.tobytes() == b.images.tobytes()
    pd.testing.assert_frame_equal(a.frame, b.frame)
    assert a.images.tobytes() != c.images.tobytes()
    # RandomState instances are accepted like in scikit-learn
    d = make_grimace_faces(n_samples=40, image_size=40,
                           random_state=np.random.RandomState(7))
    assert d.images.shape == a.images.shape


def test_grimace_n_classes_changes_labels_not_images():
    two = make_grimace_faces(n_samples=60, image_size=32, n_classes=2)
    three = make_grimace_faces(n_samples=60, image_size=32, n_classes=3)
    assert two.images.tobytes() == three.images.tobytes()
    assert list(three.target_names) == ["no pain", "moderate", "severe"]
    np.testing.assert_array_equal(three.target, three.frame["level"])
    np.testing.assert_array_equal(two.target, (three.target >= 1).astype(int))


@pytest.mark.parametrize("n_samples", [100, 257])
def test_grimace_n_samples_rescales_proportions(n_samples):
    b = make_grimace_faces(n_samples=n_samples, image_size=24)
    assert len(b.images) == len(b.target) == n_samples
    counts = pd.crosstab(b.frame["subject"], b.frame["level"]).reindex(
        columns=[0, 1, 2], fill_value=0).to_numpy()
    exact = RATSPAIN / RATSPAIN.sum() * n_samples
    # rounding, plus at most one image moved to keep "severe" represented
    assert np.abs(counts - exact).max() < 2.0
    assert counts.sum(axis=1).min() > 0
    assert counts[:, 2].sum() >= 1  # even severe stays represented


def test_grimace_more_subjects_and_return_X_y():
    X, y = make_grimace_faces(n_subjects=8, n_samples=80, image_size=24, return_X_y=True)
    assert X.shape == (80, 24, 24, 3) and y.shape == (80,)
    b = make_grimace_faces(n_subjects=8, n_samples=80, image_size=24)
    assert sorted(set(b.groups)) == [f"rat0{i}" for i in range(1, 9)]
    np.testing.assert_array_equal(b.images, X)


def test_grimace_parameter_validation():
    with pytest.raises(ValueError, match="n_classes"):
        make_grimace_faces(n_classes=4)
    with pytest.raises(ValueError, match="image_size"):
        make_grimace_faces(image_size=8)
    with pytest.raises(ValueError, match="n_samples"):
        make_grimace_faces(n_samples=0)


def test_grimace_images_are_a_function_of_the_action_units():
    """Without nuisance and subject effects, equal AU scores give equal images;
    each AU changes the image in its own part of the face."""
    b = make_grimace_faces(n_samples=300, image_size=48, nuisance=0.0,
                           subject_variation=0.0, random_state=1)
    aus = b.frame[list(GRIMACE_ACTION_UNITS)].to_numpy()
    imgs = b.images.astype(int)
    keys = [tuple(r) for r in aus]
    first = {}
    diff_rows = {k: np.zeros(48) for k in range(4)}
    n_pairs = np.zeros(4, int)
    for i, key in enumerate(keys):
        if key in first:
            assert np.array_equal(imgs[i], imgs[first[key]])
            continue
        for j_key, j in first.items():
            delta = np.array(key) - np.array(j_key)
            assert np.abs(imgs[i] - imgs[j]).max() > 20  # different scores, visible
            if np.count_nonzero(delta) == 1:
                k = int(np.flatnonzero(delta)[0])
                diff_rows[k] += np.abs(imgs[i] - imgs[j]).sum(axis=(1, 2))
                n_pairs[k] += 1
        first[key] = i
    assert (n_pairs > 0).all()
    centre = {k: np.average(np.arange(48), weights=diff_rows[k]) / 48 for k in range(4)}
    # ears at the top, eyes above the middle, nose/cheeks and whiskers below it
    assert centre[1] < centre[0] < 0.5 < centre[2]
    assert centre[3] > 0.5


def _lbp_histograms(images, grid=4):
    """A small LBP (P=8, R=1, nri_uniform) grid-histogram feature."""
    size = images.shape[1]
    cell = np.arange(size) * grid // size
    cell_id = cell[:, None] * grid + cell[None, :]
    out = []
    for img in images:
        codes = local_binary_pattern(load_image(img, mode="L"), 8, 1, "nri_uniform")
        h = np.bincount((cell_id * 59 + codes.astype(int)).ravel(),
                        minlength=grid * grid * 59).reshape(grid * grid, 59)
        out.append((h / h.sum(axis=1, keepdims=True)).ravel())
    return np.array(out)


def _shuffled_and_loso_accuracy(bunch):
    X, y, g = _lbp_histograms(bunch.images), bunch.target, bunch.groups
    clf = LinearSVC(C=1, random_state=0)
    shuffled = cross_val_score(clf, X, y, cv=StratifiedKFold(5, shuffle=True, random_state=0))
    hits = [clf.fit(X[tr], y[tr]).predict(X[te]) == y[te]
            for tr, te in LeaveOneGroupOut().split(X, y, g)]
    return shuffled.mean(), np.concatenate(hits).mean(), max(y.mean(), 1 - y.mean())


def test_grimace_makes_subject_leakage_visible():
    """Image-wise CV beats leave-one-subject-out CV with LBP + linear SVM, the
    task stays learnable subject-wise, and the gap comes from the subjects."""
    kw = dict(n_samples=400, image_size=64, random_state=0)
    shuffled, loso, majority = _shuffled_and_loso_accuracy(make_grimace_faces(**kw))
    assert shuffled - loso >= 0.07
    assert loso >= majority + 0.05
    shuffled0, loso0, _ = _shuffled_and_loso_accuracy(
        make_grimace_faces(subject_variation=0.0, **kw))
    assert (shuffled - loso) - (shuffled0 - loso0) >= 0.05


# --------------------------------------------------------------------------
# save_dataset + load_manifest
# --------------------------------------------------------------------------


def test_save_load_round_trip(tmp_path, small_faces):
    csv = save_dataset(small_faces, tmp_path / "out")
    assert os.path.isabs(csv) and os.path.basename(csv) == "manifest.csv"
    manifest = pd.read_csv(csv)
    assert list(manifest.columns[:4]) == ["path", "label", "label_name", "subject"]
    assert not any(os.path.isabs(p) for p in manifest["path"])
    loaded = load_manifest(csv)
    np.testing.assert_array_equal(loaded.target, small_faces.target)
    assert loaded.target.dtype.kind == "i"
    np.testing.assert_array_equal(loaded.groups, small_faces.groups)
    np.testing.assert_array_equal(loaded.target_names, small_faces.target_names)
    for col in small_faces.frame.columns:
        assert col in loaded.frame.columns, col
    pd.testing.assert_frame_equal(
        loaded.frame[small_faces.frame.columns], small_faces.frame, check_dtype=False)
    for i, p in enumerate(loaded.images):
        assert os.path.isabs(p) and p.endswith(".png")
        np.testing.assert_array_equal(load_image(p), small_faces.images[i])
    # file names come from image_id; no temporary files are left behind
    names = sorted(os.listdir(tmp_path / "out" / "images"))
    assert names == sorted(f"{i}.png" for i in small_faces.frame["image_id"])
    assert sorted(os.listdir(tmp_path / "out")) == [".skanimal-dataset.json", "images",
                                                    "manifest.csv"]


def test_save_refuses_non_empty_folder_and_overwrites_only_own_files(tmp_path, small_faces):
    out = tmp_path / "out"
    out.mkdir()
    (out / "notes.txt").write_text("mine")
    with pytest.raises(FileExistsError, match="not empty"):
        save_dataset(small_faces, out)
    with pytest.raises(DatasetExistsError, match="not empty"):
        check_dataset_folder(out)
    assert sorted(os.listdir(out)) == ["notes.txt"]
    csv = save_dataset(small_faces, out, overwrite=True)
    first = open(csv).read()
    # a smaller dataset written over it replaces the first: its extra images are removed
    smaller = make_grimace_faces(n_samples=12, image_size=32, random_state=3)
    save_dataset(smaller, out, overwrite=True)
    assert (out / "notes.txt").read_text() == "mine"
    assert sorted(os.listdir(out / "images")) == sorted(
        f"{i}.png" for i in smaller.frame["image_id"])
    assert open(csv).read() != first
    assert len(load_manifest(csv).images) == 12


def test_save_overwrite_refuses_a_manifest_it_did_not_write(tmp_path, small_faces):
    """A user's own dataset (manifest and images) is never replaced or removed."""
    out = tmp_path / "study"
    _write_images(out / "images", ["000000.png", "rat01_0000.png"])
    (out / "manifest.csv").write_text("path,label,subject\nimages/000000.png,1,r1\n")
    before = {p: p.read_bytes() for p in out.rglob("*") if p.is_file()}
    with pytest.raises(DatasetExistsError, match=r"study.*not written by save_dataset.*"
                                                 r"'manifest\.csv'"):
        save_dataset(small_faces, out, overwrite=True)
    with pytest.raises(DatasetExistsError, match="manifest.csv"):
        check_dataset_folder(out, overwrite=True)
    assert {p: p.read_bytes() for p in out.rglob("*") if p.is_file()} == before
    # without a manifest, an image of the same name as one it would write is refused too
    (out / "manifest.csv").unlink()
    with pytest.raises(DatasetExistsError, match=r"images/rat01_0000\.png"):
        save_dataset(small_faces, out, overwrite=True)
    assert (out / "images" / "rat01_0000.png").read_bytes() == before[
        out / "images" / "rat01_0000.png"]


def test_save_overwrite_keeps_files_changed_or_added_since(tmp_path, small_faces):
    out = tmp_path / "out"
    save_dataset(small_faces, out)
    smaller = make_grimace_faces(n_samples=12, image_size=32, random_state=3)
    stale = sorted(set(small_faces.frame["image_id"]) - set(smaller.frame["image_id"]))
    # the user edited one image save_dataset wrote, and added one of their own
    edited = out / "images" / f"{stale[0]}.png"
    edited.write_bytes(b"edited by hand")
    (out / "images" / "mine.png").write_bytes(b"my own")
    with pytest.raises(DatasetExistsError, match=rf"images/{stale[0]}\.png"):
        save_dataset(smaller, out, overwrite=True)
    assert edited.read_bytes() == b"edited by hand"
    assert len(load_manifest(out / "manifest.csv").images) == len(small_faces.images)
    edited.unlink()
    save_dataset(smaller, out, overwrite=True)
    assert (out / "images" / "mine.png").read_bytes() == b"my own"
    assert sorted(os.listdir(out / "images")) == sorted(
        ["mine.png", *(f"{i}.png" for i in smaller.frame["image_id"])])
    # a changed manifest is the user's now: refused
    (out / "manifest.csv").write_text((out / "manifest.csv").read_text() + "\n")
    with pytest.raises(DatasetExistsError, match="manifest.csv"):
        save_dataset(small_faces, out, overwrite=True)


def test_save_paths_dataset_and_protect_sources(tmp_path, small_faces):
    src = load_manifest(save_dataset(small_faces, tmp_path / "a"))
    csv = save_dataset(src, tmp_path / "b", format="tiff")
    copy = load_manifest(csv)
    assert all(p.endswith(".tif") for p in copy.images)
    for p, q in zip(src.images, copy.images):
        np.testing.assert_array_equal(load_image(p), load_image(q))
    np.testing.assert_array_equal(copy.groups, src.groups)
    before = {p: os.path.getmtime(p) for p in src.images}
    with pytest.raises(ValueError, match="overwrite source image"):
        save_dataset(src, tmp_path / "a", overwrite=True)
    assert before == {p: os.path.getmtime(p) for p in src.images}


@pytest.mark.parametrize("dtype", ["uint8", "float"])
def test_save_grey_and_float_images(tmp_path, dtype):
    rng = np.random.default_rng(0)
    imgs = rng.integers(0, 256, (5, 10, 12), dtype=np.uint8)
    if dtype == "float":
        imgs = imgs / 255.0
    data = {"images": imgs, "target": np.array(["a", "b", "a", "b", "a"]),
            "groups": np.array([1, 1, 2, 2, 3])}
    loaded = load_manifest(save_dataset(data, tmp_path / "g"))
    assert list(loaded.target) == ["a", "b", "a", "b", "a"]
    assert list(loaded.groups) == ["1", "1", "2", "2", "3"]
    for p, img in zip(loaded.images, imgs):
        np.testing.assert_array_equal(load_image(p, mode="L"), load_image(img, mode="L"))
        with Image.open(p) as im:
            assert im.mode == "L"


def test_save_requires_subjects_and_matching_lengths(tmp_path):
    imgs = np.zeros((3, 8, 8), np.uint8)
    with pytest.raises(ValueError, match="subjects"):
        save_dataset({"images": imgs, "target": [0, 1, 0]}, tmp_path / "x")
    with pytest.raises(ValueError, match="target"):
        save_dataset({"images": imgs, "target": [0, 1], "groups": [1, 2, 3]}, tmp_path / "x")
    assert not (tmp_path / "x").exists()


def _write_images(folder, names, size=(6, 5)):
    folder.mkdir(parents=True, exist_ok=True)
    for k, name in enumerate(names):
        Image.fromarray(np.full(size, 10 * k, np.uint8)).save(folder / name)


def _write_csv(path, text):
    path.write_text(text.strip() + "\n")
    return path


def test_load_manifest_types_names_and_relative_paths(tmp_path, monkeypatch):
    _write_images(tmp_path / "imgs", ["a.png", "b.png", "c.png"])
    csv = _write_csv(tmp_path / "m.csv", """
path,label,label_name,subject,video,score,x0,y0,x1,y1,note
imgs/a.png,1,pain,007,v1,3.5,0,0,4,4,x
imgs/b.png,0,no pain,rat02,v1,,,,,,
imgs/c.png,1,pain,007,v2,1,1,1,5,3,z
""")
    monkeypatch.chdir(tmp_path / "imgs")  # paths are relative to the CSV, not the cwd
    b = load_manifest(csv)
    files = [str(tmp_path / "imgs" / n) for n in ("a.png", "b.png", "c.png")]
    # the rows with a face box are lazily cropped copies of their files
    assert [getattr(x, "path", x) for x in b.images] == files
    assert b.images[1] == files[1] and b.images[2].box == (1.0, 1.0, 4.0, 2.0)
    assert b.target.tolist() == [1, 0, 1] and b.target.dtype.kind == "i"
    assert list(b.target_names) == ["no pain", "pain"]  # ordered by code
    assert list(b.groups) == ["007", "rat02", "007"]  # subjects stay strings
    f = b.frame
    assert list(f.columns) == ["path", "label", "label_name", "subject", "video", "score",
                               "x0", "y0", "x1", "y1", "note"]
    assert f["score"].tolist()[0] == 3.5 and np.isnan(f["score"][1])
    assert f["x1"].tolist()[2] == 5
    assert f["note"].tolist() == ["x", "", "z"]
    assert list(f["path"]) == files
    assert "Number of subjects: 2" in b.DESCR


def test_load_manifest_string_labels_sorted_names(tmp_path):
    _write_images(tmp_path, ["a.png", "b.png", "c.png"])
    csv = _write_csv(tmp_path / "m.csv", """
path,label,subject
a.png,pain,r1
b.png,no_pain,r2
c.png,1,r2
""")
    b = load_manifest(csv)
    assert list(b.target) == ["pain", "no_pain", "1"]
    assert list(b.target_names) == ["1", "no_pain", "pain"]


def test_load_manifest_missing_columns(tmp_path):
    csv = _write_csv(tmp_path / "m.csv", "path,lbl\na.png,1")
    with pytest.raises(DatasetError, match=r"m\.csv.*label, subject"):
        load_manifest(csv)
    with pytest.raises(FileNotFoundError, match="nope.csv"):
        load_manifest(tmp_path / "nope.csv")


def test_load_manifest_missing_files_reports_count_and_first_five(tmp_path):
    _write_images(tmp_path, ["there.png"])
    rows = "\n".join(f"gone{i}.png,0,s{i}" for i in range(7))
    csv = _write_csv(tmp_path / "m.csv", f"path,label,subject\nthere.png,1,s\n{rows}")
    with pytest.raises(MissingFilesError) as info:
        load_manifest(csv)
    msg = str(info.value)
    assert "7 of 8" in msg and "m.csv" in msg
    assert "gone4.png" in msg and "gone5.png" not in msg and "2 more" in msg
    assert len(info.value.missing) == 7
    # check_files=False skips the check
    assert len(load_manifest(csv, check_files=False).images) == 8


@pytest.mark.parametrize(
    "body, pattern",
    [
        ("a.png,1,s1\nb.png,,s2\nc.png,0,", r"empty or missing 'label' on data row\(s\) 2"),
        ("a.png,1,s1\nb.png,0,s2\nc.png,0,", r"'subject' on data row\(s\) 3"),
        ("a.png,1,s1\n./a.png,0,s2\nb.png,0,s2", r"more than once: data row\(s\) 1, 2"),
    ],
)
def test_load_manifest_row_errors(tmp_path, body, pattern):
    _write_images(tmp_path, ["a.png", "b.png", "c.png"])
    csv = _write_csv(tmp_path / "m.csv", "path,label,subject\n" + body)
    with pytest.raises(DatasetError, match=pattern):
        load_manifest(csv)


@pytest.mark.parametrize(
    "header, rows, pattern",
    [
        ("x0,y0,x1", ["0,0,3", "0,0,3"], "but not y1"),
        ("x0,y0,x1,y1", ["0,0,5,5", "4,0,4,5"], r"x1 <= x0 or y1 <= y0\) on data row\(s\) 2"),
        ("x0,y0,x1,y1", ["0,0,5,", "0,0,5,5"], r"incomplete face box .* data row\(s\) 1"),
        ("x0,y0,x1,y1", ["0,0,5,5", "0,0,five,5"], r"'x1' must be numeric.*row\(s\) 2 .*'five'"),
        ("score", ["1", "high"], r"'score' must be numeric"),
    ],
)
def test_load_manifest_box_and_numeric_errors(tmp_path, header, rows, pattern):
    _write_images(tmp_path, ["a.png", "b.png"])
    text = f"path,label,subject,{header}\na.png,0,s1,{rows[0]}\nb.png,1,s2,{rows[1]}"
    with pytest.raises(DatasetError, match=pattern):
        load_manifest(_write_csv(tmp_path / "m.csv", text))


def test_load_manifest_inconsistent_label_names(tmp_path):
    _write_images(tmp_path, ["a.png", "b.png"])
    csv = _write_csv(tmp_path / "m.csv", "path,label,label_name,subject\n"
                     "a.png,0,calm,s1\nb.png,0,relaxed,s2")
    with pytest.raises(DatasetError, match="several label_name"):
        load_manifest(csv)


def test_load_manifest_numeric_labels_are_one_class_whatever_their_spelling(tmp_path):
    # "1", "1.0" and " 1" are the same class; "0.0" is class 0
    _write_images(tmp_path, ["a.png", "b.png", "c.png", "d.png"])
    csv = _write_csv(tmp_path / "m.csv", "path,label,subject\n"
                     "a.png,1,r1\nb.png,1.0,r2\nc.png,0.0,r1\nd.png, 1,r2")
    b = load_manifest(csv)
    assert b.target.tolist() == [1, 1, 0, 1] and b.target.dtype == np.int64
    assert list(b.target_names) == ["0", "1"]
    assert b.frame["label"].tolist() == [1, 1, 0, 1]
    # labels that are numbers but not whole stay numbers (floats)
    csv = _write_csv(tmp_path / "m.csv", "path,label,subject\na.png,0.5,r1\nb.png,1,r2")
    assert load_manifest(csv).target.tolist() == [0.5, 1.0]


@pytest.mark.parametrize("marker", ["NA", "nan", "N/A", "NULL", "None", "#N/A", "NaN"])
def test_load_manifest_missing_markers_are_missing_values(tmp_path, marker):
    _write_images(tmp_path, ["a.png", "b.png", "c.png"])
    csv = _write_csv(tmp_path / "m.csv", "path,label,subject,score\n"
                     f"a.png,1,r1,2\nb.png,{marker},r2,1\nc.png,0,r2,3")
    with pytest.raises(DatasetError, match=(
        rf"m\.csv.*empty or missing 'label' on data row\(s\) 2 .*"
        rf"\('{re.escape(marker)}' read as missing\)"
    )):
        load_manifest(csv)
    csv = _write_csv(tmp_path / "m.csv", "path,label,subject,score\n"
                     f"a.png,1,r1,2\nb.png,0,{marker},1\nc.png,0,r2,3")
    with pytest.raises(DatasetError, match=r"'subject' on data row\(s\) 2"):
        load_manifest(csv)
    # in a numeric column the marker is a missing number, not a reason to refuse
    csv = _write_csv(tmp_path / "m.csv", "path,label,subject,score,weight\n"
                     f"a.png,1,r1,2,{marker}\nb.png,0,r1,{marker},0.5\nc.png,0,r2,3,1")
    f = load_manifest(csv).frame
    assert np.isnan(f["score"][1]) and f["score"][2] == 3
    assert f["weight"].dtype == np.float64 and np.isnan(f["weight"][0])


def test_missing_markers_are_exactly_pandas_defaults():
    from pandas._libs.parsers import STR_NA_VALUES

    from skanimal.datasets._base import MISSING_MARKERS

    assert MISSING_MARKERS == set(STR_NA_VALUES)


def test_load_manifest_markers_are_case_sensitive_and_not_applied_to_label_name(tmp_path):
    """'none' is a class name, 'Na' and 'NONE' are subjects, as pandas reads them."""
    _write_images(tmp_path, ["a.png", "b.png", "c.png", "d.png"])
    csv = _write_csv(tmp_path / "m.csv", "path,label,label_name,subject,score\n"
                     "a.png,0,none,Na,1\nb.png,1,pain,NONE,2\n"
                     "c.png,0,none,Na,3\nd.png,1,pain,n/A,4")
    data = load_manifest(csv)
    assert list(data.target_names) == ["none", "pain"]
    assert data.groups.tolist() == ["Na", "NONE", "Na", "n/A"]
    csv = _write_csv(tmp_path / "m.csv", "path,label,subject\n"
                     "a.png,none,r1\nb.png,pain,r2\nc.png,Nan,r1\nd.png,pain,r2")
    assert load_manifest(csv).target.tolist() == ["none", "pain", "Nan", "pain"]
    # label_name 'NA' or 'None' is a name too; only an empty one is missing
    csv = _write_csv(tmp_path / "m.csv", "path,label,label_name,subject\n"
                     "a.png,0,NA,r1\nb.png,1,None,r2\nc.png,0,NA,r1\nd.png,1,None,r2")
    assert list(load_manifest(csv).target_names) == ["NA", "None"]
    csv = _write_csv(tmp_path / "m.csv", "path,label,label_name,subject\n"
                     "a.png,0,x,r1\nb.png,1, ,r2\nc.png,0,x,r1\nd.png,1,y,r2")
    with pytest.raises(DatasetError, match=r"'label_name' on data row\(s\) 2 "):
        load_manifest(csv)


def test_load_manifest_short_row_is_a_missing_subject(tmp_path):
    _write_images(tmp_path, ["a.png", "b.png"])
    csv = _write_csv(tmp_path / "m.csv", "path,label,subject\na.png,1,r1\nb.png,0")
    with pytest.raises(DatasetError, match=r"'subject' on data row\(s\) 2"):
        load_manifest(csv)


def test_load_manifest_trailing_delimiter_on_every_row(tmp_path):
    # a spreadsheet export: every data row ends with a comma, the header does not
    _write_images(tmp_path, ["a.png", "b.png"])
    csv = _write_csv(tmp_path / "m.csv", "path,label,subject\na.png,1,r1,\nb.png,0,r2,")
    b = load_manifest(csv)
    assert [os.path.basename(p) for p in b.images] == ["a.png", "b.png"]
    assert b.target.tolist() == [1, 0] and list(b.groups) == ["r1", "r2"]
    assert list(b.frame.columns) == ["path", "label", "subject"]
    # values beyond the header are refused, not silently dropped
    csv = _write_csv(tmp_path / "m.csv", "path,label,subject\na.png,1,r1\nb.png,0,r2,x")
    with pytest.raises(DatasetError, match=r"m\.csv.*data row\(s\) 2 .*more values than "
                       r"the header has columns \(3\)"):
        load_manifest(csv)


@pytest.mark.parametrize("encoding", ["utf-16", "utf-16-le", "utf-16-be", "utf-32",
                                      "utf-8-sig"])
def test_load_manifest_unicode_with_byte_order_mark(tmp_path, encoding):
    _write_images(tmp_path, ["é.png", "b.png"])
    text = "path,label,subject\né.png,1,Rémi\nb.png,0,r2\n"
    data = text.encode(encoding)
    if encoding in ("utf-16-le", "utf-16-be"):  # these codecs write no BOM by themselves
        data = "\ufeff".encode(encoding) + data
    (tmp_path / "m.csv").write_bytes(data)
    b = load_manifest(tmp_path / "m.csv")
    assert list(b.frame.columns) == ["path", "label", "subject"]
    assert list(b.groups) == ["Rémi", "r2"]
    assert os.path.basename(b.images[0]) == "é.png"


def test_load_manifest_not_utf8_names_the_file_and_line(tmp_path):
    _write_images(tmp_path, ["a.png", "b.png"])
    (tmp_path / "latin.csv").write_bytes(
        "path,label,subject\na.png,1,r1\nb.png,0,Rémi\n".encode("latin-1"))
    with pytest.raises(DatasetError, match=r"latin\.csv' is not UTF-8 text: byte 0xe9 on "
                       r"line 3 .*Latin-1.*Save it as UTF-8"):
        load_manifest(tmp_path / "latin.csv")
    # UTF-16 without a byte-order mark: ASCII text decodes as UTF-8 with NUL
    # bytes, which no CSV holds
    for name, text in [("u16.csv", "path,label,subject\nb.png,0,Remi\n"),
                       ("u16e.csv", "path,label,subject\nb.png,0,Rémi\n")]:
        (tmp_path / name).write_bytes(text.encode("utf-16-le"))
        with pytest.raises(DatasetError, match=rf"{name[:-4]}\.csv' holds NUL bytes "
                           r"\(line 1\).*UTF-16.*Save it as UTF-8"):
            load_manifest(tmp_path / name)


def test_load_manifest_folder_is_not_a_missing_file(tmp_path):
    (tmp_path / "study").mkdir()
    with pytest.raises(DatasetError, match=r"study' is a folder, not a CSV file.*"
                       r"manifest\.csv"):
        load_manifest(tmp_path / "study")


# --------------------------------------------------------------------------
# load_image_folder
# --------------------------------------------------------------------------


@pytest.fixture
def class_folders(tmp_path):
    root = tmp_path / "faces"
    _write_images(root / "pain", ["rat2_b.png", "rat1_a.PNG", "rat1_c.jpg"])
    _write_images(root / "no_pain", ["rat2_a.png", "rat1_b.png"])
    (root / "pain" / "notes.txt").write_text("not an image")
    (root / "pain" / ".hidden.png").write_bytes(b"")
    (root / "top.png").write_bytes(b"")  # files directly in root are ignored
    return root


def test_load_image_folder_layout(class_folders):
    b = load_image_folder(class_folders, subject_pattern=r"^(?P<subject>rat\d+)_")
    assert list(b.target_names) == ["no_pain", "pain"]
    names = [os.path.relpath(p, class_folders) for p in b.images]
    assert names == ["no_pain/rat1_b.png", "no_pain/rat2_a.png", "pain/rat1_a.PNG",
                     "pain/rat1_c.jpg", "pain/rat2_b.png"]
    assert b.target.tolist() == [0, 0, 1, 1, 1]
    assert list(b.groups) == ["rat1", "rat2", "rat1", "rat1", "rat2"]
    assert list(b.frame["label_name"]) == ["no_pain"] * 2 + ["pain"] * 3
    assert all(os.path.isabs(p) for p in b.images)
    # loading twice gives the same order
    again = load_image_folder(class_folders,
                              subject_pattern=re.compile(r"(?P<subject>rat\d+)(?=_)"))
    np.testing.assert_array_equal(again.images, b.images)


def test_load_image_folder_subject_map(class_folders):
    by_name = {"rat2_b.png": "B", "rat1_a.PNG": "A", "rat1_c.jpg": "A", "rat2_a.png": "B",
               "no_pain/rat1_b.png": "A"}
    b = load_image_folder(class_folders, subject_map=by_name)
    assert list(b.groups) == ["A", "B", "A", "A", "B"]
    c = load_image_folder(class_folders, subject_map=lambda p: os.path.basename(p)[:4])
    assert list(c.groups) == ["rat1", "rat2", "rat1", "rat1", "rat2"]
    del by_name["rat2_a.png"]
    with pytest.raises(DatasetError, match=r"no subject for 1 of 5 .*no_pain/rat2_a\.png"):
        load_image_folder(class_folders, subject_map=by_name)


def test_load_image_folder_errors(class_folders, tmp_path):
    with pytest.raises(ValueError, match="subject-wise evaluation"):
        load_image_folder(class_folders)
    with pytest.raises(ValueError, match="both were given"):
        load_image_folder(class_folders, subject_pattern="(?P<subject>x)", subject_map={})
    with pytest.raises(ValueError, match="no named group 'subject'"):
        load_image_folder(class_folders, subject_pattern=r"rat\d")
    with pytest.raises(DatasetError, match=r"does not find a subject in 2 of 5 .*rat2_a"):
        load_image_folder(class_folders, subject_pattern=r"(?P<subject>rat1)_")
    (class_folders / "empty").mkdir()
    with pytest.raises(DatasetError, match="'empty' contain no image files"):
        load_image_folder(class_folders, subject_pattern=r"(?P<subject>rat\d)")
    with pytest.raises(FileNotFoundError):
        load_image_folder(tmp_path / "missing", subject_pattern=r"(?P<subject>x)")


# --------------------------------------------------------------------------
# UNBC-McMaster
# --------------------------------------------------------------------------


def test_pspi_to_level_matches_spec_bins():
    spec = {0: 0, 1: 1, 2: 1, 3: 2, 4: 2, 5: 3, 6: 3, 7: 4, 8: 4, 9: 4,
            10: 5, 11: 5, 12: 5, 13: 6, 14: 6, 15: 6}
    scores = np.array(list(spec), dtype=float)
    np.testing.assert_array_equal(pspi_to_level(scores), list(spec.values()))
    assert pspi_to_level(np.arange(16).reshape(4, 4)).shape == (4, 4)
    assert pspi_to_level(9) == 4 and isinstance(pspi_to_level(9), int)


@pytest.mark.parametrize(
    "bad, error, pattern",
    [
        ([0, 16], ValueError, r"between 0 and 15 \(the PSPI scale\); got 16 at index 1\."),
        ([-1.0], ValueError, "between 0 and 15"),
        ([2.5], ValueError, r"got 2\.5 at index 0, which is not a whole number"),
        ([np.nan], ValueError, "whole number"),
        (["3"], TypeError, "numeric"),
    ],
)
def test_pspi_to_level_rejects_bad_scores(bad, error, pattern):
    with pytest.raises(error, match=pattern):
        pspi_to_level(bad)


@pytest.fixture
def unbc_archive(tmp_path):
    """A tiny archive in the distributed layout: 2 subjects, 3 sequences."""
    root = tmp_path / "UNBC"
    layout = {
        ("095-tv095", "tv095t2aeunaff"): [0, 3, 10],
        ("042-ll042", "ll042t1aaaff"): [0, 1, 15],
        ("042-ll042", "ll042t1aiaff"): [7],
    }
    for (subject, seq), scores in layout.items():
        img_dir = root / "Images" / subject / seq
        lab_dir = root / "Frame_Labels" / "PSPI" / subject / seq
        lab_dir.mkdir(parents=True)
        _write_images(img_dir, [f"{seq}{k + 1:03d}.png" for k in range(len(scores))])
        for k, s in enumerate(scores):
            (lab_dir / f"{seq}{k + 1:03d}_facs.txt").write_text(f"   {s:.7e}\n")
    return root


def test_load_unbc_mcmaster(unbc_archive):
    b = load_unbc_mcmaster(unbc_archive)
    f = b.frame
    assert list(f["pspi"]) == [0.0, 1.0, 15.0, 7.0, 0.0, 3.0, 10.0]  # sorted by name
    assert b.target.tolist() == [0, 1, 6, 4, 0, 2, 5]
    assert list(b.groups) == ["042-ll042"] * 4 + ["095-tv095"] * 3
    assert list(f["video"]) == list(f["sequence"])
    assert list(f["frame_index"]) == [0, 1, 2, 0, 0, 1, 2]
    assert f["frame"][0] == "ll042t1aaaff001"
    assert len(b.target_names) == 7 and b.target_names[6] == "PSPI 13-15"
    assert all(os.path.isfile(p) for p in b.images)
    assert load_unbc_mcmaster(unbc_archive, target="binary").target.tolist() == [
        0, 1, 1, 1, 0, 1, 1]
    scores = load_unbc_mcmaster(unbc_archive, target="pspi")
    assert scores.target.dtype == float and scores.target.tolist() == list(f["pspi"])
    with pytest.raises(ValueError, match="target"):
        load_unbc_mcmaster(unbc_archive, target="levels")


def test_load_unbc_mcmaster_errors(unbc_archive, tmp_path):
    label = unbc_archive / "Frame_Labels/PSPI/095-tv095/tv095t2aeunaff/tv095t2aeunaff002_facs.txt"
    label.write_text("2.5")
    with pytest.raises(DatasetError, match="tv095t2aeunaff002_facs.txt"):
        load_unbc_mcmaster(unbc_archive)
    label.unlink()
    with pytest.raises(MissingFilesError, match=r"1 frame\(s\).*tv095t2aeunaff002_facs\.txt"):
        load_unbc_mcmaster(unbc_archive)
    (tmp_path / "empty_root").mkdir()
    with pytest.raises(FileNotFoundError, match="Images"):
        load_unbc_mcmaster(tmp_path / "empty_root")


def test_loader_user_errors_are_skanimal_errors_of_the_old_types(tmp_path, small_faces):
    """What the command line prints in one line: every error here is a SkanimalError."""
    from skanimal.exceptions import DataError, SkanimalError

    with pytest.raises(MissingFilesError, match="nope.csv") as info:
        load_manifest(tmp_path / "nope.csv")
    assert isinstance(info.value, FileNotFoundError) and info.value.missing
    with pytest.raises(MissingFilesError, match="no_folder") as info:
        load_image_folder(tmp_path / "no_folder", subject_pattern=r"(?P<subject>x)")
    assert isinstance(info.value, FileNotFoundError)
    _write_images(tmp_path / "faces" / "pain", ["rat1_0.png"])
    for kwargs in ({}, {"subject_pattern": "^rat"}, {"subject_map": {}, "extensions": ()}):
        with pytest.raises(DataError):
            load_image_folder(tmp_path / "faces", **kwargs)
    (tmp_path / "a_file").write_text("x")
    with pytest.raises(DatasetExistsError, match="not a folder") as info:
        save_dataset(small_faces, tmp_path / "a_file")
    assert isinstance(info.value, SkanimalError) and isinstance(info.value, FileExistsError)
    with pytest.raises(DataError, match="subjects"):
        save_dataset({"images": small_faces.images, "target": small_faces.target},
                     tmp_path / "out")


# --------------------------------------------------------------------------
# make_grimace_faces: the PSPI-like score and sequences (unbc-levels protocol)
# --------------------------------------------------------------------------


def test_grimace_pspi_is_the_documented_function_of_the_intensities(default_faces):
    f = default_faces.frame
    intensity = f[[f"{a}_intensity" for a in GRIMACE_ACTION_UNITS]].to_numpy()
    excess = np.clip(intensity - 0.5, 0, None).sum(axis=1)
    expected = np.minimum(np.floor(2 * np.clip(excess - 1.2, 0, None) ** 1.3), 15)
    assert f["pspi"].dtype == np.int64
    np.testing.assert_array_equal(f["pspi"], expected)
    assert f["pspi"].between(0, 15).all()
    # the new columns come last: every earlier column keeps its place
    assert list(f.columns[-2:]) == ["pspi", "sequence"]


def test_grimace_pspi_covers_the_seven_levels_skewed_towards_zero(default_faces):
    f = default_faces.frame
    counts = np.bincount(pspi_to_level(f["pspi"]), minlength=7)
    assert (counts > 0).all(), counts
    assert counts[0] > 0.5 * counts.sum()  # most faces score 0, as in UNBC-McMaster
    assert counts[6] == counts.min() and counts[6] < 0.03 * counts.sum()
    assert counts[1] > counts[3] > counts[5]
    # monotone in pain: the mean score grows with the RGS level, "no pain" is ~0
    means = f.groupby("level")["pspi"].mean()
    assert means.is_monotonic_increasing and means[0] < 0.1 < 2 < means[1]
    assert (f.loc[f["level"] == 0, "pspi"] == 0).mean() > 0.95


def test_grimace_pspi_is_non_decreasing_in_every_intensity():
    from skanimal.datasets._grimace import _pspi_like

    rng = np.random.default_rng(0)
    intensity = rng.uniform(-0.8, 3.0, size=(2000, 4))
    base = _pspi_like(intensity)
    for k in range(4):
        more = intensity.copy()
        more[:, k] += rng.uniform(0, 1.5, size=2000)
        assert (_pspi_like(more) >= base).all()
    assert _pspi_like(np.full((1, 4), 0.5))[0] == 0
    assert _pspi_like(np.full((1, 4), 9.0))[0] == 15


def test_grimace_sequences_are_consecutive_images_of_one_subject(small_faces, default_faces):
    for faces in (small_faces, default_faces):
        f = faces.frame
        seq = f["sequence"].to_numpy()
        assert (f.groupby("sequence")["subject"].nunique() == 1).all()
        assert (f.groupby("sequence").size() <= 10).all()
        # a sequence's rows are contiguous, and a subject's sequences are full but the last
        starts = np.flatnonzero(np.r_[True, seq[1:] != seq[:-1]])
        assert len(starts) == len(np.unique(seq))
        sizes = f.groupby("sequence", sort=False).size()
        for subject in np.unique(f["subject"]):
            mine = sizes[[s.startswith(f"{subject}_") for s in sizes.index]]
            assert (mine.iloc[:-1] == 10).all()
    assert small_faces.frame["sequence"].iloc[0] == "rat01_seq01"

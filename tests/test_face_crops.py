"""Face crops: boxed images read lazily, boxed manifests and DeepLabCut face boxes.

Every crop is compared with a crop made by hand with Pillow from the real
file; the boxes read from DeepLabCut files are compared with boxes computed by
hand from the keypoints written into them.
"""

import pickle
import shutil
import warnings

import numpy as np
import pandas as pd
import pytest
from PIL import Image, ImageOps

from skanimal.datasets import (
    DatasetError,
    MissingFilesError,
    load_deeplabcut,
    load_manifest,
    save_dataset,
)
from skanimal.features import DeepFeatures, LBPFeatures, image_keys
from skanimal.sampling import AugmentedImage
from skanimal.utils import ImageReadError, load_image

W, H = 40, 30  # the test image's width and height


@pytest.fixture(scope="module")
def photo(tmp_path_factory):
    """A 40x30 RGB PNG with structure and noise; returns its path."""
    rng = np.random.default_rng(3)
    yy, xx = np.mgrid[0:H, 0:W]
    base = np.sin(xx / 3.0) * 60 + np.cos(yy / 4.0) * 50 + 128
    rgb = np.stack([base, base[::-1], base[:, ::-1]], axis=-1) + rng.normal(0, 15, (H, W, 3))
    path = tmp_path_factory.mktemp("photo") / "face.png"
    Image.fromarray(np.clip(rgb, 0, 255).astype(np.uint8)).save(path)
    return str(path)


def _hand_crop(path, region):
    with Image.open(path) as img:
        return np.asarray(ImageOps.exif_transpose(img).convert("RGB").crop(region))


# --------------------------------------------------------------------------
# AugmentedImage(box=...)
# --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "box, params, region",
    [
        # a plain box: (x, y, width, height) -> (left, top, right, bottom)
        ((5, 4, 12, 10), {}, (5, 4, 17, 14)),
        # 1.5 times about the centre (15, 14): 15 x 12 pixels from (7.5 -> 8, 8)
        ((10, 10, 10, 8), {"box_scale": 1.5}, (8, 8, 23, 20)),
        # UNBC's 25 %: 12.5 x 10 -> 13 x 10 pixels about (15, 14)
        ((10, 10, 10, 8), {"box_scale": 1.25}, (9, 9, 22, 19)),
        # twice (20 x 20 about (35, 25)) runs past the right and bottom: clipped
        ((30, 20, 10, 10), {"box_scale": 2.0}, (25, 15, 40, 30)),
        # square: 10 x 6 grows to 10 x 10 about (15, 8)
        ((10, 5, 10, 6), {"square": True}, (10, 3, 20, 13)),
        # square at the top border: 16 x 16 about (8, 4) clipped to the image
        ((0, 1, 16, 6), {"square": True}, (0, 0, 16, 12)),
        # a float box: its size rounds half up (10 x 6), then its edges about the
        # centre (9.35, 4.95): left 9.35 - 5 -> 4, top 4.95 - 3 -> 2
        ((4.6, 2.2, 9.5, 5.5), {}, (4, 2, 14, 8)),
    ],
)
def test_box_crops_equal_hand_made_crops(photo, box, params, region):
    face = AugmentedImage(photo, box=box, **params)
    expected = _hand_crop(photo, region)
    np.testing.assert_array_equal(load_image(face), expected)
    # the same crop of the decoded array as of the file
    full = load_image(photo)
    np.testing.assert_array_equal(face.apply(full), expected)
    grey = load_image(photo, mode="L")[..., None]  # an (H, W, 1) array keeps its channel axis
    assert face.apply(grey).shape == expected.shape[:2] + (1,)


def test_box_comes_before_the_other_operations(photo):
    region = (5, 4, 17, 14)
    hand = Image.fromarray(_hand_crop(photo, region))
    flipped = np.asarray(hand.transpose(Image.Transpose.FLIP_LEFT_RIGHT))
    np.testing.assert_array_equal(
        load_image(AugmentedImage(photo, box=(5, 4, 12, 10), flip=True)), flipped)
    # a copy of a boxed image (as the oversampler makes) augments the crop
    nested = AugmentedImage(AugmentedImage(photo, box=(5, 4, 12, 10)), flip=True)
    np.testing.assert_array_equal(load_image(nested), flipped)
    # a crop fraction is of the box, resized back to the box's size
    cut = AugmentedImage(photo, box=(5, 4, 12, 10), crop=(0.25, 0, 0, 0))
    expected = hand.resize(hand.size, Image.Resampling.BILINEAR, box=(3, 0, 12, 10))
    np.testing.assert_array_equal(load_image(cut), np.asarray(expected))


def test_box_follows_the_exif_orientation(tmp_path):
    rng = np.random.default_rng(1)
    raw = Image.fromarray(rng.integers(0, 256, (20, 30, 3), dtype=np.uint8))
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90 degrees clockwise to display: 20 x 30 shown
    path = tmp_path / "rotated.jpg"
    raw.save(path, exif=exif, quality=95)
    face = AugmentedImage(path, box=(2, 18, 12, 10))  # y + height = 28: only when rotated
    np.testing.assert_array_equal(load_image(face), _hand_crop(path, (2, 18, 14, 28)))


def test_value_semantics_with_and_without_a_box(photo):
    plain = AugmentedImage(photo, flip=True)
    # objects without a box keep their repr, fields, operations and pickle
    assert repr(plain) == f"AugmentedImage({photo!r}, flip=True)"
    assert plain.operations == (("flip",),) and plain.box is None
    assert plain.__reduce__()[1] == (photo, True, 0.0, (0.0, 0.0, 0.0, 0.0), 1.0)
    assert hash(plain) == hash((AugmentedImage, photo, True, 0.0, (0.0,) * 4, 1.0))
    face = AugmentedImage(photo, box=[5, 4, 12, 10], box_scale=1.25, square=True, flip=True)
    assert face.box == (5.0, 4.0, 12.0, 10.0) and face.box_scale == 1.25 and face.square
    assert repr(face) == (f"AugmentedImage({photo!r}, box=(5.0, 4.0, 12.0, 10.0), "
                          "box_scale=1.25, square=True, flip=True)")
    assert face.operations[0] == ("box", (5.0, 4.0, 12.0, 10.0), 1.25, True)
    again = pickle.loads(pickle.dumps(face))
    assert again == face and hash(again) == hash(face)
    assert face == AugmentedImage(photo, box=(5.0, 4, 12, 10), box_scale=1.25, square=True,
                                  flip=True)
    for other in (dict(box=(5, 4, 12, 11)), dict(box=(5, 4, 12, 10), box_scale=1.3),
                  dict(box=(5, 4, 12, 10), box_scale=1.25)):
        assert AugmentedImage(photo, flip=True, **other) != face
    assert AugmentedImage(photo, box=(5, 4, 12, 10)) != AugmentedImage(photo)
    assert face.path == photo


@pytest.mark.parametrize(
    "params, error, pattern",
    [
        (dict(box=(-1, 0, 5, 5)), ValueError, "box x must be finite and >= 0"),
        (dict(box=(0, 0, 0, 5)), ValueError, "box width must be finite and > 0"),
        (dict(box=(0, 0, 5)), ValueError, r"4 pixel values \(x, y, width, height\)"),
        (dict(box=(0, 0, 5, float("nan"))), ValueError, "box height"),
        (dict(box=(0, 0, 5, 5), box_scale=0.9), ValueError, "box_scale must be finite and >= 1"),
        (dict(box_scale=1.25), ValueError, "box_scale and square need a box"),
        (dict(square=True), ValueError, "need a box"),
        (dict(box=(0, 0, 5, 5), square=1), TypeError, "square must be a bool"),
    ],
)
def test_bad_boxes_are_refused(photo, params, error, pattern):
    with pytest.raises(error, match=pattern):
        AugmentedImage(photo, **params)


def test_box_outside_the_image_names_the_file(photo):
    face = AugmentedImage(photo, box=(45, 5, 10, 10))
    with pytest.raises(ImageReadError, match=r"face\.png.*X\[3\].*outside the image of 40x30"):
        load_image(face, index=3)


# --------------------------------------------------------------------------
# Caches and estimators see the crop
# --------------------------------------------------------------------------


def test_cache_keys_cover_the_box(photo):
    a, b = (5, 4, 12, 10), (6, 4, 12, 10)
    keys = image_keys([photo, AugmentedImage(photo, box=a), AugmentedImage(photo, box=b),
                       AugmentedImage(photo, box=a, box_scale=1.25),
                       AugmentedImage(photo, box=a, square=True),
                       AugmentedImage(photo, box=a)])
    assert len(set(keys[:5])) == 5 and keys[5] == keys[1]


@pytest.fixture
def hand_cropped(photo, tmp_path):
    """Two boxes of the photo and their crops saved by hand as PNG files."""
    boxes = [(5, 4, 20, 16), (14, 8, 20, 16)]
    files = []
    for k, (x, y, w, h) in enumerate(boxes):
        files.append(str(tmp_path / f"crop{k}.png"))
        Image.fromarray(_hand_crop(photo, (x, y, x + w, y + h))).save(files[-1])
    return [AugmentedImage(photo, box=b) for b in boxes], files


@pytest.mark.filterwarnings("ignore:Backbone .* random weights:UserWarning")
def test_deep_features_embed_the_crop_and_cache_each_box(hand_cropped, tmp_path):
    boxed, files = hand_cropped

    class Counting(DeepFeatures):
        forwarded = []

        def _load_model(self):
            model = super()._load_model()
            model.conv1.register_forward_hook(
                lambda mod, args, out: type(self).forwarded.append(int(args[0].shape[0])))
            return model

    params = dict(backbone="test_resnet", weights=None, image_size=48, verbose=0)
    cache = tmp_path / "cache"
    X = np.asarray(boxed + files, dtype=object)
    emb = Counting(**params, cache=cache).fit_transform(X)
    np.testing.assert_allclose(emb[:2], emb[2:], rtol=1e-5, atol=1e-6)
    assert not np.allclose(emb[0], emb[1])  # two boxes of one file: two embeddings
    assert sum(Counting.forwarded) == 4
    # a later run finds both boxes in the cache, each under its own key
    again = Counting(**params, cache=cache).fit_transform(
        np.asarray([boxed[1], AugmentedImage(boxed[0].path, box=boxed[0].box)], dtype=object))
    assert sum(Counting.forwarded) == 4
    np.testing.assert_array_equal(again, emb[[1, 0]])
    # a third box of the same file is not in the cache
    Counting(**params, cache=cache).fit_transform(
        np.asarray([AugmentedImage(boxed[0].path, box=(5, 4, 20, 17))], dtype=object))
    assert sum(Counting.forwarded) == 5


def test_lbp_features_see_the_crop(hand_cropped, photo):
    boxed, files = hand_cropped
    lbp = LBPFeatures(image_size=(32, 32), grid=(2, 2))
    X = np.asarray(boxed + files + [photo], dtype=object)
    feats = lbp.fit_transform(X)
    np.testing.assert_array_equal(feats[:2], feats[2:4])
    assert not np.array_equal(feats[0], feats[4]) and not np.array_equal(feats[0], feats[1])


@pytest.mark.filterwarnings("ignore:Backbone .* random weights:UserWarning",
                            "ignore:GroupValidSplit got no groups:UserWarning")
def test_networks_and_eigencam_see_the_crop(photo, tmp_path):
    from skanimal.explain import eigencam
    from skanimal.nets import FineTunedClassifier

    # four boxes of one size (EigenCAM returns one array), their crops saved by hand
    boxes = [(0, 0, 24, 18), (5, 4, 24, 18), (14, 8, 24, 18), (16, 12, 24, 18)]
    files = []
    for k, (x, y, w, h) in enumerate(boxes):
        files.append(str(tmp_path / f"crop{k}.png"))
        Image.fromarray(_hand_crop(photo, (x, y, x + w, y + h))).save(files[-1])
    boxed = np.empty(len(boxes), dtype=object)
    boxed[:] = [AugmentedImage(photo, box=b) for b in boxes]
    files = np.asarray(files, dtype=object)
    y = np.array([0, 1, 0, 1])
    # 96 pixels: a 3 x 3 grid of test_resnet's last activations (32 gives 1 x 1)
    params = {**FineTunedClassifier._get_test_params(), "image_size": 96,
              "train_resize": 100, "max_epochs": 2, "train_split": None, "random_state": 0}
    # trained on the boxes or on the hand crops: the same network
    on_boxes = FineTunedClassifier(**params).fit(boxed, y)
    on_files = FineTunedClassifier(**params).fit(files, y)
    for a, b in zip(on_boxes.module_.parameters(), on_files.module_.parameters()):
        np.testing.assert_array_equal(a.detach().numpy(), b.detach().numpy())
    proba = on_boxes.predict_proba(boxed)
    np.testing.assert_array_equal(proba, on_boxes.predict_proba(files))
    assert not np.array_equal(proba, on_boxes.predict_proba(np.asarray([photo] * 4, object)))
    maps = eigencam(on_boxes, boxed)
    assert maps.shape == (4, 18, 24)  # at the size of the crop, not of the photo
    np.testing.assert_array_equal(maps, eigencam(on_boxes, files))
    np.testing.assert_array_equal(eigencam(on_boxes, boxed, resize=False),
                                  eigencam(on_boxes, files, resize=False))
    assert maps.max() == 1 and not np.array_equal(maps[0], maps[2])


# --------------------------------------------------------------------------
# Manifests with face boxes
# --------------------------------------------------------------------------


def _manifest(tmp_path, photo, header, rows):
    for name in ("a.png", "b.png"):
        shutil.copy(photo, tmp_path / name)
    lines = [f"path,label,subject,{header}"]
    lines += [f"{name},{k},s{k},{row}" for k, (name, row) in enumerate(zip(("a.png", "b.png"),
                                                                           rows))]
    csv = tmp_path / "manifest.csv"
    csv.write_text("\n".join(lines) + "\n")
    return csv


def test_manifest_boxes_become_boxed_images(tmp_path, photo):
    csv = _manifest(tmp_path, photo, "x,y,width,height,note", ["5,4,12,10,n1", ",,,,n2"])
    data = load_manifest(csv)
    face, plain = data.images
    assert face == AugmentedImage(str(tmp_path / "a.png"), box=(5, 4, 12, 10))
    assert plain == str(tmp_path / "b.png")  # a row without a box stays a path
    np.testing.assert_array_equal(load_image(face), _hand_crop(photo, (5, 4, 17, 14)))
    assert list(data.frame.columns) == ["path", "label", "subject", "x", "y", "width",
                                        "height", "note"]
    assert data.frame["path"][0] == str(tmp_path / "a.png")
    # box_scale and square travel into the images
    scaled = load_manifest(csv, box_scale=1.5, square=True).images[0]
    assert (scaled.box_scale, scaled.square) == (1.5, True)
    np.testing.assert_array_equal(load_image(scaled), _hand_crop(photo, (2, 0, 20, 18)))
    # the corner form gives the same boxes
    corners = tmp_path / "corners"
    corners.mkdir()
    old = load_manifest(_manifest(corners, photo, "x0,y0,x1,y1", ["5,4,17,14", ",,,"]))
    assert old.images[0] == AugmentedImage(str(corners / "a.png"), box=(5, 4, 12, 10))
    assert old.images[1] == str(corners / "b.png")


@pytest.mark.parametrize(
    "header, rows, pattern",
    [
        ("x,y,width,height", ["5,4,12,10", "5,4,,10"],
         r"incomplete face box \(some of x, y, width, height empty\) on data row\(s\) 2 "),
        ("x,y,width", ["5,4,12", "5,4,12"], "box column.*x, y, width but not height"),
        ("x,y,width,height", ["-1,4,12,10", "5,4,12,10"],
         r"negative face box coordinate.* data row\(s\) 1 "),
        ("x,y,width,height", ["5,4,12,10", "5,4,0,10"],
         r"empty face box \(width or height <= 0\) on data row\(s\) 2 "),
        ("x,y,width,height", ["5,4,12,10", "5,4,twelve,10"],
         r"'width' must be numeric.*data row\(s\) 2 .*'twelve'"),
        ("x,y,width,height", ["30,4,12,10", "5,25,12,10"],
         r"not within its image on data row\(s\) 1, 2 .*x \+ width = 42.*40x30 pixels"),
        ("x0,y0,x1,y1", ["5,4,3,10", "5,4,12,10"],
         r"empty face box \(x1 <= x0 or y1 <= y0\) on data row\(s\) 1 "),
        ("x,y,width,height,x0,y0,x1,y1", ["1,1,2,2,1,1,3,3", ",,,,,,,"], "both as x, y"),
    ],
)
def test_bad_manifest_boxes_name_the_csv_and_rows(tmp_path, photo, header, rows, pattern):
    csv = _manifest(tmp_path, photo, header, rows)
    with pytest.raises(DatasetError, match=r"manifest\.csv.*" + pattern):
        load_manifest(csv)


def test_box_outside_the_image_is_only_checked_with_the_files(tmp_path, photo):
    csv = _manifest(tmp_path, photo, "x,y,width,height", ["30,4,12,10", ",,,"])
    data = load_manifest(csv, check_files=False)
    # read later, the box is clipped to the image
    np.testing.assert_array_equal(load_image(data.images[0]), _hand_crop(photo, (30, 4, 40, 14)))


def test_saving_a_boxed_dataset_writes_the_crops(tmp_path, photo):
    data = load_manifest(_manifest(tmp_path, photo, "x,y,width,height", ["5,4,12,10", ",,,"]))
    saved = load_manifest(save_dataset(data, tmp_path / "out"))
    assert "x" not in saved.frame.columns  # the crops are not cropped again
    assert all(isinstance(p, str) for p in saved.images)
    np.testing.assert_array_equal(load_image(saved.images[0]), load_image(data.images[0]))
    np.testing.assert_array_equal(load_image(saved.images[1]), load_image(photo))


# --------------------------------------------------------------------------
# DeepLabCut
# --------------------------------------------------------------------------

SCORER = "DLC_resnet50_mousefaceJan1shuffle1_500000"
PARTS = ["nose", "left_eye", "right_eye", "left_ear", "tail_base"]
# (x, y, likelihood) of each body part, in four frames
KEYPOINTS = np.array([
    [[20, 18, 0.99], [14, 10, 0.95], [26, 11, 0.90], [10, 4, 0.85], [300, 200, 0.99]],
    [[21, 19, 0.99], [15, 11, 0.50], [27, 12, 0.81], [11, 5, 0.20], [301, 201, 0.99]],
    [[22, 20, 0.10], [16, 12, 0.30], [28, 13, 0.79], [12, 6, 0.20], [302, 202, 0.99]],
    [[23, 21, 0.80], [17, 13, 0.99], [29, 14, np.nan], [13, 7, 0.95], [303, 203, 0.99]],
])
FACE = ["nose", "left_eye", "right_eye", "left_ear"]


def _dlc_table(keypoints=KEYPOINTS, parts=PARTS, index=None):
    columns = pd.MultiIndex.from_product([[SCORER], parts, ["x", "y", "likelihood"]],
                                         names=["scorer", "bodyparts", "coords"])
    table = pd.DataFrame(keypoints.reshape(len(keypoints), -1), columns=columns)
    if index is not None:
        table.index = index
    return table


def _expected(frames, threshold=0.8):
    """The boxes of the face keypoints, computed by hand."""
    rows = []
    for f in frames:
        pts = KEYPOINTS[f, :4]
        ok = pts[:, 2] >= threshold
        x0, y0 = pts[ok, 0].min(), pts[ok, 1].min()
        rows.append([f, x0, y0, pts[ok, 0].max() - x0, pts[ok, 1].max() - y0, ok.sum()])
    return pd.DataFrame(rows, columns=["frame", "x", "y", "width", "height", "n_keypoints"])


def _check_boxes(frame, expected):
    assert list(frame.columns) == list(expected.columns)
    np.testing.assert_array_equal(frame["frame"], expected["frame"])
    np.testing.assert_allclose(frame[["x", "y", "width", "height"]].to_numpy(float),
                               expected[["x", "y", "width", "height"]].to_numpy(float))
    np.testing.assert_array_equal(frame["n_keypoints"], expected["n_keypoints"])


def test_deeplabcut_csv_written_by_hand(tmp_path):
    # the three header rows exactly as DeepLabCut writes its CSV files
    lines = ["scorer," + ",".join([SCORER] * 3 * len(PARTS)),
             "bodyparts," + ",".join(p for p in PARTS for _ in range(3)),
             "coords," + ",".join(["x", "y", "likelihood"] * len(PARTS))]
    for f, frame in enumerate(KEYPOINTS):
        lines.append(f"{f}," + ",".join("" if np.isnan(v) else f"{v:g}" for v in frame.ravel()))
    csv = tmp_path / "videoDLC_resnet50.csv"
    csv.write_text("\n".join(lines) + "\n")
    with pytest.warns(UserWarning, match=r"videoDLC_resnet50\.csv.*1 of 4 frames dropped"):
        boxes = load_deeplabcut(csv, bodyparts=FACE)
    _check_boxes(boxes.frame, _expected([0, 1, 3]))
    assert boxes.n_dropped == 1 and boxes.bodyparts == FACE
    assert boxes.dropped.to_dict("list") == {"frame": [2], "reason": ["no confident keypoint"]}
    assert boxes.images is None and "1 dropped" in boxes.DESCR


def test_deeplabcut_csv_and_hdf5_from_pandas_agree(tmp_path):
    table = _dlc_table()
    table.to_csv(tmp_path / "v.csv")
    table.to_hdf(tmp_path / "v.h5", key="df_with_missing", mode="w")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        from_csv = load_deeplabcut(tmp_path / "v.csv", bodyparts=FACE, likelihood=0.5)
        from_h5 = load_deeplabcut(tmp_path / "v.h5", bodyparts=FACE, likelihood=0.5)
    _check_boxes(from_csv.frame, _expected([0, 1, 3], 0.5))
    pd.testing.assert_frame_equal(from_csv.frame, from_h5.frame)
    # frame 2: only right_eye passes 0.5: one keypoint, an empty box
    assert from_h5.dropped["reason"].tolist() == ["empty box"]


def test_deeplabcut_threshold_and_min_keypoints_drop_and_count():
    table = _dlc_table()
    with pytest.warns(UserWarning, match="2 of 4 frames dropped"):
        strict = load_deeplabcut(table, bodyparts=FACE, likelihood=0.9)
    _check_boxes(strict.frame, _expected([0, 3], 0.9))
    assert strict.n_dropped == 2
    with pytest.warns(UserWarning, match="2 of 4"):
        few = load_deeplabcut(table, bodyparts=FACE, min_keypoints=3)
    assert few.frame["frame"].tolist() == [0, 3]
    assert few.dropped["reason"].tolist() == ["fewer than 3 confident keypoints",
                                              "no confident keypoint"]
    # every body part by default: the tail base far from the face widens every box
    with pytest.warns(UserWarning):
        everything = load_deeplabcut(table)
    assert everything.bodyparts == PARTS and (everything.frame["width"] > 250).all()


def test_deeplabcut_errors_name_the_file(tmp_path):
    _dlc_table().to_csv(tmp_path / "v.csv")
    with pytest.raises(DatasetError, match=r"v\.csv' has no body part\(s\) chin; it has nose"):
        load_deeplabcut(tmp_path / "v.csv", bodyparts=["chin"])
    (tmp_path / "plain.csv").write_text("path,label\na.png,1\n")
    with pytest.raises(DatasetError, match=r"plain\.csv.*does not start with DeepLabCut"):
        load_deeplabcut(tmp_path / "plain.csv")
    with pytest.raises(MissingFilesError, match="gone.h5"):
        load_deeplabcut(tmp_path / "gone.h5")


def test_deeplabcut_multi_animal_gives_one_box_per_animal(tmp_path):
    columns = pd.MultiIndex.from_tuples(
        [(SCORER, ind, bp, c) for ind in ("mouse1", "mouse2") for bp in ("nose", "eye")
         for c in ("x", "y", "likelihood")]
        + [(SCORER, "single", "feeder", c) for c in ("x", "y", "likelihood")],
        names=["scorer", "individuals", "bodyparts", "coords"])
    values = [[10, 10, .9, 14, 6, .9, 50, 40, .9, 58, 30, .95, 0, 0, 1.0],
              [11, 11, .9, 15, 7, .9, 51, 41, .1, 59, 31, .10, 0, 0, 1.0]]
    table = pd.DataFrame(values, columns=columns, dtype=float)
    table.to_csv(tmp_path / "ma.csv")  # four header rows
    with pytest.warns(UserWarning, match="1 of 4 frame-animal pairs dropped"):
        boxes = load_deeplabcut(tmp_path / "ma.csv")
    assert boxes.bodyparts == ["nose", "eye"]  # not the unique "feeder"
    f = boxes.frame
    assert list(f.columns) == ["frame", "individual", "x", "y", "width", "height",
                               "n_keypoints"]
    assert f[["frame", "individual"]].values.tolist() == [[0, "mouse1"], [1, "mouse1"],
                                                          [0, "mouse2"]]
    np.testing.assert_allclose(f[["x", "y", "width", "height"]].to_numpy(float),
                               [[10, 6, 4, 4], [11, 7, 4, 4], [50, 30, 8, 10]])
    assert boxes.dropped.to_dict("list") == {"frame": [1], "individual": ["mouse2"],
                                             "reason": ["no confident keypoint"]}


def _frames_on_disk(tmp_path, photo, n=4):
    paths = []
    for f in range(n):
        paths.append(str(tmp_path / f"frame_{f:03d}.png"))
        Image.open(photo).save(paths[-1])
    return paths


def test_deeplabcut_boxes_attach_to_frame_images(tmp_path, photo):
    paths = _frames_on_disk(tmp_path, photo)
    # a manifest as skanimal.video.sample_frames writes it: path, video, time (2 fps here)
    manifest = pd.DataFrame({"path": paths[:3] + [paths[3]], "video": ["v1"] * 3 + ["v2"],
                             "time": [0.0, 0.5, 1.0, 0.0], "label": 1})
    with pytest.warns(UserWarning, match="1 of 3 frames dropped"):
        boxes = load_deeplabcut(_dlc_table(), bodyparts=FACE, images=manifest, video="v1",
                                fps=2.0, box_scale=1.25)
    f = boxes.frame
    assert list(f.columns) == ["path", "frame", "video", "x", "y", "width", "height",
                               "n_keypoints", "time", "label"]
    # at 2 fps the times 0, 0.5 and 1 s of video v1 are frames 0, 1 and 2; frame 2
    # has no confident face keypoint; the frame of video v2 is left out
    assert f["path"].tolist() == paths[:2] and f["frame"].tolist() == [0, 1]
    assert f["video"].tolist() == ["v1", "v1"] and f["time"].tolist() == [0.0, 0.5]
    assert boxes.dropped.to_dict("list") == {"path": [paths[2]], "frame": [2],
                                             "reason": ["no confident keypoint"]}
    expected = _expected([0])
    x, y, w, h = expected.loc[0, ["x", "y", "width", "height"]]
    assert boxes.images[0] == AugmentedImage(paths[0], box=(x, y, w, h), box_scale=1.25)


def test_deeplabcut_images_mapping_frames_and_clipping(tmp_path, photo):
    paths = _frames_on_disk(tmp_path, photo)
    keypoints = KEYPOINTS[:, :4].copy()
    keypoints[0, 0, :2] = [45, 33]  # the nose predicted past the right and bottom edge
    with pytest.warns(UserWarning, match="2 of 3 frames dropped"):
        boxes = load_deeplabcut(_dlc_table(keypoints, FACE), images={0: paths[0], 2: paths[2],
                                                                     7: paths[3]})
    assert boxes.frame["frame"].tolist() == [0]
    # clipped to the 40x30 image: from (10, 4) to the corner (40, 30)
    np.testing.assert_allclose(boxes.frame.loc[0, ["x", "y", "width", "height"]].to_numpy(float),
                               [10, 4, 30, 26])
    np.testing.assert_array_equal(load_image(boxes.images[0]),
                                  _hand_crop(photo, (10, 4, 40, 30)))
    assert sorted(boxes.dropped["reason"]) == ["no confident keypoint", "not in the file"]
    assert set(boxes.dropped["path"]) == {paths[2], paths[3]}
    # frames= keeps the requested frames only
    only = load_deeplabcut(_dlc_table(), bodyparts=FACE, frames=[3, 0])
    assert only.frame["frame"].tolist() == [0, 3] and only.n_dropped == 0


def test_manifest_box_check_uses_the_exif_orientation(tmp_path):
    raw = Image.fromarray(np.random.default_rng(2).integers(0, 256, (20, 30, 3), np.uint8))
    exif = Image.Exif()
    exif[0x0112] = 6  # stored 30 x 20, shown 20 x 30
    raw.save(tmp_path / "a.jpg", exif=exif)
    csv = tmp_path / "m.csv"
    csv.write_text("path,label,subject,x,y,width,height\na.jpg,0,s1,2,18,12,10\n")
    face = load_manifest(csv).images[0]  # y + height = 28 fits the 20 x 30 image shown
    np.testing.assert_array_equal(load_image(face), _hand_crop(tmp_path / "a.jpg",
                                                               (2, 18, 14, 28)))
    csv.write_text("path,label,subject,x,y,width,height\na.jpg,0,s1,18,2,10,12\n")
    with pytest.raises(DatasetError, match=r"m\.csv.*not within its image on data row\(s\) 1 "
                                           r".*20x30 pixels"):
        load_manifest(csv)  # x + width = 28 fits the stored 30 x 20 pixels, not the image


# --------------------------------------------------------------------------
# DeepLabCut files indexed by image paths (labelled data, analysed images)
# --------------------------------------------------------------------------

LABELLED = ["img0000.png", "img0001.png", "img0002.png", "img0003.png"]


def _labelled_project(tmp_path, photo):
    """A DeepLabCut project folder with the four frames of labelled data of video1."""
    folder = tmp_path / "project" / "labeled-data" / "video1"
    folder.mkdir(parents=True)
    for name in LABELLED:
        shutil.copy(photo, folder / name)
    return folder


def _labelled_rows(index_cells):
    """Hand-labelled rows: the face keypoints' x, y, empty where likelihood < 0.8."""
    header = [
        "scorer" + "," * (len(index_cells[0]) - 1) + "," + ",".join([SCORER] * 2 * len(FACE)),
        "bodyparts" + "," * (len(index_cells[0]) - 1) + "," + ",".join(
            p for p in FACE for _ in range(2)),
        "coords" + "," * (len(index_cells[0]) - 1) + "," + ",".join(["x", "y"] * len(FACE)),
    ]
    rows = []
    for cells, points in zip(index_cells, KEYPOINTS[:, :4]):
        values = [f"{v:g}" if lik >= 0.8 else "" for x, y, lik in points for v in (x, y)]
        rows.append(",".join(list(cells) + values))
    return "\n".join(header + rows) + "\n"


def _labelled_expected(frame, folder):
    """The boxes of the hand-labelled rows, computed by hand; frame 2 has no label."""
    expected = _expected([0, 1, 3])
    np.testing.assert_allclose(frame[["x", "y", "width", "height"]].to_numpy(float),
                               expected[["x", "y", "width", "height"]].to_numpy(float))
    np.testing.assert_array_equal(frame["n_keypoints"], expected["n_keypoints"])
    assert frame["path"].tolist() == [str(folder / LABELLED[f]) for f in (0, 1, 3)]


@pytest.mark.parametrize("form", ["three columns", "one column", "windows separators",
                                  "hdf5", "analysed images"])
def test_deeplabcut_files_indexed_by_image_paths(tmp_path, photo, form):
    folder = _labelled_project(tmp_path, photo)
    names = [f"labeled-data/video1/{n}" for n in LABELLED]
    if form == "three columns":  # DeepLabCut >= 2.2: labeled-data, video1, img0000.png
        text = _labelled_rows([n.split("/") for n in names])
    elif form == "one column":
        text = _labelled_rows([[n] for n in names])
    elif form == "windows separators":  # a project labelled on Windows
        text = _labelled_rows([[n.replace("/", "\\")] for n in names])
    elif form == "analysed images":  # the images' file names, the file beside them
        text = _labelled_rows([[n] for n in LABELLED])
    csv = folder / f"CollectedData_{SCORER}.csv"
    if form == "hdf5":
        csv.write_text(_labelled_rows([n.split("/") for n in names]))
        table = pd.read_csv(csv, header=[0, 1, 2], index_col=[0, 1, 2])
        assert isinstance(table.index, pd.MultiIndex) and table.index.nlevels == 3
        csv.unlink()
        file = csv.with_suffix(".h5")
        table.to_hdf(file, key="keypoints", mode="w")  # as DeepLabCut saves labelled data
    else:
        file = csv
        file.write_text(text)
    with pytest.warns(UserWarning, match=rf"CollectedData_{SCORER}\.(csv|h5).*1 of 4 frames"):
        boxes = load_deeplabcut(file)
    # labelled data without likelihood: every labelled keypoint counts
    _labelled_expected(boxes.frame, folder)
    assert list(boxes.frame.columns) == ["path", "image", "x", "y", "width", "height",
                                         "n_keypoints"]
    shown = LABELLED if form == "analysed images" else names
    assert boxes.frame["image"].tolist() == [shown[f] for f in (0, 1, 3)]
    assert boxes.dropped.to_dict("list") == {"path": [str(folder / LABELLED[2])],
                                             "image": [shown[2]],
                                             "reason": ["no confident keypoint"]}
    # each row's image is boxed as a crop of its own file
    for face, (x, y, w, h) in zip(boxes.images, _expected([0, 1, 3])[["x", "y", "width",
                                                                       "height"]].to_numpy()):
        assert face.path == str(folder / LABELLED[0 if face.path.endswith("0.png") else 1
                                                  if face.path.endswith("1.png") else 3])
        np.testing.assert_array_equal(load_image(face),
                                      _hand_crop(photo, (x, y, x + w, y + h)))
    # root= names the folder the image paths are relative to
    elsewhere = tmp_path / "copy"
    shutil.copytree(tmp_path / "project", elsewhere)
    base = elsewhere / "labeled-data" / "video1" if form == "analysed images" else elsewhere
    with pytest.warns(UserWarning):
        moved = load_deeplabcut(file, root=base)
    _labelled_expected(moved.frame, elsewhere / "labeled-data" / "video1")


def test_deeplabcut_image_paths_mapped_through_images(tmp_path, photo):
    folder = _labelled_project(tmp_path, photo)
    csv = folder / "CollectedData.csv"
    csv.write_text(_labelled_rows([["labeled-data", "video1", n] for n in LABELLED]))
    moved = tmp_path / "frames"
    shutil.move(folder, moved)  # the images (and the file) are no longer in the project
    # a mapping by the file's image path, as one text or the three index cells
    mapping = {"labeled-data/video1/img0000.png": "img0000.png",
               ("labeled-data", "video1", "img0003.png"): "img0003.png",
               "labeled-data/video1/img0002.png": "img0002.png",
               "labeled-data/video1/absent.png": "img0001.png"}
    with pytest.warns(UserWarning, match=r"CollectedData\.csv': 2 of 4 frames dropped"):
        boxes = load_deeplabcut(moved / "CollectedData.csv", images=mapping, root=moved)
    assert boxes.frame["path"].tolist() == [str(moved / "img0000.png"),
                                            str(moved / "img0003.png")]
    expected = _expected([0, 3])
    np.testing.assert_allclose(boxes.frame[["x", "y", "width", "height"]].to_numpy(float),
                               expected[["x", "y", "width", "height"]].to_numpy(float))
    assert sorted(zip(boxes.dropped["image"], boxes.dropped["reason"])) == [
        ("labeled-data/video1/absent.png", "not in the file"),
        ("labeled-data/video1/img0002.png", "no confident keypoint")]
    x, y, w, h = expected.loc[1, ["x", "y", "width", "height"]]
    np.testing.assert_array_equal(load_image(boxes.images[1]),
                                  _hand_crop(photo, (x, y, x + w, y + h)))
    # a frame with image and path carries its other columns over
    table = pd.DataFrame({"image": ["labeled-data/video1/img0001.png"],
                          "path": [str(moved / "img0001.png")], "label": [2]})
    one = load_deeplabcut(moved / "CollectedData.csv", images=table)
    assert one.frame[["path", "image", "label"]].values.tolist() == [
        [str(moved / "img0001.png"), "labeled-data/video1/img0001.png", 2]]
    np.testing.assert_allclose(one.frame.loc[0, ["x", "y", "width", "height"]].to_numpy(float),
                               _expected([1]).loc[0, ["x", "y", "width", "height"]]
                               .to_numpy(float))


def test_deeplabcut_image_path_errors_name_the_file(tmp_path, photo):
    folder = _labelled_project(tmp_path, photo)
    csv = folder / "CollectedData.csv"
    csv.write_text(_labelled_rows([["labeled-data", "video1", n] for n in LABELLED]))
    (folder / "img0001.png").unlink()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        with pytest.raises(MissingFilesError, match=r"CollectedData\.csv' do not exist.*"
                                                    r"img0001\.png"):
            load_deeplabcut(csv)
        with pytest.raises(DatasetError, match=r"CollectedData\.csv' is indexed by image "
                                               r"paths.*frames="):
            load_deeplabcut(csv, frames=[0])
        with pytest.raises(DatasetError, match=r"CollectedData\.csv' is indexed by image "
                                               r"paths: images must map.*\['path'\]"):
            load_deeplabcut(csv, images=pd.DataFrame({"path": ["a.png"]}))
        twice = [LABELLED[0], LABELLED[2], LABELLED[0]]
        csv.write_text(_labelled_rows([["labeled-data", "video1", n] for n in twice]))
        with pytest.raises(DatasetError, match=r"CollectedData\.csv' lists the image\(s\) "
                                               "labeled-data/video1/img0000.png more than"):
            load_deeplabcut(csv)


def _multi_animal_table(index):
    """Two mice with nose and eyes, and the unique body part of DeepLabCut's 'single'."""
    rng = np.random.default_rng(7)
    tuples = [(SCORER, ind, bp, c) for ind in ("mouse1", "mouse2")
              for bp in ("nose", "left_eye", "right_eye") for c in ("x", "y", "likelihood")]
    tuples += [(SCORER, "single", "feeder", c) for c in ("x", "y", "likelihood")]
    columns = pd.MultiIndex.from_tuples(tuples, names=["scorer", "individuals", "bodyparts",
                                                       "coords"])
    values = np.empty((len(index), len(tuples)))
    values[:, 0::3] = rng.uniform(0, 39, (len(index), len(tuples) // 3)).round(2)
    values[:, 1::3] = rng.uniform(0, 29, (len(index), len(tuples) // 3)).round(2)
    values[:, 2::3] = rng.uniform(0.5, 1.0, (len(index), len(tuples) // 3)).round(3)
    return pd.DataFrame(values, columns=columns, index=index)


def _multi_animal_expected(table, threshold=0.8):
    rows = []
    for k, key in enumerate(table.index):
        for ind in ("mouse1", "mouse2"):
            block = table[SCORER][ind]
            pts = np.array([[block[bp][c].iloc[k] for c in ("x", "y", "likelihood")]
                            for bp in ("nose", "left_eye", "right_eye")])
            ok = pts[:, 2] >= threshold
            if ok.sum() == 0:
                continue
            x0, y0 = pts[ok, 0].min(), pts[ok, 1].min()
            if pts[ok, 0].max() == x0 or pts[ok, 1].max() == y0:
                continue
            rows.append([key, ind, x0, y0, pts[ok, 0].max() - x0, pts[ok, 1].max() - y0,
                         ok.sum()])
    return pd.DataFrame(rows, columns=["key", "individual", "x", "y", "width", "height",
                                       "n_keypoints"])


def _same_boxes(frame, expected, key):
    got = frame.sort_values([key, "individual"]).reset_index(drop=True)
    want = expected.sort_values(["key", "individual"]).reset_index(drop=True)
    assert got[key].tolist() == want["key"].tolist()
    assert got["individual"].tolist() == want["individual"].tolist()
    np.testing.assert_allclose(got[["x", "y", "width", "height"]].to_numpy(float),
                               want[["x", "y", "width", "height"]].to_numpy(float))
    np.testing.assert_array_equal(got["n_keypoints"], want["n_keypoints"])


def test_deeplabcut_multi_animal_hdf5_agrees_with_csv(tmp_path):
    table = _multi_animal_table(pd.RangeIndex(6))
    table.to_csv(tmp_path / "videoDLC.csv")
    # as DeepLabCut writes a multi-animal video's tracks
    table.to_hdf(tmp_path / "videoDLC.h5", key="df_with_missing", format="table", mode="w")
    assert pd.read_hdf(tmp_path / "videoDLC.h5").columns.nlevels == 4
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        from_csv = load_deeplabcut(tmp_path / "videoDLC.csv")
        from_h5 = load_deeplabcut(tmp_path / "videoDLC.h5")
    expected = _multi_animal_expected(table)
    assert 0 < len(expected) < 12  # some frame-animal pairs dropped
    _same_boxes(from_h5.frame, expected, "frame")
    pd.testing.assert_frame_equal(from_csv.frame, from_h5.frame)
    pd.testing.assert_frame_equal(from_csv.dropped, from_h5.dropped)
    assert from_h5.n_dropped == 12 - len(expected)
    assert from_h5.bodyparts == ["nose", "left_eye", "right_eye"]


def test_deeplabcut_multi_animal_labelled_data(tmp_path, photo):
    folder = _labelled_project(tmp_path, photo)
    index = pd.MultiIndex.from_tuples([("labeled-data", "video1", n) for n in LABELLED])
    table = _multi_animal_table(index)
    table.to_csv(folder / "CollectedData.csv")  # four header rows, three index columns
    table.to_hdf(folder / "CollectedData.h5", key="keypoints", mode="w")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        from_csv = load_deeplabcut(folder / "CollectedData.csv")
        from_h5 = load_deeplabcut(folder / "CollectedData.h5")
    expected = _multi_animal_expected(table)
    expected["key"] = ["/".join(k) for k in expected["key"]]
    _same_boxes(from_csv.frame, expected, "image")
    pd.testing.assert_frame_equal(from_csv.frame, from_h5.frame)
    assert list(from_csv.frame.columns[:3]) == ["path", "image", "individual"]
    assert (from_csv.frame["path"] == [str(folder / i.rsplit("/", 1)[1])
                                       for i in from_csv.frame["image"]]).all()
    for face, row in zip(from_csv.images, from_csv.frame.itertuples()):
        assert face.box == (row.x, row.y, row.width, row.height)
        # the box's size rounds half up, then its corner about its centre
        w, h = np.floor(row.width + 0.5), np.floor(row.height + 0.5)
        left = np.floor(row.x + row.width / 2 - w / 2 + 0.5)
        top = np.floor(row.y + row.height / 2 - h / 2 + 0.5)
        region = (max(left, 0), max(top, 0), min(left + w, W), min(top + h, H))
        np.testing.assert_array_equal(load_image(face), _hand_crop(photo, region))

"""Tests for skanimal.features.LBPFeatures and the LBP + SVM pipeline."""

import pickle
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from PIL import Image
from skimage.feature import local_binary_pattern
from sklearn.base import clone
from sklearn.model_selection import LeaveOneGroupOut, cross_validate
from sklearn.pipeline import Pipeline
from sklearn.svm import LinearSVC
from sklearn.utils import get_tags
from sklearn.utils._param_validation import InvalidParameterError

from skanimal.features import LBP_SETTINGS, LBPFeatures, lbp_n_bins, make_lbp_svm


def _grey(rgb, size=None):
    """Greyscale + bilinear resize with Pillow directly (independent of load_image)."""
    img = Image.fromarray(rgb).convert("L")
    if size is not None and (size[1], size[0]) != img.size:
        img = img.resize((size[1], size[0]), Image.Resampling.BILINEAR)
    return np.asarray(img)


def _reference(grey, n_points, radius, method, grid, n_bins, normalize):
    """Per-cell np.histogram loop over np.array_split cells."""
    codes = local_binary_pattern(grey, n_points, radius, method)
    out = []
    for band in np.array_split(codes, grid[0], axis=0):
        for cell in np.array_split(band, grid[1], axis=1):
            hist, _ = np.histogram(cell, bins=n_bins, range=(0, n_bins))
            hist = hist.astype(np.float64)
            out.append(hist / cell.size if normalize else hist)
    return np.concatenate(out)


@pytest.mark.parametrize(
    "params",
    [
        dict(),  # 224x224, 4x4, nri_uniform
        dict(grid=8, image_size=(50, 37), radius=3),
        dict(grid=(3, 5), image_size=None, method="uniform", normalize=False),
        dict(grid=(7, 2), image_size=41, method="default", n_points=6, radius=1.5),
        dict(grid=2, image_size=(33, 29), method="ror", n_points=8, radius=2),
    ],
)
def test_histograms_match_per_cell_loop(rng_images, params):
    lbp = LBPFeatures(**params).fit(rng_images)
    Xt = lbp.transform(rng_images)
    assert Xt.dtype == np.float64
    assert Xt.shape == (len(rng_images), lbp.n_features_out_)
    for i in (0, 5, 11):
        ref = _reference(
            _grey(rng_images[i], lbp.image_size_),
            lbp.n_points, lbp.radius, lbp.method, lbp.grid_, lbp.n_bins_, lbp.normalize,
        )
        np.testing.assert_array_equal(Xt[i], ref)


@pytest.mark.parametrize(
    "method, n_points, n_bins",
    [
        ("nri_uniform", 8, 59),
        ("uniform", 8, 10),
        ("default", 8, 256),
        ("ror", 8, 256),
        ("nri_uniform", 4, 15),
        ("uniform", 16, 18),
    ],
)
def test_bins_per_method(rng_images, method, n_points, n_bins):
    assert lbp_n_bins(n_points, method) == n_bins
    lbp = LBPFeatures(n_points=n_points, method=method, grid=(2, 3), image_size=None)
    Xt = lbp.fit_transform(rng_images)
    assert lbp.n_bins_ == n_bins
    assert Xt.shape == (len(rng_images), 6 * n_bins)
    # Every pixel falls in one bin of its cell: each cell sums to 1.
    np.testing.assert_allclose(Xt.reshape(len(Xt), 6, n_bins).sum(axis=2), 1.0)


def test_ror_uses_only_minimal_rotations(rng_images):
    Xt = LBPFeatures(method="ror", grid=1, image_size=None).fit_transform(rng_images)
    used = np.flatnonzero(Xt.sum(axis=0))
    minimal = {min(((c >> k) | (c << (8 - k))) & 255 for k in range(8)) for c in range(256)}
    assert len(minimal) == 36
    assert set(used.tolist()) <= minimal


def test_unnormalised_cells_count_pixels_like_array_split(rng_images):
    # 40x48 images, 3x5 grid: rows 14, 13, 13; columns 10, 10, 10, 9, 9.
    Xt = LBPFeatures(grid=(3, 5), image_size=None, normalize=False).fit_transform(
        rng_images
    )
    counts = Xt.reshape(len(Xt), 3, 5, -1).sum(axis=3)
    expected = np.outer([14, 13, 13], [10, 10, 10, 9, 9])
    np.testing.assert_array_equal(counts, np.broadcast_to(expected, counts.shape))


def test_paths_equal_arrays(png_folder):
    paths, images = png_folder
    lbp = LBPFeatures(grid=4, image_size=(32, 40)).fit(paths)
    expected = lbp.transform(images)
    np.testing.assert_array_equal(lbp.transform(paths), expected)
    np.testing.assert_array_equal(lbp.transform([Path(p) for p in paths]), expected)
    np.testing.assert_array_equal(lbp.transform(pd.Series(paths)), expected)
    np.testing.assert_array_equal(lbp.transform(images / 255.0), expected)


def test_images_of_different_sizes_without_resize(tmp_path, rng_images):
    paths = []
    for i, shape in enumerate([(40, 48), (23, 31), (64, 17)]):
        img = np.ascontiguousarray(np.resize(rng_images[i], shape + (3,)))
        p = tmp_path / f"{i}.png"
        Image.fromarray(img).save(p)
        paths.append(str(p))
    lbp = LBPFeatures(grid=(4, 3), image_size=None).fit(paths)
    Xt = lbp.transform(paths)
    for i, p in enumerate(paths):
        with Image.open(p) as im:
            grey = np.asarray(im.convert("L"))
        ref = _reference(grey, 8, 1.0, "nri_uniform", (4, 3), 59, True)
        np.testing.assert_array_equal(Xt[i], ref)


def test_image_smaller_than_grid_names_the_image(rng_images):
    lbp = LBPFeatures(grid=16, image_size=None).fit(rng_images[:, :10])
    with pytest.raises(ValueError, match=r"X\[0\] is 10x48 pixels.*16x16 grid"):
        lbp.transform(rng_images[:, :10])


def test_missing_file_names_it(png_folder, tmp_path):
    paths, _ = png_folder
    X = list(paths[:3]) + [str(tmp_path / "gone.png")]
    lbp = LBPFeatures(image_size=32).fit(X)  # fit does not read files
    with pytest.raises(FileNotFoundError, match=r"gone\.png.*X\[3\]"):
        lbp.transform(X)


def test_feature_names(rng_images):
    lbp = LBPFeatures(grid=(4, 2), image_size=32).fit(rng_images)
    names = lbp.get_feature_names_out()
    assert len(names) == lbp.n_features_out_ == lbp.transform(rng_images[:1]).shape[1]
    assert len(set(names)) == len(names)
    assert names[0] == "lbp_r0c0_b0"
    assert names[59] == "lbp_r0c1_b0"  # cell-major order
    assert names[-1] == "lbp_r3c1_b58"


def test_pandas_output(png_folder):
    paths, _ = png_folder
    lbp = LBPFeatures(grid=2, image_size=32).fit(paths)
    expected = lbp.transform(paths)
    index = [f"img{i}" for i in range(len(paths))]
    df = lbp.set_output(transform="pandas").transform(pd.Series(paths, index=index))
    assert isinstance(df, pd.DataFrame)
    assert list(df.columns) == list(lbp.get_feature_names_out())
    assert list(df.index) == index
    np.testing.assert_array_equal(df.to_numpy(), expected)


def test_n_jobs_gives_the_same_result(png_folder):
    paths, _ = png_folder
    one = LBPFeatures(grid=4, image_size=48, n_jobs=1).fit_transform(paths)
    two = LBPFeatures(grid=4, image_size=48, n_jobs=2).fit_transform(paths)
    allcpu = LBPFeatures(grid=4, image_size=48, n_jobs=-1).fit_transform(paths[:3])
    np.testing.assert_array_equal(one, two)
    np.testing.assert_array_equal(one[:3], allcpu)


@pytest.mark.parametrize(
    "params, error, match",
    [
        (dict(n_points=0), InvalidParameterError, "'n_points' parameter"),
        (dict(radius=0), InvalidParameterError, "'radius' parameter"),
        (dict(method="var"), InvalidParameterError, "'method' parameter"),
        (dict(grid=0), InvalidParameterError, "'grid' parameter"),
        (dict(grid="4x4"), InvalidParameterError, "'grid' parameter"),
        (dict(grid=(4,)), ValueError, "grid must be an int or a pair"),
        (dict(grid=(4, 0)), ValueError, "grid must be positive"),
        (dict(image_size=(32, 32, 3)), ValueError, "image_size must be an int or a pair"),
        (dict(image_size=8, grid=16), ValueError, "image_size=8 is smaller than grid=16"),
        (dict(normalize="yes"), InvalidParameterError, "'normalize' parameter"),
        (dict(n_jobs=1.5), InvalidParameterError, "'n_jobs' parameter"),
        (dict(n_points=20, method="default"), ValueError, "n_points=20 is too large"),
    ],
)
def test_bad_params_name_the_parameter(rng_images, params, error, match):
    lbp = LBPFeatures(**params)  # __init__ validates nothing
    with pytest.raises(error, match=match):
        lbp.fit(rng_images)


def test_fit_validates_x_and_is_stateless(rng_images):
    with pytest.raises(ValueError, match="X must be 1-D"):
        LBPFeatures().fit(rng_images.reshape(12, -1))
    lbp = LBPFeatures(grid=(2, 3), image_size=32)
    assert lbp.fit(rng_images) is lbp
    assert (lbp.grid_, lbp.image_size_, lbp.n_bins_) == ((2, 3), (32, 32), 59)
    assert lbp.n_features_out_ == lbp._n_features_out == 6 * 59
    # transform uses the parameters as fitted
    expected = lbp.transform(rng_images[:2])
    lbp.set_params(method="default", grid=4)
    np.testing.assert_array_equal(lbp.transform(rng_images[:2]), expected)


def test_tags():
    tags = get_tags(LBPFeatures())
    assert not tags.input_tags.two_d_array
    assert tags.input_tags.string and tags.input_tags.three_d_array
    assert tags.requires_fit and not tags.target_tags.required


def test_named_settings():
    assert sorted(LBP_SETTINGS) == sorted(
        f"R{r}P8-{g}x{g}" for r in (1, 3) for g in (4, 8, 16)
    )
    lbp = LBPFeatures.from_setting("R3P8-16x16", n_jobs=2)
    assert (lbp.radius, lbp.n_points, lbp.grid, lbp.n_jobs) == (3, 8, (16, 16), 2)
    assert lbp.method == "nri_uniform" and lbp.image_size == (224, 224)
    with pytest.raises(ValueError, match=r"Unknown LBP setting 'R2P8-4x4'.*R1P8-16x16"):
        LBPFeatures.from_setting("R2P8-4x4")
    with pytest.raises(TypeError):
        LBP_SETTINGS["R1P8-4x4"]["radius"] = 2  # read-only


def test_make_lbp_svm_structure():
    pipe = make_lbp_svm("R3P8-8x8", C=0.5, n_jobs=2, class_weight="balanced")
    assert isinstance(pipe, Pipeline)
    lbp, svm = pipe.named_steps["lbpfeatures"], pipe.named_steps["linearsvc"]
    assert (lbp.radius, lbp.grid, lbp.n_jobs) == (3, (8, 8), 2)
    assert isinstance(svm, LinearSVC)
    assert (svm.C, svm.class_weight, svm.random_state) == (0.5, "balanced", 0)
    assert make_lbp_svm().named_steps["linearsvc"].C == 1.0
    assert make_lbp_svm(max_iter=50).named_steps["linearsvc"].max_iter == 50
    with pytest.raises(ValueError, match="Unknown LBP setting"):
        make_lbp_svm("R1P8-5x5")


def test_make_lbp_svm_cross_validate_paths_equal_arrays(png_folder, image_labels_groups):
    paths, images = png_folder
    y, groups = image_labels_groups
    pipe = make_lbp_svm("R1P8-4x4").set_params(lbpfeatures__image_size=64)
    results = {}
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no ConvergenceWarning or other noise
        for kind, X in (("paths", paths), ("arrays", images)):
            results[kind] = cross_validate(
                pipe, X, y, groups=groups, cv=LeaveOneGroupOut(),
                scoring=["accuracy", "f1"], error_score="raise",
            )
    for key in ("test_accuracy", "test_f1"):
        assert len(results["paths"][key]) == len(np.unique(groups))
        np.testing.assert_array_equal(results["paths"][key], results["arrays"][key])
    # clone and pickle of a fitted pipeline keep its predictions
    fitted = clone(pipe).fit(paths, y)
    restored = pickle.loads(pickle.dumps(fitted))
    np.testing.assert_array_equal(
        restored.decision_function(images), fitted.decision_function(paths)
    )

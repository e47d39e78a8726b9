"""Tests for skanimal.features.LBPFeatures and the LBP + SVM pipeline."""

import pickle
import shutil
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

from skanimal.features import (
    LBP_SETTINGS,
    EmbeddingCache,
    LBPFeatures,
    image_keys,
    lbp_n_bins,
    make_lbp_svm,
)


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


def test_threaded_coding_leaves_no_warning_filter_behind(png_folder):
    # the reader once turned DecompressionBombWarning into an error inside
    # warnings.catch_warnings, which is not thread-safe: threads restored each
    # other's filters and left "error::DecompressionBombWarning" process-wide
    paths, _ = png_folder
    X = np.tile(paths, 40)  # 480 reads over 4 threads
    with warnings.catch_warnings():  # keeps the other tests safe from a leak
        features = LBPFeatures(grid=2, image_size=16, n_jobs=4).fit_transform(X)
        leaked = [f for f in warnings.filters if f[2] is Image.DecompressionBombWarning]
    assert leaked == []
    np.testing.assert_array_equal(features[:12], features[12:24])


def test_one_colour_image_without_batch_axis_is_refused(rng_images):
    # an (h, w, 3) image was read as h greyscale images of w x 3 pixels: h rows
    with pytest.raises(ValueError, match=r"shape \(40, 48, 3\), which is ambiguous"):
        LBPFeatures(grid=2, image_size=16).fit_transform(rng_images[0])
    one = LBPFeatures(grid=2, image_size=16).fit_transform(rng_images[0][np.newaxis])
    assert one.shape[0] == 1


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


# ----------------------------------------------------------------------------
# The cache
# ----------------------------------------------------------------------------


def _counting_class():
    """An LBPFeatures subclass that logs how many images it codes.

    A fresh class per test, so that the log (a class attribute, shared by the
    clones that cross-validation makes) starts empty. No mock: the real
    ``_counts`` runs.
    """

    class Counting(LBPFeatures):
        coded = []  # one entry per batch of images coded: its size

        def _counts(self, X, todo):
            type(self).coded.append(len(todo))
            return super()._counts(X, todo)

    return Counting


@pytest.mark.parametrize(
    "params",
    [
        dict(grid=4, image_size=48),
        dict(grid=(3, 5), image_size=None, normalize=False, method="uniform"),
        dict(grid=8, image_size=(50, 37), radius=3, n_jobs=2),
        dict(grid=2, image_size=33, method="default", n_points=6, radius=1.5),
    ],
)
@pytest.mark.parametrize("kind", ["paths", "arrays"])
def test_cached_output_equals_uncached_and_warm_codes_nothing(
    png_folder, tmp_path, params, kind
):
    paths, images = png_folder
    X = paths if kind == "paths" else images
    expected = LBPFeatures(**params).fit_transform(X)  # no cache (the default)
    Counting = _counting_class()
    cold = Counting(**params, cache=tmp_path / "cache")
    first = cold.fit_transform(X)
    assert sum(Counting.coded) == len(X)
    assert cold._last_extraction == {"n_computed": len(X), "n_cached": 0}
    np.testing.assert_array_equal(first, expected)
    # a clone (what cross-validation does) reads everything back, codes nothing
    warm = clone(cold)
    second = warm.fit_transform(X)
    assert sum(Counting.coded) == len(X)
    assert warm._last_extraction == {"n_computed": 0, "n_cached": len(X)}
    np.testing.assert_array_equal(second, expected)
    assert second.dtype == np.float64
    info = EmbeddingCache(tmp_path / "cache").info()
    assert info["n_entries"].tolist() == [len(X)]
    assert info["dim"].tolist() == [cold.n_features_out_]
    assert info["namespace"].tolist() == [cold.cache_namespace_]
    # a subset and a permutation hit as well, in the right order
    order = np.array([5, 0, 11, 3])
    np.testing.assert_array_equal(warm.transform(X[order]), expected[order])
    assert sum(Counting.coded) == len(X)


def test_cache_stores_cell_counts_exactly(rng_images, tmp_path):
    lbp = LBPFeatures(grid=(3, 2), image_size=None, cache=tmp_path).fit(rng_images)
    Xt = lbp.transform(rng_images[:4])
    stored = np.stack(lbp.cache_.get_many(lbp.cache_namespace_, image_keys(rng_images[:4])))
    assert stored.dtype == np.float32
    raw = LBPFeatures(grid=(3, 2), image_size=None, normalize=False).fit_transform(
        rng_images[:4]
    )
    np.testing.assert_array_equal(stored, raw)  # integer counts, exact in float32
    cells = raw.reshape(4, 6, -1)
    np.testing.assert_array_equal(
        Xt, (cells / cells.sum(axis=2, keepdims=True)).reshape(4, -1)
    )


def test_namespaces_follow_the_settings_that_change_the_numbers(rng_images, tmp_path):
    base = dict(grid=4, image_size=32, cache=tmp_path)
    ns = LBPFeatures(**base).fit(rng_images).cache_namespace_
    seen = {ns}
    for change in (dict(n_points=6), dict(radius=2), dict(method="uniform"),
                   dict(grid=(4, 2)), dict(image_size=(32, 30)), dict(image_size=None)):
        other = LBPFeatures(**{**base, **change}).fit(rng_images)
        assert other.cache_namespace_ not in seen, change
        seen.add(other.cache_namespace_)
    # equal values written differently, and settings that do not change the
    # stored counts, share the namespace
    for same in (dict(grid=(4, 4)), dict(image_size=(32, 32)), dict(radius=1.0),
                 dict(n_jobs=2), dict(normalize=False), dict(cache=False)):
        assert LBPFeatures(**{**base, **same}).fit(rng_images).cache_namespace_ == ns, same
    config = LBPFeatures(**base).fit(rng_images).cache_config_
    assert config["lbp_code_version"] >= 1 and "scikit-image" in config
    assert "n_jobs" not in config and "normalize" not in config


def test_normalised_and_raw_histograms_share_entries(png_folder, tmp_path):
    paths, _ = png_folder
    Counting = _counting_class()
    cache = EmbeddingCache(tmp_path)  # an instance works as well as a directory
    norm = Counting(grid=4, image_size=40, cache=cache).fit_transform(paths)
    raw = Counting(grid=4, image_size=40, cache=cache, normalize=False).fit_transform(paths)
    assert sum(Counting.coded) == len(paths)
    np.testing.assert_array_equal(
        raw, LBPFeatures(grid=4, image_size=40, normalize=False).fit_transform(paths)
    )
    np.testing.assert_array_equal(
        norm, LBPFeatures(grid=4, image_size=40).fit_transform(paths)
    )


def test_renamed_files_hit_duplicates_are_coded_once_edits_miss(png_folder, tmp_path):
    paths, _ = png_folder
    moved = tmp_path / "moved"
    moved.mkdir()
    copies = [str(shutil.copy(p, moved / f"renamed_{i}.png")) for i, p in enumerate(paths)]
    Counting = _counting_class()
    cache = tmp_path / "cache"
    X = np.asarray(list(paths[:6]) + copies[:6], dtype=object)  # each image twice
    first = Counting(grid=2, image_size=32, cache=cache).fit_transform(X)
    assert sum(Counting.coded) == 6
    np.testing.assert_array_equal(first[:6], first[6:])
    Counting(grid=2, image_size=32, cache=cache).fit_transform(copies[:6])
    assert sum(Counting.coded) == 6
    img = np.asarray(Image.open(copies[0])).copy()
    img[0, 0] = 255 - img[0, 0]
    Image.fromarray(img).save(copies[0])
    edited = Counting(grid=2, image_size=32, cache=cache).fit_transform(copies[:6])
    assert sum(Counting.coded) == 7
    np.testing.assert_array_equal(
        edited, LBPFeatures(grid=2, image_size=32).fit_transform(copies[:6])
    )


def test_default_cache_and_no_cache(png_folder, tmp_path, monkeypatch):
    paths, _ = png_folder
    monkeypatch.setenv("SKANIMAL_CACHE_DIR", str(tmp_path / "env-cache"))
    lbp = LBPFeatures(grid=2, image_size=32, cache=True).fit(paths)
    assert lbp.cache_.path == tmp_path / "env-cache"
    assert not (tmp_path / "env-cache").exists()  # nothing written by fit
    lbp.transform(paths[:3])
    assert EmbeddingCache(tmp_path / "env-cache").info()["n_entries"].tolist() == [3]
    for off in (False, None):
        plain = LBPFeatures(grid=2, image_size=32, cache=off).fit(paths)
        assert plain.cache_ is None
        plain.transform(paths)
    assert LBPFeatures().cache is False
    assert EmbeddingCache(tmp_path / "env-cache").info()["n_entries"].tolist() == [3]
    with pytest.raises(InvalidParameterError, match="'cache' parameter"):
        LBPFeatures(cache=3).fit(paths)


def test_clone_and_pickle_keep_the_cache(png_folder, tmp_path):
    paths, images = png_folder
    lbp = LBPFeatures(grid=4, image_size=40, cache=EmbeddingCache(tmp_path)).fit(paths)
    expected = lbp.transform(paths)
    assert lbp._last_extraction == {"n_computed": len(paths), "n_cached": 0}
    cloned = clone(lbp)
    assert isinstance(cloned.cache, EmbeddingCache) and cloned.cache.path == tmp_path
    restored = pickle.loads(pickle.dumps(lbp))
    assert restored.cache_.path == tmp_path
    np.testing.assert_array_equal(restored.transform(paths), expected)
    assert restored._last_extraction == {"n_computed": 0, "n_cached": len(paths)}
    np.testing.assert_array_equal(cloned.fit_transform(paths), expected)
    assert cloned._last_extraction == {"n_computed": 0, "n_cached": len(paths)}
    # arrays have keys of their own (not those of the files): computed once more
    np.testing.assert_array_equal(restored.transform(images), expected)
    assert restored._last_extraction["n_computed"] == len(images)


def test_estimator_checks_with_a_cache(tmp_path):
    from skanimal.utils.estimator_checks import check_image_estimator

    for params in LBPFeatures._get_test_params():
        results = check_image_estimator(
            LBPFeatures(**params, cache=tmp_path), use_test_params=False
        )
        assert {r["status"] for r in results} == {"passed"}, results
    assert EmbeddingCache(tmp_path).info()["n_entries"].min() > 0


def test_cached_cross_validation_codes_each_image_once(png_folder, image_labels_groups,
                                                      tmp_path):
    paths, _ = png_folder
    y, groups = image_labels_groups
    Counting = _counting_class()
    cached = Pipeline([("lbpfeatures", Counting(grid=4, image_size=48, cache=tmp_path)),
                       ("linearsvc", LinearSVC(random_state=0))])
    res = cross_validate(cached, paths, y, groups=groups, cv=LeaveOneGroupOut())
    assert sum(Counting.coded) == len(paths)  # 4 folds x (fit + 2 transforms): once
    plain = make_lbp_svm("R1P8-4x4").set_params(lbpfeatures__image_size=48)
    ref = cross_validate(plain, paths, y, groups=groups, cv=LeaveOneGroupOut())
    np.testing.assert_array_equal(res["test_score"], ref["test_score"])


def test_preset_estimator_caches():
    from skanimal.model_selection import make_preset_estimator

    pipe = make_preset_estimator("lbp_svm")
    assert pipe.named_steps["lbpfeatures"].cache is True
    assert make_lbp_svm().named_steps["lbpfeatures"].cache is False
    assert make_lbp_svm(cache="somewhere").named_steps["lbpfeatures"].cache == "somewhere"


# --------------------------------------------------------------------------- fast codes, draft


def _bincount_reference(grey, radius, method, grid, n_bins):
    """skimage's codes, then one np.bincount per np.array_split cell, L1-normalised."""
    codes = local_binary_pattern(grey, 8, radius, method).astype(np.intp)
    out = []
    for band in np.array_split(codes, grid[0], axis=0):
        for cell in np.array_split(band, grid[1], axis=1):
            out.append(np.bincount(cell.ravel(), minlength=n_bins) / cell.size)
    return np.concatenate(out)


@pytest.fixture(scope="module")
def jpeg_faces(tmp_path_factory):
    """Four 256x192 JPEG files (smooth structure + noise, like photographs)."""
    root = tmp_path_factory.mktemp("lbp_jpeg")
    rng = np.random.default_rng(3)
    yy, xx = np.mgrid[0:192, 0:256]
    paths = []
    for k in range(4):
        base = 128 + 70 * np.sin(xx / (9.0 + k)) * np.cos(yy / (7.0 + 2 * k))
        base[40 + 10 * k: 90, 60: 120 + 20 * k] -= 60
        rgb = np.stack([base, 0.7 * base + 40, 255 - base], -1) + rng.normal(0, 8, (192, 256, 3))
        p = root / f"face_{k}.jpg"
        Image.fromarray(np.clip(rgb, 0, 255).astype(np.uint8)).save(p, quality=90)
        paths.append(str(p))
    return np.asarray(paths, dtype=object)


@pytest.mark.parametrize("radius", [1, 1.5, 2, 3])
@pytest.mark.parametrize("method", ["nri_uniform", "uniform", "default", "ror"])
def test_jpeg_histograms_equal_skimage_and_bincount(jpeg_faces, method, radius):
    size, grid = (60, 52), (3, 4)
    lbp = LBPFeatures(radius=radius, method=method, grid=grid, image_size=size).fit(jpeg_faces)
    Xt = lbp.transform(jpeg_faces)
    for i, p in enumerate(jpeg_faces):
        with Image.open(p) as img:
            grey = np.asarray(img.convert("L").resize(size[::-1], Image.Resampling.BILINEAR))
        ref = _bincount_reference(grey, radius, method, grid, lbp.n_bins_)
        np.testing.assert_array_equal(Xt[i], ref)


def test_draft_histograms_are_close_and_cached_apart(jpeg_faces, tmp_path):
    params = dict(grid=4, image_size=64)
    full = LBPFeatures(**params, cache=tmp_path).fit(jpeg_faces)
    drafted = LBPFeatures(**params, draft=True, cache=tmp_path).fit(jpeg_faces)
    a, b = full.transform(jpeg_faces), drafted.transform(jpeg_faces)
    assert drafted._last_extraction["n_computed"] == len(jpeg_faces)  # no shared entries
    assert not np.array_equal(a, b)
    per_cell_l1 = np.abs(a - b).reshape(len(a), 16, -1).sum(axis=2)  # each cell sums to 1
    assert per_cell_l1.mean() < 0.3
    cosine = (a * b).sum(1) / np.linalg.norm(a, axis=1) / np.linalg.norm(b, axis=1)
    assert cosine.min() > 0.95
    # the drafted codes are those of the drafted pixels, read by Pillow itself
    for i, p in enumerate(jpeg_faces):
        with Image.open(p) as img:
            img.draft("L", (64, 64))
            assert img.size == (128, 96)  # 1/2 of 256x192: 1/4 would be 48 high
            grey = np.asarray(img.convert("L").resize((64, 64), Image.Resampling.BILINEAR))
        np.testing.assert_array_equal(b[i], _bincount_reference(grey, 1, "nri_uniform",
                                                                (4, 4), 59))
    assert full.cache_namespace_ != drafted.cache_namespace_
    assert drafted.cache_config_["jpeg_decode"] == "draft"
    # full decodes keep the keys (and so the namespaces) they had before draft existed
    assert set(full.cache_config_) == {
        "feature", "lbp_code_version", "values", "n_points", "radius", "method", "grid",
        "image_size", "scikit-image", "pillow"}
    # without a resize there is nothing to draft: same numbers, same namespace
    own_size = LBPFeatures(grid=4, image_size=None, draft=True).fit(jpeg_faces)
    assert own_size.cache_namespace_ == LBPFeatures(grid=4, image_size=None).fit(
        jpeg_faces).cache_namespace_
    # arrays are not decoded: draft changes nothing
    arrays = np.stack([np.asarray(Image.open(p)) for p in jpeg_faces])
    np.testing.assert_array_equal(LBPFeatures(**params, draft=True).fit_transform(arrays),
                                  LBPFeatures(**params).fit_transform(arrays))
    full.cache_.close()
    drafted.cache_.close()


def test_make_lbp_svm_forwards_draft():
    assert make_lbp_svm(draft=True).named_steps["lbpfeatures"].draft is True
    assert make_lbp_svm().named_steps["lbpfeatures"].draft is False

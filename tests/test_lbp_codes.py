"""The vectorised P = 8 LBP codes against scikit-image's, bit for bit."""

import warnings

import numpy as np
import pytest
from skimage import data
from skimage.feature import local_binary_pattern

from skanimal.features._lbp_codes import _fast_path, lbp_codes, lbp_lookup_table

METHODS = ("nri_uniform", "uniform", "default", "ror")
RADII = (1, 1.5, 2, 3)


def _random_images():
    rng = np.random.default_rng(0)
    shapes = [(1, 1), (3, 3), (1, 9), (2, 5), (17, 31), (40, 23), (32, 32), (224, 224)]
    images = {f"random {h}x{w}": rng.integers(0, 256, (h, w), dtype=np.uint8)
              for h, w in shapes}
    images["constant 7x9"] = np.full((7, 9), 130, np.uint8)
    images["zeros 5x5"] = np.zeros((5, 5), np.uint8)
    images["white 4x6"] = np.full((4, 6), 255, np.uint8)
    # few grey levels: many ties between a neighbour and its centre
    images["two levels 21x19"] = rng.integers(0, 2, (21, 19), dtype=np.uint8) * 255
    images["smooth 30x26"] = np.add.outer(np.arange(30), 2 * np.arange(26)).astype(np.uint8)
    return images


RANDOM = _random_images()


@pytest.fixture(scope="module")
def real_images():
    """camera (512x512) and astronaut in grey, cut to keep the test cheap."""
    camera = data.camera()[100:260, 150:330]
    rgb = data.astronaut()[:200, 100:320].astype(np.float64)
    grey = np.rint(rgb @ [0.299, 0.587, 0.114]).astype(np.uint8)
    return {"camera": camera, "astronaut": grey}


@pytest.mark.parametrize("radius", RADII)
@pytest.mark.parametrize("method", METHODS)
def test_random_and_constant_images_equal_skimage(method, radius):
    for name, image in RANDOM.items():
        expected = local_binary_pattern(image, 8, radius, method)
        got = lbp_codes(image, 8, radius, method)
        # uint8 unless all neighbours lie outside a tiny image (then skimage's)
        assert got.dtype == (np.uint8 if _fast_path(image, 8, radius, method) else np.float64)
        assert got.shape == image.shape, name
        np.testing.assert_array_equal(got, expected, err_msg=f"{name}, R={radius}")


@pytest.mark.parametrize("radius", RADII)
@pytest.mark.parametrize("method", METHODS)
def test_real_images_equal_skimage(real_images, method, radius):
    for name, image in real_images.items():
        got = lbp_codes(image, 8, radius, method)
        assert got.dtype == np.uint8
        np.testing.assert_array_equal(
            got,
            local_binary_pattern(image, 8, radius, method),
            err_msg=f"{name}, R={radius}",
        )


@pytest.mark.parametrize("radius", [0.5, 1.1, 2.7, 4.25, 7])
def test_other_radii_equal_skimage(radius):
    image = RANDOM["random 40x23"]
    for method in METHODS:
        np.testing.assert_array_equal(
            lbp_codes(image, 8, radius, method), local_binary_pattern(image, 8, radius, method)
        )


@pytest.mark.parametrize("dtype", [np.uint16, np.int16, np.int32, np.uint32])
def test_other_integer_dtypes_equal_skimage(dtype):
    rng = np.random.default_rng(1)
    info = np.iinfo(dtype)
    image = rng.integers(max(info.min, -(2**31)), min(info.max, 2**31), (19, 23)).astype(dtype)
    image[3:9, 4:12] = image[3, 4]  # a flat patch: ties
    assert _fast_path(image, 8, 1, "default")
    for radius in (1, 1.5):
        np.testing.assert_array_equal(
            lbp_codes(image, 8, radius, "nri_uniform"),
            local_binary_pattern(image, 8, radius, "nri_uniform"),
        )


def test_lookup_tables_map_default_codes_as_skimage_does():
    # a random image realises all 256 patterns: skimage's code under each
    # method must be the table's entry for its default code, at every pixel
    image = np.random.default_rng(2).integers(0, 256, (160, 160), dtype=np.uint8)
    default = local_binary_pattern(image, 8, 1, "default").astype(np.intp)
    assert np.unique(default).size == 256
    for method in METHODS:
        table = lbp_lookup_table(method)
        assert table.shape == (256,) and not table.flags.writeable
        np.testing.assert_array_equal(
            table[default], local_binary_pattern(image, 8, 1, method), err_msg=method
        )
    assert lbp_lookup_table("nri_uniform").max() == 58
    assert np.unique(lbp_lookup_table("uniform")).tolist() == list(range(10))
    assert np.unique(lbp_lookup_table("ror")).size == 36


@pytest.mark.parametrize(
    "image, n_points, radius, method",
    [
        (RANDOM["random 17x31"].astype(np.float64), 8, 1, "uniform"),  # a float image
        (RANDOM["random 17x31"], 6, 1, "nri_uniform"),  # P != 8
        (RANDOM["random 17x31"], 16, 2, "uniform"),
        (RANDOM["random 17x31"], 8, 1, "var"),
        (RANDOM["random 17x31"].astype(np.int64), 8, 1, "default"),
        (RANDOM["random 3x3"], 8, 50, "default"),  # all neighbours outside
    ],
)
def test_other_cases_are_left_to_skimage(image, n_points, radius, method):
    assert not _fast_path(image, n_points, radius, method)
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")  # skimage's warning about float images
        got = lbp_codes(image, n_points, radius, method)
        expected = local_binary_pattern(image, n_points, radius, method)
    assert got.dtype == np.float64
    np.testing.assert_array_equal(got, expected)

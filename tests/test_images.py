"""Tests for skanimal.utils._images: the one module that reads images."""

import hashlib
import os
import warnings
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from skanimal.utils import ImageReadError, check_images, load_image, open_image


def _digest(path):
    return hashlib.sha1(Path(path).read_bytes()).hexdigest()


@pytest.fixture
def rgb():
    rng = np.random.default_rng(1)
    return rng.integers(0, 256, size=(10, 14, 3), dtype=np.uint8)


# --------------------------------------------------------------------------- check_images


def test_check_images_accepts_paths_in_every_container(tmp_path):
    paths = [tmp_path / "a.png", tmp_path / "b.png"]
    expected = np.array([str(p) for p in paths], dtype=object)
    for X in (paths, [str(p) for p in paths], pd.Series([str(p) for p in paths]),
              np.array([str(p) for p in paths]), tuple(paths)):
        out = check_images(X)
        assert out.dtype == object and out.ndim == 1
        assert list(out) == list(expected)
        assert all(type(p) is str for p in out)


def test_check_images_does_not_modify_callers_list(tmp_path):
    paths = [tmp_path / "a.png", tmp_path / "b.png"]
    arr = np.array(paths, dtype=object)
    check_images(arr)
    assert isinstance(arr[0], Path)


def test_check_images_accepts_image_arrays(rgb):
    X = np.stack([rgb, rgb])
    assert check_images(X) is X
    grey = X[..., 0]
    assert check_images(grey).shape == (2, 10, 14)
    f = X.astype(np.float32) / 255
    assert check_images(f).dtype == np.float32


@pytest.mark.parametrize(
    "X, err, match",
    [
        ("one.png", TypeError, "single path"),
        ([], ValueError, "empty"),
        (np.zeros((2, 5)), ValueError, "shape"),
        (np.zeros((2, 4, 4, 2), dtype=np.uint8), ValueError, "channels"),
        (np.full((2, 4, 4), 2.0), ValueError, r"\[0, 1\]"),
        (np.full((2, 4, 4), np.nan), ValueError, "NaN"),
        (np.zeros((2, 4, 4), dtype=np.int64), TypeError, "int64"),
        (np.array([1.0, 2.0]), TypeError, "1-D array"),
        (["a.png", 3], TypeError, r"X\[1\]"),
        (["a.png", ""], ValueError, r"X\[1\] is an empty path"),
        (12, TypeError, "int"),
    ],
)
def test_check_images_rejects_bad_input(X, err, match):
    with pytest.raises(err, match=match):
        check_images(X)


def test_check_images_names_the_input():
    with pytest.raises(ValueError, match="^images is empty"):
        check_images([], input_name="images")


# --------------------------------------------------------------------------- reading files


def test_png_round_trip_is_exact(tmp_path, rgb):
    p = tmp_path / "x.png"
    Image.fromarray(rgb).save(p)
    np.testing.assert_array_equal(load_image(str(p)), rgb)
    np.testing.assert_array_equal(load_image(p), rgb)  # PathLike


def test_paths_and_arrays_go_through_the_same_conversions(tmp_path, rgb):
    p = tmp_path / "x.png"
    Image.fromarray(rgb).save(p)
    for kwargs in ({"mode": "L"}, {"mode": "RGB", "size": (7, 9)},
                   {"mode": "L", "size": 20, "resample": "bicubic"}):
        np.testing.assert_array_equal(load_image(p, **kwargs), load_image(rgb, **kwargs))
    # float arrays in [0, 1] give the same pixels as the uint8 array
    np.testing.assert_array_equal(load_image(rgb / 255.0, mode="L"), load_image(rgb, mode="L"))


def test_greyscale_luma_matches_pillow(rgb):
    expected = np.asarray(Image.fromarray(rgb).convert("L"))
    out = load_image(rgb, mode="L")
    np.testing.assert_array_equal(out, expected)
    # ITU-R 601-2 luma, not a plain mean: pure green is brighter than pure blue
    g = np.zeros((2, 2, 3), np.uint8)
    g[..., 1] = 255
    b = np.zeros((2, 2, 3), np.uint8)
    b[..., 2] = 255
    assert load_image(g, mode="L")[0, 0] > load_image(b, mode="L")[0, 0]


def _left_dark_jpeg_stored_sideways(path, height, width):
    """A JPEG stored ``width`` x ``height`` with its left half dark, EXIF orientation 6."""
    a = np.full((height, width, 3), 220, np.uint8)
    a[:, :width // 2] = 10
    img = Image.fromarray(a)
    exif = img.getexif()
    exif[0x0112] = 6
    img.save(path, exif=exif, quality=95)
    return path


def test_exif_orientation_is_applied(tmp_path):
    # a 20 wide x 10 high image whose left half is dark, stored with orientation 6
    # (rotate 90 deg clockwise to display): displayed, it is 10 wide x 20 high and
    # its top half is dark.
    p = _left_dark_jpeg_stored_sideways(tmp_path / "rotated.jpg", 10, 20)
    out = load_image(p)
    assert out.shape == (20, 10, 3)
    assert out[:8].mean() < 60 and out[12:].mean() > 180


def test_greyscale_file_gives_l_and_rgb(tmp_path, rgb):
    grey = rgb[..., 0]
    p = tmp_path / "g.png"
    Image.fromarray(grey).save(p)
    assert open_image(p).mode == "L"
    np.testing.assert_array_equal(load_image(p, mode="L"), grey)
    out = load_image(p, mode="RGB")
    assert out.shape == grey.shape + (3,)
    np.testing.assert_array_equal(out[..., 2], grey)


def test_palette_file(tmp_path, rgb):
    img = Image.fromarray(rgb).quantize(colors=16)
    p = tmp_path / "pal.png"
    img.save(p)
    expected = np.asarray(img.convert("RGB"))
    np.testing.assert_array_equal(load_image(p), expected)


def test_palette_with_transparency_is_composited(tmp_path):
    img = Image.new("P", (4, 4), 0)
    img.putpalette([255, 0, 0] + [0, 0, 255] * 255)
    img.putpixel((0, 0), 1)
    img.info["transparency"] = 0
    p = tmp_path / "palt.png"
    img.save(p, transparency=0)
    out = load_image(p)
    np.testing.assert_array_equal(out[1, 1], [255, 255, 255])  # transparent red -> background
    np.testing.assert_array_equal(out[0, 0], [0, 0, 255])


def test_rgba_is_composited_on_background(tmp_path):
    a = np.zeros((4, 4, 4), np.uint8)
    a[..., 0] = 200  # red
    a[..., 3] = 0
    a[0, 0, 3] = 255
    a[1, 1, 3] = 128
    p = tmp_path / "rgba.png"
    Image.fromarray(a).save(p)
    white = load_image(p)
    black = load_image(p, background=0)
    np.testing.assert_array_equal(white[0, 0], [200, 0, 0])
    np.testing.assert_array_equal(white[3, 3], [255, 255, 255])
    np.testing.assert_array_equal(black[3, 3], [0, 0, 0])
    assert 95 < black[1, 1, 0] < 105 and 120 < white[1, 1, 1] < 135
    # an RGBA array gives the same result as the file
    np.testing.assert_array_equal(load_image(a), white)


def test_16_bit_png_is_scaled_not_clipped(tmp_path):
    ramp = np.linspace(0, 65535, 64).astype(np.uint16).reshape(8, 8)
    p = tmp_path / "deep.png"
    Image.fromarray(ramp).save(p)
    out = load_image(p, mode="L")
    assert out.dtype == np.uint8
    np.testing.assert_array_equal(out, np.rint(ramp / 257.0).astype(np.uint8))
    assert out.min() == 0 and out.max() == 255


def test_cmyk_jpeg_is_converted(tmp_path):
    rgb = np.zeros((16, 16, 3), np.uint8)
    rgb[:8] = [230, 20, 20]
    rgb[8:] = [20, 20, 230]
    p = tmp_path / "cmyk.jpg"
    Image.fromarray(rgb).convert("CMYK").save(p, quality=100)
    with Image.open(p) as im:
        assert im.mode == "CMYK"
    out = load_image(p).astype(int)
    assert out.shape == (16, 16, 3)
    assert np.abs(out[2, 2] - [230, 20, 20]).max() < 20
    assert np.abs(out[13, 13] - [20, 20, 230]).max() < 20


def test_reading_never_modifies_the_file(tmp_path, rgb):
    img = Image.fromarray(rgb)
    exif = img.getexif()
    exif[0x0112] = 3
    p = tmp_path / "keep.jpg"
    img.save(p, exif=exif)
    before, mtime = _digest(p), os.stat(p).st_mtime_ns
    load_image(p, mode="L", size=32)
    assert _digest(p) == before and os.stat(p).st_mtime_ns == mtime


# --------------------------------------------------------------------------- errors


def test_missing_file_names_file_and_position(tmp_path):
    from skanimal.exceptions import SkanimalError

    p = tmp_path / "nope.png"
    with pytest.raises(FileNotFoundError, match=r"nope\.png.*X\[7\]") as info:
        load_image(p, index=7)
    # a user error the command line prints in one line, of the old type too
    assert isinstance(info.value, SkanimalError) and isinstance(info.value, ImageReadError)
    assert info.value.path == str(p) and info.value.index == 7


def test_not_an_image_names_file(tmp_path):
    p = tmp_path / "notes.png"
    p.write_text("this is not an image")
    with pytest.raises(ImageReadError, match=r"notes\.png.*X\[2\].*not a recognised") as info:
        load_image(p, index=2)
    assert info.value.path == str(p) and info.value.index == 2


def test_truncated_file_names_file(tmp_path, rgb):
    p = tmp_path / "cut.jpg"
    Image.fromarray(np.tile(rgb, (8, 8, 1))).save(p, quality=90)
    data = p.read_bytes()
    p.write_bytes(data[: len(data) // 2])
    with pytest.raises(ImageReadError, match=r"cut\.jpg"):
        load_image(p)


def test_directory_is_not_an_image(tmp_path):
    with pytest.raises(ImageReadError, match="cannot read image file"):
        load_image(tmp_path)


def test_load_image_rejects_bad_mode_and_resample(rgb):
    with pytest.raises(ValueError, match="mode"):
        load_image(rgb, mode="CMYK")
    with pytest.raises(ValueError, match="resample"):
        load_image(rgb, size=5, resample="fancy")


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_check_images_rejects_non_finite_float_pixels(bad):
    X = np.full((3, 5, 5, 3), 0.5)
    X[2, 1, 3, 0] = bad
    with pytest.raises(ValueError, match="NaN or infinite"):
        check_images(X)
    X[2, 1, 3, 0] = 0.5
    assert check_images(X) is X  # finite input passes, not copied


# --------------------------------------------------------------------------- ambiguous shapes


def test_one_colour_image_without_batch_axis_is_refused(rgb):
    image = np.zeros((64, 64, 3), np.uint8)
    with pytest.raises(ValueError, match=(
        r"X has shape \(64, 64, 3\), which is ambiguous: .* 64 images of 64x3 pixels.*"
        r"X\[np\.newaxis\] \(shape \(1, 64, 64, 3\)\).*X\[\.\.\., np\.newaxis\]"
    )):
        check_images(image)
    for c in (1, 4):  # a grey channel axis, RGBA
        with pytest.raises(ValueError, match="ambiguous"):
            check_images(np.zeros((20, 30, c), np.uint8))
    # the two fixes the message gives are accepted
    assert check_images(image[np.newaxis]).shape == (1, 64, 64, 3)
    assert check_images(image[..., np.newaxis]).shape == (64, 64, 3, 1)
    assert check_images(rgb[np.newaxis]).shape == (1, 10, 14, 3)


def test_greyscale_stacks_are_still_greyscale_stacks(rng_images):
    grey = rng_images[..., 0]  # 12 images of 40x48
    assert check_images(grey) is grey
    for shape in [(2, 4, 4), (30, 4, 4), (3, 3, 3), (2, 5, 5), (6, 2, 3)]:
        X = np.zeros(shape, np.uint8)
        assert check_images(X) is X


def test_channels_first_images_are_refused():
    with pytest.raises(ValueError, match=(
        r"shape \(8, 3, 64, 64\), which looks like channels-first images .* skanimal "
        r"expects \(n_images, height, width, channels\).*X\.transpose\(0, 2, 3, 1\) "
        r"\(shape \(8, 64, 64, 3\)\)"
    )):
        check_images(np.zeros((8, 3, 64, 64), np.uint8))
    # a small width would otherwise be read as 4 channels: 2 RGBA images 3 pixels high
    with pytest.raises(ValueError, match=(
        r"shape \(2, 3, 16, 4\), which looks like channels-first .* would be read as 2 "
        r"images of 3x16 pixels with 4 channels"
    )):
        check_images(np.zeros((2, 3, 16, 4), np.uint8))
    with pytest.raises(ValueError, match="channels-first"):
        check_images(np.zeros((2, 1, 16, 16), np.float32))
    # channels last is accepted, tiny images included
    for shape in [(2, 16, 16, 3), (2, 4, 4, 3), (2, 16, 4, 4), (1, 5, 3, 1)]:
        X = np.zeros(shape, np.uint8)
        assert check_images(X) is X


def test_list_of_images_of_different_sizes_names_two_shapes(rgb):
    X = [rgb, rgb, rgb[:, :12]]
    with pytest.raises(ValueError, match=(
        r"X is a list of 3 images of different shapes: X\[0\] has shape \(10, 14, 3\) "
        r"but X\[2\] has \(10, 12, 3\).*resize them"
    )):
        check_images(X)
    assert check_images([rgb, rgb]).shape == (2, 10, 14, 3)  # same shapes are stacked


# --------------------------------------------------------------------------- pandas input


def test_dataframe_of_one_column_is_its_values(tmp_path, rgb):
    paths = [tmp_path / "a.png", tmp_path / "b.png"]
    for p in paths:
        Image.fromarray(rgb).save(p)
    frame = pd.DataFrame({"file": [str(p) for p in paths]}, index=[10, 20])
    out = check_images(frame)
    assert out.dtype == object and list(out) == [str(p) for p in paths]
    np.testing.assert_array_equal(load_image(out[1]), rgb)


def test_dataframe_of_several_columns_says_which_to_pass(tmp_path):
    manifest = pd.DataFrame({"label": [0, 1], "path": ["a.png", "b.png"],
                             "subject": ["r1", "r2"]})
    with pytest.raises(TypeError, match=(
        r"X is a pandas DataFrame with 3 columns \('label', 'path', 'subject'\); .*"
        r"pass X\['path'\]"
    )):
        check_images(manifest)
    with pytest.raises(TypeError, match=r"pass images\['a'\]"):
        check_images(pd.DataFrame({"a": ["x.png"], "b": ["y.png"]}), input_name="images")


# --------------------------------------------------------------------------- file formats

# A complete Encapsulated PostScript file: an 8x8 black square.
_EPS = (
    b"%!PS-Adobe-3.0 EPSF-3.0\n%%BoundingBox: 0 0 8 8\n%%EndComments\n"
    b"newpath 0 0 moveto 8 0 lineto 8 8 lineto 0 8 lineto closepath fill\n"
    b"showpage\n%%EOF\n"
)


def test_eps_named_png_is_refused_with_its_real_format(tmp_path):
    p = tmp_path / "face.png"
    p.write_bytes(_EPS)
    with pytest.raises(ImageReadError, match=(
        r"face\.png' \(X\[4\]\): its format is EPS \(Encapsulated Postscript\), not one "
        r"of the raster formats skanimal reads \(PNG, JPEG, .*\).*Convert it"
    )) as info:
        load_image(p, index=4)
    assert info.value.path == str(p) and info.value.index == 4


def test_other_pillow_formats_are_refused(tmp_path):
    p = tmp_path / "icon.jpg"
    Image.fromarray(np.zeros((16, 16, 3), np.uint8)).save(p, format="ICO")
    with pytest.raises(ImageReadError, match=r"icon\.jpg.*its format is ICO"):
        open_image(p)


@pytest.mark.parametrize("fmt", ["PNG", "JPEG", "BMP", "TIFF", "GIF", "WEBP", "PPM"])
def test_supported_raster_formats_are_read(tmp_path, fmt):
    from PIL import features

    if fmt == "WEBP" and not features.check("webp"):
        pytest.skip("Pillow built without WebP")
    grey = np.tile(np.arange(0, 256, 16, dtype=np.uint8), (16, 1))
    p = tmp_path / "img.data"  # the extension does not matter
    Image.fromarray(grey).save(p, format=fmt, **({"lossless": True} if fmt == "WEBP" else {}))
    out = load_image(p, mode="L")
    assert out.shape == (16, 16)
    if fmt != "JPEG":
        np.testing.assert_array_equal(out, grey)


def test_damaged_file_of_a_supported_format(tmp_path):
    p = tmp_path / "bad.png"
    Image.fromarray(np.zeros((8, 8), np.uint8)).save(p)
    p.write_bytes(p.read_bytes()[:8] + b"\0" * 32)  # the PNG signature, then garbage
    with pytest.raises(ImageReadError, match=r"bad\.png.*starts like a PNG file but cannot"):
        load_image(p)


# --------------------------------------------------------------------------- decompression bombs


def _bomb_filters():
    return [f for f in warnings.filters if f[2] is Image.DecompressionBombWarning]


def test_images_over_pillows_pixel_limit_are_refused(tmp_path, monkeypatch):
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 100)
    small, big, huge = tmp_path / "small.png", tmp_path / "big.png", tmp_path / "huge.png"
    Image.fromarray(np.zeros((10, 10), np.uint8)).save(small)
    Image.fromarray(np.zeros((12, 12), np.uint8)).save(big)  # Pillow only warns
    Image.fromarray(np.zeros((20, 20), np.uint8)).save(huge)  # Pillow raises
    filters = list(warnings.filters)
    assert load_image(small, mode="L").shape == (10, 10)
    with pytest.warns(Image.DecompressionBombWarning), pytest.raises(
        ImageReadError, match=r"big\.png' \(X\[1\]\): it has 12x12 = 144 pixels, more than "
                              r"PIL\.Image\.MAX_IMAGE_PIXELS \(100\)"):
        load_image(big, index=1)
    with pytest.raises(ImageReadError, match=r"huge\.png.*decompression bomb"):
        load_image(huge)
    assert warnings.filters == filters
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", None)  # Pillow's "no limit"
    assert load_image(huge, mode="L").shape == (20, 20)


def test_reading_in_threads_leaves_no_warning_filter_behind(png_folder):
    # warnings.catch_warnings is not thread-safe: threads entering and leaving it
    # at once restore each other's filters, and one can be left behind for good
    paths, _ = png_folder
    with warnings.catch_warnings():  # keep the other tests safe from a leak
        assert _bomb_filters() == []
        with ThreadPoolExecutor(4) as pool:
            list(pool.map(lambda i: open_image(paths[i % len(paths)]), range(400)))
        assert _bomb_filters() == []


# --------------------------------------------------------------------------- draft decoding


def _photo(height, width, seed=0):
    """A smooth RGB image with edges (JPEG-friendly, like a photograph)."""
    yy, xx = np.mgrid[0:height, 0:width]
    base = 128 + 80 * np.sin(xx / 23.0) * np.cos(yy / 17.0)
    base[height // 3: height // 2, width // 4: width // 2] = 30
    noise = np.random.default_rng(seed).normal(0, 6, (height, width, 3))
    rgb = np.stack([base, base * 0.8 + 20, 255 - base], axis=-1) + noise
    return np.clip(rgb, 0, 255).astype(np.uint8)


@pytest.fixture(scope="module")
def jpeg_640x480(tmp_path_factory):
    p = tmp_path_factory.mktemp("draft") / "photo.jpg"
    Image.fromarray(_photo(480, 640)).save(p, quality=90)
    return p


@pytest.mark.parametrize(
    "size, decoded",
    [  # (height, width) asked -> (width, height) decoded: the smallest scale still >= size
        ((224, 224), (320, 240)),
        ((100, 150), (160, 120)),
        ((60, 80), (80, 60)),
        ((30, 20), (80, 60)),  # 1/8 is the smallest scale
        ((241, 100), (640, 480)),  # 1/2 would be 240 high
    ],
)
def test_draft_decodes_at_the_smallest_scale_still_at_least_size(jpeg_640x480, size, decoded):
    h, w = size
    assert open_image(jpeg_640x480, draft=("L", (w, h))).size == decoded
    drafted = load_image(jpeg_640x480, mode="L", size=size, draft=True)
    full = load_image(jpeg_640x480, mode="L", size=size)
    assert drafted.shape == full.shape == size and drafted.dtype == np.uint8
    diff = np.abs(drafted.astype(int) - full.astype(int))
    assert diff.mean() < 2 and np.percentile(diff, 99) <= 12
    if decoded != (640, 480):
        assert diff.any()  # really decoded differently


def test_draft_gives_l_and_rgb(jpeg_640x480):
    assert open_image(jpeg_640x480, draft=("L", (100, 100))).mode == "L"
    assert open_image(jpeg_640x480, draft=("RGB", (100, 100))).mode == "RGB"
    assert load_image(jpeg_640x480, mode="RGB", size=100, draft=True).shape == (100, 100, 3)
    grey = load_image(jpeg_640x480, mode="L", size=100, draft=True)
    # straight-to-luma decoding is close to Pillow's conversion of the drafted RGB
    rgb_then_l = np.asarray(
        Image.fromarray(load_image(jpeg_640x480, mode="RGB", size=100, draft=True)).convert("L"))
    assert np.abs(grey.astype(int) - rgb_then_l.astype(int)).mean() < 2


def test_draft_leaves_png_and_arrays_unchanged(tmp_path):
    a = _photo(480, 640)
    p = tmp_path / "photo.png"
    Image.fromarray(a).save(p)
    assert open_image(p, draft=("L", (100, 100))).size == (640, 480)
    np.testing.assert_array_equal(load_image(p, mode="L", size=100, draft=True),
                                  load_image(p, mode="L", size=100))
    np.testing.assert_array_equal(load_image(a, mode="L", size=100, draft=True),
                                  load_image(a, mode="L", size=100))


def test_draft_of_an_exif_rotated_jpeg(tmp_path):
    # stored 640 wide x 480 high, left half dark, orientation 6: displayed 480 x 640,
    # top half dark. size is asked in the displayed frame, (height, width) = (200, 100):
    # 1/2 (240 x 320 displayed) is the smallest scale at least 100 wide and 200 high
    p = _left_dark_jpeg_stored_sideways(tmp_path / "rotated.jpg", 480, 640)
    decoded = open_image(p, draft=("L", (100, 200)))
    assert decoded.size == (240, 320) and decoded.mode == "L"
    out = load_image(p, mode="L", size=(200, 100), draft=True)
    assert out.shape == (200, 100)
    assert out[:90].mean() < 40 and out[110:].mean() > 190
    full = load_image(p, mode="L", size=(200, 100))
    assert np.abs(out.astype(int) - full.astype(int)).mean() < 2

"""skanimal.video: sampling frames of real (PyAV-encoded) videos, writing them, the CLI."""

import inspect
import os
import time
import tracemalloc
from fractions import Fraction

import av
import numpy as np
import pandas as pd
import pytest
from PIL import Image
from scipy import ndimage

from skanimal.cli import main
from skanimal.datasets import load_manifest
from skanimal.exceptions import DataError, ResultsExistError, SkanimalError, VideoReadError
from skanimal.video import Frame, sample_frames, write_frames

W, H = 96, 64  # 16 bits of frame index in two rows of 8 blocks of 12x8 pixels


def _index_image(i, rng=None, sharp=True):
    """A frame whose top 16 pixel rows spell its index in black/white blocks."""
    img = np.full((H, W), 128, np.uint8)
    if rng is not None:  # a textured lower part, sharp or blurred
        noise = rng.integers(0, 256, (H - 16, W)).astype(np.float32)
        if not sharp:
            noise = ndimage.gaussian_filter(noise, 3.0)
        img[16:] = np.clip(noise, 0, 255).astype(np.uint8)
    for bit in range(16):
        r, c = divmod(bit, 8)
        img[r * 8:(r + 1) * 8, c * 12:(c + 1) * 12] = 255 if (i >> bit) & 1 else 0
    return np.repeat(img[:, :, None], 3, axis=2)


def _read_index(image):
    grey = image.mean(axis=2)
    bits = [grey[r * 8 + 2:(r + 1) * 8 - 2, c * 12 + 2:(c + 1) * 12 - 2].mean() > 128
            for r in range(2) for c in range(8)]
    return sum(1 << b for b, on in enumerate(bits) if on)


def _write_video(path, n, *, fps=25, times=None, codec="libx264", images=None, fmt=None,
                 container_options=None, display=None):
    """Encode n frames; `times` (seconds) set every frame's pts (variable frame rate).

    `display`: the display matrix's (degrees counter-clockwise, hflip, vflip), or its 9
    entries.
    """
    ms = Fraction(1, 1000)
    with av.open(str(path), "w", format=fmt, options=container_options or {}) as out:
        stream = out.add_stream(codec, rate=fps,
                                options={"bf": "0"} if codec == "libx264" else {})
        stream.width, stream.height, stream.pix_fmt = W, H, "yuv420p"
        if display is not None and len(display) == 9:
            stream.set_display_matrix(list(display))
        elif display is not None:
            degrees, hflip, vflip = display
            stream.set_display_rotation(degrees, hflip=hflip, vflip=vflip)
        if times is not None:
            stream.codec_context.time_base = ms
            stream.time_base = ms
        for i in range(n):
            image = _index_image(i) if images is None else images(i)
            frame = av.VideoFrame.from_ndarray(image, format="rgb24")
            if times is not None:
                frame.pts, frame.time_base = int(round(times[i] * 1000)), ms
            out.mux(stream.encode(frame))
        out.mux(stream.encode())
    return str(path)


@pytest.fixture(scope="module")
def clip(tmp_path_factory):
    """4 s of h264 in mp4 at 25 fps."""
    return _write_video(tmp_path_factory.mktemp("v") / "rat01_day1.mp4", 100)


def test_every_second_at_25_fps_takes_the_frames_at_whole_seconds(clip):
    frames = list(sample_frames(clip, every=1.0))
    assert [f.index for f in frames] == [0, 25, 50, 75]
    assert [f.time for f in frames] == [0.0, 1.0, 2.0, 3.0]
    assert [_read_index(f.image) for f in frames] == [0, 25, 50, 75]  # the pixels too
    assert all(isinstance(f, Frame) and f.video == os.path.abspath(clip) for f in frames)
    assert frames[0].image.shape == (H, W, 3) and frames[0].image.dtype == np.uint8
    assert frames[0].sharpness is None
    # a decimal step is exact: 0.2 s is every 5th frame, none skipped by rounding
    assert [f.index for f in sample_frames(clip, 0.2)] == list(range(0, 100, 5))


def test_every_none_gives_every_frame_in_order(clip):
    frames = list(sample_frames(clip, None))
    assert [f.index for f in frames] == list(range(100))
    assert [_read_index(f.image) for f in frames] == list(range(100))
    np.testing.assert_allclose([f.time for f in frames], np.arange(100) / 25)


def test_variable_frame_rate_takes_the_first_frame_at_or_after_each_multiple(tmp_path):
    gaps = np.random.default_rng(0).uniform(0.01, 0.4, 59)
    gaps[20] = 2.5  # a gap longer than the step: the first frame after it, once
    times = np.round(np.cumsum(np.r_[0.0, gaps]), 3)
    video = _write_video(tmp_path / "vfr.mp4", 60, times=times)
    frames = list(sample_frames(video, every=1.0))
    expected, next_t = [], 0.0
    for i, t in enumerate(times):
        if t >= next_t:
            expected.append(i)
            next_t = (np.floor(t) + 1.0)
    assert [f.index for f in frames] == expected
    assert [_read_index(f.image) for f in frames] == expected
    np.testing.assert_allclose([f.time for f in frames], times[expected], atol=1e-3)
    # a frame at exactly a multiple is taken, not the next one
    on_the_second = [i for i in expected if times[i] == np.floor(times[i])]
    assert len(on_the_second) >= 1  # frame 0 at 0.0 s


def test_sharpest_frame_of_each_window(tmp_path):
    rng = np.random.default_rng(1)
    sharp_at = {3, 16, 27}  # one sharp frame per second at 10 fps, the rest blurred
    images = [_index_image(i, rng, sharp=i in sharp_at) for i in range(30)]
    video = _write_video(tmp_path / "blur.mp4", 30, fps=10, images=images.__getitem__)
    frames = list(sample_frames(video, every=1.0, mode="sharpest"))
    assert [f.index for f in frames] == [3, 16, 27]
    assert [_read_index(f.image) for f in frames] == [3, 16, 27]
    assert [f.time for f in frames] == pytest.approx([0.3, 1.6, 2.7])
    # a 0.5 s window at the start of each second misses the sharp frames 16 and 27
    early = list(sample_frames(video, every=1.0, mode="sharpest", window=0.5))
    assert early[0].index == 3
    assert early[1].index in range(10, 15) and early[2].index in range(20, 25)

    scored = list(sample_frames(video, None, min_sharpness=0))
    sharpness = np.array([f.sharpness for f in scored])
    assert set(np.argsort(sharpness)[-3:]) == sharp_at
    # the sharpness is the variance of the Laplacian of the grey frame
    grey = np.asarray(Image.fromarray(scored[3].image).convert("L"), np.float32)
    assert sharpness[3] == pytest.approx(ndimage.laplace(grey).var(), rel=0.15)

    cut = (sharpness[sorted(sharp_at)].min() + np.delete(sharpness, list(sharp_at)).max()) / 2
    kept = list(sample_frames(video, None, min_sharpness=cut))
    assert [f.index for f in kept] == sorted(sharp_at)
    # mode "first": the first sharp-enough frame of each second
    first = list(sample_frames(video, 1.0, min_sharpness=cut))
    assert [f.index for f in first] == [3, 16, 27]
    assert list(sample_frames(video, 1.0, mode="sharpest", min_sharpness=sharpness.max() + 1)) == []


def test_parameter_errors(clip):
    with pytest.raises(DataError, match="every"):
        sample_frames(clip, None, mode="sharpest")
    with pytest.raises(DataError, match="window"):
        sample_frames(clip, 1.0, window=2.0)
    with pytest.raises(ValueError, match="every"):
        sample_frames(clip, -1.0)


def test_frames_stream_instead_of_being_decoded_up_front(tmp_path):
    video = _write_video(tmp_path / "long.mp4", 1500)  # 60 s at 25 fps
    frames = sample_frames(video, None)
    assert inspect.isgenerator(frames)
    start = time.perf_counter()
    first = next(frames)
    first_s = time.perf_counter() - start
    assert first.index == 0 and first.time == 0.0
    frames.close()

    all_bytes = 1500 * H * W * 3  # a list of every frame would hold this (27.6 MB)
    tracemalloc.start()
    try:
        count = 0
        start = time.perf_counter()
        for f in sample_frames(video, None):
            count += 1
            last = f.index
        total_s = time.perf_counter() - start
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert count == 1500 and last == 1499
    assert peak < all_bytes / 10, peak
    assert first_s < total_s / 5


def _write_and_check(tmp_path, video, **kw):
    manifest = write_frames(video, tmp_path / "out", every=1.0, **kw)
    return manifest, pd.read_csv(manifest)


def test_write_frames_manifest_loads_with_labels_and_subjects(tmp_path, clip):
    other = _write_video(tmp_path / "rat02_day1.mp4", 50)
    manifest = write_frames([clip, other], tmp_path / "out", every=1.0,
                            subject_pattern=r"^(?P<subject>rat\d+)_", label=["pain", "no pain"])
    assert manifest == str(tmp_path / "out" / "manifest.csv")
    data = load_manifest(manifest)
    assert list(data.groups) == ["rat01"] * 4 + ["rat02"] * 2
    assert list(data.target) == ["pain"] * 4 + ["no pain"] * 2
    assert list(data.frame["time"]) == [0.0, 1.0, 2.0, 3.0, 0.0, 1.0]
    assert list(data.frame["frame"]) == [0, 25, 50, 75, 0, 25]
    assert list(data.frame["video"]) == [os.path.abspath(clip)] * 4 + [other] * 2
    # the image files hold the frames the manifest names
    for path, index in zip(data.images, data.frame["frame"]):
        assert _read_index(np.asarray(Image.open(path).convert("RGB"))) == index
    assert list(pd.read_csv(manifest).columns) == ["path", "video", "time", "frame",
                                                    "subject", "label"]


def test_write_frames_every_frame_carries_the_clip_label_as_png(tmp_path, clip):
    manifest = write_frames(clip, tmp_path / "o", every=None, label={"rat01_day1.mp4": 1},
                            subject_pattern=r"^(?P<subject>rat\d+)_", image_format="png")
    data = load_manifest(manifest)
    assert len(data.images) == 100 and set(data.target) == {1}
    assert all(p.endswith(".png") for p in data.images)
    # PNG is lossless: the pixels are exactly the decoded frames
    decoded = next(iter(sample_frames(clip, None)))
    np.testing.assert_array_equal(np.asarray(Image.open(data.images[0])), decoded.image)


def test_write_frames_without_labels_or_subjects(tmp_path, clip):
    manifest, frame = _write_and_check(tmp_path, clip)
    assert list(frame.columns) == ["path", "video", "time", "frame"]
    with pytest.raises(SkanimalError, match="label, subject"):
        load_manifest(manifest)  # load_manifest needs both; pandas reads it


def test_write_frames_refuses_to_overwrite_and_leaves_inputs_alone(tmp_path, clip):
    before = open(clip, "rb").read()
    manifest, first = _write_and_check(tmp_path, clip)
    stamp = os.stat(manifest).st_mtime_ns
    with pytest.raises(ResultsExistError, match="overwrite=True"):
        write_frames(clip, tmp_path / "out", every=2.0)
    assert os.stat(manifest).st_mtime_ns == stamp
    write_frames(clip, tmp_path / "out", every=2.0, overwrite=True)
    assert list(pd.read_csv(manifest)["frame"]) == [0, 50]
    assert open(clip, "rb").read() == before
    assert not [n for n in os.listdir(tmp_path / "out" / "rat01_day1") if n.endswith(".tmp.jpg")]


def test_write_frames_subject_and_label_errors_name_the_video(tmp_path, clip):
    with pytest.raises(DataError, match="rat01_day1.mp4"):
        write_frames(clip, tmp_path / "o", every=1.0, subject_pattern=r"^(?P<subject>mouse\d+)")
    with pytest.raises(DataError, match="named group 'subject'"):
        write_frames(clip, tmp_path / "o", every=1.0, subject_pattern=r"^rat")
    with pytest.raises(DataError, match="rat01_day1.mp4"):
        write_frames(clip, tmp_path / "o", every=1.0, label={"other.mp4": 1})
    assert not (tmp_path / "o").exists()  # refused before anything was written


def _truncated(tmp_path, name, **kw):
    rng = np.random.default_rng(2)
    noisy = lambda i: _index_image(i, rng)  # noqa: E731 - incompressible, so bytes ~ frames
    video = _write_video(tmp_path / f"full_{name}", 100, images=noisy, **kw)
    data = open(video, "rb").read()
    cut = tmp_path / name
    cut.write_bytes(data[: len(data) // 2])
    return str(cut)


@pytest.mark.parametrize("name, kw", [
    ("cut.mkv", {}),
    ("cut.mp4", {"container_options": {"movflags": "faststart"}}),
    ("cut.avi", {"codec": "mpeg4"}),
])
def test_truncated_video_keeps_the_frames_read_and_says_where_it_stopped(tmp_path, name, kw):
    video = _truncated(tmp_path, name, **kw)
    got = []
    with pytest.raises(VideoReadError, match=name) as info:
        for f in sample_frames(video, None):
            got.append(f)
    err = info.value
    assert 10 < len(got) < 100
    assert [_read_index(f.image) for f in got] == list(range(len(got)))
    assert err.path == video and err.frames_read == len(got)
    assert err.last_index == got[-1].index and err.last_time == got[-1].time
    assert f"frame {err.last_index} at" in str(err)

    with pytest.raises(VideoReadError, match="lists the"):
        write_frames(video, tmp_path / "out", every=None)
    written = pd.read_csv(tmp_path / "out" / "manifest.csv")
    assert list(written["frame"]) == list(range(len(got)))
    with pytest.warns(RuntimeWarning, match=name):
        manifest = write_frames(video, tmp_path / "skip", every=1.0, on_error="skip")
    assert list(pd.read_csv(manifest)["frame"]) == [f.index for f in got if f.index % 25 == 0]


def test_mp4_cut_before_its_index_is_named(tmp_path):
    video = _truncated(tmp_path, "moov_at_end.mp4")
    with pytest.raises(VideoReadError, match="moov_at_end.mp4.*truncated"):
        sample_frames(video, 1.0)


def test_unreadable_files_get_errors_naming_them(tmp_path):
    text = tmp_path / "notes.mp4"
    text.write_text("not a video\n" * 100)
    with pytest.raises(VideoReadError, match="notes.mp4.*not a video file"):
        sample_frames(text, 1.0)
    with pytest.raises(VideoReadError, match="missing.mp4.*does not exist"):
        sample_frames(tmp_path / "missing.mp4", 1.0)

    audio = tmp_path / "sound.m4a"
    with av.open(str(audio), "w") as out:
        stream = out.add_stream("aac", rate=8000)
        for k in range(4):
            chunk = av.AudioFrame.from_ndarray(np.zeros((1, 1024), np.float32),
                                               format="fltp", layout="mono")
            chunk.sample_rate, chunk.pts = 8000, k * 1024
            out.mux(stream.encode(chunk))
        out.mux(stream.encode())
    with pytest.raises(VideoReadError, match=r"sound.m4a.*no video stream.*audio \(aac\)"):
        sample_frames(audio, 1.0)

    empty = tmp_path / "empty.avi"
    with av.open(str(empty), "w") as out:
        stream = out.add_stream("mpeg4", rate=25)
        stream.width, stream.height, stream.pix_fmt = W, H, "yuv420p"
        out.start_encoding()
    with pytest.raises(VideoReadError, match="empty.avi.*no frames"):
        list(sample_frames(empty, None))


def test_unsupported_codec_is_named(tmp_path):
    video = _write_video(tmp_path / "ok.avi", 5, codec="mpeg4")
    data = open(video, "rb").read()
    assert data.count(b"FMP4") >= 1
    odd = tmp_path / "odd.avi"
    odd.write_bytes(data.replace(b"FMP4", b"QQQQ"))  # a fourcc no decoder knows
    with pytest.raises(VideoReadError, match="odd.avi.*QQQQ.*cannot be decoded"):
        sample_frames(odd, 1.0)


def test_cli_frames_writes_the_same_manifest(tmp_path, clip, capsys):
    lib = write_frames(clip, tmp_path / "lib", every=1.0, label="pain",
                       subject_pattern=r"^(?P<subject>rat\d+)_")
    status = main(["frames", clip, "--every", "1", "--output", str(tmp_path / "cli"),
                   "--label", "pain", "--subject-pattern", r"^(?P<subject>rat\d+)_"])
    assert status == 0 and "manifest.csv" in capsys.readouterr().out
    pd.testing.assert_frame_equal(pd.read_csv(lib), pd.read_csv(tmp_path / "cli" / "manifest.csv"))
    assert load_manifest(tmp_path / "cli" / "manifest.csv").target.tolist() == ["pain"] * 4

    assert main(["frames", clip, "--every", "1", "--output", str(tmp_path / "cli")]) == 2
    assert "--output" in capsys.readouterr().err
    assert main(["frames", clip, "--every", "all", "--sharpest", "-o", str(tmp_path / "x")]) == 2
    assert "--sharpest" in capsys.readouterr().err
    bad = tmp_path / "bad.mp4"
    bad.write_bytes(b"\x00" * 1000)
    assert main(["frames", str(bad), "--every", "1", "-o", str(tmp_path / "y")]) == 2
    assert "bad.mp4" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["frames", clip, "--every", "0", "-o", str(tmp_path / "z")])


# --------------------------------------------------------------------------
# rotated (phone) videos
# --------------------------------------------------------------------------

needs_display_matrix = pytest.mark.skipif(
    not hasattr(av.video.stream.VideoStream, "set_display_rotation"),
    reason=f"PyAV {av.__version__} cannot write a display matrix")


def _rows_cols():
    return np.indices((H, W))


# where a player puts the stored pixel (r, c) of an H x W frame, written out by hand
# (not with numpy's rot90): "counter-clockwise by 90" takes the top-left corner to
# the bottom-left, the top-right corner to the top-left
_SHOWN = {
    "90 ccw": ((90, False, False), (W, H), lambda r, c: (W - 1 - c, r)),
    "90 cw (upright phone)": ((-90, False, False), (W, H), lambda r, c: (c, H - 1 - r)),
    "180": ((180, False, False), (H, W), lambda r, c: (H - 1 - r, W - 1 - c)),
    "mirrored": ((0, True, False), (H, W), lambda r, c: (r, W - 1 - c)),
    "90 ccw then mirrored": ((90, True, False), (W, H),
                             lambda r, c: (W - 1 - c, H - 1 - r)),
}


@needs_display_matrix
@pytest.mark.parametrize("case", list(_SHOWN))
def test_rotated_video_frames_come_out_as_a_player_shows_them(tmp_path, case):
    (degrees, hflip, vflip), shape, shown = _SHOWN[case]
    rng = np.random.default_rng(5)
    images = [_index_image(i, rng) for i in range(10)]
    plain = _write_video(tmp_path / "plain.mp4", 10, images=images.__getitem__)
    turned = _write_video(tmp_path / "phone.mp4", 10, images=images.__getitem__,
                          display=(degrees, hflip, vflip))
    # the rotation took: PyAV reads it back, the stored frames are unrotated
    with av.open(turned) as container:
        frame = next(container.decode(video=0))
        assert (frame.width, frame.height) == (W, H)
        if hasattr(frame, "rotation") and not hflip:
            # PyAV >= 13 reads the angle in [-180, 180] (a mirror alone reads as -180)
            assert frame.rotation % 360 == degrees % 360
    stored = [f.image for f in sample_frames(plain, None)]
    frames = list(sample_frames(turned, None))
    assert len(frames) == 10 and [f.index for f in frames] == list(range(10))
    r, c = _rows_cols()
    for f, raw in zip(frames, stored):
        assert f.image.shape == shape + (3,) and f.image.flags["C_CONTIGUOUS"]
        # the same encoder, the same bitstream: the shown frame is the stored one moved
        expected = np.zeros_like(f.image)
        expected[shown(r, c)] = raw[r, c]
        np.testing.assert_array_equal(f.image, expected)
    # the sharpness (5-point Laplacian) does not depend on the orientation
    sharp = [f.sharpness for f in sample_frames(turned, None, min_sharpness=0)]
    assert sharp == [f.sharpness for f in sample_frames(plain, None, min_sharpness=0)]
    assert [f.index for f in sample_frames(turned, 0.2, mode="sharpest")] == [
        f.index for f in sample_frames(plain, 0.2, mode="sharpest")]


@needs_display_matrix
def test_rotated_video_writes_upright_images(tmp_path):
    video = _write_video(tmp_path / "rat03_phone.mp4", 25, display=(-90, False, False))
    data = pd.read_csv(write_frames(video, tmp_path / "out", every=1.0, image_format="png"))
    assert data["frame"].tolist() == [0]
    image = np.asarray(Image.open(tmp_path / "out" / data["path"][0]))
    assert image.shape == (W, H, 3)  # portrait, as the phone was held
    np.testing.assert_array_equal(image, next(iter(sample_frames(video, None))).image)
    # the index blocks, stored in the top 16 rows, show in the right 16 columns (turned
    # clockwise); frame 0 has every bit black, the rest of the frame is grey
    assert (image[:, -16:].mean(axis=2) < 40).all()
    assert (np.abs(image[:, :-16].astype(int) - 128) < 40).all()
    assert _read_index(image[:, ::-1].transpose(1, 0, 2)) == 0


@needs_display_matrix
def test_odd_display_rotation_is_left_as_players_leave_it(tmp_path):
    # 45 degrees in 16.16 fixed point (FFmpeg's players apply only multiples of 90)
    q = int(round(65536 * np.sqrt(0.5)))
    video = _write_video(tmp_path / "odd.mp4", 5, display=(q, -q, 0, q, q, 0, 0, 0, 1 << 30))
    with av.open(video) as container:
        frame = next(container.decode(video=0))
        assert not hasattr(frame, "rotation") or frame.rotation in (45, -45)
    frames = list(sample_frames(video, None))
    assert frames[0].image.shape == (H, W, 3)
    assert [_read_index(f.image) for f in frames] == list(range(5))

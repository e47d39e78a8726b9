"""Benchmark scoring a video: predict against decoding + one forward pass per frame.

Usage::

    python benchmarks/bench_scoring.py [--seconds 120] [--every 1.0 10.0] [--repeats 3]
        [--backbones resnet18 [vit_small_patch16_224]] [--batch-size 16]
        [--video PATH] [--no-cli] [--no-profile]

Issue 11's throughput target: ``predict`` on a video costs no more than
decoding it and one forward pass per sampled frame, i.e. the library path
takes at most 1.2 times the reference below. Everything is measured in one run
and reported as ratios to the reference, in the printed table and in
``benchmarks/results/bench_scoring.json``. Backbones use random weights
(``weights=None``): the timing of a network does not depend on its weights.

The video (unless ``--video``) is encoded with PyAV: ``--seconds`` long,
640x480, 30 fps, h264 (libx264, ``veryfast``, CRF 18; mpeg4 when PyAV's FFmpeg
lacks libx264), a slowly panning crop of scikit-image's ``coffee`` photograph
plus fresh-looking noise on every frame, so that it does not compress to
nothing (about 1.7 Mbit/s). The model is ``make_pipeline(DeepFeatures(backbone,
weights=None), LogisticRegression())`` fitted on 8 frames (the first 4 s) with made-up labels.

For each backbone and each ``--every``, the variants are interleaved
``--repeats`` times and the median is kept:

* **reference** -- ``[f.image for f in sample_frames(video, every)]`` then
  ``DeepFeatures(...).transform(np.stack(frames))`` (fitted, network built,
  ``cache=False``): decoding plus the forward passes on arrays in memory.
* **lib** -- ``score_videos(model, video, out, every=every, explain=False)``,
  the model's DeepFeatures with ``cache=False``: frames written as JPEG, read
  back, predicted, CSVs, figures and the report written.
* **lib_cache** -- the same with ``cache=<a fresh temporary folder>`` (cold:
  every embedding is computed and stored).
* **lib_explain** -- ``lib`` with ``explain=True`` (EigenCAM of 8 frames).
* **cli** -- ``python -m skanimal predict MODEL --data VIDEO --output DIR
  --every S`` in a subprocess (the model file from ``skanimal.save_model``,
  ``cache=False``; the CLI explains by default, so compare it with
  ``lib_explain``), and **cli_start** -- ``python -c "import skanimal.cli;
  skanimal.load_model(MODEL)"``, the share of it that is interpreter start,
  imports and loading the model.

Then one more reference run and one more ``lib`` run per ``--every`` are
instrumented (``time.perf_counter`` around the library's functions, wrapped
from here; no library file is changed) for the breakdown: decoding (the
frames' generator, RGB conversion included), frames written (JPEG encoding,
atomic files, manifest), loading the manifest, reading + preprocessing the
JPEGs (DeepFeatures' data loader; for the reference, preprocessing the
arrays), forward passes, the classifier and tables, figures + report, and the
rest; and one ``lib_explain`` run, which adds EigenCAM and its grid figure.
With ``--profile`` (the default) one ``lib`` run at the smallest ``--every`` is
also profiled with cProfile; the functions taking the most time are kept.
"""

# Authors: the skanimal developers
# SPDX-License-Identifier: BSD-3-Clause

import argparse
import cProfile
import functools
import itertools
import os
import pstats
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import RESULTS, finish, run_meta  # noqa: E402  (house helpers)
from _common import print_rows as _print_rows  # noqa: E402

TARGET = 1.2


def _quiet():
    warnings.filterwarnings("ignore", message="Backbone .* random weights")
    os.environ.setdefault("MPLBACKEND", "Agg")


def make_video(path, seconds, fps=30, size=(480, 640), seed=0):
    """A ``seconds`` long video of a panning photograph plus noise; returns the codec."""
    import av
    from skimage import data
    from skimage.transform import resize

    h, w = size
    codec = "libx264" if "libx264" in av.codecs_available else "mpeg4"
    src = (resize(data.coffee(), (int(h * 1.5), int(w * 1.5)), anti_aliasing=True)
           * 255).astype(np.int16)
    rng = np.random.default_rng(seed)
    # a bank of noise frames, rolled differently on every frame: no two frames alike
    noise = rng.integers(-6, 7, size=(8, h, w, 3), dtype=np.int16)
    span_y, span_x = src.shape[0] - h, src.shape[1] - w
    with av.open(os.fspath(path), "w") as out:
        stream = out.add_stream(codec, rate=fps)
        stream.width, stream.height, stream.pix_fmt = w, h, "yuv420p"
        if codec == "libx264":
            stream.options = {"preset": "veryfast", "crf": "18"}
        else:
            stream.bit_rate = 2_000_000
        for i in range(int(round(seconds * fps))):
            phase = 2 * np.pi * i / (fps * 40)  # one pan every 40 s
            y = int(span_y / 2 * (1 + np.sin(phase)))
            x = int(span_x / 2 * (1 + np.sin(0.7 * phase)))
            img = src[y:y + h, x:x + w] + np.roll(noise[i % 8], (i * 37 % h, i * 7 % w),
                                                  axis=(0, 1))
            img = np.clip(img, 0, 255).astype(np.uint8)
            out.mux(stream.encode(av.VideoFrame.from_ndarray(img, format="rgb24")))
        out.mux(stream.encode())
    return codec


def fit_model(backbone, cache, train_images, batch_size):
    """The pipeline of the task, fitted on a few frames with made-up labels."""
    from sklearn.linear_model import LogisticRegression

    from skanimal.features import DeepFeatures
    from skanimal.pipeline import make_pipeline

    labels = np.arange(len(train_images)) % 2
    model = make_pipeline(
        DeepFeatures(backbone, weights=None, cache=cache, verbose=0, batch_size=batch_size),
        LogisticRegression(max_iter=1000))
    return model.fit(train_images, labels)


def _cpu():
    """CPU seconds of this process and of its finished children (every thread)."""
    t = os.times()
    return t.user + t.system + t.children_user + t.children_system


def _timed(func):
    start = time.perf_counter()
    result = func()
    return time.perf_counter() - start, result


def _measured(func):
    """(wall seconds, CPU seconds, result) of ``func()``."""
    cpu, start = _cpu(), time.perf_counter()
    result = func()
    return time.perf_counter() - start, _cpu() - cpu, result


# --------------------------------------------------------------------------- variants


def reference(deep, video, every):
    """Decoding + the forward passes on arrays in memory: {part: (wall, cpu)}, n."""
    from skanimal.video import sample_frames

    dec = _measured(lambda: [f.image for f in sample_frames(video, every)])
    fwd = _measured(lambda: deep.transform(np.stack(dec[2])))
    return {"reference": (dec[0] + fwd[0], dec[1] + fwd[1]), "decode": dec[:2],
            "forward": fwd[:2]}, len(dec[2])


def library(model, video, every, explain, scratch):
    """``score_videos`` into a fresh folder: (wall, cpu, number of frames)."""
    from skanimal.scoring import score_videos

    out = tempfile.mkdtemp(prefix="scores-", dir=scratch)
    try:
        wall, cpu, result = _measured(lambda: score_videos(model, video, out, every=every,
                                                           explain=explain))
        return wall, cpu, len(result.predictions)
    finally:
        shutil.rmtree(out, ignore_errors=True)


def _run(cmd):
    wall, cpu, proc = _measured(lambda: subprocess.run(cmd, capture_output=True, text=True))
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed:\n{proc.stderr[-2000:]}")
    return wall, cpu


def cli(model_file, video, every, scratch):
    out = tempfile.mkdtemp(prefix="cli-", dir=scratch)
    shutil.rmtree(out)  # the CLI creates it
    try:
        return _run([sys.executable, "-m", "skanimal", "predict", str(model_file), "--data",
                     str(video), "--output", out, "--every", repr(float(every))])
    finally:
        shutil.rmtree(out, ignore_errors=True)


def cli_start(model_file):
    code = f"import skanimal.cli, skanimal; skanimal.load_model({str(model_file)!r})"
    return _run([sys.executable, "-c", code])


def has_cli_predict():
    proc = subprocess.run([sys.executable, "-m", "skanimal", "predict", "--help"],
                          capture_output=True, text=True)
    return proc.returncode == 0


# --------------------------------------------------------------------------- breakdown


class _Clock:
    """Wrap library functions with perf_counter accumulators; undo on exit."""

    def __init__(self):
        self.seconds = {}
        self._undo = []

    def _add(self, key, dt):
        self.seconds[key] = self.seconds.get(key, 0.0) + dt

    def wrap(self, owner, name, key):
        original = getattr(owner, name)

        @functools.wraps(original)
        def timed(*args, **kwargs):
            start = time.perf_counter()
            try:
                return original(*args, **kwargs)
            finally:
                self._add(key, time.perf_counter() - start)

        setattr(owner, name, timed)
        self._undo.append((owner, name, original))

    def wrap_generator(self, owner, name, key):
        """Time each step of the generator the function returns (its opening too)."""
        original = getattr(owner, name)
        clock = self

        @functools.wraps(original)
        def timed(*args, **kwargs):
            start = time.perf_counter()
            gen = original(*args, **kwargs)
            clock._add(key, time.perf_counter() - start)

            def steps():
                while True:
                    start = time.perf_counter()
                    try:
                        item = next(gen)
                    except StopIteration:
                        clock._add(key, time.perf_counter() - start)
                        return
                    clock._add(key, time.perf_counter() - start)
                    yield item

            return steps()

        setattr(owner, name, timed)
        self._undo.append((owner, name, original))

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        for owner, name, original in reversed(self._undo):
            setattr(owner, name, original)


def breakdown(model, video, every, scratch, explain=False):
    """One instrumented ``lib`` run: seconds per part and ms per frame."""
    import skanimal.benchmark
    import skanimal.datasets
    import skanimal.explain
    import skanimal.scoring._score as score_mod
    import skanimal.video
    import skanimal.video._frames as frames_mod
    from skanimal.features import DeepFeatures

    with _Clock() as clock:
        clock.wrap_generator(frames_mod, "sample_frames", "decode")
        clock.wrap(skanimal.video, "write_frames", "write_frames")
        clock.wrap(skanimal.datasets, "load_new_images", "load_manifest")
        clock.wrap(score_mod, "score_animals", "score_animals")
        clock.wrap(score_mod, "predict_images", "predict_images")
        clock.wrap(DeepFeatures, "transform", "transform")
        clock.wrap(DeepFeatures, "_compute", "compute")
        clock.wrap(DeepFeatures, "_forward", "forward")
        clock.wrap(score_mod, "timecourse_figure", "figures")
        clock.wrap(skanimal.benchmark, "figure_png", "figures")
        clock.wrap(skanimal.benchmark, "render_report", "report_html")
        clock.wrap(score_mod, "_explanation_figure", "explain")
        clock.wrap(skanimal.explain, "eigencam", "eigencam")
        clock.wrap(skanimal.explain, "plot_attention_grid", "explain_plot")
        total, _, n = library(model, video, every, explain, scratch)
    s = clock.seconds
    s.setdefault("explain", 0.0)
    # the forward passes of EigenCAM are DeepFeatures' network too, but not _forward
    parts = {
        "decode": s["decode"],
        "jpeg_write": s["write_frames"] - s["decode"],
        "load_manifest": s["load_manifest"],
        "jpeg_read_preprocess": s["compute"] - s["forward"],
        "forward": s["forward"],
        "transform_other": s["transform"] - s["compute"],
        "classifier_tables": s["predict_images"] - s["transform"],
        "figures": s.get("figures", 0.0),
        "report_html": s.get("report_html", 0.0),
    }
    if explain:
        # figure_png of the EigenCAM grid is counted in "figures"
        parts["eigencam"] = s.get("eigencam", 0.0)
        parts["explain_plot"] = s.get("explain_plot", 0.0)
    parts["csv_json_other"] = (s["score_animals"] - s["predict_images"] - parts["figures"]
                               - parts["report_html"] - s["explain"])
    parts["rest"] = total - s["write_frames"] - s["load_manifest"] - s["score_animals"]
    row = {"every": every, "explain": explain, "n_frames": n, "total_s": round(total, 3)}
    for key, value in parts.items():
        row[f"{key}_s"] = round(value, 3)
    per_frame = {key: round(1000 * value / n, 2) for key, value in parts.items()}
    return row, per_frame


def breakdown_reference(deep, video, every):
    """One instrumented reference run: decoding, preprocessing the arrays, the network."""
    from skanimal.features import DeepFeatures

    with _Clock() as clock:
        clock.wrap(DeepFeatures, "_compute", "compute")
        clock.wrap(DeepFeatures, "_forward", "forward")
        times, n = reference(deep, video, every)
    s = clock.seconds
    parts = {"decode": times["decode"][0],
             "array_preprocess": s["compute"] - s["forward"],
             "forward": s["forward"],
             "transform_other": times["forward"][0] - s["compute"]}
    row = {"every": every, "n_frames": n, "total_s": round(times["reference"][0], 3)}
    for key, value in parts.items():
        row[f"{key}_s"] = round(value, 3)
    return row, {key: round(1000 * value / n, 2) for key, value in parts.items()}


def profile(model, video, every, scratch, top=25):
    """cProfile of one ``lib`` run: the functions with the most own and total time."""
    prof = cProfile.Profile()
    prof.enable()
    total, _, n = library(model, video, every, False, scratch)
    prof.disable()
    stats = pstats.Stats(prof)
    rows = []
    for (file, line, func), (_, calls, own, cum, _) in stats.stats.items():
        rows.append({"function": f"{Path(file).name}:{line}({func})", "calls": calls,
                     "tottime_s": round(own, 4), "cumtime_s": round(cum, 4),
                     "tottime_ms_per_frame": round(1000 * own / n, 3),
                     "_ours": f"{os.sep}skanimal{os.sep}" in file})
    by_own = sorted(rows, key=lambda r: -r["tottime_s"])[:top]
    ours = sorted((r for r in rows if r["_ours"]), key=lambda r: -r["cumtime_s"])[:top]
    for r in rows:
        del r["_ours"]
    return {"every": every, "n_frames": n, "profiled_total_s": round(total, 3),
            "by_own_time": by_own, "skanimal_by_total_time": ours}


# --------------------------------------------------------------------------- main


def bench(backbone, video, everys, repeats, batch_size, scratch, use_cli, do_profile):
    import skanimal
    from skanimal.features import DeepFeatures
    from skanimal.video import sample_frames

    train = np.stack([f.image for f in itertools.islice(sample_frames(video, 0.5), 8)])
    model = fit_model(backbone, False, train, batch_size)
    deep = DeepFeatures(backbone, weights=None, cache=False, verbose=0,
                        batch_size=batch_size).fit(train)
    deep.transform(train[:2])  # the network is built, as in the fitted model
    model_file = Path(scratch) / f"model_{backbone}.skanimal"
    if use_cli:
        skanimal.save_model(model, model_file, overwrite=True)

    # warm every import and code path once, on a short clip (not timed)
    clip = Path(scratch) / "warm.mp4"
    make_video(clip, 3.0)
    library(model, clip, 1.0, True, scratch)
    reference(deep, clip, 1.0)

    def cached_lib(every):
        # a fresh, empty cache each time: every embedding is computed and stored
        cache_dir = tempfile.mkdtemp(prefix="cache-", dir=scratch)
        try:
            fitted = fit_model(backbone, cache_dir, train, batch_size)
            return library(fitted, video, every, False, scratch)[:2]
        finally:
            shutil.rmtree(cache_dir, ignore_errors=True)

    def counted(times, n):
        frames_seen.append(n)
        return times

    frames_seen = []
    variants = {
        "reference": lambda every: counted(*reference(deep, video, every)),
        "lib": lambda every: {"lib": library(model, video, every, False, scratch)[:2]},
        "lib_cache": lambda every: {"lib_cache": cached_lib(every)},
        "lib_explain": lambda every: {
            "lib_explain": library(model, video, every, True, scratch)[:2]},
    }
    if use_cli:
        variants["cli"] = lambda every: {"cli": cli(model_file, video, every, scratch)}
        variants["cli_start"] = lambda every: {"cli_start": cli_start(model_file)}
    names = list(variants)
    rows = []
    for every in everys:
        wall, cpu = {}, {}
        for r in range(repeats):
            for name in names[r % len(names):] + names[:r % len(names)]:  # rotated order
                for key, (w, c) in variants[name](every).items():
                    wall.setdefault(key, []).append(w)
                    cpu.setdefault(key, []).append(c)
        n_frames = frames_seen[-1]
        med = {k: statistics.median(v) for k, v in wall.items()}
        med_cpu = {k: statistics.median(v) for k, v in cpu.items()}
        ref, ref_cpu = med["reference"], med_cpu["reference"]
        row = {"backbone": backbone, "every": every, "n_frames": n_frames,
               "ref_s": round(ref, 2), "decode_s": round(med["decode"], 2),
               "forward_s": round(med["forward"], 2),
               "forward_ms_per_frame": round(1000 * med["forward"] / n_frames, 1)}
        for key in ("lib", "lib_cache", "lib_explain", "cli"):
            if key in med:
                row[f"{key}_s"] = round(med[key], 2)
                row[f"{key}_ratio"] = round(med[key] / ref, 3)
        if "cli_start" in med:
            row["cli_start_s"] = round(med["cli_start"], 2)
            row["cli_minus_start_ratio"] = round((med["cli"] - med["cli_start"]) / ref, 3)
        # within a repeat the variants run back to back: a burst of load elsewhere on the
        # machine moves both, so the median of these ratios is the steadier one
        row["lib_ratio_paired"] = round(statistics.median(
            a / b for a, b in zip(wall["lib"], wall["reference"])), 3)
        row["lib_cpu_ratio"] = round(med_cpu["lib"] / ref_cpu, 3)
        row["meets_1.2"] = bool(row["lib_ratio"] <= TARGET)
        row["wall_s"] = {k: [round(x, 3) for x in v] for k, v in wall.items()}
        row["cpu_s"] = {k: [round(x, 3) for x in v] for k, v in cpu.items()}
        rows.append(row)
        _print_rows(f"{backbone}, every {every:g} s (medians of {repeats})",
                    [{k: v for k, v in row.items() if k not in ("wall_s", "cpu_s")}])

    ref_parts, ref_per_frame = [], []
    for every in everys:
        row, ms = breakdown_reference(deep, video, every)
        ref_parts.append({"backbone": backbone, **row})
        ref_per_frame.append({"backbone": backbone, "every": every, **ms})
    _print_rows(f"{backbone}: breakdown of the reference (one instrumented run), seconds",
                ref_parts)
    _print_rows(f"{backbone}: breakdown of the reference, ms per sampled frame", ref_per_frame)
    parts, per_frame = [], []
    for every in everys:
        row, ms = breakdown(model, video, every, scratch)
        parts.append({"backbone": backbone, **row})
        per_frame.append({"backbone": backbone, "every": every, **ms})
    _print_rows(f"{backbone}: breakdown of lib (one instrumented run), seconds", parts)
    _print_rows(f"{backbone}: breakdown of lib, ms per sampled frame", per_frame)
    explained = []
    for every in everys:
        row, _ = breakdown(model, video, every, scratch, explain=True)
        explained.append({"backbone": backbone, **row})
    _print_rows(f"{backbone}: breakdown of lib_explain (one instrumented run), seconds",
                explained)
    prof = None
    if do_profile:
        prof = profile(model, video, min(everys), scratch)
        _print_rows(f"{backbone}: cProfile of lib, every {min(everys):g} s, top own time",
                    prof["by_own_time"][:15])
    return {"rows": rows, "breakdown_reference": ref_parts,
            "breakdown_reference_ms_per_frame": ref_per_frame, "breakdown": parts,
            "breakdown_ms_per_frame": per_frame,
            "breakdown_explain": explained, "profile": prof}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=120.0, help="length of the video")
    parser.add_argument("--every", type=float, nargs="+", default=[1.0, 10.0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--backbones", nargs="+", default=["resnet18"],
                        help="e.g. resnet18 vit_small_patch16_224")
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--video", default=None, help="use this video instead of encoding one")
    parser.add_argument("--no-cli", action="store_true", help="skip skanimal predict")
    parser.add_argument("--no-profile", action="store_true", help="skip the cProfile run")
    parser.add_argument("--output", default=str(RESULTS / "bench_scoring.json"))
    args = parser.parse_args(argv)
    _quiet()

    import av
    import timm

    use_cli = not args.no_cli and has_cli_predict()
    results = {"meta": run_meta(
        args, timm=timm.__version__, av=av.__version__, target=f"lib_ratio <= {TARGET}",
        cli="measured" if use_cli else (
            "skipped: --no-cli" if args.no_cli else
            "skipped: 'python -m skanimal predict --help' failed (no predict command)"))}
    t0 = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="skanimal-bench-scoring-") as scratch:
        if args.video:
            video = Path(args.video).resolve()
            results["meta"]["video"] = {"path": str(video)}
        else:
            video = Path(scratch) / "video.mp4"
            t_enc, codec = _timed(lambda: make_video(video, args.seconds))
            results["meta"]["video"] = {
                "codec": codec, "seconds": args.seconds, "fps": 30, "size": "640x480",
                "bytes": video.stat().st_size,
                "mbit_s": round(video.stat().st_size * 8 / args.seconds / 1e6, 2),
                "encode_s": round(t_enc, 1)}
            print(f"video: {results['meta']['video']}")
        if not use_cli:
            print(f"cli: {results['meta']['cli']}")
        results["backbones"] = {}
        for backbone in args.backbones:
            results["backbones"][backbone] = bench(
                backbone, video, args.every, args.repeats, args.batch_size, scratch,
                use_cli, not args.no_profile)
    summary = [{k: r[k] for k in ("backbone", "every", "n_frames", "ref_s", "lib_ratio",
                                  "lib_ratio_paired", "lib_cache_ratio", "lib_explain_ratio",
                                  "cli_ratio", "cli_minus_start_ratio", "lib_cpu_ratio",
                                  "meets_1.2") if k in r}
               for b in results["backbones"].values() for r in b["rows"]]
    _print_rows("summary: ratios to the reference (decode + forward)", summary)
    results["summary"] = summary
    return finish(results, args.output, t0)


if __name__ == "__main__":
    main()

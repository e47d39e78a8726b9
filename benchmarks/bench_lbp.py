"""Benchmark LBPFeatures against a naive per-cell ``np.histogram`` loop, and its cache.

Usage::

    python benchmarks/bench_lbp.py [--n-images 200] [--repeats 3] [--image-size 224]
        [--only hist cache jpeg] [--cache-settings R1P8-4x4 R3P8-16x16] [--cache-n-images 0]
        [--jpeg-n-images 100] [--jpeg-sizes 640x480 1280x960]
        [--jpeg-settings R1P8-8x8 R3P8-8x8]

Run the ``jpeg`` part as ``OMP_NUM_THREADS=1 python benchmarks/bench_lbp.py --only jpeg``:
its one-core variants must be one thread (the value is recorded).

Writes ``--n-images`` PNG files to a temporary folder (faces from
:func:`skanimal.datasets.make_grimace_faces` when it is available, structured
random images otherwise) and measures, for grids of 4x4, 8x8 and 16x16 cells
(P=8, R=1, ``nri_uniform``, images resized to 224x224):

- ``naive``: for each file, the same greyscale image (``load_image``), the same
  :func:`skimage.feature.local_binary_pattern` map, then one ``np.histogram``
  per cell in a Python loop;
- ``lbp_n_jobs1`` and ``lbp_n_jobs2``: ``LBPFeatures(...).transform(paths)``
  with one and two threads (one ``np.bincount`` over cell-offset codes);
- ``hist_naive_ms`` / ``hist_bincount_ms``: the histogram step alone, per
  image, on precomputed LBP maps.

All variants run in the same process, interleaved, ``--repeats`` times; the
median is reported, with speed ratios against ``naive`` (absolute times on a
shared 2-core machine are noisy, ratios less so). The outputs are checked to be
identical. The table is printed and written to
``benchmarks/results/bench_lbp.json`` and ``.csv``.

**cache** -- the built-in dataset (:func:`skanimal.datasets.make_grimace_faces`
with its defaults: 1,138 images of 96 px, resized to 224 by LBPFeatures), as
PNG files and as an array, for each of ``--cache-settings``:
``uncached_s`` (``cache=False``), ``cold_s`` (``fit_transform`` into an empty
cache: coding + storing), ``warm_s`` (a clone's ``fit_transform``: every
histogram read back; median of ``--repeats``), the ratios ``cold / warm`` and
``uncached / warm``, and the cache's size. The three outputs are checked to be
identical, and the warm run to have coded no image. Written to the
``"cache"`` entry of ``bench_lbp.json``.

**jpeg** -- end to end from JPEG files, one core: ``--jpeg-n-images``
photographs (random 4:3 crops of the :mod:`skimage.data` pictures, resized
to each of ``--jpeg-sizes`` and saved at quality 90) to the histograms of
each of ``--jpeg-settings``, 224x224 images:

- ``skimage_loop``: the loop a user would write -- ``PIL.Image.open``,
  ``convert("L")``, ``resize((224, 224), BILINEAR)``,
  :func:`skimage.feature.local_binary_pattern`, one ``np.bincount`` per
  ``np.array_split`` cell, L1-normalised;
- ``lbp``: ``LBPFeatures.from_setting(setting, n_jobs=1).transform(paths)``;
- ``lbp_draft``: the same with ``draft=True``;
- ``lbp_n_jobs2`` and ``lbp_draft_n_jobs2``: two threads.

Interleaved repeats (``--repeats``, after one untimed pass that reads the
files into the page cache); images/s are medians, ``x_*`` ratios are the
median over repeats of the loop's time over the variant's time in the same
repeat. The loop's histograms are checked to equal ``lbp``'s bit for bit,
and the LBP codes of every decoded image to equal scikit-image's;
``draft_cell_l1`` is the mean L1 distance between drafted and full-decode
cell histograms (each sums to 1). ``codes_*`` rows time the codes alone on
the 224x224 images: ``local_binary_pattern`` against the vectorised codes.
Written to the ``"jpeg"`` entry of ``bench_lbp.json``.
"""

# Authors: the skanimal developers
# SPDX-License-Identifier: BSD-3-Clause

import argparse
import csv
import json
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image
from skimage.feature import local_binary_pattern
from sklearn.base import clone

from skanimal.features import LBP_SETTINGS, EmbeddingCache, LBPFeatures
from skanimal.features._lbp import _cell_histograms
from skanimal.features._lbp_codes import lbp_codes
from skanimal.utils import load_image

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import RESULTS, write_atomic  # noqa: E402  (house helpers)


def make_images(n_images, size, seed=0):
    """Face images if the dataset generator is available, else structured noise."""
    try:
        from skanimal.datasets import make_grimace_faces
    except ImportError:
        make_grimace_faces = None
    if make_grimace_faces is not None:
        faces = make_grimace_faces(n_samples=n_images, image_size=size, random_state=seed)
        return faces.images, "make_grimace_faces"
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float64)
    images = np.empty((n_images, size, size, 3), dtype=np.uint8)
    for i in range(n_images):
        theta, period = rng.uniform(0, np.pi), rng.uniform(4, 20)
        base = 128 + 60 * np.sin((xx * np.cos(theta) + yy * np.sin(theta)) / period)
        base += 30 * np.cos(np.hypot(xx - size / 2, yy - size / 2) / rng.uniform(5, 15))
        rgb = np.stack([base, base[::-1], base[:, ::-1]], axis=-1)
        rgb += rng.normal(0, 15, rgb.shape)
        images[i] = np.clip(rgb, 0, 255).astype(np.uint8)
    return images, "structured random arrays"


def naive_histograms(codes, grid, n_bins):
    """Per-cell np.histogram in a Python loop, L1-normalised."""
    out = []
    for band in np.array_split(codes, grid, axis=0):
        for cell in np.array_split(band, grid, axis=1):
            hist, _ = np.histogram(cell, bins=n_bins, range=(0, n_bins))
            out.append(hist / cell.size)
    return np.concatenate(out)


def naive_transform(paths, grid, size, n_bins=59):
    out = []
    for i, p in enumerate(paths):
        grey = load_image(p, mode="L", size=(size, size), index=i)
        codes = local_binary_pattern(grey, 8, 1, "nri_uniform")
        out.append(naive_histograms(codes, grid, n_bins))
    return np.asarray(out)


def _timed(func, *args):
    start = time.perf_counter()
    result = func(*args)
    return time.perf_counter() - start, result


def bench_cache(settings, repeats, n_images=None):
    """Cold vs warm cached transforms of the built-in dataset, paths and arrays."""
    from skanimal.datasets import make_grimace_faces

    faces = make_grimace_faces(n_samples=n_images or None)
    images = faces.images
    rows = []
    with tempfile.TemporaryDirectory(prefix="skanimal-bench-lbp-cache-") as folder:
        paths = []
        for i, img in enumerate(images):
            path = os.path.join(folder, f"face_{i:04d}.png")
            Image.fromarray(img).save(path)
            paths.append(path)
        paths = np.asarray(paths, dtype=object)
        for setting in settings:
            for kind, X in (("paths", paths), ("arrays", images)):
                cache_dir = os.path.join(folder, f"cache-{setting}-{kind}")
                plain = LBPFeatures.from_setting(setting)
                t_plain, expected = _timed(plain.fit_transform, X)
                cold = LBPFeatures.from_setting(setting, cache=cache_dir)
                t_cold, first = _timed(cold.fit_transform, X)
                warm_times = []
                for _ in range(repeats):
                    warm = clone(cold)
                    t_warm, second = _timed(warm.fit_transform, X)
                    warm_times.append(t_warm)
                    assert warm._last_extraction["n_computed"] == 0
                np.testing.assert_array_equal(first, expected)
                np.testing.assert_array_equal(second, expected)
                t_warm = statistics.median(warm_times)
                info = EmbeddingCache(cache_dir).info()
                rows.append({
                    "setting": setting,
                    "input": kind,
                    "n_images": len(X),
                    "n_features": cold.n_features_out_,
                    "uncached_s": round(t_plain, 3),
                    "cold_s": round(t_cold, 3),
                    "warm_s": round(t_warm, 4),
                    "cold_over_warm": round(t_cold / t_warm, 1),
                    "uncached_over_warm": round(t_plain / t_warm, 1),
                    "warm_ms_per_image": round(1e3 * t_warm / len(X), 3),
                    "cache_mb": round(info.attrs["file_bytes"] / 2**20, 1),
                })
    _print_table(f"LBP cache: make_grimace_faces ({len(images)} images, "
                 f"{images.shape[1]} px -> 224), warm = median of {repeats}", rows)
    return rows


def make_photographs(folder, n_images, width, height, seed=0):
    """JPEG files (quality 90) of random 4:3 crops of the skimage.data pictures."""
    from skimage import data

    sources = [data.astronaut(), data.coffee(), data.chelsea(), data.rocket(),
               np.stack([data.camera()] * 3, axis=-1), data.immunohistochemistry()]
    rng = np.random.default_rng(seed)
    paths = []
    for i in range(n_images):
        src = sources[i % len(sources)]
        h, w = src.shape[:2]
        ch = int(rng.uniform(0.6, 1.0) * min(h, w * 3 / 4))
        cw = ch * 4 // 3
        top, left = rng.integers(0, h - ch + 1), rng.integers(0, w - cw + 1)
        crop = src[top:top + ch, left:left + cw]
        if rng.random() < 0.5:
            crop = crop[:, ::-1]
        img = Image.fromarray(np.ascontiguousarray(crop)).resize((width, height),
                                                                 Image.Resampling.LANCZOS)
        path = os.path.join(folder, f"photo_{width}x{height}_{i:04d}.jpg")
        img.save(path, quality=90)
        paths.append(path)
    return np.asarray(paths, dtype=object)


def skimage_loop(paths, radius, grid, n_bins=59, size=224):
    """The loop a user would write: Pillow, scikit-image, one bincount per cell."""
    out = []
    for p in paths:
        with Image.open(p) as img:
            grey = np.asarray(img.convert("L").resize((size, size), Image.Resampling.BILINEAR))
        codes = local_binary_pattern(grey, 8, radius, "nri_uniform").astype(np.intp)
        hist = []
        for band in np.array_split(codes, grid, axis=0):
            for cell in np.array_split(band, grid, axis=1):
                hist.append(np.bincount(cell.ravel(), minlength=n_bins) / cell.size)
        out.append(np.concatenate(hist))
    return np.asarray(out)


def _check_codes(paths, radius):
    """The vectorised codes of every decoded image equal scikit-image's."""
    for p in paths:
        for draft in (False, True):
            grey = load_image(p, mode="L", size=224, draft=draft)
            expected = local_binary_pattern(grey, 8, radius, "nri_uniform")
            np.testing.assert_array_equal(lbp_codes(grey, 8, radius, "nri_uniform"), expected)


def _codes_rows(paths, repeats):
    """The codes alone on 224x224 grey images: scikit-image against the vectorised codes."""
    grey = [load_image(p, mode="L", size=224) for p in paths]
    rows = []
    for radius in (1, 3):
        funcs = {"skimage": local_binary_pattern, "vectorised": lbp_codes}
        times = {k: [] for k in funcs}
        for _ in range(repeats):
            for key, func in funcs.items():
                t, _ = _timed(lambda f=func, r=radius: [f(g, 8, r, "nri_uniform") for g in grey])
                times[key].append(t)
        med = {k: statistics.median(v) for k, v in times.items()}
        rows.append({
            "codes": f"R{radius}P8 nri_uniform 224x224",
            "skimage_img_s": round(len(grey) / med["skimage"], 1),
            "vectorised_img_s": round(len(grey) / med["vectorised"], 1),
            "x_vectorised": round(statistics.median(
                a / b for a, b in zip(times["skimage"], times["vectorised"])), 2),
        })
    return rows


def bench_jpeg(n_images, repeats, sizes, settings):
    """JPEG files to histograms, one core: the scikit-image loop against LBPFeatures."""
    load_start = os.getloadavg()
    rows = []
    with tempfile.TemporaryDirectory(prefix="skanimal-bench-lbp-jpeg-") as folder:
        for size in sizes:
            width, height = map(int, size.split("x"))
            paths = make_photographs(folder, n_images, width, height)
            for setting in settings:
                radius, grid = LBP_SETTINGS[setting]["radius"], LBP_SETTINGS[setting]["grid"][0]
                _check_codes(paths[:10], radius)
                est = {
                    "lbp": LBPFeatures.from_setting(setting, n_jobs=1),
                    "lbp_draft": LBPFeatures.from_setting(setting, n_jobs=1, draft=True),
                    "lbp_n_jobs2": LBPFeatures.from_setting(setting, n_jobs=2),
                    "lbp_draft_n_jobs2": LBPFeatures.from_setting(setting, n_jobs=2, draft=True),
                }
                variants = {"skimage_loop": lambda p=paths, r=radius, g=grid: skimage_loop(p, r, g)}
                for key, lbp in est.items():
                    lbp.fit(paths)
                    variants[key] = lambda lbp=lbp, p=paths: lbp.transform(p)
                outputs = {k: f() for k, f in variants.items()}  # untimed: page cache
                times = {k: [] for k in variants}
                for _ in range(repeats):
                    for key, func in variants.items():
                        seconds, outputs[key] = _timed(func)
                        times[key].append(seconds)
                np.testing.assert_array_equal(outputs["lbp"], outputs["skimage_loop"])
                np.testing.assert_array_equal(outputs["lbp_n_jobs2"], outputs["lbp"])
                np.testing.assert_array_equal(outputs["lbp_draft_n_jobs2"], outputs["lbp_draft"])
                med = {k: statistics.median(v) for k, v in times.items()}
                row = {"jpeg": size, "setting": setting}
                row.update({f"{k}_img_s": round(n_images / med[k], 1) for k in variants})
                for key in est:
                    row[f"x_{key}"] = round(statistics.median(
                        a / b for a, b in zip(times["skimage_loop"], times[key])), 2)
                diff = np.abs(outputs["lbp_draft"] - outputs["lbp"])
                row["draft_cell_l1"] = round(float(diff.reshape(n_images, grid * grid, -1)
                                                   .sum(axis=2).mean()), 3)
                rows.append(row)
                print(row, flush=True)
        codes = _codes_rows(paths[:50], repeats)
    _print_table(f"LBP from JPEG files to histograms: {n_images} photographs per size, "
                 f"224x224, nri_uniform, one core (n_jobs=1) unless n_jobs2, "
                 f"median of {repeats} interleaved repeats", rows)
    _print_table("LBP codes alone (one core)", codes)
    return {"rows": rows, "codes": codes,
            "meta": {"n_images": n_images, "repeats": repeats,
                     "omp_num_threads": os.environ.get("OMP_NUM_THREADS"),
                     "load_average_start": load_start, "load_average_end": os.getloadavg()}}


def _print_table(title, rows):
    header = list(rows[0])
    widths = [max(len(h), *(len(str(r[h])) for r in rows)) for h in header]
    print(title)
    print("  ".join(h.rjust(w) for h, w in zip(header, widths)))
    for r in rows:
        print("  ".join(str(r[h]).rjust(w) for h, w in zip(header, widths)))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n-images", type=int, default=200)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--image-size", type=int, default=224,
                        help="size of the generated images (they are resized to 224)")
    parser.add_argument("--grids", type=int, nargs="+", default=[4, 8, 16])
    parser.add_argument("--only", nargs="+", choices=["hist", "cache", "jpeg"],
                        default=["hist", "cache", "jpeg"])
    parser.add_argument("--cache-settings", nargs="+", default=["R1P8-4x4", "R3P8-16x16"])
    parser.add_argument("--cache-n-images", type=int, default=0,
                        help="images of the built-in dataset for the cache part; 0: all")
    parser.add_argument("--jpeg-n-images", type=int, default=100,
                        help="JPEG photographs per size for the jpeg part")
    parser.add_argument("--jpeg-sizes", nargs="+", default=["640x480", "1280x960"])
    parser.add_argument("--jpeg-settings", nargs="+", default=["R1P8-8x8", "R3P8-8x8"])
    args = parser.parse_args(argv)

    results = {}
    if "jpeg" in args.only:
        results["jpeg"] = bench_jpeg(args.jpeg_n_images, args.repeats, args.jpeg_sizes,
                                     args.jpeg_settings)
    if "cache" in args.only:
        results["cache"] = bench_cache(args.cache_settings, args.repeats,
                                       args.cache_n_images)
    if "hist" not in args.only:
        _merge_json(results)
        return results
    images, source = make_images(args.n_images, args.image_size)
    rows = []
    with tempfile.TemporaryDirectory(prefix="skanimal-bench-lbp-") as folder:
        paths = []
        for i, img in enumerate(images):
            path = os.path.join(folder, f"face_{i:04d}.png")
            Image.fromarray(img).save(path)
            paths.append(path)
        paths = np.asarray(paths, dtype=object)
        # Precomputed LBP maps for the histogram-only comparison.
        grey = [load_image(p, mode="L", size=224) for p in paths[:50]]
        t_map, maps = _timed(lambda: [local_binary_pattern(g, 8, 1, "nri_uniform") for g in grey])

        for grid in args.grids:
            lbp1 = LBPFeatures(grid=grid, n_jobs=1).fit(paths)
            lbp2 = LBPFeatures(grid=grid, n_jobs=2).fit(paths)
            variants = {
                "naive": lambda grid=grid: naive_transform(paths, grid, 224),
                "lbp_n_jobs1": lambda lbp=lbp1: lbp.transform(paths),
                "lbp_n_jobs2": lambda lbp=lbp2: lbp.transform(paths),
            }
            times = {k: [] for k in variants}
            outputs = {}
            for _ in range(args.repeats):
                for key, func in variants.items():
                    seconds, outputs[key] = _timed(func)
                    times[key].append(seconds)
            for key in ("lbp_n_jobs1", "lbp_n_jobs2"):
                np.testing.assert_allclose(outputs[key], outputs["naive"], rtol=0, atol=1e-15)
            hist_naive, _ = _timed(
                lambda g: [naive_histograms(m, g, 59) for m in maps], grid
            )
            hist_fast, _ = _timed(
                lambda g: [_cell_histograms(m, (g, g), 59, True) for m in maps], grid
            )
            med = {k: statistics.median(v) for k, v in times.items()}
            rows.append({
                "grid": f"{grid}x{grid}",
                "n_features": lbp1.n_features_out_,
                "naive_img_s": round(args.n_images / med["naive"], 1),
                "lbp_n_jobs1_img_s": round(args.n_images / med["lbp_n_jobs1"], 1),
                "lbp_n_jobs2_img_s": round(args.n_images / med["lbp_n_jobs2"], 1),
                "speedup_n_jobs1": round(med["naive"] / med["lbp_n_jobs1"], 2),
                "speedup_n_jobs2": round(med["naive"] / med["lbp_n_jobs2"], 2),
                "hist_naive_ms": round(1e3 * hist_naive / len(maps), 3),
                "hist_bincount_ms": round(1e3 * hist_fast / len(maps), 3),
            })

    header = list(rows[0])
    widths = [max(len(h), *(len(str(r[h])) for r in rows)) for h in header]
    print(f"LBP benchmark: {args.n_images} PNG images ({source}, {args.image_size}px -> "
          f"224px grey), P=8 R=1 nri_uniform, median of {args.repeats}; "
          f"LBP map alone {1e3 * t_map / len(grey):.2f} ms/image")
    print("  ".join(h.rjust(w) for h, w in zip(header, widths)))
    for r in rows:
        print("  ".join(str(r[h]).rjust(w) for h, w in zip(header, widths)))

    meta = {
        "n_images": args.n_images,
        "repeats": args.repeats,
        "image_source": source,
        "source_size": args.image_size,
        "lbp_map_ms_per_image": round(1e3 * t_map / len(grey), 3),
        "cpu_count": os.cpu_count(),
        "machine": platform.machine(),
        "python": platform.python_version(),
    }
    _merge_json({"meta": meta, "rows": rows, **results})
    with tempfile.SpooledTemporaryFile(mode="w+", newline="") as buf:
        writer = csv.DictWriter(buf, fieldnames=header)
        writer.writeheader()
        writer.writerows(rows)
        buf.seek(0)
        write_atomic(RESULTS / "bench_lbp.csv", buf.read())
    print(f"written to {RESULTS / 'bench_lbp.json'} and .csv")
    return {"rows": rows, **results}


def _merge_json(update):
    """Update the entries of bench_lbp.json that this run measured."""
    path = RESULTS / "bench_lbp.json"
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        data = {}
    data.update(update)
    write_atomic(path, json.dumps(data, indent=2) + "\n")


if __name__ == "__main__":
    main()

"""Benchmark DeepFeatures: cold throughput, the cache, cross-validation, memory.

Usage::

    python benchmarks/bench_deep_features.py [--n-images 200] [--backbones resnet18 ...]
        [--size 640x480] [--cold-variants w0 w1 draft] [--n-jobs-images 64]
        [--batch-size 16] [--repeats 1] [--n-warm 200] [--cv-backbone resnet18]
        [--cv-samples 0] [--n-memory 500 2000] [--only cold warm cv memory]

The four benchmarks of issue 3, each a section of the printed table and of
``benchmarks/results/bench_deep_features.json``. Backbones use random weights
(``weights=None``): the timing of a network does not depend on its weights.

1. **cold** -- ``--n-images`` JPEG files (``--size``, 640x480 by default;
   1280x960 for camera photographs; cut from scikit-image's sample
   photographs) embedded by ``DeepFeatures(cache=False)`` in each of
   ``--cold-variants`` (``w0``/``w1``: ``num_workers`` 0 and 1; ``draft``:
   ``draft=True``; ``*_noprefetch``: ``num_workers=0`` without the one-thread
   read-ahead), against the loop a user would write: ``PIL`` open + RGB,
   ``timm.data.create_transform(**data_config)``, batches of the same size
   through the same network under ``torch.inference_mode()``. Model building
   is timed in both. Variants are interleaved, ``--repeats`` times; the
   median is kept and the outputs are compared (``draft``: the cosine
   similarity of its embeddings to the plain loop's and the mean absolute
   difference of the network's input pixels, in grey levels). Then a row of
   ``n_jobs=2`` against ``n_jobs=1`` on ``--n-jobs-images`` of the same files
   (``--n-jobs-backbone``): its first call starts the worker pool and builds
   a network in each worker, the second reuses them.
2. **warm** -- resnet50 on ``--n-warm`` JPEG files into an empty cache
   (cold), then a clone on the same files (warm; the network must never be
   built), once with the in-process memo of file digests and once with it
   cleared (a new session re-hashes every file).
3. **cv** -- ``cross_validate(make_pipeline(DeepFeatures, LogisticRegression),
   groups=subject, cv=LeaveOneGroupOut())`` on the built-in dataset
   (:func:`skanimal.datasets.make_grimace_faces`, 6 subjects) with a fresh
   cache; network forward passes are counted with a forward hook and compared
   with the number of distinct images, and the total time with one cold
   extraction of the same images.
4. **memory** -- peak resident memory (Linux ``VmHWM``, reset through
   ``/proc/self/clear_refs`` once the network is built and warm) of a fresh
   process extracting ``N`` images for each ``N`` of ``--n-memory`` (the JPEG
   files, repeated; ``cache=False`` so that every one is decoded and
   embedded), against its resident memory just before. Streamed batches keep
   the growth flat in ``N``; holding every decoded image would cost
   ``all_decoded_would_be_mb``.
"""

# Authors: the skanimal developers
# SPDX-License-Identifier: BSD-3-Clause

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import RESULTS, finish, run_meta  # noqa: E402  (house helpers)
from _common import print_rows as _print_rows  # noqa: E402


def make_jpegs(folder, n, seed=0, size=(480, 640)):
    """``n`` JPEG photographs of ``size`` (height, width): crops of skimage's samples + noise."""
    from skimage import data
    from skimage.transform import resize

    sources = [data.chelsea(), data.coffee(), data.astronaut(), data.rocket()]
    rng = np.random.default_rng(seed)
    paths = []
    for i in range(n):
        src = sources[i % len(sources)]
        h, w = src.shape[:2]
        ch, cw = int(h * rng.uniform(0.6, 1.0)), int(w * rng.uniform(0.6, 1.0))
        y0, x0 = rng.integers(0, h - ch + 1), rng.integers(0, w - cw + 1)
        crop = resize(src[y0:y0 + ch, x0:x0 + cw], size, anti_aliasing=False)
        crop = np.clip(crop * 255 + rng.normal(0, 4, crop.shape), 0, 255).astype(np.uint8)
        path = os.path.join(folder, f"img_{i:05d}.jpg")
        Image.fromarray(crop).save(path, quality=90)
        paths.append(path)
    return np.asarray(paths, dtype=object)


def _quiet():
    warnings.filterwarnings("ignore", message="Backbone .* random weights")


def plain_loop(backbone, paths, batch_size):
    """The extraction loop a user would write with timm and PIL."""
    import timm
    import torch

    from skanimal.features import load_backbone, resolve_backbone

    model, _, config = load_backbone(resolve_backbone(backbone), weights=None)
    model.eval()
    transform = timm.data.create_transform(**config, is_training=False)
    out = []
    with torch.inference_mode():
        for start in range(0, len(paths), batch_size):
            batch = torch.stack([
                transform(Image.open(p).convert("RGB")) for p in paths[start:start + batch_size]
            ])
            out.append(model.forward_head(model.forward_features(batch), pre_logits=True))
    return torch.cat(out).numpy()


def _timed(func):
    start = time.perf_counter()
    result = func()
    return time.perf_counter() - start, result


# --------------------------------------------------------------------------- 1


_COLD_VARIANTS = {  # name -> DeepFeatures parameters
    "w0": dict(num_workers=0),
    "w1": dict(num_workers=1),
    "draft": dict(num_workers=0, draft=True),
    # num_workers=0 without the one-thread prefetch of the next batch
    "w0_noprefetch": dict(num_workers=0),
    "draft_noprefetch": dict(num_workers=0, draft=True),
}


def _transform_cold(deep, paths, prefetch=True):
    """A fresh clone fitted and run: the network is built inside the timing."""
    from skanimal.features import _deep

    saved, _deep._PREFETCH = _deep._PREFETCH, prefetch
    try:
        return deep.__class__(**deep.get_params()).fit(paths).transform(paths)
    finally:
        _deep._PREFETCH = saved


def _cosine(a, b):
    a = a / np.linalg.norm(a, axis=1, keepdims=True)
    b = b / np.linalg.norm(b, axis=1, keepdims=True)
    return (a * b).sum(axis=1)


def pixel_difference(deep, paths):
    """Mean and max absolute difference (grey levels) of the network inputs, draft vs full."""
    from skanimal.utils._torch import ImageDataset, timm_eval_transform

    cfg = deep.data_config_
    full = ImageDataset(paths, transform=timm_eval_transform(cfg))
    draft = full.with_transform(full.transform)
    draft.draft = deep._draft_request()
    std = np.asarray(cfg["std"], dtype=np.float32)[:, None, None] * 255
    diffs = [np.abs((full[i][0].numpy() - draft[i][0].numpy()) * std) for i in range(len(paths))]
    return float(np.mean([d.mean() for d in diffs])), float(max(d.max() for d in diffs))


def bench_cold(paths, backbones, batch_size, repeats, variants=("w0", "w1", "draft")):
    from skanimal.features import DeepFeatures

    rows = []
    for backbone in backbones:
        funcs = {
            "plain": lambda b=backbone: plain_loop(b, paths, batch_size),
        }
        fitted = {}
        for name in variants:
            deep = DeepFeatures(backbone, weights=None, cache=False, verbose=0,
                                batch_size=batch_size, **_COLD_VARIANTS[name]).fit(paths)
            fitted[name] = deep
            prefetch = not name.endswith("noprefetch")
            funcs[name] = lambda d=deep, pf=prefetch: _transform_cold(d, paths, pf)
        times = {k: [] for k in funcs}
        outputs = {}
        for _ in range(repeats):  # interleaved: the machine's load hits every variant
            for key, func in funcs.items():
                seconds, outputs[key] = _timed(func)
                times[key].append(seconds)
        med = {k: statistics.median(v) for k, v in times.items()}
        n = len(paths)
        row = {
            "backbone": backbone,
            "n_images": n,
            "image_size": "x".join(map(str, Image.open(paths[0]).size)),
            "batch_size": batch_size,
            "plain_img_s": round(n / med["plain"], 1),
        }
        for name in variants:
            row[f"{name}_img_s"] = round(n / med[name], 1)
            row[f"ratio_{name}"] = round(med["plain"] / med[name], 3)
        exact = [k for k in variants if not k.startswith("draft")]
        if exact:
            row["max_abs_diff_vs_plain"] = max(
                float(np.abs(outputs[k] - outputs["plain"]).max()) for k in exact)
        row["max_abs_value"] = float(np.abs(outputs["plain"]).max())
        if "draft" in variants:
            row["draft_min_cosine"] = round(float(_cosine(outputs["draft"],
                                                          outputs["plain"]).min()), 8)
            row["draft_max_abs_diff"] = float(np.abs(outputs["draft"] - outputs["plain"]).max())
            mean_px, max_px = pixel_difference(fitted["draft"], paths[:16])
            row["draft_mean_abs_px"] = round(mean_px, 3)
            row["draft_max_abs_px"] = round(max_px, 1)
            row["draft_decode"] = "x".join(map(str, fitted["draft"]._draft_request()[1]))
        rows.append(row)
        _print_rows(f"cold extraction ({backbone})", rows[-1:])
    return rows


def bench_n_jobs(paths, backbone, batch_size, n_jobs=2):
    """n_jobs=1 against n_jobs workers: the first call starts the pool and builds."""
    from skanimal.features import DeepFeatures

    one = DeepFeatures(backbone, weights=None, cache=False, verbose=0, batch_size=batch_size)
    many = one.__class__(**{**one.get_params(), "n_jobs": n_jobs})
    t_one, ref = _timed(lambda: one.__class__(**one.get_params()).fit(paths).transform(paths))
    t_first, first = _timed(lambda: many.fit(paths).transform(paths))
    t_second, second = _timed(lambda: many.transform(paths))  # warm workers, memoised network
    n = len(paths)
    row = {
        "backbone": backbone,
        "n_images": n,
        "n_jobs": n_jobs,
        "n_jobs1_img_s": round(n / t_one, 1),
        "first_call_img_s": round(n / t_first, 1),
        "warm_workers_img_s": round(n / t_second, 1),
        "ratio_warm_vs_1": round(t_one / t_second, 3),
        "max_abs_diff_vs_1": float(max(np.abs(first - ref).max(), np.abs(second - ref).max())),
    }
    _print_rows(f"n_jobs={n_jobs} ({backbone})", [row])
    return [row]


# --------------------------------------------------------------------------- 2


class _BuildCounter:
    """Subclass factory counting network builds and images forwarded."""

    @staticmethod
    def make():
        from skanimal.features import DeepFeatures

        class Counted(DeepFeatures):
            builds = []
            forwarded = []

            def _load_model(self):
                model = super()._load_model()
                first = next(m for m in model.modules() if len(list(m.children())) == 0)
                first.register_forward_hook(
                    lambda mod, args, out: type(self).forwarded.append(int(args[0].shape[0])))
                type(self).builds.append(1)
                return model

        return Counted


def bench_warm(paths, batch_size, backbone="resnet50"):
    from skanimal.features import _cache

    Counted = _BuildCounter.make()
    with tempfile.TemporaryDirectory(prefix="skanimal-bench-cache-") as cache:
        cold = Counted(backbone, weights=None, cache=cache, verbose=0, batch_size=batch_size)
        t_cold, first = _timed(lambda: cold.fit_transform(paths))
        builds_cold = len(Counted.builds)
        warm = Counted(**cold.get_params())
        t_warm, second = _timed(lambda: warm.fit_transform(paths))
        _cache._KEY_MEMO.clear()  # a new session: every file is hashed again
        fresh = Counted(**cold.get_params())
        t_fresh, third = _timed(lambda: fresh.fit_transform(paths))
        builds_warm = len(Counted.builds) - builds_cold
        assert np.array_equal(first, second) and np.array_equal(first, third)
    row = {
        "backbone": backbone,
        "n_images": len(paths),
        "cold_s": round(t_cold, 3),
        "warm_s": round(t_warm, 4),
        "warm_rehash_s": round(t_fresh, 4),
        "speedup_warm": round(t_cold / t_warm, 1),
        "speedup_warm_rehash": round(t_cold / t_fresh, 1),
        "network_builds_cold": builds_cold,
        "network_builds_warm": builds_warm,
        "warm_model_is_none": warm._model is None and fresh._model is None,
    }
    _print_rows("warm vs cold", [row])
    return [row]


# --------------------------------------------------------------------------- 3


def bench_cv(backbone, n_samples, batch_size):
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import LeaveOneGroupOut, cross_validate
    from sklearn.pipeline import make_pipeline

    from skanimal.datasets import make_grimace_faces
    from skanimal.features import DeepFeatures, image_keys

    faces = make_grimace_faces(n_samples=n_samples or None, random_state=0)
    X, y, groups = faces.images, faces.target, faces.groups
    distinct = len(set(image_keys(X)))
    t_cold, _ = _timed(lambda: DeepFeatures(backbone, weights=None, cache=False, verbose=0,
                                            batch_size=batch_size).fit_transform(X))
    Counted = _BuildCounter.make()
    with tempfile.TemporaryDirectory(prefix="skanimal-bench-cache-") as cache:
        pipe = make_pipeline(
            Counted(backbone, weights=None, cache=cache, verbose=0, batch_size=batch_size),
            LogisticRegression(max_iter=2000),
        )
        t_cv, res = _timed(lambda: cross_validate(pipe, X, y, groups=groups,
                                                  cv=LeaveOneGroupOut(), error_score="raise"))
    row = {
        "backbone": backbone,
        "n_images": len(X),
        "distinct_images": distinct,
        "n_subjects": len(np.unique(groups)),
        "forward_images": int(sum(Counted.forwarded)),
        "network_builds": len(Counted.builds),
        "cold_extraction_s": round(t_cold, 2),
        "cross_validate_s": round(t_cv, 2),
        "ratio_cv_to_cold": round(t_cv / t_cold, 3),
        "mean_accuracy": round(float(np.mean(res["test_score"])), 3),
    }
    _print_rows("leave-one-subject-out cross-validation", [row])
    return [row]


# --------------------------------------------------------------------------- 4

_MEMORY_CHILD = r"""
import json, resource, sys, time, warnings
import numpy as np
warnings.filterwarnings("ignore", message="Backbone .* random weights")
from skanimal.features import DeepFeatures


def status_kb(field):
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith(field + ":"):
                return int(line.split()[1])


paths = np.asarray(json.loads(sys.argv[1]), dtype=object)
n, backbone = int(sys.argv[2]), sys.argv[3]
image_size, batch_size = int(sys.argv[4]), int(sys.argv[5])
X = np.resize(paths, n)
deep = DeepFeatures(backbone, weights=None, cache=False, verbose=0, batch_size=batch_size,
                    image_size=image_size).fit(X)
deep.transform(X[:2 * batch_size])  # network built, allocator warm: what remains is streaming
before = status_kb("VmRSS")
with open("/proc/self/clear_refs", "w") as fh:  # reset the peak (VmHWM) to the current RSS
    fh.write("5")
t = time.perf_counter()
out = deep.transform(X)
seconds = time.perf_counter() - t
peak = status_kb("VmHWM")
print(json.dumps({"n": n, "before_kb": before, "after_kb": peak, "seconds": seconds,
                  "out_bytes": int(out.nbytes)}))
"""


def bench_memory(paths, ns, backbone, image_size, batch_size):
    rows = []
    for n in ns:
        proc = subprocess.run(
            [sys.executable, "-c", _MEMORY_CHILD, json.dumps(list(paths)), str(n), backbone,
             str(image_size), str(batch_size)],
            capture_output=True, text=True, check=True,
        )
        r = json.loads(proc.stdout.strip().splitlines()[-1])
        decoded_mb = n * 480 * 640 * 3 / 2**20
        rows.append({
            "backbone": backbone,
            "image_size": image_size,
            "n_images": n,
            "rss_before_mb": round(r["before_kb"] / 1024, 1),
            "peak_rss_mb": round(r["after_kb"] / 1024, 1),
            "growth_mb": round((r["after_kb"] - r["before_kb"]) / 1024, 1),
            "output_mb": round(r["out_bytes"] / 2**20, 2),
            "all_decoded_would_be_mb": round(decoded_mb, 1),
            "img_s": round(n / r["seconds"], 1),
        })
    _print_rows("peak memory (fresh process per row)", rows)
    return rows


# --------------------------------------------------------------------------- main


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n-images", type=int, default=200, help="JPEGs for the cold run")
    parser.add_argument("--backbones", nargs="+",
                        default=["resnet18", "resnet50", "vit_small_patch16"])
    parser.add_argument("--size", default="640x480",
                        help="width x height of the cold run's JPEGs (camera: 1280x960)")
    parser.add_argument("--cold-variants", nargs="+", choices=sorted(_COLD_VARIANTS),
                        default=["w0", "w1", "draft"])
    parser.add_argument("--n-jobs-images", type=int, default=64,
                        help="JPEGs of the n_jobs=2 row (0: none)")
    parser.add_argument("--n-jobs-backbone", default="resnet18")
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--repeats", type=int, default=1)
    parser.add_argument("--n-warm", type=int, default=200, help="JPEGs for warm vs cold")
    parser.add_argument("--cv-backbone", default="resnet18")
    parser.add_argument("--cv-samples", type=int, default=0,
                        help="images of the built-in dataset (0: all 1,138)")
    parser.add_argument("--n-memory", type=int, nargs="+", default=[500, 2000])
    parser.add_argument("--memory-backbone", default="test_resnet")
    parser.add_argument("--memory-image-size", type=int, default=224)
    parser.add_argument("--only", nargs="+", choices=["cold", "warm", "cv", "memory"],
                        default=["cold", "warm", "cv", "memory"])
    parser.add_argument("--output", default=str(RESULTS / "bench_deep_features.json"))
    args = parser.parse_args(argv)
    _quiet()

    import timm

    results = {"meta": run_meta(args, timm=timm.__version__)}
    t0 = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="skanimal-bench-deep-") as folder:
        n_files = max(args.n_images if "cold" in args.only else 0,
                      args.n_warm if "warm" in args.only else 0,
                      200 if "memory" in args.only else 0)
        paths = make_jpegs(folder, n_files) if n_files else None
        if "cold" in args.only:
            width, height = (int(v) for v in args.size.lower().split("x"))
            cold = paths
            if (width, height) != (640, 480):
                os.makedirs(os.path.join(folder, args.size))
                cold = make_jpegs(os.path.join(folder, args.size), args.n_images,
                                  size=(height, width))
            results["cold"] = bench_cold(cold[:args.n_images], args.backbones,
                                         args.batch_size, args.repeats, args.cold_variants)
            if args.n_jobs_images:
                results["n_jobs"] = bench_n_jobs(cold[:args.n_jobs_images],
                                                 args.n_jobs_backbone, args.batch_size)
        if "warm" in args.only:
            results["warm"] = bench_warm(paths[:args.n_warm], args.batch_size)
        if "cv" in args.only:
            results["cv"] = bench_cv(args.cv_backbone, args.cv_samples, args.batch_size)
        if "memory" in args.only:
            results["memory"] = bench_memory(paths[:200], args.n_memory, args.memory_backbone,
                                             args.memory_image_size, args.batch_size)
    return finish(results, args.output, t0)


if __name__ == "__main__":
    main()

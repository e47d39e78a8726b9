"""What every skanimal network shares: images in, subjects kept apart, seeds.

:class:`ImageNetMixin` is mixed into skorch's
:class:`~skorch.classifier.NeuralNetClassifier` /
:class:`~skorch.regressor.NeuralNetRegressor` subclasses (put it first in the
bases). It validates X with :func:`skanimal.utils.check_images`, keeps X as
a numpy array of paths or images, reads it through :class:`ImageDataset` with
the training transform on training batches only, routes ``groups`` to a
subject-wise internal validation split, resolves ``device="auto"``, seeds
training from ``random_state``, weights the loss or the sampler for class
imbalance, encodes class labels, and declares the image-input tags.
"""

# Authors: the skanimal developers
# SPDX-License-Identifier: BSD-3-Clause

import contextlib
import copy
import inspect
import numbers
import warnings

import numpy as np
import torch
from sklearn.base import ClassifierMixin, is_classifier
from sklearn.exceptions import NotFittedError
from sklearn.utils import check_random_state, compute_class_weight
from sklearn.utils._param_validation import (
    Interval,
    StrOptions,
    validate_parameter_constraints,
)
from torch.utils.data import Subset, WeightedRandomSampler

from ..base import ImageInputMixin
from ..utils import check_images
from ..utils._tensor_state import STATE_KEY, active_store, take_tensors
from ..utils._torch import (
    ImageDataset,
    precision_context,
    resolve_precision,
    torch_seed,
)
from ..utils._torch import resolve_device as _resolve_device
from ..utils._validation import _py
from ._data import GroupValidSplit, _dataset_targets, make_transforms

__all__ = ["ImageNetMixin", "resolve_device"]


def resolve_device(device="auto"):
    """The torch device string a ``device`` parameter means.

    The device rule of every skanimal estimator (the networks and
    :class:`~skanimal.features.DeepFeatures`), as a string for skorch.

    Parameters
    ----------
    device : str or torch.device or None, default="auto"
        ``"auto"`` picks ``"cuda"`` when available, then ``"mps"``, else
        ``"cpu"``. Any other device is checked and returned as a string
        (``None`` stays ``None``: skorch then leaves tensors where they are).

    Returns
    -------
    device : str or None
        The device, such as ``"cpu"`` or ``"cuda:1"``.

    Raises
    ------
    ValueError
        If ``device`` is not a torch device, or names CUDA or MPS on a machine
        without them.

    Examples
    --------
    >>> from skanimal.nets import resolve_device
    >>> resolve_device("cpu")
    'cpu'
    >>> resolve_device("auto") in {"cuda", "mps", "cpu"}
    True
    """
    device = _resolve_device(device)
    return None if device is None else str(device)


def _seed_from(random_state):
    if random_state is None:
        return None
    if isinstance(random_state, numbers.Integral):
        return int(random_state)
    return int(check_random_state(random_state).randint(np.iinfo(np.int32).max))


def _takes_groups(split):
    """Whether a train_split callable accepts a ``groups`` keyword."""
    if isinstance(split, GroupValidSplit):
        return True
    try:
        params = inspect.signature(split).parameters.values()
    except (TypeError, ValueError):  # a callable without a signature: try it
        return True
    return any(p.name == "groups" or p.kind is p.VAR_KEYWORD for p in params)


def mixin_parameter_docs(*names, indent=4):
    """The numpydoc entries of :class:`ImageNetMixin` parameters, for a subclass.

    Each subclass documents the mixin's parameters it takes with the mixin's
    own text (types and defaults included), so the two never disagree.
    """
    lines = ImageNetMixin.__doc__.split("\n")
    start = next(i for i, line in enumerate(lines) if line.strip() == "Parameters") + 2
    entries, current = {}, None
    for line in lines[start:]:
        if not line.strip() and current is None:
            continue
        if line.startswith("    ") and not line.startswith("     ") and " : " in line:
            current = line.strip().split(" : ")[0]
            entries[current] = [line.strip()]
        elif line.startswith("        ") and current is not None:
            entries[current].append(line.strip())
        else:
            break
    pad = " " * indent
    return "".join(
        f"{pad}{head}\n" + "".join(f"{pad}    {body}\n" for body in rest)
        for head, *rest in (entries[name] for name in names)
    ).rstrip("\n")


def _split_optimizer_state(state_dict):
    """An optimizer's state dict as ``(tensors, the rest)`` (tensors to safetensors)."""
    tensors, plain = {}, {}
    for index, entries in state_dict["state"].items():
        for name, value in entries.items():
            if torch.is_tensor(value):
                tensors[f"{index}.{name}"] = value
            else:
                plain.setdefault(str(index), {})[name] = value
    return tensors, {"param_groups": copy.deepcopy(state_dict["param_groups"]), "plain": plain}


def _join_optimizer_state(tensors, rest):
    state = {}
    for full, value in tensors.items():
        index, _, name = full.partition(".")
        state.setdefault(int(index), {})[name] = value
    for index, entries in rest["plain"].items():
        state.setdefault(int(index), {}).update(entries)
    return {"state": state, "param_groups": copy.deepcopy(rest["param_groups"])}


def _unfitted_callbacks(callbacks):
    """The ``callbacks`` parameter with each callback cloned from its parameters."""
    from sklearn.base import clone

    out = []
    for item in callbacks:
        if isinstance(item, tuple) and len(item) == 2:
            out.append((item[0], clone(item[1], safe=False)))
        else:
            out.append(clone(item, safe=False))
    return type(callbacks)(out)


def _encoded_accuracy(net, X, y):
    """Validation accuracy on the encoded labels skorch sees inside ``fit``."""
    y = np.asarray(y).ravel()
    return float(np.mean(net.predict_proba(X).argmax(axis=1) == y))


class ImageNetMixin(ImageInputMixin):
    """Image input, subject-wise validation and reproducibility for skorch nets.

    Mix into a subclass of :class:`~skorch.classifier.NeuralNetClassifier` or
    :class:`~skorch.regressor.NeuralNetRegressor`, first in the bases::

        class MyNet(ImageNetMixin, NeuralNetClassifier): ...

    The subclass either passes a ``module`` as in skorch, or overrides
    :meth:`_build_module` to build it (it is called in ``initialize`` after
    the classes are known; ``self.n_outputs_`` holds the number of classes,
    or of regression targets). A module may return ``(logits, extras)``; the
    first output is used for predictions (skorch's convention) and
    ``get_loss`` receives the whole tuple as ``y_pred`` so that a subclass may
    add a term (the mixin's default applies the criterion to the first
    output). If the module has a ``data_config`` attribute (timm's data
    configuration, from :func:`skanimal.features.load_backbone`) its mean,
    std and interpolation are used by the transforms.

    Parameters
    ----------
    *args : tuple
        Passed on to the skorch net (``module``, ...).
    image_size : int, default=224
        The network's input size (square): the random crop in training, the
        resize in evaluation.
    train_resize : int or None, default=None
        Size training images are resized to before the random crop; ``None``
        means ``round(image_size * 256 / 224)`` (256 for 224).
    hflip : bool, default=True
        Random horizontal flips in training.
    class_weight : "balanced", dict or None, default=None
        Classifiers: weights of the classes in the cross-entropy.
        ``"balanced"`` computes them on the training part of each fit (after
        the internal validation split).
    sampler : "weighted" or None, default=None
        Classifiers: ``"weighted"`` draws training batches with a
        :class:`~torch.utils.data.WeightedRandomSampler` so that every class
        is drawn equally often on average.
    random_state : int, RandomState instance or None, default=None
        Seeds the weights of new layers, the shuffling, the augmentation and
        (when its own ``random_state`` is None) the internal validation split;
        on the CPU a fixed seed gives identical fits. The caller's global torch
        RNG state is left untouched.
    device : "auto", str or None, default="auto"
        ``"auto"`` is CUDA, then MPS, then the CPU (:func:`resolve_device`,
        the rule :class:`~skanimal.features.DeepFeatures` follows too); a
        device that does not exist here is an error in ``fit``.
    precision : {"auto", "fp32", "bf16"}, default="auto"
        Arithmetic of the forward pass. ``"auto"`` is bfloat16 mixed precision
        (:func:`torch.autocast`) on CUDA devices that support it, and float32
        elsewhere (CPU, MPS, CUDA without bfloat16); float16 is never chosen,
        so no loss scaling is needed. ``"bf16"`` forces autocast (on the CPU
        too, where it is usually slower); ``"fp32"`` on CUDA disables TF32 in
        the forward pass (the backward pass runs under PyTorch's global
        setting).
        The same rule as :class:`~skanimal.features.DeepFeatures`. Losses and
        outputs are float32 either way.
    **kwargs : dict
        Passed on to the skorch net (``criterion``, ``optimizer``,
        ``max_epochs``, ``callbacks``, prefixed parameters...).

    See Also
    --------
    FineTunedClassifier : A fine-tuned timm backbone built on this mixin.
    PainSeekerClassifier : PainSeeker, built on this mixin.

    Notes
    -----
    ``fit(X, y, groups=...)`` passes the subjects to the internal validation
    split (:class:`GroupValidSplit`) and nowhere else (not to the module's
    ``forward``). With scikit-learn's metadata routing enabled,
    ``net.set_fit_request(groups=True)`` lets
    ``cross_validate(net, X, y, params={"groups": g}, cv=GroupKFold())`` and
    ``GridSearchCV`` pass each training fold's subjects on.

    Examples
    --------
    >>> import numpy as np
    >>> from skorch import NeuralNetClassifier
    >>> from torch import nn
    >>> from skanimal.nets import ImageNetMixin
    >>> class TinyNet(ImageNetMixin, NeuralNetClassifier):
    ...     pass
    >>> module = nn.Sequential(nn.Flatten(), nn.Linear(3 * 16 * 16, 2))
    >>> net = TinyNet(module, image_size=16, train_resize=18, max_epochs=1,
    ...               batch_size=4, train_split=None, verbose=0, random_state=0)
    >>> X = np.random.default_rng(0).integers(0, 255, (8, 20, 20, 3), dtype=np.uint8)
    >>> net.fit(X, np.array([0, 1] * 4)).predict(X).shape
    (8,)
    """

    _mixin_parameter_constraints = {
        "image_size": [Interval(numbers.Integral, 1, None, closed="left")],
        "train_resize": [Interval(numbers.Integral, 1, None, closed="left"), None],
        "hflip": ["boolean"],
        "class_weight": [StrOptions({"balanced"}), dict, None],
        "sampler": [StrOptions({"weighted"}), None],
        "random_state": ["random_state"],
        "device": [str, torch.device, None],
        "precision": [StrOptions({"auto", "fp32", "bf16"})],
    }

    def __init__(self, *args, image_size=224, train_resize=None, hflip=True,
                 class_weight=None, sampler=None, random_state=None, device="auto",
                 precision="auto", **kwargs):
        self.precision = precision
        self.image_size = image_size
        self.train_resize = train_resize
        self.hflip = hflip
        if isinstance(self, ClassifierMixin):  # classifier-only parameters
            self.class_weight = class_weight
            self.sampler = sampler
        elif class_weight is not None or sampler is not None:
            raise TypeError(f"{type(self).__name__} is not a classifier: class_weight and "
                            "sampler do not apply.")
        self.random_state = random_state
        super().__init__(*args, device=device, **kwargs)

    # ------------------------------------------------------------------
    # tags and parameters
    # ------------------------------------------------------------------

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.three_d_array = True
        tags.input_tags.string = True
        tags.non_deterministic = False
        tags.requires_fit = True
        return tags

    @property
    def _default_callbacks(self):
        from skorch.callbacks import EpochScoring

        callbacks = list(super()._default_callbacks)
        for i, (name, _) in enumerate(callbacks):
            if name == "valid_acc":  # skorch scores on the encoded labels: compare codes
                callbacks[i] = (name, EpochScoring(_encoded_accuracy, name="valid_acc",
                                                   lower_is_better=False))
        return callbacks

    def _all_parameter_constraints(self):
        constraints = dict(self._mixin_parameter_constraints)
        constraints.update(getattr(self, "_parameter_constraints", {}) or {})
        return constraints

    def _validate_own_params(self):
        constraints = self._all_parameter_constraints()
        params = {k: getattr(self, k) for k in constraints if hasattr(self, k)}
        validate_parameter_constraints(constraints, params, caller_name=type(self).__name__)
        _resolve_device(self.device)  # a clear error for a device that is not here
        resize = self._train_resize()
        if resize < self.image_size:
            raise ValueError(f"train_resize={self.train_resize} is smaller than "
                             f"image_size={self.image_size}.")

    def _train_resize(self):
        if self.train_resize is not None:
            return int(self.train_resize)
        return int(round(self.image_size * 256 / 224))

    # ------------------------------------------------------------------
    # device and seeds
    # ------------------------------------------------------------------

    @contextlib.contextmanager
    def _concrete_device(self):
        """Within, ``self.device`` is the resolved device (skorch reads it directly)."""
        requested = self.device
        if not (isinstance(requested, str) and requested == "auto"):
            yield
            return
        self.device = resolve_device(requested)
        try:
            yield
        finally:
            self.device = requested

    def _seeded(self):
        """Seed torch (CPU and CUDA) from ``random_state``; the caller's state is kept."""
        return torch_seed(_seed_from(self.random_state), cuda=True)

    def get_metadata_routing(self):
        """Metadata routing: ``fit`` may request ``groups`` (for the internal split).

        Returns
        -------
        routing : MetadataRouter
        """
        from sklearn.utils.metadata_routing import MetadataRouter

        router = MetadataRouter(owner=type(self).__name__)
        router.add_self_request(self)
        return router

    # ------------------------------------------------------------------
    # saved models (skanimal.save_model / load_model)
    # ------------------------------------------------------------------

    # rebuilt by ``initialize`` when a model file is loaded, so not saved
    _REBUILT_ON_LOAD = ("callbacks_", "train_transform_", "eval_transform_",
                        "virtual_params_")

    def __getstate__(self):
        store = active_store()
        if store is None:
            return super().__getstate__()  # skorch's pickling
        # skanimal.save_model: a skops state without torch objects; the weights
        # of the modules (and criteria) go to the file's safetensors part.
        state = dict(self.__dict__)
        if not getattr(self, "initialized_", False):
            state[STATE_KEY] = ""
            return state
        weights, configs = {}, {}
        for name in list(self._modules) + list(self._criteria):
            obj = state.pop(name + "_", None)
            if obj is None:
                continue
            weights[name] = obj.state_dict()
            if getattr(obj, "data_config", None) is not None:
                configs[name] = dict(obj.data_config)
        optimizers = {}
        for name in self._optimizers:
            obj = state.pop(name + "_", None)
            if obj is not None:
                weights[name], optimizers[name] = _split_optimizer_state(obj.state_dict())
        for key in list(state):
            if key in self._REBUILT_ON_LOAD or any(
                    key.startswith(prefix) for prefix in self.cuda_dependent_attributes_):
                del state[key]  # optimizers and the like: rebuilt by initialize
        if isinstance(state.get("callbacks"), (list, tuple)):
            # callbacks hold torch state once initialised (an LRScheduler's
            # scheduler): save them as constructed, initialize rebuilds the rest
            state["callbacks"] = _unfitted_callbacks(state["callbacks"])
        state["_saved_data_configs"] = configs
        state["_saved_optimizer_states"] = optimizers
        state[STATE_KEY] = store.put(
            self, weights, backbone=getattr(self, "backbone", None),
            weights_id=getattr(self, "weights_id_", None),
            preprocessing=configs.get("module"), image_size=self.image_size)
        return state

    def _restore_saved_state(self, state):
        """``__setstate__`` for skanimal.load_model: rebuild the modules, load their weights."""
        key = state.pop(STATE_KEY, None)
        if key is None or "__cuda_dependent_attributes__" in state:
            # our own check: skorch's __setstate__ would unpickle these bytes,
            # which can run any code.
            raise ValueError(
                f"The saved state of a {type(self).__name__} holds pickled torch objects "
                f"(skorch's pickle state), which skanimal.load_model refuses: it only "
                f"loads nets saved by skanimal.save_model.")
        tensors = take_tensors(self, key) if key else {}
        configs = state.pop("_saved_data_configs", {})
        optimizers = state.pop("_saved_optimizer_states", {})
        if not key:  # an unfitted net
            self.__dict__.update(state)
            return
        # a copy: initialize clears history_ in place, and the state restores it
        self.__dict__.update(copy.deepcopy(state))
        self.initialized_ = False
        with torch_seed(0, cuda=True), warnings.catch_warnings():
            # the modules are built with random weights, then given the file's:
            # no hub and no weights file are needed
            warnings.simplefilter("ignore", UserWarning)
            if "weights" in state:
                self.weights = None
            self.initialize()
        self.__dict__.update(state)  # what initialize reset: history_, weights, weights_id_...
        device = _resolve_device(self.device) or torch.device("cpu")
        for name, rest in optimizers.items():  # so that further training resumes
            getattr(self, name + "_").load_state_dict(
                _join_optimizer_state(tensors.get(name, {}), rest))
        for name, state_dict in tensors.items():
            target = getattr(self, name + "_")
            if name in self._modules:
                target.load_state_dict(state_dict, strict=True)
            elif name not in optimizers:  # a criterion's buffers, such as class weights
                for attr, tensor in state_dict.items():
                    setattr(target, attr, tensor.to(device))
        for name, config in configs.items():
            getattr(self, name + "_").data_config = dict(config)
        self._make_transforms()

    def __setstate__(self, state):
        if STATE_KEY in state or active_store() is not None:
            self._restore_saved_state(state)
            return
        requested = state.get("device")
        if isinstance(requested, str) and requested == "auto":
            state["device"] = resolve_device("auto")
            super().__setstate__(state)
            self.device = requested
        else:
            super().__setstate__(state)

    # ------------------------------------------------------------------
    # initialisation
    # ------------------------------------------------------------------

    def initialize(self):
        """Initialise the net on the resolved device and build its transforms.

        Returns
        -------
        self : object
            The initialised net.
        """
        with self._concrete_device():
            super().initialize()
        self._make_transforms()
        return self

    def initialize_module(self):
        """Build the module with ``_build_module`` when the subclass defines it.

        Returns
        -------
        self : object
            The net, with ``module_`` set.
        """
        if type(self)._build_module is not ImageNetMixin._build_module:
            self.module_ = self._build_module()
            return self
        return super().initialize_module()

    def _build_module(self):
        """Build the torch module; override in subclasses that do not pass ``module``."""
        raise NotImplementedError

    def _make_transforms(self):
        module = getattr(self, "module_", None)
        config = getattr(module, "data_config", None)
        self.train_transform_, self.eval_transform_ = make_transforms(
            config, train_resize=self._train_resize(), crop=self.image_size, hflip=self.hflip,
        )

    # ------------------------------------------------------------------
    # data
    # ------------------------------------------------------------------

    def check_data(self, X, y=None):
        """Skip skorch's data check (``fit`` validates the images and labels).

        Parameters
        ----------
        X : array-like
            The images.
        y : array-like, default=None
            The targets.
        """
        # validated in fit/partial_fit; skorch's own check would overwrite classes
        pass

    def get_dataset(self, X, y=None):
        """Wrap image paths or an image array in an :class:`ImageDataset`.

        Parameters
        ----------
        X : array-like or torch.utils.data.Dataset
            Image paths or an image array; a dataset is returned as it is.
        y : array-like, default=None
            The encoded targets.

        Returns
        -------
        dataset : torch.utils.data.Dataset
            The dataset skorch iterates over.
        """
        if isinstance(X, torch.utils.data.Dataset):
            return X
        return ImageDataset(X, y)

    def _with_transform(self, dataset, transform):
        if isinstance(dataset, Subset):
            return Subset(self._with_transform(dataset.dataset, transform), dataset.indices)
        if isinstance(dataset, ImageDataset):
            return dataset.with_transform(transform)
        return dataset

    def get_iterator(self, dataset, training=False):
        """A data loader with the training or the evaluation transform.

        Parameters
        ----------
        dataset : torch.utils.data.Dataset
            The images (or a skorch ``Subset`` of them).
        training : bool, default=False
            Whether to apply the training transform (random crop, flip).

        Returns
        -------
        iterator : torch.utils.data.DataLoader
            Batches of transformed images.
        """
        if not hasattr(self, "train_transform_"):
            self._make_transforms()
        tf = self.train_transform_ if training else self.eval_transform_
        dataset = self._with_transform(dataset, tf)
        if not training:
            return super().get_iterator(dataset, training=False)
        kwargs = self.get_params_for("iterator_train")
        kwargs.setdefault("batch_size", self.batch_size)
        if kwargs["batch_size"] == -1:
            kwargs["batch_size"] = len(dataset)
        if getattr(self, "sampler", None) == "weighted" and "sampler" not in kwargs:
            y = _dataset_targets(dataset)
            _, inverse, counts = np.unique(np.asarray(y), return_inverse=True,
                                           return_counts=True)
            weights = torch.as_tensor(1.0 / counts[inverse], dtype=torch.double)
            kwargs["sampler"] = WeightedRandomSampler(weights, num_samples=len(weights),
                                                      replacement=True)
            kwargs.pop("shuffle", None)
        else:
            kwargs.setdefault("shuffle", True)
        if "drop_last" not in kwargs and len(dataset) > 1 and \
                len(dataset) % kwargs["batch_size"] == 1:
            # a last batch of one image breaks BatchNorm in training: drop it
            kwargs["drop_last"] = True
        return self.iterator_train(dataset, **kwargs)

    def get_split_datasets(self, X, y=None, **fit_params):
        """Split the training data, passing ``groups`` to a split that takes them.

        Parameters
        ----------
        X : array-like
            The images.
        y : array-like, default=None
            The encoded targets.
        **fit_params : dict
            The parameters of ``fit``.

        Returns
        -------
        dataset_train : torch.utils.data.Dataset
            The training part.
        dataset_valid : torch.utils.data.Dataset or None
            The validation part (None without a ``train_split``).
        """
        dataset = self.get_dataset(X, y)
        split = self.train_split
        if split:
            if (isinstance(split, GroupValidSplit) and split.random_state is None
                    and self.random_state is not None):
                split = copy.copy(split)
                split.random_state = _seed_from(self.random_state)
            groups = getattr(self, "_fit_groups_", None)
            if groups is not None:
                if _takes_groups(split):
                    fit_params = {**fit_params, "groups": groups}
                else:  # a split that takes no subjects cannot keep them apart
                    warnings.warn(
                        f"train_split={split!r} takes no groups, so the subjects passed to "
                        f"fit do not reach it: its validation split may put images of one "
                        f"subject on both sides, and the validation scores are optimistic. "
                        f"Use skanimal.nets.GroupValidSplit, or a split that takes groups=.",
                        UserWarning, stacklevel=2,
                    )
            dataset_train, dataset_valid = split(dataset, y, **fit_params)
        else:
            dataset_train, dataset_valid = dataset, None
        self._set_class_weights(dataset_train)
        return dataset_train, dataset_valid

    def _set_class_weights(self, dataset_train):
        if getattr(self, "class_weight", None) is None:
            return
        criterion = getattr(self, "criterion_", None)
        if criterion is None or not hasattr(criterion, "weight"):
            raise TypeError(f"class_weight needs a criterion with a 'weight' (such as "
                            f"CrossEntropyLoss), got {type(criterion).__name__}.")
        y_train = np.asarray(_dataset_targets(dataset_train)).ravel()
        n_classes = len(self.classes_)
        weights = np.ones(n_classes)
        present = np.unique(y_train)
        if self.class_weight == "balanced":
            weights[present] = compute_class_weight("balanced", classes=present, y=y_train)
        else:
            for label, w in self.class_weight.items():
                hit = np.flatnonzero(self.classes_ == label)
                if not len(hit):
                    raise ValueError(f"class_weight names class {_py(label)!r}, which is not "
                                     f"in the classes {self.classes_.tolist()}.")
                weights[hit[0]] = w
        device = _resolve_device(self.device)
        criterion.weight = torch.as_tensor(weights, dtype=torch.float32, device=device)
        self.class_weight_ = weights

    # ------------------------------------------------------------------
    # targets
    # ------------------------------------------------------------------

    def _prepare_y(self, y, n, *, first):
        if y is None:
            raise ValueError(f"{type(self).__name__} needs targets y; got y=None.")
        y = np.asarray(y)
        if len(y) != n:
            raise ValueError(f"X and y have different lengths: {n} images, {len(y)} targets.")
        if is_classifier(self):
            if y.ndim != 1:
                raise ValueError(f"y must be 1-D for a classifier, got shape {y.shape}.")
            if first:
                classes = np.unique(y) if self.classes is None else np.asarray(self.classes)
                if len(classes) < 2:
                    raise ValueError(f"{type(self).__name__} needs at least 2 classes in y, "
                                     f"got {len(classes)}: {classes.tolist()}.")
                if len(set(classes.tolist())) != len(classes):
                    raise ValueError(f"classes={classes.tolist()} names a class twice.")
                self.classes_inferred_ = classes
                self.n_outputs_ = len(classes)
            # a label's code is its position in classes_, in the order given
            codes = {c: i for i, c in enumerate(self.classes_.tolist())}
            enc = np.array([codes.get(v, -1) for v in y.tolist()], dtype=np.int64)
            if np.any(enc < 0):
                unknown = sorted({v for v, e in zip(y.tolist(), enc) if e < 0}, key=repr)
                raise ValueError(f"y holds labels {unknown} that are not among the classes "
                                 f"{self.classes_.tolist()}.")
            return enc
        y = y.astype(np.float32)
        if not np.all(np.isfinite(y)):
            raise ValueError("y contains NaN or infinite values.")
        if first:
            self.y_is_1d_ = y.ndim == 1
        y = y.reshape(n, -1)
        if first:
            self.n_outputs_ = y.shape[1]
        elif y.shape[1] != self.n_outputs_:
            raise ValueError(f"y has {y.shape[1]} outputs; the net was fitted with "
                             f"{self.n_outputs_}.")
        return y

    # ------------------------------------------------------------------
    # fitting
    # ------------------------------------------------------------------

    def fit(self, X, y, groups=None, **fit_params):
        """Initialise and train the network.

        Parameters
        ----------
        X : array-like of str of shape (n_samples,) or ndarray of shape \
                (n_samples, height, width[, channels])
            Image file paths, or images.
        y : array-like of shape (n_samples,)
            Class labels (classifiers) or target values (regressors).
        groups : array-like of shape (n_samples,), default=None
            The subject of each image, used only by the internal validation
            split so that no subject is on both sides.
        **fit_params : dict
            Passed on to skorch (and to the module's ``forward``).
            ``sample_weight`` is refused with a :class:`TypeError`: the
            networks' losses do not weight samples (for class imbalance use
            ``class_weight`` or ``sampler="weighted"``).

        Returns
        -------
        self : object
            The fitted network.
        """
        self._check_fit_params(fit_params)
        self._validate_own_params()
        if not self.warm_start or not getattr(self, "initialized_", False):
            X = check_images(X)
            y = self._prepare_y(y, len(X), first=True)
            with self._seeded():
                self.initialize()
                return self._partial_fit(X, y, groups, "fit", fit_params)
        return self.partial_fit(X, y, groups=groups, **fit_params)

    def partial_fit(self, X, y, classes=None, groups=None, **fit_params):
        """Continue training the network (initialising it if needed).

        Parameters
        ----------
        X : array-like of str of shape (n_samples,) or ndarray of shape \
                (n_samples, height, width[, channels])
            Image file paths, or images.
        y : array-like of shape (n_samples,)
            Class labels (classifiers) or target values (regressors).
        classes : array-like, default=None
            Unused: the classes are those of the first fit (or ``classes``).
        groups : array-like of shape (n_samples,), default=None
            The subject of each image, for the internal validation split.
        **fit_params : dict
            Passed on to skorch; ``sample_weight`` is refused, as in
            :meth:`fit`.

        Returns
        -------
        self : object
            The network.
        """
        self._check_fit_params(fit_params)
        self._validate_own_params()
        X = check_images(X)
        first = not getattr(self, "initialized_", False)
        y = self._prepare_y(y, len(X), first=first)
        with self._seeded():
            if first:
                self.initialize()
            return self._partial_fit(X, y, groups, "partial_fit", fit_params)

    def _check_fit_params(self, fit_params):
        if "sample_weight" in fit_params:
            name = type(self).__name__
            raise TypeError(
                f"{name}.fit does not take sample_weight: its loss does not weight samples, "
                f"and skorch would pass the weights to the module's forward. For class "
                f"imbalance use class_weight='balanced' or sampler='weighted'; to weight "
                f"images otherwise, resample them before the network. With metadata "
                f"routing, do not call {name}.set_fit_request(sample_weight=True)."
            )

    def _partial_fit(self, X, y, groups, routing_method, fit_params):
        if groups is not None:
            groups = np.asarray(groups)
            if groups.ndim != 1 or len(groups) != len(X):
                raise ValueError(f"groups must be 1-D with one entry per image: got shape "
                                 f"{groups.shape} for {len(X)} images.")
        self._fit_groups_ = groups
        try:
            with self._concrete_device():
                super().partial_fit(X, y, _routing_method=routing_method, **fit_params)
        finally:
            del self._fit_groups_
        return self

    # ------------------------------------------------------------------
    # prediction
    # ------------------------------------------------------------------

    def _check_fitted(self):
        if not getattr(self, "initialized_", False) or not hasattr(self, "n_outputs_"):
            raise NotFittedError(f"This {type(self).__name__} instance is not fitted yet. "
                                 "Call 'fit' with appropriate arguments first.")

    def __sklearn_is_fitted__(self):
        return bool(getattr(self, "initialized_", False)) and hasattr(self, "n_outputs_")

    def forward_iter(self, X, training=False, device="cpu"):
        """Yield the module's outputs batch by batch (on the resolved device).

        Parameters
        ----------
        X : array-like or torch.utils.data.Dataset
            The images.
        training : bool, default=False
            Whether the module runs in training mode.
        device : str, default="cpu"
            Where the outputs are moved.

        Yields
        ------
        y_infer : torch.Tensor or tuple of torch.Tensor
            The outputs of one batch.
        """
        self._check_fitted()
        if not isinstance(X, torch.utils.data.Dataset):
            X = check_images(X)
        with self._concrete_device():
            yield from super().forward_iter(X, training=training, device=device)

    def get_loss(self, y_pred, y_true, X=None, training=False):
        """The criterion on the first output of the module.

        Parameters
        ----------
        y_pred : torch.Tensor or tuple of torch.Tensor
            The module's output; of a ``(logits, extras)`` tuple the logits are
            scored.
        y_true : torch.Tensor
            The encoded targets.
        X : object, default=None
            The input batch.
        training : bool, default=False
            Whether the net is training.

        Returns
        -------
        loss : torch.Tensor
            The loss of the batch.
        """
        if isinstance(y_pred, (tuple, list)):
            y_pred = y_pred[0]
        with self._concrete_device():
            return super().get_loss(y_pred, y_true, X=X, training=training)

    def infer(self, x, **fit_params):
        """Run the module on one batch, under the precision rule.

        Parameters
        ----------
        x : torch.Tensor
            The batch of images.
        **fit_params : dict
            Passed on to the module (``groups`` is dropped).

        Returns
        -------
        y_infer : torch.Tensor or tuple of torch.Tensor
            The module's output.
        """
        fit_params.pop("groups", None)
        with self._concrete_device():
            device = _resolve_device(self.device) or torch.device("cpu")
            with precision_context(resolve_precision(self.precision, device), device):
                out = super().infer(x, **fit_params)
        # the loss and the probabilities are computed in float32
        if isinstance(out, (tuple, list)):
            return type(out)(o.float() if torch.is_tensor(o) else o for o in out)
        return out.float()

    def predict_proba(self, X):
        """Class probabilities of the images (classifiers).

        Parameters
        ----------
        X : array-like of str of shape (n_samples,) or ndarray of shape \
                (n_samples, height, width[, channels])
            Image file paths, or images.

        Returns
        -------
        proba : ndarray of shape (n_samples, n_classes)
        """
        self._check_fitted()
        return super().predict_proba(X)

    def predict(self, X):
        """Predicted class labels (classifiers) or values (regressors).

        Parameters
        ----------
        X : array-like of str of shape (n_samples,) or ndarray of shape \
                (n_samples, height, width[, channels])
            Image file paths, or images.

        Returns
        -------
        y_pred : ndarray of shape (n_samples,)
        """
        self._check_fitted()
        if is_classifier(self):
            return self.classes_[self.predict_proba(X).argmax(axis=1)]
        pred = super().predict(X)
        return pred.ravel() if getattr(self, "y_is_1d_", True) and pred.ndim == 2 and \
            pred.shape[1] == 1 else pred

    def score(self, X, y, sample_weight=None):
        """Accuracy (classifiers) or R^2 (regressors) on images X.

        Parameters
        ----------
        X : array-like of str of shape (n_samples,) or ndarray of shape \
                (n_samples, height, width[, channels])
            Image file paths, or images.
        y : array-like of shape (n_samples,)
            True labels or values.
        sample_weight : array-like of shape (n_samples,), default=None
            Sample weights.

        Returns
        -------
        score : float
        """
        from sklearn.metrics import accuracy_score, r2_score

        pred = self.predict(X)
        if is_classifier(self):
            return float(accuracy_score(y, pred, sample_weight=sample_weight))
        return float(r2_score(y, pred, sample_weight=sample_weight))

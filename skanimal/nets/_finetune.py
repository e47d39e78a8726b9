"""Fine-tuned timm backbones with a new head: classifier and regressor.

The PainSeeker paper's "ResNet-18" baseline (Liu et al., 2025) and Hosseini et
al.'s staged fine-tuning of a ResNet-18 for pain intensity
are both a pretrained backbone whose classifier is replaced by a new dense
layer, trained end to end or stage by stage. Both are named presets
(:data:`FINETUNE_PRESETS`, :meth:`FineTunedClassifier.from_preset`).
"""

# Authors: the skanimal developers
# SPDX-License-Identifier: BSD-3-Clause

import numbers

import numpy as np
import torch
from sklearn.utils._param_validation import Interval, StrOptions
from skorch import NeuralNetClassifier, NeuralNetRegressor
from skorch.callbacks import Callback, LRScheduler
from torch import nn

from ..features._backbones import load_backbone, resolve_backbone
from ..utils._docs import cite_papers
from ._base import ImageNetMixin, mixin_parameter_docs
from ._data import GroupValidSplit

__all__ = [
    "FINETUNE_PRESETS",
    "FineTunedClassifier",
    "FineTunedRegressor",
    "StagedUnfreezer",
    "backbone_stages",
]


class _FineTuneModule(nn.Module):
    """A timm backbone (pooled features) -> dropout -> a new linear head."""

    def __init__(self, backbone, data_config, n_outputs, dropout=0.0):
        super().__init__()
        self.backbone = backbone
        self.data_config = dict(data_config)
        self.dropout = nn.Dropout(dropout) if dropout else nn.Identity()
        self.head = nn.Linear(backbone.num_features, n_outputs)

    def forward(self, x):
        return self.head(self.dropout(self.backbone(x)))


def backbone_stages(module):
    """The parameter names of a fine-tuned network, in stages from the top down.

    Stage 0 is the new head; then the backbone's blocks from the last to the
    first, as timm's coarse ``group_matcher`` groups them (for a ResNet: the
    head, ``layer4``, ``layer3``, ``layer2``, ``layer1``, the stem).

    Parameters
    ----------
    module : torch.nn.Module
        A module with ``head`` and ``backbone`` (a timm model) children, as
        :class:`FineTunedClassifier` builds (``net.module_``).

    Returns
    -------
    stages : list of list of str
        Parameter names (as in ``module.named_parameters()``) per stage.

    Examples
    --------
    >>> import warnings
    >>> from skanimal.nets import FineTunedClassifier, backbone_stages
    >>> with warnings.catch_warnings():
    ...     warnings.simplefilter("ignore")
    ...     net = FineTunedClassifier("test_resnet", weights=None).initialize_for(2)
    >>> [stage[0] for stage in backbone_stages(net.module_)][:2]
    ['head.weight', 'backbone.layer4.0.conv1.weight']
    """
    from timm.models import group_parameters

    head = [f"head.{n}" for n, _ in module.head.named_parameters()]
    backbone = module.backbone
    groups = None
    if hasattr(backbone, "group_matcher"):
        try:
            grouped = group_parameters(backbone, backbone.group_matcher(coarse=True))
            groups = [names for _, names in sorted(grouped.items(), key=lambda kv: kv[0])]
        except Exception:  # noqa: BLE001 - architectures without a usable matcher
            groups = None
    if not groups:
        groups = []
        for name, child in backbone.named_children():
            names = [f"{name}.{n}" for n, _ in child.named_parameters()]
            if names:
                groups.append(names)
    stages = [head] + [[f"backbone.{n}" for n in g] for g in reversed(groups) if g]
    return stages


class StagedUnfreezer(Callback):
    """Callback for skorch: train the head first, then unfreeze blocks from the top down.

    At the start of every epoch ``e`` (counted over the net's whole history,
    so ``partial_fit`` continues the schedule) the stages whose start epoch is
    ``<= e`` have ``requires_grad`` True and the others False.

    Parameters
    ----------
    schedule : int or sequence of int, default=5
        An int ``k``: stage ``s`` (0 is the head) becomes trainable at epoch
        ``s * k``. A sequence: the start epoch of each stage in turn; stages
        beyond the sequence stay frozen.

    Attributes
    ----------
    trainable_ : list of int
        The number of trainable stages at each epoch seen so far.

    Examples
    --------
    >>> from skanimal.nets import StagedUnfreezer
    >>> StagedUnfreezer([0, 2, 3]).n_trainable(2, n_stages=6)
    2
    """

    def __init__(self, schedule=5):
        self.schedule = schedule

    def initialize(self):
        """Reset the record of trainable parameters.

        Returns
        -------
        self : StagedUnfreezer
            The callback.
        """
        self.trainable_ = []
        return self

    def n_trainable(self, epoch, n_stages):
        """How many stages (from the top) are trainable at an epoch.

        Parameters
        ----------
        epoch : int
            The 0-based epoch, counted over the net's whole history.
        n_stages : int
            The number of stages (the head counts as one).

        Returns
        -------
        n : int
            Stages trainable at ``epoch``, between 1 and ``n_stages``.
        """
        if isinstance(self.schedule, numbers.Integral):
            k = int(self.schedule)
            if k < 1:
                raise ValueError(f"unfreeze_schedule must be >= 1 epoch, got {k}.")
            return min(n_stages, 1 + epoch // k)
        starts = list(self.schedule)
        if any(b < a for a, b in zip(starts, starts[1:])):
            raise ValueError(f"unfreeze_schedule must be non-decreasing, got {starts}.")
        return min(n_stages, sum(1 for s in starts if s <= epoch))

    def on_epoch_begin(self, net, **kwargs):
        """Freeze or unfreeze the backbone stages for this epoch.

        Parameters
        ----------
        net : skorch.NeuralNet
            The net being trained.
        **kwargs : dict
            The other arguments skorch passes to callbacks.
        """
        epoch = len(net.history) - 1  # the row of this epoch exists already
        stages = backbone_stages(net.module_)
        k = self.n_trainable(epoch, len(stages))
        trainable = {n for stage in stages[:k] for n in stage}
        for name, param in net.module_.named_parameters():
            param.requires_grad_(name in trainable)
        self.trainable_.append(k)


FINETUNE_PRESETS = {
    "painseeker_resnet18": dict(
        backbone="resnet18", weights="pretrained", unfreeze="all",
        optimizer=torch.optim.Adam, lr=1e-4, optimizer__weight_decay=0.01,
        batch_size=64, image_size=224, train_resize=256, hflip=True,
    ),
    "hosseini2021": dict(
        backbone="resnet18", weights="pretrained", unfreeze="staged",
        optimizer=torch.optim.SGD, lr=4e-6, optimizer__momentum=0.8,
        optimizer__weight_decay=1e-4, max_epochs=180, image_size=224,
        callbacks=[("lr_scheduler", LRScheduler(
            policy="MultiStepLR", milestones=[60, 120], gamma=0.2))],
    ),
}
"""Named settings of the papers (Liu et al., 2025; Hosseini et al.).

``"painseeker_resnet18"``: the PainSeeker paper's ResNet-18 baseline, Adam,
lr 1e-4, weight decay 0.01, batch 64, resize 256 -> random 224 crop + flip,
all layers trained (the epoch count is not given: ``max_epochs`` stays the
estimator's). ``"hosseini2021"``: Hosseini et al.'s staged ("pipeline")
fine-tuning, SGD momentum 0.8, weight decay 1e-4, lr 4e-6 divided by 5 at
epochs 60 and 120, 180 epochs (epochs per stage are not given: ours, 5).
"""


class _FineTunedMixin(ImageNetMixin):
    """The backbone, head and freezing shared by the classifier and the regressor."""

    _parameter_constraints = {
        "backbone": [str],
        "weights": "no_validation",
        "unfreeze": [StrOptions({"all", "head", "staged"})],
        "unfreeze_schedule": [Interval(numbers.Integral, 1, None, closed="left"), list, tuple],
        "dropout": [Interval(numbers.Real, 0, 1, closed="left")],
        "model_kwargs": [dict, None],
    }

    @classmethod
    def from_preset(cls, name, **params):
        """An estimator with one of the papers' settings (:data:`FINETUNE_PRESETS`).

        Parameters
        ----------
        name : {"painseeker_resnet18", "hosseini2021"}
            The preset.
        **params : dict
            Parameters that override the preset's.

        Returns
        -------
        estimator : object
            A new, unfitted estimator.
        """
        try:
            preset = FINETUNE_PRESETS[name]
        except KeyError:
            raise ValueError(f"Unknown preset {name!r}; choose from "
                             f"{sorted(FINETUNE_PRESETS)}.") from None
        from sklearn.base import clone

        settings = {k: clone(v, safe=False) for k, v in preset.items()}
        settings.update(params)
        return cls(**settings)

    def _finetune_init(self, backbone, weights, unfreeze, unfreeze_schedule, dropout,
                       model_kwargs):
        self.backbone = backbone
        self.weights = weights
        self.unfreeze = unfreeze
        self.unfreeze_schedule = unfreeze_schedule
        self.dropout = dropout
        self.model_kwargs = model_kwargs

    def _build_module(self):
        spec = resolve_backbone(self.backbone)
        model, weights_id, config = load_backbone(spec, self.weights,
                                                  model_kwargs=self.model_kwargs)
        model.requires_grad_(True).train()
        self.weights_id_ = weights_id
        module = _FineTuneModule(model, config, self.n_outputs_, dropout=self.dropout)
        if self.unfreeze == "head":
            module.backbone.requires_grad_(False)
        elif self.unfreeze == "staged":
            stages = backbone_stages(module)
            keep = set(stages[0])
            for name, param in module.named_parameters():
                param.requires_grad_(name in keep)
        return module

    def initialize_callbacks(self):
        super().initialize_callbacks()
        if self.unfreeze == "staged":
            cb = StagedUnfreezer(self.unfreeze_schedule).initialize()
            self.callbacks_.append(("staged_unfreezer", cb))
        return self

    def initialize_for(self, n_outputs):
        """Build the network for ``n_outputs`` classes or targets, without training.

        Useful to inspect the module (``net.module_``) before fitting.

        Parameters
        ----------
        n_outputs : int
            Number of classes (classifier) or of regression targets.

        Returns
        -------
        self : object
        """
        self._validate_own_params()
        self.n_outputs_ = int(n_outputs)
        if hasattr(self, "classes") and self.classes is None and n_outputs >= 1:
            self.classes_inferred_ = np.arange(n_outputs)
        with self._seeded():
            self.initialize()
        return self

    @classmethod
    def _get_test_params(cls):
        return {"backbone": "test_resnet", "weights": None, "image_size": 32,
                "train_resize": 36, "max_epochs": 1, "batch_size": 8, "verbose": 0,
                "device": "cpu"}


_DOC_PARAMS = """
    Parameters
    ----------
    backbone : str, default="resnet18"
        A short name or timm model name, resolved by
        :func:`skanimal.features.resolve_backbone`.
    weights : "pretrained", None or path-like, default="pretrained"
        The backbone's weights, under the rules of
        :func:`skanimal.features.load_backbone` (never silently random).
    unfreeze : {"all", "head", "staged"}, default="all"
        Which parameters are trained: all of them, only the new head, or the
        head first and then the backbone's blocks from the top down on the
        ``unfreeze_schedule`` (Hosseini et al.'s "pipeline" fine-tuning).
    unfreeze_schedule : int or list of int, default=5
        For ``unfreeze="staged"``: epochs per stage, or each stage's start
        epoch (see :class:`StagedUnfreezer`).
    dropout : float, default=0.0
        Dropout before the new head.
    model_kwargs : dict, default=None
        Extra arguments of ``timm.create_model``.
    optimizer : torch optimizer class, default=torch.optim.Adam
        Its arguments go as ``optimizer__weight_decay=...``,
        ``optimizer__momentum=...`` (skorch's prefixes).
    lr : float, default=1e-4
        The learning rate. A schedule is a skorch callback, e.g.
        ``callbacks=[LRScheduler(policy="MultiStepLR", milestones=[60, 120], gamma=0.2)]``.
    max_epochs : int, default=10
        Number of epochs.
    batch_size : int, default=64
        Batch size.
    train_split : callable or None, default=@SPLIT@
        The internal validation split; ``fit(X, y, groups=...)`` keeps
        subjects apart. ``None`` trains on everything.
    criterion : torch loss class, default=@CRITERION@
        The training loss.
@MIXIN_PARAMS@
    **kwargs : dict
        Any other skorch parameter (``callbacks``, ``verbose``,
        ``iterator_train__num_workers``, ``optimizer__weight_decay``...).
"""


def _doc_params(split, criterion, mixin_params):
    """The Parameters section of a fine-tuned estimator's docstring."""
    return (_DOC_PARAMS.replace("@SPLIT@", split).replace("@CRITERION@", criterion)
            .replace("@MIXIN_PARAMS@", mixin_parameter_docs(*mixin_params)))


@cite_papers("liu2025", "hosseini")
class FineTunedClassifier(_FineTunedMixin, NeuralNetClassifier):
    __doc__ = """A pretrained backbone with a new classification head, fine-tuned on images.

    The PainSeeker paper's ResNet-18 baseline [1]_ and the first stage of
    Hosseini et al.'s pain-intensity network [2]_; see
    :meth:`from_preset`. X is image paths or an image array; labels may be of
    any type. Training uses cross-entropy, the train transform (resize,
    random crop, flip) on training batches only, and an internal validation
    split that keeps subjects apart when ``groups`` are given to ``fit``.
""" + _doc_params("GroupValidSplit(0.2)", "torch.nn.CrossEntropyLoss",
                ("image_size", "train_resize", "hflip", "class_weight", "sampler",
                 "random_state", "device")) + """
    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
        The class labels.
    module_ : torch.nn.Module
        The network: ``backbone`` (timm), ``dropout``, ``head`` (Linear).
    weights_id_ : str
        The backbone weights' fingerprint.
    history_ : skorch.History
        Per-epoch losses and scores.

    See Also
    --------
    FineTunedRegressor : The same network for continuous targets.
    skanimal.features.DeepFeatures : Frozen features for a linear probe.

    Examples
    --------
    >>> import warnings
    >>> import numpy as np
    >>> from skanimal.nets import FineTunedClassifier
    >>> rng = np.random.default_rng(0)
    >>> X = rng.integers(0, 255, size=(8, 32, 32, 3), dtype=np.uint8)
    >>> y = np.array(["no pain", "pain"] * 4)
    >>> net = FineTunedClassifier("test_resnet", weights=None, image_size=32,
    ...                           train_resize=36, max_epochs=1, batch_size=4,
    ...                           train_split=None, verbose=0, random_state=0)
    >>> with warnings.catch_warnings():
    ...     warnings.simplefilter("ignore", UserWarning)  # random weights
    ...     net = net.fit(X, y)
    >>> net.predict(X[:2]).shape, net.classes_.tolist()
    ((2,), ['no pain', 'pain'])
    """

    def __init__(self, backbone="resnet18", *, weights="pretrained", unfreeze="all",
                 unfreeze_schedule=5, dropout=0.0, model_kwargs=None,
                 optimizer=torch.optim.Adam, lr=1e-4, max_epochs=10, batch_size=64,
                 train_split=GroupValidSplit(0.2), criterion=nn.CrossEntropyLoss,
                 image_size=224, train_resize=None, hflip=True, class_weight=None,
                 sampler=None, random_state=None, device="auto", **kwargs):
        self._finetune_init(backbone, weights, unfreeze, unfreeze_schedule, dropout,
                            model_kwargs)
        kwargs.pop("module", None)
        super().__init__(
            module=None, optimizer=optimizer, lr=lr, max_epochs=max_epochs,
            batch_size=batch_size, train_split=train_split, criterion=criterion,
            image_size=image_size, train_resize=train_resize, hflip=hflip,
            class_weight=class_weight, sampler=sampler, random_state=random_state,
            device=device, **kwargs,
        )


@cite_papers("hosseini")
class FineTunedRegressor(_FineTunedMixin, NeuralNetRegressor):
    __doc__ = """A pretrained backbone with a new regression head, fine-tuned on images.

    For continuous scores (a grimace scale sum, PSPI). The targets are
    float32; a 1-D y gives 1-D predictions. The loss is the mean squared
    error. Settings as :class:`FineTunedClassifier`, except the internal
    validation split is not stratified.
""" + _doc_params("GroupValidSplit(0.2, stratified=False)", "torch.nn.MSELoss",
                ("image_size", "train_resize", "hflip", "random_state", "device")) + """
    Attributes
    ----------
    module_ : torch.nn.Module
        The network: ``backbone`` (timm), ``dropout``, ``head`` (Linear).
    weights_id_ : str
        The backbone weights' fingerprint.
    history_ : skorch.History
        Per-epoch losses.

    See Also
    --------
    FineTunedClassifier : The same network for class labels.

    Examples
    --------
    >>> import warnings
    >>> import numpy as np
    >>> from skanimal.nets import FineTunedRegressor
    >>> rng = np.random.default_rng(0)
    >>> X = rng.integers(0, 255, size=(8, 32, 32, 3), dtype=np.uint8)
    >>> y = np.linspace(0.0, 2.0, 8)
    >>> net = FineTunedRegressor("test_resnet", weights=None, image_size=32,
    ...                          train_resize=36, max_epochs=1, batch_size=4,
    ...                          train_split=None, verbose=0, random_state=0)
    >>> with warnings.catch_warnings():
    ...     warnings.simplefilter("ignore", UserWarning)  # random weights
    ...     net = net.fit(X, y)
    >>> net.predict(X).shape
    (8,)
    """

    def __init__(self, backbone="resnet18", *, weights="pretrained", unfreeze="all",
                 unfreeze_schedule=5, dropout=0.0, model_kwargs=None,
                 optimizer=torch.optim.Adam, lr=1e-4, max_epochs=10, batch_size=64,
                 train_split=GroupValidSplit(0.2, stratified=False),
                 criterion=nn.MSELoss, image_size=224, train_resize=None, hflip=True,
                 random_state=None, device="auto", **kwargs):
        self._finetune_init(backbone, weights, unfreeze, unfreeze_schedule, dropout,
                            model_kwargs)
        kwargs.pop("module", None)
        super().__init__(
            module=None, optimizer=optimizer, lr=lr, max_epochs=max_epochs,
            batch_size=batch_size, train_split=train_split, criterion=criterion,
            image_size=image_size, train_resize=train_resize, hflip=hflip,
            random_state=random_state, device=device, **kwargs,
        )

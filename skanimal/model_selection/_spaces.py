"""Named search spaces for the methods of skanimal (Optuna distributions).

A preset is a dict ``{parameter name: optuna distribution}`` whose names are
those of the estimator it is made for (``get_params()`` of the pipeline or
network), so that it can be given to
:class:`~skanimal.model_selection.SubjectSearchCV` as it is.
"""

# Authors: the skanimal developers
# SPDX-License-Identifier: BSD-3-Clause

from types import MappingProxyType

from optuna.distributions import (
    BaseDistribution,
    CategoricalDistribution,
    FloatDistribution,
)

from ..utils._docs import cite_papers

__all__ = ["SEARCH_SPACES", "make_preset_estimator", "search_space"]

# The paper's four linear-probe backbones whose weights can be downloaded
# (DINO ResNet-50 needs a checkpoint file from the user; Boneh-Shitrit et al.).
_PROBE_BACKBONES = ("resnet50", "vit_small_patch16", "dino_vits16", "dino_vits8")

#: The names of the presets, with a one-line description of each.
SEARCH_SPACES = MappingProxyType({
    "lbp_svm": (
        "LBP + linear SVM (make_lbp_svm): radius {1, 3} x grid {4, 8, 16} x "
        "LinearSVC C log-uniform in [1e-2, 1e2] (Liu et al., 2025)."
    ),
    "linear_probe": (
        "DeepFeatures + LogisticRegression: backbone x pooling x C log-uniform in "
        "[1e-4, 1e2] x class_weight {None, 'balanced'} (Boneh-Shitrit et al.)."
    ),
    "painseeker": (
        "PainSeekerClassifier: lambda_prsc {0.05, 0.1, 0.5, 1, 1.5} x margin "
        "{0.05, 0.1, 0.15, 0.2, 0.5} x k_high {3, 5, 10, 15, 20} (Liu et al., 2025)."
    ),
})


def _check_name(name):
    if not isinstance(name, str) or name not in SEARCH_SPACES:
        raise ValueError(
            f"Unknown search space {name!r}; the presets are {sorted(SEARCH_SPACES)}."
        )
    return name


def _as_distribution(name, value):
    if isinstance(value, BaseDistribution):
        return value
    if isinstance(value, (list, tuple)) and len(value) > 0:
        return CategoricalDistribution(list(value))
    raise TypeError(
        f"Override {name}={value!r} must be an optuna distribution, a non-empty list "
        "of choices (a categorical distribution) or None (to drop the parameter)."
    )


def _pooling_choices(backbones):
    """Poolings valid for every backbone: class-token ones only if all are ViTs."""
    from ..features import resolve_backbone

    if all(resolve_backbone(b).family == "vit" for b in backbones):
        return ["cls", "avg", "cls+avg"]
    # "auto" is the class token of a ViT and the average of a CNN
    return ["auto", "avg"]


@cite_papers("liu2025", "boneh-shitrit")
def search_space(name, **overrides):
    """Return a named search space as a dict of Optuna distributions.

    Parameters
    ----------
    name : {"lbp_svm", "linear_probe", "painseeker"}
        The preset (see :data:`SEARCH_SPACES`):

        - ``"lbp_svm"``, for :func:`skanimal.features.make_lbp_svm` pipelines:
          ``lbpfeatures__radius`` in {1, 3}, ``lbpfeatures__grid`` in
          {4, 8, 16} (the PainSeeker paper's six settings) and
          ``linearsvc__C`` log-uniform in [1e-2, 1e2];
        - ``"linear_probe"``, for
          ``make_pipeline(DeepFeatures(...), LogisticRegression(...))``:
          ``deepfeatures__backbone`` among the dog paper's downloadable
          backbones (``"resnet50"``, ``"vit_small_patch16"``,
          ``"dino_vits16"``, ``"dino_vits8"``), ``deepfeatures__pooling``,
          ``logisticregression__C`` log-uniform in [1e-4, 1e2] and
          ``logisticregression__class_weight`` in {None, "balanced"};
        - ``"painseeker"``, for :class:`skanimal.nets.PainSeekerClassifier`:
          the paper's sensitivity grids ``lambda_prsc`` in
          {0.05, 0.1, 0.5, 1, 1.5}, ``margin`` in {0.05, 0.1, 0.15, 0.2, 0.5}
          and ``k_high`` in {3, 5, 10, 15, 20} (Liu et al., 2025), searched
          jointly rather than one at a time.
    **overrides : dict
        Changes to the preset, by parameter name: an optuna distribution, a
        list of choices (a categorical distribution), or None to drop the
        parameter (it then keeps the estimator's value). New names are added.

    Returns
    -------
    space : dict of str to optuna.distributions.BaseDistribution
        A new dict, for
        :class:`~skanimal.model_selection.SubjectSearchCV`'s
        ``param_distributions``.

    See Also
    --------
    make_preset_estimator : The estimator a preset is made for.
    SubjectSearchCV : Subject-wise search over such a space.

    Notes
    -----
    For ``"linear_probe"``, the pooling choices follow the backbone choices
    (after overrides) so that every combination is valid: ``"cls"``,
    ``"avg"`` and ``"cls+avg"`` when every backbone is a ViT with a class
    token, otherwise ``"auto"`` (the class token of a ViT, the average of a
    CNN) and ``"avg"``. Override ``deepfeatures__pooling`` to choose them
    yourself.

    Examples
    --------
    >>> from skanimal.model_selection import search_space
    >>> space = search_space("lbp_svm")
    >>> sorted(space)
    ['lbpfeatures__grid', 'lbpfeatures__radius', 'linearsvc__C']
    >>> space["lbpfeatures__grid"].choices
    (4, 8, 16)
    >>> probe = search_space("linear_probe", deepfeatures__backbone=["dino_vits8"])
    >>> probe["deepfeatures__pooling"].choices
    ('cls', 'avg', 'cls+avg')
    >>> sorted(search_space("painseeker", k_high=None))
    ['lambda_prsc', 'margin']
    """
    _check_name(name)
    if name == "lbp_svm":
        space = {
            "lbpfeatures__radius": CategoricalDistribution([1, 3]),
            "lbpfeatures__grid": CategoricalDistribution([4, 8, 16]),
            "linearsvc__C": FloatDistribution(1e-2, 1e2, log=True),
        }
    elif name == "linear_probe":
        space = {
            "deepfeatures__backbone": CategoricalDistribution(list(_PROBE_BACKBONES)),
            "logisticregression__C": FloatDistribution(1e-4, 1e2, log=True),
            "logisticregression__class_weight": CategoricalDistribution([None, "balanced"]),
        }
    else:
        space = {
            "lambda_prsc": CategoricalDistribution([0.05, 0.1, 0.5, 1.0, 1.5]),
            "margin": CategoricalDistribution([0.05, 0.1, 0.15, 0.2, 0.5]),
            "k_high": CategoricalDistribution([3, 5, 10, 15, 20]),
        }
    for key, value in overrides.items():
        if value is None:
            space.pop(key, None)
        else:
            space[key] = _as_distribution(key, value)
    if (name == "linear_probe" and "deepfeatures__pooling" not in overrides
            and "deepfeatures__backbone" in space):
        backbones = space["deepfeatures__backbone"].choices
        space["deepfeatures__pooling"] = CategoricalDistribution(_pooling_choices(backbones))
    return space


@cite_papers("liu2025", "boneh-shitrit")
def make_preset_estimator(name):
    """Return a new estimator of the kind a preset search space is made for.

    Parameters
    ----------
    name : {"lbp_svm", "linear_probe", "painseeker"}
        The preset (see :data:`SEARCH_SPACES`).

    Returns
    -------
    estimator : estimator object
        Unfitted, with the method's default settings:

        - ``"lbp_svm"``: :func:`skanimal.features.make_lbp_svm` (R1P8-4x4,
          ``LinearSVC(C=1)``) with ``lbpfeatures__cache=True``: the trials
          and folds of a search code each image once per LBP setting, and
          read its histograms back from the default embedding cache
          afterwards;
        - ``"linear_probe"``: ``make_pipeline(DeepFeatures("resnet50",
          verbose=0), StandardScaler(), LogisticRegression(max_iter=1000))``;
        - ``"painseeker"``: ``PainSeekerClassifier()`` (the paper's settings).

        Change its settings with ``set_params`` (e.g.
        ``deepfeatures__cache=...``).

    See Also
    --------
    search_space : The preset's distributions.
    SubjectSearchCV.from_preset : A search of the preset over its estimator.

    Examples
    --------
    >>> from skanimal.model_selection import make_preset_estimator, search_space
    >>> pipe = make_preset_estimator("lbp_svm")
    >>> set(search_space("lbp_svm")) <= set(pipe.get_params())
    True
    >>> pipe.get_params()["lbpfeatures__cache"]
    True
    """
    _check_name(name)
    if name == "lbp_svm":
        from ..features import make_lbp_svm

        return make_lbp_svm(cache=True)
    if name == "linear_probe":
        from sklearn.linear_model import LogisticRegression
        from sklearn.pipeline import make_pipeline
        from sklearn.preprocessing import StandardScaler

        from ..features import DeepFeatures

        # standardised features, as in skanimal.benchmark's linear probes: the
        # logistic regression converges several times faster on them
        return make_pipeline(DeepFeatures(_PROBE_BACKBONES[0], verbose=0), StandardScaler(),
                             LogisticRegression(max_iter=1000))
    from ..nets import PainSeekerClassifier

    return PainSeekerClassifier()

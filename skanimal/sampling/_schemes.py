"""Samplers applied one after the other, and the resampling schemes of the papers."""

# Authors: the skanimal developers
# SPDX-License-Identifier: BSD-3-Clause

import numpy as np
from imblearn.base import BaseSampler
from imblearn.utils._tags import get_tags
from sklearn.base import _fit_context, clone
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import StrOptions, validate_params
from sklearn.utils.metaestimators import _BaseComposition

from ..utils._docs import cite_papers
from ._samplers import AugmentingOverSampler, RandomFractionUnderSampler

__all__ = ["PAPER_SAMPLERS", "SamplerChain", "make_paper_sampler"]

#: The named resampling schemes of :func:`make_paper_sampler`, with a summary.
PAPER_SAMPLERS = {
    "amgs": "Tuttle et al. 2018 (aMGS): minority class up to the majority's size "
            "with copies cropped (up to 10 % per side), flipped or brightness-scaled "
            "(N(1, 0.2)), one operation per copy.",
    "hosseini2021": "Hosseini et al. (UNBC-McMaster): keep a random 20 % of level 0, then "
                    "bring each of levels 2-6 up to the size of level 1 with flipped "
                    "or rotated (up to 15 degrees) copies.",
}


@cite_papers("tuttle2018", "hosseini")
class SamplerChain(_BaseComposition, BaseSampler):
    """Apply several samplers one after the other, as one sampler.

    :class:`imblearn.pipeline.Pipeline` forbids a pipeline inside a
    pipeline, so a resampling scheme made of several steps (undersample, then
    oversample) needs to be one sampler to be put before an estimator. Each
    sampler is cloned and fitted on the output of the previous one.

    Parameters
    ----------
    steps : list of (str, sampler) tuples
        The named samplers, applied in order. Their parameters are reachable
        as ``<name>__<parameter>`` (e.g. with ``set_params`` or in a search
        space).
    random_state : int, RandomState instance or None, default=None
        Seed of the whole chain. When not None, every step that has a
        ``random_state`` parameter gets its own seed, drawn from it in step
        order (as :func:`make_paper_sampler` seeds its steps), in place of
        its own ``random_state``; so ``set_params(random_state=0)`` (or
        :func:`sklearn.utils.estimator_checks.set_random_state`) makes the
        chain reproducible. None: each step keeps its own ``random_state``.

    Attributes
    ----------
    steps_ : list of (str, sampler) tuples
        The fitted samplers.
    sampling_strategy_ : dict
        The ``sampling_strategy_`` of each step, by step name.
    sample_indices_ : ndarray of shape (n_new_samples,)
        The row of X behind each output row, when every step records
        ``sample_indices_``.
    n_features_in_ : int
        Number of features, when X is a 2-D table.
    feature_names_in_ : ndarray of shape (`n_features_in_`,)
        Names of the features, when X is a DataFrame with string column names.

    See Also
    --------
    make_paper_sampler : The papers' schemes, some of them chains.

    Examples
    --------
    >>> import numpy as np
    >>> from skanimal.sampling import (
    ...     AugmentingOverSampler, RandomFractionUnderSampler, SamplerChain)
    >>> X = np.arange(24.0).reshape(12, 2)
    >>> y = np.array([0] * 8 + [1] * 3 + [2])
    >>> chain = SamplerChain([
    ...     ("under", RandomFractionUnderSampler({0: 0.5}, random_state=0)),
    ...     ("over", AugmentingOverSampler(augmentations=(), random_state=0)),
    ... ])
    >>> X_res, y_res = chain.fit_resample(X, y)
    >>> np.bincount(y_res)
    array([4, 4, 4])
    >>> bool(np.all(X_res == X[chain.sample_indices_]))
    True

    One seed for the whole chain:

    >>> chain = SamplerChain([("under", RandomFractionUnderSampler({0: 0.5})),
    ...                       ("over", AugmentingOverSampler(augmentations=()))],
    ...                      random_state=0)
    >>> first = chain.fit_resample(X, y)[0]
    >>> bool(np.all(chain.fit_resample(X, y)[0] == first))
    True
    >>> [step.random_state for _, step in chain.steps_] == [
    ...     int(s) for s in np.random.RandomState(0).randint(2**31 - 1, size=2)]
    True
    """

    _sampling_type = "bypass"

    _parameter_constraints: dict = {"steps": [list], "random_state": ["random_state"]}

    def __init__(self, steps, *, random_state=None):
        self.steps = steps
        self.random_state = random_state

    def get_params(self, deep=True):
        """Get the parameters of the chain and, with ``deep``, of its steps.

        Parameters
        ----------
        deep : bool, default=True
            Also return the steps and their parameters as
            ``<name>__<parameter>``.

        Returns
        -------
        params : dict
            Parameter names mapped to their values.
        """
        return self._get_params("steps", deep=deep)

    def set_params(self, **params):
        """Set the parameters of the chain or of its steps.

        Parameters
        ----------
        **params : dict
            ``steps``, a step by its name, or ``<name>__<parameter>``.

        Returns
        -------
        self : SamplerChain
            The chain.
        """
        self._set_params("steps", **params)
        return self

    def _check_steps(self):
        names = [name for name, _ in self.steps]
        self._validate_names(names)
        for name, sampler in self.steps:
            if not hasattr(sampler, "fit_resample"):
                raise TypeError(
                    f"SamplerChain: step {name!r} is {sampler!r}, which has no "
                    "fit_resample; every step must be a sampler.")

    def _fit_resample(self, X, y):
        self._check_steps()
        if y is None:
            raise ValueError("SamplerChain requires y to be passed, but the target y is None.")
        steps, indices = [], np.arange(len(y))
        seeds = [None] * len(self.steps)
        if self.random_state is not None:
            rng = check_random_state(self.random_state)
            seeds = [int(s) for s in rng.randint(np.iinfo(np.int32).max, size=len(self.steps))]
        for (name, sampler), seed in zip(self.steps, seeds):
            sampler = clone(sampler)
            if seed is not None and "random_state" in sampler.get_params(deep=False):
                sampler.set_params(random_state=seed)
            X, y = sampler.fit_resample(X, y)
            if indices is not None and hasattr(sampler, "sample_indices_"):
                indices = indices[sampler.sample_indices_]
            else:
                indices = None
            steps.append((name, sampler))
        self.steps_ = steps
        for attr in ("n_features_in_", "feature_names_in_"):  # what the first step saw
            if steps and hasattr(steps[0][1], attr):
                setattr(self, attr, getattr(steps[0][1], attr))
            else:
                self.__dict__.pop(attr, None)
        self.sampling_strategy_ = {
            name: getattr(s, "sampling_strategy_", None) for name, s in steps}
        if indices is not None:
            self.sample_indices_ = indices
        else:
            self.__dict__.pop("sample_indices_", None)
        return X, y

    @_fit_context(prefer_skip_nested_validation=False)
    def fit(self, X, y):
        """Fit every step on the output of the previous one.

        Parameters
        ----------
        X : array-like
            What the first step takes: image paths, images or a 2-D table.
        y : array-like of shape (n_samples,)
            Class labels.

        Returns
        -------
        self : SamplerChain
            The fitted chain.
        """
        self._fit_resample(X, y)
        return self

    @_fit_context(prefer_skip_nested_validation=False)
    def fit_resample(self, X, y):
        """Resample with every step in turn.

        Parameters
        ----------
        X : array-like
            What the first step takes: image paths, images or a 2-D table.
        y : array-like of shape (n_samples,)
            Class labels.

        Returns
        -------
        X_resampled : array-like
            The output of the last step.
        y_resampled : array-like
            Its labels.
        """
        return self._fit_resample(X, y)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        step_tags = [get_tags(s) for _, s in self.steps]
        if step_tags:
            for field in ("three_d_array", "string", "allow_nan", "sparse", "dataframe"):
                setattr(tags.input_tags, field,
                        all(getattr(t.input_tags, field) for t in step_tags))
        tags.sampler_tags.sample_indices = bool(step_tags) and all(
            t.sampler_tags is not None and t.sampler_tags.sample_indices
            for t in step_tags)
        return tags


class _UpToClassCount:
    """A sampling strategy: bring ``classes`` up to the count of ``reference``.

    Classes absent from y are ignored; a class already larger is left as is.
    A picklable callable (``y -> dict``), so a sampler using it can be cloned.
    """

    def __init__(self, classes, reference):
        self.classes = tuple(classes)
        self.reference = reference

    def __call__(self, y):
        labels, counts = np.unique(y, return_counts=True)
        count = dict(zip(labels.tolist(), counts.tolist()))
        if self.reference not in count:
            raise ValueError(
                f"the sampling strategy brings classes up to the count of class "
                f"{self.reference!r}, which is not in y (classes: {labels.tolist()}).")
        target = count[self.reference]
        return {c: max(count[c], target) for c in self.classes if c in count}

    def __repr__(self):
        return f"up_to_count_of({self.reference!r}, classes={list(self.classes)!r})"

    def __eq__(self, other):
        return (type(other) is type(self) and other.classes == self.classes
                and other.reference == self.reference)

    __hash__ = None


@cite_papers("tuttle2018", "hosseini")
@validate_params(
    {"name": [StrOptions(set(PAPER_SAMPLERS))], "random_state": ["random_state"]},
    prefer_skip_nested_validation=True,
)
def make_paper_sampler(name, *, random_state=None):
    """Build the class-rebalancing scheme of a paper as one sampler.

    - ``"amgs"`` (Tuttle et al. 2018 [1]_): an
      :class:`AugmentingOverSampler` bringing the minority class ("pain") up
      to the majority's size with copies randomly cropped (up to 10 % per
      side), flipped, or brightness-scaled by N(1, 0.2) -- one operation per
      copy, as the paper's "or" says.
    - ``"hosseini2021"`` (Hosseini et al. [2]_), for the seven PSPI
      levels (0-6): a :class:`SamplerChain` that keeps a random 20 % of level
      0 (:class:`RandomFractionUnderSampler`), then brings each of levels 2-6
      up to the size of level 1 with flipped or rotated copies (one operation
      per copy, angles up to 15 degrees). The paper does not say to which
      size the levels are upsampled; **ours**: that of level 1, the largest
      class it neither drops nor upsamples.

    Both work on image paths (copies read lazily) and image arrays; put them
    before a network or a feature step in a :class:`skanimal.pipeline.Pipeline`
    (an :class:`imblearn.pipeline.Pipeline` that also resamples ``groups``
    for a subject-wise step after the sampler).

    Parameters
    ----------
    name : {"amgs", "hosseini2021"}
        The scheme (see ``PAPER_SAMPLERS``).
    random_state : int, RandomState instance or None, default=None
        Seed of every step (each step gets its own seed drawn from it).

    Returns
    -------
    sampler : AugmentingOverSampler or SamplerChain
        An unfitted sampler; its ``random_state`` parameter is
        ``random_state`` (a chain seeds its steps from it, so
        ``set_params(random_state=...)`` reseeds the whole scheme).

    See Also
    --------
    AugmentingOverSampler : Oversample with augmented copies.
    RandomFractionUnderSampler : Keep a random fraction of a class.

    Examples
    --------
    >>> import numpy as np
    >>> from skanimal.sampling import make_paper_sampler
    >>> X = np.array([f"f{i}.png" for i in range(30)], dtype=object)
    >>> y = np.array([0] * 20 + [1] * 6 + [2] * 3 + [6])
    >>> X_res, y_res = make_paper_sampler("hosseini2021", random_state=0).fit_resample(X, y)
    >>> np.bincount(y_res)
    array([4, 6, 6, 0, 0, 0, 6])
    """
    if name == "amgs":
        return AugmentingOverSampler(
            "auto", augmentations=("crop", "flip", "brightness"), n_ops=1,
            max_crop=0.1, brightness_std=0.2, random_state=random_state)
    return SamplerChain([
        ("under", RandomFractionUnderSampler({0: 0.2})),
        ("over", AugmentingOverSampler(
            _UpToClassCount(classes=range(2, 7), reference=1),
            augmentations=("flip", "rotate"), n_ops=1, max_angle=15.0)),
    ], random_state=random_state)

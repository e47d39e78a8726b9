"""imbalanced-learn's pipeline, with per-sample fit parameters resampled with X and y.

A sampler in an :class:`imblearn.pipeline.Pipeline` changes the rows of X and
y, but not those of the other fit parameters: ``groups`` for a group-aware
step (a network's :class:`~skanimal.nets.GroupValidSplit`,
:class:`~skanimal.selective.ConfidenceThresholdClassifierCV` with a
:class:`~sklearn.model_selection.GroupKFold`), or ``sample_weight``, reach the
later steps with one value per *original* row and fail with a length mismatch
(or, worse, are silently misaligned). imbalanced-learn has no mechanism for
this; this pipeline resamples them with the rows the sampler kept or copied.
"""

# Authors: the skanimal developers
# SPDX-License-Identifier: BSD-3-Clause

import numpy as np
from imblearn import pipeline as imb_pipeline
from scipy import sparse
from sklearn.base import clone
from sklearn.pipeline import _name_estimators
from sklearn.utils import Bunch
from sklearn.utils._user_interface import _print_elapsed_time
from sklearn.utils.validation import (
    _check_method_params,
    _is_arraylike,
    _num_samples,
    check_memory,
)

__all__ = ["Pipeline", "make_pipeline"]


def _is_per_sample(value, n_samples):
    """Whether a fit parameter has one value per row, as scikit-learn's CV decides it."""
    return ((_is_arraylike(value) or sparse.issparse(value))
            and _num_samples(value) == n_samples)


class Pipeline(imb_pipeline.Pipeline):
    """Pipeline of transforms, samplers and a final estimator that resamples fit parameters.

    :class:`imblearn.pipeline.Pipeline` (transforms, samplers applied during
    ``fit`` only, and a final estimator), with one addition: when a sampler
    step changes the rows, every fit parameter routed to a **later** step
    that has one value per sample (``groups``, ``sample_weight``, ...) is
    resampled with them, so that it stays aligned with X and y. Duplicated
    or augmented copies get the value of their source row: an oversampled
    image keeps its subject, so a group-aware later step never splits a
    subject's copies from its originals.

    The rows are known from the sampler's ``sample_indices_`` (the source
    row of each output row), which imbalanced-learn's
    :class:`~imblearn.under_sampling.RandomUnderSampler`,
    :class:`~imblearn.over_sampling.RandomOverSampler` and cleaning samplers
    and all of :mod:`skanimal.sampling` record. A sampler that creates
    synthetic rows with no source (e.g. :class:`~imblearn.over_sampling.SMOTE`)
    cannot carry them: ``fit`` raises a :class:`ValueError` naming it when a
    later step is passed per-sample parameters. A sampler that returns as
    many rows as it got and no ``sample_indices_`` (e.g. SMOTE on classes
    already balanced) is taken to keep the rows in place.

    "One value per sample" is decided as in scikit-learn's cross-validation
    (:func:`sklearn.model_selection.cross_validate` indexes fit parameters to
    each training fold the same way): an array-like (or sparse matrix) with
    as many entries as X has rows entering the sampler. It works with
    metadata routing enabled (``sklearn.set_config(enable_metadata_routing=True)``,
    ``step.set_fit_request(groups=True)``, ``pipe.fit(X, y, groups=g)``) and
    with the legacy ``<step>__<parameter>`` fit parameters
    (``pipe.fit(X, y, net__groups=g)``). Parameters of steps before the
    sampler, and of the sampler itself, are passed as they are.

    Parameters
    ----------
    steps : list of (str, estimator) tuples
        The named steps (transformers with ``fit``/``transform``, samplers
        with ``fit_resample``, or ``"passthrough"``), in order, the last one
        any estimator.
    transform_input : list of str, default=None
        Metadata parameters transformed by the steps before the step that
        consumes them (metadata routing only); see
        :class:`imblearn.pipeline.Pipeline`.
    memory : str, object with the joblib.Memory interface or None, default=None
        Used to cache the fitted transformers and samplers (steps are then
        cloned before fitting; inspect them through ``named_steps``).
    verbose : bool, default=False
        Whether to print the time spent on fitting each step.

    Attributes
    ----------
    named_steps : :class:`~sklearn.utils.Bunch`
        The steps by name.
    classes_ : ndarray of shape (n_classes,)
        The class labels of the final estimator, when it is a classifier.
    n_features_in_ : int
        Number of features seen by the first step, when it records them.
    feature_names_in_ : ndarray of shape (`n_features_in_`,)
        Names of the features seen by the first step, when it records them.

    See Also
    --------
    make_pipeline : Build a pipeline, naming the steps from their types.
    imblearn.pipeline.Pipeline : The pipeline this one extends.
    skanimal.sampling.AugmentingOverSampler : Oversample with augmented copies.

    Notes
    -----
    The indices of consecutive samplers compose: a parameter reaching a step
    after an undersampler and an oversampler is indexed by both, in order.
    With the imbalanced-learn pipeline, ``fit_transform`` resamples while
    ``fit(...).transform`` does not; that is unchanged here.

    Examples
    --------
    A grid search whose folds keep subjects apart, after random oversampling:
    the search gets the subject of each copy (imbalanced-learn's pipeline
    would pass 12 groups for 16 rows).

    >>> import numpy as np
    >>> from imblearn.over_sampling import RandomOverSampler
    >>> from sklearn.linear_model import LogisticRegression
    >>> from sklearn.model_selection import GridSearchCV, GroupKFold
    >>> from skanimal.pipeline import make_pipeline
    >>> X = np.arange(24.0).reshape(12, 2)
    >>> y = np.array([0, 0, 1] * 4)
    >>> groups = np.repeat([10, 11, 12, 13], 3)
    >>> search = GridSearchCV(LogisticRegression(), {"C": [0.1, 1.0]}, cv=GroupKFold(2))
    >>> pipe = make_pipeline(RandomOverSampler(random_state=0), search)
    >>> pipe.fit(X, y, gridsearchcv__groups=groups)
    Pipeline(steps=[('randomoversampler', RandomOverSampler(random_state=0)),
                    ('gridsearchcv',
                     GridSearchCV(cv=GroupKFold(n_splits=2, random_state=None, shuffle=False),
                                  estimator=LogisticRegression(),
                                  param_grid={'C': [0.1, 1.0]}))])
    >>> sampler = pipe.named_steps["randomoversampler"]
    >>> sampler.sample_indices_.shape
    (16,)
    >>> groups[sampler.sample_indices_][12:]  # the subjects of the 4 copies
    array([10, 13, 11, 10])
    """

    def _fit(self, X, y=None, routed_params=None, raw_params=None):
        # imbalanced-learn's loop over the steps before the last one, plus
        # _resample_later_params after each sampler.
        self.steps = list(self.steps)
        self._validate_steps()
        memory = check_memory(self.memory)
        fit_transform_one_cached = memory.cache(imb_pipeline._fit_transform_one)
        fit_resample_one_cached = memory.cache(imb_pipeline._fit_resample_one)

        for step_idx, name, transformer in self._iter(
                with_final=False, filter_passthrough=False, filter_resample=False):
            if transformer is None or transformer == "passthrough":
                with _print_elapsed_time("Pipeline", self._log_message(step_idx)):
                    continue
            if hasattr(memory, "location") and memory.location is None:
                cloned = transformer  # no caching: not cloned, as imbalanced-learn does
            else:
                cloned = clone(transformer)
            step_params = self._get_metadata_for_step(
                step_idx=step_idx, step_params=routed_params[name], all_params=raw_params)
            if hasattr(cloned, "transform") or hasattr(cloned, "fit_transform"):
                X, fitted = fit_transform_one_cached(
                    cloned, X, y, weight=None, message_clsname="Pipeline",
                    message=self._log_message(step_idx), params=step_params)
            elif hasattr(cloned, "fit_resample"):
                X_in = X
                X, y, fitted = fit_resample_one_cached(
                    cloned, X, y, message_clsname="Pipeline",
                    message=self._log_message(step_idx), params=routed_params[name])
                self._resample_later_params(step_idx, fitted, X_in, X, routed_params)
            self.steps[step_idx] = (name, fitted)
        return X, y

    def _resample_later_params(self, step_idx, sampler, X_in, X_out, routed_params):
        """Index the per-sample parameters of the steps after ``step_idx`` like the rows."""
        n_in, n_out = _num_samples(X_in), _num_samples(X_out)
        later = [name for name, step in self.steps[step_idx + 1:]
                 if step is not None and step != "passthrough" and name in routed_params]
        per_sample = sorted({
            f"{param!r} for step {name!r}"
            for name in later for params in routed_params[name].values()
            for param, value in params.items() if _is_per_sample(value, n_in)})
        if not per_sample:
            return
        indices = getattr(sampler, "sample_indices_", None)
        step_name = self.steps[step_idx][0]
        if indices is None:
            if n_out == n_in:
                return  # no row added or removed: taken to be kept in place
            raise ValueError(
                f"Pipeline step {step_name!r} ({type(sampler).__name__}) turned {n_in} "
                f"samples into {n_out} without recording which input row each output row "
                f"comes from (no sample_indices_; synthetic samples have none), so the "
                f"per-sample fit parameters of later steps ({', '.join(per_sample)}) "
                "cannot follow the resampling. Use a sampler that records sample_indices_ "
                "(imblearn's RandomOverSampler or RandomUnderSampler, "
                "skanimal.sampling.AugmentingOverSampler), or do not pass per-sample "
                "parameters to the steps after it.")
        indices = np.asarray(indices)
        if (indices.ndim != 1 or indices.shape[0] != n_out or indices.dtype.kind not in "iu"
                or (n_out and (indices.min() < 0 or indices.max() >= n_in))):
            raise ValueError(
                f"Pipeline step {step_name!r} ({type(sampler).__name__}) has a "
                f"sample_indices_ of shape {indices.shape} and dtype {indices.dtype}, which "
                f"does not give one input row (0 to {n_in - 1}) for each of its {n_out} "
                "output rows; the per-sample fit parameters of later steps cannot follow it.")
        for name in later:
            step_params = routed_params[name]
            for method, params in step_params.items():
                step_params[method] = Bunch(**_check_method_params(X_in, params, indices))


def make_pipeline(*steps, memory=None, transform_input=None, verbose=False):
    """Build a :class:`Pipeline`, naming each step after its type.

    The shorthand for :class:`Pipeline`, as
    :func:`imblearn.pipeline.make_pipeline` is for imbalanced-learn's: step
    names are the lower-cased class names (``"augmentingoversampler"``,
    ``"finetunedclassifier"``), numbered when repeated.

    Parameters
    ----------
    *steps : list of estimators
        Transformers, samplers and a final estimator, in order.
    memory : str, object with the joblib.Memory interface or None, default=None
        Used to cache the fitted transformers and samplers.
    transform_input : list of str, default=None
        Metadata parameters transformed by the steps before the step that
        consumes them (metadata routing only).
    verbose : bool, default=False
        Whether to print the time spent on fitting each step.

    Returns
    -------
    pipeline : Pipeline
        A pipeline whose samplers resample the per-sample fit parameters of
        the later steps with X and y.

    See Also
    --------
    Pipeline : The pipeline, with named steps.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.base import BaseEstimator, ClassifierMixin
    >>> from skanimal.pipeline import make_pipeline
    >>> from skanimal.sampling import AugmentingOverSampler
    >>> class GroupsSeen(ClassifierMixin, BaseEstimator):
    ...     def fit(self, X, y, groups=None):
    ...         self.groups_ = groups
    ...         return self
    >>> X = np.array([f"face{i}.png" for i in range(4)], dtype=object)
    >>> pipe = make_pipeline(AugmentingOverSampler(random_state=0), GroupsSeen())
    >>> pipe.fit(X, [0, 0, 0, 1], groupsseen__groups=["ann", "ann", "bob", "cat"])[-1].groups_
    ['ann', 'ann', 'bob', 'cat', 'cat', 'cat']
    """
    return Pipeline(_name_estimators(steps), memory=memory, transform_input=transform_input,
                    verbose=verbose)

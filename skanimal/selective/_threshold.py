"""Classifiers that abstain when their winning-class probability is low.

The automated Mouse Grimace Scale (aMGS; Tuttle et al., 2018) gives each
image a label and a confidence, the winning class probability, and discards
the images under a confidence of 0.75 as ambiguous or of low quality.
:class:`ConfidenceThresholdClassifier` does this around any classifier with
``predict_proba``; :class:`ConfidenceThresholdClassifierCV` chooses the
threshold on held-out subjects for a target accuracy or coverage, as
scikit-learn's :class:`~sklearn.model_selection.TunedThresholdClassifierCV`
chooses a decision threshold.
"""

# Authors: the skanimal developers
# SPDX-License-Identifier: BSD-3-Clause

import warnings
from numbers import Integral, Real

import numpy as np
import pandas as pd
from sklearn.base import (
    BaseEstimator,
    ClassifierMixin,
    MetaEstimatorMixin,
    _fit_context,
    clone,
)
from sklearn.model_selection import StratifiedGroupKFold, check_cv
from sklearn.utils import _safe_indexing, get_tags
from sklearn.utils._param_validation import HasMethods, Interval, StrOptions
from sklearn.utils.metadata_routing import (
    MetadataRouter,
    MethodMapping,
    _routing_enabled,
    process_routing,
)
from sklearn.utils.metaestimators import available_if
from sklearn.utils.multiclass import type_of_target
from sklearn.utils.validation import (
    _check_sample_weight,
    _estimator_has,
    _num_samples,
    check_is_fitted,
    indexable,
)

from ..metrics import risk_coverage_curve, selective_accuracy_score
from ..utils._docs import cite_papers
from ..utils._folds import fit_folds
from ..utils._labels import auto_abstain_value
from ..utils._labels import equals_value as _equals
from ..utils._validation import check_subject_splits, fit_requests

__all__ = ["ConfidenceThresholdClassifier", "ConfidenceThresholdClassifierCV"]

# Slack when comparing a score with its target, so that 9/10 reaches 0.9.
_TARGET_TOL = 1e-12


def _resolve_abstain_value(abstain_value, classes):
    """The abstain value to use for these classes; an error if it is a class."""
    if isinstance(abstain_value, str) and abstain_value == "auto":
        return auto_abstain_value(classes)  # never one of the classes
    if np.any(_equals(classes, abstain_value)):
        raise ValueError(
            f"abstain_value={abstain_value!r} is one of the classes "
            f"{classes.tolist()}; it must differ from every class."
        )
    return abstain_value


def _check_classification_labels(y):
    """The sorted classes of y; an error unless y is binary or multiclass."""
    y_type = type_of_target(y, input_name="y")
    if y_type not in ("binary", "multiclass"):
        raise ValueError(
            f"Unknown label type: {y_type!r}. A confidence threshold needs binary "
            "or multiclass labels."
        )
    y = y.to_numpy() if hasattr(y, "to_numpy") else np.asarray(y)
    return np.unique(y.ravel())


class _BaseConfidenceThreshold(ClassifierMixin, MetaEstimatorMixin, BaseEstimator):
    """Prediction, abstention and pass-through methods shared by both classes."""

    _parameter_constraints: dict = {
        "estimator": [HasMethods(["fit", "predict_proba"])],
        "abstain_value": [Real, str],
    }

    def _prepare_labels(self, y):
        classes = _check_classification_labels(y)
        self.abstain_value_ = _resolve_abstain_value(self.abstain_value, classes)

    def _finish_fit(self):
        """Re-check the abstain value against the fitted classes; set attributes."""
        self.abstain_value_ = _resolve_abstain_value(
            self.abstain_value, np.asarray(self.classes_)
        )
        for name in ("n_features_in_", "feature_names_in_"):
            if hasattr(self.estimator_, name):
                setattr(self, name, getattr(self.estimator_, name))
        return self

    @property
    def classes_(self):
        """The class labels, those of the fitted `estimator_`."""
        return self.estimator_.classes_

    def confidence(self, X):
        """Return the confidence of each prediction: its winning-class probability.

        Parameters
        ----------
        X : array-like
            The samples, in any form the inner estimator accepts (a 2-D
            table, image paths, an image array...).

        Returns
        -------
        confidence : ndarray of shape (n_samples,)
            ``max(predict_proba(X), axis=1)``, in ``[1 / n_classes, 1]``.
        """
        check_is_fitted(self, "estimator_")
        return np.max(np.asarray(self.estimator_.predict_proba(X)), axis=1)

    def _abstain_dtype(self):
        """A dtype for the classes and the abstain value (object if they mix)."""
        kinds = (np.asarray(self.classes_).dtype, np.asarray(self.abstain_value_).dtype)
        if all(k.kind in "biuf" for k in kinds) or all(k.kind in "US" for k in kinds):
            return np.result_type(*kinds)
        return np.dtype(object)  # never cast a number to str or back

    def predict(self, X):
        """Predict the class of each sample, or abstain when unsure.

        Parameters
        ----------
        X : array-like
            The samples, in any form the inner estimator accepts.

        Returns
        -------
        y_pred : ndarray of shape (n_samples,)
            The winning class (the argmax of ``predict_proba``) where the
            confidence is at least ``threshold_``, ``abstain_value_``
            elsewhere. The dtype holds both, e.g. int64 for integer classes.
        """
        check_is_fitted(self, "estimator_")
        proba = np.asarray(self.estimator_.predict_proba(X))
        y_pred = np.asarray(self.classes_)[np.argmax(proba, axis=1)]
        y_pred = y_pred.astype(self._abstain_dtype())
        y_pred[np.max(proba, axis=1) < self.threshold_] = self.abstain_value_
        return y_pred

    @available_if(_estimator_has("predict_proba"))
    def predict_proba(self, X):
        """Class probabilities of the fitted estimator (no abstention).

        Parameters
        ----------
        X : array-like
            The samples, in any form the inner estimator accepts.

        Returns
        -------
        proba : ndarray of shape (n_samples, n_classes)
            ``estimator_.predict_proba(X)``.
        """
        check_is_fitted(self, "estimator_")
        return self.estimator_.predict_proba(X)

    @available_if(_estimator_has("predict_log_proba"))
    def predict_log_proba(self, X):
        """Log class probabilities of the fitted estimator (no abstention).

        Parameters
        ----------
        X : array-like
            The samples, in any form the inner estimator accepts.

        Returns
        -------
        log_proba : ndarray of shape (n_samples, n_classes)
            ``estimator_.predict_log_proba(X)``.
        """
        check_is_fitted(self, "estimator_")
        return self.estimator_.predict_log_proba(X)

    @available_if(_estimator_has("decision_function"))
    def decision_function(self, X):
        """Decision function of the fitted estimator (no abstention).

        Parameters
        ----------
        X : array-like
            The samples, in any form the inner estimator accepts.

        Returns
        -------
        decision : ndarray of shape (n_samples,) or (n_samples, n_classes)
            ``estimator_.decision_function(X)``.
        """
        check_is_fitted(self, "estimator_")
        return self.estimator_.decision_function(X)

    def score(self, X, y, sample_weight=None):
        """Selective accuracy: the accuracy on the samples not abstained on.

        Parameters
        ----------
        X : array-like
            The samples, in any form the inner estimator accepts.
        y : array-like of shape (n_samples,)
            True labels.
        sample_weight : array-like of shape (n_samples,), default=None
            Sample weights.

        Returns
        -------
        score : float
            :func:`selective_accuracy_score` of ``self.predict(X)``, and 0.0
            when every sample is abstained on (where the selective accuracy
            itself is undefined): a classifier that keeps nothing is useless,
            and a NaN would break the ranking of a search. It rises as the
            threshold rises and
            the coverage falls, so do not tune the threshold by maximising it
            (a grid search would pick the highest threshold): choose it for a
            target with :class:`ConfidenceThresholdClassifierCV`, and report
            the coverage (:func:`coverage_score`) next to it.
        """
        score = selective_accuracy_score(
            y,
            self.predict(X),
            abstain_value=self.abstain_value_,
            sample_weight=sample_weight,
        )
        return 0.0 if np.isnan(score) else score

    def _fit_params(self, params):
        """The fit parameters of the inner estimator (routed when enabled)."""
        if _routing_enabled():
            return dict(process_routing(self, "fit", **params).estimator.fit)
        return dict(params)

    def get_metadata_routing(self):
        """Get the metadata routing of this object.

        With metadata routing enabled, ``fit`` passes to the inner estimator's
        ``fit`` the parameters it requests (``set_fit_request``), and this
        object's own requests (``set_score_request(sample_weight=True)``)
        are honoured.

        Returns
        -------
        routing : MetadataRouter
            A :class:`~sklearn.utils.metadata_routing.MetadataRouter`
            encapsulating the routing information.
        """
        return MetadataRouter(owner=self).add_self_request(self).add(
            estimator=self.estimator,
            method_mapping=MethodMapping().add(caller="fit", callee="fit"),
        )

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        inner = get_tags(self.estimator)
        # X goes to the inner estimator untouched: accept what it accepts
        tags.input_tags = inner.input_tags
        tags.non_deterministic = inner.non_deterministic
        return tags


@cite_papers("tuttle2018")
class ConfidenceThresholdClassifier(_BaseConfidenceThreshold):
    """Classifier that abstains when its winning-class probability is low.

    A meta-estimator over any classifier with ``predict_proba``: ``predict``
    returns the winning class where its probability, the *confidence*, is at
    least `threshold`, and `abstain_value` elsewhere. This is the rule of the
    automated Mouse Grimace Scale [1]_, which discards images under a
    confidence of 0.75 as ambiguous.

    Parameters
    ----------
    estimator : estimator instance
        The classifier to fit, with ``fit`` and ``predict_proba``. Its X may
        be anything it accepts: a 2-D table, image paths or an image array
        (e.g. a pipeline of :class:`~skanimal.features.DeepFeatures` and
        :class:`~sklearn.linear_model.LogisticRegression`, or a skanimal net).
        It is cloned in ``fit``; to threshold an estimator that is already
        fitted, wrap it in :class:`~sklearn.frozen.FrozenEstimator`.
    threshold : float, default=0.75
        Samples whose confidence is below this value are abstained on; at
        or above it they are kept. The confidence of ``k`` classes is at least
        ``1 / k``, so a threshold of ``1 / k`` or less keeps every sample.
    abstain_value : int, float or str, default="auto"
        What ``predict`` returns for an abstention. ``"auto"`` means ``-1``
        for numeric classes and ``"abstain"`` for string classes, unless that
        is a class: then one less than the smallest class, or ``"abstain_"``
        (see `abstain_value_`). An explicit value must not be one of the
        classes (a ValueError says so in ``fit``).

    Attributes
    ----------
    estimator_ : estimator instance
        The fitted inner classifier.
    classes_ : ndarray of shape (n_classes,)
        The class labels.
    threshold_ : float
        The threshold in use, `threshold`.
    abstain_value_ : int, float or str
        The abstain value in use (`abstain_value` with ``"auto"`` resolved).
    n_features_in_ : int
        Number of features seen during ``fit``; only if the inner estimator
        has it.
    feature_names_in_ : ndarray of shape (`n_features_in_`,)
        Names of features seen during ``fit``; only if the inner estimator
        has them.

    See Also
    --------
    ConfidenceThresholdClassifierCV : Choose the threshold for a target
        accuracy or coverage on held-out subjects.
    selective_report : Coverage, sensitivity, specificity and accuracy of the
        kept samples.
    sklearn.model_selection.FixedThresholdClassifier : A fixed decision
        threshold, without abstention.

    Notes
    -----
    The coverage of new data is
    ``coverage_score(clf.predict(X), abstain_value=clf.abstain_value_)``; the
    coverage of the training data would be optimistic (a model is more
    confident on the samples it was fitted on), and ``fit`` does not spend a
    pass over them to compute it. :class:`ConfidenceThresholdClassifierCV`
    measures it on held-out subjects (``best_coverage_``).

    The predicted class is the argmax of the inner ``predict_proba``, so that
    the label and its confidence always agree (for most classifiers this is
    also what their ``predict`` returns). ``predict_proba``,
    ``predict_log_proba`` and ``decision_function`` are those of the inner
    estimator, without abstention. ``score`` is the selective accuracy.

    ``fit`` forwards its keyword arguments to the inner ``fit`` (e.g.
    ``groups=`` for a skanimal net's subject-wise validation split). With
    scikit-learn's metadata routing enabled, it forwards those the inner
    estimator requests.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.linear_model import LogisticRegression
    >>> from skanimal.selective import ConfidenceThresholdClassifier, coverage_score
    >>> X = np.array([[-3.], [-2.], [-0.2], [0.1], [0.3], [2.], [3.], [-0.1]])
    >>> y = np.array([0, 0, 0, 1, 1, 1, 1, 1])
    >>> clf = ConfidenceThresholdClassifier(LogisticRegression(), threshold=0.75)
    >>> clf.fit(X, y).predict([[-3.], [0.], [3.]])
    array([ 0, -1,  1])
    >>> clf.confidence([[0.]]).round(2)
    array([0.69])
    >>> coverage_score(clf.predict(X), abstain_value=clf.abstain_value_)
    0.625
    """

    _parameter_constraints: dict = {
        **_BaseConfidenceThreshold._parameter_constraints,
        "threshold": [Interval(Real, 0, 1, closed="both")],
    }

    def __init__(self, estimator, *, threshold=0.75, abstain_value="auto"):
        self.estimator = estimator
        self.threshold = threshold
        self.abstain_value = abstain_value

    @_fit_context(prefer_skip_nested_validation=False)  # estimator not validated
    def fit(self, X, y, **fit_params):
        """Fit the inner classifier.

        Parameters
        ----------
        X : array-like
            Training samples, in any form the inner estimator accepts.
        y : array-like of shape (n_samples,)
            Class labels (binary or multiclass).
        **fit_params : dict
            Passed to the inner estimator's ``fit`` (only the requested ones
            when metadata routing is enabled).

        Returns
        -------
        self : object
            The fitted classifier.
        """
        X, y = indexable(X, y)
        self._prepare_labels(y)
        params = self._fit_params(fit_params)
        self.estimator_ = clone(self.estimator).fit(X, y, **params)
        self.threshold_ = float(self.threshold)
        return self._finish_fit()

    @classmethod
    def _get_test_params(cls):
        """Cheap parameters for :mod:`skanimal.utils.estimator_checks`."""
        # threshold 0 keeps every sample: the data checks compare predictions
        # with labels, and abstention is tested on its own
        return {"threshold": 0.0}


class ConfidenceThresholdClassifierCV(_BaseConfidenceThreshold):
    """Abstaining classifier whose threshold is chosen on held-out subjects.

    The threshold is chosen from **out-of-fold** predictions: the estimator
    is fitted on the training folds, its winning class and confidence are
    computed for the held-out samples, and the risk-coverage curve of all
    held-out predictions pooled gives, for each threshold, the coverage and
    the selective accuracy. The estimator is then refitted on all the data.

    Parameters
    ----------
    estimator : estimator instance
        The classifier to fit, with ``fit`` and ``predict_proba``; its X may
        be a 2-D table, image paths or an image array.
    target : {"accuracy", "coverage"}, default="accuracy"
        What the threshold must reach on the held-out predictions:

        - ``"accuracy"``: the smallest threshold (the largest coverage) whose
          selective accuracy is at least `target_value`;
        - ``"coverage"``: the largest threshold that keeps at least
          `target_value` of the samples.
    target_value : float, default=0.9
        The accuracy or coverage to reach, in (0, 1].
    cv : int, cross-validation generator or iterable, default=5
        The folds. With `groups` given to ``fit``, an int means
        :class:`~sklearn.model_selection.StratifiedGroupKFold` with that many
        folds, and every fold is checked to keep subjects apart (a ValueError
        names a subject found in both sides, e.g. with a plain ``KFold``).
        Without groups, an int means a
        :class:`~sklearn.model_selection.StratifiedKFold` over images, with a
        warning: images of one subject are then in both training and held-out
        folds, which makes the confidence optimistic.
    abstain_value : int, float or str, default="auto"
        What ``predict`` returns for an abstention; ``"auto"`` means ``-1``
        for numeric classes and ``"abstain"`` for string classes, unless that
        is a class (then a value that is not). An explicit value must not be
        a class.
    n_jobs : int, default=None
        Number of folds fitted in parallel. ``None`` means 1.

    Attributes
    ----------
    estimator_ : estimator instance
        The classifier refitted on all the data.
    classes_ : ndarray of shape (n_classes,)
        The class labels.
    threshold_ : float
        The chosen threshold: a confidence value of the held-out predictions,
        or 0.0 (keep every sample) when the target is met at full coverage.
    best_score_ : float
        Held-out selective accuracy at `threshold_`.
    best_coverage_ : float
        Held-out coverage at `threshold_`: an honest estimate of the coverage
        on new subjects.
    target_reached_ : bool
        Whether the target was reached (see Notes).
    cv_results_ : dict of ndarray
        The held-out risk-coverage curve: ``"thresholds"`` (decreasing),
        ``"coverage"`` (increasing) and ``"selective_accuracy"``; one entry
        per distinct held-out confidence. ``pandas.DataFrame(cv_results_)``
        makes it a table.
    n_splits_ : int
        The number of folds.
    abstain_value_ : int, float or str
        The abstain value in use.
    n_features_in_ : int
        Number of features seen during ``fit``; only if the inner estimator
        has it.
    feature_names_in_ : ndarray of shape (`n_features_in_`,)
        Names of features seen during ``fit``; only if the inner estimator
        has them.

    See Also
    --------
    ConfidenceThresholdClassifier : A fixed threshold.
    risk_coverage_curve : The curve the threshold is chosen on.
    sklearn.model_selection.TunedThresholdClassifierCV : Tune a decision
        threshold by cross-validation.

    Notes
    -----
    An accuracy target may be **unreachable**: if no threshold gives a
    held-out selective accuracy of `target_value`, ``fit`` warns and falls
    back to the threshold with the highest held-out selective accuracy (the
    largest coverage among ties), and sets ``target_reached_ = False``. A
    coverage target is always reachable.

    The held-out predictions of all folds are pooled into one curve (rather
    than averaging per-fold curves): with leave-one-subject-out folds each
    fold holds a single animal, whose own curve is too coarse. The threshold
    is a confidence value seen on held-out data; new samples are kept when
    their confidence is at least `threshold_`.

    A pipeline whose first step is a :class:`~skanimal.features.DeepFeatures`
    or an :class:`~skanimal.features.LBPFeatures` (which learn nothing in
    ``fit``) has that step's features computed once, on all images, before
    the folds, which then fit the rest of the pipeline: the same held-out
    predictions, one extraction instead of one per fold.

    ``groups`` is used for the splits. Without metadata routing it is also
    passed to the inner ``fit`` when that takes a ``groups`` parameter (as
    skanimal's nets do); with routing enabled, when the inner estimator
    requests it. ``sample_weight`` weights the held-out risk-coverage curve
    (a weighted coverage and selective accuracy) and goes to the inner
    ``fit`` on the same rule. Other keyword arguments of ``fit`` go to the
    inner ``fit``.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.linear_model import LogisticRegression
    >>> from skanimal.selective import ConfidenceThresholdClassifierCV
    >>> rng = np.random.default_rng(0)
    >>> y = np.tile([0, 1], 60)
    >>> X = (y + rng.normal(0, 0.6, y.size))[:, None]
    >>> rats = np.repeat(np.arange(6), 20)
    >>> clf = ConfidenceThresholdClassifierCV(
    ...     LogisticRegression(), target="accuracy", target_value=0.9, cv=3)
    >>> clf = clf.fit(X, y, groups=rats)
    >>> bool(clf.best_score_ >= 0.9), bool(0 < clf.best_coverage_ < 1)
    (True, True)
    >>> bool(clf.predict([[-2.], [0.5], [3.]])[1] == -1)
    True
    """

    _parameter_constraints: dict = {
        **_BaseConfidenceThreshold._parameter_constraints,
        "target": [StrOptions({"accuracy", "coverage"})],
        "target_value": [Interval(Real, 0, 1, closed="right")],
        "cv": ["cv_object"],
        "n_jobs": [Integral, None],
    }

    def __init__(
        self,
        estimator,
        *,
        target="accuracy",
        target_value=0.9,
        cv=5,
        abstain_value="auto",
        n_jobs=None,
    ):
        self.estimator = estimator
        self.target = target
        self.target_value = target_value
        self.cv = cv
        self.abstain_value = abstain_value
        self.n_jobs = n_jobs

    def _folds(self, X, y, groups):
        cv = self.cv
        if groups is None:
            if cv is None or isinstance(cv, Integral):
                warnings.warn(
                    "ConfidenceThresholdClassifierCV got no groups: the threshold "
                    "is chosen on image-wise StratifiedKFold splits, in which images "
                    "of one subject are both trained on and held out. Pass "
                    "groups=<subject ids> to choose it on held-out subjects.",
                    UserWarning,
                    stacklevel=3,
                )
            cv = check_cv(5 if cv is None else cv, y, classifier=True)
            return list(cv.split(X, y))
        if cv is None or isinstance(cv, Integral):
            cv = StratifiedGroupKFold(n_splits=5 if cv is None else int(cv))
        return check_subject_splits(cv, X, y, groups, split_name="fold")

    def _fit_params_with(self, params, groups, sample_weight):
        params = self._fit_params(params)
        if groups is not None and fit_requests(self.estimator, "groups"):
            params["groups"] = groups
        if sample_weight is not None and fit_requests(self.estimator, "sample_weight"):
            params["sample_weight"] = sample_weight
        return params

    @_fit_context(prefer_skip_nested_validation=False)  # estimator not validated
    def fit(self, X, y, groups=None, sample_weight=None, **params):
        """Choose the threshold on held-out folds, then refit on all data.

        Parameters
        ----------
        X : array-like
            Training samples, in any form the inner estimator accepts.
        y : array-like of shape (n_samples,)
            Class labels (binary or multiclass).
        groups : array-like of shape (n_samples,), default=None
            The subject (animal or person id) of each sample, so that the
            threshold is chosen on held-out subjects.
        sample_weight : array-like of shape (n_samples,), default=None
            Weights of the held-out risk-coverage curve the threshold is
            chosen on; also passed to the inner ``fit`` when it takes them
            (with metadata routing, when it requests them).
        **params : dict
            Passed to the inner estimator's ``fit`` (indexed to each training
            fold; only the requested ones when metadata routing is enabled).

        Returns
        -------
        self : object
            The fitted classifier.
        """
        X, y = indexable(X, y)
        self._prepare_labels(y)
        n_samples = _num_samples(X)
        if groups is not None:
            groups = groups.to_numpy() if hasattr(groups, "to_numpy") else groups
            groups = np.asarray(groups)
            if groups.ndim != 1 or groups.shape[0] != n_samples:
                raise ValueError(
                    f"groups must be 1-D with one subject id per sample: got shape "
                    f"{groups.shape} for {n_samples} samples."
                )
            if pd.isna(groups).any():
                raise ValueError("groups contains missing values (NaN or None).")
        if sample_weight is not None:
            sample_weight = _check_sample_weight(sample_weight, X)
        fit_params = self._fit_params_with(params, groups, sample_weight)
        folds = self._folds(X, y, groups)
        self.n_splits_ = len(folds)

        results = fit_folds(self.estimator, X, y, folds, fit_params=fit_params,
                            response="predict_proba", n_jobs=self.n_jobs, features_once=True)
        # every held-out prediction, pooled (a sample in several test parts,
        # as with GroupShuffleSplit, counts once per part)
        tests = [test for _, test in folds]
        y_true = np.concatenate([np.asarray(_safe_indexing(y, t)).ravel() for t in tests])
        coverage, accuracy, thresholds = risk_coverage_curve(
            y_true, np.concatenate([r["y_pred"] for r in results]),
            np.concatenate([r["confidence"] for r in results]),
            sample_weight=None if sample_weight is None else np.concatenate(
                [sample_weight[t] for t in tests]),
        )
        self.cv_results_ = {
            "thresholds": thresholds,
            "coverage": coverage,
            "selective_accuracy": accuracy,
        }
        if self.target == "coverage":
            best = np.flatnonzero(coverage >= self.target_value - _TARGET_TOL)[0]
            self.target_reached_ = True
        else:
            reached = np.flatnonzero(accuracy >= self.target_value - _TARGET_TOL)
            self.target_reached_ = bool(reached.size)
            if reached.size:
                best = reached[-1]
            else:
                best = np.flatnonzero(accuracy == accuracy.max())[-1]
                warnings.warn(
                    f"No threshold reaches the target_value={self.target_value} of "
                    f"held-out selective accuracy; the highest is "
                    f"{accuracy[best]:.4f} (coverage {coverage[best]:.4f}), whose "
                    "threshold is used. See cv_results_.",
                    UserWarning,
                    stacklevel=2,
                )
        # at full coverage keep every new sample too, however unsure
        self.threshold_ = float(thresholds[best]) if coverage[best] < 1 else 0.0
        self.best_score_ = float(accuracy[best])
        self.best_coverage_ = float(coverage[best])

        self.estimator_ = clone(self.estimator).fit(X, y, **fit_params)
        return self._finish_fit()

    @classmethod
    def _get_test_params(cls):
        """Cheap parameters for :mod:`skanimal.utils.estimator_checks`."""
        return {"cv": 2, "target": "coverage", "target_value": 1.0}

"""Plot of the risk-coverage curve, in the style of scikit-learn's displays."""

# Authors: the skanimal developers
# SPDX-License-Identifier: BSD-3-Clause

from numbers import Real

import numpy as np
from sklearn.utils.validation import check_is_fitted

from ._selective import _area_under_risk, risk_coverage_curve

__all__ = ["RiskCoverageDisplay"]


class RiskCoverageDisplay:
    """Risk-coverage curve: selective accuracy (or risk) against coverage.

    Create it with :meth:`from_estimator` or :meth:`from_predictions`; every
    attribute is then set. A point marks a chosen confidence threshold (by
    default that of a fitted :class:`ConfidenceThresholdClassifier`).

    Parameters
    ----------
    coverage : ndarray of shape (n_thresholds,)
        Fraction of samples kept at each threshold, increasing.
    selective_accuracy : ndarray of shape (n_thresholds,)
        Accuracy on the kept samples at each threshold.
    thresholds : ndarray of shape (n_thresholds,)
        The confidence thresholds, decreasing.
    aurc : float, default=None
        Area under the risk-coverage curve, shown in the legend.
    estimator_name : str, default=None
        Name shown in the legend.

    Attributes
    ----------
    line_ : matplotlib Line2D
        The curve.
    threshold_marker_ : matplotlib Line2D or None
        The marker of the chosen threshold, if any.
    ax_ : matplotlib Axes
        The axes of the plot.
    figure_ : matplotlib Figure
        The figure of the plot.

    See Also
    --------
    risk_coverage_curve : Compute the curve.
    aurc_score : The area under it.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> from skanimal.selective import RiskCoverageDisplay
    >>> display = RiskCoverageDisplay.from_predictions(
    ...     [1, 0, 1, 0], [1, 0, 0, 0], [0.9, 0.8, 0.7, 0.6], threshold=0.75)
    >>> display.coverage.tolist()
    [0.25, 0.5, 0.75, 1.0]
    >>> display.threshold_marker_.get_xydata().tolist()
    [[0.5, 1.0]]
    """

    def __init__(
        self, *, coverage, selective_accuracy, thresholds, aurc=None, estimator_name=None
    ):
        self.coverage = coverage
        self.selective_accuracy = selective_accuracy
        self.thresholds = thresholds
        self.aurc = aurc
        self.estimator_name = estimator_name

    def plot(self, ax=None, *, name=None, risk=False, threshold=None, **kwargs):
        """Plot the curve.

        Parameters
        ----------
        ax : matplotlib Axes, default=None
            Axes to plot on; a new figure when None.
        name : str, default=None
            Name in the legend; `estimator_name` when None.
        risk : bool, default=False
            Plot the selective risk ``1 - accuracy`` instead of the accuracy.
        threshold : float, default=None
            Mark the point of this confidence threshold: the samples whose
            confidence is at least `threshold` are kept.
        **kwargs : dict
            Passed to :meth:`matplotlib.axes.Axes.plot` for the curve.

        Returns
        -------
        display : RiskCoverageDisplay
            The display, with ``line_``, ``threshold_marker_``, ``ax_`` and
            ``figure_`` set.
        """
        import matplotlib.pyplot as plt

        if ax is None:
            _, ax = plt.subplots()
        name = self.estimator_name if name is None else name
        coverage = np.asarray(self.coverage)
        values = np.asarray(self.selective_accuracy)
        if risk:
            values = 1.0 - values
        label = name
        if self.aurc is not None:
            label = f"AURC = {self.aurc:.3f}" if name is None else (
                f"{name} (AURC = {self.aurc:.3f})")
        line_kwargs = dict(kwargs)
        if label is not None:
            line_kwargs.setdefault("label", label)
        (self.line_,) = ax.plot(coverage, values, **line_kwargs)

        self.threshold_marker_ = None
        if threshold is not None:
            if not isinstance(threshold, Real):
                raise ValueError(f"threshold must be a number, got {threshold!r}.")
            kept = np.flatnonzero(np.asarray(self.thresholds) >= threshold)
            if kept.size:  # the point of the smallest curve threshold >= threshold
                i = kept[-1]
                (self.threshold_marker_,) = ax.plot(
                    [coverage[i]], [values[i]], "o", color=self.line_.get_color(),
                    label=f"threshold {threshold:g}: coverage {coverage[i]:.0%}",
                )
        ax.set(
            xlabel="Coverage (fraction of samples kept)",
            ylabel="Selective risk" if risk else "Selective accuracy",
            xlim=(-0.01, 1.01),
        )
        if line_kwargs.get("label") is not None or self.threshold_marker_ is not None:
            ax.legend(loc="lower left" if risk else "lower right")
        self.ax_ = ax
        self.figure_ = ax.figure
        return self

    @classmethod
    def from_predictions(
        cls, y_true, y_pred, confidence, *, name=None, ax=None, risk=False,
        threshold=None, **kwargs,
    ):
        """Plot the curve from predictions and their confidences.

        Parameters
        ----------
        y_true : array-like of shape (n_samples,)
            True labels.
        y_pred : array-like of shape (n_samples,)
            Predictions without abstention.
        confidence : array-like of shape (n_samples,)
            Confidence of each prediction, e.g. the winning-class probability.
        name : str, default=None
            Name in the legend.
        ax : matplotlib Axes, default=None
            Axes to plot on; a new figure when None.
        risk : bool, default=False
            Plot the selective risk instead of the accuracy.
        threshold : float, default=None
            Mark the point of this confidence threshold.
        **kwargs : dict
            Passed to :meth:`matplotlib.axes.Axes.plot` for the curve.

        Returns
        -------
        display : RiskCoverageDisplay
            The plotted display.
        """
        coverage, accuracy, thresholds = risk_coverage_curve(y_true, y_pred, confidence)
        display = cls(
            coverage=coverage,
            selective_accuracy=accuracy,
            thresholds=thresholds,
            aurc=_area_under_risk(coverage, accuracy),
            estimator_name=name,
        )
        return display.plot(ax=ax, risk=risk, threshold=threshold, **kwargs)

    @classmethod
    def from_estimator(
        cls, estimator, X, y, *, name=None, ax=None, risk=False, threshold="auto",
        **kwargs,
    ):
        """Plot the curve of a fitted classifier on data.

        Parameters
        ----------
        estimator : estimator instance
            A fitted classifier with ``predict_proba``, e.g. a fitted
            :class:`ConfidenceThresholdClassifier`. Its prediction is the
            argmax of ``predict_proba`` and its confidence the maximum.
        X : array-like
            The samples, in any form the estimator accepts.
        y : array-like of shape (n_samples,)
            True labels.
        name : str, default=None
            Name in the legend; the estimator's class name when None.
        ax : matplotlib Axes, default=None
            Axes to plot on; a new figure when None.
        risk : bool, default=False
            Plot the selective risk instead of the accuracy.
        threshold : float, "auto" or None, default="auto"
            The threshold to mark. ``"auto"``: the estimator's ``threshold_``
            if it has one, else none; None: no marker.
        **kwargs : dict
            Passed to :meth:`matplotlib.axes.Axes.plot` for the curve.

        Returns
        -------
        display : RiskCoverageDisplay
            The plotted display.
        """
        check_is_fitted(estimator)
        if not hasattr(estimator, "predict_proba"):
            raise ValueError(
                f"estimator {type(estimator).__name__} has no predict_proba; the "
                "risk-coverage curve needs a confidence."
            )
        proba = np.asarray(estimator.predict_proba(X))
        y_pred = np.asarray(estimator.classes_)[np.argmax(proba, axis=1)]
        if isinstance(threshold, str) and threshold == "auto":
            threshold = getattr(estimator, "threshold_", None)
        name = type(estimator).__name__ if name is None else name
        return cls.from_predictions(
            y, y_pred, proba.max(axis=1), name=name, ax=ax, risk=risk,
            threshold=threshold, **kwargs,
        )

"""Train one benchmark method on all the data and save it, with its subject-wise estimate."""

# Authors: the skanimal developers
# SPDX-License-Identifier: BSD-3-Clause

import numpy as np
from sklearn.base import clone, is_classifier
from sklearn.utils import Bunch
from sklearn.utils.validation import has_fit_parameter

from ..evaluation import subject_report
from ..exceptions import DataError
from ..utils import check_images
from ..utils._docs import cite_papers
from ..utils._records import jsonable
from ..utils._validation import check_1d
from ._suite import BenchmarkMethod, _extract, _splitter, check_benchmark_data, make_pipeline

__all__ = ["train_model"]


def _pooled(report):
    """The pooled row of a subject report as plain values."""
    row = report.loc["pooled"]
    return {str(k): jsonable(v) for k, v in row.items() if not isinstance(v, (list, dict))}


@cite_papers("liu2025", "tuttle2018")
def train_model(method, X, y, groups, path, *, abstain_threshold=None, cv=None, n_jobs=None,
                verbose=0, chunk_size=64, overwrite=False, metadata=None):
    """Fit a benchmark method on all the data, estimate it subject-wise, save it.

    The accuracy of a model on the images it was trained on says nothing of
    how it will do on animals it has never seen. So the method is first
    evaluated exactly as a row of :func:`run_benchmark` (by default leave one
    subject out [1]_: each fold's model never sees the held-out animal),
    and that estimate is returned and stored in the model file; then the
    method is fitted once on all the images and saved with
    :func:`skanimal.save_model`.

    Parameters
    ----------
    method : BenchmarkMethod
        The method, e.g. one of :func:`default_methods`,
        :func:`linear_probe_methods`, :func:`network_methods` or
        :func:`search_methods` (a search is refitted on all the data and
        its best estimator saved).
    X : array-like of str of shape (n_samples,) or ndarray of shape \
            (n_samples, height, width[, channels])
        The training images.
    y : array-like of shape (n_samples,)
        Their labels.
    groups : array-like of shape (n_samples,)
        Their subjects.
    path : str or path-like
        The model file to write; checked before anything is computed.
    abstain_threshold : float in (0, 1], default=None
        Save an abstaining classifier
        (:class:`~skanimal.selective.ConfidenceThresholdClassifier`, the aMGS
        rule [2]_, 0.75 in that paper) that discards images whose winning
        class probability is under this value, and report coverage and the
        selective metrics in the estimate. The method needs
        ``predict_proba``.
    cv : int, "loso", cross-validation generator or iterable, default=None
        The folds of the estimate, as in :func:`run_benchmark`.
    n_jobs : int, default=None
        Folds evaluated in parallel.
    verbose : int, default=0
        1 shows progress bars on standard error.
    chunk_size : int, default=64
        Images per feature-extraction step.
    overwrite : bool, default=False
        Replace an existing model file.
    metadata : dict, default=None
        Your own JSON-serialisable information, stored in the file with the
        method's name and its estimate.

    Returns
    -------
    result : :class:`~sklearn.utils.Bunch`
        ``model`` (the fitted estimator as saved), ``report`` (the
        :func:`~skanimal.evaluation.subject_report` of the estimate),
        ``metadata`` (what :func:`skanimal.read_model_metadata` returns for
        the file) and ``path``.

    Raises
    ------
    skanimal.ModelExistsError
        If `path` exists and `overwrite` is False, before anything is fitted.
    skanimal.exceptions.DataError
        Before anything is fitted, when the labels, subjects or folds cannot
        be used (see :func:`check_benchmark_data`), or `abstain_threshold`
        is given for a method without probabilities.

    See Also
    --------
    run_benchmark : The same estimate for many methods.
    skanimal.load_model : Load the saved model.
    skanimal.scoring.score_animals : Apply it to new animals.

    Examples
    --------
    >>> import os, tempfile
    >>> from skanimal import load_model
    >>> from skanimal.benchmark import default_methods, train_model
    >>> from skanimal.datasets import make_grimace_faces
    >>> data = make_grimace_faces(n_samples=60, image_size=48, random_state=0)
    >>> with tempfile.TemporaryDirectory() as d:
    ...     result = train_model(default_methods()[0], data.images, data.target,
    ...                          data.groups, os.path.join(d, "lbp.skanimal"))
    ...     model = load_model(result.path)
    >>> result.metadata["user"]["method"]
    'LBP R1P8 4x4'
    >>> int(result.report.loc["pooled", "n_images"])
    60
    >>> bool((model.predict(data.images) == result.model.predict(data.images)).all())
    True
    """
    from sklearn.frozen import FrozenEstimator

    from .._persist import check_model_path, save_model
    from ..selective import ConfidenceThresholdClassifier

    if not isinstance(method, BenchmarkMethod):
        raise TypeError(f"method must be a BenchmarkMethod (e.g. one of default_methods()), "
                        f"got {type(method).__name__}.")
    path = check_model_path(path, overwrite=overwrite)
    if abstain_threshold is not None:
        abstain_threshold = float(abstain_threshold)
        if not 0.0 < abstain_threshold <= 1.0:
            raise ValueError(f"abstain_threshold must be in (0, 1], got {abstain_threshold}.")
        if not hasattr(method.estimator, "predict_proba"):
            raise DataError(
                f"abstain_threshold: {method.name!r} gives no probabilities (its "
                f"{type(method.estimator).__name__} has no predict_proba), so it cannot "
                "abstain; choose a method with probabilities (a linear probe, a network).")
    X = check_images(X)
    folds = check_benchmark_data(X, y, groups, cv=cv,
                                 classifier=is_classifier(method.estimator))
    splitter = _splitter(cv)
    if not hasattr(splitter, "split"):  # an iterable of pairs, consumed by the check
        splitter = folds
    y, groups = check_1d(y, "y"), check_1d(groups, "groups")

    data, features = X, None
    if method.features is not None:  # stateless: computed once, for the folds and the fit
        bar = None
        if verbose:
            from tqdm.auto import tqdm

            bar = tqdm(total=len(X), unit="img", leave=False,
                       desc=f"features {type(method.features).__name__}")
        try:
            data, features = _extract(method.features, X, chunk_size=chunk_size,
                                      progress=bar, return_fitted=True)
        finally:
            if bar is not None:
                bar.close()
    params = {"groups": groups} if has_fit_parameter(method.estimator, "groups") else {}
    report = subject_report(method.estimator, data, y, groups, cv=splitter,
                            n_jobs=n_jobs, params=params or None,
                            abstain_threshold=abstain_threshold)

    estimator = clone(method.estimator).fit(data, y, **params)
    search = None
    if hasattr(estimator, "best_estimator_"):
        search = {"best_params": jsonable(estimator.best_params_),
                  "best_score": jsonable(getattr(estimator, "best_score_", None))}
        estimator = estimator.best_estimator_
    model = estimator if features is None else make_pipeline(features, estimator)
    if abstain_threshold is not None:
        # the fitted model, frozen: the wrapper only adds the abstention rule
        model = ConfidenceThresholdClassifier(FrozenEstimator(model),
                                              threshold=abstain_threshold).fit(X, y)
    record = {
        "method": method.name,
        "description": method.description,
        "abstain_threshold": abstain_threshold,
        "subject_wise_estimate": {
            "cv": type(splitter).__name__ if hasattr(splitter, "split") else "given folds",
            "n_subjects": int(np.unique(groups).size),
            "n_folds": len(folds),
            "pooled": _pooled(report),
        },
    }
    if search is not None:
        record["search"] = search
    record.update(metadata or {})
    meta = save_model(model, path, metadata=jsonable(record), overwrite=overwrite,
                      X=X, y=y, groups=groups)
    return Bunch(model=model, report=report, metadata=meta, path=path)

"""Checks that an image estimator follows scikit-learn and skanimal conventions.

scikit-learn's :func:`~sklearn.utils.estimator_checks.check_estimator` feeds
2-D float tables, so it cannot test an estimator whose X is image paths or an
image array: it yields nothing but a clone check. This module runs the
scikit-learn API checks that never touch data, and replaces the data checks by
versions that use **real image files**: every data check writes a small set of
structured RGB PNG images (a few subjects, binary labels) to a temporary
folder, runs, and removes the folder.

Use :func:`parametrize_with_checks` in a pytest module, or
:func:`check_image_estimator` anywhere::

    from skanimal.utils.estimator_checks import parametrize_with_checks

    @parametrize_with_checks([MyImageTransformer()])
    def test_my_estimator(estimator, check):
        check(estimator)

Which checks run depends on the estimator: transformers (a ``transform``
method), classifiers and regressors (their ``estimator_type`` tag) each get
their own, and checks for greyscale arrays or the unfitted state follow the
tags (``three_d_array``, ``requires_fit``, ``non_deterministic``).

**Cheap test parameters.** Image estimators often default to expensive
settings (224-pixel inputs, large networks). An estimator may define a
``_get_test_params()`` method or classmethod (as in sktime) returning a dict,
or a list of dicts, of parameter values that make it fast on the check images
(about 40 pixels square), for example ``{"image_size": 32}``. The data checks
then run once per returned dict, on ``clone(estimator).set_params(**params)``;
the API checks always run on the estimator as given. Pass ``use_test_params=False`` to run the data
checks on the estimator as given.

**Expected failures.** :func:`expected_failed_checks` returns, for each of
skanimal's estimators, the checks it fails by design (the networks are skorch
nets, an abstaining classifier's ``predict`` is not the argmax of its
``predict_proba``) and why; pass it as ``expected_failed_checks`` to
:func:`parametrize_with_checks` here or in scikit-learn.
"""

# Authors: the skanimal developers
# SPDX-License-Identifier: BSD-3-Clause

import hashlib
import os
import pickle
import re
import sys
import tempfile
from collections.abc import Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from functools import partial, wraps
from pathlib import Path

import joblib
import numpy as np
from PIL import Image
from sklearn import config_context
from sklearn.base import clone, is_classifier, is_regressor
from sklearn.exceptions import NotFittedError
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GroupKFold, cross_val_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils import get_tags
from sklearn.utils.estimator_checks import (
    check_do_not_raise_errors_in_init_or_set_params,
    check_estimator_cloneable,
    check_estimator_repr,
    check_estimator_tags_renamed,
    check_get_feature_names_out_error,
    check_get_params_invariance,
    check_mixin_order,
    check_no_attributes_set_in_init,
    check_param_validation,
    check_parameters_default_constructible,
    check_set_params,
    check_valid_tag_types,
)
from sklearn.utils.validation import check_is_fitted

__all__ = [
    "check_cross_val_score_groups",
    "check_fit_does_not_change_params",
    "check_fit_idempotent",
    "check_fit_returns_self",
    "check_fit_sets_fitted_attributes_only",
    "check_greyscale_input",
    "check_image_estimator",
    "check_image_input_tags",
    "check_input_not_modified",
    "check_missing_file_error",
    "check_paths_arrays_equal",
    "check_pickle_roundtrip",
    "check_predictions",
    "check_sample_order_invariance",
    "check_set_output_pandas",
    "check_subset_invariance",
    "check_transformer_feature_names_out",
    "check_transformer_output",
    "check_unfitted_raises",
    "estimator_checks_generator",
    "expected_failed_checks",
    "make_check_images",
    "parametrize_with_checks",
]

# Methods whose output is compared between runs, in this order.
_OUTPUT_METHODS = (
    "transform",
    "predict",
    "predict_proba",
    "predict_log_proba",
    "decision_function",
    "score_samples",
)


# --------------------------------------------------------------------------
# Check images
# --------------------------------------------------------------------------


@dataclass(frozen=True)
class _CheckImages:
    """Images written to a folder, with labels, targets and subjects."""

    paths: np.ndarray  # object array of str
    images: np.ndarray  # (n, H, W, 3) uint8, the pixels of the files
    y: np.ndarray  # binary int labels
    y_reg: np.ndarray  # float targets
    groups: np.ndarray  # subject ids
    folder: str


def make_check_images(n_subjects=4, images_per_subject=4, size=(36, 44), random_state=0):
    """Generate the structured RGB images used by the data checks.

    Each image is a smooth pattern (oriented stripes whose frequency depends
    on the label, a per-subject gradient and colour shift) plus noise, so that
    texture, colour and layout features all vary between images and a
    classifier can learn the labels. Every subject has both labels.

    Parameters
    ----------
    n_subjects : int, default=4
        Number of subjects.
    images_per_subject : int, default=4
        Images per subject, alternating labels 0 and 1.
    size : tuple of (int, int), default=(36, 44)
        Image ``(height, width)``.
    random_state : int, default=0
        Seed of the noise and orientations.

    Returns
    -------
    images : ndarray of shape (n_images, height, width, 3), dtype uint8
        The images.
    y : ndarray of shape (n_images,), dtype int
        Binary labels.
    groups : ndarray of shape (n_images,), dtype int
        Subject ids.

    Examples
    --------
    >>> from skanimal.utils.estimator_checks import make_check_images
    >>> images, y, groups = make_check_images()
    >>> images.shape, y[:4].tolist(), groups[:5].tolist()
    ((16, 36, 44, 3), [0, 1, 0, 1], [0, 0, 0, 0, 1])
    """
    rng = np.random.default_rng(random_state)
    height, width = size
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float64)
    n = n_subjects * images_per_subject
    groups = np.repeat(np.arange(n_subjects), images_per_subject)
    y = np.tile(np.arange(images_per_subject) % 2, n_subjects)
    images = np.empty((n, height, width, 3), dtype=np.uint8)
    for i in range(n):
        theta = rng.uniform(0, np.pi)
        period = 3.0 + 3.0 * y[i] + rng.uniform(0, 1.5)
        stripes = np.sin((xx * np.cos(theta) + yy * np.sin(theta)) * 2 * np.pi / period)
        gradient = (xx / width - 0.5) * (groups[i] - n_subjects / 2) * 30
        base = 128 + 60 * stripes + gradient
        rgb = np.stack([base + 10 * groups[i], base[::-1], base[:, ::-1] - 10 * y[i]], -1)
        rgb += rng.normal(0, 10, rgb.shape)
        images[i] = np.clip(np.rint(rgb), 0, 255).astype(np.uint8)
    return images, y, groups


@contextmanager
def _check_images():
    """Write the check images as PNG files to a temporary folder."""
    images, y, groups = make_check_images()
    y_reg = y * 2.0 + groups * 0.25 + np.linspace(0, 0.5, len(y))
    with tempfile.TemporaryDirectory(prefix="skanimal-checks-") as folder:
        paths = []
        for i, img in enumerate(images):
            path = os.path.join(folder, f"img_{i:02d}.png")
            Image.fromarray(img).save(path)
            paths.append(path)
        yield _CheckImages(
            paths=np.asarray(paths, dtype=object),
            images=images,
            y=y,
            y_reg=y_reg,
            groups=groups,
            folder=folder,
        )


# --------------------------------------------------------------------------
# Helpers
# --------------------------------------------------------------------------


def _set_random_state(estimator, random_state=0):
    params = estimator.get_params()
    to_set = {k: random_state for k in params if k.endswith("random_state")}
    if to_set:
        estimator.set_params(**to_set)
    return estimator


def _new(estimator_orig):
    return _set_random_state(clone(estimator_orig))


def _target(estimator, data):
    return data.y_reg if is_regressor(estimator) else data.y


def _fit(estimator, X, data):
    return estimator.fit(X, _target(estimator, data))


def _output_methods(estimator):
    return [m for m in _OUTPUT_METHODS if hasattr(estimator, m)]


def _as_array(out):
    if hasattr(out, "to_numpy"):
        out = out.to_numpy()
    return np.asarray(out)


def _outputs(estimator, X):
    return {m: _as_array(getattr(estimator, m)(X)) for m in _output_methods(estimator)}


def _assert_same(a, b, err_msg, exact=False):
    """Assert two outputs are equal: exactly, or within float tolerance."""
    a, b = np.asarray(a), np.asarray(b)
    assert a.shape == b.shape, f"{err_msg}: shapes {a.shape} and {b.shape} differ."
    if exact or a.dtype.kind not in "fc" or b.dtype.kind not in "fc":
        np.testing.assert_array_equal(a, b, err_msg=err_msg)
        return
    single = np.float32 in (a.dtype, b.dtype)
    np.testing.assert_allclose(
        a, b, rtol=1e-5 if single else 1e-7, atol=1e-6 if single else 1e-9,
        err_msg=err_msg,
    )


def _assert_outputs_same(out_a, out_b, what, name, exact=False):
    assert out_a.keys() == out_b.keys()
    for method in out_a:
        _assert_same(out_a[method], out_b[method], f"{name}.{method}: {what}", exact=exact)


def _contains_estimator(value):
    if hasattr(value, "get_params") and not isinstance(value, type):
        return True
    if isinstance(value, (list, tuple)):
        return any(_contains_estimator(v) for v in value)
    return False


def _input_tags(estimator):
    """Input tags; for a pipeline, those of its first step.

    scikit-learn's :class:`~sklearn.pipeline.Pipeline` does not pass the
    ``two_d_array``, ``string`` and ``three_d_array`` tags of its first step
    on, so they are read from that step.
    """
    steps = getattr(estimator, "steps", None)
    if isinstance(steps, list) and steps:
        first = steps[0][1]
        if first is not None and first != "passthrough":
            return _input_tags(first)
    return get_tags(estimator).input_tags


def _file_state(folder):
    state = {}
    for entry in sorted(os.scandir(folder), key=lambda e: e.name):
        if not entry.is_file():
            state[entry.name] = "not a file"
            continue
        stat = entry.stat()
        with open(entry.path, "rb") as fh:
            digest = hashlib.sha1(fh.read()).hexdigest()
        state[entry.name] = (stat.st_size, stat.st_mtime_ns, digest)
    return state


# --------------------------------------------------------------------------
# Data checks. Each takes (name, estimator_orig) like scikit-learn's checks.
# --------------------------------------------------------------------------

_CHECK_PARAMETERS = """

    Parameters
    ----------
    name : str
        The estimator's name, used in messages.
    estimator_orig : estimator object
        The estimator to check. It is cloned, never fitted itself.

    Raises
    ------
    AssertionError
        If the estimator fails the check (or the exception it raised).
    """


def _image_check(func):
    """Add the Parameters and Raises sections shared by every data check."""
    func.__doc__ = func.__doc__.rstrip() + _CHECK_PARAMETERS
    return func


@_image_check
def check_image_input_tags(name, estimator_orig):
    """Check that the input tags declare image input honestly.

    An image estimator must not claim 2-D tabular input (``two_d_array``),
    and must accept paths (``string``) or image arrays (``three_d_array``).
    A pipeline is judged by its first step.
    """
    tags = _input_tags(estimator_orig)
    assert not tags.two_d_array, (
        f"{name} declares input_tags.two_d_array=True, but an image estimator does "
        "not accept a 2-D table; set it to False in __sklearn_tags__."
    )
    assert tags.string or tags.three_d_array, (
        f"{name} declares neither input_tags.string (image paths) nor "
        "input_tags.three_d_array (image arrays)."
    )


@_image_check
def check_fit_returns_self(name, estimator_orig):
    """Check that ``fit`` returns the estimator itself, on paths and arrays."""
    with _check_images() as data:
        for X in (data.paths, data.images):
            estimator = _new(estimator_orig)
            assert _fit(estimator, X, data) is estimator, f"{name}.fit must return self."


@_image_check
def check_fit_does_not_change_params(name, estimator_orig):
    """Check that ``fit`` neither changes nor mutates the parameters."""
    estimator = _new(estimator_orig)
    before = {
        k: joblib.hash(v)
        for k, v in estimator.get_params().items()
        if not _contains_estimator(v)
    }
    with _check_images() as data:
        _fit(estimator, data.paths, data)
    after = estimator.get_params()
    for key, digest in before.items():
        assert joblib.hash(after[key]) == digest, (
            f"{name}.fit changed or mutated the parameter {key!r}; parameters must "
            "be left as the user set them (store derived values in attributes "
            "ending with '_')."
        )


@_image_check
def check_fit_sets_fitted_attributes_only(name, estimator_orig):
    """Check that ``fit`` adds only attributes ending or starting with ``_``."""
    estimator = _new(estimator_orig)
    before = dict(vars(estimator))
    with _check_images() as data:
        _fit(estimator, data.paths, data)
    added = [
        k for k in vars(estimator)
        if k not in before and not k.endswith("_") and not k.startswith("_")
    ]
    assert not added, (
        f"{name}.fit set the public attributes {sorted(added)}; fitted attributes "
        "must end with '_' (private ones may start with '_')."
    )
    changed = [
        k for k, v in before.items()
        if not k.startswith("_") and joblib.hash(vars(estimator)[k]) != joblib.hash(v)
        and not _contains_estimator(v)
    ]
    assert not changed, f"{name}.fit changed the public attributes {sorted(changed)}."


@_image_check
def check_unfitted_raises(name, estimator_orig):
    """Check that an unfitted estimator raises ``NotFittedError``."""
    estimator = _new(estimator_orig)
    try:
        check_is_fitted(estimator)
    except NotFittedError:
        pass
    else:
        raise AssertionError(f"check_is_fitted accepts an unfitted {name}.")
    with _check_images() as data:
        for method in _output_methods(estimator):
            try:
                getattr(estimator, method)(data.paths)
            except NotFittedError:
                continue
            except Exception as exc:
                raise AssertionError(
                    f"unfitted {name}.{method} raised {type(exc).__name__}: {exc}; "
                    "expected NotFittedError."
                ) from exc
            raise AssertionError(f"unfitted {name}.{method} did not raise NotFittedError.")
        _fit(estimator, data.paths, data)
    check_is_fitted(estimator)


@_image_check
def check_fit_idempotent(name, estimator_orig):
    """Check that fitting again, even after fitting other data, gives the same model."""
    with _check_images() as data:
        # Two halves by subject; every subject has both labels.
        first = data.groups < data.groups.max() / 2
        estimator = _new(estimator_orig)
        y = _target(estimator, data)
        estimator.fit(data.paths[first], y[first])
        expected = _outputs(estimator, data.paths)
        estimator.fit(data.paths[~first], y[~first])
        estimator.fit(data.paths[first], y[first])
        got = _outputs(estimator, data.paths)
    _assert_outputs_same(expected, got, "refitting on the same data changed the output",
                         name)


@_image_check
def check_input_not_modified(name, estimator_orig):
    """Check that X and the image files are left untouched.

    The arrays passed must not be modified in place, and the image folder must
    hold the same files, byte for byte and with the same modification times,
    and nothing more.
    """
    with _check_images() as data:
        state = _file_state(data.folder)
        for X in (data.paths, data.images):
            X_before = X.copy()
            estimator = _fit(_new(estimator_orig), X, data)
            _outputs(estimator, X)
            np.testing.assert_array_equal(
                X, X_before, err_msg=f"{name} modified its input X in place."
            )
        assert _file_state(data.folder) == state, (
            f"{name} modified, removed or added files in the image folder."
        )


@_image_check
def check_pickle_roundtrip(name, estimator_orig):
    """Check that pickle and joblib round trips give identical output."""
    with _check_images() as data:
        estimator = _fit(_new(estimator_orig), data.paths, data)
        expected = _outputs(estimator, data.paths)
        restored = pickle.loads(pickle.dumps(estimator))
        _assert_outputs_same(expected, _outputs(restored, data.paths),
                             "output changed after a pickle round trip", name, exact=True)
        with tempfile.TemporaryDirectory(prefix="skanimal-checks-") as tmp:
            path = os.path.join(tmp, "estimator.joblib")
            joblib.dump(estimator, path)
            restored = joblib.load(path)
        _assert_outputs_same(expected, _outputs(restored, data.paths),
                             "output changed after a joblib round trip", name, exact=True)


@_image_check
def check_sample_order_invariance(name, estimator_orig):
    """Check that permuting X permutes the output rows, and nothing else."""
    with _check_images() as data:
        estimator = _fit(_new(estimator_orig), data.paths, data)
        perm = np.random.default_rng(1).permutation(len(data.paths))
        expected = {m: out[perm] for m, out in _outputs(estimator, data.paths).items()}
        got = _outputs(estimator, data.paths[perm])
    _assert_outputs_same(expected, got, "output depends on the order of the images",
                         name)


@_image_check
def check_subset_invariance(name, estimator_orig):
    """Check that the output of an image does not depend on its batch.

    Applying a method to ``X[:k]`` and ``X[k:]`` separately, or to one image
    at a time, must give the rows of the output on the whole of X.
    """
    with _check_images() as data:
        X = data.paths
        estimator = _fit(_new(estimator_orig), X, data)
        expected = _outputs(estimator, X)
        k = len(X) // 3
        halves = [_outputs(estimator, X[:k]), _outputs(estimator, X[k:])]
        split = {m: np.concatenate([h[m] for h in halves]) for m in expected}
        _assert_outputs_same(expected, split,
                             "output on X[:k] and X[k:] differs from the output on X", name)
        singles = [_outputs(estimator, X[i:i + 1]) for i in range(len(X))]
        one_by_one = {m: np.concatenate([s[m] for s in singles]) for m in expected}
        _assert_outputs_same(expected, one_by_one,
                             "output on one image at a time differs from the output on X",
                             name)


@_image_check
def check_paths_arrays_equal(name, estimator_orig):
    """Check that paths and arrays of the same pixels give the same output.

    The check images are lossless PNG files, so the estimator must give the
    same output, fitted and applied, on the paths (an object array, a list of
    :class:`pathlib.Path`, a :class:`pandas.Series`), on the uint8 array and
    on the same array as floats in [0, 1].
    """
    import pandas as pd

    with _check_images() as data:
        inputs = {
            "paths": data.paths,
            "list of Path": [Path(p) for p in data.paths],
            "pandas Series of paths": pd.Series(data.paths, name="path"),
            "uint8 array": data.images,
            "float array": data.images.astype(np.float32) / np.float32(255),
        }
        expected = None
        for kind, X in inputs.items():
            estimator = _fit(_new(estimator_orig), X, data)
            got = _outputs(estimator, X)
            if expected is None:
                expected = got
                continue
            _assert_outputs_same(expected, got, f"output on {kind} differs from paths",
                                 name)


@_image_check
def check_greyscale_input(name, estimator_orig):
    """Check greyscale input: (n, H, W) and (n, H, W, 1) arrays and greyscale PNGs agree."""
    with _check_images() as data:
        grey = np.stack([np.asarray(Image.fromarray(im).convert("L")) for im in data.images])
        grey_paths = []
        for i, img in enumerate(grey):
            path = os.path.join(data.folder, f"grey_{i:02d}.png")
            Image.fromarray(img).save(path)
            grey_paths.append(path)
        grey_paths = np.asarray(grey_paths, dtype=object)
        estimator = _fit(_new(estimator_orig), grey, data)
        expected = _outputs(estimator, grey)
        for method, out in expected.items():
            assert out.shape[0] == len(grey), (
                f"{name}.{method} returned {out.shape[0]} rows for {len(grey)} images."
            )
        for kind, X in (("(n, H, W, 1) array", grey[..., np.newaxis]),
                        ("greyscale PNG paths", grey_paths)):
            estimator = _fit(_new(estimator_orig), X, data)
            _assert_outputs_same(expected, _outputs(estimator, X),
                                 f"output on {kind} differs from (n, H, W) arrays", name)


@_image_check
def check_missing_file_error(name, estimator_orig):
    """Check that a missing image file raises an error that names it."""
    with _check_images() as data:
        estimator = _fit(_new(estimator_orig), data.paths, data)
        missing = os.path.join(data.folder, "no-such-image-1234.png")
        X = data.paths.copy()
        X[1] = missing
        for method in _output_methods(estimator):
            try:
                getattr(estimator, method)(X)
            except (OSError, ValueError) as exc:
                assert "no-such-image-1234.png" in str(exc), (
                    f"{name}.{method} raised {type(exc).__name__} for a missing file "
                    f"without naming it: {exc}"
                )
            except Exception as exc:
                raise AssertionError(
                    f"{name}.{method} raised {type(exc).__name__} for a missing file; "
                    f"expected FileNotFoundError (an OSError): {exc}"
                ) from exc
            else:
                raise AssertionError(f"{name}.{method} did not fail on a missing file.")


@_image_check
def check_transformer_output(name, estimator_orig):
    """Check transform: a finite 2-D numeric array, equal to ``fit_transform``."""
    with _check_images() as data:
        estimator = _fit(_new(estimator_orig), data.paths, data)
        Xt = _as_array(estimator.transform(data.paths))
        assert Xt.ndim == 2 and Xt.shape[0] == len(data.paths), (
            f"{name}.transform must return shape (n_samples, n_features), got {Xt.shape}."
        )
        assert Xt.dtype.kind in "fiub" and np.all(np.isfinite(Xt)), (
            f"{name}.transform returned non-numeric or non-finite values."
        )
        Xt2 = _as_array(_new(estimator_orig).fit_transform(data.paths, _target(estimator, data)))
        _assert_same(Xt, Xt2, f"{name}: fit_transform differs from fit().transform()")


@_image_check
def check_transformer_feature_names_out(name, estimator_orig):
    """Check ``get_feature_names_out``: one unique str per output column."""
    with _check_images() as data:
        estimator = _fit(_new(estimator_orig), data.paths, data)
        n_out = _as_array(estimator.transform(data.paths[:2])).shape[1]
    names = estimator.get_feature_names_out()
    assert len(names) == n_out, (
        f"{name}.get_feature_names_out() returned {len(names)} names for {n_out} columns."
    )
    assert all(isinstance(n, str) for n in names), f"{name}: feature names must be str."
    assert len(set(names)) == len(names), f"{name}: feature names must be unique."


@_image_check
def check_set_output_pandas(name, estimator_orig):
    """Check ``set_output(transform="pandas")``: a DataFrame with the feature names.

    Its values equal the default output, and a pandas Series of paths keeps its
    index.
    """
    import pandas as pd

    with _check_images() as data:
        estimator = _fit(_new(estimator_orig), data.paths, data)
        expected = _as_array(estimator.transform(data.paths))
        estimator.set_output(transform="pandas")
        index = [f"s{i}" for i in range(len(data.paths))]
        df = estimator.transform(pd.Series(data.paths, index=index))
    assert isinstance(df, pd.DataFrame), (
        f"{name}.set_output(transform='pandas').transform returned {type(df).__name__}."
    )
    assert list(df.columns) == list(estimator.get_feature_names_out()), (
        f"{name}: the DataFrame columns are not get_feature_names_out()."
    )
    assert list(df.index) == index, f"{name}: the index of a Series X was not kept."
    _assert_same(expected, df.to_numpy(), f"{name}: pandas output differs")


@_image_check
def check_predictions(name, estimator_orig):
    """Check predict (and predict_proba) of classifiers and regressors.

    Classifiers: ``classes_`` are the sorted labels, string labels come back as
    strings, ``predict_proba`` rows sum to one. Regressors: finite predictions
    of shape (n_samples,).
    """
    with _check_images() as data:
        n = len(data.paths)
        if is_classifier(estimator_orig):
            labels = np.array(["no pain", "pain"], dtype=object)[data.y]
            estimator = _new(estimator_orig).fit(data.paths, labels)
            np.testing.assert_array_equal(
                estimator.classes_, ["no pain", "pain"],
                err_msg=f"{name}.classes_ must be the sorted unique labels.",
            )
            pred = _as_array(estimator.predict(data.paths))
            assert pred.shape == (n,), f"{name}.predict returned shape {pred.shape}."
            assert set(pred) <= {"no pain", "pain"}, (
                f"{name}.predict returned values that are not labels: {set(pred)}."
            )
            if hasattr(estimator, "predict_proba"):
                proba = _as_array(estimator.predict_proba(data.paths))
                assert proba.shape == (n, 2), f"{name}.predict_proba shape {proba.shape}."
                np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=1e-5,
                                           err_msg=f"{name}.predict_proba rows must sum to 1.")
        else:
            estimator = _fit(_new(estimator_orig), data.paths, data)
            pred = _as_array(estimator.predict(data.paths))
            assert pred.shape == (n,), f"{name}.predict returned shape {pred.shape}."
            assert pred.dtype.kind in "fiu" and np.all(np.isfinite(pred)), (
                f"{name}.predict returned non-finite or non-numeric values."
            )


@_image_check
def check_cross_val_score_groups(name, estimator_orig):
    """Check subject-wise ``cross_val_score`` with ``GroupKFold``.

    A classifier or regressor is cross-validated as it is; a transformer is
    cross-validated in ``make_pipeline(transformer, StandardScaler(),
    LogisticRegression())``.
    Scores must be finite and equal on paths and on arrays.
    """
    if is_classifier(estimator_orig) or is_regressor(estimator_orig):
        model = _new(estimator_orig)
    else:
        model = make_pipeline(
            _new(estimator_orig), StandardScaler(), LogisticRegression(max_iter=1000)
        )
    with _check_images() as data:
        y = _target(model, data)
        cv = GroupKFold(n_splits=len(np.unique(data.groups)))
        scores = {}
        for kind, X in (("paths", data.paths), ("arrays", data.images)):
            scores[kind] = cross_val_score(
                clone(model), X, y, groups=data.groups, cv=cv, error_score="raise"
            )
    assert np.all(np.isfinite(scores["paths"])), f"{name}: non-finite CV scores."
    _assert_same(scores["paths"], scores["arrays"],
                 f"{name}: cross-validation scores differ between paths and arrays")


# --------------------------------------------------------------------------
# Checks skanimal's own estimators fail by design
# --------------------------------------------------------------------------

_SKORCH_NET_FAILURES = {
    "check_no_attributes_set_in_init": (
        "skorch's NeuralNet.__init__ sets history_, initialized_ and virtual_params_ "
        "(skorch's design: initialize() in fit replaces them)."
    ),
    "check_fit_sets_fitted_attributes_only": (
        "history_, initialized_ and virtual_params_ exist before fit (skorch's "
        "NeuralNet.__init__ sets them) and fit replaces them, which the check reads as "
        "fit changing public attributes."
    ),
    "check_set_params": (
        "skorch's get_params() includes its private _params_to_validate set; the check "
        "sets every parameter to placeholder values such as -inf, and skorch's "
        "set_params then calls .add() on that float."
    ),
    "check_param_validation": (
        "_parameter_constraints declares skanimal's own parameters (backbone, weights, "
        "image_size, class_weight, ...); skorch's (lr, max_epochs, module, callbacks and "
        "the prefixed optimizer__*, iterator_train__* keyword parameters) are validated "
        "by skorch in initialize(), so the check finds them missing from the constraints."
    ),
}


_PIPELINE_FAILURES = {
    name: (
        "fit fits the steps' estimators in place, so the steps parameter changes; "
        "scikit-learn's and imbalanced-learn's Pipeline do the same (scikit-learn "
        "lists the same expected failure for its Pipeline)."
    )
    for name in ("check_estimators_overwrite_params", "check_dont_overwrite_parameters")
}


def _is_public_instance(estimator, module_name, class_name):
    """isinstance against a public skanimal class, without importing its module.

    An estimator of a class that was never imported cannot be an instance of it,
    so asking costs no import (the networks import torch).
    """
    cls = getattr(sys.modules.get(module_name), class_name, None)
    return isinstance(cls, type) and isinstance(estimator, cls)


def expected_failed_checks(estimator):
    """The checks a skanimal estimator fails by design, and why.

    skanimal's estimators pass scikit-learn's checks (on 2-D input) and
    skanimal's image-estimator checks (on images), except for the checks
    returned here. They fail because of a design decision, not a defect, and
    each reason says which decision:

    - The networks (:class:`~skanimal.nets.FineTunedClassifier`,
      :class:`~skanimal.nets.FineTunedRegressor`,
      :class:`~skanimal.nets.PainSeekerClassifier`) are skorch nets: skorch
      sets attributes in ``__init__``, lists a private attribute among its
      parameters, and validates its own (and its prefixed keyword) parameters
      in ``initialize()`` rather than through ``_parameter_constraints``.
    - :class:`~skanimal.selective.ConfidenceThresholdClassifier` with a
      ``threshold`` above 0 abstains: ``predict`` returns ``abstain_value``
      where ``predict_proba`` still has a winning class.
    - :class:`~skanimal.sampling.RandomFractionUnderSampler` (alone or in a
      :class:`~skanimal.sampling.SamplerChain`) with ``fractions`` naming a
      class that a check's ``y`` lacks refuses it, naming the class.
    - :class:`~skanimal.model_selection.SubjectSearchCV` scores a failing
      inner fit ``error_score``, as :class:`~sklearn.model_selection.GridSearchCV`
      does, and reports the error when no trial completed.
    - :class:`~skanimal.pipeline.Pipeline` fits its steps in place, like
      scikit-learn's and imbalanced-learn's pipelines, and its sampler steps
      return a 1-D ``y``.

    Pass it to scikit-learn's or skanimal's check runners, which mark these
    checks as expected failures (``xfail``) or skip them.

    Parameters
    ----------
    estimator : estimator object
        The estimator instance the checks run on. Some failures depend on its
        parameters (an abstaining threshold).

    Returns
    -------
    failed_checks : dict
        ``{check_name: reason}``; empty for an estimator that passes every
        check, and for estimators that are not skanimal's.

    See Also
    --------
    parametrize_with_checks : Takes this function as ``expected_failed_checks``.
    sklearn.utils.estimator_checks.check_estimator : Takes its result as
        ``expected_failed_checks``.

    Examples
    --------
    >>> from sklearn.linear_model import LogisticRegression
    >>> from sklearn.utils.estimator_checks import check_estimator
    >>> from skanimal.selective import ConfidenceThresholdClassifier
    >>> from skanimal.utils.estimator_checks import expected_failed_checks
    >>> clf = ConfidenceThresholdClassifier(LogisticRegression(), threshold=0.75)
    >>> sorted(expected_failed_checks(clf))
    ['check_classifiers_train']
    >>> results = check_estimator(clf, expected_failed_checks=expected_failed_checks(clf))
    >>> {r["check_name"] for r in results if r["status"] == "xfail"}
    {'check_classifiers_train'}
    >>> expected_failed_checks(LogisticRegression())
    {}
    """
    failed = {}
    if _is_public_instance(estimator, "skanimal.nets", "ImageNetMixin"):
        failed.update(_SKORCH_NET_FAILURES)
    if _is_public_instance(
        estimator, "skanimal.selective", "ConfidenceThresholdClassifier"
    ) and _positive(getattr(estimator, "threshold", None)):
        failed["check_classifiers_train"] = (
            f"with threshold={estimator.threshold!r}, predict returns abstain_value for "
            "samples whose winning-class probability is below the threshold; the check "
            "requires predict to equal the argmax of predict_proba (and the sign of "
            "decision_function) on every sample. With threshold=0 it passes."
        )
    if _is_public_instance(estimator, "skanimal.model_selection", "SubjectSearchCV"):
        failed["check_dtype_object"] = (
            "inner fit errors are scored error_score (NaN) as in GridSearchCV, so the "
            "TypeError of a bad dtype surfaces as the ValueError 'No trial ... completed' "
            "naming it, not as the TypeError the check expects."
        )
    named = sorted(_named_absent_classes(estimator), key=str)
    if named:
        why = (
            f"fractions names the class(es) {named}, and the check's y has only the "
            "classes 1 and 2: a fraction for a class that is not in y is an error naming "
            "the class, by design (a misspelt or missing label must not pass silently)."
        )
        failed["check_estimators_dtypes"] = why
        failed["check_fit2d_1feature"] = why
    if _is_public_instance(estimator, "skanimal.pipeline", "Pipeline"):
        failed.update(_PIPELINE_FAILURES)
        steps = getattr(estimator, "steps", None) or []
        if any(hasattr(step, "fit_resample") for _, step in steps[:-1]):
            failed["check_supervised_y_2d"] = (
                "a sampler step returns y as a 1-D array (as imbalanced-learn's samplers "
                "do), so the final estimator never sees the column vector and raises no "
                "DataConversionWarning, which the check expects."
            )
    return failed


def _named_absent_classes(estimator):
    """Classes a RandomFractionUnderSampler (or a chain's) names that the checks' y lacks."""
    if _is_public_instance(estimator, "skanimal.sampling", "SamplerChain"):
        return {c for _, step in estimator.steps for c in _named_absent_classes(step)}
    if _is_public_instance(estimator, "skanimal.sampling", "RandomFractionUnderSampler"):
        fractions = estimator.fractions
        if isinstance(fractions, Mapping):
            return {c for c in fractions if c not in (1, 2)}
    return set()


def _positive(value):
    try:
        return float(value) > 0
    except (TypeError, ValueError):
        return False


# --------------------------------------------------------------------------
# Generators and runners
# --------------------------------------------------------------------------


def _yield_api_checks(estimator):
    """scikit-learn checks that do not need 2-D data (verified with 1.9)."""
    yield check_estimator_cloneable
    yield check_estimator_tags_renamed
    yield check_valid_tag_types
    yield check_estimator_repr
    yield check_no_attributes_set_in_init
    yield check_mixin_order
    yield check_parameters_default_constructible
    yield check_get_params_invariance
    yield check_set_params
    yield check_do_not_raise_errors_in_init_or_set_params
    if hasattr(estimator, "_parameter_constraints"):
        # Invalid parameters must fail in fit before X is looked at.
        yield check_param_validation
    if hasattr(estimator, "get_feature_names_out"):
        yield check_get_feature_names_out_error


def _yield_data_checks(estimator):
    tags = get_tags(estimator)
    yield check_image_input_tags
    yield check_fit_returns_self
    yield check_fit_does_not_change_params
    yield check_fit_sets_fitted_attributes_only
    if tags.requires_fit:
        yield check_unfitted_raises
    yield check_fit_idempotent
    yield check_input_not_modified
    yield check_pickle_roundtrip
    if not tags.non_deterministic:
        yield check_sample_order_invariance
        yield check_subset_invariance
        yield check_paths_arrays_equal
        if _input_tags(estimator).three_d_array:
            yield check_greyscale_input
    yield check_missing_file_error
    if hasattr(estimator, "transform"):
        yield check_transformer_output
        if hasattr(estimator, "get_feature_names_out"):
            yield check_transformer_feature_names_out
            if hasattr(estimator, "set_output"):
                yield check_set_output_pandas
    if (is_classifier(estimator) or is_regressor(estimator)) and hasattr(
        estimator, "predict"
    ):
        yield check_predictions
    if (
        is_classifier(estimator)
        or is_regressor(estimator)
        or hasattr(estimator, "transform")
    ):
        yield check_cross_val_score_groups


def _test_instances(estimator, use_test_params):
    """The estimator with each set of its cheap test parameters applied."""
    hook = getattr(estimator, "_get_test_params", None)
    if not use_test_params or hook is None:
        return [estimator]
    params = hook()
    if isinstance(params, dict):
        params = [params]
    if not params:
        return [estimator]
    return [clone(estimator).set_params(**p) for p in params]


def _check_name(check):
    if hasattr(check, "__wrapped__"):
        return _check_name(check.__wrapped__)
    return check.func.__name__ if isinstance(check, partial) else check.__name__


def estimator_checks_generator(
    estimator, *, use_test_params=True, expected_failed_checks=None, mark=None
):
    """Yield ``(estimator, check)`` pairs for an image estimator.

    Parameters
    ----------
    estimator : estimator object
        The estimator instance to check.
    use_test_params : bool, default=True
        Run the data checks with the parameters of the estimator's
        ``_get_test_params()`` hook, when it has one (see the module
        docstring).
    expected_failed_checks : dict or callable, default=None
        ``{check_name: reason}`` for checks that are known to fail, or a
        callable that returns such a dict for each instance a check runs on
        (the estimator as given, and each instance with test parameters), such
        as :func:`expected_failed_checks`.
    mark : {"xfail", "skip"} or None, default=None
        What to do with the expected failures: mark them with
        ``pytest.mark.xfail``, replace them by a check that raises
        :class:`unittest.SkipTest`, or nothing.

    Yields
    ------
    estimator : estimator object
        The instance the check runs on.
    check : callable
        Call ``check(estimator)``; it raises on failure.

    Examples
    --------
    >>> from skanimal.features import LBPFeatures
    >>> from skanimal.utils.estimator_checks import estimator_checks_generator
    >>> pairs = list(estimator_checks_generator(LBPFeatures()))
    >>> est, check = pairs[0]
    >>> check(est)  # check_estimator_cloneable: raises if it fails
    """
    name = type(estimator).__name__

    def failing(instance):
        if callable(expected_failed_checks):
            return expected_failed_checks(instance) or {}
        return expected_failed_checks or {}

    def marked(instance, check):
        check_name = _check_name(check)
        expected = failing(instance)
        if check_name not in expected or mark is None:
            return instance, check
        reason = expected[check_name]
        if mark == "xfail":
            import pytest

            return pytest.param(instance, check, marks=pytest.mark.xfail(reason=reason))

        @wraps(check)
        def skipped(*args, **kwargs):
            from unittest import SkipTest

            raise SkipTest(f"Skipping {check_name} for {name}: {reason}")

        return instance, skipped

    for check in _yield_api_checks(estimator):
        yield marked(estimator, partial(check, name))
    for instance in _test_instances(estimator, use_test_params):
        for check in _yield_data_checks(instance):
            yield marked(instance, partial(check, name))


def _get_check_ids(obj):
    """pytest ids: the estimator's short repr, or the check's name."""
    if isinstance(obj, partial):
        return obj.func.__name__
    if callable(obj) and hasattr(obj, "__name__") and not hasattr(obj, "get_params"):
        return _check_name(obj)
    if hasattr(obj, "get_params"):
        with config_context(print_changed_only=True):
            text = re.sub(r"\s", "", str(obj))
        # an uninitialised skorch net prints "<class'pkg.mod.Name'>[uninitialized](...)"
        return re.sub(r"^<class'(?:[\w.]+\.)?(\w+)'>", r"\1", text)
    return None


def parametrize_with_checks(estimators, *, use_test_params=True, expected_failed_checks=None):
    """Pytest decorator that runs every image-estimator check as its own test.

    The test ids are the estimator's short repr and the check's name, so
    ``pytest -k check_subset_invariance`` selects one check.

    Parameters
    ----------
    estimators : list of estimator objects
        The estimator instances to check.
    use_test_params : bool, default=True
        Run the data checks with the parameters of each estimator's
        ``_get_test_params()`` hook, when it has one.
    expected_failed_checks : callable, default=None
        Called with each instance a check runs on (the estimator as given, and
        each instance with test parameters), returns ``{check_name: reason}``;
        those checks are marked ``xfail``. :func:`expected_failed_checks` gives
        the by-design failures of skanimal's estimators.

    Returns
    -------
    decorator : pytest.mark.parametrize
        Parametrizes the arguments ``estimator`` and ``check``.

    See Also
    --------
    check_image_estimator : Run all checks without pytest.

    Examples
    --------
    >>> from skanimal.features import LBPFeatures
    >>> from skanimal.utils.estimator_checks import parametrize_with_checks
    >>> @parametrize_with_checks([LBPFeatures()])
    ... def test_lbp(estimator, check):
    ...     check(estimator)
    """
    import pytest

    if any(isinstance(est, type) for est in estimators):
        raise TypeError("Pass estimator instances to parametrize_with_checks, not classes.")

    def generate():
        for estimator in estimators:
            yield from estimator_checks_generator(
                estimator,
                use_test_params=use_test_params,
                expected_failed_checks=expected_failed_checks,
                mark="xfail",
            )

    return pytest.mark.parametrize("estimator, check", list(generate()), ids=_get_check_ids)


def check_image_estimator(
    estimator, *, use_test_params=True, expected_failed_checks=None, on_fail="raise"
):
    """Run every image-estimator check on an estimator.

    Parameters
    ----------
    estimator : estimator object
        The estimator instance to check.
    use_test_params : bool, default=True
        Run the data checks with the parameters of the estimator's
        ``_get_test_params()`` hook, when it has one.
    expected_failed_checks : dict or callable, default=None
        ``{check_name: reason}`` for checks to skip, or a callable that returns
        such a dict for each instance a check runs on, such as
        :func:`expected_failed_checks`.
    on_fail : {"raise"} or None, default="raise"
        ``"raise"`` raises the first failure (with the check's name in its
        message notes); ``None`` runs all checks and reports them.

    Returns
    -------
    results : list of dict
        One dict per check: ``"check"`` (its name), ``"estimator"`` (the
        instance checked), ``"status"`` (``"passed"``, ``"failed"`` or
        ``"skipped"``) and ``"exception"`` (or None).

    Examples
    --------
    >>> from skanimal.features import LBPFeatures
    >>> from skanimal.utils.estimator_checks import check_image_estimator
    >>> results = check_image_estimator(LBPFeatures())
    >>> {r["status"] for r in results}
    {'passed'}
    """
    if on_fail not in ("raise", None):
        raise ValueError(f"on_fail must be 'raise' or None, got {on_fail!r}.")
    results = []
    for instance, check in estimator_checks_generator(
        estimator, use_test_params=use_test_params
    ):
        check_name = _check_name(check)
        result = {"check": check_name, "estimator": instance, "status": "passed",
                  "exception": None}
        expected = (
            expected_failed_checks(instance)
            if callable(expected_failed_checks)
            else expected_failed_checks
        ) or {}
        if check_name in expected:
            result["status"] = "skipped"
            results.append(result)
            continue
        try:
            check(instance)
        except Exception as exc:
            if on_fail == "raise":
                if hasattr(exc, "add_note"):
                    exc.add_note(f"{check_name} failed for {instance!r}.")
                raise
            result["status"] = "failed"
            result["exception"] = exc
        results.append(result)
    return results

"""The foundation issue's acceptance scenario, end to end on real files."""

import numpy as np
import pandas as pd
import pytest
from sklearn.model_selection import LeaveOneGroupOut, cross_validate
from sklearn.pipeline import make_pipeline
from sklearn.svm import LinearSVC

from skanimal.datasets import load_manifest, make_grimace_faces, save_dataset
from skanimal.evaluation import subject_report
from skanimal.features import LBPFeatures


@pytest.fixture(scope="module")
def on_disk(tmp_path_factory):
    data = make_grimace_faces(n_samples=120, image_size=64, random_state=5)
    manifest = save_dataset(data, tmp_path_factory.mktemp("faces"))
    return data, load_manifest(manifest)


def _model():
    return make_pipeline(LBPFeatures(radius=3, grid=(8, 8), image_size=(112, 112)),
                         LinearSVC(C=1))


def test_cross_validate_leave_one_subject_out_paths_equal_arrays(on_disk):
    data, files = on_disk
    np.testing.assert_array_equal(files.target, data.target)
    np.testing.assert_array_equal(files.groups.astype(str), data.groups.astype(str))
    res = {}
    for name, X in (("arrays", data.images), ("paths", files.images)):
        res[name] = cross_validate(_model(), X, data.target, groups=data.groups,
                                   cv=LeaveOneGroupOut(), scoring=["accuracy", "f1"])
    n_subjects = len(np.unique(data.groups))
    assert len(res["paths"]["test_accuracy"]) == n_subjects
    for key in ("test_accuracy", "test_f1"):
        np.testing.assert_array_equal(res["paths"][key], res["arrays"][key])


def test_subject_report_paths_equal_arrays_and_matches_cross_validate(on_disk):
    data, files = on_disk
    from_arrays = subject_report(_model(), data.images, data.target, data.groups)
    from_paths = subject_report(_model(), files.images, files.target, files.groups)
    pd.testing.assert_frame_equal(from_arrays, from_paths)
    # per-subject accuracy equals cross_validate's per-fold score (one subject per fold)
    cv = cross_validate(_model(), data.images, data.target, groups=data.groups,
                        cv=LeaveOneGroupOut())
    subjects = sorted(np.unique(data.groups))
    assert list(from_arrays.index[:len(subjects)]) == subjects
    np.testing.assert_allclose(from_arrays.loc[subjects, "accuracy"], cv["test_score"])
    # the pooled accuracy weighs subjects by their number of images
    n = from_arrays.loc[subjects, "n_images"].to_numpy()
    assert from_arrays.loc["pooled", "accuracy"] == pytest.approx(
        np.sum(cv["test_score"] * n) / n.sum())

"""Tests for the unbc-levels protocol (Hosseini et al.): tables against sklearn / scipy."""

import json
import types
import warnings

import numpy as np
import pandas as pd
import pytest
from PIL import Image
from scipy.stats import pearsonr
from sklearn.metrics import accuracy_score, precision_recall_fscore_support, roc_auc_score

from skanimal.benchmark import PAPER_RESULTS, PROTOCOLS, run_protocol
from skanimal.benchmark._papers import PAPER_SUMMARIES
from skanimal.cli import main
from skanimal.datasets import (
    is_unbc_mcmaster,
    load_unbc_mcmaster,
    make_grimace_faces,
    pspi_to_level,
)
from skanimal.exceptions import DataError

TINY = dict(trunk="test_resnet", weights={"test_resnet": None}, image_size=32, epochs=1,
            batch_size=16)
N_SAMPLES = 90
LEVELS = list(range(7))


def _run(output, data=None, **settings):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # random test_resnet weights
        return run_protocol("unbc-levels", data, output=output, n_samples=N_SAMPLES,
                            settings={**TINY, **settings}, verbose=0)


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("unbc")
    return out, _run(out)


def _proba(pred):
    cols = [c for c in pred.columns if c.startswith("proba_")]
    return [int(c.split("_")[1]) for c in cols], pred[cols].to_numpy()


def test_per_level_table_is_sklearn_on_the_written_predictions(tiny_run):
    out, _ = tiny_run
    pred = pd.read_csv(out / "predictions.csv", index_col=0)
    table = pd.read_csv(out / "per_level_vs_paper.csv", index_col=0)
    p, r, f, n = precision_recall_fscore_support(pred["y_true"], pred["y_pred"],
                                                 labels=LEVELS, zero_division=np.nan)
    assert table.index.tolist() == LEVELS
    np.testing.assert_array_equal(table["n_images"], n)
    for col, expected in (("precision %", p), ("recall %", r), ("F1 %", f)):
        np.testing.assert_allclose(table[col], 100 * expected, equal_nan=True)
    paper = PAPER_RESULTS["unbc-levels"]
    for col in ("precision %", "recall %", "F1 %"):
        np.testing.assert_array_equal(table[f"{col} (paper)"], paper[col])
    assert table.loc[6, "PSPI"] == "13-15" and table.loc[0, "F1 % (paper)"] == 78.75


def test_accuracy_pcc_and_auc_are_sklearn_and_scipy_on_the_predictions(tiny_run):
    out, _ = tiny_run
    pred = pd.read_csv(out / "predictions.csv", index_col=0)
    classes, proba = _proba(pred)
    # the probabilities are the network's: they sum to 1 and give its predictions
    np.testing.assert_allclose(proba.sum(axis=1), 1, rtol=1e-5)
    np.testing.assert_array_equal(np.asarray(classes)[proba.argmax(axis=1)], pred["y_pred"])
    summary = pd.read_csv(out / "summary_vs_paper.csv", index_col=0)
    assert len(summary) == 1
    row = summary.iloc[0]
    assert row["accuracy %"] == pytest.approx(
        100 * accuracy_score(pred["y_true"], pred["y_pred"]))
    assert row["AUC"] == pytest.approx(roc_auc_score(
        pred["y_true"], proba, multi_class="ovr", average="macro", labels=classes))
    if pred["y_pred"].nunique() > 1:
        assert row["PCC"] == pytest.approx(pearsonr(pred["y_pred"], pred["y_true"])[0])
    else:  # r is undefined for constant predictions
        assert np.isnan(row["PCC"])
    for key, value in PAPER_SUMMARIES["unbc-levels"].items():
        assert row[f"{key} (paper)"] == value
    assert row["accuracy % (paper)"] == 85.71


def test_predictions_are_subject_wise_levels_of_pspi_without_zero_sequences(tiny_run):
    out, ctx = tiny_run
    pred = pd.read_csv(out / "predictions.csv", index_col=0)
    faces = make_grimace_faces(n_samples=N_SAMPLES, random_state=0)
    f = faces.frame
    zero = f.groupby("sequence")["pspi"].transform("max").eq(0).to_numpy()
    assert zero.any()  # there is something to drop
    kept = f[~zero].reset_index(drop=True)
    assert len(pred) == len(kept)
    np.testing.assert_array_equal(pred["sequence"], kept["sequence"])
    np.testing.assert_array_equal(pred["pspi"], kept["pspi"])
    np.testing.assert_array_equal(pred["y_true"], pspi_to_level(kept["pspi"]))
    # built-in data: 3 subject-wise folds, each subject in one of them
    assert sorted(pred["fold"].unique()) == [0, 1, 2]
    assert (pred.groupby("subject")["fold"].nunique() == 1).all()
    levels = pd.read_csv(out / "levels.csv", index_col=0)
    np.testing.assert_array_equal(levels["frames"],
                                  np.bincount(pspi_to_level(f["pspi"]), minlength=7))
    np.testing.assert_array_equal(levels["after removing all-zero sequences"],
                                  np.bincount(pred["y_true"], minlength=7))
    record = json.loads((out / "run.json").read_text())
    assert record["status"] == "complete"
    for name in ("predictions.csv", "per_level_vs_paper.csv", "summary_vs_paper.md",
                 "confusion_matrix.png", "per_level.png", "report.html"):
        assert name in record["files"] and (out / name).is_file()


def test_levels_absent_from_the_data_are_empty_rows(tmp_path):
    faces = make_grimace_faces(n_samples=N_SAMPLES, random_state=0)
    faces.frame["pspi"] = faces.frame["pspi"].clip(upper=9)  # no level 5 or 6
    ctx = _run(tmp_path / "out", faces)
    pred = pd.read_csv(tmp_path / "out" / "predictions.csv", index_col=0)
    assert set(pred["y_true"]) == {0, 1, 2, 3, 4}
    classes, _ = _proba(pred)
    assert classes == [0, 1, 2, 3, 4]  # one output per level present
    table = pd.read_csv(tmp_path / "out" / "per_level_vs_paper.csv", index_col=0)
    assert table.loc[[5, 6], "n_images"].tolist() == [0, 0]
    assert table.loc[[5, 6], ["precision %", "recall %", "F1 %"]].isna().all().all()
    assert table.loc[[5, 6], "F1 % (paper)"].tolist() == [81.27, 89.69]
    assert table.loc[:4, "recall %"].notna().all()
    notes = [i["text"] for i in ctx.items if i["kind"] == "note"]
    assert any("Level(s) [5, 6] have no image" in t for t in notes)
    summary = pd.read_csv(tmp_path / "out" / "summary_vs_paper.csv", index_col=0)
    _, proba = _proba(pred)
    assert summary["AUC"].iloc[0] == pytest.approx(roc_auc_score(
        pred["y_true"], proba, multi_class="ovr", labels=classes))


def test_a_second_run_resumes_every_fold_to_the_same_tables(tiny_run, tmp_path):
    import shutil

    out, _ = tiny_run
    copy = tmp_path / "copy"
    shutil.copytree(out, copy)
    again = _run(copy)
    folds = next(v["folds"] for k, v in again.timings.items() if k.startswith("main/"))
    assert all(f["resumed"] for f in folds)
    for name in ("predictions.csv", "per_level_vs_paper.csv", "summary_vs_paper.csv"):
        assert (copy / name).read_text() == (out / name).read_text()


def _ctx(preset, **settings):
    s = {**PROTOCOLS["unbc-levels"].defaults[preset], **settings, "random_state": 0}
    return types.SimpleNamespace(settings=s, preset=preset)


def test_the_paper_preset_is_the_papers_network_and_resampling():
    from skanimal.benchmark._proto_unbc import _network
    from skanimal.sampling import SamplerChain

    method, skipped, trunk = _network(_ctx("paper", weights={"resnet18": None}), LEVELS)
    assert not skipped and trunk == "resnet18"
    assert method.name == "ResNet-18, staged fine-tuning" and method.paper_row == "ResNet-18"
    (_, sampler), (_, net) = method.estimator.steps
    assert isinstance(sampler, SamplerChain)  # 20 % of level 0, levels 2-6 upsampled
    (_, under), (_, over) = sampler.steps
    assert under.fractions == {0: 0.2} and sampler.random_state == 0
    assert over.augmentations == ("flip", "rotate") and over.n_ops == 1
    assert "up_to_count_of(1, classes=[2, 3, 4, 5, 6])" == repr(over.sampling_strategy)
    params = net.get_params()
    assert params["optimizer"].__name__ == "SGD"
    assert params["optimizer__momentum"] == 0.8 and params["optimizer__weight_decay"] == 1e-4
    assert params["lr"] == 4e-6 and params["max_epochs"] == 180
    assert params["image_size"] == 224 and params["unfreeze"] == "staged"
    assert list(params["classes"]) == LEVELS
    (_, scheduler), = params["callbacks"]
    assert scheduler.kwargs == {"milestones": [60, 120], "gamma": 0.2}


def test_a_trunk_without_weights_runs_on_the_labelled_substitute(
        offline_without_test_resnet_weights):
    from skanimal.benchmark._proto_unbc import _network

    method, skipped, trunk = _network(_ctx("fast", trunk="test_resnet"), LEVELS)
    assert trunk == "efficientnet_lite0" and not skipped
    assert "substitute trunk efficientnet_lite0" in method.name
    assert method.estimator.steps[-1][1].backbone == "efficientnet_lite0"
    # a weights file that is missing is skipped, naming it, not substituted
    method, skipped, _ = _network(
        _ctx("fast", trunk="test_resnet", weights={"test_resnet": "/nope/w.pth"}), LEVELS)
    assert method is None and "/nope/w.pth" in next(iter(skipped.values()))


def _write_unbc(root, n_subjects=5):
    """A tiny archive: per subject a sequence with pain, and (subject 0) an all-zero one."""
    rng = np.random.default_rng(0)
    pain = [0, 0, 1, 2, 3, 1, 4, 0, 5, 2]
    for s in range(n_subjects):
        subject = f"{s + 42:03d}-ab{s + 42:03d}"
        sequences = {f"ab{s + 42:03d}t1aaaff": pain[s % 2:] + pain[:s % 2]}
        if s == 0:
            sequences[f"ab{s + 42:03d}t2aeaff"] = [0] * 4
        for seq, scores in sequences.items():
            img_dir = root / "Images" / subject / seq
            lab_dir = root / "Frame_Labels" / "PSPI" / subject / seq
            img_dir.mkdir(parents=True)
            lab_dir.mkdir(parents=True)
            for i, pspi in enumerate(scores):
                name = f"{seq}{i + 1:03d}"
                img = rng.integers(0, 255, size=(36, 36, 3), dtype=np.uint8)
                Image.fromarray(img).save(img_dir / f"{name}.png")
                (lab_dir / f"{name}_facs.txt").write_text(f"   {pspi:.7e}\n")


def test_the_cli_reads_a_unbc_layout_folder_and_runs(tmp_path, capsys):
    root = tmp_path / "UNBC"
    _write_unbc(root)
    assert is_unbc_mcmaster(root) and not is_unbc_mcmaster(tmp_path)
    data = load_unbc_mcmaster(root)
    assert len(data.target) == 5 * 10 + 4
    out = tmp_path / "out"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # random test_resnet weights
        code = main(["benchmark", "unbc-levels", "--data", str(root), "--net-backbone",
                     "test_resnet", "--weights", "test_resnet=random", "--epochs", "1",
                     "--net-image-size", "32", "-q", "-o", str(out)])
    assert code == 0
    record = json.loads((out / "run.json").read_text())
    pred = pd.read_csv(out / "predictions.csv", index_col=0)
    assert len(pred) == 50  # the all-zero sequence is removed
    assert not pred["sequence"].str.contains("t2aeaff").any()
    assert pred["image"].str.startswith(str(root / "Images")).all()
    assert sorted(pred["fold"].unique()) == list(range(5))  # 5 folds on a given dataset
    expected = pspi_to_level(pred["pspi"])
    np.testing.assert_array_equal(pred["y_true"], expected)
    table = pd.read_csv(out / "per_level_vs_paper.csv", index_col=0)
    assert table["n_images"].tolist() == [15, 20, 10, 5, 0, 0, 0]  # 5 x the sequence
    assert record["dataset"]["builtin"] is False
    assert record["dataset"]["fingerprint"]["n_images"] == 54
    assert record["dataset"]["source"].startswith("UNBC-McMaster archive")
    # the archive's subjects are its folders
    assert main(["benchmark", "unbc-levels", "--data", str(root),
                 "--subject-pattern", "(?P<subject>.+)", "-o", str(tmp_path / "other")]) == 2
    assert "--subject-pattern does not apply" in capsys.readouterr().err


def test_data_without_pspi_scores_is_a_data_error(tmp_path):
    faces = make_grimace_faces(n_samples=30, image_size=32, random_state=0)
    faces.frame = faces.frame.drop(columns="pspi")
    with pytest.raises(DataError, match="'pspi' column"):
        _run(tmp_path / "out", faces)


def test_the_cli_runs_the_protocol_with_the_folds_asked_for(tmp_path, capsys):
    out = tmp_path / "cli"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        code = main(["benchmark", "unbc-levels", "--n-samples", "60", "--net-backbone",
                     "test_resnet", "--weights", "test_resnet=random", "--epochs", "1",
                     "--net-image-size", "32", "--cv", "2", "-q", "-o", str(out)])
    assert code == 0
    assert "| level" in capsys.readouterr().out
    pred = pd.read_csv(out / "predictions.csv", index_col=0)
    assert sorted(pred["fold"].unique()) == [0, 1]
    record = json.loads((out / "run.json").read_text())
    assert record["settings"]["cv"] == 2 and record["settings"]["epochs"] == 1


def test_a_fold_without_level_1_to_train_on_is_a_data_error_naming_cv(tmp_path):
    faces = make_grimace_faces(n_samples=N_SAMPLES, random_state=0)
    pspi = faces.frame["pspi"].to_numpy()
    faces.frame["pspi"] = np.where((faces.groups != "rat01") & np.isin(pspi, [1, 2]), 0, pspi)
    with pytest.raises(DataError, match=r"cv=.*fold \d \(held-out subject\(s\) \['rat01'"):
        _run(tmp_path / "out", faces, cv="loso")

"""Tests for the ``skanimal`` command line and the benchmark runner."""

import shutil
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from skanimal.benchmark import BenchmarkMethod, default_methods, run_benchmark
from skanimal.cli import main
from skanimal.datasets import make_grimace_faces
from skanimal.evaluation import subject_report

SMALL = ["--n-samples", "90", "--random-state", "3"]


@pytest.fixture(scope="module")
def small_data():
    return make_grimace_faces(n_samples=90, random_state=3)


def test_help_lists_commands_and_options(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["--help"])
    assert exc.value.code == 0
    out = capsys.readouterr().out
    assert "benchmark" in out and "make-dataset" in out
    with pytest.raises(SystemExit):
        main(["benchmark", "--help"])
    out = capsys.readouterr().out
    for option in ("--data", "--subject-pattern", "--methods", "--cv", "--output", "--n-jobs"):
        assert option in out
    assert "pooled" in out


def test_list_methods_names_lbp_settings_probes_and_skipped_backbones(capsys):
    assert main(["benchmark", "--list"]) == 0
    out = capsys.readouterr().out
    for name in ("LBP R1P8 4x4", "LBP R1P8 8x8", "LBP R1P8 16x16",
                 "LBP R3P8 4x4", "LBP R3P8 8x8", "LBP R3P8 16x16",
                 "Linear probe efficientnet_lite0"):
        assert name in out
    # no weights for DINO ResNet-50 without a local file: skipped, saying why
    skipped = [line for line in out.splitlines() if line.startswith("(skipped) dino_resnet50")]
    assert skipped and "local file" in skipped[0]


def test_benchmark_writes_the_paper_table(tmp_path, small_data, capsys):
    out = tmp_path / "results"
    status = main(["benchmark", *SMALL, "--methods", "r1p8-4x4", "R3P8 8x8",
                   "-o", str(out), "-q"])
    assert status == 0
    table = pd.read_csv(out / "benchmark_table.csv", index_col=0)
    assert list(table.index) == ["LBP R1P8 4x4", "LBP R3P8 8x8"]
    subjects = np.unique(small_data.groups)
    assert table.shape[1] == len(subjects) + 1
    md = (out / "benchmark_table.md").read_text()
    assert "LBP R1P8 4x4" in md and md.count("|") > 10
    printed = capsys.readouterr().out
    assert "LBP R3P8 8x8" in printed

    # the pooled cell equals a subject_report of the whole pipeline, fitted per fold
    long = pd.read_csv(out / "benchmark_subjects.csv", index_col=[0, 1])
    direct = subject_report(default_methods()[0].pipeline(), small_data.images,
                            small_data.target, small_data.groups)
    got = long.loc[("LBP R1P8 4x4", "pooled")]
    assert got["f1"] == pytest.approx(direct.loc["pooled", "f1"])
    assert got["accuracy"] == pytest.approx(direct.loc["pooled", "accuracy"])
    assert f"{direct.loc['pooled', 'f1']:.4f}" in str(table.loc["LBP R1P8 4x4"].iloc[-1])


def test_manifest_written_by_make_dataset_gives_the_same_table(tmp_path):
    data_dir = tmp_path / "data"
    assert main(["make-dataset", str(data_dir), *SMALL]) == 0
    assert main(["benchmark", *SMALL, "--methods", "r1p8-4x4", "-q",
                 "-o", str(tmp_path / "a")]) == 0
    assert main(["benchmark", "--data", str(data_dir / "manifest.csv"), "--methods",
                 "r1p8-4x4", "-q", "-o", str(tmp_path / "b")]) == 0
    a = pd.read_csv(tmp_path / "a" / "benchmark_subjects.csv", index_col=[0, 1])
    b = pd.read_csv(tmp_path / "b" / "benchmark_subjects.csv", index_col=[0, 1])
    pd.testing.assert_frame_equal(a, b)


def test_benchmark_on_an_image_folder(tmp_path, small_data):
    from PIL import Image

    root = tmp_path / "faces"
    for i, (img, label, subject) in enumerate(zip(small_data.images, small_data.target,
                                                  small_data.groups)):
        folder = root / str(small_data.target_names[label])
        folder.mkdir(parents=True, exist_ok=True)
        Image.fromarray(img).save(folder / f"{subject}_{i:04d}.png")
    status = main(["benchmark", "--data", str(root), "--subject-pattern",
                   r"^(?P<subject>[^_]+)_", "--methods", "r1p8-4x4", "--cv", "3", "-q",
                   "-o", str(tmp_path / "out")])
    assert status == 0
    table = pd.read_csv(tmp_path / "out" / "benchmark_table.csv", index_col=0)
    assert table.shape == (1, len(np.unique(small_data.groups)) + 1)


@pytest.mark.parametrize(
    "argv, message",
    [
        (["benchmark", "--data", "no/such/manifest.csv"], "no/such/manifest.csv"),
        (["benchmark", "--methods", "hog-svm"], "unknown method"),
    ],
)
def test_user_errors_exit_2_with_a_message(argv, message, capsys, tmp_path):
    assert main([*argv, "-q", "-o", str(tmp_path)]) == 2
    assert message in capsys.readouterr().err


def test_bad_cv_is_rejected_by_the_parser(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["benchmark", "--cv", "1"])
    assert exc.value.code == 2
    assert "--cv" in capsys.readouterr().err


def test_make_dataset_refuses_a_non_empty_folder(tmp_path, capsys):
    keep = tmp_path / "notes.txt"
    keep.write_text("precious")
    assert main(["make-dataset", str(tmp_path), "--n-samples", "12"]) == 2
    assert "make-dataset: error" in capsys.readouterr().err
    assert keep.read_text() == "precious"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["notes.txt"]


def test_run_benchmark_shares_features_between_methods(small_data):
    """Two methods with equal feature steps reuse one extraction, results unchanged."""
    from sklearn.svm import LinearSVC

    from skanimal.features import LBPFeatures

    calls = []

    class CountingLBP(LBPFeatures):
        def transform(self, X):
            calls.append(len(X))
            return super().transform(X)

    methods = [BenchmarkMethod("a", LinearSVC(C=1.0), features=CountingLBP(grid=(2, 2))),
               BenchmarkMethod("b", LinearSVC(C=0.1), features=CountingLBP(grid=(2, 2)))]
    reports = run_benchmark(methods, small_data.images, small_data.target,
                            small_data.groups, verbose=0, chunk_size=50)
    assert sum(calls) == len(small_data.images)  # one pass over the images in all
    assert calls == [50, 40]
    assert set(reports) == {"a", "b"}
    with pytest.raises(ValueError, match="unique"):
        run_benchmark([methods[0], methods[0]], small_data.images, small_data.target,
                      small_data.groups, verbose=0)


@pytest.mark.skipif(shutil.which("skanimal") is None, reason="console script not installed")
def test_console_script_and_module_entry_point():
    for cmd in (["skanimal", "--version"], [sys.executable, "-m", "skanimal", "--version"]):
        res = subprocess.run(cmd, capture_output=True, text=True, check=True)
        assert res.stdout.startswith("skanimal 0.")


def test_benchmark_linear_probe_row_and_cache_commands(tmp_path, small_data, capsys):
    cache = tmp_path / "cache"
    argv = ["benchmark", *SMALL, "--methods", "r1p8-4x4", "linear probe efficientnet_lite0",
            "--backbones", "efficientnet_lite0", "--cache-dir", str(cache), "-q"]
    assert main([*argv, "-o", str(tmp_path / "a")]) == 0
    table = pd.read_csv(tmp_path / "a" / "benchmark_table.csv", index_col=0)
    assert list(table.index) == ["LBP R1P8 4x4", "Linear probe efficientnet_lite0"]
    capsys.readouterr()

    assert main(["cache", "info", "--cache-dir", str(cache)]) == 0
    info = capsys.readouterr().out
    assert f"{len(small_data.images)} entries" in info and "tf_efficientnet_lite0" in info

    # a second run reads every embedding from the cache and gives the same numbers
    assert main([*argv, "-o", str(tmp_path / "b")]) == 0
    a = pd.read_csv(tmp_path / "a" / "benchmark_subjects.csv", index_col=[0, 1])
    b = pd.read_csv(tmp_path / "b" / "benchmark_subjects.csv", index_col=[0, 1])
    pd.testing.assert_frame_equal(a, b)

    # clearing needs confirmation when not interactive
    assert main(["cache", "clear", "--cache-dir", str(cache)]) == 2
    assert "--yes" in capsys.readouterr().err
    assert main(["cache", "clear", "--cache-dir", str(cache), "--namespace", "nope", "-y"]) == 2
    assert main(["cache", "clear", "--cache-dir", str(cache), "-y"]) == 0
    assert f"removed {len(small_data.images)}" in capsys.readouterr().out
    assert main(["cache", "info", "--cache-dir", str(cache)]) == 0
    assert "no cached embeddings" in capsys.readouterr().out


def test_benchmark_abstain_matches_an_independent_computation(tmp_path, small_data, capsys):
    from sklearn.model_selection import LeaveOneGroupOut, cross_val_predict

    from skanimal.benchmark import linear_probe_methods

    out = tmp_path / "abstain"
    assert main(["benchmark", *SMALL, "--methods", "r1p8-4x4",
                 "linear probe efficientnet_lite0", "--backbones", "efficientnet_lite0",
                 "--abstain", "0.8", "-o", str(out), "-q"]) == 0
    printed = capsys.readouterr().out
    assert "confidence >= 0.8" in printed and "No probabilities (no abstention): LBP" in printed
    table = pd.read_csv(out / "benchmark_abstention.csv", index_col=0)
    assert np.isnan(table.loc["LBP R1P8 4x4", "Coverage %"])  # LinearSVC: no predict_proba

    # the probe row, recomputed with scikit-learn's cross_val_predict
    (probe,), _ = linear_probe_methods(["efficientnet_lite0"])
    X = probe.features.fit_transform(small_data.images)
    proba = cross_val_predict(probe.estimator, X, small_data.target, groups=small_data.groups,
                              cv=LeaveOneGroupOut(), method="predict_proba")
    kept = proba.max(axis=1) >= 0.8
    y, pred = small_data.target[kept], proba[kept].argmax(axis=1)
    row = table.loc["Linear probe efficientnet_lite0"]
    assert row["Coverage %"] == pytest.approx(100 * kept.mean())
    assert row["Accuracy % (retained)"] == pytest.approx(100 * np.mean(y == pred))
    assert row["Sensitivity % (retained)"] == pytest.approx(100 * np.mean(pred[y == 1] == 1))
    assert row["Specificity % (retained)"] == pytest.approx(100 * np.mean(pred[y == 0] == 0))
    assert 0 < kept.sum() < len(kept)


def test_benchmark_search_row_is_nested_and_resumes(tmp_path, small_data, capsys):
    import optuna

    storage = tmp_path / "studies.db"
    argv = ["benchmark", *SMALL, "--methods", "r1p8-4x4", "--search", "linear_probe",
            "--n-trials", "3", "--inner-cv", "2", "--backbones", "efficientnet_lite0",
            "--net-backbone", "none", "--study-storage", str(storage), "-q"]
    assert main([*argv, "-o", str(tmp_path / "a")]) == 0
    table = pd.read_csv(tmp_path / "a" / "benchmark_table.csv", index_col=0)
    assert list(table.index) == ["LBP R1P8 4x4", "Linear probe (tuned, 3 trials)"]

    # one study per outer fold (held-out rat), each searched on the other rats only
    def finished():
        url = f"sqlite:///{storage}"
        return {s.study_name: sum(t.state.is_finished() for t in
                                  optuna.load_study(study_name=s.study_name,
                                                    storage=url).trials)
                for s in optuna.get_all_study_summaries(url)}

    n_subjects = len(np.unique(small_data.groups))
    assert list(finished().values()) == [3] * n_subjects
    # a second run finds every study complete: no new trial, the same table
    assert main([*argv, "-o", str(tmp_path / "b")]) == 0
    assert list(finished().values()) == [3] * n_subjects
    pd.testing.assert_frame_equal(
        table, pd.read_csv(tmp_path / "b" / "benchmark_table.csv", index_col=0))
    capsys.readouterr()
    # a preset whose weights are missing is listed as skipped
    assert main(["benchmark", "--list", "--search", "painseeker"]) == 0
    assert "(skipped) PainSeeker (tuned, 20 trials)" in capsys.readouterr().out


def test_weights_option_is_validated(tmp_path, capsys):
    assert main(["benchmark", "--weights", "dino_resnet50", "-q", "-o", str(tmp_path)]) == 2
    assert "NAME=PATH" in capsys.readouterr().err
    assert main(["benchmark", "--weights", "vit_base_patch16_224=x.pth", "--backbones",
                 "resnet50", "-q", "-o", str(tmp_path)]) == 2
    assert "not benchmarked" in capsys.readouterr().err
    # the network trunk's weights are not a probe's: a missing file is named
    assert main(["benchmark", "--weights", "resnet18=no_such.pth", "--backbones", "--list",
                 "-q", "-o", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "(skipped) ResNet-18 [1 epoch at 96 px" in out and "no_such.pth" in out


def test_benchmark_network_rows(tmp_path, capsys):
    """The Table 3 networks train per fold and fill their rows; names follow the trunk."""
    assert main(["benchmark", "--list", "--backbones"]) == 0
    out = capsys.readouterr().out
    # resnet18's ImageNet weights cannot be had offline: the rows run on a substitute
    # trunk with real weights, and say so (and the short budget)
    label = " [substitute trunk efficientnet_lite0; 1 epoch at 96 px, 25% of training images]"
    for row in ("ResNet-18", "PainSeeker w/o PRSC", "PainSeeker"):
        assert f"\n{row}{label}" in out
        assert f"(skipped) {row}" not in out
    argv = ["benchmark", "--n-samples", "48", "--random-state", "1", "--backbones",
            "--net-backbone", "efficientnet_lite0", "--epochs", "1", "--net-image-size", "96",
            "--train-fraction", "1", "--methods",
            "painseeker (efficientnet_lite0) [1 epoch at 96 px]", "--cv", "2", "-q",
            "-o", str(tmp_path)]
    assert main(argv) == 0
    table = pd.read_csv(tmp_path / "benchmark_table.csv", index_col=0)
    name = "PainSeeker (efficientnet_lite0) [1 epoch at 96 px]"
    assert list(table.index) == [name]
    long = pd.read_csv(tmp_path / "benchmark_subjects.csv", index_col=[0, 1])
    pooled = long.loc[(name, "pooled")]
    assert pooled["n_images"] == 48 and 0.0 <= pooled["accuracy"] <= 1.0


# --- what a new user hit (issue 9) -------------------------------------------------------


def test_wrong_data_path_is_one_line_before_any_weights_probe(tmp_path, capsys):
    assert main(["benchmark", "--data", str(tmp_path / "nope.csv"), "-o",
                 str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "skipped" not in err
    assert "--data" in err and "nope.csv" in err


def test_skipped_rows_are_one_line_each_then_one_paragraph(tmp_path, capsys):
    # a trunk needing a local file that is not given is substituted; a given file that is
    # missing is skipped, saying why
    assert main(["benchmark", *SMALL, "--methods", "r1p8-4x4", "--backbones", "dino_resnet50",
                 "efficientnet_lite0", "--net-backbone", "dino_resnet50", "--weights",
                 "dino_resnet50=missing.pth", "-o", str(tmp_path)]) == 0
    err = capsys.readouterr().err
    lines = err.splitlines()
    budget = " [1 epoch at 96 px, 25% of training images]"
    for row in ("dino_resnet50", "Fine-tuned dino_resnet50" + budget,
                "PainSeeker w/o PRSC (dino_resnet50)" + budget,
                "PainSeeker (dino_resnet50)" + budget):
        assert sum(line.startswith(f"  {row}:") for line in lines) == 1
    assert sum("How to get the weights" in line for line in lines) == 1
    # the long per-backbone explanation is not repeated for every row
    assert err.count("dl.fbaipublicfiles.com") == 0
    assert "  PainSeeker (dino_resnet50) [1 epoch at 96 px, 25% of training images]: as "\
        "dino_resnet50" in lines


def test_backbones_none_skips_the_probes_like_net_backbone_none(capsys):
    assert main(["benchmark", "--backbones", "none", "--net-backbone", "none", "--list"]) == 0
    rows = [line.split("  ")[0] for line in capsys.readouterr().out.splitlines()]
    assert rows == [m.name for m in default_methods()]


def _option_entries(help_text):
    entries, current = [], []
    for line in help_text.splitlines() + [""]:
        if (line.startswith("  -") or not line.startswith("  ")) and current:
            entries.append(" ".join(current))
            current = []
        if line.startswith("  "):
            current.append(line.strip())
    return entries


@pytest.mark.parametrize("command", ["benchmark", "make-dataset"])
def test_help_states_each_default_once(command, capsys):
    with pytest.raises(SystemExit):
        main([command, "--help"])
    entries = _option_entries(capsys.readouterr().out)
    assert all(e.count("(default") <= 1 for e in entries), [
        e for e in entries if e.count("(default") > 1]
    text = " ".join(entries)
    assert "(default: None)" not in text and "(default: False)" not in text
    if command == "benchmark":
        assert "(default 20)" in text and "(default: 0)" in text  # --random-state


def test_image_folder_errors_name_the_flags(tmp_path, small_data, capsys):
    from PIL import Image

    root = tmp_path / "faces"
    for i, (img, label, subject) in enumerate(zip(small_data.images[:12],
                                                  small_data.target[:12],
                                                  small_data.groups[:12])):
        folder = root / f"class{label}"
        folder.mkdir(parents=True, exist_ok=True)
        Image.fromarray(img).save(folder / f"{subject}_{i:04d}.png")
    out = ["-q", "-o", str(tmp_path / "out")]
    assert main(["benchmark", "--data", str(root), *out]) == 2
    err = capsys.readouterr().err
    assert "--subject-pattern" in err and "subject_pattern" not in err
    assert "subject_map" not in err
    assert main(["benchmark", "--data", str(root), "--subject-pattern",
                 r"^(?P<subject>mouse\d+)_", *out]) == 2
    err = capsys.readouterr().err
    assert "--subject-pattern" in err and "subject_pattern" not in err and "mouse" in err
    with pytest.raises(SystemExit) as exc:
        main(["benchmark", "--data", str(root), "--subject-pattern", "^rat", *out])
    assert exc.value.code == 2
    assert "--subject-pattern" in capsys.readouterr().err


def test_make_dataset_overwrite_flag(tmp_path, capsys):
    keep = tmp_path / "notes.txt"
    keep.write_text("precious")
    assert main(["make-dataset", str(tmp_path), "--n-samples", "12"]) == 2
    err = capsys.readouterr().err
    assert "--overwrite" in err and "overwrite=True" not in err
    assert main(["make-dataset", str(tmp_path), "--n-samples", "12", "--overwrite"]) == 0
    assert (tmp_path / "manifest.csv").is_file() and keep.read_text() == "precious"


def test_output_holding_results_is_refused_unless_overwrite(tmp_path, capsys):
    out = tmp_path / "results"
    argv = ["benchmark", *SMALL, "--methods", "r1p8-4x4", "--backbones", "none",
            "--net-backbone", "none", "-o", str(out)]
    assert main([*argv, "-q", "--abstain", "0.8"]) == 0
    first = (out / "benchmark_table.csv").read_text()
    (out / "benchmark_table.csv").write_text("an earlier run")
    capsys.readouterr()
    # refused before anything runs: no run summary, the earlier results untouched
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "--overwrite" in err and "benchmark_table.csv" in err
    assert (out / "benchmark_table.csv").read_text() == "an earlier run"
    # --overwrite replaces them and removes the earlier run's other result files
    assert main([*argv, "--overwrite"]) == 0
    assert (out / "benchmark_table.csv").read_text() == first
    assert not (out / "benchmark_abstention.csv").exists()
    assert "replacing the results of an earlier run" in capsys.readouterr().err


def test_table_header_says_f1_is_a_fraction_and_accuracy_a_percentage(tmp_path, capsys):
    assert main(["benchmark", *SMALL, "--methods", "r1p8-4x4", "--backbones", "none",
                 "--net-backbone", "none", "-q", "-o", str(tmp_path)]) == 0
    printed = capsys.readouterr().out
    assert "Cells: F1 (0-1) / accuracy (%)" in printed
    assert (tmp_path / "benchmark_table.md").read_text().startswith(
        "Cells: F1 (0-1) / accuracy (%)")
    assert "F1 / accuracy (%)" not in printed


@pytest.mark.parametrize("error", [TypeError, ValueError, KeyError])
def test_a_bug_shows_its_traceback_not_a_one_line_error(error, tmp_path, monkeypatch):
    import skanimal.benchmark

    def broken(*args, **kwargs):
        raise error("a bug in skanimal")

    monkeypatch.setattr(skanimal.benchmark, "run_benchmark", broken)
    with pytest.raises(error, match="a bug in skanimal"):
        main(["benchmark", *SMALL, "--methods", "r1p8-4x4", "--backbones", "none",
              "--net-backbone", "none", "-q", "-o", str(tmp_path)])


def test_user_errors_name_their_flag(tmp_path, capsys):
    out = ["-q", "-o", str(tmp_path)]
    assert main(["benchmark", "--methods", "hog-svm", "--backbones", "none", *out]) == 2
    assert "error: --methods: unknown method" in capsys.readouterr().err
    assert main(["benchmark", "--backbones", "no_such_net", "--list"]) == 2
    assert "error: --backbones:" in capsys.readouterr().err
    assert main(["benchmark", "--net-backbone", "no_such_net", "--backbones", "--list"]) == 2
    assert "error: --net-backbone:" in capsys.readouterr().err


def test_search_methods_returns_methods_and_skipped():
    from skanimal.benchmark import search_methods

    methods, skipped = search_methods(["linear_probe", "painseeker"], n_trials=4,
                                      backbones=["dino_resnet50", "efficientnet_lite0"])
    # linear_probe searches the backbones with weights; painseeker's trunk has none
    (probe,) = methods
    assert probe.name == "Linear probe (tuned, 4 trials)"
    assert probe.estimator.param_distributions["deepfeatures__backbone"].choices == (
        "efficientnet_lite0",)
    assert list(skipped) == ["PainSeeker (tuned, 4 trials)"]
    assert "dino_resnet50" in skipped["PainSeeker (tuned, 4 trials)"]
    methods, skipped = search_methods(["linear_probe"], backbones=["dino_resnet50"])
    assert methods == [] and "dino_resnet50" in skipped["Linear probe (tuned, 20 trials)"]


# --- review of issue 9 ------------------------------------------------------------------


def test_too_many_folds_is_one_line_naming_cv_before_any_extraction(tmp_path, capsys):
    """6 subjects cannot make 10 folds: refused before a single image is embedded."""
    cache = tmp_path / "cache"
    status = main(["benchmark", *SMALL, "--cv", "10", "--backbones", "efficientnet_lite0",
                   "--net-backbone", "none", "--cache-dir", str(cache),
                   "-o", str(tmp_path / "out")])
    assert status == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1, err
    assert err.startswith("skanimal benchmark: error: --cv 10: ") and "groups: 6" in err
    # no feature was extracted: the embedding cache holds nothing
    assert main(["cache", "info", "--cache-dir", str(cache)]) == 0
    assert "no cached embeddings" in capsys.readouterr().out


def test_run_benchmark_checks_the_folds_before_extracting(small_data):
    from sklearn.model_selection import GroupKFold
    from sklearn.svm import LinearSVC

    from skanimal.exceptions import DataError
    from skanimal.features import LBPFeatures

    calls = []

    class CountingLBP(LBPFeatures):
        def transform(self, X):
            calls.append(len(X))
            return super().transform(X)

    methods = [BenchmarkMethod("a", LinearSVC(), features=CountingLBP(grid=(2, 2)))]
    args = (small_data.images, small_data.target, small_data.groups)
    with pytest.raises(DataError, match=r"cv=GroupKFold\(n_splits=10.*number of groups"):
        run_benchmark(methods, *args, cv=GroupKFold(10), verbose=0)
    with pytest.raises(DataError, match="single subject"):
        run_benchmark(methods, *args[:2], np.zeros(len(args[2])), verbose=0)
    with pytest.raises(DataError, match="single class"):
        run_benchmark(methods, args[0], np.ones(len(args[1])), args[2], verbose=0)
    assert calls == []
    # an int is GroupKFold; a one-shot iterable of folds serves every method
    folds = iter(list(GroupKFold(3).split(*args)))
    two = [methods[0], BenchmarkMethod("b", LinearSVC(C=0.1), features=CountingLBP(grid=(2, 2)))]
    by_iter = run_benchmark(two, *args, cv=folds, verbose=0)
    by_int = run_benchmark(two, *args, cv=3, verbose=0)
    for name in ("a", "b"):
        pd.testing.assert_frame_equal(by_iter[name], by_int[name])


def test_single_class_manifest_is_one_line_naming_data(tmp_path, capsys):
    data_dir = tmp_path / "data"
    assert main(["make-dataset", str(data_dir), "--n-samples", "24"]) == 0
    manifest = data_dir / "manifest.csv"
    frame = pd.read_csv(manifest)
    frame.assign(label=1, label_name="pain").to_csv(manifest, index=False)
    capsys.readouterr()
    assert main(["benchmark", "--data", str(manifest), "--backbones", "none",
                 "--net-backbone", "none", "-o", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "--data" in err and "single class" in err


def test_unwritable_output_is_refused_before_the_benchmark(tmp_path, capsys):
    from skanimal.benchmark import ResultsFolderError, check_results_folder

    a_file = tmp_path / "notes.txt"
    a_file.write_text("x")
    # a folder under a regular file cannot be created, whoever runs the tests
    with pytest.raises(ResultsFolderError, match="cannot be created"):
        check_results_folder(a_file / "results")
    with pytest.raises(ResultsFolderError, match="is a file"):
        check_results_folder(a_file)
    assert main(["benchmark", "--data", str(tmp_path / "nope.csv"), "-o",
                 str(a_file / "results")]) == 2
    err = capsys.readouterr().err
    # the output is checked first, in one line naming --output
    assert err.count("\n") == 1 and "--output" in err and "nope.csv" not in err
    made = tmp_path / "new" / "results"
    assert check_results_folder(made) == [] and made.is_dir() and not list(made.iterdir())


def test_unknown_backbone_is_one_line(tmp_path, capsys):
    """resolve_backbone raises a DataError; the command line names the flag."""
    assert main(["benchmark", "--backbones", "no_such_net", "-o", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "--backbones" in err and "no_such_net" in err


def test_skipped_heading_says_weights_only_for_weights(tmp_path, capsys):
    # --backbones empty: the tuned probe has nothing to search - not a weights problem
    assert main(["benchmark", "--list", "--backbones", "--net-backbone", "none",
                 "--search", "linear_probe"]) == 0
    out = capsys.readouterr().out
    assert "(skipped) Linear probe (tuned, 20 trials)" in out and "empty" in out
    assert main(["benchmark", *SMALL, "--methods", "r1p8-4x4", "--backbones",
                 "--net-backbone", "none", "--search", "linear_probe", "--n-trials", "2",
                 "-o", str(tmp_path)]) == 0
    err = capsys.readouterr().err
    assert "skipped 1 row(s):" in err and "weights" not in err
    assert "How to get the weights" not in err


def test_search_methods_with_no_backbones_is_a_skip():
    from skanimal.benchmark import search_methods

    methods, skipped = search_methods(["linear_probe", "lbp_svm"], n_trials=3, backbones=[])
    assert [m.name for m in methods] == ["LBP + SVM (tuned, 3 trials)"]
    assert list(skipped) == ["Linear probe (tuned, 3 trials)"]
    assert "backbones is empty" in skipped["Linear probe (tuned, 3 trials)"]


def test_printed_tables_are_the_written_ones(tmp_path, capsys):
    from skanimal.benchmark import run_benchmark, write_results

    assert main(["benchmark", *SMALL, "--methods", "r1p8-4x4", "--backbones", "none",
                 "--net-backbone", "none", "-q", "-o", str(tmp_path)]) == 0
    printed = capsys.readouterr().out
    assert (tmp_path / "benchmark_table.md").read_text() in printed
    data = make_grimace_faces(n_samples=60, image_size=48, random_state=0)
    reports = run_benchmark(default_methods()[:1], data.images, data.target, data.groups,
                            verbose=0)
    written = write_results(reports, tmp_path / "lib")
    assert [p.name for p in written] == ["benchmark_table.csv", "benchmark_table.md",
                                         "benchmark_subjects.csv"]
    assert all(p.read_text() == text for p, text in written.items())


def test_make_dataset_overwrite_replaces_only_its_own_dataset(tmp_path, capsys):
    out = tmp_path / "data"
    assert main(["make-dataset", str(out), "--n-samples", "30"]) == 0
    assert main(["make-dataset", str(out), "--n-samples", "12", "--overwrite"]) == 0
    # the earlier, larger run's images are gone: the folder holds one dataset
    assert len(list((out / "images").iterdir())) == 12
    capsys.readouterr()
    # a study folder with a manifest that make-dataset did not write is refused
    study = tmp_path / "study"
    study.mkdir()
    (study / "manifest.csv").write_text("path,label,subject\nimg/a.png,1,rat1\n")
    assert main(["make-dataset", str(study), "--n-samples", "12", "--overwrite"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "manifest.csv" in err and "make-dataset" in err
    assert (study / "manifest.csv").read_text() == "path,label,subject\nimg/a.png,1,rat1\n"
    assert sorted(p.name for p in study.iterdir()) == ["manifest.csv"]

"""Tests for the papers' protocols: run records, resuming, reports, the painseeker protocol."""

import base64
import io
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from skanimal.benchmark import (
    PAPER_RESULTS,
    PROTOCOLS,
    compare_with_paper,
    dataset_fingerprint,
    default_methods,
    run_protocol,
)
from skanimal.cli import PROTOCOL_NAMES, main
from skanimal.datasets import make_grimace_faces
from skanimal.evaluation import subject_report
from skanimal.exceptions import ResultsExistError

LBP_ONLY = dict(trunk=None)
TINY_NETS = dict(trunk="test_resnet", weights={"test_resnet": None}, image_size=96,
                 batch_size=16)


def test_the_cli_names_every_registered_protocol():
    assert list(PROTOCOL_NAMES) == list(PROTOCOLS)


def test_compare_with_paper_puts_the_paper_beside_each_metric():
    ours = pd.DataFrame({"F1": [0.5, 0.6], "accuracy %": [50.0, 60.0], "extra": [1, 2]},
                        index=pd.Index(["PainSeeker", "Mine"], name="method"))
    paper = PAPER_RESULTS["painseeker"].xs("pooled", level="subject")
    table = compare_with_paper(ours, paper)
    assert list(table.columns) == ["F1", "F1 (paper)", "accuracy %", "accuracy % (paper)",
                                   "extra"]
    assert table.loc["PainSeeker", "F1 (paper)"] == 0.7731
    assert table.loc["PainSeeker", "accuracy % (paper)"] == 74.17
    assert np.isnan(table.loc["Mine", "F1 (paper)"])


def test_dataset_fingerprint_follows_contents_not_file_names(tmp_path):
    data = make_grimace_faces(n_samples=12, image_size=32, random_state=0)
    paths = []
    for i, img in enumerate(data.images):
        p = tmp_path / f"img{i}.png"
        Image.fromarray(img).save(p)
        paths.append(str(p))
    a = dataset_fingerprint(np.array(paths), data.target, data.groups)
    renamed = []
    for i, p in enumerate(paths):
        q = tmp_path / f"renamed{i}.png"
        shutil.copy(p, q)
        renamed.append(str(q))
    b = dataset_fingerprint(np.array(renamed), data.target, data.groups)
    assert a == b
    Image.fromarray(255 - data.images[0]).save(renamed[0])
    c = dataset_fingerprint(np.array(renamed), data.target, data.groups)
    assert c["images"] != a["images"] and c["labels"] == a["labels"]
    d = dataset_fingerprint(np.array(paths), data.target, np.roll(data.groups, 1))
    assert d["subjects"] != a["subjects"] and d["dataset"] != a["dataset"]


@pytest.fixture(scope="module")
def lbp_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("painseeker")
    ctx = run_protocol("painseeker", output=out, n_samples=60, settings=LBP_ONLY, verbose=0,
                       command=["skanimal", "benchmark", "painseeker"])
    return out, ctx


def test_painseeker_tables_match_subject_report_and_the_paper(lbp_run):
    out, _ = lbp_run
    table = pd.read_csv(out / "painseeker_vs_paper.csv", index_col=0)
    data = make_grimace_faces(n_samples=60, random_state=0)
    for m in default_methods():
        report = subject_report(m.pipeline(), data.images, data.target, data.groups)
        assert table.loc[m.name, "F1"] == pytest.approx(report.loc["pooled", "f1"])
        assert table.loc[m.name, "accuracy %"] == pytest.approx(
            100 * report.loc["pooled", "accuracy"])
        paper = PAPER_RESULTS["painseeker"].loc[(m.name, "pooled")]
        assert table.loc[m.name, "F1 (paper)"] == paper["F1"]
        assert table.loc[m.name, "accuracy % (paper)"] == paper["accuracy %"]
    per_subject = pd.read_csv(out / "table3_per_subject.csv", index_col=[0, 1])
    # the i-th subject beside the paper's Rat#i
    assert per_subject.loc[("LBP R3P8 4x4", "rat03"), "F1 (paper)"] == 0.5223
    md = (out / "table3.md").read_text()
    assert "| LBP R1P8 4x4" in md and "Pooled" in md


def test_run_json_records_versions_data_and_per_fold_timings(lbp_run):
    out, ctx = lbp_run
    record = json.loads((out / "run.json").read_text())
    assert record["status"] == "complete" and record["protocol"] == "painseeker"
    assert record["command"] == ["skanimal", "benchmark", "painseeker"]
    for dist in ("skanimal", "torch", "timm", "scikit-learn", "numpy"):
        assert record["versions"][dist]
    assert record["device"] == "cpu" and record["seeds"] == {"random_state": 0}
    data = make_grimace_faces(n_samples=60, random_state=0)
    assert record["dataset"]["fingerprint"] == dataset_fingerprint(data.images, data.target,
                                                                   data.groups)
    assert record["dataset"]["builtin"] is True
    folds = record["timings"]["methods"]["main/LBP R1P8 4x4"]["folds"]
    assert [f["subjects"] for f in folds] == [[f"rat0{i}"] for i in range(1, 7)]
    assert all(f["fit_time"] > 0 and f["resumed"] is False for f in folds)
    assert record["timings"]["total_s"] >= sum(f["fit_time"] for f in folds)
    for name in ("painseeker_vs_paper.csv", "table3.md", "per_subject_f1.png",
                 "confusion_matrix.png", "report.html"):
        assert name in record["files"] and (out / name).is_file()


def test_a_second_run_resumes_and_changed_settings_or_data_are_refused(lbp_run, tmp_path):
    out, _ = lbp_run
    copy = tmp_path / "copy"
    shutil.copytree(out, copy)
    before = (copy / "painseeker_vs_paper.csv").read_text()
    run_protocol("painseeker", output=copy, n_samples=60, settings=LBP_ONLY, verbose=0)
    record = json.loads((copy / "run.json").read_text())
    folds = record["timings"]["methods"]["main/LBP R3P8 16x16"]["folds"]
    assert all(f["resumed"] for f in folds)
    assert (copy / "painseeker_vs_paper.csv").read_text() == before
    with pytest.raises(ResultsExistError, match="different the settings.*epochs: 1 then, now 3"):
        run_protocol("painseeker", output=copy, n_samples=60,
                     settings=dict(LBP_ONLY, epochs=3), verbose=0)
    with pytest.raises(ResultsExistError, match=r"different the dataset \(images"):
        run_protocol("painseeker", output=copy, n_samples=66, settings=LBP_ONLY, verbose=0)
    # nothing was overwritten by the refused runs
    assert (copy / "painseeker_vs_paper.csv").read_text() == before
    # --overwrite discards the old run and its checkpoints
    run_protocol("painseeker", output=copy, n_samples=66, settings=LBP_ONLY, verbose=0,
                 overwrite=True)
    record = json.loads((copy / "run.json").read_text())
    assert record["dataset"]["fingerprint"]["n_images"] == 66
    folds = record["timings"]["methods"]["main/LBP R3P8 16x16"]["folds"]
    assert not any(f["resumed"] for f in folds)


def test_a_folder_with_other_files_is_refused(tmp_path):
    (tmp_path / "notes.txt").write_text("mine")
    with pytest.raises(ResultsExistError, match="no run.json"):
        run_protocol("painseeker", output=tmp_path, n_samples=60, settings=LBP_ONLY,
                     verbose=0)
    assert (tmp_path / "notes.txt").read_text() == "mine"


def test_unknown_settings_and_protocols_are_errors(tmp_path):
    with pytest.raises(ValueError, match="not settings of protocol 'painseeker'"):
        run_protocol("painseeker", output=tmp_path, settings={"epoch": 3})
    with pytest.raises(ValueError, match="protocol must be one of"):
        run_protocol("rats", output=tmp_path)


def _cli_argv(out, extra=()):
    return ["benchmark", "painseeker", "--n-samples", "48", "--net-backbone", "test_resnet",
            "--weights", "test_resnet=random", "--epochs", "2", "--train-fraction", "1",
            "-q", "-o", str(out), *extra]


def test_a_killed_run_resumes_and_ends_with_the_uninterrupted_table(tmp_path):
    """Kill a real process mid-run (SIGKILL), start it again: finished folds are reused."""
    killed, clean = tmp_path / "killed", tmp_path / "clean"
    cmd = [sys.executable, "-m", "skanimal", *_cli_argv(killed)]
    env = dict(os.environ, OMP_NUM_THREADS="1")
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
    folds = killed / "folds" / "main"
    deadline = time.time() + 240
    # wait until a network has finished some folds but not all
    while time.time() < deadline and proc.poll() is None:
        nets = [d for d in folds.glob("*test-resnet*")] if folds.exists() else []
        if any(len(list(d.glob("fold-*.npz"))) >= 1 for d in nets):
            break
        time.sleep(0.2)
    assert proc.poll() is None, "the run ended before it could be killed"
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    record = json.loads((killed / "run.json").read_text())
    assert record["status"] == "running"
    assert not (killed / "report.html").exists()
    n_stored = len(list(folds.rglob("fold-*.npz")))
    assert 0 < n_stored < 9 * 6

    assert main(_cli_argv(killed)) == 0
    assert main(_cli_argv(clean)) == 0
    record = json.loads((killed / "run.json").read_text())
    resumed = sum(f["resumed"] for m in record["timings"]["methods"].values()
                  if isinstance(m, dict) for f in m["folds"])
    assert resumed == n_stored
    for name in ("painseeker_vs_paper.csv", "table3.csv", "table3_per_subject.csv"):
        assert (killed / name).read_text() == (clean / name).read_text()
    assert not list(killed.rglob("*.tmp*"))  # no half-written file left behind


def _browser():
    for name in ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable"):
        path = shutil.which(name)
        if path:
            return path
    return None


def test_report_html_renders_in_a_real_headless_browser(lbp_run, tmp_path):
    browser = _browser()
    if browser is None:
        pytest.skip("no headless browser (chromium) could be found; .ci/run installs one")
    out, _ = lbp_run
    page = (out / "report.html").read_text()
    # self-contained: every figure is embedded, nothing is fetched
    sources = re.findall(r'<img [^>]*src="([^"]+)"', page)
    assert len(sources) >= 2 and all(s.startswith("data:image/png;base64,") for s in sources)
    for s in sources:
        Image.open(io.BytesIO(base64.b64decode(s.split(",", 1)[1]))).verify()
    assert not re.search(r'(src|href)="(https?:|//)', page)
    common = [browser, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
              f"--user-data-dir={tmp_path / 'profile'}"]
    url = (out / "report.html").as_uri()
    dom = subprocess.run([*common, "--dump-dom", url], capture_output=True, text=True,
                         timeout=120, check=True).stdout
    assert dom.count("<table") >= 3 and "Pooled leave-one-subject-out results" in dom
    assert "LBP R3P8 16x16" in dom and "not comparable to the paper" in dom
    shot = tmp_path / "shot.png"
    subprocess.run([*common, f"--screenshot={shot}", "--window-size=1200,1600", url],
                   capture_output=True, timeout=120, check=True)
    pixels = np.asarray(Image.open(shot).convert("RGB"), dtype=int)
    assert pixels.shape[:2] == (1600, 1200)
    # the page is drawn: dark text and the yellow note on white, not a blank page
    assert (pixels.sum(axis=2) < 200).mean() > 0.005
    yellow = (pixels[..., 0] > 240) & (pixels[..., 1] > 230) & (pixels[..., 2] < 230)
    assert yellow.mean() > 0.002


@pytest.mark.parametrize("argv, message", [
    (["--backbones", "resnet50"], "--backbones does not apply to protocol 'painseeker'"),
    (["--search", "lbp_svm"], "--search applies to the main job"),
    (["--methods", "lbp"], "--methods applies to the main job"),
    (["--net-backbone", "no_such_net"], "--net-backbone"),
])
def test_protocol_flag_errors_name_the_flag(argv, message, tmp_path, capsys):
    assert main(["benchmark", "painseeker", *argv, "-q", "-o", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err
    assert message in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "o").exists()  # refused before anything ran


def test_main_job_refuses_protocol_only_flags(tmp_path, capsys):
    assert main(["benchmark", "--sensitivity", "-o", str(tmp_path)]) == 2
    assert "--sensitivity applies to a protocol" in capsys.readouterr().err


def test_protocol_cli_refuses_a_changed_setting_naming_output_and_overwrite(lbp_run, tmp_path,
                                                                           capsys):
    out, _ = lbp_run
    copy = tmp_path / "copy"
    shutil.copytree(out, copy)
    argv = ["benchmark", "painseeker", "--n-samples", "60", "--net-backbone", "none", "-q",
            "-o", str(copy)]
    assert main([*argv, "--epochs", "4"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("skanimal benchmark: error: --output:") and "--overwrite" in err
    assert "epochs" in err


def test_cli_flags_become_protocol_settings():
    from skanimal.cli import _build_parser, _protocol_settings

    parser = _build_parser()

    def settings(*argv):
        args = parser.parse_args(["benchmark", *argv])
        return _protocol_settings(args, PROTOCOLS[args.protocol].defaults["fast"])

    assert settings("dog-backbones", "--cv", "loso") == {"cv": "loso"}
    assert settings("dog-backbones", "--cv", "3", "--backbones", "resnet50") == {
        "cv": 3, "backbones": ["resnet50"]}
    assert settings("amgs", "--backbones", "efficientnet_lite0", "--abstain", "0.8") == {
        "backbone": "efficientnet_lite0", "threshold": 0.8}
    assert settings("painseeker", "--net-backbone", "none", "--epochs", "3",
                    "--weights", "resnet18=random") == {
        "trunk": None, "epochs": 3, "weights": {"resnet18": None}}

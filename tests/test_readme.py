"""The README's Python snippets run as written (the offline ones).

Each ```python block of README.md is run on its own, in a fresh namespace, in
a temporary folder; they share one embedding cache, as a user's snippets
would. A block whose first line is a comment starting with "# needs internet"
is skipped: it downloads weights.
"""

import re
from pathlib import Path

import pytest

README = Path(__file__).resolve().parent.parent / "README.md"
_BLOCK = re.compile(r"^```python\n(.*?)^```", re.DOTALL | re.MULTILINE)


def _snippets():
    return _BLOCK.findall(README.read_text(encoding="utf-8"))


def test_readme_has_the_quickstart_snippets():
    snippets = _snippets()
    assert len(snippets) >= 4
    online = [s for s in snippets if s.startswith("# needs internet")]
    assert len(online) == 1 and "PainSeekerClassifier" in online[0]


@pytest.fixture(scope="module")
def cache_dir(tmp_path_factory):
    return tmp_path_factory.mktemp("readme-cache")


@pytest.mark.parametrize("index", range(len(_snippets())))
def test_readme_snippet_runs_standalone(index, tmp_path, cache_dir, monkeypatch, capsys):
    code = _snippets()[index]
    if code.startswith("# needs internet"):
        pytest.skip(code.splitlines()[0].lstrip("# "))
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("SKANIMAL_CACHE_DIR", str(cache_dir))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    namespace = {"__name__": "__readme__"}
    exec(compile(code, f"README.md snippet {index + 1}", "exec"), namespace)
    printed = capsys.readouterr().out
    if "print(" in code:
        assert printed.strip()
    if "subject_report(" in code:
        report = namespace["report"]
        assert report.loc["pooled", "n_images"] == len(namespace["data"].target)
    if "to_markdown(report" in code:
        # counts print as integers, not as 40.0000
        assert re.search(r"\| pooled +\| +\d+ \|", printed)


_SCORING = re.compile(r"^## Score your own videos\n.*?^```bash\n(.*?)^```",
                      re.DOTALL | re.MULTILINE)


def test_readme_scoring_commands_run_as_written(tmp_path, cache_dir, monkeypatch, capsys):
    """The three commands of "Score your own videos", on files named as they name them."""
    import glob
    import shlex

    import av
    import numpy as np
    import pandas as pd

    from skanimal.cli import main
    from skanimal.datasets import make_grimace_faces, save_dataset

    commands = [line for line in _SCORING.search(README.read_text()).group(1).splitlines()
                if line.strip()]
    assert [shlex.split(c)[1] for c in commands] == ["train", "frames", "predict"]
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("SKANIMAL_CACHE_DIR", str(cache_dir))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    faces = make_grimace_faces(n_samples=60, image_size=48, random_state=4)
    save_dataset(faces, "faces")
    (tmp_path / "cage").mkdir()
    for k, name in enumerate(("mouse1_baseline", "mouse1_post", "mouse2_baseline")):
        with av.open(f"cage/{name}.mp4", "w") as out:  # 40 s at 1 fps
            stream = out.add_stream("mpeg4", rate=1)
            stream.width = stream.height = 48
            stream.pix_fmt = "yuv420p"
            for i in range(40):
                image = faces.images[(20 * k + i) % 60]
                out.mux(stream.encode(av.VideoFrame.from_ndarray(image, format="rgb24")))
            out.mux(stream.encode())
    for command in commands:
        argv = []
        for arg in shlex.split(command)[1:]:  # the shell's glob expansion
            argv += sorted(glob.glob(arg)) if "*" in arg else [arg]
        assert main(argv) == 0, command
    capsys.readouterr()
    frames = pd.read_csv("frames/manifest.csv")
    assert sorted(set(frames["time"])) == [0.0, 10.0, 20.0, 30.0]
    summary = pd.read_csv("scores/summary.csv", index_col="subject")
    assert list(summary.index) == ["mouse1", "mouse2"]
    assert list(summary["n_images"]) == [8, 4]
    pred = pd.read_csv("scores/predictions.csv")
    assert np.array_equal(pred["abstained"], pred["confidence"] < 0.75)
    diff = pd.read_csv("scores/differences.csv")
    assert set(diff["treatment_session"]) == {"post"}
    assert (tmp_path / "scores" / "report.html").is_file()

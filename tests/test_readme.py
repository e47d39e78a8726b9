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

"""Each paper's protocol by name: a run that writes tables, figures, run.json and report.html.

A protocol is a function ``run(ctx)`` registered with :func:`register_protocol`;
``ctx`` is a :class:`ProtocolRun`, which holds the data and the settings and
does the rest once for every protocol: subject-wise evaluation with per-fold
checkpoints (so that a killed run resumes), the run record, the comparison
with the paper, the files and the HTML page.
"""

# Authors: the skanimal developers
# SPDX-License-Identifier: BSD-3-Clause

import datetime
import hashlib
import json
import shutil
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..exceptions import ResultsExistError
from ..utils._io import write_text_atomic
from ..utils._records import jsonable, library_versions

__all__ = ["PROTOCOLS", "Protocol", "ProtocolRun", "dataset_fingerprint", "register_protocol",
           "run_protocol"]

#: Registered protocols by name, in registration order.
PROTOCOLS = {}

_RECORD = "run.json"
_FOLDS = "folds"
_RECORD_VERSION = 1


@dataclass(frozen=True)
class Protocol:
    """A paper's protocol, as :func:`run_protocol` runs it.

    Parameters
    ----------
    name : str
        The name on the command line (``skanimal benchmark NAME``).
    title : str
        One line: the paper and its table.
    paper : str
        The key of the paper's citation.
    run : callable
        ``run(ctx)`` with a :class:`ProtocolRun`; it evaluates the methods
        and adds tables, figures and notes to `ctx`.
    defaults : dict
        Settings per preset: ``{"fast": {...}, "paper": {...}}``.
    make_data : callable
        ``make_data(n_samples, random_state)``: the built-in dataset of the
        protocol, a Bunch like the loaders'.
    description : str, default=""
        A paragraph for ``--help`` and the report.

    See Also
    --------
    run_protocol : Run a registered protocol.

    Examples
    --------
    >>> from skanimal.benchmark import PROTOCOLS
    >>> spec = PROTOCOLS["painseeker"]
    >>> spec.paper, spec.defaults["paper"]["image_size"]
    ('liu2025', 224)
    """

    name: str
    title: str
    paper: str
    run: object = field(repr=False)
    defaults: dict = field(repr=False)
    make_data: object = field(repr=False)
    description: str = ""


def register_protocol(protocol):
    """Add a protocol to :data:`PROTOCOLS` (replacing one of the same name).

    Parameters
    ----------
    protocol : Protocol
        The protocol.

    Returns
    -------
    protocol : Protocol
        The same protocol.

    Examples
    --------
    >>> from skanimal.benchmark import PROTOCOLS, Protocol, register_protocol
    >>> def run(ctx):
    ...     ctx.text("nothing measured")
    >>> demo = register_protocol(Protocol("demo", "A demo", "liu2025", run,
    ...                                   {"fast": {}}, make_data=None))
    >>> PROTOCOLS.pop("demo") is demo
    True
    """
    PROTOCOLS[protocol.name] = protocol
    return protocol


def _sha(h, value):
    if isinstance(value, str):
        value = value.encode()
    h.update(value)
    h.update(b"\0")


def dataset_fingerprint(X, y, groups):
    """A fingerprint of a dataset: its images' contents, labels and subjects.

    Parameters
    ----------
    X : array-like of str of shape (n_samples,) or ndarray of shape \
            (n_samples, height, width[, channels])
        Image paths (their file contents are hashed, not their names) or
        images.
    y : array-like of shape (n_samples,)
        Labels.
    groups : array-like of shape (n_samples,)
        Subject ids.

    Returns
    -------
    fingerprint : dict
        ``n_images``, and SHA-256 digests ``images`` (of the image contents in
        order), ``labels``, ``subjects`` and ``dataset`` (of all three).

    Examples
    --------
    >>> import numpy as np
    >>> from skanimal.benchmark import dataset_fingerprint
    >>> X = np.zeros((4, 8, 8), dtype=np.uint8)
    >>> a = dataset_fingerprint(X, [0, 1, 0, 1], ["a", "a", "b", "b"])
    >>> b = dataset_fingerprint(X, [0, 1, 1, 1], ["a", "a", "b", "b"])
    >>> a["images"] == b["images"], a["labels"] == b["labels"]
    (True, False)
    """
    from ..features import image_keys

    keys = image_keys(X)
    out = {"n_images": len(keys)}
    for name, values in (("images", keys), ("labels", y), ("subjects", groups)):
        h = hashlib.sha256()
        for v in (values.tolist() if hasattr(values, "tolist") else list(values)):
            _sha(h, repr(v))
        out[name] = h.hexdigest()
    h = hashlib.sha256()
    for name in ("images", "labels", "subjects"):
        _sha(h, out[name])
    out["dataset"] = h.hexdigest()
    return out


class ProtocolRun:
    """What a protocol's ``run`` function gets: the data, the settings, the output.

    Not created by users: :func:`run_protocol` makes one per run.

    Parameters
    ----------
    protocol : Protocol
        The protocol.
    data : sklearn.utils.Bunch
        ``images``, ``target``, ``groups``, ``target_names`` and, from the
        loaders, ``frame`` (one row per image, with e.g. a human score,
        video or session column).
    settings : dict
        The resolved settings (the preset's, updated with the user's).
    output : pathlib.Path
        The results folder.
    source : str
        What the data is (e.g. ``"built-in grimace faces"``), for captions.
    builtin : bool
        Whether the data is the built-in generated set.
    verbose : int
        0 is silent.
    preset : str, default="fast"
        The preset the settings started from.
    show_tables : bool, default=True
        Whether :meth:`table` prints each table on standard output.

    Attributes
    ----------
    items : list of dict
        The report's contents so far, in order (see
        :func:`~skanimal.benchmark.render_report`).
    files : dict of {str: str}
        The files written so far, by name, with what each is.
    timings : dict
        Per method: total seconds and per-fold fit/predict seconds.

    See Also
    --------
    run_protocol : Makes the run and writes its results.

    Examples
    --------
    >>> import tempfile
    >>> from skanimal.benchmark import run_protocol
    >>> with tempfile.TemporaryDirectory() as d:
    ...     ctx = run_protocol("painseeker", output=d, n_samples=36,
    ...                        settings={"trunk": None}, verbose=0)
    ...     print(type(ctx).__name__, "report.html" in ctx.files)
    ProtocolRun True
    """

    def __init__(self, protocol, data, settings, output, *, source, builtin, verbose,
                 preset="fast", show_tables=True):
        self.protocol = protocol
        self.preset = preset
        self.show_tables = show_tables
        self.data = data
        self.settings = settings
        self.output = Path(output)
        self.source = source
        self.builtin = builtin
        self.verbose = verbose
        self.items = []
        self.files = {}
        self.timings = {}

    def log(self, text):
        """Print a progress line on standard error (unless silent).

        Parameters
        ----------
        text : str
            The line.
        """
        if self.verbose:
            print(text, file=sys.stderr, flush=True)

    def evaluate(self, methods, *, cv=None, abstain_threshold=None, stage="main"):
        """Evaluate methods subject-wise on the run's data, resuming finished folds.

        Parameters
        ----------
        methods : list of BenchmarkMethod
            The rows.
        cv : int, splitter or iterable, default=None
            As for :func:`~skanimal.benchmark.run_benchmark` (None is
            leave-one-subject-out).
        abstain_threshold : float, default=None
            As for :func:`~skanimal.benchmark.run_benchmark`.
        stage : str, default="main"
            A name for this set of evaluations (e.g. ``"sensitivity"``): its
            checkpoints are kept apart.

        Returns
        -------
        reports : dict of {str: pandas.DataFrame}
            The subject-wise report of each method.
        predictions : dict of {str: pandas.DataFrame}
            The out-of-fold predictions of each method.
        """
        from ._suite import run_benchmark

        start = time.perf_counter()
        reports, predictions = run_benchmark(
            methods, self.data.images, self.data.target, self.data.groups, cv=cv,
            verbose=self.verbose, abstain_threshold=abstain_threshold,
            checkpoint=self.output / _FOLDS / stage, return_predictions=True)
        for name, report in reports.items():
            folds = report.attrs["folds"]
            self.timings[f"{stage}/{name}"] = {
                "fit_s": float(np.nansum([f["fit_time"] for f in folds])),
                "predict_s": float(np.nansum([f["predict_time"] for f in folds])),
                "folds": [{k: f[k] for k in ("fold", "subjects", "n_train", "n_test",
                                             "fit_time", "predict_time", "resumed")}
                          for f in folds],
            }
        self.timings[f"{stage} (wall)"] = time.perf_counter() - start
        return reports, predictions

    def heading(self, text):
        """Start a section of the report.

        Parameters
        ----------
        text : str
            The heading.
        """
        self.items.append({"kind": "heading", "text": text})

    def note(self, text):
        """Add a highlighted note (printed too).

        Parameters
        ----------
        text : str
            The note.
        """
        self.items.append({"kind": "note", "text": text})
        self.log(text)

    def text(self, text):
        """Add a paragraph.

        Parameters
        ----------
        text : str
            The paragraph.
        """
        self.items.append({"kind": "text", "text": text})

    def table(self, name, df, caption, *, float_format="{:.4f}", show=True):
        """Add a table: written as ``<name>.csv`` and ``<name>.md``, and to the report.

        Parameters
        ----------
        name : str
            The file stem.
        df : pandas.DataFrame
            The table.
        caption : str
            One line above it.
        float_format : str, default="{:.4f}"
            Format of float cells in Markdown and HTML.
        show : bool, default=True
            Also print the Markdown on standard output.

        Returns
        -------
        markdown : str
            The Markdown text written.
        """
        from ..evaluation import to_markdown

        md = f"{caption}\n\n{to_markdown(df, float_format=float_format)}"
        self.write(f"{name}.csv", df.to_csv(), caption)
        self.write(f"{name}.md", md, caption)
        self.items.append({"kind": "table", "df": df, "caption": caption,
                           "float_format": float_format})
        if show and self.show_tables:
            print("\n" + md, end="")
        return md

    def figure(self, name, fig, caption):
        """Add a figure: written as ``<name>.png`` and embedded in the report.

        Parameters
        ----------
        name : str
            The file stem.
        fig : matplotlib.figure.Figure
            The figure (closed afterwards).
        caption : str
            Its caption.
        """
        from ..utils._io import atomic_path
        from ._report import figure_png

        png = figure_png(fig)
        with atomic_path(self.output / f"{name}.png") as tmp:
            Path(tmp).write_bytes(png)
        self.files[f"{name}.png"] = caption
        self.items.append({"kind": "figure", "png": png, "caption": caption})

    def write(self, name, text, what):
        """Write a text file of the results (e.g. a predictions CSV) atomically.

        Parameters
        ----------
        name : str
            The file name, in the results folder.
        text : str
            Its contents.
        what : str
            What it is, for ``run.json``'s list of files.
        """
        write_text_atomic(self.output / name, text)
        self.files[name] = what



def _check_resume(output, record, overwrite):
    """Compare an existing run.json with this run's; return what to do."""
    path = output / _RECORD
    if not path.exists():
        leftovers = [p.name for p in output.iterdir()] if output.is_dir() else []
        leftovers = [n for n in leftovers if not n.startswith(".")]
        if leftovers and not overwrite:
            raise ResultsExistError(
                f"the results folder {str(output)!r} holds files but no run.json of a "
                f"protocol run ({', '.join(sorted(leftovers)[:5])}); choose another folder, or "
                "pass overwrite=True to replace the files this protocol writes.",
                files=[str(output / n) for n in leftovers])
        return "new"
    try:
        old = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ResultsExistError(
            f"the results folder {str(output)!r} holds a run.json that cannot be read "
            f"({exc}); choose another folder, or pass overwrite=True to start again.",
            files=[str(path)]) from exc
    changed = [what for what, a, b in (
        ("the protocol", old.get("protocol"), record["protocol"]),
        ("the settings", old.get("settings"), record["settings"]),
        ("the dataset (images, labels or subjects)",
         (old.get("dataset") or {}).get("fingerprint", {}).get("dataset"),
         record["dataset"]["fingerprint"]["dataset"]),
    ) if a != b]
    if not changed:
        return "resume"
    if overwrite:
        return "restart"
    detail = []
    if "the settings" in changed:
        a, b = old.get("settings") or {}, record["settings"]
        detail = [f"{k}: {a.get(k)!r} then, now {b.get(k)!r}" for k in sorted(set(a) | set(b))
                  if a.get(k) != b.get(k)]
    raise ResultsExistError(
        f"the results folder {str(output)!r} holds a run of protocol {old.get('protocol')!r} "
        f"with different {', '.join(changed)}"
        + (f" ({'; '.join(detail)})" if detail else "")
        + "; resuming it would mix results. Choose another folder, or pass overwrite=True to "
        "discard it.", files=[str(path)])


def _discard(output, old_files):
    """Remove what an earlier protocol run wrote (its files and fold checkpoints)."""
    shutil.rmtree(output / _FOLDS, ignore_errors=True)
    for name in [*old_files, _RECORD, "report.html"]:
        p = output / name
        if p.is_file():
            p.unlink()


def run_protocol(protocol, data=None, *, output, preset="fast", settings=None, source=None,
                 n_samples=None, random_state=0, overwrite=False, verbose=1, command=None,
                 show_tables=None):
    """Run a paper's protocol end to end and write its results.

    Writes to `output`: each table as CSV and Markdown, figures as PNG,
    ``run.json`` (versions, seeds, device, command line, per-fold and total
    timings, the dataset's fingerprint) and ``report.html``, one
    self-contained page with every table and figure. Each fold's predictions
    are stored as soon as the fold finishes: a run stopped at any point and
    started again with the same `output` refits only the unfinished folds and
    ends with the same tables. A folder holding a run with another protocol,
    other settings or another dataset is refused rather than mixed.

    Parameters
    ----------
    protocol : str
        A name of :data:`PROTOCOLS`: ``"painseeker"``, ``"dog-backbones"``,
        ``"amgs"`` or ``"unbc-levels"``.
    data : sklearn.utils.Bunch, default=None
        ``images``, ``target``, ``groups``, ``target_names`` (and ``frame``)
        as the loaders return; None uses the protocol's built-in dataset.
    output : str or path-like
        The results folder.
    preset : {"fast", "paper"}, default="fast"
        ``"fast"``: a short training budget for a CPU; ``"paper"``: the
        paper's full training settings.
    settings : dict, default=None
        Settings that replace the preset's (e.g. ``{"trunk": "resnet18"}``).
    source : str, default=None
        What `data` is, for captions (e.g. the manifest's path).
    n_samples : int, default=None
        Size of the built-in dataset (None: the protocol's default).
    random_state : int, default=0
        Seed of the built-in dataset and of every model.
    overwrite : bool, default=False
        Discard an earlier run in `output` that cannot be resumed.
    verbose : int, default=1
        0 is silent.
    command : list of str, default=None
        The command line, recorded in ``run.json`` (default: ``sys.argv``).
    show_tables : bool, default=None
        Print each table (Markdown) on standard output; None means when
        `verbose` is not 0.

    Returns
    -------
    ctx : ProtocolRun
        The run: its ``items`` (tables, figures, notes), ``files`` and
        ``timings``.

    Raises
    ------
    skanimal.exceptions.ResultsExistError
        If `output` holds another run (or other files) and `overwrite` is
        False.

    See Also
    --------
    PROTOCOLS : The protocols by name.
    run_benchmark : The subject-wise evaluation behind every protocol.

    Examples
    --------
    >>> import tempfile
    >>> from pathlib import Path
    >>> from skanimal.benchmark import run_protocol
    >>> with tempfile.TemporaryDirectory() as d:
    ...     ctx = run_protocol("painseeker", output=d, n_samples=36,
    ...                        settings={"trunk": None}, verbose=0)
    ...     again = run_protocol("painseeker", output=d, n_samples=36,
    ...                          settings={"trunk": None}, verbose=0)  # resumes
    ...     print(sorted(p.name for p in Path(d).glob("*.*"))[:3])
    ...     print(all(f["resumed"] for f in again.timings["main/LBP R1P8 4x4"]["folds"]))
    ['confusion_matrix.png', 'painseeker_vs_paper.csv', 'painseeker_vs_paper.md']
    True
    """
    from ._suite import check_results_folder

    if protocol not in PROTOCOLS:
        raise ValueError(f"protocol must be one of {list(PROTOCOLS)}, got {protocol!r}.")
    spec = PROTOCOLS[protocol]
    if preset not in spec.defaults:
        raise ValueError(f"preset must be one of {list(spec.defaults)}, got {preset!r}.")
    resolved = dict(spec.defaults[preset])
    unknown = set(settings or {}) - set(resolved)
    if unknown:
        raise ValueError(f"settings {sorted(unknown)} are not settings of protocol "
                         f"{protocol!r}; its settings: {sorted(resolved)}.")
    resolved.update({k: v for k, v in (settings or {}).items()})
    resolved["random_state"] = random_state
    builtin = data is None
    if builtin:
        data = spec.make_data(n_samples, random_state)
        source = f"the built-in generated dataset (random_state={random_state})"
    source = source or "the given dataset"
    output = Path(output)
    check_results_folder(output, overwrite=True)  # creates it; checks it is writable

    from ..utils._torch import resolve_device

    record = {
        "skanimal_run": _RECORD_VERSION,
        "protocol": protocol,
        "preset": preset,
        "settings": jsonable({"preset": preset, **resolved}),
        "command": list(sys.argv if command is None else command),
        "versions": library_versions(),
        "device": str(resolve_device(resolved.get("device", "auto"))),
        "seeds": {"random_state": random_state},
        "dataset": {"source": source, "builtin": builtin,
                    "fingerprint": dataset_fingerprint(data.images, data.target,
                                                       data.groups),
                    "n_subjects": int(len(np.unique(data.groups))),
                    "classes": [str(c) for c in data.target_names]},
    }
    action = _check_resume(output, record, overwrite)
    if action == "restart" or (action == "new" and overwrite):
        old = {}
        if (output / _RECORD).exists():
            try:
                old = json.loads((output / _RECORD).read_text(encoding="utf-8"))
            except ValueError:
                old = {}
        _discard(output, list((old.get("files") or {}).keys()))
    ctx = ProtocolRun(spec, data, resolved, output, source=source, builtin=builtin,
                      verbose=verbose, preset=preset,
                      show_tables=bool(verbose) if show_tables is None else bool(show_tables))
    if action == "resume":
        n_done = sum(1 for _ in (output / _FOLDS).rglob("fold-*.npz")) \
            if (output / _FOLDS).exists() else 0
        ctx.log(f"resuming the run in {output}: {n_done} finished fold(s) are reused")
    started = datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")
    record.update(status="running", started=started)
    write_text_atomic(output / _RECORD, json.dumps(record, indent=1) + "\n")

    start = time.perf_counter()
    ctx.heading(spec.title)
    if builtin:
        ctx.note("The data is skanimal's built-in generated dataset (cartoon faces): its "
                 "numbers show that the protocol runs and how methods compare on it; they are "
                 "not comparable to the paper's, which come from real animals.")
    else:
        ctx.text(f"Data: {source}; {len(data.target)} images of "
                 f"{record['dataset']['n_subjects']} subjects.")
    spec.run(ctx)
    record.update(status="complete",
                  finished=datetime.datetime.now(datetime.timezone.utc).isoformat(
                      timespec="seconds"),
                  timings={"total_s": time.perf_counter() - start, "methods": ctx.timings},
                  files=dict(ctx.files))
    from ._report import render_report

    page = render_report(f"skanimal benchmark {protocol}", ctx.items, record=record)
    write_text_atomic(output / "report.html", page)
    ctx.files["report.html"] = "the whole result as one page"
    record["files"] = dict(ctx.files)
    write_text_atomic(output / _RECORD, json.dumps(record, indent=1) + "\n")
    ctx.files[_RECORD] = "the run record"
    ctx.record = record
    return ctx

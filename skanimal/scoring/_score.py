"""Score new animals: per-image predictions, per-animal % pain, time courses, a report.

A fitted model (any skanimal classifier, or one loaded with
:func:`skanimal.load_model`) is applied to images or video frames of animals it
has never seen; the aMGS paper's analysis (Tuttle et al., 2018) follows: the
unconfident images are discarded, % pain is the share of pain among the
confident ones per animal, a video with fewer than one confident image per
minute is excluded, and difference scores compare a treatment session with
the baseline. The per-group arithmetic is :func:`skanimal.evaluation.
aggregate_predictions` and :func:`~skanimal.evaluation.difference_scores`; this
module adds the per-image table, the per-animal pooling over videos, the
figures and the files.
"""

# Authors: the skanimal developers
# SPDX-License-Identifier: BSD-3-Clause

import json
import os
import re
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.utils import Bunch
from sklearn.utils.validation import check_is_fitted

from ..exceptions import DataError, ResultsExistError
from ..utils._docs import cite_papers
from ..utils._io import atomic_path, write_text_atomic
from ..utils._records import jsonable

__all__ = ["predict_images", "score_animals", "summarize_predictions", "timecourse_figure"]

#: The aMGS paper's confidence threshold (Tuttle et al., 2018).
AMGS_THRESHOLD = 0.75

#: The aMGS paper grabs one frame every 10 s of video.
_FRAME_EVERY = 10.0

#: The files :func:`score_animals` writes (besides one time-course PNG per animal).
SCORE_FILES = ("predictions.csv", "summary.csv", "differences.csv", "report.html",
               "scoring.json")

_CONTEXT = ("video", "time", "subject", "session", "condition")


def _frame_column(frame, name, n):
    if frame is None or name not in frame.columns:
        return None
    values = frame[name].to_numpy()
    if len(values) != n:
        raise DataError(f"frame has {len(values)} rows and X {n} images.")
    return values


def _pain_label(classes, pos_label):
    """The pain class among the model's classes."""
    classes = list(np.asarray(classes).tolist())
    if pos_label != "auto":
        if pos_label not in classes:
            raise DataError(f"pos_label={pos_label!r} is not one of the model's classes "
                            f"{classes}.")
        return pos_label
    for candidate in (1, "pain", True):
        if candidate in classes:
            return candidate
    if len(classes) == 2:
        return classes[1]
    raise DataError(f"the model's classes {classes} have no class 1 or 'pain': give "
                    "pos_label, the class counted as pain.")


def _resolve_threshold(model, threshold):
    if threshold == "auto":
        own = getattr(model, "threshold_", None)
        return float(own) if own is not None else AMGS_THRESHOLD
    if threshold is None:
        return None
    threshold = float(threshold)
    if not 0.0 <= threshold <= 1.0:
        raise ValueError(f"threshold must be in [0, 1] (a probability), got {threshold!r}.")
    return threshold


@cite_papers("tuttle2018")
def predict_images(model, X, *, frame=None, threshold="auto", pos_label="auto",
                   class_names=None):
    """One row per image: the prediction, its confidence and whether it is kept.

    Parameters
    ----------
    model : fitted classifier
        Any fitted classifier taking images (a skanimal pipeline, network or
        :class:`~skanimal.selective.ConfidenceThresholdClassifier`), e.g. one
        loaded with :func:`skanimal.load_model`. With ``predict_proba`` the
        confidence is the winning class probability; without it (e.g.
        ``LinearSVC``) confidence is NaN and no image is discarded.
    X : array-like of str of shape (n_samples,) or ndarray of shape \
            (n_samples, height, width[, channels])
        The images: paths (or lazily cropped / augmented copies) or arrays.
    frame : pandas.DataFrame of shape (n_samples, n_columns), default=None
        One row per image, e.g. a loader's ``frame`` or the manifest of
        :func:`skanimal.video.write_frames`; its ``path``, ``video``, ``time``,
        ``subject``, ``session`` and ``condition`` columns are copied when
        present.
    threshold : float in [0, 1], "auto" or None, default="auto"
        Minimum confidence of a kept image. ``"auto"``: the model's own
        ``threshold_`` if it abstains, else 0.75 (the aMGS paper). None keeps
        every image.
    pos_label : object, default="auto"
        The pain class: ``"auto"`` is 1 or ``"pain"`` when a class, else the
        second of two classes.
    class_names : sequence of str or dict, default=None
        Names of the classes (e.g. a loader's ``target_names``, indexed by
        position in ``model.classes_``, or a dict ``{class: name}``); adds a
        ``label_name`` column.

    Returns
    -------
    predictions : pandas.DataFrame of shape (n_samples, n_columns)
        Columns ``path`` (the image file; for an array image, its position),
        then the copied columns of ``frame``, ``label`` (the predicted class),
        ``label_name`` (with ``class_names``), ``confidence``, ``p_pain`` (the
        probability of `pos_label`), ``signed_confidence`` (``2 p_pain - 1``:
        -1 certain no pain, +1 certain pain, as in the aMGS paper) and
        ``abstained`` (confidence under the threshold). ``attrs`` holds
        ``threshold`` and ``pos_label``.

    See Also
    --------
    summarize_predictions : Per-animal % pain from these rows.
    score_animals : Predictions, summaries, figures and a report, as files.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.linear_model import LogisticRegression
    >>> from skanimal.datasets import make_grimace_faces
    >>> from skanimal.features import LBPFeatures
    >>> from skanimal.pipeline import make_pipeline
    >>> from skanimal.scoring import predict_images
    >>> faces = make_grimace_faces(n_samples=60, image_size=48, random_state=0)
    >>> model = make_pipeline(LBPFeatures(image_size=(48, 48)), LogisticRegression())
    >>> model = model.fit(faces.images, faces.target)
    >>> pred = predict_images(model, faces.images[:4], frame=faces.frame[:4],
    ...                       class_names=faces.target_names)
    >>> list(pred.columns)  # doctest: +NORMALIZE_WHITESPACE
    ['path', 'subject', 'label', 'label_name', 'confidence', 'p_pain',
     'signed_confidence', 'abstained']
    >>> bool(((pred["confidence"] >= 0.5) & (pred["confidence"] <= 1)).all())
    True
    """
    from ..utils._images import _image_path, image_input_kind

    check_is_fitted(model)
    classes = np.asarray(model.classes_)
    pain = _pain_label(classes, pos_label)
    threshold = _resolve_threshold(model, threshold)
    n = len(X)
    out = {}
    if image_input_kind(X) == "paths":
        out["path"] = [os.fspath(_image_path(x)) for x in X]
    else:
        out["path"] = [f"X[{i}]" for i in range(n)]
    path_col = _frame_column(frame, "path", n)
    if path_col is not None and image_input_kind(X) != "paths":
        out["path"] = list(path_col)
    for name in _CONTEXT:
        values = _frame_column(frame, name, n)
        if values is not None:
            out[name] = values
    if hasattr(model, "predict_proba"):
        proba = np.asarray(model.predict_proba(X), dtype=float)
        best = np.argmax(proba, axis=1)
        label = classes[best]
        confidence = proba[np.arange(n), best]
        p_pain = proba[:, int(np.flatnonzero(classes == pain)[0])]
    else:
        label = np.asarray(model.predict(X))
        confidence = np.full(n, np.nan)
        p_pain = np.full(n, np.nan)
    out["label"] = label
    if class_names is not None:
        names = (dict(class_names) if isinstance(class_names, dict)
                 else dict(zip(classes.tolist(), list(class_names))))
        out["label_name"] = [names.get(v, str(v)) for v in label.tolist()]
    out["confidence"] = confidence
    out["p_pain"] = p_pain
    out["signed_confidence"] = 2.0 * p_pain - 1.0
    if threshold is None or not np.isfinite(confidence).all():
        out["abstained"] = np.zeros(n, dtype=bool)
    else:
        out["abstained"] = confidence < threshold
    predictions = pd.DataFrame(out)
    predictions.attrs.update(threshold=threshold, pos_label=pain)
    return predictions


def _video_ids(predictions):
    """A video id per row that never merges two animals' videos of the same name."""
    video = predictions["video"].astype(str)
    if "subject" in predictions.columns:
        return predictions["subject"].astype(str) + " / " + video
    return video


@cite_papers("tuttle2018")
def summarize_predictions(predictions, *, by="auto", min_rate=1.0, frame_interval=None):
    """Per animal (or per video): images, confident images, % pain, exclusions.

    Parameters
    ----------
    predictions : pandas.DataFrame
        The output of :func:`predict_images`.
    by : {"auto", "subject", "video"}, default="auto"
        One row per ``subject`` (``"auto"`` when the column exists) or per
        ``video``.
    min_rate : float, default=1.0
        The aMGS paper's exclusion: a video with fewer than `min_rate`
        confident images per minute is left out of its animal's row (needs the
        ``video`` and ``time`` columns; 0 excludes nothing).
    frame_interval : float, default=None
        Seconds between two sampled frames, for the duration of a video
        (``max(time) - min(time) + frame_interval``). None: the median step
        between consecutive frame times of the videos (10 s, the aMGS paper's
        rate, when no video has two frames).

    Returns
    -------
    summary : pandas.DataFrame
        One row per animal or video (index ``subject`` or ``video``, sorted)
        with ``n_images``, ``n_confident``, ``n_pain``, ``pct_pain`` (pain
        among the confident images, %), ``mean_signed_confidence`` (over the
        confident images) and, with videos, ``n_videos`` and ``n_excluded``
        (videos excluded by the rate rule, whose images count in neither
        ``n_confident`` nor ``pct_pain``) and ``excluded`` (every video
        excluded). Per video the rows also hold ``minutes`` and
        ``confident_per_minute``.

    See Also
    --------
    predict_images : The per-image rows.
    skanimal.evaluation.aggregate_predictions : The per-group arithmetic.

    Examples
    --------
    >>> import pandas as pd
    >>> from skanimal.scoring import summarize_predictions
    >>> pred = pd.DataFrame({"subject": ["m1", "m1", "m1", "m2"],
    ...                      "label": [1, 0, 1, 1],
    ...                      "signed_confidence": [0.8, -0.9, 0.2, 0.6],
    ...                      "abstained": [False, False, True, False]})
    >>> pred.attrs["pos_label"] = 1
    >>> summarize_predictions(pred)[["n_images", "n_confident", "pct_pain"]]
             n_images  n_confident  pct_pain
    subject
    m1              3            2      50.0
    m2              1            1     100.0
    """

    cols = set(predictions.columns)
    if by == "auto":
        by = "subject" if "subject" in cols else "video"
    if by not in ("subject", "video"):
        raise ValueError(f"by must be 'auto', 'subject' or 'video', got {by!r}.")
    if by not in cols:
        raise DataError(f"the predictions have no {by!r} column to summarise by: give the "
                        "images' subjects (or videos).")
    pos_label = predictions.attrs.get("pos_label", 1)
    keep = ~predictions["abstained"].to_numpy(dtype=bool)
    label = predictions["label"].to_numpy()
    has_videos = "video" in cols
    video = _video_ids(predictions).to_numpy() if has_videos else None
    times = None
    if has_videos and "time" in cols:
        t = pd.to_numeric(predictions["time"], errors="coerce").to_numpy(dtype=float)
        times = t if np.isfinite(t).all() else None
    if times is not None and frame_interval is None:
        steps = pd.Series(times).groupby(video).diff().dropna()
        steps = steps[steps > 0]
        frame_interval = float(steps.median()) if len(steps) else _FRAME_EVERY
    excluded_rows = np.zeros(len(predictions), dtype=bool)
    per_video = None
    if has_videos:
        per_video = _per_video(label, keep, video, times, pos_label, frame_interval, min_rate)
        excluded_rows = per_video["excluded"].reindex(video).to_numpy(dtype=bool)
        if by == "video":
            return per_video.rename_axis("video")
    groups = predictions[by].astype(str).to_numpy()
    used = keep & ~excluded_rows
    signed = predictions.get("signed_confidence")
    signed = (np.full(len(groups), np.nan) if signed is None
              else signed.to_numpy(dtype=float))
    table = pd.DataFrame({
        "g": groups, "image": 1, "confident": used,
        "pain": used & _equal(label, pos_label),
        "signed": np.where(used, signed, np.nan)})
    agg = table.groupby("g").agg(n_images=("image", "sum"), n_confident=("confident", "sum"),
                                 n_pain=("pain", "sum"),
                                 mean_signed_confidence=("signed", "mean"))
    agg["pct_pain"] = np.where(agg["n_confident"] > 0,
                               agg["n_pain"] / agg["n_confident"].where(
                                   agg["n_confident"] > 0, 1) * 100, np.nan)
    agg = agg[["n_images", "n_confident", "n_pain", "pct_pain", "mean_signed_confidence"]]
    if per_video is not None:
        owner = pd.Series(groups, index=video).groupby(level=0).first()
        vids = per_video.assign(owner=owner.reindex(per_video.index).to_numpy())
        agg["n_videos"] = vids.groupby("owner").size().reindex(agg.index).to_numpy()
        agg["n_excluded"] = vids.groupby("owner")["excluded"].sum().reindex(
            agg.index).to_numpy()
        agg["excluded"] = agg["n_excluded"] == agg["n_videos"]
    agg.index.name = by
    agg.attrs.update(pos_label=pos_label, min_rate=min_rate, frame_interval=frame_interval,
                     threshold=predictions.attrs.get("threshold"))
    return agg.sort_index()


def _equal(values, value):
    values = np.asarray(values, dtype=object)
    return np.array([v == value for v in values], dtype=bool)


def _per_video(label, keep, video, times, pos_label, frame_interval, min_rate):
    """aggregate_predictions per video; a kept image has confidence 1, the others 0."""
    from ..evaluation import aggregate_predictions

    summary = aggregate_predictions(
        np.asarray(label), video, confidence=keep.astype(float), threshold=0.5,
        pos_label=pos_label, abstain_value=None, frame_times=times,
        frame_interval=frame_interval or _FRAME_EVERY,
        min_rate=min_rate if times is not None else 0.0)
    return summary[["n_images", "n_confident", "n_pain", "pct_pain", "minutes",
                    "confident_per_minute", "excluded", "reason"]]


def timecourse_figure(predictions, subject=None, *, title=None):
    """The signed confidence of one animal's images over time, one line per video.

    Parameters
    ----------
    predictions : pandas.DataFrame
        The output of :func:`predict_images`.
    subject : str, default=None
        The animal shown (a value of the ``subject`` column); None shows every
        row.
    title : str, default=None
        The axes title (default: the subject).

    Returns
    -------
    fig : matplotlib.figure.Figure
        Signed confidence (-1 certain no pain, +1 certain pain) against time in
        minutes (or the image's position without a ``time`` column); confident
        images are filled dots, discarded ones hollow.

    See Also
    --------
    score_animals : Writes one of these per animal.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> import pandas as pd
    >>> from skanimal.scoring import timecourse_figure
    >>> pred = pd.DataFrame({"subject": "m1", "video": "v1", "time": [0.0, 10.0, 20.0],
    ...                      "signed_confidence": [-0.8, 0.1, 0.9],
    ...                      "abstained": [False, True, False]})
    >>> fig = timecourse_figure(pred, "m1")
    >>> fig.axes[0].get_xlabel()
    'time (min)'
    """
    import matplotlib.pyplot as plt

    rows = predictions if subject is None else predictions[
        predictions["subject"].astype(str) == str(subject)]
    fig, ax = plt.subplots(figsize=(6.4, 2.8))
    has_time = "time" in rows.columns
    videos = rows["video"].astype(str) if "video" in rows.columns else pd.Series(
        "", index=rows.index)
    for name, part in rows.groupby(videos, sort=True):
        x = (part["time"].to_numpy(dtype=float) / 60.0 if has_time
             else np.arange(len(part), dtype=float))
        y = part["signed_confidence"].to_numpy(dtype=float)
        kept = ~part["abstained"].to_numpy(dtype=bool)
        line, = ax.plot(x, y, "-", lw=0.8, alpha=0.6, label=name or None)
        ax.plot(x[kept], y[kept], "o", ms=4, color=line.get_color())
        ax.plot(x[~kept], y[~kept], "o", ms=4, mfc="none", color=line.get_color())
    ax.axhline(0.0, color="0.6", lw=0.6)
    ax.set_ylim(-1.05, 1.05)
    ax.set_ylabel("signed confidence\n(-1 no pain, +1 pain)")
    ax.set_xlabel("time (min)" if has_time else "image")
    ax.set_title(title if title is not None else ("" if subject is None else str(subject)))
    if videos.nunique() > 1:
        ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.0, 1.0), frameon=False)
    fig.tight_layout()
    return fig


def _differences(predictions, baseline, frame_interval, min_rate):
    """Difference scores (treatment - baseline % pain) per animal and treatment; or a reason."""
    from ..evaluation import difference_scores

    cols = set(predictions.columns)
    by = "condition" if "condition" in cols else "session" if "session" in cols else None
    if by is None or "subject" not in cols:
        return None, ("no difference scores: the images need 'subject' and 'session' (or "
                      "'condition') columns.")
    sessions = predictions[by].astype(str)
    values = sorted(sessions.unique())
    if baseline is None:
        baseline = "baseline" if "baseline" in values else None
    if baseline is None or str(baseline) not in values:
        return None, (f"no difference scores: no {by} is the baseline (give baseline=, one "
                      f"of {values}).")
    baseline = str(baseline)
    group = predictions["subject"].astype(str) + " | " + sessions
    per = predictions.assign(video=group) if "video" not in cols else predictions.assign(
        video=group + " | " + predictions["video"].astype(str))
    per = per.drop(columns=["subject"])
    summary = summarize_predictions(per, by="video", min_rate=min_rate,
                                    frame_interval=frame_interval)
    owner = dict(zip(per["video"].astype(str), predictions["subject"].astype(str)))
    cond = dict(zip(per["video"].astype(str), sessions))
    parts = []
    for treatment in values:
        if treatment == baseline:
            continue
        scores = difference_scores(summary, {g: owner[g] for g in summary.index},
                                   {g: cond[g] for g in summary.index},
                                   baseline=baseline, treatment=treatment)
        parts.append(scores.assign(treatment_session=treatment).reset_index())
    if not parts:
        return None, f"no difference scores: every image is in the baseline {by}."
    table = pd.concat(parts, ignore_index=True).set_index(["subject", "treatment_session"])
    table.attrs.update(baseline=baseline, by=by)
    return table, None


def _check_output(output, overwrite):
    from ..benchmark import check_results_folder

    output = Path(output)
    check_results_folder(output, overwrite=True)  # creates it, checks it is writable
    existing = [f for f in SCORE_FILES if (output / f).exists()]
    if existing and not overwrite:
        raise ResultsExistError(
            f"{str(output)!r} already holds scores ({', '.join(existing)}); pass "
            "overwrite=True (--overwrite) or another output folder.")
    return output


def _explainable(model):
    """The fitted step that EigenCAM can explain (a network or DeepFeatures), or None."""
    from ..features import DeepFeatures
    from ..nets import FineTunedClassifier, FineTunedRegressor, PainSeekerClassifier

    kinds = (DeepFeatures, FineTunedClassifier, FineTunedRegressor, PainSeekerClassifier)
    todo = [model]
    while todo:
        est = todo.pop(0)
        if isinstance(est, kinds):
            return est
        if hasattr(est, "steps"):
            todo.extend(step for _, step in est.steps)
        inner = getattr(est, "estimator_", None)
        if inner is not None:
            todo.append(inner)
    return None


def _explanation_figure(model, X, predictions, n=4):
    """EigenCAM over the most and least confident images; (figure, caption) or (None, why)."""
    from ..explain import eigencam, plot_attention_grid
    from ..nets import PainSeekerClassifier
    from ..utils._folds import _index

    step = _explainable(model)
    if step is None:
        return None, ("no EigenCAM overlays: the model has no network (LBP features are "
                      "not explained).")
    conf = predictions["confidence"].to_numpy(dtype=float)
    if not np.isfinite(conf).any():
        return None, "no EigenCAM overlays: the model gives no confidence."
    order = np.argsort(-conf, kind="stable")
    pos = np.unique(np.concatenate([order[:n], order[-n:]]))
    pos = pos[np.argsort(-conf[pos], kind="stable")]
    shown = _index(X, pos)
    beta = isinstance(step, PainSeekerClassifier)
    try:  # PainSeeker's own attention beta (Liu et al., 2025), EigenCAM otherwise
        maps = step.attention_maps(shown) if beta else eigencam(step, shown)
    except (DataError, ValueError) as exc:
        return None, f"no {'attention' if beta else 'EigenCAM'} overlays: {exc}"
    titles = [f"{predictions['label'].iloc[i]} ({conf[i]:.2f})" for i in pos]
    fig = plot_attention_grid(shown, maps, titles=titles, n_cols=min(len(pos), 8))
    what = ("PainSeeker's region attention beta (one weight per face region; the regions "
            "it uses to decide)" if beta else
            "EigenCAM (the first principal component of the network's last activations; "
            "class-independent)")
    return fig, (f"{what} over the most confident images (left) and the least confident "
                 "ones (right); titles: predicted class (confidence).")


@cite_papers("tuttle2018")
def score_animals(model, X, output, *, frame=None, threshold="auto", pos_label="auto",
                  class_names=None, baseline=None, min_rate=1.0, frame_interval=None,
                  explain=True, overwrite=False, metadata=None):
    """Score new animals' images and write predictions, summaries, figures and a report.

    The aMGS paper's analysis (Tuttle et al., 2018) of new animals:
    :func:`predict_images`, then :func:`summarize_predictions` per animal (per
    video when no subject is known) and, with a ``session`` or ``condition``
    column, difference scores against the baseline session.

    Parameters
    ----------
    model : fitted classifier
        E.g. :func:`skanimal.load_model`'s result.
    X : array-like of str of shape (n_samples,) or ndarray of shape \
            (n_samples, height, width[, channels])
        The images or sampled video frames.
    output : str or os.PathLike
        The folder written (created if needed).
    frame : pandas.DataFrame of shape (n_samples, n_columns), default=None
        One row per image, with any of ``path``, ``video``, ``time``,
        ``subject``, ``session``, ``condition`` (e.g. the manifest of
        :func:`skanimal.video.write_frames`).
    threshold : float, "auto" or None, default="auto"
        As in :func:`predict_images`.
    pos_label : object, default="auto"
        As in :func:`predict_images`.
    class_names : sequence of str or dict, default=None
        As in :func:`predict_images`.
    baseline : str, default=None
        The baseline session (or condition) of the difference scores; None:
        ``"baseline"`` if it is one.
    min_rate : float, default=1.0
        As in :func:`summarize_predictions`.
    frame_interval : float, default=None
        As in :func:`summarize_predictions`.
    explain : bool, default=True
        Add overlays of the most and least confident images to the report,
        for models with a network: PainSeeker's attention ``beta``, EigenCAM
        for the others.
    overwrite : bool, default=False
        Replace the scores of an earlier run in `output`; otherwise such a
        folder is refused before anything is computed.
    metadata : dict, default=None
        Recorded in ``scoring.json`` and shown in the report (e.g. the model
        file and its metadata).

    Returns
    -------
    result : :class:`~sklearn.utils.Bunch`
        ``predictions``, ``summary``, ``differences`` (None without sessions)
        and ``files`` (the paths written).

    Raises
    ------
    ResultsExistError
        If `output` holds scores and `overwrite` is False.

    See Also
    --------
    predict_images : The per-image rows.
    summarize_predictions : The per-animal rows.
    timecourse_figure : The per-animal figures.

    Notes
    -----
    Files: ``predictions.csv`` (one row per image), ``summary.csv`` (one row
    per animal or video), ``differences.csv`` (with sessions),
    ``timecourse_<animal>.png`` (one per animal or video), ``scoring.json``
    (threshold, class counted as pain, rules, metadata) and ``report.html``
    (one self-contained page). Each file is written atomically.

    Examples
    --------
    >>> import tempfile
    >>> from sklearn.linear_model import LogisticRegression
    >>> from skanimal.datasets import make_grimace_faces
    >>> from skanimal.features import LBPFeatures
    >>> from skanimal.pipeline import make_pipeline
    >>> from skanimal.scoring import score_animals
    >>> faces = make_grimace_faces(n_samples=60, image_size=48, random_state=0)
    >>> model = make_pipeline(LBPFeatures(image_size=(48, 48)), LogisticRegression())
    >>> model = model.fit(faces.images, faces.target)
    >>> result = score_animals(model, faces.images, tempfile.mkdtemp(),
    ...                        frame=faces.frame)
    >>> list(result.summary.index)
    ['rat01', 'rat02', 'rat03', 'rat04', 'rat05', 'rat06']
    """
    from ..benchmark import figure_png, render_report

    output = _check_output(output, overwrite)
    predictions = predict_images(model, X, frame=frame, threshold=threshold,
                                 pos_label=pos_label, class_names=class_names)
    summary = summarize_predictions(predictions, min_rate=min_rate,
                                    frame_interval=frame_interval)
    differences, why = _differences(predictions, baseline, summary.attrs.get(
        "frame_interval", frame_interval), min_rate)
    files = []

    def write_csv(name, df, index=True):
        with atomic_path(output / name) as tmp:
            df.to_csv(tmp, index=index)
        files.append(str(output / name))

    write_csv("predictions.csv", predictions, index=False)
    write_csv("summary.csv", summary)
    if differences is not None:
        write_csv("differences.csv", differences)
    threshold_used = predictions.attrs["threshold"]
    pain = predictions.attrs["pos_label"]
    by = summary.index.name
    items = [{"kind": "note", "text": (
        f"{len(predictions)} images of {len(summary)} {by}s. % pain: images predicted "
        f"{pain!r} among the confident ones"
        + (f" (confidence >= {threshold_used:g}, the aMGS paper's rule)"
           if threshold_used is not None else " (no confidence threshold)")
        + (f"; a video with fewer than {min_rate:g} confident image(s) per minute is "
           "excluded." if min_rate and {"video", "time"} <= set(predictions.columns)
           else "."))},
             {"kind": "table", "df": summary, "caption": f"Per {by}."}]
    if differences is not None:
        items.append({"kind": "table", "df": differences, "caption": (
            f"Difference scores: % pain in each session minus the baseline "
            f"{differences.attrs['baseline']!r}, per animal.")})
    elif why:
        items.append({"kind": "note", "text": why})
    import matplotlib.pyplot as plt

    keys = summary.index.astype(str)
    for i, key in enumerate(keys):
        if by == "subject":
            fig = timecourse_figure(predictions, key)
        else:
            fig = timecourse_figure(predictions[_video_ids(predictions).astype(str) == key],
                                    title=key)
        png = figure_png(fig)
        plt.close(fig)
        name = f"timecourse_{i + 1:03d}_{_safe_name(key)}.png"
        with atomic_path(output / name) as tmp:
            Path(tmp).write_bytes(png)
        files.append(str(output / name))
        items.append({"kind": "figure", "png": png, "caption": f"{by} {key}: signed "
                      "confidence over time (filled: confident, hollow: discarded)."})
    if explain:
        fig, caption = _explanation_figure(model, X, predictions)
        if fig is None:
            items.append({"kind": "note", "text": caption})
        else:
            items.append({"kind": "figure", "png": figure_png(fig), "caption": caption})
            plt.close(fig)
    record = {"threshold": threshold_used, "pos_label": jsonable(pain),
              "min_rate": min_rate, "summarised_by": by, "n_images": len(predictions),
              "metadata": jsonable(metadata or {})}
    write_text_atomic(output / "scoring.json", json.dumps(record, indent=2) + "\n")
    files.append(str(output / "scoring.json"))
    page = render_report("skanimal scores of new animals", items, record=record)
    write_text_atomic(output / "report.html", page)
    files.append(str(output / "report.html"))
    return Bunch(predictions=predictions, summary=summary, differences=differences,
                 files=files)


@cite_papers("tuttle2018")
def score_videos(model, videos, output, *, every=10.0, mode="first", min_sharpness=None,
                 subject_pattern=None, session_pattern=None, image_format="jpg",
                 threshold="auto", pos_label="auto", class_names=None, baseline=None,
                 min_rate=1.0, explain=True, overwrite=False, metadata=None):
    """Sample frames of new animals' videos, score them and write the results.

    The aMGS paper's analysis (Tuttle et al., 2018): one frame every 10
    seconds of each video, each scored by the model, the unconfident ones
    discarded, % pain per animal, the exclusion of a video with too few
    confident frames, and difference scores against the baseline session.
    The frames are written to ``output/frames`` (with its ``manifest.csv``,
    exactly as :func:`skanimal.video.write_frames` writes them) and scored
    from there, so scoring a video gives the same rows as writing its frames
    and scoring that folder.

    Parameters
    ----------
    model : fitted classifier
        E.g. :func:`skanimal.load_model`'s result.
    videos : str, os.PathLike or list of them
        The video files; they are only read.
    output : str or os.PathLike
        The folder written (created if needed).
    every : float or None, default=10.0
        Seconds between sampled frames (the aMGS paper's 10), or None for
        every frame; see :func:`skanimal.video.sample_frames`.
    mode : {"first", "sharpest"}, default="first"
        See :func:`skanimal.video.sample_frames`.
    min_sharpness : float, default=None
        See :func:`skanimal.video.sample_frames`.
    subject_pattern : str or re.Pattern, default=None
        A regular expression with a named group ``subject`` searched in each
        video's file name, e.g. ``r"^(?P<subject>mouse\\d+)_"``; without it,
        results are per video.
    session_pattern : str or re.Pattern, default=None
        A regular expression with a named group ``session`` searched in each
        video's file name, e.g. ``r"_(?P<session>baseline|post\\w*)"``: adds
        difference scores of each session against `baseline`.
    image_format : {"jpg", "png"}, default="jpg"
        The frames' file format.
    threshold : float, "auto" or None, default="auto"
        As in :func:`predict_images`.
    pos_label : object, default="auto"
        As in :func:`predict_images`.
    class_names : sequence of str or dict, default=None
        As in :func:`predict_images`.
    baseline : str, default=None
        As in :func:`score_animals`.
    min_rate : float, default=1.0
        As in :func:`summarize_predictions`.
    explain : bool, default=True
        As in :func:`score_animals`.
    overwrite : bool, default=False
        Replace the frames and scores of an earlier run in `output`;
        otherwise such a folder is refused before any video is decoded.
    metadata : dict, default=None
        As in :func:`score_animals`.

    Returns
    -------
    result : :class:`~sklearn.utils.Bunch`
        As :func:`score_animals` returns it, plus ``manifest`` (the frames'
        manifest).

    Raises
    ------
    skanimal.exceptions.VideoReadError
        A video cannot be read (the frames read before the error are kept in
        ``output/frames``).
    ResultsExistError
        If `output` holds frames or scores and `overwrite` is False.
    skanimal.exceptions.DataError
        A pattern finds no subject or session in a video's file name.

    See Also
    --------
    score_animals : The same on images.
    skanimal.video.write_frames : The frames alone.

    Examples
    --------
    >>> import os, tempfile
    >>> import av, numpy as np
    >>> from sklearn.linear_model import LogisticRegression
    >>> from skanimal.datasets import make_grimace_faces
    >>> from skanimal.features import LBPFeatures
    >>> from skanimal.pipeline import make_pipeline
    >>> from skanimal.scoring import score_videos
    >>> faces = make_grimace_faces(n_samples=60, image_size=48, random_state=0)
    >>> model = make_pipeline(LBPFeatures(image_size=(48, 48)), LogisticRegression())
    >>> model = model.fit(faces.images, faces.target)
    >>> folder = tempfile.mkdtemp()
    >>> video = os.path.join(folder, "mouse1.mp4")
    >>> with av.open(video, "w") as out:  # 30 s at 2 fps
    ...     stream = out.add_stream("mpeg4", rate=2)
    ...     stream.width, stream.height, stream.pix_fmt = 48, 48, "yuv420p"
    ...     for i in range(60):
    ...         frame = av.VideoFrame.from_ndarray(faces.images[i], format="rgb24")
    ...         out.mux(stream.encode(frame))
    ...     out.mux(stream.encode())
    >>> result = score_videos(model, video, os.path.join(folder, "scores"),
    ...                       subject_pattern=r"^(?P<subject>mouse\\d+)")
    >>> list(result.predictions["time"])
    [0.0, 10.0, 20.0]
    >>> int(result.summary.loc["mouse1", "n_images"])
    3
    """
    from ..datasets import load_new_images
    from ..video import write_frames
    from ..video._frames import _video_paths

    paths = _video_paths(videos)
    sessions = None
    if session_pattern is not None:
        pattern = re.compile(session_pattern)
        if "session" not in pattern.groupindex:
            raise DataError(f"session_pattern {pattern.pattern!r} has no named group "
                            "'session'; write it as (?P<session>...).")
        sessions = {}
        for p in paths:
            m = pattern.search(os.path.basename(p))
            if m is None or not m.group("session"):
                raise DataError(f"session_pattern {pattern.pattern!r} finds no session in "
                                f"the file name of the video {p!r}.")
            sessions[os.path.abspath(p)] = m.group("session")
    output = _check_output(output, overwrite)
    manifest = write_frames(paths, output / "frames", every=every, mode=mode,
                            min_sharpness=min_sharpness, subject_pattern=subject_pattern,
                            image_format=image_format, overwrite=overwrite)
    data = load_new_images(manifest)
    frame = data.frame
    if sessions is not None:
        frame = frame.assign(session=[sessions[os.path.abspath(v)] for v in frame["video"]])
    result = score_animals(model, data.images, output, frame=frame, threshold=threshold,
                           pos_label=pos_label, class_names=class_names, baseline=baseline,
                           min_rate=min_rate, frame_interval=every, explain=explain,
                           overwrite=overwrite, metadata=metadata)
    result.manifest = manifest
    result.files.insert(0, manifest)
    return result


def _safe_name(text):
    keep = "".join(c if c.isalnum() or c in "-_." else "_" for c in str(text))
    return keep[:60] or "all"



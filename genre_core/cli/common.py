"""What the verbs of `genre_core.cli` share: the `Command` record, argparse types, the dataset and split
flags, safe one-line output of names, checks of output paths before any long work, and the score lines that
train and evaluate both print."""

from __future__ import annotations

import argparse
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from genre_core import paths, reports
from genre_core.baselines import BASELINES
from genre_core.config import FeatureConfig
from genre_core.dataset import Dataset
from genre_core.datasets import load_dataset
from genre_core.errors import GenreLensError

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
        "--jobs", type=job_count, default=-1, metavar="N",
        help="feature-extraction processes (default -1: one process below 500 files, else one per idle core)"
    )
    parser.add_argument(
        "--cache", type=Path, default=paths.CACHE_DIR, metavar="DIR",
        help=f"folder of the feature cache (default {paths.CACHE_DIR})",
    )


def add_feature_arguments(parser: argparse.ArgumentParser) -> None:
    """``--genres``, ``--segments`` and ``--n-mfcc``, shared by extract and train."""
    defaults = FeatureConfig()
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

def load_for(args: argparse.Namespace, config: FeatureConfig, kind: str, genres: Sequence[str] | None) -> Dataset:
    """The ``--dataset`` with the ``kind`` features under ``config``; skipped files are listed."""
    dataset, errors = load_dataset(
        args.dataset, config, genres=genres, kinds=[kind], n_jobs=args.jobs, cache_dir=args.cache, show_bar=True
    )
    print_skipped(errors)
    return dataset

"""Command line: ``python -m genre_core <command> ...``.

Every command is a `Command` in `COMMANDS`: a function that adds its flags to a subparser and a
function that runs it and returns the exit status. To add a verb, write those two functions and
append one `Command` to the table. A `GenreLensError` becomes one line ``error: <message>`` on stderr
and exit status 1; argparse reports usage errors itself with status 2.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from genre_core.config import FEATURE_KINDS, FeatureConfig
from genre_core.datasets import Dataset, load_dataset
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
        "--jobs", type=int, default=-1, metavar="N", help="worker processes (default -1: all cores)"
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
    config = FeatureConfig(
        sample_rate=args.sample_rate, segments_per_track=args.segments, n_mfcc=args.n_mfcc, n_mels=args.n_mels
    )
    dataset, errors = load_dataset(
        args.dataset, config, genres=args.genres, kinds=args.kinds, n_jobs=args.jobs, cache_dir=args.out,
        show_bar=True,
    )
    print(f"{dataset.source}: {', '.join(dataset.features)} features, cache in {args.out}")
    print(format_counts(dataset))
    if errors:
        print(f"skipped {len(errors)} file(s):")
        print("\n".join(f"  {line}" for line in errors))
    return 0


#: Every verb of ``python -m genre_core``; later verbs (train, evaluate, predict, pretrain) are added here.
COMMANDS: tuple[Command, ...] = (
    Command("extract", "extract features of a dataset into a cache folder", add_extract_arguments, run_extract),
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


def main(argv: Sequence[str] | None = None) -> int:
    """Parse ``argv`` (default ``sys.argv[1:]``), run the command, return its exit status."""
    args = build_parser().parse_args(argv)
    try:
        return args.run(args)
    except GenreLensError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1

"""``python -m genre_core pretrain``: rebuild the shipped pretrained bundles and their model cards."""

from __future__ import annotations

import argparse
from pathlib import Path

from genre_core import paths, pretrain
from genre_core.cli.common import Command, comma_list, job_count

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

COMMAND = Command("pretrain", "rebuild the pretrained bundles and their model cards", add_pretrain_arguments, run_pretrain)

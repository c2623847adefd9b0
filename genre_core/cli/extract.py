"""``python -m genre_core extract``: extract a dataset's features into a cache folder, print counts per genre."""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from genre_core import cluster
from genre_core.cli.common import (
    Command,
    add_feature_arguments,
    comma_list,
    job_count,
    print_skipped,
    require_writable_folder,
)
from genre_core.config import FEATURE_KINDS, FeatureConfig
from genre_core.dataset import Dataset
from genre_core.datasets import load_dataset

def add_extract_arguments(parser: argparse.ArgumentParser) -> None:
    defaults = FeatureConfig()
    parser.add_argument(
        "--dataset", required=True, metavar="PATH",
        help="'demo' (synthetic WAVs, generated once), a folder with one subfolder of audio files per genre "
        "(GTZAN genres/ or Kaggle genres_original/), a Kaggle features .csv, an MFCC .json, or a folder "
        "with train/ and test/ holding X.npy and labels.npy",
    )
    parser.add_argument("--out", required=True, type=Path, metavar="DIR",
                        help="folder for the feature cache (a features-<key> folder of .npy files)")
    add_feature_arguments(parser)
    parser.add_argument(
        "--n-mels", type=int, default=defaults.n_mels, metavar="M",
        help=f"mel bands of the log-mel spectrogram (default {defaults.n_mels})",
    )
    parser.add_argument(
        "--sample-rate", type=int, default=defaults.sample_rate, metavar="SR",
        help=f"Hz, audio is resampled to this rate (default {defaults.sample_rate})",
    )
    parser.add_argument(
        "--kinds", type=comma_list(FEATURE_KINDS), default=list(FEATURE_KINDS), metavar="KINDS",
        help=f"feature kinds to extract, comma-separated from {','.join(FEATURE_KINDS)} (default: all)",
    )
    parser.add_argument(
        "--jobs", type=job_count, default=-1, metavar="N",
        help="worker processes (default -1: one process below 500 files, else one per idle core)"
    )
    parser.add_argument(
        "--backend", choices=cluster.BACKENDS, default=cluster.LOCAL,
        help="where the files are processed: local worker processes (default), or the workers of a Dask cluster "
        "(needs requirements-scale.txt and --scheduler; every worker must see the same paths and genre_core)",
    )
    parser.add_argument(
        "--scheduler", default=None, metavar="tcp://HOST:PORT", help="the Dask scheduler's address (with --backend dask)"
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
    with cluster.joblib_backend(args.backend, args.scheduler) as cluster_jobs:
        dataset, errors = load_dataset(
            args.dataset, config, genres=args.genres, kinds=args.kinds,
            n_jobs=args.jobs if cluster_jobs is None else cluster_jobs, cache_dir=args.out, show_bar=True,
        )
    print(f"{dataset.source}: {', '.join(dataset.features)} features, cache in {args.out}")
    print(format_counts(dataset))
    print_skipped(errors)
    return 0


COMMAND = Command("extract", "extract features of a dataset into a cache folder", add_extract_arguments, run_extract)

"""``python -m genre_core demo``: the built-in demo dataset and its feature cache, as the app's first use needs."""

from __future__ import annotations

import argparse
import time

from genre_core import audio_datasets, paths
from genre_core.cli.common import Command, print_skipped
from genre_core.config import FeatureConfig

def add_demo_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--jobs", type=int, default=-1, metavar="N", help="processes for generation and extraction (default -1: all cores)"
    )


def run_demo(args: argparse.Namespace) -> int:
    """Generate the built-in demo and extract its features into the workspace (`paths.DATA_DIR`), exactly as
    the app's first use would; instant when both are already there. ``make run`` runs it before the server."""
    start = time.perf_counter()
    dataset, skipped = audio_datasets.load_demo(FeatureConfig(), folder=paths.DEMO_DIR, cache_dir=paths.CACHE_DIR,
                                          n_jobs=args.jobs, show_bar=True, **audio_datasets.demo_size_from_environment())
    print_skipped(skipped)
    print(f"demo dataset ready in {paths.DATA_DIR}: {dataset.n_classes} genres, {dataset.n_tracks} tracks, "
          f"{len(dataset)} segments, features cached ({time.perf_counter() - start:.1f} s)")
    return 0

COMMAND = Command("demo", "generate the demo dataset and cache its features, as the app's first use needs",
                  add_demo_arguments, run_demo)

"""``python -m genre_core musicnn-weights``: the Keras ports of the pretrained musicnn networks, from their wheel."""

from __future__ import annotations

import argparse
from pathlib import Path

from genre_core import paths
from genre_core.cli.common import Command

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


COMMAND = Command("musicnn-weights", "convert the pretrained musicnn networks from their wheel to Keras",
                  add_musicnn_weights_arguments, run_musicnn_weights)

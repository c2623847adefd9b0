"""``python -m genre_core train``: train a preset through the app's train job, in the foreground."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from genre_core.cli.common import (
    Command,
    add_dataset_arguments,
    add_feature_arguments,
    add_split_arguments,
    describe_split,
    format_comparison,
    positive_int,
    print_skipped,
    require_writable_folder,
)
from genre_core.config import FeatureConfig
from genre_core.errors import GenreLensError
from genre_core.train_choices import OPTIMIZERS, OUTPUTS, SCHEDULES


def hyper_setting(text: str) -> tuple[str, Any]:
    """An argparse ``type`` for ``--hyper NAME=VALUE``: VALUE is JSON (``dropout=0.3``, ``batch_norm=true``,
    ``activation=elu``: a bare word is a string) or comma-separated sizes (``hidden=256,128``)."""
    name, equals, value = text.partition("=")
    if not equals or not name.strip() or not value.strip():
        raise argparse.ArgumentTypeError(f"'{text}' is not NAME=VALUE, e.g. dropout=0.3 or hidden=256,128")
    value = value.strip()
    if "," in value and not value.startswith("["):
        value = f"[{value}]"
    try:
        return name.strip(), json.loads(value)
    except json.JSONDecodeError:
        return name.strip(), value


def fraction(text: str) -> float:
    """An argparse ``type`` for a number in [0, 1) (momentum, weight decay)."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}' is not a number") from None
    if not 0 <= value < 1:
        raise argparse.ArgumentTypeError(f"{value} is not in [0, 1)")
    return value


def add_train_arguments(parser: argparse.ArgumentParser) -> None:
    add_dataset_arguments(parser)
    parser.add_argument(
        "--preset", required=True, metavar="NAME",
        help="model preset, e.g. ffn_mfcc (57 summary features), cnn_small or cnn_bn (log-mel), lstm_mfcc (MFCC); "
        "an unknown name lists them all",
    )
    parser.add_argument("--out", required=True, type=Path, metavar="BUNDLE_DIR", help="folder to write the bundle to")
    parser.add_argument("--epochs", type=positive_int, default=20, metavar="N", help="training epochs (default 20)")
    parser.add_argument("--batch-size", type=positive_int, default=32, metavar="N", help="rows per batch (default 32)")
    parser.add_argument("--optimizer", choices=OPTIMIZERS, default="adam", help="optimiser (default adam)")
    parser.add_argument("--lr", type=float, default=1e-3, metavar="X", help="learning rate (default 0.001)")
    parser.add_argument(
        "--momentum", type=fraction, default=0.0, metavar="M",
        help="SGD momentum in [0, 1) (default 0: plain mini-batch stochastic gradient descent)",
    )
    parser.add_argument("--nesterov", action="store_true", help="SGD with Nesterov momentum (needs --momentum > 0)")
    parser.add_argument(
        "--weight-decay", type=fraction, default=0.0, metavar="W",
        help="decoupled weight decay of every optimiser (default 0; adamw is Adam with it)",
    )
    parser.add_argument(
        "--output", choices=OUTPUTS, default="softmax",
        help="classifier head: softmax over the genres (default), or sigmoid, one unit with binary cross-entropy "
        "for 2 genres (give --genres A,B)",
    )
    parser.add_argument(
        "--hyper", type=hyper_setting, action="append", default=[], metavar="NAME=VALUE",
        help="a model setting of the preset, repeatable: e.g. --hyper activation=elu --hyper hidden=256,128 "
        "--hyper dropout=0.3 --hyper batch_norm=true (an unknown name lists the preset's settings)",
    )
    parser.add_argument(
        "--schedule", choices=SCHEDULES, default="constant",
        help="learning-rate schedule over the run (default constant)",
    )
    parser.add_argument(
        "--patience", type=positive_int, default=None, metavar="N",
        help="stop after N epochs without a better validation loss and keep the best weights (default: no early stop)",
    )
    add_split_arguments(parser, "grouped")
    add_feature_arguments(parser)


def run_train(args: argparse.Namespace) -> int:
    """Train a preset, evaluate it beside the baselines, and write the bundle (metrics inside): the app's train
    job (`train_job.train`), run in the foreground."""
    from genre_core import bundles, train_job
    from genre_core.train_callbacks import tqdm_progress
    from genre_core.train_config import TrainConfig
    from genre_core.models import get_preset

    if args.nesterov and args.momentum == 0:
        raise GenreLensError("--nesterov: needs --momentum > 0 (Nesterov momentum with momentum 0 is plain SGD)")
    train_config = TrainConfig(
        preset=args.preset, hyper=dict(args.hyper), optimizer=args.optimizer, learning_rate=args.lr,
        momentum=args.momentum, nesterov=args.nesterov, weight_decay=args.weight_decay, schedule=args.schedule,
        batch_size=args.batch_size, epochs=args.epochs, early_stopping_patience=args.patience, seed=args.seed,
        output=args.output,
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
    outcome = train_job.train(spec, args.out, progress=tqdm_progress(), emit=skipped, n_jobs=args.jobs,
                              show_bar=True)
    stop = " (early stop, best weights kept)" if outcome.stopped_early else ""
    print(f"trained {args.preset} on {outcome.source}: {outcome.epochs_run} epochs{stop}, "
          f"{outcome.train_seconds:.0f} s")
    print(describe_split(outcome.evaluation.split.to_dict()))
    print(format_comparison(outcome.evaluation.to_dict()))
    print(f"bundle written to {args.out}")
    return 0

COMMAND = Command("train", "train a model preset on a dataset and write a bundle", add_train_arguments, run_train)

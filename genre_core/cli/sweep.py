"""``python -m genre_core sweep``: train a preset at every combination of one or two settings, each with grouped
k-fold cross-validation, in the foreground (the app's sweep job, `sweep.run_sweep`), and print the table."""

from __future__ import annotations

import argparse
from pathlib import Path

from genre_core import paths
from genre_core.cli.common import (
    Command,
    add_dataset_arguments,
    comma_list,
    one_line,
    print_skipped,
    require_writable_file,
)
from genre_core.config import FeatureConfig
from genre_core.errors import InputError
from genre_core.sweep_spec import DEFAULT_FOLDS, DEFAULT_SEED, VAL_FRACTION


def add_sweep_arguments(parser: argparse.ArgumentParser) -> None:
    add_dataset_arguments(parser)
    parser.add_argument("--preset", required=True, metavar="NAME", help="model preset, e.g. ffn_mfcc or cnn_small")
    parser.add_argument(
        "--vary", action="append", required=True, metavar="NAME=V1,V2[,...]",
        help="a setting and its values (given once or twice): a training setting (learning_rate, optimizer, "
        "batch_size, schedule, epochs, ...), a hyper-parameter of the preset (hidden, dropout, activation, "
        "batch_norm, l2, ...) or a feature setting (segments_per_track, n_mfcc, n_mels); lists in brackets, "
        "e.g. hidden=[64],[128,64]; an unknown name lists them all",
    )
    parser.add_argument(
        "--set", action="append", default=[], metavar="NAME=VALUE",
        help="a setting held fixed for every run, named as for --vary (e.g. --set epochs=5 --set dropout=0.2)",
    )
    parser.add_argument("--folds", type=int, default=DEFAULT_FOLDS, metavar="K",
                        help=f"grouped cross-validation folds per setting (default {DEFAULT_FOLDS})")
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED, metavar="N",
                        help=f"seed of the folds and of every training (default {DEFAULT_SEED})")
    parser.add_argument("--genres", type=comma_list(), default=None, metavar="A,B,...",
                        help="only these genres, comma-separated (default: all)")
    parser.add_argument(
        "--out", required=True, type=Path, metavar="DIR",
        help="folder of the sweep: a new or empty one, or the folder of the same sweep to resume it",
    )
    parser.add_argument(
        "--split-dir", type=Path, default=paths.ARTIST_SPLIT_DIR if paths.ARTIST_SPLIT_DIR.is_dir() else None,
        metavar="DIR", help="the published artist-filtered GTZAN split: where its artist lists (f<k>_*_groups.txt) "
        "name the dataset's tracks, the folds are grouped by artist (no artist on both sides), else by track "
        f"(default {paths.ARTIST_SPLIT_DIR} when present)",
    )
    parser.add_argument("--by-track", action="store_true",
                        help="group the folds by track even where the artists are known")
    parser.add_argument("--html", type=Path, default=None, metavar="OUT.html",
                        help="also write the sweep's report as one self-contained HTML file (opens offline)")


def run_sweep_command(args: argparse.Namespace) -> int:
    """Check every setting (no training on bad input), run the sweep into ``--out`` (resuming what is stored
    there), print a line per run, the results table and the best setting with its noise verdict."""
    from genre_core import sweep  # noqa: PLC0415
    from genre_core.models import get_preset  # noqa: PLC0415
    from genre_core.sweep_figures import results_table  # noqa: PLC0415
    from genre_core.sweep_spec import SweepSpec, fixed_settings, parse_vary  # noqa: PLC0415
    from genre_core.train_job import DatasetSource  # noqa: PLC0415

    if args.html is not None:
        require_writable_file(args.html, "--html")
    preset = get_preset(args.preset)
    if str(args.dataset).strip().lower() != "demo" and not Path(args.dataset).exists():
        raise InputError(f"--dataset {args.dataset}", "no such file or folder")
    fixed = fixed_settings(args.set, args.preset)
    features = preset.features or fixed.feature_config(FeatureConfig())
    source = DatasetSource(str(args.dataset), features, genres=None if args.genres is None else tuple(args.genres),
                           kinds=(preset.feature_kind,), cache_dir=None if args.cache is None else str(args.cache))
    axes = tuple(parse_vary(text, args.preset) for text in args.vary)
    artists_dir = None if args.by_track or args.split_dir is None else str(args.split_dir)
    spec = SweepSpec(dataset=source, base_config=fixed.train_config, axes=axes, folds=args.folds, seed=args.seed,
                     val_fraction=VAL_FRACTION, artists_dir=artists_dir)

    def report(event: dict) -> None:
        if event["type"] == "run":
            verb = "read back" if event["status"] == "stored" else "training"
            print(f"run {event['number']}/{event['total']}: {one_line(event['label'])}, fold {event['fold']}: {verb}",
                  flush=True)
        elif event["type"] == "skipped":
            print_skipped(event["files"])

    result = sweep.run_sweep(spec, args.out, emit=report, n_jobs=args.jobs)
    print(f"\n{result.runs_done}/{result.runs_total} runs on {result.dataset_source} "
          f"({result.tracks} tracks, {args.folds} folds {result.grouping}, seed {args.seed}); the runs took "
          f"{result.wall_seconds:.0f} s in all; sweep stored in {args.out}")
    print(results_table(result).to_string(index=False))
    best = result.best()
    if best is not None:
        print(f"\n{best.summary}\nrule: {best.rule}")
    for line in result.warnings:
        print(f"warning: {line}")
    if args.html is not None:
        from genre_core.report_document import write_html  # noqa: PLC0415
        from genre_core.sweep_report import sweep_document  # noqa: PLC0415

        write_html(sweep_document(result), args.html)
        print(f"HTML report written to {args.html}")
    return 0


COMMAND = Command("sweep", "train a preset over one or two settings with grouped k-fold cross-validation",
                  add_sweep_arguments, run_sweep_command)

"""``python -m genre_core evaluate``: score a bundle on a dataset beside the baselines, optionally as JSON."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from genre_core import reports
from genre_core.atomic import write_text_atomic
from genre_core.cli.common import (
    Command,
    add_dataset_arguments,
    add_split_arguments,
    describe_split,
    format_comparison,
    load_for,
    percent,
    require_writable_file,
    require_writable_folder,
)
from genre_core.evaluation import MAJORITY_VOTE, MEAN_PROBABILITY
from genre_core.explain.gallery import bundle_report
from genre_core.prediction import WHOLE_TRACK_CONFIG
from genre_core.report_document import write_html, write_pngs
from genre_core.splits import make_split

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


def add_evaluate_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--bundle", required=True, type=Path, metavar="DIR", help="model bundle folder")
    add_dataset_arguments(parser)
    add_split_arguments(
        parser, "bundle", "which rows are train/val/test: bundle (the tracks of the bundle's own split, so test "
        "tracks are ones it never saw), ",
    )
    parser.add_argument("--report", type=Path, default=None, metavar="OUT.json", help="write the full report as JSON")
    parser.add_argument("--html", type=Path, default=None, metavar="OUT.html",
                        help="write the report as one self-contained HTML file (opens offline: tables, confusion "
                        "matrices per segment and per track, per-class scores, training curves, and for a CNN a "
                        "Grad-CAM gallery of the test part)")
    parser.add_argument("--png", type=Path, default=None, metavar="DIR",
                        help="write each figure of the report as DIR/<name>.png (needs Chromium or Chrome)")


def run_evaluate(args: argparse.Namespace) -> int:
    """Score a bundle on a dataset beside the baselines; print the metrics and optionally write the report."""
    from genre_core.bundles import load_bundle

    for flag, path in (("--report", args.report), ("--html", args.html)):
        if path is not None:
            require_writable_file(path, flag)
    if args.png is not None:
        require_writable_folder(args.png, "--png")
    require_writable_folder(args.cache, "--cache")
    bundle = load_bundle(args.bundle)
    # a bundle trained on a whole-track table (Kaggle CSV) reads audio folders as whole 30 s tracks too
    config = bundle.feature_config or WHOLE_TRACK_CONFIG
    dataset = load_for(args, config, bundle.feature_kind, bundle.class_names)
    if args.split == "bundle":
        split = reports.split_from_description(dataset, bundle.split_description)
    else:
        split = make_split(dataset, args.split, seed=args.seed, split_dir=args.split_dir)
    evaluation = reports.evaluate_bundle(bundle, dataset, split, seed=args.seed)
    report = evaluation.to_dict()
    print(format_report(report))
    if args.report is not None:
        write_text_atomic(args.report, json.dumps(report, indent=2))
        print(f"report written to {args.report}")
    if args.html is not None or args.png is not None:
        document = bundle_report(evaluation, bundle, dataset, split)
        if args.html is not None:
            write_html(document, args.html)
            print(f"HTML report written to {args.html}")
        if args.png is not None:
            written = write_pngs(document, args.png)
            print(f"{len(written)} figures written to {args.png} as PNG")
    return 0

COMMAND = Command("evaluate", "score a bundle on a dataset beside the baselines", add_evaluate_arguments, run_evaluate)

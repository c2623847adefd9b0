"""``python -m genre_core trust``: measure how far a CNN's Grad-CAM maps can be trusted."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from genre_core import reports
from genre_core.cli.common import Command, add_dataset_arguments, load_for
from genre_core.errors import GenreLensError

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

COMMAND = Command("trust", "measure how far a CNN's Grad-CAM maps can be trusted", add_trust_arguments, run_trust)

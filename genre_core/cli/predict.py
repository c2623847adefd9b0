"""``python -m genre_core predict``: classify audio files with one or more bundles."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from genre_core.cli.common import Command, one_line, positive_int, shown
from genre_core.prediction import SongPrediction, Unclassified, predict_many

if TYPE_CHECKING:
    from genre_core.bundles import ModelBundle

def add_predict_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--bundle", required=True, type=Path, action="append", metavar="DIR",
        help="model bundle folder; repeat it to apply several models (each file is decoded once)",
    )
    parser.add_argument("files", nargs="+", type=Path, metavar="FILE", help="audio files (WAV, AU, FLAC, OGG, MP3)")
    parser.add_argument(
        "--segments", action="store_true", help="also print each window: start time (s), top genre, its probability"
    )
    parser.add_argument("--json", action="store_true", help="print machine-readable JSON instead of text")
    parser.add_argument(
        "--top", type=positive_int, default=3, metavar="K", help="list the K most probable genres (default 3)"
    )


def format_prediction(name: str, prediction: SongPrediction, top: int, with_model: bool) -> str:
    """``<file>: <genre>  (g1 p1 %, g2 p2 %, ...)`` plus ``[model]`` when several models ran."""
    ranked = ", ".join(f"{genre} {100 * probability:.1f} %" for genre, probability in prediction.top(top))
    return f"{name}: {prediction.genre}  ({ranked})" + (f"  [{prediction.bundle_name}]" if with_model else "")


def format_segments(prediction: SongPrediction) -> list[str]:
    """One line per window: start time in s, most probable genre, its probability."""
    return [
        f"  {start:8.1f} s  {prediction.class_names[index]:<12}{row[index]:.3f}"
        for start, row, index in zip(
            prediction.segment_starts, prediction.segment_probabilities, prediction.segment_predictions, strict=True
        )
    ]


def run_predict(args: argparse.Namespace) -> int:
    """Classify each file with each model; a file no model can read, or a model that cannot classify a file
    (too short for its windows), is one line on stderr, the others go on (exit 1 at the end). A verdict the
    model reached differently from its training (a short song's statistics) is followed by a ``note:`` line."""
    from genre_core.bundles import load_bundle

    models: list[ModelBundle] = [load_bundle(folder) for folder in args.bundle]
    results = predict_many(models, args.files, names=[shown(path) for path in args.files])
    payload: list[dict[str, Any]] = []
    failed = False
    for result in results:
        if not result.ok:
            print(f"error: {one_line(str(result.error))}", file=sys.stderr)
            payload.append({"file": result.name, "error": result.error})
            failed = True
            continue
        entries = []
        for outcome in result.results:
            if isinstance(outcome, Unclassified):
                print(f"error: {result.name}: model '{outcome.bundle_name}' cannot classify it: {outcome.reason}",
                      file=sys.stderr)
                entries.append({"model": outcome.bundle_name, "error": outcome.reason})
                failed = True
                continue
            entries.append(outcome.to_dict(top=args.top))
            if args.json:
                continue
            print(format_prediction(result.name, outcome, args.top, with_model=len(models) > 1))
            if outcome.note:
                print(f"  note: {outcome.note}")
            if args.segments:
                print("\n".join(format_segments(outcome)))
        payload.append({"file": result.name, "predictions": entries})
    if args.json:
        print(json.dumps(payload, indent=2))
    return 1 if failed else 0

COMMAND = Command("predict", "classify audio files with one or more bundles", add_predict_arguments, run_predict)

"""``python -m genre_core walkthrough NAME``: run a course exercise headless and write its report."""

from __future__ import annotations

import argparse
from pathlib import Path

from genre_core import report_document
from genre_core.cli.common import Command, require_writable_folder
from genre_core.walkthrough_report import HTML_FILE, walkthrough_document
from genre_core.walkthroughs import engine


def add_walkthrough_arguments(parser: argparse.ArgumentParser) -> None:
    known = engine.registry()
    parser.add_argument("name", choices=list(known), metavar="NAME",
                        help="; ".join(f"{spec.name}: {spec.title}" for spec in known.values()))
    parser.add_argument("--out", required=True, type=Path, metavar="DIR",
                        help=f"folder for the report ({engine.REPORT_FILE} and {HTML_FILE}, which opens offline; made if "
                        "missing)")
    parser.add_argument(
        "--size", choices=list(engine.SIZES), default=engine.FULL.name,
        help=f"full: the exercise's recipe ({engine.FULL.epochs} epochs, the whole demo; default); quick: every "
        f"step with {engine.QUICK.epochs} epoch on {engine.QUICK.tracks_per_genre} demo tracks per genre (a smoke run)",
    )


def run_walkthrough(args: argparse.Namespace) -> int:
    """Run the walkthrough, print its steps (facts and questions) and write the report (JSON and HTML)."""
    require_writable_folder(args.out, "--out")
    spec = engine.get_walkthrough(args.name)
    result = spec.run(engine.SIZES[args.size], lambda phase: print(f"[{spec.name}] {phase}…", flush=True))
    report = result.report
    print(f"{report.title}\nrecipe: {report.recipe} ({report.size.name} run)")
    for number, step in enumerate(report.steps, start=1):
        print(f"\n{number}. {step.title}")
        for fact in step.facts:
            print(f"   {fact.label}: {fact.text}")
        for question in step.questions:
            print(f"   ? {question}")
    print(f"\nreport written to {engine.write_report(report, args.out)}")
    print(f"HTML report written to {report_document.write_html(walkthrough_document(result), args.out / HTML_FILE)}")
    return 0


COMMAND = Command("walkthrough", "run a course exercise headless and write its report", add_walkthrough_arguments,
                  run_walkthrough)

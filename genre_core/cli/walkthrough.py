"""``python -m genre_core walkthrough NAME``: run a course exercise headless and write its report."""

from __future__ import annotations

import argparse
from pathlib import Path

from genre_core import report_document
from genre_core.cli.common import Command, require_writable_folder, shown
from genre_core.errors import GenreLensError
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
    for spec in known.values():
        if spec.real_data is not None:
            parser.add_argument(f"--{spec.real_data.flag}", type=Path, metavar="PATH", default=None,
                                help=f"run {spec.name} on {spec.real_data.what} instead of the demo data")


def _real_data(args: argparse.Namespace, spec: engine.WalkthroughSpec) -> Path | None:
    """The real data path given for ``spec`` (None: the demo); GenreLensError for a flag of another walkthrough,
    InputError for a path that is missing or of the wrong kind (`engine.RealData.check`; before any work)."""
    for other in engine.registry().values():
        flag = None if other.real_data is None else other.real_data.flag
        path = None if flag is None else getattr(args, flag.replace("-", "_"))
        if path is not None and other.name != spec.name:
            raise GenreLensError(f"--{flag} {shown(path)}: only walkthrough {other.name} runs on it, not {spec.name}")
    if spec.real_data is None:
        return None
    flag = spec.real_data.flag
    path = getattr(args, flag.replace("-", "_"))
    if path is None:
        return None
    return spec.real_data.check(path, f"--{flag} {shown(path)}")


def run_walkthrough(args: argparse.Namespace) -> int:
    """Run the walkthrough, print its steps (facts and questions) and write the report (JSON and HTML)."""
    require_writable_folder(args.out, "--out")
    spec = engine.get_walkthrough(args.name)
    real = _real_data(args, spec)
    size = engine.SIZES[args.size]
    say = lambda phase: print(f"[{spec.name}] {phase}…", flush=True)  # noqa: E731
    result = spec.run(size, say) if real is None else spec.real_data.run(size, say, real)
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

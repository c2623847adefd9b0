"""A walkthrough run kept in a folder, so a page can show it again after a reload and a report can be made from it
later: the report in words and numbers and every figure of its steps, all as JSON or text (no pickle).

The folder (a walkthrough job's, ``data/jobs/<id>/``) holds:

- ``walkthrough.json``: the `engine.WalkthroughReport` (`engine.write_report`);
- ``figures.json``: the index of the figures in step order, each ``{"step", "kind", "title", "file"}`` (kind
  ``"figure"`` with its ``name``, or ``"force"``);
- ``figures/<name>.json``: each plotly figure (plotly's own JSON); ``figures/force-<n>.html``: each SHAP force
  plot's markup (without SHAP's script);
- ``answers.json``: the student's answers to its questions, once some are typed (`write_answers`).

Every file is written atomically; `write_walkthrough` writes the index last, so a folder whose index is there is
complete. `read_walkthrough` gives a `StoredWalkthrough`, which is a `engine.Walkthrough` like a live result: a
page and `genre_core.walkthrough_report` take either. No TensorFlow, no Streamlit.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import plotly.io as pio

from genre_core.atomic import write_text_atomic
from genre_core.errors import InputError
from genre_core.records import from_dict_strict
from genre_core.walkthroughs.engine import (
    REPORT_FILE,
    Fact,
    RunSize,
    StepFigure,
    StepForcePlot,
    StepReport,
    StepVisual,
    Walkthrough,
    WalkthroughReport,
    write_report,
)

INDEX_FILE = "figures.json"  #: the figures of a stored walkthrough in step order (written last)
ANSWERS_FILE = "answers.json"  #: a student's answers to the run's questions (the page keeps them as they are typed)
FIGURES_FOLDER = "figures"  #: plotly JSON and force-plot markup, one file each
FIGURE, FORCE = "figure", "force"  #: the kinds of a figure in the index


@dataclass(frozen=True)
class StoredWalkthrough:
    """A walkthrough run read back from its folder: its ``report`` and ``figures`` (step order), as a live run
    returns them."""

    report: WalkthroughReport
    figures: tuple[StepVisual, ...]


def report_from_dict(values: Any, source: str = REPORT_FILE) -> WalkthroughReport:
    """The `WalkthroughReport` of ``values`` (`WalkthroughReport.to_dict`); InputError naming ``source`` when a field
    is missing, unknown or of the wrong shape."""
    report = from_dict_strict(WalkthroughReport, values, source)
    if not isinstance(report.steps, list):
        raise InputError(source, "'steps' must be a list")

    def step(item: Any) -> StepReport:
        read = from_dict_strict(StepReport, item, f"{source} step")
        if not isinstance(read.facts, list) or not isinstance(read.questions, list):
            raise InputError(f"{source} step '{read.title}'", "'facts' and 'questions' must be lists")
        facts = tuple(from_dict_strict(Fact, fact, f"{source} fact") for fact in read.facts)
        return dataclasses.replace(read, questions=tuple(str(question) for question in read.questions), facts=facts)

    return dataclasses.replace(report, size=from_dict_strict(RunSize, report.size, f"{source} size"),
                               steps=tuple(step(item) for item in report.steps))


def write_walkthrough(walkthrough: Walkthrough, folder: str | Path) -> Path:
    """Write ``walkthrough``'s report and figures into ``folder`` (made if missing; files of the same names are
    replaced, nothing else is touched); returns the folder."""
    folder = Path(folder)
    write_report(walkthrough.report, folder)
    (folder / FIGURES_FOLDER).mkdir(exist_ok=True)
    index: list[dict[str, Any]] = []
    steps = len(walkthrough.report.steps)
    for number, visual in enumerate(walkthrough.figures):
        if not 0 <= visual.step < steps:
            raise InputError(f"figure '{visual.title}'", f"belongs to step {visual.step}, but the walkthrough has "
                             f"{steps} steps")
        if isinstance(visual, StepFigure):
            relative = f"{FIGURES_FOLDER}/{visual.name}.json"
            write_text_atomic(folder / relative, pio.to_json(visual.figure))
            index.append({"step": visual.step, "kind": FIGURE, "name": visual.name, "title": visual.title,
                          "file": relative})
        else:
            relative = f"{FIGURES_FOLDER}/force-{number}.html"
            write_text_atomic(folder / relative, visual.markup)
            index.append({"step": visual.step, "kind": FORCE, "title": visual.title, "file": relative})
    write_text_atomic(folder / INDEX_FILE, json.dumps(index, indent=1))
    return folder


def _read_text(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InputError(path, "is missing: the walkthrough's folder is incomplete") from None


def _read_json(path: Path) -> Any:
    try:
        return json.loads(_read_text(path))
    except json.JSONDecodeError as error:
        raise InputError(path, f"is not valid JSON ({error})") from None


def _visual(folder: Path, entry: Any, steps: int) -> StepVisual:
    source = folder / INDEX_FILE
    if not isinstance(entry, dict) or entry.get("kind") not in (FIGURE, FORCE):
        raise InputError(source, f"has an entry that is not a figure: {entry!r}")
    step, title, relative = entry.get("step"), entry.get("title"), entry.get("file")
    if not isinstance(step, int) or not 0 <= step < steps or not isinstance(title, str):
        raise InputError(source, f"entry {entry!r} names no step of the walkthrough ({steps} steps) or no title")
    path = (folder / str(relative)).resolve()
    if not path.is_relative_to((folder / FIGURES_FOLDER).resolve()):
        raise InputError(source, f"entry file {relative!r} lies outside {FIGURES_FOLDER}/")
    if entry["kind"] == FORCE:
        return StepForcePlot(step, title, _read_text(path))
    try:
        figure = pio.from_json(_read_text(path))
    except ValueError as error:
        raise InputError(path, f"is not a plotly figure ({error})") from None
    return StepFigure(step, str(entry.get("name", path.stem)), title, figure)


def read_walkthrough(folder: str | Path) -> StoredWalkthrough:
    """The walkthrough stored in ``folder`` by `write_walkthrough`; InputError naming the file that is missing or
    unreadable."""
    folder = Path(folder)
    report = report_from_dict(_read_json(folder / REPORT_FILE), str(folder / REPORT_FILE))
    index = _read_json(folder / INDEX_FILE)
    if not isinstance(index, list):
        raise InputError(folder / INDEX_FILE, "must be a JSON list")
    return StoredWalkthrough(report, tuple(_visual(folder, entry, len(report.steps)) for entry in index))


def write_answers(folder: str | Path, answers: Mapping[tuple[int, int], str]) -> None:
    """Keep a student's ``answers`` ((step, question) 0-based -> text) to the run in ``folder`` as `ANSWERS_FILE`
    (atomically; replaces the answers kept before)."""
    rows = [{"step": step, "question": question, "text": text} for (step, question), text in sorted(answers.items())]
    write_text_atomic(Path(folder) / ANSWERS_FILE, json.dumps(rows, indent=1))


def read_answers(folder: str | Path) -> dict[tuple[int, int], str]:
    """The answers kept by `write_answers` ({} when none were); InputError naming the file when it is damaged."""
    path = Path(folder) / ANSWERS_FILE
    if not path.is_file():
        return {}
    rows = _read_json(path)
    try:
        return {(int(row["step"]), int(row["question"])): str(row["text"]) for row in rows}
    except (TypeError, KeyError, ValueError):
        raise InputError(path, "is not a list of {step, question, text}") from None

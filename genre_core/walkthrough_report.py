"""The report of a walkthrough run: any `walkthroughs.engine.Walkthrough` (a live result or one read back from its
folder, `walkthroughs.stored`) as a `report_document.ReportDocument`, one section per step (its explanation, the
measured facts, its figures, its questions and, when given, the student's answers), and the student's answers with
the facts as Markdown. Pure: no TensorFlow, no Streamlit. `genre_core.report_document` renders it (HTML, PNGs).
"""

from __future__ import annotations

from collections.abc import Mapping

import pandas as pd

from genre_core.report_document import (
    Block,
    FigureBlock,
    ReportDocument,
    Section,
    ShapForceBlock,
    TableBlock,
    TextBlock,
)
from genre_core.walkthroughs.engine import QUICK, StepFigure, StepReport, Walkthrough, WalkthroughReport

#: The student's answers: (step index, question index), both 0-based -> the answer's text (blank: not answered).
Answers = Mapping[tuple[int, int], str]
HTML_FILE = "walkthrough.html"  #: the report the CLI writes beside `walkthroughs.engine.REPORT_FILE`
NOT_ANSWERED = "(not answered)"


def run_line(report: WalkthroughReport) -> str:
    """One line: the recipe and the run's size."""
    return f"{report.recipe} ({report.size.name} run)"


def size_warning(report: WalkthroughReport) -> str | None:
    """What a reader must know about a run smaller than the exercise's recipe, or None for a full run."""
    if report.size.name != QUICK.name:
        return None
    return (f"A quick run ({report.size.epochs} epoch(s) on {report.size.tracks_per_genre} demo tracks per genre): it "
            "shows every step working, not what the recipe achieves. Run the full size for numbers to discuss.")


def facts_table(step: StepReport) -> pd.DataFrame:
    """The step's facts as a two-column table (what was measured, its value with unit), in the step's order."""
    return pd.DataFrame({"measured": [fact.label for fact in step.facts], "value": [fact.text for fact in step.facts]})


def _questions(step_index: int, step: StepReport, answers: Answers | None) -> TextBlock:
    paragraphs = []
    for number, question in enumerate(step.questions):
        paragraphs.append(f"Question {number + 1}: {question}")
        if answers is not None:
            paragraphs.append(f"Answer: {answers.get((step_index, number), '').strip() or NOT_ANSWERED}")
    return TextBlock("\n\n".join(paragraphs))


def walkthrough_document(walkthrough: Walkthrough, answers: Answers | None = None) -> ReportDocument:
    """The report of ``walkthrough``: a section per step with its explanation, facts, figures (in the walkthrough's
    order), and its questions; with ``answers``, each question is followed by its answer (or `NOT_ANSWERED`)."""
    report = walkthrough.report
    sections = []
    for index, step in enumerate(report.steps):
        blocks: list[Block] = [TextBlock(step.explanation)]
        if step.facts:
            blocks.append(TableBlock("Measured in this run", facts_table(step)))
        for visual in walkthrough.figures:
            if visual.step != index:
                continue
            if isinstance(visual, StepFigure):
                blocks.append(FigureBlock(visual.name, visual.figure, visual.title))
            else:
                blocks.append(ShapForceBlock(visual.markup, visual.title))
        if step.questions:
            blocks.append(_questions(index, step, answers))
        sections.append(Section(f"{index + 1}. {step.title}", tuple(blocks)))
    warning = size_warning(report)
    return ReportDocument(title=f"GenreLens walkthrough: {report.title}", subtitle=run_line(report),
                          warnings=() if warning is None else (warning,), sections=tuple(sections))


def answers_markdown(report: WalkthroughReport, answers: Answers) -> str:
    """The student's ``answers`` to ``report``'s questions as a Markdown document, each step with its measured facts
    (what the answers refer to)."""
    lines = [f"# {report.title}", "", run_line(report), ""]
    warning = size_warning(report)
    if warning is not None:
        lines += [f"> {warning}", ""]
    for index, step in enumerate(report.steps):
        lines += [f"## {index + 1}. {step.title}", ""]
        if step.facts:
            lines += ["Measured in this run:", "", *(f"- {fact.label}: {fact.text}" for fact in step.facts), ""]
        for number, question in enumerate(step.questions):
            answer = answers.get((index, number), "").strip() or f"_{NOT_ANSWERED}_"
            lines += [f"### Question {number + 1}: {question}", "", answer, ""]
    return "\n".join(lines)

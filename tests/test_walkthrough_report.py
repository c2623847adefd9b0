"""The report of a walkthrough run (`genre_core.walkthrough_report`): one section per step with its explanation,
facts, figures and questions (and the student's answers when given), a warning on a quick run, one self-contained
HTML file; the answers as Markdown with the facts. On a hand-made walkthrough and on the quick job's stored run."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from helpers import handmade_walkthrough
from plotly.offline import get_plotlyjs

from genre_core.report_document import FigureBlock, ShapForceBlock, TableBlock, TextBlock, render_html
from genre_core.walkthrough_report import NOT_ANSWERED, answers_markdown, walkthrough_document
from genre_core.walkthroughs import stored


def test_a_section_per_step_with_its_explanation_facts_figures_and_questions() -> None:
    walkthrough = handmade_walkthrough()
    document = walkthrough_document(walkthrough)
    assert document.title == "GenreLens walkthrough: A walk" and "quick run" in document.subtitle
    assert "quick run" in document.warnings[0] and "1 epoch(s) on 4 demo tracks per genre" in document.warnings[0]
    assert [section.title for section in document.sections] == ["1. First", "2. Second"]
    first, second = document.sections
    assert first.blocks[0] == TextBlock("What the first step shows.")
    facts = first.blocks[1]
    assert isinstance(facts, TableBlock)
    assert facts.table.values.tolist() == [["tracks", "16"], ["accuracy", "62.5%"]]
    assert [block.name for block in first.blocks if isinstance(block, FigureBlock)] == ["bars"]
    assert [type(block) for block in second.blocks[2:4]] == [FigureBlock, ShapForceBlock]
    assert second.blocks[-1] == TextBlock("Question 1: How?\n\nQuestion 2: And then?")  # no answers given: none shown


def test_answers_follow_their_questions_in_the_report_and_the_markdown() -> None:
    walkthrough = handmade_walkthrough()
    answers = {(0, 0): "  Because the windows of a song sound alike.\n", (1, 1): ""}
    document = walkthrough_document(walkthrough, answers)
    assert document.sections[0].blocks[-1].text.endswith("Answer: Because the windows of a song sound alike.")
    assert document.sections[1].blocks[-1].text == (f"Question 1: How?\n\nAnswer: {NOT_ANSWERED}\n\n"
                                                    f"Question 2: And then?\n\nAnswer: {NOT_ANSWERED}")
    text = answers_markdown(walkthrough.report, answers)
    assert text.startswith("# A walk\n\nffn, Adam, 1 epoch (quick run)\n")
    assert "- accuracy: 62.5%" in text and "- note: not available" in text
    assert "### Question 1: Why?\n\nBecause the windows of a song sound alike.\n" in text
    assert text.count(f"_{NOT_ANSWERED}_") == 2


@pytest.mark.slow
def test_the_stored_jobs_report_is_one_offline_html_file(walkthrough_job: Path) -> None:
    run = stored.read_walkthrough(walkthrough_job)
    page = render_html(walkthrough_document(run, {(1, 1): "The track split."}))
    for step in run.report.steps:
        assert step.title in page
        for fact in step.facts:
            assert fact.text.replace("&", "&amp;") in page
    assert 'id="figure-test_accuracy"' in page and "The track split." in page
    # nothing is fetched: no element loads a script, style, image or frame from anywhere; plotly.js is inlined
    assert not re.search(r"<(script|link|img|iframe)[^>]*\s(src|href)=", page), "the report must open offline"
    assert page.count(get_plotlyjs()) == 1 and page.count("<script") == 2  # plotly.js, then the figure's newPlot

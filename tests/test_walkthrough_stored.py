"""A walkthrough run kept in a folder (`genre_core.walkthroughs.stored`): written and read back whole (report, plotly
figures, SHAP force-plot markup, in step order); a figure of no step, a missing or tampered file is one readable
error."""

from __future__ import annotations

import json
from pathlib import Path

import plotly.graph_objects as go
import pytest
from helpers import handmade_walkthrough

from genre_core.errors import InputError
from genre_core.walkthroughs import engine, stored
from genre_core.walkthroughs.engine import StepFigure


def test_a_walkthrough_is_read_back_whole_in_step_order(tmp_path: Path) -> None:
    original = handmade_walkthrough()
    assert stored.write_walkthrough(original, tmp_path / "run") == tmp_path / "run"
    back = stored.read_walkthrough(tmp_path / "run")
    assert back.report == original.report  # facts keep their int / float / text values and units
    assert [(visual.step, visual.title) for visual in back.figures] == [
        (0, "Bars"), (1, "Curve"), (1, "Force plot of track 3")]
    bars, curve, force = back.figures
    assert bars.name == "bars" and list(bars.figure.data[0].y) == [0.25, 0.75]
    assert list(curve.figure.data[0].x) == [1, 2, 3]
    assert force == original.figures[2]
    index = json.loads((tmp_path / "run" / stored.INDEX_FILE).read_text())
    assert [entry["kind"] for entry in index] == [stored.FIGURE, stored.FIGURE, stored.FORCE]


def test_a_figure_under_no_step_is_refused_before_the_index_is_written(tmp_path: Path) -> None:
    walkthrough = handmade_walkthrough()
    wrong = stored.StoredWalkthrough(walkthrough.report, (StepFigure(2, "x", "Lost", go.Figure()),))
    with pytest.raises(InputError, match="figure 'Lost'.*step 2, but the walkthrough has 2 steps"):
        stored.write_walkthrough(wrong, tmp_path)
    assert not (tmp_path / stored.INDEX_FILE).exists()


def test_missing_or_tampered_files_are_named(tmp_path: Path) -> None:
    stored.write_walkthrough(handmade_walkthrough(), tmp_path)
    index_path = tmp_path / stored.INDEX_FILE
    index = json.loads(index_path.read_text())
    index_path.write_text(json.dumps([{**index[0], "file": "../walkthrough.json"}]))
    with pytest.raises(InputError, match="lies outside figures/"):
        stored.read_walkthrough(tmp_path)
    index_path.write_text(json.dumps([{**index[0], "step": 5}]))
    with pytest.raises(InputError, match="names no step of the walkthrough"):
        stored.read_walkthrough(tmp_path)
    (tmp_path / "figures" / "bars.json").write_text("{not json")
    index_path.write_text(json.dumps(index))
    with pytest.raises(InputError, match="bars.json"):
        stored.read_walkthrough(tmp_path)
    index_path.unlink()
    with pytest.raises(InputError, match="figures.json.*is missing"):
        stored.read_walkthrough(tmp_path)
    report = json.loads((tmp_path / engine.REPORT_FILE).read_text())
    del report["steps"][0]["facts"][0]["label"]
    (tmp_path / engine.REPORT_FILE).write_text(json.dumps(report))
    with pytest.raises(InputError, match="fact.*missing setting"):
        stored.read_walkthrough(tmp_path)


def test_answers_are_kept_with_the_run_and_a_damaged_file_is_named(tmp_path: Path) -> None:
    assert stored.read_answers(tmp_path) == {}
    stored.write_answers(tmp_path, {(1, 0): "Second step.", (0, 0): "First step, with \"quotes\"\nand lines."})
    assert stored.read_answers(tmp_path) == {(0, 0): "First step, with \"quotes\"\nand lines.", (1, 0): "Second step."}
    stored.write_answers(tmp_path, {(1, 0): "Replaced."})
    assert stored.read_answers(tmp_path) == {(1, 0): "Replaced."}
    (tmp_path / stored.ANSWERS_FILE).write_text(json.dumps([{"step": 0}]))
    with pytest.raises(InputError, match="answers.json.*is not a list of"):
        stored.read_answers(tmp_path)

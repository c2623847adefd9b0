"""The walkthroughs package (engine, course CNN, leakage) run headless on a small synthetic demo, as in CI: every
step present with its facts and questions, the course CNN's hand-counted parameters, Grad-CAM maps of the right
and wrong windows, the leakage comparison, and the CLI verb writing the JSON report."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from genre_core import cli
from genre_core.errors import InputError
from genre_core.walkthrough_report import HTML_FILE
from genre_core.walkthroughs import course_cnn, engine, leakage


@pytest.fixture(scope="module")
def course(workspace: Path) -> Iterator[course_cnn.CourseCnnResult]:
    phases: list[str] = []
    yield course_cnn.run(engine.QUICK, phases.append)
    assert phases == ["data", "training", "evaluation", "Grad-CAM"]


@pytest.mark.slow
def test_course_cnn_counts_its_parameters_as_the_hand_count(course: course_cnn.CourseCnnResult) -> None:
    counts = {row.name: row for row in course.layer_counts}
    n_mels, frames = course_cnn.FEATURES.n_mels, course_cnn.FEATURES.frames_per_segment
    height, width = n_mels // 8, frames // 2 // 2 // 2  # three 2x2 'valid' poolings of 'same' convolutions
    hand = (5 * 5 * 1 * 4 + 4) + (5 * 5 * 4 * 8 + 8) + (5 * 5 * 8 * 16 + 16) + (height * width * 16 * 50 + 50) \
        + (50 * 4 + 4)
    assert sum(row.params for row in course.layer_counts) == hand
    assert counts["dense1"].arithmetic == f"{height * width * 16}×50 + 50"
    report = course.report
    assert [step.title for step in report.steps][0] == "The data" and len(report.steps) == 6
    assert all(step.questions for step in report.steps)
    model_step = report.steps[1]
    assert model_step.facts[0] == engine.Fact("parameters", hand)
    assert "plain SGD" in report.recipe and "seed 42" in report.recipe and report.size == engine.QUICK


@pytest.mark.slow
def test_course_cnn_shows_right_and_wrong_test_windows_with_their_maps(course: course_cnn.CourseCnnResult) -> None:
    assert [item.genre for item in course.examples] == ["classical", "disco", "metal", "rock"]
    shown = 0
    for item in course.examples:
        assert len(item.right) <= course_cnn.EXAMPLES and len(item.wrong) <= course_cnn.EXAMPLES
        assert all(row.true_class == row.predicted_class == item.genre for row in item.right)
        assert all(row.true_class == item.genre != row.predicted_class for row in item.wrong)
        assert item.right_maps.shape[0] == len(item.right) and item.wrong_maps.shape[0] == len(item.wrong)
        for maps in (item.right_maps, item.wrong_maps):
            assert maps.size == 0 or (maps.min() >= 0 and maps.max() <= 1 and maps.shape[1:] == (course_cnn.FEATURES.n_mels, course_cnn.FEATURES.frames_per_segment))
        shown += len(item.right) + len(item.wrong)
    test = course.evaluation.parts["test"].confusion  # per genre: right = diagonal, wrong = the rest of its row
    right, wrong = np.diag(test), test.sum(axis=1) - np.diag(test)
    assert shown == int(np.minimum(right, course_cnn.EXAMPLES).sum() + np.minimum(wrong, course_cnn.EXAMPLES).sum())
    confusion = course.evaluation.parts["train"].confusion
    assert confusion.shape == (4, 4) and confusion.sum() == course.evaluation.parts["train"].rows
    assert np.isfinite(course.deletion_area) and -1 <= course.randomised_spearman <= 1
    assert len(course.history["loss"]) == engine.QUICK.epochs


@pytest.mark.slow
def test_cli_runs_the_leakage_walkthrough_and_writes_its_report(workspace: Path, tmp_path: Path, capsys) -> None:
    """One quick run of walkthrough 4 through the CLI: the splits compared, the one the demo lacks named."""
    assert cli.main(["walkthrough", "leakage", "--size", "quick", "--out", str(tmp_path / "report")]) == 0
    out = capsys.readouterr().out
    assert "1. The same model, three ways to split" in out and "? Which number would you report" in out
    written = json.loads((tmp_path / "report" / engine.REPORT_FILE).read_text())
    page = (tmp_path / "report" / HTML_FILE).read_text()  # the same run as one offline HTML report, figures included
    assert "HTML report written to" in out and "1. The same model, three ways to split" in page
    assert 'id="figure-test_accuracy"' in page
    assert written["name"] == "leakage" and written["size"]["name"] == "quick" and len(written["steps"]) == 2
    facts = {fact["label"]: fact["value"] for fact in written["steps"][0]["facts"]}
    words = leakage.PROTOCOL_WORDS
    assert "no artists" in facts[words["artist-filtered"]]
    for protocol in ("leaky", "grouped"):
        assert 0 <= facts[f"{words[protocol]}: test accuracy per window"] <= 1
    # the leaky split deals windows out one by one: its test part touches more tracks than the track split's
    assert facts[f"{words['leaky']}: test tracks"] > facts[f"{words['grouped']}: test tracks"]
    (tmp_path / "file").write_text("x")
    assert cli.main(["walkthrough", "leakage", "--size", "quick", "--out", str(tmp_path / "file")]) == 1
    assert "is a file, not a folder" in capsys.readouterr().err
    with pytest.raises(SystemExit) as usage:
        cli.main(["walkthrough", "no-such", "--out", str(tmp_path)])
    assert usage.value.code == 2
    with pytest.raises(InputError, match="unknown; known: course-cnn, leakage"):
        engine.get_walkthrough("no-such")

"""The walkthroughs package run headless on a small synthetic demo (quick size), as in CI, one run per walkthrough
shared by its tests, in the quick workspace the walkthrough job fixture shares (one demo, one feature cache; the
course CNN kept there is read back by time-freq and the CLI, and a damaged copy trained again): every step present with its facts and questions, the facts equal to the result's numbers,
every figure tied to a step; the course CNN's hand-counted parameters, Grad-CAM maps of the right and wrong
windows; time against frequency filters on the same tracks; the FFN's sigmoid head and its settings chosen by a
cross-validation that never saw the test tracks; from scratch against transfer on the same tracks; the leakage
comparison (in test_walkthrough_job, from the job's run); and the CLI verb writing the JSON
report, with one-line errors for bad real-data paths."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from genre_core import cli
from genre_core.errors import InputError
from genre_core.walkthrough_report import HTML_FILE
from genre_core.walkthroughs import course_cnn, engine, ffn_summary, leakage, pretrained, time_freq

SMALL_PARAMETERS = 132_382  #: cnn_small on walkthrough 1's 2 s log-mel windows, 4 genres (its hand count)


@pytest.fixture(scope="module")
def course(quick_demo_workspace: Path) -> Iterator[course_cnn.CourseCnnResult]:
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
    assert "1 epoch," in report.recipe and "1 epochs" not in report.recipe  # the quick size says it in words


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
    check_shape(course, "course-cnn", 6)
    assert [figure.name for figure in course.figures] == ["curves", "confusion_train", "confusion_test"]


@pytest.mark.slow
def test_cli_runs_a_walkthrough_and_writes_its_report(course: course_cnn.CourseCnnResult, tmp_path: Path,
                                                        capsys) -> None:
    """The CLI on the course CNN the `course` run kept in the workspace: read back, not trained again; its steps
    printed and its report written as JSON and as one offline HTML file with its figures."""
    assert cli.main(["walkthrough", "course-cnn", "--size", "quick", "--out", str(tmp_path / "report")]) == 0
    out = capsys.readouterr().out
    assert "[course-cnn] training: read back" in out
    assert "1. The data" in out and "? Why must the windows of one track stay in one part?" in out
    written = json.loads((tmp_path / "report" / engine.REPORT_FILE).read_text())
    page = (tmp_path / "report" / HTML_FILE).read_text()  # the same run as one offline HTML report, figures included
    assert "HTML report written to" in out and "1. The data" in page
    assert 'id="figure-curves"' in page and 'id="figure-confusion_test"' in page
    assert written["name"] == "course-cnn" and written["size"]["name"] == "quick" and len(written["steps"]) == 6
    assert written == json.loads(json.dumps(course.report.to_dict()))  # the kept model gives the same run
    (tmp_path / "file").write_text("x")
    assert cli.main(["walkthrough", "leakage", "--size", "quick", "--out", str(tmp_path / "file")]) == 1
    assert "is a file, not a folder" in capsys.readouterr().err
    with pytest.raises(SystemExit) as usage:
        cli.main(["walkthrough", "no-such", "--out", str(tmp_path)])
    assert usage.value.code == 2
    with pytest.raises(InputError, match="unknown; known: course-cnn, time-freq, ffn-summary, leakage, pretrained"):
        engine.get_walkthrough("no-such")


@pytest.mark.slow
def test_a_damaged_kept_course_cnn_is_trained_again_and_replaced(course: course_cnn.CourseCnnResult,
                                                                  quick_demo_workspace: Path) -> None:
    folder = course_cnn.small_cnn_folder(engine.QUICK)
    assert folder.is_relative_to(quick_demo_workspace / "data" / "walkthroughs")  # the workspace's, not the user's
    assert course_cnn.small_cnn_folder(engine.FULL) != folder  # another recipe never reads it
    (folder / "model.keras").write_bytes(b"not a model")
    phases: list[str] = []
    retrained = course_cnn.small_cnn(engine.QUICK, phases.append, "training")
    assert phases == ["data", "training"] and not retrained.read_back
    assert retrained.bundle.history == course.history  # seeded and deterministic: the same run again
    again = course_cnn.small_cnn(engine.QUICK, phases.append, "training")
    assert again.read_back and again.train_seconds == retrained.train_seconds  # replaced: read back next time


def facts_of(report: engine.WalkthroughReport) -> dict[str, float | int | str]:
    """Every fact of the report by label (labels are unique within a walkthrough)."""
    facts = [fact for step in report.steps for fact in step.facts]
    labels = [fact.label for fact in facts]
    assert len(set(labels)) == len(labels), "a fact label is used twice"
    return {fact.label: fact.value for fact in facts}


def check_shape(result: engine.Walkthrough, name: str, steps: int) -> None:
    """The shape every walkthrough shares: its report (steps with questions) and figures tied to its steps."""
    report = result.report
    assert report.name == name and report.size == engine.QUICK and len(report.steps) == steps
    assert all(step.questions and step.explanation for step in report.steps)
    assert [visual.step for visual in result.figures] == sorted(visual.step for visual in result.figures)
    assert all(0 <= visual.step < steps for visual in result.figures)
    names = [visual.name for visual in result.figures if isinstance(visual, engine.StepFigure)]
    assert len(set(names)) == len(names) and all(name.replace("_", "").isalnum() for name in names)
    assert json.loads(json.dumps(report.to_dict()))["steps"][0]["title"] == report.steps[0].title


@pytest.fixture(scope="module")
def time_freq_run(course: course_cnn.CourseCnnResult) -> time_freq.TimeFreqResult:
    """Run after `course`, whose cnn_small it reads back from the workspace (only cnn_timefreq trains)."""
    phases: list[str] = []
    result = time_freq.run(engine.QUICK, phases.append)
    assert phases == ["data", "cnn_small: read back (trained before with this recipe, data and seed)", "cnn_timefreq"]
    return result


@pytest.mark.slow
def test_time_freq_compares_both_cnns_on_the_same_tracks_and_counts_their_parameters(
    time_freq_run: time_freq.TimeFreqResult, course: course_cnn.CourseCnnResult
) -> None:
    check_shape(time_freq_run, "time-freq", 4)
    small, timefreq = time_freq_run.runs
    assert (small.preset, timefreq.preset) == time_freq.PRESETS
    assert not set(time_freq_run.train_tracks) & set(time_freq_run.test_tracks)
    for run in time_freq_run.runs:  # one split: the same test windows on both sides
        assert run.evaluation.parts["test"].rows == small.evaluation.parts["test"].rows
        assert run.evaluation.parts["test"].tracks == len(time_freq_run.test_tracks)
        assert run.evaluation.parts["test"].confusion.sum() == small.evaluation.parts["test"].rows
    # walkthrough 1's recipe, data and seed: its cnn_small is the course CNN, epoch for epoch
    assert small.parameters == SMALL_PARAMETERS and small.history == course.history
    # each branch of cnn_timefreq: conv k x 1 (or 1 x k) 1->16 and 16->32 with biases, batch norm 4 per channel
    branch = (7 * 1 * 16 + 16) + 4 * 16 + (7 * 16 * 32 + 32) + 4 * 32
    assert timefreq.branch_parameters("time") == timefreq.branch_parameters("freq") == branch
    assert timefreq.parameters == 2 * branch + (64 * 64 + 64) + (64 * 4 + 4)
    facts = facts_of(time_freq_run.report)
    assert facts["cnn_small: parameters"] == SMALL_PARAMETERS and facts["cnn_timefreq: parameters"] == 12_292
    assert facts["cnn_timefreq: vertical (timbral) filters"] == branch
    assert facts["test tracks (the same for both)"] == len(time_freq_run.test_tracks)
    for run in time_freq_run.runs:
        assert facts[f"{run.preset}: test accuracy per window"] == run.test.accuracy
        assert facts[f"{run.preset}: test accuracy per track"] == run.test.track_accuracy
    assert "cnn_small vs cnn_timefreq" in time_freq_run.report.recipe and "seed 42" in time_freq_run.report.recipe


@pytest.fixture(scope="module")
def ffn_run(quick_demo_workspace: Path) -> ffn_summary.FfnSummaryResult:
    phases: list[str] = []
    result = ffn_summary.run(engine.QUICK, phases.append)
    assert phases[0] == "data" and phases[-3:] == ["metal vs rock", "every genre", "SHAP"]
    return result


@pytest.mark.slow
def test_ffn_summary_chooses_its_setting_by_cross_validation_inside_the_training_part(
    ffn_run: ffn_summary.FfnSummaryResult,
) -> None:
    check_shape(ffn_run, "ffn-summary", 5)
    search, binary = ffn_run.search, ffn_run.binary
    grid = ffn_summary.QUICK_GRID
    assert grid.batch_sizes == (32,) and search.spec.base_config["batch_size"] == 32  # held fixed: one axis
    labels = {f"hidden=[{first}, 128, 32]" for first in grid.first_layers}
    assert {point.label for point in search.points} == labels and ffn_run.best.label in labels
    assert search.complete and search.runs_done == len(labels) * grid.folds
    # the search's data is the training part only: its tracks are the binary task's train and validation tracks
    assert search.spec.dataset.tracks == binary.training_tracks and search.tracks == len(binary.training_tracks)
    assert not set(search.spec.dataset.tracks) & set(binary.test_tracks)
    assert search.group_by == "track" and not ffn_run.on_table
    base = search.spec.base_config
    assert base["output"] == "sigmoid" and base["early_stopping_patience"] == ffn_summary.PATIENCE
    assert (binary.output, binary.output_units, binary.class_names) == ("sigmoid", 1, ffn_summary.DEMO_BINARY)
    assert (ffn_run.every_genre.output, ffn_run.every_genre.output_units) == ("softmax", 4)
    facts = facts_of(ffn_run.report)
    cv = "2-fold CV grouped by track, training part only"
    assert facts[f"chosen ({cv}, best mean accuracy)"] == ffn_run.best.label
    assert facts[f"its accuracy ({cv}): mean"] == ffn_run.best.score.mean
    assert facts["time taken by the search (sum of the trainings' wall time)"] == round(search.wall_seconds, 1) > 0
    where = f"{len(binary.test_tracks)} test tracks, track split (seed 42)"
    assert facts[f"binary: test accuracy per track ({where})"] == binary.test.track_accuracy
    assert facts["binary: output units"] == 1
    # SHAP: the first test window of each genre, each a force plot of the all-genre model
    assert [force.true_class for force in ffn_run.forces] == list(ffn_run.every_genre.class_names)
    assert {force.track for force in ffn_run.forces} <= set(ffn_run.every_genre.test_tracks)
    plots = [visual for visual in ffn_run.figures if isinstance(visual, engine.StepForcePlot)]
    assert len(plots) == len(ffn_run.forces) and all("SHAP.AdditiveForceVisualizer" in plot.markup for plot in plots)
    assert all(0 <= force.probability <= 1 for force in ffn_run.forces)


@pytest.fixture(scope="module")
def pretrained_run(quick_demo_workspace: Path) -> pretrained.PretrainedResult:
    return pretrained.run(engine.QUICK)


@pytest.mark.slow
def test_pretrained_compares_scratch_and_transfer_on_the_same_tracks(
    pretrained_run: pretrained.PretrainedResult,
) -> None:
    check_shape(pretrained_run, "pretrained", 3)
    lesson = pretrained_run.lesson
    assert pretrained_run.scratch_tracks == pretrained_run.transfer_tracks and lesson.tracks == 16
    assert lesson.folds == pretrained.QUICK_FOLDS and (lesson.scratch.preset, lesson.transfer.preset) == (
        "cnn_small", "transfer_vgg")
    for side in (lesson.scratch, lesson.transfer):  # every track tested once per side
        assert np.asarray(side.confusion).sum() == lesson.tracks and len(side.track_accuracy) == lesson.folds
    scratch, transfer = pretrained_run.parameters
    assert scratch.total == scratch.trained == 209_182  # cnn_small on 128 x 130 (3 s) windows, all trained
    assert transfer.trained == 256 * 4 + 4 < transfer.total  # only the genre layer on the 256-value embedding
    facts = facts_of(pretrained_run.report)
    protocol = "2-fold grouped CV on 16 tracks, seed 0"  # the shipped lesson's seed (pretrain.SEED)
    assert facts[f"cnn_small (from scratch): mean track accuracy ({protocol})"] == lesson.scratch.mean_accuracy
    assert facts[f"gain of transfer ({protocol})"] == round(lesson.gain_points, 1)
    assert pretrained_run.shipped is None  # the isolated workspace has no shipped bundle: the report says so
    assert "is missing" in facts["not available"]


def test_cli_refuses_bad_real_data_paths_in_one_line(workspace: Path, tmp_path: Path, capsys) -> None:
    out = str(tmp_path / "out")
    cases = {
        ("ffn-summary", "--gtzan-csv", str(tmp_path / "none.csv")): "no such file or folder",
        ("ffn-summary", "--gtzan-csv", str(tmp_path)): "is a folder, expected the Kaggle GTZAN feature table",
        ("pretrained", "--gtzan-csv", str(tmp_path)): "only walkthrough ffn-summary runs on it, not pretrained",
        ("course-cnn", "--gtzan-audio", str(tmp_path)): "only walkthrough pretrained runs on it, not course-cnn",
    }
    for (name, flag, path), reason in cases.items():
        assert cli.main(["walkthrough", name, "--out", out, flag, path]) == 1
        error = capsys.readouterr().err
        assert error.count("\n") == 1 and f"{flag} {path}: {reason}" in error
    assert not (tmp_path / "out").exists()  # refused before any work

"""Tests of `genre_core.score_views`: confusion matrices per segment and per track, per-class scores with their
averages, the examples behind a confusion-matrix cell, and files per genre."""

from __future__ import annotations

import numpy as np
import pytest
from helpers import noisy_probabilities, scored_evaluation, tiny_dataset, tiny_split

from genre_core import score_views
from genre_core.errors import InputError
from genre_core.evaluation import MAJORITY_VOTE, MEAN_PROBABILITY

DATASET = tiny_dataset(rows=96)
SPLIT = tiny_split(96)


@pytest.fixture(scope="module")
def evaluation():
    return scored_evaluation(DATASET, SPLIT, seed=3)


@pytest.mark.parametrize("level", list(score_views.CONFUSION_LEVELS))
def test_confusion_views_count_every_segment_or_track_once(evaluation, level):
    part = evaluation.report.parts["train"]
    view = score_views.confusion_view(part, level)
    expected_total = part.rows if level == score_views.SEGMENT else part.tracks
    assert view.counts.sum() == expected_total
    assert view.unit == ("segments" if level == score_views.SEGMENT else "tracks")
    np.testing.assert_allclose(view.normalised.sum(axis=1), 1.0)
    np.testing.assert_allclose(view.normalised * view.counts.sum(axis=1, keepdims=True), view.counts)


def test_an_unknown_confusion_level_is_named(evaluation):
    with pytest.raises(InputError, match="confusion level: 'median'"):
        score_views.confusion_view(evaluation.report.parts["test"], "median")


def test_per_class_table_ends_with_macro_and_weighted_averages(evaluation):
    metrics = evaluation.report.parts["train"].segment_metrics
    table = score_views.per_class_with_averages(metrics)
    assert list(table["class"]) == [*DATASET.class_names, "macro average", "weighted average"]
    per_class = table.iloc[:3]
    weights = per_class["support"] / per_class["support"].sum()
    macro, weighted = table.iloc[3], table.iloc[4]
    for column in ("precision", "recall", "f1"):  # every class is present, so sklearn's averages are these
        assert macro[column] == pytest.approx(per_class[column].mean())
        assert weighted[column] == pytest.approx((per_class[column] * weights).sum())
    assert macro["support"] == weighted["support"] == metrics["support"]


@pytest.mark.parametrize("level", list(score_views.CONFUSION_LEVELS))
def test_cell_examples_are_exactly_the_cell_of_the_confusion_matrix(evaluation, level):
    rows = SPLIT.train
    probabilities = noisy_probabilities(DATASET, seed=3)[rows]
    counts = score_views.confusion_view(evaluation.report.parts["train"], level).counts
    for true_class in range(DATASET.n_classes):
        for predicted_class in range(DATASET.n_classes):
            examples = score_views.cell_examples(DATASET, rows, probabilities, level, true_class, predicted_class)
            assert len(examples) == counts[true_class, predicted_class]
            assert all(DATASET.labels[example.row] == true_class for example in examples)
            assert all(example.track_id == DATASET.track_ids[example.row] for example in examples)
            confidence = [example.probability for example in examples]
            assert confidence == sorted(confidence, reverse=True)
            if level == score_views.SEGMENT:
                assert all(probabilities[np.flatnonzero(rows == example.row)[0]].argmax() == predicted_class
                           for example in examples)
            else:
                assert len({example.track_id for example in examples}) == len(examples)


def test_a_track_opens_on_its_window_most_sure_of_the_predicted_class():
    rows = np.arange(4)  # tracks track000 (rows 0, 1) and track001 (rows 2, 3), both class0
    probabilities = np.array([[0.2, 0.7, 0.1], [0.1, 0.8, 0.1], [0.6, 0.3, 0.1], [0.5, 0.4, 0.1]])
    for level in (MEAN_PROBABILITY, MAJORITY_VOTE):
        examples = score_views.cell_examples(DATASET, rows, probabilities, level, 0, 1)
        assert [(example.track_id, example.row) for example in examples] == [("track000", 1)]
        assert examples[0].probability == pytest.approx(0.75)


def test_cell_examples_name_bad_input():
    rows = np.arange(4)
    with pytest.raises(InputError, match="probabilities"):
        score_views.cell_examples(DATASET, rows, np.ones((3, 3)) / 3, score_views.SEGMENT, 0, 1)
    with pytest.raises(InputError, match="predicted class: 5"):
        score_views.cell_examples(DATASET, rows, np.ones((4, 3)) / 3, score_views.SEGMENT, 0, 5)


def test_files_per_genre_counts_tracks_and_segments():
    counts = score_views.files_per_genre(DATASET)
    assert list(counts["genre"]) == DATASET.class_names
    assert counts["segments"].sum() == len(DATASET)
    assert counts["tracks"].sum() == len(np.unique(DATASET.track_ids)) == 48
    assert list(counts["tracks"]) == [16, 16, 16]


def test_files_per_genre_figures():
    counts = score_views.files_per_genre(DATASET)
    pie = score_views.files_per_genre_figure(counts, kind=score_views.PIE)
    assert list(pie.data[0].values) == [16, 16, 16] and list(pie.data[0].labels) == DATASET.class_names
    bar = score_views.files_per_genre_figure(counts, kind=score_views.BAR, unit="segments")
    assert list(bar.data[0].y) == [32, 32, 32]
    assert "96 in all" in bar.layout.title.text
    with pytest.raises(InputError, match="chart kind: 'donut'"):
        score_views.files_per_genre_figure(counts, kind="donut")


def test_every_cell_has_a_clickable_marker_that_names_it(evaluation):
    view = score_views.confusion_view(evaluation.report.parts["test"], MEAN_PROBABILITY)
    figure = score_views.selectable_confusion_figure(view, DATASET.class_names, normalised=True, title="t")
    heat, cells = figure.data
    np.testing.assert_allclose(heat.z, view.normalised)
    assert len(cells.x) == 9 and figure.layout.clickmode == "event+select"
    for x, y, (true_class, predicted_class, value) in zip(cells.x, cells.y, cells.customdata):
        true_class, predicted_class = int(true_class), int(predicted_class)
        assert (y, x) == (DATASET.class_names[true_class], DATASET.class_names[predicted_class])
        assert value == view.normalised[true_class, predicted_class]
    points = [{"x": cells.x[5], "customdata": cells.customdata[5]}]
    assert score_views.selected_cell(points) == (1, 2)
    assert score_views.selected_cell([]) is None

"""Tests of `genre_core.run_report`: a scored bundle as a report document with every view of the Evaluate page."""

from __future__ import annotations

import numpy as np
from helpers import scored_evaluation, tiny_dataset, tiny_split

from genre_core.evaluation import MEAN_PROBABILITY
from genre_core.report_document import FigureBlock, TableBlock, render_html
from genre_core.run_report import evaluation_document

DATASET = tiny_dataset(rows=96)
EVALUATION = scored_evaluation(DATASET, tiny_split(96), seed=1)
HISTORY = {"loss": [1.2, 0.9], "val_loss": [1.1, 1.0], "accuracy": [0.4, 0.6], "val_accuracy": [0.5, 0.55]}


def _figures(document) -> dict[str, FigureBlock]:
    return {block.name: block for block in document.figures()}


def test_the_report_holds_every_part_test_first_and_the_training_curves():
    document = evaluation_document(EVALUATION, history=HISTORY)
    titles = [section.title for section in document.sections]
    assert titles[0] == "Summary" and titles[-1] == "Training"
    assert titles[1].startswith("Test part: 8 tracks, 16 segments")
    assert [title.split()[0] for title in titles[2:4]] == ["Train", "Val"]
    assert document.warnings == EVALUATION.warnings
    assert "training_curves" in _figures(document)
    assert "Training" not in [section.title for section in evaluation_document(EVALUATION).sections]


def test_confusion_figures_are_the_reports_matrices_per_segment_and_per_track():
    figures = _figures(evaluation_document(EVALUATION))
    test = EVALUATION.report.parts["test"]
    np.testing.assert_array_equal(figures["confusion_test_segment_counts"].figure.data[0].z, test.confusion)
    np.testing.assert_allclose(figures["confusion_test_segment_share"].figure.data[0].z, test.confusion_normalised)
    track_counts = test.track_confusion[MEAN_PROBABILITY]
    np.testing.assert_array_equal(figures[f"confusion_test_{MEAN_PROBABILITY}_counts"].figure.data[0].z, track_counts)
    shares = np.asarray(figures[f"confusion_test_{MEAN_PROBABILITY}_share"].figure.data[0].z)
    np.testing.assert_allclose(shares * track_counts.sum(axis=1, keepdims=True), track_counts)


def test_per_class_tables_carry_weighted_and_macro_averages_and_render():
    document = evaluation_document(EVALUATION)
    tables = [block for section in document.sections for block in section.blocks if isinstance(block, TableBlock)]
    per_class = [table for table in tables if table.caption.startswith("Per-class scores per segment, test")][0]
    weighted = per_class.table.iloc[-1]
    assert weighted["Genre"] == "weighted average"
    assert weighted["F1"] == EVALUATION.report.parts["test"].segment_metrics["weighted_f1"]
    page = render_html(document)
    assert "Test scores against simple baselines" in page and "majority class" in page
    assert f"{EVALUATION.test.accuracy:.1%}" in page

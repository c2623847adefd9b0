"""Model figures: curves per epoch, confusion heat maps, per-class bars, baselines, protocols, segment- versus
track-level accuracy, all built from real evaluation and baseline outputs (the tables: test_model_tables)."""

from __future__ import annotations

import numpy as np
import pytest

from helpers import noisy_evaluation, three_fold_protocol_comparison, two_class_baseline_scores

from genre_core import baselines, evaluation
from genre_core.errors import InputError
from genre_core.model_figures import (
    confusion_figure,
    level_accuracies,
    model_vs_baselines_figure,
    per_class_figure,
    protocol_comparison_figure,
    segment_vs_track_figure,
    training_curves_figure,
)
from genre_core.model_tables import BASELINE_LABELS

CLASSES = ["blues", "jazz", "rock"]


@pytest.fixture(scope="module")
def report() -> evaluation.EvaluationReport:
    return noisy_evaluation(CLASSES)


def test_training_curves_show_train_and_validation_per_epoch_in_two_panels() -> None:
    history = {"loss": [1.2, 0.9, 0.7], "accuracy": [0.4, 0.6, 0.7], "val_loss": [1.1, 1.0, 1.05],
               "val_accuracy": [0.5, 0.55, 0.5], "learning_rate": [0.001] * 3}
    figure = training_curves_figure(history, title="run")
    by_panel = {(trace.name, trace.xaxis): trace for trace in figure.data}
    assert set(by_panel) == {("train", "x"), ("validation", "x"), ("train", "x2"), ("validation", "x2")}
    np.testing.assert_array_equal(by_panel["train", "x"].x, [1, 2, 3])
    np.testing.assert_allclose(by_panel["validation", "x"].y, history["val_loss"])
    np.testing.assert_allclose(by_panel["train", "x2"].y, history["accuracy"])
    assert figure.layout.xaxis.title.text == "epoch" and figure.layout.xaxis2.title.text == "epoch"
    assert "loss" in figure.layout.yaxis.title.text and figure.layout.yaxis2.tickformat == ".0%"
    assert sum(trace.showlegend for trace in figure.data) == 2  # one legend entry per part


def test_training_curves_without_validation_and_without_epochs() -> None:
    figure = training_curves_figure({"loss": [0.5], "accuracy": [0.8]})
    assert [trace.name for trace in figure.data] == ["train", "train"]
    with pytest.raises(InputError, match="no 'loss'"):
        training_curves_figure({"loss": [], "accuracy": []})
    with pytest.raises(InputError, match="val_loss"):
        training_curves_figure({"loss": [0.5], "val_loss": ["high"]})


def test_a_diverged_epoch_leaves_a_gap_in_the_curve() -> None:
    figure = training_curves_figure({"loss": [2.0, float("inf"), float("nan")], "accuracy": [0.3, 0.1, 0.1]})
    loss = figure.data[0]
    assert loss.y[0] == 2.0 and np.isnan(loss.y[1]) and np.isnan(loss.y[2])


def test_confusion_counts_put_true_classes_on_y_and_annotate_every_cell(report) -> None:
    counts = report.parts["train"].confusion
    (trace,) = confusion_figure(counts, CLASSES, normalised=False, title="train").data
    assert list(trace.x) == CLASSES and list(trace.y) == CLASSES
    np.testing.assert_array_equal(np.asarray(trace.z), counts)
    assert [[int(cell) for cell in row] for row in trace.text] == counts.tolist()
    assert trace.zmax == counts.max() and "segments" in trace.hovertemplate


def test_confusion_normalised_shows_percentages_of_the_true_class(report) -> None:
    figure = confusion_figure(report.parts["test"].confusion_normalised, CLASSES, normalised=True)
    (trace,) = figure.data
    normalised = report.parts["test"].confusion_normalised
    assert trace.text[1][1] == f"{normalised[1, 1]:.0%}"
    assert (trace.zmin, trace.zmax) == (0.0, 1.0)
    assert figure.layout.yaxis.autorange == "reversed" and figure.layout.yaxis.title.text == "true class"
    assert figure.layout.xaxis.title.text == "predicted class"


@pytest.mark.parametrize(
    ("matrix", "normalised", "message"),
    [
        (np.ones((2, 2)), False, "shape"),
        (np.full((3, 3), 0.5), False, "whole numbers"),
        (np.full((3, 3), 2.0), True, r"\[0, 1\]"),
        (-np.ones((3, 3)), False, "non-negative"),
    ],
)
def test_confusion_rejects_bad_matrices(matrix, normalised, message) -> None:
    with pytest.raises(InputError, match=message):
        confusion_figure(matrix, CLASSES, normalised=normalised)


def test_per_class_bars_hold_precision_recall_and_f1_of_every_class(report) -> None:
    per_class = report.parts["train"].segment_metrics["per_class"]
    figure = per_class_figure(per_class)
    assert [trace.name for trace in figure.data] == ["precision", "recall", "F1"]
    for trace, metric in zip(figure.data, ("precision", "recall", "f1")):
        assert list(trace.x) == CLASSES
        np.testing.assert_allclose(trace.y, [per_class[name][metric] for name in CLASSES])
        assert list(trace.customdata) == [per_class[name]["support"] for name in CLASSES]
    with pytest.raises(InputError, match="support"):
        per_class_figure({"blues": {"precision": 1.0, "recall": 1.0, "f1": 1.0}})


def test_model_is_drawn_beside_each_baseline_with_the_chance_line(report) -> None:
    scores = two_class_baseline_scores()
    figure = model_vs_baselines_figure(0.9, scores, chance=0.5, model_name="tiny FFN")
    bars, legend_entry = figure.data
    assert list(bars.x) == ["tiny FFN", *BASELINE_LABELS.values()]
    expected = [0.9] + [scores[f"{name}_accuracy"] for name in baselines.BASELINES]
    np.testing.assert_allclose(bars.y, expected)
    (line,) = figure.layout.shapes
    assert line.y0 == line.y1 == 0.5 and legend_entry.name == "chance 50.0%"
    with pytest.raises(InputError, match="chance"):
        model_vs_baselines_figure(0.9, scores, chance=1.5)


def test_protocol_comparison_draws_given_and_random_folds_with_spread() -> None:
    comparison = three_fold_protocol_comparison()
    figure = protocol_comparison_figure(comparison)
    given, random = figure.data
    assert given.name == "artist-filtered folds" and random.name == "random track folds"
    assert list(given.x) == list(BASELINE_LABELS.values())
    np.testing.assert_allclose(random.y, [comparison["random"][f"{b}_accuracy"]["mean"] for b in baselines.BASELINES])
    spreads = [comparison["given"][f"{name}_accuracy"]["std"] for name in baselines.BASELINES]
    np.testing.assert_allclose(given.error_y.array, spreads)
    assert "3 folds" in figure.layout.title.text
    with pytest.raises(InputError, match="random"):
        protocol_comparison_figure({"given": comparison["given"]})


def test_segment_and_track_accuracies_per_part(report) -> None:
    figure = segment_vs_track_figure(report)
    assert [trace.name for trace in figure.data] == [
        "per segment", "per track (mean probability)", "per track (majority vote)"]
    accuracies = level_accuracies(report)
    for trace, level in zip(figure.data, ("segment", "mean_probability", "majority_vote")):
        assert list(trace.x) == ["train", "val", "test"]
        np.testing.assert_allclose(trace.y, [accuracies[part][level] for part in ("train", "val", "test")])
    assert accuracies["test"]["segment"] == report.parts["test"].segment_metrics["accuracy"]
    assert figure.data[0].customdata[0] == "18 segments" and figure.data[1].customdata[0] == "6 tracks"

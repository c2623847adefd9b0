"""Model tables: scores per part, per class, against the baselines and per split protocol, from real
evaluation and baseline outputs, each column with a human header."""

from __future__ import annotations

import numpy as np
import pytest

from helpers import noisy_evaluation, three_fold_protocol_comparison, two_class_baseline_scores

from genre_core import baselines, evaluation
from genre_core.model_tables import (
    BASELINE_LABELS,
    COLUMN_HEADERS,
    baselines_table,
    metrics_table,
    per_class_table,
    protocol_table,
)

CLASSES = ["blues", "jazz", "rock"]


@pytest.fixture(scope="module")
def report() -> evaluation.EvaluationReport:
    return noisy_evaluation(CLASSES)


def test_per_class_table_has_one_row_per_class_with_its_support(report) -> None:
    per_class = report.parts["train"].segment_metrics["per_class"]
    table = per_class_table(per_class)
    assert list(table["class"]) == CLASSES and table["support"].sum() == 18
    np.testing.assert_allclose(table["f1"], [per_class[name]["f1"] for name in CLASSES])
    assert set(table.columns) <= set(COLUMN_HEADERS)


def test_baselines_table_puts_the_model_first_then_each_baseline() -> None:
    scores = two_class_baseline_scores()
    table = baselines_table("tiny FFN", {"accuracy": 0.9, "macro_f1": 0.8}, scores)
    assert list(table["classifier"]) == ["tiny FFN", *BASELINE_LABELS.values()]
    np.testing.assert_allclose(table["accuracy"], [0.9] + [scores[f"{name}_accuracy"] for name in baselines.BASELINES])
    assert table["macro_f1"].iloc[1] == scores["majority_macro_f1"]
    assert set(table.columns) <= set(COLUMN_HEADERS)


def test_protocol_table_gives_each_baselines_spread_and_the_gap() -> None:
    comparison = three_fold_protocol_comparison()
    table = protocol_table(comparison)
    assert list(table["baseline"]) == list(BASELINE_LABELS.values())
    np.testing.assert_allclose(table["given_std"],
                               [comparison["given"][f"{name}_accuracy"]["std"] for name in baselines.BASELINES])
    np.testing.assert_allclose(table["gap"], table["random_mean"] - table["given_mean"])
    assert set(table.columns) <= set(COLUMN_HEADERS)


def test_metrics_table_has_one_row_per_part_with_segment_and_track_scores(report) -> None:
    table = metrics_table(report)
    assert list(table["part"]) == ["train", "val", "test"]
    assert list(table["segments"]) == [18, 9, 9] and list(table["tracks"]) == [6, 3, 3]
    test = report.parts["test"]
    row = table.iloc[2]
    assert row["macro_f1"] == test.segment_metrics["macro_f1"]
    assert row["track_accuracy_majority_vote"] == test.track_metrics["majority_vote"]["accuracy"]
    assert COLUMN_HEADERS["track_accuracy_majority_vote"] == "Track accuracy (majority vote)"
    assert set(table.columns) <= set(COLUMN_HEADERS)  # every column has a human header

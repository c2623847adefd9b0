"""Tests for genre_core.evaluation: metrics, confusion matrices, track aggregation, examples, reports, CV."""

from __future__ import annotations

import json
import warnings

import numpy as np
import pytest

from genre_core.errors import InputError
from genre_core.evaluation import (
    MAJORITY_VOTE,
    MEAN_PROBABILITY,
    EvaluationReport,
    classification_metrics,
    confusion_matrices,
    cross_validation_summary,
    evaluate_predictions,
    index_tracks,
    right_and_wrong,
    track_level,
)

CLASSES = ["blues", "jazz", "rock", "metal"]
# Class 3 ("metal") has no rows and is never predicted.
Y_TRUE = np.array([0, 0, 0, 1, 1, 2])
Y_PRED = np.array([0, 0, 1, 1, 2, 2])


def test_classification_metrics_match_hand_computation() -> None:
    # blues: TP 2, FP 0, FN 1 -> P 1,   R 2/3, F1 2*1*(2/3)/(5/3) = 0.8, support 3
    # jazz:  TP 1, FP 1, FN 1 -> P 1/2, R 1/2, F1 1/2,                 support 2
    # rock:  TP 1, FP 1, FN 0 -> P 1/2, R 1,   F1 2*(1/2)/(3/2) = 2/3, support 1
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # zero_division=0: an absent class raises no warning
        metrics = classification_metrics(Y_TRUE, Y_PRED, CLASSES)
    assert metrics["accuracy"] == pytest.approx(4 / 6)
    assert metrics["support"] == 6
    # macro over the three present classes; the absent "metal" does not drag it down
    assert metrics["macro_precision"] == pytest.approx((1 + 0.5 + 0.5) / 3)
    assert metrics["macro_recall"] == pytest.approx((2 / 3 + 0.5 + 1) / 3)
    assert metrics["macro_f1"] == pytest.approx((0.8 + 0.5 + 2 / 3) / 3)
    # weighted by support 3, 2, 1
    assert metrics["weighted_precision"] == pytest.approx((3 * 1 + 2 * 0.5 + 1 * 0.5) / 6)
    assert metrics["weighted_recall"] == pytest.approx(4 / 6)
    assert metrics["weighted_f1"] == pytest.approx((3 * 0.8 + 2 * 0.5 + 1 * 2 / 3) / 6)
    assert metrics["per_class"]["blues"] == pytest.approx({"precision": 1.0, "recall": 2 / 3, "f1": 0.8, "support": 3})
    assert metrics["per_class"]["rock"] == pytest.approx({"precision": 0.5, "recall": 1.0, "f1": 2 / 3, "support": 1})
    assert metrics["per_class"]["metal"] == {"precision": 0.0, "recall": 0.0, "f1": 0.0, "support": 0}
    assert json.loads(json.dumps(metrics)) == metrics


def test_classification_metrics_class_never_predicted_has_zero_precision() -> None:
    metrics = classification_metrics(np.array([0, 1, 1]), np.array([0, 0, 0]), ["a", "b"])
    assert metrics["per_class"]["b"] == {"precision": 0.0, "recall": 0.0, "f1": 0.0, "support": 2}
    assert metrics["per_class"]["a"]["precision"] == pytest.approx(1 / 3)


@pytest.mark.parametrize(
    ("y_true", "y_pred"),
    [
        (np.array([0, 1]), np.array([0])),  # lengths differ
        (np.array([0, 4]), np.array([0, 1])),  # class index out of range
        (np.array([0.0, 1.0]), np.array([0, 1])),  # not integers
        (np.array([], dtype=int), np.array([], dtype=int)),  # nothing to score
    ],
)
def test_classification_metrics_reject_bad_labels(y_true: np.ndarray, y_pred: np.ndarray) -> None:
    with pytest.raises(InputError, match="labels"):
        classification_metrics(y_true, y_pred, CLASSES)


def test_confusion_matrices_counts_and_normalised_with_empty_row() -> None:
    counts, normalised = confusion_matrices(Y_TRUE, Y_PRED, 4)
    expected = np.array([[2, 1, 0, 0], [0, 1, 1, 0], [0, 0, 1, 0], [0, 0, 0, 0]])
    np.testing.assert_array_equal(counts, expected)
    assert counts.dtype == np.int64
    np.testing.assert_allclose(normalised[:3], expected[:3] / expected[:3].sum(axis=1, keepdims=True))
    np.testing.assert_array_equal(normalised[3], np.zeros(4))  # no "metal" rows: zeros, not NaN
    assert np.all(np.isfinite(normalised))


def make_segments() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Probabilities (7, 3), track ids and labels of three tracks with interleaved segments.

    Track "a" (class 0): votes 0, 0, 2 -> vote 0; mean (0.4, 0, 0.6) -> mean prediction 2 (they disagree).
    Track "b" (class 1): votes 0, 1 tie; mean (0.325, 0.675, 0) -> both predict 1 (tie goes to the higher mean).
    Track "c" (class 2): votes 0, 1 tie, class 2 has no vote; mean (0.3, 0.275, 0.425) -> mean predicts 2,
    the vote stays among the tied classes and picks 0 (0.3 > 0.275).
    """
    probabilities = np.array(
        [
            [0.6, 0.0, 0.4],  # a
            [0.55, 0.45, 0.0],  # b
            [0.6, 0.0, 0.4],  # a
            [0.5, 0.05, 0.45],  # c
            [0.1, 0.9, 0.0],  # b
            [0.0, 0.0, 1.0],  # a
            [0.1, 0.5, 0.4],  # c
        ]
    )
    track_ids = np.array(["a", "b", "a", "c", "b", "a", "c"])
    labels = np.array([0, 1, 0, 2, 1, 0, 2])
    return probabilities, track_ids, labels


def test_track_level_mean_and_vote() -> None:
    probabilities, track_ids, labels = make_segments()
    tracks = track_level(probabilities, track_ids, labels)
    np.testing.assert_array_equal(tracks.track_ids, ["a", "b", "c"])  # order of first appearance
    np.testing.assert_array_equal(tracks.labels, [0, 1, 2])
    np.testing.assert_array_equal(tracks.segment_counts, [3, 2, 2])
    np.testing.assert_allclose(tracks.mean_probabilities[0], [0.4, 0.0, 0.6])
    np.testing.assert_allclose(tracks.mean_probabilities[2], [0.3, 0.275, 0.425])
    np.testing.assert_array_equal(tracks.mean_prediction, [2, 1, 2])
    np.testing.assert_array_equal(tracks.vote_prediction, [0, 1, 0])


def test_track_level_rejects_track_with_two_labels() -> None:
    probabilities, track_ids, labels = make_segments()
    labels = labels.copy()
    labels[2] = 1
    with pytest.raises(InputError, match="track 'a'"):
        track_level(probabilities, track_ids, labels)


def test_index_tracks_maps_rows_to_tracks() -> None:
    ids, row_track, track_labels = index_tracks(np.array(["z", "y", "z", "x"]), np.array([3, 1, 3, 0]))
    np.testing.assert_array_equal(ids, ["z", "y", "x"])
    np.testing.assert_array_equal(row_track, [0, 1, 0, 2])
    np.testing.assert_array_equal(track_labels, [3, 1, 0])


def test_right_and_wrong_orders_examples() -> None:
    y_true = np.array([1, 0, 1, 1, 1, 1, 2, 1, 1])
    y_pred = np.array([1, 0, 0, 1, 2, 1, 1, 0, 1])
    # true-class (1) probability of the right rows 0, 3, 5, 8: 0.5, 0.9, 0.4, 0.5
    # predicted-class probability of the wrong rows 2 (->0), 4 (->2), 7 (->0): 0.6, 0.8, 0.7
    probabilities = np.array(
        [
            [0.2, 0.5, 0.3],
            [0.9, 0.05, 0.05],
            [0.6, 0.3, 0.1],
            [0.05, 0.9, 0.05],
            [0.1, 0.1, 0.8],
            [0.3, 0.4, 0.3],
            [0.1, 0.8, 0.1],  # true class 2: ignored for class 1
            [0.7, 0.2, 0.1],
            [0.25, 0.5, 0.25],
        ]
    )
    examples = right_and_wrong(y_true, y_pred, probabilities, class_index=1, n=3)
    assert examples == {
        "right": [0, 3, 5],
        "wrong": [2, 4, 7],
        "most_confident_wrong": [4, 7, 2],
        "least_confident_right": [5, 0, 8],  # 0 and 8 tie at 0.5: row order
    }
    assert right_and_wrong(y_true, y_pred, probabilities, class_index=2) == {
        "right": [], "wrong": [6], "most_confident_wrong": [6], "least_confident_right": []}
    with pytest.raises(InputError, match="class index"):
        right_and_wrong(y_true, y_pred, probabilities, class_index=3)


def test_evaluate_predictions_report_and_json_round_trip() -> None:
    probabilities, track_ids, labels = make_segments()
    class_names = ["blues", "jazz", "rock"]
    parts = {"train": np.array([1, 4]), "val": np.array([], dtype=int), "test": np.array([0, 2, 3, 5, 6])}
    report = evaluate_predictions(probabilities, labels, track_ids, class_names, parts)

    assert list(report.parts) == ["train", "test"]  # the empty part is left out
    test = report.parts["test"]
    assert (test.rows, test.tracks) == (5, 2)
    test_rows = parts["test"]
    expected = classification_metrics(labels[test_rows], probabilities[test_rows].argmax(axis=1), class_names)
    assert test.segment_metrics == expected
    np.testing.assert_array_equal(test.confusion, confusion_matrices(labels[test_rows], [0, 0, 0, 2, 1], 3)[0])
    # tracks a (class 0) and c (class 2): mean predicts 2 and 2 (1 of 2 right), vote 0 and 0 (1 of 2 right)
    assert test.track_metrics[MEAN_PROBABILITY]["accuracy"] == pytest.approx(0.5)
    assert test.track_metrics[MAJORITY_VOTE]["accuracy"] == pytest.approx(0.5)
    np.testing.assert_array_equal(test.track_confusion[MEAN_PROBABILITY], [[0, 0, 1], [0, 0, 0], [0, 0, 1]])
    np.testing.assert_array_equal(test.track_confusion[MAJORITY_VOTE], [[1, 0, 0], [0, 0, 0], [1, 0, 0]])

    text = json.dumps(report.to_dict())
    restored = EvaluationReport.from_dict(json.loads(text))
    assert restored.to_dict() == report.to_dict()
    np.testing.assert_array_equal(restored.parts["test"].confusion, test.confusion)


def test_evaluate_predictions_rejects_bad_parts_and_shapes() -> None:
    probabilities, track_ids, labels = make_segments()
    with pytest.raises(InputError, match="part 'test'"):
        evaluate_predictions(probabilities, labels, track_ids, ["a", "b", "c"], {"test": np.array([0, 7])})
    with pytest.raises(InputError, match="probabilities"):
        evaluate_predictions(probabilities, labels, track_ids, ["a", "b", "c", "d"], {"test": np.array([0])})
    with pytest.raises(InputError, match="evaluation report"):
        EvaluationReport.from_dict({"class_names": ["a"]})


def test_cross_validation_summary() -> None:
    folds = [{"accuracy": 0.5, "macro_f1": 0.4}, {"accuracy": 0.7, "macro_f1": 0.4}, {"accuracy": 0.6, "macro_f1": 0.4}]
    summary = cross_validation_summary(folds)
    # mean 0.6; sample std sqrt((0.1^2 + 0.1^2 + 0) / (3 - 1)) = 0.1
    assert summary["accuracy"]["mean"] == pytest.approx(0.6)
    assert summary["accuracy"]["std"] == pytest.approx(0.1)
    assert summary["accuracy"]["values"] == [0.5, 0.7, 0.6]
    assert summary["macro_f1"]["std"] == pytest.approx(0.0)
    assert cross_validation_summary(folds[:1])["accuracy"] == {"mean": 0.5, "std": 0.0, "values": [0.5]}
    with pytest.raises(InputError, match="fold 1 has no 'recall'"):
        cross_validation_summary([{"recall": 1.0}, {}], keys=("recall",))
    with pytest.raises(InputError, match="no folds"):
        cross_validation_summary([])

"""Metrics from predicted probabilities: per segment, per track, per split part, across folds.

Pure numpy/scikit-learn: every function takes arrays (class probabilities, integer labels, track ids),
so the same code scores Keras models and the scikit-learn baselines. Nothing here imports TensorFlow.

Conventions: ``K`` classes; labels and predictions are (rows,) integers in ``[0, K)``; probabilities
are (rows, K) floats whose rows sum to 1; confusion matrices have true classes on rows, predicted
classes on columns. Every dict returned holds only JSON-serialisable values (floats, ints, lists).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from sklearn.metrics import accuracy_score, precision_recall_fscore_support

from genre_core.errors import InputError

#: Names of the two ways segment probabilities become one track prediction.
MEAN_PROBABILITY = "mean_probability"
MAJORITY_VOTE = "majority_vote"


def _check_labels(name: str, values: np.ndarray, n_classes: int) -> np.ndarray:
    """``values`` as a (rows,) int64 array; InputError unless every value is a class index in [0, n_classes)."""
    values = np.asarray(values)
    if values.ndim != 1:
        raise InputError(name, f"expected a 1-D array of class indices, got shape {values.shape}")
    if values.size and not np.issubdtype(values.dtype, np.integer):
        raise InputError(name, f"expected integer class indices, got dtype {values.dtype}")
    if values.size and (values.min() < 0 or values.max() >= n_classes):
        raise InputError(name, f"class indices must lie in [0, {n_classes}), got {values.min()}..{values.max()}")
    return values.astype(np.int64)


def _check_pair(y_true: np.ndarray, y_pred: np.ndarray, n_classes: int) -> tuple[np.ndarray, np.ndarray]:
    """Validated true and predicted labels of equal, non-zero length."""
    y_true = _check_labels("true labels", y_true, n_classes)
    y_pred = _check_labels("predicted labels", y_pred, n_classes)
    if len(y_true) != len(y_pred):
        raise InputError("predicted labels", f"{len(y_pred)} rows, true labels have {len(y_true)}")
    if len(y_true) == 0:
        raise InputError("true labels", "no rows to evaluate")
    return y_true, y_pred


def _check_probabilities(probabilities: np.ndarray, rows: int | None = None) -> np.ndarray:
    """``probabilities`` as a finite (rows, K) float64 array."""
    probabilities = np.asarray(probabilities, dtype=np.float64)
    if probabilities.ndim != 2 or probabilities.shape[1] < 1:
        raise InputError("probabilities", f"expected shape (rows, classes), got {probabilities.shape}")
    if rows is not None and len(probabilities) != rows:
        raise InputError("probabilities", f"{len(probabilities)} rows, labels have {rows}")
    if not np.all(np.isfinite(probabilities)):
        raise InputError("probabilities", "contain NaN or infinite values")
    return probabilities


def classification_metrics(y_true: np.ndarray, y_pred: np.ndarray, class_names: Sequence[str]) -> dict[str, Any]:
    """Accuracy, macro/weighted precision, recall and F1, and a per-class report.

    Args:
        y_true, y_pred: (rows,) int class indices into ``class_names``.
        class_names: the K class names.

    Returns:
        ``{"accuracy", "macro_precision", "macro_recall", "macro_f1", "weighted_precision",
        "weighted_recall", "weighted_f1"}`` as floats in [0, 1], ``"support"`` (rows, int) and
        ``"per_class"``: ``{name: {"precision", "recall", "f1", "support"}}`` for every class.
        A class that is never predicted has precision 0, one with no rows recall 0 (``zero_division=0``).
        Macro averages run over the classes present in ``y_true`` or ``y_pred`` (scikit-learn's default),
        so a part that lacks a class entirely is not penalised for it; weighted averages weight by support.
    """
    class_names = list(class_names)
    y_true, y_pred = _check_pair(y_true, y_pred, len(class_names))
    all_classes = np.arange(len(class_names))
    precision, recall, f1, support = precision_recall_fscore_support(
        y_true, y_pred, labels=all_classes, average=None, zero_division=0
    )
    present = np.union1d(y_true, y_pred)
    metrics: dict[str, Any] = {"accuracy": float(accuracy_score(y_true, y_pred))}
    for average in ("macro", "weighted"):
        averaged = precision_recall_fscore_support(y_true, y_pred, labels=present, average=average, zero_division=0)
        for metric, value in zip(("precision", "recall", "f1"), averaged[:3]):
            metrics[f"{average}_{metric}"] = float(value)
    metrics["support"] = int(len(y_true))
    metrics["per_class"] = {
        name: {"precision": float(p), "recall": float(r), "f1": float(f), "support": int(s)}
        for name, p, r, f, s in zip(class_names, precision, recall, f1, support)
    }
    return metrics


def confusion_matrices(y_true: np.ndarray, y_pred: np.ndarray, n_classes: int) -> tuple[np.ndarray, np.ndarray]:
    """Confusion matrix as counts and row-normalised.

    Returns:
        ``counts``: (K, K) int64, ``counts[t, p]`` = rows of true class t predicted as p.
        ``normalised``: (K, K) float64, each row of ``counts`` divided by its sum (the recall of the
        class on the diagonal); a class without rows gives a row of zeros, never NaN.
    """
    y_true, y_pred = _check_pair(y_true, y_pred, n_classes)
    counts = np.bincount(y_true * n_classes + y_pred, minlength=n_classes * n_classes).reshape(n_classes, n_classes)
    return counts.astype(np.int64), row_normalised(counts)


def row_normalised(counts: np.ndarray) -> np.ndarray:
    """(K, K) float64: each row of a confusion matrix of counts divided by its sum; an empty row stays zeros."""
    counts = np.asarray(counts)
    row_sums = counts.sum(axis=1, keepdims=True)
    return np.divide(counts, row_sums, out=np.zeros(counts.shape), where=row_sums > 0)


def index_tracks(track_ids: np.ndarray, labels: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Group rows by track, keeping tracks in the order they first appear.

    Args:
        track_ids: (rows,) str, the track each row (segment) comes from.
        labels: (rows,) int class indices; all rows of a track must share one.

    Returns:
        ``ids``: (tracks,) str; ``row_track``: (rows,) int64, index into ``ids`` of each row's track;
        ``track_labels``: (tracks,) int64, the label of each track.
    """
    track_ids = np.asarray(track_ids).astype(str)
    labels = np.asarray(labels)
    if track_ids.ndim != 1 or len(track_ids) != len(labels):
        raise InputError("track ids", f"expected {len(labels)} ids (one per row), got shape {track_ids.shape}")
    _, first_rows, sorted_track = np.unique(track_ids, return_index=True, return_inverse=True)
    order = np.argsort(first_rows, kind="stable")
    rank = np.empty_like(order)
    rank[order] = np.arange(len(order))
    row_track = rank[sorted_track].astype(np.int64)
    ids = track_ids[first_rows[order]]
    track_labels = labels[first_rows[order]].astype(np.int64)
    mixed = np.flatnonzero(track_labels[row_track] != labels)
    if mixed.size:
        raise InputError("labels", f"track {str(track_ids[mixed[0]])!r} has rows with different labels")
    return ids, row_track, track_labels


@dataclass
class TrackPredictions:
    """Segment predictions aggregated per track (tracks in order of first appearance).

    - ``track_ids``: (tracks,) str
    - ``labels``: (tracks,) int64 true class
    - ``mean_probabilities``: (tracks, K) float64, mean of the track's segment probabilities
    - ``mean_prediction``: (tracks,) int64, argmax of ``mean_probabilities``
    - ``vote_prediction``: (tracks,) int64, class predicted for most segments; a tie goes to the tied
      class with the highest mean probability
    - ``segment_counts``: (tracks,) int64 segments per track
    """

    track_ids: np.ndarray
    labels: np.ndarray
    mean_probabilities: np.ndarray
    mean_prediction: np.ndarray
    vote_prediction: np.ndarray
    segment_counts: np.ndarray


def track_level(probabilities: np.ndarray, track_ids: np.ndarray, labels: np.ndarray) -> TrackPredictions:
    """Aggregate segment probabilities (rows, K) to one prediction per track, two ways (see `TrackPredictions`)."""
    probabilities = _check_probabilities(probabilities, rows=len(np.asarray(labels)))
    n_classes = probabilities.shape[1]
    labels = _check_labels("labels", labels, n_classes)
    ids, row_track, track_labels = index_tracks(track_ids, labels)
    n_tracks = len(ids)
    segment_counts = np.bincount(row_track, minlength=n_tracks)
    sums = np.zeros((n_tracks, n_classes))
    np.add.at(sums, row_track, probabilities)
    mean_probabilities = sums / segment_counts[:, None]
    votes = np.zeros((n_tracks, n_classes), dtype=np.int64)
    np.add.at(votes, (row_track, probabilities.argmax(axis=1)), 1)
    tied_for_most = votes == votes.max(axis=1, keepdims=True)
    vote_prediction = np.where(tied_for_most, mean_probabilities, -np.inf).argmax(axis=1)
    return TrackPredictions(
        track_ids=ids,
        labels=track_labels,
        mean_probabilities=mean_probabilities,
        mean_prediction=mean_probabilities.argmax(axis=1).astype(np.int64),
        vote_prediction=vote_prediction.astype(np.int64),
        segment_counts=segment_counts.astype(np.int64),
    )


def right_and_wrong(
    y_true: np.ndarray, y_pred: np.ndarray, probabilities: np.ndarray, class_index: int, n: int = 6
) -> dict[str, list[int]]:
    """Row indices of examples of one true class, right and wrong, for showing to a user.

    Args:
        y_true, y_pred: (rows,) int class indices; probabilities: (rows, K).
        class_index: the true class to look at. n: at most this many indices per list.

    Returns:
        ``"right"`` / ``"wrong"``: the first n rows of the class predicted correctly / wrongly, in row order;
        ``"most_confident_wrong"``: wrong rows by the probability of their predicted class, highest first;
        ``"least_confident_right"``: right rows by the probability of the true class, lowest first.
        Ties keep row order.
    """
    probabilities = _check_probabilities(probabilities)
    n_classes = probabilities.shape[1]
    y_true, y_pred = _check_pair(y_true, y_pred, n_classes)
    if len(probabilities) != len(y_true):
        raise InputError("probabilities", f"{len(probabilities)} rows, labels have {len(y_true)}")
    if not 0 <= class_index < n_classes:
        raise InputError("class index", f"{class_index} is not in [0, {n_classes})")
    if n < 0:
        raise InputError("n", f"must be >= 0, got {n}")
    of_class = y_true == class_index
    right = np.flatnonzero(of_class & (y_pred == class_index))
    wrong = np.flatnonzero(of_class & (y_pred != class_index))
    wrong_confidence = probabilities[wrong, y_pred[wrong]]
    right_confidence = probabilities[right, class_index]
    return {
        "right": right[:n].tolist(),
        "wrong": wrong[:n].tolist(),
        "most_confident_wrong": wrong[np.argsort(-wrong_confidence, kind="stable")][:n].tolist(),
        "least_confident_right": right[np.argsort(right_confidence, kind="stable")][:n].tolist(),
    }


@dataclass
class PartEvaluation:
    """Scores of one part of a split (e.g. ``"test"``).

    - ``rows`` / ``tracks``: how many segments and tracks the part holds
    - ``segment_metrics``: `classification_metrics` of the per-segment argmax predictions
    - ``confusion`` / ``confusion_normalised``: (K, K) segment-level, see `confusion_matrices`
    - ``track_metrics``: ``{MEAN_PROBABILITY: metrics, MAJORITY_VOTE: metrics}`` at track level
    - ``track_confusion``: ``{MEAN_PROBABILITY: counts, MAJORITY_VOTE: counts}``, (K, K) int64
    """

    rows: int
    tracks: int
    segment_metrics: dict[str, Any]
    confusion: np.ndarray
    confusion_normalised: np.ndarray
    track_metrics: dict[str, dict[str, Any]]
    track_confusion: dict[str, np.ndarray]

    def to_dict(self) -> dict[str, Any]:
        return {
            "rows": self.rows,
            "tracks": self.tracks,
            "segment_metrics": self.segment_metrics,
            "confusion": self.confusion.tolist(),
            "confusion_normalised": self.confusion_normalised.tolist(),
            "track_metrics": self.track_metrics,
            "track_confusion": {method: counts.tolist() for method, counts in self.track_confusion.items()},
        }

    @classmethod
    def from_dict(cls, values: Mapping[str, Any]) -> PartEvaluation:
        return cls(
            rows=int(values["rows"]),
            tracks=int(values["tracks"]),
            segment_metrics=dict(values["segment_metrics"]),
            confusion=np.asarray(values["confusion"], dtype=np.int64),
            confusion_normalised=np.asarray(values["confusion_normalised"], dtype=np.float64),
            track_metrics=dict(values["track_metrics"]),
            track_confusion={
                method: np.asarray(counts, dtype=np.int64) for method, counts in values["track_confusion"].items()
            },
        )


@dataclass
class EvaluationReport:
    """Scores of a model on every non-empty part of a split, keyed by part name, in the order given."""

    class_names: list[str]
    parts: dict[str, PartEvaluation]

    def to_dict(self) -> dict[str, Any]:
        """JSON-serialisable form (matrices as nested lists), for the report file."""
        return {"class_names": list(self.class_names), "parts": {name: p.to_dict() for name, p in self.parts.items()}}

    @classmethod
    def from_dict(cls, values: Mapping[str, Any]) -> EvaluationReport:
        """Inverse of `to_dict` (e.g. after ``json.loads`` of a report file)."""
        try:
            return cls(
                class_names=[str(name) for name in values["class_names"]],
                parts={name: PartEvaluation.from_dict(part) for name, part in values["parts"].items()},
            )
        except (KeyError, TypeError, ValueError, AttributeError) as error:
            raise InputError("evaluation report", f"malformed ({type(error).__name__}: {error})") from None


def _evaluate_part(
    probabilities: np.ndarray, labels: np.ndarray, track_ids: np.ndarray, class_names: list[str]
) -> PartEvaluation:
    """Segment- and track-level scores of the rows of one part."""
    n_classes = len(class_names)
    predictions = probabilities.argmax(axis=1)
    counts, normalised = confusion_matrices(labels, predictions, n_classes)
    tracks = track_level(probabilities, track_ids, labels)
    track_predictions = {MEAN_PROBABILITY: tracks.mean_prediction, MAJORITY_VOTE: tracks.vote_prediction}
    return PartEvaluation(
        rows=int(len(labels)),
        tracks=int(len(tracks.track_ids)),
        segment_metrics=classification_metrics(labels, predictions, class_names),
        confusion=counts,
        confusion_normalised=normalised,
        track_metrics={
            method: classification_metrics(tracks.labels, predicted, class_names)
            for method, predicted in track_predictions.items()
        },
        track_confusion={
            method: confusion_matrices(tracks.labels, predicted, n_classes)[0]
            for method, predicted in track_predictions.items()
        },
    )


def evaluate_predictions(
    probabilities: np.ndarray,
    labels: np.ndarray,
    track_ids: np.ndarray,
    class_names: Sequence[str],
    parts: Mapping[str, np.ndarray],
) -> EvaluationReport:
    """Score predicted probabilities on each part of a split.

    Args:
        probabilities: (rows, K) class probabilities of every row of a dataset.
        labels: (rows,) int true classes. track_ids: (rows,) str track of each row.
        class_names: the K class names.
        parts: part name → (n,) int row indices (e.g. ``{"train": ..., "val": ..., "test": ...}``);
            empty parts are left out of the report.
    """
    class_names = list(class_names)
    labels = _check_labels("labels", labels, len(class_names))
    probabilities = _check_probabilities(probabilities, rows=len(labels))
    if probabilities.shape[1] != len(class_names):
        raise InputError("probabilities", f"{probabilities.shape[1]} columns for {len(class_names)} classes")
    track_ids = np.asarray(track_ids).astype(str)
    if len(track_ids) != len(labels):
        raise InputError("track ids", f"{len(track_ids)} rows, labels have {len(labels)}")
    report_parts = {}
    for name, rows in parts.items():
        rows = np.asarray(rows)
        if rows.size == 0:
            continue
        if not np.issubdtype(rows.dtype, np.integer) or rows.ndim != 1:
            raise InputError(f"part {name!r}", f"expected 1-D integer row indices, got {rows.dtype} {rows.shape}")
        if rows.min() < 0 or rows.max() >= len(labels):
            raise InputError(f"part {name!r}", f"row indices must lie in [0, {len(labels)})")
        report_parts[name] = _evaluate_part(probabilities[rows], labels[rows], track_ids[rows], class_names)
    return EvaluationReport(class_names=class_names, parts=report_parts)


def cross_validation_summary(
    fold_metrics: Sequence[Mapping[str, Any]], keys: Sequence[str] = ("accuracy", "macro_f1")
) -> dict[str, dict[str, Any]]:
    """Mean and spread of metrics over folds.

    Args:
        fold_metrics: one metrics dict per fold (e.g. from `classification_metrics`); each must hold ``keys``.
        keys: the numeric entries to summarise.

    Returns:
        ``{key: {"mean": float, "std": float, "values": [float per fold]}}``; ``std`` is the sample
        standard deviation (ddof=1) over two or more folds and 0.0 for a single fold.
    """
    if not fold_metrics:
        raise InputError("fold metrics", "no folds to summarise")
    summary = {}
    for key in keys:
        missing = [index for index, metrics in enumerate(fold_metrics) if key not in metrics]
        if missing:
            raise InputError("fold metrics", f"fold {missing[0]} has no '{key}'")
        values = np.array([float(metrics[key]) for metrics in fold_metrics])
        spread = float(values.std(ddof=1)) if len(values) > 1 else 0.0
        summary[key] = {"mean": float(values.mean()), "std": spread, "values": values.tolist()}
    return summary

"""Right and wrong examples of each class, with where they sit in their tracks, for the browsing page.

Pure numpy: the row selection itself is `genre_core.evaluation.right_and_wrong`; this module turns its row
indices into `ExampleRow` records (track, time span, classes, probabilities) a page can list and play.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from genre_core.errors import InputError
from genre_core.evaluation import right_and_wrong

#: The lists `example_table` gives per class (see `genre_core.evaluation.right_and_wrong`).
EXAMPLE_KINDS = ("right", "wrong", "most_confident_wrong", "least_confident_right")


@dataclass(frozen=True)
class ExampleRow:
    """One segment shown as an example."""

    row: int  #: row of the dataset (and of the probabilities)
    track_id: str
    segment_index: int  #: window position in its track
    start_seconds: float  #: s, where the window starts in its track
    end_seconds: float  #: s, where it ends
    true_class: str
    predicted_class: str
    probability: float  #: of the predicted class
    true_probability: float  #: of the true class


def _dataset_rows(rows_subset: np.ndarray | None, total: int) -> np.ndarray:
    """Dataset rows to choose from: (m,) int64 indices; a boolean mask or None (all rows) is accepted."""
    if rows_subset is None:
        return np.arange(total)
    rows = np.asarray(rows_subset)
    if rows.dtype == bool:
        if rows.shape != (total,):
            raise InputError("rows subset", f"a mask needs {total} values, got shape {rows.shape}")
        return np.flatnonzero(rows)
    if rows.ndim != 1 or (rows.size and not np.issubdtype(rows.dtype, np.integer)):
        raise InputError("rows subset", f"expected a 1-D array of row indices, got {rows.dtype} {rows.shape}")
    if rows.size == 0:
        raise InputError("rows subset", "selects no rows")
    if rows.min() < 0 or rows.max() >= total:
        raise InputError("rows subset", f"row indices must lie in [0, {total}), got {rows.min()}..{rows.max()}")
    return rows.astype(np.int64)


def example_table(
    probabilities: np.ndarray,
    labels: np.ndarray,
    track_ids: np.ndarray,
    segment_index: np.ndarray,
    segment_seconds: float,
    class_names: Sequence[str],
    rows_subset: np.ndarray | None = None,
    n: int = 6,
) -> dict[str, dict[str, list[ExampleRow]]]:
    """Examples of every class: ``{class name: {kind: [ExampleRow, ...]}}`` with the kinds of `EXAMPLE_KINDS`.

    Args:
        probabilities: (rows, K) predicted class probabilities of every dataset row; the prediction is the
            most probable class. labels: (rows,) int true classes. track_ids: (rows,) str.
        segment_index: (rows,) int window positions. segment_seconds: s, window length.
        class_names: K names. rows_subset: the rows to choose from (e.g. a split's test rows), None = all.
        n: at most this many examples per list.
    Each list holds at most ``n`` rows of the class (its true class); "right" / "wrong" keep row order,
    "most_confident_wrong" is by the predicted class's probability (highest first), "least_confident_right"
    by the true class's probability (lowest first).
    """
    probabilities = np.asarray(probabilities, dtype=np.float64)
    if probabilities.ndim != 2 or probabilities.shape[1] != len(class_names):
        raise InputError("probabilities", f"expected shape (rows, {len(class_names)}), got {probabilities.shape}")
    total = len(probabilities)
    track_ids = np.asarray(track_ids, dtype=str)
    labels, segment_index = np.asarray(labels), np.asarray(segment_index)
    for name, values in (("labels", labels), ("track ids", track_ids), ("segment indices", segment_index)):
        if values.shape != (total,):
            raise InputError(name, f"expected shape ({total},) like the probabilities, got {values.shape}")
    if not segment_seconds > 0:
        raise InputError("segment seconds", f"must be > 0, got {segment_seconds}")
    rows = _dataset_rows(rows_subset, total)
    chosen_probabilities, chosen_labels = probabilities[rows], labels[rows]
    predictions = chosen_probabilities.argmax(axis=1)

    def example(position: int) -> ExampleRow:
        row = int(rows[position])
        true_class, predicted = int(chosen_labels[position]), int(predictions[position])
        start = float(segment_index[row]) * segment_seconds
        return ExampleRow(
            row=row,
            track_id=str(track_ids[row]),
            segment_index=int(segment_index[row]),
            start_seconds=start,
            end_seconds=start + segment_seconds,
            true_class=class_names[true_class],
            predicted_class=class_names[predicted],
            probability=float(probabilities[row, predicted]),
            true_probability=float(probabilities[row, true_class]),
        )

    table = {}
    for class_index, class_name in enumerate(class_names):
        picks = right_and_wrong(chosen_labels, predictions, chosen_probabilities, class_index, n)
        table[class_name] = {kind: [example(position) for position in picks[kind]] for kind in EXAMPLE_KINDS}
    return table

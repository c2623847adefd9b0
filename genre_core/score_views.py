"""What the Evaluate page and the run reports show of an evaluation beyond the headline: confusion matrices at
segment and track level, per-class scores with their averages, the examples behind one confusion-matrix cell,
and how many files (tracks) each genre has in a dataset.

Pure numpy/pandas/plotly; nothing here imports TensorFlow or Streamlit.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from genre_core import model_figures
from genre_core.audio_figures import class_distribution_figure
from genre_core.dataset import Dataset
from genre_core.errors import InputError
from genre_core.evaluation import MAJORITY_VOTE, MEAN_PROBABILITY, PartEvaluation, row_normalised, track_level

SEGMENT = "segment"
#: The levels a confusion matrix is counted at → how it is named on screen.
CONFUSION_LEVELS = {
    SEGMENT: "per segment",
    MEAN_PROBABILITY: "per track (mean probability)",
    MAJORITY_VOTE: "per track (majority vote)",
}
PIE, BAR = "pie", "bar"


@dataclass(frozen=True)
class ConfusionView:
    """One confusion matrix of a part: ``counts`` (K, K) int64 and ``normalised`` (K, K) float64 (each true
    class's row sums to 1), true class on rows; ``unit`` says what the counts count ("segments", "tracks")."""

    level: str
    counts: np.ndarray
    normalised: np.ndarray
    unit: str


def confusion_view(part: PartEvaluation, level: str) -> ConfusionView:
    """The confusion matrix of ``part`` at ``level`` (a key of `CONFUSION_LEVELS`)."""
    if level == SEGMENT:
        return ConfusionView(level, part.confusion, part.confusion_normalised, "segments")
    if level not in part.track_confusion:
        raise InputError("confusion level", f"{level!r} is not one of {', '.join(CONFUSION_LEVELS)}")
    counts = np.asarray(part.track_confusion[level], dtype=np.int64)
    return ConfusionView(level, counts, row_normalised(counts), "tracks")


def per_class_with_averages(metrics: Mapping[str, Any]) -> pd.DataFrame:
    """Precision, recall, F1 and support of every class (rows in class order), then the ``macro average`` and
    ``weighted average`` rows (support: all rows), from a `genre_core.evaluation.classification_metrics` dict.
    Columns ``class``, ``precision``, ``recall``, ``f1`` (fractions), ``support`` (rows)."""
    rows = [{"class": name, "precision": scores["precision"], "recall": scores["recall"], "f1": scores["f1"],
             "support": int(scores["support"])} for name, scores in metrics["per_class"].items()]
    for average in ("macro", "weighted"):
        rows.append({"class": f"{average} average", "precision": metrics[f"{average}_precision"],
                     "recall": metrics[f"{average}_recall"], "f1": metrics[f"{average}_f1"],
                     "support": int(metrics["support"])})
    return pd.DataFrame(rows, columns=["class", "precision", "recall", "f1", "support"])


def selectable_confusion_figure(view: ConfusionView, class_names: Sequence[str], *, normalised: bool,
                                title: str) -> go.Figure:
    """`model_figures.confusion_figure` of ``view`` with one invisible square marker over each cell, so that a
    click selects the cell (plotly reports selections of markers, not of heat-map cells). Each marker's
    ``customdata`` is ``[true_class, predicted_class]``; a selected cell is outlined."""
    names = [str(name) for name in class_names]
    matrix = view.normalised if normalised else view.counts
    figure = model_figures.confusion_figure(matrix, names, normalised=normalised, title=title, unit=view.unit)
    size = len(names)
    true_index, predicted_index = np.divmod(np.arange(size * size), size)
    hover = figure.data[0].hovertemplate.replace("%{z", "%{customdata[2]")
    figure.data[0].hoverinfo = "skip"
    figure.data[0].hovertemplate = None
    figure.add_trace(go.Scatter(
        x=[names[index] for index in predicted_index], y=[names[index] for index in true_index], mode="markers",
        customdata=np.column_stack([true_index, predicted_index, matrix.ravel()]).tolist(),
        marker={"symbol": "square-open", "size": max(14, 360 // size), "color": "#d62728", "opacity": 0,
                "line": {"width": 3}},
        selected={"marker": {"opacity": 1}}, unselected={"marker": {"opacity": 0}},
        hovertemplate=hover, showlegend=False, name="cells",
    ))
    figure.update_layout(clickmode="event+select", dragmode=False)
    return figure


def selected_cell(points: Sequence[Mapping[str, Any]]) -> tuple[int, int] | None:
    """``(true_class, predicted_class)`` of the last cell marker among plotly selection ``points`` (each with
    ``customdata`` as `selectable_confusion_figure` sets it), or None when no cell is selected."""
    for point in reversed(list(points)):
        data = point.get("customdata")
        if isinstance(data, (list, tuple)) and len(data) >= 2:
            return int(data[0]), int(data[1])
    return None


@dataclass(frozen=True)
class CellExample:
    """One example behind a confusion-matrix cell: the dataset ``row`` to open (for a track, its window most
    sure of the predicted class), its ``track_id``, ``segment_index``, and the probability of the predicted
    class (for a track, the mean over its windows)."""

    row: int
    track_id: str
    segment_index: int
    probability: float


def cell_examples(
    dataset: Dataset, rows: np.ndarray, probabilities: np.ndarray, level: str, true_class: int, predicted_class: int,
) -> list[CellExample]:
    """The examples of one confusion-matrix cell, most confident first.

    Args:
        dataset: the scored dataset. rows: (n,) int dataset rows of the part. probabilities: (n, K) of those rows.
        level: a key of `CONFUSION_LEVELS` (segments, or tracks by mean probability / majority vote).
        true_class, predicted_class: the cell (row and column of the matrix).
    """
    rows = np.asarray(rows, dtype=np.int64)
    probabilities = np.asarray(probabilities, dtype=np.float64)
    n_classes = dataset.n_classes
    if probabilities.shape != (len(rows), n_classes):
        raise InputError("probabilities", f"expected shape ({len(rows)}, {n_classes}), got {probabilities.shape}")
    for name, index in (("true class", true_class), ("predicted class", predicted_class)):
        if not 0 <= index < n_classes:
            raise InputError(name, f"{index} is not in [0, {n_classes})")
    labels = dataset.labels[rows]
    if level == SEGMENT:
        chosen = np.flatnonzero((labels == true_class) & (probabilities.argmax(axis=1) == predicted_class))
        confidence = probabilities[chosen, predicted_class]
        order = chosen[np.argsort(-confidence, kind="stable")]
        return [CellExample(int(rows[i]), str(dataset.track_ids[rows[i]]), int(dataset.segment_index[rows[i]]),
                            float(probabilities[i, predicted_class])) for i in order]
    if level not in (MEAN_PROBABILITY, MAJORITY_VOTE):
        raise InputError("confusion level", f"{level!r} is not one of {', '.join(CONFUSION_LEVELS)}")
    tracks = track_level(probabilities, dataset.track_ids[rows], labels)
    predicted = tracks.mean_prediction if level == MEAN_PROBABILITY else tracks.vote_prediction
    chosen = np.flatnonzero((tracks.labels == true_class) & (predicted == predicted_class))
    chosen = chosen[np.argsort(-tracks.mean_probabilities[chosen, predicted_class], kind="stable")]
    examples = []
    row_tracks = dataset.track_ids[rows].astype(str)
    for track in chosen:
        of_track = np.flatnonzero(row_tracks == tracks.track_ids[track])
        best = of_track[int(np.argmax(probabilities[of_track, predicted_class]))]
        examples.append(CellExample(int(rows[best]), str(tracks.track_ids[track]),
                                    int(dataset.segment_index[rows[best]]),
                                    float(tracks.mean_probabilities[track, predicted_class])))
    return examples


def files_per_genre(dataset: Dataset) -> pd.DataFrame:
    """Tracks (files) and segments of each genre, in class order: columns ``genre``, ``tracks``, ``segments``."""
    tracks = [len(np.unique(dataset.track_ids[dataset.labels == index])) for index in range(dataset.n_classes)]
    segments = np.bincount(dataset.labels, minlength=dataset.n_classes)
    return pd.DataFrame({"genre": list(dataset.class_names), "tracks": tracks, "segments": segments.tolist()})


def files_per_genre_figure(counts: pd.DataFrame, *, kind: str = PIE, unit: str = "tracks") -> go.Figure:
    """``counts`` (`files_per_genre`) as a pie (share of each genre) or a bar chart of the ``unit`` column."""
    if unit not in ("tracks", "segments"):
        raise InputError("unit", f"{unit!r} is neither 'tracks' nor 'segments'")
    values = counts[unit].to_numpy()
    if values.sum() == 0:
        raise InputError("dataset", "has no rows to count")
    title = f"{unit.capitalize()} per genre ({int(values.sum())} in all)"
    if kind == PIE:
        figure = go.Figure(go.Pie(labels=counts["genre"], values=values, sort=False, textinfo="label+value",
                                  hovertemplate="%{label}: %{value} " + unit + " (%{percent})<extra></extra>"))
    elif kind == BAR:
        figure = class_distribution_figure(dict(zip(counts["genre"], values.tolist())), title,
                                           count_label=unit.capitalize())
    else:
        raise InputError("chart kind", f"{kind!r} is neither {PIE!r} nor {BAR!r}")
    figure.update_layout(title=title, margin={"t": 60})
    return figure


def class_index(class_names: Sequence[str], name: str) -> int:
    """Index of class ``name``; InputError when the classes do not hold it."""
    try:
        return list(class_names).index(name)
    except ValueError:
        raise InputError("class", f"{name!r} is not one of {', '.join(class_names)}") from None

"""Plotly figures about trained models: training curves, confusion matrices, per-class scores, baselines, split
protocols, segment- versus track-level accuracy and the transfer lesson (their tables: `genre_core.model_tables`).

Pure functions from plain values (metric dicts of `genre_core.evaluation`, score dicts of
`genre_core.baselines`) to `plotly.graph_objects.Figure`. Nothing here imports TensorFlow or Streamlit. Accuracies, precisions, recalls and F1 scores are fractions in [0, 1] and are
drawn as percentages.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from genre_core.baselines import BASELINES
from genre_core.errors import InputError
from genre_core.evaluation import MAJORITY_VOTE, MEAN_PROBABILITY, EvaluationReport
from genre_core.figures import explicit_colour_scale
from genre_core.lesson import LessonResult
from genre_core.model_tables import BASELINE_LABELS, PER_CLASS_METRICS

#: The three levels a prediction is scored at, keyed as in `segment_vs_track_figure`.
LEVEL_LABELS = {
    "segment": "per segment",
    MEAN_PROBABILITY: "per track (mean probability)",
    MAJORITY_VOTE: "per track (majority vote)",
}
TRAIN_COLOUR, VAL_COLOUR, CHANCE_COLOUR = "#1f77b4", "#ff7f0e", "#d62728"
CONFUSION_COLOURS = explicit_colour_scale("Blues")
PERCENT_AXIS = {"tickformat": ".0%", "range": [0, 1.12]}  #: room above 100 % for bar labels


def _fraction(name: str, value: Any) -> float:
    """``value`` as a float in [0, 1]; InputError otherwise."""
    if isinstance(value, bool) or not isinstance(value, (int, float, np.number)):
        raise InputError(name, f"expected a number in [0, 1], got {value!r}")
    value = float(value)
    if not 0.0 <= value <= 1.0:
        raise InputError(name, f"expected a number in [0, 1], got {value}")
    return value


def _series(history: Mapping[str, Sequence[float]], key: str) -> np.ndarray | None:
    """One curve of ``history`` as float64 (a diverged epoch's NaN or infinity becomes NaN, drawn as a gap),
    or None when the key is absent or empty."""
    values = history.get(key)
    if values is None or len(values) == 0:
        return None
    try:
        values = np.asarray(values, dtype=np.float64)
    except (TypeError, ValueError):
        raise InputError(f"training history '{key}'", "expected a list of numbers") from None
    if values.ndim != 1:
        raise InputError(f"training history '{key}'", f"expected a list of numbers, got shape {values.shape}")
    return np.where(np.isfinite(values), values, np.nan)


def training_curves_figure(history: Mapping[str, Sequence[float]], *, title: str | None = None) -> go.Figure:
    """Loss (left) and accuracy (right) per epoch, training versus validation.

    Args:
        history: per finished epoch lists as in `genre_core.training.TrainingResult.history`: ``loss``
            (cross-entropy, nats) and ``accuracy`` (fraction of segments) for the training rows, optionally
            ``val_loss`` / ``val_accuracy`` for the validation rows. Epoch 1 is the first entry; a
            non-finite value (a diverged run) leaves a gap.
    """
    curves = {key: _series(history, key) for key in ("loss", "accuracy", "val_loss", "val_accuracy")}
    if curves["loss"] is None:
        raise InputError("training history", "has no 'loss' values (no epoch has finished yet)")
    figure = make_subplots(rows=1, cols=2, subplot_titles=("Loss", "Accuracy"), horizontal_spacing=0.1)
    for column, metric in enumerate(("loss", "accuracy"), start=1):
        for prefix, part, colour in (("", "train", TRAIN_COLOUR), ("val_", "validation", VAL_COLOUR)):
            values = curves[prefix + metric]
            if values is None:
                continue
            epochs = np.arange(1, len(values) + 1)
            figure.add_trace(
                go.Scatter(
                    x=epochs,
                    y=values,
                    mode="lines+markers",
                    name=part,
                    legendgroup=part,
                    showlegend=column == 1,
                    line={"color": colour},
                    hovertemplate=f"{part}<br>epoch %{{x}}<br>{metric} %{{y:.4f}}<extra></extra>",
                ),
                row=1,
                col=column,
            )
        figure.update_xaxes(title_text="epoch", tick0=1, dtick=max(1, len(curves["loss"]) // 10), row=1, col=column)
    figure.update_yaxes(title_text="cross-entropy loss (nats)", rangemode="tozero", row=1, col=1)
    figure.update_yaxes(title_text="accuracy (share of segments)", row=1, col=2, **PERCENT_AXIS)
    figure.update_layout(title=title, legend={"orientation": "h", "y": -0.2}, margin={"t": 60})
    return figure


def confusion_figure(
    matrix: np.ndarray, class_names: Sequence[str], *, normalised: bool, title: str | None = None,
    unit: str = "segments",
) -> go.Figure:
    """A confusion matrix as a heat map: true class on the y axis (top to bottom in class order), predicted
    class on the x axis, each cell annotated.

    Args:
        matrix: (K, K), ``matrix[t, p]`` for true class t predicted as p: counts (non-negative integers) or,
            with ``normalised``, each row divided by its sum (fractions in [0, 1], see
            `genre_core.evaluation.confusion_matrices`), shown as percentages of the true class.
        class_names: the K class names.
        unit: what the counts count ("segments", "tracks"), for the hover text.
    """
    class_names = [str(name) for name in class_names]
    size = len(class_names)
    matrix = np.asarray(matrix, dtype=np.float64)
    if size == 0 or matrix.shape != (size, size):
        raise InputError("confusion matrix", f"expected shape ({size}, {size}) for {size} classes, got {matrix.shape}")
    if not np.all(np.isfinite(matrix)) or matrix.min() < 0:
        raise InputError("confusion matrix", "values must be finite and non-negative")
    if normalised:
        if matrix.max() > 1.0 + 1e-9:
            raise InputError("confusion matrix", "normalised values must lie in [0, 1]")
        text = [[f"{value:.0%}" for value in row] for row in matrix]
        hover = "true %{y}<br>predicted %{x}<br>%{z:.1%} of the true class<extra></extra>"
        colour_bar = {"title": {"text": "share of true class"}, "tickformat": ".0%"}
        limits = {"zmin": 0.0, "zmax": 1.0}
    else:
        if not np.all(matrix == np.round(matrix)):
            raise InputError("confusion matrix", "counts must be whole numbers")
        text = [[f"{int(value)}" for value in row] for row in matrix]
        hover = "true %{y}<br>predicted %{x}<br>%{z:.0f} " + unit + "<extra></extra>"
        colour_bar = {"title": {"text": "count"}}
        limits = {"zmin": 0.0, "zmax": max(float(matrix.max()), 1.0)}
    figure = go.Figure(
        go.Heatmap(
            z=matrix,
            x=class_names,
            y=class_names,
            text=text,
            texttemplate="%{text}",
            hovertemplate=hover,
            colorscale=CONFUSION_COLOURS,
            colorbar=colour_bar,
            **limits,
        )
    )
    figure.update_xaxes(title_text="predicted class", side="bottom", type="category")
    figure.update_yaxes(title_text="true class", autorange="reversed", type="category")
    figure.update_layout(title=title, margin={"t": 60})
    return figure


def per_class_figure(per_class: Mapping[str, Mapping[str, Any]], *, title: str | None = None) -> go.Figure:
    """Precision, recall and F1 of every class as grouped bars (support in the hover text).

    Args:
        per_class: ``{class name: {"precision", "recall", "f1", "support"}}`` as in
            `genre_core.evaluation.classification_metrics` ``["per_class"]``.
    """
    if not per_class:
        raise InputError("per-class report", "has no classes")
    names = [str(name) for name in per_class]
    support = []
    for name, scores in per_class.items():
        missing = [key for key in (*PER_CLASS_METRICS, "support") if key not in scores]
        if missing:
            raise InputError("per-class report", f"class '{name}' has no {', '.join(missing)}")
        support.append(int(scores["support"]))
    figure = go.Figure()
    for metric in PER_CLASS_METRICS:
        values = [_fraction(f"{metric} of '{name}'", per_class[name][metric]) for name in per_class]
        figure.add_trace(
            go.Bar(
                x=names,
                y=values,
                name="F1" if metric == "f1" else metric,
                customdata=support,
                hovertemplate=f"%{{x}}<br>{metric} %{{y:.1%}}<br>support %{{customdata}} rows<extra></extra>",
            )
        )
    figure.update_layout(barmode="group", title=title, legend={"orientation": "h", "y": -0.2}, margin={"t": 60})
    figure.update_xaxes(title_text="class", type="category")
    figure.update_yaxes(title_text="score", **PERCENT_AXIS)
    return figure


def model_vs_baselines_figure(
    model_accuracy: float,
    baselines: Mapping[str, float],
    *,
    chance: float,
    model_name: str = "model",
    metric: str = "accuracy",
    title: str | None = None,
) -> go.Figure:
    """The model's score beside the baselines fitted on the same training rows, with the chance level.

    Args:
        model_accuracy: the model's ``metric`` on the test part, a fraction.
        baselines: scores as returned by `genre_core.baselines.baseline_scores` (keys
            ``f"{baseline}_{metric}"``); baselines without a ``metric`` entry are left out.
        chance: score of guessing uniformly at random, 1 / K for K classes (dashed line).
    """
    names = [model_name]
    values = [_fraction(f"{model_name} {metric}", model_accuracy)]
    for baseline in BASELINES:
        key = f"{baseline}_{metric}"
        if key in baselines:
            names.append(BASELINE_LABELS[baseline])
            values.append(_fraction(key, baselines[key]))
    chance = _fraction("chance level", chance)
    colours = ["#2ca02c"] + ["#7f7f7f"] * (len(names) - 1)
    figure = go.Figure(
        go.Bar(
            x=names,
            y=values,
            marker_color=colours,
            text=[f"{value:.1%}" for value in values],
            textposition="outside",
            hovertemplate=f"%{{x}}<br>{metric} %{{y:.1%}}<extra></extra>",
            showlegend=False,
        )
    )
    chance_line = {"dash": "dash", "color": CHANCE_COLOUR}
    figure.add_hline(y=chance, line=chance_line)
    # The line's label goes in the legend: written on the plot it would sit on top of a bar.
    figure.add_trace(go.Scatter(x=[None], y=[None], mode="lines", line=chance_line, name=f"chance {chance:.1%}"))
    figure.update_xaxes(title_text="classifier", type="category")
    figure.update_yaxes(title_text=f"test {metric}", **PERCENT_AXIS)
    figure.update_layout(title=title, showlegend=True, legend={"orientation": "h", "y": -0.25}, margin={"t": 60})
    return figure


def protocol_comparison_figure(
    comparison: Mapping[str, Any],
    *,
    metric: str = "accuracy",
    given_label: str = "artist-filtered folds",
    random_label: str = "random track folds",
    title: str | None = None,
) -> go.Figure:
    """Baseline scores on the given folds beside a random split of the same tracks (mean over folds, error
    bars one standard deviation): the gap is what leakage between the parts adds.

    Args:
        comparison: the result of `genre_core.baselines.compare_protocols`: ``{"given": summary, "random":
            summary, "n_folds": k}``, each summary ``{f"{baseline}_{metric}": {"mean", "std", "values"}}``.
    """
    bars = []
    for protocol, label in (("given", given_label), ("random", random_label)):
        summary = comparison.get(protocol)
        if not isinstance(summary, Mapping):
            raise InputError("protocol comparison", f"has no '{protocol}' summary")
        present = [baseline for baseline in BASELINES if f"{baseline}_{metric}" in summary]
        if not present:
            raise InputError("protocol comparison", f"the '{protocol}' summary has no {metric} scores")
        means = [_fraction(f"{protocol} {baseline}", summary[f"{baseline}_{metric}"]["mean"]) for baseline in present]
        spreads = [float(summary[f"{baseline}_{metric}"]["std"]) for baseline in present]
        bars.append(
            go.Bar(
                x=[BASELINE_LABELS[baseline] for baseline in present],
                y=means,
                error_y={"type": "data", "array": spreads, "visible": True},
                name=label,
                text=[f"{value:.1%}" for value in means],
                textposition="inside",
                insidetextanchor="start",
                hovertemplate=f"{label}<br>%{{x}}<br>mean {metric} %{{y:.1%}}<extra></extra>",
            )
        )
    folds = comparison.get("n_folds")
    figure = go.Figure(bars)
    figure.update_layout(
        barmode="group",
        title=title or (f"Mean over {folds} folds" if folds else None),
        legend={"orientation": "h", "y": -0.2},
        margin={"t": 60},
    )
    figure.update_xaxes(title_text="baseline classifier", type="category")
    figure.update_yaxes(title_text=f"test {metric}", **PERCENT_AXIS)
    return figure


def level_accuracies(report: EvaluationReport) -> dict[str, dict[str, float]]:
    """Accuracy of each part of ``report`` per segment and per track (both aggregations):
    ``{part: {"segment": a, MEAN_PROBABILITY: a, MAJORITY_VOTE: a}}``, fractions."""
    return {
        name: {
            "segment": float(part.segment_metrics["accuracy"]),
            **{method: float(part.track_metrics[method]["accuracy"]) for method in (MEAN_PROBABILITY, MAJORITY_VOTE)},
        }
        for name, part in report.parts.items()
    }


def segment_vs_track_figure(report: EvaluationReport, *, title: str | None = None) -> go.Figure:
    """Accuracy of every part of a split scored per segment and per track (mean of the segment
    probabilities, and majority vote of the segment predictions), as grouped bars."""
    if not report.parts:
        raise InputError("evaluation report", "has no parts to show")
    accuracies = level_accuracies(report)
    parts = list(accuracies)
    counts = {
        "segment": [f"{report.parts[part].rows} segments" for part in parts],
        "track": [f"{report.parts[part].tracks} tracks" for part in parts],
    }
    figure = go.Figure()
    for level, label in LEVEL_LABELS.items():
        values = [accuracies[part][level] for part in parts]
        figure.add_trace(
            go.Bar(
                x=parts,
                y=values,
                name=label,
                text=[f"{value:.0%}" for value in values],
                textposition="outside",
                customdata=counts["segment" if level == "segment" else "track"],
                hovertemplate=f"{label}<br>%{{x}}: %{{y:.1%}} of %{{customdata}}<extra></extra>",
            )
        )
    figure.update_layout(barmode="group", title=title, legend={"orientation": "h", "y": -0.2}, margin={"t": 60})
    figure.update_xaxes(title_text="part of the split", type="category")
    figure.update_yaxes(title_text="accuracy", **PERCENT_AXIS)
    return figure


def lesson_figure(result: LessonResult) -> go.Figure:
    """Track accuracy of the from-scratch and the transfer side of the lesson: one bar each (mean over folds,
    error bar = std over folds), each fold's value as a dot, and the median training time per fold in the label."""
    figure = go.Figure()
    for side, label in ((result.scratch, "from scratch"), (result.transfer, "transfer")):
        name = f"{side.preset}<br>({label}, {np.median(side.train_seconds):.0f} s per fold)"
        figure.add_bar(x=[name], y=[side.mean_accuracy], error_y={"type": "data", "array": [side.std_accuracy]},
                       name=label, text=[f"{side.mean_accuracy:.0%}"], textposition="inside",
                       hovertemplate=f"{label}: %{{y:.1%}} mean track accuracy<extra></extra>")
        figure.add_scatter(x=[name] * len(side.track_accuracy), y=side.track_accuracy, mode="markers",
                           marker={"color": "black", "size": 7}, name=f"{label}: each fold", showlegend=False,
                           hovertemplate="one fold: %{y:.0%}<extra></extra>")
    figure.update_layout(
        title=f"Track accuracy, {result.folds}-fold grouped cross-validation on {result.tracks} tracks",
        yaxis={"tickformat": ".0%", "range": [0, 1.05], "title": "test tracks right"}, showlegend=False,
    )
    return figure

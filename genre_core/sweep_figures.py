"""Plotly figures and tables of sweeps: the results table, mean ± std bars, overlaid validation curves, and two
sweeps compared. Pure functions from `genre_core.sweep_results` records; no TensorFlow, no Streamlit. Scores are
fractions in [0, 1], drawn as percentages; times in seconds.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from genre_core.errors import InputError
from genre_core.sweep_results import METRIC_NAMES, METRICS, PointResult, SweepComparison, SweepResult
from genre_core.sweep_spec import value_text

CURVE_KEYS = ("val_loss", "loss", "val_accuracy", "accuracy")  #: history keys `curves_figure` can draw
CURVE_NAMES = {"val_loss": "validation loss", "loss": "training loss", "val_accuracy": "validation accuracy",
               "accuracy": "training accuracy"}


def _check_metric(metric: str) -> str:
    if metric not in METRICS:
        raise InputError("metric", f"unknown '{metric}'; known: {', '.join(METRICS)}")
    return metric


def results_table(result: SweepResult) -> pd.DataFrame:
    """One row per point: its settings (one column each), folds finished, mean and std of every score (percent)
    and wall time (s)."""
    rows = []
    for point in result.points:
        row: dict[str, object] = {name: value_text(value) for name, value in point.settings}
        row["folds"] = f"{len(point.runs)}/{result.spec.folds}"
        for metric in METRICS:
            score = None if point.scores is None else point.scores[metric]
            row[f"{METRIC_NAMES[metric]} mean (%)"] = None if score is None else round(100 * score.mean, 1)
            row[f"{METRIC_NAMES[metric]} std (%)"] = None if score is None else round(100 * score.std, 1)
        row["epochs (mean)"] = None if not point.runs else round(float(np.mean([r.epochs_run for r in point.runs])), 1)
        row["wall time (s)"] = round(point.wall_seconds, 1)
        rows.append(row)
    return pd.DataFrame(rows)


def _bar_label(point: PointResult, folds: int) -> str:
    return "" if point.complete(folds) else f"{len(point.runs)}/{folds} folds"


def sweep_bars_figure(result: SweepResult, metric: str = "accuracy") -> go.Figure:
    """Mean test ``metric`` (percent) per point with ± std error bars. One setting: one bar per value; two: the
    first setting on the x axis and one bar colour per value of the second. Unfinished points are pale and
    labelled with their folds done."""
    metric = _check_metric(metric)
    axes = result.spec.axes
    figure = go.Figure()
    groups = [None] if len(axes) == 1 else list(axes[1].values)
    for group in groups:
        members = [point for point in result.points if group is None or point.settings[1][1] == group]
        scored = [point for point in members if point.scores is not None]
        figure.add_trace(go.Bar(
            x=[value_text(point.settings[0][1]) for point in scored],
            y=[100 * point.scores[metric].mean for point in scored],
            error_y={"type": "data", "array": [100 * point.scores[metric].std for point in scored]},
            text=[_bar_label(point, result.spec.folds) for point in scored],
            marker={"opacity": [1.0 if point.complete(result.spec.folds) else 0.45 for point in scored]},
            name=axes[0].name if group is None else f"{axes[1].name}={value_text(group)}",
            hovertemplate="%{x}: %{y:.1f} ± %{error_y.array:.1f} %<extra>%{fullData.name}</extra>",
        ))
    figure.update_layout(
        barmode="group", title=f"Test {METRIC_NAMES[metric]} over {result.spec.folds} folds (mean ± std)",
        xaxis_title=axes[0].name, yaxis_title=f"{METRIC_NAMES[metric]} (%)", yaxis_range=[0, 105],
        showlegend=len(axes) > 1, legend_title_text=axes[1].name if len(axes) > 1 else None,
    )
    return figure


def mean_curve(histories: list[list[float]]) -> np.ndarray:
    """Per epoch, the mean over the folds that reached it (early stopping ends folds at different epochs):
    (longest history,) float64."""
    length = max((len(values) for values in histories), default=0)
    return np.array([np.mean([values[epoch] for values in histories if len(values) > epoch])
                     for epoch in range(length)], dtype=np.float64)


def curves_figure(result: SweepResult, key: str = "val_loss") -> go.Figure:
    """The ``key`` curve (`CURVE_KEYS`) of every point, mean over its finished folds per epoch, overlaid; the
    folds themselves as thin lines of the same colour. Points without that curve (no validation part) are
    left out and the title says so."""
    if key not in CURVE_KEYS:
        raise InputError("curve", f"unknown '{key}'; known: {', '.join(CURVE_KEYS)}")
    figure = go.Figure()
    colours = figure.layout.template.layout.colorway or None
    missing = 0
    scale = 100.0 if key.endswith("accuracy") else 1.0
    for number, point in enumerate(result.points):
        histories = [run.history[key] for run in point.runs if run.history.get(key)]
        if not histories:
            missing += 1
            continue
        colour = None if not colours else colours[number % len(colours)]
        for run_number, values in enumerate(histories):
            figure.add_trace(go.Scatter(
                x=np.arange(1, len(values) + 1), y=scale * np.asarray(values), mode="lines",
                line={"width": 1, "color": colour}, opacity=0.3, legendgroup=point.label, showlegend=False,
                name=f"{point.label}, fold {point.runs[run_number].fold}", hoverinfo="name+y"))
        curve = mean_curve(histories)
        figure.add_trace(go.Scatter(x=np.arange(1, len(curve) + 1), y=scale * curve, mode="lines+markers",
                                    line={"width": 3, "color": colour}, legendgroup=point.label, name=point.label))
    title = f"{CURVE_NAMES[key].capitalize()} per epoch (thick: mean over folds; thin: each fold)"
    if missing:
        title += f"; {missing} setting(s) without it"
    unit = " (%)" if scale == 100.0 else ""
    figure.update_layout(title=title, xaxis_title="epoch", yaxis_title=CURVE_NAMES[key] + unit)
    return figure


def comparison_table(comparison: SweepComparison, names: tuple[str, str]) -> pd.DataFrame:
    """One row per setting label: each sweep's mean ± std (percent), the difference (points) and the p-value."""
    def cell(score: object) -> str | None:
        return None if score is None else f"{100 * score.mean:.1f} ± {100 * score.std:.1f}"

    return pd.DataFrame([{
        "setting": row.label, f"{names[0]} (%)": cell(row.first), f"{names[1]} (%)": cell(row.second),
        "difference (points)": None if row.difference is None else round(100 * row.difference, 1),
        "p-value": None if row.p_value is None else round(row.p_value, 3),
    } for row in comparison.rows])


def comparison_figure(comparison: SweepComparison, names: tuple[str, str]) -> go.Figure:
    """The two sweeps' mean test score (percent, ± std) side by side for every setting label."""
    figure = go.Figure()
    for name, side in zip(names, ("first", "second")):
        rows = [row for row in comparison.rows if getattr(row, side) is not None]
        figure.add_trace(go.Bar(
            x=[row.label for row in rows], y=[100 * getattr(row, side).mean for row in rows],
            error_y={"type": "data", "array": [100 * getattr(row, side).std for row in rows]}, name=name))
    metric = METRIC_NAMES[comparison.metric]
    figure.update_layout(barmode="group", title=f"Test {metric}: two sweeps ({comparison.test})",
                         yaxis_title=f"{metric} (%)", yaxis_range=[0, 105], xaxis_title="setting")
    return figure

"""Plotly figures that put the runs of a walkthrough side by side: test accuracy per run (per window and per
track) and one training curve of several runs overlaid.

Pure functions from plain values to `plotly.graph_objects.Figure`; nothing here imports TensorFlow or Streamlit.
Accuracies are fractions in [0, 1], drawn as percentages.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import plotly.graph_objects as go

from genre_core.errors import InputError
from genre_core.model_figures import PERCENT_AXIS

CURVE_LABELS = {
    "loss": "training loss (cross-entropy, nats)",
    "val_loss": "validation loss (cross-entropy, nats)",
    "accuracy": "training accuracy (share of windows)",
    "val_accuracy": "validation accuracy (share of windows)",
}


def accuracy_bars_figure(
    runs: Sequence[str],
    window_accuracy: Sequence[float],
    track_accuracy: Sequence[float],
    *,
    title: str | None = None,
) -> go.Figure:
    """Test accuracy of each run per window and per track (mean probability over the track's windows) as grouped
    bars, one group per run in the order given.

    Args:
        runs: the name of each run (an x-axis category).
        window_accuracy, track_accuracy: one fraction in [0, 1] per run.
    """
    if not runs or not len(runs) == len(window_accuracy) == len(track_accuracy):
        raise InputError("accuracy bars", f"need one window and one track accuracy per run, got {len(runs)} runs, "
                         f"{len(window_accuracy)} and {len(track_accuracy)} accuracies")
    figure = go.Figure()
    for level, values in (("per window", window_accuracy), ("per track", track_accuracy)):
        values = [float(value) for value in values]
        if not all(0.0 <= value <= 1.0 for value in values):
            raise InputError(f"accuracy {level}", f"must be fractions in [0, 1], got {values}")
        figure.add_bar(x=list(runs), y=values, name=level, text=[f"{value:.1%}" for value in values],
                       textposition="outside", hovertemplate=f"%{{x}}<br>test accuracy {level} %{{y:.1%}}<extra></extra>")
    figure.update_layout(barmode="group", title=title, legend={"orientation": "h", "y": -0.2}, margin={"t": 60})
    figure.update_xaxes(type="category")
    figure.update_yaxes(title_text="test accuracy", **PERCENT_AXIS)
    return figure


def curves_overlay_figure(
    histories: Mapping[str, Mapping[str, Sequence[float]]], key: str, *, title: str | None = None
) -> go.Figure:
    """One training curve (``key``: ``loss``, ``val_loss``, ``accuracy`` or ``val_accuracy``) of several runs per
    epoch, one line per run (``histories``: run name -> its `TrainingResult.history`)."""
    if key not in CURVE_LABELS:
        raise InputError(f"curve '{key}'", f"unknown; known: {', '.join(CURVE_LABELS)}")
    if not histories:
        raise InputError("curves overlay", "no runs given")
    figure = go.Figure()
    for run, history in histories.items():
        if key not in history:
            raise InputError(f"run '{run}'", f"has no '{key}' curve")
        values = np.asarray(history[key], dtype=np.float64)
        figure.add_scatter(x=np.arange(1, len(values) + 1), y=values, mode="lines+markers", name=run,
                           hovertemplate=f"{run}<br>epoch %{{x}}<br>{key} %{{y:.4f}}<extra></extra>")
    figure.update_xaxes(title_text="epoch", tick0=1)
    axis = PERCENT_AXIS if "accuracy" in key else {"rangemode": "tozero"}
    figure.update_yaxes(title_text=CURVE_LABELS[key], **axis)
    figure.update_layout(title=title, legend={"orientation": "h", "y": -0.2}, margin={"t": 60})
    return figure

"""pages/widgets.py's shared figures: `cached_figure` builds a figure once per function and arguments and builds
it again when any argument (numbers, text, arrays, dataclasses) or the function changes."""

from __future__ import annotations

import dataclasses

import numpy as np
import plotly.graph_objects as go
from helpers import plotly_array

from genre_core import model_figures
from genre_core.config import LOG_1P_10000, FeatureConfig
from genre_core.explain import explanation_figures
from pages import widgets


def test_a_figure_is_built_once_per_function_and_arguments() -> None:
    built: list[tuple[float, ...]] = []

    def bars(values: tuple[float, ...], *, title: str) -> go.Figure:
        built.append(values)
        return go.Figure(go.Bar(y=list(values)), layout={"title": title})

    first = widgets.cached_figure(bars, (1.0, 2.0), title="a")
    assert widgets.cached_figure(bars, (1.0, 2.0), title="a") is first
    assert list(widgets.cached_figure(bars, (1.0, 3.0), title="a").data[0].y) == [1.0, 3.0]
    assert widgets.cached_figure(bars, (1.0, 2.0), title="b").layout.title.text == "b"
    assert built == [(1.0, 2.0), (1.0, 3.0), (1.0, 2.0)]


def test_new_array_values_or_settings_give_a_new_figure() -> None:
    config = FeatureConfig()
    log_mel = np.linspace(-80.0, 0.0, config.n_mels * config.frames_per_segment).reshape(config.n_mels, -1)
    first = widgets.cached_figure(explanation_figures.spectrogram_view, log_mel, config, thumbnail=True)
    changed = log_mel.copy()
    changed[0, 0] = -40.0
    again = widgets.cached_figure(explanation_figures.spectrogram_view, changed, config, thumbnail=True)
    assert plotly_array(again.data[0].to_plotly_json()["z"])[0, 0] == -40.0
    assert plotly_array(first.data[0].to_plotly_json()["z"])[0, 0] == -80.0
    musicnn_scale = dataclasses.replace(config, log_scale=LOG_1P_10000)
    other = widgets.cached_figure(explanation_figures.spectrogram_view, log_mel, musicnn_scale, thumbnail=True)
    assert "log10(1+10⁴·mel)" in other.data[0].hovertemplate and "log10" not in first.data[0].hovertemplate


def test_the_function_is_part_of_the_identity() -> None:
    matrix = np.array([[3, 1], [0, 4]])
    counts = widgets.cached_figure(model_figures.confusion_figure, matrix, ["a", "b"], normalised=False)
    assert widgets.cached_figure(model_figures.per_class_figure, {"a": {"precision": 1.0, "recall": 1.0, "f1": 1.0,
                                                                       "support": 3}}) is not counts
    assert counts.data[0].type == "heatmap"

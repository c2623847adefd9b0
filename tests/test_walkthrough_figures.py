"""Side-by-side figures of walkthrough runs: accuracy bars per run and level, one curve of several runs overlaid,
and one-line errors for values they cannot draw."""

from __future__ import annotations

import numpy as np
import pytest

from genre_core.errors import InputError
from genre_core.walkthrough_figures import accuracy_bars_figure, curves_overlay_figure


def test_accuracy_bars_group_each_run_by_level_as_percentages() -> None:
    figure = accuracy_bars_figure(["cnn_small", "cnn_timefreq"], [0.5, 0.625], [0.75, 1.0], title="test")
    assert [bar.name for bar in figure.data] == ["per window", "per track"]
    assert list(figure.data[0].x) == ["cnn_small", "cnn_timefreq"] and list(figure.data[1].y) == [0.75, 1.0]
    assert list(figure.data[0].text) == ["50.0%", "62.5%"] and figure.layout.yaxis.tickformat == ".0%"
    with pytest.raises(InputError, match="accuracy bars: need one window and one track accuracy per run"):
        accuracy_bars_figure(["a", "b"], [0.5], [0.5, 0.6])
    with pytest.raises(InputError, match=r"accuracy per track: must be fractions in \[0, 1\]"):
        accuracy_bars_figure(["a"], [0.5], [50.0])


def test_curves_overlay_draws_one_line_per_run_from_epoch_one() -> None:
    histories = {"a": {"val_loss": [1.0, 0.5, 0.4]}, "b": {"val_loss": [1.2, 0.9]}}
    figure = curves_overlay_figure(histories, "val_loss")
    assert [line.name for line in figure.data] == ["a", "b"]
    assert list(figure.data[0].x) == [1, 2, 3] and np.allclose(figure.data[1].y, [1.2, 0.9])
    assert figure.layout.yaxis.title.text == "validation loss (cross-entropy, nats)"
    assert curves_overlay_figure({"a": {"val_accuracy": [0.5]}}, "val_accuracy").layout.yaxis.tickformat == ".0%"
    with pytest.raises(InputError, match="curve 'f1': unknown"):
        curves_overlay_figure(histories, "f1")
    with pytest.raises(InputError, match="run 'b': has no 'loss' curve"):
        curves_overlay_figure({"a": {"loss": [1.0]}, "b": {"val_loss": [1.0]}}, "loss")

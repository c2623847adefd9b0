"""Sweep figures and tables: the results table, bars with error bars (one and two settings), curves as the mean
over folds, and two sweeps compared."""

from __future__ import annotations

import numpy as np
import pytest

from genre_core.config import FeatureConfig
from genre_core.errors import InputError
from genre_core.sweep_figures import (
    comparison_figure,
    comparison_table,
    curves_figure,
    mean_curve,
    results_table,
    sweep_bars_figure,
)
from genre_core.sweep_results import FoldRun, SweepResult, compare_sweeps, point_result
from genre_core.sweep_spec import SweepSpec, make_axis
from genre_core.train_job import DatasetSource

SOURCE = DatasetSource("demo", FeatureConfig())


def sweep_of(axes: tuple, folds_done: list[int], losses: list[list[float]] | None = None) -> SweepResult:
    spec = SweepSpec(SOURCE, {"preset": "ffn_mfcc"}, axes, folds=2)
    points = []
    for point, done in zip(spec.points(), folds_done):
        runs = [FoldRun(point.index, point.key, fold, 0.5 + 0.1 * point.index + 0.02 * fold, 0.4, 0.6, 0.5, 2, False,
                        1.0, 2.0, 4, {"val_loss": (losses or [[1.0, 0.5], [0.8]])[fold - 1]})
                for fold in range(1, done + 1)]
        points.append(point_result(point, runs))
    return SweepResult(spec, tuple(points), "demo", ("a", "b"), 8, ())


LR = make_axis("learning_rate", (0.1, 0.01), "ffn_mfcc")
BATCH = make_axis("batch_size", (32, 64), "ffn_mfcc")


def test_the_table_has_a_row_per_point_in_percent() -> None:
    table = results_table(sweep_of((LR,), [2, 1]))
    assert list(table["learning_rate"]) == ["0.1", "0.01"] and list(table["folds"]) == ["2/2", "1/2"]
    assert table["accuracy mean (%)"].tolist() == pytest.approx([53.0, 62.0])
    assert table["accuracy std (%)"][0] == pytest.approx(1.4, abs=0.05) and table["wall time (s)"][0] == 4.0


def test_bars_carry_error_bars_and_mark_unfinished_points() -> None:
    figure = sweep_bars_figure(sweep_of((LR,), [2, 1]))
    (bars,) = figure.data
    assert list(bars.x) == ["0.1", "0.01"] and list(bars.y) == pytest.approx([53.0, 62.0])
    assert bars.error_y.array[0] == pytest.approx(1.414, abs=0.01) and list(bars.text) == ["", "1/2 folds"]
    grouped = sweep_bars_figure(sweep_of((LR, BATCH), [2, 2, 2, 0]), "macro_f1")
    assert [trace.name for trace in grouped.data] == ["batch_size=32", "batch_size=64"]
    assert list(grouped.data[1].x) == ["0.1"]  # the point without runs has no bar
    with pytest.raises(InputError, match="unknown 'loss'"):
        sweep_bars_figure(sweep_of((LR,), [2, 2]), "loss")


def test_curves_are_the_mean_over_the_folds_that_reached_each_epoch() -> None:
    assert mean_curve([[1.0, 0.5], [0.8]]).tolist() == pytest.approx([0.9, 0.5])
    figure = curves_figure(sweep_of((LR,), [2, 2]))
    means = [trace for trace in figure.data if trace.showlegend is not False]
    assert [trace.name for trace in means] == ["learning_rate=0.1", "learning_rate=0.01"]
    assert np.asarray(means[0].y).tolist() == pytest.approx([0.9, 0.5])
    assert "2 setting(s) without it" in curves_figure(sweep_of((LR,), [2, 2]), "accuracy").layout.title.text


def test_two_sweeps_side_by_side() -> None:
    comparison = compare_sweeps(sweep_of((LR,), [2, 2]), sweep_of((LR,), [2, 1]))
    table = comparison_table(comparison, ("A", "B"))
    assert list(table["setting"]) == ["learning_rate=0.1", "learning_rate=0.01"]
    assert table["A (%)"][0] == "53.0 ± 1.4" and table["B (%)"].isna().tolist() == [False, True]
    figure = comparison_figure(comparison, ("A", "B"))
    assert [trace.name for trace in figure.data] == ["A", "B"] and len(figure.data[1].x) == 1

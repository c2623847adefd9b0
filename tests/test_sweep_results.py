"""Sweep results: mean ± std per point, the best setting and the paired-test noise rule, two sweeps compared, and
the records' JSON round trips."""

from __future__ import annotations

import pytest

from genre_core.config import FeatureConfig
from genre_core.sweep_results import (
    FoldRun,
    SweepResult,
    best_setting,
    compare_sweeps,
    paired_p_value,
    point_result,
    welch_p_value,
)
from genre_core.sweep_spec import SweepSpec, make_axis
from genre_core.train_job import DatasetSource

SPEC = SweepSpec(DatasetSource("demo", FeatureConfig()), {"preset": "ffn_mfcc"},
                 (make_axis("learning_rate", (0.1, 0.01, 0.001), "ffn_mfcc"),), folds=4)


def run(point: int, fold: int, accuracy: float, spec: SweepSpec = SPEC) -> FoldRun:
    return FoldRun(point=point, point_key=spec.points()[point].key, fold=fold, accuracy=accuracy, macro_f1=accuracy,
                   track_accuracy=accuracy, val_accuracy=None, epochs_run=2, stopped_early=False, train_seconds=1.0,
                   wall_seconds=1.5, test_tracks=5, history={"loss": [1.0, 0.5], "val_loss": [1.1, 0.9]})


def result(scores: dict[int, list[float]], spec: SweepSpec = SPEC) -> SweepResult:
    points = tuple(point_result(point, [run(point.index, fold, value, spec)
                                        for fold, value in enumerate(scores.get(point.index, []), start=1)])
                   for point in spec.points())
    return SweepResult(spec, points, "demo", ("a", "b"), 20, ())


def test_points_summarise_their_folds() -> None:
    sweep = result({0: [0.5, 0.7, 0.6, 0.6], 1: [0.4]})
    first, second, third = sweep.points
    assert first.scores["accuracy"].mean == pytest.approx(0.6)
    assert first.scores["accuracy"].std == pytest.approx(0.0816497, rel=1e-5)  # sample std
    assert first.wall_seconds == 6.0 and first.complete(4) and not second.complete(4)
    assert second.scores["accuracy"].std == 0.0 and third.scores is None
    assert (sweep.runs_done, sweep.runs_total, sweep.complete) == (5, 12, False)
    assert SweepResult.from_dict(sweep.to_dict()) == sweep


def test_a_consistent_lead_is_beyond_noise_and_an_erratic_one_is_not() -> None:
    sweep = result({0: [0.80, 0.75, 0.90, 0.85], 1: [0.70, 0.66, 0.79, 0.74], 2: [0.90, 0.40, 0.95, 0.72]})
    best = sweep.best()
    assert best.label == "learning_rate=0.1" and best.score.mean == pytest.approx(0.825)
    by_label = {other.label: other for other in best.others}
    assert not by_label["learning_rate=0.01"].within_noise and by_label["learning_rate=0.01"].p_value < 0.05
    assert by_label["learning_rate=0.001"].within_noise and by_label["learning_rate=0.001"].p_value > 0.05
    assert "within noise for 1 of 2" in best.summary and "learning_rate=0.001" in best.summary
    assert "paired t-test" in best.rule
    clear = result({0: [0.80, 0.75, 0.90, 0.85], 1: [0.70, 0.66, 0.79, 0.74]})
    assert "ahead of every other setting beyond noise" in clear.best().summary  # point 2 unfinished: left out
    assert best_setting(list(result({0: [0.8] * 4}).points), 4) is None


def test_the_test_is_defined_where_scipy_is_not() -> None:
    assert paired_p_value((0.5, 0.6), (0.5, 0.6)) == 1.0
    assert paired_p_value((0.6, 0.7), (0.5, 0.6)) == 0.0
    assert paired_p_value((0.6,), (0.5,)) is None
    assert welch_p_value((0.5, 0.5), (0.5, 0.5)) == 1.0 and welch_p_value((0.5,), (0.4, 0.6)) is None


def test_two_sweeps_compare_by_setting_paired_only_on_the_same_folds() -> None:
    other_spec = SweepSpec(SPEC.dataset, {"preset": "ffn_mfcc", "epochs": 5},
                           (make_axis("learning_rate", (0.01, 0.5), "ffn_mfcc"),), folds=4)
    first = result({0: [0.8, 0.7, 0.9, 0.8], 1: [0.6, 0.5, 0.7, 0.6]})
    second = result({0: [0.7, 0.6, 0.8, 0.7], 1: [0.7, 0.7, 0.8, 0.7]}, other_spec)
    comparison = compare_sweeps(first, second)
    assert comparison.paired and [row.label for row in comparison.rows] == [
        "learning_rate=0.1", "learning_rate=0.01", "learning_rate=0.001", "learning_rate=0.5"]
    shared = comparison.rows[1]
    assert shared.difference == pytest.approx(0.1) and shared.p_value == 0.0
    assert comparison.rows[0].second is None and comparison.rows[0].p_value is None
    reseeded = SweepSpec(other_spec.dataset, other_spec.base_config, other_spec.axes, folds=4, seed=1)
    unpaired = compare_sweeps(first, result({0: [0.7, 0.7, 0.8, 0.7]}, reseeded))
    assert not unpaired.paired and "Welch" in unpaired.test

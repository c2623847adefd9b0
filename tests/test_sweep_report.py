"""Tests of `genre_core.sweep_report`: a sweep result (built from fold runs, no training) as a report document."""

from __future__ import annotations

import dataclasses

from genre_core.report_document import FigureBlock, TableBlock, render_html
from genre_core.sweep_report import sweep_document
from genre_core.sweep_results import FoldRun, SweepResult, point_result
from genre_core.sweep_spec import SweepSpec, parse_vary
from genre_core.train_job import DatasetSource

SPEC = SweepSpec(dataset=DatasetSource("demo"), base_config={"preset": "ffn_mfcc", "epochs": 2},
                 axes=(parse_vary("batch_size=32,64", "ffn_mfcc"),), folds=2, seed=0)


def _run(point: int, fold: int, accuracy: float) -> FoldRun:
    history = {"loss": [1.0, 0.8], "accuracy": [0.5, 0.6], "val_loss": [1.1, 0.9], "val_accuracy": [0.4, 0.5]}
    return FoldRun(point=point, point_key=f"p{point}", fold=fold, accuracy=accuracy, macro_f1=accuracy - 0.05,
                   track_accuracy=accuracy + 0.05, val_accuracy=0.5, epochs_run=2, stopped_early=False,
                   train_seconds=1.5, wall_seconds=2.0, test_tracks=20, history=history)


def _result() -> SweepResult:
    points = SPEC.points()
    runs = {0: [_run(0, 0, 0.60), _run(0, 1, 0.70)], 1: [_run(1, 0, 0.62)]}  # the second point is unfinished
    return SweepResult(spec=SPEC, points=tuple(point_result(point, runs[point.index]) for point in points),
                       dataset_source="demo (synthetic)", class_names=("a", "b"), tracks=40,
                       warnings=("synthetic data: scores on generated audio say nothing about real music",),
                       group_by="artist")


def test_a_sweep_report_names_what_was_swept_and_holds_table_bars_and_curves():
    result = _result()
    document = sweep_document(result)
    assert document.title == "GenreLens sweep: ffn_mfcc, batch_size" and document.warnings == result.warnings
    summary = document.sections[0]
    facts = summary.blocks[0].text
    assert "2 settings" in facts and "3 of 4 runs" in facts
    assert "2-fold cross-validation grouped by artist (seed 0)" in facts
    assert "(40 tracks)" in facts and "6 s of training" in facts
    assert "2-fold cross-validation grouped by track" in sweep_document(
        dataclasses.replace(result, group_by="track")).sections[0].blocks[0].text
    table = next(block for block in summary.blocks if isinstance(block, TableBlock)).table
    assert len(table) == 2 and list(table["folds"]) == ["2/2", "1/2"]
    names = [block.name for block in document.figures()]
    assert names == ["sweep_accuracy", "sweep_curves_val_loss", "sweep_curves_val_accuracy"]
    bars = next(block for block in document.figures() if isinstance(block, FigureBlock)).figure
    assert len(bars.data) >= 1
    page = render_html(document)
    assert "Results per setting" in page and 'id="figure-sweep_curves_val_loss"' in page

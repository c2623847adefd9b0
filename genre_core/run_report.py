"""The report of one run: a bundle's evaluation (`reports.BundleEvaluation`) as a `report_document.ReportDocument`,
with what the Evaluate page shows: scores per part, baselines, confusion matrices per segment and per track
(counts and shares), per-class precision/recall/F1 with macro and weighted averages, segment- against
track-level accuracy, and the training curves when the bundle kept them.

Pure: no TensorFlow, no Streamlit. `genre_core.report_document` renders it (HTML, PNGs).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import pandas as pd

from genre_core import model_figures, model_tables
from genre_core.evaluation import MEAN_PROBABILITY
from genre_core.report_document import Block, FigureBlock, ReportDocument, Section, TableBlock, TextBlock
from genre_core.reports import BundleEvaluation
from genre_core.score_views import CONFUSION_LEVELS, SEGMENT, confusion_view, per_class_with_averages

PER_CLASS_FRACTIONS = ("precision", "recall", "f1")


def _headed(table: pd.DataFrame) -> pd.DataFrame:
    """``table`` with the human headers of `model_tables.COLUMN_HEADERS`."""
    return table.rename(columns=model_tables.COLUMN_HEADERS)


def _fractions(table: pd.DataFrame, columns: Sequence[str]) -> tuple[str, ...]:
    """The headers (after `_headed`) of ``columns`` present in ``table``."""
    return tuple(model_tables.COLUMN_HEADERS.get(column, column) for column in columns if column in table.columns)


def _summary(evaluation: BundleEvaluation) -> Section:
    split = evaluation.split
    lines = [f"Model {evaluation.model}, scored on {evaluation.dataset}. Split protocol: {split.protocol}"
             f"{'' if split.seed is None else f' (seed {split.seed})'}; "
             + ", ".join(f"{part} {split.tracks[part]} tracks / {split.rows[part]} segments" for part in split.rows)
             + "."]
    if evaluation.test is not None:
        lines.append(f"Test: accuracy {evaluation.test.accuracy:.1%} per segment, {evaluation.test.track_accuracy:.1%}"
                     f" per track (mean probability), macro F1 {evaluation.test.macro_f1:.3f}.")
    metrics = model_tables.metrics_table(evaluation.report)
    blocks: list[Block] = [
        TextBlock("\n\n".join(lines)),
        TableBlock("Scores per part of the split", _headed(metrics),
                   _fractions(metrics, model_tables.FRACTION_COLUMNS)),
    ]
    if evaluation.baselines and "test" in evaluation.report.parts:
        baselines = model_tables.baselines_table(evaluation.model,
                                                  evaluation.report.parts["test"].segment_metrics, evaluation.baselines)
        blocks.append(TableBlock("Test scores against simple baselines (per segment)", _headed(baselines),
                                 _fractions(baselines, ("accuracy", "macro_f1"))))
    blocks.append(FigureBlock("segment_vs_track", model_figures.segment_vs_track_figure(
        evaluation.report, title="Accuracy per segment and per track")))
    return Section("Summary", tuple(blocks))


def _part_section(evaluation: BundleEvaluation, part_name: str) -> Section:
    """Confusion matrices (per segment and per track by mean probability, counts and shares) and per-class
    scores of one part."""
    part = evaluation.report.parts[part_name]
    class_names = evaluation.report.class_names
    blocks: list[Block] = []
    for level in (SEGMENT, MEAN_PROBABILITY):  # the track view the headline uses
        view = confusion_view(part, level)
        for normalised in (False, True):
            matrix = view.normalised if normalised else view.counts
            kind = "share of each true class" if normalised else view.unit
            blocks.append(FigureBlock(
                f"confusion_{part_name}_{level}_{'share' if normalised else 'counts'}",
                model_figures.confusion_figure(matrix, class_names, normalised=normalised, unit=view.unit,
                                               title=f"Confusion matrix {CONFUSION_LEVELS[level]}, {part_name} ({kind})"),
            ))
    for level_name, metrics in (("per segment", part.segment_metrics),
                                ("per track (mean probability)", part.track_metrics[MEAN_PROBABILITY])):
        table = per_class_with_averages(metrics)
        blocks.append(TableBlock(f"Per-class scores {level_name}, {part_name}", _headed(table),
                                 _fractions(table, PER_CLASS_FRACTIONS)))
    blocks.append(FigureBlock(f"per_class_{part_name}", model_figures.per_class_figure(
        part.segment_metrics["per_class"], title=f"Per-class scores per segment, {part_name}")))
    return Section(f"{part_name.capitalize()} part: {part.tracks} tracks, {part.rows} segments", tuple(blocks))


def evaluation_document(
    evaluation: BundleEvaluation, *, history: Mapping[str, Sequence[float]] | None = None,
    extra_sections: Sequence[Section] = (),
) -> ReportDocument:
    """The report of a scored bundle: summary, one section per part (test first), the training curves when
    ``history`` (the bundle's per-epoch curves) has any, then ``extra_sections`` (e.g. a Grad-CAM gallery)."""
    parts = sorted(evaluation.report.parts, key=lambda name: (name != "test", name))
    sections = [_summary(evaluation), *(_part_section(evaluation, part) for part in parts)]
    if history and any(len(values) for values in history.values()):
        sections.append(Section("Training", (
            FigureBlock("training_curves", model_figures.training_curves_figure(history, title="Loss and accuracy "
                                                                                 "per epoch")),
        )))
    sections.extend(extra_sections)
    return ReportDocument(
        title=f"GenreLens evaluation: {evaluation.model}",
        subtitle=f"{evaluation.dataset} · split {evaluation.split.protocol}",
        warnings=evaluation.warnings,
        sections=tuple(sections),
    )

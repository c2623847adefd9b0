"""The report of a sweep: a `sweep_results.SweepResult` as a `report_document.ReportDocument` (what was swept on
what, the best setting and whether it is within noise, the results table, the bar chart with error bars and the
overlaid validation curves), for one self-contained HTML file and PNGs. Pure: no TensorFlow, no Streamlit."""

from __future__ import annotations

from genre_core.report_document import Block, FigureBlock, ReportDocument, Section, TableBlock, TextBlock
from genre_core.sweep_figures import CURVE_KEYS, curves_figure, results_table, sweep_bars_figure
from genre_core.sweep_results import SweepResult


def sweep_document(result: SweepResult, metric: str = "accuracy") -> ReportDocument:
    """The report of ``result`` (finished or not: the runs so far, and the summary says how many)."""
    spec = result.spec
    swept = " and ".join(axis.name for axis in spec.axes)
    facts = (f"Preset {spec.preset}, {swept} swept over {len(result.points)} settings; each trained with {spec.folds}"
             f"-fold cross-validation {result.grouping} (seed {spec.seed}) on "
             f"{result.dataset_source or spec.dataset_title}"
             f"{'' if result.tracks is None else f' ({result.tracks} tracks)'}. {result.runs_done} of "
             f"{result.runs_total} runs done in {result.wall_seconds:.0f} s of training.")
    blocks: list[Block] = [TextBlock(facts)]
    best = result.best(metric)
    if best is not None:
        blocks.append(TextBlock(f"{best.summary}\n\nRule: {best.rule}"))
    blocks.append(TableBlock("Results per setting (mean and standard deviation over the folds)",
                             results_table(result), float_digits=1))
    figures = [FigureBlock(f"sweep_{metric}", sweep_bars_figure(result, metric))]
    figures += [FigureBlock(f"sweep_curves_{key}", curves_figure(result, key)) for key in CURVE_KEYS
                if key.startswith("val_")]
    return ReportDocument(
        title=f"GenreLens sweep: {spec.preset}, {swept}",
        subtitle=result.dataset_source or spec.dataset_title,
        warnings=result.warnings,
        sections=(Section("Summary", tuple(blocks)), Section("Figures", tuple(figures))),
    )

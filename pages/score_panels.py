"""Panels of the Evaluate page beyond the headline scores: the confusion matrix of a part per segment or per track
(counts or shares) whose cells list their examples and open them in Browse, the per-class scores with their macro
and weighted averages, and the run's report as one HTML file or PNGs. Thin: everything it shows is computed in
`genre_core.score_views` and `genre_core.run_report`.
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
import streamlit as st

from genre_core import bundle_info, model_figures, score_views, stamps
from genre_core.config import LOG_MEL
from genre_core.dataset import Dataset
from genre_core.explain import views
from genre_core.explain.gallery import bundle_report
from genre_core.markdown import md
from genre_core.reports import BundleEvaluation
from genre_core.splits import Split
from pages import common, report_buttons, widgets

if TYPE_CHECKING:
    from genre_core.bundles import ModelBundle

BROWSE_PAGE = "pages/browse.py"
EXAMPLES_SHOWN = 50  #: examples of a cell listed at most (the count says how many there are)


@st.cache_data(show_spinner="Predicting the part's rows…", max_entries=8)
def _part_probabilities(folder: str, stamp: str, data_key: tuple, split_key: str, part: str,
                        _bundle: ModelBundle, _dataset: Dataset, _rows: np.ndarray) -> np.ndarray:
    """(rows, K) probabilities of the part's rows under the bundle in ``folder`` (the other keys name the data)."""
    return views.dataset_probabilities(_bundle, _dataset, _rows)


def _cell_clicked(chart_key: str, key: str, class_names: tuple[str, ...]) -> None:
    """A confusion-matrix click: the clicked cell's true and predicted genre go into the cell selectboxes."""
    event = st.session_state.get(chart_key)
    cell = score_views.selected_cell(event.selection.points if event is not None else [])
    if cell is not None:
        st.session_state[f"{key}.cell_true"], st.session_state[f"{key}.cell_predicted"] = (class_names[cell[0]],
                                                                                           class_names[cell[1]])


def _open_in_browse(bundle_folder: str, bundle: ModelBundle, example: score_views.CellExample, genre: str,
                    part: str) -> None:
    """Browse opens on ``example`` (its genre and part chosen); a CNN being evaluated becomes the active CNN."""
    if bundle.feature_kind == LOG_MEL:
        common.set_active_bundle(bundle_info.CNN, bundle_folder)
    st.session_state[common.BROWSE_GENRE_KEY] = genre
    if part in views.PART_LABELS:
        st.session_state[common.BROWSE_PART_KEY] = part
    st.session_state[common.BROWSE_SELECTED_KEY] = {"row": example.row, "track_id": example.track_id}
    st.switch_page(BROWSE_PAGE)


def _show_cell_examples(folder: str, bundle: ModelBundle, dataset: Dataset, split: Split, split_key: str, part: str,
                        level: str, key: str) -> None:
    """The genre pair chosen by a click (or the two selectboxes) and the examples behind that cell."""
    names = list(dataset.class_names)
    true_column, predicted_column = st.columns(2)
    true_name = true_column.selectbox("True genre", names, index=None, key=f"{key}.cell_true",
                                      placeholder="click a cell of the matrix")
    predicted_name = predicted_column.selectbox("Predicted genre", names, index=None, key=f"{key}.cell_predicted",
                                                placeholder="click a cell of the matrix")
    if true_name is None or predicted_name is None:
        st.caption("Click a cell of the confusion matrix (or choose the two genres) to list the songs behind it.")
        return
    rows = np.asarray(getattr(split, part), dtype=np.int64)
    probabilities = _part_probabilities(folder, stamps.source_stamp(Path(folder)),
                                        common.active_dataset_key(), split_key, part,
                                        _bundle=bundle, _dataset=dataset, _rows=rows)
    examples = score_views.cell_examples(dataset, rows, probabilities, level, names.index(true_name),
                                         names.index(predicted_name))
    what = "segments" if level == score_views.SEGMENT else "tracks"
    verdict = "right" if true_name == predicted_name else "wrong"
    st.markdown(f"**{len(examples)} {what}** of *{md(true_name)}* predicted as *{md(predicted_name)}* "
                f"({verdict}), most confident first")
    if not examples:
        return
    shown = examples[:EXAMPLES_SHOWN]
    table = pd.DataFrame({"track": [example.track_id for example in shown],
                          "window": [example.segment_index + 1 for example in shown],
                          "probability": [example.probability for example in shown]})
    st.dataframe(table, hide_index=True, column_config={
        "track": "Track", "window": st.column_config.NumberColumn("Window", help="Its most telling window"),
        "probability": st.column_config.NumberColumn(f"P({predicted_name})", format="percent")})
    if len(examples) > EXAMPLES_SHOWN:
        st.caption(f"The first {EXAMPLES_SHOWN} of {len(examples)}.")
    if LOG_MEL not in dataset.features:
        st.caption("Browse needs spectrograms; this dataset has none.")
        return
    chosen_column, button_column = st.columns([3, 1], vertical_alignment="bottom")
    index = chosen_column.selectbox("Example", range(len(shown)), key=f"{key}.cell_example",
                                    format_func=lambda i: f"{shown[i].track_id}, window {shown[i].segment_index + 1}")
    note = "" if bundle.feature_kind == LOG_MEL else " (explained by the active CNN)"
    if button_column.button(f"Open in Browse{note}", key=f"{key}.open_in_browse", icon=":material/image_search:"):
        _open_in_browse(folder, bundle, shown[index], true_name, part)


def show_part_scores(folder: str, bundle: ModelBundle, evaluation: BundleEvaluation, dataset: Dataset,
                     split: Split, split_key: str, key: str, tag: str) -> None:
    """Confusion matrix (part, level, counts or shares; clickable cells) and per-class scores with averages."""
    report = evaluation.report
    parts = list(report.parts)
    part_column, level_column, toggle_column = st.columns([2, 3, 1], vertical_alignment="bottom")
    part = part_column.radio("Part of the split", parts, index=len(parts) - 1, horizontal=True, key=f"{key}.part")
    level = level_column.radio("Count", list(score_views.CONFUSION_LEVELS), horizontal=True, key=f"{key}.level",
                               format_func=score_views.CONFUSION_LEVELS.get,
                               help="A track is scored once: by the mean of its windows' probabilities, or by the "
                               "genre most of its windows vote for.")
    normalised = toggle_column.toggle("Share of each true class", key=f"{key}.normalised")
    scored = report.parts[part]
    view = score_views.confusion_view(scored, level)
    size = f"{scored.rows} segments" if level == score_views.SEGMENT else f"{scored.tracks} tracks"
    chart_key = f"{key}.confusion"
    figure = widgets.cached_figure(
        score_views.selectable_confusion_figure, view, report.class_names, normalised=normalised,
        title=f"Confusion matrix {score_views.CONFUSION_LEVELS[level]}, {part} ({size})")
    st.plotly_chart(figure, key=chart_key, selection_mode="points",
                    on_select=functools.partial(_cell_clicked, chart_key, key, tuple(report.class_names)),
                    config={"displaylogo": False, "toImageButtonOptions": {
                        "format": "png", "filename": f"confusion_{tag}_{part}_{level}", "scale": 2}})
    _show_cell_examples(folder, bundle, dataset, split, split_key, part, level, key)
    metrics = scored.segment_metrics if level == score_views.SEGMENT else scored.track_metrics[level]
    level_name = score_views.CONFUSION_LEVELS[level]
    widgets.show_figure(widgets.cached_figure(model_figures.per_class_figure, metrics["per_class"],
                                              title=f"Per-class scores {level_name}, {part}"),
                        key=f"{key}.per_class", filename=f"per_class_{tag}_{part}")
    st.caption("Precision: of the songs called this genre, the share that are. Recall: of the songs of this genre, "
               "the share found. F1 balances the two. The macro average weighs every genre alike, the weighted "
               "average by its number of examples.")
    widgets.show_score_table(score_views.per_class_with_averages(metrics), f"per_class_{tag}_{part}_{level}")


def report_downloads(evaluation: BundleEvaluation, bundle: ModelBundle, dataset: Dataset, split: Split,
                     tag: str) -> None:
    """Buttons that download the run's report as one self-contained HTML file, and its figures as PNGs (zip);
    both are made when clicked (`report_buttons.report_downloads`)."""
    report_buttons.report_downloads(
        lambda: bundle_report(evaluation, bundle, dataset, split), tag,
        "Every table and figure of this evaluation (and, for a CNN, a Grad-CAM gallery of its test part)")

"""Shared display pieces of the GenreLens pages: progress boxes, error messages, figures, tables and downloads,
one-line descriptions of a dataset or bundle. No per-user state here (that is `pages/common.py`)."""

from __future__ import annotations

import contextlib
import sys
import traceback
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ParamSpec, TypeVar

import streamlit as st

from genre_core.bundle_info import BundleInfo
from genre_core.dataset_choice import DatasetSpec, LoadedDataset
from genre_core.errors import GenreLensError
from genre_core.markdown import md

if TYPE_CHECKING:  # pandas, plotly and the score modules (sklearn) load when a page first shows scores
    import pandas as pd
    import plotly.graph_objects as go

    from genre_core.evaluation import EvaluationReport
    from genre_core.reports import BundleEvaluation

T = TypeVar("T")
P = ParamSpec("P")


def describe_dataset(spec: DatasetSpec, loaded: LoadedDataset | None) -> str:
    """One markdown line: what the dataset is and, once loaded, its classes, tracks and segments."""
    if loaded is None:
        return f"**{md(spec.title)}**, not loaded yet: the pages that need data load it, or choose one on the Data page"
    dataset = loaded.dataset
    return (
        f"**{md(spec.title)}**: {dataset.n_classes} classes ({md(', '.join(dataset.class_names))}), "
        f"{dataset.n_tracks} tracks, {len(dataset)} segments"
    )



def describe_bundle(info: BundleInfo | None) -> str:
    """One line: classes and test accuracy of a bundle (or that there is none)."""
    if info is None:
        return "no model chosen"
    accuracy = "not evaluated" if info.test_accuracy is None else f"test accuracy {info.test_accuracy:.1%}"
    return f"{info.feature_kind} model, {len(info.class_names)} classes ({md(', '.join(info.class_names))}), {accuracy}"



# ================================================================================ progress and errors ======
@dataclass
class StatusProgress:
    """The progress callback `run_with_progress` gives its task: ``progress(done, total)`` moves the bar (the
    callback shape of `genre_core`), ``progress.phase(label)`` names the pass under way, shown before the counts."""

    bar: Any  #: the `st.progress` element
    label: str = ""

    def __call__(self, done: int, total: int) -> None:
        counts = f"{done} / {total}"
        self.bar.progress(min(done / total, 1.0) if total > 0 else 1.0,
                          text=f"{self.label}: {counts}" if self.label else counts)

    def phase(self, label: str) -> None:
        self.label = label
        self.bar.progress(0.0, text=f"{label}…")


def run_with_progress(label: str, task: Callable[[StatusProgress], T]) -> T:
    """Run ``task(progress)`` inside an `st.status` box with a progress bar moved by ``progress(done, total)``
    and labelled by ``progress.phase(label)`` (`StatusProgress`); the box turns to done, or to failed before
    re-raising."""
    with st.status(label, expanded=True) as status:
        report = StatusProgress(st.progress(0.0, text="starting…"))
        try:
            result = task(report)
        except Exception:
            status.update(label=f"{label}: failed", state="error", expanded=False)
            raise
        status.update(label=f"{label}: done", state="complete", expanded=False)
    return result


def user_error(error: BaseException) -> None:
    """Show ``error`` on the page: a `GenreLensError` as its one-line message; anything else as a short
    readable message, with the traceback folded away in an expander when ``client.showErrorDetails`` is "full"
    (else printed to the server's console only)."""
    if isinstance(error, GenreLensError):
        lines = str(error).strip().splitlines()
        st.error(md(lines[0]) if lines else type(error).__name__, icon=":material/error:")
        return
    lines = str(error).strip().splitlines()
    summary = f"{type(error).__name__}: {lines[0]}" if lines else type(error).__name__
    st.error(f"Something went wrong inside GenreLens ({md(summary)}). This is not a problem with your input.",
             icon=":material/bug_report:")
    details = "".join(traceback.format_exception(error))
    if st.get_option("client.showErrorDetails") in ("full", True):  # a developer's own server
        with st.expander("Technical details"):
            st.code(details, language=None)
    else:  # a served class: the traceback goes to the server's console only
        print(details, file=sys.stderr)
        st.caption("The technical details are in the server's console.")


@contextlib.contextmanager
def errors_shown() -> Iterator[None]:
    """Run a block and show any exception it raises with `user_error` instead of breaking the page
    (Streamlit's own stop/rerun signals pass through)."""
    try:
        yield
    except Exception as error:  # the page must survive every error; user_error tells the user what happened
        user_error(error)


# ====================================================================================== figures, tables ======
HEADER_CHARACTER_PX = 8  #: px per character of a table header (Source Sans, 14 px), plus `HEADER_PADDING_PX`
HEADER_PADDING_PX = 40  #: px of a header cell besides its text (padding, sort and menu icons)


def show_score_table(table: pd.DataFrame, name: str) -> None:
    """A table of `model_tables` with human headers (`model_tables.COLUMN_HEADERS`) wide enough to be read
    whole, fractions as percentages, and a button that downloads it as ``<name>.csv`` (short column names)."""
    import pandas as pd

    from genre_core import model_tables

    config: dict[str, Any] = {}
    for column in table.columns:
        header = model_tables.COLUMN_HEADERS.get(column, column)
        width = HEADER_CHARACTER_PX * len(header) + HEADER_PADDING_PX
        if pd.api.types.is_float_dtype(table[column]) and column not in model_tables.COUNT_COLUMNS:
            config[column] = st.column_config.NumberColumn(header, format="percent", width=width)
        else:
            config[column] = st.column_config.Column(header, width=width)
    st.dataframe(table, hide_index=True, column_config=config)
    table_download(table, name)


def show_headline_scores(evaluation: BundleEvaluation, *, model_name: str, n_classes: int, key: str,
                         tag: str) -> tuple[EvaluationReport, dict[str, float]]:
    """The warnings of a `genre_core.reports.evaluate_bundle` result, its scores per part (table + CSV) and
    the test accuracy against the baselines; returns the report and the baseline scores for more views.
    ``key`` prefixes widget keys, ``tag`` names downloaded files."""
    from genre_core import model_figures, model_tables

    report, scores = evaluation.report, evaluation.baselines or {}
    for line in evaluation.warnings:
        st.warning(line, icon=":material/warning:")
    st.markdown("**Scores per part** (segment level unless the column says track)")
    show_score_table(model_tables.metrics_table(report), f"metrics_{tag}")
    if "test" in report.parts and scores:
        show_figure(
            cached_figure(model_figures.model_vs_baselines_figure, report.parts["test"].segment_metrics["accuracy"],
                          scores, chance=1 / n_classes, model_name=model_name,
                          title="Test accuracy per segment, against baselines"),
            key=f"{key}.baselines", filename=f"baselines_{tag}",
        )
    return report, scores


@st.cache_resource(show_spinner=False, max_entries=256)
def _shared_figure(name: str, args: tuple[Any, ...], kwargs: dict[str, Any], _build: Callable[..., go.Figure]
                   ) -> go.Figure:
    return _build(*args, **kwargs)


def cached_figure(build: Callable[P, go.Figure], *args: P.args, **kwargs: P.kwargs) -> go.Figure:
    """``build(*args, **kwargs)``, made once per function and arguments (hashed by Streamlit: numbers, text, arrays,
    dicts, dataclasses) and shared read-only between script runs and users: a page redraws its figures on every run,
    and building one costs 10-100 ms. ``build`` must be a pure figure function (its result depends on its
    arguments only); never change the figure returned."""
    where = getattr(getattr(build, "__code__", None), "co_filename", build.__module__)  # pages all run as __main__
    return _shared_figure(f"{where}:{build.__qualname__}", args, kwargs, _build=build)


def show_figure(figure: go.Figure, key: str, filename: str | None = None) -> None:
    """Draw a plotly figure full width; its modebar camera button downloads it as ``<filename or key>.png``."""
    config = {
        "displaylogo": False,
        "toImageButtonOptions": {"format": "png", "filename": filename or key, "scale": 2},
    }
    st.plotly_chart(figure, key=key, config=config)


def table_download(table: pd.DataFrame, name: str, label: str | None = None) -> None:
    """A button that downloads ``table`` as ``<name>.csv`` (without the index)."""
    st.download_button(
        label or f"Download {name}.csv",
        table.to_csv(index=False).encode("utf-8"),
        file_name=f"{name}.csv",
        mime="text/csv",
        key=f"csv-{name}",
        on_click="ignore",
        icon=":material/download:",
    )

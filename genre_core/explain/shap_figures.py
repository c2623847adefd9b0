"""Figures of SHAP values (`genre_core.explain.shap_values.ShapResult`): shap's force plot as HTML or PNG, and
plotly waterfall, mean |SHAP| bars per feature and per family, and beeswarm.

Array conventions as in `genre_core.explain.shap_values`; ``feature_values_raw`` is one row's unstandardised
summary features, (F,) in `genre_core.features.SUMMARY_NAMES` order. shap and matplotlib are imported inside
the functions that draw with them.
"""

from __future__ import annotations

import html
import io
from collections.abc import Sequence
from typing import Any

import numpy as np
import plotly.graph_objects as go

from genre_core.errors import InputError
from genre_core.explain.shap_values import FEATURE_FAMILIES, ShapResult, grouped_values
from genre_core.features import summary_label, summary_value_text


def _check_index(source: str, index: int, size: int) -> int:
    if not 0 <= index < size:
        raise InputError(source, f"{index} is not in [0, {size})")
    return int(index)


def _check_raw(result: ShapResult, feature_values_raw: np.ndarray) -> np.ndarray:
    """Unstandardised feature values of one row: (F,) float64."""
    values = np.asarray(feature_values_raw, dtype=np.float64)
    if values.shape != (len(result.feature_names),):
        raise InputError("feature values", f"expected shape ({len(result.feature_names)},), got {values.shape}")
    return values


def feature_labels(result: ShapResult) -> list[str]:
    """Readable names of the result's features (`genre_core.features.summary_label`: ``"MFCC 4 variance"``)."""
    return [summary_label(name) for name in result.feature_names]


def value_texts(result: ShapResult, feature_values_raw: np.ndarray) -> list[str]:
    """The row's unstandardised values as short texts with units (`genre_core.features.summary_value_text`)."""
    raw = _check_raw(result, feature_values_raw)
    return [summary_value_text(name, value) for name, value in zip(result.feature_names, raw, strict=True)]


#: Characters that could end shap's inline ``<script>`` (it writes names unescaped), and their look-alikes.
_HTML_LOOKALIKES = str.maketrans({"<": "\u2039", ">": "\u203a", "&": "\uff06"})


def _force_plot(
    result: ShapResult, row: int, class_index: int, feature_values_raw: np.ndarray, **options: Any
) -> Any:
    """shap's force plot of one row and class, labelled ``name = value`` with readable names and short values.

    Class and feature names come from users' folders and tables; shap writes them unescaped into an
    inline script, so ``<``, ``>`` and ``&`` are replaced by look-alikes.
    """
    import shap

    row = _check_index("row", row, len(result.values))
    class_index = _check_index("class index", class_index, len(result.class_names))
    labels = np.array(value_texts(result, feature_values_raw))
    return shap.plots.force(
        float(result.base_values[class_index]),
        result.values[row, :, class_index],
        features=labels,
        feature_names=[name.translate(_HTML_LOOKALIKES) for name in feature_labels(result)],
        out_names=f"{result.class_names[class_index]} ({result.unit})".translate(_HTML_LOOKALIKES),
        **options,
    )


def force_plot_html(result: ShapResult, row: int, class_index: int, feature_values_raw: np.ndarray) -> str:
    """A complete, self-contained HTML document with shap's interactive force plot of one row and class.

    The shap JavaScript bundle is inlined, so the page renders without any network access.
    ``feature_values_raw``: (F,) unstandardised values of the row, shown rounded in the labels.
    """
    return force_markup_document(force_plot_markup(result, row, class_index, feature_values_raw),
                                 f"SHAP force plot: {result.class_names[class_index]}, row {row}")


def force_markup_document(markup: str, title: str) -> str:
    """A complete HTML document (titled ``title``) showing a force plot's ``markup`` (`force_plot_markup`) with
    shap's JavaScript bundle inlined, so it renders without any network access."""
    import shap

    return (
        "<!DOCTYPE html>\n<html><head><meta charset='utf-8'>"
        f"<title>{html.escape(title)}</title>{shap.getjs()}</head>\n<body>{markup}</body></html>\n"
    )


def force_plot_markup(result: ShapResult, row: int, class_index: int, feature_values_raw: np.ndarray) -> str:
    """The markup of shap's force plot of one row and class, without shap's script (a page or report that
    shows it inlines `shap.getjs()` once, e.g. `genre_core.report_document.ShapForceBlock`)."""
    return _force_plot(result, row, class_index, feature_values_raw).html()


def _use_agg_unless_chosen() -> None:
    """Select matplotlib's Agg backend unless the program already chose one (no GUI, any thread)."""
    import matplotlib

    if matplotlib.get_backend(auto_select=False) is None:
        matplotlib.use("Agg")


def force_plot_png(
    result: ShapResult,
    row: int,
    class_index: int,
    feature_values_raw: np.ndarray,
    *,
    figsize: tuple[float, float] = (16.0, 3.0),
    dpi: int = 100,
) -> bytes:
    """shap's matplotlib force plot of one row and class as PNG bytes (figure closed afterwards)."""
    _use_agg_unless_chosen()
    import matplotlib.pyplot as plt

    figure = _force_plot(result, row, class_index, feature_values_raw, matplotlib=True, show=False, figsize=figsize)
    try:
        buffer = io.BytesIO()
        figure.savefig(buffer, format="png", dpi=dpi, bbox_inches="tight")
    finally:
        plt.close(figure)
    return buffer.getvalue()


def waterfall_figure(
    result: ShapResult, row: int, class_index: int, feature_values_raw: np.ndarray, max_display: int = 12
) -> go.Figure:
    """Plotly waterfall of one row and class: from the base value, the ``max_display - 1`` largest
    contributions (others summed in one bar) up to the row's output, largest at the top."""
    row = _check_index("row", row, len(result.values))
    class_index = _check_index("class index", class_index, len(result.class_names))
    values = value_texts(result, feature_values_raw)
    names = feature_labels(result)
    if max_display < 2:
        raise InputError("max_display", f"must be >= 2, got {max_display}")
    contributions = result.values[row, :, class_index]
    order = np.argsort(-np.abs(contributions), kind="stable")
    shown = order if len(order) <= max_display else order[: max_display - 1]
    others = np.setdiff1d(order, shown)
    labels = [f"{names[f]} = {values[f]}" for f in shown[::-1]]
    steps = list(contributions[shown[::-1]])
    if len(others):
        labels.insert(0, f"{len(others)} other features")
        steps.insert(0, float(contributions[others].sum()))
    base = float(result.base_values[class_index])
    figure = go.Figure(
        go.Waterfall(
            orientation="h",
            base=base,
            y=[*labels, "output f(x)"],
            x=[*steps, 0.0],
            measure=["relative"] * len(steps) + ["total"],
            text=[f"{step:+.3g}" for step in steps] + [f"{base + sum(steps):.3g}"],
            textposition="outside",
            increasing={"marker": {"color": "#ff0d57"}},
            decreasing={"marker": {"color": "#1e88e5"}},
            totals={"marker": {"color": "#7f7f7f"}},
        )
    )
    figure.add_vline(x=base, line_dash="dot", annotation_text=f"base value {base:.3g}",
                     annotation_position="top right")
    figure.update_layout(
        title=f"Why '{result.class_names[class_index]}' (row {row}, {result.method} SHAP)",
        xaxis_title=f"Score for '{result.class_names[class_index]}' ({result.unit})",
        showlegend=False,
    )
    return _every_bar_labelled(figure, [*labels, "output f(x)"], "Feature = its value in the row")


def _importance(values: np.ndarray, class_index: int | None, n_classes: int) -> np.ndarray:
    """Mean |value| over rows of (n, G, K) values: (G,) for one class, or summed over classes (None)."""
    mean_abs = np.abs(values).mean(axis=0)
    if class_index is None:
        return mean_abs.sum(axis=1)
    return mean_abs[:, _check_index("class index", class_index, n_classes)]


def _scope(result: ShapResult, class_index: int | None) -> str:
    return "summed over classes" if class_index is None else f"class '{result.class_names[class_index]}'"


BAR_HEIGHT_PX = 26  #: height of one bar of a horizontal bar chart, so that every bar's label fits beside it
BARS_MARGIN_PX = 170  #: the rest of such a chart: title, x axis and its title


def _every_bar_labelled(figure: go.Figure, categories: Sequence[str], title: str) -> go.Figure:
    """Label every category of a horizontal bar chart (plotly skips labels that do not fit; the figure grows
    by `BAR_HEIGHT_PX` per bar instead), listed bottom to top as ``categories``."""
    figure.update_layout(
        height=BARS_MARGIN_PX + BAR_HEIGHT_PX * len(categories),
        yaxis={"title": {"text": title}, "tickmode": "array", "tickvals": list(categories),
               "ticktext": list(categories), "automargin": True},
    )
    return figure


def _importance_bars(names: Sequence[str], importance: np.ndarray, top: int) -> tuple[go.Bar, list[str]]:
    """Horizontal bars of the ``top`` largest importances, largest at the top, and their names bottom to top."""
    order = np.argsort(-importance, kind="stable")[:top][::-1]
    shown = [names[i] for i in order]
    return go.Bar(orientation="h", x=importance[order], y=shown, marker_color="#1e88e5"), shown


def mean_abs_bar_figure(result: ShapResult, class_index: int | None = None, top: int = 20) -> go.Figure:
    """Global importance: mean |SHAP value| per feature over the result's rows, the ``top`` largest.

    ``class_index`` None sums the per-class importances over classes.
    """
    importance = _importance(result.values, class_index, len(result.class_names))
    bars, shown = _importance_bars(feature_labels(result), importance, top)
    figure = go.Figure(bars)
    figure.update_layout(
        title=f"Mean |SHAP value| per feature, {_scope(result, class_index)} ({len(result.values)} rows)",
        xaxis_title=f"mean |SHAP value| ({result.unit})",
    )
    return _every_bar_labelled(figure, shown, "Feature")


def family_bar_figure(result: ShapResult, class_index: int | None = None) -> go.Figure:
    """Importance of each feature family: mean |sum of the family's SHAP values| over the result's rows."""
    importance = _importance(grouped_values(result), class_index, len(result.class_names))
    bars, shown = _importance_bars(list(FEATURE_FAMILIES), importance, len(FEATURE_FAMILIES))
    figure = go.Figure(bars)
    figure.update_layout(
        title=f"Feature families, {_scope(result, class_index)} ({len(result.values)} rows)",
        xaxis_title=f"mean |SHAP value summed over the family| ({result.unit})",
    )
    return _every_bar_labelled(figure, shown, "Feature family")


def swarm_offsets(x: np.ndarray, half_width: float = 0.4, bins: int = 40, step: float = 0.08) -> np.ndarray:
    """Vertical offsets that spread points with similar ``x`` (n,) apart: 0, +s, -s, +2s, ... within each of
    ``bins`` x bins, with s = ``step`` shrunk so that no offset exceeds ``half_width``. Returns (n,)."""
    x = np.asarray(x, dtype=np.float64)
    if x.size == 0:
        return x
    span = np.ptp(x) or 1.0
    bin_ids = np.minimum(((x - x.min()) / span * bins).astype(int), bins - 1)
    rank = np.zeros(len(x))
    for bin_id in np.unique(bin_ids):
        members = np.flatnonzero(bin_ids == bin_id)
        position = np.arange(len(members))
        rank[members] = np.where(position % 2 == 0, 1, -1) * ((position + 1) // 2)
    largest = np.abs(rank).max()
    return rank * (min(step, half_width / largest) if largest else 0.0)


def beeswarm_figure(
    result: ShapResult, class_index: int, feature_values: np.ndarray | None = None, top: int = 20
) -> go.Figure:
    """Beeswarm of one class: a point per row and feature (x = SHAP value), the ``top`` features by mean
    |SHAP value| from top to bottom, coloured by ``feature_values`` (n, F) — standardised values, by default
    the explained inputs."""
    class_index = _check_index("class index", class_index, len(result.class_names))
    colours = result.inputs if feature_values is None else np.asarray(feature_values, dtype=np.float64)
    if colours.shape != result.inputs.shape:
        raise InputError("feature values", f"expected shape {result.inputs.shape}, got {colours.shape}")
    values = result.values[:, :, class_index]
    order = np.argsort(-np.abs(values).mean(axis=0), kind="stable")[:top]
    labels = feature_labels(result)
    x, y, colour, names = [], [], [], []
    for position, feature in enumerate(order):
        level = len(order) - 1 - position
        x.append(values[:, feature])
        y.append(level + swarm_offsets(values[:, feature]))
        colour.append(colours[:, feature])
        names.extend([labels[feature]] * len(values))
    colour_limit = float(np.quantile(np.abs(np.concatenate(colour)), 0.95)) or 1.0
    figure = go.Figure(
        go.Scattergl(
            x=np.concatenate(x),
            y=np.concatenate(y),
            mode="markers",
            text=names,
            hovertemplate="%{text}<br>SHAP %{x:.3g}<br>value (standardised) %{marker.color:.2f}<extra></extra>",
            marker={
                "color": np.concatenate(colour),
                "colorscale": "RdBu_r",
                "cmin": -colour_limit,
                "cmax": colour_limit,
                "size": 5,
                "colorbar": {"title": {"text": "feature value<br>(standardised)"}},
            },
        )
    )
    figure.add_vline(x=0.0, line_color="#888888")
    figure.update_layout(
        title=f"SHAP values per row, class '{result.class_names[class_index]}' ({len(values)} rows)",
        xaxis_title=f"SHAP value ({result.unit})",
        yaxis={
            "title": {"text": "Feature"},
            "tickvals": list(range(len(order))),
            "ticktext": [labels[f] for f in order[::-1]],
            "range": [-0.6, len(order) - 0.4],
        },
        showlegend=False,
    )
    return figure

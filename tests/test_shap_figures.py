"""The SHAP figures: force plots (HTML, PNG), waterfall, bars per feature and family, beeswarm."""

from __future__ import annotations

import dataclasses
import json
import re

import numpy as np
import pytest
from helpers import synthetic_shap_result

from genre_core.errors import InputError
from genre_core.explain import shap_figures as sf
from genre_core.explain import shap_values as sv
from genre_core.features import SUMMARY_NAMES, summary_label

N_FEATURES = len(SUMMARY_NAMES)
CLASS_NAMES = ("blues", "metal", "pop")


@pytest.fixture
def synthetic_result() -> sv.ShapResult:
    return synthetic_shap_result(CLASS_NAMES)


def raw_values() -> np.ndarray:
    """Unstandardised values with many digits; index 0 (chroma_stft_mean) is 1234.5678."""
    values = np.linspace(-3.0, 3.0, N_FEATURES) * 1000.0 + 0.123456
    values[0] = 1234.5678
    return values


def test_force_plot_html_is_a_self_contained_document(synthetic_result: sv.ShapResult) -> None:
    document = sf.force_plot_html(synthetic_result, row=2, class_index=1, feature_values_raw=raw_values())
    assert document.startswith("<!DOCTYPE html>") and "<html><head>" in document
    assert document.rstrip().endswith("</html>")
    assert "SHAP.AdditiveForceVisualizer" in document  # the plot
    assert len(document) > 100_000  # the shap bundle is inlined
    assert not re.search(r"""(src|href)\s*=\s*["']?\s*(https?:)?//""", document, flags=re.IGNORECASE)
    assert "url(http" not in document and "@import" not in document
    assert '"1230"' in document and "1234.5678" not in document  # rounded labels
    assert '"chroma (pitch-class energy) mean"' in document  # readable names
    assert "metal (logit)" in document


def test_force_plot_markup_is_the_documents_plot_without_the_script(synthetic_result: sv.ShapResult) -> None:
    markup = sf.force_plot_markup(synthetic_result, row=2, class_index=1, feature_values_raw=raw_values())
    assert "SHAP.AdditiveForceVisualizer" in markup and len(markup) < 50_000  # no shap bundle
    document = sf.force_plot_html(synthetic_result, row=2, class_index=1, feature_values_raw=raw_values())
    assert re.sub(r"id='i[0-9A-Z]+'|'i[0-9A-Z]+'", "ID", markup) in re.sub(r"id='i[0-9A-Z]+'|'i[0-9A-Z]+'", "ID",
                                                                             document)


def test_force_plot_html_keeps_class_names_from_ending_the_script(synthetic_result: sv.ShapResult) -> None:
    hostile = dataclasses.replace(
        synthetic_result, class_names=("rock</script><script>alert(1)</script>",) + tuple(synthetic_result.class_names[1:])
    )
    document = sf.force_plot_html(hostile, row=1, class_index=0, feature_values_raw=raw_values())
    assert "<script>alert(1)" not in document and "rock</script>" not in document
    assert json.dumps("rock\u2039/script\u203a\u2039script\u203aalert(1)\u2039/script\u203a (logit)")[1:-1] in document


def test_force_plot_png_is_png_and_leaves_no_open_figure(synthetic_result: sv.ShapResult) -> None:
    import matplotlib.pyplot as plt

    open_before = plt.get_fignums()
    png = sf.force_plot_png(synthetic_result, row=0, class_index=2, feature_values_raw=raw_values())
    assert png.startswith(b"\x89PNG\r\n\x1a\n") and len(png) > 1000
    assert plt.get_fignums() == open_before
    with pytest.raises(InputError, match="feature values"):
        sf.force_plot_png(synthetic_result, row=0, class_index=2, feature_values_raw=raw_values()[:5])


def test_waterfall_goes_from_base_value_to_output(synthetic_result: sv.ShapResult) -> None:
    row, class_index = 3, 0
    figure = sf.waterfall_figure(synthetic_result, row, class_index, raw_values(), max_display=12)
    (trace,) = figure.data
    assert trace.type == "waterfall" and trace.orientation == "h"
    assert len(trace.y) == 13 and trace.measure[-1] == "total" and trace.y[0] == "46 other features"
    assert trace.base == pytest.approx(synthetic_result.base_values[class_index])
    assert trace.base + sum(trace.x[:-1]) == pytest.approx(synthetic_result.outputs[row, class_index])
    contributions = synthetic_result.values[row, :, class_index]
    largest = int(np.argmax(np.abs(contributions)))
    assert trace.y[-2].startswith(summary_label(SUMMARY_NAMES[largest]) + " = ")  # largest just below the output bar
    assert trace.x[-2] == pytest.approx(contributions[largest])
    assert np.all(np.diff(np.abs(trace.x[1:-1])) >= 0)
    assert figure.layout.xaxis.title.text == f"Score for '{synthetic_result.class_names[0]}' (logit)"
    assert list(figure.layout.yaxis.ticktext) == list(trace.y)  # every bar named
    assert "_" not in "".join(trace.y)  # readable names, e.g. "MFCC 4 variance = ..."


def test_mean_abs_bar_ranks_features_by_mean_absolute_value(synthetic_result: sv.ShapResult) -> None:
    expected = np.abs(synthetic_result.values[:, :, 1]).mean(axis=0)
    (trace,) = sf.mean_abs_bar_figure(synthetic_result, class_index=1).data
    assert len(trace.y) == 20
    top = np.argsort(-expected)[:20]
    assert list(trace.y[::-1]) == [summary_label(SUMMARY_NAMES[f]) for f in top]
    np.testing.assert_allclose(trace.x[::-1], expected[top])
    summed = sf.mean_abs_bar_figure(synthetic_result, class_index=None)
    all_classes = np.abs(synthetic_result.values).mean(axis=0).sum(axis=1)
    assert summed.data[0].x[-1] == pytest.approx(all_classes.max())
    assert summed.layout.xaxis.title.text == "mean |SHAP value| (logit)"


def test_bar_charts_label_every_bar_and_grow_with_them(synthetic_result: sv.ShapResult) -> None:
    for figure in (sf.mean_abs_bar_figure(synthetic_result, class_index=1, top=20),
                   sf.family_bar_figure(synthetic_result, class_index=1)):
        (trace,) = figure.data
        axis = figure.layout.yaxis
        assert axis.tickmode == "array" and list(axis.tickvals) == list(trace.y) == list(axis.ticktext)
        assert figure.layout.height >= sf.BAR_HEIGHT_PX * len(trace.y)  # room for every label: none skipped


def test_family_bar_shows_every_family(synthetic_result: sv.ShapResult) -> None:
    figure = sf.family_bar_figure(synthetic_result, class_index=2)
    (trace,) = figure.data
    assert sorted(trace.y) == sorted(sv.FEATURE_FAMILIES)
    expected = np.abs(sv.grouped_values(synthetic_result)[:, :, 2]).mean(axis=0)
    np.testing.assert_allclose(sorted(trace.x), sorted(expected))
    assert "logit" in figure.layout.xaxis.title.text


def test_beeswarm_has_a_point_per_row_and_feature_coloured_by_value(synthetic_result: sv.ShapResult) -> None:
    figure = sf.beeswarm_figure(synthetic_result, class_index=0, top=5)
    (trace,) = figure.data
    top = np.argsort(-np.abs(synthetic_result.values[:, :, 0]).mean(axis=0))[:5]
    assert list(figure.layout.yaxis.ticktext) == [summary_label(SUMMARY_NAMES[f]) for f in top[::-1]]
    np.testing.assert_allclose(trace.x, synthetic_result.values[:, top, 0].T.ravel())
    np.testing.assert_allclose(trace.marker.color, synthetic_result.inputs[:, top].T.ravel())
    levels = np.repeat(np.arange(4, -1, -1), 8)
    assert np.all(np.abs(np.asarray(trace.y) - levels) <= 0.4)  # each point stays on its feature's row
    assert figure.layout.xaxis.title.text == "SHAP value (logit)"
    custom = np.ones_like(synthetic_result.inputs)
    np.testing.assert_allclose(sf.beeswarm_figure(synthetic_result, 0, custom, top=5).data[0].marker.color, 1.0)


def test_swarm_offsets_separate_equal_values_within_the_half_width() -> None:
    offsets = sf.swarm_offsets(np.zeros(30), half_width=0.4)
    assert len(np.unique(offsets)) == 30 and np.abs(offsets).max() <= 0.4
    assert np.all(sf.swarm_offsets(np.linspace(0, 1, 10), bins=10) == 0)  # one point per bin stays centred

"""Tests of `genre_core.explain.explanation_figures`: the pure plotly figures of the explanation views."""

from __future__ import annotations

import numpy as np
import pytest
from helpers import TINY_FEATURES, tiny_dataset

from genre_core import features
from genre_core.config import LOG_MEL
from genre_core.dataset import Dataset
from genre_core.errors import InputError
from genre_core.explain import explanation_figures
from genre_core.explain.musicnn_evidence import BranchEvidence


@pytest.fixture(scope="module")
def dataset() -> Dataset:
    return tiny_dataset(feature_config=TINY_FEATURES)


def test_spectrogram_view_labels_axes_from_the_config_or_with_indices(dataset: Dataset) -> None:
    log_mel = dataset.features[LOG_MEL][0]
    heatmap = np.linspace(0.0, 1.0, log_mel.size, dtype=np.float32).reshape(log_mel.shape)

    figure = explanation_figures.spectrogram_view(log_mel, TINY_FEATURES, heatmap=heatmap, opacity=0.3, title="x")
    assert len(figure.data) == 2 and figure.data[1].opacity == 0.3
    assert figure.data[0].colorscale[0][1] == "rgb(0, 0, 0)"  # grey under the map
    np.testing.assert_allclose(figure.data[0].x, features.frame_times(TINY_FEATURES))
    assert figure.layout.yaxis.ticktext[-1] == f"{features.mel_band_frequencies(TINY_FEATURES)[-1]:.0f}"
    assert "Hz" in figure.layout.yaxis.title.text

    bare = explanation_figures.spectrogram_view(log_mel, None, zmin=-80.0, zmax=0.0, thumbnail=True)
    np.testing.assert_array_equal(bare.data[0].x, np.arange(22))
    assert bare.data[0].zmin == -80.0 and bare.data[0].showscale is False
    assert bare.data[0].colorscale[0][1] != "rgb(0, 0, 0)"
    assert bare.layout.height == explanation_figures.THUMBNAIL_HEIGHT and bare.layout.xaxis.title.text is None


def test_profile_figures_plot_shares_against_hz_and_seconds() -> None:
    band = explanation_figures.band_profile_figure(np.array([0.5, 0.3, 0.2]), np.array([100.0, 400.0, 1600.0]))
    assert band.layout.xaxis.type == "log" and "Hz" in band.layout.xaxis.title.text
    assert list(band.layout.xaxis.tickvals) == [100, 200, 500, 1000]
    np.testing.assert_allclose(band.data[0].y, [0.5, 0.3, 0.2])
    time = explanation_figures.time_profile_figure(np.array([0.25, 0.75]), np.array([0.0, 0.5]))
    assert "(s)" in time.layout.xaxis.title.text
    with pytest.raises(InputError, match="profile"):
        explanation_figures.time_profile_figure(np.array([0.25, 0.75]), np.array([0.0, 0.5, 1.0]))


def test_trust_figures_show_each_step_and_both_deletion_orders() -> None:
    steps = [
        {"step": 0, "layer": None, "spearman": 1.0, "spearman_std": 0.0},
        {"step": 1, "layer": "logits", "spearman": 0.4, "spearman_std": 0.1},
    ]
    randomisation = explanation_figures.randomisation_figure(steps)
    assert list(randomisation.data[0].x) == ["none (trained model)", "logits"]
    assert list(randomisation.data[0].y) == [1.0, 0.4] and list(randomisation.data[0].error_y.array) == [0.0, 0.1]
    with pytest.raises(InputError):
        explanation_figures.randomisation_figure([])

    curve = {"fractions": np.array([0.0, 0.5, 1.0]), "map_order": np.array([0.9, 0.3, 0.2]),
             "random_order": np.array([0.9, 0.7, 0.2]), "area_between": 0.2}
    deletion = explanation_figures.deletion_figure(curve)
    assert [trace.name for trace in deletion.data] == ["random cells first", "highest Grad-CAM first"]
    np.testing.assert_allclose(deletion.data[1].x, [0.0, 50.0, 100.0])
    assert "+0.200" in deletion.layout.title.text


def test_branch_shares_are_bars_per_branch_in_two_colours_for_timbre_and_rhythm() -> None:
    branches = ("timbral74", "timbral77", "temporal128", "temporal64", "temporal32")
    shares = np.array([[0.4, 0.2, 0.3, 0.1, 0.0], [0.0, 0.0, 0.0, 0.0, 1.0]], dtype=np.float32)
    evidence = BranchEvidence(branches, contributions=shares, shares=shares, time_map=np.zeros((2, 4), np.float32),
                              class_index=np.array([0, 1]), logits=np.zeros((2, 3), np.float32))
    figure = explanation_figures.branch_share_figure(evidence, row=0)
    bars = figure.data[0]
    np.testing.assert_allclose(bars.x, shares[0])
    assert list(bars.y) == [explanation_figures.BRANCH_LABELS[name] for name in branches]
    assert list(bars.text) == ["40%", "20%", "30%", "10%", "0%"]
    assert list(bars.marker.color) == [explanation_figures.PROFILE_COLOUR] * 2 + [explanation_figures.TEMPORAL_COLOUR] * 3

"""Plotly figures: spectrogram axes in seconds and Hz, the Grad-CAM overlay, shared colour scales."""

from __future__ import annotations

import numpy as np
import pytest

from genre_core.config import FeatureConfig
from genre_core.errors import InputError
from genre_core.features import frame_times, mel_band_frequencies
from genre_core.figures import SPECTROGRAM_COLOURS, UNDERLAY_COLOURS, explicit_colour_scale, spectrogram_figure


@pytest.fixture
def spectrogram(small_config: FeatureConfig) -> dict:
    """A (32, frames) dB ramp with its frame times and band frequencies."""
    shape = (small_config.n_mels, small_config.frames_per_segment)
    log_mel = np.linspace(-80.0, 0.0, shape[0] * shape[1]).reshape(shape)
    return {
        "log_mel_db": log_mel,
        "times_s": frame_times(small_config),
        "band_frequencies_hz": mel_band_frequencies(small_config),
    }


def test_axes_are_seconds_and_hz_with_low_frequencies_at_the_bottom(spectrogram, small_config) -> None:
    figure = spectrogram_figure(**spectrogram, title="blues.00000, window 0")
    (trace,) = figure.data
    frames = small_config.frames_per_segment
    frame_seconds = small_config.hop_length / small_config.sample_rate
    np.testing.assert_allclose(trace.x, np.arange(frames) * frame_seconds)
    assert figure.layout.xaxis.range == pytest.approx((-frame_seconds / 2, (frames - 0.5) * frame_seconds))
    assert figure.layout.xaxis.title.text == "Time (s)"
    assert figure.layout.yaxis.range == (-0.5, small_config.n_mels - 0.5)  # band 0 at the bottom
    assert "Hz" in figure.layout.yaxis.title.text
    ticks = list(figure.layout.yaxis.tickvals)
    assert ticks[0] == 0 and ticks[-1] == small_config.n_mels - 1
    bands = spectrogram["band_frequencies_hz"]
    assert list(figure.layout.yaxis.ticktext) == [f"{bands[band]:.0f}" for band in ticks]
    assert float(figure.layout.yaxis.ticktext[-1]) == pytest.approx(bands[-1], abs=0.5)
    assert float(figure.layout.yaxis.ticktext[-1]) < small_config.sample_rate / 2
    np.testing.assert_array_equal(np.asarray(trace.z)[0], spectrogram["log_mel_db"][0])  # row 0 = lowest band
    assert trace.colorbar.title.text == "dB"
    assert figure.layout.title.text == "blues.00000, window 0"


def test_colour_scale_defaults_to_the_data_and_can_be_shared(spectrogram) -> None:
    (trace,) = spectrogram_figure(**spectrogram).data
    assert (trace.zmin, trace.zmax) == (-80.0, 0.0)
    quieter = {**spectrogram, "log_mel_db": spectrogram["log_mel_db"] - 20.0}
    shared = [spectrogram_figure(**values, zmin=-100.0, zmax=0.0).data[0] for values in (spectrogram, quieter)]
    assert [(trace.zmin, trace.zmax) for trace in shared] == [(-100.0, 0.0), (-100.0, 0.0)]
    with pytest.raises(InputError, match="colour scale"):
        spectrogram_figure(**spectrogram, zmin=0.0, zmax=-10.0)


def test_grad_cam_overlay_is_a_semi_transparent_second_heat_map(spectrogram) -> None:
    heatmap = np.zeros(spectrogram["log_mel_db"].shape, dtype=np.float32)
    heatmap[:4, 10:20] = 1.0
    figure = spectrogram_figure(**spectrogram, heatmap=heatmap, opacity=0.4)
    assert len(figure.data) == 2
    overlay = figure.data[1]
    assert overlay.type == "heatmap" and overlay.opacity == 0.4
    assert (overlay.zmin, overlay.zmax) == (0.0, 1.0)
    np.testing.assert_array_equal(np.asarray(overlay.z), heatmap)
    np.testing.assert_allclose(overlay.x, figure.data[0].x)
    assert "rgba" in overlay.colorscale[0][1] and overlay.colorscale[0][1].endswith(", 0)")  # 0 is transparent


@pytest.mark.parametrize(
    "heatmap",
    [
        lambda shape: np.full(shape, 255, dtype=np.uint8),  # an image, not a map in [0, 1]
        lambda shape: np.full(shape, 1.5),
        lambda shape: np.zeros((shape[0], shape[1] - 1)),
    ],
)
def test_bad_overlays_are_refused(spectrogram, heatmap) -> None:
    with pytest.raises(InputError, match="Grad-CAM heat map"):
        spectrogram_figure(**spectrogram, heatmap=heatmap(spectrogram["log_mel_db"].shape))


def test_mismatched_axes_are_refused(spectrogram) -> None:
    with pytest.raises(InputError, match="frame times"):
        spectrogram_figure(**{**spectrogram, "times_s": spectrogram["times_s"][:-1]})
    with pytest.raises(InputError, match="mel band frequencies"):
        spectrogram_figure(**{**spectrogram, "band_frequencies_hz": spectrogram["band_frequencies_hz"][::-1]})


#: Colours Streamlit's chart theme replaces by theme colours (its placeholders ``#000001`` to ``#000040``).
STREAMLIT_PLACEHOLDERS = {f"#0000{number:02d}" for number in range(1, 41)}


def _luminance(colour: str) -> float:
    """Relative brightness in [0, 1] of an ``rgb(...)``/``rgba(...)`` colour."""
    red, green, blue = (float(part) for part in colour[colour.index("(") + 1:-1].split(",")[:3])
    return (0.2126 * red + 0.7152 * green + 0.0722 * blue) / 255


@pytest.mark.parametrize("scale", [SPECTROGRAM_COLOURS, UNDERLAY_COLOURS])
def test_spectrogram_colour_scales_start_dark_and_survive_streamlits_theme(scale) -> None:
    colours = [colour for _, colour in scale]
    assert not STREAMLIT_PLACEHOLDERS & {colour.lower() for colour in colours}
    assert all(colour.startswith("rgb(") for colour in colours)  # drawn as given, never swapped by the theme
    assert _luminance(colours[0]) < 0.02 and _luminance(colours[-1]) > 0.8  # silence is black


def test_every_named_scale_becomes_explicit_rgb_stops() -> None:
    magma = explicit_colour_scale("Magma")
    assert magma[0] == [0.0, "rgb(0, 0, 4)"] and magma[-1][0] == 1.0  # Magma's '#000004' is a theme placeholder


def test_under_a_map_the_spectrogram_is_grey_and_the_colour_bars_are_stacked(spectrogram) -> None:
    heatmap = np.zeros(spectrogram["log_mel_db"].shape, dtype=np.float32)
    plain, overlaid = spectrogram_figure(**spectrogram), spectrogram_figure(**spectrogram, heatmap=heatmap)
    assert plain.data[0].colorscale[0][1] == SPECTROGRAM_COLOURS[0][1]
    assert [colour for _, colour in overlaid.data[0].colorscale] == [colour for _, colour in UNDERLAY_COLOURS]
    bars = [trace.colorbar for trace in overlaid.data]
    assert bars[0].x == bars[1].x  # same column at the right edge, whatever the figure's width...
    top_of_map_bar = bars[1].y + bars[1].len
    bottom_of_db_bar = bars[0].y - bars[0].len
    assert top_of_map_bar < bottom_of_db_bar  # ...one above the other: they never overlap

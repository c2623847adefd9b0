"""Data-page figures: units on every axis, shapes, the waveform's point bound, where a tone shows up."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import tone

from genre_core import audio_figures, features
from genre_core.config import LOG_MEL, MFCC, SUMMARY, FeatureConfig
from genre_core.dataset import Dataset
from genre_core.errors import InputError


def axis_titles(figure) -> tuple[str, str]:
    return figure.layout.xaxis.title.text, figure.layout.yaxis.title.text


def test_short_waveform_is_drawn_sample_by_sample() -> None:
    samples = tone(440.0, 0.1, sample_rate=8000)
    (trace,) = audio_figures.waveform_figure(samples, 8000).data
    assert trace.type == "scatter"
    np.testing.assert_allclose(trace.x, np.arange(len(samples)) / 8000)
    np.testing.assert_allclose(trace.y, samples, rtol=1e-6)
    x_title, y_title = axis_titles(audio_figures.waveform_figure(samples, 8000))
    assert "(s)" in x_title and "Amplitude" in y_title


@pytest.mark.parametrize("max_points", [10_000, 501])
def test_long_waveform_is_an_envelope_within_the_point_bound_that_keeps_the_peaks(max_points: int) -> None:
    sample_rate = 22050
    samples = tone(110.0, 30.0, sample_rate=sample_rate, amplitude=0.3)
    samples[123_456] = 0.9  # a click between two drawn points must stay visible
    samples[400_001] = -0.8
    (trace,) = audio_figures.waveform_figure(samples, sample_rate, max_points=max_points).data
    assert len(trace.x) == len(trace.y) <= max_points
    assert max(trace.y) == pytest.approx(0.9) and min(trace.y) == pytest.approx(-0.8)
    stretch_seconds = np.ceil(len(samples) / (max_points // 2)) / sample_rate
    assert trace.x[0] == 0.0 and 0.0 < 30.0 - trace.x[-1] <= stretch_seconds + 1e-6
    assert np.all(np.diff(trace.x) >= 0)


def test_spectrum_peaks_at_the_tone_on_a_log_frequency_axis() -> None:
    sample_rate = 22050
    samples = tone(440.0, 3.0, sample_rate=sample_rate) + tone(3000.0, 3.0, sample_rate=sample_rate, amplitude=0.05)
    figure = audio_figures.spectrum_figure(samples, sample_rate, max_points=500)
    (trace,) = figure.data
    frequencies, decibels = np.asarray(trace.x), np.asarray(trace.y)
    assert len(frequencies) <= 500 and np.all(np.diff(frequencies) > 0)
    assert frequencies[-1] <= sample_rate / 2 and frequencies[0] >= audio_figures.MIN_SPECTRUM_HZ
    assert frequencies[np.argmax(decibels)] == pytest.approx(440.0, rel=0.02)
    assert decibels.max() == pytest.approx(0.0)
    quiet_tone = decibels[np.argmin(np.abs(frequencies - 3000.0))]
    assert quiet_tone == pytest.approx(20 * np.log10(0.1), abs=1.5)  # 0.05 vs 0.5 amplitude
    assert decibels.min() >= audio_figures.SPECTRUM_FLOOR_DB
    assert figure.layout.xaxis.type == "log"
    x_title, y_title = axis_titles(figure)
    assert "Hz" in x_title and "dB" in y_title


def test_stft_heat_map_has_hz_rows_and_second_columns_with_the_tone_bright() -> None:
    sample_rate, n_fft, hop = 11025, 1024, 256
    samples = tone(1000.0, 2.0, sample_rate=sample_rate)
    figure = audio_figures.stft_figure(samples, sample_rate, n_fft, hop, start_seconds=6.0)
    (trace,) = figure.data
    z = np.asarray(trace.z)
    assert trace.type == "heatmap" and z.shape == (1 + n_fft // 2, 1 + len(samples) // hop)
    np.testing.assert_allclose(trace.y, np.arange(1 + n_fft // 2) * sample_rate / n_fft)
    assert trace.x[0] == pytest.approx(6.0) and trace.x[1] - trace.x[0] == pytest.approx(hop / sample_rate)
    brightest_row = np.argmax(z.mean(axis=1))
    assert trace.y[brightest_row] == pytest.approx(1000.0, abs=sample_rate / n_fft)
    assert z.max() == pytest.approx(0.0) and z.min() >= -80.0
    assert axis_titles(figure) == ("Time (s)", "Frequency (Hz)")
    assert trace.colorbar.title.text == "dB"


def test_mel_filterbank_draws_one_triangle_per_band_up_to_nyquist() -> None:
    figure = audio_figures.mel_filterbank_figure(22050, 2048, 40)
    assert len(figure.data) == 40
    peaks = [trace.x[int(np.argmax(trace.y))] for trace in figure.data]
    assert np.all(np.diff(peaks) > 0)  # bands rise in frequency
    assert max(max(trace.x) for trace in figure.data) <= 22050 / 2
    for trace in figure.data:
        assert trace.y[0] == 0.0 and trace.y[-1] == 0.0 and max(trace.y) > 0  # each line is a closed triangle
    x_title, y_title = axis_titles(figure)
    assert "Hz" in x_title and "weight" in y_title.lower()


def test_log_mel_figure_is_the_shared_spectrogram_with_track_time(small_config: FeatureConfig) -> None:
    shape = (small_config.n_mels, small_config.frames_per_segment)
    log_mel = np.linspace(-80.0, 0.0, shape[0] * shape[1]).reshape(shape)
    figure = audio_figures.log_mel_figure(log_mel, small_config, start_seconds=2.0, title="window 1")
    (trace,) = figure.data
    np.testing.assert_allclose(trace.x, 2.0 + features.frame_times(small_config))
    assert "Hz" in figure.layout.yaxis.title.text and figure.layout.xaxis.title.text == "Time (s)"
    assert figure.layout.title.text == "window 1"
    with pytest.raises(InputError):
        audio_figures.log_mel_figure(log_mel[:, :-1], small_config)


def test_mfcc_figure_puts_coefficients_on_rows(small_config: FeatureConfig) -> None:
    rng = np.random.default_rng(0)
    mfcc = rng.normal(size=(small_config.frames_per_segment, small_config.n_mfcc)).astype(np.float32)
    mfcc[:, 0] -= 300.0
    figure = audio_figures.mfcc_figure(mfcc, small_config)
    (trace,) = figure.data
    np.testing.assert_allclose(np.asarray(trace.z), mfcc.T, rtol=1e-6)
    np.testing.assert_array_equal(trace.y, np.arange(small_config.n_mfcc))
    assert trace.zmax == pytest.approx(np.abs(mfcc[:, 1:]).max()) and trace.zmin == -trace.zmax
    assert axis_titles(figure) == ("Time (s)", "MFCC coefficient")
    with pytest.raises(InputError, match="MFCC matrix"):
        audio_figures.mfcc_figure(mfcc.T, small_config)


def test_class_distribution_is_a_bar_per_class() -> None:
    figure = audio_figures.class_distribution_figure({"blues": 30, "rock": 12}, "Segments per genre")
    (trace,) = figure.data
    assert trace.type == "bar" and list(trace.x) == ["blues", "rock"] and list(trace.y) == [30, 12]
    assert axis_titles(figure) == ("Genre", "Segments") and figure.layout.title.text == "Segments per genre"
    with pytest.raises(InputError):
        audio_figures.class_distribution_figure({}, "empty")


def _dataset(features_by_kind: dict[str, np.ndarray], summary_names: list[str] | None = None) -> Dataset:
    rows = len(next(iter(features_by_kind.values())))
    return Dataset(
        class_names=["jazz", "pop"],
        labels=np.arange(rows) % 2,
        track_ids=np.asarray([f"t{row}" for row in range(rows)]),
        segment_index=np.zeros(rows, dtype=np.int64),
        features=features_by_kind,
        source="test rows",
        summary_names=summary_names,
    )


def test_feature_table_names_columns_and_averages_matrices_over_time() -> None:
    summary = np.arange(12, dtype=np.float32).reshape(4, 3)
    table = audio_figures.feature_table(_dataset({SUMMARY: summary}, ["a_mean", "b_mean", "c_var"]))
    assert list(table.columns) == ["genre", "track", "a_mean", "b_mean", "c_var"]
    assert table["genre"].to_numpy(dtype=str).tolist() == ["jazz", "pop", "jazz", "pop"]
    np.testing.assert_array_equal(table["c_var"].to_numpy(), summary[:, 2])
    mfcc = np.stack([np.full((5, 2), row, dtype=np.float32) for row in range(3)])
    mfcc[:, :, 1] += 10.0
    table = audio_figures.feature_table(_dataset({MFCC: mfcc}))
    assert list(table.columns)[2:] == ["mfcc1_mean", "mfcc2_mean"]
    np.testing.assert_allclose(table["mfcc2_mean"].to_numpy(), [10.0, 11.0, 12.0])
    log_mel = np.zeros((2, 3, 4), dtype=np.float32)
    log_mel[1, 2] = -40.0
    table = audio_figures.feature_table(_dataset({LOG_MEL: log_mel}))
    assert table["band2_mean_db"].tolist() == [0.0, -40.0]


def test_feature_distribution_has_one_box_per_genre() -> None:
    values = np.array([1.0, 2.0, 3.0, 10.0, 11.0])
    genres = np.array(["rock", "jazz", "rock", "jazz", "jazz"])
    figure = audio_figures.feature_distribution_figure(values, genres, "tempo (BPM)")
    assert [trace.name for trace in figure.data] == ["jazz", "rock"]
    assert sorted(figure.data[0].y) == [2.0, 10.0, 11.0] and all(trace.type == "box" for trace in figure.data)
    assert axis_titles(figure) == ("Genre", "tempo (BPM)")
    with pytest.raises(InputError):
        audio_figures.feature_distribution_figure(values, genres[:-1], "tempo (BPM)")


@pytest.mark.parametrize("bad", [np.zeros((2, 100)), np.array([]), np.array([0.0, np.nan, 0.0])])
def test_bad_signals_are_refused(bad: np.ndarray) -> None:
    for draw in (audio_figures.waveform_figure, audio_figures.spectrum_figure):
        with pytest.raises(InputError, match="samples"):
            draw(bad, 22050)

"""Figures of the Data page: how a sound becomes the features the models see, and what a dataset holds.

Pure functions from arrays to `plotly.graph_objects.Figure`, every axis titled with its unit (s, Hz, dB).
The log-mel view reuses `genre_core.figures.spectrogram_figure`, so it looks exactly like the spectrograms
of the Grad-CAM pages. Nothing here imports TensorFlow or Streamlit.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import librosa
import numpy as np
import pandas as pd
import plotly.graph_objects as go

from genre_core.config import LOG_MEL, MFCC, SUMMARY, FeatureConfig
from genre_core.dataset import Dataset
from genre_core.errors import InputError
from genre_core.features import frame_times, mel_band_frequencies
from genre_core.figures import explicit_colour_scale, spectrogram_figure

MAX_WAVEFORM_POINTS = 10_000  #: points drawn for a waveform; longer signals are drawn as a min/max envelope
MAX_SPECTRUM_POINTS = 2_000  #: points drawn for a spectrum (log-spaced frequency bins, peak-hold)
MIN_SPECTRUM_HZ = 20.0  #: lowest frequency drawn in a spectrum (the bottom of human hearing)
SPECTRUM_FLOOR_DB = -120.0  #: dB below the peak where the spectrum is clipped
STFT_COLOURS = explicit_colour_scale("Viridis")
MFCC_COLOURS = explicit_colour_scale("RdBu_r")


def _check_signal(samples: np.ndarray, sample_rate: int) -> np.ndarray:
    """``samples`` as a finite, non-empty (samples,) float64 array; `InputError` otherwise."""
    samples = np.asarray(samples, dtype=np.float64)
    if samples.ndim != 1 or samples.size == 0 or not np.all(np.isfinite(samples)):
        raise InputError("samples", f"expected a finite, non-empty mono signal (samples,), got shape {samples.shape}")
    if sample_rate <= 0:
        raise InputError("sample_rate", f"must be positive, got {sample_rate}")
    return samples


def _axis_titles(figure: go.Figure, x: str, y: str, title: str | None) -> go.Figure:
    figure.update_layout(title=title, xaxis={"title": {"text": x}}, yaxis={"title": {"text": y}})
    return figure


def waveform_figure(
    samples: np.ndarray, sample_rate: int, *, max_points: int = MAX_WAVEFORM_POINTS, title: str | None = None
) -> go.Figure:
    """Amplitude against time of a mono signal.

    ``samples``: (samples,) float at ``sample_rate`` Hz. Up to ``max_points`` samples are drawn as they are;
    a longer signal is cut into ``max_points // 2`` equal stretches and each is drawn as a vertical stroke
    from its minimum to its maximum (an envelope that keeps every peak), so the trace never holds more
    than ``max_points`` points. x: time in s from the start, y: amplitude (full scale = 1).
    """
    samples = _check_signal(samples, sample_rate)
    if max_points < 2:
        raise InputError("max_points", f"must be at least 2, got {max_points}")
    if len(samples) <= max_points:
        times, values = np.arange(len(samples)) / sample_rate, samples
    else:
        starts = np.linspace(0, len(samples), max_points // 2, endpoint=False).astype(np.int64)
        envelope = np.column_stack([np.minimum.reduceat(samples, starts), np.maximum.reduceat(samples, starts)])
        times, values = np.repeat(starts / sample_rate, 2), envelope.ravel()
    figure = go.Figure(go.Scatter(x=times, y=values, mode="lines", line={"width": 1}, name="amplitude"))
    figure.update_layout(showlegend=False)
    return _axis_titles(figure, "Time (s)", "Amplitude (full scale = 1)", title)


def spectrum_figure(
    samples: np.ndarray, sample_rate: int, *, max_points: int = MAX_SPECTRUM_POINTS, title: str | None = None
) -> go.Figure:
    """Magnitude of the FFT of the whole signal (Hann window) in dB relative to its peak, on a log-frequency axis.

    ``samples``: (samples,) float at ``sample_rate`` Hz. The bins from `MIN_SPECTRUM_HZ` (or the first bin
    above 0 Hz of a short signal) up to ``sample_rate / 2`` are grouped into at most
    ``max_points`` log-spaced bands, each drawn at its geometric centre with its largest magnitude
    (peak-hold, so a pure tone keeps its height). x: frequency in Hz (log axis), y: dB re peak, clipped
    at `SPECTRUM_FLOOR_DB`.
    """
    samples = _check_signal(samples, sample_rate)
    if len(samples) < 4:
        raise InputError("samples", f"need at least 4 samples for a spectrum, got {len(samples)}")
    magnitude = np.abs(np.fft.rfft(samples * np.hanning(len(samples))))
    frequencies = np.fft.rfftfreq(len(samples), d=1.0 / sample_rate)
    shown = frequencies >= max(MIN_SPECTRUM_HZ, frequencies[1])
    magnitude, frequencies = magnitude[shown], frequencies[shown]
    peak = magnitude.max()
    decibels = 20.0 * np.log10(np.maximum(magnitude, 1e-12) / peak) if peak > 0 else np.zeros_like(magnitude)
    decibels = np.maximum(decibels, SPECTRUM_FLOOR_DB)
    if len(frequencies) > max_points:
        edges = np.geomspace(frequencies[0], frequencies[-1], max_points + 1)
        starts = np.unique(np.searchsorted(frequencies, edges[:-1]))
        stops = np.append(starts[1:], len(frequencies))
        decibels = np.maximum.reduceat(decibels, starts)
        frequencies = np.sqrt(frequencies[starts] * frequencies[stops - 1])
    figure = go.Figure(go.Scatter(x=frequencies, y=decibels, mode="lines", line={"width": 1}, name="magnitude"))
    figure.update_layout(showlegend=False, xaxis={"type": "log"})
    return _axis_titles(figure, "Frequency (Hz, log scale)", "Magnitude (dB re peak)", title)


def _heatmap_figure(
    z: np.ndarray,
    x: np.ndarray,
    y: np.ndarray,
    *,
    colours: list[list[float | str]],
    colour_title: str,
    hover: str,
) -> go.Figure:
    return go.Figure(
        go.Heatmap(z=z, x=x, y=y, colorscale=colours, colorbar={"title": {"text": colour_title}}, hovertemplate=hover)
    )


def stft_figure(
    samples: np.ndarray,
    sample_rate: int,
    n_fft: int,
    hop_length: int,
    *,
    start_seconds: float = 0.0,
    title: str | None = None,
) -> go.Figure:
    """Linear-frequency STFT spectrogram: magnitude in dB relative to the loudest cell (floor -80 dB).

    ``samples``: (samples,) float at ``sample_rate`` Hz; frames of ``n_fft`` samples every ``hop_length``
    (centred, Hann). The heat map is (1 + n_fft // 2 frequencies, frames): x = time in s of each frame
    centre plus ``start_seconds`` (where the excerpt starts in its track), y = frequency in Hz.
    Meant for a window of a few seconds (a 3 s window at 22050 Hz, n_fft 2048 is 1025 x 130 cells).
    """
    samples = _check_signal(samples, sample_rate)
    if n_fft < 16 or not 1 <= hop_length <= n_fft:
        raise InputError("n_fft/hop_length", f"need n_fft >= 16 and 1 <= hop_length <= n_fft, got {n_fft}/{hop_length}")
    magnitude = np.abs(librosa.stft(samples.astype(np.float32), n_fft=n_fft, hop_length=hop_length))
    decibels = librosa.amplitude_to_db(magnitude, ref=np.max, top_db=80.0)
    times = start_seconds + librosa.frames_to_time(np.arange(decibels.shape[1]), sr=sample_rate, hop_length=hop_length)
    frequencies = librosa.fft_frequencies(sr=sample_rate, n_fft=n_fft)
    figure = _heatmap_figure(
        decibels, times, frequencies, colours=STFT_COLOURS, colour_title="dB",
        hover="%{x:.2f} s, %{y:.0f} Hz<br>%{z:.1f} dB<extra></extra>",
    )
    return _axis_titles(figure, "Time (s)", "Frequency (Hz)", title)


def mel_filterbank_figure(sample_rate: int, n_fft: int, n_mels: int, *, title: str | None = None) -> go.Figure:
    """The ``n_mels`` triangular mel filters that turn an STFT frame into a mel frame, one line each.

    The filters are librosa's defaults (Slaney mel scale, area-normalised, 0 Hz to ``sample_rate / 2``), the
    ones `genre_core.features.log_mel` uses. Each line spans its filter's support plus one zero-weight bin at
    both ends. x: frequency in Hz, y: weight given to that STFT bin.
    """
    if sample_rate <= 0 or n_fft < 16 or n_mels < 1:
        raise InputError("mel filter bank", f"needs sample_rate > 0, n_fft >= 16, n_mels >= 1; got {sample_rate}, "
                                            f"{n_fft}, {n_mels}")
    weights = librosa.filters.mel(sr=sample_rate, n_fft=n_fft, n_mels=n_mels)
    frequencies = librosa.fft_frequencies(sr=sample_rate, n_fft=n_fft)
    figure = go.Figure()
    for band, row in enumerate(weights):
        support = np.flatnonzero(row)
        if support.size == 0:  # more bands than the FFT resolves: librosa leaves such filters empty
            continue
        shown = slice(max(support[0] - 1, 0), min(support[-1] + 2, len(row)))
        figure.add_trace(
            go.Scatter(x=frequencies[shown], y=row[shown], mode="lines", line={"width": 1}, name=f"band {band}")
        )
    figure.update_layout(showlegend=False)
    return _axis_titles(figure, "Frequency (Hz)", "Filter weight", title)


def log_mel_figure(
    log_mel_db: np.ndarray, config: FeatureConfig, *, start_seconds: float = 0.0, title: str | None = None
) -> go.Figure:
    """A window's log-mel spectrogram as the CNN sees it: `genre_core.figures.spectrogram_figure`.

    ``log_mel_db``: (config.n_mels, config.frames_per_segment) in ``config.log_mel_unit`` (dB by default), row 0 =
    lowest band. x: time in s of each frame plus ``start_seconds``, y: mel bands labelled with their centre
    frequency in Hz.
    """
    return spectrogram_figure(
        log_mel_db,
        times_s=start_seconds + frame_times(config),
        band_frequencies_hz=mel_band_frequencies(config),
        title=title,
        unit=config.log_mel_unit,
    )


def mfcc_figure(
    mfcc: np.ndarray, config: FeatureConfig, *, start_seconds: float = 0.0, title: str | None = None
) -> go.Figure:
    """A window's MFCC matrix as a heat map: coefficient (0 = overall loudness, at the bottom) against time.

    ``mfcc``: (config.frames_per_segment, config.n_mfcc), time-major as stored in a `Dataset`. x: time in s
    of each frame plus ``start_seconds``, y: coefficient index; colour: coefficient value.
    """
    mfcc = np.asarray(mfcc, dtype=np.float64)
    expected = (config.frames_per_segment, config.n_mfcc)
    if mfcc.shape != expected or not np.all(np.isfinite(mfcc)):
        raise InputError("MFCC matrix", f"expected finite values of shape {expected} (frames, n_mfcc), got {mfcc.shape}")
    limit = float(np.abs(mfcc[:, 1:]).max()) if config.n_mfcc > 1 else None  # coefficient 0 would swamp the scale
    figure = _heatmap_figure(
        mfcc.T, start_seconds + frame_times(config), np.arange(config.n_mfcc), colours=MFCC_COLOURS,
        colour_title="value", hover="%{x:.2f} s, coefficient %{y}<br>%{z:.1f}<extra></extra>",
    )
    if limit:
        figure.update_traces(zmin=-limit, zmax=limit)
    return _axis_titles(figure, "Time (s)", "MFCC coefficient", title)


def class_distribution_figure(
    counts: Mapping[str, int], title: str | None = None, *, count_label: str = "Segments"
) -> go.Figure:
    """Bar chart of how many rows (or tracks) each class has: x = class, y = ``count_label``."""
    if not counts:
        raise InputError("class counts", "no classes to draw")
    values = [int(value) for value in counts.values()]
    if min(values) < 0:
        raise InputError("class counts", f"counts must not be negative, got {min(values)}")
    figure = go.Figure(go.Bar(x=list(counts), y=values, text=values, textposition="auto", name=count_label))
    return _axis_titles(figure, "Genre", count_label, title)


def feature_table(dataset: Dataset) -> pd.DataFrame:
    """One row per dataset row for inspection: a ``genre`` and a ``track`` column, then one numeric column per
    feature. ``summary`` gives its named columns (``feature_<i>`` when unnamed); matrices are averaged over
    time: ``mfcc`` gives ``mfcc<i>_mean`` (i from 1), ``log_mel`` gives ``band<i>_mean_db``.
    """
    if SUMMARY in dataset.features:
        values = dataset.features[SUMMARY]
        names = dataset.summary_names or [f"feature_{index}" for index in range(values.shape[1])]
    elif MFCC in dataset.features:
        values = dataset.features[MFCC].mean(axis=1)
        names = [f"mfcc{index}_mean" for index in range(1, values.shape[1] + 1)]
    elif LOG_MEL in dataset.features:
        values = dataset.features[LOG_MEL].mean(axis=2)
        names = [f"band{index}_mean_db" for index in range(values.shape[1])]
    else:
        raise InputError(dataset.source, "holds no features to tabulate")
    table = pd.DataFrame(np.asarray(values, dtype=np.float64), columns=list(names))
    table.insert(0, "track", np.asarray(dataset.track_ids, dtype=str))
    table.insert(0, "genre", np.asarray(dataset.class_names, dtype=str)[dataset.labels])
    return table


def feature_distribution_figure(
    values: np.ndarray, genres: Sequence[str] | np.ndarray, feature_name: str, *, title: str | None = None
) -> go.Figure:
    """One box plot per genre of a feature's values: ``values`` (rows,) float, ``genres`` (rows,) str.

    Genres appear in sorted order; y is the feature (named ``feature_name``, in its own unit).
    """
    values = np.asarray(values, dtype=np.float64)
    genres = np.asarray(genres, dtype=str)
    if values.ndim != 1 or values.shape != genres.shape or values.size == 0:
        raise InputError(feature_name, f"need one genre per value, got shapes {values.shape} and {genres.shape}")
    figure = go.Figure(
        [go.Box(y=values[genres == genre], name=genre, boxmean=True) for genre in np.unique(genres)]
    )
    figure.update_layout(showlegend=False)
    return _axis_titles(figure, "Genre", feature_name, title)

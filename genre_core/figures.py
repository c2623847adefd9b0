"""Plotly figures of the app: pure functions from arrays to `plotly.graph_objects.Figure`.

Nothing here computes features or imports TensorFlow or Streamlit; callers pass the arrays and their axes
(e.g. `genre_core.features.frame_times` and `genre_core.features.mel_band_frequencies`).
"""

from __future__ import annotations

import numpy as np
import plotly.colors
import plotly.graph_objects as go

from genre_core.errors import InputError


def explicit_colour_scale(name: str) -> list[list[float | str]]:
    """Plotly's named colour scale ``name`` as explicit ``[position, "rgb(r, g, b)"]`` stops.

    Streamlit's chart theme swaps the colours ``#000001`` to ``#000040`` for theme colours (they are its
    placeholders), and named scales such as Magma start at ``#000004``: the quietest cells of a spectrogram
    came out pale pink. Stops written as ``rgb(...)`` are drawn as given.
    """
    stops = plotly.colors.get_colorscale(name)
    return [[float(position), plotly.colors.convert_colors_to_same_type(colour, "rgb")[0][0]]
            for position, colour in stops]


#: Colour scale of log-mel spectrograms (dB): Magma, black for the quietest cells up to pale yellow.
SPECTROGRAM_COLOURS = explicit_colour_scale("Magma")
#: Colour scale of a spectrogram under a map (black to white), so that the map's colours stand out.
UNDERLAY_COLOURS = explicit_colour_scale("gray")
#: Grad-CAM overlay: transparent where the map is 0, opaque red where it is 1.
HEATMAP_COLOURS = [[0.0, "rgba(255, 255, 0, 0)"], [0.5, "rgba(255, 140, 0, 0.6)"], [1.0, "rgba(255, 0, 0, 1)"]]
FREQUENCY_TICKS = 8  #: labelled mel bands on the frequency axis
#: Colour bars of a spectrogram with a map over it: both at the right edge, one above the other (in fractions of
#: the plot's height), so that they never overlap however narrow the figure is.
DB_BAR = {"y": 1.0, "yanchor": "top", "len": 0.47}
MAP_BAR = {"y": 0.0, "yanchor": "bottom", "len": 0.47}


def _check_axis(name: str, values: np.ndarray, size: int) -> np.ndarray:
    values = np.asarray(values, dtype=np.float64)
    if values.shape != (size,) or not np.all(np.isfinite(values)):
        raise InputError(name, f"expected {size} finite values, got shape {values.shape}")
    if size > 1 and np.any(np.diff(values) <= 0):
        raise InputError(name, "must be strictly increasing")
    return values


def _check_heatmap(heatmap: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """A Grad-CAM map: floats in [0, 1] of the spectrogram's shape (integer images such as uint8 are refused)."""
    heatmap = np.asarray(heatmap)
    if heatmap.shape != shape:
        raise InputError("Grad-CAM heat map", f"expected shape {shape} like the spectrogram, got {heatmap.shape}")
    if not np.issubdtype(heatmap.dtype, np.floating):
        raise InputError("Grad-CAM heat map", f"expected floats in [0, 1], got dtype {heatmap.dtype}")
    if not np.all(np.isfinite(heatmap)) or heatmap.min() < 0.0 or heatmap.max() > 1.0:
        raise InputError("Grad-CAM heat map", "values must be finite and lie in [0, 1]")
    return heatmap


def spectrogram_figure(
    log_mel_db: np.ndarray,
    *,
    times_s: np.ndarray,
    band_frequencies_hz: np.ndarray,
    heatmap: np.ndarray | None = None,
    opacity: float = 0.5,
    title: str | None = None,
    zmin: float | None = None,
    zmax: float | None = None,
    unit: str = "dB",
) -> go.Figure:
    """A log-mel spectrogram as a heat map (`SPECTROGRAM_COLOURS`), optionally with a Grad-CAM map over it.

    The one overlay figure of the app (Browse and Your song): under a ``heatmap`` the spectrogram is drawn in
    grey (`UNDERLAY_COLOURS`) so that the map's yellow to red stands out, and the two colour bars are stacked.

    Args:
        log_mel_db: (n_mels, frames) dB, row 0 = lowest band (drawn at the bottom).
        times_s: (frames,) s, time of each frame centre (x axis).
        band_frequencies_hz: (n_mels,) Hz, centre frequency of each mel band: the y axis is the band
            index (mel-spaced) labelled with these frequencies.
        heatmap: (n_mels, frames) floats in [0, 1], drawn semi-transparent (``opacity``) on top.
        zmin, zmax: dB limits of the colour scale; pass the same ones to compare figures (default: data range).
        unit: unit of ``log_mel_db`` for the colour bar and hover text (`FeatureConfig.log_mel_unit`).
    """
    log_mel_db = np.asarray(log_mel_db, dtype=np.float64)
    if log_mel_db.ndim != 2 or log_mel_db.size == 0 or not np.all(np.isfinite(log_mel_db)):
        raise InputError("spectrogram", f"expected a finite (n_mels, frames) array, got shape {log_mel_db.shape}")
    n_mels, frames = log_mel_db.shape
    times_s = _check_axis("frame times", times_s, frames)
    band_frequencies_hz = _check_axis("mel band frequencies", band_frequencies_hz, n_mels)
    zmin = float(log_mel_db.min()) if zmin is None else float(zmin)
    zmax = float(log_mel_db.max()) if zmax is None else float(zmax)
    if not zmin < zmax:
        raise InputError("colour scale", f"zmin {zmin} must be below zmax {zmax}")
    if not 0.0 <= opacity <= 1.0:
        raise InputError("opacity", f"must lie in [0, 1], got {opacity}")
    bands = np.arange(n_mels)
    figure = go.Figure(
        go.Heatmap(
            z=log_mel_db,
            x=times_s,
            y=bands,
            zmin=zmin,
            zmax=zmax,
            colorscale=SPECTROGRAM_COLOURS if heatmap is None else UNDERLAY_COLOURS,
            colorbar={"title": {"text": unit}, **({} if heatmap is None else DB_BAR)},
            name="log-mel",
            hovertemplate="%{x:.2f} s, band %{y}<br>%{z:.2f} " + unit + "<extra></extra>",
        )
    )
    if heatmap is not None:
        figure.add_trace(
            go.Heatmap(
                z=_check_heatmap(heatmap, log_mel_db.shape),
                x=times_s,
                y=bands,
                zmin=0.0,
                zmax=1.0,
                colorscale=HEATMAP_COLOURS,
                opacity=opacity,
                colorbar={"title": {"text": "map"}, **MAP_BAR},
                name="Grad-CAM",
                hovertemplate="%{x:.2f} s, band %{y}<br>Grad-CAM %{z:.2f}<extra></extra>",
            )
        )
    ticks = np.unique(np.linspace(0, n_mels - 1, min(FREQUENCY_TICKS, n_mels)).round().astype(int))
    half_frame = (times_s[1] - times_s[0]) / 2 if frames > 1 else 0.5
    figure.update_layout(
        title=title,
        xaxis={"title": {"text": "Time (s)"}, "range": [times_s[0] - half_frame, times_s[-1] + half_frame]},
        yaxis={
            "title": {"text": "Frequency (Hz, mel-spaced bands)"},
            "range": [-0.5, n_mels - 0.5],
            "tickvals": ticks.tolist(),
            "ticktext": [f"{band_frequencies_hz[band]:.0f}" for band in ticks],
        },
    )
    return figure

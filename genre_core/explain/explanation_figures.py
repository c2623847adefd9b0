"""The figures of the explanation views (pure plotly, no Streamlit, no TensorFlow): a log-mel segment with its
axes and Grad-CAM overlay, the band and time profiles of a map, musicnn's branch shares, and the randomisation
and deletion checks. What they show is computed in `genre_core.explain.views`, `gradcam` and `trust`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import plotly.graph_objects as go

from genre_core import features
from genre_core.config import FeatureConfig
from genre_core.errors import InputError
from genre_core.figures import spectrogram_figure

if TYPE_CHECKING:
    from genre_core.explain.musicnn_evidence import BranchEvidence

THUMBNAIL_HEIGHT = 220  #: px, height of a spectrogram thumbnail
PROFILE_COLOUR = "#d62728"
TEMPORAL_COLOUR = "#1f77b4"  #: musicnn's temporal branches, beside the timbral ones in `PROFILE_COLOUR`
FREQUENCY_TICKS_HZ = (30, 50, 100, 200, 500, 1000, 2000, 5000, 10000, 20000)  #: labelled frequencies of profiles


#: What each musicnn front-end branch looks at, for figure labels.
BRANCH_LABELS = {
    "timbral74": "timbre: 38 bands × 7 frames",
    "timbral77": "timbre: 67 bands × 7 frames",
    "temporal128": "rhythm: 1 band × 128 frames",
    "temporal64": "rhythm: 1 band × 64 frames",
    "temporal32": "rhythm: 1 band × 32 frames",
}


def branch_share_figure(evidence: BranchEvidence, row: int = 0) -> go.Figure:
    """Share of the positive evidence of row ``row`` in each musicnn front-end branch, as horizontal bars (timbral
    branches in one colour, temporal ones in another)."""
    names = list(evidence.branches)
    shares = evidence.shares[row]
    colours = [PROFILE_COLOUR if name.startswith("timbral") else TEMPORAL_COLOUR for name in names]
    figure = go.Figure(go.Bar(
        x=shares, y=[BRANCH_LABELS.get(name, name) for name in names], orientation="h", marker_color=colours,
        text=[f"{share:.0%}" for share in shares], textposition="auto",
        hovertemplate="%{y}: %{x:.0%} of the evidence<extra></extra>",
    ))
    figure.update_layout(title="Which front-end branch carried the evidence", xaxis={"tickformat": ".0%",
                         "range": [0, 1], "title": "share of the positive gradient × activation"},
                         yaxis={"autorange": "reversed"}, showlegend=False)
    return figure



def spectrogram_view(
    log_mel_db: np.ndarray,
    config: FeatureConfig | None,
    *,
    heatmap: np.ndarray | None = None,
    opacity: float = 0.5,
    title: str | None = None,
    zmin: float | None = None,
    zmax: float | None = None,
    thumbnail: bool = False,
) -> go.Figure:
    """`genre_core.figures.spectrogram_figure` of a (n_mels, frames) dB segment with the axes of ``config``
    (frame times in s, band centre frequencies in Hz); without a config (``.npy`` data) the axes are frame and
    band numbers. Under a ``heatmap`` the spectrogram is drawn in grey (see `spectrogram_figure`).
    ``thumbnail`` gives a small figure without colour bars for galleries (pass shared ``zmin``/``zmax`` so that
    thumbnails compare)."""
    log_mel_db = np.asarray(log_mel_db)
    n_mels, frames = log_mel_db.shape[-2:] if log_mel_db.ndim == 2 else (0, 0)
    if config is not None:
        times, bands = features.frame_times(config), features.mel_band_frequencies(config)
    else:
        times, bands = np.arange(frames, dtype=np.float64), np.arange(n_mels, dtype=np.float64)
    figure = spectrogram_figure(
        log_mel_db, times_s=times, band_frequencies_hz=bands, heatmap=heatmap, opacity=opacity, title=title,
        zmin=zmin, zmax=zmax, unit="dB" if config is None else config.log_mel_unit,
    )
    if config is None:
        figure.update_layout(xaxis_title_text="Frame", yaxis_title_text="Mel band (frequencies unknown)")
    if thumbnail:
        figure.update_traces(showscale=False)
        figure.update_layout(
            height=THUMBNAIL_HEIGHT, margin={"l": 10, "r": 10, "t": 30, "b": 10},
            title_font_size=12, xaxis_title_text=None, yaxis_title_text=None,
        )
    return figure


def _profile_figure(values: np.ndarray, positions: np.ndarray, x_title: str, title: str) -> go.Figure:
    values = np.asarray(values, dtype=np.float64)
    positions = np.asarray(positions, dtype=np.float64)
    if values.ndim != 1 or values.shape != positions.shape or not np.all(np.isfinite(values)):
        raise InputError("profile", f"expected finite values of shape {positions.shape}, got {values.shape}")
    figure = go.Figure(
        go.Scatter(x=positions, y=values, mode="lines", line={"color": PROFILE_COLOUR}, fill="tozeroy", name="share")
    )
    figure.update_layout(title=title, xaxis_title=x_title, yaxis_title="Share of the map (sums to 1)", showlegend=False)
    return figure


def band_profile_figure(profile: np.ndarray, band_frequencies_hz: np.ndarray) -> go.Figure:
    """Which frequencies mattered: `gradcam.band_profile` (n_mels,) against the bands' centre frequencies (Hz,
    logarithmic axis, as mel bands are spaced roughly logarithmically above 1 kHz)."""
    figure = _profile_figure(profile, band_frequencies_hz, "Frequency (Hz, band centre)", "Grad-CAM by frequency band")
    ticks = [hz for hz in FREQUENCY_TICKS_HZ if band_frequencies_hz[0] <= hz <= band_frequencies_hz[-1]]
    figure.update_xaxes(type="log", tickvals=ticks, ticktext=[f"{hz:g}" for hz in ticks])
    return figure


def time_profile_figure(profile: np.ndarray, times_s: np.ndarray) -> go.Figure:
    """When it mattered: `gradcam.time_profile` (frames,) against the frame times (s) of the segment."""
    return _profile_figure(profile, times_s, "Time in the segment (s)", "Grad-CAM over time")


def randomisation_figure(steps: Sequence[Mapping[str, Any]]) -> go.Figure:
    """Rank correlation (Spearman, mean ± std over segments) between the original Grad-CAM maps and the maps
    after randomising the model's layers one by one from the top; see `trust.randomisation_check`."""
    if not steps:
        raise InputError("randomisation check", "has no steps")
    labels = ["none (trained model)" if step["layer"] is None else str(step["layer"]) for step in steps]
    figure = go.Figure(
        go.Scatter(
            x=labels,
            y=[float(step["spearman"]) for step in steps],
            error_y={"type": "data", "array": [float(step["spearman_std"]) for step in steps]},
            mode="lines+markers",
            name="Spearman",
        )
    )
    figure.add_hline(y=0.0, line_color="#888888", line_dash="dot")
    figure.update_layout(
        title="Randomisation check",
        xaxis_title="Randomised down to layer (top of the network first)",
        yaxis={"title": {"text": "Rank correlation with the original map"}, "range": [-1.05, 1.05]},
        showlegend=False,
    )
    return figure


def deletion_figure(curve: Mapping[str, Any]) -> go.Figure:
    """The deletion check (`trust.deletion_curve`): probability of the explained class as more and more of the
    spectrogram is blanked, highest Grad-CAM cells first versus in random order."""
    percent = 100.0 * np.asarray(curve["fractions"], dtype=np.float64)
    figure = go.Figure(
        [
            go.Scatter(x=percent, y=curve["random_order"], mode="lines+markers", name="random cells first"),
            go.Scatter(
                x=percent, y=curve["map_order"], mode="lines+markers", name="highest Grad-CAM first",
                fill="tonexty", line={"color": PROFILE_COLOUR},
            ),
        ]
    )
    figure.update_layout(
        title=f"Deletion check (area between the curves {curve['area_between']:+.3f})",
        xaxis_title="Share of the spectrogram blanked (%)",
        yaxis={"title": {"text": "Probability of the explained class"}, "range": [0.0, 1.02]},
        legend={"orientation": "h", "y": -0.25},
    )
    return figure

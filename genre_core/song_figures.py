"""What the Your song page shows of a classified song: figures, a table and a verdict in words.

Pure functions of `genre_core.prediction.SongPrediction` objects (one model's verdict on one song) to plotly
figures, a `pandas.DataFrame` or a sentence. Times are in s from the start of the song, probabilities are
fractions in [0, 1] drawn as percentages. Nothing here imports TensorFlow or Streamlit.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd
import plotly.colors
import plotly.graph_objects as go

from genre_core.config import LOG_MEL, SUMMARY
from genre_core.errors import InputError
from genre_core.features import SUMMARY_NAMES, frame_times, mel_band_frequencies
from genre_core.musicnn.tagging import SongTags
from genre_core.figures import spectrogram_figure
from genre_core.prediction import SongPrediction

#: Colours of the genres, in the order of a model's class names (GTZAN's ten fit without repeating).
GENRE_PALETTE = plotly.colors.qualitative.Plotly + plotly.colors.qualitative.Dark24
PERCENT_AXIS = {"tickformat": ".0%", "range": [0, 1.0]}
HIGHLIGHT_COLOUR = "rgba(0, 0, 0, 0.15)"


def genre_colours(class_names: Sequence[str]) -> dict[str, str]:
    """One colour per class name (by position, cycling after `GENRE_PALETTE`), the same in every figure."""
    return {name: GENRE_PALETTE[index % len(GENRE_PALETTE)] for index, name in enumerate(class_names)}


def window_ends(prediction: SongPrediction) -> np.ndarray:
    """End time of each window in s: (segments,) float64, the start plus the window length, the last one
    clipped to the song's duration (a padded final window ends where the audio ends)."""
    ends = prediction.segment_starts + prediction.segment_seconds
    ends[-1] = max(min(ends[-1], prediction.duration_seconds), prediction.segment_starts[-1])
    return ends


def window_span(prediction: SongPrediction, window: int) -> str:
    """``"12.0–15.0 s"``: where window ``window`` lies in the song."""
    if not 0 <= window < prediction.n_segments:
        raise InputError("window", f"{window} is not in [0, {prediction.n_segments})")
    return f"{prediction.segment_starts[window]:.1f}–{window_ends(prediction)[window]:.1f} s"


def most_decisive_window(prediction: SongPrediction) -> int:
    """The window with the highest probability of the song's predicted class (the earliest of ties): where
    the model is surest of the genre it gives the whole song."""
    return int(np.argmax(prediction.segment_probabilities[:, prediction.predicted_index]))


def window_loudness_db(prediction: SongPrediction) -> np.ndarray | None:
    """Loudness of each window, in dB, for ranking the windows of one song: (segments,) float64.

    Log-mel features: the mean mel power over bands and frames (10 log10 of the mean of 10^(dB/10)); summary
    features: the window's mean RMS (20 log10 ``rms_mean``). None for features without a loudness (MFCC).
    """
    values = np.asarray(prediction.features, dtype=np.float64)
    if prediction.feature_kind == LOG_MEL:
        power = np.power(10.0, values / 10.0).reshape(len(values), -1).mean(axis=1)
    elif prediction.feature_kind == SUMMARY and values.shape[1:] == (len(SUMMARY_NAMES),):
        power = np.square(values[:, SUMMARY_NAMES.index("rms_mean")])
    else:
        return None
    return 10.0 * np.log10(np.maximum(power, 1e-20))


def _percent(value: float) -> str:
    return f"{100.0 * value:.0f} %"


def verdict_sentence(prediction: SongPrediction, model: str) -> str:
    """The song's verdict in words, e.g. ``"The CNN hears mostly rock (62 %), with metal in the loudest part
    (12.0–15.0 s); 7 of 10 windows vote rock."``

    ``model`` names the model in the sentence. The genre and its percentage are the mean of the windows'
    probabilities; the vote is the majority vote of the windows (said when it disagrees with the mean). A
    second genre is named when it wins the loudest window (see `window_loudness_db`), else the one that wins
    most of the other windows.
    """
    genre = prediction.genre
    share = _percent(prediction.track_probabilities[prediction.predicted_index])
    n = prediction.n_segments
    if n == 1:
        return f"The {model} hears {genre} ({share}) in the song's one {prediction.segment_seconds:g} s window."
    winners = prediction.segment_predictions
    names = prediction.class_names
    votes = np.bincount(winners, minlength=len(names))
    loudness = window_loudness_db(prediction)
    loudest = None if loudness is None else int(np.argmax(loudness))
    others = votes.copy()
    others[prediction.predicted_index] = 0
    if loudest is not None and winners[loudest] != prediction.predicted_index:
        second = f", with {names[winners[loudest]]} in the loudest part ({window_span(prediction, loudest)})"
    elif others.any():
        runner_up = int(np.argmax(others))
        second = f", with {names[runner_up]} in {others[runner_up]} of its {n} windows"
    else:
        second = ""
    if prediction.vote_index == prediction.predicted_index:
        vote = f"all {n} windows vote {genre}" if votes.max() == n else f"{votes.max()} of {n} windows vote {genre}"
    else:
        vote = f"but the majority vote of the windows says {prediction.vote_genre} ({votes.max()} of {n})"
    return f"The {model} hears mostly {genre} ({share} on average){second}; {vote}."


def song_probability_figure(predictions: Mapping[str, SongPrediction], *, title: str | None = None) -> go.Figure:
    """Grouped bars: each model's mean probability (over the song's windows) of every genre it knows.

    ``predictions`` maps a model label (legend entry) to its prediction; the genres are the union of the
    models' class names in order of first appearance. x: genre, y: probability (%).
    """
    if not predictions:
        raise InputError("predictions", "no model's prediction to draw")
    genres = list(dict.fromkeys(name for result in predictions.values() for name in result.class_names))
    figure = go.Figure(
        [
            go.Bar(
                x=result.class_names,
                y=result.track_probabilities,
                name=label,
                hovertemplate="%{x}: %{y:.1%}<extra>" + label + "</extra>",
            )
            for label, result in predictions.items()
        ]
    )
    figure.update_layout(
        title=title or "Genre probabilities of the whole song (mean over its windows)",
        barmode="group",
        xaxis={"title": {"text": "Genre"}, "categoryorder": "array", "categoryarray": genres},
        yaxis={"title": {"text": "Probability (%)"}, **PERCENT_AXIS},
        legend={"orientation": "h", "y": -0.25},
    )
    return figure


def genre_timeline_figure(
    prediction: SongPrediction, *, highlight_window: int | None = None, title: str | None = None
) -> go.Figure:
    """Stacked areas of the genre probabilities of each window across the whole song.

    Each window is a flat block from its start to its end (`window_ends`), its genres stacked to 1. x: time in
    the song (s), y: probability (%). ``highlight_window`` shades one window (e.g. the one Grad-CAM explains).
    """
    starts = prediction.segment_starts
    ends = window_ends(prediction)
    x = np.append(starts, ends[-1])
    colours = genre_colours(prediction.class_names)
    figure = go.Figure()
    for index, name in enumerate(prediction.class_names):
        probabilities = prediction.segment_probabilities[:, index]
        figure.add_trace(
            go.Scatter(
                x=x,
                y=np.append(probabilities, probabilities[-1]),
                name=name,
                mode="lines",
                line={"shape": "hv", "width": 0.5, "color": colours[name]},
                fillcolor=colours[name],
                stackgroup="genres",
                hovertemplate="%{x:.1f} s: " + name + " %{y:.0%}<extra></extra>",
            )
        )
    if highlight_window is not None:
        window_span(prediction, highlight_window)  # checks the index
        figure.add_vrect(
            x0=starts[highlight_window], x1=ends[highlight_window], fillcolor=HIGHLIGHT_COLOUR, line_width=1.5,
            line_color="black", annotation_text="explained", annotation_position="top left", layer="above",
        )
    figure.update_layout(
        title=title or f"Genre probabilities over time ({prediction.segment_seconds:g} s windows)",
        xaxis={"title": {"text": "Time in the song (s)"}, "range": [0.0, float(ends[-1])]},
        yaxis={"title": {"text": "Probability (%)"}, **PERCENT_AXIS},
        hovermode="x unified",
    )
    return figure


def window_gradcam_figure(
    prediction: SongPrediction, window: int, heatmap: np.ndarray, *, opacity: float = 0.5, title: str | None = None
) -> go.Figure:
    """The log-mel spectrogram (dB) of one window of a CNN's prediction with a Grad-CAM map over it.

    ``heatmap``: (n_mels, frames) floats in [0, 1]. x: time in the song (s), y: mel band labelled in Hz. The
    colour scale spans the window's dB range (1 dB either side of a constant window, e.g. digital silence).
    """
    if prediction.feature_kind != LOG_MEL:
        raise InputError(f"model '{prediction.bundle_name}'", f"saw {prediction.feature_kind} features, not spectrograms")
    window_span(prediction, window)  # checks the index
    config = prediction.feature_config
    log_mel_db = prediction.features[window]
    lowest, highest = float(np.min(log_mel_db)), float(np.max(log_mel_db))
    if lowest == highest:
        lowest, highest = lowest - 1.0, highest + 1.0
    return spectrogram_figure(
        log_mel_db,
        times_s=prediction.segment_starts[window] + frame_times(config),
        band_frequencies_hz=mel_band_frequencies(config),
        heatmap=heatmap,
        opacity=opacity,
        title=title,
        zmin=lowest,
        zmax=highest,
        unit=config.log_mel_unit,
    )


def window_table(predictions: Mapping[str, SongPrediction]) -> pd.DataFrame:
    """One row per model and window: ``model``, ``window`` (1-based), ``start_s``, ``end_s``, ``genre`` (the
    window's most probable class) and one probability column per genre of any model (empty where a model does
    not know the genre)."""
    frames = []
    for label, result in predictions.items():
        table = pd.DataFrame(
            {
                "model": label,
                "window": np.arange(1, result.n_segments + 1),
                "start_s": np.round(result.segment_starts, 3),
                "end_s": np.round(window_ends(result), 3),
                "genre": [result.class_names[index] for index in result.segment_predictions],
            }
        )
        probabilities = pd.DataFrame(result.segment_probabilities.astype(np.float64), columns=result.class_names)
        frames.append(pd.concat([table, probabilities.round(4)], axis=1))
    if not frames:
        raise InputError("predictions", "no model's prediction to tabulate")
    return pd.concat(frames, ignore_index=True)


TAG_KIND_ORDER = ("genre", "mood", "voice and instruments", "era", "other")


def tag_figure(tags: SongTags, per_kind: int = 4) -> go.Figure:
    """Horizontal bars of the ``per_kind`` most probable tags of each kind (genre, mood, voice and instruments,
    era), grouped by kind, best at the top of each group; x = the tag's probability in [0, 1]."""
    rows = [item for kind in TAG_KIND_ORDER for item in tags.top(per_kind, kind)]
    rows.reverse()  # plotly draws the first bar at the bottom
    palette = dict(zip(TAG_KIND_ORDER, plotly.colors.qualitative.Set2, strict=False))
    figure = go.Figure()
    for kind in TAG_KIND_ORDER:
        chosen = [(tag, value) for tag, tag_kind, value in rows if tag_kind == kind]
        if chosen:
            figure.add_bar(
                x=[value for _, value in chosen], y=[tag for tag, _ in chosen], orientation="h", name=kind,
                marker_color=palette[kind], hovertemplate="%{y}: %{x:.0%}<extra>" + kind + "</extra>",
            )
    figure.update_layout(
        title=f"What {tags.trunk} says: its own tags ({tags.windows} windows)", xaxis={**PERCENT_AXIS,
        "title": "tag probability (tags are not exclusive)"}, yaxis={"title": None, "categoryorder": "array",
        "categoryarray": [tag for tag, _, _ in rows]}, height=120 + 22 * len(rows), legend_title_text="kind",
        margin={"l": 10, "r": 10, "t": 50, "b": 40},
    )
    return figure

"""Tests of genre_core.song_figures: window times, the most decisive window, loudness, the verdict in words,
and the probability, timeline, Grad-CAM figures and the window table of a song's predictions."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from genre_core import song_figures
from genre_core.config import LOG_MEL, MFCC, SUMMARY, FeatureConfig
from genre_core.errors import InputError
from genre_core.features import SUMMARY_NAMES, frame_times, mel_band_frequencies
from genre_core.figures import UNDERLAY_COLOURS
from genre_core.prediction import SongPrediction

GENRES = ["blues", "metal", "rock"]
#: 3 s windows at 11025 Hz, 16 mel bands, 33 frames per window.
CONFIG = FeatureConfig(sample_rate=11025, track_seconds=30.0, segments_per_track=10, hop_length=1024, n_mels=16)


def song(probabilities: list[list[float]], *, kind: str = LOG_MEL, loudness_db: list[float] | None = None,
         duration: float | None = None, config: FeatureConfig = CONFIG) -> SongPrediction:
    """A prediction with the given window probabilities; the features are flat log-mel windows (or summary rows)
    at ``loudness_db`` per window (default: all equally loud)."""
    rows = np.asarray(probabilities, dtype=np.float32)
    n = len(rows)
    loudness = np.full(n, -20.0) if loudness_db is None else np.asarray(loudness_db, dtype=np.float64)
    if kind == LOG_MEL:
        values = np.ones((n, config.n_mels, config.frames_per_segment), np.float32) * loudness[:, None, None].astype(np.float32)
    elif kind == SUMMARY:
        values = np.zeros((n, len(SUMMARY_NAMES)), np.float32)
        values[:, SUMMARY_NAMES.index("rms_mean")] = 10.0 ** (loudness / 20.0)
    else:
        values = np.zeros((n, config.frames_per_segment, config.n_mfcc), np.float32)
    mean = rows.mean(axis=0).astype(np.float64)
    votes = np.bincount(rows.argmax(axis=1), minlength=rows.shape[1])
    tied = np.flatnonzero(votes == votes.max())
    return SongPrediction(
        name="song.mp3",
        bundle_name="model",
        class_names=list(GENRES),
        feature_kind=kind,
        feature_config=config,
        duration_seconds=n * config.segment_seconds if duration is None else duration,
        segment_starts=np.arange(n) * config.segment_seconds,
        segment_probabilities=rows,
        track_probabilities=mean,
        vote_index=int(tied[np.argmax(mean[tied])]),
        features=values,
    )


ROCK, METAL, BLUES = [0.1, 0.2, 0.7], [0.1, 0.8, 0.1], [0.6, 0.2, 0.2]


# --- windows ----------------------------------------------------------------------------------------------
def test_window_ends_clip_the_padded_last_window_to_the_song() -> None:
    prediction = song([ROCK, ROCK, ROCK], duration=7.5)

    np.testing.assert_allclose(song_figures.window_ends(prediction), [3.0, 6.0, 7.5])
    assert song_figures.window_span(prediction, 2) == "6.0–7.5 s"
    np.testing.assert_allclose(prediction.segment_starts, [0.0, 3.0, 6.0])  # not modified
    with pytest.raises(InputError, match="window"):
        song_figures.window_span(prediction, 3)


def test_most_decisive_window_is_the_surest_of_the_song_genre() -> None:
    # rock wins the song; window 1 is the most confident window overall but for metal
    prediction = song([[0.1, 0.1, 0.8], [0.0, 0.95, 0.05], [0.05, 0.05, 0.9], ROCK])

    assert prediction.genre == "rock"
    assert song_figures.most_decisive_window(prediction) == 2


def test_window_loudness_ranks_windows_from_log_mel_and_summary_features() -> None:
    levels = [-30.0, -10.0, -20.0]
    for kind in (LOG_MEL, SUMMARY):
        loudness = song([ROCK] * 3, kind=kind, loudness_db=levels)
        np.testing.assert_allclose(song_figures.window_loudness_db(loudness), levels, atol=1e-4)
    assert song_figures.window_loudness_db(song([ROCK] * 3, kind=MFCC)) is None


# --- verdict ----------------------------------------------------------------------------------------------
def test_verdict_names_the_genre_of_the_loudest_part_when_it_differs() -> None:
    prediction = song([ROCK, ROCK, METAL, ROCK], loudness_db=[-30, -25, -5, -28])

    sentence = song_figures.verdict_sentence(prediction, "CNN")
    share = round(100 * prediction.track_probabilities[2])
    assert sentence == f"The CNN hears mostly rock ({share} % on average), with metal in the loudest part (6.0–9.0 s); 3 of 4 windows vote rock."


def test_verdict_names_the_runner_up_when_the_loudest_part_agrees() -> None:
    prediction = song([ROCK, BLUES, ROCK, ROCK, BLUES], loudness_db=[-5, -20, -20, -20, -20])

    sentence = song_figures.verdict_sentence(prediction, "FFN")
    assert sentence.startswith("The FFN hears mostly rock (")
    assert sentence.endswith(", with blues in 2 of its 5 windows; 3 of 5 windows vote rock.")


def test_verdict_when_every_window_agrees_or_the_vote_disagrees() -> None:
    unanimous = song_figures.verdict_sentence(song([ROCK, ROCK]), "CNN")
    assert unanimous.endswith("(70 % on average); all 2 windows vote rock.")

    # two mild metal windows outvote one very sure rock window, while rock has the highest mean
    split = song([[0.0, 0.0, 1.0], [0.05, 0.5, 0.45], [0.05, 0.5, 0.45]])
    assert split.genre == "rock" and split.vote_genre == "metal"
    assert song_figures.verdict_sentence(split, "CNN").endswith("but the majority vote of the windows says metal (2 of 3).")


def test_verdict_of_a_single_window() -> None:
    whole_track = FeatureConfig(sample_rate=11025, track_seconds=30.0, segments_per_track=1, hop_length=1024, n_mels=16)
    prediction = song([METAL], kind=SUMMARY, config=whole_track)

    assert song_figures.verdict_sentence(prediction, "FFN") == "The FFN hears metal (80 %) in the song's one 30 s window."


# --- figures and table ------------------------------------------------------------------------------------
def test_probability_figure_groups_the_models_over_the_union_of_genres() -> None:
    cnn = song([ROCK, METAL])
    ffn = song([BLUES])
    ffn.class_names = ["blues", "jazz", "rock"]

    figure = song_figures.song_probability_figure({"CNN (a)": cnn, "FFN (b)": ffn})
    assert [trace.name for trace in figure.data] == ["CNN (a)", "FFN (b)"]
    np.testing.assert_allclose(figure.data[0].y, cnn.track_probabilities)
    assert list(figure.data[1].x) == ["blues", "jazz", "rock"]
    assert list(figure.layout.xaxis.categoryarray) == ["blues", "metal", "rock", "jazz"]
    assert figure.layout.barmode == "group" and "%" in figure.layout.yaxis.title.text
    with pytest.raises(InputError):
        song_figures.song_probability_figure({})


def test_timeline_stacks_each_window_as_a_block_across_the_song() -> None:
    prediction = song([ROCK, METAL, BLUES], duration=8.0)

    figure = song_figures.genre_timeline_figure(prediction, highlight_window=1)
    assert [trace.name for trace in figure.data] == GENRES
    for index, trace in enumerate(figure.data):
        np.testing.assert_allclose(trace.x, [0.0, 3.0, 6.0, 8.0])
        np.testing.assert_allclose(trace.y[:3], prediction.segment_probabilities[:, index])
        assert trace.y[3] == trace.y[2] and trace.stackgroup == "genres" and trace.line.shape == "hv"
    np.testing.assert_allclose(np.sum([trace.y for trace in figure.data], axis=0), 1.0, atol=1e-6)
    (shape,) = figure.layout.shapes
    assert (shape.x0, shape.x1) == (3.0, 6.0)
    assert figure.layout.xaxis.title.text == "Time in the song (s)" and tuple(figure.layout.xaxis.range) == (0.0, 8.0)
    assert not song_figures.genre_timeline_figure(prediction).layout.shapes
    with pytest.raises(InputError, match="window"):
        song_figures.genre_timeline_figure(prediction, highlight_window=3)


def test_gradcam_figure_places_the_window_in_song_time() -> None:
    prediction = song([ROCK, METAL, BLUES])
    rng = np.random.default_rng(0)
    prediction.features[2] = rng.uniform(-80.0, -10.0, prediction.features[2].shape)
    heatmap = rng.random((CONFIG.n_mels, CONFIG.frames_per_segment))

    figure = song_figures.window_gradcam_figure(prediction, 2, heatmap, title="t")
    spectrogram, overlay = figure.data
    np.testing.assert_allclose(spectrogram.x, 6.0 + frame_times(CONFIG))
    np.testing.assert_allclose(spectrogram.z, prediction.features[2], rtol=1e-6)
    assert (spectrogram.zmin, spectrogram.zmax) == (prediction.features[2].min(), prediction.features[2].max())
    np.testing.assert_allclose(overlay.z, heatmap)
    assert spectrogram.colorscale == tuple(tuple(stop) for stop in UNDERLAY_COLOURS)  # grey under the map, as on Browse
    assert figure.layout.yaxis.ticktext[-1] == f"{mel_band_frequencies(CONFIG)[-1]:.0f}"

    silent = song_figures.window_gradcam_figure(prediction, 0, heatmap).data[0]  # a constant -20 dB window
    assert (silent.zmin, silent.zmax) == (-21.0, -19.0)
    with pytest.raises(InputError, match="not spectrograms"):
        song_figures.window_gradcam_figure(song([ROCK], kind=SUMMARY), 0, heatmap)


def test_window_table_has_a_row_per_model_and_window() -> None:
    cnn = song([ROCK, METAL], duration=5.0)
    ffn = song([BLUES])
    ffn.class_names = ["blues", "jazz", "rock"]

    table = song_figures.window_table({"CNN": cnn, "FFN": ffn})
    assert list(table.columns) == ["model", "window", "start_s", "end_s", "genre", "blues", "metal", "rock", "jazz"]
    assert table["model"].to_numpy(dtype=str).tolist() == ["CNN", "CNN", "FFN"]
    assert table["genre"].to_numpy(dtype=str).tolist() == ["rock", "metal", "blues"]
    np.testing.assert_allclose(table["end_s"], [3.0, 5.0, 3.0])
    assert pd.isna(table.loc[2, "metal"]) and pd.isna(table.loc[0, "jazz"])
    assert table.loc[1, "metal"] == pytest.approx(0.8)

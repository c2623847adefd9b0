"""Property-based tests (hypothesis) of decoding and the feature pipeline over audio length, amplitude, sample
rate, channel count and sample format: the result is finite of the declared shape, or a one-line `InputError`,
never anything else (issue 14). Example counts are modest to keep the suite fast; the seed is fixed (derandomize)
so a run is reproducible."""

from __future__ import annotations

import io

import numpy as np
import pytest
import soundfile
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from genre_core import audio
from genre_core.config import FEATURE_KINDS, LOG_MEL, MFCC, SUMMARY, FeatureConfig
from genre_core.errors import InputError
from genre_core.features import segment_features

RATES = [4000, 8000, 11025, 16000, 22050, 44100, 48000, 96000, 192000]  #: 4 and 192 kHz are outside 8-96 kHz
SHAPES = ["sine", "noise", "dc", "antiphase", "zeros", "impulse"]
FORMATS = [("WAV", "FLOAT"), ("WAV", "PCM_16"), ("FLAC", "PCM_24"), ("OGG", "VORBIS")]
#: 1 s windows at 11025 Hz, few bands: cheap, and any song of 0.5 s or more gives at least one window.
CONFIG = FeatureConfig(sample_rate=11025, track_seconds=4.0, segments_per_track=4, n_mels=32, n_mfcc=13)
PROPERTY_SETTINGS = settings(max_examples=40, deadline=None, derandomize=True,
                             suppress_health_check=[HealthCheck.too_slow])


@st.composite
def songs(draw: st.DrawFn) -> tuple[bytes, int, int]:
    """(file bytes, input rate, channels) of a generated song of any length, level, rate and channel count."""
    rate = draw(st.sampled_from(RATES))
    channels = draw(st.integers(1, 4))
    seconds = draw(st.sampled_from([0.0, 0.01, 0.1, 0.3, 0.6, 1.0, 2.5]))
    shape = draw(st.sampled_from(SHAPES))
    level = draw(st.sampled_from([0.0, 1e-12, 1e-7, 1e-4, 1e-2, 0.5, 1.0, 3.0, 1e3, 1e30]))
    file_format, subtype = draw(st.sampled_from(FORMATS))
    if file_format == "OGG" and rate > 48000:  # Vorbis has no higher rates: not a GenreLens limit
        rate = 48000
    frames = int(seconds * rate)
    rng = np.random.default_rng(draw(st.integers(0, 2**16)))
    t = np.arange(frames) / rate
    mono = {
        "sine": np.sin(2 * np.pi * 440.0 * t),
        "noise": rng.standard_normal(frames),
        "dc": np.ones(frames),
        "antiphase": np.sin(2 * np.pi * 220.0 * t),
        "zeros": np.zeros(frames),
        "impulse": np.eye(1, frames, frames // 2)[0] if frames else np.zeros(0),
    }[shape] * level
    samples = np.repeat(mono[:, None], channels, axis=1)
    if shape == "antiphase" and channels > 1:
        samples[:, 1::2] *= -1
    if subtype != "FLOAT":
        samples = np.clip(samples, -1.0, 1.0)
    buffer = io.BytesIO()
    try:
        soundfile.write(buffer, samples.astype(np.float32), rate, format=file_format, subtype=subtype)
    except (soundfile.LibsndfileError, ValueError, RuntimeError):  # e.g. an empty OGG: the writer refuses
        buffer = io.BytesIO(b"")
    return buffer.getvalue(), rate, channels


def _is_one_line_input_error(error: InputError) -> bool:
    return error.source == "song.x" and "\n" not in str(error) and bool(error.reason)


@PROPERTY_SETTINGS
@given(song=songs(), target_rate=st.sampled_from([8000, 11025, 22050, 44100]))
def test_decoding_gives_finite_mono_at_the_rate_or_one_input_error(song: tuple[bytes, int, int],
                                                                    target_rate: int) -> None:
    content, rate, _ = song
    try:
        decoded = audio.decode_audio(content, target_rate, name="song.x")
    except InputError as error:
        assert _is_one_line_input_error(error), str(error)
        return
    samples = decoded.samples
    assert samples.dtype == np.float32 and samples.ndim == 1 and len(samples) >= audio.MIN_SAMPLES
    assert np.all(np.isfinite(samples))
    assert np.max(np.abs(samples)) <= 1.5 * audio.MAX_PEAK  # scaled down beyond MAX_PEAK (resampling may overshoot)
    assert audio.MIN_SAMPLE_RATE <= rate <= audio.MAX_SAMPLE_RATE
    level = 10 * np.log10(np.var(samples.astype(np.float64)))
    assert level >= audio.MIN_LEVEL_DBFS - 1e-6
    assert all(note.startswith("song.x: ") and "\n" not in note for note in decoded.notes)


@PROPERTY_SETTINGS
@given(song=songs())
def test_feature_pipeline_gives_finite_features_of_the_declared_shapes_or_one_input_error(
    song: tuple[bytes, int, int]
) -> None:
    content, _, _ = song
    try:
        samples = audio.load_audio(content, CONFIG.sample_rate, name="song.x")
        windows = audio.segment_audio(samples, CONFIG, name="song.x")
    except InputError as error:
        assert _is_one_line_input_error(error), str(error)
        return
    values = segment_features(windows, CONFIG, FEATURE_KINDS)
    n = len(windows)
    expected = {SUMMARY: (n, 57), LOG_MEL: (n, CONFIG.n_mels, CONFIG.frames_per_segment),
                MFCC: (n, CONFIG.frames_per_segment, CONFIG.n_mfcc)}
    for kind, shape in expected.items():
        assert values[kind].shape == shape and values[kind].dtype == np.float32
        assert np.all(np.isfinite(values[kind])), kind


@pytest.mark.parametrize("channels", [1, 2, 6])
def test_channel_count_never_changes_a_mono_signal(channels: int) -> None:
    """The same signal on every channel decodes to the mono decoding (the mean of equal channels)."""
    t = np.arange(11025) / 11025
    mono = (0.3 * np.sin(2 * np.pi * 330.0 * t)).astype(np.float32)
    buffer = io.BytesIO()
    soundfile.write(buffer, np.repeat(mono[:, None], channels, axis=1), 11025, format="WAV", subtype="FLOAT")
    np.testing.assert_allclose(audio.load_audio(buffer.getvalue(), 11025), mono, atol=1e-6)

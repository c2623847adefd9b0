"""Feature shapes and meaning, and agreement of the summary columns with the real Kaggle table."""

from __future__ import annotations

import subprocess
import sys
import warnings
from pathlib import Path

import librosa
import numpy as np
import pandas as pd
import pytest
from conftest import REPO_ROOT, tone
from scipy import ndimage

from genre_core.audio import load_audio, segment_audio
from genre_core.config import FEATURE_KINDS, LOG_MEL, MFCC, SUMMARY, FeatureConfig
from genre_core.errors import InputError
from genre_core import features, spectrogram
from genre_core.features import (
    SUMMARY_NAMES,
    batch_windows,
    compile_kernels,
    frame_times,
    hpss,
    log_mel,
    median_filter_along,
    mel_band_frequencies,
    mfcc,
    segment_features,
    short_number,
    summary_features,
    summary_label,
    summary_value_text,
    summary_vector,
)


def noisy_tone(frequency: float, seconds: float, sample_rate: int) -> np.ndarray:
    """A tone with a little seeded noise, so every feature is defined."""
    noise = np.random.default_rng(0).normal(0.0, 0.01, int(round(seconds * sample_rate)))
    return (tone(frequency, seconds, sample_rate) + noise).astype(np.float32)


@pytest.mark.parametrize(("segments_per_track", "frames"), [(10, 130), (1, 1292)])
def test_default_shapes_for_3_s_windows_and_30_s_clips(segments_per_track: int, frames: int) -> None:
    config = FeatureConfig(segments_per_track=segments_per_track)
    samples = noisy_tone(440.0, config.segment_seconds, config.sample_rate)
    spectrogram, coefficients = log_mel(samples, config), mfcc(samples, config)
    assert spectrogram.shape == (128, frames) and spectrogram.dtype == np.float32
    assert coefficients.shape == (frames, 20) and coefficients.dtype == np.float32
    assert np.all(np.isfinite(spectrogram)) and np.all(np.isfinite(coefficients))
    assert frame_times(config).shape == (frames,)


def test_a_1_khz_tone_peaks_in_the_band_centred_nearest_1_khz() -> None:
    config = FeatureConfig()
    spectrogram = log_mel(tone(1000.0, 3.0), config)
    centres = mel_band_frequencies(config)
    assert centres.shape == (128,) and np.all(np.diff(centres) > 0)
    assert np.argmax(spectrogram.mean(axis=1)) == np.argmin(np.abs(centres - 1000.0))
    low = log_mel(tone(200.0, 3.0), config)
    assert np.argmax(low.mean(axis=1)) < np.argmax(spectrogram.mean(axis=1))  # row 0 is the lowest band


def test_log_mel_is_decibels_of_power_without_a_floor(small_config: FeatureConfig) -> None:
    loud = log_mel(tone(440.0, 2.0, 11025, amplitude=0.5), small_config)
    quiet = log_mel(tone(440.0, 2.0, 11025, amplitude=0.05), small_config)
    peak = np.argmax(loud.mean(axis=1))
    assert loud[peak, 10] - quiet[peak, 10] == pytest.approx(20.0, abs=0.01)  # amplitude x10 = +20 dB power
    assert loud.max() - loud.min() > 80.0  # no top_db clipping


def test_short_signals_are_padded_with_the_floor_and_long_ones_cropped(small_config: FeatureConfig) -> None:
    frames = small_config.frames_per_segment
    half = log_mel(noisy_tone(440.0, 1.0, 11025), small_config)
    assert half.shape == (32, frames)
    real_frames = 1 + 11025 // small_config.hop_length
    assert np.all(half[:, real_frames:] == half.min())
    long = noisy_tone(440.0, 3.0, 11025)
    cropped = mfcc(long, small_config)
    assert cropped.shape == (frames, 13)
    np.testing.assert_allclose(cropped[:10], mfcc(long[:22050], small_config)[:10], rtol=1e-4, atol=1e-2)


def test_frame_times_step_by_the_hop(small_config: FeatureConfig) -> None:
    times = frame_times(small_config)
    assert times[0] == 0.0
    np.testing.assert_allclose(np.diff(times), small_config.hop_length / small_config.sample_rate)


def test_summary_names_are_the_kaggle_csv_feature_columns(gtzan_csv: Path) -> None:
    header = pd.read_csv(gtzan_csv, nrows=0).columns.tolist()
    assert header[:2] == ["filename", "length"] and header[-1] == "label"
    assert SUMMARY_NAMES == tuple(header[2:-1])
    assert len(SUMMARY_NAMES) == 57


@pytest.mark.slow
def test_summary_features_reproduce_the_kaggle_rows(gtzan_mini: Path, gtzan_csv: Path) -> None:
    table = pd.read_csv(gtzan_csv)
    table.index = table["filename"].to_numpy(dtype=str)
    for name in ("blues.00000.wav", "metal.00002.wav"):
        samples = load_audio(gtzan_mini / name.split(".")[0] / name, 22050)
        assert len(samples) == table.loc[name, "length"]
        ours = summary_features(samples, 22050)
        assert list(ours) == list(SUMMARY_NAMES)
        expected = table.loc[name, list(SUMMARY_NAMES)].to_numpy(dtype=float)
        values = np.array(list(ours.values()))
        # the means of the zero-centred HPSS waveforms (~1e-5) agree absolutely, every other column to 0.1 %
        near_zero = np.array([column in ("harmony_mean", "perceptr_mean") for column in SUMMARY_NAMES])
        np.testing.assert_allclose(values[~near_zero], expected[~near_zero], rtol=1e-3)
        np.testing.assert_allclose(values[near_zero], expected[near_zero], rtol=0, atol=1e-7)


def test_summary_tempo_follows_a_click_track() -> None:
    rate, bpm = 22050, 120.0
    clicks = np.zeros(10 * rate, dtype=np.float32)
    for start in np.arange(0, 10, 60 / bpm):
        clicks[int(start * rate) : int(start * rate) + 200] = noisy_tone(2000.0, 200 / rate, rate)
    assert summary_features(clicks, rate)["tempo"] == pytest.approx(bpm, rel=0.03)


def test_summary_of_silence_is_finite_with_zero_tempo() -> None:
    silence = np.zeros(22050, dtype=np.float32)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        values = summary_vector(silence, 22050)
    assert values.shape == (57,) and values.dtype == np.float32 and np.all(np.isfinite(values))
    np.testing.assert_array_equal(values, np.float32(list(summary_features(silence, 22050).values())))
    assert values[SUMMARY_NAMES.index("tempo")] == 0.0


@pytest.mark.parametrize("length", [*range(1, 40), 130, 1025])
@pytest.mark.parametrize("axis", [0, 1])
def test_median_filter_along_one_axis_equals_scipys_filter_exactly(length: int, axis: int) -> None:
    rng = np.random.default_rng(length)
    shape = (length, 7) if axis == 0 else (7, length)
    values = rng.random(shape).astype(np.float32)
    values[:, ::2] = np.round(values[:, ::2] * 3)  # ties
    footprint = (31, 1) if axis == 0 else (1, 31)
    expected = ndimage.median_filter(values, size=footprint, mode="reflect")
    filtered = median_filter_along(values, 31, axis=axis)
    assert filtered.dtype == values.dtype and filtered.shape == values.shape
    np.testing.assert_array_equal(filtered, expected)


def test_median_filter_needs_an_odd_length() -> None:
    with pytest.raises(InputError, match="odd length"):
        median_filter_along(np.ones((4, 40), dtype=np.float32), 30, axis=1)


def test_soft_masks_equal_librosas_both_ways_exactly_silence_included() -> None:
    rng = np.random.default_rng(3)
    harmonic, percussive = rng.random((2, 64, 90)).astype(np.float32)
    harmonic[:4], percussive[:4] = 0, 0  # silent: 0.5 each
    harmonic[4:8], percussive[6:10] = 0, 1e-39  # one side silent, or below the smallest normal float32
    percussive[10:12] = harmonic[10:12]  # ties
    ours = features.soft_masks(harmonic, percussive)
    theirs = (librosa.util.softmask(harmonic, percussive, power=2.0, split_zeros=True),
              librosa.util.softmask(percussive, harmonic, power=2.0, split_zeros=True))
    for mask, expected in zip(ours, theirs, strict=True):
        assert mask.dtype == expected.dtype == np.float32
        np.testing.assert_array_equal(mask, expected)
    np.testing.assert_array_equal(ours[0][:4], 0.5)


@pytest.mark.slow
def test_summary_of_real_music_is_that_of_librosas_own_soft_masks(gtzan_mini: Path, monkeypatch) -> None:
    """The 57 columns of two real 30 s tracks are those computed with ``librosa.util.softmask`` called once per
    part, as before the masks shared their rescaling: the FFN sees the features it was trained on."""
    windows = np.stack([load_audio(gtzan_mini / genre / f"{genre}.00004.wav", 22050)[: 30 * 22050]
                        for genre in ("jazz", "hiphop")])
    ours = segment_features(windows, FeatureConfig(track_seconds=30.0, segments_per_track=1), [SUMMARY])[SUMMARY]
    monkeypatch.setattr(features, "soft_masks", lambda harmonic, percussive: (
        librosa.util.softmask(harmonic, percussive, power=2.0, split_zeros=True),
        librosa.util.softmask(percussive, harmonic, power=2.0, split_zeros=True)))
    before = np.stack([summary_vector(window, 22050) for window in windows])
    np.testing.assert_array_equal(ours, before)


@pytest.mark.parametrize("seconds", [0.1, 3.0])
def test_hpss_equals_librosas_exactly(seconds: float) -> None:
    rate = 22050
    signal = noisy_tone(330.0, seconds, rate)
    signal[:: rate // 8] += 0.8  # clicks: a percussive part
    spectrum = librosa.stft(signal, pad_mode="reflect")
    for ours, theirs in zip(hpss(spectrum), librosa.decompose.hpss(spectrum), strict=True):
        assert ours.dtype == theirs.dtype and ours.shape == theirs.shape
        np.testing.assert_array_equal(ours, theirs)


def test_segment_features_stack_every_kind(small_config: FeatureConfig) -> None:
    windows = segment_audio(noisy_tone(440.0, 4.0, 11025), small_config)
    stacked = segment_features(windows, small_config, FEATURE_KINDS)
    frames = small_config.frames_per_segment
    assert stacked[SUMMARY].shape == (2, 57)
    assert stacked[LOG_MEL].shape == (2, 32, frames)
    assert stacked[MFCC].shape == (2, frames, 13)
    assert all(values.dtype == np.float32 for values in stacked.values())
    np.testing.assert_array_equal(stacked[LOG_MEL][1], log_mel(windows[1], small_config))
    np.testing.assert_array_equal(stacked[MFCC][0], mfcc(windows[0], small_config))
    np.testing.assert_array_equal(stacked[SUMMARY][1], summary_vector(windows[1], 11025))
    assert list(segment_features(windows, small_config, [MFCC])) == [MFCC]


@pytest.mark.parametrize(
    "config",
    [FeatureConfig(track_seconds=6.0, segments_per_track=2), FeatureConfig(n_fft=1024, hop_length=256, n_mels=64)],
    ids=["default framing", "own framing"],
)
def test_windows_share_one_stft_call_per_framing_and_give_the_values_of_separate_calls(
    config: FeatureConfig, monkeypatch: pytest.MonkeyPatch
) -> None:
    windows = segment_audio(noisy_tone(440.0, config.track_seconds, config.sample_rate), config)[:2]
    separate = {
        SUMMARY: np.stack([summary_vector(window, config.sample_rate) for window in windows]),
        LOG_MEL: np.stack([log_mel(window, config) for window in windows]),
        MFCC: np.stack([mfcc(window, config) for window in windows]),
    }
    stft_calls: list[tuple[int, int]] = []  # librosa's complex STFT: the summary columns (HPSS needs the phase)
    power_calls: list[tuple[int, int]] = []  # the frame-major power spectrum: log-mel and MFCC
    original_stft, original_power = librosa.stft, spectrogram.power_frames

    def counting_stft(samples: np.ndarray, **settings: object) -> np.ndarray:
        stft_calls.append((settings["n_fft"], settings["hop_length"]))
        return original_stft(samples, **settings)

    def counting_power(samples: np.ndarray, n_fft: int, hop_length: int, pad_mode: str) -> np.ndarray:
        power_calls.append((n_fft, hop_length))
        return original_power(samples, n_fft, hop_length, pad_mode)

    monkeypatch.setattr(librosa, "stft", counting_stft)
    monkeypatch.setattr(spectrogram, "power_frames", counting_power)
    stacked = segment_features(windows, config, FEATURE_KINDS)
    for kind in FEATURE_KINDS:
        np.testing.assert_array_equal(stacked[kind], separate[kind])
    # one call each for the stack of windows: the summary's framing, and the config's (log-mel and MFCC share it)
    assert stft_calls == [(2048, 512)] and power_calls == [(config.n_fft, config.hop_length)]


def test_a_batch_holds_a_bounded_number_of_samples_whatever_the_window_length() -> None:
    assert batch_windows(66150) == 32  # 3 s windows at 22050 Hz
    assert batch_windows(661500) == 3  # 30 s windows
    assert batch_windows(47744) == 44  # musicnn's 2.984 s at 16 kHz
    assert batch_windows(10 * features.BATCH_SAMPLES) == 1


def test_batches_of_few_windows_give_the_values_of_one_batch(
    small_config: FeatureConfig, monkeypatch: pytest.MonkeyPatch
) -> None:
    windows = segment_audio(noisy_tone(440.0, 9.0, small_config.sample_rate), small_config)
    together = segment_features(windows, small_config, [LOG_MEL, MFCC])
    monkeypatch.setattr(features, "BATCH_SAMPLES", 2 * small_config.segment_samples)
    power_calls: list[int] = []
    original_power = spectrogram.power_frames
    monkeypatch.setattr(spectrogram, "power_frames", lambda samples, *framing: power_calls.append(len(samples))
                        or original_power(samples, *framing))

    in_twos = segment_features(windows, small_config, [LOG_MEL, MFCC])

    assert len(windows) == 5 and power_calls == [2, 2, 1]
    for kind in (LOG_MEL, MFCC):
        np.testing.assert_array_equal(in_twos[kind], together[kind])


@pytest.mark.parametrize(
    ("segments", "kinds", "reason"),
    [
        (np.ones((2, 100), dtype=np.float32), ["spectrogram"], "unknown feature kind"),
        (np.ones(100, dtype=np.float32), [MFCC], "expected windows"),
        (np.ones((0, 100), dtype=np.float32), [MFCC], "expected windows"),
    ],
)
def test_segment_features_reject_bad_requests(segments: np.ndarray, kinds: list[str], reason: str) -> None:
    with pytest.raises(InputError, match=reason):
        segment_features(segments, FeatureConfig(), kinds)


def test_features_reject_non_mono_samples(small_config: FeatureConfig) -> None:
    with pytest.raises(InputError, match="expected a non-empty mono signal"):
        log_mel(np.ones((2, 4000), dtype=np.float32), small_config)


def test_importing_audio_and_features_does_not_import_tensorflow() -> None:
    code = "import sys, genre_core.audio, genre_core.features; print('tensorflow' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=REPO_ROOT)
    assert result.stdout.strip() == "False"


def test_compile_kernels_runs_once_per_process():
    compile_kernels()
    before = compile_kernels.cache_info().misses
    compile_kernels()
    assert compile_kernels.cache_info().misses == before == 1  # the second call compiles nothing


def test_short_number_keeps_three_significant_digits() -> None:
    assert short_number(1234.5678) == "1230"
    assert short_number(0.0012345) == "0.00123"
    assert short_number(-15.27) == "-15.3"
    assert short_number(0.0) == "0"
    assert short_number(2.5e-7) == "2.50e-07"


@pytest.mark.parametrize(("name", "label"), [
    ("mfcc4_var", "MFCC 4 variance"),
    ("mfcc13_mean", "MFCC 13 mean"),
    ("spectral_centroid_var", "spectral centroid (brightness) variance"),
    ("zero_crossing_rate_mean", "zero-crossing rate mean"),
    ("tempo", "tempo"),
    ("my_own_column", "my_own_column"),
])
def test_summary_columns_have_names_a_student_can_read(name: str, label: str) -> None:
    assert summary_label(name) == label


def test_summary_values_read_with_their_units() -> None:
    assert summary_value_text("spectral_centroid_mean", 1834.2) == "1830 Hz"
    assert summary_value_text("spectral_centroid_var", 3.34e6) == "(1830 Hz)²"  # not 3.34e+06
    assert summary_value_text("tempo", 123.05) == "123 BPM"
    assert summary_value_text("mfcc4_var", 61.234) == "61.2"
    assert {label for label in map(summary_label, SUMMARY_NAMES) if "_" in label} == set()


def assert_librosas_values_to_float32_rounding(windows: np.ndarray, coefficients: np.ndarray,
                                               spectrograms: np.ndarray, n_mfcc: int, sample_rate: int) -> None:
    """Each window's MFCCs and log-mel against librosa's own calls (the STFT in float64): MFCCs within 1e-6 of the
    window's largest coefficient (~8 float32 steps); log-mel within 1e-3 dB where it is within 80 dB of the
    window's loudest value, within 0.05 dB under that, where the float32 FFT's rounding shows."""
    for window, ours_mfcc, ours_mel in zip(windows, coefficients, spectrograms, strict=True):
        expected = librosa.feature.mfcc(y=window, sr=sample_rate, n_mfcc=n_mfcc, pad_mode="reflect").T
        np.testing.assert_allclose(ours_mfcc, expected, rtol=0, atol=1e-6 * np.abs(expected).max())
        power = librosa.feature.melspectrogram(y=window, sr=sample_rate, pad_mode="reflect")
        decibels = librosa.power_to_db(power, top_db=None)
        strong = decibels >= decibels.max() - 80
        np.testing.assert_allclose(ours_mel[strong], decibels[strong], rtol=0, atol=1e-3)
        np.testing.assert_allclose(ours_mel, decibels, rtol=0, atol=0.05)


def test_a_stack_of_windows_gives_librosas_mfcc_and_mel_values_to_float32_rounding() -> None:
    config = FeatureConfig(track_seconds=6.0, segments_per_track=3, n_mfcc=16)
    windows = segment_audio(noisy_tone(440.0, 6.0, config.sample_rate), config)
    stacked = segment_features(windows, config, [MFCC, LOG_MEL])
    assert_librosas_values_to_float32_rounding(windows, stacked[MFCC], stacked[LOG_MEL], 16, config.sample_rate)


def test_real_tracks_give_librosas_and_the_tutorial_pipelines_values_to_float32_rounding(
        gtzan_mini: Path, tmp_path: Path) -> None:
    from benchmarks.reference_pipeline import reference_mfcc

    config = FeatureConfig(segments_per_track=10, n_mfcc=16)
    files = [(gtzan_mini / genre / f"{genre}.00001.wav", genre) for genre in ("blues", "classical", "hiphop")]
    reference = reference_mfcc(files, tmp_path / "reference.json", n_mfcc=16, segments=10)
    rows = 0
    for path, _ in files:
        windows = segment_audio(load_audio(path, config.sample_rate), config)
        stacked = segment_features(windows, config, [MFCC, LOG_MEL])
        assert_librosas_values_to_float32_rounding(windows[::3], stacked[MFCC][::3], stacked[LOG_MEL][::3], 16,
                                                   config.sample_rate)
        for track, segment, complete, values in zip(reference["track"], reference["segment"],
                                                    reference["complete"], reference["mfcc"], strict=True):
            if track == path.stem and complete:
                expected = np.asarray(values, dtype=np.float32)
                np.testing.assert_allclose(stacked[MFCC][segment], expected, rtol=0,
                                           atol=1e-6 * np.abs(expected).max())
                rows += 1
    assert rows >= 27  # every complete window of the three tracks was compared

"""The frame-major float32 spectrogram path: librosa's power, mel and dB values to float32 rounding."""

from __future__ import annotations

from pathlib import Path

import librosa
import numpy as np
import pytest

from genre_core import spectrogram
from genre_core.audio import load_audio


@pytest.fixture(scope="module")
def real_windows(gtzan_mini: Path) -> np.ndarray:
    """Three 3 s windows of each of two real GTZAN tracks (a quiet start, a middle, the end): (6, 66150) float32."""
    tracks = [load_audio(gtzan_mini / genre / f"{genre}.00000.wav", 22050) for genre in ("classical", "metal")]
    return np.stack([track[start : start + 66150] for track in tracks for start in (0, 300_000, 595_000)])


@pytest.mark.parametrize("pad_mode", ["reflect", "constant"])
def test_power_frames_are_librosas_power_spectrum_to_float32_rounding(real_windows: np.ndarray,
                                                                      pad_mode: str) -> None:
    power = spectrogram.power_frames(real_windows, 2048, 512, pad_mode)
    assert power.shape == (6, 130, 1025) and power.dtype == np.float32 and power.flags.c_contiguous
    for window, ours in zip(real_windows, power, strict=True):
        theirs = np.abs(librosa.stft(window, n_fft=2048, hop_length=512, pad_mode=pad_mode)).T ** 2
        loudest = theirs.max(axis=1, keepdims=True)  # each frame's largest bin: the FFT rounds relative to it
        assert np.all(np.abs(ours - theirs) <= 1e-6 * loudest)
        strong = theirs >= 1e-6 * loudest  # within 60 dB of the frame's largest bin
        np.testing.assert_allclose(ours[strong], theirs[strong], rtol=1e-3)


def test_a_window_alone_gives_its_values_in_a_stack_exactly(real_windows: np.ndarray) -> None:
    stacked = spectrogram.power_frames(real_windows, 2048, 512, "reflect")
    alone = spectrogram.power_frames(real_windows[4], 2048, 512, "reflect")
    np.testing.assert_array_equal(alone, stacked[4])
    bank = spectrogram.mel_bank(22050, 2048, 128)
    np.testing.assert_array_equal(bank.apply(alone), bank.apply(stacked)[4])


@pytest.mark.parametrize(("sample_rate", "n_fft", "n_mels"), [(22050, 2048, 128), (16000, 512, 96), (11025, 512, 32)])
def test_the_mel_bank_blocks_hold_every_weight_of_librosas_filters(sample_rate: int, n_fft: int, n_mels: int) -> None:
    expected = librosa.filters.mel(sr=sample_rate, n_fft=n_fft, n_mels=n_mels)
    bank = spectrogram.mel_bank(sample_rate, n_fft, n_mels)
    rebuilt = np.zeros_like(expected)
    for block in bank.blocks:
        rebuilt[block.first_filter : block.end_filter, block.first_bin : block.first_bin + len(block.weights)] = \
            block.weights.T
    np.testing.assert_array_equal(rebuilt, expected)
    assert sum(block.weights.size for block in bank.blocks) < expected.size / 3  # the zeros are mostly skipped


def test_the_mel_bank_gives_librosas_mel_power_to_float32_rounding(real_windows: np.ndarray) -> None:
    power = spectrogram.power_frames(real_windows, 2048, 512, "reflect")
    mel = spectrogram.mel_bank(22050, 2048, 128).apply(power)
    assert mel.shape == (6, 130, 128) and mel.dtype == np.float32
    expected = librosa.feature.melspectrogram(S=np.swapaxes(power, -1, -2), sr=22050)
    np.testing.assert_allclose(np.swapaxes(mel, -1, -2), expected, rtol=1e-5, atol=1e-30)


def test_power_to_decibels_is_librosas_power_to_db_value_for_value() -> None:
    power = np.array([[0.0, 1e-12, 1e-10, 3.7e-7, 1.0, 2.5e4]], dtype=np.float32)
    power = np.concatenate([power, np.random.default_rng(1).random((50, 6), dtype=np.float32) ** 8])
    ours = spectrogram.power_to_decibels(power)
    assert ours.dtype == np.float32
    np.testing.assert_array_equal(ours, librosa.power_to_db(power, ref=1.0, amin=1e-10, top_db=None))

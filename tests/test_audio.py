"""Decoding files and bytes, rejecting bad input with one-line errors, windows and widths."""

from __future__ import annotations

import io
import os
import struct
from pathlib import Path

import numpy as np
import pytest
import soundfile

from genre_core import audio
from genre_core.audio import (
    SUPPORTED_EXTENSIONS,
    decode_audio,
    fit_width,
    load_audio,
    segment_audio,
    segment_count,
    segment_start_seconds,
)
from genre_core.config import FeatureConfig
from genre_core.errors import InputError
from conftest import tone

FORMATS = {  # extension -> (soundfile format, subtype)
    ".wav": ("WAV", "PCM_16"),
    ".au": ("AU", "PCM_16"),
    ".flac": ("FLAC", "PCM_16"),
    ".ogg": ("OGG", "VORBIS"),
    ".mp3": ("MP3", "MPEG_LAYER_III"),
}


def write(path: Path, samples: np.ndarray, rate: int, subtype: str | None = None) -> Path:
    """Write ``samples`` ((n,) or (n, channels)) to ``path`` in the format its extension names."""
    file_format, default_subtype = FORMATS[path.suffix]
    soundfile.write(path, samples, rate, format=file_format, subtype=subtype or default_subtype)
    return path


def dominant_frequency(samples: np.ndarray, rate: int) -> float:
    """Frequency (Hz) of the strongest FFT bin."""
    spectrum = np.abs(np.fft.rfft(samples))
    return float(np.fft.rfftfreq(len(samples), 1 / rate)[np.argmax(spectrum)])


def test_supported_extensions_cover_the_formats_written_here() -> None:
    assert set(SUPPORTED_EXTENSIONS) == set(FORMATS)


@pytest.mark.parametrize("extension", list(FORMATS))
def test_every_format_decodes_to_mono_float32_at_the_target_rate(tmp_path: Path, extension: str) -> None:
    path = write(tmp_path / f"tone{extension}", tone(440.0, 1.0, 22050), 22050)
    samples = load_audio(path, sample_rate=16000)
    assert samples.dtype == np.float32 and samples.ndim == 1
    assert abs(len(samples) - 16000) < 0.06 * 16000  # lossy codecs add a little padding
    assert dominant_frequency(samples, 16000) == pytest.approx(440.0, abs=2.0)
    assert 0.3 < np.max(np.abs(samples)) < 0.7


@pytest.mark.parametrize("extension", [".wav", ".flac", ".mp3"])
def test_bytes_and_path_give_the_same_samples(tmp_path: Path, extension: str) -> None:
    path = write(tmp_path / f"tone{extension}", tone(330.0, 0.5, 22050), 22050)
    from_path = load_audio(path)
    from_bytes = load_audio(path.read_bytes(), name=path.name)
    np.testing.assert_array_equal(from_path, from_bytes)


@pytest.mark.parametrize("input_rate", [8000, 96000])
def test_input_rates_at_both_ends_are_resampled(tmp_path: Path, input_rate: int) -> None:
    path = write(tmp_path / "tone.wav", tone(1000.0, 1.0, input_rate), input_rate)
    samples = load_audio(path, sample_rate=22050)
    assert len(samples) == 22050
    assert dominant_frequency(samples, 22050) == pytest.approx(1000.0, abs=1.5)


def test_stereo_is_averaged_to_mono(tmp_path: Path) -> None:
    left, right = tone(440.0, 0.5), tone(880.0, 0.5, amplitude=0.25)
    path = write(tmp_path / "stereo.wav", np.stack([left, right], axis=1), 22050, subtype="FLOAT")
    np.testing.assert_allclose(load_audio(path), (left + right) / 2, atol=1e-7)


def test_24_bit_pcm_keeps_its_resolution(tmp_path: Path) -> None:
    quiet = tone(440.0, 0.5, amplitude=1e-2)
    samples = load_audio(write(tmp_path / "quiet.wav", quiet, 22050, subtype="PCM_24"))
    assert np.max(np.abs(samples - quiet)) < 2**-22  # 16-bit would be off by up to 2**-16


def wav_bytes(samples: np.ndarray, rate: int = 22050, subtype: str = "PCM_16") -> bytes:
    buffer = io.BytesIO()
    soundfile.write(buffer, samples, rate, format="WAV", subtype=subtype)
    return buffer.getvalue()


def float_wav_with(value: float) -> bytes:
    """A 32-bit float WAV of a tone in which one sample is ``value``."""
    samples = tone(440.0, 0.5)
    samples[100] = value
    return wav_bytes(samples, subtype="FLOAT")


BAD_FILES = {  # file name -> (content, a fragment of the reason)
    "empty.wav": (b"", "is empty"),
    "text.mp3": (b"this is not audio, just some text pretending to be an mp3\n" * 40, "cannot decode"),
    "header-only.wav": (wav_bytes(tone(440.0, 1.0))[:40], "cannot decode"),
    "truncated.wav": (wav_bytes(tone(440.0, 1.0))[:30000], "is truncated"),
    "short.wav": (wav_bytes(tone(440.0, 2047 / 22050)), "too short: 2047 samples, need at least 2048"),
    "silent.wav": (wav_bytes(np.zeros(22050, dtype=np.float32)), "is silent"),
    "nan.wav": (float_wav_with(np.nan), "NaN or infinite"),
    "inf.wav": (float_wav_with(np.inf), "NaN or infinite"),
    "rate4000.wav": (wav_bytes(tone(440.0, 1.0, 4000), rate=4000), "sample rate 4000 Hz is outside"),
    "rate192000.wav": (wav_bytes(tone(440.0, 0.1, 192000), rate=192000), "sample rate 192000 Hz is outside"),
    "noise1e-7.wav": (wav_bytes(1e-7 * np.random.default_rng(0).standard_normal(22050).astype(np.float32),
                                subtype="FLOAT"), "too quiet to classify (level -140 dBFS; the least is -60 dBFS)"),
    "dc.wav": (wav_bytes(np.full(22050, 0.5, dtype=np.float32)), "too quiet to classify (no sound besides a constant"),
}


@pytest.mark.parametrize("file_name", list(BAD_FILES))
def test_bad_files_raise_one_line_input_errors_naming_the_file(tmp_path: Path, file_name: str) -> None:
    content, reason = BAD_FILES[file_name]
    path = tmp_path / file_name
    path.write_bytes(content)
    for source, label in ((path, str(path)), (content, file_name)):
        with pytest.raises(InputError) as raised:
            load_audio(source, name=None if isinstance(source, Path) else file_name)
        assert raised.value.source == label
        assert reason in raised.value.reason
        assert "\n" not in str(raised.value)


def test_truncated_au_is_rejected_too(tmp_path: Path) -> None:
    path = write(tmp_path / "full.au", tone(440.0, 1.0), 22050)
    cut = tmp_path / "cut.au"
    cut.write_bytes(path.read_bytes()[:20000])
    with pytest.raises(InputError, match="is truncated"):
        load_audio(cut)


def test_streaming_wav_with_unknown_data_length_is_not_called_truncated(tmp_path: Path) -> None:
    content = bytearray(wav_bytes(tone(440.0, 0.5)))
    data_size_offset = content.index(b"data") + 4
    content[data_size_offset : data_size_offset + 4] = struct.pack("<I", 0xFFFFFFFF)
    assert len(load_audio(bytes(content), name="stream.wav")) == 11025


def test_unusable_paths_are_rejected(tmp_path: Path) -> None:
    notes = tmp_path / "notes.txt"
    notes.write_text("hello")
    for path, reason in (
        (tmp_path / "missing.wav", "file not found"),
        (tmp_path, "is not a file"),
        (notes, "unsupported format '.txt'"),
    ):
        with pytest.raises(InputError, match=reason):
            load_audio(path)


def test_uploaded_bytes_without_a_name_are_labelled() -> None:
    with pytest.raises(InputError) as raised:
        load_audio(b"")
    assert raised.value.source == "audio bytes"


GTZAN_CONFIG = FeatureConfig()  # 10 windows of 3 s at 22050 Hz


@pytest.mark.parametrize(
    ("seconds", "expected_windows"),
    [(29.98, 10), (30.013, 10), (30.0, 10), (3.0, 1), (4.4, 1), (4.6, 2), (45.0, 15)],
)
def test_window_count_pads_long_remainders_and_drops_short_ones(seconds: float, expected_windows: int) -> None:
    samples = tone(220.0, seconds)
    windows = segment_audio(samples, GTZAN_CONFIG)
    assert windows.shape == (expected_windows, GTZAN_CONFIG.segment_samples)
    assert segment_count(len(samples), GTZAN_CONFIG) == expected_windows
    assert windows.dtype == np.float32
    covered = min(len(samples), windows.size)
    np.testing.assert_array_equal(windows.reshape(-1)[:covered], samples[:covered])
    assert not np.any(windows.reshape(-1)[covered:])


def test_remainder_threshold_follows_min_remainder(small_config: FeatureConfig) -> None:
    window = small_config.segment_samples
    strict = FeatureConfig(**{**small_config.to_dict(), "min_remainder": 0.9})
    samples = np.ones(window + window // 2, dtype=np.float32)
    assert len(segment_audio(samples, small_config)) == 2
    assert len(segment_audio(samples, strict)) == 1


def test_too_short_for_one_window_names_the_input(small_config: FeatureConfig) -> None:
    samples = np.ones(small_config.segment_samples // 3, dtype=np.float32)
    with pytest.raises(InputError, match=r"^song\.wav: too short"):
        segment_audio(samples, small_config, name="song.wav")
    with pytest.raises(InputError, match=r"^song\.wav: too short: 0\.67 s, need at least 1\.00 s"):
        segment_count(len(samples), small_config, name="song.wav")


def test_segment_rejects_multichannel_input(small_config: FeatureConfig) -> None:
    with pytest.raises(InputError, match="expected mono"):
        segment_audio(np.ones((2, 50000), dtype=np.float32), small_config)


def test_segment_start_seconds_step_by_one_window() -> None:
    np.testing.assert_allclose(segment_start_seconds(4, GTZAN_CONFIG), [0.0, 3.0, 6.0, 9.0])


def test_fit_width_crops_from_the_end_and_pads_with_zeros_or_the_minimum() -> None:
    matrix = np.arange(12, dtype=np.float32).reshape(3, 4) - 20.0
    np.testing.assert_array_equal(fit_width(matrix, 2), matrix[:, :2])
    np.testing.assert_array_equal(fit_width(matrix, 2, axis=0), matrix[:2])
    padded = fit_width(matrix, 6)
    assert padded.shape == (3, 6) and padded.dtype == np.float32
    np.testing.assert_array_equal(padded[:, :4], matrix)
    assert not np.any(padded[:, 4:])
    floor_padded = fit_width(matrix, 5, axis=0, pad_with_minimum=True)
    assert floor_padded.shape == (5, 4)
    assert np.all(floor_padded[3:] == matrix.min())
    np.testing.assert_array_equal(fit_width(matrix, 4), matrix)


def test_fit_width_rejects_a_zero_width() -> None:
    with pytest.raises(InputError, match="width"):
        fit_width(np.ones((2, 2)), 0)


# --- levels, channels and length (issue 14, defects 3 and 6) -------------------------------------------------------
def test_float_audio_far_beyond_full_scale_is_scaled_down_with_a_note(tmp_path: Path) -> None:
    """A float WAV x1e30 is finite, but its log-mel overflowed to all NaN: it is scaled to peak 1 instead."""
    from genre_core.features import log_mel

    path = write(tmp_path / "loud.wav", tone(440.0, 1.0) * np.float32(1e30), 22050, subtype="FLOAT")
    decoded = decode_audio(path)
    np.testing.assert_allclose(decoded.samples, tone(440.0, 1.0) / 0.5, atol=1e-6)  # peak 0.5 -> 1
    assert decoded.notes == (f"{path}: samples reach 5e+29, far beyond full scale (1): scaled down to peak 1",)
    assert np.all(np.isfinite(log_mel(decoded.samples, FeatureConfig())))


def test_antiphase_stereo_is_not_called_silent_and_says_what_was_done(tmp_path: Path) -> None:
    left = tone(440.0, 1.0, amplitude=0.9)
    path = write(tmp_path / "antiphase.wav", np.stack([left, -left], axis=1), 22050, subtype="FLOAT")
    decoded = decode_audio(path)
    np.testing.assert_allclose(decoded.samples, left, atol=1e-7)
    assert len(decoded.notes) == 1 and "channels cancel out when averaged (antiphase stereo" in decoded.notes[0]
    assert decoded.notes[0].endswith("channel 1 used alone")


def test_only_the_first_minutes_are_decoded_with_a_note(tmp_path: Path, caplog) -> None:
    path = write(tmp_path / "long.flac", tone(440.0, 6.0), 22050)
    with caplog.at_level("WARNING", logger="genre_core"):
        samples = load_audio(path, max_seconds=2.4)
    assert len(samples) == int(2.4 * 22050)
    assert caplog.messages == [f"{path}: only the first 0:02 (m:ss) of 0:06 decoded, the limit per song"]
    assert audio.MAX_DECODE_SECONDS == 600.0  # the default: 10 minutes


def test_a_long_file_is_decoded_in_bounded_memory(tmp_path: Path) -> None:
    """100 s of 44.1 kHz float stereo (35 MB on disk) decoded up to 10 s: the peak of Python/NumPy allocations
    stays far below the whole file (block-wise reading, mixed down block by block)."""
    import tracemalloc

    rng = np.random.default_rng(0)
    block = (0.1 * rng.standard_normal((44100, 2))).astype(np.float32)
    with soundfile.SoundFile(tmp_path / "long.wav", "w", 44100, 2, subtype="FLOAT") as sink:
        for _ in range(100):
            sink.write(block)
    tracemalloc.start()
    samples = load_audio(tmp_path / "long.wav", 22050, max_seconds=10.0)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert len(samples) == 220500
    assert peak < 12e6, f"peak {peak / 1e6:.1f} MB"  # the file holds 35 MB; 10 s of it as stereo float is 3.5 MB


def test_notes_are_collected_on_this_thread_only(tmp_path: Path) -> None:
    import threading

    left = tone(440.0, 1.0)
    content = wav_bytes(np.stack([left, -left], axis=1), subtype="FLOAT")
    other = threading.Thread(target=load_audio, args=(content,), kwargs={"name": "other.wav"})
    with audio.notes_collected() as notes:
        other.start()
        other.join()
        load_audio(content, name="mine.wav")
    assert len(notes) == 1 and notes[0].startswith("mine.wav: its channels cancel out")


def test_uploaded_bytes_over_the_song_limit_are_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    content = wav_bytes(tone(440.0, 1.0))
    monkeypatch.setattr(audio, "MAX_SONG_BYTES", len(content) - 1)
    with pytest.raises(InputError, match=r"^song\.wav: is 0\.0 MB, more than the 0 MB limit per song$"):
        load_audio(content, name="song.wav")


def test_a_cut_mp3_decodes_up_to_the_cut_with_a_note() -> None:
    """A truncated WAV/AU is refused (its header says how long it is); a cut MP3 has no such field, but libsndfile
    estimates its length: the part present is used, and a note says it ends early (issue 14, defect 9)."""
    buffer = io.BytesIO()
    soundfile.write(buffer, tone(440.0, 20.0), 22050, format="MP3", subtype="MPEG_LAYER_III")
    content = buffer.getvalue()
    decoded = decode_audio(content[: len(content) // 3], name="cut.mp3")
    assert 5.0 < len(decoded.samples) / 22050 < 8.0
    assert len(decoded.notes) == 1 and decoded.notes[0].startswith("cut.mp3: ends after 6.")
    assert decoded.notes[0].endswith("although its header announces 20.0 s (cut short?): the part present is used")
    assert decode_audio(content, name="whole.mp3").notes == ()


def test_libmpg123_notes_do_not_reach_stderr_but_other_lines_do(capfd, monkeypatch: pytest.MonkeyPatch) -> None:
    """libmpg123 writes "Note: Illegal Audio-MPEG-Header" and "Warning: Xing ..." straight to file descriptor 2
    beside GenreLens's one line; they are dropped, anything else written meanwhile is kept (issue 14, defect 7)."""
    buffer = io.BytesIO()
    soundfile.write(buffer, tone(440.0, 20.0), 22050, format="MP3", subtype="MPEG_LAYER_III")
    cut = buffer.getvalue()[: len(buffer.getvalue()) // 3]
    real = audio._to_mono_at_rate

    def also_writing(*args):
        os.write(2, b"another thread's line\n")
        return real(*args)

    monkeypatch.setattr(audio, "_to_mono_at_rate", also_writing)
    decode_audio(cut, name="cut.mp3")
    with pytest.raises(InputError):
        decode_audio(b"\xff\xfb" + bytes(3000), name="garbage.mp3")
    assert capfd.readouterr().err == "another thread's line\n"
    os.write(2, b"stderr is back\n")
    assert capfd.readouterr().err == "stderr is back\n"


@pytest.mark.parametrize("extension", [".wav", ".au", ".flac"])
@pytest.mark.parametrize("channels", [1, 2])
def test_16_bit_files_decode_to_libsndfiles_own_float_values(tmp_path: Path, extension: str, channels: int) -> None:
    pcm = np.random.default_rng(3).integers(-32768, 32768, size=(30_000, channels), dtype=np.int16)
    pcm[:2] = [[-32768] * channels, [32767] * channels]  # both ends of the range
    path = write(tmp_path / f"pcm16{extension}", pcm, 22050, subtype="PCM_16")
    expected = soundfile.read(path, dtype="float32", always_2d=True)[0].mean(axis=1, dtype=np.float32)
    np.testing.assert_array_equal(decode_audio(path, 22050).samples, expected)

"""Audio in: decode a file or uploaded bytes to mono float32, cut it into windows, pad or crop matrices.

Decoding uses soundfile (libsndfile: WAV, AU, FLAC, OGG and MP3 at any bit depth); a path that
libsndfile cannot read is tried once more with audioread. Every failure becomes an `InputError`
naming the input, never a decoder traceback.
"""

from __future__ import annotations

import contextlib
import io
import logging
import math
import os
import re
import sys
import tempfile
import threading
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import soundfile

from genre_core.config import FeatureConfig
from genre_core.errors import InputError

SUPPORTED_EXTENSIONS = (".wav", ".au", ".flac", ".ogg", ".mp3")
MIN_SAMPLE_RATE = 8000  #: Hz, lowest input (and target) rate accepted
MAX_SAMPLE_RATE = 96000  #: Hz, highest input (and target) rate accepted
MIN_SAMPLES = 2048  #: samples at the target rate: one STFT frame of the default n_fft
#: Only the first this many seconds of a song are decoded (env ``GENRELENS_MAX_DECODE_MINUTES``; default 10 min).
MAX_DECODE_SECONDS = 60.0 * float(os.environ.get("GENRELENS_MAX_DECODE_MINUTES", "10"))
#: Largest song accepted as uploaded bytes (held in memory), MB (env ``GENRELENS_MAX_SONG_MB``; default 200).
MAX_SONG_BYTES = int(float(os.environ.get("GENRELENS_MAX_SONG_MB", "200")) * 1024**2)
#: Below this level (RMS over the whole song, its constant offset removed, dB re full scale) a song is "too
#: quiet to classify": 1e-7 noise or a DC offset would otherwise get confident verdicts from pure noise floor.
MIN_LEVEL_DBFS = -60.0
#: Float samples beyond this magnitude (12 dB over full scale) are scaled down to peak 1, with a note: the
#: features of a signal at 1e30 overflow float32 (an all-NaN log-mel).
MAX_PEAK = 4.0
#: Channels that lose more than this (dB) when averaged cancel out (antiphase stereo): the loudest one is used alone.
CANCELLATION_DB = 20.0
_BLOCK_FRAMES = 1 << 18  #: frames per block when decoding with libsndfile (bounded memory for long files)

#: libsndfile's log line for a WAV ``data`` / AU ``Data Size`` length that the file does not hold.
_DECLARED_LENGTH = re.compile(r"^\s*data(?: size)?\s*:\s*(\d+)\s*\(should be (\d+)\)", re.IGNORECASE | re.MULTILINE)
#: Lengths that streaming writers put in a header when the length is unknown (not a truncation).
_UNKNOWN_LENGTHS = (0, 0xFFFFFFFF)
_UNDECODABLE = "cannot decode audio (not a WAV, AU, FLAC, OGG or MP3 file, or damaged)"
LOG = logging.getLogger("genre_core")

#: A source of decoded blocks: called (again, from the start) it yields (frames, channels) float32 blocks.
Blocks = Callable[[], Iterable[np.ndarray]]


@dataclass
class _Source:
    """A decoder's output: its ``blocks``, input ``rate`` (Hz), at most ``max_frames`` frames in all, and the
    ``notes`` gathered so far (the blocks may add one while they are read)."""

    blocks: Blocks
    rate: int
    max_frames: int
    notes: list[str]


@dataclass(frozen=True)
class DecodedAudio:
    """A decoded song: ``samples`` (samples,) float32 mono at ``sample_rate`` Hz, and ``notes``, one
    ``"<input>: <what was done>"`` line for each change made to it (cut to `MAX_DECODE_SECONDS`, scaled down,
    one channel used)."""

    samples: np.ndarray
    sample_rate: int
    notes: tuple[str, ...] = ()


@contextlib.contextmanager
def notes_collected() -> Iterator[list[str]]:
    """Collect, into the yielded list, the notes (`DecodedAudio.notes`) that `load_audio` logs on this thread
    inside the block, e.g. for a page to show them beside its result."""
    notes: list[str] = []
    thread = threading.get_ident()

    class _Collector(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            if record.thread == thread:
                notes.append(record.getMessage())

    handler = _Collector(logging.WARNING)
    LOG.addHandler(handler)
    try:
        yield notes
    finally:
        LOG.removeHandler(handler)


def load_audio(source: str | Path | bytes, sample_rate: int = 22050, name: str | None = None,
               max_seconds: float | None = None) -> np.ndarray:
    """The samples of `decode_audio` (same arguments); its notes are logged as warnings of the ``genre_core``
    logger (the CLI prints them as ``note:`` lines)."""
    decoded = decode_audio(source, sample_rate, name=name, max_seconds=max_seconds)
    for note in decoded.notes:
        LOG.warning(note)
    return decoded.samples


def decode_audio(source: str | Path | bytes, sample_rate: int = 22050, name: str | None = None,
                 max_seconds: float | None = None) -> DecodedAudio:
    """Decode ``source`` (a path, or the raw bytes of an upload) to mono float32 at ``sample_rate``.

    Any bit depth and any input rate from 8 to 96 kHz is accepted; only the first ``max_seconds`` (default
    `MAX_DECODE_SECONDS`) are decoded, block by block, so memory stays bounded for any file length. Channels are
    averaged (channels that cancel out are replaced by the loudest one), samples far beyond full scale are scaled
    down, and the signal is resampled with soxr (``soxr_hq``); each such change is one of the returned notes.
    ``name`` labels the input in messages (default: the path, or ``"audio bytes"``).

    Raises `InputError` for a missing, empty, undecodable or truncated file (truncation is detected in WAV and
    AU headers; a cut MP3 decodes up to the cut with a note, a cut OGG up to the cut without one: its length
    is not in a header), bytes over `MAX_SONG_BYTES`, an input rate outside
    8-96 kHz, fewer than `MIN_SAMPLES` samples, silence, a level below `MIN_LEVEL_DBFS` ("too quiet to
    classify"), or NaN/infinite samples.
    """
    if not MIN_SAMPLE_RATE <= sample_rate <= MAX_SAMPLE_RATE:
        raise InputError("sample_rate", f"{sample_rate} Hz is outside {MIN_SAMPLE_RATE}-{MAX_SAMPLE_RATE} Hz")
    max_seconds = MAX_DECODE_SECONDS if max_seconds is None else max_seconds
    with _decoder_chatter_dropped():
        if isinstance(source, (bytes, bytearray)):
            label = name or "audio bytes"
            if not source:
                raise InputError(label, "is empty")
            if len(source) > MAX_SONG_BYTES:
                size, limit = len(source) / 1024**2, MAX_SONG_BYTES / 1024**2
                raise InputError(label, f"is {size:,.1f} MB, more than the {limit:,.0f} MB limit per song")
            decoded = _decode_with_soundfile(io.BytesIO(source), label, max_seconds)
            if decoded is None:
                raise InputError(label, _UNDECODABLE)
        else:
            path = Path(source)
            label = name or str(path)
            decoded = _decode_path(path, label, max_seconds)
        return _to_mono_at_rate(decoded, sample_rate, label)


#: Lines that libmpg123 (inside libsndfile) writes straight to the process's stderr while decoding an MP3.
_DECODER_CHATTER = re.compile(rb"^(Note: |Warning: Xing|\[[^\]]*mpg123)")
_CHATTER_LOCK = threading.Lock()
_CHATTER_STATE: dict[str, Any] = {"depth": 0, "saved": None, "capture": None}


@contextlib.contextmanager
def _decoder_chatter_dropped() -> Iterator[None]:
    """While decoding, send the process's stderr (file descriptor 2) to a temporary file, then write back every
    line but libmpg123's notes ("Note: Illegal Audio-MPEG-Header", "Warning: Xing stream size off"), which say
    nothing to a user beside the one-line error or note. Threads decoding at once share one capture (counted),
    so the real stderr is always put back; what other threads wrote meanwhile comes out at the end."""
    with _CHATTER_LOCK:
        if _CHATTER_STATE["depth"] == 0:
            sys.stderr.flush()
            _CHATTER_STATE["saved"] = os.dup(2)
            _CHATTER_STATE["capture"] = tempfile.TemporaryFile()
            os.dup2(_CHATTER_STATE["capture"].fileno(), 2)
        _CHATTER_STATE["depth"] += 1
    try:
        yield
    finally:
        with _CHATTER_LOCK:
            _CHATTER_STATE["depth"] -= 1
            if _CHATTER_STATE["depth"] == 0:
                sys.stderr.flush()
                saved, capture = _CHATTER_STATE["saved"], _CHATTER_STATE["capture"]
                os.dup2(saved, 2)
                os.close(saved)
                capture.seek(0)
                kept = [line for line in capture.read().splitlines(keepends=True) if not _DECODER_CHATTER.match(line)]
                capture.close()
                if kept:
                    os.write(2, b"".join(kept))


def _decode_path(path: Path, label: str, max_seconds: float) -> _Source:
    """The decoded blocks and rate of the file at ``path``, and notes (see `_decode_with_soundfile`)."""
    if not path.is_file():
        raise InputError(label, "file not found" if not path.exists() else "is not a file")
    if path.suffix.lower() not in SUPPORTED_EXTENSIONS:
        raise InputError(label, f"unsupported format '{path.suffix}' (supported: {', '.join(SUPPORTED_EXTENSIONS)})")
    if path.stat().st_size == 0:
        raise InputError(label, "is empty")
    return _decode_with_soundfile(path, label, max_seconds) or _decode_with_audioread(path, label, max_seconds)


def _clock(seconds: float) -> str:
    """``m:ss`` of a duration in seconds."""
    minutes, rest = divmod(round(seconds), 60)
    return f"{minutes}:{rest:02d}"


def _cut_note(label: str, max_seconds: float, total_seconds: float | None) -> str:
    total = "" if total_seconds is None else f" of {_clock(total_seconds)}"
    return f"{label}: only the first {_clock(max_seconds)} (m:ss){total} decoded, the limit per song"


def _decode_with_soundfile(file: Path | io.BytesIO, label: str,
                           max_seconds: float) -> _Source | None:
    """Blocks of at most `_BLOCK_FRAMES` (frames, channels) float32 samples of the first ``max_seconds``, read
    by libsndfile as they are consumed, the rate, and a note if the file is longer; None if libsndfile cannot
    read the file."""
    try:
        sound = soundfile.SoundFile(file)
    except soundfile.SoundFileError:
        return None
    with sound:
        _reject_truncated(sound.extra_info, label)
        rate = int(sound.samplerate)
        limit = int(max_seconds * rate)
        notes = [_cut_note(label, max_seconds, sound.frames / rate)] if sound.frames > limit else []
        sixteen_bit = sound.subtype == "PCM_16"
    frames = min(sound.frames, limit)

    def blocks() -> Iterator[np.ndarray]:
        if isinstance(file, io.BytesIO):
            file.seek(0)
        read = 0
        try:
            with soundfile.SoundFile(file) as reopened:
                while read < frames:  # not SoundFile.blocks: past an early end it yields stale buffer contents
                    count = min(_BLOCK_FRAMES, frames - read)
                    block = (_read_pcm16(reopened, count) if sixteen_bit
                             else reopened.read(count, dtype="float32", always_2d=True))
                    if not len(block):
                        break
                    read += len(block)
                    yield block
        except soundfile.SoundFileError as error:
            raise InputError(label, _UNDECODABLE) from error
        if frames - read > max(rate, 0.05 * frames) and not any("ends after" in note for note in notes):
            notes.append(f"{label}: ends after {read / rate:.1f} s although its header announces {frames / rate:.1f} s "
                         "(cut short?): the part present is used")

    return _Source(blocks, rate, frames, notes)


def _read_pcm16(sound: soundfile.SoundFile, count: int) -> np.ndarray:
    """Up to ``count`` frames of a 16-bit PCM file as (frames, channels) float32: read as int16 and scaled by
    1/32768 here, the values of libsndfile's own float conversion exactly, in about a third of its time."""
    block = sound.read(count, dtype="int16", always_2d=True)
    return np.multiply(block, np.float32(1 / 32768), dtype=np.float32)


def _reject_truncated(decoder_log: str, label: str) -> None:
    """Raise if libsndfile's log says the header declares more audio data than the file holds."""
    for declared, present in _DECLARED_LENGTH.findall(decoder_log):
        if int(declared) not in _UNKNOWN_LENGTHS and int(declared) > int(present):
            raise InputError(label, f"is truncated: header declares {declared} bytes of audio, file holds {present}")


def _decode_with_audioread(path: Path, label: str, max_seconds: float) -> _Source:
    """The first ``max_seconds`` decoded by audioread (16-bit PCM blocks) as one (frames, channels) float32
    block, the rate, and a note if the file is longer."""
    import audioread

    pcm, notes = bytearray(), []
    try:
        with audioread.audio_open(str(path)) as sound:
            n_channels, rate = int(sound.channels), int(sound.samplerate)
            limit = int(max_seconds * rate) * n_channels * 2
            for chunk in sound:
                pcm += chunk
                if len(pcm) > limit:
                    notes.append(_cut_note(label, max_seconds, sound.duration or None))
                    del pcm[limit:]
                    break
    except (audioread.DecodeError, OSError, EOFError, ValueError) as error:
        raise InputError(label, _UNDECODABLE) from error
    samples = np.frombuffer(pcm, dtype="<i2").astype(np.float32) / 32768.0
    usable = len(samples) - len(samples) % max(n_channels, 1)
    block = samples[:usable].reshape(-1, max(n_channels, 1))
    return _Source(lambda: [block], rate, len(block), notes)


def _decibels(power: float) -> float:
    return 10.0 * math.log10(power) if power > 0 else -math.inf


def _level_dbfs(samples: np.ndarray) -> float:
    """RMS level of ``samples`` around their mean (a constant offset is no sound), dB re full scale; computed in
    blocks, so no float64 copy of a long song is made."""
    mean = float(np.mean(samples, dtype=np.float64))
    power = sum(float(np.sum(np.square(samples[start : start + _BLOCK_FRAMES] - mean, dtype=np.float64)))
                for start in range(0, len(samples), _BLOCK_FRAMES))
    return _decibels(power / len(samples))


def _mix_down(source: _Source, label: str) -> tuple[np.ndarray, float]:
    """Average the channels of ``blocks`` into (frames,) float32 and return it with its peak magnitude; if the
    channels cancel out (the average is over `CANCELLATION_DB` quieter than the loudest channel, e.g. antiphase
    stereo), the loudest channel alone is returned instead, with a note."""
    mono, peak, frames = np.empty(source.max_frames, dtype=np.float32), 0.0, 0
    channel_power: np.ndarray | None = None
    for block in source.blocks():
        if not len(block):
            continue
        block_peak = max(float(block.max()), -float(block.min()))  # NaN or infinity comes through max or min
        if not math.isfinite(block_peak):
            raise InputError(label, "contains NaN or infinite samples")
        peak = max(peak, block_peak)
        if block.shape[1] > 1:  # the cancellation check needs each channel's power
            power = np.sum(np.square(block, dtype=np.float64), axis=0)
            channel_power = power if channel_power is None else channel_power + power
        mono[frames : frames + len(block)] = block.mean(axis=1, dtype=np.float32) if block.shape[1] > 1 else block[:, 0]
        frames += len(block)
    mono = mono[:frames] if frames == len(mono) else mono[:frames].copy()  # a file ending early: no spare buffer
    if channel_power is None or len(channel_power) < 2 or not frames:
        return mono, peak
    mixed_db = _decibels(float(np.sum(np.square(mono, dtype=np.float64))) / frames)
    loudest = int(np.argmax(channel_power))
    loudest_db = _decibels(float(channel_power[loudest]) / frames)
    if loudest_db - mixed_db > CANCELLATION_DB and loudest_db >= MIN_LEVEL_DBFS:
        source.notes.append(f"{label}: its channels cancel out when averaged (antiphase stereo, {mixed_db:.0f} dBFS vs "
                     f"{loudest_db:.0f} dBFS): channel {loudest + 1} used alone")
        mono = np.concatenate([block[:, loudest] for block in source.blocks()])
    return np.ascontiguousarray(mono, dtype=np.float32), peak


def _to_mono_at_rate(source: _Source, sample_rate: int, label: str) -> DecodedAudio:
    """Mix decoded blocks down, scale them if far beyond full scale, resample to ``sample_rate``, and check the
    result is long and loud enough to classify."""
    input_rate, notes = source.rate, source.notes
    if not MIN_SAMPLE_RATE <= input_rate <= MAX_SAMPLE_RATE:
        raise InputError(label, f"sample rate {input_rate} Hz is outside {MIN_SAMPLE_RATE}-{MAX_SAMPLE_RATE} Hz")
    mono, peak = _mix_down(source, label)
    if peak > MAX_PEAK:
        notes.append(f"{label}: samples reach {peak:.3g}, far beyond full scale (1): scaled down to peak 1")
        mono = (mono.astype(np.float64) / peak).astype(np.float32)
    if len(mono) and input_rate != sample_rate:
        import librosa

        mono = librosa.resample(mono, orig_sr=input_rate, target_sr=sample_rate, res_type="soxr_hq")
    if len(mono) < MIN_SAMPLES:
        raise InputError(label, f"too short: {len(mono)} samples, need at least {MIN_SAMPLES}")
    if not np.any(mono):
        raise InputError(label, "is silent")
    level = _level_dbfs(mono)
    if level < MIN_LEVEL_DBFS:
        what = "no sound besides a constant offset" if level == -math.inf else f"level {level:.0f} dBFS"
        raise InputError(label, f"too quiet to classify ({what}; the least is {MIN_LEVEL_DBFS:.0f} dBFS)")
    return DecodedAudio(np.ascontiguousarray(mono, dtype=np.float32), sample_rate, tuple(notes))


def segment_audio(samples: np.ndarray, config: FeatureConfig, name: str = "audio") -> np.ndarray:
    """Cut mono ``samples`` into consecutive non-overlapping windows of ``config.segment_samples``.

    The whole signal is covered: a final remainder of at least ``config.min_remainder`` of a window is
    zero-padded to a full window, a shorter one is dropped (a 29.98 s GTZAN track gives 10 windows of
    3 s at the default config, and so does a 30.01 s one).

    Returns: (n_segments, config.segment_samples) float32.
    Raises `InputError` (naming ``name``) if ``samples`` is not 1-D or too short for one window.
    """
    if samples.ndim != 1:
        raise InputError(name, f"expected mono samples of shape (samples,), got shape {samples.shape}")
    window = config.segment_samples
    n_segments = segment_count(len(samples), config, name)
    windows = np.zeros(n_segments * window, dtype=np.float32)
    covered = min(len(samples), len(windows))
    windows[:covered] = samples[:covered]
    return windows.reshape(n_segments, window)


def segment_count(n_samples: int, config: FeatureConfig, name: str = "audio") -> int:
    """How many windows `segment_audio` cuts from ``n_samples`` mono samples (the full windows, and a final
    remainder of at least ``config.min_remainder`` of a window). Raises `InputError` (naming ``name``) when that
    is none: the audio is too short for one window."""
    n_full, remainder = divmod(n_samples, config.segment_samples)
    n_segments = n_full + int(remainder >= config.min_remainder * config.segment_samples)
    if n_segments == 0:
        needed = config.min_remainder * config.segment_seconds
        raise InputError(
            name,
            f"too short: {n_samples / config.sample_rate:.2f} s, "
            f"need at least {needed:.2f} s for one {config.segment_seconds:.2f} s window",
        )
    return n_segments


def segment_start_seconds(n_segments: int, config: FeatureConfig) -> np.ndarray:
    """Start time in seconds of each of ``n_segments`` windows from `segment_audio`: (n_segments,) float64."""
    return np.arange(n_segments) * (config.segment_samples / config.sample_rate)


def fit_width(matrix: np.ndarray, width: int, axis: int = -1, pad_with_minimum: bool = False) -> np.ndarray:
    """Crop (keeping the start) or pad (at the end) ``matrix`` to exactly ``width`` along ``axis``.

    Padding is zeros, or the matrix minimum when ``pad_with_minimum`` is set: use that for dB
    spectrograms, where the minimum stands for silence and 0 dB would be a loud tone.
    Returns an array of ``matrix``'s dtype whose ``shape[axis] == width``.
    """
    if width < 1:
        raise InputError("width", f"must be at least 1, got {width}")
    current = matrix.shape[axis]
    if current >= width:
        return np.take(matrix, np.arange(width), axis=axis)
    padding = [(0, 0)] * matrix.ndim
    padding[axis] = (0, width - current)
    fill = matrix.min() if pad_with_minimum and matrix.size else 0
    return np.pad(matrix, padding, mode="constant", constant_values=fill)

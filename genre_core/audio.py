"""Audio in: decode a file or uploaded bytes to mono float32, cut it into windows, pad or crop matrices.

Decoding uses soundfile (libsndfile: WAV, AU, FLAC, OGG and MP3 at any bit depth); a path that
libsndfile cannot read is tried once more with audioread. Every failure becomes an `InputError`
naming the input, never a decoder traceback.
"""

from __future__ import annotations

import io
import re
from pathlib import Path

import numpy as np
import soundfile

from genre_core.config import FeatureConfig
from genre_core.errors import InputError

SUPPORTED_EXTENSIONS = (".wav", ".au", ".flac", ".ogg", ".mp3")
MIN_SAMPLE_RATE = 8000  #: Hz, lowest input (and target) rate accepted
MAX_SAMPLE_RATE = 96000  #: Hz, highest input (and target) rate accepted
MIN_SAMPLES = 2048  #: samples at the target rate: one STFT frame of the default n_fft

#: libsndfile's log line for a WAV ``data`` / AU ``Data Size`` length that the file does not hold.
_DECLARED_LENGTH = re.compile(r"^\s*data(?: size)?\s*:\s*(\d+)\s*\(should be (\d+)\)", re.IGNORECASE | re.MULTILINE)
#: Lengths that streaming writers put in a header when the length is unknown (not a truncation).
_UNKNOWN_LENGTHS = (0, 0xFFFFFFFF)
_UNDECODABLE = "cannot decode audio (not a WAV, AU, FLAC, OGG or MP3 file, or damaged)"


def load_audio(source: str | Path | bytes, sample_rate: int = 22050, name: str | None = None) -> np.ndarray:
    """Decode ``source`` (a path, or the raw bytes of an upload) to mono float32 at ``sample_rate``.

    Any bit depth and any input rate from 8 to 96 kHz is accepted; channels are averaged and the
    signal is resampled with soxr (``soxr_hq``). ``name`` labels the input in error messages
    (default: the path, or ``"audio bytes"``).

    Returns: (samples,) float32, samples at ``sample_rate`` Hz, values as decoded (PCM in [-1, 1]).
    Raises `InputError` for a missing, empty, undecodable or truncated file, an input rate outside
    8-96 kHz, fewer than `MIN_SAMPLES` samples, silence, or NaN/infinite samples.
    """
    if not MIN_SAMPLE_RATE <= sample_rate <= MAX_SAMPLE_RATE:
        raise InputError("sample_rate", f"{sample_rate} Hz is outside {MIN_SAMPLE_RATE}-{MAX_SAMPLE_RATE} Hz")
    if isinstance(source, (bytes, bytearray)):
        label = name or "audio bytes"
        if not source:
            raise InputError(label, "is empty")
        decoded = _decode_with_soundfile(io.BytesIO(source), label)
        if decoded is None:
            raise InputError(label, _UNDECODABLE)
        channels, input_rate = decoded
    else:
        path = Path(source)
        label = name or str(path)
        channels, input_rate = _decode_path(path, label)
    return _to_mono_at_rate(channels, input_rate, sample_rate, label)


def _decode_path(path: Path, label: str) -> tuple[np.ndarray, int]:
    """(frames, channels) float32 samples and the rate of the file at ``path``."""
    if not path.is_file():
        raise InputError(label, "file not found" if not path.exists() else "is not a file")
    if path.suffix.lower() not in SUPPORTED_EXTENSIONS:
        raise InputError(label, f"unsupported format '{path.suffix}' (supported: {', '.join(SUPPORTED_EXTENSIONS)})")
    if path.stat().st_size == 0:
        raise InputError(label, "is empty")
    return _decode_with_soundfile(path, label) or _decode_with_audioread(path, label)


def _decode_with_soundfile(file: Path | io.BytesIO, label: str) -> tuple[np.ndarray, int] | None:
    """(frames, channels) float32 samples and the rate, decoded by libsndfile; None if it cannot."""
    try:
        with soundfile.SoundFile(file) as sound:
            _reject_truncated(sound.extra_info, label)
            return sound.read(dtype="float32", always_2d=True), int(sound.samplerate)
    except soundfile.SoundFileError:
        return None


def _reject_truncated(decoder_log: str, label: str) -> None:
    """Raise if libsndfile's log says the header declares more audio data than the file holds."""
    for declared, present in _DECLARED_LENGTH.findall(decoder_log):
        if int(declared) not in _UNKNOWN_LENGTHS and int(declared) > int(present):
            raise InputError(label, f"is truncated: header declares {declared} bytes of audio, file holds {present}")


def _decode_with_audioread(path: Path, label: str) -> tuple[np.ndarray, int]:
    """(frames, channels) float32 samples and the rate, decoded by audioread (16-bit PCM blocks)."""
    import audioread

    try:
        with audioread.audio_open(str(path)) as sound:
            pcm = b"".join(sound)
            n_channels, rate = int(sound.channels), int(sound.samplerate)
    except (audioread.DecodeError, OSError, EOFError, ValueError) as error:
        raise InputError(label, _UNDECODABLE) from error
    samples = np.frombuffer(pcm, dtype="<i2").astype(np.float32) / 32768.0
    usable = len(samples) - len(samples) % n_channels
    return samples[:usable].reshape(-1, n_channels), rate


def _to_mono_at_rate(channels: np.ndarray, input_rate: int, sample_rate: int, label: str) -> np.ndarray:
    """Check decoded (frames, channels) samples, average the channels and resample to ``sample_rate``."""
    if not MIN_SAMPLE_RATE <= input_rate <= MAX_SAMPLE_RATE:
        raise InputError(label, f"sample rate {input_rate} Hz is outside {MIN_SAMPLE_RATE}-{MAX_SAMPLE_RATE} Hz")
    if not np.all(np.isfinite(channels)):
        raise InputError(label, "contains NaN or infinite samples")
    mono = channels.mean(axis=1, dtype=np.float32) if channels.shape[1] > 1 else channels[:, 0]
    if len(mono) and input_rate != sample_rate:
        import librosa

        mono = librosa.resample(mono, orig_sr=input_rate, target_sr=sample_rate, res_type="soxr_hq")
    if len(mono) < MIN_SAMPLES:
        raise InputError(label, f"too short: {len(mono)} samples, need at least {MIN_SAMPLES}")
    if not np.any(mono):
        raise InputError(label, "is silent")
    return np.ascontiguousarray(mono, dtype=np.float32)


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
    n_full, remainder = divmod(len(samples), window)
    n_segments = n_full + int(remainder >= config.min_remainder * window)
    if n_segments == 0:
        needed = config.min_remainder * config.segment_seconds
        raise InputError(
            name,
            f"too short: {len(samples) / config.sample_rate:.2f} s, "
            f"need at least {needed:.2f} s for one {config.segment_seconds:.2f} s window",
        )
    windows = np.zeros(n_segments * window, dtype=np.float32)
    covered = min(len(samples), len(windows))
    windows[:covered] = samples[:covered]
    return windows.reshape(n_segments, window)


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

"""Features of a mono signal: log-mel spectrogram, MFCC matrix and the 57 Kaggle GTZAN summary columns.

Every STFT here pads the signal ends by reflection (``pad_mode="reflect"``), the librosa default up to
0.9: it is what reproduces the Kaggle GTZAN feature table (see docs/kaggle-conformance.md) and the
MFCC JSON datasets of the GTZAN tutorials. The one exception is a log-mel whose `FeatureConfig` asks for
zero padding and musicnn's ``log10(1 + 10000·mel)`` compression (`genre_core.musicnn.FEATURES`): that is
exactly the input the pretrained musicnn networks were trained on (librosa 0.10's defaults). `segment_features` is the one entry point that extraction
uses, so every feature of the project is computed here; the windows of a track share one STFT call and the
kinds of a window its mel spectrogram. The log-mel (in dB) and MFCC features take the fast frame-major path of
`genre_core.spectrogram` (float32 throughout: librosa's values to float32 rounding). HPSS, the costliest step, runs
librosa's algorithm with a faster median filter and both soft masks from one rescaling (`hpss`): the values are
librosa's, exactly.
"""

from __future__ import annotations

import functools
import warnings
from collections.abc import Callable, Sequence

import librosa
import numpy as np
import scipy.fft
from scipy import ndimage, sparse

from genre_core import spectrogram
from genre_core.audio import fit_width
from genre_core.config import FEATURE_KINDS, LOG_1P_10000, LOG_MEL, MFCC, SUMMARY, FeatureConfig
from genre_core.errors import InputError

PAD_MODE = "reflect"  #: how the STFT pads the signal ends (librosa <= 0.9 default)
SUMMARY_N_FFT = 2048  #: samples per STFT frame of the summary columns (librosa default, as in the Kaggle table)
SUMMARY_HOP_LENGTH = 512  #: samples between STFT frames of the summary columns
SUMMARY_N_MFCC = 20  #: MFCC coefficients summarised in the Kaggle table
SUMMARY_N_MELS = 128  #: mel bands under the summary MFCCs and tempo (librosa default)
MFCC_N_MELS = 128  #: mel bands under the MFCC matrix (librosa default)
TOP_DB = 80.0  #: dB under the maximum where `power_to_db` floors a mel spectrogram (librosa default)
#: samples (all windows together) whose spectrograms `segment_features` computes at once: 32 windows of 3 s at
#: 22050 Hz (~70 MB of spectra at the defaults), 3 of 30 s, so memory per batch does not grow with window length
BATCH_SAMPLES = 32 * 66150
HPSS_KERNEL = 31  #: length of both HPSS median filters (frames along time, bins along frequency), librosa default

_SPECTRAL_STATISTICS = (
    "chroma_stft",
    "rms",
    "spectral_centroid",
    "spectral_bandwidth",
    "rolloff",
    "zero_crossing_rate",
    "harmony",
    "perceptr",
)
#: The 57 feature columns of the Kaggle GTZAN tables (``features_30_sec.csv``), in their order.
SUMMARY_NAMES: tuple[str, ...] = (
    *(f"{statistic}_{moment}" for statistic in _SPECTRAL_STATISTICS for moment in ("mean", "var")),
    "tempo",
    *(f"mfcc{index}_{moment}" for index in range(1, SUMMARY_N_MFCC + 1) for moment in ("mean", "var")),
)
#: Statistic of a summary column -> (what a student calls it, unit of its frame values; "" for none).
_STATISTIC_WORDS = {
    "chroma_stft": ("chroma (pitch-class energy)", ""),
    "rms": ("loudness (RMS)", ""),
    "spectral_centroid": ("spectral centroid (brightness)", "Hz"),
    "spectral_bandwidth": ("spectral bandwidth", "Hz"),
    "rolloff": ("spectral roll-off", "Hz"),
    "zero_crossing_rate": ("zero-crossing rate", ""),
    "harmony": ("harmonic part", ""),
    "perceptr": ("percussive part", ""),
}


def summary_label(name: str) -> str:
    """A readable name of a `SUMMARY_NAMES` column: ``"mfcc4_var"`` -> ``"MFCC 4 variance"``,
    ``"spectral_centroid_mean"`` -> ``"spectral centroid (brightness) mean"``, ``"tempo"`` -> ``"tempo"``.
    Other names are returned unchanged."""
    statistic, _, moment = name.rpartition("_")
    moment_word = {"mean": "mean", "var": "variance"}.get(moment)
    if moment_word is None or not statistic:
        return name
    if statistic.startswith("mfcc") and statistic[4:].isdigit():
        return f"MFCC {int(statistic[4:])} {moment_word}"
    if statistic in _STATISTIC_WORDS:
        return f"{_STATISTIC_WORDS[statistic][0]} {moment_word}"
    return name


def summary_value_text(name: str, value: float) -> str:
    """A value of summary column ``name`` for a label, with its unit: 3 significant digits (scientific only
    outside 1e-3..1e5); ``"1830 Hz"`` for a mean in Hz; a variance in Hz as ``"(1830 Hz)²"``, the square of
    its standard deviation, so that it reads in Hz too; ``"120 BPM"`` for the tempo."""
    statistic, _, moment = name.rpartition("_")
    unit = "BPM" if name == "tempo" else _STATISTIC_WORDS.get(statistic, ("", ""))[1]
    if unit and moment == "var" and value >= 0:
        return f"({short_number(float(np.sqrt(value)))} {unit})²"
    return f"{short_number(float(value))} {unit}".rstrip()


def short_number(value: float) -> str:
    """3 significant digits, positional between 1e-3 and 1e5, else scientific."""
    if value == 0 or 1e-3 <= abs(value) < 1e5:
        return np.format_float_positional(value, precision=3, unique=False, fractional=False, trim="-")
    return f"{value:.2e}"


def _check_mono(samples: np.ndarray) -> None:
    """Raise unless ``samples`` is a non-empty 1-D signal."""
    if samples.ndim != 1 or len(samples) == 0:
        raise InputError("samples", f"expected a non-empty mono signal of shape (samples,), got shape {samples.shape}")


@functools.lru_cache(maxsize=16)
def _mel_basis(sample_rate: int, n_fft: int, n_mels: int) -> sparse.csr_array:
    """librosa's Slaney mel filter bank up to Nyquist, made once per setting, as a sparse matrix (each FFT bin feeds
    at most two filters: ~2,000 of its 131,200 entries at the defaults are not zero): (n_mels, 1 + n_fft // 2)
    float32."""
    return sparse.csr_array(librosa.filters.mel(sr=sample_rate, n_fft=n_fft, n_mels=n_mels))


def _floor_under_peak(decibels: np.ndarray) -> np.ndarray:
    """``power_to_db``'s ``top_db`` floor applied to each window on its own: values under the window's largest by
    more than `TOP_DB` are raised to that level. ``decibels``: (..., a, b), the last two axes one window's."""
    return np.maximum(decibels, decibels.max(axis=(-2, -1), keepdims=True) - np.float32(TOP_DB))


class _Spectra:
    """The spectrograms of one mono signal, or of a stack of equal-length windows, each computed on first use and
    then reused (read-only).

    ``samples``: (samples,) or (n, samples). A stack gets one STFT call for all its windows (librosa frames each
    row on its own: every window's values are those of its own call, exactly) and `window` hands each window its
    rows. `segment_features` gives every kind of a window the same instance, so kinds whose settings agree share
    one STFT and mel spectrogram: log-mel and MFCC share `frame_power` (one per framing), the summary columns
    librosa's complex `stft` (their HPSS needs its phase). The values are those of separate computations, exactly.
    """

    def __init__(self, samples: np.ndarray, sample_rate: int, *, stacked: bool = False) -> None:
        if not stacked:  # a stack (n, samples) comes checked from `segment_features`
            _check_mono(samples)
        self.samples = samples
        self.sample_rate = sample_rate
        self._computed: dict[tuple[str | int, ...], np.ndarray] = {}

    def window(self, index: int) -> _Spectra:
        """The spectra of window ``index`` of a stack, holding its rows of everything computed so far."""
        single = _Spectra(self.samples[index], self.sample_rate)
        single._computed = {key: values[index] for key, values in self._computed.items()}
        return single

    def _once(self, key: tuple[str | int, ...], compute: Callable[[], np.ndarray]) -> np.ndarray:
        if key not in self._computed:
            values = compute()
            values.flags.writeable = False  # shared between features: nobody may change it in place
            self._computed[key] = values
        return self._computed[key]

    def stft(self, n_fft: int, hop_length: int, pad_mode: str = PAD_MODE) -> np.ndarray:
        """Complex STFT, centred frames with ends padded by ``pad_mode`` (default: reflected):
        (..., 1 + n_fft // 2, 1 + samples // hop_length)."""
        return self._once(
            ("stft", n_fft, hop_length, pad_mode),
            lambda: librosa.stft(self.samples, n_fft=n_fft, hop_length=hop_length, pad_mode=pad_mode),
        )

    def magnitude(self, n_fft: int, hop_length: int, pad_mode: str = PAD_MODE) -> np.ndarray:
        """``|stft|``: (..., 1 + n_fft // 2, frames) float32."""
        return self._once(
            ("magnitude", n_fft, hop_length, pad_mode), lambda: np.abs(self.stft(n_fft, hop_length, pad_mode))
        )

    def power(self, n_fft: int, hop_length: int, pad_mode: str = PAD_MODE) -> np.ndarray:
        """``|stft| ** 2``: (..., 1 + n_fft // 2, frames) float32."""
        return self._once(
            ("power", n_fft, hop_length, pad_mode), lambda: self.magnitude(n_fft, hop_length, pad_mode) ** 2
        )

    def mel_power(self, n_fft: int, hop_length: int, n_mels: int, pad_mode: str = PAD_MODE,
                  dense: bool = False) -> np.ndarray:
        """Mel power spectrogram (librosa's Slaney mel filters up to Nyquist): (..., n_mels, frames) float32.

        ``librosa.feature.melspectrogram(S=power)`` to float32 rounding (relative difference < 1e-6, about what
        BLAS on one thread or two gives): the filter bank is made once per setting and applied as a sparse matrix
        product per window, which skips the zero filter weights (~10x faster than the dense product). ``dense``:
        the dense product of librosa, value for value (with BLAS on one thread)."""

        def compute() -> np.ndarray:
            basis = _mel_basis(self.sample_rate, n_fft, n_mels)
            if dense:
                basis = basis.toarray()
            power = self.power(n_fft, hop_length, pad_mode)
            return basis @ power if power.ndim == 2 else np.stack([basis @ window for window in power])

        return self._once(("mel_power", n_fft, hop_length, n_mels, pad_mode, int(dense)), compute)

    def mel_decibels(self, n_fft: int, hop_length: int, n_mels: int) -> np.ndarray:
        """``librosa.power_to_db`` of `mel_power` with its defaults (ref 1, top_db 80) applied to each window on
        its own (the 80 dB floor is under the window's own maximum): (..., n_mels, frames) dB."""

        def compute() -> np.ndarray:
            return _floor_under_peak(librosa.power_to_db(self.mel_power(n_fft, hop_length, n_mels), top_db=None))

        return self._once(("mel_decibels", n_fft, hop_length, n_mels), compute)

    def frame_power(self, n_fft: int, hop_length: int, pad_mode: str = PAD_MODE) -> np.ndarray:
        """``|stft| ** 2`` frame-major in C order (`genre_core.spectrogram.power_frames`, float32: librosa's values
        to float32 rounding): (..., frames, 1 + n_fft // 2) float32."""
        return self._once(("frame_power", n_fft, hop_length, pad_mode),
                          lambda: spectrogram.power_frames(self.samples, n_fft, hop_length, pad_mode))

    def frame_decibels(self, n_fft: int, hop_length: int, n_mels: int, pad_mode: str = PAD_MODE) -> np.ndarray:
        """Log-mel spectrogram in dB without a floor, frame-major: librosa's ``power_to_db(melspectrogram(...),
        top_db=None)`` to float32 rounding (`genre_core.spectrogram`: the mel filters as a few dense blocks):
        (..., frames, n_mels) float32."""

        def compute() -> np.ndarray:
            bank = spectrogram.mel_bank(self.sample_rate, n_fft, n_mels)
            return spectrogram.power_to_decibels(bank.apply(self.frame_power(n_fft, hop_length, pad_mode)))

        return self._once(("frame_decibels", n_fft, hop_length, n_mels, pad_mode), compute)


def log_mel(samples: np.ndarray, config: FeatureConfig) -> np.ndarray:
    """Log-mel spectrogram of a mono signal at ``config.sample_rate``.

    A power-2 mel spectrogram with ``config.n_fft``, ``config.hop_length`` and ``config.n_mels`` (STFT ends
    padded as ``config.stft_padding`` says), compressed as ``config.log_scale`` says:
      - ``decibels``: ``power_to_db(ref=1.0, amin=1e-10, top_db=None)``, in dB;
      - ``log10_1p_10000``: musicnn's ``log10(1 + 10000·mel)`` of the mel power rounded to float16, as its
        extractor computes it (unitless, >= 0).
    Row 0 is the lowest band. Returns: (config.n_mels, config.frames_per_segment) float32, cropped or padded
    with its minimum.
    """
    return _log_mel(_Spectra(samples, config.sample_rate), config)


def compress_log_1p(mel_power: np.ndarray) -> np.ndarray:
    """musicnn's compression: ``log10(10000·mel + 1)`` in float32 of the mel power rounded to float16 (its
    extractor stores the spectrogram as float16 first). Any shape; returns float32 of the same shape."""
    return np.log10(10000 * mel_power.astype(np.float16).astype(np.float32) + 1)


def _log_mel(spectra: _Spectra, config: FeatureConfig) -> np.ndarray:
    """`log_mel` of the signal of ``spectra``."""
    if config.log_scale == LOG_1P_10000:  # musicnn's float16 rounding would turn a last-bit difference into 1e-3:
        compressed = compress_log_1p(spectra.mel_power(  # its input takes librosa's STFT and product exactly
            config.n_fft, config.hop_length, config.n_mels, config.stft_padding, dense=True))
    else:
        compressed = np.swapaxes(spectra.frame_decibels(config.n_fft, config.hop_length, config.n_mels,
                                                        config.stft_padding), -1, -2)
    return _fit_each(compressed, config.frames_per_segment, axis=1, pad_with_minimum=True)


def mfcc(samples: np.ndarray, config: FeatureConfig) -> np.ndarray:
    """MFCC matrix of a mono signal at ``config.sample_rate``, time-major.

    ``librosa.feature.mfcc`` (128 mel bands, ``power_to_db`` with ``top_db=80``) with ``config.n_mfcc``
    coefficients, ``config.n_fft`` and ``config.hop_length``.
    Returns: (config.frames_per_segment, config.n_mfcc) float32, cropped or zero-padded in time.
    """
    return _mfcc(_Spectra(samples, config.sample_rate), config)


def _mfcc(spectra: _Spectra, config: FeatureConfig) -> np.ndarray:
    """`mfcc` of the signal of ``spectra``."""
    decibels = spectra.frame_decibels(config.n_fft, config.hop_length, MFCC_N_MELS)
    floored = _floor_under_peak(decibels)
    # librosa.feature.mfcc's DCT (type 2, orthonormal), here along the mel axis of frame-major decibels
    coefficients = scipy.fft.dct(floored, axis=-1, type=2, norm="ortho", overwrite_x=True)[..., : config.n_mfcc]
    return _fit_each(coefficients, config.frames_per_segment, axis=0)


def _fit_each(matrices: np.ndarray, width: int, axis: int, pad_with_minimum: bool = False) -> np.ndarray:
    """`fit_width` of one matrix (a, b), or of each matrix of a stack (n, a, b), along ``axis`` of a matrix (0 or
    1; each padded with its own minimum when ``pad_with_minimum``): float32."""
    if matrices.ndim == 2:
        return fit_width(matrices, width, axis=axis, pad_with_minimum=pad_with_minimum).astype(np.float32)
    if matrices.shape[1 + axis] == width:
        return np.ascontiguousarray(matrices, dtype=np.float32)
    return np.stack([fit_width(matrix, width, axis=axis, pad_with_minimum=pad_with_minimum) for matrix in matrices]
                    ).astype(np.float32)


def mel_band_frequencies(config: FeatureConfig) -> np.ndarray:
    """Centre frequency in Hz of each of the ``config.n_mels`` bands of `log_mel`: (n_mels,) float64, rising."""
    return librosa.mel_frequencies(n_mels=config.n_mels + 2, fmin=0.0, fmax=config.sample_rate / 2)[1:-1]


def frame_times(config: FeatureConfig) -> np.ndarray:
    """Time in seconds of each frame centre of a window's spectrogram: (config.frames_per_segment,) float64."""
    frames = np.arange(config.frames_per_segment)
    return librosa.frames_to_time(frames, sr=config.sample_rate, hop_length=config.hop_length)


def summary_features(samples: np.ndarray, sample_rate: int) -> dict[str, float]:
    """The 57 Kaggle GTZAN summary columns of a mono signal at ``sample_rate`` Hz, in `SUMMARY_NAMES` order.

    Means and variances over STFT frames (2048 samples, hop 512, librosa defaults) of chroma, RMS,
    spectral centroid, bandwidth and roll-off, zero-crossing rate and 20 MFCCs; mean and variance of
    the harmonic and percussive waveforms of HPSS; the global tempo estimate (BPM) of
    ``librosa.beat.beat_track``. Run on a whole 30 s GTZAN track loaded at 22050 Hz this reproduces
    the Kaggle ``features_30_sec.csv`` row (docs/kaggle-conformance.md gives the measured agreement).
    """
    return _summary_features(_Spectra(samples, sample_rate))


def _summary_features(spectra: _Spectra) -> dict[str, float]:
    """`summary_features` of the signal of ``spectra``."""
    samples, sample_rate = spectra.samples, spectra.sample_rate
    values: dict[str, float] = {}

    def add_moments(statistic: str, series: np.ndarray) -> None:
        values[f"{statistic}_mean"] = float(np.mean(series))
        values[f"{statistic}_var"] = float(np.var(series))

    frames = {"frame_length": SUMMARY_N_FFT, "hop_length": SUMMARY_HOP_LENGTH}
    magnitude = spectra.magnitude(SUMMARY_N_FFT, SUMMARY_HOP_LENGTH)
    with warnings.catch_warnings():  # a silent window has no pitch to estimate the tuning from; it is 0 then
        warnings.filterwarnings("ignore", message="Trying to estimate tuning from empty frequency set")
        add_moments("chroma_stft", librosa.feature.chroma_stft(S=spectra.power(SUMMARY_N_FFT, SUMMARY_HOP_LENGTH),
                                                               sr=sample_rate))
    add_moments("rms", librosa.feature.rms(y=samples, pad_mode=PAD_MODE, **frames))
    centroid = librosa.feature.spectral_centroid(S=magnitude, sr=sample_rate)
    add_moments("spectral_centroid", centroid)
    bandwidth = librosa.feature.spectral_bandwidth(S=magnitude, sr=sample_rate, centroid=centroid)  # not computed twice
    add_moments("spectral_bandwidth", bandwidth)
    add_moments("rolloff", librosa.feature.spectral_rolloff(S=magnitude, sr=sample_rate))
    add_moments("zero_crossing_rate", librosa.feature.zero_crossing_rate(samples, **frames))
    # HPSS waveforms inverted without ``length`` and then fitted, as librosa.effects.hpss did when the table was made
    parts = hpss(spectra.stft(SUMMARY_N_FFT, SUMMARY_HOP_LENGTH))
    for statistic, part in zip(("harmony", "perceptr"), parts, strict=True):
        waveform = librosa.istft(part, hop_length=SUMMARY_HOP_LENGTH)
        add_moments(statistic, librosa.util.fix_length(waveform, size=len(samples)))
    log_mel_power = spectra.mel_decibels(SUMMARY_N_FFT, SUMMARY_HOP_LENGTH, SUMMARY_N_MELS)
    values["tempo"] = _beat_track_tempo(log_mel_power, sample_rate)
    coefficients = librosa.feature.mfcc(S=log_mel_power, n_mfcc=SUMMARY_N_MFCC)
    for index, series in enumerate(coefficients, start=1):
        add_moments(f"mfcc{index}", series)
    return {name: values[name] for name in SUMMARY_NAMES}


def median_filter_along(values: np.ndarray, size: int, axis: int) -> np.ndarray:
    """Running median of ``size`` (odd) values along ``axis`` only, ends extended by reflection.

    Equal to ``scipy.ndimage.median_filter(values, size=<size on axis, 1 elsewhere>, mode="reflect")``,
    value for value, but about 10x faster: scipy's n-d rank filter is slow, so every line along ``axis``
    is padded by reflection (``size // 2`` values each side) and all lines run through scipy's 1-D
    filter in one call; no window reaches past its own line's padding. Lines shorter than ``size`` go
    to scipy's n-d filter, whose reflection of lines of 2 or 3 values differs from ``np.pad``'s.
    Returns an array of the shape and dtype of ``values``.
    """
    if size < 1 or size % 2 == 0:
        raise InputError("size", f"the median filter needs an odd length >= 1, got {size}")
    lines = np.moveaxis(values, axis, -1)
    if lines.shape[-1] < size:
        footprint = [1] * values.ndim
        footprint[axis] = size
        return ndimage.median_filter(values, size=footprint, mode="reflect")
    half = size // 2
    padded = np.pad(lines, [(0, 0)] * (lines.ndim - 1) + [(half, half)], mode="symmetric")
    filtered = ndimage.median_filter(padded.reshape(-1), size=size, mode="reflect").reshape(padded.shape)
    return np.ascontiguousarray(np.moveaxis(filtered[..., half:-half], -1, axis))


def hpss(spectrum: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Harmonic and percussive parts of a complex STFT, equal to ``librosa.decompose.hpss(spectrum)``.

    The same median-filtering separation with librosa's defaults (kernel `HPSS_KERNEL`, soft masks of
    power 2, margin 1), with the fast `median_filter_along` in place of scipy's n-d filter.
    ``spectrum``: (bins, frames) complex. Returns two complex arrays of its shape and dtype.
    """
    magnitude, phase = librosa.magphase(spectrum)
    harmonic = median_filter_along(magnitude, HPSS_KERNEL, axis=-1)
    percussive = median_filter_along(magnitude, HPSS_KERNEL, axis=-2)
    harmonic_mask, percussive_mask = soft_masks(harmonic, percussive)
    return (magnitude * harmonic_mask) * phase, (magnitude * percussive_mask) * phase


def soft_masks(harmonic: np.ndarray, percussive: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``librosa.util.softmask(harmonic, percussive, power=2, split_zeros=True)`` and the same with the two swapped,
    value for value, from one rescaling: ``h² / (h² + p²)`` and ``p² / (p² + h²)`` after dividing both by their
    maximum (the sum is the same float either way round), 0.5 each where both are below the float's smallest
    normal number. ``harmonic``, ``percussive``: non-negative float arrays of one shape; returns two of it."""
    scale = np.maximum(harmonic, percussive)
    silent = scale < np.finfo(scale.dtype).tiny
    scale[silent] = 1
    harmonic_power = (harmonic / scale) ** 2.0
    percussive_power = (percussive / scale) ** 2.0
    total = harmonic_power + percussive_power
    heard = ~silent
    harmonic_mask = np.divide(harmonic_power, total, out=np.full_like(total, 0.5), where=heard)
    percussive_mask = np.divide(percussive_power, total, out=np.full_like(total, 0.5), where=heard)
    return harmonic_mask, percussive_mask


def _beat_track_tempo(log_mel_power: np.ndarray, sample_rate: int) -> float:
    """The tempo (BPM) that ``librosa.beat.beat_track`` reports, without running the beat tracker itself.

    ``beat_track`` estimates it from the median-aggregated onset strength and reports 0 when there
    are no onsets; the beat positions it then tracks are not needed here.
    """
    onset_envelope = librosa.onset.onset_strength(
        S=log_mel_power, sr=sample_rate, hop_length=SUMMARY_HOP_LENGTH, aggregate=np.median
    )
    if not onset_envelope.any():
        return 0.0
    return float(librosa.feature.tempo(onset_envelope=onset_envelope, sr=sample_rate, hop_length=SUMMARY_HOP_LENGTH)[0])


def summary_vector(samples: np.ndarray, sample_rate: int) -> np.ndarray:
    """`summary_features` as a (57,) float32 vector in `SUMMARY_NAMES` order."""
    return _summary_vector(_Spectra(samples, sample_rate))


def _summary_vector(spectra: _Spectra) -> np.ndarray:
    """`summary_vector` of the signal of ``spectra``."""
    return np.array(list(_summary_features(spectra).values()), dtype=np.float32)


def segment_features(segments: np.ndarray, config: FeatureConfig, kinds: Sequence[str]) -> dict[str, np.ndarray]:
    """Features of each window from `genre_core.audio.segment_audio`, stacked per kind.

    ``segments``: (n, samples) float32 at ``config.sample_rate``. ``kinds``: any of
    `genre_core.config.FEATURE_KINDS`. Returns float32 arrays keyed by kind: ``summary`` (n, 57),
    ``log_mel`` (n, config.n_mels, config.frames_per_segment), ``mfcc`` (n, config.frames_per_segment,
    config.n_mfcc). Each value equals that of the window alone (`summary_vector`, `log_mel`, `mfcc`), exactly;
    the spectrograms of `batch_windows` windows at a time are computed together (one STFT call per framing).
    """
    unknown = sorted(set(kinds) - set(FEATURE_KINDS))
    if unknown:
        raise InputError("kinds", f"unknown feature kind(s) {unknown} (known: {', '.join(FEATURE_KINDS)})")
    if segments.ndim != 2 or segments.size == 0:
        raise InputError("segments", f"expected windows of shape (n, samples), n >= 1, got shape {segments.shape}")
    kinds = tuple(dict.fromkeys(kinds))
    size = batch_windows(segments.shape[1])
    batches = [_batch_features(segments[start : start + size], config, kinds)
               for start in range(0, len(segments), size)]
    if len(batches) == 1:
        return batches[0]
    return {kind: np.concatenate([batch[kind] for batch in batches]) for kind in kinds}


def batch_windows(window_samples: int) -> int:
    """Windows of ``window_samples`` samples each whose spectrograms are computed together: `BATCH_SAMPLES`
    worth, at least one (32 windows of 3 s at 22050 Hz, 3 of 30 s)."""
    return max(1, BATCH_SAMPLES // window_samples)


def _batch_features(windows: np.ndarray, config: FeatureConfig, kinds: tuple[str, ...]) -> dict[str, np.ndarray]:
    """`segment_features` of (n, samples) windows whose spectrograms are computed together."""
    spectra = _Spectra(windows, config.sample_rate, stacked=True)
    values: dict[str, np.ndarray] = {}
    if LOG_MEL in kinds:
        values[LOG_MEL] = _log_mel(spectra, config)
    if MFCC in kinds:
        values[MFCC] = _mfcc(spectra, config)
    if SUMMARY in kinds:
        spectra.mel_decibels(SUMMARY_N_FFT, SUMMARY_HOP_LENGTH, SUMMARY_N_MELS)  # the stack's STFT, once
        values[SUMMARY] = np.stack([_summary_vector(spectra.window(index)) for index in range(len(windows))])
    return {kind: values[kind] for kind in kinds}


@functools.cache
def compile_kernels() -> None:
    """Compile, once per process, librosa's numba kernels that `segment_features` uses (~20 s on a fresh
    install, ~2 s when numba's on-disk cache already holds them).

    numba caches compiled kernels in files beside librosa. Worker processes that compile the same kernel at
    the same moment on a fresh install can corrupt that cache, and every later process that loads it then
    crashes (segmentation fault). Call this in the parent before starting parallel workers: they only read.
    """
    config = FeatureConfig(track_seconds=1.0, segments_per_track=1)
    time_s = np.arange(config.segment_samples) / config.sample_rate
    clicks = (np.sin(2 * np.pi * 4 * time_s) > 0.99).astype(np.float32)  # onsets, so tempo runs its full path
    window = (0.3 * np.sin(2 * np.pi * 440 * time_s) + 0.3 * clicks).astype(np.float32)
    segment_features(window[np.newaxis], config, FEATURE_KINDS)


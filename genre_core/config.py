"""`FeatureConfig`: every setting that shapes the features, carried with every dataset and model."""

from __future__ import annotations

import dataclasses
import hashlib
import json
from dataclasses import dataclass
from typing import Any

from genre_core.errors import InputError
from genre_core.records import from_dict_strict

#: Names of the feature kinds a `Dataset` can hold (keys of ``Dataset.features``).
SUMMARY = "summary"  #: (rows, 57) float32, the Kaggle GTZAN columns in their order
LOG_MEL = "log_mel"  #: (rows, n_mels, frames) float32, dB, low frequencies at index 0
MFCC = "mfcc"  #: (rows, frames, n_mfcc) float32, time-major as in the MFCC JSON format
FEATURE_KINDS = (SUMMARY, LOG_MEL, MFCC)

#: How `LOG_MEL` compresses mel power (``FeatureConfig.log_scale``).
DECIBELS = "decibels"  #: ``10·log10(mel)`` (``librosa.power_to_db``, ref 1): the GenreLens presets
LOG_1P_10000 = "log10_1p_10000"  #: ``log10(1 + 10000·mel)`` in float16, as the musicnn models were trained
LOG_SCALES = (DECIBELS, LOG_1P_10000)
#: How the centred STFT pads the signal ends (``FeatureConfig.stft_padding``).
STFT_PADDINGS = ("reflect", "constant")


@dataclass(frozen=True)
class FeatureConfig:
    """How audio becomes features.

    A track is cut into consecutive windows of ``track_seconds / segments_per_track`` seconds (GTZAN
    practice: a 30 s track into 5, 10 or 15 segments; a longer song simply gives more windows).
    A final remainder shorter than ``min_remainder`` of a window is dropped, a longer one is zero-padded.
    """

    sample_rate: int = 22050  #: Hz, audio is resampled to this rate and downmixed to mono
    track_seconds: float = 30.0  #: s, nominal track length that ``segments_per_track`` divides
    segments_per_track: int = 10  #: windows per nominal track (5, 10, 15 are customary)
    n_fft: int = 2048  #: samples per STFT frame
    hop_length: int = 512  #: samples between STFT frames
    n_mels: int = 128  #: mel bands of the log-mel spectrogram
    n_mfcc: int = 20  #: coefficients of the MFCC matrix (13, 16, 20, 26 are customary)
    min_remainder: float = 0.5  #: fraction of a window a final remainder needs to be kept (padded)
    log_scale: str = DECIBELS  #: compression of the log-mel spectrogram, one of `LOG_SCALES`
    stft_padding: str = "reflect"  #: how the centred STFT pads the signal ends, one of `STFT_PADDINGS`

    def __post_init__(self) -> None:
        checks = {
            "sample_rate": 8000 <= self.sample_rate <= 96000,
            "track_seconds": self.track_seconds > 0,
            "segments_per_track": 1 <= self.segments_per_track <= 60,
            "n_fft": self.n_fft >= 64,
            "hop_length": 1 <= self.hop_length <= self.n_fft,
            "n_mels": 8 <= self.n_mels <= 512,
            "n_mfcc": 1 <= self.n_mfcc <= 128,
            "min_remainder": 0.0 < self.min_remainder <= 1.0,
            "log_scale": self.log_scale in LOG_SCALES,
            "stft_padding": self.stft_padding in STFT_PADDINGS,
        }
        for name, valid in checks.items():
            if not valid:
                raise InputError(f"FeatureConfig.{name}", f"value {getattr(self, name)!r} is out of range")

    @property
    def segment_seconds(self) -> float:
        """Length of one window in seconds."""
        return self.track_seconds / self.segments_per_track

    @property
    def segment_samples(self) -> int:
        """Length of one window in samples."""
        return int(round(self.segment_seconds * self.sample_rate))

    @property
    def frames_per_segment(self) -> int:
        """Declared width (STFT frames, centred) of a window's spectrogram: 130 for 3 s, 1292 for 30 s."""
        return 1 + self.segment_samples // self.hop_length

    @property
    def log_mel_unit(self) -> str:
        """Unit of the log-mel values under ``log_scale``, for axis and colour-bar labels."""
        return "dB" if self.log_scale == DECIBELS else "log10(1+10⁴·mel)"

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), sort_keys=True)

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> FeatureConfig:
        return from_dict_strict(cls, values, "FeatureConfig")

    def fingerprint(self) -> str:
        """Short stable hash of the settings (part of every cache key)."""
        return hashlib.sha256(self.to_json().encode()).hexdigest()[:16]

"""Model inputs without TensorFlow: the layout rule (which feature kinds get a trailing channel axis), the
`Standardizer` fitted on training rows, and `prepare_inputs` / `model_inputs`, the one place where dataset
features become model inputs (standardised float32, a channel axis added for log-mel); training, evaluation,
prediction and explanations all use them.

A batch of raw features is (rows, *feature_shape) (see `genre_core.config`); a model eats (rows, *input_shape),
where log-mel rows get a channel axis of 1 (a one-channel image for the CNNs) and the others are unchanged.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from genre_core.config import FEATURE_KINDS, LOG_MEL, MFCC, SUMMARY
from genre_core.dataset import Dataset
from genre_core.errors import InputError

CHANNEL_KINDS = (LOG_MEL,)  #: feature kinds whose model input has a trailing channel axis of size 1


def input_shape(feature_kind: str, feature_shape: tuple[int, ...]) -> tuple[int, ...]:
    """Shape of one model input for one row of raw features of ``feature_shape``."""
    return tuple(feature_shape) + ((1,) if feature_kind in CHANNEL_KINDS else ())


def feature_shape(feature_kind: str, model_input_shape: tuple[int, ...]) -> tuple[int, ...]:
    """Shape of one row of raw features for a model input of ``model_input_shape`` (the inverse of `input_shape`)."""
    return tuple(model_input_shape[:-1]) if feature_kind in CHANNEL_KINDS else tuple(model_input_shape)


def with_channel_axis(features: np.ndarray, feature_kind: str) -> np.ndarray:
    """(rows, *feature_shape) -> (rows, *input_shape): a view with the channel axis added where the rule says."""
    return features[..., None] if feature_kind in CHANNEL_KINDS else features


#: For each feature kind: the axis of one row that standardisation is per (after the row axis 0).
WIDTH_AXIS = {SUMMARY: 1, LOG_MEL: 1, MFCC: 2}
#: Rank of a batch of raw features (rows first) for each kind.
_FEATURE_RANK = {SUMMARY: 2, LOG_MEL: 3, MFCC: 3}
_FEATURE_LAYOUT = {SUMMARY: "(rows, features)", LOG_MEL: "(rows, n_mels, frames)", MFCC: "(rows, frames, n_mfcc)"}
_CHUNK_ROWS = 1024


def _check_features(features: np.ndarray, feature_kind: str, source: str = "features") -> None:
    if feature_kind not in FEATURE_KINDS:
        raise InputError(source, f"unknown feature kind '{feature_kind}'; known: {', '.join(FEATURE_KINDS)}")
    if features.ndim != _FEATURE_RANK[feature_kind]:
        raise InputError(
            source, f"{feature_kind} features must be {_FEATURE_LAYOUT[feature_kind]}, got shape {features.shape}"
        )


def _per_width(values: np.ndarray, feature_kind: str) -> np.ndarray:
    """Broadcastable view of a (width,) vector against (rows, ...) features of ``feature_kind``."""
    return values[:, None] if feature_kind == LOG_MEL else values


@dataclass(frozen=True, eq=False)
class Standardizer:
    """Per-width z-scoring fitted on training rows: summary per column, log-mel per mel band (statistics
    over rows and frames), MFCC per coefficient (over rows and frames). ``mean``/``std``: (width,)
    float64 in feature units; a constant width gets std 1 so it maps to 0 instead of dividing by 0."""

    feature_kind: str
    mean: np.ndarray
    std: np.ndarray

    @classmethod
    def fit(cls, features: np.ndarray, feature_kind: str) -> Standardizer:
        """Statistics of ``features`` (rows, ...) in the layout of ``feature_kind``, in float64, in
        chunks of rows so that a large log-mel array is never copied whole."""
        _check_features(features, feature_kind)
        if len(features) == 0:
            raise InputError("features", "cannot fit a standardizer on 0 rows")
        width_axis = WIDTH_AXIS[feature_kind]
        axes = tuple(axis for axis in range(features.ndim) if axis != width_axis)
        count = features.size // features.shape[width_axis]
        chunks = range(0, len(features), _CHUNK_ROWS)
        total = sum(np.sum(features[start : start + _CHUNK_ROWS], axis=axes, dtype=np.float64) for start in chunks)
        mean = total / count
        if not np.all(np.isfinite(mean)):
            raise InputError("features", "contain NaN or infinite values")
        squares = sum(
            np.sum(np.square(features[start : start + _CHUNK_ROWS] - _per_width(mean, feature_kind)), axis=axes)
            for start in chunks
        )
        std = np.sqrt(squares / count)
        return cls(feature_kind, mean, np.where(std < 1e-8, 1.0, std))

    @classmethod
    def identity(cls, feature_kind: str, width: int) -> Standardizer:
        """A standardizer that leaves features as they are (mean 0, std 1), for models that normalise their
        own input (a pretrained trunk's input batch norm)."""
        return cls(feature_kind, np.zeros(width), np.ones(width))

    @property
    def width(self) -> int:
        return len(self.mean)

    def transform(self, features: np.ndarray) -> np.ndarray:
        """(rows, ...) raw features -> float32 array of the same shape, standardised."""
        _check_features(features, self.feature_kind)
        width = features.shape[WIDTH_AXIS[self.feature_kind]]
        if width != self.width:
            raise InputError("features", f"have width {width} on the standardised axis, expected {self.width}")
        mean = _per_width(self.mean, self.feature_kind)
        std = _per_width(self.std, self.feature_kind)
        return ((features - mean) / std).astype(np.float32)

    def to_dict(self) -> dict[str, Any]:
        return {"feature_kind": self.feature_kind, "mean": self.mean.tolist(), "std": self.std.tolist()}

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> Standardizer:
        try:
            kind = values["feature_kind"]
            mean = np.asarray(values["mean"], dtype=np.float64)
            std = np.asarray(values["std"], dtype=np.float64)
        except (KeyError, TypeError, ValueError) as error:
            raise InputError("standardizer", f"malformed ({error!r})") from error
        if kind not in FEATURE_KINDS:
            raise InputError("standardizer", f"unknown feature kind {kind!r}")
        if mean.ndim != 1 or mean.shape != std.shape or len(mean) == 0:
            raise InputError("standardizer", "mean and std must be equal-length non-empty lists")
        if not (np.all(np.isfinite(mean)) and np.all(np.isfinite(std)) and np.all(std > 0)):
            raise InputError("standardizer", "mean and std must be finite and std > 0")
        return cls(kind, mean, std)


def prepare_inputs(
    features: np.ndarray, feature_kind: str, standardizer: Standardizer | None = None
) -> np.ndarray:
    """Raw features (rows, ...) of ``feature_kind`` -> model input: standardised when a ``standardizer``
    is given, float32, and for log-mel with a trailing channel axis, (rows, n_mels, frames, 1)."""
    features = np.asarray(features)
    _check_features(features, feature_kind)
    if standardizer is not None:
        if standardizer.feature_kind != feature_kind:
            raise InputError("standardizer", f"is for {standardizer.feature_kind}, not {feature_kind}")
        features = standardizer.transform(features)
    features = features.astype(np.float32, copy=False)
    return with_channel_axis(features, feature_kind)


def dataset_features(dataset: Dataset, feature_kind: str) -> np.ndarray:
    """``dataset.features[feature_kind]``; InputError naming the dataset when it lacks that kind."""
    if feature_kind not in dataset.features:
        held = ", ".join(dataset.features) or "none"
        raise InputError(dataset.source, f"has no '{feature_kind}' features (it holds: {held})")
    return dataset.features[feature_kind]


def model_inputs(dataset: Dataset, feature_kind: str, standardizer: Standardizer | None = None) -> np.ndarray:
    """All rows of ``dataset`` as model input of ``feature_kind`` (see `prepare_inputs`)."""
    return prepare_inputs(dataset_features(dataset, feature_kind), feature_kind, standardizer)

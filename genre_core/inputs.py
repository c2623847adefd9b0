"""The layout rule of model inputs, without TensorFlow: which feature kinds get a trailing channel axis.

A batch of raw features is (rows, *feature_shape) (see `genre_core.config`); a model eats (rows, *input_shape),
where log-mel rows get a channel axis of 1 (a one-channel image for the CNNs) and the others are unchanged.
"""

from __future__ import annotations

import numpy as np

from genre_core.config import LOG_MEL

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

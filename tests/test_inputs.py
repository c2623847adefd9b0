"""The layout rule of model inputs: log-mel rows get a channel axis, the others keep their shape."""

from __future__ import annotations

import numpy as np

from genre_core import inputs
from genre_core.config import LOG_MEL, MFCC, SUMMARY


def test_only_log_mel_gets_a_channel_axis_and_the_rule_inverts() -> None:
    assert inputs.input_shape(LOG_MEL, (128, 130)) == (128, 130, 1)
    assert inputs.input_shape(SUMMARY, (57,)) == (57,) and inputs.input_shape(MFCC, (130, 20)) == (130, 20)
    for kind, shape in ((LOG_MEL, (16, 20)), (SUMMARY, (57,)), (MFCC, (20, 13))):
        assert inputs.feature_shape(kind, inputs.input_shape(kind, shape)) == shape
        batch = np.zeros((3, *shape), dtype=np.float32)
        assert inputs.with_channel_axis(batch, kind).shape == (3, *inputs.input_shape(kind, shape))

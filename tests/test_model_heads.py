"""Tests for genre_core.model_heads: both heads end in ``logits`` -> ``probabilities``, and `class_model` reads a
sigmoid unit as two class columns and a softmax head as it is."""

from __future__ import annotations

import keras
import numpy as np
import pytest

from genre_core import model_heads, models
from genre_core.errors import InputError


def test_binary_task_has_a_sigmoid_unit_read_as_two_classes() -> None:
    softmax = models.build_model("ffn_mfcc", (57,), 2)
    assert softmax.output_shape == (None, 2)
    model = models.build_model("ffn_mfcc", (57,), 2, output="sigmoid", hidden=[8])
    assert model.output_shape == (None, 1) and model.get_layer("logits").units == 1
    assert model.get_layer("probabilities").get_config()["activation"] == "sigmoid"
    inputs = np.random.default_rng(0).normal(size=(5, 57)).astype(np.float32)
    z = np.asarray(keras.Model(model.inputs, model.get_layer("logits").output)(inputs))[:, 0]
    p = np.asarray(model(inputs))[:, 0]
    np.testing.assert_allclose(p, 1 / (1 + np.exp(-z)), rtol=1e-5)
    scores = np.asarray(model_heads.class_model(model, "logits")(inputs))
    probabilities = np.asarray(model_heads.class_model(model)(inputs))
    np.testing.assert_allclose(scores, np.stack([-z, z], axis=1), rtol=1e-6)
    np.testing.assert_allclose(probabilities, np.stack([1 - p, p], axis=1), rtol=1e-6)
    # a softmax model reads through unchanged
    np.testing.assert_array_equal(np.asarray(model_heads.class_model(softmax)(inputs)), np.asarray(softmax(inputs)))
    with pytest.raises(InputError, match="at least 2 classes"):
        models.build_model("ffn_mfcc", (57,), 1)
    with pytest.raises(InputError, match="sigmoid output is for 2 classes"):
        models.build_model("ffn_mfcc", (57,), 3, output="sigmoid")
    with pytest.raises(InputError, match="not one of"):
        models.build_model("ffn_mfcc", (57,), 2, output="linear")

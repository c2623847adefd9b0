"""Tests for genre_core.models: every preset builds a functional logits -> softmax classifier."""

from __future__ import annotations

import keras
import numpy as np
import pytest

from genre_core import anatomy, models
from genre_core.config import LOG_MEL, MFCC, SUMMARY
from genre_core.errors import InputError
from genre_core.hyper_settings import ACTIVATIONS

#: A small valid input shape (without batch axis) per feature kind.
SMALL_INPUT = {SUMMARY: (57,), LOG_MEL: (16, 20, 1), MFCC: (20, 13)}


def small_input(spec: models.Preset) -> tuple[int, ...]:
    """`SMALL_INPUT` of the preset's kind, or the input its pretrained network needs (transfer presets)."""
    if spec.features is not None:
        return (spec.features.n_mels, spec.features.frames_per_segment, 1)
    return SMALL_INPUT[spec.feature_kind]


@pytest.mark.parametrize("preset", sorted(models.PRESETS))
def test_every_preset_is_functional_with_logits_then_softmax(preset: str) -> None:
    spec = models.PRESETS[preset]
    assert spec.name == preset and spec.description and spec.source and "\n" not in spec.description
    model = models.build_model(preset, small_input(spec), 4)

    assert not isinstance(model, keras.Sequential)
    assert model.name == preset
    assert model.input_shape == (None, *small_input(spec))
    assert model.output_shape == (None, 4)
    logits = model.get_layer("logits")
    assert isinstance(logits, keras.layers.Dense) and logits.get_config()["activation"] == "linear"
    assert model.layers[-1].name == "probabilities"
    assert model.layers[-1].get_config()["activation"] == "softmax"
    assert model.layers[-1].input is logits.output
    assert len({layer.name for layer in model.layers}) == len(model.layers)

    inputs = np.random.default_rng(0).normal(size=(3, *small_input(spec))).astype(np.float32)
    probabilities = np.asarray(model(inputs, training=False))
    assert probabilities.shape == (3, 4)
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, rtol=1e-5)


def test_cnn_small_parameter_count_matches_the_hand_count() -> None:
    # Input (128, 130, 1), 'same' 5x5 convs, each followed by a 2x2/2 'valid' max-pool:
    #   conv 1->4:   5*5*1*4 + 4   =    104   -> pool (64, 65, 4)
    #   conv 4->8:   5*5*4*8 + 8   =    808   -> pool (32, 32, 8)   (65 // 2 = 32)
    #   conv 8->16:  5*5*8*16 + 16 =  3_216   -> pool (16, 16, 16) -> flatten 4_096
    #   dense 50:    4_096*50 + 50 = 204_850
    #   logits 10:   50*10 + 10    =    510
    #   total                      = 209_488
    model = models.build_model("cnn_small", (128, 130, 1), 10)
    assert anatomy.parameter_count(model) == 104 + 808 + 3_216 + 204_850 + 510
    assert model.get_layer("block3_pool").output.shape[1:] == (16, 16, 16)


def test_hyper_overrides_shape_the_network() -> None:
    model = models.build_model("ffn_mfcc", (57,), 3, hidden=[7], dropout=0.0, batch_norm=True)
    assert model.get_layer("dense1").units == 7
    assert any(isinstance(layer, keras.layers.BatchNormalization) for layer in model.layers)
    # Dense 57->7, batch norm (4 * 7: gamma, beta, moving mean and variance), logits 7->3.
    assert anatomy.parameter_count(model) == (57 * 7 + 7) + 4 * 7 + (7 * 3 + 3)
    plain = models.build_model("ffn_mfcc", (57,), 3, hidden=[7], dropout=0.0)
    assert not any(isinstance(layer, keras.layers.BatchNormalization) for layer in plain.layers)


@pytest.mark.parametrize("activation", ACTIVATIONS)
def test_every_offered_activation_builds_the_course_cnn_with_the_same_parameter_count(activation: str) -> None:
    course = anatomy.parameter_count(models.build_model("cnn_small", (16, 20, 1), 4))
    model = models.build_model("cnn_small", (16, 20, 1), 4, activation=activation)
    function = keras.activations.get(activation)
    assert model.get_layer("block1_conv").activation is function and model.get_layer("dense1").activation is function
    assert anatomy.parameter_count(model) == course


def test_batch_norm_and_dropout_switch_on_in_the_course_cnn() -> None:
    plain = models.build_model("cnn_small", (16, 20, 1), 4)
    assert not any(isinstance(layer, (keras.layers.BatchNormalization, keras.layers.Dropout)) for layer in plain.layers)
    model = models.build_model("cnn_small", (16, 20, 1), 4, batch_norm=True, dropout=0.5, activation="elu")
    names = {layer.name for layer in model.layers}
    assert {"block1_bn", "block1_elu", "block3_bn", "dense1_bn", "dense1_dropout"} <= names
    # batch norm adds 4 values (gamma, beta, moving mean and variance) per channel: 4*(4 + 8 + 16 + 50)
    assert anatomy.parameter_count(model) == anatomy.parameter_count(plain) + 4 * (4 + 8 + 16 + 50)


@pytest.mark.parametrize(
    ("preset", "input_shape", "hyper", "message"),
    [
        ("no_such_model", (57,), {}, "unknown preset"),
        ("ffn_mfcc", (57,), {"width": 3}, "unknown hyper-parameter"),
        ("ffn_mfcc", (57,), {"dropout": 1.5}, "dropout"),
        ("ffn_mfcc", (57,), {"hidden": []}, "hidden"),
        ("ffn_mfcc", (57,), {"activation": "no-such-activation"}, "activation"),
        ("cnn_small", (16, 20), {}, "input shape"),
        ("cnn_small", (16, 20, 3), {}, "input shape"),
        ("cnn_small", (4, 20, 1), {}, "too small"),
        ("lstm_mfcc", (20, 13), {"units": [0]}, "units"),
    ],
)
def test_bad_requests_raise_input_error(
    preset: str, input_shape: tuple[int, ...], hyper: dict, message: str
) -> None:
    with pytest.raises(InputError, match=message):
        models.build_model(preset, input_shape, 3, **hyper)


def test_layer_counts_describe_every_layer_with_its_arithmetic() -> None:
    model = models.build_model("cnn_small", (128, 130, 1), 10)
    rows = anatomy.layer_counts(model)
    assert [row.name for row in rows] == [layer.name for layer in model.layers]
    assert sum(row.params for row in rows) == anatomy.parameter_count(model)
    by_name = {row.name: row for row in rows}
    # the hand count of test_cnn_small_parameter_count_matches_the_hand_count, layer by layer
    assert by_name["block1_conv"].arithmetic == "5×5×1×4 + 4" and by_name["block1_conv"].params == 104
    assert by_name["block3_conv"].arithmetic == "5×5×8×16 + 16" and by_name["block3_conv"].params == 3_216
    assert by_name["dense1"].arithmetic == "4096×50 + 50" and by_name["dense1"].params == 204_850
    assert by_name["logits"].arithmetic == "50×10 + 10" and by_name["logits"].kind == "Dense"
    assert by_name["block1_pool"].shape_text == "64×65×4" and by_name["block1_pool"].arithmetic == ""
    for row in rows:  # every arithmetic evaluates to the count Keras reports
        if row.arithmetic:
            assert eval(row.arithmetic.split(" (")[0].replace("×", "*")) == row.params, row  # noqa: S307
    lstm = anatomy.layer_counts(models.build_model("lstm_mfcc", (20, 13), 3))
    batch_norm = anatomy.layer_counts(models.build_model("ffn_mfcc", (57,), 3, hidden=[7], batch_norm=True))
    for row in [*lstm, *batch_norm]:
        if row.arithmetic:
            assert eval(row.arithmetic.split(" (")[0].replace("×", "*")) == row.params, row  # noqa: S307

"""Tests for genre_core.model_builders: the conv stack behind ``cnn_small`` and ``cnn_bn`` builds the same layers,
names, shapes and weight order as their two builders did before it replaced them (so saved bundles and the
recipes of the shipped models keep their meaning)."""

from __future__ import annotations

import keras
import pytest

from genre_core import model_builders, models
from genre_core.errors import InputError

LayerRow = tuple[str, str, tuple[int, ...], tuple[tuple[int, ...], ...]]

#: ``cnn_small`` with its defaults on a (16, 20, 1) log-mel, 3 classes, as the builder of before the merge of the two
#: conv stacks made it: (layer name, class, output shape, weight shapes in order).
CNN_SMALL = [
    ('features', 'InputLayer', (16, 20, 1), ()),
    ('block1_conv', 'Conv2D', (16, 20, 4), ((5, 5, 1, 4), (4,))),
    ('block1_pool', 'MaxPooling2D', (8, 10, 4), ()),
    ('block2_conv', 'Conv2D', (8, 10, 8), ((5, 5, 4, 8), (8,))),
    ('block2_pool', 'MaxPooling2D', (4, 5, 8), ()),
    ('block3_conv', 'Conv2D', (4, 5, 16), ((5, 5, 8, 16), (16,))),
    ('block3_pool', 'MaxPooling2D', (2, 2, 16), ()),
    ('flatten', 'Flatten', (64,), ()),
    ('dense1', 'Dense', (50,), ((64, 50), (50,))),
    ('logits', 'Dense', (3,), ((50, 3), (3,))),
    ('probabilities', 'Activation', (3,), ()),
]

#: The same with ``batch_norm=True, dropout=0.2``: batch norm in the conv blocks and the dense layer.
CNN_SMALL_BATCH_NORM = [
    ('features', 'InputLayer', (16, 20, 1), ()),
    ('block1_conv', 'Conv2D', (16, 20, 4), ((5, 5, 1, 4), (4,))),
    ('block1_bn', 'BatchNormalization', (16, 20, 4), ((4,), (4,), (4,), (4,))),
    ('block1_relu', 'Activation', (16, 20, 4), ()),
    ('block1_pool', 'MaxPooling2D', (8, 10, 4), ()),
    ('block2_conv', 'Conv2D', (8, 10, 8), ((5, 5, 4, 8), (8,))),
    ('block2_bn', 'BatchNormalization', (8, 10, 8), ((8,), (8,), (8,), (8,))),
    ('block2_relu', 'Activation', (8, 10, 8), ()),
    ('block2_pool', 'MaxPooling2D', (4, 5, 8), ()),
    ('block3_conv', 'Conv2D', (4, 5, 16), ((5, 5, 8, 16), (16,))),
    ('block3_bn', 'BatchNormalization', (4, 5, 16), ((16,), (16,), (16,), (16,))),
    ('block3_relu', 'Activation', (4, 5, 16), ()),
    ('block3_pool', 'MaxPooling2D', (2, 2, 16), ()),
    ('flatten', 'Flatten', (64,), ()),
    ('dense1', 'Dense', (50,), ((64, 50), (50,))),
    ('dense1_bn', 'BatchNormalization', (50,), ((50,), (50,), (50,), (50,))),
    ('dense1_relu', 'Activation', (50,), ()),
    ('dense1_dropout', 'Dropout', (50,), ()),
    ('logits', 'Dense', (3,), ((50, 3), (3,))),
    ('probabilities', 'Activation', (3,), ()),
]

#: ``cnn_bn`` with its defaults on the same input: batch norm in the conv blocks only, 'same' pooling (5 -> 3).
CNN_BN = [
    ('features', 'InputLayer', (16, 20, 1), ()),
    ('block1_conv', 'Conv2D', (16, 20, 32), ((3, 3, 1, 32), (32,))),
    ('block1_bn', 'BatchNormalization', (16, 20, 32), ((32,), (32,), (32,), (32,))),
    ('block1_relu', 'Activation', (16, 20, 32), ()),
    ('block1_pool', 'MaxPooling2D', (8, 10, 32), ()),
    ('block2_conv', 'Conv2D', (8, 10, 32), ((3, 3, 32, 32), (32,))),
    ('block2_bn', 'BatchNormalization', (8, 10, 32), ((32,), (32,), (32,), (32,))),
    ('block2_relu', 'Activation', (8, 10, 32), ()),
    ('block2_pool', 'MaxPooling2D', (4, 5, 32), ()),
    ('block3_conv', 'Conv2D', (4, 5, 32), ((3, 3, 32, 32), (32,))),
    ('block3_bn', 'BatchNormalization', (4, 5, 32), ((32,), (32,), (32,), (32,))),
    ('block3_relu', 'Activation', (4, 5, 32), ()),
    ('block3_pool', 'MaxPooling2D', (2, 3, 32), ()),
    ('flatten', 'Flatten', (192,), ()),
    ('dense1', 'Dense', (128,), ((192, 128), (128,))),
    ('dense1_dropout', 'Dropout', (128,), ()),
    ('dense2', 'Dense', (64,), ((128, 64), (64,))),
    ('dense2_dropout', 'Dropout', (64,), ()),
    ('dense3', 'Dense', (32,), ((64, 32), (32,))),
    ('dense3_dropout', 'Dropout', (32,), ()),
    ('logits', 'Dense', (3,), ((32, 3), (3,))),
    ('probabilities', 'Activation', (3,), ()),
]


def layer_rows(model: keras.Model) -> list[LayerRow]:
    return [(layer.name, type(layer).__name__, tuple(layer.output.shape[1:]), tuple(tuple(w.shape) for w in layer.weights))
            for layer in model.layers]


@pytest.mark.parametrize(
    ("preset", "hyper", "expected", "l2"),
    [("cnn_small", {}, CNN_SMALL, 0.01), ("cnn_small", {"batch_norm": True, "dropout": 0.2}, CNN_SMALL_BATCH_NORM, 0.01),
     ("cnn_bn", {}, CNN_BN, 0.001)],
)
def test_the_conv_stack_builds_both_presets_as_before(preset: str, hyper: dict, expected: list[LayerRow],
                                                       l2: float) -> None:
    model = models.build_model(preset, (16, 20, 1), 3, **hyper)
    assert model.name == preset and layer_rows(model) == expected
    # the model's weights in the order a saved .keras file lists them: layer by layer as above
    assert [tuple(weight.shape) for weight in model.weights] == [shape for row in expected for shape in row[3]]
    assert model.get_layer("dense1").kernel_regularizer.l2 == pytest.approx(l2)
    assert model.get_layer("block1_conv").get_config()["padding"] == "same"


def test_valid_pooling_needs_room_for_every_halving_same_pooling_does_not() -> None:
    with pytest.raises(InputError, match="cnn_small.*too small"):
        models.build_model("cnn_small", (4, 20, 1), 3)
    assert models.build_model("cnn_bn", (4, 20, 1), 3).get_layer("block3_pool").output.shape[1:] == (1, 3, 32)


def test_the_course_cnns_batch_norm_is_a_flag_and_cnn_bn_has_none() -> None:
    with pytest.raises(InputError, match="cnn_small hyper-parameter 'batch_norm'"):
        model_builders.build_cnn_small((16, 20, 1), 3, output="softmax", batch_norm="yes", filters=[4], kernel_size=3,
                                       dense=[8], l2=0.0, activation="relu", dropout=0.0)
    with pytest.raises(InputError, match="unknown hyper-parameter"):
        models.build_model("cnn_bn", (16, 20, 1), 3, batch_norm=False)

"""The anatomy of a Keras model for display: one row per layer with its output shape, its parameter count and
the arithmetic that gives that count, so a student can check a hand count (e.g. the course CNN's) layer by
layer. Works for any model: built from a preset, loaded from a bundle, or a pretrained network.
"""

from __future__ import annotations

from dataclasses import dataclass

import keras


@dataclass(frozen=True)
class LayerCount:
    """One layer: ``name``, ``kind`` (Keras class name), ``output_shape`` (without the batch axis), ``params``
    (all its weights, trainable or not) and ``arithmetic``: how ``params`` comes about, e.g.
    ``"5×5×1×4 + 4"`` for a 5x5 convolution from 1 to 4 channels with biases ("" when it has none)."""

    name: str
    kind: str
    output_shape: tuple[int | None, ...]
    params: int
    arithmetic: str
    trainable: bool

    @property
    def shape_text(self) -> str:
        """The output shape as ``"64×65×4"``."""
        return "×".join(str(size) for size in self.output_shape)


def parameter_count(model: keras.Model) -> int:
    """Number of scalars in all weights (trainable and not, e.g. batch-norm statistics)."""
    return int(model.count_params())


def _input_width(layer: keras.layers.Layer) -> int:
    return int(layer.input.shape[-1])


def _arithmetic(layer: keras.layers.Layer) -> str:
    """How the layer's parameter count is made, in the terms a course uses; the bare count for other layers."""
    params = int(layer.count_params())
    if params == 0:
        return ""
    bias = " + {}" if getattr(layer, "use_bias", False) else ""
    if isinstance(layer, keras.layers.Conv2D) and type(layer) is keras.layers.Conv2D:
        height, width = layer.kernel_size
        text = f"{height}×{width}×{_input_width(layer)}×{layer.filters}" + bias.format(layer.filters)
    elif isinstance(layer, keras.layers.Dense):
        text = f"{_input_width(layer)}×{layer.units}" + bias.format(layer.units)
    elif isinstance(layer, keras.layers.BatchNormalization):
        per_channel = len(layer.weights)
        text = f"{per_channel}×{_input_width(layer)} (scale, shift, moving mean and variance)"
        if per_channel != 4:
            text = f"{per_channel}×{_input_width(layer)}"
    elif isinstance(layer, keras.layers.LSTM):
        units = layer.units
        text = f"4×({_input_width(layer)} + {units} + 1)×{units} (4 gates: input, recurrent, bias)"
    else:
        return f"{params}"
    return text


def layer_counts(model: keras.Model) -> list[LayerCount]:
    """One `LayerCount` per layer of ``model`` in order (the input layer included, with 0 parameters)."""
    return [
        LayerCount(
            name=layer.name,
            kind=type(layer).__name__,
            output_shape=tuple(layer.output.shape[1:]),
            params=int(layer.count_params()),
            arithmetic=_arithmetic(layer),
            trainable=bool(layer.trainable),
        )
        for layer in model.layers
    ]

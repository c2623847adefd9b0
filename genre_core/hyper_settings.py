"""What each model hyper-parameter is, so that the Train page and the CLI offer a preset's settings from its
declared ``default_hyper`` alone (no per-preset forms). No TensorFlow.

A preset declares its hyper-parameters by name in `models.Preset.default_hyper`; `HYPER_SETTINGS` says for each
name what kind of value it takes and how to label it. Names not listed (a transfer preset's ``trunk`` and
``trainable_from``) are fixed by the preset.
"""

from __future__ import annotations

from dataclasses import dataclass

SIZES = "sizes"  #: a list of positive ints (layer widths, filter counts), e.g. [128, 64]
SIZE = "size"  #: one positive int (a kernel size)
ACTIVATION = "activation"  #: one of `ACTIVATIONS`
FRACTION = "fraction"  #: a rate in [0, 1) (dropout)
PENALTY = "penalty"  #: a number >= 0 (an L2 weight)
FLAG = "flag"  #: on or off (batch norm)

#: Activations offered for hidden layers (Keras names): ReLU, LeakyReLU, ELU, GELU, SELU, swish, tanh, sigmoid.
ACTIVATIONS = ("relu", "leaky_relu", "elu", "gelu", "selu", "swish", "tanh", "sigmoid")


@dataclass(frozen=True)
class HyperSetting:
    """One hyper-parameter: ``kind`` (one of the constants above), a ``label`` and a one-line ``help``."""

    kind: str
    label: str
    help: str


HYPER_SETTINGS: dict[str, HyperSetting] = {
    "hidden": HyperSetting(SIZES, "Hidden layer sizes", "Units of each Dense hidden layer, input side first."),
    "dense": HyperSetting(SIZES, "Dense layer sizes", "Units of each Dense layer after the convolutions."),
    "filters": HyperSetting(SIZES, "Conv filters per block", "Output channels of each convolution block."),
    "units": HyperSetting(SIZES, "LSTM units per layer", "State size of each stacked LSTM layer."),
    "kernel_size": HyperSetting(SIZE, "Kernel size", "Height and width of each square convolution kernel."),
    "time_kernel": HyperSetting(SIZE, "Time kernel width", "Frames seen by the time branch's 1 x w kernels."),
    "freq_kernel": HyperSetting(SIZE, "Frequency kernel height", "Mel bands seen by the frequency branch's h x 1 "
                                "kernels."),
    "activation": HyperSetting(ACTIVATION, "Activation", "Non-linearity of the hidden layers."),
    "dropout": HyperSetting(FRACTION, "Dropout", "Share of a layer's outputs set to 0 at random in training."),
    "l2": HyperSetting(PENALTY, "L2 weight penalty", "Added to the loss: this times the sum of squared weights."),
    "batch_norm": HyperSetting(FLAG, "Batch normalisation", "Normalise each hidden layer's output over the batch "
                               "before its activation."),
}


def parse_sizes(text: str) -> list[int]:
    """``"128, 64"`` -> [128, 64]; ValueError naming the problem unless every part is an int >= 1."""
    parts = [part.strip() for part in text.replace(";", ",").split(",") if part.strip()]
    if not parts:
        raise ValueError("give at least one size, e.g. 128, 64")
    try:
        sizes = [int(part) for part in parts]
    except ValueError:
        raise ValueError(f"'{text}' is not a list of whole numbers, e.g. 128, 64") from None
    if min(sizes) < 1:
        raise ValueError(f"sizes must be >= 1, got {min(sizes)}")
    return sizes

"""Registry of model presets, all built with the Keras functional API.

Every model takes one input named ``features`` (see the array conventions in docs/architecture.md:
summary ``(57,)``, log-mel ``(n_mels, frames, 1)``, MFCC ``(frames, n_mfcc)``) and ends in a Dense layer
``logits`` (no activation) followed by an Activation layer ``probabilities``, so Grad-CAM and SHAP can read
logits from any model, including one loaded from disk. Two heads (``OUTPUTS``):

- ``"softmax"``: ``logits`` (batch, K) -> softmax ``probabilities`` (batch, K), K >= 2 (categorical
  cross-entropy);
- ``"sigmoid"``: a binary task (K = 2, e.g. blues vs metal) with one unit: ``logits`` (batch, 1) holds z, the
  class-1 logit, -> sigmoid ``probabilities`` (batch, 1) = P(class 1) (binary cross-entropy).

Code that reads a model's outputs goes through `class_outputs` / `class_model`, which give one column per
class for both heads: (-z, z) as class scores and (1 - p, p) as probabilities.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import keras

from genre_core import musicnn
from genre_core.config import LOG_MEL, MFCC, SUMMARY, FeatureConfig
from genre_core.errors import InputError
from genre_core.musicnn import TRUNKS
from genre_core.train_choices import OUTPUTS, SIGMOID, SOFTMAX


#: Rank of one model input (without the batch axis) for each feature kind.
INPUT_RANKS = {SUMMARY: 1, LOG_MEL: 3, MFCC: 2}

Builder = Callable[..., keras.Model]


@dataclass(frozen=True)
class Preset:
    """A named architecture: what it is, where the idea comes from, what it eats, how it is built.

    ``builder(input_shape, n_classes, **hyper)`` receives the full hyper-parameter set (defaults overlaid
    with the caller's values) and returns an uncompiled functional ``keras.Model`` named after the preset.
    """

    name: str
    description: str  #: one line for the app
    source: str  #: one line: the paper, tutorial or course the design follows
    feature_kind: str  #: one of config.SUMMARY, config.LOG_MEL, config.MFCC
    default_hyper: dict[str, Any]
    builder: Builder
    #: Feature settings the preset needs (a pretrained network's input); None: any, the dataset's own.
    features: FeatureConfig | None = None
    #: Transfer presets: the hyper-parameter ``trainable_from`` names the first trained layer; the layers before
    #: keep their pretrained weights, and training runs on their cached output (`genre_core.transfer`).
    transfer: bool = False
    #: Inputs are standardised with statistics of the training rows (a pretrained trunk brings its own).
    standardize: bool = True


# --- hyper-parameter checks ------------------------------------------------------------------------


def _hyper_error(preset: str, key: str, value: Any, expected: str) -> InputError:
    return InputError(f"{preset} hyper-parameter '{key}'", f"value {value!r} is not {expected}")


def _positive_ints(preset: str, key: str, value: Any) -> tuple[int, ...]:
    """``value`` as a tuple of positive ints (a single int counts as a one-element tuple)."""
    values = (value,) if isinstance(value, int) else value
    if (
        not isinstance(values, Sequence)
        or isinstance(values, str)
        or not values
        or not all(isinstance(v, int) and not isinstance(v, bool) and v > 0 for v in values)
    ):
        raise _hyper_error(preset, key, value, "a positive int or a non-empty list of positive ints")
    return tuple(values)


def _positive_int(preset: str, key: str, value: Any) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
        raise _hyper_error(preset, key, value, "a positive int")
    return value


def _fraction(preset: str, key: str, value: Any) -> float:
    """A dropout rate in [0, 1)."""
    if not isinstance(value, (int, float)) or isinstance(value, bool) or not 0.0 <= value < 1.0:
        raise _hyper_error(preset, key, value, "a number in [0, 1)")
    return float(value)


def _non_negative(preset: str, key: str, value: Any) -> float:
    if not isinstance(value, (int, float)) or isinstance(value, bool) or value < 0:
        raise _hyper_error(preset, key, value, "a number >= 0")
    return float(value)


def _flag(preset: str, key: str, value: Any) -> bool:
    if not isinstance(value, bool):
        raise _hyper_error(preset, key, value, "true or false")
    return value


def _activation(preset: str, key: str, value: Any) -> str:
    try:
        keras.activations.get(value)
    except (ValueError, TypeError) as error:
        raise _hyper_error(preset, key, value, "a Keras activation name") from error
    return value


def _min_spatial(preset: str, input_shape: tuple[int, ...], halvings: int) -> None:
    """Inputs to a CNN must survive ``halvings`` 2x poolings along both spatial axes."""
    if min(input_shape[:2]) < 2**halvings:
        raise InputError(
            f"preset '{preset}'", f"input {input_shape} is too small: both axes need >= {2**halvings} values"
        )


# --- building blocks -------------------------------------------------------------------------------


def _l2(weight: float) -> keras.regularizers.Regularizer | None:
    return keras.regularizers.L2(weight) if weight > 0 else None


def _dense_stack(
    x: Any,
    hidden: tuple[int, ...],
    *,
    activation: str = "relu",
    dropout: float = 0.0,
    batch_norm: bool = False,
    l2: float = 0.0,
) -> Any:
    """Dense layers ``dense1..n`` (each: Dense -> [BatchNorm -> activation] -> [Dropout])."""
    for index, units in enumerate(hidden, start=1):
        name = f"dense{index}"
        x = keras.layers.Dense(
            units, activation=None if batch_norm else activation, kernel_regularizer=_l2(l2), name=name
        )(x)
        if batch_norm:
            x = keras.layers.BatchNormalization(name=f"{name}_bn")(x)
            x = keras.layers.Activation(activation, name=f"{name}_{activation}")(x)
        if dropout > 0:
            x = keras.layers.Dropout(dropout, name=f"{name}_dropout")(x)
    return x


def _conv_block(
    x: Any,
    prefix: str,
    filters: int,
    kernel_size: tuple[int, int],
    pool_size: tuple[int, int],
    *,
    batch_norm: bool,
    activation: str = "relu",
    pool_padding: str = "valid",
) -> Any:
    """``{prefix}_conv`` ('same' padding) -> [``{prefix}_bn``] -> activation -> ``{prefix}_pool`` (stride = pool)."""
    x = keras.layers.Conv2D(
        filters, kernel_size, padding="same", activation=None if batch_norm else activation, name=f"{prefix}_conv"
    )(x)
    if batch_norm:
        x = keras.layers.BatchNormalization(name=f"{prefix}_bn")(x)
        x = keras.layers.Activation(activation, name=f"{prefix}_{activation}")(x)
    return keras.layers.MaxPooling2D(pool_size, strides=pool_size, padding=pool_padding, name=f"{prefix}_pool")(x)


def classifier_head(x: Any, n_classes: int, output: str) -> Any:
    """Dense ``logits`` (no activation) -> Activation ``probabilities``: ``n_classes`` softmax units, or for
    ``output="sigmoid"`` (2 classes only) one sigmoid unit giving P(class 1)."""
    if output not in OUTPUTS:
        raise InputError("output", f"{output!r} is not one of {', '.join(OUTPUTS)}")
    if output == SIGMOID and n_classes != 2:
        raise InputError("output", f"a sigmoid output is for 2 classes, this task has {n_classes}: use softmax")
    logits = keras.layers.Dense(1 if output == SIGMOID else n_classes, name="logits")(x)
    return keras.layers.Activation(output, name="probabilities")(logits)


def _classifier(inputs: Any, x: Any, n_classes: int, name: str, output: str) -> keras.Model:
    """Close a model with `classifier_head`."""
    return keras.Model(inputs, classifier_head(x, n_classes, output), name=name)


def _input(input_shape: tuple[int, ...]) -> Any:
    return keras.Input(shape=input_shape, name="features")


# --- builders --------------------------------------------------------------------------------------


def _build_mlp(
    input_shape: tuple[int, ...],
    n_classes: int,
    *,
    output: str,
    preset: str,
    hidden: Any,
    activation: Any,
    dropout: Any,
    batch_norm: Any,
    l2: Any,
) -> keras.Model:
    """Dense network; an input of rank > 1 (an MFCC matrix) is flattened first."""
    inputs = _input(input_shape)
    x = keras.layers.Flatten(name="flatten")(inputs) if len(input_shape) > 1 else inputs
    x = _dense_stack(
        x,
        _positive_ints(preset, "hidden", hidden),
        activation=_activation(preset, "activation", activation),
        dropout=_fraction(preset, "dropout", dropout),
        batch_norm=_flag(preset, "batch_norm", batch_norm),
        l2=_non_negative(preset, "l2", l2),
    )
    return _classifier(inputs, x, n_classes, preset, output)


def _build_cnn_small(
    input_shape: tuple[int, ...],
    n_classes: int,
    *,
    output: str,
    filters: Any,
    kernel_size: Any,
    dense: Any,
    l2: Any,
    activation: Any,
    dropout: Any,
    batch_norm: Any,
) -> keras.Model:
    """(batch, n_mels, frames, 1) -> [conv k x k 'same', [batch norm], activation, 2x2 max-pool stride 2] per
    filter count -> flatten -> Dense (activation, L2, [batch norm], [dropout]) -> (batch, K). The defaults
    (ReLU, no batch norm, no dropout) are the course CNN."""
    preset = "cnn_small"
    filter_counts = _positive_ints(preset, "filters", filters)
    kernel = _positive_int(preset, "kernel_size", kernel_size)
    function = _activation(preset, "activation", activation)
    normalise = _flag(preset, "batch_norm", batch_norm)
    _min_spatial(preset, input_shape, len(filter_counts))
    inputs = _input(input_shape)
    x = inputs
    for index, count in enumerate(filter_counts, start=1):
        x = _conv_block(x, f"block{index}", count, (kernel, kernel), (2, 2), batch_norm=normalise, activation=function)
    x = keras.layers.Flatten(name="flatten")(x)
    x = _dense_stack(
        x,
        _positive_ints(preset, "dense", dense),
        activation=function,
        dropout=_fraction(preset, "dropout", dropout),
        batch_norm=normalise,
        l2=_non_negative(preset, "l2", l2),
    )
    return _classifier(inputs, x, n_classes, preset, output)


def _build_cnn_bn(
    input_shape: tuple[int, ...],
    n_classes: int,
    *,
    output: str,
    filters: Any,
    kernel_size: Any,
    dense: Any,
    dropout: Any,
    l2: Any,
    activation: Any,
) -> keras.Model:
    """(batch, n_mels, frames, 1) -> [conv, batch norm, activation, 2x2 max-pool ('same')] per filter count
    -> flatten -> dense stack with dropout and L2 -> (batch, K)."""
    preset = "cnn_bn"
    filter_counts = _positive_ints(preset, "filters", filters)
    kernel = _positive_int(preset, "kernel_size", kernel_size)
    function = _activation(preset, "activation", activation)
    inputs = _input(input_shape)
    x = inputs
    for index, count in enumerate(filter_counts, start=1):
        x = _conv_block(x, f"block{index}", count, (kernel, kernel), (2, 2), batch_norm=True, activation=function,
                        pool_padding="same")
    x = keras.layers.Flatten(name="flatten")(x)
    x = _dense_stack(
        x,
        _positive_ints(preset, "dense", dense),
        activation=function,
        dropout=_fraction(preset, "dropout", dropout),
        l2=_non_negative(preset, "l2", l2),
    )
    return _classifier(inputs, x, n_classes, preset, output)


def _build_cnn_timefreq(
    input_shape: tuple[int, ...],
    n_classes: int,
    *,
    output: str,
    filters: Any,
    time_kernel: Any,
    freq_kernel: Any,
    dense: Any,
    dropout: Any,
    activation: Any,
) -> keras.Model:
    """(batch, n_mels, frames, 1) -> two parallel branches -> concatenate -> dense -> (batch, K).

    A spectrogram is not an image: its axes mean different things, and a pattern shifted in time is
    the same musical event while one shifted in frequency may not be (Pons et al. 2016).
      - ``time`` branch: 1 x ``time_kernel`` kernels see a short stretch of one band (onsets, rhythm,
        tempo); it pools over frequency only (2x1), so a rhythm is recognised whatever band carries it.
      - ``freq`` branch: ``freq_kernel`` x 1 kernels see a spectral envelope at one instant (timbre,
        harmonics, instrumentation); it pools over time only (1x2), so timbre is recognised whenever it
        occurs.
    Each branch ends in a global max pool (was the pattern present anywhere?); the two vectors are
    concatenated.
    """
    preset = "cnn_timefreq"
    filter_counts = _positive_ints(preset, "filters", filters)
    time_width = _positive_int(preset, "time_kernel", time_kernel)
    freq_height = _positive_int(preset, "freq_kernel", freq_kernel)
    function = _activation(preset, "activation", activation)
    inputs = _input(input_shape)
    branches = []
    for branch, kernel, pool in (("time", (1, time_width), (2, 1)), ("freq", (freq_height, 1), (1, 2))):
        x = inputs
        for index, count in enumerate(filter_counts, start=1):
            x = _conv_block(x, f"{branch}{index}", count, kernel, pool, batch_norm=True, activation=function,
                            pool_padding="same")
        branches.append(keras.layers.GlobalMaxPooling2D(name=f"{branch}_global_pool")(x))
    x = keras.layers.Concatenate(name="concat")(branches)
    x = _dense_stack(x, _positive_ints(preset, "dense", dense), activation=function,
                     dropout=_fraction(preset, "dropout", dropout))
    return _classifier(inputs, x, n_classes, preset, output)


def _build_lstm_mfcc(
    input_shape: tuple[int, ...], n_classes: int, *, output: str, units: Any, dense: Any, dropout: Any
) -> keras.Model:
    """(batch, frames, n_mfcc) -> stacked LSTMs (last returns its final state) -> dense, dropout
    -> (batch, K)."""
    preset = "lstm_mfcc"
    unit_counts = _positive_ints(preset, "units", units)
    inputs = _input(input_shape)
    x = inputs
    for index, count in enumerate(unit_counts, start=1):
        x = keras.layers.LSTM(count, return_sequences=index < len(unit_counts), name=f"lstm{index}")(x)
    x = _dense_stack(x, _positive_ints(preset, "dense", dense), dropout=_fraction(preset, "dropout", dropout))
    return _classifier(inputs, x, n_classes, preset, output)


def _build_transfer(input_shape: tuple[int, ...], n_classes: int, **hyper: Any) -> keras.Model:
    from genre_core import transfer  # loads the pretrained trunk: only when such a preset is built

    return transfer.build_for_preset(input_shape, n_classes, **hyper)


def _transfer_preset(name: str, trunk: str, trainable_from: str, what: str) -> Preset:
    spec = TRUNKS[trunk]
    return Preset(
        name=name,
        description=what,
        source=f"J. Pons & X. Serra 2019, musicnn ({spec.checkpoint}, trained on the {spec.collection}); ISC licence.",
        feature_kind=LOG_MEL,
        default_hyper={"trunk": trunk, "trainable_from": trainable_from, "dropout": 0.5},
        builder=functools.partial(_build_transfer, preset=name),
        features=musicnn.FEATURES,
        transfer=True,
        standardize=False,
    )


PRESETS: dict[str, Preset] = {
    preset.name: preset
    for preset in (
        Preset(
            name="ffn_mfcc",
            description="Dense network on the 57 summary features (MFCC, chroma, spectral statistics) of a clip.",
            source="Kaggle GTZAN features_30_sec.csv notebooks: a feed-forward net on the summary table.",
            feature_kind=SUMMARY,
            default_hyper={
                "hidden": [128, 128, 32],
                "activation": "relu",
                "dropout": 0.2,
                "batch_norm": False,
                "l2": 0.0,
            },
            builder=functools.partial(_build_mlp, preset="ffn_mfcc"),
        ),
        Preset(
            name="mlp_mfcc_seq",
            description="Dense network 512-256-64 on the flattened MFCC matrix (frames x coefficients).",
            source="V. Velardo, 'Deep Learning (for Audio) with Python': MLP genre classifier on MFCC segments.",
            feature_kind=MFCC,
            default_hyper={
                "hidden": [512, 256, 64],
                "activation": "relu",
                "dropout": 0.3,
                "batch_norm": False,
                "l2": 0.001,
            },
            builder=functools.partial(_build_mlp, preset="mlp_mfcc_seq"),
        ),
        Preset(
            name="cnn_small",
            description="Small CNN: 4-8-16 channel 5x5 conv/max-pool blocks on a log-mel segment, Dense 50.",
            source="Course assignment CNN on 3 s log-mel segments of GTZAN.",
            feature_kind=LOG_MEL,
            default_hyper={
                "filters": [4, 8, 16],
                "kernel_size": 5,
                "dense": [50],
                "l2": 0.01,
                "activation": "relu",
                "dropout": 0.0,
                "batch_norm": False,
            },
            builder=_build_cnn_small,
        ),
        Preset(
            name="cnn_bn",
            description="Three 32-channel conv blocks with batch norm, then Dense 128-64-32 with dropout.",
            source="V. Velardo, 'Deep Learning (for Audio) with Python': CNN genre classifier with batch norm.",
            feature_kind=LOG_MEL,
            default_hyper={
                "filters": [32, 32, 32],
                "kernel_size": 3,
                "dense": [128, 64, 32],
                "dropout": 0.3,
                "l2": 0.001,
                "activation": "relu",
            },
            builder=_build_cnn_bn,
        ),
        Preset(
            name="cnn_timefreq",
            description="Parallel time (1x7) and frequency (7x1) conv branches, each pooling one axis only.",
            source="J. Pons et al. 2016, 'Experimenting with musically motivated convolutional neural networks'.",
            feature_kind=LOG_MEL,
            default_hyper={
                "filters": [16, 32],
                "time_kernel": 7,
                "freq_kernel": 7,
                "dense": [64],
                "dropout": 0.3,
                "activation": "relu",
            },
            builder=_build_cnn_timefreq,
        ),
        Preset(
            name="lstm_mfcc",
            description="Two LSTM(64) layers over the MFCC sequence, then Dense 64 and dropout.",
            source="V. Velardo, 'Deep Learning (for Audio) with Python': RNN-LSTM genre classifier on MFCCs.",
            feature_kind=MFCC,
            default_hyper={"units": [64, 64], "dense": [64], "dropout": 0.3},
            builder=_build_lstm_mfcc,
        ),
        _transfer_preset("transfer_musicnn", "msd_musicnn", "head_dropout",
                         "Pretrained musicnn (frozen) + a new genre layer on its 200-value embedding: transfer learning."),
        _transfer_preset("finetune_musicnn", "msd_musicnn", "pool_bn",
                         "Pretrained musicnn with its last dense block trained again, plus a new genre layer."),
        _transfer_preset("transfer_vgg", "msd_vgg", "head_dropout",
                         "Pretrained VGG (five 128-filter conv blocks, frozen) + a new genre layer on its embedding."),
        _transfer_preset("finetune_vgg", "msd_vgg", "block5_conv",
                         "Pretrained VGG with its last conv block trained again, plus a new genre layer."),
    )
}


def get_preset(name: str) -> Preset:
    """The preset called ``name``; InputError listing the known names otherwise."""
    if name not in PRESETS:
        raise InputError(f"preset '{name}'", f"unknown preset; known: {', '.join(PRESETS)}")
    return PRESETS[name]


def check_hyper(preset: str, hyper: dict[str, Any]) -> None:
    """InputError when ``hyper`` names a hyper-parameter that ``preset`` does not have."""
    unknown = set(hyper) - set(get_preset(preset).default_hyper)
    if unknown:
        known = ", ".join(get_preset(preset).default_hyper)
        raise InputError(f"preset '{preset}'", f"unknown hyper-parameter(s) {sorted(unknown)}; known: {known}")


def build_model(
    preset: str, input_shape: tuple[int, ...], n_classes: int, *, output: str = SOFTMAX, **hyper: Any
) -> keras.Model:
    """Build the uncompiled functional model of ``preset``.

    ``input_shape`` excludes the batch axis: summary ``(57,)``, log-mel ``(n_mels, frames, 1)``, MFCC
    ``(frames, n_mfcc)``. ``hyper`` overrides the preset's ``default_hyper``. The model maps
    ``(batch, *input_shape)`` to softmax probabilities ``(batch, n_classes)``, or with ``output="sigmoid"``
    (2 classes) to P(class 1) ``(batch, 1)``. Unknown presets or hyper-parameters, bad values and unusable
    shapes raise InputError.
    """
    spec = get_preset(preset)
    check_hyper(preset, hyper)
    shape = tuple(int(size) for size in input_shape)
    rank = INPUT_RANKS[spec.feature_kind]
    if len(shape) != rank or min(shape) < 1 or (spec.feature_kind == LOG_MEL and shape[-1] != 1):
        expected = {SUMMARY: "(n_features,)", LOG_MEL: "(n_mels, frames, 1)", MFCC: "(frames, n_mfcc)"}
        raise InputError(f"preset '{preset}'", f"input shape {shape} is not {expected[spec.feature_kind]}")
    if isinstance(n_classes, bool) or not isinstance(n_classes, int) or n_classes < 2:
        raise InputError(f"preset '{preset}'", f"needs at least 2 classes, got {n_classes!r}")
    return spec.builder(shape, n_classes, output=output, **{**spec.default_hyper, **hyper})


def class_outputs(model: keras.Model, layer: str = "probabilities") -> Any:
    """The output of ``layer`` ("logits" or "probabilities") of a GenreLens classifier as one column per class,
    (batch, K) for either head: a softmax model's as it is; a sigmoid model's (batch, 1) class-1 logit z becomes
    the class scores (-z, z), its P(class 1) p becomes (1 - p, p). A symbolic tensor for `class_model`."""
    values = model.get_layer(layer).output
    if int(values.shape[-1]) != 1:
        return values
    # one fixed linear layer (a MatMul, which every gradient method and shap's DeepExplainer handle): [-1, 1] x
    # plus a bias of 1 on the class-0 column for probabilities
    two_columns = keras.layers.Dense(
        2,
        kernel_initializer=keras.initializers.Constant([[-1.0, 1.0]]),
        bias_initializer=keras.initializers.Constant([0.0 if layer == "logits" else 1.0, 0.0]),
        trainable=False,
        name=f"{layer}_per_class",
    )
    return two_columns(values)


def class_model(model: keras.Model, layer: str = "probabilities") -> keras.Model:
    """A model sharing ``model``'s weights that maps its input to `class_outputs` ``(batch, K)``: the one way
    evaluation, prediction, Grad-CAM and SHAP read class scores or probabilities from either head."""
    return keras.Model(model.inputs, class_outputs(model, layer), name=f"{model.name}_{layer}")

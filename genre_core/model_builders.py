"""The builders of the model presets (`genre_core.models.PRESETS`) and the layer blocks they share.

Every builder takes ``input_shape`` (without the batch axis: summary ``(57,)``, log-mel ``(n_mels, frames, 1)``,
MFCC ``(frames, n_mfcc)``) and ``n_classes``, the head ``output`` (`genre_core.model_heads`) and the preset's full
hyper-parameter set as keywords, checks each value (`genre_core.hyper_checks`), and returns an uncompiled
functional ``keras.Model`` with one input named ``features`` and layer names that saved bundles rely on.
"""

from __future__ import annotations

from typing import Any

import keras

from genre_core import hyper_checks
from genre_core.model_heads import classifier_head


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


def _classifier(inputs: Any, x: Any, n_classes: int, name: str, output: str) -> keras.Model:
    """Close a model with `classifier_head`."""
    return keras.Model(inputs, classifier_head(x, n_classes, output), name=name)


def _input(input_shape: tuple[int, ...]) -> Any:
    return keras.Input(shape=input_shape, name="features")


# --- builders --------------------------------------------------------------------------------------


def build_mlp(
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
        hyper_checks.positive_ints(preset, "hidden", hidden),
        activation=hyper_checks.activation(preset, "activation", activation),
        dropout=hyper_checks.fraction(preset, "dropout", dropout),
        batch_norm=hyper_checks.flag(preset, "batch_norm", batch_norm),
        l2=hyper_checks.non_negative(preset, "l2", l2),
    )
    return _classifier(inputs, x, n_classes, preset, output)


def build_conv_stack(
    input_shape: tuple[int, ...],
    n_classes: int,
    *,
    output: str,
    preset: str,
    pool_padding: str,
    conv_batch_norm: bool,
    dense_batch_norm: bool,
    filters: Any,
    kernel_size: Any,
    dense: Any,
    l2: Any,
    activation: Any,
    dropout: Any,
) -> keras.Model:
    """(batch, n_mels, frames, 1) -> per filter count ``block{i}``: conv k x k 'same', [batch norm], activation,
    2x2 max-pool stride 2 (``pool_padding`` 'valid' drops an odd last row or column, 'same' keeps it) -> flatten
    -> Dense ``dense{i}`` (activation, L2, [batch norm], [dropout]) -> (batch, K). ``cnn_bn`` is this stack with
    batch norm in the conv blocks and 'same' pooling; ``cnn_small`` (`build_cnn_small`) its plain course form."""
    filter_counts = hyper_checks.positive_ints(preset, "filters", filters)
    kernel = hyper_checks.positive_int(preset, "kernel_size", kernel_size)
    function = hyper_checks.activation(preset, "activation", activation)
    if pool_padding == "valid":
        hyper_checks.min_spatial(preset, input_shape, len(filter_counts))
    inputs = _input(input_shape)
    x = inputs
    for index, count in enumerate(filter_counts, start=1):
        x = _conv_block(x, f"block{index}", count, (kernel, kernel), (2, 2), batch_norm=conv_batch_norm,
                        activation=function, pool_padding=pool_padding)
    x = keras.layers.Flatten(name="flatten")(x)
    x = _dense_stack(
        x,
        hyper_checks.positive_ints(preset, "dense", dense),
        activation=function,
        dropout=hyper_checks.fraction(preset, "dropout", dropout),
        batch_norm=dense_batch_norm,
        l2=hyper_checks.non_negative(preset, "l2", l2),
    )
    return _classifier(inputs, x, n_classes, preset, output)


def build_cnn_small(input_shape: tuple[int, ...], n_classes: int, *, batch_norm: Any, **hyper: Any) -> keras.Model:
    """The course CNN: `build_conv_stack` with 'valid' pooling, and batch norm in both the conv blocks and the
    dense layers or in neither (its ``batch_norm`` hyper-parameter; off by default, as are dropout and anything
    but ReLU)."""
    normalise = hyper_checks.flag("cnn_small", "batch_norm", batch_norm)
    return build_conv_stack(input_shape, n_classes, preset="cnn_small", pool_padding="valid",
                            conv_batch_norm=normalise, dense_batch_norm=normalise, **hyper)


def build_cnn_timefreq(
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
    filter_counts = hyper_checks.positive_ints(preset, "filters", filters)
    time_width = hyper_checks.positive_int(preset, "time_kernel", time_kernel)
    freq_height = hyper_checks.positive_int(preset, "freq_kernel", freq_kernel)
    function = hyper_checks.activation(preset, "activation", activation)
    inputs = _input(input_shape)
    branches = []
    for branch, kernel, pool in (("time", (1, time_width), (2, 1)), ("freq", (freq_height, 1), (1, 2))):
        x = inputs
        for index, count in enumerate(filter_counts, start=1):
            x = _conv_block(x, f"{branch}{index}", count, kernel, pool, batch_norm=True, activation=function,
                            pool_padding="same")
        branches.append(keras.layers.GlobalMaxPooling2D(name=f"{branch}_global_pool")(x))
    x = keras.layers.Concatenate(name="concat")(branches)
    x = _dense_stack(x, hyper_checks.positive_ints(preset, "dense", dense), activation=function,
                     dropout=hyper_checks.fraction(preset, "dropout", dropout))
    return _classifier(inputs, x, n_classes, preset, output)


def build_lstm_mfcc(
    input_shape: tuple[int, ...], n_classes: int, *, output: str, units: Any, dense: Any, dropout: Any
) -> keras.Model:
    """(batch, frames, n_mfcc) -> stacked LSTMs (last returns its final state) -> dense, dropout
    -> (batch, K)."""
    preset = "lstm_mfcc"
    unit_counts = hyper_checks.positive_ints(preset, "units", units)
    inputs = _input(input_shape)
    x = inputs
    for index, count in enumerate(unit_counts, start=1):
        x = keras.layers.LSTM(count, return_sequences=index < len(unit_counts), name=f"lstm{index}")(x)
    x = _dense_stack(x, hyper_checks.positive_ints(preset, "dense", dense), dropout=hyper_checks.fraction(preset, "dropout", dropout))
    return _classifier(inputs, x, n_classes, preset, output)


def build_transfer(input_shape: tuple[int, ...], n_classes: int, **hyper: Any) -> keras.Model:
    from genre_core import transfer  # loads the pretrained trunk: only when such a preset is built

    return transfer.build_for_preset(input_shape, n_classes, **hyper)

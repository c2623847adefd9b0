"""Grad-CAM, Grad-CAM++ and gradient saliency maps of spectrogram classifiers.

The model is a functional Keras model with input ``(batch, n_mels, frames, 1)`` (row 0 = lowest mel band)
and a Dense layer named ``logits`` (no activation) before the softmax. Maps are computed from the logits,
not the probabilities: the softmax saturates and couples the classes, which flattens the gradients. A binary
model with one sigmoid unit z explains class 1 by z and class 0 by -z (`model_heads.class_outputs`).
Every map has the input's orientation: ``(n, n_mels, frames)``, row 0 = lowest band, column = time frame.

The gradient functions are compiled (``tf.function``) once per model and layer and reused, see
`GradCamExplainer` and `cached_explainer`.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import keras
import numpy as np
import tensorflow as tf

from genre_core.errors import InputError
from genre_core.model_heads import class_outputs

LOGITS_LAYER = "logits"  #: name of the Dense layer (no activation) every classifier ends with
METHODS = ("gradcam", "gradcam++")  #: the class-activation-map variants `grad_cam` computes
CONV_LAYER_TYPES = (
    keras.layers.Conv2D,
    keras.layers.SeparableConv2D,
    keras.layers.DepthwiseConv2D,
    keras.layers.Conv2DTranspose,
)
BATCH_SIZE = 32  #: spectrograms per compiled call (bounds memory for long lists)
#: One class for every row, one class per row, or None for each row's predicted class.
ClassIndex = int | Sequence[int] | np.ndarray | None


@dataclass(frozen=True)
class GradCamResult:
    """Class-activation maps of ``n`` spectrograms.

    - ``heatmaps``: (n, H, W) float32 in [0, 1], at the input's resolution and orientation (row 0 = lowest
      mel band), each map divided by its maximum (an all-zero map stays zero)
    - ``raw``: (n, h, w) float32 >= 0, the unnormalised map at the layer's resolution (after the ReLU)
    - ``class_index``: (n,) int64, the class each map explains
    - ``logits``: (n, K) float32, the model's logits for the inputs
    """

    heatmaps: np.ndarray
    raw: np.ndarray
    class_index: np.ndarray
    logits: np.ndarray
    layer: str
    method: str


def layer_problem(model: keras.Model, name: str) -> str | None:
    """Why Grad-CAM at layer ``name`` would give a useless (blank or uniform) map; None when it is usable.

    A usable layer is any layer after the input whose output is a ``(batch, frequency, time, channels)`` map
    (a convolution, pooling, batch norm, activation or merge layer) with a frequency × time extent larger than
    1 × 1, each axis the input's divided by a pooling factor (`_pooled_from`). After enough pooling a layer's output is a single cell: the "map" is then one number spread over
    the whole spectrogram, and after the ReLU it is either uniform or entirely blank. The map is stretched over
    the whole input, so the layer's rows and columns must still run along frequency and time (true for every
    GenreLens preset).
    """
    try:
        layer = model.get_layer(name)
    except ValueError:
        return "the model has no layer of this name"
    if isinstance(layer, keras.layers.InputLayer):
        return "is the model's input, which has no feature maps to weigh (the saliency map explains the input)"
    shape = tuple(layer.output.shape)
    if len(shape) != 4:
        return f"its output {shape} is not (batch, frequency, time, channels)"
    if shape[1] == 1 and shape[2] == 1:
        return (
            "its output is 1 × 1: pooling has removed all frequency and time resolution, "
            "so the map is a single cell (uniform, or blank after the ReLU)"
        )
    for axis, label in ((1, "frequency"), (2, "time")):
        steps, positions = model.input.shape[axis], shape[axis]
        if positions > 1 and steps and not _pooled_from(steps, positions):
            return (
                f"its {label} axis ({positions} positions for the input's {steps}) is not the input's divided by a "
                f"pooling factor: a 'valid' convolution across {label} (like musicnn's timbral filters, which span "
                f"38 or 67 mel bands) leaves filter offsets, not {label} steps, so its map cannot be laid over the "
                "spectrogram"
            )
    return None


def _pooled_from(steps: int, positions: int) -> bool:
    """True when ``positions`` is ``steps`` divided by a power of two, within 10 % (as 'same' or 'valid' pooling
    with stride 2 leaves it: 187 frames → 92 → 46 → 23 → 11)."""
    ratio = steps / positions
    return abs(ratio / 2 ** round(np.log2(ratio)) - 1) <= 0.1


def spatial_layer_names(model: keras.Model) -> list[str]:
    """Layers (in model order) whose output is a spatial map ``(batch, frequency, time, channels)``: the candidate
    Grad-CAM targets. The input layer is left out; dense and recurrent models have none. A candidate may still be
    unusable, e.g. pooled down to 1 × 1: `layer_problem` says why (None for the usable ones)."""
    return [
        layer.name
        for layer in model.layers
        if not isinstance(layer, keras.layers.InputLayer) and len(layer.output.shape) == 4
    ]


def carries_all_evidence(model: keras.Model, name: str) -> bool:
    """True when every path from the input to the logits passes through layer ``name``, so that its map can show
    all the evidence the model uses; False for a layer on one of parallel branches that meet after it."""
    layer, logits = model.get_layer(name), model.get_layer(LOGITS_LAYER)
    try:
        keras.Model(layer.output, logits.output)  # refused when the logits also depend on another path
    except ValueError:
        return False
    return True


def _shape_kept_through(model: keras.Model, name: str) -> str:
    """``name``, or the last of the layers straight after it that keep its output shape (batch norm, activation,
    dropout): the maps the model passes on, rather than the raw ones before normalisation and activation."""
    current = model.get_layer(name)
    while True:
        consumers = [
            layer
            for layer in model.layers
            if not isinstance(layer, keras.layers.InputLayer) and layer.input is current.output
        ]
        if len(consumers) != 1 or tuple(consumers[0].output.shape) != tuple(current.output.shape):
            return current.name
        current = consumers[0]


def default_target_layer(model: keras.Model) -> str:
    """The layer Grad-CAM explains when none is named: the last convolution's maps as the model passes them on,
    after the batch norm and activation straight after it (the layers that keep its shape).

    These are the most abstract maps that still resolve frequency and time. For cnn_small it is the last
    ``blockN_conv`` (its ReLU is inside the convolution); for cnn_bn it is ``blockN_relu``, not ``blockN_conv``,
    whose raw values the batch norm still shifts and rescales per channel, so a large one need not be evidence.

    Parallel branches: when the last convolution lies on one branch, the default is the first usable layer after
    it through which all evidence passes (`carries_all_evidence`: where the branches merge), if that layer is
    still spatial. cnn_timefreq has no such layer: its time branch (maps of n_mels/4 × frames) and its frequency
    branch (n_mels × frames/4) differ in shape and are pooled globally before they are concatenated. Its default
    is the frequency branch's last convolution after its batch norm and ReLU, ``freqN_relu``, and the map shows
    **that branch's evidence only**; choose ``timeN_relu`` for the time branch's.

    Raises `InputError` when the model has no usable Conv2D-type layer.
    """
    usable = [name for name in spatial_layer_names(model) if layer_problem(model, name) is None]
    convolutions = [index for index, name in enumerate(usable) if isinstance(model.get_layer(name), CONV_LAYER_TYPES)]
    if not convolutions:
        raise InputError("model", "has no Conv2D layer with a frequency × time output; Grad-CAM needs a CNN")
    after_last = usable[convolutions[-1] :]
    merged = [name for name in after_last if carries_all_evidence(model, name)]
    return _shape_kept_through(model, merged[0] if merged else after_last[0])


def _select_scores(logits: tf.Tensor, requested: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
    """Per row the requested class (``-1`` = the predicted one), (n,) int32, and the sum of their logits.

    Call it inside the gradient tape. Rows are independent at inference, so the gradient of the sum
    with respect to row i is the gradient of row i's own logit.
    """
    chosen = tf.where(requested < 0, tf.argmax(logits, axis=-1, output_type=tf.int32), requested)
    return chosen, tf.reduce_sum(tf.gather(logits, chosen, axis=1, batch_dims=1))


def _normalise_maps(maps: tf.Tensor) -> tf.Tensor:
    """(n, H, W) >= 0 → each map divided by its maximum, clipped to [0, 1]; all-zero maps stay zero."""
    peak = tf.reduce_max(maps, axis=(1, 2), keepdims=True)
    return tf.clip_by_value(tf.math.divide_no_nan(maps, peak), 0.0, 1.0)


def _channel_weights(activations: tf.Tensor, grads: tf.Tensor, method: str) -> tf.Tensor:
    """Importance of each channel of a (n, h, w, C) layer output: (n, C).

    Grad-CAM: the mean gradient over the map. Grad-CAM++ (Chattopadhay et al. 2018): positive gradients
    weighted by the closed-form alphas for an exponential score, so that several separate regions of
    evidence each get their share instead of the largest one dominating.
    """
    if method == "gradcam":
        return tf.reduce_mean(grads, axis=(1, 2))
    squared = tf.square(grads)
    denominator = 2.0 * squared + tf.reduce_sum(activations, axis=(1, 2), keepdims=True) * squared * grads
    alphas = tf.math.divide_no_nan(squared, denominator)
    return tf.reduce_sum(alphas * tf.nn.relu(grads), axis=(1, 2))


def requested_classes(class_index: ClassIndex, rows: int, n_classes: int) -> np.ndarray:
    """``class_index`` as (rows,) int64, ``-1`` where the row's predicted class is meant (None).

    Raises `InputError` unless it is None, one integer, or ``rows`` integers, all in ``0 .. n_classes - 1``.
    """
    if class_index is None:
        return np.full(rows, -1, dtype=np.int64)
    requested = np.asarray(class_index)
    if requested.ndim == 0:
        requested = np.full(rows, requested)
    if requested.shape != (rows,) or not np.issubdtype(requested.dtype, np.integer):
        raise InputError("class_index", f"must be one integer or {rows} integers, got {class_index!r}")
    if requested.min() < 0 or requested.max() >= n_classes:
        raise InputError("class_index", f"must lie in 0..{n_classes - 1}, got {requested.tolist()}")
    return requested.astype(np.int64)


class GradCamExplainer:
    """Compiled gradient functions of one model, built on first use per (layer, method) and then reused.

    Holds the model; the functions read its variables when called, so they follow later weight changes.
    """

    def __init__(self, model: keras.Model) -> None:
        if LOGITS_LAYER not in {layer.name for layer in model.layers}:
            raise InputError("model", f"has no '{LOGITS_LAYER}' layer; explanations need pre-softmax logits")
        if len(model.inputs) != 1 or len(model.inputs[0].shape) != 4:
            raise InputError("model", "does not take one (batch, n_mels, frames, channels) spectrogram input")
        self.model = model
        self.input_shape: tuple[int | None, ...] = tuple(model.inputs[0].shape[1:])
        self.n_classes = int(class_outputs(model, LOGITS_LAYER).shape[-1])
        self._functions: dict[tuple[str, str], Callable] = {}
        self._signature = [
            tf.TensorSpec((None, *self.input_shape), tf.float32),
            tf.TensorSpec((None,), tf.int32),
        ]

    def grad_cam(
        self,
        inputs: np.ndarray,
        *,
        layer: str | None = None,
        class_index: ClassIndex = None,
        method: str = "gradcam",
    ) -> GradCamResult:
        """See `grad_cam`."""
        if method not in METHODS:
            raise InputError("method", f"'{method}' is not one of {', '.join(METHODS)}")
        layer = default_target_layer(self.model) if layer is None else layer
        problem = layer_problem(self.model, layer)
        if problem is not None:
            raise InputError(f"layer '{layer}'", problem)
        key = (layer, method)
        if key not in self._functions:
            self._functions[key] = self._build_cam_function(layer, method)
        raw, heatmaps, chosen, logits = self._run(self._functions[key], inputs, class_index)
        return GradCamResult(heatmaps, raw, chosen.astype(np.int64), logits, layer, method)

    def saliency(self, inputs: np.ndarray, class_index: ClassIndex = None) -> np.ndarray:
        """See `saliency`."""
        key = ("", "saliency")
        if key not in self._functions:
            self._functions[key] = self._build_saliency_function()
        return self._run(self._functions[key], inputs, class_index)[0]

    def _build_cam_function(self, layer: str, method: str) -> Callable:
        grad_model = keras.Model(
            self.model.inputs, [self.model.get_layer(layer).output, class_outputs(self.model, LOGITS_LAYER)]
        )

        @tf.function(input_signature=self._signature)
        def class_activation_map(inputs: tf.Tensor, requested: tf.Tensor) -> tuple[tf.Tensor, ...]:
            with tf.GradientTape() as tape:
                activations, logits = grad_model(inputs, training=False)
                chosen, total_score = _select_scores(logits, requested)
            grads = tape.gradient(total_score, activations)
            if grads is None:
                raise InputError(f"layer '{layer}'", f"is not connected to '{LOGITS_LAYER}' (no gradient)")
            weights = _channel_weights(activations, grads, method)
            raw = tf.nn.relu(tf.einsum("nhwc,nc->nhw", activations, weights))
            upsampled = tf.image.resize(raw[..., tf.newaxis], tf.shape(inputs)[1:3], method="bilinear")
            return raw, _normalise_maps(upsampled[..., 0]), chosen, logits

        return class_activation_map

    def _build_saliency_function(self) -> Callable:
        logits_model = keras.Model(self.model.inputs, class_outputs(self.model, LOGITS_LAYER))

        @tf.function(input_signature=self._signature)
        def gradient_saliency(inputs: tf.Tensor, requested: tf.Tensor) -> tuple[tf.Tensor, ...]:
            with tf.GradientTape() as tape:
                tape.watch(inputs)
                logits = logits_model(inputs, training=False)
                chosen, total_score = _select_scores(logits, requested)
            grads = tape.gradient(total_score, inputs)
            return _normalise_maps(tf.reduce_max(tf.abs(grads), axis=-1)), chosen, logits

        return gradient_saliency

    def _run(self, function: Callable, inputs: np.ndarray, class_index: ClassIndex) -> list[np.ndarray]:
        """Call a compiled function in batches of `BATCH_SIZE`; outputs concatenated along the rows."""
        values = self._checked_inputs(inputs)
        requested = requested_classes(class_index, len(values), self.n_classes).astype(np.int32)
        parts = []
        for start in range(0, len(values), BATCH_SIZE):
            rows = slice(start, start + BATCH_SIZE)
            parts.append([output.numpy() for output in function(values[rows], requested[rows])])
        return [np.concatenate(outputs) for outputs in zip(*parts)]

    def _checked_inputs(self, inputs: np.ndarray) -> np.ndarray:
        values = np.asarray(inputs, dtype=np.float32)
        expected = "(n, " + ", ".join("any" if size is None else str(size) for size in self.input_shape) + ")"
        fits = values.ndim == 4 and all(
            size is None or size == actual for size, actual in zip(self.input_shape, values.shape[1:])
        )
        if not fits or len(values) == 0:
            raise InputError("inputs", f"shape {values.shape} does not fit the model's input {expected}")
        if not np.isfinite(values).all():
            raise InputError("inputs", "contain NaN or infinite values")
        return values


@functools.lru_cache(maxsize=4)
def cached_explainer(model: keras.Model) -> GradCamExplainer:
    """The `GradCamExplainer` of ``model``, kept for the last 4 models used (keyed on the model object)."""
    return GradCamExplainer(model)


def grad_cam(
    model: keras.Model,
    inputs: np.ndarray,
    *,
    layer: str | None = None,
    class_index: ClassIndex = None,
    method: str = "gradcam",
) -> GradCamResult:
    """Grad-CAM (Selvaraju et al. 2017) or Grad-CAM++ maps of ``inputs`` (n, H, W, 1) at ``layer``.

    ``layer`` defaults to the last convolution's maps after its batch norm and activation (`default_target_layer`);
    ``class_index`` is one class for all rows, one per row, or None for each row's predicted class. Gradients are
    taken of the logit of the class. The layer-resolution map (``raw``, h × w) is upsampled bilinearly to H × W
    separately along frequency and time, so non-square inputs keep their exact shape and orientation.
    """
    return cached_explainer(model).grad_cam(inputs, layer=layer, class_index=class_index, method=method)


def saliency(model: keras.Model, inputs: np.ndarray, class_index: ClassIndex = None) -> np.ndarray:
    """Gradient saliency |d logit / d input| of ``inputs`` (n, H, W, 1): (n, H, W) float32 in [0, 1].

    Full input resolution but noisy: it shows which cells the logit is locally sensitive to, not which
    regions hold the evidence. Each map is divided by its maximum.
    """
    return cached_explainer(model).saliency(inputs, class_index)


def _profile(heatmap: np.ndarray, axis: int) -> np.ndarray:
    values = np.asarray(heatmap, dtype=np.float64)
    if values.ndim != 2 or not np.isfinite(values).all() or (values < 0).any():
        raise InputError("heatmap", f"must be a finite (frequency, time) map >= 0, got shape {values.shape}")
    totals = values.sum(axis=axis)
    mass = totals.sum()
    return (totals / mass if mass > 0 else totals).astype(np.float32)


def band_profile(heatmap: np.ndarray) -> np.ndarray:
    """Which frequency bands mattered: a (H, W) map summed over time → (H,), the share of the map's mass
    in each mel band (sums to 1; zeros for a blank map). Index 0 = lowest band."""
    return _profile(heatmap, axis=1)


def time_profile(heatmap: np.ndarray) -> np.ndarray:
    """Which moments mattered: a (H, W) map summed over frequency → (W,), the share of the map's mass in
    each time frame (sums to 1; zeros for a blank map)."""
    return _profile(heatmap, axis=0)

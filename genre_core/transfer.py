"""Transfer learning from the pretrained musicnn networks: classifiers built on a pretrained trunk, and the
cached activations that make training them fast.

A transfer classifier is an ordinary GenreLens classifier (input ``features`` (batch, 96, 187, 1) in the
musicnn feature layout, Dense ``logits`` then softmax ``probabilities``), flat, so that Grad-CAM and the other
explanations see every trunk layer by name. Its layers before ``trainable_from`` keep their pretrained weights
(frozen); training runs only the layers from ``trainable_from`` on, on the frozen part's output, which is
computed once per dataset and cached (`frozen_activations`): a frozen trunk costs one forward pass, not one per
epoch. Batch norms stay frozen in the trained part too (their statistics come from a million songs, a class's
few tracks would only shift them).
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import numpy as np

import keras

from genre_core import paths
from genre_core.atomic import atomic_path
from genre_core.errors import InputError
from genre_core.model_heads import classifier_head
from genre_core.musicnn import TRUNKS, Trunk
from genre_core.musicnn.architecture import INPUT_SHAPE

HEAD_FIRST_LAYER = "head_dropout"  #: first layer of the new classifier head
PREDICT_BATCH = 64  #: patches per forward pass when computing frozen activations


def trunk_path(trunk: Trunk | str) -> Path:
    """The shipped ``.keras`` file of ``trunk`` (see assets/pretrained/README.md)."""
    spec = TRUNKS[trunk] if isinstance(trunk, str) else trunk
    return paths.PRETRAINED_NETWORKS_DIR / spec.file_name


def load_tagger(trunk: Trunk | str) -> keras.Model:
    """A fresh copy of the pretrained tagging network of ``trunk`` (safe mode), tags (batch, 50) out."""
    path = trunk_path(trunk)
    if not path.is_file():
        raise InputError(path, "pretrained network is missing: `make musicnn-weights` converts it from the wheel")
    return keras.saving.load_model(path, safe_mode=True, compile=False)


def build_transfer_classifier(
    trunk: str, n_classes: int, *, trainable_from: str, dropout: float, name: str, output: str = "softmax"
) -> keras.Model:
    """Pretrained ``trunk`` up to its embedding → Dropout ``head_dropout`` → `model_heads.classifier_head` (Dense
    ``logits`` → ``probabilities``, softmax or a binary task's one sigmoid unit, see ``output``).

    Layers before ``trainable_from`` (a trunk layer, or `HEAD_FIRST_LAYER` for a frozen trunk) are frozen, and
    every batch norm is. Input (batch, 96, 187, 1); output probabilities (batch, n_classes), or (batch, 1)
    for a sigmoid head.
    """
    spec = TRUNKS[trunk]
    tagger = load_tagger(spec)
    x = keras.layers.Dropout(dropout, name=HEAD_FIRST_LAYER)(tagger.get_layer(spec.embedding_layer).output)
    model = keras.Model(tagger.input, classifier_head(x, n_classes, output), name=name)
    names = [layer.name for layer in model.layers]
    if trainable_from not in names:
        raise InputError(f"preset '{name}'", f"has no layer '{trainable_from}' to train from")
    first = names.index(trainable_from)
    for index, layer in enumerate(model.layers):
        layer.trainable = index >= first and not isinstance(layer, keras.layers.BatchNormalization)
    return model


def frozen_part(model: keras.Model, trainable_from: str) -> keras.Model:
    """The frozen layers of ``model``: its input → the tensor that enters layer ``trainable_from``."""
    return keras.Model(model.input, model.get_layer(trainable_from).input)


def trainable_part(model: keras.Model, trainable_from: str) -> keras.Model:
    """The layers of ``model`` from ``trainable_from`` to the end as a model of their own, sharing their
    weights with ``model`` (training it trains ``model``). They must form a chain: each feeds exactly one."""
    layer = model.get_layer(trainable_from)
    inputs = keras.Input(shape=tuple(layer.input.shape[1:]), name="frozen_activations")
    x = inputs
    while True:
        x = layer(x)
        if layer.output is model.output:
            return keras.Model(inputs, x, name=f"{model.name}_trainable")
        consumers = [other for other in model.layers if other.input is layer.output]
        if len(consumers) != 1:
            raise InputError(f"model {model.name}", f"layers after '{trainable_from}' do not form a chain")
        layer = consumers[0]


def _activation_key(model: keras.Model, trainable_from: str, inputs: np.ndarray) -> str:
    """Cache key: the inputs' bytes, the cut and the frozen weights."""
    digest = hashlib.sha256()
    digest.update(f"{trainable_from}|{inputs.shape}|{inputs.dtype}".encode())
    digest.update(np.ascontiguousarray(inputs).tobytes())
    frozen = frozen_part(model, trainable_from)
    for weight in frozen.weights:
        digest.update(np.ascontiguousarray(keras.ops.convert_to_numpy(weight)).tobytes())
    return digest.hexdigest()[:24]


def frozen_activations(model: keras.Model, trainable_from: str, inputs: np.ndarray, *, cache: bool = True) -> np.ndarray:
    """The frozen part's output for ``inputs`` (rows, 96, 187, 1): read from ``paths.CACHE_DIR/activations/``
    when computed before for the same inputs, cut and weights, else computed and (``cache``) stored there.
    Returns (rows, …) float32."""
    target = paths.CACHE_DIR / "activations" / f"{_activation_key(model, trainable_from, inputs)}.npy"
    if cache and target.is_file():
        cached = np.load(target, allow_pickle=False)
        if len(cached) == len(inputs):
            return cached
    values = np.asarray(frozen_part(model, trainable_from).predict(inputs, batch_size=PREDICT_BATCH, verbose=0),
                        dtype=np.float32)
    if cache:
        with atomic_path(target, suffix=".npy") as staging:
            np.save(staging, values, allow_pickle=False)
    return values


def check_input_shape(preset: str, input_shape: tuple[int, ...]) -> None:
    """InputError unless ``input_shape`` is the musicnn patch (96, 187, 1)."""
    if tuple(input_shape) != INPUT_SHAPE:
        raise InputError(
            f"preset '{preset}'",
            f"input shape {tuple(input_shape)} is not the musicnn patch {INPUT_SHAPE}: extract the dataset with the "
            "musicnn feature settings (16 kHz, 96 mel bands, 187 frames)",
        )


def build_for_preset(
    input_shape: tuple[int, ...],
    n_classes: int,
    *,
    preset: str,
    output: str,
    trunk: Any,
    trainable_from: Any,
    dropout: Any,
) -> keras.Model:
    """Preset builder (see `genre_core.models`): checks the hyper-parameters, then `build_transfer_classifier`."""
    check_input_shape(preset, input_shape)
    if trunk not in TRUNKS:
        raise InputError(f"{preset} hyper-parameter 'trunk'", f"value {trunk!r} is not one of {', '.join(TRUNKS)}")
    if not isinstance(dropout, (int, float)) or isinstance(dropout, bool) or not 0.0 <= dropout < 1.0:
        raise InputError(f"{preset} hyper-parameter 'dropout'", f"value {dropout!r} is not a number in [0, 1)")
    return build_transfer_classifier(trunk, n_classes, trainable_from=str(trainable_from), dropout=float(dropout),
                                     name=preset, output=output)

"""The musicnn and VGG tagging networks of the musicnn package, rebuilt with the Keras functional API.

Both take the GenreLens log-mel layout ``(batch, 96 mel bands, 187 frames, 1)`` (row 0 = lowest band; the
original takes ``(batch, frames, bands)``: every kernel and pool is transposed accordingly, see `convert`),
end in the 50 tag logits ``tag_logits`` and their sigmoid ``tags``, and use only built-in Keras layers, so a
saved model loads with ``safe_mode=True``. Layer names say what each layer is:

musicnn (Pons & Serra 2019, "musicnn: pre-trained convolutional neural networks for music audio tagging"):
  - ``input_bn``: batch norm of the whole input (one scale and shift);
  - front end, five parallel branches over the whole input: ``timbral74`` and ``timbral77`` (204 filters
    spanning 38 and 67 mel bands × 7 frames, 'valid' over frequency, then max-pooled over all frequency
    positions: timbre), ``temporal128``, ``temporal64``, ``temporal32`` (51 filters of 1 band × 128, 64, 32
    frames, 'same' padding, max-pooled over frequency: rhythm and tempo patterns); each gives (187, filters);
  - ``frontend``: the five concatenated, (187, 561);
  - mid end, 1-D over time: ``midend1`` … ``midend3`` (64 filters of 7 frames, residual from the second on);
    ``midend``: front end and mid end concatenated, (187, 753);
  - back end: ``max_pool`` and ``mean_pool`` over time, ``temporal_pool`` (1506), ``pool_bn``, a 200-unit
    ``penultimate_dense`` with batch norm ``penultimate`` (the embedding), ``tag_logits`` (50).
VGG (Choi et al. 2016 style, as in musicnn): ``input_bn``, five blocks ``blockN_conv`` (128 filters 3×3, ReLU)
→ ``blockN_bn`` → ``blockN_pool`` (block 1 pools 4 frames × 1 band with stride 2, blocks 2-4 2×2, block 5 4×4),
dropout between blocks, ``embedding`` (flattened block-5 maps, 256 values), ``tag_logits`` (50).
"""

from __future__ import annotations

from typing import Any

import keras

from genre_core.musicnn import MSD_TAGS, N_MELS, PATCH_FRAMES, TRUNKS, Trunk

INPUT_SHAPE = (N_MELS, PATCH_FRAMES, 1)  #: one patch in the GenreLens layout (bands, frames, channel)
TAG_LOGITS_LAYER = "tag_logits"  #: Dense layer of the 50 tag logits
TAGS_LAYER = "tags"  #: sigmoid of the tag logits: the tag probabilities
TIMBRAL_BRANCHES = {"timbral74": (38, 204), "timbral77": (67, 204)}  #: name: (bands spanned, filters)
TEMPORAL_BRANCHES = {"temporal128": (128, 51), "temporal64": (64, 51), "temporal32": (32, 51)}  #: name: (frames, filters)
MIDEND_FILTERS = 64
MIDEND_KERNEL = 7


def _frequency_max(x: Any, name: str) -> Any:
    """(batch, bands, frames, filters) -> max over all bands -> (batch, frames, filters)."""
    bands, frames, filters = x.shape[1:]
    x = keras.layers.MaxPooling2D((bands, 1), strides=(bands, 1), name=f"{name}_pool")(x)
    return keras.layers.Reshape((frames, filters), name=name)(x)


def _build_musicnn(inputs: Any) -> Any:
    """Tag logits (batch, 50) of the musicnn architecture applied to ``inputs`` (batch, 96, 187, 1)."""
    normalised = keras.layers.BatchNormalization(name="input_bn")(inputs)
    branches = []
    padded = keras.layers.ZeroPadding2D(((0, 0), (3, 3)), name="timbral_pad")(normalised)  # 'same' in time only
    for name, (bands, filters) in TIMBRAL_BRANCHES.items():
        x = keras.layers.Conv2D(filters, (bands, 7), padding="valid", activation="relu", name=f"{name}_conv")(padded)
        x = keras.layers.BatchNormalization(name=f"{name}_bn")(x)
        branches.append(_frequency_max(x, name))
    for name, (frames, filters) in TEMPORAL_BRANCHES.items():
        x = keras.layers.Conv2D(filters, (1, frames), padding="same", activation="relu", name=f"{name}_conv")(normalised)
        x = keras.layers.BatchNormalization(name=f"{name}_bn")(x)
        branches.append(_frequency_max(x, name))
    frontend = keras.layers.Concatenate(name="frontend")(branches)
    levels = [frontend]
    x = frontend
    for index in (1, 2, 3):
        y = keras.layers.Conv1D(MIDEND_FILTERS, MIDEND_KERNEL, padding="same", activation="relu",
                                name=f"midend{index}_conv")(x)
        y = keras.layers.BatchNormalization(name=f"midend{index}_bn")(y)
        x = y if index == 1 else keras.layers.Add(name=f"midend{index}_add")([y, x])
        levels.append(x)
    midend = keras.layers.Concatenate(name="midend")(levels)
    pooled = keras.layers.Concatenate(name="temporal_pool")(
        [keras.layers.GlobalMaxPooling1D(name="max_pool")(midend),
         keras.layers.GlobalAveragePooling1D(name="mean_pool")(midend)]
    )
    x = keras.layers.BatchNormalization(name="pool_bn")(pooled)
    x = keras.layers.Dropout(0.5, name="pool_dropout")(x)
    x = keras.layers.Dense(200, activation="relu", name="penultimate_dense")(x)
    x = keras.layers.BatchNormalization(name="penultimate")(x)
    x = keras.layers.Dropout(0.5, name="penultimate_dropout")(x)
    return keras.layers.Dense(len(MSD_TAGS), name=TAG_LOGITS_LAYER)(x)


#: VGG blocks: (pool size, pool strides) in (bands, frames); the original pools (frames, bands).
VGG_POOLS = (((1, 4), (2, 2)), ((2, 2), (2, 2)), ((2, 2), (2, 2)), ((2, 2), (2, 2)), ((4, 4), (4, 4)))


def _build_vgg(inputs: Any) -> Any:
    """Tag logits (batch, 50) of the VGG architecture applied to ``inputs`` (batch, 96, 187, 1)."""
    x = keras.layers.BatchNormalization(name="input_bn")(inputs)
    for index, (pool, strides) in enumerate(VGG_POOLS, start=1):
        if index > 1:
            x = keras.layers.Dropout(0.25, name=f"block{index - 1}_dropout")(x)
        x = keras.layers.Conv2D(128, (3, 3), padding="same", activation="relu", name=f"block{index}_conv")(x)
        x = keras.layers.BatchNormalization(name=f"block{index}_bn")(x)
        x = keras.layers.MaxPooling2D(pool, strides=strides, padding="valid", name=f"block{index}_pool")(x)
    x = keras.layers.Flatten(name="embedding")(x)
    x = keras.layers.Dropout(0.5, name="embedding_dropout")(x)
    return keras.layers.Dense(len(MSD_TAGS), name=TAG_LOGITS_LAYER)(x)


def build_tagger(trunk: Trunk | str) -> keras.Model:
    """The untrained tagging network of ``trunk``: (batch, 96, 187, 1) -> tag probabilities (batch, 50)."""
    spec = TRUNKS[trunk] if isinstance(trunk, str) else trunk
    inputs = keras.Input(shape=INPUT_SHAPE, name="features")
    logits = (_build_musicnn if spec.architecture == "musicnn" else _build_vgg)(inputs)
    tags = keras.layers.Activation("sigmoid", name=TAGS_LAYER)(logits)
    return keras.Model(inputs, tags, name=spec.name)

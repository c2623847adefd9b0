"""Where a musicnn-based classifier found its evidence: which front-end branch, and which moments.

musicnn's front end has five parallel branches (see `genre_core.musicnn.architecture`): two *timbral* ones
(filters spanning 38 and 67 mel bands over 7 frames: spectral shapes, instruments) and three *temporal* ones
(filters of 1 band over 128, 64 or 32 frames: rhythm and tempo patterns). Each is max-pooled over all frequency,
so after the front end there is no frequency axis left: a 2-D Grad-CAM map over the spectrogram does not exist
for the model as a whole (only per temporal branch). What can be said, from the logit of the explained class:

- **branch shares**: gradient × activation summed over each branch's channels of ``frontend`` (187 frames ×
  561 channels), i.e. a first-order estimate of how much each branch's output adds to the logit; shares are
  the positive totals divided by their sum (a branch that argued against the class gets 0);
- **time map**: Grad-CAM in one dimension on ``midend`` (187 frames × 753 channels, the last layer that still
  resolves time; all evidence passes through it): channel weights = gradient averaged over time, map = ReLU of
  the weighted sum, divided by its maximum.
"""

from __future__ import annotations

from dataclasses import dataclass

import keras
import numpy as np
import tensorflow as tf

from genre_core.errors import InputError
from genre_core.explain.gradcam import LOGITS_LAYER, ClassIndex, requested_classes
from genre_core.musicnn.architecture import TEMPORAL_BRANCHES, TIMBRAL_BRANCHES

FRONTEND_LAYER = "frontend"
MIDEND_LAYER = "midend"
#: Branch names in the order of ``frontend``'s channels, with their channel counts.
BRANCHES: tuple[tuple[str, int], ...] = tuple(
    (name, filters) for name, (_, filters) in (*TIMBRAL_BRANCHES.items(), *TEMPORAL_BRANCHES.items())
)


@dataclass(frozen=True)
class BranchEvidence:
    """Evidence of ``n`` patches for the class each explains.

    - ``branches``: the five front-end branch names (`BRANCHES` order)
    - ``contributions``: (n, 5) float32, gradient × activation summed per branch (logit units, signed)
    - ``shares``: (n, 5) float32 in [0, 1], positive contributions over their sum (all 0 when none is positive)
    - ``time_map``: (n, frames) float32 in [0, 1], 1-D Grad-CAM over time at ``midend``
    - ``class_index``: (n,) int64; ``logits``: (n, K) float32
    """

    branches: tuple[str, ...]
    contributions: np.ndarray
    shares: np.ndarray
    time_map: np.ndarray
    class_index: np.ndarray
    logits: np.ndarray

    def timbral_share(self) -> np.ndarray:
        """(n,) share of the timbral branches together."""
        return self.shares[:, [i for i, name in enumerate(self.branches) if name.startswith("timbral")]].sum(axis=1)


def is_musicnn(model: keras.Model) -> bool:
    """True for a classifier built on the musicnn trunk (it has the ``frontend`` and ``midend`` layers)."""
    names = {layer.name for layer in model.layers}
    return {FRONTEND_LAYER, MIDEND_LAYER, LOGITS_LAYER} <= names


def branch_evidence(model: keras.Model, inputs: np.ndarray, class_index: ClassIndex = None) -> BranchEvidence:
    """`BranchEvidence` of ``inputs`` (n, 96, frames, 1) for ``class_index`` (None: each row's predicted class)."""
    if not is_musicnn(model):
        raise InputError("model", "is not built on the musicnn trunk (no 'frontend'/'midend' layers)")
    inputs = np.asarray(inputs, dtype=np.float32)
    if inputs.ndim != 4 or inputs.shape[1:] != tuple(model.input.shape[1:]):
        raise InputError("inputs", f"expected (n, {', '.join(map(str, model.input.shape[1:]))}), got {inputs.shape}")
    probe = keras.Model(
        model.input,
        [model.get_layer(FRONTEND_LAYER).output, model.get_layer(MIDEND_LAYER).output,
         model.get_layer(LOGITS_LAYER).output],
    )
    logits_all = probe(inputs, training=False)[2].numpy()
    requested = requested_classes(class_index, len(inputs), logits_all.shape[1])
    requested = np.where(requested < 0, logits_all.argmax(axis=1), requested).astype(np.int64)
    with tf.GradientTape() as tape:
        frontend, midend, logits = probe(inputs, training=False)
        score = tf.reduce_sum(tf.gather(logits, requested, axis=1, batch_dims=1))
    front_grads, mid_grads = tape.gradient(score, [frontend, midend])
    attribution = (frontend * front_grads).numpy().sum(axis=1)  # (n, 561)
    bounds = np.cumsum([0, *(filters for _, filters in BRANCHES)])
    contributions = np.stack([attribution[:, a:b].sum(axis=1) for a, b in zip(bounds[:-1], bounds[1:])], axis=1)
    positive = np.maximum(contributions, 0)
    totals = positive.sum(axis=1, keepdims=True)
    shares = np.divide(positive, totals, out=np.zeros_like(positive), where=totals > 0)
    weights = tf.reduce_mean(mid_grads, axis=1, keepdims=True)
    cam = tf.nn.relu(tf.reduce_sum(weights * midend, axis=2)).numpy()
    peak = cam.max(axis=1, keepdims=True)
    time_map = np.divide(cam, peak, out=np.zeros_like(cam), where=peak > 0)
    return BranchEvidence(
        branches=tuple(name for name, _ in BRANCHES),
        contributions=contributions.astype(np.float32),
        shares=shares.astype(np.float32),
        time_map=time_map.astype(np.float32),
        class_index=requested,
        logits=logits.numpy().astype(np.float32),
    )

"""Can the maps be trusted? Measured checks of Grad-CAM maps, and listening to what a map highlights.

- `randomisation_check`: cascading model randomisation (Adebayo et al. 2018, "Sanity checks for saliency
  maps"). A map that barely changes when the weights are replaced by random ones shows the input's
  structure, not what the model learned.
- `deletion_curve`: blank the most-highlighted cells first and watch the class probability fall;
  a faithful map makes it fall faster than deleting random cells.
- `resynthesise`: audio of the highlighted and of the remaining part of a log-mel spectrogram.
"""

from __future__ import annotations

import functools
from typing import Any

import keras
import librosa
import numpy as np
from scipy.stats import spearmanr

from genre_core.config import FeatureConfig
from genre_core.errors import InputError
from genre_core.explain.gradcam import ClassIndex, GradCamExplainer, grad_cam, requested_classes
from genre_core.model_heads import class_model, class_outputs

FILLS = ("min", "mean")  #: what `deletion_curve` writes into deleted cells (per spectrogram)


def _rank_correlations(maps: np.ndarray, reference: np.ndarray) -> np.ndarray:
    """Spearman correlation of each flattened map with its reference map: (n,) float.

    A map identical to its reference counts as 1. Otherwise a constant map (e.g. blank after the ReLU)
    has no ranking and counts as 0 (no agreement).
    """
    correlations = []
    for candidate, original in zip(maps, reference):
        if np.array_equal(candidate, original):
            correlations.append(1.0)
        elif np.ptp(candidate) == 0 or np.ptp(original) == 0:
            correlations.append(0.0)
        else:
            correlations.append(float(spearmanr(candidate.ravel(), original.ravel()).statistic))
    return np.asarray(correlations)


def _seeded_initializer(layer: keras.layers.Layer, variable: keras.Variable, seed: int) -> Any:
    """The layer's own initializer for ``variable`` (e.g. ``kernel_initializer``), with a fixed seed.

    Layers that name no initializer for a weight get Glorot-uniform (Keras' default kernel initializer).
    """
    initializer = getattr(layer, f"{variable.name}_initializer", None)
    if initializer is None:
        return keras.initializers.GlorotUniform(seed=seed)
    config = initializer.get_config()
    if "seed" in config:
        config["seed"] = seed
    return type(initializer).from_config(config)


def randomisation_check(
    model: keras.Model,
    inputs: np.ndarray,
    *,
    layer: str | None = None,
    class_index: ClassIndex = None,
    method: str = "gradcam",
    seed: int = 0,
) -> list[dict[str, Any]]:
    """Cascading model randomisation of Grad-CAM maps of ``inputs`` (n, H, W, 1).

    On a clone of ``model`` (the caller's model is never changed), the weights of the layers with trainable
    weights (frozen layers, such as a pretrained trunk, count as trainable here) are re-initialised one layer at a time from the top (``logits`` first) downwards; after each
    step the Grad-CAM maps of the same classes (``class_index``, default: the original predictions) are
    compared with the original maps by Spearman rank correlation.

    Returns one row per step: ``step`` (0 = nothing randomised yet), ``layer`` (the layer randomised in
    this step, None at step 0), ``spearman`` (mean over inputs, in [-1, 1]), ``spearman_std`` and
    ``heatmaps`` (n, H, W), the maps after the step. Correlations near 1 after randomisation mean the maps
    do not depend on what the model learned.
    """
    original = grad_cam(model, inputs, layer=layer, class_index=class_index, method=method)
    clone = keras.models.clone_model(model)
    clone.set_weights(model.get_weights())
    for item in clone.layers:  # a frozen pretrained trunk is part of what the model learned: randomise it too
        item.trainable = True
    explainer = GradCamExplainer(clone)
    randomised_top_down = [None] + [item for item in reversed(clone.layers) if item.trainable_weights]
    rows = []
    for step, randomised in enumerate(randomised_top_down):
        if randomised is not None:
            for offset, variable in enumerate(randomised.trainable_weights):
                initializer = _seeded_initializer(randomised, variable, seed + 1000 * step + offset)
                variable.assign(initializer(variable.shape, dtype=variable.dtype))
        maps = explainer.grad_cam(
            inputs, layer=original.layer, class_index=original.class_index, method=method
        ).heatmaps
        correlations = _rank_correlations(maps, original.heatmaps)
        rows.append(
            {
                "step": step,
                "layer": None if randomised is None else randomised.name,
                "spearman": float(correlations.mean()),
                "spearman_std": float(correlations.std()),
                "heatmaps": maps,
            }
        )
    return rows


def _class_probabilities(
    model: keras.Model,
    inputs: np.ndarray,
    orders: np.ndarray,
    counts: np.ndarray,
    classes: np.ndarray,
    fill: str,
) -> np.ndarray:
    """Probability of ``classes[i]`` after blanking the first ``counts[k]`` cells of ``orders[i]``: (n, k)."""
    n, height, width, channels = inputs.shape
    fill_values = inputs.reshape(n, -1).min(axis=1) if fill == "min" else inputs.reshape(n, -1).mean(axis=1)
    perturbed = np.repeat(inputs.reshape(n, 1, height * width, channels), len(counts), axis=1)
    for row in range(n):
        for step, count in enumerate(counts):
            perturbed[row, step, orders[row, :count]] = fill_values[row]
    probabilities = class_model(model).predict(perturbed.reshape(-1, height, width, channels), batch_size=64,
                                               verbose=0)
    return probabilities.reshape(n, len(counts), -1)[np.arange(n), :, classes]


def deletion_curve(
    model: keras.Model,
    inputs: np.ndarray,
    heatmaps: np.ndarray,
    class_index: ClassIndex,
    *,
    steps: int = 10,
    fill: str = "min",
    random_orders: int = 3,
    seed: int = 0,
) -> dict[str, Any]:
    """Deletion test of maps ``heatmaps`` (n, H, W) for ``inputs`` (n, H, W, 1) and ``class_index``.

    The time-frequency cells are blanked (set to the spectrogram's minimum, ``fill="min"``, i.e. silence
    in dB, or its mean) in the map's order, highest first, in ``steps`` equal parts of the area; after
    each part the softmax probability of the class is recorded. The same is done in ``random_orders``
    random orders (averaged).

    Returns ``fractions`` (steps + 1,) of the area deleted (0 … 1), ``map_order`` and ``random_order``
    (steps + 1,) probabilities (mean over inputs), and ``area_between``: the area between the random and
    the map curve over the deleted fraction. Positive: deleting what the map highlights hurts more than
    deleting at random, so the map points at evidence the model uses.
    """
    values = np.asarray(inputs, dtype=np.float32)
    maps = np.asarray(heatmaps, dtype=np.float32)
    if values.ndim != 4 or maps.shape != values.shape[:3]:
        raise InputError("heatmaps", f"shape {maps.shape} does not match inputs {values.shape} (n, H, W, 1)")
    if fill not in FILLS:
        raise InputError("fill", f"'{fill}' is not one of {', '.join(FILLS)}")
    if steps < 1 or random_orders < 1:
        raise InputError("deletion_curve", f"steps {steps} and random_orders {random_orders} must be >= 1")
    n, height, width = maps.shape
    if class_index is None:
        raise InputError("class_index", "the deletion curve needs the explained class of each map")
    classes = requested_classes(class_index, n, int(class_outputs(model).shape[-1]))
    fractions = np.linspace(0.0, 1.0, steps + 1)
    counts = np.round(fractions * height * width).astype(int)
    map_order = np.argsort(-maps.reshape(n, -1), axis=1, kind="stable")
    rng = np.random.default_rng(seed)
    map_probabilities = _class_probabilities(model, values, map_order, counts, classes, fill).mean(axis=0)
    cells = np.tile(np.arange(height * width), (n, 1))
    random_curves = [
        _class_probabilities(model, values, rng.permuted(cells, axis=1), counts, classes, fill)
        for _ in range(random_orders)
    ]
    random_probabilities = np.mean(random_curves, axis=(0, 1))
    return {
        "fractions": fractions,
        "map_order": map_probabilities,
        "random_order": random_probabilities,
        "area_between": float(np.trapezoid(random_probabilities - map_probabilities, fractions)),
        "fill": fill,
        "random_orders": random_orders,
    }


@functools.cache
def _mel_pseudo_inverse(sample_rate: int, n_fft: int, n_mels: int) -> np.ndarray:
    """Pseudo-inverse of librosa's (Slaney) mel filter bank: (1 + n_fft // 2, n_mels) float32."""
    return np.linalg.pinv(librosa.filters.mel(sr=sample_rate, n_fft=n_fft, n_mels=n_mels)).astype(np.float32)


def resynthesise(
    log_mel_db: np.ndarray,
    heatmap: np.ndarray,
    config: FeatureConfig,
    *,
    threshold: float = 0.5,
    n_iter: int = 32,
    seed: int = 0,
) -> tuple[np.ndarray, np.ndarray]:
    """Audio of the part of a log-mel spectrogram a map highlights, and of the rest.

    ``log_mel_db`` (n_mels, frames) is a ``power_to_db(ref=1.0)`` mel power spectrogram made with
    ``config`` (sample rate, n_fft, hop); ``heatmap`` (n_mels, frames) in [0, 1]. Cells with
    ``heatmap >= threshold`` go to the first signal, the others to the second. Each part is converted back
    to power (``db_to_power``), to a linear magnitude spectrogram with the pseudo-inverse of the mel filter
    bank (clipped at 0), and to audio with ``n_iter`` Griffin-Lim iterations (seeded).

    Returns two float32 signals at ``config.sample_rate`` of ``hop_length * (frames - 1)`` samples, each
    divided by its peak (a silent part stays zero). This is an approximation for listening: the phase is
    estimated, and the mel bands are coarse (wide at high frequencies), so fine pitch detail is smeared.
    The pseudo-inverse is used instead of librosa's non-negative least squares (``mel_to_audio``), which
    takes from seconds to tens of seconds per window and sounds the same after Griffin-Lim.
    """
    spectrogram = np.asarray(log_mel_db, dtype=np.float32)
    mask = np.asarray(heatmap, dtype=np.float32)
    if spectrogram.ndim != 2 or spectrogram.shape[0] != config.n_mels or spectrogram.shape[1] < 2:
        raise InputError("log_mel_db", f"shape {spectrogram.shape} is not ({config.n_mels}, frames >= 2)")
    if mask.shape != spectrogram.shape:
        raise InputError("heatmap", f"shape {mask.shape} differs from the spectrogram's {spectrogram.shape}")
    if not (np.isfinite(spectrogram).all() and np.isfinite(mask).all()):
        raise InputError("log_mel_db", "spectrogram or heatmap contains NaN or infinite values")
    if not 0.0 < threshold <= 1.0:
        raise InputError("threshold", f"{threshold} is not in (0, 1]")
    power = librosa.db_to_power(spectrogram)
    inverse = _mel_pseudo_inverse(config.sample_rate, config.n_fft, config.n_mels)
    length = config.hop_length * (spectrogram.shape[1] - 1)
    signals = []
    for part in (np.where(mask >= threshold, power, 0.0), np.where(mask >= threshold, 0.0, power)):
        magnitude = np.sqrt(np.maximum(inverse @ part, 0.0))
        audio = librosa.griffinlim(
            magnitude,
            n_iter=n_iter,
            hop_length=config.hop_length,
            n_fft=config.n_fft,
            length=length,
            random_state=seed,
        )
        peak = np.abs(audio).max()
        signals.append((audio / peak if peak > 0 else audio).astype(np.float32))
    return signals[0], signals[1]

"""SHAP values of the summary-feature classifiers, grouped into feature families (figures: `shap_figures`).

The model is a functional Keras model with input ``(batch, F)`` standardised summary features (F = 57, the
Kaggle GTZAN columns in `genre_core.features.SUMMARY_NAMES` order) and a Dense layer ``logits`` followed by
``Activation("softmax", name="probabilities")``. Values explain the logits by default: they are additive in
the space the network computes in, while probabilities couple the classes through the softmax.

Array conventions: ``values`` (n, F, K) float64 — one value per row, feature and class, in the unit of the
explained output (logit or probability); ``base_values`` (K,) — the mean output over the background rows;
``outputs`` (n, K) — the explained output of each row, so ``values.sum(1) + base_values ≈ outputs``.

shap and Keras are imported inside the functions that need them, so importing this module stays cheap.
"""

from __future__ import annotations

import fnmatch
import logging
import threading
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from genre_core.errors import InputError
from genre_core.extraction import ProgressCallback
from genre_core.features import SUMMARY_NAMES

METHODS = ("deep", "gradient", "kernel")  #: explainers, in the order "auto" tries them
OUTPUT_LAYERS = ("logits", "probabilities")  #: layers whose output can be explained
OUTPUT_UNITS = {"logits": "logit", "probabilities": "probability"}
BACKGROUND_SIZE = 100  #: background rows drawn from the training split
KMEANS_CLUSTERS = 10  #: weighted k-means centres that summarise the background for KernelExplainer
GRADIENT_SAMPLES = 200  #: expected-gradients samples per row (shap's default)
CHUNK_ROWS = 25  #: rows explained per call between progress reports
_DEEP_LOCK = threading.Lock()  #: see `_deep_values`


class _PerClassTracing(logging.Filter):
    """Drops TensorFlow's "triggered tf.function retracing" warning about shap's DeepExplainer, and only that.

    shap 0.51 compiles one ``tf.function`` per class from the same Python function (``TFDeep.phi_symbolic``'s
    ``grad_graph``), so a 10-genre model traces it 10 times when its explainer is built, and TensorFlow counts
    traces of one function's code together. Nothing is traced again afterwards: each row is explained as the
    same (2 × background, features) batch, whatever the number of rows. Other retracing warnings are kept.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        return not ("triggered tf.function retracing" in message and "TFDeep.phi_symbolic" in message)


_PER_CLASS_TRACING = _PerClassTracing()

#: Feature families of the 57 summary columns, as shell patterns over `SUMMARY_NAMES`.
#: ``harmony_*`` and ``perceptr_*`` are mean and variance of the harmonic and percussive signals that
#: harmonic/percussive source separation gives: the percussive part carries drums and onsets, so it goes
#: with tempo under "rhythm"; the harmonic part's variance is its loudness, so it goes with RMS under "energy".
FEATURE_FAMILIES: dict[str, tuple[str, ...]] = {
    "MFCC means": ("mfcc*_mean",),
    "MFCC variances": ("mfcc*_var",),
    "chroma": ("chroma_stft_*",),
    "spectral shape": ("spectral_centroid_*", "spectral_bandwidth_*", "rolloff_*", "zero_crossing_rate_*"),
    "rhythm": ("tempo", "perceptr_*"),
    "energy": ("rms_*", "harmony_*"),
}


@dataclass(frozen=True)
class FeatureExplainer:
    """A shap explainer built once for one model, one explained output and one background.

    ``method`` is the explainer actually used; ``fallback_notes`` says why the ones "auto" tried first
    failed (empty when the first worked). ``nsamples`` is per explained row: expected-gradients samples for
    "gradient", coalitions for "kernel" (None: shap's default, 2 F + 2048), unused by "deep".
    """

    method: str
    output: str
    feature_names: tuple[str, ...]
    class_names: tuple[str, ...]
    base_values: np.ndarray  #: (K,) float64, mean explained output over the background
    nsamples: int | None
    seed: int
    fallback_notes: tuple[str, ...]
    explained_model: Any  #: keras.Model, (batch, F) -> (batch, K) of the explained output
    shap_explainer: Any


@dataclass(frozen=True)
class ShapResult:
    """SHAP values of n rows (see the module docstring for shapes and units)."""

    values: np.ndarray  #: (n, F, K) float64
    base_values: np.ndarray  #: (K,) float64
    outputs: np.ndarray  #: (n, K) float64, explained output of each row
    inputs: np.ndarray  #: (n, F) float64, the standardised rows explained
    feature_names: tuple[str, ...]
    class_names: tuple[str, ...]
    method: str
    output: str

    @property
    def unit(self) -> str:
        """Unit of values and outputs: ``"logit"`` or ``"probability"``."""
        return OUTPUT_UNITS[self.output]


# --- explaining ------------------------------------------------------------------------------------


def _check_rows(source: str, rows: np.ndarray, n_features: int) -> np.ndarray:
    """``rows`` as a finite, non-empty (n, n_features) float32 array."""
    rows = np.asarray(rows)
    if rows.ndim != 2 or rows.shape[1] != n_features:
        raise InputError(source, f"expected shape (rows, {n_features}), got {rows.shape}")
    if len(rows) == 0:
        raise InputError(source, "has no rows")
    if not np.issubdtype(rows.dtype, np.number) or not np.all(np.isfinite(rows)):
        raise InputError(source, "must hold finite numbers")
    return rows.astype(np.float32)


def background_sample(x_train: np.ndarray, size: int = BACKGROUND_SIZE, seed: int = 0) -> np.ndarray:
    """Background rows for the explainers: ``size`` training rows drawn without replacement, in row order.

    Args:
        x_train: (rows, F) standardised training features. size: rows to keep (all when there are fewer).
    Returns: (min(rows, size), F) float32.
    """
    x_train = np.asarray(x_train)
    if x_train.ndim != 2:
        raise InputError("background rows", f"expected shape (rows, features), got {x_train.shape}")
    x_train = _check_rows("background rows", x_train, x_train.shape[1])
    if size < 1:
        raise InputError("background size", f"must be >= 1, got {size}")
    if len(x_train) <= size:
        return x_train
    return x_train[np.sort(np.random.default_rng(seed).choice(len(x_train), size, replace=False))]


def _explained_model(model: Any, output: str) -> Any:
    """Sub-model from ``model``'s input to its ``output`` layer: (batch, F) -> (batch, K)."""
    import keras

    from genre_core.model_heads import class_outputs

    if output not in OUTPUT_LAYERS:
        raise InputError("explained output", f"'{output}' is not one of {OUTPUT_LAYERS}")
    if len(model.inputs) != 1 or len(model.inputs[0].shape) != 2:
        shapes = [tuple(tensor.shape) for tensor in model.inputs]
        raise InputError("model", f"SHAP needs one input of shape (batch, features), the model takes {shapes}")
    try:
        model.get_layer(output)
    except ValueError as error:
        reason = f"has no layer named '{output}' (expected Dense 'logits' -> 'probabilities')"
        raise InputError("model", reason) from error
    # one column per class for either head (a sigmoid unit's z as (-z, z), p as (1 - p, p)); model.inputs (a
    # list) keeps the input structure shap passes, which avoids Keras structure warnings
    return keras.Model(model.inputs, class_outputs(model, output))


def _predict(explained_model: Any, rows: np.ndarray) -> np.ndarray:
    """Explained output of ``rows`` (n, F) in one compiled call: (n, K) float64."""
    return np.asarray(explained_model.predict_on_batch(rows), dtype=np.float64)


def _build(method: str, explained_model: Any, background: np.ndarray) -> tuple[Any, np.ndarray]:
    """The shap explainer of ``method`` and its base values (K,)."""
    import shap

    if method == "deep":
        logging.getLogger("tensorflow").addFilter(_PER_CLASS_TRACING)  # the same filter once, however often
        explainer = shap.DeepExplainer(explained_model, background)
        return explainer, np.asarray(explainer.expected_value, dtype=np.float64)
    if method == "gradient":
        # expected gradients integrate from background rows, so the base is the mean background output
        return shap.GradientExplainer(explained_model, background), _predict(explained_model, background).mean(0)
    summary = shap.kmeans(background, min(KMEANS_CLUSTERS, len(background)))
    explainer = shap.KernelExplainer(lambda rows: _predict(explained_model, rows), summary)
    return explainer, np.asarray(explainer.expected_value, dtype=np.float64)


def _samples_features_classes(values: Any, shape: tuple[int, int, int]) -> np.ndarray:
    """shap's output (a list of K (n, F) arrays, an (n, F) array or (n, F, K)) as (n, F, K) float64."""
    if isinstance(values, list):
        values = np.stack(values, axis=-1)
    values = np.asarray(values, dtype=np.float64)
    if values.ndim == 2:
        values = values[..., np.newaxis]
    if values.shape != shape:
        raise InputError("SHAP values", f"expected shape {shape}, the explainer returned {values.shape}")
    return values


def _deep_values(shap_explainer: Any, rows: np.ndarray) -> Any:
    """DeepExplainer's values of ``rows``, one call at a time, leaving TensorFlow as it found it.

    While it runs, shap 0.51's DeepExplainer swaps TensorFlow's eager gradient recorder for its own and
    does not swap it back when it raises (``TFDeep.run``): every later gradient in the process (training,
    Grad-CAM, the fallback explainers) would then fail. Restore it; the lock keeps app sessions from
    running two such swaps at once.
    """
    from tensorflow.python.eager import execute

    with _DEEP_LOCK:
        recorder = execute.record_gradient
        try:
            return shap_explainer.shap_values(rows)
        finally:
            execute.record_gradient = recorder


def _explain_chunk(explainer: FeatureExplainer, rows: np.ndarray) -> np.ndarray:
    """SHAP values (n, F, K) float64 of ``rows`` (n, F) float32."""
    shape = (len(rows), len(explainer.feature_names), len(explainer.base_values))
    if explainer.method == "deep":
        return _samples_features_classes(_deep_values(explainer.shap_explainer, rows), shape)
    if explainer.method == "gradient":
        nsamples = explainer.nsamples or GRADIENT_SAMPLES
        values = explainer.shap_explainer.shap_values(rows, nsamples=nsamples, rseed=explainer.seed)
        return _samples_features_classes(values, shape)
    # KernelExplainer samples coalitions from numpy's global generator: seed it, then restore it
    state = np.random.get_state()
    np.random.seed(explainer.seed)
    try:
        values = explainer.shap_explainer.shap_values(
            rows, nsamples=explainer.nsamples or "auto", l1_reg=False, silent=True
        )
    finally:
        np.random.set_state(state)
    return _samples_features_classes(values, shape)


def make_explainer(
    model: Any,
    background: np.ndarray,
    *,
    method: str = "auto",
    output: str = "logits",
    feature_names: Sequence[str] = SUMMARY_NAMES,
    class_names: Sequence[str] | None = None,
    nsamples: int | None = None,
    seed: int = 0,
) -> FeatureExplainer:
    """Build a SHAP explainer for a summary-feature classifier (in memory or loaded with safe_mode=True).

    Args:
        model: functional Keras model, (batch, F) standardised features -> ... -> ``logits`` -> ``probabilities``.
        background: (b, F) standardised training rows, see `background_sample`.
        method: "deep" (DeepExplainer, exact-additive), "gradient" (GradientExplainer, expected gradients,
            additive in expectation only), "kernel" (KernelExplainer on a k-means summary of the background,
            exact-additive, slow) or "auto": the first of deep, gradient, kernel that explains a background row.
        output: "logits" (default) or "probabilities".
        feature_names: F names. class_names: K names (default "class 0", "class 1", ...).
        nsamples: per-row samples of "gradient" / "kernel" (None: their defaults). seed: their random seed.
    Building explains one background row, which compiles the gradient graphs so later calls run warm.
    """
    if method != "auto" and method not in METHODS:
        raise InputError("SHAP method", f"'{method}' is not one of {('auto', *METHODS)}")
    if nsamples is not None and nsamples < 1:
        raise InputError("SHAP samples", f"must be >= 1, got {nsamples}")
    explained_model = _explained_model(model, output)
    n_features = int(explained_model.inputs[0].shape[-1])
    if len(feature_names) != n_features:
        raise InputError("feature names", f"{len(feature_names)} names, the model takes {n_features} features")
    background = _check_rows("background rows", background, n_features)
    n_classes = int(explained_model.outputs[0].shape[-1])
    class_names = [f"class {k}" for k in range(n_classes)] if class_names is None else list(class_names)
    if len(class_names) != n_classes:
        raise InputError("class names", f"{len(class_names)} names, the model has {n_classes} outputs")
    notes: list[str] = []
    for candidate in METHODS if method == "auto" else (method,):
        try:
            with warnings.catch_warnings():
                warnings.filterwarnings("ignore", message="Your TensorFlow version is newer than 2.4.0")
                shap_explainer, base_values = _build(candidate, explained_model, background)
                explainer = FeatureExplainer(
                    method=candidate,
                    output=output,
                    feature_names=tuple(feature_names),
                    class_names=tuple(class_names),
                    base_values=base_values,
                    nsamples=nsamples,
                    seed=seed,
                    fallback_notes=tuple(notes),
                    explained_model=explained_model,
                    shap_explainer=shap_explainer,
                )
                if not np.all(np.isfinite(_explain_chunk(explainer, background[:1]))):
                    raise ValueError("non-finite SHAP values")
            return explainer
        # shap reports a model it cannot handle with assorted exception types (TF staging and lookup
        # errors for unsupported ops, AssertionError on additivity, ValueError, ...): try the next method
        except Exception as error:
            last_line = (str(error).strip().splitlines() or [""])[-1]
            notes.append(f"{candidate}: {type(error).__name__}: {last_line}")
    raise InputError("model", f"no SHAP explainer could explain it ({'; '.join(notes)})")


def explain_rows(
    explainer: FeatureExplainer,
    x: np.ndarray,
    *,
    chunk_rows: int = CHUNK_ROWS,
    progress: ProgressCallback | None = None,
) -> ShapResult:
    """SHAP values of the rows ``x`` (n, F) standardised features, ``chunk_rows`` rows per call.

    ``progress(rows_done, n)`` is called before the first chunk and after each one.
    """
    x = _check_rows("rows to explain", x, len(explainer.feature_names))
    if chunk_rows < 1:
        raise InputError("chunk rows", f"must be >= 1, got {chunk_rows}")
    chunks = []
    if progress is not None:
        progress(0, len(x))
    for start in range(0, len(x), chunk_rows):
        chunks.append(_explain_chunk(explainer, x[start : start + chunk_rows]))
        if progress is not None:
            progress(min(start + chunk_rows, len(x)), len(x))
    return ShapResult(
        values=np.concatenate(chunks),
        base_values=explainer.base_values,
        outputs=_predict(explainer.explained_model, x),
        inputs=x.astype(np.float64),
        feature_names=explainer.feature_names,
        class_names=explainer.class_names,
        method=explainer.method,
        output=explainer.output,
    )


def additivity_error(result: ShapResult) -> float:
    """Largest |sum of a row's values + base value − output| over rows and classes, in the output's unit."""
    return float(np.max(np.abs(result.values.sum(axis=1) + result.base_values - result.outputs)))



# --- feature families ------------------------------------------------------------------------------


def feature_family(name: str) -> str:
    """The `FEATURE_FAMILIES` key of a summary feature name (e.g. ``"mfcc3_var"`` -> ``"MFCC variances"``)."""
    for family, patterns in FEATURE_FAMILIES.items():
        if any(fnmatch.fnmatchcase(name, pattern) for pattern in patterns):
            return family
    raise InputError("feature name", f"'{name}' is in no feature family")


def grouped_values(result: ShapResult) -> np.ndarray:
    """Values summed within each feature family: (n, len(FEATURE_FAMILIES), K), families in dict order.

    Sums keep additivity: the families of a row add up to the same total as its features.
    """
    families = list(FEATURE_FAMILIES)
    membership = np.zeros((len(result.feature_names), len(families)))
    for feature, name in enumerate(result.feature_names):
        membership[feature, families.index(feature_family(name))] = 1.0
    return np.einsum("nfk,fg->ngk", result.values, membership)

"""SHAP values of the summary-feature classifiers, grouped into feature families, and their plots.

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
import html
import io
import logging
import threading
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import plotly.graph_objects as go

from genre_core.errors import InputError
from genre_core.extraction import ProgressCallback
from genre_core.features import SUMMARY_NAMES, summary_label, summary_value_text

METHODS = ("deep", "gradient", "kernel")  #: explainers, in the order "auto" tries them
OUTPUT_LAYERS = ("logits", "probabilities")  #: layers whose output can be explained
OUTPUT_UNITS = {"logits": "logit", "probabilities": "probability"}
BACKGROUND_SIZE = 100  #: background rows drawn from the training split
KMEANS_CLUSTERS = 10  #: weighted k-means centres that summarise the background for KernelExplainer
GRADIENT_SAMPLES = 200  #: expected-gradients samples per row (shap's default)
CHUNK_ROWS = 25  #: rows explained per call between progress reports
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
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

    from genre_core.models import class_outputs

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


# --- plots -----------------------------------------------------------------------------------------


def _check_index(source: str, index: int, size: int) -> int:
    if not 0 <= index < size:
        raise InputError(source, f"{index} is not in [0, {size})")
    return int(index)


def _check_raw(result: ShapResult, feature_values_raw: np.ndarray) -> np.ndarray:
    """Unstandardised feature values of one row: (F,) float64."""
    values = np.asarray(feature_values_raw, dtype=np.float64)
    if values.shape != (len(result.feature_names),):
        raise InputError("feature values", f"expected shape ({len(result.feature_names)},), got {values.shape}")
    return values


def feature_labels(result: ShapResult) -> list[str]:
    """Readable names of the result's features (`genre_core.features.summary_label`: ``"MFCC 4 variance"``)."""
    return [summary_label(name) for name in result.feature_names]


def value_texts(result: ShapResult, feature_values_raw: np.ndarray) -> list[str]:
    """The row's unstandardised values as short texts with units (`genre_core.features.summary_value_text`)."""
    raw = _check_raw(result, feature_values_raw)
    return [summary_value_text(name, value) for name, value in zip(result.feature_names, raw, strict=True)]


#: Characters that could end shap's inline ``<script>`` (it writes names unescaped), and their look-alikes.
_HTML_LOOKALIKES = str.maketrans({"<": "\u2039", ">": "\u203a", "&": "\uff06"})


def _force_plot(
    result: ShapResult, row: int, class_index: int, feature_values_raw: np.ndarray, **options: Any
) -> Any:
    """shap's force plot of one row and class, labelled ``name = value`` with readable names and short values.

    Class and feature names come from users' folders and tables; shap writes them unescaped into an
    inline script, so ``<``, ``>`` and ``&`` are replaced by look-alikes.
    """
    import shap

    row = _check_index("row", row, len(result.values))
    class_index = _check_index("class index", class_index, len(result.class_names))
    labels = np.array(value_texts(result, feature_values_raw))
    return shap.plots.force(
        float(result.base_values[class_index]),
        result.values[row, :, class_index],
        features=labels,
        feature_names=[name.translate(_HTML_LOOKALIKES) for name in feature_labels(result)],
        out_names=f"{result.class_names[class_index]} ({result.unit})".translate(_HTML_LOOKALIKES),
        **options,
    )


def force_plot_html(result: ShapResult, row: int, class_index: int, feature_values_raw: np.ndarray) -> str:
    """A complete, self-contained HTML document with shap's interactive force plot of one row and class.

    The shap JavaScript bundle is inlined, so the page renders without any network access.
    ``feature_values_raw``: (F,) unstandardised values of the row, shown rounded in the labels.
    """
    import shap

    title = html.escape(f"SHAP force plot: {result.class_names[class_index]}, row {row}")
    return (
        "<!DOCTYPE html>\n<html><head><meta charset='utf-8'>"
        f"<title>{title}</title>{shap.getjs()}</head>\n<body>"
        f"{force_plot_markup(result, row, class_index, feature_values_raw)}</body></html>\n"
    )


def force_plot_markup(result: ShapResult, row: int, class_index: int, feature_values_raw: np.ndarray) -> str:
    """The markup of shap's force plot of one row and class, without shap's script (a page or report that
    shows it inlines `shap.getjs()` once, e.g. `genre_core.report_document.ShapForceBlock`)."""
    return _force_plot(result, row, class_index, feature_values_raw).html()


def _use_agg_unless_chosen() -> None:
    """Select matplotlib's Agg backend unless the program already chose one (no GUI, any thread)."""
    import matplotlib

    if matplotlib.get_backend(auto_select=False) is None:
        matplotlib.use("Agg")


def force_plot_png(
    result: ShapResult,
    row: int,
    class_index: int,
    feature_values_raw: np.ndarray,
    *,
    figsize: tuple[float, float] = (16.0, 3.0),
    dpi: int = 100,
) -> bytes:
    """shap's matplotlib force plot of one row and class as PNG bytes (figure closed afterwards)."""
    _use_agg_unless_chosen()
    import matplotlib.pyplot as plt

    figure = _force_plot(result, row, class_index, feature_values_raw, matplotlib=True, show=False, figsize=figsize)
    try:
        buffer = io.BytesIO()
        figure.savefig(buffer, format="png", dpi=dpi, bbox_inches="tight")
    finally:
        plt.close(figure)
    return buffer.getvalue()


def waterfall_figure(
    result: ShapResult, row: int, class_index: int, feature_values_raw: np.ndarray, max_display: int = 12
) -> go.Figure:
    """Plotly waterfall of one row and class: from the base value, the ``max_display - 1`` largest
    contributions (others summed in one bar) up to the row's output, largest at the top."""
    row = _check_index("row", row, len(result.values))
    class_index = _check_index("class index", class_index, len(result.class_names))
    values = value_texts(result, feature_values_raw)
    names = feature_labels(result)
    if max_display < 2:
        raise InputError("max_display", f"must be >= 2, got {max_display}")
    contributions = result.values[row, :, class_index]
    order = np.argsort(-np.abs(contributions), kind="stable")
    shown = order if len(order) <= max_display else order[: max_display - 1]
    others = np.setdiff1d(order, shown)
    labels = [f"{names[f]} = {values[f]}" for f in shown[::-1]]
    steps = list(contributions[shown[::-1]])
    if len(others):
        labels.insert(0, f"{len(others)} other features")
        steps.insert(0, float(contributions[others].sum()))
    base = float(result.base_values[class_index])
    figure = go.Figure(
        go.Waterfall(
            orientation="h",
            base=base,
            y=[*labels, "output f(x)"],
            x=[*steps, 0.0],
            measure=["relative"] * len(steps) + ["total"],
            text=[f"{step:+.3g}" for step in steps] + [f"{base + sum(steps):.3g}"],
            textposition="outside",
            increasing={"marker": {"color": "#ff0d57"}},
            decreasing={"marker": {"color": "#1e88e5"}},
            totals={"marker": {"color": "#7f7f7f"}},
        )
    )
    figure.add_vline(x=base, line_dash="dot", annotation_text=f"base value {base:.3g}",
                     annotation_position="top right")
    figure.update_layout(
        title=f"Why '{result.class_names[class_index]}' (row {row}, {result.method} SHAP)",
        xaxis_title=f"Score for '{result.class_names[class_index]}' ({result.unit})",
        showlegend=False,
    )
    return _every_bar_labelled(figure, [*labels, "output f(x)"], "Feature = its value in the row")


def _importance(values: np.ndarray, class_index: int | None, n_classes: int) -> np.ndarray:
    """Mean |value| over rows of (n, G, K) values: (G,) for one class, or summed over classes (None)."""
    mean_abs = np.abs(values).mean(axis=0)
    if class_index is None:
        return mean_abs.sum(axis=1)
    return mean_abs[:, _check_index("class index", class_index, n_classes)]


def _scope(result: ShapResult, class_index: int | None) -> str:
    return "summed over classes" if class_index is None else f"class '{result.class_names[class_index]}'"


BAR_HEIGHT_PX = 26  #: height of one bar of a horizontal bar chart, so that every bar's label fits beside it
BARS_MARGIN_PX = 170  #: the rest of such a chart: title, x axis and its title


def _every_bar_labelled(figure: go.Figure, categories: Sequence[str], title: str) -> go.Figure:
    """Label every category of a horizontal bar chart (plotly skips labels that do not fit; the figure grows
    by `BAR_HEIGHT_PX` per bar instead), listed bottom to top as ``categories``."""
    figure.update_layout(
        height=BARS_MARGIN_PX + BAR_HEIGHT_PX * len(categories),
        yaxis={"title": {"text": title}, "tickmode": "array", "tickvals": list(categories),
               "ticktext": list(categories), "automargin": True},
    )
    return figure


def _importance_bars(names: Sequence[str], importance: np.ndarray, top: int) -> tuple[go.Bar, list[str]]:
    """Horizontal bars of the ``top`` largest importances, largest at the top, and their names bottom to top."""
    order = np.argsort(-importance, kind="stable")[:top][::-1]
    shown = [names[i] for i in order]
    return go.Bar(orientation="h", x=importance[order], y=shown, marker_color="#1e88e5"), shown


def mean_abs_bar_figure(result: ShapResult, class_index: int | None = None, top: int = 20) -> go.Figure:
    """Global importance: mean |SHAP value| per feature over the result's rows, the ``top`` largest.

    ``class_index`` None sums the per-class importances over classes.
    """
    importance = _importance(result.values, class_index, len(result.class_names))
    bars, shown = _importance_bars(feature_labels(result), importance, top)
    figure = go.Figure(bars)
    figure.update_layout(
        title=f"Mean |SHAP value| per feature, {_scope(result, class_index)} ({len(result.values)} rows)",
        xaxis_title=f"mean |SHAP value| ({result.unit})",
    )
    return _every_bar_labelled(figure, shown, "Feature")


def family_bar_figure(result: ShapResult, class_index: int | None = None) -> go.Figure:
    """Importance of each feature family: mean |sum of the family's SHAP values| over the result's rows."""
    importance = _importance(grouped_values(result), class_index, len(result.class_names))
    bars, shown = _importance_bars(list(FEATURE_FAMILIES), importance, len(FEATURE_FAMILIES))
    figure = go.Figure(bars)
    figure.update_layout(
        title=f"Feature families, {_scope(result, class_index)} ({len(result.values)} rows)",
        xaxis_title=f"mean |SHAP value summed over the family| ({result.unit})",
    )
    return _every_bar_labelled(figure, shown, "Feature family")


def swarm_offsets(x: np.ndarray, half_width: float = 0.4, bins: int = 40, step: float = 0.08) -> np.ndarray:
    """Vertical offsets that spread points with similar ``x`` (n,) apart: 0, +s, -s, +2s, ... within each of
    ``bins`` x bins, with s = ``step`` shrunk so that no offset exceeds ``half_width``. Returns (n,)."""
    x = np.asarray(x, dtype=np.float64)
    if x.size == 0:
        return x
    span = np.ptp(x) or 1.0
    bin_ids = np.minimum(((x - x.min()) / span * bins).astype(int), bins - 1)
    rank = np.zeros(len(x))
    for bin_id in np.unique(bin_ids):
        members = np.flatnonzero(bin_ids == bin_id)
        position = np.arange(len(members))
        rank[members] = np.where(position % 2 == 0, 1, -1) * ((position + 1) // 2)
    largest = np.abs(rank).max()
    return rank * (min(step, half_width / largest) if largest else 0.0)


def beeswarm_figure(
    result: ShapResult, class_index: int, feature_values: np.ndarray | None = None, top: int = 20
) -> go.Figure:
    """Beeswarm of one class: a point per row and feature (x = SHAP value), the ``top`` features by mean
    |SHAP value| from top to bottom, coloured by ``feature_values`` (n, F) — standardised values, by default
    the explained inputs."""
    class_index = _check_index("class index", class_index, len(result.class_names))
    colours = result.inputs if feature_values is None else np.asarray(feature_values, dtype=np.float64)
    if colours.shape != result.inputs.shape:
        raise InputError("feature values", f"expected shape {result.inputs.shape}, got {colours.shape}")
    values = result.values[:, :, class_index]
    order = np.argsort(-np.abs(values).mean(axis=0), kind="stable")[:top]
    labels = feature_labels(result)
    x, y, colour, names = [], [], [], []
    for position, feature in enumerate(order):
        level = len(order) - 1 - position
        x.append(values[:, feature])
        y.append(level + swarm_offsets(values[:, feature]))
        colour.append(colours[:, feature])
        names.extend([labels[feature]] * len(values))
    colour_limit = float(np.quantile(np.abs(np.concatenate(colour)), 0.95)) or 1.0
    figure = go.Figure(
        go.Scattergl(
            x=np.concatenate(x),
            y=np.concatenate(y),
            mode="markers",
            text=names,
            hovertemplate="%{text}<br>SHAP %{x:.3g}<br>value (standardised) %{marker.color:.2f}<extra></extra>",
            marker={
                "color": np.concatenate(colour),
                "colorscale": "RdBu_r",
                "cmin": -colour_limit,
                "cmax": colour_limit,
                "size": 5,
                "colorbar": {"title": {"text": "feature value<br>(standardised)"}},
            },
        )
    )
    figure.add_vline(x=0.0, line_color="#888888")
    figure.update_layout(
        title=f"SHAP values per row, class '{result.class_names[class_index]}' ({len(values)} rows)",
        xaxis_title=f"SHAP value ({result.unit})",
        yaxis={
            "title": {"text": "Feature"},
            "tickvals": list(range(len(order))),
            "ticktext": [labels[f] for f in order[::-1]],
            "range": [-0.6, len(order) - 0.4],
        },
        showlegend=False,
    )
    return figure

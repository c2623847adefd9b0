"""SHAP page: which summary features pushed the active FFN towards or away from each genre, for one segment of
the active dataset or an uploaded song (force plot, waterfall), and over many segments (global views).

Computation lives in `genre_core.explain` (`shap_values`, `shap_figures`, `views`); this page draws. TensorFlow and shap are
imported only inside the functions below (through the bundle loader and the cached explainer), never at the top.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import streamlit as st

from genre_core import audio, bundle_info, prediction, stamps
from genre_core.config import SUMMARY
from genre_core.dataset import Dataset
from genre_core.errors import InputError
from genre_core.explain import shap_figures as sf
from genre_core.explain import shap_values as sv
from genre_core.explain import views
from genre_core.markdown import md
from pages import common, widgets

common.ensure_app_shell()

if TYPE_CHECKING:
    import plotly.graph_objects as go

    from genre_core.bundles import ModelBundle

GLOBAL_ROWS = 200  #: most rows the global views explain
SONG_KEY = "shap.song"  #: session state: summary rows of this user's uploaded song, keyed by content and settings
FROM_DATASET, FROM_UPLOAD = "dataset", "upload"
SOURCES = {FROM_DATASET: "A segment of the active dataset", FROM_UPLOAD: "Your own audio file"}
ALL_CLASSES = -1  #: global-view class choice: importance summed over classes

INTRO = (
    "SHAP splits the FFN's answer for one segment into a contribution of each of its 57 summary features "
    "(MFCC statistics, chroma, spectral shape, rhythm, energy). Contributions are in **logits**, the scores before "
    "the softmax: they start from the *base value* (the model's average score over typical training segments) and "
    "add up to the score of this segment. A feature that pushes by +1 logit multiplies the odds of the genre by "
    "e ≈ 2.7; red pushes towards the genre, blue away from it."
)


# --- cached computations ------------------------------------------------------------------------------------
@st.cache_resource(show_spinner="Preparing the SHAP explainer…", max_entries=4)
def _explainer(folder: str, stamp: str, data_key: tuple[Any, ...] | None, _bundle: ModelBundle,
               _dataset: Dataset | None) -> tuple[sv.FeatureExplainer, str]:
    """The explainer of the bundle's logits over its background (shared read-only), and where the background is from."""
    background, note = views.shap_background(_bundle, _dataset)
    explainer = sv.make_explainer(_bundle.model, background, class_names=_bundle.class_names)
    return explainer, note


@st.cache_data(show_spinner="Explaining the segment…", max_entries=128)
def _explain_row(folder: str, stamp: str, data_key: tuple[Any, ...] | None, standardised: np.ndarray,
                 _explainer: sv.FeatureExplainer) -> sv.ShapResult:
    return sv.explain_rows(_explainer, standardised[np.newaxis])


@st.cache_data(show_spinner=False, max_entries=128)
def _row_probabilities(folder: str, stamp: str, raw: np.ndarray, _bundle: ModelBundle) -> np.ndarray:
    """(K,) probabilities of one raw summary row (57 values) under the bundle in ``folder``."""
    return _bundle.predict_proba(np.asarray(raw, dtype=np.float32)[np.newaxis])[0]


def _waterfall_figure(result: sv.ShapResult, class_index: int, raw: np.ndarray, title: str) -> go.Figure:
    """`shap_figures.waterfall_figure` of the explained row for ``class_index``, titled ``title``."""
    figure = sf.waterfall_figure(result, 0, class_index, raw)
    figure.update_layout(title_text=title)
    return figure


@st.cache_data(show_spinner="Drawing the force plot…", max_entries=64)
def _force_png(folder: str, stamp: str, data_key: tuple[Any, ...] | None, identity: str, class_index: int,
               _result: sv.ShapResult, _raw: np.ndarray) -> bytes:
    """PNG of the force plot of row ``identity`` (a dataset row or an uploaded song's window) for ``class_index``."""
    return sf.force_plot_png(_result, 0, class_index, _raw)


@st.cache_data(show_spinner=False, max_entries=64)
def _explain_chunk(folder: str, stamp: str, data_key: tuple[Any, ...], rows: tuple[int, ...],
                   _explainer: sv.FeatureExplainer, _standardised: np.ndarray) -> sv.ShapResult:
    """SHAP values of one chunk of the global rows (cached chunk by chunk, so the progress bar stays outside)."""
    return sv.explain_rows(_explainer, _standardised)


# --- choosing the model and the rows ------------------------------------------------------------------------
def _summary_bundle() -> tuple[str, ModelBundle]:
    """The active FFN bundle if it takes summary features, or a readable message and `st.stop()`."""
    folder, bundle = common.require_active_bundle(bundle_info.FFN)
    if bundle.feature_kind != SUMMARY:
        st.info(f"The active FFN model '{bundle.name}' reads {bundle.feature_kind} features. SHAP here explains models "
                "on the 57 summary features: choose such a model in the sidebar.")
        st.stop()
    return folder, bundle


def _fitting_dataset(bundle: ModelBundle) -> tuple[Dataset | None, str]:
    """The active dataset when the bundle can score it, else None and a sentence saying why not."""
    from genre_core.bundles import check_compatible

    try:
        loaded = common.active_or_default_dataset()
        if loaded is None:
            return None, "No dataset is loaded (load one on the Data page to pick its segments)."
        check_compatible(bundle, loaded.dataset)
    except InputError as error:
        return None, f"The active dataset does not fit this model: {error}"
    return loaded.dataset, ""


def _dataset_row(dataset: Dataset, bundle: ModelBundle) -> tuple[str, np.ndarray, str, str | None]:
    """Pick a segment of the active dataset: (identity, raw summary row (57,), what it is, its true genre)."""
    columns = st.columns(3)
    part = columns[0].selectbox("Rows", list(views.PART_LABELS), format_func=views.PART_LABELS.get, key="shap.part")
    try:
        rows = views.part_rows(dataset, bundle.split_description, part)
    except InputError as error:
        st.warning(md(error), icon=":material/warning:")
        st.stop()
    tracks = sorted(set(dataset.track_ids[rows].tolist()))
    track = columns[1].selectbox("Track", tracks, key="shap.track")
    of_track = rows[dataset.track_ids[rows] == track]
    row = int(of_track[0]) if len(of_track) == 1 else int(columns[2].selectbox(
        "Segment", of_track, key="shap.segment", format_func=lambda r: f"window {dataset.segment_index[r]}"
    ))
    where = f", window {dataset.segment_index[row]}" if len(of_track) > 1 else ""
    return (f"row{row}", dataset.features[SUMMARY][row], f"{md(track)}{where}",
            md(dataset.class_names[dataset.labels[row]]))


def _song_rows(bundle: ModelBundle) -> tuple[str, np.ndarray, str, str | None] | None:
    """Upload a song and pick a window: (identity, raw summary row, what it is, None), or None before an upload."""
    config = prediction.analysis_config(bundle)
    uploaded = st.file_uploader(
        f"An audio file ({', '.join(audio.SUPPORTED_EXTENSIONS)}); it is cut into {config.segment_seconds:g} s windows "
        "like the model's training data", type=[extension.lstrip(".") for extension in audio.SUPPORTED_EXTENSIONS],
        key="shap.upload",
    )
    if uploaded is None:
        st.info("Upload a song to see how the FFN reads it.", icon=":material/upload:")
        return None
    data = uploaded.getvalue()
    identity = f"{hashlib.sha256(data).hexdigest()[:16]}-{config.fingerprint()}"
    song = st.session_state.get(SONG_KEY)
    if song is None or song["identity"] != identity:
        with st.spinner(f"Computing the summary features of {md(uploaded.name)} (a few seconds per window)…"):
            predicted = prediction.predict_file(bundle, data, name=uploaded.name)
        song = {"identity": identity, "rows": predicted.features, "starts": predicted.segment_starts}
        st.session_state[SONG_KEY] = song
    window = st.selectbox(
        "Window", range(len(song["rows"])), key=f"shap.window.{identity}",
        format_func=lambda w: f"{song['starts'][w]:.0f}–{song['starts'][w] + config.segment_seconds:.0f} s",
    )
    start = song["starts"][window]
    label = f"{md(uploaded.name)}, {start:.0f}–{start + config.segment_seconds:.0f} s"
    return f"song{identity}.{window}", song["rows"][window], label, None


# --- views --------------------------------------------------------------------------------------------------
def _local_views(folder: str, stamp: str, data_key: tuple[Any, ...] | None, bundle: ModelBundle,
                 explainer: sv.FeatureExplainer, identity: str, raw: np.ndarray, label: str, truth: str | None) -> None:
    """Force plot (interactive and PNG) and waterfall of one row (``label`` says what it is, ``truth`` its genre)."""
    standardised = bundle.standardizer.transform(np.asarray(raw, dtype=np.float32)[np.newaxis])[0]
    result = _explain_row(folder, stamp, data_key, standardised, explainer)
    probabilities = _row_probabilities(folder, stamp, np.asarray(raw), bundle)
    names = bundle.class_names
    predicted = int(np.argmax(probabilities))
    known = f" (true genre **{truth}**)" if truth is not None else ""
    st.markdown(f"{label}{known}: predicted **{names[predicted]}** (p = {probabilities[predicted]:.2f}).")
    class_index = st.selectbox(
        "Genre to explain", range(len(names)), index=predicted, key=f"shap.class.{identity}",
        format_func=lambda k: f"{names[k]} (p = {probabilities[k]:.2f}, logit {result.outputs[0, k]:.2f})",
    )
    st.subheader("Force plot")
    st.markdown(
        "Read it from the base value: red features push the genre's logit up (to the right), blue ones push it down; "
        "the longer the arrow, the larger the push, and they meet at this segment's logit f(x). Hover over an arrow "
        "for the feature's name and value (values are the raw feature values, e.g. Hz or BPM)."
    )
    st.iframe(sf.force_plot_html(result, 0, class_index, raw), height=170, alt="SHAP force plot")
    st.download_button(
        "Download the force plot (PNG)", _force_png(folder, stamp, data_key, identity, class_index, result, raw),
        file_name=f"shap_force_{names[class_index]}.png", mime="image/png", key="shap.force_png",
        on_click="ignore", icon=":material/download:",
    )
    st.subheader("Waterfall")
    st.markdown("The same contributions, largest at the top, walked step by step from the base value to the output; "
                "the smallest are gathered in one bar.")
    waterfall = widgets.cached_figure(_waterfall_figure, result, class_index, np.asarray(raw),
                                      f"Why '{names[class_index]}': {label} ({result.method} SHAP)")
    widgets.show_figure(waterfall, key="shap.waterfall", filename=f"shap_waterfall_{names[class_index]}")
    st.caption(f"{result.method} SHAP, additivity error {sv.additivity_error(result):.1e} logit.")


def _global_result(folder: str, stamp: str, data_key: tuple[Any, ...], bundle: ModelBundle, dataset: Dataset,
                   explainer: sv.FeatureExplainer, rows: np.ndarray) -> sv.ShapResult:
    """SHAP values of ``rows``, chunk by chunk with a progress bar (each chunk cached)."""
    standardised = bundle.standardizer.transform(dataset.features[SUMMARY][rows])
    bar = st.progress(0.0, text=f"Explaining {len(rows)} segments…")
    parts = []
    for start in range(0, len(rows), sv.CHUNK_ROWS):
        chunk = slice(start, start + sv.CHUNK_ROWS)
        chunk_rows = tuple(rows[chunk].tolist())
        parts.append(_explain_chunk(folder, stamp, data_key, chunk_rows, explainer, standardised[chunk]))
        done = min(start + sv.CHUNK_ROWS, len(rows))
        bar.progress(done / len(rows), text=f"{done} / {len(rows)}")
    bar.empty()
    return views.concatenate_shap_results(parts)


def _global_views(folder: str, stamp: str, data_key: tuple[Any, ...], bundle: ModelBundle, dataset: Dataset,
                  explainer: sv.FeatureExplainer) -> None:
    st.markdown(
        "The same explanation for many segments at once. **Mean |SHAP|** ranks features (and feature families) by how "
        "far they move the logit on average, in either direction. The **beeswarm** shows every segment as a dot: "
        "its position is the push on the genre's logit, its colour the feature's value (red high, blue low), so you "
        "can see whether *high* values of a feature speak for or against the genre."
    )
    columns = st.columns(2)
    part = columns[0].selectbox(
        "Rows", list(views.PART_LABELS), format_func=views.PART_LABELS.get, key="shap.global_part"
    )
    names = bundle.class_names
    class_index = columns[1].selectbox(
        "Genre", [ALL_CLASSES, *range(len(names))], key="shap.global_class",
        format_func=lambda k: "all genres (summed)" if k == ALL_CLASSES else names[k],
    )
    try:
        rows = views.sample_rows(views.part_rows(dataset, bundle.split_description, part), GLOBAL_ROWS)
    except InputError as error:
        st.warning(md(error), icon=":material/warning:")
        return
    if not st.toggle(f"Explain {len(rows)} segments (may take a minute the first time)", key="shap.global"):
        return
    result = _global_result(folder, stamp, data_key, bundle, dataset, explainer, rows)
    chosen = None if class_index == ALL_CLASSES else int(class_index)
    left, right = st.columns(2)
    with left:
        widgets.show_figure(sf.mean_abs_bar_figure(result, chosen), key="shap.global_features", filename="shap_mean_abs")
    with right:
        widgets.show_figure(sf.family_bar_figure(result, chosen), key="shap.global_families", filename="shap_families")
    if chosen is None:
        st.caption("Choose a genre to see its beeswarm.")
    else:
        widgets.show_figure(
            sf.beeswarm_figure(result, chosen), key="shap.beeswarm", filename=f"shap_beeswarm_{names[chosen]}"
        )


# --- page ---------------------------------------------------------------------------------------------------
st.title("SHAP")
st.markdown(INTRO)
bundle_folder, ffn = _summary_bundle()
bundle_stamp = stamps.source_stamp(Path(bundle_folder))
active, dataset_note = _fitting_dataset(ffn)
data_key = common.active_dataset_key() if active is not None else None

with widgets.errors_shown():
    feature_explainer, background_note = _explainer(bundle_folder, bundle_stamp, data_key, ffn, active)
    st.caption(f"Background (what the base value averages over): {background_note}. "
               f"Method: {feature_explainer.method} SHAP.")
    if dataset_note:
        st.caption(dataset_note)
    st.header("One segment")
    sources = [FROM_DATASET, FROM_UPLOAD] if active is not None else [FROM_UPLOAD]
    source = st.radio("Explain", sources, format_func=SOURCES.get, key="shap.source", horizontal=True)
    chosen_row = _dataset_row(active, ffn) if source == FROM_DATASET else _song_rows(ffn)
    if chosen_row is not None:
        _local_views(bundle_folder, bundle_stamp, data_key, ffn, feature_explainer, *chosen_row)

st.header("Global view: which features matter overall")
if active is None:
    st.info("The global views explain segments of the active dataset, which does not fit this model. " + dataset_note)
else:
    with widgets.errors_shown():
        _global_views(bundle_folder, bundle_stamp, data_key, ffn, active, feature_explainer)

"""Browse & Grad-CAM page: right and wrong examples of each genre under the active CNN, and Grad-CAM maps of
one chosen segment with the checks that say how far to trust them.

Computation lives in `genre_core.explain` (`views`, `gradcam`, `trust`); this page draws. TensorFlow is imported
only inside the functions below (through the bundle loader and the cached helpers), never at the top.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import streamlit as st

from genre_core import bundle_info, features, stamps
from genre_core.config import LOG_MEL, FeatureConfig
from genre_core.dataset import Dataset
from genre_core.errors import InputError
from genre_core.explain import explanation_figures, views
from genre_core.explain.examples import ExampleRow
from genre_core.markdown import md
from pages import common, widgets

common.ensure_app_shell()

if TYPE_CHECKING:
    from genre_core.bundles import ModelBundle

GENRE_KEY = common.BROWSE_GENRE_KEY  #: session state: the genre whose segments the gallery shows
#: Gallery ordering -> the two `genre_core.explain.examples.EXAMPLE_KINDS` it shows.
ORDERINGS = {
    "first in the data": ("right", "wrong"),
    "hardest first": ("least_confident_right", "most_confident_wrong"),
}
KIND_TITLES = {
    "right": "Right",
    "wrong": "Wrong",
    "least_confident_right": "Right, least confident first",
    "most_confident_wrong": "Wrong, most confident first",
}
SELECTED_KEY = common.BROWSE_SELECTED_KEY  #: session state: {"row", "track_id"} of the chosen card
CARDS_PER_ROW = 3
TRUST_SEGMENTS = 4  #: segments the sanity checks run on: the chosen one and gallery neighbours

INTRO = (
    "Here you see segments of one genre that the CNN classified **right** and **wrong**, taken from the part of "
    "the data the model did not train on (the test part, unless you choose another). Each card shows the "
    "segment's log-mel spectrogram (time across, low to high frequencies bottom to top, colour = loudness in dB, "
    "the same colour scale on every card) and lets you listen to it. Click **Explain** on a card to see where in "
    "the spectrogram the CNN found its evidence (Grad-CAM), and whether that map deserves your trust."
)


# --- cached computations (keyed on the bundle folder's stamp and the dataset key) -----------------------
@st.cache_data(show_spinner="Classifying the segments with the CNN…", max_entries=16)
def _probabilities(
    folder: str, stamp: str, data_key: tuple[Any, ...], part: str, _bundle: ModelBundle, _dataset: Dataset,
    _rows: np.ndarray,
) -> np.ndarray:
    """Probabilities (rows, K) of the part's rows."""
    return views.dataset_probabilities(_bundle, _dataset, _rows)


@st.cache_data(show_spinner=False, max_entries=256)
def _segment_audio(path: str, modified_ns: int, start_s: float, end_s: float, sample_rate: int) -> np.ndarray:
    return views.track_segment_audio(path, start_s, end_s, sample_rate)


@st.cache_data(show_spinner="Computing Grad-CAM, Grad-CAM++ and saliency…", max_entries=64)
def _maps(
    folder: str, stamp: str, data_key: tuple[Any, ...], row: int, layer: str, class_index: int | None,
    _bundle: ModelBundle, _log_mel: np.ndarray,
) -> views.SegmentMaps:
    return views.segment_maps(_bundle, _log_mel, layer=layer, class_index=class_index)


@st.cache_data(show_spinner="Resynthesising the highlighted and the remaining part…", max_entries=32)
def _resynthesis(
    folder: str, stamp: str, data_key: tuple[Any, ...], row: int, layer: str, class_index: int, threshold: float,
    _log_mel: np.ndarray, _heatmap: np.ndarray, _config: FeatureConfig,
) -> tuple[np.ndarray, np.ndarray]:
    """Audio (highlighted, rest) of the Grad-CAM map of ``row`` at ``layer`` for ``class_index``."""
    from genre_core.explain import trust

    return trust.resynthesise(_log_mel, _heatmap, _config, threshold=threshold)


@st.cache_data(show_spinner="Running the randomisation and deletion checks…", max_entries=16)
def _trust_checks(
    folder: str, stamp: str, data_key: tuple[Any, ...], rows: tuple[int, ...], layer: str, _bundle: ModelBundle,
    _log_mels: np.ndarray,
) -> views.TrustChecks:
    return views.trust_checks(_bundle, _log_mels, layer=layer)


# --- choosing the model, the rows and a segment ----------------------------------------------------------
def _check_cnn_fits(bundle: ModelBundle, dataset: Dataset) -> None:
    """InputError unless ``bundle`` is a log-mel CNN that can score ``dataset``."""
    from genre_core.bundles import check_compatible

    if bundle.feature_kind != LOG_MEL:
        raise InputError(f"model '{bundle.name}'", f"takes {bundle.feature_kind} features, not log-mel spectrograms")
    check_compatible(bundle, dataset)


def _cnn_bundle(dataset: Dataset) -> tuple[str, ModelBundle]:
    """The active CNN bundle folder and bundle, or a readable message and `st.stop()`."""
    folder, bundle = common.require_active_bundle(bundle_info.CNN)
    try:
        _check_cnn_fits(bundle, dataset)
    except InputError as error:
        st.error(f"The active CNN model does not fit the active dataset. {error}", icon=":material/error:")
        st.caption("Choose a CNN trained on this dataset's genres and feature settings in the sidebar, or train one.")
        st.stop()
    return folder, bundle


def _part_rows(dataset: Dataset, bundle: ModelBundle, part: str) -> np.ndarray:
    """Dataset rows of ``part`` (see `views.part_rows`); a warning and `st.stop()` when there are none."""
    try:
        rows = views.part_rows(dataset, bundle.split_description, part)
    except InputError as error:
        st.warning(f"{error}. Or choose *all rows* to browse anyway.", icon=":material/warning:")
        st.stop()
    if part in ("train", views.ALL_ROWS):
        st.caption(":orange[The model has seen (some of) these segments in training: they flatter it.]")
    return rows


def _select(row: int, track_id: str) -> None:
    st.session_state[SELECTED_KEY] = {"row": row, "track_id": track_id}


def _selected_row(dataset: Dataset) -> int | None:
    """The chosen card's dataset row, if it still belongs to the active dataset."""
    chosen = st.session_state.get(SELECTED_KEY)
    if not chosen or not 0 <= chosen["row"] < len(dataset):
        return None
    return chosen["row"] if str(dataset.track_ids[chosen["row"]]) == chosen["track_id"] else None


def _where(start_s: float, end_s: float, segment_index: int, config: FeatureConfig | None) -> str:
    """A segment's time span in its track, or its window number when the source has no feature settings."""
    return f"{start_s:.1f}–{end_s:.1f} s" if config is not None else f"window {segment_index}"


# --- gallery -----------------------------------------------------------------------------------------------
def _player(dataset: Dataset, track_id: str, start_s: float, end_s: float) -> None:
    """An audio player for a stretch of a track, or a short note why there is none."""
    config = dataset.feature_config
    path = dataset.audio_paths.get(track_id)
    if path is None or config is None:
        st.caption("No audio: this source holds features only.")
        return
    try:
        samples = _segment_audio(path, Path(path).stat().st_mtime_ns, start_s, end_s, config.sample_rate)
    except (InputError, OSError) as error:
        st.caption(f":red[Audio unavailable: {error}]")
        return
    st.audio(samples, sample_rate=config.sample_rate)


def _card(dataset: Dataset, item: ExampleRow, kind: str, colour_range: tuple[float, float]) -> None:
    config = dataset.feature_config
    st.markdown(f"**{md(item.track_id)}** · {_where(item.start_seconds, item.end_seconds, item.segment_index, config)}")
    st.caption(f"true **{md(item.true_class)}** → predicted **{md(item.predicted_class)}** (p = {item.probability:.2f})")
    figure = widgets.cached_figure(explanation_figures.spectrogram_view, dataset.features[LOG_MEL][item.row], config,
                                   zmin=colour_range[0], zmax=colour_range[1], thumbnail=True)
    widgets.show_figure(figure, key=f"browse.thumb.{kind}.{item.row}", filename=f"{item.track_id}_{item.segment_index}")
    _player(dataset, item.track_id, item.start_seconds, item.end_seconds)
    st.button(
        "Explain", key=f"browse.pick.{kind}.{item.row}", icon=":material/image_search:", width="stretch",
        on_click=_select, args=(item.row, item.track_id),
    )


def _gallery(dataset: Dataset, examples: dict[str, list[ExampleRow]], kinds: tuple[str, ...]) -> list[int]:
    """Cards of the ``kinds`` lists (shared dB colour scale); returns the dataset rows shown."""
    shown = [item.row for kind in kinds for item in examples[kind]]
    if not shown:
        st.info("This genre has no segments in the chosen part.")
        return shown
    log_mels = dataset.features[LOG_MEL][shown]
    colour_range = (float(log_mels.min()), float(log_mels.max()))
    if colour_range[0] == colour_range[1]:
        colour_range = (colour_range[0] - 1.0, colour_range[1] + 1.0)
    for kind in kinds:
        items = examples[kind]
        st.subheader(f"{KIND_TITLES[kind]} ({len(items)})")
        if not items:
            st.caption("None in this part.")
        for start in range(0, len(items), CARDS_PER_ROW):
            for column, item in zip(st.columns(CARDS_PER_ROW), items[start : start + CARDS_PER_ROW]):
                with column.container(border=True):
                    _card(dataset, item, kind, colour_range)
    return list(dict.fromkeys(shown))


# --- one segment -------------------------------------------------------------------------------------------
def _layer_choice(bundle: ModelBundle) -> str:
    """Layer selectbox (default: `gradcam.default_target_layer`) and a note on the layers Grad-CAM cannot use."""
    from genre_core.explain import gradcam

    problems = {name: gradcam.layer_problem(bundle.model, name) for name in gradcam.spatial_layer_names(bundle.model)}
    layers = [name for name, problem in problems.items() if problem is None]
    default = gradcam.default_target_layer(bundle.model)
    layer = st.selectbox(
        "Layer", layers, index=layers.index(default), key="browse.layer",
        help="Grad-CAM weighs this layer's feature maps by how much they raise the class score. The default, the "
        "last convolution after its batch norm and activation, has the most abstract features; earlier layers give "
        "finer but less class-specific maps. A cnn_timefreq model's time and frequency branches meet only after "
        "global pooling, so each of its layers shows one branch (the default: the frequency branch).",
    )
    for name, problem in problems.items():
        if problem is not None:
            st.caption(f"Not offered: {name} ({problem}).")
    return layer


def _listen(folder: str, stamp: str, data_key: tuple[Any, ...], row: int, log_mel: np.ndarray,
            maps: views.SegmentMaps, config: FeatureConfig) -> None:
    st.markdown(
        "Turn the map into sound: the cells where Grad-CAM is at least the threshold are turned back into audio, "
        "and so are the others. If the highlighted part sounds like what makes the genre (a drum pattern, a bass "
        "line), the map points at something musical."
    )
    threshold = st.slider("Threshold (share of the map's maximum)", 0.1, 0.9, 0.5, 0.05, key="browse.threshold")
    highlighted, rest = _resynthesis(
        folder, stamp, data_key, row, maps.layer, maps.class_index, threshold, log_mel, maps.gradcam, config
    )
    left, right = st.columns(2)
    left.caption("The highlighted part")
    left.audio(highlighted, sample_rate=config.sample_rate)
    right.caption("Everything else")
    right.audio(rest, sample_rate=config.sample_rate)
    st.caption(
        "An approximation: the spectrogram keeps no phase (it is estimated by Griffin-Lim) and mel bands are wide at "
        "high frequencies, so the sound is smeared and metallic. Listen for *what* is there, not for quality."
    )


def _trust(folder: str, stamp: str, data_key: tuple[Any, ...], bundle: ModelBundle, dataset: Dataset,
           rows: list[int], layer: str) -> None:
    st.markdown(
        "Two measured checks on the chosen segment and the other segments of the gallery (each explained for its "
        "predicted class). **Randomisation**: the network's layers are replaced by random ones from the top down; a "
        "map that stays similar (rank correlation near 1) shows the spectrogram's own structure, not what the model "
        "learned. A trustworthy map falls towards 0. **Deletion**: the spectrogram cells Grad-CAM rates highest are "
        "blanked first; if the map finds real evidence, the class probability drops faster than when random cells "
        "are blanked, and the area between the curves is positive."
    )
    checks = _trust_checks(folder, stamp, data_key, tuple(rows), layer, bundle, dataset.features[LOG_MEL][rows])
    st.caption(f"{checks.segments} segments, Grad-CAM at layer {checks.layer}.")
    left, right = st.columns(2)
    with left:
        widgets.show_figure(explanation_figures.randomisation_figure(checks.randomisation), key="browse.randomisation")
    with right:
        widgets.show_figure(explanation_figures.deletion_figure(checks.deletion), key="browse.deletion")


def _detail(folder: str, stamp: str, data_key: tuple[Any, ...], bundle: ModelBundle, dataset: Dataset, row: int,
            gallery_rows: list[int]) -> None:
    """Grad-CAM views of dataset row ``row``."""
    from genre_core.explain import gradcam

    config = dataset.feature_config
    log_mel = dataset.features[LOG_MEL][row]
    track, segment = str(dataset.track_ids[row]), int(dataset.segment_index[row])
    start = segment * config.segment_seconds if config is not None else 0.0
    end = start + config.segment_seconds if config is not None else 0.0
    st.header(f"Grad-CAM of {md(track)}, {_where(start, end, segment, config)}")
    st.markdown(
        "Grad-CAM asks which regions of the spectrogram raised the score (the logit) of a class: red means strong "
        "evidence for it, transparent means none. It is blurry because it is computed at a deep layer with a coarse "
        "grid and then stretched to the spectrogram. A map explains one class: choose another class to see what "
        "spoke for it."
    )
    columns = st.columns(3)
    with columns[0]:
        layer = _layer_choice(bundle)
    predicted = _maps(folder, stamp, data_key, row, layer, None, bundle, log_mel)
    names = bundle.class_names
    with columns[1]:
        class_index = st.selectbox(
            "Class to explain", range(len(names)), index=predicted.class_index, key=f"browse.class.{row}",
            format_func=lambda k: f"{names[k]} (p = {predicted.probabilities[k]:.2f})",
        )
    with columns[2]:
        opacity = st.slider("Map opacity", 0.0, 1.0, 0.5, 0.05, key="browse.opacity")
    maps = predicted if class_index == predicted.class_index else _maps(
        folder, stamp, data_key, row, layer, int(class_index), bundle, log_mel
    )
    st.caption(f"True class **{names[dataset.labels[row]]}**, predicted **{names[predicted.class_index]}** "
               f"(p = {predicted.probabilities[predicted.class_index]:.2f}).")
    _player(dataset, track, start, end)
    if not maps.gradcam.any():
        st.warning(
            f"Layer {maps.layer} gives a blank map for '{names[maps.class_index]}': none of its regions raises this "
            "class's score (the ReLU of Grad-CAM keeps only positive evidence). Try an earlier layer or the "
            "predicted class.",
            icon=":material/visibility_off:",
        )
    title = f"Grad-CAM at {maps.layer} for '{names[maps.class_index]}'"
    widgets.show_figure(explanation_figures.spectrogram_view(log_mel, config, heatmap=maps.gradcam, opacity=opacity, title=title),
                       key="browse.gradcam", filename=f"gradcam_{track}_{segment}")
    left, right = st.columns(2)
    with left:
        widgets.show_figure(explanation_figures.spectrogram_view(log_mel, config, heatmap=maps.gradcam_plus_plus, opacity=opacity,
                                                  title="Grad-CAM++"), key="browse.gradcam_pp")
        st.caption("Grad-CAM++ weighs several separate regions of evidence more evenly, so a beat that repeats "
                   "shows up at every repetition instead of only the strongest one.")
    with right:
        widgets.show_figure(explanation_figures.spectrogram_view(log_mel, config, heatmap=maps.saliency, opacity=opacity,
                                                  title="Gradient saliency"), key="browse.saliency")
        st.caption("Saliency: how strongly each single cell would change the score if nudged. Sharp but noisy: "
                   "sensitivity, not evidence.")
    if config is None:
        st.caption("This source does not say its sample rate, so the profiles and the listening view are left out.")
    else:
        st.subheader("Where in frequency and time")
        st.markdown("The map summed over time (which bands mattered) and over frequency (which moments mattered); "
                    "each profile sums to 1. Bass and kick drum live below ~200 Hz, voices and guitars around "
                    "200 Hz – 4 kHz, cymbals and hi-hats above.")
        bands = explanation_figures.band_profile_figure(gradcam.band_profile(maps.gradcam), features.mel_band_frequencies(config))
        moments = explanation_figures.time_profile_figure(gradcam.time_profile(maps.gradcam), features.frame_times(config))
        left, right = st.columns(2)
        with left:
            widgets.show_figure(bands, key="browse.band_profile")
        with right:
            widgets.show_figure(moments, key="browse.time_profile")
        if st.toggle("Listen to the highlighted part", key="browse.listen"):
            _listen(folder, stamp, data_key, row, log_mel, maps, config)
    from genre_core.explain.musicnn_evidence import is_musicnn  # imports TensorFlow: only with a model

    if is_musicnn(bundle.model):
        _musicnn_evidence(bundle, log_mel, maps.class_index, config)
    st.subheader("Can the map be trusted?")
    if st.toggle("Run the sanity checks (takes a few seconds)", key="browse.trust"):
        rows = [row, *[other for other in gallery_rows if other != row]][:TRUST_SEGMENTS]
        _trust(folder, stamp, data_key, bundle, dataset, rows, maps.layer)


def _musicnn_evidence(bundle: ModelBundle, log_mel: np.ndarray, class_index: int, config: FeatureConfig | None) -> None:
    """Branch shares and the time map of a classifier on the musicnn trunk (its front end pools away frequency)."""
    st.subheader("Which part of musicnn heard it")
    st.markdown(
        "This CNN is built on **musicnn**, whose front end looks at the spectrogram in five ways at once: two "
        "*timbral* branches (filters spanning many bands over a few frames: instruments, spectral shape) and three "
        "*temporal* ones (filters of one band over many frames: rhythm, tempo). Each branch keeps only the "
        "strongest response over all frequencies, so after the front end there is no frequency left to map: the "
        "2-D Grad-CAM above can only show one temporal branch. What can be said for the whole network: which "
        "branch carried the evidence, and which moments (Grad-CAM over time on the mid end)."
    )
    evidence = views.musicnn_evidence(bundle, log_mel, class_index)
    left, right = st.columns(2)
    with left:
        widgets.show_figure(explanation_figures.branch_share_figure(evidence), key="browse.musicnn.branches")
    with right:
        times = features.frame_times(config) if config is not None else np.arange(evidence.time_map.shape[1])
        widgets.show_figure(explanation_figures.time_profile_figure(evidence.time_map[0] / max(evidence.time_map[0].sum(), 1e-12),
                                                     times), key="browse.musicnn.time")
    st.caption(f"Timbral branches together: {evidence.timbral_share()[0]:.0%} of the evidence. Shares are a "
               "first-order estimate (gradient × activation); a branch that argued against the class gets 0 %.")


# --- page --------------------------------------------------------------------------------------------------
st.title("Browse & Grad-CAM")
st.markdown(INTRO)
dataset = common.require_dataset().dataset
if LOG_MEL not in dataset.features:
    st.info("The active dataset has no log-mel spectrograms (a feature table holds summary features only): "
            "Browse needs a dataset extracted from audio, or `.npy` spectrograms.")
    st.stop()
bundle_folder, cnn = _cnn_bundle(dataset)
bundle_stamp = stamps.source_stamp(Path(bundle_folder))
data_key = common.active_dataset_key()

controls = st.columns([2, 2, 2, 1])
part = controls[0].selectbox("Rows", list(views.PART_LABELS), format_func=views.PART_LABELS.get, key=common.BROWSE_PART_KEY,
                             help="Which part of the model's train/validation/test split to browse.")
ordering = controls[2].radio("Order", list(ORDERINGS), key="browse.ordering", horizontal=True,
                             help="Hardest first: right answers with the lowest probability for the true genre, "
                             "and wrong answers the model was most sure of.")
per_list = controls[3].number_input("Cards per list", 1, 24, 6, key="browse.per_list")

with widgets.errors_shown():
    part_rows = _part_rows(dataset, cnn, part)
    part_probabilities = _probabilities(bundle_folder, bundle_stamp, data_key, part, cnn, dataset, part_rows)
    if st.session_state.get(GENRE_KEY) not in dataset.class_names:  # open on the genre with the most mistakes
        st.session_state[GENRE_KEY] = views.most_wrong_genre(dataset, part_rows, part_probabilities)
    class_name = controls[1].selectbox("Genre (true class)", dataset.class_names, key=GENRE_KEY,
                                       help="Opens on the genre with the most wrong answers in these rows.")
    examples = views.examples_of_rows(dataset, part_rows, part_probabilities, int(per_list))[class_name]
    shown_rows = _gallery(dataset, examples, ORDERINGS[ordering])
    st.divider()
    selected = _selected_row(dataset)
    if selected is None:
        st.info("Click **Explain** under a segment to see its Grad-CAM maps.", icon=":material/touch_app:")
    else:
        _detail(bundle_folder, bundle_stamp, data_key, cnn, dataset, selected, shown_rows)

"""Your song page: upload songs, hear them, and see how the FFN and the CNN classify them window by window,
with the Grad-CAM map of the CNN's most decisive window and the SHAP waterfall of the FFN.

Computation lives in `genre_core` (`prediction`, `explain.views`, `explain.shap_values`, `song_figures`); this
page draws. Uploads stay in memory (never written to disk); results are cached on the sha256 of the bytes and
the bundles' stamps. TensorFlow is imported only inside the functions below (through the bundle loader and the
explainers), never at the top.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import streamlit as st

from genre_core import audio, bundle_files, bundle_info, dataset_choice, musicnn, paths, song_figures, stamps
from genre_core.config import SUMMARY
from genre_core.dataset import Dataset
from genre_core.errors import InputError
from genre_core.explain import views
from genre_core.markdown import md
from genre_core.musicnn.tagging import DEFAULT_TAGGER, SongTags, tag_patches, tag_song
from genre_core.prediction import FilePredictions, ModelResult, SongPrediction, Unclassified, predict_many
from pages import common, widgets

common.ensure_app_shell()

if TYPE_CHECKING:
    from streamlit.runtime.uploaded_file_manager import UploadedFile

    from genre_core.bundles import ModelBundle
    from genre_core.explain.shap_values import FeatureExplainer, ShapResult

#: Role -> the pretrained bundle trained on real GTZAN recordings.
GTZAN_BUNDLES = {bundle_info.FFN: "ffn_gtzan_features", bundle_info.CNN: "cnn_gtzan_transfer"}
AUDIO_TYPES = ["wav", "mp3", "ogg", "flac", "au"]
#: Extension -> MIME type browsers play; other formats (.au) are decoded for the player.
BROWSER_AUDIO = {".wav": "audio/wav", ".mp3": "audio/mpeg", ".ogg": "audio/ogg", ".flac": "audio/flac"}
PLAYBACK_RATE = 22050  #: Hz, rate of the decoded player audio of formats browsers cannot play
USE_GTZAN_KEY = "your_song.use_gtzan"
UPLOAD_KEY = "your_song.files"

INTRO = (
    "Upload your own songs and both models classify them window by window: the **FFN** from summary statistics "
    "of each window (MFCCs, spectral shape, tempo, ...), the **CNN** from its log-mel spectrogram. The bars give "
    "each model's verdict on the whole song (the mean over its windows), the timelines show how that verdict "
    "changes through the song, and the Grad-CAM map and the SHAP waterfall show what the verdict on one window "
    "rests on. Your files stay in memory and are never stored."
)
REAL_GENRES_NOTE = (
    "Real songs belong to real genres: the demo models know only four synthetic styles, so while the demo dataset "
    "is active the pair trained on real GTZAN recordings classifies your songs."
)


@dataclass(frozen=True)
class _Model:
    """A model that classifies the songs: its role (`bundle_info.FFN` / `bundle_info.CNN`), folder, stamp and bundle."""

    role: str
    folder: str
    stamp: str
    bundle: ModelBundle

    @property
    def label(self) -> str:
        return f"{self.role} ({self.bundle.name})"


# --- cached computations (keyed on the sha256 of the upload and the bundles' folders and stamps) -----------
@st.cache_data(show_spinner="Decoding the song and classifying every window…", max_entries=16)
def _classify(digest: str, name: str, models: tuple[tuple[str, str], ...], _bundles: tuple[ModelBundle, ...],
              _data: bytes) -> tuple[FilePredictions, tuple[str, ...]]:
    """One upload classified by every bundle (decoded once), and the decoder's notes on it (cut to the first
    minutes, scaled down, one channel used); ``models`` is (folder, stamp) per bundle."""
    with audio.notes_collected() as notes:
        result = predict_many(list(_bundles), [_data], names=[name])[0]
    return result, tuple(notes)


@st.cache_data(show_spinner="Decoding the song for the player…", max_entries=8)
def _playback_samples(digest: str, name: str, _data: bytes) -> np.ndarray:
    return audio.load_audio(_data, PLAYBACK_RATE, name=name)


@st.cache_data(show_spinner="Computing Grad-CAM of the window…", max_entries=64)
def _gradcam(digest: str, folder: str, stamp: str, window: int, class_index: int, _bundle: ModelBundle,
             _log_mel: np.ndarray) -> views.SegmentMaps:
    return views.segment_maps(_bundle, _log_mel, class_index=class_index)


@st.cache_resource(show_spinner="Preparing the SHAP explainer (once per model)…", max_entries=4)
def _shap_explainer(folder: str, stamp: str, data_key: tuple[Any, ...] | None, _bundle: ModelBundle,
                    _dataset: Dataset | None) -> tuple[FeatureExplainer, str]:
    """The shared explainer of a summary FFN and where its background rows come from (read-only)."""
    from genre_core.explain import shap_values

    background, origin = views.shap_background(_bundle, _dataset)
    return shap_values.make_explainer(_bundle.model, background, class_names=_bundle.class_names), origin


@st.cache_data(show_spinner="Computing the SHAP values of the window…", max_entries=64)
def _shap_result(digest: str, folder: str, stamp: str, data_key: tuple[Any, ...] | None, window: int,
                 _bundle: ModelBundle, _explainer: FeatureExplainer, _summary_row: np.ndarray) -> ShapResult:
    """SHAP values of one raw summary row (57,) of the song, for every class."""
    from genre_core.explain import shap_values

    return shap_values.explain_rows(_explainer, _bundle.standardizer.transform(_summary_row[np.newaxis]))


# --- choosing the models -------------------------------------------------------------------------------------
def _gtzan_folders() -> dict[str, str] | None:
    """Role -> folder of the GTZAN-trained pretrained pair; None unless both are in `paths.PRETRAINED_DIR`."""
    folders = {role: paths.PRETRAINED_DIR / name for role, name in GTZAN_BUNDLES.items()}
    if not all((folder / bundle_files.METADATA_FILE).is_file() for folder in folders.values()):
        return None
    return {role: str(folder.resolve()) for role, folder in folders.items()}


def _chosen_folders() -> dict[str, str]:
    """The toggle between the GTZAN pair and the sidebar's models; role -> folder of the models to use."""
    gtzan = _gtzan_folders()
    on_demo = common.active_dataset_spec().kind == dataset_choice.DEMO
    use_gtzan = st.toggle(
        f"Use the GTZAN-trained models ({' and '.join(GTZAN_BUNDLES.values())}) instead of the sidebar's",
        value=gtzan is not None and on_demo, key=USE_GTZAN_KEY, disabled=gtzan is None,
    )
    if gtzan is None:
        st.caption("The GTZAN-trained models are not in assets/models, so the sidebar's models are used.")
    else:
        st.caption(REAL_GENRES_NOTE)
    if use_gtzan and gtzan is not None:
        return gtzan
    active = {role: common.active_bundle_folder(role) for role in (bundle_info.FFN, bundle_info.CNN)}
    return {role: folder for role, folder in active.items() if folder is not None}


def _require_models(folders: dict[str, str]) -> None:
    """A pointer to the sidebar and `st.stop()` when no model is chosen; a note when only one is."""
    if not folders:
        st.info("No model is active: choose an FFN and a CNN in the sidebar, or train them on the Train page.")
        st.page_link("pages/train.py", label="Open the Train page", icon=":material/model_training:")
        st.stop()
    missing = [role for role in (bundle_info.FFN, bundle_info.CNN) if role not in folders]
    if missing:
        st.caption(f"No {' or '.join(missing)} model is active, so only the {' and '.join(folders)} classifies.")


def _models(folders: dict[str, str]) -> list[_Model]:
    """The chosen bundles, loaded (shared, read-only; imports TensorFlow); the error and `st.stop()` if one fails."""
    with widgets.errors_shown():
        return [
            _Model(role, folder, stamps.source_stamp(Path(folder)), common.load_bundle(folder))
            for role, folder in folders.items()
        ]
    st.stop()


# --- one song --------------------------------------------------------------------------------------------------
def _size_problem(upload: UploadedFile) -> str | None:
    """``"<name>: <reason>"`` when the upload is over the limit per song (`audio.MAX_SONG_BYTES`)."""
    if upload.size <= audio.MAX_SONG_BYTES:
        return None
    limit_mb = audio.MAX_SONG_BYTES / 1024**2
    return str(InputError(upload.name, f"is {upload.size / 1024**2:,.1f} MB, more than the {limit_mb:,.0f} MB limit per song"))


def _player(upload: UploadedFile, data: bytes, digest: str) -> None:
    mime = BROWSER_AUDIO.get(Path(upload.name).suffix.lower())
    if mime:
        st.audio(data, format=mime)
    else:  # e.g. .au, which browsers cannot play
        st.audio(_playback_samples(digest, upload.name, data), sample_rate=PLAYBACK_RATE)


def _window_key(index: int, role: str) -> str:
    """Session-state key of the window slider of song ``index`` for the model of ``role``."""
    return f"your_song.{index}.{role.lower()}_window"


def _explained_window(index: int, model: _Model, prediction: SongPrediction) -> int | None:
    """The window the model's explanation shows (the slider's, else the most decisive); None without one."""
    if model.role == bundle_info.FFN and prediction.feature_kind != SUMMARY:
        return None
    window = st.session_state.get(_window_key(index, model.role), song_figures.most_decisive_window(prediction))
    return window if 0 <= window < prediction.n_segments else None


def _window_choice(index: int, role: str, prediction: SongPrediction) -> int:
    """A slider over the song's windows (labelled with their times), starting at the most decisive one."""
    if prediction.n_segments == 1:
        return 0
    return st.select_slider(
        "Window", options=list(range(prediction.n_segments)), value=song_figures.most_decisive_window(prediction),
        key=_window_key(index, role), format_func=lambda window: song_figures.window_span(prediction, window),
    )


def _decisive_note(prediction: SongPrediction, window: int, model: str) -> str:
    """One line: which window is explained, for which genre, and why this one."""
    genre = prediction.genre
    probability = prediction.segment_probabilities[window, prediction.predicted_index]
    where = song_figures.window_span(prediction, window)
    if window == song_figures.most_decisive_window(prediction):
        return (f"Window {where}, the most decisive one: the window where the {model} is surest of the song's genre, "
                f"{genre} (p = {probability:.2f}, the highest among its windows). Explained for {genre}.")
    return f"Window {where}: p({genre}) = {probability:.2f}. Explained for the song's genre, {genre}."


def _gradcam_section(index: int, digest: str, model: _Model, prediction: SongPrediction) -> None:
    st.markdown("#### Where the CNN hears it: Grad-CAM")
    st.markdown(
        "The window's log-mel spectrogram (time across, low to high frequencies bottom to top, colour = loudness in "
        "dB) with the Grad-CAM map on top: red marks the regions that raised the CNN's score for the song's genre, "
        "transparent ones did not. Move the slider to explain another window."
    )
    window = _window_choice(index, model.role, prediction)
    st.caption(_decisive_note(prediction, window, "CNN"))
    maps = _gradcam(digest, model.folder, model.stamp, window, prediction.predicted_index, model.bundle,
                    prediction.features[window])
    if not maps.gradcam.any():
        st.warning(
            f"The map is blank: no region of this window raises the CNN's score for {prediction.genre} at layer "
            f"{maps.layer} (Grad-CAM keeps only positive evidence). Try another window.",
            icon=":material/visibility_off:",
        )
    title = f"Grad-CAM at {maps.layer} for '{prediction.genre}', {song_figures.window_span(prediction, window)}"
    widgets.show_figure(song_figures.window_gradcam_figure(prediction, window, maps.gradcam, title=title),
                       key=f"your_song.{index}.gradcam", filename=f"gradcam_{Path(prediction.name).stem}_{window}")


def _shap_dataset(bundle: ModelBundle) -> tuple[Dataset | None, tuple[Any, ...] | None]:
    """The active dataset and its key when it is loaded and ``bundle`` can score it (for SHAP background rows)."""
    from genre_core.bundles import check_compatible

    loaded = common.peek_active_dataset()
    if loaded is None:
        return None, None
    try:
        check_compatible(bundle, loaded.dataset)
    except InputError:
        return None, None
    return loaded.dataset, common.active_dataset_key()


def _shap_section(index: int, digest: str, model: _Model, prediction: SongPrediction) -> None:
    from genre_core.explain import shap_figures

    st.markdown("#### Which features decided it: SHAP waterfall of the FFN")
    if prediction.feature_kind != SUMMARY:
        st.info(f"The active FFN reads {prediction.feature_kind} features; SHAP here needs a summary-feature FFN.")
        return
    st.markdown(
        "Read it from the bottom up: it starts at the **base value**, the FFN's average score for the song's genre, "
        "and each bar adds one feature's push, up (red) or down (blue), until it reaches the window's score at the "
        "top. The features that pushed most are listed, each with its value in the window; the rest share one bar."
    )
    window = _window_choice(index, model.role, prediction)
    st.caption(_decisive_note(prediction, window, "FFN"))
    dataset, data_key = _shap_dataset(model.bundle)
    explainer, origin = _shap_explainer(model.folder, model.stamp, data_key, model.bundle, dataset)
    result = _shap_result(digest, model.folder, model.stamp, data_key, window, model.bundle, explainer,
                          prediction.features[window])
    figure = shap_figures.waterfall_figure(result, 0, prediction.predicted_index, prediction.features[window])
    figure.update_layout(title_text=f"Why '{prediction.genre}', {song_figures.window_span(prediction, window)}")
    widgets.show_figure(figure, key=f"your_song.{index}.waterfall",
                       filename=f"shap_waterfall_{Path(prediction.name).stem}_{window}")
    st.caption(f"Scores are logits (before the softmax; +1 multiplies the odds of the genre by e ≈ 2.7). "
               f"The base value averages over {origin}.")


def _song(index: int, upload: UploadedFile, models: list[_Model]) -> None:
    """Everything about one upload, or a one-line error naming it."""
    st.subheader(md(upload.name))
    problem = _size_problem(upload)
    if problem is not None:
        st.error(md(problem), icon=":material/error:")
        return
    data = upload.getvalue()
    digest = hashlib.sha256(data).hexdigest()
    models_key = tuple((model.folder, model.stamp) for model in models)
    result, notes = _classify(digest, upload.name, models_key, tuple(model.bundle for model in models), data)
    if not result.ok:
        st.error(md(result.error), icon=":material/error:")
        return
    for note in dict.fromkeys(notes):
        st.info(note, icon=":material/info:")
    _player(upload, data, digest)
    classified = [(model, outcome) for model, outcome in zip(models, result.results, strict=True)
                  if isinstance(outcome, SongPrediction)]
    for model, prediction in classified:
        st.markdown(song_figures.verdict_sentence(prediction, model.role))
    if classified:
        predictions = {model.label: prediction for model, prediction in classified}
        widgets.show_figure(song_figures.song_probability_figure(predictions), key=f"your_song.{index}.probabilities",
                           filename=f"probabilities_{Path(upload.name).stem}")
    for model, column, outcome in zip(models, st.columns(len(models)), result.results, strict=True):
        with column:
            _model_column(index, upload.name, model, outcome)
    if not classified:
        return
    with st.expander("Every window as a table"):
        table = song_figures.window_table(predictions)
        st.dataframe(table, hide_index=True)
        widgets.table_download(table, f"windows_{index + 1}_{Path(upload.name).stem}")
    explained = sorted(classified, key=lambda pair: pair[0].role != bundle_info.CNN)
    for model, prediction in explained:  # the CNN's Grad-CAM first, then the FFN's SHAP
        with widgets.errors_shown():
            if model.role == bundle_info.CNN:
                _gradcam_section(index, digest, model, prediction)
            else:
                _shap_section(index, digest, model, prediction)
    with widgets.errors_shown():
        musicnn_windows = next((prediction.features for _, prediction in classified
                                if prediction.feature_config == musicnn.FEATURES), None)
        _tags_section(index, digest, upload.name, data, musicnn_windows)


@st.cache_resource(show_spinner="Loading the pretrained tagger…")
def _tagger(trunk: str):  # noqa: ANN202 - a keras.Model; TensorFlow is imported only here
    from genre_core.transfer import load_tagger

    return load_tagger(trunk)


@st.cache_data(show_spinner="Asking the pretrained network for its tags…", max_entries=32)
def _song_tags(digest: str, name: str, _data: bytes, trunk: str, _windows: np.ndarray | None) -> SongTags:
    """Tags of the song whose bytes hash to ``digest``: from the transfer CNN's musicnn windows when it computed
    them (``_windows``), else decoded and extracted here."""
    if _windows is not None:
        return tag_patches(_windows, trunk, tagger=_tagger(trunk))
    samples = audio.load_audio(_data, musicnn.SAMPLE_RATE, name=name)
    return tag_song(samples, trunk, tagger=_tagger(trunk), name=name)


def _tags_section(index: int, digest: str, name: str, data: bytes, windows: np.ndarray | None) -> None:
    st.markdown("#### A second opinion: the pretrained network's own tags")
    tags = _song_tags(digest, name, data, DEFAULT_TAGGER, windows)
    st.markdown(
        f"**{tags.trunk}**, a network of the same package as the one under the real-music CNN, was trained on the "
        f"{tags.collection} to give these tags: genres, moods, voices and instruments, eras. This is its own "
        "opinion in its own words, not a GenreLens verdict: each tag is a separate yes/no guess, so they need not "
        "add up to 100 %."
    )
    widgets.show_figure(song_figures.tag_figure(tags), key=f"your_song.{index}.tags",
                       filename=f"tags_{Path(name).stem}")


def _model_column(index: int, name: str, model: _Model, outcome: ModelResult) -> None:
    """One model's column: its genres over time and a note on how it read the song, or why it could not."""
    if isinstance(outcome, Unclassified):
        st.info(f"**{md(model.label)}** cannot classify this song: {md(outcome.reason)}.",
                icon=":material/timer_off:")
        return
    widgets.show_figure(
        song_figures.genre_timeline_figure(
            outcome, highlight_window=_explained_window(index, model, outcome),
            title=f"{model.label} over time ({outcome.segment_seconds:g} s windows)",
        ),
        key=f"your_song.{index}.timeline.{model.role}", filename=f"timeline_{model.role}_{Path(name).stem}",
    )
    if outcome.note:
        st.caption(outcome.note)


# --- page --------------------------------------------------------------------------------------------------------
st.title("Your song")
st.markdown(INTRO)
chosen_folders = _chosen_folders()
_require_models(chosen_folders)
uploads = st.file_uploader(
    "Songs (WAV, MP3, OGG, FLAC or AU)", type=AUDIO_TYPES, accept_multiple_files=True, key=UPLOAD_KEY,
    help=f"Up to {audio.MAX_SONG_BYTES / 1024**2:,.0f} MB per song; the first {audio.MAX_DECODE_SECONDS / 60:g} minutes "
         "are classified. Kept in memory for this session only.",
)
if not uploads:
    st.info("Upload one or more songs to see how the models classify them.", icon=":material/upload:")
    st.stop()
chosen_models = _models(chosen_folders)
for song_index, song_upload in enumerate(uploads):
    st.divider()
    with widgets.errors_shown():
        _song(song_index, song_upload, chosen_models)

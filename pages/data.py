"""Data: choose and load the dataset, then explore how a sound becomes the features the models see."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import plotly.graph_objects as go
import streamlit as st

from genre_core import (
    archives, audio, audio_datasets, audio_figures, dataset_choice, datasets, features, musicnn, paths, score_views, synth,
    uploads,
)
from genre_core.config import LOG_MEL, MFCC, FeatureConfig
from genre_core.dataset import Dataset
from genre_core.errors import InputError
from genre_core.markdown import md
from pages import common, widgets

common.ensure_app_shell()

SEGMENT_CHOICES = (5, 10, 15)
N_MFCC_CHOICES = (13, 16, 20, 26)
N_MELS_CHOICES = (64, 128)
LOADED_MESSAGE_KEY = "data.loaded_message"  #: success line shown once after a load (the page reruns)
UNPACKED_UPLOAD_KEY = "data.unpacked_upload"  #: (file id of the uploaded zip, folder it was unpacked to)
#: Audio formats a browser plays from the file bytes; others are played from the decoded samples.
BROWSER_AUDIO = {".wav": "audio/wav", ".flac": "audio/flac", ".ogg": "audio/ogg", ".mp3": "audio/mpeg"}
INTRO = (
    "Every model here learns from a **dataset**: audio tracks sorted into genres, or features already computed from "
    "them. Choose a source and **Load / extract** it: audio is cut into windows and each window becomes the "
    "features the models read (a log-mel spectrogram for the CNN, 57 summary statistics for the FFN). Below, "
    "follow one track from its waveform and spectrum through the STFT and the mel filter bank to those features. "
    "The built-in demo is synthetic audio: good for learning the tools, not for judging them."
)
#: Source kind -> (label, placeholder) of its path input.
PATH_INPUTS = {
    dataset_choice.FOLDER: ("Folder with one subfolder of audio files per genre", "/data/gtzan/genres"),
    dataset_choice.CSV: ("Kaggle feature table (features_30_sec.csv or features_3_sec.csv)", "/data/features_30_sec.csv"),
    dataset_choice.NPY: ("Folder holding train/ and test/ (val/ optional), each with X.npy and labels.npy", "/data/splits"),
    dataset_choice.MFCC_JSON: ('MFCC JSON file {"mapping": [...], "labels": [...], "mfcc": [...]}', "/data/data_10.json"),
}


def _choice_index(choices: tuple[int, ...], value: int, default: int) -> int:
    return choices.index(value if value in choices else default)


def _uploaded_folder(active: dataset_choice.DatasetSpec) -> str | None:
    """The unpacked folder of the zip uploaded now (unpacked once per upload), else the active upload's."""
    uploaded = st.file_uploader(
        "Zip of a GTZAN-style folder (one subfolder of audio files per genre)", type=["zip"], key="data.upload",
        help=f"Unpacked on the server into your session's folder (at most {archives.MAX_UNPACKED_BYTES / 1e9:.0f} GB); "
             "a new upload replaces the previous one, and the folder is deleted a day after your session ends.",
    )
    if uploaded is None:
        return active.location if active.kind == dataset_choice.UPLOAD else None
    unpacked = st.session_state.get(UNPACKED_UPLOAD_KEY)
    if unpacked is None or unpacked[0] != uploaded.file_id:
        with st.spinner(f"Unpacking {md(uploaded.name)}…"):
            root = common.unpack_upload(uploaded, uploads.UPLOADED_DATASET)
        st.session_state[UNPACKED_UPLOAD_KEY] = (uploaded.file_id, str(root))
    return st.session_state[UNPACKED_UPLOAD_KEY][1]


def _location(kind: str, active: dataset_choice.DatasetSpec) -> str | None:
    """Where the chosen source is ("" for the demo); None until the user has given it."""
    if kind == dataset_choice.DEMO:
        st.caption(
            "Made from a fixed seed by `make run` before the app starts (or here on first use, once; then read from "
            "disk): synthetic 30 s "
            f"tracks of {', '.join(synth.DEMO_GENRES)}. Not real music: use it to learn the tools, not to judge them."
        )
        return ""
    if kind == dataset_choice.UPLOAD:
        return _uploaded_folder(active)
    label, placeholder = PATH_INPUTS[kind]
    default = active.location if active.kind == kind else ""
    text = st.text_input(label, value=default, placeholder=placeholder, key=f"data.path.{kind}").strip()
    if text:
        paths.confine(text, "dataset path")
    return text or None


def _feature_settings(base: FeatureConfig) -> FeatureConfig:
    """Windows per track, MFCC coefficients and mel bands, starting from ``base``."""
    defaults = FeatureConfig()
    segments_column, mfcc_column, mels_column = st.columns(3)
    segments = segments_column.selectbox(
        "Windows per 30 s track", SEGMENT_CHOICES, key="data.segments",
        index=_choice_index(SEGMENT_CHOICES, base.segments_per_track, defaults.segments_per_track),
        help="Each window is one training example: 10 gives 3 s windows.",
    )
    n_mfcc = mfcc_column.selectbox(
        "MFCC coefficients", N_MFCC_CHOICES, key="data.n_mfcc",
        index=_choice_index(N_MFCC_CHOICES, base.n_mfcc, defaults.n_mfcc),
    )
    n_mels = mels_column.selectbox(
        "Mel bands", N_MELS_CHOICES, key="data.n_mels", index=_choice_index(N_MELS_CHOICES, base.n_mels, defaults.n_mels),
    )
    return dataclasses.replace(base, segments_per_track=segments, n_mfcc=n_mfcc, n_mels=n_mels)


def _is_source_of_kind(location: str, kind: str) -> bool:
    """True when ``location`` exists and holds the kind of source ``kind`` names (checked without reading it)."""
    try:
        return datasets.source_kind(location) == dataset_choice.expected_source(kind)
    except InputError:
        return False


def _chosen_spec(kind: str, active: dataset_choice.DatasetSpec) -> dataset_choice.DatasetSpec | None:
    """The dataset the inputs describe, or None while something is missing."""
    location = _location(kind, active)
    if location is None:
        return None
    if kind not in dataset_choice.AUDIO_SOURCES:
        st.caption("This source holds ready-made features, not audio: the feature settings do not apply.")
        whole = dataset_choice.DatasetSpec(kind, location)
        if not _is_source_of_kind(location, kind):
            return whole  # Load / extract names what is wrong with it
        # its genres are known once it is read (shared between users; choosing a subset then costs nothing)
        available = list(common.load_dataset(whole).dataset.class_names)
    else:
        available = list(synth.DEMO_GENRES) if kind == dataset_choice.DEMO else sorted(audio_datasets.list_genre_files(location))
    default = [genre for genre in (active.genres or available) if genre in available] if active.kind == kind else available
    chosen = st.multiselect("Genres", available, default=default or available, key=f"data.genres.{kind}.{location}",
                            help="Train and evaluate on these genres only: e.g. blues and metal for a binary task "
                                 "(the Train page then offers a sigmoid output).")
    if not chosen:
        st.warning("Choose at least one genre (a classifier needs two to tell apart).")
        return None
    genres = None if len(chosen) == len(available) else tuple(sorted(chosen))
    if kind not in dataset_choice.AUDIO_SOURCES:
        return dataset_choice.DatasetSpec(kind, location, genres)
    return dataset_choice.DatasetSpec(kind, location, genres, _feature_settings(active.config))


def _load(spec: dataset_choice.DatasetSpec) -> None:
    """Load ``spec`` (progress bar), make it the session's dataset and rerun so the sidebar shows it."""
    loaded = common.load_dataset(spec)
    common.set_active_dataset(spec)
    dataset = loaded.dataset
    skipped = f"; {len(loaded.skipped)} file(s) skipped" if loaded.skipped else ""
    st.session_state[LOADED_MESSAGE_KEY] = (
        f"Loaded {md(spec.title)}: {dataset.n_classes} classes, {dataset.n_tracks} tracks, {len(dataset)} segments{skipped}."
    )
    st.rerun()


def _play(path: Path, samples: np.ndarray, sample_rate: int) -> None:
    mime = BROWSER_AUDIO.get(path.suffix.lower())
    if mime:
        st.audio(path.read_bytes(), format=mime)
    else:  # e.g. the .au files of the original GTZAN, which browsers cannot play
        st.audio(samples, sample_rate=sample_rate)


#: What `_whole_track_figure` draws: kind -> (figure function of (samples, rate, title=...), title).
WHOLE_TRACK_FIGURES = {"waveform": (audio_figures.waveform_figure, "Waveform"),
                       "spectrum": (audio_figures.spectrum_figure, "Spectrum of the whole track")}


def _whole_track_figure(kind: str, path: str, modified_ns: int, sample_rate: int) -> go.Figure:
    """The ``kind`` figure (`WHOLE_TRACK_FIGURES`) of the track at ``path`` at ``sample_rate`` Hz, for
    `widgets.cached_figure`: keyed on the file and its modification time (ns), not its 661k samples (Streamlit
    hashes arrays that large on a sample of them only). The spectrum takes ~0.27 s to build at load ~7."""
    figure, title = WHOLE_TRACK_FIGURES[kind]
    return figure(common.track_samples(path, sample_rate), sample_rate, title=title)


def _musicnn_input_figure(window: np.ndarray, start_seconds: float) -> go.Figure:
    """The musicnn networks' log-mel input of ``window`` (samples at their 16 kHz) drawn from ``start_seconds``."""
    return audio_figures.log_mel_figure(features.log_mel(window, musicnn.FEATURES), musicnn.FEATURES,
                                        start_seconds=start_seconds, title="The pretrained networks' input (musicnn)")


def _explore_track(dataset: Dataset) -> None:
    """Audio player and the chain waveform → spectrum → STFT → mel filters → log-mel → MFCC for one track."""
    config = dataset.feature_config
    genre_of = dict(zip(dataset.track_ids.tolist(), np.asarray(dataset.class_names)[dataset.labels].tolist()))
    track = st.selectbox("Track", sorted(dataset.audio_paths), format_func=lambda t: f"{t} ({genre_of[t]})",
                         key="data.track")
    path = Path(dataset.audio_paths[track])
    samples = common.track_samples(path, config.sample_rate)
    rate, modified_ns = config.sample_rate, path.stat().st_mtime_ns
    left, right = st.columns(2)
    with left:
        _play(path, samples, rate)
        widgets.show_figure(widgets.cached_figure(_whole_track_figure, "waveform", str(path), modified_ns, rate),
                            "waveform", f"{track}-waveform")
        st.caption("The signal itself: air pressure over time. Loud passages are tall; when zoomed out each stroke "
                   "spans the lowest to the highest sample of a few milliseconds, so drum hits show as spikes.")
    with right:
        widgets.show_figure(widgets.cached_figure(_whole_track_figure, "spectrum", str(path), modified_ns, rate),
                            "spectrum", f"{track}-spectrum")
        st.caption("How strongly each frequency occurs over the whole track (FFT). The log axis gives every octave "
                   "the same width, as we hear it: bass on the left, cymbals and hiss on the right.")
    rows = np.flatnonzero(dataset.track_ids == track)
    rows = rows[np.argsort(dataset.segment_index[rows])]
    seconds = config.segment_seconds
    window_labels = [f"window {index}: {index * seconds:.1f}–{(index + 1) * seconds:.1f} s"
                     for index in dataset.segment_index[rows]]
    position = st.selectbox("Window (what one training example holds)", range(len(rows)),
                            format_func=window_labels.__getitem__, key=f"data.window.{track}")
    row = rows[position]
    segment = int(dataset.segment_index[row])
    start = segment * seconds
    window = audio.segment_audio(samples, config)[segment]
    frame_ms, hop_ms = 1000 * config.n_fft / rate, 1000 * config.hop_length / rate
    left, right = st.columns(2)
    with left:
        widgets.show_figure(
            widgets.cached_figure(audio_figures.stft_figure, window, rate, config.n_fft, config.hop_length,
                                  start_seconds=start, title="STFT spectrogram"), "stft", f"{track}-w{segment}-stft")
        st.caption(f"The spectrum frame by frame ({frame_ms:.0f} ms frames every {hop_ms:.0f} ms): time runs to the "
                   "right, pitch upwards, brightness is loudness in dB. Notes are horizontal lines, drums vertical.")
    with right:
        widgets.show_figure(widgets.cached_figure(audio_figures.mel_filterbank_figure, rate, config.n_fft,
                                                  config.n_mels, title="Mel filter bank"), "mel-filters", "mel-filters")
        st.caption(f"The {config.n_mels} triangular filters that pool STFT bins into mel bands: narrow at low "
                   "frequencies and wide at high ones, like the ear's finer pitch resolution for low sounds.")
    left, right = st.columns(2)
    with left:
        if LOG_MEL in dataset.features:
            widgets.show_figure(widgets.cached_figure(audio_figures.log_mel_figure, dataset.features[LOG_MEL][row], config,
                                                      start_seconds=start, title="Log-mel spectrogram"),
                               "log-mel", f"{track}-w{segment}-log-mel")
            st.caption(f"The STFT pooled by those filters, in dB: this {config.n_mels} × "
                       f"{config.frames_per_segment} image is exactly what the CNN classifies for this window.")
    with right:
        if MFCC in dataset.features:
            widgets.show_figure(widgets.cached_figure(audio_figures.mfcc_figure, dataset.features[MFCC][row], config,
                                                      start_seconds=start, title="MFCCs"), "mfcc", f"{track}-w{segment}-mfcc")
            st.caption("A compact description of each log-mel frame's shape: coefficient 0 is loudness, the next few "
                       "the broad spectral envelope (timbre). The FFN's summary features are averages of such rows.")
    _musicnn_input(path, track, start)


def _musicnn_input(path: Path, track: str, start_seconds: float) -> None:
    """The same moment as the pretrained musicnn networks (and the transfer CNNs built on them) hear it."""
    config = musicnn.FEATURES
    samples = common.track_samples(path, config.sample_rate)
    first = int(round(start_seconds * config.sample_rate))
    window = samples[first : first + config.segment_samples]
    if len(window) < config.segment_samples // 2:
        return
    left, right = st.columns(2)
    with left:
        widgets.show_figure(widgets.cached_figure(_musicnn_input_figure, window, start_seconds), "musicnn-input",
                            f"{track}-musicnn-input")
    with right:
        st.markdown("**Beside the usual log-mel: what the pretrained networks hear**")
        st.caption(
            f"The transfer CNNs (`transfer_vgg`, `cnn_gtzan_transfer`, …) reuse networks trained by others, so they "
            f"must see exactly what those were trained on: {config.sample_rate // 1000} kHz audio (so nothing above "
            f"{config.sample_rate // 2000} kHz), {config.n_mels} mel bands, {config.frames_per_segment} frames "
            f"({config.segment_seconds:.3f} s), and `log10(1 + 10000·mel)` instead of decibels, which squashes "
            "loud and quiet alike but never goes negative. Same music, another picture of it: features are a "
            "contract between the audio and the network."
        )


def _explore_features(dataset: Dataset) -> None:
    """For sources without audio: summary statistics of every feature and its distribution per genre."""
    table = audio_figures.feature_table(dataset)
    st.subheader("Features")
    st.caption(f"{len(table)} rows; matrices (MFCC, log-mel) are averaged over time. Statistics of every column:")
    st.dataframe(table.describe().T)
    widgets.table_download(table, "features")
    feature = st.selectbox("Feature", list(table.columns[2:]), key="data.feature")
    widgets.show_figure(
        audio_figures.feature_distribution_figure(table[feature].to_numpy(), table["genre"].to_numpy(dtype=str),
                                                  feature, title=f"{feature} per genre"),
        "feature-distribution", f"{feature}-per-genre",
    )
    st.caption("Each box spans the middle half of a genre's values (line: median, dashes: mean); where boxes of two "
               "genres do not overlap, this feature alone tells them apart.")


def _files_per_genre(dataset: Dataset) -> None:
    """How many files (tracks) or segments each genre has, as a pie or a bar chart."""
    unit_column, kind_column = st.columns(2)
    unit = unit_column.radio("Count", ["tracks", "segments"], horizontal=True, key="data.count_unit",
                             format_func=lambda unit: "files (tracks)" if unit == "tracks" else "segments (rows)")
    kind = kind_column.radio("Chart", [score_views.PIE, score_views.BAR], horizontal=True, key="data.count_chart")
    counts = score_views.files_per_genre(dataset)
    widgets.show_figure(score_views.files_per_genre_figure(counts, kind=kind, unit=unit), "class-distribution",
                       f"{unit}-per-genre")
    if counts[unit].nunique() > 1:
        st.caption("The genres are not equally large: accuracy favours the big ones, so read the per-class scores "
                   "and the macro average on the Evaluate page too.")


def _explore() -> None:
    loaded = common.active_dataset()
    if loaded is None:
        st.info("Load a dataset above to explore it.")
        return
    dataset = loaded.dataset
    st.header(f"Explore: {md(common.active_dataset_spec().title)}")
    common.show_synthetic_badge()
    st.caption(dataset.source)
    classes, tracks, segments, kinds = st.columns(4)
    classes.metric("Classes", dataset.n_classes)
    tracks.metric("Tracks", dataset.n_tracks)
    segments.metric("Segments (rows)", len(dataset))
    kinds.metric("Feature kinds", len(dataset.features),
                 help=", ".join(f"{kind} {values.shape[1:]}" for kind, values in dataset.features.items()))
    if loaded.skipped:
        with st.expander(f"{len(loaded.skipped)} file(s) could not be read and were skipped"):
            st.code("\n".join(loaded.skipped), language=None)
    _files_per_genre(dataset)
    if dataset.audio_paths and dataset.feature_config is not None:
        _explore_track(dataset)
    else:
        _explore_features(dataset)


st.title("Data")
common.show_synthetic_badge()
st.markdown(INTRO)
message = st.session_state.pop(LOADED_MESSAGE_KEY, None)
if message:
    st.success(message)
active_spec = common.active_dataset_spec()
kinds = list(dataset_choice.SOURCE_LABELS)
source_kind = st.radio("Source", kinds, index=kinds.index(active_spec.kind), format_func=dataset_choice.SOURCE_LABELS.get,
                       horizontal=True, key="data.source")
chosen_spec = None
with widgets.errors_shown():
    chosen_spec = _chosen_spec(source_kind, active_spec)
if st.button("Load / extract", type="primary", disabled=chosen_spec is None, key="data.load"):
    with widgets.errors_shown():
        _load(chosen_spec)
st.divider()
with widgets.errors_shown():
    _explore()

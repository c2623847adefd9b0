"""Shared UI layer of the GenreLens pages: per-user state, cached loaders, progress, errors, figures, downloads.

Pure glue between Streamlit and `genre_core`; nothing here computes features or trains. No state lives at
module level: each user's choices are in `st.session_state` (the ``*_KEY`` constants), things shared by all
users (loaded datasets, model bundles) in `st.cache_resource` and are read-only: never mutate a `Dataset`
or a `ModelBundle` you get from here (use ``dataset.subset`` / ``dataclasses.replace`` for a changed copy).

Loading a model imports TensorFlow, so it happens only in `load_bundle`; listing bundles reads their
``bundle.json`` only (`genre_core.bundles` imports TensorFlow only when it loads or saves a model).

Uploaded zip archives are unpacked into ``paths.DATA_DIR/uploads/<session folder id>/``, one folder per browser
session: a dataset zip (Data page) into its ``dataset/``, a bundle zip (Train page) into its ``bundle/``, each
replaced by the session's next upload of its kind. The audio stays on disk, not in memory, because a `Dataset`
refers to its tracks by path (`Dataset.audio_paths`: playback, figures, re-extraction). Every script run of a
session marks its folder as in use (`keep_upload_alive`); whenever a session unpacks a zip, the folders not in use
for `UPLOAD_MAX_IDLE_S` (a day), i.e. those of ended sessions, are removed (`unpack_upload`). Streamlit's
end-of-session hook (a session-scoped `st.cache_resource`) is not used: it also fires when a browser loses its
connection for a moment and then resumes the same session, which would find its dataset's audio gone.

``GENRELENS_DEMO_TRACKS`` (environment, read at each load) sets the tracks per genre of the generated demo
(default: `genre_core.synth`'s 25); tests use 1 to stay fast. ``make run`` builds the demo and its features
before the server starts (``python -m genre_core demo``), so the app reads them from the cache.
"""

from __future__ import annotations

import contextlib
import contextvars
import json
import os
import re
import runpy
import sys
import threading
import traceback
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from genre_core import archives, atomic, bundle_files, datasets, jobs, model_figures, paths, stamps, train_job
from genre_core.config import LOG_MEL, FeatureConfig
from genre_core.dataset import Dataset
from genre_core.errors import GenreLensError, InputError
from genre_core.evaluation import EvaluationReport

if TYPE_CHECKING:
    from streamlit.delta_generator import DeltaGenerator
    from streamlit.runtime.uploaded_file_manager import UploadedFile

    from genre_core.bundles import ModelBundle
    from genre_core.reports import BundleEvaluation

T = TypeVar("T")

# --- session state keys --------------------------------------------------------------------------------
DATASET_SPEC_KEY = "genrelens.dataset_spec"  #: `DatasetSpec` of the active dataset
DATASET_READY_KEY = "genrelens.dataset_ready"  #: True once this session has loaded the active dataset
UPLOAD_FOLDER_KEY = "genrelens.upload_folder_id"  #: random id naming this session's upload folder
UPLOAD_MAX_IDLE_S = 24 * 3600  #: an upload folder not in use for this long belongs to an ended session
UPLOADED_DATASET, UPLOADED_BUNDLE = "dataset", "bundle"  #: subfolders of a session's upload folder
FFN, CNN = "FFN", "CNN"  #: the two model roles of the app
BUNDLE_KEYS = {FFN: "genrelens.ffn_bundle", CNN: "genrelens.cnn_bundle"}  #: role -> key of the bundle folder (str)
BROWSE_GENRE_KEY = "browse.genre"  #: the genre whose segments Browse shows
BROWSE_PART_KEY = "browse.part"  #: the part of the split Browse shows
BROWSE_SELECTED_KEY = "browse.selected"  #: {"row": dataset row, "track_id": its track} of Browse's chosen segment

# --- dataset sources -----------------------------------------------------------------------------------
DEMO, FOLDER, UPLOAD, CSV, NPY, MFCC_JSON = "demo", "folder", "upload", "csv", "npy", "json"
#: Source kind -> how the Data page names it.
SOURCE_LABELS = {
    DEMO: "Built-in demo (synthetic)",
    FOLDER: "GTZAN-style folder",
    UPLOAD: "Uploaded zip",
    CSV: "Kaggle feature CSV",
    NPY: ".npy split folders",
    MFCC_JSON: "MFCC JSON",
}
AUDIO_SOURCES = (DEMO, FOLDER, UPLOAD)
DEMO_TRACKS_ENV = datasets.DEMO_TRACKS_ENV
SIDEBAR_DATASET_KEY = "genrelens.sidebar_dataset"  #: this run's sidebar slot of the dataset line (app.py fills it)
MAX_SHARED_DATASETS = 3  #: loaded datasets kept in memory for all users (the oldest is dropped first)

# --- bundles -------------------------------------------------------------------------------------------
#: Role -> pretrained bundle names to use by default, in order of preference.
DEFAULT_BUNDLES = {FFN: ("ffn_demo", "ffn_gtzan_features"), CNN: ("cnn_demo", "cnn_gtzan_transfer", "cnn_gtzan_mini")}
#: What the sidebar says of a shipped bundle besides its name.
PRETRAINED_ROLES = {
    "cnn_gtzan_transfer": "real music: transfer from musicnn",
    "cnn_gtzan_mini": "from-scratch comparison",
    "ffn_gtzan_features": "real music: Kaggle GTZAN table",
    "ffn_demo": "synthetic demo",
    "cnn_demo": "synthetic demo",
}

# --- uploads -------------------------------------------------------------------------------------------


# ======================================================================================= datasets ======
@dataclass(frozen=True)
class DatasetSpec:
    """Which dataset a user chose: enough to load it again, and its cache identity.

    ``kind`` is one of `SOURCE_LABELS`; ``location`` is the file or folder path (unused for the demo, the
    unpacked root for an upload); ``genres`` the chosen genres, sorted (None: all); ``config`` the feature
    settings (used by audio sources only).
    """

    kind: str = DEMO
    location: str = ""
    genres: tuple[str, ...] | None = None
    config: FeatureConfig = FeatureConfig()

    @property
    def has_audio(self) -> bool:
        return self.kind in AUDIO_SOURCES

    @property
    def title(self) -> str:
        """Short name for headings and the sidebar."""
        if self.kind == DEMO:
            return SOURCE_LABELS[DEMO]
        return f"{SOURCE_LABELS[self.kind]}: {Path(self.location).name or self.location}"

    def source_path(self) -> Path:
        """The file or folder whose contents make the dataset (the demo folder for the demo)."""
        return paths.DEMO_DIR if self.kind == DEMO else Path(self.location).expanduser()


@dataclass(frozen=True)
class LoadedDataset:
    """A loaded dataset and the ``"<path>: <reason>"`` lines of the files it had to skip."""

    dataset: Dataset
    skipped: tuple[str, ...] = ()


@dataclass
class _SharedDatasets:
    """Loaded datasets of all sessions by `dataset_key`, newest last (held by `st.cache_resource`)."""

    entries: dict[tuple[Any, ...], LoadedDataset] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def get(self, key: tuple[Any, ...]) -> LoadedDataset | None:
        with self.lock:
            return self.entries.get(key)

    def put(self, key: tuple[Any, ...], loaded: LoadedDataset) -> None:
        with self.lock:
            self.entries.pop(key, None)
            self.entries[key] = loaded
            while len(self.entries) > MAX_SHARED_DATASETS:
                self.entries.pop(next(iter(self.entries)))


@st.cache_resource(show_spinner=False)
def _shared_datasets() -> _SharedDatasets:
    """The process-wide dataset store. Datasets are stored here rather than returned by a cached loader
    because loading reports progress, and Streamlit cannot replay progress bars of a cached function."""
    return _SharedDatasets()


def dataset_key(spec: DatasetSpec) -> tuple[Any, ...]:
    """Cache identity of a dataset: the spec, the feature-settings fingerprint, the demo size and the stamp
    of the source files, so changed files or settings are never served from an old entry."""
    demo_size = os.environ.get(DEMO_TRACKS_ENV, "") if spec.kind == DEMO else ""
    return (spec.kind, spec.location, spec.genres, spec.config.fingerprint(), demo_size, stamps.source_stamp(spec.source_path()))


#: The source kind `datasets.load_dataset` must find for each kind the Data page offers (an upload may hold any).
EXPECTED_SOURCES = {DEMO: datasets.DEMO_SOURCE, FOLDER: datasets.AUDIO_FOLDER, CSV: datasets.KAGGLE_CSV,
                    NPY: datasets.NPY_FOLDERS, MFCC_JSON: datasets.MFCC_JSON}


def _load(spec: DatasetSpec, progress: StatusProgress) -> LoadedDataset:
    """Read or extract the dataset of ``spec`` with `datasets.load_dataset` (no caching here;
    `genre_core.extraction` caches extracted features on disk). `InputError` when the location is another
    kind of source than the one chosen (a folder of songs given as a feature table would start an extraction)."""
    if spec.kind not in SOURCE_LABELS:
        raise InputError("dataset source", f"unknown kind '{spec.kind}'")
    location = "demo" if spec.kind == DEMO else spec.location
    found, expected = datasets.source_kind(location), EXPECTED_SOURCES.get(spec.kind)
    if expected is not None and found != expected:
        raise InputError(spec.location, f"is {found}, not {expected}: choose that source kind, or another path")
    dataset, skipped = datasets.load_dataset(
        location, spec.config, genres=spec.genres, progress=progress, phase=progress.phase, cache_dir=paths.CACHE_DIR,
        demo_folder=paths.DEMO_DIR, demo_tracks=datasets.demo_size_from_environment().get("tracks_per_genre"),
    )
    return LoadedDataset(dataset, tuple(skipped))


def load_dataset(spec: DatasetSpec) -> LoadedDataset:
    """The dataset of ``spec``: from the shared store, or loaded with a progress bar and stored.

    Raises `InputError` (or another `GenreLensError`) for an unusable source; show it with `user_error`.
    """
    shared = _shared_datasets()
    found = shared.get(dataset_key(spec))
    if found is not None:
        return found
    slot = st.session_state.get(SIDEBAR_DATASET_KEY)
    if slot is not None:  # the sidebar, drawn before the page, says what is happening now
        slot.markdown(f"**{md(spec.title)}**: loading now (progress on the page)…")
    loaded = run_with_progress(f"Loading {md(spec.title)}", lambda progress: _load(spec, progress))
    shared.put(dataset_key(spec), loaded)  # keyed after loading: the demo folder may have just been made
    return loaded


# ===================================================================================== app shell ======
_IN_APP = contextvars.ContextVar("genrelens_in_app", default=False)  #: True while app.py runs the page


@contextlib.contextmanager
def app_shell() -> Iterator[None]:
    """app.py runs the chosen page inside this, so that `ensure_app_shell` knows the page runs in the app."""
    token = _IN_APP.set(True)
    try:
        yield
    finally:
        _IN_APP.reset(token)


@st.cache_resource(show_spinner=False)
def recover_workspace() -> list[str]:
    """Once per server: recover the leftovers of a bundle save that a crash interrupted in the workspace (a
    stranded old bundle goes back under its name), each logged as a warning; returns those notes."""
    return atomic.recover_leftovers(paths.WORKSPACE_MODELS_DIR)


def ensure_app_shell() -> None:
    """Run the page inside app.py's navigation and sidebar (every page calls this first).

    Streamlit treats a ``pages/`` folder beside the main script as a legacy multipage app, running
    ``pages/<name>.py`` on its own, until some session has called ``st.navigation`` (Streamlit 1.67 decides this
    from the folder's existence when the server starts; page functions registered with ``st.Page`` do not
    change it). So a direct link to a page on a fresh server runs the page alone. Then run app.py here, in this
    same script run (a rerun would drop a button click that started it): its ``st.navigation`` ends the legacy
    mode for the whole server (documented behaviour) and runs this page inside the app; then stop.
    """
    if not _IN_APP.get():
        runpy.run_path(str(paths.PROJECT_ROOT / "app.py"), run_name="__main__")
        st.stop()


# =================================================================================== session state ======
def init_state() -> None:
    """Give this session its defaults (idempotent): the demo with default settings, not yet loaded; the
    default pretrained bundles (`DEFAULT_BUNDLES`) where present; an upload folder id."""
    state = st.session_state
    state.setdefault(DATASET_SPEC_KEY, DatasetSpec())
    state.setdefault(DATASET_READY_KEY, False)
    state.setdefault(UPLOAD_FOLDER_KEY, uuid.uuid4().hex)
    for role, key in BUNDLE_KEYS.items():
        state.setdefault(key, default_bundle_folder(role))


def active_dataset_spec() -> DatasetSpec:
    init_state()
    return st.session_state[DATASET_SPEC_KEY]


def set_active_dataset(spec: DatasetSpec) -> None:
    """Make ``spec`` (already loaded with `load_dataset`) this session's dataset."""
    init_state()
    st.session_state[DATASET_SPEC_KEY] = spec
    st.session_state[DATASET_READY_KEY] = True


def active_dataset() -> LoadedDataset | None:
    """This session's dataset, loading it again (with progress) if the shared store dropped it;
    None until the session has loaded one on the Data page."""
    init_state()
    if not st.session_state[DATASET_READY_KEY]:
        return None
    return load_dataset(active_dataset_spec())


def peek_active_dataset() -> LoadedDataset | None:
    """This session's dataset if it is loaded and in the shared store; never loads anything."""
    init_state()
    if not st.session_state[DATASET_READY_KEY]:
        return None
    return _shared_datasets().get(dataset_key(active_dataset_spec()))


def active_or_default_dataset() -> LoadedDataset | None:
    """This session's dataset; when the session has chosen none, the default built-in demo, generated and
    extracted on first use with a progress bar (so every page shows something real on a fresh machine)."""
    init_state()
    if not st.session_state[DATASET_READY_KEY] and active_dataset_spec().kind == DEMO:
        load_dataset(active_dataset_spec())
        st.session_state[DATASET_READY_KEY] = True
        st.rerun()  # so the sidebar, drawn before the page, shows the loaded demo too
    return active_dataset()


def require_dataset() -> LoadedDataset:
    """For pages that need data: the active dataset (the demo by default), or a pointer to the Data page
    and `st.stop()`."""
    with errors_shown():
        loaded = active_or_default_dataset()
        if loaded is not None:
            return loaded
        st.info("No dataset is loaded yet: choose and load one on the Data page.")
        st.page_link("pages/data.py", label="Open the Data page", icon=":material/database:")
    st.stop()


def describe_dataset(spec: DatasetSpec, loaded: LoadedDataset | None) -> str:
    """One markdown line: what the dataset is and, once loaded, its classes, tracks and segments."""
    if loaded is None:
        return f"**{md(spec.title)}**, not loaded yet: the pages that need data load it, or choose one on the Data page"
    dataset = loaded.dataset
    return (
        f"**{md(spec.title)}**: {dataset.n_classes} classes ({md(', '.join(dataset.class_names))}), "
        f"{dataset.n_tracks} tracks, {len(dataset)} segments"
    )


def show_synthetic_badge(container: DeltaGenerator | None = None) -> None:
    """An orange SYNTHETIC badge in ``container`` (default: the page) while the active dataset is the demo."""
    loaded = peek_active_dataset()
    if loaded.dataset.synthetic if loaded else active_dataset_spec().kind == DEMO:
        (container or st).badge(
            "SYNTHETIC", icon=":material/science:", color="orange",
            help="Generated audio, not recordings of real music: scores on it say nothing about real genres.",
        )


# =========================================================================================== bundles ======
def role_of(feature_kind: str) -> str:
    """The app slot a model of ``feature_kind`` fills: `CNN` for log-mel models, `FFN` for the summary and
    MFCC feature models."""
    return CNN if feature_kind == LOG_MEL else FFN


@dataclass(frozen=True)
class BundleInfo:
    """What the sidebar shows of a bundle, read from its ``bundle.json`` without loading the model."""

    folder: str
    name: str
    feature_kind: str
    class_names: tuple[str, ...]
    test_accuracy: float | None
    pretrained: bool

    @property
    def role(self) -> str:
        return role_of(self.feature_kind)

    @property
    def label(self) -> str:
        if self.pretrained:
            role = PRETRAINED_ROLES.get(Path(self.folder).name)
            return f"{self.name} (pretrained{': ' + role if role else ''})"
        return f"{self.name} (workspace)"


def _dig(values: Any, *keys: str) -> Any:
    """``values[k1][k2]...``, or None where a level is missing or not a dict."""
    for key in keys:
        if not isinstance(values, dict):
            return None
        values = values.get(key)
    return values


def _test_accuracy(metrics: Any) -> float | None:
    """Test accuracy from a bundle's metrics: a flat ``{"accuracy": a}`` or an evaluation report
    (``parts.test.segment_metrics.accuracy``); None when absent."""
    for value in (_dig(metrics, "accuracy"), _dig(metrics, "parts", "test", "segment_metrics", "accuracy")):
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return float(value)
    return None


@st.cache_data(show_spinner=False, max_entries=64)
def _bundle_info(folder: str, metadata_mtime_ns: int, pretrained: bool) -> BundleInfo:
    """Read one ``bundle.json`` (cached per modification time)."""
    path = Path(folder) / bundle_files.METADATA_FILE
    try:
        values = json.loads(path.read_text(encoding="utf-8"))
        return BundleInfo(
            folder=folder,
            name=str(values.get("name") or Path(folder).name),
            feature_kind=str(values["feature_kind"]),
            class_names=tuple(str(name) for name in values["class_names"]),
            test_accuracy=_test_accuracy(values.get("metrics")),
            pretrained=pretrained,
        )
    except (OSError, UnicodeDecodeError, json.JSONDecodeError, KeyError, TypeError, AttributeError,
            RecursionError) as error:
        raise InputError(folder, f"{bundle_files.METADATA_FILE} is unreadable ({type(error).__name__})") from None


def scan_bundles() -> tuple[list[BundleInfo], list[str]]:
    """Bundles in `paths.PRETRAINED_DIR` then `paths.WORKSPACE_MODELS_DIR` (folders with a ``bundle.json``,
    hidden ones skipped), and one ``"<folder>: <reason>"`` line per bundle whose metadata is unreadable."""
    found: list[BundleInfo] = []
    problems: list[str] = []
    for root, pretrained in ((paths.PRETRAINED_DIR, True), (paths.WORKSPACE_MODELS_DIR, False)):
        for folder in bundle_files.list_bundles(root):
            try:
                metadata = folder / bundle_files.METADATA_FILE
                found.append(_bundle_info(str(folder.resolve()), metadata.stat().st_mtime_ns, pretrained))
            except (InputError, OSError) as error:
                problems.append(str(error))
    return found, problems


def default_bundle_folder(role: str) -> str | None:
    """The first pretrained bundle of `DEFAULT_BUNDLES` for ``role`` that exists, as a resolved path."""
    for name in DEFAULT_BUNDLES[role]:
        folder = paths.PRETRAINED_DIR / name
        if (folder / bundle_files.METADATA_FILE).is_file():
            return str(folder.resolve())
    return None


def active_bundle_folder(role: str) -> str | None:
    """This session's bundle folder for ``role`` (`FFN` or `CNN`); None if none is chosen or it vanished."""
    init_state()
    folder = st.session_state[BUNDLE_KEYS[role]]
    return folder if folder and (Path(folder) / bundle_files.METADATA_FILE).is_file() else None


def set_active_bundle(role: str, folder: str | Path | None) -> None:
    """Make ``folder`` this session's ``role`` bundle (the sidebar follows on the next run)."""
    init_state()
    st.session_state[BUNDLE_KEYS[role]] = None if folder is None else str(Path(folder).resolve())


def active_bundle_info(role: str) -> BundleInfo | None:
    """What `scan_bundles` knows of this session's ``role`` bundle; None when none is chosen."""
    folder = active_bundle_folder(role)
    return next((info for info in scan_bundles()[0] if info.folder == folder), None)


@st.cache_resource(show_spinner="Loading the model…", max_entries=8)
def _cached_bundle(folder: str, metadata_mtime_ns: int) -> ModelBundle:
    from genre_core import bundles  # imports TensorFlow: only when a page needs a model

    return bundles.load_bundle(folder)


def load_bundle(folder: str | Path) -> ModelBundle:
    """The bundle in ``folder``, loaded once per ``bundle.json`` modification and shared (read-only)."""
    folder = Path(folder).resolve()
    metadata = folder / bundle_files.METADATA_FILE
    return _cached_bundle(str(folder), metadata.stat().st_mtime_ns if metadata.is_file() else -1)


def active_bundle(role: str) -> ModelBundle | None:
    """This session's loaded ``role`` bundle, or None when none is chosen."""
    folder = active_bundle_folder(role)
    return None if folder is None else load_bundle(folder)


def require_active_bundle(role: str) -> tuple[str, ModelBundle]:
    """The active ``role`` (FFN or CNN) bundle folder and the loaded bundle; without one, a pointer to the
    sidebar and the Train page, or the load error, then `st.stop()`."""
    folder = active_bundle_folder(role)
    if folder is None:
        st.info(f"No {role} model is active: choose one in the sidebar, or train one on the Train page.")
        st.page_link("pages/train.py", label="Open the Train page", icon=":material/model_training:")
        st.stop()
    with errors_shown():
        return folder, load_bundle(folder)
    st.stop()


def describe_bundle(info: BundleInfo | None) -> str:
    """One line: classes and test accuracy of a bundle (or that there is none)."""
    if info is None:
        return "no model chosen"
    accuracy = "not evaluated" if info.test_accuracy is None else f"test accuracy {info.test_accuracy:.1%}"
    return f"{info.feature_kind} model, {len(info.class_names)} classes ({md(', '.join(info.class_names))}), {accuracy}"


# ============================================================================================ uploads ======
def session_upload_dir() -> Path:
    """This session's upload folder, ``paths.DATA_DIR/uploads/<session folder id>``, holding the unpacked zips
    (`UPLOADED_DATASET`, `UPLOADED_BUNDLE`)."""
    init_state()
    return paths.DATA_DIR / "uploads" / st.session_state[UPLOAD_FOLDER_KEY]


def keep_upload_alive() -> None:
    """Mark this session's upload folder, if it has one, as in use now (its modification time), so that other
    sessions do not remove it (app.py calls this on every script run)."""
    with contextlib.suppress(FileNotFoundError):
        os.utime(session_upload_dir())


def unpack_upload(uploaded: UploadedFile, part: str, max_bytes: int = archives.MAX_UNPACKED_BYTES) -> Path:
    """Unpack the uploaded zip into the subfolder ``part`` (`UPLOADED_DATASET` or `UPLOADED_BUNDLE`) of this
    session's upload folder, replacing what it held, and return the folder that holds its contents (see
    `archives.unpack_zip`, which also says what ``max_bytes`` bounds). First removes the other sessions' upload
    folders that have not been in use for `UPLOAD_MAX_IDLE_S`; the server's upload quota bounds what it may add
    (`archives.space_left`)."""
    folder = session_upload_dir()
    archives.remove_stale_folders(folder.parent, keep=folder.name, max_idle_s=UPLOAD_MAX_IDLE_S)
    left = archives.space_left(folder.parent, excluding=folder / part)
    return archives.unpack_zip(uploaded, folder / part, name=uploaded.name, max_bytes=max_bytes, space_left=left)


# =============================================================================================== jobs ======
USER_PARAM = "user"  #: URL query parameter holding this browser's user id (it owns the browser's jobs)
USER_KEY = "genrelens.user"  #: the same id in the session, to put it back in a URL that lost it


def user_id() -> str:
    """This browser's user id: from the URL's ``?user=`` when it holds one (so a reload, or a second tab with
    the same URL, is the same user), else this session's, else a new random one; always written back to the
    URL (app.py calls this on every run). Whoever has the URL acts as this user: it is not a login."""
    given = st.query_params.get(USER_PARAM, "")
    if len(given) == 32 and all(char in "0123456789abcdef" for char in given):
        user = given
    else:
        user = st.session_state.get(USER_KEY) or uuid.uuid4().hex
    st.session_state[USER_KEY] = user
    if given != user:
        st.query_params[USER_PARAM] = user
    return user


@st.cache_resource(show_spinner=False)
def _job_manager(root: str) -> jobs.JobManager:
    """One job manager per server process and job folder (creating it marks an earlier server's unfinished
    jobs as interrupted)."""
    return jobs.JobManager(jobs.JobStore(root), jobs.JobLimits.from_env())


def job_manager() -> jobs.JobManager:
    """The server's `jobs.JobManager` over ``paths.DATA_DIR/jobs``."""
    return _job_manager(str(paths.DATA_DIR / "jobs"))


def job_dataset_source(spec: DatasetSpec) -> train_job.DatasetSource:
    """Where a job's worker process finds the dataset of ``spec``: the same files, settings and feature cache
    (so it loads what this page shows, from the cache)."""
    demo = spec.kind == DEMO
    return train_job.DatasetSource(
        location="demo" if demo else spec.location, feature_config=spec.config, genres=spec.genres,
        cache_dir=str(paths.CACHE_DIR), demo_folder=str(paths.DEMO_DIR) if demo else None,
        demo_tracks=datasets.demo_size_from_environment().get("tracks_per_genre") if demo else None,
    )


# ================================================================================ progress and errors ======
#: Characters that format text anywhere in a line of Streamlit's Markdown (emphasis, code, links and
#: ``:colour[...]`` directives, HTML, strikethrough, LaTeX ``$``, table pipes); escaped in text users supplied.
MARKDOWN_INLINE = re.compile(r"([\\`*_\[\]<>~$|])")
#: What turns a line into a heading, list item, quote or rule when it starts the line (``# ``, ``- ``, ``1. ``).
MARKDOWN_LINE_START = re.compile(r"^(\s*\d*)([#+\-=.)])", re.MULTILINE)


def md(text: object) -> str:
    """``text`` (a file name, track id, class or model name, an error naming a path) safe to put in Markdown:
    shown exactly as written (``admiralbob77_-_Choice_-_Drum-bass.ogg`` without italics)."""
    escaped = MARKDOWN_INLINE.sub(r"\\\1", str(text))
    return MARKDOWN_LINE_START.sub(r"\1\\\2", escaped)


@dataclass
class StatusProgress:
    """The progress callback `run_with_progress` gives its task: ``progress(done, total)`` moves the bar (the
    callback shape of `genre_core`), ``progress.phase(label)`` names the pass under way, shown before the counts."""

    bar: Any  #: the `st.progress` element
    label: str = ""

    def __call__(self, done: int, total: int) -> None:
        counts = f"{done} / {total}"
        self.bar.progress(min(done / total, 1.0) if total > 0 else 1.0,
                          text=f"{self.label}: {counts}" if self.label else counts)

    def phase(self, label: str) -> None:
        self.label = label
        self.bar.progress(0.0, text=f"{label}…")


def run_with_progress(label: str, task: Callable[[StatusProgress], T]) -> T:
    """Run ``task(progress)`` inside an `st.status` box with a progress bar moved by ``progress(done, total)``
    and labelled by ``progress.phase(label)`` (`StatusProgress`); the box turns to done, or to failed before
    re-raising."""
    with st.status(label, expanded=True) as status:
        report = StatusProgress(st.progress(0.0, text="starting…"))
        try:
            result = task(report)
        except Exception:
            status.update(label=f"{label}: failed", state="error", expanded=False)
            raise
        status.update(label=f"{label}: done", state="complete", expanded=False)
    return result


def user_error(error: BaseException) -> None:
    """Show ``error`` on the page: a `GenreLensError` as its one-line message; anything else as a short
    readable message, with the traceback folded away in an expander when ``client.showErrorDetails`` is "full"
    (else printed to the server's console only)."""
    if isinstance(error, GenreLensError):
        lines = str(error).strip().splitlines()
        st.error(md(lines[0]) if lines else type(error).__name__, icon=":material/error:")
        return
    lines = str(error).strip().splitlines()
    summary = f"{type(error).__name__}: {lines[0]}" if lines else type(error).__name__
    st.error(f"Something went wrong inside GenreLens ({md(summary)}). This is not a problem with your input.",
             icon=":material/bug_report:")
    details = "".join(traceback.format_exception(error))
    if st.get_option("client.showErrorDetails") in ("full", True):  # a developer's own server
        with st.expander("Technical details"):
            st.code(details, language=None)
    else:  # a served class: the traceback goes to the server's console only
        print(details, file=sys.stderr)
        st.caption("The technical details are in the server's console.")


@contextlib.contextmanager
def errors_shown() -> Iterator[None]:
    """Run a block and show any exception it raises with `user_error` instead of breaking the page
    (Streamlit's own stop/rerun signals pass through)."""
    try:
        yield
    except Exception as error:  # the page must survive every error; user_error tells the user what happened
        user_error(error)


# ====================================================================================== figures, tables ======
HEADER_CHARACTER_PX = 8  #: px per character of a table header (Source Sans, 14 px), plus `HEADER_PADDING_PX`
HEADER_PADDING_PX = 40  #: px of a header cell besides its text (padding, sort and menu icons)


def show_score_table(table: pd.DataFrame, name: str) -> None:
    """A table of `model_figures` with human headers (`model_figures.COLUMN_HEADERS`) wide enough to be read
    whole, fractions as percentages, and a button that downloads it as ``<name>.csv`` (short column names)."""
    config: dict[str, Any] = {}
    for column in table.columns:
        header = model_figures.COLUMN_HEADERS.get(column, column)
        width = HEADER_CHARACTER_PX * len(header) + HEADER_PADDING_PX
        if pd.api.types.is_float_dtype(table[column]) and column not in model_figures.COUNT_COLUMNS:
            config[column] = st.column_config.NumberColumn(header, format="percent", width=width)
        else:
            config[column] = st.column_config.Column(header, width=width)
    st.dataframe(table, hide_index=True, column_config=config)
    table_download(table, name)


def show_headline_scores(evaluation: BundleEvaluation, *, model_name: str, n_classes: int, key: str,
                         tag: str) -> tuple[EvaluationReport, dict[str, float]]:
    """The warnings of a `genre_core.reports.evaluate_bundle` result, its scores per part (table + CSV) and
    the test accuracy against the baselines; returns the report and the baseline scores for more views.
    ``key`` prefixes widget keys, ``tag`` names downloaded files."""
    report, scores = evaluation.report, evaluation.baselines or {}
    for line in evaluation.warnings:
        st.warning(line, icon=":material/warning:")
    st.markdown("**Scores per part** (segment level unless the column says track)")
    show_score_table(model_figures.metrics_table(report), f"metrics_{tag}")
    if "test" in report.parts and scores:
        show_figure(
            model_figures.model_vs_baselines_figure(report.parts["test"].segment_metrics["accuracy"], scores,
                                                    chance=1 / n_classes, model_name=model_name,
                                                    title="Test accuracy per segment, against baselines"),
            key=f"{key}.baselines", filename=f"baselines_{tag}",
        )
    return report, scores


def show_figure(figure: go.Figure, key: str, filename: str | None = None) -> None:
    """Draw a plotly figure full width; its modebar camera button downloads it as ``<filename or key>.png``."""
    config = {
        "displaylogo": False,
        "toImageButtonOptions": {"format": "png", "filename": filename or key, "scale": 2},
    }
    st.plotly_chart(figure, key=key, config=config)


def table_download(table: pd.DataFrame, name: str, label: str | None = None) -> None:
    """A button that downloads ``table`` as ``<name>.csv`` (without the index)."""
    st.download_button(
        label or f"Download {name}.csv",
        table.to_csv(index=False).encode("utf-8"),
        file_name=f"{name}.csv",
        mime="text/csv",
        key=f"csv-{name}",
        on_click="ignore",
        icon=":material/download:",
    )

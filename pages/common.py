"""Per-user state of the GenreLens pages and the caches shared by all users; the app shell.

No state lives at module level: each user's choices are in `st.session_state` (the ``*_KEY`` constants), things
shared by all users (loaded datasets, model bundles) in `st.cache_resource` and are read-only: never mutate a
`Dataset` or a `ModelBundle` you get from here (use ``dataset.subset`` / ``dataclasses.replace`` for a changed
copy). What a dataset choice is and how it is read lives in `genre_core.dataset_choice`, what a bundle's
``bundle.json`` says in `genre_core.bundle_info`, upload folders in `genre_core.uploads`; display pieces
(progress, errors, figures, tables) in `pages/widgets.py`.

Loading a model imports TensorFlow, so it happens only in `load_bundle`; listing bundles reads their
``bundle.json`` only (`genre_core.bundles` imports TensorFlow only when it loads or saves a model).

Every script run of a session marks its upload folder as in use (`keep_upload_alive`). Streamlit's
end-of-session hook (a session-scoped `st.cache_resource`) is not used to remove it: it also fires when a
browser loses its connection for a moment and then resumes the same session, which would find its dataset's
audio gone.

``GENRELENS_DEMO_TRACKS`` (environment, read at each load) sets the tracks per genre of the generated demo
(default: `genre_core.synth`'s 25); tests use 1 to stay fast. ``make run`` builds the demo and its features
before the server starts (``python -m genre_core demo``), so the app reads them from the cache.
"""

from __future__ import annotations

import contextlib
import contextvars
import runpy
import threading
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import streamlit as st

from genre_core import archives, atomic, audio, bundle_files, bundle_info, dataset_choice, jobs, paths, uploads
from genre_core.bundle_info import CNN, FFN, BundleInfo
from genre_core.dataset_choice import DEMO, DatasetSpec, LoadedDataset, dataset_key, read_dataset
from genre_core.markdown import md
from pages import heap
from pages.widgets import errors_shown, run_with_progress

if TYPE_CHECKING:
    import numpy as np
    from streamlit.delta_generator import DeltaGenerator
    from streamlit.runtime.uploaded_file_manager import UploadedFile

    from genre_core.bundles import ModelBundle

# --- session state keys --------------------------------------------------------------------------------
DATASET_SPEC_KEY = "genrelens.dataset_spec"  #: `DatasetSpec` of the active dataset
DATASET_READY_KEY = "genrelens.dataset_ready"  #: True once this session has loaded the active dataset
UPLOAD_FOLDER_KEY = "genrelens.upload_folder_id"  #: random id naming this session's upload folder
BUNDLE_KEYS = {FFN: "genrelens.ffn_bundle", CNN: "genrelens.cnn_bundle"}  #: role -> key of the bundle folder (str)
BROWSE_GENRE_KEY = "browse.genre"  #: the genre whose segments Browse shows
BROWSE_PART_KEY = "browse.part"  #: the part of the split Browse shows
BROWSE_SELECTED_KEY = "browse.selected"  #: {"row": dataset row, "track_id": its track} of Browse's chosen segment
SIDEBAR_DATASET_KEY = "genrelens.sidebar_dataset"  #: this run's sidebar slot of the dataset line (app.py fills it)
RUN_KEY = "genrelens.run"  #: a new id at each script run of the app (`start_run`), for what is computed once a run
DATASET_KEY_MEMO_KEY = "genrelens.dataset_key_memo"  #: (run id, spec, its `dataset_key`) of `active_dataset_key`
MAX_SHARED_DATASETS = 3  #: loaded datasets kept in memory for all users (the oldest is dropped first)
PENDING_POLL_SECONDS = 2.0  #: s between looks at a background first-use read (`pending_note`)


# ======================================================================================= datasets ======
@dataclass
class _SharedDatasets:
    """Loaded datasets of all sessions by `dataset_key`, newest last (held by `st.cache_resource`)."""

    entries: dict[tuple[Any, ...], LoadedDataset] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)
    #: Background reads of every kind after a first-use read (`complete_later`), and their (done, total) files.
    completing: dict[tuple[Any, ...], threading.Thread] = field(default_factory=dict)
    completion_progress: dict[tuple[Any, ...], tuple[int, int]] = field(default_factory=dict)

    def get(self, key: tuple[Any, ...]) -> LoadedDataset | None:
        with self.lock:
            return self.entries.get(key)

    def put(self, key: tuple[Any, ...], loaded: LoadedDataset) -> None:
        with self.lock:
            self.entries.pop(key, None)
            self.entries[key] = loaded
            while len(self.entries) > MAX_SHARED_DATASETS:
                self.entries.pop(next(iter(self.entries)))

    def complete_later(self, key: tuple[Any, ...], spec: DatasetSpec) -> None:
        """Read every kind of ``spec`` (through the feature cache) in a background thread and store it under
        ``key``, replacing a first-use read; a failure leaves that entry, and the next full read shows it."""
        def complete() -> None:
            try:
                self.put(key, read_dataset(spec, lambda done, total: self.completion_progress.update({key: (done, total)})))
            except Exception:  # noqa: BLE001 - the page that needs every kind reads again and shows the error
                with self.lock:
                    if self.entries.get(key) is not None and self.entries[key].pending_kinds:
                        self.entries.pop(key)

        with self.lock:
            if key in self.completing and self.completing[key].is_alive():
                return
            self.completing[key] = threading.Thread(target=complete, name="genrelens-complete-dataset", daemon=True)
            self.completing[key].start()

    def wait_for_completion(self, key: tuple[Any, ...]) -> None:
        with self.lock:
            thread = self.completing.get(key)
        if thread is not None:
            thread.join()


@st.cache_resource(show_spinner=False)
def _shared_datasets() -> _SharedDatasets:
    """The process-wide dataset store. Datasets are stored here rather than returned by a cached loader
    because loading reports progress, and Streamlit cannot replay progress bars of a cached function."""
    return _SharedDatasets()


def load_dataset(spec: DatasetSpec, *, first_use: bool = False) -> LoadedDataset:
    """The dataset of ``spec``: from the shared store, or read (`dataset_choice.read_dataset`) with a progress
    bar and stored.

    ``first_use`` (a page that can start with `dataset_choice.FIRST_USE_KINDS`): on the demo's first use only
    those kinds are extracted before the page goes on; every kind follows in a background thread, through the
    feature cache, and replaces the entry (its ``pending_kinds`` say what is still coming). Without it, a page
    finding such an entry waits for the rest. Raises `InputError` (or another `GenreLensError`) for an unusable
    source; show it with `user_error`.
    """
    shared = _shared_datasets()
    key = active_dataset_key() if spec == active_dataset_spec() else dataset_key(spec)
    found = shared.get(key)
    if found is not None and found.pending_kinds and not first_use:
        with st.spinner(f"Extracting the rest of the features ({', '.join(found.pending_kinds)})…"):
            shared.wait_for_completion(key)
        found = shared.get(key)  # every kind now, or None when the background read failed
    if found is not None and (first_use or not found.pending_kinds):
        return found
    slot = st.session_state.get(SIDEBAR_DATASET_KEY)
    if slot is not None:  # the sidebar, drawn before the page, says what is happening now
        slot.markdown(f"**{md(spec.title)}**: loading now (progress on the page)…")
    first_kinds = dataset_choice.first_use_kinds(spec) if first_use else None
    loaded = run_with_progress(f"Loading {md(spec.title)}", lambda progress: read_dataset(
        spec, progress, phase=progress.phase, first_kinds=first_kinds))
    key = dataset_key(spec)  # taken after loading: the demo folder may have just been made
    shared.put(key, loaded)
    st.session_state.pop(DATASET_KEY_MEMO_KEY, None)  # so this run's next look takes the new stamp too
    if loaded.pending_kinds:
        shared.complete_later(key, spec)
    return loaded


def pending_note(loaded: LoadedDataset) -> None:
    """Say which features of ``loaded`` are still being extracted in the background, and how far along; the
    whole page runs again by itself once they are there (so their presets appear without a click)."""
    if loaded.pending_kinds:
        _pending_progress(loaded.pending_kinds)


@st.fragment(run_every=PENDING_POLL_SECONDS)
def _pending_progress(pending_kinds: tuple[str, ...]) -> None:
    shared = _shared_datasets()
    key = active_dataset_key()  # a fragment rerun: the app's last run's key, no file scan every 2 s
    current = shared.get(key)
    if current is not None and not current.pending_kinds:
        st.rerun(scope="app")
    if current is None:  # the background read failed (or the entry was dropped): the next full read says why
        st.warning(f"The {', '.join(pending_kinds)} features are not ready: the Data page reads them again and "
                   "says what went wrong, if anything.", icon=":material/warning:")
        return
    done, total = shared.completion_progress.get(key, (0, 0))
    st.info(f"First use of the demo: the {', '.join(pending_kinds)} features are being extracted in the "
            f"background ({done} of {total or '…'} files), then their presets appear here by themselves. The "
            "others are ready.", icon=":material/hourglass_top:")


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
        if key not in state:  # not setdefault: finding the default reads the disk, and this runs often
            state[key] = bundle_info.default_bundle_folder(role)


def active_dataset_spec() -> DatasetSpec:
    init_state()
    return st.session_state[DATASET_SPEC_KEY]


def set_active_dataset(spec: DatasetSpec) -> None:
    """Make ``spec`` (already loaded with `load_dataset`) this session's dataset."""
    init_state()
    st.session_state[DATASET_SPEC_KEY] = spec
    st.session_state[DATASET_READY_KEY] = True


def start_run() -> None:
    """app.py calls this first in each script run: what `active_dataset_key` computed in the last run is not used."""
    st.session_state[RUN_KEY] = uuid.uuid4().hex


def active_dataset_key() -> tuple[Any, ...]:
    """`dataset_key` of this session's dataset, computed once per script run of the app (it stats every file of
    the source: 5 ms for the demo's 100 tracks, ~50 ms for GTZAN's 1000, and a run needs it 4-6 times). A fragment's
    rerun (Train's and Walkthroughs' progress) uses the key of the app's last run."""
    spec, run = active_dataset_spec(), st.session_state.get(RUN_KEY)
    memo = st.session_state.get(DATASET_KEY_MEMO_KEY)
    if run is not None and memo is not None and memo[0] == run and memo[1] == spec:
        return memo[2]
    key = dataset_key(spec)
    st.session_state[DATASET_KEY_MEMO_KEY] = (run, spec, key)
    return key


def active_dataset(*, first_use: bool = False) -> LoadedDataset | None:
    """This session's dataset, loading it again (with progress) if the shared store dropped it;
    None until the session has loaded one on the Data page. ``first_use``: as in `load_dataset`."""
    init_state()
    if not st.session_state[DATASET_READY_KEY]:
        return None
    return load_dataset(active_dataset_spec(), first_use=first_use)


def peek_active_dataset() -> LoadedDataset | None:
    """This session's dataset if it is loaded and in the shared store; never loads anything."""
    init_state()
    if not st.session_state[DATASET_READY_KEY]:
        return None
    return _shared_datasets().get(active_dataset_key())


def active_or_default_dataset(*, first_use: bool = False) -> LoadedDataset | None:
    """This session's dataset; when the session has chosen none, the default built-in demo, generated and
    extracted on first use with a progress bar (so every page shows something real on a fresh machine).
    ``first_use``: as in `load_dataset`."""
    init_state()
    if not st.session_state[DATASET_READY_KEY] and active_dataset_spec().kind == DEMO:
        load_dataset(active_dataset_spec(), first_use=first_use)
        st.session_state[DATASET_READY_KEY] = True
        st.rerun()  # so the sidebar, drawn before the page, shows the loaded demo too
    return active_dataset(first_use=first_use)


def require_dataset(*, first_use: bool = False) -> LoadedDataset:
    """For pages that need data: the active dataset (the demo by default), or a pointer to the Data page
    and `st.stop()`. ``first_use``: the page can start with `dataset_choice.FIRST_USE_KINDS` (`load_dataset`)."""
    with errors_shown():
        loaded = active_or_default_dataset(first_use=first_use)
        if loaded is not None:
            return loaded
        st.info("No dataset is loaded yet: choose and load one on the Data page.")
        st.page_link("pages/data.py", label="Open the Data page", icon=":material/database:")
    st.stop()



def show_synthetic_badge(container: DeltaGenerator | None = None) -> None:
    """An orange SYNTHETIC badge in ``container`` (default: the page) while the active dataset is the demo."""
    loaded = peek_active_dataset()
    if loaded.dataset.synthetic if loaded else active_dataset_spec().kind == DEMO:
        (container or st).badge(
            "SYNTHETIC", icon=":material/science:", color="orange",
            help="Generated audio, not recordings of real music: scores on it say nothing about real genres.",
        )

# =========================================================================================== bundles ======
@st.cache_data(show_spinner=False, max_entries=64)
def _bundle_info(folder: str, metadata_mtime_ns: int, pretrained: bool) -> BundleInfo:
    """`bundle_info.read_bundle_info`, cached per modification time of ``bundle.json``."""
    return bundle_info.read_bundle_info(folder, metadata_mtime_ns, pretrained)


def scan_bundles() -> tuple[list[BundleInfo], list[str]]:
    """`bundle_info.scan_bundles` with each ``bundle.json`` read once per modification."""
    return bundle_info.scan_bundles(_bundle_info)


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

    bundle = bundles.load_bundle(folder)
    heap.settle_soon()
    return bundle


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



# ============================================================================================== audio ======
@st.cache_data(show_spinner=False, max_entries=8)
def _decoded_track(path: str, modified_ns: int, sample_rate: int) -> np.ndarray:
    return audio.load_audio(path, sample_rate)


def track_samples(path: str | Path, sample_rate: int) -> np.ndarray:
    """`audio.load_audio` of a dataset's track: (samples,) float32 at ``sample_rate`` Hz, decoded once per
    modification time of the file and rate (the Data page redraws a track's figures on every script run)."""
    return _decoded_track(str(path), Path(path).stat().st_mtime_ns, sample_rate)


# ============================================================================================ uploads ======
def session_upload_dir() -> Path:
    """This session's upload folder (`uploads.upload_folder`), holding the unpacked zips
    (`uploads.UPLOADED_DATASET`, `uploads.UPLOADED_BUNDLE`)."""
    init_state()
    return uploads.upload_folder(st.session_state[UPLOAD_FOLDER_KEY])


def keep_upload_alive() -> None:
    """Mark this session's upload folder, if it has one, as in use now, so that other sessions do not remove it
    (app.py calls this on every script run)."""
    uploads.mark_in_use(session_upload_dir())


def unpack_upload(uploaded: UploadedFile, part: str, max_bytes: int = archives.MAX_UNPACKED_BYTES) -> Path:
    """Unpack the uploaded zip into the subfolder ``part`` of this session's upload folder, replacing what it
    held, and return the folder that holds its contents (`uploads.unpack_upload`)."""
    return uploads.unpack_upload(uploaded, uploaded.name, session_upload_dir(), part, max_bytes=max_bytes)


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

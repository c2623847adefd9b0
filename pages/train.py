"""Train: choose a model preset, its hyper-parameters and a split, train with live curves (and a Cancel that
works), then save the model as a bundle; or load a bundle from the shipped models, the workspace or a zip.

Training runs on a background thread owned by the session (`TrainingJob` in ``st.session_state``): a
Streamlit rerun cannot interrupt the script thread, so the page only polls the job with an auto-refreshing
fragment and the Cancel button sets the job's `threading.Event`. TensorFlow is imported inside the functions
that need it, never when the page module is imported.
"""

from __future__ import annotations

import dataclasses
import json
import re
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd
import streamlit as st

from genre_core import model_figures, paths, reports, splits
from genre_core.config import LOG_MEL, MFCC, SUMMARY
from genre_core.datasets import Dataset
from genre_core.errors import InputError
from genre_core.splits import Split
from pages import common

common.ensure_app_shell()

if TYPE_CHECKING:
    from genre_core.bundles import ModelBundle
    from genre_core.models import Preset
    from genre_core.training import TrainConfig, TrainingProgress

JOB_KEY = "train.job"  #: this session's `TrainingJob` (running or finished)
UNPACKED_BUNDLE_KEY = "train.unpacked_bundle"  #: (file id of the uploaded zip, bundle folder it was unpacked to)
KEPT_BUNDLE_KEY = "train.kept_bundle"  #: (file id of the uploaded zip, workspace folder it was copied to)
#: The published artist-filtered GTZAN split beside the checkout, offered as the default split folder.
DEFAULT_SPLIT_DIR = paths.PROJECT_ROOT.parent / "shared" / "data" / "splits" / "sturm_artist_filtered_3fold"
BUNDLE_NAME = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
MAX_BUNDLE_ZIP_BYTES = 512 * 1024**2  #: largest total size an uploaded bundle zip may unpack to
POLL_SECONDS = 2.0  #: s between redraws of a running training's progress
FAMILY_KINDS = {common.FFN: (SUMMARY, MFCC), common.CNN: (LOG_MEL,)}
FAMILY_LABELS = {
    common.FFN: "FFN: feature models (summary table, MFCC)",
    common.CNN: "CNN: spectrogram models (log-mel)",
}
GROUPED, ARTIST_FILTERED, LEAKY, PREDEFINED = "grouped", "artist-filtered", "leaky", "predefined"
PROTOCOL_LABELS = {
    GROUPED: "Grouped by track (recommended)",
    ARTIST_FILTERED: "Artist-filtered GTZAN fold",
    LEAKY: "Leaky segment split (demonstration only)",
    PREDEFINED: "As the source came split",
}
ACTIVATIONS = ("relu", "elu", "gelu", "selu", "swish", "tanh", "sigmoid")
RUNNING, EVALUATING, FINISHED, FAILED = "training", "evaluating", "finished", "failed"
#: Table columns holding fractions, shown as percentages.
def role_of(feature_kind: str) -> str:
    """The app slot a model of ``feature_kind`` fills: `common.CNN` for log-mel, else `common.FFN`."""
    return common.CNN if feature_kind == LOG_MEL else common.FFN


# ============================================================================= background training ======
@dataclass
class TrainingJob:
    """One training run of one session, on its own thread. The thread writes ``stage``, ``latest`` (the last
    `TrainingProgress`), the outcome fields and ``bundle`` or ``error`` under ``lock``; the page reads them to
    draw progress and results.

    ``bundle`` is the trained model (named ``default_name``, not saved yet) whose ``metrics`` are its
    `reports.evaluate_bundle` scores on ``split``; ``saved_folder`` is set once the user saves it.
    """

    config: TrainConfig
    split: Split
    dataset_title: str
    default_name: str
    role: str
    cancel_requested: threading.Event = field(default_factory=threading.Event)
    lock: threading.Lock = field(default_factory=threading.Lock)
    stage: str = RUNNING
    latest: TrainingProgress | None = None
    bundle: ModelBundle | None = None
    cancelled: bool = False
    stopped_early: bool = False
    epochs_run: int = 0
    train_seconds: float = 0.0
    error: BaseException | None = None
    saved_folder: str | None = None
    thread: threading.Thread | None = field(default=None, repr=False)

    @property
    def active(self) -> bool:
        """True while the thread trains or evaluates."""
        with self.lock:
            return self.stage in (RUNNING, EVALUATING)

    def report(self, progress: TrainingProgress) -> None:
        with self.lock:
            self.latest = progress

    def start(self, dataset: Dataset) -> None:
        self.thread = threading.Thread(target=self._run, args=(dataset,), name="genrelens-training", daemon=True)
        self.thread.start()

    def _run(self, dataset: Dataset) -> None:
        from genre_core import bundles, training

        try:
            result = training.train_model(
                dataset, self.split, self.config, progress=self.report, cancel=self.cancel_requested.is_set
            )
            with self.lock:
                self.stage = EVALUATING
                self.cancelled, self.stopped_early = result.cancelled, result.stopped_early
                self.epochs_run, self.train_seconds = result.epochs_run, result.train_seconds
            bundle = bundles.bundle_from_training(result, dataset, name=self.default_name)
            bundle.metrics = reports.evaluate_bundle(bundle, dataset, self.split, seed=self.config.seed)
            with self.lock:
                self.bundle, self.stage = bundle, FINISHED
        except Exception as error:  # shown on the page by user_error; the thread must never die silently
            with self.lock:
                self.error, self.stage = error, FAILED


def _session_job() -> TrainingJob | None:
    return st.session_state.get(JOB_KEY)


# ============================================================================================ settings ======
@st.cache_resource(show_spinner="Loading TensorFlow…")
def _presets() -> dict[str, Preset]:
    """The preset registry (importing it loads TensorFlow, once per process)."""
    from genre_core import models

    return dict(models.PRESETS)


@st.cache_data(show_spinner="Building the model…", max_entries=64)
def _architecture(preset: str, input_shape: tuple[int, ...], n_classes: int, hyper_json: str) -> tuple[int, list[dict]]:
    """Parameter count and `models.layer_table` of ``preset`` built for this input and class count."""
    from genre_core import models

    model = models.build_model(preset, input_shape, n_classes, **json.loads(hyper_json))
    return models.parameter_count(model), models.layer_table(model)


def _choose_preset(dataset: Dataset) -> Preset | None:
    """Family and preset (those whose feature kind the dataset holds), with the preset's description."""
    family = st.radio("Model family", list(FAMILY_KINDS), format_func=FAMILY_LABELS.get, horizontal=True,
                      key="train.family")
    kinds = [kind for kind in FAMILY_KINDS[family] if kind in dataset.features]
    presets = [preset for preset in _presets().values() if preset.feature_kind in kinds]
    if not presets:
        held = ", ".join(dataset.features)
        st.info(f"The active dataset holds only {held} features, none of which a {family} preset eats: "
                "choose the other family, or load an audio dataset on the Data page.")
        return None
    preset = st.selectbox("Preset", presets, format_func=lambda p: f"{p.name} ({p.feature_kind})",
                          key=f"train.preset.{family}")
    st.caption(f"{preset.description}  \nSource: {preset.source}")
    return preset


def _training_settings(preset: Preset) -> dict[str, Any]:
    """`TrainConfig` arguments (all but the seed) from the page: optimiser, learning rate, schedule, batch size,
    epochs, early stopping, and the preset's dropout / L2 / activation where it has them."""
    from genre_core import training

    key = f"train.{preset.name}"
    defaults = preset.default_hyper
    optimiser_column, length_column, model_column = st.columns(3)
    optimizer = optimiser_column.selectbox("Optimiser", training.OPTIMIZERS, index=training.OPTIMIZERS.index("adam"),
                                           key=f"{key}.optimizer")
    learning_rate = optimiser_column.number_input("Learning rate", min_value=1e-6, max_value=1.0, value=1e-3,
                                                  step=1e-4, format="%.6f", key=f"{key}.lr")
    schedule = optimiser_column.selectbox("Learning-rate schedule", training.SCHEDULES, key=f"{key}.schedule")
    batch_size = int(length_column.number_input("Batch size", min_value=1, max_value=1024, value=32,
                                                key=f"{key}.batch"))
    epochs = int(length_column.number_input("Epochs", min_value=1, max_value=500, value=20, key=f"{key}.epochs"))
    patience = None
    if length_column.toggle("Early stopping", value=True, key=f"{key}.early",
                            help="Stop when the validation loss has not improved for this many epochs; "
                                 "the best weights are kept."):
        patience = int(length_column.number_input("Patience (epochs)", min_value=1, max_value=100, value=5,
                                                  key=f"{key}.patience"))
    hyper: dict[str, Any] = {}
    if "dropout" in defaults:
        hyper["dropout"] = model_column.slider("Dropout", 0.0, 0.9, float(defaults["dropout"]), 0.05,
                                               key=f"{key}.dropout")
    if "l2" in defaults:
        hyper["l2"] = model_column.number_input("L2 weight penalty", min_value=0.0, max_value=1.0,
                                                value=float(defaults["l2"]), step=1e-4, format="%.4f", key=f"{key}.l2")
    if "activation" in defaults:
        choices = ACTIVATIONS if defaults["activation"] in ACTIVATIONS else (defaults["activation"], *ACTIVATIONS)
        hyper["activation"] = model_column.selectbox("Activation", choices, index=choices.index(defaults["activation"]),
                                                     key=f"{key}.activation")
    fixed = {name: value for name, value in defaults.items() if name not in hyper}
    if fixed:
        model_column.caption("Fixed by the preset: " + ", ".join(f"{name} = {value}" for name, value in fixed.items()))
    return {
        "preset": preset.name, "hyper": hyper, "optimizer": optimizer, "learning_rate": float(learning_rate),
        "schedule": schedule, "batch_size": batch_size, "epochs": epochs, "early_stopping_patience": patience,
    }


def _choose_split(dataset: Dataset, seed: int) -> Split:
    """The split protocol chosen on the page, made on ``dataset`` with ``seed`` (InputError when impossible)."""
    protocols = [GROUPED, ARTIST_FILTERED, LEAKY] + ([PREDEFINED] if dataset.predefined_split is not None else [])
    protocol = st.radio("Split protocol", protocols, format_func=PROTOCOL_LABELS.get, horizontal=True,
                        key="train.protocol")
    split_dir = None
    if protocol == ARTIST_FILTERED:
        fold_column, folder_column = st.columns([1, 3])
        fold = fold_column.selectbox("Fold", splits.ARTIST_FILTERED_FOLDS, key="train.fold")
        split_dir = folder_column.text_input(
            "Split folder (f1_train.txt, f1_evaluate.txt, f1_train_groups.txt, ...)",
            value=str(DEFAULT_SPLIT_DIR) if DEFAULT_SPLIT_DIR.is_dir() else "", key="train.split_dir",
        ).strip()
        if not split_dir:
            raise InputError("split folder", "give the folder of the artist-filtered split files")
        paths.confine(split_dir, "split folder")
        protocol = f"{ARTIST_FILTERED}:{fold}"
    if protocol == LEAKY:
        st.warning(
            "**Leaky split:** the windows of one song are dealt out to train, validation and test independently, so "
            "the model is tested on songs it has already heard (other windows of them). Scores come out far too "
            "high. Use it only to see how big this effect is, never to report a result.",
            icon=":material/warning:",
        )
    return splits.make_split(dataset, protocol, seed=seed, split_dir=split_dir)


def _show_architecture(preset: Preset, config: TrainConfig, dataset: Dataset) -> None:
    features = dataset.features[preset.feature_kind]
    input_shape = tuple(features.shape[1:]) + ((1,) if preset.feature_kind == LOG_MEL else ())
    count, layers = _architecture(preset.name, input_shape, dataset.n_classes, json.dumps(config.hyper, sort_keys=True))
    st.markdown(f"**{preset.name}**: {count:,} parameters, input {' × '.join(map(str, input_shape))}, "
                f"{dataset.n_classes} outputs")
    with st.expander("Layers"):
        table = pd.DataFrame(layers)
        st.dataframe(table, hide_index=True)
        common.table_download(table, f"layers_{preset.name}")


# ============================================================================================ training ======
def _default_bundle_name(preset: str) -> str:
    """``<preset>_<n>`` with the smallest n not yet taken in the workspace."""
    existing = {folder.name for folder in paths.WORKSPACE_MODELS_DIR.glob("*")}
    number = 1
    while f"{preset}_{number}" in existing:
        number += 1
    return f"{preset}_{number}"


def _start_training(config: TrainConfig, split: Split, dataset: Dataset, title: str) -> None:
    preset = _presets()[config.preset]
    job = TrainingJob(config=config, split=split, dataset_title=title,
                      default_name=_default_bundle_name(config.preset), role=role_of(preset.feature_kind))
    st.session_state[JOB_KEY] = job
    job.start(dataset)


def _progress_line(progress: TrainingProgress) -> str:
    line = (f"epoch {progress.epoch}/{progress.epochs} · batch {progress.batch}/{progress.batches} · "
            f"loss {progress.loss:.3f} · accuracy {progress.accuracy:.1%}")
    if progress.val_accuracy is not None:
        line += f" · val loss {progress.val_loss:.3f} · val accuracy {progress.val_accuracy:.1%}"
    return line + f" · {progress.elapsed_s:.0f} s elapsed, about {progress.eta_s:.0f} s left"


@st.fragment(run_every=POLL_SECONDS)
def _monitor_training() -> None:
    """Progress bar, live curves and Cancel of the running job; reruns the whole page once it is done."""
    job = _session_job()
    if job is None or not job.active:
        st.rerun(scope="app")
    with job.lock:
        latest, stage = job.latest, job.stage
    if stage == EVALUATING:
        st.progress(1.0, text="Training done: scoring the model and the baselines on every part of the split…")
    elif latest is None:
        st.progress(0.0, text="Preparing the data and building the model…")
    else:
        st.progress(min(latest.fraction, 1.0), text=_progress_line(latest))
        if latest.history.get("loss"):
            common.show_figure(model_figures.training_curves_figure(latest.history, title="Live training curves"),
                               key="train.live_curves", filename="training_curves")
    if job.cancel_requested.is_set():
        st.caption("Cancelling after the current batch…")
    else:
        st.button("Cancel training", key="train.cancel", icon=":material/cancel:", on_click=job.cancel_requested.set,
                  disabled=stage != RUNNING)


def _show_results(job: TrainingJob) -> None:
    """Curves, scores against the baselines, and saving / activating the trained model."""
    if job.error is not None:
        st.error("Training failed.", icon=":material/error:")
        common.user_error(job.error)
        return
    bundle = job.bundle
    outcome = ("cancelled" if job.cancelled else "stopped early (best weights kept)" if job.stopped_early
               else "finished")
    st.success(f"Training {outcome} after {job.epochs_run} epoch(s) in {job.train_seconds:.0f} s "
               f"on {job.dataset_title}.", icon=":material/check_circle:")
    if bundle.history.get("loss"):
        common.show_figure(model_figures.training_curves_figure(bundle.history, title="Training curves"),
                           key="train.final_curves", filename=f"training_curves_{job.default_name}")
    common.show_headline_scores(bundle.metrics, model_name=job.config.preset, n_classes=len(bundle.class_names),
                                key="train", tag=job.default_name)
    _save_controls(job)


def _save_controls(job: TrainingJob) -> None:
    """Save the trained model into the workspace under a checked name, then offer to make it active."""
    if job.saved_folder is None:
        name_column, button_column = st.columns([3, 1], vertical_alignment="bottom")
        name = name_column.text_input("Bundle name (letters, digits, - and _)", value=job.default_name,
                                      key="train.bundle_name").strip()
        if button_column.button("Save as bundle", key="train.save", icon=":material/save:", type="primary"):
            with common.errors_shown():
                job.saved_folder = str(_save_in_workspace(job.bundle, name))
                st.rerun()
        return
    st.success(f"Saved as {job.saved_folder}", icon=":material/save:")
    _activate_button(job.role, job.saved_folder, key="train.activate")


def _activate_button(role: str, folder: str, key: str) -> None:
    if common.active_bundle_folder(role) == str(Path(folder).resolve()):
        st.caption(f"This is the active {role} model.")
        return
    if st.button(f"Make it the active {role} model", key=key, icon=":material/check:"):
        common.set_active_bundle(role, folder)
        st.rerun()


def _train_tab(loaded: common.LoadedDataset) -> None:
    dataset = loaded.dataset
    preset = _choose_preset(dataset)
    if preset is None:
        return
    from genre_core.training import TrainConfig

    settings = _training_settings(preset)
    st.subheader("Split")
    seed = int(st.columns([1, 3])[0].number_input(
        "Seed", min_value=0, max_value=2**31 - 1, value=0, key="train.seed",
        help="Fixes the split, the initial weights and the order of the batches.",
    ))
    try:
        split = _choose_split(dataset, seed)
        config = TrainConfig(**settings, seed=seed)
    except InputError as error:
        common.user_error(error)
        return
    if split.details.get("warning") and not split.leaky:
        st.warning(split.details["warning"], icon=":material/warning:")
    summary = reports.split_summary(dataset, split)
    st.dataframe(pd.DataFrame({"segments": summary["rows"], "tracks": summary["tracks"]}).rename_axis("part"))
    st.subheader("Model")
    with common.errors_shown():
        _show_architecture(preset, config, dataset)
    job = _session_job()
    running = job is not None and job.active
    if st.button("Train", key="train.start", type="primary", icon=":material/play_arrow:", disabled=running):
        _start_training(config, split, dataset, common.active_dataset_spec().title)
        st.rerun()  # redraw with the Train button disabled and the progress shown
    if running:
        _monitor_training()
    elif job is not None:
        with common.errors_shown():
            _show_results(job)


# ======================================================================================= loading bundles ======
def _unpacked_bundle(uploaded: Any) -> str:
    """The bundle folder inside the uploaded zip, unpacked once per upload into this session's folder."""
    unpacked = st.session_state.get(UNPACKED_BUNDLE_KEY)
    if unpacked is None or unpacked[0] != uploaded.file_id:
        with st.spinner(f"Unpacking {uploaded.name}…"):
            root = common.unpack_upload(uploaded, common.UPLOADED_BUNDLE, max_bytes=MAX_BUNDLE_ZIP_BYTES)
        candidates = [root] if (root / common.BUNDLE_METADATA_FILE).is_file() else [
            folder for folder in root.iterdir() if (folder / common.BUNDLE_METADATA_FILE).is_file()]
        if len(candidates) != 1:
            found = "no bundle.json" if not candidates else f"{len(candidates)} bundles"
            raise InputError(uploaded.name, f"not a model bundle zip ({found}; expected model.keras and bundle.json)")
        st.session_state[UNPACKED_BUNDLE_KEY] = (uploaded.file_id, str(candidates[0]))
    return st.session_state[UNPACKED_BUNDLE_KEY][1]


def _save_in_workspace(bundle: ModelBundle, name: str) -> Path:
    """Save ``bundle`` into the workspace as ``name`` (atomically); InputError for a bad or taken name."""
    from genre_core import bundles

    if not BUNDLE_NAME.match(name):
        raise InputError("bundle name", f"'{name}' may hold only letters, digits, - and _ (1 to 64)")
    folder = paths.WORKSPACE_MODELS_DIR / name
    if folder.exists():
        raise InputError("bundle name", f"a bundle '{name}' already exists in {paths.WORKSPACE_MODELS_DIR}")
    with st.spinner(f"Saving {name}…"):
        return bundles.save_bundle(dataclasses.replace(bundle, name=name), folder).resolve()


def _show_bundle(folder: str, dataset: Dataset, key: str, *, can_activate: bool = True) -> ModelBundle:
    """Summary of the bundle in ``folder``: what it eats, how it was trained, and whether it fits the active
    dataset; with ``can_activate`` a button makes it the active model of its role."""
    from genre_core import bundles

    bundle = common.load_bundle(folder)
    split = bundle.split_description
    st.markdown(
        f"**{bundle.name}** ({role_of(bundle.feature_kind)}, preset `{bundle.train_config.preset}`, "
        f"{bundle.feature_kind} features {' × '.join(map(str, bundle.feature_shape))}), {len(bundle.class_names)} "
        f"classes: {', '.join(bundle.class_names)}. Created {bundle.created or 'at an unknown time'}; split "
        f"protocol **{split.get('protocol', 'unknown')}**."
    )
    if split.get("protocol") == LEAKY:
        st.error("This model was trained on the leaky segment split: its stored scores are inflated.",
                 icon=":material/warning:")
    if bundle.history.get("loss"):
        common.show_figure(model_figures.training_curves_figure(bundle.history, title="Training curves"),
                           key=f"{key}.curves", filename=f"training_curves_{bundle.name}")
    with st.expander("Training settings"):
        st.json(bundle.train_config.to_dict())
    try:
        bundles.check_compatible(bundle, dataset)
        st.caption("It can score the active dataset (same classes and features).")
    except InputError as error:
        st.warning(f"It cannot score the active dataset: {error}", icon=":material/warning:")
    if can_activate:
        _activate_button(role_of(bundle.feature_kind), folder, key=f"{key}.activate")
    return bundle


def _uploaded_bundle(uploaded: Any, dataset: Dataset) -> None:
    """Show the bundle of an uploaded zip; it becomes usable as an active model once kept in the workspace
    (the upload folder is replaced by the session's next upload)."""
    folder = _unpacked_bundle(uploaded)
    bundle = _show_bundle(folder, dataset, key="train.uploaded", can_activate=False)
    kept = st.session_state.get(KEPT_BUNDLE_KEY)
    if kept is not None and kept[0] == uploaded.file_id:
        st.success(f"Kept in the workspace as {kept[1]}.", icon=":material/save:")
        _activate_button(role_of(bundle.feature_kind), kept[1], key="train.kept.activate")
        return
    name_column, button_column = st.columns([3, 1], vertical_alignment="bottom")
    name = name_column.text_input("Keep it in the workspace as", key="train.keep_name",
                                  value=bundle.name if BUNDLE_NAME.match(bundle.name) else "uploaded_model").strip()
    if button_column.button("Keep", key="train.keep", icon=":material/save:",
                            help="Saves a copy under this name in the workspace; then it can be made active."):
        st.session_state[KEPT_BUNDLE_KEY] = (uploaded.file_id, str(_save_in_workspace(bundle, name)))
        st.rerun()


def _load_tab(loaded: common.LoadedDataset) -> None:
    source = st.radio("Bundle from", ["Shipped or workspace models", "Upload a zip"], horizontal=True,
                      key="train.load_source")
    if source == "Upload a zip":
        uploaded = st.file_uploader("Zip of a bundle folder (model.keras + bundle.json)", type=["zip"],
                                    key="train.bundle_zip")
        if uploaded is None:
            return
        with common.errors_shown():
            _uploaded_bundle(uploaded, loaded.dataset)
        return
    infos, problems = common.scan_bundles()
    for problem in problems:
        st.caption(f":red[Skipped {problem}]")
    if not infos:
        st.info("No bundles yet: train one in the first tab, or upload a zip.")
        return
    by_folder = {info.folder: info for info in infos}
    folder = st.selectbox("Bundle", list(by_folder), format_func=lambda f: by_folder[f].label, key="train.load_pick")
    with common.errors_shown():
        _show_bundle(folder, loaded.dataset, key="train.listed")


# ================================================================================================= page ======
def _page() -> None:
    loaded = common.require_dataset()
    train_tab, load_tab = st.tabs(["Train a model", "Load a bundle"])
    with train_tab:
        _train_tab(loaded)
    with load_tab:
        _load_tab(loaded)


st.title("Train")
common.show_synthetic_badge()
st.markdown(
    "Train a classifier on the active dataset and watch it learn: the **loss** should fall and the **accuracy** "
    "rise on the training part, and the validation curves show whether it also works on songs it has not seen "
    "(a widening gap means it memorises). The split decides what the test score means: only a split that keeps "
    "each song (or artist) in one part measures how well the model handles new music."
)
_page()

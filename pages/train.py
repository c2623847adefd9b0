"""Train: choose a model preset, its hyper-parameters and a split, train with live curves, stop or cancel, then
save the model as a bundle; or load a bundle from the shipped models, the workspace or a zip.

Training runs as a background job (`genre_core.jobs`, kind ``"train"``) in a worker process, owned by this
browser's user id (`common.user_id`, kept in the URL): the page only reads the job's folder, so a reload, a
second tab or another page visit finds the same job with its live curves, and a finished result can still be
saved. Cancel ends the worker process; Stop ends the training after the current batch and keeps the model.
TensorFlow is imported inside the functions that need it, never when the page module is imported.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd
import streamlit as st

from genre_core import (
    bundle_files, bundle_info, dataset_choice, hyper_settings, inputs, jobs, model_figures, paths, reports, splits,
    train_job, uploads,
)
from genre_core.config import LOG_MEL, MFCC, SUMMARY
from genre_core.dataset import Dataset
from genre_core.errors import InputError
from genre_core.train_choices import OPTIMIZERS, SCHEDULES
from pages import common, widgets

common.ensure_app_shell()

if TYPE_CHECKING:
    from streamlit.delta_generator import DeltaGenerator

    from genre_core.anatomy import LayerCount
    from genre_core.bundles import ModelBundle
    from genre_core.models import Preset
    from genre_core.train_config import TrainConfig

UNPACKED_BUNDLE_KEY = "train.unpacked_bundle"  #: (file id of the uploaded zip, bundle folder it was unpacked to)
KEPT_BUNDLE_KEY = "train.kept_bundle"  #: (file id of the uploaded zip, workspace folder it was copied to)
#: The published artist-filtered GTZAN split beside the checkout, offered as the default split folder.
DEFAULT_SPLIT_DIR = paths.ARTIST_SPLIT_DIR
MAX_BUNDLE_ZIP_BYTES = 512 * 1024**2  #: largest total size an uploaded bundle zip may unpack to
POLL_SECONDS = 2.0  #: s between redraws of a running training's progress
FAMILY_KINDS = {bundle_info.FFN: (SUMMARY, MFCC), bundle_info.CNN: (LOG_MEL,)}
FAMILY_LABELS = {
    bundle_info.FFN: "FFN: feature models (summary table, MFCC)",
    bundle_info.CNN: "CNN: spectrogram models (log-mel)",
}
GROUPED, ARTIST_FILTERED, LEAKY, PREDEFINED = splits.PROTOCOLS
PROTOCOL_LABELS = {
    GROUPED: "Grouped by track (recommended)",
    ARTIST_FILTERED: "Artist-filtered GTZAN fold",
    LEAKY: "Leaky segment split (demonstration only)",
    PREDEFINED: "As the source came split",
}
STAGE_TEXT = {
    train_job.LOADING: "Loading the dataset and building the model…",
    train_job.TRAINING: "Starting the first epoch…",
    train_job.EVALUATING: "Training done: scoring the model and the baselines on every part of the split…",
}


# ============================================================================================ settings ======
@st.cache_resource(show_spinner="Loading TensorFlow…")
def _presets() -> dict[str, Preset]:
    """The preset registry (importing it loads TensorFlow, once per process)."""
    from genre_core import models

    return dict(models.PRESETS)


@st.cache_data(show_spinner="Building the model…", max_entries=64)
def _architecture(
    preset: str, input_shape: tuple[int, ...], n_classes: int, output: str, hyper_json: str
) -> list[LayerCount]:
    """`anatomy.layer_counts` of ``preset`` built for this input, class count and output head."""
    from genre_core import anatomy, models

    return anatomy.layer_counts(models.build_model(preset, input_shape, n_classes, output=output,
                                                   **json.loads(hyper_json)))


#: How to count parameters by hand, shown under every layer table.
HAND_COUNT_NOTE = (
    "**Counting by hand:** a convolution has kernel height × width × input channels × filters weights plus one "
    "bias per filter; a Dense layer has inputs × units weights plus one bias per unit; batch norm keeps 4 values "
    "per channel (scale, shift, moving mean and variance; the last two are not trained); pooling, flatten, "
    "dropout and activations have none. 'same' padding keeps a map's size, each 2 × 2 pooling halves it "
    "(rounding down), and flatten multiplies height × width × channels into the next layer's inputs."
)


def _show_layer_counts(counts: list[LayerCount], title: str, key: str) -> None:
    """Total, the per-layer table with each layer's arithmetic (and a download), and how to count by hand."""
    total = sum(row.params for row in counts)
    trainable = sum(row.params for row in counts if row.trainable)
    frozen = f" ({trainable:,} trained, the rest frozen or statistics)" if trainable != total else ""
    st.markdown(f"{title}: **{total:,} parameters**{frozen}")
    with st.expander("Layers and the parameter arithmetic"):
        table = pd.DataFrame({
            "layer": [row.name for row in counts], "type": [row.kind for row in counts],
            "output shape": [row.shape_text for row in counts], "parameters": [row.params for row in counts],
            "arithmetic": [row.arithmetic for row in counts], "trained": [row.trainable for row in counts],
        })
        st.dataframe(table, hide_index=True)
        widgets.table_download(table, f"layers_{key}")
        st.caption(HAND_COUNT_NOTE)


def _choose_preset(dataset: Dataset) -> Preset | None:
    """Family and preset (those whose feature kind the dataset holds), with the preset's description."""
    family = st.radio("Model family", list(FAMILY_KINDS), format_func=FAMILY_LABELS.get, horizontal=True,
                      key="train.family")
    kinds = [kind for kind in FAMILY_KINDS[family] if kind in dataset.features]
    presets = [preset for preset in _presets().values() if preset.feature_kind in kinds]
    if not common.active_dataset_spec().has_audio:
        transfer = [preset.name for preset in presets if preset.features is not None]
        presets = [preset for preset in presets if preset.features is None]
        if transfer:
            st.caption(f"Not offered here: {', '.join(transfer)}. They reuse a pretrained network that needs its own "
                       "input computed from the audio, and this dataset holds features only.")
    if not presets:
        held = ", ".join(dataset.features)
        st.info(f"The active dataset holds only {held} features, none of which a {family} preset eats: "
                "choose the other family, or load an audio dataset on the Data page.")
        return None
    preset = st.selectbox("Preset", presets, format_func=lambda p: f"{p.name} ({p.feature_kind})",
                          key=f"train.preset.{family}")
    st.caption(f"{preset.description}  \nSource: {preset.source}")
    if preset.features is not None:
        config = preset.features
        st.info(f"Transfer learning: this preset reuses a pretrained network, so the songs are read the way it was "
                f"trained: {config.sample_rate // 1000} kHz, {config.n_mels} mel bands, windows of "
                f"{config.segment_seconds:.3f} s ({config.log_mel_unit}). The training computes those features "
                "once (cached), then the network's output for every window once (cached), and trains only the "
                "layers after the frozen part: a few seconds per epoch.", icon=":material/school:")
    return preset


OUTPUT_LABELS = {
    "softmax": "Softmax over the genres (categorical cross-entropy)",
    "sigmoid": "One sigmoid unit (binary cross-entropy)",
}


def _hyper_widget(column: DeltaGenerator, name: str, default: Any, key: str) -> Any:
    """The widget of hyper-parameter ``name`` (drawn by its declared kind, `hyper_settings.HYPER_SETTINGS`) and the
    value it gives; InputError naming the setting for text that is not a list of sizes."""
    setting = hyper_settings.HYPER_SETTINGS[name]
    label, help_text, key = setting.label, setting.help, f"{key}.{name}"
    if setting.kind == hyper_settings.SIZES:
        text = column.text_input(label, ", ".join(str(size) for size in default), key=key, help=help_text)
        try:
            return hyper_settings.parse_sizes(text)
        except ValueError as error:
            raise InputError(label, str(error)) from None
    if setting.kind == hyper_settings.SIZE:
        return int(column.number_input(label, min_value=1, max_value=99, value=int(default), key=key, help=help_text))
    if setting.kind == hyper_settings.ACTIVATION:
        choices = hyper_settings.ACTIVATIONS
        return column.selectbox(label, choices, index=choices.index(default), key=key, help=help_text)
    if setting.kind == hyper_settings.FRACTION:
        return column.slider(label, 0.0, 0.9, float(default), 0.05, key=key, help=help_text)
    if setting.kind == hyper_settings.PENALTY:
        return column.number_input(label, min_value=0.0, max_value=1.0, value=float(default), step=1e-4,
                                   format="%.4f", key=key, help=help_text)
    return column.toggle(label, value=bool(default), key=key, help=help_text)


def _optimiser_settings(column: DeltaGenerator, key: str) -> dict[str, Any]:
    """Optimiser, learning rate and schedule; for SGD momentum (default 0: plain SGD) and Nesterov; weight decay."""
    optimizer = column.selectbox("Optimiser", OPTIMIZERS, index=OPTIMIZERS.index("adam"), key=f"{key}.optimizer")
    settings: dict[str, Any] = {"optimizer": optimizer}
    settings["learning_rate"] = float(column.number_input("Learning rate", min_value=1e-6, max_value=1.0, value=1e-3,
                                                          step=1e-4, format="%.6f", key=f"{key}.lr"))
    if optimizer == "sgd":
        settings["momentum"] = float(column.slider(
            "Momentum", 0.0, 0.99, 0.0, 0.01, key=f"{key}.momentum",
            help="0 is plain mini-batch stochastic gradient descent; 0.9 is the usual momentum."))
        settings["nesterov"] = column.toggle("Nesterov momentum", value=False, key=f"{key}.nesterov",
                                             disabled=settings["momentum"] == 0,
                                             help="Take the gradient where the momentum is about to carry the weights.")
        settings["nesterov"] = settings["nesterov"] and settings["momentum"] > 0
    settings["weight_decay"] = float(column.number_input(
        "Weight decay", min_value=0.0, max_value=0.5, value=0.0, step=1e-4, format="%.4f", key=f"{key}.decay",
        help="Decoupled weight decay: each step shrinks the weights by this share of the learning rate (AdamW's)."))
    settings["schedule"] = column.selectbox("Learning-rate schedule", SCHEDULES, key=f"{key}.schedule")
    return settings


def _training_settings(preset: Preset, n_classes: int) -> dict[str, Any]:
    """`TrainConfig` arguments (all but the seed) from the page: optimiser settings, batch size, epochs, early
    stopping, the output head (a 2-genre task may use one sigmoid unit), and every model setting the preset
    declares (`hyper_settings`); ``hyper`` holds the ones changed from the preset's defaults."""
    key = f"train.{preset.name}"
    optimiser_column, length_column, model_column = st.columns(3)
    settings = _optimiser_settings(optimiser_column, key)
    batch_size = int(length_column.number_input("Batch size", min_value=1, max_value=1024, value=32,
                                                key=f"{key}.batch"))
    epochs = int(length_column.number_input("Epochs", min_value=1, max_value=500, value=20, key=f"{key}.epochs"))
    patience = None
    if length_column.toggle("Early stopping", value=True, key=f"{key}.early",
                            help="Stop when the validation loss has not improved for this many epochs; "
                                 "the best weights are kept."):
        patience = int(length_column.number_input("Patience (epochs)", min_value=1, max_value=100, value=5,
                                                  key=f"{key}.patience"))
    output = "softmax"
    if n_classes == 2:
        output = length_column.radio("Output", tuple(OUTPUT_LABELS), format_func=OUTPUT_LABELS.get, key=f"{key}.output",
                                     help="Two genres: a softmax over both, or one sigmoid unit giving P(second genre).")
    defaults = preset.default_hyper
    offered = [name for name in defaults if name in hyper_settings.HYPER_SETTINGS]
    chosen = {name: _hyper_widget(model_column, name, defaults[name], key) for name in offered}
    fixed = {name: value for name, value in defaults.items() if name not in chosen}
    if fixed:
        model_column.caption("Fixed by the preset: " + ", ".join(f"{name} = {value}" for name, value in fixed.items()))
    return {
        "preset": preset.name, "hyper": {name: value for name, value in chosen.items() if value != defaults[name]},
        **settings, "batch_size": batch_size, "epochs": epochs, "early_stopping_patience": patience, "output": output,
    }


def _choose_split(dataset: Dataset) -> tuple[str, str | None]:
    """The split protocol chosen on the page (for `splits.make_split`) and its split folder, among the protocols
    the dataset supports; the missing ones are named with the reason. InputError without a needed folder."""
    missing = splits.unavailable_protocols(dataset)
    protocols = [protocol for protocol in splits.PROTOCOLS if protocol not in missing]
    protocol = st.radio("Split protocol", protocols, format_func=PROTOCOL_LABELS.get, horizontal=True,
                        key="train.protocol")
    if missing:
        st.caption("Not offered for this dataset: " + "; ".join(
            f"**{PROTOCOL_LABELS[name]}**, because {reason}" for name, reason in missing.items()) + ".")
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
    return protocol, split_dir


def _show_architecture(preset: Preset, config: TrainConfig, dataset: Dataset) -> None:
    if preset.features is not None:  # trained on its own features, computed by the job
        input_shape = inputs.input_shape(preset.feature_kind, (preset.features.n_mels, preset.features.frames_per_segment))
    else:
        features = dataset.features[preset.feature_kind]
        input_shape = inputs.input_shape(preset.feature_kind, tuple(features.shape[1:]))
    counts = _architecture(preset.name, input_shape, dataset.n_classes, config.output,
                           json.dumps(config.hyper, sort_keys=True))
    outputs = "1 sigmoid output" if config.output == "sigmoid" else f"{dataset.n_classes} outputs"
    _show_layer_counts(counts, f"**{preset.name}**, input {' × '.join(map(str, input_shape))}, {outputs}", preset.name)


# ============================================================================================ training ======
def _default_bundle_name(preset: str) -> str:
    """``<preset>_<n>`` with the smallest n not yet taken in the workspace."""
    existing = {folder.name for folder in paths.WORKSPACE_MODELS_DIR.glob("*")}
    number = 1
    while f"{preset}_{number}" in existing:
        number += 1
    return f"{preset}_{number}"


def _train_jobs() -> list[jobs.JobRecord]:
    """This user's train jobs, oldest first."""
    manager = common.job_manager()
    manager.refresh()
    return manager.store.list(owner=common.user_id(), kind=train_job.KIND)


def _progress_line(latest: dict[str, Any]) -> str:
    line = (f"epoch {latest['epoch']}/{latest['epochs']} · batch {latest['batch']}/{latest['batches']} · "
            f"loss {latest['loss']:.3f} · accuracy {latest['accuracy']:.1%}")
    if latest.get("val_accuracy") is not None:
        line += f" · val loss {latest['val_loss']:.3f} · val accuracy {latest['val_accuracy']:.1%}"
    return line + f" · {latest['elapsed_s']:.0f} s elapsed, about {latest['eta_s']:.0f} s left"


def _show_active(record: jobs.JobRecord) -> None:
    """A queued job's place in the queue, or a running one's progress and live curves; Stop and Cancel."""
    manager = common.job_manager()
    spec = train_job.TrainJobSpec.from_dict(record.config)
    preset = spec.train_config["preset"]
    st.markdown(f"**{spec.name}** ({preset} on {spec.dataset_title})")
    if record.status == jobs.QUEUED:
        limits = manager.limits
        st.info(f"Waiting for a free slot: place {manager.queue_position(record.id) or 1} in the queue. The server "
                f"trains at most {limits.max_running} model(s) at once, {limits.max_per_user} per user.",
                icon=":material/hourglass_top:")
    else:
        live = train_job.live_state(manager.store.events(record.id))
        if live.stage == train_job.TRAINING and live.latest is not None:
            st.progress(live.fraction, text=_progress_line(live.latest))
        else:
            st.progress(live.fraction, text=STAGE_TEXT[live.stage])
        if live.history.get("loss"):
            widgets.show_figure(model_figures.training_curves_figure(live.history, title="Live training curves"),
                               key=f"train.live_curves.{record.id}", filename="training_curves")
    stop_column, cancel_column = st.columns(2)
    if (manager.store.folder(record.id) / jobs.STOP_FILE).exists():
        stop_column.caption("Stopping after the current batch; the model so far is kept…")
    elif record.status == jobs.RUNNING:
        stop_column.button("Stop and keep the model", key=f"train.stop.{record.id}", icon=":material/stop_circle:",
                           on_click=manager.store.request_stop, args=(record.id,),
                           help="Ends the training after the current batch and scores the model trained so far.")
    cancel_column.button("Cancel training", key=f"train.cancel.{record.id}", icon=":material/cancel:",
                         on_click=manager.cancel, args=(record.id,),
                         help="Ends the training's worker process at once; nothing is kept.")


@st.fragment(run_every=POLL_SECONDS)
def _monitor_training() -> None:
    """The user's queued and running trainings, redrawn every `POLL_SECONDS`; the whole page reruns once none
    is left (to show the result)."""
    active = [record for record in _train_jobs() if record.active]
    if not active:
        st.rerun(scope="app")
    for record in active:
        with st.container(border=True):
            _show_active(record)


def _show_outcome(record: jobs.JobRecord) -> None:
    """How the user's last training ended: its curves, scores against the baselines and saving, or why none."""
    manager = common.job_manager()
    spec = train_job.TrainJobSpec.from_dict(record.config)
    if record.status == jobs.CANCELLED:
        st.warning(f"Training {spec.name} was cancelled: its worker process was ended and nothing was kept.",
                   icon=":material/cancel:")
        return
    if record.status == jobs.INTERRUPTED:
        st.warning(f"Training {spec.name} was interrupted ({record.message}): start it again.",
                   icon=":material/warning:")
        return
    if record.status == jobs.FAILED:
        st.error(f"Training {spec.name} failed: {record.message}", icon=":material/error:")
        return
    folder = manager.store.folder(record.id)
    outcome = train_job.TrainOutcome.from_dict(manager.store.result(record.id))
    metadata = train_job.finished_bundle(folder)
    how = ("stopped on request (model kept)" if outcome.stopped else
           "stopped early (best weights kept)" if outcome.stopped_early else "finished")
    st.success(f"Training {how} after {outcome.epochs_run} epoch(s) in {outcome.train_seconds:.0f} s "
               f"on {spec.dataset_title}.", icon=":material/check_circle:")
    shipped = train_job.matching_bundle(metadata, paths.PRETRAINED_DIR)
    if shipped is not None:
        st.info(f"Training is deterministic: the same data, settings and seed give the same model. This run "
                f"reproduces the shipped model **{shipped}**: the same scores on every part of the same split. "
                "Change the seed or a setting to train a different one.", icon=":material/replay:")
    if metadata["history"].get("loss"):
        widgets.show_figure(model_figures.training_curves_figure(metadata["history"], title="Training curves"),
                           key="train.final_curves", filename=f"training_curves_{spec.name}")
    evaluation = reports.BundleEvaluation.from_dict(metadata["metrics"])
    widgets.show_headline_scores(evaluation, model_name=spec.train_config["preset"],
                                n_classes=len(metadata["class_names"]), key="train", tag=spec.name)
    _save_controls(folder, spec.name, bundle_info.role_of(metadata["feature_kind"]))


def _save_controls(folder: Path, default_name: str, role: str) -> None:
    """Keep the trained model in the workspace under a checked name, then offer to make it active."""
    saved = train_job.saved_folder(folder)
    if saved is None:
        name_column, button_column = st.columns([3, 1], vertical_alignment="bottom")
        name = name_column.text_input("Bundle name (letters, digits, - and _)", value=default_name,
                                      key="train.bundle_name").strip()
        if button_column.button("Save as bundle", key="train.save", icon=":material/save:", type="primary"):
            with widgets.errors_shown():
                with st.spinner(f"Saving {name}…"):
                    train_job.save_result(folder, name, paths.WORKSPACE_MODELS_DIR)
                st.rerun()
        return
    st.success(f"Saved as {saved}", icon=":material/save:")
    _activate_button(role, saved, key="train.activate")


def _activate_button(role: str, folder: str, key: str) -> None:
    if common.active_bundle_folder(role) == str(Path(folder).resolve()):
        st.caption(f"This is the active {role} model.")
        return
    if st.button(f"Make it the active {role} model", key=key, icon=":material/check:"):
        common.set_active_bundle(role, folder)
        st.rerun()


def _submit(config: TrainConfig, protocol: str, split_dir: str | None) -> None:
    """Queue a training of ``config`` on the active dataset as this user's job."""
    spec = common.active_dataset_spec()
    source = dataset_choice.job_source(spec)
    preset = _presets()[config.preset]
    if preset.features is not None:  # a pretrained network's input, extracted by the job from the same audio
        source = dataclasses.replace(source, feature_config=preset.features, kinds=(preset.feature_kind,))
    job = train_job.TrainJobSpec(config.to_dict(), source, protocol=protocol,
                                 split_dir=split_dir, name=_default_bundle_name(config.preset), dataset_title=spec.title)
    common.job_manager().submit(train_job.KIND, common.user_id(), job.to_dict())


def _train_tab(loaded: dataset_choice.LoadedDataset) -> None:
    dataset = loaded.dataset
    preset = _choose_preset(dataset)
    if preset is None:
        return
    from genre_core.train_config import TrainConfig

    try:
        settings = _training_settings(preset, dataset.n_classes)
    except InputError as error:
        widgets.user_error(error)
        return
    st.subheader("Split")
    seed = int(st.columns([1, 3])[0].number_input(
        "Seed", min_value=0, max_value=2**31 - 1, value=0, key="train.seed",
        help="Fixes the split, the initial weights and the order of the batches.",
    ))
    st.caption("Training is deterministic: the same dataset, settings and seed give the same model every time.")
    try:
        protocol, split_dir = _choose_split(dataset)
        split = splits.make_split(dataset, protocol, seed=seed, split_dir=split_dir)
        config = TrainConfig(**settings, seed=seed)
    except InputError as error:
        widgets.user_error(error)
        return
    if split.details.get("warning") and not split.leaky:
        st.warning(split.details["warning"], icon=":material/warning:")
    summary = reports.split_summary(dataset, split)
    st.dataframe(pd.DataFrame({"segments": summary.rows, "tracks": summary.tracks}).rename_axis("part"))
    st.subheader("Model")
    with widgets.errors_shown():
        _show_architecture(preset, config, dataset)
    if st.button("Train", key="train.start", type="primary", icon=":material/play_arrow:",
                 help="Trains in the background: you may reload the page or visit others meanwhile."):
        with widgets.errors_shown():
            _submit(config, protocol, split_dir)
            st.rerun()  # redraw with the job's progress
    records = _train_jobs()
    if any(record.active for record in records):
        _monitor_training()
    finished = [record for record in records if not record.active]
    if finished:
        with widgets.errors_shown():
            _show_outcome(finished[-1])


# ======================================================================================= loading bundles ======
def _unpacked_bundle(uploaded: Any) -> str:
    """The bundle folder inside the uploaded zip, unpacked once per upload into this session's folder."""
    unpacked = st.session_state.get(UNPACKED_BUNDLE_KEY)
    if unpacked is None or unpacked[0] != uploaded.file_id:
        with st.spinner(f"Unpacking {uploaded.name}…"):
            root = common.unpack_upload(uploaded, uploads.UPLOADED_BUNDLE, max_bytes=MAX_BUNDLE_ZIP_BYTES)
        candidates = [root] if (root / bundle_files.METADATA_FILE).is_file() else [
            folder for folder in root.iterdir() if (folder / bundle_files.METADATA_FILE).is_file()]
        if len(candidates) != 1:
            found = "no bundle.json" if not candidates else f"{len(candidates)} bundles"
            raise InputError(uploaded.name, f"not a model bundle zip ({found}; expected model.keras and bundle.json)")
        st.session_state[UNPACKED_BUNDLE_KEY] = (uploaded.file_id, str(candidates[0]))
    return st.session_state[UNPACKED_BUNDLE_KEY][1]


def _save_in_workspace(bundle: ModelBundle, name: str) -> Path:
    """Save ``bundle`` into the workspace as ``name`` (atomically); InputError for a bad or taken name."""
    from genre_core import bundles

    folder = train_job.new_bundle_folder(name, paths.WORKSPACE_MODELS_DIR)
    with st.spinner(f"Saving {name}…"):
        return bundles.save_bundle(dataclasses.replace(bundle, name=name), folder).resolve()


def _show_bundle(folder: str, dataset: Dataset, key: str, *, can_activate: bool = True) -> ModelBundle:
    """Summary of the bundle in ``folder``: what it eats, how it was trained, and whether it fits the active
    dataset; with ``can_activate`` a button makes it the active model of its role."""
    from genre_core import bundles

    bundle = common.load_bundle(folder)
    split = bundle.split_description
    st.markdown(
        f"**{bundle.name}** ({bundle_info.role_of(bundle.feature_kind)}, preset `{bundle.train_config.preset}`, "
        f"{bundle.feature_kind} features {' × '.join(map(str, bundle.feature_shape))}), {len(bundle.class_names)} "
        f"classes: {', '.join(bundle.class_names)}. Created {bundle.created or 'at an unknown time'}; split "
        f"protocol **{split.get('protocol', 'unknown')}**."
    )
    if split.get("protocol") == LEAKY:
        st.error("This model was trained on the leaky segment split: its stored scores are inflated.",
                 icon=":material/warning:")
    if bundle.history.get("loss"):
        widgets.show_figure(model_figures.training_curves_figure(bundle.history, title="Training curves"),
                           key=f"{key}.curves", filename=f"training_curves_{bundle.name}")
    with st.expander("Training settings"):
        st.json(bundle.train_config.to_dict())
    from genre_core import anatomy

    _show_layer_counts(anatomy.layer_counts(bundle.model), f"**{bundle.name}**", bundle.name)
    try:
        bundles.check_compatible(bundle, dataset)
        st.caption("It can score the active dataset (same classes and features).")
    except InputError as error:
        st.warning(f"It cannot score the active dataset: {error}", icon=":material/warning:")
    if can_activate:
        _activate_button(bundle_info.role_of(bundle.feature_kind), folder, key=f"{key}.activate")
    return bundle


def _uploaded_bundle(uploaded: Any, dataset: Dataset) -> None:
    """Show the bundle of an uploaded zip; it becomes usable as an active model once kept in the workspace
    (the upload folder is replaced by the session's next upload)."""
    folder = _unpacked_bundle(uploaded)
    bundle = _show_bundle(folder, dataset, key="train.uploaded", can_activate=False)
    kept = st.session_state.get(KEPT_BUNDLE_KEY)
    if kept is not None and kept[0] == uploaded.file_id:
        st.success(f"Kept in the workspace as {kept[1]}.", icon=":material/save:")
        _activate_button(bundle_info.role_of(bundle.feature_kind), kept[1], key="train.kept.activate")
        return
    name_column, button_column = st.columns([3, 1], vertical_alignment="bottom")
    default = bundle.name if train_job.BUNDLE_NAME.match(bundle.name) else "uploaded_model"
    name = name_column.text_input("Keep it in the workspace as", key="train.keep_name", value=default).strip()
    if button_column.button("Keep", key="train.keep", icon=":material/save:",
                            help="Saves a copy under this name in the workspace; then it can be made active."):
        st.session_state[KEPT_BUNDLE_KEY] = (uploaded.file_id, str(_save_in_workspace(bundle, name)))
        st.rerun()


def _load_tab(loaded: dataset_choice.LoadedDataset) -> None:
    source = st.radio("Bundle from", ["Shipped or workspace models", "Upload a zip"], horizontal=True,
                      key="train.load_source")
    if source == "Upload a zip":
        uploaded = st.file_uploader("Zip of a bundle folder (model.keras + bundle.json)", type=["zip"],
                                    key="train.bundle_zip")
        if uploaded is None:
            return
        with widgets.errors_shown():
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
    with widgets.errors_shown():
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

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
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd
import streamlit as st

from genre_core import bundle_info, dataset_choice, jobs, model_figures, paths, reports, splits, train_job
from genre_core.errors import InputError
from pages import bundle_panel, common, layer_table, train_settings, widgets

common.ensure_app_shell()

if TYPE_CHECKING:
    from genre_core.train_config import TrainConfig

POLL_SECONDS = 2.0  #: s between redraws of a running training's progress
STAGE_TEXT = {
    train_job.LOADING: "Loading the dataset and building the model…",
    train_job.TRAINING: "Starting the first epoch…",
    train_job.EVALUATING: "Training done: scoring the model and the baselines on every part of the split…",
}


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
    bundle_panel.activate_button(role, saved, key="train.activate")


def _submit(config: TrainConfig, protocol: str, split_dir: str | None) -> None:
    """Queue a training of ``config`` on the active dataset as this user's job."""
    spec = common.active_dataset_spec()
    source = dataset_choice.job_source(spec)
    preset = train_settings.preset_registry()[config.preset]
    if preset.features is not None:  # a pretrained network's input, extracted by the job from the same audio
        source = dataclasses.replace(source, feature_config=preset.features, kinds=(preset.feature_kind,))
    job = train_job.TrainJobSpec(config.to_dict(), source, protocol=protocol,
                                 split_dir=split_dir, name=_default_bundle_name(config.preset), dataset_title=spec.title)
    common.job_manager().submit(train_job.KIND, common.user_id(), job.to_dict())


def _train_tab(loaded: dataset_choice.LoadedDataset) -> None:
    dataset = loaded.dataset
    preset = train_settings.choose_preset(dataset)
    if preset is None:
        return
    from genre_core.train_config import TrainConfig

    try:
        settings = train_settings.training_settings(preset, dataset.n_classes)
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
        protocol, split_dir = train_settings.choose_split(dataset)
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
        layer_table.show_architecture(preset, config, dataset)
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


# ================================================================================================= page ======
def _page() -> None:
    loaded = common.require_dataset(first_use=True)  # a cold demo: log-mel and MFCC first, the summary table after
    common.pending_note(loaded)
    train_tab, load_tab = st.tabs(["Train a model", "Load a bundle"])
    with train_tab:
        _train_tab(loaded)
    with load_tab:
        bundle_panel.load_tab(loaded)


st.title("Train")
common.show_synthetic_badge()
st.markdown(
    "Train a classifier on the active dataset and watch it learn: the **loss** should fall and the **accuracy** "
    "rise on the training part, and the validation curves show whether it also works on songs it has not seen "
    "(a widening gap means it memorises). The split decides what the test score means: only a split that keeps "
    "each song (or artist) in one part measures how well the model handles new music."
)
_page()

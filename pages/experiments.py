"""Experiments: sweep one or two settings of a preset, each value trained with grouped k-fold cross-validation, and
read which setting is best and whether that is beyond noise; compare two sweeps.

A sweep runs as a background job (`genre_core.jobs`, kind ``"sweep"``) into its folder under
``data/sweeps/<name>/`` (`genre_core.sweep`): each finished run is stored there, so the page only reads that
folder (progress survives a reload, another tab, a stopped server) and an unfinished sweep resumes where it
stopped. TensorFlow is loaded only to check a new sweep's settings.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import streamlit as st

from genre_core import dataset_choice, jobs, paths, splits, sweep, sweep_figures
from genre_core.dataset import Dataset
from genre_core.errors import InputError
from genre_core.markdown import md
from genre_core.sweep_report import sweep_document
from genre_core.sweep_results import METRIC_NAMES, METRICS, compare_sweeps
from genre_core.sweep_spec import DEFAULT_FOLDS, DEFAULT_SEED, SweepSpec, fixed_settings, parse_vary
from genre_core.train_job import BUNDLE_NAME
from pages import common, report_buttons, widgets

common.ensure_app_shell()

POLL_SECONDS = 2.0  #: s between redraws of a running sweep
SELECTED_KEY = "experiments.sweep"  #: the folder name of the sweep shown
#: Values offered for a setting when it is chosen (edit them freely; the syntax is the CLI's ``--vary``).
SUGGESTED_VALUES = {
    "learning_rate": "0.01,0.001,0.0001", "batch_size": "32,64,128,256", "optimizer": "sgd,adam,rmsprop,adamw",
    "schedule": "constant,step,cosine,one-cycle", "epochs": "5,10,20", "momentum": "0.0,0.9",
    "weight_decay": "0.0,0.0001", "dropout": "0.0,0.2,0.5", "hidden": "[64],[128],[256]",
    "activation": "relu,elu,gelu,tanh", "batch_norm": "false,true", "l2": "0.0,0.001,0.01",
    "segments_per_track": "5,10,15", "n_mfcc": "13,20,26", "n_mels": "64,96,128", "seed": "0,1,2",
}


def sweeps_dir() -> Path:
    return paths.DATA_DIR / "sweeps"


def _sweep_jobs() -> list[jobs.JobRecord]:
    manager = common.job_manager()
    manager.refresh()
    return manager.store.list(kind=sweep.KIND)


def _active_job(folder: Path) -> jobs.JobRecord | None:
    """The queued or running job of the sweep in ``folder``, whoever started it."""
    return next((record for record in _sweep_jobs()
                 if record.active and Path(record.config["folder"]) == folder), None)


def _stored_sweeps() -> list[str]:
    """Folder names of the sweeps in the workspace, newest first."""
    if not sweeps_dir().is_dir():
        return []
    folders = [folder for folder in sweeps_dir().iterdir() if (folder / sweep.SPEC_FILE).is_file()]
    return [folder.name for folder in sorted(folders, key=lambda folder: folder.stat().st_mtime, reverse=True)]


def _artists_dir(dataset: Dataset) -> str | None:
    """The artist-filtered split folder when its artist lists name ``dataset``'s tracks (folds can group by
    artist), else None; a caption says which grouping the sweep gets and why."""
    if not paths.ARTIST_SPLIT_DIR.is_dir():
        st.caption(f"Folds grouped by track (the artist-filtered split, {md(paths.ARTIST_SPLIT_DIR)}, is not "
                   "there to name artists).")
        return None
    with widgets.errors_shown():
        artists = splits.dataset_artists(dataset, paths.ARTIST_SPLIT_DIR)
        if artists is None:
            st.caption("Folds grouped by track: this dataset's tracks have no known artists (the artist-filtered "
                       "GTZAN split names real GTZAN tracks only).")
            return None
        by_artist = st.toggle(
            "Group the folds by artist", value=True, key="experiments.by_artist",
            help=f"The artist-filtered GTZAN split names the artists of {len(artists.rows)} rows "
            f"({len(set(artists.artists.tolist()))} artists): no artist on both sides of a fold, so a model cannot "
            f"score by recognising a singer or a recording. Off: folds by track only (GTZAN has many tracks per "
            f"artist, so scores come out higher).")
        if by_artist and artists.unlisted_tracks:
            st.caption(f"{artists.unlisted_tracks} track(s) without a listed artist (the split's removed duplicates "
                       "and distorted excerpts) are left out of the folds.")
        return str(paths.ARTIST_SPLIT_DIR) if by_artist else None
    return None


@st.cache_resource(show_spinner="Loading TensorFlow…")
def _preset_names(kinds: tuple[str, ...], has_audio: bool) -> list[str]:
    from genre_core import models

    return [preset.name for preset in models.PRESETS.values()
            if preset.feature_kind in kinds and (has_audio or preset.features is None)]


def _new_sweep_form(loaded: dataset_choice.LoadedDataset) -> None:
    """Preset, one or two settings with their values, epochs, folds, seed and a name; Start checks everything
    (nothing trains on bad input) and queues the job."""
    from genre_core.models import get_preset
    from genre_core.sweep_spec import sweepable_settings

    dataset_spec = common.active_dataset_spec()
    names = _preset_names(tuple(loaded.dataset.features), dataset_spec.has_audio)
    preset = st.selectbox("Preset", names, key="experiments.preset")
    settings = list(sweepable_settings(preset))
    columns = st.columns(2)
    texts = []
    for number, column in enumerate(columns, start=1):
        with column:
            options = settings if number == 1 else ["(none)", *settings]
            default = "learning_rate" if number == 1 else "(none)"
            name = st.selectbox(f"Setting {number}", options, index=options.index(default),
                                key=f"experiments.setting{number}.{preset}")
            if name != "(none)":
                values = st.text_input("Values (comma-separated; lists in brackets)", SUGGESTED_VALUES.get(name, ""),
                                       key=f"experiments.values{number}.{preset}.{name}")
                texts.append(f"{name}={values}")
    epochs_column, folds_column, seed_column, name_column = st.columns(4)
    epochs = int(epochs_column.number_input("Epochs per run", 1, 500, 10, key="experiments.epochs"))
    folds = int(folds_column.number_input("Folds", 2, 20, DEFAULT_FOLDS, key="experiments.folds",
                                          help="Grouped k-fold: every window of a track in one fold (every "
                                               "track of an artist, where the artists are known), stratified by "
                                               "genre; each track tested once."))
    seed = int(seed_column.number_input("Seed", 0, 2**31 - 1, DEFAULT_SEED, key="experiments.seed",
                                        help="Fixes the folds, the initial weights and the batch order."))
    name = name_column.text_input("Sweep name", f"{preset}_{len(_stored_sweeps()) + 1}", key="experiments.name")
    artists_dir = _artists_dir(loaded.dataset)
    fixed_text = st.text_area("Other settings held fixed (NAME=VALUE, one per line)", "",
                              key=f"experiments.fixed.{preset}", placeholder="dropout=0.2\nhidden=[64, 32]",
                              help="Any setting the sweep can vary; the rest keep the preset's defaults.")
    if not st.button("Start the sweep", type="primary", icon=":material/play_arrow:", key="experiments.start"):
        return
    with widgets.errors_shown():
        if not BUNDLE_NAME.match(name):
            raise InputError("sweep name", f"'{name}' may hold only letters, digits, - and _ (1 to 64)")
        folder = sweeps_dir() / name
        if folder.exists():
            raise InputError("sweep name", f"a sweep '{name}' already exists: choose it below, or another name")
        source = dataset_choice.job_source(dataset_spec)
        fixed = fixed_settings([line for line in fixed_text.splitlines() if line.strip()], preset,
                               source="fixed setting")
        features = get_preset(preset).features or fixed.feature_config(source.feature_config)
        source = dataclasses.replace(source, feature_config=features)
        axes = tuple(parse_vary(text, preset) for text in texts)
        spec = SweepSpec(dataset=source, base_config={"epochs": epochs, **fixed.train_config}, axes=axes,
                         folds=folds, seed=seed, dataset_title=dataset_spec.title, artists_dir=artists_dir)
        spec.check()
        common.job_manager().submit(sweep.KIND, common.user_id(), sweep.SweepJobSpec(spec, str(folder)).to_dict())
        st.session_state[SELECTED_KEY] = name
        st.rerun()


def _progress(folder: Path, record: jobs.JobRecord) -> None:
    """A queued sweep's place, or a running one's runs done and its current run's epoch; Stop and Cancel."""
    manager = common.job_manager()
    if record.status == jobs.QUEUED:
        st.info(f"Waiting for a free slot: place {manager.queue_position(record.id) or 1} in the queue.",
                icon=":material/hourglass_top:")
    else:
        events = manager.store.events(record.id)
        runs = [event for event in events if event.get("type") == "run"]
        epochs = [event for event in events if event.get("type") == "epoch"]
        result = sweep.load_sweep(folder)
        text = f"{result.runs_done} of {result.runs_total} runs stored"
        if runs:
            current = runs[-1]
            text += f" · now {current['label']}, fold {current['fold']}"
            if epochs and (epochs[-1]["point"], epochs[-1]["fold"]) == (current["point"], current["fold"]):
                text += f" · epoch {epochs[-1]['epoch']}/{epochs[-1]['epochs']}"
        st.progress(result.runs_done / result.runs_total, text=text)
    if record.owner == common.user_id():
        stop, cancel = st.columns(2)
        stop.button("Stop after this run's current batch", key=f"experiments.stop.{record.id}",
                    on_click=manager.store.request_stop, args=(record.id,), icon=":material/stop_circle:",
                    help="The finished runs stay stored; resume the sweep later.")
        cancel.button("Cancel now", key=f"experiments.cancel.{record.id}", on_click=manager.cancel,
                      args=(record.id,), icon=":material/cancel:", help="Ends the worker; finished runs stay.")


@st.fragment(run_every=POLL_SECONDS)
def _live(folder: Path) -> None:
    """A running sweep's progress and its results so far, redrawn every `POLL_SECONDS`."""
    record = _active_job(folder)
    if record is None:
        st.rerun(scope="app")
    _progress(folder, record)
    _results(sweep.load_sweep(folder), live=True, name=folder.name)


def _results(result: sweep.SweepResult, *, name: str, live: bool = False) -> None:
    """The table, the bar chart with error bars, the curves and the best-setting verdict; when not ``live``, the
    report downloads; files are named after the sweep ``name``."""
    suffix = ".live" if live else ""
    if result.runs_done == 0:
        st.caption("No run has finished yet.")
        return
    metric = st.radio("Score", METRICS, format_func=METRIC_NAMES.get, horizontal=True,
                      key=f"experiments.metric{suffix}")
    table = sweep_figures.results_table(result)
    st.dataframe(table, hide_index=True)
    widgets.table_download(table, f"sweep_{name}")
    widgets.show_figure(sweep_figures.sweep_bars_figure(result, metric), key=f"experiments.bars{suffix}",
                       filename=f"sweep_{name}_scores")
    best = result.best(metric)
    if best is not None:
        within = any(other.within_noise for other in best.others)
        (st.warning if within else st.success)(best.summary, icon=":material/balance:")
        st.caption(best.rule)
    elif not live:
        st.caption("The best-setting verdict needs at least two settings with every fold finished.")
    curve = st.radio("Curves", sweep_figures.CURVE_KEYS, format_func=sweep_figures.CURVE_NAMES.get,
                     horizontal=True, key=f"experiments.curve{suffix}")
    widgets.show_figure(sweep_figures.curves_figure(result, curve), key=f"experiments.curves{suffix}",
                       filename=f"sweep_{name}_curves")
    for line in result.warnings:
        st.caption(f":orange[{md(line)}]")
    if not live:
        report_buttons.report_downloads(lambda: sweep_document(result, metric), f"sweep_{name}",
                                        "The sweep's facts, best setting with its noise verdict, results table, bars "
                                        "and validation curves")


def _show_sweep(name: str) -> None:
    folder = sweeps_dir() / name
    result = sweep.load_sweep(folder)
    spec = result.spec
    settings = " × ".join(f"{axis.name} ({len(axis.values)})" for axis in spec.axes)
    st.markdown(f"**{md(name)}**: {spec.preset} on {md(spec.dataset_title or spec.dataset.location)}, "
                f"{settings}, {spec.folds} folds {result.grouping}, seed {spec.seed}, "
                f"{spec.base_config.get('epochs', 20)} epochs per run")
    if _active_job(folder) is not None:
        _live(folder)
        return
    if not result.complete:
        st.info(f"{result.runs_done} of {result.runs_total} runs are stored: the sweep was stopped or interrupted.",
                icon=":material/pause_circle:")
        if st.button("Resume (trains only the missing runs)", key="experiments.resume", icon=":material/replay:"):
            with widgets.errors_shown():
                job = sweep.SweepJobSpec(spec, str(folder))
                common.job_manager().submit(sweep.KIND, common.user_id(), job.to_dict())
                st.rerun()
    _results(result, name=name)


def _compare(names: list[str], first: str) -> None:
    others = [name for name in names if name != first]
    if not others:
        st.caption("Run a second sweep to compare it with this one.")
        return
    second = st.selectbox("Compare with", others, key="experiments.compare")
    metric = st.radio("Score", METRICS, format_func=METRIC_NAMES.get, horizontal=True,
                      key="experiments.compare_metric")
    with widgets.errors_shown():
        comparison = compare_sweeps(sweep.load_sweep(sweeps_dir() / first), sweep.load_sweep(sweeps_dir() / second),
                                    metric)
        st.dataframe(sweep_figures.comparison_table(comparison, (first, second)), hide_index=True)
        widgets.show_figure(sweep_figures.comparison_figure(comparison, (first, second)),
                           key="experiments.comparison", filename="sweep_comparison")
        st.caption(f"Settings are matched by name and value; p-values from a {comparison.test}.")


def _page() -> None:
    loaded = common.require_dataset()
    with st.expander("New sweep", expanded=not _stored_sweeps()):
        _new_sweep_form(loaded)
    names = _stored_sweeps()
    if not names:
        st.info("No sweeps yet: start one above.", icon=":material/science:")
        return
    mine = [Path(record.config["folder"]).name for record in _sweep_jobs() if record.owner == common.user_id()]
    if st.session_state.get(SELECTED_KEY) not in names:
        st.session_state[SELECTED_KEY] = next((name for name in reversed(mine) if name in names), names[0])
    shown = st.selectbox("Sweep", names, key=SELECTED_KEY)
    results_tab, compare_tab = st.tabs(["Results", "Compare two sweeps"])
    with results_tab, widgets.errors_shown():
        _show_sweep(shown)
    with compare_tab:
        _compare(names, shown)


st.title("Experiments")
common.show_synthetic_badge()
st.markdown(
    "Which learning rate, batch size or layer size is best? Train the same preset at every value of one or two "
    "settings, each with **grouped k-fold cross-validation** (no track on both sides of a fold, and no artist where "
    "the artists are known), and compare the **mean ± std** over the folds. A higher mean is not yet a better "
    "setting: the verdict below says when the difference is within the noise of the folds."
)
_page()

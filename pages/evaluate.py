"""Evaluate: scores of the active models (or of any two bundles side by side) on the active dataset, per part of
the split, per segment and per track, against baselines; and, for the Kaggle table, how much a random split
inflates accuracy compared with the artist-filtered one.

Scores are cached per bundle (folder and ``bundle.json`` modification time), dataset (`dataset_choice.dataset_key`)
and split choice, so a rerun redraws without scoring again. TensorFlow is imported only inside functions.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import streamlit as st

from genre_core import (
    baselines, bundle_files, bundle_info, dataset_choice, lesson, model_figures, model_tables, paths, reports, splits,
    stamps,
)
from genre_core.config import SUMMARY
from genre_core.dataset import Dataset
from genre_core.errors import InputError
from genre_core.markdown import md
from genre_core.splits import Split
from pages import common, score_panels, widgets

common.ensure_app_shell()

if TYPE_CHECKING:
    from genre_core.bundles import ModelBundle

#: The published artist-filtered GTZAN split beside the checkout, offered for the protocol comparison.
DEFAULT_SPLIT_DIR = paths.ARTIST_SPLIT_DIR
STORED, NEW_GROUPED = "stored", "grouped"
SPLIT_LABELS = {STORED: "The split stored with the model", NEW_GROUPED: "A new grouped (track-level) split"}
ACTIVE, PAIR = "active", "pair"
MODE_LABELS = {ACTIVE: "The active models", PAIR: "Two bundles side by side"}
#: Table columns holding fractions, shown as percentages.


# ================================================================================================ splits ======
def _stored_split(dataset: Dataset, description: dict[str, Any]) -> Split:
    """The split a bundle was trained with (``bundle.split_description``) on ``dataset``: rebuilt from the
    track ids of each part (`reports.split_from_description`), or, for the leaky split whose parts share
    tracks, made again from its seed and fractions and checked against the listed tracks."""
    if description.get("protocol") != "leaky":
        return reports.split_from_description(dataset, description)
    details = dict(description.get("details") or {})
    split = splits.leaky_split(dataset, val_fraction=float(details.get("val_fraction", 0.15)),
                               test_fraction=float(details.get("test_fraction", 0.15)),
                               seed=int(description.get("seed") or 0))
    if split.describe(dataset)["track_ids"] != description.get("track_ids"):
        raise InputError("the model's leaky split", "cannot be made again on this dataset")
    return split


def _split_for(bundle: ModelBundle, dataset: Dataset, choice: str, seed: int) -> tuple[Split, str]:
    """The split to score on and its cache key: the stored one (if it fits the dataset) or a new grouped one."""
    if choice == STORED:
        try:
            return _stored_split(dataset, bundle.split_description), STORED
        except InputError as error:
            st.info(f"The model's own split does not fit: {md(error)}. Scoring on a new grouped split instead.",
                    icon=":material/info:")
    return splits.grouped_split(dataset, seed=seed), f"{NEW_GROUPED}:{seed}"


def _warn_about_split(bundle: ModelBundle, dataset: Dataset, split: Split) -> None:
    """Say loudly when the scores are inflated: a leaky split, or test tracks the model was trained on."""
    if split.leaky or bundle.split_description.get("protocol") == "leaky":
        st.error(
            "**Leaky split.** This model was trained on a segment-level split: windows of the same songs sit in "
            "train and test, so it is scored on songs it has already heard. These numbers are inflated; train "
            "with the grouped split for honest ones.", icon=":material/warning:",
        )
    trained_on = list((bundle.split_description.get("track_ids") or {}).get("train", []))
    test_tracks = np.unique(dataset.track_ids[split.test])
    seen = int(np.isin(test_tracks, trained_on).sum())
    if seen and not split.leaky:
        st.warning(f"{seen} of the {len(test_tracks)} test tracks were in the model's training part: "
                   "its test scores are too high.", icon=":material/warning:")


# ============================================================================================ evaluation ======
@st.cache_data(show_spinner=False, max_entries=32)
def _evaluation(
    folder: str, metadata_mtime_ns: int, dataset_id: tuple[Any, ...], split_key: str,
    _bundle: ModelBundle, _dataset: Dataset, _split: Split,
) -> reports.BundleEvaluation:
    """`reports.evaluate_bundle` of the bundle in ``folder`` on the dataset and split the other keys name."""
    return reports.evaluate_bundle(_bundle, _dataset, _split)


def _fitting_bundles(dataset: Dataset) -> list[bundle_info.BundleInfo]:
    """Listed bundles with the dataset's classes (in order) and a feature kind it holds (read from their
    ``bundle.json``; `bundles.check_compatible` still checks the feature settings once one is loaded)."""
    infos, _ = common.scan_bundles()
    return [info for info in infos
            if list(info.class_names) == list(dataset.class_names) and info.feature_kind in dataset.features]


def _mismatch_advice(bundle: ModelBundle, dataset: Dataset) -> str:
    """Which bundles fit the dataset, or which dataset the bundle needs."""
    matching = [info.name for info in _fitting_bundles(dataset)]
    if matching:
        return f"Bundles made for classes like the active dataset's: {', '.join(matching)} (choose one in the sidebar)."
    return (f"Load a dataset with the classes {', '.join(bundle.class_names)} and {bundle.feature_kind} features on "
            "the Data page, or train a model on this dataset on the Train page.")


def _show_scores(folder: str, bundle: ModelBundle, evaluation: reports.BundleEvaluation, dataset: Dataset,
                 split: Split, split_key: str, key: str) -> None:
    """Metrics table, baselines, confusion matrix (clickable), per-class report, segment- vs track-level accuracy
    and the report downloads. ``key`` prefixes the widget keys; its last part (role or side) ends the names of
    downloaded files."""
    tag = f"{bundle.name}_{key.rsplit('.', 1)[-1]}"
    report, scores = widgets.show_headline_scores(evaluation, model_name=bundle.name, n_classes=dataset.n_classes,
                                                 key=key, tag=tag)
    if "test" in report.parts and scores:
        baseline_table = model_tables.baselines_table(bundle.name, report.parts["test"].segment_metrics, scores)
        widgets.show_score_table(baseline_table, f"baselines_{tag}")
    score_panels.show_part_scores(folder, bundle, evaluation, dataset, split, split_key, key, tag)
    st.caption("A track is scored once: by the mean of its windows' probabilities, or by the genre most of its "
               "windows vote for. Averaging over a whole song usually corrects single-window mistakes.")
    widgets.show_figure(widgets.cached_figure(model_figures.segment_vs_track_figure, report,
                                              title="Per segment and per track"),
                       key=f"{key}.levels", filename=f"segment_vs_track_{tag}")
    score_panels.report_downloads(evaluation, bundle, dataset, split, tag)


def _evaluate_bundle(folder: str, loaded: dataset_choice.LoadedDataset, choice: str, seed: int, key: str) -> None:
    """Load the bundle in ``folder``, check it fits the active dataset, score it (cached) and show the scores."""
    from genre_core import bundles

    dataset = loaded.dataset
    bundle = common.load_bundle(folder)
    try:
        bundles.check_compatible(bundle, dataset)
    except InputError as error:
        st.error(f"Model '{md(bundle.name)}' cannot score the active dataset: {md(error)}. "
                 f"{_mismatch_advice(bundle, dataset)}",
                 icon=":material/block:")
        return
    split, split_key = _split_for(bundle, dataset, choice, seed)
    _warn_about_split(bundle, dataset, split)
    st.caption(f"Model **{md(bundle.name)}** ({bundle.feature_kind}, preset {bundle.train_config.preset}), split "
               f"protocol **{split.protocol}**.")
    metadata = Path(folder) / bundle_files.METADATA_FILE
    with st.spinner(f"Scoring {bundle.name} and the baselines on every part of the split…"):
        evaluation = _evaluation(str(Path(folder).resolve()), metadata.stat().st_mtime_ns,
                                 common.active_dataset_key(), split_key,
                                 _bundle=bundle, _dataset=dataset, _split=split)
    _show_scores(folder, bundle, evaluation, dataset, split, split_key, key)


# ================================================================================= protocol comparison ======
@st.cache_data(show_spinner=False, max_entries=4)
def _protocol_comparison(dataset_id: tuple[Any, ...], split_dir: str, split_stamp: str, _dataset: Dataset) -> dict:
    """`baselines.compare_protocols` on the artist-filtered folds of ``split_dir`` (their training parts whole)."""
    folds = [splits.artist_filtered_split(_dataset, split_dir, fold, val_fraction=0.0)
             for fold in splits.ARTIST_FILTERED_FOLDS]
    return baselines.compare_protocols(_dataset.features[SUMMARY], _dataset.labels, _dataset.track_ids,
                                       [(fold.train, fold.test) for fold in folds])


def _show_protocol_comparison(loaded: dataset_choice.LoadedDataset) -> None:
    """For the Kaggle table: baselines on the artist-filtered folds versus random folds of the same tracks."""
    dataset = loaded.dataset
    st.subheader("How much does leakage inflate accuracy?")
    st.markdown(
        "GTZAN holds several songs by the same artist. A random split puts some of them in training and others in "
        "test, so a classifier can recognise the artist (or even the same recording session) instead of the genre. "
        "The artist-filtered split keeps each artist on one side. The same simple classifiers are scored on both; "
        "the gap is the leakage."
    )
    split_dir = st.text_input("Artist-filtered split folder", value=str(DEFAULT_SPLIT_DIR) if DEFAULT_SPLIT_DIR.is_dir()
                              else "", key="evaluate.split_dir").strip()
    if not split_dir:
        st.caption("Give the folder of the artist-filtered split files (f1_train.txt, f1_evaluate.txt, ...).")
        return
    with widgets.errors_shown(), st.spinner("Fitting the baselines on 3 artist-filtered and 3 random folds…"):
        paths.confine(split_dir, "split folder")
        comparison = _protocol_comparison(common.active_dataset_key(), split_dir,
                                          stamps.source_stamp(Path(split_dir)), _dataset=dataset)
        widgets.show_figure(model_figures.protocol_comparison_figure(comparison), key="evaluate.protocols",
                           filename="protocol_comparison")
        widgets.show_score_table(model_tables.protocol_table(comparison), "protocol_comparison")


# ================================================================================================= page ======
def _choose_pair(dataset: Dataset) -> list[str]:
    """Two bundles (folders) whose classes and feature kind fit the dataset, chosen on the page."""
    fitting = {info.folder: info for info in _fitting_bundles(dataset)}
    if len(fitting) < 2:
        st.info(f"{len(fitting)} bundle(s) fit the active dataset's classes and features; two are needed. Train "
                "another on the Train page.")
        return []
    left_column, right_column = st.columns(2)
    left = left_column.selectbox("First bundle", list(fitting), format_func=lambda f: fitting[f].label,
                                 key="evaluate.left")
    others = [folder for folder in fitting if folder != left]
    right = right_column.selectbox("Second bundle", others, format_func=lambda f: fitting[f].label,
                                   key="evaluate.right")
    return [left, right]


def _page() -> None:
    loaded = common.require_dataset()
    mode_column, split_column, seed_column = st.columns([2, 2, 1])
    mode = mode_column.radio("Evaluate", list(MODE_LABELS), format_func=MODE_LABELS.get, key="evaluate.mode")
    choice = split_column.radio("Split", list(SPLIT_LABELS), format_func=SPLIT_LABELS.get, key="evaluate.split",
                                help="The stored split scores the model on exactly the songs it never saw.")
    seed = int(seed_column.number_input("Seed of a new split", min_value=0, max_value=2**31 - 1, value=0,
                                        key="evaluate.seed", disabled=choice == STORED))
    if mode == ACTIVE:
        folders = {role: common.active_bundle_folder(role) for role in (bundle_info.FFN, bundle_info.CNN)}
        folders = {role: folder for role, folder in folders.items() if folder}
        if not folders:
            st.info("No active model: choose one in the sidebar, or train one on the Train page.")
        else:
            tabs = st.tabs([f"{role} model: {Path(folder).name}" for role, folder in folders.items()])
            for tab, (role, folder) in zip(tabs, folders.items()):
                with tab, widgets.errors_shown():
                    _evaluate_bundle(folder, loaded, choice, seed, key=f"evaluate.{role}")
    else:
        pair = _choose_pair(loaded.dataset)
        for column, folder, side in zip(st.columns(2), pair, ("left", "right")):
            with column, widgets.errors_shown():
                _evaluate_bundle(folder, loaded, choice, seed, key=f"evaluate.{side}")
    if common.active_dataset_spec().kind == dataset_choice.CSV and SUMMARY in loaded.dataset.features:
        _show_protocol_comparison(loaded)
    _show_lesson()


def _show_lesson() -> None:
    """From scratch against transfer, as measured when the shipped transfer bundle was built."""
    result = lesson.shipped_lesson()
    if result is None:
        return
    st.subheader("Why pretrained networks? From scratch against transfer")
    st.markdown(
        f"The same {result.tracks} real GTZAN tracks, the same {result.folds} grouped folds (every window of a track "
        f"in one fold, each track tested once), the same seed: **`{result.scratch.preset}`** learns everything from "
        f"these few songs, **`{result.transfer.preset}`** reuses a network that learned to hear music from about "
        "200 000 songs (musicnn's VGG, Million Song Dataset) and only learns the genre names. Measured once when "
        f"GenreLens was built (2 CPU cores): transfer is **{result.gain_points:+.0f} points** of track accuracy."
    )
    widgets.show_figure(widgets.cached_figure(model_figures.lesson_figure, result), key="evaluate.lesson",
                        filename="lesson_scratch_vs_transfer")
    for column, side, label in zip(st.columns(2), (result.scratch, result.transfer), ("from scratch", "transfer")):
        with column:
            widgets.show_figure(
                widgets.cached_figure(model_figures.confusion_figure, np.asarray(side.confusion), result.class_names,
                                      normalised=False, title=f"{side.preset} ({label}): test tracks of all folds",
                                      unit="tracks"),
                key=f"evaluate.lesson.{side.preset}", filename=f"lesson_confusion_{side.preset}",
            )
    st.caption("A small dataset, so each fold's score moves by whole tracks: the dots show each fold. In these 70 "
               "tracks several genres come from one artist, which flatters both sides alike.")


st.title("Evaluate")
common.show_synthetic_badge()
st.markdown(
    "How good is a model, and on what? Each table and chart scores it on the **train**, **validation** and "
    "**test** parts of a split: only the test part (songs it never saw) tells how it will do on new music. "
    "The confusion matrix shows which genres it mixes up (true genre down the side, predicted genre along the "
    "bottom), and the baselines show what simple classifiers reach on the same songs."
)
_page()

"""The Train page's Load tab: a bundle from the shipped or workspace models, or from an uploaded zip (kept in the
workspace under a checked name before it can be active); what it eats, how it was trained, its layer table,
whether it fits the active dataset, and the button that makes a bundle the active model of its role.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import TYPE_CHECKING, Any

import streamlit as st

from genre_core import bundle_files, bundle_info, dataset_choice, model_figures, paths, splits, train_job, uploads
from genre_core.dataset import Dataset
from genre_core.errors import InputError
from pages import common, layer_table, widgets

if TYPE_CHECKING:
    from genre_core.bundles import ModelBundle

UNPACKED_BUNDLE_KEY = "train.unpacked_bundle"  #: (file id of the uploaded zip, bundle folder it was unpacked to)
KEPT_BUNDLE_KEY = "train.kept_bundle"  #: (file id of the uploaded zip, workspace folder it was copied to)
MAX_BUNDLE_ZIP_BYTES = 512 * 1024**2  #: largest total size an uploaded bundle zip may unpack to
_, _, LEAKY, _ = splits.PROTOCOLS  #: the leaky segment split's protocol (a bundle trained on it gets a warning)


def activate_button(role: str, folder: str, key: str) -> None:
    """A button that makes the bundle in ``folder`` the active ``role`` model, or a caption where it already is."""
    if common.active_bundle_folder(role) == str(Path(folder).resolve()):
        st.caption(f"This is the active {role} model.")
        return
    if st.button(f"Make it the active {role} model", key=key, icon=":material/check:"):
        common.set_active_bundle(role, folder)
        st.rerun()


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
        widgets.show_figure(widgets.cached_figure(model_figures.training_curves_figure, bundle.history,
                                                  title="Training curves"),
                           key=f"{key}.curves", filename=f"training_curves_{bundle.name}")
    with st.expander("Training settings"):
        st.json(bundle.train_config.to_dict())
    from genre_core import anatomy

    layer_table.show_layer_counts(anatomy.layer_counts(bundle.model), f"**{bundle.name}**", bundle.name)
    try:
        bundles.check_compatible(bundle, dataset)
        st.caption("It can score the active dataset (same classes and features).")
    except InputError as error:
        st.warning(f"It cannot score the active dataset: {error}", icon=":material/warning:")
    if can_activate:
        activate_button(bundle_info.role_of(bundle.feature_kind), folder, key=f"{key}.activate")
    return bundle


def _uploaded_bundle(uploaded: Any, dataset: Dataset) -> None:
    """Show the bundle of an uploaded zip; it becomes usable as an active model once kept in the workspace
    (the upload folder is replaced by the session's next upload)."""
    folder = _unpacked_bundle(uploaded)
    bundle = _show_bundle(folder, dataset, key="train.uploaded", can_activate=False)
    kept = st.session_state.get(KEPT_BUNDLE_KEY)
    if kept is not None and kept[0] == uploaded.file_id:
        st.success(f"Kept in the workspace as {kept[1]}.", icon=":material/save:")
        activate_button(bundle_info.role_of(bundle.feature_kind), kept[1], key="train.kept.activate")
        return
    name_column, button_column = st.columns([3, 1], vertical_alignment="bottom")
    default = bundle.name if train_job.BUNDLE_NAME.match(bundle.name) else "uploaded_model"
    name = name_column.text_input("Keep it in the workspace as", key="train.keep_name", value=default).strip()
    if button_column.button("Keep", key="train.keep", icon=":material/save:",
                            help="Saves a copy under this name in the workspace; then it can be made active."):
        st.session_state[KEPT_BUNDLE_KEY] = (uploaded.file_id, str(_save_in_workspace(bundle, name)))
        st.rerun()


def load_tab(loaded: dataset_choice.LoadedDataset) -> None:
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

"""GenreLens dashboard: ``streamlit run app.py``.

Sets up the page, the navigation and the sidebar (the active dataset and the active FFN and CNN models);
each page under ``pages/`` draws the rest. Nothing here imports TensorFlow, so the first page appears fast.

Streamlit runs this file as ``__main__``. Everything that draws is in `main`, behind the ``__name__`` guard
that Python's multiprocessing documentation asks for: a process started with its spawn method imports the
server's main script as ``__mp_main__`` (job workers are not: `genre_core.job_worker`).
"""

from __future__ import annotations

import streamlit as st

from genre_core import bundle_info
from genre_core.markdown import md

from pages import common, heap, presenter, widgets

PAGES = [
    st.Page("pages/start.py", title="Start here", icon=":material/home:", default=True),
    st.Page("pages/data.py", title="Data", icon=":material/database:"),
    st.Page("pages/train.py", title="Train", icon=":material/model_training:"),
    st.Page("pages/evaluate.py", title="Evaluate", icon=":material/fact_check:"),
    st.Page("pages/experiments.py", title="Experiments", icon=":material/science:"),
    st.Page("pages/walkthroughs.py", title="Walkthroughs", icon=":material/school:", url_path="walkthroughs"),
    st.Page("pages/browse.py", title="Browse & Grad-CAM", icon=":material/image_search:"),
    st.Page("pages/shap_page.py", title="SHAP", icon=":material/insights:", url_path="shap"),
    st.Page("pages/your_song.py", title="Your song", icon=":material/music_note:"),
]


def _select_bundle(role: str, bundles: list[bundle_info.BundleInfo]) -> None:
    """A selectbox over the ``role`` bundles and a caption with the chosen one's classes and accuracy."""
    by_folder = {info.folder: info for info in bundles if info.role == role}
    widget_key = f"sidebar.{role}_bundle"
    current = common.active_bundle_folder(role)
    st.session_state[widget_key] = current if current in by_folder else None
    chosen = st.sidebar.selectbox(
        f"{role} model",
        [None, *by_folder],
        key=widget_key,
        placeholder="none",
        format_func=lambda folder: "none" if folder is None else by_folder[folder].label,
        on_change=lambda: common.set_active_bundle(role, st.session_state[widget_key]),
    )
    st.sidebar.caption(widgets.describe_bundle(by_folder.get(chosen)))


def _sidebar() -> None:
    """The active dataset (with a SYNTHETIC badge for the demo) and the active FFN and CNN models."""
    st.sidebar.subheader("Dataset")
    common.show_synthetic_badge(st.sidebar)
    slot = st.sidebar.empty()  # a page that loads the dataset says so here while it loads (common.load_dataset)
    slot.markdown(widgets.describe_dataset(common.active_dataset_spec(), common.peek_active_dataset()))
    st.session_state[common.SIDEBAR_DATASET_KEY] = slot
    st.sidebar.subheader("Models")
    bundles, problems = common.scan_bundles()
    if not bundles:
        st.sidebar.caption("No models yet: pretrained ones appear in assets/models, the ones you train in data/models.")
    for role in (bundle_info.FFN, bundle_info.CNN):
        _select_bundle(role, bundles)
    for problem in problems:
        st.sidebar.caption(f":red[Skipped {md(problem)}]")


def main() -> None:
    st.set_page_config(page_title="GenreLens", page_icon="🎵", layout="wide")
    common.start_run()
    common.init_state()
    common.recover_workspace()
    common.keep_upload_alive()
    common.user_id()  # keeps this browser's id in the URL, so its jobs are found again after a reload
    page = st.navigation(PAGES)
    _sidebar()
    presenter.sidebar_toggle()
    presenter.apply()
    with common.app_shell():
        try:
            page.run()
        finally:  # before Streamlit's after-run Keras clean-up and its full garbage collection (pages/heap.py)
            heap.settle()


if __name__ == "__main__":
    main()

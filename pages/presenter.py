"""Presenter mode for lectures, and stepped content that follows it.

Presenter mode (a sidebar toggle; ``?present=1`` in the URL, so a reload or a link keeps it) makes the text larger,
hides the sidebar and shows stepped content one step per screen with big Previous / Next buttons, which a
presentation clicker drives too (it sends Page Up / Page Down). Outside presenter mode the same steps are shown
one below the other. While a step is on screen, the next step's ``prepare`` runs (e.g. a cached computation), so
pressing Next does not keep a class waiting.

A guided page builds a list of `Step` and calls `show_steps`. Only Streamlit's public API is used: CSS through
``st.html``, the step in ``st.session_state``, the mode in ``st.query_params``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import streamlit as st

PRESENT_PARAM = "present"  #: query parameter: "1" while presenter mode is on
TOGGLE_KEY = "presenter.toggle"
NEXT_SHORTCUT, PREVIOUS_SHORTCUT = "PageDown", "PageUp"  #: what presentation clickers send
#: Larger type, no sidebar (nor its expand control), big step buttons, a little more room at the top.
PRESENTER_CSS = """
<style>
html { font-size: 125%; }
[data-testid="stAppViewContainer"] .stMarkdown p, [data-testid="stAppViewContainer"] .stMarkdown li { font-size: 1.25rem; }
section[data-testid="stSidebar"], [data-testid="stSidebarCollapsedControl"], [data-testid="stExpandSidebarButton"] {
  display: none !important; }
.st-key-presenter-nav button { min-height: 4rem; font-size: 1.5rem; }
.st-key-presenter-nav button p { font-size: 1.5rem; }
</style>
"""


@dataclass(frozen=True)
class Step:
    """One screen of stepped content: its ``title``, ``show`` drawing its body, the ``questions`` the audience is
    asked (shown in a box beneath), and ``prepare``, run while the step before it is on screen (None: nothing).
    With an ``answer_key``, each question gets a box for its answer, kept in the session (`answer`) whether or not
    the step is on screen."""

    title: str
    show: Callable[[], None]
    questions: tuple[str, ...] = ()
    prepare: Callable[[], object] | None = None
    answer_key: str | None = None


def is_on() -> bool:
    """Whether presenter mode is on (``?present=1``)."""
    return st.query_params.get(PRESENT_PARAM) == "1"


def _toggled() -> None:
    if st.session_state[TOGGLE_KEY]:
        st.query_params[PRESENT_PARAM] = "1"
    else:
        st.query_params.pop(PRESENT_PARAM, None)


def _leave() -> None:
    st.query_params.pop(PRESENT_PARAM, None)
    st.session_state[TOGGLE_KEY] = False


def sidebar_toggle() -> None:
    """The toggle in the sidebar (app.py draws it for every page)."""
    st.session_state[TOGGLE_KEY] = is_on()
    st.sidebar.toggle("Presenter mode", key=TOGGLE_KEY, on_change=_toggled,
                      help="For lectures: larger text, no sidebar, guided content one step per screen with big "
                      "Previous / Next buttons (a presentation clicker's Page Up / Page Down work too).")


def apply() -> None:
    """In presenter mode: the presenter style and, at the top of the page, the way out (the sidebar is hidden)."""
    if not is_on():
        return
    st.html(PRESENTER_CSS)
    st.button("Leave presenter mode", key="presenter.leave", on_click=_leave, icon=":material/close_fullscreen:",
              type="tertiary")


def _step_key(key: str) -> str:
    return f"presenter.{key}.step"


def _move(key: str, by: int, count: int) -> None:
    state_key = _step_key(key)
    st.session_state[state_key] = min(max(st.session_state.get(state_key, 0) + by, 0), count - 1)


def _answer_state_key(answer_key: str, question: int) -> str:
    return f"presenter.answer.{answer_key}.{question}"


def answer(answer_key: str, question: int) -> str:
    """The answer typed for the 0-based ``question`` of the step with ``answer_key`` in this session ("" if none)."""
    return str(st.session_state.get(_answer_state_key(answer_key, question), ""))


def restore_answer(answer_key: str, question: int, text: str) -> None:
    """Put back an answer kept elsewhere (e.g. with a stored run) unless this session already holds one for the
    0-based ``question`` of the step with ``answer_key``."""
    st.session_state.setdefault(_answer_state_key(answer_key, question), text)


def _keep_answer(state_key: str) -> None:
    # a widget's own state is dropped while it is not drawn (another step on screen): keep the text under a key
    # no widget owns
    st.session_state[state_key] = st.session_state[f"{state_key}.box"]


def _show_questions(step: Step) -> None:
    if not step.questions:
        return
    with st.container(border=True):
        st.markdown("**Questions to answer**")
        if step.answer_key is None:
            st.markdown("\n".join(f"{number}. {question}" for number, question in enumerate(step.questions, 1)))
            return
        for number, question in enumerate(step.questions):
            state_key = _answer_state_key(step.answer_key, number)
            st.text_area(f"{number + 1}. {question}", value=answer(step.answer_key, number), key=f"{state_key}.box",
                         on_change=_keep_answer, args=(state_key,), placeholder="Your answer…")


def current_step(key: str, count: int) -> int:
    """The 0-based step on screen of the stepped content ``key`` with ``count`` steps."""
    return min(max(int(st.session_state.get(_step_key(key), 0)), 0), count - 1)


def show_steps(steps: Sequence[Step], key: str) -> None:
    """Draw ``steps``: one per screen with Previous / Next in presenter mode (and the next one prepared), else all
    of them in order. ``key`` names this content's place in the session (one per page)."""
    if not steps:
        return
    if not is_on():
        for step in steps:
            st.subheader(step.title)
            step.show()
            _show_questions(step)
        return
    index = current_step(key, len(steps))
    step = steps[index]
    st.caption(f"Step {index + 1} of {len(steps)}")
    st.progress((index + 1) / len(steps))
    st.header(step.title)
    step.show()
    _show_questions(step)
    with st.container(key="presenter-nav"):
        previous, following = st.columns(2)
        previous.button("Previous", key=f"presenter.{key}.previous", on_click=_move, args=(key, -1, len(steps)),
                        disabled=index == 0, width="stretch", icon=":material/arrow_back:", shortcut=PREVIOUS_SHORTCUT)
        following.button("Next", key=f"presenter.{key}.next", on_click=_move, args=(key, 1, len(steps)),
                         disabled=index == len(steps) - 1, width="stretch", type="primary",
                         icon=":material/arrow_forward:", icon_position="right", shortcut=NEXT_SHORTCUT)
    if index + 1 < len(steps) and steps[index + 1].prepare is not None:
        steps[index + 1].prepare()

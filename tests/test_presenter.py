"""Tests of `pages.presenter`: presenter mode (style, sidebar hidden, the way out, kept in the URL) and stepped
content, one step per screen with Previous / Next, the next step prepared; all steps in order outside it. Driven
through the Start page, whose tour is stepped."""

from __future__ import annotations

from helpers import APP, TIMEOUT_S
from streamlit.testing.v1 import AppTest

from pages import presenter

STEP_TITLES = ["What GenreLens is", "The pages", "How honest numbers work", "Loaded now"]


def _app(present: bool) -> AppTest:
    app = AppTest.from_file(APP, default_timeout=TIMEOUT_S)
    if present:
        app.query_params[presenter.PRESENT_PARAM] = "1"
    app.run()
    assert not app.exception, [item.value for item in app.exception]
    return app


def _styles(app: AppTest) -> str:
    return " ".join(element.proto.body for element in app.get("html"))


def test_outside_presenter_mode_every_step_is_shown_in_order():
    app = _app(present=False)
    assert [header.value for header in app.main.subheader] == STEP_TITLES
    assert "Questions to answer" in " ".join(item.value for item in app.markdown)
    assert app.sidebar.toggle(key=presenter.TOGGLE_KEY).value is False
    assert "stSidebar" not in _styles(app)
    assert all(button.key != "presenter.leave" for button in app.button)


def test_presenter_mode_shows_one_step_per_screen_with_big_previous_and_next():
    app = _app(present=True)
    assert "font-size: 125%" in _styles(app) and 'section[data-testid="stSidebar"]' in _styles(app)
    assert [header.value for header in app.header] == [STEP_TITLES[0]] and not app.main.subheader
    previous, following = app.button(key="presenter.start.previous"), app.button(key="presenter.start.next")
    assert previous.disabled and not following.disabled
    assert (following.proto.shortcut, previous.proto.shortcut) == ("pagedown", "pageup")  # a clicker's keys
    for expected in STEP_TITLES[1:]:
        app.button(key="presenter.start.next").click().run()
        assert [header.value for header in app.header] == [expected]
    assert app.button(key="presenter.start.next").disabled
    assert "Step 4 of 4" in " ".join(caption.value for caption in app.caption)
    app.button(key="presenter.start.previous").click().run()
    assert [header.value for header in app.header] == [STEP_TITLES[2]]
    assert "Why does a split by segment flatter a model?" in " ".join(item.value for item in app.markdown)


def test_presenter_mode_is_left_by_its_button_and_entered_by_the_sidebar_toggle():
    app = _app(present=True)
    app.button(key="presenter.leave").click().run()
    assert presenter.PRESENT_PARAM not in app.query_params
    assert [header.value for header in app.main.subheader] == STEP_TITLES and not _styles(app)
    app.sidebar.toggle(key=presenter.TOGGLE_KEY).set_value(True).run()
    assert app.query_params[presenter.PRESENT_PARAM] == "1"
    assert [header.value for header in app.header] == [STEP_TITLES[0]]


def test_the_next_step_is_prepared_while_this_one_is_shown():
    def script() -> None:
        import streamlit as st

        from pages import presenter as module

        st.query_params[module.PRESENT_PARAM] = "1"
        prepared = st.session_state.setdefault("prepared", [])
        module.show_steps([module.Step(name, lambda: None, prepare=lambda name=name: prepared.append(name))
                           for name in ("one", "two", "three")], key="test")

    app = AppTest.from_function(script, default_timeout=TIMEOUT_S)
    app.run()
    assert app.session_state["prepared"] == ["two"]
    app.button(key="presenter.test.next").click().run()
    assert app.session_state["prepared"] == ["two", "three"]
    app.button(key="presenter.test.next").click().run()
    assert app.session_state["prepared"] == ["two", "three"]  # the last step has nothing after it

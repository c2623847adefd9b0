"""Walkthroughs: the course exercises as guided pages. Choose one, its size and, for one that can run on real data
(`engine.RealData`), the path of that data (checked before the job is queued), start it as a background job
(`genre_core.walkthroughs.job`, kind ``"walkthrough"``), follow its phases, then go through its steps: each with its
short explanation, the facts and figures this run measured, and the questions to answer, with a box for each
answer; download the answers (Markdown, with the facts) and the whole run as one HTML report.

The page knows no walkthrough: it lists `engine.registry()` and shows any stored run (`walkthroughs.stored`) from
its job folder, so a finished walkthrough reads the same after a reload. Presenter mode (`pages.presenter`) shows one
step per screen.
"""

from __future__ import annotations

import datetime
from pathlib import Path

import streamlit as st

from genre_core import jobs
from genre_core.explain.shap_figures import force_markup_document
from genre_core.markdown import md
from genre_core.walkthrough_report import (
    Answers,
    answers_markdown,
    facts_table,
    run_line,
    size_warning,
    walkthrough_document,
)
from genre_core.walkthroughs import engine, stored
from genre_core.walkthroughs.engine import StepFigure, StepReport
from genre_core.walkthroughs.job import KIND, WalkthroughJobSpec, last_duration, phases
from pages import common, presenter, report_buttons, widgets

common.ensure_app_shell()

POLL_SECONDS = 2.0  #: s between redraws of a running walkthrough
SHOWN_KEY = "walkthroughs.shown"  #: the job id of the run on screen
FORCE_PLOT_HEIGHT = 170  #: px of a SHAP force plot's frame
SHOWN_PHASES = 6  #: a running walkthrough's latest phases listed one by one (a search has one per setting)
SIZE_WORDS = {
    engine.FULL.name: f"Full: the exercise's recipe ({engine.FULL.epochs} epochs, the whole demo; minutes)",
    engine.QUICK.name: f"Quick: every step, {engine.QUICK.epochs} epoch on {engine.QUICK.tracks_per_genre} demo tracks "
                       "per genre (to try the page; the numbers mean little)",
}
STATUS_WORDS = {jobs.QUEUED: "waiting", jobs.RUNNING: "running", jobs.DONE: "done", jobs.FAILED: "failed",
                jobs.CANCELLED: "cancelled", jobs.INTERRUPTED: "interrupted"}


def _own_runs() -> list[jobs.JobRecord]:
    """This user's walkthrough jobs, newest first."""
    manager = common.job_manager()
    manager.refresh()
    return list(reversed(manager.store.list(owner=common.user_id(), kind=KIND)))


def _run_label(record: jobs.JobRecord, titles: dict[str, str]) -> str:
    started = datetime.datetime.fromtimestamp(record.created).strftime("%d %b %H:%M")
    name = record.config.get("name", "?")
    real = record.config.get("real_data")
    data = "demo" if real is None else Path(real).name
    return (f"{titles.get(name, name)} · {record.config.get('size', '?')} · {data} · {started} · "
            f"{STATUS_WORDS[record.status]}")


def _real_data_input(name: str, real: engine.RealData) -> str:
    """The path of the real data to run walkthrough ``name`` on ("" for the demo), pre-filled with the shared copy
    beside the checkout where it exists."""
    default = real.shared_default()
    return st.text_input(f"Real data: {real.what}", value="" if default is None else str(default),
                         key=f"walkthroughs.data.{name}", placeholder="empty: the built-in demo data",
                         help="A path on the server (under the folders it may read). Leave it empty to run on the "
                              "synthetic demo data.")


def _start_form(known: dict[str, engine.WalkthroughSpec]) -> None:
    """Walkthrough, size and, for a walkthrough that can run on real data, its path; Start checks the path (one
    error naming it, nothing queued) and queues the job and shows it."""
    name = st.selectbox("Walkthrough", list(known), format_func=lambda key: known[key].title, key="walkthroughs.name")
    size = st.radio("Size", list(engine.SIZES), format_func=SIZE_WORDS.get, key="walkthroughs.size",
                    help="Both sizes run every step; only the full size gives numbers worth discussing.")
    real = known[name].real_data
    data = "" if real is None else _real_data_input(name, real)
    if st.button("Start the walkthrough", type="primary", icon=":material/play_arrow:", key="walkthroughs.start"):
        with widgets.errors_shown():
            record = common.job_manager().submit(KIND, common.user_id(),
                                                 WalkthroughJobSpec.in_workspace(name, size, data).to_dict())
            st.session_state[SHOWN_KEY] = record.id
            st.rerun()


def _cancel_button(record: jobs.JobRecord) -> None:
    st.button("Cancel", key=f"walkthroughs.cancel.{record.id}", on_click=common.job_manager().cancel,
              args=(record.id,), icon=":material/cancel:",
              help="Ends the walkthrough's worker process; nothing is kept.")


@st.fragment(run_every=POLL_SECONDS)
def _live(job_id: str) -> None:
    """A queued run's place or a running one's phases (each with its time), redrawn every `POLL_SECONDS`; the whole
    page again once the job has ended."""
    manager = common.job_manager()
    record = manager.store.get(job_id)
    if not record.active:
        st.rerun(scope="app")
    if record.status == jobs.QUEUED:
        st.info(f"Waiting for a free slot: place {manager.queue_position(job_id) or 1} in the queue (the server runs "
                f"{manager.limits.max_running} jobs at once, {manager.limits.max_per_user} per user).",
                icon=":material/hourglass_top:")
    else:
        done = phases(manager.store.events(job_id))
        elapsed = sum(phase.seconds for phase in done)
        with st.status(f"Running: {done[-1].name if done else 'starting'}… ({elapsed:.0f} s)", expanded=True):
            if len(done) > SHOWN_PHASES:
                earlier = done[:-SHOWN_PHASES]
                st.markdown(f":material/check: {len(earlier)} earlier phases "
                            f"({sum(phase.seconds for phase in earlier):.0f} s)")
            for phase in done[-SHOWN_PHASES:]:
                st.markdown(f"{':material/progress_activity:' if phase.running else ':material/check:'} "
                            f"{md(phase.name)} ({phase.seconds:.0f} s)")
        before = last_duration(manager.store.list(kind=KIND), record.config["name"], record.config["size"])
        if before is not None:
            st.caption(f"The last run of this walkthrough at this size on this server took {before:.0f} s (a first "
                       "run also makes the demo data and its features, which later runs read from the cache).")
    _cancel_button(record)


def _show_visual(visual: engine.StepVisual, job_id: str) -> None:
    st.markdown(f"**{md(visual.title)}**")
    if isinstance(visual, StepFigure):
        widgets.show_figure(visual.figure, key=f"walkthroughs.{job_id}.{visual.name}", filename=visual.name)
    else:
        st.iframe(force_markup_document(visual.markup, visual.title), height=FORCE_PLOT_HEIGHT, alt=visual.title)


def _show_step(run: stored.StoredWalkthrough, index: int, job_id: str) -> None:
    """One step's explanation, its measured facts and its figures."""
    step: StepReport = run.report.steps[index]
    st.markdown(step.explanation)
    if step.facts:
        st.dataframe(facts_table(step), hide_index=True,
                     column_config={"measured": st.column_config.TextColumn("Measured in this run", width="large"),
                                    "value": st.column_config.TextColumn("Value", width="medium")})
    for visual in run.figures:
        if visual.step == index:
            _show_visual(visual, job_id)


def _answer_key(job_id: str, step: int) -> str:
    """Answers belong to one run (the facts they discuss are its own)."""
    return f"walkthroughs.{job_id}.{step}"


def _answers(report: engine.WalkthroughReport, job_id: str) -> Answers:
    return {(index, number): presenter.answer(_answer_key(job_id, index), number)
            for index, step in enumerate(report.steps) for number in range(len(step.questions))}


@st.cache_resource(show_spinner="Reading the walkthrough…", max_entries=8)
def _read(folder: str, index_mtime_ns: int) -> stored.StoredWalkthrough:
    """`stored.read_walkthrough`, once per stored run (shared read-only between sessions)."""
    return stored.read_walkthrough(folder)


def _show_run(record: jobs.JobRecord) -> None:
    folder = common.job_manager().store.folder(record.id)
    index_file = folder / stored.INDEX_FILE
    run = _read(str(folder), index_file.stat().st_mtime_ns if index_file.is_file() else -1)
    report = run.report
    st.markdown(f"**{md(report.title)}**: {md(run_line(report))}")
    warning = size_warning(report)
    if warning is not None:
        st.warning(warning, icon=":material/speed:")
    kept = stored.read_answers(folder)
    for (index, number), text in kept.items():
        presenter.restore_answer(_answer_key(record.id, index), number, text)
    presenter.show_steps([
        presenter.Step(step.title, lambda index=index: _show_step(run, index, record.id), questions=step.questions,
                       answer_key=_answer_key(record.id, index))
        for index, step in enumerate(report.steps)
    ], key=f"walkthrough-{record.id}")
    answers = _answers(report, record.id)
    typed = {key: text for key, text in answers.items() if text}
    if typed != kept:
        stored.write_answers(folder, typed)
    st.caption("Your answers are kept with this run on the server as you type them (a reload finds them, for whoever "
               "has this page's URL): download them to hand in.")
    st.download_button("Your answers (Markdown, with the facts)", answers_markdown(report, answers).encode("utf-8"),
                       file_name=f"answers_{report.name}.md", mime="text/markdown", key="walkthroughs.answers",
                       on_click="ignore", icon=":material/edit_note:")
    report_buttons.report_downloads(lambda: walkthrough_document(run, answers), f"walkthrough_{report.name}",
                                    "Every step's explanation, facts, figures, questions and your answers")


def _show(record: jobs.JobRecord) -> None:
    if record.active:
        _live(record.id)
    elif record.status == jobs.DONE:
        with widgets.errors_shown():
            _show_run(record)
    elif record.status == jobs.FAILED:
        st.error(f"The walkthrough failed: {md(record.message)}", icon=":material/error:")
    else:
        st.info(f"This run was {STATUS_WORDS[record.status]} ({md(record.message)}): start it again above.",
                icon=":material/block:")


def _page() -> None:
    st.title("Walkthroughs")
    known = engine.registry()
    runs = _own_runs()
    if not presenter.is_on() or not runs:  # in front of a class: the run's steps only
        st.markdown("The course exercises, step by step on the built-in demo data (some also on real GTZAN data: "
                    "give its path): each step says what it shows, "
                    "gives the numbers and figures this run measured, and asks questions to answer. A walkthrough runs "
                    "in the background: leave the page or reload it, and the run is still here (keep this page's URL).")
        with st.expander("Start a walkthrough", expanded=not runs):
            _start_form(known)
    if not runs:
        st.info("No walkthrough run yet: start one above.", icon=":material/school:")
        return
    ids = [record.id for record in runs]
    if st.session_state.get(SHOWN_KEY) not in ids:
        st.session_state[SHOWN_KEY] = ids[0]
    titles = {name: spec.title for name, spec in known.items()}
    by_id = {record.id: record for record in runs}
    shown = st.selectbox("Run", ids, format_func=lambda job_id: _run_label(by_id[job_id], titles), key=SHOWN_KEY)
    _show(by_id[shown])


_page()

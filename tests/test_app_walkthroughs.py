"""The Walkthroughs page driven with AppTest: a finished run (the session's quick leakage job, copied into this
module's workspace as the user's) reads back from its job folder with every step's explanation, facts, figure and
answer boxes (answers kept with the run: a reload finds them), and its downloads; in presenter mode one step per
screen, answers kept across steps; Start queues a job of this user whose progress and Cancel are shown, on the real
data path given (pre-filled with the shared copy), and a bad path is one error naming it with nothing queued."""

from __future__ import annotations

import dataclasses
import json
import shutil
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from helpers import charts, messages, open_page
from streamlit.testing.v1 import AppTest

from genre_core import jobs, paths
from genre_core.dataset_choice import DatasetSpec
from genre_core.markdown import md
from genre_core.walkthroughs import ffn_summary, stored
from genre_core.walkthroughs.job import KIND, PHASE_EVENT, WalkthroughJobSpec
from pages import common, presenter

PAGE = "pages/walkthroughs.py"
USER = "0123456789abcdef0123456789abcdef"  #: the browser's ``?user=`` id
ANSWER_BOX = "presenter.answer.walkthroughs.{job}.{step}.{question}.box"
DATA_BOX = "walkthroughs.data.{name}"  #: the real data path of a walkthrough that can run on it


@pytest.fixture(scope="module")
def finished(workspace: Path, walkthrough_job: Path) -> Iterator[stored.StoredWalkthrough]:
    """The session's finished quick leakage job as a job of `USER` in this module's workspace; its stored run."""
    target = paths.DATA_DIR / "jobs" / walkthrough_job.name
    shutil.copytree(walkthrough_job, target)
    record = json.loads((target / jobs.RECORD_FILE).read_text())
    (target / jobs.RECORD_FILE).write_text(json.dumps({**record, "owner": USER}))
    yield stored.read_walkthrough(target)
    common.job_manager().shutdown()  # never leave a worker behind


def _open(present: bool = False) -> AppTest:
    at = open_page(PAGE, DatasetSpec(), {"user": USER, **({presenter.PRESENT_PARAM: "1"} if present else {})})
    assert not at.exception, [item.value for item in at.exception]
    return at


@pytest.mark.slow
def test_a_finished_run_reads_back_with_its_steps_facts_figures_and_answer_boxes(finished) -> None:
    at = _open()
    job_id = at.selectbox(key="walkthroughs.shown").value
    label = at.selectbox(key="walkthroughs.shown").format_func(job_id)
    assert "Leakage: the same model under three splits · quick" in label and label.endswith("· done")
    steps = finished.report.steps
    assert [header.value for header in at.main.subheader] == [step.title for step in steps]
    assert "quick run" in messages(at.warning)
    (facts,) = at.dataframe  # the second step measures nothing: only the first has a table
    assert facts.value["value"].tolist() == [fact.text for fact in steps[0].facts]
    assert f"walkthroughs.{job_id}.test_accuracy" in charts(at)
    boxes = [box.key for box in at.text_area]
    assert boxes == [ANSWER_BOX.format(job=job_id, step=step, question=number) for step, item in enumerate(steps)
                     for number in range(len(item.questions))]
    assert at.text_area(key=boxes[0]).label == f"1. {steps[0].questions[0]}"
    answer = "The track split: it tests on unheard songs."
    at.text_area(key=boxes[-1]).input(answer).run()
    assert not at.exception and at.session_state[f"presenter.answer.walkthroughs.{job_id}.1.1"] == answer
    folder = paths.DATA_DIR / "jobs" / job_id
    assert stored.read_answers(folder) == {(1, 1): answer}  # kept with the run as typed
    reloaded = _open()  # a reload: a new session finds the answer
    assert reloaded.text_area(key=boxes[-1]).value == answer and reloaded.text_area(key=boxes[0]).value == ""
    reloaded.text_area(key=boxes[-1]).input("").run()
    assert stored.read_answers(folder) == {}
    buttons = {button.key: button.proto for button in at.get("download_button")}
    assert buttons["walkthroughs.answers"].label == "Your answers (Markdown, with the facts)"
    assert buttons["report-html-walkthrough_leakage"].deferred_file_id  # made when clicked
    assert "report-png-walkthrough_leakage" in buttons


@pytest.mark.slow
def test_presenter_mode_shows_one_step_per_screen_and_keeps_the_answers(finished) -> None:
    at = _open(present=True)
    job_id = at.selectbox(key="walkthroughs.shown").value
    titles = [step.title for step in finished.report.steps]
    assert [header.value for header in at.header] == [titles[0]]
    assert "walkthroughs.start" not in [button.key for button in at.button]  # in front of a class: the steps only
    first_box = ANSWER_BOX.format(job=job_id, step=0, question=0)
    at.text_area(key=first_box).input("The leaky one.").run()
    at.button(key=f"presenter.walkthrough-{job_id}.next").click().run()
    assert [header.value for header in at.header] == [titles[1]]
    assert first_box not in [box.key for box in at.text_area]  # not on screen: its widget is gone, the answer is not
    at.button(key=f"presenter.walkthrough-{job_id}.previous").click().run()
    assert at.text_area(key=first_box).value == "The leaky one."


@pytest.mark.slow
def test_start_queues_a_job_of_this_user_on_the_real_data_given_with_its_progress_and_cancel(finished,
                                                                                              gtzan_csv: Path) -> None:
    at = _open()
    at.selectbox(key="walkthroughs.name").set_value("ffn-summary").run()
    at.radio(key="walkthroughs.size").set_value("quick")
    box = at.text_input(key=DATA_BOX.format(name="ffn-summary"))
    default = paths.SHARED_DATA_DIR / ffn_summary.FEATURE_TABLE  # pre-filled with the shared copy where it exists
    assert box.value == (str(default) if default.is_file() else "")
    box.input(str(gtzan_csv))
    at.button(key="walkthroughs.start").click().run()
    store = common.job_manager().store
    newest = store.list(owner=USER, kind=KIND)[-1]
    try:
        assert newest.config["name"] == "ffn-summary" and newest.config["size"] == "quick"
        assert newest.config["real_data"] == str(gtzan_csv.resolve())  # checked, then carried to the worker
        assert newest.config["data_dir"] == str(paths.DATA_DIR)  # the worker reads this workspace's demo
        assert at.selectbox(key="walkthroughs.shown").value == newest.id
        assert f"· {ffn_summary.FEATURE_TABLE} ·" in at.selectbox(key="walkthroughs.shown").format_func(newest.id)
        assert f"walkthroughs.cancel.{newest.id}" in [button.key for button in at.button]
        at.button(key=f"walkthroughs.cancel.{newest.id}").click().run()
    finally:
        common.job_manager().cancel(newest.id)
    assert store.get(newest.id).status == jobs.CANCELLED
    assert "This run was cancelled" in messages(at.info)


@pytest.mark.slow
def test_a_bad_real_data_path_is_one_error_naming_it_and_queues_nothing(finished, tmp_path: Path) -> None:
    at = _open()
    at.selectbox(key="walkthroughs.name").set_value("pretrained").run()
    assert at.text_input(key=DATA_BOX.format(name="pretrained")).label.startswith("Real data: a GTZAN-style audio")
    at.selectbox(key="walkthroughs.name").set_value("ffn-summary").run()
    store = common.job_manager().store
    before = [record.id for record in store.list(owner=USER, kind=KIND)]
    cases = {
        str(tmp_path / "none.csv"): "no such file or folder",
        str(tmp_path): "is a folder, expected the Kaggle GTZAN feature table",
        "/etc/hostname": "this data path is outside the folders the server may read",
    }
    for path, reason in cases.items():
        at.text_input(key=DATA_BOX.format(name="ffn-summary")).input(path).run()
        at.button(key="walkthroughs.start").click().run()
        assert not at.exception, [item.value for item in at.exception]
        assert len(at.error) == 1 and at.error[0].value.startswith(md(f"{path}: {reason}")), at.error[0].value
    assert [record.id for record in store.list(owner=USER, kind=KIND)] == before  # refused before queuing
    at.selectbox(key="walkthroughs.name").set_value("leakage").run()  # the demo only: no path to give
    assert DATA_BOX.format(name="leakage") not in [box.key for box in at.text_input]


@pytest.mark.slow
def test_a_running_walkthrough_lists_its_latest_phases_and_the_last_runs_time(finished, walkthrough_job: Path) -> None:
    manager = common.job_manager()
    spec = WalkthroughJobSpec.in_workspace("leakage", "quick").to_dict()
    record = dataclasses.replace(manager.store.create(KIND, USER, spec, server=manager.server), status=jobs.RUNNING,
                                 started=time.time())
    manager.store.write(record)  # running as far as the page can tell: its folder is all the page reads
    events = "".join(json.dumps({"time": time.time() - 60 + number, "type": PHASE_EVENT, "phase": f"phase {number}"})
                     + "\n" for number in range(8))
    (manager.store.folder(record.id) / jobs.EVENTS_FILE).write_text(events)
    try:
        at = open_page(PAGE, DatasetSpec(), {"user": USER}, **{"walkthroughs.shown": record.id})
        assert not at.exception, [item.value for item in at.exception]
        lines = [item.value for item in at.markdown if item.value.startswith(":material/")]
        assert lines[0].startswith(":material/check: 2 earlier phases")
        assert [line.split(" ", 1)[1].rsplit(" (", 1)[0] for line in lines[1:]] == [f"phase {n}" for n in range(2, 8)]
        assert lines[-1].startswith(":material/progress_activity:") and lines[-2].startswith(":material/check:")
        done = jobs.JobRecord.from_dict(json.loads((walkthrough_job / jobs.RECORD_FILE).read_text()))
        assert f"took {done.finished - done.started:.0f} s" in messages(at.caption)
        assert f"walkthroughs.cancel.{record.id}" in [button.key for button in at.button]
    finally:
        manager.store.write(dataclasses.replace(record, status=jobs.CANCELLED, finished=time.time()))

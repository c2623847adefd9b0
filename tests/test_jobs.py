"""The job layer: jobs run in worker processes of their own (which never re-run the parent's ``__main__``), write events and results into their folder, are cancelled
by ending the process, respect the caps per server and per user with a queue, and a new manager marks what an
earlier server left unfinished as interrupted."""

from __future__ import annotations

import dataclasses
import json
import os
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from helpers import process_alive
from streamlit.testing.v1 import AppTest

from genre_core import jobs
from genre_core.errors import InputError

TICKING, FAILING, MAIN_MODULE = "job_runners:ticking", "job_runners:failing", "job_runners:main_module"
WAIT_S = 60.0


@pytest.fixture(autouse=True)
def test_runners(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(jobs.RUNNERS, "tick", TICKING)
    monkeypatch.setitem(jobs.RUNNERS, "fail", FAILING)
    monkeypatch.setitem(jobs.RUNNERS, "main", MAIN_MODULE)


@pytest.fixture
def manager(tmp_path: Path) -> Iterator[jobs.JobManager]:
    started = jobs.JobManager(jobs.JobStore(tmp_path / "jobs"), jobs.JobLimits(max_running=2, max_per_user=1))
    yield started
    started.shutdown()


def wait_for(condition, what: str) -> None:  # noqa: ANN001
    deadline = time.monotonic() + WAIT_S
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


def status(manager: jobs.JobManager, job_id: str) -> str:
    return manager.store.get(job_id).status


def test_a_job_runs_in_its_own_process_and_leaves_events_and_result(manager: jobs.JobManager) -> None:
    record = manager.submit("tick", "alice", {"seconds": 0.3})
    assert record.status == jobs.RUNNING and record.pid not in (None, os.getpid())
    wait_for(lambda: status(manager, record.id) == jobs.DONE, "the job to finish")
    events = manager.store.events(record.id)
    assert events and all(event["pid"] == record.pid for event in events)
    assert [event["n"] for event in events] == list(range(len(events)))
    assert manager.store.result(record.id) == {"ticks": len(events), "stopped": False}
    done = manager.store.get(record.id)
    assert done.started <= done.finished and done.pid is None and not process_alive(record.pid)
    folder = manager.store.folder(record.id)
    assert json.loads((folder / jobs.RECORD_FILE).read_text())["status"] == jobs.DONE


def test_a_worker_never_runs_the_parents_main_script(manager: jobs.JobManager) -> None:
    """Streamlit makes the script it runs the process's ``__main__`` (an ``AppTest.from_function`` script here, which
    cannot run on its own; ``app.py`` in the server): a job started after it runs, without importing it or Streamlit."""

    def script() -> None:
        import streamlit as st

        st.write("a page")

    before = sys.modules["__main__"]
    app = AppTest.from_function(script, default_timeout=60)
    app.run()
    assert not app.exception and sys.modules["__main__"] is not before  # the script is __main__ now
    record = manager.submit("main", "alice", {})
    wait_for(lambda: not manager.store.get(record.id).active, "the job to finish")
    assert status(manager, record.id) == jobs.DONE, manager.store.get(record.id).message
    assert manager.store.result(record.id) == {"main": "genre_core.job_worker", "streamlit": False}


def test_a_failing_job_is_failed_with_its_one_line_reason(manager: jobs.JobManager) -> None:
    record = manager.submit("fail", "alice", {})
    wait_for(lambda: status(manager, record.id) == jobs.FAILED, "the job to fail")
    assert manager.store.get(record.id).message == "the config: is wrong on purpose"
    assert manager.store.result(record.id) is None


def test_cancel_ends_the_worker_process(manager: jobs.JobManager) -> None:
    record = manager.submit("tick", "alice", {"seconds": 600})
    wait_for(lambda: manager.store.events(record.id), "the first event")
    assert process_alive(record.pid)
    cancelled = manager.cancel(record.id)
    assert cancelled.status == jobs.CANCELLED and not process_alive(record.pid)
    count = len(manager.store.events(record.id))
    time.sleep(0.2)
    assert len(manager.store.events(record.id)) == count  # nothing runs on


def test_a_stop_request_ends_the_job_gracefully_with_its_result(manager: jobs.JobManager) -> None:
    record = manager.submit("tick", "alice", {"seconds": 600})
    wait_for(lambda: manager.store.events(record.id), "the first event")
    manager.store.request_stop(record.id)
    wait_for(lambda: status(manager, record.id) == jobs.DONE, "the job to stop")
    assert manager.store.result(record.id)["stopped"] is True


def test_caps_per_server_and_per_user_with_a_queue(manager: jobs.JobManager) -> None:
    first = manager.submit("tick", "alice", {"seconds": 600})
    second = manager.submit("tick", "alice", {"seconds": 600})
    other = manager.submit("tick", "bob", {"seconds": 600})
    assert [first.status, second.status, other.status] == [jobs.RUNNING, jobs.QUEUED, jobs.RUNNING]
    assert manager.queue_position(second.id) == 1 and manager.queue_position(first.id) is None
    wait_for(lambda: manager.store.events(first.id) and manager.store.events(other.id), "both users' jobs to run")
    third = manager.submit("tick", "carol", {"seconds": 600})
    assert third.status == jobs.QUEUED and manager.queue_position(third.id) == 2  # the server runs 2 at most
    manager.cancel(first.id)
    assert status(manager, second.id) == jobs.RUNNING  # alice's waiting job takes her slot
    assert status(manager, third.id) == jobs.QUEUED and manager.queue_position(third.id) == 1
    manager.cancel(other.id)
    assert status(manager, third.id) == jobs.RUNNING


def test_an_owner_may_queue_only_so_many(tmp_path: Path) -> None:
    manager = jobs.JobManager(jobs.JobStore(tmp_path), jobs.JobLimits(max_running=1, max_per_user=1,
                                                                      max_queued_per_user=1))
    try:
        manager.submit("tick", "alice", {"seconds": 600})
        manager.submit("tick", "alice", {"seconds": 600})
        with pytest.raises(InputError, match="you already have 1 jobs waiting"):
            manager.submit("tick", "alice", {"seconds": 600})
    finally:
        manager.shutdown()


def test_a_new_server_marks_unfinished_jobs_interrupted_never_done(tmp_path: Path) -> None:
    store = jobs.JobStore(tmp_path)
    running = store.create("tick", "alice", {"seconds": 1}, server="old")
    store.write(jobs.JobRecord(**{**running.to_dict(), "status": jobs.RUNNING, "pid": 999999}))
    queued = store.create("tick", "bob", {"seconds": 1}, server="old")
    finished = store.create("tick", "bob", {"seconds": 1}, server="old")
    store.write(jobs.JobRecord(**{**finished.to_dict(), "status": jobs.DONE}))
    jobs.JobManager(store)
    assert [store.get(job.id).status for job in (running, queued, finished)] == [
        jobs.INTERRUPTED, jobs.INTERRUPTED, jobs.DONE]
    assert "server stopped" in store.get(running.id).message


def test_old_finished_job_folders_are_removed_never_queued_or_running_ones(tmp_path: Path) -> None:
    store = jobs.JobStore(tmp_path)
    now = time.time()
    old, recent = now - 8 * jobs.DAY_S, now - 6 * jobs.DAY_S

    def job(status: str, finished: float | None, created: float = old) -> str:
        record = store.create("tick", "alice", {"seconds": 1}, server="old")
        store.write(dataclasses.replace(record, status=status, finished=finished, created=created))
        return record.id

    stale = [job(jobs.DONE, old), job(jobs.FAILED, old), job(jobs.CANCELLED, old), job(jobs.INTERRUPTED, None)]
    kept = [job(jobs.DONE, recent), job(jobs.FAILED, recent, created=old)]  # the finishing time counts
    active = [job(jobs.QUEUED, None), job(jobs.RUNNING, None)]
    (tmp_path / "not-a-job").mkdir()
    assert sorted(store.remove_finished(7 * jobs.DAY_S, now=now)) == sorted(stale)
    assert not any((tmp_path / job_id).exists() for job_id in stale)
    assert sorted(record.id for record in store.list()) == sorted(kept + active)
    assert (tmp_path / "not-a-job").is_dir()
    # a new server first marks the unfinished jobs interrupted now (kept), then applies its limits' age
    manager = jobs.JobManager(store, jobs.JobLimits(keep_finished_days=1))
    try:
        assert sorted(record.id for record in store.list()) == sorted(active)
        assert {record.status for record in store.list()} == {jobs.INTERRUPTED}
    finally:
        manager.shutdown()


def test_events_skip_a_line_still_being_written(tmp_path: Path) -> None:
    (tmp_path / jobs.EVENTS_FILE).write_text('{"n": 1}\n{"n": 2}\n{"n": 3', encoding="utf-8")
    assert jobs.read_events(tmp_path) == [{"n": 1}, {"n": 2}]
    assert jobs.read_events(tmp_path / "missing") == []


def test_records_and_limits_are_checked(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    store = jobs.JobStore(tmp_path)
    with pytest.raises(InputError, match="unknown 'bogus'"):
        store.create("bogus", "alice", {})
    with pytest.raises(InputError, match="not a job id"):
        store.folder("../etc")
    with pytest.raises(InputError, match="unknown setting"):
        jobs.JobRecord.from_dict({"id": "x", "bogus": 1})
    monkeypatch.setenv(jobs.MAX_RUNNING_ENV, "4")
    monkeypatch.setenv(jobs.MAX_PER_USER_ENV, "2")
    monkeypatch.setenv(jobs.KEEP_FINISHED_ENV, "30")
    assert jobs.JobLimits.from_env() == jobs.JobLimits(max_running=4, max_per_user=2, keep_finished_days=30)
    monkeypatch.setenv(jobs.MAX_RUNNING_ENV, "two")
    with pytest.raises(InputError, match=jobs.MAX_RUNNING_ENV):
        jobs.JobLimits.from_env()
    with pytest.raises(InputError, match="max_per_user"):
        jobs.JobLimits(max_per_user=0)

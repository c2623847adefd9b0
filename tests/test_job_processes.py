"""Tests for genre_core.job_processes: a worker runs its job without the parent's ``__main__`` and with the
parent's ``sys.path``, and ending it ends its whole process group (what the worker started too)."""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

import pytest

from genre_core import job_processes, jobs

WAIT_S = 60.0


def queued_job(tmp_path: Path, kind: str, config: dict) -> Path:
    store = jobs.JobStore(tmp_path / "jobs")
    return store.folder(store.create(kind, "alice", config).id)


def first_event(folder: Path) -> dict:
    deadline = time.monotonic() + WAIT_S
    while not jobs.read_events(folder):
        assert time.monotonic() < deadline, "timed out waiting for the worker's first event"
        time.sleep(0.05)
    return jobs.read_events(folder)[0]


def running(pid: int) -> bool:
    """Whether process ``pid`` exists and is not a zombie (an orphan's exit is reaped by whoever adopts it)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        return False
    return state not in ("Z", "X")


def test_a_worker_runs_its_job_without_the_parents_main(tmp_path: Path) -> None:
    folder = queued_job(tmp_path, "train", {})  # the kind only names the record; the target is the runner
    process = job_processes.start_worker(folder, "job_runners:main_module", threads=1)
    assert process.wait(WAIT_S) == 0  # job_runners lives in tests/, on this process's sys.path only
    assert json.loads((folder / jobs.RESULT_FILE).read_text()) == {"main": "genre_core.job_worker", "streamlit": False}


def test_the_worker_environment_carries_the_path_and_thread_counts(monkeypatch: pytest.MonkeyPatch) -> None:
    for variable in ("TF_NUM_INTRAOP_THREADS", "OMP_NUM_THREADS", "TF_NUM_INTEROP_THREADS"):
        monkeypatch.delenv(variable, raising=False)
    environment = job_processes.worker_environment(3)
    assert environment["PYTHONPATH"] == os.pathsep.join(entry for entry in sys.path if entry)
    assert (environment["TF_NUM_INTRAOP_THREADS"], environment["OMP_NUM_THREADS"]) == ("3", "3")
    assert environment["TF_NUM_INTEROP_THREADS"] == "1"
    monkeypatch.setenv("OMP_NUM_THREADS", "1")  # the user's setting wins
    assert job_processes.worker_environment(3)["OMP_NUM_THREADS"] == "1"


def test_ending_a_worker_ends_what_it_started(tmp_path: Path) -> None:
    folder = queued_job(tmp_path, "train", {})
    process = job_processes.start_worker(folder, "job_runners:spawning", threads=1)
    child = first_event(folder)["pid"]
    assert running(process.pid) and running(child)
    job_processes.end_workers([process])
    assert process.returncode is not None and not running(process.pid)
    deadline = time.monotonic() + 5
    while running(child):  # the child was in the worker's group: signalled with it
        assert time.monotonic() < deadline, "the worker's child outlived the cancel"
        time.sleep(0.05)

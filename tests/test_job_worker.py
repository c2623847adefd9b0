"""Tests for genre_core.job_worker: the worker's entry point runs the job of a folder (config from its job.json)
and exits 0 with result.json, 1 with error.json, 2 with one line for a folder that holds no job."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from genre_core import job_worker, jobs


def test_a_job_runs_and_its_status_says_how_it_ended(tmp_path: Path) -> None:
    store = jobs.JobStore(tmp_path / "jobs")
    ticking = store.folder(store.create("train", "alice", {"seconds": 0.05}).id)
    assert job_worker.main([str(ticking), "--target", "job_runners:ticking"]) == 0
    result = json.loads((ticking / jobs.RESULT_FILE).read_text())
    assert result["ticks"] == len(jobs.read_events(ticking)) > 0 and result["stopped"] is False
    failing = store.folder(store.create("train", "alice", {}).id)
    assert job_worker.main([str(failing), "--target", "job_runners:failing"]) == 1
    assert json.loads((failing / jobs.ERROR_FILE).read_text())["message"] == "the config: is wrong on purpose"


def test_a_folder_without_a_job_is_one_line_and_status_2(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    with pytest.raises(SystemExit) as ended:
        job_worker.main([str(tmp_path / "jobs" / "nothing-here"), "--target", "job_runners:ticking"])
    assert ended.value.code == 2
    assert capsys.readouterr().err == "python -m genre_core.job_worker: job: no job 'nothing-here'\n"

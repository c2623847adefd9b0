"""The job kind "walkthrough" (`genre_core.walkthroughs.job`): a quick run in a worker process on the demo data
stores its report and figures in the job folder, with an event per phase; cancel ends the worker and keeps nothing;
the per-user cap queues a second run; a bad config is one readable error."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
from helpers import process_alive

from genre_core import jobs
from genre_core.errors import InputError
from genre_core.walkthroughs import engine, leakage, stored
from genre_core.walkthroughs.job import KIND, PHASE_EVENT, SAVING_PHASE, WalkthroughJobSpec, last_duration, phases


@pytest.mark.slow
def test_a_quick_job_stores_the_walkthrough_with_its_phases(walkthrough_job: Path) -> None:
    record = jobs.JobRecord.from_dict(json.loads((walkthrough_job / jobs.RECORD_FILE).read_text()))
    assert record.kind == KIND and record.status == jobs.DONE
    run = stored.read_walkthrough(walkthrough_job)
    result = json.loads((walkthrough_job / jobs.RESULT_FILE).read_text())
    assert result == {"name": "leakage", "size": "quick", "data": "demo", "steps": len(run.report.steps),
                      "figures": len(run.figures)}
    events = jobs.read_events(walkthrough_job)
    # the demo has no artists: the artist-filtered split never runs, so it has no phase
    assert [phase.name for phase in phases(events, record.finished)] == ["data", "leaky", "grouped", SAVING_PHASE]
    assert not any(phase.running for phase in phases(events, record.finished))
    report = run.report
    assert (report.name, report.size, report.title) == ("leakage", engine.QUICK, leakage.TITLE)
    assert [step.title for step in report.steps] == ["The same model, three ways to split", "Why the numbers differ"]
    # the stored figure is the run's own: its bars are the test accuracies the facts state
    (bars,) = run.figures
    assert bars.step == 0 and bars.name == "test_accuracy"
    facts = {fact.label: fact.value for fact in report.steps[0].facts}
    per_window = bars.figure.data[0]
    for protocol, value in zip(per_window.x, per_window.y, strict=True):
        assert facts[f"{leakage.PROTOCOL_WORDS[protocol]}: test accuracy per window"] == pytest.approx(value)
    words = leakage.PROTOCOL_WORDS
    assert "no artists" in facts[words["artist-filtered"]]  # the split the demo lacks is named, not hidden
    for protocol in ("leaky", "grouped"):
        assert 0 <= facts[f"{words[protocol]}: test accuracy per window"] <= 1
    # the leaky split deals windows out one by one: its test part touches more tracks than the track split's
    assert facts[f"{words['leaky']}: test tracks"] > facts[f"{words['grouped']}: test tracks"]


def test_phases_time_each_phase_until_the_next_and_the_last_until_the_end() -> None:
    events = [{"type": PHASE_EVENT, "phase": "data", "time": 10.0}, {"type": "other", "time": 11.0},
              {"type": PHASE_EVENT, "phase": "training", "time": 13.5}]
    first, last = phases(events, finished=20.0)
    assert (first.name, first.seconds, first.running) == ("data", 3.5, False)
    assert (last.name, last.seconds, last.running) == ("training", 6.5, False)
    assert phases(events)[-1].running and not phases(events)[0].running
    assert phases([]) == ()


def test_the_last_finished_run_of_the_same_walkthrough_and_size_says_how_long_a_run_takes() -> None:
    def record(number: int, name: str, size: str, status: str, started: float, finished: float | None,
               kind: str = KIND) -> jobs.JobRecord:
        return jobs.JobRecord(f"job-{number}", kind, "alice", {"name": name, "size": size}, status, created=started,
                              started=started, finished=finished)

    records = [record(1, "leakage", "quick", jobs.DONE, 100.0, 160.0),
               record(2, "leakage", "quick", jobs.DONE, 200.0, 250.0),
               record(3, "leakage", "quick", jobs.CANCELLED, 300.0, 301.0),
               record(4, "leakage", "full", jobs.DONE, 0.0, 900.0),
               record(5, "course-cnn", "quick", jobs.DONE, 400.0, 480.0),
               record(6, "leakage", "quick", jobs.DONE, 500.0, 510.0, kind="train")]
    assert last_duration(records, "leakage", "quick") == 50.0  # the newest done one; cancelled and other kinds never
    assert last_duration(records, "leakage", "full") == 900.0
    assert last_duration(records, "time-freq", "quick") is None


@pytest.mark.slow
def test_cancel_ends_the_worker_and_a_second_run_waits_for_the_users_slot(tmp_path: Path) -> None:
    manager = jobs.JobManager(jobs.JobStore(tmp_path / "jobs"), jobs.JobLimits(max_running=2, max_per_user=1))
    data = tmp_path / "data"
    spec = WalkthroughJobSpec("course-cnn", "quick", str(data), str(data / "demo"), str(data / "cache")).to_dict()
    try:
        first = manager.submit(KIND, "alice", spec)
        second = manager.submit(KIND, "alice", spec)
        assert manager.store.get(first.id).status == jobs.RUNNING and manager.store.get(second.id).status == jobs.QUEUED
        assert manager.queue_position(second.id) == 1
        pid = manager.worker_pid(first.id)
        assert pid is not None and process_alive(pid)
        manager.cancel(first.id)
        assert manager.store.get(first.id).status == jobs.CANCELLED and not process_alive(pid)
        assert manager.store.result(first.id) is None
        assert not (manager.store.folder(first.id) / stored.INDEX_FILE).exists()
        assert manager.store.get(second.id).status == jobs.RUNNING  # the user's slot freed
    finally:
        manager.shutdown()
    deadline = time.monotonic() + 10
    while process_alive(pid) and time.monotonic() < deadline:
        time.sleep(0.1)


def test_a_bad_config_is_one_readable_error(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="walkthrough 'nope'.*unknown; known: course-cnn"):
        WalkthroughJobSpec.in_workspace("nope", "quick")
    with pytest.raises(InputError, match="walkthrough size 'huge'.*unknown; known: full, quick"):
        WalkthroughJobSpec.in_workspace("leakage", "huge")
    with pytest.raises(InputError, match="walkthrough job.*unknown setting"):
        WalkthroughJobSpec.from_dict({**WalkthroughJobSpec.in_workspace("leakage", "quick").to_dict(), "extra": 1})
    with pytest.raises(InputError, match=r"real data '/x': walkthrough leakage runs on the demo data only"):
        WalkthroughJobSpec.in_workspace("leakage", "quick", "/x")
    with pytest.raises(InputError, match=f"^{tmp_path}: is a folder, expected the Kaggle GTZAN feature table"):
        WalkthroughJobSpec.in_workspace("ffn-summary", "quick", str(tmp_path))
    table = tmp_path / "features.csv"
    table.write_text("filename,label\n")  # checked for kind only here; the worker reads it
    assert WalkthroughJobSpec.in_workspace("ffn-summary", "quick", f" {table} ").real_data == str(table.resolve())
    assert WalkthroughJobSpec.from_dict(WalkthroughJobSpec.in_workspace("leakage", "quick").to_dict()).real_data is None

"""Walkthroughs as background jobs: the job kind ``"walkthrough"`` (`genre_core.jobs.RUNNERS`).

A worker runs one registered walkthrough (`engine.registry`) at one size on the demo data (or on the real data its
config names, for a walkthrough that has `engine.RealData`), emits an event
``{"type": "phase", "phase": name}`` as each of its phases starts, and stores the run in its job folder
(`stored.write_walkthrough`: the report and every figure), where the page reads it back after a reload. Cancel ends
the worker (`jobs.JobManager.cancel`); the manager's caps per server and per user apply as to every job.

The worker is a fresh process: the job's config names the workspace folders (the demo data and the feature cache)
of the server that submitted it, and the worker reads and writes there. TensorFlow is imported only in the worker.
"""

from __future__ import annotations

import dataclasses
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from genre_core import paths
from genre_core.errors import InputError
from genre_core.jobs import DONE, JobContext, JobRecord
from genre_core.records import from_dict_strict
from genre_core.walkthroughs import engine, stored

KIND = "walkthrough"
PHASE_EVENT = "phase"  #: the ``type`` of a phase event
SAVING_PHASE = "saving the results"  #: the last phase of every walkthrough job


@dataclass(frozen=True)
class WalkthroughJobSpec:
    """The config of a ``"walkthrough"`` job: the walkthrough's ``name`` (`engine.registry`), the run ``size``
    (a key of `engine.SIZES`), the workspace: ``data_dir`` (small demos are generated there), ``demo_dir`` (the
    full demo) and ``cache_dir`` (extracted features), and ``real_data``: the path of the real data it runs on
    (its spec's `engine.RealData`), or None for the demo data."""

    name: str
    size: str
    data_dir: str
    demo_dir: str
    cache_dir: str
    real_data: str | None = None

    def __post_init__(self) -> None:
        spec = engine.get_walkthrough(self.name)  # InputError naming the walkthrough when it is unknown
        if self.size not in engine.SIZES:
            raise InputError(f"walkthrough size '{self.size}'", f"unknown; known: {', '.join(engine.SIZES)}")
        if self.real_data is not None and spec.real_data is None:
            raise InputError(f"real data '{self.real_data}'", f"walkthrough {self.name} runs on the demo data only")

    @classmethod
    def in_workspace(cls, name: str, size: str, real_data: str = "") -> WalkthroughJobSpec:
        """A run of ``name`` at ``size`` in this process's workspace (`paths`), on the demo data or, when
        ``real_data`` (a path a user typed) is not empty, on that: confined to `paths.allowed_roots` and checked by
        the walkthrough's `engine.RealData.check` (InputError naming the path: outside, missing, of the wrong kind)."""
        text = real_data.strip()
        real = engine.get_walkthrough(name).real_data
        path = str(real.check(paths.confine(text, "data path"), text)) if text and real is not None else text or None
        return cls(name, size, str(paths.DATA_DIR), str(paths.DEMO_DIR), str(paths.CACHE_DIR), path)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, values: Any) -> WalkthroughJobSpec:
        return from_dict_strict(cls, values, "walkthrough job")


def run_job(config: dict[str, Any], context: JobContext) -> dict[str, Any]:
    """The worker's entry for the job kind ``"walkthrough"``: run it, store it in ``context.folder``."""
    job = WalkthroughJobSpec.from_dict(config)
    # this worker process serves this one job: its workspace is the submitting server's
    paths.DATA_DIR, paths.DEMO_DIR, paths.CACHE_DIR = Path(job.data_dir), Path(job.demo_dir), Path(job.cache_dir)
    walkthrough = engine.get_walkthrough(job.name)
    size = engine.SIZES[job.size]
    say = lambda phase: context.emit({"type": PHASE_EVENT, "phase": phase})  # noqa: E731
    if job.real_data is None or walkthrough.real_data is None:
        result = walkthrough.run(size, say)
    else:
        result = walkthrough.real_data.run(size, say, Path(job.real_data))
    context.emit({"type": PHASE_EVENT, "phase": SAVING_PHASE})
    stored.write_walkthrough(result, context.folder)
    return {"name": job.name, "size": job.size, "data": job.real_data or "demo", "steps": len(result.report.steps),
            "figures": len(result.figures)}


@dataclass(frozen=True)
class Phase:
    """One phase of a walkthrough job: its ``name``, how long it ran (s) and whether it is running now."""

    name: str
    seconds: float
    running: bool


def phases(events: list[dict[str, Any]], finished: float | None = None) -> tuple[Phase, ...]:
    """The phases of a walkthrough job from its events (`jobs.read_events`), oldest first; the last one runs until
    ``finished`` (the job's finish time, Unix s), or until now while the job runs (``finished`` None)."""
    end = time.time() if finished is None else finished
    started = [(str(event["phase"]), float(event["time"])) for event in events if event.get("type") == PHASE_EVENT]
    ends = [start for _, start in started[1:]] + [end] if started else []
    return tuple(Phase(name, max(stop - start, 0.0), finished is None and number == len(started) - 1)
                 for number, ((name, start), stop) in enumerate(zip(started, ends, strict=True)))


def last_duration(records: list[JobRecord], name: str, size: str) -> float | None:
    """Seconds from start to finish of the newest finished (done) run of walkthrough ``name`` at ``size`` among
    ``records`` (`jobs.JobStore.list`), or None when there is none: what a new run may take on this server."""
    finished = [record for record in records if record.kind == KIND and record.status == DONE
                and record.config.get("name") == name and record.config.get("size") == size
                and record.started is not None and record.finished is not None]
    if not finished:
        return None
    newest = max(finished, key=lambda record: record.finished)
    return newest.finished - newest.started

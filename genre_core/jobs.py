"""Background jobs: long work (trainings, sweeps, walkthroughs) in worker processes that outlive a browser tab.

A job has an id, a kind (a key of `RUNNERS`), a JSON config, an owner (the id a browser keeps across reloads),
a status, progress events and a result, all in its folder ``<root>/<id>/`` (root: ``paths.DATA_DIR/jobs``):

- ``job.json``: the `JobRecord` (atomic writes; only the `JobManager` of the server writes it);
- ``events.jsonl``: progress events, one JSON object per line, appended by the worker (`read_events`);
- ``result.json`` (the runner's JSON result) or ``error.json`` (one-line message and traceback), atomic;
- whatever the runner writes beside them (a train job: its ``bundle/``).

Each running job is one worker process, a fresh interpreter on `genre_core.job_worker` in a process group of its
own: a cancel terminates the group (the worker and whatever it started are gone, their CPU freed at once), and
its TensorFlow state never touches the server's or another job's. Workers do not re-run the server's
``__main__`` (see `genre_core.job_worker`); they get the server's ``sys.path``, and end when the server exits. The
manager starts queued jobs in order as long as fewer than `JobLimits.max_running` run on the server and fewer
than `JobLimits.max_per_user` of the same owner; a `JobManager` started on a folder marks the jobs that an
earlier server left unfinished as `INTERRUPTED` (never as done). Folders of jobs that finished more than
`JobLimits.keep_finished_days` ago are removed when a manager starts and whenever a job is submitted (never those
of queued or running jobs): a trained model the user saved lives on in the models folder, not in the job's.

No TensorFlow here: runners are imported by name in the worker.
"""

from __future__ import annotations

import dataclasses
import importlib
import json
import os
import subprocess
import threading
import time
import traceback
import uuid
import weakref
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from genre_core.atomic import remove_directory, write_text_atomic
from genre_core.errors import GenreLensError, InputError
from genre_core.job_processes import end_workers, start_worker
from genre_core.records import from_dict_strict

QUEUED, RUNNING, DONE, FAILED = "queued", "running", "done", "failed"
CANCELLED, INTERRUPTED = "cancelled", "interrupted"
STATUSES = (QUEUED, RUNNING, DONE, FAILED, CANCELLED, INTERRUPTED)
ACTIVE = (QUEUED, RUNNING)  #: statuses of a job that is not finished
RECORD_FILE, EVENTS_FILE, RESULT_FILE, ERROR_FILE = "job.json", "events.jsonl", "result.json", "error.json"
STOP_FILE = "stop"  #: present once a graceful stop was asked for (`JobContext.should_stop`)
#: Job kind -> ``"module:function"`` run in the worker as ``function(config, context) -> result`` (JSON dict).
RUNNERS = {"train": "genre_core.train_job:run_job", "sweep": "genre_core.sweep:run_job",
           "walkthrough": "genre_core.walkthroughs.job:run_job"}
MAX_RUNNING_ENV, MAX_PER_USER_ENV = "GENRELENS_MAX_JOBS", "GENRELENS_MAX_JOBS_PER_USER"
KEEP_FINISHED_ENV = "GENRELENS_JOB_KEEP_DAYS"  #: environment: days a finished job's folder is kept
DAY_S = 86400.0
POLL_S = 0.5  #: s between the manager's looks at its worker processes


@dataclass(frozen=True)
class JobLimits:
    """How many jobs run at once: on the whole server, per owner, how many an owner may have waiting, and how
    many days the folder of a finished (done, failed, cancelled, interrupted) job is kept.

    The defaults fit 2 cores: two trainings at once (one per user), each given one core's worth of threads.
    """

    max_running: int = 2
    max_per_user: int = 1
    max_queued_per_user: int = 3
    keep_finished_days: int = 7

    def __post_init__(self) -> None:
        for item in dataclasses.fields(self):
            value = getattr(self, item.name)
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise InputError(f"job limit {item.name}", f"must be a whole number >= 1, got {value!r}")

    @classmethod
    def from_env(cls) -> JobLimits:
        """Limits from `MAX_RUNNING_ENV`, `MAX_PER_USER_ENV` and `KEEP_FINISHED_ENV` where set, else the defaults."""
        values: dict[str, int] = {}
        variables = (("max_running", MAX_RUNNING_ENV), ("max_per_user", MAX_PER_USER_ENV),
                     ("keep_finished_days", KEEP_FINISHED_ENV))
        for name, variable in variables:
            text = os.environ.get(variable, "").strip()
            if text:
                if not text.isdigit():
                    raise InputError(variable, f"must be a whole number >= 1, got {text!r}")
                values[name] = int(text)
        return cls(**values)


@dataclass(frozen=True)
class JobRecord:
    """What ``job.json`` holds. Times are Unix seconds; ``server`` names the manager that owns a running job;
    ``message`` says why a job failed or was interrupted; ``pid`` is the worker's process id while it runs."""

    id: str
    kind: str
    owner: str
    config: dict[str, Any]
    status: str
    created: float
    server: str = ""
    started: float | None = None
    finished: float | None = None
    pid: int | None = None
    message: str = ""

    @property
    def active(self) -> bool:
        return self.status in ACTIVE

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, values: Any) -> JobRecord:
        record = from_dict_strict(cls, values, RECORD_FILE)
        if record.status not in STATUSES:
            raise InputError(RECORD_FILE, f"unknown status {record.status!r}")
        return record


def read_events(folder: Path) -> list[dict[str, Any]]:
    """The events of the job in ``folder``, oldest first; a last line still being written is left out."""
    try:
        text = (Path(folder) / EVENTS_FILE).read_text(encoding="utf-8")
    except FileNotFoundError:
        return []
    lines = text.split("\n")[:-1]  # the part after the last newline is incomplete (or empty)
    return [json.loads(line) for line in lines if line]


@dataclass
class JobContext:
    """What a runner gets in the worker: its folder, `emit` for progress events and `should_stop` for a graceful
    stop (asked for with `JobStore.request_stop`, or the server process gone)."""

    folder: Path
    parent_pid: int | None = None

    def emit(self, event: dict[str, Any]) -> None:
        """Append ``event`` (JSON-serialisable; gets a ``time``) as one line to ``events.jsonl``."""
        line = json.dumps({"time": time.time(), **event}, allow_nan=True) + "\n"
        with open(self.folder / EVENTS_FILE, "a", encoding="utf-8") as events:  # one write of one line
            events.write(line)

    def should_stop(self) -> bool:
        orphaned = self.parent_pid is not None and os.getppid() != self.parent_pid
        return orphaned or (self.folder / STOP_FILE).exists()


def _import_runner(target: str) -> Callable[[dict[str, Any], JobContext], dict[str, Any]]:
    """The function named by ``"module:function"``."""
    module, _, function = target.partition(":")
    return getattr(importlib.import_module(module), function)


def run_job(folder: Path, target: str, config: dict[str, Any], parent_pid: int | None = None) -> dict[str, Any]:
    """Run the runner ``target`` (a value of `RUNNERS`) on ``config`` in this process and write ``result.json``,
    or ``error.json`` before re-raising. The worker process runs this; so may a caller in the foreground."""
    context = JobContext(Path(folder), parent_pid)
    try:
        result = _import_runner(target)(config, context)
    except BaseException as error:
        message = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        if not isinstance(error, GenreLensError):
            message = f"{type(error).__name__}: {message}"
        details = {"message": message, "traceback": "".join(traceback.format_exception(error))}
        write_text_atomic(context.folder / ERROR_FILE, json.dumps(details))
        raise
    write_text_atomic(context.folder / RESULT_FILE, json.dumps(result))
    return result


class JobStore:
    """The job folders under ``root``: create, read and update records, read events and results."""

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)

    def folder(self, job_id: str) -> Path:
        if not job_id or not all(char.isalnum() or char == "-" for char in job_id):
            raise InputError("job id", f"'{job_id}' is not a job id")
        return self.root / job_id

    def create(self, kind: str, owner: str, config: dict[str, Any], server: str = "") -> JobRecord:
        if kind not in RUNNERS:
            raise InputError("job kind", f"unknown '{kind}'; known: {', '.join(RUNNERS)}")
        record = JobRecord(id=f"{time.strftime('%Y%m%d-%H%M%S')}-{uuid.uuid4().hex[:8]}", kind=kind, owner=owner,
                           config=json.loads(json.dumps(config)), status=QUEUED, created=time.time(), server=server)
        self.folder(record.id).mkdir(parents=True)
        self.write(record)
        return record

    def write(self, record: JobRecord) -> None:
        write_text_atomic(self.folder(record.id) / RECORD_FILE, json.dumps(record.to_dict(), indent=1))

    def get(self, job_id: str) -> JobRecord:
        path = self.folder(job_id) / RECORD_FILE
        try:
            return JobRecord.from_dict(json.loads(path.read_text(encoding="utf-8")))
        except FileNotFoundError:
            raise InputError("job", f"no job '{job_id}'") from None
        except json.JSONDecodeError as error:
            raise InputError(path, f"is not valid JSON ({error})") from None

    def list(self, owner: str | None = None, kind: str | None = None) -> list[JobRecord]:
        """The readable records (oldest first), of ``owner`` and ``kind`` when given."""
        if not self.root.is_dir():
            return []
        records = []
        for folder in self.root.iterdir():
            if folder.name.startswith(".") or not (folder / RECORD_FILE).is_file():
                continue
            try:
                record = self.get(folder.name)
            except InputError:
                continue
            if (owner is None or record.owner == owner) and (kind is None or record.kind == kind):
                records.append(record)
        return sorted(records, key=lambda record: (record.created, record.id))

    def events(self, job_id: str) -> list[dict[str, Any]]:
        return read_events(self.folder(job_id))

    def result(self, job_id: str) -> dict[str, Any] | None:
        """The runner's result of a finished job, or None."""
        path = self.folder(job_id) / RESULT_FILE
        return json.loads(path.read_text(encoding="utf-8")) if path.is_file() else None

    def error(self, job_id: str) -> str | None:
        """The one-line error of a failed job, or None."""
        path = self.folder(job_id) / ERROR_FILE
        return str(json.loads(path.read_text(encoding="utf-8"))["message"]) if path.is_file() else None

    def remove_finished(self, max_age_s: float, *, now: float | None = None) -> list[str]:
        """Delete the folders of finished jobs (any status but queued or running) that finished more than
        ``max_age_s`` seconds before ``now`` (default: the current time); returns their ids."""
        now = time.time() if now is None else now
        removed = []
        for record in self.list():
            if not record.active and now - (record.finished or record.created) > max_age_s:
                remove_directory(self.folder(record.id))
                removed.append(record.id)
        return removed

    def request_stop(self, job_id: str) -> None:
        """Ask a running job to stop when it can and keep what it has (a training: after the current batch)."""
        (self.folder(job_id) / STOP_FILE).touch()


@dataclass
class _Running:
    process: subprocess.Popen[bytes]  # the worker, leader of its own process group
    record: JobRecord


def _end_running(running: dict[str, _Running]) -> None:
    """At the server's exit: end the workers still running (their jobs stay running in ``job.json``, so the next
    server marks them interrupted)."""
    end_workers([item.process for item in running.values()])


@dataclass
class JobManager:
    """Starts, watches and cancels the jobs of one server process (one manager per job folder and process).

    A daemon thread looks at the workers every `POLL_S` while jobs are queued or running: a finished worker's
    job becomes `DONE` (it wrote ``result.json``) or `FAILED`, and queued jobs start as slots free up.
    """

    store: JobStore
    limits: JobLimits = field(default_factory=JobLimits)
    server: str = field(default_factory=lambda: uuid.uuid4().hex)
    _running: dict[str, _Running] = field(default_factory=dict, init=False, repr=False)
    _lock: threading.RLock = field(default_factory=threading.RLock, init=False, repr=False)
    _watcher: threading.Thread | None = field(default=None, init=False, repr=False)

    def __post_init__(self) -> None:
        weakref.finalize(self, _end_running, self._running)
        for record in self.store.list():
            if record.active and record.server != self.server:
                self._finish(record, INTERRUPTED, "the server stopped before the job finished")
        self.store.remove_finished(self.limits.keep_finished_days * DAY_S)

    # --- asking ---------------------------------------------------------------------------------------------
    def submit(self, kind: str, owner: str, config: dict[str, Any]) -> JobRecord:
        """Queue a job (it starts at once when the limits allow); InputError when ``owner`` already has
        `JobLimits.max_queued_per_user` jobs waiting."""
        with self._lock:
            waiting = [record for record in self.store.list(owner=owner) if record.status == QUEUED]
            if len(waiting) >= self.limits.max_queued_per_user:
                raise InputError("job queue", f"you already have {len(waiting)} jobs waiting: cancel one or wait")
            self.store.remove_finished(self.limits.keep_finished_days * DAY_S)
            record = self.store.create(kind, owner, config, server=self.server)
            self._schedule()
            return self.store.get(record.id)

    def cancel(self, job_id: str) -> JobRecord:
        """Cancel a queued job, or end a running one's worker process (terminate, then kill); nothing is kept."""
        with self._lock:
            record = self.store.get(job_id)
            running = self._running.pop(job_id, None)
            if running is not None:
                end_workers([running.process])
            if record.active:
                record = self._finish(record, CANCELLED, "cancelled by the user")
            self._schedule()
            return record

    def queue_position(self, job_id: str) -> int | None:
        """1-based place of a queued job among all queued jobs of the server, or None when not queued."""
        queued = [record.id for record in self.store.list() if record.status == QUEUED]
        return queued.index(job_id) + 1 if job_id in queued else None

    def refresh(self) -> None:
        """Reap finished workers and start queued jobs (the watcher thread does this every `POLL_S`)."""
        with self._lock:
            self._schedule()

    def shutdown(self) -> None:
        """Cancel every job this manager runs or has queued (tests; a server being stopped)."""
        with self._lock:
            for record in self.store.list():
                if record.active and record.server == self.server:
                    self.cancel(record.id)

    def worker_pid(self, job_id: str) -> int | None:
        with self._lock:
            running = self._running.get(job_id)
            return None if running is None else running.process.pid

    # --- the work -----------------------------------------------------------------------------------------
    def _finish(self, record: JobRecord, status: str, message: str = "") -> JobRecord:
        finished = dataclasses.replace(record, status=status, finished=time.time(), pid=None, message=message)
        self.store.write(finished)
        return finished

    def _reap(self) -> None:
        for job_id, running in list(self._running.items()):
            code = running.process.poll()
            if code is None:
                continue
            del self._running[job_id]
            record = self.store.get(job_id)
            if not record.active:
                continue
            if code == 0 and self.store.result(job_id) is not None:
                self._finish(record, DONE)
            else:
                self._finish(record, FAILED, self.store.error(job_id) or f"the worker process ended with status {code}")

    def _schedule(self) -> None:
        self._reap()
        running_owners = [running.record.owner for running in self._running.values()]
        for record in self.store.list():
            if record.status != QUEUED or record.server != self.server:
                continue
            if len(self._running) >= self.limits.max_running:
                break
            if running_owners.count(record.owner) >= self.limits.max_per_user:
                continue
            self._start(record)
            running_owners.append(record.owner)
        if (self._running or any(r.status == QUEUED for r in self.store.list())) and not self._watching():
            self._watcher = threading.Thread(target=self._watch, name="genrelens-jobs", daemon=True)
            self._watcher.start()

    def _start(self, record: JobRecord) -> None:
        threads = max(1, (os.cpu_count() or 1) // self.limits.max_running)
        process = start_worker(self.store.folder(record.id), RUNNERS[record.kind], threads)
        started = dataclasses.replace(record, status=RUNNING, started=time.time(), pid=process.pid)
        self.store.write(started)
        self._running[record.id] = _Running(process, started)

    def _watching(self) -> bool:
        return self._watcher is not None and self._watcher.is_alive()

    def _watch(self) -> None:
        while True:
            time.sleep(POLL_S)
            with self._lock:
                self._schedule()
                idle = not self._running and not any(r.status == QUEUED and r.server == self.server
                                                     for r in self.store.list())
                if idle:
                    self._watcher = None
                    return

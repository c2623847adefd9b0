"""The worker processes of background jobs (`genre_core.jobs`): start one, end one.

A worker is a fresh interpreter running ``python -m genre_core.job_worker`` on a job's folder, leader of a process
group of its own, so ending the group ends the worker and whatever it started (joblib's extraction workers, say).
It gets the server's ``sys.path`` (so it imports what the server does) but never runs the server's ``__main__``.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

CANCEL_GRACE_S = 5.0  #: s a terminated worker gets to exit before its process group is killed


def worker_environment(threads: int) -> dict[str, str]:
    """This process's environment for a worker: its ``sys.path`` as ``PYTHONPATH`` and ``threads`` intra-op threads
    (TensorFlow, OpenMP) with one inter-op thread, unless the user set those variables."""
    environment = dict(os.environ)
    environment["PYTHONPATH"] = os.pathsep.join(entry for entry in sys.path if entry)
    for variable in ("TF_NUM_INTRAOP_THREADS", "OMP_NUM_THREADS"):
        environment.setdefault(variable, str(threads))
    environment.setdefault("TF_NUM_INTEROP_THREADS", "1")
    return environment


def start_worker(folder: Path, target: str, threads: int) -> subprocess.Popen[bytes]:
    """Start the worker of the job in ``folder`` running ``target`` (``"module:function"``) with ``threads``
    threads; it stops gracefully once this process is gone. Its output goes where this process's goes."""
    command = [sys.executable, "-m", "genre_core.job_worker", str(folder), "--target", target,
               "--parent-pid", str(os.getpid())]
    return subprocess.Popen(command, env=worker_environment(threads), stdin=subprocess.DEVNULL, process_group=0)


def end_workers(processes: list[subprocess.Popen[bytes]]) -> None:
    """Terminate each worker's process group, kill what is left of it after `CANCEL_GRACE_S`, and reap them."""
    for process in processes:
        _signal_group(process, signal.SIGTERM)
    deadline = time.monotonic() + CANCEL_GRACE_S
    for process in processes:
        try:
            process.wait(max(0.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            pass
        _signal_group(process, signal.SIGKILL)  # the worker if it is still there, and what it left behind
        process.wait()


def _signal_group(process: subprocess.Popen[bytes], signum: int) -> None:
    try:
        os.killpg(process.pid, signum)
    except ProcessLookupError:  # every process of the group has exited
        pass

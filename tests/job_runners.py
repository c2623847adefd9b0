"""Cheap job runners for the job-layer tests (imported by name in the job worker processes)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from typing import Any

from genre_core.errors import InputError
from genre_core.jobs import JobContext


def ticking(config: dict[str, Any], context: JobContext) -> dict[str, Any]:
    """Emit a tick (with the worker's pid) every 20 ms for ``config["seconds"]`` or until asked to stop."""
    deadline = time.monotonic() + config["seconds"]
    ticks = 0
    while time.monotonic() < deadline and not context.should_stop():
        context.emit({"type": "tick", "n": ticks, "pid": os.getpid()})
        ticks += 1
        time.sleep(0.02)
    return {"ticks": ticks, "stopped": context.should_stop()}


def failing(config: dict[str, Any], context: JobContext) -> dict[str, Any]:
    raise InputError("the config", "is wrong on purpose\nsecond line")


def main_module(config: dict[str, Any], context: JobContext) -> dict[str, Any]:
    """What the worker's interpreter holds: its ``__main__`` module's name and whether Streamlit was imported."""
    main = sys.modules["__main__"]
    return {"main": main.__spec__.name if main.__spec__ else None, "streamlit": "streamlit" in sys.modules}


def spawning(config: dict[str, Any], context: JobContext) -> dict[str, Any]:
    """Start a child process that sleeps, say its pid in an event, then tick until stopped (a cancel's test)."""
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"])
    context.emit({"type": "child", "pid": child.pid})
    while not context.should_stop():
        time.sleep(0.02)
    child.kill()
    return {"child": child.wait()}

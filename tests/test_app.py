"""app.py draws only when Streamlit runs it as ``__main__``: a process started with multiprocessing's spawn method
imports the server's main script as ``__mp_main__`` and must not run the app (the page, the sidebar, session state)
there."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def run_app_as(run_name: str) -> subprocess.CompletedProcess:
    """Run app.py under ``run_name`` in a fresh interpreter whose ``st.navigation`` raises when called."""
    code = ("import runpy, streamlit as st\n"
            "def refuse(*args, **kwargs):\n    raise SystemExit('the app ran')\n"
            "st.navigation = refuse\n"
            f"runpy.run_path('app.py', run_name={run_name!r})\n")
    return subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=120)


def test_the_app_runs_as_main_only() -> None:
    assert run_app_as("__mp_main__").returncode == 0
    ran = run_app_as("__main__")
    assert ran.returncode == 1 and "the app ran" in ran.stderr

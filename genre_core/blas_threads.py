"""BLAS on one thread while any caller in the process asks for it, restored when the last one is done.

`threadpoolctl.threadpool_limits` sets a process-wide limit and restores, on exit, the limit it found on entry.
Two overlapping callers (two app sessions predicting, or a prediction during a background extraction) would
then leave BLAS wherever the last one to leave found it: the first caller's exit lifts the limit under the second,
and the second's exit puts back the first's "one thread" for good. Here the first caller in sets the limit and
the last caller out restores the original one; values never depend on it, only speed.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

from threadpoolctl import threadpool_limits

_LOCK = threading.Lock()
_state: dict[str, object] = {"users": 0, "limiter": None}


@contextmanager
def one_blas_thread() -> Iterator[None]:
    """BLAS limited to one thread for the duration, for this and every other caller still inside."""
    with _LOCK:
        if _state["users"] == 0:
            _state["limiter"] = threadpool_limits(limits=1, user_api="blas")
        _state["users"] = int(_state["users"]) + 1
    try:
        yield
    finally:
        with _LOCK:
            _state["users"] = int(_state["users"]) - 1
            if _state["users"] == 0:
                _state["limiter"].restore_original_limits()  # type: ignore[union-attr]
                _state["limiter"] = None


def users() -> int:
    """How many callers are inside `one_blas_thread` now."""
    with _LOCK:
        return int(_state["users"])

"""Keep the server's full garbage collections cheap once Keras is loaded.

After every script run in a process that has imported Keras, Streamlit calls ``keras.backend.clear_session()``,
which ends in a full ``gc.collect()``: a walk over every object the collector tracks. With TensorFlow, Keras and
the models loaded that is ~400k objects and 0.4-1 s per script run on 2 cores, most of a page switch; yet nearly
all of them (imported modules, loaded models) live as long as the server. `settle` moves the objects alive now
out of the collector's sight (``gc.freeze``): collections then walk only what was made since. Objects that die are
still freed by reference counting; only cycles among frozen objects that become garbage (a model dropped from the
bundle cache, an ended session's state) wait for the next `settle`, which first takes everything back
(``gc.unfreeze``) and collects it. `settle` does that after the process imported a module (the objects of a new
library) or loaded a model (`settle_soon`), and otherwise at most every `REFREEZE_S`, so what waits is bounded in
time.
"""

from __future__ import annotations

import gc
import sys
import threading
import time
from dataclasses import dataclass, field

import streamlit as st

REFREEZE_S = 300.0  #: most seconds between two freezes while Keras is loaded (frozen garbage waits at most this)


@dataclass
class _FreezeState:
    """When the server last froze its objects: ``modules`` in ``sys.modules`` then, ``at`` (``time.monotonic``)."""

    modules: int = -1
    at: float = float("-inf")
    lock: threading.Lock = field(default_factory=threading.Lock)


@st.cache_resource(show_spinner=False)
def _freeze_state() -> _FreezeState:
    """The process-wide freeze state (one per server)."""
    return _FreezeState()


def settle(now: float | None = None) -> bool:
    """Once Keras is loaded: when a module was imported since the last freeze, or `REFREEZE_S` have passed
    (``now``: ``time.monotonic()`` by default), collect everything (frozen objects included) and freeze what is
    left. Returns whether it did (app.py calls this at the end of every script run; cheap when it does not)."""
    if "keras" not in sys.modules:  # Streamlit's per-run full collection happens only with Keras loaded
        return False
    state = _freeze_state()
    now = time.monotonic() if now is None else now
    with state.lock:
        if len(sys.modules) == state.modules and now - state.at < REFREEZE_S:
            return False
        gc.unfreeze()
        gc.collect()
        gc.freeze()
        state.modules, state.at = len(sys.modules), now
    return True


def settle_soon() -> None:
    """Make the next `settle` freeze again (after loading a model: its many objects live as long as the cache)."""
    state = _freeze_state()
    with state.lock:
        state.modules = -1

"""pages/heap.py: once Keras is loaded the server's objects are frozen out of the full collections Streamlit runs after
every script run; frozen again after an import, a model load or `REFREEZE_S`; garbage among frozen objects is freed
at the next freeze; nothing happens without Keras. And app.py settles after the page it ran."""

from __future__ import annotations

import gc
import sys
import time
import types
import weakref
from collections.abc import Iterator
from pathlib import Path

import pytest
from helpers import APP
from streamlit.testing.v1 import AppTest

from pages import heap


class _Cycle:
    """An object in a reference cycle (freed only by the cyclic collector)."""

    def __init__(self) -> None:
        self.me = self


@pytest.fixture
def fresh_heap(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Keras counted as loaded, no freeze yet; everything unfrozen again afterwards."""
    monkeypatch.setitem(sys.modules, "keras", sys.modules.get("keras") or types.ModuleType("keras"))
    heap._freeze_state.clear()
    gc.unfreeze()
    yield
    gc.unfreeze()
    heap._freeze_state.clear()


def test_objects_alive_at_a_settle_are_frozen_and_later_ones_are_not(fresh_heap: None) -> None:
    assert gc.get_freeze_count() == 0
    assert heap.settle() is True
    frozen = gc.get_freeze_count()
    assert frozen > 1000  # the interpreter's and the test run's objects
    later = [_Cycle() for _ in range(50)]
    assert heap.settle() is False  # nothing imported, nothing loaded, not REFREEZE_S yet
    assert gc.get_freeze_count() == frozen  # the 50 new objects stay with the collector
    assert len(later) == 50


def test_an_import_a_model_load_or_time_freezes_again(fresh_heap: None, monkeypatch: pytest.MonkeyPatch) -> None:
    collections: list[int] = []
    monkeypatch.setattr(gc, "collect", lambda *generation: collections.append(1) or 0)  # a full one costs ~1 s here
    start = time.monotonic()
    assert heap.settle(now=start)
    monkeypatch.setitem(sys.modules, "genrelens_new_library", types.ModuleType("genrelens_new_library"))
    assert heap.settle(now=start + 1) is True
    assert heap.settle(now=start + 2) is False
    heap.settle_soon()  # a model was loaded
    assert heap.settle(now=start + 3) is True
    assert heap.settle(now=start + 3 + heap.REFREEZE_S - 1) is False
    assert heap.settle(now=start + 3 + heap.REFREEZE_S) is True
    assert len(collections) == 4  # each freeze first collects what the last one froze


def test_garbage_among_frozen_objects_is_freed_at_the_next_freeze(fresh_heap: None) -> None:
    kept = _Cycle()
    alive = weakref.ref(kept)
    heap.settle()
    del kept
    gc.collect()
    assert alive() is not None  # frozen: full collections no longer look at it
    heap.settle_soon()
    heap.settle()
    assert alive() is None


def test_nothing_is_frozen_without_keras(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delitem(sys.modules, "keras", raising=False)
    heap._freeze_state.clear()
    gc.unfreeze()
    assert heap.settle() is False
    assert gc.get_freeze_count() == 0


def test_the_app_settles_after_the_page_it_ran(fresh_heap: None, workspace: Path) -> None:
    app = AppTest.from_file(APP, default_timeout=120).run()
    assert not app.exception
    assert gc.get_freeze_count() > 0

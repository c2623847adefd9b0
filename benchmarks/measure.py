"""What every benchmark figure is: a median over repeated runs with its range, next to its target.

Where a target is a ratio, both sides run alternately inside each repetition and the ratio is taken per
repetition, so that drifts in the machine's load touch both sides alike.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass

RUNS = 5  #: repetitions behind every figure unless a figure says otherwise


@dataclass(frozen=True)
class Result:
    """One benchmark figure: ``value`` the median of ``runs`` measurements in ``unit`` (``low``..``high`` their
    range), ``goal`` the target in words ("-" for none) and ``met`` whether the median meets it."""

    name: str
    value: float
    unit: str
    goal: str
    met: bool
    low: float | None = None
    high: float | None = None
    runs: int = 1


def seconds(function: Callable[[], object]) -> float:
    """Wall time of one call, in seconds."""
    start = time.perf_counter()
    function()
    return time.perf_counter() - start


def summarise(name: str, samples: list[float], unit: str, goal: str = "-",
              meets: Callable[[float], bool] = lambda value: True) -> Result:
    """A `Result` of the median of ``samples`` (``meets(median)`` says whether the goal is met)."""
    median = statistics.median(samples)
    return Result(name, median, unit, goal, meets(median), min(samples), max(samples), len(samples))


def repeated(name: str, function: Callable[[], object], unit_scale: float = 1.0, unit: str = "s", goal: str = "-",
             meets: Callable[[float], bool] = lambda value: True, runs: int = RUNS) -> Result:
    """Time ``function`` ``runs`` times; the figure is its median wall time times ``unit_scale`` in ``unit``."""
    return summarise(name, [unit_scale * seconds(function) for _ in range(runs)], unit, goal, meets)

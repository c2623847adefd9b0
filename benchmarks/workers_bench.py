"""Where 2 worker processes start to pay: one process against 2 loky workers at a few sizes.

Each size's files are the 70 real tracks linked under new names; each extraction (log-mel + MFCC, a fresh cache)
runs in a fresh interpreter, so the workers start cold as on the CLI and on a server's first extraction, and
the two sides alternate inside each run. The figure per size is the ratio of one process's time over the 2
workers' (above 1: the workers are faster). `extraction.SERIAL_BELOW_FILES` is set from these figures.
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

from benchmarks.extraction_bench import GTZAN_MINI, extract_in_a_fresh_process, link_copies
from benchmarks.measure import Result, summarise

CROSSOVER_SIZES = (10, 140)  #: files per size: a class's small folder and twice the shared tracks
CROSSOVER_RUNS = 2  #: alternating runs per size (each a fresh interpreter per side: about a minute in all)


def bench_crossover(workspace: Path) -> list[Result]:
    """Per size, seconds of one process over seconds of 2 workers (median of `CROSSOVER_RUNS` alternating runs),
    and the one-process times themselves."""
    if not GTZAN_MINI.is_dir():
        return [Result(f"serial vs 2 workers: {GTZAN_MINI} is missing", 0.0, "-", "the 70 real tracks", False)]
    results = []
    for count in CROSSOVER_SIZES:
        folder = Path(tempfile.mkdtemp(prefix=f"crossover-{count}-", dir=workspace))
        try:
            link_copies(folder, count)
            serial, parallel = [], []
            for run in range(CROSSOVER_RUNS):
                for n_jobs, times in ((1, serial), (2, parallel)):
                    cache = workspace / f"crossover-cache-{count}-{run}-{n_jobs}"
                    times.append(extract_in_a_fresh_process(count, folder, cache, n_jobs)["seconds"])
                    shutil.rmtree(cache, ignore_errors=True)
        finally:
            shutil.rmtree(folder, ignore_errors=True)
        results.append(summarise(f"serial vs 2 workers, {count} files: one process (log-mel + MFCC, cold workers)",
                                 serial, "s"))
        results.append(summarise(f"serial vs 2 workers, {count} files: one process's time over 2 workers'",
                                 [one / two for one, two in zip(serial, parallel, strict=True)], "x"))
    return results

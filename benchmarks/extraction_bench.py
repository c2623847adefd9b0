"""Extraction against the tutorial pipeline on the 70 real GTZAN tracks, and how it scales with many files.

`bench_against_reference`: per repetition the reference (`benchmarks.reference_pipeline`) and GenreLens'
extraction (a fresh cache folder: cold) run one after the other on the same files with the same settings
(10 windows of 3 s, 16 MFCCs, MFCCs only; the reference with BLAS on one thread, as our serial path runs:
on a busy machine librosa's two BLAS threads make the reference several times slower, which would flatter the
ratio), then both are reopened (the reference's JSON with ``json.load``, ours
from its feature cache, memory-mapped). The MFCCs of both must agree (`check_same_mfcc`) or the benchmark stops.

`bench_scaling`: 70, 350 and 1050 files (the 70 tracks linked under new names), each extraction in a fresh
process (`python -m benchmarks.extraction_bench N FOLDER`), reporting tracks per second and peak memory.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from threadpoolctl import threadpool_limits

from benchmarks.measure import RUNS, Result, seconds, summarise
from benchmarks.reference_pipeline import reference_mfcc, reload_reference

ROOT = Path(__file__).resolve().parent.parent
GTZAN_MINI = ROOT.parent / "shared" / "data" / "gtzan_mini" / "genres"
COLD_SPEED_UP_GOAL = 3.0  #: our cold extraction against the reference, same files and output
REOPEN_SPEED_UP_GOAL = 50.0  #: reopening our cache against reloading the reference's JSON
SCALING_SIZES = (70, 350, 1050)
SCALING_PEAK_GOAL_GB = 1.5  #: peak memory at 1050 files
LINEAR_GOAL = 1.3  #: seconds per track at the largest size over seconds per track at the smallest, at most


def gtzan_files() -> list[tuple[Path, str]]:
    """The 70 real tracks with their genre, in path order (as both pipelines process them)."""
    return sorted((path, path.parent.name) for path in GTZAN_MINI.glob("*/*.wav"))


def check_same_mfcc(reference: dict, ours_track_ids: np.ndarray, ours_segments: np.ndarray,
                    ours_mfcc: np.ndarray) -> tuple[float, int]:
    """Largest absolute difference between the reference's MFCCs and ours on the complete windows both kept,
    and how many windows were compared. The last window of a track under 30 s is left out: the reference frames
    the shorter part (or drops it when a frame is missing), ours zero-pads it to a full window. Raises
    AssertionError when any compared window differs beyond float32 rounding."""
    ours = {(str(track), int(segment)): row for track, segment, row in zip(ours_track_ids, ours_segments, ours_mfcc,
                                                                           strict=True)}
    worst, compared = 0.0, 0
    for track, segment, complete, values in zip(reference["track"], reference["segment"], reference["complete"],
                                                reference["mfcc"], strict=True):
        if not complete:
            continue
        expected = np.asarray(values, dtype=np.float32)
        mine = ours[(track, segment)]
        np.testing.assert_allclose(mine, expected, rtol=1e-5, atol=1e-3, err_msg=f"{track} window {segment}")
        worst = max(worst, float(np.max(np.abs(mine - expected))))
        compared += 1
    return worst, compared


def bench_against_reference(workspace: Path) -> list[Result]:
    """Cold extraction and reopening against the reference pipeline (module docstring)."""
    from genre_core import extraction, features
    from genre_core.config import MFCC, FeatureConfig

    files = gtzan_files()
    if len(files) != 70:
        return [Result(f"extraction vs reference: {GTZAN_MINI} is missing", 0.0, "-", "the 70 real tracks", False)]
    config = FeatureConfig(segments_per_track=10, n_mfcc=16)
    features.compile_kernels()  # both sides run warm: librosa's numba kernels are compiled once per install
    json_path = workspace / "reference.json"
    cold_ratios, reopen_ratios, ours_cold, reference_cold = [], [], [], []
    for run in range(RUNS):
        cache = workspace / f"cache-{run}"
        with threadpool_limits(limits=1, user_api="blas"):  # as ours: 2 BLAS threads on a busy machine crawl
            reference_seconds = seconds(lambda: reference_mfcc(files, json_path, n_mfcc=16, segments=10))
        ours_seconds = seconds(lambda cache=cache: extraction.extract_files(files, config, [MFCC], cache_dir=cache))
        reload_seconds = seconds(lambda: reload_reference(json_path))
        reopen_seconds = seconds(lambda cache=cache: extraction.extract_files(files, config, [MFCC], cache_dir=cache))
        cold_ratios.append(reference_seconds / ours_seconds)
        reopen_ratios.append(reload_seconds / reopen_seconds)
        ours_cold.append(ours_seconds)
        reference_cold.append(reference_seconds)
        shutil.rmtree(cache)
    reference = json.loads(json_path.read_text())
    result = extraction.extract_files(files, config, [MFCC], cache_dir=None)
    worst, compared = check_same_mfcc(reference, result.track_ids, result.segment_index, result.features[MFCC])
    return [
        summarise("tutorial reference pipeline, 70 tracks (10 x 16 MFCC, json.dump)", reference_cold, "s"),
        summarise("GenreLens extraction, same tracks and MFCCs, cold", ours_cold, "s"),
        summarise(f"cold extraction speed-up over the reference (same MFCCs: {compared} windows, max |diff| {worst:.1e})", cold_ratios,
                  "x", f">= {COLD_SPEED_UP_GOAL:g}x", lambda value: value >= COLD_SPEED_UP_GOAL),
        summarise("reopen the cache vs json.load of the reference's file", reopen_ratios, "x",
                  f">= {REOPEN_SPEED_UP_GOAL:g}x", lambda value: value >= REOPEN_SPEED_UP_GOAL),
    ]


def link_copies(folder: Path, count: int) -> list[tuple[Path, str]]:
    """``count`` files in ``folder``: the 70 tracks again and again under new names (hard links where the file
    system allows, else copies), with their genre."""
    files = gtzan_files()
    made = []
    for index in range(count):
        source, genre = files[index % len(files)]
        target = folder / genre / f"{genre}.{index:05d}.wav"
        target.parent.mkdir(parents=True, exist_ok=True)
        try:
            os.link(source, target)
        except OSError:
            shutil.copyfile(source, target)
        made.append((target, genre))
    return made


def bench_scaling(workspace: Path) -> list[Result]:
    """Tracks per second and peak memory at `SCALING_SIZES` files, log-mel and MFCC (what the CNN and MFCC
    presets train on), one fresh process per size."""
    if not GTZAN_MINI.is_dir():
        return [Result(f"scaling: {GTZAN_MINI} is missing", 0.0, "-", "the 70 real tracks", False)]
    measured = {}
    for count in SCALING_SIZES:
        folder = Path(tempfile.mkdtemp(prefix=f"scaling-{count}-", dir=workspace))
        try:
            link_copies(folder, count)
            measured[count] = extract_in_a_fresh_process(count, folder, workspace / f"scaling-cache-{count}")
        finally:
            shutil.rmtree(folder, ignore_errors=True)
    results = []
    for count, values in measured.items():
        results.append(Result(f"scaling: {count} files, log-mel + MFCC, tracks per second", values["tracks_per_s"],
                              "tracks/s", "-", True))
        peak = values["peak_gb"]
        goal = f"< {SCALING_PEAK_GOAL_GB:g} GB" if count == SCALING_SIZES[-1] else "-"
        results.append(Result(f"scaling: {count} files, peak memory (process and its workers at one moment)", peak, "GB",
                              goal, peak < SCALING_PEAK_GOAL_GB or count != SCALING_SIZES[-1]))
    small, large = SCALING_SIZES[0], SCALING_SIZES[-1]
    growth = measured[small]["tracks_per_s"] / measured[large]["tracks_per_s"]
    results.append(Result(f"scaling: seconds per track at {large} over at {small} files", growth, "x",
                          f"<= {LINEAR_GOAL:g} (linear cost)", growth <= LINEAR_GOAL))
    return results


def bench_dask() -> list[Result]:
    """Throughput of the 70 tracks (log-mel + MFCC) on a local Dask cluster of 2 worker processes against the local
    run (joblib's loky workers, as many), each run with a fresh cache; needs requirements-scale.txt."""
    try:
        from distributed import LocalCluster
    except ImportError:
        return [Result("Dask LocalCluster throughput: dask[distributed] not installed (requirements-scale.txt)",
                       0.0, "-", "measured", False)]
    from genre_core import cluster, extraction, features
    from genre_core.config import LOG_MEL, MFCC, FeatureConfig

    files = gtzan_files()
    features.compile_kernels()
    ratios, rates = [], []
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as dask_cluster:
        with tempfile.TemporaryDirectory() as caches:
            for run in range(RUNS):
                local = seconds(lambda run=run: extraction.extract_files(
                    files, FeatureConfig(), [LOG_MEL, MFCC], n_jobs=2, cache_dir=Path(caches) / f"local-{run}"))
                with cluster.joblib_backend(cluster.DASK, dask_cluster.scheduler_address) as jobs:
                    remote = seconds(lambda run=run, jobs=jobs: extraction.extract_files(
                        files, FeatureConfig(), [LOG_MEL, MFCC], n_jobs=jobs, cache_dir=Path(caches) / f"dask-{run}"))
                rates.append(len(files) / remote)
                ratios.append(local / remote)
    return [summarise("Dask LocalCluster (2 worker processes), 70 tracks log-mel + MFCC", rates, "tracks/s"),
            summarise("Dask LocalCluster throughput over local loky workers (2 each)", ratios, "x")]


def _tree_rss_bytes(pid: int) -> int:
    """Resident memory of process ``pid`` and all its descendants now (Linux /proc), in bytes."""
    total, pending = 0, [pid]
    while pending:
        current = pending.pop()
        try:
            status = Path(f"/proc/{current}/status").read_text()
            total += 1024 * int(next(line.split()[1] for line in status.splitlines() if line.startswith("VmRSS:")))
            for task in Path(f"/proc/{current}/task").iterdir():
                pending += [int(child) for child in (task / "children").read_text().split()]
        except (OSError, StopIteration, ValueError):
            continue
    return total


def extract_in_a_fresh_process(count: int, folder: Path, cache: Path, n_jobs: int = -1) -> dict[str, float]:
    """Run `_extract_in_this_process` in a new interpreter (worker processes started afresh, as on the CLI) and
    return what it measured: ``files``, ``seconds``, ``tracks_per_s``, ``peak_gb``."""
    command = [sys.executable, "-m", "benchmarks.extraction_bench", str(count), str(folder), str(cache), str(n_jobs)]
    output = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, check=True).stdout
    return json.loads(output.strip().splitlines()[-1])


def _extract_in_this_process(count: int, folder: Path, cache: Path, n_jobs: int) -> None:
    """The child of `extract_in_a_fresh_process`: extract ``folder`` once over ``n_jobs``, print seconds, tracks/s
    and the peak of the memory that this process and its workers hold at one moment (sampled every 0.2 s) as
    JSON."""
    import threading

    from genre_core import extraction, features
    from genre_core.config import LOG_MEL, MFCC, FeatureConfig

    features.compile_kernels()
    files = sorted((path, path.parent.name) for path in folder.glob("*/*.wav"))
    peak, running = [0], threading.Event()
    running.set()

    def sample() -> None:
        while running.is_set():
            peak[0] = max(peak[0], _tree_rss_bytes(os.getpid()))
            time.sleep(0.2)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    start = time.perf_counter()
    extraction.extract_files(files, FeatureConfig(), [LOG_MEL, MFCC], n_jobs=n_jobs, cache_dir=cache)
    elapsed = time.perf_counter() - start
    running.clear()
    sampler.join()
    print(json.dumps({"files": count, "seconds": elapsed, "tracks_per_s": count / elapsed,
                      "peak_gb": max(peak[0], _tree_rss_bytes(os.getpid())) / 1024**3}))


if __name__ == "__main__":
    _extract_in_this_process(int(sys.argv[1]), Path(sys.argv[2]), Path(sys.argv[3]), int(sys.argv[4]))

"""Feature extraction over many audio files: parallel (joblib/loky), with progress and a cache.

Per file: `audio.load_audio` → `audio.segment_audio` → `features.segment_features`. A file that cannot
be used is skipped and reported as one line ``"<path>: <reason>"``; the run goes on. Each file's rows go to the
cache folder as the file finishes (`genre_core.feature_cache`: one ``.npy`` per array, uncompressed, returned
memory-mapped), one folder per distinct input, keyed by the files (path, size, modification time, label), the
`FeatureConfig` fingerprint, the feature kinds and `CODE_VERSION`, so a changed file, setting or kind always gives
a new key and a repeated run loads in a fraction of a second. Float features barely compress (the demo's 77 MB by
~10 %), and compressing them would add ~3 s to the demo's first use, so they are stored as they are.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path
from typing import NamedTuple

import joblib
import numpy as np
from tqdm import tqdm

from genre_core import audio, feature_cache, features, paths
from genre_core.blas_threads import one_blas_thread
from genre_core.config import FEATURE_KINDS, SUMMARY, FeatureConfig
from genre_core.errors import GenreLensError, InputError
from genre_core.feature_cache import ExtractionResult

#: Part of every cache key: bump it whenever extraction or feature code changes its output.
CODE_VERSION = "extraction-3"  # 3: log-mel and MFCC through genre_core.spectrogram (values to float32 rounding)

#: Fewer files than this are extracted in one process when all cores are asked for (``n_jobs=-1``). Measured by
#: `make bench` (part "workers", BENCHMARKS.md) on 2 cores at load average ~1.5: 2 cold loky workers took 18x, 5x,
#: 3.3x and 2.7x one process's time at 10, 30, 70 and 140 files (and as much at load ~13). Cold workers cost
#: ~7 s to start (imports, numba's kernels) while one process takes 0.028 s a file (log-mel + MFCC); 2 workers
#: save at most half of that, 0.014 s a file, so they pay only from ~500 files (7 s / 0.014 s).
SERIAL_BELOW_FILES = 500
#: The same rule when the summary table is among the kinds: its HPSS, tempo and chroma take ~0.55 s of one core
#: per 30 s file (the demo's 100 tracks: 55 s of CPU for the summary against 3.4 s for log-mel + MFCC, branch demo2,
#: benchmarks/changes.md), so 2 workers save ~0.27 s a file and pay for their ~7 s start from ~26 files.
SERIAL_BELOW_FILES_WITH_SUMMARY = 30

ProgressCallback = Callable[[int, int], None]


class _FileOutcome(NamedTuple):
    """What one worker returns for one file: features (None when skipped), window starts, error."""

    features: dict[str, np.ndarray] | None
    start_seconds: np.ndarray | None
    error: str | None


def track_ids_for(files: Sequence[Path]) -> list[str]:
    """Track id per file: its stem (``blues.00003``); ``<folder>/<file name>`` where stems collide.

    Raises `InputError` when ids still collide (the same file listed twice).
    """
    stem_counts = Counter(path.stem for path in files)
    ids = [path.stem if stem_counts[path.stem] == 1 else f"{path.parent.name}/{path.name}" for path in files]
    duplicates = sorted(name for name, count in Counter(ids).items() if count > 1)
    if duplicates:
        raise InputError("files", f"the same file is listed more than once: {duplicates[0]}")
    return ids


def cache_key(files: Sequence[tuple[Path, str]], config: FeatureConfig, kinds: Sequence[str]) -> str:
    """sha256 (hex) of the sorted files with size, mtime and label, the config, the kinds and `CODE_VERSION`."""
    entries = []
    for path, label in sorted((str(Path(path).resolve()), str(label)) for path, label in files):
        try:
            status = Path(path).stat()
            size, mtime = status.st_size, status.st_mtime_ns
        except OSError:
            size, mtime = -1, -1
        entries.append([path, size, mtime, label])
    payload = {
        "files": entries,
        "config": config.fingerprint(),
        "kinds": sorted(kinds),
        "version": CODE_VERSION,
    }
    return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()


def cache_path(
    cache_dir: Path, files: Sequence[tuple[Path, str]], config: FeatureConfig, kinds: Sequence[str]
) -> Path:
    """Where `extract_files` caches the result for these inputs: the folder ``<cache_dir>/features-<key>``
    (`genre_core.feature_cache`)."""
    return Path(cache_dir) / f"features-{cache_key(files, config, kinds)[:32]}"


def _extract_file(path: Path, config: FeatureConfig, kinds: Sequence[str]) -> _FileOutcome:
    """Decode, window and featurise one file (runs in a worker process)."""
    try:
        samples = audio.load_audio(path, config.sample_rate, name=str(path))
        segments = audio.segment_audio(samples, config, name=str(path))
        values = features.segment_features(segments, config, kinds)
        starts = np.asarray(audio.segment_start_seconds(len(segments), config), dtype=np.float32)
        return _FileOutcome({kind: np.asarray(values[kind], dtype=np.float32) for kind in kinds}, starts, None)
    except GenreLensError as error:
        message = str(error)
        return _FileOutcome(None, None, message if message.startswith(str(path)) else f"{path}: {message}")
    except Exception as error:  # noqa: BLE001 - decoders (libsndfile, audioread, soxr) raise many unrelated types
        return _FileOutcome(None, None, f"{path}: {type(error).__name__}: {error}")


def idle_cores(load_average: float | None = None) -> int:
    """Cores not busy now: the machine's cores less the 1-minute load average that is not this process's own.

    The caller is running as it asks (it has usually just decoded or generated something), so about one unit of
    the average is its own work, which the workers replace rather than add to: counting it would make a quiet
    2-core machine look half busy (load ~0.7-1 from this very process) and extract in one process.
    ``load_average`` defaults to `os.getloadavg`'s first value. Rounded to the nearest core, 0 when busy."""
    load = os.getloadavg()[0] if load_average is None else load_average
    return max(0, round(joblib.cpu_count() - max(0.0, load - 1.0)))


def serial_threshold(kinds: Sequence[str]) -> int:
    """Files below which ``n_jobs=-1`` extracts ``kinds`` in one process: `SERIAL_BELOW_FILES_WITH_SUMMARY` when
    the summary table is among them (it costs ~17x log-mel + MFCC per file), else `SERIAL_BELOW_FILES`."""
    return SERIAL_BELOW_FILES_WITH_SUMMARY if SUMMARY in kinds else SERIAL_BELOW_FILES


def worker_count(n_jobs: int, total: int, idle: int, *, serial_below: int = SERIAL_BELOW_FILES) -> int:
    """Processes for ``total`` files: ``n_jobs`` as joblib counts them (under the active joblib backend), at most
    one per file. -1 (all cores) means one process below ``serial_below`` files, else one per ``idle`` core
    (at least one): on a busy machine worker processes only compete with the work already there (BENCHMARKS.md)."""
    if n_jobs == -1:
        if total < serial_below:
            return 1
        return max(1, min(joblib.effective_n_jobs(n_jobs), idle, total))
    return max(1, min(joblib.effective_n_jobs(n_jobs), total))


def _outcomes(paths_to_extract: Sequence[Path], config: FeatureConfig, kinds: tuple[str, ...],
              workers: int) -> Iterator[_FileOutcome]:
    """One outcome per file, in order: in this process for one worker (BLAS on one thread: one matrix product
    per window is faster so, and the other cores stay free), else through ``joblib.Parallel`` under the active
    joblib backend (loky processes, kept alive between calls, unless the caller chose another, e.g. Dask)."""
    if workers == 1:
        with one_blas_thread():
            for path in paths_to_extract:
                yield _extract_file(path, config, kinds)
        return
    features.compile_kernels()  # workers compiling at once can corrupt numba's on-disk cache
    yield from joblib.Parallel(n_jobs=workers, return_as="generator")(
        joblib.delayed(_extract_file)(path, config, kinds) for path in paths_to_extract
    )


def _run_workers(
    paths_to_extract: Sequence[Path],
    config: FeatureConfig,
    kinds: Sequence[str],
    n_jobs: int,
    progress: ProgressCallback | None,
    show_bar: bool,
) -> Iterable[_FileOutcome]:
    """Yield one outcome per file, in order, calling ``progress(done, total)`` after each."""
    total = len(paths_to_extract)
    workers = worker_count(n_jobs, total, idle_cores(), serial_below=serial_threshold(kinds))
    outcomes = _outcomes(paths_to_extract, config, tuple(kinds), workers)
    with tqdm(total=total, desc="extracting features", unit="file", disable=not show_bar) as bar:
        for done, outcome in enumerate(outcomes, start=1):
            bar.update(1)
            if progress is not None:
                progress(done, total)
            yield outcome


def _write_rows(writer: feature_cache.CacheWriter, files: Sequence[tuple[Path, str]], track_ids: Sequence[str],
                outcomes: Iterable[_FileOutcome]) -> None:
    """Hand each file's rows to ``writer`` as its outcome arrives (files that failed give only an error line)."""
    for (path, label), track_id, outcome in zip(files, track_ids, outcomes, strict=True):
        if outcome.features is None:
            writer.add_error(str(outcome.error))
        else:
            writer.add_rows(label, track_id, str(Path(path).resolve()), outcome.features, outcome.start_seconds)


def extract_files(
    files: Sequence[tuple[Path, str]],
    config: FeatureConfig,
    kinds: Sequence[str] = FEATURE_KINDS,
    *,
    n_jobs: int = -1,
    progress: ProgressCallback | None = None,
    cache_dir: Path | None = paths.CACHE_DIR,
    show_bar: bool = False,
) -> ExtractionResult:
    """Features of every window of every file in ``files`` (pairs of audio path and label).

    Files are processed in path order, in parallel over ``n_jobs`` processes (-1: the idle cores, or one process
    for fewer files than `serial_threshold` of ``kinds``) under the active joblib backend (``joblib.parallel_config(backend=
    "dask")`` runs them on a Dask cluster).
    ``progress(done, total)`` is called after each file (once with ``(total, total)`` on a cache hit);
    ``show_bar`` draws a tqdm bar on stderr. Unreadable files are skipped and listed in ``errors``.
    ``cache_dir=None`` disables the cache. Raises `InputError` for no files or an unknown kind.
    """
    if not files:
        raise InputError("files", "no audio files to extract")
    kinds = tuple(dict.fromkeys(kinds))
    unknown = [kind for kind in kinds if kind not in FEATURE_KINDS]
    if unknown or not kinds:
        raise InputError("kinds", f"unknown feature kind(s) {unknown}; choose from {', '.join(FEATURE_KINDS)}")
    ordered = sorted(((Path(path), str(label)) for path, label in files), key=lambda item: str(item[0]))
    track_ids = track_ids_for([path for path, _ in ordered])
    target = None if cache_dir is None else cache_path(cache_dir, ordered, config, kinds)
    if target is not None:
        cached = feature_cache.read(target, kinds)
        if cached is not None:
            if progress is not None:
                progress(len(ordered), len(ordered))
            return cached
    outcomes = _run_workers([path for path, _ in ordered], config, kinds, n_jobs, progress, show_bar)
    return feature_cache.store(target, kinds, lambda writer: _write_rows(writer, ordered, track_ids, outcomes))

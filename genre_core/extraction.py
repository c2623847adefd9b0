"""Feature extraction over many audio files: parallel (joblib/loky), with progress and an npz cache.

Per file: `audio.load_audio` → `audio.segment_audio` → `features.segment_features`. A file that cannot
be used is skipped and reported as one line ``"<path>: <reason>"``; the run goes on. Results (errors
included) are cached in one uncompressed ``.npz`` per distinct input, keyed by the files (path, size,
modification time, label), the `FeatureConfig` fingerprint, the feature kinds and `CODE_VERSION`, so
a changed file, setting or kind always gives a new key and a repeated run loads in a fraction of a second.
Float features barely compress (the demo's 77 MB by ~10 %), and compressing them would add ~3 s to the
demo's first use, so the archive stores its arrays as they are.
"""

from __future__ import annotations

import hashlib
import json
import zipfile
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import NamedTuple

import joblib
import numpy as np
from threadpoolctl import threadpool_limits
from tqdm import tqdm

from genre_core import audio, features, paths
from genre_core.atomic import atomic_path
from genre_core.config import FEATURE_KINDS, FeatureConfig
from genre_core.errors import GenreLensError, InputError

#: Part of every cache key: bump it whenever extraction or feature code changes its output.
CODE_VERSION = "extraction-2"  # 2: mel filter bank applied as a sparse product (values to float32 rounding)

#: Fewer files than this are extracted in one process when all cores are asked for (``n_jobs=-1``): starting
#: worker processes costs more than they save below it (measured by `make bench`, BENCHMARKS.md).
SERIAL_BELOW_FILES = 100

ProgressCallback = Callable[[int, int], None]


@dataclass
class ExtractionResult:
    """Features of every segment of every readable file, one row per segment.

    - ``labels``: (rows,) str, the label given with the row's file
    - ``track_ids``: (rows,) str, the file stem (``"blues.00003"``); see `track_ids_for`
    - ``segment_index``: (rows,) int64, window position in its track (0, 1, ...)
    - ``start_seconds``: (rows,) float32, s, where the row's window starts in its track
    - ``features``: kind → (rows, ...) float32, shapes as in `genre_core.config`
    - ``audio_paths``: track id → absolute path, for every track that gave rows
    - ``errors``: one ``"<path>: <reason>"`` line per skipped file
    - ``from_cache``: True when the result was read from the cache instead of computed
    """

    labels: np.ndarray
    track_ids: np.ndarray
    segment_index: np.ndarray
    start_seconds: np.ndarray
    features: dict[str, np.ndarray]
    audio_paths: dict[str, str] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)
    from_cache: bool = False

    def __len__(self) -> int:
        return len(self.labels)


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
    """Where `extract_files` caches the result for these inputs: ``<cache_dir>/features-<key>.npz``."""
    return Path(cache_dir) / f"features-{cache_key(files, config, kinds)[:32]}.npz"


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


def _worker_count(n_jobs: int, total: int) -> int:
    """Processes for ``total`` files: ``n_jobs`` as joblib counts them (under the active joblib backend), at most
    one per file; -1 (all cores) means one process below `SERIAL_BELOW_FILES` files."""
    if n_jobs == -1 and total < SERIAL_BELOW_FILES:
        return 1
    return max(1, min(joblib.effective_n_jobs(n_jobs), total))


def _outcomes(paths_to_extract: Sequence[Path], config: FeatureConfig, kinds: tuple[str, ...],
              workers: int) -> Iterator[_FileOutcome]:
    """One outcome per file, in order: in this process for one worker (BLAS on one thread: one matrix product
    per window is faster so, and the other cores stay free), else through ``joblib.Parallel`` under the active
    joblib backend (loky processes, kept alive between calls, unless the caller chose another, e.g. Dask)."""
    if workers == 1:
        with threadpool_limits(limits=1, user_api="blas"):
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
    outcomes = _outcomes(paths_to_extract, config, tuple(kinds), _worker_count(n_jobs, total))
    with tqdm(total=total, desc="extracting features", unit="file", disable=not show_bar) as bar:
        for done, outcome in enumerate(outcomes, start=1):
            bar.update(1)
            if progress is not None:
                progress(done, total)
            yield outcome


def _concatenate(parts: list[np.ndarray], dtype: type) -> np.ndarray:
    """Rows of all parts in order; an empty (0,) array of ``dtype`` when no file gave rows.

    ``parts`` is emptied as its rows are copied, so the rows are held about once, not twice (1050 tracks of
    log-mel and MFCC: 0.8 GB)."""
    if not parts:
        return np.zeros(0, dtype=dtype)
    joined = np.empty((sum(len(part) for part in parts), *parts[0].shape[1:]), dtype=parts[0].dtype)
    start = 0
    parts.reverse()
    while parts:
        part = parts.pop()
        joined[start : start + len(part)] = part
        start += len(part)
    return joined


def _assemble(
    files: Sequence[tuple[Path, str]], track_ids: Sequence[str], outcomes: Iterable[_FileOutcome], kinds: Sequence[str]
) -> ExtractionResult:
    """Stack per-file outcomes into row arrays (files that failed contribute only an error line)."""
    labels: list[str] = []
    row_tracks: list[str] = []
    segment_index: list[np.ndarray] = []
    starts: list[np.ndarray] = []
    values: dict[str, list[np.ndarray]] = {kind: [] for kind in kinds}
    audio_paths: dict[str, str] = {}
    errors: list[str] = []
    for (path, label), track_id, outcome in zip(files, track_ids, outcomes, strict=True):
        if outcome.features is None:
            errors.append(str(outcome.error))
            continue
        n_rows = len(outcome.start_seconds)
        labels.extend([label] * n_rows)
        row_tracks.extend([track_id] * n_rows)
        segment_index.append(np.arange(n_rows, dtype=np.int64))
        starts.append(outcome.start_seconds)
        for kind in kinds:
            values[kind].append(outcome.features[kind])
        audio_paths[track_id] = str(Path(path).resolve())
    return ExtractionResult(
        labels=np.asarray(labels, dtype=str),
        track_ids=np.asarray(row_tracks, dtype=str),
        segment_index=_concatenate(segment_index, np.int64),
        start_seconds=_concatenate(starts, np.float32),
        features={kind: _concatenate(values[kind], np.float32) for kind in kinds},
        audio_paths=audio_paths,
        errors=errors,
    )


def _save_cache(result: ExtractionResult, target: Path) -> None:
    """Write ``result`` to ``target`` as an uncompressed npz: numbers and fixed-width unicode, no objects."""
    arrays = {
        "labels": result.labels,
        "track_ids": result.track_ids,
        "segment_index": result.segment_index,
        "start_seconds": result.start_seconds,
        "path_track_ids": np.asarray(list(result.audio_paths), dtype=str),
        "path_values": np.asarray(list(result.audio_paths.values()), dtype=str),
        "errors": np.asarray(result.errors, dtype=str),
        **{f"features.{kind}": values for kind, values in result.features.items()},
    }
    with atomic_path(target, suffix=".npz") as temporary:
        np.savez(temporary, **arrays)


def _consistent(result: ExtractionResult) -> bool:
    """Whether a cached result's arrays agree: one label, track, index and start per row, the same rows in every
    feature kind, finite features, and a stored path for every track."""
    rows = len(result.labels)
    per_row = (result.track_ids, result.segment_index, result.start_seconds, *result.features.values())
    return (all(len(values) == rows for values in per_row)
            and all(np.all(np.isfinite(values)) for values in result.features.values())
            and set(np.unique(result.track_ids).tolist()) <= set(result.audio_paths))


def _load_cache(source: Path, kinds: Sequence[str]) -> ExtractionResult | None:
    """Read a cached result; None when the file is missing, unreadable or inconsistent (then it is recomputed
    and overwritten)."""
    try:
        with np.load(source, allow_pickle=False) as stored:
            result = ExtractionResult(
                labels=stored["labels"],
                track_ids=stored["track_ids"],
                segment_index=stored["segment_index"],
                start_seconds=stored["start_seconds"],
                features={kind: stored[f"features.{kind}"] for kind in kinds},
                audio_paths=dict(zip(stored["path_track_ids"].tolist(), stored["path_values"].tolist(), strict=True)),
                errors=stored["errors"].tolist(),
                from_cache=True,
            )
    except (OSError, KeyError, ValueError, EOFError, zipfile.BadZipFile):
        return None
    return result if _consistent(result) else None


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

    Files are processed in path order, in parallel over ``n_jobs`` processes (-1: all cores, or one process for
    fewer than `SERIAL_BELOW_FILES` files) under the active joblib backend (``joblib.parallel_config(backend=
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
    cache_file = None
    if cache_dir is not None:
        cache_file = cache_path(cache_dir, ordered, config, kinds)
        cached = _load_cache(cache_file, kinds)
        if cached is not None:
            if progress is not None:
                progress(len(ordered), len(ordered))
            return cached
    outcomes = _run_workers([path for path, _ in ordered], config, kinds, n_jobs, progress, show_bar)
    result = _assemble(ordered, track_ids, outcomes, kinds)
    if cache_file is not None:
        _save_cache(result, cache_file)
    return result

"""The feature cache: one folder per distinct extraction input, written row by row, read back memory-mapped.

Layout of ``<cache_dir>/features-<key>/`` (`extraction.cache_path` gives the key):

- ``<kind>.npy`` per feature kind: (rows, ...) float32, shapes as in `genre_core.config`
- ``labels.npy``, ``track_ids.npy``: (rows,) fixed-width unicode; ``segment_index.npy``: (rows,) int64;
  ``start_seconds.npy``: (rows,) float32, s
- ``meta.json``: the format, the row count, the kinds, every track's audio path and the skipped files' error
  lines; written last.

`writing` builds the folder under a temporary sibling name while the files are extracted: each file's rows are
appended to the ``.npy`` files as it finishes (`RowFile`), so the rows are never all in memory at once (1050
GTZAN tracks of log-mel and MFCC: 0.8 GB). Only when every file is done is the folder swapped in under its name
(`genre_core.atomic.atomic_directory`); an interrupted extraction leaves a hidden ``.tmp`` sibling that the next
writer deletes, never a folder that looks complete. `read` returns the feature arrays memory-mapped read-only:
the operating system pages them in as they are used and may drop them again.
"""

from __future__ import annotations

import json
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

import numpy as np

from genre_core.atomic import atomic_directory

FORMAT = 1  #: the folder layout above; a folder of another format is not read (then recomputed)
META_FILE = "meta.json"
_ROW_ARRAYS = ("labels", "track_ids", "segment_index", "start_seconds")
_CHECK_BYTES = 1 << 24  #: `_all_finite` reads a feature file in blocks of this many bytes (16 MiB)


@dataclass
class ExtractionResult:
    """Features of every segment of every readable file, one row per segment.

    - ``labels``: (rows,) str, the label given with the row's file
    - ``track_ids``: (rows,) str, the file stem (``"blues.00003"``); see `extraction.track_ids_for`
    - ``segment_index``: (rows,) int64, window position in its track (0, 1, ...)
    - ``start_seconds``: (rows,) float32, s, where the row's window starts in its track
    - ``features``: kind → (rows, ...) float32, shapes as in `genre_core.config`; read-only ``np.memmap`` views of
      the cache files when a cache folder was used
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


class RowFile:
    """A ``.npy`` file that grows by rows as they arrive.

    Its header is written with 0 rows before the first rows and rewritten in place with the row count by
    `close`: numpy pads every header so that the first dimension can grow in place (`np.lib.format` reserves
    ``GROWTH_AXIS_MAX_DIGITS`` digits for it), so the data never moves. Until `close` the file says 0 rows.
    """

    def __init__(self, path: Path, empty_dtype: type) -> None:
        self.path = path
        self._empty_dtype = empty_dtype
        self._file: BinaryIO | None = None
        self._row_shape: tuple[int, ...] = ()
        self._dtype = np.dtype(empty_dtype)
        self._header_bytes = 0
        self.rows = 0

    def _header(self, rows: int) -> dict[str, object]:
        return {"descr": np.lib.format.dtype_to_descr(self._dtype), "fortran_order": False,
                "shape": (rows, *self._row_shape)}

    def append(self, rows: np.ndarray) -> None:
        """Append ``rows`` ((n, ...) with the row shape and dtype of the first rows appended)."""
        if self._file is None:
            self._row_shape, self._dtype = tuple(rows.shape[1:]), rows.dtype
            self._file = self.path.open("wb")
            np.lib.format.write_array_header_1_0(self._file, self._header(0))
            self._header_bytes = self._file.tell()
        if tuple(rows.shape[1:]) != self._row_shape or rows.dtype != self._dtype:
            raise ValueError(f"{self.path.name}: rows of shape {rows.shape[1:]} {rows.dtype} after "
                             f"{self._row_shape} {self._dtype}")
        self._file.write(memoryview(np.ascontiguousarray(rows)).cast("B"))
        self.rows += len(rows)

    def close(self) -> None:
        """Write the row count into the header (an empty (0,) array of the empty dtype when no rows came)."""
        if self._file is None:
            np.save(self.path, np.zeros(0, dtype=self._empty_dtype), allow_pickle=False)
            return
        with self._file:
            self._file.seek(0)
            np.lib.format.write_array_header_1_0(self._file, self._header(self.rows))
            if self._file.tell() != self._header_bytes:  # numpy's padding guarantees it; never write a bad file
                raise ValueError(f"{self.path.name}: the header changed length when its row count was written")
        self._file = None

    def discard(self) -> None:
        """Close the file without finishing it (the folder it is in is then deleted)."""
        if self._file is not None:
            self._file.close()
            self._file = None


class CacheWriter:
    """Collects one file's rows at a time into a cache folder (`writing` makes one)."""

    def __init__(self, folder: Path, kinds: Sequence[str]) -> None:
        self.folder = folder
        self.kinds = tuple(kinds)
        self._features = {kind: RowFile(folder / f"{kind}.npy", np.float32) for kind in self.kinds}
        self._labels: list[str] = []
        self._track_ids: list[str] = []
        self._segment_index: list[int] = []
        self._starts: list[np.ndarray] = []
        self._audio_paths: dict[str, str] = {}
        self._errors: list[str] = []

    def add_rows(self, label: str, track_id: str, audio_path: str, values: dict[str, np.ndarray],
                 start_seconds: np.ndarray) -> None:
        """One file's windows: ``values`` kind → (n, ...) float32, ``start_seconds`` (n,) in s."""
        n_rows = len(start_seconds)
        self._labels += [label] * n_rows
        self._track_ids += [track_id] * n_rows
        self._segment_index += range(n_rows)
        self._starts.append(np.asarray(start_seconds, dtype=np.float32))
        for kind in self.kinds:
            self._features[kind].append(np.asarray(values[kind], dtype=np.float32))
        self._audio_paths[track_id] = audio_path

    def add_error(self, line: str) -> None:
        """A skipped file's ``"<path>: <reason>"`` line."""
        self._errors.append(line)

    def finish(self) -> None:
        """Write the row arrays and the features' row counts, then ``meta.json`` (last)."""
        for row_file in self._features.values():
            row_file.close()
        starts = np.concatenate(self._starts) if self._starts else np.zeros(0, dtype=np.float32)
        for name, values in (("labels", np.asarray(self._labels, dtype=str)),
                             ("track_ids", np.asarray(self._track_ids, dtype=str)),
                             ("segment_index", np.asarray(self._segment_index, dtype=np.int64)),
                             ("start_seconds", starts)):
            np.save(self.folder / f"{name}.npy", values, allow_pickle=False)
        meta = {"format": FORMAT, "rows": len(self._labels), "kinds": list(self.kinds),
                "audio_paths": self._audio_paths, "errors": self._errors}
        (self.folder / META_FILE).write_text(json.dumps(meta), encoding="utf-8")

    def discard(self) -> None:
        for row_file in self._features.values():
            row_file.discard()


def _fill(folder: Path, kinds: Sequence[str], fill: Callable[[CacheWriter], None]) -> None:
    writer = CacheWriter(folder, kinds)
    try:
        fill(writer)
    except BaseException:
        writer.discard()
        raise
    writer.finish()


def store(target: Path | None, kinds: Sequence[str], fill: Callable[[CacheWriter], None]) -> ExtractionResult:
    """Let ``fill`` hand rows to a `CacheWriter` of a new folder, then return what was stored (``from_cache``
    False).

    With a ``target`` the folder is built beside it and swapped in under its name in one step once complete
    (replacing an older folder there), and the features come back memory-mapped from it. With ``target`` None
    the folder is temporary: the result is read into memory and the folder deleted. If ``fill`` raises, nothing
    is left behind and an older folder at ``target`` stays.
    """
    if target is None:
        with tempfile.TemporaryDirectory(prefix="genrelens-features-") as folder:
            _fill(Path(folder), kinds, fill)
            result = read(Path(folder), kinds, memory_mapped=False, verify=False)
    else:
        with atomic_directory(target) as folder:
            _fill(folder, kinds, fill)
        result = read(target, kinds, verify=False)
    if result is None:
        raise OSError(f"{target}: the feature cache just written cannot be read back")
    result.from_cache = False
    return result


def _all_finite(path: Path) -> bool:
    """Whether every value in the float ``.npy`` file ``path`` is finite, read in blocks (bounded memory)."""
    with path.open("rb") as file:
        version = np.lib.format.read_magic(file)
        shape, _, dtype = (np.lib.format.read_array_header_1_0(file) if version == (1, 0)
                           else np.lib.format.read_array_header_2_0(file))
        remaining = int(np.prod(shape))
        block = max(1, _CHECK_BYTES // dtype.itemsize)
        while remaining > 0:
            values = np.fromfile(file, dtype=dtype, count=min(block, remaining))
            if len(values) == 0 or not np.isfinite(values).all():
                return False
            remaining -= len(values)
    return True


def read(folder: Path, kinds: Sequence[str], *, memory_mapped: bool = True, verify: bool = True
         ) -> ExtractionResult | None:
    """The result stored in ``folder`` (features memory-mapped read-only unless ``memory_mapped`` is False); None
    when it is missing, unreadable, of another format, lacks a kind, or (``verify``) is inconsistent: a row
    array of another length, a non-finite feature, a track without a stored path."""
    try:
        meta = json.loads((folder / META_FILE).read_text(encoding="utf-8"))
        rows = meta["rows"]
        if meta["format"] != FORMAT or not set(kinds) <= set(meta["kinds"]) or not isinstance(rows, int):
            return None
        arrays = {name: np.load(folder / f"{name}.npy", allow_pickle=False) for name in _ROW_ARRAYS}
        mode = "r" if memory_mapped and rows > 0 else None
        result = ExtractionResult(
            **arrays,
            features={kind: np.load(folder / f"{kind}.npy", mmap_mode=mode, allow_pickle=False) for kind in kinds},
            audio_paths={str(track): str(path) for track, path in meta["audio_paths"].items()},
            errors=[str(line) for line in meta["errors"]],
            from_cache=True,
        )
    except (OSError, KeyError, ValueError, TypeError, AttributeError):  # json's decode error is a ValueError
        return None
    if not verify:
        return result
    per_row = (result.labels, result.track_ids, result.segment_index, result.start_seconds, *result.features.values())
    consistent = (all(len(values) == rows for values in per_row)
                  and set(np.unique(result.track_ids).tolist()) <= set(result.audio_paths)
                  and all(_all_finite(folder / f"{kind}.npy") for kind in kinds))
    return result if consistent else None


"""Datasets read from feature files: the Kaggle GTZAN CSV tables, ``.npy`` split folders and MFCC JSON. Their
features are fixed (no extraction). `genre_core.datasets.load_dataset` is the switch over all sources."""

from __future__ import annotations

import json
import math
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from genre_core import features
from genre_core.audio_datasets import track_and_segment
from genre_core.config import LOG_MEL, MFCC, SUMMARY, FeatureConfig
from genre_core.dataset import Dataset, encode_labels, select_classes
from genre_core.errors import InputError

SPLIT_FOLDER_NAMES = {"train": "train", "val": "val", "valid": "val", "validation": "val", "test": "test"}


def _first_line(error: BaseException) -> str:
    text = str(error).strip()
    return text.splitlines()[0] if text else type(error).__name__


def _require_file(path: Path) -> None:
    if not path.exists():
        raise InputError(path, "no such file")
    if not path.is_file():
        raise InputError(path, "not a file")


KAGGLE_SAMPLE_RATE = 22050  #: Hz of the audio the Kaggle GTZAN tables were computed from
KAGGLE_TRACK_SECONDS = 30.0  #: s of each GTZAN track


def kaggle_windows(path: Path, lengths: np.ndarray) -> FeatureConfig | None:
    """The windows a Kaggle table's rows describe, from its ``length`` column (samples at 22050 Hz).

    None for whole 30 s tracks (``features_30_sec.csv``): `prediction` then reads songs in 30 s windows.
    Otherwise a `FeatureConfig` cutting 30 s tracks into equal windows (``features_3_sec.csv``: 10 of 3 s),
    so a model trained on the table hears songs in windows of the length it was trained on. Raises
    `InputError` for lengths that are neither.
    """
    window_seconds = float(np.median(lengths)) / KAGGLE_SAMPLE_RATE
    windows = max(1, round(KAGGLE_TRACK_SECONDS / window_seconds)) if window_seconds > 0 else 0
    if not (windows and abs(windows * window_seconds - KAGGLE_TRACK_SECONDS) < 0.05 * KAGGLE_TRACK_SECONDS):
        raise InputError(
            path, f"column 'length' says windows of {window_seconds:.2f} s; expected whole 30 s tracks or an equal "
            "division of them at 22050 Hz (features_3_sec.csv: 66149 samples)"
        )
    if windows == 1:
        return None
    return FeatureConfig(
        sample_rate=KAGGLE_SAMPLE_RATE, track_seconds=KAGGLE_TRACK_SECONDS, segments_per_track=windows
    )


def load_kaggle_csv(path: str | Path, genres: Sequence[str] | None = None) -> Dataset:
    """The Kaggle GTZAN feature table (``features_30_sec.csv`` or ``features_3_sec.csv``).

    Columns ``filename, length, <the 57 SUMMARY_NAMES>, label``; ``features["summary"]`` is (rows, 57)
    float32 in `features.SUMMARY_NAMES` order. Track and window come from the file name (`track_and_segment`),
    the window length from ``length`` (`kaggle_windows`; a table without it is taken for whole tracks).
    Raises `InputError` for a missing file, missing columns, empty or non-numeric cells, or an unknown genre.
    """
    path = Path(path)
    _require_file(path)
    try:
        table = pd.read_csv(path)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as error:
        raise InputError(path, f"not a readable CSV table ({_first_line(error)})") from None
    required = ["filename", *features.SUMMARY_NAMES, "label"]
    missing = [column for column in required if column not in table.columns]
    if missing:
        shown = ", ".join(missing[:5]) + (", ..." if len(missing) > 5 else "")
        raise InputError(path, f"missing column(s) {shown}; expected filename, length, the 57 feature columns, label")
    if len(table) == 0:
        raise InputError(path, "the table has no rows")
    values = table[list(features.SUMMARY_NAMES)].apply(pd.to_numeric, errors="coerce").to_numpy(dtype=np.float64)
    bad = np.argwhere(~np.isfinite(values))
    if len(bad):
        row, column = bad[0]
        name = features.SUMMARY_NAMES[column]
        cell = table[name].iloc[row]
        problem = "is empty" if pd.isna(cell) else f"is not a finite number ({cell!r})"
        raise InputError(path, f"column '{name}' on line {row + 2} {problem}")
    for column in ("filename", "label"):
        if table[column].isna().any():
            raise InputError(path, f"column '{column}' on line {int(np.argmax(table[column].isna())) + 2} is empty")
    lengths = pd.to_numeric(table["length"], errors="coerce").to_numpy() if "length" in table.columns else None
    if lengths is not None and not np.all(np.isfinite(lengths)):
        raise InputError(path, f"column 'length' on line {int(np.argmax(~np.isfinite(lengths))) + 2} is not a number")
    tracks, segments = zip(*(track_and_segment(name) for name in table["filename"].to_numpy(dtype=str)), strict=True)
    class_names, labels = encode_labels(table["label"].to_numpy(dtype=str))
    dataset = Dataset(
        class_names=class_names,
        labels=labels,
        track_ids=np.asarray(tracks, dtype=str),
        segment_index=np.asarray(segments, dtype=np.int64),
        features={SUMMARY: values.astype(np.float32)},
        source=f"Kaggle feature table {path.name}",
        feature_config=None if lengths is None else kaggle_windows(path, lengths),
        summary_names=list(features.SUMMARY_NAMES),
    )
    return select_classes(dataset, genres)


def split_folders(root: Path) -> dict[str, Path]:
    """Part name ("train", "val", "test") → folder, for the subfolders of ``root`` named after a split."""
    found: dict[str, Path] = {}
    for child in sorted(root.iterdir()):
        part = SPLIT_FOLDER_NAMES.get(child.name.lower())
        if part is None or not child.is_dir():
            continue
        if part in found:
            raise InputError(root, f"two folders for the {part} split: {found[part].name}/ and {child.name}/")
        found[part] = child
    return found


def _check_npy_header(path: Path, resave_advice: str) -> None:
    """Read the header of the ``.npy`` file ``path`` and check, before anything is allocated, that it is one,
    holds no Python objects, and that the file holds all the data its header declares."""
    with path.open("rb") as file:
        start = file.read(6)
        file.seek(0)
        if start[:2] == b"PK":
            raise InputError(path, "holds an .npz archive, expected one array saved with np.save")
        try:
            version = np.lib.format.read_magic(file)
            read_header = np.lib.format.read_array_header_1_0 if version == (1, 0) else \
                np.lib.format.read_array_header_2_0
            shape, _, dtype = read_header(file)
        except (ValueError, EOFError, SyntaxError, TypeError) as error:
            raise InputError(path, f"not a .npy file (no valid NumPy header: {_first_line(error)})") from None
        if dtype.hasobject:
            raise InputError(path, f"object array: re-save with {resave_advice}")
        declared = math.prod(shape) * dtype.itemsize
        present = path.stat().st_size - file.tell()
        if declared > present:
            raise InputError(path, f"is truncated: its header declares shape {shape} of {dtype} ({declared:,} bytes), "
                             f"the file holds {present:,}")


def _load_array(path: Path, resave_advice: str) -> np.ndarray:
    """``np.load`` without pickle, after `_check_npy_header`; an object array gets an `InputError` saying how to
    re-save it."""
    _require_file(path)
    _check_npy_header(path, resave_advice)
    try:
        values = np.load(path, allow_pickle=False)
    except (ValueError, OSError, EOFError) as error:
        raise InputError(path, f"not a readable .npy file ({_first_line(error)})") from None
    return values


def _npy_labels(path: Path) -> np.ndarray:
    """(rows,) str labels from ``labels.npy`` (strings, or integers used as class names)."""
    labels = _load_array(path, "np.save(path, labels.astype(str))")
    if labels.ndim != 1:
        raise InputError(path, f"labels must be one-dimensional, got shape {labels.shape}")
    if labels.dtype.kind not in "USiu":
        raise InputError(path, f"labels must be strings or integers, got dtype {labels.dtype}")
    return labels.astype(str)


def _npy_features(path: Path) -> tuple[str, np.ndarray]:
    """Feature kind and float32 rows from ``X.npy``: 2-D → summary, 3-D or (rows, H, W, 1) → log-mel."""
    values = _load_array(path, "np.save(path, np.asarray(X, dtype=np.float32))")
    if values.dtype.kind not in "fiu":
        raise InputError(path, f"features must be numbers, got dtype {values.dtype}")
    if values.ndim == 4 and values.shape[-1] == 1:
        values = values[..., 0]
    if values.ndim not in (2, 3):
        raise InputError(path, f"shape {values.shape}: expected (rows, features), (rows, H, W) or (rows, H, W, 1)")
    if not np.isfinite(values).all():
        raise InputError(path, "contains NaN or infinite values")
    return (SUMMARY if values.ndim == 2 else LOG_MEL), values.astype(np.float32)


def load_npy_folders(root: str | Path) -> Dataset:
    """Course-assignment format: ``<root>/{train,val,test}/X.npy`` and ``labels.npy`` (val optional).

    Split folder names are case-insensitive (``val``, ``valid``, ``validation`` mean the same). ``X`` of
    shape (rows, features) becomes ``summary`` (with `SUMMARY_NAMES` when 57 wide), (rows, H, W) or
    (rows, H, W, 1) becomes ``log_mel`` (rows, H, W). Rows keep their part in ``predefined_split``; each row
    is its own track ``"<part>-<i>"`` (the format does not say which rows share a song).
    """
    root = Path(root)
    if not root.is_dir():
        raise InputError(root, "no such folder" if not root.exists() else "not a folder")
    folders = split_folders(root)
    if "train" not in folders or "test" not in folders:
        raise InputError(root, "expected split folders train/ and test/ (val/ optional) with X.npy and labels.npy")
    parts: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    for part in ("train", "val", "test"):
        if part not in folders:
            continue
        kind, values = _npy_features(folders[part] / "X.npy")
        labels = _npy_labels(folders[part] / "labels.npy")
        if len(labels) != len(values):
            raise InputError(folders[part], f"X.npy has {len(values)} rows but labels.npy {len(labels)}")
        train_shape = parts["train"][0].shape[1:] if parts else values.shape[1:]
        if values.shape[1:] != train_shape:
            raise InputError(
                folders[part] / "X.npy", f"rows of shape {values.shape[1:]} differ from train's {train_shape}"
            )
        parts[part] = (values, labels)
    values = np.concatenate([part_values for part_values, _ in parts.values()])
    class_names, labels = encode_labels(np.concatenate([part_labels for _, part_labels in parts.values()]))
    part_names = np.concatenate([np.full(len(part_labels), part) for part, (_, part_labels) in parts.items()])
    track_ids = np.asarray(
        [f"{part}-{index}" for part, (_, part_labels) in parts.items() for index in range(len(part_labels))]
    )
    return Dataset(
        class_names=class_names,
        labels=labels,
        track_ids=track_ids,
        segment_index=np.zeros(len(labels), dtype=np.int64),
        features={kind: values},
        source=f"npy split folders {root.resolve()}",
        summary_names=list(features.SUMMARY_NAMES) if kind == SUMMARY and values.shape[1] == 57 else None,
        predefined_split=part_names.astype(str),
        track_ids_known=False,
    )


def _mfcc_rows(path: Path, rows: list[Any]) -> np.ndarray:
    """(rows, frames, n_mfcc) float32 from nested lists; a ragged row gets an `InputError` naming it."""
    try:
        values = np.asarray(rows, dtype=np.float32)
    except (ValueError, TypeError):
        values = None
    if values is not None and values.ndim == 3:
        return values

    def shape_of(row: Any) -> tuple[int, ...] | None:
        try:
            shape = np.asarray(row, dtype=np.float32).shape
        except (ValueError, TypeError):
            return None
        return shape if len(shape) == 2 else None

    reference = shape_of(rows[0])
    for index, row in enumerate(rows):
        shape = shape_of(row)
        if shape is None:
            raise InputError(path, f"'mfcc' row {index} is not a frames × coefficients list of numbers (ragged?)")
        if shape != reference:
            raise InputError(path, f"'mfcc' row {index} has shape {shape} but row 0 has {reference}")
    raise InputError(path, "'mfcc' must be a list of rows, each a list of frames, each a list of numbers")


def load_mfcc_json(path: str | Path) -> Dataset:
    """The MFCC JSON of the Valerio Velardo tutorial: ``{"mapping": [...], "labels": [...], "mfcc": [...]}``.

    ``mfcc`` is rows × frames × n_mfcc (time-major, becomes ``features["mfcc"]``); ``labels`` index
    ``mapping``. Optional ``"filenames"`` (one per row) give track ids (`track_and_segment`) and optional
    ``"segment"`` the window index (else the row's position within its track). Without file names each row
    is its own track ``"row-<i>"`` and ``track_ids_known`` is False.
    """
    path = Path(path)
    _require_file(path)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise InputError(path, f"not valid JSON ({_first_line(error)})") from None
    except RecursionError:
        raise InputError(path, "not usable JSON (nested too deeply)") from None
    if not isinstance(data, dict) or any(key not in data for key in ("mapping", "labels", "mfcc")):
        raise InputError(path, "expected a JSON object with keys 'mapping', 'labels' and 'mfcc'")
    mapping, label_indices, rows = data["mapping"], data["labels"], data["mfcc"]
    if not isinstance(mapping, list) or not mapping or not all(isinstance(name, str) for name in mapping):
        raise InputError(path, "'mapping' must be a non-empty list of genre names")
    if len(set(mapping)) != len(mapping):
        raise InputError(path, "'mapping' names a genre twice")
    if not isinstance(rows, list) or not rows:
        raise InputError(path, "'mfcc' holds no rows")
    if not isinstance(label_indices, list) or len(label_indices) != len(rows):
        raise InputError(path, f"'labels' must be a list with one entry per 'mfcc' row ({len(rows)})")
    for index, label in enumerate(label_indices):
        if isinstance(label, bool) or not isinstance(label, int) or not 0 <= label < len(mapping):
            raise InputError(path, f"'labels' entry {index} is {label!r}, not an index into 'mapping'")
    values = _mfcc_rows(path, rows)
    if not np.isfinite(values).all():
        raise InputError(path, "'mfcc' contains NaN or infinite values")
    filenames = data.get("filenames")
    if filenames is None:
        track_ids = [f"row-{index}" for index in range(len(rows))]
    elif isinstance(filenames, list) and len(filenames) == len(rows) and all(isinstance(n, str) for n in filenames):
        track_ids = [track_and_segment(name)[0] for name in filenames]
    else:
        raise InputError(path, "'filenames' must be a list of strings, one per 'mfcc' row")
    if "segment" in data:
        segments = data["segment"]
        if not isinstance(segments, list) or len(segments) != len(rows) or not all(
            isinstance(s, int) and not isinstance(s, bool) for s in segments
        ):
            raise InputError(path, "'segment' must be a list of integers, one per 'mfcc' row")
    else:
        seen: Counter[str] = Counter()
        segments = []
        for track in track_ids:
            segments.append(seen[track])
            seen[track] += 1
    class_names, labels = encode_labels([mapping[label] for label in label_indices])
    return Dataset(
        class_names=class_names,
        labels=labels,
        track_ids=np.asarray(track_ids, dtype=str),
        segment_index=np.asarray(segments, dtype=np.int64),
        features={MFCC: values},
        source=f"MFCC JSON {path.name}",
        track_ids_known=filenames is not None,
    )

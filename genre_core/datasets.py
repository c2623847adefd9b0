"""The one switch over dataset sources: `source_kind` says which reader a path needs, `load_dataset` reads it.
The readers live by source: `audio_datasets` (GTZAN-style audio folders, the synthetic demo) and
`table_datasets` (Kaggle CSV, ``.npy`` split folders, MFCC JSON)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

from genre_core import audio, paths
from genre_core.audio_datasets import load_audio_folder, load_demo
from genre_core.config import FEATURE_KINDS, FeatureConfig
from genre_core.dataset import Dataset, select_classes
from genre_core.errors import InputError
from genre_core.extraction import ProgressCallback
from genre_core.table_datasets import load_kaggle_csv, load_mfcc_json, load_npy_folders, split_folders

#: The kinds of source `load_dataset` reads, as `source_kind` names them.
DEMO_SOURCE, AUDIO_FOLDER, NPY_FOLDERS, KAGGLE_CSV, MFCC_JSON = (
    "the built-in demo", "an audio folder", ".npy split folders", "a Kaggle feature CSV", "an MFCC JSON file"
)


def source_kind(spec: str | Path) -> str:
    """Which reader `load_dataset` uses for ``spec``: `DEMO_SOURCE` for ``"demo"``, `NPY_FOLDERS` for a folder
    whose split subfolders hold ``X.npy``, `AUDIO_FOLDER` for any other folder, `KAGGLE_CSV` for a ``.csv``,
    `MFCC_JSON` for a ``.json``. Raises `InputError` naming the path when it is missing or none of these."""
    if str(spec).strip().lower() == "demo":
        return DEMO_SOURCE
    path = Path(spec).expanduser()
    if not path.exists():
        raise InputError(path, "no such file or folder")
    if path.is_dir():
        has_npy = any((folder / "X.npy").is_file() for folder in split_folders(path).values())
        return NPY_FOLDERS if has_npy else AUDIO_FOLDER
    suffix = path.suffix.lower()
    if suffix == ".csv":
        return KAGGLE_CSV
    if suffix == ".json":
        return MFCC_JSON
    if suffix in audio.SUPPORTED_EXTENSIONS:
        raise InputError(path, "a single audio file is not a dataset: give the folder with one subfolder per genre")
    raise InputError(
        path,
        "unsupported dataset: expected 'demo', a folder of genre subfolders, a .csv feature table, "
        "a .json MFCC file or a folder with train/ and test/ .npy splits",
    )


def load_dataset(
    spec: str | Path,
    config: FeatureConfig = FeatureConfig(),
    *,
    genres: Sequence[str] | None = None,
    kinds: Sequence[str] = FEATURE_KINDS,
    n_jobs: int = -1,
    progress: ProgressCallback | None = None,
    phase: Callable[[str], None] | None = None,
    cache_dir: Path | None = paths.CACHE_DIR,
    show_bar: bool = False,
    demo_folder: Path | None = None,
    demo_tracks: int | None = None,
) -> tuple[Dataset, list[str]]:
    """Load any supported source (see `source_kind`): ``"demo"``, a folder of genre subfolders, a Kaggle
    ``.csv``, an MFCC ``.json`` or a folder with ``train/`` and ``test/`` ``.npy`` splits. The one switch
    over dataset sources: the CLI, the train jobs and the pages all load through it.

    ``config`` and the extraction options apply to audio sources only; the others hold fixed features.
    ``phase``, ``demo_folder`` and ``demo_tracks`` apply to the demo (see `load_demo`).
    Returns the dataset and the skipped-file lines (empty for feature files).
    """
    kind = source_kind(spec)
    extraction = {"kinds": kinds, "n_jobs": n_jobs, "progress": progress, "cache_dir": cache_dir, "show_bar": show_bar}
    if kind == DEMO_SOURCE:
        return load_demo(config, genres=genres, phase=phase, folder=demo_folder, tracks_per_genre=demo_tracks,
                         **extraction)
    path = Path(spec).expanduser()
    if kind == AUDIO_FOLDER:
        return load_audio_folder(path, config, genres=genres, **extraction)
    if kind == NPY_FOLDERS:
        return select_classes(load_npy_folders(path), genres), []
    if kind == KAGGLE_CSV:
        return load_kaggle_csv(path, genres), []
    return select_classes(load_mfcc_json(path), genres), []

"""Which dataset a user chose (`DatasetSpec`), its cache identity and how it is read, without Streamlit.

The app keeps one `DatasetSpec` per user and the loaded datasets of all users keyed by `dataset_key`
(`pages/common.py`); a training job's worker process finds the same files through `job_source`.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from genre_core import paths, stamps
from genre_core.config import FEATURE_KINDS, LOG_MEL, MFCC, FeatureConfig
from genre_core.dataset import Dataset
from genre_core.errors import InputError
from genre_core.paths import DEMO_TRACKS_ENV

if TYPE_CHECKING:  # the readers (pandas, librosa, sklearn) load when a dataset is read, not with the app's sidebar
    from genre_core import train_job

DEMO, FOLDER, UPLOAD, CSV, NPY, MFCC_JSON = "demo", "folder", "upload", "csv", "npy", "json"
#: Source kind -> how the Data page names it.
SOURCE_LABELS = {
    DEMO: "Built-in demo (synthetic)",
    FOLDER: "GTZAN-style folder",
    UPLOAD: "Uploaded zip",
    CSV: "Kaggle feature CSV",
    NPY: ".npy split folders",
    MFCC_JSON: "MFCC JSON",
}
AUDIO_SOURCES = (DEMO, FOLDER, UPLOAD)
#: What a first page that trains can offer at once on a cold demo (CNN presets on log-mel, FFN presets on MFCC):
#: about 7 % of the demo's extraction time; the summary table (HPSS, tempo, chroma) is the other 93 % and
#: follows in the background (`first_use_kinds`; measured in benchmarks/changes.md).
FIRST_USE_KINDS = (LOG_MEL, MFCC)


@dataclass(frozen=True)
class DatasetSpec:
    """Which dataset a user chose: enough to load it again, and its cache identity.

    ``kind`` is one of `SOURCE_LABELS`; ``location`` is the file or folder path (unused for the demo, the
    unpacked root for an upload); ``genres`` the chosen genres, sorted (None: all); ``config`` the feature
    settings (used by audio sources only).
    """

    kind: str = DEMO
    location: str = ""
    genres: tuple[str, ...] | None = None
    config: FeatureConfig = FeatureConfig()

    @property
    def has_audio(self) -> bool:
        return self.kind in AUDIO_SOURCES

    @property
    def title(self) -> str:
        """Short name for headings and the sidebar."""
        if self.kind == DEMO:
            return SOURCE_LABELS[DEMO]
        return f"{SOURCE_LABELS[self.kind]}: {Path(self.location).name or self.location}"

    def source_path(self) -> Path:
        """The file or folder whose contents make the dataset (the demo folder for the demo)."""
        return paths.DEMO_DIR if self.kind == DEMO else Path(self.location).expanduser()


@dataclass(frozen=True)
class LoadedDataset:
    """A loaded dataset and the ``"<path>: <reason>"`` lines of the files it had to skip."""

    dataset: Dataset
    skipped: tuple[str, ...] = ()
    pending_kinds: tuple[str, ...] = ()  #: feature kinds still being extracted (a first-use read: `first_use_kinds`)


def dataset_key(spec: DatasetSpec) -> tuple[Any, ...]:
    """Cache identity of a dataset: the spec, the feature-settings fingerprint, the demo size and the stamp
    of the source files, so changed files or settings are never served from an old entry."""
    demo_size = os.environ.get(DEMO_TRACKS_ENV, "") if spec.kind == DEMO else ""
    return (spec.kind, spec.location, spec.genres, spec.config.fingerprint(), demo_size, stamps.source_stamp(spec.source_path()))


def expected_source(kind: str) -> str | None:
    """The source kind `datasets.source_kind` must find for the dataset kind ``kind`` the Data page offers;
    None for an upload (a zip may hold any)."""
    from genre_core import datasets

    return {DEMO: datasets.DEMO_SOURCE, FOLDER: datasets.AUDIO_FOLDER, CSV: datasets.KAGGLE_CSV,
            NPY: datasets.NPY_FOLDERS, MFCC_JSON: datasets.MFCC_JSON}.get(kind)


def first_use_kinds(spec: DatasetSpec) -> tuple[str, ...] | None:
    """`FIRST_USE_KINDS` when ``spec`` is the demo and its features are not all cached yet (its first use: read
    those kinds first, uncached, with `read_dataset`, and every kind through the cache afterwards, so the cache
    holds what it always holds); None otherwise (one read does it all)."""
    from genre_core import audio_datasets

    if spec.kind != DEMO:
        return None
    cached = audio_datasets.demo_features_cached(
        spec.config, genres=spec.genres, cache_dir=paths.CACHE_DIR, folder=paths.DEMO_DIR,
        tracks_per_genre=audio_datasets.demo_size_from_environment().get("tracks_per_genre"))
    return None if cached else FIRST_USE_KINDS


def read_dataset(spec: DatasetSpec, progress: Callable[[int, int], None] | None = None,
                 phase: Callable[[str], None] | None = None, *,
                 first_kinds: tuple[str, ...] | None = None) -> LoadedDataset:
    """Read or extract the dataset of ``spec`` with `datasets.load_dataset` (no caching here;
    `genre_core.extraction` caches extracted features on disk under `paths.CACHE_DIR`). ``progress(done,
    total)`` and ``phase(label)`` report as in `datasets.load_dataset`. With ``first_kinds`` (see
    `first_use_kinds`) only those kinds are extracted, without the cache, and the result's ``pending_kinds``
    names the others. `InputError` for an unknown kind, or when the location is another kind of source than the
    one chosen (a folder of songs given as a feature table would start an extraction)."""
    from genre_core import audio_datasets, datasets

    if spec.kind not in SOURCE_LABELS:
        raise InputError("dataset source", f"unknown kind '{spec.kind}'")
    location = "demo" if spec.kind == DEMO else spec.location
    found, expected = datasets.source_kind(location), expected_source(spec.kind)
    if expected is not None and found != expected:
        raise InputError(spec.location, f"is {found}, not {expected}: choose that source kind, or another path")
    dataset, skipped = datasets.load_dataset(
        location, spec.config, genres=spec.genres, progress=progress, phase=phase,
        kinds=first_kinds or FEATURE_KINDS, cache_dir=None if first_kinds else paths.CACHE_DIR,
        demo_folder=paths.DEMO_DIR, demo_tracks=audio_datasets.demo_size_from_environment().get("tracks_per_genre"),
    )
    pending = tuple(kind for kind in FEATURE_KINDS if first_kinds and kind not in first_kinds)
    return LoadedDataset(dataset, tuple(skipped), pending)


def job_source(spec: DatasetSpec) -> train_job.DatasetSource:
    """Where a job's worker process finds the dataset of ``spec``: the same files, settings and feature cache
    (so it loads what the page shows, from the cache)."""
    from genre_core import audio_datasets, train_job

    demo = spec.kind == DEMO
    return train_job.DatasetSource(
        location="demo" if demo else spec.location, feature_config=spec.config, genres=spec.genres,
        cache_dir=str(paths.CACHE_DIR), demo_folder=str(paths.DEMO_DIR) if demo else None,
        demo_tracks=audio_datasets.demo_size_from_environment().get("tracks_per_genre") if demo else None,
    )

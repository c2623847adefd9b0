"""Datasets read from audio: a GTZAN-style folder of genre subfolders (features extracted through the cache) and
the synthetic demo (generated once, then read as a folder). `genre_core.datasets.load_dataset` is the switch
over all sources."""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Callable, Sequence
from pathlib import Path

from genre_core import audio, features, paths
from genre_core.config import FEATURE_KINDS, SUMMARY, FeatureConfig
from genre_core.dataset import Dataset, encode_labels, require_known
from genre_core.errors import InputError
from genre_core.extraction import ProgressCallback, cache_path, extract_files
from genre_core.paths import DEMO_TRACKS_ENV

#: Folder names that may hold the genre folders one level down (Kaggle: ``Data/genres_original``).
GENRE_CONTAINERS = ("genres", "genres_original")
#: Split folder names of the ``.npy`` format (case-insensitive) and the part each one holds.

def track_and_segment(filename: str) -> tuple[str, int]:
    """Track id and window index from a Kaggle file name.

    ``"blues.00000.3.wav"`` (3 s table) → ``("blues.00000", 3)``; ``"blues.00000.wav"`` → ``("blues.00000", 0)``;
    any other name → (its stem, 0).
    """
    name = Path(filename).name
    suffix = Path(name).suffix
    stem = name[: -len(suffix)] if suffix.lower() in audio.SUPPORTED_EXTENSIONS else name
    parts = stem.split(".")
    if len(parts) >= 3 and parts[-1].isdigit() and parts[-2].isdigit():
        return ".".join(parts[:-1]), int(parts[-1])
    return stem, 0


def _audio_files(folder: Path) -> list[Path]:
    """Supported audio files directly in ``folder``, sorted; hidden files (``._x.wav``) are ignored."""
    return sorted(
        child
        for child in folder.iterdir()
        if child.is_file() and not child.name.startswith(".") and child.suffix.lower() in audio.SUPPORTED_EXTENSIONS
    )


def _genre_subfolders(root: Path) -> dict[str, list[Path]]:
    """Genre name -> its audio files. Links are followed (a genre folder or file may live elsewhere), but a
    real file reached under two genres (a linked copy of another genre's folder) is refused, naming both."""
    folders = sorted(child for child in root.iterdir() if child.is_dir() and not child.name.startswith("."))
    found = {folder.name: _audio_files(folder) for folder in folders}
    genres = {genre: files for genre, files in found.items() if files}
    owner: dict[Path, Path] = {}
    for files in genres.values():
        for file in files:
            real = file.resolve()
            if real in owner and owner[real].parent != file.parent:
                raise InputError(root, f"'{file.relative_to(root)}' and '{owner[real].relative_to(root)}' are the same "
                                 "file (a linked folder?): a track can belong to one genre only")
            owner.setdefault(real, file)
    return genres


def list_genre_files(root: str | Path) -> dict[str, list[Path]]:
    """Genre name → its audio files, for ``<root>/<genre>/<file>`` (or ``<root>/genres[_original]/<genre>/...``).

    Genres are the subfolders holding at least one file with a supported extension, in sorted order.
    Raises `InputError` for a missing path, a file, or a folder without such subfolders.
    """
    root = Path(root)
    if not root.exists():
        raise InputError(root, "no such folder")
    if not root.is_dir():
        raise InputError(root, "not a folder (expected a folder with one subfolder of audio files per genre)")
    genres = _genre_subfolders(root)
    containers = [root / name for name in GENRE_CONTAINERS if (root / name).is_dir()]
    if not genres and len(containers) == 1:
        genres = _genre_subfolders(containers[0])
    if not genres:
        extensions = ", ".join(audio.SUPPORTED_EXTENSIONS)
        raise InputError(root, f"no audio files ({extensions}) found in genre subfolders <folder>/<genre>/<file>")
    return genres


def genre_files(root: str | Path, genres: Sequence[str] | None = None) -> list[tuple[Path, str]]:
    """(audio path, genre) of every file of ``genres`` (all by default, sorted) in the GTZAN-style folder ``root``:
    what `load_audio_folder` extracts. Raises `InputError` for an unusable folder, no genre or an unknown one."""
    available = list_genre_files(root)
    chosen = sorted(available) if genres is None else sorted(set(genres))
    if not chosen:
        raise InputError("genres", "no genre selected")
    require_known(root, chosen, sorted(available))
    return [(path, genre) for genre in chosen for path in available[genre]]


def load_audio_folder(
    root: str | Path,
    config: FeatureConfig = FeatureConfig(),
    *,
    genres: Sequence[str] | None = None,
    kinds: Sequence[str] = FEATURE_KINDS,
    n_jobs: int = -1,
    progress: ProgressCallback | None = None,
    cache_dir: Path | None = paths.CACHE_DIR,
    show_bar: bool = False,
) -> tuple[Dataset, list[str]]:
    """Extract ``kinds`` from a GTZAN-style folder ``<root>/<genre>/<file>`` (genre = subfolder name).

    ``genres`` picks a subset (all by default). Returns the dataset (one row per window, classes sorted)
    and one ``"<path>: <reason>"`` line per skipped file. Extraction options: see `extract_files`.
    Raises `InputError` for an unusable folder, an unknown genre, or when no file could be read.
    """
    files = genre_files(root, genres)
    result = extract_files(
        files, config, kinds, n_jobs=n_jobs, progress=progress, cache_dir=cache_dir, show_bar=show_bar
    )
    if len(result) == 0:
        raise InputError(root, f"none of the {len(files)} audio files could be read; first: {result.errors[0]}")
    class_names, labels = encode_labels(result.labels)
    dataset = Dataset(
        class_names=class_names,
        labels=labels,
        track_ids=result.track_ids,
        segment_index=result.segment_index,
        features=result.features,
        source=f"audio folder {Path(root).resolve()}",
        feature_config=config,
        summary_names=list(features.SUMMARY_NAMES) if SUMMARY in kinds else None,
        audio_paths=result.audio_paths,
    )
    return dataset, result.errors


GENERATING_PHASE = "Generating the demo's audio (first use only)"  #: `load_demo`'s first pass, when it runs
EXTRACTING_PHASE = "Extracting features (then read from the cache)"  #: `load_demo`'s second pass


def demo_size_from_environment() -> dict[str, int]:
    """``{"tracks_per_genre": n}`` from `DEMO_TRACKS_ENV` (read at each call), or {} for synth's default (25).
    Raises `InputError` naming the variable for anything but a positive whole number."""
    text = os.environ.get(DEMO_TRACKS_ENV, "").strip()
    if not text:
        return {}
    if not text.isdigit() or int(text) < 1:
        raise InputError(DEMO_TRACKS_ENV, f"must be a positive whole number, got {text!r}")
    return {"tracks_per_genre": int(text)}


def demo_features_cached(config: FeatureConfig = FeatureConfig(), *, genres: Sequence[str] | None = None,
                         kinds: Sequence[str] = FEATURE_KINDS, cache_dir: Path | None = paths.CACHE_DIR,
                         folder: Path | None = None, tracks_per_genre: int | None = None) -> bool:
    """Whether `load_demo` with these arguments reads everything from the feature cache: the demo folder is
    complete and current and the cache holds its features of ``kinds`` (nothing to generate or extract)."""
    from genre_core import synth

    folder = Path(folder or paths.DEMO_DIR)
    size = {} if tracks_per_genre is None else {"tracks_per_genre": tracks_per_genre}
    if cache_dir is None or not synth.demo_is_current(folder, **size):
        return False
    try:
        files = genre_files(folder, genres)
    except InputError:  # an unknown genre: `load_demo` reports it when it reads
        return False
    return bool(files) and cache_path(cache_dir, files, config, tuple(dict.fromkeys(kinds))).is_dir()


def load_demo(
    config: FeatureConfig = FeatureConfig(),
    *,
    genres: Sequence[str] | None = None,
    kinds: Sequence[str] = FEATURE_KINDS,
    progress: ProgressCallback | None = None,
    phase: Callable[[str], None] | None = None,
    n_jobs: int = -1,
    cache_dir: Path | None = paths.CACHE_DIR,
    show_bar: bool = False,
    folder: Path | None = None,
    tracks_per_genre: int | None = None,
) -> tuple[Dataset, list[str]]:
    """The synthetic demo: generate its WAV folder once (`synth.ensure_demo_dataset`), then extract it.

    ``folder`` defaults to `paths.DEMO_DIR`, ``tracks_per_genre`` to synth's default (25).
    ``progress`` sees two passes, generation (only when the folder is made) then extraction, each as
    ``(done, total)``; ``phase`` is called with `GENERATING_PHASE` and `EXTRACTING_PHASE` as each starts.
    """
    from genre_core import synth  # scipy.signal is costly to import: only when the demo is asked for

    def generation(done: int, total: int) -> None:
        if done == 0 and phase is not None:
            phase(GENERATING_PHASE)
        if progress is not None:
            progress(done, total)

    size = {} if tracks_per_genre is None else {"tracks_per_genre": tracks_per_genre}
    folder = synth.ensure_demo_dataset(folder or paths.DEMO_DIR, progress=generation, **size)
    if phase is not None:
        phase(EXTRACTING_PHASE)
    dataset, errors = load_audio_folder(
        folder, config, genres=genres, kinds=kinds, n_jobs=n_jobs, progress=progress,
        cache_dir=cache_dir, show_bar=show_bar,
    )
    return dataclasses.replace(dataset, source=f"synthetic demo ({folder})", synthetic=True), errors

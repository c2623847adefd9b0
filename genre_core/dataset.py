"""`Dataset`, the one in-memory form of every data source (built by `genre_core.datasets`), and the choice
and renaming of its classes."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from genre_core.config import FeatureConfig
from genre_core.errors import InputError


@dataclass
class Dataset:
    """Features and labels, one row per segment (or per track when a source has no segments).

    Row-aligned arrays (``rows`` = number of segments):
      - ``labels``: (rows,) int64, index into ``class_names``
      - ``track_ids``: (rows,) str, the track a row comes from (e.g. ``"blues.00003"``); splits group on it
      - ``segment_index``: (rows,) int64, position of the window in its track (0 for whole tracks)
      - ``features[kind]``: see `genre_core.config` (``summary``, ``log_mel``, ``mfcc``); a source holds
        the kinds it can provide (the Kaggle CSV only ``summary``, the MFCC JSON only ``mfcc``)
      - ``predefined_split``: (rows,) str in {"train", "val", "test"} for pre-split sources, else None

    ``track_ids_known`` is False when the source does not say which rows come from one song (MFCC JSON
    without file names, ``.npy`` folders): each row is then its own track and splits say they cannot group.
    """

    class_names: list[str]
    labels: np.ndarray
    track_ids: np.ndarray
    segment_index: np.ndarray
    features: dict[str, np.ndarray]
    source: str
    feature_config: FeatureConfig | None = None
    summary_names: list[str] | None = None
    audio_paths: dict[str, str] = field(default_factory=dict)
    predefined_split: np.ndarray | None = None
    synthetic: bool = False
    track_ids_known: bool = True

    def __post_init__(self) -> None:
        rows = len(self.labels)
        for name in ("track_ids", "segment_index"):
            if len(getattr(self, name)) != rows:
                raise InputError(self.source, f"{name} has {len(getattr(self, name))} rows, labels {rows}")
        for kind, values in self.features.items():
            if len(values) != rows:
                raise InputError(self.source, f"feature '{kind}' has {len(values)} rows, labels {rows}")

    def __len__(self) -> int:
        return len(self.labels)

    @property
    def n_classes(self) -> int:
        return len(self.class_names)

    @property
    def n_tracks(self) -> int:
        return len(np.unique(self.track_ids))

    def class_counts(self) -> dict[str, int]:
        """Rows per class name."""
        counts = np.bincount(self.labels, minlength=self.n_classes)
        return {name: int(count) for name, count in zip(self.class_names, counts)}

    def subset(self, rows: np.ndarray) -> Dataset:
        """A new `Dataset` with only ``rows`` (an index or boolean mask), same classes."""
        pick = lambda values: None if values is None else values[rows]  # noqa: E731
        return Dataset(
            class_names=list(self.class_names),
            labels=self.labels[rows],
            track_ids=self.track_ids[rows],
            segment_index=self.segment_index[rows],
            features={kind: values[rows] for kind, values in self.features.items()},
            source=self.source,
            feature_config=self.feature_config,
            summary_names=self.summary_names,
            audio_paths=self.audio_paths,
            predefined_split=pick(self.predefined_split),
            synthetic=self.synthetic,
            track_ids_known=self.track_ids_known,
        )


def encode_labels(names: Sequence[str] | np.ndarray) -> tuple[list[str], np.ndarray]:
    """Sorted class names and each row's index into them, (rows,) int64."""
    class_names, labels = np.unique(np.asarray(names, dtype=str), return_inverse=True)
    return class_names.tolist(), labels.astype(np.int64)


def require_known(source: str | Path, requested: Sequence[str], available: Sequence[str]) -> None:
    """Raise `InputError` naming the first requested genre that is not available, and listing those that are."""
    for name in requested:
        if name not in available:
            raise InputError(source, f"unknown genre '{name}'; available: {', '.join(available)}")


def select_classes(
    dataset: Dataset, genres: Sequence[str] | None = None, mapping: dict[str, str] | None = None
) -> Dataset:
    """Keep the rows of ``genres`` (default: the keys of ``mapping``, else all) and rename classes by ``mapping``.

    ``mapping`` maps old to new class names; several old names may share a new one (grouping), names it
    leaves out stay as they are. Class order is the sorted new names. Returns ``dataset`` itself when
    neither argument is given. Raises `InputError` naming an unknown genre.
    """
    if genres is None and mapping is None:
        return dataset
    mapping = dict(mapping or {})
    chosen = list(genres) if genres is not None else (list(mapping) or list(dataset.class_names))
    if not chosen:
        raise InputError("genres", "no genre selected")
    require_known(dataset.source, [*chosen, *mapping], dataset.class_names)
    renamed = {name: mapping.get(name, name) for name in chosen}
    if not all(str(name).strip() for name in renamed.values()):
        raise InputError("mapping", "a new class name is empty")
    old_names = np.asarray(dataset.class_names)[dataset.labels]
    rows = np.flatnonzero(np.isin(old_names, chosen))
    class_names, labels = encode_labels([renamed[name] for name in old_names[rows]])
    return dataclasses.replace(dataset.subset(rows), class_names=class_names, labels=labels)

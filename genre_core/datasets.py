"""`Dataset`, the one in-memory form of every data source, and the loaders that build it."""

from __future__ import annotations

from dataclasses import dataclass, field

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
      - ``groups``: (rows,) str artist ids when known, else None
      - ``predefined_split``: (rows,) str in {"train", "val", "test"} for pre-split sources, else None
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
    groups: np.ndarray | None = None
    predefined_split: np.ndarray | None = None
    synthetic: bool = False

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
            groups=pick(self.groups),
            predefined_split=pick(self.predefined_split),
            synthetic=self.synthetic,
        )

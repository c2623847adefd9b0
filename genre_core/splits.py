"""Train/validation/test splits made at track level, so segments of one song never leak across parts."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from genre_core.datasets import Dataset


@dataclass
class Split:
    """Row indices of a `Dataset` for each part, and how they were made.

    ``protocol`` is one of ``"grouped"`` (track-level, stratified), ``"artist-filtered"`` (a fold of the
    published artist-filtered GTZAN split), ``"leaky"`` (segment-level random: segments of one track on
    both sides, shown only to demonstrate leakage), ``"predefined"`` (the source came split), ``"kfold"``.
    ``details`` is JSON-serialisable (ratios, fold number, split folder, ...).
    """

    train: np.ndarray
    val: np.ndarray
    test: np.ndarray
    protocol: str
    seed: int | None = None
    details: dict[str, Any] = field(default_factory=dict)

    @property
    def leaky(self) -> bool:
        return self.protocol == "leaky"

    def describe(self, dataset: Dataset) -> dict[str, Any]:
        """JSON-serialisable description, with the track ids of each part (stored in model bundles)."""
        parts = {"train": self.train, "val": self.val, "test": self.test}
        return {
            "protocol": self.protocol,
            "seed": self.seed,
            "details": self.details,
            "rows": {name: int(len(rows)) for name, rows in parts.items()},
            "track_ids": {name: sorted(set(dataset.track_ids[rows].tolist())) for name, rows in parts.items()},
        }

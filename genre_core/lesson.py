"""The lesson "why pretrained networks": a CNN trained from scratch against transfer from a pretrained network,
on the same tracks, the same grouped folds and the same seed.

Each side is trained once per fold of a grouped k-fold split (every window of a track in one fold) and scored
per track (mean probability over its windows) on the fold's test tracks, so every track is tested exactly once.
Training time is measured per fold, including the one-off cost a side has (the transfer side's forward pass
through the frozen trunk, cached for the later folds: `genre_core.transfer.frozen_activations`).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from dataclasses import asdict, dataclass, replace
from typing import TYPE_CHECKING, Any

import numpy as np

from genre_core import paths
from genre_core.dataset import Dataset
from genre_core.errors import InputError
from genre_core.records import from_dict_strict
from genre_core.splits import Split, grouped_kfold

if TYPE_CHECKING:
    from genre_core.train_config import TrainConfig

FOLDS = 5
SHIPPED_BUNDLE = "cnn_gtzan_transfer"  #: the pretrained bundle whose metrics hold the measured lesson
VAL_FRACTION = 0.15  #: share of each fold's training tracks kept for validation (early stopping)

Log = Callable[[str], None]


@dataclass(frozen=True)
class SideResult:
    """One side of the comparison over all folds.

    ``track_accuracy``: per fold, share of the fold's test tracks right; ``train_seconds``: per fold, wall
    time of training (the transfer side's first fold includes its forward pass through the trunk);
    ``confusion``: (K, K) track counts over all folds, true classes on rows.
    """

    preset: str
    track_accuracy: list[float]
    train_seconds: list[float]
    confusion: list[list[int]]

    @property
    def mean_accuracy(self) -> float:
        return float(np.mean(self.track_accuracy))

    @property
    def std_accuracy(self) -> float:
        return float(np.std(self.track_accuracy, ddof=1)) if len(self.track_accuracy) > 1 else 0.0


@dataclass(frozen=True)
class LessonResult:
    """From scratch (``scratch``) against transfer (``transfer``) on the same folds of the same tracks."""

    class_names: list[str]
    folds: int
    tracks: int
    seed: int
    scratch: SideResult
    transfer: SideResult

    @property
    def gain_points(self) -> float:
        """Mean track accuracy of transfer minus from scratch, in percentage points."""
        return 100 * (self.transfer.mean_accuracy - self.scratch.mean_accuracy)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> LessonResult:
        record = from_dict_strict(cls, values, "lesson")
        sides = {side: from_dict_strict(SideResult, getattr(record, side), f"lesson {side}")
                 for side in ("scratch", "transfer")}
        return replace(record, **sides)


def _same_tracks(first: list[Split], first_data: Dataset, second: list[Split], second_data: Dataset) -> None:
    for number, (a, b) in enumerate(zip(first, second, strict=True), start=1):
        if set(first_data.track_ids[a.test]) != set(second_data.track_ids[b.test]):
            raise InputError("lesson", f"fold {number} tests other tracks in the two datasets")


def _run_side(dataset: Dataset, folds: list[Split], config: TrainConfig, log: Log) -> SideResult:
    """`reports.cross_validate` of one side (no baselines), logging each fold as it ends."""
    from genre_core.reports import FoldScores, cross_validate

    def logged(fold: FoldScores) -> None:
        accuracy = 100 * fold.test.track_accuracy
        log(f"  {config.preset} fold {fold.fold}/{len(folds)}: track accuracy {accuracy:.0f} %, {fold.train_seconds:.0f} s")

    result = cross_validate(dataset, folds, config, on_fold=logged, with_baselines=False)
    confusion = sum(fold.track_confusion for fold in result.folds)
    return SideResult(config.preset, [fold.test.track_accuracy for fold in result.folds],
                      [round(fold.train_seconds, 1) for fold in result.folds], confusion.tolist())


def compare(
    scratch_data: Dataset,
    scratch_config: TrainConfig,
    transfer_data: Dataset,
    transfer_config: TrainConfig,
    *,
    folds: int = FOLDS,
    log: Log = print,
) -> LessonResult:
    """Cross-validate both sides on the same grouped folds (``scratch_data`` and ``transfer_data`` hold the
    same tracks with each side's features; the folds are checked to test the same tracks)."""
    if scratch_data.class_names != transfer_data.class_names:
        raise InputError("lesson", "the two datasets have different classes")
    seed = scratch_config.seed
    scratch_folds = grouped_kfold(scratch_data, folds, seed, val_fraction=VAL_FRACTION)
    transfer_folds = grouped_kfold(transfer_data, folds, seed, val_fraction=VAL_FRACTION)
    _same_tracks(scratch_folds, scratch_data, transfer_folds, transfer_data)
    return LessonResult(
        class_names=list(scratch_data.class_names),
        folds=folds,
        tracks=int(scratch_data.n_tracks),
        seed=seed,
        scratch=_run_side(scratch_data, scratch_folds, scratch_config, log),
        transfer=_run_side(transfer_data, transfer_folds, transfer_config, log),
    )


def shipped_lesson(folder: Path | None = None) -> LessonResult | None:
    """The lesson measured when the shipped transfer bundle was built (``metrics.lesson`` of its bundle.json,
    read without loading the model); None when that bundle or its lesson is missing."""
    path = (folder or paths.PRETRAINED_DIR / SHIPPED_BUNDLE) / "bundle.json"
    try:
        values = json.loads(path.read_text(encoding="utf-8"))["metrics"]["lesson"]
        return LessonResult.from_dict(values)
    except (OSError, ValueError, KeyError, TypeError):
        return None

"""Glue between bundles and evaluation: score a bundle on a split beside the baselines, cross-validate a
training configuration over folds, and rebuild the split a bundle was trained on.

`evaluate_bundle` returns a frozen `BundleEvaluation`; its ``to_dict()`` is the JSON stored as a bundle's
``metrics`` and written as report files (``class_names`` and ``parts`` there are an `evaluation.EvaluationReport`),
and `BundleEvaluation.from_dict` reads one back. Baselines are fitted on every non-test row of the split (train and val:
they need no validation part) and scored on the test rows, per segment; the network trains on the train
rows only, so the comparison favours the baselines.

TensorFlow is imported only inside the functions that train or check models (via `training`, `bundles`).
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from genre_core.baselines import BASELINE_METRICS, BASELINES, baseline_scores
from genre_core.dataset import Dataset
from genre_core.errors import InputError
from genre_core.evaluation import MEAN_PROBABILITY, EvaluationReport, cross_validation_summary, evaluate_predictions
from genre_core.records import from_dict_strict
from genre_core.splits import Split

if TYPE_CHECKING:
    from genre_core.bundles import ModelBundle
    from genre_core.train_callbacks import CancelCallback, ProgressCallback, TrainingProgress
    from genre_core.train_config import TrainConfig
    from genre_core.training import TrainingResult

#: ``progress(fold_number, n_folds, state)`` of `cross_validate`, fold numbers from 1.
FoldProgress = Callable[[int, int, "TrainingProgress"], None]
PARTS = ("train", "val", "test")
BASELINE_KEYS = tuple(f"{name}_{metric}" for name in BASELINES for metric in BASELINE_METRICS)


@dataclass(frozen=True)
class SplitSummary:
    """How a split divides a dataset: protocol, seed, details (JSON), whether it leaks, rows and tracks per part."""

    protocol: str
    seed: int | None
    details: dict[str, Any]
    leaky: bool
    rows: dict[str, int]
    tracks: dict[str, int]

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, values: Any) -> SplitSummary:
        return from_dict_strict(cls, values, "split summary")


def split_summary(dataset: Dataset, split: Split) -> SplitSummary:
    """How ``split`` divides ``dataset`` (the leaky split's warning is in ``details``)."""
    return SplitSummary(
        protocol=split.protocol,
        seed=split.seed,
        details=split.details,
        leaky=split.leaky,
        rows={part: int(len(getattr(split, part))) for part in PARTS},
        tracks={part: int(len(np.unique(dataset.track_ids[getattr(split, part)]))) for part in PARTS},
    )


@dataclass(frozen=True)
class HeadlineScores:
    """Headline test scores: segment ``accuracy`` and ``macro_f1``, and ``track_accuracy`` (mean probability
    over a track's windows), fractions in [0, 1]."""

    accuracy: float
    macro_f1: float
    track_accuracy: float

    def to_dict(self) -> dict[str, float]:
        return dataclasses.asdict(self)


@dataclass(frozen=True)
class BundleEvaluation:
    """A bundle scored on a split of a dataset: the scores per part (``report``), the headline test scores
    (None without test rows), the baselines' test scores (None when not asked for or without test rows), the
    split, the warnings a reader must see, and the model's and dataset's names."""

    model: str
    dataset: str
    report: EvaluationReport
    test: HeadlineScores | None
    baselines: dict[str, float] | None
    split: SplitSummary
    warnings: tuple[str, ...]

    def to_dict(self) -> dict[str, Any]:
        """The JSON form: ``model``, ``dataset``, ``class_names``, ``parts``, ``test``, ``baselines``, ``split``,
        ``warnings``."""
        return {
            "model": self.model,
            "dataset": self.dataset,
            **self.report.to_dict(),
            "test": None if self.test is None else self.test.to_dict(),
            "baselines": None if self.baselines is None else dict(self.baselines),
            "split": self.split.to_dict(),
            "warnings": list(self.warnings),
        }

    @classmethod
    def from_dict(cls, values: Mapping[str, Any]) -> BundleEvaluation:
        """Read `to_dict`'s form back (other keys, e.g. the sections `pretrain` adds to a bundle's metrics,
        are left aside); InputError when it is malformed."""
        try:
            test = values["test"]
            return cls(
                model=str(values["model"]),
                dataset=str(values["dataset"]),
                report=EvaluationReport.from_dict(values),
                test=None if test is None else from_dict_strict(HeadlineScores, test, "headline scores"),
                baselines=None if values["baselines"] is None else {
                    str(name): float(score) for name, score in values["baselines"].items()},
                split=SplitSummary.from_dict(values["split"]),
                warnings=tuple(str(line) for line in values["warnings"]),
            )
        except (KeyError, TypeError, AttributeError, ValueError) as error:
            raise InputError("evaluation", f"malformed ({type(error).__name__}: {error})") from None


def split_warnings(dataset: Dataset, split: Split) -> list[str]:
    """Lines a reader of the scores must see: leakage, ungrouped rows, synthetic data."""
    lines = []
    if split.leaky:
        lines.append(f"leaky split: {split.details.get('warning', 'windows of one track are on both sides')}")
    elif "warning" in split.details:
        lines.append(str(split.details["warning"]))
    if dataset.synthetic:
        lines.append("synthetic data: scores on generated audio say nothing about real music")
    if len(split.test) == 0:
        lines.append("the split has no test rows: no test score and no baselines")
    return lines


def fitting_rows(split: Split) -> np.ndarray:
    """Every non-test row of ``split`` (train and val), sorted: what the baselines are fitted on."""
    return np.sort(np.concatenate([split.train, split.val]).astype(np.int64))


def split_baselines(
    dataset: Dataset, split: Split, feature_kind: str, *, seed: int = 0
) -> dict[str, float] | None:
    """`baselines.baseline_scores` fitted on `fitting_rows` and scored on ``split.test`` (None without
    test rows), on the ``feature_kind`` features of ``dataset`` (tabular view for log-mel/MFCC)."""
    if len(split.test) == 0:
        return None
    values = dataset.features[feature_kind]
    fit = fitting_rows(split)
    return baseline_scores(
        values[fit], dataset.labels[fit], values[split.test], dataset.labels[split.test], kind=feature_kind, seed=seed
    )


def headline_scores(report: EvaluationReport) -> HeadlineScores | None:
    """The headline scores of the report's test part; None when it has no test part."""
    test = report.parts.get("test")
    if test is None:
        return None
    return HeadlineScores(
        accuracy=float(test.segment_metrics["accuracy"]),
        macro_f1=float(test.segment_metrics["macro_f1"]),
        track_accuracy=float(test.track_metrics[MEAN_PROBABILITY]["accuracy"]),
    )


def evaluate_bundle(
    bundle: ModelBundle, dataset: Dataset, split: Split, *, with_baselines: bool = True, seed: int = 0,
    parts: Sequence[str] = PARTS,
) -> BundleEvaluation:
    """Score ``bundle`` on the ``parts`` of ``split`` of ``dataset`` (default all), beside the baselines
    (`split_baselines`).

    Raises `InputError` when the bundle cannot score the dataset (`bundles.check_compatible`).
    """
    from genre_core.bundles import check_compatible

    check_compatible(bundle, dataset)
    used = np.unique(np.concatenate([getattr(split, part) for part in parts]).astype(np.int64))
    if len(used) == 0:
        raise InputError("split", "has no rows to evaluate")
    probabilities = bundle.predict_proba(dataset.features[bundle.feature_kind][used])
    rows = {part: np.searchsorted(used, getattr(split, part)).astype(np.int64) for part in parts}
    report = evaluate_predictions(probabilities, dataset.labels[used], dataset.track_ids[used], dataset.class_names,
                                  rows)
    return BundleEvaluation(
        model=bundle.name,
        dataset=dataset.source,
        report=report,
        test=headline_scores(report),
        baselines=split_baselines(dataset, split, bundle.feature_kind, seed=seed) if with_baselines else None,
        split=split_summary(dataset, split),
        warnings=tuple(split_warnings(dataset, split)),
    )


@dataclass(frozen=True)
class FoldScores:
    """One fold of `cross_validate`: epochs run, wall time of its training in s (for a transfer preset the
    first fold includes the forward pass through the frozen trunk, cached for the others), validation accuracy
    (None without val rows), the headline test scores, the (K, K) int64 confusion of its test tracks (mean
    probability; true classes on rows), the baselines' test scores (None when not asked for) and the split."""

    fold: int
    epochs_run: int
    train_seconds: float
    val_accuracy: float | None
    test: HeadlineScores
    track_confusion: np.ndarray
    baselines: dict[str, float] | None
    split: SplitSummary

    def to_dict(self) -> dict[str, Any]:
        """The JSON form stored in bundle metrics: ``fold``, ``epochs_run``, ``val_accuracy``, ``test``,
        ``baselines``, ``split`` (the timing and confusion are for the caller, not the record)."""
        return {"fold": self.fold, "epochs_run": self.epochs_run, "val_accuracy": self.val_accuracy,
                "test": self.test.to_dict(), "baselines": None if self.baselines is None else dict(self.baselines),
                "split": self.split.to_dict()}


@dataclass(frozen=True)
class CrossValidation:
    """`cross_validate`'s result: the configuration, one `FoldScores` per fold, and the warnings a reader must see."""

    train_config: TrainConfig
    folds: tuple[FoldScores, ...]
    warnings: tuple[str, ...]

    @property
    def summary(self) -> dict[str, dict[str, dict[str, Any]]]:
        """Mean, sample std and values over folds (`evaluation.cross_validation_summary`): ``test`` of accuracy,
        macro F1 and track accuracy; ``val`` accuracy when every fold has a val part; ``baselines`` of every
        baseline score when they were computed."""
        summary = {"test": cross_validation_summary([fold.test.to_dict() for fold in self.folds],
                                                    keys=("accuracy", "macro_f1", "track_accuracy"))}
        if all(fold.val_accuracy is not None for fold in self.folds):
            summary["val"] = cross_validation_summary([{"accuracy": fold.val_accuracy} for fold in self.folds],
                                                      keys=("accuracy",))
        if all(fold.baselines is not None for fold in self.folds):
            summary["baselines"] = cross_validation_summary([fold.baselines for fold in self.folds],
                                                            keys=BASELINE_KEYS)
        return summary

    def to_dict(self) -> dict[str, Any]:
        """The JSON form: ``train_config``, ``folds``, ``summary``, ``warnings``."""
        return {"train_config": self.train_config.to_dict(), "folds": [fold.to_dict() for fold in self.folds],
                "summary": self.summary, "warnings": list(self.warnings)}


def train_and_score_fold(
    dataset: Dataset,
    split: Split,
    train_config: TrainConfig,
    *,
    name: str,
    progress: ProgressCallback | None = None,
    cancel: CancelCallback | None = None,
    with_baselines: bool = True,
    parts: Sequence[str] = PARTS,
) -> tuple[TrainingResult, BundleEvaluation]:
    """Train ``train_config`` on one fold (``split``) and score the model (named ``name``) on the ``parts`` of it
    (default all; `evaluate_bundle`); ``progress`` and ``cancel`` go to `training.train_model`. The one fold step of
    `cross_validate` and of a sweep (`genre_core.sweep`)."""
    from genre_core.bundles import bundle_from_training
    from genre_core.training import train_model

    result = train_model(dataset, split, train_config, progress=progress, cancel=cancel)
    bundle = bundle_from_training(result, dataset, name=name)
    scored = evaluate_bundle(bundle, dataset, split, with_baselines=with_baselines, seed=train_config.seed,
                             parts=parts)
    return result, scored


def cross_validate(
    dataset: Dataset,
    splits: Sequence[Split],
    train_config: TrainConfig,
    *,
    progress: FoldProgress | None = None,
    on_fold: Callable[[FoldScores], None] | None = None,
    with_baselines: bool = True,
) -> CrossValidation:
    """Train ``train_config`` once per split (fold) and score each on its val and test parts, beside the
    baselines when ``with_baselines``.

    ``progress(fold, n_folds, state)`` receives every `train_callbacks.TrainingProgress` of every fold;
    ``on_fold`` each fold's `FoldScores` as soon as it is scored.
    """
    if not splits:
        raise InputError("folds", "no splits to cross-validate over")
    if any(len(split.test) == 0 for split in splits):
        raise InputError("folds", "every fold needs test rows")
    folds = []
    for number, split in enumerate(splits, start=1):
        fold_progress = None
        if progress is not None:
            fold_progress = lambda state, number=number: progress(number, len(splits), state)  # noqa: E731
        start = time.perf_counter()
        result, scored = train_and_score_fold(dataset, split, train_config, name=f"fold {number}",
                                              progress=fold_progress, with_baselines=with_baselines,
                                              parts=("val", "test"))
        seconds = time.perf_counter() - start
        val = scored.report.parts.get("val")
        folds.append(FoldScores(
            fold=number, epochs_run=result.epochs_run, train_seconds=seconds,
            val_accuracy=None if val is None else float(val.segment_metrics["accuracy"]), test=scored.test,
            track_confusion=scored.report.parts["test"].track_confusion[MEAN_PROBABILITY],
            baselines=scored.baselines, split=scored.split,
        ))
        if on_fold is not None:
            on_fold(folds[-1])
    warnings = tuple(sorted({line for split in splits for line in split_warnings(dataset, split)}))
    return CrossValidation(train_config, tuple(folds), warnings)


def split_from_description(dataset: Dataset, description: dict[str, Any]) -> Split:
    """The split a bundle was trained with (``bundle.split_description``), rebuilt on ``dataset`` from the
    track ids of each part, so a bundle is evaluated on the tracks it never saw.

    Rows of tracks the description does not list are left out. Raises `InputError` for a leaky split
    (its parts share tracks, so track ids cannot rebuild it) and when none of the test tracks is in ``dataset``.
    """
    if description.get("protocol") == "leaky":
        raise InputError("bundle split", "was leaky (segment-level), so track ids cannot rebuild it: choose a split")
    try:
        part_tracks = {part: set(description["track_ids"][part]) for part in PARTS}
    except (KeyError, TypeError) as error:
        raise InputError("bundle split", f"lists no track ids per part ({type(error).__name__})") from None
    track_ids = np.asarray(dataset.track_ids, dtype=str)
    rows = {part: np.flatnonzero(np.isin(track_ids, sorted(tracks))) for part, tracks in part_tracks.items()}
    if len(rows["test"]) == 0:
        raise InputError(dataset.source, "holds none of the model's test tracks: choose a split (e.g. --split grouped)")
    details = {
        **description.get("details", {}),
        "rebuilt_from_track_ids": True,
        "unlisted_rows": int(len(dataset) - sum(len(part) for part in rows.values())),
    }
    protocol = str(description.get("protocol", "predefined"))
    return Split(train=rows["train"], val=rows["val"], test=rows["test"], protocol=protocol,
                 seed=description.get("seed"), details=details)

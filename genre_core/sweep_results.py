"""A sweep's results as typed records: each fold run, each point's mean ± std, the best setting and whether it
is beyond noise, and two sweeps side by side. No TensorFlow; the page, the CLI and reports read these.

The noise rule (`NOISE_RULE`): every point of a sweep is trained on the same folds (the same test tracks), so
two points are compared fold by fold with a paired t-test (`scipy.stats.ttest_rel`); a difference with
p >= `ALPHA` is "within noise". Two sweeps are paired the same way when they share their folds (same dataset,
fold count, seed and validation share), else compared with Welch's t-test.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from genre_core.errors import InputError
from genre_core.evaluation import cross_validation_summary
from genre_core.records import from_dict_strict
from genre_core.sweep_spec import SweepPoint, SweepSpec

METRICS = ("accuracy", "macro_f1", "track_accuracy")  #: test scores of a fold, fractions in [0, 1]
METRIC_NAMES = {"accuracy": "accuracy", "macro_f1": "macro F1", "track_accuracy": "track accuracy"}
ALPHA = 0.05
NOISE_RULE = (f"Best = the highest mean test {{metric}} over the folds. Every setting is trained on the same "
              f"folds, so another setting is within noise of the best when a paired t-test over the folds gives "
              f"p >= {ALPHA} (two-sided): its fold-by-fold differences are not consistently on one side.")


@dataclass(frozen=True)
class FoldRun:
    """One training of one point on one fold, scored on the fold's test tracks.

    ``point_key`` is `SweepPoint.key` (a stored run is reused only under the same key); scores are fractions;
    ``history`` per epoch (``loss``, ``accuracy``, ``val_loss``, ``val_accuracy``, ``learning_rate``);
    ``train_seconds`` is the fit, ``wall_seconds`` the whole run (fit and scoring)."""

    point: int
    point_key: str
    fold: int
    accuracy: float
    macro_f1: float
    track_accuracy: float
    val_accuracy: float | None
    epochs_run: int
    stopped_early: bool
    train_seconds: float
    wall_seconds: float
    test_tracks: int
    history: dict[str, list[float]]

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, values: Any) -> FoldRun:
        return from_dict_strict(cls, values, "sweep run")


@dataclass(frozen=True)
class MeanStd:
    """A score over folds: mean, sample std (0 for one fold) and the value of each fold (fold order)."""

    mean: float
    std: float
    values: tuple[float, ...]

    @classmethod
    def of(cls, runs: list[FoldRun], metric: str) -> MeanStd:
        summary = cross_validation_summary([run.to_dict() for run in runs], keys=(metric,))[metric]
        return cls(summary["mean"], summary["std"], tuple(summary["values"]))

    def to_dict(self) -> dict[str, Any]:
        return {"mean": self.mean, "std": self.std, "values": list(self.values)}

    @classmethod
    def from_dict(cls, values: Any) -> MeanStd:
        record = from_dict_strict(cls, values, "score over folds")
        return dataclasses.replace(record, values=tuple(record.values))


@dataclass(frozen=True)
class PointResult:
    """One point of a sweep: its settings, label and fold runs so far (fold order); scores over those folds
    (None before the first); ``wall_seconds`` summed over its runs."""

    index: int
    label: str
    settings: tuple[tuple[str, Any], ...]
    runs: tuple[FoldRun, ...]
    scores: dict[str, MeanStd] | None
    wall_seconds: float

    def complete(self, folds: int) -> bool:
        return len(self.runs) == folds

    def to_dict(self) -> dict[str, Any]:
        return {"index": self.index, "label": self.label, "settings": [list(pair) for pair in self.settings],
                "runs": [run.to_dict() for run in self.runs], "wall_seconds": self.wall_seconds,
                "scores": None if self.scores is None else {k: v.to_dict() for k, v in self.scores.items()}}

    @classmethod
    def from_dict(cls, values: Any) -> PointResult:
        record = from_dict_strict(cls, values, "sweep point")
        scores = None if record.scores is None else {k: MeanStd.from_dict(v) for k, v in record.scores.items()}
        return dataclasses.replace(record, settings=tuple((str(name), value) for name, value in record.settings),
                                   runs=tuple(FoldRun.from_dict(run) for run in record.runs), scores=scores)


def point_result(point: SweepPoint, runs: list[FoldRun]) -> PointResult:
    """A point's `PointResult` from its finished runs (any order)."""
    runs = sorted(runs, key=lambda run: run.fold)
    scores = {metric: MeanStd.of(runs, metric) for metric in METRICS} if runs else None
    return PointResult(point.index, point.label, point.settings, tuple(runs), scores,
                       float(sum(run.wall_seconds for run in runs)))


@dataclass(frozen=True)
class SettingComparison:
    """The best point against one other: mean difference (best minus other, fraction), p-value of the test over
    the folds both finished (None with fewer than 2), and whether that difference is within noise."""

    label: str
    difference: float
    p_value: float | None
    within_noise: bool


@dataclass(frozen=True)
class BestSetting:
    """The best complete point by ``metric`` and how every other complete point compares; ``summary`` says it in
    words, ``rule`` states the rule."""

    metric: str
    label: str
    score: MeanStd
    others: tuple[SettingComparison, ...]
    summary: str
    rule: str


def paired_p_value(first: tuple[float, ...], second: tuple[float, ...]) -> float | None:
    """Two-sided paired t-test p-value of per-fold scores; None with fewer than 2 pairs; 1 when every difference
    is 0 and 0 when they are all the same non-zero value (the test is undefined there)."""
    from scipy.stats import ttest_rel  # noqa: PLC0415

    differences = np.asarray(first) - np.asarray(second)
    if len(differences) < 2:
        return None
    if np.allclose(differences, differences[0], rtol=0, atol=1e-12):
        return 1.0 if abs(differences[0]) < 1e-12 else 0.0
    return float(ttest_rel(first, second).pvalue)


def welch_p_value(first: tuple[float, ...], second: tuple[float, ...]) -> float | None:
    """Two-sided Welch t-test p-value of two independent samples; None with fewer than 2 values on a side."""
    from scipy.stats import ttest_ind  # noqa: PLC0415

    if len(first) < 2 or len(second) < 2:
        return None
    if np.ptp(first) == 0 and np.ptp(second) == 0:
        return 1.0 if first[0] == second[0] else 0.0
    value = float(ttest_ind(first, second, equal_var=False).pvalue)
    return None if math.isnan(value) else value


def _percent(score: MeanStd) -> str:
    return f"{100 * score.mean:.1f} ± {100 * score.std:.1f} %"


def best_setting(points: list[PointResult], folds: int, metric: str = "accuracy") -> BestSetting | None:
    """The best of the points that finished every fold, by mean ``metric`` (the first on ties), compared with
    each other complete point fold by fold (`NOISE_RULE`); None before two points are complete."""
    if metric not in METRICS:
        raise InputError("metric", f"unknown '{metric}'; known: {', '.join(METRICS)}")
    complete = [point for point in points if point.complete(folds) and point.scores is not None]
    if len(complete) < 2:
        return None
    best = max(complete, key=lambda point: (point.scores[metric].mean, -point.index))
    mine = best.scores[metric]
    others = []
    for point in complete:
        if point is best:
            continue
        theirs = point.scores[metric]
        p_value = paired_p_value(mine.values, theirs.values)
        others.append(SettingComparison(point.label, mine.mean - theirs.mean, p_value,
                                        p_value is None or p_value >= ALPHA))
    name = METRIC_NAMES[metric]
    close = [other for other in others if other.within_noise]
    if not close:
        text = (f"{best.label} is best ({name} {_percent(mine)}), ahead of every other setting beyond noise "
                f"(paired t-test over {folds} folds, p < {ALPHA}).")
    else:
        listed = "; ".join(f"{other.label} ({100 * other.difference:.1f} points behind, "
                           + ("no test" if other.p_value is None else f"p = {other.p_value:.2f}") + ")"
                           for other in close)
        text = (f"{best.label} has the best mean {name} ({_percent(mine)}), but the difference is within noise "
                f"for {len(close)} of {len(others)} other setting(s): {listed}. Do not call it the winner on "
                f"these folds.")
    return BestSetting(metric, best.label, mine, tuple(others), text, NOISE_RULE.format(metric=name))


@dataclass(frozen=True)
class SweepResult:
    """A sweep as stored so far: its spec, its points in order (runs finished so far), the dataset's source line,
    class names and track count (None before the dataset was loaded), the warnings a reader must see, and what the
    folds group by (``"artist"`` or ``"track"``; None before the dataset was loaded)."""

    spec: SweepSpec
    points: tuple[PointResult, ...]
    dataset_source: str | None
    class_names: tuple[str, ...] | None
    tracks: int | None
    warnings: tuple[str, ...]
    group_by: str | None = None

    @property
    def runs_done(self) -> int:
        return sum(len(point.runs) for point in self.points)

    @property
    def runs_total(self) -> int:
        return len(self.points) * self.spec.folds

    @property
    def complete(self) -> bool:
        return self.runs_done == self.runs_total

    @property
    def wall_seconds(self) -> float:
        return float(sum(point.wall_seconds for point in self.points))

    @property
    def grouping(self) -> str:
        """How the folds group, in words: "grouped by artist", "grouped by track", or "grouped" before the data
        was loaded."""
        return "grouped" if self.group_by is None else f"grouped by {self.group_by}"

    def best(self, metric: str = "accuracy") -> BestSetting | None:
        return best_setting(list(self.points), self.spec.folds, metric)

    def to_dict(self) -> dict[str, Any]:
        return {"spec": self.spec.to_dict(), "points": [point.to_dict() for point in self.points],
                "dataset_source": self.dataset_source, "warnings": list(self.warnings), "tracks": self.tracks,
                "group_by": self.group_by,
                "class_names": None if self.class_names is None else list(self.class_names)}

    @classmethod
    def from_dict(cls, values: Any) -> SweepResult:
        record = from_dict_strict(cls, values, "sweep result")
        return dataclasses.replace(
            record, spec=SweepSpec.from_dict(record.spec), warnings=tuple(record.warnings),
            points=tuple(PointResult.from_dict(point) for point in record.points),
            class_names=None if record.class_names is None else tuple(record.class_names))


def same_folds(first: SweepSpec, second: SweepSpec) -> bool:
    """Whether two sweeps test on the same tracks per fold (so they can be compared fold by fold)."""
    def folds(spec: SweepSpec) -> tuple[Any, ...]:
        source = spec.dataset  # folds are by track or artist: feature settings, kinds and the cache do not change them
        return (source.location, source.genres, source.demo_tracks, spec.folds, spec.seed, spec.val_fraction,
                spec.artists_dir)

    return folds(first) == folds(second)


@dataclass(frozen=True)
class ComparedSetting:
    """One setting label in two sweeps: each side's score (None where that sweep lacks it or has not finished
    it), the difference second minus first (fraction) and its p-value where both have it."""

    label: str
    first: MeanStd | None
    second: MeanStd | None
    difference: float | None
    p_value: float | None


@dataclass(frozen=True)
class SweepComparison:
    """Two sweeps' points matched by setting label, on ``metric``; ``paired`` when they share their folds."""

    metric: str
    paired: bool
    rows: tuple[ComparedSetting, ...]
    test: str


def compare_sweeps(first: SweepResult, second: SweepResult, metric: str = "accuracy") -> SweepComparison:
    """The points of two sweeps side by side by label (first's order, then second's new labels); complete points
    only carry scores."""
    paired = same_folds(first.spec, second.spec)

    def scores(result: SweepResult) -> dict[str, MeanStd]:
        return {point.label: point.scores[metric] for point in result.points
                if point.complete(result.spec.folds) and point.scores is not None}

    mine, theirs = scores(first), scores(second)
    labels = [point.label for point in first.points]
    labels += [point.label for point in second.points if point.label not in labels]
    rows = []
    for label in labels:
        a, b = mine.get(label), theirs.get(label)
        difference = p_value = None
        if a is not None and b is not None:
            difference = b.mean - a.mean
            p_value = paired_p_value(b.values, a.values) if paired else welch_p_value(b.values, a.values)
        rows.append(ComparedSetting(label, a, b, difference, p_value))
    test = "paired t-test over the shared folds" if paired else "Welch's t-test (the sweeps' folds differ)"
    return SweepComparison(metric, paired, tuple(rows), test)

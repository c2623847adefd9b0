"""The train job: load a dataset, split it, train a preset, score it beside the baselines, save the bundle.

`train` is the one code path of a training: the CLI runs it in the foreground (`cli` ``train``), the app runs
it in a worker process as the job kind ``"train"`` (`run_job`, see `genre_core.jobs`), which writes progress
events into the job folder and the trained bundle into ``<job folder>/bundle/``. The page reads those back
(`live_state`, `finished_bundle`) and keeps the bundle under a name of the user's choice (`save_result`).

TensorFlow is imported only inside `train`.
"""

from __future__ import annotations

import dataclasses
import json
import re
import shutil
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from genre_core import datasets
from genre_core.atomic import atomic_directory, write_text_atomic
from genre_core.bundle_files import METADATA_FILE, list_bundles
from genre_core.config import FEATURE_KINDS, FeatureConfig
from genre_core.dataset import Dataset
from genre_core.errors import InputError
from genre_core.jobs import JobContext
from genre_core.records import from_dict_strict
from genre_core.splits import make_split

if TYPE_CHECKING:
    from genre_core.reports import BundleEvaluation
    from genre_core.train_callbacks import ProgressCallback, TrainingProgress

KIND = "train"
BUNDLE_FOLDER = "bundle"  #: the trained bundle inside a train job's folder
SAVED_FILE = "saved.json"  #: ``{"folder": ...}`` once the job's bundle was kept in the workspace
BUNDLE_NAME = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
LOADING, TRAINING, EVALUATING = "loading", "training", "evaluating"  #: stages a train job reports
HISTORY_KEYS = ("loss", "accuracy", "val_loss", "val_accuracy", "learning_rate")
EventSink = Callable[[dict[str, Any]], None]


@dataclass(frozen=True)
class DatasetSource:
    """Where a job finds its dataset: ``location`` is ``"demo"`` or a path `datasets.load_dataset` reads.

    ``kinds`` None loads every feature kind (as the app does, so the app's feature cache is hit); ``cache_dir``
    None disables the cache; ``demo_folder`` / ``demo_tracks`` say where the demo lives and its tracks per genre
    (None: `paths.DEMO_DIR` and synth's default). ``tracks``: keep only the rows of these track ids (None: all),
    e.g. the training part of a split, so that a sweep's cross-validation never sees its test tracks."""

    location: str
    feature_config: FeatureConfig = FeatureConfig()
    genres: tuple[str, ...] | None = None
    kinds: tuple[str, ...] | None = None
    cache_dir: str | None = None
    demo_folder: str | None = None
    demo_tracks: int | None = None
    tracks: tuple[str, ...] | None = None

    def load(self, *, n_jobs: int = 1, show_bar: bool = False) -> tuple[Dataset, list[str]]:
        """The dataset and the ``"<file>: <reason>"`` lines of the files it skipped. InputError when ``tracks``
        names a track the source does not hold (under the chosen genres)."""
        options = {"genres": self.genres, "kinds": self.kinds or FEATURE_KINDS, "n_jobs": n_jobs,
                   "cache_dir": None if self.cache_dir is None else Path(self.cache_dir), "show_bar": show_bar}
        dataset, skipped = datasets.load_dataset(
            self.location, self.feature_config, **options, demo_tracks=self.demo_tracks,
            demo_folder=None if self.demo_folder is None else Path(self.demo_folder))
        if self.tracks is None:
            return dataset, skipped
        missing = sorted(set(self.tracks) - set(dataset.track_ids.tolist()))
        if missing:
            raise InputError(f"tracks of {self.location}", f"{len(missing)} chosen tracks are not in it, e.g. "
                             f"{missing[0]}")
        kept = dataset.subset(np.isin(dataset.track_ids, list(self.tracks)))
        return dataclasses.replace(kept, source=f"{dataset.source}, {len(self.tracks)} chosen tracks"), skipped

    def to_dict(self) -> dict[str, Any]:
        return {**dataclasses.asdict(self), "feature_config": self.feature_config.to_dict()}

    @classmethod
    def from_dict(cls, values: Any) -> DatasetSource:
        source = from_dict_strict(cls, values, "dataset source")
        tuples = {name: None if getattr(source, name) is None else tuple(getattr(source, name))
                  for name in ("genres", "kinds", "tracks")}
        config = source.feature_config
        config = config if isinstance(config, FeatureConfig) else FeatureConfig.from_dict(config)
        return dataclasses.replace(source, feature_config=config, **tuples)


@dataclass(frozen=True)
class TrainJobSpec:
    """One training: the `TrainConfig` (as its dict), the dataset, the split protocol (`splits.make_split`)
    and the bundle's name; ``dataset_title`` is how the page names the dataset."""

    train_config: dict[str, Any]
    dataset: DatasetSource
    protocol: str = "grouped"
    split_dir: str | None = None
    name: str = "model"
    dataset_title: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {**dataclasses.asdict(self), "dataset": self.dataset.to_dict()}

    @classmethod
    def from_dict(cls, values: Any) -> TrainJobSpec:
        spec = from_dict_strict(cls, values, "train job")
        return dataclasses.replace(spec, dataset=DatasetSource.from_dict(spec.dataset))


@dataclass(frozen=True)
class TrainOutcome:
    """How a training ended: epochs run, stopped on request (model kept), stopped early, seconds of training,
    the dataset's source line; ``evaluation`` (`reports.evaluate_bundle`, None when read back from a job's
    result) is also the bundle's ``metrics``."""

    epochs_run: int
    stopped: bool
    stopped_early: bool
    train_seconds: float
    source: str
    evaluation: BundleEvaluation | None = field(default=None, compare=False)

    def to_dict(self) -> dict[str, Any]:
        """The JSON result of a job (without ``evaluation``: the bundle holds it)."""
        return {item.name: getattr(self, item.name) for item in dataclasses.fields(self) if item.name != "evaluation"}

    @classmethod
    def from_dict(cls, values: Any) -> TrainOutcome:
        return from_dict_strict(cls, values, "train result")


def progress_event(state: TrainingProgress) -> dict[str, Any]:
    """A `TrainingProgress` as an event: type ``"epoch"`` at the end of an epoch, else ``"batch"``; the
    history is left out (`live_state` rebuilds it from the epoch events)."""
    values = {key: value for key, value in dataclasses.asdict(state).items() if key != "history"}
    return {"type": "epoch" if state.batch == state.batches else "batch", **values}


def train(
    spec: TrainJobSpec,
    bundle_dir: Path,
    *,
    progress: ProgressCallback | None = None,
    emit: EventSink | None = None,
    should_stop: Callable[[], bool] | None = None,
    n_jobs: int = 1,
    show_bar: bool = False,
) -> TrainOutcome:
    """Run ``spec``: load, split, train (``progress`` gets every `TrainingProgress`; ``should_stop()`` ends the
    training after the current batch, keeping the model), evaluate, and save the bundle into ``bundle_dir``.
    ``emit`` gets the stage events (``{"type": "stage", "stage": ...}``) and ``{"type": "skipped", "files"}``."""
    from genre_core import bundles, reports, train_config, training

    emit = emit or (lambda event: None)
    config = train_config.TrainConfig.from_dict(spec.train_config)
    emit({"type": "stage", "stage": LOADING})
    dataset, skipped = spec.dataset.load(n_jobs=n_jobs, show_bar=show_bar)
    if skipped:
        emit({"type": "skipped", "files": list(skipped)})
    split = make_split(dataset, spec.protocol, seed=config.seed, split_dir=spec.split_dir)
    emit({"type": "stage", "stage": TRAINING})
    result = training.train_model(dataset, split, config, progress=progress, cancel=should_stop)
    emit({"type": "stage", "stage": EVALUATING})
    bundle = bundles.bundle_from_training(result, dataset, name=spec.name)
    evaluation = reports.evaluate_bundle(bundle, dataset, split, seed=config.seed)
    bundle.metrics = evaluation.to_dict()
    bundles.save_bundle(bundle, bundle_dir)
    return TrainOutcome(epochs_run=result.epochs_run, stopped=result.cancelled, stopped_early=result.stopped_early,
                        train_seconds=result.train_seconds, source=dataset.source, evaluation=evaluation)


def run_job(config: dict[str, Any], context: JobContext) -> dict[str, Any]:
    """The worker's entry for the job kind ``"train"`` (`genre_core.jobs.RUNNERS`)."""
    spec = TrainJobSpec.from_dict(config)
    outcome = train(spec, context.folder / BUNDLE_FOLDER, progress=lambda state: context.emit(progress_event(state)),
                    emit=context.emit, should_stop=context.should_stop)
    return outcome.to_dict()


# --- reading a job back ------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class LiveTraining:
    """What the events of a train job say so far: its stage, the last progress event (None before the first
    batch) and the history of the finished epochs (keys of `HISTORY_KEYS`, as `TrainingProgress.history`)."""

    stage: str
    latest: dict[str, Any] | None
    history: dict[str, list[float]]

    @property
    def fraction(self) -> float:
        """Share of all planned batches done, in [0, 1]."""
        if self.latest is None:
            return 0.0
        latest = self.latest
        done = (latest["epoch"] - 1) * latest["batches"] + latest["batch"]
        return min(done / (latest["epochs"] * latest["batches"]), 1.0)


def live_state(events: list[dict[str, Any]]) -> LiveTraining:
    """Fold a train job's events (oldest first) into a `LiveTraining`."""
    stage, latest = LOADING, None
    history: dict[str, list[float]] = {}
    for event in events:
        if event.get("type") == "stage":
            stage = event["stage"]
        elif event.get("type") in ("batch", "epoch"):
            latest = event
            if event["type"] == "epoch":
                for key in HISTORY_KEYS:
                    if event.get(key) is not None:
                        history.setdefault(key, []).append(float(event[key]))
    return LiveTraining(stage, latest, history)


def finished_bundle(job_folder: Path) -> dict[str, Any]:
    """The ``bundle.json`` of a finished train job (read without TensorFlow)."""
    path = Path(job_folder) / BUNDLE_FOLDER / METADATA_FILE
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InputError(job_folder, "holds no trained bundle") from None


def saved_folder(job_folder: Path) -> str | None:
    """Where the job's bundle was kept in the workspace (`save_result`), or None."""
    path = Path(job_folder) / SAVED_FILE
    return str(json.loads(path.read_text(encoding="utf-8"))["folder"]) if path.is_file() else None


def new_bundle_folder(name: str, models_dir: Path) -> Path:
    """``models_dir/name`` for a new bundle; InputError for a bad name or one already taken."""
    if not BUNDLE_NAME.match(name):
        raise InputError("bundle name", f"'{name}' may hold only letters, digits, - and _ (1 to 64)")
    target = Path(models_dir) / name
    if target.exists():
        raise InputError("bundle name", f"a bundle '{name}' already exists in {models_dir}")
    return target


def save_result(job_folder: Path, name: str, models_dir: Path) -> Path:
    """Copy the job's trained bundle into ``models_dir/name`` (atomically, named ``name`` in its metadata) and
    remember it (`saved_folder`). InputError for a bad name or one already taken: nothing is overwritten."""
    target = new_bundle_folder(name, models_dir)
    source = Path(job_folder) / BUNDLE_FOLDER
    metadata = finished_bundle(job_folder)
    with atomic_directory(target) as temporary:
        for file in source.iterdir():
            if file.is_file() and file.name != METADATA_FILE:
                shutil.copy2(file, temporary / file.name)
        (temporary / METADATA_FILE).write_text(json.dumps({**metadata, "name": name}, indent=2), encoding="utf-8")
    write_text_atomic(Path(job_folder) / SAVED_FILE, json.dumps({"folder": str(target.resolve())}))
    return target.resolve()


def matching_bundle(metadata: dict[str, Any], folder: Path) -> str | None:
    """The folder name of the first bundle in ``folder`` that a trained bundle (its ``bundle.json``
    ``metadata``) reproduces: the same preset and model settings, classes, features and split tracks, and the
    same scores on every part (accuracies within 1e-9, identical confusion matrices): the same model, even if
    e.g. a shorter early-stopping patience ended the run sooner at the same best epoch. None when none does."""

    def model(values: dict[str, Any]) -> tuple[Any, ...]:
        config = values.get("train_config") or {}
        return (config.get("preset"), config.get("hyper"), config.get("seed"), values.get("class_names"),
                values.get("feature_kind"), values.get("feature_config"), values.get("input_shape"),
                (values.get("split") or {}).get("track_ids"))

    def scores(values: dict[str, Any]) -> dict[str, tuple[float, Any]] | None:
        parts = (values.get("metrics") or {}).get("parts")
        if not isinstance(parts, dict) or not parts:
            return None
        return {name: (float(part["segment_metrics"]["accuracy"]), part["confusion"]) for name, part in parts.items()}

    mine = scores(metadata)
    for candidate in list_bundles(folder):
        try:
            other = json.loads((candidate / METADATA_FILE).read_text(encoding="utf-8"))
            theirs = scores(other)
        except (OSError, ValueError, KeyError, TypeError):
            continue
        if mine is None or theirs is None or model(metadata) != model(other) or mine.keys() != theirs.keys():
            continue
        if all(abs(mine[part][0] - theirs[part][0]) < 1e-9 and mine[part][1] == theirs[part][1] for part in mine):
            return candidate.name
    return None

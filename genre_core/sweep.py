"""Running a sweep: every point of a `SweepSpec` trained on the same grouped folds, each run stored as it finishes.

A sweep lives in its own folder (the CLI's ``--out``; the app's ``data/sweeps/<name>/``):

- ``sweep.json``: the `SweepSpec` (a folder holds one sweep: another spec is refused, nothing is overwritten);
- ``dataset.json``: the dataset's source line, class names, track count and warnings, once loaded;
- ``runs/p<point>-f<fold>.json``: one `FoldRun` per finished training, written atomically;
- ``.lock``: held (``flock``) while a sweep runs into the folder, so two never write the same runs.

`run_sweep` is the one code path: the CLI runs it in the foreground, the app as the job kind ``"sweep"``
(`run_job`, see `genre_core.jobs`). An interrupted sweep (stopped, cancelled, crashed) resumes by running the same
spec into the same folder: the runs stored under the same point key are read back, not trained again, and every
training is seeded, so the finished table is the same. A stop asked for mid-run ends that training without
storing it.

Folds: `splits.grouped_kfold` over one row per track (stratified by genre), so a fold holds the same tracks whatever
the windows per track; grouped by artist when the spec's artist-filtered split folder lists the artists of the
dataset's tracks (`splits.dataset_artists`: the GTZAN audio and the Kaggle table), else by track. ``dataset.json``
records which (``group_by``). Each point's dataset gets those tracks'
rows (`reports.split_from_description`). Each fold keeps `SweepSpec.val_fraction` of its training tracks for
validation (loss curves). TensorFlow is imported only inside the functions that train.
"""

from __future__ import annotations

import dataclasses
import fcntl
import json
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from genre_core.atomic import write_text_atomic
from genre_core.dataset import Dataset
from genre_core.errors import InputError
from genre_core.jobs import JobContext
from genre_core.records import from_dict_strict
from genre_core.splits import Split, dataset_artists, grouped_kfold
from genre_core.sweep_results import FoldRun, SweepResult, point_result
from genre_core.sweep_spec import SweepPoint, SweepSpec

KIND = "sweep"
SPEC_FILE, DATASET_FILE, RUNS_FOLDER, LOCK_FILE = "sweep.json", "dataset.json", "runs", ".lock"
EventSink = Callable[[dict[str, Any]], None]


@dataclass(frozen=True)
class DatasetFacts:
    """What a sweep says about its dataset: source line, class names, tracks, how folds group, warnings."""

    source: str
    class_names: tuple[str, ...]
    tracks: int
    group_by: str
    warnings: tuple[str, ...]

    def to_dict(self) -> dict[str, Any]:
        return {**dataclasses.asdict(self), "class_names": list(self.class_names), "warnings": list(self.warnings)}

    @classmethod
    def from_dict(cls, values: Any) -> DatasetFacts:
        record = from_dict_strict(cls, values, DATASET_FILE)
        return dataclasses.replace(record, class_names=tuple(record.class_names), warnings=tuple(record.warnings))


def run_file(folder: Path, point: int, fold: int) -> Path:
    return Path(folder) / RUNS_FOLDER / f"p{point:03d}-f{fold}.json"


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as error:
        raise InputError(path, f"is not valid JSON ({error})") from None


def read_spec(folder: Path) -> SweepSpec:
    """The spec stored in a sweep folder; InputError when the folder holds no sweep."""
    path = Path(folder) / SPEC_FILE
    if not path.is_file():
        raise InputError(folder, "holds no sweep (no sweep.json)")
    return SweepSpec.from_dict(_read_json(path))


def stored_runs(folder: Path, point: SweepPoint, folds: int) -> list[FoldRun]:
    """The runs of ``point`` stored in ``folder`` under its current key (others are stale and left aside)."""
    runs = []
    for fold in range(1, folds + 1):
        path = run_file(folder, point.index, fold)
        if path.is_file():
            run = FoldRun.from_dict(_read_json(path))
            if run.point_key == point.key and run.fold == fold:
                runs.append(run)
    return runs


def load_sweep(folder: Path) -> SweepResult:
    """The sweep in ``folder`` as stored so far (a running or interrupted one too); no TensorFlow."""
    folder = Path(folder)
    spec = read_spec(folder)
    facts_path = folder / DATASET_FILE
    facts = DatasetFacts.from_dict(_read_json(facts_path)) if facts_path.is_file() else None
    points = tuple(point_result(point, stored_runs(folder, point, spec.folds)) for point in spec.points())
    return SweepResult(spec=spec, points=points, dataset_source=None if facts is None else facts.source,
                       class_names=None if facts is None else facts.class_names,
                       tracks=None if facts is None else facts.tracks,
                       warnings=() if facts is None else facts.warnings,
                       group_by=None if facts is None else facts.group_by)


def check_folder(folder: Path, spec: SweepSpec) -> bool:
    """Whether ``folder`` already holds ``spec`` (a resume); False for a new or empty folder. InputError for a
    file, a folder holding another sweep or other files, or a path below a file. Reads only."""
    folder = Path(folder)
    blocker = next((part for part in (folder, *folder.parents) if part.exists() and not part.is_dir()), None)
    if blocker is not None:
        raise InputError(folder, f"{blocker} is a file, not a folder for a sweep")
    if (folder / SPEC_FILE).is_file():
        if read_spec(folder).fingerprint != spec.fingerprint:
            raise InputError(folder, "holds a different sweep; choose another folder (nothing was replaced)")
        return True
    if folder.is_dir() and any(not entry.name.startswith(".") for entry in folder.iterdir()):
        raise InputError(folder, "is not empty and holds no sweep; choose a new folder (nothing was replaced)")
    return False


def prepare_folder(folder: Path, spec: SweepSpec) -> None:
    """Make ``folder`` the home of ``spec`` (`check_folder`): a new or empty folder gets ``sweep.json``; one
    holding the same sweep is left as it is, to be resumed."""
    folder = Path(folder)
    if check_folder(folder, spec):
        return
    folder.mkdir(parents=True, exist_ok=True)
    write_text_atomic(folder / SPEC_FILE, json.dumps(spec.to_dict(), indent=1))


@contextmanager
def folder_lock(folder: Path) -> Iterator[None]:
    """Hold the sweep folder's lock; InputError at once when another sweep runs into it."""
    with open(Path(folder) / LOCK_FILE, "a") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise InputError(folder, "another sweep is running into this folder") from None
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def track_folds(dataset: Dataset, folds: int, seed: int, val_fraction: float,
                artists_dir: str | None = None) -> list[dict[str, Any]]:
    """The grouped folds as descriptions (`Split.describe`: track ids per part), made on one row per track so
    they do not depend on the windows per track; by artist when ``artists_dir`` lists the artists of the tracks
    (tracks it does not list are then in no fold), else by track."""
    _, first_rows = np.unique(dataset.track_ids, return_index=True)
    tracks = dataset.subset(np.sort(first_rows))
    artists = None if artists_dir is None else dataset_artists(tracks, artists_dir)
    return [split.describe(tracks)
            for split in grouped_kfold(tracks, folds, seed, val_fraction=val_fraction, artists=artists)]


def fold_splits(dataset: Dataset, descriptions: list[dict[str, Any]]) -> list[Split]:
    """The folds (`track_folds`) on ``dataset``'s rows: every window of a track in the part its track is in."""
    from genre_core.reports import split_from_description  # noqa: PLC0415

    return [split_from_description(dataset, description) for description in descriptions]


def _dataset_facts(dataset: Dataset, split: Split) -> DatasetFacts:
    from genre_core.reports import split_warnings  # noqa: PLC0415

    return DatasetFacts(source=dataset.source, class_names=tuple(dataset.class_names), tracks=dataset.n_tracks,
                        group_by=str(split.details.get("group_by", "track")),
                        warnings=tuple(split_warnings(dataset, split)))


def run_sweep(
    spec: SweepSpec,
    folder: Path,
    *,
    emit: EventSink | None = None,
    should_stop: Callable[[], bool] | None = None,
    n_jobs: int = 1,
) -> SweepResult:
    """Train every point of ``spec`` on every fold not yet stored in ``folder`` and store each run as it ends.

    Checks the spec first (`SweepSpec.check`: no training on bad input). ``emit`` gets ``{"type": "run", ...}``
    as each run starts (``status`` "training") or is read back (``status`` "stored"), ``{"type": "epoch", ...}``
    after each epoch and ``{"type": "stopped"}``; ``should_stop()`` is asked between runs and after every batch
    (a run it ends is not stored). Returns the sweep as stored (`load_sweep`)."""
    emit = emit or (lambda event: None)
    should_stop = should_stop or (lambda: False)
    folder = Path(folder)
    check_folder(folder, spec)
    points = spec.check()
    prepare_folder(folder, spec)
    with folder_lock(folder):
        datasets: dict[str, tuple[Dataset, list[Split]]] = {}
        descriptions: list[dict[str, Any]] = []
        total, number = len(points) * spec.folds, 0
        for point in points:
            stored = {run.fold for run in stored_runs(folder, point, spec.folds)}
            for fold in range(1, spec.folds + 1):
                number += 1
                event = {"type": "run", "point": point.index, "label": point.label, "fold": fold,
                         "number": number, "total": total}
                if fold in stored:
                    emit({**event, "status": "stored"})
                    continue
                if should_stop():
                    emit({"type": "stopped"})
                    return load_sweep(folder)
                emit({**event, "status": "training"})
                key = point.feature_config.fingerprint()
                if key not in datasets:
                    dataset, skipped = dataclasses.replace(spec.dataset, feature_config=point.feature_config).load(
                        n_jobs=n_jobs)
                    if skipped:
                        emit({"type": "skipped", "files": list(skipped)})
                    if not descriptions:
                        descriptions = track_folds(dataset, spec.folds, spec.seed, spec.val_fraction,
                                                   spec.artists_dir)
                    datasets[key] = dataset, fold_splits(dataset, descriptions)
                    if not (folder / DATASET_FILE).is_file():
                        facts = _dataset_facts(dataset, datasets[key][1][0])
                        write_text_atomic(folder / DATASET_FILE, json.dumps(facts.to_dict(), indent=1))
                dataset, splits = datasets[key]
                run = _train_run(point, fold, dataset, splits[fold - 1], emit, should_stop)
                if run is None:
                    emit({"type": "stopped"})
                    return load_sweep(folder)
                write_text_atomic(run_file(folder, point.index, fold), json.dumps(run.to_dict()))
    return load_sweep(folder)


def _train_run(point: SweepPoint, fold: int, dataset: Dataset, split: Split, emit: EventSink,
               should_stop: Callable[[], bool]) -> FoldRun | None:
    """Train and score ``point`` on one fold; None when ``should_stop`` ended the training."""
    import keras  # noqa: PLC0415

    from genre_core import reports  # noqa: PLC0415
    from genre_core.train_config import TrainConfig  # noqa: PLC0415

    config = TrainConfig.from_dict(point.train_config)

    def progress(state: Any) -> None:
        if state.batch == state.batches:
            emit({"type": "epoch", "point": point.index, "fold": fold, "epoch": state.epoch, "epochs": state.epochs,
                  "loss": state.loss, "val_loss": state.val_loss})

    start = time.perf_counter()
    result, scored = reports.train_and_score_fold(dataset, split, config, name=f"{point.label} fold {fold}",
                                                  progress=progress, cancel=should_stop, with_baselines=False)
    keras.backend.clear_session()
    if result.cancelled:
        return None
    val = scored.report.parts.get("val")
    return FoldRun(
        point=point.index, point_key=point.key, fold=fold, accuracy=scored.test.accuracy,
        macro_f1=scored.test.macro_f1, track_accuracy=scored.test.track_accuracy,
        val_accuracy=None if val is None else float(val.segment_metrics["accuracy"]),
        epochs_run=result.epochs_run, stopped_early=result.stopped_early, train_seconds=result.train_seconds,
        wall_seconds=time.perf_counter() - start, test_tracks=scored.split.tracks["test"],
        history={name: list(values) for name, values in result.history.items()},
    )


@dataclass(frozen=True)
class SweepJobSpec:
    """The config of a ``"sweep"`` job: the sweep and the folder it is stored in (absolute)."""

    sweep: SweepSpec
    folder: str

    def to_dict(self) -> dict[str, Any]:
        return {"sweep": self.sweep.to_dict(), "folder": self.folder}

    @classmethod
    def from_dict(cls, values: Any) -> SweepJobSpec:
        record = from_dict_strict(cls, values, "sweep job")
        return dataclasses.replace(record, sweep=SweepSpec.from_dict(record.sweep))


def run_job(config: dict[str, Any], context: JobContext) -> dict[str, Any]:
    """The worker's entry for the job kind ``"sweep"`` (`genre_core.jobs.RUNNERS`)."""
    job = SweepJobSpec.from_dict(config)
    result = run_sweep(job.sweep, Path(job.folder), emit=context.emit, should_stop=context.should_stop)
    return {"folder": job.folder, "runs_done": result.runs_done, "runs_total": result.runs_total}

"""The sweep engine: grouped folds that never leak a track, runs stored as they finish, a resumed
sweep that trains only what is missing and ends with the same table, folders never overwritten, the job kind."""

from __future__ import annotations

import shutil
import time
from pathlib import Path

import numpy as np
import pytest
from helpers import TONE_CONFIG, make_tone_folder, published_artists, tiny_dataset

from genre_core import jobs, sweep
from genre_core.config import FeatureConfig
from genre_core.errors import InputError
from genre_core.sweep_spec import SweepSpec, make_axis
from genre_core.train_job import DatasetSource

BASE = {"preset": "ffn_mfcc", "epochs": 1, "batch_size": 4, "hyper": {"hidden": [8], "dropout": 0.0}}


def spec_for(tones: Path, cache: Path, values: tuple[float, ...] = (0.01, 0.001)) -> SweepSpec:
    source = DatasetSource(str(tones), TONE_CONFIG, kinds=("summary",), cache_dir=str(cache))
    return SweepSpec(dataset=source, base_config=BASE, axes=(make_axis("learning_rate", values, "ffn_mfcc"),),
                     folds=2, seed=7)


@pytest.fixture(scope="module")
def tones(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_tone_folder(tmp_path_factory.mktemp("tones") / "genres")


@pytest.fixture(scope="module")
def resumed(tones: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[dict], list[dict], bytes]:
    """A 2-point, 2-fold sweep stopped during its last run (4th), then resumed: its folder, the events of both
    passes, and the bytes of the first run's file as the first pass left it; ``copy`` beside the folder holds
    the sweep as the first pass left it."""
    root = tmp_path_factory.mktemp("sweep")
    folder, spec = root / "resumed", spec_for(tones, root / "cache")
    asked = {"stop": False}
    first_events: list[dict] = []

    def stop_during_last_run(event: dict) -> None:
        first_events.append(event)
        if event.get("status") == "training" and event["number"] == 4:
            asked["stop"] = True  # ends the 4th run after its first batch: it must not be stored

    first = sweep.run_sweep(spec, folder, emit=stop_during_last_run, should_stop=lambda: asked["stop"])
    assert first.runs_done == 3 and not first.complete and first_events[-1] == {"type": "stopped"}
    kept = sweep.run_file(folder, 0, 1).read_bytes()
    shutil.copytree(folder, root / "copy")  # the interrupted sweep, resumed again by a job
    events: list[dict] = []
    sweep.run_sweep(spec, folder, emit=events.append)
    return folder, first_events, events, kept


def leaks(dataset, split, key: np.ndarray) -> set[str]:
    """Values of ``key`` (a track id per row) on both sides of a fold (train or validation against test)."""
    fitting = np.concatenate([split.train, split.val])
    return set(key[fitting].tolist()) & set(key[split.test].tolist())


def test_folds_keep_every_track_on_one_side_and_test_each_track_once() -> None:
    dataset = tiny_dataset(rows=72, n_classes=3)  # 36 tracks of 2 windows
    descriptions = sweep.track_folds(dataset, folds=3, seed=5, val_fraction=0.15)
    splits = sweep.fold_splits(dataset, descriptions)
    assert len(splits) == 3
    tested = np.concatenate([split.test for split in splits])
    assert sorted(tested.tolist()) == list(range(len(dataset)))  # every row (so every track) tested exactly once
    for split in splits:
        assert split.details["group_by"] == "track" and len(split.val) > 0
        assert leaks(dataset, split, dataset.track_ids) == set()
        assert set(split.train.tolist()).isdisjoint(split.val.tolist())
        assert set(np.unique(dataset.labels[split.test])) == {0, 1, 2}  # stratified: every genre tested
    # the same tracks per fold whatever the windows per track (points varying it share their folds)
    fewer = dataset.subset(np.flatnonzero(dataset.segment_index == 0))
    for split, other in zip(splits, sweep.fold_splits(fewer, descriptions)):
        for part in ("train", "val", "test"):
            assert set(fewer.track_ids[getattr(other, part)]) == set(dataset.track_ids[getattr(split, part)])


@pytest.mark.slow
def test_a_sweep_stores_every_run_with_scores_curves_and_times(resumed) -> None:
    folder, first_events, _, _ = resumed
    result = sweep.load_sweep(folder)
    assert result.complete and result.runs_done == 4 and result.tracks == 9
    assert result.class_names == ("blues", "jazz", "rock")
    assert [point.label for point in result.points] == ["learning_rate=0.01", "learning_rate=0.001"]
    for point in result.points:
        assert [run.fold for run in point.runs] == [1, 2]
        assert 0.0 <= point.scores["accuracy"].mean <= 1.0 and point.wall_seconds > 0
        assert all(len(run.history["val_loss"]) == 1 and run.test_tracks >= 4 for run in point.runs)
    started = [(event["point"], event["fold"]) for event in first_events if event.get("status") == "training"]
    assert started == [(0, 1), (0, 2), (1, 1), (1, 2)]
    assert sorted(path.name for path in (folder / sweep.RUNS_FOLDER).iterdir()) == [
        "p000-f1.json", "p000-f2.json", "p001-f1.json", "p001-f2.json"]


@pytest.mark.slow
def test_a_resumed_sweep_trains_only_the_missing_run(resumed) -> None:
    folder, _, events, kept = resumed
    statuses = [(event["number"], event["status"]) for event in events if event["type"] == "run"]
    assert statuses == [(1, "stored"), (2, "stored"), (3, "stored"), (4, "training")]
    assert sweep.run_file(folder, 0, 1).read_bytes() == kept


@pytest.mark.slow
def test_a_job_resumes_the_interrupted_sweep_in_a_worker_to_the_same_table(resumed, tmp_path: Path) -> None:
    folder, _, _, _ = resumed
    copy = folder.parent / "copy"
    manager = jobs.JobManager(jobs.JobStore(tmp_path / "jobs"))
    record = manager.submit(sweep.KIND, "tester", sweep.SweepJobSpec(sweep.read_spec(copy), str(copy)).to_dict())
    deadline = time.monotonic() + 300
    while manager.store.get(record.id).active and time.monotonic() < deadline:
        time.sleep(0.5)
    assert manager.store.get(record.id).status == jobs.DONE, manager.store.error(record.id)
    assert manager.store.result(record.id) == {"folder": str(copy), "runs_done": 4, "runs_total": 4}
    started = [(event["point"], event["fold"]) for event in manager.store.events(record.id)
               if event.get("status") == "training"]
    assert started == [(1, 2)]
    in_worker, in_process = sweep.load_sweep(copy), sweep.load_sweep(folder)
    for point, other in zip(in_worker.points, in_process.points):
        for run, expected in zip(point.runs, other.runs):
            assert (run.accuracy, run.macro_f1, run.track_accuracy) == (
                expected.accuracy, expected.macro_f1, expected.track_accuracy)
            assert run.history["loss"] == pytest.approx(expected.history["loss"], rel=1e-6)


@pytest.mark.slow
def test_a_sweep_on_the_kaggle_table_groups_its_folds_by_artist(gtzan_csv: Path, sturm_split_dir: Path,
                                                                 tmp_path: Path) -> None:
    genres = ("blues", "classical", "metal")
    source = DatasetSource(str(gtzan_csv), genres=genres, kinds=("summary",))
    spec = SweepSpec(dataset=source, base_config={**BASE, "batch_size": 32}, artists_dir=str(sturm_split_dir),
                     axes=(make_axis("learning_rate", (0.01, 0.001), "ffn_mfcc"),), folds=2, seed=7)
    result = sweep.run_sweep(spec, tmp_path / "artists")
    assert result.complete and result.group_by == "artist" and result.grouping == "grouped by artist"
    artists = published_artists(sturm_split_dir)
    listed = sorted(track for track in artists if track.split(".")[0] in genres)
    unlisted = 300 - len(listed)
    assert unlisted > 0 and any(f"{unlisted} track(s) without a listed artist" in line for line in result.warnings)
    for point in result.points:
        assert sum(run.test_tracks for run in point.runs) == len(listed)  # each listed track tested once
    dataset, _ = source.load()
    descriptions = sweep.track_folds(dataset, spec.folds, spec.seed, spec.val_fraction, spec.artists_dir)
    assert sorted(track for fold in descriptions for track in fold["track_ids"]["test"]) == listed
    for fold in descriptions:
        fitting = {artists[track] for part in ("train", "val") for track in fold["track_ids"][part]}
        assert fitting.isdisjoint(artists[track] for track in fold["track_ids"]["test"])  # no artist on both sides
    by_track = sweep.track_folds(dataset, spec.folds, spec.seed, spec.val_fraction)  # no folder: by track
    assert all(fold["details"]["group_by"] == "track" for fold in by_track)
    assert sum(len(fold["track_ids"]["test"]) for fold in by_track) == 300


def test_a_folder_holding_something_else_is_refused_and_left_alone(tones: Path, tmp_path: Path) -> None:
    spec = spec_for(tones, tmp_path / "cache")
    other = tmp_path / "other"
    sweep.prepare_folder(other, spec_for(tones, tmp_path / "cache", values=(0.1, 0.2)))
    with pytest.raises(InputError, match="holds a different sweep"):
        sweep.run_sweep(spec, other)
    assert sweep.read_spec(other).axes[0].values == (0.1, 0.2)
    busy = tmp_path / "busy"
    busy.mkdir()
    (busy / "notes.txt").write_text("mine")
    with pytest.raises(InputError, match="not empty and holds no sweep"):
        sweep.run_sweep(spec, busy)
    assert (busy / "notes.txt").read_text() == "mine" and not (busy / sweep.SPEC_FILE).exists()
    sweep.prepare_folder(tmp_path / "locked", spec)
    with sweep.folder_lock(tmp_path / "locked"):
        with pytest.raises(InputError, match="another sweep is running"):
            sweep.run_sweep(spec, tmp_path / "locked")


def test_bad_settings_are_refused_before_anything_is_written(tones: Path, tmp_path: Path) -> None:
    spec = spec_for(tones, tmp_path / "cache")
    bad = SweepSpec(spec.dataset, {**BASE, "hyper": {"hidden": [8], "dropout": 1.5}}, spec.axes, folds=2)
    with pytest.raises(InputError, match=r"dropout.*1\.5"):
        sweep.run_sweep(bad, tmp_path / "never")
    assert not (tmp_path / "never").exists()


def test_feature_settings_reach_the_dataset_through_the_spec() -> None:
    source = DatasetSource("demo", FeatureConfig())
    spec = SweepSpec(source, {"preset": "cnn_small"}, (make_axis("n_mels", (64, 96), "cnn_small"),), folds=2)
    assert [point.feature_config.n_mels for point in spec.points()] == [64, 96]
    assert spec.points()[0].key != spec.points()[1].key

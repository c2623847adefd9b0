"""The train job: one code path (foreground for the CLI, a worker process for the app) that loads, splits, trains,
scores and saves; its events folded into live curves; keeping its bundle under a name; recognising a rerun of a
shipped model."""

from __future__ import annotations

import json
import shutil
import time
from pathlib import Path

import pytest
from helpers import TONE_CONFIG, make_tone_folder

from genre_core import jobs, train_job
from genre_core.errors import InputError

TRAIN = {"preset": "ffn_mfcc", "epochs": 2, "batch_size": 4, "seed": 3}


def spec_for(folder: Path, cache: Path, **train: object) -> train_job.TrainJobSpec:
    source = train_job.DatasetSource(str(folder), TONE_CONFIG, cache_dir=str(cache))
    return train_job.TrainJobSpec({**TRAIN, **train}, source, protocol="grouped", name="tones")


@pytest.fixture(scope="module")
def tones(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_tone_folder(tmp_path_factory.mktemp("tones") / "genres")


@pytest.fixture(scope="module")
def finished_job(
    tones: Path, tmp_path_factory: pytest.TempPathFactory
) -> tuple[Path, list[dict], train_job.TrainOutcome]:
    """A job folder holding the bundle of a 2-epoch foreground training, and its events."""
    folder = tmp_path_factory.mktemp("job")
    events: list[dict] = []
    outcome = train_job.train(spec_for(tones, folder / "cache"), folder / train_job.BUNDLE_FOLDER,
                              progress=lambda state: events.append(train_job.progress_event(state)),
                              emit=events.append)
    return folder, events, outcome


@pytest.mark.slow
def test_train_saves_the_scored_bundle_and_reports_stages_and_epochs(finished_job) -> None:
    folder, events, outcome = finished_job
    assert outcome.epochs_run == 2 and not outcome.stopped and outcome.train_seconds > 0
    stages = [event["stage"] for event in events if event["type"] == "stage"]
    assert stages == [train_job.LOADING, train_job.TRAINING, train_job.EVALUATING]
    live = train_job.live_state(events)
    assert live.stage == train_job.EVALUATING and live.fraction == 1.0
    metadata = train_job.finished_bundle(folder)
    assert live.history["loss"] == pytest.approx(metadata["history"]["loss"])
    assert metadata["name"] == "tones" and metadata["metrics"]["test"]["accuracy"] == outcome.evaluation.test.accuracy
    assert (folder / train_job.BUNDLE_FOLDER / "model.keras").is_file()
    assert json.loads(json.dumps(outcome.to_dict())) == train_job.TrainOutcome.from_dict(outcome.to_dict()).to_dict()


@pytest.mark.slow
def test_the_result_is_kept_under_a_checked_name_never_overwriting(finished_job, tmp_path: Path) -> None:
    from genre_core import bundles

    folder, _, _ = finished_job
    job = tmp_path / "job"
    shutil.copytree(folder, job)
    with pytest.raises(InputError, match="may hold only letters"):
        train_job.save_result(job, "no spaces", tmp_path / "models")
    assert train_job.saved_folder(job) is None
    kept = train_job.save_result(job, "kept-1", tmp_path / "models")
    assert train_job.saved_folder(job) == str(kept)
    loaded = bundles.load_bundle(kept)
    assert loaded.name == "kept-1" and loaded.train_config.seed == TRAIN["seed"]
    before = (kept / "bundle.json").read_text()
    with pytest.raises(InputError, match="already exists"):
        train_job.save_result(job, "kept-1", tmp_path / "models")
    assert (kept / "bundle.json").read_text() == before


@pytest.mark.slow
def test_a_rerun_is_recognised_as_the_same_model(finished_job, tones: Path, tmp_path: Path) -> None:
    folder, _, _ = finished_job
    shipped = folder  # its one bundle folder plays the shipped model
    train_job.train(spec_for(tones, tmp_path / "cache"), tmp_path / "again")
    again = json.loads((tmp_path / "again" / "bundle.json").read_text())
    assert train_job.matching_bundle(again, shipped) == train_job.BUNDLE_FOLDER  # same settings: same model
    train_job.train(spec_for(tones, tmp_path / "cache", seed=4), tmp_path / "other")
    other = json.loads((tmp_path / "other" / "bundle.json").read_text())
    assert train_job.matching_bundle(other, shipped) is None


@pytest.mark.slow
def test_the_same_training_runs_as_a_job_in_a_worker_process(tones: Path, tmp_path: Path) -> None:
    manager = jobs.JobManager(jobs.JobStore(tmp_path / "jobs"))
    try:
        record = manager.submit(train_job.KIND, "alice", spec_for(tones, tmp_path / "cache").to_dict())
        deadline = time.monotonic() + 300
        while manager.store.get(record.id).active:
            assert time.monotonic() < deadline, "the train job did not finish"
            time.sleep(0.2)
        assert manager.store.get(record.id).status == jobs.DONE, manager.store.get(record.id).message
    finally:
        manager.shutdown()
    outcome = train_job.TrainOutcome.from_dict(manager.store.result(record.id))
    live = train_job.live_state(manager.store.events(record.id))
    assert outcome.epochs_run == 2 and len(live.history["loss"]) == 2
    assert train_job.finished_bundle(manager.store.folder(record.id))["history"]["loss"] == pytest.approx(
        live.history["loss"])


def test_specs_round_trip_through_json_and_are_strict(tmp_path: Path) -> None:
    spec = spec_for(tmp_path, tmp_path / "cache")
    assert train_job.TrainJobSpec.from_dict(json.loads(json.dumps(spec.to_dict()))) == spec
    with pytest.raises(InputError, match="unknown setting"):
        train_job.TrainJobSpec.from_dict({**spec.to_dict(), "extra": 1})
    with pytest.raises(InputError, match="missing setting"):
        train_job.DatasetSource.from_dict({})


def test_a_source_keeps_only_the_chosen_tracks_and_names_a_missing_one(tones: Path, tmp_path: Path) -> None:
    whole, _ = train_job.DatasetSource(str(tones), TONE_CONFIG, kinds=("summary",)).load()
    chosen = tuple(sorted(set(whole.track_ids.tolist())))[::2]
    source = train_job.DatasetSource(str(tones), TONE_CONFIG, kinds=("summary",), tracks=chosen)
    assert train_job.DatasetSource.from_dict(json.loads(json.dumps(source.to_dict()))) == source
    kept, _ = source.load()
    assert tuple(sorted(set(kept.track_ids.tolist()))) == chosen and kept.class_names == whole.class_names
    assert len(kept) == sum(int((whole.track_ids == track).sum()) for track in chosen)
    assert kept.source.endswith(f", {len(chosen)} chosen tracks")
    missing = train_job.DatasetSource(str(tones), TONE_CONFIG, kinds=("summary",), tracks=(*chosen, "jazz.99999"))
    with pytest.raises(InputError, match="1 chosen tracks are not in it, e.g. jazz.99999"):
        missing.load()

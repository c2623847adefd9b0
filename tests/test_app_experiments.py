"""The Experiments page driven with AppTest: a bad value is one readable error and starts nothing; a stored,
unfinished sweep is listed with its progress and a Resume button; the settings offered are the preset's."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from helpers import TONE_CONFIG, make_tone_folder, messages, open_page, share_dataset

from genre_core import audio_datasets, dataset_choice, jobs, paths, sweep
from genre_core.sweep_results import FoldRun
from genre_core.sweep_spec import SweepSpec, make_axis
from pages import common

PAGE = "pages/experiments.py"


@pytest.fixture(scope="module")
def tones(workspace: Path) -> Iterator[dataset_choice.DatasetSpec]:
    spec = dataset_choice.DatasetSpec(dataset_choice.FOLDER, str(make_tone_folder(workspace / "tones")), None, TONE_CONFIG)
    dataset, _ = audio_datasets.load_audio_folder(spec.location, TONE_CONFIG, n_jobs=1, cache_dir=paths.CACHE_DIR)
    yield share_dataset(spec, dataset)
    common.job_manager().shutdown()  # never leave a worker behind


def test_a_bad_value_is_one_error_and_starts_nothing(tones) -> None:
    at = open_page(PAGE, tones)
    assert not at.exception
    (setting,) = [box for box in at.selectbox if box.key == "experiments.setting1.ffn_mfcc"]
    assert {"learning_rate", "batch_size", "hidden", "dropout", "activation", "n_mfcc"} <= set(setting.options)
    setting.set_value("dropout").run()
    (values,) = [box for box in at.text_input if box.key == "experiments.values1.ffn_mfcc.dropout"]
    values.set_value("0.1,1.5").run()
    at.button(key="experiments.start").click().run()
    assert "dropout=1.5" in messages(at.error) and "[0, 1)" in messages(at.error)
    assert jobs.JobStore(paths.DATA_DIR / "jobs").list(kind=sweep.KIND) == []
    assert not (paths.DATA_DIR / "sweeps").exists()


def test_an_unfinished_sweep_shows_its_progress_and_can_resume(tones) -> None:
    source = dataset_choice.job_source(tones)
    spec = SweepSpec(source, {"preset": "ffn_mfcc", "epochs": 1},
                     (make_axis("learning_rate", (0.01, 0.001), "ffn_mfcc"),), folds=2, dataset_title="tones")
    sweep.prepare_folder(paths.DATA_DIR / "sweeps" / "stopped", spec)
    at = open_page(PAGE, tones)
    assert not at.exception
    assert at.selectbox(key="experiments.sweep").value == "stopped"
    assert "0 of 4 runs are stored" in messages(at.info)
    assert "No run has finished yet." in messages(at.caption)
    assert "experiments.resume" in [button.key for button in at.button]


def test_a_finished_sweep_says_how_its_folds_group_and_offers_its_report(tones) -> None:
    spec = SweepSpec(dataset_choice.job_source(tones), {"preset": "ffn_mfcc", "epochs": 1},
                     (make_axis("batch_size", (4, 8), "ffn_mfcc"),), folds=2, dataset_title="tones",
                     artists_dir=str(paths.ARTIST_SPLIT_DIR))
    folder = paths.DATA_DIR / "sweeps" / "finished"
    sweep.prepare_folder(folder, spec)
    facts = sweep.DatasetFacts("tones", ("blues", "jazz", "rock"), 9, "artist", ())
    (folder / sweep.DATASET_FILE).write_text(json.dumps(facts.to_dict()))
    history = {"loss": [1.0], "accuracy": [0.5], "val_loss": [1.1], "val_accuracy": [0.4]}
    for point in spec.points():
        for fold in (1, 2):
            run = FoldRun(point=point.index, point_key=point.key, fold=fold, accuracy=0.5 + 0.1 * fold,
                          macro_f1=0.5, track_accuracy=0.6, val_accuracy=0.4, epochs_run=1, stopped_early=False,
                          train_seconds=1.0, wall_seconds=1.5, test_tracks=4, history=history)
            sweep.run_file(folder, point.index, fold).parent.mkdir(exist_ok=True)
            sweep.run_file(folder, point.index, fold).write_text(json.dumps(run.to_dict()))
    at = open_page(PAGE, tones, **{"experiments.sweep": "finished"})
    assert not at.exception
    assert "2 folds grouped by artist, seed 42" in messages(at.markdown)
    buttons = {button.key: button.proto for button in at.get("download_button")}
    assert buttons["report-html-sweep_finished"].label == "Report (HTML, opens offline)"
    assert buttons["report-png-sweep_finished"].label == "Figures (PNG, zip)"
    assert buttons["report-html-sweep_finished"].deferred_file_id  # made when clicked
    assert buttons["csv-sweep_finished"].label == "Download sweep_finished.csv"  # named after the sweep
    # the tone tracks are named like GTZAN tracks (blues.00000), so the published lists give them artists
    assert at.toggle(key="experiments.by_artist").value is True

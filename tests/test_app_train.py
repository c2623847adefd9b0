"""The Train page driven through its widgets with AppTest: train a 1-epoch model as a background job (on generated
tones and on the real Kaggle GTZAN table), see the curves and scores, find the same job after a reload, stop and
cancel runs (the worker process gone), save and activate the bundle, see that a rerun matches a shipped model, see
only the splits the dataset supports, and load bundles from uploaded zips (a good one, a damaged one, one that
is not a bundle)."""

from __future__ import annotations

import dataclasses
import io
import json
import shutil
import time
import zipfile
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from helpers import (
    TIMEOUT_S,
    TONE_CONFIG,
    charts,
    make_tone_folder,
    messages,
    open_page,
    process_alive,
    share_dataset,
)
from streamlit.testing.v1 import AppTest

from genre_core import audio_datasets, bundle_info, dataset_choice, jobs, paths, train_job
from pages import common

PAGE = "pages/train.py"


def buttons(at: AppTest) -> list[str]:
    return [button.key for button in at.button]


def button_starting(at: AppTest, prefix: str):  # noqa: ANN201
    """The one button whose key starts with ``prefix`` (job buttons end with the job id)."""
    (found,) = [button for button in at.button if button.key and button.key.startswith(prefix)]
    return found


@pytest.fixture(scope="module")
def tones(workspace: Path) -> Iterator[dataset_choice.DatasetSpec]:
    yield dataset_choice.DatasetSpec(dataset_choice.FOLDER, str(make_tone_folder(workspace / "tones")), None, TONE_CONFIG)
    common.job_manager().shutdown()  # never leave a worker behind


def store() -> jobs.JobStore:
    return jobs.JobStore(paths.DATA_DIR / "jobs")


def latest_job(at: AppTest) -> jobs.JobRecord:
    """The newest job of the page's user."""
    return store().list(owner=at.session_state[common.USER_KEY])[-1]


def wait_until(condition, what: str, timeout: float = TIMEOUT_S) -> None:  # noqa: ANN001
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.2)


def start_long_training(at: AppTest, preset: str, batch_size: int) -> jobs.JobRecord:
    """Press Train for 500 epochs of ``preset`` without early stopping; the job it started."""
    at.toggle(key=f"train.{preset}.early").set_value(False)
    at.number_input(key=f"train.{preset}.epochs").set_value(500)
    at.number_input(key=f"train.{preset}.batch").set_value(batch_size)
    at.button(key="train.start").click().run()
    return latest_job(at)


def train_once(at: AppTest, preset: str, **numbers: float) -> AppTest:
    """Set ``numbers`` (widget key suffix -> value) of ``preset``, press Train and wait for the job to end."""
    for name, value in numbers.items():
        at.number_input(key=f"train.{preset}.{name}").set_value(value)
    at.button(key="train.start").click().run()
    assert not at.exception
    record = latest_job(at)
    wait_until(lambda: not store().get(record.id).active, "the training job")
    assert store().get(record.id).status == jobs.DONE, store().get(record.id).message
    return at.run()


@pytest.mark.slow
def test_train_a_tiny_ffn_see_curves_and_scores_then_save_activate_and_rerun(tones: dataset_choice.DatasetSpec) -> None:
    at = open_page(PAGE, tones)
    assert not at.exception and not at.error
    assert at.radio(key="train.family").value == bundle_info.FFN
    assert "parameters" in messages(at.markdown)
    assert "Training is deterministic" in messages(at.caption)

    at = train_once(at, "ffn_mfcc", epochs=1)
    assert not at.exception and not at.error, messages(at.error)
    assert "Training finished after 1 epoch(s)" in messages(at.success)
    assert "reproduces the shipped model" not in messages(at.info)
    figures = charts(at)
    curves = figures["train.final_curves"]
    assert [trace["name"] for trace in curves["data"]] == ["train", "validation"] * 2
    baselines = figures["train.baselines"]["data"][0]
    assert baselines["x"][0] == "ffn_mfcc" and 0.0 <= baselines["y"][0] <= 1.0
    metrics = at.dataframe[-1].value
    assert list(metrics["part"]) == ["train", "val", "test"] and metrics["accuracy"].between(0, 1).all()

    at.text_input(key="train.bundle_name").set_value("no spaces allowed")
    at.button(key="train.save").click().run()
    assert "may hold only letters" in messages(at.error)
    at.text_input(key="train.bundle_name").set_value("tiny-ffn")
    at.button(key="train.save").click().run()
    assert not at.exception and not at.error
    folder = paths.WORKSPACE_MODELS_DIR / "tiny-ffn"
    assert (folder / "bundle.json").is_file() and (folder / "model.keras").is_file()
    assert json.loads((folder / "bundle.json").read_text())["metrics"]["test"]["accuracy"] == pytest.approx(
        metrics["accuracy"].iloc[2])
    at.button(key="train.activate").click().run()
    assert at.session_state[common.BUNDLE_KEYS[bundle_info.FFN]] == str(folder.resolve())
    assert "active FFN model" in messages(at.caption)

    shutil.copytree(folder, paths.PRETRAINED_DIR / "shipped_tiny")  # as if it were shipped
    at = train_once(at, "ffn_mfcc", epochs=1)  # the same settings and seed again
    assert "reproduces the shipped model **shipped_tiny**" in messages(at.info)


@pytest.mark.slow
def test_a_reload_finds_the_running_job_and_cancel_ends_its_process(tones: dataset_choice.DatasetSpec) -> None:
    at = open_page(PAGE, tones)
    at.radio(key="train.family").set_value(bundle_info.CNN).run()
    assert at.selectbox(key="train.preset.CNN").value.name == "cnn_small"
    record = start_long_training(at, "cnn_small", batch_size=4)
    try:
        assert record.status == jobs.RUNNING and process_alive(record.pid)
        wait_until(lambda: len(train_job.live_state(store().events(record.id)).history.get("loss", [])) >= 2,
                   "two epochs")
        reloaded = open_page(PAGE, tones, query={common.USER_PARAM: at.session_state[common.USER_KEY]})
        assert not reloaded.exception
        (bar,) = reloaded.get("progress")
        assert bar.text.startswith("epoch")
        live = charts(reloaded)[f"train.live_curves.{record.id}"]
        assert len(live["data"][0]["y"]) >= 2  # the same job's curves, read back from its folder
        button_starting(reloaded, "train.cancel.").click().run()
        assert not process_alive(record.pid)  # the worker process is gone
    finally:
        common.job_manager().cancel(record.id)  # never leave a worker behind, even when an assertion fails
    assert store().get(record.id).status == jobs.CANCELLED
    reloaded.run()
    assert not reloaded.exception
    assert "was cancelled: its worker process was ended" in messages(reloaded.warning)


@pytest.mark.slow
def test_stop_keeps_the_model_trained_so_far(tones: dataset_choice.DatasetSpec) -> None:
    at = open_page(PAGE, tones)
    record = start_long_training(at, "ffn_mfcc", batch_size=1)
    try:
        wait_until(lambda: train_job.live_state(store().events(record.id)).history.get("loss"), "one epoch")
        at.run()
        button_starting(at, "train.stop.").click().run()
        wait_until(lambda: not store().get(record.id).active, "the stop")
    finally:
        common.job_manager().cancel(record.id)
    at.run()
    assert "Training stopped on request (model kept)" in messages(at.success)
    assert "train.save" in buttons(at)


@pytest.mark.slow
def test_splits_the_dataset_cannot_use_are_explained(tones: dataset_choice.DatasetSpec) -> None:
    at = open_page(PAGE, tones)
    at.radio(key="train.protocol").set_value("leaky").run()
    assert not at.exception
    assert "tested on songs it has already heard" in messages(at.warning)
    at.radio(key="train.protocol").set_value("artist-filtered").run()
    at.text_input(key="train.split_dir").set_value(str(Path(tones.location) / "missing")).run()
    assert "no such folder" in messages(at.error)  # a readable line, not a traceback
    assert not at.exception

    dataset, _ = audio_datasets.load_audio_folder(tones.location, TONE_CONFIG, cache_dir=paths.CACHE_DIR)
    demo = share_dataset(dataclasses.replace(dataset_choice.DatasetSpec(), config=TONE_CONFIG),
                         dataclasses.replace(dataset, synthetic=True))
    at = open_page(PAGE, demo)
    assert "artist-filtered" not in at.radio(key="train.protocol").options
    assert "the synthetic demo has no artists" in messages(at.caption)
    assert not at.error and "train.start" in buttons(at)


def test_recipe_settings_come_from_the_preset_and_reach_the_layer_table(tones: dataset_choice.DatasetSpec) -> None:
    binary = dataclasses.replace(tones, genres=("blues", "rock"))
    at = open_page(PAGE, binary)
    at.radio(key="train.family").set_value(bundle_info.CNN).run()
    assert at.selectbox(key="train.preset.CNN").value.name == "cnn_small"
    key = "train.cnn_small"
    assert at.text_input(key=f"{key}.filters").value == "4, 8, 16"
    assert "leaky_relu" in at.selectbox(key=f"{key}.activation").options
    assert f"{key}.momentum" not in [slider.key for slider in at.slider]  # Adam: no momentum
    at.selectbox(key=f"{key}.optimizer").set_value("sgd").run()
    assert at.slider(key=f"{key}.momentum").value == 0.0 and at.toggle(key=f"{key}.nesterov").disabled
    options = list(at.radio(key=f"{key}.output").options)  # offered for 2 genres
    assert len(options) == 2 and options[0].startswith("Softmax") and options[1].startswith("One sigmoid unit")
    at.radio(key=f"{key}.output").set_value("sigmoid").run()
    assert "1 sigmoid output" in messages(at.markdown)

    def total() -> int:
        line = next(item.value for item in at.markdown if "**cnn_small**, input" in item.value)
        return int(line.split(": **")[1].split(" parameters")[0].replace(",", ""))

    plain = total()
    at.toggle(key=f"{key}.batch_norm").set_value(True).run()
    with_norm = total()
    assert with_norm == plain + 4 * (4 + 8 + 16 + 50)  # 4 values per channel of every batch-normalised layer
    # the layer table (a finished job of an earlier test in this workspace may show its score tables too)
    layers = next(frame.value for frame in at.dataframe if "arithmetic" in frame.value.columns)
    conv = layers.set_index("layer").loc["block1_conv"]
    assert conv["arithmetic"] == "5×5×1×4 + 4" and conv["parameters"] == 104
    assert "Counting by hand" in messages(at.caption)
    at.text_input(key=f"{key}.dense").set_value("50, zero").run()
    assert "Dense layer sizes: '50, zero' is not a list of whole numbers" in messages(at.error)
    assert not at.exception and "train.start" not in buttons(at)


def zipped(folder: Path, prefix: str) -> bytes:
    """The files of ``folder`` in a zip, under ``prefix/``."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for file in sorted(folder.iterdir()):
            archive.write(file, f"{prefix}/{file.name}")
    return buffer.getvalue()


@pytest.mark.slow
def test_load_bundle_zips_good_damaged_and_foreign(tones: dataset_choice.DatasetSpec, workspace: Path) -> None:
    from genre_core import bundles, splits, train_config, training

    dataset, _ = audio_datasets.load_audio_folder(tones.location, TONE_CONFIG, cache_dir=paths.CACHE_DIR)
    result = training.train_model(dataset, splits.grouped_split(dataset), train_config.TrainConfig("ffn_mfcc", epochs=1))
    source = bundles.save_bundle(bundles.bundle_from_training(result, dataset, name="zipped"), workspace / "zipped")

    at = open_page(PAGE, tones)
    at.radio(key="train.load_source").set_value("Upload a zip").run()
    at.file_uploader(key="train.bundle_zip").set_value(("zipped.zip", zipped(source, "zipped"), "application/zip"))
    at.run()
    assert not at.exception and not at.error, messages(at.error)
    assert "**zipped** (FFN, preset `ffn_mfcc`" in messages(at.markdown)
    assert "It can score the active dataset" in messages(at.caption)
    assert not at.button(key="train.keep").disabled and "train.uploaded.activate" not in buttons(at)
    at.text_input(key="train.keep_name").set_value("kept")
    at.button(key="train.keep").click().run()
    kept = paths.WORKSPACE_MODELS_DIR / "kept"
    assert bundles.load_bundle(kept).name == "kept" and bundles.load_bundle(kept).class_names == dataset.class_names
    at.button(key="train.kept.activate").click().run()
    assert at.session_state[common.BUNDLE_KEYS[bundle_info.FFN]] == str(kept.resolve())
    at.radio(key="train.load_source").set_value("Shipped or workspace models").run()
    assert "kept (workspace)" in at.selectbox(key="train.load_pick").options
    at.radio(key="train.load_source").set_value("Upload a zip").run()

    damaged = workspace / "damaged"
    damaged.mkdir()
    (damaged / "bundle.json").write_text((source / "bundle.json").read_text())
    (damaged / "model.keras").write_bytes(b"not a keras file")
    foreign = workspace / "foreign"
    foreign.mkdir()
    (foreign / "notes.txt").write_text("no model here")
    for name, content, reason in [
        ("damaged.zip", zipped(damaged, "damaged"), "cannot be loaded safely"),
        ("foreign.zip", zipped(foreign, "foreign"), "not a model bundle zip"),
        ("fake.zip", b"plain bytes", "not a zip archive"),
    ]:
        at.file_uploader(key="train.bundle_zip").set_value((name, content, "application/zip"))
        at.run()
        assert not at.exception
        assert reason in messages(at.error), name


@pytest.mark.slow
def test_train_on_the_real_gtzan_table_with_an_artist_filtered_fold(
    gtzan_csv: Path, sturm_split_dir: Path, workspace: Path
) -> None:
    at = open_page(PAGE, dataset_choice.DatasetSpec(dataset_choice.CSV, str(gtzan_csv)))
    at.radio(key="train.family").set_value(bundle_info.CNN).run()
    assert "none of which a CNN preset eats" in messages(at.info)  # the table holds summary features only
    at.radio(key="train.family").set_value(bundle_info.FFN).run()
    at.radio(key="train.protocol").set_value("artist-filtered").run()
    at.text_input(key="train.split_dir").set_value(str(sturm_split_dir)).run()
    assert not at.exception and not at.error, messages(at.error)
    parts = at.dataframe[0].value
    assert parts["tracks"].sum() < 1000  # duplicates and distorted excerpts are left out by the split

    at = train_once(at, "ffn_mfcc", epochs=1)
    assert not at.exception and not at.error, messages(at.error)
    figures = charts(at)
    model, *_ = figures["train.baselines"]["data"][0]["y"]
    assert 0.1 < model <= 1.0  # one epoch on the real table already beats the 10 % chance level
    assert "train.final_curves" in figures
    assert np.isclose(figures["train.baselines"]["layout"]["shapes"][0]["y0"], 0.1)


@pytest.mark.slow
def test_a_cold_demo_opens_train_with_log_mel_and_mfcc_and_the_summary_follows_in_the_background(
        workspace: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A first use on the Train page: the 1-track demo generated, log-mel and MFCC extracted (CNN and MFCC presets at
    once) and a note on the summary features coming; once the background read is done, every kind is there, from
    the feature cache, and so are the summary presets."""
    monkeypatch.setenv(dataset_choice.DEMO_TRACKS_ENV, "1")
    spec = dataset_choice.DatasetSpec()
    assert dataset_choice.first_use_kinds(spec) == dataset_choice.FIRST_USE_KINDS
    at = open_page(PAGE, spec)
    assert not at.exception, messages(at.exception)
    assert "summary features are being extracted in the background" in messages(at.info)
    ffn_presets = at.selectbox(key=f"train.preset.{bundle_info.FFN}").options
    assert ffn_presets and all(option.endswith("(mfcc)") for option in ffn_presets)
    assert "train.start" in buttons(at)

    common._shared_datasets().wait_for_completion(dataset_choice.dataset_key(spec))
    at.run()
    assert not at.exception, messages(at.exception)
    assert "being extracted in the background" not in messages(at.info)
    assert any(option.endswith("(summary)") for option in at.selectbox(key=f"train.preset.{bundle_info.FFN}").options)
    assert dataset_choice.first_use_kinds(spec) is None  # every kind is in the usual cache now

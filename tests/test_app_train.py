"""The Train page driven through its widgets with AppTest: train a 1-epoch model (on generated tones and on the
real Kaggle GTZAN table), see the curves and scores, cancel a run, save and activate the bundle, and load
bundles from uploaded zips (a good one, a damaged one, one that is not a bundle)."""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path

import numpy as np
import pytest
from helpers import TIMEOUT_S, TONE_CONFIG, charts, make_tone_folder, messages, open_page
from streamlit.testing.v1 import AppTest

from genre_core import paths
from pages import common

PAGE = "pages/train.py"


def buttons(at: AppTest) -> list[str]:
    return [button.key for button in at.button]


@pytest.fixture(autouse=True)
def streamlit_cleanup_restored(monkeypatch: pytest.MonkeyPatch) -> None:
    """app.py replaces Streamlit's after-run clean-up process-wide; put it back after each test."""
    from streamlit.runtime.scriptrunner import script_runner

    monkeypatch.setattr(script_runner, "_clean_problem_modules", script_runner._clean_problem_modules)


@pytest.fixture(scope="module")
def tones(workspace: Path) -> common.DatasetSpec:
    return common.DatasetSpec(common.FOLDER, str(make_tone_folder(workspace / "tones")), None, TONE_CONFIG)


def train_once(at: AppTest, preset: str, **numbers: float) -> AppTest:
    """Set ``numbers`` (widget key suffix -> value) of ``preset``, press Train and wait for the job."""
    for name, value in numbers.items():
        at.number_input(key=f"train.{preset}.{name}").set_value(value)
    at.button(key="train.start").click().run()
    assert not at.exception
    job = at.session_state["train.job"]
    job.thread.join(TIMEOUT_S)
    assert not job.thread.is_alive()
    return at.run()


@pytest.mark.slow
def test_train_a_tiny_ffn_see_curves_and_scores_then_save_and_activate(tones: common.DatasetSpec) -> None:
    at = open_page(PAGE, tones)
    assert not at.exception and not at.error
    assert at.radio(key="train.family").value == common.FFN
    assert "parameters" in messages(at.markdown)

    at = train_once(at, "ffn_mfcc", epochs=1)
    assert not at.exception and not at.error, messages(at.error)
    assert "Training finished after 1 epoch(s)" in messages(at.success)
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
    assert at.session_state[common.BUNDLE_KEYS[common.FFN]] == str(folder.resolve())
    assert "active FFN model" in messages(at.caption)


@pytest.mark.slow
def test_cancel_stops_a_long_cnn_training(tones: common.DatasetSpec, monkeypatch: pytest.MonkeyPatch) -> None:
    import keras
    from streamlit.runtime.scriptrunner import script_runner

    at = open_page(PAGE, tones)
    at.radio(key="train.family").set_value(common.CNN).run()
    assert at.selectbox(key="train.preset.CNN").value.name == "cnn_small"
    at.toggle(key="train.cnn_small.early").set_value(False)
    at.number_input(key="train.cnn_small.epochs").set_value(500)
    at.number_input(key="train.cnn_small.batch").set_value(4)
    at.button(key="train.start").click().run()
    job = at.session_state["train.job"]
    try:
        assert job.active and at.button(key="train.start").disabled
        cleared = []
        monkeypatch.setattr(keras.backend, "clear_session", lambda *args, **kwargs: cleared.append(args))
        script_runner._clean_problem_modules()  # what Streamlit runs after every script run of every session
        assert not cleared  # it must not reset Keras under a running training
        at.run()  # the progress fragment polls while the thread trains
        (bar,) = at.get("progress")
        assert bar.text.startswith(("epoch", "Preparing"))
        at.button(key="train.cancel").click().run()
        assert job.cancel_requested.is_set()
    finally:
        job.cancel_requested.set()  # never leave a training thread behind, even when an assertion fails
        job.thread.join(TIMEOUT_S)
    at.run()
    assert not at.exception
    assert job.cancelled and job.epochs_run < 500
    assert "Training cancelled" in messages(at.success)


@pytest.mark.slow
def test_leaky_split_is_explained_before_training(tones: common.DatasetSpec) -> None:
    at = open_page(PAGE, tones)
    at.radio(key="train.protocol").set_value("leaky").run()
    assert not at.exception
    assert "tested on songs it has already heard" in messages(at.warning)
    at.radio(key="train.protocol").set_value("artist-filtered").run()
    at.text_input(key="train.split_dir").set_value(str(Path(tones.location) / "missing")).run()
    assert "no such folder" in messages(at.error)  # a readable line, not a traceback
    assert not at.exception


def zipped(folder: Path, prefix: str) -> bytes:
    """The files of ``folder`` in a zip, under ``prefix/``."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for file in sorted(folder.iterdir()):
            archive.write(file, f"{prefix}/{file.name}")
    return buffer.getvalue()


@pytest.mark.slow
def test_load_bundle_zips_good_damaged_and_foreign(tones: common.DatasetSpec, workspace: Path) -> None:
    from genre_core import bundles, datasets, splits, training

    dataset, _ = datasets.load_audio_folder(tones.location, TONE_CONFIG, cache_dir=paths.CACHE_DIR)
    result = training.train_model(dataset, splits.grouped_split(dataset), training.TrainConfig("ffn_mfcc", epochs=1))
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
    assert at.session_state[common.BUNDLE_KEYS[common.FFN]] == str(kept.resolve())
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
    at = open_page(PAGE, common.DatasetSpec(common.CSV, str(gtzan_csv)))
    at.radio(key="train.family").set_value(common.CNN).run()
    assert "none of which a CNN preset eats" in messages(at.info)  # the table holds summary features only
    at.radio(key="train.family").set_value(common.FFN).run()
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

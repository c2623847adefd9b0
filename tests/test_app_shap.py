"""AppTest of the SHAP page (pages/shap_page.py): the force plot and waterfall of one segment, the global views,
an uploaded song (through AppTest's file uploader), and the messages for a missing or unsuitable FFN."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from helpers import (
    TONE_CONFIG,
    active_bundle,
    charts,
    open_page,
    plotly_array,
    share_dataset,
    train_saved_bundle,
    wav_bytes,
    write_tone_genres,
)
from streamlit.testing.v1 import AppTest

from genre_core import audio_datasets, bundle_info, dataset_choice, paths, prediction, splits, table_datasets
from genre_core.config import MFCC, SUMMARY
from genre_core.dataset import Dataset

TONE_FFN = {"hidden": [16], "dropout": 0.0}


@pytest.fixture(scope="module")
def tone_ffn(workspace: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[dataset_choice.DatasetSpec, Dataset, Path]:
    """The summary features of the tone genres, shared with the app, and an FFN bundle trained on them."""
    root = write_tone_genres(tmp_path_factory.mktemp("tones"))
    dataset, _ = audio_datasets.load_audio_folder(root, TONE_CONFIG, kinds=[SUMMARY, MFCC], n_jobs=2, cache_dir=None)
    folder = train_saved_bundle(dataset, "ffn_mfcc", paths.WORKSPACE_MODELS_DIR / "tone-ffn", TONE_FFN)
    spec = dataset_choice.DatasetSpec(kind=dataset_choice.FOLDER, location=str(root), config=TONE_CONFIG)
    return share_dataset(spec, dataset), dataset, folder


def shap_page(spec: dataset_choice.DatasetSpec, bundle_folder: Path | None) -> AppTest:
    return open_page("pages/shap_page.py", spec, **active_bundle(bundle_info.FFN, bundle_folder))


def waterfall_total(app: AppTest) -> tuple[float, str]:
    """The waterfall's end value (base + all steps) and its title."""
    figure = charts(app)["shap.waterfall"]
    steps = plotly_array(figure["data"][0]["x"])
    return float(figure["data"][0]["base"] + steps.sum()), figure["layout"]["title"]["text"]


@pytest.mark.slow
def test_force_plot_and_waterfall_explain_the_chosen_segment(tone_ffn) -> None:
    from genre_core import bundles

    spec, dataset, bundle_folder = tone_ffn
    app = shap_page(spec, bundle_folder)
    assert not app.exception

    track = app.selectbox(key="shap.track").value
    assert track == "high.00004"  # the first track of the test part
    row = int(np.flatnonzero(dataset.track_ids == track)[0])
    logits = bundles.load_bundle(bundle_folder).predict_logits(dataset.features[SUMMARY][[row]])[0]
    predicted = int(np.argmax(logits))
    assert app.selectbox(key=f"shap.class.row{row}").value == predicted

    frames = app.get("iframe")
    assert len(frames) == 1
    document = frames[0].proto.srcdoc
    assert "AdditiveForceVisualizer" in document and f"{dataset.class_names[predicted]} (logit)" in document
    assert [button.proto.label for button in app.get("download_button")] == ["Download the force plot (PNG)"]
    total, title = waterfall_total(app)
    assert total == pytest.approx(float(logits[predicted]), abs=1e-3)  # SHAP values add up to the logit
    assert f"'{dataset.class_names[predicted]}'" in title

    other = 1 - predicted
    app.selectbox(key=f"shap.class.row{row}").set_value(other).run()
    assert not app.exception
    total, title = waterfall_total(app)
    assert total == pytest.approx(float(logits[other]), abs=1e-3) and f"'{dataset.class_names[other]}'" in title


@pytest.mark.slow
def test_another_bundle_explains_and_scores_the_same_segment_afresh(tone_ffn) -> None:
    from genre_core import bundles

    spec, dataset, first = tone_ffn
    second = train_saved_bundle(dataset, "ffn_mfcc", paths.WORKSPACE_MODELS_DIR / "tone-ffn-wide",
                                {"hidden": [24], "dropout": 0.0}, epochs=1)
    row = int(np.flatnonzero(dataset.track_ids == "high.00004")[0])
    shown = []
    for folder in (first, second):
        app = shap_page(spec, folder)
        assert not app.exception
        bundle = bundles.load_bundle(folder)
        logits = bundle.predict_logits(dataset.features[SUMMARY][[row]])[0]
        probabilities = bundle.predict_proba(dataset.features[SUMMARY][[row]])[0]
        predicted = int(np.argmax(logits))
        assert waterfall_total(app)[0] == pytest.approx(float(logits[predicted]), abs=1e-3)
        assert any(f"(p = {probabilities[predicted]:.2f})" in item.value for item in app.markdown)
        shown.append(float(logits[predicted]))
    assert shown[0] != pytest.approx(shown[1], abs=1e-3)


@pytest.mark.slow
def test_global_views_rank_features_over_the_chosen_rows(tone_ffn) -> None:
    spec, dataset, bundle_folder = tone_ffn
    app = shap_page(spec, bundle_folder)
    app.selectbox(key="shap.global_part").set_value("all")
    app.toggle(key="shap.global").set_value(True).run()
    assert not app.exception

    features = charts(app)["shap.global_features"]
    assert len(plotly_array(features["data"][0]["x"])) == 20
    assert "summed over classes" in features["layout"]["title"]["text"]
    families = charts(app)["shap.global_families"]
    assert len(plotly_array(families["data"][0]["x"])) == 6
    assert "shap.beeswarm" not in charts(app)

    app.selectbox(key="shap.global_class").set_value(1).run()
    assert not app.exception
    swarm = charts(app)["shap.beeswarm"]
    assert len(plotly_array(swarm["data"][0]["x"])) == len(dataset) * 20  # one point per row and shown feature
    assert f"'{dataset.class_names[1]}'" in swarm["layout"]["title"]["text"]


@pytest.mark.slow
def test_an_uploaded_song_is_explained_window_by_window(tone_ffn) -> None:
    from genre_core import bundles

    spec, dataset, bundle_folder = tone_ffn
    rate = TONE_CONFIG.sample_rate
    song = wav_bytes(np.random.default_rng(5).uniform(-0.3, 0.3, 6 * rate), rate)
    app = shap_page(spec, bundle_folder)
    app.radio(key="shap.source").set_value("upload").run()
    assert not app.exception and not app.get("iframe")
    assert any("Upload a song" in info.value for info in app.info)

    app.file_uploader(key="shap.upload").set_value(("song.wav", song, "audio/wav")).run()
    assert not app.exception
    expected = prediction.predict_file(bundles.load_bundle(bundle_folder), song, name="song.wav")
    np.testing.assert_allclose(app.session_state["shap.song"]["rows"], expected.features)
    windows = [box for box in app.selectbox if box.key and box.key.startswith("shap.window.")]
    assert len(windows) == 1 and windows[0].options == ["0–2 s", "2–4 s", "4–6 s"]
    windows[0].set_value(2).run()
    assert not app.exception
    assert len(app.get("iframe")) == 1
    total, title = waterfall_total(app)
    predicted = int(np.argmax(expected.segment_probabilities[2]))
    assert "song.wav, 4–6 s" in title and f"'{dataset.class_names[predicted]}'" in title
    logits = bundles.load_bundle(bundle_folder).predict_logits(expected.features[2:3])[0]
    assert total == pytest.approx(float(logits[predicted]), abs=1e-3)


@pytest.mark.slow
def test_a_missing_or_non_summary_ffn_gives_a_readable_message(tone_ffn) -> None:
    spec, dataset, _ = tone_ffn
    without = shap_page(spec, None)
    assert not without.exception
    assert any("No FFN model is active" in info.value for info in without.info)

    mfcc_folder = train_saved_bundle(dataset, "mlp_mfcc_seq", paths.WORKSPACE_MODELS_DIR / "tone-mfcc", TONE_FFN)
    mfcc = shap_page(spec, mfcc_folder)
    assert not mfcc.exception
    assert any("reads mfcc features" in info.value for info in mfcc.info)
    assert not mfcc.get("iframe")


@pytest.mark.slow
def test_shap_on_two_genres_of_the_kaggle_table(workspace: Path, gtzan_csv: Path) -> None:
    dataset = table_datasets.load_kaggle_csv(gtzan_csv, genres=["classical", "metal"])
    split = splits.grouped_split(dataset, val_fraction=0.0, test_fraction=0.3)
    folder = paths.WORKSPACE_MODELS_DIR / "kaggle-ffn"
    train_saved_bundle(dataset, "ffn_mfcc", folder, TONE_FFN, split, epochs=3)
    spec = dataset_choice.DatasetSpec(kind=dataset_choice.CSV, location=str(gtzan_csv), genres=("classical", "metal"))

    app = shap_page(spec, folder)
    assert not app.exception
    assert len(app.get("iframe")) == 1
    assert any("100 of the 140 segments the model was trained on" in caption.value for caption in app.caption)
    total, _ = waterfall_total(app)
    assert np.isfinite(total)

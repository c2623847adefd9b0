"""AppTest of the Browse & Grad-CAM page (pages/browse.py): the gallery of right and wrong segments, choosing one,
its Grad-CAM views and trust checks, and the messages for a missing or unfitting CNN."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from helpers import (
    TONE_CNN,
    TONE_CONFIG,
    active_bundle,
    charts,
    open_page,
    plotly_array,
    share_dataset,
    train_saved_bundle,
    write_tone_genres,
)
from streamlit.testing.v1 import AppTest

from genre_core import audio_datasets, bundle_info, dataset_choice, paths, splits
from genre_core.config import LOG_MEL, FeatureConfig
from genre_core.dataset import Dataset, select_classes
from genre_core.explain import views


def prepared_app(root: Path, config: FeatureConfig, folder: Path, preset_hyper: dict, *,
                 genres: tuple[str, ...] | None = None, real: bool = False) -> tuple[dataset_choice.DatasetSpec, Dataset, Path]:
    """The log-mel dataset of ``root`` shared with the app, and a CNN bundle trained on it: on the tone split,
    or for ``real`` data briefly on a grouped split."""
    dataset, _ = audio_datasets.load_audio_folder(root, config, genres=genres, kinds=[LOG_MEL], n_jobs=2, cache_dir=None)
    if real:
        split = splits.grouped_split(dataset, val_fraction=0.0, test_fraction=0.3)
        bundle_folder = train_saved_bundle(dataset, "cnn_small", folder, preset_hyper, split, epochs=2)
    else:
        bundle_folder = train_saved_bundle(dataset, "cnn_small", folder, preset_hyper)
    spec = dataset_choice.DatasetSpec(kind=dataset_choice.FOLDER, location=str(root), genres=genres, config=config)
    return share_dataset(spec, dataset), dataset, bundle_folder


@pytest.fixture(scope="module")
def tone_app(workspace: Path, tmp_path_factory: pytest.TempPathFactory):
    root = write_tone_genres(tmp_path_factory.mktemp("tones"))
    return prepared_app(root, TONE_CONFIG, paths.WORKSPACE_MODELS_DIR / "tone-cnn", TONE_CNN)


def browse(spec: dataset_choice.DatasetSpec, bundle_folder: Path | None) -> AppTest:
    return open_page("pages/browse.py", spec, **active_bundle(bundle_info.CNN, bundle_folder))


def expected_examples(dataset: Dataset, bundle_folder: Path, genre: str, part: str = "test") -> dict:
    from genre_core import bundles

    bundle = bundles.load_bundle(bundle_folder)
    rows = views.split_rows_from_description(dataset, bundle.split_description, part)
    return views.examples_of_rows(dataset, rows, views.dataset_probabilities(bundle, dataset, rows))[genre]


def card_keys(app: AppTest) -> set[str]:
    return {button.key for button in app.button if button.key and button.key.startswith("browse.pick.")}


@pytest.mark.slow
def test_gallery_shows_the_right_and_wrong_segments_of_the_chosen_genre(tone_app) -> None:
    spec, dataset, bundle_folder = tone_app
    expected = expected_examples(dataset, bundle_folder, "low")
    assert expected["right"] and expected["wrong"], "the tone CNN should get low.00003 right and low.00004 wrong"

    app = browse(spec, bundle_folder)
    assert not app.exception
    app.selectbox(key="browse.genre").select("low").run()

    assert not app.exception
    wanted = {f"browse.pick.{kind}.{item.row}" for kind in ("right", "wrong") for item in expected[kind]}
    assert card_keys(app) == wanted
    assert len(app.get("audio")) == len(wanted)
    shown_text = " ".join(markdown.value for markdown in app.markdown)
    assert all(item.track_id in shown_text for item in expected["wrong"])
    assert any("Click **Explain**" in info.value for info in app.info)

    app.radio(key="browse.ordering").set_value("hardest first").run()
    hardest = {f"browse.pick.{kind}.{item.row}" for kind in ("least_confident_right", "most_confident_wrong")
               for item in expected[kind]}
    assert card_keys(app) == hardest


def test_browse_opens_on_the_genre_with_the_most_wrong_answers(tone_app) -> None:
    spec, dataset, bundle_folder = tone_app
    wrong = {genre: len(expected_examples(dataset, bundle_folder, genre)["wrong"]) for genre in dataset.class_names}
    most = max(dataset.class_names, key=lambda genre: (wrong[genre], -dataset.class_names.index(genre)))
    assert wrong[most] > 0 and wrong[dataset.class_names[0]] < wrong[most], wrong  # the first genre would be wrong

    app = browse(spec, bundle_folder)
    assert not app.exception
    assert app.selectbox(key="browse.genre").value == most
    assert card_keys(app) >= {f"browse.pick.wrong.{item.row}" for item in expected_examples(dataset, bundle_folder,
                                                                                             most)["wrong"]}


def thumbnails(app: AppTest) -> dict[int, np.ndarray]:
    """The log-mel values each card's thumbnail draws, by dataset row."""
    return {int(key.rsplit(".", 1)[1]): plotly_array(figure["data"][0]["z"])
            for key, figure in charts(app).items() if key.startswith("browse.thumb.")}


@pytest.mark.slow
def test_card_thumbnails_are_drawn_again_when_the_tracks_change(tone_app, tmp_path: Path) -> None:
    _, _, bundle_folder = tone_app
    root = Path(shutil.copytree(tone_app[0].location, tmp_path / "tones"))
    spec = dataset_choice.DatasetSpec(kind=dataset_choice.FOLDER, location=str(root), config=TONE_CONFIG)
    seen = []
    for _ in range(2):
        dataset, _ = audio_datasets.load_audio_folder(root, TONE_CONFIG, kinds=[LOG_MEL], cache_dir=None)
        share_dataset(spec, dataset)
        shown = thumbnails(browse(spec, bundle_folder))
        assert shown and all(np.allclose(z, dataset.features[LOG_MEL][row]) for row, z in shown.items())
        seen.append(shown)
        for track in root.glob("*/*.wav"):  # the same tracks 6 dB quieter: new values under the same rows
            samples, rate = sf.read(track)
            sf.write(track, samples / 2, rate)
    assert any(not np.allclose(seen[0][row], seen[1][row]) for row in seen[0].keys() & seen[1].keys())


@pytest.mark.slow
def test_explaining_a_card_shows_grad_cam_and_the_trust_checks(tone_app) -> None:
    spec, dataset, bundle_folder = tone_app
    wrong = expected_examples(dataset, bundle_folder, "low")["wrong"][0]
    app = browse(spec, bundle_folder)
    app.selectbox(key="browse.genre").select("low").run()

    app.button(key=f"browse.pick.wrong.{wrong.row}").click().run()
    assert not app.exception
    assert app.session_state["browse.selected"] == {"row": wrong.row, "track_id": wrong.track_id}
    assert any(wrong.track_id in header.value for header in app.header)
    overlay = charts(app)["browse.gradcam"]
    assert [trace["name"] for trace in overlay["data"]] == ["log-mel", "Grad-CAM"]
    assert app.selectbox(key="browse.layer").value == "block2_conv"
    assert app.selectbox(key=f"browse.class.{wrong.row}").value == dataset.class_names.index(wrong.predicted_class)
    assert {"browse.gradcam_pp", "browse.saliency", "browse.band_profile", "browse.time_profile"} <= set(charts(app))

    players = len(app.get("audio"))
    app.toggle(key="browse.listen").set_value(True)
    app.toggle(key="browse.trust").set_value(True).run()
    assert not app.exception
    assert len(app.get("audio")) == players + 2
    steps = charts(app)["browse.randomisation"]["data"][0]
    assert steps["x"][0] == "none (trained model)" and steps["y"][0] == pytest.approx(1.0)
    assert len(charts(app)["browse.deletion"]["data"]) == 2


@pytest.mark.slow
def test_a_missing_or_unfitting_cnn_gives_a_readable_message(tone_app) -> None:
    spec, dataset, bundle_folder = tone_app

    without = browse(spec, None)
    assert not without.exception
    assert any("No CNN model is active" in info.value for info in without.info)

    one_genre = dataset_choice.DatasetSpec(kind=spec.kind, location=spec.location, genres=("low",), config=spec.config)
    share_dataset(one_genre, select_classes(dataset, ["low"]))
    unfitting = browse(one_genre, bundle_folder)
    assert not unfitting.exception
    messages = [error.value for error in unfitting.error]
    assert any("does not fit the active dataset" in message and "classes" in message for message in messages)
    assert not card_keys(unfitting)


@pytest.mark.slow
def test_browse_on_two_real_gtzan_genres(workspace: Path, gtzan_mini: Path) -> None:
    folder = paths.WORKSPACE_MODELS_DIR / "gtzan-cnn"
    spec, dataset, bundle_folder = prepared_app(gtzan_mini, FeatureConfig(), folder, {}, genres=("classical", "metal"),
                                                real=True)
    app = browse(spec, bundle_folder)
    assert not app.exception
    keys = sorted(card_keys(app))
    assert keys, "the test part of two real genres should give example cards"

    app.button(key=keys[0]).click().run()
    assert not app.exception
    overlay = charts(app)["browse.gradcam"]
    assert overlay["data"][1]["name"] == "Grad-CAM" and overlay["data"][1]["z"]["shape"] == "128, 130"

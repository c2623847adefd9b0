"""The Evaluate page with AppTest: scores of the active FFN and CNN on generated tones (tables, confusion
matrices counted and normalised, baselines, segment vs track), two bundles side by side, a model that does not
fit the dataset, a leaky model, and the real Kaggle GTZAN table with its artist-filtered split and the
leakage comparison."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from helpers import (
    TONE_CONFIG,
    active_bundle,
    charts,
    make_tone_folder,
    messages,
    open_page,
    plotly_array,
)

from genre_core import audio_datasets, bundle_info, dataset_choice, paths, table_datasets
from genre_core.dataset import Dataset, select_classes
from pages import common

PAGE = "pages/evaluate.py"


def train_bundle(dataset: Dataset, preset: str, name: str, protocol: str = "grouped", **split_options: object) -> str:
    """Train ``preset`` for one epoch on ``dataset`` and save it in the workspace; returns its folder."""
    from genre_core import bundles, splits, train_config, training

    split = splits.make_split(dataset, protocol, **split_options)
    result = training.train_model(dataset, split, train_config.TrainConfig(preset, epochs=1, batch_size=8))
    bundle = bundles.bundle_from_training(result, dataset, name=name)
    return str(bundles.save_bundle(bundle, paths.WORKSPACE_MODELS_DIR / name).resolve())


@pytest.fixture(scope="module")
def tones(workspace: Path) -> dataset_choice.DatasetSpec:
    return dataset_choice.DatasetSpec(dataset_choice.FOLDER, str(make_tone_folder(workspace / "tones", tracks_per_genre=4)), None,
                              TONE_CONFIG)


@pytest.fixture(scope="module")
def tone_bundles(tones: dataset_choice.DatasetSpec) -> dict[str, str]:
    """Folders of an FFN, a CNN, a leaky FFN (all on the tones) and an FFN on two of the three genres."""
    dataset, _ = audio_datasets.load_audio_folder(tones.location, TONE_CONFIG, cache_dir=paths.CACHE_DIR)
    return {
        "ffn": train_bundle(dataset, "ffn_mfcc", "ffn-tones"),
        "cnn": train_bundle(dataset, "cnn_small", "cnn-tones"),
        "leaky": train_bundle(dataset, "ffn_mfcc", "ffn-leaky", "leaky", seed=3),
        "two_genres": train_bundle(select_classes(dataset, ["blues", "jazz"]), "ffn_mfcc", "ffn-two"),
    }


def with_models(ffn: str | None, cnn: str | None) -> dict[str, str | None]:
    return {**active_bundle(bundle_info.FFN, ffn), **active_bundle(bundle_info.CNN, cnn)}


@pytest.mark.slow
def test_active_ffn_and_cnn_are_scored_with_confusions_baselines_and_track_level(
    tones: dataset_choice.DatasetSpec, tone_bundles: dict[str, str]
) -> None:
    at = open_page(PAGE, tones, **with_models(tone_bundles["ffn"], tone_bundles["cnn"]))
    assert not at.exception and not at.error, messages(at.error)
    figures = charts(at)
    for role in (bundle_info.FFN, bundle_info.CNN):
        confusion = figures[f"evaluate.{role}.confusion"]["data"][0]
        assert confusion["type"] == "heatmap" and list(confusion["y"]) == ["blues", "jazz", "rock"]
        assert plotly_array(confusion["z"]).sum() == 6  # the stored split's test part: 3 tracks of 2 windows
        names = figures[f"evaluate.{role}.baselines"]["data"][0]["x"]
        assert list(names[1:]) == ["majority class", "logistic regression", "RBF SVM"]
        levels = figures[f"evaluate.{role}.levels"]["data"]
        assert levels[0]["name"] == "per segment"
        assert f"evaluate.{role}.per_class" in figures
    tables = [frame.value for frame in at.dataframe]
    metrics = next(table for table in tables if "macro_f1" in table and "part" in table)
    assert list(metrics["part"]) == ["train", "val", "test"] and list(metrics["tracks"]) == [6, 3, 3]
    assert any("classifier" in table and "logistic regression" in set(table["classifier"]) for table in tables)
    for frame in at.dataframe:  # human headers, each column wide enough for its whole header
        columns = json.loads(frame.proto.columns)
        for name in frame.value.columns:
            label, width = columns[name]["label"], columns[name]["width"]
            assert "_" not in label and width >= 7 * len(label), (name, label, width)

    at.toggle(key=f"evaluate.{bundle_info.FFN}.normalised").set_value(True)
    at.radio(key=f"evaluate.{bundle_info.FFN}.part").set_value("train").run()
    assert not at.exception
    confusion = charts(at)[f"evaluate.{bundle_info.FFN}.confusion"]["data"][0]
    assert np.allclose(plotly_array(confusion["z"]).sum(axis=1), 1.0) and confusion["text"][0][0].endswith("%")

    at.radio(key="evaluate.split").set_value("grouped").run()
    at.number_input(key="evaluate.seed").set_value(5).run()
    assert not at.exception
    assert "test tracks were in the model's training part" in messages(at.warning)  # a new split is not honest


@pytest.mark.slow
def test_track_level_confusion_lists_a_cells_songs_and_opens_one_in_browse(
    tones: dataset_choice.DatasetSpec, tone_bundles: dict[str, str]
) -> None:
    key = f"evaluate.{bundle_info.CNN}"
    at = open_page(PAGE, tones, **with_models(None, tone_bundles["cnn"]))
    at.radio(key=f"{key}.level").set_value("mean_probability").run()
    assert not at.exception and not at.error, messages(at.error)
    confusion, cells = charts(at)[f"{key}.confusion"]["data"]
    counts = plotly_array(confusion["z"])
    assert counts.sum() == 3 and cells["type"] == "scatter" and len(cells["x"]) == 9  # 3 test tracks, clickable
    per_class = next(frame.value for frame in at.dataframe if "class" in frame.value and "f1" in frame.value)
    assert list(per_class["class"])[-2:] == ["macro average", "weighted average"]
    assert list(per_class["support"])[-1] == 3
    true_index, predicted_index = np.argwhere(counts > 0)[0]
    genres = ["blues", "jazz", "rock"]
    at.selectbox(key=f"{key}.cell_true").set_value(genres[true_index])
    at.selectbox(key=f"{key}.cell_predicted").set_value(genres[predicted_index]).run()
    assert not at.exception
    listed = next(frame.value for frame in at.dataframe if "track" in frame.value)
    assert len(listed) == counts[true_index, predicted_index]
    assert all(track.startswith(genres[true_index]) for track in listed["track"])
    at.button(key=f"{key}.open_in_browse").click().run()
    assert not at.exception
    assert at.session_state[common.BROWSE_SELECTED_KEY]["track_id"] == listed["track"][0]
    assert at.session_state[common.BROWSE_GENRE_KEY] == genres[true_index]
    assert at.session_state[common.BROWSE_PART_KEY] == "test"
    assert any(title.value == "Browse & Grad-CAM" for title in at.title)


@pytest.mark.slow
def test_a_model_trained_on_other_tracks_is_scored_on_a_new_grouped_split(
    tones: dataset_choice.DatasetSpec, tone_bundles: dict[str, str], workspace: Path
) -> None:
    elsewhere = Path(shutil.copytree(tone_bundles["ffn"], workspace / "elsewhere"))  # not among the listed bundles
    metadata = json.loads((elsewhere / "bundle.json").read_text())
    metadata["name"] = "ffn-elsewhere"
    metadata["split"]["track_ids"] = {part: [f"{part}.00099"] for part in ("train", "val", "test")}
    (elsewhere / "bundle.json").write_text(json.dumps(metadata))
    at = open_page(PAGE, tones, **with_models(str(elsewhere), None))
    assert not at.exception and not at.error, messages(at.error)
    assert "holds none of the model's test tracks" in messages(at.info)
    assert "grouped" in messages(at.caption)  # scored anyway, on a new track-level split
    assert f"evaluate.{bundle_info.FFN}.confusion" in charts(at)


@pytest.mark.slow
def test_evaluate_page_inside_the_app_navigation(tones: dataset_choice.DatasetSpec, tone_bundles: dict[str, str]) -> None:
    at = open_page(PAGE, tones, **active_bundle(bundle_info.CNN, tone_bundles["cnn"]))
    assert not at.exception and not at.error, messages(at.error)
    assert at.title[0].value == "Evaluate"
    assert f"evaluate.{bundle_info.CNN}.confusion" in charts(at)


@pytest.mark.slow
def test_two_bundles_side_by_side_and_readable_mismatch_and_leakage_messages(
    tones: dataset_choice.DatasetSpec, tone_bundles: dict[str, str]
) -> None:
    at = open_page(PAGE, tones, **with_models(tone_bundles["two_genres"], None))
    assert not at.exception
    assert "cannot score the active dataset" in messages(at.error)
    assert "ffn-tones" in messages(at.error)  # it suggests the bundles that fit

    at.radio(key="evaluate.mode").set_value("pair").run()
    options = at.selectbox(key="evaluate.left").options
    assert len(options) == 3 and not any("ffn-two" in option for option in options)  # only fitting bundles
    at.selectbox(key="evaluate.left").set_value(tone_bundles["leaky"]).run()
    at.selectbox(key="evaluate.right").set_value(tone_bundles["cnn"]).run()
    assert not at.exception
    assert {"evaluate.left.confusion", "evaluate.right.confusion"} <= set(charts(at))
    assert "Leaky split" in messages(at.error)


@pytest.mark.slow
def test_real_gtzan_table_with_its_artist_filtered_split_and_the_leakage_comparison(
    gtzan_csv: Path, sturm_split_dir: Path, workspace: Path
) -> None:
    dataset = table_datasets.load_kaggle_csv(gtzan_csv)
    folder = train_bundle(dataset, "ffn_mfcc", "ffn-gtzan", "artist-filtered:1", split_dir=sturm_split_dir)
    spec = dataset_choice.DatasetSpec(dataset_choice.CSV, str(gtzan_csv))
    at = open_page(PAGE, spec, **with_models(folder, None), **{"evaluate.split_dir": str(sturm_split_dir)})
    assert not at.exception and not at.error, messages(at.error)
    figures = charts(at)
    confusion = figures[f"evaluate.{bundle_info.FFN}.confusion"]["data"][0]
    test_tracks = sum(1 for line in (sturm_split_dir / "f1_evaluate.txt").read_text().splitlines() if line.strip())
    assert plotly_array(confusion["z"]).sum() == test_tracks  # exactly the fold's evaluation tracks, one row each
    given, random = figures["evaluate.protocols"]["data"]
    assert given["name"] == "artist-filtered folds"
    # the SVM gains from artist leakage on a random split
    assert plotly_array(random["y"])[2] > plotly_array(given["y"])[2] + 0.1


def test_the_lesson_from_scratch_against_transfer_is_shown_from_the_shipped_bundle(
    tones: dataset_choice.DatasetSpec, tone_bundles: dict[str, str]
) -> None:
    """The lesson measured when cnn_gtzan_transfer was built: the bar chart with each fold and both sides'
    confusion matrices of tracks, read from its bundle.json (no model loaded)."""
    from genre_core.lesson import LessonResult, SideResult

    scratch = SideResult("cnn_small", [0.5, 0.6], [30.0, 32.0], [[3, 2], [1, 4]])
    transfer = SideResult("transfer_vgg", [0.9, 1.0], [40.0, 5.0], [[5, 0], [1, 4]])
    result = LessonResult(["blues", "jazz"], 2, 10, 0, scratch, transfer)
    folder = paths.PRETRAINED_DIR / "cnn_gtzan_transfer"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "bundle.json").write_text(json.dumps({"metrics": {"lesson": result.to_dict()}}))
    try:
        at = open_page(PAGE, tones, **with_models(tone_bundles["ffn"], None))
    finally:
        shutil.rmtree(folder)
    figures = charts(at)
    bars = [trace for trace in figures["evaluate.lesson"]["data"] if trace["type"] == "bar"]
    assert [list(plotly_array(trace["y"])) for trace in bars] == [[pytest.approx(0.55)], [pytest.approx(0.95)]]
    confusion = figures["evaluate.lesson.transfer_vgg"]["data"][0]
    assert plotly_array(confusion["z"]).tolist() == [[5, 0], [1, 4]] and "tracks" in confusion["hovertemplate"]
    assert "evaluate.lesson.cnn_small" in figures
    assert any("+40 points" in item.value for item in at.markdown)

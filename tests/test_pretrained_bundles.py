"""The bundles shipped in assets/models: they load in safe mode, are small, have model cards, and still
score what their cards say on the real data (and clearly above chance on a freshly generated demo)."""

from __future__ import annotations

import json
from pathlib import Path

import keras
import numpy as np
import pytest

from genre_core import model_cards, paths, pretrain, reports, synth
from genre_core.bundle_files import list_bundles
from genre_core.bundles import ModelBundle, load_bundle
from genre_core.audio_datasets import list_genre_files
from genre_core.table_datasets import load_kaggle_csv
from genre_core.prediction import predict_many
from genre_core.splits import artist_filtered_split

MAX_BYTES = 5 * 1024 * 1024


def shipped(name: str) -> Path:
    return paths.PRETRAINED_DIR / name


def documented(name: str) -> dict:
    """The metrics stored in the shipped bundle.json (what the model card reports)."""
    return json.loads((shipped(name) / "bundle.json").read_text(encoding="utf-8"))["metrics"]


def test_exactly_the_pretrained_bundles_are_shipped():
    assert [folder.name for folder in list_bundles(paths.PRETRAINED_DIR)] == sorted(pretrain.PRETRAINED_NAMES)


@pytest.mark.parametrize("name", pretrain.PRETRAINED_NAMES)
def test_bundle_loads_in_safe_mode_is_small_and_has_a_card(name, monkeypatch):
    modes: list[bool] = []
    original = keras.saving.load_model
    monkeypatch.setattr(
        keras.saving, "load_model", lambda *args, **kw: modes.append(kw.get("safe_mode")) or original(*args, **kw)
    )

    bundle = load_bundle(shipped(name))

    assert modes == [True] and bundle.name == name
    assert sum(path.stat().st_size for path in shipped(name).rglob("*") if path.is_file()) < MAX_BYTES
    card = (shipped(name) / pretrain.CARD_FILE).read_text(encoding="utf-8")
    assert card.startswith(f"# {name}") and model_cards.percent(bundle.metrics["test"]["accuracy"]) in card
    assert ("SYNTHETIC" in card) == name.endswith("_demo")
    assert all(key in bundle.metrics for key in ("parts", "baselines", "split", "training"))


@pytest.mark.slow
def test_ffn_fold_1_test_accuracy_is_the_documented_one(gtzan_csv, sturm_split_dir):
    bundle = load_bundle(shipped("ffn_gtzan_features"))
    dataset = load_kaggle_csv(gtzan_csv)
    split = artist_filtered_split(dataset, sturm_split_dir, 1, val_fraction=0.0, seed=pretrain.SEED)
    listed = {
        line.split("\t")[0].removeprefix("./").removesuffix(".wav").replace("_", ".")
        for line in (sturm_split_dir / "f1_evaluate.txt").read_text().splitlines() if line.strip()
    }

    report = reports.evaluate_bundle(bundle, dataset, split)

    assert set(dataset.track_ids[split.test]) == listed == set(bundle.split_description["track_ids"]["test"])
    assert set(dataset.track_ids[split.train]) == set(bundle.split_description["track_ids"]["train"])
    assert report.test.accuracy == pytest.approx(documented("ffn_gtzan_features")["test"]["accuracy"], abs=0.01)
    assert report.baselines == pytest.approx(documented("ffn_gtzan_features")["baselines"])


@pytest.mark.slow
@pytest.mark.parametrize("name", ["cnn_gtzan_mini", "cnn_gtzan_transfer"])
def test_real_music_cnns_score_their_documented_test_tracks(gtzan_mini, name):
    bundle = load_bundle(shipped(name))
    metrics = documented(name)
    files = {path.stem: (path, genre) for genre, paths_ in list_genre_files(gtzan_mini).items() for path in paths_}
    test_tracks = bundle.split_description["track_ids"]["test"]

    results = predict_many(bundle, [files[track][0] for track in test_tracks])

    assert all(result.ok for result in results)
    predictions = [result.predictions[0] for result in results]
    truth = [files[track][1] for track in test_tracks]
    track_accuracy = np.mean([song.genre == genre for song, genre in zip(predictions, truth, strict=True)])
    segment_hits = sum(
        int(np.sum(song.segment_predictions == song.class_names.index(genre)))
        for song, genre in zip(predictions, truth, strict=True)
    )
    assert len(test_tracks) == metrics["split"]["tracks"]["test"]
    assert track_accuracy == pytest.approx(metrics["test"]["track_accuracy"], abs=1 / len(test_tracks) + 1e-9)
    assert segment_hits / metrics["split"]["rows"]["test"] == pytest.approx(metrics["test"]["accuracy"], abs=0.03)


@pytest.mark.slow
def test_demo_bundles_are_clearly_above_chance_on_a_fresh_demo(tmp_path):
    """16 new synthetic tracks (another seed, 15 s each) the bundles never saw: chance is 1 in 4 genres, and
    8 or more right by chance has a probability under 3 %."""
    folder = synth.generate_demo_dataset(tmp_path / "demo", seed=2024, tracks_per_genre=4, seconds=15.0, n_jobs=1)
    files = [(path, genre) for genre, paths_ in list_genre_files(folder).items() for path in paths_]
    bundles: list[ModelBundle] = [load_bundle(shipped(name)) for name in ("ffn_demo", "cnn_demo")]

    results = predict_many(bundles, [path for path, _ in files])

    assert all(result.ok for result in results) and len(results) == 16
    for index, bundle in enumerate(bundles):
        hits = [result.predictions[index].genre == genre for result, (_, genre) in zip(results, files, strict=True)]
        assert np.mean(hits) >= 0.5, f"{bundle.name}: {sum(hits)} of {len(hits)} fresh demo tracks right"


TRANSFER_TRACK_ACCURACY = 0.6  #: what cnn_gtzan_transfer's card states on its 10 held-out test tracks (6 right)
TRANSFER_CV_ACCURACY = 0.8  #: its mean track accuracy in the lesson's 5-fold cross-validation, at least


@pytest.mark.slow
def test_transfer_cnn_hears_real_music_and_records_the_lesson(gtzan_mini):
    """Its held-out GTZAN tracks (never trained on) are classified at the stated rate; the lesson it records says
    transfer beats the same tracks' from-scratch CNN; its card gives the pretrained network's origin and licence."""
    bundle = load_bundle(shipped("cnn_gtzan_transfer"))
    metrics = documented("cnn_gtzan_transfer")
    assert metrics["test"]["track_accuracy"] >= TRANSFER_TRACK_ACCURACY
    assert metrics["test"]["track_accuracy"] > documented("cnn_gtzan_mini")["test"]["track_accuracy"]
    assert bundle.split_description["track_ids"]["test"] == load_bundle(
        shipped("cnn_gtzan_mini")).split_description["track_ids"]["test"]  # the same split: a fair comparison
    lesson = metrics["lesson"]
    assert lesson["folds"] == 5 and lesson["tracks"] == 70
    assert np.mean(lesson["transfer"]["track_accuracy"]) >= TRANSFER_CV_ACCURACY
    assert np.mean(lesson["transfer"]["track_accuracy"]) > np.mean(lesson["scratch"]["track_accuracy"])
    card = (shipped("cnn_gtzan_transfer") / pretrain.CARD_FILE).read_text(encoding="utf-8")
    assert "ISC" in card and "LICENSE-musicnn.md" in card and "from scratch against transfer" in card.lower()


def test_transfer_cnn_gradcam_has_real_gradients_after_loading():
    from genre_core.explain.gradcam import default_target_layer, grad_cam

    bundle = load_bundle(shipped("cnn_gtzan_transfer"))
    inputs = np.random.default_rng(0).uniform(0, 3, size=(2, 96, 187, 1)).astype("float32")
    layer = default_target_layer(bundle.model)
    result = grad_cam(bundle.model, inputs, layer=layer)
    assert layer == "block5_bn" and result.raw.shape[1:] == (6, 11)
    assert np.all(np.isfinite(result.heatmaps)) and result.heatmaps.max() > 0

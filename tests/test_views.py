"""Tests for genre_core.explain.views: split rows, probabilities, examples, segment audio, Grad-CAM and SHAP
inputs, and the Grad-CAM view figures."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from helpers import (
    TINY_FEATURES,
    TONE_CONFIG,
    TONE_TEST_TRACKS,
    tiny_dataset,
    tiny_split,
    tone_split,
    write_tone_genres,
)

from genre_core import audio_datasets
from genre_core.config import LOG_MEL, SUMMARY
from genre_core.dataset import Dataset
from genre_core.errors import InputError
from genre_core.explain import views
from genre_core.explain.examples import example_table
from genre_core.explain.shap_values import ShapResult
from genre_core.features import SUMMARY_NAMES


@pytest.fixture(scope="module")
def dataset() -> Dataset:
    return tiny_dataset(feature_config=TINY_FEATURES)


@pytest.fixture(scope="module")
def cnn_bundle(dataset: Dataset):
    from genre_core import bundles, train_config, training

    config = train_config.TrainConfig(preset="cnn_small", hyper={"filters": [4, 8]}, epochs=1, batch_size=16)
    return bundles.bundle_from_training(training.train_model(dataset, tiny_split(), config), dataset, name="tiny-cnn")


@pytest.fixture(scope="module")
def ffn_bundle(dataset: Dataset):
    from genre_core import bundles, train_config, training

    config = train_config.TrainConfig(preset="ffn_mfcc", hyper={"hidden": [8], "dropout": 0.0}, epochs=1, batch_size=16)
    return bundles.bundle_from_training(training.train_model(dataset, tiny_split(), config), dataset, name="tiny-ffn")


# --- split rows ------------------------------------------------------------------------------------------
def test_split_rows_follow_the_track_ids_into_a_reordered_dataset(dataset: Dataset) -> None:
    description = tiny_split().describe(dataset)
    shuffled = dataset.subset(np.random.default_rng(1).permutation(len(dataset)))

    for part in ("train", "val", "test"):
        rows = views.split_rows_from_description(shuffled, description, part)
        assert rows.dtype == np.int64 and np.all(np.diff(rows) > 0)
        assert sorted(set(shuffled.track_ids[rows])) == description["track_ids"][part]
        assert len(rows) == description["rows"][part]


def test_split_rows_skip_tracks_the_dataset_lacks(dataset: Dataset) -> None:
    description = tiny_split().describe(dataset)
    first_half = dataset.subset(np.arange(24))

    assert len(views.split_rows_from_description(first_half, description, "test")) == 0
    assert len(views.split_rows_from_description(first_half, description, "train")) == 24


@pytest.mark.parametrize(
    ("description", "part", "message"),
    [
        ({"track_ids": {"train": []}}, "everything", "is not one of train, val, test"),
        ({"protocol": "grouped"}, "test", "lists no track ids for the test part"),
        ({"protocol": "leaky", "track_ids": {"test": ["track000"]}}, "test", "leaky"),
    ],
)
def test_split_rows_refuse_unusable_descriptions(dataset: Dataset, description: dict, part: str, message: str) -> None:
    with pytest.raises(InputError, match=message):
        views.split_rows_from_description(dataset, description, part)


def test_part_rows_give_all_rows_or_a_part_and_explain_an_empty_one(dataset: Dataset) -> None:
    description = tiny_split().describe(dataset)

    np.testing.assert_array_equal(views.part_rows(dataset, description, views.ALL_ROWS), np.arange(48))
    np.testing.assert_array_equal(views.part_rows(dataset, description, "test"), tiny_split().test)
    with pytest.raises(InputError, match="the model's test \\(not trained on\\) part: none of its tracks"):
        views.part_rows(dataset.subset(np.arange(24)), description, "test")


def test_sample_rows_keeps_a_sorted_seeded_subset() -> None:
    rows = np.arange(100, 0, -3)

    picked = views.sample_rows(rows, 10, seed=4)
    assert len(picked) == 10 and np.all(np.diff(picked) > 0) and set(picked) <= set(rows)
    np.testing.assert_array_equal(picked, views.sample_rows(rows, 10, seed=4))
    assert not np.array_equal(picked, views.sample_rows(rows, 10, seed=5))
    np.testing.assert_array_equal(views.sample_rows(rows, 1000), np.sort(rows))
    with pytest.raises(InputError, match="row limit"):
        views.sample_rows(rows, 0)


# --- probabilities and examples -------------------------------------------------------------------------
@pytest.mark.slow
def test_dataset_probabilities_score_the_chosen_rows_in_chunks(cnn_bundle, dataset: Dataset, monkeypatch) -> None:
    monkeypatch.setattr(views, "PREDICT_CHUNK_ROWS", 20)
    rows = np.array([47, 3, 20, 21, 0])

    everything = views.dataset_probabilities(cnn_bundle, dataset)  # three chunks
    assert everything.shape == (48, 3) and everything.dtype == np.float32
    np.testing.assert_allclose(everything, cnn_bundle.predict_proba(dataset.features[LOG_MEL]), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(views.dataset_probabilities(cnn_bundle, dataset, rows), everything[rows], atol=1e-6)
    assert views.dataset_probabilities(cnn_bundle, dataset, np.array([], dtype=np.int64)).shape == (0, 3)


@pytest.mark.slow
def test_dataset_probabilities_refuse_a_dataset_of_other_classes(cnn_bundle, dataset: Dataset) -> None:
    renamed = dataclasses.replace(dataset, class_names=["a", "b", "c"])
    with pytest.raises(InputError, match="classes"):
        views.dataset_probabilities(cnn_bundle, renamed)


def test_examples_of_rows_match_example_table_over_the_same_rows(dataset: Dataset) -> None:
    probabilities = np.random.default_rng(2).dirichlet(np.ones(3), size=len(dataset))
    rows = np.arange(8, 48, 3)

    mine = views.examples_of_rows(dataset, rows, probabilities[rows], n=4)
    expected = example_table(
        probabilities, dataset.labels, dataset.track_ids, dataset.segment_index, TINY_FEATURES.segment_seconds,
        dataset.class_names, rows_subset=rows, n=4,
    )
    assert mine == expected
    assert any(items for kinds in mine.values() for items in kinds.values())


# --- audio -----------------------------------------------------------------------------------------------
def test_track_segment_audio_cuts_the_stretch_and_pads_past_the_end(tmp_path: Path) -> None:
    rate = 8000
    ramp = np.linspace(-0.5, 0.5, 3 * rate, dtype=np.float32)
    path = tmp_path / "ramp.wav"
    sf.write(path, ramp, rate, subtype="FLOAT")

    middle = views.track_segment_audio(path, 1.0, 2.0, rate)
    np.testing.assert_allclose(middle, ramp[rate : 2 * rate], atol=1e-6)
    tail = views.track_segment_audio(path, 2.5, 3.5, rate)
    assert tail.shape == (rate,) and tail.dtype == np.float32
    np.testing.assert_allclose(tail[: rate // 2], ramp[-rate // 2 :], atol=1e-6)
    assert not tail[rate // 2 :].any()
    with pytest.raises(InputError, match="starts at 4.00 s"):
        views.track_segment_audio(path, 4.0, 5.0, rate)
    with pytest.raises(InputError, match="not a time span"):
        views.track_segment_audio(path, 2.0, 1.0, rate)


# --- Grad-CAM of segments ------------------------------------------------------------------------------
@pytest.mark.slow
def test_segment_maps_explain_the_predicted_class_unless_told(cnn_bundle, dataset: Dataset) -> None:
    log_mel = dataset.features[LOG_MEL][5]

    predicted = views.segment_maps(cnn_bundle, log_mel)
    assert predicted.class_index == int(np.argmax(predicted.probabilities))
    np.testing.assert_allclose(predicted.probabilities, cnn_bundle.predict_proba(log_mel[None])[0], atol=1e-6)
    assert predicted.layer == "block2_conv"
    for heatmap in (predicted.gradcam, predicted.gradcam_plus_plus, predicted.saliency):
        assert heatmap.shape == (16, 22) and heatmap.min() >= 0.0 and heatmap.max() <= 1.0
    assert predicted.saliency.max() == pytest.approx(1.0)

    other = (predicted.class_index + 1) % 3
    chosen = views.segment_maps(cnn_bundle, log_mel, layer="block1_conv", class_index=other)
    assert chosen.class_index == other and chosen.layer == "block1_conv"
    assert not np.allclose(chosen.saliency, predicted.saliency)


@pytest.mark.slow
def test_segment_maps_refuse_feature_models_and_wrong_shapes(cnn_bundle, ffn_bundle, dataset: Dataset) -> None:
    with pytest.raises(InputError, match="Grad-CAM needs a log-mel CNN"):
        views.segment_maps(ffn_bundle, dataset.features[LOG_MEL][0])
    with pytest.raises(InputError, match="expects"):
        views.segment_maps(cnn_bundle, dataset.features[LOG_MEL][0][:, :10])


@pytest.mark.slow
def test_trust_checks_report_randomisation_steps_and_a_deletion_curve(cnn_bundle, dataset: Dataset) -> None:
    checks = views.trust_checks(cnn_bundle, dataset.features[LOG_MEL][[0, 7, 30]])

    assert checks.segments == 3 and checks.layer == "block2_conv"
    assert [step["layer"] for step in checks.randomisation] == [None, "logits", "dense1", "block2_conv", "block1_conv"]
    assert checks.randomisation[0]["spearman"] == pytest.approx(1.0)
    assert all("heatmaps" not in step for step in checks.randomisation)
    assert checks.deletion["fractions"].shape == checks.deletion["map_order"].shape == (11,)
    assert np.isfinite(checks.deletion["area_between"])


# --- SHAP inputs ---------------------------------------------------------------------------------------
@pytest.mark.slow
def test_shap_background_draws_standardised_training_rows(ffn_bundle, dataset: Dataset) -> None:
    background, note = views.shap_background(ffn_bundle, dataset, size=10, seed=0)
    train_rows = ffn_bundle.standardizer.transform(dataset.features[SUMMARY][tiny_split().train])

    assert background.shape == (10, 57) and background.dtype == np.float32
    assert all(np.any(np.all(np.isclose(train_rows, row, atol=1e-6), axis=1)) for row in background)
    assert note == "10 of the 32 segments the model was trained on"

    mean_row, note = views.shap_background(ffn_bundle, dataset.subset(np.arange(32, 48)), size=10)
    np.testing.assert_array_equal(mean_row, np.zeros((1, 57), dtype=np.float32))
    assert "an average segment of the model's training data" in note and "not in the active dataset" in note
    assert "no dataset" in views.shap_background(ffn_bundle, None)[1]


def shap_result(class_names: tuple[str, ...] = ("rock", "jazz")) -> ShapResult:
    """A consistent 5-row result without a model: values (5, 57, 2) add up to the outputs."""
    rng = np.random.default_rng(3)
    values = rng.normal(size=(5, len(SUMMARY_NAMES), 2))
    base_values = np.array([0.3, -0.3])
    return ShapResult(
        values=values, base_values=base_values, outputs=values.sum(axis=1) + base_values,
        inputs=rng.normal(size=(5, len(SUMMARY_NAMES))), feature_names=SUMMARY_NAMES, class_names=class_names,
        method="deep", output="logits",
    )


def test_concatenate_shap_results_joins_chunks_of_rows() -> None:
    whole = shap_result()
    chunks = [
        dataclasses.replace(whole, values=whole.values[rows], outputs=whole.outputs[rows], inputs=whole.inputs[rows])
        for rows in (slice(0, 2), slice(2, 5))
    ]

    joined = views.concatenate_shap_results(chunks)
    for name in ("values", "outputs", "inputs", "base_values"):
        np.testing.assert_array_equal(getattr(joined, name), getattr(whole, name))
    assert joined.class_names == whole.class_names and joined.method == "deep"
    with pytest.raises(InputError, match="none to join"):
        views.concatenate_shap_results([])


@pytest.mark.slow
def test_importing_views_does_not_import_tensorflow() -> None:
    import subprocess
    import sys

    code = "import sys, genre_core.explain.views; print('tensorflow' in sys.modules or 'keras' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "False"


def test_tone_genres_are_a_loadable_dataset(tmp_path: Path) -> None:
    dataset, skipped = audio_datasets.load_audio_folder(
        write_tone_genres(tmp_path / "tones"), TONE_CONFIG, kinds=[LOG_MEL], n_jobs=1, cache_dir=None
    )
    assert skipped == [] and dataset.class_names == ["high", "low"] and len(dataset) == 20
    split = tone_split(dataset)
    assert sorted(set(dataset.track_ids[split.test])) == list(TONE_TEST_TRACKS) and len(split.train) == 10


def test_the_genre_with_the_most_wrong_rows_is_counted_from_the_predictions(dataset: Dataset) -> None:
    rows = np.arange(len(dataset))
    labels = dataset.labels[rows]
    everything_first = np.eye(dataset.n_classes)[np.zeros(len(rows), dtype=np.int64)]  # all predicted as class 0
    wrong = np.bincount(labels[labels != 0], minlength=dataset.n_classes)
    assert views.most_wrong_genre(dataset, rows, everything_first) == dataset.class_names[int(np.argmax(wrong))]
    assert views.most_wrong_genre(dataset, rows, np.eye(dataset.n_classes)[labels]) == dataset.class_names[0]

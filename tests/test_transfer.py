"""Transfer presets on the shipped pretrained trunks: what is frozen, the trained part sharing the full model's
weights, cached frozen activations, training that leaves the trunk untouched, and bundles that round-trip."""

from __future__ import annotations

import numpy as np
import pytest

from genre_core import musicnn, transfer
from genre_core.config import LOG_MEL
from genre_core.dataset import Dataset
from genre_core.errors import InputError
from genre_core.models import build_model, get_preset
from genre_core.splits import Split
from genre_core.inputs import prepare_inputs
from genre_core.train_config import TrainConfig
from genre_core.training import train_model

ROWS = 24  #: 12 tracks of 2 windows, 3 classes


def musicnn_dataset(rows: int = ROWS, seed: int = 0) -> Dataset:
    """``rows`` musicnn-shaped windows (96 × 187, log10(1 + 10000·mel) scale) of 3 classes: each class is loud in
    its own third of the bands (learnable from the pretrained embedding)."""
    rng = np.random.default_rng(seed)
    labels = (np.arange(rows) // 2) % 3
    values = rng.uniform(0.0, 1.0, size=(rows, 96, 187)).astype(np.float32)
    for row, label in enumerate(labels):
        values[row, 32 * label : 32 * (label + 1)] += 3.0
    return Dataset(
        class_names=["low", "middle", "high"],
        labels=labels.astype(np.int64),
        track_ids=np.array([f"track{row // 2:03d}" for row in range(rows)]),
        segment_index=np.arange(rows) % 2,
        features={LOG_MEL: values},
        source="musicnn-shaped test data",
        feature_config=musicnn.FEATURES,
    )


def musicnn_split(rows: int = ROWS) -> Split:
    return Split(train=np.arange(rows - 6), val=np.arange(rows - 6, rows - 3), test=np.arange(rows - 3, rows),
                 protocol="grouped", seed=0)


@pytest.fixture(scope="module")
def trained(workspace):
    """``transfer_vgg`` trained on `musicnn_dataset` in a temporary workspace; the dataset, result and cache."""
    from genre_core import paths

    dataset = musicnn_dataset()
    config = TrainConfig(preset="transfer_vgg", epochs=30, learning_rate=0.01, seed=0)
    return dataset, train_model(dataset, musicnn_split(), config), paths.CACHE_DIR


def test_transfer_presets_declare_musicnn_features():
    for name in ("transfer_musicnn", "finetune_musicnn", "transfer_vgg", "finetune_vgg"):
        preset = get_preset(name)
        assert preset.transfer and not preset.standardize and preset.features == musicnn.FEATURES
        assert preset.feature_kind == LOG_MEL


@pytest.mark.parametrize(
    ("preset", "first_trained"), [("transfer_vgg", "head_dropout"), ("finetune_vgg", "block5_conv")]
)
def test_layers_before_the_cut_and_every_batch_norm_are_frozen(preset, first_trained):
    import keras

    model = build_model(preset, (96, 187, 1), 3)
    names = [layer.name for layer in model.layers]
    cut = names.index(first_trained)
    for index, layer in enumerate(model.layers):
        expected = index >= cut and not isinstance(layer, keras.layers.BatchNormalization)
        assert layer.trainable == expected, layer.name
    assert model.get_layer("block5_bn").trainable is False
    assert [layer.name for layer in model.layers][-2:] == ["logits", "probabilities"]


def test_a_wrong_input_shape_is_refused_with_the_reason():
    with pytest.raises(InputError, match="musicnn patch"):
        build_model("transfer_vgg", (128, 130, 1), 3)


@pytest.mark.parametrize("cut", ["head_dropout", "block5_conv"])
def test_trained_part_on_frozen_output_equals_the_full_model(cut):
    model = build_model("finetune_vgg", (96, 187, 1), 3)
    inputs = prepare_inputs(musicnn_dataset(4).features[LOG_MEL], LOG_MEL)
    frozen = transfer.frozen_part(model, cut).predict(inputs, verbose=0)
    chained = transfer.trainable_part(model, cut).predict(frozen, verbose=0)
    np.testing.assert_allclose(chained, model.predict(inputs, verbose=0), atol=1e-5)


def test_frozen_activations_are_cached_and_reused(tmp_path, monkeypatch):
    from genre_core import paths

    monkeypatch.setattr(paths, "CACHE_DIR", tmp_path)
    model = build_model("transfer_vgg", (96, 187, 1), 3)
    inputs = prepare_inputs(musicnn_dataset(4).features[LOG_MEL], LOG_MEL)
    first = transfer.frozen_activations(model, "head_dropout", inputs)
    assert first.shape == (4, 256)
    assert len(list((tmp_path / "activations").glob("*.npy"))) == 1

    cached = next((tmp_path / "activations").glob("*.npy"))
    np.save(cached, np.full_like(first, 7.0))  # a marker: the next call must return what the cache holds
    np.testing.assert_array_equal(transfer.frozen_activations(model, "head_dropout", inputs), 7.0)
    other = inputs.copy()
    other[0, 0, 0, 0] += 1.0  # other inputs: another key, computed afresh
    assert not np.all(transfer.frozen_activations(model, "head_dropout", other) == 7.0)


def test_training_learns_and_leaves_the_pretrained_trunk_untouched(trained):
    dataset, result, cache = trained
    pretrained = transfer.load_tagger("msd_vgg")
    for name in ("input_bn", "block1_conv", "block5_conv", "block5_bn"):
        for mine, original in zip(result.model.get_layer(name).get_weights(),
                                  pretrained.get_layer(name).get_weights(), strict=True):
            np.testing.assert_array_equal(mine, original)
    assert result.history["loss"][-1] < result.history["loss"][0]
    assert np.all(result.standardizer.mean == 0) and np.all(result.standardizer.std == 1)
    predictions = result.model.predict(prepare_inputs(dataset.features[LOG_MEL], LOG_MEL), verbose=0).argmax(axis=1)
    assert np.mean(predictions[:18] == dataset.labels[:18]) >= 0.9
    assert list((cache / "activations").glob("*.npy"))


@pytest.mark.parametrize("saved", [False, True], ids=["in-memory", "saved-then-loaded"])
def test_transfer_bundle_round_trips_in_safe_mode(trained, tmp_path, saved):
    from genre_core.bundles import bundle_from_training, load_bundle, save_bundle

    dataset, result, _ = trained
    bundle = bundle_from_training(result, dataset, name="transfer test")
    if saved:
        bundle = load_bundle(save_bundle(bundle, tmp_path / "bundle"))
    assert bundle.feature_config == musicnn.FEATURES
    probabilities = bundle.predict_proba(dataset.features[LOG_MEL][:4])
    np.testing.assert_allclose(
        probabilities, result.model.predict(prepare_inputs(dataset.features[LOG_MEL][:4], LOG_MEL), verbose=0),
        atol=1e-5,
    )

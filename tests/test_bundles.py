"""Tests for genre_core.bundles: round trips, atomic saves, safe loading and compatibility checks."""

from __future__ import annotations

import dataclasses
import json
import shutil
from datetime import datetime
from pathlib import Path

import keras
import numpy as np
import pytest
from helpers import TINY_FEATURES, tiny_dataset, tiny_split

from genre_core import bundles, training
from genre_core.bundles import ModelBundle
from genre_core.config import LOG_MEL, SUMMARY
from genre_core.dataset import Dataset
from genre_core.errors import InputError
from genre_core.inputs import prepare_inputs
from genre_core.train_config import TrainConfig


@pytest.fixture(scope="module")
def dataset() -> Dataset:
    return tiny_dataset(feature_config=TINY_FEATURES)


@pytest.fixture(scope="module")
def cnn_bundle(dataset: Dataset) -> ModelBundle:
    config = TrainConfig(preset="cnn_small", epochs=1, batch_size=16)
    result = training.train_model(dataset, tiny_split(), config)
    return bundles.bundle_from_training(result, dataset, name="tiny-cnn", metrics={"accuracy": np.float32(0.5)})


@pytest.fixture(scope="module")
def saved_cnn(cnn_bundle: ModelBundle, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return bundles.save_bundle(cnn_bundle, tmp_path_factory.mktemp("bundles") / "tiny-cnn")


@pytest.fixture
def bundle_copy(saved_cnn: Path, tmp_path: Path) -> Path:
    """A private copy of the saved bundle folder that a test may damage."""
    return Path(shutil.copytree(saved_cnn, tmp_path / "copy"))


@pytest.mark.slow
@pytest.mark.parametrize("where", ["in-memory", "saved-then-loaded"])
def test_bundle_predicts_the_same_before_and_after_a_round_trip(
    cnn_bundle: ModelBundle, saved_cnn: Path, dataset: Dataset, where: str
) -> None:
    bundle = cnn_bundle if where == "in-memory" else bundles.load_bundle(saved_cnn)
    features = dataset.features[LOG_MEL][40:]
    expected = np.asarray(
        cnn_bundle.model(prepare_inputs(features, LOG_MEL, cnn_bundle.standardizer), training=False)
    )

    probabilities = bundle.predict_proba(features)
    assert probabilities.shape == (8, 3) and probabilities.dtype == np.float32
    np.testing.assert_allclose(probabilities, expected, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(bundle.predict_proba(features[:1]), expected[:1], rtol=1e-5, atol=1e-6)
    logits = bundle.predict_logits(features)
    softmax = np.exp(logits - logits.max(axis=1, keepdims=True))
    np.testing.assert_allclose(softmax / softmax.sum(axis=1, keepdims=True), expected, rtol=1e-4, atol=1e-6)

    assert bundle.class_names == ["class0", "class1", "class2"]
    assert bundle.feature_kind == LOG_MEL and bundle.feature_config == TINY_FEATURES
    assert bundle.feature_shape == (16, 22) and bundle.input_shape == (16, 22, 1)
    np.testing.assert_array_equal(bundle.standardizer.mean, cnn_bundle.standardizer.mean)
    assert bundle.train_config == cnn_bundle.train_config
    assert bundle.history == cnn_bundle.history and bundle.metrics == {"accuracy": 0.5}
    assert bundle.split_description["rows"] == {"train": 32, "val": 8, "test": 8}
    assert bundle.name == "tiny-cnn" and datetime.fromisoformat(bundle.created).tzinfo is not None
    assert {"python", "tensorflow", "keras", "numpy", "librosa", "genre_core"} <= set(bundle.versions)


@pytest.mark.slow
def test_sigmoid_bundle_reads_as_two_classes_in_memory_and_after_a_round_trip(tmp_path: Path) -> None:
    binary = tiny_dataset(n_classes=2, feature_config=TINY_FEATURES)
    config = TrainConfig(preset="cnn_small", hyper={"filters": [4, 8], "dense": [8]}, output="sigmoid", epochs=1,
                         batch_size=16)
    bundle = bundles.bundle_from_training(training.train_model(binary, tiny_split(), config), binary, name="bin")
    loaded = bundles.load_bundle(bundles.save_bundle(bundle, tmp_path / "bin"))
    features = binary.features[LOG_MEL][40:]
    z = np.asarray(keras.Model(bundle.model.inputs, bundle.model.get_layer("logits").output)(
        prepare_inputs(features, LOG_MEL, bundle.standardizer)))[:, 0]
    for one in (bundle, loaded):
        assert one.sigmoid_output and one.model.output_shape == (None, 1) and one.train_config.output == "sigmoid"
        probabilities = one.predict_proba(features)
        assert probabilities.shape == (8, 2) and probabilities.dtype == np.float32
        np.testing.assert_allclose(probabilities[:, 1], 1 / (1 + np.exp(-z)), rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, rtol=1e-6)
        np.testing.assert_allclose(one.predict_logits(features), np.stack([-z, z], axis=1), rtol=1e-5, atol=1e-6)
    shutil.copytree(tmp_path / "bin", tmp_path / "again")
    metadata = json.loads((tmp_path / "bin" / "bundle.json").read_text())
    metadata["class_names"] = ["a", "b", "c"]
    (tmp_path / "again" / "bundle.json").write_text(json.dumps(metadata))
    with pytest.raises(InputError, match="has 1 outputs but bundle.json names 3 classes"):
        bundles.load_bundle(tmp_path / "again")


def test_summary_bundle_without_feature_config_round_trips(tmp_path: Path) -> None:
    data = dataclasses.replace(tiny_dataset(), feature_config=None)
    config = TrainConfig(preset="ffn_mfcc", hyper={"hidden": [8]}, epochs=1)
    result = training.train_model(data, tiny_split(), config)
    bundle = bundles.bundle_from_training(result, data, name="tiny-ffn", notes="summary features")
    loaded = bundles.load_bundle(bundles.save_bundle(bundle, tmp_path / "ffn"))
    assert loaded.feature_config is None and loaded.notes == "summary features"
    np.testing.assert_allclose(
        loaded.predict_proba(data.features[SUMMARY]), bundle.predict_proba(data.features[SUMMARY]), atol=1e-6
    )
    bundles.check_compatible(loaded, data)


@pytest.mark.slow
def test_crash_during_save_keeps_the_old_bundle(
    cnn_bundle: ModelBundle, bundle_copy: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    before = (bundle_copy / bundles.METADATA_FILE).read_text()

    def crash(model: keras.Model, path: Path, *args: object, **kwargs: object) -> None:
        Path(path).write_bytes(b"half a model")
        raise OSError("disk full")

    monkeypatch.setattr(keras.Model, "save", crash)
    changed = dataclasses.replace(cnn_bundle, metrics={"accuracy": 0.9})
    with pytest.raises(OSError, match="disk full"):
        bundles.save_bundle(changed, bundle_copy)

    assert sorted(path.name for path in bundle_copy.parent.iterdir()) == ["copy"]  # no temporary folder left
    assert (bundle_copy / bundles.METADATA_FILE).read_text() == before
    assert bundles.load_bundle(bundle_copy).metrics == {"accuracy": 0.5}


@pytest.mark.slow
def test_saving_again_replaces_the_bundle(cnn_bundle: ModelBundle, bundle_copy: Path) -> None:
    bundles.save_bundle(dataclasses.replace(cnn_bundle, metrics={"accuracy": 0.75}), bundle_copy)
    assert bundles.load_bundle(bundle_copy).metrics == {"accuracy": 0.75}
    assert sorted(path.name for path in bundle_copy.parent.iterdir()) == ["copy"]


def _edit_metadata(folder: Path, edit) -> None:
    path = folder / bundles.METADATA_FILE
    values = json.loads(path.read_text())
    edit(values)
    path.write_text(json.dumps(values))


@pytest.mark.parametrize(
    ("damage", "message"),
    [
        (lambda folder: shutil.rmtree(folder), "no such bundle folder"),
        (lambda folder: (folder / "bundle.json").unlink(), "bundle.json is missing"),
        (lambda folder: (folder / "bundle.json").write_text("{not json"), "bundle.json is corrupt"),
        (lambda folder: (folder / "bundle.json").write_text("[1, 2]"), "field '\\(top level\\)': must be an object"),
        (lambda folder: (folder / "bundle.json").write_text("[" * 6000 + "]" * 6000), "corrupt \\(nested too deeply"),
        (lambda folder: _edit_metadata(folder, lambda v: v.update(schema_version=99)),
         "field 'schema_version': 99 is not the supported 1"),
        (lambda folder: _edit_metadata(folder, lambda v: v.pop("standardizer")), "field 'standardizer': is missing"),
        (lambda folder: _edit_metadata(folder, lambda v: v.pop("input_shape")), "field 'input_shape': is missing"),
        (lambda folder: _edit_metadata(folder, lambda v: v.update(class_names=["a", "b", "a"])),
         "field 'class_names': duplicate name 'a'"),
        (lambda folder: _edit_metadata(folder, lambda v: v.update(class_names=["a", "b"])),
         "model.keras: has 3 outputs but bundle.json names 2 classes"),
        (lambda folder: _edit_metadata(folder, lambda v: v["standardizer"].update(mean=[0.0] * 3, std=[1.0] * 3)),
         "field 'standardizer.mean': has 3 entries, the model's input has width 16"),
        (lambda folder: _edit_metadata(folder, lambda v: v["feature_config"].update(sample_rate=11025.5)),
         "field 'feature_config.sample_rate': must be an integer, got a number"),
        (lambda folder: _edit_metadata(folder, lambda v: v["feature_config"].update(hop_length=512)),
         "field 'feature_config': gives log_mel inputs of shape \\[16, 44, 1\\], input_shape is \\[16, 22, 1\\]"),
        (lambda folder: _edit_metadata(folder, lambda v: v["train_config"].update(epochs=-1)), "epochs"),
        (lambda folder: _edit_metadata(folder, lambda v: v["train_config"].update(epochs="10")),
         "field 'train_config.epochs': must be an integer, got a string"),
        (lambda folder: (folder / "model.keras").unlink(), "model.keras: is missing"),
        (lambda folder: (folder / "model.keras").write_bytes(b""), "model.keras: is empty"),
        (lambda folder: (folder / "model.keras").write_bytes(b"not a zip file"), "model.keras: cannot be loaded safely"),
    ],
)
def test_load_rejects_damaged_bundles_naming_the_folder(bundle_copy: Path, damage, message: str) -> None:
    damage(bundle_copy)
    with pytest.raises(InputError, match=message) as error:
        bundles.load_bundle(bundle_copy)
    assert error.value.source.startswith(str(bundle_copy))
    assert "\n" not in str(error.value) and str(error.value).count(str(bundle_copy)) == 1


def test_safe_mode_refuses_a_model_with_custom_code(bundle_copy: Path) -> None:
    inputs = keras.Input(shape=(16, 22, 1), name="features")
    x = keras.layers.Lambda(lambda values: values * 2.0, name="arbitrary_code")(inputs)
    x = keras.layers.Flatten()(x)
    logits = keras.layers.Dense(3, name="logits")(x)
    model = keras.Model(inputs, keras.layers.Activation("softmax", name="probabilities")(logits))
    model.save(bundle_copy / bundles.MODEL_FILE)
    with pytest.raises(InputError, match="model.keras: cannot be loaded safely") as refused:
        bundles.load_bundle(bundle_copy)
    assert "\n" not in str(refused.value)  # Keras explains safe mode in 5 lines: only the first is kept


def test_check_compatible_names_the_mismatch(cnn_bundle: ModelBundle, dataset: Dataset) -> None:
    bundles.check_compatible(cnn_bundle, dataset)
    renamed = dataclasses.replace(dataset, class_names=["class2", "class1", "class0"])
    with pytest.raises(InputError, match="classes .* differ"):
        bundles.check_compatible(cnn_bundle, renamed)
    other_features = dataclasses.replace(dataset, feature_config=dataclasses.replace(TINY_FEATURES, n_mfcc=13))
    with pytest.raises(InputError, match="feature settings"):
        bundles.check_compatible(cnn_bundle, other_features)
    narrower = dataclasses.replace(dataset, features={LOG_MEL: dataset.features[LOG_MEL][:, :, :20]})
    with pytest.raises(InputError, match=r"expects \(16, 22\)"):
        bundles.check_compatible(cnn_bundle, narrower)
    without_log_mel = dataclasses.replace(dataset, features={SUMMARY: dataset.features[SUMMARY]})
    with pytest.raises(InputError, match="has no 'log_mel' features") as error:
        bundles.check_compatible(cnn_bundle, without_log_mel)
    assert error.value.source == dataset.source


def test_predict_rejects_rows_of_the_wrong_shape(cnn_bundle: ModelBundle, dataset: Dataset) -> None:
    with pytest.raises(InputError, match="expects"):
        cnn_bundle.predict_proba(dataset.features[LOG_MEL][:2, :, :20])
    with pytest.raises(InputError, match="expects"):
        cnn_bundle.predict_proba(dataset.features[LOG_MEL][0])


def test_non_finite_features_and_outputs_are_refused_not_scored(cnn_bundle: ModelBundle, dataset: Dataset) -> None:
    rows = dataset.features[LOG_MEL][:2].copy()
    rows[1, 0, 0] = np.nan
    with pytest.raises(InputError, match=r"^features: contain NaN or infinite values; model 'tiny-cnn' cannot"):
        cnn_bundle.predict_proba(rows)
    broken = dataclasses.replace(cnn_bundle, standardizer=dataclasses.replace(
        cnn_bundle.standardizer, std=np.full_like(cnn_bundle.standardizer.std, np.nan)))
    with pytest.raises(InputError, match=r"^model 'tiny-cnn': gave NaN or infinite outputs"):
        broken.predict_proba(dataset.features[LOG_MEL][:2])


def test_bundle_needs_a_name(cnn_bundle: ModelBundle, dataset: Dataset) -> None:
    result = training.TrainingResult(
        model=cnn_bundle.model,
        standardizer=cnn_bundle.standardizer,
        history={},
        feature_kind=LOG_MEL,
        config=cnn_bundle.train_config,
        split=tiny_split(),
        epochs_run=0,
        cancelled=False,
        stopped_early=False,
        train_seconds=0.0,
    )
    with pytest.raises(InputError, match="bundle name"):
        bundles.bundle_from_training(result, dataset, name="  ")


def test_saved_model_carries_no_optimiser_state_and_versions_are_recorded(tmp_path):
    import keras

    from genre_core.bundles import ModelBundle, library_versions, load_bundle, save_bundle
    from genre_core.inputs import Standardizer
    from genre_core.models import build_model

    model = build_model("ffn_mfcc", (57,), 3)
    model.compile(optimizer=keras.optimizers.Adam(), loss="sparse_categorical_crossentropy")
    model.fit(np.zeros((4, 57), "float32"), np.array([0, 1, 2, 0]), epochs=1, verbose=0)
    bundle = ModelBundle(
        model=model, class_names=["a", "b", "c"], feature_kind="summary", feature_config=None,
        standardizer=Standardizer("summary", np.zeros(57), np.ones(57)), train_config=TrainConfig(preset="ffn_mfcc"),
        split_description={}, history={}, metrics={}, created="2026-01-01T00:00:00", versions=library_versions(),
        name="t", notes="",
    )
    folder = save_bundle(bundle, tmp_path / "b", extra_files={"MODEL_CARD.md": "# card"})
    import io
    import zipfile

    import h5py

    with zipfile.ZipFile(folder / "model.keras") as archive:
        weights = h5py.File(io.BytesIO(archive.read("model.weights.h5")), "r")
        assert "optimizer" not in weights and "layers" in weights
    np.testing.assert_allclose(load_bundle(folder).predict_proba(np.ones((2, 57))), bundle.predict_proba(np.ones((2, 57))),
                               rtol=1e-5)
    assert (folder / "MODEL_CARD.md").read_text() == "# card"
    assert "missing" not in library_versions().values()


def test_check_bundle_target_accepts_only_a_new_name_an_empty_folder_or_a_bundle(saved_cnn: Path,
                                                                                 tmp_path: Path) -> None:
    bundles.check_bundle_target(tmp_path / "new")
    (tmp_path / "empty").mkdir()
    bundles.check_bundle_target(tmp_path / "empty")
    bundles.check_bundle_target(saved_cnn)
    (tmp_path / "music").mkdir()
    (tmp_path / "music" / "song.wav").write_text("x")
    (tmp_path / "link").symlink_to(saved_cnn)
    (tmp_path / "half").mkdir()
    (tmp_path / "half" / "model.keras").write_text("x")
    for name, reason in [("music", "holds 'song.wav'"), ("link", "is a symbolic link"), ("half", "has no bundle.json")]:
        with pytest.raises(InputError, match=reason):
            bundles.check_bundle_target(tmp_path / name)


@pytest.mark.slow
def test_save_bundle_refuses_to_replace_a_folder_that_is_not_a_bundle(cnn_bundle: ModelBundle, tmp_path: Path) -> None:
    (tmp_path / "music").mkdir()
    (tmp_path / "music" / "song.wav").write_text("x")
    with pytest.raises(InputError, match="not a model bundle folder"):
        bundles.save_bundle(cnn_bundle, tmp_path / "music")
    assert (tmp_path / "music" / "song.wav").read_text() == "x"


def test_model_calls_hold_a_bounded_input_whatever_the_row_size() -> None:
    assert bundles.predict_batch_rows((96, 187)) == 14  # musicnn log-mel windows
    assert bundles.predict_batch_rows((57,)) == bundles.PREDICT_BATCH_ROWS  # summary rows: the row cap
    assert bundles.predict_batch_rows((10 * bundles.PREDICT_BATCH_VALUES,)) == 1


def test_small_model_calls_give_the_probabilities_of_one_call(
    cnn_bundle: ModelBundle, dataset: Dataset, monkeypatch: pytest.MonkeyPatch
) -> None:
    features = dataset.features[LOG_MEL][:7]
    at_once = cnn_bundle.predict_proba(features)
    row_values = int(np.prod(cnn_bundle.feature_shape))
    monkeypatch.setattr(bundles, "PREDICT_BATCH_VALUES", 3 * row_values)
    calls: list[int] = []
    original = keras.Model.predict_on_batch
    monkeypatch.setattr(keras.Model, "predict_on_batch",
                        lambda model, rows: calls.append(len(rows)) or original(model, rows))

    in_threes = cnn_bundle.predict_proba(features)

    assert calls == [3, 3, 1]
    np.testing.assert_allclose(in_threes, at_once, atol=1e-6)

"""Tests for genre_core.training: configs, standardisation, model inputs, schedules and `train_model`."""

from __future__ import annotations

import dataclasses
import io
import json
import math
import os
import subprocess
import sys

import numpy as np
import pytest
from conftest import REPO_ROOT
from helpers import tiny_dataset, tiny_split

from genre_core import training
from genre_core.config import LOG_MEL, MFCC, SUMMARY
from genre_core.datasets import Dataset
from genre_core.errors import InputError
from genre_core.models import PRESETS
from genre_core.splits import Split
from genre_core.training import Standardizer, TrainConfig

#: A small FFN that trains in a blink; most training tests use it.
TINY_FFN = {"hidden": [8], "dropout": 0.0}


@pytest.fixture(scope="module")
def dataset() -> Dataset:
    return tiny_dataset()


@pytest.fixture(scope="module")
def split() -> Split:
    return tiny_split()


# --- TrainConfig and schedules ---------------------------------------------------------------------


def test_train_config_round_trips_through_json() -> None:
    config = TrainConfig(
        preset="ffn_mfcc",
        hyper={"hidden": (16, 8), "batch_norm": True},
        optimizer="sgd",
        schedule="one-cycle",
        early_stopping_patience=3,
        class_weight="balanced",
        seed=7,
    )
    assert config.hyper["hidden"] == [16, 8]
    assert TrainConfig.from_dict(json.loads(json.dumps(config.to_dict()))) == config


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("preset", "no_such_model"),
        ("hyper", {"no_such_setting": 1}),
        ("hyper", {"hidden": object()}),
        ("optimizer", "lbfgs"),
        ("learning_rate", 0.0),
        ("learning_rate", math.nan),
        ("momentum", 1.0),
        ("nesterov", 1),
        ("output", "tanh"),
        ("weight_decay", -0.1),
        ("schedule", "warm-restarts"),
        ("batch_size", 0),
        ("batch_size", 8.0),
        ("epochs", 0),
        ("early_stopping_patience", 0),
        ("class_weight", "inverse"),
        ("seed", -1),
    ],
)
def test_train_config_rejects_bad_values_naming_the_field(field: str, value: object) -> None:
    settings = {"preset": "ffn_mfcc", field: value}
    with pytest.raises(InputError) as error:
        TrainConfig(**settings)
    assert error.value.source == f"TrainConfig.{field}"


def test_train_config_from_dict_rejects_unknown_settings() -> None:
    with pytest.raises(InputError, match="unknown setting"):
        TrainConfig.from_dict({"preset": "ffn_mfcc", "epochz": 3})


def test_learning_rate_schedules_follow_their_shapes() -> None:
    total = 100
    rate = lambda schedule, step: training.learning_rate_at(  # noqa: E731
        TrainConfig(preset="ffn_mfcc", learning_rate=0.1, schedule=schedule), step, total
    )
    assert [rate("constant", step) for step in (0, 50, 99)] == [0.1] * 3
    assert [rate("plateau", step) for step in (0, 99)] == [0.1] * 2
    assert rate("step", 49) == pytest.approx(0.1)
    assert rate("step", 50) == pytest.approx(0.01)
    assert rate("step", 75) == pytest.approx(0.001)
    assert rate("exponential", 0) == pytest.approx(0.1)
    assert rate("exponential", 50) == pytest.approx(0.01)
    cosine = [rate("cosine", step) for step in range(total)]
    assert cosine[0] == pytest.approx(0.1) and cosine[-1] < 1e-3 and np.all(np.diff(cosine) < 0)
    total = 140  # cosine restarts: cycles of 20, 40 and 80 steps
    restarts = [rate("cosine-restarts", step) for step in range(total)]
    assert [restarts[step] for step in (0, 20, 60)] == pytest.approx([0.1] * 3)
    assert restarts[10] == pytest.approx(0.05) and restarts[40] == pytest.approx(0.05)
    assert int(np.argmin(restarts[:20])) == 19 and np.all(np.diff(restarts[60:]) < 0) and restarts[-1] < 1e-3
    total = 100
    one_cycle = [rate("one-cycle", step) for step in range(total)]
    assert one_cycle[0] == pytest.approx(0.1 / 25)
    assert int(np.argmax(one_cycle)) == 30 and max(one_cycle) == pytest.approx(0.1)
    assert one_cycle[-1] < 1e-3


def test_sgd_is_plain_by_default_and_momentum_nesterov_and_decay_are_settings(dataset: Dataset, split: Split) -> None:
    plain = training.train_model(dataset, split, TrainConfig(preset="ffn_mfcc", hyper=TINY_FFN, optimizer="sgd",
                                                             epochs=1, batch_size=16)).model.optimizer
    assert plain.momentum == 0.0 and not plain.nesterov and plain.weight_decay is None
    config = TrainConfig(preset="ffn_mfcc", hyper=TINY_FFN, optimizer="sgd", momentum=0.9, nesterov=True,
                         weight_decay=0.001, epochs=1, batch_size=16)
    used = training.train_model(dataset, split, config).model.optimizer
    assert used.momentum == pytest.approx(0.9) and used.nesterov and used.weight_decay == pytest.approx(0.001)
    assert TrainConfig.from_dict({"preset": "ffn_mfcc", "optimizer": "sgd"}).momentum == 0.0  # old JSON: plain SGD


def test_balanced_class_weights_equalise_class_totals() -> None:
    labels = np.array([0, 0, 0, 1, 2, 2])
    weights = training.class_weights(labels, 4, "balanced")
    assert weights == pytest.approx({0: 6 / 9, 1: 6 / 3, 2: 6 / 6, 3: 1.0})
    totals = [weights[label] * count for label, count in enumerate(np.bincount(labels))]
    assert totals == pytest.approx([2.0, 2.0, 2.0])
    assert training.class_weights(labels, 4, "none") is None


# --- Standardizer and model inputs -----------------------------------------------------------------


@pytest.mark.parametrize(("kind", "stat_axes"), [(SUMMARY, (0,)), (LOG_MEL, (0, 2)), (MFCC, (0, 1))])
def test_standardizer_scales_each_width_to_zero_mean_unit_std(
    dataset: Dataset, kind: str, stat_axes: tuple[int, ...]
) -> None:
    features = dataset.features[kind]
    standardizer = Standardizer.fit(features, kind)
    scaled = standardizer.transform(features)
    assert scaled.shape == features.shape and scaled.dtype == np.float32
    np.testing.assert_allclose(scaled.mean(axis=stat_axes), 0.0, atol=1e-4)
    np.testing.assert_allclose(scaled.std(axis=stat_axes), 1.0, atol=1e-4)
    assert standardizer.width == features.shape[1 if kind != MFCC else 2]


def test_standardizer_guards_constant_widths_and_round_trips(dataset: Dataset) -> None:
    features = dataset.features[SUMMARY].copy()
    features[:, 3] = 5.0
    standardizer = Standardizer.fit(features, SUMMARY)
    scaled = standardizer.transform(features)
    assert np.all(np.isfinite(scaled)) and np.all(scaled[:, 3] == 0.0)
    restored = Standardizer.from_dict(json.loads(json.dumps(standardizer.to_dict())))
    np.testing.assert_array_equal(restored.transform(features), scaled)


@pytest.mark.parametrize(
    ("action", "message"),
    [
        (lambda s, f: s.transform(f[:, :50]), "width 50"),
        (lambda s, f: s.transform(f[:, :, None]), "must be"),
        (lambda s, f: Standardizer.fit(np.full((3, 57), np.nan), SUMMARY), "NaN"),
        (lambda s, f: Standardizer.fit(f[:0], SUMMARY), "0 rows"),
        (lambda s, f: Standardizer.from_dict({**s.to_dict(), "std": [0.0] * 57}), "std > 0"),
        (lambda s, f: Standardizer.from_dict({"mean": [1.0]}), "malformed"),
    ],
)
def test_standardizer_rejects_bad_input(dataset: Dataset, action, message: str) -> None:
    features = dataset.features[SUMMARY]
    with pytest.raises(InputError, match=message):
        action(Standardizer.fit(features, SUMMARY), features)


def test_model_inputs_add_the_channel_axis_for_log_mel_only(dataset: Dataset) -> None:
    log_mel = training.model_inputs(dataset, LOG_MEL)
    assert log_mel.shape == (48, 16, 20, 1) and log_mel.dtype == np.float32
    np.testing.assert_array_equal(log_mel[..., 0], dataset.features[LOG_MEL])
    assert training.model_inputs(dataset, MFCC).shape == (48, 20, 13)
    standardizer = Standardizer.fit(dataset.features[SUMMARY], SUMMARY)
    np.testing.assert_array_equal(
        training.model_inputs(dataset, SUMMARY, standardizer), standardizer.transform(dataset.features[SUMMARY])
    )
    with pytest.raises(InputError, match="is for summary"):
        training.model_inputs(dataset, MFCC, standardizer)
    summary_only = dataclasses.replace(dataset, features={SUMMARY: dataset.features[SUMMARY]})
    with pytest.raises(InputError, match="tiny-test-data: has no 'log_mel' features"):
        training.model_inputs(summary_only, LOG_MEL)


@pytest.mark.parametrize(
    ("parts", "message"),
    [
        ({"train": np.array([], dtype=np.int64)}, "is empty"),
        ({"train": np.arange(40)}, "also appear"),
        ({"test": np.array([47, 48])}, "not row indices"),
        ({"val": np.array([0.5])}, "not row indices"),
    ],
)
def test_train_model_rejects_bad_splits(dataset: Dataset, split: Split, parts: dict, message: str) -> None:
    bad = dataclasses.replace(split, **parts)
    with pytest.raises(InputError, match=message):
        training.train_model(dataset, bad, TrainConfig(preset="ffn_mfcc", epochs=1))


# --- training --------------------------------------------------------------------------------------


@pytest.mark.slow
@pytest.mark.parametrize("preset", sorted(name for name, spec in PRESETS.items() if not spec.transfer))
def test_every_preset_trains(dataset: Dataset, split: Split, preset: str) -> None:
    result = training.train_model(dataset, split, TrainConfig(preset=preset, epochs=1, batch_size=16))
    kind = PRESETS[preset].feature_kind
    assert result.feature_kind == kind and result.epochs_run == 1
    assert not result.cancelled and not result.stopped_early and result.train_seconds > 0
    assert set(result.history) == {"loss", "accuracy", "val_loss", "val_accuracy", "learning_rate"}
    assert all(len(values) == 1 and np.isfinite(values[0]) for values in result.history.values())
    inputs = training.model_inputs(dataset.subset(split.test), kind, result.standardizer)
    probabilities = np.asarray(result.model(inputs, training=False))
    assert probabilities.shape == (len(split.test), dataset.n_classes)


@pytest.mark.slow
def test_standardizer_is_fitted_on_training_rows_only(split: Split) -> None:
    data = tiny_dataset()
    held_out = np.concatenate([split.val, split.test])
    data.features[SUMMARY][held_out] *= 1000.0  # outliers that would dominate statistics over all rows
    result = training.train_model(data, split, TrainConfig(preset="ffn_mfcc", hyper=TINY_FFN, epochs=1))
    on_train = Standardizer.fit(data.features[SUMMARY][split.train], SUMMARY)
    on_all = Standardizer.fit(data.features[SUMMARY], SUMMARY)
    np.testing.assert_array_equal(result.standardizer.mean, on_train.mean)
    np.testing.assert_array_equal(result.standardizer.std, on_train.std)
    assert np.all(on_all.std > 10 * on_train.std)


@pytest.mark.slow
def test_same_seed_gives_identical_weights_and_another_seed_differs(dataset: Dataset, split: Split) -> None:
    def weights(seed: int) -> list[np.ndarray]:
        config = TrainConfig(preset="ffn_mfcc", hyper={"hidden": [8]}, epochs=2, batch_size=8, seed=seed)
        return training.train_model(dataset, split, config).model.get_weights()

    first, again, other = weights(3), weights(3), weights(4)
    assert all(np.array_equal(a, b) for a, b in zip(first, again, strict=True))
    assert not all(np.array_equal(a, b) for a, b in zip(first, other, strict=True))


def test_sigmoid_output_trains_a_binary_task_with_binary_cross_entropy(split: Split) -> None:
    binary = tiny_dataset(n_classes=2)
    config = TrainConfig(preset="ffn_mfcc", hyper=TINY_FFN, output="sigmoid", epochs=4, batch_size=8,
                         learning_rate=0.01)
    result = training.train_model(binary, split, config)
    assert result.model.output_shape == (None, 1) and result.model.loss == "binary_crossentropy"
    assert result.history["accuracy"][-1] >= 0.9 and result.history["val_accuracy"][-1] >= 0.9
    inputs = training.prepare_inputs(binary.features[SUMMARY][split.test], SUMMARY, result.standardizer)
    p = np.asarray(result.model(inputs))[:, 0]
    assert np.mean((p > 0.5) == binary.labels[split.test]) >= 0.9
    with pytest.raises(InputError, match="sigmoid output is for 2 classes"):
        training.train_model(tiny_dataset(n_classes=3), split, config)


@pytest.mark.slow
def test_course_cnn_recipe_gives_identical_weights_on_two_runs(split: Split) -> None:
    """The course recipe: cnn_small, plain mini-batch SGD, batch 32, seed 42 with op determinism."""
    data = tiny_dataset(n_classes=4)
    config = TrainConfig(preset="cnn_small", optimizer="sgd", learning_rate=0.01, batch_size=32, epochs=2, seed=42)

    def weights() -> list[np.ndarray]:
        return training.train_model(data, split, config).model.get_weights()

    first, again = weights(), weights()
    assert all(np.array_equal(a, b) for a, b in zip(first, again, strict=True))


@pytest.mark.slow
def test_early_stopping_stops_and_restores_the_best_epoch(split: Split) -> None:
    data = tiny_dataset()
    # Validation labels disagree with the signal the training rows teach, so validation loss only rises.
    data.labels[split.val] = (data.labels[split.val] + 1) % data.n_classes
    config = TrainConfig(
        preset="ffn_mfcc", hyper=TINY_FFN, learning_rate=0.05, epochs=30, batch_size=8, early_stopping_patience=2
    )
    result = training.train_model(data, split, config)
    val_loss = result.history["val_loss"]
    assert result.stopped_early and result.epochs_run < config.epochs
    best = int(np.argmin(val_loss))
    assert best < result.epochs_run - 1 and val_loss[-1] > val_loss[best]
    inputs = training.model_inputs(data.subset(split.val), SUMMARY, result.standardizer)
    restored_loss = result.model.evaluate(inputs, data.labels[split.val], verbose=0, return_dict=True)["loss"]
    assert restored_loss == pytest.approx(val_loss[best], rel=1e-4)


@pytest.mark.slow
def test_cancel_stops_within_the_epoch(dataset: Dataset, split: Split) -> None:
    polls = []

    def cancel() -> bool:
        polls.append(True)
        return len(polls) >= 3

    config = TrainConfig(preset="ffn_mfcc", hyper=TINY_FFN, epochs=5, batch_size=4)
    result = training.train_model(dataset, split, config, cancel=cancel)
    assert result.cancelled and not result.stopped_early
    assert len(polls) == 3 < len(split.train) // 4  # three batches ran, out of 8 in the first epoch
    assert result.epochs_run == 1 and len(result.history["loss"]) == 1


@pytest.mark.slow
def test_progress_reports_batches_and_epochs(dataset: Dataset, split: Split) -> None:
    snapshots: list[training.TrainingProgress] = []
    stream = io.StringIO()
    bar = training.tqdm_progress(description="tiny", file=stream)

    def progress(state: training.TrainingProgress) -> None:
        snapshots.append(state)
        bar(state)

    config = TrainConfig(preset="ffn_mfcc", hyper=TINY_FFN, epochs=2, batch_size=4, class_weight="balanced")
    result = training.train_model(dataset, split, config, progress=progress)
    epoch_ends = [state for state in snapshots if state.batch == state.batches]
    within = [state for state in snapshots if state.batch < state.batches]
    assert [state.epoch for state in epoch_ends] == [1, 2] and all(state.batches == 8 for state in snapshots)
    assert within and all(state.val_loss is None for state in within)
    assert all(state.val_loss is not None and state.val_accuracy is not None for state in epoch_ends)
    assert [len(state.history["loss"]) for state in epoch_ends] == [1, 2]
    assert epoch_ends[-1].history == result.history and epoch_ends[-1].fraction == 1.0
    assert epoch_ends[-1].eta_s == 0.0 and all(state.eta_s >= 0 and state.elapsed_s > 0 for state in snapshots)
    assert [state.fraction for state in snapshots] == sorted(state.fraction for state in snapshots)
    output = stream.getvalue()
    assert "tiny" in output and "16/16" in output and "epoch=2/2" in output


#: Every optimiser and every schedule, paired so that each appears at least once in six short runs.
OPTIMIZER_SCHEDULE_PAIRS = [
    ("sgd", "constant"),
    ("adam", "step"),
    ("rmsprop", "exponential"),
    ("adamw", "cosine"),
    ("sgd", "plateau"),
    ("adam", "one-cycle"),
    ("rmsprop", "cosine-restarts"),
]


def test_pairs_cover_every_optimizer_and_schedule() -> None:
    assert {pair[0] for pair in OPTIMIZER_SCHEDULE_PAIRS} == set(training.OPTIMIZERS)
    assert {pair[1] for pair in OPTIMIZER_SCHEDULE_PAIRS} == set(training.SCHEDULES)


@pytest.mark.slow
@pytest.mark.parametrize(("optimizer", "schedule"), OPTIMIZER_SCHEDULE_PAIRS)
def test_each_optimizer_and_schedule_trains(dataset: Dataset, split: Split, optimizer: str, schedule: str) -> None:
    config = TrainConfig(
        preset="ffn_mfcc",
        hyper=TINY_FFN,
        optimizer=optimizer,
        weight_decay=0.01,
        schedule=schedule,
        learning_rate=0.01,
        epochs=1,
        batch_size=4,
    )
    result = training.train_model(dataset, split, config)
    used = result.model.optimizer
    assert type(used).__name__ == {"sgd": "SGD", "adam": "Adam", "rmsprop": "RMSprop", "adamw": "AdamW"}[optimizer]
    batches = len(split.train) // 4
    assert used.weight_decay == pytest.approx(0.01) and int(used.iterations) == batches
    if optimizer == "sgd":
        assert used.momentum == pytest.approx(config.momentum)
    expected = training.learning_rate_at(config, batches - 1, batches)  # the rate of the last step
    assert result.history["learning_rate"][0] == pytest.approx(expected, rel=1e-5)
    assert np.isfinite(result.history["loss"][0])


@pytest.mark.slow
def test_training_writes_nothing_to_stderr_when_rows_do_not_fill_the_last_batch() -> None:
    """Keras' tf.data pipeline for a partial last batch made TensorFlow log "NodeDef mentions attribute
    use_unbounded_threadpool" (an E0000 line) on every training; and no INFO lines on import either."""
    code = (
        "import numpy as np\n"
        "from genre_core import training\n"
        "from genre_core.datasets import Dataset\n"
        "from genre_core.splits import Split\n"
        "rng = np.random.default_rng(0)\n"
        "dataset = Dataset(class_names=['a', 'b'], labels=np.arange(30) % 2, track_ids=np.arange(30).astype(str),\n"
        "                  segment_index=np.zeros(30, dtype=np.int64), source='tiny',\n"
        "                  features={'summary': rng.normal(size=(30, 57)).astype('float32')})\n"
        "split = Split(train=np.arange(26), val=np.arange(26, 28), test=np.arange(28, 30), protocol='grouped', seed=0)\n"
        "training.train_model(dataset, split, training.TrainConfig('ffn_mfcc', epochs=2, batch_size=8))\n"
        "print('trained')\n"
    )
    environment = {key: value for key, value in os.environ.items() if key != "TF_CPP_MIN_LOG_LEVEL"}
    environment["PYTHONPATH"] = str(REPO_ROOT)
    result = subprocess.run([sys.executable, "-c", code], cwd=REPO_ROOT, capture_output=True, text=True,
                            timeout=300, check=False, env=environment)
    assert result.stdout.strip() == "trained", result.stderr
    assert result.stderr == ""

"""Tests for genre_core.training: `train_model` (splits, standardisation on training rows, determinism, early
stopping, cancel, progress through `train_callbacks`, every optimiser and schedule)."""

from __future__ import annotations

import dataclasses
import io
import os
import subprocess
import sys

import numpy as np
import pytest
from conftest import REPO_ROOT
from helpers import tiny_dataset, tiny_split

from genre_core import training
from genre_core.config import SUMMARY
from genre_core.dataset import Dataset
from genre_core.errors import InputError
from genre_core.models import PRESETS
from genre_core.splits import Split
from genre_core.inputs import Standardizer, model_inputs
from genre_core.train_callbacks import TrainingProgress, tqdm_progress
from genre_core.train_choices import OPTIMIZERS, SCHEDULES
from genre_core.train_config import TrainConfig, learning_rate_at

#: A small FFN that trains in a blink; most training tests use it.
TINY_FFN = {"hidden": [8], "dropout": 0.0}


@pytest.fixture(scope="module")
def dataset() -> Dataset:
    return tiny_dataset()


@pytest.fixture(scope="module")
def split() -> Split:
    return tiny_split()


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
    inputs = model_inputs(dataset.subset(split.test), kind, result.standardizer)
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


def test_sgd_momentum_nesterov_and_weight_decay_reach_the_optimiser(dataset: Dataset, split: Split) -> None:
    plain = training.train_model(dataset, split, TrainConfig(preset="ffn_mfcc", hyper=TINY_FFN, optimizer="sgd",
                                                             epochs=1, batch_size=16)).model.optimizer
    assert plain.momentum == 0.0 and not plain.nesterov and plain.weight_decay is None
    config = TrainConfig(preset="ffn_mfcc", hyper=TINY_FFN, optimizer="sgd", momentum=0.9, nesterov=True,
                         weight_decay=0.001, epochs=1, batch_size=16)
    used = training.train_model(dataset, split, config).model.optimizer
    assert used.momentum == pytest.approx(0.9) and used.nesterov and used.weight_decay == pytest.approx(0.001)


def test_sigmoid_output_trains_a_binary_task_with_binary_cross_entropy(split: Split) -> None:
    binary = tiny_dataset(n_classes=2)
    config = TrainConfig(preset="ffn_mfcc", hyper=TINY_FFN, output="sigmoid", epochs=4, batch_size=8,
                         learning_rate=0.01)
    result = training.train_model(binary, split, config)
    assert result.model.output_shape == (None, 1) and result.model.loss == "binary_crossentropy"
    assert result.history["accuracy"][-1] >= 0.9 and result.history["val_accuracy"][-1] >= 0.9
    inputs = model_inputs(binary, SUMMARY, result.standardizer)[split.test]
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
    inputs = model_inputs(data.subset(split.val), SUMMARY, result.standardizer)
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
    snapshots: list[TrainingProgress] = []
    stream = io.StringIO()
    bar = tqdm_progress(description="tiny", file=stream)

    def progress(state: TrainingProgress) -> None:
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
    assert {pair[0] for pair in OPTIMIZER_SCHEDULE_PAIRS} == set(OPTIMIZERS)
    assert {pair[1] for pair in OPTIMIZER_SCHEDULE_PAIRS} == set(SCHEDULES)


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
    expected = learning_rate_at(config, batches - 1, batches)  # the rate of the last step
    assert result.history["learning_rate"][0] == pytest.approx(expected, rel=1e-5)
    assert np.isfinite(result.history["loss"][0])


@pytest.mark.slow
def test_training_writes_nothing_to_stderr_when_rows_do_not_fill_the_last_batch() -> None:
    """Keras' tf.data pipeline for a partial last batch made TensorFlow log "NodeDef mentions attribute
    use_unbounded_threadpool" (an E0000 line) on every training; and no INFO lines on import either."""
    code = (
        "import numpy as np\n"
        "from genre_core import train_config, training\n"
        "from genre_core.dataset import Dataset\n"
        "from genre_core.splits import Split\n"
        "rng = np.random.default_rng(0)\n"
        "dataset = Dataset(class_names=['a', 'b'], labels=np.arange(30) % 2, track_ids=np.arange(30).astype(str),\n"
        "                  segment_index=np.zeros(30, dtype=np.int64), source='tiny',\n"
        "                  features={'summary': rng.normal(size=(30, 57)).astype('float32')})\n"
        "split = Split(train=np.arange(26), val=np.arange(26, 28), test=np.arange(28, 30), protocol='grouped', seed=0)\n"
        "training.train_model(dataset, split, train_config.TrainConfig('ffn_mfcc', epochs=2, batch_size=8))\n"
        "print('trained')\n"
    )
    environment = {key: value for key, value in os.environ.items() if key != "TF_CPP_MIN_LOG_LEVEL"}
    environment["PYTHONPATH"] = str(REPO_ROOT)
    result = subprocess.run([sys.executable, "-c", code], cwd=REPO_ROOT, capture_output=True, text=True,
                            timeout=300, check=False, env=environment)
    assert result.stdout.strip() == "trained", result.stderr
    assert result.stderr == ""

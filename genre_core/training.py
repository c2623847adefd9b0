"""The training loop: `train_model` fits a preset on a split's training rows (standardizer fitted there, optional
validation, early stopping, schedules, progress and cancel through `genre_core.train_callbacks`) and returns a
`TrainingResult`; `set_determinism` makes runs repeatable."""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

import numpy as np

import keras
import tensorflow as tf

from genre_core.dataset import Dataset
from genre_core.errors import InputError
from genre_core.inputs import WIDTH_AXIS, Standardizer, dataset_features, prepare_inputs
from genre_core.models import build_model, get_preset
from genre_core.splits import Split
from genre_core.train_choices import SIGMOID
from genre_core.train_callbacks import CancelCallback, ProgressCallback, ScheduledLearningRate, TrainingMonitor
from genre_core.train_config import TrainConfig, class_weights


def set_determinism(seed: int) -> None:
    """Seed Python, NumPy and TensorFlow and make TF ops deterministic (process-wide, permanent)."""
    keras.utils.set_random_seed(seed)
    tf.config.experimental.enable_op_determinism()


def _optimizer(config: TrainConfig) -> keras.optimizers.Optimizer:
    decay = config.weight_decay or None
    if config.optimizer == "sgd":
        return keras.optimizers.SGD(
            config.learning_rate, momentum=config.momentum, nesterov=config.nesterov, weight_decay=decay
        )
    if config.optimizer == "rmsprop":
        return keras.optimizers.RMSprop(config.learning_rate, weight_decay=decay)
    if config.optimizer == "adamw":
        return keras.optimizers.AdamW(config.learning_rate, weight_decay=config.weight_decay)
    return keras.optimizers.Adam(config.learning_rate, weight_decay=decay)


@dataclass
class TrainingResult:
    """A trained model and everything needed to use and describe it.

    ``history``: per finished epoch lists (see `TrainingProgress`); a cancelled run's last entry covers
    the part of the epoch that ran. ``model`` holds the best weights when early stopping was on (also
    after a cancel), else the last ones.
    """

    model: keras.Model
    standardizer: Standardizer
    history: dict[str, list[float]]
    feature_kind: str
    config: TrainConfig
    split: Split
    epochs_run: int
    cancelled: bool
    stopped_early: bool
    train_seconds: float


def _split_rows(dataset: Dataset, split: Split) -> dict[str, np.ndarray]:
    """The split's parts as int64 row indices, checked: in range, train non-empty and disjoint from
    val and test."""
    parts = {}
    for name in ("train", "val", "test"):
        rows = np.asarray(getattr(split, name))
        if rows.size and (rows.dtype.kind not in "iu" or rows.min() < 0 or rows.max() >= len(dataset)):
            raise InputError(f"split.{name}", f"holds values that are not row indices 0..{len(dataset) - 1}")
        parts[name] = rows.astype(np.int64).reshape(-1)
    if len(parts["train"]) == 0:
        raise InputError("split.train", "is empty")
    if np.intersect1d(parts["train"], np.concatenate([parts["val"], parts["test"]])).size:
        raise InputError("split", "train rows also appear in val or test")
    return parts


def train_model(
    dataset: Dataset,
    split: Split,
    config: TrainConfig,
    *,
    progress: ProgressCallback | None = None,
    cancel: CancelCallback | None = None,
) -> TrainingResult:
    """Train ``config.preset`` on ``split.train`` rows of ``dataset`` (validating on ``split.val`` when it
    is non-empty; ``split.test`` is not touched). The standardizer is fitted on the training rows only.
    ``progress`` receives `TrainingProgress` snapshots; ``cancel()`` is polled after every batch and,
    once true, ends training cleanly with ``cancelled=True``. Deterministic for a given ``config.seed``.
    """
    preset = get_preset(config.preset)
    feature_kind = preset.feature_kind
    features = dataset_features(dataset, feature_kind)
    rows = _split_rows(dataset, split)
    set_determinism(config.seed)

    if preset.standardize:
        standardizer = Standardizer.fit(features[rows["train"]], feature_kind)
    else:
        standardizer = Standardizer.identity(feature_kind, features.shape[WIDTH_AXIS[feature_kind]])
    x_train = prepare_inputs(features[rows["train"]], feature_kind, standardizer)
    y_train = dataset.labels[rows["train"]]
    has_val = len(rows["val"]) > 0
    x_val = prepare_inputs(features[rows["val"]], feature_kind, standardizer)

    if config.output == SIGMOID and dataset.n_classes != 2:
        raise InputError("TrainConfig.output", f"a sigmoid output is for 2 classes, {dataset.source} has "
                         f"{dataset.n_classes}: choose 2 genres or the softmax output")
    model = build_model(config.preset, x_train.shape[1:], dataset.n_classes, output=config.output, **config.hyper)
    fitted = model
    if preset.transfer:  # train only the layers from `trainable_from` on, on the frozen layers' cached output
        from genre_core import transfer

        cut = {**preset.default_hyper, **config.hyper}["trainable_from"]
        # of every row, so that other splits of the same dataset (folds) find them in the cache too
        activations = transfer.frozen_activations(model, cut, prepare_inputs(features, feature_kind, standardizer))
        x_train, x_val = activations[rows["train"]], activations[rows["val"]]
        fitted = transfer.trainable_part(model, cut)
    validation = (x_val, dataset.labels[rows["val"]])
    loss = "binary_crossentropy" if config.output == SIGMOID else "sparse_categorical_crossentropy"
    metric = keras.metrics.BinaryAccuracy(name="accuracy") if config.output == SIGMOID else "accuracy"
    fitted.compile(optimizer=_optimizer(config), loss=loss, metrics=[metric], jit_compile=False)

    batches = math.ceil(len(x_train) / config.batch_size)
    monitor = TrainingMonitor(config.epochs, batches, progress, cancel)
    callbacks: list[keras.callbacks.Callback] = [monitor]
    watched = "val_loss" if has_val else "loss"
    if config.schedule == "plateau":
        patience = max(1, config.early_stopping_patience // 2) if config.early_stopping_patience else 2
        callbacks.append(
            keras.callbacks.ReduceLROnPlateau(
                monitor=watched, factor=0.5, patience=patience, min_lr=config.learning_rate / 1000
            )
        )
    elif config.schedule != "constant":
        callbacks.append(ScheduledLearningRate(config, batches))
    early_stopping = None
    if config.early_stopping_patience is not None:
        early_stopping = keras.callbacks.EarlyStopping(
            monitor=watched, patience=config.early_stopping_patience, restore_best_weights=True
        )
        callbacks.append(early_stopping)

    start = time.perf_counter()
    fitted.fit(
        x_train,
        y_train,
        batch_size=config.batch_size,
        epochs=config.epochs,
        validation_data=validation if has_val else None,
        shuffle=True,
        class_weight=class_weights(y_train, dataset.n_classes, config.class_weight),
        callbacks=callbacks,
        verbose=0,
    )
    return TrainingResult(
        model=model,
        standardizer=standardizer,
        history=monitor.history,
        feature_kind=feature_kind,
        config=config,
        split=split,
        epochs_run=len(monitor.history.get("loss", [])),
        cancelled=monitor.cancelled,
        stopped_early=bool(early_stopping is not None and early_stopping.stopped_epoch > 0 and not monitor.cancelled),
        train_seconds=time.perf_counter() - start,
    )

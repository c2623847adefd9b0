"""Training: `TrainConfig`, the `Standardizer`, model inputs, and `train_model` with progress and cancel.

`prepare_inputs` / `model_inputs` are the one place where dataset features become model inputs
(standardised float32, a channel axis added for log-mel); evaluation, prediction and explanations use
them too.
"""

from __future__ import annotations

import dataclasses
import json
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import IO, Any

import numpy as np

import keras
import tensorflow as tf

from genre_core.config import FEATURE_KINDS, LOG_MEL, MFCC, SUMMARY
from genre_core.datasets import Dataset
from genre_core.errors import InputError
from genre_core.inputs import with_channel_axis
from genre_core.models import OUTPUTS, SIGMOID, build_model, check_hyper, get_preset
from genre_core.splits import Split

OPTIMIZERS = ("sgd", "adam", "rmsprop", "adamw")
SCHEDULES = ("constant", "step", "exponential", "cosine", "cosine-restarts", "plateau", "one-cycle")
#: "cosine-restarts": this many cosine cycles over the run, each twice as long as the one before (SGDR).
RESTART_CYCLES = 3
CLASS_WEIGHTS = ("none", "balanced")


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


@dataclass(frozen=True)
class TrainConfig:
    """How to train one model; JSON round-trips through `to_dict` / `from_dict`.

    ``weight_decay`` is decoupled weight decay applied by every optimiser when > 0 ("adamw" is Adam with
    it; with 0 it behaves as Adam). ``momentum`` and ``nesterov`` are used by "sgd" only: momentum 0 (the
    default) is plain mini-batch stochastic gradient descent. ``output`` is the classifier head
    (`models.OUTPUTS`): "softmax" with categorical cross-entropy, or for a 2-class task "sigmoid", one unit with
    binary cross-entropy. Schedules act over the whole run
    (t = step / total steps): "step" multiplies the rate by 0.1 at 50 % and again at 75 % of the steps;
    "exponential" decays it smoothly to 1 % at the end; "cosine" anneals it to 0; "cosine-restarts" anneals
    it to 0 in `RESTART_CYCLES` cycles, each twice as long as the one before, restarting at the full rate
    (Keras ``CosineDecayRestarts``, SGDR); "one-cycle" rises from
    rate/25 to the rate over the first 30 % and anneals to rate/1e4 (both cosine); "plateau" halves it
    when the monitored loss has not improved for 2 epochs (half the early-stopping patience if set).
    Early stopping and "plateau" monitor the validation loss, or the training loss when there is no
    validation part. ``class_weight="balanced"`` weights each class by rows / (classes present * class rows).
    """

    preset: str
    hyper: dict[str, Any] = field(default_factory=dict)
    optimizer: str = "adam"
    learning_rate: float = 1e-3
    momentum: float = 0.0
    nesterov: bool = False
    weight_decay: float = 0.0
    schedule: str = "constant"
    batch_size: int = 32
    epochs: int = 20
    early_stopping_patience: int | None = None
    class_weight: str = "none"
    seed: int = 0
    output: str = "softmax"

    def __post_init__(self) -> None:
        try:
            get_preset(self.preset)
        except InputError as error:
            raise InputError("TrainConfig.preset", error.reason) from error
        try:
            # JSON normal form (tuples become lists) so a config equals its own round trip.
            object.__setattr__(self, "hyper", json.loads(json.dumps(self.hyper)))
            check_hyper(self.preset, self.hyper)
        except (TypeError, ValueError) as error:
            reason = error.reason if isinstance(error, InputError) else f"not JSON-serialisable ({error})"
            raise InputError("TrainConfig.hyper", reason) from error
        patience = self.early_stopping_patience
        checks = {
            "optimizer": self.optimizer in OPTIMIZERS,
            "learning_rate": _is_number(self.learning_rate) and 0 < self.learning_rate <= 10,
            "momentum": _is_number(self.momentum) and 0 <= self.momentum < 1,
            "nesterov": isinstance(self.nesterov, bool),
            "weight_decay": _is_number(self.weight_decay) and 0 <= self.weight_decay < 1,
            "schedule": self.schedule in SCHEDULES,
            "batch_size": _is_int(self.batch_size) and 1 <= self.batch_size <= 65536,
            "epochs": _is_int(self.epochs) and 1 <= self.epochs <= 10000,
            "early_stopping_patience": patience is None or (_is_int(patience) and patience >= 1),
            "class_weight": self.class_weight in CLASS_WEIGHTS,
            "seed": _is_int(self.seed) and 0 <= self.seed < 2**31,
            "output": self.output in OUTPUTS,
        }
        for name, valid in checks.items():
            if not valid:
                raise InputError(f"TrainConfig.{name}", f"value {getattr(self, name)!r} is not allowed")

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> TrainConfig:
        known = {item.name for item in dataclasses.fields(cls)}
        unknown = set(values) - known
        if unknown:
            raise InputError("TrainConfig", f"unknown setting(s) {sorted(unknown)}")
        if "preset" not in values:
            raise InputError("TrainConfig", "missing setting 'preset'")
        return cls(**values)


def learning_rate_at(config: TrainConfig, step: int, total_steps: int) -> float:
    """Learning rate of ``config.schedule`` before optimiser step ``step`` (0-based) of ``total_steps``.

    "constant" and "plateau" return the base rate ("plateau" is adapted by a callback during training).
    """
    base = config.learning_rate
    t = min(max(step / max(total_steps, 1), 0.0), 1.0)

    def cosine(start: float, end: float, u: float) -> float:
        return end + (start - end) * (1 + math.cos(math.pi * u)) / 2

    if config.schedule == "step":
        return base * 0.1 ** ((t >= 0.5) + (t >= 0.75))
    if config.schedule == "exponential":
        return base * 0.01**t
    if config.schedule == "cosine":
        return cosine(base, 0.0, t)
    if config.schedule == "cosine-restarts":  # cycles of T, 2T, 4T, ... steps fill the run
        first_cycle = max(total_steps, 1) / (2**RESTART_CYCLES - 1)
        restarts = keras.optimizers.schedules.CosineDecayRestarts(base, first_decay_steps=first_cycle, t_mul=2.0)
        return float(restarts(min(max(step, 0), max(total_steps, 1))))
    if config.schedule == "one-cycle":
        warmup = 0.3
        if t < warmup:
            return cosine(base / 25, base, t / warmup)
        return cosine(base, base / 1e4, (t - warmup) / (1 - warmup))
    return base


def class_weights(labels: np.ndarray, n_classes: int, mode: str) -> dict[int, float] | None:
    """Keras ``class_weight`` for integer ``labels`` (rows,): None for "none"; for "balanced"
    rows / (classes present * rows of the class), and 1.0 for classes without rows."""
    if mode == "none":
        return None
    counts = np.bincount(labels, minlength=n_classes)
    present = int(np.count_nonzero(counts))
    return {index: (len(labels) / (present * count) if count else 1.0) for index, count in enumerate(counts)}


# --- standardisation and model inputs --------------------------------------------------------------

#: For each feature kind: the axis of one row that standardisation is per (after the row axis 0).
_WIDTH_AXIS = {SUMMARY: 1, LOG_MEL: 1, MFCC: 2}
#: Rank of a batch of raw features (rows first) for each kind.
_FEATURE_RANK = {SUMMARY: 2, LOG_MEL: 3, MFCC: 3}
_FEATURE_LAYOUT = {SUMMARY: "(rows, features)", LOG_MEL: "(rows, n_mels, frames)", MFCC: "(rows, frames, n_mfcc)"}
_CHUNK_ROWS = 1024


def _check_features(features: np.ndarray, feature_kind: str, source: str = "features") -> None:
    if feature_kind not in FEATURE_KINDS:
        raise InputError(source, f"unknown feature kind '{feature_kind}'; known: {', '.join(FEATURE_KINDS)}")
    if features.ndim != _FEATURE_RANK[feature_kind]:
        raise InputError(
            source, f"{feature_kind} features must be {_FEATURE_LAYOUT[feature_kind]}, got shape {features.shape}"
        )


def _per_width(values: np.ndarray, feature_kind: str) -> np.ndarray:
    """Broadcastable view of a (width,) vector against (rows, ...) features of ``feature_kind``."""
    return values[:, None] if feature_kind == LOG_MEL else values


@dataclass(frozen=True, eq=False)
class Standardizer:
    """Per-width z-scoring fitted on training rows: summary per column, log-mel per mel band (statistics
    over rows and frames), MFCC per coefficient (over rows and frames). ``mean``/``std``: (width,)
    float64 in feature units; a constant width gets std 1 so it maps to 0 instead of dividing by 0."""

    feature_kind: str
    mean: np.ndarray
    std: np.ndarray

    @classmethod
    def fit(cls, features: np.ndarray, feature_kind: str) -> Standardizer:
        """Statistics of ``features`` (rows, ...) in the layout of ``feature_kind``, in float64, in
        chunks of rows so that a large log-mel array is never copied whole."""
        _check_features(features, feature_kind)
        if len(features) == 0:
            raise InputError("features", "cannot fit a standardizer on 0 rows")
        width_axis = _WIDTH_AXIS[feature_kind]
        axes = tuple(axis for axis in range(features.ndim) if axis != width_axis)
        count = features.size // features.shape[width_axis]
        chunks = range(0, len(features), _CHUNK_ROWS)
        total = sum(np.sum(features[start : start + _CHUNK_ROWS], axis=axes, dtype=np.float64) for start in chunks)
        mean = total / count
        if not np.all(np.isfinite(mean)):
            raise InputError("features", "contain NaN or infinite values")
        squares = sum(
            np.sum(np.square(features[start : start + _CHUNK_ROWS] - _per_width(mean, feature_kind)), axis=axes)
            for start in chunks
        )
        std = np.sqrt(squares / count)
        return cls(feature_kind, mean, np.where(std < 1e-8, 1.0, std))

    @classmethod
    def identity(cls, feature_kind: str, width: int) -> Standardizer:
        """A standardizer that leaves features as they are (mean 0, std 1), for models that normalise their
        own input (a pretrained trunk's input batch norm)."""
        return cls(feature_kind, np.zeros(width), np.ones(width))

    @property
    def width(self) -> int:
        return len(self.mean)

    def transform(self, features: np.ndarray) -> np.ndarray:
        """(rows, ...) raw features -> float32 array of the same shape, standardised."""
        _check_features(features, self.feature_kind)
        width = features.shape[_WIDTH_AXIS[self.feature_kind]]
        if width != self.width:
            raise InputError("features", f"have width {width} on the standardised axis, expected {self.width}")
        mean = _per_width(self.mean, self.feature_kind)
        std = _per_width(self.std, self.feature_kind)
        return ((features - mean) / std).astype(np.float32)

    def to_dict(self) -> dict[str, Any]:
        return {"feature_kind": self.feature_kind, "mean": self.mean.tolist(), "std": self.std.tolist()}

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> Standardizer:
        try:
            kind = values["feature_kind"]
            mean = np.asarray(values["mean"], dtype=np.float64)
            std = np.asarray(values["std"], dtype=np.float64)
        except (KeyError, TypeError, ValueError) as error:
            raise InputError("standardizer", f"malformed ({error!r})") from error
        if kind not in FEATURE_KINDS:
            raise InputError("standardizer", f"unknown feature kind {kind!r}")
        if mean.ndim != 1 or mean.shape != std.shape or len(mean) == 0:
            raise InputError("standardizer", "mean and std must be equal-length non-empty lists")
        if not (np.all(np.isfinite(mean)) and np.all(np.isfinite(std)) and np.all(std > 0)):
            raise InputError("standardizer", "mean and std must be finite and std > 0")
        return cls(kind, mean, std)


def prepare_inputs(
    features: np.ndarray, feature_kind: str, standardizer: Standardizer | None = None
) -> np.ndarray:
    """Raw features (rows, ...) of ``feature_kind`` -> model input: standardised when a ``standardizer``
    is given, float32, and for log-mel with a trailing channel axis, (rows, n_mels, frames, 1)."""
    features = np.asarray(features)
    _check_features(features, feature_kind)
    if standardizer is not None:
        if standardizer.feature_kind != feature_kind:
            raise InputError("standardizer", f"is for {standardizer.feature_kind}, not {feature_kind}")
        features = standardizer.transform(features)
    features = features.astype(np.float32, copy=False)
    return with_channel_axis(features, feature_kind)


def dataset_features(dataset: Dataset, feature_kind: str) -> np.ndarray:
    """``dataset.features[feature_kind]``; InputError naming the dataset when it lacks that kind."""
    if feature_kind not in dataset.features:
        held = ", ".join(dataset.features) or "none"
        raise InputError(dataset.source, f"has no '{feature_kind}' features (it holds: {held})")
    return dataset.features[feature_kind]


def model_inputs(dataset: Dataset, feature_kind: str, standardizer: Standardizer | None = None) -> np.ndarray:
    """All rows of ``dataset`` as model input of ``feature_kind`` (see `prepare_inputs`)."""
    return prepare_inputs(dataset_features(dataset, feature_kind), feature_kind, standardizer)


def set_determinism(seed: int) -> None:
    """Seed Python, NumPy and TensorFlow and make TF ops deterministic (process-wide, permanent)."""
    keras.utils.set_random_seed(seed)
    tf.config.experimental.enable_op_determinism()


# --- progress, cancel and schedules during fit -----------------------------------------------------


@dataclass(frozen=True)
class TrainingProgress:
    """A snapshot sent to the ``progress`` callable: after every epoch (``batch == batches``, validation
    values set when there is a validation part) and every few batches within one (running averages of
    the epoch so far, ``val_*`` None). ``epoch`` is 1-based; times in seconds; ``history`` holds the
    finished epochs (keys ``loss``, ``accuracy``, ``learning_rate``, and ``val_loss``/``val_accuracy``)."""

    epoch: int
    epochs: int
    batch: int
    batches: int
    loss: float
    accuracy: float
    val_loss: float | None
    val_accuracy: float | None
    learning_rate: float
    elapsed_s: float
    eta_s: float
    history: dict[str, list[float]]

    @property
    def fraction(self) -> float:
        """Share of all planned batches done, in [0, 1]."""
        return ((self.epoch - 1) * self.batches + self.batch) / (self.epochs * self.batches)


ProgressCallback = Callable[[TrainingProgress], None]
CancelCallback = Callable[[], bool]


class _Monitor(keras.callbacks.Callback):
    """Records the history, reports progress and stops training when ``cancel()`` says so."""

    def __init__(
        self, epochs: int, batches: int, progress: ProgressCallback | None, cancel: CancelCallback | None
    ) -> None:
        super().__init__()
        self.epochs = epochs
        self.batches = batches
        self.progress = progress
        self.cancel = cancel
        self.report_every = max(1, batches // 10)
        self.history: dict[str, list[float]] = {}
        self.cancelled = False
        self.epoch = 0
        self.start = time.perf_counter()

    def on_train_begin(self, logs: dict | None = None) -> None:
        self.start = time.perf_counter()

    def on_epoch_begin(self, epoch: int, logs: dict | None = None) -> None:
        self.epoch = epoch

    def on_train_batch_end(self, batch: int, logs: dict | None = None) -> None:
        done = batch + 1
        if self.cancel is not None and self.cancel():
            self.cancelled = True
            self.model.stop_training = True
        if self.progress is not None and done < self.batches and done % self.report_every == 0:
            self.progress(self._snapshot(done, logs or {}))

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        logs = {**(logs or {}), "learning_rate": self._learning_rate()}
        for key in ("loss", "accuracy", "val_loss", "val_accuracy", "learning_rate"):
            if key in logs:
                self.history.setdefault(key, []).append(float(logs[key]))
        if self.progress is not None:
            self.progress(self._snapshot(self.batches, logs))

    def _learning_rate(self) -> float:
        return float(self.model.optimizer.learning_rate.numpy())

    def _snapshot(self, batch: int, logs: dict) -> TrainingProgress:
        elapsed = time.perf_counter() - self.start
        done = self.epoch * self.batches + batch
        remaining = self.epochs * self.batches - done
        optional = lambda key: float(logs[key]) if key in logs else None  # noqa: E731
        return TrainingProgress(
            epoch=self.epoch + 1,
            epochs=self.epochs,
            batch=batch,
            batches=self.batches,
            loss=float(logs.get("loss", math.nan)),
            accuracy=float(logs.get("accuracy", math.nan)),
            val_loss=optional("val_loss"),
            val_accuracy=optional("val_accuracy"),
            learning_rate=self._learning_rate(),
            elapsed_s=elapsed,
            eta_s=elapsed / done * remaining,
            history={key: list(values) for key, values in self.history.items()},
        )


class _Schedule(keras.callbacks.Callback):
    """Sets the optimiser's learning rate before every batch from `learning_rate_at`."""

    def __init__(self, config: TrainConfig, batches: int) -> None:
        super().__init__()
        self.config = config
        self.batches = batches
        self.epoch = 0

    def on_epoch_begin(self, epoch: int, logs: dict | None = None) -> None:
        self.epoch = epoch

    def on_train_batch_begin(self, batch: int, logs: dict | None = None) -> None:
        step = self.epoch * self.batches + batch
        self.model.optimizer.learning_rate = learning_rate_at(self.config, step, self.config.epochs * self.batches)


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


# --- training --------------------------------------------------------------------------------------


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
        standardizer = Standardizer.identity(feature_kind, features.shape[_WIDTH_AXIS[feature_kind]])
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
    monitor = _Monitor(config.epochs, batches, progress, cancel)
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
        callbacks.append(_Schedule(config, batches))
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


def tqdm_progress(*, description: str = "training", file: IO[str] | None = None) -> ProgressCallback:
    """A ``progress`` callable for the CLI: one tqdm bar over all batches, with epoch and metrics.
    ``file`` defaults to stderr."""
    from tqdm import tqdm

    bar: tqdm | None = None

    def update(state: TrainingProgress) -> None:
        nonlocal bar
        if bar is None:
            bar = tqdm(total=state.epochs * state.batches, desc=description, unit="batch", file=file)
        bar.n = (state.epoch - 1) * state.batches + state.batch
        postfix = {
            "epoch": f"{state.epoch}/{state.epochs}",
            "loss": f"{state.loss:.3f}",
            "acc": f"{state.accuracy:.3f}",
        }
        if state.val_loss is not None:
            postfix["val_loss"] = f"{state.val_loss:.3f}"
            postfix["val_acc"] = f"{state.val_accuracy:.3f}"
        bar.set_postfix(postfix)
        if bar.n >= bar.total:
            bar.close()

    return update

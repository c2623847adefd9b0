"""What happens during a fit besides the optimiser steps: `TrainingProgress` snapshots for a ``progress``
callable, polling a ``cancel`` callable (`TrainingMonitor`), the per-batch learning-rate schedule
(`ScheduledLearningRate`), and a tqdm bar for the CLI (`tqdm_progress`)."""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import IO

import keras

from genre_core.train_config import TrainConfig, learning_rate_at

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


class TrainingMonitor(keras.callbacks.Callback):
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


class ScheduledLearningRate(keras.callbacks.Callback):
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

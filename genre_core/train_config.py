"""How to train one model: `TrainConfig` (JSON round trip, every field checked), the optimiser, schedule and
class-weight names it accepts, and what a schedule and a class-weight mode mean in numbers."""

from __future__ import annotations

import dataclasses
import json
import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from genre_core.errors import InputError
from genre_core.models import check_hyper, get_preset
from genre_core.records import from_dict_strict
from genre_core.train_choices import CLASS_WEIGHTS, OPTIMIZERS, OUTPUTS, SCHEDULES

#: "cosine-restarts": this many cosine cycles over the run, each twice as long as the one before (SGDR).
RESTART_CYCLES = 3


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
    (`train_choices.OUTPUTS`): "softmax" with categorical cross-entropy, or for a 2-class task "sigmoid", one unit with
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
        return from_dict_strict(cls, values, "TrainConfig")


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
        import keras  # loaded already by genre_core.models

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

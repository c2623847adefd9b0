"""Tests of `genre_core.train_config`: `TrainConfig` checks and JSON round trip, schedules, class weights."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from genre_core import train_config
from genre_core.errors import InputError
from genre_core.train_config import TrainConfig


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
    rate = lambda schedule, step: train_config.learning_rate_at(  # noqa: E731
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


def test_sgd_is_plain_by_default() -> None:
    assert TrainConfig(preset="ffn_mfcc", optimizer="sgd").momentum == 0.0
    old_json = {"preset": "ffn_mfcc", "optimizer": "sgd", "momentum": 0.9}  # a bundle saved before nesterov/output
    restored = TrainConfig.from_dict(old_json)
    assert restored.momentum == 0.9 and not restored.nesterov and restored.output == "softmax"


def test_balanced_class_weights_equalise_class_totals() -> None:
    labels = np.array([0, 0, 0, 1, 2, 2])
    weights = train_config.class_weights(labels, 4, "balanced")
    assert weights == pytest.approx({0: 6 / 9, 1: 6 / 3, 2: 6 / 6, 3: 1.0})
    totals = [weights[label] * count for label, count in enumerate(np.bincount(labels))]
    assert totals == pytest.approx([2.0, 2.0, 2.0])
    assert train_config.class_weights(labels, 4, "none") is None

"""`genre_core.train_choices`: the names training settings take, one home, readable without TensorFlow."""

from __future__ import annotations

import subprocess
import sys

import pytest
from conftest import REPO_ROOT

from genre_core import train_choices
from genre_core.errors import InputError


def test_the_cli_and_its_choices_import_no_tensorflow() -> None:
    code = "import sys, genre_core.train_choices, genre_core.cli.train; print('tensorflow' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", code], cwd=REPO_ROOT, capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "False"


def test_train_config_accepts_every_name() -> None:
    from genre_core.train_config import TrainConfig

    for optimizer in train_choices.OPTIMIZERS:
        assert TrainConfig("ffn_mfcc", optimizer=optimizer).optimizer == optimizer
    for schedule in train_choices.SCHEDULES:
        assert TrainConfig("ffn_mfcc", schedule=schedule).schedule == schedule
    for class_weight in train_choices.CLASS_WEIGHTS:
        assert TrainConfig("ffn_mfcc", class_weight=class_weight).class_weight == class_weight


@pytest.mark.parametrize(("field", "value"), [("optimizer", "adagrad"), ("schedule", "linear"),
                                              ("class_weight", "inverse"), ("output", "tanh")])
def test_train_config_refuses_other_names(field: str, value: str) -> None:
    from genre_core.train_config import TrainConfig

    with pytest.raises(InputError, match=f"TrainConfig.{field}: value '{value}' is not allowed"):
        TrainConfig("ffn_mfcc", **{field: value})

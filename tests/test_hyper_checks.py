"""Tests for genre_core.hyper_checks: each check returns the value in its type or names preset, key and rule."""

from __future__ import annotations

import pytest

from genre_core import hyper_checks
from genre_core.errors import InputError


def test_accepted_values_come_back_in_their_type() -> None:
    assert hyper_checks.positive_ints("p", "hidden", [64, 32]) == (64, 32)
    assert hyper_checks.positive_ints("p", "hidden", 7) == (7,)
    assert hyper_checks.positive_int("p", "kernel_size", 5) == 5
    assert hyper_checks.fraction("p", "dropout", 0) == 0.0 and isinstance(hyper_checks.fraction("p", "dropout", 0), float)
    assert hyper_checks.non_negative("p", "l2", 0.01) == 0.01
    assert hyper_checks.flag("p", "batch_norm", True) is True
    assert hyper_checks.activation("p", "activation", "gelu") == "gelu"
    hyper_checks.min_spatial("p", (8, 9, 1), 3)  # 8 rows survive three halvings


@pytest.mark.parametrize(
    ("check", "value", "rule"),
    [
        (hyper_checks.positive_ints, [], "a positive int or a non-empty list"),
        (hyper_checks.positive_ints, [3, 0], "a positive int or a non-empty list"),
        (hyper_checks.positive_ints, "64", "a positive int or a non-empty list"),
        (hyper_checks.positive_ints, [True], "a positive int or a non-empty list"),
        (hyper_checks.positive_int, 2.0, "a positive int"),
        (hyper_checks.fraction, 1.0, r"a number in \[0, 1\)"),
        (hyper_checks.non_negative, -0.1, "a number >= 0"),
        (hyper_checks.flag, 1, "true or false"),
        (hyper_checks.activation, "no-such-activation", "a Keras activation name"),
    ],
)
def test_bad_values_name_the_preset_the_key_and_the_rule(check, value: object, rule: str) -> None:  # noqa: ANN001
    with pytest.raises(InputError, match=f"^ffn_mfcc hyper-parameter 'key': value .* is not {rule}"):
        check("ffn_mfcc", "key", value)


def test_an_input_too_small_for_its_poolings_is_refused() -> None:
    with pytest.raises(InputError, match=r"preset 'cnn_small': input \(7, 20, 1\) is too small: both axes need >= 8"):
        hyper_checks.min_spatial("cnn_small", (7, 20, 1), 3)

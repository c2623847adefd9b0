"""Checks of preset hyper-parameter values as a builder receives them (from JSON, the CLI or the Train page):
each returns the value in its checked type or raises an `InputError` naming the preset, the hyper-parameter and
what it should be. What each hyper-parameter *is* (for the Train page) lives in `genre_core.hyper_settings`."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import keras

from genre_core.errors import InputError


def _hyper_error(preset: str, key: str, value: Any, expected: str) -> InputError:
    return InputError(f"{preset} hyper-parameter '{key}'", f"value {value!r} is not {expected}")


def positive_ints(preset: str, key: str, value: Any) -> tuple[int, ...]:
    """``value`` as a tuple of positive ints (a single int counts as a one-element tuple)."""
    values = (value,) if isinstance(value, int) else value
    if (
        not isinstance(values, Sequence)
        or isinstance(values, str)
        or not values
        or not all(isinstance(v, int) and not isinstance(v, bool) and v > 0 for v in values)
    ):
        raise _hyper_error(preset, key, value, "a positive int or a non-empty list of positive ints")
    return tuple(values)


def positive_int(preset: str, key: str, value: Any) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
        raise _hyper_error(preset, key, value, "a positive int")
    return value


def fraction(preset: str, key: str, value: Any) -> float:
    """A dropout rate in [0, 1)."""
    if not isinstance(value, (int, float)) or isinstance(value, bool) or not 0.0 <= value < 1.0:
        raise _hyper_error(preset, key, value, "a number in [0, 1)")
    return float(value)


def non_negative(preset: str, key: str, value: Any) -> float:
    if not isinstance(value, (int, float)) or isinstance(value, bool) or value < 0:
        raise _hyper_error(preset, key, value, "a number >= 0")
    return float(value)


def flag(preset: str, key: str, value: Any) -> bool:
    if not isinstance(value, bool):
        raise _hyper_error(preset, key, value, "true or false")
    return value


def activation(preset: str, key: str, value: Any) -> str:
    try:
        keras.activations.get(value)
    except (ValueError, TypeError) as error:
        raise _hyper_error(preset, key, value, "a Keras activation name") from error
    return value


def min_spatial(preset: str, input_shape: tuple[int, ...], halvings: int) -> None:
    """Inputs to a CNN must survive ``halvings`` 2x poolings along both spatial axes."""
    if min(input_shape[:2]) < 2**halvings:
        raise InputError(
            f"preset '{preset}'", f"input {input_shape} is too small: both axes need >= {2**halvings} values"
        )

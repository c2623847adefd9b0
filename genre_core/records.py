"""Reading JSON records back into dataclasses, strictly: one helper for every config and record type."""

from __future__ import annotations

import dataclasses
from typing import Any, TypeVar

from genre_core.errors import InputError

T = TypeVar("T")


def from_dict_strict(cls: type[T], values: Any, source: str) -> T:
    """``cls(**values)`` for a dataclass ``cls``, with an `InputError` naming ``source`` when ``values`` is not
    a dict, lacks a field without a default, or has a key that is not a field."""
    if not isinstance(values, dict):
        raise InputError(source, f"expected a JSON object, got {type(values).__name__}")
    fields = {item.name: item for item in dataclasses.fields(cls)}
    unknown = sorted(set(values) - set(fields))
    if unknown:
        raise InputError(source, f"unknown setting(s) {unknown}")
    required = [name for name, item in fields.items() if item.init and item.default is dataclasses.MISSING
                and item.default_factory is dataclasses.MISSING]
    missing = [name for name in required if name not in values]
    if missing:
        raise InputError(source, f"missing setting(s) {missing}")
    return cls(**values)

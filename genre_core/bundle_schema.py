"""Validation of a bundle's ``bundle.json`` before anything is built from it (no TensorFlow needed).

Typed parsing of every field a bundle needs: each problem is refused with the field named
(``"bundle.json: field 'class_names': duplicate name 'rock'"``), so a damaged or edited bundle never loads
and silently changes predictions. Fields a later version adds are ignored.
"""

from __future__ import annotations

import dataclasses
import math
import types
import typing
from typing import Any

from genre_core.bundle_files import METADATA_FILE
from genre_core.config import FEATURE_KINDS, LOG_MEL, MFCC, SUMMARY, FeatureConfig
from genre_core.errors import InputError

SCHEMA_VERSION = 1
#: Index in ``input_shape`` of the axis a standardizer of each kind has one mean/std per entry of.
_STANDARDIZED_AXIS = {SUMMARY: 0, LOG_MEL: 0, MFCC: 1}
_OBJECTS = ("split", "metrics")


class _FieldError(ValueError):
    """One invalid field: its dotted name and the reason."""

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(f"field '{field}': {reason}")


def _json_type(value: Any) -> str:
    return {dict: "an object", list: "a list", str: "a string", bool: "true/false", type(None): "null"}.get(
        type(value), "a number")


def _require(field: str, value: Any, expected: type | tuple[type, ...], what: str, finite: bool = True) -> Any:
    """``value`` if it is of ``expected`` type (never bool for numbers; finite unless not ``finite``), else
    `_FieldError`."""
    numeric = expected in (int, float) or (isinstance(expected, tuple) and int in expected)
    if not isinstance(value, expected) or (numeric and isinstance(value, bool)):
        raise _FieldError(field, f"must be {what}, got {_json_type(value)}")
    if finite and isinstance(value, float) and not math.isfinite(value):
        raise _FieldError(field, f"must be {what}, got {value}")
    return value


def _number_list(field: str, value: Any, *, positive: bool = False, integers: bool = False,
                 finite: bool = True) -> list[float]:
    _require(field, value, list, "a list of numbers")
    for index, item in enumerate(value):
        _require(f"{field}[{index}]", item, int if integers else (int, float), "an integer" if integers else "a number",
                 finite)
        if positive and item <= 0:
            raise _FieldError(f"{field}[{index}]", f"must be > 0, got {item}")
    return value


def _dataclass_fields(field: str, values: Any, cls: type) -> None:
    """Every known setting of ``cls`` in the object ``values`` has the annotated JSON type (int, float, str,
    bool, optionally null); unknown and missing settings are left to ``cls.from_dict``."""
    _require(field, values, dict, "an object")
    hints = typing.get_type_hints(cls)
    for item in dataclasses.fields(cls):
        if item.name not in values:
            continue
        hint = hints[item.name]
        options = typing.get_args(hint) if isinstance(hint, types.UnionType) else (hint,)
        value = values[item.name]
        if value is None and type(None) in options:
            continue
        for option in (int, float, str, bool):
            if option in options:
                accepted = (int, float) if option is float else option
                _require(f"{field}.{item.name}", value, accepted, {int: "an integer", float: "a number",
                                                                  str: "a string", bool: "true/false"}[option])
                break


def _class_names(values: dict[str, Any]) -> list[str]:
    names = _require("class_names", values["class_names"], list, "a list of genre names")
    if len(names) < 2:
        raise _FieldError("class_names", f"needs at least 2 names, got {len(names)}")
    seen: set[str] = set()
    for index, name in enumerate(names):
        _require(f"class_names[{index}]", name, str, "a string")
        if not name.strip() or "\n" in name:
            raise _FieldError(f"class_names[{index}]", f"{name!r} is not a usable name")
        if name in seen:
            raise _FieldError("class_names", f"duplicate name {name!r}")
        seen.add(name)
    return names


def _standardizer(values: dict[str, Any], kind: str, input_shape: list[int]) -> None:
    standardizer = _require("standardizer", values["standardizer"], dict, "an object")
    for key in ("feature_kind", "mean", "std"):
        if key not in standardizer:
            raise _FieldError(f"standardizer.{key}", "is missing")
    if standardizer["feature_kind"] != kind:
        raise _FieldError("standardizer.feature_kind", f"{standardizer['feature_kind']!r} differs from feature_kind "
                          f"{kind!r}")
    mean = _number_list("standardizer.mean", standardizer["mean"])
    std = _number_list("standardizer.std", standardizer["std"], positive=True)
    axis = _STANDARDIZED_AXIS.get(kind)
    width = input_shape[axis] if axis is not None and axis < len(input_shape) else len(mean)
    for key, series in (("mean", mean), ("std", std)):
        if len(series) != width:
            raise _FieldError(f"standardizer.{key}", f"has {len(series)} entries, the model's input has width {width}")


def _feature_config(values: dict[str, Any], kind: str, input_shape: list[int]) -> None:
    settings = values["feature_config"]
    if settings is None:
        if kind != SUMMARY:
            raise _FieldError("feature_config", f"must be given for {kind} features")
        return
    _dataclass_fields("feature_config", settings, FeatureConfig)
    try:
        config = FeatureConfig.from_dict(settings)
    except (InputError, TypeError) as error:
        raise _FieldError("feature_config", str(error)) from None
    expected = {LOG_MEL: [config.n_mels, config.frames_per_segment, 1], MFCC: [config.frames_per_segment,
                                                                              config.n_mfcc]}.get(kind)
    if expected is not None and input_shape != expected:
        raise _FieldError("feature_config", f"gives {kind} inputs of shape {expected}, input_shape is {input_shape}")


def validate_metadata(values: Any, train_config_type: type | None = None) -> dict[str, Any]:
    """``values`` (parsed ``bundle.json``) if it is a valid bundle description, else `InputError`
    ``("bundle.json", "field '<name>': <reason>")``. ``train_config_type`` (`train_config.TrainConfig`, passed by
    callers that have TensorFlow loaded anyway) adds the type check of the training settings."""
    try:
        return _validate(values, train_config_type)
    except _FieldError as error:
        raise InputError(METADATA_FILE, str(error)) from None


def _validate(values: Any, train_config_type: type | None) -> dict[str, Any]:
    if not isinstance(values, dict):
        raise _FieldError("(top level)", f"must be an object, got {_json_type(values)}")
    required = ("schema_version", "name", "notes", "created", "class_names", "feature_kind", "feature_config",
                "input_shape", "standardizer", "train_config", "split", "history", "metrics", "versions")
    for key in required:
        if key not in values:
            raise _FieldError(key, "is missing")
    if values["schema_version"] != SCHEMA_VERSION or isinstance(values["schema_version"], bool):
        raise _FieldError("schema_version", f"{values['schema_version']!r} is not the supported {SCHEMA_VERSION}")
    for key in ("name", "notes", "created"):
        _require(key, values[key], str, "a string")
    _class_names(values)
    kind = _require("feature_kind", values["feature_kind"], str, "a string")
    if kind not in FEATURE_KINDS:
        raise _FieldError("feature_kind", f"{kind!r} is not one of {', '.join(FEATURE_KINDS)}")
    input_shape = _number_list("input_shape", values["input_shape"], positive=True, integers=True)
    if not input_shape:
        raise _FieldError("input_shape", "must not be empty")
    _feature_config(values, kind, input_shape)
    _standardizer(values, kind, input_shape)
    if train_config_type is not None:
        _dataclass_fields("train_config", values["train_config"], train_config_type)
    _require("train_config", values["train_config"], dict, "an object")
    for key in _OBJECTS:
        _require(key, values[key], dict, "an object")
    history = _require("history", values["history"], dict, "an object")
    for key, series in history.items():
        _number_list(f"history.{key}", series, finite=False)  # a diverged run records NaN losses
    versions = _require("versions", values["versions"], dict, "an object")
    for key, version in versions.items():
        _require(f"versions.{key}", version, str, "a string")
    return values

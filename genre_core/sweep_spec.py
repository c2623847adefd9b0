"""What a sweep varies: settings addressed by name, their values, and the points (settings combinations) to train.

A sweep trains one preset at every combination of the values of one or two settings. A setting is named the way
its owner names it, so a setting added to `train_config.TrainConfig` or to a preset's ``default_hyper`` becomes
sweepable without a change here:

- a `TrainConfig` field (``learning_rate``, ``optimizer``, ``batch_size``, ``schedule``, ...): ``TRAIN`` target;
- a hyper-parameter of the preset (``hidden``, ``dropout``, ``activation``, ``batch_norm``, ``l2``, ...):
  ``HYPER`` target (validated by `models.check_hyper` and by building the model);
- a feature setting of `FEATURE_SETTINGS` (windows per track, ``n_mfcc``, ``n_mels``): ``FEATURES`` target;
  each value re-extracts the dataset through the feature cache (`train_job.DatasetSource`).

`parse_vary` reads the CLI's ``NAME=V1,V2`` (values as JSON where they parse, else text); `SweepSpec.check`
validates every point before any training (no TensorFlow here; `check_points` imports it to build the models).
"""

from __future__ import annotations

import dataclasses
import hashlib
import itertools
import json
from dataclasses import dataclass
from typing import Any

from genre_core.config import LOG_MEL, MFCC, SUMMARY, FeatureConfig
from genre_core.errors import InputError
from genre_core.records import from_dict_strict
from genre_core.train_job import DatasetSource

TRAIN, HYPER, FEATURES = "train", "hyper", "features"  #: where a swept setting goes
#: Feature settings a sweep may vary (each value is its own extraction, cached by `FeatureConfig.fingerprint`).
FEATURE_SETTINGS = ("segments_per_track", "n_mfcc", "n_mels")
#: TrainConfig fields that are not settings of a point (the preset is the sweep's; hyper is addressed by name).
FIXED_TRAIN_FIELDS = ("preset", "hyper")
MAX_AXES = 2
MAX_VALUES = 12  #: values per setting
MAX_POINTS = 48  #: settings combinations per sweep
DEFAULT_FOLDS = 5
DEFAULT_SEED = 42
VAL_FRACTION = 0.15  #: share of each fold's training tracks kept for validation (loss curves, early stopping)


def _train_fields() -> tuple[str, ...]:
    from genre_core.train_config import TrainConfig  # noqa: PLC0415 (it imports models, hence Keras)

    return tuple(item.name for item in dataclasses.fields(TrainConfig) if item.name not in FIXED_TRAIN_FIELDS)


def _canonical(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"))


def value_text(value: Any) -> str:
    """A setting's value as people write it: ``0.01``, ``relu``, ``[64, 32]``, ``true``, ``none``."""
    if value is None:
        return "none"
    return value if isinstance(value, str) else json.dumps(value)


def parse_value(text: str) -> Any:
    """One value from the command line: JSON where it parses (``0.01``, ``32``, ``true``, ``[64,32]``,
    ``null``), ``none`` as null, else the text itself (``relu``, ``adam``)."""
    text = text.strip()
    if text.lower() == "none":
        return None
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return text


def _split_values(text: str) -> list[str]:
    """``a,b,[1,2]`` -> ``["a", "b", "[1,2]"]``: commas inside brackets belong to a list value."""
    values, depth, current = [], 0, ""
    for char in text:
        depth += {"[": 1, "]": -1}.get(char, 0)
        if char == "," and depth == 0:
            values.append(current)
            current = ""
        else:
            current += char
    values.append(current)
    return values


@dataclass(frozen=True)
class SweepAxis:
    """One swept setting: its ``name``, where it goes (``target``: `TRAIN`, `HYPER` or `FEATURES`) and its
    ``values`` (JSON values, in the order given)."""

    name: str
    target: str
    values: tuple[Any, ...]

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "target": self.target, "values": list(self.values)}

    @classmethod
    def from_dict(cls, values: Any) -> SweepAxis:
        axis = from_dict_strict(cls, values, "sweep setting")
        return dataclasses.replace(axis, values=tuple(axis.values))


def sweepable_settings(preset: str) -> dict[str, str]:
    """Every setting a sweep over ``preset`` can vary, in order, each with its target (`TRAIN`, `HYPER`,
    `FEATURES`); a preset with a pretrained network's fixed input has no feature settings."""
    from genre_core.models import get_preset  # noqa: PLC0415

    spec = get_preset(preset)
    settings = {name: TRAIN for name in _train_fields()}
    settings.update({name: HYPER for name in spec.default_hyper})
    settings.update({name: FEATURES for name in FEATURE_SETTINGS if spec.features is None})
    return settings


def setting_target(name: str, preset: str) -> str:
    """Where the setting ``name`` of a sweep over ``preset`` goes; InputError listing the known names."""
    settings = sweepable_settings(preset)
    if name not in settings:
        raise InputError(f"setting '{name}'", f"is not a setting of preset {preset}; known: {', '.join(settings)}")
    return settings[name]


def parse_vary(text: str, preset: str) -> SweepAxis:
    """``NAME=V1,V2[,...]`` (the CLI's ``--vary``) as a `SweepAxis`; InputError for an unknown name, fewer than
    2 or more than `MAX_VALUES` values, or a value given twice."""
    name, equals, values_text = text.partition("=")
    name = name.strip()
    if not equals or not name or not values_text.strip():
        raise InputError(f"--vary {text}", "expected NAME=V1,V2[,...], e.g. learning_rate=0.01,0.001")
    values = tuple(parse_value(part) for part in _split_values(values_text))
    return make_axis(name, values, preset, source=f"--vary {text}")


def make_axis(name: str, values: tuple[Any, ...], preset: str, *, source: str | None = None) -> SweepAxis:
    """A checked `SweepAxis` of ``name`` over ``values`` (see `parse_vary`); ``source`` names the input in errors."""
    source = source or f"setting '{name}'"
    target = setting_target(name, preset)
    if not 2 <= len(values) <= MAX_VALUES:
        raise InputError(source, f"give between 2 and {MAX_VALUES} values, got {len(values)}")
    texts = [_canonical(value) for value in values]
    repeated = sorted({text for text in texts if texts.count(text) > 1})
    if repeated:
        raise InputError(source, f"value {repeated[0]} is given twice")
    return SweepAxis(name=name, target=target, values=tuple(json.loads(text) for text in texts))


@dataclass(frozen=True)
class FixedSettings:
    """Settings held fixed for every run of a sweep (the CLI's ``--set``, the page's fixed settings): the base
    `TrainConfig` dict (preset and hyper-parameters included) and the changes to the dataset's `FeatureConfig`."""

    train_config: dict[str, Any]
    feature_changes: dict[str, Any]

    def feature_config(self, base: FeatureConfig) -> FeatureConfig:
        """``base`` with the fixed feature settings; InputError for a value of the wrong type."""
        try:
            return FeatureConfig.from_dict({**base.to_dict(), **self.feature_changes})
        except TypeError as error:
            raise InputError("fixed feature setting", f"invalid value ({error})") from None


def fixed_settings(texts: list[str], preset: str, *, source: str = "--set") -> FixedSettings:
    """``NAME=VALUE`` lines (values as in `parse_value`) as `FixedSettings` of a sweep over ``preset``;
    InputError naming ``source`` and the line for a malformed one or an unknown name."""
    train: dict[str, Any] = {"preset": preset, "hyper": {}}
    features: dict[str, Any] = {}
    for text in texts:
        name, equals, value = (part.strip() for part in text.partition("="))
        if not equals or not name:
            raise InputError(f"{source} {text}", "expected NAME=VALUE, e.g. epochs=5")
        target = setting_target(name, preset)
        destination = {TRAIN: train, HYPER: train["hyper"], FEATURES: features}[target]
        destination[name] = parse_value(value)
    return FixedSettings(train, features)


@dataclass(frozen=True)
class SweepPoint:
    """One combination of the swept values: ``index`` in the sweep (0-based), ``settings`` as (name, value) pairs
    in axis order, and the `TrainConfig` dict and `FeatureConfig` it trains with."""

    index: int
    settings: tuple[tuple[str, Any], ...]
    train_config: dict[str, Any]
    feature_config: FeatureConfig

    @property
    def label(self) -> str:
        """``learning_rate=0.01, batch_size=32``."""
        return ", ".join(f"{name}={value_text(value)}" for name, value in self.settings)

    @property
    def key(self) -> str:
        """A hash of everything this point trains with (its stored runs are reused only under the same key)."""
        text = _canonical({"train": self.train_config, "features": self.feature_config.to_dict()})
        return hashlib.sha256(text.encode()).hexdigest()[:16]


@dataclass(frozen=True)
class SweepSpec:
    """A sweep: the dataset, the base `TrainConfig` (as its dict, preset included), the swept settings (one or
    two axes), ``folds`` of grouped k-fold cross-validation on ``seed`` (the folds' and every training's seed,
    unless ``seed`` is itself swept), the share of each fold's training tracks kept for validation, how the
    page names the dataset, and the artist-filtered split folder whose artist lists group the folds by artist
    when they name the dataset's tracks (`splits.dataset_artists`; None or not covering: folds by track)."""

    dataset: DatasetSource
    base_config: dict[str, Any]
    axes: tuple[SweepAxis, ...]
    folds: int = DEFAULT_FOLDS
    seed: int = DEFAULT_SEED
    val_fraction: float = VAL_FRACTION
    dataset_title: str = ""
    artists_dir: str | None = None

    @property
    def preset(self) -> str:
        return str(self.base_config.get("preset", ""))

    @property
    def fingerprint(self) -> str:
        """A hash of what decides the results (not the dataset's title): a folder's runs belong to one sweep."""
        values = {**self.to_dict(), "dataset_title": ""}
        return hashlib.sha256(_canonical(values).encode()).hexdigest()[:16]

    def points(self) -> list[SweepPoint]:
        """Every combination of the axes' values, the first axis slowest, each with its configs (unchecked)."""
        points = []
        for index, combination in enumerate(itertools.product(*(axis.values for axis in self.axes))):
            train = {**self.base_config, "seed": self.seed, "hyper": dict(self.base_config.get("hyper", {}))}
            features: dict[str, Any] = {}
            for axis, value in zip(self.axes, combination):
                if axis.target == TRAIN:
                    train[axis.name] = value
                elif axis.target == HYPER:
                    train["hyper"][axis.name] = value
                else:
                    features[axis.name] = value
            feature_config = self._feature_config(features)
            settings = tuple((axis.name, value) for axis, value in zip(self.axes, combination))
            points.append(SweepPoint(index, settings, train, feature_config))
        return points

    def _feature_config(self, changes: dict[str, Any]) -> FeatureConfig:
        values = {**self.dataset.feature_config.to_dict(), **changes}
        try:
            return FeatureConfig.from_dict(values)
        except TypeError as error:
            raise InputError("feature setting", f"invalid value ({error})") from None

    def check(self) -> list[SweepPoint]:
        """The points, each validated as far as possible without data: the sweep's shape, every `TrainConfig`,
        every `FeatureConfig` and every model built on its input shape (`check_points`). InputError naming the
        setting and value at the first problem; nothing is trained."""
        if not 1 <= len(self.axes) <= MAX_AXES:
            raise InputError("sweep", f"vary 1 or {MAX_AXES} settings, got {len(self.axes)}")
        names = [axis.name for axis in self.axes]
        if len(set(names)) != len(names):
            raise InputError(f"setting '{names[0]}'", "is varied twice")
        for axis in self.axes:
            if make_axis(axis.name, axis.values, self.preset) != axis:
                raise InputError(f"setting '{axis.name}'", f"goes to {setting_target(axis.name, self.preset)}, "
                                 f"not {axis.target}")
        if not isinstance(self.folds, int) or isinstance(self.folds, bool) or not 2 <= self.folds <= 20:
            raise InputError("folds", f"must be a whole number from 2 to 20, got {self.folds!r}")
        if not 0.0 <= self.val_fraction < 0.5:
            raise InputError("val_fraction", f"must be in [0, 0.5), got {self.val_fraction!r}")
        if self.artists_dir is not None:
            from genre_core.splits import track_artists  # noqa: PLC0415

            track_artists(self.artists_dir)  # its artist lists readable before any training
        points = self.points()
        if len(points) > MAX_POINTS:
            raise InputError("sweep", f"{len(points)} combinations; at most {MAX_POINTS}")
        check_points(points)
        return points

    def to_dict(self) -> dict[str, Any]:
        return {**dataclasses.asdict(self), "dataset": self.dataset.to_dict(),
                "axes": [axis.to_dict() for axis in self.axes]}

    @classmethod
    def from_dict(cls, values: Any) -> SweepSpec:
        spec = from_dict_strict(cls, values, "sweep")
        axes = tuple(SweepAxis.from_dict(axis) for axis in spec.axes)
        return dataclasses.replace(spec, dataset=DatasetSource.from_dict(spec.dataset), axes=axes)


def model_input_shape(feature_kind: str, config: FeatureConfig) -> tuple[int, ...]:
    """The input shape (without batch axis) a preset of ``feature_kind`` gets from features of ``config``."""
    from genre_core.features import SUMMARY_NAMES  # noqa: PLC0415

    frames = config.frames_per_segment
    shapes = {SUMMARY: (len(SUMMARY_NAMES),), LOG_MEL: (config.n_mels, frames, 1), MFCC: (frames, config.n_mfcc)}
    return shapes[feature_kind]


def check_points(points: list[SweepPoint]) -> None:
    """Validate each point's `TrainConfig` and build its model once (2 classes) on the input its features give,
    so a bad value (a dropout of 1.5, an unknown activation) is an InputError naming it before any training."""
    import keras  # noqa: PLC0415

    from genre_core.models import build_model, get_preset  # noqa: PLC0415
    from genre_core.train_config import TrainConfig  # noqa: PLC0415

    built: set[str] = set()
    for point in points:
        try:
            config = TrainConfig.from_dict(point.train_config)
            preset = get_preset(config.preset)
            features = preset.features or point.feature_config
            model_key = _canonical([config.hyper, features.to_dict()])
            if model_key not in built:
                build_model(config.preset, model_input_shape(preset.feature_kind, features), 2, **config.hyper)
                keras.backend.clear_session()
                built.add(model_key)
        except InputError as error:
            raise InputError(f"sweep point {point.label}", str(error)) from None
        except (TypeError, ValueError) as error:
            raise InputError(f"sweep point {point.label}", f"invalid value ({error})") from None

"""`ModelBundle`: a trained model with everything needed to use it, saved as one folder.

A bundle folder holds ``model.keras`` (Keras native format, loaded with ``safe_mode=True``) and
``bundle.json`` (classes, feature settings, standardizer, training config, split, history, metrics,
versions). Nothing is pickled. Saving is atomic: a crash leaves either the old or the new folder.
"""

from __future__ import annotations

import json
import math
import platform
from dataclasses import dataclass, field
from datetime import datetime, timezone
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

import genre_core
from genre_core import inputs
from genre_core.atomic import atomic_directory
from genre_core.bundle_files import METADATA_FILE, MODEL_FILE
from genre_core.bundle_schema import SCHEMA_VERSION, validate_metadata
from genre_core.config import SUMMARY, FeatureConfig
from genre_core.dataset import Dataset
from genre_core.errors import InputError
from genre_core.inputs import Standardizer, dataset_features, prepare_inputs

if TYPE_CHECKING:
    import keras

    from genre_core.train_config import TrainConfig
    from genre_core.training import TrainingResult

#: Most rows per model call in `ModelBundle.predict_proba` / `predict_logits`.
PREDICT_BATCH_ROWS = 256
#: Most input values (rows x values per row) per model call: a model's activations grow with its input, so large
#: inputs go in fewer rows (14 musicnn log-mel windows of 96 x 187, 256 summary rows). Measured on the transfer
#: CNN: 88 windows at once peaked ~900 MB above the process, 16 at a time ~160 MB, 8 ~105 MB, no slower.
PREDICT_BATCH_VALUES = 2**18


def predict_batch_rows(feature_shape: tuple[int, ...]) -> int:
    """Rows per model call for rows of ``feature_shape``: `PREDICT_BATCH_VALUES` worth, between 1 and
    `PREDICT_BATCH_ROWS`."""
    return int(min(PREDICT_BATCH_ROWS, max(1, PREDICT_BATCH_VALUES // max(1, math.prod(feature_shape)))))


def library_versions() -> dict[str, str]:
    """Versions of Python and of the libraries a bundle depends on, at save time."""
    versions = {"python": platform.python_version(), "genre_core": genre_core.__version__}
    distributions = {"tensorflow": ("tensorflow", "tensorflow-cpu"), "keras": ("keras",), "numpy": ("numpy",),
                     "librosa": ("librosa",)}
    for package, names in distributions.items():
        found = []
        for name in names:
            try:
                found.append(metadata.version(name))
            except metadata.PackageNotFoundError:
                pass
        versions[package] = found[0] if found else "missing"
    return versions


@dataclass
class ModelBundle:
    """A trained classifier and its context.

    ``model`` maps standardised inputs to probabilities (batch, K) and has a ``logits`` layer;
    ``class_names`` (K,) label the outputs; ``feature_kind``/``feature_config`` say which features it eats
    (``feature_config`` is None for sources without one, e.g. the Kaggle CSV); ``split_description`` is
    `Split.describe`; ``metrics`` is filled by evaluation; ``created`` is ISO 8601 UTC.
    """

    model: keras.Model
    class_names: list[str]
    feature_kind: str
    feature_config: FeatureConfig | None
    standardizer: Standardizer
    train_config: TrainConfig
    split_description: dict[str, Any]
    history: dict[str, list[float]]
    metrics: dict[str, Any] = field(default_factory=dict)
    created: str = ""
    versions: dict[str, str] = field(default_factory=dict)
    name: str = ""
    notes: str = ""
    _class_models: dict[str, keras.Model] = field(default_factory=dict, init=False, repr=False, compare=False)

    @property
    def input_shape(self) -> tuple[int, ...]:
        """Shape of one model input, without the batch axis (log-mel with its channel axis)."""
        return tuple(self.model.input_shape[1:])

    @property
    def feature_shape(self) -> tuple[int, ...]:
        """Shape of one row of raw features the bundle accepts (log-mel without the channel axis)."""
        return inputs.feature_shape(self.feature_kind, self.input_shape)

    def _run(self, model: keras.Model, features_raw: np.ndarray) -> np.ndarray:
        features_raw = np.asarray(features_raw)
        shape = features_raw.shape[1:]
        if shape != self.feature_shape:
            raise InputError("features", f"rows have shape {shape}, model '{self.name}' expects {self.feature_shape}")
        _require_finite(features_raw, "features", f"contain NaN or infinite values; model '{self.name}' cannot "
                        "score them (is the audio damaged or far beyond full scale?)")
        inputs = prepare_inputs(features_raw, self.feature_kind, self.standardizer)
        rows = predict_batch_rows(self.feature_shape)
        outputs = [
            np.asarray(model.predict_on_batch(inputs[start : start + rows])) for start in range(0, len(inputs), rows)
        ]
        if not outputs:
            return np.zeros((0, len(self.class_names)), dtype=np.float32)
        result = np.concatenate(outputs).astype(np.float32, copy=False)
        _require_finite(result, f"model '{self.name}'", "gave NaN or infinite outputs (are its weights or its "
                        "standardizer damaged?)")
        return result

    @property
    def sigmoid_output(self) -> bool:
        """True for a binary model with one sigmoid unit (P(class 1)), False for a softmax head."""
        return int(self.model.output.shape[-1]) == 1

    def _class_model(self, layer: str) -> keras.Model:
        if layer not in self._class_models:
            from genre_core.model_heads import class_model  # Keras only once a model runs

            self._class_models[layer] = class_model(self.model, layer)
        return self._class_models[layer]

    def predict_proba(self, features_raw: np.ndarray) -> np.ndarray:
        """Raw features (rows, *feature_shape) -> class probabilities (rows, K) float32, rows sum to 1 (a
        sigmoid model's P(class 1) = p gives (1 - p, p); `model_heads.class_outputs`)."""
        return self._run(self._class_model("probabilities"), features_raw)

    def predict_logits(self, features_raw: np.ndarray) -> np.ndarray:
        """Raw features (rows, *feature_shape) -> class scores (rows, K) float32: the pre-softmax logits, or
        (-z, z) for a sigmoid model's class-1 logit z."""
        return self._run(self._class_model("logits"), features_raw)


def _require_finite(values: np.ndarray, source: str, reason: str) -> None:
    """InputError ``"<source>: <reason>"`` unless every value of ``values`` is finite."""
    if not np.all(np.isfinite(values)):
        raise InputError(source, reason)


def bundle_from_training(
    result: TrainingResult, dataset: Dataset, *, name: str, metrics: dict[str, Any] | None = None, notes: str = ""
) -> ModelBundle:
    """Wrap a `TrainingResult` trained on ``dataset`` into a bundle called ``name``."""
    if not name.strip():
        raise InputError("bundle name", "must not be empty")
    return ModelBundle(
        model=result.model,
        class_names=list(dataset.class_names),
        feature_kind=result.feature_kind,
        feature_config=dataset.feature_config,
        standardizer=result.standardizer,
        train_config=result.config,
        split_description=result.split.describe(dataset),
        history={key: list(values) for key, values in result.history.items()},
        metrics=dict(metrics or {}),
        created=datetime.now(timezone.utc).isoformat(timespec="seconds"),
        versions=library_versions(),
        name=name,
        notes=notes,
    )


def _json_value(value: Any) -> Any:
    """JSON encoder fallback for NumPy values that evaluation puts into ``metrics``."""
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, np.generic):
        return value.item()
    raise TypeError(f"{type(value).__name__} is not JSON-serialisable")


def _metadata(bundle: ModelBundle) -> dict[str, Any]:
    return {
        "schema_version": SCHEMA_VERSION,
        "name": bundle.name,
        "notes": bundle.notes,
        "created": bundle.created,
        "class_names": list(bundle.class_names),
        "feature_kind": bundle.feature_kind,
        "feature_config": None if bundle.feature_config is None else bundle.feature_config.to_dict(),
        "input_shape": list(bundle.input_shape),
        "standardizer": bundle.standardizer.to_dict(),
        "train_config": bundle.train_config.to_dict(),
        "split": bundle.split_description,
        "history": bundle.history,
        "metrics": bundle.metrics,
        "versions": bundle.versions,
    }


def _inference_copy(model: keras.Model) -> keras.Model:
    """An uncompiled copy with the same weights, so the saved file carries no optimiser state."""
    import keras

    copy = keras.Model.from_config(model.get_config())  # clone_model would re-compile a compiled model
    copy.set_weights(model.get_weights())
    return copy


def check_bundle_target(folder: str | Path) -> None:
    """InputError (naming ``folder``) unless a bundle may be written there: nothing there yet, an empty folder,
    or a bundle folder (a ``bundle.json`` beside only ``model.keras`` and ``.md`` notes). Anything else (a file,
    a link, a folder of other things, a path below a file) is refused, so saving never deletes what a user keeps
    there. Cheap: call it before training, not only when saving."""
    folder = Path(folder)
    for parent in folder.parents:
        if parent.exists() and not parent.is_dir():
            raise InputError(folder, f"cannot write a bundle here: {parent} is a file, not a folder")
    if folder.is_symlink():
        raise InputError(folder, "is a symbolic link; refusing to replace it with a bundle")
    if not folder.exists():
        return
    if not folder.is_dir():
        raise InputError(folder, "is a file, not a model bundle folder; refusing to replace it")
    entries = sorted(folder.iterdir())
    foreign = [entry.name for entry in entries
               if entry.name not in (MODEL_FILE, METADATA_FILE) and not (entry.suffix == ".md" and entry.is_file())]
    if entries and (foreign or not (folder / METADATA_FILE).is_file()):
        what = f"holds {foreign[0]!r}" if foreign else f"has no {METADATA_FILE}"
        raise InputError(folder, f"is not a model bundle folder ({what}); refusing to replace it: choose another name")


def save_bundle(bundle: ModelBundle, folder: str | Path, *, extra_files: dict[str, str] | None = None) -> Path:
    """Write ``bundle`` to ``folder`` (``model.keras`` + ``bundle.json`` + ``extra_files``, name -> UTF-8
    text such as a model card), replacing an existing bundle atomically (anything else there is refused,
    see `check_bundle_target`). Returns the folder."""
    folder = Path(folder)
    check_bundle_target(folder)
    text = json.dumps(_metadata(bundle), indent=2, default=_json_value)
    with atomic_directory(folder) as temporary:
        _inference_copy(bundle.model).save(temporary / MODEL_FILE)
        (temporary / METADATA_FILE).write_text(text, encoding="utf-8")
        for name, content in (extra_files or {}).items():
            (temporary / name).write_text(content, encoding="utf-8")
    return folder


def _read_metadata(folder: Path) -> dict[str, Any]:
    """The validated ``bundle.json`` of ``folder`` (see `bundle_schema.validate_metadata`)."""
    if not folder.is_dir():
        raise InputError(folder, "no such bundle folder")
    path = folder / METADATA_FILE
    if not path.is_file():
        raise InputError(folder, f"not a model bundle ({METADATA_FILE} is missing)")
    try:
        values = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise InputError(folder, f"{METADATA_FILE} is corrupt ({error})") from error
    except RecursionError:
        raise InputError(folder, f"{METADATA_FILE} is corrupt (nested too deeply)") from None
    from genre_core.train_config import TrainConfig  # imports Keras: reading a bundle loads it anyway

    try:
        return validate_metadata(values, TrainConfig)
    except InputError as error:
        raise InputError(folder, str(error)) from None


def _load_model(folder: Path) -> keras.Model:
    import keras

    path = folder / MODEL_FILE
    if not path.is_file():
        raise InputError(path, "is missing")
    if path.stat().st_size == 0:
        raise InputError(path, "is empty")
    try:
        model = keras.saving.load_model(path, safe_mode=True, compile=False)
    except Exception as error:  # an untrusted file can fail in any layer of Keras: all are input errors
        lines = str(error).replace(str(path), "the file").strip().splitlines()
        reason = f"{type(error).__name__}: {lines[0]}" if lines else type(error).__name__
        raise InputError(path, f"cannot be loaded safely ({reason[:300]})") from error
    layer_names = {layer.name for layer in model.layers} if isinstance(model, keras.Model) else set()
    if not {"logits", "probabilities"} <= layer_names:
        raise InputError(path, "is not a GenreLens classifier (no logits/probabilities layers)")
    return model


def load_bundle(folder: str | Path) -> ModelBundle:
    """Read a bundle written by `save_bundle`: JSON metadata and a safe-mode Keras load (no custom code,
    no pickle). Any problem (missing folder or files, corrupt JSON or model, other schema version,
    mismatched shapes) raises InputError naming the folder."""
    from genre_core.train_config import TrainConfig

    folder = Path(folder)
    values = _read_metadata(folder)
    try:
        feature_config = values["feature_config"]
        metadata = {
            "class_names": list(values["class_names"]),
            "feature_kind": values["feature_kind"],
            "feature_config": None if feature_config is None else FeatureConfig.from_dict(feature_config),
            "standardizer": Standardizer.from_dict(values["standardizer"]),
            "train_config": TrainConfig.from_dict(values["train_config"]),
            "split_description": dict(values["split"]),
            "history": {str(key): [float(v) for v in series] for key, series in values["history"].items()},
            "metrics": dict(values["metrics"]),
            "created": values["created"],
            "versions": dict(values["versions"]),
            "name": values["name"],
            "notes": values["notes"],
        }
    except InputError as error:
        raise InputError(folder, f"{METADATA_FILE}: {error}") from error
    except (TypeError, ValueError) as error:
        raise InputError(folder, f"{METADATA_FILE} is malformed ({type(error).__name__}: {error})") from error
    bundle = ModelBundle(model=_load_model(folder), **metadata)
    outputs = bundle.model.output_shape[-1]
    if outputs != len(bundle.class_names) and not (outputs == 1 and len(bundle.class_names) == 2):
        raise InputError(folder / MODEL_FILE, f"has {outputs} outputs but {METADATA_FILE} names "
                         f"{len(bundle.class_names)} classes")
    if list(bundle.input_shape) != values["input_shape"]:
        raise InputError(folder / MODEL_FILE, f"takes inputs of shape {list(bundle.input_shape)}, {METADATA_FILE} "
                         f"declares {values['input_shape']}")
    return bundle


def check_compatible(bundle: ModelBundle, dataset: Dataset) -> None:
    """InputError (naming the dataset) unless ``bundle`` can score ``dataset``: same class names in the
    same order, the bundle's feature kind present with the same row shape, and for log-mel / MFCC the
    same `FeatureConfig`."""
    if list(dataset.class_names) != list(bundle.class_names):
        classes = list(dataset.class_names)
        reason = f"classes {classes} differ from model '{bundle.name}' ({bundle.class_names})"
        raise InputError(dataset.source, reason)
    features = dataset_features(dataset, bundle.feature_kind)
    if bundle.feature_kind != SUMMARY and dataset.feature_config != bundle.feature_config:
        raise InputError(
            dataset.source,
            f"feature settings {dataset.feature_config} differ from model '{bundle.name}' ({bundle.feature_config})",
        )
    if features.shape[1:] != bundle.feature_shape:
        shape, expected = features.shape[1:], bundle.feature_shape
        reason = f"{bundle.feature_kind} rows have shape {shape}, model '{bundle.name}' expects {expected}"
        raise InputError(dataset.source, reason)

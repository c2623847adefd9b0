"""What the app shows of a model bundle without loading it (no TensorFlow, no Streamlit): its role (FFN or CNN),
name, classes and test accuracy, read from ``bundle.json``; the shipped bundles to use by default.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from genre_core import bundle_files, paths
from genre_core.config import LOG_MEL
from genre_core.errors import InputError

FFN, CNN = "FFN", "CNN"  #: the two model roles of the app
#: Role -> pretrained bundle names to use by default, in order of preference.
DEFAULT_BUNDLES = {FFN: ("ffn_demo", "ffn_gtzan_features"), CNN: ("cnn_demo", "cnn_gtzan_transfer", "cnn_gtzan_mini")}
#: What the sidebar says of a shipped bundle besides its name.
PRETRAINED_ROLES = {
    "cnn_gtzan_transfer": "real music: transfer from musicnn",
    "cnn_gtzan_mini": "from-scratch comparison",
    "ffn_gtzan_features": "real music: Kaggle GTZAN table",
    "ffn_demo": "synthetic demo",
    "cnn_demo": "synthetic demo",
}


def role_of(feature_kind: str) -> str:
    """The app slot a model of ``feature_kind`` fills: `CNN` for log-mel models, `FFN` for the summary and
    MFCC feature models."""
    return CNN if feature_kind == LOG_MEL else FFN


@dataclass(frozen=True)
class BundleInfo:
    """What the sidebar shows of a bundle, read from its ``bundle.json`` without loading the model."""

    folder: str
    name: str
    feature_kind: str
    class_names: tuple[str, ...]
    test_accuracy: float | None
    pretrained: bool

    @property
    def role(self) -> str:
        return role_of(self.feature_kind)

    @property
    def label(self) -> str:
        if self.pretrained:
            role = PRETRAINED_ROLES.get(Path(self.folder).name)
            return f"{self.name} (pretrained{': ' + role if role else ''})"
        return f"{self.name} (workspace)"


def _dig(values: Any, *keys: str) -> Any:
    """``values[k1][k2]...``, or None where a level is missing or not a dict."""
    for key in keys:
        if not isinstance(values, dict):
            return None
        values = values.get(key)
    return values


def _test_accuracy(metrics: Any) -> float | None:
    """Test accuracy from a bundle's metrics: a flat ``{"accuracy": a}`` or an evaluation report
    (``parts.test.segment_metrics.accuracy``); None when absent."""
    for value in (_dig(metrics, "accuracy"), _dig(metrics, "parts", "test", "segment_metrics", "accuracy")):
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return float(value)
    return None


def read_bundle_info(folder: str, metadata_mtime_ns: int, pretrained: bool) -> BundleInfo:
    """Read the ``bundle.json`` of ``folder``; ``metadata_mtime_ns`` (its modification time) is unused here and
    lets a caller cache the result per modification. `InputError` naming the folder when it is unreadable."""
    path = Path(folder) / bundle_files.METADATA_FILE
    try:
        values = json.loads(path.read_text(encoding="utf-8"))
        return BundleInfo(
            folder=folder,
            name=str(values.get("name") or Path(folder).name),
            feature_kind=str(values["feature_kind"]),
            class_names=tuple(str(name) for name in values["class_names"]),
            test_accuracy=_test_accuracy(values.get("metrics")),
            pretrained=pretrained,
        )
    except (OSError, UnicodeDecodeError, json.JSONDecodeError, KeyError, TypeError, AttributeError,
            RecursionError) as error:
        raise InputError(folder, f"{bundle_files.METADATA_FILE} is unreadable ({type(error).__name__})") from None


InfoReader = Callable[[str, int, bool], BundleInfo]  #: (folder, metadata mtime in ns, pretrained) -> info


def scan_bundles(read: InfoReader = read_bundle_info) -> tuple[list[BundleInfo], list[str]]:
    """Bundles in `paths.PRETRAINED_DIR` then `paths.WORKSPACE_MODELS_DIR` (folders with a ``bundle.json``,
    hidden ones skipped), each read with ``read`` (the app passes a cached `read_bundle_info`), and one
    ``"<folder>: <reason>"`` line per bundle whose metadata is unreadable."""
    found: list[BundleInfo] = []
    problems: list[str] = []
    for root, pretrained in ((paths.PRETRAINED_DIR, True), (paths.WORKSPACE_MODELS_DIR, False)):
        for folder in bundle_files.list_bundles(root):
            try:
                metadata = folder / bundle_files.METADATA_FILE
                found.append(read(str(folder.resolve()), metadata.stat().st_mtime_ns, pretrained))
            except (InputError, OSError) as error:
                problems.append(str(error))
    return found, problems


def default_bundle_folder(role: str) -> str | None:
    """The first pretrained bundle of `DEFAULT_BUNDLES` for ``role`` that exists, as a resolved path."""
    for name in DEFAULT_BUNDLES[role]:
        folder = paths.PRETRAINED_DIR / name
        if (folder / bundle_files.METADATA_FILE).is_file():
            return str(folder.resolve())
    return None

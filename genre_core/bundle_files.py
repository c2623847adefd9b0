"""The files of a model bundle folder, without TensorFlow: their names and where bundles are.

`genre_core.bundles` reads and writes the bundles; the app lists them and reads their ``bundle.json`` with this
module only, so listing models never imports TensorFlow.
"""

from __future__ import annotations

from pathlib import Path

MODEL_FILE = "model.keras"  #: the Keras model, loaded with safe_mode=True
METADATA_FILE = "bundle.json"  #: classes, feature settings, standardizer, training config, split, metrics


def list_bundles(folder: str | Path) -> list[Path]:
    """Bundle folders (holding a ``bundle.json``) directly inside ``folder``, sorted by name; hidden
    (temporary) folders are skipped and a missing ``folder`` gives []."""
    folder = Path(folder)
    if not folder.is_dir():
        return []
    return sorted(
        child for child in folder.iterdir() if not child.name.startswith(".") and (child / METADATA_FILE).is_file()
    )

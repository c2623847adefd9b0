"""Listing bundle folders without TensorFlow."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from genre_core import bundle_files


def test_list_bundles_finds_bundle_folders_only(tmp_path: Path) -> None:
    for name in ("b-model", "a-model", ".a-model.123.tmp"):
        (tmp_path / name).mkdir()
        (tmp_path / name / bundle_files.METADATA_FILE).write_text("{}")
    (tmp_path / "not-a-bundle").mkdir()
    (tmp_path / "stray.json").write_text("{}")
    assert bundle_files.list_bundles(tmp_path) == [tmp_path / "a-model", tmp_path / "b-model"]
    assert bundle_files.list_bundles(tmp_path / "missing") == []


def test_listing_bundles_and_importing_bundles_import_no_tensorflow() -> None:
    code = ("import sys, genre_core.bundle_files, genre_core.bundles, pages.common; "
            "assert not {'tensorflow', 'keras'} & set(sys.modules)")
    subprocess.run([sys.executable, "-c", code], cwd=Path(__file__).resolve().parent.parent, check=True)

"""`genre_core.uploads`: per-session upload folders, replaced per kind, ended sessions' folders removed."""

from __future__ import annotations

import io
import os
import time
from pathlib import Path

from conftest import zip_bytes

from genre_core import paths, uploads


def test_a_session_folder_lives_under_the_workspace(workspace: Path) -> None:
    assert uploads.upload_folder("abc") == paths.DATA_DIR / "uploads" / "abc"


def test_an_upload_replaces_its_kind_only_and_removes_ended_sessions(workspace: Path) -> None:
    mine, root = uploads.upload_folder("mine"), uploads.upload_folder("x").parent
    day_ago = time.time() - uploads.UPLOAD_MAX_IDLE_S - 60
    for name, modified in (("ended", day_ago), ("running", time.time())):
        (root / name / "rock").mkdir(parents=True)
        os.utime(root / name, (modified, modified))
    first = zip_bytes({"blues/blues.00000.wav": b"RIFF"})
    unpacked = uploads.unpack_upload(io.BytesIO(first), "first.zip", mine, uploads.UPLOADED_DATASET)
    assert unpacked == mine / uploads.UPLOADED_DATASET and (unpacked / "blues" / "blues.00000.wav").is_file()
    assert not (root / "ended").exists() and (root / "running" / "rock").is_dir()

    (mine / uploads.UPLOADED_BUNDLE).mkdir()
    (mine / uploads.UPLOADED_BUNDLE / "bundle.json").write_text("{}", encoding="utf-8")
    second = zip_bytes({"jazz/jazz.00000.wav": b"RIFF"})
    uploads.unpack_upload(io.BytesIO(second), "second.zip", mine, uploads.UPLOADED_DATASET)
    assert sorted(path.name for path in unpacked.iterdir()) == ["jazz"]  # the earlier dataset upload replaced
    assert (mine / uploads.UPLOADED_BUNDLE / "bundle.json").is_file()  # the other kind left alone


def test_a_folder_in_use_is_kept_and_a_missing_one_is_no_error(workspace: Path) -> None:
    folder = uploads.upload_folder("idle")
    uploads.mark_in_use(folder)
    assert not folder.exists()
    folder.mkdir(parents=True)
    day_ago = time.time() - uploads.UPLOAD_MAX_IDLE_S - 60
    os.utime(folder, (day_ago, day_ago))
    uploads.mark_in_use(folder)
    assert folder.stat().st_mtime > time.time() - 60

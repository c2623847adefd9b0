"""Tests of `genre_core.stamps`: a stamp changes with a file's or a folder's contents, and names a missing path."""

from __future__ import annotations

import os
from pathlib import Path

from genre_core.stamps import source_stamp


def test_a_stamp_follows_contents_names_and_times(tmp_path: Path) -> None:
    assert source_stamp(tmp_path / "missing") == "missing"
    table = tmp_path / "songs" / "table.csv"
    table.parent.mkdir()
    table.write_text("a\n1\n", encoding="utf-8")
    first_file, first_folder = source_stamp(table), source_stamp(table.parent)
    assert source_stamp(table) == first_file and len(first_file) == 64
    os.utime(table, ns=(0, 1))
    assert source_stamp(table) != first_file and source_stamp(table.parent) != first_folder
    before = source_stamp(table.parent)
    (table.parent / "new.wav").write_bytes(b"")
    assert source_stamp(table.parent) != before
    before = source_stamp(table.parent)
    (table.parent / "new.wav").rename(table.parent / "renamed.wav")
    assert source_stamp(table.parent) != before

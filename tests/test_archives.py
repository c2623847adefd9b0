"""Safe unpacking of uploaded zip archives."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import pytest

from conftest import zip_bytes

from genre_core import archives
from genre_core.errors import InputError


def test_unpack_zip_refuses_zip_slip_links_bombs_and_non_zips(tmp_path: Path) -> None:
    target = tmp_path / "upload"
    for bad_name in ("../evil.wav", "/etc/evil.wav", "C:/evil.wav", "genres/../../evil.wav"):
        with pytest.raises(InputError, match="points outside"):
            archives.unpack_zip(io.BytesIO(zip_bytes({bad_name: b"x"})), target, name="bad.zip")
    link = zipfile.ZipInfo("genres/blues/link.wav")
    link.external_attr = (0o120777 << 16)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr(link, "/etc/passwd")
    with pytest.raises(InputError, match="symbolic link"):
        archives.unpack_zip(buffer, target, name="link.zip")
    big = zip_bytes({"blues/a.wav": bytes(600), "rock/b.wav": bytes(600)})
    with pytest.raises(InputError, match="limit"):
        archives.unpack_zip(io.BytesIO(big), target, name="big.zip", max_bytes=1000)
    with pytest.raises(InputError, match="not a zip archive"):
        archives.unpack_zip(io.BytesIO(b"PK but not really"), target, name="fake.zip")
    assert not target.exists() and not (tmp_path / "evil.wav").exists()


def test_unpack_zip_returns_the_folder_holding_the_genres(tmp_path: Path) -> None:
    nested = zip_bytes({"my data/genres/blues/a.wav": b"a", "my data/genres/rock/b.wav": b"b"})
    assert archives.unpack_zip(io.BytesIO(nested), tmp_path / "one", name="n.zip") == tmp_path / "one" / "my data" / "genres"
    one_genre = zip_bytes({"blues/a.wav": b"a"})
    assert archives.unpack_zip(io.BytesIO(one_genre), tmp_path / "two", name="g.zip") == tmp_path / "two"
    assert (tmp_path / "two" / "blues" / "a.wav").read_bytes() == b"a"
    archives.unpack_zip(io.BytesIO(zip_bytes({"rock/b.wav": b"b"})), tmp_path / "two", name="again.zip")
    assert not (tmp_path / "two" / "blues").exists()  # a new upload replaces the previous one

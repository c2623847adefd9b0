"""Safe unpacking of uploaded zip archives."""

from __future__ import annotations

import io
import os
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


def test_remove_stale_folders_deletes_idle_folders_and_crash_leftovers_only(tmp_path: Path) -> None:
    now, hour = 1_800_000_000.0, 3600.0
    ages = {"ended": 30 * hour, "mine": 30 * hour, "active": 1 * hour, ".ended.x1.tmp": 30 * hour,
            ".active.x2.old": 30 * hour, ".unpacking.x3.tmp": 0.0}
    for name, age in ages.items():
        (tmp_path / name / "blues").mkdir(parents=True)
        (tmp_path / name / "blues" / "a.wav").write_bytes(b"a")
        os.utime(tmp_path / name, (now - age, now - age))
    (tmp_path / "notes.txt").write_text("a file, not a folder")
    os.utime(tmp_path / "notes.txt", (now - 30 * hour, now - 30 * hour))
    (tmp_path / "link").symlink_to(tmp_path / "ended")
    os.utime(tmp_path / "link", (now - 30 * hour, now - 30 * hour), follow_symlinks=False)

    removed = archives.remove_stale_folders(tmp_path, keep="mine", max_idle_s=24 * hour, now=now)

    assert removed == [".active.x2.old", ".ended.x1.tmp", "ended"]
    assert sorted(entry.name for entry in tmp_path.iterdir()) == [".unpacking.x3.tmp", "active", "link", "mine",
                                                                  "notes.txt"]
    assert (tmp_path / "mine" / "blues" / "a.wav").read_bytes() == b"a"
    assert archives.remove_stale_folders(tmp_path / "no-uploads-yet", keep="mine", max_idle_s=hour) == []


def _deflated(members: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for member, content in members.items():
            archive.writestr(member, content)
    return buffer.getvalue()


def _corrupt_deflate() -> bytes:
    content = bytearray(_deflated({"blues/a.wav": os.urandom(4000)}))
    content[60:80] = bytes(20)  # inside the compressed data of the only member
    return bytes(content)


BAD_ZIPS = {  # name -> (archive bytes, a fragment of the one-line reason)
    "file-and-folder": (zip_bytes({"blues": b"x", "blues/a.wav": b"a"}), "'blues' is both a file and the folder"),
    "long-name": (zip_bytes({"x" * 300 + "/a.wav": b"a"}), "has a name longer than 255 bytes"),
    "deep": (zip_bytes({"d/" * 3000 + "a.wav": b"a"}), "is 3001 levels deep (the limit is 16)"),
    "corrupt-deflate": (_corrupt_deflate(), "member 'blues/a.wav' is damaged"),
    "bomb": (_deflated({"blues/a.wav": bytes(64 * 1024**2)}), "times larger than it is (a zip bomb?)"),
    "newline-name": (zip_bytes({"../a\nb.wav": b"a"}), "member '../a\\nb.wav' points outside"),
}


@pytest.mark.parametrize("case", list(BAD_ZIPS))
def test_damaged_or_hostile_zips_are_one_line_errors(tmp_path: Path, case: str) -> None:
    content, reason = BAD_ZIPS[case]
    with pytest.raises(InputError) as refused:
        archives.unpack_zip(io.BytesIO(content), tmp_path / "upload", name="up.zip")
    assert reason in str(refused.value) and "\n" not in str(refused.value)
    assert not (tmp_path / "upload").exists() and list(tmp_path.iterdir()) == []


def test_member_count_and_the_servers_upload_space_are_capped(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setattr(archives, "MAX_MEMBERS", 3)
    many = zip_bytes({f"blues/{index}.wav": b"a" for index in range(4)})
    with pytest.raises(InputError, match="holds 4 files, more than the limit of 3"):
        archives.unpack_zip(io.BytesIO(many), tmp_path / "upload", name="many.zip")
    uploads = tmp_path / "uploads"
    (uploads / "session-a" / "dataset").mkdir(parents=True)
    (uploads / "session-a" / "dataset" / "big.wav").write_bytes(bytes(900))
    (uploads / "session-b" / "dataset").mkdir(parents=True)
    (uploads / "session-b" / "dataset" / "old.wav").write_bytes(bytes(500))  # replaced by b's next unpack
    left = archives.space_left(uploads, excluding=uploads / "session-b" / "dataset", quota=1000)
    assert left == 100
    content = zip_bytes({"blues/a.wav": bytes(150)})
    with pytest.raises(InputError, match="the server's upload space has only 0 MB left"):
        archives.unpack_zip(io.BytesIO(content), uploads / "session-b" / "dataset", name="a.zip", space_left=left)
    assert (uploads / "session-b" / "dataset" / "old.wav").is_file()
    archives.unpack_zip(io.BytesIO(zip_bytes({"blues/a.wav": bytes(90)})), uploads / "session-b" / "dataset",
                        name="a.zip", space_left=left)

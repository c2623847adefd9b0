import os

import pytest

from genre_core.atomic import atomic_directory, atomic_path, write_text_atomic


def test_atomic_path_replaces_target_only_on_success(tmp_path):
    target = tmp_path / "out.txt"
    write_text_atomic(target, "old")
    with pytest.raises(RuntimeError):
        with atomic_path(target) as temporary:
            temporary.write_text("half")
            raise RuntimeError("crash")
    assert target.read_text() == "old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.txt"]
    write_text_atomic(target, "new")
    assert target.read_text() == "new"


def test_atomic_path_keeps_suffix(tmp_path):
    with atomic_path(tmp_path / "cache.npz", suffix=".npz") as temporary:
        assert temporary.name.endswith(".npz")
        temporary.write_bytes(b"x")
    assert (tmp_path / "cache.npz").read_bytes() == b"x"


def test_atomic_directory_crash_leaves_old_folder_intact(tmp_path):
    target = tmp_path / "bundle"
    with atomic_directory(target) as folder:
        (folder / "a.txt").write_text("1")
    with pytest.raises(RuntimeError):
        with atomic_directory(target) as folder:
            (folder / "a.txt").write_text("2")
            raise RuntimeError("crash")
    assert (target / "a.txt").read_text() == "1"
    assert [p.name for p in tmp_path.iterdir()] == ["bundle"]
    with atomic_directory(target) as folder:
        (folder / "b.txt").write_text("3")
    assert sorted(p.name for p in target.iterdir()) == ["b.txt"]
    assert [p.name for p in tmp_path.iterdir()] == ["bundle"]


def test_written_files_and_folders_get_the_usual_permissions(tmp_path):
    write_text_atomic(tmp_path / "a.txt", "x")
    with atomic_directory(tmp_path / "folder") as folder:
        (folder / "b.txt").write_text("y")
    mask = os.umask(0)
    os.umask(mask)
    assert (tmp_path / "a.txt").stat().st_mode & 0o777 == 0o666 & ~mask
    assert (tmp_path / "folder").stat().st_mode & 0o777 == 0o777 & ~mask

import os

import pytest

from genre_core import atomic
from genre_core.atomic import atomic_directory, atomic_path, remove_directory, write_text_atomic


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


def test_remove_directory_renames_the_folder_away_before_deleting_it(tmp_path, monkeypatch):
    target = tmp_path / "upload"
    (target / "genre").mkdir(parents=True)
    (target / "genre" / "a.wav").write_bytes(b"x")
    deleted = []

    def rmtree_after_the_rename(path, ignore_errors=False):
        assert not target.exists() and path.name.startswith(".upload.") and path.name.endswith(".old")
        deleted.append(path)
        real_rmtree(path, ignore_errors=ignore_errors)

    real_rmtree = atomic.shutil.rmtree
    monkeypatch.setattr(atomic.shutil, "rmtree", rmtree_after_the_rename)
    remove_directory(target)
    assert len(deleted) == 1 and list(tmp_path.iterdir()) == []

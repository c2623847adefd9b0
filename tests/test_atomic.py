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


# --- replacing a folder: atomic swap, rollback on every failure, recovery after a crash (issue 14, defect 2) ------
def _folder_with(target, text):
    with atomic.atomic_directory(target) as folder:
        (folder / "model.txt").write_text(text)


def _contents(parent):
    return sorted(path.name for path in parent.iterdir())


def test_exchange_swaps_two_folders_in_one_step(tmp_path):
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "x").write_text("a")
    (tmp_path / "b").mkdir()
    if not atomic.exchange(tmp_path / "a", tmp_path / "b"):
        pytest.skip("renameat2(RENAME_EXCHANGE) is not available here; the rename-aside path is tested instead")
    assert _contents(tmp_path / "b") == ["x"] and _contents(tmp_path / "a") == []


def test_replacing_a_folder_never_leaves_the_name_empty(tmp_path, monkeypatch):
    """With the exchange, no rename ever moves the old folder away from its name."""
    target = tmp_path / "bundle"
    _folder_with(target, "old")
    seen = []
    real_replace = os.replace
    monkeypatch.setattr(atomic.os, "replace", lambda a, b: (seen.append((a, b)), real_replace(a, b)))
    _folder_with(target, "new")
    if atomic.exchange(tmp_path / "bundle", tmp_path / "bundle"):  # exchanging a folder with itself: a no-op probe
        assert seen == []
    assert (target / "model.txt").read_text() == "new" and _contents(tmp_path) == ["bundle"]


@pytest.mark.parametrize(("swap_mode", "failing_call"), [("exchange", 1), ("rename-aside", 1), ("rename-aside", 2)])
def test_a_failing_rename_keeps_the_old_folder(tmp_path, monkeypatch, swap_mode, failing_call):
    """ENOSPC injected at each rename of a replacement, with renameat2(RENAME_EXCHANGE) (one call) and with the
    fallback where the OS lacks it (rename aside, rename in): the old folder stays whole under its name, nothing
    is left beside it, and the error reaches the caller."""
    target = tmp_path / "bundle"
    _folder_with(target, "old")
    calls = []
    real_replace, real_exchange = os.replace, atomic.exchange

    def failing(real):
        def call(*args):
            calls.append(args)
            if len(calls) == failing_call:
                raise OSError(28, "No space left on device")
            return real(*args)
        return call

    monkeypatch.setattr(atomic.os, "replace", failing(real_replace))
    monkeypatch.setattr(atomic, "exchange", failing(real_exchange))
    if swap_mode == "rename-aside":
        monkeypatch.setattr(atomic, "exchange", lambda first, second: False)
    with pytest.raises(OSError, match="No space left"):
        _folder_with(target, "new")
    assert (target / "model.txt").read_text() == "old"
    assert _contents(tmp_path) == ["bundle"]


KILL_CHILD = """
import os, shutil, signal, sys
from pathlib import Path
from genre_core import atomic

mode, kill_at, target = sys.argv[1], int(sys.argv[2]), Path(sys.argv[3])
calls = [0]

def killing(real):
    def call(*args, **kwargs):
        calls[0] += 1
        if calls[0] == kill_at:
            os.kill(os.getpid(), signal.SIGKILL)
        return real(*args, **kwargs)
    return call

atomic.exchange = killing((lambda a, b: False) if mode == "rename-aside" else atomic.exchange)
os.replace = killing(os.replace)
shutil.rmtree = killing(shutil.rmtree)
with atomic.atomic_directory(target) as folder:
    (folder / "model.txt").write_text("new")
"""


@pytest.mark.parametrize("mode", ["exchange", "rename-aside"])
def test_sigkill_at_every_step_loses_nothing_and_the_next_start_recovers(tmp_path, mode, caplog):
    """A writer SIGKILLed before each rename/delete of a replacement (and one that finishes): afterwards the name
    holds the old or the new complete folder, and `recover_leftovers` clears every leftover and says so."""
    import subprocess
    import sys

    outcomes = []
    for kill_at in range(1, 10):
        parent = tmp_path / f"{mode}-{kill_at}"
        target = parent / "bundle"
        _folder_with(target, "old")
        child = subprocess.run([sys.executable, "-c", KILL_CHILD, mode, str(kill_at), str(target)],
                               capture_output=True, text=True, cwd=os.path.dirname(atomic.__file__) + "/..")
        assert child.returncode in (0, -9), child.stderr
        caplog.clear()
        notes = atomic.recover_leftovers(parent)
        assert _contents(parent) == ["bundle"], (kill_at, notes)
        assert (target / "model.txt").read_text() in ("old", "new")
        assert [record.getMessage() for record in caplog.records] == notes
        outcomes.append((child.returncode, (target / "model.txt").read_text(), bool(notes)))
        if child.returncode == 0:
            break
    assert outcomes[-1] == (0, "new", False)  # the last run was not killed and left nothing to recover
    # a kill before each call: exchange, delete the old; or exchange (unsupported), rename aside, rename in, delete
    assert len(outcomes) - 1 == {"exchange": 2, "rename-aside": 4}[mode]
    assert any(killed == -9 and note for killed, _, note in outcomes)  # some kill did leave something to recover


def test_recovery_restores_a_stranded_old_folder_and_deletes_the_half_written_one(tmp_path, caplog):
    """The crash of the old code: old folder renamed aside, new one still .tmp, nothing under the name."""
    (tmp_path / ".bundle.abcd1234.old").mkdir()
    (tmp_path / ".bundle.abcd1234.old" / "model.txt").write_text("old")
    (tmp_path / ".bundle.efgh5678.tmp").mkdir()
    (tmp_path / ".other.123.aaaa.tmp").write_text("x")
    with caplog.at_level("WARNING", logger="genre_core"):
        notes = atomic.recover_leftovers(tmp_path, only="bundle")
    assert (tmp_path / "bundle" / "model.txt").read_text() == "old"
    assert _contents(tmp_path) == [".other.123.aaaa.tmp", "bundle"]
    assert notes == [f"{tmp_path / 'bundle'}: restored from .bundle.abcd1234.old, left by an interrupted replacement",
                     f"{tmp_path / '.bundle.efgh5678.tmp'}: deleted, left by an interrupted write"]
    assert atomic.recover_leftovers(tmp_path) == [f"{tmp_path / '.other.123.aaaa.tmp'}: deleted, left by an "
                                                  "interrupted write"]


def test_recovery_leaves_a_running_writers_folder_alone(tmp_path):
    parent_pid = os.getppid()  # a process that certainly runs
    live = tmp_path / f".bundle.{parent_pid}.abcd1234.tmp"
    live.mkdir()
    assert atomic.recover_leftovers(tmp_path) == [] and live.is_dir()


def test_the_next_replacement_recovers_first(tmp_path):
    (tmp_path / ".bundle.abcd1234.old").mkdir()
    (tmp_path / ".bundle.abcd1234.old" / "model.txt").write_text("old")
    _folder_with(tmp_path / "bundle", "new")
    assert _contents(tmp_path) == ["bundle"] and (tmp_path / "bundle" / "model.txt").read_text() == "new"

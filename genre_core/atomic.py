"""Atomic writes: a crash never leaves a half-written file or folder behind, and never loses the old one.

A folder is replaced by an atomic swap: ``renameat2(RENAME_EXCHANGE)`` (Linux >= 3.15, on file systems that
support it) exchanges the new and the old folder in one step, so the name always holds a complete folder.
Where the call is missing, the old folder is renamed aside, the new one renamed in, and every failure in
between puts the old one back. Temporary siblings carry the writer's process id
(``.<name>.<pid>.<random>.tmp`` / ``.old``), so that `recover_leftovers` can tell a crashed writer's
leftovers from a live one's: it puts a stranded old folder back under its name and deletes the rest.
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
import logging
import os
import re
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

LOG = logging.getLogger("genre_core")

_AT_FDCWD = -100
_RENAME_EXCHANGE = 2
_EXCHANGE_UNSUPPORTED = (errno.EINVAL, errno.ENOSYS, errno.ENOTSUP, errno.EOPNOTSUPP, errno.EXDEV, errno.EPERM)
#: A temporary sibling: ``.<name>.<pid>.<random>.tmp`` or ``.old`` (the pid is missing in older versions' names).
_LEFTOVER = re.compile(r"^\.(?P<name>.+?)\.(?:(?P<pid>\d+)\.)?[^.]+\.(?P<kind>tmp|old)$")


def _umask() -> int:
    """The process umask (read by setting it and putting it back)."""
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _sibling_prefix(target: Path) -> str:
    return f".{target.name}.{os.getpid()}."


@contextlib.contextmanager
def atomic_path(target: str | Path, suffix: str = "") -> Iterator[Path]:
    """Yield a temporary path beside ``target``; on success rename it over ``target`` in one step.

    Write the file to the yielded path. If the block raises, the temporary file is removed and
    ``target`` is left untouched. ``suffix`` keeps an extension that a writer insists on (``.npz``).
    """
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(prefix=_sibling_prefix(target), suffix=f".tmp{suffix}", dir=target.parent)
    os.close(handle)
    temporary_path = Path(temporary)
    try:
        yield temporary_path
        os.chmod(temporary_path, 0o666 & ~_umask())  # mkstemp makes 0600; give the file the usual mode
        os.replace(temporary_path, target)
    finally:
        temporary_path.unlink(missing_ok=True)


def write_text_atomic(target: str | Path, text: str) -> None:
    """Write ``text`` (UTF-8) to ``target`` atomically."""
    with atomic_path(target) as temporary:
        temporary.write_text(text, encoding="utf-8")


def _new_sibling_name(target: Path, kind: str) -> Path:
    """A fresh unused name ``.<name>.<pid>.<random>.<kind>`` beside ``target`` (nothing is created)."""
    made = Path(tempfile.mkdtemp(prefix=_sibling_prefix(target), suffix=f".{kind}", dir=target.parent))
    made.rmdir()
    return made


def _move_aside(target: Path) -> Path:
    """Rename the folder ``target``, in one step, to a new hidden sibling ``.<name>.<pid>.<random>.old``."""
    aside = _new_sibling_name(target, "old")
    os.replace(target, aside)
    return aside


def remove_directory(target: str | Path) -> None:
    """Delete the folder ``target`` so that its name never shows a half-deleted folder: it is renamed aside in one
    step (`_move_aside`), then deleted. A crash in between leaves only a hidden ``.old`` sibling."""
    shutil.rmtree(_move_aside(Path(target)), ignore_errors=True)


def exchange(first: Path, second: Path) -> bool:
    """Swap two existing paths in one atomic step with ``renameat2(RENAME_EXCHANGE)``. Returns False (nothing
    changed) where the C library, the kernel or the file system lacks the call; raises OSError otherwise."""
    function = getattr(_libc(), "renameat2", None)
    if function is None:
        return False
    result = function(_AT_FDCWD, os.fsencode(first), _AT_FDCWD, os.fsencode(second), _RENAME_EXCHANGE)
    if result == 0:
        return True
    code = ctypes.get_errno()
    if code in _EXCHANGE_UNSUPPORTED:
        return False
    raise OSError(code, os.strerror(code), str(first), None, str(second))


_LIBC: list[ctypes.CDLL | None] = []


def _libc() -> ctypes.CDLL | None:
    """The process's C library (loaded once), or None where it cannot be loaded."""
    if not _LIBC:
        try:
            _LIBC.append(ctypes.CDLL(None, use_errno=True))
        except OSError:
            _LIBC.append(None)
    return _LIBC[0]


def _swap_in(staging: Path, target: Path) -> None:
    """Put the complete folder ``staging`` under the name ``target``, replacing a folder there; the old folder is
    deleted only once the new one is in place, and on any failure ``target`` keeps the old one."""
    if not target.exists():
        os.replace(staging, target)
        return
    if exchange(staging, target):  # now `staging` holds the old folder
        shutil.rmtree(staging, ignore_errors=True)
        return
    old = _move_aside(target)
    try:
        os.replace(staging, target)
    except BaseException:
        os.replace(old, target)  # put the old folder back before reporting the failure
        raise
    shutil.rmtree(old, ignore_errors=True)


@contextlib.contextmanager
def atomic_directory(target: str | Path) -> Iterator[Path]:
    """Yield an empty temporary folder beside ``target``; on success it replaces ``target`` atomically.

    Leftovers of an earlier crash beside ``target`` are recovered first (`recover_leftovers`). At every moment
    the name holds either the old or the new complete folder; if the block or the swap fails, the temporary
    folder is deleted and the old folder stays.
    """
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    recover_leftovers(target.parent, only=target.name)
    temporary = Path(tempfile.mkdtemp(prefix=_sibling_prefix(target), suffix=".tmp", dir=target.parent))
    try:
        yield temporary
        os.chmod(temporary, 0o777 & ~_umask())  # mkdtemp makes 0700; give the folder the usual mode
        _swap_in(temporary, target)
    finally:
        if temporary.exists():
            shutil.rmtree(temporary, ignore_errors=True)


def _alive(pid: int) -> bool:
    """Whether a process with id ``pid`` runs on this machine (this process counts as dead: it is not writing)."""
    if pid == os.getpid():
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def recover_leftovers(parent: str | Path, *, only: str | None = None) -> list[str]:
    """Clean up after writers that crashed in ``parent`` (for every name, or only for ``only``) and return one
    ``"<path>: <what was done>"`` line per leftover, each also logged as a warning of the ``genre_core`` logger.

    A stranded ``.old`` folder whose name is free again is put back under its name (the replacement never
    arrived); any other ``.tmp`` or ``.old`` leftover of a writer that no longer runs is deleted. Leftovers of a
    running writer are left alone.
    """
    parent = Path(parent)
    if not parent.is_dir():
        return []
    notes = []
    leftovers = [
        (match, entry) for entry in sorted(parent.iterdir())
        if (match := _LEFTOVER.match(entry.name)) and (only is None or match["name"] == only)
        and not (match["pid"] and _alive(int(match["pid"])))
    ]
    for match, entry in sorted(leftovers, key=lambda pair: pair[0]["kind"] != "old"):  # restore before deleting
        target = parent / match["name"]
        with contextlib.suppress(OSError):
            if match["kind"] == "old" and entry.is_dir() and not target.exists():
                os.replace(entry, target)
                notes.append(f"{target}: restored from {entry.name}, left by an interrupted replacement")
            elif entry.is_dir() and not entry.is_symlink():
                shutil.rmtree(entry)
                notes.append(f"{entry}: deleted, left by an interrupted write")
            else:
                entry.unlink()
                notes.append(f"{entry}: deleted, left by an interrupted write")
    for note in notes:
        LOG.warning(note)
    return notes

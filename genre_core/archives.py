"""Unpacking uploaded zip archives safely (no zip-slip, no links, no zip bombs), and removing the unpacked folders
nobody uses any more."""

from __future__ import annotations

import re
import time
import zipfile
from pathlib import Path, PurePosixPath
from typing import IO

from genre_core.atomic import atomic_directory, remove_directory
from genre_core.errors import InputError

MAX_UNPACKED_BYTES = 2 * 1024**3  #: largest total size an uploaded zip may unpack to
_COPY_CHUNK_BYTES = 1 << 20
_WINDOWS_DRIVE = re.compile(r"^[A-Za-z]:")
_RESOURCE_FORKS = "__MACOSX"
_SYMLINK_MODE, _FILE_TYPE_MASK = 0o120000, 0o170000  #: Unix file type bits kept in a zip member


def _member_parts(name: str, member: zipfile.ZipInfo) -> tuple[str, ...]:
    """Path parts of a zip member; `InputError` for absolute paths, ``..``, links and encrypted members."""
    filename = member.filename.replace("\\", "/")
    parts = PurePosixPath(filename).parts
    if filename.startswith("/") or _WINDOWS_DRIVE.match(filename) or ".." in parts:
        raise InputError(name, f"member '{member.filename}' points outside the archive folder")
    if (member.external_attr >> 16) & _FILE_TYPE_MASK == _SYMLINK_MODE:
        raise InputError(name, f"member '{member.filename}' is a symbolic link")
    if member.flag_bits & 0x1:
        raise InputError(name, f"member '{member.filename}' is encrypted")
    return parts


def _visible_entries(folder: Path) -> list[Path]:
    return [entry for entry in folder.iterdir() if not entry.name.startswith(".")]


def _dataset_root(folder: Path) -> Path:
    """``folder``, or the folder inside it while it holds just one folder that itself holds only folders
    (``mydata.zip`` → ``mydata/genres/``; a zip of one genre folder keeps the folder above it)."""
    while True:
        entries = _visible_entries(folder)
        if len(entries) != 1 or not entries[0].is_dir() or not all(e.is_dir() for e in _visible_entries(entries[0])):
            return folder
        folder = entries[0]


def unpack_zip(archive: IO[bytes], target: Path, *, name: str, max_bytes: int = MAX_UNPACKED_BYTES) -> Path:
    """Unpack a zip of a GTZAN-style folder into ``target`` (replacing it atomically) and return the folder
    that holds the genre subfolders (see `_dataset_root`).

    Refused with `InputError` naming the archive ``name``: a file that is not a zip, members with absolute
    paths or ``..`` (zip-slip), symbolic links, encrypted members, an archive without files, and more than
    ``max_bytes`` of content (checked from the directory and again while writing). macOS resource forks
    (``__MACOSX/``) are left out.
    """
    try:
        bundle = zipfile.ZipFile(archive)
    except (zipfile.BadZipFile, OSError):
        raise InputError(name, "not a zip archive") from None
    with bundle:
        members = [(member, _member_parts(name, member)) for member in bundle.infolist() if not member.is_dir()]
        members = [(member, parts) for member, parts in members if parts and parts[0] != _RESOURCE_FORKS]
        if not members:
            raise InputError(name, "the archive holds no files")
        declared = sum(member.file_size for member, _ in members)
        if declared > max_bytes:
            raise InputError(name, f"unpacks to {declared / 1e6:,.0f} MB, more than the {max_bytes / 1e6:,.0f} MB limit")
        written = 0
        with atomic_directory(target) as staging:
            for member, parts in members:
                destination = staging.joinpath(*parts)
                destination.parent.mkdir(parents=True, exist_ok=True)
                try:
                    with bundle.open(member) as source, destination.open("wb") as sink:
                        while chunk := source.read(_COPY_CHUNK_BYTES):
                            written += len(chunk)
                            if written > max_bytes:
                                raise InputError(name, f"unpacks to more than the {max_bytes / 1e6:,.0f} MB limit")
                            sink.write(chunk)
                except (zipfile.BadZipFile, EOFError, OSError, RuntimeError) as error:
                    raise InputError(name, f"member '{member.filename}' is damaged ({error})") from None
    return _dataset_root(target)


def remove_stale_folders(parent: Path, *, keep: str, max_idle_s: float, now: float | None = None) -> list[str]:
    """Delete the folders in ``parent`` not modified for more than ``max_idle_s`` seconds before ``now`` (default:
    the current time), except the one named ``keep``; return the deleted names, sorted.

    Meant for a folder of unpack targets (one per user session, see `unpack_zip`): an idle one belongs to a session
    that has ended, a hidden ``.tmp`` or ``.old`` one to an unpack or replacement that crashed. Each is deleted with
    `genre_core.atomic.remove_directory`, so it is there whole or not at all. Files and links are left alone, and so
    is a folder that vanishes or cannot be renamed meanwhile (another session removing it at the same moment).
    """
    if not parent.is_dir():
        return []
    deadline = (time.time() if now is None else now) - max_idle_s
    removed = []
    for entry in parent.iterdir():
        try:
            if entry.name == keep or entry.is_symlink() or not entry.is_dir() or entry.stat().st_mtime >= deadline:
                continue
            remove_directory(entry)
        except OSError:
            continue
        removed.append(entry.name)
    return sorted(removed)

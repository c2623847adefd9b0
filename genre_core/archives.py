"""Unpacking uploaded zip archives safely (no zip-slip, no links, no zip bombs), and removing the unpacked folders
nobody uses any more."""

from __future__ import annotations

import os
import re
import time
import zipfile
import zlib
from pathlib import Path, PurePosixPath
from typing import IO

from genre_core.atomic import atomic_directory, remove_directory
from genre_core.errors import InputError

MAX_UNPACKED_BYTES = 2 * 1024**3  #: largest total size an uploaded zip may unpack to
MAX_MEMBERS = 10_000  #: most files in an uploaded zip (GTZAN holds 1,000)
#: Highest ratio of unpacked to packed size of a zip unpacking to more than `_RATIO_FLOOR_BYTES` (audio barely
#: compresses; a zip bomb packs 1,000:1 or more).
MAX_RATIO = 100
_RATIO_FLOOR_BYTES = 16 * 1024**2
MAX_DEPTH = 16  #: most folder levels of a member's path
MAX_NAME_BYTES = 255  #: longest part of a member's path (the usual file-system limit), UTF-8 bytes
#: Disk all unpacked uploads of a server may take together (env ``GENRELENS_UPLOAD_QUOTA_GB``; default 20 GB).
UPLOAD_QUOTA_BYTES = int(float(os.environ.get("GENRELENS_UPLOAD_QUOTA_GB", "20")) * 1024**3)
_COPY_CHUNK_BYTES = 1 << 20
_WINDOWS_DRIVE = re.compile(r"^[A-Za-z]:")
_RESOURCE_FORKS = "__MACOSX"
_SYMLINK_MODE, _FILE_TYPE_MASK = 0o120000, 0o170000  #: Unix file type bits kept in a zip member


def _shown(member_name: str) -> str:
    """A member name for a one-line message: quoted, control characters escaped, at most 80 characters."""
    text = repr(member_name)
    return text if len(text) <= 80 else f"{text[:60]}…{text[-19:]}"


def _member_parts(name: str, member: zipfile.ZipInfo) -> tuple[str, ...]:
    """Path parts of a zip member; `InputError` for absolute paths, ``..``, links, encrypted members, and paths
    too deep or with a part too long to create."""
    filename = member.filename.replace("\\", "/")
    parts = PurePosixPath(filename).parts
    shown = _shown(member.filename)
    if filename.startswith("/") or _WINDOWS_DRIVE.match(filename) or ".." in parts:
        raise InputError(name, f"member {shown} points outside the archive folder")
    if (member.external_attr >> 16) & _FILE_TYPE_MASK == _SYMLINK_MODE:
        raise InputError(name, f"member {shown} is a symbolic link")
    if member.flag_bits & 0x1:
        raise InputError(name, f"member {shown} is encrypted")
    if not member.filename.isprintable():
        raise InputError(name, f"member {shown} has control characters (e.g. a newline) in its name")
    if len(parts) > MAX_DEPTH:
        raise InputError(name, f"member {shown} is {len(parts)} levels deep (the limit is {MAX_DEPTH})")
    if any(len(part.encode("utf-8", "surrogateescape")) > MAX_NAME_BYTES for part in parts):
        raise InputError(name, f"member {shown} has a name longer than {MAX_NAME_BYTES} bytes")
    return parts


def _check_layout(name: str, members: list[tuple[zipfile.ZipInfo, tuple[str, ...]]]) -> None:
    """`InputError` for two members of one path, or a path that is both a file and a folder."""
    files: set[tuple[str, ...]] = set()
    for member, parts in members:
        if parts in files:
            raise InputError(name, f"member {_shown(member.filename)} appears twice")
        files.add(parts)
    for member, parts in members:
        for depth in range(1, len(parts)):
            if parts[:depth] in files:
                folder = "/".join(parts[:depth])
                raise InputError(name, f"{_shown(folder)} is both a file and the folder of {_shown(member.filename)}")


def _check_sizes(name: str, members: list[tuple[zipfile.ZipInfo, tuple[str, ...]]], max_bytes: int,
                 space_left: int | None) -> None:
    """`InputError` for more than `MAX_MEMBERS` files, more than ``max_bytes`` (or the server's ``space_left``)
    unpacked, or a ratio of unpacked to packed size over `MAX_RATIO` (a zip bomb)."""
    if len(members) > MAX_MEMBERS:
        raise InputError(name, f"holds {len(members):,} files, more than the limit of {MAX_MEMBERS:,}")
    declared = sum(member.file_size for member, _ in members)
    if declared > max_bytes:
        raise InputError(name, f"unpacks to {declared / 1e6:,.0f} MB, more than the {max_bytes / 1e6:,.0f} MB limit")
    packed = max(sum(member.compress_size for member, _ in members), 1)
    if declared > _RATIO_FLOOR_BYTES and declared / packed > MAX_RATIO:
        raise InputError(name, f"unpacks {declared / packed:,.0f} times larger than it is (a zip bomb?); the limit is "
                         f"{MAX_RATIO}:1")
    if space_left is not None and declared > space_left:
        raise InputError(name, f"unpacks to {declared / 1e6:,.0f} MB, but the server's upload space has only "
                         f"{max(space_left, 0) / 1e6:,.0f} MB left (ask the teacher to free some)")


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


def unpack_zip(archive: IO[bytes], target: Path, *, name: str, max_bytes: int = MAX_UNPACKED_BYTES,
               space_left: int | None = None) -> Path:
    """Unpack a zip of a GTZAN-style folder into ``target`` (replacing it atomically) and return the folder
    that holds the genre subfolders (see `_dataset_root`).

    Refused with `InputError` naming the archive ``name``: a file that is not a zip, members with absolute
    paths or ``..`` (zip-slip), symbolic links, encrypted members, paths too deep or too long, a path that is
    both a file and a folder, an archive without files, more than `MAX_MEMBERS` files, more than ``max_bytes``
    of content (checked from the directory and again while writing) or than the server's ``space_left``
    (`space_left`), a zip-bomb ratio (`MAX_RATIO`), and damaged members. macOS resource forks (``__MACOSX/``)
    are left out.
    """
    try:
        bundle = zipfile.ZipFile(archive)
    except (zipfile.BadZipFile, OSError, ValueError):
        raise InputError(name, "not a zip archive") from None
    with bundle:
        members = [(member, _member_parts(name, member)) for member in bundle.infolist() if not member.is_dir()]
        members = [(member, parts) for member, parts in members if parts and parts[0] != _RESOURCE_FORKS]
        if not members:
            raise InputError(name, "the archive holds no files")
        _check_layout(name, members)
        _check_sizes(name, members, max_bytes, space_left)
        written = 0
        with atomic_directory(target) as staging:
            for member, parts in members:
                destination = staging.joinpath(*parts)
                try:
                    destination.parent.mkdir(parents=True, exist_ok=True)
                    with bundle.open(member) as source, destination.open("wb") as sink:
                        while chunk := source.read(_COPY_CHUNK_BYTES):
                            written += len(chunk)
                            if written > max_bytes:
                                raise InputError(name, f"unpacks to more than the {max_bytes / 1e6:,.0f} MB limit")
                            sink.write(chunk)
                except (zipfile.BadZipFile, zlib.error, EOFError, OSError, RuntimeError, ValueError,
                        NotImplementedError) as error:
                    reason = str(error).splitlines()[0] if str(error) else type(error).__name__
                    raise InputError(name, f"member {_shown(member.filename)} is damaged ({reason})") from None
    return _dataset_root(target)


def space_left(uploads: Path, *, excluding: Path, quota: int | None = None) -> int:
    """Bytes the server's upload quota (``quota``, default `UPLOAD_QUOTA_BYTES`) still allows: the quota less the
    size of every file under ``uploads`` except those under ``excluding`` (the folder an unpack will replace)."""
    used = 0
    for folder, _, files in os.walk(uploads):
        if Path(folder) == excluding or excluding in Path(folder).parents:
            continue
        for file in files:
            try:
                used += os.lstat(os.path.join(folder, file)).st_size
            except OSError:
                continue
    return (UPLOAD_QUOTA_BYTES if quota is None else quota) - used


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

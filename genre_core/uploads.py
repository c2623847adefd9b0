"""Per-session upload folders of the app (no Streamlit): ``paths.DATA_DIR/uploads/<session folder id>/``.

A dataset zip (Data page) is unpacked into its `UPLOADED_DATASET` subfolder, a bundle zip (Train page) into
`UPLOADED_BUNDLE`, each replaced by the session's next upload of its kind. The audio stays on disk because a
`Dataset` refers to its tracks by path. A session marks its folder as in use on every script run
(`mark_in_use`); whenever a session unpacks a zip, the folders not in use for `UPLOAD_MAX_IDLE_S` (those of
ended sessions) are removed.
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path
from typing import IO

from genre_core import archives, paths

UPLOAD_MAX_IDLE_S = 24 * 3600  #: an upload folder not in use for this long belongs to an ended session
UPLOADED_DATASET, UPLOADED_BUNDLE = "dataset", "bundle"  #: subfolders of a session's upload folder


def upload_folder(session_folder_id: str) -> Path:
    """The upload folder of the session whose folder id is ``session_folder_id``."""
    return paths.DATA_DIR / "uploads" / session_folder_id


def mark_in_use(folder: Path) -> None:
    """Set ``folder``'s modification time to now, if it exists, so other sessions do not remove it."""
    with contextlib.suppress(FileNotFoundError):
        os.utime(folder)


def unpack_upload(uploaded: IO[bytes], name: str, folder: Path, part: str,
                  max_bytes: int = archives.MAX_UNPACKED_BYTES) -> Path:
    """Unpack the zip ``uploaded`` (called ``name``) into the subfolder ``part`` (`UPLOADED_DATASET` or
    `UPLOADED_BUNDLE`) of the session upload folder ``folder``, replacing what it held, and return the folder
    that holds its contents (see `archives.unpack_zip`, which also says what ``max_bytes`` bounds). First removes
    the other sessions' upload folders not in use for `UPLOAD_MAX_IDLE_S`; the server's upload quota bounds what
    it may add (`archives.space_left`)."""
    archives.remove_stale_folders(folder.parent, keep=folder.name, max_idle_s=UPLOAD_MAX_IDLE_S)
    left = archives.space_left(folder.parent, excluding=folder / part)
    return archives.unpack_zip(uploaded, folder / part, name=name, max_bytes=max_bytes, space_left=left)

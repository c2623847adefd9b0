"""Stamps of files on disk: a short digest that changes when a file or folder's contents change, for cache keys
(the app's shared datasets, bundles and splits)."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path


def source_stamp(path: Path) -> str:
    """sha256 (hex) of the relative path, size and modification time of ``path`` (a file) or of every file
    below it (a folder); ``"missing"`` when it does not exist. Changed files give a new stamp."""
    if not path.exists():
        return "missing"
    if path.is_file():
        files = [(path, path.name)]
    else:
        files = sorted(
            ((Path(root) / name, str((Path(root) / name).relative_to(path))) for root, _, names in os.walk(path)
             for name in names),
            key=lambda item: item[1],
        )
    digest = hashlib.sha256()
    for file, relative in files:
        try:
            status = file.stat()
        except OSError:  # vanished while walking: it is part of the stamp as missing
            digest.update(f"{relative}|missing\n".encode())
            continue
        digest.update(f"{relative}|{status.st_size}|{status.st_mtime_ns}\n".encode())
    return digest.hexdigest()

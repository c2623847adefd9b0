"""Errors that users see: one line naming the input and the reason."""

from __future__ import annotations

from pathlib import Path


class GenreLensError(Exception):
    """Base class for every error GenreLens reports to a user (CLI: one line, exit 1; app: st.error)."""


class InputError(GenreLensError, ValueError):
    """An input (file, folder, argument, bundle) is unusable.

    The message always has the form ``"<input>: <reason>"`` so it can be shown as a single line.
    """

    def __init__(self, source: str | Path, reason: str) -> None:
        self.source = str(source)
        self.reason = reason
        super().__init__(f"{self.source}: {reason}")

"""Text that users supplied (file names, track ids, class and model names, errors naming a path), made safe to
put in Streamlit's Markdown: `md` shows it exactly as written."""

from __future__ import annotations

import re

#: Characters that format text anywhere in a line of Streamlit's Markdown (emphasis, code, links and
#: ``:colour[...]`` directives, HTML, strikethrough, LaTeX ``$``, table pipes); escaped in text users supplied.
MARKDOWN_INLINE = re.compile(r"([\\`*_\[\]<>~$|])")
#: What turns a line into a heading, list item, quote or rule when it starts the line (``# ``, ``- ``, ``1. ``).
MARKDOWN_LINE_START = re.compile(r"^(\s*\d*)([#+\-=.)])", re.MULTILINE)


def md(text: object) -> str:
    """``text`` safe to put in Markdown: shown exactly as written (``admiralbob77_-_Choice_-_Drum-bass.ogg``
    without italics)."""
    escaped = MARKDOWN_INLINE.sub(r"\\\1", str(text))
    return MARKDOWN_LINE_START.sub(r"\1\\\2", escaped)

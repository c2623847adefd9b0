"""`genre_core.markdown.md`: user text shown exactly as written in Streamlit's Markdown."""

from __future__ import annotations

import pytest

from genre_core.markdown import md


@pytest.mark.parametrize(("text", "escaped"), [
    ("admiralbob77_-_Choice_-_Drum-bass.ogg", r"admiralbob77\_-\_Choice\_-\_Drum-bass.ogg"),
    ("*live* [demo](x) <b>~1~ $5 a|b \\", r"\*live\* \[demo\](x) \<b\>\~1\~ \$5 a\|b \\"),
    ("1. intro.mp3", r"1\. intro.mp3"),
    ("# heading", r"\# heading"),
    ("- item", r"\- item"),
    ("Built-in demo (synthetic): rock", "Built-in demo (synthetic): rock"),
])
def test_user_text_is_escaped_for_markdown(text: str, escaped: str) -> None:
    assert md(text) == escaped


def test_every_line_of_a_multiline_text_is_escaped_at_its_start() -> None:
    assert md("a.wav\n# b\n  - c") == "a.wav\n\\# b\n  \\- c"

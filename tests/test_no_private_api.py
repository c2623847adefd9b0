"""The tree uses Streamlit's public API only: no module reaches into ``streamlit.runtime`` (its script runner, pages
manager, ...). The one allowed name is the type of an uploaded file, `UploadedFile`, which `st.file_uploader`
documents as its return type, imported for type hints only."""

from __future__ import annotations

import re
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
ALLOWED = re.compile(r"^\s*from streamlit\.runtime\.uploaded_file_manager import UploadedFile\s*$")
PRIVATE = re.compile(r"streamlit\.runtime|_clean_problem_modules|PagesManager|script_runner|scriptrunner")


def python_files() -> list[Path]:
    roots = [REPO / "app.py", *(REPO / name for name in ("pages", "genre_core", "tests", "benchmarks"))]
    files = [root for root in roots if root.is_file()]
    files += [path for root in roots if root.is_dir() for path in sorted(root.rglob("*.py"))]
    return [path for path in files if path.resolve() != Path(__file__).resolve()]


def test_no_module_uses_streamlit_runtime_internals() -> None:
    files = python_files()
    assert len(files) > 50 and REPO / "pages" / "common.py" in files
    found = [f"{path.relative_to(REPO)}:{number}: {line.strip()}"
             for path in files
             for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1)
             if PRIVATE.search(line) and not ALLOWED.match(line)]
    assert not found, "private Streamlit API in use:\n" + "\n".join(found)

"""Where things live: the project's workspace, the demo data and the shipped models."""

from __future__ import annotations

import os
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
#: Workspace for generated and cached data (git-ignored). ``GENRELENS_DATA`` overrides it.
DATA_DIR = Path(os.environ.get("GENRELENS_DATA", PROJECT_ROOT / "data"))
DEMO_DIR = DATA_DIR / "demo"
CACHE_DIR = DATA_DIR / "cache"
WORKSPACE_MODELS_DIR = DATA_DIR / "models"
PRETRAINED_DIR = PROJECT_ROOT / "assets" / "models"
#: Pretrained networks converted from other projects (the musicnn taggers), with their licences.
PRETRAINED_NETWORKS_DIR = PROJECT_ROOT / "assets" / "pretrained"
#: The real data sets beside the checkout (GTZAN may not be redistributed, so none of it is in the repository).
SHARED_DATA_DIR = PROJECT_ROOT.parent / "shared" / "data"
#: The published artist-filtered GTZAN split (Sturm; Foleis & Tavares 2020) beside the checkout: its artist lists
#: group a GTZAN dataset's sweep folds by artist, and its folds are the Train page's artist-filtered splits.
ARTIST_SPLIT_DIR = SHARED_DATA_DIR / "splits" / "sturm_artist_filtered_3fold"
#: Environment variable: more folders (separated by the OS path separator) whose contents the app may read
#: from paths that users type.
ALLOWED_ROOTS_ENV = "GENRELENS_ALLOWED_ROOTS"
#: Environment variable: tracks per genre of the generated demo (`audio_datasets.demo_size_from_environment`; tests use 1).
DEMO_TRACKS_ENV = "GENRELENS_DEMO_TRACKS"


def allowed_roots() -> tuple[Path, ...]:
    """The folders under which a path a user types into the app may lie: the workspace `DATA_DIR`, the
    ``shared`` folder beside the checkout (where the real data sets live), and those in ``GENRELENS_ALLOWED_ROOTS``."""
    extra = [Path(item).expanduser() for item in os.environ.get(ALLOWED_ROOTS_ENV, "").split(os.pathsep) if item]
    return (DATA_DIR, PROJECT_ROOT.parent / "shared", *extra)


def confine(text: str, what: str = "path") -> Path:
    """The resolved path of ``text`` (a path a user typed) if it lies under one of `allowed_roots` (links resolved,
    so neither ``..`` nor a link leads out); `InputError` naming the path otherwise."""
    from genre_core.errors import InputError

    resolved = Path(text).expanduser().resolve()
    roots = allowed_roots()
    if not any(resolved.is_relative_to(root.resolve()) for root in roots):
        listed = ", ".join(str(root) for root in roots)
        raise InputError(text, f"this {what} is outside the folders the server may read ({listed}); the teacher can "
                         f"add folders with {ALLOWED_ROOTS_ENV}")
    return resolved

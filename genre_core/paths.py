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

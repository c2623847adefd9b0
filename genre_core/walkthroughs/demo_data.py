"""The demo data the walkthroughs run on: the synthetic demo's genres, at the run's size."""

from __future__ import annotations

from collections.abc import Sequence

from genre_core import paths
from genre_core.config import FeatureConfig
from genre_core.dataset import Dataset
from genre_core.audio_datasets import load_demo
from genre_core.walkthroughs.engine import RunSize


def demo_dataset(size: RunSize, config: FeatureConfig, genres: Sequence[str], kinds: Sequence[str]) -> Dataset:
    """The demo's ``genres`` with ``config`` features of ``kinds``: the full demo (`paths.DEMO_DIR`), or for a
    smaller ``size`` a demo of that many tracks per genre in its own workspace folder (the full one is left
    as it is). Features come from the cache when extracted before."""
    folder = None if size.tracks_per_genre is None else paths.DATA_DIR / f"demo_{size.tracks_per_genre}_per_genre"
    dataset, _ = load_demo(config, genres=genres, kinds=kinds, folder=folder, tracks_per_genre=size.tracks_per_genre,
                           n_jobs=1, cache_dir=paths.CACHE_DIR)
    return dataset

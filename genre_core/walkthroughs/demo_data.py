"""The demo data the walkthroughs run on: the synthetic demo's genres, at the run's size."""

from __future__ import annotations

from collections.abc import Sequence

from genre_core import paths
from genre_core.config import FeatureConfig
from genre_core.dataset import Dataset
from genre_core.train_job import DatasetSource
from genre_core.walkthroughs.engine import RunSize


def demo_source(size: RunSize, config: FeatureConfig, genres: Sequence[str], kinds: Sequence[str]) -> DatasetSource:
    """Where the demo of ``size`` lives, as a `DatasetSource` of its ``genres`` with ``config`` features of
    ``kinds``: the full demo (`paths.DEMO_DIR`), or for a smaller ``size`` a demo of that many tracks per genre in
    its own workspace folder (the full one is left as it is). Features come from the cache when extracted before."""
    folder = None if size.tracks_per_genre is None else paths.DATA_DIR / f"demo_{size.tracks_per_genre}_per_genre"
    return DatasetSource("demo", config, genres=tuple(genres), kinds=tuple(kinds), cache_dir=str(paths.CACHE_DIR),
                         demo_folder=None if folder is None else str(folder), demo_tracks=size.tracks_per_genre)


def demo_dataset(size: RunSize, config: FeatureConfig, genres: Sequence[str], kinds: Sequence[str]) -> Dataset:
    """The dataset of `demo_source` (extracted in this process, one worker)."""
    dataset, _ = demo_source(size, config, genres, kinds).load(n_jobs=1)
    return dataset

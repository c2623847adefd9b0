"""Tests of `genre_core.cluster`: extraction on a Dask cluster gives the local features; bad flags are one line."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
import soundfile

from genre_core import cluster, features
from genre_core.config import LOG_MEL, MFCC, FeatureConfig
from genre_core.errors import InputError
from genre_core.extraction import extract_files
from conftest import tone

SMALL = FeatureConfig(sample_rate=11025, track_seconds=4.0, segments_per_track=2, n_mels=32, n_mfcc=13)


def require_distributed() -> None:
    """The optional Dask packages (requirements-scale.txt, part of requirements-dev.txt): fail in CI, skip
    elsewhere, when they are missing."""
    try:
        import distributed  # noqa: F401
    except ImportError:
        message = "dask[distributed] is not installed: pip install -r requirements-scale.txt"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)


@pytest.fixture
def tone_files(tmp_path: Path) -> list[tuple[Path, str]]:
    files = []
    for index, frequency in enumerate((220.0, 440.0, 880.0, 1760.0)):
        path = tmp_path / f"tone.{index:05d}.wav"
        soundfile.write(path, tone(frequency, 4.0 + index, SMALL.sample_rate), SMALL.sample_rate)
        files.append((path, "low" if index < 2 else "high"))
    return files


@pytest.mark.slow
def test_a_local_dask_cluster_gives_the_features_of_the_local_run(tone_files, monkeypatch) -> None:
    require_distributed()
    from distributed import LocalCluster

    # the workers are threads of this process (processes=False): no two processes can compile numba's kernels
    monkeypatch.setattr(features, "compile_kernels", lambda: None)
    local = extract_files(tone_files, SMALL, [LOG_MEL, MFCC], n_jobs=1, cache_dir=None)
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=False, dashboard_address=None) as dask_cluster:
        with cluster.joblib_backend(cluster.DASK, dask_cluster.scheduler_address) as jobs:
            assert jobs == 2
            remote = extract_files(tone_files, SMALL, [LOG_MEL, MFCC], n_jobs=jobs, cache_dir=None)
    np.testing.assert_array_equal(remote.track_ids, local.track_ids)
    np.testing.assert_array_equal(remote.segment_index, local.segment_index)
    for kind in (LOG_MEL, MFCC):
        np.testing.assert_array_equal(remote.features[kind], local.features[kind])


def test_an_unreachable_scheduler_is_one_line_naming_the_flag() -> None:
    require_distributed()
    with pytest.raises(InputError, match=r"^--scheduler: no Dask scheduler answers at tcp://127.0.0.1:9"):
        with cluster.joblib_backend(cluster.DASK, "tcp://127.0.0.1:9", timeout_s=1.0):
            pass


@pytest.mark.parametrize(("backend", "scheduler", "message"), [
    (cluster.DASK, None, "--scheduler: --backend dask needs the Dask scheduler's address"),
    (cluster.LOCAL, "tcp://127.0.0.1:8786", "--scheduler: a scheduler address needs --backend dask"),
    ("spark", None, "--backend: unknown backend 'spark'"),
])
def test_flags_that_do_not_fit_are_refused(backend: str, scheduler: str | None, message: str) -> None:
    with pytest.raises(InputError, match=f"^{message}"):
        with cluster.joblib_backend(backend, scheduler):
            pass


def test_the_local_backend_keeps_the_callers_job_count() -> None:
    with cluster.joblib_backend(cluster.LOCAL) as jobs:
        assert jobs is None

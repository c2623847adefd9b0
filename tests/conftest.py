"""Shared fixtures: the real GTZAN data beside the checkout, tiny configs, an isolated app workspace, a folder of
tone "genres" and a stand-in for the synthetic demo; and the signal helpers `tone` and `zip_bytes`. The larger shared builders are plain functions in helpers.py."""

from __future__ import annotations

import gc
import io
import os
import zipfile
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import soundfile

from genre_core import paths, synth
from genre_core.config import FeatureConfig

REPO_ROOT = Path(__file__).resolve().parent.parent
SHARED_DATA = Path(os.environ.get("GENRELENS_SHARED_DATA", REPO_ROOT.parent / "shared" / "data"))


@pytest.fixture(scope="session", autouse=True)
def allow_test_folders(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """Let the app read the test's temporary folders and the shared real data from typed paths (the app confines
    typed paths to `paths.allowed_roots`; servers the tests start inherit the variable)."""
    before = os.environ.get(paths.ALLOWED_ROOTS_ENV)
    os.environ[paths.ALLOWED_ROOTS_ENV] = os.pathsep.join([str(tmp_path_factory.getbasetemp()), str(SHARED_DATA)])
    yield
    if before is None:
        os.environ.pop(paths.ALLOWED_ROOTS_ENV)
    else:
        os.environ[paths.ALLOWED_ROOTS_ENV] = before


@pytest.fixture(scope="module", autouse=True)
def unfreeze_objects() -> Iterator[None]:
    """After each module, give the objects app.py froze (pages/heap.py) back to the garbage collector, so that the
    test run's dropped models are freed."""
    yield
    gc.unfreeze()


def required(path: Path, what: str) -> Path:
    """``path`` if it exists; else fail in CI and skip elsewhere, saying ``what`` is missing and where from."""
    if not path.exists():
        message = f"{what} missing: {path}"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    return path


def require_shared(relative: str) -> Path:
    """Path of ``relative`` under the shared real data; fail in CI, skip elsewhere, when it is missing."""
    return required(SHARED_DATA / relative, "real data (GTZAN data is read from ../shared/data beside the checkout)")


@pytest.fixture(scope="session")
def gtzan_mini() -> Path:
    """``../shared/data/gtzan_mini/genres``: 70 real GTZAN tracks, 7 per genre."""
    return require_shared("gtzan_mini/genres")


@pytest.fixture(scope="session")
def gtzan_csv() -> Path:
    """``../shared/data/gtzan_features_30_sec.csv``: the Kaggle 30 s feature table (1000 rows)."""
    return require_shared("gtzan_features_30_sec.csv")


@pytest.fixture(scope="session")
def sturm_split_dir() -> Path:
    """``../shared/data/splits/sturm_artist_filtered_3fold``: the artist-filtered 3-fold split."""
    return require_shared("splits/sturm_artist_filtered_3fold")


def isolate_workspace(monkeypatch: pytest.MonkeyPatch, root: Path) -> None:
    """Point the workspace (cache, saved models, uploads) and the shipped-models folder into ``root``."""
    monkeypatch.setattr(paths, "DATA_DIR", root / "data")
    monkeypatch.setattr(paths, "CACHE_DIR", root / "data" / "cache")
    monkeypatch.setattr(paths, "DEMO_DIR", root / "data" / "demo")
    monkeypatch.setattr(paths, "WORKSPACE_MODELS_DIR", root / "data" / "models")
    monkeypatch.setattr(paths, "PRETRAINED_DIR", root / "assets")


@pytest.fixture(scope="module")
def workspace(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A fresh app workspace for the requesting module (`isolate_workspace` in a temporary folder); its root."""
    root = tmp_path_factory.mktemp("workspace")
    with pytest.MonkeyPatch.context() as monkeypatch:
        isolate_workspace(monkeypatch, root)
        yield root


@pytest.fixture
def small_config() -> FeatureConfig:
    """A cheap config for fast tests: 4 s tracks in 2 windows of 2 s at 11025 Hz."""
    return FeatureConfig(sample_rate=11025, track_seconds=4.0, segments_per_track=2, n_mels=32, n_mfcc=13)


def tone(frequency: float, seconds: float, sample_rate: int = 22050, amplitude: float = 0.5) -> np.ndarray:
    """A sine tone, float32 mono, shape (round(seconds * sample_rate),)."""
    t = np.arange(int(round(seconds * sample_rate))) / sample_rate
    return (amplitude * np.sin(2 * np.pi * frequency * t)).astype(np.float32)


def zip_bytes(members: dict[str, bytes]) -> bytes:
    """A zip archive in memory holding ``members`` (archive path -> content)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return buffer.getvalue()


GENRE_TONES = {"metal": (1760.0, 2640.0), "blues": (220.0, 330.0)}


def write_genre_folder(root: Path, config: FeatureConfig, extensions: tuple[str, ...] = (".wav", ".wav")) -> Path:
    """``<root>/<genre>/<genre>.0000i<ext>``: 4 s tones (2 windows of small_config each)."""
    for genre, frequencies in GENRE_TONES.items():
        for index, (frequency, extension) in enumerate(zip(frequencies, extensions, strict=True)):
            path = root / genre / f"{genre}.{index:05d}{extension}"
            path.parent.mkdir(parents=True, exist_ok=True)
            soundfile.write(path, tone(frequency, 4.0, config.sample_rate), config.sample_rate)
    return root


@pytest.fixture
def genre_folder(tmp_path: Path, small_config: FeatureConfig) -> Path:
    """Two tone genres of two files each (.au, .flac), beside a non-audio folder and a macOS resource fork."""
    root = write_genre_folder(tmp_path / "genres", small_config, (".au", ".flac"))
    (root / "notes").mkdir()
    (root / "notes" / "readme.txt").write_text("not audio")
    (root / "blues" / "._blues.00000.au").write_bytes(b"macOS resource fork")
    return root


@pytest.fixture
def fake_demo(tmp_path, small_config, monkeypatch) -> Path:
    """Stand-in for `synth.ensure_demo_dataset`: a tiny tone folder instead of the 100-track demo."""
    folder = tmp_path / "demo"

    def ensure_demo_dataset(out_dir, progress=None, **size):
        for done in range(3):  # as synth reports generating two tracks, from (0, total) on
            if progress is not None:
                progress(done, 2)
        return write_genre_folder(folder, small_config)

    monkeypatch.setattr(synth, "ensure_demo_dataset", ensure_demo_dataset)
    return folder


@pytest.fixture(scope="session")
def musicnn_reference() -> dict:
    """The original musicnn code's outputs (tests/fixtures/musicnn_reference.json, recipe in docs/musicnn-port.md)."""
    import json

    return json.loads((REPO_ROOT / "tests" / "fixtures" / "musicnn_reference.json").read_text())


@pytest.fixture(scope="session")
def musicnn_windows(musicnn_reference: dict, gtzan_mini: Path) -> dict[str, np.ndarray]:
    """The 16 kHz windows the reference was computed on: the generated signal (its formula is the recipe's own,
    scripts/musicnn_reference.py) and windows of real GTZAN tracks decoded by GenreLens (47744 samples each)."""
    import importlib.util

    from genre_core.audio import load_audio

    spec = importlib.util.spec_from_file_location("musicnn_reference", REPO_ROOT / "scripts" / "musicnn_reference.py")
    recipe = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(recipe)
    size = musicnn_reference["window_samples"]
    windows = {"generated": recipe.generated_window()}
    for relative, index in musicnn_reference["real_windows"]:
        samples = load_audio(gtzan_mini / relative, musicnn_reference["sample_rate"])
        windows[f"{relative}#{index}"] = samples[index * size : (index + 1) * size]
    return windows


def musicnn_wheel() -> Path:
    """The pinned musicnn wheel that `make` downloads beside the venv (``GENRELENS_MUSICNN_WHEEL`` overrides);
    fail in CI, skip elsewhere, when it is missing."""
    path = Path(os.environ.get("GENRELENS_MUSICNN_WHEEL", REPO_ROOT / ".venv" / "musicnn-0.1.0-py3-none-any.whl"))
    return required(path, "the musicnn wheel (`make musicnn-wheel` downloads it)")


@pytest.fixture(scope="session")
def quick_demo_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The root of one workspace the quick walkthrough runs share (the job's and test_walkthroughs'): its
    4-tracks-per-genre demo, cached features and kept course CNN are made once, by whichever test needs them first."""
    return tmp_path_factory.mktemp("quick_demo")


@pytest.fixture(scope="module")
def quick_demo_workspace(quick_demo_root: Path) -> Iterator[Path]:
    """`quick_demo_root` as the requesting module's workspace (`isolate_workspace`); its root."""
    with pytest.MonkeyPatch.context() as monkeypatch:
        isolate_workspace(monkeypatch, quick_demo_root)
        yield quick_demo_root


@pytest.fixture(scope="session")
def walkthrough_job(quick_demo_root: Path) -> Path:
    """One quick run of the leakage walkthrough as a background job (its own worker process) on a 4-tracks-per-genre
    demo in the shared quick workspace: the finished job's folder (shared by the job, report and page tests)."""
    import time

    from genre_core import jobs
    from genre_core.walkthroughs.job import KIND, WalkthroughJobSpec

    root = quick_demo_root
    data = root / "data"
    spec = WalkthroughJobSpec("leakage", "quick", str(data), str(data / "demo"), str(data / "cache"))
    manager = jobs.JobManager(jobs.JobStore(root / "jobs"))
    record = manager.submit(KIND, "walkthrough-tester", spec.to_dict())
    deadline = time.monotonic() + 300
    while manager.store.get(record.id).active and time.monotonic() < deadline:
        time.sleep(0.2)
    manager.shutdown()
    assert manager.store.get(record.id).status == jobs.DONE, manager.store.error(record.id)
    return manager.store.folder(record.id)

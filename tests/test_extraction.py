"""Tests of `genre_core.extraction`: rows per window, skipped files, the feature cache, parallel workers."""

from __future__ import annotations

import os
from pathlib import Path

import joblib
import numpy as np
import pytest
import soundfile

from genre_core import extraction, features
from genre_core.config import LOG_MEL, MFCC, SUMMARY, FeatureConfig
from genre_core.errors import InputError
from genre_core.extraction import cache_key, cache_path, extract_files, track_ids_for
from conftest import tone


def write_tone(path: Path, frequency: float, seconds: float, sample_rate: int) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    soundfile.write(path, tone(frequency, seconds, sample_rate), sample_rate)
    return path


@pytest.fixture
def tone_files(tmp_path: Path, small_config: FeatureConfig) -> list[tuple[Path, str]]:
    """Three files of 4, 3 and 2.5 s (2, 2 and 1 windows of 2 s: a remainder needs half a window)."""
    rate = small_config.sample_rate
    return [
        (write_tone(tmp_path / "audio" / "low.00000.wav", 220.0, 4.0, rate), "low"),
        (write_tone(tmp_path / "audio" / "low.00001.wav", 330.0, 3.0, rate), "low"),
        (write_tone(tmp_path / "audio" / "high.00000.wav", 1760.0, 2.5, rate), "high"),
    ]


@pytest.fixture
def broken_file(tmp_path: Path) -> tuple[Path, str]:
    path = tmp_path / "audio" / "broken.00000.wav"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"RIFF this is not audio at all" * 10)
    return path, "low"


def test_rows_follow_windows_of_each_file(tone_files, small_config, tmp_path):
    calls: list[tuple[int, int]] = []
    result = extract_files(
        tone_files, small_config, (LOG_MEL, MFCC), n_jobs=1, progress=lambda d, t: calls.append((d, t)),
        cache_dir=tmp_path / "cache",
    )
    assert calls == [(1, 3), (2, 3), (3, 3)]
    assert result.errors == [] and not result.from_cache
    # files are processed in path order: high.00000, low.00000, low.00001
    assert result.track_ids.tolist() == ["high.00000", "low.00000", "low.00000", "low.00001", "low.00001"]
    assert result.labels.tolist() == ["high", "low", "low", "low", "low"]
    assert result.segment_index.tolist() == [0, 0, 1, 0, 1]
    np.testing.assert_allclose(result.start_seconds, [0.0, 0.0, 2.0, 0.0, 2.0])
    frames = small_config.frames_per_segment
    assert result.features[LOG_MEL].shape == (5, small_config.n_mels, frames)
    assert result.features[MFCC].shape == (5, frames, small_config.n_mfcc)
    assert result.features[LOG_MEL].dtype == np.float32
    assert set(result.audio_paths) == {"high.00000", "low.00000", "low.00001"}
    assert all(Path(path).is_absolute() and Path(path).exists() for path in result.audio_paths.values())
    # the 1760 Hz tone puts its energy in higher mel bands than the 220 Hz one
    peak_band = result.features[LOG_MEL].mean(axis=2).argmax(axis=1)
    assert peak_band[0] > peak_band[1]


def test_summary_kind_gives_57_columns(tone_files, small_config):
    result = extract_files(tone_files[2:], small_config, (SUMMARY,), n_jobs=1, cache_dir=None)
    assert result.features[SUMMARY].shape == (1, 57)
    assert np.isfinite(result.features[SUMMARY]).all()


def test_broken_file_is_skipped_and_reported_by_name(tone_files, broken_file, small_config):
    result = extract_files([*tone_files, broken_file], small_config, (MFCC,), n_jobs=1, cache_dir=None)
    assert len(result.errors) == 1
    assert result.errors[0].startswith(f"{broken_file[0]}: ")
    assert "\n" not in result.errors[0]
    assert "broken.00000" not in result.track_ids.tolist()
    assert len(result) == 5


def test_second_run_reads_the_cache(tone_files, broken_file, small_config, tmp_path, monkeypatch):
    files = [*tone_files, broken_file]
    first = extract_files(files, small_config, (LOG_MEL,), n_jobs=1, cache_dir=tmp_path / "cache")

    def no_extraction(*args, **kwargs):
        raise AssertionError("the cache was not used")

    monkeypatch.setattr(extraction, "_extract_file", no_extraction)
    calls: list[tuple[int, int]] = []
    second = extract_files(
        list(reversed(files)), small_config, [LOG_MEL], n_jobs=1, progress=lambda d, t: calls.append((d, t)),
        cache_dir=tmp_path / "cache",
    )
    assert second.from_cache and calls == [(4, 4)]
    assert second.errors == first.errors and len(second.errors) == 1
    assert second.audio_paths == first.audio_paths
    for name in ("labels", "track_ids", "segment_index", "start_seconds"):
        np.testing.assert_array_equal(getattr(second, name), getattr(first, name))
    np.testing.assert_array_equal(second.features[LOG_MEL], first.features[LOG_MEL])


def test_cache_is_one_folder_of_npy_files_without_objects(tone_files, small_config, tmp_path):
    extract_files(tone_files, small_config, (MFCC,), n_jobs=1, cache_dir=tmp_path / "cache")
    [stored] = (tmp_path / "cache").iterdir()
    assert stored == cache_path(tmp_path / "cache", tone_files, small_config, (MFCC,)) and stored.is_dir()
    arrays = {path.stem: np.load(path, allow_pickle=False) for path in stored.glob("*.npy")}
    assert set(arrays) == {"mfcc", "labels", "track_ids", "segment_index", "start_seconds"}
    assert all(values.dtype.kind != "O" and len(values) == 5 for values in arrays.values())
    assert arrays["track_ids"].dtype.kind == "U"


def test_cache_key_changes_with_config_kinds_labels_and_files(tone_files, small_config):
    key = cache_key(tone_files, small_config, (MFCC, LOG_MEL))
    assert key == cache_key(list(reversed(tone_files)), small_config, (LOG_MEL, MFCC))
    assert key != cache_key(tone_files, FeatureConfig(**{**small_config.to_dict(), "n_mfcc": 12}), (MFCC, LOG_MEL))
    assert key != cache_key(tone_files, small_config, (MFCC,))
    assert key != cache_key([(path, "other") for path, _ in tone_files], small_config, (MFCC, LOG_MEL))
    assert key != cache_key(tone_files[:2], small_config, (MFCC, LOG_MEL))


def test_changed_config_or_touched_file_is_extracted_again(tone_files, small_config, tmp_path):
    cache = tmp_path / "cache"
    first = extract_files(tone_files, small_config, (MFCC,), n_jobs=1, cache_dir=cache)
    assert extract_files(tone_files, small_config, (MFCC,), n_jobs=1, cache_dir=cache).from_cache

    other_config = FeatureConfig(**{**small_config.to_dict(), "n_mfcc": 8})
    changed = extract_files(tone_files, other_config, (MFCC,), n_jobs=1, cache_dir=cache)
    assert not changed.from_cache and changed.features[MFCC].shape[2] == 8

    path = tone_files[0][0]
    write_tone(path, 440.0, 4.0, small_config.sample_rate)  # new content, same size
    status = path.stat()
    os.utime(path, ns=(status.st_atime_ns, status.st_mtime_ns + 5_000_000_000))
    rewritten = extract_files(tone_files, small_config, (MFCC,), n_jobs=1, cache_dir=cache)
    assert not rewritten.from_cache
    assert not np.array_equal(rewritten.features[MFCC], first.features[MFCC])


@pytest.mark.parametrize("damaged", ["meta.json", "mfcc.npy"])
def test_unreadable_cache_file_is_recomputed(tone_files, small_config, tmp_path, damaged):
    first = extract_files(tone_files, small_config, (MFCC,), n_jobs=1, cache_dir=tmp_path / "cache")
    expected = np.array(first.features[MFCC])
    del first  # its memory map would keep the replaced file's data
    target = cache_path(tmp_path / "cache", tone_files, small_config, (MFCC,))
    (target / damaged).write_bytes(b"not what was written")
    result = extract_files(tone_files, small_config, (MFCC,), n_jobs=1, cache_dir=tmp_path / "cache")
    assert not result.from_cache and len(result) == 5
    np.testing.assert_array_equal(result.features[MFCC], expected)
    assert extract_files(tone_files, small_config, (MFCC,), n_jobs=1, cache_dir=tmp_path / "cache").from_cache


@pytest.mark.slow
def test_parallel_workers_match_one_process(tone_files, broken_file, small_config, monkeypatch):
    files = [*tone_files, broken_file]
    serial = extract_files(files, small_config, (LOG_MEL,), n_jobs=1, cache_dir=None)
    compiled: list[bool] = []
    monkeypatch.setattr(features, "compile_kernels", lambda: compiled.append(True))
    calls: list[tuple[int, int]] = []
    parallel = extract_files(
        files, small_config, (LOG_MEL,), n_jobs=2, progress=lambda d, t: calls.append((d, t)), cache_dir=None
    )
    assert calls == [(1, 4), (2, 4), (3, 4), (4, 4)]
    assert compiled == [True]  # numba kernels compiled in this process before the workers start
    assert parallel.errors == serial.errors
    np.testing.assert_array_equal(parallel.track_ids, serial.track_ids)
    np.testing.assert_allclose(parallel.features[LOG_MEL], serial.features[LOG_MEL], rtol=1e-5, atol=1e-4)


def test_colliding_stems_are_named_by_folder():
    ids = track_ids_for([Path("a/song.wav"), Path("b/song.wav"), Path("b/other.wav")])
    assert ids == ["a/song.wav", "b/song.wav", "other"]
    with pytest.raises(InputError, match="more than once"):
        track_ids_for([Path("a/song.wav"), Path("a/song.wav")])


def test_bad_arguments_raise_input_error(tone_files, small_config):
    with pytest.raises(InputError, match="no audio files"):
        extract_files([], small_config, (MFCC,), cache_dir=None)
    with pytest.raises(InputError, match="chroma"):
        extract_files(tone_files, small_config, ("chroma",), cache_dir=None)


@pytest.mark.parametrize("damage", ["rows", "nan"])
def test_a_valid_cache_with_inconsistent_arrays_is_recomputed(tone_files, small_config, tmp_path, damage):
    """A readable cache whose arrays disagree (one label too few) or hold NaN features is not trusted: recomputed."""
    first = extract_files(tone_files, small_config, (MFCC,), n_jobs=1, cache_dir=tmp_path / "cache")
    expected = np.array(first.features[MFCC])
    del first
    target = cache_path(tmp_path / "cache", tone_files, small_config, (MFCC,))
    if damage == "rows":
        np.save(target / "labels.npy", np.load(target / "labels.npy")[:-1])
    else:
        damaged = np.load(target / "mfcc.npy")
        damaged[-1, -1, -1] = np.nan
        np.save(target / "mfcc.npy", damaged)
    again = extract_files(tone_files, small_config, (MFCC,), n_jobs=1, cache_dir=tmp_path / "cache")
    assert not again.from_cache
    np.testing.assert_array_equal(again.features[MFCC], expected)
    assert extract_files(tone_files, small_config, (MFCC,), n_jobs=1, cache_dir=tmp_path / "cache").from_cache


def test_an_outer_joblib_backend_is_used_not_overridden(tone_files, small_config, monkeypatch) -> None:
    calls: list[Path] = []
    extract_one = extraction._extract_file

    def recorded(path: Path, *arguments: object) -> object:
        calls.append(path)
        return extract_one(path, *arguments)

    monkeypatch.setattr(extraction, "_extract_file", recorded)
    with joblib.parallel_config(backend="threading"):  # threads run the patched function; loky workers would not
        result = extract_files(tone_files, small_config, [MFCC], n_jobs=2, cache_dir=None)
    assert sorted(calls) == sorted(path for path, _ in tone_files)
    assert len(set(result.track_ids)) == len(tone_files)


def test_all_cores_means_one_process_below_the_serial_size_or_when_busy() -> None:
    below, at = extraction.SERIAL_BELOW_FILES - 1, extraction.SERIAL_BELOW_FILES
    assert extraction.worker_count(-1, below, idle=joblib.cpu_count()) == 1
    assert extraction.worker_count(-1, at, idle=joblib.cpu_count()) == joblib.cpu_count()
    assert extraction.worker_count(-1, at, idle=0) == 1  # a busy machine: one process
    assert extraction.worker_count(2, at, idle=0) == 2  # a number asked for is kept
    assert extraction.worker_count(2, 1, idle=2) == 1
    # the summary table costs ~17x per file: workers pay from far fewer files with it
    assert extraction.serial_threshold(("log_mel", "mfcc")) == extraction.SERIAL_BELOW_FILES
    assert extraction.serial_threshold(("log_mel", "summary")) == extraction.SERIAL_BELOW_FILES_WITH_SUMMARY
    assert extraction.SERIAL_BELOW_FILES_WITH_SUMMARY < extraction.SERIAL_BELOW_FILES
    assert 0 <= extraction.idle_cores() <= joblib.cpu_count()
    cores = joblib.cpu_count()
    assert extraction.idle_cores(0.8) == cores  # the caller's own work (~1) is not another job's
    assert extraction.idle_cores(1.0 + cores) == 0  # other work fills every core
    assert extraction.idle_cores(2.0) == cores - 1

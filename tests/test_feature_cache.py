"""Tests of `genre_core.feature_cache`: rows appended to .npy files, memory-mapped reopening, atomic folders."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import soundfile

from genre_core import extraction, feature_cache
from genre_core.config import LOG_MEL, MFCC
from genre_core.extraction import cache_path, extract_files
from conftest import tone


@pytest.fixture
def tone_files(tmp_path: Path, small_config) -> list[tuple[Path, str]]:
    """Two files of 4 and 2 s (2 and 1 windows of 2 s)."""
    files = []
    for name, frequency, seconds in (("low.00000", 220.0, 4.0), ("high.00000", 1760.0, 2.0)):
        path = tmp_path / "audio" / f"{name}.wav"
        path.parent.mkdir(parents=True, exist_ok=True)
        soundfile.write(path, tone(frequency, seconds, small_config.sample_rate), small_config.sample_rate)
        files.append((path, name.split(".")[0]))
    return files


def test_row_file_grows_in_place_past_new_digits(tmp_path):
    """9 rows then 1 then 990: the header's row count gains digits without moving the data."""
    rng = np.random.default_rng(0)
    parts = [rng.normal(size=(count, 3, 2)).astype(np.float32) for count in (9, 1, 990)]
    row_file = feature_cache.RowFile(tmp_path / "rows.npy", np.float32)
    for part in parts:
        row_file.append(part)
    row_file.close()
    np.testing.assert_array_equal(np.load(tmp_path / "rows.npy"), np.concatenate(parts))
    with pytest.raises(ValueError, match="rows of shape"):
        other = feature_cache.RowFile(tmp_path / "other.npy", np.float32)
        other.append(parts[0])
        other.append(parts[0][:, :2])


def test_row_file_without_rows_is_an_empty_array(tmp_path):
    row_file = feature_cache.RowFile(tmp_path / "none.npy", np.int64)
    row_file.close()
    stored = np.load(tmp_path / "none.npy")
    assert stored.shape == (0,) and stored.dtype == np.int64


def test_reopened_cache_is_memory_mapped_read_only_and_equal(tone_files, small_config, tmp_path):
    in_memory = extract_files(tone_files, small_config, (LOG_MEL, MFCC), n_jobs=1, cache_dir=None)
    written = extract_files(tone_files, small_config, (LOG_MEL, MFCC), n_jobs=1, cache_dir=tmp_path / "cache")
    reopened = extract_files(tone_files, small_config, (LOG_MEL, MFCC), n_jobs=1, cache_dir=tmp_path / "cache")
    assert not written.from_cache and reopened.from_cache
    assert not isinstance(in_memory.features[MFCC], np.memmap)
    for result in (written, reopened):
        for kind in (LOG_MEL, MFCC):
            values = result.features[kind]
            assert isinstance(values, np.memmap) and not values.flags.writeable
            np.testing.assert_array_equal(values, in_memory.features[kind])
            with pytest.raises(ValueError, match="read-only"):
                values[0, 0, 0] = 1.0
        for name in ("labels", "track_ids", "segment_index", "start_seconds"):
            np.testing.assert_array_equal(getattr(result, name), getattr(in_memory, name))
        assert result.audio_paths == in_memory.audio_paths and result.errors == in_memory.errors


def test_an_interrupted_extraction_leaves_no_cache_behind(tone_files, small_config, tmp_path, monkeypatch):
    extract_one = extraction._extract_file
    calls: list[Path] = []

    def interrupted(path: Path, *arguments: object) -> object:
        calls.append(path)
        if len(calls) == 2:
            raise KeyboardInterrupt
        return extract_one(path, *arguments)

    monkeypatch.setattr(extraction, "_extract_file", interrupted)
    with pytest.raises(KeyboardInterrupt):
        extract_files(tone_files, small_config, (MFCC,), n_jobs=1, cache_dir=tmp_path / "cache")
    assert len(calls) == 2
    assert list((tmp_path / "cache").iterdir()) == []  # no folder under the key, no hidden .tmp sibling
    monkeypatch.setattr(extraction, "_extract_file", extract_one)
    assert not extract_files(tone_files, small_config, (MFCC,), n_jobs=1, cache_dir=tmp_path / "cache").from_cache


def test_a_failed_rewrite_keeps_the_older_folder(tmp_path):
    def one_row(writer: feature_cache.CacheWriter) -> None:
        writer.add_rows("low", "low.00000", "/music/low.00000.wav", {MFCC: np.ones((1, 4, 2), np.float32)},
                        np.zeros(1, np.float32))

    def failing(writer: feature_cache.CacheWriter) -> None:
        one_row(writer)
        raise RuntimeError("disk full")

    target = tmp_path / "features-key"
    stored = feature_cache.store(target, (MFCC,), one_row)
    with pytest.raises(RuntimeError, match="disk full"):
        feature_cache.store(target, (MFCC,), failing)
    assert [path.name for path in tmp_path.iterdir()] == ["features-key"]
    again = feature_cache.read(target, (MFCC,))
    assert again is not None and again.from_cache and not stored.from_cache
    np.testing.assert_array_equal(again.features[MFCC], np.ones((1, 4, 2)))


def test_only_unreadable_files_give_an_empty_cached_result(tmp_path, small_config):
    broken = tmp_path / "audio" / "broken.00000.wav"
    broken.parent.mkdir()
    broken.write_bytes(b"RIFF not audio" * 8)
    first = extract_files([(broken, "low")], small_config, (MFCC,), n_jobs=1, cache_dir=tmp_path / "cache")
    again = extract_files([(broken, "low")], small_config, (MFCC,), n_jobs=1, cache_dir=tmp_path / "cache")
    assert again.from_cache and len(again) == 0 and again.features[MFCC].shape == (0,)
    assert again.errors == first.errors and len(first.errors) == 1
    assert feature_cache.read(cache_path(tmp_path / "cache", [(broken, "low")], small_config, (MFCC,)),
                              (LOG_MEL,)) is None  # a kind it does not hold

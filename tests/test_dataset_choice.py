"""`genre_core.dataset_choice`: a user's dataset choice, its cache identity, reading it, and a job's source."""

from __future__ import annotations

from pathlib import Path

import pytest
from helpers import write_tone_genres

from genre_core import dataset_choice, paths
from genre_core.config import FeatureConfig
from genre_core.dataset_choice import CSV, DEMO_TRACKS_ENV, FOLDER, DatasetSpec, dataset_key, job_source, read_dataset
from genre_core.errors import InputError

CHEAP = FeatureConfig(sample_rate=8000, segments_per_track=5, n_mels=64, n_mfcc=13)


def test_dataset_key_follows_files_settings_and_demo_size(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    table = tmp_path / "table.csv"
    table.write_text("a\n1\n", encoding="utf-8")
    spec = DatasetSpec(CSV, str(table))
    first = dataset_key(spec)
    assert dataset_key(spec) == first
    table.write_text("a\n1\n2\n", encoding="utf-8")
    assert dataset_key(spec) != first
    folder_spec = DatasetSpec(FOLDER, str(tmp_path))
    assert dataset_key(folder_spec) != dataset_key(DatasetSpec(FOLDER, str(tmp_path), config=CHEAP))
    before = dataset_key(folder_spec)
    (tmp_path / "new.wav").write_bytes(b"")
    assert dataset_key(folder_spec) != before
    demo = DatasetSpec()
    monkeypatch.setenv(DEMO_TRACKS_ENV, "2")
    two_tracks = dataset_key(demo)
    monkeypatch.setenv(DEMO_TRACKS_ENV, "3")
    assert dataset_key(demo) != two_tracks
    assert dataset_key(spec)[:4] == (CSV, str(table), None, FeatureConfig().fingerprint())


def test_titles_and_source_paths_name_the_choice(tmp_path: Path) -> None:
    assert DatasetSpec().title == "Built-in demo (synthetic)" and DatasetSpec().source_path() == paths.DEMO_DIR
    folder = DatasetSpec(FOLDER, str(tmp_path / "genres"))
    assert folder.title == "GTZAN-style folder: genres" and folder.has_audio
    assert not DatasetSpec(CSV, "x.csv").has_audio


def test_reading_a_folder_as_a_feature_table_is_refused(tmp_path: Path) -> None:
    root = write_tone_genres(tmp_path / "tones")
    with pytest.raises(InputError, match="is an audio folder, not a Kaggle feature CSV"):
        read_dataset(DatasetSpec(CSV, str(root)))
    with pytest.raises(InputError, match="dataset source: unknown kind 'zip'"):
        read_dataset(DatasetSpec("zip", str(root)))


def test_a_feature_table_is_read_with_the_chosen_genres(gtzan_csv: Path) -> None:
    loaded = read_dataset(DatasetSpec(CSV, str(gtzan_csv), ("blues", "rock")))
    assert list(loaded.dataset.class_names) == ["blues", "rock"] and loaded.dataset.n_tracks == 200
    assert loaded.skipped == ()


def test_a_job_finds_the_same_files_settings_and_cache(tmp_path: Path) -> None:
    source = job_source(DatasetSpec(FOLDER, str(tmp_path), ("blues",), CHEAP))
    assert (source.location, source.feature_config, source.genres) == (str(tmp_path), CHEAP, ("blues",))
    assert source.cache_dir == str(paths.CACHE_DIR) and source.demo_folder is None
    demo = job_source(dataset_choice.DatasetSpec())
    assert demo.location == "demo" and demo.demo_folder == str(paths.DEMO_DIR)


@pytest.mark.slow
def test_a_cold_demo_reads_its_first_use_kinds_uncached_then_every_kind_into_the_usual_cache(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from conftest import isolate_workspace

    from genre_core.config import FEATURE_KINDS, SUMMARY

    isolate_workspace(monkeypatch, tmp_path)
    monkeypatch.setenv(DEMO_TRACKS_ENV, "1")
    spec = DatasetSpec()
    assert dataset_choice.first_use_kinds(spec) == dataset_choice.FIRST_USE_KINDS  # nothing generated yet
    phases: list[str] = []
    first = read_dataset(spec, phase=phases.append, first_kinds=dataset_choice.first_use_kinds(spec))
    assert phases[0].startswith("Generating") and len(phases) == 2
    assert set(first.dataset.features) == set(dataset_choice.FIRST_USE_KINDS) and first.pending_kinds == (SUMMARY,)
    assert not paths.CACHE_DIR.exists() or not any(paths.CACHE_DIR.iterdir())  # the first read leaves no cache entry
    assert dataset_choice.first_use_kinds(spec) == dataset_choice.FIRST_USE_KINDS  # still nothing cached

    full = read_dataset(spec)
    assert set(full.dataset.features) == set(FEATURE_KINDS) and full.pending_kinds == ()
    assert [entry.name[:9] for entry in paths.CACHE_DIR.iterdir()] == ["features-"]  # one entry: every kind
    assert dataset_choice.first_use_kinds(spec) is None
    for kind in dataset_choice.FIRST_USE_KINDS:
        assert (first.dataset.features[kind] == full.dataset.features[kind]).all()
    assert (first.dataset.track_ids == full.dataset.track_ids).all()
    assert dataset_choice.first_use_kinds(DatasetSpec(FOLDER, str(tmp_path))) is None  # only the demo has a first use

"""Tests of `genre_core.audio_datasets`: GTZAN-style audio folders (windows, genre subsets, bad and linked files,
real GTZAN tracks), track and window names, and the synthetic demo."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import soundfile
from conftest import tone

from genre_core.audio_datasets import (
    DEMO_TRACKS_ENV,
    EXTRACTING_PHASE,
    GENERATING_PHASE,
    demo_size_from_environment,
    list_genre_files,
    load_audio_folder,
    load_demo,
    track_and_segment,
)
from genre_core.config import LOG_MEL, MFCC, FeatureConfig
from genre_core.errors import InputError


def extract(root: Path | str, config: FeatureConfig, tmp_path: Path, **options):
    return load_audio_folder(root, config, kinds=(LOG_MEL,), n_jobs=1, cache_dir=tmp_path / "cache", **options)


def test_audio_folder_gives_one_row_per_window(genre_folder, small_config, tmp_path):
    dataset, errors = extract(genre_folder, small_config, tmp_path)
    assert errors == []
    assert dataset.class_names == ["blues", "metal"]  # "notes" holds no audio, hidden files are ignored
    assert dataset.class_counts() == {"blues": 4, "metal": 4}
    assert dataset.n_tracks == 4 and dataset.segment_index.tolist() == [0, 1] * 4
    assert dataset.features[LOG_MEL].shape == (8, small_config.n_mels, small_config.frames_per_segment)
    assert dataset.feature_config == small_config and dataset.summary_names is None
    assert sorted(dataset.audio_paths) == ["blues.00000", "blues.00001", "metal.00000", "metal.00001"]
    assert Path(dataset.audio_paths["metal.00001"]) == (genre_folder / "metal" / "metal.00001.flac").resolve()
    names = np.asarray(dataset.class_names)[dataset.labels]
    assert all(track.startswith(name) for track, name in zip(dataset.track_ids, names, strict=True))


def test_audio_folder_genre_subset_and_nested_container(genre_folder, small_config, tmp_path):
    (tmp_path / "Data").mkdir()
    genre_folder.rename(tmp_path / "Data" / "genres_original")
    dataset, _ = extract(tmp_path / "Data", small_config, tmp_path, genres=["metal"])
    assert dataset.class_names == ["metal"] and len(dataset) == 4


def test_audio_folder_errors_name_the_input(genre_folder, small_config, tmp_path):
    with pytest.raises(InputError, match="unknown genre 'jazz'; available: blues, metal"):
        extract(genre_folder, small_config, tmp_path, genres=["metal", "jazz"])
    with pytest.raises(InputError, match="no such folder"):
        extract(tmp_path / "missing", small_config, tmp_path)
    with pytest.raises(InputError, match="not a folder"):
        extract(genre_folder / "notes" / "readme.txt", small_config, tmp_path)
    with pytest.raises(InputError, match=r"no audio files \(.wav, .au"):
        extract(genre_folder / "notes", small_config, tmp_path)


def test_audio_folder_skips_a_corrupt_file(genre_folder, small_config, tmp_path):
    broken = genre_folder / "metal" / "metal.00002.wav"
    broken.write_bytes(b"\x00\x01 corrupt" * 50)
    dataset, errors = extract(genre_folder, small_config, tmp_path)
    assert len(errors) == 1 and errors[0].startswith(str(broken))
    assert dataset.n_tracks == 4


def test_audio_folder_where_nothing_decodes(tmp_path, small_config):
    (tmp_path / "rock").mkdir()
    (tmp_path / "rock" / "a.wav").write_bytes(b"junk")
    with pytest.raises(InputError, match="none of the 1 audio files could be read"):
        extract(tmp_path, small_config, tmp_path)


@pytest.mark.slow
def test_real_gtzan_tracks(gtzan_mini, tmp_path):
    """2 genres × 2 real GTZAN tracks (linked, not copied): 10 windows of 3 s per 30 s track."""
    for genre in ("classical", "metal"):
        (tmp_path / "gtzan" / genre).mkdir(parents=True)
        for index in range(2):
            name = f"{genre}.{index:05d}.wav"
            (tmp_path / "gtzan" / genre / name).symlink_to(gtzan_mini / genre / name)
    config = FeatureConfig(sample_rate=11025, n_mels=32, n_mfcc=13)
    dataset, errors = extract(tmp_path / "gtzan", config, tmp_path)
    assert errors == []
    assert dataset.class_counts() == {"classical": 20, "metal": 20}
    assert dataset.features[LOG_MEL].shape == (40, 32, config.frames_per_segment)
    loudness = dataset.features[LOG_MEL].mean(axis=(1, 2))
    assert loudness[dataset.labels == 1].mean() > loudness[dataset.labels == 0].mean()  # metal is louder


def test_track_and_segment_names():
    assert track_and_segment("blues.00000.7.wav") == ("blues.00000", 7)
    assert track_and_segment("blues.00000.wav") == ("blues.00000", 0)
    assert track_and_segment("my song.mp3") == ("my song", 0)


def test_a_linked_genre_folder_is_not_a_new_genre(tmp_path):
    root = tmp_path / "genres"
    for genre in ("pop", "rock"):
        (root / genre).mkdir(parents=True)
        soundfile.write(root / genre / f"{genre}.00000.wav", tone(440.0, 1.0), 22050)
    (root / "rock_again").symlink_to(root / "rock")
    with pytest.raises(InputError, match=r"'rock_again/rock.00000.wav' and 'rock/rock.00000.wav' are the same file"):
        list_genre_files(root)
    (root / "rock_again").unlink()
    (root / "elsewhere").symlink_to(tmp_path, target_is_directory=True)  # a linked folder without audio: ignored
    assert list(list_genre_files(root)) == ["pop", "rock"]


def test_demo_is_marked_synthetic(fake_demo, small_config, tmp_path):
    dataset, errors = load_demo(small_config, kinds=(MFCC,), n_jobs=1, cache_dir=tmp_path / "cache")
    assert dataset.synthetic and dataset.source.startswith("synthetic demo") and errors == []
    assert dataset.class_names == ["blues", "metal"]


def test_demo_reports_its_two_passes_by_name(fake_demo, small_config, tmp_path):
    phases, progress = [], []
    load_demo(small_config, kinds=(MFCC,), n_jobs=1, cache_dir=tmp_path / "cache", phase=phases.append,
              progress=lambda done, total: progress.append((phases[-1], done, total)))
    assert phases == [GENERATING_PHASE, EXTRACTING_PHASE]
    assert progress[:3] == [(GENERATING_PHASE, 0, 2), (GENERATING_PHASE, 1, 2), (GENERATING_PHASE, 2, 2)]
    assert progress[-1][0] == EXTRACTING_PHASE and progress[-1][1] == progress[-1][2]  # every file extracted


def test_demo_size_comes_from_the_environment(monkeypatch):
    monkeypatch.delenv(DEMO_TRACKS_ENV, raising=False)
    assert demo_size_from_environment() == {}
    monkeypatch.setenv(DEMO_TRACKS_ENV, "3")
    assert demo_size_from_environment() == {"tracks_per_genre": 3}
    monkeypatch.setenv(DEMO_TRACKS_ENV, "many")
    with pytest.raises(InputError, match="GENRELENS_DEMO_TRACKS: must be a positive whole number, got 'many'"):
        demo_size_from_environment()

"""Tests of the `genre_core.datasets` loaders: audio folders, Kaggle CSV, .npy splits, MFCC JSON, demo."""

from __future__ import annotations

import io
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import soundfile
from conftest import tone

from genre_core import synth
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
from genre_core.config import LOG_MEL, MFCC, SUMMARY, FeatureConfig
from genre_core.datasets import AUDIO_FOLDER, DEMO_SOURCE, KAGGLE_CSV, MFCC_JSON, NPY_FOLDERS, load_dataset, source_kind
from genre_core.errors import InputError
from genre_core.features import SUMMARY_NAMES
from genre_core.table_datasets import load_kaggle_csv, load_mfcc_json, load_npy_folders

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
    root = write_genre_folder(tmp_path / "genres", small_config, (".au", ".flac"))
    (root / "notes").mkdir()
    (root / "notes" / "readme.txt").write_text("not audio")
    (root / "blues" / "._blues.00000.au").write_bytes(b"macOS resource fork")
    return root


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


def kaggle_table(filenames: list[str], labels: list[str], seed: int = 0) -> pd.DataFrame:
    values = np.random.default_rng(seed).normal(size=(len(filenames), len(SUMMARY_NAMES)))
    table = pd.DataFrame(values, columns=list(SUMMARY_NAMES))
    table.insert(0, "length", 66149)
    table.insert(0, "filename", filenames)
    table["label"] = labels
    return table


def test_kaggle_csv_three_second_table(tmp_path):
    table = kaggle_table(["blues.00000.0.wav", "blues.00000.1.wav", "rock.00003.0.wav"], ["blues", "blues", "rock"])
    shuffled = table[["label", *reversed(SUMMARY_NAMES), "filename", "length"]]  # column order must not matter
    shuffled.to_csv(tmp_path / "features_3_sec.csv", index=False)
    dataset = load_kaggle_csv(tmp_path / "features_3_sec.csv")
    assert dataset.track_ids.tolist() == ["blues.00000", "blues.00000", "rock.00003"]
    assert dataset.segment_index.tolist() == [0, 1, 0]
    assert dataset.class_names == ["blues", "rock"] and dataset.labels.tolist() == [0, 0, 1]
    assert dataset.summary_names == list(SUMMARY_NAMES)
    assert dataset.feature_config == FeatureConfig(sample_rate=22050, track_seconds=30.0, segments_per_track=10)
    np.testing.assert_allclose(dataset.features[SUMMARY], table[list(SUMMARY_NAMES)].to_numpy(), rtol=1e-6)
    assert load_kaggle_csv(tmp_path / "features_3_sec.csv", genres=["rock"]).track_ids.tolist() == ["rock.00003"]


@pytest.mark.parametrize(
    ("lengths", "segment_seconds"),
    [([661794, 661794], None), ([66149, 66149], 3.0), ([132300, 132299], 6.0), (None, None)],
)
def test_kaggle_csv_window_length_comes_from_the_length_column(tmp_path, lengths, segment_seconds):
    table = kaggle_table(["pop.00000.wav", "pop.00001.wav"], ["pop", "pop"])
    table = table.drop(columns=["length"]) if lengths is None else table.assign(length=lengths)
    table.to_csv(tmp_path / "t.csv", index=False)

    config = load_kaggle_csv(tmp_path / "t.csv").feature_config

    assert (config and config.segment_seconds) == segment_seconds


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda t: t.drop(columns=["tempo"]), "missing column.*tempo"),
        (lambda t: t.assign(rms_mean=["loud", "0.1"]), "column 'rms_mean' on line 2 is not a finite number"),
        (lambda t: t.assign(tempo=[120.0, np.nan]), "column 'tempo' on line 3 is empty"),
        (lambda t: t.assign(label=["pop", None]), "column 'label' on line 3 is empty"),
        (lambda t: t.assign(length=[500000, 500000]), r"column 'length' says windows of 22.68 s"),
        (lambda t: t.assign(length=[66149, "long"]), "column 'length' on line 3 is not a number"),
    ],
)
def test_kaggle_csv_rejects_bad_tables(tmp_path, change, message):
    change(kaggle_table(["pop.00000.wav", "pop.00001.wav"], ["pop", "pop"])).to_csv(tmp_path / "t.csv", index=False)
    with pytest.raises(InputError, match=message):
        load_kaggle_csv(tmp_path / "t.csv")


def test_real_kaggle_table(gtzan_csv):
    dataset = load_kaggle_csv(gtzan_csv)
    assert len(dataset) == 1000 and dataset.n_tracks == 1000 and len(dataset.class_names) == 10
    assert set(dataset.class_counts().values()) == {100}
    assert "jazz.00054" in dataset.track_ids.tolist() and (dataset.segment_index == 0).all()
    assert dataset.features[SUMMARY].shape == (1000, 57)


def test_track_and_segment_names():
    assert track_and_segment("blues.00000.7.wav") == ("blues.00000", 7)
    assert track_and_segment("blues.00000.wav") == ("blues.00000", 0)
    assert track_and_segment("my song.mp3") == ("my song", 0)


def save_split(root: Path, name: str, features: np.ndarray, labels: np.ndarray) -> None:
    (root / name).mkdir(parents=True)
    np.save(root / name / "X.npy", features)
    np.save(root / name / "labels.npy", labels)


def test_npy_folders_summary_rows(tmp_path):
    rng = np.random.default_rng(0)
    save_split(tmp_path, "train", rng.normal(size=(4, 57)), np.array(["rock", "pop", "rock", "pop"]))
    save_split(tmp_path, "Validation", rng.normal(size=(1, 57)), np.array(["pop"]))
    save_split(tmp_path, "TEST", rng.normal(size=(2, 57)), np.array(["rock", "pop"]))
    dataset = load_npy_folders(tmp_path)
    assert dataset.class_names == ["pop", "rock"] and dataset.labels.tolist() == [1, 0, 1, 0, 0, 1, 0]
    assert dataset.predefined_split.tolist() == ["train"] * 4 + ["val"] + ["test"] * 2
    assert dataset.track_ids.tolist()[3:6] == ["train-3", "val-0", "test-0"]
    assert dataset.summary_names == list(SUMMARY_NAMES) and not dataset.track_ids_known
    assert dataset.features[SUMMARY].dtype == np.float32


def test_npy_folders_images_and_integer_labels(tmp_path):
    save_split(tmp_path, "train", np.zeros((3, 16, 20, 1), np.float32), np.array([0, 1, 1]))
    save_split(tmp_path, "test", np.ones((2, 16, 20, 1), np.float32), np.array([1, 0]))
    dataset = load_npy_folders(tmp_path)
    assert dataset.features[LOG_MEL].shape == (5, 16, 20) and dataset.class_names == ["0", "1"]


def test_npy_folders_errors(tmp_path):
    save_split(tmp_path, "train", np.zeros((2, 5)), np.array(["a", "b"], dtype=object))
    with pytest.raises(InputError, match="expected split folders train/ and test/"):
        load_npy_folders(tmp_path)
    save_split(tmp_path, "test", np.zeros((1, 6)), np.array(["a"]))
    with pytest.raises(InputError, match=r"labels.npy: object array: re-save with np.save\(path, labels.astype"):
        load_npy_folders(tmp_path)
    np.save(tmp_path / "train" / "labels.npy", np.array(["a", "b"]))
    with pytest.raises(InputError, match=r"test/X.npy: rows of shape \(6,\) differ from train's \(5,\)"):
        load_npy_folders(tmp_path)
    np.save(tmp_path / "test" / "X.npy", np.zeros((2, 5)))
    with pytest.raises(InputError, match="X.npy has 2 rows but labels.npy 1"):
        load_npy_folders(tmp_path)


def test_npy_files_are_checked_before_anything_is_allocated(tmp_path):
    """A 300-byte .npy declaring (1e9, 57) float64 (456 GB) and random bytes: one line each, no MemoryError."""
    save_split(tmp_path, "train", np.zeros((2, 5)), np.array(["a", "b"]))
    save_split(tmp_path, "test", np.zeros((1, 5)), np.array(["a"]))
    header = io.BytesIO()
    np.lib.format.write_array_header_1_0(header, {"descr": "<f8", "fortran_order": False, "shape": (10**9, 57)})
    (tmp_path / "train" / "X.npy").write_bytes(b"\x93NUMPY\x01\x00" + header.getvalue()[8:] + bytes(200))
    with pytest.raises(InputError, match=r"X.npy: is truncated: its header declares shape \(1000000000, 57\) of "
                                         r"float64 \(456,000,000,000 bytes\), the file holds 200$"):
        load_npy_folders(tmp_path)
    (tmp_path / "train" / "X.npy").write_bytes(np.random.default_rng(0).bytes(300))
    with pytest.raises(InputError, match=r"X.npy: not a .npy file \(no valid NumPy header"):
        load_npy_folders(tmp_path)


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


def mfcc_json(path: Path, **extra) -> Path:
    rows = np.arange(4 * 3 * 2, dtype=float).reshape(4, 3, 2)
    path.write_text(json.dumps({"mapping": ["rock", "blues"], "labels": [0, 1, 1, 0], "mfcc": rows.tolist(), **extra}))
    return path


def test_mfcc_json_rows_are_their_own_tracks(tmp_path):
    dataset = load_mfcc_json(mfcc_json(tmp_path / "data.json"))
    assert dataset.class_names == ["blues", "rock"] and dataset.labels.tolist() == [1, 0, 0, 1]
    assert dataset.features[MFCC].shape == (4, 3, 2) and dataset.features[MFCC][1, 0, 1] == 7.0
    assert dataset.track_ids.tolist() == ["row-0", "row-1", "row-2", "row-3"] and not dataset.track_ids_known


def test_mfcc_json_with_file_names(tmp_path):
    names = ["rock.00001.wav", "blues.00002.wav", "blues.00002.wav", "rock.00001.wav"]
    dataset = load_mfcc_json(mfcc_json(tmp_path / "data.json", filenames=names))
    assert dataset.track_ids_known and dataset.n_tracks == 2
    assert dataset.segment_index.tolist() == [0, 0, 1, 1]
    given = load_mfcc_json(mfcc_json(tmp_path / "data.json", filenames=names, segment=[3, 4, 5, 6]))
    assert given.segment_index.tolist() == [3, 4, 5, 6]


def test_mfcc_json_nested_too_deeply_is_one_line(tmp_path):
    path = tmp_path / "deep.json"
    path.write_text('{"mapping": ' + "[" * 6000 + "]" * 6000 + "}")
    with pytest.raises(InputError, match=r"deep.json: not usable JSON \(nested too deeply\)$"):
        load_mfcc_json(path)


def test_mfcc_json_errors(tmp_path):
    path = tmp_path / "data.json"
    path.write_text(json.dumps({"mapping": ["a"], "labels": [0, 0], "mfcc": [[[1, 2], [3, 4]], [[1, 2], [3]]]}))
    with pytest.raises(InputError, match="'mfcc' row 1 is not a frames × coefficients"):
        load_mfcc_json(path)
    path.write_text(json.dumps({"mapping": ["a"], "labels": [0, 0], "mfcc": [[[1, 2], [3, 4]], [[1, 2]]]}))
    with pytest.raises(InputError, match=r"'mfcc' row 1 has shape \(1, 2\) but row 0 has \(2, 2\)"):
        load_mfcc_json(path)
    path.write_text(json.dumps({"mapping": ["a"], "labels": [0, 3], "mfcc": [[[1]], [[2]]]}))
    with pytest.raises(InputError, match="'labels' entry 1 is 3"):
        load_mfcc_json(path)
    path.write_text("{not json")
    with pytest.raises(InputError, match="not valid JSON"):
        load_mfcc_json(path)


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


def test_load_dataset_dispatches_on_the_spec(fake_demo, genre_folder, small_config, tmp_path):
    options = {"kinds": (MFCC,), "n_jobs": 1, "cache_dir": tmp_path / "cache"}
    assert load_dataset("demo", small_config, **options)[0].synthetic
    assert load_dataset(genre_folder, small_config, genres=["blues"], **options)[0].class_names == ["blues"]
    kaggle_table(["a.00000.wav", "b.00000.wav"], ["a", "b"]).to_csv(tmp_path / "t.csv", index=False)
    assert load_dataset(tmp_path / "t.csv", genres=["b"])[0].track_ids.tolist() == ["b.00000"]
    assert MFCC in load_dataset(mfcc_json(tmp_path / "m.json"))[0].features
    save_split(tmp_path / "npy", "train", np.zeros((2, 3)), np.array(["x", "y"]))
    save_split(tmp_path / "npy", "test", np.zeros((1, 3)), np.array(["x"]))
    assert load_dataset(tmp_path / "npy")[0].predefined_split is not None
    kinds = [source_kind(spec) for spec in ("demo", genre_folder, tmp_path / "t.csv", tmp_path / "m.json", tmp_path / "npy")]
    assert kinds == [DEMO_SOURCE, AUDIO_FOLDER, KAGGLE_CSV, MFCC_JSON, NPY_FOLDERS]
    with pytest.raises(InputError, match="no such file or folder"):
        load_dataset(tmp_path / "nowhere")
    with pytest.raises(InputError, match="single audio file is not a dataset"):
        load_dataset(genre_folder / "metal" / "metal.00001.flac")
    (tmp_path / "notes.txt").write_text("hello")
    with pytest.raises(InputError, match="unsupported dataset"):
        load_dataset(tmp_path / "notes.txt")

"""Tests of `genre_core.table_datasets`: the Kaggle feature table, ``.npy`` split folders and MFCC JSON."""

from __future__ import annotations

import io
import json

import numpy as np
import pytest
from helpers import kaggle_table, mfcc_json, save_split

from genre_core.config import LOG_MEL, MFCC, SUMMARY, FeatureConfig
from genre_core.errors import InputError
from genre_core.features import SUMMARY_NAMES
from genre_core.table_datasets import load_kaggle_csv, load_mfcc_json, load_npy_folders


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

"""Tests of `genre_core.datasets`: `source_kind` and `load_dataset`, the one switch over every source."""

from __future__ import annotations

import numpy as np
import pytest
from helpers import kaggle_table, mfcc_json, save_split

from genre_core.config import MFCC
from genre_core.datasets import AUDIO_FOLDER, DEMO_SOURCE, KAGGLE_CSV, MFCC_JSON, NPY_FOLDERS, load_dataset, source_kind
from genre_core.errors import InputError


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

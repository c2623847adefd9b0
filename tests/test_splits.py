"""Tests of `genre_core.splits`: track-level splits never share a track; the leaky one does."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest
from helpers import published_artists, read_pairs

from genre_core.config import SUMMARY
from genre_core.dataset import Dataset
from genre_core.table_datasets import load_kaggle_csv
from genre_core.errors import InputError
from genre_core.splits import (
    LEAKY_WARNING,
    NO_TRACKS_WARNING,
    Split,
    artist_filtered_split,
    dataset_artists,
    grouped_kfold,
    grouped_split,
    leaky_split,
    make_split,
    predefined_split,
    track_artists,
    unavailable_protocols,
)


def windowed_dataset(tracks_per_class: int = 10, windows: int = 4, classes: int = 3) -> Dataset:
    """``classes`` × ``tracks_per_class`` tracks named ``c<k>.<n>``, each cut into ``windows`` rows."""
    tracks = [f"c{c}.{t:05d}" for c in range(classes) for t in range(tracks_per_class)]
    track_ids = np.repeat(tracks, windows)
    labels = np.repeat(np.arange(classes), tracks_per_class * windows)
    return Dataset(
        class_names=[f"c{c}" for c in range(classes)],
        labels=labels,
        track_ids=track_ids,
        segment_index=np.tile(np.arange(windows), classes * tracks_per_class),
        features={SUMMARY: np.random.default_rng(0).normal(size=(len(labels), 57)).astype(np.float32)},
        source="test windows",
    )


def parts(split: Split) -> dict[str, np.ndarray]:
    return {"train": split.train, "val": split.val, "test": split.test}


def assert_tracks_disjoint(split: Split, keys: np.ndarray) -> None:
    """No key (track or artist) in two parts, and the parts never share a row."""
    sets = {name: set(keys[rows].tolist()) for name, rows in parts(split).items()}
    assert not sets["train"] & sets["val"] and not sets["train"] & sets["test"] and not sets["val"] & sets["test"]
    rows = np.concatenate(list(parts(split).values()))
    assert len(rows) == len(set(rows.tolist()))


def test_grouped_split_keeps_tracks_whole_and_classes_in_every_part():
    dataset = windowed_dataset()
    split = grouped_split(dataset, val_fraction=0.2, test_fraction=0.2, seed=3)
    assert_tracks_disjoint(split, dataset.track_ids)
    assert len(split.train) + len(split.val) + len(split.test) == len(dataset)
    for rows in parts(split).values():
        assert set(dataset.labels[rows].tolist()) == {0, 1, 2}
    assert len(np.unique(dataset.track_ids[split.test])) == 6  # 2 of 10 tracks per class
    assert split.protocol == "grouped" and split.details["group_by"] == "track"
    same = grouped_split(dataset, val_fraction=0.2, test_fraction=0.2, seed=3)
    other = grouped_split(dataset, val_fraction=0.2, test_fraction=0.2, seed=4)
    np.testing.assert_array_equal(same.test, split.test)
    assert not np.array_equal(other.test, split.test)


def test_grouped_split_on_tiny_classes_keeps_train_first():
    dataset = windowed_dataset(tracks_per_class=2)
    split = grouped_split(dataset)
    assert_tracks_disjoint(split, dataset.track_ids)
    assert len(split.val) == 0
    assert set(dataset.labels[split.train].tolist()) == set(dataset.labels[split.test].tolist()) == {0, 1, 2}


def test_split_without_track_ids_says_so():
    dataset = dataclasses.replace(windowed_dataset(windows=1), track_ids_known=False)
    assert grouped_split(dataset).details["warning"] == NO_TRACKS_WARNING
    assert "warning" not in grouped_split(windowed_dataset()).details


def test_bad_fractions_are_rejected():
    with pytest.raises(InputError, match="sum to less than 1"):
        grouped_split(windowed_dataset(), val_fraction=0.5, test_fraction=0.5)


def test_leaky_split_puts_windows_of_a_track_on_both_sides():
    dataset = windowed_dataset()
    split = leaky_split(dataset, val_fraction=0.15, test_fraction=0.15, seed=0)
    assert split.leaky and split.details["warning"] == LEAKY_WARNING
    assert set(dataset.track_ids[split.train].tolist()) & set(dataset.track_ids[split.test].tolist())
    assert sorted(np.concatenate(list(parts(split).values())).tolist()) == list(range(len(dataset)))


def test_grouped_kfold_tests_every_row_once():
    dataset = windowed_dataset(tracks_per_class=6)
    folds = grouped_kfold(dataset, k=3, seed=0, val_fraction=0.2)
    assert [fold.details["fold"] for fold in folds] == [1, 2, 3]
    assert sorted(np.concatenate([fold.test for fold in folds]).tolist()) == list(range(len(dataset)))
    for fold in folds:
        assert fold.protocol == "kfold" and len(fold.val) > 0
        assert_tracks_disjoint(fold, dataset.track_ids)
    assert all(len(fold.val) == 0 for fold in grouped_kfold(dataset, k=3))
    with pytest.raises(InputError, match="between 2 and 18"):
        grouped_kfold(dataset, k=19)


def test_predefined_split_follows_the_source():
    dataset = windowed_dataset(tracks_per_class=2, windows=1, classes=2)
    dataset = dataclasses.replace(dataset, predefined_split=np.array(["train", "test", "val", "train"]))
    split = predefined_split(dataset)
    assert split.train.tolist() == [0, 3] and split.val.tolist() == [2] and split.test.tolist() == [1]
    assert make_split(dataset, "predefined").protocol == "predefined"
    with pytest.raises(InputError, match="has no predefined split"):
        predefined_split(windowed_dataset())


@pytest.mark.parametrize("fold", [1, 2, 3])
def test_artist_filtered_folds_on_the_kaggle_table(gtzan_csv, sturm_split_dir, fold):
    dataset = load_kaggle_csv(gtzan_csv)
    split = make_split(dataset, f"artist-filtered:{fold}", split_dir=sturm_split_dir, seed=0)
    train_list = read_pairs(sturm_split_dir / f"f{fold}_train_groups.txt")
    test_list = read_pairs(sturm_split_dir / f"f{fold}_evaluate_groups.txt")
    assert len(split.train) + len(split.val) == len(train_list) and len(split.test) == len(test_list)
    assert split.details["excluded_rows"] == 1000 - len(train_list) - len(test_list) == 52
    assert_tracks_disjoint(split, dataset.track_ids)
    artists = {**train_list, **test_list}
    artist_of_row = np.asarray([artists.get(track, "-") for track in dataset.track_ids])
    assert_tracks_disjoint(split, artist_of_row)  # no artist in two parts
    assert set(dataset.track_ids[split.test].tolist()) == set(test_list)
    assert len(np.unique(dataset.labels[split.val])) == 10


def test_folds_by_artist_on_the_kaggle_table_never_put_an_artist_on_both_sides(gtzan_csv, sturm_split_dir):
    dataset = load_kaggle_csv(gtzan_csv)
    listed = published_artists(sturm_split_dir)
    artists = dataset_artists(dataset, sturm_split_dir)
    assert artists is not None and artists.unlisted_tracks == 1000 - len(listed) == 52
    artist_of_row = np.asarray([listed.get(track, "-") for track in dataset.track_ids])
    folds = grouped_kfold(dataset, k=5, seed=42, val_fraction=0.15, artists=artists)
    tested = dataset.track_ids[np.concatenate([fold.test for fold in folds])].tolist()
    assert sorted(tested) == sorted(listed)  # every listed track tested exactly once; the unlisted ones never
    for fold in folds:
        assert_tracks_disjoint(fold, artist_of_row)  # no artist in train, val and test at once
        assert "-" not in set(artist_of_row[np.concatenate(list(parts(fold).values()))].tolist())
        assert fold.details["group_by"] == "artist" and fold.details["artists"] == len(set(listed.values()))
        assert "52 track(s) without a listed artist" in fold.details["warning"]
        assert len(np.unique(dataset.labels[fold.test])) == 10 and len(fold.val) > 0
    by_track = grouped_kfold(dataset, k=5, seed=42)  # the check has teeth: folds by track do split artists
    assert any(set(artist_of_row[fold.train]) & set(artist_of_row[fold.test]) - {"-"} for fold in by_track)


def write_artist_lists(folder: Path, artists: dict[str, str]) -> Path:
    """Every fold's two artist lists, each holding ``artists`` (file name → artist id)."""
    folder.mkdir()
    lines = "".join(f"./{name}\t{artist}\n" for name, artist in artists.items())
    for fold in (1, 2, 3):
        for part in ("train", "evaluate"):
            (folder / f"f{fold}_{part}_groups.txt").write_text(lines)
    return folder


def test_artists_are_known_only_where_the_lists_name_the_tracks(tmp_path):
    dataset = windowed_dataset(tracks_per_class=4, windows=2, classes=2)
    genres = ["blues", "jazz"]
    gtzan = dataclasses.replace(dataset, class_names=genres, track_ids=np.asarray(
        [f"{genres[int(track[1])]}.{track[3:]}" for track in dataset.track_ids]))  # c1.00002 -> jazz.00002
    names = {f"{genres[c]}_{t:05d}.wav": f"a{c}{t // 2}" for c in range(2) for t in range(3)}  # track 3 unlisted
    folder = write_artist_lists(tmp_path / "folds", names)
    artists = dataset_artists(gtzan, folder)
    assert artists is not None and artists.unlisted_tracks == 2 and len(artists.rows) == 12
    assert artists.artists.tolist() == ["a00", "a00"] * 2 + ["a01"] * 2 + ["a10"] * 4 + ["a11"] * 2
    assert dataset_artists(dataset, folder) is None  # ids like c0.00001 are not GTZAN ids
    assert dataset_artists(dataclasses.replace(gtzan, synthetic=True), folder) is None
    assert dataset_artists(gtzan, write_artist_lists(tmp_path / "others", {"rock_00000.wav": "9"})) is None
    with pytest.raises(InputError, match=r"5 folds need between 2 and 4 \(the number of artists\)"):
        grouped_kfold(gtzan, k=5, artists=artists)
    (folder / "f2_evaluate_groups.txt").write_text("./blues_00000.wav\t7\n")
    with pytest.raises(InputError, match="f2_evaluate_groups.txt: gives track blues.00000 artist 7, another list a00"):
        track_artists(folder)
    with pytest.raises(InputError, match="no such folder"):
        dataset_artists(gtzan, tmp_path / "none")


def write_split_dir(folder: Path, fold: int = 1) -> Path:
    folder.mkdir()
    (folder / f"f{fold}_train.txt").write_text("./c0_00000.wav\tc0\n./c0_00001.wav\tc0\n./c1_00000.wav\tc1\n")
    (folder / f"f{fold}_train_groups.txt").write_text("./c0_00000.wav\t0\n./c0_00001.wav\t1\n./c1_00000.wav\t2\n")
    (folder / f"f{fold}_evaluate.txt").write_text("./c1_00001.wav\tc1\n")
    return folder


def test_artist_filtered_split_on_a_small_folder(tmp_path):
    dataset = windowed_dataset(tracks_per_class=3, windows=2, classes=2)
    split = artist_filtered_split(dataset, write_split_dir(tmp_path / "folds"), 1, val_fraction=0.0)
    assert sorted(set(dataset.track_ids[split.train].tolist())) == ["c0.00000", "c0.00001", "c1.00000"]
    assert set(dataset.track_ids[split.test].tolist()) == {"c1.00001"}
    assert split.details["excluded_tracks"] == 2 and split.details["excluded_rows"] == 4


def test_artist_filtered_split_errors(tmp_path):
    dataset = windowed_dataset(tracks_per_class=3, windows=2, classes=2)
    folder = write_split_dir(tmp_path / "folds")
    with pytest.raises(InputError, match="fold: 4 is not one of 1, 2, 3"):
        artist_filtered_split(dataset, folder, 4)
    with pytest.raises(InputError, match="f2_train.txt: missing"):
        artist_filtered_split(dataset, folder, 2)
    renamed = dataclasses.replace(dataset, track_ids=np.char.add("x", dataset.track_ids))
    with pytest.raises(InputError, match="no track of the dataset is in fold 1's train list"):
        artist_filtered_split(renamed, folder, 1)
    (folder / "f1_evaluate.txt").write_text("blues.00000.wav\n")
    with pytest.raises(InputError, match="line 1: expected"):
        artist_filtered_split(dataset, folder, 1)


def test_make_split_names():
    dataset = windowed_dataset()
    assert make_split(dataset, "grouped", seed=2).seed == 2
    assert make_split(dataset, "leaky").leaky
    with pytest.raises(InputError, match="give the fold"):
        make_split(dataset, "artist-filtered", split_dir="x")
    with pytest.raises(InputError, match="needs the split folder"):
        make_split(dataset, "artist-filtered:1")
    with pytest.raises(InputError, match="protocol: unknown 'random'"):
        make_split(dataset, "random")


def test_unavailable_protocols_say_why(gtzan_csv):
    demo = dataclasses.replace(windowed_dataset(), synthetic=True)
    reasons = unavailable_protocols(demo)
    assert set(reasons) == {"artist-filtered", "predefined"} and "no artists" in reasons["artist-filtered"]
    assert "blues.00012" in unavailable_protocols(windowed_dataset())["artist-filtered"]  # ids like c0.00001
    table = load_kaggle_csv(gtzan_csv)
    assert set(unavailable_protocols(table)) == {"leaky", "predefined"}  # one row per track: nothing to leak

"""Train/validation/test splits made at track level, so segments of one song never leak across parts."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.model_selection import StratifiedGroupKFold

from genre_core.dataset import Dataset
from genre_core.errors import InputError

#: ``details["warning"]`` of a leaky split.
LEAKY_WARNING = (
    "segment-level random split: windows of one track sit in train and test, so test accuracy is inflated "
    "by leakage; use it only to demonstrate the effect"
)
#: ``details["warning"]`` when the source does not say which rows belong to one song.
NO_TRACKS_WARNING = (
    "the source has no track ids: rows were split one by one, so windows of one song may sit in several parts"
)
#: Folds of the published artist-filtered GTZAN split.
ARTIST_FILTERED_FOLDS = (1, 2, 3)
#: Protocol names of `make_split` (the artist-filtered one takes its fold after a colon).
PROTOCOLS = ("grouped", "artist-filtered", "leaky", "predefined")
GTZAN_TRACK_ID = re.compile(r"^[a-z]+\.\d{5}$")  #: a GTZAN track id, e.g. ``blues.00012``


@dataclass
class Split:
    """Row indices of a `Dataset` for each part, and how they were made.

    ``protocol`` is one of ``"grouped"`` (track-level, stratified), ``"artist-filtered"`` (a fold of the
    published artist-filtered GTZAN split), ``"leaky"`` (segment-level random: segments of one track on
    both sides, shown only to demonstrate leakage), ``"predefined"`` (the source came split), ``"kfold"``.
    ``details`` is JSON-serialisable (ratios, fold number, split folder, ...).
    """

    train: np.ndarray
    val: np.ndarray
    test: np.ndarray
    protocol: str
    seed: int | None = None
    details: dict[str, Any] = field(default_factory=dict)

    @property
    def leaky(self) -> bool:
        return self.protocol == "leaky"

    def describe(self, dataset: Dataset) -> dict[str, Any]:
        """JSON-serialisable description, with the track ids of each part (stored in model bundles)."""
        parts = {"train": self.train, "val": self.val, "test": self.test}
        return {
            "protocol": self.protocol,
            "seed": self.seed,
            "details": self.details,
            "rows": {name: int(len(rows)) for name, rows in parts.items()},
            "track_ids": {name: sorted(set(dataset.track_ids[rows].tolist())) for name, rows in parts.items()},
        }


def _check_fractions(val_fraction: float, test_fraction: float) -> None:
    if not (0.0 <= val_fraction < 1.0 and 0.0 <= test_fraction < 1.0 and val_fraction + test_fraction < 1.0):
        raise InputError(
            "val_fraction/test_fraction", f"{val_fraction} and {test_fraction} must be >= 0 and sum to less than 1"
        )


def _part_sizes(n_groups: int, val_fraction: float, test_fraction: float) -> tuple[int, int]:
    """Groups of one class for (test, val): rounded fractions, at least one where a fraction is > 0,
    and always at least one group left for train (so a class with 2 groups gives 1 test, 0 val)."""
    n_test = math.floor(n_groups * test_fraction + 0.5)
    n_val = math.floor(n_groups * val_fraction + 0.5)
    n_test = min(max(n_test, 1 if test_fraction > 0 else 0), n_groups - 1)
    n_val = min(max(n_val, 1 if val_fraction > 0 else 0), n_groups - 1 - n_test)
    return n_test, n_val


def _stratified_group_parts(
    labels: np.ndarray, groups: np.ndarray, val_fraction: float, test_fraction: float, seed: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Row indices (train, val, test) with every group (track or artist) wholly in one part.

    Each group counts for the majority class of its rows; within each class the groups are shuffled
    (``seed``) and cut by `_part_sizes`, so every class keeps at least one group in train.
    """
    group_names, group_of_row = np.unique(groups, return_inverse=True)
    votes = np.zeros((len(group_names), int(labels.max()) + 1 if len(labels) else 1), dtype=np.int64)
    np.add.at(votes, (group_of_row, labels), 1)
    group_class = votes.argmax(axis=1)
    rng = np.random.default_rng(seed)
    part_of_group = np.zeros(len(group_names), dtype=np.int8)  # 0 train, 1 val, 2 test
    for label in np.unique(group_class):
        members = rng.permutation(np.flatnonzero(group_class == label))
        n_test, n_val = _part_sizes(len(members), val_fraction, test_fraction)
        part_of_group[members[:n_test]] = 2
        part_of_group[members[n_test : n_test + n_val]] = 1
    part_of_row = part_of_group[group_of_row]
    return np.flatnonzero(part_of_row == 0), np.flatnonzero(part_of_row == 1), np.flatnonzero(part_of_row == 2)


def _grouping(dataset: Dataset) -> tuple[np.ndarray, dict[str, Any]]:
    """The key rows are grouped on (their track ids) and the details saying so."""
    details: dict[str, Any] = {"group_by": "track"}
    if not dataset.track_ids_known:
        details["warning"] = NO_TRACKS_WARNING
    return np.asarray(dataset.track_ids, dtype=str), details


@dataclass(frozen=True)
class ArtistGrouping:
    """The artists of a dataset's tracks, from the published artist-filtered split in ``split_dir``: ``rows``
    (int64, sorted) are the dataset rows whose track has a listed artist, ``artists`` (str, same length) the artist
    id of each; ``unlisted_tracks`` tracks have none (the split's removed duplicates and distorted excerpts)."""

    split_dir: str
    rows: np.ndarray
    artists: np.ndarray
    unlisted_tracks: int

    def details(self) -> dict[str, Any]:
        """What `grouped_kfold` records in each fold's details (JSON)."""
        details: dict[str, Any] = {"group_by": "artist", "split_dir": self.split_dir,
                                   "artists": int(len(np.unique(self.artists))),
                                   "unlisted_tracks": self.unlisted_tracks}
        if self.unlisted_tracks:
            details["warning"] = (f"grouped by artist: {self.unlisted_tracks} track(s) without a listed artist (the "
                                  f"artist-filtered split's removed duplicates and distorted excerpts) are left out")
        return details


def names_gtzan_tracks(dataset: Dataset) -> bool:
    """Whether every row's track id is a GTZAN track id (``blues.00012``), as the published split lists them."""
    return dataset.track_ids_known and all(GTZAN_TRACK_ID.match(str(track)) for track in np.unique(dataset.track_ids))


def track_artists(split_dir: str | Path) -> dict[str, str]:
    """Track id → artist id, over every fold's artist lists (``f<k>_train_groups.txt``, ``f<k>_evaluate_groups.txt``)
    of the published artist-filtered split in ``split_dir``. InputError for a missing folder or file, or a track
    given two artists."""
    split_dir = Path(split_dir)
    if not split_dir.is_dir():
        raise InputError(split_dir, "no such folder (the artist-filtered split files are expected there)")
    artist_of: dict[str, str] = {}
    for fold in ARTIST_FILTERED_FOLDS:
        for part in ("train", "evaluate"):
            path = split_dir / f"f{fold}_{part}_groups.txt"
            for track, artist in _read_split_list(path).items():
                if artist_of.setdefault(track, artist) != artist:
                    raise InputError(path, f"gives track {track} artist {artist}, another list {artist_of[track]}")
    return artist_of


def dataset_artists(dataset: Dataset, split_dir: str | Path) -> ArtistGrouping | None:
    """The artists of ``dataset``'s tracks (`track_artists`), or None when the split does not cover it: a synthetic
    dataset, a track id that is not a GTZAN id, or no track listed. InputError for unreadable split files."""
    if dataset.synthetic or not names_gtzan_tracks(dataset):
        return None
    track_ids = np.asarray(dataset.track_ids, dtype=str)
    artist_of = track_artists(split_dir)
    listed = np.asarray([track in artist_of for track in track_ids.tolist()], dtype=bool)
    if not listed.any():
        return None
    rows = np.flatnonzero(listed).astype(np.int64)
    return ArtistGrouping(split_dir=str(split_dir), rows=rows,
                          artists=np.asarray([artist_of[track] for track in track_ids[rows]], dtype=str),
                          unlisted_tracks=int(len(np.unique(track_ids[~listed]))))


def grouped_split(
    dataset: Dataset, *, val_fraction: float = 0.15, test_fraction: float = 0.15, seed: int = 0
) -> Split:
    """Track-level split stratified by class: all windows of a track go to one part; every class keeps at least
    one track in train.

    Fractions count groups per class, rounded, with at least one test/val group for a class that has
    enough groups (see `_part_sizes`), so tiny classes get a larger share than asked.
    """
    _check_fractions(val_fraction, test_fraction)
    groups, details = _grouping(dataset)
    train, val, test = _stratified_group_parts(dataset.labels, groups, val_fraction, test_fraction, seed)
    details.update(val_fraction=val_fraction, test_fraction=test_fraction, groups=int(len(np.unique(groups))))
    return Split(train=train, val=val, test=test, protocol="grouped", seed=seed, details=details)


def grouped_kfold(dataset: Dataset, k: int = 5, seed: int = 0, *, val_fraction: float = 0.0,
                  artists: ArtistGrouping | None = None) -> list[Split]:
    """``k`` folds of `sklearn.model_selection.StratifiedGroupKFold` (stratified by genre) over tracks, or over
    artists when ``artists`` (`dataset_artists`) is given: then no artist is on both sides of a fold, and rows of
    tracks without a listed artist are in no part (``details`` counts them and warns).

    Each fold's test part is one fold; train is the rest. ``val`` is empty unless ``val_fraction`` > 0,
    in which case it is carved from that fold's training groups as in `grouped_split`.
    """
    if artists is None:
        rows = np.arange(len(dataset), dtype=np.int64)
        groups, grouping = _grouping(dataset)
    else:
        rows, groups, grouping = artists.rows, artists.artists, artists.details()
    what = "artists" if artists is not None else "tracks"
    group_names, group_index = np.unique(groups, return_inverse=True)
    if not 2 <= k <= len(group_names):
        raise InputError("k", f"{k} folds need between 2 and {len(group_names)} (the number of {what})")
    _check_fractions(val_fraction, 0.0)
    labels = dataset.labels[rows]
    folds = StratifiedGroupKFold(n_splits=k, shuffle=True, random_state=seed)
    splits = []
    for number, (train, test) in enumerate(folds.split(np.zeros(len(rows)), labels, group_index), 1):
        keep, val, _ = _stratified_group_parts(labels[train], groups[train], val_fraction, 0.0, seed)
        details = {**grouping, "fold": number, "k": k, "val_fraction": val_fraction}
        splits.append(Split(train=rows[train[keep]], val=rows[train[val]], test=rows[test], protocol="kfold",
                            seed=seed, details=details))
    return splits


def _read_split_list(path: Path) -> dict[str, str]:
    """Track id → second column, from a published list (``./blues_00000.wav<TAB>blues`` → ``blues.00000``)."""
    if not path.is_file():
        raise InputError(path, "missing: the folder needs f<k>_train.txt, f<k>_evaluate.txt, f<k>_train_groups.txt")
    entries: dict[str, str] = {}
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        name, tab, value = line.partition("\t")
        genre, underscore, digits = Path(name.strip()).stem.rpartition("_")
        if not (tab and underscore and digits.isdigit()):
            raise InputError(path, f"line {number}: expected './<genre>_<number>.wav<TAB><value>', got {line!r}")
        entries[f"{genre}.{digits}"] = value.strip()
    return entries


def artist_filtered_split(
    dataset: Dataset, split_dir: str | Path, fold: int, *, val_fraction: float = 0.15, seed: int = 0
) -> Split:
    """Fold ``fold`` of the published artist-filtered GTZAN split (Sturm; Foleis & Tavares 2020).

    Train = tracks in ``f<fold>_train.txt``, test = ``f<fold>_evaluate.txt``; val is carved from train by
    artist (``f<fold>_train_groups.txt``), stratified by class. Dataset rows of tracks in neither list
    (duplicates and distorted excerpts the split removes) are left out; ``details`` counts them.
    """
    split_dir = Path(split_dir)
    if fold not in ARTIST_FILTERED_FOLDS:
        raise InputError("fold", f"{fold} is not one of {', '.join(map(str, ARTIST_FILTERED_FOLDS))}")
    if not split_dir.is_dir():
        raise InputError(split_dir, "no such folder (the artist-filtered split files are expected there)")
    _check_fractions(val_fraction, 0.0)
    train_list = _read_split_list(split_dir / f"f{fold}_train.txt")
    test_list = _read_split_list(split_dir / f"f{fold}_evaluate.txt")
    artist_of = _read_split_list(split_dir / f"f{fold}_train_groups.txt")
    both = sorted(set(train_list) & set(test_list))
    if both:
        raise InputError(split_dir, f"track {both[0]} is in both the train and the evaluate list of fold {fold}")
    track_ids = np.asarray(dataset.track_ids, dtype=str)
    in_train = np.isin(track_ids, list(train_list))
    in_test = np.isin(track_ids, list(test_list))
    if not in_train.any() or not in_test.any():
        part = "train" if not in_train.any() else "evaluate"
        raise InputError(
            split_dir, f"no track of the dataset is in fold {fold}'s {part} list (ids like 'blues.00000' expected, "
            f"the dataset has e.g. '{track_ids[0]}')",
        )
    train_rows = np.flatnonzero(in_train)
    missing_artist = sorted(set(track_ids[train_rows]) - set(artist_of))
    if missing_artist:
        raise InputError(split_dir / f"f{fold}_train_groups.txt", f"no artist listed for track {missing_artist[0]}")
    artists = np.asarray([artist_of[track] for track in track_ids[train_rows]], dtype=str)
    keep, val, _ = _stratified_group_parts(dataset.labels[train_rows], artists, val_fraction, 0.0, seed)
    excluded = ~(in_train | in_test)
    listed = set(train_list) | set(test_list)
    details = {
        "fold": fold,
        "split_dir": str(split_dir),
        "group_by": "artist",
        "val_fraction": val_fraction,
        "excluded_rows": int(excluded.sum()),
        "excluded_tracks": int(len(np.unique(track_ids[excluded]))),
        "listed_tracks_not_in_dataset": len(listed - set(track_ids.tolist())),
    }
    return Split(
        train=train_rows[keep], val=train_rows[val], test=np.flatnonzero(in_test),
        protocol="artist-filtered", seed=seed, details=details,
    )


def leaky_split(
    dataset: Dataset, *, val_fraction: float = 0.15, test_fraction: float = 0.15, seed: int = 0
) -> Split:
    """Segment-level random split, stratified by class: windows of one track land in several parts.

    Exists only to demonstrate leakage; ``protocol`` is ``"leaky"`` and ``details["warning"]`` says why.
    """
    _check_fractions(val_fraction, test_fraction)
    rows = np.arange(len(dataset))
    train, val, test = _stratified_group_parts(dataset.labels, rows, val_fraction, test_fraction, seed)
    details = {"val_fraction": val_fraction, "test_fraction": test_fraction, "warning": LEAKY_WARNING}
    return Split(train=train, val=val, test=test, protocol="leaky", seed=seed, details=details)


def predefined_split(dataset: Dataset) -> Split:
    """The parts a source came with (``dataset.predefined_split``: "train", "val" or "test" per row)."""
    if dataset.predefined_split is None:
        raise InputError(dataset.source, "has no predefined split (use the grouped split)")
    parts = np.asarray(dataset.predefined_split, dtype=str)
    unknown = sorted(set(parts.tolist()) - {"train", "val", "test"})
    if unknown:
        raise InputError(dataset.source, f"predefined split names unknown part '{unknown[0]}'")
    train, val, test = (np.flatnonzero(parts == part) for part in ("train", "val", "test"))
    return Split(train=train, val=val, test=test, protocol="predefined", details={"group_by": "source"})


def make_split(
    dataset: Dataset,
    protocol: str,
    *,
    seed: int = 0,
    split_dir: str | Path | None = None,
    val_fraction: float = 0.15,
    test_fraction: float = 0.15,
) -> Split:
    """Split by name: ``"grouped"``, ``"artist-filtered:<fold>"`` (needs ``split_dir``), ``"leaky"``
    or ``"predefined"``. ``test_fraction`` does not apply to the artist-filtered and predefined ones."""
    name, _, argument = protocol.strip().partition(":")
    if name == "grouped":
        return grouped_split(dataset, val_fraction=val_fraction, test_fraction=test_fraction, seed=seed)
    if name == "leaky":
        return leaky_split(dataset, val_fraction=val_fraction, test_fraction=test_fraction, seed=seed)
    if name == "predefined":
        return predefined_split(dataset)
    if name == "artist-filtered":
        if not argument.strip().isdigit():
            raise InputError("protocol", f"'{protocol}': give the fold, e.g. artist-filtered:1")
        if split_dir is None:
            raise InputError("protocol", "artist-filtered needs the split folder (split_dir)")
        return artist_filtered_split(dataset, split_dir, int(argument), val_fraction=val_fraction, seed=seed)
    raise InputError("protocol", f"unknown '{protocol}'; choose grouped, artist-filtered:N, leaky or predefined")


def unavailable_protocols(dataset: Dataset) -> dict[str, str]:
    """The `PROTOCOLS` that cannot split ``dataset``, each with the reason in words (the others can).

    The artist-filtered GTZAN folds need real GTZAN tracks (ids like ``blues.00012``); the leaky split needs
    several windows per track (otherwise it is the grouped split); the predefined one needs a source that came
    split."""
    reasons = {}
    if dataset.synthetic:
        reasons["artist-filtered"] = ("the synthetic demo has no artists, and the published folds list real "
                                      "GTZAN tracks")
    elif not names_gtzan_tracks(dataset):
        reasons["artist-filtered"] = ("the published folds list real GTZAN tracks (ids like blues.00012), which "
                                      "this dataset does not name")
    if dataset.track_ids_known and dataset.n_tracks == len(dataset):
        reasons["leaky"] = "each track is one row here, so no windows of one song can leak across parts"
    if dataset.predefined_split is None:
        reasons["predefined"] = "the source did not come split into train and test"
    return reasons

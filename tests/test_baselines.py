"""Tests for genre_core.baselines: tabular views, baseline scores, and the protocol comparison."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import genre_core.baselines as baselines
from genre_core.baselines import baseline_scores, compare_protocols, tabular_view
from genre_core.config import LOG_MEL, MFCC, SUMMARY
from genre_core.errors import InputError


def blobs(
    rows_per_class: int, n_classes: int, columns: int, spread: float, seed: int
) -> tuple[np.ndarray, np.ndarray]:
    """Gaussian clusters: (rows, columns) features around one random centre per class, and int labels."""
    rng = np.random.default_rng(seed)
    centres = rng.normal(0.0, 5.0, size=(n_classes, columns))
    labels = np.repeat(np.arange(n_classes), rows_per_class)
    return centres[labels] + rng.normal(0.0, spread, size=(len(labels), columns)), labels


def test_tabular_view_summarises_over_time() -> None:
    rng = np.random.default_rng(0)
    log_mel = rng.normal(size=(4, 8, 10))  # (rows, n_mels, frames)
    table = tabular_view(log_mel, LOG_MEL)
    assert table.shape == (4, 16)
    np.testing.assert_allclose(table[:, :8], log_mel.mean(axis=2))
    np.testing.assert_allclose(table[:, 8:], log_mel.std(axis=2))
    mfcc = rng.normal(size=(4, 10, 5))  # (rows, frames, n_mfcc)
    np.testing.assert_allclose(tabular_view(mfcc, MFCC), np.hstack([mfcc.mean(axis=1), mfcc.std(axis=1)]))
    summary = rng.normal(size=(4, 57)).astype(np.float32)
    np.testing.assert_array_equal(tabular_view(summary, SUMMARY), summary)
    with pytest.raises(InputError, match="log_mel features"):
        tabular_view(summary, LOG_MEL)
    with pytest.raises(InputError, match="feature kind"):
        tabular_view(log_mel, "waveform")


def test_baselines_separate_clusters() -> None:
    x, y = blobs(rows_per_class=40, n_classes=3, columns=5, spread=1.0, seed=1)
    train = np.arange(len(y)) % 4 != 0
    scores = baseline_scores(x[train], y[train], x[~train], y[~train])
    assert set(scores) == {f"{name}_{metric}" for name in baselines.BASELINES for metric in baselines.BASELINE_METRICS}
    assert scores["logistic_regression_accuracy"] > 0.9
    assert scores["rbf_svm_accuracy"] > 0.9
    assert scores["rbf_svm_macro_f1"] > 0.9
    # every class has 30 training rows; the majority baseline predicts the first (class 0) for all test rows
    assert scores["majority_accuracy"] == pytest.approx(np.mean(y[~train] == 0))


def test_baselines_on_random_labels_score_near_chance() -> None:
    rng = np.random.default_rng(2)
    x = rng.normal(size=(800, 10))
    y = rng.integers(0, 4, size=800)
    scores = baseline_scores(x[:400], y[:400], x[400:], y[400:], seed=2)
    for name in baselines.BASELINES:
        assert 0.15 < scores[f"{name}_accuracy"] < 0.36, name  # chance is 0.25 (binomial sd ~0.022)


def test_baselines_on_log_mel_use_band_statistics() -> None:
    rng = np.random.default_rng(3)
    labels = np.repeat(np.arange(3), 30)
    log_mel = rng.normal(-40.0, 3.0, size=(len(labels), 16, 20))
    for label in range(3):  # each class is louder in its own bands
        log_mel[labels == label, 4 * label : 4 * label + 4, :] += 10.0
    train = np.arange(len(labels)) % 3 != 0
    scores = baseline_scores(log_mel[train], labels[train], log_mel[~train], labels[~train], kind=LOG_MEL)
    assert scores["logistic_regression_accuracy"] > 0.9
    assert scores["rbf_svm_accuracy"] > 0.9


def test_baselines_reject_unusable_input() -> None:
    x, y = blobs(rows_per_class=5, n_classes=2, columns=3, spread=1.0, seed=4)
    with pytest.raises(InputError, match="training labels: need at least two classes"):
        baseline_scores(x[:5], y[:5], x[5:], y[5:])
    with pytest.raises(InputError, match="test features"):
        baseline_scores(x, y, x[:, :2], y)
    x_nan = x.copy()
    x_nan[0, 0] = np.nan
    with pytest.raises(InputError, match="training features: contain NaN"):
        baseline_scores(x_nan, y, x, y)


def artist_dataset(seed: int = 5) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Tracks whose features mostly identify their artist: 4 classes x 6 artists x 5 tracks x 2 segments.

    Returns features (240, 6), labels, track ids and artist index (0..5 within each class).
    """
    rng = np.random.default_rng(seed)
    class_centres = rng.normal(0.0, 1.0, size=(4, 6))
    artist_offsets = rng.normal(0.0, 3.0, size=(4, 6, 6))
    rows = [
        (label, artist, track, segment)
        for label in range(4)
        for artist in range(6)
        for track in range(5)
        for segment in range(2)
    ]
    labels = np.array([row[0] for row in rows])
    artists = np.array([row[1] for row in rows])
    track_ids = np.array([f"c{label}.a{artist}.t{track}" for label, artist, track, _ in rows])
    features = class_centres[labels] + artist_offsets[labels, artists] + rng.normal(0.0, 0.5, size=(len(rows), 6))
    return features, labels, track_ids, artists


def test_compare_protocols_shows_artist_leakage() -> None:
    features, labels, track_ids, artists = artist_dataset()
    artist_folds = [(np.flatnonzero(artists // 2 != fold), np.flatnonzero(artists // 2 == fold)) for fold in range(3)]
    result = compare_protocols(features, labels, track_ids, artist_folds, seed=0)
    assert (result["n_folds"], result["seed"]) == (3, 0)
    for model in ("logistic_regression", "rbf_svm"):
        given = result["given"][f"{model}_accuracy"]
        random = result["random"][f"{model}_accuracy"]
        assert len(given["values"]) == len(random["values"]) == 3
        assert random["mean"] > given["mean"] + 0.2, model  # artists seen in training inflate the random split


def test_compare_protocols_random_folds_keep_tracks_together(monkeypatch: pytest.MonkeyPatch) -> None:
    features, labels, track_ids, artists = artist_dataset()
    given_folds = [(np.flatnonzero(artists // 2 != fold), np.flatnonzero(artists // 2 == fold)) for fold in range(3)]
    seen: list[tuple[np.ndarray, np.ndarray]] = []

    def record_rows(x_train, y_train, x_test, y_test, *, kind, seed):  # features carry their row index
        seen.append((x_train[:, 0].astype(int), x_test[:, 0].astype(int)))
        return {f"{name}_{metric}": 0.0 for name in baselines.BASELINES for metric in baselines.BASELINE_METRICS}

    monkeypatch.setattr(baselines, "baseline_scores", record_rows)
    row_index = np.arange(len(labels), dtype=float)[:, None]
    compare_protocols(row_index, labels, track_ids, given_folds, seed=0)
    assert len(seen) == 6
    for (train, test), (given_train, given_test) in zip(seen[:3], given_folds):
        np.testing.assert_array_equal(train, given_train)
        np.testing.assert_array_equal(test, given_test)
    random_tests = [test for _, test in seen[3:]]
    np.testing.assert_array_equal(np.sort(np.concatenate(random_tests)), np.arange(len(labels)))  # a partition
    for train, test in seen[3:]:
        assert not set(track_ids[train]) & set(track_ids[test])  # no track on both sides
        np.testing.assert_array_equal(np.bincount(labels[test]), [20, 20, 20, 20])  # stratified: 10 tracks per class


def test_compare_protocols_needs_two_folds() -> None:
    features, labels, track_ids, _ = artist_dataset()
    with pytest.raises(InputError, match="at least two"):
        compare_protocols(features, labels, track_ids, [(np.arange(100), np.arange(100, 240))])


def read_fold(path: Path, row_of_file: dict[str, int]) -> np.ndarray:
    """Rows of the Kaggle table listed in a Sturm fold file (``./blues_00000.wav<TAB>genre``)."""
    names = [line.split("\t")[0] for line in path.read_text().splitlines() if line.strip()]
    return np.array([row_of_file[name.removeprefix("./").replace("_", ".")] for name in names])


@pytest.mark.slow
def test_compare_protocols_reproduces_gtzan_leakage(gtzan_csv: Path, sturm_split_dir: Path) -> None:
    table = pd.read_csv(gtzan_csv)
    files = table["filename"].to_numpy(dtype=str)
    genres = table["label"].to_numpy(dtype=str)
    class_names, labels = np.unique(genres, return_inverse=True)
    features = table.drop(columns=["filename", "length", "label"]).to_numpy(dtype=np.float64)
    assert features.shape == (1000, 57) and len(class_names) == 10
    row_of_file = {name: row for row, name in enumerate(files)}
    folds = [
        tuple(read_fold(sturm_split_dir / f"f{k}_{part}.txt", row_of_file) for part in ("train", "evaluate"))
        for k in (1, 2, 3)
    ]
    track_ids = np.char.replace(files, ".wav", "")

    result = compare_protocols(features, labels, track_ids, folds, seed=0)

    accuracy = {
        (protocol, model): result[protocol][f"{model}_accuracy"]["mean"]
        for protocol in ("given", "random")
        for model in ("logistic_regression", "rbf_svm")
    }
    # measured reference figures (artist-filtered 3-fold vs random stratified 3-fold), within 3 points
    assert accuracy["given", "logistic_regression"] == pytest.approx(0.525, abs=0.03)
    assert accuracy["given", "rbf_svm"] == pytest.approx(0.483, abs=0.03)
    assert accuracy["random", "logistic_regression"] == pytest.approx(0.685, abs=0.03)
    assert accuracy["random", "rbf_svm"] == pytest.approx(0.733, abs=0.03)
    assert result["given"]["majority_accuracy"]["mean"] == pytest.approx(0.1, abs=0.02)

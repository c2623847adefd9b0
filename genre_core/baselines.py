"""Reference scores from simple scikit-learn classifiers, and the leakage a random split hides.

Every trained model is shown beside three baselines fitted on the same training rows: the majority
class, a logistic regression and an RBF support-vector machine (both on standardised features).
`compare_protocols` runs them on given folds (e.g. the artist-filtered GTZAN folds) and on a random
stratified k-fold of the same tracks, which shows how much a split that ignores artists inflates scores.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from sklearn.dummy import DummyClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedKFold
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.svm import SVC

from genre_core.config import LOG_MEL, MFCC, SUMMARY
from genre_core.errors import InputError
from genre_core.evaluation import classification_metrics, cross_validation_summary, index_tracks

#: Names of the baselines, the prefixes of the keys `baseline_scores` returns.
MAJORITY = "majority"
LOGISTIC_REGRESSION = "logistic_regression"
RBF_SVM = "rbf_svm"
BASELINES = (MAJORITY, LOGISTIC_REGRESSION, RBF_SVM)
#: Metrics reported per baseline: keys are ``f"{baseline}_{metric}"``.
BASELINE_METRICS = ("accuracy", "macro_f1")
#: Regularisation of the RBF SVM. C=10 reproduces the reference figures on the Kaggle GTZAN table
#: (artist-filtered 3-fold 48.3 %, random 3-fold 73.3 %); scikit-learn's default C=1 scores ~1.7 points less.
SVM_C = 10.0

#: Axis holding time in each 3-D feature kind (see `genre_core.config`).
_TIME_AXIS = {LOG_MEL: 2, MFCC: 1}


def tabular_view(x: np.ndarray, kind: str = SUMMARY) -> np.ndarray:
    """One row of numbers per example, for classifiers that need a table.

    Args:
        x: features of one kind: ``summary`` (rows, d) is returned as is; ``log_mel`` (rows, n_mels, frames)
            and ``mfcc`` (rows, frames, n_mfcc) are summarised per band/coefficient by the mean and the
            standard deviation over time.
        kind: the feature kind of ``x`` (`genre_core.config.FEATURE_KINDS`).

    Returns:
        (rows, d) float64: d = columns for summary, 2 * bands for the others (all means, then all stds).
    """
    x = np.asarray(x, dtype=np.float64)
    if kind == SUMMARY:
        if x.ndim != 2:
            raise InputError(f"{kind} features", f"expected shape (rows, columns), got {x.shape}")
        return x
    if kind not in _TIME_AXIS:
        raise InputError("feature kind", f"unknown kind {kind!r}")
    if x.ndim != 3:
        raise InputError(f"{kind} features", f"expected 3 dimensions (rows, ..., ...), got shape {x.shape}")
    time_axis = _TIME_AXIS[kind]
    return np.concatenate([x.mean(axis=time_axis), x.std(axis=time_axis)], axis=1)


def _baseline_models(seed: int) -> dict[str, Pipeline | DummyClassifier]:
    """Fresh, unfitted baseline classifiers keyed by name."""
    return {
        MAJORITY: DummyClassifier(strategy="most_frequent"),
        LOGISTIC_REGRESSION: make_pipeline(StandardScaler(), LogisticRegression(max_iter=2000, random_state=seed)),
        RBF_SVM: make_pipeline(StandardScaler(), SVC(kernel="rbf", C=SVM_C, random_state=seed)),
    }


def _check_table(name: str, x: np.ndarray, y: np.ndarray, kind: str) -> tuple[np.ndarray, np.ndarray]:
    """Tabular view of ``x`` and int labels ``y``; InputError on mismatched rows, no rows or non-finite values."""
    table = tabular_view(x, kind)
    y = np.asarray(y)
    if y.ndim != 1 or len(y) != len(table):
        raise InputError(f"{name} labels", f"expected {len(table)} labels (one per row), got shape {y.shape}")
    if len(y) == 0:
        raise InputError(f"{name} features", "no rows")
    if not np.issubdtype(y.dtype, np.integer) or y.min() < 0:
        raise InputError(f"{name} labels", "expected non-negative integer class indices")
    if not np.all(np.isfinite(table)):
        raise InputError(f"{name} features", "contain NaN or infinite values")
    return table, y


def baseline_scores(
    x_train: np.ndarray,
    y_train: np.ndarray,
    x_test: np.ndarray,
    y_test: np.ndarray,
    *,
    kind: str = SUMMARY,
    seed: int = 0,
) -> dict[str, float]:
    """Test accuracy and macro F1 of each baseline, fitted on the training rows only.

    Args:
        x_train, x_test: features of one ``kind`` (see `tabular_view`), (rows, ...).
        y_train, y_test: (rows,) int class indices; training needs at least two classes.
        seed: ``random_state`` of the estimators (fitting is deterministic with these settings).

    Returns:
        ``{f"{baseline}_{metric}": float}`` for baselines `BASELINES` and metrics `BASELINE_METRICS`,
        e.g. ``"logistic_regression_accuracy"``; macro F1 as in `classification_metrics`.
    """
    x_train, y_train = _check_table("training", x_train, y_train, kind)
    x_test, y_test = _check_table("test", x_test, y_test, kind)
    if x_train.shape[1] != x_test.shape[1]:
        raise InputError("test features", f"{x_test.shape[1]} columns, training features have {x_train.shape[1]}")
    if len(np.unique(y_train)) < 2:
        raise InputError("training labels", "need at least two classes")
    class_names = [str(index) for index in range(int(max(y_train.max(), y_test.max())) + 1)]
    scores = {}
    for name, model in _baseline_models(seed).items():
        metrics = classification_metrics(y_test, model.fit(x_train, y_train).predict(x_test), class_names)
        for metric in BASELINE_METRICS:
            scores[f"{name}_{metric}"] = metrics[metric]
    return scores


def compare_protocols(
    features: np.ndarray,
    labels: np.ndarray,
    track_ids: np.ndarray,
    groups_split: Sequence[tuple[np.ndarray, np.ndarray]],
    *,
    kind: str = SUMMARY,
    seed: int = 0,
) -> dict[str, Any]:
    """Baseline scores on given folds versus a random split with as many folds.

    The ``"given"`` protocol fits and scores on each ``(train_rows, test_rows)`` of ``groups_split``
    (e.g. the artist-filtered folds). The ``"random"`` protocol is what a naive split does: a stratified,
    shuffled (``seed``) k-fold over all tracks of ``features``, k = ``len(groups_split)``, the segments
    of a track kept together, so the two protocols differ only in how tracks are grouped into folds.

    Args:
        features: (rows, ...) features of one ``kind``, e.g. the (rows, 57) Kaggle summary table.
        labels: (rows,) int classes. track_ids: (rows,) str track of each row.
        groups_split: two or more folds of (train, test) int row indices.

    Returns:
        ``{"given": summary, "random": summary, "n_folds": k, "seed": seed}`` where each summary is
        `cross_validation_summary` of the per-fold `baseline_scores` over all their keys
        (``summary["logistic_regression_accuracy"]["mean"]`` is the mean accuracy over folds).
    """
    if len(groups_split) < 2:
        raise InputError("folds", f"need at least two (train, test) folds, got {len(groups_split)}")
    features, labels = np.asarray(features), np.asarray(labels)
    _, row_track, track_labels = index_tracks(track_ids, labels)
    n_folds = len(groups_split)
    if np.bincount(track_labels).max() < n_folds:
        raise InputError("labels", f"no class has the {n_folds} tracks a stratified {n_folds}-fold split needs")
    k_fold = StratifiedKFold(n_splits=n_folds, shuffle=True, random_state=seed)
    random_split = [
        (np.flatnonzero(np.isin(row_track, train_tracks)), np.flatnonzero(np.isin(row_track, test_tracks)))
        for train_tracks, test_tracks in k_fold.split(np.zeros(len(track_labels)), track_labels)
    ]
    keys = [f"{name}_{metric}" for name in BASELINES for metric in BASELINE_METRICS]
    summaries = {}
    for protocol, folds in (("given", groups_split), ("random", random_split)):
        fold_scores = [
            baseline_scores(features[train], labels[train], features[test], labels[test], kind=kind, seed=seed)
            for train, test in folds
        ]
        summaries[protocol] = cross_validation_summary(fold_scores, keys=keys)
    return {**summaries, "n_folds": n_folds, "seed": seed}

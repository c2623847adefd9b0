"""Tables about trained models (pandas, for the pages, the reports and CSV downloads): scores per part, per
class, against the baselines and per split protocol, with the headers they are shown under.

Pure functions from plain values (`genre_core.evaluation.EvaluationReport`, score dicts of
`genre_core.baselines`) to `pandas.DataFrame`; fractions stay fractions (shown as percentages). Nothing here
imports TensorFlow, Streamlit or plotly.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from genre_core.baselines import BASELINES, LOGISTIC_REGRESSION, MAJORITY, RBF_SVM
from genre_core.evaluation import MAJORITY_VOTE, MEAN_PROBABILITY, EvaluationReport

#: How the figures and tables name the baselines of `genre_core.baselines`.
BASELINE_LABELS = {MAJORITY: "majority class", LOGISTIC_REGRESSION: "logistic regression", RBF_SVM: "RBF SVM"}
#: Columns of `metrics_table` besides the part and its size, in `classification_metrics` key order.
SUMMARY_METRICS = (
    "accuracy",
    "macro_precision",
    "macro_recall",
    "macro_f1",
    "weighted_precision",
    "weighted_recall",
    "weighted_f1",
)
#: Track-level accuracy columns of `metrics_table`.
TRACK_ACCURACY_COLUMNS = tuple(f"track_accuracy_{method}" for method in (MEAN_PROBABILITY, MAJORITY_VOTE))
#: Columns of `metrics_table` that hold fractions (to be shown as percentages).
FRACTION_COLUMNS = (*SUMMARY_METRICS, *TRACK_ACCURACY_COLUMNS)
#: Columns of the tables here that count things (every other numeric column is a fraction, shown as a percentage).
COUNT_COLUMNS = ("segments", "tracks", "support")
#: Column of a table here -> its header on screen (the tables keep the short names for CSV files and code).
COLUMN_HEADERS = {
    "part": "Part", "segments": "Segments", "tracks": "Tracks", "class": "Genre", "support": "Segments",
    "classifier": "Classifier", "baseline": "Baseline",
    "accuracy": "Accuracy", "precision": "Precision", "recall": "Recall", "f1": "F1",
    "macro_precision": "Precision (macro)", "macro_recall": "Recall (macro)", "macro_f1": "F1 (macro)",
    "weighted_precision": "Precision (weighted)", "weighted_recall": "Recall (weighted)",
    "weighted_f1": "F1 (weighted)",
    f"track_accuracy_{MEAN_PROBABILITY}": "Track accuracy (mean probability)",
    f"track_accuracy_{MAJORITY_VOTE}": "Track accuracy (majority vote)",
    "given_mean": "Given folds: mean", "given_std": "Given folds: std", "random_mean": "Random folds: mean",
    "random_std": "Random folds: std", "gap": "Gap (random − given)",
}
PER_CLASS_METRICS = ("precision", "recall", "f1")


def metrics_table(report: EvaluationReport) -> pd.DataFrame:
    """One row per part: ``part``, ``segments``, ``tracks``, then `SUMMARY_METRICS` (segment level) and the
    track-level accuracies `TRACK_ACCURACY_COLUMNS` (mean probability, majority vote)."""
    rows = []
    for name, part in report.parts.items():
        row: dict[str, Any] = {"part": name, "segments": part.rows, "tracks": part.tracks}
        row.update({metric: float(part.segment_metrics[metric]) for metric in SUMMARY_METRICS})
        for column, method in zip(TRACK_ACCURACY_COLUMNS, (MEAN_PROBABILITY, MAJORITY_VOTE)):
            row[column] = float(part.track_metrics[method]["accuracy"])
        rows.append(row)
    return pd.DataFrame(rows, columns=["part", "segments", "tracks", *FRACTION_COLUMNS])


def per_class_table(per_class: Mapping[str, Mapping[str, Any]]) -> pd.DataFrame:
    """One row per class: ``class``, ``precision``, ``recall``, ``f1``, ``support`` (rows of the class)."""
    return pd.DataFrame(
        [{"class": name, **{key: scores[key] for key in (*PER_CLASS_METRICS, "support")}}
         for name, scores in per_class.items()],
        columns=["class", *PER_CLASS_METRICS, "support"],
    )


def baselines_table(
    model_name: str, model_metrics: Mapping[str, float], baselines: Mapping[str, float]
) -> pd.DataFrame:
    """The model and each baseline with its test ``accuracy`` and ``macro_f1`` (the `BASELINE_METRICS`
    of `genre_core.baselines`), one row each, the model first."""
    rows = [{"classifier": model_name, "accuracy": model_metrics["accuracy"], "macro_f1": model_metrics["macro_f1"]}]
    for baseline in BASELINES:
        if f"{baseline}_accuracy" in baselines:
            rows.append({
                "classifier": BASELINE_LABELS[baseline],
                "accuracy": baselines[f"{baseline}_accuracy"],
                "macro_f1": baselines.get(f"{baseline}_macro_f1", np.nan),
            })
    return pd.DataFrame(rows, columns=["classifier", "accuracy", "macro_f1"])


def protocol_table(comparison: Mapping[str, Any], *, metric: str = "accuracy") -> pd.DataFrame:
    """One row per baseline: mean and standard deviation of ``metric`` over the given folds and over the
    random folds of `genre_core.baselines.compare_protocols`, and the gap (random minus given)."""
    rows = []
    for baseline in BASELINES:
        key = f"{baseline}_{metric}"
        if key in comparison["given"] and key in comparison["random"]:
            given, random = comparison["given"][key], comparison["random"][key]
            rows.append({
                "baseline": BASELINE_LABELS[baseline],
                "given_mean": given["mean"], "given_std": given["std"],
                "random_mean": random["mean"], "random_std": random["std"],
                "gap": random["mean"] - given["mean"],
            })
    return pd.DataFrame(rows, columns=["baseline", "given_mean", "given_std", "random_mean", "random_std", "gap"])

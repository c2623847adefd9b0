"""Tests of `genre_core.reports`: a bundle scored per part beside the baselines, cross-validation over
folds, and the bundle's own split rebuilt from its track ids."""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import pytest
from helpers import tiny_dataset, tiny_split

from genre_core import baselines, bundles, reports, training
from genre_core.config import SUMMARY
from genre_core.dataset import Dataset
from genre_core.errors import InputError
from genre_core.evaluation import EvaluationReport, MEAN_PROBABILITY
from genre_core.splits import Split, grouped_kfold, leaky_split
from genre_core.train_config import TrainConfig

CONFIG = TrainConfig(preset="ffn_mfcc", epochs=3, batch_size=8, hyper={"hidden": [16]})


@pytest.fixture(scope="module")
def dataset() -> Dataset:
    return tiny_dataset(rows=60)


@pytest.fixture(scope="module")
def bundle(dataset: Dataset) -> bundles.ModelBundle:
    result = training.train_model(dataset, tiny_split(60), CONFIG)
    return bundles.bundle_from_training(result, dataset, name="tiny-ffn")


def test_evaluate_bundle_scores_every_part_beside_the_baselines(bundle, dataset):
    split = tiny_split(60)
    evaluation = reports.evaluate_bundle(bundle, dataset, split, seed=3)
    report = json.loads(json.dumps(evaluation.to_dict()))
    assert reports.BundleEvaluation.from_dict(report).to_dict() == report  # the JSON form reads back
    assert evaluation.test.accuracy == report["test"]["accuracy"] and evaluation.split.tracks["test"] == 5

    assert report["model"] == "tiny-ffn" and report["dataset"] == dataset.source and report["warnings"] == []
    assert {part: values["rows"] for part, values in report["parts"].items()} == {"train": 40, "val": 10, "test": 10}
    assert report["split"]["tracks"] == {"train": 20, "val": 5, "test": 5} and report["split"]["leaky"] is False
    probabilities = bundle.predict_proba(dataset.features[SUMMARY][split.test])
    accuracy = float(np.mean(probabilities.argmax(axis=1) == dataset.labels[split.test]))
    assert report["test"]["accuracy"] == pytest.approx(accuracy)
    assert report["test"]["track_accuracy"] == report["parts"]["test"]["track_metrics"][MEAN_PROBABILITY]["accuracy"]
    fit = np.concatenate([split.train, split.val])
    expected = baselines.baseline_scores(
        dataset.features[SUMMARY][fit], dataset.labels[fit], dataset.features[SUMMARY][split.test],
        dataset.labels[split.test], seed=3,
    )
    assert report["baselines"] == pytest.approx(expected)
    assert EvaluationReport.from_dict(report).parts["test"].confusion.sum() == 10


def test_rows_outside_the_split_are_not_scored_and_warnings_are_given(bundle, dataset):
    split = Split(train=np.arange(0, 30), val=np.array([], dtype=np.int64), test=np.arange(50, 56), protocol="grouped")
    synthetic = dataclasses.replace(dataset, synthetic=True)

    report = reports.evaluate_bundle(bundle, synthetic, split, with_baselines=False)

    assert list(report.report.parts) == ["train", "test"] and report.report.parts["test"].rows == 6
    assert report.baselines is None
    assert report.warnings == ("synthetic data: scores on generated audio say nothing about real music",)
    leaky = reports.evaluate_bundle(bundle, dataset, leaky_split(dataset, seed=1))
    assert leaky.split.leaky is True and leaky.warnings[0].startswith("leaky split: segment-level random")
    no_test = Split(train=np.arange(40), val=np.arange(40, 50), test=np.array([], dtype=np.int64), protocol="grouped")
    empty = reports.evaluate_bundle(bundle, dataset, no_test)
    assert empty.test is None and empty.baselines is None and "no test rows" in empty.warnings[0]
    assert reports.BundleEvaluation.from_dict(empty.to_dict()).to_dict() == empty.to_dict()
    with pytest.raises(InputError, match="evaluation: malformed"):
        reports.BundleEvaluation.from_dict({**empty.to_dict(), "split": {"protocol": "grouped"}})


def test_a_bundle_cannot_score_a_dataset_with_other_classes(bundle, dataset):
    renamed = dataclasses.replace(dataset, class_names=["a", "b", "c"])
    with pytest.raises(InputError, match="tiny-test-data: classes"):
        reports.evaluate_bundle(bundle, renamed, tiny_split(60))


@pytest.mark.slow
def test_cross_validate_trains_and_scores_each_fold(dataset):
    folds = grouped_kfold(dataset, k=2, seed=0, val_fraction=0.2)
    seen: set[tuple[int, int]] = set()

    scored: list[int] = []
    typed = reports.cross_validate(dataset, folds, CONFIG, progress=lambda fold, n, state: seen.add((fold, n)),
                                   on_fold=lambda fold: scored.append(fold.fold))
    result = json.loads(json.dumps(typed.to_dict()))

    assert seen == {(1, 2), (2, 2)} and scored == [1, 2] and len(result["folds"]) == 2
    for fold, split in zip(typed.folds, folds, strict=True):  # the test tracks, each counted once
        assert fold.track_confusion.sum() == len(np.unique(dataset.track_ids[split.test])) and fold.train_seconds > 0
        assert np.trace(fold.track_confusion) / fold.track_confusion.sum() == pytest.approx(fold.test.track_accuracy)
    assert result["train_config"] == CONFIG.to_dict() and result["warnings"] == []
    accuracies = [fold["test"]["accuracy"] for fold in result["folds"]]
    assert result["summary"]["test"]["accuracy"]["values"] == accuracies
    assert result["summary"]["test"]["accuracy"]["mean"] == pytest.approx(np.mean(accuracies))
    assert result["summary"]["test"]["accuracy"]["std"] == pytest.approx(np.std(accuracies, ddof=1))
    assert result["summary"]["val"]["accuracy"]["values"] == [fold["val_accuracy"] for fold in result["folds"]]
    svm = [fold["baselines"]["rbf_svm_accuracy"] for fold in result["folds"]]
    assert result["summary"]["baselines"]["rbf_svm_accuracy"]["values"] == svm
    assert all(fold["epochs_run"] == CONFIG.epochs for fold in result["folds"])
    assert [fold["split"]["rows"]["test"] for fold in result["folds"]] == [len(fold.test) for fold in folds]
    with pytest.raises(InputError, match="every fold needs test rows"):
        reports.cross_validate(dataset, [dataclasses.replace(folds[0], test=np.array([], dtype=np.int64))], CONFIG)


def test_the_bundle_split_is_rebuilt_from_its_track_ids(bundle, dataset):
    original = tiny_split(60)

    rebuilt = reports.split_from_description(dataset, bundle.split_description)

    for part in reports.PARTS:
        np.testing.assert_array_equal(getattr(rebuilt, part), getattr(original, part))
    assert rebuilt.protocol == "grouped" and rebuilt.details["unlisted_rows"] == 0
    assert rebuilt.details["rebuilt_from_track_ids"] is True
    without_test = dataset.subset(np.arange(50))
    with pytest.raises(InputError, match="none of the model's test tracks"):
        reports.split_from_description(without_test, bundle.split_description)
    with pytest.raises(InputError, match="leaky"):
        reports.split_from_description(dataset, {**bundle.split_description, "protocol": "leaky"})

"""The lesson engine: both sides on the same grouped folds, every track tested once, track-level scores and
confusion counts, a JSON round trip, and the measured lesson read back from a bundle without loading it."""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import pytest
from helpers import tiny_dataset

from genre_core import lesson
from genre_core.config import SUMMARY
from genre_core.errors import InputError
from genre_core.train_config import TrainConfig

ROWS = 60  #: 30 tracks of 2 windows, 3 classes
pytestmark = pytest.mark.slow  # six small trainings


@pytest.fixture(scope="module")
def result() -> lesson.LessonResult:
    weak = tiny_dataset(ROWS, seed=1)
    weak = dataclasses.replace(weak, features={SUMMARY: np.random.default_rng(3).normal(size=(ROWS, 57)).astype(
        np.float32)})  # noise: nothing to learn
    strong = tiny_dataset(ROWS, seed=1)  # the same tracks, with class-dependent features
    config = TrainConfig(preset="ffn_mfcc", hyper={"hidden": [16]}, epochs=8, learning_rate=0.02, seed=0)
    return lesson.compare(weak, config, strong, config, folds=3, log=lambda line: None)


def test_every_track_is_tested_once_on_both_sides(result):
    assert result.folds == 3 and result.tracks == ROWS // 2
    for side in (result.scratch, result.transfer):
        confusion = np.asarray(side.confusion)
        assert confusion.shape == (3, 3) and confusion.sum() == ROWS // 2
        assert len(side.track_accuracy) == 3 and len(side.train_seconds) == 3
        assert all(0.0 <= value <= 1.0 for value in side.track_accuracy)
        assert np.trace(confusion) / confusion.sum() == pytest.approx(np.mean(side.track_accuracy), abs=0.1)


def test_the_side_with_something_to_learn_wins(result):
    assert result.transfer.mean_accuracy > 0.9
    assert result.gain_points == pytest.approx(100 * (result.transfer.mean_accuracy - result.scratch.mean_accuracy))
    assert result.gain_points > 20


def test_round_trip_and_reading_it_back_from_a_bundle_folder(result, tmp_path):
    values = json.loads(json.dumps(result.to_dict()))
    assert lesson.LessonResult.from_dict(values) == result
    (tmp_path / "bundle.json").write_text(json.dumps({"metrics": {"lesson": values}}))
    assert lesson.shipped_lesson(tmp_path) == result
    (tmp_path / "bundle.json").write_text(json.dumps({"metrics": {}}))
    assert lesson.shipped_lesson(tmp_path) is None
    assert lesson.shipped_lesson(tmp_path / "missing") is None


def test_datasets_with_other_tracks_or_classes_are_refused():
    config = TrainConfig(preset="ffn_mfcc", epochs=1)
    first = tiny_dataset(ROWS)
    renamed = dataclasses.replace(first, track_ids=np.char.add(first.track_ids, "x"))
    with pytest.raises(InputError, match="other tracks"):
        lesson.compare(first, config, renamed, config, folds=3)
    other_classes = dataclasses.replace(first, class_names=["a", "b", "c"])
    with pytest.raises(InputError, match="different classes"):
        lesson.compare(first, config, other_classes, config, folds=3)

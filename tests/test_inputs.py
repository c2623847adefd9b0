"""Tests of `genre_core.inputs`: the layout rule (log-mel rows get a channel axis, the others keep their shape),
the `Standardizer`, and model inputs from a dataset."""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import pytest
from helpers import tiny_dataset

from genre_core import inputs
from genre_core.config import LOG_MEL, MFCC, SUMMARY
from genre_core.dataset import Dataset
from genre_core.errors import InputError
from genre_core.inputs import Standardizer


@pytest.fixture(scope="module")
def dataset() -> Dataset:
    return tiny_dataset()


def test_only_log_mel_gets_a_channel_axis_and_the_rule_inverts() -> None:
    assert inputs.input_shape(LOG_MEL, (128, 130)) == (128, 130, 1)
    assert inputs.input_shape(SUMMARY, (57,)) == (57,) and inputs.input_shape(MFCC, (130, 20)) == (130, 20)
    for kind, shape in ((LOG_MEL, (16, 20)), (SUMMARY, (57,)), (MFCC, (20, 13))):
        assert inputs.feature_shape(kind, inputs.input_shape(kind, shape)) == shape
        batch = np.zeros((3, *shape), dtype=np.float32)
        assert inputs.with_channel_axis(batch, kind).shape == (3, *inputs.input_shape(kind, shape))


@pytest.mark.parametrize(("kind", "stat_axes"), [(SUMMARY, (0,)), (LOG_MEL, (0, 2)), (MFCC, (0, 1))])
def test_standardizer_scales_each_width_to_zero_mean_unit_std(
    dataset: Dataset, kind: str, stat_axes: tuple[int, ...]
) -> None:
    features = dataset.features[kind]
    standardizer = Standardizer.fit(features, kind)
    scaled = standardizer.transform(features)
    assert scaled.shape == features.shape and scaled.dtype == np.float32
    np.testing.assert_allclose(scaled.mean(axis=stat_axes), 0.0, atol=1e-4)
    np.testing.assert_allclose(scaled.std(axis=stat_axes), 1.0, atol=1e-4)
    assert standardizer.width == features.shape[1 if kind != MFCC else 2]


def test_standardizer_guards_constant_widths_and_round_trips(dataset: Dataset) -> None:
    features = dataset.features[SUMMARY].copy()
    features[:, 3] = 5.0
    standardizer = Standardizer.fit(features, SUMMARY)
    scaled = standardizer.transform(features)
    assert np.all(np.isfinite(scaled)) and np.all(scaled[:, 3] == 0.0)
    restored = Standardizer.from_dict(json.loads(json.dumps(standardizer.to_dict())))
    np.testing.assert_array_equal(restored.transform(features), scaled)


@pytest.mark.parametrize(
    ("action", "message"),
    [
        (lambda s, f: s.transform(f[:, :50]), "width 50"),
        (lambda s, f: s.transform(f[:, :, None]), "must be"),
        (lambda s, f: Standardizer.fit(np.full((3, 57), np.nan), SUMMARY), "NaN"),
        (lambda s, f: Standardizer.fit(f[:0], SUMMARY), "0 rows"),
        (lambda s, f: Standardizer.from_dict({**s.to_dict(), "std": [0.0] * 57}), "std > 0"),
        (lambda s, f: Standardizer.from_dict({"mean": [1.0]}), "malformed"),
    ],
)
def test_standardizer_rejects_bad_input(dataset: Dataset, action, message: str) -> None:
    features = dataset.features[SUMMARY]
    with pytest.raises(InputError, match=message):
        action(Standardizer.fit(features, SUMMARY), features)


def test_model_inputs_add_the_channel_axis_for_log_mel_only(dataset: Dataset) -> None:
    log_mel = inputs.model_inputs(dataset, LOG_MEL)
    assert log_mel.shape == (48, 16, 20, 1) and log_mel.dtype == np.float32
    np.testing.assert_array_equal(log_mel[..., 0], dataset.features[LOG_MEL])
    assert inputs.model_inputs(dataset, MFCC).shape == (48, 20, 13)
    standardizer = Standardizer.fit(dataset.features[SUMMARY], SUMMARY)
    np.testing.assert_array_equal(
        inputs.model_inputs(dataset, SUMMARY, standardizer), standardizer.transform(dataset.features[SUMMARY])
    )
    with pytest.raises(InputError, match="is for summary"):
        inputs.model_inputs(dataset, MFCC, standardizer)
    summary_only = dataclasses.replace(dataset, features={SUMMARY: dataset.features[SUMMARY]})
    with pytest.raises(InputError, match="tiny-test-data: has no 'log_mel' features"):
        inputs.model_inputs(summary_only, LOG_MEL)

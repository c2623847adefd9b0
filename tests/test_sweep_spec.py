"""Sweep settings by name: parsing ``NAME=V1,V2``, where each setting goes, the points and their configs, JSON round
trips, and every point checked (configs and models) before any training."""

from __future__ import annotations

import pytest

from genre_core.config import FeatureConfig
from genre_core.errors import InputError
from genre_core.sweep_spec import (
    FEATURES,
    HYPER,
    TRAIN,
    SweepSpec,
    fixed_settings,
    make_axis,
    parse_value,
    parse_vary,
    setting_target,
    sweepable_settings,
)
from genre_core.train_job import DatasetSource

SOURCE = DatasetSource("demo", FeatureConfig(segments_per_track=5))


def test_values_parse_as_json_where_they_can() -> None:
    assert [parse_value(text) for text in ("0.01", "32", "true", "none", "null", "relu", "[64, 32]")] == [
        0.01, 32, True, None, None, "relu", [64, 32]]
    axis = parse_vary("hidden=[64],[128,64]", "ffn_mfcc")
    assert (axis.name, axis.target, axis.values) == ("hidden", HYPER, ([64], [128, 64]))


def test_settings_are_addressed_by_their_owners_names() -> None:
    assert setting_target("learning_rate", "ffn_mfcc") == TRAIN and setting_target("epochs", "cnn_small") == TRAIN
    assert setting_target("dropout", "ffn_mfcc") == HYPER and setting_target("filters", "cnn_small") == HYPER
    assert setting_target("n_mels", "cnn_small") == FEATURES
    assert "preset" not in sweepable_settings("ffn_mfcc") and "hyper" not in sweepable_settings("ffn_mfcc")
    assert "n_mels" not in sweepable_settings("transfer_vgg")  # its pretrained network fixes its input
    with pytest.raises(InputError, match="setting 'kernel_size': is not a setting of preset ffn_mfcc; known: "):
        setting_target("kernel_size", "ffn_mfcc")


@pytest.mark.parametrize(("text", "message"), [
    ("learning_rate", "expected NAME=V1,V2"),
    ("learning_rate=0.1", "give between 2 and 12 values, got 1"),
    ("batch_size=32,64, 32", "value 32 is given twice"),
    ("=1,2", "expected NAME=V1,V2"),
])
def test_malformed_vary_is_an_input_error(text: str, message: str) -> None:
    with pytest.raises(InputError, match=message):
        parse_vary(text, "ffn_mfcc")


def test_points_cross_two_settings_first_slowest_with_their_configs() -> None:
    spec = SweepSpec(SOURCE, {"preset": "ffn_mfcc", "epochs": 3, "hyper": {"hidden": [8]}},
                     (make_axis("dropout", (0.0, 0.5), "ffn_mfcc"), make_axis("n_mfcc", (13, 20), "ffn_mfcc")),
                     folds=3, seed=9)
    points = spec.points()
    assert [point.label for point in points] == ["dropout=0.0, n_mfcc=13", "dropout=0.0, n_mfcc=20",
                                                 "dropout=0.5, n_mfcc=13", "dropout=0.5, n_mfcc=20"]
    assert points[3].train_config == {"preset": "ffn_mfcc", "epochs": 3, "seed": 9,
                                      "hyper": {"hidden": [8], "dropout": 0.5}}
    assert points[3].feature_config == FeatureConfig(segments_per_track=5, n_mfcc=20)
    assert len({point.key for point in points}) == 4
    assert SweepSpec.from_dict(spec.to_dict()) == spec and SweepSpec.from_dict(spec.to_dict()).fingerprint == (
        spec.fingerprint)
    renamed = SweepSpec(**{**spec.__dict__, "dataset_title": "another title"})
    assert renamed.fingerprint == spec.fingerprint


def test_check_builds_every_model_and_names_the_bad_point() -> None:
    good = SweepSpec(SOURCE, {"preset": "cnn_small"}, (make_axis("n_mels", (32, 64), "cnn_small"),), folds=2)
    assert len(good.check()) == 2
    too_small = SweepSpec(SOURCE, {"preset": "cnn_small", "hyper": {"filters": [4, 8, 16, 32, 64, 128]}},
                          (make_axis("n_mels", (32, 64), "cnn_small"),), folds=2)
    with pytest.raises(InputError, match="sweep point n_mels=32: .*too small"):
        too_small.check()
    activation = SweepSpec(SOURCE, {"preset": "ffn_mfcc"}, (make_axis("activation", ("relu", "wobble"), "ffn_mfcc"),))
    with pytest.raises(InputError, match="sweep point activation=wobble: .*Keras activation"):
        activation.check()
    with pytest.raises(InputError, match="at most 48"):
        SweepSpec(SOURCE, {"preset": "ffn_mfcc"}, (make_axis("seed", tuple(range(12)), "ffn_mfcc"),
                                                  make_axis("epochs", (1, 2, 3, 4, 5), "ffn_mfcc"))).check()
    with pytest.raises(InputError, match="goes to hyper, not train"):
        SweepSpec(SOURCE, {"preset": "ffn_mfcc"}, (make_axis("dropout", (0.1, 0.2), "ffn_mfcc").__class__(
            "dropout", TRAIN, (0.1, 0.2)),)).check()


def test_fixed_settings_go_where_their_names_say() -> None:
    fixed = fixed_settings(["epochs=5", " dropout = 0.2", "hidden=[64, 32]", "n_mfcc=13"], "ffn_mfcc")
    assert fixed.train_config == {"preset": "ffn_mfcc", "epochs": 5, "hyper": {"dropout": 0.2, "hidden": [64, 32]}}
    assert fixed.feature_config(FeatureConfig(n_mels=64)) == FeatureConfig(n_mels=64, n_mfcc=13)
    with pytest.raises(InputError, match="fixed setting epochs: expected NAME=VALUE"):
        fixed_settings(["epochs"], "ffn_mfcc", source="fixed setting")
    with pytest.raises(InputError, match="setting 'filters': is not a setting of preset ffn_mfcc"):
        fixed_settings(["filters=[4]"], "ffn_mfcc")
    with pytest.raises(InputError, match="FeatureConfig.n_mfcc"):
        fixed_settings(["n_mfcc=0"], "ffn_mfcc").feature_config(FeatureConfig())

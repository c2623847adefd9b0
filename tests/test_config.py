import json

import pytest

from genre_core.config import FeatureConfig
from genre_core.errors import InputError


def test_defaults_give_the_documented_frame_widths():
    config = FeatureConfig()
    assert config.segment_seconds == pytest.approx(3.0)
    assert config.segment_samples == 66150
    assert config.frames_per_segment == 130
    whole_track = FeatureConfig(segments_per_track=1)
    assert whole_track.frames_per_segment == 1292  # a 30 s clip at hop 512 gives 1292 frames, not 1293


def test_json_round_trip_and_fingerprint():
    config = FeatureConfig(n_mfcc=13, segments_per_track=5)
    restored = FeatureConfig.from_dict(json.loads(config.to_json()))
    assert restored == config
    assert restored.fingerprint() == config.fingerprint()
    assert FeatureConfig(n_mfcc=20).fingerprint() != config.fingerprint()


@pytest.mark.parametrize("field, value", [("sample_rate", 4000), ("segments_per_track", 0), ("hop_length", 0)])
def test_out_of_range_values_name_the_setting(field, value):
    with pytest.raises(InputError, match=f"FeatureConfig.{field}"):
        FeatureConfig(**{field: value})


def test_unknown_keys_are_rejected():
    with pytest.raises(InputError, match="unknown setting"):
        FeatureConfig.from_dict({"sample_rate": 22050, "colour": "blue"})

"""The Keras ports against the original musicnn code: the shipped ``.keras`` files and a fresh conversion of the
pinned wheel both reproduce the original's tag probabilities and embeddings (to 1e-4) on a generated signal and
real GTZAN windows, from audio through GenreLens's own feature pipeline."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import musicnn_wheel

from genre_core import features, musicnn
from genre_core.musicnn import TRUNKS
from genre_core.musicnn.convert import convert_wheel
from genre_core.transfer import load_tagger

TOLERANCE = 1e-4


def _outputs(model, trunk: str, window: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    import keras

    both = keras.Model(model.input, [model.output, model.get_layer(TRUNKS[trunk].embedding_layer).output])
    patch = features.log_mel(window, musicnn.FEATURES)[np.newaxis, ..., np.newaxis]
    tags, embedding = both.predict(patch, verbose=0)
    return tags[0], embedding[0]


def _assert_matches(model, trunk: str, reference: dict, windows: dict) -> None:
    for name, window in windows.items():
        expected = reference["inputs"][name][TRUNKS[trunk].checkpoint]
        tags, embedding = _outputs(model, trunk, window)
        np.testing.assert_allclose(tags, expected["tags"], atol=TOLERANCE, err_msg=f"{trunk} tags on {name}")
        np.testing.assert_allclose(embedding, expected["embedding"], atol=TOLERANCE, err_msg=f"{trunk} on {name}")


def test_feature_pipeline_gives_the_original_input_patch(musicnn_reference, musicnn_windows):
    for name, window in musicnn_windows.items():
        patch = features.log_mel(window, musicnn.FEATURES)
        assert patch.shape == (96, 187)
        expected = musicnn_reference["inputs"][name]["MSD_musicnn"]["patch_sum"]
        assert float(patch.astype(np.float64).sum()) == pytest.approx(expected, rel=1e-9), name


@pytest.mark.parametrize("trunk", ["msd_musicnn", "msd_vgg"])
def test_shipped_port_matches_the_original(trunk, musicnn_reference, musicnn_windows):
    model = load_tagger(trunk)  # safe mode
    _assert_matches(model, trunk, musicnn_reference, musicnn_windows)
    tags = musicnn_reference["tags"]["MSD"]
    assert list(TRUNKS[trunk].tags) == tags


@pytest.mark.slow
def test_conversion_of_the_pinned_wheel_matches_the_original(tmp_path, musicnn_reference, musicnn_windows):
    import keras

    written = convert_wheel(musicnn_wheel(), tmp_path)
    assert sorted(path.name for path in written) == sorted([*(f"{name}.keras" for name in TRUNKS),
                                                           "LICENSE-musicnn.md"])
    notice = (tmp_path / "LICENSE-musicnn.md").read_text()
    assert "Music Technology Group" in notice and "Permission to use, copy, modify" in notice
    for trunk in TRUNKS:
        model = keras.saving.load_model(tmp_path / f"{trunk}.keras", safe_mode=True, compile=False)
        _assert_matches(model, trunk, musicnn_reference, musicnn_windows)
        assert list(TRUNKS[trunk].tags) == musicnn_reference["tags"][TRUNKS[trunk].checkpoint.split("_")[0]]


def test_a_file_that_is_not_a_wheel_is_refused(tmp_path):
    from genre_core.errors import InputError

    bogus = tmp_path / "musicnn.whl"
    bogus.write_bytes(b"not a zip")
    with pytest.raises(InputError, match="not a wheel"):
        convert_wheel(bogus, tmp_path / "out")

"""Trust checks of Grad-CAM maps: model randomisation, deletion curve, resynthesis of highlighted parts."""

from __future__ import annotations

import librosa
import numpy as np
import pytest
from conftest import tone
from helpers import band_data, build_cnn, trained_band_model

from genre_core.config import FeatureConfig
from genre_core.errors import InputError
from genre_core.explain.gradcam import grad_cam
from genre_core.explain.trust import deletion_curve, randomisation_check, resynthesise


@pytest.mark.slow
def test_randomisation_destroys_the_maps_of_a_trained_model() -> None:
    model = trained_band_model()
    weights_before = [weight.copy() for weight in model.get_weights()]
    inputs, _ = band_data(12, seed=3)
    rows = randomisation_check(model, inputs, seed=0)
    layers_with_weights = [layer.name for layer in model.layers if layer.trainable_weights]
    assert [row["layer"] for row in rows] == [None, *reversed(layers_with_weights)]
    assert [row["step"] for row in rows] == list(range(len(rows)))
    assert rows[0]["spearman"] == pytest.approx(1.0)
    assert rows[-1]["spearman"] < 0.5
    assert all(row["heatmaps"].shape == inputs.shape[:3] for row in rows)
    for before, after in zip(weights_before, model.get_weights()):
        np.testing.assert_array_equal(before, after)


def test_randomisation_is_reproducible_for_a_seed() -> None:
    model = build_cnn()
    inputs = np.random.default_rng(5).normal(size=(3, 32, 40, 1)).astype(np.float32)
    first = randomisation_check(model, inputs, seed=4, method="gradcam++")
    again = randomisation_check(model, inputs, seed=4, method="gradcam++")
    np.testing.assert_allclose([row["spearman"] for row in first], [row["spearman"] for row in again])
    assert first[0]["spearman"] == pytest.approx(1.0)


@pytest.mark.slow
def test_deletion_of_highlighted_cells_hurts_more_than_random() -> None:
    model = trained_band_model()
    inputs, labels = band_data(16, seed=4)
    result = grad_cam(model, inputs, class_index=labels)
    curve = deletion_curve(model, inputs, result.heatmaps, labels, steps=10)
    np.testing.assert_allclose(curve["fractions"], np.linspace(0, 1, 11))
    assert curve["map_order"].shape == curve["random_order"].shape == (11,)
    start = model.predict(inputs, verbose=0)[np.arange(16), labels].mean()
    assert curve["map_order"][0] == pytest.approx(start, rel=1e-4)
    assert curve["random_order"][0] == pytest.approx(start, rel=1e-4)
    assert curve["map_order"][-1] == pytest.approx(curve["random_order"][-1], rel=1e-4)
    assert curve["area_between"] > 0


def test_deletion_rejects_mismatched_maps_and_unknown_fill() -> None:
    model = build_cnn()
    inputs = np.zeros((2, 32, 40, 1), np.float32)
    with pytest.raises(InputError, match="heatmaps"):
        deletion_curve(model, inputs, np.zeros((2, 40, 32)), 0)
    with pytest.raises(InputError, match="fill"):
        deletion_curve(model, inputs, np.zeros((2, 32, 40)), 0, fill="zero")
    with pytest.raises(InputError, match="class_index"):
        deletion_curve(model, inputs, np.zeros((2, 32, 40)), [0, 3])
    with pytest.raises(InputError, match="class_index"):
        deletion_curve(model, inputs, np.zeros((2, 32, 40)), None)


def dominant_frequency(audio: np.ndarray, sample_rate: int) -> float:
    spectrum = np.abs(np.fft.rfft(audio))
    return float(np.fft.rfftfreq(len(audio), 1 / sample_rate)[spectrum.argmax()])


@pytest.mark.slow  # librosa's first mel spectrogram in a process takes seconds
def test_resynthesis_separates_highlighted_and_remaining_bands() -> None:
    config = FeatureConfig()
    audio = tone(440.0, 1.0, config.sample_rate) + tone(3000.0, 1.0, config.sample_rate)
    mel_power = librosa.feature.melspectrogram(
        y=audio, sr=config.sample_rate, n_fft=config.n_fft, hop_length=config.hop_length, n_mels=config.n_mels
    )
    log_mel = librosa.power_to_db(mel_power, ref=1.0)
    band_centres = librosa.mel_frequencies(n_mels=config.n_mels, fmax=config.sample_rate / 2)
    heatmap = np.repeat((band_centres < 1500.0)[:, None], log_mel.shape[1], axis=1).astype(np.float32)
    highlighted, remaining = resynthesise(log_mel, heatmap, config, threshold=0.5, n_iter=16)
    for part in (highlighted, remaining):
        assert part.dtype == np.float32 and part.shape == (config.hop_length * (log_mel.shape[1] - 1),)
        assert np.isfinite(part).all() and np.abs(part).max() == pytest.approx(1.0)
    assert dominant_frequency(highlighted, config.sample_rate) == pytest.approx(440.0, abs=30.0)
    assert dominant_frequency(remaining, config.sample_rate) == pytest.approx(3000.0, abs=60.0)


def test_resynthesis_rejects_mismatched_shapes() -> None:
    config = FeatureConfig()
    with pytest.raises(InputError, match="heatmap"):
        resynthesise(np.zeros((128, 10)), np.zeros((128, 11)), config)
    with pytest.raises(InputError, match="log_mel_db"):
        resynthesise(np.zeros((64, 10)), np.zeros((64, 10)), config)

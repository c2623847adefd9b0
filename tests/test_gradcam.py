"""Grad-CAM, Grad-CAM++ and saliency maps: shapes, ranges, saved models, class choice, and a model whose
evidence lies in one known frequency band."""

from __future__ import annotations

from pathlib import Path

import keras
import numpy as np
import pytest
import tensorflow as tf
from helpers import BAND_SHAPE, BANDS, band_data, build_cnn, trained_band_model

from genre_core.errors import InputError
from genre_core.explain.gradcam import (
    METHODS,
    band_profile,
    carries_all_evidence,
    default_target_layer,
    grad_cam,
    layer_problem,
    saliency,
    spatial_layer_names,
    time_profile,
)
from genre_core.models import build_model

BAND_MARGIN = 2  # rows either side of a band that still count as "in the band"


def band_mass_share(heatmap: np.ndarray, label: int) -> float:
    low, high = BANDS[label]
    return float(heatmap[max(low - BAND_MARGIN, 0) : high + BAND_MARGIN].sum() / heatmap.sum())


@pytest.fixture(scope="module")
def spectrograms() -> np.ndarray:
    return np.random.default_rng(7).normal(size=(5, *BAND_SHAPE, 1)).astype(np.float32)


@pytest.fixture(scope="module")
def cnn() -> keras.Model:
    return build_cnn()


@pytest.fixture(scope="module")
def loaded_cnn(cnn: keras.Model, tmp_path_factory: pytest.TempPathFactory) -> keras.Model:
    path = Path(tmp_path_factory.mktemp("gradcam")) / "m.keras"
    cnn.save(path)
    return keras.saving.load_model(path, safe_mode=True)


@pytest.fixture(params=["in_memory", "loaded"])
def any_cnn(request: pytest.FixtureRequest, cnn: keras.Model, loaded_cnn: keras.Model) -> keras.Model:
    return cnn if request.param == "in_memory" else loaded_cnn


def test_spatial_layers_and_default_target(cnn: keras.Model) -> None:
    assert spatial_layer_names(cnn) == ["conv1", "pool1", "conv2", "pool2"]
    assert default_target_layer(cnn) == "conv2"
    assert "is not (batch, frequency, time, channels)" in layer_problem(cnn, "logits")
    assert "input" in layer_problem(cnn, cnn.layers[0].name)
    assert layer_problem(cnn, "no_such_layer") is not None


def test_spatial_layers_of_the_presets() -> None:
    cnn = build_model("cnn_small", (16, 20, 1), 3)
    names = spatial_layer_names(cnn)
    assert names == ["block1_conv", "block1_pool", "block2_conv", "block2_pool", "block3_conv", "block3_pool"]
    timefreq = spatial_layer_names(build_model("cnn_timefreq", (16, 20, 1), 3))
    assert {"time2_conv", "freq2_conv"} <= set(timefreq) and "concat" not in timefreq
    assert spatial_layer_names(build_model("ffn_mfcc", (57,), 3)) == []
    assert spatial_layer_names(build_model("lstm_mfcc", (20, 13), 3)) == []


def test_layer_pooled_to_one_cell_is_listed_but_refused() -> None:
    inputs = keras.Input((8, 10, 1))
    x = keras.layers.Conv2D(4, 3, padding="same", name="conv")(inputs)
    x = keras.layers.MaxPooling2D((8, 10), name="pool_to_1x1")(x)
    x = keras.layers.Flatten()(x)
    logits = keras.layers.Dense(2, name="logits")(x)
    model = keras.Model(inputs, keras.layers.Activation("softmax", name="probabilities")(logits))
    assert spatial_layer_names(model) == ["conv", "pool_to_1x1"]
    assert layer_problem(model, "conv") is None and "1 × 1" in layer_problem(model, "pool_to_1x1")
    with pytest.raises(InputError, match="pool_to_1x1.*1 × 1"):
        grad_cam(model, np.ones((1, 8, 10, 1), np.float32), layer="pool_to_1x1")


#: Preset -> its default Grad-CAM layer: the last convolution's maps after its batch norm and ReLU (inside the
#: convolution for cnn_small); for cnn_timefreq the frequency branch's, as no spatial layer carries both branches.
PRESET_DEFAULT_LAYERS = {"cnn_small": "block3_conv", "cnn_bn": "block3_relu", "cnn_timefreq": "freq2_relu"}


@pytest.fixture(scope="module", params=list(PRESET_DEFAULT_LAYERS))
def preset_cnns(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> tuple[str, keras.Model, keras.Model]:
    """A CNN preset built for the band spectrograms: (preset, the model in memory, the model saved and loaded)."""
    model = build_model(request.param, (*BAND_SHAPE, 1), 3)
    path = tmp_path_factory.mktemp(request.param) / "m.keras"
    model.save(path)
    return request.param, model, keras.saving.load_model(path, safe_mode=True)


def logit_gradients(model: keras.Model, layer: str, inputs: np.ndarray) -> tf.Tensor | None:
    """d(sum of the predicted classes' logits) / d(``layer``'s output), as Grad-CAM takes it."""
    grad_model = keras.Model(model.inputs, [model.get_layer(layer).output, model.get_layer("logits").output])
    with tf.GradientTape() as tape:
        activations, logits = grad_model(tf.constant(inputs), training=False)
        score = tf.reduce_sum(tf.reduce_max(logits, axis=1))
    return tape.gradient(score, activations)


@pytest.mark.parametrize("kind", ["in_memory", "loaded"])
def test_default_layer_of_each_preset_is_its_last_activated_map(
    preset_cnns: tuple[str, keras.Model, keras.Model], kind: str, spectrograms: np.ndarray
) -> None:
    preset, in_memory, loaded = preset_cnns
    model = in_memory if kind == "in_memory" else loaded
    layer = default_target_layer(model)
    assert layer == PRESET_DEFAULT_LAYERS[preset]
    assert carries_all_evidence(model, layer) == (preset != "cnn_timefreq")
    gradients = logit_gradients(model, layer, spectrograms)
    assert gradients is not None and np.abs(gradients.numpy()).max() > 0
    result = grad_cam(model, spectrograms)
    assert result.layer == layer and np.isfinite(result.heatmaps).all() and result.raw.max() > 0
    if preset == "cnn_timefreq":  # the time branch is one choice away
        assert layer_problem(model, "time2_relu") is None and not carries_all_evidence(model, "time2_relu")
        assert not any(carries_all_evidence(model, name) for name in spatial_layer_names(model))


def test_default_layer_of_branches_merged_into_one_map_is_the_merge() -> None:
    inputs = keras.Input((*BAND_SHAPE, 1))
    branches = [
        keras.layers.Conv2D(4, kernel, padding="same", activation="relu", name=f"{name}_conv")(inputs)
        for name, kernel in (("time", (1, 5)), ("freq", (5, 1)))
    ]
    x = keras.layers.Concatenate(name="merge")(branches)
    x = keras.layers.BatchNormalization(name="merge_bn")(x)
    x = keras.layers.GlobalAveragePooling2D(name="gap")(x)
    logits = keras.layers.Dense(3, name="logits")(x)
    model = keras.Model(inputs, keras.layers.Activation("softmax", name="probabilities")(logits))
    assert [carries_all_evidence(model, name) for name in ("time_conv", "freq_conv", "merge", "merge_bn")] == [
        False, False, True, True,
    ]
    assert default_target_layer(model) == "merge_bn"


@pytest.mark.parametrize("method", METHODS)
def test_maps_have_input_shape_and_unit_range(
    any_cnn: keras.Model, spectrograms: np.ndarray, method: str
) -> None:
    result = grad_cam(any_cnn, spectrograms, method=method)
    assert result.heatmaps.shape == (5, *BAND_SHAPE) and result.heatmaps.dtype == np.float32
    assert np.isfinite(result.heatmaps).all()
    assert result.heatmaps.min() >= 0.0 and result.heatmaps.max() <= 1.0
    assert result.raw.shape == (5, 16, 20) and (result.raw >= 0).all()
    assert result.logits.shape == (5, 3)
    np.testing.assert_array_equal(result.class_index, result.logits.argmax(axis=1))
    assert result.layer == "conv2" and result.method == method
    peaks = result.heatmaps.max(axis=(1, 2))
    assert np.allclose(peaks[peaks > 0], 1.0) and (peaks > 0).any()


def test_heatmap_keeps_low_frequencies_in_row_zero(cnn: keras.Model) -> None:
    """Upsampling must not flip or transpose: the layer map's top-left cell lands in the top-left corner."""
    inputs = np.random.default_rng(3).normal(size=(4, *BAND_SHAPE, 1)).astype(np.float32)
    result = grad_cam(cnn, inputs, layer="pool1")
    for raw, heatmap in zip(result.raw, result.heatmaps):
        if raw.max() > 0:
            upsampled_means = heatmap.reshape(16, 2, 20, 2).mean(axis=(1, 3))
            assert np.corrcoef(upsampled_means.ravel(), raw.ravel())[0, 1] > 0.9


def test_saved_and_loaded_model_gives_the_same_maps(
    cnn: keras.Model, loaded_cnn: keras.Model, spectrograms: np.ndarray
) -> None:
    for method in METHODS:
        in_memory = grad_cam(cnn, spectrograms, method=method)
        loaded = grad_cam(loaded_cnn, spectrograms, method=method)
        assert loaded.raw.max() > 0, "gradients of the loaded model did not reach the target layer"
        np.testing.assert_allclose(loaded.heatmaps, in_memory.heatmaps, atol=1e-5)
        np.testing.assert_allclose(loaded.raw, in_memory.raw, rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(saliency(loaded_cnn, spectrograms), saliency(cnn, spectrograms), atol=1e-5)


def test_saliency_has_input_shape_and_unit_range(any_cnn: keras.Model, spectrograms: np.ndarray) -> None:
    maps = saliency(any_cnn, spectrograms, class_index=1)
    assert maps.shape == (5, *BAND_SHAPE) and maps.dtype == np.float32
    assert np.isfinite(maps).all() and maps.min() >= 0.0
    np.testing.assert_allclose(maps.max(axis=(1, 2)), 1.0)


@pytest.mark.parametrize("method", METHODS)
def test_class_choice_changes_the_map(cnn: keras.Model, spectrograms: np.ndarray, method: str) -> None:
    first = grad_cam(cnn, spectrograms, class_index=0, method=method)
    per_row = grad_cam(cnn, spectrograms, class_index=[0, 1, 2, 0, 1], method=method)
    second = grad_cam(cnn, spectrograms, class_index=1, method=method)
    np.testing.assert_array_equal(per_row.class_index, [0, 1, 2, 0, 1])
    np.testing.assert_allclose(per_row.raw[0], first.raw[0], rtol=1e-5)
    assert not np.allclose(first.raw, second.raw)


@pytest.mark.parametrize(
    ("arguments", "source"),
    [
        ({"inputs": np.zeros((2, 40, 32, 1), np.float32)}, "inputs"),
        ({"inputs": np.full((1, *BAND_SHAPE, 1), np.nan, np.float32)}, "inputs"),
        ({"class_index": 3}, "class_index"),
        ({"class_index": [0, 1]}, "class_index"),
        ({"method": "lime"}, "method"),
        ({"layer": "nope"}, "layer 'nope'"),
        ({"layer": "gap"}, "layer 'gap'"),
    ],
)
def test_bad_requests_raise_input_error(
    cnn: keras.Model, spectrograms: np.ndarray, arguments: dict, source: str
) -> None:
    arguments = {"inputs": spectrograms, **arguments}
    with pytest.raises(InputError) as error:
        grad_cam(cnn, **arguments)
    assert error.value.source == source


def test_model_without_logits_layer_is_refused() -> None:
    inputs = keras.Input((*BAND_SHAPE, 1))
    x = keras.layers.Conv2D(2, 3, name="conv")(inputs)
    outputs = keras.layers.Dense(2, activation="softmax", name="dense")(keras.layers.Flatten()(x))
    with pytest.raises(InputError, match="logits"):
        grad_cam(keras.Model(inputs, outputs), np.zeros((1, *BAND_SHAPE, 1), np.float32))


def test_profiles_are_shares_of_the_map_mass() -> None:
    heatmap = np.zeros(BAND_SHAPE, np.float32)
    heatmap[3, 10:20] = 1.0
    heatmap[30, 5] = 2.0
    bands = band_profile(heatmap)
    assert bands.shape == (BAND_SHAPE[0],)
    np.testing.assert_allclose(bands[[3, 30]], [10 / 12, 2 / 12], rtol=1e-6)
    times = time_profile(heatmap)
    assert times.shape == (BAND_SHAPE[1],) and times.argmax() == 5
    np.testing.assert_allclose(times.sum(), 1.0, rtol=1e-6)
    assert not band_profile(np.zeros(BAND_SHAPE)).any()
    with pytest.raises(InputError):
        band_profile(-heatmap)
    with pytest.raises(InputError):
        time_profile(np.zeros((2, 3, 4)))


@pytest.mark.slow
@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("layer", ["conv2", "pool2"])
def test_band_model_maps_point_at_its_band(method: str, layer: str) -> None:
    model = trained_band_model()
    inputs, labels = band_data(48, seed=2)
    result = grad_cam(model, inputs, layer=layer, method=method)
    explained = (result.class_index == labels) & np.isin(labels, list(BANDS))
    assert explained.sum() >= 25
    for heatmap, label in zip(result.heatmaps[explained], labels[explained]):
        assert band_mass_share(heatmap, label) > 0.6
        low, high = BANDS[label]
        assert low - BAND_MARGIN <= band_profile(heatmap).argmax() < high + BAND_MARGIN


@pytest.mark.parametrize("where", ["in_memory", "loaded"])
def test_sigmoid_model_explains_class_1_by_its_logit_and_class_0_by_its_negative(
    where: str, spectrograms: np.ndarray, tmp_path: Path
) -> None:
    model = build_model("cnn_small", (*BAND_SHAPE, 1), 2, output="sigmoid", filters=[4, 8], dense=[8])
    model.set_weights([np.random.default_rng(index).normal(0, 0.3, w.shape) for index, w in
                       enumerate(model.get_weights())])
    if where == "loaded":
        model.save(tmp_path / "m.keras")
        model = keras.saving.load_model(tmp_path / "m.keras", safe_mode=True)
    layer = "block2_conv"
    one, zero = (grad_cam(model, spectrograms, layer=layer, class_index=k) for k in (1, 0))
    z = np.asarray(keras.Model(model.inputs, model.get_layer("logits").output)(spectrograms))[:, 0]
    np.testing.assert_allclose(one.logits, np.stack([-z, z], axis=1), rtol=1e-5, atol=1e-6)
    # the class-0 score is -z: its channel weights are the negated class-1 weights, so the two raw maps are
    # relu(S) and relu(-S) of one weighted sum S: never both positive, together |S|
    with tf.GradientTape() as tape:
        activations, logit = keras.Model(model.inputs, [model.get_layer(layer).output,
                                                        model.get_layer("logits").output])(spectrograms)
        total = tf.reduce_sum(logit)
    weights = tf.reduce_mean(tape.gradient(total, activations), axis=(1, 2))
    weighted = np.einsum("nhwc,nc->nhw", activations.numpy(), weights.numpy())
    np.testing.assert_allclose(one.raw, np.maximum(weighted, 0), rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(zero.raw, np.maximum(-weighted, 0), rtol=1e-4, atol=1e-6)
    assert np.all(np.minimum(one.raw, zero.raw) == 0) and one.raw.max() > 0 and zero.raw.max() > 0
    predicted = grad_cam(model, spectrograms, layer=layer)
    np.testing.assert_array_equal(predicted.class_index, (z > 0).astype(np.int64))
    assert saliency(model, spectrograms, 0).shape == spectrograms.shape[:3]

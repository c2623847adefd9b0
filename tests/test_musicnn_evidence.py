"""Branch and time evidence of a classifier on the pretrained musicnn trunk, in memory and after save/load; the
2-D Grad-CAM refuses musicnn's timbral maps (filter offsets, not bands) and explains its temporal branches."""

from __future__ import annotations

import numpy as np
import pytest

from genre_core.errors import InputError
from genre_core.explain import gradcam
from genre_core.explain.musicnn_evidence import BRANCHES, branch_evidence, is_musicnn
from genre_core.models import build_model


@pytest.fixture(scope="module")
def patches() -> np.ndarray:
    """Two musicnn-shaped patches: a low band loud in one, a pulsing high band in the other."""
    values = np.full((2, 96, 187, 1), 0.5, dtype=np.float32)
    values[0, :20] += 3.0
    values[1, 60:, ::8] += 4.0
    return values


@pytest.fixture(scope="module", params=["in-memory", "saved-then-loaded"])
def musicnn_model(request, tmp_path_factory):
    import keras

    model = build_model("transfer_musicnn", (96, 187, 1), 3)
    logits = model.get_layer("logits")
    kernel, bias = logits.get_weights()
    logits.set_weights([np.random.default_rng(0).normal(0, 0.3, kernel.shape).astype(np.float32), bias])
    if request.param == "saved-then-loaded":
        path = tmp_path_factory.mktemp("musicnn") / "model.keras"
        model.save(path)
        model = keras.saving.load_model(path, safe_mode=True, compile=False)
    return model


def test_branch_shares_and_time_map(musicnn_model, patches):
    evidence = branch_evidence(musicnn_model, patches)
    assert evidence.branches == tuple(name for name, _ in BRANCHES)
    assert evidence.contributions.shape == (2, 5) and np.all(np.isfinite(evidence.contributions))
    assert np.allclose(evidence.shares.sum(axis=1), 1.0, atol=1e-5) and np.all(evidence.shares >= 0)
    assert evidence.time_map.shape == (2, 187)
    assert evidence.time_map.max() == pytest.approx(1.0) and evidence.time_map.min() >= 0
    assert np.array_equal(evidence.class_index, evidence.logits.argmax(axis=1))
    assert np.all((0 <= evidence.timbral_share()) & (evidence.timbral_share() <= 1))


def test_the_explained_class_changes_the_evidence(musicnn_model, patches):
    first = branch_evidence(musicnn_model, patches, class_index=0)
    second = branch_evidence(musicnn_model, patches, class_index=1)
    assert np.all(first.class_index == 0) and np.all(second.class_index == 1)
    assert not np.allclose(first.contributions, second.contributions)


def test_other_models_are_refused(patches):
    model = build_model("transfer_vgg", (96, 187, 1), 3)
    assert not is_musicnn(model)
    with pytest.raises(InputError, match="musicnn trunk"):
        branch_evidence(model, patches)


def test_gradcam_refuses_timbral_maps_and_uses_a_temporal_branch(musicnn_model, patches):
    for name in ("timbral74_conv", "timbral77_bn"):
        assert "filter offsets" in gradcam.layer_problem(musicnn_model, name)
    assert gradcam.layer_problem(musicnn_model, "temporal32_bn") is None
    layer = gradcam.default_target_layer(musicnn_model)
    assert layer.startswith("temporal")
    result = gradcam.grad_cam(musicnn_model, patches, layer=layer)
    assert result.heatmaps.shape == (2, 96, 187) and np.all(np.isfinite(result.heatmaps))
    assert result.heatmaps.max() > 0


def test_vgg_blocks_stay_usable_for_gradcam():
    model = build_model("transfer_vgg", (96, 187, 1), 3)
    for index in range(1, 5):
        assert gradcam.layer_problem(model, f"block{index}_bn") is None, index
    assert gradcam.default_target_layer(model) == "block5_bn"

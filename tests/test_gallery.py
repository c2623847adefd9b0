"""Tests of `genre_core.explain.gallery`: the Grad-CAM gallery section of a report, from a tiny real CNN."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from helpers import TONE_CNN, tiny_dataset, tiny_split

from genre_core.config import LOG_MEL, SUMMARY
from genre_core.errors import InputError
from genre_core.explain import views
from genre_core.explain.gallery import bundle_report, gradcam_gallery, shap_section
from genre_core.report_document import FigureBlock, ReportDocument, ShapForceBlock, render_html

DATASET = tiny_dataset(rows=48)
SPLIT = tiny_split(48)


@pytest.fixture(scope="module")
def cnn():
    from genre_core import bundles, train_config, training

    config = train_config.TrainConfig(preset="cnn_small", hyper=TONE_CNN, epochs=1, batch_size=8)
    return bundles.bundle_from_training(training.train_model(DATASET, SPLIT, config), DATASET, name="tiny-cnn")


@pytest.mark.slow
def test_each_genre_shows_its_first_right_and_wrong_segment_with_its_map(cnn):
    section = gradcam_gallery(cnn, DATASET, SPLIT.test, part="test")
    figures = [block for block in section.blocks if isinstance(block, FigureBlock)]
    predicted = views.dataset_probabilities(cnn, DATASET, SPLIT.test).argmax(axis=1)
    labels = DATASET.labels[SPLIT.test]
    expected = sum(int(np.any((labels == c) & (predicted == c))) + int(np.any((labels == c) & (predicted != c)))
                   for c in range(DATASET.n_classes))
    assert len(figures) == expected > 0
    for block in figures:
        spectrogram, gradcam = block.figure.data
        assert np.asarray(gradcam.z).shape == DATASET.features[LOG_MEL].shape[1:]
        assert 0.0 <= np.min(gradcam.z) and np.max(gradcam.z) <= 1.0
        assert block.name.startswith("gradcam_0") and block.name.endswith(("_right_1", "_wrong_1"))
    assert figures[0].figure.layout.title.text.startswith("class0, ")
    assert len({block.figure.data[0].zmin for block in figures}) == 1  # one colour scale for all
    assert "Grad-CAM gallery (test part)" in render_html(ReportDocument("r", (section,)))


@pytest.mark.slow
def test_a_dataset_without_spectrograms_gets_a_one_line_reason(cnn):
    summary_only = dataclasses.replace(DATASET, features={SUMMARY: DATASET.features[SUMMARY]})
    with pytest.raises(InputError, match="tiny-cnn: a Grad-CAM gallery needs a CNN on log-mel"):
        gradcam_gallery(cnn, summary_only, SPLIT.test)


@pytest.mark.slow
def test_a_cnns_report_ends_with_its_gallery(cnn):
    from genre_core import reports

    evaluation = reports.evaluate_bundle(cnn, DATASET, SPLIT, with_baselines=False)
    document = bundle_report(evaluation, cnn, DATASET, SPLIT)
    assert document.sections[-1].title == "Grad-CAM gallery (test part)"
    assert document.sections[-2].title == "Training"  # the bundle's curves
    no_test = dataclasses.replace(SPLIT, test=SPLIT.test[:0])
    assert "Grad-CAM" not in bundle_report(evaluation, cnn, DATASET, no_test).sections[-1].title


@pytest.mark.slow
def test_an_ffn_on_summary_features_gets_shap_importance_and_a_force_plot_per_genre():
    from genre_core import bundles, reports, train_config, training

    config = train_config.TrainConfig(preset="ffn_mfcc", hyper={"hidden": [8]}, epochs=1, batch_size=8)
    ffn = bundles.bundle_from_training(training.train_model(DATASET, SPLIT, config), DATASET, name="tiny-ffn")
    document = bundle_report(reports.evaluate_bundle(ffn, DATASET, SPLIT, with_baselines=False), ffn, DATASET, SPLIT)
    section = document.sections[-1]
    assert section.title == "SHAP (test part)"
    forces = [block for block in section.blocks if isinstance(block, ShapForceBlock)]
    assert len(forces) == len(np.unique(DATASET.labels[SPLIT.test]))  # one segment per genre present
    assert all("SHAP.AdditiveForceVisualizer" in block.html for block in forces)
    assert [block.name for block in section.blocks if isinstance(block, FigureBlock)] == [
        "shap_feature_importance", "shap_family_importance"]
    assert "(true class0)" in forces[0].caption
    with pytest.raises(InputError, match="tiny-ffn: SHAP needs a model on the summary"):
        shap_section(ffn, dataclasses.replace(DATASET, features={LOG_MEL: DATASET.features[LOG_MEL]}), SPLIT.test)

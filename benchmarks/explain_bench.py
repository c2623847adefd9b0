"""Explanations on the shipped models and real audio: Grad-CAM per map, a 12-card gallery, SHAP force and global.

- Grad-CAM: one window of a real GTZAN track through each shipped CNN (`cnn_gtzan_mini`: cnn_small on log-mel;
  `cnn_gtzan_transfer`: the pretrained VGG trunk), warm (traced once), median of 5 single maps.
- Gallery: 12 windows (6 right and 6 wrong of a genre, as Browse shows them) of `cnn_gtzan_mini`, each with its
  Grad-CAM map in one batch and its spectrogram figure with the map over it (`explanation_figures.spectrogram_view`).
- SHAP on `ffn_gtzan_features` (57 summary features; its explainer as the SHAP page makes it, background of
  100 rows): a force plot of one row (values and HTML), and the values of 200 rows for the global views. The
  rows are standardised features drawn at random: the time does not depend on their values.
"""

from __future__ import annotations

import numpy as np

from benchmarks.class_load import MODELS
from benchmarks.extraction_bench import GTZAN_MINI
from benchmarks.measure import Result, repeated

GRADCAM_GOAL_MS = 50.0
GALLERY_GOAL_S = 1.5
GALLERY_CARDS = 12
FORCE_GOAL_S = 1.0
GLOBAL_GOAL_S = 20.0
GLOBAL_ROWS = 200
GLOBAL_RUNS = 3  #: about a minute each on 2 busy cores


def _real_log_mel(bundle: object, windows: int) -> np.ndarray:
    """``windows`` log-mel windows (windows, n_mels, frames) of real tracks under the bundle's feature settings."""
    from genre_core.config import LOG_MEL
    from genre_core.extraction import extract_files
    from genre_core.prediction import analysis_config

    tracks = sorted(GTZAN_MINI.glob("*/*.wav"))[:: 7][: max(1, windows // 5)]
    result = extract_files([(path, path.parent.name) for path in tracks], analysis_config(bundle), [LOG_MEL],
                           n_jobs=1, cache_dir=None)
    return np.asarray(result.features[LOG_MEL][:windows])


def bench_gradcam() -> list[Result]:
    """Grad-CAM per map on both shipped CNNs, and the 12-card gallery on `cnn_gtzan_mini`."""
    from genre_core.bundles import load_bundle
    from genre_core.explain import explanation_figures
    from genre_core.explain.gradcam import grad_cam

    results = []
    for name in ("cnn_gtzan_mini", "cnn_gtzan_transfer"):
        bundle = load_bundle(MODELS / name)
        log_mel = _real_log_mel(bundle, GALLERY_CARDS)
        inputs = bundle.standardizer.transform(log_mel)[..., np.newaxis]
        grad_cam(bundle.model, inputs[:1])  # trace once
        results.append(repeated(f"Grad-CAM, one window of a real track, {name} (warm)",
                                lambda bundle=bundle, inputs=inputs: grad_cam(bundle.model, inputs[:1]),
                                unit_scale=1000, unit="ms", goal=f"<= {GRADCAM_GOAL_MS:g} ms",
                                meets=lambda value: value <= GRADCAM_GOAL_MS))
        if name != "cnn_gtzan_mini":
            continue

        def gallery(bundle=bundle, log_mel=log_mel, inputs=inputs) -> None:
            maps = grad_cam(bundle.model, inputs).heatmaps
            for window, heatmap in zip(log_mel, maps, strict=True):
                explanation_figures.spectrogram_view(window, bundle.feature_config, heatmap=heatmap, thumbnail=True)

        gallery()
        results.append(repeated(f"gallery of {GALLERY_CARDS} cards, each with its Grad-CAM map and figure, "
                                f"{name} (warm)", gallery, goal=f"<= {GALLERY_GOAL_S:g} s",
                                meets=lambda value: value <= GALLERY_GOAL_S))
    return results


def bench_shap() -> list[Result]:
    """SHAP force plot of one row and the global values of `GLOBAL_ROWS` rows on `ffn_gtzan_features`."""
    from genre_core.bundles import load_bundle
    from genre_core.explain import shap_figures, shap_values

    bundle = load_bundle(MODELS / "ffn_gtzan_features")
    rng = np.random.default_rng(0)
    width = bundle.standardizer.width
    background = rng.normal(size=(shap_values.BACKGROUND_SIZE, width)).astype(np.float32)
    rows = rng.normal(size=(GLOBAL_ROWS, width)).astype(np.float32)
    explainer = shap_values.make_explainer(bundle.model, background, class_names=bundle.class_names)

    def force_plot() -> None:
        result = shap_values.explain_rows(explainer, rows[:1])
        shap_figures.force_plot_html(result, 0, 0, rows[0])

    force_plot()
    return [
        repeated(f"SHAP force plot of one row, ffn_gtzan_features ({explainer.method}, warm)", force_plot,
                 goal=f"<= {FORCE_GOAL_S:g} s", meets=lambda value: value <= FORCE_GOAL_S),
        repeated(f"SHAP values of {GLOBAL_ROWS} rows for the global views, ffn_gtzan_features", lambda:
                 shap_values.explain_rows(explainer, rows), goal=f"<= {GLOBAL_GOAL_S:g} s",
                 meets=lambda value: value <= GLOBAL_GOAL_S, runs=GLOBAL_RUNS),
    ]

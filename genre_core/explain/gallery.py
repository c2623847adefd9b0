"""The explanation sections of a run's report, as `report_document.Section`s: the Grad-CAM gallery of a CNN
(for each genre its first right and wrong segments, each spectrogram with the map of the predicted class over
it) and the SHAP section of a summary-feature FFN (feature and family importance, and a force plot of one
segment per genre); and the whole report of a scored bundle with them (`bundle_report`, what the Evaluate page
and the CLI hand out).

TensorFlow and shap are imported only when a section is made (through `views`, `shap_values` and `shap_figures`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from genre_core.config import LOG_MEL, SUMMARY
from genre_core.dataset import Dataset
from genre_core.errors import InputError
from genre_core.explain import explanation_figures, views
from genre_core.report_document import Block, FigureBlock, ReportDocument, Section, ShapForceBlock, TextBlock
from genre_core.reports import BundleEvaluation
from genre_core.run_report import evaluation_document
from genre_core.splits import Split

if TYPE_CHECKING:
    from genre_core.bundles import ModelBundle
    from genre_core.explain.shap_values import ShapResult

KINDS = ("right", "wrong")
NOT_A_STEM_CHARACTER = re.compile(r"[^A-Za-z0-9_-]+")


def gradcam_gallery(bundle: ModelBundle, dataset: Dataset, rows: np.ndarray, *, per_kind: int = 1,
                    part: str = "test") -> Section:
    """Per genre the first ``per_kind`` right and wrong segments of ``rows`` (dataset rows of one ``part`` of the
    split), in row order, each with its Grad-CAM map (at the bundle's default layer) over the spectrogram; the
    spectrograms share one colour scale. InputError when the bundle is not a CNN or the dataset has no log-mel."""
    if bundle.feature_kind != LOG_MEL or LOG_MEL not in dataset.features:
        raise InputError(bundle.name, "a Grad-CAM gallery needs a CNN on log-mel spectrograms and their dataset")
    rows = np.asarray(rows, dtype=np.int64)
    probabilities = views.dataset_probabilities(bundle, dataset, rows)
    examples = views.examples_of_rows(dataset, rows, probabilities, n=per_kind)
    chosen = [item for kinds in examples.values() for kind in KINDS for item in kinds[kind]]
    log_mel = dataset.features[LOG_MEL]
    if chosen:
        shown = log_mel[[item.row for item in chosen]]
        zmin, zmax = (float(value) for value in np.percentile(shown, [1, 99]))
    blocks: list[Block] = [TextBlock(
        f"For each genre, the first {'segment' if per_kind == 1 else f'{per_kind} segments'} of the {part} part the "
        "model got right and wrong. The Grad-CAM map (yellow to red) shows where in the spectrogram the evidence "
        "for the predicted genre lay; check on the Browse page whether it passes the sanity checks before trusting "
        "it.")]
    for genre_index, (genre, kinds) in enumerate(examples.items()):
        for kind in KINDS:
            for number, item in enumerate(kinds[kind], start=1):
                maps = views.segment_maps(bundle, log_mel[item.row],
                                          class_index=dataset.class_names.index(item.predicted_class))
                title = (f"{genre}, {kind}: {item.track_id} {item.start_seconds:.0f}–{item.end_seconds:.0f} s, "
                         f"predicted {item.predicted_class} ({item.probability:.0%})")
                figure = explanation_figures.spectrogram_view(log_mel[item.row], dataset.feature_config, heatmap=maps.gradcam,
                                                title=title, zmin=zmin, zmax=max(zmax, zmin + 1e-3))
                stem = f"{genre_index:02d}_{NOT_A_STEM_CHARACTER.sub('_', genre)}"  # unique even if names clash
                blocks.append(FigureBlock(f"gradcam_{stem}_{kind}_{number}", figure,
                                          caption=f"Grad-CAM at layer {maps.layer}"))
    if not chosen:
        blocks.append(TextBlock(f"The {part} part has no segments to show."))
    return Section(f"Grad-CAM gallery ({part} part)", tuple(blocks))


@dataclass(frozen=True)
class FirstRowsShap:
    """SHAP of the first row of each class among some dataset rows: ``rows`` (m,) the dataset rows explained,
    ``raw`` (m, F) their features before standardisation, ``result`` their `ShapResult` (logit units) and
    ``background`` in words (what the base value averages over, `views.shap_background`)."""

    rows: np.ndarray
    raw: np.ndarray
    result: ShapResult
    background: str

    @property
    def predicted(self) -> np.ndarray:
        """(m,) the predicted class index of each row."""
        return self.result.outputs.argmax(axis=1)

    def force_plot_markup(self, index: int) -> str:
        """The force plot of row ``index`` (0-based among `rows`) for its predicted class, without SHAP's script."""
        from genre_core.explain import shap_figures

        return shap_figures.force_plot_markup(self.result, index, int(self.predicted[index]), self.raw[index])


def shap_of_first_rows(bundle: ModelBundle, dataset: Dataset, rows: np.ndarray) -> FirstRowsShap | None:
    """SHAP values of the first of ``rows`` (dataset rows) of each class of a summary-feature ``bundle``, against
    `views.shap_background`; None when ``rows`` is empty. InputError for a bundle or dataset without summary
    features."""
    from genre_core.explain import shap_values

    if bundle.feature_kind != SUMMARY or SUMMARY not in dataset.features:
        raise InputError(bundle.name, "SHAP needs a model on the summary features and their dataset")
    rows = np.asarray(rows, dtype=np.int64)
    labels = dataset.labels[rows]
    chosen = np.array([rows[np.flatnonzero(labels == index)[0]] for index in range(dataset.n_classes)
                       if np.any(labels == index)], dtype=np.int64)
    if len(chosen) == 0:
        return None
    background, background_words = views.shap_background(bundle, dataset)
    explainer = shap_values.make_explainer(bundle.model, background, class_names=bundle.class_names)
    raw = dataset.features[SUMMARY][chosen]
    return FirstRowsShap(chosen, raw, shap_values.explain_rows(explainer, bundle.standardizer.transform(raw)),
                         background_words)


def shap_section(bundle: ModelBundle, dataset: Dataset, rows: np.ndarray, *, part: str = "test") -> Section:
    """SHAP of a summary-feature bundle on the first segment of each genre among ``rows`` (dataset rows of one
    ``part``): mean |SHAP| per feature and per feature family, and each segment's force plot for its predicted
    class. The background is `views.shap_background` (the bundle's training rows found in ``dataset``)."""
    from genre_core.explain import shap_figures

    explained = shap_of_first_rows(bundle, dataset, rows)
    if explained is None:
        return Section(f"SHAP ({part} part)", (TextBlock(f"The {part} part has no segments to explain."),))
    result = explained.result
    blocks: list[Block] = [
        TextBlock(f"SHAP values of the first {part} segment of each genre, in {result.unit} units, against a "
                  f"background of {explained.background}: positive values pushed the model towards a genre."),
        FigureBlock("shap_feature_importance", shap_figures.mean_abs_bar_figure(result)),
        FigureBlock("shap_family_importance", shap_figures.family_bar_figure(result)),
    ]
    for index, row in enumerate(explained.rows):
        caption = (f"{dataset.track_ids[row]}, window {int(dataset.segment_index[row]) + 1} (true "
                   f"{dataset.class_names[dataset.labels[row]]}): the push towards "
                   f"{bundle.class_names[explained.predicted[index]]}")
        blocks.append(ShapForceBlock(explained.force_plot_markup(index), caption=caption))
    return Section(f"SHAP ({part} part)", tuple(blocks))


def bundle_report(evaluation: BundleEvaluation, bundle: ModelBundle, dataset: Dataset, split: Split) -> ReportDocument:
    """`run_report.evaluation_document` of a scored bundle with its training curves and, when the split has test
    rows, the Grad-CAM gallery (a CNN on spectrograms) or the SHAP section (a summary-feature FFN) of them."""
    extra: tuple[Section, ...] = ()
    if len(split.test) and bundle.feature_kind == LOG_MEL and LOG_MEL in dataset.features:
        extra = (gradcam_gallery(bundle, dataset, split.test, part="test"),)
    elif len(split.test) and bundle.feature_kind == SUMMARY and SUMMARY in dataset.features:
        extra = (shap_section(bundle, dataset, split.test, part="test"),)
    return evaluation_document(evaluation, history=bundle.history, extra_sections=extra)

"""The Grad-CAM gallery of a report: for each genre, its first right and wrong segments under a CNN bundle, each
spectrogram with the Grad-CAM map of the predicted class over it, as a `report_document.Section`; and the whole
report of a scored bundle with it (`bundle_report`, what the Evaluate page and the CLI hand out).

TensorFlow is imported only through `views.segment_maps` when the gallery is made.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

import numpy as np

from genre_core.config import LOG_MEL
from genre_core.datasets import Dataset
from genre_core.errors import InputError
from genre_core.explain import views
from genre_core.report_document import Block, FigureBlock, ReportDocument, Section, TextBlock
from genre_core.reports import BundleEvaluation
from genre_core.run_report import evaluation_document
from genre_core.splits import Split

if TYPE_CHECKING:
    from genre_core.bundles import ModelBundle

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
                figure = views.spectrogram_view(log_mel[item.row], dataset.feature_config, heatmap=maps.gradcam,
                                                title=title, zmin=zmin, zmax=max(zmax, zmin + 1e-3))
                stem = f"{genre_index:02d}_{NOT_A_STEM_CHARACTER.sub('_', genre)}"  # unique even if names clash
                blocks.append(FigureBlock(f"gradcam_{stem}_{kind}_{number}", figure,
                                          caption=f"Grad-CAM at layer {maps.layer}"))
    if not chosen:
        blocks.append(TextBlock(f"The {part} part has no segments to show."))
    return Section(f"Grad-CAM gallery ({part} part)", tuple(blocks))


def bundle_report(evaluation: BundleEvaluation, bundle: ModelBundle, dataset: Dataset, split: Split) -> ReportDocument:
    """`run_report.evaluation_document` of a scored bundle with its training curves and, for a CNN on a dataset
    with spectrograms and test rows, the Grad-CAM gallery of the test part."""
    extra = ()
    if bundle.feature_kind == LOG_MEL and LOG_MEL in dataset.features and len(split.test):
        extra = (gradcam_gallery(bundle, dataset, split.test, part="test"),)
    return evaluation_document(evaluation, history=bundle.history, extra_sections=extra)

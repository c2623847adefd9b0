"""What the explanation pages (Browse & Grad-CAM, SHAP) show, prepared from a model bundle and a dataset.

Pure functions, no Streamlit: the rows of a bundle's stored split, the probabilities of a dataset's rows,
the examples of a split part, a segment's audio, its Grad-CAM maps and trust checks, the SHAP background and
results. The figures of these views are in `genre_core.explain.explanation_figures`.

TensorFlow is reached only through a `ModelBundle` and the Grad-CAM/trust modules, imported inside the
functions that need them, so ``import genre_core.explain.views`` does not import it.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from genre_core import audio
from genre_core.config import LOG_MEL
from genre_core.dataset import Dataset
from genre_core.errors import InputError
from genre_core.explain.examples import ExampleRow, example_table
from genre_core.explain.shap_values import BACKGROUND_SIZE, ShapResult, background_sample

if TYPE_CHECKING:
    from genre_core.bundles import ModelBundle
    from genre_core.explain.musicnn_evidence import BranchEvidence

SPLIT_PARTS = ("train", "val", "test")  #: the parts a bundle's stored split describes
ALL_ROWS = "all"  #: `part_rows` name for every row of the dataset
#: What the pages call each choice of rows (`part_rows`), the test part first.
PART_LABELS = {"test": "test (not trained on)", "val": "validation", "train": "training", ALL_ROWS: "all rows"}
PREDICT_CHUNK_ROWS = 512  #: rows gathered per `ModelBundle.predict_proba` call (bounds the copy of log-mel rows)


# --- rows and probabilities --------------------------------------------------------------------------


def split_rows_from_description(dataset: Dataset, split_description: Mapping[str, Any], part: str) -> np.ndarray:
    """Rows of ``dataset`` in ``part`` ("train", "val" or "test") of a bundle's stored split: (m,) int64, ascending.

    A bundle stores the track ids of each part (`Split.describe`), not row numbers, so the rows are those whose
    track id is listed in the part. The dataset may be another load of the same source (rows in another order,
    genres left out): tracks it lacks are skipped, and an empty array means none of the part's tracks is in it.
    Raises `InputError` for an unknown part, a description without track ids, and a segment-level ("leaky")
    split, whose parts share tracks so that track ids cannot tell its parts apart.
    """
    if part not in SPLIT_PARTS:
        raise InputError("split part", f"'{part}' is not one of {', '.join(SPLIT_PARTS)}")
    track_lists = split_description.get("track_ids")
    if not isinstance(track_lists, Mapping) or not isinstance(track_lists.get(part), list):
        raise InputError("model split", f"the stored split lists no track ids for the {part} part")
    if split_description.get("protocol") == "leaky":
        reason = "a segment-level (leaky) split shares tracks between its parts, so its rows cannot be rebuilt"
        raise InputError("model split", reason)
    listed = np.asarray([str(track) for track in track_lists[part]], dtype=str)
    return np.flatnonzero(np.isin(np.asarray(dataset.track_ids, dtype=str), listed)).astype(np.int64)


def part_rows(dataset: Dataset, split_description: Mapping[str, Any], part: str) -> np.ndarray:
    """Rows of ``dataset`` for a page's part choice (`PART_LABELS`): a part of the bundle's stored split (see
    `split_rows_from_description`) or `ALL_ROWS`. Raises `InputError` with a readable reason when there are none."""
    if part == ALL_ROWS:
        return np.arange(len(dataset), dtype=np.int64)
    rows = split_rows_from_description(dataset, split_description, part)
    if len(rows) == 0:
        raise InputError(
            f"the model's {PART_LABELS[part]} part",
            "none of its tracks is in the active dataset (was the model trained on other data?); choose another part",
        )
    return rows


def sample_rows(rows: np.ndarray, limit: int, seed: int = 0) -> np.ndarray:
    """At most ``limit`` of ``rows`` (m,), drawn without replacement (seeded) and kept in ascending order."""
    rows = np.sort(np.asarray(rows, dtype=np.int64))
    if limit < 1:
        raise InputError("row limit", f"must be >= 1, got {limit}")
    if len(rows) <= limit:
        return rows
    return np.sort(np.random.default_rng(seed).choice(rows, limit, replace=False))


def dataset_probabilities(bundle: ModelBundle, dataset: Dataset, rows: np.ndarray | None = None) -> np.ndarray:
    """Class probabilities of ``dataset``'s ``rows`` (default: all) under ``bundle``: (len(rows), K) float32.

    Raises `InputError` naming the dataset when the bundle cannot score it (other classes, feature kind or
    feature settings, see `genre_core.bundles.check_compatible`).
    """
    from genre_core.bundles import check_compatible

    check_compatible(bundle, dataset)
    values = dataset.features[bundle.feature_kind]
    chosen = np.arange(len(values)) if rows is None else np.asarray(rows, dtype=np.int64)
    parts = [np.zeros((0, len(bundle.class_names)), dtype=np.float32)]
    for start in range(0, len(chosen), PREDICT_CHUNK_ROWS):
        parts.append(bundle.predict_proba(values[chosen[start : start + PREDICT_CHUNK_ROWS]]))
    return np.concatenate(parts)


def examples_of_rows(
    dataset: Dataset, rows: np.ndarray, probabilities: np.ndarray, n: int = 6
) -> dict[str, dict[str, list[ExampleRow]]]:
    """`example_table` of the dataset rows ``rows`` (m,) whose probabilities are ``probabilities`` (m, K).

    Every `ExampleRow.row` is a row of ``dataset``. Window times come from ``dataset.feature_config``; a
    dataset without one (``.npy`` folders) gets 1 s placeholders, as its windows have no known length.
    """
    rows = np.asarray(rows, dtype=np.int64)
    segment_seconds = dataset.feature_config.segment_seconds if dataset.feature_config is not None else 1.0
    table = example_table(
        probabilities,
        dataset.labels[rows],
        dataset.track_ids[rows],
        dataset.segment_index[rows],
        segment_seconds,
        dataset.class_names,
        n=n,
    )

    def in_dataset(items: list[ExampleRow]) -> list[ExampleRow]:
        return [dataclasses.replace(item, row=int(rows[item.row])) for item in items]

    return {name: {kind: in_dataset(items) for kind, items in kinds.items()} for name, kinds in table.items()}


def most_wrong_genre(dataset: Dataset, rows: np.ndarray, probabilities: np.ndarray) -> str:
    """The true class with the most wrongly classified rows among the dataset rows ``rows`` (m,), whose
    probabilities are ``probabilities`` (m, K); the first in class order on a tie (the first class when none
    is wrong). Browse opens on it, so that the first gallery has mistakes to look at."""
    rows = np.asarray(rows, dtype=np.int64)
    labels = dataset.labels[rows]
    wrong = labels[np.asarray(probabilities).argmax(axis=1) != labels] if len(rows) else labels
    return dataset.class_names[int(np.argmax(np.bincount(wrong, minlength=dataset.n_classes)))]


def track_segment_audio(path: str | Path, start_s: float, end_s: float, sample_rate: int) -> np.ndarray:
    """The stretch from ``start_s`` to ``end_s`` (s) of an audio file, decoded to mono at ``sample_rate`` Hz
    as for feature extraction: (round((end_s - start_s) * sample_rate),) float32.

    A stretch reaching past the end of the file is zero-padded, as `genre_core.audio.segment_audio` pads a
    track's last window. Raises `InputError` for an unreadable file or a stretch that starts after its end.
    """
    if not 0.0 <= start_s < end_s:
        raise InputError("segment", f"{start_s}–{end_s} s is not a time span")
    samples = audio.load_audio(path, sample_rate)
    first = int(round(start_s * sample_rate))
    if first >= len(samples):
        raise InputError(path, f"is {len(samples) / sample_rate:.2f} s long, the segment starts at {start_s:.2f} s")
    stretch = np.zeros(int(round((end_s - start_s) * sample_rate)), dtype=np.float32)
    piece = samples[first : first + len(stretch)]
    stretch[: len(piece)] = piece
    return stretch


# --- Grad-CAM of segments ----------------------------------------------------------------------------


def _cnn_inputs(bundle: ModelBundle, log_mel_rows: np.ndarray) -> np.ndarray:
    """Raw log-mel rows (n, n_mels, frames) dB -> the bundle's standardised model input (n, n_mels, frames, 1)."""
    from genre_core.inputs import prepare_inputs

    if bundle.feature_kind != LOG_MEL:
        reason = f"takes {bundle.feature_kind} features, Grad-CAM needs a log-mel CNN"
        raise InputError(f"model '{bundle.name}'", reason)
    rows = np.asarray(log_mel_rows)
    if rows.shape[1:] != bundle.feature_shape:
        reason = f"have shape {rows.shape[1:]}, model '{bundle.name}' expects {bundle.feature_shape}"
        raise InputError("spectrograms", reason)
    return prepare_inputs(rows, LOG_MEL, bundle.standardizer)


@dataclass(frozen=True)
class SegmentMaps:
    """Explanations of one log-mel segment for one class; maps are (n_mels, frames) float32 in [0, 1], row 0 =
    lowest band, each divided by its maximum (a blank map stays 0)."""

    gradcam: np.ndarray
    gradcam_plus_plus: np.ndarray
    saliency: np.ndarray
    class_index: int  #: the class explained
    layer: str  #: the layer the Grad-CAM maps were taken at
    probabilities: np.ndarray  #: (K,) float32, the model's class probabilities for the segment


def segment_maps(
    bundle: ModelBundle, log_mel_db: np.ndarray, *, layer: str | None = None, class_index: int | None = None
) -> SegmentMaps:
    """Grad-CAM, Grad-CAM++ and gradient saliency of one raw log-mel segment (n_mels, frames) dB.

    ``layer`` defaults to `genre_core.explain.gradcam.default_target_layer`, ``class_index`` to the predicted
    class. Raises `InputError` for a non-CNN bundle, a wrong shape or an unusable layer.
    """
    from genre_core.explain import gradcam

    inputs = _cnn_inputs(bundle, np.asarray(log_mel_db)[np.newaxis])
    cam = gradcam.grad_cam(bundle.model, inputs, layer=layer, class_index=class_index)
    plus = gradcam.grad_cam(bundle.model, inputs, layer=cam.layer, class_index=cam.class_index, method="gradcam++")
    return SegmentMaps(
        gradcam=cam.heatmaps[0],
        gradcam_plus_plus=plus.heatmaps[0],
        saliency=gradcam.saliency(bundle.model, inputs, cam.class_index)[0],
        class_index=int(cam.class_index[0]),
        layer=cam.layer,
        probabilities=bundle.predict_proba(np.asarray(log_mel_db)[np.newaxis])[0],
    )


def musicnn_evidence(bundle: ModelBundle, log_mel: np.ndarray, class_index: int | None = None) -> BranchEvidence:
    """`genre_core.explain.musicnn_evidence.branch_evidence` of one raw segment (n_mels, frames) of a bundle built
    on the musicnn trunk, for ``class_index`` (default: the predicted class)."""
    from genre_core.explain.musicnn_evidence import branch_evidence

    inputs = _cnn_inputs(bundle, np.asarray(log_mel)[np.newaxis])
    return branch_evidence(bundle.model, inputs, class_index)


@dataclass(frozen=True)
class TrustChecks:
    """The measured checks of Grad-CAM maps of a few segments (each explained for its predicted class).

    ``randomisation``: `genre_core.explain.trust.randomisation_check` rows without their heat maps (``step``,
    ``layer``, ``spearman``, ``spearman_std``); ``deletion``: `genre_core.explain.trust.deletion_curve`.
    """

    randomisation: list[dict[str, Any]]
    deletion: dict[str, Any]
    segments: int
    layer: str


def trust_checks(
    bundle: ModelBundle, log_mel_rows: np.ndarray, *, layer: str | None = None, seed: int = 0
) -> TrustChecks:
    """Model-randomisation and deletion checks of the Grad-CAM maps at ``layer`` of raw log-mel segments
    (n, n_mels, frames) dB, each map explaining the segment's predicted class."""
    from genre_core.explain import gradcam, trust

    inputs = _cnn_inputs(bundle, log_mel_rows)
    cam = gradcam.grad_cam(bundle.model, inputs, layer=layer)
    steps = trust.randomisation_check(bundle.model, inputs, layer=cam.layer, class_index=cam.class_index, seed=seed)
    deletion = trust.deletion_curve(bundle.model, inputs, cam.heatmaps, cam.class_index, seed=seed)
    randomisation = [{key: value for key, value in step.items() if key != "heatmaps"} for step in steps]
    return TrustChecks(randomisation=randomisation, deletion=deletion, segments=len(inputs), layer=cam.layer)


# --- SHAP -------------------------------------------------------------------------------------------


def shap_background(
    bundle: ModelBundle, dataset: Dataset | None, size: int = BACKGROUND_SIZE, seed: int = 0
) -> tuple[np.ndarray, str]:
    """Standardised background rows for SHAP of a summary bundle, and words for a student saying what they are
    (what the base value averages over, e.g. ``"100 of the 140 segments the model was trained on"``).

    With a ``dataset`` the bundle can score (`genre_core.bundles.check_compatible`), ``size`` rows (see
    `shap_values.background_sample`) of the bundle's training tracks found in it: (b, F) float32. Otherwise
    (no dataset, none of the training tracks in it, or a leaky split) the single row of zeros, which is the
    training mean after standardisation: (1, F).
    """
    reason = "no dataset is loaded"
    if dataset is not None:
        try:
            rows = split_rows_from_description(dataset, bundle.split_description, "train")
        except InputError as error:
            rows, reason = np.zeros(0, dtype=np.int64), error.reason
        else:
            reason = "the model's training tracks are not in the active dataset"
        if len(rows):
            standardised = bundle.standardizer.transform(dataset.features[bundle.feature_kind][rows])
            background = background_sample(standardised, size=size, seed=seed)
            return background, f"{len(background)} of the {len(rows)} segments the model was trained on"
    mean_row = np.zeros((1, bundle.standardizer.width), dtype=np.float32)
    return mean_row, f"an average segment of the model's training data ({reason})"


def concatenate_shap_results(parts: Sequence[ShapResult]) -> ShapResult:
    """SHAP results of consecutive chunks of rows (same explainer) as one result over all their rows."""
    if not parts:
        raise InputError("SHAP results", "none to join")
    first = parts[0]
    return dataclasses.replace(
        first,
        values=np.concatenate([part.values for part in parts]),
        outputs=np.concatenate([part.outputs for part in parts]),
        inputs=np.concatenate([part.inputs for part in parts]),
    )

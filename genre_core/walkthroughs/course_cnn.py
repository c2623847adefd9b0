"""Walkthrough 1, the course CNN: ``cnn_small`` on log-mel windows of 4 demo genres (classical, disco, metal,
rock; 15 windows per track), plain mini-batch SGD, batch 32, 20 epochs, seed 42 with op determinism. Parameter
count by hand, curves, test accuracy, train and test confusion, right and wrong windows per genre with Grad-CAM
at the last pooling layer, and whether Grad-CAM can be trusted on spectrograms (randomisation and deletion).

Its trained ``cnn_small`` is kept in the workspace (`small_cnn`): walkthrough 2 compares the very same run with
``cnn_timefreq``, and a rerun at the same size reads it back instead of training again (the recipe is seeded and
deterministic, so a new training would give the same weights)."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from genre_core import paths
from genre_core.config import LOG_MEL, FeatureConfig
from genre_core.errors import InputError
from genre_core.evaluation import EvaluationReport
from genre_core.explain.examples import ExampleRow
from genre_core.synth import DEMO_GENRES
from genre_core.walkthroughs.engine import Fact, Progress, RunSize, StepFigure, StepReport, WalkthroughReport
from genre_core.walkthroughs.engine import WalkthroughSpec

if TYPE_CHECKING:
    from genre_core.anatomy import LayerCount
    from genre_core.bundles import ModelBundle
    from genre_core.dataset import Dataset
    from genre_core.splits import Split
    from genre_core.train_config import TrainConfig

NAME = "course-cnn"
TITLE = "A CNN on log-mel spectrograms of 4 genres"
SEED = 42
LEARNING_RATE = 0.01  #: plain SGD (momentum 0)
BATCH_SIZE = 32
WINDOWS_PER_TRACK = 15  #: 2 s windows of 30 s tracks
CAM_LAYER = "block3_pool"  #: the last pooling layer of cnn_small
EXAMPLES = 6  #: right and wrong windows shown per genre
FEATURES = FeatureConfig(segments_per_track=WINDOWS_PER_TRACK)
TRAIN_SECONDS = "train_seconds"  #: the metric of a kept cnn_small bundle holding its training's wall time (s)


@dataclass(frozen=True)
class SmallCnnRun:
    """Walkthrough 1's ``cnn_small`` trained at one size: the demo ``dataset`` (log-mel windows), its track
    ``split`` (seed `SEED`), the trained ``bundle`` (its history inside), the training's wall time in s, and whether
    it was ``read_back`` from the workspace (trained by an earlier run with the same recipe and data)."""

    dataset: Dataset
    split: Split
    bundle: ModelBundle
    train_seconds: float
    read_back: bool


def small_config(size: RunSize) -> TrainConfig:
    """The course recipe at ``size``: cnn_small, plain SGD (momentum 0), `LEARNING_RATE`, `BATCH_SIZE`, `SEED`."""
    from genre_core.train_config import TrainConfig

    return TrainConfig(preset="cnn_small", optimizer="sgd", learning_rate=LEARNING_RATE, momentum=0.0,
                       batch_size=BATCH_SIZE, epochs=size.epochs, seed=SEED)


def small_cnn_folder(size: RunSize) -> Path:
    """Where the workspace keeps the cnn_small of ``size``: a folder named by a hash of the recipe and the data
    (`small_config`, `FEATURES`, the demo genres and size), so another recipe or data never reads it."""
    key = json.dumps({"config": small_config(size).to_dict(), "features": FEATURES.to_dict(),
                      "genres": list(DEMO_GENRES), "tracks_per_genre": size.tracks_per_genre}, sort_keys=True)
    return paths.DATA_DIR / "walkthroughs" / NAME / f"cnn_small-{hashlib.sha256(key.encode()).hexdigest()[:16]}"


def small_cnn(size: RunSize, say: Progress, training_phase: str) -> SmallCnnRun:
    """The demo data of ``size`` (phase ``"data"``) and walkthrough 1's cnn_small on its track split (phase
    ``training_phase``): read back from `small_cnn_folder` when an earlier run kept it there, else trained now and
    kept (a damaged kept bundle is trained again and replaced; a folder there that is not a bundle is left alone and
    the run not kept)."""
    from genre_core import bundles
    from genre_core.splits import grouped_split
    from genre_core.training import train_model
    from genre_core.walkthroughs.demo_data import demo_dataset

    say("data")
    dataset = demo_dataset(size, FEATURES, DEMO_GENRES, (LOG_MEL,))
    split = grouped_split(dataset, seed=SEED)
    folder = small_cnn_folder(size)
    if (folder / bundles.METADATA_FILE).is_file():
        try:
            bundle = bundles.load_bundle(folder)
            seconds = float(bundle.metrics[TRAIN_SECONDS])
            say(f"{training_phase}: read back (trained before with this recipe, data and seed)")
            return SmallCnnRun(dataset, split, bundle, seconds, read_back=True)
        except (InputError, KeyError, TypeError, ValueError):
            pass  # damaged: trained again below, and replaced
    say(training_phase)
    trained = train_model(dataset, split, small_config(size))
    bundle = bundles.bundle_from_training(trained, dataset, name="course_cnn",
                                          metrics={TRAIN_SECONDS: trained.train_seconds})
    try:
        bundles.save_bundle(bundle, folder)
    except InputError:
        pass  # something else than a bundle sits there: it is left as it is, and this run is not kept
    return SmallCnnRun(dataset, split, bundle, trained.train_seconds, read_back=False)


@dataclass(frozen=True)
class GenreExamples:
    """Up to `EXAMPLES` right and wrong test windows of one genre with their Grad-CAM maps (n, n_mels, frames)
    in [0, 1] (for the predicted class) at `CAM_LAYER`."""

    genre: str
    right: tuple[ExampleRow, ...]
    wrong: tuple[ExampleRow, ...]
    right_maps: np.ndarray
    wrong_maps: np.ndarray


@dataclass(frozen=True)
class CourseCnnResult:
    """Everything walkthrough 1 measured: the layer counts, the history per epoch, the evaluation of every part
    (confusions inside), the examples with maps, the trust checks' numbers, and the report."""

    layer_counts: tuple[LayerCount, ...]
    history: dict[str, list[float]]
    evaluation: EvaluationReport
    examples: tuple[GenreExamples, ...]
    randomised_spearman: float  #: rank correlation of maps before/after randomising the top layer's weights
    deletion_area: float  #: area between random and map-order deletion curves (> 0: the map finds evidence)
    report: WalkthroughReport
    figures: tuple[StepFigure, ...]  #: the curves (step 3) and the train and test confusion (step 4)


def _figures(history: dict[str, list[float]], evaluation: EvaluationReport) -> tuple[StepFigure, ...]:
    from genre_core.model_figures import confusion_figure, training_curves_figure

    curves = StepFigure(2, "curves", "Loss and accuracy per epoch", training_curves_figure(history))
    confusions = tuple(
        StepFigure(3, f"confusion_{part}", f"Confusion on the {part} part (windows)",
                   confusion_figure(evaluation.parts[part].confusion, evaluation.class_names, normalised=False))
        for part in ("train", "test")
    )
    return (curves, *confusions)


def _examples(bundle, dataset, test_rows: np.ndarray) -> tuple[GenreExamples, ...]:  # noqa: ANN001
    from genre_core.explain import gradcam
    from genre_core.explain.examples import example_table
    from genre_core.inputs import prepare_inputs

    probabilities = bundle.predict_proba(dataset.features[LOG_MEL])
    table = example_table(probabilities, dataset.labels, dataset.track_ids, dataset.segment_index,
                          FEATURES.segment_seconds, dataset.class_names, rows_subset=test_rows, n=EXAMPLES)

    def maps(rows: list[ExampleRow]) -> np.ndarray:
        if not rows:
            return np.zeros((0, *dataset.features[LOG_MEL].shape[1:]), dtype=np.float32)
        inputs = prepare_inputs(dataset.features[LOG_MEL][[row.row for row in rows]], LOG_MEL, bundle.standardizer)
        return gradcam.grad_cam(bundle.model, inputs, layer=CAM_LAYER).heatmaps

    return tuple(
        GenreExamples(genre, tuple(kinds["right"]), tuple(kinds["wrong"]), maps(kinds["right"]), maps(kinds["wrong"]))
        for genre, kinds in table.items()
    )


def run(size: RunSize, progress: Progress | None = None) -> CourseCnnResult:
    """Run the recipe at ``size`` on the demo data (see the module docstring)."""
    from genre_core import anatomy, reports
    from genre_core.explain import views

    say = progress or (lambda phase: None)
    small = small_cnn(size, say, "training")
    bundle, dataset, split = small.bundle, small.dataset, small.split
    say("evaluation")
    evaluation = reports.evaluate_bundle(bundle, dataset, split, with_baselines=False, seed=SEED)
    counts = tuple(anatomy.layer_counts(bundle.model))
    say("Grad-CAM")
    examples = _examples(bundle, dataset, split.test)
    sample = views.sample_rows(split.test, 8, seed=SEED)
    checks = views.trust_checks(bundle, dataset.features[LOG_MEL][sample], layer=CAM_LAYER, seed=SEED)
    spearman = float(checks.randomisation[1]["spearman"]) if len(checks.randomisation) > 1 else float("nan")
    result_parts = dict(layer_counts=counts, history=bundle.history, evaluation=evaluation.report,
                        examples=examples, randomised_spearman=spearman,
                        deletion_area=float(checks.deletion["area_between"]))
    return CourseCnnResult(**result_parts, report=_report(size, dataset.n_tracks, len(split.train), **result_parts),
                           figures=_figures(bundle.history, evaluation.report))


def _report(size: RunSize, tracks: int, train_rows: int, *, layer_counts: tuple[LayerCount, ...],
            history: dict[str, list[float]], evaluation: EvaluationReport, examples: tuple[GenreExamples, ...],
            randomised_spearman: float, deletion_area: float) -> WalkthroughReport:
    total = sum(row.params for row in layer_counts)
    parts = evaluation.parts
    steps = (
        StepReport(
            "The data", f"{len(DEMO_GENRES)} demo genres ({', '.join(DEMO_GENRES)}), {WINDOWS_PER_TRACK} log-mel windows "
            "per 30 s track; every window of a track sits in one part of the split (train, validation or test).",
            ("Why must the windows of one track stay in one part?",),
            (Fact("tracks", tracks), Fact("training windows", train_rows)),
        ),
        StepReport(
            "The model and its parameters", "cnn_small: three 5×5 convolution blocks (4, 8, 16 filters, each "
            "followed by 2×2 max-pooling), Dense 50, then one output per genre. Count its parameters by hand, layer "
            "by layer, and compare.",
            ("Which layer holds most of the parameters, and why?",
             "With this many parameters and this many training windows, do you expect overfitting?"),
            (Fact("parameters", total),
             *(Fact(row.name, f"{row.arithmetic} = {row.params:,}") for row in layer_counts if row.arithmetic)),
        ),
        StepReport(
            "Training", f"Plain mini-batch SGD (learning rate {LEARNING_RATE}, no momentum), batch {BATCH_SIZE}, "
            f"{size.epochs_text}, seed {SEED} with deterministic ops: two runs give identical weights.",
            ("Where do the training and validation curves part, and what does that tell you?",),
            tuple(Fact(f"final {key.replace('_', ' ')}", round(values[-1], 4)) for key, values in history.items()
                  if key in ("loss", "accuracy", "val_loss", "val_accuracy")),
        ),
        StepReport(
            "Test accuracy and confusion", "Accuracy per window on each part; the confusion matrices (rows: true "
            "genre, columns: predicted) of the training and the test part are in the result.",
            ("Which genres does it confuse, and do they sound alike?",),
            tuple(Fact(f"{name} accuracy", float(part.segment_metrics["accuracy"]), "%") for name, part in parts.items()),
        ),
        StepReport(
            "Right and wrong windows with Grad-CAM", f"Per genre the first {EXAMPLES} right and {EXAMPLES} wrong test "
            f"windows with the Grad-CAM map of the predicted class at the last pooling layer ({CAM_LAYER}).",
            ("Do the maps of right windows highlight the same frequency bands within a genre?",),
            tuple(Fact(f"{item.genre}: right / wrong shown", f"{len(item.right)} / {len(item.wrong)}") for item in examples),
        ),
        StepReport(
            "Is Grad-CAM applicable to spectrograms?", "Two checks. Randomisation: if the maps hardly change when "
            "the top layer's weights are re-initialised (rank correlation near 1), they show the input, not the "
            "model. Deletion: blanking the cells the map ranks highest should lower the class probability faster than "
            "blanking at random (area between the curves > 0). A spectrogram's axes are time and frequency, not "
            "space: a hot cell says where the evidence is, not which sound it is.",
            ("What do the two numbers say about these maps?",),
            (Fact("rank correlation after randomising the top layer", round(randomised_spearman, 3)),
             Fact("deletion: area between random and map order", round(deletion_area, 4))),
        ),
    )
    recipe = (f"cnn_small, plain SGD lr {LEARNING_RATE}, batch {BATCH_SIZE}, {size.epochs_text}, seed {SEED}, "
              f"{len(DEMO_GENRES)} demo genres, {WINDOWS_PER_TRACK} windows per track")
    return WalkthroughReport(NAME, TITLE, recipe, size, steps)


SPEC = WalkthroughSpec(NAME, TITLE, run)

"""Walkthrough 2, disentangling time and frequency: ``cnn_timefreq`` (parallel vertical/timbral and
horizontal/temporal filters, Pons et al. 2016) against ``cnn_small`` (square 5×5 filters) on the same split of
the same tracks as walkthrough 1 (4 demo genres, 15 windows per track, plain SGD lr 0.01, batch 32, 20 epochs,
seed 42 with op determinism): parameter counts, curves, test accuracy and confusion matrices side by side."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import TYPE_CHECKING

from genre_core.config import LOG_MEL
from genre_core.evaluation import EvaluationReport
from genre_core.reports import HeadlineScores
from genre_core.synth import DEMO_GENRES
from genre_core.walkthroughs import course_cnn
from genre_core.walkthroughs.engine import Fact, Progress, RunSize, StepFigure, StepReport, WalkthroughReport
from genre_core.walkthroughs.engine import WalkthroughSpec

if TYPE_CHECKING:
    from genre_core.anatomy import LayerCount

NAME = "time-freq"
TITLE = "Disentangling time and frequency"
PRESETS = ("cnn_small", "cnn_timefreq")  #: the square-filter CNN of walkthrough 1, the musically motivated one
SEED, LEARNING_RATE, BATCH_SIZE, FEATURES = course_cnn.SEED, course_cnn.LEARNING_RATE, course_cnn.BATCH_SIZE, \
    course_cnn.FEATURES  #: walkthrough 1's recipe and data, so its cnn_small is this one's
BRANCHES = {"time": "horizontal (temporal) filters", "freq": "vertical (timbral) filters"}  #: cnn_timefreq's


@dataclass(frozen=True)
class ModelRun:
    """One model of the comparison: its ``preset``, layer counts, per-epoch ``history``, the evaluation of every
    part (confusions inside), the headline ``test`` scores and the wall time of its training in s."""

    preset: str
    layer_counts: tuple[LayerCount, ...]
    history: dict[str, list[float]]
    evaluation: EvaluationReport
    test: HeadlineScores
    train_seconds: float

    @property
    def parameters(self) -> int:
        return sum(row.params for row in self.layer_counts)

    def branch_parameters(self, branch: str) -> int:
        """Parameters of the layers of one ``cnn_timefreq`` branch (their names start with ``branch``)."""
        return sum(row.params for row in self.layer_counts if row.name.startswith(branch))


@dataclass(frozen=True)
class TimeFreqResult:
    """Both runs (in `PRESETS` order), the test tracks (the same for both: one split), the report and figures."""

    runs: tuple[ModelRun, ...]
    test_tracks: tuple[str, ...]
    train_tracks: tuple[str, ...]
    report: WalkthroughReport
    figures: tuple[StepFigure, ...]


def run(size: RunSize, progress: Progress | None = None) -> TimeFreqResult:
    """Score walkthrough 1's cnn_small (`course_cnn.small_cnn`: read back when a course-cnn run of this size kept
    it, else trained and kept) and train ``cnn_timefreq`` with the same recipe on the same split at ``size``."""
    from genre_core import anatomy
    from genre_core.reports import evaluate_bundle, train_and_score_fold

    say = progress or (lambda phase: None)
    small = course_cnn.small_cnn(size, say, PRESETS[0])
    dataset, split = small.dataset, small.split
    scored_small = evaluate_bundle(small.bundle, dataset, split, with_baselines=False, seed=SEED)
    runs = [ModelRun(PRESETS[0], tuple(anatomy.layer_counts(small.bundle.model)), small.bundle.history,
                     scored_small.report, scored_small.test, small.train_seconds)]
    say(PRESETS[1])
    config = dataclasses.replace(course_cnn.small_config(size), preset=PRESETS[1])
    trained, scored = train_and_score_fold(dataset, split, config, name=PRESETS[1], with_baselines=False)
    runs.append(ModelRun(PRESETS[1], tuple(anatomy.layer_counts(trained.model)), trained.history, scored.report,
                         scored.test, trained.train_seconds))
    test_tracks = tuple(sorted(set(dataset.track_ids[split.test].tolist())))
    train_tracks = tuple(sorted(set(dataset.track_ids[split.train].tolist())))
    runs_tuple = tuple(runs)
    return TimeFreqResult(runs_tuple, test_tracks, train_tracks, _report(size, runs_tuple, len(train_tracks),
                                                                         len(test_tracks)), _figures(runs_tuple))


def _figures(runs: tuple[ModelRun, ...]) -> tuple[StepFigure, ...]:
    from genre_core.model_figures import confusion_figure, training_curves_figure
    from genre_core.walkthrough_figures import accuracy_bars_figure, curves_overlay_figure

    histories = {run.preset: run.history for run in runs}
    key = "val_accuracy" if all("val_accuracy" in history for history in histories.values()) else "accuracy"
    curves = (
        *(StepFigure(2, f"curves_{run.preset}", f"{run.preset}: loss and accuracy per epoch",
                     training_curves_figure(run.history)) for run in runs),
        StepFigure(2, f"overlay_{key}", f"{key.replace('_', ' ')} of both models per epoch",
                   curves_overlay_figure(histories, key)),
    )
    scores = (
        StepFigure(3, "test_accuracy", "Test accuracy of both models",
                   accuracy_bars_figure([run.preset for run in runs], [run.test.accuracy for run in runs],
                                        [run.test.track_accuracy for run in runs])),
        *(StepFigure(3, f"confusion_{run.preset}", f"{run.preset}: confusion on the test part (windows)",
                     confusion_figure(run.evaluation.parts["test"].confusion, run.evaluation.class_names,
                                      normalised=False)) for run in runs),
    )
    return (*curves, *scores)


def _report(size: RunSize, runs: tuple[ModelRun, ...], train_tracks: int, test_tracks: int) -> WalkthroughReport:
    timefreq = runs[PRESETS.index("cnn_timefreq")]
    steps = (
        StepReport(
            "One split for both", f"Walkthrough 1's data and split: {len(DEMO_GENRES)} demo genres, "
            f"{FEATURES.segments_per_track} log-mel windows per track, every window of a track in one part. Both "
            "models train on the same tracks with the same recipe and seed and are tested on the same tracks.",
            ("Why must the comparison use the same split and seed for both models?",),
            (Fact("training tracks", train_tracks), Fact("test tracks (the same for both)", test_tracks)),
        ),
        StepReport(
            "Square filters against time and frequency filters", "cnn_small slides square 5×5 filters over the "
            "spectrogram as if it were a photo. But its axes mean different things: a sound moved in time is the same "
            "event, one moved in frequency may be another instrument. cnn_timefreq splits the work: vertical filters "
            "(7×1, across frequency at one instant) learn timbre (spectral envelope, harmonics); horizontal filters "
            "(1×7, along time in one band) learn rhythm and onsets. Each branch pools only along the other axis and "
            "ends in a global max pool (was the pattern anywhere?), so its size does not grow with the input.",
            ("Where does cnn_small keep most of its parameters, and why does cnn_timefreq not need that layer?",
             "Which branch would you expect to separate classical from metal, and which disco from rock?"),
            (*(Fact(f"{run.preset}: parameters", run.parameters) for run in runs),
             *(Fact(f"cnn_timefreq: {words}", timefreq.branch_parameters(branch)) for branch, words in BRANCHES.items())),
        ),
        StepReport(
            "Training", f"Plain mini-batch SGD (learning rate {LEARNING_RATE}, no momentum), batch {BATCH_SIZE}, "
            f"{size.epochs_text}, seed {SEED}, for both.",
            ("Which model learns faster per epoch, and which overfits sooner?",),
            tuple(Fact(f"{run.preset}: {label}", round(run.history[key][-1], 4) if key in run.history else "none",
                       unit) for run in runs for key, label, unit in
                  (("val_accuracy", "final validation accuracy", "%"), ("val_loss", "final validation loss", ""))) +
            tuple(Fact(f"{run.preset}: training time", round(run.train_seconds, 1), "s") for run in runs),
        ),
        StepReport(
            "Test accuracy and confusion side by side", "Accuracy per window and per track (mean probability over a "
            "track's windows) on the test tracks; the confusion matrices count test windows (rows: true genre).",
            ("Do the two models make the same mistakes? What does that say about the evidence each one uses?",
             f"Is the difference larger than one or two test tracks ({test_tracks} in all) can explain?"),
            tuple(Fact(f"{run.preset}: test accuracy {level}", value, "%") for run in runs
                  for level, value in (("per window", run.test.accuracy), ("per track", run.test.track_accuracy))),
        ),
    )
    recipe = (f"cnn_small vs cnn_timefreq, plain SGD lr {LEARNING_RATE}, batch {BATCH_SIZE}, {size.epochs_text}, "
              f"seed {SEED}, {len(DEMO_GENRES)} demo genres, {FEATURES.segments_per_track} windows per track, one "
              f"track split")
    return WalkthroughReport(NAME, TITLE, recipe, size, steps)


SPEC = WalkthroughSpec(NAME, TITLE, run)

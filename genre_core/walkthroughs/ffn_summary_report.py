"""Walkthrough 3's steps in words and numbers (`report`) and its figures (`figures`), made from what
`ffn_summary.run_on` measured. Every fact names the protocol it was measured under."""

from __future__ import annotations

from typing import TYPE_CHECKING

from genre_core.walkthroughs.engine import Fact, RunSize, StepFigure, StepForcePlot, StepReport, WalkthroughReport

if TYPE_CHECKING:
    from genre_core.sweep_results import BestSetting, SweepResult
    from genre_core.walkthroughs.ffn_summary import Protocol, TaskRun, TrackForce


def _row_words(force: TrackForce, on_table: bool) -> str:
    """The explained row: a track on the table, a window of a track on the demo."""
    return force.track if on_table else f"{force.track}, window {force.window}"


def _task_facts(run: TaskRun, protocol: Protocol, on_table: bool) -> tuple[Fact, ...]:
    where = f"{len(run.test_tracks)} test tracks, {protocol.split.split(':')[0]}"
    stopped = "stopped early" if run.stopped_early else "ran to the limit"
    facts = [Fact(f"{run.task}: output units", run.output_units),
             Fact(f"{run.task}: epochs run ({stopped})", run.epochs_run)]
    if not on_table:  # a row is a window of a track; on the table a row is a track
        facts.append(Fact(f"{run.task}: test accuracy per window ({where})", run.test.accuracy, "%"))
    return (*facts, Fact(f"{run.task}: test accuracy per track ({where})", run.test.track_accuracy, "%"),
            Fact(f"{run.task}: test macro F1 ({where})", round(run.test.macro_f1, 3)))


def report(size: RunSize, *, on_table: bool, protocol: Protocol, search: SweepResult, best: BestSetting,
           binary: TaskRun, every_genre: TaskRun, forces: tuple[TrackForce, ...]) -> WalkthroughReport:
    """The steps of walkthrough 3 (see `genre_core.walkthroughs.ffn_summary`)."""
    from genre_core.walkthroughs.ffn_summary import PATIENCE, PRESET, SEED

    pair = " vs ".join(binary.class_names)
    cv = f"{search.spec.folds}-fold CV {search.grouping}, training part only"
    steps = (
        StepReport(
            "The data and the protocol", f"Data: {protocol.data}. Split: {protocol.split}. The test tracks are "
            f"scored once, at the end; the settings are chosen by {protocol.search}.",
            ("Why may the test tracks not be used to choose the batch size or the layer size?",),
            (Fact(f"{pair}: training tracks (train and validation)", len(binary.training_tracks)),
             Fact(f"{pair}: test tracks", len(binary.test_tracks)),
             Fact("every genre: training tracks", len(every_genre.training_tracks)),
             Fact("every genre: test tracks", len(every_genre.test_tracks))),
        ),
        StepReport(
            "Choosing batch size and first layer by cross-validation", f"{PRESET} with one sigmoid output, early "
            f"stopping on the validation loss (patience {PATIENCE}), seed {SEED}: every combination of batch size and "
            f"first-layer size is trained on every fold of {protocol.search}. {best.summary} {best.rule}",
            ("Does a larger batch need more epochs? Look at the epochs column.",
             "Is the chosen setting clearly better than its neighbours, or within noise?"),
            (Fact("settings tried", len(search.points)), Fact("trainings", search.runs_done),
             Fact(f"chosen ({cv}, best mean accuracy)", best.label),
             Fact(f"its accuracy ({cv}): mean", best.score.mean, "%"),
             Fact(f"its accuracy ({cv}): std over folds", best.score.std, "%"),
             Fact("time taken by the search (sum of the trainings' wall time)", round(search.wall_seconds, 1), "s")),
        ),
        StepReport(
            f"{pair} with one sigmoid unit", f"The chosen setting trained once on the whole training part (its "
            f"validation part for early stopping) and scored once on the test tracks. One output unit z: P({binary.class_names[-1]}) "
            f"= sigmoid(z), trained with binary cross-entropy.",
            ("Why is one sigmoid unit enough for two classes? What would two softmax units add?",),
            _task_facts(binary, protocol, on_table),
        ),
        StepReport(
            f"All {len(every_genre.class_names)} genres", f"The same recipe (the setting chosen for {pair}, not "
            f"searched again) with a softmax over {len(every_genre.class_names)} genres, on the same kind of split.",
            ("How much harder is the many-genre task, and which genres does it confuse?",),
            _task_facts(every_genre, protocol, on_table),
        ),
        StepReport(
            "SHAP force plots of single tracks", "For the first test track of each genre: how each feature pushed the "
            "all-genre model's logit of its predicted genre up (red) or down (blue) from the average over training "
            "tracks." + ("" if on_table else " On the demo a row is one window of a track."),
            ("Which feature families decide these tracks? Do they make musical sense?",),
            tuple(Fact(f"{_row_words(force, on_table)} (true {force.true_class}, test part)",
                       f"{force.predicted_class} {force.probability:.0%}") for force in forces),
        ),
    )
    recipe = (f"{PRESET}, Adam, sigmoid head for {pair}, early stopping patience {PATIENCE}, seed {SEED}; "
              f"{'Kaggle GTZAN table' if on_table else 'demo data'}; {protocol.split.split(':')[0]}")
    return WalkthroughReport("ffn-summary", "Feed-forward networks on summary features", recipe, size, steps)


def figures(*, on_table: bool, protocol: Protocol, search: SweepResult, best: BestSetting, binary: TaskRun,
            every_genre: TaskRun, forces: tuple[TrackForce, ...]) -> tuple[StepFigure | StepForcePlot, ...]:
    """The search's bars and validation curves (step 2), each task's curves and test confusion (steps 3, 4), the
    force plots (step 5)."""
    from genre_core.model_figures import confusion_figure, training_curves_figure
    from genre_core.sweep_figures import curves_figure, sweep_bars_figure

    del best
    shown: list[StepFigure | StepForcePlot] = [
        StepFigure(1, "search_accuracy", f"Accuracy per setting ({protocol.search})", sweep_bars_figure(search)),
        StepFigure(1, "search_val_loss", "Validation loss per epoch, mean over folds", curves_figure(search)),
    ]
    for step, run in ((2, binary), (3, every_genre)):
        stem = "binary" if run is binary else "every_genre"
        shown.append(StepFigure(step, f"{stem}_curves", f"{run.task}: loss and accuracy per epoch",
                                training_curves_figure(run.history)))
        shown.append(StepFigure(step, f"{stem}_confusion", f"{run.task}: test confusion ({protocol.split.split(':')[0]})",
                                confusion_figure(run.evaluation.parts["test"].confusion, run.class_names,
                                                 normalised=False)))
    shown.extend(StepForcePlot(4, f"{_row_words(force, on_table)} (test part, true {force.true_class}): the push "
                                  f"towards {force.predicted_class}", force.markup) for force in forces)
    return tuple(shown)

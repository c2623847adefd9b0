"""Walkthrough 5, why pretrained networks: a CNN trained from scratch (``cnn_small`` on log-mel windows) against
transfer from a network pretrained on a million songs (``transfer_vgg``: the frozen musicnn VGG of the Million
Song Dataset and a new genre layer on the musicnn input of the same tracks), on the same grouped folds of the same
tracks (`genre_core.lesson.compare`): track accuracy per fold, training time, the tracks' confusion per side,
parameters trained per side, and beside it the lesson measured on the 70 real tracks when the shipped transfer
bundle was built (`lesson.shipped_lesson`).

On the synthetic demo by default; ``run_on(size, progress, folder)`` runs it on a GTZAN-style audio folder (the
70 real tracks of ``gtzan_mini/genres``)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from genre_core import paths
from genre_core.config import LOG_MEL, FeatureConfig
from genre_core.lesson import LessonResult
from genre_core.synth import DEMO_GENRES
from genre_core.walkthroughs.engine import FULL, Fact, Progress, RealData, RunSize, StepFigure, StepReport
from genre_core.walkthroughs.engine import WalkthroughReport, WalkthroughSpec

if TYPE_CHECKING:
    from genre_core.train_config import TrainConfig

NAME = "pretrained"
TITLE = "Why pretrained networks"
QUICK_FOLDS = 2  #: a quick run's folds (its demo has 4 tracks per genre)


@dataclass(frozen=True)
class SideParameters:
    """A side's model: its ``preset``, all its parameters and those its training changes (the rest are frozen)."""

    preset: str
    total: int
    trained: int


@dataclass(frozen=True)
class PretrainedResult:
    """Walkthrough 5: which ``data`` (in words; ``on_real``: the real tracks), the `LessonResult` of this run, the
    tracks each side saw (the same, checked), the parameters per side, the shipped lesson (None when that bundle is
    missing), the report and the figures."""

    on_real: bool
    data: str
    lesson: LessonResult
    scratch_tracks: tuple[str, ...]
    transfer_tracks: tuple[str, ...]
    parameters: tuple[SideParameters, SideParameters]
    shipped: LessonResult | None
    report: WalkthroughReport
    figures: tuple[StepFigure, ...]


def _parameters(config: TrainConfig, features: FeatureConfig, n_classes: int) -> SideParameters:
    """The parameters of ``config``'s model on ``features`` with ``n_classes`` outputs (built, not trained)."""
    from genre_core.models import build_model, get_preset
    from genre_core.sweep_spec import model_input_shape
    from genre_core.transfer import trainable_part

    spec = get_preset(config.preset)
    model = build_model(spec.name, model_input_shape(LOG_MEL, features), n_classes)
    trained = trainable_part(model, spec.default_hyper["trainable_from"]) if spec.transfer else model
    return SideParameters(spec.name, int(model.count_params()), int(trained.count_params()))


def run_on(size: RunSize, progress: Progress | None, folder: Path | None) -> PretrainedResult:
    """Run walkthrough 5 at ``size`` on the GTZAN-style audio ``folder`` (None: on the demo data)."""
    from genre_core import lesson, musicnn
    from genre_core.pretrain import CNN_GTZAN_MINI_CONFIG, TRANSFER_CONFIG, train_config
    from genre_core.train_job import DatasetSource
    from genre_core.walkthroughs.demo_data import demo_source

    say = progress or (lambda phase: None)
    say("data")
    sources = {}
    for side, config in (("scratch", FeatureConfig()), ("transfer", musicnn.FEATURES)):
        sources[side] = (demo_source(size, config, DEMO_GENRES, (LOG_MEL,)) if folder is None else
                         DatasetSource(str(folder), config, kinds=(LOG_MEL,), cache_dir=str(paths.CACHE_DIR)))
    scratch_data, _ = sources["scratch"].load(n_jobs=1)
    transfer_data, _ = sources["transfer"].load(n_jobs=1)
    configs = {}  # the shipped lesson's recipes (`pretrain`), a quick run's epochs
    for side, values in (("scratch", CNN_GTZAN_MINI_CONFIG), ("transfer", TRANSFER_CONFIG)):
        configs[side] = train_config({**values, "epochs": values["epochs"] if size == FULL else size.epochs})
    folds = lesson.FOLDS if size == FULL else QUICK_FOLDS
    say("cross-validation")
    result = lesson.compare(scratch_data, configs["scratch"], transfer_data, configs["transfer"], folds=folds,
                            log=lambda line: say(line.strip()))
    parameters = (_parameters(configs["scratch"], scratch_data.feature_config, scratch_data.n_classes),
                  _parameters(configs["transfer"], transfer_data.feature_config, transfer_data.n_classes))
    data = (f"the real GTZAN tracks of {folder}" if folder is not None else
            f"the synthetic demo ({len(DEMO_GENRES)} genres; a pretrained network has never heard these sounds)")
    shipped = lesson.shipped_lesson()
    scratch_tracks = tuple(sorted(set(scratch_data.track_ids.tolist())))
    return PretrainedResult(
        folder is not None, data, result, scratch_tracks, tuple(sorted(set(transfer_data.track_ids.tolist()))),
        parameters, shipped, _report(size, folder is not None, data, result, parameters, shipped),
        _figures(result, shipped))


def run(size: RunSize, progress: Progress | None = None) -> PretrainedResult:
    """Run walkthrough 5 at ``size`` on the demo data."""
    return run_on(size, progress, None)


def _figures(result: LessonResult, shipped: LessonResult | None) -> tuple[StepFigure, ...]:
    from genre_core.model_figures import confusion_figure, lesson_figure

    shown = [StepFigure(1, "track_accuracy", "Track accuracy per side, each fold a dot", lesson_figure(result))]
    shown.extend(StepFigure(1, f"confusion_{label}", f"{side.preset} ({label}): confusion of the tracks, all folds",
                            confusion_figure(side.confusion, result.class_names, normalised=False, unit="tracks"))
                 for side, label in ((result.scratch, "scratch"), (result.transfer, "transfer")))
    if shipped is not None:
        shown.append(StepFigure(2, "shipped_track_accuracy", "Measured on the 70 real GTZAN tracks (shipped)",
                                lesson_figure(shipped)))
    return tuple(shown)


def _side_facts(result: LessonResult, protocol: str) -> tuple[Fact, ...]:
    return tuple(
        fact for side, label in ((result.scratch, "from scratch"), (result.transfer, "transfer"))
        for fact in (Fact(f"{side.preset} ({label}): mean track accuracy ({protocol})", side.mean_accuracy, "%"),
                     Fact(f"{side.preset} ({label}): std over folds", side.std_accuracy, "%"),
                     Fact(f"{side.preset} ({label}): training time, all folds", round(sum(side.train_seconds), 1), "s"))
    )


def _report(size: RunSize, on_real: bool, data: str, lesson: LessonResult,
            parameters: tuple[SideParameters, SideParameters], shipped: LessonResult | None) -> WalkthroughReport:
    protocol = f"{lesson.folds}-fold grouped CV on {lesson.tracks} tracks, seed {lesson.seed}"
    shipped_facts = ((Fact("not available", "the shipped transfer bundle (cnn_gtzan_transfer) is missing"),)
                     if shipped is None else _side_facts(shipped, f"{shipped.folds}-fold grouped CV on "
                                                          f"{shipped.tracks} real tracks, seed {shipped.seed}"))
    steps = (
        StepReport(
            "Two ways to get a genre classifier", f"Data: {data}. From scratch, cnn_small learns every filter from "
            "these few tracks. Transfer takes a network that learnt to tag a million songs (the musicnn VGG, Million "
            "Song Dataset), keeps it frozen, and trains only a new genre layer on what it hears. Both see the same "
            "tracks (each side with its own input: log-mel at 22 kHz, musicnn's 16 kHz input) in the same folds.",
            ("Which side has more parameters, and which side trains more of them?",),
            (Fact("tracks (the same on both sides)", lesson.tracks),
             *(fact for side in parameters for fact in (Fact(f"{side.preset}: parameters", side.total),
                                                          Fact(f"{side.preset}: parameters trained", side.trained)))),
        ),
        StepReport(
            "Track accuracy on the same folds", f"Each side is trained once per fold and scored per track (mean "
            f"probability over its windows) on the fold's test tracks, so every track is tested once ({protocol}).",
            ("Which side wins here, and by how many points? Is the gap larger than the spread over folds?",
             "Why does the transfer side's first fold take longer than its others?"),
            (*_side_facts(lesson, protocol),
             Fact(f"gain of transfer ({protocol})", round(lesson.gain_points, 1), "points")),
        ),
        StepReport(
            "As measured on the real tracks", "The same comparison when the shipped transfer model was built, on the "
            "70 real GTZAN tracks of gtzan_mini." + ("" if on_real else " The demo's synthetic sounds are unlike the "
            "music the network was pretrained on, so the demo understates what transfer gives on real music."),
            ("Why does pretraining help more on real music than on synthetic sounds?",),
            shipped_facts,
        ),
    )
    recipe = (f"cnn_small from scratch vs transfer_vgg (frozen musicnn VGG + genre layer), {lesson.folds}-fold grouped "
              f"CV, seed {lesson.seed}, {'real GTZAN tracks' if on_real else 'demo data'}")
    return WalkthroughReport(NAME, TITLE, recipe, size, steps)


REAL_DATA = RealData("gtzan-audio", "a GTZAN-style audio folder (e.g. gtzan_mini/genres)", True, run_on,
                     shared="gtzan_mini/genres")
SPEC = WalkthroughSpec(NAME, TITLE, run, REAL_DATA)

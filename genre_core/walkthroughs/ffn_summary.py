"""Walkthrough 3, feed-forward networks on summary features: a binary task (blues vs metal on the Kaggle GTZAN
table) with one sigmoid output and early stopping (patience 3), its batch size (32/64/128/256) and first-layer size
(64/128/256) chosen by 5-fold grouped cross-validation inside the training part only (the sweep engine; the test
tracks are never seen by the search), then the same recipe on every genre, and SHAP force plots of single test
tracks. The protocol (data, split, folds) is named beside every number.

On the synthetic demo (the default; no blues there, its rock stands in) the same steps run on windows of demo
tracks; ``run_on(size, progress, csv)`` runs them on the Kaggle table (`FEATURE_TABLE`)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from genre_core import paths
from genre_core.config import SUMMARY, FeatureConfig
from genre_core.evaluation import EvaluationReport
from genre_core.reports import HeadlineScores
from genre_core.synth import DEMO_GENRES
from genre_core.walkthroughs.engine import FULL, Progress, RealData, RunSize, StepFigure, StepForcePlot
from genre_core.walkthroughs.engine import WalkthroughReport, WalkthroughSpec

if TYPE_CHECKING:
    from genre_core.bundles import ModelBundle
    from genre_core.dataset import Dataset
    from genre_core.splits import Split
    from genre_core.sweep_results import BestSetting, SweepResult
    from genre_core.train_job import DatasetSource

NAME = "ffn-summary"
TITLE = "Feed-forward networks on summary features"
SEED = 42
PRESET = "ffn_mfcc"  #: Dense layers on the 57 summary features
PATIENCE = 3  #: early stopping on the validation loss
MAX_EPOCHS = 100  #: a full run's limit; early stopping ends sooner
REST_LAYERS = (128, 32)  #: ffn_mfcc's layers after the first, kept fixed
GTZAN_BINARY, DEMO_BINARY = ("blues", "metal"), ("metal", "rock")
FEATURE_TABLE = "gtzan_features_30_sec.csv"  #: the Kaggle table `--gtzan-csv` expects (one row per 30 s track)
OUTER_FOLD = 1  #: the artist-filtered fold whose evaluate list is the test part on GTZAN


@dataclass(frozen=True)
class SearchGrid:
    """The settings the search tries (every combination) and its folds of grouped cross-validation; a setting with
    one value is held fixed (not an axis of the search)."""

    batch_sizes: tuple[int, ...]
    first_layers: tuple[int, ...]  #: units of the first Dense layer; `REST_LAYERS` follow
    folds: int


FULL_GRID = SearchGrid((32, 64, 128, 256), (64, 128, 256), folds=5)
QUICK_GRID = SearchGrid((32,), (64, 256), folds=2)  #: every step, a token search: one axis of 2 points


@dataclass(frozen=True)
class Protocol:
    """How the numbers were made, in words: the ``data``, the ``split`` (train/test) and the ``search`` (folds)."""

    data: str
    split: str
    search: str


@dataclass(frozen=True)
class TaskRun:
    """The chosen recipe trained on the whole training part of one task and scored once on its test part:
    ``output_units`` of the last layer (1 for a sigmoid head), the history, the evaluation of every part, the
    headline test scores and the tracks on each side."""

    task: str
    class_names: tuple[str, ...]
    output: str
    output_units: int
    epochs_run: int
    stopped_early: bool
    history: dict[str, list[float]]
    evaluation: EvaluationReport
    test: HeadlineScores
    training_tracks: tuple[str, ...]  #: train and validation parts (the search's data)
    test_tracks: tuple[str, ...]


@dataclass(frozen=True)
class TrackForce:
    """A SHAP force plot of one test track (``window`` 1-based; 1 on the table, where a row is a track)."""

    track: str
    window: int
    true_class: str
    predicted_class: str
    probability: float
    markup: str


@dataclass(frozen=True)
class FfnSummaryResult:
    """Walkthrough 3: which data (``on_table``), the protocol, the search (`SweepResult`, its best setting with
    the noise rule), the binary and all-genre runs, the SHAP force plots, the report and the figures."""

    on_table: bool
    protocol: Protocol
    search: SweepResult
    best: BestSetting
    binary: TaskRun
    every_genre: TaskRun
    forces: tuple[TrackForce, ...]
    report: WalkthroughReport
    figures: tuple[StepFigure | StepForcePlot, ...]


def _sources(size: RunSize, csv: Path | None) -> tuple[DatasetSource, DatasetSource]:
    """The binary task's and the all-genre task's data."""
    from genre_core.train_job import DatasetSource
    from genre_core.walkthroughs.demo_data import demo_source

    if csv is None:
        config = FeatureConfig()
        return demo_source(size, config, DEMO_BINARY, (SUMMARY,)), demo_source(size, config, DEMO_GENRES, (SUMMARY,))
    table = DatasetSource(str(csv), kinds=(SUMMARY,))
    return DatasetSource(str(csv), genres=GTZAN_BINARY, kinds=(SUMMARY,)), table


def _outer_split(dataset: Dataset) -> tuple[Split, str]:
    """The train/validation/test split of a task and its words: GTZAN's artist-filtered fold when its lists name
    the tracks, else a track split."""
    from genre_core.splits import artist_filtered_split, grouped_split, unavailable_protocols

    if "artist-filtered" not in unavailable_protocols(dataset) and paths.ARTIST_SPLIT_DIR.is_dir():
        split = artist_filtered_split(dataset, paths.ARTIST_SPLIT_DIR, OUTER_FOLD, seed=SEED)
        return split, (f"artist-filtered fold {OUTER_FOLD} (Sturm): test = its evaluate list, validation carved "
                       "from its training list by artist")
    return grouped_split(dataset, seed=SEED), f"track split (seed {SEED}): 15 % of each genre's tracks for test"


def _search(source: DatasetSource, training_tracks: tuple[str, ...], grid: SearchGrid, epochs: int,
            say: Progress) -> SweepResult:
    """The grid searched by grouped k-fold cross-validation on the training tracks only (stored in the workspace,
    so a rerun reads the runs back)."""
    import dataclasses

    from genre_core.sweep import run_sweep
    from genre_core.sweep_spec import VAL_FRACTION, SweepSpec, make_axis
    from genre_core.train_config import TrainConfig

    values = {"batch_size": grid.batch_sizes, "hidden": tuple([first, *REST_LAYERS] for first in grid.first_layers)}
    fixed = {name: choices[0] for name, choices in values.items() if len(choices) == 1}
    base = TrainConfig(preset=PRESET, epochs=epochs, early_stopping_patience=PATIENCE, seed=SEED, output="sigmoid",
                       batch_size=fixed.get("batch_size", TrainConfig.batch_size),
                       hyper={"hidden": fixed["hidden"]} if "hidden" in fixed else {}).to_dict()
    axes = tuple(make_axis(name, choices, PRESET) for name, choices in values.items() if len(choices) > 1)
    artists = str(paths.ARTIST_SPLIT_DIR) if paths.ARTIST_SPLIT_DIR.is_dir() else None
    spec = SweepSpec(dataclasses.replace(source, tracks=training_tracks), base, axes, folds=grid.folds, seed=SEED,
                     val_fraction=VAL_FRACTION, dataset_title=f"{NAME}: training part", artists_dir=artists)
    folder = paths.DATA_DIR / "walkthroughs" / NAME / f"search-{spec.fingerprint}"

    def told(event: dict[str, object]) -> None:  # the sweep's events (`sweep.run_sweep`)
        if event.get("type") == "run" and event.get("fold") == 1:
            say(f"search: {event['label']} ({event['status']})")

    return run_sweep(spec, folder, emit=told)


def _train_task(task: str, dataset: Dataset, split: Split, config_values: dict[str, object]) -> tuple[TaskRun,
                                                                                                ModelBundle]:
    """Train the chosen recipe on ``split``'s training part and score its test part once; the run and its bundle."""
    from genre_core import bundles, reports
    from genre_core.train_config import TrainConfig
    from genre_core.training import train_model

    config = TrainConfig.from_dict(config_values)
    trained = train_model(dataset, split, config)
    bundle = bundles.bundle_from_training(trained, dataset, name=f"{NAME}_{config.output}")
    scored = reports.evaluate_bundle(bundle, dataset, split, with_baselines=False, seed=SEED)
    tracks = {part: tuple(sorted(set(dataset.track_ids[rows].tolist())))
              for part, rows in (("training", list(split.train) + list(split.val)), ("test", split.test))}
    run = TaskRun(task, tuple(dataset.class_names), config.output, int(trained.model.get_layer("logits").units),
                  trained.epochs_run, trained.stopped_early, trained.history, scored.report, scored.test,
                  tracks["training"], tracks["test"])
    return run, bundle


def _forces(bundle: ModelBundle, dataset: Dataset, split: Split) -> tuple[TrackForce, ...]:
    from genre_core.explain.gallery import shap_of_first_rows

    explained = shap_of_first_rows(bundle, dataset, split.test)
    if explained is None:
        return ()
    probabilities = bundle.predict_proba(dataset.features[SUMMARY][explained.rows])
    return tuple(
        TrackForce(str(dataset.track_ids[row]), int(dataset.segment_index[row]) + 1,
                   dataset.class_names[dataset.labels[row]], dataset.class_names[explained.predicted[index]],
                   float(probabilities[index, explained.predicted[index]]), explained.force_plot_markup(index))
        for index, row in enumerate(explained.rows)
    )


def run_on(size: RunSize, progress: Progress | None, csv: Path | None) -> FfnSummaryResult:
    """Run walkthrough 3 at ``size`` on the Kaggle table ``csv`` (None: on the demo data)."""
    from genre_core.walkthroughs.ffn_summary_report import figures, report

    say = progress or (lambda phase: None)
    grid = FULL_GRID if size == FULL else QUICK_GRID
    epochs = MAX_EPOCHS if size == FULL else size.epochs
    say("data")
    binary_source, every_source = _sources(size, csv)
    binary_data, _ = binary_source.load(n_jobs=1)
    binary_split, split_words = _outer_split(binary_data)
    training = tuple(sorted(set(binary_data.track_ids[list(binary_split.train) + list(binary_split.val)].tolist())))
    search = _search(binary_source, training, grid, epochs, say)
    best = search.best("accuracy")
    chosen = next(point for point in search.spec.points() if point.label == best.label)
    protocol = Protocol(
        data=(f"the Kaggle GTZAN table {csv} (57 summary features of each 30 s track, one row per track)"
              if csv is not None else f"the synthetic demo, {FeatureConfig().segments_per_track} windows per track "
              f"(57 summary features per window; no blues: its {DEMO_BINARY[1]} stands in)"),
        split=split_words,
        search=(f"{search.spec.folds}-fold cross-validation {search.grouping} on the {search.tracks} training tracks "
                "only (the test tracks are not in the search's data)"),
    )
    say("blues vs metal" if csv is not None else " vs ".join(DEMO_BINARY))
    binary, _ = _train_task("binary", binary_data, binary_split, chosen.train_config)
    say("every genre")
    every_data, _ = every_source.load(n_jobs=1)
    every_split, _ = _outer_split(every_data)
    every_config = {**chosen.train_config, "output": "softmax"}
    every_genre, bundle = _train_task("every genre", every_data, every_split, every_config)
    say("SHAP")
    forces = _forces(bundle, every_data, every_split)
    parts = dict(on_table=csv is not None, protocol=protocol, search=search, best=best, binary=binary,
                 every_genre=every_genre, forces=forces)
    return FfnSummaryResult(**parts, report=report(size, **parts), figures=figures(**parts))


def run(size: RunSize, progress: Progress | None = None) -> FfnSummaryResult:
    """Run walkthrough 3 at ``size`` on the demo data."""
    return run_on(size, progress, None)


REAL_DATA = RealData("gtzan-csv", f"the Kaggle GTZAN feature table ({FEATURE_TABLE})", False, run_on,
                     shared=FEATURE_TABLE)
SPEC = WalkthroughSpec(NAME, TITLE, run, REAL_DATA)

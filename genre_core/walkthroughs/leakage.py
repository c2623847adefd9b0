"""Walkthrough 4, leakage: the same model and recipe under a leaky segment split, a track split and (where the
dataset has artists) an artist-filtered split, side by side, with a plain explanation of why the numbers differ.
On the synthetic demo the artist-filtered split is not available (no artists): the report says so."""

from __future__ import annotations

from dataclasses import dataclass

from genre_core.config import SUMMARY, FeatureConfig
from genre_core.synth import DEMO_GENRES
from genre_core.walkthroughs.engine import Fact, Progress, RunSize, StepFigure, StepReport, WalkthroughReport
from genre_core.walkthroughs.engine import WalkthroughSpec

NAME = "leakage"
TITLE = "Leakage: the same model under three splits"
SEED = 0
PRESET = "ffn_mfcc"  #: the feed-forward network on the 57 summary features of each window
PROTOCOLS = ("leaky", "grouped", "artist-filtered")
PROTOCOL_WORDS = {
    "leaky": "leaky segment split (windows dealt out one by one)",
    "grouped": "track split (all windows of a song in one part)",
    "artist-filtered": "artist-filtered split (no artist on both sides)",
}
FEATURES = FeatureConfig()  #: the demo's own settings (10 windows per track), read from its cache


@dataclass(frozen=True)
class ProtocolScore:
    """The model's test scores under one split protocol (fractions), or why the protocol could not run."""

    protocol: str
    test_accuracy: float | None
    test_track_accuracy: float | None
    test_tracks: int
    unavailable: str | None = None


@dataclass(frozen=True)
class LeakageResult:
    """One `ProtocolScore` per protocol of `PROTOCOLS`, the report, and the test accuracies as bars (step 1)."""

    scores: tuple[ProtocolScore, ...]
    report: WalkthroughReport
    figures: tuple[StepFigure, ...]


def _figures(scores: tuple[ProtocolScore, ...]) -> tuple[StepFigure, ...]:
    from genre_core.walkthrough_figures import accuracy_bars_figure

    ran = [score for score in scores if score.unavailable is None]
    bars = accuracy_bars_figure([score.protocol for score in ran], [score.test_accuracy for score in ran],
                                [score.test_track_accuracy for score in ran])
    return (StepFigure(0, "test_accuracy", "Test accuracy under each split", bars),)


def run(size: RunSize, progress: Progress | None = None) -> LeakageResult:
    """Train `PRESET` with one recipe under each protocol the demo supports and score its test part."""
    from genre_core import bundles, reports
    from genre_core.splits import make_split, unavailable_protocols
    from genre_core.train_config import TrainConfig
    from genre_core.training import train_model
    from genre_core.walkthroughs.demo_data import demo_dataset

    say = progress or (lambda phase: None)
    say("data")
    dataset = demo_dataset(size, FEATURES, DEMO_GENRES, (SUMMARY,))
    missing = unavailable_protocols(dataset)
    config = TrainConfig(preset=PRESET, epochs=size.epochs, batch_size=32, seed=SEED)
    scores = []
    for protocol in PROTOCOLS:
        if protocol in missing:
            scores.append(ProtocolScore(protocol, None, None, 0, missing[protocol]))
            continue
        say(protocol)
        split = make_split(dataset, protocol, seed=SEED)
        bundle = bundles.bundle_from_training(train_model(dataset, split, config), dataset, name=f"{PRESET}_{protocol}")
        test = reports.evaluate_bundle(bundle, dataset, split, with_baselines=False, seed=SEED).test
        test_tracks = len(set(dataset.track_ids[split.test].tolist()))
        scores.append(ProtocolScore(protocol, test.accuracy, test.track_accuracy, test_tracks))
    return LeakageResult(tuple(scores), _report(size, tuple(scores)), _figures(tuple(scores)))


def _report(size: RunSize, scores: tuple[ProtocolScore, ...]) -> WalkthroughReport:
    def facts(score: ProtocolScore) -> tuple[Fact, ...]:
        if score.unavailable is not None:
            return (Fact(PROTOCOL_WORDS[score.protocol], f"not available: {score.unavailable}"),)
        return (Fact(f"{PROTOCOL_WORDS[score.protocol]}: test accuracy per window", score.test_accuracy, "%"),
                Fact(f"{PROTOCOL_WORDS[score.protocol]}: test accuracy per track", score.test_track_accuracy, "%"),
                Fact(f"{PROTOCOL_WORDS[score.protocol]}: test tracks", score.test_tracks))

    steps = (
        StepReport(
            "The same model, three ways to split", f"One recipe ({PRESET}, Adam, {size.epochs_text}, seed {SEED}) "
            "trained and tested under each split. Only the split changes.",
            ("Before looking: which split will give the highest test accuracy?",),
            tuple(fact for score in scores for fact in facts(score)),
        ),
        StepReport(
            "Why the numbers differ", "The leaky split tests on other windows of songs the model trained on: it "
            "recognises the recording (its mix, its instruments, its key), not the genre, so its score is inflated. "
            "The track split tests on unheard songs. The artist-filtered split also keeps each artist on one side: "
            "GTZAN has many songs per artist, and a model can learn an artist's sound instead of the genre.",
            ("By how many points does the leaky split flatter the model here?",
             "Which number would you report, and why?"),
            (),
        ),
    )
    return WalkthroughReport(NAME, TITLE, f"{PRESET}, Adam, {size.epochs_text}, seed {SEED}, demo genres", size,
                             steps)


SPEC = WalkthroughSpec(NAME, TITLE, run)

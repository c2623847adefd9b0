"""Training: the engine (`genre_core.training.train_model`) against a plain ``model.fit`` on the same arrays, and
seconds per epoch of the classroom set-up.

The data is the classroom's: the synthetic demo's 4 genres (`synth.DEMO_GENRES`, 25 tracks each), 10 windows per
track (the app's default), split by track (seed 42), generated and extracted first (not timed; the demo folder and
feature cache are the run's own, so a whole `make bench` makes them once, in the part "demo"). Per preset both sides train the same
settings (plain SGD, learning rate 0.01, batch 32, `EPOCHS` epochs per preset, validation on the val part every epoch) from a
fresh model, alternating, `RUNS` times: the engine's whole call (standardiser, inputs, model, compile, callbacks,
class weights, fit) against a plain ``build_model`` + ``compile`` + ``fit`` on inputs prepared before the clock
starts. The figure is the engine's samples per second over the plain fit's, per run.
"""

from __future__ import annotations

from pathlib import Path

from benchmarks.measure import RUNS, Result, seconds, summarise

ENGINE_GOAL = 0.9  #: the engine's samples/s over a plain model.fit's, at least
#: preset: epochs per fit (cnn_small's epoch takes ~10 s, so one is mostly fitting; the FFN's take ~0.6 s: 5 of
#: them keep a fit's fixed costs, which a real run of 80 epochs spreads thinly, from being most of what is compared)
EPOCHS = {"cnn_small": 1, "ffn_mfcc": 5}


def bench_training(workspace: Path) -> list[Result]:
    """The rows of the module docstring, and the classroom's seconds per epoch (``cnn_small``, the engine)."""
    import keras

    from genre_core import training
    from genre_core.audio_datasets import load_demo
    from genre_core.config import FeatureConfig
    from genre_core.inputs import dataset_features, prepare_inputs
    from genre_core.models import build_model, get_preset
    from genre_core.splits import grouped_split
    from genre_core.synth import DEMO_GENRES
    from genre_core.train_config import TrainConfig

    windows = FeatureConfig()  # the app's: 10 windows per track
    dataset, _ = load_demo(windows, genres=DEMO_GENRES, folder=workspace / "demo", cache_dir=workspace / "cache")
    split = grouped_split(dataset, seed=42)
    results = []
    for preset, epochs in EPOCHS.items():
        config = TrainConfig(preset=preset, optimizer="sgd", learning_rate=0.01, batch_size=32, epochs=epochs,
                             seed=42)
        kind = get_preset(preset).feature_kind
        standardizer = training.train_model(dataset, split, config).standardizer  # warm: kernels traced once
        features = dataset_features(dataset, kind)
        x_train, x_val = (prepare_inputs(features[rows], kind, standardizer) for rows in (split.train, split.val))
        y_train, y_val = dataset.labels[split.train], dataset.labels[split.val]

        def plain_fit() -> None:
            model = build_model(preset, x_train.shape[1:], dataset.n_classes)
            model.compile(optimizer=keras.optimizers.SGD(learning_rate=0.01), loss="sparse_categorical_crossentropy",
                          metrics=["accuracy"])
            model.fit(x_train, y_train, batch_size=32, epochs=epochs, validation_data=(x_val, y_val), shuffle=True,
                      verbose=0)

        engine, plain, per_epoch = [], [], []
        for _ in range(RUNS):
            engine.append(seconds(lambda config=config: per_epoch.append(
                training.train_model(dataset, split, config).train_seconds / epochs)))
            plain.append(seconds(plain_fit))
        samples = len(split.train) * epochs
        results.append(summarise(f"training engine vs plain model.fit, {preset} ({len(split.train)} windows x "
                                 f"{epochs} epochs): samples/s over plain", [one / two for one, two in
                                                                             zip(plain, engine, strict=True)],
                                 "x", f">= {ENGINE_GOAL:g}x", lambda value: value >= ENGINE_GOAL))
        results.append(summarise(f"training engine, {preset}: samples per second", [samples / one for one in engine],
                                 "samples/s"))
        if preset == "cnn_small":
            results.append(summarise(f"classroom set-up (4 demo genres, {windows.segments_per_track} windows per track, "
                                     f"cnn_small, SGD, batch 32): seconds per epoch (the fit, tracing included, "
                                     f"{epochs} epoch{'s' if epochs > 1 else ''} a run)",
                                     per_epoch, "s/epoch"))
    return results

"""Plain helpers shared by several test modules (fixtures live in conftest.py): tiny feature datasets, the
generated tone genres and bundles trained on them, the band CNN of the Grad-CAM and trust tests, encoded audio,
and AppTest helpers. No test module imports another; what two of them need is here.

TensorFlow is imported only inside the functions that build or train a model, so that importing this module
stays cheap for the tests that never touch a model.
"""

from __future__ import annotations

import base64
import functools
import io
import json
import os
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import soundfile as sf
from conftest import REPO_ROOT, tone
from streamlit.testing.v1 import AppTest

from genre_core import dataset_choice, reports
from genre_core.config import LOG_MEL, MFCC, SUMMARY, FeatureConfig
from genre_core.dataset import Dataset
from genre_core.evaluation import evaluate_predictions
from genre_core.features import SUMMARY_NAMES
from genre_core.splits import Split
from genre_core.walkthroughs.engine import QUICK, Fact, StepFigure, StepForcePlot, StepReport, WalkthroughReport
from genre_core.walkthroughs.stored import StoredWalkthrough
from pages import common

if TYPE_CHECKING:
    import keras

    from genre_core.evaluation import EvaluationReport
    from genre_core.explain.shap_values import ShapResult

APP = str(REPO_ROOT / "app.py")
TIMEOUT_S = 300  #: seconds an AppTest run may take (training and extraction run inside the page)

# --- dataset sources on disk (the table_datasets and datasets tests) -----------------------------------------
def kaggle_table(filenames: list[str], labels: list[str], seed: int = 0) -> pd.DataFrame:
    """A Kaggle-style feature table: ``filename``, ``length`` (3 s windows), the 57 summary columns (random
    normal values), ``label``."""
    values = np.random.default_rng(seed).normal(size=(len(filenames), len(SUMMARY_NAMES)))
    table = pd.DataFrame(values, columns=list(SUMMARY_NAMES))
    table.insert(0, "length", 66149)
    table.insert(0, "filename", filenames)
    table["label"] = labels
    return table


def save_split(root: Path, name: str, features: np.ndarray, labels: np.ndarray) -> None:
    """A ``.npy`` split folder ``<root>/<name>/`` with ``X.npy`` and ``labels.npy``."""
    (root / name).mkdir(parents=True)
    np.save(root / name / "X.npy", features)
    np.save(root / name / "labels.npy", labels)


def mfcc_json(path: Path, **extra) -> Path:
    """An MFCC JSON file of 4 rows of 3 frames x 2 coefficients, genres rock and blues; ``extra`` keys added."""
    rows = np.arange(4 * 3 * 2, dtype=float).reshape(4, 3, 2)
    path.write_text(json.dumps({"mapping": ["rock", "blues"], "labels": [0, 1, 1, 0], "mfcc": rows.tolist(), **extra}))
    return path


# --- tiny feature datasets ------------------------------------------------------------------------------------
#: Log-mel windows of 16 bands x 22 frames (2 s at 11025 Hz, hop 1024).
TINY_FEATURES = FeatureConfig(sample_rate=11025, track_seconds=4.0, segments_per_track=2, hop_length=1024, n_mels=16)


def tiny_dataset(
    rows: int = 48, n_classes: int = 3, feature_config: FeatureConfig | None = None, seed: int = 0
) -> Dataset:
    """``rows`` segments, 2 per track, with every feature kind and a class-dependent offset (learnable).

    Shapes: summary (rows, 57); log-mel (rows, 16, 20) dB and MFCC (rows, 20, 13), or the mel bands,
    frames and coefficients of ``feature_config`` when given.
    """
    rng = np.random.default_rng(seed)
    labels = (np.arange(rows) // 2) % n_classes
    n_mels, frames, n_mfcc = (16, 20, 13)
    if feature_config is not None:
        n_mels, frames, n_mfcc = feature_config.n_mels, feature_config.frames_per_segment, feature_config.n_mfcc
    offset = labels.astype(np.float32)
    features = {
        SUMMARY: rng.normal(size=(rows, 57)).astype(np.float32) + offset[:, None],
        LOG_MEL: (rng.normal(-40.0, 5.0, size=(rows, n_mels, frames)) + 4 * offset[:, None, None]).astype(np.float32),
        MFCC: rng.normal(size=(rows, frames, n_mfcc)).astype(np.float32) + offset[:, None, None],
    }
    return Dataset(
        class_names=[f"class{index}" for index in range(n_classes)],
        labels=labels.astype(np.int64),
        track_ids=np.array([f"track{row // 2:03d}" for row in range(rows)]),
        segment_index=np.arange(rows) % 2,
        features=features,
        source="tiny-test-data",
        feature_config=feature_config,
    )


def tiny_split(rows: int = 48) -> Split:
    """First two thirds train, next sixth validation, last sixth test (track boundaries are even rows)."""
    train_end, val_end = 2 * rows // 3, 5 * rows // 6
    return Split(
        train=np.arange(train_end),
        val=np.arange(train_end, val_end),
        test=np.arange(val_end, rows),
        protocol="grouped",
        seed=0,
    )


# --- generated tone genres ------------------------------------------------------------------------------------
#: 2 s windows of 4 s tracks at 11025 Hz, 32 mel bands x 44 frames: cheap to extract and to train on.
TONE_CONFIG = FeatureConfig(sample_rate=11025, track_seconds=4.0, segments_per_track=2, n_mels=32, n_mfcc=13)
#: Genre -> frequency band (Hz) of the noise of each of its tracks; track 4 of "low" sounds high, a deliberate
#: mislabelling that a model which learned the genres gets wrong.
TONE_GENRES = {
    "high": [(2000.0, 5000.0)] * 5,
    "low": [(50.0, 400.0)] * 4 + [(2000.0, 5000.0)],
}
#: Tracks of the test part of `tone_split` (one clean and one mislabelled "low" track, one "high" track).
TONE_TEST_TRACKS = ("high.00004", "low.00003", "low.00004")
#: Genre -> pitch (Hz) of the pure tones of `make_tone_folder`.
TONE_PITCHES = {"blues": 220.0, "jazz": 440.0, "rock": 880.0}
#: A small `cnn_small` for the tone genres.
TONE_CNN = {"filters": [4, 8], "dense": [16], "l2": 0.0}


def band_noise(low_hz: float, high_hz: float, seconds: float, sample_rate: int, rng: np.random.Generator) -> np.ndarray:
    """Seeded white noise kept between ``low_hz`` and ``high_hz``: (samples,) float32, peak 0.5."""
    length = int(round(seconds * sample_rate))
    spectrum = np.fft.rfft(rng.normal(size=length))
    frequencies = np.fft.rfftfreq(length, 1.0 / sample_rate)
    samples = np.fft.irfft(np.where((frequencies >= low_hz) & (frequencies <= high_hz), spectrum, 0.0), n=length)
    return (0.5 * samples / np.abs(samples).max()).astype(np.float32)


def write_tone_genres(root: Path, config: FeatureConfig = TONE_CONFIG) -> Path:
    """``<root>/<genre>/<genre>.0000N.wav``: the `TONE_GENRES` noise bands with a quiet tone; returns root."""
    rng = np.random.default_rng(0)
    for genre, bands in TONE_GENRES.items():
        (root / genre).mkdir(parents=True, exist_ok=True)
        for index, (low_hz, high_hz) in enumerate(bands):
            samples = band_noise(low_hz, high_hz, config.track_seconds, config.sample_rate, rng)
            samples += tone(low_hz + 100.0 * index, config.track_seconds, config.sample_rate, amplitude=0.1)
            sf.write(root / genre / f"{genre}.{index:05d}.wav", samples, config.sample_rate)
    return root


def make_tone_folder(root: Path, tracks_per_genre: int = 3) -> Path:
    """A GTZAN-style folder ``<root>/<genre>/<genre>.0000N.wav`` of `TONE_CONFIG` tracks: one pitch per genre
    (`TONE_PITCHES`), slightly detuned per track."""
    for genre, frequency in TONE_PITCHES.items():
        (root / genre).mkdir(parents=True)
        for track in range(tracks_per_genre):
            samples = tone(frequency * (1 + 0.03 * track), TONE_CONFIG.track_seconds, TONE_CONFIG.sample_rate)
            sf.write(root / genre / f"{genre}.{track:05d}.wav", samples, TONE_CONFIG.sample_rate)
    return root


def tone_split(dataset: Dataset) -> Split:
    """Test part: `TONE_TEST_TRACKS`; validation: one track per genre; training: the rest."""
    test = np.isin(dataset.track_ids, TONE_TEST_TRACKS)
    val = np.isin(dataset.track_ids, ("high.00003", "low.00002"))
    return Split(
        train=np.flatnonzero(~(test | val)), val=np.flatnonzero(val), test=np.flatnonzero(test), protocol="grouped"
    )


def train_saved_bundle(
    dataset: Dataset, preset: str, folder: Path, hyper: dict, split: Split | None = None, epochs: int = 4
) -> Path:
    """Train ``preset`` on ``split`` (default: `tone_split`) of ``dataset`` and save it as a bundle in ``folder``."""
    from genre_core import bundles, train_config, training

    config = train_config.TrainConfig(preset=preset, hyper=hyper, epochs=epochs, batch_size=4, learning_rate=0.01)
    result = training.train_model(dataset, tone_split(dataset) if split is None else split, config)
    return bundles.save_bundle(bundles.bundle_from_training(result, dataset, name=folder.name), folder)


# --- a CNN whose evidence lies in known frequency bands --------------------------------------------------------
BAND_SHAPE = (32, 40)  #: (mel bands, frames) of the band spectrograms: deliberately not square
#: Rows holding the evidence of the band classes; class 2 ("none") is noise only.
BANDS = {0: (0, 8), 1: (24, 32)}


def build_cnn(input_shape: tuple[int, int] = BAND_SHAPE, n_classes: int = 3, seed: int = 0) -> keras.Model:
    """Two Conv2D + MaxPool blocks, global pooling, Dense ``logits``, softmax ``probabilities``."""
    import keras

    keras.utils.set_random_seed(seed)
    inputs = keras.Input((*input_shape, 1))
    x = keras.layers.Conv2D(8, 3, padding="same", activation="relu", name="conv1")(inputs)
    x = keras.layers.MaxPooling2D(2, name="pool1")(x)
    x = keras.layers.Conv2D(16, 3, padding="same", activation="relu", name="conv2")(x)
    x = keras.layers.MaxPooling2D(2, name="pool2")(x)
    x = keras.layers.GlobalAveragePooling2D(name="gap")(x)
    logits = keras.layers.Dense(n_classes, name="logits")(x)
    return keras.Model(inputs, keras.layers.Activation("softmax", name="probabilities")(logits))


def band_data(rows: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Noise spectrograms (rows, 32, 40, 1) and labels (rows,): class 0 has extra energy in rows 0–7,
    class 1 in rows 24–31, class 2 none."""
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 3, rows)
    inputs = rng.normal(0.0, 1.0, (rows, *BAND_SHAPE, 1)).astype(np.float32)
    for row, label in enumerate(labels):
        if label in BANDS:
            low, high = BANDS[label]
            inputs[row, low:high] += 2.0
    return inputs, labels


@functools.cache
def trained_band_model() -> keras.Model:
    """`build_cnn` trained (fixed seed) on `band_data` to test accuracy >= 0.95; trained once per process."""
    import keras

    model = build_cnn()
    model.compile(keras.optimizers.Adam(0.01), "sparse_categorical_crossentropy")
    inputs, labels = band_data(256, seed=0)
    model.fit(inputs, labels, epochs=8, batch_size=32, verbose=0)
    test_inputs, test_labels = band_data(64, seed=1)
    accuracy = np.mean(model.predict(test_inputs, verbose=0).argmax(axis=1) == test_labels)
    assert accuracy >= 0.95, f"band model reached only {accuracy:.2f}"
    return model


# --- encoded audio --------------------------------------------------------------------------------------------
def wav_bytes(samples: np.ndarray, rate: int, format: str = "WAV", subtype: str | None = None) -> bytes:
    """``samples`` encoded as a ``format`` file (soundfile's default subtype unless given)."""
    buffer = io.BytesIO()
    sf.write(buffer, samples, rate, format=format, subtype=subtype)
    return buffer.getvalue()


# --- processes ------------------------------------------------------------------------------------------------
def process_alive(pid: int) -> bool:
    """Whether a process with id ``pid`` exists (a finished worker that was joined does not)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


# --- AppTest ----------------------------------------------------------------------------------------------------
def share_dataset(spec: dataset_choice.DatasetSpec, dataset: Dataset) -> dataset_choice.DatasetSpec:
    """Put ``dataset`` into the app's shared dataset store under ``spec``, as the Data page does after loading,
    so that pages find it without extracting the summary features they do not need (slow on real audio)."""
    common._shared_datasets().put(dataset_choice.dataset_key(spec), dataset_choice.LoadedDataset(dataset))
    return spec


def open_page(page: str, spec: dataset_choice.DatasetSpec, query: dict[str, str] | None = None, **state: object) -> AppTest:
    """The app switched to ``page`` (e.g. "pages/train.py") with ``spec`` loaded, ``query`` in its URL's query
    parameters and ``state`` (session-state key -> value) in its session. It runs as in a browser, inside app.py
    (navigation, sidebar), not as the page script alone: that would depend on whether an earlier test had already
    run app.py in the process."""
    app = AppTest.from_file(APP, default_timeout=TIMEOUT_S)
    app.query_params.update(query or {})
    app.session_state[common.DATASET_SPEC_KEY] = spec
    app.session_state[common.DATASET_READY_KEY] = True
    for key, value in state.items():
        app.session_state[key] = value
    app.run()
    return app.switch_page(page).run()


def active_bundle(role: str, folder: Path | str | None) -> dict[str, str | None]:
    """The session state (for `open_page`) that makes ``folder`` the active ``role`` model; None: no model."""
    return {common.BUNDLE_KEYS[role]: None if folder is None else str(Path(folder).resolve())}


def charts(app: AppTest) -> dict[str, dict]:
    """The plotly figures on the page (as JSON) by their widget key."""
    return {chart.key: json.loads(chart.proto.spec) for chart in app.get("plotly_chart")}


def plotly_array(values: object) -> np.ndarray:
    """A trace attribute of a figure's JSON as an array: a plain list, or plotly's typed form of a NumPy array,
    ``{"dtype", "bdata" (base64), "shape" (optional, e.g. "3, 4")}``."""
    if isinstance(values, dict) and "bdata" in values:
        shape = tuple(int(size) for size in str(values.get("shape", "-1")).split(","))
        return np.frombuffer(base64.b64decode(values["bdata"]), dtype=values["dtype"]).reshape(shape)
    return np.asarray(values)


def messages(elements: object) -> str:
    """The texts of a list of AppTest elements (errors, captions, ...) joined by " | "."""
    return " | ".join(element.value for element in elements)


def noisy_probabilities(dataset: Dataset, seed: int = 0, right_share: float = 0.7) -> np.ndarray:
    """(rows, K) class probabilities that favour the true class in about ``right_share`` of the rows (a
    scored model without training one)."""
    rng = np.random.default_rng(seed)
    scores = rng.random((len(dataset), dataset.n_classes))
    favoured = np.where(rng.random(len(dataset)) < right_share, dataset.labels,
                        rng.integers(0, dataset.n_classes, len(dataset)))
    scores[np.arange(len(dataset)), favoured] += 1.5
    return scores / scores.sum(axis=1, keepdims=True)


def scored_evaluation(dataset: Dataset, split: Split, seed: int = 0) -> reports.BundleEvaluation:
    """A `reports.BundleEvaluation` of `noisy_probabilities` on ``split`` (as `reports.evaluate_bundle` builds it)."""
    parts = {part: getattr(split, part) for part in reports.PARTS}
    report = evaluate_predictions(noisy_probabilities(dataset, seed), dataset.labels, dataset.track_ids,
                                  dataset.class_names, parts)
    return reports.BundleEvaluation(
        model="noisy-model", dataset=dataset.source, report=report, test=reports.headline_scores(report),
        baselines={"majority_accuracy": 0.34, "majority_macro_f1": 0.17}, split=reports.split_summary(dataset, split),
        warnings=("synthetic data: scores on generated audio say nothing about real music",),
    )


def synthetic_shap_result(class_names: tuple[str, ...] = ("blues", "metal", "pop")) -> ShapResult:
    """A consistent `ShapResult` built without a model: 8 rows, the 57 summary features, 3 classes."""
    from genre_core.explain.shap_values import ShapResult
    from genre_core.features import SUMMARY_NAMES

    rng = np.random.default_rng(3)
    n_features = len(SUMMARY_NAMES)
    values = rng.normal(scale=rng.uniform(0.01, 1.0, size=(1, n_features, 1)), size=(8, n_features, 3))
    base_values = np.array([0.5, -0.2, 0.1])
    return ShapResult(values=values, base_values=base_values, outputs=values.sum(axis=1) + base_values,
                      inputs=rng.normal(size=(8, n_features)), feature_names=SUMMARY_NAMES,
                      class_names=class_names, method="deep", output="logits")


def read_pairs(path: Path) -> dict[str, str]:
    """A published artist-filtered split list → {track id: value}, independent of the code under test."""
    pairs = (line.split("\t") for line in path.read_text().splitlines() if line.strip())
    return {name[2:-4].replace("_", "."): value for name, value in pairs}


def published_artists(split_dir: Path) -> dict[str, str]:
    """Track id → artist id over every published artist list (`read_pairs`)."""
    artists: dict[str, str] = {}
    for fold in (1, 2, 3):
        for part in ("train", "evaluate"):
            artists.update(read_pairs(split_dir / f"f{fold}_{part}_groups.txt"))
    return artists


# --- walkthroughs ------------------------------------------------------------------------------------------------
def handmade_walkthrough() -> StoredWalkthrough:
    """A walkthrough made without running one: two steps with facts of every value type, a figure under each step
    and a force plot under the second."""
    report = WalkthroughReport("demo-walk", "A walk", "ffn, Adam, 1 epoch", QUICK, (
        StepReport("First", "What the first step shows.", ("Why?",),
                   (Fact("tracks", 16), Fact("accuracy", 0.625, "%"))),
        StepReport("Second", "What the second shows.", ("How?", "And then?"), (Fact("note", "not available"),)),
    ))
    bars = go.Figure(go.Bar(x=["a", "b"], y=[0.25, 0.75]))
    line = go.Figure(go.Scatter(x=[1, 2, 3], y=[3.0, 2.0, 1.5]))
    return StoredWalkthrough(report, (StepFigure(0, "bars", "Bars", bars), StepFigure(1, "curve", "Curve", line),
                                      StepForcePlot(1, "Force plot of track 3", "<div id='force'>f</div>")))


def noisy_evaluation(class_names: list[str]) -> EvaluationReport:
    """Scores of noisy predictions (seed 0) of 3 classes on 12 tracks of 3 windows each (train: 6 tracks, val 3,
    test 3), made by `genre_core.evaluation.evaluate_predictions`."""
    from genre_core import evaluation

    rng = np.random.default_rng(0)
    labels = np.repeat(np.arange(12) % 3, 3)
    track_ids = np.repeat([f"t{index:02d}" for index in range(12)], 3)
    probabilities = rng.dirichlet(np.ones(3), size=len(labels))
    probabilities[np.arange(len(labels)), labels] += rng.uniform(0.0, 1.0, size=len(labels))
    probabilities /= probabilities.sum(axis=1, keepdims=True)
    parts = {"train": np.arange(18), "val": np.arange(18, 27), "test": np.arange(27, 36)}
    return evaluation.evaluate_predictions(probabilities, labels, track_ids, class_names, parts)


def two_class_baseline_scores() -> dict[str, float]:
    """`genre_core.baselines.baseline_scores` of two shifted Gaussian classes (seed 1; 20 rows each side)."""
    from genre_core import baselines

    rng = np.random.default_rng(1)
    x = rng.normal(size=(40, 4)) + np.repeat(np.arange(2), 20)[:, None]
    y = np.repeat(np.arange(2), 20)
    return baselines.baseline_scores(x[::2], y[::2], x[1::2], y[1::2])


def three_fold_protocol_comparison() -> dict:
    """`genre_core.baselines.compare_protocols` of 3 shifted Gaussian classes on 36 one-row tracks (seed 2) over 3
    given folds."""
    from genre_core import baselines

    rng = np.random.default_rng(2)
    labels = np.repeat(np.arange(3), 12)
    features = rng.normal(size=(36, 5)) + labels[:, None]
    track_ids = np.array([f"t{index}" for index in range(36)])
    folds = [(np.flatnonzero(np.arange(36) % 3 != k), np.flatnonzero(np.arange(36) % 3 == k)) for k in range(3)]
    return baselines.compare_protocols(features, labels, track_ids, folds)

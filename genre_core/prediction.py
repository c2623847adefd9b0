"""Classify any audio file with one or more model bundles: a verdict per window over time and per song.

Per song: `audio.load_audio` → `audio.segment_audio` with the bundle's `FeatureConfig` →
`features.segment_features` (the one place features are computed) → `ModelBundle.predict_proba`. The
song's probabilities are the mean of its windows' (as `evaluation.track_level` does for datasets).

A song goes through in blocks of `block_windows` windows (32 of 3 s, 3 of 30 s): each block is cut from the
samples, featurised and handed to one model thread, which classifies it while the next block (or the next
bundle's) is featurised. Only one block's windows and spectra exist at a time, so beyond the decoded samples
(at most `audio.MAX_DECODE_SECONDS`) and the per-window features and probabilities a song's memory does not
grow with its length; the results equal those of the whole song in one block.

Several bundles on one file: the file is decoded once, at the highest sample rate any of them needs; the
other rates are resampled from those samples (one resampling per distinct rate), and windows and features
are computed once per distinct setting and shared.

Bundles trained on a whole-track summary table (the Kaggle ``features_30_sec.csv``: one row of 57
statistics per 30 s GTZAN track, so ``feature_config`` is None) see the song as it was seen in training:
30 s windows at 22050 Hz (`WHOLE_TRACK_CONFIG`), one row of statistics per window, probabilities averaged
over the windows of a longer song. The statistics of a final partial window (at least 15 s) are taken over
the audio actually present, never over zero padding, which would shift every mean and variance; a song shorter
than 15 s (but at least `MIN_STATISTICS_SECONDS`) is read as one window of the audio present, with a note
saying so. Bundles
that carry a `FeatureConfig` (audio datasets, and ``features_3_sec.csv``, see `table_datasets.kaggle_windows`)
get exactly the windows and features their training rows had, padding
included.

Each model classifies what it can: a song too short for one model's windows gets an `Unclassified` result for
that model (with the reason) while the others classify it (`FilePredictions.results`). This module does not
import TensorFlow: it only calls the bundles it is given.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, overload

import numpy as np

from genre_core import audio, features
from genre_core.blas_threads import one_blas_thread
from genre_core.config import SUMMARY, FeatureConfig
from genre_core.errors import GenreLensError, InputError
from genre_core.evaluation import track_level

if TYPE_CHECKING:
    from genre_core.bundles import ModelBundle

#: Windows of bundles trained on whole 30 s tracks of a summary table (the Kaggle GTZAN CSV).
WHOLE_TRACK_CONFIG = FeatureConfig(sample_rate=22050, track_seconds=30.0, segments_per_track=1)
#: s, the shortest song whose statistics a whole-track bundle reads (the window of the Kaggle 3 s table).
MIN_STATISTICS_SECONDS = 3.0

AudioSource = str | Path | bytes
ProgressCallback = Callable[[int, int], None]


@dataclass
class SongPrediction:
    """One bundle's verdict on one song.

    - ``segment_probabilities``: (segments, K) float32, each row sums to 1
    - ``segment_starts``: (segments,) float64, s, where each window starts in the song
    - ``track_probabilities``: (K,) float64, mean of ``segment_probabilities`` over the windows
    - ``vote_index``: class predicted for most windows (a tie goes to the tied class with the highest mean)
    - ``features``: (segments, *bundle.feature_shape) float32, the raw (unstandardised) features the model
      saw, e.g. (segments, 57) summary or (segments, n_mels, frames) log-mel, for Grad-CAM and SHAP
    - ``feature_config``: the windowing and feature settings used (`WHOLE_TRACK_CONFIG` for whole-track
      summary bundles); ``duration_seconds``: length of the decoded audio in s
    - ``note``: one sentence when the model saw the song differently from its training data (a song shorter
      than one window, read from the audio present), else None
    """

    name: str
    bundle_name: str
    class_names: list[str]
    feature_kind: str
    feature_config: FeatureConfig
    duration_seconds: float
    segment_starts: np.ndarray
    segment_probabilities: np.ndarray
    track_probabilities: np.ndarray
    vote_index: int
    features: np.ndarray
    note: str | None = None

    @property
    def n_segments(self) -> int:
        return len(self.segment_starts)

    @property
    def segment_seconds(self) -> float:
        """Length of one window in s."""
        return self.feature_config.segment_seconds

    @property
    def predicted_index(self) -> int:
        """Class with the highest mean probability (the song's prediction)."""
        return int(np.argmax(self.track_probabilities))

    @property
    def genre(self) -> str:
        """Name of `predicted_index`."""
        return self.class_names[self.predicted_index]

    @property
    def vote_genre(self) -> str:
        """Name of the majority-vote class."""
        return self.class_names[self.vote_index]

    @property
    def segment_predictions(self) -> np.ndarray:
        """(segments,) int64, the most probable class of each window."""
        return self.segment_probabilities.argmax(axis=1).astype(np.int64)

    def top(self, k: int = 3) -> list[tuple[str, float]]:
        """The ``k`` most probable classes of the song as (name, mean probability), highest first."""
        order = np.argsort(-self.track_probabilities, kind="stable")[: max(k, 0)]
        return [(self.class_names[index], float(self.track_probabilities[index])) for index in order]

    def to_dict(self, top: int | None = None) -> dict[str, Any]:
        """JSON-serialisable summary (no features): song verdict, then one entry per window.

        ``top`` limits the listed probabilities to the most probable classes (default: all)."""
        k = len(self.class_names) if top is None else top
        return {
            "name": self.name,
            "model": self.bundle_name,
            "genre": self.genre,
            "vote": self.vote_genre,
            "duration_s": round(self.duration_seconds, 3),
            "segment_s": self.segment_seconds,
            **({"note": self.note} if self.note else {}),
            "probabilities": dict(self.top(k)),
            "segments": [
                {
                    "start_s": round(float(start), 3),
                    "genre": self.class_names[int(np.argmax(row))],
                    "probabilities": {
                        self.class_names[index]: float(row[index])
                        for index in np.argsort(-row, kind="stable")[: max(k, 0)]
                    },
                }
                for start, row in zip(self.segment_starts, self.segment_probabilities, strict=True)
            ],
        }


@dataclass(frozen=True)
class Unclassified:
    """One bundle's answer for a song it cannot classify (too short for one of its windows): the bundle's
    name and the reason, one line without the song's name (e.g. ``"too short: 1.00 s, need at least 1.50 s
    for one 3.00 s window"``)."""

    bundle_name: str
    reason: str


ModelResult = SongPrediction | Unclassified


@dataclass
class FilePredictions:
    """What `predict_many` made of one input: one `ModelResult` per bundle in bundle order, or (``results``
    empty) the reason the file could not be read at all."""

    name: str
    results: list[ModelResult]
    error: str | None = None  #: ``"<name>: <reason>"`` when the file could not be decoded

    @property
    def ok(self) -> bool:
        return self.error is None

    @property
    def predictions(self) -> list[SongPrediction]:
        """The results of the bundles that classified the song, in bundle order."""
        return [result for result in self.results if isinstance(result, SongPrediction)]


def analysis_config(bundle: ModelBundle) -> FeatureConfig:
    """The windows and feature settings under which ``bundle`` classifies audio.

    The bundle's own `FeatureConfig`, or `WHOLE_TRACK_CONFIG` for a 57-column summary bundle trained on a
    whole-track feature table (``features_30_sec.csv``). Raises `InputError` for a bundle whose training features cannot be computed from audio
    (an MFCC JSON or ``.npy`` source without recorded settings).
    """
    if bundle.feature_config is not None:
        return bundle.feature_config
    if bundle.feature_kind == SUMMARY and bundle.feature_shape == (len(features.SUMMARY_NAMES),):
        return WHOLE_TRACK_CONFIG
    raise InputError(
        f"model '{bundle.name}'",
        f"was trained on {bundle.feature_kind} features {bundle.feature_shape} without recorded feature settings, "
        "so they cannot be computed from audio",
    )


def _trims_padding(bundle: ModelBundle) -> bool:
    """True for whole-track summary bundles: their training rows never contained zero padding."""
    return bundle.feature_config is None


def _label(source: AudioSource, name: str | None) -> str:
    if name:
        return name
    return "audio bytes" if isinstance(source, (bytes, bytearray)) else str(source)


class _Song:
    """One decoded song, with its samples cached per rate and its features per setting."""

    def __init__(self, source: AudioSource, label: str, sample_rates: set[int]) -> None:
        self.label = label
        self.top_rate = max(sample_rates)
        decoded = audio.load_audio(source, self.top_rate, name=label)
        self.duration_seconds = len(decoded) / self.top_rate
        self._samples = {self.top_rate: decoded}
        self._features: dict[tuple[FeatureConfig, str, bool], list[np.ndarray]] = {}

    def samples(self, sample_rate: int) -> np.ndarray:
        """(samples,) float32 mono at ``sample_rate``, resampled from the decoded samples once per rate."""
        if sample_rate not in self._samples:
            import librosa

            resampled = librosa.resample(
                self._samples[self.top_rate], orig_sr=self.top_rate, target_sr=sample_rate, res_type="soxr_hq"
            )
            self._samples[sample_rate] = np.ascontiguousarray(resampled, dtype=np.float32)
        return self._samples[sample_rate]

    def shorter_than_a_window(self, config: FeatureConfig) -> bool:
        """Whether the song is too short for even one window of ``config`` (see `audio.segment_audio`)."""
        return self.duration_seconds < config.min_remainder * config.segment_seconds

    def feature_blocks(self, config: FeatureConfig, kind: str, trim_padding: bool) -> Iterator[np.ndarray]:
        """The song's (segments, ...) float32 features of ``kind``, block by block in window order: each block
        holds at most `block_windows` windows, and only one block's windows and spectra exist at a time.

        With ``trim_padding`` a padded final window is featurised over the samples it really holds, and a song
        shorter than one window but at least `MIN_STATISTICS_SECONDS` long is one window of the audio present.
        Raises `InputError` (naming the song) for a song too short for that, or for one window. Blocks computed
        once are kept, so bundles with the same setting share them."""
        key = (config, kind, trim_padding)
        if key in self._features:
            yield from self._features[key]
            return
        if trim_padding and self.shorter_than_a_window(config):
            if self.duration_seconds < MIN_STATISTICS_SECONDS:
                raise InputError(self.label, f"too short: {self.duration_seconds:.2f} s, need at least "
                                             f"{MIN_STATISTICS_SECONDS:.2f} s of audio for its statistics")
            config = dataclasses.replace(config, min_remainder=MIN_STATISTICS_SECONDS / config.segment_seconds)
        samples = self.samples(config.sample_rate)
        width = config.segment_samples
        n_windows = audio.segment_count(len(samples), config, name=self.label)
        present = len(samples) - (n_windows - 1) * width  # samples in the last window, before its padding
        step = block_windows(config)
        blocks: list[np.ndarray] = []
        for first in range(0, n_windows, step):
            last = min(first + step, n_windows)
            windows = audio.segment_audio(samples[first * width : last * width], config, name=self.label)
            if trim_padding and last == n_windows and present < width:
                tail = features.segment_features(windows[-1:, :present], config, [kind])[kind]
                head = features.segment_features(windows[:-1], config, [kind])[kind] if len(windows) > 1 else tail[:0]
                block = np.concatenate([head, tail])
            else:
                block = features.segment_features(windows, config, [kind])[kind]
            blocks.append(block)
            yield block
        self._features[key] = blocks


def block_windows(config: FeatureConfig) -> int:
    """Windows of ``config`` whose features a song computes and classifies as one block
    (`features.batch_windows`: 32 windows of 3 s at 22050 Hz, 3 windows of 30 s), so that the memory a song
    needs beyond its samples and per-window results does not grow with its length."""
    return features.batch_windows(config.segment_samples)


def _short_song_note(song: _Song, config: FeatureConfig) -> str:
    return (f"The song is {song.duration_seconds:.1f} s long, shorter than the {config.segment_seconds:g} s clips "
            f"this model was trained on: it reads statistics over the {song.duration_seconds:.1f} s present, "
            "so its verdict is less sure than on a whole clip.")


@dataclass(frozen=True)
class _Classifying:
    """A bundle's verdict under way: its feature blocks, and the probabilities of each (a (block, K) float32
    array each) being computed by the models' thread."""

    bundle: ModelBundle
    config: FeatureConfig
    feature_blocks: list[np.ndarray]
    probability_blocks: list[Future[np.ndarray]]
    note: str | None


def _start_song(song: _Song, bundle: ModelBundle, models: ThreadPoolExecutor) -> _Classifying | Unclassified:
    """Compute the song's features for ``bundle`` block by block, handing each block to ``models`` to classify
    while the next is computed; `Unclassified` when the song is too short for the bundle's windows."""
    config = analysis_config(bundle)
    feature_blocks: list[np.ndarray] = []
    probability_blocks: list[Future[np.ndarray]] = []
    try:
        for block in song.feature_blocks(config, bundle.feature_kind, _trims_padding(bundle)):
            feature_blocks.append(block)
            probability_blocks.append(models.submit(bundle.predict_proba, block))
    except InputError as error:
        if error.source != song.label:
            raise
        return Unclassified(bundle.name, error.reason)
    note = _short_song_note(song, config) if _trims_padding(bundle) and song.shorter_than_a_window(config) else None
    return _Classifying(bundle, config, feature_blocks, probability_blocks, note)


def _finish_song(song: _Song, classifying: _Classifying) -> SongPrediction:
    """The `SongPrediction` of a verdict under way, once its blocks are classified."""
    bundle, config = classifying.bundle, classifying.config
    probabilities = np.concatenate([block.result() for block in classifying.probability_blocks])
    n_segments = len(probabilities)
    track = track_level(probabilities, np.full(n_segments, song.label), np.zeros(n_segments, dtype=np.int64))
    return SongPrediction(
        name=song.label,
        bundle_name=bundle.name,
        class_names=list(bundle.class_names),
        feature_kind=bundle.feature_kind,
        feature_config=config,
        duration_seconds=song.duration_seconds,
        segment_starts=audio.segment_start_seconds(n_segments, config),
        segment_probabilities=probabilities,
        track_probabilities=track.mean_probabilities[0],
        vote_index=int(track.vote_prediction[0]),
        features=np.concatenate(classifying.feature_blocks),
        note=classifying.note,
    )


def _as_list(bundles: ModelBundle | Sequence[ModelBundle]) -> list[ModelBundle]:
    chosen = list(bundles) if isinstance(bundles, (list, tuple)) else [bundles]
    if not chosen:
        raise InputError("models", "no model bundle given")
    return chosen


def _predict_all(bundles: list[ModelBundle], source: AudioSource, label: str) -> list[ModelResult]:
    """Every bundle's verdict on one song: the features of the next block (or the next bundle) are computed
    while one thread runs the models on the blocks already done (TensorFlow and numpy release the GIL).

    BLAS runs on one thread meanwhile, as in extraction: the two threads already fill two cores, and BLAS
    threads spinning against them and TensorFlow's made the small matrix products (the mel and chroma filter
    banks) up to 10x slower; the values are the same."""
    song = _Song(source, label, {analysis_config(bundle).sample_rate for bundle in bundles})
    with (one_blas_thread(),
          ThreadPoolExecutor(max_workers=1, thread_name_prefix="genrelens-verdict") as models):
        started = [_start_song(song, bundle, models) for bundle in bundles]
        return [result if isinstance(result, Unclassified) else _finish_song(song, result) for result in started]


@overload
def predict_file(bundles: ModelBundle, source: AudioSource, *, name: str | None = None) -> SongPrediction: ...


@overload
def predict_file(
    bundles: Sequence[ModelBundle], source: AudioSource, *, name: str | None = None
) -> list[SongPrediction]: ...


def predict_file(
    bundles: ModelBundle | Sequence[ModelBundle], source: AudioSource, *, name: str | None = None
) -> SongPrediction | list[SongPrediction]:
    """Classify one audio file (a path, or the raw bytes of an upload) with one bundle or several.

    ``name`` labels the song in results and error messages (default: the path, or ``"audio bytes"``).
    Returns a `SongPrediction` for one bundle, a list in bundle order for a list or tuple of bundles (the
    file is then decoded once). Raises `InputError` for audio that cannot be decoded or that a bundle cannot
    classify (too short for one of its windows), and for a bundle whose features cannot be computed from
    audio; `predict_many` instead lets each bundle classify what it can.
    """
    label = _label(source, name)
    results = _predict_all(_as_list(bundles), source, label)
    for result in results:
        if isinstance(result, Unclassified):
            raise InputError(label, result.reason)
    predictions = [result for result in results if isinstance(result, SongPrediction)]
    return predictions if isinstance(bundles, (list, tuple)) else predictions[0]


def predict_many(
    bundles: ModelBundle | Sequence[ModelBundle],
    sources: Sequence[AudioSource],
    *,
    names: Sequence[str] | None = None,
    progress: ProgressCallback | None = None,
) -> list[FilePredictions]:
    """`predict_file` over many inputs, in order; a file that fails is reported and the others go on.

    ``names`` (one per source) label the inputs (default as in `predict_file`); ``progress(done, total)``
    is called after each file. Each `FilePredictions` holds one result per bundle (a `SongPrediction`, or
    `Unclassified` for a song too short for that bundle's windows), or an ``error`` line ``"<name>: <reason>"``
    when the file cannot be decoded.
    """
    chosen = _as_list(bundles)
    for bundle in chosen:
        analysis_config(bundle)  # a bundle that cannot read audio fails every file: say so once
    if names is not None and len(names) != len(sources):
        raise InputError("names", f"{len(names)} names for {len(sources)} inputs")
    results = []
    for index, source in enumerate(sources):
        label = _label(source, None if names is None else names[index])
        try:
            results.append(FilePredictions(label, _predict_all(chosen, source, label)))
        except GenreLensError as error:
            message = str(error)
            results.append(FilePredictions(label, [], message if message.startswith(label) else f"{label}: {message}"))
        except Exception as error:  # noqa: BLE001 - decoders (libsndfile, audioread, soxr) raise many unrelated types
            results.append(FilePredictions(label, [], f"{label}: {type(error).__name__}: {error}"))
        if progress is not None:
            progress(index + 1, len(sources))
    return results

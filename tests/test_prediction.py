"""Tests of `genre_core.prediction`: windows and times, shared decoding, whole-track summary bundles,
bytes input, failures per file, and the shipped bundles on a generated tone and a real GTZAN track."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import soundfile
from conftest import tone

from genre_core import audio, features, models, paths, prediction
from genre_core.bundles import ModelBundle, load_bundle
from genre_core.config import LOG_MEL, MFCC, SUMMARY, FeatureConfig
from genre_core.table_datasets import kaggle_windows
from genre_core.errors import InputError
from genre_core.extraction import extract_files
from genre_core.inputs import Standardizer
from genre_core.train_config import TrainConfig

SHIPPED = ("ffn_gtzan_features", "cnn_gtzan_mini", "cnn_gtzan_transfer", "ffn_demo", "cnn_demo")
PRESET_OF = {SUMMARY: "ffn_mfcc", LOG_MEL: "cnn_small", MFCC: "mlp_mfcc_seq"}


def untrained_bundle(kind: str, config: FeatureConfig | None, name: str = "tiny", n_classes: int = 3) -> ModelBundle:
    """A bundle around a freshly initialised model (no training needed to test the mechanics)."""
    if kind == SUMMARY:
        shape, width = (57,), 57
    elif kind == LOG_MEL:
        shape, width = (config.n_mels, config.frames_per_segment, 1), config.n_mels
    else:
        shape, width = (config.frames_per_segment, config.n_mfcc), config.n_mfcc
    return ModelBundle(
        model=models.build_model(PRESET_OF[kind], shape, n_classes),
        class_names=[f"genre{index}" for index in range(n_classes)],
        feature_kind=kind,
        feature_config=config,
        standardizer=Standardizer(kind, np.full(width, -20.0 if kind == LOG_MEL else 0.0), np.full(width, 10.0)),
        train_config=TrainConfig(preset=PRESET_OF[kind]),
        split_description={},
        history={},
        name=name,
    )


def write_tone(path: Path, seconds: float, rate: int, channels: int = 1, frequency: float = 440.0) -> Path:
    samples = tone(frequency, seconds, rate) + 0.1 * tone(3 * frequency, seconds, rate)
    soundfile.write(path, np.stack([samples] * channels, axis=1) if channels > 1 else samples, rate)
    return path


@pytest.fixture
def count_decodes(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Records the target rate of every `audio.load_audio` call that prediction makes."""
    calls: list[int] = []
    original = audio.load_audio

    def counting(source, sample_rate=22050, name=None):
        calls.append(sample_rate)
        return original(source, sample_rate, name=name)

    monkeypatch.setattr(prediction.audio, "load_audio", counting)
    return calls


def check_prediction(result: prediction.SongPrediction, n_segments: int, segment_seconds: float) -> None:
    """Shapes, probabilities summing to 1, window start times, and the song verdict's consistency."""
    k = len(result.class_names)
    assert result.segment_probabilities.shape == (n_segments, k)
    np.testing.assert_allclose(result.segment_probabilities.sum(axis=1), 1.0, atol=1e-5)
    np.testing.assert_allclose(result.segment_starts, np.arange(n_segments) * segment_seconds, atol=1e-6)
    np.testing.assert_allclose(result.track_probabilities, result.segment_probabilities.mean(axis=0), atol=1e-6)
    assert result.track_probabilities.sum() == pytest.approx(1.0, abs=1e-5)
    assert result.genre == result.class_names[int(np.argmax(result.track_probabilities))]
    votes = np.bincount(result.segment_predictions, minlength=k)
    assert votes[result.vote_index] == votes.max()


def test_windows_times_and_features_match_extraction(small_config, tmp_path, count_decodes):
    """7 s of stereo 44.1 kHz → 3 full 2 s windows and a 1 s remainder (kept, padded) at the 11025 Hz config."""
    path = write_tone(tmp_path / "song.wav", 7.0, 44100, channels=2)
    bundle = untrained_bundle(LOG_MEL, small_config)

    result = prediction.predict_file(bundle, path)

    check_prediction(result, n_segments=4, segment_seconds=2.0)
    assert count_decodes == [11025]
    assert result.name == str(path) and result.bundle_name == "tiny" and result.feature_kind == LOG_MEL
    assert result.duration_seconds == pytest.approx(7.0, abs=1e-3)
    extracted = extract_files([(path, "x")], small_config, [LOG_MEL], n_jobs=1, cache_dir=None)
    np.testing.assert_array_equal(result.features, extracted.features[LOG_MEL])
    np.testing.assert_allclose(result.segment_probabilities, bundle.predict_proba(result.features), atol=1e-6)


def test_several_bundles_share_one_decode_and_resample_once_per_rate(small_config, tmp_path, count_decodes, monkeypatch):
    path = write_tone(tmp_path / "song.wav", 6.0, 22050)
    config_22k = FeatureConfig(sample_rate=22050, track_seconds=4.0, segments_per_track=2, n_mels=32, n_mfcc=13)
    bundles = [
        untrained_bundle(LOG_MEL, small_config, "cnn-11k"),
        untrained_bundle(SUMMARY, small_config, "ffn-11k"),
        untrained_bundle(MFCC, config_22k, "mlp-22k"),
    ]
    import librosa

    resamples: list[int] = []
    original_resample = librosa.resample
    monkeypatch.setattr(
        librosa, "resample", lambda y, **kw: resamples.append(kw["target_sr"]) or original_resample(y, **kw)
    )

    results = prediction.predict_file(bundles, path)

    assert count_decodes == [22050] and resamples == [11025]
    assert [result.bundle_name for result in results] == ["cnn-11k", "ffn-11k", "mlp-22k"]
    for result in results:
        check_prediction(result, n_segments=3, segment_seconds=2.0)
    assert results[1].features.shape == (3, 57) and results[2].features.shape == (3, 87, 13)
    alone = prediction.predict_file(bundles[2], path)
    np.testing.assert_allclose(alone.segment_probabilities, results[2].segment_probabilities, atol=1e-6)


def test_bytes_give_the_same_prediction_as_the_path(small_config, tmp_path):
    path = write_tone(tmp_path / "song.wav", 5.0, 22050)
    bundle = untrained_bundle(LOG_MEL, small_config)

    from_path = prediction.predict_file(bundle, path)
    from_bytes = prediction.predict_file(bundle, path.read_bytes(), name="upload.wav")

    assert from_bytes.name == "upload.wav"
    np.testing.assert_array_equal(from_bytes.features, from_path.features)
    np.testing.assert_allclose(from_bytes.segment_probabilities, from_path.segment_probabilities, atol=1e-6)


@pytest.mark.slow
def test_whole_track_summary_bundle_uses_30_s_windows_without_padding(tmp_path):
    """A Kaggle-table bundle (no FeatureConfig): 50 s → a 30 s window and a 20 s one, whose statistics are
    taken over the 20 s present, not over 10 s of zero padding."""
    rate = 22050
    path = write_tone(tmp_path / "long.wav", 50.0, rate, frequency=330.0)
    samples = audio.load_audio(path, rate)
    bundle = untrained_bundle(SUMMARY, None, "kaggle-ffn")

    result = prediction.predict_file(bundle, path)

    check_prediction(result, n_segments=2, segment_seconds=30.0)
    assert result.feature_config == prediction.WHOLE_TRACK_CONFIG
    np.testing.assert_allclose(result.features[0], features.summary_vector(samples[: 30 * rate], rate), rtol=1e-5)
    np.testing.assert_allclose(result.features[1], features.summary_vector(samples[30 * rate :], rate), rtol=1e-5)
    assert result.note is None
    with pytest.raises(InputError, match="short.wav: too short: 2.00 s, need at least 3.00 s"):
        prediction.predict_file(bundle, write_tone(tmp_path / "short.wav", 2.0, rate))


@pytest.mark.slow
def test_a_short_clip_is_classified_by_every_model_that_can_and_noted_for_the_others(tmp_path):
    """A 10 s clip: the CNN reads its 3 s windows, the whole-track FFN the statistics of the 10 s present (with a
    note); a 2 s clip: the CNN reads one padded window, the FFN gets a note of its own instead of a verdict."""
    rate = 22050
    ten = write_tone(tmp_path / "ten.wav", 10.0, rate, frequency=330.0)
    samples = audio.load_audio(ten, rate)
    ffn, cnn = untrained_bundle(SUMMARY, None, "kaggle-ffn"), untrained_bundle(LOG_MEL, FeatureConfig(), "cnn")

    (result,) = prediction.predict_many([ffn, cnn], [ten])
    assert result.ok and [type(item) for item in result.results] == [prediction.SongPrediction] * 2
    whole, windows = result.results
    check_prediction(whole, n_segments=1, segment_seconds=30.0)
    np.testing.assert_allclose(whole.features[0], features.summary_vector(samples, rate), rtol=1e-5)
    assert whole.note is not None and "10.0 s" in whole.note and "30 s" in whole.note
    assert whole.to_dict()["note"] == whole.note
    check_prediction(windows, n_segments=3, segment_seconds=3.0)
    assert windows.note is None

    (short,) = prediction.predict_many([ffn, cnn], [write_tone(tmp_path / "two.wav", 2.0, rate)])
    assert short.ok and short.error is None  # no error for the whole song...
    noted, classified = short.results
    assert noted == prediction.Unclassified("kaggle-ffn", "too short: 2.00 s, need at least 3.00 s of audio for its "
                                                          "statistics")  # ...a note on the model that cannot
    check_prediction(classified, n_segments=1, segment_seconds=3.0)
    assert short.predictions == [classified]

    (tiny,) = prediction.predict_many([ffn, cnn], [write_tone(tmp_path / "tiny.wav", 1.0, rate)])
    assert tiny.ok and tiny.predictions == []
    assert tiny.results[1].reason == "too short: 1.00 s, need at least 1.50 s for one 3.00 s window"


@pytest.mark.slow
def test_bundle_of_the_3_s_kaggle_table_reads_songs_in_3_s_windows(tmp_path):
    """A bundle trained on ``features_3_sec.csv`` carries the table's windows (`table_datasets.kaggle_windows`), so a
    10 s song gives three 3 s windows with the statistics of each, not one 30 s window."""
    rate = 22050
    path = write_tone(tmp_path / "ten.wav", 10.0, rate, frequency=330.0)
    samples = audio.load_audio(path, rate)
    windows = kaggle_windows(tmp_path / "features_3_sec.csv", np.full(4, 66149))
    bundle = untrained_bundle(SUMMARY, windows, "kaggle-3s-ffn")

    result = prediction.predict_file(bundle, path)

    check_prediction(result, n_segments=3, segment_seconds=3.0)
    for index in range(3):
        window = samples[index * 3 * rate : (index + 1) * 3 * rate]
        np.testing.assert_allclose(result.features[index], features.summary_vector(window, rate), rtol=1e-5)


def test_bundle_without_feature_settings_cannot_read_audio(tmp_path):
    bundle = untrained_bundle(MFCC, FeatureConfig(), "json-mlp")
    bundle.feature_config = None
    with pytest.raises(InputError, match="json-mlp.*cannot be computed from audio"):
        prediction.predict_file(bundle, write_tone(tmp_path / "song.wav", 4.0, 22050))


def test_predict_many_reports_each_failure_and_goes_on(small_config, tmp_path):
    good = write_tone(tmp_path / "good.wav", 4.0, 11025)
    broken = tmp_path / "broken.wav"
    broken.write_bytes(b"RIFF....WAVEfmt garbage" * 20)
    text = tmp_path / "notes.txt"
    text.write_text("not audio")
    progress: list[tuple[int, int]] = []

    results = prediction.predict_many(
        untrained_bundle(LOG_MEL, small_config), [broken, good, text, tmp_path / "missing.wav"],
        progress=lambda done, total: progress.append((done, total)),
    )

    assert [result.ok for result in results] == [False, True, False, False]
    assert results[0].error.startswith(f"{broken}: cannot decode audio")
    assert results[2].error.startswith(f"{text}: unsupported format '.txt'")
    assert results[3].error == f"{tmp_path / 'missing.wav'}: file not found"
    check_prediction(results[1].predictions[0], n_segments=2, segment_seconds=2.0)
    assert progress == [(1, 4), (2, 4), (3, 4), (4, 4)]
    with pytest.raises(InputError, match="2 names for 1 inputs"):
        prediction.predict_many(untrained_bundle(LOG_MEL, small_config), [good], names=["a", "b"])


def test_to_dict_is_json_with_top_classes(small_config, tmp_path):
    result = prediction.predict_file(untrained_bundle(LOG_MEL, small_config), write_tone(tmp_path / "a.wav", 6.0, 11025))

    values = json.loads(json.dumps(result.to_dict(top=2)))

    assert values["genre"] == result.genre and values["model"] == "tiny" and values["segment_s"] == 2.0
    assert list(values["probabilities"]) == [name for name, _ in result.top(2)]
    assert [segment["start_s"] for segment in values["segments"]] == [0.0, 2.0, 4.0]
    assert all(len(segment["probabilities"]) == 2 for segment in values["segments"])
    assert result.top(10) == sorted(result.top(10), key=lambda pair: -pair[1]) and len(result.top(10)) == 3


@pytest.fixture(scope="module")
def shipped() -> list[ModelBundle]:
    return [load_bundle(paths.PRETRAINED_DIR / name) for name in SHIPPED]


@pytest.mark.slow
def test_shipped_bundles_on_a_generated_tone(shipped, tmp_path, count_decodes):
    """20 s of a 44.1 kHz stereo tone, decoded once (at 22050 Hz; resampled to 16 kHz for the transfer CNN): one 20 s
    window for the whole-track FFN; for the others six 3 s (2.984 s) windows and the remainder, padded (it is
    more than half a window)."""
    path = write_tone(tmp_path / "tone.wav", 20.0, 44100, channels=2)

    results = prediction.predict_file(shipped, path)

    assert count_decodes == [22050]
    for bundle, result in zip(shipped, results, strict=True):
        expected = (1, 30.0) if bundle.feature_config is None else (7, bundle.feature_config.segment_seconds)
        check_prediction(result, *expected)
        assert result.class_names == bundle.class_names


@pytest.mark.slow
def test_shipped_bundles_on_a_real_gtzan_track(shipped, gtzan_mini, gtzan_csv, count_decodes):
    """A real 30 s GTZAN track: the whole-track FFN's features reproduce the Kaggle row closely enough that
    its prediction matches the prediction on that row; the others see ten 3 s (2.984 s) windows."""
    import pandas as pd

    path = gtzan_mini / "metal" / "metal.00002.wav"
    results = prediction.predict_file(shipped, path)

    assert count_decodes == [22050]
    ffn = results[0]
    check_prediction(ffn, n_segments=1, segment_seconds=30.0)
    for bundle, result in zip(shipped[1:], results[1:], strict=True):
        check_prediction(result, n_segments=10, segment_seconds=bundle.feature_config.segment_seconds)
    table = pd.read_csv(gtzan_csv)
    row = table.loc[table["filename"].to_numpy(dtype=str) == "metal.00002.wav", list(features.SUMMARY_NAMES)]
    on_row = shipped[0].predict_proba(row.to_numpy(dtype=np.float32))[0]
    np.testing.assert_allclose(ffn.track_probabilities, on_row, atol=0.02)


def test_a_song_is_featurised_and_classified_in_blocks_of_bounded_size(small_config, tmp_path, monkeypatch):
    """With blocks of 2 windows, 13 s at 2 s windows (6 full, a 1 s remainder kept) goes through features and the
    model 2 windows at a time, never as a whole: the memory beyond the samples does not grow with the song."""
    path = write_tone(tmp_path / "song.wav", 13.0, 11025)
    bundle = untrained_bundle(LOG_MEL, small_config)
    whole = prediction.predict_file(bundle, path)
    monkeypatch.setattr(features, "BATCH_SAMPLES", 2 * small_config.segment_samples)
    cut: list[int] = []
    featurised: list[int] = []
    classified: list[int] = []
    original_segment, original_features, original_predict = (
        audio.segment_audio, features.segment_features, bundle.predict_proba)
    monkeypatch.setattr(audio, "segment_audio", lambda samples, config, name="audio": cut.append(
        len(window := original_segment(samples, config, name))) or window)
    monkeypatch.setattr(features, "segment_features", lambda windows, config, kinds: featurised.append(
        len(windows)) or original_features(windows, config, kinds))
    monkeypatch.setattr(bundle, "predict_proba", lambda rows: classified.append(len(rows)) or original_predict(rows))

    in_blocks = prediction.predict_file(bundle, path)

    assert prediction.block_windows(small_config) == 2
    assert cut == featurised == classified == [2, 2, 2, 1]
    np.testing.assert_array_equal(in_blocks.features, whole.features)
    np.testing.assert_allclose(in_blocks.segment_probabilities, whole.segment_probabilities, atol=1e-6)


@pytest.mark.slow
def test_block_wise_verdicts_equal_whole_song_verdicts_on_real_music(shipped, gtzan_mini, tmp_path, monkeypatch):
    """110 s of real GTZAN tracks (three whole, 20 s of a fourth) through the default pair: the transfer CNN's 37
    windows in blocks of 5 and the whole-track FFN's 30 s windows one at a time (the last, 20 s, trimmed to the
    audio present) give the features and probabilities of the whole song in one block."""
    rate = 22050
    tracks = [gtzan_mini / genre / f"{genre}.00002.wav" for genre in ("blues", "jazz", "metal", "pop")]
    samples = np.concatenate([audio.load_audio(track, rate)[: 30 * rate] for track in tracks])[: 110 * rate]
    path = tmp_path / "real.wav"
    soundfile.write(path, samples, rate, subtype="FLOAT")
    default_pair = [shipped[SHIPPED.index("cnn_gtzan_transfer")], shipped[SHIPPED.index("ffn_gtzan_features")]]
    monkeypatch.setattr(features, "BATCH_SAMPLES", 10**9)
    whole = prediction.predict_file(default_pair, path)
    monkeypatch.setattr(features, "BATCH_SAMPLES", 5 * default_pair[0].feature_config.segment_samples)
    featurised: list[int] = []
    original = features.segment_features
    monkeypatch.setattr(features, "segment_features", lambda windows, config, kinds: featurised.append(
        len(windows)) or original(windows, config, kinds))

    in_blocks = prediction.predict_file(default_pair, path)

    assert featurised == [5] * 7 + [2] + [1, 1, 1, 1]  # CNN: 37 windows; FFN: 3 whole windows, 1 trimmed
    assert [result.n_segments for result in in_blocks] == [37, 4]
    for block_wise, whole_song in zip(in_blocks, whole, strict=True):
        np.testing.assert_allclose(block_wise.features, whole_song.features, rtol=1e-6, atol=1e-6)
        np.testing.assert_allclose(block_wise.segment_probabilities, whole_song.segment_probabilities, atol=1e-5)
        assert block_wise.genre == whole_song.genre and block_wise.vote_genre == whole_song.vote_genre
        np.testing.assert_array_equal(block_wise.segment_predictions, whole_song.segment_predictions)


@pytest.mark.slow
def test_features_are_computed_with_blas_on_one_thread_as_in_extraction(shipped, gtzan_mini, monkeypatch):
    """A real track through the default pair: every block's features are computed with BLAS on one thread (the
    limit is lifted afterwards), as extraction computes the features models are trained on, and they equal those
    exactly. (BLAS on two threads may add the musicnn mel product in another order, and its float16 rounding
    turns a last-bit difference into 1e-3 here and there.)"""
    from threadpoolctl import threadpool_info, threadpool_limits

    def blas_threads() -> list[int]:
        return [pool["num_threads"] for pool in threadpool_info() if pool["user_api"] == "blas"]

    default_pair = [shipped[SHIPPED.index("cnn_gtzan_transfer")], shipped[SHIPPED.index("ffn_gtzan_features")]]
    path = gtzan_mini / "reggae" / "reggae.00001.wav"
    usual = blas_threads()
    seen: list[list[int]] = []
    original = features.segment_features
    monkeypatch.setattr(features, "segment_features", lambda windows, config, kinds: seen.append(
        blas_threads()) or original(windows, config, kinds))

    cnn, ffn = prediction.predict_file(default_pair, path)

    assert len(seen) == 2 and all(threads == [1] * len(usual) for threads in seen)
    assert blas_threads() == usual
    with threadpool_limits(limits=1, user_api="blas"):
        log_mels = original(audio.segment_audio(audio.load_audio(path, 16000), cnn.feature_config),
                            cnn.feature_config, [LOG_MEL])[LOG_MEL]
        summary = original(audio.segment_audio(audio.load_audio(path, 22050), ffn.feature_config),
                           ffn.feature_config, [SUMMARY])[SUMMARY]
    np.testing.assert_array_equal(cnn.features, log_mels)
    np.testing.assert_array_equal(ffn.features, summary)

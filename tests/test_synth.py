"""Tests of genre_core.synth: determinism, audio sanity, folder layout, manifest, regeneration, genre traits."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import shutil
import subprocess
import sys
import time
from pathlib import Path

import librosa
import numpy as np
import pytest
import soundfile as sf

from genre_core import synth
from genre_core.errors import InputError
from genre_core.synth import composition, instruments, rendering, styles

FAST = {"seconds": 2.0, "sample_rate": 11025}  # tiny tracks for the folder tests
PEAK = 10 ** (rendering.PEAK_DBFS / 20)


def small_dataset(folder: Path, **overrides) -> Path:
    settings = {"seed": 3, "tracks_per_genre": 2, "genres": ("classical", "metal"), "n_jobs": 1, **FAST}
    return synth.generate_demo_dataset(folder, **{**settings, **overrides})


def wav_files(folder: Path) -> list[Path]:
    return sorted(folder.glob("*/*.wav"))


@pytest.mark.parametrize("genre", synth.ALL_DEMO_GENRES)
def test_track_is_finite_mono_float32_with_its_peak_at_minus_one_dbfs(genre):
    audio = rendering.generate_track(genre, np.random.default_rng(0), seconds=3.0, sample_rate=11025)
    assert audio.dtype == np.float32 and audio.shape == (33075,)
    assert np.isfinite(audio).all()
    assert np.max(np.abs(audio)) == pytest.approx(PEAK, rel=1e-4)
    assert np.sqrt(np.mean(audio**2)) > 0.02  # not silent


def test_same_seed_gives_identical_audio_and_another_seed_differs():
    make = lambda seed: rendering.generate_track("rock", np.random.default_rng(seed), **FAST)  # noqa: E731
    np.testing.assert_array_equal(make(7), make(7))
    assert not np.array_equal(make(7), make(8))


def test_track_rng_depends_on_seed_genre_and_index():
    draw = lambda *key: synth.track_rng(*key).integers(1 << 62)  # noqa: E731
    assert draw(0, "disco", 1) == draw(0, "disco", 1)
    assert len({draw(0, "disco", 1), draw(1, "disco", 1), draw(0, "rock", 1), draw(0, "disco", 2)}) == 4


def test_unknown_genre_and_bad_sample_rate_raise_input_error():
    with pytest.raises(InputError, match="polka"):
        rendering.generate_track("polka", np.random.default_rng(0))
    with pytest.raises(InputError, match="sample_rate"):
        rendering.generate_track("rock", np.random.default_rng(0), sample_rate=1000)


def test_styles_only_use_known_patterns_instruments_and_chords():
    pitched_symbols = set("123456789xmRFOW.-")
    for genre in synth.ALL_DEMO_GENRES:
        style = styles.STYLES[genre]
        assert all(chord in styles.CHORDS for progression in style.progressions for chord in progression)
        assert any(option.role in styles.HARMONY_ROLES for option in style.parts)
        for option in style.parts:
            for pattern in option.patterns:
                if option.role == "drums":
                    assert pattern in styles.KITS
                elif option.role == "melody":
                    assert pattern in styles.MELODY_RHYTHMS
                elif option.role != "pad":
                    assert len(pattern) == styles.STEPS_PER_BAR and set(pattern) <= pitched_symbols, pattern
            if option.role != "drums":
                assert set(option.instruments) <= set(instruments.INSTRUMENTS)
    for kit in styles.KITS.values():
        assert set(kit) <= set(styles.DRUM_GAINS)
        for pattern in kit.values():
            assert len(pattern) == styles.STEPS_PER_BAR and set(pattern) <= set("123456789."), pattern


def test_composed_tracks_stay_inside_their_genre_style():
    for genre in synth.DEMO_GENRES:
        style = styles.STYLES[genre]
        for seed in range(5):
            plan = synth.compose_track(genre, np.random.default_rng(seed))
            assert style.tempo_bpm[0] <= plan.tempo_bpm <= style.tempo_bpm[1]
            assert plan.progression in style.progressions
            assert any(part.role in styles.HARMONY_ROLES for part in plan.parts)
            assert composition._timeline(plan).onsets[-1] >= plan.seconds  # the bars cover the whole track


def test_dataset_folder_has_gtzan_layout_16_bit_wavs_manifest_and_readme(tmp_path):
    calls = []
    folder = small_dataset(tmp_path / "demo", progress=lambda done, total: calls.append((done, total)))
    names = [path.relative_to(folder).as_posix() for path in wav_files(folder)]
    assert names == ["classical/classical.00000.wav", "classical/classical.00001.wav",
                     "metal/metal.00000.wav", "metal/metal.00001.wav"]
    for path in wav_files(folder):
        info = sf.info(path)
        assert (info.samplerate, info.channels, info.frames, info.subtype, info.format) == (
            11025, 1, 22050, "PCM_16", "WAV")
    assert calls == [(0, 4), (1, 4), (2, 4), (3, 4), (4, 4)]

    manifest = synth.read_demo_manifest(folder)
    assert manifest["synthetic"] is True and "synthetic" in manifest["note"].lower()
    assert manifest["parameters"] == {"seed": 3, "tracks_per_genre": 2, "genres": ["classical", "metal"],
                                      "seconds": 2.0, "sample_rate": 11025,
                                      "generator_version": synth.GENERATOR_VERSION}
    assert [track["file"] for track in manifest["tracks"]] == names
    for track in manifest["tracks"]:
        assert track["track_id"] == Path(track["file"]).stem
        assert track["genre"] == track["track_id"].split(".")[0]
        assert track["tempo_bpm"] > 0 and track["key"].split()[1] in ("major", "minor")
        assert track["parts"] and all({"role", "instrument", "pattern"} <= set(part) for part in track["parts"])
    assert "synthetic" in (folder / synth.README_NAME).read_text().lower()


@pytest.mark.slow
def test_parallel_generation_writes_the_same_bytes_as_serial(tmp_path):
    serial = small_dataset(tmp_path / "serial", n_jobs=1)
    parallel = small_dataset(tmp_path / "parallel", n_jobs=2)
    for left, right in zip(wav_files(serial), wav_files(parallel), strict=True):
        assert left.read_bytes() == right.read_bytes()
    assert (serial / synth.MANIFEST_NAME).read_text() == (parallel / synth.MANIFEST_NAME).read_text()


def test_written_audio_matches_generate_track(tmp_path):
    folder = small_dataset(tmp_path / "demo", genres=("disco",), tracks_per_genre=1)
    written, _ = sf.read(folder / "disco" / "disco.00000.wav", dtype="float32")
    expected = rendering.generate_track("disco", synth.track_rng(3, "disco", 0), **FAST)
    np.testing.assert_allclose(written, expected, atol=1 / 32768)  # 16-bit quantisation


def test_invalid_parameters_raise_before_writing_anything(tmp_path):
    bad = [{"tracks_per_genre": 0}, {"genres": ("polka",)}, {"genres": ("rock", "rock")}, {"genres": ()},
           {"seed": -1}, {"seconds": 0.0}]
    for overrides in bad:
        with pytest.raises(InputError):
            small_dataset(tmp_path / "demo", **overrides)
    assert not (tmp_path / "demo").exists()


def test_ensure_demo_dataset_reuses_a_current_folder_and_regenerates_a_different_one(tmp_path):
    folder = tmp_path / "demo"
    ensure = lambda **changes: synth.ensure_demo_dataset(  # noqa: E731
        folder, **{"seed": 0, "tracks_per_genre": 1, "genres": ("disco",), "n_jobs": 1, **FAST, **changes})
    ensure()
    wav = folder / "disco" / "disco.00000.wav"
    first = (wav.stat().st_mtime_ns, (folder / synth.MANIFEST_NAME).stat().st_mtime_ns, wav.read_bytes())
    calls = []
    ensure(progress=lambda done, total: calls.append(done))
    assert (wav.stat().st_mtime_ns, (folder / synth.MANIFEST_NAME).stat().st_mtime_ns, wav.read_bytes()) == first
    assert calls == []  # nothing was generated

    ensure(seed=1)
    assert synth.read_demo_manifest(folder)["parameters"]["seed"] == 1
    assert wav.read_bytes() != first[2]

    wav.unlink()  # an incomplete folder is regenerated too
    ensure(seed=1)
    assert wav.is_file()
    assert sorted(path.name for path in tmp_path.iterdir()) == ["demo"]  # no temporary folders left


def test_read_demo_manifest_rejects_a_folder_without_one(tmp_path):
    with pytest.raises(InputError, match=synth.MANIFEST_NAME):
        synth.read_demo_manifest(tmp_path)
    (tmp_path / synth.MANIFEST_NAME).write_text("{not json")
    with pytest.raises(InputError, match="not a readable demo manifest"):
        synth.read_demo_manifest(tmp_path)


def high_band_db(audio: np.ndarray, sample_rate: int) -> float:
    """Mean log-mel level (dB) of the bands above 3 kHz."""
    mel = librosa.power_to_db(librosa.feature.melspectrogram(y=audio, sr=sample_rate, n_mels=64))
    centres = librosa.mel_frequencies(66, fmax=sample_rate / 2)[1:-1]
    return float(mel[centres > 3000].mean())


def test_metal_has_more_high_frequency_energy_than_classical():
    level = {genre: np.mean([high_band_db(rendering.generate_track(genre, np.random.default_rng(seed), seconds=3.0), 22050)
                             for seed in range(4)]) for genre in ("classical", "metal")}
    assert level["metal"] > level["classical"] + 3


def test_disco_beat_period_matches_its_tempo():
    sample_rate, hop = 22050, 512
    for seed in range(3):
        rng = np.random.default_rng(seed)
        plan = synth.compose_track("disco", rng, seconds=10.0)
        plan = dataclasses.replace(plan, parts=tuple(dataclasses.replace(part, muted_bars=()) for part in plan.parts))
        audio = synth.render_track(plan, rng, sample_rate=sample_rate)
        kick_onsets = librosa.onset.onset_strength(y=audio, sr=sample_rate, hop_length=hop, fmax=200, n_mels=32)
        kick_onsets = kick_onsets - kick_onsets.mean()
        autocorrelation = np.correlate(kick_onsets, kick_onsets, "full")[len(kick_onsets) - 1:]
        beat_frames = 60 / plan.tempo_bpm * sample_rate / hop
        low, high = int(0.6 * beat_frames), int(1.6 * beat_frames)
        period = low + int(np.argmax(autocorrelation[low:high]))
        assert period / beat_frames == pytest.approx(1.0, abs=0.05)


def test_importing_synth_does_not_import_tensorflow_or_streamlit():
    code = "import sys, genre_core.synth; print(sorted({'tensorflow', 'keras', 'streamlit'} & set(sys.modules)))"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                            cwd=Path(__file__).resolve().parent.parent)
    assert result.stdout.strip() == "[]"


@pytest.mark.slow
def test_default_demo_dataset_generates(tmp_path):
    started = time.perf_counter()
    folder = synth.ensure_demo_dataset(tmp_path / "demo")
    elapsed = time.perf_counter() - started
    print(f"default demo dataset (4 genres x 25 tracks x 30 s) generated in {elapsed:.1f} s")
    files = wav_files(folder)
    assert len(files) == 100
    assert sf.info(files[0]).duration == pytest.approx(30.0)
    assert len(json.loads((folder / synth.MANIFEST_NAME).read_text())["tracks"]) == 100
    shutil.rmtree(folder)  # 130 MB: do not keep it among pytest's retained temporary folders


REFERENCE = json.loads((Path(__file__).parent / "fixtures" / "synth_reference.json").read_text())


@pytest.mark.slow
def test_generator_writes_the_samples_the_shipped_demo_models_were_trained_on(tmp_path):
    """The fixture holds, for 3 tracks of every genre (seed 0, 30 s, 22050 Hz), the sha256 of the int16 PCM that the
    generator wrote before it was made faster, and every 1999th sample. The shipped demo bundles were trained on that
    audio, so the samples must be the same. Bit-exact where numpy and the CPU's SIMD level are those of the recording
    (numpy's float32 sin/exp/tanh kernels differ in the last bit between SIMD levels); elsewhere within 1 LSB."""
    tracks = REFERENCE["tracks"]
    genres = tuple(dict.fromkeys(name.split(".")[0] for name in tracks))
    per_genre = len(tracks) // len(genres)
    folder = synth.generate_demo_dataset(tmp_path, seed=REFERENCE["seed"], tracks_per_genre=per_genre, genres=genres,
                                         seconds=REFERENCE["seconds"], sample_rate=REFERENCE["sample_rate"], n_jobs=1)
    same_platform = REFERENCE["recorded_on"] == {"numpy": np.__version__,
                                                 "simd_found": np.show_config(mode="dicts")["SIMD Extensions"]["found"]}
    for name, expected in tracks.items():
        pcm, _ = sf.read(folder / name.split(".")[0] / f"{name}.wav", dtype="int16")
        sampled = pcm[::REFERENCE["stride"]].astype(np.int32)
        assert sampled.shape == (len(expected["samples"]),), name
        assert np.max(np.abs(sampled - np.asarray(expected["samples"]))) <= 1, name
        if same_platform:
            assert hashlib.sha256(pcm.tobytes()).hexdigest() == expected["sha256"], name

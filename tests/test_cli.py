"""Tests of the `genre_core.cli` package: the extract verb in-process, errors as one line, and ``--help`` as a subprocess."""

from __future__ import annotations

import contextlib
import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import soundfile
from conftest import REPO_ROOT, tone

from genre_core import audio_datasets, cli, datasets, paths

RATE = 11025
#: 2 s windows (15 per 30 s) at 11025 Hz, few bands: cheap, and a 4 s tone gives 2 windows.
SMALL_FLAGS = ["--segments", "15", "--sample-rate", str(RATE), "--n-mels", "32", "--n-mfcc", "13", "--jobs", "1"]


@pytest.fixture
def genre_folder(tmp_path: Path) -> Path:
    """2 genres × 2 tones of 4 s, plus one corrupt file in ``rock/``."""
    root = tmp_path / "genres"
    for genre, frequencies in {"pop": (440.0, 660.0), "rock": (110.0, 165.0)}.items():
        (root / genre).mkdir(parents=True)
        for index, frequency in enumerate(frequencies):
            soundfile.write(root / genre / f"{genre}.{index:05d}.wav", tone(frequency, 4.0, RATE), RATE)
    (root / "rock" / "rock.00099.wav").write_bytes(b"RIFF....WAVEfmt garbage" * 20)
    return root


def run_extract(dataset: Path | str, out: Path, *extra: str) -> int:
    return cli.main(["extract", "--dataset", str(dataset), "--out", str(out), *SMALL_FLAGS, *extra])


def test_extract_prints_counts_and_skipped_files(genre_folder, tmp_path, capsys):
    assert run_extract(genre_folder, tmp_path / "out", "--kinds", "log_mel,mfcc") == 0
    out = capsys.readouterr().out
    assert "pop                    2         4" in out and "rock                   2         4" in out
    assert "total                  4         8" in out
    assert "skipped 1 file(s):" in out and f"{genre_folder / 'rock' / 'rock.00099.wav'}: " in out
    assert len(list((tmp_path / "out").glob("features-*.npz"))) == 1


def test_extract_a_genre_subset(genre_folder, tmp_path, capsys):
    assert run_extract(genre_folder, tmp_path / "out", "--kinds", "mfcc", "--genres", "pop") == 0
    out = capsys.readouterr().out
    assert "pop " in out and "rock " not in out and "skipped" not in out


@pytest.mark.parametrize(
    ("dataset", "message"),
    [
        ("missing", "no such file or folder"),
        ("empty", "no audio files (.wav, .au"),
    ],
)
def test_unusable_dataset_is_one_error_line(tmp_path, capsys, dataset, message):
    (tmp_path / "empty").mkdir()
    assert run_extract(tmp_path / dataset, tmp_path / "out") == 1
    captured = capsys.readouterr()
    assert captured.err.startswith("error: ") and message in captured.err
    assert captured.err.count("\n") == 1 and "Traceback" not in captured.err


def test_unknown_genre_is_one_error_line(genre_folder, tmp_path, capsys):
    assert run_extract(genre_folder, tmp_path / "out", "--genres", "pop,jazz") == 1
    assert capsys.readouterr().err == f"error: {genre_folder}: unknown genre 'jazz'; available: pop, rock\n"


def test_bad_settings_are_errors(genre_folder, tmp_path, capsys):
    assert run_extract(genre_folder, tmp_path / "out", "--n-mels", "2") == 1
    assert "n_mels" in capsys.readouterr().err
    with pytest.raises(SystemExit) as usage:
        run_extract(genre_folder, tmp_path / "out", "--kinds", "chroma")
    assert usage.value.code == 2 and "unknown 'chroma'" in capsys.readouterr().err
    with pytest.raises(SystemExit) as missing:
        cli.main(["extract", "--out", str(tmp_path)])
    assert missing.value.code == 2


def test_a_scheduler_without_the_dask_backend_is_one_error_line(genre_folder, tmp_path, capsys):
    assert run_extract(genre_folder, tmp_path / "out", "--scheduler", "tcp://127.0.0.1:8786") == 1
    assert capsys.readouterr().err == "error: --scheduler: a scheduler address needs --backend dask\n"
    assert not (tmp_path / "out").exists() or not list((tmp_path / "out").iterdir())


def test_help_runs_as_a_module():
    result = subprocess.run(
        [sys.executable, "-m", "genre_core", "extract", "--help"],
        cwd=REPO_ROOT, capture_output=True, text=True, timeout=120, check=False,
    )
    assert result.returncode == 0, result.stderr
    flags = (
        "--dataset", "--out", "--segments", "--n-mfcc", "--n-mels", "--sample-rate", "--genres", "--kinds", "--jobs",
        "--backend", "--scheduler",
    )
    assert all(flag in result.stdout for flag in flags)


# --- train, evaluate, predict, pretrain -------------------------------------------------------------------

#: 2 s windows (15 per 30 s) at the default 22050 Hz: a 4 s tone gives 2 windows.
TRAIN_FLAGS = ["--preset", "cnn_small", "--epochs", "1", "--segments", "15", "--jobs", "1"]


@pytest.fixture(scope="module")
def tone_genres(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """2 genres × 4 tones of 4 s at 22050 Hz: low tones are 'bass', high ones 'treble'."""
    root = tmp_path_factory.mktemp("tones") / "genres"
    for genre, frequencies in {"bass": (80.0, 100.0, 120.0, 140.0), "treble": (900.0, 1100.0, 1300.0, 1500.0)}.items():
        (root / genre).mkdir(parents=True)
        for index, frequency in enumerate(frequencies):
            soundfile.write(root / genre / f"{genre}.{index:05d}.wav", tone(frequency, 4.0), 22050)
    return root


@pytest.fixture(scope="module")
def trained_bundle(tone_genres: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """A cnn_small bundle trained for 1 epoch by the train verb, and what the verb printed: a binary task with
    a sigmoid output, SGD with Nesterov momentum and ELU activations, so evaluate, trust and predict below read a
    one-unit model."""
    work = tmp_path_factory.mktemp("train")
    capture = io.StringIO()
    with contextlib.redirect_stdout(capture):
        status = cli.main(
            ["train", "--dataset", str(tone_genres), "--out", str(work / "tiny-cnn"), "--cache", str(work / "cache"),
             *TRAIN_FLAGS, "--optimizer", "sgd", "--lr", "0.01", "--momentum", "0.9", "--nesterov", "--output",
             "sigmoid", "--hyper", "activation=elu", "--hyper", "dense=16,8", "--seed", "42"]
        )
    assert status == 0
    return work / "tiny-cnn", capture.getvalue()


@pytest.mark.slow
def test_train_writes_a_bundle_with_its_evaluation(trained_bundle):
    folder, out = trained_bundle
    values = json.loads((folder / "bundle.json").read_text())
    metrics, config = values["metrics"], values["train_config"]
    assert metrics["model"] == "tiny-cnn" and metrics["split"]["protocol"] == "grouped"
    assert (config["optimizer"], config["momentum"], config["nesterov"], config["output"], config["seed"]) == (
        "sgd", 0.9, True, "sigmoid", 42)
    assert config["hyper"] == {"activation": "elu", "dense": [16, 8]}
    assert metrics["split"]["tracks"] == {"train": 4, "val": 2, "test": 2}
    assert "trained cnn_small on audio folder" in out and "1 epochs" in out and f"bundle written to {folder}" in out
    model_line = next(line for line in out.splitlines() if "model tiny-cnn" in line)
    assert f"accuracy {cli.common.percent(metrics['test']['accuracy'])}" in model_line
    for name in ("majority", "logistic_regression", "rbf_svm"):
        assert f"accuracy {cli.common.percent(metrics['baselines'][f'{name}_accuracy'])}" in out


@pytest.mark.slow
def test_evaluate_prints_metrics_and_writes_the_report(trained_bundle, tone_genres, tmp_path, capsys):
    folder, _ = trained_bundle
    report_path, html_path = tmp_path / "report.json", tmp_path / "report.html"

    status = cli.main(
        ["evaluate", "--bundle", str(folder), "--dataset", str(tone_genres), "--report", str(report_path),
         "--html", str(html_path), "--cache", str(tmp_path / "cache"), "--jobs", "1"]
    )

    assert status == 0
    out = capsys.readouterr().out
    report = json.loads(report_path.read_text())
    saved = json.loads((folder / "bundle.json").read_text())["metrics"]
    assert report["parts"]["test"] == saved["parts"]["test"]  # the bundle's own test tracks
    assert "per class (test, segments):" in out and "confusion matrix (test, segments" in out
    assert out.count("\nbass ") >= 2 and f"report written to {report_path}" in out
    test_line = next(line for line in out.splitlines() if line.startswith("test "))
    assert cli.common.percent(report["test"]["accuracy"]) in test_line
    page = html_path.read_text(encoding="utf-8")
    assert f"HTML report written to {html_path}" in out and "<h1>GenreLens evaluation: tiny-cnn</h1>" in page
    assert 'id="figure-confusion_test_mean_probability_counts"' in page and "weighted average" in page
    assert "Grad-CAM gallery (test part)" in page and 'id="figure-gradcam_00_' in page  # a CNN's report


@pytest.mark.slow
def test_trust_measures_randomisation_and_deletion(trained_bundle, tone_genres, tmp_path, capsys):
    folder, _ = trained_bundle

    status = cli.main(["trust", "--bundle", str(folder), "--dataset", str(tone_genres), "--rows", "4",
                       "--cache", str(tmp_path / "cache"), "--jobs", "1"])

    assert status == 0
    out = capsys.readouterr().out
    assert "| 0: none | 1.00 ± 0.00 |" in out  # nothing randomised: the maps equal themselves
    assert "| 1: logits |" in out and "| 100% |" in out and "Area between the curves" in out


def test_trust_refuses_a_feature_bundle(tmp_path, capsys):
    status = cli.main(["trust", "--bundle", str(paths.PRETRAINED_DIR / "ffn_demo"), "--dataset", "demo"])
    assert status == 1
    assert "Grad-CAM needs a CNN bundle" in capsys.readouterr().err


@pytest.mark.slow
def test_predict_text_segments_and_json(trained_bundle, tone_genres, capsys):
    folder, _ = trained_bundle
    files = [tone_genres / "bass" / "bass.00000.wav", tone_genres / "treble" / "treble.00003.wav"]

    assert cli.main(["predict", "--bundle", str(folder), *map(str, files), "--segments", "--top", "2"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 2 * (1 + 2)  # per file: the verdict, then its two 2 s windows
    assert lines[0].split(": ")[0] == str(files[0]) and lines[0].split(": ")[1].split()[0] in ("bass", "treble")
    assert lines[1].split()[:2] == ["0.0", "s"] and lines[2].split()[:2] == ["2.0", "s"]

    assert cli.main(["predict", "--bundle", str(folder), *map(str, files), "--json", "--top", "1"]) == 0
    payload = json.loads(capsys.readouterr().out)
    assert [entry["file"] for entry in payload] == [str(path) for path in files]
    prediction = payload[0]["predictions"][0]
    assert prediction["model"] == "tiny-cnn" and list(prediction["probabilities"]) == [prediction["genre"]]
    assert [segment["start_s"] for segment in prediction["segments"]] == [0.0, 2.0]


@pytest.mark.slow
def test_predict_goes_on_after_a_bad_file_and_exits_1(trained_bundle, tone_genres, tmp_path, capsys):
    folder, _ = trained_bundle
    text = tmp_path / "notes.txt"
    text.write_text("not audio")
    good = tone_genres / "bass" / "bass.00001.wav"

    assert cli.main(["predict", "--bundle", str(folder), str(text), str(good)]) == 1
    captured = capsys.readouterr()
    assert captured.err == f"error: {text}: unsupported format '.txt' (supported: .wav, .au, .flac, .ogg, .mp3)\n"
    assert captured.out.startswith(f"{good}: ")

    blip = tmp_path / "blip.wav"  # 0.5 s: shorter than the 1 s a 2 s window needs
    soundfile.write(blip, tone(440.0, 0.5), 22050)
    assert cli.main(["predict", "--bundle", str(folder), str(blip), str(good)]) == 1
    captured = capsys.readouterr()
    assert captured.err == (f"error: {blip}: model 'tiny-cnn' cannot classify it: too short: 0.50 s, need at least "
                            "1.00 s for one 2.00 s window\n")
    assert captured.out.startswith(f"{good}: ")


def test_missing_bundle_is_one_error_line(tmp_path, capsys):
    assert cli.main(["predict", "--bundle", str(tmp_path / "nope"), str(tmp_path / "a.wav")]) == 1
    assert capsys.readouterr().err == f"error: {tmp_path / 'nope'}: no such bundle folder\n"


def test_train_rejects_unknown_preset_and_split_in_one_line(tone_genres, tmp_path, capsys):
    base = ["train", "--dataset", str(tone_genres), "--out", str(tmp_path / "b"), "--cache", str(tmp_path / "c")]
    assert cli.main([*base, "--preset", "resnet"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: TrainConfig.preset: unknown preset; known: ffn_mfcc") and err.count("\n") == 1
    assert cli.main([*base, "--preset", "cnn_small", "--split", "random", "--jobs", "1", "--segments", "15"]) == 1
    assert "unknown 'random'; choose grouped" in capsys.readouterr().err
    with pytest.raises(SystemExit) as usage:
        cli.main([*base, "--preset", "cnn_small", "--optimizer", "lion"])
    assert usage.value.code == 2
    assert cli.main([*base, "--preset", "cnn_small", "--hyper", "width=3"]) == 1
    assert "unknown hyper-parameter(s) ['width']; known: filters" in capsys.readouterr().err
    assert cli.main([*base, "--preset", "cnn_small", "--optimizer", "sgd", "--nesterov"]) == 1
    assert capsys.readouterr().err == (
        "error: --nesterov: needs --momentum > 0 (Nesterov momentum with momentum 0 is plain SGD)\n")
    with pytest.raises(SystemExit) as usage:
        cli.main([*base, "--preset", "cnn_small", "--momentum", "1.5"])
    assert usage.value.code == 2


def test_pretrain_names_a_missing_source(tmp_path, capsys):
    assert cli.main(["pretrain", "--only", "ffn_gtzan_features", "--out", str(tmp_path)]) == 1
    assert capsys.readouterr().err == "error: --gtzan-csv: needed to build ffn_gtzan_features\n"
    with pytest.raises(SystemExit) as usage:
        cli.main(["pretrain", "--only", "resnet_gtzan"])
    assert usage.value.code == 2


@pytest.mark.parametrize(("flag", "dest", "accepted"), [("--optimizer", "optimizer", "OPTIMIZERS"),
                                                         ("--schedule", "schedule", "SCHEDULES"),
                                                         ("--output", "output", "OUTPUTS")])
def test_train_offers_exactly_the_settings_training_accepts(flag, dest, accepted, capsys):
    from genre_core import train_choices

    names = getattr(train_choices, accepted)
    required = ["train", "--dataset", "data", "--preset", "ffn_mfcc", "--out", "bundle"]
    parser = cli.build_parser()
    for name in names:  # every name training accepts parses as itself
        assert getattr(parser.parse_args([*required, flag, name]), dest) == name
    with pytest.raises(SystemExit) as refused:  # and nothing else
        parser.parse_args([*required, flag, "no-such-setting"])
    assert refused.value.code == 2
    assert f"argument {flag}: invalid choice: 'no-such-setting'" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        cli.main(["train", "--help"])
    assert f"{flag} {{{','.join(names)}}}" in capsys.readouterr().out  # --help lists exactly those


@pytest.mark.parametrize(
    ("verb", "flags"),
    [
        ("train", ("--dataset", "--preset", "--out", "--epochs", "--batch-size", "--optimizer", "--lr", "--schedule",
                   "--patience", "--split", "--split-dir", "--seed", "--genres", "--segments", "--n-mfcc", "--jobs",
                   "--cache")),
        ("evaluate", ("--bundle", "--dataset", "--split", "--split-dir", "--seed", "--report", "--html", "--png",
                      "--jobs", "--cache")),
        ("predict", ("--bundle", "FILE", "--segments", "--json", "--top")),
        ("pretrain", ("--gtzan-csv", "--gtzan-audio", "--splits", "--out", "--only", "--jobs")),
        ("demo", ("--jobs",)),
    ],
)
def test_help_explains_every_flag(verb, flags, capsys):
    with pytest.raises(SystemExit) as done:
        cli.main([verb, "--help"])
    assert done.value.code == 0
    out = capsys.readouterr().out
    assert all(flag in out for flag in flags)


# --- train --out never deletes what is there (issue 14, defect 1) --------------------------------------------------
@pytest.mark.parametrize(
    ("make", "out", "reason"),
    [
        (lambda root: (root / "my_music").mkdir() or (root / "my_music" / "song.wav").write_text("hi"), "my_music",
         "is not a model bundle folder (holds 'song.wav'); refusing to replace it"),
        (lambda root: (root / "notes.txt").write_text("hi"), "notes.txt",
         "is a file, not a model bundle folder; refusing to replace it"),
        (lambda root: (root / "notes.txt").write_text("hi"), "notes.txt/x", "is a file, not a folder"),
    ],
    ids=["folder-of-songs", "file", "below-a-file"],
)
def test_train_refuses_an_out_that_is_not_a_bundle_before_training(tone_genres, tmp_path, capsys, monkeypatch, make,
                                                                   out, reason):
    from genre_core import training

    make(tmp_path)
    before = {path: path.read_bytes() for path in tmp_path.rglob("*") if path.is_file()}
    monkeypatch.setattr(training, "train_model", lambda *args, **kwargs: pytest.fail("trained before refusing"))
    monkeypatch.setattr(datasets, "load_dataset", lambda *args, **kwargs: pytest.fail("loaded the dataset before refusing"))
    status = cli.main(["train", "--dataset", str(tone_genres), "--out", str(tmp_path / out), *TRAIN_FLAGS])
    err = capsys.readouterr().err
    assert status == 1 and err.startswith("error: ") and reason in err and err.count("\n") == 1
    assert {path: path.read_bytes() for path in tmp_path.rglob("*") if path.is_file()} == before


def test_leftovers_of_an_interrupted_save_are_recovered_at_start_with_a_note(tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(paths, "WORKSPACE_MODELS_DIR", tmp_path)
    (tmp_path / ".my_cnn.abcd1234.old").mkdir()
    (tmp_path / ".my_cnn.abcd1234.old" / "bundle.json").write_text("{}")
    assert cli.main(["predict", "--bundle", str(tmp_path / "nope"), str(tmp_path / "a.wav")]) == 1
    err = capsys.readouterr().err
    assert err.splitlines()[0] == (f"note: {tmp_path / 'my_cnn'}: restored from .my_cnn.abcd1234.old, left by an "
                                   "interrupted replacement")
    assert (tmp_path / "my_cnn" / "bundle.json").is_file()


# --- arguments checked before the work, one line each (issue 14, defects 5 and 7) ----------------------------------
def test_unusable_outputs_are_refused_before_the_work(genre_folder, tmp_path, capsys, monkeypatch):
    (tmp_path / "file").write_text("x")
    for verb in (cli.extract, cli.common):
        monkeypatch.setattr(verb, "load_dataset", lambda *args, **kwargs: pytest.fail("extracted before refusing"))
    assert run_extract(genre_folder, tmp_path / "file") == 1
    assert capsys.readouterr().err == f"error: --out {tmp_path / 'file'}: {tmp_path / 'file'} is a file, not a folder\n"
    assert cli.main(["evaluate", "--bundle", str(tmp_path / "b"), "--dataset", "demo", "--report", str(tmp_path)]) == 1
    assert capsys.readouterr().err == f"error: --report {tmp_path}: is a folder, give a file name\n"
    assert cli.main(["evaluate", "--bundle", str(tmp_path / "b"), "--dataset", "demo", "--png",
                     str(tmp_path / "file" / "figures")]) == 1
    assert capsys.readouterr().err.startswith(f"error: --png {tmp_path / 'file' / 'figures'}: ")
    with pytest.raises(SystemExit) as usage:
        run_extract(genre_folder, tmp_path / "out", "--jobs", "0")
    assert usage.value.code == 2 and "0 processes cannot work" in capsys.readouterr().err


def test_names_with_newlines_are_quoted_so_each_message_stays_one_line(tmp_path, capsys):
    odd = tmp_path / "evil\nerror: forged.wav"
    odd.write_bytes(b"not audio at all" * 10)
    status = cli.main(["predict", "--bundle", str(REPO_ROOT / "assets/models/ffn_demo"), str(odd)])
    err = capsys.readouterr().err
    assert status == 1 and err.count("\n") == 1 and err.startswith(f"error: {str(odd)!r}: cannot decode audio")


def test_a_system_error_while_writing_is_one_line(tmp_path, capsys, monkeypatch):
    def disk_full(*args, **kwargs):
        raise OSError(28, "No space left on device", str(tmp_path / "out"))

    monkeypatch.setattr(cli.extract, "load_dataset", disk_full)
    assert run_extract(tmp_path / "genres", tmp_path / "out") == 1
    assert capsys.readouterr().err == f"error: {tmp_path / 'out'}: No space left on device\n"


def test_musicnn_weights_refuses_a_file_that_is_not_the_wheel(tmp_path, capsys):
    bogus = tmp_path / "musicnn.whl"
    bogus.write_text("not a wheel")
    assert cli.main(["musicnn-weights", "--wheel", str(bogus), "--out", str(tmp_path / "out")]) == 1
    captured = capsys.readouterr()
    assert captured.err == f"error: {bogus}: is not a wheel (zip) file\n"
    assert not (tmp_path / "out").exists()


@pytest.mark.slow
def test_musicnn_weights_converts_the_pinned_wheel(tmp_path, capsys):
    from conftest import musicnn_wheel

    assert cli.main(["musicnn-weights", "--wheel", str(musicnn_wheel()), "--out", str(tmp_path)]) == 0
    written = sorted(path.name for path in tmp_path.iterdir())
    assert written == ["LICENSE-musicnn.md", "msd_musicnn.keras", "msd_vgg.keras", "mtt_musicnn.keras", "mtt_vgg.keras"]
    assert capsys.readouterr().out.count("written ") == 5


@pytest.mark.slow
def test_predict_prints_verdicts_without_tensorflow_log_lines(trained_bundle, tone_genres):
    """No absl, oneDNN or CPU-instruction lines from TensorFlow before the verdicts: stderr stays empty."""
    folder, _ = trained_bundle
    song = tone_genres / "bass" / "bass.00002.wav"
    environment = {key: value for key, value in os.environ.items() if key != "TF_CPP_MIN_LOG_LEVEL"}
    result = subprocess.run(
        [sys.executable, "-m", "genre_core", "predict", "--bundle", str(folder), str(song)],
        cwd=REPO_ROOT, capture_output=True, text=True, timeout=300, check=False, env=environment,
    )
    assert result.returncode == 0 and result.stdout.startswith(f"{song}: ")
    assert result.stderr == ""


def test_demo_verb_builds_what_the_apps_first_use_reads_from_the_cache(tmp_path, monkeypatch, capsys):
    """``make run`` runs ``python -m genre_core demo`` before the server: afterwards the app's load of the default
    demo (`dataset_choice.read_dataset` reaches `audio_datasets.load_demo` with the default settings) generates
    and extracts nothing."""
    from conftest import isolate_workspace

    from genre_core.config import FeatureConfig

    isolate_workspace(monkeypatch, tmp_path)
    monkeypatch.setenv(audio_datasets.DEMO_TRACKS_ENV, "1")
    assert cli.main(["demo", "--jobs", "2"]) == 0
    assert f"demo dataset ready in {paths.DATA_DIR}: 4 genres, 4 tracks, 40 segments" in capsys.readouterr().out

    phases, progress = [], []
    dataset, _ = audio_datasets.load_demo(FeatureConfig(), folder=paths.DEMO_DIR, cache_dir=paths.CACHE_DIR,
                                    phase=phases.append, progress=lambda done, total: progress.append((done, total)),
                                    **audio_datasets.demo_size_from_environment())
    assert phases == [audio_datasets.EXTRACTING_PHASE] and progress == [(4, 4)]  # no generation, one cache read
    assert len(dataset) == 40 and dataset.synthetic

"""``python -m genre_core sweep``: bad input is one line and exit status 1 before any training or writing; a small
sweep prints its runs, the table and the best setting, and a second call resumes it without training."""

from __future__ import annotations

from pathlib import Path

import pytest
from helpers import make_tone_folder

from genre_core import cli, sweep

FLAGS = ["--preset", "ffn_mfcc", "--folds", "2", "--seed", "3", "--jobs", "1",
         "--set", "epochs=1", "--set", "batch_size=4", "--set", "hidden=[8]", "--set", "n_mels=32"]


@pytest.fixture(scope="module")
def tones(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_tone_folder(tmp_path_factory.mktemp("tones") / "genres")


@pytest.mark.parametrize(("vary", "extra", "message"), [
    (["--vary", "nope=1,2"], [], "setting 'nope': is not a setting of preset ffn_mfcc; known: optimizer"),
    (["--vary", "learning_rate=0.1"], [], "give between 2 and 12 values, got 1"),
    (["--vary", "dropout=0.1,1.5"], [], "sweep point dropout=1.5: ffn_mfcc hyper-parameter 'dropout'"),
    (["--vary", "optimizer=adam,sgdd"], [], "sweep point optimizer=sgdd: TrainConfig.optimizer"),
    (["--vary", "learning_rate=0.1,0.1"], [], "value 0.1 is given twice"),
    (["--vary", "epochs=1,2", "--vary", "epochs=3,4"], [], "setting 'epochs': is varied twice"),
    (["--vary", "learning_rate=0.1,0.2"], ["--folds", "1"], "folds: must be a whole number from 2 to 20"),
    (["--vary", "n_mels=4,64"], [], "FeatureConfig.n_mels: value 4 is out of range"),
    (["--vary", "learning_rate=0.1,0.2"], ["--set", "bogus=1"], "setting 'bogus'"),
    (["--vary", "learning_rate=0.1,0.2"], ["--split-dir", "/nonexistent/folds"],
     "/nonexistent/folds: no such folder (the artist-filtered split files are expected there)"),
])
def test_bad_input_is_one_line_before_any_work(tones, tmp_path, capsys, vary, extra, message) -> None:
    status = cli.main(["sweep", "--dataset", str(tones), *FLAGS, *vary, *extra, "--out", str(tmp_path / "out")])
    captured = capsys.readouterr()
    assert status == 1 and captured.out == ""
    assert captured.err.startswith("error: ") and message in captured.err and captured.err.count("\n") == 1
    assert not (tmp_path / "out").exists()


def test_a_missing_dataset_or_an_unknown_preset_is_one_line(tmp_path, capsys) -> None:
    assert cli.main(["sweep", "--dataset", str(tmp_path / "none"), *FLAGS, "--vary", "learning_rate=0.1,0.2",
                     "--out", str(tmp_path / "out")]) == 1
    assert "no such file or folder" in capsys.readouterr().err
    assert cli.main(["sweep", "--dataset", "demo", "--preset", "nope", "--vary", "learning_rate=0.1,0.2",
                     "--out", str(tmp_path / "out")]) == 1
    assert "preset 'nope': unknown preset" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()


@pytest.mark.slow
def test_a_sweep_prints_its_table_and_a_second_call_resumes_it(tones, tmp_path, capsys) -> None:
    arguments = ["sweep", "--dataset", str(tones), *FLAGS, "--vary", "learning_rate=0.05,0.001", "--by-track",
                 "--cache", str(tmp_path / "cache"), "--out", str(tmp_path / "out")]
    assert cli.main(arguments) == 0
    printed = capsys.readouterr().out
    assert printed.count(": training") == 4 and "4/4 runs on" in printed
    assert "9 tracks, 2 folds grouped by track" in printed  # --by-track (the tones are named like GTZAN tracks)
    assert "learning_rate" in printed and "accuracy mean (%)" in printed and "rule: Best = the highest" in printed
    assert sweep.load_sweep(tmp_path / "out").complete
    assert cli.main([*arguments, "--html", str(tmp_path / "sweep.html")]) == 0
    again = capsys.readouterr().out
    assert again.count(": read back") == 4 and ": training" not in again
    page = (tmp_path / "sweep.html").read_text(encoding="utf-8")
    assert "<h1>GenreLens sweep: ffn_mfcc, learning_rate</h1>" in page
    assert 'id="figure-sweep_accuracy"' in page and f"HTML report written to {tmp_path / 'sweep.html'}" in again

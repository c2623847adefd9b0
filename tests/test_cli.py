"""Tests of `genre_core.cli`: the extract verb in-process, errors as one line, and ``--help`` as a subprocess."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import soundfile
from conftest import REPO_ROOT, tone

from genre_core import cli

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


def test_help_runs_as_a_module():
    result = subprocess.run(
        [sys.executable, "-m", "genre_core", "extract", "--help"],
        cwd=REPO_ROOT, capture_output=True, text=True, timeout=120, check=False,
    )
    assert result.returncode == 0, result.stderr
    flags = (
        "--dataset", "--out", "--segments", "--n-mfcc", "--n-mels", "--sample-rate", "--genres", "--kinds", "--jobs",
    )
    assert all(flag in result.stdout for flag in flags)

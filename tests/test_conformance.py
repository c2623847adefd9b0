"""The summary features against the Kaggle GTZAN table on real tracks, and the report command."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
import soundfile
from conftest import tone

from genre_core.conformance import compare_to_kaggle, conformance_markdown, main
from genre_core.errors import InputError
from genre_core.features import SUMMARY_NAMES

TRACKS_PER_GENRE = 3  # 30 of the 70 tracks; `python -m genre_core.conformance` checks all 70 (~40 s of CPU)


@pytest.fixture(scope="module")
def conformance_table(gtzan_mini: Path, gtzan_csv: Path) -> pd.DataFrame:
    return compare_to_kaggle(gtzan_mini, gtzan_csv, n_jobs=2, tracks_per_genre=TRACKS_PER_GENRE)


@pytest.mark.slow
def test_mfcc_means_match_the_kaggle_table_within_2_percent(conformance_table: pd.DataFrame) -> None:
    print(f"\nKaggle conformance on {TRACKS_PER_GENRE} tracks per genre:\n{conformance_table.to_string()}")
    assert list(conformance_table.index) == list(SUMMARY_NAMES)
    assert set(conformance_table["n_tracks"]) == {10 * TRACKS_PER_GENRE}
    mfcc_mean_columns = [name for name in SUMMARY_NAMES if name.startswith("mfcc") and name.endswith("_mean")]
    mfcc_means = conformance_table.loc[mfcc_mean_columns]
    assert len(mfcc_means) == 20
    assert (mfcc_means["median_relative_error"] < 0.02).all()


@pytest.mark.slow
def test_report_lists_every_column_and_the_unmatched_ones(conformance_table: pd.DataFrame) -> None:
    report = conformance_markdown(conformance_table)
    assert report.startswith("# Conformance with the Kaggle GTZAN feature table")
    assert all(f"| {name} |" in report for name in SUMMARY_NAMES)
    worse = conformance_table.copy()
    worse.loc["tempo", "median_relative_error"] = 0.05
    assert "the others: tempo." in conformance_markdown(worse)


def test_folder_without_matching_tracks_is_an_input_error(tmp_path: Path, gtzan_csv: Path) -> None:
    (tmp_path / "song.wav").write_bytes(b"RIFF")
    with pytest.raises(InputError, match="no audio file has a row in"):
        compare_to_kaggle(tmp_path, gtzan_csv)


@pytest.mark.slow
def test_command_writes_the_report_and_fails_in_one_line(
    tmp_path: Path, gtzan_csv: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    audio_root = tmp_path / "audio"
    audio_root.mkdir()
    soundfile.write(audio_root / "blues.00000.wav", tone(440.0, 1.0), 22050)  # a stand-in: only the plumbing is tested
    out = tmp_path / "docs" / "report.md"
    assert main([str(audio_root), str(gtzan_csv), "--out", str(out)]) == 0
    written = out.read_text()
    assert "| mfcc1_mean |" in written and "| 1 |" in written
    assert written in capsys.readouterr().out
    bad_csv = tmp_path / "bad.csv"
    bad_csv.write_text("filename,label\nblues.00000.wav,blues\n")
    assert main([str(audio_root), str(bad_csv)]) == 1
    error = capsys.readouterr().err
    assert "missing column(s)" in error and error.count("\n") == 1

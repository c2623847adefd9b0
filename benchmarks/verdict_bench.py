"""Upload to verdict: a 3-minute mp3 through the default models (the transfer CNN and the FFN), warm and cold,
and the memory a 40-minute file needs.

- warm: `prediction.predict_file` in this process with the bundles loaded and traced (what the app's Your song
  does for a second song), median of `RUNS`;
- first-ever: ``python -m genre_core predict`` in a fresh interpreter (imports, bundle loading, tracing,
  decoding and both models), fewer runs;
- a 40-minute WAV (the real tracks repeated) through the same CLI, the peak resident memory of the process.
The songs are made from real GTZAN tracks with soundfile in a temporary folder, never stored in the repository.
"""

from __future__ import annotations

import itertools
import subprocess
import sys
from pathlib import Path

import numpy as np
import soundfile

from benchmarks.class_load import BUNDLES, MemoryWatch
from benchmarks.extraction_bench import GTZAN_MINI, ROOT
from benchmarks.measure import Result, repeated, seconds, summarise

WARM_GOAL_S = 3.0  #: a 3-minute mp3 to both verdicts, warm
LONG_PEAK_GOAL_GB = 1.5  #: a 40-minute file through both models, peak resident memory
COLD_RUNS = 2  #: first-ever runs (a fresh interpreter each, ~15 s)


def real_song(folder: Path, minutes: int, suffix: str) -> Path:
    """``minutes`` of real GTZAN tracks one after the other, a different genre each time (the tracks again once
    all were used), written by libsndfile as ``<minutes>_minutes.<suffix>``."""
    from genre_core.audio import load_audio

    rate = 22050
    by_number = sorted(GTZAN_MINI.glob("*/*.wav"), key=lambda path: (path.stem.split(".")[-1], path.parent.name))
    decoded: dict[Path, np.ndarray] = {}
    pieces, needed = [], minutes * 60 * rate
    for track in itertools.cycle(by_number):
        if sum(len(piece) for piece in pieces) >= needed:
            break
        pieces.append(decoded.setdefault(track, load_audio(track, rate)))
    path = folder / f"{minutes}_minutes.{suffix}"
    soundfile.write(path, np.concatenate(pieces)[:needed], rate, format=suffix.upper())
    return path


def _cli(song: Path) -> list[str]:
    bundles = [argument for name in ("CNN", "FFN") for argument in ("--bundle", str(BUNDLES[name]))]
    return [sys.executable, "-m", "genre_core", "predict", *bundles, str(song)]


def _peak_of_cli_gb(song: Path) -> float:
    """Peak resident memory (GB) of ``python -m genre_core predict`` on ``song`` with both default models."""
    process = subprocess.Popen(_cli(song), cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    watch = MemoryWatch(process.pid)
    _, errors = process.communicate()
    watch.stop()
    if process.returncode != 0:
        raise RuntimeError(f"predict failed on {song.name}: {errors.strip().splitlines()[-1:]}")
    return watch.peak_with_workers_mb / 1024


def bench_verdict(workspace: Path) -> list[Result]:
    """The rows of the module docstring."""
    from genre_core.bundles import load_bundle
    from genre_core.prediction import predict_file

    if not GTZAN_MINI.is_dir():
        return [Result(f"upload to verdict: {GTZAN_MINI} is missing", 0.0, "-", "the real tracks", False)]
    song = real_song(workspace, 3, "mp3")
    bundles = [load_bundle(BUNDLES[name]) for name in ("CNN", "FFN")]
    predict_file(bundles, song)  # warm: models traced, numba compiled
    warm = repeated("3-minute mp3 to verdict, cnn_gtzan_transfer + ffn_gtzan_features, warm in-process",
                    lambda: predict_file(bundles, song), goal=f"<= {WARM_GOAL_S:g} s",
                    meets=lambda value: value <= WARM_GOAL_S)
    cold = [seconds(lambda: subprocess.run(_cli(song), cwd=ROOT, capture_output=True, check=True))
            for _ in range(COLD_RUNS)]
    long_song = real_song(workspace, 40, "wav")
    peak = _peak_of_cli_gb(long_song)
    return [
        warm,
        summarise("the same, first-ever: `python -m genre_core predict` in a fresh process (imports, loading, "
                  "tracing included)", cold, "s"),
        Result("40-minute WAV through both models (CLI), peak resident memory", peak, "GB",
               f"< {LONG_PEAK_GOAL_GB:g} GB (bounded)", peak < LONG_PEAK_GOAL_GB),
    ]


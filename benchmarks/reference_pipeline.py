"""The tutorial MFCC pipeline that GenreLens' extraction is measured against (the usual GTZAN course code).

As the tutorials write it: every file loaded serially with ``librosa.load`` at 22050 Hz, cut into
``segments`` equal parts of a nominal 30 s track, ``librosa.feature.mfcc`` on each part, a part kept only when
it has the expected number of frames, and everything written with ``json.dump`` of nested lists
(``{"mapping": [...], "labels": [...], "mfcc": [...]}``).

One setting differs from the tutorials' code as librosa 0.11 runs it, so that both sides compute the same
numbers: the STFT pads the part's ends by reflection (``pad_mode="reflect"``, librosa's default up to 0.9,
when those tutorials were written, and GenreLens' choice: it reproduces the Kaggle GTZAN tables). With
librosa 0.10+'s zero padding only the first and last 2 frames of each part would differ.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import librosa
import numpy as np

SAMPLE_RATE = 22050  #: Hz
TRACK_SECONDS = 30  #: s, the nominal GTZAN track the parts divide
N_FFT = 2048
HOP_LENGTH = 512
PAD_MODE = "reflect"  #: see the module docstring


def reference_mfcc(files: list[tuple[Path, str]], json_path: Path, n_mfcc: int = 16, segments: int = 10) -> dict:
    """Run the tutorial pipeline over ``files`` (audio path, genre) in the given order and write ``json_path``.

    Returns what it wrote: ``mapping`` (genres in first-seen order), ``labels`` (one index per kept part),
    ``track`` (the file's stem per kept part; not in the tutorials, needed to compare like with like),
    ``segment`` (the part's index in its track), ``complete`` (whether the part had all its samples: the last
    part of a track under 30 s is shorter, and GenreLens zero-pads such a window where the tutorials frame the
    shorter part) and ``mfcc`` (per kept part a list of frames of ``n_mfcc``
    floats: (frames, n_mfcc), time-major).
    """
    samples_per_segment = int(SAMPLE_RATE * TRACK_SECONDS / segments)
    expected_frames = math.ceil(samples_per_segment / HOP_LENGTH)
    data: dict[str, list] = {"mapping": [], "labels": [], "track": [], "segment": [], "complete": [], "mfcc": []}
    for path, genre in files:
        if genre not in data["mapping"]:
            data["mapping"].append(genre)
        signal, _ = librosa.load(path, sr=SAMPLE_RATE)
        for index in range(segments):
            start = samples_per_segment * index
            part = signal[start : start + samples_per_segment]
            coefficients = librosa.feature.mfcc(y=part, sr=SAMPLE_RATE, n_mfcc=n_mfcc, n_fft=N_FFT,
                                                hop_length=HOP_LENGTH, pad_mode=PAD_MODE).T
            if len(coefficients) == expected_frames:
                data["mfcc"].append(coefficients.tolist())
                data["labels"].append(data["mapping"].index(genre))
                data["track"].append(Path(path).stem)
                data["segment"].append(index)
                data["complete"].append(len(part) == samples_per_segment)
    with open(json_path, "w") as handle:
        json.dump(data, handle, indent=4)
    return data


def reload_reference(json_path: Path) -> tuple[np.ndarray, np.ndarray]:
    """The tutorials' way back in: ``json.load`` and ``np.array`` of ``mfcc`` and ``labels``:
    (parts, frames, n_mfcc) float64 and (parts,) int64."""
    with open(json_path) as handle:
        data = json.load(handle)
    return np.array(data["mfcc"]), np.array(data["labels"])

"""Reference outputs of the ORIGINAL musicnn 0.1.0 code, for the port-equality tests of GenreLens.

Runs only in a throwaway environment (``make musicnn-reference`` builds it; docs/musicnn-port.md gives the
exact recipe): Python 3.11, tensorflow-cpu 2.15.1, numpy<2, librosa 0.10.2, soundfile, and
``pip install --no-deps musicnn==0.1.0``. Never imported by GenreLens.

For each input window (one 2.984 s window at 16 kHz = 47744 samples = exactly one 187-frame musicnn patch)
it writes the window as a float32 WAV, runs ``musicnn.extractor.extractor`` on it for each of the four
models and records the tag probabilities (sigmoid, 50) and the penultimate representation (musicnn: the
200-unit ``penultimate`` layer; vgg: ``pool5`` flattened, 256 values), plus a fingerprint of the input patch.

    python scripts/musicnn_reference.py --gtzan ../shared/data/gtzan_mini/genres --out tests/fixtures/musicnn_reference.json
"""

from __future__ import annotations

import argparse
import json
import platform
import tempfile
import time
from pathlib import Path

import librosa
import numpy as np
import soundfile

SAMPLE_RATE = 16000
WINDOW_SAMPLES = 47744  #: 2.984 s: 1 + 47744 // 256 = 187 frames, one musicnn patch
MODELS = ("MSD_musicnn", "MSD_vgg", "MTT_musicnn", "MTT_vgg")
#: Real windows: (GTZAN file relative to the genres folder, index of the 47744-sample window).
REAL_WINDOWS = (("classical/classical.00000.wav", 2), ("metal/metal.00001.wav", 4))


def generated_window() -> np.ndarray:
    """A deterministic test signal (no random numbers): a 110 Hz harmonic tone whose pitch glides up an octave,
    a 1.5 kHz tone that pulses 4 times a second and clicks every 0.25 s. Returns (47744,) float32."""
    t = np.arange(WINDOW_SAMPLES, dtype=np.float64) / SAMPLE_RATE
    glide = 110.0 * 2.0 ** (t / t[-1])
    phase = 2 * np.pi * np.cumsum(glide) / SAMPLE_RATE
    tone = sum(0.2 / k * np.sin(k * phase) for k in range(1, 6))
    pulse = 0.15 * np.sin(2 * np.pi * 1500 * t) * (np.sin(2 * np.pi * 4 * t) > 0)
    clicks = 0.5 * ((np.arange(WINDOW_SAMPLES) % 4000) < 8)
    return (tone + pulse + clicks).astype(np.float32)


def real_window(gtzan: Path, relative: str, index: int) -> np.ndarray:
    """Window ``index`` of a GTZAN track loaded at 16 kHz the way musicnn loads audio (librosa.load, soxr_hq)."""
    audio, _ = librosa.load(gtzan / relative, sr=SAMPLE_RATE)
    return audio[index * WINDOW_SAMPLES:(index + 1) * WINDOW_SAMPLES].astype(np.float32)


def reference(window: np.ndarray, model: str, folder: Path) -> tuple[dict, list[str]]:
    from musicnn.extractor import batch_data, extractor

    path = folder / "window.wav"
    soundfile.write(path, window, SAMPLE_RATE, subtype="FLOAT")
    taggram, labels, features = extractor(str(path), model=model, input_length=3, extract_features=True)
    batch, _ = batch_data(str(path), 187, 187)
    assert taggram.shape == (1, 50) and batch.shape == (1, 187, 96), (taggram.shape, batch.shape)
    embedding = features["penultimate"] if "musicnn" in model else features["pool5"].reshape(1, -1)
    return {
        "tags": [round(float(v), 7) for v in taggram[0]],
        "embedding": [round(float(v), 7) for v in np.ravel(embedding)],
        "patch_sum": float(batch.astype(np.float64).sum()),
    }, list(labels)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--gtzan", type=Path, required=True)
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    import musicnn
    import tensorflow as tf

    inputs = {"generated": generated_window()}
    for relative, index in REAL_WINDOWS:
        inputs[f"{relative}#{index}"] = real_window(args.gtzan, relative, index)
    results: dict = {}
    vocabularies: dict = {}
    with tempfile.TemporaryDirectory() as temporary:
        for name, window in inputs.items():
            results[name] = {}
            for model in MODELS:
                results[name][model], vocabularies[model.split("_")[0]] = reference(window, model, Path(temporary))
        # Cost of the original code per 30 s track (its own extractor, one patch per batch), for the benchmark.
        track = args.gtzan / REAL_WINDOWS[0][0]
        from musicnn.extractor import extractor

        extractor(str(track), model="MSD_musicnn", extract_features=True)  # warm-up
        start = time.perf_counter()
        for _ in range(3):
            extractor(str(track), model="MSD_musicnn", extract_features=True)
        seconds_per_track = (time.perf_counter() - start) / 3
    document = {
        "recipe": "scripts/musicnn_reference.py (see docs/musicnn-port.md)",
        "environment": {
            "python": platform.python_version(),
            "tensorflow": tf.__version__,
            "numpy": np.__version__,
            "librosa": librosa.__version__,
            "musicnn": getattr(musicnn, "__version__", "0.1.0"),
        },
        "sample_rate": SAMPLE_RATE,
        "window_samples": WINDOW_SAMPLES,
        "real_windows": [list(item) for item in REAL_WINDOWS],
        "original_seconds_per_30s_track": round(seconds_per_track, 3),
        "inputs": results,
        "tags": vocabularies,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(document, indent=1) + "\n")
    print(f"wrote {args.out}: {len(inputs)} inputs x {len(MODELS)} models; original {seconds_per_track:.2f} s/track")


if __name__ == "__main__":
    main()

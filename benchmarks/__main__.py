"""`python -m benchmarks`: measure GenreLens' speed goals in one run and print them as a table.

Each row is a measurement next to its goal. Where a goal is a ratio (cache hit vs miss, 30 s vs 3 s
spectrograms), both sides are measured in this run on this machine, so the ratio does not depend on how
fast the machine is. Results are also written to ``test-artifacts/benchmarks.json``. Exit status 1 when
a goal is missed.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
DEMO_FIRST_USE_GOAL_S = 60.0  #: the product starts in a minute: demo generation + cold extraction, 2 cores
USABLE_TRAIN_GOAL_S = 30.0  #: from the server's start (after make run's install) to a usable Train page, 2 cores


@dataclass
class Result:
    name: str
    value: float
    unit: str
    goal: str
    met: bool


def timed(function: Callable[[], object], repeats: int = 1) -> float:
    """Best wall time of ``repeats`` calls, in seconds."""
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        function()
        best = min(best, time.perf_counter() - start)
    return best


def import_seconds(module: str) -> float:
    """Wall time of importing ``module`` in a fresh interpreter, in seconds."""
    code = f"import time; s = time.perf_counter(); import {module}; print(time.perf_counter() - s)"
    output = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT)
    return float(output.stdout.strip().splitlines()[-1])


def bench_imports() -> list[Result]:
    core = import_seconds("genre_core.datasets")
    tensorflow = import_seconds("tensorflow")
    return [
        Result("import genre_core.datasets (no TensorFlow)", core, "s", "< 25 % of `import tensorflow`",
               core < 0.25 * tensorflow),
        Result("import tensorflow (reference)", tensorflow, "s", "-", True),
    ]


def bench_demo_and_cache(workspace: Path) -> list[Result]:
    from genre_core import synth
    from genre_core.config import FeatureConfig
    from genre_core.datasets import load_audio_folder

    generate = timed(lambda: synth.generate_demo_dataset(workspace / "demo"))
    config = FeatureConfig()
    cold = timed(lambda: load_audio_folder(workspace / "demo", config, cache_dir=workspace / "cache"))
    warm = timed(lambda: load_audio_folder(workspace / "demo", config, cache_dir=workspace / "cache"), repeats=3)
    first_use = generate + cold
    return [
        Result("generate the default demo (4 genres x 25 tracks x 30 s)", generate, "s", "-", True),
        Result("extract the demo features, cold (all kinds)", cold, "s", "-", True),
        Result("demo first use: generate + cold extraction", first_use, "s", f"< {DEMO_FIRST_USE_GOAL_S:g} s",
               first_use < DEMO_FIRST_USE_GOAL_S),
        Result("load the same features from the cache", warm, "s", "< 1 s", warm < 1.0),
        Result("cache speed-up (cold / cached)", cold / warm, "x", "> 20x", cold / warm > 20),
    ]


def bench_first_use_in_the_browser() -> list[Result]:
    """The browser test's first-use walk (tests/test_browser.py) with the default demo of 25 tracks per genre:
    fresh workspace, server started, Train page opened first, until it is usable. Needs Chromium."""
    record = ROOT / "test-artifacts" / "browser" / "first_use.json"
    record.unlink(missing_ok=True)
    command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests/test_browser.py", "-k",
               "first_use"]
    subprocess.run(command, cwd=ROOT, check=True, env={**os.environ, "GENRELENS_FIRST_USE_TRACKS": "25"})
    walks = json.loads(record.read_text())
    prepared, cold = walks["after make's demo step"], walks["cold (no demo step)"]
    usable = prepared["seconds_to_usable_train_page"]
    return [
        Result("make run's demo step (generate + extract, part of the install)", prepared["demo_step_seconds"], "s",
               "-", True),
        Result("first use in the browser: server start -> usable Train page", usable, "s",
               f"<= {USABLE_TRAIN_GOAL_S:g} s", usable <= USABLE_TRAIN_GOAL_S),
        Result("the same without the demo step (the page generates and extracts)",
               cold["seconds_to_usable_train_page"], "s", "-", True),
    ]


def bench_cnn(rng: np.random.Generator) -> list[Result]:
    from genre_core.explain.gradcam import grad_cam
    from genre_core.models import build_model

    def ms_per_sample_epoch(frames: int, rows: int) -> float:
        model = build_model("cnn_small", (128, frames, 1), 10)
        model.compile(optimizer="sgd", loss="sparse_categorical_crossentropy")
        x = rng.normal(size=(rows, 128, frames, 1)).astype("float32")
        y = rng.integers(0, 10, rows)
        model.fit(x[:32], y[:32], batch_size=32, epochs=1, verbose=0)  # compile outside the timing
        return 1000 * timed(lambda: model.fit(x, y, batch_size=32, epochs=1, verbose=0)) / rows

    segment = ms_per_sample_epoch(130, 256)
    whole = ms_per_sample_epoch(1292, 64)
    model = build_model("cnn_small", (128, 130, 1), 10)
    gallery = rng.normal(size=(12, 128, 130, 1)).astype("float32")
    grad_cam(model, gallery)  # trace once
    per_map = 1000 * timed(lambda: grad_cam(model, gallery), repeats=3) / len(gallery)
    single = 1000 * timed(lambda: grad_cam(model, gallery[:1]), repeats=5)
    return [
        Result("cnn_small training, 3 s segments (128x130)", segment, "ms/sample/epoch", "-", True),
        Result("cnn_small training, whole 30 s clips (128x1292)", whole, "ms/sample/epoch", "-", True),
        Result("30 s clip / 3 s segment training cost", whole / segment, "x", "> 5x (train on segments)",
               whole / segment > 5),
        Result("Grad-CAM, gallery of 12, per spectrogram (warm)", per_map, "ms", "<= 50 ms", per_map <= 50),
        Result("Grad-CAM, one spectrogram (warm)", single, "ms", "<= 50 ms", single <= 50),
    ]


def bench_shap(rng: np.random.Generator) -> list[Result]:
    from genre_core.explain import shap_values
    from genre_core.models import build_model

    model = build_model("ffn_mfcc", (57,), 10)
    background = rng.normal(size=(100, 57)).astype("float32")
    rows = rng.normal(size=(200, 57)).astype("float32")
    explainer = shap_values.make_explainer(model, background)

    def force_plot() -> None:
        result = shap_values.explain_rows(explainer, rows[:1])
        shap_values.force_plot_html(result, 0, 0, rows[0])

    force_plot()
    one = timed(force_plot, repeats=3)
    global_view = timed(lambda: shap_values.explain_rows(explainer, rows))
    return [
        Result(f"SHAP force plot, one row (warm, {explainer.method})", one, "s", "<= 1 s", one <= 1.0),
        Result("SHAP values for the global views, 200 rows", global_view, "s", "<= 20 s", global_view <= 20),
    ]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__.splitlines()[0])
    parser.add_argument("--skip-demo", action="store_true", help="skip demo generation and extraction (~40 s)")
    parser.add_argument("--skip-browser", action="store_true",
                        help="skip the first-use walk in Chromium (a few minutes)")
    args = parser.parse_args(argv)
    rng = np.random.default_rng(0)
    results = bench_imports()
    with tempfile.TemporaryDirectory() as workspace:
        if not args.skip_demo:
            results += bench_demo_and_cache(Path(workspace))
    if not args.skip_browser:
        results += bench_first_use_in_the_browser()
    results += bench_cnn(rng)
    results += bench_shap(rng)

    width = max(len(result.name) for result in results)
    print(f"\n{'measurement'.ljust(width)}  {'value':>10}  unit              goal")
    for result in results:
        mark = "ok  " if result.met else "MISS"
        print(f"{result.name.ljust(width)}  {result.value:10.3f}  {result.unit:<16}  {mark} {result.goal}")
    out = ROOT / "test-artifacts" / "benchmarks.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps([asdict(result) for result in results], indent=2))
    return 0 if all(result.met for result in results) else 1


if __name__ == "__main__":
    sys.exit(main())

"""`python -m benchmarks [--only PART,...] [--skip PART,...]`: measure GenreLens' speed goals, part by part.

Each row is a measurement next to its goal. Where a goal is a ratio (cache hit vs miss, ours vs the tutorial
pipeline, the training engine vs a plain fit), both sides are measured alternately in the same run, so the ratio
does not depend on how fast or busy the machine is. Each part's results are kept in
``test-artifacts/bench-parts/<part>.json`` with when it ran, its wall time and the load, and ``BENCHMARKS.md`` is
written from the latest run of every part. Exit status 1 when a goal of the parts run is missed.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timezone
from collections.abc import Callable
from pathlib import Path

import numpy as np

from benchmarks import app_bench, explain_bench, extraction_bench, training_bench, verdict_bench, workers_bench
from benchmarks.measure import Result
from benchmarks.report import PartRun, save_part, saved_parts, write_report

ROOT = Path(__file__).resolve().parent.parent
DEMO_FIRST_USE_GOAL_S = 30.0  #: issue 13: the demo's first use <= 30 s on 2 cores: generation + cold extraction
DEMO_IN_THE_APP_GOAL_S = 30.0  #: the demo's first use in the browser without make's demo step
SWEEP_GOAL_S = 600.0  #: a sweep of 20 small runs on the demo "finishes in minutes" on 2 cores


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
    """The default demo generated (`n_jobs=-1`: the workers `synth.SERIAL_BELOW_TRACKS` and the idle cores allow),
    its first-use kinds extracted uncached (what the Train page waits for on a cold demo), then every kind cold and
    from the cache (what `make run`'s demo step and the other pages do)."""
    from genre_core import synth
    from genre_core.audio_datasets import load_audio_folder
    from genre_core.config import FeatureConfig
    from genre_core.dataset_choice import FIRST_USE_KINDS

    generate = timed(lambda: synth.generate_demo_dataset(workspace / "demo"))
    config = FeatureConfig()
    first_kinds = timed(lambda: load_audio_folder(workspace / "demo", config, kinds=FIRST_USE_KINDS, cache_dir=None))
    cold = timed(lambda: load_audio_folder(workspace / "demo", config, cache_dir=workspace / "cache"))
    warm = timed(lambda: load_audio_folder(workspace / "demo", config, cache_dir=workspace / "cache"), repeats=3)
    kinds = " and ".join(FIRST_USE_KINDS)
    return [
        Result("generate the default demo (4 genres x 25 tracks x 30 s)", generate, "s", "-", True),
        Result(f"extract the demo's first-use kinds ({kinds}), uncached", first_kinds, "s", "-", True),
        Result("extract the demo features, cold (all kinds)", cold, "s", "-", True),
        Result(f"demo first use on the Train page: generate + {kinds}", generate + first_kinds, "s",
               f"<= {DEMO_FIRST_USE_GOAL_S:g} s", generate + first_kinds <= DEMO_FIRST_USE_GOAL_S),
        Result("demo step (make run): generate + cold extraction of all kinds", generate + cold, "s",
               f"<= {DEMO_FIRST_USE_GOAL_S:g} s", generate + cold <= DEMO_FIRST_USE_GOAL_S),
        Result("load the same features from the cache", warm, "s", "< 1 s", warm < 1.0),
        Result("cache speed-up (cold / cached)", cold / warm, "x", "> 20x", cold / warm > 20),
    ]


def bench_sweep(workspace: Path) -> list[Result]:
    """The README's sweep: ffn_mfcc, learning rate x batch size (2 x 2), 5 grouped folds, 10 epochs: 20 runs on
    the default demo (generated and extracted first, not timed: in a whole `make bench` the part "demo" made both,
    every kind, and the source reads them from its cache)."""
    from genre_core import sweep
    from genre_core.sweep_spec import SweepSpec, parse_vary
    from genre_core.train_job import DatasetSource

    source = DatasetSource("demo", cache_dir=str(workspace / "cache"), demo_folder=str(workspace / "demo"))
    source.load(n_jobs=-1)
    axes = (parse_vary("learning_rate=0.01,0.001", "ffn_mfcc"), parse_vary("batch_size=32,64", "ffn_mfcc"))
    spec = SweepSpec(source, {"preset": "ffn_mfcc", "epochs": 10}, axes, folds=5, seed=42)
    seconds = timed(lambda: sweep.run_sweep(spec, workspace / "sweep"))
    return [Result("sweep: 20 runs of ffn_mfcc (10 epochs) on the demo, 5 grouped folds", seconds, "s",
                   f"< {SWEEP_GOAL_S:g} s", seconds < SWEEP_GOAL_S)]


def bench_first_use_in_the_browser() -> list[Result]:
    """The browser test's cold first-use walk (tests/test_browser.py) with the default demo of 25 tracks per genre:
    a fresh workspace without ``make run``'s demo step, server started, Train page opened first, until it is usable
    (the page generates and extracts the demo). Needs Chromium. The first use after the demo step is timed in the
    part "app", on the workspace the part "demo" prepared."""
    record = ROOT / "test-artifacts" / "browser" / "first_use.json"
    record.unlink(missing_ok=True)
    command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests/test_browser.py", "-k",
               "first_use and cold"]
    subprocess.run(command, cwd=ROOT, check=True, env={**os.environ, "GENRELENS_FIRST_USE_TRACKS": "25"})
    cold = json.loads(record.read_text())["cold (no demo step)"]["seconds_to_usable_train_page"]
    return [Result("demo first use as a user meets it: no demo step, server start -> usable Train page (the page "
                   "generates and extracts the demo)", cold, "s", f"<= {DEMO_IN_THE_APP_GOAL_S:g} s",
                   cold <= DEMO_IN_THE_APP_GOAL_S)]


def bench_clip_cost(rng: np.random.Generator) -> list[Result]:
    """cnn_small's training cost per sample on 3 s windows against whole 30 s clips (why it trains on windows)."""
    from genre_core.models import build_model

    def ms_per_sample_epoch(frames: int, rows: int) -> float:
        model = build_model("cnn_small", (128, frames, 1), 10)
        model.compile(optimizer="sgd", loss="sparse_categorical_crossentropy")
        x = rng.normal(size=(rows, 128, frames, 1)).astype("float32")
        y = rng.integers(0, 10, rows)
        model.fit(x[:32], y[:32], batch_size=32, epochs=1, verbose=0)  # compile outside the timing
        return 1000 * timed(lambda: model.fit(x, y, batch_size=32, epochs=1, verbose=0)) / rows

    segment = ms_per_sample_epoch(130, 256)
    whole = ms_per_sample_epoch(1292, 16)
    return [
        Result("cnn_small training, 3 s segments (128x130)", segment, "ms/sample/epoch", "-", True),
        Result("cnn_small training, whole 30 s clips (128x1292)", whole, "ms/sample/epoch", "-", True),
        Result("30 s clip / 3 s segment training cost", whole / segment, "x", "> 5x (train on segments)",
               whole / segment > 5),
    ]


GTZAN_MINI = ROOT.parent / "shared" / "data" / "gtzan_mini" / "genres"
TRANSFER_HEAD_GOAL_S = 60.0  #: frozen-trunk head on the 70 tracks, embeddings from a cold cache included
PORT_SPEED_UP_GOAL = 10.0  #: the port's batched inference per track against the original code's
LESSON_GOAL_POINTS = 25.0  #: transfer above cnn_small from scratch, grouped 5-fold CV on the 70 tracks


def bench_transfer(workspace: Path) -> list[Result]:
    """The transfer CNN's goals (issue: a CNN that hears real music); needs ../shared/data/gtzan_mini."""
    import json as json_module

    from genre_core import lesson, musicnn, paths, pretrain, training
    from genre_core.config import LOG_MEL
    from genre_core.audio_datasets import load_audio_folder
    from genre_core.splits import grouped_split
    from genre_core.transfer import load_tagger

    if not GTZAN_MINI.is_dir():
        return [Result(f"transfer benchmarks: {GTZAN_MINI} is missing", 0.0, "-", "the real tracks", False)]
    paths.CACHE_DIR = workspace / "transfer-cache"  # cold: features and frozen activations computed afresh

    def head() -> None:
        dataset, _ = load_audio_folder(GTZAN_MINI, musicnn.FEATURES, kinds=[LOG_MEL], cache_dir=paths.CACHE_DIR)
        split = grouped_split(dataset, val_fraction=pretrain.VAL_FRACTION, test_fraction=pretrain.TEST_FRACTION)
        training.train_model(dataset, split, pretrain.train_config(pretrain.TRANSFER_CONFIG))

    head_seconds = timed(head)
    reference = json_module.loads((ROOT / "tests" / "fixtures" / "musicnn_reference.json").read_text())
    original = reference["original_seconds_per_30s_track"]
    patches = np.random.default_rng(0).uniform(0, 3, size=(10, 96, 187, 1)).astype("float32")
    results = [
        Result("transfer_vgg head on 70 tracks, cold cache (features + embeddings + training)", head_seconds, "s",
               f"<= {TRANSFER_HEAD_GOAL_S:g} s", head_seconds <= TRANSFER_HEAD_GOAL_S),
    ]
    for trunk in ("msd_vgg", "msd_musicnn"):
        tagger = load_tagger(trunk)
        tagger.predict(patches, batch_size=32, verbose=0)
        per_track = timed(lambda tagger=tagger: tagger.predict(patches, batch_size=32, verbose=0), repeats=3)
        results.append(Result(f"port {trunk}: one 30 s track (10 patches, batched) vs the original's "
                              f"{original:g} s (make musicnn-reference)", original / per_track, "x",
                              f">= {PORT_SPEED_UP_GOAL:g}x", original / per_track >= PORT_SPEED_UP_GOAL))
    measured = lesson.shipped_lesson()
    if measured is not None:
        results.append(Result(f"lesson (recorded by make pretrain): {measured.transfer.preset} minus "
                              f"{measured.scratch.preset}, grouped {measured.folds}-fold, track accuracy",
                              measured.gain_points, "points", f">= {LESSON_GOAL_POINTS:g}",
                              measured.gain_points >= LESSON_GOAL_POINTS))
    return results


def parts(rng: np.random.Generator) -> dict[str, Callable[[Path], list[Result]]]:
    """Every part of `make bench` by name, in the order a whole run takes them; each gets the run's workspace.
    The cold browser walk comes first: it is the server's first use on a machine nothing else has just loaded, as
    a user meets it (after the other parts it took 98-116 s instead of 51-58 s, for reasons not found)."""
    return {
        "first-use": lambda workspace: bench_first_use_in_the_browser(),
        "extraction": extraction_bench.bench_against_reference,
        "scaling": extraction_bench.bench_scaling,
        "workers": workers_bench.bench_crossover,
        "dask": lambda workspace: extraction_bench.bench_dask(),
        "imports": lambda workspace: bench_imports(),
        "demo": bench_demo_and_cache,
        "transfer": bench_transfer,
        "verdict": verdict_bench.bench_verdict,
        "training": lambda workspace: training_bench.bench_training(workspace) + bench_clip_cost(rng),
        "explain": lambda workspace: explain_bench.bench_gradcam() + explain_bench.bench_shap(),
        "app": app_bench.bench_app,
        "sweep": bench_sweep,
    }


def _names(text: str, known: dict[str, object]) -> list[str]:
    """Comma-separated part names, checked (argparse type)."""
    names = [name.strip() for name in text.split(",") if name.strip()]
    unknown = [name for name in names if name not in known]
    if unknown or not names:
        raise argparse.ArgumentTypeError(f"unknown part(s) {unknown}; choose from {', '.join(known)}")
    return names


def main(argv: list[str] | None = None) -> int:
    rng = np.random.default_rng(0)
    available = parts(rng)
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__.splitlines()[0])
    parser.add_argument("--only", type=lambda text: _names(text, available), metavar="PART[,PART]",
                        help=f"run only these parts: {', '.join(available)}")
    parser.add_argument("--skip", type=lambda text: _names(text, available), default=[], metavar="PART[,PART]",
                        help="leave these parts out")
    args = parser.parse_args(argv)
    chosen = [name for name in (args.only or available) if name not in args.skip]
    results: list[Result] = []
    with tempfile.TemporaryDirectory() as workspace:
        for name in chosen:
            load_before, started, clock = os.getloadavg()[0], datetime.now(timezone.utc), time.perf_counter()
            part_results = available[name](Path(workspace))
            run = PartRun(name, tuple(part_results), f"{started:%Y-%m-%d %H:%M}", time.perf_counter() - clock,
                          load_before, os.getloadavg()[0])
            save_part(run)
            results += part_results
            print(f"[{name}: {run.seconds:.0f} s]", flush=True)

    width = max(len(result.name) for result in results)
    print(f"\n{'measurement'.ljust(width)}  {'value':>10}  unit              goal")
    for result in results:
        mark = "ok  " if result.met else "MISS"
        print(f"{result.name.ljust(width)}  {result.value:10.3f}  {result.unit:<16}  {mark} {result.goal}")
    write_report(saved_parts(list(available)), ROOT / "BENCHMARKS.md")
    return 0 if all(result.met for result in results) else 1

if __name__ == "__main__":
    sys.exit(main())

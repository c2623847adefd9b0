"""`python -m benchmarks.class_load [--sessions 20]`: a class at once against one ``streamlit run app.py``.

One server on loopback (a free port, a temporary workspace); one warm-up session loads the models; then
``--sessions`` browser contexts (each a Streamlit session, Playwright with Debian's Chromium) each upload a
different real GTZAN track (15 s, from ``../shared/data/gtzan_mini``) to Your song at the same moment and wait
for both verdicts, the Grad-CAM map and the SHAP waterfall. Each session's verdict sentences must be exactly
the ones `predict_many` gives for its own song (no session sees another's result), with no page or console
error. Meanwhile ``--trainers`` more sessions each start a training on the Train page (the page's defaults on
the demo data) at the same moment and save the result as a bundle: each must end "finished" with its bundle
saved, while the students are served. Prints and writes (``test-artifacts/class_load.json``) the latency
p50/p95 (upload -> verdicts, upload -> explanations, Train -> bundle saved), the server's resident memory
after the warm-up and at its peak, and the peak of the server and its worker processes together (training runs
in worker processes). Not part of the test run: it takes minutes and all cores.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

import soundfile

ROOT = Path(__file__).resolve().parent.parent
GTZAN = ROOT.parent / "shared" / "data" / "gtzan_mini" / "genres"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-sync"]
MODELS = ROOT / "assets" / "models"
BUNDLES = {"FFN": MODELS / "ffn_gtzan_features", "CNN": MODELS / "cnn_gtzan_transfer"}  #: Your song's defaults
TIMEOUT_MS = 900_000
IDLE_APP = '[data-testid="stApp"][data-test-script-state="notRunning"]'


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def make_songs(folder: Path, count: int) -> list[Path]:
    """``count`` different real tracks (every genre in turn), their first 15 s, as WAV files in ``folder``."""
    tracks = sorted(GTZAN.glob("*/*.wav"))
    by_genre = sorted(tracks, key=lambda path: (int(path.stem.split(".")[-1]), path.parent.name))
    songs = []
    for index, track in enumerate(by_genre[:count]):
        samples, rate = soundfile.read(track, dtype="float32")
        songs.append(folder / f"student{index:02d}_{track.stem}.wav")
        soundfile.write(songs[-1], samples[: 15 * rate], rate)
    return songs


def expected_sentences(songs: list[Path]) -> dict[str, set[str]]:
    """Song name -> the verdict sentences of the GTZAN pair on it, computed here as the page does."""
    from genre_core.bundles import load_bundle
    from genre_core.prediction import predict_many
    from genre_core.song_figures import verdict_sentence

    models = {role: load_bundle(folder) for role, folder in BUNDLES.items()}
    results = predict_many(list(models.values()), [song.read_bytes() for song in songs],
                           names=[song.name for song in songs])
    return {song.name: {verdict_sentence(prediction, role) for role, prediction in zip(models, result.predictions)}
            for song, result in zip(songs, results, strict=True)}


def resident_mb(pid: int) -> float:
    """Resident memory of process ``pid`` in MB (0 once it has ended)."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return 0.0
    found = re.search(r"VmRSS:\s+(\d+)", status)
    return int(found.group(1)) / 1024 if found else 0.0


def descendants(pid: int) -> list[int]:
    """Every process below ``pid`` (its job workers and their helpers), from ``/proc``'s children lists."""
    found, queue = [], [pid]
    while queue:
        parent = queue.pop()
        try:
            children = Path(f"/proc/{parent}/task/{parent}/children").read_text().split()
        except OSError:
            continue
        found += [int(child) for child in children]
        queue += [int(child) for child in children]
    return found


class MemoryWatch:
    """Samples every 0.2 s the resident memory of process ``pid`` (``peak_mb``) and of it together with all its
    descendants (``peak_with_workers_mb``)."""

    def __init__(self, pid: int) -> None:
        self.pid, self.peak_mb, self.peak_with_workers_mb, self._stop = pid, 0.0, 0.0, threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def now_mb(self) -> float:
        return resident_mb(self.pid)

    def _run(self) -> None:
        while not self._stop.wait(0.2):
            server = self.now_mb()
            self.peak_mb = max(self.peak_mb, server)
            together = server + sum(resident_mb(child) for child in descendants(self.pid))
            self.peak_with_workers_mb = max(self.peak_with_workers_mb, together)

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()


async def student(browser, url: str, song: Path, expected: set[str]) -> dict:
    """One session: open Your song, upload ``song``, wait for verdicts and explanations; its latencies and
    whether it saw exactly its own verdicts without errors."""
    context = await browser.new_context(viewport={"width": 1400, "height": 1200})
    context.set_default_timeout(TIMEOUT_MS)  # 20 sessions starting at once on a laptop are slow, not broken
    page = await context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.on("console", lambda message: message.type == "error" and errors.append(message.text))
    await page.goto(url, timeout=TIMEOUT_MS)
    await page.locator('[data-testid="stSidebarNavLink"]', has_text="Your song").first.click(timeout=TIMEOUT_MS)
    await page.locator("h1", has_text="Your song").first.wait_for(timeout=TIMEOUT_MS)
    await page.locator(IDLE_APP).wait_for(timeout=TIMEOUT_MS)
    start = time.perf_counter()
    await page.locator('[data-testid="stFileUploader"] input[type="file"]').set_input_files(str(song),
                                                                                          timeout=TIMEOUT_MS)
    verdicts = page.locator("p").filter(has_text=re.compile(r"^The (CNN|FFN) hears "))
    await verdicts.nth(1).wait_for(timeout=TIMEOUT_MS)
    verdict_s = time.perf_counter() - start
    await page.locator(".js-plotly-plot", has_text="Grad-CAM at").locator(".heatmaplayer").first.wait_for(
        timeout=TIMEOUT_MS)
    await page.locator(".js-plotly-plot", has_text="Why '").locator(".ytick").first.wait_for(timeout=TIMEOUT_MS)
    explained_s = time.perf_counter() - start
    shown = set(await verdicts.all_inner_texts())
    exceptions = await page.locator('[data-testid="stException"], [data-testid="stAlertContentError"]').count()
    await context.close()
    return {"song": song.name, "verdict_s": verdict_s, "explained_s": explained_s,
            "own_result": shown == expected, "errors": errors + ([f"{exceptions} error boxes"] if exceptions else [])}


async def trainer(browser, url: str) -> dict:
    """One session that trains: open Train, start a training with the page's defaults, wait until it has
    finished and save it as a bundle; its time from Train to saved and whether it ended cleanly."""
    context = await browser.new_context(viewport={"width": 1400, "height": 1200})
    context.set_default_timeout(TIMEOUT_MS)
    page = await context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.on("console", lambda message: message.type == "error" and errors.append(message.text))
    await page.goto(url, timeout=TIMEOUT_MS)  # then the sidebar, as a student does (no deep-link probes)
    await page.locator('[data-testid="stSidebarNavLink"]', has_text="Train").first.click(timeout=TIMEOUT_MS)
    train = page.get_by_role("button", name="Train", exact=True)
    await train.wait_for(timeout=TIMEOUT_MS)
    await page.locator(IDLE_APP).wait_for(timeout=TIMEOUT_MS)
    start = time.perf_counter()
    await train.click()
    await page.get_by_role("button", name="Save as bundle").click(timeout=TIMEOUT_MS)
    await page.get_by_text("Saved as").first.wait_for(timeout=TIMEOUT_MS)
    saved_s = time.perf_counter() - start
    finished = await page.get_by_text("Training finished").count() + await page.get_by_text(
        "Training stopped early").count()
    boxes = await page.locator('[data-testid="stException"], [data-testid="stAlertContentError"]').all_inner_texts()
    await context.close()
    return {"saved_s": saved_s, "finished": bool(finished), "errors": errors + boxes}


async def run_class(url: str, songs: list[Path], expected: dict[str, set[str]], watch: MemoryWatch,
                    trainers: int) -> dict:
    from playwright.async_api import async_playwright

    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        warm = await student(browser, url, songs[0], expected[songs[0].name])
        after_warm_up_mb = watch.now_mb()
        watch.peak_mb = watch.peak_with_workers_mb = after_warm_up_mb
        outcomes = await asyncio.gather(*(student(browser, url, song, expected[song.name]) for song in songs),
                                        *(trainer(browser, url) for _ in range(trainers)))
        await browser.close()
    return {"warm_up": warm, "sessions": outcomes[: len(songs)], "trainers": outcomes[len(songs):],
            "rss_after_warm_up_mb": after_warm_up_mb}


def percentile(values: list[float], q: float) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[q - 1] if len(values) > 1 else values[0]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.class_load", description=__doc__.splitlines()[0])
    parser.add_argument("--sessions", type=int, default=20, help="concurrent browser sessions (default 20)")
    parser.add_argument("--trainers", type=int, default=2,
                        help="sessions training a model on the Train page meanwhile (default 2)")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as work:
        work_dir = Path(work)
        songs = make_songs(work_dir, args.sessions)
        expected = expected_sentences(songs)
        port = free_port()
        env = {**os.environ, "GENRELENS_DATA": str(work_dir / "data"), "GENRELENS_DEMO_TRACKS": "1"}
        command = [sys.executable, "-m", "streamlit", "run", "app.py", "--server.headless", "true",
                   "--server.address", "127.0.0.1", "--server.port", str(port)]
        with (work_dir / "server.log").open("w") as log:
            server = subprocess.Popen(command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
        url = f"http://127.0.0.1:{port}"
        try:
            for _ in range(300):
                try:
                    with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2):
                        break
                except OSError:
                    time.sleep(0.5)
            watch = MemoryWatch(server.pid)
            outcome = asyncio.run(run_class(url, songs, expected, watch, args.trainers))
            watch.stop()
        finally:
            server.terminate()
            server.wait(timeout=30)
    sessions, trainers = outcome["sessions"], outcome["trainers"]
    saved = [run["saved_s"] for run in trainers]
    verdicts = [session["verdict_s"] for session in sessions]
    explained = [session["explained_s"] for session in sessions]
    summary = {
        "sessions": len(sessions),
        "own_correct_result": sum(session["own_result"] for session in sessions),
        "sessions_with_errors": sum(bool(session["errors"]) for session in sessions),
        "verdict_p50_s": percentile(verdicts, 50), "verdict_p95_s": percentile(verdicts, 95),
        "explained_p50_s": percentile(explained, 50), "explained_p95_s": percentile(explained, 95),
        "warm_up_session_explained_s": outcome["warm_up"]["explained_s"],
        "server_rss_after_warm_up_mb": outcome["rss_after_warm_up_mb"], "server_rss_peak_mb": watch.peak_mb,
        "server_and_workers_rss_peak_mb": watch.peak_with_workers_mb,
        "trainers": len(trainers), "trainers_finished_and_saved": sum(run["finished"] for run in trainers),
        "trainers_with_errors": sum(bool(run["errors"]) for run in trainers),
        "train_to_saved_p50_s": percentile(saved, 50) if saved else None,
        "train_to_saved_max_s": max(saved) if saved else None,
        "cpu_cores": os.cpu_count(),
    }
    out = ROOT / "test-artifacts" / "class_load.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps({"summary": summary, "sessions": sessions, "trainers": trainers}, indent=2))
    print(json.dumps(summary, indent=2))
    ok = (summary["own_correct_result"] == len(sessions) and summary["sessions_with_errors"] == 0
          and summary["trainers_finished_and_saved"] == len(trainers) and summary["trainers_with_errors"] == 0)
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())

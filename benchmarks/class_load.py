"""`python -m benchmarks.class_load [--sessions 20]`: a class at once against one ``streamlit run app.py``.

One server on loopback (a free port, a temporary workspace); one warm-up session loads the models; then
``--sessions`` browser contexts (each a Streamlit session, Playwright with Debian's Chromium) each upload a
different real GTZAN track (15 s, from ``../shared/data/gtzan_mini``) to Your song at the same moment and wait
for both verdicts, the Grad-CAM map and the SHAP force plot. Each session's verdict sentences must be exactly
the ones `predict_many` gives for its own song (no session sees another's result), with no page or console
error. Prints and writes (``test-artifacts/class_load.json``) the latency p50/p95 (upload -> verdicts, upload ->
explanations) and the server's resident memory after the warm-up and at its peak. Not part of the test run:
it takes minutes and all cores. No session trains a model meanwhile (not measured).
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
BUNDLES = {"FFN": MODELS / "ffn_gtzan_features", "CNN": MODELS / "cnn_gtzan_mini"}
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


class MemoryWatch:
    """Samples the resident memory of process ``pid`` every 0.2 s; ``peak_mb`` is the largest sample."""

    def __init__(self, pid: int) -> None:
        self.pid, self.peak_mb, self._stop = pid, 0.0, threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def now_mb(self) -> float:
        status = Path(f"/proc/{self.pid}/status").read_text()
        return int(re.search(r"VmRSS:\s+(\d+)", status).group(1)) / 1024

    def _run(self) -> None:
        while not self._stop.wait(0.2):
            try:
                self.peak_mb = max(self.peak_mb, self.now_mb())
            except (OSError, AttributeError):
                return

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
    await page.frame_locator('iframe[title^="SHAP force plot"]').locator("svg").first.wait_for(timeout=TIMEOUT_MS)
    explained_s = time.perf_counter() - start
    shown = set(await verdicts.all_inner_texts())
    exceptions = await page.locator('[data-testid="stException"], [data-testid="stAlertContentError"]').count()
    await context.close()
    return {"song": song.name, "verdict_s": verdict_s, "explained_s": explained_s,
            "own_result": shown == expected, "errors": errors + ([f"{exceptions} error boxes"] if exceptions else [])}


async def run_class(url: str, songs: list[Path], expected: dict[str, set[str]], watch: MemoryWatch) -> dict:
    from playwright.async_api import async_playwright

    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        warm = await student(browser, url, songs[0], expected[songs[0].name])
        after_warm_up_mb = watch.now_mb()
        watch.peak_mb = after_warm_up_mb
        sessions = await asyncio.gather(*(student(browser, url, song, expected[song.name]) for song in songs))
        await browser.close()
    return {"warm_up": warm, "sessions": sessions, "rss_after_warm_up_mb": after_warm_up_mb}


def percentile(values: list[float], q: float) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[q - 1] if len(values) > 1 else values[0]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.class_load", description=__doc__.splitlines()[0])
    parser.add_argument("--sessions", type=int, default=20, help="concurrent browser sessions (default 20)")
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
            outcome = asyncio.run(run_class(url, songs, expected, watch))
            watch.stop()
        finally:
            server.terminate()
            server.wait(timeout=30)
    sessions = outcome["sessions"]
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
        "cpu_cores": os.cpu_count(),
    }
    out = ROOT / "test-artifacts" / "class_load.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps({"summary": summary, "sessions": sessions}, indent=2))
    print(json.dumps(summary, indent=2))
    ok = summary["own_correct_result"] == len(sessions) and summary["sessions_with_errors"] == 0
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())

"""End-to-end tests in a real browser: ``streamlit run app.py`` driven by Playwright with Debian's Chromium.

The app runs as a subprocess on a free port with its workspace (``GENRELENS_DATA``) in a temporary folder and a
one-track-per-genre demo, so nothing depends on the developer's ``data/``. Each test opens a fresh browser
context (a fresh Streamlit session), collects uncaught page errors and console errors, and fails on any. Full-page
screenshots of every page go to ``test-artifacts/browser/``; with ``GENRELENS_UPDATE_SCREENSHOTS=1`` also to
``docs/screenshots/`` for the README.

Streamlit renders asynchronously: the tests wait for specific text or elements and then for the script run to
end (the app root's script state, the "running" status widget gone), never for fixed times.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
import soundfile as sf
from helpers import process_alive

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page

pytestmark = [pytest.mark.browser, pytest.mark.slow]

REPO = Path(__file__).resolve().parent.parent
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync"]
ARTIFACTS = REPO / "test-artifacts" / "browser"
SCREENSHOTS = REPO / "docs" / "screenshots"
UPDATE_SCREENSHOTS_ENV = "GENRELENS_UPDATE_SCREENSHOTS"
GTZAN_PAIR = ("ffn_gtzan_features", "cnn_gtzan_transfer")  #: the pretrained bundles Your song uses on the demo
VIEWPORT = {"width": 1400, "height": 1200}
SERVER_START_S = 90.0
IDLE_APP = '[data-testid="stApp"][data-test-script-state="notRunning"]'  #: the app root once a run has ended
#: Opened on a page's own URL, Streamlit's frontend first tries that path as the server's base path: these probes
#: answer 404 and are logged as console errors by Chromium; they are not errors of the app.
DEEP_LINK_PROBE = re.compile(r"/[^/]+/_stcore/(health|host-config)$")
RUN_TIMEOUT_MS = 240_000  #: a page run may load TensorFlow, models and the demo on 2 busy cores
DEMO_TRACKS_ENV = "GENRELENS_DEMO_TRACKS"  #: the app's demo size (tracks per genre)
#: Tracks per genre of the demo in the first-use walk: 1 in the test suite, the default 25 for the measured
#: figure (``GENRELENS_FIRST_USE_TRACKS=25``, as `make bench` runs it).
FIRST_USE_TRACKS_ENV = "GENRELENS_FIRST_USE_TRACKS"
FIRST_USE_RECORD = "first_use.json"  #: where the first-use walk records its times (in ARTIFACTS)
GENERATING_PHASE = "Generating the demo's audio"  #: the start of `genre_core.audio_datasets.GENERATING_PHASE`
COLD_TIMEOUT_MS_PER_TRACK = 40_000  #: more wait per track per genre when the page generates and extracts the demo
#: Screenshot name -> (sidebar link text, the page's title).
PAGES = {
    "start": ("Start here", "GenreLens"),
    "data": ("Data", "Data"),
    "train": ("Train", "Train"),
    "evaluate": ("Evaluate", "Evaluate"),
    "experiments": ("Experiments", "Experiments"),
    "walkthroughs": ("Walkthroughs", "Walkthroughs"),
    "browse": ("Browse & Grad-CAM", "Browse & Grad-CAM"),
    "shap": ("SHAP", "SHAP"),
    "your_song": ("Your song", "Your song"),
}


@pytest.fixture(scope="module")
def chromium() -> Path:
    if not CHROMIUM.is_file():
        message = "Chromium not installed: apt-get install chromium (make test does this when CI is set)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    return CHROMIUM


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_for_health(url: str, process: subprocess.Popen, log: Path) -> None:
    """Poll ``<url>/_stcore/health`` until it answers ok; fail with the server log if it exits or takes too long."""
    deadline = time.monotonic() + SERVER_START_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"streamlit exited with {process.returncode}:\n{log.read_text()}")
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as response:
                if response.status == 200:
                    return
        except (urllib.error.URLError, OSError):
            pass
        time.sleep(0.5)
    pytest.fail(f"streamlit did not answer within {SERVER_START_S:.0f} s:\n{log.read_text()}")


@dataclass
class Server:
    """A running ``streamlit run app.py``: its URL and the workspace (``GENRELENS_DATA``) it writes into."""

    url: str
    data: Path


@contextlib.contextmanager
def running_app(workspace: Path, demo_tracks: str = "1") -> Iterator[Server]:
    """``streamlit run app.py`` on a free port with its workspace in ``workspace/data`` and a demo of
    ``demo_tracks`` tracks per genre; yields it once it answers, stops it afterwards."""
    log = workspace / "streamlit.log"
    port = free_port()
    env = {**os.environ, "GENRELENS_DATA": str(workspace / "data"), DEMO_TRACKS_ENV: demo_tracks}
    command = [sys.executable, "-m", "streamlit", "run", "app.py", "--server.headless", "true",
               "--server.address", "127.0.0.1", "--server.port", str(port), "--browser.gatherUsageStats", "false"]
    with log.open("w") as output:
        process = subprocess.Popen(command, cwd=REPO, env=env, stdout=output, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_for_health(url, process, log)
        yield Server(url, workspace / "data")
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@pytest.fixture(scope="module")
def app_server(chromium: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """The app for the whole module, with a temporary workspace and a demo of 3 tracks per genre (enough for a
    grouped split with training and validation tracks, so that a training job runs)."""
    with running_app(tmp_path_factory.mktemp("workspace"), "3") as server:
        yield server


@pytest.fixture(scope="module")
def app_url(app_server: Server) -> str:
    return app_server.url


@pytest.fixture(scope="module")
def browser(chromium: Path) -> Iterator[Browser]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(chromium), headless=True, args=CHROMIUM_ARGS)
        yield launched
        launched.close()


@dataclass
class Session:
    """One browser tab on the app (a fresh Streamlit session) and the errors it has reported."""

    page: Page
    errors: list[str] = field(default_factory=list)

    def wait_until_idle(self) -> None:
        """Wait until the script run has finished: the app root reports its script state, and the "running"
        status widget is gone. Call it after waiting for something the run draws, so the run has started."""
        self.page.locator(IDLE_APP).wait_for(timeout=RUN_TIMEOUT_MS)
        self.page.locator('[data-testid="stStatusWidget"]').wait_for(state="detached", timeout=RUN_TIMEOUT_MS)

    def open(self, name: str) -> None:
        """Go to page ``name`` of `PAGES` by its sidebar link and wait for its title and the end of the run."""
        link, title = PAGES[name]
        self.page.locator('[data-testid="stSidebarNavLink"]', has_text=link).first.click()
        self.page.locator("h1", has_text=title).first.wait_for(timeout=RUN_TIMEOUT_MS)
        self.wait_until_idle()

    def check_clean(self) -> None:
        """No uncaught page or console errors and no Streamlit exception box so far."""
        exceptions = self.page.locator('[data-testid="stException"]')
        assert exceptions.count() == 0, exceptions.first.inner_text()
        assert not self.errors, "\n".join(self.errors)

    def screenshot(self, name: str) -> None:
        """The whole page (the viewport stretched to the page's height) into the artifacts, and into
        docs/screenshots when `UPDATE_SCREENSHOTS_ENV` is 1."""
        height = self.page.evaluate(
            "document.querySelector('[data-testid=\"stMainBlockContainer\"]').scrollHeight"
        )
        self.page.set_viewport_size({"width": VIEWPORT["width"], "height": max(VIEWPORT["height"], height + 120)})
        self.page.evaluate("() => new Promise(done => requestAnimationFrame(() => requestAnimationFrame(done)))")
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        target = ARTIFACTS / f"{name}.png"
        self.page.screenshot(path=str(target), full_page=True)
        self.page.set_viewport_size(VIEWPORT)
        if os.environ.get(UPDATE_SCREENSHOTS_ENV) == "1":
            SCREENSHOTS.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(target, SCREENSHOTS / f"{name}.png")


@contextlib.contextmanager
def new_tab(browser: Browser, url: str, title: str) -> Iterator[Session]:
    """A fresh browser context (a new user) with one tab on ``url``, once the page titled ``title`` has run;
    page errors and console errors are recorded."""
    context = browser.new_context(viewport=VIEWPORT)
    page = context.new_page()
    opened = Session(page)
    page.on("pageerror", lambda error: opened.errors.append(f"page error: {error}"))
    page.on("console", lambda message: message.type == "error" and not DEEP_LINK_PROBE.search(
        message.location.get("url", "")) and opened.errors.append(
        f"console error: {message.text} ({message.location.get('url', '')})"))
    try:
        page.goto(url)
        page.locator("h1", has_text=title).first.wait_for(timeout=RUN_TIMEOUT_MS)
        opened.wait_until_idle()
        yield opened
    finally:
        context.close()


@pytest.fixture
def session(browser: Browser, app_url: str) -> Iterator[Session]:
    """A fresh tab on the app's Start page, recording page errors and console errors."""
    with new_tab(browser, app_url, "GenreLens") as opened:
        yield opened


@pytest.fixture
def real_mp3(gtzan_mini: Path, tmp_path: Path) -> Path:
    """A 30 s MP3 of a real GTZAN track (written by soundfile), named like a download (Markdown would italicise it)."""
    samples, rate = sf.read(gtzan_mini / "rock" / "rock.00000.wav", dtype="float32")
    path = tmp_path / "admiralbob77_-_Choice_-_Drum-bass.mp3"
    sf.write(path, samples[: 30 * rate], rate, format="MP3")
    return path


def test_start_page_opens_without_errors(session: Session) -> None:
    assert session.page.get_by_text("How honest numbers work").is_visible()
    assert session.page.locator('[data-testid="stSidebarNavLink"]').count() == len(PAGES)
    session.screenshot("start")
    session.check_clean()


def test_your_song_classifies_an_uploaded_mp3_and_explains_it(session: Session, real_mp3: Path) -> None:
    missing = [name for name in GTZAN_PAIR if not (REPO / "assets" / "models" / name / "bundle.json").is_file()]
    assert not missing, f"pretrained bundles missing from assets/models: {missing} (python -m genre_core pretrain)"
    session.open("your_song")
    page = session.page

    page.locator('[data-testid="stFileUploader"] input[type="file"]').set_input_files(str(real_mp3))
    page.locator("h3", has_text=real_mp3.name).wait_for(timeout=RUN_TIMEOUT_MS)  # shown as written, no italics
    assert page.locator("h3", has_text=real_mp3.name).first.inner_text() == real_mp3.name
    waterfall = page.locator(".js-plotly-plot", has_text="Why '")
    waterfall.locator(".ytick").first.wait_for(timeout=RUN_TIMEOUT_MS)
    session.wait_until_idle()

    for role in ("CNN", "FFN"):  # each model's verdict in words
        assert page.locator("p").filter(has_text=re.compile(f"^The {role} hears ")).count() == 1
    assert page.locator('[data-testid="stAudio"]').count() == 1
    gradcam = page.locator(".js-plotly-plot", has_text="Grad-CAM at")
    gradcam.locator(".heatmaplayer").first.wait_for(timeout=RUN_TIMEOUT_MS)  # plotly draws after the page settles
    assert gradcam.count() == 1
    assert page.locator(".js-plotly-plot").count() >= 5  # bars, two timelines, Grad-CAM, SHAP waterfall
    labels = waterfall.locator(".ytick").all_text_contents()
    assert "output f(x)" in labels and not any("_" in label for label in labels)  # every bar named, readably
    session.screenshot("your_song")
    session.check_clean()


def test_every_page_renders_with_the_demo_loaded(session: Session) -> None:
    session.open("data")
    session.page.get_by_role("button", name="Load / extract").click()
    session.page.locator("h2", has_text="Explore").wait_for(timeout=RUN_TIMEOUT_MS)
    session.wait_until_idle()
    session.screenshot("data")
    session.check_clean()
    for name in ("train", "evaluate", "shap"):
        session.open(name)
        session.screenshot(name)
        session.check_clean()

    session.open("browse")  # a one-track demo may have no test segment of a genre: browse all rows, explain one
    page = session.page
    rows = page.locator('[data-testid="stSelectbox"]').filter(
        has=page.locator('[data-testid="stWidgetLabel"]', has_text="Rows"))
    rows.locator("input").click()
    page.get_by_role("option", name="all rows").click()
    page.get_by_role("button", name="Explain").first.click()
    page.locator("h2", has_text="Grad-CAM of").wait_for(timeout=RUN_TIMEOUT_MS)
    session.wait_until_idle()
    page.locator(".js-plotly-plot", has_text="Grad-CAM at").first.wait_for(timeout=RUN_TIMEOUT_MS)
    assert page.locator(".js-plotly-plot", has_text="Grad-CAM at").count() == 1
    half_width = page.locator(".js-plotly-plot", has_text="Grad-CAM++")  # the half-width overlays
    half_width.locator(".colorbar").nth(1).wait_for(timeout=RUN_TIMEOUT_MS)
    decibels, gradcam = (bar.bounding_box() for bar in half_width.locator(".colorbar").all()[:2])
    assert decibels["y"] + decibels["height"] <= gradcam["y"] or gradcam["y"] + gradcam["height"] <= decibels["y"]
    session.screenshot("browse")
    session.check_clean()


#: Page name of `PAGES` -> its URL path.
URL_PATHS = {"start": "", "data": "data", "train": "train", "evaluate": "evaluate", "experiments": "experiments",
             "walkthroughs": "walkthroughs", "browse": "browse", "shap": "shap", "your_song": "your_song"}


def test_direct_links_to_every_page_on_a_fresh_server(browser: Browser, tmp_path: Path) -> None:
    """A link to a page is the first request of a fresh server (Streamlit's legacy ``pages/`` mode) and then to
    every other page: each opens inside the app, with its navigation and sidebar."""
    order = ["train", *(name for name in PAGES if name != "train")]
    with running_app(tmp_path) as server:
        for name in order:
            _, title = PAGES[name]
            with new_tab(browser, f"{server.url}/{URL_PATHS[name]}", title) as tab:
                assert tab.page.locator('[data-testid="stSidebarNavLink"]').count() == len(PAGES), name
                assert tab.page.get_by_text("Models", exact=True).first.is_visible(), name  # app.py's sidebar
                assert tab.page.locator("h1", has_text=title).count() >= 1
                tab.check_clean()


def running_jobs(server: Server) -> dict[str, dict]:
    """job id -> record of the server's running jobs, read from its workspace."""
    records = [json.loads(path.read_text()) for path in (server.data / "jobs").glob("*/job.json")]
    return {record["id"]: record for record in records if record["status"] == "running"}


def live_epoch(tab: Session) -> int:
    """The epoch the live progress bar shows, once the live training curves are drawn."""
    tab.page.locator(".js-plotly-plot", has_text="Live training curves").first.wait_for(timeout=RUN_TIMEOUT_MS)
    text = tab.page.locator('[data-testid="stProgress"]').first.inner_text()
    found = re.search(r"epoch (\d+)/500", text)
    assert found, text
    return int(found.group(1))


def start_long_training(tab: Session) -> None:
    """Epochs 500, early stopping off, batch size 1, then Train."""
    page = tab.page
    page.get_by_label("Epochs", exact=True).fill("500")
    page.get_by_label("Epochs", exact=True).press("Enter")
    page.get_by_label("Batch size", exact=True).fill("1")
    page.get_by_label("Batch size", exact=True).press("Enter")
    page.locator('[data-testid="stWidgetLabel"]', has_text="Early stopping").click()
    tab.wait_until_idle()
    page.get_by_role("button", name="Train", exact=True).click()


def test_a_training_outlives_a_reload_runs_beside_another_users_and_cancels(browser: Browser,
                                                                             app_server: Server) -> None:
    with new_tab(browser, f"{app_server.url}/train", "Train") as first:
        first.page.get_by_role("button", name="Train", exact=True).wait_for(timeout=RUN_TIMEOUT_MS)
        start_long_training(first)
        before = live_epoch(first)
        (job,) = running_jobs(app_server).values()
        assert "user=" + job["owner"] in first.page.url  # the owner id is in the URL, so a reload keeps it

        first.page.reload()  # the browser tab is reloaded: a new Streamlit session
        first.page.locator("h1", has_text="Train").first.wait_for(timeout=RUN_TIMEOUT_MS)
        deadline = time.monotonic() + RUN_TIMEOUT_MS / 1000
        while live_epoch(first) <= before:  # the same job goes on: later epochs
            assert time.monotonic() < deadline, "the curves did not continue after the reload"
            time.sleep(1)
        assert list(running_jobs(app_server)) == [job["id"]]

        with new_tab(browser, f"{app_server.url}/train", "Train") as second:  # another user, at the same time
            second.page.get_by_role("button", name="Train", exact=True).wait_for(timeout=RUN_TIMEOUT_MS)
            start_long_training(second)
            live_epoch(second)
            both = running_jobs(app_server)
            assert len(both) == 2 and len({record["owner"] for record in both.values()}) == 2
            assert all(process_alive(record["pid"]) for record in both.values())
            second.page.get_by_role("button", name="Cancel training").click()
            second.page.get_by_text("was cancelled").wait_for(timeout=RUN_TIMEOUT_MS)
            second.check_clean()

        first.page.get_by_role("button", name="Cancel training").click()
        first.page.get_by_text("was cancelled: its worker process was ended").wait_for(timeout=RUN_TIMEOUT_MS)
        assert not running_jobs(app_server)
        assert not any(process_alive(record["pid"]) for record in both.values())  # the worker processes are gone
        first.check_clean()


def record_first_use(variant: str, values: dict[str, float | int | str]) -> None:
    """Add one walk's figures and the machine's state to ``ARTIFACTS/first_use.json`` (read by `make bench`)."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    target = ARTIFACTS / FIRST_USE_RECORD
    records = json.loads(target.read_text()) if target.is_file() else {}
    records[variant] = {**values, "cpus": os.cpu_count() or 0, "load_average_1min": round(os.getloadavg()[0], 2)}
    target.write_text(json.dumps(records, indent=1))


@pytest.mark.parametrize("prepared", [True, False], ids=["after-make-demo", "cold"])
def test_first_use_from_a_fresh_workspace_reaches_a_usable_train_page(
    chromium: Path, browser: Browser, tmp_path: Path, prepared: bool
) -> None:
    """A newcomer's first use: a fresh workspace, the server started, the Train page opened first, until its Train
    button is there and the app is idle. After ``make run``'s demo step (``python -m genre_core demo``) the
    demo is read from the cache; cold, the page generates and extracts it, naming each phase on its progress bar
    while the sidebar says it is loading. The times go to `record_first_use` (goals live in ``make bench``)."""
    tracks = os.environ.get(FIRST_USE_TRACKS_ENV, "1")
    workspace = tmp_path / "workspace"
    workspace.mkdir()
    prepare_seconds = 0.0
    if prepared:
        started = time.monotonic()
        subprocess.run([sys.executable, "-m", "genre_core", "demo"], cwd=REPO, check=True, capture_output=True,
                       env={**os.environ, "GENRELENS_DATA": str(workspace / "data"), DEMO_TRACKS_ENV: tracks})
        prepare_seconds = time.monotonic() - started
    started = time.monotonic()
    with running_app(workspace, tracks) as server:
        url = server.url
        context = browser.new_context(viewport=VIEWPORT)
        page = context.new_page()
        session = Session(page)
        page.on("pageerror", lambda error: session.errors.append(f"page error: {error}"))
        page.goto(url)
        page.locator('[data-testid="stSidebarNavLink"]', has_text="Train").first.click()
        if not prepared:  # while it loads: the phase on the bar, and the truth in the sidebar
            page.get_by_text(re.compile(f"^{GENERATING_PHASE}")).first.wait_for(timeout=RUN_TIMEOUT_MS)
            page.locator('[data-testid="stSidebar"]').get_by_text("loading now").wait_for(timeout=RUN_TIMEOUT_MS)
        usable = RUN_TIMEOUT_MS if prepared else RUN_TIMEOUT_MS + COLD_TIMEOUT_MS_PER_TRACK * int(tracks)
        page.get_by_role("button", name=re.compile(r"Train$")).wait_for(timeout=usable)
        session.wait_until_idle()
        seconds = time.monotonic() - started
        sidebar = page.locator('[data-testid="stSidebar"]').inner_text()
        assert "loading now" not in sidebar and "not loaded yet" not in sidebar and "tracks" in sidebar
        session.check_clean()
        context.close()
    record_first_use("after make's demo step" if prepared else "cold (no demo step)",
                     {"seconds_to_usable_train_page": round(seconds, 1), "demo_step_seconds": round(prepare_seconds, 1),
                      "demo_tracks_per_genre": int(tracks)})


def test_an_exported_report_renders_offline_without_errors(browser: Browser, tmp_path: Path) -> None:
    """A run's report with a SHAP force plot, opened from disk with every non-file request aborted."""
    import numpy as np
    from helpers import scored_evaluation, tiny_dataset, tiny_split

    from genre_core.explain import shap_figures, shap_values
    from genre_core.features import SUMMARY_NAMES
    from genre_core.report_document import Section, ShapForceBlock, write_html
    from genre_core.run_report import evaluation_document

    dataset = tiny_dataset(rows=60)
    values = np.random.default_rng(0).normal(size=(1, len(SUMMARY_NAMES), 3))
    shap_result = shap_values.ShapResult(
        values=values, base_values=np.zeros(3), outputs=values.sum(axis=1), inputs=np.zeros((1, len(SUMMARY_NAMES))),
        feature_names=tuple(SUMMARY_NAMES), class_names=tuple(dataset.class_names), method="deep", output="logits")
    force = ShapForceBlock(shap_figures.force_plot_markup(shap_result, 0, 1, np.arange(len(SUMMARY_NAMES))), "row 0")
    document = evaluation_document(scored_evaluation(dataset, tiny_split(60)), extra_sections=(Section("SHAP", (force,)),),
                                   history={"loss": [1.0, 0.8], "val_loss": [1.1, 0.9]})
    report = write_html(document, tmp_path / "report.html")

    context = browser.new_context(viewport=VIEWPORT)
    blocked: list[str] = []
    errors: list[str] = []

    def only_files(route) -> None:  # noqa: ANN001 - playwright's Route
        if route.request.url.startswith("file://"):
            route.continue_()
        else:
            blocked.append(route.request.url)
            route.abort()

    context.route("**/*", only_files)
    page = context.new_page()
    page.on("pageerror", lambda error: errors.append(f"page error: {error}"))
    page.on("console", lambda message: message.type == "error" and errors.append(f"console error: {message.text}"))
    try:
        page.goto(report.as_uri(), timeout=RUN_TIMEOUT_MS)  # 5 MB of inline script, on 2 busy cores
        figures = document.figures()
        page.locator(".plot .js-plotly-plot .main-svg").nth(len(figures) * 2 - 1).wait_for(timeout=RUN_TIMEOUT_MS)
        assert page.locator(".plot .js-plotly-plot").count() == len(figures)
        assert page.locator(".plot .js-plotly-plot .heatmaplayer image, .plot .js-plotly-plot .hm").count() > 0
        page.locator(".shap-force svg").first.wait_for(timeout=RUN_TIMEOUT_MS)
        assert page.locator("table caption", has_text="Per-class scores per segment, test").count() == 1
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "report.png"), full_page=True)
    finally:
        context.close()
    assert not blocked, blocked
    assert not errors, "\n".join(errors)

"""The app as a user meets it, in Chromium through Playwright: server start to the first page, page switches.

The bench's workspace is the app's (``GENRELENS_DATA``), prepared as ``make run`` does (``python -m genre_core
demo``: the full demo and its feature cache, not timed here; in a whole ``make bench`` the part "demo" made them
there, and the step only finds them in the cache). Then, `RUNS` times: ``streamlit run app.py`` is started, and
the clock runs from the start of the process until a browser tab shows Start here with the script run ended (the
app root's script state, the status widget gone); the part of it until the server answers its health check is
reported too, so the rest (the first script run and the browser drawing it) is known. In the first
`USABLE_TRAIN_RUNS` runs the Train page is opened next, and the clock runs on until its Train button is there and
the run has ended: a newcomer's first use after ``make run``'s demo step. In the last run every page is visited
once (caches warm), then every page `SWITCH_ROUNDS` more times by its sidebar link: the time from the click
until its title is there and the run has ended is one page switch, reported over all pages and per page (so a miss
is located).

``python -m benchmarks.app_bench --against OTHER_CHECKOUT`` measures an A/B instead: servers of this checkout and of
``OTHER_CHECKOUT`` (e.g. ``git archive`` of the commit before a change) started alternately on one prepared workspace,
each timed to its first page and through its page switches; it prints the medians of both and their ratio per page.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import re
import statistics
import tempfile
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from benchmarks.class_load import CHROMIUM, CHROMIUM_ARGS, IDLE_APP, ROOT, free_port
from benchmarks.measure import RUNS, Result, summarise

FIRST_PAGE_GOAL_S = 3.0
USABLE_TRAIN_GOAL_S = 30.0  #: from the server's start (demo prepared) to a usable Train page, 2 cores
USABLE_TRAIN_RUNS = 3  #: servers whose Train page is opened after Start here (the first ones)
SWITCH_GOAL_S = 0.5
SWITCH_ROUNDS = 3  #: timed visits of every page after the warming one
TIMEOUT_MS = 120_000
#: (sidebar link text, page title) of every page, in the sidebar's order
PAGES = (("Start here", "GenreLens"), ("Data", "Data"), ("Train", "Train"), ("Evaluate", "Evaluate"),
         ("Experiments", "Experiments"), ("Walkthroughs", "Walkthroughs"), ("Browse & Grad-CAM", "Browse & Grad-CAM"),
         ("SHAP", "SHAP"), ("Your song", "Your song"))


def _wait_idle(page) -> None:
    page.locator(IDLE_APP).wait_for(timeout=TIMEOUT_MS)
    page.locator('[data-testid="stStatusWidget"]').wait_for(state="detached", timeout=TIMEOUT_MS)


def _open(page, link: str, title: str) -> float:
    """Click the sidebar link ``link``; seconds until the page titled ``title`` is there and its run has ended."""
    started = time.perf_counter()
    page.locator('[data-testid="stSidebarNavLink"]', has_text=link).first.click()
    page.locator("h1", has_text=title).first.wait_for(timeout=TIMEOUT_MS)
    _wait_idle(page)
    return time.perf_counter() - started


@dataclass(frozen=True)
class FirstPage:
    """One server start: seconds from ``streamlit run`` until its health check answers (``server_up``), until
    Start here is interactive in a new tab (``interactive``) and, when the Train page was opened next, until its
    Train button is there and its run has ended (``usable_train``)."""

    server_up: float
    interactive: float
    usable_train: float | None = None


def _first_page(browser, environment: dict[str, str], log: Path,
                switches: dict[str, list[float]] | None = None, root: Path = ROOT,
                open_train: bool = False) -> FirstPage:
    """Start a server on the checkout ``root``; time its start to Start here interactive in a new tab. With
    ``open_train``, then open the Train page and time the start to its Train button; with ``switches`` (sidebar
    link -> seconds), visit every page once to warm it and time `SWITCH_ROUNDS` switches to each."""
    port = free_port()
    command = [sys.executable, "-m", "streamlit", "run", "app.py", "--server.headless", "true", "--server.address",
               "127.0.0.1", "--server.port", str(port), "--browser.gatherUsageStats", "false"]
    started = time.perf_counter()
    with log.open("w") as output:
        server = subprocess.Popen(command, cwd=root, env=environment, stdout=output, stderr=subprocess.STDOUT)
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    try:
        url = f"http://127.0.0.1:{port}"
        while True:
            if server.poll() is not None:
                raise RuntimeError(f"streamlit exited: {log.read_text()[-500:]}")
            try:
                with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2):
                    break
            except (urllib.error.URLError, OSError):
                time.sleep(0.05)
        server_up = time.perf_counter() - started
        page = context.new_page()
        page.goto(url)
        page.locator("h1", has_text="GenreLens").first.wait_for(timeout=TIMEOUT_MS)
        _wait_idle(page)
        first = FirstPage(server_up, time.perf_counter() - started)
        if open_train:
            page.locator('[data-testid="stSidebarNavLink"]', has_text="Train").first.click()
            page.get_by_role("button", name=re.compile(r"Train$")).wait_for(timeout=TIMEOUT_MS)
            _wait_idle(page)
            first = dataclasses.replace(first, usable_train=time.perf_counter() - started)
        if switches is None:
            return first
        tour = (*PAGES[1:], PAGES[0])
        for link, title in tour:  # warm every page's caches
            _open(page, link, title)
        for _ in range(SWITCH_ROUNDS):
            for link, title in tour:
                switches.setdefault(link, []).append(_open(page, link, title))
        return first
    finally:
        context.close()
        server.terminate()
        server.wait(timeout=30)


def _prepared_workspace(workspace: Path) -> dict[str, str]:
    """The environment of a server whose workspace (``GENRELENS_DATA``) in ``workspace`` holds the prepared demo."""
    environment = {**os.environ, "GENRELENS_DATA": str(workspace)}
    subprocess.run([sys.executable, "-m", "genre_core", "demo"], cwd=ROOT, env=environment, check=True,
                   capture_output=True)
    return environment


def compare(other: Path, runs: int, workspace: Path | None = None) -> None:
    """Print the A/B of this checkout against ``other``: ``runs`` servers of each, alternately (see the module
    docstring); per page the median switch of each side and new / old. ``workspace``: a folder to prepare (or
    reuse) the demo in, else a temporary one."""
    from playwright.sync_api import sync_playwright

    sides = {"old": other.resolve(), "new": ROOT}
    firsts: dict[str, list[float]] = {side: [] for side in sides}
    switches: dict[str, dict[str, list[float]]] = {side: {} for side in sides}
    with tempfile.TemporaryDirectory() as temporary, sync_playwright() as playwright:
        folder = workspace or Path(temporary)
        environment = _prepared_workspace(folder)
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        for run in range(runs):
            for side, root in sides.items():
                first = _first_page(browser, environment, folder / "streamlit.log", switches[side], root)
                firsts[side].append(first.interactive)
                print(f"run {run + 1} {side}: first page {first.interactive:.2f} s, load {os.getloadavg()[0]:.1f}",
                      flush=True)
        browser.close()
    rows = [("first page", firsts["old"], firsts["new"])]
    rows += [(f"switch to {link}", switches["old"][link], switches["new"][link]) for link, _ in (*PAGES[1:], PAGES[0])]
    rows.append(("every switch", [value for page in switches["old"].values() for value in page],
                 [value for page in switches["new"].values() for value in page]))
    print(f"{'':28} {'old s':>7} {'new s':>7} {'new/old':>8}")
    for name, old, new in rows:
        old_median, new_median = statistics.median(old), statistics.median(new)
        print(f"{name:28} {old_median:7.2f} {new_median:7.2f} {new_median / old_median:8.2f}")


def bench_app(workspace: Path) -> list[Result]:
    """Server start to the first page (`RUNS` servers) and page switches with warm caches (every page once)."""
    from playwright.sync_api import sync_playwright

    if not Path(CHROMIUM).is_file():
        return [Result(f"the app in a browser: {CHROMIUM} is missing", 0.0, "-", "Chromium", False)]
    environment = _prepared_workspace(workspace)
    firsts: list[FirstPage] = []
    switches: dict[str, list[float]] = {}
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        try:
            for run in range(RUNS):
                firsts.append(_first_page(browser, environment, workspace / "streamlit.log",
                                          switches if run == RUNS - 1 else None, open_train=run < USABLE_TRAIN_RUNS))
        finally:
            browser.close()
    meets_switch = lambda value: value <= SWITCH_GOAL_S  # noqa: E731
    usable_train = [first.usable_train for first in firsts if first.usable_train is not None]
    return [
        summarise("the app: `streamlit run app.py` started -> Start here interactive in the browser (demo prepared)",
                  [first.interactive for first in firsts], "s", f"<= {FIRST_PAGE_GOAL_S:g} s",
                  lambda value: value <= FIRST_PAGE_GOAL_S),
        summarise("the app, of that: `streamlit run app.py` started -> the server answers its health check",
                  [first.server_up for first in firsts], "s"),
        summarise("first use after make run's demo step: `streamlit run app.py` started -> Start here, then the "
                  "Train page usable", usable_train, "s", f"<= {USABLE_TRAIN_GOAL_S:g} s",
                  lambda value: value <= USABLE_TRAIN_GOAL_S),
        summarise(f"the app: page switch with warm caches ({len(PAGES)} pages x {SWITCH_ROUNDS}), click -> page idle",
                  [seconds for page in switches.values() for seconds in page], "s", f"<= {SWITCH_GOAL_S:g} s",
                  meets_switch),
        *(summarise(f"the app: switch to {link}, warm", seconds, "s", f"<= {SWITCH_GOAL_S:g} s", meets_switch)
          for link, seconds in switches.items()),
    ]


if __name__ == "__main__":
    parser = argparse.ArgumentParser(prog="python -m benchmarks.app_bench", description=__doc__.splitlines()[0])
    parser.add_argument("--against", type=Path, required=True, metavar="OTHER_CHECKOUT",
                        help="the checkout to compare with (its app.py is started the same way)")
    parser.add_argument("--runs", type=int, default=3, help="servers of each side (default 3)")
    parser.add_argument("--workspace", type=Path, help="prepare (or reuse) the demo here (default: a temporary folder)")
    arguments = parser.parse_args()
    compare(arguments.against, arguments.runs, arguments.workspace)

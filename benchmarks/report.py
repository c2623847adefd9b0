"""`BENCHMARKS.md`: the figures of one `make bench` run with the machine, versions, date and load they had."""

from __future__ import annotations

import os
import platform
from datetime import datetime, timezone
from importlib.metadata import version
from pathlib import Path

from benchmarks.measure import RUNS, Result

PACKAGES = ("numpy", "scipy", "librosa", "soundfile", "tensorflow-cpu", "keras", "scikit-learn", "joblib", "shap",
            "streamlit")
CHANGES = Path(__file__).with_name("changes.md")  #: what was changed for the figures and what it gained


def machine_lines() -> list[str]:
    """Date, CPU, cores, memory, load and library versions, one Markdown bullet each."""
    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), platform.processor() or "unknown") \
        if Path("/proc/cpuinfo").exists() else platform.processor()
    memory_gb = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 1024**3
    load = ", ".join(f"{value:.1f}" for value in os.getloadavg())
    versions = []
    for package in PACKAGES:
        try:
            versions.append(f"{package} {version(package)}")
        except Exception:  # noqa: BLE001 - a package not installed is simply not listed
            continue
    return [
        f"- date: {datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC",
        f"- machine: {cpu}, {os.cpu_count()} cores, {memory_gb:.0f} GB, {platform.system()} {platform.release()}",
        f"- load average (1, 5, 15 min) when the report was written: {load} (other work shares the cores: "
        "absolute times drift with it, ratios are measured side by side in the same run)",
        f"- Python {platform.python_version()}; {', '.join(versions)}",
    ]


def _number(value: float | None) -> str:
    if value is None:
        return "-"
    return f"{value:.3g}" if abs(value) < 1000 else f"{value:,.0f}"


def write_report(results: list[Result], target: Path, *, parts: list[str], timings: list[str], partial: bool) -> None:
    """Write ``target``: machine lines, the parts run and their wall times, then one table row per result
    (median, min-max, runs, goal, met)."""
    run = f"`python -m benchmarks --only {','.join(parts)}`" if partial else "`make bench` (`python -m benchmarks`)"
    lines = ["# Benchmarks", "", f"Written by {run}: {', '.join(timings)}.",
             f"Each figure is the median of its runs with their range; a ratio is taken inside each run (both sides "
             f"one after the other) and its median reported. Figures with one run and no range are single "
             f"measurements (a best of 3 for the older rows), fewer runs than {RUNS} where the row says so.", "",
             *machine_lines(), "",
             "| measurement | median | min-max | runs | unit | target | met |", "|---|---|---|---|---|---|---|"]
    for result in results:
        spread = "-" if result.low is None else f"{_number(result.low)}-{_number(result.high)}"
        met = "yes" if result.met else "**no**"
        goal, name = result.goal.replace("|", "\\|"), result.name.replace("|", "\\|")
        lines.append(f"| {name} | {_number(result.value)} | {spread} | {result.runs} | {result.unit} | {goal} "
                     f"| {met if result.goal != '-' else '-'} |")
    if CHANGES.exists():
        lines += ["", CHANGES.read_text().strip()]
    target.write_text("\n".join(lines) + "\n")

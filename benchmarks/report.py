"""`BENCHMARKS.md`: the figures of one `make bench` run with the machine, versions, date and load they had."""

from __future__ import annotations

import json
import os
import platform
from dataclasses import asdict, dataclass
from datetime import datetime, timezone
from importlib.metadata import version
from pathlib import Path

from benchmarks.measure import RUNS, Result

PACKAGES = ("numpy", "scipy", "librosa", "soundfile", "tensorflow-cpu", "keras", "scikit-learn", "joblib", "shap",
            "streamlit")
CHANGES = Path(__file__).with_name("changes.md")  #: what was changed for the figures and what it gained
PARTS_DIR = Path(__file__).resolve().parent.parent / "test-artifacts" / "bench-parts"  #: each part's latest run


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


@dataclass(frozen=True)
class PartRun:
    """One part's run: its results, when it ran (UTC), its wall time (s) and the 1-minute load average before and
    after it."""

    part: str
    results: tuple[Result, ...]
    started: str
    seconds: float
    load_before: float
    load_after: float


def save_part(run: PartRun) -> None:
    """Keep ``run`` as ``PARTS_DIR/<part>.json`` (the latest run of each part is what BENCHMARKS.md shows)."""
    PARTS_DIR.mkdir(parents=True, exist_ok=True)
    record = {**asdict(run), "results": [asdict(result) for result in run.results]}
    (PARTS_DIR / f"{run.part}.json").write_text(json.dumps(record, indent=1))


def saved_parts(order: list[str]) -> list[PartRun]:
    """The kept runs of the parts in ``order`` that have one, in that order."""
    runs = []
    for part in order:
        path = PARTS_DIR / f"{part}.json"
        if path.is_file():
            record = json.loads(path.read_text())
            record["results"] = tuple(Result(**result) for result in record["results"])
            runs.append(PartRun(**record))
    return runs


def write_report(runs: list[PartRun], target: Path) -> None:
    """Write ``target``: machine lines, then per part when it ran, its wall time and load, and one table row per
    result (median, min-max, runs, goal, met), then `CHANGES`."""
    lines = ["# Benchmarks", "", "Written by `make bench` (`python -m benchmarks`; a part alone: `--only PART`) "
             "from the latest run of each part, which may come from different runs: each part says when it ran "
             "and the machine's load (1-minute load average before and after it).",
             f"Each figure is the median of its runs with their range; a ratio is taken inside each run (both sides "
             f"one after the other) and its median reported. Figures with one run and no range are single "
             f"measurements; rows with fewer runs than {RUNS} say so in their runs column.", "",
             *machine_lines(), ""]
    for run in runs:
        lines += [f"### {run.part}: {run.started} UTC, {run.seconds:.0f} s, load {run.load_before:.1f} -> "
                  f"{run.load_after:.1f}", "",
                  "| measurement | median | min-max | runs | unit | target | met |", "|---|---|---|---|---|---|---|"]
        for result in run.results:
            spread = "-" if result.low is None else f"{_number(result.low)}-{_number(result.high)}"
            met = "yes" if result.met else "**no**"
            goal, name = result.goal.replace("|", "\\|"), result.name.replace("|", "\\|")
            lines.append(f"| {name} | {_number(result.value)} | {spread} | {result.runs} | {result.unit} | {goal} "
                         f"| {met if result.goal != '-' else '-'} |")
        lines.append("")
    if CHANGES.exists():
        lines += [CHANGES.read_text().strip()]
    target.write_text("\n".join(lines) + "\n")

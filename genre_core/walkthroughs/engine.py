"""The walkthrough engine: typed steps (title, short explanation, questions to answer, measured facts), the run
size (the real recipe by default, a quick one for CI), the registry of walkthroughs, and the JSON report.

A walkthrough module defines ``run(size, progress) -> Walkthrough``: its own frozen result (typed fields for
whatever else a page or a report needs) with the `WalkthroughReport` (steps in words and numbers) made from it and
its ``figures``: every figure in step order, each tied to the step it belongs under (`StepFigure`: a plotly figure;
`StepForcePlot`: a SHAP force plot's markup), so a page or a report can show any walkthrough without knowing it.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from genre_core.atomic import write_text_atomic
from genre_core.errors import InputError

if TYPE_CHECKING:
    import plotly.graph_objects as go

REPORT_FILE = "walkthrough.json"  #: the report `write_report` writes into its folder

Progress = Callable[[str], None]  #: called with the name of each phase as it starts


@dataclass(frozen=True)
class RunSize:
    """How big a run is: ``epochs`` of training and ``tracks_per_genre`` of the demo data (None: the demo's
    full size). `FULL` is the exercise's recipe; `QUICK` keeps every step but trains a token amount (CI)."""

    name: str
    epochs: int
    tracks_per_genre: int | None

    @property
    def epochs_text(self) -> str:
        """The training length in words: "1 epoch", "20 epochs"."""
        return f"{self.epochs} epoch" + ("" if self.epochs == 1 else "s")


FULL = RunSize("full", epochs=20, tracks_per_genre=None)
QUICK = RunSize("quick", epochs=1, tracks_per_genre=4)
SIZES = {size.name: size for size in (FULL, QUICK)}


@dataclass(frozen=True)
class Fact:
    """One measured result of a step: ``label`` and ``value`` (a number or a short text) with its ``unit``."""

    label: str
    value: float | int | str
    unit: str = ""

    @property
    def text(self) -> str:
        value = f"{self.value:.1%}" if self.unit == "%" and isinstance(self.value, float) else f"{self.value:,}" \
            if isinstance(self.value, int) else str(self.value)
        return f"{value} {self.unit}".rstrip() if self.unit != "%" else value


@dataclass(frozen=True)
class StepReport:
    """One step of a walkthrough: a ``title``, a short ``explanation``, ``questions`` for the student to answer
    and the ``facts`` this run measured."""

    title: str
    explanation: str
    questions: tuple[str, ...]
    facts: tuple[Fact, ...]


@dataclass(frozen=True)
class WalkthroughReport:
    """A walkthrough run in words and numbers: ``name``, ``title``, the ``recipe`` (one line: model, optimiser,
    data, seed), the run ``size`` and its ``steps``."""

    name: str
    title: str
    recipe: str
    size: RunSize
    steps: tuple[StepReport, ...]

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


@dataclass(frozen=True)
class StepFigure:
    """A plotly ``figure`` shown under the step at index ``step`` of the report's steps (0-based): ``name`` is a
    file stem unique within the walkthrough (its PNG's name; letters, digits, ``_``, ``-``), ``title`` a caption."""

    step: int
    name: str
    title: str
    figure: go.Figure


@dataclass(frozen=True)
class StepForcePlot:
    """A SHAP force plot shown under the step at index ``step``: ``markup`` from
    `genre_core.explain.shap_figures.force_plot_markup` (without SHAP's script, which a page or report adds once;
    `report_document.ShapForceBlock` takes it as it is), ``title`` a caption naming the track and its protocol."""

    step: int
    title: str
    markup: str


StepVisual = StepFigure | StepForcePlot  #: anything a walkthrough shows under a step


class Walkthrough(Protocol):
    """What a walkthrough's ``run`` returns: its typed result with the report made from it and its figures."""

    @property
    def report(self) -> WalkthroughReport: ...

    @property
    def figures(self) -> tuple[StepVisual, ...]:
        """Every figure of the walkthrough in step order (see `StepFigure`, `StepForcePlot`)."""
        ...


@dataclass(frozen=True)
class RealData:
    """Real data a walkthrough can run on instead of the demo: the CLI ``flag`` naming its path (``gtzan-csv`` for
    ``--gtzan-csv PATH``), ``what`` it is in words, whether it is a ``folder`` (else a file), ``run(size, progress,
    path)`` on it, and its ``shared`` location relative to the real data beside the checkout (`paths.SHARED_DATA_DIR`),
    the page's default where it exists."""

    flag: str
    what: str
    folder: bool
    run: Callable[[RunSize, Progress | None, Path], Walkthrough]
    shared: str

    def check(self, path: Path, source: str) -> Path:
        """``path`` when it exists and is of the right kind (a folder or a file, `folder`); else `InputError` naming
        ``source`` (the input as the user gave it) and the reason. Checked before any work."""
        if not path.exists():
            raise InputError(source, "no such file or folder")
        if path.is_dir() != self.folder:
            raise InputError(source, f"is a {'folder' if path.is_dir() else 'file'}, expected {self.what}")
        return path

    def shared_default(self) -> Path | None:
        """The `shared` location when it exists (of the right kind), else None."""
        from genre_core import paths

        path = paths.SHARED_DATA_DIR / self.shared
        return path if path.exists() and path.is_dir() == self.folder else None


@dataclass(frozen=True)
class WalkthroughSpec:
    """A registered walkthrough: its ``name`` (the CLI's), ``title``, ``run(size, progress)`` on the demo data and,
    when it can also run on real data, how (`RealData`)."""

    name: str
    title: str
    run: Callable[[RunSize, Progress | None], Walkthrough]
    real_data: RealData | None = None


def registry() -> dict[str, WalkthroughSpec]:
    """The walkthroughs by name (their modules import TensorFlow only when run)."""
    from genre_core.walkthroughs import course_cnn, ffn_summary, leakage, pretrained, time_freq

    specs = (course_cnn.SPEC, time_freq.SPEC, ffn_summary.SPEC, leakage.SPEC, pretrained.SPEC)
    return {spec.name: spec for spec in specs}


def get_walkthrough(name: str) -> WalkthroughSpec:
    known = registry()
    if name not in known:
        raise InputError(f"walkthrough '{name}'", f"unknown; known: {', '.join(known)}")
    return known[name]


def write_report(report: WalkthroughReport, folder: str | Path) -> Path:
    """Write ``report`` as `REPORT_FILE` (JSON, atomically) into ``folder`` (made if missing); returns the file."""
    folder = Path(folder)
    if folder.exists() and not folder.is_dir():
        raise InputError(folder, "is a file, not a folder for the walkthrough report")
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / REPORT_FILE
    write_text_atomic(target, json.dumps(report.to_dict(), indent=2) + "\n")
    return target

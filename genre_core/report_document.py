"""Report documents: a small typed description of a report (sections of text, tables, plotly figures and SHAP
force plots) and its two renderings, one self-contained HTML file and a PNG per figure.

Any part of GenreLens that has something to hand in (an evaluated run, a sweep, a walkthrough) builds a
`ReportDocument` and calls `render_html` / `write_html` and `figure_pngs` / `write_pngs`; none of them knows
how the others lay out HTML.

The HTML file needs no network: plotly.js (about 4.7 MB) and, when a SHAP force plot is present, SHAP's own
script are inlined once; tables are plain HTML; no fonts, images or scripts are fetched. PNGs are made by
plotly's own static export (Kaleido, which drives the system's Chromium or Chrome in the background), all
figures of a document in one browser session. Nothing here imports TensorFlow or Streamlit.
"""

from __future__ import annotations

import html
import io
import re
import tempfile
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
import plotly.graph_objects as go
import plotly.io as pio
from plotly.offline import get_plotlyjs

from genre_core.atomic import atomic_path, write_text_atomic
from genre_core.errors import InputError

#: Figure names become PNG file names: letters, digits, ``_``, ``-`` and ``.``, not starting with a dot.
FIGURE_NAME = re.compile(r"^[A-Za-z0-9_-][A-Za-z0-9_.-]{0,99}$")
#: Size of each exported PNG in CSS pixels (``scale`` multiplies it).
PNG_WIDTH, PNG_HEIGHT = 900, 600
PLOT_CONFIG = {"displaylogo": False, "responsive": True}
#: Plotly template of every figure in a report. A figure made in the app carries Streamlit's template, whose
#: placeholder colours (#000001, ...) only Streamlit's frontend replaces: outside it, every trace would be black.
REPORT_TEMPLATE = "plotly_white"
STYLE = """
body { font-family: system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; margin: 2rem auto; max-width: 1100px;
       padding: 0 1rem; color: #1f2430; line-height: 1.45; }
h1 { margin-bottom: 0.2rem; } .subtitle { color: #5b6170; margin-top: 0; }
h2 { border-bottom: 1px solid #d8dbe2; padding-bottom: 0.2rem; margin-top: 2.2rem; }
.warning { background: #fff4e5; border-left: 4px solid #f0a020; padding: 0.5rem 0.8rem; margin: 0.4rem 0; }
table { border-collapse: collapse; margin: 0.6rem 0 1.2rem; font-size: 0.92rem; }
th, td { border-bottom: 1px solid #e3e5ea; padding: 0.25rem 0.7rem; text-align: right; }
th:first-child, td:first-child { text-align: left; } th { background: #f4f5f8; }
caption { caption-side: top; text-align: left; font-weight: 600; padding-bottom: 0.3rem; }
figure { margin: 0.8rem 0 1.6rem; } figcaption { color: #5b6170; font-size: 0.9rem; }
footer { margin-top: 3rem; color: #8a8f9c; font-size: 0.85rem; }
"""


@dataclass(frozen=True)
class TextBlock:
    """Plain text; blank lines separate paragraphs (shown escaped, never as HTML)."""

    text: str


@dataclass(frozen=True)
class TableBlock:
    """A table with a caption. ``fraction_columns`` hold numbers in [0, 1] shown as percentages; other floats
    get ``float_digits`` decimals."""

    caption: str
    table: pd.DataFrame
    fraction_columns: tuple[str, ...] = ()
    float_digits: int = 3


@dataclass(frozen=True)
class FigureBlock:
    """A plotly figure; ``name`` is its PNG file's stem (unique within a document), ``caption`` optional."""

    name: str
    figure: go.Figure
    caption: str = ""


@dataclass(frozen=True)
class ShapForceBlock:
    """A SHAP force plot: ``html`` is its markup (`genre_core.explain.shap_figures.force_plot_markup`, without
    SHAP's script: the report inlines that once). No PNG is made of it (shap draws it in the browser)."""

    html: str
    caption: str = ""


Block = TextBlock | TableBlock | FigureBlock | ShapForceBlock


@dataclass(frozen=True)
class Section:
    """A titled part of a report: its blocks in reading order."""

    title: str
    blocks: tuple[Block, ...]


@dataclass(frozen=True)
class ReportDocument:
    """A whole report: title, one-line subtitle (what was run, on what), warnings every reader must see, sections."""

    title: str
    sections: tuple[Section, ...]
    subtitle: str = ""
    warnings: tuple[str, ...] = field(default_factory=tuple)

    def figures(self) -> list[FigureBlock]:
        """Every figure block in reading order; InputError when two share a name or a name is not a file stem."""
        found = [block for section in self.sections for block in section.blocks if isinstance(block, FigureBlock)]
        seen: set[str] = set()
        for block in found:
            if not FIGURE_NAME.match(block.name):
                raise InputError(f"figure name {block.name!r}", "use letters, digits, '_', '-' or '.' (a file stem)")
            if block.name in seen:
                raise InputError(f"figure name {block.name!r}", "used twice in one report")
            seen.add(block.name)
        return found


def _standalone(figure: go.Figure) -> go.Figure:
    """A copy of ``figure`` drawn with `REPORT_TEMPLATE` (its own colours and layout otherwise kept)."""
    return go.Figure(figure).update_layout(template=REPORT_TEMPLATE)


def _table_html(block: TableBlock) -> str:
    missing = [column for column in block.fraction_columns if column not in block.table.columns]
    if missing:
        raise InputError(f"table {block.caption!r}", f"has no column {missing[0]!r}")
    formatters = {column: (lambda value: "" if pd.isna(value) else f"{value:.1%}") for column in block.fraction_columns}
    table_html = block.table.to_html(index=False, border=0, escape=True, formatters=formatters, na_rep="",
                                     float_format=lambda value: f"{value:.{block.float_digits}f}")
    return table_html.replace('<table class="dataframe">', f"<table><caption>{html.escape(block.caption)}</caption>", 1)


def _block_html(block: Block) -> str:
    if isinstance(block, TextBlock):
        paragraphs = [part.strip() for part in block.text.split("\n\n") if part.strip()]
        return "".join(f"<p>{html.escape(part)}</p>" for part in paragraphs)
    if isinstance(block, TableBlock):
        return _table_html(block)
    if isinstance(block, FigureBlock):
        plot = pio.to_html(_standalone(block.figure), full_html=False, include_plotlyjs=False, div_id=f"figure-{block.name}",
                           config=PLOT_CONFIG)
        caption = f"<figcaption>{html.escape(block.caption)}</figcaption>" if block.caption else ""
        return f'<figure class="plot">{plot}{caption}</figure>'
    caption = f"<figcaption>{html.escape(block.caption)}</figcaption>" if block.caption else ""
    return f'<figure class="shap-force">{block.html}{caption}</figure>'


def render_html(document: ReportDocument) -> str:
    """The document as one HTML page that opens offline (plotly.js and, if needed, SHAP's script inlined)."""
    document.figures()  # names checked before anything is drawn
    blocks = [block for section in document.sections for block in section.blocks]
    scripts = []
    if any(isinstance(block, FigureBlock) for block in blocks):
        scripts.append(f'<script charset="utf-8">{get_plotlyjs()}</script>')
    if any(isinstance(block, ShapForceBlock) for block in blocks):
        from shap import getjs

        scripts.append(getjs())
    body = [f"<h1>{html.escape(document.title)}</h1>"]
    if document.subtitle:
        body.append(f'<p class="subtitle">{html.escape(document.subtitle)}</p>')
    body.extend(f'<div class="warning">{html.escape(line)}</div>' for line in document.warnings)
    for section in document.sections:
        body.append(f"<section><h2>{html.escape(section.title)}</h2>")
        body.extend(_block_html(block) for block in section.blocks)
        body.append("</section>")
    body.append("<footer>Made with GenreLens. This file needs no network connection.</footer>")
    return ("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            f"<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
            f"<title>{html.escape(document.title)}</title><style>{STYLE}</style>{''.join(scripts)}</head>"
            f"<body>{''.join(body)}</body></html>\n")


def write_html(document: ReportDocument, target: str | Path) -> Path:
    """Write `render_html` of ``document`` to ``target`` atomically (a failed write leaves the old file)."""
    target = Path(target)
    if target.is_dir():
        raise InputError(target, "is a folder: give the report's file name (e.g. report.html)")
    write_text_atomic(target, render_html(document))
    return target


def _export(figures: Sequence[FigureBlock], folder: Path, scale: float) -> list[Path]:
    """Each figure as ``<folder>/<name>.png`` via Kaleido (one browser session for all of them)."""
    paths = [folder / f"{block.name}.png" for block in figures]
    if not figures:
        return paths
    try:
        pio.write_images([_standalone(block.figure) for block in figures], paths, format="png", width=PNG_WIDTH,
                         height=PNG_HEIGHT, scale=scale)
    except (RuntimeError, ValueError, OSError) as error:  # Kaleido without Chrome/Chromium, or a failed render
        raise InputError("PNG export", f"plotly's static export failed ({type(error).__name__}: {error}); "
                         "it needs Chromium or Chrome installed") from None
    return paths


def figure_pngs(document: ReportDocument, *, scale: float = 2.0) -> dict[str, bytes]:
    """Every figure of ``document`` as PNG bytes, keyed by ``<name>.png``, in reading order."""
    figures = document.figures()
    with tempfile.TemporaryDirectory(prefix="genrelens-png-") as folder:
        return {path.name: path.read_bytes() for path in _export(figures, Path(folder), scale)}


def png_zip(document: ReportDocument, *, scale: float = 2.0) -> bytes:
    """`figure_pngs` packed in one zip archive (for a single download)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_STORED) as archive:
        for name, data in figure_pngs(document, scale=scale).items():
            archive.writestr(name, data)
    return buffer.getvalue()


def write_pngs(document: ReportDocument, folder: str | Path, *, scale: float = 2.0) -> list[Path]:
    """Write every figure as ``<folder>/<name>.png`` (each atomically); an existing PNG of the same name is
    replaced, nothing else in ``folder`` is touched. Returns the paths written."""
    folder = Path(folder)
    if folder.exists() and not folder.is_dir():
        raise InputError(folder, "is a file: give a folder for the PNGs")
    written = []
    for name, data in figure_pngs(document, scale=scale).items():
        with atomic_path(folder / name, suffix=".png") as temporary:
            temporary.write_bytes(data)
        written.append(folder / name)
    return written

"""Tests of `genre_core.report_document`: one self-contained HTML file and a PNG per figure."""

from __future__ import annotations

import io
import re
import struct
import zipfile

import pandas as pd
import plotly.graph_objects as go
import pytest
from plotly.offline import get_plotlyjs
from shap import getjs

from genre_core.errors import InputError
from genre_core.report_document import (
    PNG_HEIGHT, PNG_WIDTH, FigureBlock, ReportDocument, Section, ShapForceBlock, TableBlock, TextBlock,
    png_zip, render_html, write_html, write_pngs,
)

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def _document(*extra: Section) -> ReportDocument:
    table = pd.DataFrame({"Genre": ["blues <b>", "metal"], "Recall": [0.5, 0.875], "Segments": [4, 8]})
    return ReportDocument(
        title="Run <1>",
        subtitle="demo · grouped",
        warnings=("synthetic data & no real music",),
        sections=(
            Section("Scores", (
                TextBlock("First paragraph.\n\nSecond <script>alert(1)</script> paragraph."),
                TableBlock("Per class", table, fraction_columns=("Recall",)),
                FigureBlock("bars", go.Figure(go.Bar(x=["a", "b"], y=[1, 2])), caption="Two bars"),
            )),
            *extra,
        ),
    )


def test_html_inlines_plotly_once_and_fetches_nothing():
    page = render_html(_document())
    assert page.count("<script") == 2  # plotly.js, then the one figure's newPlot call
    assert page.count("Plotly.newPlot") >= 1 and 'id="figure-bars"' in page
    assert not re.search(r"<(script|link|img|iframe)[^>]*\s(src|href)=", page)
    assert "cdn.plot.ly" not in page.split("</head>")[1]


def test_html_escapes_text_and_shows_tables_warnings_and_percentages():
    page = render_html(_document())
    assert "<script>alert(1)" not in page and "&lt;script&gt;alert(1)" in page
    assert "<h1>Run &lt;1&gt;</h1>" in page
    assert "synthetic data &amp; no real music" in page
    assert "<caption>Per class</caption>" in page and "blues &lt;b&gt;" in page
    assert "87.5%" in page and "50.0%" in page and ">8<" in page
    assert page.count("<p>") == 2 and "<p class=\"subtitle\">demo · grouped</p>" in page


def test_figures_made_under_streamlits_template_get_real_colours():
    placeholder = go.layout.Template(layout={"colorway": ["#000001", "#000002"]})  # as Streamlit's template has
    figure = go.Figure(go.Bar(x=["a"], y=[1]), layout={"template": placeholder})
    page = render_html(ReportDocument("t", (Section("s", (FigureBlock("bars", figure),)),)))
    assert "#000001" not in page and "#636efa" in page  # plotly_white's first colour


def test_shap_script_is_inlined_only_when_a_force_plot_is_there():
    assert "SHAP" not in render_html(_document()).split("</head>")[0]
    force = Section("SHAP", (ShapForceBlock("<div id='force'>force plot</div>", caption="row 3"),))
    page = render_html(_document(force))
    head = page.split("</head>")[0]
    assert head.endswith(getjs()) and head.count(get_plotlyjs()) == 1
    assert "<div id='force'>force plot</div>" in page


@pytest.mark.parametrize("name, reason", [("bars", "used twice"), ("../x", "file stem"), ("a b", "file stem")])
def test_figure_names_must_be_unique_file_stems(name, reason):
    extra = Section("More", (FigureBlock(name, go.Figure()),))
    with pytest.raises(InputError, match=reason):
        render_html(_document(extra))


def test_a_missing_fraction_column_is_named():
    section = Section("Bad", (TableBlock("Scores", pd.DataFrame({"a": [1]}), fraction_columns=("b",)),))
    with pytest.raises(InputError, match="table 'Scores': has no column 'b'"):
        render_html(ReportDocument("t", (section,)))


def test_write_html_replaces_the_file_and_refuses_a_folder(tmp_path):
    target = tmp_path / "report.html"
    target.write_text("old")
    write_html(_document(), target)
    assert target.read_text(encoding="utf-8").startswith("<!DOCTYPE html>")
    assert [path.name for path in tmp_path.iterdir()] == ["report.html"]  # no temporary file left
    with pytest.raises(InputError, match="is a folder"):
        write_html(_document(), tmp_path)


def _png_size(data: bytes) -> tuple[int, int]:
    assert data[:8] == PNG_MAGIC
    return struct.unpack(">II", data[16:24])


@pytest.mark.slow
def test_every_figure_becomes_a_png_beside_what_is_there(tmp_path):
    second = Section("More", (FigureBlock("heat", go.Figure(go.Heatmap(z=[[1, 2], [3, 4]]))),
                              TextBlock("no figure")))
    document = _document(second)
    (tmp_path / "notes.txt").write_text("mine")
    written = write_pngs(document, tmp_path, scale=1.0)
    assert [path.name for path in written] == ["bars.png", "heat.png"]
    assert _png_size(written[0].read_bytes()) == (PNG_WIDTH, PNG_HEIGHT)
    assert (tmp_path / "notes.txt").read_text() == "mine"
    with zipfile.ZipFile(io.BytesIO(png_zip(document, scale=0.5))) as archive:
        assert archive.namelist() == ["bars.png", "heat.png"]
        assert _png_size(archive.read("heat.png")) == (PNG_WIDTH // 2, PNG_HEIGHT // 2)

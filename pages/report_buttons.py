"""The two report downloads a page offers for a finished piece of work (an evaluation, a sweep): one self-contained
HTML file and its figures as PNGs (zip). Thin: the document comes from `genre_core.report_document`'s builders, and
is made only when a button is clicked."""

from __future__ import annotations

from collections.abc import Callable

import streamlit as st

from genre_core import report_document


def report_downloads(make_document: Callable[[], report_document.ReportDocument], tag: str, contents: str) -> None:
    """Buttons "Report (HTML, opens offline)" (``report_<tag>.html``, key ``report-html-<tag>``) and "Figures (PNG,
    zip)" (``figures_<tag>.zip``, key ``report-png-<tag>``); ``make_document()`` runs when one is clicked;
    ``contents`` says what the report holds (the HTML button's help)."""
    html_column, png_column = st.columns(2)
    html_column.download_button(
        "Report (HTML, opens offline)", lambda: report_document.render_html(make_document()).encode("utf-8"),
        file_name=f"report_{tag}.html", mime="text/html", key=f"report-html-{tag}", on_click="ignore",
        icon=":material/description:", help=f"{contents} in one file: no network needed to open it, for handing in.")
    png_column.download_button(
        "Figures (PNG, zip)", lambda: report_document.png_zip(make_document()),
        file_name=f"figures_{tag}.zip", mime="application/zip", key=f"report-png-{tag}", on_click="ignore",
        icon=":material/image:", help="Each figure of the report as a PNG (made by plotly's static export in a "
        "headless Chromium; about 2 s a figure on a busy machine).")

"""Keeping every picture, in a real browser (Debian's chromium under playwright): a chart's mode
bar saves it as PNG (plotly's camera) and as SVG (the app's button), and a bertviz view downloaded
as HTML draws in a browser that has no network at all.

The ``browser``, ``server`` and ``page`` fixtures are the shared ones (conftest.py): the app on a
tiny checkpoint, and every request the page makes must stay on 127.0.0.1.
"""

from __future__ import annotations

import re
import urllib.parse

import pytest

from browser_support import RUN_TIMEOUT, choose, no_errors, open_view, wait_idle
from ui import bertviz_view

CHART = '[data-testid="stPlotlyChart"]'


def test_a_chart_saves_as_png_and_as_svg(page, tmp_path):
    open_view(page, "embeddings")
    no_errors(page)
    # the token's colour strips, by their key: charts mount one by one, so "the first chart on
    # the page" can be another one between two looks
    chart = page.locator(f".st-key-emb_parts_fig {CHART}")
    # the mode bar is there without hovering (a phone cannot hover), with both buttons
    svg_button = chart.locator(".modebar .bl-svg")
    svg_button.wait_for(state="visible", timeout=RUN_TIMEOUT)
    camera = chart.locator('.modebar [data-title="Download plot as a PNG"]')
    assert camera.is_visible()
    assert chart.locator('.modebar [data-title="Zoom"]').count() == 0  # zoom and pan left out

    with page.expect_download(timeout=30_000) as got:
        camera.click()
    png = got.value
    assert png.suggested_filename == "bertlab-embedding-parts.png"
    png.save_as(tmp_path / "chart.png")
    assert (tmp_path / "chart.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"

    with page.expect_download(timeout=30_000) as got:
        svg_button.click()
    svg = got.value
    assert svg.suggested_filename == "bertlab-embedding-parts.svg"
    svg.save_as(tmp_path / "chart.svg")
    text = (tmp_path / "chart.svg").read_text(encoding="utf-8")
    assert text.lstrip().startswith("<svg") and "<text" in text  # vector, with its labels
    # the camera still saves PNG afterwards (the SVG button changed the format for one call)
    with page.expect_download(timeout=30_000) as got:
        camera.click()
    assert got.value.suggested_filename.endswith(".png")


@pytest.mark.skipif(bool(bertviz_view.missing_vendor()), reason="vendor/ lacks the JS")
def test_a_downloaded_bertviz_view_draws_with_no_network(page, browser, tmp_path):
    query = urllib.parse.urlencode({"section": "bertviz", "pair": "it rained ."})
    open_view(page, f"attention?{query}")
    no_errors(page)
    files = {}
    for kind in ("head", "model"):
        if kind == "model":  # one view at a time
            choose(page, "Model view")
            page.locator(".st-key-attn_bv_model_html button").first.wait_for(timeout=RUN_TIMEOUT)
            wait_idle(page)
        with page.expect_download(timeout=30_000) as got:
            page.locator(f".st-key-attn_bv_{kind}_html button").first.click()
        files[kind] = tmp_path / got.value.suggested_filename
        got.value.save_as(files[kind])
    assert files["head"].name == "bertlab-head-view-layer-0-head-0.html"

    offline = browser.new_context(offline=True)
    try:
        for kind, path in files.items():
            doc = path.read_text(encoding="utf-8")
            assert not re.search(r"<script[^>]*\bsrc\s*=", doc, re.I)
            pg = offline.new_page()
            seen: list[str] = []
            pg.on("request", lambda r, seen=seen: seen.append(r.url))
            pg.goto(path.as_uri())
            # bertviz draws the tokens as SVG text once jQuery, d3 and require.js have run
            pg.locator("#vis svg text, svg text").first.wait_for(state="attached",
                                                               timeout=30_000)
            labels = pg.locator("svg text").all_text_contents()
            if kind == "head":  # the tokens, with attention lines between them
                assert "rained" in labels, labels[:20]
            else:  # a thumbnail per layer and head, each drawn with its attention lines
                assert "Layers" in labels and "Heads" in labels, labels[:20]
            assert pg.locator("svg line, svg path").count() > 0
            assert all(u.startswith(("file:", "data:", "about:")) for u in seen), seen
            pg.close()
    finally:
        offline.close()

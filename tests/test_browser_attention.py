"""The attention page in a real browser (Debian's chromium under playwright) at 512 tokens, and the
links that reopen one of its views.

This module's server reads 512 tokens: a tiny checkpoint (2 layers, 4 heads, hidden 32) with 512
positions, so that a text cut to 512 tokens costs a fraction of a second to compute and what is
checked is the page: every section finishes, each view that draws tokens shows the window notice
and at most a window's labels, and nothing raises. (How long it takes on real models is measured in
``benchmarks/bench_long_input.py``, not here.) The ``browser`` and ``page`` fixtures and the helpers
are the shared ones (conftest.py, browser_support.py).
"""

from __future__ import annotations

import re
import urllib.parse
import urllib.request

import pytest

from browser_support import (RUN_TIMEOUT, choose, heading, main_text, no_errors,
                             screenshot, sync_api, wait_idle)

LONG = "the dog barked on the street , and it rained . " * 60  # 720 tokens: cut to 512
SECTIONS = {"head": "One head", "example": "Worked example", "bertviz": "bertviz views",
            "off": "Switch heads off", "summary": "What heads look at"}
NOTICE = re.compile(r"Showing tokens (\d+)–(\d+) of 512")


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """The app with a tiny checkpoint that reads 512 tokens (this module only)."""
    from app_support import write_app_checkpoint
    from conftest import streamlit_server

    model = write_app_checkpoint(tmp_path_factory.mktemp("browser-bert-512"), positions=512)
    with streamlit_server(model, tmp_path_factory.mktemp("streamlit-log")) as base:
        yield base


def open_url(pg, query: dict) -> None:
    pg.goto(f"{pg.base}/attention?{urllib.parse.urlencode(query)}")
    wait_idle(pg)


def window_shown(pg) -> tuple[int, int]:
    """The window's first and last token, from its notice on the page."""
    match = NOTICE.search(main_text(pg))
    assert match, main_text(pg)[:1500]
    return int(match[1]), int(match[2])


def tick_labels(pg, axis: str) -> int:
    """Tick labels on the first plotly chart's x or y axis, as the browser drew them."""
    chart = pg.locator('[data-testid="stMain"] [data-testid="stPlotlyChart"]').first
    chart.locator(f"g.{axis}tick").first.wait_for(state="attached", timeout=RUN_TIMEOUT)
    return chart.locator(f"g.{axis}tick").count()


def test_every_section_of_a_512_token_input_finishes_with_a_window(page):
    open_url(page, {"text": LONG})
    assert "cut off" in main_text(page)
    for key, label in SECTIONS.items():
        choose(page, label)
        wait_idle(page)
        no_errors(page)
        if key in ("head", "example", "bertviz"):
            first, last = window_shown(page)
            assert last - first + 1 <= 32
        if key == "head":
            assert tick_labels(page, "x") <= 32 and tick_labels(page, "y") <= 32
            screenshot(page, "en-attention-512-head")
        if key == "bertviz":
            frames = page.locator('[data-testid="stMain"] iframe')
            if frames.count():  # vendor/ present: bertviz draws the window's 20 tokens
                head_view = page.frame_locator('[data-testid="stMain"] iframe').nth(0)
                head_view.locator("svg text").first.wait_for(timeout=30_000)
                assert head_view.locator("svg text").count() <= 2 * 20 + 2
            choose(page, "Neuron view")
            heading(page, "Neuron view: where a score comes from").wait_for(timeout=RUN_TIMEOUT)
            wait_idle(page)
            first, last = window_shown(page)
            assert last - first + 1 <= 20
        if key == "off":  # hide the suggested word, then switch a layer off
            page.get_by_role("button", name="Hide it").click()
            page.get_by_role("button", name="Switch off all of layer 0").wait_for(
                timeout=RUN_TIMEOUT)
            wait_idle(page)
            page.get_by_role("button", name="Switch off all of layer 0").click()
            page.get_by_text("With 4 head(s) off").first.wait_for(timeout=RUN_TIMEOUT)
            wait_idle(page)
            no_errors(page)
    heading(page, "Dominant behaviour of each head").wait_for(timeout=RUN_TIMEOUT)


def test_a_link_restores_section_query_token_and_window(browser, server, page):
    open_url(page, {"text": LONG})
    choose(page, "Worked example")
    heading(page, "① Query and keys").wait_for(timeout=RUN_TIMEOUT)
    wait_idle(page)
    # Pick query token 300: the window moves to it, and the URL says so.
    page.locator('[data-testid="stMain"] [data-testid="stSelectbox"]').filter(
        has_text="Query token").locator("input").fill("300 ·")
    page.keyboard.press("Enter")
    sync_api.expect(page).to_have_url(re.compile(r"[?&]query=300(&|$)"), timeout=RUN_TIMEOUT)
    wait_idle(page)
    first, last = window_shown(page)
    assert first <= 300 <= last
    shared = page.url
    assert "section=example" in shared and f"window={first}" in shared

    other = browser.new_context(viewport={"width": 1366, "height": 900})
    try:
        pg = other.new_page()
        pg.goto(shared)
        wait_idle(pg)
        heading(pg, "① Query and keys").wait_for(timeout=RUN_TIMEOUT)
        picked = pg.locator('[data-testid="stMain"] [data-testid="stSelectbox"]').filter(
            has_text="Query token")
        sync_api.expect(picked.locator("input")).to_have_value(re.compile(r"^300 ·"),
                                                               timeout=RUN_TIMEOUT)
        assert window_shown(pg) == (first, last)
        no_errors(pg)
    finally:
        other.close()

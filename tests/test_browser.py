"""The app in a real browser: Debian's chromium driven by playwright, against ``streamlit run``.

One Streamlit server per module (a tiny local checkpoint as $BERTLAB_MODEL, no network), one
chromium (``browser_support``). What only a browser can show: a deep link on a fresh server, every
page in English and Chinese (screenshots in $BERTLAB_SCREENSHOTS, default
/tmp/bertlab-screenshots), hiding a word and seeing the guesses, a shared link reopening the same
view, an HTML/script sentence staying text (no script runs), bertviz's views drawing with no
internet, and no request leaving 127.0.0.1.

Skipped, with the reason, when /usr/bin/chromium or playwright is missing (``make test`` installs
chromium with apt when it runs as root).
"""

from __future__ import annotations

import math
import re
import urllib.request

import pytest

from app_support import bertviz_params
from browser_support import (HTML_TEXT, PAGES, RUN_TIMEOUT, choose, heading, no_errors, open_view,
                             pwned, screenshot, sync_api, wait_idle)


# ----------------------------------------------------------------------------- tests
# The first test runs on the fresh server: a deep link must get the whole app (see
# ui.state.ensure_frame), not the page alone in Streamlit's pages/-folder mode.

def test_deep_link_on_a_fresh_server(page):
    open_view(page, "attention?layer=1&head=2")
    heading(page, "Layer 1, head 2: who looks at whom").wait_for()
    # (the sidebar may draw a moment after the page's heading: wait for it, don't sample it)
    sync_api.expect(page.locator('[data-testid="stSidebar"] textarea')).to_have_count(
        2, timeout=RUN_TIMEOUT)
    nav = page.locator('[data-testid="stSidebarNav"]')
    sync_api.expect(nav).to_contain_text("3 · Attention", timeout=RUN_TIMEOUT)
    assert "masked_lm" not in nav.inner_text()
    no_errors(page)


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_every_page(page, lang):
    for path, titles in PAGES.items():
        sep = "&" if "?" in path else "?"
        open_view(page, f"{path}{sep}lang={lang}&pair="
                  + ("it+rained+." if lang == "en" else "今天下雨了。"))
        title = titles[0 if lang == "en" else 1]
        assert page.locator("h1").first.inner_text().strip() == title
        no_errors(page)
        screenshot(page, f"{lang}-{path or 'home'}")
    if lang == "zh":  # the sidebar speaks Chinese too
        sidebar = page.locator('[data-testid="stSidebar"]').inner_text()
        assert "句子" in sidebar and "模型" in sidebar


def test_mask_a_word_and_see_guesses(page):
    open_view(page, "masked_lm?text=the+dog+barked+on+the+mat+.")
    page.get_by_text("Click one or more words above to hide them.").wait_for()
    choose(page, "dog")
    heading(page, "Top 5 guesses for each hidden spot").wait_for(timeout=RUN_TIMEOUT)
    wait_idle(page)
    sync_api.expect(page).to_have_url(re.compile(r"[?&]masks=2(&|$)"), timeout=RUN_TIMEOUT)
    bars = page.locator('[data-testid="stMain"] .bl-bars')  # the guesses, a list of bars
    bars.filter(has_text="#2 (was “dog”)").first.wait_for(timeout=RUN_TIMEOUT)
    page.locator(".bl-word-table").wait_for(timeout=RUN_TIMEOUT)  # the logit lens, a table
    charts = page.locator('[data-testid="stMain"] [data-testid="stPlotlyChart"]')
    chips = page.locator(".bl-chips").first.inner_text()
    assert "[MASK]" in chips and "dog" not in chips.split("[MASK]")[0][-5:]
    no_errors(page)
    screenshot(page, "en-masked_lm-guesses")
    # The page's other parts, one at a time: both sides or the left only draws its guesses (two
    # lists), then one head's attention (two charts) in their place.
    assert bars.count() == 1 and charts.count() == 0
    choose(page, "Both sides or left")
    heading(page, "Both sides, or the left only?").wait_for(timeout=RUN_TIMEOUT)
    sync_api.expect(page).to_have_url(re.compile(r"[?&]section=directions(&|$)"),
                                      timeout=RUN_TIMEOUT)
    wait_idle(page)
    sync_api.expect(bars).to_have_count(2, timeout=RUN_TIMEOUT)
    assert charts.count() == 0
    assert not heading(page, "Top 5 guesses for each hidden spot").count()
    choose(page, "one head's attention")
    page.locator("svg text").filter(has_text="Layer 0, head 0").first.wait_for(
        timeout=RUN_TIMEOUT)
    wait_idle(page)
    sync_api.expect(charts).to_have_count(2, timeout=RUN_TIMEOUT)
    assert bars.count() == 0
    no_errors(page)
    screenshot(page, "en-masked_lm-directions")


def test_shared_link_reopens_the_view(browser, server, page):
    open_view(page, "attention?text=the+dog+barked+.&pair=it+rained+.")
    choose(page, "Worked example")
    heading(page, "① Query and keys").wait_for(timeout=RUN_TIMEOUT)
    wait_idle(page)
    shared = page.url
    assert "text=the+dog+barked" in shared and "pair=it+rained" in shared

    other = browser.new_context(viewport={"width": 1366, "height": 900})
    try:
        pg = other.new_page()
        pg.goto(shared.replace("lang=en", "lang=zh") + "&layer=1&head=3&masks=2")
        wait_idle(pg)
        # The link keeps the section (the worked example), now for layer 1, head 3.
        heading(pg, "① 查询与键").wait_for(timeout=RUN_TIMEOUT)
        pg.get_by_text("第 1 层第 3 个头如何计算").wait_for(timeout=RUN_TIMEOUT)
        boxes = pg.locator('[data-testid="stSidebar"] textarea')
        # the sidebar's text boxes may fill a moment after the page's heading: wait for the value
        sync_api.expect(boxes.nth(0)).to_have_value("the dog barked .", timeout=RUN_TIMEOUT)
        sync_api.expect(boxes.nth(1)).to_have_value("it rained .", timeout=RUN_TIMEOUT)
        pg.goto(f"{server}/masked_lm?text=the+dog+barked+.&masks=2")
        wait_idle(pg)
        heading(pg, "Top 5 guesses for each hidden spot").wait_for(timeout=RUN_TIMEOUT)
        pg.locator(".bl-bars").filter(has_text="#2 (was “dog”)").first.wait_for()
    finally:
        other.close()


def test_html_sentence_is_shown_as_text(page):
    quoted = urllib.request.quote(HTML_TEXT)
    for path in ("tokenization", "embeddings", "masked_lm?masks=2", "next_sentence",
                 "attention"):
        sep = "&" if "?" in path else "?"
        open_view(page, f"{path}{sep}text={quoted}&pair={quoted}")
        no_errors(page)
        assert pwned(page) == []
        # The sentence box holds it verbatim; no <b>x</b> became bold text on the page.
        # (the sidebar's box may fill a moment after the page: wait for the value, don't sample it)
        sync_api.expect(page.locator('[data-testid="stSidebar"] textarea').first).to_have_value(
            HTML_TEXT, timeout=RUN_TIMEOUT)
        assert page.locator('[data-testid="stMain"] b').filter(
            has_text=re.compile(r"^x$")).count() == 0
    # Next sentence prints both sentences as plain text.
    open_view(page, f"next_sentence?text={quoted}&pair={quoted}")
    sync_api.expect(page.locator('[data-testid="stMain"]')).to_contain_text(HTML_TEXT,
                                                                             timeout=RUN_TIMEOUT)
    # The bertviz views put the tokens inside a <script>: still no script of ours runs.
    open_view(page, f"attention?text={quoted}")
    choose(page, "bertviz views")
    for view, title in (("Head view", "Head view"), ("Model view", "Model view: every layer")):
        choose(page, view)
        heading(page, title).wait_for(timeout=RUN_TIMEOUT)
        wait_idle(page)
        page.wait_for_timeout(1500)
        assert pwned(page) == []
    chips = page.locator(".bl-chips")
    assert chips.count() == 0 or "<" in chips.first.inner_text()


def test_bertviz_views_render_offline(page):
    from ui import bertviz_view

    if bertviz_view.missing_vendor():
        pytest.skip("vendor/ lacks the bertviz JavaScript (scripts/vendor_js.sh needs npm)")
    # The libraries come from the app's static files (make vendor copies them there), else
    # inlined: either way the browser asks nothing outside this server.
    scripts: list = []
    page.on("response", lambda r: scripts.append((r.url, r.status))
            if r.request.resource_type == "script" and "/app/static/" in r.url else None)
    open_view(page, "attention?text=the+dog+barked+.&pair=it+rained+.")
    choose(page, "bertviz views")
    heading(page, "Head view").wait_for(timeout=RUN_TIMEOUT)
    wait_idle(page)
    # One view at a time: the head view first.
    frames = page.locator('[data-testid="stMain"] iframe')
    sync_api.expect(frames).to_have_count(1, timeout=RUN_TIMEOUT)
    # bertviz draws with d3 once require.js has handed it jQuery and d3: the head view writes
    # the tokens as SVG text, the model view one thumbnail of lines per head.
    head_view = page.frame_locator('[data-testid="stMain"] iframe').first
    head_view.locator("svg text").filter(has_text="dog").first.wait_for(timeout=30_000)
    # It opens on the page's layer and head (0 and 0), with lines for that head only, one per
    # query and key; a click on the next head's square draws that head's lines too.
    lines = head_view.locator("#attention line")
    tokens = head_view.locator("svg #left text").count()
    assert tokens == 10 and lines.count() == tokens * tokens
    assert head_view.locator('[head-index="0"] line').count() == tokens * tokens
    head_view.locator('svg rect[width="20"][height="20"]').nth(1).click()
    sync_api.expect(lines).to_have_count(2 * tokens * tokens)
    assert head_view.locator('[head-index="1"] line').count() == tokens * tokens
    if bertviz_view.served_ready():
        doc = frames.first.get_attribute("srcdoc")
        assert "d3js.org" not in doc and 'src="app/static/bertviz/d3.min.js?v=' in doc
        loaded = {u.split("/app/static/bertviz/")[1].split("?")[0] for u, st in scripts
                  if st in (200, 304)}
        assert loaded == set(bertviz_view.VENDOR_FILES.values()), scripts
    screenshot(page, "en-attention-bertviz")
    choose(page, "Model view")
    heading(page, "Model view: every layer").wait_for(timeout=RUN_TIMEOUT)
    wait_idle(page)
    sync_api.expect(frames).to_have_count(1, timeout=RUN_TIMEOUT)
    model_view = page.frame_locator('[data-testid="stMain"] iframe').first
    model_view.locator("svg line, svg path").first.wait_for(state="attached", timeout=30_000)
    assert model_view.locator("svg line, svg path, svg rect").count() > 8  # 2 layers x 4 heads
    # A thumbnail is a path per opacity level (0.05 steps): one segment for each pair of tokens
    # whose attention rounds to a level above 0, at that level's opacity.
    params = bertviz_params(frames.first.get_attribute("srcdoc"))
    weights = [w for row in params["attention"][0]["attn"][1][2] for w in row]  # layer 1, head 2
    thumbnail = model_view.locator("g:has(> #attn_background_1_2) > path")
    drawn = {float(p.get_attribute("stroke-opacity")): p.get_attribute("d").count("M")
             for p in thumbnail.all()}
    levels = [math.floor(w * 20 + 0.5) / 20 for w in weights]  # JavaScript's Math.round
    assert drawn == {lv: levels.count(lv) for lv in set(levels) if lv > 0}
    assert model_view.locator("line").count() == 0  # until a thumbnail is enlarged:
    model_view.locator("g:has(> #attn_background_1_2) > rect").last.click()
    tokens = len(params["attention"][0]["left_text"])
    sync_api.expect(model_view.locator(".attn-line-group line")).to_have_count(tokens * tokens)
    choose(page, "Neuron view")
    heading(page, "Neuron view: where a score comes from").wait_for(timeout=RUN_TIMEOUT)
    wait_idle(page)
    sync_api.expect(frames).to_have_count(0, timeout=RUN_TIMEOUT)
    no_errors(page)


def test_switch_heads_off_in_the_browser(page):
    open_view(page, "attention?text=the+dog+barked+on+the+mat+.&masks=2")
    choose(page, "Switch heads off")
    page.get_by_text("No head is switched off yet").wait_for(timeout=RUN_TIMEOUT)
    wait_idle(page)
    page.get_by_role("button", name="Switch off all of layer 0").click()
    page.get_by_text("With 4 head(s) off").first.wait_for(timeout=RUN_TIMEOUT)
    no_errors(page)


def test_chinese_presenter_mode(page):
    open_view(page, "attention?lang=zh&presenter=1")
    assert page.locator("h1").first.inner_text().strip() == "注意力"
    # The style-only st.html is drawn in Streamlit's event container, which may come after the
    # heading on a loaded machine: wait for it rather than read the size once.
    sync_api.expect(page.locator("html")).to_have_css("font-size", "21px", timeout=RUN_TIMEOUT)
    no_errors(page)
    screenshot(page, "zh-attention-presenter")

"""Presenter mode at 1440×900 and the phone at 390 px, measured in a real browser (chromium).

What only a browser can tell: the size and colour chart text is really drawn at (Streamlit's chart
theme and plotly both have a say), whether labels and titles run into each other at the width a
chart really gets, whether the step control answers the keys a teacher (or a clicker) presses, and
whether a phone gets the whole width with nothing sticking out sideways. Screenshots go to
$BERTLAB_SCREENSHOTS (default /tmp/bertlab-screenshots), named ``present-*`` and ``phone-*``.
"""

from __future__ import annotations

import re

import pytest

from browser_support import PAGES, RUN_TIMEOUT, SHOTS, no_errors, open_view, sync_api, wait_idle

PROJECTOR = {"width": 1440, "height": 900}
PHONE = {"width": 390, "height": 844}
LAPTOP = {"width": 1366, "height": 900}

# Every text plotly drew in the main area's charts (hover labels and labels hidden on purpose
# excluded), with what it looks like, its turn (degrees) and where it is.
CHART_TEXT_JS = """() => Array.from(document.querySelectorAll(
    '[data-testid="stMain"] [data-testid="stPlotlyChart"]')).flatMap((chart, c) => {
  const box = chart.getBoundingClientRect();
  if (box.width === 0) return [];
  return Array.from(chart.querySelectorAll('svg text')).filter(e => e.textContent.trim()
      && !e.closest('.hoverlayer') && e.getBoundingClientRect().width > 0
      && getComputedStyle(e).visibility !== 'hidden').map(e => {
    const r = e.getBoundingClientRect(), style = getComputedStyle(e);
    const kind = ['xtick', 'ytick', 'gtitle', 'g-xtitle', 'g-ytitle', 'cbaxis', 'annotation',
                  'legendtext', 'bartext', 'textpoint', 'angularaxistick', 'number']
      .find(k => e.closest('.' + k) || e.classList.contains(k)) || 'other';
    return {chart: c, kind, text: e.textContent.slice(0, 40), size: parseFloat(style.fontSize),
            fill: style.fill,
            angle: Math.abs(parseFloat(((e.getAttribute('transform') || '')
                                        .match(/rotate\\((-?[\\d.]+)/) || [0, 0])[1])),
            box: [r.left, r.top, r.right, r.bottom],
            chartBox: [box.left, box.right, box.top, box.bottom]};
  });
})"""
# Every text of the main area's bar lists (charts.bars_html), with its size and colour.
BAR_TEXT_JS = """() => Array.from(document.querySelectorAll(
    '[data-testid="stMain"] .bl-bars :is(.bl-bars-title, .bl-bars-label, .bl-bars-value,'
    + ' .bl-bars-scale span)')).filter(e => e.textContent.trim()).map(e => ({
  text: e.textContent.slice(0, 40), size: parseFloat(getComputedStyle(e).fontSize),
  fill: getComputedStyle(e).color}))"""
# Text drawn on the chart's white background (not on a coloured cell or bar).
ON_PAPER = {"xtick", "ytick", "gtitle", "g-xtitle", "g-ytitle", "cbaxis", "legendtext",
            "angularaxistick"}


def luminance(rgb: str) -> float:
    """WCAG 2 relative luminance of a CSS "rgb(r, g, b)"."""
    lin = [c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4
           for c in (float(v) / 255 for v in re.findall(r"[\d.]+", rgb)[:3])]
    return 0.2126 * lin[0] + 0.7152 * lin[1] + 0.0722 * lin[2]


def contrast_on_white(rgb: str) -> float:
    return 1.05 / (luminance(rgb) + 0.05)


def overlap(a, b, slack: float = 1.0) -> bool:
    """Whether two [left, top, right, bottom] boxes overlap by more than ``slack`` px each way."""
    return (min(a[2], b[2]) - max(a[0], b[0]) > slack) and (min(a[3], b[3]) - max(a[1], b[1])
                                                             > slack)


def collisions(found: list[dict]) -> list[tuple]:
    """Texts of one chart that run into each other: labels, titles, legend, colour-bar ticks,
    notes. (Labels turned 45° are compared only with titles: their boxes are wider than their
    letters, so two neighbours' boxes touch where their letters do not.)"""
    kinds = ("xtick", "ytick", "gtitle", "g-xtitle", "g-ytitle", "legendtext", "cbaxis",
             "annotation")
    texts = [t for t in found if t["kind"] in kinds]
    hits = []
    for i, a in enumerate(texts):
        for b in texts[i + 1:]:
            slanted = a["angle"] % 90 or b["angle"] % 90
            if (a["chart"] == b["chart"] and overlap(a["box"], b["box"])
                    and (not slanted or "gtitle" in (a["kind"], b["kind"]))):
                hits.append((a["chart"], a["kind"], a["text"], b["kind"], b["text"]))
    return hits


def outside(found: list[dict]) -> list[tuple]:
    """Texts drawn (partly) outside their chart, where they are cut off."""
    return [(t["chart"], t["kind"], t["text"]) for t in found
            if t["box"][0] < t["chartBox"][0] - 1 or t["box"][2] > t["chartBox"][1] + 1
            or t["box"][1] < t["chartBox"][2] - 1 or t["box"][3] > t["chartBox"][3] + 1]


def draw_every_chart(pg, expected: bool = True) -> None:
    """Waits for the page's charts (plotly's code loads after the script run; a page that may have
    none waits a few seconds at most), then scrolls each into view (Streamlit draws a chart when it
    is on screen) and waits for its text."""
    charts = pg.locator('[data-testid="stMain"] [data-testid="stPlotlyChart"]')
    try:
        charts.first.wait_for(state="attached", timeout=RUN_TIMEOUT if expected else 4000)
    except sync_api.TimeoutError:
        if expected:
            raise
        return
    for i in range(charts.count()):
        chart = charts.nth(i)
        if not chart.is_visible():
            continue
        chart.scroll_into_view_if_needed()
        chart.locator("svg text").first.wait_for(state="attached", timeout=RUN_TIMEOUT)
    pg.wait_for_timeout(300)


def chart_texts(pg) -> list[dict]:
    draw_every_chart(pg)
    return pg.evaluate(CHART_TEXT_JS)


def shot(pg, name: str, viewport: dict) -> None:
    """A screenshot of the whole page at ``viewport``'s width (the window made as tall as it)."""
    SHOTS.mkdir(parents=True, exist_ok=True)
    height = pg.evaluate("""() => document.querySelector('[data-testid="stMain"]').scrollHeight""")
    pg.set_viewport_size({"width": viewport["width"], "height": int(min(max(height, 600), 8000))})
    pg.wait_for_timeout(500)
    pg.screenshot(path=str(SHOTS / f"{name}.png"))
    pg.set_viewport_size(viewport)


@pytest.fixture
def projector(browser, server):
    context = browser.new_context(viewport=PROJECTOR, locale="en-US")
    pg = context.new_page()
    pg.base = server
    yield pg
    context.close()


@pytest.fixture
def phone(browser, server):
    context = browser.new_context(viewport=PHONE, locale="en-US", is_mobile=True, has_touch=True,
                                  device_scale_factor=2)
    pg = context.new_page()
    pg.base = server
    yield pg
    context.close()


# ----------------------------------------------------------------------------- presenter mode

@pytest.mark.parametrize("view", [
    "embeddings?presenter=1&step=9",
    "layer?presenter=1&step=9",
    "next_sentence?presenter=1&step=9&pair=it+rained+.",
    "next_sentence?presenter=1&step=9&lang=zh&text=中国人大学&pair=大学中国人",
    "masked_lm?presenter=1&step=9&text=the+dog+barked+on+the+mat+.&masks=2",
])
def test_presenter_chart_text_is_large_dark_and_apart(projector, view):
    open_view(projector, view)
    no_errors(projector)
    # (the masked-word page's parts draw their guesses as bar lists, and charts only on request)
    draw_every_chart(projector, expected=not view.startswith("masked_lm"))
    found = projector.evaluate(CHART_TEXT_JS)
    bars = projector.evaluate(BAR_TEXT_JS)  # the lists of bars: as large and as dark
    assert found or bars, "no chart text drawn"
    assert bars or not view.startswith(("layer", "masked_lm")), "no bar list drawn"
    assert not [b for b in bars if b["size"] < 18], bars
    assert not [b for b in bars if contrast_on_white(b["fill"]) < 4.5], bars
    small = [(t["kind"], t["text"], t["size"]) for t in found if t["size"] < 18]
    assert not small, f"chart text under 18 px: {small[:10]}"
    pale = [(t["kind"], t["text"], t["fill"]) for t in found
            if t["kind"] in ON_PAPER and contrast_on_white(t["fill"]) < 4.5]
    assert not pale, f"chart text under 4.5:1 on white: {pale[:10]}"
    hits = collisions(found)
    assert not hits, f"chart texts run into each other: {hits[:6]}"
    assert not outside(found), f"chart texts cut off at the chart's edge: {outside(found)[:6]}"
    if "lang=zh" in view:  # Chinese tokens stay upright
        ticks = [t for t in found if t["kind"] == "xtick"]
        assert ticks and not any(t["angle"] for t in ticks), ticks[:5]
    shot(projector, "present-" + re.sub(r"\W+", "-", view, flags=re.ASCII).strip("-"), PROJECTOR)


def test_step_control_answers_keys_and_clicker(projector, browser, server):
    open_view(projector, "?presenter=1")
    model = projector.locator("h3").filter(has_text="The model you are using")
    start = projector.locator("h3").filter(has_text="Where to start")
    assert model.count() == 0
    control = projector.locator(".st-key-bl_steps")
    box = control.bounding_box()  # fixed at the top right, inside the screen, over no text
    assert box["x"] + box["width"] <= PROJECTOR["width"] and box["y"] >= 0
    assert box["x"] > PROJECTOR["width"] / 2
    assert box["y"] + box["height"] <= projector.locator("h1").first.bounding_box()["y"]
    assert "1 / 3" in control.inner_text()
    projector.keyboard.press("PageDown")  # what a clicker sends
    model.first.wait_for(timeout=RUN_TIMEOUT)
    wait_idle(projector)
    sync_api.expect(projector).to_have_url(re.compile(r"[?&]step=1(&|$)"), timeout=RUN_TIMEOUT)
    projector.keyboard.press("ArrowRight")
    start.first.wait_for(timeout=RUN_TIMEOUT)
    wait_idle(projector)
    sync_api.expect(projector).to_have_url(re.compile(r"[?&]step=2(&|$)"), timeout=RUN_TIMEOUT)
    assert "3 / 3" in control.inner_text()
    shot(projector, "present-home-steps", PROJECTOR)
    projector.keyboard.press("ArrowLeft")
    sync_api.expect(start).to_have_count(0, timeout=RUN_TIMEOUT)
    wait_idle(projector)
    projector.keyboard.press("PageUp")
    sync_api.expect(model).to_have_count(0, timeout=RUN_TIMEOUT)
    no_errors(projector)

    other = browser.new_context(viewport=PROJECTOR)  # a shared link: the same step
    try:
        pg = other.new_page()
        pg.base = server
        open_view(pg, "?presenter=1&step=1")
        assert pg.locator("h3").filter(has_text="The model you are using").count() == 1
        assert pg.locator("h3").filter(has_text="Where to start").count() == 0
    finally:
        other.close()


def test_typing_an_arrow_in_a_field_does_not_step(projector):
    open_view(projector, "pretraining?presenter=1&step=3")
    field = projector.locator('[data-testid="stMain"] [data-testid="stTextInput"] input').first
    field.click()
    field.press("ArrowLeft")
    field.press("ArrowLeft")
    projector.wait_for_timeout(800)
    wait_idle(projector)
    assert re.search(r"[?&]step=3(&|$)", projector.url)
    assert "4 / 4" in projector.locator(".st-key-bl_steps").inner_text()


# ----------------------------------------------------------------------------- the phone

@pytest.mark.parametrize("path", list(PAGES))
def test_phone_gets_the_whole_width(phone, path):
    open_view(phone, path)
    no_errors(phone)
    draw_every_chart(phone, expected=False)
    sidebar = phone.locator('[data-testid="stSidebar"]').bounding_box()
    assert sidebar is None or sidebar["x"] + sidebar["width"] <= 1, sidebar  # collapsed
    sizes = phone.evaluate("""() => ({doc: document.documentElement.scrollWidth,
        main: document.querySelector('[data-testid="stMain"]').scrollWidth,
        width: innerWidth})""")
    assert sizes["doc"] <= sizes["width"] and sizes["main"] <= sizes["width"], sizes
    found = phone.evaluate(CHART_TEXT_JS)
    assert not collisions(found), collisions(found)[:6]
    assert not outside(found), outside(found)[:6]
    shot(phone, f"phone-{path or 'home'}", PHONE)


# The architecture's boxes (HTML, not a chart): where each is, whether its text runs out of it, and
# the size its smallest text is drawn at.
ARCH_BOXES_JS = """() => Array.from(document.querySelectorAll(
    '[data-testid="stMain"] .bl-arch-box, [data-testid="stMain"] .bl-arch-layer')).map(e => {
  const r = e.getBoundingClientRect();
  const sizes = Array.from(e.querySelectorAll('b, small')).map(
    t => parseFloat(getComputedStyle(t).fontSize));
  return {text: e.innerText.slice(0, 30), left: r.left, right: r.right, top: r.top,
          over: e.scrollWidth > e.clientWidth + 1, size: Math.min(...sizes),
          color: getComputedStyle(e).color};
})"""


def test_presenter_architecture_is_large_and_dark(projector):
    open_view(projector, "?presenter=1&step=9")
    no_errors(projector)
    boxes = projector.evaluate(ARCH_BOXES_JS)
    assert len(boxes) == 8  # 3 heads, the layer with its 2 sub-layers, embeddings, input
    assert min(b["size"] for b in boxes) >= 18, boxes
    assert all(contrast_on_white(b["color"]) >= 4.5 for b in boxes), boxes
    assert not [b for b in boxes if b["over"] or b["right"] > PROJECTOR["width"]], boxes
    shot(projector, "present-home", PROJECTOR)


def test_phone_architecture_fits(phone):
    open_view(phone, "")
    boxes = phone.evaluate(ARCH_BOXES_JS)
    assert len(boxes) == 8
    out = [b for b in boxes if b["over"] or b["left"] < 0 or b["right"] > PHONE["width"]]
    assert not out, out
    heads = boxes[:3]  # side by side, each name wrapped inside its box
    assert len({round(b["top"]) for b in heads}) == 1
    assert heads[0]["right"] <= heads[1]["left"] and heads[1]["right"] <= heads[2]["left"]


def test_laptop_keeps_the_sidebar_open(page):
    page.set_viewport_size(LAPTOP)
    open_view(page, "")
    sidebar = page.locator('[data-testid="stSidebar"]')
    sidebar.locator("textarea").first.wait_for(timeout=RUN_TIMEOUT)
    assert sidebar.bounding_box()["width"] > 200 and sidebar.bounding_box()["x"] >= 0


def test_fine_tuning_results_projected_and_on_a_phone(projector):
    """A real (tiny) run, then its charts: large on the projector, and still apart when the same
    session is squeezed to a phone's width (the probe heatmaps' token labels are thinned there).
    The run reads the fewest training examples the page offers (the slider at its start, set
    before presenter mode hides the settings): its charts are what is tested, not its accuracy."""
    open_view(projector, "fine_tuning?step=9")
    size = projector.locator('.st-key-ft_train_size_sentiment-en input[type="range"]')
    size.press("Home")
    sync_api.expect(size).to_have_attribute("aria-valuetext", "100")
    wait_idle(projector)
    projector.get_by_role("button", name="Start fine-tuning").click()
    projector.locator('[data-testid="stAlertContentSuccess"]').filter(
        has_text="Trained").first.wait_for(timeout=300_000)
    wait_idle(projector)
    projector.locator('[data-testid="stSidebar"]').get_by_text("Presenter mode").click()
    wait_idle(projector)
    sync_api.expect(projector).to_have_url(re.compile(r"[?&]presenter=1"), timeout=RUN_TIMEOUT)
    next_step = projector.locator(".st-key-bl_steps_next button").first
    while next_step.is_enabled():  # the results, one part a step, all shown at the last
        next_step.click()
        wait_idle(projector)
    no_errors(projector)
    found = chart_texts(projector)
    assert len({t["chart"] for t in found}) >= 7  # curves, 2 × confusion, points, attention; bars
    assert min(t["size"] for t in found) >= 18
    assert not collisions(found), collisions(found)[:6]
    assert not outside(found), outside(found)[:6]
    shot(projector, "present-fine_tuning-results", PROJECTOR)
    projector.set_viewport_size(PHONE)
    projector.wait_for_timeout(1500)
    found = chart_texts(projector)
    probe = [t for t in found if t["kind"] == "xtick" and t["angle"] == 90]
    assert probe, "the probe heatmaps' token labels turn on a phone"
    assert not collisions(found), collisions(found)[:6]
    sizes = projector.evaluate("""() => [document.documentElement.scrollWidth, innerWidth]""")
    assert sizes[0] <= sizes[1], sizes
    shot(projector, "phone-fine_tuning-results-presenter", PHONE)


def test_phone_keeps_every_label_that_fits(phone):
    """A few columns keep all their labels on a phone; many keep every 2nd, 4th, … (the first
    always), never two that collide."""
    def column_labels(pair: str) -> tuple[list[str], list[dict]]:
        open_view(phone, f"next_sentence?text=the+cat+sat+.&pair={pair}")
        found = chart_texts(phone)
        heat = max(t["chart"] for t in found)  # the A → B heatmap, after the gauge
        shown = [t["text"] for t in found if t["chart"] == heat and t["kind"] == "xtick"]
        return shown, found

    shown, found = column_labels("it+rained+.")
    assert shown == ["it", "rained", "."]
    long = "+".join("the dog barked on the mat .".split() * 5)  # 35 tokens
    shown, found = column_labels(long)
    assert 2 <= len(shown) < 35 and shown[0] == "the"
    assert not collisions(found), collisions(found)[:6]

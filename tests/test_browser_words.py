"""The word pages (tokenization, embeddings, masked words, next sentence) in a real browser, as a
class sees them: a 512-token text opens with a window of its tokens, a 390-px phone shows no
label over another, and right-to-left words read from the right with "##" on the joining side.

This module's server runs a tiny checkpoint with BERT's 512 positions (the shared one has 64), and
a vocabulary with a few Arabic and Hebrew pieces, so that long and right-to-left texts become real
tokens. Screenshots go to $BERTLAB_SCREENSHOTS (default /tmp/bertlab-screenshots).
"""

from __future__ import annotations

from urllib.parse import quote

import pytest

from browser_support import (RUN_TIMEOUT, choose, no_errors, open_view, screenshot, sync_api,
                             wait_idle)

WINDOW = "too many to read at once, so this view shows a window"
RTL_VOCAB = ["م", "##ر", "##حب", "##ا", "ب", "##ال", "##عالم", "ש", "##לום"]
LONG = {"en": "the dog barked on the street , the cat sat on the mat . " * 45,  # 3,015 characters
        "zh": "中国人大学" * 120}  # 600 characters, one token each
WORD_PAGES = ("tokenization", "embeddings", "masked_lm", "next_sentence")


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """The app with a tiny checkpoint that reads 512 tokens and the right-to-left pieces (this
    module only)."""
    from app_support import write_app_checkpoint
    from conftest import streamlit_server

    model = write_app_checkpoint(tmp_path_factory.mktemp("browser-bert-512"), positions=512,
                                 extra_vocab=RTL_VOCAB)
    with streamlit_server(model, tmp_path_factory.mktemp("streamlit-log")) as base:
        yield base


def url(page: str, **query) -> str:
    return page + "?" + "&".join(f"{k}={quote(str(v))}" for k, v in query.items())


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_a_512_token_text_opens_every_word_page_on_a_window(page, lang):
    text = LONG[lang]
    for name in WORD_PAGES:
        extra = {"masks": "5,300"} if name == "masked_lm" else (
            {"pair": text} if name == "next_sentence" else {})
        open_view(page, url(name, lang=lang, text=text, **extra))
        main = page.locator('[data-testid="stMain"]')
        notice = "too many to read at once" if lang == "en" else "一次读不过来"
        sync_api.expect(main).to_contain_text(notice, timeout=RUN_TIMEOUT)
        sync_api.expect(main).to_contain_text("512" if lang == "en" else "512 个")
        no_errors(page)
        if lang == "en":
            screenshot(page, f"words-512-{name}")


def test_phone_layout_has_no_overlapping_labels(browser, server):
    context = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True,
                                  has_touch=True, locale="en-US")
    pg = context.new_page()
    pg.base = server
    try:
        views = {"tokenization": url("tokenization", text="the dog barked unaffable ."),
                 "embeddings": url("embeddings"),
                 "masked_lm": url("masked_lm", text="the dog sat on the mat .", masks="2,6"),
                 "masked_lm-directions": url("masked_lm", text="the dog sat on the mat .",
                                             masks="2,6", section="directions"),
                 "masked_lm-directions-attention": url("masked_lm", text="the dog sat on the mat .",
                                                       masks="2,6", section="directions"),
                 "next_sentence": url("next_sentence", text=LONG["en"], pair=LONG["en"])}
        for name, path in views.items():
            open_view(pg, path)
            if name.endswith("-attention"):  # the part's other view: one head's two heatmaps
                choose(pg, "one head's attention")
                pg.locator(".main-svg g.xtick").first.wait_for(timeout=RUN_TIMEOUT)
                wait_idle(pg)
            no_errors(pg)
            close = pg.locator('[data-testid="stSidebarCollapseButton"] button')
            if close.count() and close.first.is_visible():  # the page, as a phone reader sees it
                close.first.click()
                pg.wait_for_timeout(500)
            width = pg.evaluate("() => document.querySelector('[data-testid=\"stMain\"]')"
                                ".scrollWidth")
            assert width <= 390, f"{name}: the page is {width} px wide"
            # Tick labels of every chart, the cells of the layer-by-layer table and the lists of
            # guesses: no box over another, no text wider than its cell or its list.
            overlaps = pg.evaluate(r"""() => {
                const out = [];
                for (const chart of document.querySelectorAll('.main-svg')) {
                  for (const axis of ['xtick', 'ytick']) {
                    const labels = [...chart.querySelectorAll(`g.${axis} text`)]
                      .filter(t => t.getBoundingClientRect().width > 0);
                    for (let i = 1; i < labels.length; i++) {
                      const a = labels[i - 1].getBoundingClientRect();
                      const b = labels[i].getBoundingClientRect();
                      const turn = /rotate\((-?[\d.]+)/.exec(
                        labels[i].getAttribute('transform') || '');
                      const angle = turn ? Math.abs(+turn[1]) * Math.PI / 180 : 0;
                      let apart;
                      if (axis === 'xtick' && angle > 0) {
                        // slanted labels are parallel lines through their anchors: apart when
                        // the lines are at least a label's height apart
                        const anchor = t => new DOMPoint(+t.getAttribute('x'),
                          +t.getAttribute('y')).matrixTransform(t.getScreenCTM());
                        const dx = anchor(labels[i]).x - anchor(labels[i - 1]).x;
                        const height = labels[i].getBBox().height;
                        apart = Math.abs(dx) * Math.sin(angle) >= 0.8 * height;
                      } else {
                        apart = axis === 'xtick' ? a.right <= b.left + 1 : a.bottom <= b.top + 1;
                      }
                      if (!apart) out.push(`${axis} ${i}: ${labels[i].textContent}`);
                    }
                  }
                }
                for (const td of document.querySelectorAll('.bl-word-table td')) {
                  if (td.scrollWidth > td.clientWidth + 1) out.push('cell ' + td.innerText);
                }
                for (const bars of document.querySelectorAll('.bl-bars')) {
                  if (bars.scrollWidth > bars.clientWidth + 1) out.push('bars ' + bars.innerText);
                }
                return out;
            }""")
            assert not overlaps, f"{name}: {overlaps[:10]}"
            screenshot_phone(pg, f"words-phone-{name}")
    finally:
        context.close()


def screenshot_phone(pg, name: str) -> None:
    """A full-length screenshot at the phone's width (browser_support's is 1366 px wide)."""
    from browser_support import SHOTS

    SHOTS.mkdir(parents=True, exist_ok=True)
    height = pg.evaluate("() => document.querySelector('[data-testid=\"stMain\"]').scrollHeight")
    pg.set_viewport_size({"width": 390, "height": int(min(max(844, height + 40), 8000))})
    pg.wait_for_timeout(400)
    pg.screenshot(path=str(SHOTS / f"{name}.png"))
    pg.set_viewport_size({"width": 390, "height": 844})


CHIP_BOXES = """(root) => {
    const boxes = {};
    for (const el of root.querySelectorAll('div[style*="white-space:pre"]')) {
      const text = el.textContent, node = el.firstChild;
      const r = el.getBoundingClientRect();
      let marks = null;  // where a piece's "##" is, against its letters
      if (text.startsWith('##') && text.length > 2) {
        const range = document.createRange();
        range.setStart(node, 0); range.setEnd(node, 2);
        const hashes = range.getBoundingClientRect();
        range.setStart(node, 2); range.setEnd(node, text.length);
        const letters = range.getBoundingClientRect();
        marks = hashes.left >= letters.right - 1 ? 'right'
              : hashes.right <= letters.left + 1 ? 'left' : 'mixed';
      }
      boxes[text] = {x: r.left + r.width / 2, marks};
    }
    return boxes;
}"""


def test_right_to_left_words_read_from_the_right(page):
    # A text that opens in Arabic reads from the right: [CLS] first, on the right; each piece's
    # "##" on its right, towards the piece it joins; "the" and "dog" are English inside it.
    open_view(page, url("tokenization", text="مرحبا the שלום dog"))
    no_errors(page)
    x = page.locator(".bl-chips").first.evaluate(CHIP_BOXES)
    screenshot(page, "words-rtl-tokenization")
    order = ["[CLS]", "م", "##ر", "##حب", "##ا", "the", "ש", "##לום", "dog", "[SEP]"]
    assert [x[t]["x"] for t in order] == sorted((x[t]["x"] for t in order), reverse=True)
    assert all(x[p]["marks"] == "right" for p in ("##ر", "##حب", "##ا", "##לום"))
    # The trace of the first word: the candidates in the order tried, the first on the right.
    trace = page.locator(".bl-chips").last.evaluate("""(root) =>
        [...root.querySelectorAll('div[style*="white-space:pre"]')]
        .map(el => [el.textContent, el.getBoundingClientRect().left])""")
    assert trace[0][0] == "مرحبا"
    assert [left for _, left in trace[:4]] == sorted((left for _, left in trace[:4]),
                                                      reverse=True)

    # English with a Hebrew word inside: left to right, the Hebrew word's pieces from the right.
    open_view(page, url("tokenization", text="the שלום dog"))
    x = page.locator(".bl-chips").first.evaluate(CHIP_BOXES)
    assert x["[CLS]"]["x"] < x["the"]["x"] < x["##לום"]["x"] < x["ש"]["x"] < x["dog"]["x"]
    assert x["##לום"]["marks"] == "right"
    # Left-to-right text as before: "##" on the left.
    open_view(page, url("tokenization", text="the dog barked unaffable"))
    x = page.locator(".bl-chips").first.evaluate(CHIP_BOXES)
    assert x["un"]["x"] < x["##aff"]["x"] < x["##able"]["x"] and x["##aff"]["marks"] == "left"


def test_presenter_mode_shows_a_pairs_whole_token_table(page):
    # Presenter type is larger, and so are a table's rows: the table sizes to its content, with
    # no scroll bar of its own (at most one window of the tokens: 32 rows).
    open_view(page, url("tokenization", presenter=1, step=1, pair="it rained on the street .",
                        text="the dog barked on the mat , the cat sat ."))
    no_errors(page)
    table = page.locator('[data-testid="stDataFrame"]').first
    table.wait_for(timeout=RUN_TIMEOUT)
    page.wait_for_timeout(500)
    hidden = table.evaluate("""(el) => [...el.querySelectorAll('.dvn-scroller')]
        .map(s => s.scrollHeight - s.clientHeight)""")
    assert hidden and max(hidden) <= 1, hidden
    screenshot(page, "words-presenter-tokenization")

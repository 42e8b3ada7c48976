"""The lesson in a real browser (chromium) on the offline default models, as a class would use it:
the whole lesson walked in English and in Chinese, every question answered (a choice clicked, a
word typed) and revealed, Next to the following chapter; a learner who comes back without a
chapter in the link resumes where they left off (the cookie); presenter mode at 1440 × 900 and a
390-px phone, with no sideways scrolling. Screenshots of every chapter go to $BERTLAB_SCREENSHOTS.
"""

from __future__ import annotations

import re

import pytest

from browser_support import (RUN_TIMEOUT, SHOTS, main_text, no_errors, open_view, screenshot,
                             sync_api, wait_idle)
from conftest import streamlit_server

CHAPTERS = 6
REVEAL = {"en": "Reveal", "zh": "揭晓"}
NEXT = {"en": "Next chapter", "zh": "下一章"}
VERDICTS = {"en": ("Right: the model agrees", "Not this time"), "zh": ("猜对了", "这次没猜中")}


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """``streamlit run app.py`` on the offline defaults (no $BERTLAB_MODEL), like a classroom."""
    with streamlit_server(None, tmp_path_factory.mktemp("lesson-server")) as base:
        yield base


def main(pg):
    return pg.locator('[data-testid="stMain"]')


def answer_everything(pg, lang: str) -> int:
    """Answers each question of the chapter on screen, top to bottom: the first choice of a
    question with choices, the word "the" / "的" for a typed one; returns how many."""
    n = 0
    while (form := main(pg).locator('[data-testid="stForm"]')).count():
        form = form.first
        # (a form's field may be drawn a moment after the form itself: wait for one or the other)
        form.locator('[data-testid="stRadioOption"], input[type="text"]').first.wait_for(
            timeout=RUN_TIMEOUT)
        if form.locator('[data-testid="stRadioOption"]').count():
            form.locator('[data-testid="stRadioOption"]').first.click()
        else:
            form.locator('input[type="text"]').fill("the" if lang == "en" else "的")
        submit = form.locator('[data-testid="stFormSubmitButton"] button')
        assert REVEAL[lang] in submit.inner_text()
        submit.click()
        pg.wait_for_timeout(300)
        wait_idle(pg)
        n += 1
        assert n < 5, "a question did not go away when answered"
    return n


def verdicts(pg, lang: str) -> int:
    text = main_text(pg)
    return sum(text.count(v) for v in VERDICTS[lang])


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_the_whole_lesson_answering_every_question(page, lang):
    open_view(page, f"lesson?lang={lang}")
    asked = 0
    for chapter in range(1, CHAPTERS + 1):
        sync_api.expect(main(page).locator("h2").first).to_contain_text(f"{chapter} · ",
                                                                        timeout=RUN_TIMEOUT)
        n = answer_everything(page, lang)
        asked += n
        no_errors(page)
        assert n >= 1 and verdicts(page, lang) == n, main_text(page)[:1500]
        yours = main(page).locator('[data-testid="stMetricValue"]').all_inner_texts()
        assert "—" not in yours, yours  # every answer was given, none left blank
        assert re.search(rf"[?&]chapter={chapter}(&|$)", page.url) or chapter == 1, page.url
        screenshot(page, f"lesson-{lang}-chapter-{chapter}")
        if chapter < CHAPTERS:
            main(page).get_by_role("button", name=NEXT[lang]).click()
            page.wait_for_timeout(300)
            wait_idle(page)
    assert asked == 8
    # a returning learner: the same browser, a link without a chapter, resumes at the last one
    open_view(page, f"lesson?lang={lang}")
    sync_api.expect(main(page).locator("h2").first).to_contain_text(f"{CHAPTERS} · ",
                                                                    timeout=RUN_TIMEOUT)


def test_presenter_mode_and_a_phone(browser, server):
    for name, kw, query in (
            ("presenter", dict(viewport={"width": 1440, "height": 900}), "presenter=1&"),
            ("phone", dict(viewport={"width": 390, "height": 844}, is_mobile=True,
                           has_touch=True, device_scale_factor=2), "")):
        context = browser.new_context(locale="en-US", **kw)
        pg = context.new_page()
        pg.base = server
        for chapter in (1, 2, 6):
            open_view(pg, f"lesson?{query}chapter={chapter}")
            answer_everything(pg, "en")
            no_errors(pg)
            width = pg.evaluate("() => document.documentElement.scrollWidth")
            assert width <= kw["viewport"]["width"], f"{name}: {width} px wide"
            SHOTS.mkdir(parents=True, exist_ok=True)
            pg.screenshot(path=str(SHOTS / f"lesson-{name}-chapter-{chapter}.png"),
                          full_page=False)
            # the whole chapter, scrolled inside Streamlit's main block
            height = pg.evaluate("""() => document.querySelector(
                '[data-testid="stMain"]').scrollHeight""")
            pg.set_viewport_size({"width": kw["viewport"]["width"],
                                  "height": int(min(max(844, height + 40), 8000))})
            pg.wait_for_timeout(400)
            pg.screenshot(path=str(SHOTS / f"lesson-{name}-chapter-{chapter}-all.png"))
            pg.set_viewport_size(kw["viewport"])
        context.close()

"""State a teacher can trust, in a real browser, on the offline default models (offline-en and
offline-zh, which the language switch used to swap under a typed sentence).

* an English sentence typed on the masked-words page, a word masked, then 中文: the same sentence,
  read by the same model (offline-en, named in the URL), the mask still on its word, no "##"
  continuation pieces anywhere (offline-zh read it as "m ##y b ##r ##o…");
* a "try these" example clicked: the sentence and the mask it names.
"""

from __future__ import annotations

import re

import pytest

from browser_support import (RUN_TIMEOUT, choose, main_text, no_errors, open_view, screenshot,
                             sync_api, wait_idle)
from conftest import streamlit_server

TYPED = "My brother plays the guitar every evening."


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """``streamlit run app.py`` on the offline defaults (no $BERTLAB_MODEL), like a classroom."""
    with streamlit_server(None, tmp_path_factory.mktemp("state-server")) as base:
        yield base


def sentence_box(pg):
    return pg.locator('[data-testid="stSidebar"] textarea').first


def pills(pg) -> list[str]:
    """The labels of the masked-words page's pills (one per token a mask can go on)."""
    return [t.strip() for t in pg.locator(
        '[data-testid="stMain"] [data-testid="stButtonGroup"] button').all_inner_texts()]


def type_sentence(pg, text: str) -> None:
    box = sentence_box(pg)
    box.fill(text)
    box.press("Control+Enter")  # a text area commits on Ctrl+Enter (or when it loses focus)
    pg.wait_for_timeout(300)
    wait_idle(pg)


def test_a_typed_sentence_survives_the_language_switch(page):
    open_view(page, "masked_lm")
    type_sentence(page, TYPED)
    assert "brother" in pills(page)
    choose(page, "brother")
    sync_api.expect(page).to_have_url(re.compile(r"[?&]masks=2(&|$)"), timeout=RUN_TIMEOUT)
    wait_idle(page)

    choose(page, "中文")
    sync_api.expect(page.locator("h1").first).to_have_text("掩码预测", timeout=RUN_TIMEOUT)
    wait_idle(page)
    no_errors(page)
    assert sentence_box(page).input_value() == TYPED  # the user's sentence ...
    assert re.search(r"[?&]model=offline-en(&|$)", page.url), page.url  # ... the same model
    assert re.search(r"[?&]masks=2(&|$)", page.url), page.url  # ... the mask on its word
    labels = pills(page)
    assert "brother" in labels and not [lab for lab in labels if lab.startswith("##")], labels
    screenshot(page, "state-typed-sentence-zh")


def test_an_example_sets_its_sentence_and_its_mask(page):
    open_view(page, "masked_lm")
    page.locator('[data-testid="stSidebar"] button').filter(
        has_text="I brushed my teeth and went to bed.").click()
    sync_api.expect(page).to_have_url(re.compile(r"[?&]masks=8(&|$)"), timeout=RUN_TIMEOUT)
    wait_idle(page)
    no_errors(page)
    assert sentence_box(page).input_value() == "I brushed my teeth and went to bed."
    assert "bed" in main_text(page)
    screenshot(page, "state-example-mask")

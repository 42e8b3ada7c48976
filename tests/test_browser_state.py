"""State a teacher can trust, in a real browser, on the offline default models (offline-en and
offline-zh, which the language switch used to swap under a typed sentence).

* an English sentence typed on the masked-words page, a word masked, then 中文: the same sentence,
  read by the same model (offline-en, named in the URL), the mask still on its word, no "##"
  continuation pieces anywhere (offline-zh read it as "m ##y b ##r ##o…");
* a "try these" example clicked: the sentence and the mask it names.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
import urllib.request

import pytest

from browser_support import (RUN_TIMEOUT, choose, main_text, no_errors, open_view, screenshot,
                             sync_api, wait_idle)
from conftest import _free_port

TYPED = "My brother plays the guitar every evening."


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """``streamlit run app.py`` on the offline defaults (no $BERTLAB_MODEL), like a classroom."""
    from browser_support import REPO

    port = _free_port()
    env = {k: v for k, v in os.environ.items() if k != "BERTLAB_MODEL"}
    env.update(HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1", TOKENIZERS_PARALLELISM="false")
    log = tmp_path_factory.mktemp("state-server") / "server.log"
    cmd = [sys.executable, "-m", "streamlit", "run", "app.py", "--server.port", str(port),
           "--server.address", "127.0.0.1", "--server.headless", "true",
           "--browser.gatherUsageStats", "false", "--server.fileWatcherType", "none"]
    with open(log, "w") as out:
        proc = subprocess.Popen(cmd, cwd=REPO, env=env, stdout=out, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 90
    while True:
        try:
            with urllib.request.urlopen(f"{base}/_stcore/health", timeout=2) as r:
                if r.status == 200:
                    break
        except OSError:
            pass
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            pytest.fail(f"streamlit did not become healthy:\n{log.read_text()[-3000:]}")
        time.sleep(0.3)
    yield base
    proc.terminate()
    try:
        proc.wait(timeout=15)
    except subprocess.TimeoutExpired:
        proc.kill()


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

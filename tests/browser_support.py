"""What the real-browser tests share besides their fixtures (``server``, ``browser``, ``page`` in
conftest.py: a ``streamlit run`` server per test module with a tiny local checkpoint as
$BERTLAB_MODEL, Debian's chromium under playwright, a fresh session per test): helpers that wait
for Streamlit's script run to finish (``data-test-script-state``) before looking, and take
screenshots. The module-level skip below, when chromium or playwright is missing, skips every
test module that imports this one.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from urllib.parse import urlsplit

import pytest

CHROMIUM = "/usr/bin/chromium"
if not os.access(CHROMIUM, os.X_OK):
    pytest.skip(f"{CHROMIUM} is missing: the browser tests need Debian's chromium "
                "(`apt-get install -y chromium`; `make test` does it when run as root)",
                allow_module_level=True)
sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed")

REPO = Path(__file__).resolve().parent.parent
SHOTS = Path(os.environ.get("BERTLAB_SCREENSHOTS", "/tmp/bertlab-screenshots"))
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
PAGES = {"": ("BERT Lab", "BERT 实验室"), "tokenization": ("Tokenization", "分词"),
         "embeddings": ("Embeddings", "嵌入"), "attention": ("Attention", "注意力"),
         "layer": ("Inside a layer", "一层之内"), "masked_lm": ("Masked words", "掩码预测"),
         "next_sentence": ("Next sentence", "下一句预测"),
         "fine_tuning": ("Fine-tuning", "微调"), "pretraining": ("Pretraining, live", "现场预训练"),
         "lesson": ("The lesson: BERT, chapter by chapter", "课程：一章一章读懂 BERT")}
HTML_TEXT = "<script>window.__pwned=1</script><b>x</b>"
LOCAL_HOSTS = {"127.0.0.1", "localhost"}
RUN_TIMEOUT = 90_000  # ms for a page to finish its script run (a loaded 2-core machine)


# ----------------------------------------------------------------------------- helpers

def is_local(url: str) -> bool:
    parts = urlsplit(url)
    if parts.scheme in ("data", "blob", "about", "javascript"):
        return True
    return parts.hostname in LOCAL_HOSTS


def wait_idle(pg) -> None:
    """Waits until the script run is over and the page has drawn."""
    pg.wait_for_selector("h1", timeout=RUN_TIMEOUT)
    pg.wait_for_selector('[data-testid="stApp"][data-test-script-state="notRunning"]',
                         timeout=RUN_TIMEOUT)
    pg.wait_for_timeout(300)


def open_view(pg, path: str = "") -> None:
    pg.goto(f"{pg.base}/{path}")
    wait_idle(pg)


def main_text(pg) -> str:
    return pg.locator('[data-testid="stMain"]').inner_text()


def no_errors(pg) -> None:
    assert pg.locator('[data-testid="stException"]').count() == 0, main_text(pg)[:2000]
    errors = pg.locator('[data-testid="stAlertContentError"]')
    assert errors.count() == 0, errors.all_inner_texts()


def screenshot(pg, name: str) -> Path:
    """The whole page (Streamlit scrolls inside its main block, so the window is made as tall)."""
    SHOTS.mkdir(parents=True, exist_ok=True)
    height = pg.evaluate("""() => Math.max(
        document.querySelector('[data-testid="stMain"]')?.scrollHeight || 0,
        document.querySelector('[data-testid="stSidebarContent"]')?.scrollHeight || 0)""")
    pg.set_viewport_size({"width": 1366, "height": int(min(max(900, height + 40), 8000))})
    pg.wait_for_timeout(400)
    path = SHOTS / f"{name}.png"
    pg.screenshot(path=str(path))
    pg.set_viewport_size({"width": 1366, "height": 900})
    return path


def choose(pg, label: str) -> None:
    """Clicks an option of a segmented control or a pill (Streamlit's button groups)."""
    pg.locator('[data-testid="stButtonGroup"] button').filter(
        has_text=re.compile(rf"^\s*{re.escape(label)}\s*$")).first.click()


def heading(pg, text: str):
    return pg.locator("h1, h2, h3").filter(has_text=text).first


def pwned(pg) -> list[str]:
    """Frames (the page and its iframes) where window.__pwned was set."""
    hit = []
    for frame in pg.frames:
        try:
            if frame.evaluate("() => typeof window.__pwned") != "undefined":
                hit.append(frame.url)
        except sync_api.Error:  # a frame that went away while we looked
            pass
    return hit

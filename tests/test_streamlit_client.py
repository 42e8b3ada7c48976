"""The load benchmark's protocol client (``benchmarks/streamlit_client.py``) against the real app.

A ``streamlit run app.py`` server with the tiny checkpoint (started as ``bench_long_input`` starts
its servers), driven only through the client: what a browser would get back must come back to it
(the page's tokens follow an edited sentence, a clicked word lands in the URL, a page switch keeps
the view, a fine-tuning run finishes on screen only because the client sends the fragment's auto
reruns itself). Where chromium is installed, one view is opened by both and compared.
"""

from __future__ import annotations

import asyncio
import os
import tomllib
import urllib.parse
from pathlib import Path

import pytest

from app_support import write_app_checkpoint
from benchmarks.bench_long_input import _server
from benchmarks.streamlit_client import StreamlitClient

ROOT = Path(__file__).resolve().parent.parent
EN = tomllib.loads((ROOT / "locales" / "en.toml").read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def app_server(tmp_path_factory):
    model = write_app_checkpoint(tmp_path_factory.mktemp("client-bert"))
    with _server(str(model)) as base:
        yield base


def drive(coro):
    return asyncio.run(asyncio.wait_for(coro, 300))


def pill_texts(client: StreamlitClient) -> list[str]:
    return [o.content for o in client.find(key="w_masks").proto.options]


def test_edit_mask_and_switch_page_as_a_browser_does(app_server):
    async def go():
        c = StreamlitClient(app_server, name="t1")
        try:
            first = await c.open("masked_lm", {"lang": "en", "text": "the dog barked ."})
            assert first.status == "ok" and first.seconds > 0, first
            assert c.path == "masked_lm" and EN["mlm"]["title"] in c.texts()
            before = pill_texts(c)
            assert "dog" in before

            # Typing a new sentence (a text_area's value on leaving the field) reruns the app:
            # the tokens offered for masking are the new sentence's, and the URL carries it.
            edited = await c.set(EN["side"]["sentence"], "the cat sat on the mat .")
            assert edited.status == "ok", edited
            after = pill_texts(c)
            assert "cat" in after and "dog" not in after
            assert urllib.parse.parse_qs(c.query)["text"] == ["the cat sat on the mat ."]

            # Clicking a word (a pill) masks it: its position goes to the URL.
            pos = after.index("mat")
            masked = await c.set(c.find(key="w_masks"), [after[pos]])
            assert masked.status == "ok", masked
            assert urllib.parse.parse_qs(c.query)["masks"] == [str(pos + 1)]  # ([CLS] is 0)

            # A navigation link: another page runs, the view (text, masks) stays.
            switched = await c.switch_page("attention")
            assert switched.status == "ok", switched
            assert c.path == "attention" and EN["attn"]["title"] in c.texts()
            q = urllib.parse.parse_qs(c.query)
            assert q["text"] == ["the cat sat on the mat ."] and q["masks"] == [str(pos + 1)]
            assert not c.has(key="w_masks")  # the masked-word page's widgets are gone
            assert not c.errors and all(r.status == "ok" for r in c.runs)
        finally:
            await c.close()

    drive(go())


def test_fragment_auto_reruns_are_sent_by_the_client(app_server):
    """The fine-tuning page polls its run from an st.fragment(run_every=1): the results appear
    only if the client reruns the fragment itself, as the browser's timer does, until the
    fragment sees the run over and reruns the whole page."""
    async def go():
        c = StreamlitClient(app_server, name="t2")
        try:
            await c.open("fine_tuning", {"lang": "en"})
            await c.set(key="ft_epochs", value=1)
            await c.set(key="ft_train_size_sentiment-en", value=100)  # the fewest: a short run
            start = await c.click(key="ft_start")
            assert start.status == "ok", start
            assert c._timers, "no auto_rerun received for the live panel"
            for _ in range(240):
                if EN["ft"]["results"] in c.texts():
                    break
                await asyncio.sleep(0.5)
            assert EN["ft"]["results"] in c.texts(), c.texts()[-5:]
            assert not c._timers  # the full run that drew the results ended the polling
            assert len(c.full_runs) >= 4 and not c.errors
        finally:
            await c.close()

    drive(go())


def test_same_view_as_chromium(app_server):
    """One URL in chromium and in the client: the same heading and the same words to mask."""
    chromium = "/usr/bin/chromium"
    if not os.access(chromium, os.X_OK):
        pytest.skip(f"{chromium} is missing")
    sync_api = pytest.importorskip("playwright.sync_api")
    from browser_support import CHROMIUM_ARGS, wait_idle

    query = {"lang": "en", "text": "he want ##ed the movie .", "masks": "2"}
    url = f"{app_server}/masked_lm?{urllib.parse.urlencode(query)}"
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
        pg = b.new_page()
        pg.goto(url)
        wait_idle(pg)
        group = pg.locator('[data-testid="stMain"] [data-testid="stButtonGroup"]').first
        sync_api.expect(group.locator("button").first).to_be_visible()  # (drawn after the run)
        seen = [x.strip() for x in group.locator("button").all_inner_texts()]
        h1 = pg.locator("h1").first.inner_text().strip()
        b.close()

    async def go():
        c = StreamlitClient(app_server, name="t3")
        try:
            await c.open("masked_lm", query)
            return pill_texts(c), c.texts()
        finally:
            await c.close()

    pills, texts = drive(go())
    assert [x.replace("\\", "") for x in pills] == seen
    assert h1 in texts

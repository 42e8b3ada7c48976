"""Presenter mode's step control (``ui/presenter.py``) on the pages that use it, with AppTest.

In presenter mode a page shows its first section and a Back / Next control reveals the others one
by one; the step is in the URL and each page keeps its own. Outside presenter mode every section
shows, as before. (The keys and the control's look are checked in a real browser in
``test_browser_presenter.py``.)
"""

from __future__ import annotations

from pathlib import Path

import pytest

from app_support import elements, write_app_checkpoint

AppTest = pytest.importorskip("streamlit.testing.v1").AppTest

APP = str(Path(__file__).resolve().parent.parent / "app.py")
ARCH, START = "The model you are using", "Where to start"
PAIRS = "2 · Sentence pairs for next-sentence prediction"
MASKED = "3 · What the model sees: 15 % of the tokens to guess"
TRAIN = "4 · Train it"
RESULTS, ATTENTION = "Before and after", "**Attention of one head, before and after**"


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory) -> Path:
    return write_app_checkpoint(tmp_path_factory.mktemp("presenter-bert"))


@pytest.fixture(autouse=True)
def _env(model_dir, monkeypatch):
    monkeypatch.setenv("BERTLAB_MODEL", str(model_dir))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")


def run(at: AppTest) -> AppTest:
    at.run(timeout=120)
    assert not at.exception, [e.value for e in at.exception]
    return at


def open_app(page: str = "home", **query) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=120)
    at.query_params.update({k: str(v) for k, v in query.items()})
    if page != "home":
        at.switch_page(f"pages/{page}.py")
    return run(at)


def subheaders(at) -> list[str]:
    return [s.value for s in at.subheader]


def control(at) -> list[str]:
    """The step control's buttons that are there (none outside presenter mode)."""
    return [b.key for b in at.button if b.key in ("bl_steps_back", "bl_steps_next")]


def press(at, which: str) -> AppTest:
    at.button(key=f"bl_steps_{which}").click()
    return run(at)


# ----------------------------------------------------------------------------- tests

def test_outside_presenter_mode_every_section_shows():
    at = open_app("home")
    assert subheaders(at) == [ARCH, START] and not control(at)
    assert at.get("plotly_chart")
    at = open_app("pretraining")
    assert [PAIRS, MASKED, TRAIN] == [s for s in subheaders(at) if s in (PAIRS, MASKED, TRAIN)]
    assert at.dataframe and not at.table  # the pairs: a scrollable data frame, as before


def test_next_and_back_reveal_the_sections_and_keep_the_step_in_the_url():
    at = open_app("home", presenter=1)
    assert at.title[0].value == "BERT Lab" and subheaders(at) == [] and not at.get("plotly_chart")
    assert control(at) == ["bl_steps_back", "bl_steps_next"]
    assert at.button(key="bl_steps_back").disabled and "step" not in at.query_params
    assert any(m.value == "1 / 3 · BERT Lab" for m in at.markdown)
    press(at, "next")
    assert subheaders(at) == [ARCH] and at.get("plotly_chart")
    assert at.query_params["step"] == "1"
    press(at, "next")
    assert subheaders(at) == [ARCH, START] and at.query_params["step"] == "2"
    assert at.button(key="bl_steps_next").disabled
    press(at, "back")
    assert subheaders(at) == [ARCH] and at.query_params["step"] == "1"


def test_a_link_reopens_the_same_step():
    assert subheaders(open_app("home", presenter=1, step=1)) == [ARCH]
    at = open_app("home", presenter=1, step=99)  # past the end: the last step
    assert subheaders(at) == [ARCH, START] and at.query_params["step"] == "2"


def test_each_page_keeps_its_own_step():
    at = open_app("home", presenter=1, step=2)
    run(at.switch_page("pages/pretraining.py"))
    assert PAIRS not in subheaders(at) and "step" not in at.query_params  # a new page: step 0
    press(at, "next")
    assert PAIRS in subheaders(at) and MASKED not in subheaders(at)
    run(at.switch_page("pages/home.py"))
    assert subheaders(at) == [ARCH, START] and at.query_params["step"] == "2"  # where it was
    run(at.switch_page("pages/pretraining.py"))
    assert PAIRS in subheaders(at) and at.query_params["step"] == "1"


def test_presenter_tables_fit_without_an_inner_scroll_bar():
    at = open_app("pretraining", presenter=1, step=1)
    assert PAIRS in subheaders(at) and MASKED not in subheaders(at)
    assert at.table and not at.dataframe  # st.table: every row at the page's type size
    assert len(at.table[0].value) == 6
    # the control names the section without its own number ("2 · …")
    assert any(m.value == "2 / 4 · Sentence pairs for next-sentence prediction"
               for m in at.markdown)


def test_keys_and_clicker():
    at = open_app("home", presenter=1)
    assert at.button(key="bl_steps_next").proto.shortcut.lower() == "pagedown"
    assert at.button(key="bl_steps_back").proto.shortcut.lower() == "pageup"
    scripts = [h.proto.body for h in elements(at, "html") if h.proto.unsafe_allow_javascript]
    assert any("ArrowRight" in body and "bl_steps_" in body for body in scripts)
    press(at, "next")  # the section just revealed is scrolled into view, once
    assert any('scrollIntoView' in h.proto.body and "bl-step-1" in h.proto.body
               for h in elements(at, "html"))
    run(at)
    assert not any('scrollIntoView' in h.proto.body for h in elements(at, "html"))


def test_switching_presenter_mode_off_shows_everything():
    at = open_app("home", presenter=1)
    assert subheaders(at) == []
    at.toggle(key="w_presenter").set_value(False)
    run(at)
    assert subheaders(at) == [ARCH, START] and not control(at)


def test_fine_tuning_reveals_the_results_one_part_at_a_time():
    from test_page_fine_tuning import choose_upload, toy_csv, wait_until_done

    at = choose_upload(open_app("fine_tuning", presenter=1), toy_csv())
    assert not control(at)  # nothing trained: one section, no control
    at.button(key="ft_start").click()
    run(at)
    wait_until_done(at)
    assert control(at) and RESULTS not in subheaders(at)
    assert not at.get("download_button")
    press(at, "next")
    assert RESULTS in subheaders(at)
    assert not any(m.value == ATTENTION for m in at.markdown)
    press(at, "next")
    assert any(m.value == ATTENTION for m in at.markdown)
    press(at, "next")
    assert at.get("download_button") and at.button(key="bl_steps_next").disabled

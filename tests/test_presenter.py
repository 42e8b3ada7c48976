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


def architecture(at) -> bool:
    """Whether the start page's architecture drawing (HTML) is shown."""
    return any("bl-arch" in h.proto.body for h in elements(at.main, "html"))


def press(at, which: str) -> AppTest:
    at.button(key=f"bl_steps_{which}").click()
    return run(at)


# ----------------------------------------------------------------------------- tests

def test_outside_presenter_mode_every_section_shows():
    at = open_app("home")
    assert subheaders(at) == [ARCH, START] and not control(at)
    assert architecture(at)
    at = open_app("pretraining")
    assert [PAIRS, MASKED, TRAIN] == [s for s in subheaders(at) if s in (PAIRS, MASKED, TRAIN)]
    assert at.dataframe and not at.table  # the pairs: a scrollable data frame, as before


def test_next_and_back_reveal_the_sections_and_keep_the_step_in_the_url():
    at = open_app("home", presenter=1)
    assert at.title[0].value == "BERT Lab" and subheaders(at) == [] and not architecture(at)
    assert control(at) == ["bl_steps_back", "bl_steps_next"]
    assert at.button(key="bl_steps_back").disabled and "step" not in at.query_params
    assert any(m.value == "1 / 3 · BERT Lab" for m in at.markdown)
    press(at, "next")
    assert subheaders(at) == [ARCH] and architecture(at)
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

    at = open_app("fine_tuning", presenter=1)
    # nothing trained: two sections, the three heads and then the task and its run
    assert at.get("plotly_chart") and not [w for w in at.segmented_control if w.key == "ft_task"]
    assert at.button(key="bl_steps_back").disabled
    at = choose_upload(press(at, "next"), toy_csv())
    assert at.button(key="bl_steps_next").disabled
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


# Each concept page's sections in presenter mode: its first subheader alone, then one more per
# Next, and the last step shows them all (the subheaders are the sections' titles).
SENTENCE = "the dog barked on the mat ."
CONCEPT_PAGES = {
    "tokenization": ({}, ["The model's input", "WordPiece, step by step"]),
    "embeddings": ({}, [None, "Check: is that really what the model computes?",
                        "How positions relate"]),
    "layer": ({}, ["What layer 0 does to “the” (position 1)",
                   "The feed-forward network: 32 → 64 → 32",
                   "Check: is this what the model computes?"]),
    "masked_lm": ({"masks": 2}, ["What the model reads", "All at once, or one after another?",
                                 "What each layer would guess",
                                 "How BERT was trained: the 15 % rule",
                                 "Both sides, or the left only?", "Which words mattered?"]),
    "next_sentence": ({"pair": "it rained ."}, [None, "The input, by segment",
                                                "How much A's words look at B's"]),
}


@pytest.mark.parametrize("page", list(CONCEPT_PAGES))
def test_concept_pages_reveal_their_sections_one_by_one(page):
    query, sections = CONCEPT_PAGES[page]
    titled = [x for x in sections if x]  # a section without a subheader of its own: None
    at = open_app(page, text=SENTENCE, **query)
    everything = subheaders(at)
    if page == "masked_lm":  # outside presenter mode one part at a time: each in turn
        for part in ("rule", "directions", "attribution"):
            at.segmented_control(key="mlm_part").set_value(part)
            everything += subheaders(run(at))
    assert [x for x in everything if x in titled] == titled and not control(open_app(page))
    at = open_app(page, presenter=1, text=SENTENCE, **query)
    for step in range(len(sections)):
        shown = [x for x in subheaders(at) if x in titled]
        assert shown == [x for x in sections[:step + 1] if x], (page, step, shown)
        assert at.button(key="bl_steps_next").disabled == (step == len(sections) - 1)
        if step < len(sections) - 1:
            press(at, "next")
    assert at.query_params["step"] == str(len(sections) - 1)


def test_tokenization_of_a_pair_has_a_section_for_its_segments():
    at = open_app("tokenization", presenter=1, text=SENTENCE, pair="it rained .", step=1)
    assert "Two sentences: segment ids and attention mask" in subheaders(at)
    assert "WordPiece, step by step" not in subheaders(at)


def test_attention_steps_walk_its_sections_and_keep_them_in_the_url():
    at = open_app("attention", presenter=1, text=SENTENCE)
    assert at.segmented_control(key="attn_section").value == "head"
    assert any(m.value.startswith("1 / 5 · ") for m in at.markdown)
    press(at, "next")
    assert at.segmented_control(key="attn_section").value == "example"
    assert at.query_params["section"] == "example" and at.query_params["step"] == "1"
    at.segmented_control(key="attn_section").set_value("summary")  # a section picked by hand
    run(at)
    assert at.query_params["step"] == "4" and at.button(key="bl_steps_next").disabled
    press(at, "back")
    assert at.segmented_control(key="attn_section").value == "off"
    # a link that names a section but no step opens on that section
    at = open_app("attention", presenter=1, text=SENTENCE, section="bertviz")
    assert at.segmented_control(key="attn_section").value == "bertviz"
    assert any(m.value.startswith("3 / 5 · ") for m in at.markdown)

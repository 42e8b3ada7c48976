"""The masked-words page's last two parts, with Streamlit's AppTest on the tiny checkpoint:
both sides vs the left only (the guesses and one head's attention with a causal mask, and the
page saying BERT has neither a causal mask nor encoder-decoder attention) and which words
mattered (integrated gradients and gradient × input as coloured chips, for a chosen guess).
Default view in English and Chinese, no mask, a long input, a model without a masked-LM head,
presenter mode; the page shows one part at a time."""

from __future__ import annotations

import json
import logging
import re
from pathlib import Path

import numpy as np
import pytest

import bertcore
from app_support import array, all_text, bar_lists, elements, html_after, write_app_checkpoint
from bertcore import attribution, bidirectional
from conftest import write_checkpoint

AppTest = pytest.importorskip("streamlit.testing.v1").AppTest

APP = str(Path(__file__).resolve().parent.parent / "app.py")
TIMEOUT = 120
CAT = "the cat sat on the mat because it was tired ."
DIR = {"en": "Both sides, or the left only?", "zh": "看两侧，还是只看左侧？"}
ATTR = {"en": "Which words mattered?", "zh": "哪些词起了作用？"}
NO_CAUSAL = {"en": "BERT has no causal mask and no encoder-decoder attention.",
             "zh": "BERT 没有因果掩码，也没有编码器-解码器注意力"}
SIDES = {"en": ("Both sides (BERT)", "Left only (causal mask)"),
         "zh": ("看两侧（BERT）", "只看左侧（因果掩码）")}
IG = {"en": "Integrated gradients (32 steps)", "zh": "积分梯度（32 步）"}

for _name in ("streamlit.runtime.scriptrunner_utils.script_run_context",
              "streamlit.runtime.state.session_state_proxy"):
    logging.getLogger(_name).setLevel(logging.ERROR)


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory) -> Path:
    return write_app_checkpoint(tmp_path_factory.mktemp("directions-bert"))


@pytest.fixture(autouse=True)
def _env(model_dir, monkeypatch):
    monkeypatch.setenv("BERTLAB_MODEL", str(model_dir))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")


@pytest.fixture(scope="module")
def bert(model_dir):
    return bertcore.load(model_dir, device="cpu")


def run(at):
    """Runs the app (``at`` may be a widget just changed); fails on an exception or an error."""
    at = at.run(timeout=TIMEOUT)
    if at.exception:
        pytest.fail("\n".join(f"{e.value}\n{''.join(e.stack_trace)}" for e in at.exception))
    assert not at.error, [e.value for e in at.error]
    return at


def open_app(attribution: bool = False, view: str | None = None, **query) -> AppTest:
    """The masked-word page with ``query`` in the URL; ``attribution``: its scores asked for;
    ``view``: "both sides or left"'s view ("guesses", the default, or "attention")."""
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    at.query_params.update({k: str(v) for k, v in query.items()})
    at.session_state["attr_on"] = attribution
    if view:
        at.session_state["dir_view"] = view
    at.switch_page("pages/masked_lm.py")
    return run(at)


def charts_of(at) -> list[dict]:
    return [json.loads(e.proto.spec) for e in elements(at, "plotly_chart")]


def titled(at, prefix: str) -> list[dict]:
    """The charts whose title (as drawn: wrapped, escaped) contains ``prefix``."""
    def title(c):
        return re.sub(r"<br>", " ", c["layout"].get("title", {}).get("text", "") or "")
    return [c for c in charts_of(at) if prefix in title(c)]


def chips(html: str) -> tuple[list[str], list[str]]:
    """(tokens, sublabels) of a chips_html block."""
    return (re.findall(r'white-space:pre;[^"]*">([^<]*)</div>', html),
            re.findall(r'white-space:nowrap;">([^<]*)</div>', html))


def attribution_rows(at, lang: str = "en") -> list[tuple[list[str], list[float]]]:
    """The two chip rows of "which words mattered": integrated gradients, then gradient × input."""
    blocks = [h.value for h in elements(at.main, "html") if "bl-chips" in h.value]
    first = html_after(at, ATTR[lang]).value
    rows = blocks[blocks.index(first):][:2]
    return [(toks, [float(s) for s in subs]) for toks, subs in map(chips, rows)]


# ----------------------------------------------------------------------------- default views

def part(at, name: str):
    return run(at.segmented_control(key="mlm_part").set_value(name))


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_both_sections_draw_in_both_languages(lang, bert):
    at = open_app(lang=lang, text=CAT, masks="3")  # the guesses: neither part, nothing computed
    assert at.segmented_control(key="mlm_part").value == "guesses"
    assert not {DIR[lang], ATTR[lang]} & {s.value for s in at.subheader}
    assert not [b for b in bar_lists(at) if SIDES[lang][0] in b["title"]]
    at = open_app(lang=lang, text=CAT, masks="3", section="directions")
    assert at.segmented_control(key="mlm_part").value == "directions"
    subheaders = [s.value for s in at.subheader]
    assert DIR[lang] in subheaders and ATTR[lang] not in subheaders
    assert any(NO_CAUSAL[lang] in i.value for i in at.info)
    # The guesses both ways, on one absolute axis, from bertcore.bidirectional.
    view = bidirectional.compare(bert, bert.encode(CAT), [3], 0, 0, k=5)
    for side, label in zip(("both", "left"), SIDES[lang]):
        (bars,) = [b for b in bar_lists(at) if label in b["title"]]
        assert bars["absolute"] and bars["ends"] == [("0%", "100%")]
        assert bars["labels"] == getattr(view, side).top_tokens[0]
        np.testing.assert_allclose(bars["lengths"], np.array(getattr(view, side).top_probs[0])
                                   * 100, atol=0.01)
    assert not [c for c in charts_of(at) if c["data"][0]["type"] == "heatmap"]
    # One head's attention both ways, the part's other view: nothing above the diagonal with the
    # causal mask, and no guesses.
    at = open_app(lang=lang, text=CAT, masks="3", section="directions", view="attention")
    assert not bar_lists(at)
    both, left = (next(c for c in titled(at, label) if c["data"][0]["type"] == "heatmap")
                  for label in SIDES[lang])
    zb, zl = array(both["data"][0]["z"]), array(left["data"][0]["z"])
    assert zb.shape == zl.shape == (len(view.tokens),) * 2
    assert np.abs(np.triu(zl, 1)).max() == 0 and np.triu(zb, 1).max() > 0
    np.testing.assert_allclose(zl, view.left.attention, atol=1e-5)
    # Which words mattered: computed only when asked (a few seconds each time); then one score per
    # token, [CLS] [SEP] [MASK] at 0 under integrated gradients, the scores those of
    # bertcore.attribution for the top guess.
    at = open_app(lang=lang, text=CAT, masks="3", section="attribution")
    assert DIR[lang] not in [s.value for s in at.subheader] and not titled(at, SIDES[lang][0])
    assert at.toggle(key="attr_on").value is False
    assert not any(IG[lang] in m.value for m in at.markdown)
    at = open_app(lang=lang, text=CAT, masks="3", attribution=True, section="attribution")
    a = attribution.attribute(bert, bert.encode(CAT), [3], 3)
    (ig_tokens, ig), (gxi_tokens, gxi) = attribution_rows(at, lang)
    assert ig_tokens == gxi_tokens == a.tokens
    np.testing.assert_allclose(ig, a.integrated, atol=0.006)
    np.testing.assert_allclose(gxi, a.grad_x_input, atol=0.006)
    assert all(v == 0 for tok, v in zip(ig_tokens, ig) if tok in ("[CLS]", "[SEP]", "[MASK]"))
    text = all_text(at)
    assert IG[lang] in text and "captum" in text
    assert at.selectbox(key="attr_target_3").index == 0  # the top guess by default
    assert "attr." not in text and "dir." not in text  # no raw keys


def test_another_guess_can_be_explained_and_several_masks_chosen_between(bert):
    at = open_app(text=CAT, masks="3,6", attribution=True, section="attribution")
    target = at.selectbox(key="attr_target_3")
    assert len(target.options) >= 5  # the top 5, and the hidden word when it is not among them
    run(target.select(2))
    view = bidirectional.compare(bert, bert.encode(CAT), [3, 6], k=5)
    word = view.both.top_tokens[0][2]
    assert f"Red: pushed towards “{word}”" in "\n".join(c.value for c in at.caption)
    run(at.selectbox(key="attr_mask").select(1))
    assert at.selectbox(key="attr_target_6").index == 0
    at = part(at, "directions")  # the page's control: one part for another, in the URL
    assert at.query_params["section"] == "directions"
    assert ATTR["en"] not in [s.value for s in at.subheader]
    run(at.selectbox(key="dir_mask").select(1))
    assert any(m.value.startswith("The hidden word **mat** at #6") for m in at.markdown)
    # The other view: the layer and head sliders choose the head both heatmaps show.
    assert not at.select_slider
    run(at.segmented_control(key="dir_view").set_value("attention"))
    run(at.select_slider(key="w_head").set_value(2))
    assert titled(at, "Layer 0, head 2 · Both sides (BERT)")
    assert at.query_params["head"] == "2"


def test_without_a_mask_the_attention_shows_and_the_guesses_ask_for_one():
    at = open_app(text=CAT, section="directions")
    assert "Hide a word above to compare the guesses" in "\n".join(i.value for i in at.info)
    run(at.segmented_control(key="dir_view").set_value("attention"))
    assert len(titled(at, "Layer 0, head 0 ·")) == 2  # the two heatmaps, even so
    assert not any("Hide a word above" in i.value for i in at.info)
    at = part(at, "attribution")
    assert ("Hide a word above to see which words its guess rested on."
            in "\n".join(i.value for i in at.info))
    # back to the guesses, which are no presenter step yet: they ask for a word
    at = part(at, "guesses")
    assert at.query_params["section"] == "guesses" and at.query_params.get("step", "0") == "0"
    assert any("Click one or more words" in i.value for i in at.info)
    assert not any(s.value == "Explain the guess" for s in at.selectbox)


def test_a_long_input_is_windowed_and_its_attribution_cropped(tmp_path, monkeypatch):
    folder = write_app_checkpoint(tmp_path / "long-bert", positions=128)
    monkeypatch.setenv("BERTLAB_MODEL", str(folder))
    long = "the dog barked on the street , the cat sat on the mat . " * 8  # 114 tokens
    at = open_app(text=long, masks="60", attribution=True, section="directions",
                  view="attention")
    for label in SIDES["en"]:
        (heat,) = [c for c in titled(at, label) if c["data"][0]["type"] == "heatmap"]
        assert array(heat["data"][0]["z"]).shape == (32, 32)  # the page's window
    # (opened afresh: AppTest sends the pills' choice back by label, and this text repeats words)
    at = open_app(text=long, masks="60", attribution=True, section="attribution")
    (ig_tokens, ig), _ = attribution_rows(at)
    assert len(ig_tokens) == len(ig) == attribution.MAX_TOKENS
    assert ig_tokens[0] == "[CLS]" and ig_tokens[-1] == "[SEP]" and "[MASK]" in ig_tokens
    assert any("The text is long: these scores are for the 64 tokens around #60" in c.value
               for c in at.caption)


def test_a_text_longer_than_the_page_reads_at_once_is_compared_when_asked(tmp_path,
                                                                         monkeypatch):
    folder = write_app_checkpoint(tmp_path / "longer-bert", positions=256)
    monkeypatch.setenv("BERTLAB_MODEL", str(folder))
    long = "the dog barked on the street , the cat sat on the mat . " * 12  # 170 tokens
    at = open_app(text=long, masks="60", section="directions", view="attention")
    assert at.toggle(key="dir_on").value is False
    assert not titled(at, "Layer 0, head 0 ·")  # no heatmaps, nothing computed yet
    run(at.toggle(key="dir_on").set_value(True))
    assert len(titled(at, "Layer 0, head 0 ·")) == 2


def test_a_model_without_a_masked_lm_head_says_so(tmp_path):
    folder = tmp_path / "encoder-only"
    folder.mkdir()
    write_checkpoint(folder, "BertModel")
    at = open_app(text=CAT, masks="3", model=str(folder), section="directions")
    assert any("no masked-LM head" in w.value for w in at.warning)
    assert DIR["en"] not in [s.value for s in at.subheader]


def test_presenter_mode_shows_the_sections_one_at_a_time():
    at = open_app(text=CAT, masks="3", presenter="1", step=4)  # 5 / 6: both sides or left
    subheaders = [s.value for s in at.subheader]
    assert DIR["en"] in subheaders and ATTR["en"] not in subheaders
    assert "What each layer would guess" in subheaders  # the sections before it, down the page
    assert at.query_params["section"] == "directions"  # the step's part, for a following class
    assert not [c for c in at.segmented_control if c.key == "mlm_part"]  # the steps walk it
    assert not any("These weights were trained" in c.value for c in at.caption)  # no asides
    at = open_app(text=CAT, masks="3", presenter="1", step=5, attribution=True)
    assert ATTR["en"] in [s.value for s in at.subheader]
    assert len(attribution_rows(at)) == 2

"""The word pages in front of a class (issue 16), with Streamlit's AppTest on the tiny checkpoint:
masked words on one absolute axis with the hidden word's own rank, the 15 % rule showing every
original, a window of the tokens for long inputs on all four pages, the next-sentence page opening
on an example pair, and right-to-left text in the WordPiece trace."""

from __future__ import annotations

import json
import logging
import re
from pathlib import Path

import numpy as np
import pytest

import bertcore
from app_support import all_text, array, bar_lists, elements, html_after, write_app_checkpoint
from bertcore import masked_lm
from ui import charts

AppTest = pytest.importorskip("streamlit.testing.v1").AppTest

APP = str(Path(__file__).resolve().parent.parent / "app.py")
TIMEOUT = 120
WINDOW = "too many to read at once, so this view shows a window"
LONG = "the dog barked on the street , the cat sat on the mat . " * 8  # 112 words: cut to 64
# 56 tokens, each once: AppTest finds a pill by its label, so a repeated word would stand for the
# first one with that label (a real browser sends the pill's index).
UNIQUE = ("the a dog cat barked sat on mat it rained street was wet paris is capital of france "
          "city river . , ! ? he she they good bad movie very 中 国 人 大 学 < > / = _ script "
          "window pwned b x 1 unaffable wanted running")

for _name in ("streamlit.runtime.scriptrunner_utils.script_run_context",
              "streamlit.runtime.state.session_state_proxy"):
    logging.getLogger(_name).setLevel(logging.ERROR)


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory) -> Path:
    return write_app_checkpoint(tmp_path_factory.mktemp("words-bert"))


@pytest.fixture(autouse=True)
def _env(model_dir, monkeypatch):
    monkeypatch.setenv("BERTLAB_MODEL", str(model_dir))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")


@pytest.fixture(scope="module")
def bert(model_dir):
    return bertcore.load(model_dir, device="cpu")


def run(at):
    if at.run(timeout=TIMEOUT).exception:
        pytest.fail("\n".join(f"{e.value}\n{''.join(e.stack_trace)}" for e in at.exception))
    return at


def open_app(page: str, **query) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    at.query_params.update({k: str(v) for k, v in query.items()})
    at.switch_page(f"pages/{page}.py")
    return run(at)


def texts(at, kind: str) -> list[str]:
    return [e.value for e in getattr(at, kind)]


def charts_of(at) -> list[dict]:
    return [json.loads(e.proto.spec) for e in elements(at, "plotly_chart")]


def chip_labels(html: str) -> list[str]:
    """The token of each chip in a chips_html block, in order."""
    return re.findall(r'white-space:pre;[^"]*">([^<]*)</div>', html)


def sublabels(html: str) -> list[str]:
    return re.findall(r'white-space:nowrap;">([^<]*)</div>', html)


# ----------------------------------------------------------------------------- masked words

def test_every_mask_has_bars_on_one_absolute_axis_and_its_hidden_words_rank(bert):
    sentence = "the dog sat on the mat ."
    at = open_app("masked_lm", text=sentence, masks="2,3")
    bars = [b for b in bar_lists(at) if b["title"].startswith("#")]  # not "both sides / left"
    assert [b["title"] for b in bars] == ["#2 (was “dog”)", "#3 (was “sat”)"]
    enc = bert.encode(sentence)
    view = masked_lm.predict_masks(bert, enc, (2, 3), k=5)
    lines = [m for m in texts(at, "markdown") if m.startswith("The hidden word")]
    for chart, word, m in zip(bars, ("dog", "sat"), range(2)):
        # 0-100 % for every mask: a bar's length is its probability
        assert chart["absolute"] and chart["ends"] == [("0%", "100%")]
        assert chart["labels"] == view.top_tokens[m]
        np.testing.assert_allclose(chart["lengths"], np.array(view.top_probs[m]) * 100,
                                   atol=0.01)
        assert chart["values"] == [f"{p:.1%}" for p in view.top_probs[m]]
        rank = view.hidden_ranks[m]
        vocab = len(bert.tokenizer.vocab)
        assert f"The hidden word **{word}**: rank {rank} of {vocab}," in lines[m]
        highlighted = [i for i, c in enumerate(chart["colors"]) if c == charts.PALETTE[1]]
        assert highlighted == ([rank - 1] if rank <= 5 else [])


def test_the_15_percent_rule_shows_the_original_under_every_changed_token():
    sentence = "the dog barked on the street , the cat sat on the mat ."
    at = open_app("masked_lm", text=sentence, section="rule")
    tokens = ["[CLS]", *sentence.split(), "[SEP]"]
    seen = set()
    for _ in range(12):
        html = html_after(at, "How BERT was trained: the 15 % rule").value  # the rule's chips
        shown, subs = chip_labels(html), sublabels(html)
        assert len(shown) == len(subs) == len(tokens)
        for i, sub in enumerate(subs):
            if not sub:
                assert shown[i] == tokens[i]  # not chosen: unchanged
                continue
            assert f"“{tokens[i]}”" in sub, (i, sub)  # the original, whatever became of it
            seen.add("random" if sub.startswith("random") else "keep" if sub.startswith("kept")
                     else "mask")
            if shown[i] == "[MASK]":
                assert sub == f"“{tokens[i]}”"
        if seen == {"mask", "random", "keep"}:
            break
        run([b for b in at.button if b.key == "mlm_reroll"][0].click())
    assert seen == {"mask", "random", "keep"}


def test_a_long_text_shows_a_window_that_opens_on_the_mask_and_keeps_masks_outside_it():
    at = open_app("masked_lm", text=UNIQUE, masks="40")
    assert any(WINDOW in c for c in texts(at, "caption"))
    start = at.slider(key="mlm_window").value
    assert start <= 40 < start + 32  # opened on the masked token
    pills = at.pills(key=f"w_masks_{start}")
    assert pills.value == [40] and len(pills.options) <= 32
    assert any(b["title"].startswith("#40 (was “") for b in bar_lists(at))
    # Slide to the start: the mask outside stays hidden; pick one more there.
    run(at.slider(key="mlm_window").set_value(0))
    assert at.pills(key="w_masks").value == []
    assert any("1 more hidden word(s) outside the tokens shown" in c for c in texts(at, "caption"))
    run(at.pills(key="w_masks").set_value([2]))
    assert at.query_params["masks"] == "2,40" and "window" not in at.query_params  # 0: default
    assert len(chip_labels(elements(at.main, "html")[0].value)) == 32  # what the model reads


def test_filling_many_masks_one_by_one_over_a_long_text_waits_for_a_click():
    # 6 masks over 56 tokens: 5 more passes of 56 tokens (280) is past the 256 that run at once.
    masks = ",".join(str(i) for i in range(1, 7))
    at = open_app("masked_lm", text=UNIQUE, masks=masks)
    assert any("runs the model 5 more time(s) over 56 tokens" in i for i in texts(at, "info"))
    assert not any(c.startswith("step ") for c in texts(at, "caption"))
    run([b for b in at.button if b.key == "mlm_greedy_run"][0].click())
    assert sum(c.startswith("step ") for c in texts(at, "caption")) == 6
    assert at.query_params["masks"] == masks
    five = open_app("masked_lm", text=UNIQUE, masks="1,2,3,4,5")  # 4 x 56 = 224: no click
    assert sum(c.startswith("step ") for c in texts(five, "caption")) == 5


def test_the_layer_by_layer_guesses_are_a_table_that_marks_the_hidden_word(bert):
    at = open_app("masked_lm", text="the dog sat on the mat .", masks="2")
    table = [h.value for h in elements(at.main, "html") if "bl-word-table" in h.value]
    assert len(table) == 1
    rows = re.findall(r"<tr>(.*?)</tr>", table[0].split("<tbody>")[1])
    assert len(rows) == bert.config.num_hidden_layers + 1  # the embeddings, then every layer
    view = masked_lm.predict_masks(bert, bert.encode("the dog sat on the mat ."), (2,), k=5)
    marked = len(re.findall(r"outline:3px", table[0]))
    assert marked == sum(layer[0].count("dog") for layer in view.lens_tokens)


# ----------------------------------------------------------------------------- long inputs

@pytest.mark.parametrize("page", ["tokenization", "embeddings", "masked_lm", "next_sentence"])
def test_a_long_input_shows_a_window_of_its_tokens(page):
    at = open_app(page, text=LONG, pair=LONG if page == "next_sentence" else "")
    assert any(WINDOW in c for c in texts(at, "caption"))
    assert not at.error


def test_tokenization_windows_its_chips_and_table():
    at = open_app("tokenization", text=LONG, pair="it rained .")
    chips = chip_labels(elements(at.main, "html")[0].value)
    assert len(chips) == 32 and chips[0] == "[CLS]"
    run(at.slider(key="tok_window").set_value(10))
    assert chip_labels(elements(at.main, "html")[0].value)[0] == LONG.split()[9]
    table = at.dataframe[0].value
    assert len(table) == 32 and table.iloc[0, 0] == 10  # the same tokens, by position
    assert at.query_params["window"] == "10"


def test_next_sentence_windows_the_a_to_b_map_and_summarises_the_segments():
    at = open_app("next_sentence", text=LONG, pair=LONG)
    heat = [c for c in charts_of(at) if c["data"][0]["type"] == "heatmap"][0]
    assert heat["data"][0]["z"]["shape"] == "12, 12"
    assert any("Rows: A's tokens 0–11 of" in c for c in texts(at, "caption"))
    chips = chip_labels(elements(at.main, "html")[0].value)
    assert chips[0] == "[CLS]" and chips.count("[SEP]") == 2 and len(chips) < 45
    assert sum(c.startswith("… ") for c in chips) == 2  # one gap in each sentence
    short = open_app("next_sentence", text="the dog barked .", pair="it rained .")
    assert chip_labels(elements(short.main, "html")[0].value) == [
        "[CLS]", "the", "dog", "barked", ".", "[SEP]", "it", "rained", ".", "[SEP]"]


def test_the_position_map_draws_at_most_128_positions_a_side(tmp_path, monkeypatch):
    from app_support import APP_VOCAB
    from conftest import write_checkpoint

    write_checkpoint(tmp_path, vocab_size=len(APP_VOCAB), max_position_embeddings=300)
    (tmp_path / "vocab.txt").write_text("\n".join(APP_VOCAB) + "\n", encoding="utf-8")
    monkeypatch.setenv("BERTLAB_MODEL", str(tmp_path))
    at = open_app("embeddings")
    run(at.slider(key="emb_pos_n").set_value(300))
    heat = [c for c in charts_of(at) if c["data"][0]["type"] == "heatmap"][-1]
    assert heat["data"][0]["z"]["shape"] == "100, 100"  # every 3rd of 300 positions
    # The axes are the positions drawn: 0, 3, 6, …, and the hover names a cell by them.
    assert array(heat["data"][0]["x"])[:3].tolist() == [0, 3, 6]
    ticks = array(heat["layout"]["xaxis"]["tickvals"]).tolist()
    assert heat["layout"]["xaxis"]["ticktext"] == [str(p) for p in ticks] and ticks[1] % 3 == 0
    assert "customdata" not in heat["data"][0]
    assert "%{y} → %{x}" in heat["data"][0]["hovertemplate"]
    assert any("One position in 3 is drawn (100 a side)" in c for c in texts(at, "caption"))
    run(at.slider(key="emb_pos_n").set_value(64))
    heat = [c for c in charts_of(at) if c["data"][0]["type"] == "heatmap"][-1]
    assert heat["data"][0]["z"]["shape"] == "64, 64"


# ----------------------------------------------------------------------------- next sentence

@pytest.mark.parametrize("lang, a, b", [
    ("en", "Tom studied hard for his exam.", "He passed it with the best mark in his class."),
    ("zh", "小明认真地复习了功课。", "他考试得了全班第一名。")])
def test_the_next_sentence_page_opens_on_an_example_pair(lang, a, b):
    at = open_app("next_sentence", lang=lang)
    assert texts(at, "text") == [a, b]
    assert "(example)" in all_text(at) or "（示例）" in all_text(at)
    assert at.text_area(key="w_pair").value == ""  # the sidebar is left as it was
    assert "pair" not in at.query_params
    typed = open_app("next_sentence", lang=lang, pair="it rained .")
    assert texts(typed, "text")[1] == "it rained ." and "(example)" not in all_text(typed)


# ----------------------------------------------------------------------------- right to left

def test_the_wordpiece_trace_of_a_right_to_left_word_reads_from_the_right():
    at = open_app("tokenization", text="مرحبا the")
    trace = elements(at.main, "html")[-1].value  # the chosen word's candidates
    assert 'class="bl-chips" dir="rtl"' in trace
    assert chip_labels(trace)[0] == "مرحبا"  # tried first: the whole word, on the right
    label = [s for s in at.selectbox if s.label == "Word"][0]
    assert label.format_func(0) == "\u2068مرحبا\u2069  →  \u2068[UNK]\u2069"


def test_the_default_sentence_opens_with_its_word_to_guess_hidden(tmp_path, monkeypatch):
    from ui.i18n import default_sentence

    folder = write_app_checkpoint(tmp_path / "bed", extra_vocab=["toddler", "sleepy", "bed"])
    monkeypatch.setenv("BERTLAB_MODEL", str(folder))
    bed = bertcore.load(folder, device="cpu").encode(default_sentence("en")).tokens.index("bed")
    at = open_app("masked_lm")
    assert at.query_params["masks"] == str(bed) and at.pills(key="w_masks").value == [bed]
    assert "What the model reads" in texts(at, "subheader")
    run(at.pills(key="w_masks").set_value([]))  # shown again by the user: it stays shown
    assert "masks" not in at.query_params and "What the model reads" not in texts(at, "subheader")
    # any other sentence opens with nothing hidden
    assert "masks" not in open_app("masked_lm", text="the dog sat on the mat .").query_params

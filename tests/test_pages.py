"""The app, page by page, with Streamlit's AppTest (no browser; see test_browser.py for that).

Every page is run through ``app.py`` (the real frame: sidebar, URL state, model fallback) on a tiny
locally built checkpoint ($BERTLAB_MODEL), so no test depends on the offline default models or on a
network. For each page: the default view, a widget change that changes what is shown, hostile and
awkward input (empty, too long, emoji, control and zero-width characters, right-to-left scripts,
HTML/script), a model that fails to load, the Chinese interface, and views restored from the URL.
"""

from __future__ import annotations

import json
import logging
import re
from pathlib import Path

import numpy as np
import pytest

import bertcore
from app_support import (all_text, array, bertviz_params, elements, html_after,
                         write_app_checkpoint)
from bertcore import embeddings

AppTest = pytest.importorskip("streamlit.testing.v1").AppTest

REPO = Path(__file__).resolve().parent.parent
APP = str(REPO / "app.py")
PAGES = ["home", "tokenization", "embeddings", "attention", "layer", "masked_lm",
         "next_sentence", "lesson"]
TITLES = {"home": ("BERT Lab", "BERT 实验室"), "tokenization": ("Tokenization", "分词"),
          "embeddings": ("Embeddings", "嵌入"), "attention": ("Attention", "注意力"),
          "layer": ("Inside a layer", "一层之内"), "masked_lm": ("Masked words", "掩码预测"),
          "next_sentence": ("Next sentence", "下一句预测"),
          "lesson": ("The lesson: BERT, chapter by chapter", "课程：一章一章读懂 BERT")}
SECTIONS = ("head", "example", "bertviz", "off", "summary")
TIMEOUT = 120  # seconds per script run: generous for a loaded 2-core CI machine

EMPTY = "Type a sentence in the sidebar to begin."
RULE = "How BERT was trained: the 15 % rule"  # the masked-words section with the rule's chips
# The tests below that read particular tokens use this sentence (the tiny checkpoint's vocabulary
# has its words; the default sentence's "toddler" and "bed" are [UNK] there).
CAT = "The cat sat on the mat because it was tired."
TRUNCATED = "The text is longer than this model reads"
HTML_TEXT = "<script>window.__pwned=1</script><b>x</b>"
BAD_INPUTS = {
    "empty": "",
    "spaces": "   \n\t  ",
    "long": "the dog barked on the street . " * 150,  # 4650 characters (the box takes 5000)
    "emoji": "the dog 😀 barked 🐕‍🦺 at the 🇫🇷 cat !",
    "control": "the\x00 dog\x07\tbarked\u200b on\u200d the\ufeff mat\u2028 it\u202e rained\x1b[31m",
    "rtl": "שלום עולם the dog مرحبا بالعالم barked",
    "html": HTML_TEXT,
    "markdown": "**bold** [link](http://example.com) `code` $x^2$ # heading | a | b |",
    "mask_only": "[MASK]",
    "brackets": "[CLS] [SEP] [PAD] [UNK] the [MASK] sat",
}

# Streamlit logs "missing ScriptRunContext" whenever AppTest formats a widget outside a run.
for _name in ("streamlit.runtime.scriptrunner_utils.script_run_context",
              "streamlit.runtime.state.session_state_proxy"):
    logging.getLogger(_name).setLevel(logging.ERROR)


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory) -> Path:
    return write_app_checkpoint(tmp_path_factory.mktemp("app-bert"))


@pytest.fixture(autouse=True)
def _env(model_dir, monkeypatch):
    monkeypatch.setenv("BERTLAB_MODEL", str(model_dir))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    _language_outside_runs(monkeypatch)


def _language_outside_runs(monkeypatch) -> None:
    """AppTest calls widgets' format_func between runs, outside any session, where ``i18n.lang()``
    can only say "en"; a Chinese selectbox then cannot find its own label. Outside a run, answer
    with the language of the last run (a live server always formats inside the run).
    """
    from streamlit.runtime.scriptrunner_utils.script_run_context import get_script_run_ctx

    from ui import i18n

    inside, last = i18n.lang, ["en"]

    def lang() -> str:
        if get_script_run_ctx(suppress_warning=True) is None:
            return last[0]
        last[0] = inside()
        return last[0]

    monkeypatch.setattr(i18n, "lang", lang)


# ----------------------------------------------------------------------------- helpers

def check(at):
    """Fails with the page's own traceback when a run raised."""
    if at.exception:
        details = "\n\n".join(f"{e.value}\n{''.join(e.stack_trace)}" for e in at.exception)
        pytest.fail(f"the page raised:\n{details}")
    return at


def run(at):
    return check(at.run(timeout=TIMEOUT))


def open_app(page: str = "home", **query) -> AppTest:
    """app.py on ``page``, its session started from the URL parameters ``query``."""
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    at.query_params.update({k: str(v) for k, v in query.items()})
    if page != "home":  # a deep link: the first run is on the page (st.Page hashes its url_path,
        at.switch_page(f"pages/{page}.py")  # which is the file name here)
    return run(at)


def texts(at, kind: str) -> list[str]:
    return [e.value for e in getattr(at, kind)]


def shown(at) -> str:
    """Everything a reader sees, chart titles and axis labels included."""
    specs = [json.dumps(json.loads(e.proto.spec), ensure_ascii=False)
             for e in elements(at, "plotly_chart")]
    return all_text(at) + "\n" + "\n".join(specs)


def set_sentence(at, sentence: str, pair: str | None = None) -> AppTest:
    at.text_area(key="w_sentence").input(sentence)
    if pair is not None:
        at.text_area(key="w_pair").input(pair)
    return run(at)


def attention_sections(at):
    """Runs every section of the attention page; yields the section name after each run."""
    for section in SECTIONS:
        run(at.segmented_control(key="attn_section").set_value(section))
        yield section


def html_is_safe(at) -> None:
    """No user text became markup: every st.html body, unsafe markdown and iframe is checked."""
    for el in elements(at, "html"):
        assert "<script>window" not in el.value and "<b>x" not in el.value, el.value[:500]
    for el in elements(at, "markdown"):
        if el.proto.allow_html:
            assert "pwned" not in el.value, el.value
    for el in elements(at, "iframe"):
        doc = el.proto.srcdoc
        assert "__pwned" not in doc.replace("\\u003c", "").split("const params", 1)[0]
        assert "<script>window.__pwned" not in doc and "</script><b>" not in doc


# ------------------------------------------------------------------------- every page, default view

@pytest.mark.parametrize("page", PAGES)
def test_default_view(page):
    at = open_app(page)
    assert texts(at, "title")[0] == TITLES[page][0]
    assert not at.error, texts(at, "error")
    assert not at.warning, texts(at, "warning")
    # The sidebar: language, sentence, pair, model, presenter mode.
    assert at.text_area(key="w_sentence").value == "The toddler was sleepy, so she went to bed."
    assert at.segmented_control(key="w_lang").value == "en"
    assert at.query_params.get("lang") == "en"


@pytest.mark.parametrize("page", PAGES[1:])
def test_deep_link_runs_the_frame(page):
    """A first run that starts on a page still runs app.py around it (see state.ensure_frame):
    AppTest, like a fresh server, starts in Streamlit's pages/-folder mode."""
    at = open_app(page, layer=1)
    assert [e.label for e in at.sidebar.text_area] == ["Sentence", "Second sentence (optional)"]
    assert any("2 layers · 4 heads" in c for c in texts(at.sidebar, "caption"))


@pytest.mark.parametrize("page", PAGES)
def test_presenter_mode(page):
    at = open_app(page, presenter="1", pair="it rained .")
    assert texts(at, "title")[0] == TITLES[page][0]
    assert at.toggle(key="w_presenter").value is True
    assert not at.expander or page == "attention"  # explanations folded away (CSS hides the rest)


def chart_font_sizes(at) -> list[int]:
    return [json.loads(c.proto.spec)["layout"]["font"]["size"] for c in at.get("plotly_chart")]


@pytest.mark.parametrize("page", ["next_sentence", "attention", "layer"])
def test_presenter_mode_enlarges_the_charts_type(page):
    normal = chart_font_sizes(open_app(page, pair="it rained ."))
    # (step: presenter mode shows a page's sections one at a time; step 9 reveals them all)
    projected = chart_font_sizes(open_app(page, presenter="1", pair="it rained .", step=9))
    assert normal and set(normal) == {12}
    assert projected and set(projected) == {18}


# ------------------------------------------------------------------- a widget that changes the view

def test_home_language_switch():
    at = open_app("home")
    assert "The model you are using" in texts(at, "subheader")
    run(at.segmented_control(key="w_lang").set_value("zh"))
    assert texts(at, "title")[0] == "BERT 实验室"
    assert "你正在使用的模型" in texts(at, "subheader")
    assert [m.label for m in at.metric][:2] == ["参数总数", "层数"]
    # The example sentence follows the language while the user has not typed their own.
    assert at.text_area(key="w_sentence").value == "2024年春天，我们去北京旅游。"
    assert at.query_params["lang"] == "zh"


def test_home_shows_the_live_model():
    at = open_app("home")
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Layers"] == "2" and metrics["Heads per layer"] == "4"
    assert metrics["Hidden size"] == "32"
    assert len(at.get("page_link")) == 8  # one per page after Start
    drawing = next(h.proto.body for h in elements(at.main, "html") if "bl-arch" in h.proto.body)
    assert "Encoder layer × 2" in drawing and "32 → 64 → 32" in drawing
    assert "font-size: 14px" in drawing and not at.get("plotly_chart")  # no chart code to load
    projected = open_app("home", presenter="1", step=9)
    assert any("bl-arch" in h.proto.body and "font-size: 21px" in h.proto.body
               for h in elements(projected.main, "html"))


def test_tokenization_sentence_and_trace():
    at = open_app("tokenization", text=CAT)
    chips = elements(at.main, "html")[0].value
    assert ">sat<" in chips and "barked" not in chips
    set_sentence(at, "the dog barked unaffable")
    chips = elements(at.main, "html")[0].value
    assert ">barked<" in chips and ">##aff<" in chips
    # The trace opens on the first word cut into several pieces, and follows the word picked.
    word = [s for s in at.selectbox if s.label == "Word"][0]
    assert "Tried" in shown(at) and "`##able`" in shown(at)
    run(word.select(0))
    assert ("`the`" in "\n".join(texts(at, "markdown"))
            and "`##able`" not in "\n".join(texts(at, "markdown")))


def test_tokenization_pair_colours_by_segment():
    at = open_app("tokenization", pair="it rained .")
    assert at.segmented_control(key="tok_color_by").value == "segment"
    assert "Two sentences: segment ids and attention mask" in texts(at, "subheader")
    assert "· 1" in elements(at.main, "html")[0].value  # "id · segment" under B's tokens
    run(at.segmented_control(key="tok_color_by").set_value("word"))
    assert "· 1" not in elements(at.main, "html")[0].value


def test_the_frame_reads_a_new_input_ahead_for_the_next_page(monkeypatch, model_dir):
    from ui import models

    seen = []
    monkeypatch.setattr(models, "read_ahead", lambda *key: seen.append(key))
    at = open_app("tokenization", text=CAT, pair="it rained .")
    assert seen and seen[-1] == (str(model_dir), CAT, "it rained .")
    run(at.sidebar.text_area[0].set_value("the dog barked ."))
    assert seen[-1] == (str(model_dir), "the dog barked .", "it rained .")


def test_embeddings_pick_token(model_dir):
    at = open_app("embeddings", text=CAT)
    assert any("(position 1)" in s for s in texts(at, "subheader"))
    pills = at.pills[0]
    run(pills.set_value(3))
    assert any("“sat” (position 3)" in s for s in texts(at, "subheader"))
    # Token 3's five vectors, as the model has them: the first dimensions written in a table, all
    # of them drawn, the LayerNorm on a colour scale of its own.
    bert = bertcore.load(model_dir, device="cpu")
    parts = embeddings.embedding_parts(bert, bert.encode(CAT))
    want = np.stack([parts.word[3], parts.position[3], parts.segment[3], parts.sum[3],
                     parts.layernorm[3]])
    (table,) = [h.value for h in elements(at.main, "html") if "bl-number-table" in h.value]
    cells = [re.findall(r"<td[^>]*>(.*?)</td>", r) for r in re.findall(r"<tr>(.*?)</tr>", table)]
    written = np.array([[float(v) for v in row] for row in cells[1:]])
    assert written.shape == (5, 8)
    np.testing.assert_allclose(written, want[:, :8], atol=5e-5)
    (chart,) = [json.loads(c.proto.spec) for c in elements(at.main, "plotly_chart")
                if "sum" in c.proto.spec and "LayerNorm" in c.proto.spec]
    top, bottom = chart["data"]
    np.testing.assert_allclose(array(top["z"]), want[:4], rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(array(bottom["z"]), want[4:], rtol=1e-5, atol=1e-7)
    assert bottom["zmax"] == pytest.approx(np.abs(want[4]).max(), rel=1e-5)
    assert any("agree" in s for s in texts(at, "success"))  # sum of parts == the model's layer
    run(at.slider(key="emb_pos_n").set_value(10))
    assert "0…9" in "\n".join(texts(at, "caption"))


def test_attention_layer_head_and_sections():
    at = open_app("attention", text=CAT)
    assert "Layer 0, head 0: who looks at whom" in texts(at, "subheader")
    run(at.selectbox(key="w_head").select(2))
    assert "Layer 0, head 2: who looks at whom" in texts(at, "subheader")
    assert at.query_params["head"] == "2"
    run(at.selectbox(key="w_layer").select(1))
    assert "Layer 1, head 2: who looks at whom" in texts(at, "subheader")
    # Head 3 picked under the grid of small multiples opens it above, and the head box follows.
    assert at.pills(key="attn_open_head").value == 2
    run(at.pills(key="attn_open_head").set_value(3))
    assert "Layer 1, head 3: who looks at whom" in texts(at, "subheader")
    assert at.selectbox(key="w_head").value == 3 and at.query_params["head"] == "3"

    run(at.segmented_control(key="attn_section").set_value("example"))
    assert "① Query and keys" in texts(at, "subheader")
    run(at.selectbox(key="attn_query").select(4))
    assert "q of “on”" in shown(at)
    run(at.segmented_control(key="attn_ex_step").set_value("scores"))
    assert "② Scores, scaling, mask, softmax" in texts(at, "subheader")
    assert any("agree up to float rounding" in s for s in texts(at, "success"))
    assert "① Query and keys" not in texts(at, "subheader")

    run(at.segmented_control(key="attn_section").set_value("summary"))
    assert "Dominant behaviour of each head" in texts(at, "subheader")


def test_attention_bertviz_views_are_offline():
    at = open_app("attention")
    run(at.segmented_control(key="attn_section").set_value("bertviz"))
    frames = elements(at, "iframe")
    if not frames:  # vendor/ missing: a clear notice instead of a blank view
        assert any("make vendor" in w for w in texts(at, "warning"))
        pytest.skip("vendor/ has no JavaScript (scripts/vendor_js.sh not run)")
    for view in ("head", "model"):  # one view at a time, the head view first
        if view != "head":
            at = run(at.segmented_control(key="attn_bv_view").set_value(view))
        (frame,) = elements(at, "iframe")
        doc = frame.proto.srcdoc  # the scripts inlined, or served by this app (static/bertviz/)
        assert "cdnjs" not in doc and "//" not in "".join(
            re.findall(r'<script[^>]*\ssrc="([^"]*)"', doc))
        assert "RequireJS 2.3.6" in doc or 'src="app/static/bertviz/require.js' in doc
    assert "Model view: every layer × head" in texts(at, "subheader")
    run(at.segmented_control(key="attn_bv_view").set_value("neuron"))
    assert "Neuron view: where a score comes from" in texts(at, "subheader")
    assert not elements(at, "iframe")


def test_attention_head_view_opens_on_the_pages_layer_and_head():
    at = open_app("attention", section="bertviz", layer=1, head=2)
    frames = elements(at, "iframe")
    if not frames:
        pytest.skip("vendor/ has no JavaScript (scripts/vendor_js.sh not run)")
    params = bertviz_params(frames[0].proto.srcdoc)
    # That layer only (the page picks layers), that head shown first (the squares add more).
    assert params["layer"] == 1 and params["include_layers"] == [1] and params["heads"] == [2]
    assert len(params["attention"][0]["attn"]) == 1
    run(at.selectbox(key="w_head").select(3))  # the page's head picker redraws it
    assert bertviz_params(elements(at, "iframe")[0].proto.srcdoc)["heads"] == [3]


def test_attention_switch_heads_off_needs_a_mask():
    at = open_app("attention")
    run(at.segmented_control(key="attn_section").set_value("off"))
    assert any("no `[MASK]`" in s for s in texts(at, "info"))
    run(at.selectbox(key="attn_mask_pick").select(3))
    run([b for b in at.button if b.key == "attn_mask_button"][0].click())
    assert at.query_params["masks"] == "3"
    assert "[MASK] at position 3" in "\n".join(texts(at, "markdown"))
    assert any("No head is switched off yet" in s for s in texts(at, "info"))
    run(at.multiselect(key="attn_off").select((0, 1)))
    assert "With 1 head(s) off" in shown(at)
    run([b for b in at.button if b.key == "attn_off_layer"][0].click())
    assert "With 4 head(s) off" in shown(at)
    run([b for b in at.button if b.key == "attn_off_clear"][0].click())
    assert at.multiselect(key="attn_off").value == []


def test_masked_lm_hide_words():
    at = open_app("masked_lm", text=CAT)
    assert any("Click one or more words" in s for s in texts(at, "info"))
    run(at.pills(key="w_masks").set_value([3]))
    assert at.query_params["masks"] == "3"
    assert "Top 5 guesses for each hidden spot" in texts(at, "subheader")
    assert "#3 (was “sat”)" in shown(at)
    assert "Hide two or more words to see the difference." in texts(at, "caption")
    run(at.pills(key="w_masks").set_value([3, 6]))
    assert at.query_params["masks"] == "3,6"
    assert any(s.startswith("step 2:") for s in texts(at, "caption"))
    assert "All at once" in "\n".join(texts(at, "markdown"))
    run(at.selectbox(key="mlm_lens_mask").select(1))
    assert RULE not in texts(at, "subheader")  # one part of the page at a time
    # The 15 % rule: "Re-roll" draws another sample.
    run(at.segmented_control(key="mlm_part").set_value("rule"))
    assert at.query_params["section"] == "rule" and at.query_params["masks"] == "3,6"
    assert "Top 5 guesses for each hidden spot" not in texts(at, "subheader")
    rule = html_after(at, RULE).value
    for _ in range(5):
        run([b for b in at.button if b.key == "mlm_reroll"][0].click())
        if html_after(at, RULE).value != rule:
            break
    assert html_after(at, RULE).value != rule


def test_masked_lm_typed_mask():
    at = open_app("masked_lm", text="paris is the capital of [MASK] .")
    assert any("contains 1 `[MASK]`" in s for s in texts(at, "caption"))
    assert "Top 5 guesses for each hidden spot" in texts(at, "subheader")
    assert (6 not in at.pills(key="w_masks").options
            and "\\[MASK\\]" not in at.pills(key="w_masks").options)


def test_next_sentence_buttons():
    at = open_app("next_sentence", text=CAT)
    assert any("second sentence" in s for s in texts(at, "info"))
    run([b for b in at.button if b.key == "nsp_random"][0].click())
    pair = at.text_area(key="w_pair").value
    assert pair and at.query_params["pair"] == pair
    assert texts(at, "text") == [CAT, pair]
    assert "P(B follows A)" in shown(at)
    run([b for b in at.button if b.key == "nsp_swap"][0].click())
    assert texts(at, "text") == [pair, CAT]
    assert at.text_area(key="w_sentence").value == pair
    run(at.select_slider(key="w_layer").set_value(1))
    assert at.query_params["layer"] == "1"  # the same layer the attention page shows as 1
    assert "Layer 1: A → B, mean over heads" in shown(at)


# ------------------------------------------------------------------------ awkward and hostile input

@pytest.mark.parametrize("kind", list(BAD_INPUTS))
@pytest.mark.parametrize("page", PAGES)
def test_bad_input(page, kind):
    text = BAD_INPUTS[kind]
    at = open_app(page, pair="the dog barked ." if page == "next_sentence" else "")
    set_sentence(at, text)
    assert texts(at, "title")[0] == TITLES[page][0]
    assert not at.error, texts(at, "error")
    info, warnings = "\n".join(texts(at, "info")), "\n".join(texts(at, "warning"))
    if kind in ("empty", "spaces"):
        if page != "home":
            assert EMPTY in info
    elif kind == "long":
        assert at.text_area(key="w_sentence").value == text
        if page != "home":
            assert TRUNCATED in warnings
            if page == "next_sentence":
                assert "P(B follows A)" in shown(at)
    else:
        assert EMPTY not in info and TRUNCATED not in warnings
    if page == "attention" and text.strip():
        for _section in attention_sections(at):
            assert not at.error, texts(at, "error")
            html_is_safe(at)
    if page == "masked_lm" and text.strip():
        if at.pills(key="w_masks").options:
            run(at.pills(key="w_masks").set_value([first_maskable(at)]))
            assert "Top 5 guesses for each hidden spot" in texts(at, "subheader")
    html_is_safe(at)


def first_maskable(at) -> int:
    """The token position of the first pill on the masked-LM page (pills hold positions)."""
    pills = at.pills(key="w_masks")
    label = pills.options[0]
    for i in range(1, 600):
        try:
            if pills.format_func(i) == label:
                return i
        except IndexError:
            break
    raise AssertionError(f"no position has the label {label!r}")


def test_html_sentence_is_text_everywhere():
    at = open_app("tokenization", text=HTML_TEXT, pair=HTML_TEXT)
    chips = elements(at.main, "html")[0].value
    assert "&lt;" in chips and ">script<" in chips and "<script" not in chips
    for page in PAGES[1:]:
        run(at.switch_page(f"pages/{page}.py"))
        html_is_safe(at)
    run(at.switch_page("pages/next_sentence.py"))
    assert HTML_TEXT in texts(at, "text")  # next-sentence: st.text shows it verbatim, as text


def test_long_url_text_is_clipped_with_a_notice():
    at = open_app("tokenization", text="the dog barked . " * 400)
    assert len(at.text_area(key="w_sentence").value) == 5000
    assert TRUNCATED in "\n".join(texts(at, "warning"))


# ----------------------------------------------------------------------------- models that fail

@pytest.mark.parametrize("page", PAGES)
def test_broken_model_falls_back(page, tmp_path, model_dir):
    broken = tmp_path / "not-a-checkpoint"
    broken.mkdir()
    (broken / "config.json").write_text("{not json", encoding="utf-8")
    at = open_app(page, model=str(broken))
    warning = "\n".join(texts(at, "warning"))
    assert "Could not load" in warning and _md(str(broken)) in warning
    assert f"Showing **{_md(str(model_dir))}** instead." in warning
    assert texts(at, "title")[0] == TITLES[page][0]
    assert "model" not in at.query_params  # back on the default, which the URL leaves out


def test_hub_model_offline_falls_back():
    at = open_app("masked_lm", model="no-such-user/no-such-bert")
    warning = "\n".join(texts(at, "warning"))
    assert "no\\-such\\-user/no\\-such\\-bert" in warning or "no-such-user" in warning
    assert not at.error and texts(at, "title")[0] == "Masked words"


def test_model_typed_in_sidebar_fails_then_falls_back(tmp_path):
    at = open_app("tokenization")
    run(at.selectbox(key="w_model_choice").select("__other__"))
    run(at.text_input(key="w_model_custom").input(str(tmp_path / "missing-folder")))
    assert any("missing" in w for w in texts(at, "warning")), texts(at, "warning")
    assert texts(at, "title")[0] == "Tokenization" and elements(at.main, "html")


def _md(text: str) -> str:
    from ui.i18n import md_escape

    return md_escape(text)


# ----------------------------------------------------------------------------- Chinese

ZH_EXPECTED = {"home": "你正在使用的模型", "tokenization": "模型的输入",
               "embeddings": "验证：模型真的是这样计算的吗？",
               "attention": "第 0 层，第 0 个头：谁在看谁",
               "layer": "前馈网络：32 → 64 → 32",
               "masked_lm": "点击遮住（可多选）", "next_sentence": "按句段显示的输入",
               "lesson": "为什么是双向编码器"}


@pytest.mark.parametrize("page", PAGES)
def test_chinese_interface(page):
    at = open_app(page, lang="zh", pair="今天下雨了。")
    assert texts(at, "title")[0] == TITLES[page][1]
    assert ZH_EXPECTED[page] in shown(at)
    assert at.text_area(key="w_sentence").label == "句子"
    assert at.text_area(key="w_sentence").value == "2024年春天，我们去北京旅游。"
    assert re.search(r"运行设备: CPU（\d+ 个线程）", shown(at)), "device caption in Chinese"
    if page == "attention":
        for _section in attention_sections(at):
            _no_raw_keys(at)
    _no_raw_keys(at)


KEY_LIKE = re.compile(r"\b(?:app|nav|side|model|input|head|common|home|arch|tok|emb|attn|layer|"
                      r"mlm|nsp)\.[a-z_]+[a-z]\b")


def _no_raw_keys(at) -> None:
    """An unknown i18n key shows as the key itself; none may reach the screen."""
    leaked = sorted({m.group(0) for m in KEY_LIKE.finditer(all_text(at))} - {"model.py"})
    assert not leaked, leaked


def test_every_string_has_both_languages():
    for lang in ("en", "zh"):
        at = open_app("home", lang=lang, pair="it rained .", masks="1")
        for page in PAGES[1:]:
            run(at.switch_page(f"pages/{page}.py"))
            _no_raw_keys(at)
    from ui.i18n import STRINGS, missing_translations

    assert not missing_translations()
    prefixes = {k.split(".")[0] for k in STRINGS}
    assert {"tok", "emb", "attn", "layer", "mlm", "nsp", "home"} <= prefixes


# --------------------------------------------------------------------------- the URL holds the view

def test_url_restores_attention_view():
    at = open_app("attention", text="the dog barked on the mat .", pair="it rained .",
                  layer=1, head=2, lang="en")
    assert "Layer 1, head 2: who looks at whom" in texts(at, "subheader")
    assert at.selectbox(key="w_layer").value == 1 and at.selectbox(key="w_head").value == 2
    assert at.text_area(key="w_pair").value == "it rained ."
    assert at.query_params["text"] == "the dog barked on the mat ."


def test_url_restores_masks():
    at = open_app("masked_lm", text="the dog barked on the mat .", masks="2,5")
    assert at.pills(key="w_masks").value == [2, 5]
    assert "#2 (was “dog”)" in shown(at) and "#5 (was “the”)" in shown(at)


def test_url_restores_pair_and_chinese():
    at = open_app("next_sentence", lang="zh", text="他想要那只狗。", pair="今天下雨了。")
    assert texts(at, "text") == ["他想要那只狗。", "今天下雨了。"]
    assert "P(B 紧接在 A 之后)" in shown(at)


def test_url_accepts_sentence_as_a_name_for_text():
    at = open_app("tokenization", sentence="the dog barked")
    assert at.text_area(key="w_sentence").value == "the dog barked"
    assert at.query_params["text"] == "the dog barked"


@pytest.mark.parametrize("query", [
    {"layer": "99", "head": "-3"}, {"layer": "x", "head": "1e9"}, {"masks": "a,,-1,999,2"},
    {"lang": "fr"}, {"presenter": "maybe"}, {"model": ""}, {"text": "\x00" * 10},
])
@pytest.mark.parametrize("page", ["attention", "masked_lm", "next_sentence"])
def test_malformed_url_is_harmless(page, query):
    at = open_app(page, pair="it rained .", **query)
    assert texts(at, "title")[0] in TITLES[page]
    assert not at.error, texts(at, "error")
    if page == "attention" and "layer" in query:
        assert at.selectbox(key="w_layer").value in (0, 1)


def test_url_follows_interaction():
    at = open_app("tokenization")
    assert dict(at.query_params) == {"lang": "en"}
    set_sentence(at, "the dog barked", pair="it rained .")
    assert at.query_params["text"] == "the dog barked" and at.query_params["pair"] == "it rained ."
    run(at.switch_page("pages/attention.py"))
    assert at.query_params["text"] == "the dog barked"  # a page switch keeps the shared view
    run(at.selectbox(key="w_layer").select(1))
    assert at.query_params["layer"] == "1"
    # A fresh session opened on that URL sees the same view.
    again = open_app("attention", **dict(at.query_params))
    assert "Layer 1, head 0: who looks at whom" in texts(again, "subheader")
    assert again.text_area(key="w_pair").value == "it rained ."


def test_chart_type_scale_stays_in_its_own_session_thread():
    import threading

    from ui import charts

    seen = {}

    def student():  # another session's script thread, running while a presenter's is
        seen["size"] = charts.bars(["a"], [1.0]).layout.font.size

    charts.set_font_scale(1.5)
    try:
        thread = threading.Thread(target=student)
        thread.start(), thread.join()
        assert charts.bars(["a"], [1.0]).layout.font.size == 18 and seen["size"] == 12
    finally:
        charts.set_font_scale(1.0)


@pytest.mark.parametrize("lang, text", [("en", "It rained all night and the street was wet ."),
                                        ("zh", "下了一整夜的雨，街道很湿。")])
def test_next_sentence_random_b_shares_no_word_with_a(lang, text):
    at = open_app("next_sentence", text=text, lang=lang)
    for _ in range(12):  # every draw: never a B about the same thing (e.g. rain)
        run([b for b in at.button if b.key == "nsp_random"][0].click())
        pair = at.text_area(key="w_pair").value
        assert not re.search(r"\brain", pair.lower()) and "雨" not in pair, pair

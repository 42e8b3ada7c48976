"""1 · Tokenization: how the sentence becomes word pieces and ids (WordPiece, step by step)."""

import pandas as pd
import streamlit as st

from ui import charts, models, presenter, state, views, window
from ui.bidi import isolate
from ui.i18n import t


MAX_TRACED_WORDS = 60


@st.cache_data(max_entries=64, show_spinner=False)
def trace_view(name: str, sentence: str, pair: str | None) -> list:
    """The WordPiece trace (every candidate tried) of the first words of A, then of B."""
    tokenizer = models.loaded(name).tokenizer
    return (tokenizer.trace(sentence)[:MAX_TRACED_WORDS]
            + (tokenizer.trace(pair)[:MAX_TRACED_WORDS] if pair else []))


def code_span(text: str) -> str:
    """Markdown inline code (shows any text literally, backticks included)."""
    return f"`` {text} ``" if "`" in text else f"`{text}`"


s = state.current()
bert = models.current_bert()

st.title(t("tok.title"))
st.markdown(t("tok.intro", vocab=bert.tokenizer.vocab_size))

if not s.sentence.strip():
    st.info(t("input.empty"), icon="✍️")
    st.stop()

enc = models.encode(s.model, s.sentence, s.pair or None)
special = enc.special_tokens_mask
cut = enc.truncation
if cut:
    st.warning(t("input.truncated", max=bert.max_length,
                 n=len(cut.removed_a) + len(cut.removed_b)), icon="✂️")

# In presenter mode: the tokens, then (for a pair) its segments, then WordPiece's trace.
steps = presenter.Steps("tokenization", {"tokens": t("tok.tokens")}
                        | ({"pair": t("tok.pair_title")} if s.pair else {})
                        | {"trace": t("tok.trace")})

# ----------------------------------------------------------------------------- the tokens
st.subheader(t("tok.tokens"))
span = window.tokens(len(enc.tokens), key="tok_window")  # the chips and the table show these
by = "word"
if s.pair:
    by = st.segmented_control(t("tok.color_by"), ["word", "segment"], default="segment",
                              format_func=lambda k: t(f"tok.by_{k}"), key="tok_color_by") or "word"
views.tokenization.draw_chips(enc, span, by)
n_words = len({w for w in enc.word_ids if w is not None})
st.caption(t("tok.count", words=n_words, tokens=len(enc.tokens), special=sum(special)))
if not s.presenter:
    st.markdown(t("tok.tokens_caption"))
if any("\u4e00" <= ch <= "\u9fff" for ch in s.sentence + s.pair):
    st.info(t("tok.chinese"), icon="🀄")
if bert.tokenizer.do_lower_case and not s.presenter:
    st.caption(t("tok.lower"))

if cut:
    with st.expander(t("tok.cut")):
        if cut.removed_a:
            st.write(t("tok.cut_a", n=len(cut.removed_a)))
            st.code(" ".join(cut.removed_a[:300]), language=None, wrap_lines=True)
        if cut.removed_b:
            st.write(t("tok.cut_b", n=len(cut.removed_b)))
            st.code(" ".join(cut.removed_b[:300]), language=None, wrap_lines=True)

# ----------------------------------------------------------------------------- a pair
table = pd.DataFrame({  # the tokens of the window: every row shows, without inner scrolling
    t("tok.col_pos"): span,
    t("tok.col_token"): [enc.tokens[i] for i in span],
    t("tok.col_id"): [enc.ids[i] for i in span],
    t("tok.col_word"): ["" if enc.word_ids[i] is None else enc.words[enc.word_ids[i]]
                        for i in span],
    t("tok.col_segment"): [enc.type_ids[i] for i in span],
    t("tok.col_mask"): [enc.attention_mask[i] for i in span],
})
if s.pair:
    steps.section("pair")
    st.subheader(t("tok.pair_title"))
    st.markdown(t("tok.pair_caption"))
    st.dataframe(table, hide_index=True, width="stretch", height="content")
elif not s.presenter:
    with st.expander(t("tok.table")):
        st.dataframe(table, hide_index=True, width="stretch")

# ----------------------------------------------------------------------------- the trace
steps.section("trace")
st.subheader(t("tok.trace"))
if not s.presenter:
    st.caption(t("tok.trace_caption"))
traces = trace_view(s.model, s.sentence, s.pair or None)
if traces:
    interesting = next((i for i, tr in enumerate(traces) if len(tr.pieces) > 1 or tr.unk_reason), 0)
    # Isolated, a right-to-left word and its pieces each read in their own direction.
    pick = st.selectbox(t("tok.word"), range(len(traces)), index=interesting,
                        format_func=lambda i: f"{isolate(traces[i].word)}  →  "
                                              f"{isolate(' '.join(traces[i].pieces))}")
    tr = traces[pick]
    shown = tr.candidates[:120]
    st.html(charts.chips_html(
        [c.piece for c in shown],
        [charts.PALETTE[2] if c.matched else charts.SPECIAL_COLOR for c in shown],
        [("✓ " + t("tok.found")) if c.matched else "✗" for c in shown],
        strike=[not c.matched for c in shown]))
    if len(tr.candidates) > len(shown):
        st.caption(t("tok.more_tried", n=len(tr.candidates) - len(shown)))
    st.markdown(t("tok.tried", n=len(tr.candidates),
                  pieces=" ".join(code_span(p) for p in tr.pieces)))
    if tr.unk_reason == "no match":
        st.markdown(t("tok.unk_no_match"))
    elif tr.unk_reason == "too long":
        st.markdown(t("tok.unk_too_long"))
    if not s.presenter:
        with st.expander(t("tok.all_words")):
            st.dataframe(pd.DataFrame({t("tok.word"): [x.word for x in traces],
                                       t("tok.tokens"): [" ".join(x.pieces) for x in traces]}),
                         hide_index=True, width="stretch")
            if len(traces) >= MAX_TRACED_WORDS:
                st.caption(t("tok.traced_only", n=MAX_TRACED_WORDS))

"""1 · Tokenization: how the sentence becomes word pieces and ids (WordPiece, step by step)."""

import pandas as pd
import streamlit as st

from ui import cache, charts, state
from ui.i18n import t


def code_span(text: str) -> str:
    """Markdown inline code (shows any text literally, backticks included)."""
    return f"`` {text} ``" if "`" in text else f"`{text}`"


s = state.current()
bert = cache.current_bert()

st.title(t("tok.title"))
st.markdown(t("tok.intro", vocab=bert.tokenizer.vocab_size))

if not s.sentence.strip():
    st.info(t("input.empty"), icon="✍️")
    st.stop()

view = cache.token_view(s.model, s.sentence, s.pair or None)
special = view.special
n_cut = len(view.removed_a) + len(view.removed_b)
if n_cut:
    st.warning(t("input.truncated", max=view.max_length, n=n_cut), icon="✂️")

# ----------------------------------------------------------------------------- the tokens
st.subheader(t("tok.tokens"))
by = "word"
if s.pair:
    by = st.segmented_control(t("tok.color_by"), ["word", "segment"], default="segment",
                              format_func=lambda k: t(f"tok.by_{k}"), key="tok_color_by") or "word"
if by == "segment":
    colors = [charts.SEGMENT_COLORS[seg] for seg in view.type_ids]
    colors = [charts.SPECIAL_COLOR if sp else c for c, sp in zip(colors, special)]
    subs = [f"{i} · {seg}" for i, seg in zip(view.ids, view.type_ids)]
else:
    colors, subs = charts.word_colors(view.word_ids, special), [str(i) for i in view.ids]
st.html(charts.chips_html(view.tokens, colors, subs))
n_words = len({w for w in view.word_ids if w is not None})
st.caption(t("tok.count", words=n_words, tokens=len(view.tokens), special=sum(special)))
if not s.presenter:
    st.markdown(t("tok.tokens_caption"))
if any("\u4e00" <= ch <= "\u9fff" for ch in s.sentence + s.pair):
    st.info(t("tok.chinese"), icon="🀄")
if view.lowercase and not s.presenter:
    st.caption(t("tok.lower"))

if n_cut:
    with st.expander(t("tok.cut")):
        if view.removed_a:
            st.write(t("tok.cut_a", n=len(view.removed_a)))
            st.code(" ".join(view.removed_a[:300]), language=None, wrap_lines=True)
        if view.removed_b:
            st.write(t("tok.cut_b", n=len(view.removed_b)))
            st.code(" ".join(view.removed_b[:300]), language=None, wrap_lines=True)

# ----------------------------------------------------------------------------- a pair
table = pd.DataFrame({
    t("tok.col_pos"): range(len(view.tokens)),
    t("tok.col_token"): view.tokens,
    t("tok.col_id"): view.ids,
    t("tok.col_word"): ["" if w is None else view.words[w] for w in view.word_ids],
    t("tok.col_segment"): view.type_ids,
    t("tok.col_mask"): view.attention_mask,
})
if s.pair:
    st.subheader(t("tok.pair_title"))
    st.markdown(t("tok.pair_caption"))
    st.dataframe(table, hide_index=True, width="stretch", height=min(38 + 35 * len(table), 420))
elif not s.presenter:
    with st.expander(t("tok.table")):
        st.dataframe(table, hide_index=True, width="stretch")

# ----------------------------------------------------------------------------- the trace
st.subheader(t("tok.trace"))
if not s.presenter:
    st.caption(t("tok.trace_caption"))
traces = view.traces_a + view.traces_b
if traces:
    interesting = next((i for i, tr in enumerate(traces) if len(tr.pieces) > 1 or tr.unk_reason), 0)
    pick = st.selectbox(t("tok.word"), range(len(traces)), index=interesting,
                        format_func=lambda i: f"{traces[i].word}  →  {' '.join(traces[i].pieces)}")
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
            if len(traces) >= cache.MAX_TRACED_WORDS:
                st.caption(t("tok.traced_only", n=cache.MAX_TRACED_WORDS))

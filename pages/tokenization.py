"""1 · Tokenization: how the sentence becomes word pieces and ids (WordPiece, step by step)."""

import pandas as pd
import streamlit as st

from ui import charts, models, state
from ui.i18n import add, t

add({
    "tok.title": {"en": "Tokenization", "zh": "分词"},
    "tok.intro": {
        "en": "BERT never sees letters or whole words: it sees **word pieces** from a fixed "
              "vocabulary of {vocab:,}. The text is cut into words and punctuation, then each word "
              "is split greedily into the **longest piece** the vocabulary knows; pieces that "
              "continue a word start with `##`. A word that cannot be covered becomes `[UNK]`.",
        "zh": "BERT 看不到字母或完整的单词，它只看到来自固定词表（共 {vocab:,} 个）的**词元**（word piece）。"
              "文本先被切成单词和标点，然后每个单词被贪心地切成词表中**最长的片段**；接续一个单词的片段以 "
              "`##` 开头。无法覆盖的单词变成 `[UNK]`。"},
    "tok.tokens": {"en": "The model's input", "zh": "模型的输入"},
    "tok.tokens_caption": {
        "en": "One colour per word: pieces of the same word share it. `[CLS]` opens the input (its "
              "vector later stands for the whole text), `[SEP]` closes each sentence. The number "
              "under each piece is its id, the row of the embedding table it picks.",
        "zh": "每个单词一种颜色：同一单词的片段颜色相同。`[CLS]` 位于输入开头（它的向量之后代表整段文本），"
              "`[SEP]` 结束每个句子。每个词元下面的数字是它的编号，即它在嵌入表中所取的行。"},
    "tok.count": {"en": "{words} words → {tokens} tokens (with {special} special tokens)",
                  "zh": "{words} 个单词 → {tokens} 个词元（含 {special} 个特殊词元）"},
    "tok.color_by": {"en": "Colour by", "zh": "着色方式"},
    "tok.by_word": {"en": "word", "zh": "单词"},
    "tok.by_segment": {"en": "sentence (segment)", "zh": "句子（句段）"},
    "tok.chinese": {"en": "Chinese characters are cut one per token: BERT's tokenizer puts a space "
                          "around every CJK character before WordPiece.",
                    "zh": "中文按字切分，每个汉字是一个词元：BERT 的分词器在 WordPiece 之前会在每个汉字两边加空格。"},
    "tok.pair_title": {"en": "Two sentences: segment ids and attention mask",
                       "zh": "两个句子：句段编号与注意力掩码"},
    "tok.pair_caption": {
        "en": "Segment id 0 marks `[CLS]`, sentence A and its `[SEP]`; 1 marks sentence B and the "
              "last `[SEP]`. The attention mask is 1 for every real token (0 only for padding, "
              "which appears when several inputs of different lengths share a batch).",
        "zh": "句段编号 0 标记 `[CLS]`、句子 A 及其 `[SEP]`；1 标记句子 B 和最后一个 `[SEP]`。"
              "注意力掩码对每个真实词元为 1（只有填充位置为 0，填充出现在不同长度的输入组成一批时）。"},
    "tok.table": {"en": "Every token", "zh": "所有词元"},
    "tok.col_pos": {"en": "position", "zh": "位置"},
    "tok.col_token": {"en": "token", "zh": "词元"},
    "tok.col_id": {"en": "id", "zh": "编号"},
    "tok.col_word": {"en": "from word", "zh": "来自单词"},
    "tok.col_segment": {"en": "segment id", "zh": "句段编号"},
    "tok.col_mask": {"en": "attention mask", "zh": "注意力掩码"},
    "tok.cut": {"en": "What was cut off", "zh": "被截掉的部分"},
    "tok.cut_a": {"en": "from sentence A: {n} tokens", "zh": "来自句子 A：{n} 个词元"},
    "tok.cut_b": {"en": "from sentence B: {n} tokens", "zh": "来自句子 B：{n} 个词元"},
    "tok.trace": {"en": "WordPiece, step by step", "zh": "WordPiece 逐步演示"},
    "tok.trace_caption": {
        "en": "For the chosen word: every piece looked up in the vocabulary, longest first. The "
              "first one found is kept, and the search continues after it with `##`.",
        "zh": "对所选单词：按从长到短的顺序在词表中查找每个片段。找到的第一个被保留，然后在其后用 `##` 继续查找。"},
    "tok.word": {"en": "Word", "zh": "单词"},
    "tok.tried": {"en": "Tried {n} pieces → {pieces}", "zh": "尝试了 {n} 个片段 → {pieces}"},
    "tok.found": {"en": "in the vocabulary", "zh": "在词表中"},
    "tok.not_found": {"en": "not in the vocabulary", "zh": "不在词表中"},
    "tok.more_tried": {"en": "… and {n} more", "zh": "…… 还有 {n} 个"},
    "tok.unk_no_match": {"en": "WordPiece got stuck: no piece of the vocabulary matches what is left "
                               "of the word, so the **whole word** becomes `[UNK]` (unknown), not "
                               "just the rest.",
                         "zh": "WordPiece 卡住了：词表中没有任何片段能匹配单词剩下的部分，所以**整个单词**"
                               "都变成 `[UNK]`（未知），而不只是剩下的部分。"},
    "tok.unk_too_long": {"en": "Longer than 100 characters: `[UNK]` without trying.",
                         "zh": "超过 100 个字符：不尝试，直接变成 `[UNK]`。"},
    "tok.lower": {"en": "This vocabulary is uncased: the text is lower-cased and accents removed first.",
                  "zh": "该词表不区分大小写：文本会先转成小写并去掉重音符号。"},
    "tok.all_words": {"en": "All words", "zh": "所有单词"},
    "tok.traced_only": {"en": "The step-by-step trace covers the first {n} words.",
                        "zh": "逐步演示只包含前 {n} 个单词。"},
})



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

# ----------------------------------------------------------------------------- the tokens
st.subheader(t("tok.tokens"))
by = "word"
if s.pair:
    by = st.segmented_control(t("tok.color_by"), ["word", "segment"], default="segment",
                              format_func=lambda k: t(f"tok.by_{k}"), key="tok_color_by") or "word"
if by == "segment":
    colors = [charts.SEGMENT_COLORS[seg] for seg in enc.type_ids]
    colors = [charts.SPECIAL_COLOR if sp else c for c, sp in zip(colors, special)]
    subs = [f"{i} · {seg}" for i, seg in zip(enc.ids, enc.type_ids)]
else:
    colors, subs = charts.word_colors(enc.word_ids, special), [str(i) for i in enc.ids]
st.html(charts.chips_html(enc.tokens, colors, subs))
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
table = pd.DataFrame({
    t("tok.col_pos"): range(len(enc.tokens)),
    t("tok.col_token"): enc.tokens,
    t("tok.col_id"): enc.ids,
    t("tok.col_word"): ["" if w is None else enc.words[w] for w in enc.word_ids],
    t("tok.col_segment"): enc.type_ids,
    t("tok.col_mask"): enc.attention_mask,
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
traces = trace_view(s.model, s.sentence, s.pair or None)
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
            if len(traces) >= MAX_TRACED_WORDS:
                st.caption(t("tok.traced_only", n=MAX_TRACED_WORDS))

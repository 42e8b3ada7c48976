"""2 · Embeddings: the three vectors each token starts as, their sum, LayerNorm, and positions."""

import numpy as np
import pandas as pd
import streamlit as st

from bertcore import embeddings
from ui import charts, models, state
from ui.i18n import add, md_escape, t

add({
    "emb.title": {"en": "Embeddings", "zh": "嵌入"},
    "emb.intro": {
        "en": "Before any attention, each token becomes a vector of {dim} numbers: the sum of three "
              "rows looked up in three tables — one for the **word piece**, one for its "
              "**position** in the input, and one for its **segment** (sentence A or B). "
              "LayerNorm then rescales the sum. This is the input to layer 1.",
        "zh": "在任何注意力之前，每个词元先变成一个 {dim} 维的向量：它是从三张表中查出的三行之和——"
              "一行对应**词元本身**，一行对应它在输入中的**位置**，一行对应它的**句段**（句子 A 或 B）。"
              "然后 LayerNorm 对这个和进行缩放。这就是第 1 层的输入。"},
    "emb.pick": {"en": "Token", "zh": "词元"},
    "emb.parts": {"en": "The parts of “{token}” (position {pos})", "zh": "“{token}”（位置 {pos}）的组成部分"},
    "emb.row_word": {"en": "word piece “{token}” (row {id})", "zh": "词元 “{token}”（第 {id} 行）"},
    "emb.row_position": {"en": "position {pos}", "zh": "位置 {pos}"},
    "emb.row_segment": {"en": "segment {seg}", "zh": "句段 {seg}"},
    "emb.row_sum": {"en": "= sum", "zh": "= 和"},
    "emb.row_ln": {"en": "LayerNorm(sum)", "zh": "LayerNorm(和)"},
    "emb.first_dims": {"en": "The first {n} of {dim} dimensions:", "zh": "{dim} 个维度中的前 {n} 个："},
    "emb.all_dims": {"en": "Show all {dim} dimensions", "zh": "显示全部 {dim} 个维度"},
    "emb.heatmap": {"en": "All {dim} dimensions as colours (red positive, blue negative)",
                    "zh": "全部 {dim} 个维度的颜色图（红为正，蓝为负）"},
    "emb.heatmap_parts": {"en": "The three parts and their sum, all {dim} dimensions (red positive, blue negative)",
                          "zh": "三个部分及它们的和，全部 {dim} 个维度（红为正，蓝为负）"},
    "emb.heatmap_ln": {"en": "After LayerNorm (its own colour scale: the numbers are much larger)",
                       "zh": "LayerNorm 之后（单独的颜色刻度：这些数大得多）"},
    "emb.check": {"en": "Check: is that really what the model computes?", "zh": "验证：模型真的是这样计算的吗？"},
    "emb.check_caption": {
        "en": "The three rows above were looked up by hand in the weight tables and added here; the "
              "model's own embedding layer was run separately on the same input. Largest difference "
              "over all {tokens} tokens × {dim} dimensions:",
        "zh": "上面的三行是在权重表中手动查出并在这里相加的；模型自己的嵌入层则在同一输入上单独运行。"
              "在全部 {tokens} 个词元 × {dim} 个维度上的最大差值："},
    "emb.diff_sum": {"en": "sum vs model", "zh": "和 vs 模型"},
    "emb.diff_ln": {"en": "LayerNorm vs model output", "zh": "LayerNorm vs 模型输出"},
    "emb.check_ok": {"en": "They agree (up to float rounding).", "zh": "二者一致（仅有浮点舍入误差）。"},
    "emb.check_bad": {"en": "They differ more than rounding explains.", "zh": "二者的差异超出了舍入误差。"},
    "emb.positions": {"en": "How positions relate", "zh": "位置之间的关系"},
    "emb.positions_caption": {
        "en": "Cosine similarity between the position vectors of positions 0…{n}: 1 = same "
              "direction. In a trained BERT, nearby positions look alike (a bright band along the "
              "diagonal): the model learned order from data, nobody wrote a formula for it.",
        "zh": "位置 0…{n} 的位置向量两两之间的余弦相似度：1 表示方向相同。在训练好的 BERT 中，相邻位置彼此相似"
              "（沿对角线的亮带）：模型从数据中学会了顺序，没有人为它写公式。"},
    "emb.positions_n": {"en": "Positions shown", "zh": "显示的位置数"},
    "emb.positions_title": {"en": "cos(position i, position j)", "zh": "cos(位置 i, 位置 j)"},
    "emb.dim": {"en": "dimension", "zh": "维度"},
})

FIRST_DIMS = 8


@st.cache_data(max_entries=32, show_spinner=False)
def parts_view(name: str, sentence: str, pair: str | None) -> embeddings.EmbeddingParts:
    """Word, position and segment vectors, their sum and LayerNorm, checked against the model."""
    return embeddings.embedding_parts(models.loaded(name), models.encode(name, sentence, pair))


@st.cache_data(max_entries=16, show_spinner=False)
def position_view(name: str, n: int) -> np.ndarray:
    return embeddings.position_similarity(models.loaded(name), n)


s = state.current()
bert = models.current_bert()
dim = bert.config.hidden_size

st.title(t("emb.title"))
st.markdown(t("emb.intro", dim=dim))

if not s.sentence.strip():
    st.info(t("input.empty"), icon="✍️")
    st.stop()

enc = models.encode(s.model, s.sentence, s.pair or None)
parts = parts_view(s.model, s.sentence, s.pair or None)
if cut := enc.truncation:
    st.warning(t("input.truncated", max=bert.max_length,
                 n=len(cut.removed_a) + len(cut.removed_b)), icon="✂️")

# ----------------------------------------------------------------------------- one token
tokens = enc.tokens
label = lambda i: f"{i} · {md_escape(tokens[i])}"  # noqa: E731
default = 1 if len(tokens) > 2 else 0
if len(tokens) <= 24:
    pos = st.pills(t("emb.pick"), range(len(tokens)), default=default, format_func=label,
                   required=True,
                   key=f"emb_token_{len(tokens)}")
else:
    pos = st.selectbox(t("emb.pick"), range(len(tokens)), index=default,
                       format_func=lambda i: f"{i} · {tokens[i]}")
pos = default if pos is None else pos
tok, seg = tokens[pos], enc.type_ids[pos]

st.subheader(t("emb.parts", token=md_escape(tok), pos=pos))
rows = [t("emb.row_word", token=tok, id=enc.ids[pos]), t("emb.row_position", pos=pos),
        t("emb.row_segment", seg=seg), t("emb.row_sum"), t("emb.row_ln")]
matrix = np.stack([parts.word[pos], parts.position[pos], parts.segment[pos], parts.sum[pos],
                   parts.layernorm[pos]])
n_first = min(FIRST_DIMS, dim)
st.caption(t("emb.first_dims", n=n_first, dim=dim))
table = pd.DataFrame(matrix[:, :n_first], index=rows,
                     columns=[f"{t('emb.dim')} {d}" for d in range(n_first)])
st.dataframe(table.style.format("{:+.4f}"), width="stretch")
if not s.presenter and st.toggle(t("emb.all_dims", dim=dim), key="emb_all_dims"):
    full = pd.DataFrame(matrix.T, columns=rows)
    full.index.name = t("emb.dim")
    st.dataframe(full.style.format("{:+.4f}"), width="stretch", height=360)
# Two colour scales: LayerNorm's outputs are ~10-100x larger than the raw parts, and one shared
# scale would leave the parts (the point of this page) white.
st.plotly_chart(charts.vectors(matrix[:4], rows[:4], t("emb.heatmap_parts", dim=dim)), width="stretch",
                config={"displayModeBar": False}, key="emb_parts_fig")
ln_fig = charts.vectors(matrix[4:], rows[4:], t("emb.heatmap_ln"))
ln_fig.update_layout(height=170)  # one row: room for its colour bar
st.plotly_chart(ln_fig, width="stretch", config={"displayModeBar": False}, key="emb_ln_fig")

# ----------------------------------------------------------------------------- the check
st.subheader(t("emb.check"))
st.caption(t("emb.check_caption", tokens=len(tokens), dim=dim))
c1, c2 = st.columns(2)
c1.metric(t("emb.diff_sum"), f"{parts.sum_diff:.2e}")
c2.metric(t("emb.diff_ln"), f"{parts.output_diff:.2e}")
if max(parts.sum_diff, parts.output_diff) < 1e-4:
    st.success(t("emb.check_ok"), icon="✅")
else:
    st.error(t("emb.check_bad"))

# ----------------------------------------------------------------------------- positions
st.subheader(t("emb.positions"))
max_pos = bert.config.max_position_embeddings
n = st.slider(t("emb.positions_n"), 2, min(max_pos, 512), min(64, max_pos), key="emb_pos_n")
sim = position_view(s.model, n)
if not s.presenter:
    st.caption(t("emb.positions_caption", n=n - 1))
fig = charts.heatmap(sim, title=t("emb.positions_title"), colorscale=charts.DIVERGING, zmid=0,
                     zmin=-1, zmax=1, height=520, value_label="cos")
fig.update_xaxes(constrain="domain")
fig.update_yaxes(scaleanchor="x", constrain="domain")
st.plotly_chart(fig, width="stretch", config={"displayModeBar": False})

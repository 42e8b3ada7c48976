"""3 · Attention: any head of any layer, the arithmetic of one attention row, bertviz's views,
switching heads off, and what each head tends to look at (Clark et al. 2019; Vig 2019).

Everything numeric comes from ``bertcore.attention`` (and ``ui.bertviz_view`` for the bertviz HTML);
this page only lays it out.
"""

import numpy as np
import pandas as pd
import streamlit as st

from bertcore import MissingHeadError, attention
from ui import bertviz_view, charts, models, state
from ui.i18n import add, md_escape, t

add({
    "attn.title": {"en": "Attention", "zh": "注意力"},
    "attn.intro": {
        "en": "In every layer, each of the {heads} **heads** lets every token look at every token "
              "(itself included) and take a weighted mix of what it finds. The weights are the "
              "**attention**: for each token (a row) they are positive and add up to 1. This model "
              "has {layers} layers × {heads} heads = {total} of them, each with its own pattern.",
        "zh": "在每一层中，{heads} 个**注意力头**中的每一个都让每个词元查看所有词元（包括它自己），"
              "并把看到的内容加权混合。这些权重就是**注意力**：对每个词元（一行）来说，它们都是正数且加起来等于 1。"
              "这个模型有 {layers} 层 × {heads} 个头 = {total} 个注意力头，各有各的模式。"},
    "attn.section": {"en": "Show", "zh": "显示"},
    "attn.sec.head": {"en": "One head", "zh": "单个注意力头"},
    "attn.sec.example": {"en": "Worked example", "zh": "逐步计算"},
    "attn.sec.bertviz": {"en": "bertviz views", "zh": "bertviz 视图"},
    "attn.sec.off": {"en": "Switch heads off", "zh": "关闭注意力头"},
    "attn.sec.summary": {"en": "What heads look at", "zh": "注意力头关注什么"},
    "attn.query_axis": {"en": "query token (looking)", "zh": "查询词元（发出注意）"},
    "attn.key_axis": {"en": "key token (looked at)", "zh": "键词元（被关注）"},
    "attn.head_title": {"en": "Layer {layer}, head {head}: who looks at whom",
                        "zh": "第 {layer} 层，第 {head} 个头：谁在看谁"},
    "attn.head_caption": {
        "en": "Row = the token that is looking, column = the token it looks at; each row sums to 1. "
              "This head's dominant behaviour here: **{label}**.",
        "zh": "行 = 发出注意的词元，列 = 被关注的词元；每一行之和为 1。这个头在这里的主要行为：**{label}**。"},
    "attn.grid": {"en": "All {heads} heads of layer {layer}", "zh": "第 {layer} 层的全部 {heads} 个头"},
    "attn.grid_caption": {"en": "Small multiples: the same sentence, one square per head. Click a "
                                "head's button to open it above.",
                          "zh": "小多图：同一个句子，每个头一个方块。点击按钮可在上方打开该头。"},
    "attn.grid_head": {"en": "head {head}", "zh": "头 {head}"},
    "attn.open_head": {"en": "Open head {head}", "zh": "打开头 {head}"},
    "attn.weight": {"en": "attention", "zh": "注意力"},
    # worked example
    "attn.ex_intro": {
        "en": "How head {head} of layer {layer} computes the attention row of one token. Each token "
              "has a **query** q, a **key** k and a **value** v (each {dh} numbers, made from its "
              "hidden state by three learned matrices). The query is compared with every key; the "
              "scores become probabilities; the output is the probability-weighted sum of the values.",
        "zh": "第 {layer} 层第 {head} 个头如何计算一个词元的注意力行。每个词元都有一个**查询** q、一个**键** k "
              "和一个**值** v（各 {dh} 个数，由它的隐藏状态乘以三个学习到的矩阵得到）。查询与每个键比较；"
              "得分变成概率；输出是各个值按概率加权的和。"},
    "attn.ex_query": {"en": "Query token", "zh": "查询词元"},
    "attn.ex_step1": {"en": "① Query and keys", "zh": "① 查询与键"},
    "attn.ex_q_row": {"en": "q of “{token}”", "zh": "“{token}” 的 q"},
    "attn.ex_k_row": {"en": "k of {pos} “{token}”", "zh": "{pos} “{token}” 的 k"},
    "attn.ex_v_row": {"en": "p·v of {pos} “{token}”", "zh": "{pos} “{token}” 的 p·v"},
    "attn.ex_qk_title": {"en": "q (top row) and the key of every token, {dh} dimensions",
                         "zh": "q（第一行）和每个词元的键，共 {dh} 维"},
    "attn.ex_step2": {"en": "② Scores, scaling, mask, softmax", "zh": "② 得分、缩放、掩码、softmax"},
    "attn.ex_table_caption": {
        "en": "q·k is a dot product (multiply dimension by dimension, add up). Dividing by √{dh} = "
              "{sqrt:.3f} keeps the scores from growing with the vector size. The padding mask adds "
              "0 to real tokens (−∞ to padding). Softmax turns the row into probabilities. The last "
              "column is the model's own probability, from its forward pass.",
        "zh": "q·k 是点积（逐维相乘再相加）。除以 √{dh} = {sqrt:.3f} 可以防止得分随向量维度变大。"
              "填充掩码对真实词元加 0（对填充位置加 −∞）。softmax 把这一行变成概率。最后一列是模型自己"
              "在前向计算中得到的概率。"},
    "attn.col_token": {"en": "key token", "zh": "键词元"},
    "attn.col_qk": {"en": "q·k", "zh": "q·k"},
    "attn.col_scaled": {"en": "÷ √d", "zh": "÷ √d"},
    "attn.col_mask": {"en": "+ mask", "zh": "+ 掩码"},
    "attn.col_softmax": {"en": "softmax (ours)", "zh": "softmax（本页计算）"},
    "attn.col_model": {"en": "model's probability", "zh": "模型的概率"},
    "attn.diff_probs": {"en": "max |ours − model| (probabilities)", "zh": "最大 |本页 − 模型|（概率）"},
    "attn.diff_context": {"en": "max |Σ p·v − model| (output)", "zh": "最大 |Σ p·v − 模型|（输出）"},
    "attn.ex_step3": {"en": "③ Weighted sum of the values", "zh": "③ 值的加权和"},
    "attn.ex_sum_caption": {
        "en": "Each token's value v is scaled by its probability p; the sum is this head's output "
              "for “{token}” — exactly the slice of the model's context vector that belongs to "
              "this head (bottom row).",
        "zh": "每个词元的值 v 乘以它的概率 p；它们的和就是这个头对 “{token}” 的输出——恰好等于模型上下文向量中"
              "属于这个头的那一段（最后一行）。"},
    "attn.ex_sum_row": {"en": "= Σ p·v", "zh": "= Σ p·v"},
    "attn.ex_model_row": {"en": "model's output", "zh": "模型的输出"},
    "attn.ex_sum_title": {"en": "p·v per token, their sum, and the model's own output",
                          "zh": "每个词元的 p·v、它们的和，以及模型自己的输出"},
    "attn.ex_ok": {"en": "The numbers shown are the model's own: they agree up to float rounding.",
                   "zh": "这里显示的数字就是模型自己的：二者在浮点舍入误差内一致。"},
    "attn.ex_bad": {"en": "They differ more than float rounding explains.",
                    "zh": "二者的差异超出了浮点舍入误差。"},
    # bertviz
    "attn.bv_intro": {
        "en": "bertviz (Vig 2019) draws the same attention as lines: hover a token to see where it "
              "looks; the coloured squares select heads. Everything runs in this page, offline.",
        "zh": "bertviz（Vig 2019）把同样的注意力画成连线：把鼠标移到某个词元上可以看到它关注哪里；"
              "彩色方块用于选择注意力头。所有内容都在本页离线运行。"},
    "attn.bv_head": {"en": "Head view", "zh": "头视图"},
    "attn.bv_model": {"en": "Model view: every layer × head", "zh": "模型视图：所有层 × 头"},
    "attn.bv_model_caption": {"en": "One thumbnail per head; click one to enlarge it.",
                              "zh": "每个头一个缩略图；点击可放大。"},
    "attn.bv_large": {"en": "Long input: only layer {layer} is drawn, to keep the page light.",
                      "zh": "输入较长：为保持页面流畅，只绘制第 {layer} 层。"},
    "attn.bv_neuron": {"en": "Neuron view: where a score comes from", "zh": "神经元视图：得分从何而来"},
    "attn.bv_neuron_caption": {
        "en": "For the query token chosen in the worked example: each row is q × k, dimension by "
              "dimension (red adds to the score, blue subtracts); the row's total is q·k. On the "
              "right, the resulting attention.",
        "zh": "针对“逐步计算”中选中的查询词元：每一行是 q × k 的逐维乘积（红色增加得分，蓝色减少得分）；"
              "这一行的总和就是 q·k。右侧是得到的注意力。"},
    "attn.bv_products": {"en": "q × k, per dimension", "zh": "q × k（逐维）"},
    "attn.bv_probs": {"en": "attention", "zh": "注意力"},
    "attn.bv_dim": {"en": "dimension", "zh": "维度"},
    "attn.bv_query": {"en": "query: {token}", "zh": "查询：{token}"},
    "attn.bv_missing": {
        "en": "The bertviz views need three JavaScript files that are fetched once at set-up "
              "(`make vendor`, which runs `scripts/vendor_js.sh` with npm). They are missing here: "
              "{files}. The neuron view below works without them.",
        "zh": "bertviz 视图需要三个 JavaScript 文件，它们在安装时下载一次（`make vendor`，用 npm 运行 "
              "`scripts/vendor_js.sh`）。这里缺少：{files}。下面的神经元视图不需要它们。"},
    "attn.bv_all": {"en": "All", "zh": "全部"},
    "attn.bv_a_a": {"en": "Sentence A → Sentence A", "zh": "句子 A → 句子 A"},
    "attn.bv_b_b": {"en": "Sentence B → Sentence B", "zh": "句子 B → 句子 B"},
    "attn.bv_a_b": {"en": "Sentence A → Sentence B", "zh": "句子 A → 句子 B"},
    "attn.bv_b_a": {"en": "Sentence B → Sentence A", "zh": "句子 B → 句子 A"},
    "attn.bv_heads": {"en": "Heads", "zh": "注意力头"},
    "attn.bv_layers": {"en": "Layers", "zh": "层"},
    # heads off
    "attn.off_intro": {
        "en": "Switch heads off (their attention is multiplied by 0, so they add nothing) and see "
              "whether BERT still guesses the hidden words. Many single heads barely matter; some "
              "do (Michel et al. 2019, “Are Sixteen Heads Really Better than One?”).",
        "zh": "关闭一些注意力头（把它们的注意力乘以 0，使它们不再起作用），看看 BERT 还能否猜出被遮住的词。"
              "很多单个的头几乎无关紧要；有些头却很重要（Michel 等，2019，“Are Sixteen Heads Really Better than One?”）。"},
    "attn.off_pick": {"en": "Heads switched off", "zh": "已关闭的注意力头"},
    "attn.off_label": {"en": "layer {layer} · head {head}", "zh": "第 {layer} 层 · 头 {head}"},
    "attn.off_layer": {"en": "Switch off all of layer {layer}", "zh": "关闭第 {layer} 层的全部头"},
    "attn.off_clear": {"en": "Switch all back on", "zh": "全部重新打开"},
    "attn.off_need_mask": {
        "en": "This needs a hidden word: the sentence has no `[MASK]`. Pick a token to hide "
              "(the masked-words page shares this choice).",
        "zh": "这需要一个被遮住的词：句子里没有 `[MASK]`。请选一个词元把它遮住（“掩码预测”页面共享这个选择）。"},
    "attn.off_mask_pick": {"en": "Token to hide", "zh": "要遮住的词元"},
    "attn.off_mask_button": {"en": "Hide it", "zh": "遮住它"},
    "attn.off_no_token": {"en": "There is no ordinary token to hide in this input.",
                          "zh": "这个输入中没有可以遮住的普通词元。"},
    "attn.off_input": {"en": "The model reads: {text}", "zh": "模型读到的是：{text}"},
    "attn.off_mask": {"en": "[MASK] at position {pos}", "zh": "位置 {pos} 的 [MASK]"},
    "attn.off_before": {"en": "All heads on", "zh": "所有头都打开"},
    "attn.off_after": {"en": "With {n} head(s) off", "zh": "关闭 {n} 个头之后"},
    "attn.off_top1": {"en": "P(“{token}”)", "zh": "P(“{token}”)"},
    "attn.off_top1_help": {"en": "The probability of the best guess with all heads on, before → after.",
                           "zh": "所有头都打开时的最佳猜测的概率，关闭前 → 关闭后。"},
    "attn.off_changed": {"en": "The best guess changed: “{before}” → “{after}”.",
                         "zh": "最佳猜测变了：“{before}” → “{after}”。"},
    "attn.off_same": {"en": "The best guess is still “{token}” (distributions differ by {tv:.1%}).",
                      "zh": "最佳猜测仍然是 “{token}”（两个分布相差 {tv:.1%}）。"},
    "attn.off_none": {"en": "No head is switched off yet: pick some above.",
                      "zh": "还没有关闭任何注意力头：请在上面选择。"},
    # summary
    "attn.sum_intro": {
        "en": "For each head, averaged over the tokens of this input: how much attention goes to "
              "[CLS], to [SEP], to the previous token, to the next token, to the token itself, and "
              "how spread out it is (entropy). Clark et al. (2019, “What Does BERT Look At?”) found "
              "heads that specialise in each of these in a trained BERT.",
        "zh": "对每个注意力头，在本输入的所有词元上取平均：有多少注意力给了 [CLS]、给了 [SEP]、给了前一个词元、"
              "给了后一个词元、给了自己，以及注意力有多分散（熵）。Clark 等（2019，“What Does BERT Look At?”）"
              "发现，训练好的 BERT 中有专门做这些事的头。"},
    "attn.sum_cls": {"en": "to [CLS]", "zh": "关注 [CLS]"},
    "attn.sum_sep": {"en": "to [SEP]", "zh": "关注 [SEP]"},
    "attn.sum_prev": {"en": "to the previous token", "zh": "关注前一个词元"},
    "attn.sum_next": {"en": "to the next token", "zh": "关注后一个词元"},
    "attn.sum_self": {"en": "to itself", "zh": "关注自己"},
    "attn.sum_entropy": {"en": "entropy (nats, max {max:.2f})", "zh": "熵（奈特，最大 {max:.2f}）"},
    "attn.sum_labels": {"en": "Dominant behaviour of each head", "zh": "每个注意力头的主要行为"},
    "attn.sum_rule": {
        "en": "Rule: a head is named after a pattern when it gives it at least {dom:.0%} of its "
              "attention on average; otherwise it is “broad” when its entropy is at least {broad:.0%} "
              "of the maximum, and “mixed” if not.",
        "zh": "规则：如果一个头平均把至少 {dom:.0%} 的注意力给了某种模式，就用这种模式命名；否则，若其熵达到最大值的 "
              "{broad:.0%} 以上则为“广泛”，不然为“混合”。"},
    "attn.lbl.[CLS]": {"en": "[CLS]", "zh": "[CLS]"},
    "attn.lbl.[SEP]": {"en": "[SEP]", "zh": "[SEP]"},
    "attn.lbl.previous token": {"en": "previous token", "zh": "前一个词元"},
    "attn.lbl.next token": {"en": "next token", "zh": "后一个词元"},
    "attn.lbl.self": {"en": "self", "zh": "自己"},
    "attn.lbl.broad": {"en": "broad", "zh": "广泛"},
    "attn.lbl.mixed": {"en": "mixed", "zh": "混合"},
    "attn.lbl.off": {"en": "off", "zh": "已关闭"},
})

SECTIONS = ("head", "example", "bertviz", "off", "summary")
TOP_K = 5
MODEL_VIEW_MAX = 1_500_000  # attention numbers (L·H·T²) above which the model view shows one layer
PLOT = {"displayModeBar": False}
# One light colour per head label (attention.HEAD_LABELS order), as a stepwise plotly colour scale.
LABEL_COLORS = ["#C9D7E8", "#F6D3B0", "#C8E2C4", "#F3C4C5", "#CFE6E4", "#F6ECB5", "#E3D2E0", "#E6E6E6"]
LABEL_SCALE = [[i / (len(LABEL_COLORS) - 1), c] for i, c in enumerate(LABEL_COLORS)]


def head_label(name: str) -> str:
    return t(f"attn.lbl.{name}")


def kept(key: str, default, valid) -> None:
    """Seeds widget ``key`` from a copy that survives the widget not being drawn (other sections)."""
    ss = st.session_state
    store = ss.setdefault("_attn_kept", {})
    if key not in ss:
        value = store.get(key, default)
        ss[key] = value if valid(value) else default


def keep(key: str) -> None:
    st.session_state.setdefault("_attn_kept", {})[key] = st.session_state[key]


# ----------------------------------------------------------------------------- cached numbers

@st.cache_data(max_entries=32, show_spinner=False)
def summary_view(name: str, sentence: str, pair: str | None) -> dict:
    return attention.head_summary(models.explain(name, sentence, pair))


@st.cache_data(max_entries=64, show_spinner=False)
def layer_view(name: str, sentence: str, pair: str | None, layer: int) -> np.ndarray:
    return attention.layer_attention(models.explain(name, sentence, pair), layer)


@st.cache_data(max_entries=64, show_spinner=False)
def walk_view(name: str, sentence: str, pair: str | None, layer: int, head: int, pos: int) -> dict:
    return attention.walkthrough(models.explain(name, sentence, pair), layer, head, pos)


@st.cache_data(max_entries=64, show_spinner=False)
def off_view(name: str, sentence: str, pair: str | None, off: tuple, masks: tuple) -> dict:
    return attention.head_mask_effect(models.loaded(name), sentence, list(off), TOP_K, pair,
                                      list(masks))


@st.cache_data(max_entries=16, show_spinner=False)
def bertviz_html(kind: str, name: str, sentence: str, pair: str | None, layer: int,
                 labels: tuple, include: tuple | None) -> str:
    x = models.explain(name, sentence, pair)
    lab = dict(labels)
    if kind == "head":
        return bertviz_view.head_view_html(x, layer=layer, labels=lab,
                                           include_layers=list(include) if include else None)
    return bertviz_view.model_view_html(x, labels=lab, include_layers=list(include) if include else None)


# ----------------------------------------------------------------------------- page

s = state.current()
bert = models.current_bert()
cfg = bert.config
L, H = cfg.num_hidden_layers, cfg.num_attention_heads

st.title(t("attn.title"))
if not s.presenter:
    st.markdown(t("attn.intro", layers=L, heads=H, total=L * H))

if not s.sentence.strip():
    st.info(t("input.empty"), icon="✍️")
    st.stop()

s = state.clamp_layer_head(L, H)
pair = s.pair or None
x = models.explain(s.model, s.sentence, pair)
tokens = list(x.tokens)
T = len(tokens)
cut = x.encoding.truncation
if cut and (cut.removed_a or cut.removed_b):
    st.warning(t("input.truncated", max=bert.max_length, n=len(cut.removed_a) + len(cut.removed_b)),
               icon="✂️")

kept("attn_section", "head", lambda v: v in SECTIONS)
# The five sections take a row of their own (in one column they were cut off at the right edge).
section = st.segmented_control(t("attn.section"), SECTIONS, format_func=lambda k: t(f"attn.sec.{k}"),
                               key="attn_section", on_change=keep, args=("attn_section",),
                               required=True) or "head"
c1, c2, _ = st.columns([1, 1, 4])
c1.selectbox(t("common.layer"), list(range(L)), help=t("common.from_zero"), **state.bind("layer"))
c2.selectbox(t("common.head"), list(range(H)), help=t("common.from_zero"), **state.bind("head"))
s = state.current()
layer, head = s.layer, s.head
summary = summary_view(s.model, s.sentence, pair)
labels_axis = [f"{i} {tok}" for i, tok in enumerate(tokens)]


def token_label(i: int) -> str:
    return f"{i} · {tokens[i]}"


def section_head() -> None:
    att = layer_view(s.model, s.sentence, pair, layer)  # (H, T, T)
    st.subheader(t("attn.head_title", layer=layer, head=head))
    # Darkest = this head's largest weight, but never below 3/T: a head that spreads its attention
    # evenly (every weight ~1/T) must look pale, not like strong attention everywhere.
    zmax = min(1.0, max(float(att[head].max()), 3.0 / T))
    fig = charts.heatmap(att[head], tokens, tokens, None, zmin=0, zmax=zmax,
                         x_title=t("attn.key_axis"), y_title=t("attn.query_axis"),
                         value_label=t("attn.weight"), height=max(320, min(900, 120 + 26 * T)))
    st.plotly_chart(fig, width="stretch", config=PLOT, key="attn_head_fig")
    st.caption(t("attn.head_caption", label=head_label(summary["label"][layer, head])))

    st.subheader(t("attn.grid", heads=H, layer=layer))
    if not s.presenter:
        st.caption(t("attn.grid_caption"))
    per_row = 4 if H % 4 == 0 or H > 6 else H
    for start in range(0, H, per_row):
        cols = st.columns(per_row)
        for h in range(start, min(start + per_row, H)):
            with cols[h - start]:
                small = charts.heatmap(att[h], None, None,
                                       f"{t('attn.grid_head', head=h)} · {head_label(summary['label'][layer, h])}",
                                       zmin=0, zmax=1, show_scale=False, height=230,
                                       value_label=t("attn.weight"))
                small.update_xaxes(showticklabels=False)
                small.update_yaxes(showticklabels=False, scaleanchor="x")
                small.update_layout(margin=dict(l=4, r=4, t=36, b=4), title_font_size=12)
                st.plotly_chart(small, width="stretch", config={**PLOT, "staticPlot": True},
                                key=f"attn_grid_{h}")
                st.button(t("attn.open_head", head=h), key=f"attn_open_{h}", on_click=state.update,
                          kwargs={"head": h}, disabled=h == head, width="stretch")


def query_picker() -> int:
    default = 1 if T > 2 else 0
    kept("attn_query", default, lambda v: isinstance(v, int) and 0 <= v < T)
    return st.selectbox(t("attn.ex_query"), list(range(T)), format_func=token_label,
                        key="attn_query", on_change=keep, args=("attn_query",))


def section_example() -> None:
    dh = cfg.head_dim
    if not s.presenter:
        st.markdown(t("attn.ex_intro", layer=layer, head=head, dh=dh))
    pos = query_picker()
    w = walk_view(s.model, s.sentence, pair, layer, head, pos)
    st.latex(r"s_j = \frac{q \cdot k_j}{\sqrt{d_h}} + m_j \qquad p = \mathrm{softmax}(s) "
             r"\qquad \mathrm{out} = \sum_j p_j\, v_j")

    st.subheader(t("attn.ex_step1"))
    rows = [t("attn.ex_q_row", token=tokens[pos])] + [t("attn.ex_k_row", pos=j, token=tok)
                                                      for j, tok in enumerate(tokens)]
    st.plotly_chart(charts.vectors(np.vstack([w["q"][None], w["k"]]), rows,
                                   t("attn.ex_qk_title", dh=dh)),
                    width="stretch", config=PLOT, key="attn_qk_fig")

    st.subheader(t("attn.ex_step2"))
    if not s.presenter:
        st.caption(t("attn.ex_table_caption", dh=dh, sqrt=float(w["sqrt_dh"])))
    table = pd.DataFrame({
        t("attn.col_token"): [token_label(j) for j in range(T)],
        t("attn.col_qk"): w["qk"], t("attn.col_scaled"): w["scaled"], t("attn.col_mask"): w["mask"],
        t("attn.col_softmax"): w["softmax"], t("attn.col_model"): w["probs"],
    })
    fmt = {c: "{:+.4f}" for c in table.columns[1:4]} | {c: "{:.6f}" for c in table.columns[4:]}
    st.dataframe(table.style.format(fmt).bar(subset=[t("attn.col_softmax")], color="#4E79A755",
                                             vmin=0, vmax=1),
                 hide_index=True, width="stretch")
    m1, m2 = st.columns(2)
    m1.metric(t("attn.diff_probs"), f"{float(w['probs_max_abs_diff']):.1e}")
    m2.metric(t("attn.diff_context"), f"{float(w['context_max_abs_diff']):.1e}")
    if max(float(w["probs_max_abs_diff"]), float(w["context_max_abs_diff"])) < 1e-4:
        st.success(t("attn.ex_ok"), icon="✅")
    else:
        st.error(t("attn.ex_bad"))

    st.subheader(t("attn.ex_step3"))
    if not s.presenter:
        st.caption(t("attn.ex_sum_caption", token=tokens[pos]))
    rows = [t("attn.ex_v_row", pos=j, token=tok) for j, tok in enumerate(tokens)]
    rows += [t("attn.ex_sum_row"), t("attn.ex_model_row")]
    mat = np.vstack([w["weighted"], w["weighted_sum"][None], w["context"][None]])
    st.plotly_chart(charts.vectors(mat, rows, t("attn.ex_sum_title")), width="stretch", config=PLOT,
                    key="attn_sum_fig")


def bertviz_labels() -> tuple:
    keys = {"layer": "common.layer", "head": "common.head", "attention": "attn.title",
            "heads": "attn.bv_heads", "layers": "attn.bv_layers", "all": "attn.bv_all",
            "a_a": "attn.bv_a_a", "b_b": "attn.bv_b_b", "a_b": "attn.bv_a_b", "b_a": "attn.bv_b_a"}
    return tuple(sorted((k, t(v)) for k, v in keys.items()))


def section_bertviz() -> None:
    if not s.presenter:
        st.caption(t("attn.bv_intro"))
    missing = bertviz_view.missing_vendor()
    is_pair = bertviz_view.sentence_b_start(x) is not None
    if missing:
        st.warning(t("attn.bv_missing", files=", ".join(missing)), icon="🧩")
    else:
        big = L * H * T * T > MODEL_VIEW_MAX
        only = (layer,) if big else None
        st.subheader(t("attn.bv_head"))
        if big:
            st.caption(t("attn.bv_large", layer=layer))
        doc = bertviz_html("head", s.model, s.sentence, pair, layer, bertviz_labels(), only)
        st.iframe(doc, height=bertviz_view.view_height("head", T, L, H, is_pair),
                  alt=t("attn.bv_head"))
        st.subheader(t("attn.bv_model"))
        st.caption(t("attn.bv_model_caption") + (" " + t("attn.bv_large", layer=layer) if big else ""))
        doc = bertviz_html("model", s.model, s.sentence, pair, layer, bertviz_labels(), only)
        st.iframe(doc, height=bertviz_view.view_height("model", T, 1 if big else L, H, is_pair),
                  alt=t("attn.bv_model"))
    st.subheader(t("attn.bv_neuron"))
    if not s.presenter:
        st.caption(t("attn.bv_neuron_caption"))
    pos = query_picker()
    w = walk_view(s.model, s.sentence, pair, layer, head, pos)
    fig = bertviz_view.neuron_figure(w, tokens, pos, titles={
        "products": t("attn.bv_products"), "probs": t("attn.bv_probs"), "dim": t("attn.bv_dim"),
        "query": t("attn.bv_query", token="{token}")})
    st.plotly_chart(fig, width="stretch", config=PLOT, key="attn_neuron_fig")


def set_off(pairs) -> None:
    st.session_state["attn_off"] = sorted(pairs)
    keep("attn_off")


def section_off() -> None:
    if not s.presenter:
        st.markdown(t("attn.off_intro"))
    enc = x.encoding
    special = enc.special_tokens_mask
    typed = [i for i, tok in enumerate(tokens) if tok == bert.tokenizer.mask_token and not special[i]]
    masks = [m for m in s.masks if m < T and not special[m]]
    if not typed and not masks:
        st.info(t("attn.off_need_mask"), icon="🙈")
        choosable = [i for i in range(T) if not special[i]]
        if not choosable:
            st.warning(t("attn.off_no_token"))
            return
        c1, c2 = st.columns([3, 1], vertical_alignment="bottom")
        pick = c1.selectbox(t("attn.off_mask_pick"), choosable, format_func=token_label,
                            key="attn_mask_pick")
        c2.button(t("attn.off_mask_button"), on_click=state.update, kwargs={"masks": [pick]},
                  key="attn_mask_button", type="primary")
        return

    options = [(li, hi) for li in range(L) for hi in range(H)]
    kept("attn_off", [], lambda v: isinstance(v, list) and all(tuple(p) in options for p in v))
    st.session_state["attn_off"] = [tuple(p) for p in st.session_state["attn_off"]]
    off = st.multiselect(t("attn.off_pick"), options,
                         format_func=lambda p: t("attn.off_label", layer=p[0], head=p[1]),
                         key="attn_off", on_change=keep, args=("attn_off",))
    b1, b2, _ = st.columns([2, 2, 3])
    b1.button(t("attn.off_layer", layer=layer), key="attn_off_layer", on_click=set_off,
              args=(sorted({*map(tuple, off), *((layer, h) for h in range(H))}),))
    b2.button(t("attn.off_clear"), key="attn_off_clear", on_click=set_off, args=([],),
              disabled=not off)

    try:
        eff = off_view(s.model, s.sentence, pair, tuple(sorted(map(tuple, off))), tuple(masks))
    except MissingHeadError:
        st.warning(t("head.no_mlm"))
        return
    except ValueError:  # no [MASK] left (e.g. positions no longer fit the input)
        st.info(t("attn.off_need_mask"), icon="🙈")
        return
    shown = [bert.tokenizer.mask_token if i in eff["positions"] else tok for i, tok in enumerate(tokens)]
    st.caption(t("attn.off_input", text=md_escape(" ".join(shown))))
    if not off:
        st.info(t("attn.off_none"), icon="👆")
    for m, pos in enumerate(eff["positions"]):
        st.markdown(f"**{t('attn.off_mask', pos=pos)}**")
        c1, c2, c3 = st.columns([2, 2, 1.3])
        before, after = eff["before"][m], eff["after"][m]
        c1.plotly_chart(charts.bars([w for w, _ in before], [p for _, p in before], t("attn.off_before")),
                        width="stretch", config=PLOT, key=f"attn_before_{m}")
        c2.plotly_chart(charts.bars([w for w, _ in after], [p for _, p in after],
                                    t("attn.off_after", n=len(off))),
                        width="stretch", config=PLOT, key=f"attn_after_{m}")
        c3.metric(t("attn.off_top1", token=eff["top1"][m]), f"{eff['top1_after'][m]:.2%}",
                  delta=f"{100 * eff['top1_delta'][m]:+.2f} pp", help=t("attn.off_top1_help"))
        if off:
            if eff["top1_changed"][m]:
                c3.markdown(t("attn.off_changed", before=md_escape(eff["top1"][m]),
                              after=md_escape(after[0][0])))
            else:
                c3.caption(t("attn.off_same", token=md_escape(eff["top1"][m]), tv=eff["tv_distance"][m]))


def section_summary() -> None:
    if not s.presenter:
        st.markdown(t("attn.sum_intro"))
    heads_axis = [str(h) for h in range(H)]
    layers_axis = [str(li) for li in range(L)]
    panels = [("cls", t("attn.sum_cls")), ("sep", t("attn.sum_sep")), ("prev", t("attn.sum_prev")),
              ("next", t("attn.sum_next")), ("self", t("attn.sum_self")),
              ("entropy", t("attn.sum_entropy", max=float(summary["max_entropy"])))]
    for start in range(0, len(panels), 3):
        cols = st.columns(3)
        for col, (key, title) in zip(cols, panels[start:start + 3]):
            zmax = float(summary["max_entropy"]) if key == "entropy" else 1.0
            fig = charts.heatmap(summary[key], heads_axis, layers_axis, title, zmin=0, zmax=zmax,
                                 x_title=t("common.head"), y_title=t("common.layer"),
                                 height=max(240, 90 + 24 * L), value_label=title)
            fig.update_xaxes(tickangle=0)
            col.plotly_chart(fig, width="stretch", config=PLOT, key=f"attn_sum_{key}")
    st.subheader(t("attn.sum_labels"))
    names = list(attention.HEAD_LABELS)
    codes = np.vectorize(names.index)(summary["label"]).astype(float)
    text = [[head_label(v) for v in row] for row in summary["label"]]
    fig = charts.heatmap(codes, heads_axis, layers_axis, None, colorscale=LABEL_SCALE, zmin=0,
                         zmax=len(names) - 1, text=text, show_scale=False,
                         x_title=t("common.head"), y_title=t("common.layer"),
                         height=max(260, 90 + 34 * L), text_size=11)
    fig.update_traces(hovertemplate="%{text}<extra></extra>")
    fig.update_xaxes(tickangle=0)
    st.plotly_chart(fig, width="stretch", config=PLOT, key="attn_sum_labels")
    st.caption(t("attn.sum_rule", dom=attention.DOMINANT_SHARE, broad=attention.BROAD_ENTROPY))


{"head": section_head, "example": section_example, "bertviz": section_bertviz, "off": section_off,
 "summary": section_summary}[section]()

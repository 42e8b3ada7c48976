"""Start: what BERT is, the live model's architecture with its real numbers, and where to begin."""

from pathlib import Path

import streamlit as st

from ui import charts, models, state
from ui.i18n import add, t

add({
    "home.title": {"en": "BERT Lab", "zh": "BERT 实验室"},
    "home.intro": {
        "en": "**BERT** reads a whole sentence at once and turns every word piece into a vector "
              "that depends on all the others. It learned this by guessing hidden words "
              "(*masked language modelling*) and by telling whether two sentences belong together "
              "(*next-sentence prediction*). Everything you see here is computed live by the "
              "model below, from the sentence in the sidebar.",
        "zh": "**BERT** 一次读入整个句子，把每个词元变成一个向量，而这个向量取决于句中所有其他词元。"
              "它通过猜被遮住的词（*掩码语言模型*）和判断两个句子是否相连（*下一句预测*）学会了这些。"
              "这里展示的一切都由下面这个模型根据侧边栏中的句子实时计算。"},
    "home.arch": {"en": "The model you are using", "zh": "你正在使用的模型"},
    "home.arch_caption": {"en": "Drawn from the loaded model's own configuration and weights.",
                          "zh": "根据已加载模型自身的配置和权重绘制。"},
    "home.params_total": {"en": "Parameters", "zh": "参数总数"},
    "home.layers": {"en": "Layers", "zh": "层数"},
    "home.heads": {"en": "Heads per layer", "zh": "每层注意力头"},
    "home.hidden": {"en": "Hidden size", "zh": "隐藏维度"},
    "home.vocab": {"en": "Vocabulary", "zh": "词表大小"},
    "home.start": {"en": "Where to start", "zh": "从哪里开始"},
    "home.step1": {"en": "How the sentence is cut into word pieces, and their ids.",
                   "zh": "句子如何被切成词元，以及它们的编号。"},
    "home.step2": {"en": "The three vectors each token starts as, and their sum.",
                   "zh": "每个词元最初的三个向量及它们的和。"},
    "home.step3": {"en": "Which tokens look at which, in every layer and head.",
                   "zh": "在每一层、每个头中，哪些词元在关注哪些词元。"},
    "home.step4": {"en": "Hide words and watch BERT guess them.",
                   "zh": "遮住一些词，看 BERT 如何猜出它们。"},
    "home.step5": {"en": "Does sentence B follow sentence A?", "zh": "句子 B 是否紧接在句子 A 之后？"},
    "home.step6": {"en": "Teach a copy of the model a new task, live.",
                   "zh": "现场教模型的一个副本学会一个新任务。"},
    "home.step7": {"en": "Watch a tiny BERT learn language from scratch.",
                   "zh": "看一个微型 BERT 从零开始学习语言。"},
    "arch.input": {"en": "Input tokens", "zh": "输入词元"},
    "arch.embeddings": {"en": "Embeddings", "zh": "嵌入层"},
    "arch.layer": {"en": "Encoder layer", "zh": "编码器层"},
    "arch.attention": {"en": "Multi-head self-attention", "zh": "多头自注意力"},
    "arch.ffn": {"en": "Feed-forward network", "zh": "前馈网络"},
    "arch.pooler": {"en": "Pooler ([CLS])", "zh": "池化层（[CLS]）"},
    "arch.mlm": {"en": "Masked-LM head", "zh": "掩码语言模型头"},
    "arch.nsp": {"en": "Next-sentence head", "zh": "下一句预测头"},
    "arch.params": {"en": "params", "zh": "参数"},
    "arch.word": {"en": "word", "zh": "词元"},
    "arch.position": {"en": "position", "zh": "位置"},
    "arch.segment": {"en": "segment", "zh": "句段"},
})

bert = models.current_bert()
c = bert.config
counts = bert.num_parameters()
presenter = state.current().presenter

st.title(t("home.title"))
st.markdown(t("home.intro"))

st.subheader(t("home.arch"))
cols = st.columns(5)
cols[0].metric(t("home.params_total"), f"{sum(counts.values()) / 1e6:.1f} M"
               if sum(counts.values()) >= 1e6 else f"{sum(counts.values()):,}")
cols[1].metric(t("home.layers"), c.num_hidden_layers)
cols[2].metric(t("home.heads"), c.num_attention_heads)
cols[3].metric(t("home.hidden"), c.hidden_size)
cols[4].metric(t("home.vocab"), f"{c.vocab_size:,}")

labels = {k: t(f"arch.{k}") for k in ("input", "embeddings", "layer", "attention", "ffn",
                                      "pooler", "mlm", "nsp", "params", "word", "position",
                                      "segment")}
st.plotly_chart(charts.architecture(c, counts, labels), width="stretch",
                config={"displayModeBar": False})
if not presenter:
    st.caption(t("home.arch_caption"))

st.subheader(t("home.start"))
for name, key in [("tokenization", "home.step1"), ("embeddings", "home.step2"),
                  ("attention", "home.step3"), ("masked_lm", "home.step4"),
                  ("next_sentence", "home.step5"), ("fine_tuning", "home.step6"),
                  ("pretraining", "home.step7")]:
    if (Path(__file__).parent / f"{name}.py").is_file():
        st.page_link(f"pages/{name}.py", label=f"{t('nav.' + name)} — {t(key)}")

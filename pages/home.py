"""Start: what BERT is, the live model's architecture with its real numbers, and where to begin."""

from pathlib import Path

import streamlit as st

from ui import charts, models, state
from ui.i18n import t

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

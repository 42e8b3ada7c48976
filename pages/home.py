"""Start: what BERT is, the live model's architecture with its real numbers, and where to begin."""

from pathlib import Path

import streamlit as st

from ui import charts, models, presenter, state
from ui.i18n import t

HOME_CSS = """<style>
.st-key-bl_arch { container-type: inline-size; }
.st-key-bl_start [data-testid="stPageLink-NavLink"] * { white-space: normal; overflow: visible; }
</style>"""  # (the drawing follows the width it gets; the "where to start" links wrap on a phone)


@st.cache_data(max_entries=64, show_spinner=False)
def architecture_view(name: str, labels: tuple, text_px: int) -> str:
    """The architecture drawing of model ``name``: it changes with the model, the language
    (``labels``) and the type size (``text_px``, presenter mode's is larger), never with the
    sentence."""
    bert = models.loaded(name)
    return charts.architecture_html(bert.config, bert.num_parameters(), dict(labels))


bert = models.current_bert()
c = bert.config
counts = bert.num_parameters()
presenting = state.current().presenter
steps = presenter.Steps("home", {"intro": t("home.title"), "arch": t("home.arch"),
                                 "start": t("home.start")})

st.title(t("home.title"))
st.markdown(t("home.intro"))
models.offline_note()

steps.section("arch")
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
st.html(HOME_CSS)
with st.container(key="bl_arch"):
    st.html(architecture_view(state.current().model, tuple(labels.items()), charts.text_px()))
if not presenting:
    st.caption(t("home.arch_caption"))

steps.section("start")
st.subheader(t("home.start"))
with st.container(key="bl_start"):
    for name, key in [("tokenization", "home.step1"), ("embeddings", "home.step2"),
                      ("attention", "home.step3"), ("layer", "layer.home_step"),
                      ("masked_lm", "home.step4"),
                      ("next_sentence", "home.step5"), ("fine_tuning", "home.step6"),
                      ("pretraining", "home.step7")]:
        if (Path(__file__).parent / f"{name}.py").is_file():
            st.page_link(f"pages/{name}.py", label=f"{t('nav.' + name)} — {t(key)}")

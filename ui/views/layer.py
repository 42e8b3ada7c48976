"""The "Inside a layer" page's path of one token through one encoder layer (``pages/layer.py``),
also drawn by the lesson: the vector's length after each step and how much each sub-layer
changes it."""

from __future__ import annotations

import streamlit as st

from bertcore import layer as encoder_layer
from ui import charts, models, presenter
from ui.i18n import md_escape, t



@st.cache_data(max_entries=64, show_spinner=False)
def walk_view(name: str, sentence: str, pair: str | None, layer: int,
              pos: int) -> encoder_layer.LayerWalk:
    """Token ``pos`` through layer ``layer``, step by step, checked against the model."""
    return encoder_layer.walk(models.loaded(name), models.explain(name, sentence, pair), layer,
                              pos)


def draw_path(w: encoder_layer.LayerWalk, token: str, dim: int) -> None:
    """The path section: the flow, the vector's length after each step (bars: the sub-layers'
    updates in the second colour), and each sub-layer's change (size ratio and cosine)."""
    st.subheader(t("layer.path", layer=w.layer, token=md_escape(token), pos=w.position))
    st.markdown(t("layer.flow"))
    st.markdown(f"**{t('layer.norms_title', dim=dim)}**")
    labels = [t(f"layer.step_{name}") for name in encoder_layer.STEPS]
    kinds = [charts.PALETTE[1] if name in ("attention", "ffn") else charts.PALETTE[0]
             for name in encoder_layer.STEPS]
    st.html(charts.bars_html(labels, w.norms, percent=False, colors=kinds))
    st.caption(t("layer.norms_caption"))

    st.markdown(f"**{t('layer.change_title')}**")
    rows = []
    for name, change in (("attention", w.attention_change), ("ffn", w.ffn_change)):
        rows.append({t("layer.col_sublayer"): t(f"layer.sub_{name}"),  # (the lengths: above)
                     t("layer.col_ratio"): f"{change['ratio']:.2f}",
                     t("layer.col_cos"): f"{change['cos']:.3f}"})
    presenter.table(rows)
    st.caption(t("layer.layer_cos", layer=w.layer, cos=w.layer_cosine))
    st.caption(t("layer.residual_ln", dim=dim))

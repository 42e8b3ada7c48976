"""The attention page's one-head heatmap and its "switch heads off" guesses
(``pages/attention.py``), also drawn by the lesson."""

from __future__ import annotations

import numpy as np
import streamlit as st

from bertcore import attention
from ui import charts, models
from ui.i18n import md_escape, t

TOP_K = 5
# Presenter mode's one-head heatmap: what fits under the controls of a 1440 × 900 projector with
# rows of 18-pixel labels (measured in the browser): 540 pixels.
PRESENTER_HEATMAP = 540


@st.cache_data(max_entries=64, show_spinner=False)
def layer_view(name: str, sentence: str, pair: str | None, layer: int, first: int,
               stop: int) -> np.ndarray:
    return attention.layer_attention(models.explain(name, sentence, pair), layer,
                                     range(first, stop))


@st.cache_data(max_entries=16, show_spinner=False)
def all_heads_view(name: str, sentence: str, pair: str | None, masks: tuple) -> tuple:
    return attention.mask_probabilities(models.loaded(name), sentence, (), pair, list(masks))


@st.cache_data(max_entries=64, show_spinner=False)
def off_view(name: str, sentence: str, pair: str | None, off: tuple, masks: tuple) -> dict:
    # The predictions with every head on are shared by every choice of heads to switch off.
    return attention.head_mask_effect(models.loaded(name), sentence, list(off), TOP_K, pair,
                                      list(masks), all_heads_view(name, sentence, pair, masks))


def draw_head(att: np.ndarray, shown: list[str], n_tokens: int, presenter: bool, where=None,
              key: str = "attn_head_fig") -> None:
    """One head's attention over the tokens ``shown`` (rows: queries, columns: keys).

    Args:
        att: (W, W) the head's probabilities among the shown tokens.
        n_tokens: tokens in the whole input (T).
        presenter: presenter mode (a shorter chart, to fit under the controls).
        where: the container to draw in (default: here).
    """
    where = where or st
    # Darkest = this head's largest weight, but never below 3/T: a head that spreads its attention
    # evenly (every weight ~1/T) must look pale, not like strong attention everywhere.
    zmax = min(1.0, max(float(att.max()), 3.0 / n_tokens))
    # Presenter mode: short enough to sit under the controls on a 900-pixel-high projector.
    tallest = PRESENTER_HEATMAP if presenter else 900
    fig = charts.heatmap(att, shown, shown, None, zmin=0, zmax=zmax,
                         x_title=t("attn.key_axis"), y_title=t("attn.query_axis"),
                         value_label=t("attn.weight"),
                         height=max(320, min(tallest, 120 + 26 * len(shown))))
    where.plotly_chart(fig, width="stretch", config=charts.plot_config(key), key=key)


def draw_off(eff: dict, m: int, n_off: int) -> None:
    """The ``m``-th [MASK]'s guesses with all heads and with ``n_off`` heads off, and what
    happened to the first guess; with no head off, the guesses alone (the other two would
    repeat them), in the same place."""
    c1, c2, c3 = st.columns([2, 2, 1.3])
    before, after = eff["before"][m], eff["after"][m]
    c1.html(charts.bars_html([w for w, _ in before], [p for _, p in before],
                             t("attn.off_before"), x_max=1.0))
    if not n_off:
        return
    c2.html(charts.bars_html([w for w, _ in after], [p for _, p in after],
                             t("attn.off_after", n=n_off), x_max=1.0))
    c3.metric(t("attn.off_top1", token=eff["top1"][m]), f"{eff['top1_after'][m]:.2%}",
              delta=f"{100 * eff['top1_delta'][m]:+.2f} pp", help=t("attn.off_top1_help"))
    if eff["top1_changed"][m]:
        c3.markdown(t("attn.off_changed", before=md_escape(eff["top1"][m]),
                      after=md_escape(after[0][0])))
    else:
        c3.caption(t("attn.off_same", token=md_escape(eff["top1"][m]), tv=eff["tv_distance"][m]))

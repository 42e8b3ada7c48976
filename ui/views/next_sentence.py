"""The next-sentence page's answer (``pages/next_sentence.py``), also drawn by the lesson:
P(IsNext) for a pair as a gauge, with the verdict and the two sentences."""

from __future__ import annotations

import streamlit as st

from bertcore import next_sentence
from ui import charts, models
from ui.i18n import t

SHOWN_CHARS = 300  # a long sentence's text next to the answer: its beginning


@st.cache_data(max_entries=64, show_spinner=False)
def pair_view(name: str, a: str, b: str) -> next_sentence.PairView:
    """P(IsNext), the segments, and the attention from A's tokens to B's in every layer."""
    return next_sentence.read_pair(models.loaded(name), models.encode(name, a, b))


def clip(text: str) -> str:
    return text if len(text) <= SHOWN_CHARS else text[:SHOWN_CHARS].rstrip() + " …"


def draw_answer(view: next_sentence.PairView, a: str, b: str, example: bool,
                key: str = "nsp") -> None:
    """The gauge of P(IsNext) and the verdict, beside sentences A and B (``example``: the pair is
    the built-in example, said so)."""
    left, right = st.columns([2, 3])
    with left:
        st.plotly_chart(charts.gauge(view.p_is_next, t("nsp.p"), left=t("nsp.not_next_short"),
                                     right=t("nsp.is_next_short")),
                        width="stretch", config=charts.plot_config("next-sentence"),
                        key=f"{key}_gauge")
        st.markdown(t("nsp.is_next") if view.p_is_next >= 0.5 else t("nsp.not_next"))
    with right:
        st.caption(t("nsp.example_a_label") if example else t("nsp.a"))
        st.text(clip(a))
        st.caption(t("nsp.example_b_label") if example else t("nsp.b"))
        st.text(clip(b))

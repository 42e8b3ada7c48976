"""The tokenization page's token chips (``pages/tokenization.py``), also drawn by the lesson."""

from __future__ import annotations

import streamlit as st

from ui import charts


def draw_chips(enc, span: range, by: str = "word") -> None:
    """The tokens of ``span`` as chips under their ids, coloured by word (a word's pieces share a
    colour) or, ``by="segment"``, by sentence (A, B), with [CLS]/[SEP] grey."""
    special = enc.special_tokens_mask
    if by == "segment":
        colors = [charts.SEGMENT_COLORS[seg] for seg in enc.type_ids]
        colors = [charts.SPECIAL_COLOR if sp else c for c, sp in zip(colors, special)]
        subs = [f"{i} · {seg}" for i, seg in zip(enc.ids, enc.type_ids)]
    else:
        colors, subs = charts.word_colors(enc.word_ids, special), [str(i) for i in enc.ids]
    st.html(charts.chips_html([enc.tokens[i] for i in span], [colors[i] for i in span],
                              [subs[i] for i in span]))

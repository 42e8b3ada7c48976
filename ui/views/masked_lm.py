"""The masked-words page's guesses (``pages/masked_lm.py``), also drawn by the lesson: the top
guesses for a hidden word, and the same guesses read with both sides and with the left only."""

from __future__ import annotations

import streamlit as st

from bertcore import bidirectional, masked_lm
from ui import charts, models
from ui.i18n import md_escape, t

K = 5  # guesses shown per hidden word


@st.cache_data(max_entries=64, show_spinner=False)
def mask_view(name: str, sentence: str, pair: str | None, positions: tuple[int, ...],
              k: int = K, greedy: bool = True) -> masked_lm.MaskView:
    """Predictions for the masked positions: independent, greedy (when ``greedy``), and per layer
    (logit lens), with the rank of each hidden word."""
    return masked_lm.predict_masks(models.loaded(name), models.encode(name, sentence, pair),
                                   positions, k, greedy=greedy)


@st.cache_data(max_entries=16, show_spinner=False)
def directions_view(name: str, sentence: str, pair: str | None, positions: tuple[int, ...],
                    layer: int, head: int, k: int = K) -> bidirectional.DirectionsView:
    """The guesses and one head's attention, read with both sides and with a causal mask."""
    return bidirectional.compare(models.loaded(name), models.encode(name, sentence, pair),
                                 positions, layer, head, k)


def pct(p: float) -> str:
    return f"{p:.1%}" if p >= 0.001 else "< 0.1%"


def draw_guess(mv: masked_lm.MaskView, m: int, original: str, vocab_size: int) -> None:
    """The top guesses for the ``m``-th hidden position (the hidden word highlighted when among
    them) and the hidden word's rank among all ``vocab_size`` tokens."""
    pos, hidden, guesses = mv.positions[m], mv.hidden_tokens[m], mv.top_tokens[m]
    st.html(charts.bars_html(guesses, mv.top_probs[m], t("mlm.mask_title", pos=pos, orig=original),
                             x_max=1.0,
                             highlight=guesses.index(hidden) if hidden in guesses else None))
    if hidden is not None:
        st.markdown(t("mlm.hidden_rank", word=md_escape(hidden), rank=f"{mv.hidden_ranks[m]:,}",
                      p=pct(mv.hidden_probs[m]), vocab=f"{vocab_size:,}"))


def draw_directions(dv: bidirectional.DirectionsView, m: int) -> None:
    """The ``m``-th hidden word's guesses side by side, read with both sides and with the left
    only, and the hidden word's rank in each."""
    pos, hidden = dv.positions[m], dv.hidden_tokens[m]
    cols = st.columns(2)
    for col, side in zip(cols, ("both", "left")):
        reading = getattr(dv, side)
        guesses = reading.top_tokens[m]
        with col:
            st.html(charts.bars_html(guesses, reading.top_probs[m], t(f"dir.{side}"), x_max=1.0,
                                     highlight=guesses.index(hidden) if hidden in guesses
                                     else None))
    if hidden is not None:
        st.markdown(t("dir.hidden", word=md_escape(hidden), pos=pos,
                      both_rank=f"{dv.both.hidden_ranks[m]:,}", both_p=pct(dv.both.hidden_probs[m]),
                      left_rank=f"{dv.left.hidden_ranks[m]:,}",
                      left_p=pct(dv.left.hidden_probs[m])))

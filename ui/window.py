"""A window of the tokens, for views that cannot be read (or drawn quickly) at 512 tokens.

A heatmap with 512 token labels is unreadable and slow to draw; so is a table of 512 rows in front
of a class. Such a view shows ``WIDTH`` contiguous tokens instead, chosen with a slider whose
first token is kept in the URL (``state.window``), with a notice saying what is shown. Inputs that
fit show whole, exactly as without a window. Slicing happens before a figure is built, so the cost
of a view grows with the tokens it shows, not with the input.

    span = window.tokens(len(tokens), focus=query)   # a range; draws the slider when needed
    fig = charts.heatmap(att[span][:, span], ...)
"""

from __future__ import annotations

import streamlit as st

from . import state
from .i18n import t

WIDTH = 32  # tokens a windowed view shows: about what a heatmap's axis can label legibly


def start_for(n: int, width: int, start: int, focus: int | None = None) -> int:
    """The first token of a ``width``-token window over ``n`` tokens: ``start`` (clamped), or,
    when ``focus`` falls outside that window, the window that has ``focus`` a quarter of the way
    in."""
    last = max(0, n - width)
    start = min(max(0, start), last)
    if focus is not None and not start <= focus < start + width:
        start = min(max(0, focus - width // 4), last)
    return start


def tokens(n: int, *, focus: int | None = None, width: int = WIDTH, key: str = "window") -> range:
    """The positions a view shows: all ``n`` when they fit in ``width``, else a window, with a
    slider (bound to ``state.window``) and a notice.

    Args:
        n: tokens in the input.
        focus: a position the window must contain (the queried or masked token), if any.
        width: tokens shown at most.
        key: the slider's widget key (one per place a page draws it).
    """
    if n <= width:
        return range(n)
    s = state.current()
    start = start_for(n, width, s.window, focus)
    if start != s.window:
        state.update(window=start)
    st.slider(t("window.label"), 0, n - width, help=t("window.help", width=width),
              **state.bind("window", key))
    start = start_for(n, width, state.current().window)
    st.caption(t("window.notice", first=start, last=start + width - 1, n=n))
    return range(start, start + width)

"""Plotly figures and small HTML builders: pure functions of arrays and labels.

One calm colour scheme for the whole app. Every label that may come from user text (tokens, words)
is HTML-escaped here, because plotly renders a small HTML subset in labels and the token chips are
HTML: user text is always shown as text, never interpreted.

One colour language, the same on every chart (and in the bertviz neuron view):

* ``DIVERGING`` (ColorBrewer red-blue, "RdBu_r") for signed values (vector components, q·k terms,
  similarities): red above 0, blue below 0, white at 0, always centred on 0 (``zmid=0``) with
  ±the largest magnitude at the ends, so a colour means the same size in both directions;
* ``SEQUENTIAL`` (ColorBrewer "Blues") for probabilities, attention weights and counts: white is
  nothing, dark blue is the most;
* ``PALETTE`` (Tableau 10) for categories (words, segments, classes), never as a scale of amounts.

Both scales are colour-blind-safe (they vary in lightness as well as hue: red and blue stay apart
for every common form of colour blindness, and print in grey as a ramp).

Text is written to be read from the back of a classroom: every chart's text (tick labels, cell
text, titles, colour-bar ticks, legends, notes) gets an explicit size and a dark colour
(:func:`readable`; ``INK`` and ``INK_MUTED`` both pass WCAG AA, contrast ≥ 4.5:1, on the charts'
white background), because Streamlit's own chart theme would otherwise draw 12 px pale-grey ticks.
Presenter mode enlarges every chart's type: ``app.py`` calls :func:`set_font_scale` at the top of
each run, and no chart text is then under ``PRESENTER_MIN_PX`` (18 px). The scale lives in a
context variable, so it is per session (Streamlit runs each session's script in its own thread) and
never leaks from a projected session to a student's. A figure built elsewhere gets the same text
rules from ``charts.readable(fig)``.

Token axes are numeric with the tokens as tick text, so a token that occurs twice ("the … the")
keeps two rows instead of being merged by plotly's categorical axis. Their labels never overlap:
plotly turns them (0°, 45° or 90°, the first that fits the width the chart really gets), Chinese,
Japanese and Korean tokens stay upright (a two-character token is stacked, one character a line,
and turns only when even that cannot fit, on a phone); where even turned labels are too many for
the width a chart gets, every 2nd, 4th, … is shown (:func:`column_labels_css`, on every page).
A title sits above the labels and the axis title (``title.automargin``), never on them, and a
long one is wrapped so that a phone shows all of it.

Building a figure is most of what a page's run costs (plotly checks every property as it is set),
and a class of forty students following the teacher asks for the same figures forty times. So the
figure builders are :func:`shared`: a figure built once for some arguments and type size is kept
(the last ``SHARED_FIGURES``) and handed to every session that asks for the same one. A shared
figure is read-only (its ``to_dict()``, what ``st.plotly_chart`` sends, is made once); a caller
that changes a figure after it is built asks for its own with ``builder.fresh(...)``.
"""

from __future__ import annotations

import functools
import hashlib
import html
import json
import pickle
import re
import threading
from collections import OrderedDict
from contextvars import ContextVar
from pathlib import Path

import numpy as np
import plotly.colors
import plotly.graph_objects as go
import streamlit

from .bidi import bidi_runs, text_direction

# Calm, colour-blind-friendly (Tableau 10 muted).
PALETTE = ["#4E79A7", "#F28E2B", "#59A14F", "#E15759", "#76B7B2", "#EDC948", "#B07AA1",
           "#FF9DA7", "#9C755F", "#BAB0AC"]
SEGMENT_COLORS = ("#4E79A7", "#F28E2B")  # sentence A, sentence B
SPECIAL_COLOR = "#8C8C8C"
INK = "#2B2D42"
SEQUENTIAL = "Blues"
DIVERGING = "RdBu_r"
FONT = dict(family="Inter, 'Noto Sans CJK SC', 'PingFang SC', 'Microsoft YaHei', sans-serif",
            color=INK)


INK_MUTED = "#4A4E5E"  # secondary chart text (axis titles, notes): 8.4:1 on white
MODEBAR_ROOM = 26  # px at the top of every figure for the mode bar (see plot_config), above
# what the chart draws (a heatmap's top labels, a long bar's value); a builder that sizes its
# figure itself adds it, a height a caller asks for holds it
PAPER = "#FFFFFF"  # every chart's background, under any Streamlit theme (the text is dark)
BASE_FONT_SIZE = 12  # plotly's default
PRESENTER_MIN_PX = 18  # in presenter mode no chart text is smaller (read from the back row)
TITLE_LINE = 48  # characters of a chart title's line: what a phone's width holds at 16 px
PRESENTER_TITLE_LINE = 80  # the same on a projector (presenter mode is not for phones)
# A legend in a row at the foot of the figure: plotly keeps it clear of the axis title above it
# (a legend placed in the plot's own units, y=-0.2, runs into "step" once the type is large).
LEGEND_BELOW = dict(orientation="h", yref="container", y=0, yanchor="bottom", x=0)
_FONT_SCALE: ContextVar[float] = ContextVar("bertlab_chart_font_scale", default=1.0)


def set_font_scale(scale: float) -> None:
    """Type size of the charts built next in this thread (session): 1.0 normal, ~1.5 for
    projecting."""
    _FONT_SCALE.set(float(scale))


def font_scale() -> float:
    """The type scale set for this thread (a fragment's rerun does not run app.py: it sets it
    again from what the page's run saw)."""
    return _FONT_SCALE.get()


def px(size: float) -> int:
    """A size in pixels (type, margins, heights) at the current scale."""
    return round(size * _FONT_SCALE.get())


def text_px(size: float = BASE_FONT_SIZE) -> int:
    """A text size in pixels at the current scale: ``px(size)``, and in presenter mode (any scale
    above 1) never under ``PRESENTER_MIN_PX``."""
    n = px(size)
    return max(n, PRESENTER_MIN_PX) if _FONT_SCALE.get() > 1 else n


def esc(text) -> str:
    """Escapes text for plotly labels and HTML (``<b>`` in a sentence stays "<b>")."""
    return html.escape(str(text), quote=True)


# ----------------------------------------------------------------------------- legible text

def _font(font: dict, size: int, color: str) -> dict:
    """A plotly font at least ``size`` px, in ``color`` unless it already has one."""
    return dict(size=max(font.get("size") or 0, size), color=font.get("color") or color)


def _text_rules(layout: dict, traces: list[dict]) -> tuple[dict, list[dict]]:
    """What :func:`readable` changes in a figure given as its layout and traces (plotly JSON):
    the layout's changes, annotations included, and one change per trace."""
    small, label = text_px(), text_px(13)
    get = lambda d, *path: functools.reduce(lambda x, k: x.get(k) or {}, path, d)  # noqa: E731
    change = dict(font=dict(size=max(get(layout, "font").get("size") or 0, small)),
                  legend=dict(font=_font(get(layout, "legend", "font"), small, INK)),
                  uniformtext=dict(minsize=small, mode="show"))  # bar text never shrinks
    if get(layout, "title").get("text"):
        change["title"] = dict(font=_font(get(layout, "title", "font"), text_px(16), INK))
    if not traces or any(tr.get("type") != "indicator" for tr in traces):  # has x/y axes
        for name in {"xaxis", "yaxis", *(k for k in layout if re.fullmatch(r"[xy]axis\d+", k))}:
            # ticklabeloverflow "allow": with automargin every label has room, and plotly's
            # default ("hide past div") measures each label's box after drawing it, a forced
            # layout each (benchmarks/NOTES_redraw.md).
            change[name] = dict(tickfont=_font(get(layout, name, "tickfont"), small, INK),
                                automargin=True, ticklabeloverflow="allow",
                                title=dict(font=_font(get(layout, name, "title", "font"), label,
                                                      INK_MUTED)))
    if notes := layout.get("annotations"):
        change["annotations"] = [dict(n, font=dict(get(n, "font"), size=max(
            get(n, "font").get("size") or 0, small))) for n in notes]
    per_trace = []
    for tr in traces:
        kind, one = tr.get("type"), {}
        if kind == "heatmap":
            one["colorbar"] = dict(tickfont=_font(get(tr, "colorbar", "tickfont"), small, INK),
                                   title=dict(font=_font(get(tr, "colorbar", "title", "font"),
                                                         label, INK_MUTED)))
        if kind in ("heatmap", "bar") and (tr.get("text") is not None or tr.get("texttemplate")):
            one["textfont"] = dict(size=max(get(tr, "textfont").get("size") or 0, small))
        if kind == "indicator":
            one["gauge"] = dict(axis=dict(tickfont=_font(get(tr, "gauge", "axis", "tickfont"),
                                                         small, INK)))
            one["title"] = dict(font=_font(get(tr, "title", "font"), small, INK))
        per_trace.append(one)
    return change, per_trace


def readable(fig: go.Figure) -> go.Figure:
    """Gives every text of ``fig`` an explicit legible size and a dark colour; returns ``fig``.

    Tick labels (in ``INK``: they are the tokens and words a class reads), axis titles
    (``INK_MUTED``), colour-bar ticks and titles, legend, cell and bar text, annotations and the
    title: each at least :func:`text_px` (18 px in presenter mode), each colour kept where a caller
    chose one. Streamlit's chart theme would otherwise draw the ticks and axis titles 12-14 px in a
    pale grey (3.8:1, below WCAG AA). Hover labels are left alone (read up close). The builders here
    get it from :func:`_layout`; a figure built elsewhere (e.g. in a page) can call it.
    """
    layout, per_trace = _text_rules(fig.layout.to_plotly_json(),
                                    [tr.to_plotly_json() for tr in fig.data])
    fig.update_layout(layout)
    for tr, change in zip(fig.data, per_trace):
        if change:
            tr.update(change)
    return fig


def _merge(into: dict, change: dict) -> dict:
    """``change`` merged into ``into`` (nested dicts merge, anything else replaces); returns it."""
    for key, value in change.items():
        if isinstance(value, dict) and isinstance(into.get(key), dict):
            _merge(into[key], value)
        else:
            into[key] = value
    return into


def _layout(fig: go.Figure, title: str | None, height: int | None = None) -> go.Figure:
    """``fig`` with the app's frame (title, type, margins, background, height) and
    :func:`readable`'s text rules, as a new figure.

    The new figure is built from ``fig``'s JSON with every change merged in: plotly checks each
    property it is given, and its updates of a built figure cost several times that (a heatmap's
    frame and text rules: 8.8 ms as updates, 2.8 ms built anew).
    """
    # The title sits at the top of the figure, and the plot area with whatever is drawn over it (a
    # heatmap's token labels, an axis title on top) below it: with title.automargin and yref
    # "container", plotly makes the top margin as tall as they all need, so they never overlap.
    # A long title is cut into lines of at most TITLE_LINE characters: plotly never wraps one, and
    # on a phone a longer line would run off the chart. (Plotly draws a title of n > 1 lines
    # anchored at the top about n lines too high, out of the figure: the top pad puts it back.)
    width = TITLE_LINE if _FONT_SCALE.get() <= 1 else PRESENTER_TITLE_LINE
    lines = _wrap(title, width) if title else []
    shift = len(lines) * round(text_px(16) * 1.32) if len(lines) > 1 else 0
    layout = fig.layout.to_plotly_json()
    layout.pop("template", None)  # (the default one: given again, plotly would check all of it)
    _merge(layout, dict(title=dict(text="<br>".join(map(esc, lines)) or None, x=0,
                                   xanchor="left", y=1, yref="container", yanchor="top",
                                   automargin=bool(title), pad=dict(t=px(8) + shift, b=px(8))),
                        font=dict(FONT, size=text_px()),
                        margin=dict(l=10, r=10, t=10 + MODEBAR_ROOM, b=10),
                        paper_bgcolor=PAPER, plot_bgcolor=PAPER, height=height))
    traces = [tr.to_plotly_json() for tr in fig.data]
    change, per_trace = _text_rules(layout, traces)
    return go.Figure(data=[_merge(tr, one) for tr, one in zip(traces, per_trace)],
                     layout=_merge(layout, change))


def word_colors(word_ids, special=None) -> list[str]:
    """A colour per token: tokens of the same word share one; specials are grey."""
    out = []
    for i, w in enumerate(word_ids):
        if w is None or (special is not None and special[i]):
            out.append(SPECIAL_COLOR)
        else:
            out.append(PALETTE[w % len(PALETTE)])
    return out


# ----------------------------------------------------------------------------- token labels

# Scripts written in square, upright characters (CJK ideographs, kana, hangul, their punctuation
# and full-width forms): a label of these is narrow, and reads wrong when turned.
_WIDE = ((0x1100, 0x11FF), (0x2E80, 0x303F), (0x3040, 0x30FF), (0x3130, 0x318F),
         (0x3400, 0x4DBF), (0x4E00, 0x9FFF), (0xAC00, 0xD7AF), (0xF900, 0xFAFF),
         (0xFE30, 0xFE4F), (0xFF00, 0xFFEF), (0x20000, 0x2FA1F))
MAX_LABELS = 64  # more tick labels than this cannot be read on any screen: every n-th is shown
GAPS_UP_TO = 48  # heatmap cells are drawn 1 px apart up to this many columns (rows), then touch


def is_cjk(label) -> bool:
    """True for a token of upright CJK characters ("中", "国家", "##国", "，")."""
    text = str(label).removeprefix("##")
    return bool(text) and all(any(lo <= ord(ch) <= hi for lo, hi in _WIDE) for ch in text)


def token_axis(labels) -> tuple[list[str], bool]:
    """Tick texts for tokens on a horizontal axis (escaped) and whether they are CJK.

    When most tokens are CJK, a token of several characters is stacked one character a line, so
    that the axis can stay upright; other labels are kept whole (plotly turns them if needed).
    """
    labels = [str(v) for v in labels]
    words = [v for v in labels if not (v.startswith("[") and v.endswith("]"))]
    cjk = bool(words) and sum(map(is_cjk, words)) * 2 > len(words)
    if not cjk:
        return [esc(v) for v in labels], False
    out = []
    for v in labels:
        if is_cjk(v) and len(v) > 1:
            head = "##" if v.startswith("##") else ""
            out.append("<br>".join(([head] if head else []) + [esc(ch) for ch in v[len(head):]]))
        else:
            out.append(esc(v))
    return out, True


def column_labels_css(size: float) -> str:
    """A style for every chart on a page that keeps a heatmap's column labels apart however narrow
    the chart is drawn (``size``: their type size in px).

    Plotly turns the labels to 90° when they do not fit, but on a phone (or in a half-width
    column) even turned labels can be too many. Below each chart width (a CSS container query on
    the chart) where more labels are drawn than fit, only every 2nd, 4th, … label stays visible
    (counted with a CSS quantity query on the labels, plotly's ``g.xtick`` groups, which follow
    their tick marks' ``path.xtick`` in one parent; powers of 2, so the rules nest); the others
    stay in place, invisible, so that plotly still turns them all. ``app.py`` adds it to every
    page.
    """
    need = size * 1.35  # the room of one label turned 90°
    aside = size * 10  # the row labels and the colour bar beside the columns
    rules = ['[data-testid="stPlotlyChart"] { container-type: inline-size; }']
    widths = (240, 300, 360, 420, 480, 560, 640, 760, 900, 1100, 1400)
    for low, high in zip((200, *widths), widths):
        fit = max(1, int((low - aside) // need))  # labels that fit in the narrowest such chart
        for step in (2, 4, 8, 16):
            rules.append(f"@container (max-width: {high}px) {{ g.xtick:first-of-type:"
                         f"nth-last-of-type(n+{fit * step // 2 + 1}) ~ g.xtick:not("
                         f":nth-of-type({step}n+1)) text {{ visibility: hidden; }} }}")
    return "<style>\n" + "\n".join(rules) + "\n</style>"


def _every(n: int, room: float, need: float) -> int:
    """Show every k-th of ``n`` labels when ``n`` labels need more than ``room`` pixels."""
    if n <= 1 or room <= 0:
        return 1
    return max(1, int(np.ceil(n * need / room)), int(np.ceil(n / MAX_LABELS)))


# ----------------------------------------------------------------------------- shared figures

SHARED_FIGURES = 256  # figures kept (a few kB to a few hundred kB each)
SHARED_ARGS_MAX = 1 << 20  # arguments larger than this (pickled) build a figure of their own
SHARED_WAIT_S = 10.0  # the longest a session waits for another's build of the same figure
_shared: OrderedDict[bytes, go.Figure] = OrderedDict()
_building: dict[bytes, threading.Event] = {}  # figures being built, by key
_shared_lock = threading.Lock()


def _read_only(fig: go.Figure) -> go.Figure:
    """Makes ``fig.to_dict()`` return one dict made now: ``st.plotly_chart`` asks every figure it
    draws for it, and plotly makes it anew each time (a deep copy with every array turned into
    base64, ~7 ms a chart, as long as drawing the rest of a page). The figure and the dict are
    then read-only."""
    spec = fig.to_dict()
    fig.to_dict = lambda: spec  # (plotly lets a figure's own attributes be set)
    return fig


def shared(build):
    """Makes the figure builder ``build`` hand out one figure per arguments and type size.

    The key is a hash of the builder's name, the thread's type scale (:func:`font_scale`) and its
    pickled arguments (arrays, lists, strings, numbers), so two sessions drawing the same view get
    the same figure object, built once (a session asking while another builds it waits for that
    build). The returned figure must not be changed; ``fresh`` is the builder itself, for a caller
    that changes what it gets. Arguments that cannot be pickled, or larger than
    ``SHARED_ARGS_MAX`` (a long text's attention), build a figure every call.
    """
    @functools.wraps(build)
    def get(*args, **kwargs):
        try:
            data = pickle.dumps((build.__qualname__, _FONT_SCALE.get(), args,
                                 sorted(kwargs.items())), protocol=pickle.HIGHEST_PROTOCOL)
        except Exception:  # (pickle raises several kinds)
            return build(*args, **kwargs)
        if len(data) > SHARED_ARGS_MAX:
            return build(*args, **kwargs)
        key = hashlib.blake2b(data, digest_size=16).digest()
        with _shared_lock:
            fig = _shared.get(key)
            if fig is not None:
                _shared.move_to_end(key)
                return fig
            building = _building.get(key)
            if building is None:  # this session builds it; others asking meanwhile wait
                building = _building[key] = threading.Event()
                mine = True
            else:
                mine = False
        if not mine:  # forty followers of one teacher ask at once: one build, not forty
            building.wait(SHARED_WAIT_S)
            with _shared_lock:
                fig = _shared.get(key)
            return fig if fig is not None else build(*args, **kwargs)
        try:
            fig = _read_only(build(*args, **kwargs))
            with _shared_lock:
                _shared[key] = fig
                while len(_shared) > SHARED_FIGURES:
                    _shared.popitem(last=False)
        finally:
            with _shared_lock:
                del _building[key]
            building.set()
        return fig

    get.fresh = build
    return get


# ----------------------------------------------------------------------------- figures

@shared
def heatmap(matrix, x_labels=None, y_labels=None, title: str | None = None, *,
            colorscale: str = SEQUENTIAL, zmin=None, zmax=None, zmid=None, text=None,
            x_title: str | None = None, y_title: str | None = None, height: int | None = None,
            value_label: str = "", show_scale: bool = True, text_size: int = 12,
            cell_labels: bool = True) -> go.Figure:
    """A heatmap of a 2-D array, rows top to bottom; labels may repeat (numeric axes + tick
    text).

    The figure is tall enough for every row label at the current type size (rows thinned to every
    n-th only past what any screen can show); the column labels on top stay upright when they fit
    and turn 45° or 90° when they do not (CJK tokens stay upright, stacked; see
    :func:`token_axis`).

    Cells are drawn 1 px apart up to ``GAPS_UP_TO`` columns (rows), then touch. The gaps are lines
    of the background colour over the cells, not plotly's ``xgap``/``ygap``: with those, plotly
    paints every cell at its size and encodes the plot area as a PNG; without, chromium draws the
    heatmap as a picture of one pixel per cell, scaled (the worked example's two 21 × 64 heatmaps:
    0.1 s less to redraw). All of them are one shape (:func:`gap_lines`).
    """
    m = np.asarray(matrix, dtype=float)
    rows, cols = m.shape if m.ndim == 2 else (1, m.size)
    m = m.reshape(rows, cols)
    xs, ys = np.arange(cols), np.arange(rows)
    hover_x = [esc(v) for v in x_labels] if x_labels is not None else [str(i) for i in xs]
    hover_y = [esc(v) for v in y_labels] if y_labels is not None else [str(i) for i in ys]
    # Each cell's hover names its row and column (labels may repeat, so the axes cannot), unless
    # the caller's hover reads the axes (``cell_labels=False``: the figure is then smaller).
    custom = (np.array([[f"{hover_y[r]} → {hover_x[c]}" for c in range(cols)] for r in range(rows)])
              if cell_labels else None)
    trace = go.Heatmap(z=m, x=xs, y=ys, colorscale=colorscale, zmin=zmin, zmax=zmax, zmid=zmid,
                       customdata=custom, showscale=show_scale,
                       hovertemplate=("%{customdata}<br>" if cell_labels else "") + esc(value_label)
                       + " %{z:.4f}<extra></extra>",
                       colorbar=dict(thickness=px(12), outlinewidth=0))
    if text is not None:
        trace.update(text=[[esc(v) for v in row] for row in text], texttemplate="%{text}",
                     textfont=dict(size=text_px(text_size)))
    size = text_px()
    line = round(size * 1.3)  # the height of one line of tick text
    x_text, cjk = token_axis(x_labels) if x_labels is not None else (None, False)
    if x_text is not None:  # the room the labels on top take: stacked lines, or a 45° turn
        longest = max((len(str(v)) for v in x_labels), default=1)
        lines = max((t.count("<br>") + 1 for t in x_text), default=1)
        label_h = lines * line + 8 if cjk else min(0.6 * size * longest * 0.75 + 12, px(160))
    else:
        label_h = line + 8
    extra = (label_h + (text_px(16) * 1.4 + px(10) if title else 0)
             + (text_px(13) * 1.5 if x_title else 0) + 20 + MODEBAR_ROOM)
    row_h = max(28, round(size * 1.65))
    height = height or max(180, min(px(900), round(extra + row_h * rows)))
    x_step = _every(cols, MAX_LABELS * line, line)  # only past MAX_LABELS columns
    y_step = _every(rows, height - extra, size * 1.25)  # a row label's glyphs: ~1.2 × the size
    # (many columns or rows: no gaps, which would hide the cells on a phone)
    gaps = gap_lines(xs[:-1] + 0.5 if cols <= GAPS_UP_TO else [],
                     ys[:-1] + 0.5 if rows <= GAPS_UP_TO else [], (-0.5, cols - 0.5),
                     (-0.5, rows - 0.5))
    fig = go.Figure(trace, layout=dict(  # (one figure with its layout: see _layout)
        xaxis=dict(tickvals=xs[::x_step] if x_labels is not None else None,
                   ticktext=x_text[::x_step] if x_labels is not None else None,
                   title=esc(x_title) if x_title else None, side="top", showgrid=False,
                   autotickangles=[0, 90] if cjk else [0, 45, 90]),  # the first that fits
        yaxis=dict(tickvals=ys[::y_step] if y_labels is not None else None,
                   ticktext=hover_y[::y_step] if y_labels is not None else None,
                   title=esc(y_title) if y_title else None, autorange="reversed",
                   showgrid=False),
        shapes=gaps))
    fig = _layout(fig, title, height)
    if not title:  # the labels (and axis title) on top start under the mode bar's room, not in
        # it: room for them turned 90° (as on a phone), the most they take (automargin only ever
        # grows the margin to what the labels need, so a smaller guess would put them in the room)
        turned = (label_h if cjk or x_labels is None
                  else min(0.6 * size * max(len(str(v)) for v in x_labels) + 10, px(160)))
        top = turned + (text_px(13) * 1.5 if x_title else 0)
        fig.update_layout(margin_t=round(10 + MODEBAR_ROOM + top))
    return fig


def gap_lines(columns, rows, x_extent, y_extent) -> list[dict]:
    """The lines of the background colour between a heatmap's cells, as one shape: an SVG path
    in data coordinates (plotly draws each shape with its own pass: a 32-token heatmap's 62
    lines, one shape each, took 0.02-0.03 s more of an edit's redraw).

    Args:
        columns: the x of each line between two columns; rows: the y of each between two rows.
        x_extent, y_extent: (first, last) the lines run from and to (the cells' outer edges).

    Returns:
        The figure's ``shapes``: one path, or none where there are no lines.
    """
    path = "".join(f"M{float(x):g},{y_extent[0]:g}V{y_extent[1]:g}" for x in columns)
    path += "".join(f"M{x_extent[0]:g},{float(y):g}H{x_extent[1]:g}" for y in rows)
    return [dict(type="path", xref="x", yref="y", path=path, layer="above",
                 line=dict(color=PAPER, width=1))] if path else []


def _bar_colors(n: int, highlight: int | None, color: str, colors) -> list[str]:
    """A bar list's colours: ``colors`` as given, else ``color`` with bar ``highlight`` in
    ``PALETTE[1]``."""
    return list(colors) if colors is not None else [PALETTE[1] if i == highlight else color
                                                    for i in range(n)]


@shared
def bars(labels, values, title: str | None = None, *, highlight: int | None = None,
         color: str = PALETTE[0], percent: bool = True, height: int | None = None,
         x_max: float | None = None, colors=None) -> go.Figure:
    """Horizontal bars, the first label on top (e.g. top-k predictions with probabilities).

    Args:
        x_max: an absolute axis from 0 to ``x_max`` with its ticks shown (1.0 for probabilities:
            3 % then looks small next to 100 %), instead of an axis scaled to the longest bar.
        colors: one colour per bar (categories, from ``PALETTE``) instead of ``color`` and
            ``highlight``.
    """
    vals = [float(v) for v in values]
    colors = _bar_colors(len(vals), highlight, color, colors)
    ys = list(range(len(vals)))
    fig = go.Figure(go.Bar(x=vals, y=ys, orientation="h", marker_color=colors,
                           text=[f"{v:.1%}" if percent else f"{v:.3g}" for v in vals],
                           textposition="outside", cliponaxis=False,
                           hovertemplate="%{x:.4f}<extra></extra>"))
    fig.update_yaxes(tickvals=ys, ticktext=[esc(x) for x in labels], autorange="reversed",
                     showgrid=False)
    if x_max is None:
        fig.update_xaxes(range=[0, max(vals + [1e-9]) * 1.25], showgrid=False,
                         showticklabels=False, zeroline=False)
    else:  # long bars write their value inside, where an outside label would leave the axis
        fig.update_traces(textposition=["inside" if v > 0.8 * x_max else "outside" for v in vals],
                          insidetextanchor="end", insidetextfont=dict(color="#FFFFFF"))
        fig.update_xaxes(range=[0, x_max], showgrid=True, gridcolor="#E5E5E5", zeroline=False,
                         tickvals=[x_max * q for q in (0, 0.25, 0.5, 0.75, 1)],
                         tickformat=".0%" if percent else None)
    fig = _layout(fig, title, height or 60 + MODEBAR_ROOM + px(32) * len(vals)
                  + (px(20) if x_max else 0))
    if x_max is not None:  # room for the last tick's label ("100%"), centred on the axis' end
        fig.update_layout(margin_r=px(24))
    return fig


# The bar lists of :func:`bars_html`: a grid of label, bar and value, in the charts' type (larger in
# presenter mode). A long label wraps inside its column (at most 40 % of the width); the value
# column is as wide as its widest number, so the bars of one list start and end together.
BARS_CSS = """<style>
.bl-bars { font-size: %(size)spx; line-height: 1.3; color: %(ink)s; margin: 0 0 0.5em; }
.bl-bars-title { font-weight: 600; margin: 0 0 0.4em; overflow-wrap: anywhere; }
.bl-bars-grid { display: grid; grid-template-columns: fit-content(40%%) minmax(3em, 1fr)
  max-content; gap: 0.3em 0.6em; align-items: center; }
.bl-bars-label { text-align: right; overflow-wrap: anywhere; white-space: pre-wrap; }
.bl-bars-track { height: 1.25em; border-radius: 2px; }
.bl-bars-track.bl-bars-whole { background: #EDF0F4; }
.bl-bars-bar { display: block; height: 100%%; border-radius: 2px; }
.bl-bars-value { font-variant-numeric: tabular-nums; text-align: right; }
.bl-bars-scale { display: flex; justify-content: space-between; color: %(muted)s;
  font-size: %(small)spx; }
</style>"""


def bars_html(labels, values, title: str | None = None, *, highlight: int | None = None,
              color: str = PALETTE[0], percent: bool = True, x_max: float | None = None,
              colors=None) -> str:
    """:func:`bars` as HTML: one row a label, its bar and its value written beside it.

    For a short ranked list (a word's top guesses, a vector's length step by step) that is read,
    not explored: the page draws it at once (a plotly chart is a plot of its own, mounted anew
    whenever its numbers change: ~0.05 s of the browser's time each), its text wraps to the width
    there is and takes the charts' type size (:func:`text_px`: larger in presenter mode).

    Args:
        labels: one per bar, the first on top (user text: escaped here).
        values: the bars' lengths (negative ones are drawn as 0).
        title: written above the bars.
        highlight: the index of the bar drawn in ``PALETTE[1]`` (e.g. the hidden word).
        percent: values written as percentages (else with 3 significant digits).
        x_max: every bar on one absolute scale, 0 to ``x_max``, whose whole length is shaded and
            whose ends are written under the bars (1.0 for probabilities: 3 % then looks small next
            to 100 %); None scales the bars to the longest.
        colors: one colour per bar (categories, from ``PALETTE``) instead of ``color`` and
            ``highlight``.

    Returns:
        HTML for ``st.html``, its style included.
    """
    vals = [float(v) for v in values]
    colors = _bar_colors(len(vals), highlight, color, colors)
    top = x_max if x_max is not None else max(vals + [1e-9])
    track = "bl-bars-track bl-bars-whole" if x_max is not None else "bl-bars-track"
    rows = []
    for label, v, c in zip(labels, vals, colors):
        share = min(max(v / top, 0.0), 1.0) * 100 if top > 0 else 0.0
        written = f"{v:.1%}" if percent else f"{v:.3g}"
        rows.append(f'<span class="bl-bars-label" dir="auto">{esc(label)}</span>'
                    f'<span class="{track}"><span class="bl-bars-bar" style="'
                    f'width:{share:.2f}%;background:{c}"></span></span>'
                    f'<span class="bl-bars-value">{written}</span>')
    scale = ""
    if x_max is not None:
        ends = [f"{0:.0%}", f"{x_max:.0%}"] if percent else ["0", f"{x_max:g}"]
        scale = (f'<span></span><span class="bl-bars-scale"><span>{ends[0]}</span>'
                 f'<span>{ends[1]}</span></span><span></span>')
    css = BARS_CSS % dict(size=text_px(14), small=text_px(), ink=INK, muted=INK_MUTED)
    head = f'<div class="bl-bars-title">{esc(title)}</div>' if title else ""
    return (css + f'<div class="bl-bars">{head}<div class="bl-bars-grid">' + "".join(rows)
            + scale + "</div></div>")


@shared
def answer_counts(labels, counts, title: str | None = None, *, highlight=(),
                  height: int | None = None) -> go.Figure:
    """A class's answers: one bar per answer, its number of students written at its end (the
    answers a class chose from, or the most common typed ones).

    Args:
        labels: the answers as the class reads them (user text: escaped here, like every label).
        counts: students per answer.
        highlight: indices of the bars that are the model's answer (in ``PALETTE[1]``, like a
            hidden word among the guesses), shown once it is revealed.
    """
    vals = [int(c) for c in counts]
    colors = [PALETTE[1] if i in highlight else PALETTE[0] for i in range(len(vals))]
    fig = bars.fresh(labels, vals, title, colors=colors, percent=False, height=height)
    fig.update_traces(text=[str(v) for v in vals], hovertemplate="%{x}<extra></extra>")
    fig.update_xaxes(range=[0, max(vals + [1]) * 1.25])  # no answers yet: an axis all the same
    return fig


# The diverging scale's two sides at a strength that reads as a bar's fill (ColorBrewer RdBu).
POSITIVE = "#D6604D"
NEGATIVE = "#4393C3"


@shared
def sorted_units(values, title: str | None = None, *, x_title: str = "", y_title: str = "",
                 unit_label: str = "", height: int | None = None) -> go.Figure:
    """The outputs of a layer's units (e.g. the feed-forward network's 3072), largest first, as
    touching bars: above 0 in the diverging scale's red, below in its blue, so the share of units
    that fire is the red part's width. The hover names each unit's own index (``unit_label``).

    Drawn as one filled step line whose fill turns from red to blue where the values cross 0,
    not as one bar per unit: a browser draws one shape instead of thousands (a redraw of the
    layer page spent most of its drawing time on these bars)."""
    v = np.asarray(values, dtype=float).ravel()
    order = np.argsort(-v, kind="stable")
    ranked = v[order]
    last = max(v.size - 1, 1)
    turn = min(max((int((ranked > 0).sum()) - 0.5) / last, 0.0), 1.0)  # where the steps cross 0
    fig = go.Figure(go.Scatter(
        x=np.arange(v.size), y=ranked, customdata=order, mode="lines",
        line=dict(width=0, shape="hvh"), fill="tozeroy",
        fillgradient=dict(type="horizontal", start=0, stop=last,
                          colorscale=[[0, POSITIVE], [turn, POSITIVE], [turn, NEGATIVE],
                                      [1, NEGATIVE]]),
        hovertemplate=esc(unit_label) + " %{customdata}: %{y:.4f}<extra></extra>"))
    fig.update_xaxes(title=esc(x_title) or None, range=[-0.5, v.size - 0.5], showgrid=False,
                     zeroline=False)
    fig.update_yaxes(title=esc(y_title) or None, gridcolor="#EEEEEE", zeroline=True,
                     zerolinecolor=INK_MUTED, zerolinewidth=1)
    return _layout(fig, title, height or 120 + px(180))


@shared
def gauge(p: float, title: str | None = None, *, left: str = "", right: str = "") -> go.Figure:
    """A half-circle gauge of a probability, 0 to 100 %."""
    fig = go.Figure(go.Indicator(
        mode="gauge+number", value=100 * float(p), number=dict(suffix=" %", valueformat=".1f"),
        gauge=dict(axis=dict(range=[0, 100], ticksuffix="%"),
                   bar=dict(color=PALETTE[0], thickness=0.35),
                   steps=[dict(range=[0, 50], color="#F4F1EC"),
                          dict(range=[50, 100], color="#E8EEF5")],
                   threshold=dict(line=dict(color=INK, width=2), value=50))))
    if left or right:  # under the ends of the arc, below its 0 % and 100 % ticks
        fig.add_annotation(x=0.0, y=-0.02, text=esc(left), showarrow=False, xref="paper",
                           yref="paper", xanchor="left", yanchor="top")
        fig.add_annotation(x=1.0, y=-0.02, text=esc(right), showarrow=False, xref="paper",
                           yref="paper", xanchor="right", yanchor="top")
    fig = _layout(fig, title, 290)
    fig.update_layout(margin=dict(l=48, r=48, b=40))  # the 0 % and 100 % ticks stick out sideways
    return fig


@shared
def position_map(similarity, positions, title: str | None = None) -> go.Figure:
    """The cosine similarity of position embeddings, a square map with about 8 ticks an axis.

    The axes are the positions themselves (``positions``, evenly spaced: every one, or every k-th
    of a long range), so the hover names a cell by its axes, not by a label per cell: 4,096 cells
    at 64 positions. Shared: the map does not depend on the sentence.
    """
    shown = np.asarray(positions)
    fig = heatmap.fresh(similarity, None, None, title, colorscale=DIVERGING, zmid=0, zmin=-1,
                        zmax=1, height=520, value_label="cos", cell_labels=False)
    ticks = shown[::max(1, len(shown) // 8)]
    fig.update_traces(x=shown, y=shown,
                      hovertemplate="%{y} → %{x}<br>cos %{z:.4f}<extra></extra>")
    fig.update_xaxes(constrain="domain", tickvals=ticks, ticktext=[str(p) for p in ticks],
                     tickangle=0)
    fig.update_yaxes(scaleanchor="x", constrain="domain", tickvals=ticks,
                     ticktext=[str(p) for p in ticks])
    # The gap lines were drawn between cells 0, 1, 2, …: put them between these positions.
    if fig.layout.shapes:
        step = float(shown[1] - shown[0]) if len(shown) > 1 else 1.0
        at = shown[:-1] + step / 2
        ends = (shown[0] - step / 2, shown[-1] + step / 2)
        fig.layout.shapes = gap_lines(at, at, ends, ends)
    return fig


@shared
def vectors(rows, row_labels, title: str | None = None, *, dims=None,
            own_scale: int = 0, dim_label: str = "") -> go.Figure:
    """Rows of vectors as a diverging heatmap (one row per vector, one column per dimension).

    The hover writes a cell's dimension and value; its row is the one labelled beside it (a label
    per cell was 110 of the 254 kB of bert-base's 5 × 768 numbers of a token, and 0.02-0.04 s of a
    switch to the embeddings page).

    Args:
        dim_label: the word for a dimension, in the reader's language (the hover's "dimension
            17: +0.1234").
        own_scale: the last this many rows get a colour scale of their own, drawn a little apart
            under the others with their own colour bar (LayerNorm's outputs are 10-100x larger
            than the vectors it normalises: on one shared scale those would all be white). One
            figure, not two: each plot the browser mounts costs ~0.1 s.
    """
    m = np.asarray(rows, dtype=float)
    dims = list(dims) if dims is not None else list(range(m.shape[1]))
    split = len(m) - own_scale if 0 < own_scale < len(m) else len(m)
    blocks = [m[:split], m[split:]] if split < len(m) else [m]
    lims = [float(np.abs(b).max()) or 1.0 for b in blocks]
    gap = VECTOR_BLOCK_GAP if len(blocks) > 1 else 0.0
    fig = heatmap.fresh(m, [str(d) for d in dims], row_labels, title, colorscale=DIVERGING,
                        zmin=-lims[0], zmax=lims[0], zmid=0, cell_labels=False,
                        height=round(70 + MODEBAR_ROOM + px(40) * (len(m) + gap)))
    fig.update_traces(hovertemplate=(esc(dim_label) + " " if dim_label else "")
                      + "%{x}: %{z:+.4f}<extra></extra>")
    fig.update_xaxes(nticks=min(len(dims), 8), tickvals=None, ticktext=None, side="bottom")
    if not title:  # no labels on top: only the mode bar's room there
        fig.update_layout(margin_t=10 + MODEBAR_ROOM)
    if len(blocks) == 1:
        _colorbar_ticks(fig.data[0], lims[0], len(m))
        return fig
    # The second block: a copy of the first trace (with its text rules), moved down by ``gap``.
    first = fig.data[0]
    second = go.Heatmap(first.to_plotly_json())
    ys = np.arange(len(m), dtype=float)
    first.update(z=m[:split], y=ys[:split])
    second.update(z=m[split:], y=ys[split:] + gap, zmin=-lims[1], zmax=lims[1])
    fig.add_trace(second)  # (a copy: changed below as fig.data[1])
    span = len(m) + gap  # the y axis' length in rows, from -0.5 to the last row's + 0.5
    for trace, lim, n, top in ((fig.data[0], lims[0], split, 0.0),
                               (fig.data[1], lims[1], len(m) - split, split + gap)):
        _colorbar_ticks(trace, lim, n)  # each bar beside its own block
        trace.colorbar.update(y=1 - top / span, yanchor="top", ypad=0)
        if n > 1:
            trace.colorbar.update(lenmode="fraction", len=n / span)
    at = [*ys[:split], *(ys[split:] + gap)]  # each row's place on the y axis
    fig.update_yaxes(tickvals=at, ticktext=[esc(v) for v in row_labels], autorange=False,
                     range=[span - 0.5, -0.5])
    cols = m.shape[1]  # the lines between rows inside each block (and columns, if few)
    fig.layout.shapes = gap_lines(np.arange(cols - 1) + 0.5 if cols <= GAPS_UP_TO else [],
                                  [y + 0.5 for y in [*at[:split - 1], *at[split:-1]]],
                                  (-0.5, cols - 0.5), (-0.5, span - 0.5))
    return fig


VECTOR_BLOCK_GAP = 0.4  # rows of space between the two blocks of :func:`vectors`


def _colorbar_ticks(trace, lim: float, rows: int) -> None:
    """A colour bar as short as its ``rows``: its two ends (and 0, from two rows up) are the ticks
    that fit, also in presenter mode's large type; one row may be shorter than two lines of type,
    so its bar keeps room for both."""
    ticks = [-lim, 0, lim] if rows > 1 else [-lim, lim]
    trace.update(colorbar=dict(tickvals=ticks, ticktext=[f"{v:+.2g}" if v else "0" for v in ticks]))
    if rows == 1:
        trace.update(colorbar=dict(lenmode="pixels", len=max(round(text_px() * 2.8), px(40))))


_CLOSING = set("，。、；：！？）」』】》〉”’,.;:!?)]")
_OPENING = set("（「『【《〈“‘([")


def _wrap(text: str, width: int) -> list[str]:
    """``text`` cut into lines of at most about ``width`` columns (a CJK character takes two): at
    spaces, and between two CJK characters; a word is never split."""
    pieces: list[tuple[str, bool]] = []  # (a word or one CJK character, a space before it)
    space = False
    for ch in str(text):
        if ch.isspace():
            space = True
            continue
        last = pieces[-1][0][-1] if pieces else ""
        glued = not space and pieces and (ch in _CLOSING or last in _OPENING
                                          or not (is_cjk(ch) or is_cjk(last)))
        if glued:  # a line never starts with "，" or "）" nor ends with "（"
            pieces[-1] = (pieces[-1][0] + ch, pieces[-1][1])
        else:
            pieces.append((ch, space))
        space = False
    lines: list[str] = []
    used = 0
    for piece, spaced in pieces:
        size = sum(2 if is_cjk(ch) else 1 for ch in piece)
        if lines and used + spaced + size <= width:
            lines[-1] += (" " if spaced else "") + piece
            used += spaced + size
        else:
            lines.append(piece)
            used = size
    return lines or [""]


# The architecture's boxes (``architecture_html``): the type of the charts' (:func:`text_px`, larger
# in presenter mode) and every length in em, so that all of it grows with it; the boxes' text wraps
# to the width there is.
ARCH_CSS = """<style>
.bl-arch { display: flex; flex-direction: column; align-items: center; color: %(ink)s;
  font-size: %(size)spx; line-height: 1.35; text-align: center; padding: 0.5em 0 0.75em; }
.bl-arch-box { box-sizing: border-box; border: 1px solid %(ink)s; padding: 0.45em 0.8em;
  overflow-wrap: anywhere; }
.bl-arch-box b { display: block; }
.bl-arch-box small { display: block; font-size: %(small)spx; }
.bl-arch-arrow { width: 2px; height: 1.6em; background: #6C757D; position: relative; }
.bl-arch-arrow::before { content: ""; position: absolute; top: -1px; left: -4px; border: 5px solid
  transparent; border-top: 0; border-bottom: 7px solid #6C757D; }
.bl-arch-heads { display: flex; gap: 1.5em; width: 100%%; }
.bl-arch-heads > .bl-arch-box { flex: 1 1 0; min-width: 0; }
.bl-arch-layer { box-sizing: border-box; width: 84%%; margin-top: %(depth)spx;
  margin-right: %(depth)spx; padding: 0.6em 0.9em 0.9em; border: 1px solid %(blue)s;
  background: #F7F9FC; display: flex; flex-direction: column; align-items: center; }
.bl-arch-layer > .bl-arch-box { width: 92%%; background: #FFFFFF; }
.bl-arch-layer > p { margin: 0 0 0.6em; }
@container (max-width: 640px) {
  .bl-arch-heads { gap: 0.4em; }
  .bl-arch-layer, .bl-arch-inset { width: 100%% !important; }
  .bl-arch-heads > .bl-arch-box { padding: 0.45em 0.3em; }
}
</style>"""


def architecture_html(config, counts: dict[str, int], text: dict[str, str]) -> str:
    """BERT's architecture, bottom-up, with the live model's real numbers, as boxes of HTML.

    A drawing of boxes and arrows needs no chart: as HTML its text wraps to the width a page has
    (on a phone, the three heads' names in short lines) and the page draws it at once (no chart code
    to load, which a first visit's page would otherwise wait for).

    Args:
        config: the model's BertConfig.
        counts: ``Bert.num_parameters()`` (embeddings, encoder, pooler, cls.predictions, ...).
        text: translated labels: input, embeddings, layer, attention, ffn, pooler, mlm, nsp, params,
            and optionally word, position, segment (the three embedding tables).

    Returns:
        HTML (every label and number escaped) for ``st.html``, its style included.
    """
    c = config
    L, H, D, FFN = c.num_hidden_layers, c.num_attention_heads, c.hidden_size, c.intermediate_size

    def n(key):
        return f"{counts.get(key, 0):,} {text['params']}"

    def box(label, sub, fill, width=None):  # width: % of the page (inset; a phone: all of it)
        kind = "bl-arch-box bl-arch-inset" if width else "bl-arch-box"
        style = f"background:{fill}" + (f";width:{width}%" if width else "")
        subs = [sub] if isinstance(sub, str) else list(sub)
        return (f'<div class="{kind}" style="{style}"><b>{esc(label)}</b>'
                + "".join(f"<small>{esc(v)}</small>" for v in subs if v) + "</div>")

    arrow = '<div class="bl-arch-arrow" aria-hidden="true"></div>'
    shown = min(L, 24)
    step = 4 * 12 / max(shown, 12)  # px between the layers drawn behind the front one
    behind = ", ".join(f"{step * i:.1f}px {-step * i:.1f}px 0 0 #DDE6F0, "
                       f"{step * i:.1f}px {-step * i:.1f}px 0 1px #9DB3CC"
                       for i in range(1, shown))
    heads = "".join(box(text[name], n(key) if key in counts else "—",
                        fill if key in counts else "#F1F1F1")
                    for key, name, fill in (("pooler", "pooler", "#FDEBD8"),
                                            ("cls.predictions", "mlm", "#E3F1E1"),
                                            ("cls.seq_relationship", "nsp", "#F9E0E1")))
    tables = (f"{text.get('word', 'word')} {c.vocab_size:,}×{D} + "
              f"{text.get('position', 'position')} {c.max_position_embeddings}×{D} + "
              f"{text.get('segment', 'segment')} {c.type_vocab_size}×{D}",
              f"→ LayerNorm · {n('embeddings')}")
    layer = (f'<div class="bl-arch-layer" style="box-shadow:{behind or "none"}">'
             f"<p><b>{esc(text['layer'])} × {L}</b> · {esc(n('encoder'))}</p>"
             + box(text["ffn"], f"{D} → {FFN} → {D}", "#FFFFFF") + arrow
             + box(text["attention"], f"{H} × {c.head_dim} = {D}", "#FFFFFF") + "</div>")
    css = ARCH_CSS % dict(ink=INK, blue=PALETTE[0], depth=round(step * (shown - 1)),
                          size=text_px(14), small=text_px())
    return (css + '<div class="bl-arch">'
            + f'<div class="bl-arch-heads">{heads}</div>' + arrow + layer + arrow
            + box(text["embeddings"], tables, "#E8EEF5", 84) + arrow
            + box(text["input"], f"[CLS] … [SEP] · ≤ {c.max_position_embeddings}", "#FFFFFF",
                  60)
            + "</div>")


def curves(rows, series, title: str | None = None, *, x_title: str = "", y_title: str = "",
           hlines: dict[str, float] | None = None, height: int = 380) -> go.Figure:
    """Training curves: one line per series over ``row["step"]``, plus labelled horizontal lines.

    Args:
        rows: dicts with "step" and some of the series' keys (rows without a key are skipped).
        series: (key, label, colour, dotted) tuples; dotted lines with markers suit sparse
            evaluations, solid ones the dense training loss.
        hlines: label -> y of dashed reference lines (e.g. "chance").
    """
    fig = go.Figure()
    for key, label, color, dotted in series:
        pts = [(r["step"], r[key]) for r in rows if key in r]
        if pts:
            x, y = zip(*pts)
            fig.add_trace(go.Scatter(x=x, y=y, name=esc(label), mode="lines+markers" if dotted
                                     else "lines", line=dict(color=color, width=2,
                                                             dash="dot" if dotted else "solid")))
    for label, y in (hlines or {}).items():
        fig.add_hline(y=y, line=dict(color=SPECIAL_COLOR, width=1, dash="dash"),
                      annotation_text=esc(label), annotation_position="top right",
                      annotation_font=dict(size=text_px(11), color=INK_MUTED))
    fig.update_xaxes(title=esc(x_title), rangemode="tozero", showgrid=False)
    fig.update_yaxes(title=esc(y_title), rangemode="tozero", gridcolor="#EEEEEE")
    fig.update_layout(legend=LEGEND_BELOW, hovermode="x unified")
    return _layout(fig, title, height)


# ----------------------------------------------------------------------------- HTML

def diverging_colors(values) -> list[str]:
    """Each value's colour on ``DIVERGING`` ("rgb(r, g, b)"), centred on 0 with ± the largest
    magnitude at the two ends, as the signed heatmaps are: red above 0, blue below, white at 0."""
    v = np.asarray(values, dtype=float).reshape(-1)
    lim = float(np.abs(v).max()) if v.size else 0.0
    return plotly.colors.sample_colorscale(DIVERGING, list((v / (lim or 1.0) + 1) / 2))


def chips_html(tokens, colors, sublabels=None, *, outline=None, strike=None,
               direction: str = "auto", fill=None) -> str:
    """Tokens as coloured chips with an optional small line under each (ids, segments …).

    Every token and sublabel is escaped: the result is safe to pass to st.html / st.markdown.
    A chip is tinted with its colour; with ``fill`` (one "rgb(r, g, b)" a chip, e.g. from
    :func:`diverging_colors`) it is filled with it instead, its text dark or white, whichever
    reads better on it (a scale of amounts, where a pale tint would hide the differences).

    Right-to-left text (Arabic, Hebrew) reads from the right: its chips are laid out from the
    right, and a piece's "##" sits on its right, where it joins the piece before it. The base
    direction is the first strong token's (``direction="auto"``), or ``"ltr"``/``"rtl"``; a run in
    the other direction is nested in a block of its own direction (see :func:`bidi_runs`). Chips
    without right-to-left text are laid out left to right, as without ``direction``.
    """
    tokens, dirs, opens, closes, base = list(tokens), {}, {}, set(), ""
    if direction == "rtl" or any(text_direction(str(tok)) == "rtl" for tok in tokens):
        base, runs = bidi_runs(tokens, direction)
        for run_dir, run in runs:
            dirs.update({i: f' dir="{run_dir}"' for i in run})
            if run_dir != base:
                opens[run[0]] = (f'<div class="bl-chips-run" dir="{run_dir}" style="display:flex;'
                                 'flex-wrap:wrap;gap:6px 4px;align-items:flex-start;">')
                closes.add(run[-1])
        base = f' dir="{base}"'
    sub_dir = ' dir="auto"' if base else ""  # a sublabel reads in its own direction
    if fill is not None:
        from .word_table import text_color  # (word_table draws with this module's colours)

        def background(i: int, color: str) -> str:
            return fill[i]

        def ink(i: int) -> str:
            return text_color(fill[i])
    else:
        def background(i: int, color: str) -> str:
            return f"{color}22"  # the chip's colour, pale

        def ink(i: int) -> str:
            return INK
    out = [f'<div class="bl-chips"{base} style="display:flex;flex-wrap:wrap;gap:6px 4px;'
           'align-items:flex-start;font-family:Inter,sans-serif;">']
    for i, (tok, color) in enumerate(zip(tokens, colors)):
        border = f"2px solid {outline[i]}" if outline and outline[i] else "2px solid transparent"
        deco = "text-decoration:line-through;" if strike and strike[i] else ""
        sub = (f'<div{sub_dir} style="font-size:0.72em;color:#555;text-align:center;margin-top:2px;'
               f'white-space:nowrap;">{esc(sublabels[i])}</div>') if sublabels is not None else ""
        out.append(opens.get(i, ""))
        # Each chip is a column as wide as the wider of the token and its sublabel, so long
        # sublabels ("→ [MASK]") never run into their neighbours'.
        out.append(
            f'<div style="display:inline-flex;flex-direction:column;align-items:center;'
            f'flex:0 0 auto;">'
            f'<div{dirs.get(i, "")} style="background:{background(i, color)};border-bottom:3px '
            f'solid {color};outline:{border};border-radius:6px;padding:3px 8px;font-size:1.05em;'
            f'white-space:pre;color:{ink(i)};{deco}">{esc(tok)}</div>{sub}</div>')
        out.append("</div>" if i in closes else "")
    out.append("</div>")
    return "".join(out)


# ----------------------------------------------------------------------------- fine-tuning

def training_curves(history: list[dict], *, loss_label: str, metric_labels: dict[str, str],
                    step_label: str, title: str | None = None,
                    max_steps: int | None = None) -> go.Figure:
    """Training loss (left axis) and validation metrics such as accuracy (right axis, 0–1).

    Args:
        history: rows with "step", "loss" and, on evaluation rows, the metric keys.
        metric_labels: metric key -> translated legend name (e.g. {"accuracy": "Accuracy"}).
    """
    fig = go.Figure()
    steps = [r["step"] for r in history]
    fig.add_trace(go.Scatter(x=steps, y=[r["loss"] for r in history], mode="lines+markers",
                             name=esc(loss_label), line=dict(color=PALETTE[0], width=2),
                             marker=dict(size=4)))
    for i, (key, label) in enumerate(metric_labels.items()):
        rows = [r for r in history if key in r]
        if rows:
            fig.add_trace(go.Scatter(x=[r["step"] for r in rows], y=[r[key] for r in rows],
                                     mode="lines+markers", name=esc(label), yaxis="y2",
                                     line=dict(color=PALETTE[(i + 1) % len(PALETTE)], width=2,
                                               dash="dot" if i else "solid")))
    fig.update_layout(xaxis=dict(title=esc(step_label), range=[0, max_steps] if max_steps else None,
                                 showgrid=False),
                      yaxis=dict(title=esc(loss_label), rangemode="tozero", showgrid=True,
                                 gridcolor="#EEE"),
                      yaxis2=dict(overlaying="y", side="right", range=[0, 1.02], tickmode="linear",
                                  tick0=0, dtick=0.25, tickformat=".0%", showgrid=False),
                      legend=LEGEND_BELOW, hovermode="x unified")
    return _layout(fig, title, 340)


@shared
def confusion(matrix, labels, title: str | None = None, *, true_label: str = "",
              pred_label: str = "") -> go.Figure:
    """A confusion matrix (rows true, columns predicted) with the counts written in."""
    m = np.asarray(matrix)
    fig = heatmap.fresh(m, list(labels), list(labels), title, zmin=0, text=m.astype(int).tolist(),
                  x_title=pred_label, y_title=true_label, show_scale=False,
                  height=max(260, 90 + px(40) * len(m)) + MODEBAR_ROOM)
    return fig


@shared
def points_2d(points, classes, names, title: str | None = None, *,
              hover=None) -> go.Figure:
    """A scatter of 2-D points (e.g. [CLS] vectors after PCA), one colour per class."""
    p = np.asarray(points, dtype=float).reshape(-1, 2)
    classes = list(classes)
    fig = go.Figure()
    for c, name in enumerate(names):
        idx = [i for i, k in enumerate(classes) if k == c]
        if not idx:
            continue
        fig.add_trace(go.Scatter(
            x=p[idx, 0], y=p[idx, 1], mode="markers", name=esc(name),
            marker=dict(color=PALETTE[c % len(PALETTE)], size=7, opacity=0.75),
            text=[esc(hover[i]) for i in idx] if hover is not None else None,
            hovertemplate="%{text}<extra></extra>" if hover is not None else None))
    fig.update_xaxes(showticklabels=False, zeroline=False, showgrid=False, title="PC 1")
    fig.update_yaxes(showticklabels=False, zeroline=False, showgrid=False, title="PC 2")
    fig.update_layout(legend=LEGEND_BELOW)
    return _layout(fig, title, 360)


# ----------------------------------------------------------------------------- keeping a picture

# The mode bar's buttons that only zoom, pan or select: a teaching chart does not need them, and
# on a phone they hide the two buttons that matter (and Streamlit's own fullscreen button).
MODEBAR_HIDDEN = ["zoom2d", "pan2d", "select2d", "lasso2d", "zoomIn2d", "zoomOut2d",
                  "autoScale2d", "resetScale2d", "toggleSpikelines", "hoverClosestCartesian",
                  "hoverCompareCartesian", "resetViews", "toggleHover"]
PNG_SCALE = 2  # a saved PNG has twice the chart's pixels: sharp on a slide or a projector


def plot_config(name: str) -> dict:
    """The ``config=`` of every ``st.plotly_chart`` in the app: any chart can be saved.

    Plotly's mode bar is always shown (``displayModeBar`` True: a phone has no hover to reveal
    it), with its camera button, which saves the chart as ``bertlab-<name>.png`` at
    ``PNG_SCALE`` times its size, and (added by :func:`svg_button_html`, which app.py puts on
    every page) a button that saves the same chart as ``bertlab-<name>.svg``. Both are drawn in
    the browser by plotly.js's ``downloadImage``: no server, no network. The zoom and pan buttons
    are left out (``MODEBAR_HIDDEN``); Streamlit adds its own fullscreen button.

    Args:
        name: the chart's name in the saved file's name (letters, digits, "-" and "_").
    """
    return {"displayModeBar": True, "displaylogo": False,
            "modeBarButtonsToRemove": list(MODEBAR_HIDDEN),
            "toImageButtonOptions": {"format": "png", "filename": f"bertlab-{name}",
                                     "scale": PNG_SCALE}}


# One script for the whole page (it runs once per page load; reruns insert it again). A plotly
# config is JSON, so it cannot carry a button of its own (its click is a function): instead every
# mode bar on the page gets one more button, put back whenever plotly rebuilds the bar (a
# MutationObserver), whose click calls the camera button's own handler (the bar's button list,
# ``gd._fullLayout._modeBar.buttons``) with the chart's toImageButtonOptions set to SVG for that
# one call (the handler copies them at once). Its icon is the word "SVG".
_SVG_JS = r"""<span class="bl-svg-js"></span><script>
(() => {
  if (window.__bertlabSvg) return;
  window.__bertlabSvg = true;
  const TITLE = %s;
  // (no "<" + a letter anywhere in this script: Streamlit's sanitizer would drop it as markup)
  // (HTML text, not an SVG icon's: what a chart draws is its svg, and this is not the chart's)
  const ICON = '\x3cspan class="bl-svg-label" aria-hidden="true">SVG\x3c/span>';
  function save(gd) {
    const bar = gd._fullLayout && gd._fullLayout._modeBar;
    const camera = bar && bar.buttons.flat().find((b) => b.name === "toImage");
    if (!camera) return;
    const options = gd._context.toImageButtonOptions;
    gd._context.toImageButtonOptions = Object.assign({}, options, {format: "svg", scale: 1});
    try { camera.click(gd); } finally { gd._context.toImageButtonOptions = options; }
  }
  function addButtons() {
    document.querySelectorAll(".js-plotly-plot .modebar").forEach((bar) => {
      if (bar.querySelector(".bl-svg")) return;
      const group = document.createElement("div");
      group.className = "modebar-group";
      const button = document.createElement("button");  // as plotly's own buttons are
      button.type = "button";
      button.className = "modebar-btn bl-svg";
      button.setAttribute("rel", "tooltip");
      button.setAttribute("data-title", TITLE);
      button.setAttribute("aria-label", TITLE);
      button.setAttribute("data-gravity", "n");
      button.innerHTML = ICON;
      button.addEventListener("click", (e) => {
        e.preventDefault();
        save(bar.closest(".js-plotly-plot"));
      });
      group.appendChild(button);
      bar.insertBefore(group, bar.firstChild);
    });
  }
  let pending = false;
  new MutationObserver(() => {
    if (pending) return;
    pending = true;
    requestAnimationFrame(() => { pending = false; addButtons(); });
  }).observe(document.body, {childList: true, subtree: true});
  addButtons();
})();
</script>"""

# The mode bar a little more visible than plotly's pale grey, and the script's element hidden
# (it takes no room in the page).
_SVG_CSS = """<style>
.stElementContainer:has(.bl-svg-js) { display: none; }
.js-plotly-plot .plotly .modebar-btn path { fill: #6C7080; }
.js-plotly-plot .plotly .modebar-btn.bl-svg .bl-svg-label { font: 700 11px/1 Inter, sans-serif;
  color: #6C7080; letter-spacing: 0.02em; }
.js-plotly-plot .plotly .modebar-btn.bl-svg:hover .bl-svg-label { color: #2B2D42; }
</style>"""


@functools.lru_cache(maxsize=1)
def _plotly_chunk() -> str | None:
    """The file name of the installed Streamlit's chart code (``PlotlyChart.<hash>.js``, built
    into its static folder), or None where there is not exactly one (looked up once: the script
    that uses it is drawn every run)."""
    found = [f.name for f in (Path(streamlit.__file__).parent / "static" / "static" / "js").glob(
        "PlotlyChart.*.js")]
    return found[0] if len(found) == 1 and re.fullmatch(r"[\w.-]+", found[0]) else None


# Streamlit loads its chart code (plotly.js, 4.7 MB) when a page load first draws a chart, and
# leaves the chart's place empty meanwhile: ~0.6 s in a fresh browser, 0.1-0.2 s from the browser's
# cache, paid by the first page with a chart or by the first click that shows one ("hide it" on a
# link to "switch heads off": 0.41 s instead of 0.27). This script imports the same module once a
# page load's browser is first idle (a first page without a chart, such as the start page, is drawn
# before it); Streamlit's own import of it (the same URL, next to its main script) then finds it.
_PRELOAD_JS = """<script>
(() => {
  if (window.__bertlabPlotly) return;
  window.__bertlabPlotly = true;
  const main = document.querySelector('script[type="module"][src*="/static/js/index."]');
  if (!main) return;
  const url = new URL("./%s", main.src).href;
  requestIdleCallback(() => import(url).catch(() => {}), {timeout: 3000});
})();
</script>"""


def svg_button_html(title: str) -> str:
    """The script (and its style) that gives every chart's mode bar a "save as SVG" button, and the
    one that loads the chart code as a page opens; shown with ``st.html(...,
    unsafe_allow_javascript=True)`` once per run (app.py).

    Args:
        title: the button's tooltip, in the UI's language.
    """
    title_js = json.dumps(str(title), ensure_ascii=False).replace("<", "\\u003c")
    chunk = _plotly_chunk()
    return _SVG_CSS + _SVG_JS % title_js + (_PRELOAD_JS % chunk if chunk else "")

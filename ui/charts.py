"""Plotly figures and small HTML builders: pure functions of arrays and labels.

One calm colour scheme for the whole app. Every label that may come from user text (tokens, words)
is HTML-escaped here, because plotly renders a small HTML subset in labels and the token chips are
HTML: user text is always shown as text, never interpreted.

Presenter mode enlarges every chart's type: ``app.py`` calls :func:`set_font_scale` at the top of
each run. The scale lives in a context variable, so it is per session (Streamlit runs each session's
script in its own thread) and never leaks from a projected session to a student's.

Token axes are numeric with the tokens as tick text, so a token that occurs twice ("the … the")
keeps two rows instead of being merged by plotly's categorical axis.
"""

from __future__ import annotations

import html
from contextvars import ContextVar

import numpy as np
import plotly.graph_objects as go

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


BASE_FONT_SIZE = 12  # plotly's default
_FONT_SCALE: ContextVar[float] = ContextVar("bertlab_chart_font_scale", default=1.0)


def set_font_scale(scale: float) -> None:
    """Type size of the charts built next in this thread (session): 1.0 normal, ~1.5 for
    projecting."""
    _FONT_SCALE.set(float(scale))


def px(size: float) -> int:
    """A font size in pixels at the current scale."""
    return round(size * _FONT_SCALE.get())


def esc(text) -> str:
    """Escapes text for plotly labels and HTML (``<b>`` in a sentence stays "<b>")."""
    return html.escape(str(text), quote=True)


def _layout(fig: go.Figure, title: str | None, height: int | None = None) -> go.Figure:
    # The title sits at the top of the figure (not just above the plot area), so axis labels drawn
    # on top (heatmaps' token axes) never run into it.
    fig.update_layout(title=dict(text=esc(title) if title else None, x=0, xanchor="left",
                                 y=1, yref="container", yanchor="top", pad=dict(t=12),
                                 font=dict(size=px(16))),
                      font=dict(FONT, size=px(BASE_FONT_SIZE)),
                      margin=dict(l=10, r=10, t=px(48) if title else 10, b=10),
                      paper_bgcolor="rgba(0,0,0,0)", plot_bgcolor="rgba(0,0,0,0)",
                      height=height)
    return fig


def word_colors(word_ids, special=None) -> list[str]:
    """A colour per token: tokens of the same word share one; specials are grey."""
    out = []
    for i, w in enumerate(word_ids):
        if w is None or (special is not None and special[i]):
            out.append(SPECIAL_COLOR)
        else:
            out.append(PALETTE[w % len(PALETTE)])
    return out


# ----------------------------------------------------------------------------- figures

def heatmap(matrix, x_labels=None, y_labels=None, title: str | None = None, *,
            colorscale: str = SEQUENTIAL, zmin=None, zmax=None, zmid=None, text=None,
            x_title: str | None = None, y_title: str | None = None, height: int | None = None,
            value_label: str = "", show_scale: bool = True, text_size: int = 12) -> go.Figure:
    """A heatmap of a 2-D array, rows top to bottom; labels may repeat (numeric axes + tick
    text)."""
    m = np.asarray(matrix, dtype=float)
    rows, cols = m.shape if m.ndim == 2 else (1, m.size)
    m = m.reshape(rows, cols)
    xs, ys = np.arange(cols), np.arange(rows)
    hover_x = [esc(v) for v in x_labels] if x_labels is not None else [str(i) for i in xs]
    hover_y = [esc(v) for v in y_labels] if y_labels is not None else [str(i) for i in ys]
    custom = np.array([[f"{hover_y[r]} → {hover_x[c]}" for c in range(cols)] for r in range(rows)])
    trace = go.Heatmap(z=m, x=xs, y=ys, colorscale=colorscale, zmin=zmin, zmax=zmax, zmid=zmid,
                       customdata=custom, showscale=show_scale, xgap=1, ygap=1,
                       hovertemplate=("%{customdata}<br>" + esc(value_label)
                                      + " %{z:.4f}<extra></extra>"),
                       colorbar=dict(thickness=12, outlinewidth=0))
    if text is not None:
        trace.update(text=[[esc(v) for v in row] for row in text], texttemplate="%{text}",
                     textfont=dict(size=px(text_size)))
    fig = go.Figure(trace)
    fig.update_xaxes(tickvals=xs if x_labels is not None else None,
                     ticktext=hover_x if x_labels is not None else None,
                     title=esc(x_title) if x_title else None, side="top", showgrid=False,
                     tickangle=-45 if cols > 8 else 0)
    fig.update_yaxes(tickvals=ys if y_labels is not None else None,
                     ticktext=hover_y if y_labels is not None else None,
                     title=esc(y_title) if y_title else None, autorange="reversed", showgrid=False)
    auto_h = max(180, min(px(900), 48 + px(28) * rows + (px(60) if x_labels is not None else 0)))
    fig = _layout(fig, title, height or auto_h)
    if title and x_labels is not None:  # room for the title above the token labels on top
        longest = max((len(str(v)) for v in x_labels), default=1)
        label_h = px(0.71 * 7.5 * longest + 16 if cols > 8 else 22)
        fig.update_layout(margin_t=px(48) + int(min(label_h, px(140))))
    return fig


def bars(labels, values, title: str | None = None, *, highlight: int | None = None,
         color: str = PALETTE[0], percent: bool = True, height: int | None = None,
         x_max: float | None = None) -> go.Figure:
    """Horizontal bars, the first label on top (e.g. top-k predictions with probabilities).

    Args:
        x_max: an absolute axis from 0 to ``x_max`` with its ticks shown (1.0 for probabilities:
            3 % then looks small next to 100 %), instead of an axis scaled to the longest bar.
    """
    vals = [float(v) for v in values]
    colors = [PALETTE[1] if i == highlight else color for i in range(len(vals))]
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
    fig = _layout(fig, title, height or 60 + px(32) * len(vals) + (px(20) if x_max else 0))
    if x_max is not None:  # room for the last tick's label ("100%"), centred on the axis' end
        fig.update_layout(margin_r=px(24))
    return fig


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


def vectors(rows, row_labels, title: str | None = None, *, dims=None) -> go.Figure:
    """Rows of vectors as a diverging heatmap (one row per vector, one column per dimension)."""
    m = np.asarray(rows, dtype=float)
    dims = list(dims) if dims is not None else list(range(m.shape[1]))
    lim = float(np.abs(m).max()) or 1.0
    fig = heatmap(m, [str(d) for d in dims], row_labels, title, colorscale=DIVERGING,
                  zmin=-lim, zmax=lim, zmid=0, height=70 + px(40) * len(m))
    fig.update_xaxes(tickangle=0, nticks=min(len(dims), 16), tickvals=None, ticktext=None,
                     side="bottom")
    return fig


def architecture(config, counts: dict[str, int], text: dict[str, str]) -> go.Figure:
    """BERT's architecture drawn bottom-up with the live model's real numbers.

    Args:
        config: the model's BertConfig.
        counts: ``Bert.num_parameters()`` (embeddings, encoder, pooler, cls.predictions, ...).
        text: translated labels: input, embeddings, layer, attention, ffn, pooler, mlm, nsp, params,
            and optionally word, position, segment (the three embedding tables).
    """
    c = config
    L, H, D, FFN = c.num_hidden_layers, c.num_attention_heads, c.hidden_size, c.intermediate_size
    fig = go.Figure()

    def box(x0, x1, y0, y1, fill, label, sub="", line=INK):
        fig.add_shape(type="rect", x0=x0, x1=x1, y0=y0, y1=y1, fillcolor=fill, opacity=1,
                      line=dict(color=line, width=1), layer="below")
        body = (f"<b>{esc(label)}</b>"
                + (f"<br><span style='font-size:{px(12)}px'>{esc(sub)}</span>" if sub else ""))
        fig.add_annotation(x=(x0 + x1) / 2, y=(y0 + y1) / 2, text=body, showarrow=False,
                           font=dict(size=px(14), color=INK))

    def arrow(y0, y1, x=5):
        fig.add_annotation(x=x, y=y1, ax=x, ay=y0, xref="x", yref="y", axref="x", ayref="y",
                           showarrow=True, arrowhead=2, arrowwidth=1.5, arrowcolor="#6C757D",
                           text="")

    def n(key):
        return f"{counts.get(key, 0):,} {text['params']}"

    box(2, 8, 0, 0.8, "#FFFFFF", text["input"], f"[CLS] … [SEP] · ≤ {c.max_position_embeddings}")
    arrow(0.8, 1.3)
    box(1, 9, 1.3, 2.5, "#E8EEF5", text["embeddings"],
        f"{text.get('word', 'word')} {c.vocab_size:,}×{D} + "
        f"{text.get('position', 'position')} {c.max_position_embeddings}×{D} + "
        f"{text.get('segment', 'segment')} {c.type_vocab_size}×{D} → LayerNorm · {n('embeddings')}")
    arrow(2.5, 3.0)
    shown = min(L, 24)
    y0, y1 = 3.0, 6.4
    for i in range(shown - 1, 0, -1):  # the stack behind the front layer shows the depth
        off = 0.06 * i * (12 / max(shown, 12))
        fig.add_shape(type="rect", x0=1 + off, x1=9 + off, y0=y0 + off, y1=y1 + off,
                      fillcolor="#DDE6F0", line=dict(color="#9DB3CC", width=1), layer="below")
    box(1, 9, y0, y1, "#F7F9FC", "", "", line=PALETTE[0])
    fig.add_annotation(x=5, y=6.05, text=f"<b>{esc(text['layer'])} × {L}</b> · "
                       f"{esc(n('encoder'))}", showarrow=False, font=dict(size=px(15), color=INK))
    box(1.5, 8.5, 3.3, 4.5, "#FFFFFF", text["attention"], f"{H} × {c.head_dim} = {D}")
    arrow(4.5, 4.7)
    box(1.5, 8.5, 4.7, 5.7, "#FFFFFF", text["ffn"], f"{D} → {FFN} → {D}")
    top = 6.4 + 0.06 * (shown - 1) * (12 / max(shown, 12))
    arrow(top, top + 0.5)
    base = top + 0.5
    box(0.3, 3.2, base, base + 1.1, "#FDEBD8" if "pooler" in counts else "#F1F1F1",
        text["pooler"], n("pooler") if "pooler" in counts else "—")
    box(3.5, 6.5, base, base + 1.1, "#E3F1E1" if "cls.predictions" in counts else "#F1F1F1",
        text["mlm"], n("cls.predictions") if "cls.predictions" in counts else "—")
    box(6.8, 9.7, base, base + 1.1, "#F9E0E1" if "cls.seq_relationship" in counts else "#F1F1F1",
        text["nsp"], n("cls.seq_relationship") if "cls.seq_relationship" in counts else "—")
    fig.update_xaxes(visible=False, range=[0, 10.2])
    fig.update_yaxes(visible=False, range=[-0.2, base + 1.3])
    return _layout(fig, None, 600)


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
                      annotation_font=dict(size=px(11), color=SPECIAL_COLOR))
    fig.update_xaxes(title=esc(x_title), rangemode="tozero", showgrid=False)
    fig.update_yaxes(title=esc(y_title), rangemode="tozero", gridcolor="#EEEEEE")
    fig.update_layout(legend=dict(orientation="h", y=-0.2), hovermode="x unified")
    return _layout(fig, title, height)


# ----------------------------------------------------------------------------- HTML

def chips_html(tokens, colors, sublabels=None, *, outline=None, strike=None,
               direction: str = "auto") -> str:
    """Tokens as coloured chips with an optional small line under each (ids, segments …).

    Every token and sublabel is escaped: the result is safe to pass to st.html / st.markdown.

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
            f'<div{dirs.get(i, "")} style="background:{color}22;border-bottom:3px '
            f'solid {color};outline:{border};border-radius:6px;padding:3px 8px;font-size:1.05em;'
            f'white-space:pre;color:{INK};{deco}">{esc(tok)}</div>{sub}</div>')
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
                      legend=dict(orientation="h", y=-0.2), hovermode="x unified")
    return _layout(fig, title, 340)


def confusion(matrix, labels, title: str | None = None, *, true_label: str = "",
              pred_label: str = "") -> go.Figure:
    """A confusion matrix (rows true, columns predicted) with the counts written in."""
    m = np.asarray(matrix)
    fig = heatmap(m, list(labels), list(labels), title, zmin=0, text=m.astype(int).tolist(),
                  x_title=pred_label, y_title=true_label, show_scale=False,
                  height=max(260, 90 + px(40) * len(m)))
    return fig


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
    fig.update_layout(legend=dict(orientation="h", y=-0.1))
    return _layout(fig, title, 360)

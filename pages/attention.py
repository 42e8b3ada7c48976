"""3 · Attention: any head of any layer, the arithmetic of one attention row, bertviz's views,
switching heads off, and what each head tends to look at (Clark et al. 2019; Vig 2019).

Everything numeric comes from ``bertcore.attention`` (and ``ui.bertviz_view`` for the bertviz HTML);
this page only lays it out. The section, the worked example's query token and the token window are
in the URL (``state.section``, ``state.query``, ``state.window``). At long input (more than
``window.WIDTH`` tokens) every view that draws tokens shows a window of them, cut out before any
figure or HTML is built, so its cost grows with the tokens it shows, not with the input.
"""

import numpy as np
import pandas as pd
import streamlit as st

from bertcore import MissingHeadError, attention
from ui import (bertviz_view, charts, models, presenter, state, thumbnails, views, window,
                word_table)
from ui.i18n import md_escape, t
from ui.views.attention import layer_view, off_view

SECTIONS = ("head", "example", "bertviz", "off", "summary")
BERTVIZ_VIEWS = ("head", "model", "neuron")  # bertviz's three views, one shown at a time
EXAMPLE_STEPS = ("qk", "scores", "sum")  # the worked example's, one shown at a time
PATTERNS = ("cls", "sep", "punct", "prev", "next", "entropy")  # the summary's, one shown at a time
# bertviz draws one SVG line per pair of tokens per head. Measured in chromium (offline-en, 6 × 12
# heads, a window of a 512-token text): 32 tokens, 74k lines in the model view, took 2.2 s to draw
# and the head view 1.2 s; 16 tokens 1.0 s and 0.6 s. So its window is narrower than the others',
# and above MODEL_VIEW_MAX lines the model view draws a band of layers around the chosen one.
BERTVIZ_WIDTH = 20
MODEL_VIEW_MAX = 40_000  # SVG lines (layers · heads · tokens²) the model view draws at most
PRESENTER_ZOOM = 1.3  # bertviz's views in presenter mode: 15-px labels drawn at 19.5 px
# One light colour per head label (attention.HEAD_LABELS order): the summary table's cells.
LABEL_COLORS = ["#C9D7E8", "#F6D3B0", "#DCCFE9", "#C8E2C4", "#F3C4C5",
                "#CFE6E4", "#F6ECB5", "#E3D2E0", "#E6E6E6"]
WINDOW_KEY = "attn_window"  # the token window's slider (one window for every section)
# Presenter mode's one-head heatmap: 20 tokens (both default sentences whole; longer inputs get a
# 20-token window), in the 540 pixels of views.attention.PRESENTER_HEATMAP.
PRESENTER_WIDTH = 20


def head_label(name: str) -> str:
    return t(f"attn.lbl.{name}")


# ----------------------------------------------------------------------------- cached numbers

@st.cache_data(max_entries=32, show_spinner=False)
def summary_view(name: str, sentence: str, pair: str | None) -> dict:
    return attention.head_summary(models.explain(name, sentence, pair))


@st.cache_data(max_entries=64, show_spinner=False)
def labels_view(name: str, sentence: str, pair: str | None, layer: int) -> list[str]:
    """What each head of one layer does (the whole summary is L times the work)."""
    return list(attention.head_summary(models.explain(name, sentence, pair), [layer])["label"][0])


@st.cache_data(max_entries=64, show_spinner=False)
def walk_view(name: str, sentence: str, pair: str | None, layer: int, head: int, pos: int) -> dict:
    return attention.walkthrough(models.explain(name, sentence, pair), layer, head, pos)


@st.cache_data(max_entries=16, show_spinner=False)
def bertviz_html(kind: str, name: str, sentence: str, pair: str | None, layer: int,
                 labels: tuple, include: tuple | None, first: int, stop: int,
                 zoom: float = 1.0, js: str = "inline", heads: tuple | None = None) -> str:
    x = models.explain(name, sentence, pair)
    lab, shown = dict(labels), range(first, stop)
    if kind == "head":
        return bertviz_view.head_view_html(x, layer=layer, labels=lab, tokens=shown, zoom=zoom,
                                           include_layers=list(include) if include else None,
                                           heads=list(heads) if heads else None, js=js)
    return bertviz_view.model_view_html(x, labels=lab, tokens=shown, zoom=zoom, js=js,
                                        include_layers=list(include) if include else None)


def standalone_html(kind: str, *view, js: str, heads: tuple | None = None) -> str:
    """The view at its normal size (presenter mode's zoom is for the projector) as one file that
    draws offline: the page's own document when it is that already, else made standalone."""
    doc = bertviz_html(kind, *view, 1.0, js, heads)
    return bertviz_view.standalone(doc) if js == "served" else doc


def bertviz_js() -> str:
    """How the page's bertviz iframes get their JavaScript: from the app's static files (cached
    by the browser: a redraw sends only the attention) when the server serves them, else inlined
    (``streamlit run`` without ``make vendor``'s copies). Downloads are always inlined."""
    served = st.get_option("server.enableStaticServing") and bertviz_view.served_ready()
    return "served" if served else "inline"


# ----------------------------------------------------------------------------- page

s = state.current()
bert = models.current_bert()
cfg = bert.config
L, H = cfg.num_hidden_layers, cfg.num_attention_heads

st.title(t("attn.title"))
if not s.presenter:
    st.markdown(t("attn.intro", layers=L, heads=H, total=L * H))

if not s.sentence.strip():
    st.info(t("input.empty"), icon="✍️")
    st.stop()

s = state.clamp_layer_head(L, H)
pair = s.pair or None
x = models.explain(s.model, s.sentence, pair)
tokens = list(x.tokens)
T = len(tokens)
cut = x.encoding.truncation


def truncation_notice() -> None:
    if cut and (cut.removed_a or cut.removed_b):
        st.warning(t("input.truncated", max=bert.max_length,
                     n=len(cut.removed_a) + len(cut.removed_b)), icon="✂️")


if not s.presenter:  # in presenter mode it comes under the section, to leave the screen to charts
    truncation_notice()


def pick_section() -> None:
    section = st.session_state["attn_section"]
    state.update(section=section, step=SECTIONS.index(section))


# The section is in the URL; one this page does not have (another page's) shows the first. In
# presenter mode the step control walks the sections (Next = the next section), so the section
# is the step's.
section = s.section if s.section in SECTIONS else SECTIONS[0]
if s.presenter and s.step == 0 and presenter.PAGE not in st.session_state:
    state.update(step=SECTIONS.index(section))  # a link with a section but no step opens on it
steps = presenter.Steps("attention", {k: t(f"attn.sec.{k}") for k in SECTIONS})
if steps.active:
    section = SECTIONS[steps.step]
    if s.section != section:
        state.update(section=section)
if st.session_state.get("attn_section") != section:
    st.session_state["attn_section"] = section
if s.presenter:
    # One row of controls: the sections, layer and head (the presenter's page is wide enough), so
    # that a heatmap fits under them on a 1440 × 900 projector. The token window, at long input,
    # goes under the chart it cuts.
    c0, c1, c2 = st.columns([4.4, 1, 1])
    window_slot = None
else:
    # The five sections take a row of their own (in one column they were cut off at the right
    # edge); layer and head share the next with the token window, at long input.
    c0 = st.container()
    c1, c2, window_slot = st.columns([1, 1, 4])
c0.segmented_control(t("attn.section"), SECTIONS, format_func=lambda k: t(f"attn.sec.{k}"),
                     key="attn_section", on_change=pick_section, required=True)
c1.selectbox(t("common.layer"), list(range(L)), help=t("common.from_zero"), **state.bind("layer"))
c2.selectbox(t("common.head"), list(range(H)), help=t("common.from_zero"), **state.bind("head"))
s = state.current()
layer, head = s.layer, s.head


def token_label(i: int) -> str:
    return f"{i} · {tokens[i]}"


def shown_tokens(focus: int | None = None, width: int = window.WIDTH) -> range:
    """The tokens a view draws: all of a short input, else a window of ``width`` (slider + notice
    beside the layer and head, in the URL) that moves to ``focus`` when the user picks a new one,
    and otherwise stays where it was slid.
    """
    ss = st.session_state
    if focus is None:
        follow = False
    else:
        first = "_attn_focus" not in ss
        last, ss["_attn_focus"] = ss.get("_attn_focus"), focus
        # A new focus moves the window to it; a session's first one keeps a window a link chose.
        follow = focus != last and (not first or s.window == 0)
    with window_slot or st.container():
        return window.tokens(T, focus=focus if follow else None, width=width, key=WINDOW_KEY)


def section_head() -> None:
    labels = labels_view(s.model, s.sentence, pair, layer)
    chart = st.container()  # drawn after the window is known, above it in presenter mode
    span = shown_tokens(width=PRESENTER_WIDTH if s.presenter else window.WIDTH)
    att = layer_view(s.model, s.sentence, pair, layer, span.start, span.stop)  # (H, W, W)
    shown = tokens[span.start:span.stop]
    windowed = len(span) < T
    chart.subheader(t("attn.head_title", layer=layer, head=head))
    views.attention.draw_head(att[head], shown, T, s.presenter, where=chart)
    chart.caption(t("attn.head_caption", label=head_label(labels[head]))
                  + (" " + t("attn.head_window") if windowed else ""))

    st.subheader(t("attn.grid", heads=H, layer=layer))
    if not s.presenter:
        st.caption(t("attn.grid_caption"))
    # One element for the grid (a list of pictures, wrapping to the screen's width) and one for
    # picking a head: as a 4-column grid of pictures with a button each, the 12 heads of a layer
    # were 50 elements, 0.1 s of a redraw.
    titles = [f"{t('attn.grid_head', head=h)} · {head_label(labels[h])}" for h in range(H)]
    st.image([thumbnails.data_url(thumbnails.thumbnail(att[h], margin=thumbnails.MARGIN))
              for h in range(H)],
             caption=titles, alt=titles,
             width=thumbnails.SHOWN)
    st.pills(t("attn.open_head"), list(range(H)), required=True,
             **state.bind("head", "attn_open_head"))


def current_query() -> int:
    """The query token (``state.query``); one past the end of a shorter input becomes the first
    word."""
    if state.current().query >= T:
        state.update(query=1 if T > 2 else 0)
    return state.current().query


def query_picker() -> int:
    current_query()
    return st.selectbox(t("attn.ex_query"), list(range(T)), format_func=token_label,
                        **state.bind("query", "attn_query"))


def section_example() -> None:
    dh = cfg.head_dim
    if not s.presenter:
        st.markdown(t("attn.ex_intro", layer=layer, head=head, dh=dh))
    pos = query_picker()
    span = shown_tokens(focus=pos)
    w = attention.walk_window(walk_view(s.model, s.sentence, pair, layer, head, pos), span)
    st.latex(r"s_j = \frac{q \cdot k_j}{\sqrt{d_h}} + m_j \qquad p = \mathrm{softmax}(s) "
             r"\qquad \mathrm{out} = \sum_j p_j\, v_j")
    # One step at a time, in the formula's order (the three together took 0.45 s to redraw).
    step = st.segmented_control(t("attn.ex_step"), EXAMPLE_STEPS,
                                format_func=lambda k: t(f"attn.ex_pick_{k}"), required=True,
                                **state.kept("attn_ex_step", EXAMPLE_STEPS[0],
                                             EXAMPLE_STEPS.__contains__))
    {"qk": example_qk, "scores": example_scores, "sum": example_sum}[step](w, pos, span)


def example_qk(w: dict, pos: int, span: range) -> None:
    dh = cfg.head_dim
    st.subheader(t("attn.ex_step1"))
    rows = [t("attn.ex_q_row", token=tokens[pos])] + [t("attn.ex_k_row", pos=j, token=tokens[j])
                                                      for j in span]
    st.plotly_chart(charts.vectors(np.vstack([w["q"][None], w["k"]]), rows,
                                   t("attn.ex_qk_title", dh=dh), dim_label=t("attn.bv_dim")),
                    width="stretch", config=charts.plot_config("query-keys"), key="attn_qk_fig")


def example_scores(w: dict, pos: int, span: range) -> None:
    windowed = len(span) < T
    st.subheader(t("attn.ex_step2"))
    if not s.presenter:
        st.caption(t("attn.ex_table_caption", dh=cfg.head_dim, sqrt=float(w["sqrt_dh"])))
    # A static table as tall as its rows: no inner scroll bar, and it grows with presenter mode's
    # type (an interactive st.dataframe keeps 35-pixel rows and scrolls after ten). st.table reads
    # Markdown in every cell and header, so the tokens and headers ("+ mask") are escaped.
    cols = [md_escape(t(f"attn.col_{c}")) for c in ("token", "qk", "scaled", "mask", "softmax",
                                                   "model")]
    table = pd.DataFrame(dict(zip(cols, (
        [md_escape(token_label(j)) for j in span], w["qk"], w["scaled"], w["mask"], w["softmax"],
        w["probs"]))))
    fmt = {c: "{:+.4f}" for c in cols[1:4]} | {c: "{:.6f}" for c in cols[4:]}
    st.table(table.style.hide(axis="index").format(fmt).bar(subset=[cols[4]], color="#4E79A755",
                                                            vmin=0, vmax=1))
    if windowed:
        st.caption(t("attn.ex_outside", n=T - len(span), share=float(w["outside"])))
    m1, m2 = st.columns(2)
    m1.metric(t("attn.diff_probs"), f"{float(w['probs_max_abs_diff']):.1e}")
    m2.metric(t("attn.diff_context"), f"{float(w['context_max_abs_diff']):.1e}")
    if max(float(w["probs_max_abs_diff"]), float(w["context_max_abs_diff"])) < 1e-4:
        st.success(t("attn.ex_ok"), icon="✅")
    else:
        st.error(t("attn.ex_bad"))


def example_sum(w: dict, pos: int, span: range) -> None:
    windowed = len(span) < T
    st.subheader(t("attn.ex_step3"))
    if not s.presenter:
        st.caption(t("attn.ex_sum_caption", token=tokens[pos]))
    rows = [t("attn.ex_v_row", pos=j, token=tokens[j]) for j in span]
    rows += [t("attn.ex_sum_all_row", n=T) if windowed else t("attn.ex_sum_row"),
             t("attn.ex_model_row")]
    mat = np.vstack([w["weighted"], w["weighted_sum"][None], w["context"][None]])
    st.plotly_chart(charts.vectors(mat, rows, t("attn.ex_sum_title"), dim_label=t("attn.bv_dim")),
                    width="stretch",
                    config=charts.plot_config("weighted-values"), key="attn_sum_fig")


def bertviz_labels() -> tuple:
    keys = {"layer": "common.layer", "head": "common.head", "attention": "attn.title",
            "heads": "attn.bv_heads", "layers": "attn.bv_layers", "all": "attn.bv_all",
            "a_a": "attn.bv_a_a", "b_b": "attn.bv_b_b", "a_b": "attn.bv_a_b", "b_a": "attn.bv_b_a"}
    return tuple(sorted((k, t(v)) for k, v in keys.items()))


def download_view(kind: str, doc: str, file_name: str) -> None:
    """A bertviz view as one HTML file that opens offline (its JavaScript is inlined: see
    ui/bertviz_view.py)."""
    st.download_button(t("export.bv_html"), data=doc.encode("utf-8"), file_name=file_name,
                       mime="text/html", icon=":material/download:", on_click="ignore",
                       help=t("export.bv_html_help"), key=f"attn_bv_{kind}_html")


def section_bertviz() -> None:
    if not s.presenter:
        st.caption(t("attn.bv_intro"))
    # One view at a time (the three together took 0.8 s to redraw, the model view most of it).
    kind = st.segmented_control(t("attn.bv_view"), BERTVIZ_VIEWS,
                                format_func=lambda k: t(f"attn.bv_pick_{k}"), required=True,
                                **state.kept("attn_bv_view", BERTVIZ_VIEWS[0],
                                             BERTVIZ_VIEWS.__contains__))
    # One window for the three views, around the neuron view's query token.
    span = shown_tokens(focus=current_query(), width=BERTVIZ_WIDTH)
    n = len(span)
    if kind == "neuron":
        st.subheader(t("attn.bv_neuron"))
        if not s.presenter:
            st.caption(t("attn.bv_neuron_caption"))
        pos = query_picker()
        w = walk_view(s.model, s.sentence, pair, layer, head, pos)
        fig = bertviz_view.neuron_figure(
            w, tokens, pos, tokens_shown=span if n < T else None,
            titles={"products": t("attn.bv_products"), "probs": t("attn.bv_probs"),
                    "dim": t("attn.bv_dim"), "query": t("attn.bv_query", token="{token}"),
                    "adds": t("attn.bv_adds"), "subtracts": t("attn.bv_subtracts")})
        st.plotly_chart(fig, width="stretch", config=charts.plot_config("neuron-view"),
                        key="attn_neuron_fig")
        if n < T and pos not in span:
            st.caption(t("attn.bv_query_outside", pos=pos))
        return
    if missing := bertviz_view.missing_vendor():
        st.warning(t("attn.bv_missing", files=", ".join(missing)), icon="🧩")
        return
    zoom = PRESENTER_ZOOM if s.presenter else 1.0
    is_pair = bertviz_view.sentence_b_start(x, span) is not None
    js = bertviz_js()
    view = (s.model, s.sentence, pair, layer, bertviz_labels())
    if kind == "head":
        # The layer and head picked above: a fifth of the page to send and draw, and lines for
        # one head, not twelve (0.39 -> 0.23 s an edit, benchmarks/NOTES_redraw.md); the
        # coloured squares add heads.
        st.subheader(t("attn.bv_head"))
        shown = (*view, (layer,), span.start, span.stop)
        doc = bertviz_html("head", *shown, zoom, js, (head,))
        st.iframe(doc, height=bertviz_view.view_height("head", n, L, H, is_pair, zoom),
                  alt=t("attn.bv_head"))
        download_view("head", standalone_html("head", *shown, js=js, heads=(head,)),
                      f"bertlab-head-view-layer-{layer}-head-{head}.html")
        return
    band = bertviz_view.model_view_layers(L, H, n, layer, MODEL_VIEW_MAX)
    include = tuple(band) if band else None
    st.subheader(t("attn.bv_model"))
    st.caption(t("attn.bv_model_caption") + (
        " " + t("attn.bv_large", first=band[0], last=band[-1]) if band else ""))
    doc = bertviz_html("model", *view, include, span.start, span.stop, zoom, js)
    st.iframe(doc, height=bertviz_view.view_height("model", n, len(band) if band else L, H,
                                                   is_pair, zoom),
              alt=t("attn.bv_model"))
    download_view("model", standalone_html("model", *view, include, span.start, span.stop, js=js),
                  "bertlab-model-view.html")


def around(words: list[str], positions, context: int = 8) -> str:
    """The input as text: whole when it is short, else ``context`` tokens either side of each
    hidden one, with "…" for what is left out."""
    if len(words) <= window.WIDTH:
        return " ".join(words)
    keep = sorted({i for p in positions for i in range(max(0, p - context),
                                                        min(len(words), p + context + 1))})
    out = []
    for i, j in zip(keep, keep[1:] + [None]):
        out.append(words[i])
        if j != i + 1 and (j is not None or i < len(words) - 1):
            out.append("…")
    return ("… " if keep[0] > 0 else "") + " ".join(out)


def set_off(pairs) -> None:
    st.session_state["attn_off"] = sorted(pairs)
    state.keep("attn_off")


def section_off() -> None:
    if not s.presenter:
        st.markdown(t("attn.off_intro"))
    enc = x.encoding
    special = enc.special_tokens_mask
    typed = [i for i, tok in enumerate(tokens)
             if tok == bert.tokenizer.mask_token and not special[i]]
    masks = [m for m in s.masks if m < T and not special[m]]
    if not typed and not masks:
        st.info(t("attn.off_need_mask"), icon="🙈")
        choosable = [i for i in range(T) if not special[i]]
        if not choosable:
            st.warning(t("attn.off_no_token"))
            return
        # A content word ("cat", not "the"): hiding it is what shows heads mattering.
        suggested = attention.content_word(tokens, special, enc.word_ids)
        c1, c2 = st.columns([3, 1], vertical_alignment="bottom")
        pick = c1.selectbox(t("attn.off_mask_pick"), choosable, format_func=token_label,
                            index=choosable.index(suggested) if suggested in choosable else 0,
                            key="attn_mask_pick")
        c2.button(t("attn.off_mask_button"), on_click=state.update, kwargs={"masks": [pick]},
                  key="attn_mask_button", type="primary")
        return

    options = [(li, hi) for li in range(L) for hi in range(H)]
    widget = state.kept("attn_off", [], lambda v: isinstance(v, list)
                        and all(tuple(p) in options for p in v))
    st.session_state["attn_off"] = [tuple(p) for p in st.session_state["attn_off"]]
    off = st.multiselect(t("attn.off_pick"), options,
                         format_func=lambda p: t("attn.off_label", layer=p[0], head=p[1]),
                         **widget)
    b1, b2, _ = st.columns([2, 2, 3])
    b1.button(t("attn.off_layer", layer=layer), key="attn_off_layer", on_click=set_off,
              args=(sorted({*map(tuple, off), *((layer, h) for h in range(H))}),))
    b2.button(t("attn.off_clear"), key="attn_off_clear", on_click=set_off, args=([],),
              disabled=not off)

    try:
        eff = off_view(s.model, s.sentence, pair, tuple(sorted(map(tuple, off))), tuple(masks))
    except MissingHeadError:
        st.warning(t("head.no_mlm"))
        return
    except ValueError:  # no [MASK] left (e.g. positions no longer fit the input)
        st.info(t("attn.off_need_mask"), icon="🙈")
        return
    shown = [bert.tokenizer.mask_token if i in eff["positions"] else tok
             for i, tok in enumerate(tokens)]
    st.caption(t("attn.off_input", text=md_escape(around(shown, eff["positions"]))))
    if not off:
        st.info(t("attn.off_none"), icon="👆")
    for m, pos in enumerate(eff["positions"]):
        st.markdown(f"**{t('attn.off_mask', pos=pos)}**")
        views.attention.draw_off(eff, m, len(off))


def section_summary() -> None:
    summary = summary_view(s.model, s.sentence, pair)
    if not s.presenter:
        st.markdown(t("attn.sum_intro"))
    st.info(t("attn.sum_noop"), icon="💤")
    heads_axis = [str(h) for h in range(H)]
    layers_axis = [str(li) for li in range(L)]
    # Clark et al.'s (2019) patterns, each a mean share of attention, and the entropy ("broad"):
    # one at a time, picked here (the six side by side were six charts, 0.7 s to redraw).
    key = st.segmented_control(t("attn.sum_pattern"), PATTERNS,
                               format_func=lambda k: t(f"attn.sum_{k}_pick" if k == "entropy"
                                                       else f"attn.sum_{k}"), required=True,
                               **state.kept("attn_pattern", PATTERNS[0], PATTERNS.__contains__))
    title = (t("attn.sum_entropy", max=float(summary["max_entropy"])) if key == "entropy"
             else t("attn.sum_share", what=t(f"attn.sum_{key}")))
    zmax = float(summary["max_entropy"]) if key == "entropy" else 1.0
    # The chart's title is a line of the page above it, not a plotly title: it cannot run into the
    # axis title drawn over the plot.
    st.markdown(f"**{md_escape(title)}**")
    fig = charts.heatmap.fresh(summary[key], heads_axis, layers_axis, None, zmin=0, zmax=zmax,
                               x_title=t("common.head"), y_title=t("common.layer"),
                               height=max(240, 90 + 28 * L), value_label=title)
    fig.update_xaxes(tickangle=0)
    st.plotly_chart(fig, width="stretch", config=charts.plot_config(f"heads-{key}"),
                    key="attn_sum_pattern")
    # What each head does, a word in each cell: a table of words (it wraps them in their cells and
    # takes the page's type) in the label's colour, one row a layer; a phone scrolls it sideways.
    st.subheader(t("attn.sum_labels"))
    color = dict(zip(attention.HEAD_LABELS, LABEL_COLORS))
    st.html(word_table.html(layers_axis, heads_axis,
                            [[head_label(v) for v in row] for row in summary["label"]],
                            fills=[[color[v] for v in row] for row in summary["label"]],
                            corner=f"{t('common.layer')} ↓ {t('common.head')} →",
                            label_width="4.5em", min_cell="5em"))
    st.caption(t("attn.sum_rule", dom=attention.DOMINANT_SHARE, broad=attention.BROAD_ENTROPY))


{"head": section_head, "example": section_example, "bertviz": section_bertviz, "off": section_off,
 "summary": section_summary}[section]()
if s.presenter:
    truncation_notice()

"""3 · Attention: any head of any layer, the arithmetic of one attention row, bertviz's views,
switching heads off, and what each head tends to look at (Clark et al. 2019; Vig 2019).

Everything numeric comes from ``bertcore.attention`` (and ``ui.bertviz_view`` for the bertviz HTML);
this page only lays it out.
"""

import numpy as np
import pandas as pd
import streamlit as st

from bertcore import MissingHeadError, attention
from ui import bertviz_view, charts, models, state
from ui.i18n import md_escape, t

SECTIONS = ("head", "example", "bertviz", "off", "summary")
TOP_K = 5
MODEL_VIEW_MAX = 1_500_000  # attention numbers (L·H·T²) above which the model view shows one layer
PLOT = {"displayModeBar": False}
# One light colour per head label (attention.HEAD_LABELS order), as a stepwise plotly colour scale.
LABEL_COLORS = ["#C9D7E8", "#F6D3B0", "#C8E2C4", "#F3C4C5",
                "#CFE6E4", "#F6ECB5", "#E3D2E0", "#E6E6E6"]
LABEL_SCALE = [[i / (len(LABEL_COLORS) - 1), c] for i, c in enumerate(LABEL_COLORS)]


def head_label(name: str) -> str:
    return t(f"attn.lbl.{name}")


def kept(key: str, default, valid) -> None:
    """Seeds widget ``key`` from a copy that survives the widget not being drawn (other
    sections)."""
    ss = st.session_state
    store = ss.setdefault("_attn_kept", {})
    if key not in ss:
        value = store.get(key, default)
        ss[key] = value if valid(value) else default


def keep(key: str) -> None:
    st.session_state.setdefault("_attn_kept", {})[key] = st.session_state[key]


# ----------------------------------------------------------------------------- cached numbers

@st.cache_data(max_entries=32, show_spinner=False)
def summary_view(name: str, sentence: str, pair: str | None) -> dict:
    return attention.head_summary(models.explain(name, sentence, pair))


@st.cache_data(max_entries=64, show_spinner=False)
def layer_view(name: str, sentence: str, pair: str | None, layer: int) -> np.ndarray:
    return attention.layer_attention(models.explain(name, sentence, pair), layer)


@st.cache_data(max_entries=64, show_spinner=False)
def walk_view(name: str, sentence: str, pair: str | None, layer: int, head: int, pos: int) -> dict:
    return attention.walkthrough(models.explain(name, sentence, pair), layer, head, pos)


@st.cache_data(max_entries=64, show_spinner=False)
def off_view(name: str, sentence: str, pair: str | None, off: tuple, masks: tuple) -> dict:
    return attention.head_mask_effect(models.loaded(name), sentence, list(off), TOP_K, pair,
                                      list(masks))


@st.cache_data(max_entries=16, show_spinner=False)
def bertviz_html(kind: str, name: str, sentence: str, pair: str | None, layer: int,
                 labels: tuple, include: tuple | None) -> str:
    x = models.explain(name, sentence, pair)
    lab = dict(labels)
    if kind == "head":
        return bertviz_view.head_view_html(x, layer=layer, labels=lab,
                                           include_layers=list(include) if include else None)
    return bertviz_view.model_view_html(x, labels=lab,
                                        include_layers=list(include) if include else None)


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
if cut and (cut.removed_a or cut.removed_b):
    st.warning(t("input.truncated", max=bert.max_length, n=len(cut.removed_a) + len(cut.removed_b)),
               icon="✂️")

kept("attn_section", "head", lambda v: v in SECTIONS)
# The five sections take a row of their own (in one column they were cut off at the right edge).
section = st.segmented_control(t("attn.section"), SECTIONS,
                               format_func=lambda k: t(f"attn.sec.{k}"),
                               key="attn_section", on_change=keep, args=("attn_section",),
                               required=True) or "head"
c1, c2, _ = st.columns([1, 1, 4])
c1.selectbox(t("common.layer"), list(range(L)), help=t("common.from_zero"), **state.bind("layer"))
c2.selectbox(t("common.head"), list(range(H)), help=t("common.from_zero"), **state.bind("head"))
s = state.current()
layer, head = s.layer, s.head
summary = summary_view(s.model, s.sentence, pair)
labels_axis = [f"{i} {tok}" for i, tok in enumerate(tokens)]


def token_label(i: int) -> str:
    return f"{i} · {tokens[i]}"


def section_head() -> None:
    att = layer_view(s.model, s.sentence, pair, layer)  # (H, T, T)
    st.subheader(t("attn.head_title", layer=layer, head=head))
    # Darkest = this head's largest weight, but never below 3/T: a head that spreads its attention
    # evenly (every weight ~1/T) must look pale, not like strong attention everywhere.
    zmax = min(1.0, max(float(att[head].max()), 3.0 / T))
    fig = charts.heatmap(att[head], tokens, tokens, None, zmin=0, zmax=zmax,
                         x_title=t("attn.key_axis"), y_title=t("attn.query_axis"),
                         value_label=t("attn.weight"), height=max(320, min(900, 120 + 26 * T)))
    st.plotly_chart(fig, width="stretch", config=PLOT, key="attn_head_fig")
    st.caption(t("attn.head_caption", label=head_label(summary["label"][layer, head])))

    st.subheader(t("attn.grid", heads=H, layer=layer))
    if not s.presenter:
        st.caption(t("attn.grid_caption"))
    per_row = 4 if H % 4 == 0 or H > 6 else H
    for start in range(0, H, per_row):
        cols = st.columns(per_row)
        for h in range(start, min(start + per_row, H)):
            with cols[h - start]:
                small = charts.heatmap(att[h], None, None,
                                       f"{t('attn.grid_head', head=h)} · "
                                       f"{head_label(summary['label'][layer, h])}",
                                       zmin=0, zmax=1, show_scale=False, height=230,
                                       value_label=t("attn.weight"))
                small.update_xaxes(showticklabels=False)
                small.update_yaxes(showticklabels=False, scaleanchor="x")
                small.update_layout(margin=dict(l=4, r=4, t=36, b=4), title_font_size=12)
                st.plotly_chart(small, width="stretch", config={**PLOT, "staticPlot": True},
                                key=f"attn_grid_{h}")
                st.button(t("attn.open_head", head=h), key=f"attn_open_{h}", on_click=state.update,
                          kwargs={"head": h}, disabled=h == head, width="stretch")


def query_picker() -> int:
    default = 1 if T > 2 else 0
    kept("attn_query", default, lambda v: isinstance(v, int) and 0 <= v < T)
    return st.selectbox(t("attn.ex_query"), list(range(T)), format_func=token_label,
                        key="attn_query", on_change=keep, args=("attn_query",))


def section_example() -> None:
    dh = cfg.head_dim
    if not s.presenter:
        st.markdown(t("attn.ex_intro", layer=layer, head=head, dh=dh))
    pos = query_picker()
    w = walk_view(s.model, s.sentence, pair, layer, head, pos)
    st.latex(r"s_j = \frac{q \cdot k_j}{\sqrt{d_h}} + m_j \qquad p = \mathrm{softmax}(s) "
             r"\qquad \mathrm{out} = \sum_j p_j\, v_j")

    st.subheader(t("attn.ex_step1"))
    rows = [t("attn.ex_q_row", token=tokens[pos])] + [t("attn.ex_k_row", pos=j, token=tok)
                                                      for j, tok in enumerate(tokens)]
    st.plotly_chart(charts.vectors(np.vstack([w["q"][None], w["k"]]), rows,
                                   t("attn.ex_qk_title", dh=dh)),
                    width="stretch", config=PLOT, key="attn_qk_fig")

    st.subheader(t("attn.ex_step2"))
    if not s.presenter:
        st.caption(t("attn.ex_table_caption", dh=dh, sqrt=float(w["sqrt_dh"])))
    table = pd.DataFrame({
        t("attn.col_token"): [token_label(j) for j in range(T)],
        t("attn.col_qk"): w["qk"], t("attn.col_scaled"): w["scaled"], t("attn.col_mask"): w["mask"],
        t("attn.col_softmax"): w["softmax"], t("attn.col_model"): w["probs"],
    })
    fmt = {c: "{:+.4f}" for c in table.columns[1:4]} | {c: "{:.6f}" for c in table.columns[4:]}
    st.dataframe(table.style.format(fmt).bar(subset=[t("attn.col_softmax")], color="#4E79A755",
                                             vmin=0, vmax=1),
                 hide_index=True, width="stretch")
    m1, m2 = st.columns(2)
    m1.metric(t("attn.diff_probs"), f"{float(w['probs_max_abs_diff']):.1e}")
    m2.metric(t("attn.diff_context"), f"{float(w['context_max_abs_diff']):.1e}")
    if max(float(w["probs_max_abs_diff"]), float(w["context_max_abs_diff"])) < 1e-4:
        st.success(t("attn.ex_ok"), icon="✅")
    else:
        st.error(t("attn.ex_bad"))

    st.subheader(t("attn.ex_step3"))
    if not s.presenter:
        st.caption(t("attn.ex_sum_caption", token=tokens[pos]))
    rows = [t("attn.ex_v_row", pos=j, token=tok) for j, tok in enumerate(tokens)]
    rows += [t("attn.ex_sum_row"), t("attn.ex_model_row")]
    mat = np.vstack([w["weighted"], w["weighted_sum"][None], w["context"][None]])
    st.plotly_chart(charts.vectors(mat, rows, t("attn.ex_sum_title")), width="stretch", config=PLOT,
                    key="attn_sum_fig")


def bertviz_labels() -> tuple:
    keys = {"layer": "common.layer", "head": "common.head", "attention": "attn.title",
            "heads": "attn.bv_heads", "layers": "attn.bv_layers", "all": "attn.bv_all",
            "a_a": "attn.bv_a_a", "b_b": "attn.bv_b_b", "a_b": "attn.bv_a_b", "b_a": "attn.bv_b_a"}
    return tuple(sorted((k, t(v)) for k, v in keys.items()))


def section_bertviz() -> None:
    if not s.presenter:
        st.caption(t("attn.bv_intro"))
    missing = bertviz_view.missing_vendor()
    is_pair = bertviz_view.sentence_b_start(x) is not None
    if missing:
        st.warning(t("attn.bv_missing", files=", ".join(missing)), icon="🧩")
    else:
        big = L * H * T * T > MODEL_VIEW_MAX
        only = (layer,) if big else None
        st.subheader(t("attn.bv_head"))
        if big:
            st.caption(t("attn.bv_large", layer=layer))
        doc = bertviz_html("head", s.model, s.sentence, pair, layer, bertviz_labels(), only)
        st.iframe(doc, height=bertviz_view.view_height("head", T, L, H, is_pair),
                  alt=t("attn.bv_head"))
        st.subheader(t("attn.bv_model"))
        st.caption(t("attn.bv_model_caption")
                   + (" " + t("attn.bv_large", layer=layer) if big else ""))
        doc = bertviz_html("model", s.model, s.sentence, pair, layer, bertviz_labels(), only)
        st.iframe(doc, height=bertviz_view.view_height("model", T, 1 if big else L, H, is_pair),
                  alt=t("attn.bv_model"))
    st.subheader(t("attn.bv_neuron"))
    if not s.presenter:
        st.caption(t("attn.bv_neuron_caption"))
    pos = query_picker()
    w = walk_view(s.model, s.sentence, pair, layer, head, pos)
    fig = bertviz_view.neuron_figure(w, tokens, pos, titles={
        "products": t("attn.bv_products"), "probs": t("attn.bv_probs"), "dim": t("attn.bv_dim"),
        "query": t("attn.bv_query", token="{token}")})
    st.plotly_chart(fig, width="stretch", config=PLOT, key="attn_neuron_fig")


def set_off(pairs) -> None:
    st.session_state["attn_off"] = sorted(pairs)
    keep("attn_off")


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
        c1, c2 = st.columns([3, 1], vertical_alignment="bottom")
        pick = c1.selectbox(t("attn.off_mask_pick"), choosable, format_func=token_label,
                            key="attn_mask_pick")
        c2.button(t("attn.off_mask_button"), on_click=state.update, kwargs={"masks": [pick]},
                  key="attn_mask_button", type="primary")
        return

    options = [(li, hi) for li in range(L) for hi in range(H)]
    kept("attn_off", [], lambda v: isinstance(v, list) and all(tuple(p) in options for p in v))
    st.session_state["attn_off"] = [tuple(p) for p in st.session_state["attn_off"]]
    off = st.multiselect(t("attn.off_pick"), options,
                         format_func=lambda p: t("attn.off_label", layer=p[0], head=p[1]),
                         key="attn_off", on_change=keep, args=("attn_off",))
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
    st.caption(t("attn.off_input", text=md_escape(" ".join(shown))))
    if not off:
        st.info(t("attn.off_none"), icon="👆")
    for m, pos in enumerate(eff["positions"]):
        st.markdown(f"**{t('attn.off_mask', pos=pos)}**")
        c1, c2, c3 = st.columns([2, 2, 1.3])
        before, after = eff["before"][m], eff["after"][m]
        c1.plotly_chart(charts.bars([w for w, _ in before], [p for _, p in before],
                                    t("attn.off_before")),
                        width="stretch", config=PLOT, key=f"attn_before_{m}")
        c2.plotly_chart(charts.bars([w for w, _ in after], [p for _, p in after],
                                    t("attn.off_after", n=len(off))),
                        width="stretch", config=PLOT, key=f"attn_after_{m}")
        c3.metric(t("attn.off_top1", token=eff["top1"][m]), f"{eff['top1_after'][m]:.2%}",
                  delta=f"{100 * eff['top1_delta'][m]:+.2f} pp", help=t("attn.off_top1_help"))
        if off:
            if eff["top1_changed"][m]:
                c3.markdown(t("attn.off_changed", before=md_escape(eff["top1"][m]),
                              after=md_escape(after[0][0])))
            else:
                c3.caption(t("attn.off_same", token=md_escape(eff["top1"][m]),
                             tv=eff["tv_distance"][m]))


def section_summary() -> None:
    if not s.presenter:
        st.markdown(t("attn.sum_intro"))
    heads_axis = [str(h) for h in range(H)]
    layers_axis = [str(li) for li in range(L)]
    panels = [("cls", t("attn.sum_cls")), ("sep", t("attn.sum_sep")), ("prev", t("attn.sum_prev")),
              ("next", t("attn.sum_next")), ("self", t("attn.sum_self")),
              ("entropy", t("attn.sum_entropy", max=float(summary["max_entropy"])))]
    for start in range(0, len(panels), 3):
        cols = st.columns(3)
        for col, (key, title) in zip(cols, panels[start:start + 3]):
            zmax = float(summary["max_entropy"]) if key == "entropy" else 1.0
            fig = charts.heatmap(summary[key], heads_axis, layers_axis, title, zmin=0, zmax=zmax,
                                 x_title=t("common.head"), y_title=t("common.layer"),
                                 height=max(240, 90 + 24 * L), value_label=title)
            fig.update_xaxes(tickangle=0)
            col.plotly_chart(fig, width="stretch", config=PLOT, key=f"attn_sum_{key}")
    st.subheader(t("attn.sum_labels"))
    names = list(attention.HEAD_LABELS)
    codes = np.vectorize(names.index)(summary["label"]).astype(float)
    text = [[head_label(v) for v in row] for row in summary["label"]]
    fig = charts.heatmap(codes, heads_axis, layers_axis, None, colorscale=LABEL_SCALE, zmin=0,
                         zmax=len(names) - 1, text=text, show_scale=False,
                         x_title=t("common.head"), y_title=t("common.layer"),
                         height=max(260, 90 + 34 * L), text_size=11)
    fig.update_traces(hovertemplate="%{text}<extra></extra>")
    fig.update_xaxes(tickangle=0)
    st.plotly_chart(fig, width="stretch", config=PLOT, key="attn_sum_labels")
    st.caption(t("attn.sum_rule", dom=attention.DOMINANT_SHARE, broad=attention.BROAD_ENTROPY))


{"head": section_head, "example": section_example, "bertviz": section_bertviz, "off": section_off,
 "summary": section_summary}[section]()

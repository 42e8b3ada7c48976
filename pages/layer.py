"""3b · Inside a layer: one token's vector through one encoder layer — self-attention, residual,
LayerNorm, the feed-forward network's wide units, residual, LayerNorm — with the model's numbers.

The numbers come from ``bertcore.layer.walk``; this page lays them out. The layer is
``state.layer`` (shared with the attention page), the token ``state.query``; at long input the
token picker offers a window of the tokens (``ui/window.py``).
"""

import streamlit as st

from ui import charts, models, presenter, state, views, window
from ui.i18n import t

TOP_UNITS = 10


s = state.current()
bert = models.current_bert()
cfg = bert.config
L, D, wide = cfg.num_hidden_layers, cfg.hidden_size, cfg.intermediate_size

st.title(t("layer.title"))
st.markdown(t("layer.intro", layers=L, dim=D, wide=f"{wide:,}"))
models.offline_note()

if not s.sentence.strip():
    st.info(t("input.empty"), icon="✍️")
    st.stop()

pair = s.pair or None
enc = models.encode(s.model, s.sentence, pair)
if cut := enc.truncation:
    st.warning(t("input.truncated", max=bert.max_length,
                 n=len(cut.removed_a) + len(cut.removed_b)), icon="✂️")
tokens = enc.tokens

steps = presenter.Steps("layer", {"path": t("layer.sec_path"), "ffn": t("layer.sec_ffn"),
                                  "check": t("layer.sec_check")})

# ----------------------------------------------------------------------------- layer and token
s = state.clamp_layer_head(L, cfg.num_attention_heads)
if L > 1:
    st.slider(t("common.layer"), 0, L - 1, help=t("common.from_zero"),
              **state.bind("layer", "layer_layer"))
else:
    st.caption(t("layer.one_layer"))
# A long text: pick among a window of it. A session's first view (a shared link) opens the window on
# the link's token; after that the window stays where it is slid, and the token follows it.
first = "_layer_seen" not in st.session_state
st.session_state["_layer_seen"] = True
span = window.tokens(len(tokens), focus=s.query if first else None, key="layer_window")
if s.query not in span:  # (a shorter input, or the window slid away from the token)
    state.update(query=span.start + 1 if span.start == 0 and len(span) > 2 else span.start)
st.pills(t("layer.token"), span, format_func=lambda i: f"{i} · {tokens[i]}", required=True,
         **state.bind("query", "layer_token"))
s = state.current()
layer, pos = s.layer, s.query
w = views.layer.walk_view(s.model, s.sentence, pair, layer, pos)

# ----------------------------------------------------------------------------- the path
views.layer.draw_path(w, tokens[pos], D)

# ----------------------------------------------------------------------------- the wide layer
steps.section("ffn")
st.subheader(t("layer.ffn_title", dim=D, wide=f"{wide:,}"))
if not s.presenter:
    st.markdown(t("layer.ffn_intro", dim=D, wide=f"{wide:,}", act=cfg.hidden_act))
c1, c2 = st.columns(2)
c1.metric(t("layer.fired"), f"{w.fired:,} / {wide:,}", help=t("layer.fired_help"))
c2.metric(t("layer.share"), f"{w.fire_share:.1%}")
st.markdown(f"**{t('layer.units_title', wide=f'{wide:,}')}**")
st.plotly_chart(charts.sorted_units(w.ffn_act, x_title=t("layer.units_x"),
                                    y_title=t("layer.units_y"), unit_label=t("layer.unit_word")),
                width="stretch", config=charts.plot_config("ffn-units"), key="layer_units_fig")
top = w.top_units(TOP_UNITS)
st.markdown(f"**{t('layer.top_title', k=len(top))}**")
st.html(charts.bars_html([t("layer.unit", i=i) for i, _ in top], [v for _, v in top],
                         percent=False, color=charts.POSITIVE))
if not s.presenter:
    st.caption(t("layer.ffn_caption"))

# ----------------------------------------------------------------------------- the check
steps.section("check")
st.subheader(t("layer.check"))
if not s.presenter:
    st.caption(t("layer.check_caption", layer=layer))
m1, m2 = st.columns(2)
m1.metric(t("layer.diff_token", dim=D), f"{w.output_diff:.1e}")
m2.metric(t("layer.diff_all", tokens=len(tokens)), f"{w.layer_diff:.1e}")
if w.layer_diff < 1e-4:
    st.success(t("layer.check_ok"), icon="✅")
else:
    st.error(t("layer.check_bad"))

"""5 · Next sentence: does sentence B follow sentence A? P(IsNext), segments and A→B attention."""

import streamlit as st

from bertcore import next_sentence
from ui import charts, models, state
from ui.i18n import lang, t

RANDOM_B = {
    "en": ["The recipe calls for two cups of flour.", "Jupiter has dozens of moons.",
           "She missed the last train home.", "The museum is closed on Mondays.",
           "Penguins cannot fly, but they swim very well.", "He forgot his umbrella again.",
           "The stock market fell sharply today.", "Our team won the match in extra time.",
           "The library opens at nine.", "It rained all night, so the street was wet."],
    "zh": ["这道菜需要两杯面粉。", "木星有几十颗卫星。", "她错过了回家的末班车。",
           "博物馆周一闭馆。", "企鹅不会飞，但游泳很好。", "他又忘了带伞。",
           "今天股市大幅下跌。", "我们队在加时赛中赢了比赛。", "图书馆九点开门。",
           "下了一整夜的雨，所以街道是湿的。"],
}


def swap() -> None:
    cur = state.current()
    state.update(sentence=cur.pair, pair=cur.sentence)


def random_b() -> None:
    n = st.session_state.get("nsp_draw", 0) + 1
    st.session_state["nsp_draw"] = n
    pool = [x for x in RANDOM_B.get(lang(), RANDOM_B["en"]) if x != state.current().pair]
    state.update(pair=pool[(n * 7) % len(pool)])


@st.cache_data(max_entries=64, show_spinner=False)
def pair_view(name: str, a: str, b: str) -> next_sentence.PairView:
    """P(IsNext), the segments, and the attention from A's tokens to B's in every layer."""
    return next_sentence.pair_view(models.explain(name, a, b))


s = state.current()
bert = models.current_bert()

st.title(t("nsp.title"))
st.markdown(t("nsp.intro"))

c1, c2, _ = st.columns([1, 1, 3])
c1.button(t("nsp.swap"), icon=":material/swap_vert:", on_click=swap, key="nsp_swap",
          disabled=not (s.sentence.strip() and s.pair.strip()))
c2.button(t("nsp.random"), icon=":material/casino:", on_click=random_b, key="nsp_random")

if not bert.has_nsp:
    st.warning(t("head.no_nsp"))
    st.stop()
if not s.sentence.strip():
    st.info(t("input.empty"), icon="✍️")
    st.stop()
if not s.pair.strip():
    st.info(t("nsp.need_b"), icon="✍️")
    st.stop()

view = pair_view(s.model, s.sentence, s.pair)
if view.removed:
    st.warning(t("input.truncated", max=bert.max_length, n=view.removed), icon="✂️")

# ----------------------------------------------------------------------------- the answer
left, right = st.columns([2, 3])
with left:
    st.plotly_chart(charts.gauge(view.p_is_next, t("nsp.p"), left=t("nsp.not_next_short"),
                                 right=t("nsp.is_next_short")),
                    width="stretch", config={"displayModeBar": False})
    st.markdown(t("nsp.is_next") if view.p_is_next >= 0.5 else t("nsp.not_next"))
with right:
    st.caption(t("nsp.a"))
    st.text(s.sentence)
    st.caption(t("nsp.b"))
    st.text(s.pair)

# ----------------------------------------------------------------------------- segments
st.subheader(t("nsp.segments"))
colors = [charts.SEGMENT_COLORS[seg] for seg in view.type_ids]
st.html(charts.chips_html(view.tokens, colors, [str(seg) for seg in view.type_ids]))
if not s.presenter:
    st.caption(t("nsp.segments_caption"))

# ----------------------------------------------------------------------------- A -> B attention
st.subheader(t("nsp.cross"))
layers, heads = bert.config.num_hidden_layers, bert.config.num_attention_heads
state.clamp_layer_head(layers, heads)
if layers > 1:
    st.select_slider(t("common.layer"), list(range(layers)), help=t("common.from_zero"),
                     **state.bind("layer"))
layer = state.current().layer
if not s.presenter:
    st.caption(t("nsp.cross_caption", heads=heads))
if view.cross.shape[1] and view.cross.shape[2]:
    a_labels = [view.tokens[i] for i in view.a_positions]
    b_labels = [view.tokens[i] for i in view.b_positions]
    # From 0 (plotly's automatic range would start at the smallest value and turn differences in
    # the fourth decimal into dark against white); never darker than 3/T for an even spread.
    zmax = min(1.0, max(float(view.cross[layer].max()), 3.0 / len(view.tokens)))
    st.plotly_chart(charts.heatmap(view.cross[layer], b_labels, a_labels,
                                   t("nsp.cross_title", layer=layer), zmin=0, zmax=zmax,
                                   value_label=t("common.attention")),
                    width="stretch", config={"displayModeBar": False})
else:
    st.info(t("nsp.empty_side"))

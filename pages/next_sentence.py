"""5 · Next sentence: does sentence B follow sentence A? P(IsNext), segments and A→B attention."""

import re

import streamlit as st

from ui import charts, models, presenter, state, views, window
from ui.i18n import lang, t

# Tokens of each sentence the A -> B map shows at once: on a 390-px phone, 12 columns leave ~18 px
# between token labels, which their 45° slant needs to stay apart.
CROSS_WIDTH = 12
EDGE = 8  # a long pair's segments: the first and last EDGE tokens of each sentence

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


def segment_items(tokens, type_ids) -> list[tuple[str, str, str]]:
    """(token, colour, segment) chips: every token, or for a long pair each sentence's first and
    last EDGE tokens with "… n …" between them, so that the input's shape ([CLS] A [SEP] B [SEP])
    fits on one screen."""
    items = [(tok, charts.SEGMENT_COLORS[seg], str(seg)) for tok, seg in zip(tokens, type_ids)]
    if len(tokens) <= window.WIDTH:
        return items
    out, i = [], 0
    for seg in (0, 1):  # [CLS] A [SEP], then B [SEP]
        run = [j for j in range(i, len(tokens)) if type_ids[j] == seg]
        if not run:
            continue
        keep = run if len(run) <= 2 * EDGE + 1 else run[:EDGE + 1] + run[-EDGE:]
        for a, b in zip(keep, keep[1:] + [None]):
            out.append(items[a])
            if b is not None and b > a + 1:
                out.append((f"… {b - a - 1} …", charts.SPECIAL_COLOR, ""))
        i = run[-1] + 1
    return out


def swap() -> None:
    cur = state.current()
    state.update(sentence=cur.pair, pair=cur.sentence)


def shared_words(a: str, b: str) -> set[str]:
    """Words of four letters or more, and two-character runs of Chinese, in both texts."""
    def words(text: str) -> set[str]:
        text = text.lower()
        han = "".join(ch if "\u4e00" <= ch <= "\u9fff" else " " for ch in text)
        return set(re.findall(r"[a-z]{4,}", text)) | {w[i:i + 2] for w in han.split()
                                                      for i in range(len(w) - 1)}
    return words(a) & words(b)


def random_b() -> None:
    """A sentence B from the pool that shares no word with A: unrelated, as BERT's NotNext."""
    n = st.session_state.get("nsp_draw", 0) + 1
    st.session_state["nsp_draw"] = n
    cur = state.current()
    pool = [x for x in RANDOM_B.get(lang(), RANDOM_B["en"]) if x != cur.pair]
    pool = [x for x in pool if not shared_words(x, cur.sentence)] or pool
    state.update(pair=pool[(n * 7) % len(pool)])


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
# No sentence B yet: an example pair (a true continuation, which the offline models score as
# IsNext), said to be one; the sidebar keeps what the user typed.
example = not s.pair.strip()
a, b = (t("nsp.example_a"), t("nsp.example_b")) if example else (s.sentence, s.pair)
if example:
    st.info(t("nsp.example_note"), icon="💡")
elif not s.sentence.strip():
    st.info(t("input.empty"), icon="✍️")
    st.stop()

view = views.next_sentence.pair_view(s.model, a, b)
if view.removed:
    st.warning(t("input.truncated", max=bert.max_length, n=view.removed), icon="✂️")

# In presenter mode: the answer, then the segments, then A -> B attention.
steps = presenter.Steps("next_sentence", {"answer": t("nsp.p"), "segments": t("nsp.segments"),
                                          "cross": t("nsp.cross")})

# ----------------------------------------------------------------------------- the answer
views.next_sentence.draw_answer(view, a, b, example)

# ----------------------------------------------------------------------------- segments
steps.section("segments")
st.subheader(t("nsp.segments"))
chips = segment_items(view.tokens, view.type_ids)
st.html(charts.chips_html(*zip(*chips)))
if not s.presenter:
    st.caption(t("nsp.segments_caption"))
if len(chips) < len(view.tokens):
    st.caption(t("nsp.segments_long", edge=EDGE, n=len(view.tokens)))

# ----------------------------------------------------------------------------- A -> B attention
steps.section("cross")
st.subheader(t("nsp.cross"))
layers, heads = bert.config.num_hidden_layers, bert.config.num_attention_heads
state.clamp_layer_head(layers, heads)
if layers > 1:
    st.select_slider(t("common.layer"), list(range(layers)), help=t("common.from_zero"),
                     **state.bind("layer"))
layer = state.current().layer
if not s.presenter:
    st.caption(t("nsp.cross_caption", heads=heads))
na, nb = view.cross.shape[1:]
if na and nb:
    # Long sentences: one slider moves a window of CROSS_WIDTH tokens along both, each window
    # kept inside its own sentence.
    span = window.tokens(max(na, nb), width=CROSS_WIDTH, key="nsp_window")
    sa, sb = (window.start_for(n, CROSS_WIDTH, span.start) for n in (na, nb))
    rows, cols = range(sa, min(na, sa + CROSS_WIDTH)), range(sb, min(nb, sb + CROSS_WIDTH))
    if len(rows) < na or len(cols) < nb:
        st.caption(t("nsp.window_ab", a0=rows.start, a1=rows.stop - 1, na=na, b0=cols.start,
                     b1=cols.stop - 1, nb=nb))
    a_labels = [view.tokens[view.a_positions[i]] for i in rows]
    b_labels = [view.tokens[view.b_positions[i]] for i in cols]
    # From 0 (plotly's automatic range would start at the smallest value and turn differences in
    # the fourth decimal into dark against white); never darker than 3/T for an even spread.
    shown = view.cross[layer, rows.start:rows.stop, cols.start:cols.stop]
    zmax = min(1.0, max(float(shown.max()), 3.0 / len(view.tokens)))
    st.plotly_chart(charts.heatmap(shown, b_labels, a_labels, t("nsp.cross_title", layer=layer),
                                   zmin=0, zmax=zmax, value_label=t("common.attention")),
                    width="stretch", config=charts.plot_config(f"a-to-b-layer-{layer}"))
else:
    st.info(t("nsp.empty_side"))

"""2 · Embeddings: the three vectors each token starts as, their sum, LayerNorm, and positions."""

import numpy as np
import pandas as pd
import streamlit as st

from bertcore import embeddings
from ui import charts, models, presenter, state, views, window, word_table
from ui.i18n import md_escape, t

FIRST_DIMS = 8
MAP_POINTS = 128  # the position map draws at most this many positions a side (every k-th)


@st.cache_data(max_entries=16, show_spinner=False)
def position_view(name: str, positions: tuple[int, ...]) -> np.ndarray:
    return embeddings.position_similarity(models.loaded(name), len(positions), positions)


s = state.current()
bert = models.current_bert()
dim = bert.config.hidden_size

st.title(t("emb.title"))
st.markdown(t("emb.intro", dim=dim))

if not s.sentence.strip():
    st.info(t("input.empty"), icon="✍️")
    st.stop()

enc = models.encode(s.model, s.sentence, s.pair or None)
parts = views.embeddings.parts_view(s.model, s.sentence, s.pair or None)
if cut := enc.truncation:
    st.warning(t("input.truncated", max=bert.max_length,
                 n=len(cut.removed_a) + len(cut.removed_b)), icon="✂️")

# In presenter mode: one token's vectors, the check against the model, then positions.
steps = presenter.Steps("embeddings", {"parts": t("emb.title"), "check": t("emb.check"),
                                       "positions": t("emb.positions")})

# ----------------------------------------------------------------------------- one token
tokens = enc.tokens
label = lambda i: f"{i} · {md_escape(tokens[i])}"  # noqa: E731
span = window.tokens(len(tokens), key="emb_window")  # a long text: pick among a window of it
default = span.start + 1 if len(span) > 2 and span.start == 0 else span.start
pos = st.pills(t("emb.pick"), span, default=default, format_func=label, required=True,
               key=f"emb_token_{len(tokens)}_{span.start}")
pos = default if pos is None else pos
tok = tokens[pos]

st.subheader(t("emb.parts", token=md_escape(tok), pos=pos))
rows, matrix = views.embeddings.token_rows(parts, enc, pos)
n_first = min(FIRST_DIMS, dim)
st.caption(t("emb.first_dims", n=n_first, dim=dim))
st.html(word_table.numbers(rows, [f"{t('emb.dim')} {d}" for d in range(n_first)],
                           matrix[:, :n_first]))
if not s.presenter and st.toggle(t("emb.all_dims", dim=dim), key="emb_all_dims"):
    full = pd.DataFrame(matrix.T, columns=rows)
    full.index.name = t("emb.dim")
    st.dataframe(full.style.format("{:+.4f}"), width="stretch", height=360)
views.embeddings.draw_heatmaps(rows, matrix, dim)

# ----------------------------------------------------------------------------- the check
steps.section("check")
st.subheader(t("emb.check"))
st.caption(t("emb.check_caption", tokens=len(tokens), dim=dim))
c1, c2 = st.columns(2)
c1.metric(t("emb.diff_sum"), f"{parts.sum_diff:.2e}")
c2.metric(t("emb.diff_ln"), f"{parts.output_diff:.2e}")
if max(parts.sum_diff, parts.output_diff) < 1e-4:
    st.success(t("emb.check_ok"), icon="✅")
else:
    st.error(t("emb.check_bad"))

# ----------------------------------------------------------------------------- positions
steps.section("positions")
st.subheader(t("emb.positions"))
max_pos = bert.config.max_position_embeddings
n = st.slider(t("emb.positions_n"), 2, min(max_pos, 512), min(64, max_pos), key="emb_pos_n")
shown = embeddings.sampled_positions(n, MAP_POINTS)
sim = position_view(s.model, tuple(shown))
if not s.presenter:
    st.caption(t("emb.positions_caption", n=n - 1))
if len(shown) < n:
    st.caption(t("emb.positions_sampled", k=shown[1], m=len(shown)))
fig = charts.position_map(sim, shown, t("emb.positions_title"))
st.plotly_chart(fig, width="stretch", config=charts.plot_config("position-similarity"))

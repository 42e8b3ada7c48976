"""4 · Masked words: hide tokens and watch BERT guess them, layer by layer, and how it was
trained."""

import numpy as np
import streamlit as st

from bertcore import masked_lm
from ui import charts, models, state
from ui.i18n import md_escape, t

K = 5


@st.cache_data(max_entries=64, show_spinner=False)
def mask_view(name: str, sentence: str, pair: str | None, positions: tuple[int, ...],
              k: int = K) -> masked_lm.MaskView:
    """Predictions for the masked positions: independent, greedy, and per layer (logit lens)."""
    return masked_lm.predict_masks(models.loaded(name), models.encode(name, sentence, pair),
                                   positions, k)


@st.cache_data(max_entries=64, show_spinner=False)
def rule_view(name: str, sentence: str, pair: str | None, seed: int) -> masked_lm.PretrainingMask:
    """BERT's 15 % rule on this input, with masks drawn by ``seed``."""
    return masked_lm.pretraining_mask(models.loaded(name), models.encode(name, sentence, pair),
                                      seed)


s = state.current()
bert = models.current_bert()

st.title(t("mlm.title"))
st.markdown(t("mlm.intro"))

if not s.sentence.strip():
    st.info(t("input.empty"), icon="✍️")
    st.stop()
if not bert.has_mlm:
    st.warning(t("head.no_mlm"))
    st.stop()

enc = models.encode(s.model, s.sentence, s.pair or None)
if cut := enc.truncation:
    st.warning(t("input.truncated", max=bert.max_length,
                 n=len(cut.removed_a) + len(cut.removed_b)), icon="✂️")
tokens = enc.tokens
special = enc.special_tokens_mask
mask_token = bert.tokenizer.mask_token
typed = [i for i, tok in enumerate(tokens) if tok == mask_token]
choosable = [i for i, sp in enumerate(special) if not sp and i not in typed]
if any(m not in choosable for m in s.masks):  # a URL or an edited sentence: keep what still fits
    state.update(masks=[m for m in s.masks if m in choosable])

# ----------------------------------------------------------------------------- choose masks
st.pills(t("mlm.pick"), choosable, selection_mode="multi",
         format_func=lambda i: md_escape(tokens[i]), **state.bind("masks"))
if typed:
    st.caption(t("mlm.typed", n=len(typed)))
positions = tuple(sorted(set(state.current().masks) | set(typed)))

# ----------------------------------------------------------------------------- predictions
if not positions:
    st.info(t("mlm.none"), icon="👆")
else:
    mv = mask_view(s.model, s.sentence, s.pair or None, positions, K)
    st.subheader(t("mlm.input"))
    st.html(charts.chips_html(mv.tokens,
                              [charts.PALETTE[1] if i in positions else
                               (charts.SPECIAL_COLOR if special[i] else charts.PALETTE[0])
                               for i in range(len(mv.tokens))]))

    st.subheader(t("mlm.predictions", k=K))
    per_row = 1 if s.presenter else min(3, len(positions))
    for start in range(0, len(positions), per_row):
        cols = st.columns(per_row)
        for col, m in zip(cols, range(start, min(start + per_row, len(positions)))):
            pos = positions[m]
            with col:
                st.plotly_chart(charts.bars(mv.top_tokens[m], mv.top_probs[m],
                                            t("mlm.mask_title", pos=pos, orig=tokens[pos])),
                                width="stretch", config={"displayModeBar": False},
                                key=f"mlm_bars_{pos}")

    # ------------------------------------------------------------------------- at once vs greedy
    st.subheader(t("mlm.compare"))
    if len(positions) < 2:
        st.caption(t("mlm.single"))
    else:
        if not s.presenter:
            st.markdown(t("mlm.compare_caption"))
        at_once = {pos: mv.top_tokens[m][0] for m, pos in enumerate(positions)}
        greedy = {pos: tok for pos, tok, _ in mv.greedy}
        c1, c2 = st.columns(2)
        with c1:
            st.markdown(f"**{t('mlm.at_once')}**")
            st.html(charts.chips_html(
                [at_once.get(i, tok) for i, tok in enumerate(tokens)],
                [charts.PALETTE[1] if i in at_once else charts.SPECIAL_COLOR
                 if special[i] else charts.PALETTE[0] for i in range(len(tokens))],
                outline=[charts.PALETTE[3] if i in at_once and at_once[i] != greedy[i] else None
                         for i in range(len(tokens))]))
        with c2:
            st.markdown(f"**{t('mlm.one_by_one')}**")
            st.html(charts.chips_html(
                [greedy.get(i, tok) for i, tok in enumerate(tokens)],
                [charts.PALETTE[2] if i in greedy else charts.SPECIAL_COLOR
                 if special[i] else charts.PALETTE[0] for i in range(len(tokens))],
                outline=[charts.PALETTE[3] if i in greedy and at_once[i] != greedy[i] else None
                         for i in range(len(tokens))]))
            for n, (pos, tok, p) in enumerate(mv.greedy, 1):
                st.caption(t("mlm.step", n=n, pos=pos, tok=md_escape(tok), p=p))
        differ = sum(at_once[p] != greedy[p] for p in positions)
        (st.info if differ else st.success)(t("mlm.differ", n=differ) if differ else t("mlm.same"))

    # ------------------------------------------------------------------------- logit lens
    st.subheader(t("mlm.lens"))
    if not s.presenter:
        st.caption(t("mlm.lens_caption"))
    m = 0
    if len(positions) > 1:
        m = st.selectbox(t("mlm.lens_mask"), range(len(positions)),
                         format_func=lambda j: f"#{positions[j]} · {tokens[positions[j]]}",
                         key="mlm_lens_mask")
    rows = [t("common.embeddings_layer")] + [t("mlm.after_layer", n=i)
                                              for i in range(len(mv.lens_tokens) - 1)]
    lens_tokens = [layer[m] for layer in mv.lens_tokens]
    lens_probs = np.asarray(mv.lens_probs)[:, m]
    st.plotly_chart(charts.heatmap(lens_probs, [t("mlm.rank", r=r + 1) for r in range(K)], rows,
                                   text=lens_tokens, zmin=0, zmax=1, value_label="p",
                                   height=80 + 34 * len(rows)),
                    width="stretch", config={"displayModeBar": False})

# ----------------------------------------------------------------------------- the 15 % rule
st.subheader(t("mlm.rule"))
seed = st.session_state.setdefault("mlm_seed", 0)


def reroll() -> None:
    st.session_state["mlm_seed"] += 1


pm = rule_view(s.model, s.sentence, s.pair or None, seed)
eligible = len(tokens) - sum(special)
st.markdown(t("mlm.rule_caption", k=len(pm.chosen), n=eligible))
ACTION_COLORS = {"mask": charts.PALETTE[1], "random": charts.PALETTE[3], "keep": charts.PALETTE[2]}
shown = [bert.tokenizer.ids_to_tokens.get(i, "[UNK]") for i in pm.masked_ids]
st.html(charts.chips_html(
    shown,
    [ACTION_COLORS.get(a) or (charts.SPECIAL_COLOR if special[i] else "#C9D3DF")
     for i, a in enumerate(pm.actions)],
    [t(f"mlm.act_{a}") + (f" ({tokens[i]})" if a == "random" else "") if a else ""
     for i, a in enumerate(pm.actions)],
    outline=[ACTION_COLORS.get(a) for a in pm.actions]))
st.caption(t("mlm.legend"))
st.button(t("mlm.reroll"), icon=":material/casino:", key="mlm_reroll", on_click=reroll)

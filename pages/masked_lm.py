"""4 · Masked words: hide tokens and watch BERT guess them, in four parts shown one at a time: the
guesses (all at once or one after another, and layer by layer), how BERT was trained (the 15 %
rule), the same guesses with the right-hand side hidden, and which words they rested on."""

import streamlit as st

from bertcore import attribution, masked_lm
from ui import charts, examples, models, presenter, state, views, window, word_table
from ui.i18n import md_escape, t

K = views.masked_lm.K
# "One after another" runs the model once more per mask after the first; past this many tokens
# run in all ((masks - 1) x tokens), it waits for a click, so a long text stays quick to open.
GREEDY_AUTO_TOKENS = 256
DIRECTIONS_AUTO_TOKENS = 128  # longer: "both sides or the left only" waits for a click
DIRECTION_VIEWS = ("guesses", "attention")  # that part's two views, one shown at a time


@st.cache_data(max_entries=64, show_spinner=False)
def attribution_view(name: str, sentence: str, pair: str | None, positions: tuple[int, ...],
                     position: int, target: int) -> attribution.Attribution:
    """Each token's part in the guess ``target`` at ``position``: gradient × input and integrated
    gradients (``attribution.STEPS`` steps; a long input is read around the mask)."""
    return attribution.attribute(models.loaded(name), models.encode(name, sentence, pair),
                                 positions, position, target)


@st.cache_data(max_entries=64, show_spinner=False)
def rule_view(name: str, sentence: str, pair: str | None, seed: int) -> masked_lm.PretrainingMask:
    """BERT's 15 % rule on this input, with masks drawn by ``seed``."""
    return masked_lm.pretraining_mask(models.loaded(name), models.encode(name, sentence, pair),
                                      seed)


s = state.current()
bert = models.current_bert()

st.title(t("mlm.title"))
st.markdown(t("mlm.intro"))
models.offline_note()

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
# A default sentence opens with its word to guess hidden, once a session (showing it again keeps
# it shown).
shown_defaults = st.session_state.setdefault("_mlm_defaults_shown", set())
if not s.masks and not typed and not s.pair and (s.model, s.sentence) not in shown_defaults:
    shown_defaults.add((s.model, s.sentence))
    if (m := examples.default_mask(s.model, s.sentence)) in choosable:
        state.update(masks=[m])

# ----------------------------------------------------------------------------- choose masks
# A long text shows a window of its tokens; it opens on a mask that is new to this session (from
# a link, or typed), and otherwise stays where the user slid it.
positions = tuple(sorted(set(state.current().masks) | set(typed)))
seen = st.session_state.get("_mlm_seen", ())
span = window.tokens(len(tokens), focus=next((p for p in positions if p not in seen), None),
                     key="mlm_window")
st.session_state["_mlm_seen"] = positions


def pick_masks(key: str, lo: int, hi: int) -> None:
    """The pills show the window's tokens only: masks outside it stay as they are."""
    outside = [m for m in state.current().masks if not lo <= m < hi]
    state.update(masks=outside + list(st.session_state.get(key) or []))


# One widget per window position: a button group keeps its choice as indices into its options,
# which would point at other tokens once the window moved.
pills_key = "w_masks" if span.start == 0 else f"w_masks_{span.start}"
in_window = [m for m in state.current().masks if m in span]
if st.session_state.get(pills_key) != in_window:
    st.session_state[pills_key] = in_window
st.pills(t("mlm.pick"), [i for i in choosable if i in span], selection_mode="multi",
         format_func=lambda i: md_escape(tokens[i]), key=pills_key, on_change=pick_masks,
         args=(pills_key, span.start, span.stop))
if typed:
    st.caption(t("mlm.typed", n=len(typed)))
positions = tuple(sorted(set(state.current().masks) | set(typed)))
if len(positions) > len([p for p in positions if p in span]):
    st.caption(t("mlm.outside", n=len([p for p in positions if p not in span])))


# The page's four parts, one shown at a time (an edit then computes and draws one part, not all
# four): the guesses (at once vs one by one, and layer by layer), the 15 % rule, both sides or
# the left only, and which words mattered. The part is ``state.section``, in the URL. In
# presenter mode the step control reveals the sections one by one instead, down the page, and
# the part follows the step (a class following the teacher sees the same part).
PARTS = {"guesses": ("predictions", "compare", "lens"), "rule": ("rule",),
         "directions": ("directions",), "attribution": ("attribution",)}
PART_OF = {section: part for part, sections in PARTS.items() for section in sections}
steps = presenter.Steps("masked_lm", ({"predictions": t("mlm.predictions", k=K),
                                       "compare": t("mlm.compare"), "lens": t("mlm.lens")}
                                      if positions else {})
                        | {"rule": t("mlm.rule"), "directions": t("dir.title"),
                           "attribution": t("attr.title")})


def first_step(part: str) -> int:
    """The presenter step where ``part`` begins (the first: the guesses while no word is hidden,
    which are then a line at the top, not a step)."""
    return next((i for i, name in enumerate(steps.names) if PART_OF[name] == part), 0)


def pick_part() -> None:
    part = st.session_state["mlm_part"]
    state.update(section=part, step=first_step(part))


part = s.section if s.section in PARTS else "guesses"
if steps.active:
    part = PART_OF[steps.names[steps.step]]
    if s.section != part:
        state.update(section=part)
else:
    if st.session_state.get("mlm_part") != part:
        st.session_state["mlm_part"] = part
    st.segmented_control(t("mlm.part"), PARTS, format_func=lambda k: t(f"mlm.part_{k}"),
                         key="mlm_part", on_change=pick_part, required=True)


def shows(name: str) -> bool:
    """Whether part ``name`` is drawn in this run: the chosen one, or in presenter mode every
    part (``steps.section`` then ends the page at the step)."""
    return steps.active or part == name


def mask_picker(key: str) -> int:
    """Which hidden spot a part is about (an index into ``positions``): picked in a box under
    ``key`` when there are several, else the only one."""
    if len(positions) < 2:
        return 0
    return st.selectbox(t("mlm.lens_mask"), range(len(positions)), key=key,
                        format_func=lambda j: f"#{positions[j]} · {tokens[positions[j]]}")


def chip_colors(chosen, color: str) -> list[str]:
    return [color if i in chosen else charts.SPECIAL_COLOR if special[i] else charts.PALETTE[0]
            for i in span]


pct = views.masked_lm.pct


# ----------------------------------------------------------------------------- predictions
def guesses():
    """The model's guesses at the hidden spots (one after another too, unless that is costly and
    was not asked for)."""
    extra = (len(positions) - 1) * len(tokens)
    greedy_on = (extra <= GREEDY_AUTO_TOKENS
                 or st.session_state.get("_mlm_greedy_for") == (s.sentence, s.pair, positions))
    return views.masked_lm.mask_view(s.model, s.sentence, s.pair or None, positions, K, greedy_on)


if shows("guesses"):
    if not positions:
        st.info(t("mlm.none"), icon="👆")
    else:
        mv = guesses()
        st.subheader(t("mlm.input"))
        st.html(charts.chips_html([mv.tokens[i] for i in span], chip_colors(positions,
                                                                           charts.PALETTE[1])))

        st.subheader(t("mlm.predictions", k=K))
        if not s.presenter:
            st.caption(t("mlm.axis_caption"))
        per_row = 1 if s.presenter else min(3, len(positions))
        for start in range(0, len(positions), per_row):
            cols = st.columns(per_row)
            for col, m in zip(cols, range(start, min(start + per_row, len(positions)))):
                with col:
                    views.masked_lm.draw_guess(mv, m, tokens[positions[m]],
                                               bert.tokenizer.vocab_size)

        # --------------------------------------------------------------------- at once vs greedy
        steps.section("compare")
        st.subheader(t("mlm.compare"))
        if len(positions) < 2:
            st.caption(t("mlm.single"))
        elif not mv.greedy:
            st.info(t("mlm.greedy_costly", n=len(positions) - 1, tokens=len(tokens)), icon="⏱️")
            st.button(t("mlm.greedy_run"), key="mlm_greedy_run", on_click=st.session_state.update,
                      kwargs={"_mlm_greedy_for": (s.sentence, s.pair, positions)})
        else:
            if not s.presenter:
                st.markdown(t("mlm.compare_caption"))
            at_once = {pos: mv.top_tokens[m][0] for m, pos in enumerate(positions)}
            greedy = {pos: tok for pos, tok, _ in mv.greedy}
            differs = [charts.PALETTE[3] if i in at_once and at_once[i] != greedy[i] else None
                       for i in span]  # outlined where the two ways disagree
            c1, c2 = st.columns(2)
            for col, title, filled, color in ((c1, t("mlm.at_once"), at_once, charts.PALETTE[1]),
                                              (c2, t("mlm.one_by_one"), greedy, charts.PALETTE[2])):
                col.markdown(f"**{title}**")
                col.html(charts.chips_html([filled.get(i, tokens[i]) for i in span],
                                           chip_colors(filled, color), outline=differs))
            with c2:
                for n, (pos, tok, p) in enumerate(mv.greedy, 1):
                    st.caption(t("mlm.step", n=n, pos=pos, tok=md_escape(tok), p=p))
            differ = sum(at_once[p] != greedy[p] for p in positions)
            (st.info if differ else st.success)(t("mlm.differ", n=differ) if differ
                                                else t("mlm.same"))

        # ------------------------------------------------------------------------- logit lens
        steps.section("lens")
        st.subheader(t("mlm.lens"))
        if not s.presenter:
            st.caption(t("mlm.lens_caption"))
        m = mask_picker("mlm_lens_mask")
        rows = [t("common.embeddings_layer")] + [t("mlm.after_layer", n=i)
                                                  for i in range(len(mv.lens_tokens) - 1)]
        st.html(word_table.html(rows, [t("mlm.rank", r=r + 1) for r in range(K)],
                                [layer[m] for layer in mv.lens_tokens],
                                [layer[m] for layer in mv.lens_probs], mark=mv.hidden_tokens[m]))
        if mv.hidden_tokens[m] is not None and not s.presenter:
            st.caption(t("mlm.lens_mark", word=md_escape(mv.hidden_tokens[m])))

# ----------------------------------------------------------------------------- the 15 % rule
def reroll() -> None:
    st.session_state["mlm_seed"] += 1


if shows("rule"):
    steps.section("rule")
    st.subheader(t("mlm.rule"))
    seed = st.session_state.setdefault("mlm_seed", 0)
    pm = rule_view(s.model, s.sentence, s.pair or None, seed)
    eligible = len(tokens) - sum(special)
    st.markdown(t("mlm.rule_caption", k=len(pm.chosen), n=eligible))
    ACTION_COLORS = {"mask": charts.PALETTE[1], "random": charts.PALETTE[3],
                     "keep": charts.PALETTE[2]}
    shown = [bert.tokenizer.ids_to_tokens.get(pm.masked_ids[i], "[UNK]") for i in span]
    st.html(charts.chips_html(
        shown,
        [ACTION_COLORS.get(pm.actions[i]) or (charts.SPECIAL_COLOR if special[i] else "#C9D3DF")
         for i in span],
        [t(f"mlm.act_{pm.actions[i]}", orig=tokens[i]) if pm.actions[i] else "" for i in span],
        outline=[ACTION_COLORS.get(pm.actions[i]) for i in span]))
    if len(span) < len(tokens):
        st.caption(t("mlm.rule_window", k=sum(1 for i in span if pm.actions[i]), n=len(span)))
    st.caption(t("mlm.legend"))
    st.button(t("mlm.reroll"), icon=":material/casino:", key="mlm_reroll", on_click=reroll)

# ----------------------------------------------------------------------------- both sides or left
if shows("directions"):
    steps.section("directions")
    st.subheader(t("dir.title"))
    st.markdown(t("dir.intro"))
    st.info(t("dir.not_in_bert"), icon="🧭")
    # The guesses both ways, or one head's attention both ways: one at a time (the four charts
    # together took 0.45 s to redraw).
    view = st.segmented_control(t("dir.view"), DIRECTION_VIEWS, required=True,
                                format_func=lambda k: t(f"dir.view_{k}"),
                                **state.kept("dir_view", DIRECTION_VIEWS[0],
                                             DIRECTION_VIEWS.__contains__))
    layers, heads = bert.config.num_hidden_layers, bert.config.num_attention_heads
    state.clamp_layer_head(layers, heads)
    if view == "attention":
        c1, c2 = st.columns(2)
        if layers > 1:
            c1.select_slider(t("common.layer"), list(range(layers)), help=t("common.from_zero"),
                             **state.bind("layer"))
        if heads > 1:
            c2.select_slider(t("common.head"), list(range(heads)), help=t("common.from_zero"),
                             **state.bind("head"))
    cur = state.current()
    # A long text is read both ways only when asked: two passes that keep every layer's attention
    # take about 2 s at 512 tokens, too long for every edit of the sentence.
    if len(tokens) <= DIRECTIONS_AUTO_TOKENS or st.toggle(t("dir.compute"), key="dir_on"):
        with st.spinner(t("dir.running")):
            dv = views.masked_lm.directions_view(s.model, s.sentence, s.pair or None, positions,
                                                 cur.layer, cur.head, K)
        SIDES = {"both": t("dir.both"), "left": t("dir.left")}
        if view == "guesses" and not positions:
            st.info(t("dir.none"), icon="👆")
        elif view == "guesses":
            m = mask_picker("dir_mask")
            views.masked_lm.draw_directions(dv, m)
            if not s.presenter:
                st.caption(t("dir.caveat"))
        else:  # one head's attention both ways, over the tokens the page shows (a long text:
            # its window)
            labels = [dv.tokens[i] for i in span]
            for col, (side, label) in zip(st.columns(2), SIDES.items()):
                att = getattr(dv, side).attention[span][:, span]
                col.plotly_chart(charts.heatmap(att, labels, labels,
                                                t("dir.attention_title", layer=cur.layer,
                                                  head=cur.head, side=label),
                                                zmin=0, zmax=1,
                                                value_label=t("common.attention")),
                                 width="stretch", config=charts.plot_config(f"attention-{side}"),
                                 key=f"dir_att_{side}")
            if not s.presenter:
                st.caption(t("dir.attention_caption"))

# ----------------------------------------------------------------------------- which words mattered
if shows("attribution"):
    steps.section("attribution")
    st.subheader(t("attr.title"))
    if not s.presenter:
        st.markdown(t("attr.intro"))
    if not positions:
        st.info(t("attr.none"), icon="👆")
        st.stop()
    mv = guesses()
    m = mask_picker("attr_mask")
    pos, hidden = positions[m], mv.hidden_tokens[m]
    # The target: one of the top guesses (the first by default), or the hidden word itself.
    options = [(int(i), t("attr.target_option", word=w, p=pct(p)))
               for i, w, p in zip(mv.top_ids[m], mv.top_tokens[m], mv.top_probs[m])]
    if hidden is not None and hidden not in mv.top_tokens[m]:
        options.append((bert.tokenizer.vocab[hidden],
                        t("attr.target_hidden", word=hidden, p=pct(mv.hidden_probs[m]))))
    choice = st.selectbox(t("attr.target"), range(len(options)),
                          format_func=lambda j: options[j][1], key=f"attr_target_{pos}")
    # Off until asked: the scores cost STEPS + 2 passes forwards and backwards (about 2 s), too much
    # for every edit of the sentence.
    if not st.toggle(t("attr.compute", n=attribution.STEPS + 2), key="attr_on"):
        st.stop()
    with st.spinner(t("attr.running", n=attribution.STEPS + 2)):
        a = attribution_view(s.model, s.sentence, s.pair or None, positions, pos,
                             options[choice][0])
    if a.cropped:
        st.caption(t("attr.cropped", n=len(a.tokens), pos=pos, first=a.kept[1], last=a.kept[-2],
                     total=a.length))
    GREY = "#C9D3DF"  # each chip's underline, so that a score near 0 (white) still shows a chip
    for title, scores in ((t("attr.ig", steps=a.steps), a.integrated),
                          (t("attr.gxi"), a.grad_x_input)):
        st.markdown(f"**{title}**")
        shown = [f"{round(float(v), 2) + 0.0:+.2f}" for v in scores]  # (+ 0.0: no "-0.00")
        st.html(charts.chips_html(a.tokens, [GREY] * len(a.tokens), shown,
                                  fill=charts.diverging_colors(scores)))
    st.caption(t("attr.legend", word=a.target))
    if not s.presenter:
        st.caption(t("attr.sums", word=a.target, f0=f"{a.f_baseline:.2f}", fx=f"{a.f_input:.2f}",
                     change=f"{a.change:+.2f}", total=f"{a.total:+.2f}",
                     delta=f"{round(a.delta, 3) + 0.0:+.3f}", steps=a.steps))
        st.caption(t("attr.gxi_caption"))

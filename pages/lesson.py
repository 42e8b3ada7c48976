"""0 · The lesson: the article's chapters in order, each with a "predict first" question and the
live view it talks about, on the sidebar's sentence.

The chapters follow "BERT model principles and code walk-through" (§2.1-2.2, 3.2, 3.3, 3.4, 3.5,
4.1-4.2). Every view is the full page's own (``ui/views/``); every question's options and truth
come from ``bertcore.lesson`` on the loaded model. The chapter is in the URL (``state.chapter``,
``?chapter=3``) and in a cookie, so a learner who comes back resumes where they left off.
"""

from urllib.parse import urlencode

import streamlit as st

from bertcore import lesson
from ui import charts, examples, models, presenter, state, views, window
from ui.i18n import md_escape, t

CHAPTERS = ("why", "input", "layer", "pretraining", "finetuning", "attention")
COOKIE = "bertlab_lesson"  # the chapter last shown, for a returning learner
COOKIE_JS = ("<script>document.cookie = '" + COOKIE + "={n}; path=/; max-age=31536000; "
             "SameSite=Lax';</script>")
ANSWERS = "_lesson_answers"  # st.session_state: question id -> the learner's answer


# ----------------------------------------------------------------------------- cached views

@st.cache_data(max_entries=32, show_spinner=False)
def heads_off_view(name: str, sentence: str, pair: str | None, masks: tuple[int, ...],
                   heads: tuple[tuple[int, int], ...]) -> list[float]:
    """How much switching each of ``heads`` off alone changes the first hidden word's guess."""
    return lesson.head_off_effects(models.loaded(name), sentence, pair, masks, heads)


# ----------------------------------------------------------------------------- helpers

def go(chapter: int) -> None:
    """on_click of Back/Next and on_change of the chapter list."""
    state.update(chapter=chapter)


def picked() -> None:
    go(st.session_state["lesson_list"] or state.current().chapter)


def full_page(page: str, label: str, **fields) -> None:
    """A link to the full page ``page`` at this view (a new tab: the lesson stays open)."""
    import dataclasses

    view = dataclasses.replace(state.current(), chapter=0, step=0, **fields)
    st.markdown(f":material/open_in_new: [{label}]({page}?{urlencode(state.to_query(view))})")


def ask(qid: str, prompt: str, options: list | None, truth, fmt=str) -> bool:
    """One "predict first" question: the learner picks one of ``options`` (or types a word when
    ``options`` is None) and presses Reveal; then their answer and the model's ``truth`` show side
    by side. An answer holds for this input only (another sentence asks again).

    Returns:
        whether the answer is revealed (the caller then draws the live view).
    """
    ss = st.session_state
    answers = ss.setdefault(ANSWERS, {})
    sig = (qid, s.model, s.sentence, s.pair, s.layer, s.head, s.query)
    key = f"lesson_q_{qid}"
    box = st.container(border=True)  # the question and its answer: one framed block
    box.markdown(f"**:material/psychology_alt: {t('lesson.predict')}** {prompt}")
    if answers.get(qid, {}).get("sig") != sig:
        answers.pop(qid, None)

        def record() -> None:
            answers[qid] = {"sig": sig, "answer": ss.get(f"{key}_in")}

        with box, st.form(f"{key}_form", border=False, enter_to_submit=True):
            if options is None:
                st.text_input(t("lesson.your_word"), key=f"{key}_in", max_chars=40)
            else:
                st.radio(t("lesson.your_answer"), options, format_func=fmt, index=None,
                         horizontal=True, key=f"{key}_in")
            st.form_submit_button(t("lesson.reveal"), type="primary", on_click=record,
                                  icon=":material/visibility:", key=f"{key}_reveal")
        return False
    answer = answers[qid]["answer"]
    if options is None:
        answer = (answer or "").strip()
        right = lesson.same_word(answer, truth)
    else:
        right = answer == truth
    c1, c2 = box.columns(2)
    c1.metric(t("lesson.yours"), fmt(answer) if answer not in (None, "") else "—")
    c2.metric(t("lesson.models"), fmt(truth))
    if answer in (None, ""):
        box.info(t("lesson.no_guess"), icon=":material/visibility:")
    elif right:
        box.success(t("lesson.right"), icon=":material/check_circle:")
    else:
        box.warning(t("lesson.wrong"), icon=":material/lightbulb:")
    box.button(t("lesson.again"), key=f"{key}_again", on_click=answers.pop, args=(qid, None),
               icon=":material/replay:")
    return True


def snippet(tokens: list[str], pos: int, context: int = 10) -> str:
    """The tokens around ``pos`` as text (pieces joined back to words), with "…" for the rest."""
    lo, hi = max(1, pos - context), min(len(tokens) - 1, pos + context + 1)
    text, before = "", ""
    for tok in tokens[lo:hi]:
        if tok.startswith("##"):
            text += tok[2:]
        else:  # Chinese characters (and their punctuation) are written without spaces
            text += ("" if not text or charts.is_cjk(tok) or charts.is_cjk(before) else " ") + tok
        before = tok
    return ("… " if lo > 1 else "") + text + (" …" if hi < len(tokens) - 1 else "")


# ----------------------------------------------------------------------------- the chapters

def chapter_why() -> None:
    if not bert.has_mlm:
        st.warning(t("head.no_mlm"))
        return
    dv = views.masked_lm.directions_view(s.model, s.sentence, pair, (hide,), s.layer, s.head)
    changes = lesson.left_only_changes(dv)[0]
    if ask("why", t("lesson.why_q", word=md_escape(tokens[hide])), [True, False], changes,
           fmt=lambda v: t("lesson.yes") if v else t("lesson.no")):
        views.masked_lm.draw_directions(dv, 0)
    full_page("masked_lm", t("lesson.open", page=t("nav.masked_lm")), masks=[hide],
              section="directions")


def chapter_input() -> None:
    split = lesson.most_split_word(enc)
    if split is not None:
        truth = len(split.pieces)
        if ask("pieces", t("lesson.pieces_q", word=md_escape(split.word)),
               lesson.piece_options(truth), truth):
            span = window.tokens(len(tokens), focus=split.positions[0], key="lesson_tok_window")
            views.tokenization.draw_chips(enc, span)
            st.caption(t("lesson.pieces_a", word=md_escape(split.word),
                         pieces=" ".join(f"`{p}`" for p in split.pieces)))
        full_page("tokenization", t("lesson.open", page=t("nav.tokenization")))
    parts = views.embeddings.parts_view(s.model, s.sentence, pair)
    gaps = lesson.layer_one_input(parts)
    truth = min(gaps, key=gaps.get)
    if ask("layer1", t("lesson.layer1_q"), list(lesson.LAYER_ONE_CANDIDATES), truth,
           fmt=lambda c: t(f"lesson.layer1_{c}")):
        rows, matrix = views.embeddings.token_rows(parts, enc, hide)
        views.embeddings.draw_heatmaps(rows, matrix, dim, key="lesson_emb")
        st.caption(t("lesson.layer1_a", **{c: f"{v:.1e}" for c, v in gaps.items()}))
    full_page("embeddings", t("lesson.open", page=t("nav.embeddings")))


def chapter_layer() -> None:
    w = views.layer.walk_view(s.model, s.sentence, pair, s.layer, query)
    if ask("layer", t("lesson.layer_q", layer=s.layer, token=md_escape(tokens[query])),
           ["attention", "ffn"], lesson.bigger_change(w), fmt=lambda c: t(f"layer.sub_{c}")):
        views.layer.draw_path(w, tokens[query], dim)
    full_page("layer", t("lesson.open", page=t("nav.layer")))


def chapter_pretraining() -> None:
    if not bert.has_mlm:
        st.warning(t("head.no_mlm"))
        return
    mv = views.masked_lm.mask_view(s.model, s.sentence, pair, (hide,), greedy=False)
    shown = list(tokens)
    shown[hide] = bert.tokenizer.mask_token
    st.markdown(f"{t('lesson.hidden')} {md_escape(snippet(shown, hide))}")
    if ask("mlm", t("lesson.mlm_q"), None, mv.top_tokens[0][0]):
        views.masked_lm.draw_guess(mv, 0, tokens[hide], bert.tokenizer.vocab_size)
    full_page("masked_lm", t("lesson.open", page=t("nav.masked_lm")), masks=[hide],
              section="guesses")


def chapter_finetuning() -> None:
    if not bert.has_nsp:
        st.warning(t("head.no_nsp"))
        return
    example = not s.pair.strip()
    a, b = (t("nsp.example_a"), t("nsp.example_b")) if example else (s.sentence, s.pair)
    view = views.next_sentence.pair_view(s.model, a, b)
    if ask("nsp", t("lesson.nsp_q", a=md_escape(a[:200]), b=md_escape(b[:200])), [True, False],
           view.p_is_next >= 0.5, fmt=lambda v: t("nsp.is_next_short") if v
           else t("nsp.not_next_short")):
        views.next_sentence.draw_answer(view, a, b, example, key="lesson_nsp")
    full_page("next_sentence", t("lesson.open", page=t("nav.next_sentence")))
    full_page("fine_tuning", t("lesson.open", page=t("nav.fine_tuning")))


def chapter_attention() -> None:
    # Two lines: one would run off a phone's screen.
    st.latex(r"\mathrm{Attention}(Q,K,V) = \mathrm{softmax}\!\left(\frac{QK^\top}{\sqrt{d_k}}"
             r"\right)V")
    st.latex(r"\mathrm{MultiHead} = \mathrm{Concat}(\mathrm{h}_1, \ldots, \mathrm{h}_h)\,W^O")
    att = views.attention.layer_view(s.model, s.sentence, pair, s.layer, 0, T)  # (H, T, T)
    options, truth = lesson.attention_options(att[s.head][query])
    if ask("attend", t("lesson.attend_q", layer=s.layer, head=s.head,
                       token=md_escape(tokens[query])), options, truth,
           fmt=lambda i: f"{i} · {tokens[i]}"):
        span = window.tokens(T, focus=query, key="lesson_attn_window")
        views.attention.draw_head(att[s.head][span][:, span], tokens[span.start:span.stop], T,
                                  s.presenter, key="lesson_head_fig")
    full_page("attention", t("lesson.open", page=t("nav.attention")), section="example")
    if not bert.has_mlm:
        st.warning(t("head.no_mlm"))
        return
    shown = list(tokens)
    shown[hide] = bert.tokenizer.mask_token
    st.markdown(f"{t('lesson.hidden')} {md_escape(snippet(shown, hide))}")
    heads = lesson.candidate_heads(H, s.layer)
    effects = heads_off_view(s.model, s.sentence, pair, (hide,), tuple(heads))
    strongest = heads[max(range(len(heads)), key=effects.__getitem__)]
    if ask("off", t("lesson.off_q", layer=s.layer, word=md_escape(tokens[hide])), heads,
           strongest, fmt=lambda p: t("attn.off_label", layer=p[0], head=p[1])):
        presenter.table([{t("common.head"): t("attn.off_label", layer=li, head=hi),
                          t("lesson.col_tv"): f"{e:.3f}"} for (li, hi), e in zip(heads, effects)])
        eff = views.attention.off_view(s.model, s.sentence, pair, (strongest,), (hide,))
        views.attention.draw_off(eff, 0, 1)
    full_page("attention", t("lesson.open", page=t("nav.attention")), section="off",
              masks=[hide])


DRAW = {"why": chapter_why, "input": chapter_input, "layer": chapter_layer,
        "pretraining": chapter_pretraining, "finetuning": chapter_finetuning,
        "attention": chapter_attention}


# ----------------------------------------------------------------------------- page

s = state.current()
bert = models.current_bert()
cfg = bert.config
L, H, dim = cfg.num_hidden_layers, cfg.num_attention_heads, cfg.hidden_size

# A returning learner (no chapter in the link) resumes at the chapter of their last visit.
if "_lesson_seen" not in st.session_state:
    st.session_state["_lesson_seen"] = True
    remembered = str(st.context.cookies.get(COOKIE, ""))
    if s.chapter == 0 and remembered.isdigit() and 1 < int(remembered) <= len(CHAPTERS):
        state.update(chapter=int(remembered))
        st.toast(t("lesson.resumed", n=int(remembered)), icon=":material/bookmark:")
s = state.current()
if not 0 <= s.chapter <= len(CHAPTERS):
    state.update(chapter=len(CHAPTERS))
n = max(1, state.current().chapter)
name = CHAPTERS[n - 1]
st.html(COOKIE_JS.format(n=n), unsafe_allow_javascript=True)

st.title(t("lesson.title"))
if not s.presenter:
    st.markdown(t("lesson.intro"))
    models.offline_note()


def done(i: int) -> str:
    """A chapter's name in the list, ticked once its questions are answered."""
    qids = {"why": ["why"], "input": ["pieces", "layer1"], "layer": ["layer"],
            "pretraining": ["mlm"], "finetuning": ["nsp"], "attention": ["attend", "off"]}
    answered = st.session_state.get(ANSWERS, {})
    tick = " ✓" if all(q in answered for q in qids[CHAPTERS[i - 1]]) else ""
    return f"{i} · {t(f'lesson.ch_{CHAPTERS[i - 1]}')}{tick}"


st.session_state["lesson_list"] = n
st.pills(t("lesson.chapters"), list(range(1, len(CHAPTERS) + 1)), format_func=done,
         key="lesson_list", on_change=picked, required=True)
st.progress(n / len(CHAPTERS), text=t("lesson.where", n=n, total=len(CHAPTERS)))

st.header(f"{n} · {t(f'lesson.ch_{name}')}")
st.markdown(t(f"lesson.{name}_text", layers=L, heads=H, dim=dim, wide=f"{cfg.intermediate_size:,}",
              dh=dim // H))

if not s.sentence.strip():
    st.info(t("input.empty"), icon="✍️")
else:
    s = state.clamp_layer_head(L, H)
    pair = s.pair or None
    enc = models.encode(s.model, s.sentence, pair)
    tokens = enc.tokens
    T = len(tokens)
    if cut := enc.truncation:
        st.warning(t("input.truncated", max=bert.max_length,
                     n=len(cut.removed_a) + len(cut.removed_b)), icon="✂️")
    special = enc.special_tokens_mask
    # The word hidden in the chapters that hide one: the default sentence's, else a content word.
    hide = examples.word_to_hide(s.model, s.sentence, pair, enc)
    if s.query >= T or special[s.query]:  # (a shorter input: the first word)
        state.update(query=1 if T > 2 else 0)
    query = state.current().query
    if hide is None:  # nothing but [CLS] and [SEP]
        st.info(t("lesson.no_words"), icon="✍️")
    else:
        DRAW[name]()

st.divider()
c1, c2 = st.columns(2)
c1.button(t("lesson.back"), icon=":material/arrow_back:", key="lesson_back", disabled=n == 1,
          on_click=go, args=(n - 1,), width="stretch")
c2.button(t("lesson.next"), icon=":material/arrow_forward:", key="lesson_next", type="primary",
          disabled=n == len(CHAPTERS), on_click=go, args=(n + 1,), width="stretch")

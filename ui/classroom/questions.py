"""The class's questions (issue 19): the teacher asks the class about the view on the screen, the
students answer on their phones, and the model's own answer is revealed beside the class's.

app.py calls :func:`panel` once per run, above the page. What it draws depends on the member:

* the teacher: "Ask the class" on a page that has a question (the kind follows the page, see
  :data:`KINDS`), then the question in large type, a live chart of the answers (the teacher's
  only poll: an ``st.fragment`` that reads ``store.answers`` every :data:`POLL_S` seconds), how
  many answered, Reveal, and Clear or Ask again;
* a student: the question, an answer widget (choices or a short text), "Answer sent" (or why it
  was not), and after the reveal the model's answer beside the class's chart. A student sees
  counts only, never who answered what. The panel does not poll for students: the class's poll
  (``ui.classroom.session``) reruns the app when a question is asked or revealed.

The kinds, each the question its page (or the lesson's chapter, ``bertcore.lesson``) asks:

=========  ===============================================  ===================================
kind       the question                                     the model's answer, at the reveal
=========  ===============================================  ===================================
``guess``  what will BERT guess for the (first) [MASK]?     its top guesses (``mask_view``)
           (free text, compared like the lesson's
           ``same_word``)
``head``   which token does this head look at most, from    the token it attends to most
           the query token? (the lesson's                   (``layer_view``)
           ``attention_options``: the five it looks at
           most, in input order)
``nsp``    does sentence B follow sentence A? (yes / no)    P(IsNext) (``pair_view``)
=========  ===============================================  ===================================

The other pages (and the lesson's other chapters, whose questions are about the learner's own
reading of a chart) have no ask button: a question without the model's answer to reveal would be
a poll, not the lesson's "predict, then look".

A question's ``spec`` holds everything needed to compute its answer later (model, sentence, pair,
masks, layer, head, query token, chapter), taken from ``ui.state.current()`` when the teacher
asks, so that a reveal after the teacher moved on answers the question that was asked; and what
a student's screen draws (the text with its [MASK], the options' labels), so that a student's
session never runs the model for it. The model's answer is computed at the reveal through the
pages' own cached views (``ui/views/``), never canned, and stored with the question, so every
student reads the same answer.
"""

from __future__ import annotations

import streamlit as st

from bertcore import lesson
from bertcore.checkpoint import CheckpointError
from ui import charts, examples, models, state, views
from ui.i18n import md_escape, t

from .store import MAX_ANSWER_CHARS, ClassError, Question, Store

POLL_S = 1.0  # the teacher's live chart reads the answers this often (one small query)
KINDS = {"masked_lm": "guess", "attention": "head", "next_sentence": "nsp"}  # page -> kind
# The lesson's chapters (``pages/lesson.py`` CHAPTERS, in order) and the kind of those whose
# question is one of the kinds above: 4 hides a word, 5 asks about a pair, 6 about a head.
LESSON_CHAPTERS = ("why", "input", "layer", "pretraining", "finetuning", "attention")
LESSON_KINDS = {"pretraining": "guess", "finetuning": "nsp", "attention": "head"}
GUESSES = views.masked_lm.K  # the model's top guesses shown at the reveal
OPTIONS = 5  # a "head" question's choices
CONTEXT = 12  # a "guess" question shows this many tokens either side of its [MASK]
LABEL_CHARS = 24  # a typed answer's bar label: its beginning (the chart must fit a phone)
TOP_ANSWERS = 8  # typed answers: the most common ones get a bar, the rest one bar "other"
ANSWER_CHARS = MAX_ANSWER_CHARS  # the answer box holds what the store takes
YES, NO = "yes", "no"  # an "nsp" answer as sent (the labels are translated, the values not)

SENT = "_class_q_sent"  # st.session_state: question id -> the answer this student sent
LOOKED = "_class_q_looked"  # st.session_state: question ids whose answer was asked of the store
PROBLEM = "_class_q_problem"  # st.session_state: (question id, locale key) of the last failure
# The box starts below Streamlit's header (which overlays the page's top padding).
CSS = """<style>
.st-key-class_q { margin-top: 1.75rem; }
.st-key-class_q_text p { font-size: 1.25rem; }
</style>"""
NO_SPACE_BEFORE = set(",.;:!?)]}%'") | set("，。、；：！？）」』】》")
NO_SPACE_AFTER = set("([{") | set("（「『【《")
# Presenter mode: the question read from the back row (the page's type is already 21 px).
PRESENTER_CSS = """<style>
.st-key-class_q h3 { font-size: 2.1rem; }
.st-key-class_q_text p { font-size: 1.7rem; }
</style>"""


class Unaskable(Exception):
    """The current view has no question to ask now; ``key`` is the locale key that says why."""

    def __init__(self, key: str):
        super().__init__(key)
        self.key = key


# ----------------------------------------------------------------------------- the question

def kind_for(page: str, chapter: int = 0) -> str | None:
    """The kind of question page ``page`` (a URL path; ``chapter``: the lesson's) asks, or None."""
    if page == "lesson":
        n = min(max(1, chapter), len(LESSON_CHAPTERS))
        return LESSON_KINDS.get(LESSON_CHAPTERS[n - 1])
    return KINDS.get(page)


def make_question(page: str, s: state.State, bert) -> tuple[str, dict]:
    """The question about view ``s`` of page ``page``: (kind, spec).

    Args:
        bert: the loaded model (``s.model``), for its heads and its [MASK] token.

    Raises:
        Unaskable: the view has nothing to ask about (no sentence, no [MASK], no such head).
    """
    kind = kind_for(page, s.chapter)
    if kind is None:
        raise Unaskable("class.q.none_here")
    if not s.sentence.strip():
        raise Unaskable("input.empty")
    base = {"page": page, "model": s.model, "sentence": s.sentence, "pair": s.pair,
            "masks": list(s.masks), "layer": s.layer, "head": s.head, "query": s.query,
            "chapter": s.chapter}
    in_lesson = page == "lesson"
    if kind == "nsp":
        if not bert.has_nsp:
            raise Unaskable("head.no_nsp")
        # As the page and the lesson draw it: without a sentence B, their example pair.
        a, b = (s.sentence, s.pair) if s.pair.strip() else (t("nsp.example_a"),
                                                            t("nsp.example_b"))
        return kind, base | {"a": a, "b": b}
    pair = s.pair or None
    enc = models.encode(s.model, s.sentence, pair)
    tokens, special = enc.tokens, enc.special_tokens_mask
    if kind == "guess":
        if not bert.has_mlm:
            raise Unaskable("head.no_mlm")
        mask = bert.tokenizer.mask_token
        if in_lesson:  # the lesson's chapter hides one word of its own choosing
            hide = examples.word_to_hide(s.model, s.sentence, pair, enc)
            positions = [] if hide is None else [hide]
        else:  # the page's: the chosen words and any [MASK] typed in the sentence
            typed = [i for i, tok in enumerate(tokens) if tok == mask]
            chosen = [m for m in s.masks if m < len(tokens) and not special[m]]
            positions = sorted(set(chosen) | set(typed))
        if not positions:
            raise Unaskable("class.q.need_mask")
        return kind, base | {"positions": positions,
                             "text": masked_text(tokens, positions, mask)}
    # "head": the layer, head and query token as the page draws them (kept inside the model).
    cfg = bert.config
    layer = min(s.layer, cfg.num_hidden_layers - 1)
    head = min(s.head, cfg.num_attention_heads - 1)
    query = s.query if s.query < len(tokens) and not special[s.query] else (
        1 if len(tokens) > 2 else 0)
    row = views.attention.layer_view(s.model, s.sentence, pair, layer, 0, len(tokens))[head][query]
    options, _ = lesson.attention_options(row, OPTIONS)
    return kind, base | {"layer": layer, "head": head, "query": query,
                         "query_token": tokens[query], "options": [str(i) for i in options],
                         "labels": [f"{i} · {tokens[i]}" for i in options]}


def masked_text(tokens: list[str], positions: list[int], mask: str) -> str:
    """The input as text with ``mask`` at ``positions`` (pieces joined back into words; Chinese
    without spaces), around the first of them, "…" where tokens are left out."""
    first = positions[0]
    lo, hi = max(1, first - CONTEXT), min(len(tokens) - 1, first + CONTEXT + 1)
    text, before = "", ""
    for i in range(lo, hi):
        tok = mask if i in positions else tokens[i]
        if tok.startswith("##"):
            text += tok[2:]
        elif tokens[i] in ("[SEP]",) and i < len(tokens) - 1:  # between sentences A and B
            text += " / "
            tok = ""
        else:  # Chinese characters and punctuation are written without spaces
            tight = (not text or charts.is_cjk(tok) or charts.is_cjk(before)
                     or text.endswith(" ") or tok in NO_SPACE_BEFORE or before in NO_SPACE_AFTER)
            text += ("" if tight else " ") + tok
        before = tok
    return ("… " if lo > 1 else "") + text.strip() + (" …" if hi < len(tokens) - 1 else "")


def model_answer(kind: str, spec: dict) -> dict:
    """The model's own answer to a question, computed now through the pages' cached views.

    Returns:
        ``guess``: {"tokens": the top guesses at the first [MASK], "probs"};
        ``head``: {"truth": the position the head attends to most (as the options' text),
        "weights": the weight on each option};
        ``nsp``: {"p": P(IsNext), "truth": "yes" | "no"}.
    Raises:
        CheckpointError: the question's model cannot be loaded any more.
    """
    name, pair = spec["model"], spec["pair"] or None
    if kind == "guess":
        mv = views.masked_lm.mask_view(name, spec["sentence"], pair, tuple(spec["positions"]),
                                       GUESSES, False)
        return {"tokens": list(mv.top_tokens[0]), "probs": [float(p) for p in mv.top_probs[0]]}
    if kind == "head":
        n = len(models.encode(name, spec["sentence"], pair).tokens)
        att = views.attention.layer_view(name, spec["sentence"], pair, spec["layer"], 0, n)
        row = att[spec["head"]][spec["query"]]  # (T,) the query token's attention
        _, truth = lesson.attention_options(row, OPTIONS)
        return {"truth": str(truth), "weights": [float(row[int(o)]) for o in spec["options"]]}
    view = views.next_sentence.pair_view(name, spec["a"], spec["b"])
    return {"p": float(view.p_is_next), "truth": YES if view.p_is_next >= 0.5 else NO}


def choices(q: Question) -> tuple[list[str], list[str]] | None:
    """A choice question's (answer values, their labels); None for a typed answer."""
    if q.kind == "head":
        return list(q.spec["options"]), list(q.spec["labels"])
    if q.kind == "nsp":
        return [YES, NO], [t("class.q.yes"), t("class.q.no")]
    return None


def shown_answer(q: Question, text: str) -> str:
    """An answer as the class reads it: a choice's label, a typed answer as typed."""
    found = choices(q)
    if found is not None and text in found[0]:
        return found[1][found[0].index(text)]
    return text


def tally(q: Question, counts: dict[str, int]) -> tuple[list[str], list[int], list[int]]:
    """The class's answers as bars: (labels, counts, the bars that are the model's answer).

    A choice question has one bar per choice (also at 0, so the chart keeps its shape while
    answers come in); a typed one, the most common answers (each answer as the store counts it,
    and those that differ only by the "##" of a word piece together), then "other".
    """
    truth = (q.reveal or {}).get("truth")
    shown = choices(q)
    if shown is not None:
        values, labels = shown
        return labels, [counts.get(v, 0) for v in values], [
            i for i, v in enumerate(values) if v == truth]
    merged: dict[str, int] = {}
    for text, n in counts.items():
        key = text.removeprefix("##")
        merged[key] = merged.get(key, 0) + n
    ranked = sorted(merged.items(), key=lambda kv: (-kv[1], kv[0]))
    top, rest = ranked[:TOP_ANSWERS], ranked[TOP_ANSWERS:]
    labels = [clip(text) for text, _ in top]
    values = [n for _, n in top]
    if rest:
        labels.append(t("class.q.other", n=len(rest)))
        values.append(sum(n for _, n in rest))
    guess = ((q.reveal or {}).get("tokens") or [None])[0]
    hits = [i for i, (text, _) in enumerate(top) if guess and lesson.same_word(text, guess)]
    return labels, values, hits


def clip(text: str) -> str:
    return text if len(text) <= LABEL_CHARS else text[:LABEL_CHARS - 1].rstrip() + "…"


# ----------------------------------------------------------------------------- drawing

def draw_question(q: Question) -> None:
    """The question as the class reads it (user text escaped: shown as text, never markup)."""
    spec = q.spec
    if q.kind == "guess":
        st.subheader(t("class.q.guess_q"), anchor=False)
        quote = md_escape(spec["text"])
    elif q.kind == "head":
        st.subheader(t("class.q.head_q", layer=spec["layer"], head=spec["head"],
                       token=md_escape(spec["query_token"])), anchor=False)
        quote = md_escape(views.next_sentence.clip(spec["sentence"]))
    else:
        st.subheader(t("class.q.nsp_q"), anchor=False)
        quote = (f"**A** · {md_escape(views.next_sentence.clip(spec['a']))}  \n"
                 f"**B** · {md_escape(views.next_sentence.clip(spec['b']))}")
    with st.container(key="class_q_text"):
        st.markdown(quote)


def draw_answers(q: Question, counts: dict[str, int], students: int, key: str) -> None:
    """The class's answers as a chart (the model's answer highlighted once revealed) and how
    many answered."""
    labels, values, hits = tally(q, counts)
    answered = sum(counts.values())
    st.markdown(t("class.q.count", n=answered, students=students))
    if labels:
        st.plotly_chart(charts.answer_counts(labels, values, t("class.q.class_answers"),
                                             highlight=hits if q.revealed else ()),
                        width="stretch", config=charts.plot_config("class-answers"), key=key)
    if q.revealed and q.kind == "guess" and hits:
        st.caption(t("class.q.orange"))


def draw_reveal(q: Question) -> None:
    """The model's own answer, as the question's page would draw it."""
    r = q.reveal or {}
    if q.kind == "guess":
        tokens = r.get("tokens", [])
        st.markdown(t("class.q.model_guess", word=md_escape(tokens[0] if tokens else "—")))
        st.plotly_chart(charts.bars(tokens, r.get("probs", []), t("class.q.model_guesses"),
                                    x_max=1.0, highlight=0),
                        width="stretch", config=charts.plot_config("class-model"),
                        key=f"class_q_model_{q.id}")
    elif q.kind == "head":
        values, labels = choices(q)
        truth = r.get("truth")
        label = labels[values.index(truth)] if truth in values else truth
        st.markdown(t("class.q.model_head", token=md_escape(label)))
        st.plotly_chart(charts.bars(labels, r.get("weights", []), t("class.q.model_weights"),
                                    x_max=1.0, highlight=values.index(truth)
                                    if truth in values else None),
                        width="stretch", config=charts.plot_config("class-model"),
                        key=f"class_q_model_{q.id}")
    else:
        p = float(r.get("p", 0.0))
        st.markdown(t("nsp.is_next") if p >= 0.5 else t("nsp.not_next"))
        st.plotly_chart(charts.gauge(p, t("nsp.p"), left=t("nsp.not_next_short"),
                                     right=t("nsp.is_next_short")),
                        width="stretch", config=charts.plot_config("class-model"),
                        key=f"class_q_model_{q.id}")


def _live_answers(store: Store, code: str, q: Question, students: int, scale: float) -> None:
    """The teacher's live chart: the answers so far, read again every POLL_S seconds (one query:
    ``students``, those joined, is the page run's count)."""
    charts.set_font_scale(scale)  # (a fragment's rerun does not run app.py, which sets it)
    try:
        counts = store.answers(code, q.id)
    except ClassError as e:
        st.caption(error_text(e.reason))
        return
    draw_answers(q, counts, students, key=f"class_q_live_{q.id}")


live_answers = st.fragment(_live_answers, run_every=POLL_S)


# ----------------------------------------------------------------------------- actions

def error_text(reason: str) -> str:
    """What a store's ClassError says to the member (the store's own messages)."""
    return t(f"class.err.{reason}", n=MAX_ANSWER_CHARS)


def _problem(qid: int | None, key: str) -> None:
    st.session_state[PROBLEM] = (qid, key)


def _ask(store: Store, member, page: str) -> None:
    """on_click of Ask: the question about the view as it is now."""
    st.session_state.pop(PROBLEM, None)
    try:
        kind, spec = make_question(page, state.current(), models.loaded(state.current().model))
        store.ask(member.code, member.token, kind, spec)
    except Unaskable as e:
        _problem(None, e.key)
    except ClassError as e:
        _problem(None, f"class.err.{e.reason}")
    except CheckpointError:
        _problem(None, "class.q.model_failed")


def _reveal(store: Store, member, q: Question) -> None:
    """on_click of Reveal: the model's answer, computed now, stored with the question."""
    st.session_state.pop(PROBLEM, None)
    try:
        store.reveal(member.code, member.token, q.id, model_answer(q.kind, q.spec))
    except ClassError as e:
        _problem(q.id, f"class.err.{e.reason}")
    except CheckpointError:
        _problem(q.id, "class.q.model_failed")


def _clear(store: Store, member) -> None:
    st.session_state.pop(PROBLEM, None)
    try:
        store.clear(member.code, member.token)
    except ClassError as e:
        _problem(None, f"class.err.{e.reason}")


def _send(store: Store, member, qid: int, widget: str) -> None:
    """on_change of a choice, on submit of a typed answer: the answer to the store."""
    text = st.session_state.get(widget)
    if text is None or not str(text).strip():
        return
    try:
        store.answer(member.code, qid, member.student, str(text))
    except ClassError as e:
        _problem(qid, f"class.err.{e.reason}")
        return
    st.session_state.pop(PROBLEM, None)
    st.session_state.setdefault(SENT, {})[qid] = str(text)


def _sent(store: Store, member, qid: int) -> str | None:
    """What this student sent to question ``qid``: as this session remembers it, else (after a
    reload, in a new tab) as the store has it, asked once a question per session."""
    ss = st.session_state
    sent = ss.setdefault(SENT, {})
    looked = ss.setdefault(LOOKED, set())
    if qid not in sent and qid not in looked:
        looked.add(qid)
        try:
            found = store.answer_of(member.code, qid, member.student)
        except ClassError:
            found = None
        if found is not None:
            sent[qid] = found
    return sent.get(qid)


def _show_problem(qid: int | None) -> None:
    """The last action's failure, once (the next run has moved on: a mask hidden since, a second
    waited)."""
    found = st.session_state.pop(PROBLEM, None)
    if found and found[0] in (qid, None):
        st.warning(t(found[1], n=MAX_ANSWER_CHARS), icon=":material/error:")


# ----------------------------------------------------------------------------- the panel

def panel(store: Store, member, page: str, bert) -> bool:
    """The class questions of this run, above the page: the teacher's or a student's. Returns
    whether the page may be drawn below: not while a question asked on this page is open, since
    the page shows the model's answer (its guesses, its attention, P(IsNext)); the class answers
    first, and the page comes back with the reveal.

    Args:
        store: the class store; member: this session's :class:`ui.classroom.session.Member`.
        page: the page's URL path ("" for home); bert: the loaded model (None if none loaded).
    """
    try:
        room = store.room(member.code)
    except ClassError as e:
        st.caption(error_text(e.reason))
        return True
    q = room.question
    presenter = state.current().presenter
    if member.role == "teacher":
        s = state.current()
        if q is None and (kind_for(page, s.chapter) is None or bert is None):
            _show_problem(None)
            return True
        st.html(CSS + (PRESENTER_CSS if presenter else ""))
    elif q is not None:
        st.html(CSS)
    hidden = q is not None and not q.revealed and q.spec.get("page") == page
    if member.role == "teacher" or q is not None:
        with st.container(border=True, key="class_q"):
            if member.role == "teacher":
                teacher(store, member, room, q, page, presenter)
            else:
                student(store, member, room, q)
            if hidden:
                st.caption(t("class.q.page_hidden_teacher" if member.role == "teacher"
                             else "class.q.page_hidden"))
    return not hidden


def teacher(store: Store, member, room, q: Question | None, page: str, presenter: bool) -> None:
    """Ask; the open question with its live answers, Reveal and Clear; the revealed one beside
    the model's answer, with Ask again and Clear."""
    if q is None:
        st.button(t("class.q.ask"), key="class_q_ask", type="primary", icon=":material/quiz:",
                  on_click=_ask, args=(store, member, page), help=t("class.q.ask_help"))
        _show_problem(None)
        return
    draw_question(q)
    if not q.revealed:
        live_answers(store, member.code, q, room.students, charts.font_scale())
        c1, c2 = st.columns(2)
        c1.button(t("class.q.reveal"), key="class_q_reveal", type="primary", width="stretch",
                  icon=":material/visibility:", on_click=_reveal, args=(store, member, q))
        c2.button(t("class.q.clear"), key="class_q_clear", width="stretch",
                  icon=":material/delete:", on_click=_clear, args=(store, member))
        _show_problem(q.id)
        return
    revealed(store, member.code, room, q)
    c1, c2 = st.columns(2)
    if kind_for(page, state.current().chapter) is not None:
        c1.button(t("class.q.again"), key="class_q_again", type="primary", width="stretch",
                  icon=":material/replay:", on_click=_ask, args=(store, member, page),
                  help=t("class.q.again_help"))
    c2.button(t("class.q.clear"), key="class_q_clear", width="stretch", icon=":material/delete:",
              on_click=_clear, args=(store, member))
    _show_problem(None)


def revealed(store: Store, code: str, room, q: Question) -> None:
    """The class's answers beside the model's (answers are closed: read once, no poll)."""
    try:
        counts = store.answers(code, q.id)
    except ClassError as e:
        st.caption(error_text(e.reason))
        return
    left, right = st.columns(2)
    with left:
        draw_answers(q, counts, room.students, key=f"class_q_final_{q.id}")
    with right:
        draw_reveal(q)


def student(store: Store, member, room, q: Question) -> None:
    """The question and the answer widget; after the reveal, the model's answer and the class's.
    """
    draw_question(q)
    sent = _sent(store, member, q.id)
    if q.revealed:
        if sent is not None:
            st.markdown(t("class.q.yours", answer=md_escape(shown_answer(q, sent))))
        revealed(store, member.code, room, q)
        return
    widget = f"class_q_answer_{q.id}"
    shown = choices(q)
    if shown is not None:
        values, labels = shown
        st.pills(t("class.q.pick"), values, format_func=dict(zip(values, labels)).get,
                 key=widget, on_change=_send, args=(store, member, q.id, widget))
    else:
        with st.form(f"class_q_form_{q.id}", border=False, enter_to_submit=True):
            st.text_input(t("class.q.your_word"), key=widget, max_chars=ANSWER_CHARS)
            st.form_submit_button(t("class.q.send"), type="primary", icon=":material/send:",
                                  key=f"class_q_send_{q.id}", on_click=_send,
                                  args=(store, member, q.id, widget))
    if sent is not None:
        st.success(t("class.q.sent", answer=md_escape(shown_answer(q, sent))),
                   icon=":material/check_circle:")
    _show_problem(q.id)



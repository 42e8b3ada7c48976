"""The class questions (ui/classroom/questions.py) with Streamlit's AppTest on the tiny checkpoint.

Each session is a small script that calls ``questions.panel`` with a SqliteStore in tmp_path and
a Member: one teacher and several students in one class, as app.py calls it above the page. The
teacher asks on each kind of view (masked words, attention, next sentence, the lesson's
chapters), students answer, the counts are checked, and the model's answer at the reveal is
compared with what bertcore computes on the same input; then clear, ask again, bad answers (too
long, too fast, HTML), and a reveal after the teacher moved on to another view.
"""

from __future__ import annotations

import json
import logging

import pytest

from app_support import elements, write_app_checkpoint
from test_pages import _language_outside_runs
from ui.i18n import t as tr

AppTest = pytest.importorskip("streamlit.testing.v1").AppTest

TIMEOUT = 120
CAT = "the cat sat on the mat ."  # [CLS] the cat sat on the mat . [SEP]: "cat" is token 2
TEACHER_KEYS = ("class_q_ask", "class_q_reveal", "class_q_clear", "class_q_again")

for _name in ("streamlit.runtime.scriptrunner_utils.script_run_context",
              "streamlit.runtime.state.session_state_proxy"):
    logging.getLogger(_name).setLevel(logging.ERROR)


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory):
    return write_app_checkpoint(tmp_path_factory.mktemp("class-bert"))


@pytest.fixture(autouse=True)
def _env(model_dir, monkeypatch):
    monkeypatch.setenv("BERTLAB_MODEL", str(model_dir))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    _language_outside_runs(monkeypatch)


class Clock:
    """The store's clock, moved by the test (the rate limit is one answer a second)."""

    def __init__(self):
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock():
    return Clock()


@pytest.fixture
def room(tmp_path, clock):
    """(store, code, teacher token) of a class that students s1, s2 and s3 joined."""
    from ui.classroom.sqlite_store import SqliteStore

    store = SqliteStore(tmp_path / "classes.sqlite3", clock=clock)
    r, token = store.create()
    for student in ("s1", "s2", "s3"):
        store.join(r.code, student)
    return store, r.code, token


def class_script():
    """One session of the app, reduced to the frame's part the panel needs: the URL state, the
    presenter's chart scale, the model, and the panel (the test puts the store, the member and
    the page in st.session_state; ``t_update`` changes the view, as a widget would)."""
    import streamlit as st

    from ui import charts, models, state
    from ui.classroom import questions

    ss = st.session_state
    s = state.init()
    if ss.get("t_update"):
        state.update(**ss.pop("t_update"))
    charts.set_font_scale(1.5 if s.presenter else 1.0)
    ss["t_shown"] = questions.panel(ss["t_store"], ss["t_member"], ss["t_page"],
                                    models.current_bert())


def run(at):
    at = at.run(timeout=TIMEOUT)
    if at.exception:
        pytest.fail("the panel raised:\n" + "\n".join(
            f"{e.value}\n{''.join(e.stack_trace)}" for e in at.exception))
    assert not at.error, [e.value for e in at.error]
    return at


def session(store, member, page: str = "masked_lm", **query) -> AppTest:
    at = AppTest.from_function(class_script, default_timeout=TIMEOUT)
    at.query_params.update({k: str(v) for k, v in query.items()})
    at.session_state["t_store"] = store
    at.session_state["t_member"] = member
    at.session_state["t_page"] = page
    return run(at)


def teacher(room, page: str = "masked_lm", **query) -> AppTest:
    from ui.classroom.session import Member

    store, code, token = room
    return session(store, Member(code, "teacher", token=token), page, **query)


def student(room, sid: str, page: str = "masked_lm") -> AppTest:
    from ui.classroom.session import Member

    store, code, _ = room
    return session(store, Member(code, "student", student=sid), page)


def keys(at) -> set[str]:
    return {b.key for b in at.button}


def question(room):
    store, code, _ = room
    return store.room(code).question


def chart(at, name: str) -> dict[str, float]:
    """A bar chart's bars, label -> value, found by its title (escaped in the figure)."""
    from ui.charts import esc

    for el in elements(at, "plotly_chart"):
        fig = json.loads(el.proto.spec)
        if esc(name) in fig["layout"].get("title", {}).get("text", ""):
            bar = fig["data"][0]
            return dict(zip(fig["layout"]["yaxis"]["ticktext"], bar["x"]))
    raise AssertionError(f"no chart titled {name!r}")


def md_plain(text: str) -> str:
    """Markdown with its escapes removed: the text a reader sees."""
    return text.replace("\\", "")


def markdown(at) -> str:
    return "\n".join(m.value for m in at.markdown)


def bert(model_dir):
    """The tiny model, loaded the way the app loads it (the same weights the panel read)."""
    from ui import models

    return models.loaded(str(model_dir))


# ----------------------------------------------------------------------------- guess

def test_guess_asked_answered_counted_revealed_cleared(room, clock, model_dir):
    from bertcore import masked_lm

    t = teacher(room, text=CAT, masks="2")
    assert "class_q_reveal" not in keys(t)
    t = run(t.button(key="class_q_ask").click())
    q = question(room)
    assert q.kind == "guess" and q.spec["positions"] == [2] and q.spec["sentence"] == CAT
    assert "[MASK]" in q.spec["text"] and "cat" not in q.spec["text"]
    assert {"class_q_reveal", "class_q_clear"} <= keys(t) and "class_q_ask" not in keys(t)

    # Two students type, one more answers through the store; the same word in other cases and
    # spaces counts as one answer.
    students = {}
    for sid, word in (("s1", "Dog"), ("s2", " dog ")):
        s = student(room, sid)
        assert not keys(s) & set(TEACHER_KEYS)  # a student sees no teacher controls
        s.text_input(key=f"class_q_answer_{q.id}").input(word)
        students[sid] = s = run(s.button(key=f"class_q_send_{q.id}").click())
        assert any("Answer sent" in m.value for m in s.success)
    room[0].answer(room[1], q.id, "s3", "mat")
    t = run(t)
    assert "**3** of 3 students answered" in markdown(t)
    assert chart(t, "The class's answers") == {"dog": 2, "mat": 1}

    # The reveal: BERT's own guesses at the mask, as bertcore computes them on the same input.
    t = run(t.button(key="class_q_reveal").click())
    b = bert(model_dir)
    mv = masked_lm.predict_masks(b, b.encode(CAT, None), [2], 5, greedy=False)
    q = question(room)
    assert q.revealed and q.reveal["tokens"] == list(mv.top_tokens[0])
    assert q.reveal["probs"] == pytest.approx([float(p) for p in mv.top_probs[0]], abs=1e-6)
    assert f"BERT's top guess: **{mv.top_tokens[0][0]}**" in markdown(t)
    assert list(chart(t, "BERT's top guesses")) == list(mv.top_tokens[0])
    s = run(students["s1"])  # (the class's poll reruns a student's app at the reveal)
    assert f"BERT's top guess: **{mv.top_tokens[0][0]}**" in markdown(s)
    assert "Your answer: **Dog**" in markdown(s)
    assert chart(s, "The class's answers") == {"dog": 2, "mat": 1}
    assert not keys(s) & set(TEACHER_KEYS)

    # Clear, then ask again: a new question (a new id), no answers yet.
    t = run(t.button(key="class_q_clear").click())
    assert question(room) is None and "class_q_ask" in keys(t)
    s = run(students["s1"])  # no question: a student's panel is gone
    assert "MASK" not in markdown(s) and not elements(s, "plotly_chart")
    t = run(t.button(key="class_q_ask").click())
    assert question(room).id > q.id and "**0** of 3 students answered" in markdown(t)


def test_a_student_who_reloads_sees_their_answer_again(room):
    """A reload (a new session, the same student id from the cookie) shows "Answer sent" with the
    student's own answer from the store, and after the reveal "Your answer"; another student who
    has not answered sees the answer box, not someone else's answer."""
    t = teacher(room, text=CAT, masks="2")
    t = run(t.button(key="class_q_ask").click())
    q = question(room)
    s = student(room, "s1")
    s.text_input(key=f"class_q_answer_{q.id}").input("Dog")
    run(s.button(key=f"class_q_send_{q.id}").click())
    again = run(student(room, "s1"))  # a new session of the same student
    assert any("Answer sent" in m.value and "Dog" in m.value for m in again.success)
    other = run(student(room, "s2"))
    assert not any("Answer sent" in m.value for m in other.success)
    assert other.text_input(key=f"class_q_answer_{q.id}").value == ""  # its own, empty box
    run(t.button(key="class_q_reveal").click())
    again = run(student(room, "s1"))
    assert "Your answer: **Dog**" in markdown(again)


def test_the_page_waits_for_the_reveal(room):
    """An open question hides the page it was asked on (which shows the model's answer), for the
    teacher's projector and the students alike; other pages stay; the reveal brings it back."""
    t = teacher(room, text=CAT, masks="2")
    assert t.session_state["t_shown"] is True
    t = run(t.button(key="class_q_ask").click())
    assert t.session_state["t_shown"] is False
    assert t.caption[-1].value == tr("class.q.page_hidden_teacher")
    s = student(room, "s1")
    assert s.session_state["t_shown"] is False and s.caption[-1].value == tr("class.q.page_hidden")
    assert student(room, "s2", page="attention").session_state["t_shown"] is True
    t = run(t.button(key="class_q_reveal").click())
    assert t.session_state["t_shown"] is True and run(s).session_state["t_shown"] is True


def test_guess_needs_a_mask_and_a_sentence(room):
    t = teacher(room, text=CAT)  # no word hidden: the teacher is told to hide one
    t = run(t.button(key="class_q_ask").click())
    assert question(room) is None
    assert any("Hide a word first" in w.value for w in t.warning)
    assert not run(t).warning  # said once: the next run (a word hidden since) is quiet
    t = teacher(room, text="   ")
    t = run(t.button(key="class_q_ask").click())
    assert question(room) is None and t.warning


def test_pages_without_a_question_have_no_ask_button(room):
    for page in ("", "tokenization", "embeddings", "layer", "fine_tuning", "pretraining"):
        assert "class_q_ask" not in keys(teacher(room, page, text=CAT))
    for chapter in (1, 2, 3):
        assert "class_q_ask" not in keys(teacher(room, "lesson", text=CAT, chapter=chapter))


# ----------------------------------------------------------------------------- head

def test_head_question_options_and_reveal(room, model_dir):
    import numpy as np

    from bertcore import attention

    t = teacher(room, "attention", text=CAT, layer=1, head=2, query=2)
    t = run(t.button(key="class_q_ask").click())
    q = question(room)
    assert q.kind == "head" and (q.spec["layer"], q.spec["head"], q.spec["query"]) == (1, 2, 2)
    b = bert(model_dir)
    row = attention.layer_attention(b.explain(CAT, None), 1)[2][2]  # (T,) "cat"'s attention
    top = [int(i) for i in np.argsort(-row, kind="stable")[:5]]
    assert q.spec["options"] == [str(i) for i in sorted(top)]
    assert q.spec["query_token"] == "cat"

    picks = {"s1": q.spec["options"][0], "s2": q.spec["options"][0], "s3": q.spec["options"][1]}
    for sid, value in picks.items():
        s = student(room, sid)
        assert [o for o in s.pills(key=f"class_q_answer_{q.id}").options] == q.spec["labels"]
        s = run(s.pills(key=f"class_q_answer_{q.id}").set_value(value))
        label = q.spec["labels"][q.spec["options"].index(value)]  # the choice, as offered
        assert md_plain(s.success[0].value).startswith(f"Answer sent: **{label}**")
    t = run(t)
    counts = chart(t, "The class's answers")
    assert list(counts) == q.spec["labels"]  # every choice has its bar, also at 0
    assert list(counts.values()) == [2, 1, 0, 0, 0]

    t = run(t.button(key="class_q_reveal").click())
    assert question(room).reveal["truth"] == str(top[0])
    label = q.spec["labels"][q.spec["options"].index(str(top[0]))]
    assert f"This head looks most at **{label}**" in markdown(t)
    weights = chart(t, "The head's attention on each choice")
    assert list(weights.values()) == pytest.approx([row[int(o)] for o in q.spec["options"]])


# ----------------------------------------------------------------------------- nsp

def test_nsp_question_and_reveal(room, model_dir):
    from bertcore import next_sentence

    pair = "it rained ."
    t = teacher(room, "next_sentence", text=CAT, pair=pair)
    t = run(t.button(key="class_q_ask").click())
    q = question(room)
    assert q.kind == "nsp" and (q.spec["a"], q.spec["b"]) == (CAT, pair)
    for sid, value in (("s1", "yes"), ("s2", "no"), ("s3", "no")):
        run(student(room, sid).pills(key=f"class_q_answer_{q.id}").set_value(value))
    t = run(t)
    assert chart(t, "The class's answers") == {"Yes, B follows A": 1, "No, B is random": 2}
    t = run(t.button(key="class_q_reveal").click())
    b = bert(model_dir)
    p = next_sentence.read_pair(b, b.encode(CAT, pair)).p_is_next
    r = question(room).reveal
    assert r["p"] == pytest.approx(p, abs=1e-6) and r["truth"] == ("yes" if p >= 0.5 else "no")


# ----------------------------------------------------------------------------- the lesson

def test_lesson_chapters_ask_their_own_question(room, model_dir):
    from bertcore.attention import content_word

    t = teacher(room, "lesson", text=CAT, chapter=4)
    run(t.button(key="class_q_ask").click())
    q = question(room)
    enc = bert(model_dir).encode(CAT, None)  # not a default sentence: the first content word
    hide = content_word(enc.tokens, enc.special_tokens_mask, enc.word_ids)
    assert q.kind == "guess" and q.spec["positions"] == [hide]
    t = teacher(room, "lesson", text=CAT, chapter=5)
    run(run(t.button(key="class_q_clear").click()).button(key="class_q_ask").click())
    assert question(room).kind == "nsp"  # no sentence B: the lesson's example pair
    assert question(room).spec["b"]
    t = teacher(room, "lesson", text=CAT, chapter=6, query=2)
    run(run(t.button(key="class_q_clear").click()).button(key="class_q_ask").click())
    assert question(room).kind == "head" and question(room).spec["query"] == 2


def test_lesson_chapters_match_the_page():
    """The chapters the panel maps are the lesson page's, in order."""
    import ast
    from pathlib import Path

    from ui.classroom import questions

    tree = ast.parse((Path(__file__).parent.parent / "pages" / "lesson.py").read_text())
    found = [ast.literal_eval(node.value) for node in tree.body if isinstance(node, ast.Assign)
             and any(getattr(tg, "id", None) == "CHAPTERS" for tg in node.targets)]
    assert found == [questions.LESSON_CHAPTERS]


# ----------------------------------------------------------------------------- bad answers

def test_too_long_too_fast_and_html_answers(room, clock, monkeypatch):
    t = teacher(room, text=CAT, masks="2")
    run(t.button(key="class_q_ask").click())
    q = question(room)
    box = f"class_q_answer_{q.id}"
    s = student(room, "s1")
    # The box holds the store's 80 characters (Streamlit cuts a longer value to that) ...
    assert s.text_input(key=box).max_chars == 80
    s.text_input(key=box).set_value("x" * 81)
    s = run(s.button(key=f"class_q_send_{q.id}").click())
    assert room[0].answers(room[1], q.id) == {"x" * 80: 1}
    # ... and an answer the store refuses as too long (a box that let more through) says so.
    from ui.classroom import questions

    monkeypatch.setattr(questions, "ANSWER_CHARS", 200)
    clock.now += 2
    s = run(s)
    s.text_input(key=box).set_value("y" * 81)
    s = run(s.button(key=f"class_q_send_{q.id}").click())
    assert any("80" in w.value for w in s.warning), [w.value for w in s.warning]
    assert room[0].answers(room[1], q.id) == {"x" * 80: 1}
    clock.now += 2

    hostile = "<b>x</b> **bold** [a](http://e.x)"
    s.text_input(key=box).set_value(hostile)
    s = run(s.button(key=f"class_q_send_{q.id}").click())
    assert s.success and "**bold**" not in s.success[0].value.replace("\\*", "")
    assert "\\<b\\>x\\</b\\>" in s.success[0].value  # shown as text (escaped), never markup
    s.text_input(key=box).set_value("cat")  # a second answer within a second: refused
    s = run(s.button(key=f"class_q_send_{q.id}").click())
    assert any("second" in w.value.lower() or "fast" in w.value.lower() for w in s.warning), \
        [w.value for w in s.warning]
    clock.now += 2
    s = run(s.button(key=f"class_q_send_{q.id}").click())
    assert not s.warning and "cat" in s.success[0].value
    room[0].answer(room[1], q.id, "s2", hostile)
    t = run(t)
    labels = json.dumps([json.loads(e.proto.spec) for e in elements(t, "plotly_chart")])
    assert "&lt;b&gt;" in labels and "<b>x" not in labels  # the chart's label is escaped
    assert not [h for h in elements(t, "html") if "<b>x" in h.proto.body]
    assert not [m for m in t.markdown if "<b>" in m.value]


# ----------------------------------------------------------------------------- moving on

def test_reveal_after_the_teacher_moved_on(room, model_dir):
    from bertcore import masked_lm

    t = teacher(room, text=CAT, masks="2")
    t = run(t.button(key="class_q_ask").click())
    asked = question(room)
    t.session_state["t_update"] = {"sentence": "a dog barked on the street .", "masks": []}
    t.session_state["t_page"] = "tokenization"
    t = run(t)
    assert "class_q_reveal" in keys(t)  # the open question stays on every page
    t = run(t.button(key="class_q_reveal").click())
    b = bert(model_dir)
    mv = masked_lm.predict_masks(b, b.encode(CAT, None), [2], 5, greedy=False)
    q = question(room)
    assert q.id == asked.id and q.reveal["tokens"] == list(mv.top_tokens[0])
    assert asked.spec["text"] in markdown(t).replace("\\", "")


def test_masked_text_reads_as_a_sentence():
    from ui.classroom.questions import masked_text

    en = ["[CLS]", "the", "todd", "##ler", "went", "to", "bed", ",", "(", "yes", ")", ".",
          "[SEP]", "it", "rained", "[SEP]"]
    assert masked_text(en, [6], "[MASK]") == "the toddler went to [MASK], (yes). / it rained"
    zh = ["[CLS]", "我", "们", "去", "北", "京", "，", "好", "。", "[SEP]"]
    assert masked_text(zh, [5], "[MASK]") == "我们去北[MASK]，好。"
    long = ["[CLS]"] + ["w"] * 100 + ["[SEP]"]
    text = masked_text(long, [50], "[MASK]")
    assert text.startswith("… ") and text.endswith(" …") and text.count("w") == 24

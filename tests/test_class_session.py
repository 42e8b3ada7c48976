"""The class in the app (ui/classroom/session.py), with AppTest: one AppTest per browser session,
all on one store (an in-memory implementation of the store's primitives, so these tests test the
session against the store's real rules without a file or a server).

Start a class; join by code and by link; bad, unknown, closed, full and expired codes; leave and
close; a student can neither publish a view nor see the teacher's controls, and a forged teacher
cookie makes a student; a following student takes the teacher's new view (page and fields), one
who turned following off keeps their own until they turn it on again.
"""

from __future__ import annotations

import copy
import logging

import pytest

from app_support import all_text, elements, walk, write_app_checkpoint

AppTest = pytest.importorskip("streamlit.testing.v1").AppTest

from app_support import APP  # noqa: E402
from ui import state  # noqa: E402
from ui.classroom import session  # noqa: E402
from ui.classroom.store import ClassError, Question, Room, Store  # noqa: E402
from ui.i18n import t  # noqa: E402

TIMEOUT = 120
OPEN_STORE = session.store  # the real one (the fixture replaces it)
CAT = "The cat sat on the mat because it was tired."

for _name in ("streamlit.runtime.scriptrunner_utils.script_run_context",
              "streamlit.runtime.state.session_state_proxy"):
    logging.getLogger(_name).setLevel(logging.ERROR)


class MemoryStore(Store):
    """The store's primitives over a dict (one process): enough for AppTests of one server."""

    def __init__(self, clock=None):
        super().__init__(clock) if clock else super().__init__()
        self.rooms: dict[str, dict] = {}

    def _room(self, r: dict) -> Room:
        return Room(**{k: copy.deepcopy(v) for k, v in r["room"].items()},
                    students=len(r["students"]))

    def _insert(self, room, token_hash):
        if room.code in self.rooms:
            return False
        fields = {k: v for k, v in room.__dict__.items() if k != "students"}
        self.rooms[room.code] = {"room": fields, "hash": token_hash, "students": set(),
                                 "answers": {}, "last": {}}
        return True

    def _load(self, code):
        r = self.rooms.get(code)
        return None if r is None else (self._room(r), r["hash"])

    def _purge(self, code):
        self.rooms.pop(code, None)

    def _join(self, code, student, now):
        r = self.rooms.get(code)
        if r is None:
            raise ClassError("unknown")
        self._may_join(self._room(r), student in r["students"], now)
        r["students"].add(student)
        return self._room(r)

    def _set_view(self, code, view_json):
        import json

        r = self.rooms[code]["room"]
        if r["view"] != json.loads(view_json):
            r["view"], r["view_version"] = json.loads(view_json), r["view_version"] + 1
        return r["view_version"]

    def _ask(self, code, kind, spec_json, now):
        import json

        r = self.rooms[code]
        old = r["room"]["question"]
        q = Question(id=(old.id + 1 if old else 1), kind=kind, spec=json.loads(spec_json),
                     asked=now, revealed=False, reveal=None)
        r["room"]["question"], r["answers"] = q, {}
        return q

    def _answer(self, code, question_id, student, text, now):
        r = self.rooms[code]
        self._may_answer(self._room(r), question_id, student in r["students"],
                         r["last"].get(student), now)
        r["answers"][student], r["last"][student] = text, now

    def _answers(self, code, question_id):
        return list(self.rooms[code]["answers"].values())

    def _answer_of(self, code, question_id, student):
        return self.rooms[code]["answers"].get(student)

    def _reveal(self, code, question_id, answer_json):
        import json

        r = self.rooms[code]["room"]
        q = self._may_reveal(self._room(self.rooms[code]), question_id)
        r["question"] = Question(q.id, q.kind, q.spec, q.asked, True, json.loads(answer_json))
        return r["question"]

    def _clear(self, code):
        self.rooms[code]["room"]["question"] = None
        self.rooms[code]["answers"] = {}

    def _close(self, code):
        self.rooms[code]["room"]["closed"] = True


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory):
    return write_app_checkpoint(tmp_path_factory.mktemp("class-bert"))


@pytest.fixture
def store(model_dir, monkeypatch):
    """One store for every AppTest of a test; no cookies unless a test sends some."""
    monkeypatch.setenv("BERTLAB_MODEL", str(model_dir))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    mem = MemoryStore()
    monkeypatch.setattr(session, "store", lambda: mem)
    monkeypatch.setattr(session, "_cookies", lambda: {})
    return mem


def run(at):
    at = at.run(timeout=TIMEOUT)
    assert not at.exception, [e.value for e in at.exception]
    return at


def app(**query) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    at.query_params.update({k: str(v) for k, v in query.items()})
    return run(at)


def member(at):
    return at.session_state[session.MEMBER] if session.MEMBER in at.session_state else None


def teacher(store) -> tuple[AppTest, str]:
    at = app()
    at = run(at.button(key="w_class_start").click())
    m = member(at)
    assert m is not None and m.role == "teacher"
    return at, m.code


def warnings(at) -> list[str]:
    return [w.value for w in at.warning]


def has_key(at, key: str) -> bool:
    """Whether a widget with this key was drawn."""
    return key in [getattr(n, "key", None) for n in walk(at._tree)]


# ----------------------------------------------------------------------------- start and join

def test_start_shows_code_qr_link_and_count(store):
    at, code = teacher(store)
    text = all_text(at)
    assert code in "".join(h.proto.body for h in at.sidebar.get("html"))
    assert f"?class={code}" in text  # the join link, as code to copy
    assert elements(at.sidebar, "image"), "no QR code"
    assert t("class.students", n=0, max=60) in text
    assert at.query_params["class"] in (code, [code])  # in the URL, for a reload
    assert store.is_teacher(code, member(at).token)
    assert not has_key(at, "w_class_follow")  # a teacher follows no one


def test_join_by_code_and_by_link(store):
    _, code = teacher(store)
    typed = app()
    typed.text_input(key="w_class_code").input(code.lower())  # a phone types lower case
    join = [b for b in typed.sidebar.button if b.label == t("class.join")]
    typed = run(join[0].click())
    assert member(typed) is not None and member(typed).role == "student"
    linked = app(**{"class": code})
    m = member(linked)
    assert m.role == "student" and m.code == code and m.follow
    assert store.room(code).students == 2
    assert has_key(linked, "w_class_follow") and not has_key(linked, "w_class_close")
    assert not elements(linked.sidebar, "image")  # no QR, no teacher controls for a student


@pytest.mark.parametrize("code, reason", [("ABC", "bad_code"), ("O0IL1Z", "bad_code"),
                                          ("ZZZZZZ", "unknown")])
def test_bad_codes_say_why(store, code, reason):
    at = app(**{"class": code})
    assert member(at) is None
    assert t(f"class.err.{reason}") in warnings(at)
    assert "class" not in at.query_params  # a failed code leaves the URL


def test_full_closed_and_expired(store):
    room, token = store.create(max_students=1)
    run_join = app(**{"class": room.code})
    assert member(run_join) is not None
    second = app(**{"class": room.code})
    assert member(second) is None and t("class.err.full") in warnings(second)
    store.close(room.code, token)
    late = app(**{"class": room.code})
    assert member(late) is None and t("class.err.closed") in warnings(late)
    run_join = run(run_join)  # the member's poll sees the class closed
    assert member(run_join) is None and t("class.err.closed") in warnings(run_join)

    old, _ = store.create(ttl_s=1)
    store.clock = lambda: old.expires + 1
    at = app(**{"class": old.code})
    assert member(at) is None and t("class.err.expired") in warnings(at)


def test_leave_and_close(store):
    at, code = teacher(store)
    student = app(**{"class": code})
    student = run(student.button(key="w_class_leave").click())
    assert member(student) is None and "class" not in student.query_params
    at = run(at.button(key="w_class_close").click())
    assert member(at) is None
    assert store.room(code).closed


def test_a_store_that_cannot_open_says_so(store, monkeypatch):
    monkeypatch.setattr(session, "store", OPEN_STORE)
    monkeypatch.setenv("BERTLAB_STORE", "nosuchstore://here")
    at = run(app().button(key="w_class_start").click())
    assert member(at) is None and t("class.err.store_down") in warnings(at)


# ----------------------------------------------------------------------------- who is a teacher

def test_a_student_cannot_publish_or_forge(store, monkeypatch):
    _, code = teacher(store)
    student = app(**{"class": code})
    token = member(student).token
    assert token == ""
    with pytest.raises(ClassError) as e:
        store.set_view(code, "forged-token-forged-token", {"page": "x", "query": {}})
    assert e.value.reason == "forbidden"
    before = store.view(code)
    student = run(student.switch_page("pages/tokenization.py"))
    assert store.view(code) == before  # a student's run publishes nothing
    monkeypatch.setattr(session, "_cookies",
                        lambda: {f"bertlab_teacher_{code}": "A" * 43})  # a forged cookie
    forged = app(**{"class": code})
    assert member(forged).role == "student" and not has_key(forged, "w_class_close")


def test_the_teacher_cookie_restores_the_teacher(store, monkeypatch):
    at, code = teacher(store)
    token = member(at).token
    assert any(f"bertlab_teacher_{code}={token}" in h.proto.body for h in at.sidebar.get("html"))
    monkeypatch.setattr(session, "_cookies", lambda: {f"bertlab_teacher_{code}": token})
    again = app(**{"class": code})  # a new session (a reload, a restarted server)
    assert member(again).role == "teacher" and member(again).token == token
    assert store.room(code).students == 0


# ----------------------------------------------------------------------------- following

def test_follow_applies_the_teacher_view_and_off_ignores_it(store):
    at, code = teacher(store)
    follower = app(**{"class": code})
    explorer = app(**{"class": code})
    explorer = run(explorer.toggle(key="w_class_follow").set_value(False))
    assert member(explorer).follow is False
    # Above the page (a phone's sidebar is closed): the class and whether the screen follows.
    main = [c.value for c in follower.main.caption]
    assert t("class.banner", code=code, state=t("class.following")) in main
    main = [c.value for c in explorer.main.caption]
    assert t("class.banner", code=code, state=t("class.exploring")) in main

    at.sidebar.text_area(key="w_sentence").input(CAT)
    at = run(at.switch_page("pages/attention.py"))
    version, view = store.view(code)
    assert view["page"] == "attention" and view["query"]["text"] == CAT and version >= 1
    follower = run(follower)
    assert follower.session_state[session.PAGE] == "attention"
    assert follower.session_state[state.KEY].sentence == CAT
    # A follower's sentence, model and presenter controls are the teacher's: not drawn, and it
    # is told how to get them back.
    assert not has_key(follower, "w_sentence") and not has_key(follower, "w_model_choice")
    assert t("class.follow_controls") in [c.value for c in follower.sidebar.caption]
    explorer = run(explorer)
    assert explorer.session_state[session.PAGE] == ""  # still on its own page
    assert explorer.sidebar.text_area(key="w_sentence").value != CAT  # its own controls

    explorer = run(explorer.toggle(key="w_class_follow").set_value(True))
    explorer = run(explorer)
    assert explorer.session_state[session.PAGE] == "attention"
    assert explorer.session_state[state.KEY].sentence == CAT
    assert not has_key(explorer, "w_sentence")


def _apply_once_script():
    """Counts its runs; the first applies the view in session state "t_view" on the start page."""
    import streamlit as st

    from ui.classroom import session

    st.session_state["t_runs"] = st.session_state.get("t_runs", 0) + 1
    st.session_state[session.PAGE] = ""
    if st.session_state["t_runs"] == 1:
        session._apply(st.session_state["t_view"])


@pytest.mark.parametrize("query, runs", [({"text": CAT}, 1), ({"lang": "zh"}, 2),
                                         ({"model": "offline-zh"}, 2)])
def test_a_view_reruns_the_app_only_for_a_new_language_or_model(store, query, runs):
    """app.py reads the language (page titles) and the model before the page: a view that changes
    them runs the app again; any other view goes on in the same run."""
    at = AppTest.from_function(_apply_once_script, default_timeout=TIMEOUT)
    at.session_state["t_view"] = {"page": "", "query": {"lang": "en", **query}}
    at = run(at)
    assert at.session_state["t_runs"] == runs
    assert all(getattr(at.session_state[state.KEY], f) == v for f, v in
               (("sentence", query.get("text")), ("lang", query.get("lang")),
                ("model", query.get("model"))) if v is not None)


def test_a_follower_is_held_to_a_new_view_only_while_it_settles(store, monkeypatch):
    at, code = teacher(store)
    follower = app(**{"class": code})
    at.sidebar.text_area(key="w_sentence").input(CAT)
    run(at)
    follower = run(follower)

    def sentence(at) -> str:
        return at.session_state[state.KEY].sentence

    def change_own(at, text: str):  # what a widget of the follower's page would do
        at.session_state[state.KEY].sentence = text
        return run(at)

    assert sentence(follower) == CAT
    # Just after a view was applied, a change of the follower's (or a widget's old value coming
    # back with a poll) is put back to the teacher's view ...
    follower = change_own(follower, "the dog barked .")
    assert sentence(follower) == CAT
    # ... after that, the follower's own change stays until the teacher's next one.
    monkeypatch.setattr(session, "SETTLE_S", 0.0)
    follower = change_own(follower, "the dog barked .")
    assert sentence(follower) == "the dog barked ."
    at.sidebar.text_area(key="w_sentence").input("the cat sat .")
    run(at)
    follower = run(follower)
    assert sentence(follower) == "the cat sat ."


def test_a_view_the_page_changes_is_published_after_it_ran(store):
    at, code = teacher(store)
    at.session_state[state.KEY].layer = 11  # as from an old link: the tiny model has 2 layers
    at = run(at.switch_page("pages/attention.py"))
    _, view = store.view(code)
    assert view["page"] == "attention"
    assert view["query"].get("layer") == "1"  # clamped by the page, after the view went out once

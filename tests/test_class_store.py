"""The class store (ui/classroom): every rule, on both storages.

Each behaviour runs on a SqliteStore (a file in tmp_path) and on a RedisStore (a real
``redis-server`` started for this module, skipped with the reason if it is not installed). Time is
a fake clock the tests move (expiry, rate limit). "Restart" = a second store object on the same
file or Redis, as a restarted server (or a second server behind a load balancer) would open it.
"""

from __future__ import annotations

import dataclasses
import shutil
import socket
import sqlite3
import subprocess
import threading
import time
import unicodedata

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ui import i18n
from ui.classroom import store as store_mod
from ui.classroom.redis_store import RedisStore
from ui.classroom.sqlite_store import SqliteStore
from ui.classroom.store import (CODE_ALPHABET, MAX_ANSWER_CHARS, RATE_S, REASONS, ClassError,
                                check_code, hash_token, normalise_answer, open_store)


class Clock:
    """A clock the test moves by hand."""

    def __init__(self, now: float = 1_000_000.0):
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, s: float) -> None:
        self.now += s


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def redis_url():
    """A throwaway redis-server (no persistence) for this module; its URL."""
    exe = shutil.which("redis-server")
    if exe is None:
        pytest.skip("redis-server is not installed (scripts/system_deps.sh installs it)")
    port = _free_port()
    proc = subprocess.Popen([exe, "--port", str(port), "--bind", "127.0.0.1", "--save", "",
                             "--appendonly", "no"], stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    url = f"redis://127.0.0.1:{port}/0"
    import redis
    client = redis.Redis.from_url(url)
    for _ in range(100):
        try:
            client.ping()
            break
        except redis.exceptions.ConnectionError:
            time.sleep(0.05)
    else:
        proc.kill()
        pytest.fail("redis-server did not start")
    yield url
    client.close()
    proc.terminate()
    proc.wait(timeout=10)


@pytest.fixture(params=["sqlite", "redis"])
def make(request, tmp_path):
    """make(clock) -> a new store object on this test's storage (same file / same Redis)."""
    if request.param == "sqlite":
        path = tmp_path / "classes.sqlite3"
        yield lambda clock: SqliteStore(path, clock=clock)
        return
    url = request.getfixturevalue("redis_url")
    RedisStore(url).r.flushdb()
    yield lambda clock: RedisStore(url, clock=clock)


@pytest.fixture
def clock():
    return Clock()


@pytest.fixture
def s(make, clock):
    return make(clock)


def reason(fn, *args, **kw) -> str:
    with pytest.raises(ClassError) as e:
        fn(*args, **kw)
    return e.value.reason


def open_question(s, n_students: int = 1, **create):
    room, token = s.create(**create)
    students = [f"student-{i}" for i in range(n_students)]
    for st_id in students:
        s.join(room.code, st_id)
    q = s.ask(room.code, token, "free", {"prompt": "capital of France?"})
    return room.code, token, q, students


# ---- codes ----

@settings(max_examples=300, deadline=None)
@given(st.text(max_size=10))
def test_check_code_accepts_exactly_six_unambiguous_characters(text):
    canon = unicodedata.normalize("NFKC", text).strip().upper()
    ok = len(canon) == 6 and all(c in CODE_ALPHABET for c in canon)
    if ok:
        assert check_code(text) == canon
    else:
        with pytest.raises(ClassError) as e:
            check_code(text)
        assert e.value.reason == "bad_code"


@given(st.text(alphabet=CODE_ALPHABET + CODE_ALPHABET.lower(), min_size=6, max_size=6))
def test_typed_codes_in_any_case_are_accepted(code):
    assert check_code(f" {code} ") == code.upper()
    assert check_code(unicodedata.normalize("NFKC", code).translate(FULL_WIDTH)) == code.upper()


FULL_WIDTH = {c: c + 0xFEE0 for c in range(0x21, 0x7F)}  # ASCII -> a Chinese IME's full width


def test_alphabet_has_no_ambiguous_characters():
    assert not set("0O1IL") & set(CODE_ALPHABET)


@pytest.mark.parametrize("code", ["", "ABC23", "ABC2345", "ABCD0E", "ABCDOE", "ABCD1E",
                                  "ABCDIE", "ABCDLE", "AB CDE", "ABC-DE", "ＡＢＣＤＥ０", None])
def test_bad_codes_everywhere(s, code):
    for call in (lambda: s.room(code), lambda: s.join(code, "x"), lambda: s.view(code),
                 lambda: s.is_teacher(code, "t"), lambda: s.answer(code, 1, "x", "a"),
                 lambda: s.set_view(code, "t", {}), lambda: s.close(code, "t")):
        assert reason(call) == "bad_code"


def test_bad_code_is_refused_before_any_lookup(tmp_path):
    dead = RedisStore(f"redis://127.0.0.1:{_free_port()}/0")  # nothing listens there
    assert reason(dead.room, "ABCDE0") == "bad_code"
    assert reason(dead.room, "ABCDEF") == "store_down"


def test_unknown_code(s):
    s.create()
    assert reason(s.room, "ZZZZZZ") == "unknown"
    assert reason(s.join, "ZZZZZZ", "x") == "unknown"


# ---- creating, joining, the teacher's token ----

def test_create_gives_a_fresh_class_and_a_token_stored_only_as_a_hash(s, make, clock, tmp_path):
    room, token = s.create(max_students=30, ttl_s=60)
    other, other_token = s.create()
    assert other.code != room.code and other_token != token
    assert len(token) >= 40
    got = s.room(room.code.lower())
    assert (got.code, got.max_students, got.students, got.closed) == (room.code, 30, 0, False)
    assert got.expires - got.created == pytest.approx(60)
    assert (got.view, got.view_version, got.question) == ({}, 0, None)
    assert s.is_teacher(room.code, token) and not s.is_teacher(room.code, other_token)
    # the token itself is nowhere in the storage; its hash is
    if isinstance(s, SqliteStore):
        blob = b"".join(p.read_bytes() for p in tmp_path.glob("classes.sqlite3*"))
    else:
        blob = "".join(str(s.r.hgetall(k)) for k in s.r.keys("*")).encode()
    assert token.encode() not in blob and hash_token(token).encode() in blob


def test_join_link_and_room_carry_no_token(s):
    room, token = s.create()
    joined = s.join(room.code, "phone-1")  # a student needs the code only
    for seen in (room, joined, s.room(room.code)):
        text = repr(dataclasses.asdict(seen))
        assert token not in text and hash_token(token) not in text
    assert "token" not in {f.name for f in dataclasses.fields(store_mod.Room)}


def test_joining_twice_is_one_student(s):
    room, _ = s.create()
    assert s.join(room.code, "a").students == 1
    assert s.join(room.code, "a").students == 1
    assert s.join(room.code, "b").students == 2
    assert s.room(room.code).students == 2


def test_full_class_refuses_new_students_but_not_returning_ones(s):
    room, _ = s.create(max_students=2)
    s.join(room.code, "a")
    s.join(room.code, "b")
    assert reason(s.join, room.code, "c") == "full"
    assert s.join(room.code, "a").students == 2


@pytest.mark.parametrize("student", ["", "x" * 65, None])
def test_student_ids_must_be_short_opaque_strings(s, student):
    room, _ = s.create()
    assert reason(s.join, room.code, student) == "forbidden"


def test_only_the_teacher_can_steer_the_class(s):
    code, token, q, students = open_question(s)
    s.answer(code, q.id, students[0], "Paris")
    other_room, other_token = s.create()
    for wrong in (students[0], "", other_token, token[:-1], token + "x", other_room.code):
        assert not s.is_teacher(code, wrong)
        assert reason(s.set_view, code, wrong, {"page": "attention"}) == "forbidden"
        assert reason(s.ask, code, wrong, "free", {}) == "forbidden"
        assert reason(s.reveal, code, wrong, q.id, {"answer": "x"}) == "forbidden"
        assert reason(s.clear, code, wrong) == "forbidden"
        assert reason(s.close, code, wrong) == "forbidden"
    room = s.room(code)  # nothing changed
    assert (room.view_version, room.closed, room.question) == (0, False, q)
    assert s.answers(code, q.id) == {"paris": 1}


# ---- the view ----

def test_set_view_counts_only_changes(s):
    room, token = s.create()
    view = {"page": "attention", "query": {"s": "the cat sat", "layer": "3", "lang": "zh"}}
    assert s.set_view(room.code, token, view) == 1
    assert s.set_view(room.code, token, dict(reversed(list(view.items())))) == 1  # same view
    assert s.view(room.code) == (1, view)
    assert s.set_view(room.code, token, {"page": "masked_lm", "query": {}}) == 2
    assert s.view(room.code) == (2, {"page": "masked_lm", "query": {}})
    assert s.room(room.code).view_version == 2


# ---- questions and answers ----

def test_answers_are_counted_normalised_and_one_per_student(s, clock):
    code, token, q, st_ids = open_question(s, 4)
    for st_id, text in zip(st_ids, [" Paris ", "paris", "PARIS  ", "Lyon"]):
        s.answer(code, q.id, st_id, text)
    assert s.answers(code, q.id) == {"paris": 3, "lyon": 1}
    clock.advance(RATE_S)
    s.answer(code, q.id, st_ids[0], "new   york")  # a new answer replaces the student's old one
    assert s.answers(code, q.id) == {"paris": 2, "lyon": 1, "new york": 1}


def test_a_student_gets_back_only_their_own_answer(s, clock):
    code, token, q, (a, b, c) = open_question(s, 3)
    s.answer(code, q.id, a, " Paris ")
    s.answer(code, q.id, b, "Lyon")
    assert s.answer_of(code, q.id, a) == "Paris" and s.answer_of(code, q.id, b) == "Lyon"
    assert s.answer_of(code, q.id, c) is None  # (not answered)
    assert s.answer_of(code, q.id + 1, a) is None
    clock.advance(RATE_S)
    s.answer(code, q.id, a, "Rome")
    assert s.answer_of(code, q.id, a) == "Rome"
    q2 = s.ask(code, token, "guess", {"text": "[MASK] ."})
    assert s.answer_of(code, q2.id, a) is None  # a new question starts with none


def test_normalise_answer():
    assert normalise_answer("  The\tCat \n sat ") == "the cat sat"
    assert normalise_answer("STRASSE") == normalise_answer("straße")  # casefold, not lower
    assert normalise_answer("巴黎") == "巴黎"


def test_answers_are_plain_text(s):
    code, token, q, (a,) = open_question(s)
    s.answer(code, q.id, a, "<b>x</b>\x00\x1b[31m")
    assert s.answers(code, q.id) == {"<b>x</b> [31m": 1}  # markup kept as text, controls gone


def test_answer_length_limit(s, clock):
    code, token, q, (a, b) = open_question(s, 2)
    assert reason(s.answer, code, q.id, a, "x" * (MAX_ANSWER_CHARS + 1)) == "too_long"
    s.answer(code, q.id, b, "  " + "y" * MAX_ANSWER_CHARS + "  ")  # stripped first
    assert s.answers(code, q.id) == {"y" * MAX_ANSWER_CHARS: 1}
    s.answer(code, q.id, a, "   ")  # an empty answer is ignored
    assert sum(s.answers(code, q.id).values()) == 1


def test_rate_limit_per_student(s, clock):
    code, token, q, (a, b) = open_question(s, 2)
    s.answer(code, q.id, a, "one")
    clock.advance(RATE_S * 0.9)
    assert reason(s.answer, code, q.id, a, "two") == "rate_limited"
    s.answer(code, q.id, b, "other")  # another student is not limited
    assert s.answers(code, q.id) == {"one": 1, "other": 1}
    clock.advance(RATE_S * 0.2)
    s.answer(code, q.id, a, "two")
    assert s.answers(code, q.id) == {"two": 1, "other": 1}


def test_only_students_of_the_class_answer(s):
    code, token, q, _ = open_question(s)
    assert reason(s.answer, code, q.id, "stranger", "x") == "forbidden"


def test_no_question_cases(s, clock):
    room, token = s.create()
    s.join(room.code, "a")
    assert reason(s.answer, room.code, 1, "a", "x") == "no_question"  # none asked yet
    q1 = s.ask(room.code, token, "guess", {"page": "masked_lm"})
    s.answer(room.code, q1.id, "a", "x")
    q2 = s.ask(room.code, token, "nsp", {"a": "It rained.", "b": "The street was wet."})
    assert q2.id > q1.id and s.room(room.code).question == q2
    assert s.answers(room.code, q1.id) == {}  # the old question's answers went with it
    clock.advance(RATE_S)
    assert reason(s.answer, room.code, q1.id, "a", "x") == "no_question"
    assert reason(s.reveal, room.code, token, q1.id, {}) == "no_question"
    s.clear(room.code, token)
    assert s.room(room.code).question is None
    assert reason(s.answer, room.code, q2.id, "a", "x") == "no_question"


def test_reveal_shows_the_model_answer_and_ends_answering(s, make, clock):
    code, token, q, (a, b) = open_question(s, 2)
    s.answer(code, q.id, a, "Paris")
    shown = s.reveal(code, token, q.id, {"top": [["paris", 0.91]]})
    assert shown.revealed and shown.reveal == {"top": [["paris", 0.91]]}
    assert make(clock).room(code).question == shown
    assert reason(s.answer, code, q.id, b, "Lyon") == "no_question"
    assert s.answers(code, q.id) == {"paris": 1}  # still there beside the model's answer
    s.clear(code, token)
    assert s.room(code).question is None and s.answers(code, q.id) == {}


def test_ask_checks_its_kind(s):
    room, token = s.create()
    with pytest.raises(ValueError):
        s.ask(room.code, token, "essay", {})


# ---- closing and expiry ----

def test_closed_class(s):
    code, token, q, (a,) = open_question(s)
    s.close(code, token)
    assert s.room(code).closed
    assert reason(s.join, code, "new") == "closed"
    assert reason(s.join, code, a) == "closed"
    assert reason(s.answer, code, q.id, a, "x") == "closed"
    assert reason(s.set_view, code, token, {"page": "x"}) == "closed"
    assert reason(s.ask, code, token, "free", {}) == "closed"
    s.close(code, token)  # closing twice is fine


def test_expired_class_is_refused_then_purged(s, clock):
    code, token, q, (a,) = open_question(s, ttl_s=3600)
    s.answer(code, q.id, a, "x")
    clock.advance(3599)
    assert s.room(code).code == code
    clock.advance(1)
    assert reason(s.room, code) == "expired"
    assert reason(s.room, code) == "unknown"  # purged: nothing of it is left
    if isinstance(s, SqliteStore):
        conn = sqlite3.connect(s.path)
        for table in ("rooms", "students", "answers"):
            assert conn.execute(f"SELECT COUNT(*) FROM {table}").fetchone() == (0,)
    else:
        assert s.r.keys("*") == []


@pytest.mark.parametrize("call", ["join", "answer", "set_view", "is_teacher"])
def test_every_call_sees_expiry(s, clock, call):
    code, token, q, (a,) = open_question(s, ttl_s=60)
    clock.advance(61)
    calls = {"join": lambda: s.join(code, "new"), "answer": lambda: s.answer(code, q.id, a, "x"),
             "set_view": lambda: s.set_view(code, token, {}),
             "is_teacher": lambda: s.is_teacher(code, token)}
    assert reason(calls[call]) == "expired"
    assert reason(s.room, code) == "unknown"


def test_creating_sweeps_expired_classes(tmp_path, clock):
    s = SqliteStore(tmp_path / "c.sqlite3", clock=clock)
    old, _ = s.create(ttl_s=10)
    clock.advance(11)
    s.create()
    assert s._load(old.code) is None


# ---- restarts, several servers, concurrency ----

def test_restart_keeps_class_view_question_and_answers(make, clock):
    first = make(clock)
    code, token, q, (a, b) = open_question(first, 2)
    first.set_view(code, token, {"page": "attention", "query": {"layer": "2"}})
    first.answer(code, q.id, a, "Paris")
    del first
    second = make(clock)  # the restarted server (or the other server behind the balancer)
    room = second.room(code)
    assert (room.students, room.view_version, room.view["page"], room.question) == (
        2, 1, "attention", q)
    assert second.is_teacher(code, token)
    assert second.answers(code, q.id) == {"paris": 1}
    second.answer(code, q.id, b, "paris")
    assert second.answers(code, q.id) == {"paris": 2}


def test_two_servers_see_each_others_writes(make, clock):
    one, two = make(clock), make(clock)
    room, token = one.create()
    two.join(room.code, "a")
    assert one.room(room.code).students == 1
    assert two.set_view(room.code, token, {"page": "layer"}) == 1
    assert one.view(room.code) == (1, {"page": "layer"})
    q = one.ask(room.code, token, "head", {"layer": 0, "head": 1})
    two.answer(room.code, q.id, "a", "cat")
    assert one.answers(room.code, q.id) == {"cat": 1}
    two.close(room.code, token)
    assert one.room(room.code).closed


def _run_threads(n: int, target) -> list:
    """Runs target(i) in n threads started together; their ClassError reasons (None: ok)."""
    results: list = [None] * n
    barrier = threading.Barrier(n)

    def run(i):
        barrier.wait()
        try:
            target(i)
        except ClassError as e:
            results[i] = e.reason

    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for th in threads:
        th.start()
    for th in threads:
        th.join(60)
    return results


def test_forty_students_answering_at_once_lose_no_answer(make, clock):
    s = make(clock)
    code, token, q, students = open_question(s, 40)
    stores = [make(clock) for _ in range(4)]  # several store objects, as several servers
    results = _run_threads(40, lambda i: stores[i % 4].answer(code, q.id, students[i],
                                                              f"answer {i % 7}"))
    assert results == [None] * 40
    counts = s.answers(code, q.id)
    assert sum(counts.values()) == 40
    assert counts == {f"answer {k}": len(range(k, 40, 7)) for k in range(7)}


def test_joins_at_once_never_overfill_a_class(make, clock):
    s = make(clock)
    room, _ = s.create(max_students=25)
    results = _run_threads(40, lambda i: s.join(room.code, f"p{i}"))
    assert results.count(None) == 25 and results.count("full") == 15
    assert s.room(room.code).students == 25


def test_one_student_answering_twice_at_once_is_rate_limited(make, clock):
    code, token, q, (a,) = open_question(make(clock))
    stores = [make(clock) for _ in range(8)]
    results = _run_threads(8, lambda i: stores[i].answer(code, q.id, a, f"try {i}"))
    assert results.count(None) == 1 and results.count("rate_limited") == 7
    assert sum(stores[0].answers(code, q.id).values()) == 1


# ---- storage specifics ----

def test_redis_keys_live_under_bertlab_and_expire_with_the_class(redis_url, clock):
    s = RedisStore(redis_url, clock=clock)
    s.r.flushdb()
    code, token, q, (a,) = open_question(s, ttl_s=600)
    s.answer(code, q.id, a, "x")
    keys = s.r.keys("*")
    assert len(keys) == 4  # the class, its students, the answers, the student's last answer
    for key in keys:
        assert key.startswith(f"bertlab:{{{code}}}")
        assert 0 < s.r.pttl(key) <= 600_000


def test_redis_down_is_store_down():
    dead = RedisStore(f"redis://127.0.0.1:{_free_port()}/0")
    t0 = time.monotonic()
    assert reason(dead.create) == "store_down"
    assert reason(dead.room, "ABCDEF") == "store_down"
    assert time.monotonic() - t0 < 10  # a message within seconds, not a hang


def test_sqlite_is_wal_and_unreadable_file_is_store_down(tmp_path):
    s = SqliteStore(tmp_path / "c.sqlite3")
    assert s._conn().execute("PRAGMA journal_mode").fetchone() == ("wal",)
    bad = tmp_path / "bad.sqlite3"
    bad.write_bytes(b"not a database" * 100)
    assert reason(SqliteStore, bad) == "store_down"


def test_open_store_picks_the_storage(monkeypatch, tmp_path, redis_url):
    monkeypatch.delenv("BERTLAB_STORE", raising=False)
    monkeypatch.setenv("BERTLAB_DATA", str(tmp_path / "data"))
    default = open_store()
    assert isinstance(default, SqliteStore)
    assert default.path == tmp_path / "data" / "classes.sqlite3"
    assert open_store(f"sqlite:///{tmp_path}/x.db").path == tmp_path / "x.db"
    monkeypatch.setenv("BERTLAB_STORE", redis_url)
    shared = open_store()
    assert isinstance(shared, RedisStore)
    room, _ = shared.create()
    assert RedisStore(redis_url).room(room.code).code == room.code
    with pytest.raises(ValueError):
        open_store("postgres://x")


def test_every_reason_has_a_message_in_every_language():
    for r in REASONS:
        texts = i18n.STRINGS[f"class.err.{r}"]
        assert set(texts) == set(i18n.LANGS), r
    assert all("{n}" in text for text in i18n.STRINGS["class.err.too_long"].values())
    with pytest.raises(ValueError):
        ClassError("oops")

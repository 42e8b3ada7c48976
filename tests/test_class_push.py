"""The server's watcher of its students' classes (ui/classroom/push.py): which sessions it reruns,
and when. A SQLite store in tmp_path and a recording ``rerun``; ``check()`` is one round (the
watcher's own thread is stopped first, so the rounds are the test's)."""

from __future__ import annotations

import time

import pytest

from ui.classroom import push
from ui.classroom.sqlite_store import SqliteStore


@pytest.fixture
def world(tmp_path):
    store = SqliteStore(tmp_path / "classes.sqlite3")
    room, token = store.create()
    reruns: list[str] = []
    gone: set[str] = set()

    def rerun(sid: str) -> bool:
        if sid in gone:
            return False
        reruns.append(sid)
        return True

    watcher = push.Watcher(store, rerun=rerun, every=3600)
    watcher.stop()
    yield store, room.code, token, watcher, reruns, gone


def seen(store, code):
    return push.room_key(store.room(code))


def test_nothing_changed_reruns_no_one(world):
    store, code, token, watcher, reruns, _ = world
    watcher.watch(code, "follower", True, seen(store, code))
    watcher.check()
    watcher.check()
    assert reruns == []


def test_a_new_view_reruns_followers_once(world):
    store, code, token, watcher, reruns, _ = world
    watcher.watch(code, "follower", True, seen(store, code))
    watcher.watch(code, "explorer", False, seen(store, code))
    store.set_view(code, token, {"page": "attention", "query": {"layer": "2"}})
    watcher.check()
    watcher.check()  # the same change is pushed once, until the session registers again
    assert reruns == ["follower"]


def test_a_view_changed_before_registering_is_not_missed(world):
    store, code, token, watcher, reruns, _ = world
    drawn = seen(store, code)
    store.set_view(code, token, {"page": "lesson", "query": {"chapter": "2"}})
    watcher.watch(code, "follower", True, drawn)  # its run read the class before the change
    watcher.check()
    assert reruns == ["follower"]


def test_a_question_reruns_everyone_and_so_does_its_reveal(world):
    store, code, token, watcher, reruns, _ = world
    for sid, follow in (("follower", True), ("explorer", False)):
        store.join(code, sid)
        watcher.watch(code, sid, follow, seen(store, code))
    q = store.ask(code, token, "nsp", {"a": "x", "b": "y"})
    watcher.check()
    assert sorted(reruns) == ["explorer", "follower"]
    for sid, follow in (("follower", True), ("explorer", False)):  # their runs register again
        watcher.watch(code, sid, follow, seen(store, code))
    store.reveal(code, token, q.id, {"p": 0.9})
    watcher.check()
    assert sorted(reruns) == ["explorer", "explorer", "follower", "follower"]


def test_a_closed_class_reruns_everyone_then_is_dropped(world):
    store, code, token, watcher, reruns, _ = world
    watcher.watch(code, "explorer", False, seen(store, code))
    store.close(code, token)
    watcher.check()
    assert reruns == ["explorer"] and watcher.watched() == {}


def test_gone_and_moved_sessions_are_forgotten(world):
    store, code, token, watcher, reruns, gone = world
    other, _ = store.create()
    watcher.watch(code, "tab", True, seen(store, code))
    watcher.watch(other.code, "tab", True, seen(store, other.code))  # joined another class
    assert list(watcher.watched()) == [other.code]
    watcher.watch(code, "closed-tab", True, seen(store, code))
    gone.add("closed-tab")
    store.set_view(code, token, {"page": "home", "query": {}})
    watcher.check()
    assert reruns == [] and watcher.watched().get(code) is None
    watcher.watch(code, "left", True, seen(store, code))
    watcher.forget("left")
    assert watcher.watched().get(code) is None


def test_the_watcher_thread_runs_rounds(tmp_path):
    store = SqliteStore(tmp_path / "classes.sqlite3")
    room, token = store.create()
    reruns: list[str] = []
    watcher = push.Watcher(store, rerun=lambda sid: reruns.append(sid) or True, every=0.02)
    try:
        watcher.watch(room.code, "s", True, push.room_key(store.room(room.code)))
        store.set_view(room.code, token, {"page": "home", "query": {}})
        deadline = time.monotonic() + 5
        while not reruns and time.monotonic() < deadline:
            time.sleep(0.02)
        assert reruns == ["s"]
    finally:
        watcher.stop()


def test_no_push_outside_a_server():
    assert push.available() is False  # no Streamlit runtime here: the fragment poll is used


def test_a_real_server_pushes_to_a_student_that_never_polls(tmp_path):
    """In a real ``streamlit run`` server the student's page registers with the watcher instead of
    polling: its client sends no fragment auto reruns at all (``auto_reruns=False``), and it still
    follows the teacher's next chapter, a page switch and a
    sentence, because the server reruns it."""
    import asyncio
    import urllib.parse

    from app_support import write_app_checkpoint
    from benchmarks.bench_long_input import streamlit_server
    from benchmarks.streamlit_client import StreamlitClient

    model = write_app_checkpoint(tmp_path / "bert")
    env = {"BERTLAB_MODEL": str(model),
           "BERTLAB_STORE": f"sqlite:///{tmp_path / 'classes.sqlite3'}"}

    def view(c: StreamlitClient) -> tuple:
        q = urllib.parse.parse_qs(c.query)
        return c.path, {k: v for k, v in q.items() if k not in ("class", "presenter")}

    async def until(predicate, timeout: float = 20.0) -> bool:
        deadline = time.monotonic() + timeout
        while not predicate():
            if time.monotonic() > deadline:
                return False
            await asyncio.sleep(0.05)
        return True

    async def go(base: str) -> None:
        teacher = StreamlitClient(base, name="teacher")
        student = StreamlitClient(base, name="student", auto_reruns=False)
        try:
            await teacher.open("lesson", {"lang": "en"})
            await teacher.click(key="w_class_start")
            code = urllib.parse.parse_qs(teacher.query)["class"][0]
            await student.open("", {"class": code})
            assert await until(lambda: view(student) == view(teacher)), (view(student),
                                                                         view(teacher))
            steps = [lambda: teacher.click(key="lesson_next"),
                     lambda: teacher.switch_page("masked_lm"),
                     lambda: teacher.set(key="w_sentence", value="the cat sat on the mat .")]
            for step in steps:
                before = view(student)
                await step()
                assert view(teacher) != before
                assert await until(lambda: view(student) == view(teacher)), (
                    view(student), view(teacher))
        finally:
            await student.close()
            await teacher.close()

    with streamlit_server(env) as (base, _):
        asyncio.run(asyncio.wait_for(go(base), 240))

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
    pages: list[str | None] = []  # the page each rerun was asked on (None: the session's own)
    gone: set[str] = set()

    def rerun(sid: str, page: str | None = None) -> bool:
        if sid in gone:
            return False
        reruns.append(sid)
        pages.append(page)
        return True

    rerun.pages = pages

    watcher = push.Watcher(store, rerun=rerun, every=3600)
    watcher.stop()
    watcher.pages = pages
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
    assert watcher.pages == ["attention"]  # rerun on the teacher's page, not its own


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
    assert watcher.pages == [None, None]  # a question: each on its own page
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


@pytest.mark.parametrize("every, poke", [(0.02, False), (3600, True)],
                         ids=["its-own-rounds", "a-poke"])
def test_the_watcher_thread_reruns_on_its_rounds_or_at_once_when_poked(tmp_path, every, poke):
    """The watcher's own thread finds a change on its rounds; a teacher on this server who
    publishes and pokes gets its followers rerun at once, not after the round (here an hour)."""
    store = SqliteStore(tmp_path / "classes.sqlite3")
    room, token = store.create()
    reruns: list[tuple] = []
    watcher = push.Watcher(store, rerun=lambda sid, page: reruns.append((sid, page)) or True,
                           every=every)
    try:
        watcher.watch(room.code, "s", True, push.room_key(store.room(room.code)))
        store.set_view(room.code, token, {"page": "layer", "query": {}})
        if poke:
            watcher.poke()
        deadline = time.monotonic() + 5
        while not reruns and time.monotonic() < deadline:
            time.sleep(0.02)
        assert reruns == [("s", "layer")]
    finally:
        watcher.stop()


def test_a_poke_after_a_run_waits_for_that_run_to_finish(tmp_path):
    """The teacher publishes at the end of its run: its followers are rerun only once that run
    is over (their forty runs would otherwise hold back the teacher's last messages), and not
    later than ``AFTER_MAX_S`` if it never ends."""
    store = SqliteStore(tmp_path / "classes.sqlite3")
    room, token = store.create()
    ends = {"teacher": time.monotonic() + 0.3, "stuck": time.monotonic() + 3600}
    reruns: list[float] = []
    watcher = push.Watcher(store, rerun=lambda sid, page: reruns.append(time.monotonic()) or True,
                           every=3600, running=lambda sid: time.monotonic() < ends[sid])
    try:
        for n, (after, earliest, latest) in enumerate(
                (("teacher", 0.3, 1.0), ("stuck", push.AFTER_MAX_S, push.AFTER_MAX_S + 0.7))):
            watcher.watch(room.code, "s", True, push.room_key(store.room(room.code)))
            store.set_view(room.code, token, {"page": after, "query": {}})
            poked = time.monotonic()
            watcher.poke(after=after)
            while len(reruns) <= n and time.monotonic() < poked + 5:
                time.sleep(0.01)
            assert len(reruns) == n + 1
            assert earliest - 0.05 <= reruns[n] - poked < latest, (after, reruns[n] - poked)
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
    from benchmarks.bench_class import until, view_of as view
    from benchmarks.bench_long_input import streamlit_server
    from benchmarks.streamlit_client import StreamlitClient

    model = write_app_checkpoint(tmp_path / "bert")
    env = {"BERTLAB_MODEL": str(model),
           "BERTLAB_STORE": f"sqlite:///{tmp_path / 'classes.sqlite3'}"}

    async def go(base: str) -> None:
        teacher = StreamlitClient(base, name="teacher")
        student = StreamlitClient(base, name="student", auto_reruns=False)
        try:
            await teacher.open("lesson", {"lang": "en"})
            await teacher.click(key="w_class_start")
            code = urllib.parse.parse_qs(teacher.query)["class"][0]
            await student.open("", {"class": code})
            assert await until(lambda: view(student) == view(teacher), 20), (
                view(student), view(teacher))
            steps = [lambda: teacher.click(key="lesson_next"),
                     lambda: teacher.switch_page("masked_lm"),
                     lambda: teacher.set(key="w_sentence", value="the cat sat on the mat .")]
            for step in steps:
                before = view(student)
                await step()
                assert view(teacher) != before
                assert await until(lambda: view(student) == view(teacher), 20), (
                    view(student), view(teacher))
        finally:
            await student.close()
            await teacher.close()

    with streamlit_server(env) as (base, _):
        asyncio.run(asyncio.wait_for(go(base), 240))


def test_a_change_waits_while_the_teacher_on_this_server_runs(world):
    """A question asked (or a view published) while the teacher's run is still going: the
    followers are rerun once that run ends, or after ``AFTER_MAX_S`` at the latest."""
    store, code, token, watcher, reruns, _ = world
    running = {"teacher": True}
    watcher._running = lambda sid: running.get(sid, False)
    watcher.teach(code, "teacher")
    watcher.watch(code, "follower", True, seen(store, code))
    store.ask(code, token, "nsp", {"a": "x", "b": "y"})
    watcher.check()
    assert reruns == []  # held: the teacher is running
    running["teacher"] = False
    watcher.check()
    assert reruns == ["follower"]
    watcher.watch(code, "follower", True, seen(store, code))
    running["teacher"] = True
    store.set_view(code, token, {"page": "layer", "query": {}})
    watcher.check()
    assert reruns == ["follower"]
    watcher._held[code] -= push.AFTER_MAX_S  # held that long: no longer
    watcher.check()
    assert reruns == ["follower", "follower"]
    watcher.forget("teacher")
    assert code not in watcher._teachers

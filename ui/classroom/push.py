"""The server tells a student's session to redraw when its class changes: one watch per class per
server instead of a poll per student.

A poll from every student's browser (an ``st.fragment(run_every=0.5)``) costs the server a script
run each time, changed or not: 0.03 s for an empty fragment, 0.13 s for the class's, so a 2-core
server was full at about seven students polling twice a second (``benchmarks/bench_class.py``).
Here a student's run registers its session with the server's :class:`Watcher`; its one thread reads
``store.room(code)`` every ``WATCH_S`` for each class with a session on this server, and when the
teacher's view (for followers) or the question changed, or the class ended, it asks Streamlit to
rerun those sessions. Students who are idle cost nothing; a change costs the one run each student
needs anyway to draw it. Several servers each watch the shared store (Redis) the same way.

Streamlit has no public call to rerun another session, so :func:`request_rerun` uses its runtime
(``AppSession``, as "run on save" does, pinned to streamlit 1.67; ``tests/test_browser_class.py``
checks it end to end). The rerun carries no widget states: the browser's last ones could be older
than the view just applied, and replaying them would call the widgets' callbacks with those old
values and undo it. Where the runtime is not there (AppTest, another Streamlit), :func:`available`
is False and the session polls with a fragment instead (``session._poll``).
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Callable

from .store import ClassError, Room, Store

WATCH_S = 0.25  # how often the watcher reads each watched class (one small read per class)
AFTER_MAX_S = 1.0  # the longest a poke waits for the teacher's run to finish
SENT_S = 0.05  # and then for the event loop to write that run's last messages to its browser
_LOG = logging.getLogger(__name__)


def session_id() -> str | None:
    """The running script's session id (None outside a script run)."""
    from streamlit.runtime.scriptrunner_utils.script_run_context import get_script_run_ctx

    ctx = get_script_run_ctx(suppress_warning=True)
    return None if ctx is None else ctx.session_id


def _app_session(sid: str):
    from streamlit.runtime import Runtime

    if not Runtime.exists():
        return None
    info = Runtime.instance()._session_mgr.get_active_session_info(sid)
    return None if info is None else info.session


def available() -> bool:
    """Whether this process can rerun another session (a Streamlit server, not an AppTest)."""
    try:
        from streamlit.runtime.app_session import AppSession
        from streamlit.runtime.scriptrunner import RerunData  # noqa: F401

        sid = session_id()
        session = None if sid is None else _app_session(sid)
        return (session is not None and isinstance(session, AppSession)
                and all(hasattr(session, a) for a in
                        ("_call_soon_on_event_loop", "_create_scriptrunner", "_client_state",
                         "_scriptrunner")))
    except Exception:
        return False


def _page_hash(session, page: str) -> str | None:
    """The script hash of the app's page at URL path ``page`` ("" the default page), as
    ``st.switch_page`` finds it in the session's pages."""
    try:
        for info in session._pages_manager.get_pages().values():
            if info.get("url_pathname") == page:
                return info.get("page_script_hash")
    except Exception:
        pass
    return None


def request_rerun(sid: str, page: str | None = None) -> bool:
    """Asks session ``sid`` to run again, with its widgets' values unchanged: its own page, or the
    page at URL path ``page`` (a follower taking the teacher's page: one run on the new page
    instead of a run on the old one that switches). False when that session is gone."""
    from streamlit import config
    from streamlit.runtime.scriptrunner import RerunData

    session = _app_session(sid)
    if session is None:
        return False

    def rerun() -> None:  # on the server's event loop, as AppSession.request_rerun does it
        client = session._client_state
        target = None if page is None else _page_hash(session, page)
        data = RerunData(query_string=client.query_string,
                         page_script_hash=target or client.page_script_hash,
                         page_name="" if target else client.page_name)  # widget_states=None
        runner = session._scriptrunner
        if runner is not None:
            if config.get_option("runner.fastReruns"):  # (the default) stop it, start anew
                runner.request_stop()
                session._scriptrunner = None
            elif runner.request_rerun(data):
                return  # a run in progress starts over with it
        session._create_scriptrunner(data)

    session._call_soon_on_event_loop(rerun)
    return True


def running(sid: str) -> bool:
    """Whether session ``sid`` is running its script now, or has messages of its run not yet
    sent to its browser (False when it is gone)."""
    from streamlit.runtime.app_session import AppSessionState

    session = _app_session(sid)
    return session is not None and (session._state == AppSessionState.APP_IS_RUNNING
                                    or not session._browser_queue.is_empty())


def room_key(room: Room) -> tuple:
    """What a session redraws for: (the teacher's view version, the question's id and reveal)."""
    q = room.question
    return room.view_version, (None if q is None else (q.id, bool(q.revealed)))


class Watcher:
    """Watches the classes that have sessions on this server and reruns them on a change.

    Args:
        store: the class store.
        rerun: called with a session id (and the teacher's page for a follower, else None) to
            rerun it; returns False for a session that is gone.
        every: seconds between two reads of each watched class (:meth:`poke` reads them now).
        running: whether a session (the teacher's, see :meth:`poke`) is still running.
    """

    def __init__(self, store: Store, rerun: Callable[[str, str | None], bool] = request_rerun,
                 every: float = WATCH_S, running: Callable[[str], bool] = running):
        self._store, self._rerun, self._every, self._running = store, rerun, every, running
        self._after: str | None = None  # the session whose run a poke waits for
        self._teachers: dict[str, str] = {}  # code -> the teacher's session on this server
        self._held: dict[str, float] = {}  # code -> since when its change waits for the teacher
        self._lock = threading.Lock()
        # code -> {session id: [following?, the room_key that session last drew]}
        self._sessions: dict[str, dict[str, list]] = {}
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="bertlab-class-watch",
                                        daemon=True)
        self._thread.start()

    def watch(self, code: str, sid: str, follow: bool, seen: tuple) -> None:
        """Session ``sid`` is in class ``code``, following the teacher's view or not, and has just
        drawn the class as ``seen`` (its room_key)."""
        with self._lock:
            for other, sessions in self._sessions.items():
                if other != code:
                    sessions.pop(sid, None)
            self._sessions.setdefault(code, {})[sid] = [follow, seen]

    def teach(self, code: str, sid: str) -> None:
        """Session ``sid`` on this server is the teacher of class ``code``: while it runs, its
        class's changes wait for the run to end (at most ``AFTER_MAX_S``), so that the teacher's
        own run, which made the change, is not slowed by every follower starting theirs."""
        with self._lock:
            self._teachers[code] = sid

    def forget(self, sid: str) -> None:
        with self._lock:
            for sessions in self._sessions.values():
                sessions.pop(sid, None)
            for code in [c for c, t in self._teachers.items() if t == sid]:
                del self._teachers[code]

    def watched(self) -> dict[str, dict[str, list]]:
        with self._lock:
            return {code: {sid: list(v) for sid, v in s.items()}
                    for code, s in self._sessions.items() if s}

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()

    def poke(self, after: str | None = None) -> None:
        """Reads the classes now instead of at the next round: a teacher on this server has just
        published. With ``after`` (the teacher's session, publishing at the end of its run), the
        round waits for that run to finish first (at most ``AFTER_MAX_S``): forty followers
        starting theirs at once would otherwise hold back the teacher's own last messages."""
        self._after = after
        self._wake.set()

    def check(self) -> None:
        """One round: reads every watched class once and reruns the sessions whose screen it
        changes: a follower's for a new view, everyone's for a new or revealed question or an
        ended class."""
        for code, sessions in self.watched().items():
            with self._lock:
                teacher = self._teachers.get(code)
            if teacher is not None and self._running(teacher):
                since = self._held.setdefault(code, time.monotonic())
                if time.monotonic() - since < AFTER_MAX_S:
                    continue  # after the teacher's run (its end pokes the watcher)
            self._held.pop(code, None)
            try:
                room = self._store.room(code)
                key, ended = room_key(room), room.closed
            except ClassError as e:
                if e.reason == "store_down":
                    continue  # try again next round; the sessions keep their page
                key, ended = ("gone", e.reason), True
            for sid, (follow, seen) in sessions.items():
                stale = ended or key[1] != seen[1] or (follow and key[0] != seen[0])
                if not stale:
                    continue
                page = (room.view.get("page") if not ended and follow and key[0] != seen[0]
                        and isinstance(room.view, dict) else None)
                if not self._rerun(sid, None if page is None else str(page)):
                    self.forget(sid)
                    continue
                with self._lock:  # rerun once per change; the session's run registers again
                    entry = self._sessions.get(code, {}).get(sid)
                    if entry is not None and entry[1] == seen:
                        entry[1] = key
            if ended:
                with self._lock:
                    self._sessions.pop(code, None)
                    self._teachers.pop(code, None)

    def _loop(self) -> None:
        while True:
            self._wake.wait(self._every)
            self._wake.clear()
            after, self._after = self._after, None
            deadline = time.monotonic() + AFTER_MAX_S
            while (after is not None and not self._stop.is_set()
                   and time.monotonic() < deadline and self._running(after)):
                time.sleep(0.01)
            if after is not None:  # its last messages are queued on the server's event loop:
                time.sleep(SENT_S)  # let the loop write them before forty runs want the GIL
            if self._stop.is_set():
                return
            try:
                self.check()
            except Exception:  # never let the server's watcher die of one bad round
                _LOG.exception("class watcher round failed")

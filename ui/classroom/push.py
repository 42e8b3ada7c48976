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
from typing import Callable

from .store import ClassError, Room, Store

WATCH_S = 0.25  # how often the watcher reads each watched class (one small read per class)
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


def request_rerun(sid: str) -> bool:
    """Asks session ``sid`` to run its page again, with its widgets' values unchanged; False when
    that session is gone."""
    from streamlit import config
    from streamlit.runtime.scriptrunner import RerunData

    session = _app_session(sid)
    if session is None:
        return False

    def rerun() -> None:  # on the server's event loop, as AppSession.request_rerun does it
        client = session._client_state
        data = RerunData(query_string=client.query_string, page_script_hash=client.page_script_hash,
                         page_name=client.page_name)  # widget_states=None: no callbacks
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


def room_key(room: Room) -> tuple:
    """What a session redraws for: (the teacher's view version, the question's id and reveal)."""
    q = room.question
    return room.view_version, (None if q is None else (q.id, bool(q.revealed)))


class Watcher:
    """Watches the classes that have sessions on this server and reruns them on a change.

    Args:
        store: the class store.
        rerun: called with a session id to rerun it; returns False for a session that is gone.
        every: seconds between two reads of each watched class.
    """

    def __init__(self, store: Store, rerun: Callable[[str], bool] = request_rerun,
                 every: float = WATCH_S):
        self._store, self._rerun, self._every = store, rerun, every
        self._lock = threading.Lock()
        # code -> {session id: [following?, the room_key that session last drew]}
        self._sessions: dict[str, dict[str, list]] = {}
        self._stop = threading.Event()
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

    def forget(self, sid: str) -> None:
        with self._lock:
            for sessions in self._sessions.values():
                sessions.pop(sid, None)

    def watched(self) -> dict[str, dict[str, list]]:
        with self._lock:
            return {code: {sid: list(v) for sid, v in s.items()}
                    for code, s in self._sessions.items() if s}

    def stop(self) -> None:
        self._stop.set()

    def check(self) -> None:
        """One round: reads every watched class once and reruns the sessions whose screen it
        changes: a follower's for a new view, everyone's for a new or revealed question or an
        ended class."""
        for code, sessions in self.watched().items():
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
                if not self._rerun(sid):
                    self.forget(sid)
                    continue
                with self._lock:  # rerun once per change; the session's run registers again
                    entry = self._sessions.get(code, {}).get(sid)
                    if entry is not None and entry[1] == seen:
                        entry[1] = key
            if ended:
                with self._lock:
                    self._sessions.pop(code, None)

    def _loop(self) -> None:
        while not self._stop.wait(self._every):
            try:
                self.check()
            except Exception:  # never let the server's watcher die of one bad round
                _LOG.exception("class watcher round failed")

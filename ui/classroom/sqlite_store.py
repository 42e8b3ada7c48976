"""The class store for one server: a SQLite file (the standard library's sqlite3).

Streamlit runs each browser session (each run of it) in its own thread, so each thread gets its
own connection (``threading.local``: it is closed when its thread ends). The file is in WAL
journal mode, so the students' polls (reads) never wait for a writer, and writers wait up to
``busy_timeout`` for each other. Every read-modify-write is one ``BEGIN IMMEDIATE`` transaction
(the write lock is taken before the read), inside which the base class's rule checks run.
Everything is on disk: a server restart loses no class, view or answer.
Expired classes are purged when found and, in passing, whenever a class is created.

Several servers must not share this file over a network file system (SQLite's locks are not
reliable there): use :class:`ui.classroom.redis_store.RedisStore` for that.
"""

from __future__ import annotations

import dataclasses
import json
import sqlite3
import threading
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Callable, Iterator

from .store import ClassError, Question, Room, Store

BUSY_TIMEOUT_MS = 10_000

_SCHEMA = """
CREATE TABLE IF NOT EXISTS rooms (
    code TEXT PRIMARY KEY,
    created REAL NOT NULL,
    expires REAL NOT NULL,
    closed INTEGER NOT NULL DEFAULT 0,
    max_students INTEGER NOT NULL,
    token_hash TEXT NOT NULL,
    view TEXT NOT NULL DEFAULT '{}',
    view_version INTEGER NOT NULL DEFAULT 0,
    last_question INTEGER NOT NULL DEFAULT 0,  -- the last question id given out
    question TEXT                              -- Question.to_json() of the current one, or NULL
);
CREATE TABLE IF NOT EXISTS students (
    code TEXT NOT NULL,
    student TEXT NOT NULL,
    last_answer REAL,                          -- for the rate limit
    PRIMARY KEY (code, student)
);
CREATE TABLE IF NOT EXISTS answers (
    code TEXT NOT NULL,
    question INTEGER NOT NULL,
    student TEXT NOT NULL,
    text TEXT NOT NULL,
    PRIMARY KEY (code, question, student)
);
"""

_ROOM_SQL = ("SELECT code, created, expires, closed, max_students, view, view_version, question,"
             " token_hash, (SELECT COUNT(*) FROM students s WHERE s.code = rooms.code)"
             " FROM rooms WHERE code = ?")


def _room(row: tuple) -> tuple[Room, str]:
    code, created, expires, closed, max_students, view, version, question, token_hash, n = row
    return Room(code=code, created=created, expires=expires, closed=bool(closed),
                max_students=max_students, students=n, view=json.loads(view),
                view_version=version, question=Question.from_json(question)), token_hash


class SqliteStore(Store):
    """The class store in a SQLite file (one server).

    Args:
        path: the database file (its folder is created if missing).
        clock: seconds since the epoch; tests pass their own.
    """

    down_errors = (sqlite3.OperationalError, sqlite3.DatabaseError)

    def __init__(self, path: str | Path, clock: Callable[[], float] = time.time):
        super().__init__(clock)
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._local = threading.local()
        with self._down():
            conn = self._conn()
            conn.execute("PRAGMA journal_mode=WAL")
            conn.executescript(_SCHEMA)

    def _conn(self) -> sqlite3.Connection:
        """This thread's connection (autocommit: transactions are explicit)."""
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = sqlite3.connect(self.path, timeout=BUSY_TIMEOUT_MS / 1000,
                                   isolation_level=None)
            conn.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
            # WAL + NORMAL: a commit survives the server process crashing (a power cut may lose
            # the last few); commits do not wait for the disk
            conn.execute("PRAGMA synchronous=NORMAL")
            self._local.conn = conn
        return conn

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        """One BEGIN IMMEDIATE transaction: committed at the end, rolled back on any error."""
        conn = self._conn()
        conn.execute("BEGIN IMMEDIATE")
        try:
            yield conn
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")

    def _get(self, conn: sqlite3.Connection, code: str) -> tuple[Room, str]:
        row = conn.execute(_ROOM_SQL, (code,)).fetchone()
        if row is None:
            raise ClassError("unknown")
        return _room(row)

    # ---- primitives ----

    def _insert(self, room: Room, token_hash: str) -> bool:
        with self._write() as conn:
            self._delete(conn, "expires <= ?", (room.created,))
            cur = conn.execute(
                "INSERT OR IGNORE INTO rooms (code, created, expires, max_students, token_hash)"
                " VALUES (?, ?, ?, ?, ?)",
                (room.code, room.created, room.expires, room.max_students, token_hash))
            return cur.rowcount == 1

    def _load(self, code: str) -> tuple[Room, str] | None:
        row = self._conn().execute(_ROOM_SQL, (code,)).fetchone()
        return None if row is None else _room(row)

    def _purge(self, code: str) -> None:
        with self._write() as conn:
            self._delete(conn, "code = ?", (code,))

    @staticmethod
    def _delete(conn: sqlite3.Connection, where: str, args: tuple) -> None:
        """Deletes the classes matching ``where`` (on rooms) with their students and answers."""
        codes = [r[0] for r in conn.execute(f"SELECT code FROM rooms WHERE {where}", args)]
        for code in codes:
            for table in ("answers", "students", "rooms"):
                conn.execute(f"DELETE FROM {table} WHERE code = ?", (code,))

    def _join(self, code: str, student: str, now: float) -> Room:
        with self._write() as conn:
            room, _ = self._get(conn, code)
            already = conn.execute("SELECT 1 FROM students WHERE code = ? AND student = ?",
                                   (code, student)).fetchone() is not None
            self._may_join(room, already, now)
            conn.execute("INSERT OR IGNORE INTO students (code, student) VALUES (?, ?)",
                         (code, student))
            return self._get(conn, code)[0]

    def _set_view(self, code: str, view_json: str) -> int:
        with self._write() as conn:
            # a view is stored as json.dumps(sort_keys=True), so equal views are equal strings
            conn.execute("UPDATE rooms SET view = ?, view_version = view_version + 1"
                         " WHERE code = ? AND view != ?", (view_json, code, view_json))
            return conn.execute("SELECT view_version FROM rooms WHERE code = ?",
                                (code,)).fetchone()[0]

    def _ask(self, code: str, kind: str, spec_json: str, now: float) -> Question:
        with self._write() as conn:
            row = conn.execute("SELECT last_question FROM rooms WHERE code = ?",
                               (code,)).fetchone()
            if row is None:
                raise ClassError("unknown")
            last = row[0]
            q = Question(id=last + 1, kind=kind, spec=json.loads(spec_json), asked=now,
                         revealed=False, reveal=None)
            conn.execute("UPDATE rooms SET last_question = ?, question = ? WHERE code = ?",
                         (q.id, q.to_json(), code))
            conn.execute("DELETE FROM answers WHERE code = ?", (code,))
            return q

    def _answer(self, code: str, question_id: int, student: str, text: str, now: float) -> None:
        with self._write() as conn:
            room, _ = self._get(conn, code)
            row = conn.execute("SELECT last_answer FROM students WHERE code = ? AND student = ?",
                               (code, student)).fetchone()
            self._may_answer(room, question_id, row is not None, row and row[0], now)
            conn.execute("INSERT OR REPLACE INTO answers (code, question, student, text)"
                         " VALUES (?, ?, ?, ?)", (code, question_id, student, text))
            conn.execute("UPDATE students SET last_answer = ? WHERE code = ? AND student = ?",
                         (now, code, student))

    def _answers(self, code: str, question_id: int) -> list[str]:
        rows = self._conn().execute("SELECT text FROM answers WHERE code = ? AND question = ?",
                                    (code, question_id))
        return [r[0] for r in rows]

    def _answer_of(self, code: str, question_id: int, student: str) -> str | None:
        row = self._conn().execute("SELECT text FROM answers WHERE code = ? AND question = ?"
                                   " AND student = ?", (code, question_id, student)).fetchone()
        return None if row is None else row[0]

    def _reveal(self, code: str, question_id: int, answer_json: str) -> Question:
        with self._write() as conn:
            room, _ = self._get(conn, code)
            q = dataclasses.replace(self._may_reveal(room, question_id), revealed=True,
                                    reveal=json.loads(answer_json))
            conn.execute("UPDATE rooms SET question = ? WHERE code = ?", (q.to_json(), code))
            return q

    def _clear(self, code: str) -> None:
        with self._write() as conn:
            conn.execute("UPDATE rooms SET question = NULL WHERE code = ?", (code,))
            conn.execute("DELETE FROM answers WHERE code = ?", (code,))

    def _close(self, code: str) -> None:
        with self._write() as conn:
            conn.execute("UPDATE rooms SET closed = 1 WHERE code = ?", (code,))

"""The class store: one interface, two storages, and the rules written once.

A class ("room") is a short code, the teacher's current view, the students who joined, and at most
one open question with its answers. :class:`Store` holds every rule (code format, teacher token,
answer length, rate limit, expiry, answer normalisation) and the public methods the app calls; a
storage (:class:`ui.classroom.sqlite_store.SqliteStore` for one server,
:class:`ui.classroom.redis_store.RedisStore` for several) only implements the ``_``-prefixed
primitives, each atomic, and calls the base class's rule checks (``_may_join``, ``_may_answer``,
``_may_reveal``) inside its own transaction, so a rule cannot be raced past.

Security in short: the teacher's token (``secrets.token_urlsafe(32)``) is returned once by
:meth:`Store.create` and only its sha256 is stored, compared with :func:`hmac.compare_digest`;
a join link carries the code only. Students are opaque ids chosen by their browsers. Answers are
kept as plain text (no markup is ever rendered from them by the store) and counted after
normalisation.

Every failure a user can cause raises :class:`ClassError` whose ``reason`` is one of
:data:`REASONS`; the UI shows ``t(f"class.err.{reason}")``.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import re
import secrets
import time
import unicodedata
from abc import ABC, abstractmethod
from collections import Counter
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterator

REASONS = ("bad_code", "unknown", "closed", "expired", "full", "forbidden", "too_long",
           "rate_limited", "no_question", "store_down")

CODE_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"  # no 0/O, 1/I/L: read aloud and typed on phones
CODE_LENGTH = 6
MAX_ANSWER_CHARS = 80
RATE_S = 1.0           # at most one answer per student per RATE_S seconds
MAX_STUDENT_ID = 64    # characters of a student's opaque id
KINDS = ("guess", "head", "nsp", "free")

_CODE_RE = re.compile(f"[{CODE_ALPHABET}]{{{CODE_LENGTH}}}")


class ClassError(Exception):
    """A failure a user can cause (or a store that is down); ``reason`` is one of REASONS."""

    def __init__(self, reason: str):
        if reason not in REASONS:
            raise ValueError(f"unknown class error reason {reason!r}")
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class Question:
    """A class question: asked by the teacher, answered by the students, then revealed."""

    id: int              # increasing per class
    kind: str            # "guess" | "head" | "nsp" | "free"
    spec: dict           # what the questions module needs to draw it (page, view, options, ...)
    asked: float
    revealed: bool
    reveal: dict | None  # the model's own answer, computed live by the teacher's app at reveal

    def to_json(self) -> str:
        return json.dumps({"id": self.id, "kind": self.kind, "spec": self.spec, "asked": self.asked,
                           "revealed": self.revealed, "reveal": self.reveal}, sort_keys=True)

    @classmethod
    def from_json(cls, text: str | None) -> Question | None:
        if not text:
            return None
        d = json.loads(text)
        return cls(id=int(d["id"]), kind=d["kind"], spec=d["spec"], asked=float(d["asked"]),
                   revealed=bool(d["revealed"]), reveal=d["reveal"])


@dataclass(frozen=True)
class Room:
    """A class as every member sees it (never the teacher's token or the students' ids)."""

    code: str            # 6 characters from CODE_ALPHABET, upper case
    created: float
    expires: float
    closed: bool
    max_students: int
    students: int        # students joined so far
    view: dict           # the teacher's view: {"page": url_path, "query": {params}}; {} at first
    view_version: int    # +1 at every set_view that changes the view
    question: Question | None  # the open (or revealed) question, None if none


# ---- the rules, as plain functions (the stores and the tests use them) ----

def check_code(code: str) -> str:
    """The canonical code (stripped, upper case), or ClassError("bad_code") before any lookup.

    Lower case and full-width letters (a Chinese input method's) are accepted, because students
    type codes on phones; a code with a character outside CODE_ALPHABET (0, O, 1, I, L,
    punctuation, ...) or of another length is refused.
    """
    if not isinstance(code, str):
        raise ClassError("bad_code")
    canon = unicodedata.normalize("NFKC", code).strip().upper()
    if not _CODE_RE.fullmatch(canon):
        raise ClassError("bad_code")
    return canon


def new_code() -> str:
    """A random code (31 ** 6, about 887 million codes; the store retries on a collision)."""
    return "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))


def hash_token(token: str) -> str:
    """The sha256 (hex) of a teacher token: what the store keeps instead of the token."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def token_matches(stored_hash: str, token: str) -> bool:
    """Whether ``token`` is the one whose hash was stored (constant-time comparison)."""
    if not isinstance(token, str) or not token or not stored_hash:
        return False
    return hmac.compare_digest(stored_hash, hash_token(token))


def clean_answer(text: str) -> str:
    """An answer as stored: plain text, control characters as spaces, stripped."""
    if not isinstance(text, str):
        raise TypeError("an answer is a string")
    text = "".join(" " if unicodedata.category(c).startswith("C") else c for c in text)
    return text.strip()


def normalise_answer(text: str) -> str:
    """The form answers are counted in: stripped, runs of spaces collapsed, case-folded."""
    return " ".join(clean_answer(text).split()).casefold()


def _json(value: dict, what: str) -> str:
    if not isinstance(value, dict):
        raise TypeError(f"{what} must be a dict")
    return json.dumps(value, sort_keys=True, ensure_ascii=False)


class Store(ABC):
    """The class store: the public methods (rules included) over a storage's atomic primitives.

    Every method that takes a code checks its format first (``bad_code``), then finds the class
    (``unknown``), then its expiry (``expired``: the class is purged, a later call says
    ``unknown``). Teacher-only methods check the token (``forbidden``). A storage that cannot be
    reached raises ``store_down``.

    Args:
        clock: seconds since the epoch (``time.time``); tests pass their own to move time.
    """

    #: a storage's exception types that mean "cannot reach the storage" -> store_down
    down_errors: tuple[type[BaseException], ...] = ()

    def __init__(self, clock: Callable[[], float] = time.time):
        self.clock = clock

    # ---- public API ----

    def create(self, *, max_students: int = 60, ttl_s: float = 4 * 3600) -> tuple[Room, str]:
        """A new class and its teacher token (secrets.token_urlsafe(32)).

        Only a hash of the token is stored (hmac.compare_digest to check); the token is returned
        here once and must never go into a URL.
        """
        if max_students < 1 or ttl_s <= 0:
            raise ValueError("max_students >= 1 and ttl_s > 0")
        token = secrets.token_urlsafe(32)
        now = self.clock()
        with self._down():
            for _ in range(20):
                room = Room(code=new_code(), created=now, expires=now + ttl_s, closed=False,
                            max_students=int(max_students), students=0, view={}, view_version=0,
                            question=None)
                if self._insert(room, hash_token(token)):
                    return room, token
        raise RuntimeError("no free class code after 20 tries")

    def room(self, code: str) -> Room:
        """The class (raises ClassError bad_code / unknown / expired)."""
        return self._live(check_code(code))[0]

    def join(self, code: str, student: str) -> Room:
        """Joins ``student`` (an opaque id from the student's browser) to the class.

        Joining twice with the same id is one student. Raises closed / full / expired / ...
        """
        code = check_code(code)
        self._check_student(student)
        with self._purging(code):
            return self._join(code, student, self.clock())

    def is_teacher(self, code: str, token: str) -> bool:
        """Whether ``token`` is this class's teacher token (raises for a bad / unknown code)."""
        return token_matches(self._live(check_code(code))[1], token)

    def set_view(self, code: str, token: str, view: dict) -> int:
        """Publishes the teacher's view; returns the view version (+1 only if it changed)."""
        code = check_code(code)
        view_json = _json(view, "view")
        self._teacher_room(code, token)
        with self._down():
            return self._set_view(code, view_json)

    def view(self, code: str) -> tuple[int, dict]:
        """The cheap poll: (view_version, view)."""
        room = self.room(code)
        return room.view_version, room.view

    def ask(self, code: str, token: str, kind: str, spec: dict) -> Question:
        """Asks a new question; it replaces the open one (whose answers are dropped)."""
        code = check_code(code)
        if kind not in KINDS:
            raise ValueError(f"kind must be one of {KINDS}")
        spec_json = _json(spec, "spec")
        self._teacher_room(code, token)
        with self._down():
            return self._ask(code, kind, spec_json, self.clock())

    def answer(self, code: str, question_id: int, student: str, text: str) -> None:
        """Stores ``student``'s answer to the open question (a new one replaces the old one).

        The text is stripped; an empty answer is ignored. Raises too_long (over MAX_ANSWER_CHARS),
        rate_limited (a second answer within RATE_S seconds), no_question (not the open question,
        or already revealed), forbidden (not a student of this class), closed, expired, ...
        """
        code = check_code(code)
        self._check_student(student)
        text = clean_answer(text)
        if len(text) > MAX_ANSWER_CHARS:
            raise ClassError("too_long")
        if not text:
            return
        with self._purging(code):
            self._answer(code, int(question_id), student, text, self.clock())

    def answers(self, code: str, question_id: int) -> dict[str, int]:
        """The answers to a question, counted: normalised text -> students, most given first."""
        code = check_code(code)
        self._live(code)
        with self._down():
            texts = self._answers(code, int(question_id))
        return dict(Counter(normalise_answer(t) for t in texts).most_common())

    def answer_of(self, code: str, question_id: int, student: str) -> str | None:
        """``student``'s own answer to the question (None if none): a student who reloads the
        page sees what they sent. Only that student's session asks for it."""
        code = check_code(code)
        self._check_student(student)
        self._live(code)
        with self._down():
            return self._answer_of(code, int(question_id), student)

    def reveal(self, code: str, token: str, question_id: int, answer: dict) -> Question:
        """Marks the question revealed with the model's own ``answer``; no more answers."""
        code = check_code(code)
        answer_json = _json(answer, "answer")
        self._teacher_room(code, token)
        with self._down():
            return self._reveal(code, int(question_id), answer_json)

    def clear(self, code: str, token: str) -> None:
        """Drops the question and its answers."""
        code = check_code(code)
        self._teacher_room(code, token, closed_ok=True)
        with self._down():
            self._clear(code)

    def close(self, code: str, token: str) -> None:
        """Closes the class: no more joins, views or answers; members see it closed."""
        code = check_code(code)
        self._teacher_room(code, token, closed_ok=True)
        with self._down():
            self._close(code)

    # ---- rules used inside the storages' transactions ----

    def _may_join(self, room: Room, already: bool, now: float) -> None:
        """Raises unless ``room`` takes this student (``already``: joined before)."""
        self._check_alive(room, now)
        if room.closed:
            raise ClassError("closed")
        if not already and room.students >= room.max_students:
            raise ClassError("full")

    def _may_answer(self, room: Room, question_id: int, member: bool, last: float | None,
                    now: float) -> None:
        """Raises unless a student (``member``) whose last answer was at ``last`` may answer."""
        self._check_alive(room, now)
        if room.closed:
            raise ClassError("closed")
        if not member:
            raise ClassError("forbidden")
        q = room.question
        if q is None or q.id != question_id or q.revealed:
            raise ClassError("no_question")
        if last is not None and now - last < RATE_S:
            raise ClassError("rate_limited")

    @staticmethod
    def _may_reveal(room: Room, question_id: int) -> Question:
        """The question to reveal, or no_question if ``question_id`` is not the current one."""
        if room.question is None or room.question.id != question_id:
            raise ClassError("no_question")
        return room.question

    @staticmethod
    def _check_alive(room: Room, now: float) -> None:
        if now >= room.expires:
            raise ClassError("expired")

    # ---- helpers ----

    @staticmethod
    def _check_student(student: str) -> None:
        if not isinstance(student, str) or not student or len(student) > MAX_STUDENT_ID:
            raise ClassError("forbidden")

    def _live(self, code: str) -> tuple[Room, str]:
        """(room, token hash) of a class that exists and has not expired (else purged)."""
        with self._down():
            found = self._load(code)
        if found is None:
            raise ClassError("unknown")
        with self._purging(code):
            self._check_alive(found[0], self.clock())
        return found

    def _teacher_room(self, code: str, token: str, closed_ok: bool = False) -> Room:
        room, token_hash = self._live(code)
        if not token_matches(token_hash, token):
            raise ClassError("forbidden")
        if room.closed and not closed_ok:
            raise ClassError("closed")
        return room

    @contextmanager
    def _down(self) -> Iterator[None]:
        """Turns the storage's connection errors into ClassError("store_down")."""
        try:
            yield
        except self.down_errors as e:
            raise ClassError("store_down") from e

    @contextmanager
    def _purging(self, code: str) -> Iterator[None]:
        """Runs the block; if it finds the class expired, purges the class and re-raises."""
        try:
            with self._down():
                yield
        except ClassError as e:
            if e.reason == "expired":
                with self._down():
                    self._purge(code)
            raise

    # ---- the storage's primitives, each atomic ----

    @abstractmethod
    def _insert(self, room: Room, token_hash: str) -> bool:
        """Stores a new class; False (nothing written) if its code is taken."""

    @abstractmethod
    def _load(self, code: str) -> tuple[Room, str] | None:
        """(room, token hash), or None if there is no such class."""

    @abstractmethod
    def _purge(self, code: str) -> None:
        """Deletes everything of the class."""

    @abstractmethod
    def _join(self, code: str, student: str, now: float) -> Room:
        """Atomically: load (unknown if none), ``_may_join``, add the student; the room after."""

    @abstractmethod
    def _set_view(self, code: str, view_json: str) -> int:
        """Atomically: if the stored view differs, store it and add 1 to the version.

        Returns the version after."""

    @abstractmethod
    def _ask(self, code: str, kind: str, spec_json: str, now: float) -> Question:
        """Atomically: the next question id, the new open question, the old answers dropped."""

    @abstractmethod
    def _answer(self, code: str, question_id: int, student: str, text: str, now: float) -> None:
        """Atomically: load, ``_may_answer``, store the answer and the student's answer time."""

    @abstractmethod
    def _answers(self, code: str, question_id: int) -> list[str]:
        """The stored answer texts of the question (one per student); [] if none."""

    @abstractmethod
    def _answer_of(self, code: str, question_id: int, student: str) -> str | None:
        """The student's stored answer text to the question; None if none."""

    @abstractmethod
    def _reveal(self, code: str, question_id: int, answer_json: str) -> Question:
        """Atomically: ``_may_reveal``, mark it revealed with the answer; the question after."""

    @abstractmethod
    def _clear(self, code: str) -> None:
        """Drops the question and its answers."""

    @abstractmethod
    def _close(self, code: str) -> None:
        """Marks the class closed."""


def default_sqlite_path() -> Path:
    """``$BERTLAB_DATA/classes.sqlite3``, or ``~/.local/share/bertlab/classes.sqlite3``."""
    data = os.environ.get("BERTLAB_DATA")
    base = Path(data) if data else Path.home() / ".local" / "share" / "bertlab"
    return base / "classes.sqlite3"


def open_store(url: str | None = None) -> Store:
    """The store that ``url`` (or ``$BERTLAB_STORE``) names.

    ``"redis://host:port/db"`` (or ``rediss://``, ``unix://``) -> RedisStore, for several servers;
    ``"sqlite:///path"`` or unset -> SqliteStore (default file: ``$BERTLAB_DATA/classes.sqlite3``
    or ``~/.local/share/bertlab/classes.sqlite3``), for one server. As in SQLAlchemy, the path
    after ``sqlite:///`` is relative, so an absolute one has four slashes: ``sqlite:////var/x.db``.
    """
    url = url if url is not None else os.environ.get("BERTLAB_STORE", "")
    if url.startswith(("redis://", "rediss://", "unix://")):
        from .redis_store import RedisStore
        return RedisStore(url)
    from .sqlite_store import SqliteStore
    if not url:
        return SqliteStore(default_sqlite_path())
    if url.startswith("sqlite:///"):
        return SqliteStore(Path(url[len("sqlite:///"):]))
    raise ValueError(f"BERTLAB_STORE must be redis://... or sqlite:///path, not {url!r}")

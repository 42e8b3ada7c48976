"""The class store for several servers: one Redis that every app server talks to (redis-py).

Keys of class CODE (the ``{CODE}`` hash tag keeps them in one slot of a Redis Cluster):

- ``bertlab:{CODE}``: a hash: created, expires, closed, max_students, token_hash, view (JSON),
  view_version (HINCRBY), last_question (the last id given out), question (Question JSON or "").
- ``bertlab:{CODE}:students``: the set of student ids.
- ``bertlab:{CODE}:answers:<question id>``: a hash, student id -> answer text.
- ``bertlab:{CODE}:last:<student id>``: the time of the student's last answer (the rate limit).

Every key gets an expiry at the class's expiry, so Redis itself drops a forgotten class. Each
read-modify-write is an optimistic transaction: WATCH the keys it reads, read them, run the base
class's rule check, then MULTI/EXEC the writes; if another server touched a watched key meanwhile,
EXEC fails and the whole step runs again. The students' answers each watch only the class's hash
and their own ``last`` key, so forty students answering at once do not make each other retry.
The clock is the app's (``clock``), not Redis's, so tests can move time; the key expiries are
only for Redis's housekeeping.
"""

from __future__ import annotations

import dataclasses
import json
import math
import time
from typing import Any, Callable

import redis
from redis.backoff import ExponentialBackoff
from redis.retry import Retry

from .store import ClassError, Question, Room, Store


def _key(code: str, *parts: str | int) -> str:
    return ":".join([f"bertlab:{{{code}}}", *map(str, parts)])


def _room(code: str, h: dict[str, str], students: int) -> tuple[Room, str]:
    return Room(code=code, created=float(h["created"]), expires=float(h["expires"]),
                closed=h["closed"] == "1", max_students=int(h["max_students"]),
                students=students, view=json.loads(h["view"]),
                view_version=int(h["view_version"]),
                question=Question.from_json(h.get("question"))), h["token_hash"]


class RedisStore(Store):
    """The class store in Redis (several servers share it).

    Args:
        url: ``redis://host:port/db`` (or ``rediss://``, ``unix://``).
        clock: seconds since the epoch; tests pass their own.
    """

    down_errors = (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError,
                   redis.exceptions.BusyLoadingError)

    def __init__(self, url: str, clock: Callable[[], float] = time.time):
        super().__init__(clock)
        # a down Redis must give the page a message within seconds, not after redis-py's
        # default ten retries
        self.r = redis.Redis.from_url(
            url, decode_responses=True, socket_connect_timeout=2.0, socket_timeout=5.0,
            retry=Retry(ExponentialBackoff(cap=0.5, base=0.05), 2),
            health_check_interval=30)

    def _ttl_ms(self, room: Room) -> int:
        """Milliseconds until the class expires (at least 1): every key's expiry."""
        return max(1, math.ceil((room.expires - self.clock()) * 1000))

    def _transaction(self, keys: list[str], step: Callable[[Any], Any]) -> Any:
        """Runs ``step(pipe)`` with ``keys`` watched until its MULTI/EXEC goes through.

        ``step`` reads through ``pipe`` (immediate while watching), checks, calls
        ``pipe.multi()``, queues its writes and returns ``pipe.execute()``'s result (or returns
        early without writing).
        """
        while True:
            with self.r.pipeline() as pipe:
                try:
                    pipe.watch(*keys)
                    return step(pipe)
                except redis.WatchError:
                    continue

    def _read(self, pipe: Any, code: str) -> tuple[Room, str]:
        h = pipe.hgetall(_key(code))
        if not h:
            raise ClassError("unknown")
        return _room(code, h, pipe.scard(_key(code, "students")))

    # ---- primitives ----

    def _insert(self, room: Room, token_hash: str) -> bool:
        key = _key(room.code)

        def step(pipe: Any) -> bool:
            if pipe.exists(key):
                return False
            pipe.multi()
            pipe.hset(key, mapping={
                "created": repr(room.created), "expires": repr(room.expires), "closed": "0",
                "max_students": room.max_students, "token_hash": token_hash, "view": "{}",
                "view_version": 0, "last_question": 0, "question": ""})
            pipe.pexpire(key, self._ttl_ms(room))
            pipe.execute()
            return True

        return self._transaction([key], step)

    def _load(self, code: str) -> tuple[Room, str] | None:
        pipe = self.r.pipeline(transaction=True)  # one round trip, one consistent snapshot
        h, n = pipe.hgetall(_key(code)).scard(_key(code, "students")).execute()
        return _room(code, h, n) if h else None

    def _purge(self, code: str) -> None:
        keys = list(self.r.scan_iter(match=_key(code) + "*", count=500))
        if keys:
            self.r.delete(*keys)

    def _join(self, code: str, student: str, now: float) -> Room:
        students = _key(code, "students")

        def step(pipe: Any) -> Room:
            room, _ = self._read(pipe, code)
            already = bool(pipe.sismember(students, student))
            self._may_join(room, already, now)
            if not already:
                pipe.multi()
                pipe.sadd(students, student)
                pipe.pexpire(students, self._ttl_ms(room))
                pipe.execute()
                room = dataclasses.replace(room, students=room.students + 1)
            return room

        return self._transaction([_key(code), students], step)

    def _set_view(self, code: str, view_json: str) -> int:
        key = _key(code)

        def step(pipe: Any) -> int:
            room, _ = self._read(pipe, code)
            if json.dumps(room.view, sort_keys=True, ensure_ascii=False) == view_json:
                return room.view_version
            pipe.multi()
            pipe.hset(key, "view", view_json)
            pipe.hincrby(key, "view_version", 1)
            return int(pipe.execute()[1])

        return self._transaction([key], step)

    def _ask(self, code: str, kind: str, spec_json: str, now: float) -> Question:
        key = _key(code)

        def step(pipe: Any) -> Question:
            room, _ = self._read(pipe, code)
            q = Question(id=int(pipe.hget(key, "last_question")) + 1, kind=kind,
                         spec=json.loads(spec_json), asked=now, revealed=False, reveal=None)
            pipe.multi()
            pipe.hset(key, mapping={"last_question": q.id, "question": q.to_json()})
            if room.question is not None:
                pipe.delete(_key(code, "answers", room.question.id))
            pipe.execute()
            return q

        return self._transaction([key], step)

    def _answer(self, code: str, question_id: int, student: str, text: str, now: float) -> None:
        last_key = _key(code, "last", student)
        answers = _key(code, "answers", question_id)

        def step(pipe: Any) -> None:
            room, _ = self._read(pipe, code)
            member = bool(pipe.sismember(_key(code, "students"), student))
            last = pipe.get(last_key)
            self._may_answer(room, question_id, member, None if last is None else float(last),
                             now)
            ttl = self._ttl_ms(room)
            pipe.multi()
            pipe.hset(answers, student, text)
            pipe.pexpire(answers, ttl)
            pipe.set(last_key, repr(now), px=ttl)
            pipe.execute()

        self._transaction([_key(code), last_key], step)

    def _answers(self, code: str, question_id: int) -> list[str]:
        return list(self.r.hvals(_key(code, "answers", question_id)))

    def _answer_of(self, code: str, question_id: int, student: str) -> str | None:
        return self.r.hget(_key(code, "answers", question_id), student)

    def _reveal(self, code: str, question_id: int, answer_json: str) -> Question:
        def step(pipe: Any) -> Question:
            room, _ = self._read(pipe, code)
            q = dataclasses.replace(self._may_reveal(room, question_id), revealed=True,
                                    reveal=json.loads(answer_json))
            pipe.multi()
            pipe.hset(_key(code), "question", q.to_json())
            pipe.execute()
            return q

        return self._transaction([_key(code)], step)

    def _clear(self, code: str) -> None:
        def step(pipe: Any) -> None:
            room, _ = self._read(pipe, code)
            pipe.multi()
            pipe.hset(_key(code), "question", "")
            if room.question is not None:
                pipe.delete(_key(code, "answers", room.question.id))
            pipe.execute()

        self._transaction([_key(code)], step)

    def _close(self, code: str) -> None:
        def step(pipe: Any) -> None:
            self._read(pipe, code)  # a purged class is not brought back as a bare hash
            pipe.multi()
            pipe.hset(_key(code), "closed", "1")
            pipe.execute()

        self._transaction([_key(code)], step)

"""Forty students (issue 19): one teacher and N students follow a lesson on one server while two
fine-tunings run.

Issue 19's budget: 0 errors, 0 lost answers, p95 reaction at most 2 s for the students and 1 s for
the teacher, the server's memory bounded (its peak reported; a bert-base-sized model stays one
copy). Reported: each class size tried (``$BERTLAB_BENCH_CLASS_SIZES``, "5,10,20,40" by default,
in order, stopping after the first size that misses a budget), the largest that meets them all
(the largest of those measured: the sizes need not be monotone on a shared machine),
and (``$BERTLAB_BENCH_SERVERS`` = "1,2") the same class on two servers sharing a Redis store.

Every participant is a :class:`benchmarks.streamlit_client.StreamlitClient`: a browser tab's
websocket session speaking Streamlit's protocol, its widget states, page switches and fragment
polls (a chromium per student would not fit on the machine; see that module). All clients share
one asyncio loop in this process, on the same machine as the server, so their decoding takes CPU
the server would have with real phones (the report gives this process's CPU time).

The lesson, in order (``scenario``):

1. The teacher opens the lesson and starts a class (sidebar "Start a class"); the code is in the
   URL (``class=CODE``). N students open the join link ``/?class=CODE`` within ``JOIN_SPREAD_S``
   (a class scanning the QR code); each lands on the teacher's view.
2. The teacher walks three chapters (Next), switches to the masked-word page, types a sentence,
   hides a word. After each action every student must follow: the server's watcher sees the new
   view and reruns the student's session on it (``ui.classroom.push``).
3. Each student hides a word of its own, once (within ``SPREAD_S`` of each other).
4. The teacher asks the class (what will BERT guess for the hidden word?); the question appears
   on every student's screen (the watcher again); each student types a guess and presses Send
   (an st.form); the teacher's live chart polls the answers; the teacher reveals; the model's
   answer appears on every student's screen.

Two more sessions open the fine-tuning page and press Start before the lesson (the page's own
action: a training thread in the server, polled by the page's fragment every second) and press it
again whenever their run ends, so two runs train throughout.

Measured (``Class``): errors (a run that raised, never finished, a broken connection, a student
that never followed, a question or reveal that never appeared, a traceback in the server's log),
lost answers (sent, with "Answer sent" on the student's screen, vs. the store's count), reaction
times: the teacher's (its action sent -> its run's ``script_finished``), the students' (the
teacher's action sent -> the student's run showing it finished; a student's own action -> its
run finished), p50 and p95, and the server's RSS (its process tree, sampled every 0.25 s): the
peak, and the peak above the idle server with the model loaded. The model is ``offline-en``
(``$BERTLAB_BENCH_CLASS_MODEL=bert-base``: a bert-base-sized checkpoint, random weights, as in
``bench_pages``).

Run: ``.venv/bin/python -m benchmarks bench_class`` (``$BERTLAB_BENCH_CLASS_SIZES``,
``$BERTLAB_BENCH_SERVERS``, ``$BERTLAB_BENCH_CLASS_MODEL`` change the defaults;
``$BERTLAB_BENCH_FINETUNES=0`` leaves the fine-tunings out, to see what they cost;
``$BERTLAB_BENCH_CLASS_ALL=1`` measures every size, also after one missed the budgets).
"""

from __future__ import annotations

import asyncio
import os
import random
import re
import shutil
import statistics
import subprocess
import tempfile
import threading
import time
import tomllib
import urllib.parse
import urllib.request
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from benchmarks.bench_long_input import _free_port, streamlit_server
from benchmarks.streamlit_client import ClientError, StreamlitClient

ROOT = Path(__file__).resolve().parent.parent
SERVE = ("-m", "ui.serve")  # how `make class` starts the app: models loaded before it listens


def _flat(table: dict, prefix: str = "") -> dict[str, str]:
    out = {}
    for k, v in table.items():
        out.update(_flat(v, f"{prefix}{k}.") if isinstance(v, dict) else {f"{prefix}{k}": v})
    return out


# The English texts the benchmark looks for ("class.q.sent"; a table may be named "class.q").
EN = _flat(tomllib.loads((ROOT / "locales" / "en.toml").read_text(encoding="utf-8")))
STUDENT_BUDGET_S, TEACHER_BUDGET_S = 2.0, 1.0
FOLLOW_TIMEOUT_S = 30.0  # a student that has not followed by then counts as an error
JOIN_SPREAD_S = 10.0  # the students open the join link within this many seconds
SPREAD_S = 4.0  # the students' own actions (a mask, an answer) within this many seconds
ALL_SIZES = os.environ.get("BERTLAB_BENCH_CLASS_ALL") == "1"  # go on past a size that misses
FINETUNES = int(os.environ.get("BERTLAB_BENCH_FINETUNES", "2"))  # runs training meanwhile
SENTENCE = "The children walked to school in the rain."
GUESSES = ("umbrella", "park", "morning", "bus", "snow", "rain", "school", "town")
NOT_VIEW = ("class", "presenter")  # URL fields a student does not take from the teacher


@contextmanager
def _redis(log_dir: Path):
    """A throwaway redis-server (no persistence) on a free port; yields its URL."""
    port = _free_port()
    proc = subprocess.Popen(["redis-server", "--port", str(port), "--bind", "127.0.0.1",
                             "--save", "", "--appendonly", "no", "--dir", str(log_dir)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        import redis

        r = redis.Redis(port=port)
        for _ in range(100):
            try:
                r.ping()
                break
            except redis.ConnectionError:
                time.sleep(0.1)
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        proc.terminate()
        proc.wait(timeout=10)


class RssSampler:
    """The summed RSS of some processes and their children, sampled in a thread."""

    def __init__(self, pids: list[int], every_s: float = 0.25):
        import psutil

        self.procs = [psutil.Process(p) for p in pids]
        self.every_s, self.peak, self.samples = every_s, 0, []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)

    def now(self) -> int:
        import psutil

        total = 0
        for p in self.procs:
            try:
                total += sum(q.memory_info().rss for q in [p, *p.children(recursive=True)])
            except psutil.Error:
                pass
        return total

    def _loop(self) -> None:
        while not self._stop.is_set():
            rss = self.now()
            self.peak = max(self.peak, rss)
            self.samples.append(rss)
            self._stop.wait(self.every_s)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()


@dataclass
class Class:
    """What one class of N students measured."""

    n: int
    servers: int
    teacher_s: list[float] = field(default_factory=list)  # the teacher's actions
    follow_s: list[float] = field(default_factory=list)  # teacher's action -> student's run
    own_s: list[float] = field(default_factory=list)  # a student's own action -> its run
    join_s: list[float] = field(default_factory=list)  # opening the join link (a page load)
    errors: list[str] = field(default_factory=list)
    answers_sent: int = 0
    answers_stored: int = 0
    rss_idle: int = 0  # the server(s) with the model loaded, before the class
    rss_peak: int = 0
    finetune_runs: int = 0  # fine-tuning runs started (two at a time)
    client_cpu_s: float = 0.0  # this process's CPU time during the class
    wall_s: float = 0.0

    @property
    def student_s(self) -> list[float]:
        return self.follow_s + self.own_s

    @property
    def lost(self) -> int:
        return self.answers_sent - self.answers_stored

    def meets(self) -> bool:
        return (not self.errors and self.lost == 0 and bool(self.student_s)
                and p95(self.student_s) <= STUDENT_BUDGET_S
                and p95(self.teacher_s) <= TEACHER_BUDGET_S)


def p95(xs: list[float]) -> float:
    if not xs:
        return float("nan")
    xs = sorted(xs)
    return xs[min(len(xs) - 1, max(0, int(round(0.95 * len(xs) + 0.5)) - 1))]


def p50(xs: list[float]) -> float:
    return statistics.median(xs) if xs else float("nan")


def view_of(client: StreamlitClient) -> tuple[str, dict]:
    q = {k: v for k, v in urllib.parse.parse_qs(client.query).items() if k not in NOT_VIEW}
    return client.path, q


async def until(predicate, timeout: float, every: float = 0.05) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        await asyncio.sleep(every)
    return predicate()


def _finished_after(client: StreamlitClient, t0: float) -> float | None:
    """When the client's latest full run finished, if that was after ``t0``."""
    done = [r.finished for r in client.full_runs if r.finished is not None]
    return done[-1] if done and done[-1] >= t0 else None


async def each(c: Class, clients: list[StreamlitClient], work) -> None:
    """``work(client)`` for every client at once; what fails is one error, not the lesson's end."""
    async def one(x: StreamlitClient) -> None:
        try:
            await work(x)
        except Exception as e:  # noqa: BLE001 - every failure is a measured error
            c.errors.append(f"{x.name}: {type(e).__name__}: {e}"[:300])

    await asyncio.gather(*(one(x) for x in clients))


async def followed(c: Class, students: list[StreamlitClient], t0: float, shows, what: str,
                   target=None) -> None:
    """Waits until every student shows ``shows(student)`` after a run that finished after
    ``t0``; records each one's reaction, or an error."""
    async def one(s: StreamlitClient) -> None:
        ok = await until(lambda: shows(s) and _finished_after(s, t0) is not None,
                         FOLLOW_TIMEOUT_S)
        if ok:
            c.follow_s.append(_finished_after(s, t0) - t0)
        else:
            runs = [(round(r.started - t0, 2), r.finished and round(r.finished - t0, 2), r.auto)
                    for r in s.full_runs[-3:]]
            c.errors.append(f"{s.name}: {what}: not shown within {FOLLOW_TIMEOUT_S:g} s "
                            f"(it shows {view_of(s)}, the teacher {target}; its last full runs "
                            f"(start, end, by an auto rerun) from the action: {runs})")

    await asyncio.gather(*(one(s) for s in students))


async def teacher_step(c: Class, teacher: StreamlitClient, students, action, what: str,
                       shows=None) -> None:
    """One teacher action, then every student following it (``shows``: what a student must show;
    default: the teacher's view)."""
    t0 = time.monotonic()
    run = await action()
    record(c, teacher, run, c.teacher_s)
    target = view_of(teacher)
    before = len(c.follow_s)
    await followed(c, students, t0, shows or (lambda s: view_of(s) == target), what, target)
    took = c.follow_s[before:]
    print(f"      {what}: teacher {run.seconds or float('nan'):.2f} s, students max "
          f"{max(took, default=float('nan')):.2f} s ({len(took)}/{len(students)})", flush=True)


def record(c: Class, client: StreamlitClient, run, into: list[float]) -> None:
    if run is None:
        return
    if run.status == "ok":
        into.append(run.seconds)
    else:
        c.errors.append(f"{client.name}: {run.action}: {run.status} {run.exceptions[:1]}")


async def finetuner(base: str, name: str, stop: asyncio.Event, c: Class) -> None:
    """A session that keeps one fine-tuning run going: Start, and Start again when it ended."""
    f = StreamlitClient(base, name=name, run_timeout=300)
    try:
        await f.open("fine_tuning", {"lang": "en"})
        while not stop.is_set():
            if not f.has(key="ft_start") or f.find(key="ft_start").proto.disabled:
                await asyncio.sleep(0.5)
                continue
            run = await f.click(key="ft_start")
            if run.status != "ok":
                c.errors.append(f"{name}: start: {run.status} {run.exceptions[:1]}")
                return
            if EN["ft.busy"] in " ".join(f.texts()):
                c.errors.append(f"{name}: no training slot free")
                return
            c.finetune_runs += 1
            # The page's fragment polls the run; the run's end reruns the page (Start enabled).
            await until(lambda: stop.is_set() or (f.has(key="ft_start") and not f.find(
                key="ft_start").proto.disabled and not f._timers), 600, every=0.5)
    finally:
        c.errors.extend(f.errors)
        await f.close()


async def scenario(c: Class, bases: list[str], store_url: str) -> None:
    rng = random.Random(0)
    stop = asyncio.Event()
    tuners = [asyncio.create_task(finetuner(bases[i % len(bases)], f"finetune{i}", stop, c))
              for i in range(FINETUNES)]
    await asyncio.sleep(8 if FINETUNES else 0)  # the runs past "preparing"
    teacher = StreamlitClient(bases[0], name="teacher")
    students = [StreamlitClient(bases[i % len(bases)], name=f"student{i}",
                                run_timeout=FOLLOW_TIMEOUT_S * 2) for i in range(c.n)]
    try:
        # 1. The class begins.
        await teacher.open("lesson", {"lang": "en"})
        record(c, teacher, await teacher.click(key="w_class_start"), c.teacher_s)
        code = urllib.parse.parse_qs(teacher.query).get("class", [""])[0]
        if not code:
            c.errors.append(f"teacher: no class code after Start ({teacher.texts()[:3]})")
            return
        target = view_of(teacher)

        async def join(s: StreamlitClient) -> None:
            await asyncio.sleep(rng.uniform(0, JOIN_SPREAD_S))
            run = await s.open("", {"class": code})
            record(c, s, run, c.join_s)
            if not await until(lambda: view_of(s) == target, FOLLOW_TIMEOUT_S):
                c.errors.append(f"{s.name}: joined on {view_of(s)}, not the teacher's {target}")

        await each(c, students, join)

        # 2. The teacher leads; the students follow.
        for _ in range(3):
            await teacher_step(c, teacher, students, lambda: teacher.click(key="lesson_next"),
                               "next chapter")
        await teacher_step(c, teacher, students, lambda: teacher.switch_page("masked_lm"),
                           "page switch")
        await teacher_step(c, teacher, students,
                           lambda: teacher.set(key="w_sentence", value=SENTENCE), "sentence")
        words = [o.content for o in teacher.find(key="w_masks").proto.options]
        await teacher_step(c, teacher, students,
                           lambda: teacher.set(key="w_masks", value=[words[-2]]), "mask")

        # 3. Each student hides a word of its own, once.
        async def own_mask(s: StreamlitClient) -> None:
            await asyncio.sleep(rng.uniform(0, SPREAD_S))
            pills = s.find(key="w_masks")
            options = [o.content for o in pills.proto.options]
            record(c, s, await s.set(pills, [rng.choice(options)]), c.own_s)

        await each(c, students, own_mask)

        # 4. A question, the answers, the reveal.
        def asked(s: StreamlitClient) -> bool:
            return any((w.key or "").startswith("class_q_answer_") for w in s.widgets())

        await teacher_step(c, teacher, students, lambda: teacher.click(key="class_q_ask"),
                           "question", shows=asked)
        sent_prefix = EN["class.q.sent"].split("{")[0]
        sent = 0

        async def answer(s: StreamlitClient) -> None:
            nonlocal sent
            await asyncio.sleep(rng.uniform(0, SPREAD_S))
            box = next(w for w in s.widgets() if (w.key or "").startswith("class_q_answer_"))
            await s.set(box, rng.choice(GUESSES))  # (in the form: sent with the button)
            send = next(w for w in s.widgets() if w.kind == "button" and w.proto.is_form_submitter)
            run = await s.set(send)
            record(c, s, run, c.own_s)
            if run.status == "ok" and any(x.startswith(sent_prefix) for x in s.texts()):
                sent += 1
            elif run.status == "ok":
                c.errors.append(f"{s.name}: answer not confirmed: {s.texts()[:4]}")

        await each(c, students, answer)
        c.answers_sent = sent
        await asyncio.sleep(1.5)  # the teacher's live chart polls the answers
        qid = room_question(store_url, code)
        yours = EN["class.q.yours"].split("{")[0]
        await teacher_step(c, teacher, students, lambda: teacher.click(key="class_q_reveal"),
                           "reveal", shows=lambda s: any(x.startswith(yours) for x in s.texts()))
        if qid is not None:
            from ui.classroom.store import open_store

            c.answers_stored = sum(open_store(store_url).answers(code, qid).values())
    finally:
        stop.set()
        for s in [teacher, *students]:
            c.errors.extend(s.errors)
        await asyncio.gather(*(s.close() for s in [teacher, *students]),
                             return_exceptions=True)
        await asyncio.gather(*tuners, return_exceptions=True)


def room_question(store_url: str, code: str) -> int | None:
    """The id of the class's open question, from the store (as the server sees it)."""
    from ui.classroom.store import open_store

    q = open_store(store_url).room(code).question
    return None if q is None else q.id


async def _warm_up(base: str) -> None:
    """The model loaded and the pages of the lesson opened once (a teacher's preparation)."""
    w = StreamlitClient(base, name="warm-up", run_timeout=300)
    try:
        for page in ("lesson", "masked_lm", "fine_tuning"):
            await w.open(page, {"lang": "en", "text": SENTENCE})
    finally:
        await w.close()


def measure(n: int, servers: int, model: str | None, tmp: Path) -> Class:
    c = Class(n, servers)
    with ExitStack() as stack:
        if servers > 1:
            store_url = stack.enter_context(_redis(tmp))
        else:
            store_url = f"sqlite:///{tmp / f'classes-{n}.sqlite3'}"
        env = {"BERTLAB_STORE": store_url, **({"BERTLAB_MODEL": model} if model else {})}
        started = [stack.enter_context(streamlit_server(env, log_dir=tmp, command=SERVE))
                   for _ in range(servers)]
        bases = [b for b, _ in started]
        for b in bases:
            asyncio.run(_warm_up(b))
        sampler = stack.enter_context(RssSampler([p.pid for _, p in started]))
        c.rss_idle = sampler.now()
        cpu0, t0 = time.process_time(), time.monotonic()
        try:
            asyncio.run(asyncio.wait_for(scenario(c, bases, store_url), 1800))
        except (ClientError, TimeoutError, OSError) as e:
            c.errors.append(f"scenario: {type(e).__name__}: {e}")
        c.client_cpu_s, c.wall_s = time.process_time() - cpu0, time.monotonic() - t0
        c.rss_peak = sampler.peak
        for _, p in started:
            log = p.log.read_text(errors="replace")
            c.errors += [f"server log: {m}" for m in re.findall(r"Traceback.*\n.*", log)[:5]]
    return c


def report(c: Class) -> None:
    mb = 1024 * 1024
    print(f"   {c.n} students, {c.servers} server(s): {c.wall_s:.0f} s; "
          f"teacher p50 {p50(c.teacher_s):.2f} p95 {p95(c.teacher_s):.2f} s "
          f"({len(c.teacher_s)}); students p50 {p50(c.student_s):.2f} p95 {p95(c.student_s):.2f} s"
          f" ({len(c.student_s)}: following {p95(c.follow_s):.2f}, own {p95(c.own_s):.2f}); "
          f"joins p95 {p95(c.join_s):.2f} s; errors {len(c.errors)}; answers {c.answers_sent} "
          f"sent, {c.answers_stored} stored; RSS idle {c.rss_idle / mb:.0f} MB, peak "
          f"{c.rss_peak / mb:.0f} MB; fine-tuning runs {c.finetune_runs}; client CPU "
          f"{c.client_cpu_s:.0f} s; load {os.getloadavg()[0]:.1f}", flush=True)
    for e in c.errors[:8]:
        print(f"      {e}", flush=True)


def rows_for(c: Class, label: str) -> list[dict]:
    name = (f"class of {c.n}, {c.servers} server{'s' if c.servers > 1 else ''}, "
            f"{FINETUNES} fine-tunings ({label})")
    mb = 1024 * 1024
    t95, s95 = p95(c.teacher_s), p95(c.student_s)
    return [
        {"name": f"{name}: teacher p95 reaction", "ours_s": t95, "ref_s": TEACHER_BUDGET_S,
         "ratio": t95 / TEACHER_BUDGET_S, "unit": "s", "p50_s": p50(c.teacher_s),
         "goal": f"< 1.0x (the {TEACHER_BUDGET_S:g} s budget)"},
        {"name": f"{name}: student p95 reaction", "ours_s": s95, "ref_s": STUDENT_BUDGET_S,
         "ratio": s95 / STUDENT_BUDGET_S, "unit": "s", "p50_s": p50(c.student_s),
         "follow_p95_s": p95(c.follow_s), "own_p95_s": p95(c.own_s),
         "join_p95_s": p95(c.join_s), "goal": f"< 1.0x (the {STUDENT_BUDGET_S:g} s budget)"},
        {"name": f"{name}: errors + lost answers", "ours_s": len(c.errors) + c.lost, "ref_s": 1,
         "ratio": None, "unit": "", "errors": c.errors[:20], "answers_sent": c.answers_sent,
         "answers_stored": c.answers_stored, "goal": "0"},
        {"name": f"{name}: server RSS peak (MB)", "ours_s": c.rss_peak / mb,
         "ref_s": c.rss_idle / mb, "ratio": c.rss_peak / max(1, c.rss_idle), "unit": "MB",
         "goal": "peak / the idle server with its model loaded", "finetune_runs": c.finetune_runs,
         "client_cpu_s": c.client_cpu_s, "wall_s": c.wall_s},
    ]


def run() -> list[dict]:
    try:
        import psutil  # noqa: F401
        import websockets  # noqa: F401
    except ImportError as e:
        print(f"   skipped: {e}")
        return []
    sizes = [int(x) for x in os.environ.get("BERTLAB_BENCH_CLASS_SIZES", "5,10,20,40").split(",")]
    servers = [int(x) for x in os.environ.get("BERTLAB_BENCH_SERVERS", "1").split(",")]
    label = os.environ.get("BERTLAB_BENCH_CLASS_MODEL", "offline-en")
    rows = []
    tmp = Path(tempfile.mkdtemp(prefix="bench-class-"))
    try:
        model = None
        if label == "bert-base":
            from benchmarks.bench_pages import _bert_base_checkpoint

            model = str(_bert_base_checkpoint(tmp / "bert-base"))
        for k in servers:
            if k > 1 and not shutil.which("redis-server"):
                print("   two servers: skipped (redis-server is not installed)")
                continue
            largest = 0
            for n in sizes:
                c = measure(n, k, model, tmp)
                report(c)
                rows += rows_for(c, label)
                if c.meets():
                    largest = n
                elif not ALL_SIZES:
                    break
            print(f"   largest class meeting the budgets on {k} server(s): {largest or 'none'}"
                  f" (of {sizes})", flush=True)
            rows.append({"name": f"largest class meeting the budgets, {k} server(s), "
                                 f"{FINETUNES} fine-tunings ({label})",
                         "ours_s": largest, "ref_s": 40, "ratio": largest / 40, "unit": "",
                         "goal": ">= 1.0x (forty students)", "sizes": sizes})
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return rows


if __name__ == "__main__":
    for row in run():
        print(row)

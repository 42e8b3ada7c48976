"""A class in a real browser (chromium): a teacher and two students, three browser contexts on one
server (the tiny checkpoint, a SQLite store in a temporary file).

The students join (one by the link, one by typing the code) and follow the teacher through a
sentence edit, a page switch, a layer change and a lesson chapter; the time from the teacher's
change to the student's run finished is measured and must stay under ``FOLLOW_BUDGET_S``. One
student turns "Follow the teacher" off, explores another page while the teacher moves on, turns
it on and comes back.

Then the class's questions: the teacher, in presenter mode, hides a word on the masked-words page
and asks; both students see the question without a click and send different guesses (one of them
HTML, which the teacher's live chart must draw as text), the teacher's chart counts both without a
click, and the reveal shows BERT's answer on all three screens, the same word the page draws as
its top guess. Cleared, a yes/no question on the next-sentence page starts from no answers. A
student with a forged ``bertlab_teacher_<CODE>`` cookie, and one who opens the teacher's own URL,
stay students (no teacher button), and the teacher's view does not move.

Then the server is restarted on the same port and the same SQLite file: the teacher is still the
teacher (its cookie), the students still in the class, the open question still open with its
answers, and they follow the teacher's next change. Screenshots (teacher's sidebar with the QR
code, a student's, the phone's, the teacher's live answers) go to $BERTLAB_SCREENSHOTS as
``class-*``.
"""

from __future__ import annotations

import contextlib
import os
import re
import secrets
import statistics
import time

import pytest

from browser_support import (RUN_TIMEOUT, SHOTS, choose, no_errors, pwned,
                             screenshot, sync_api, wait_idle)
from conftest import _free_port, streamlit_process
from ui.classroom.store import open_store

CAT = "The cat sat on the mat because it was tired."
# Median seconds from the teacher's view published to a student's app taking it (the server's
# watcher reads the class every 0.25 s and reruns the student); the teacher's run before it
# publishes and the student's run of the page come on top (measured and reported, with a budget
# for a loaded 2-core machine).
APPLY_BUDGET_S = 1.0
SHOWN_BUDGET_S = 8.0  # the teacher's action -> the student's run finished
SIDEBAR = '[data-testid="stSidebar"]'
PANEL = ".st-key-class_q"  # the class's question, above the page
HTML_ANSWER = "<b>x</b><script>window.__pwned=1</script>"  # a typed answer: shown as text


@contextlib.contextmanager
def class_server(model, db, port: int, log):
    """The app on ``port`` with the class store in SQLite file ``db`` (the same port and file
    again: a restarted server)."""
    env = {k: v for k, v in os.environ.items() if k not in ("BERTLAB_MODEL", "BERTLAB_STORE")}
    env.update(HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1", TOKENIZERS_PARALLELISM="false",
               BERTLAB_MODEL=str(model), BERTLAB_STORE=f"sqlite:///{db}")
    with streamlit_process(env, log, port=port) as (_, base):
        yield base


@pytest.fixture
def setup(tmp_path):
    from app_support import write_app_checkpoint

    return write_app_checkpoint(tmp_path / "bert"), tmp_path / "classes.sqlite3", tmp_path


def idle(pg) -> None:
    pg.wait_for_selector('[data-testid="stApp"][data-test-script-state="notRunning"]',
                         timeout=RUN_TIMEOUT)


def drawn(pg) -> None:
    """wait_idle for a page that may be hidden under an open class question (no h1 then)."""
    pg.wait_for_selector(f"h1, {PANEL}", timeout=RUN_TIMEOUT)
    idle(pg)
    pg.wait_for_timeout(300)


class Watch:
    """Times one teacher change: from the teacher's action (:meth:`start`) to the store's new
    view version (the teacher's run published it), to each student's app taking it (its URL
    first changed: the server pushed the new view and it applied it), and to its run finished."""

    def __init__(self, store, code: str, students):
        self.store, self.code, self.students = store, code, students
        self.took: list[tuple[float, float, float]] = []  # (published, applied, shown) each

    def start(self) -> None:
        self.version = self.store.view(self.code)[0]
        self.before = [pg.url for pg in self.students]
        self.since = time.monotonic()

    def follows(self, pattern: str, students=None, timeout: float = 30) -> None:
        """Waits until every student's URL matches ``pattern`` with its run finished."""
        pages = students or self.students
        published, applied, shown = None, {}, {}
        deadline = self.since + timeout
        while len(shown) < len(pages) and time.monotonic() < deadline:
            now = time.monotonic() - self.since
            if published is None and self.store.view(self.code)[0] != self.version:
                published = now
            for i, pg in enumerate(pages):
                url = pg.url
                if i not in applied and url != self.before[self.students.index(pg)]:
                    applied[i] = now
                state = pg.locator('[data-testid="stApp"]').get_attribute(
                    "data-test-script-state")
                if i not in shown and re.search(pattern, url) and state == "notRunning":
                    shown[i] = now
            pages[0].wait_for_timeout(20)
        missing = [pg.url for i, pg in enumerate(pages) if i not in shown]
        assert not missing, f"{missing} did not come to match {pattern!r} in {timeout} s"
        for i, pg in enumerate(pages):
            no_errors(pg)
            got = applied.get(i, shown[i])
            self.took.append((min(got, published if published is not None else got), got,
                              shown[i]))


def arrive(pg, pattern: str, timeout: float = 30) -> None:
    """Waits until ``pg``'s URL matches ``pattern`` with its run finished."""
    sync_api.expect(pg).to_have_url(re.compile(pattern), timeout=timeout * 1000)
    idle(pg)
    no_errors(pg)


def sidebar_button(pg, name: str):
    return pg.locator(SIDEBAR).get_by_role("button", name=name)


def follow_toggle(pg):
    return pg.locator(SIDEBAR).locator('[data-testid="stCheckbox"]').filter(
        has_text="Follow the teacher")


def toggle(pg, label: str):
    return pg.locator(SIDEBAR).locator('[data-testid="stCheckbox"]').filter(has_text=label)


def nav(pg, page: str) -> None:
    """Clicks the sidebar's link to ``page`` (opening the sidebar when presenter mode closed it).
    """
    box = pg.locator(SIDEBAR).bounding_box()
    if box is None or box["x"] + box["width"] <= 0:  # collapsed: slid off the screen
        pg.locator('[data-testid="stExpandSidebarButton"]').click()
    pg.locator(SIDEBAR).get_by_role("link", name=page).click()


def ask(pg) -> None:
    pg.locator(PANEL).get_by_role("button", name="Ask the class").click()
    sync_api.expect(pg.locator(PANEL).get_by_role("button", name="Reveal BERT's answer")
                    ).to_be_visible(timeout=RUN_TIMEOUT)
    idle(pg)


def chart_labels(pg, inside: str) -> list[str]:
    """The y labels, top first, of the first chart in ``inside`` (a CSS selector)."""
    return pg.evaluate("""inside => {
        const chart = document.querySelector(inside + ' [data-testid="stPlotlyChart"]');
        if (!chart) return [];
        return [...chart.querySelectorAll('.ytick text')]
            .sort((a, b) => a.getBoundingClientRect().top - b.getBoundingClientRect().top)
            .map(e => e.textContent);
    }""", inside)


# The page's own guesses (a bar list, charts.bars_html), outside the class's question.
PAGE_GUESSES = """() => [...document.querySelectorAll('[data-testid="stMain"] .bl-bars')]
    .filter(b => !b.closest('.st-key-class_q'))
    .map(b => [...b.querySelectorAll('.bl-bars-label')].map(e => e.textContent))[0] || []"""


def teacher_controls(pg) -> int:
    """How many of the teacher's buttons (close, ask, reveal, clear, ask again) ``pg`` shows."""
    names = ("Close the class", "Ask the class", "Reveal BERT's answer", "Clear",
             "Ask about this view")
    return sum(pg.get_by_role("button", name=n, exact=True).count() for n in names)


def test_two_students_follow_their_teacher_through_a_restart(browser, setup):
    model, db, tmp = setup
    port = _free_port()
    log = tmp / "server.log"
    contexts = []

    def context(width: int, height: int = 900):
        c = browser.new_context(viewport={"width": width, "height": height}, locale="en-US")
        contexts.append(c)
        return c.new_page()

    try:
        with class_server(model, db, port, log) as base:
            teacher, s1, s2 = context(1366), context(390, 844), context(1366)
            teacher.goto(base + "/")
            wait_idle(teacher)
            sidebar_button(teacher, "Start a class").click()
            sidebar_button(teacher, "Close the class").wait_for(timeout=RUN_TIMEOUT)
            idle(teacher)
            code = re.search(r"[?&]class=([A-Z0-9]{6})", teacher.url).group(1)
            assert code in teacher.locator(SIDEBAR).inner_text()
            sync_api.expect(teacher.locator(f"{SIDEBAR} img").first).to_be_visible()  # the QR
            screenshot(teacher, "class-teacher-sidebar")

            s1.goto(f"{base}/?class={code}")  # the join link (a phone)
            wait_idle(s1)
            # The line above the page says the class and that it follows (a phone's sidebar is
            # closed), below Streamlit's header, not hidden under it.
            banner = s1.locator(".st-key-bl_class_banner")
            sync_api.expect(banner).to_contain_text(code, timeout=RUN_TIMEOUT)
            header = s1.locator('[data-testid="stHeader"]').bounding_box()
            assert banner.bounding_box()["y"] >= header["y"] + header["height"], (
                banner.bounding_box(), header)
            s2.goto(base + "/")  # the code, typed
            wait_idle(s2)
            s2.locator(SIDEBAR).get_by_label("Join a class").fill(code.lower())
            sidebar_button(s2, "Join").click()
            follow_toggle(s2).wait_for(timeout=RUN_TIMEOUT)
            idle(s2)
            assert f"class={code}" in s2.url and f"class={code}" in s1.url
            # The teacher's screen counts them as they join, without the teacher doing anything.
            sync_api.expect(teacher.locator(SIDEBAR)).to_contain_text(
                "2 of 60 students joined", timeout=10_000)
            watch = Watch(open_store(f"sqlite:///{db}"), code, [s1, s2])
            screenshot(s2, "class-student-sidebar")

            # 1. a sentence edit
            box = teacher.locator(f"{SIDEBAR} textarea").first
            box.fill(CAT)
            watch.start()
            box.press("Control+Enter")
            watch.follows(r"[?&]text=The\+cat")
            idle(teacher)
            assert "2 of 60 students joined" in teacher.locator(SIDEBAR).inner_text()

            # 2. a page switch
            watch.start()
            teacher.locator(SIDEBAR).get_by_role("link", name="Attention").click()
            watch.follows(r"/attention\?")
            idle(teacher)

            # 3. a layer change
            teacher.locator('[data-testid="stMain"] [data-testid="stSelectbox"]').filter(
                has_text="Layer").locator("input").fill("1")
            watch.start()
            teacher.keyboard.press("Enter")
            watch.follows(r"/attention\?.*layer=1")
            idle(teacher)

            # 4. the lesson, then its next chapter
            watch.start()
            teacher.locator(SIDEBAR).get_by_role("link", name="Lesson").click()
            watch.follows(r"/lesson\?")
            idle(teacher)
            watch.start()
            teacher.get_by_role("button", name="Next chapter").first.click()
            watch.follows(r"/lesson\?.*chapter=2")
            idle(teacher)
            SHOTS.mkdir(parents=True, exist_ok=True)
            s1.screenshot(path=str(SHOTS / "class-student-phone.png"))  # at the phone's 390 px

            # 5. s2 explores alone while the teacher moves on, then comes back
            follow_toggle(s2).locator("label").click()
            sync_api.expect(s2.locator(SIDEBAR)).to_contain_text("Exploring on your own",
                                                                 timeout=RUN_TIMEOUT)
            s2.locator(SIDEBAR).get_by_role("link", name="Tokenization").click()
            arrive(s2, r"/tokenization")
            watch.start()
            teacher.get_by_role("button", name="Next chapter").first.click()
            watch.follows(r"/lesson\?.*chapter=3", [s1])
            s2.wait_for_timeout(1500)  # the server's watcher reads the class six times
            assert "/tokenization" in s2.url and "chapter=3" not in s2.url
            follow_toggle(s2).locator("label").click()
            arrive(s2, r"/lesson\?.*chapter=3")

            # 6. a question: the teacher, presenting, hides a word and asks the class
            watch.start()
            nav(teacher, "Masked words")
            watch.follows(r"/masked_lm\?")
            idle(teacher)
            toggle(teacher, "Presenter mode").locator("label").click()
            arrive(teacher, r"presenter=1")
            # presenter mode closes the sidebar and the page slides left: a click waits for it
            teacher.wait_for_function("""() => {
                const side = document.querySelector('[data-testid="stSidebar"]');
                return side.getBoundingClientRect().right <= 0 && !document.getAnimations()
                    .some(a => a.playState === "running");
            }""", timeout=10_000)
            watch.start()
            choose(teacher, "cat")
            watch.follows(r"/masked_lm\?.*masks=2")
            idle(teacher)
            asked = time.monotonic()
            ask(teacher)
            guess_box = [pg.locator(PANEL).get_by_label("Your guess (one word)") for pg in (s1, s2)]
            for box in guess_box:  # no click: the server pushes the question to the students
                sync_api.expect(box).to_be_visible(timeout=RUN_TIMEOUT)
            question_s = time.monotonic() - asked
            for pg, box, text in zip((s1, s2), guess_box, (HTML_ANSWER, "dog")):
                idle(pg)
                box.fill(text)
                box.press("Enter")
                sync_api.expect(pg.locator(PANEL)).to_contain_text(f"Answer sent: {text}",
                                                                  timeout=RUN_TIMEOUT)
            # the teacher's live chart, without a click; the HTML answer drawn as text
            sync_api.expect(teacher.locator(PANEL)).to_contain_text("2 of 2 students answered",
                                                                    timeout=10_000)
            teacher.locator(f'{PANEL} [data-testid="stPlotlyChart"] .ytick text').first.wait_for(
                timeout=RUN_TIMEOUT)  # (the page's first chart: its code may still be loading)
            labels = chart_labels(teacher, PANEL)
            assert "dog" in labels and HTML_ANSWER[:16] in " ".join(labels), labels
            assert not pwned(teacher) and not pwned(s2)
            for pg in (teacher, s1, s2):  # the page, which shows BERT's guesses, waits
                assert pg.evaluate(PAGE_GUESSES) == []
                sync_api.expect(pg.locator(PANEL)).to_contain_text("answer")
            screenshot(teacher, "class-teacher-answers")
            teacher.locator(PANEL).get_by_role("button", name="Reveal BERT's answer").click()
            sync_api.expect(teacher.locator(PANEL)).to_contain_text("BERT's top guess",
                                                                    timeout=RUN_TIMEOUT)
            idle(teacher)
            word = re.search(r"BERT's top guess: (.+)", teacher.locator(PANEL).inner_text())
            assert word, teacher.locator(PANEL).inner_text()
            word = word.group(1).strip()
            for pg in (teacher, s2):  # the page is back: BERT's answer is its own top guess
                pg.wait_for_function(f"({PAGE_GUESSES})().length > 0", timeout=RUN_TIMEOUT)
                assert pg.evaluate(PAGE_GUESSES)[0] == word, (pg.evaluate(PAGE_GUESSES), word)
            for pg in (s1, s2):
                sync_api.expect(pg.locator(PANEL)).to_contain_text(f"BERT's top guess: {word}",
                                                                  timeout=RUN_TIMEOUT)
                idle(pg)
                no_errors(pg)
            s1.screenshot(path=str(SHOTS / "class-student-phone-reveal.png"))

            # 7. clear, then a yes/no question on the next-sentence page: a fresh tally
            teacher.locator(PANEL).get_by_role("button", name="Clear").click()
            for pg in (s1, s2):
                sync_api.expect(pg.locator(PANEL)).to_have_count(0, timeout=RUN_TIMEOUT)
            idle(teacher)
            watch.start()
            nav(teacher, "Next sentence")
            watch.follows(r"/next_sentence\?")
            idle(teacher)
            ask(teacher)
            sync_api.expect(teacher.locator(PANEL)).to_contain_text("0 of 2 students answered")
            for pg, choice in ((s1, "Yes, B follows A"), (s2, "No, B is random")):
                sync_api.expect(pg.locator(PANEL)).to_contain_text(
                    "Does sentence B follow sentence A?", timeout=RUN_TIMEOUT)
                idle(pg)
                assert "Answer sent" not in pg.locator(PANEL).inner_text()
                choose(pg, choice)
                sync_api.expect(pg.locator(PANEL)).to_contain_text(f"Answer sent: {choice}",
                                                                  timeout=RUN_TIMEOUT)
            sync_api.expect(teacher.locator(PANEL)).to_contain_text("2 of 2 students answered",
                                                                    timeout=10_000)
            assert sorted(chart_labels(teacher, PANEL)) == ["No, B is random",
                                                            "Yes, B follows A"]

            # 8. a student forging the teacher's cookie, one opening the teacher's URL: students
            version, teacher_url = watch.store.view(code)[0], teacher.url
            s2.context.add_cookies([{"name": f"bertlab_teacher_{code}", "url": base,
                                     "value": secrets.token_urlsafe(16)}])
            s2.reload()
            s1.goto(teacher_url)
            for pg in (s1, s2):
                drawn(pg)
                sync_api.expect(pg.locator(PANEL)).to_contain_text(
                    "Does sentence B follow sentence A?", timeout=RUN_TIMEOUT)
                idle(pg)
                assert not teacher_controls(pg), teacher_controls(pg)
            assert follow_toggle(s2).count() == 1
            assert watch.store.view(code)[0] == version and teacher.url == teacher_url
            no_errors(teacher)
            assert teacher_controls(teacher) >= 3  # Close the class, Reveal, Clear

        # 9. the server restarts on the same file: everyone carries on with the same code, the
        # question still open with its answers
        with class_server(model, db, port, log):
            for pg in (teacher, s1, s2):  # the page reconnects by itself; a reload is the same
                pg.reload()
                drawn(pg)
            screenshot(teacher, "class-teacher-after-restart")
            assert f"class={code}" in teacher.url, teacher.url
            assert f"class={code}" in s1.url and f"class={code}" in s2.url
            sync_api.expect(sidebar_button(teacher, "Close the class")).to_have_count(
                1, timeout=RUN_TIMEOUT)
            assert s1.locator(SIDEBAR).get_by_role("button", name="Close the class").count() == 0
            sync_api.expect(teacher.locator(PANEL)).to_contain_text("2 of 2 students answered")
            for pg in (s1, s2):
                assert "Does sentence B follow sentence A?" in pg.locator(PANEL).inner_text()
                sync_api.expect(pg.locator(f'{PANEL} [data-testid="stButtonGroup"] button')
                                ).to_have_text(["Yes, B follows A", "No, B is random"])
            teacher.locator(PANEL).get_by_role("button", name="Reveal BERT's answer").click()
            sync_api.expect(teacher.locator(PANEL)).to_contain_text("The model thinks B",
                                                                    timeout=RUN_TIMEOUT)
            idle(teacher)
            verdict = re.search(r"The model thinks B.*", teacher.locator(PANEL).inner_text()
                                ).group(0)
            for pg in (s1, s2):
                sync_api.expect(pg.locator(PANEL)).to_contain_text(verdict, timeout=RUN_TIMEOUT)
            watch.start()
            nav(teacher, "Lesson")
            watch.follows(r"/lesson\?")
            no_errors(teacher)
    finally:
        for c in contexts:
            c.close()

    took = watch.took
    delay = [applied - published for published, applied, _ in took]
    shown = [s for _, _, s in took]
    print(f"\nfollow latency over {len(took)} student views: published -> applied median "
          f"{statistics.median(delay):.2f} s (max {max(delay):.2f}); teacher's action -> "
          f"published median {statistics.median(p for p, _, _ in took):.2f} s; -> student's run "
          f"finished median {statistics.median(shown):.2f} s (max {max(shown):.2f}); teacher's "
          f"Ask -> both students see the question {question_s:.2f} s")
    assert statistics.median(delay) < APPLY_BUDGET_S, took
    assert statistics.median(shown) < SHOWN_BUDGET_S, took

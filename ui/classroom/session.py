"""The class as this browser session takes part in it (issue 19): who it is, the sidebar's "Class"
section, the teacher publishing its view and the students following it.

A teacher presses "Start a class" and gets a code (6 characters), a QR code and a join link
``<app>/?class=CODE``; a student types the code or opens the link. A following student's screen
shows what the teacher's shows (page, sentence, model, layer, head, masks, chapter, ...: every
field of ``ui.state.State`` but ``presenter``) within a second; "Follow the teacher" off lets a
student explore alone, and on again brings them back to the teacher's view.

Where the membership lives:

* ``st.session_state[MEMBER]`` (a :class:`Member`) for the session;
* the URL's ``class=CODE``, rewritten on every run like ``ui.state``'s fields (a page switch
  clears the query string), so a reload or a reconnection after a server restart finds the class;
* cookies, for a new session on the same code: the teacher's token in ``bertlab_teacher_<CODE>``
  (never in a URL), the student's opaque id in ``bertlab_student`` (joining again with it is the
  same student). A cookie only says who someone claims to be: a teacher is whoever
  ``store.is_teacher(code, token)`` accepts, so a student's link or a forged cookie makes a student.

Following costs a student's session nothing while nothing changes: each student run reads the
class once (:func:`_check`) and registers with the server's watcher (``ui.classroom.push``), which
reads each class a few times a second and reruns its students' sessions when the teacher's view
(for followers: on the teacher's page) or the question changed. Where the server cannot push
(AppTest), a student's sidebar polls instead (:func:`_poll`, an ``st.fragment`` every
``POLL_S``). The teacher publishes its view when its page has run, only when it changed
(:func:`after_page`).

app.py calls :func:`frame` (after st.navigation), :func:`sidebar` (after its own sidebar) and
:func:`after_page`.
"""

from __future__ import annotations

import html
import os
import re
import secrets
import time
from contextlib import contextmanager
from dataclasses import dataclass
from io import BytesIO
from pathlib import Path
from urllib.parse import quote, urlsplit

import streamlit as st

from .. import state
from ..i18n import t
from . import push
from .store import ClassError, Room, Store, open_store

MEMBER = "_bl_class_member"  # st.session_state: this session's Member (absent: not in a class)
SEEN = "_bl_class_seen"  # st.session_state: [view_version applied, question key seen]
PUBLISHED = "_bl_class_published"  # st.session_state (teacher): the view last published
PAGE = "_bl_class_page"  # st.session_state: the url_path of the page this run shows
TRIED = "_bl_class_tried"  # st.session_state: the URL's code already tried (once per session)
NOTICE = "_bl_class_notice"  # st.session_state: a ClassError reason to show once
PARAM = "class"  # the URL parameter of a join link
STUDENT_COOKIE = "bertlab_student"
TEACHER_COOKIE = "bertlab_teacher_{code}"
COOKIE_JS = ("<script>document.cookie = '{name}={value}; path=/; max-age={age}; "
             "SameSite=Strict';</script>")
COOKIE_VALUE = re.compile(r"^[A-Za-z0-9_-]{8,64}$")  # an id or token as this module makes them
POLL_S = 0.5  # a student's poll where the server cannot push (see ui.classroom.push)
JOINED_S = 2.0  # how often the teacher's screen counts the students who joined
SETTLE_S = 3.0  # after applying a view, how long a follower is held to it (see _check)
APPLIED = "_bl_class_applied"  # st.session_state: time.monotonic() of the last view applied
PAGES = Path(__file__).resolve().parent.parent.parent / "pages"
CLASS_URL_ENV = "BERTLAB_CLASS_URL"  # the app's address students reach (set by `make class`)

CSS = """<style>
.bl-class-code { font-size: 2.6rem; font-weight: 700; letter-spacing: 0.18em; margin: 0;
  font-family: ui-monospace, SFMono-Regular, Menlo, monospace; line-height: 1.1; }
.st-key-bl_class_big .bl-class-code { font-size: 5.5rem; margin-top: 2rem; }
.st-key-bl_class_big .bl-class-url { font-size: 1.3rem; word-break: break-all; }
.st-key-bl_class_banner { margin-top: 1.5rem; }
</style>"""
# (The banner's margin: a page's first line sits 2.5rem from the top, under Streamlit's 3.75rem
# header; a title's own margin clears it, the class line above the title needs 1.5rem more.)


@dataclass
class Member:
    """This session's part in a class."""

    code: str
    role: str  # "teacher" | "student"
    token: str = ""  # the teacher's token (never in a URL)
    student: str = ""  # the student's opaque id
    follow: bool = True  # a student follows the teacher's view (the toggle)


@st.cache_resource(show_spinner=False)
def _open(url: str | None) -> Store:
    return open_store(url)


def store() -> Store:
    """The class store of $BERTLAB_STORE (one per server process and store address).

    Raises:
        ClassError: ``store_down`` when it cannot be opened (a malformed $BERTLAB_STORE, a
            folder that cannot be written); the next call tries again.
    """
    try:
        return _open(os.environ.get("BERTLAB_STORE") or None)
    except ClassError:
        raise
    except Exception as e:  # what opening a file or a connection can raise
        raise ClassError("store_down") from e


def member() -> Member | None:
    """This session's membership, None when it is in no class."""
    return st.session_state.get(MEMBER)


def normalise(code: str) -> str:
    """A typed code as the store spells codes: upper case, without spaces or dashes."""
    return re.sub(r"[\s-]+", "", str(code or "")).upper()[:20]


def _cookies() -> dict:
    """The cookies the browser sent when this session began (a seam for the tests)."""
    try:
        return dict(st.context.cookies)
    except Exception:  # no browser (a bare script run)
        return {}


def _cookie_js(name: str, value: str, age: float) -> str:
    return COOKIE_JS.format(name=name, value=value, age=max(0, int(age)))


def _page_file(url_path: str) -> str | None:
    """The page script of a page's URL path ("" is the default page, home), None if none."""
    name = url_path or "home"
    if re.fullmatch(r"[a-z_]{1,40}", name) and (PAGES / f"{name}.py").is_file():
        return f"pages/{name}.py"
    return None


def _view(page_path: str) -> dict:
    """What a teacher publishes: the page and the view's URL fields, presenter mode left out."""
    query = {k: v for k, v in state.to_query(state.current()).items() if k != "presenter"}
    return {"page": page_path, "query": query}


def _question_key(room: Room):
    q = room.question
    return None if q is None else [q.id, bool(q.revealed)]


def _fail(reason: str) -> None:
    """Shows ``class.err.<reason>`` on the next sidebar drawn."""
    st.session_state[NOTICE] = reason


# ----------------------------------------------------------------------------- joining, leaving

def _student_id() -> str:
    """This browser's student id: from its cookie, else a new one (set as the cookie)."""
    ss = st.session_state
    if "_bl_class_student" not in ss:
        found = str(_cookies().get(STUDENT_COOKIE, ""))
        ss["_bl_class_student"] = found if COOKIE_VALUE.match(found) else secrets.token_urlsafe(16)
    return ss["_bl_class_student"]


def _enter(m: Member, room: Room) -> None:
    ss = st.session_state
    ss[MEMBER] = m
    ss[SEEN] = [0, _question_key(room)]  # a student applies the teacher's current view first
    ss.pop(PUBLISHED, None)
    ss.pop(NOTICE, None)
    ss[TRIED] = m.code
    st.query_params[PARAM] = m.code


def start() -> None:
    """on_click of "Start a class": a new class with this session as its teacher."""
    try:
        room, token = store().create()
    except ClassError as e:
        return _fail(e.reason)
    _enter(Member(room.code, "teacher", token=token), room)


def join(code: str) -> bool:
    """Joins class ``code`` as a student; False (and a notice) when that fails."""
    code = normalise(code)
    try:
        room = store().join(code, _student_id())
    except ClassError as e:
        _fail(e.reason)
        return False
    _enter(Member(room.code, "student", student=_student_id()), room)
    return True


def _join_typed() -> None:
    if join(st.session_state.get("w_class_code", "")):
        st.session_state["w_class_code"] = ""


def _leave(reason: str | None = None) -> None:
    """Ends this session's membership (and the class itself when the teacher closes it)."""
    ss = st.session_state
    m = ss.pop(MEMBER, None)
    if m is not None and m.role == "student" and push.available():
        _watcher().forget(push.session_id())
    for key in (SEEN, PUBLISHED):
        ss.pop(key, None)
    if PARAM in st.query_params:
        del st.query_params[PARAM]
    if m is not None and m.role == "teacher" and reason is None:
        try:
            store().close(m.code, m.token)
        except ClassError as e:
            reason = e.reason
        ss["_bl_class_forget"] = m.code  # the next run deletes the teacher's cookie
    if reason:
        _fail(reason)


def _restore() -> None:
    """A session opened on ``?class=CODE`` (a join link, a reload, a restarted server): the
    teacher again when its cookie holds the class's teacher token, else a student."""
    ss = st.session_state
    code = normalise(st.query_params.get(PARAM, ""))
    if MEMBER in ss or not code or ss.get(TRIED) == code:
        return
    ss[TRIED] = code
    token = str(_cookies().get(TEACHER_COOKIE.format(code=code), ""))
    try:
        if COOKIE_VALUE.match(token) and store().is_teacher(code, token):
            return _enter(Member(code, "teacher", token=token), store().room(code))
    except ClassError as e:
        return _fail(e.reason)
    join(code)


# ----------------------------------------------------------------------------- following

def _apply(view: dict) -> None:
    """A teacher's view on this session: every State field but presenter, then its page.

    The run goes on with it when it is already on the teacher's page (the server's push reruns a
    follower on the teacher's page) and the language and model it began with are the view's:
    app.py read nothing else of the state before the page. Otherwise the app runs again."""
    s = state.current()  # (changed in place by state.update)
    before = (s.lang, s.model)
    new = state.from_query({str(k): str(v) for k, v in (view.get("query") or {}).items()})
    state.update(**{name: getattr(new, name) for name in state.FIELDS if name != "presenter"})
    target = _page_file(str(view.get("page", "")))
    if target and str(view.get("page", "")) != st.session_state.get(PAGE):
        st.switch_page(target)
    if (s.lang, s.model) != before:
        st.rerun(scope="app")


def _check(rerun_on_question: bool) -> Room | None:
    """A student's look at the class: applies the teacher's new view (while following), notes a
    new or revealed question (rerunning the app for it when ``rerun_on_question``: a fragment's
    run), ends a closed or expired membership. Returns the class as read (None if unreadable).

    A run that comes while the app is running can carry the widgets' values from before the run
    (a fragment poll does), and Streamlit then calls their on_change with those old values, which
    can undo part of a view just applied (seen: the lesson's chapter list put the previous
    chapter back). So for ``SETTLE_S`` after applying a view, a following student's view that
    differs from the teacher's is applied again; after that what the student changes stays until
    the teacher's next change.
    """
    ss = st.session_state
    m = member()
    if m is None or m.role != "student":
        return None
    try:
        room = store().room(m.code)
    except ClassError as e:
        if e.reason != "store_down":  # a store that is briefly away: try again at the next look
            _leave(e.reason)
            st.rerun(scope="app")
        return None
    if room.closed:
        _leave("closed")
        st.rerun(scope="app")
    seen = ss.setdefault(SEEN, [0, None])
    question = _question_key(room)
    if m.follow and room.view and (
            room.view_version != seen[0]
            or (time.monotonic() - ss.get(APPLIED, 0.0) < SETTLE_S
                and _view(ss.get(PAGE, "")) != room.view)):
        if room.view_version != seen[0]:
            ss[APPLIED] = time.monotonic()
        ss[SEEN] = [room.view_version, question]
        _apply(room.view)
    if question != seen[1]:
        ss[SEEN] = [seen[0], question]
        if rerun_on_question:
            st.rerun(scope="app")
    return room


@st.fragment(run_every=POLL_S)
def _poll() -> None:
    """A student's poll, where the server cannot push (see ``ui.classroom.push``)."""
    _check(rerun_on_question=True)


@st.cache_resource(show_spinner=False)
def _watcher() -> push.Watcher:
    """This server's watcher of its students' classes (one thread)."""
    return push.Watcher(store())


def _follow(m: Member) -> None:
    """A student's run: takes the teacher's newest view now, then waits for the server's push
    (``ui.classroom.push``) to run again when the class changes."""
    if not push.available():
        return  # the sidebar's section polls instead
    room = _check(rerun_on_question=False)
    if room is not None:
        _watcher().watch(m.code, push.session_id(), m.follow, push.room_key(room))


def _publish(m: Member, page_path: str) -> bool:
    """The teacher's view to the store, when it changed since it was last published; whether it
    was published."""
    ss = st.session_state
    view = _view(page_path)
    if ss.get(PUBLISHED) == view:
        return False
    try:
        store().set_view(m.code, m.token, view)
    except ClassError as e:
        if e.reason in ("closed", "expired", "unknown", "forbidden"):
            _leave(e.reason)
        else:
            _fail(e.reason)
        return False
    ss[PUBLISHED] = view
    return True


def frame(page) -> None:
    """Call once per run right after ``st.navigation`` (``page``: its result), before the page
    draws: restores a class from the URL and cookies, keeps ``class=CODE`` in the URL, takes the
    teacher's view for a following student, and draws a member's "Class" section at the top of
    the sidebar."""
    ss = st.session_state
    ss[PAGE] = page.url_path or ""
    _restore()
    m = member()
    if m is not None and st.query_params.get(PARAM) != m.code:
        st.query_params[PARAM] = m.code
    elif m is None and PARAM in st.query_params and ss.get(TRIED) == normalise(
            st.query_params.get(PARAM, "")) and NOTICE in ss:
        del st.query_params[PARAM]  # a code that failed: not in the URL any more
    if m is not None and m.role == "student":
        _follow(m)
    elif m is not None and push.available():  # the watcher holds the class's changes while the
        _watcher().teach(m.code, push.session_id())  # teacher runs (see push.Watcher.teach)
    if (m := member()) is not None:
        with st.sidebar:
            _section(m)
        if m.role == "student":  # one line above the page: on a phone the sidebar is closed
            with st.container(key="bl_class_banner"):
                st.caption(t("class.banner", code=m.code,
                             state=t("class.following" if m.follow else "class.exploring")))


def after_page(page) -> None:
    """Call when the page has run, also after its ``st.stop()``: publishes a teacher's view as the
    run leaves it, with what the page itself changed (a word it masked by default, a layer it
    clamped to the model), once a run. Published before the page, a view the page then changed
    would cost every follower a second run; published after it, the teacher's own run is not
    slowed by forty followers starting theirs."""
    with _past_stop():
        m = member()
        if m is not None and m.role == "teacher":
            _publish(m, page.url_path or "")
            if push.available():  # this server's followers (a new view, question or reveal):
                _watcher().poke(after=push.session_id())  # when this run is over


@contextmanager
def _past_stop():
    """Lets this run read its session state after a page's ``st.stop()``.

    After ``st.stop()`` every read of ``st.session_state`` raises StopException again (a read is
    a point where a run may be stopped), so a page that ends with ``st.stop()`` (most do, for
    an empty input or a section left closed) would never have its view published. For the reads
    here that check is switched off (Streamlit's ``SafeSessionState._yield_callback``, pinned to
    streamlit 1.67 as ``ui.classroom.push`` is); a message sent meanwhile still stops the run.
    """
    from streamlit.runtime.scriptrunner_utils.script_run_context import get_script_run_ctx

    ctx = get_script_run_ctx(suppress_warning=True)
    safe = getattr(ctx, "session_state", None)
    saved = getattr(safe, "_yield_callback", None)
    if saved is not None:
        object.__setattr__(safe, "_yield_callback", lambda: None)  # (it guards its attributes)
    try:
        yield
    finally:
        if saved is not None:
            object.__setattr__(safe, "_yield_callback", saved)


# ----------------------------------------------------------------------------- the sidebar

def join_url(code: str) -> str:
    """The link a student opens: $BERTLAB_CLASS_URL (``make class`` sets it to the machine's
    network address), else the address this browser uses, with ``?class=CODE``."""
    base = os.environ.get(CLASS_URL_ENV, "").strip()
    if not base:
        try:
            parts = urlsplit(str(st.context.url or ""))
            base = f"{parts.scheme}://{parts.netloc}" if parts.netloc else ""
        except Exception:
            base = ""
        prefix = str(st.get_option("server.baseUrlPath") or "").strip("/")
        base = base + (f"/{prefix}" if prefix else "")
    return f"{base.rstrip('/')}/?{PARAM}={quote(code)}"


def qr_png(text: str, scale: int = 6) -> bytes:
    """A QR code of ``text`` as PNG bytes (black on white, a 2-module quiet zone)."""
    import segno

    out = BytesIO()
    segno.make(text, error="m").save(out, kind="png", scale=scale, border=2)
    return out.getvalue()


def _notice() -> None:
    reason = st.session_state.pop(NOTICE, None)
    if reason:
        st.warning(t(f"class.err.{reason}"), icon=":material/error:")


def _code_html(code: str) -> str:
    return f'<p class="bl-class-code">{html.escape(code)}</p>'


def _big(code: str, url: str) -> None:
    """The body of "Show the class": the code and QR code as large as a projector's screen
    allows (side by side, so both fit in its height)."""
    with st.container(key="bl_class_big"):
        left, right = st.columns([1, 1], vertical_alignment="center")
        with left:
            st.html(CSS + _code_html(code))
            st.html(f'<p class="bl-class-url">{html.escape(url)}</p>')
            st.caption(t("class.teacher_code"))
        right.image(qr_png(url, scale=10), width=440)


def _teacher(m: Member) -> None:
    try:
        room = store().room(m.code)
    except ClassError as e:
        _leave(e.reason)
        st.rerun(scope="app")
    if room.closed:
        _leave("closed")
        st.rerun(scope="app")
    url = join_url(m.code)
    st.html(_cookie_js(TEACHER_COOKIE.format(code=m.code), m.token, room.expires - time.time()),
            unsafe_allow_javascript=True)
    st.caption(t("class.teacher_code"))
    st.html(_code_html(m.code))
    st.image(qr_png(url), caption=t("class.scan"), width=180)
    st.code(url, language=None, wrap_lines=True)
    _joined(m.code)
    if st.button(t("class.show"), icon=":material/fullscreen:", key="w_class_show",
                 width="stretch"):
        st.dialog(t("class.big_title", code=m.code), width="large")(_big)(m.code, url)
    st.button(t("class.close"), icon=":material/close:", key="w_class_close", on_click=_leave,
              width="stretch")


@st.fragment(run_every=JOINED_S)
def _joined(code: str) -> None:
    """How many students have joined, on the teacher's screen as they arrive (one read of the
    class every ``JOINED_S``, for the teacher's session only)."""
    try:
        room = store().room(code)
    except ClassError:
        return  # (the teacher's next run says why)
    st.markdown(t("class.students", n=room.students, max=room.max_students))


def _follow_changed() -> None:
    m = member()
    if m is not None:
        m.follow = bool(st.session_state.get("w_class_follow"))
        if m.follow:  # back to the teacher's view at the next poll
            st.session_state.setdefault(SEEN, [0, None])[0] = 0


def _student(m: Member) -> None:
    st.html(_cookie_js(STUDENT_COOKIE, m.student, 365 * 24 * 3600), unsafe_allow_javascript=True)
    st.caption(t("class.student_code"))
    st.html(_code_html(m.code))
    st.session_state["w_class_follow"] = m.follow
    st.toggle(t("class.follow"), key="w_class_follow", on_change=_follow_changed,
              help=t("class.follow_help"))
    st.caption(t("class.following" if m.follow else "class.exploring"))
    if m.follow:  # (app.py draws the sentence, model and presenter controls only when exploring)
        st.caption(t("class.follow_controls"))
    st.button(t("class.leave"), icon=":material/logout:", key="w_class_leave", on_click=_leave)
    if not push.available():
        _poll()


def _section(m: Member) -> None:
    with st.container(key="bl_class"):
        st.html(CSS)
        st.markdown(f"**{t('class.title')}**")  # (no subheader: the page's own are its outline)
        _notice()
        (_teacher if m.role == "teacher" else _student)(m)
    st.divider()


def following() -> bool:
    """Whether this session is a student following the teacher: its sentence, model and other
    controls are the teacher's, so app.py leaves them out of its sidebar (a class of forty redraws
    on every change of the teacher's: the controls were a fifth of each of those runs)."""
    m = member()
    return m is not None and m.role == "student" and m.follow


def sidebar() -> None:
    """The sidebar's "Class" section for a session in no class (Start a class / Join a class),
    drawn at the end of the sidebar; a member's is at its top (:func:`frame`)."""
    ss = st.session_state
    forget = ss.pop("_bl_class_forget", None)
    if member() is not None:
        return
    with st.sidebar:
        if forget:  # the closed class's teacher cookie, deleted
            st.html(_cookie_js(TEACHER_COOKIE.format(code=normalise(forget)), "", 0),
                    unsafe_allow_javascript=True)
        st.divider()
        with st.container(key="bl_class"):
            st.html(CSS)
            st.markdown(f"**{t('class.title')}**")  # (no subheader: the page's own are its outline)
            _notice()
            st.button(t("class.start"), icon=":material/co_present:", key="w_class_start",
                      on_click=start, help=t("class.start_help"), width="stretch")
            with st.form("bl_class_join", border=False, enter_to_submit=True):
                st.text_input(t("class.code"), key="w_class_code", max_chars=12,
                              placeholder=t("class.code_placeholder"))
                st.form_submit_button(t("class.join"), icon=":material/login:",
                                      on_click=_join_typed, width="stretch")

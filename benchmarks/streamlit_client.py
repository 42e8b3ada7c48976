"""A headless Streamlit client that speaks the browser's own protocol, for load benchmarks.

Forty students cannot be forty chromiums on a 2-core machine (one headless chromium drawing a
page takes most of a core), and an ``AppTest`` runs the script in the test's own process, without
the server, its sessions, threads and websocket. This client is what the browser is to the server:
one websocket to ``/_stcore/stream`` per session, protobuf ``BackMsg`` up and ``ForwardMsg`` down
(``streamlit.proto``), so the server does for it all it does for a browser tab. It draws nothing,
so on the client side a run costs only the decoding of its messages. (Streamlit's own load tests,
``e2e_playwright/load_testing``, drive one chromium per user instead: they measure the browser
too, and need a large machine.)

What it does as Streamlit 1.67's frontend does (``frontend/app/src/App.tsx`` and the
``WidgetStateManager`` of ``frontend/lib``; the server side is ``runtime/app_session.py``):

* Opening a page: an HTTP GET of the page (the index.html, as a tab loads it; cookies kept), then
  the websocket (subprotocol ``streamlit``, the XSRF cookie's token second, as the browser sends
  it; the cookies and headers of the handshake become ``st.context``), then a ``rerun_script``
  with the query string and, for the first run, ``page_name`` = the URL's path.
* Every rerun sends the widget states of every widget on the page: the value the user set, else
  the widget's own (its default, or the value the server pushed with ``set_value``), as the
  frontend's widgets register theirs when they mount. A button is a one-shot trigger. States of
  widgets gone from the page are dropped when a full run finishes (``removeInactive``).
* A widget inside a fragment reruns only its fragment (``fragment_id``), as in the browser. A
  widget inside an ``st.form`` keeps its value until the form's submit button is clicked.
* ``auto_rerun`` (a ``st.fragment(run_every=...)``): the browser, not the server, keeps the
  timer; this client runs one per fragment too and sends ``rerun_script`` with that fragment's id
  and ``is_auto_rerun``. A full run's ``new_session`` cancels them all (the server sends the
  ``auto_rerun`` again if the fragment is still there); ``stop_auto_rerun`` cancels one.
* Pages: ``new_session`` names the page that ran (``page_script_hash``), ``navigation`` the
  app's pages (their URL paths); later reruns send that hash. ``switch_page`` is a click on a
  navigation link. ``page_info_changed`` (``st.query_params`` written) updates the query string
  the next reruns send, as the browser's URL.
* Large elements the server already sent come back as ``ref_hash`` when the client lists their
  hashes (``cached_message_hashes``): this client keeps them and lists them, as the browser does.
* The page's elements: each delta lands at its ``delta_path``; a full run's end drops what that
  run did not send again, a fragment run's end what the fragment did not.

A run is over when the server says so: ``script_finished`` with anything but
``FINISHED_EARLY_FOR_RERUN`` (that one means the script asked for another run: ``st.rerun``,
``st.switch_page``, a callback). ``Run.seconds`` is the time from sending the action to that
message, the server's whole reaction as a browser receives it, less the drawing.

Use (asyncio; one event loop can drive many clients)::

    c = StreamlitClient("http://127.0.0.1:8501")
    run = await c.open("masked_lm", {"text": "The dog barked.", "lang": "en"})
    await c.set("Your sentence", "A new sentence.")      # a widget by label (or key=...)
    await c.click(key="mlm_reroll")
    await c.switch_page("attention")
    c.texts(), c.find(key="w_masks"), c.runs             # what is shown; the timed actions
    await c.close()
"""

from __future__ import annotations

import asyncio
import http.cookiejar
import time
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from typing import Any

from streamlit.proto.BackMsg_pb2 import BackMsg
from streamlit.proto.ForwardMsg_pb2 import ForwardMsg
from streamlit.proto.WidgetStates_pb2 import WidgetState

EARLY = ForwardMsg.FINISHED_EARLY_FOR_RERUN
FRAGMENT_DONE = ForwardMsg.FINISHED_FRAGMENT_RUN_SUCCESSFULLY
# Element kinds whose proto carries a widget id, and the WidgetState field each sends.
WIDGETS = {"text_area": "string_value", "text_input": "string_value", "checkbox": "bool_value",
           "selectbox": "string_value", "radio": "string_value",
           "button_group": "string_array_value", "multiselect": "string_array_value",
           "slider": "double_array_value", "number_input": "double_value",
           "button": "trigger_value", "download_button": "trigger_value"}
XSRF_COOKIE = "_streamlit_xsrf"


class ClientError(RuntimeError):
    """The server closed the connection, a run never finished, or a widget is not on the page."""


@dataclass
class Run:
    """One action and the server's reaction: ``seconds`` from sending it to its run's end."""

    action: str
    sent: float  # time.monotonic() when the action was sent
    seconds: float | None = None  # None: did not finish
    status: str = ""  # "ok", "error" (the page shows an exception), "compile_error"
    page: str = ""  # the URL path of the page that ran ("" for the default page)
    query: str = ""  # the query string after the run
    exceptions: list[str] = field(default_factory=list)  # the st.exception texts shown


@dataclass
class Widget:
    """A widget on the page: its element kind, id, label, proto and the fragment it is in."""

    kind: str
    id: str
    label: str
    proto: Any
    fragment_id: str = ""

    @property
    def key(self) -> str | None:
        """The widget's user key (Streamlit ends a widget id with it), None without one."""
        user_key = self.id.split("-", maxsplit=2)[-1]
        return None if user_key == "None" else user_key


@dataclass
class FullRun:
    """A full (not fragment) run seen by the client, whoever asked for it: for reaction times of
    runs the client did not ask for (a poll that reran the app)."""

    started: float
    finished: float | None = None
    page: str = ""
    query: str = ""
    auto: bool = False  # started by a fragment's auto rerun (a poll), not by a user action


class StreamlitClient:
    """One browser tab's session (see the module docstring)."""

    def __init__(self, base_url: str, *, cookies: dict[str, str] | None = None,
                 headers: dict[str, str] | None = None, locale: str = "en-US",
                 timezone: str = "UTC", name: str = "", run_timeout: float = 120.0,
                 auto_reruns: bool = True):
        self.base = base_url.rstrip("/")
        self.name = name or "client"
        self.locale, self.timezone, self.run_timeout = locale, timezone, run_timeout
        self.headers = {"User-Agent": "bertlab-streamlit-client", **(headers or {})}
        self.jar = http.cookiejar.CookieJar()
        self._extra_cookies = dict(cookies or {})
        self.auto_reruns = auto_reruns
        self.ws = None
        self.page_hash = ""  # the page that ran last (its script hash)
        self.pages: dict[str, str] = {}  # url path -> page script hash (from navigation)
        self.query = ""  # the query string the next rerun sends (the browser's URL)
        self.path = ""  # the URL path of the page shown
        self.elements: dict[tuple, tuple[Any, str, int]] = {}  # path -> (proto, fragment, epoch)
        self.states: dict[str, WidgetState] = {}  # widget id -> the state the next rerun sends
        self.user_set: set[str] = set()  # widget ids whose value this client set
        self.form_states: dict[str, dict[str, WidgetState]] = {}  # form id -> values not sent
        self.cache: dict[str, ForwardMsg] = {}  # hash -> cacheable message (ref_hash targets)
        self.runs: list[Run] = []  # timed actions
        self.full_runs: list[FullRun] = []  # every full run, asked for or not
        self.errors: list[str] = []  # protocol-level problems (closed socket, bad ref, ...)
        self.session_id = ""
        self._epoch = 0  # counts runs: an element's epoch is the run that last sent it
        self._run_fragments: tuple[str, ...] = ()  # fragment ids of the run in progress
        self._running_auto = False
        self._finished = asyncio.Event()  # set at every script_finished (and a lost connection)
        self._finishes: list[tuple[int, int]] = []  # (status, epoch) of every script_finished
        self._pending_exceptions: list[str] = []
        self._timers: dict[str, tuple[float, asyncio.Task]] = {}
        self._reader: asyncio.Task | None = None
        self._lock = asyncio.Lock()  # one action at a time, as a user does
        self._acting = False  # an action is waiting for its run

    # ------------------------------------------------------------------ connection

    def _http_get(self, url: str) -> None:
        """A GET as the browser's page load does it, keeping the cookies it sets."""
        opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(self.jar))
        req = urllib.request.Request(url, headers=self.headers)
        with opener.open(req, timeout=30) as r:
            r.read()

    def cookies(self) -> dict[str, str]:
        return {c.name: c.value for c in self.jar} | self._extra_cookies

    def set_cookie(self, name: str, value: str) -> None:
        """A cookie the next connection sends (as one set by the page's JavaScript would be)."""
        self._extra_cookies[name] = value

    async def open(self, path: str = "", query: dict | str | None = None) -> Run:
        """Loads ``/<path>?<query>`` as a new tab: the page, the websocket, the first run."""
        from websockets.asyncio.client import connect

        await self.close()
        self.path = path.strip("/")
        self.query = (urllib.parse.urlencode(query) if isinstance(query, dict)
                      else (query or "").lstrip("?"))
        url = f"{self.base}/{self.path}" + (f"?{self.query}" if self.query else "")
        await asyncio.to_thread(self._http_get, url)
        ws_url = "ws" + self.base[len("http"):] + "/_stcore/stream"
        cookies = self.cookies()
        xsrf = cookies.get(XSRF_COOKIE, "")
        headers = dict(self.headers)
        if cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in cookies.items())
        headers["Origin"] = self.base
        # The browser's header: "streamlit" first, the XSRF token second (Streamlit reads the
        # subprotocol list for it); websockets needs the server to pick one of them back.
        protocols = ["streamlit", xsrf] if xsrf else ["streamlit"]
        self.ws = await connect(ws_url, additional_headers=headers, subprotocols=protocols,
                                max_size=None, open_timeout=60, ping_interval=None)
        self.elements.clear()
        self.cache.clear()
        self.states.clear()
        self.form_states.clear()
        self.user_set.clear()
        self.page_hash = ""
        self._reader = asyncio.create_task(self._read(), name=f"{self.name}-reader")
        return await self._act(f"open /{self.path}", page_name=self.path)

    async def close(self) -> None:
        for _, task in self._timers.values():
            task.cancel()
        self._timers.clear()
        if self.ws is not None:
            await self.ws.close()
            self.ws = None
        if self._reader is not None:
            self._reader.cancel()
            try:
                await self._reader
            except (asyncio.CancelledError, Exception):
                pass
            self._reader = None

    # ------------------------------------------------------------------ sending

    def _widget_states(self) -> list[WidgetState]:
        return [s for s in self.states.values()]

    async def _send_rerun(self, *, page_hash: str | None = None, page_name: str = "",
                          fragment_id: str = "", auto: bool = False) -> None:
        msg = BackMsg()
        cs = msg.rerun_script
        cs.query_string = self.query
        cs.widget_states.widgets.extend(self._widget_states())
        cs.page_script_hash = self.page_hash if page_hash is None else page_hash
        cs.page_name = page_name if not cs.page_script_hash else ""
        if fragment_id:
            cs.fragment_id = fragment_id
        cs.is_auto_rerun = auto
        cs.cached_message_hashes.extend(self.cache)
        ci = cs.context_info
        ci.timezone, ci.timezone_offset, ci.locale = self.timezone, 0, self.locale
        ci.url = f"{self.base}/{self.path}" + (f"?{self.query}" if self.query else "")
        ci.is_embedded, ci.color_scheme = False, "light"
        # Triggers are one-shot: sent once, then gone (the frontend resets them after sending).
        for wid in [w for w, s in self.states.items() if s.WhichOneof("value") == "trigger_value"]:
            del self.states[wid]
        if self.ws is None:
            raise ClientError(f"{self.name}: not connected")
        await self.ws.send(msg.SerializeToString())

    async def _act(self, action: str, **rerun) -> Run:
        """Sends one rerun and waits for its run (and the runs it asks for) to finish."""
        async with self._lock:
            self._acting = True
            try:
                return await self._act_locked(action, **rerun)
            finally:
                self._acting = False

    async def _act_locked(self, action: str, **rerun) -> Run:
        run = Run(action, time.monotonic())
        start_epoch, seen = self._epoch, len(self._finishes)
        self._pending_exceptions = []
        await self._send_rerun(**rerun)
        fragment = rerun.get("fragment_id", "")
        try:
            status = await asyncio.wait_for(self._wait_done(start_epoch, seen, fragment),
                                            self.run_timeout)
        except TimeoutError:
            run.status = "timeout"
            self.errors.append(f"{action}: no script_finished within {self.run_timeout} s")
        else:
            run.seconds = time.monotonic() - run.sent
            run.exceptions = list(self._pending_exceptions)
            run.status = ("compile_error" if status == ForwardMsg.FINISHED_WITH_COMPILE_ERROR
                          else "error" if run.exceptions else "ok")
        run.page, run.query = self.path, self.query
        self.runs.append(run)
        return run

    async def _wait_done(self, start_epoch: int, seen: int, fragment: str) -> int:
        """The status of the first run started after ``start_epoch`` that ends with anything but
        "early for rerun" (a fragment action's may be a fragment run or, after st.rerun, a full
        one); finishes are read in order from ``seen`` on, so a fragment's auto rerun that ends
        just after the run waited for does not hide it."""
        while True:
            while seen < len(self._finishes):
                status, epoch = self._finishes[seen]
                seen += 1
                if epoch > start_epoch and status != EARLY and (status != FRAGMENT_DONE
                                                                 or fragment):
                    return status
            if self.ws is None:
                raise ClientError(f"{self.name}: connection closed")
            self._finished.clear()
            await self._finished.wait()

    # ------------------------------------------------------------------ user actions

    def widgets(self) -> list[Widget]:
        out = []
        for path in sorted(self.elements):
            proto, fragment, _ = self.elements[path]
            kind = proto.WhichOneof("type") if hasattr(proto, "WhichOneof") else None
            if kind in WIDGETS:
                w = getattr(proto, kind)
                out.append(Widget(kind, w.id, getattr(w, "label", ""), w, fragment))
        return out

    def find(self, label: str | None = None, *, key: str | None = None,
             kind: str | None = None) -> Widget:
        """The widget with this label (exact, else the one label that contains it) or user key."""
        found = [w for w in self.widgets() if (kind is None or w.kind == kind)
                 and (key is None or w.key == key) and (label is None or w.label == label)]
        if not found and label is not None:
            found = [w for w in self.widgets() if (kind is None or w.kind == kind)
                     and (key is None or w.key == key) and label in w.label]
        if not found:
            raise ClientError(f"{self.name}: no widget label={label!r} key={key!r} on /{self.path}"
                              f" (there are: {[(w.kind, w.label, w.key) for w in self.widgets()]})")
        return found[0]

    def has(self, label: str | None = None, *, key: str | None = None) -> bool:
        try:
            self.find(label, key=key)
        except ClientError:
            return False
        return True

    async def set(self, target: str | Widget | None = None, value: Any = None, *,
                  key: str | None = None) -> Run | None:
        """Sets a widget's value as the user would (typing then leaving the field, toggling,
        picking an option), which reruns the app, or only the widget's fragment. In an st.form
        the value waits (None: no run) for the click on the form's submit button."""
        w = target if isinstance(target, Widget) else self.find(target, key=key)
        state = WidgetState(id=w.id)
        if w.kind in ("text_area", "text_input"):
            state.string_value = str(value)
        elif w.kind == "checkbox":
            state.bool_value = bool(value)
        elif w.kind in ("selectbox", "radio"):
            options = list(w.proto.options)
            state.string_value = options[value] if isinstance(value, int) else str(value)
            if state.string_value not in options:
                raise ClientError(f"{value!r} is not an option of {w.label!r}: {options}")
        elif w.kind in ("button_group", "multiselect"):
            options = ([o.content for o in w.proto.options] if w.kind == "button_group"
                       else list(w.proto.options))
            chosen = value if isinstance(value, list | tuple) else [] if value is None else [value]
            texts = [options[v] if isinstance(v, int) else str(v) for v in chosen]
            if any(x not in options for x in texts):
                raise ClientError(f"{value!r} is not among the options of {w.label!r}: {options}")
            state.string_array_value.data.extend(texts)
        elif w.kind == "slider" and w.proto.options:  # st.select_slider
            chosen = value if isinstance(value, list | tuple) else [value]
            state.string_array_value.data.extend(str(v) for v in chosen)
        elif w.kind == "slider":
            state.double_array_value.data.extend(value if isinstance(value, list | tuple)
                                                 else [value])
        elif w.kind == "number_input":
            state.double_value = float(value)
        elif w.kind in ("button", "download_button"):
            state.trigger_value = True
        else:  # pragma: no cover - WIDGETS lists what this handles
            raise ClientError(f"cannot set a {w.kind}")
        self.user_set.add(w.id)
        form = getattr(w.proto, "form_id", "")
        if form and not (w.kind == "button" and w.proto.is_form_submitter):
            # In a form, a value waits for the form's submit button (no rerun), as in the browser.
            self.form_states.setdefault(form, {})[w.id] = state
            return None
        if form:  # the submit button: the form's values and the button's trigger, in one rerun
            self.states.update(self.form_states.pop(form, {}))
        self.states[w.id] = state
        return await self._act(f"{w.kind} {w.key or w.label}", fragment_id=w.fragment_id)

    async def click(self, label: str | None = None, *, key: str | None = None) -> Run:
        return await self.set(self.find(label, key=key, kind=None if key else "button"))

    async def switch_page(self, url_path: str) -> Run:
        """A click on the navigation's link to ``url_path`` ("" or "home": the default page)."""
        path = url_path.strip("/")
        page_hash = self.pages.get(path) or self.pages.get("" if path == "home" else path)
        if page_hash is None:
            raise ClientError(f"{self.name}: no page {url_path!r} in {sorted(self.pages)}")
        self._cancel_timers()  # (the frontend's onPageChange)
        return await self._act(f"page /{path}", page_hash=page_hash)

    async def rerun(self) -> Run:
        """The "Rerun" menu item: the whole app again with the same widget states."""
        return await self._act("rerun")

    # ------------------------------------------------------------------ what is shown

    def texts(self) -> list[str]:
        """The text of every markdown, heading, text, caption, alert and code element shown."""
        out = []
        for path in sorted(self.elements):
            proto = self.elements[path][0]
            kind = proto.WhichOneof("type") if hasattr(proto, "WhichOneof") else None
            if kind in ("markdown", "text", "code", "alert", "heading"):
                out.append(getattr(proto, kind).body)
        return out

    def kinds(self) -> list[str]:
        shown = (self.elements[k][0] for k in sorted(self.elements))
        return [p.WhichOneof("type") for p in shown if hasattr(p, "WhichOneof")]

    # ------------------------------------------------------------------ receiving

    async def _read(self) -> None:
        try:
            async for data in self.ws:
                msg = ForwardMsg()
                msg.ParseFromString(data)
                self._handle(msg)
        except asyncio.CancelledError:
            raise
        except Exception as e:  # a closed or broken connection ends every wait with an error
            self.errors.append(f"{self.name}: connection: {type(e).__name__}: {e}")
        finally:
            self.ws = None
            self._finished.set()

    def _handle(self, msg: ForwardMsg) -> None:
        kind = msg.WhichOneof("type")
        if kind == "ref_hash":
            cached = self.cache.get(msg.ref_hash)
            if cached is None:
                self.errors.append(f"{self.name}: ref_hash {msg.ref_hash} not cached")
                return
            full = ForwardMsg()
            full.CopyFrom(cached)
            full.metadata.CopyFrom(msg.metadata)
            msg, kind = full, cached.WhichOneof("type")
        elif msg.metadata.cacheable and msg.hash:
            self.cache[msg.hash] = msg
        if kind == "new_session":
            self._epoch += 1
            fragments = tuple(msg.metadata.run.fragment_ids)
            self._run_fragments = fragments
            if not fragments:
                self._cancel_timers()  # (handleNewSession: cleanupAutoReruns)
                self.page_hash = msg.new_session.page_script_hash
                self.session_id = msg.new_session.initialize.session_id or self.session_id
                self.full_runs.append(FullRun(time.monotonic(), auto=not self._acting))
        elif kind == "navigation":
            nav = msg.navigation
            self.pages = {p.url_pathname: p.page_script_hash for p in nav.app_pages}
            self.page_hash = nav.page_script_hash  # (st.navigation: the page that runs)
            for p in nav.app_pages:
                if p.is_default:
                    self.pages.setdefault("", p.page_script_hash)
                if p.page_script_hash == nav.page_script_hash:
                    self.path = "" if p.is_default else p.url_pathname
        elif kind == "page_info_changed":
            self.query = msg.page_info_changed.query_string
        elif kind == "delta":
            self._delta(msg)
        elif kind == "auto_rerun":
            if self.auto_reruns:
                self._start_timer(msg.auto_rerun.fragment_id, msg.auto_rerun.interval)
        elif kind == "stop_auto_rerun":
            for fid in msg.stop_auto_rerun.fragment_ids:
                self._cancel_timers(fid)
        elif kind == "script_finished":
            status = msg.script_finished
            if status != EARLY:
                self._end_run(status)
            self._finishes.append((status, self._epoch))
            if status not in (EARLY, FRAGMENT_DONE) and self.full_runs:
                fr = self.full_runs[-1]
                if fr.finished is None:
                    fr.finished, fr.page, fr.query = time.monotonic(), self.path, self.query
            self._finished.set()
        elif kind == "session_event":
            ev = msg.session_event
            if ev.WhichOneof("type") == "script_compilation_exception":
                self._pending_exceptions.append(ev.script_compilation_exception.message)

    def _delta(self, msg: ForwardMsg) -> None:
        path = tuple(msg.metadata.delta_path)
        d = msg.delta
        dkind = d.WhichOneof("type")
        if dkind == "new_element":
            el = d.new_element
            self.elements[path] = (el, d.fragment_id, self._epoch)
            ekind = el.WhichOneof("type")
            if ekind == "exception":
                where = " | ".join(el.exception.stack_trace[-2:])
                self._pending_exceptions.append(
                    f"{el.exception.type}: {el.exception.message} (at {where})")
            elif ekind in WIDGETS:
                self._register(ekind, getattr(el, ekind))
        elif dkind == "add_block":
            self.elements[path] = (d.add_block, d.fragment_id, self._epoch)
        # (new_transient: spinners and toasts, which nothing here reads)

    def _register(self, kind: str, w) -> None:
        """The widget's value, as the frontend's widget registers it when it mounts: kept if the
        user set it, replaced if the server pushed a value (``set_value``), else its default."""
        if kind in ("button", "download_button"):
            return
        pushed = getattr(w, "set_value", False)
        if w.id in self.states and not pushed:
            return
        state = WidgetState(id=w.id)
        if kind in ("text_area", "text_input"):
            if w.HasField("value") and (pushed or w.id not in self.states):
                state.string_value = w.value
            elif w.HasField("default"):
                state.string_value = w.default
            else:
                return
        elif kind == "checkbox":
            state.bool_value = w.value if pushed else w.default
        elif kind in ("selectbox", "radio"):
            if pushed and w.HasField("raw_value"):
                state.string_value = w.raw_value
            elif pushed:  # the server cleared the choice
                self.states.pop(w.id, None)
                return
            elif w.HasField("default") and 0 <= w.default < len(w.options):
                state.string_value = w.options[w.default]
            else:
                return
        elif kind == "button_group":
            values = (list(w.raw_values) if pushed or w.raw_values
                      else [w.options[i].content for i in w.default if i < len(w.options)])
            state.string_array_value.data.extend(values)
        elif kind == "multiselect":
            values = list(getattr(w, "raw_values", [])) or [w.options[i] for i in w.default
                                                              if i < len(w.options)]
            state.string_array_value.data.extend(values)
        elif kind == "slider" and w.options:  # st.select_slider: the options' texts
            values = (list(w.raw_value) if pushed
                      else [w.options[int(i)] for i in w.default if int(i) < len(w.options)])
            state.string_array_value.data.extend(values)
        elif kind == "slider":
            state.double_array_value.data.extend(list(w.value) if pushed else list(w.default))
        elif kind == "number_input":
            if w.HasField("value") and pushed:
                state.double_value = w.value
            elif w.HasField("default"):
                state.double_value = w.default
            else:
                return
        self.states[w.id] = state

    def _end_run(self, status: int) -> None:
        """Drops what the run that ended did not send again (a fragment run: in its fragments)."""
        fragments = self._run_fragments
        if status == FRAGMENT_DONE and fragments:
            stale = [p for p, (_, f, e) in self.elements.items()
                     if f in fragments and e != self._epoch]
        else:
            stale = [p for p, (_, _, e) in self.elements.items() if e != self._epoch]
        for p in stale:
            del self.elements[p]
        if status != FRAGMENT_DONE:
            active = {w.id for w in self.widgets()}
            for wid in [w for w in self.states if w not in active]:
                del self.states[wid]

    # ------------------------------------------------------------------ fragment timers

    def _start_timer(self, fragment_id: str, interval: float) -> None:
        if not fragment_id:
            return
        old = self._timers.get(fragment_id)
        if old is not None and old[0] == interval:
            return  # (the frontend keeps a timer whose interval did not change)
        self._cancel_timers(fragment_id)
        task = asyncio.get_running_loop().create_task(self._tick(fragment_id, interval))
        self._timers[fragment_id] = (interval, task)

    def _cancel_timers(self, fragment_id: str | None = None) -> None:
        for fid in [f for f in self._timers if fragment_id is None or f == fragment_id]:
            self._timers.pop(fid)[1].cancel()

    async def _tick(self, fragment_id: str, interval: float) -> None:
        """The browser's setInterval: a fragment rerun every ``interval`` s, whether or not the
        last one has finished (the server merges a fragment's reruns that wait)."""
        while True:
            await asyncio.sleep(interval)
            if self.ws is None:
                return
            try:
                await self._send_rerun(fragment_id=fragment_id, auto=True)
            except Exception as e:  # a closed connection: the reader records it
                self.errors.append(f"{self.name}: auto rerun: {type(e).__name__}: {e}")
                return

"""The view, kept in the session and mirrored in the URL, so that a link reopens exactly that view.

``State`` holds what a teacher wants a shared link to restore: language, model, sentence, optional
second sentence, layer, head, masked positions and presenter mode. ``init()`` runs once at the top
of every run of app.py: on a session's first run it reads ``st.query_params``; on every run it
writes the state back to the URL (page switches clear the query string, so it is rewritten).

Widgets bind to a field with ``bind``, which gives them a key seeded from the state and a callback
that writes their value back::

    st.slider(t("common.layer"), 0, L - 1, **state.bind("layer"))   # no value=: the key holds it
    state.update(masks=[2, 5])                                       # state + URL, e.g. in on_click

URL parameters (each declared once, on its ``State`` field): ``lang``, ``model``, ``text``,
``pair``, ``layer``, ``head``, ``masks`` (e.g. "2,5"), ``presenter`` ("1"), ``section``, ``query``,
``window``, ``step``, ``chapter`` (the lesson's); ``sentence`` (or ``a``) and ``b`` are read as
``text`` and ``pair`` and rewritten. Anything malformed in a URL falls back to the default instead
of failing.

Two rules keep the state trustworthy when one choice changes (``update``):

* The UI language and the model are separate choices. Switching the language changes the sentence
  and the model only while the input is still the old language's default (its default sentence,
  no second sentence): a Chinese class then gets the Chinese example and model, but a sentence the
  user typed or picked stays, read by the same model.
* ``masks``, ``query`` and ``window`` are token positions. When the input or the model changes, a
  position keeps its value only if the tokens up to and including it are unchanged (an edit after
  it); otherwise a mask is dropped and the query and window go back to their defaults, so a mask
  never lands on another word or on a continuation piece.
"""

from __future__ import annotations

import copy
import os
import sys
from dataclasses import dataclass, field, fields

import streamlit as st

from bertcore import defaults

from .i18n import LANGS, default_sentence

KEY = "_bertlab_state"  # the State in st.session_state
SYNCED = "_bertlab_synced"  # widget key -> the value last pushed into that widget
KEPT = "_bertlab_kept"  # widget key -> its value, kept while the widget is not drawn
MAX_CHARS = 5000  # longest text kept (BERT reads at most 512 tokens anyway)
MAX_MASKS = 64
# ----------------------------------------------------------------------------- reading a value
# Each takes a value from a URL or a widget and the field's previous value, and returns what the
# field holds: the previous value (or a safe one) for what cannot be read.

def _lang(value, previous: str) -> str:
    return value if value in LANGS else previous


def _model(value, previous: str) -> str:
    return str(value).strip() if value is not None and str(value).strip() else previous


def _text(value, previous: str = "") -> str:
    return str(value if value is not None else "")[:MAX_CHARS]


def _name(value, previous: str = "") -> str:
    """A short identifier (a page section): letters, digits, "_" and "-" only, else the previous."""
    text = str(value if value is not None else "").strip()[:40]
    return text if all(ch.isalnum() or ch in "_-" for ch in text) else previous


def _int(value, previous: int) -> int:
    try:
        return max(0, int(str(value).strip()))
    except (TypeError, ValueError):
        return previous


def _masks(value, previous=None) -> list[int]:
    if isinstance(value, str):
        value = value.replace(" ", "").split(",") if value.strip() else []
    out: list[int] = []
    for v in value or []:
        try:
            i = int(v)
        except (TypeError, ValueError):
            continue
        if i >= 0 and i not in out:
            out.append(i)
    return sorted(out)[:MAX_MASKS]


def _bool(value, previous: bool = False) -> bool:
    if isinstance(value, str):
        return value.strip().lower() in ("1", "true", "yes", "on")
    return bool(value)


def _url(default, name: str, read, write=str, aliases: tuple[str, ...] = ()):
    """A State field kept in the URL as ``name`` (also read from ``aliases``, for hand-written
    links): ``read(value, previous)`` turns a URL or widget value into the field's, ``write`` the
    field's value into the URL's text."""
    meta = {"url": name, "read": read, "write": write, "aliases": aliases}
    if callable(default):
        return field(default_factory=default, metadata=meta)
    return field(default=default, metadata=meta)


@dataclass
class State:
    """What the user is looking at; every field is in the URL (each declared here, once)."""

    lang: str = _url("en", "lang", _lang)
    model: str = _url("", "model", _model)
    sentence: str = _url("", "text", _text, aliases=("sentence", "a"))
    pair: str = _url("", "pair", _text, aliases=("b",))
    layer: int = _url(0, "layer", _int)
    head: int = _url(0, "head", _int)
    masks: list[int] = _url(list, "masks", _masks, lambda v: ",".join(map(str, v)))
    presenter: bool = _url(False, "presenter", _bool, lambda v: "1")
    section: str = _url("", "section", _name)  # the page's section; "" is the page's first
    query: int = _url(1, "query", _int)  # the query token a page explains (1: the first word)
    window: int = _url(0, "window", _int)  # the first token shown where a view shows a window
    step: int = _url(0, "step", _int)  # presenter mode: how many of a page's sections are shown
    chapter: int = _url(0, "chapter", _int)  # the lesson's chapter, from 1; 0: not chosen yet


FIELDS = {f.name: f.metadata for f in fields(State)}
INPUT = ("model", "sentence", "pair")  # what the token positions below are positions in
POSITIONS = ("masks", "query", "window")  # token positions in that input


def default_model(lang: str) -> str:
    """The model the app opens on: $BERTLAB_MODEL (a folder, for tests), else the real BERT of the
    language when it is on disk ($BERTLAB_MODELS or the hub cache), else the offline default."""
    return os.environ.get("BERTLAB_MODEL") or defaults.default_model(
        lang, defaults.on_disk(defaults.REAL_MODELS.get(lang, ())))


def defaults_for(lang: str) -> State:
    lang = lang if lang in LANGS else "en"
    return State(lang=lang, model=default_model(lang), sentence=default_sentence(lang))


def coerce(name: str, value, previous):
    """``value`` as the type of field ``name``; ``previous`` when it cannot be one."""
    if name not in FIELDS:
        raise TypeError(f"State has no field {name!r}")
    return FIELDS[name]["read"](value, previous)


# ----------------------------------------------------------------------------- URL

def _browser_lang() -> str:
    """The language whose code the browser's locale starts with ("zh-CN" -> "zh"), else "en"."""
    try:
        locale = str(st.context.locale or "").lower()
    except Exception:
        locale = ""
    matches = [lg for lg in LANGS if locale.startswith(lg.lower())]
    return max(matches, key=len) if matches else "en"


def from_query(params) -> State:
    """A State from URL parameters (a mapping of str -> str), defaults for what is absent or bad."""
    params = {k: params.get(k) for k in params}
    lang = params.get("lang")
    state = defaults_for(lang if lang in LANGS else _browser_lang())
    for name, meta in FIELDS.items():
        found = [n for n in (meta["url"], *meta["aliases"]) if n in params]
        if name != "lang" and found:
            setattr(state, name, coerce(name, params[found[0]], getattr(state, name)))
    return state


def to_query(state: State) -> dict[str, str]:
    """The URL parameters for ``state``: only what differs from the language's defaults."""
    base = defaults_for(state.lang)
    return {meta["url"]: meta["write"](getattr(state, name)) for name, meta in FIELDS.items()
            if name == "lang" or getattr(state, name) != getattr(base, name)}


def _write_url(state: State) -> None:
    wanted = to_query(state)
    params = st.query_params
    for url_name in [n for meta in FIELDS.values() for n in (meta["url"], *meta["aliases"])]:
        if url_name in wanted:
            if params.get(url_name) != wanted[url_name]:
                params[url_name] = wanted[url_name]
        elif url_name in params:
            del params[url_name]


# ----------------------------------------------------------------------------- the frame

def ensure_frame() -> None:
    """Makes sure app.py (the frame: sidebar, model fallback, navigation) runs around the page.

    Streamlit decides per process whether an app uses ``st.navigation`` or the older ``pages/``
    folder: until some run has called st.navigation, a ``pages/`` folder next to app.py counts.
    So the first visitor of a fresh server who opens a deep link (a shared
    ``/attention?layer=3``) would get ``pages/attention.py`` run alone: no sidebar, a wrong page
    list, the default layout. Every page reaches this function (through ``current``) before it
    draws; in that case it switches the process to st.navigation and reruns, which runs app.py
    and then the same page (the two modes give a page the same URL path and hash).
    """
    try:
        from streamlit.runtime.pages_manager import PagesManager
        from streamlit.runtime.scriptrunner_utils.script_run_context import get_script_run_ctx
    except ImportError:  # a streamlit without them has no such mode
        return
    # Several first visitors at once (a class reconnecting after a server restart): one run
    # flips the flag, and the others, already started in the older mode, find it flipped; so a
    # run is also recognised by Streamlit's function that runs a page of that mode (_mpa_v1).
    if PagesManager.uses_pages_directory or _in_pages_directory_run():
        PagesManager.uses_pages_directory = False
        ctx = get_script_run_ctx(suppress_warning=True)
        # In a widget callback the script has not started yet, and the mode is read after the
        # callbacks: flipping the flag is enough there (and st.rerun would drop the callback).
        if ctx is not None and ctx.has_script_started:
            st.rerun()


def _in_pages_directory_run() -> bool:
    """Whether this script run was started in the ``pages/`` folder mode (its caller's frames
    include Streamlit's ``_mpa_v1``, which runs a page of that mode)."""
    frame = sys._getframe(1)
    while frame is not None:
        if frame.f_code.co_name == "_mpa_v1":
            return True
        frame = frame.f_back
    return False


# ----------------------------------------------------------------------------- the interface

def init() -> State:
    """Call once at the top of app.py on every run: URL -> state on the first run, state -> URL."""
    ensure_frame()
    ss = st.session_state
    if KEY not in ss:
        ss[KEY] = from_query(st.query_params)
        ss[SYNCED] = {}
    _write_url(ss[KEY])
    return ss[KEY]


def current() -> State:
    """The current state (initialised from the URL if this session has none yet)."""
    ensure_frame()
    ss = st.session_state
    if KEY not in ss:
        return init()
    return ss[KEY]


def update(**changes) -> None:
    """Changes fields of the state and the URL, with the two rules of the module docstring: the
    language takes the model and sentence along only from its default input, and token positions
    survive only an edit after them.

    Raises:
        TypeError: an unknown field name.
    """
    state = current()
    new = copy.deepcopy(state)
    for name, value in changes.items():
        setattr(new, name, coerce(name, value, getattr(state, name)))
    if new.lang != state.lang:
        old_base, new_base = defaults_for(state.lang), defaults_for(new.lang)
        if ("sentence" not in changes and "pair" not in changes
                and state.sentence == old_base.sentence and not state.pair):
            new.sentence = new_base.sentence
            if "model" not in changes and state.model == old_base.model:
                new.model = new_base.model
    if any(getattr(new, name) != getattr(state, name) for name in INPUT):
        _keep_positions(state, new, [name for name in POSITIONS if name not in changes])
    for f in fields(State):
        setattr(state, f.name, getattr(new, f.name))
    _write_url(state)


def _tokens(model: str, sentence: str, pair: str) -> list[str] | None:
    """The tokens ``model`` reads for the input (None when that cannot be known here)."""
    try:
        from . import models  # models imports this module

        return list(models.encode(model, sentence, pair or None).tokens)
    except Exception:  # a model that fails to load: its page says so, the state keeps nothing
        return None


def unchanged_prefix(old: list[str] | None, new: list[str] | None) -> int:
    """How many leading tokens two token lists share (0 when either is unknown)."""
    if old is None or new is None:
        return 0
    n = 0
    for a, b in zip(old, new):
        if a != b:
            break
        n += 1
    return n


def _keep_positions(old: State, new: State, names: list[str]) -> None:
    """Drops (or resets to their defaults) the token positions ``names`` of ``new`` whose tokens,
    or any token before them, changed from ``old``'s input to ``new``'s.

    A new model reads with other tokens, or cannot be asked before it is loaded (which happens in
    the next run, with its progress shown): every position is reset then.
    """
    base = State()
    if all(getattr(new, name) == getattr(base, name) for name in names):
        return  # nothing to keep: no need to tokenize
    keep = 0
    if new.model == old.model:
        keep = unchanged_prefix(_tokens(old.model, old.sentence, old.pair),
                                _tokens(new.model, new.sentence, new.pair))
    for name in names:
        value = getattr(new, name)
        if isinstance(value, list):
            setattr(new, name, [p for p in value if p < keep])
        elif value >= keep:
            setattr(new, name, getattr(base, name))


def bind(name: str, key: str | None = None) -> dict:
    """Keyword arguments that tie a widget to the field ``name``: ``key``, ``on_change``, ``args``.

    The widget's value is seeded from the state whenever the state changed elsewhere (a button, the
    URL, a clamp), so do not also pass ``value=``/``index=``/``default=`` to the widget.
    """
    if name not in FIELDS:
        raise TypeError(f"State has no field {name!r}")
    key = key or f"w_{name}"
    value = getattr(current(), name)
    ss = st.session_state
    synced = ss.setdefault(SYNCED, {})
    if key not in ss or synced.get(key) != value:
        ss[key] = copy.deepcopy(value)
        synced[key] = copy.deepcopy(value)
    return {"key": key, "on_change": _sync, "args": (name, key)}


def _sync(name: str, key: str) -> None:
    """on_change of a bound widget: its value -> the state (an invalid value is put back)."""
    ss = st.session_state
    update(**{name: ss[key]})
    value = getattr(current(), name)
    if ss[key] != value:
        ss[key] = copy.deepcopy(value)
    ss.setdefault(SYNCED, {})[key] = copy.deepcopy(value)


def kept(key: str, default, valid=lambda value: True) -> dict:
    """Keyword arguments (``key``, ``on_change``, ``args``) for a widget of a view's own (not in
    the URL: a summary's pattern, a bertviz view) whose value is kept while the widget is not
    drawn, as when another section or part of its page is shown. Streamlit forgets such a
    widget's value; this seeds it again from a copy (``default`` when there is none, or when
    ``valid`` refuses it). A callback that sets the value itself calls :func:`keep` after."""
    ss = st.session_state
    if key not in ss:
        value = ss.setdefault(KEPT, {}).get(key, default)
        ss[key] = value if valid(value) else default
    return {"key": key, "on_change": keep, "args": (key,)}


def keep(key: str) -> None:
    """Keeps widget ``key``'s value (see :func:`kept`)."""
    st.session_state.setdefault(KEPT, {})[key] = st.session_state[key]


def clamp_layer_head(num_layers: int, num_heads: int) -> State:
    """Keeps layer and head inside the current model (a URL may name layer 11 of a 2-layer one)."""
    s = current()
    layer = min(s.layer, max(0, num_layers - 1))
    head = min(s.head, max(0, num_heads - 1))
    if (layer, head) != (s.layer, s.head):
        update(layer=layer, head=head)
    return current()

"""The model registry: loaded models, and what every page asks of them, computed once and shared.

* Models live in one ``st.cache_resource`` registry shared by every session (a loaded ``Bert`` is
  read-only: eval mode, inference only). Loading runs in a worker thread so that the page can draw a
  progress bar while a hub model downloads (huggingface_hub reports from its own threads, which
  cannot draw on the page). A failed load is forgotten, so it can be retried.
* ``explain`` keeps whole explanations (every intermediate tensor of a forward pass) in
  ``st.cache_resource`` with a small ``max_entries``: they are read-only and large, and
  ``st.cache_data`` would pickle ~100 MB per call for a long bert-base input. ``encode`` is the
  tokenized input, which several pages draw.

While an offline default is in use, ``offline_note()`` says on a page what it is and how to get
the real BERT it stands in for.

Each page keeps its own cached views (``st.cache_data`` over a ``bertcore`` function), reading the
model with ``loaded(name)``.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from concurrent.futures import Future, ThreadPoolExecutor, wait
from pathlib import Path

import streamlit as st

import bertcore
from bertcore import defaults
from bertcore.checkpoint import CheckpointError, OfflineError, progress_tqdm

from . import state
from .i18n import md_escape, t

MAX_MODELS = 3  # models kept in memory at once (a bert-base is ~0.45 GB)


class _Registry:
    """name -> Future[Bert], loaded in worker threads; the oldest finished model is dropped
    first."""

    def __init__(self):
        self.lock = threading.Lock()
        self.futures: OrderedDict[str, Future] = OrderedDict()
        self.progress: dict[str, tuple[int, int, str]] = {}
        self.pool = ThreadPoolExecutor(max_workers=2, thread_name_prefix="bertlab-load")

    def start(self, name: str) -> Future:
        with self.lock:
            fut = self.futures.get(name)
            if fut is None:
                fut = self.futures[name] = self.pool.submit(self._load, name)
                done = [n for n, f in self.futures.items() if f.done() and n != name]
                while len(self.futures) > MAX_MODELS and done:
                    self.futures.pop(done.pop(0), None)
            self.futures.move_to_end(name)
            return fut

    def forget(self, name: str) -> None:
        with self.lock:
            self.futures.pop(name, None)
            self.progress.pop(name, None)

    def _load(self, name: str) -> bertcore.Bert:
        def report(done: int, total: int, desc: str) -> None:
            self.progress[name] = (done, total, desc)

        if _is_hub_id(name):
            try:  # already in the hub cache: no network at all
                return bertcore.load(name, local_files_only=True)
            except OfflineError:
                pass
            return bertcore.load(name, tqdm_class=progress_tqdm(report))
        return bertcore.load(name)


def _is_hub_id(name: str) -> bool:
    return name not in defaults.OFFLINE_MODELS and not Path(name).expanduser().exists()


@st.cache_resource(show_spinner=False)
def _registry() -> _Registry:
    return _Registry()


def _result(fut: Future, name: str) -> bertcore.Bert:
    try:
        return fut.result()
    except CheckpointError:
        _registry().forget(name)
        raise
    except Exception as e:  # a broken vocab, an unexpected file: still a message, not a traceback
        _registry().forget(name)
        raise CheckpointError(f"{type(e).__name__}: {e}") from e


def get_bert(name: str) -> bertcore.Bert:
    """The loaded model ``name``, shared by all sessions; shows progress on the page while loading.

    Raises:
        bertcore.CheckpointError (OfflineError for a hub model that needs a network).
    """
    reg = _registry()
    fut = reg.start(name)
    if not fut.done():
        box = st.empty()
        while not fut.done():
            done, total, desc = reg.progress.get(name, (0, 0, ""))
            if total:
                box.progress(min(done / total, 1.0),
                             text=t("model.downloading", name=name, file=desc or "…"))
            else:
                box.info(t("model.loading", name=name), icon="⏳")
            wait([fut], timeout=0.25)
        box.empty()
    return _result(fut, name)


def preload(name: str) -> None:
    """Starts loading model ``name`` in the registry's threads, without waiting (ui.serve)."""
    _registry().start(name)


def loaded(name: str) -> bertcore.Bert:
    """The model, waiting without drawing anything (for use inside cached functions)."""
    return _result(_registry().start(name), name)


def current_bert() -> bertcore.Bert:
    """The model chosen in the sidebar (app.py has loaded it, or fallen back, before any page)."""
    return get_bert(state.current().model)


def offline_note() -> None:
    """One line under a page's introduction while an offline default is loaded and the real BERT
    of its language is not on disk: what the model is, and how to get the real one (not in
    presenter mode, where the class would read it)."""
    s = state.current()
    if s.model not in defaults.OFFLINE_MODELS or s.presenter:
        return
    real = defaults.REAL_MODELS.get(s.model.removeprefix("offline-"), ("bert-base-uncased",))
    if not defaults.on_disk(real):
        st.caption(t("model.offline_note", name=md_escape(s.model), real=real[0]))


# ----------------------------------------------------------------------------- explanations

@st.cache_resource(max_entries=8, show_spinner=False)
def explain(name: str, sentence: str, pair: str | None,
            head_mask: tuple | None = None) -> bertcore.Explained:
    """Every intermediate of one forward pass (read-only; shared, never pickled, see module doc)."""
    return loaded(name).explain(sentence, pair or None, head_mask=head_mask)


_read_ahead: dict[tuple, None] = {}  # the inputs read ahead by this process, oldest first
_read_ahead_lock = threading.Lock()
READ_AHEAD_KEPT = 64


def read_ahead(name: str, sentence: str, pair: str | None) -> None:
    """Starts ``explain`` of a new input in a thread of its own, once per process: the pages that
    draw the model's reading (attention, layer, lesson) then find it done when a reader opens
    them after an edit on another page. A bert-base-sized model's pass is ~0.2 s of a switch.

    Called after a page's run, so that the page itself is not kept waiting. A failure is left to
    the page that asks for it, which says so.
    """
    key = (name, sentence, pair or None)
    if not sentence.strip():
        return
    with _read_ahead_lock:
        if key in _read_ahead:
            return
        _read_ahead[key] = None
        while len(_read_ahead) > READ_AHEAD_KEPT:
            del _read_ahead[next(iter(_read_ahead))]
    threading.Thread(target=_read, args=key, name="bertlab-read-ahead", daemon=True).start()


def _read(name: str, sentence: str, pair: str | None) -> None:
    try:
        explain(name, sentence, pair)
    except Exception:  # (the page that asks for it reports it)
        pass


@st.cache_data(max_entries=64, show_spinner=False)
def encode(name: str, sentence: str, pair: str | None) -> bertcore.Encoding:
    """``[CLS] sentence [SEP] (pair [SEP])`` as model ``name`` reads it, cut to its length."""
    return loaded(name).encode(sentence, pair or None)

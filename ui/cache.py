"""Models and per-sentence results, computed once and shared.

* Models live in one ``st.cache_resource`` registry shared by every session (a loaded ``Bert`` is
  read-only: eval mode, inference only). Loading runs in a worker thread so that the page can draw a
  progress bar while a hub model downloads (huggingface_hub reports from its own threads, which
  cannot draw on the page). A failed load is forgotten, so it can be retried.
* ``explain`` keeps whole explanations (every intermediate tensor of a forward pass) in
  ``st.cache_resource`` with a small ``max_entries``: they are read-only and large, and
  ``st.cache_data`` would pickle ~100 MB per call for a long bert-base input.
* The ``*_view`` functions return the compact numpy arrays a page draws, in ``st.cache_data``.
"""

from __future__ import annotations

import io
import os
import re
import tempfile
import threading
import time
import zipfile
from collections import OrderedDict
from concurrent.futures import Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import streamlit as st

import bertcore
from bertcore import defaults, finetune, lab, tasks, toy
from bertcore.checkpoint import CheckpointError, OfflineError, progress_tqdm

from . import state
from .i18n import t

MAX_MODELS = 3  # models kept in memory at once (a bert-base is ~0.45 GB)


class _Registry:
    """name -> Future[Bert], loaded in worker threads; the oldest finished model is dropped first."""

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


def _bert(name: str) -> bertcore.Bert:
    """The model, waiting without drawing anything (for use inside cached functions)."""
    return _result(_registry().start(name), name)


def current_bert() -> bertcore.Bert:
    """The model chosen in the sidebar (app.py has loaded it, or fallen back, before any page)."""
    return get_bert(state.current().model)


# ----------------------------------------------------------------------------- explanations

@st.cache_resource(max_entries=8, show_spinner=False)
def explain(name: str, sentence: str, pair: str | None,
            head_mask: tuple | None = None) -> bertcore.Explained:
    """Every intermediate of one forward pass (read-only; shared, never pickled, see module doc)."""
    return _bert(name).explain(sentence, pair or None, head_mask=head_mask)


def _encode(name: str, sentence: str, pair: str | None):
    return _bert(name).encode(sentence, pair or None)


# ----------------------------------------------------------------------------- page views

@dataclass
class TokenView:
    tokens: list[str]
    ids: list[int]
    type_ids: list[int]
    attention_mask: list[int]
    special: list[int]
    word_ids: list[int | None]
    words: list[str]
    removed_a: list[str]
    removed_b: list[str]
    traces_a: list
    traces_b: list
    max_length: int
    lowercase: bool


MAX_TRACED_WORDS = 60


@st.cache_data(max_entries=64, show_spinner=False)
def token_view(name: str, sentence: str, pair: str | None) -> TokenView:
    """The encoding of a sentence (or pair) and the WordPiece trace of its first words."""
    bert = _bert(name)
    enc = bert.encode(sentence, pair or None)
    cut = enc.truncation
    return TokenView(enc.tokens, enc.ids, enc.type_ids, enc.attention_mask,
                     enc.special_tokens_mask, enc.word_ids, enc.words,
                     cut.removed_a if cut else [], cut.removed_b if cut else [],
                     bert.tokenizer.trace(sentence)[:MAX_TRACED_WORDS],
                     bert.tokenizer.trace(pair)[:MAX_TRACED_WORDS] if pair else [],
                     bert.max_length, bert.tokenizer.do_lower_case)


@st.cache_data(max_entries=32, show_spinner=False)
def embedding_view(name: str, sentence: str, pair: str | None) -> lab.EmbeddingParts:
    """Word, position and segment vectors, their sum and LayerNorm, checked against the model."""
    bert = _bert(name)
    return lab.embedding_parts(bert, bert.encode(sentence, pair or None))


@st.cache_data(max_entries=16, show_spinner=False)
def position_similarity(name: str, n: int) -> np.ndarray:
    return lab.position_similarity(_bert(name), n)


@dataclass
class MaskView:
    tokens: list[str]  # the input with [MASK] at the masked positions
    positions: list[int]
    top_ids: np.ndarray  # (M, k) independent predictions (one forward pass)
    top_tokens: list[list[str]]
    top_probs: np.ndarray  # (M, k)
    greedy: list[tuple[int, str, float]]  # (position, token, prob) in the order they were filled
    greedy_top_tokens: dict[int, list[str]]
    greedy_top_probs: dict[int, np.ndarray]
    lens_tokens: list[list[list[str]]]  # (L+1, M, k)
    lens_probs: np.ndarray  # (L+1, M, k)


@st.cache_data(max_entries=64, show_spinner=False)
def mask_view(name: str, sentence: str, pair: str | None, positions: tuple[int, ...],
              k: int = 5) -> MaskView:
    """Predictions for the masked positions: independent, greedy, and per layer (logit lens)."""
    bert = _bert(name)
    tok = bert.tokenizer
    enc = lab.mask_encoding(bert.encode(sentence, pair or None), positions, tok.mask_token_id,
                            tok.mask_token)
    words = lambda ids: [tok.ids_to_tokens.get(int(i), "[UNK]") for i in ids]  # noqa: E731
    # One explained forward gives every layer's guess; the last layer's is the prediction, and
    # the first step of greedy filling (so M masks cost M forward passes in all).
    lens_ids, lens_probs = lab.logit_lens(bert, _hidden_states(bert, enc), positions, k)
    top_ids, top_probs = lens_ids[-1], lens_probs[-1]
    steps = lab.greedy_fill(bert, enc, positions, k, first=(top_ids, top_probs))
    return MaskView(
        enc.tokens, list(positions), top_ids, [words(r) for r in top_ids], top_probs,
        [(s.position, words([s.token_id])[0], s.prob) for s in steps],
        {s.position: words(s.top_ids) for s in steps},
        {s.position: s.top_probs for s in steps},
        [[words(m) for m in layer] for layer in lens_ids], lens_probs)


def _hidden_states(bert, enc):
    """L + 1 hidden states of an encoding (here: one with [MASK]s put in by position)."""
    out = bert.forward(enc, explain=True)
    return out.hidden.explanation.hidden_states


@st.cache_data(max_entries=64, show_spinner=False)
def pretraining_view(name: str, sentence: str, pair: str | None, seed: int) -> lab.PretrainingMask:
    bert = _bert(name)
    return lab.pretraining_mask(bert, bert.encode(sentence, pair or None), seed)


@dataclass
class PairView:
    tokens: list[str]
    type_ids: list[int]
    p_is_next: float
    a_positions: list[int]
    b_positions: list[int]
    cross: np.ndarray  # (L, |A|, |B|) attention from A's tokens to B's, mean over heads
    removed: int


@st.cache_data(max_entries=64, show_spinner=False)
def pair_view(name: str, a: str, b: str) -> PairView:
    x = explain(name, a, b)
    enc = x.encoding
    rows, cols = lab.segment_positions(enc)
    cut = enc.truncation
    return PairView(enc.tokens, enc.type_ids, lab.is_next_probability(x.nsp_logits), rows, cols,
                    lab.cross_attention(x.attentions, rows, cols),
                    len(cut.removed_a) + len(cut.removed_b) if cut else 0)


# ----------------------------------------------------------------------------- live pretraining

@st.cache_resource(max_entries=6, show_spinner=False)
def toy_setup(language: str, n_docs: int, cloze: str) -> toy.ToySetup:
    """The shared starting point of the pretraining page (read-only: runs train deep copies)."""
    return toy.toy_setup(language, n_docs, extra_texts=(cloze,))


@dataclass
class ToyCorpusView:
    n_docs: int
    n_sentences: int
    vocab_size: int
    n_examples: int
    first_document: list[str]
    pairs: list[tuple[str, str, bool]]  # (A, B, is_next) of the first examples, as text


_CJK_SPACE = re.compile(r"(?<=[^\x00-\x7f]) (?=[^\x00-\x7f])")  # a space between two non-ASCII


@st.cache_data(max_entries=12, show_spinner=False)
def toy_corpus(language: str, n_docs: int, cloze: str) -> ToyCorpusView:
    setup = toy_setup(language, n_docs, cloze)
    tok = setup.tokenizer
    def text(ids) -> str:  # decode() spaces every token; Chinese is written without spaces
        return _CJK_SPACE.sub("", tok.decode(ids))

    pairs = [(text(ex.tokens_a), text(ex.tokens_b), bool(ex.is_next)) for ex in setup.examples[:6]]
    return ToyCorpusView(len(setup.documents),
                         sum(len(d) for d in setup.documents), tok.vocab_size,
                         len(setup.examples), list(setup.documents[0]), pairs)


@st.cache_data(max_entries=32, show_spinner=False)
def toy_masked_example(language: str, n_docs: int, cloze: str, seed: int) -> dict:
    """One training example with masks drawn by ``seed`` (tokens, original, actions, segments)."""
    return toy.masked_example(toy_setup(language, n_docs, cloze), 0, seed)


def toy_unknown_words(language: str, n_docs: int, cloze: str, text: str) -> list[str]:
    return toy.unknown_words(toy_setup(language, n_docs, cloze).tokenizer, text)


def new_toy_run(language: str, n_docs: int, cloze: str) -> toy.ToyRun:
    """A fresh run with this session's own copy of the starting model."""
    return toy.ToyRun.start(toy_setup(language, n_docs, cloze))


# ----------------------------------------------------------------------------- fine-tuning
# A session's fine-tuning run lives in a TrainingJob kept in its st.session_state: a background
# thread trains a *copy* of the shared model (finetune.run copies the weights; the shared Bert is
# only read), and the page polls the job from an st.fragment. The thread never calls Streamlit.
# Memory stays bounded: each session keeps one job (a new Start replaces the old one), and at most
# MAX_TRAININGS runs train at once across all sessions (BERTLAB_MAX_TRAININGS); a session that
# finds every slot taken gets a message instead of a run, and the runs already going are untouched.

MAX_TRAININGS = int(os.environ.get("BERTLAB_MAX_TRAININGS", "2"))
JOB_KEY = "_ft_job"


@st.cache_resource(show_spinner=False)
def _training_slots() -> threading.BoundedSemaphore:
    return threading.BoundedSemaphore(MAX_TRAININGS)


@st.cache_resource(max_entries=4, show_spinner=False)
def task_data(name: str) -> tasks.TaskData:
    """A built-in fine-tuning set (read-only, shared by all sessions)."""
    return tasks.builtin(name)


@st.cache_resource(max_entries=4, show_spinner=False)
def hub_data(spec: str) -> tasks.TaskData:
    """A Hugging Face data set by ``NAME[:CONFIG]`` (read-only, shared; failures are not cached)."""
    return tasks.from_hub(spec)


def upload_data(name: str, data: bytes) -> tasks.TaskData:
    """An uploaded file as a task set; raises tasks.DataError with a code the page translates."""
    return tasks.read_upload(name, data)


class TrainingJob:
    """One fine-tuning run in a background thread, read by the page while it runs."""

    def __init__(self, data: tasks.TaskData, cfg: finetune.FinetuneConfig, model_name: str):
        self.data, self.cfg, self.model_name = data, cfg, model_name
        self.lock = threading.Lock()
        self.stop_event = threading.Event()
        self.status = "preparing"  # preparing, training, done, failed
        self.history: list[dict] = []
        self.step, self.max_steps, self.eta_s = 0, 0, None
        self.plan: finetune.Plan | None = None
        self.before: finetune.Snapshot | None = None
        self.outcome: finetune.Outcome | None = None
        self.error: Exception | None = None
        self.started = time.time()
        self._zip: bytes | None = None
        self.thread: threading.Thread | None = None

    # -- the worker side
    def _on_plan(self, plan, before) -> None:
        with self.lock:
            self.plan, self.before, self.max_steps, self.status = plan, before, plan.steps, "training"

    def _on_progress(self, p) -> None:
        with self.lock:
            self.step, self.max_steps, self.eta_s = p.step, p.max_steps, p.eta_s
            self.history.append({"step": p.step, "loss": p.loss, **(p.metrics or {})})

    def _run(self, bert: bertcore.Bert, slots: threading.BoundedSemaphore) -> None:
        try:
            out = finetune.run(bert.model, bert.config, bert.tokenizer, self.data, self.cfg,
                               callback=self._on_progress, should_stop=self.stop_event.is_set,
                               on_plan=self._on_plan)
            with self.lock:
                self.outcome, self.status = out, "done"
        except Exception as e:  # shown on the page as a message, never a traceback
            with self.lock:
                self.error, self.status = e, "failed"
        finally:
            slots.release()

    # -- the page side
    @property
    def running(self) -> bool:
        return self.status in ("preparing", "training")

    def stop(self) -> None:
        self.stop_event.set()

    def view(self) -> dict:
        """A consistent copy of what the live panel draws."""
        with self.lock:
            return {"status": self.status, "history": list(self.history), "step": self.step,
                    "max_steps": self.max_steps, "eta_s": self.eta_s, "plan": self.plan,
                    "elapsed": time.time() - self.started, "stopping": self.stop_event.is_set()}

    def model_zip(self) -> bytes:
        """The fine-tuned model as a zip of its Hugging Face folder (made once)."""
        if self._zip is None and self.outcome is not None:
            with tempfile.TemporaryDirectory() as tmp:
                folder = finetune.save(self.outcome, Path(tmp) / "model")
                buf = io.BytesIO()
                with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
                    for f in sorted(folder.iterdir()):
                        z.write(f, f"bertlab-finetuned/{f.name}")
                self._zip = buf.getvalue()
        return self._zip or b""

    def log_json(self) -> str:
        import json

        return json.dumps(self.outcome.log() if self.outcome else {}, indent=1,
                          ensure_ascii=False, default=float)


def training_job() -> TrainingJob | None:
    """This session's job, if it started one."""
    return st.session_state.get(JOB_KEY)


def start_training(bert: bertcore.Bert, model_name: str, data: tasks.TaskData,
                   cfg: finetune.FinetuneConfig) -> TrainingJob | None:
    """Starts a run for this session (replacing its previous job); None when all slots are busy."""
    old = training_job()
    if old is not None and old.running:
        return old
    slots = _training_slots()
    if not slots.acquire(blocking=False):
        return None
    job = TrainingJob(data, cfg, model_name)
    st.session_state[JOB_KEY] = job  # the old job (and its model) is dropped here
    job.thread = threading.Thread(target=job._run, args=(bert, slots), daemon=True,
                                  name="bertlab-finetune")
    job.thread.start()
    return job


def try_finetuned(job: TrainingJob, text: str, question: str = "") -> dict:
    """The fine-tuned model's answer for one input (see finetune.predict)."""
    out = job.outcome
    with job.lock:
        return finetune.predict(out.model, out.tokenizer, out.task, text, out.labels, question,
                                max_length=max(out.config.max_length, 128))

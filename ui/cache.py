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

import threading
from collections import OrderedDict
from concurrent.futures import Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import streamlit as st

import bertcore
from bertcore import defaults, lab, toy
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
    top_ids, top_probs = lab.top_k(lab.logits_at(bert, enc, positions), k)
    steps = lab.greedy_fill(bert, enc, positions, k)
    lens_ids, lens_probs = lab.logit_lens(bert, _hidden_states(bert, enc), positions, k)
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
    source: str
    n_docs: int
    n_sentences: int
    vocab_size: int
    n_examples: int
    first_document: list[str]
    pairs: list[tuple[str, str, bool]]  # (A, B, is_next) of the first examples, as text


@st.cache_data(max_entries=12, show_spinner=False)
def toy_corpus(language: str, n_docs: int, cloze: str) -> ToyCorpusView:
    setup = toy_setup(language, n_docs, cloze)
    tok = setup.tokenizer
    pairs = [(tok.decode(ex.tokens_a), tok.decode(ex.tokens_b), bool(ex.is_next))
             for ex in setup.examples[:6]]
    return ToyCorpusView(toy.TOY_SOURCES[language], len(setup.documents),
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

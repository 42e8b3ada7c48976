"""The three fine-tuning heads, read on one input: what each one computes from the encoder's output.

Fine-tuning (Devlin et al., 2019, "BERT: Pre-training of Deep Bidirectional Transformers for
Language Understanding", https://arxiv.org/abs/1810.04805, §3.2, §4 and figure 4) adds one layer
on top of the pretrained encoder and nothing else:

* sentence (or sentence-pair) classification (§4.1, figure 4a/b): the final vector of [CLS] ``C``
  goes through a classification layer ``W`` (C × D), and ``softmax(C Wᵀ)`` gives the class
  probabilities. As in the released code and Hugging Face's ``BertForSequenceClassification``,
  ``C`` is the *pooled* [CLS] vector: the pooler's ``tanh(dense(h_CLS))``, the vector the
  next-sentence head was pre-trained on;
* token classification, e.g. named entities (§5.3, figure 4d; ``BertForTokenClassification``):
  the same kind of layer reads every token's final vector, and each token gets a tag;
* question answering (§4.2, figure 4c; ``BertForQuestionAnswering``): the question is sentence A
  and the passage sentence B; a start vector ``S`` and an end vector ``E`` score every token
  (``qa_outputs``, one D → 2 layer), and the answer is the span i..j (j ≥ i, inside the passage)
  with the highest ``S·T_i + E·T_j``.

:func:`read_head` runs a model on one input and returns what one head computes, as numpy arrays.
A model that *is* that task model (a fine-tuned checkpoint, or the copy the fine-tuning page just
trained) reads with its own, trained head. Any other BERT (a pretrained checkpoint: the normal
case) gets the head fine-tuning would start from, :func:`new_head`: freshly initialised the way BERT
initialises a layer (normal, std ``initializer_range``; bias 0), from a fixed seed so that the same
model gives the same numbers every time. It sits on the model's encoder, which is shared, not
copied: only the small new layer is made. Its answers mean nothing until it is trained.

Attribute names are Hugging Face's (``bert``, ``bert.pooler``, ``classifier``, ``qa_outputs``),
so a head read here equals the transformers class with the same weights.

Shapes: T tokens, D hidden, C classes (or tags); all results numpy arrays on the CPU.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from .config import BertConfig
from .device import to_numpy
from .finetune import ARCHITECTURES, best_span
from .model import BertPooler
from .tasks import NER_LABELS, TASKS
from .tokenizer import Tokenizer

HEAD_SEED = 0  # seeds an untrained head: the same model shows the same numbers every time
# What an untrained head is made to tell apart: the classes and tags of the page's built-in
# tasks (the built-in sentiment sets, People's Daily's entity tags).
DEFAULT_LABELS = {"classification": ["negative", "positive"], "ner": list(NER_LABELS), "qa": []}
HEAD_NAMES = {"classification": "classifier", "ner": "classifier", "qa": "qa_outputs"}


@dataclass
class HeadReading:
    """What one head computed on one input."""

    task: str  # "classification", "ner" or "qa"
    tokens: list[str]  # (T,) the pieces read, [CLS] and [SEP] included
    type_ids: list[int]  # (T,) 0 for sentence A, 1 for sentence B
    labels: list[str]  # the C class or tag names ([] for qa)
    logits: np.ndarray  # (C,) classification; (T, C) ner; (T, 2) qa: start, end scores
    probs: np.ndarray  # softmax of the logits: over classes (C,); over tags, per token (T, C);
    # for qa over the tokens, for start and for end (T, 2)
    best: list[int]  # classification: [the likeliest class]; ner: the likeliest tag per token
    # (T,); qa: [start, end] of the best answer span
    trained: bool  # the head's weights were trained (not made by new_head)
    truncated: int  # pieces cut off to fit the model
    answer: str = ""  # qa: the best span's text


def new_head(config: BertConfig, task: str, num_labels: int = 0,
             seed: int = HEAD_SEED) -> nn.Linear:
    """The one layer fine-tuning adds, before any training: D -> C (``classifier``) or D -> 2
    (``qa_outputs``), weights ~ N(0, initializer_range) and bias 0 as BERT initialises a layer,
    drawn from ``seed`` (on the CPU, so every device gets the same numbers).

    Args:
        config: the encoder's config (hidden size, initializer_range).
        task: "classification", "ner" or "qa".
        num_labels: classes or tags (ignored for qa, which scores start and end).
    """
    if task not in TASKS:
        raise ValueError(f"unknown task {task!r}; choose one of {TASKS}")
    out = 2 if task == "qa" else num_labels
    gen = torch.Generator().manual_seed(seed)
    layer = nn.Linear(config.hidden_size, out)
    with torch.no_grad():
        layer.weight.copy_(torch.randn(out, config.hidden_size, generator=gen)
                           * config.initializer_range)  # (C, D)
        layer.bias.zero_()
    return layer.eval()


def _new_pooler(config: BertConfig, seed: int) -> BertPooler:
    """A pooler for an encoder saved without one (a masked-LM-only checkpoint), made like
    :func:`new_head` (its dense layer from ``seed + 1``)."""
    pooler = BertPooler(config)
    dense = new_head(config, "classification", config.hidden_size, seed + 1)
    pooler.dense.load_state_dict(dense.state_dict())
    return pooler.eval()


def has_head(model: nn.Module, task: str) -> bool:
    """Whether ``model`` is ``task``'s task model, with a head of its own (fine-tuned)."""
    return type(model).__name__ == ARCHITECTURES[task] and hasattr(model, HEAD_NAMES[task])


def read_head(model: nn.Module, tokenizer: Tokenizer, task: str, text: str,
              pair: str | None = None, labels: list[str] | None = None,
              max_length: int = 512, seed: int = HEAD_SEED) -> HeadReading:
    """One input through the encoder of ``model`` and the head of ``task``.

    Args:
        model: any bertcore BERT. If it is ``task``'s task model (``has_head``) its own head
            reads; otherwise :func:`new_head` (from ``seed``) is put on its encoder.
        tokenizer: the model's tokenizer.
        task: "classification" (the pooled [CLS] vector -> classes), "ner" (every token -> a
            tag) or "qa" (every token -> start and end scores; ``text`` is the question,
            ``pair`` the passage).
        text, pair: sentence A and the optional sentence B.
        labels: the class or tag names; default: the model's ``id2label`` for a trained head,
            else ``DEFAULT_LABELS[task]``.
        max_length: pieces read at most (the model's own limit is also kept).

    Returns:
        a :class:`HeadReading`. For qa the span lies in sentence B (in the whole input after
        [CLS] when there is no B), at most ``finetune.MAX_ANSWER_TOKENS`` pieces, never on the
        last [SEP].
    """
    return read_heads(model, tokenizer, (task,), text, pair, {task: labels}, max_length,
                      seed)[task]


@torch.inference_mode()
def read_heads(model: nn.Module, tokenizer: Tokenizer, tasks: tuple[str, ...], text: str,
               pair: str | None = None, labels: dict[str, list[str] | None] | None = None,
               max_length: int = 512, seed: int = HEAD_SEED) -> dict[str, HeadReading]:
    """Several heads on one input, from one pass of the encoder (see :func:`read_head`).

    Returns:
        task -> its :class:`HeadReading`, for each of ``tasks``.
    """
    unknown = [task for task in tasks if task not in TASKS]
    if unknown:
        raise ValueError(f"unknown task {unknown[0]!r}; choose one of {TASKS}")
    encoder = getattr(model, "bert", model)  # a bare BertModel is its own encoder
    config = encoder.config
    param = next(encoder.parameters())
    limit = min(max_length, config.max_position_embeddings)
    enc = tokenizer.encode(text, pair or None, max_length=limit)
    as_t = lambda xs: torch.tensor([xs], dtype=torch.long, device=param.device)  # noqa: E731
    out = encoder(as_t(enc.ids), as_t(enc.type_ids), as_t(enc.attention_mask))
    hidden = out.last_hidden_state  # (1, T, D)
    cut = enc.truncation
    truncated = len(cut.removed_a) + len(cut.removed_b) if cut else 0

    readings = {}
    for task in tasks:
        trained = has_head(model, task)
        names = (labels or {}).get(task)
        if names is None:
            named = (config.id2label or {}) if trained else {}
            names = ([named[i] for i in sorted(named)] if named and task != "qa"
                     else list(DEFAULT_LABELS[task]))
        head = (getattr(model, HEAD_NAMES[task]) if trained
                else new_head(config, task, len(names), seed).to(param.device, param.dtype))
        if task == "classification":
            pooled = out.pooler_output  # (1, D): tanh(dense(h_CLS))
            if pooled is None:
                pooled = _new_pooler(config, seed).to(param.device, param.dtype)(hidden)
            logits = head(pooled)[0].float()  # (C,)
            probs = logits.softmax(-1)  # (C,)
            best = [int(probs.argmax())]
        elif task == "ner":
            logits = head(hidden)[0].float()  # (T, C)
            probs = logits.softmax(-1)  # (T, C)
            best = probs.argmax(-1).tolist()  # (T,)
        else:
            logits = head(hidden)[0].float()  # (T, 2): start, end
            probs = logits.softmax(0)  # (T, 2): over the tokens
            first = enc.type_ids.index(1) if 1 in enc.type_ids else 1
            last = len(enc.ids) - 1  # the final [SEP] is not part of an answer
            best = list(best_span(logits[:last, 0].cpu(), logits[:last, 1].cpu(), first))
        answer = tokenizer.decode(enc.ids[best[0]:best[1] + 1]) if task == "qa" else ""
        readings[task] = HeadReading(task, list(enc.tokens), list(enc.type_ids), list(names),
                                     to_numpy(logits), to_numpy(probs), best, trained,
                                     truncated, answer)
    return readings

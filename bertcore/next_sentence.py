"""Next sentence prediction: does B follow A? And what sentence A's tokens look at in B.

BERT's second pretraining task (Devlin et al., 2019, https://arxiv.org/abs/1810.04805, section
3.1, "Task #2") reads ``[CLS] A [SEP] B [SEP]``, with segment 0 for A and 1 for B, and classifies
the pooled [CLS] vector as IsNext (class 0) or NotNext (class 1). Attention runs over the whole
pair, so in every layer A's tokens can look at B's: :func:`cross_attention` shows how much.

:func:`read_pair` runs what this needs and no more: the encoder (explained, for its attention) and
the NSP head on the pooled [CLS]; the masked-LM head, which scores the whole vocabulary at every
token, stays off.

How well a model separates is measured on :func:`heldout_pairs`, everyday two-sentence stories
written for BERT Lab and kept out of all training (``examples/nsp_heldout.tsv``): half are true
continuations, half put sentence A of one story before sentence B of another. :func:`evaluate`
gives the accuracy and the median P(IsNext) of each half.

Shapes: L layers, H heads, T tokens; results are numpy arrays on the CPU.
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

import numpy as np
import torch

from .device import to_numpy
from .tokenizer import Encoding

HELDOUT = Path(__file__).resolve().parent.parent / "examples" / "nsp_heldout.tsv"


def is_next_probability(nsp_logits: torch.Tensor) -> float:
    """P(IsNext) from the NSP head's (1, 2) logits (class 0 is IsNext, as in BERT)."""
    return float(torch.as_tensor(nsp_logits).float().softmax(-1).reshape(-1)[0])


def segment_positions(enc: Encoding) -> tuple[list[int], list[int]]:
    """Positions of sentence A's and sentence B's own tokens ([CLS]/[SEP] left out)."""
    own = [(i, s) for i, (s, sp) in enumerate(zip(enc.type_ids, enc.special_tokens_mask)) if not sp]
    return [i for i, s in own if s == 0], [i for i, s in own if s == 1]


def cross_attention(attentions, rows, cols) -> np.ndarray:
    """Attention from ``rows`` to ``cols``, averaged over heads, per layer: (L, |rows|, |cols|).

    Args:
        attentions: L tensors (1, H, T, T) of attention probabilities (row = query, column = key).
    """
    r, c = list(rows), list(cols)
    if not r or not c:
        return np.zeros((len(attentions), len(r), len(c)), dtype=np.float32)
    probs = torch.stack([a[0] for a in attentions])  # (L, H, T, T)
    return to_numpy(probs[:, :, r][:, :, :, c].mean(dim=1))  # (L, |rows|, |cols|)


@dataclass
class PairView:
    """What the next-sentence page draws for one pair."""

    tokens: list[str]
    type_ids: list[int]
    p_is_next: float
    a_positions: list[int]
    b_positions: list[int]
    cross: np.ndarray  # (L, |A|, |B|) attention from A's tokens to B's, mean over heads
    removed: int  # tokens cut off to fit the model


def _view(enc: Encoding, nsp_logits, attentions) -> PairView:
    rows, cols = segment_positions(enc)
    cut = enc.truncation
    return PairView(enc.tokens, enc.type_ids, is_next_probability(nsp_logits), rows, cols,
                    cross_attention(attentions, rows, cols),
                    len(cut.removed_a) + len(cut.removed_b) if cut else 0)


def pair_view(x) -> PairView:
    """:class:`PairView` of an explained pair (``bert.explain(a, b)``)."""
    return _view(x.encoding, x.nsp_logits, x.attentions)


@torch.inference_mode()
def read_pair(bert, enc: Encoding) -> PairView:
    """:class:`PairView` of an encoded pair, from the encoder and the NSP head alone (the same
    numbers as :func:`pair_view` of ``bert.explain``, without the masked-LM head's work)."""
    t = bert.tensors(enc)
    out = bert.model.bert(t["input_ids"], t["token_type_ids"], t["attention_mask"], explain=True)
    nsp_logits = bert.model.cls.seq_relationship(out.pooler_output)
    return _view(enc, nsp_logits, out.explanation.attentions)


# ------------------------------------------------------------------------- how well it separates

class HeldoutPair(NamedTuple):
    a: str
    b: str
    follows: bool  # B is A's true continuation


class Separation(NamedTuple):
    """How well a model tells true continuations from unrelated sentences."""

    accuracy: float  # share of pairs on the right side of P(IsNext) = 0.5
    median_true: float  # median P(IsNext) of the true continuations
    median_unrelated: float  # median P(IsNext) of the unrelated pairs
    pairs: int


def heldout_pairs(lang: str, path: Path = HELDOUT) -> list[HeldoutPair]:
    """The held-out pairs of ``lang`` ("en", "zh"): tab-separated ``lang follows a b`` lines under
    a header, ``#`` comments.

    Raises:
        ValueError: a line that does not have four fields, or ``follows`` other than 0 / 1.
    """
    pairs = []
    lines = [line for line in path.read_text(encoding="utf-8").splitlines()
             if line.strip() and not line.startswith("#")]
    for n, line in enumerate(lines[1:], 2):
        fields = line.split("\t")
        if len(fields) != 4 or fields[1] not in ("0", "1") or not (fields[2] and fields[3]):
            raise ValueError(f"{path.name}: line {n} is not 'lang<TAB>0|1<TAB>a<TAB>b': {line!r}")
        if fields[0] == lang:
            pairs.append(HeldoutPair(fields[2], fields[3], fields[1] == "1"))
    return pairs


@torch.inference_mode()
def evaluate(bert, pairs: list[HeldoutPair], batch: int = 32) -> Separation:
    """:class:`Separation` of ``bert`` (a ``bertcore.Bert`` with an NSP head) on ``pairs``."""
    p = []
    for start in range(0, len(pairs), batch):
        chunk = pairs[start:start + batch]
        enc = bert.tokenizer.batch_encode([x.a for x in chunk], [x.b for x in chunk],
                                          max_length=bert.max_length)
        enc = {k: v.to(bert.device) for k, v in enc.items()}
        out = bert.model.bert(**enc)
        logits = bert.model.cls.seq_relationship(out.pooler_output)  # (B, 2)
        p += logits.float().softmax(-1)[:, 0].tolist()
    true = [q for q, x in zip(p, pairs) if x.follows]
    unrelated = [q for q, x in zip(p, pairs) if not x.follows]
    right = sum(q >= 0.5 for q in true) + sum(q < 0.5 for q in unrelated)
    return Separation(round(right / len(pairs), 4), round(statistics.median(true), 4),
                      round(statistics.median(unrelated), 4), len(pairs))

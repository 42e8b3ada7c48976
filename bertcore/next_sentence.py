"""Next sentence prediction: does B follow A? And what sentence A's tokens look at in B.

BERT's second pretraining task (Devlin et al., 2019, https://arxiv.org/abs/1810.04805, section
3.1, "Task #2") reads ``[CLS] A [SEP] B [SEP]``, with segment 0 for A and 1 for B, and classifies
the pooled [CLS] vector as IsNext (class 0) or NotNext (class 1). Attention runs over the whole
pair, so in every layer A's tokens can look at B's: :func:`cross_attention` shows how much.

:func:`read_pair` runs what this needs and no more: the encoder (explained, for its attention) and
the NSP head on the pooled [CLS]; the masked-LM head, which scores the whole vocabulary at every
token, stays off.

Shapes: L layers, H heads, T tokens; results are numpy arrays on the CPU.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from .device import to_numpy
from .tokenizer import Encoding


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

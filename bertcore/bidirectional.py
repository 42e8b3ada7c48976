"""Both sides or the left only: BERT's attention is bidirectional, a decoder's is causal.

BERT (Devlin et al., 2019, https://arxiv.org/abs/1810.04805) is "deeply bidirectional": §1 names
the left-to-right language model (OpenAI GPT, "where every token can only attend to previous
tokens in the self-attention layers") as the limit it removes, and §3 / §3.1 say why a standard
conditional language model cannot be trained in both directions at once (each word would "see
itself"), hence the masked LM. Every token of BERT attends to every token, left and right: its
encoder layers have no causal mask. A causal ("masked") self-attention and an encoder-decoder
attention are the two attentions of the Transformer's *decoder* (Vaswani et al., 2017, "Attention
Is All You Need", https://arxiv.org/abs/1706.03762, §3.1 and §3.2.3: "masking out (setting to
−∞) all values in the input of the softmax which correspond to illegal connections"); BERT is the
encoder alone and has neither.

To see what the right-hand context is worth, :func:`compare` runs the same weights twice on the
same input: as they are, and with a causal mask added to every layer's attention scores (token i
sees positions 0..i only). Both runs go through the model's own forward
(:class:`bertcore.model.BertModel`): the causal mask is just another attention mask, a (B, 1, T, T)
additive one (:func:`causal_mask`), as ``transformers`` takes a prepared 4-D mask. The masked
words' guesses and one head's attention are read from each run. The weights were trained to read
both sides, so the causal run shows what *BERT* loses without the right side, not what a model
trained left to right (GPT) would guess.

Shapes: B batch, T tokens, H heads, M masked positions, k guesses; results are numpy arrays on the
CPU.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch import Tensor

from .device import to_numpy
from .masked_lm import mask_encoding, rank_of, top_k
from .model import additive_attention_mask
from .tokenizer import Encoding

__all__ = ["causal_mask", "Reading", "DirectionsView", "read", "compare"]


def causal_mask(attention_mask: Tensor, dtype: torch.dtype = torch.float32) -> Tensor:
    """The decoder's mask: query i may see key j only when j <= i (and j is not padding).

    Args:
        attention_mask: (B, T) 1 for tokens, 0 for padding (a tokenizer's mask).
        dtype: floating dtype of the attention scores.

    Returns:
        (B, 1, T, T) additive: 0 where query i (row) may see key j (column), the dtype's most
        negative number where not; what :class:`bertcore.model.BertModel` and ``transformers``'
        ``BertModel`` take as ``attention_mask``.
    """
    B, T = attention_mask.shape
    lower = torch.ones(T, T, dtype=torch.bool, device=attention_mask.device).tril()  # (T, T)
    keep = lower[None, None] & attention_mask[:, None, None, :].bool()  # (B, 1, T, T)
    return additive_attention_mask(keep, dtype)


@dataclass
class Reading:
    """What one run (both sides, or left only) gives at the masked positions and in one head."""

    top_tokens: list[list[str]]  # (M, k) guesses, best first
    top_probs: np.ndarray  # (M, k)
    hidden_ranks: list[int | None]  # the hidden word's rank (1 = top guess); None: a typed [MASK]
    hidden_probs: list[float | None]
    attention: np.ndarray  # (T, T) the chosen head's probabilities, rows: queries


@dataclass
class DirectionsView:
    """The same input read both ways, side by side."""

    tokens: list[str]  # the input with [MASK] at the masked positions
    positions: list[int]
    hidden_tokens: list[str | None]  # what each mask hid (None where the text had [MASK])
    layer: int
    head: int
    both: Reading  # BERT as it is: every token sees every token
    left: Reading  # with a causal mask: token i sees 0..i


@torch.inference_mode()
def read(bert, enc: Encoding, positions, hidden_ids, mask: Tensor | None, layer: int, head: int,
         k: int = 5) -> Reading:
    """One run of the model on ``enc`` with attention ``mask``: guesses at ``positions`` and the
    attention of one head.

    Args:
        enc: the input, with [MASK] at ``positions`` already.
        hidden_ids: the word each position hid (M ids; the [MASK] id where nothing was hidden).
        mask: None (the input's own padding mask) or an attention mask per query, (1, 1, T, T).
        layer, head: which head's attention to return (0-based).
    """
    t = bert.tensors(enc)
    out = bert.model.bert(t["input_ids"], t["token_type_ids"],
                          t["attention_mask"] if mask is None else mask, explain=True)
    probs = out.explanation.layers[layer].probs[0, head]  # (T, T)
    pos = list(positions)
    logits = bert.model.cls.predictions(out.last_hidden_state[0, pos])  # (M, V): the head at M
    ids, top = top_k(logits, k)
    ranks, p = rank_of(logits, hidden_ids)
    known = [i != bert.tokenizer.mask_token_id for i in hidden_ids]
    return Reading([bert.tokenizer.convert_ids_to_tokens(r) for r in ids], top,
                   [int(r) if ok else None for r, ok in zip(ranks, known)],
                   [float(x) if ok else None for x, ok in zip(p, known)], to_numpy(probs))


def compare(bert, enc: Encoding, positions, layer: int = 0, head: int = 0,
            k: int = 5) -> DirectionsView:
    """Reads ``enc`` with ``positions`` masked twice: bidirectional (BERT) and with a causal mask.

    Args:
        positions: the tokens to hide (and any [MASK] the text already has); may be empty, for
            the attention alone.
        layer, head: the head whose attention both runs return (0-based).
        k: guesses per masked position.

    Raises:
        ValueError: a position that is not a maskable token; IndexError: no such layer or head.
    """
    cfg = bert.config
    if not (0 <= layer < cfg.num_hidden_layers and 0 <= head < cfg.num_attention_heads):
        raise IndexError(f"no head {head} in layer {layer} of this model")
    tok = bert.tokenizer
    positions = list(positions)
    hidden_ids = [enc.ids[p] for p in positions]
    enc = mask_encoding(enc, positions, tok.mask_token_id, tok.mask_token)
    keep = torch.tensor([enc.attention_mask], device=bert.device)  # (1, T)
    dtype = next(bert.model.parameters()).dtype
    both = read(bert, enc, positions, hidden_ids, None, layer, head, k)
    left = read(bert, enc, positions, hidden_ids, causal_mask(keep, dtype), layer, head, k)
    words = tok.convert_ids_to_tokens(hidden_ids)
    hidden = [w if i != tok.mask_token_id else None for w, i in zip(words, hidden_ids)]
    return DirectionsView(enc.tokens, positions, hidden, layer, head, both, left)

"""Masked-word prediction: hide tokens and read BERT's guesses, all at once, one after another, and
layer by layer; and BERT's 15 % rule applied to one sentence.

The masked LM (Devlin et al., 2019, https://arxiv.org/abs/1810.04805, section 3.1, "Task #1")
predicts each hidden token from both sides. Predicting every [MASK] in one forward pass treats the
masks as independent; filling them one after another, most confident first, lets each guess see
the ones before (:func:`greedy_fill`). The "logit lens" (nostalgebraist, 2020) applies the MLM head
to every layer's hidden state, to show at which layer the guess forms (:func:`logit_lens`). For
pretraining, BERT chooses 15 % of the tokens and turns 80 % of those into [MASK], 10 % into a random
token and leaves 10 % unchanged (:func:`pretraining_mask`, with :func:`bertcore.data.mask_tokens`).

Shapes: T tokens, M masks, k guesses, L layers, V vocabulary; results are numpy arrays on the CPU.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np
import torch

from . import data
from .device import to_numpy
from .tokenizer import Encoding


def mask_encoding(enc: Encoding, positions, mask_id: int, mask_token: str = "[MASK]") -> Encoding:
    """A copy of ``enc`` with the tokens at ``positions`` replaced by [MASK] (specials untouched).

    Raises:
        ValueError: a position outside the input or on [CLS]/[SEP].
    """
    ids, tokens = list(enc.ids), list(enc.tokens)
    for p in positions:
        if not 0 <= p < len(ids) or enc.special_tokens_mask[p]:
            raise ValueError(f"position {p} is not a maskable token of this input")
        ids[p], tokens[p] = mask_id, mask_token
    return dataclasses.replace(enc, ids=ids, tokens=tokens)


def top_k(logits: torch.Tensor, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Softmax over the last dimension, then the k best: (ids, probs), each (..., k), best first."""
    probs = logits.float().softmax(-1)
    top = probs.topk(min(k, probs.shape[-1]), dim=-1)
    return top.indices.cpu().numpy(), to_numpy(top.values)


@torch.inference_mode()
def logits_at(bert, enc: Encoding, positions) -> torch.Tensor:
    """MLM logits at any positions (not only [MASK]), (len(positions), V)."""
    return bert.forward(enc).mlm_logits[0][list(positions)]


@dataclass
class FillStep:
    """One step of greedy filling: the mask filled, with what, and how sure the model was."""

    position: int
    token_id: int
    prob: float
    top_ids: np.ndarray  # (k,) the top-k at this position at this step
    top_probs: np.ndarray


@torch.inference_mode()
def greedy_fill(bert, enc: Encoding, positions, k: int = 5, first=None) -> list[FillStep]:
    """Fills masks one after another: predict all, fill the most confident one, re-run, repeat.

    ``enc`` must hold [MASK] at ``positions``. Contrast with one forward pass, where every mask is
    predicted independently while all the others are still [MASK].

    Args:
        first: the top-k ``(ids, probs)`` at ``positions`` for ``enc`` itself, when the caller has
            them already (the first step then needs no forward pass).
    """
    remaining = list(positions)
    ids, tokens = list(enc.ids), list(enc.tokens)
    steps: list[FillStep] = []
    while remaining:
        cur = dataclasses.replace(enc, ids=ids, tokens=tokens)
        if first is not None and not steps:
            top_ids, top_probs = first
        else:
            top_ids, top_probs = top_k(logits_at(bert, cur, remaining), k)
        best = int(np.argmax(top_probs[:, 0]))
        pos, tid = remaining.pop(best), int(top_ids[best, 0])
        steps.append(FillStep(pos, tid, float(top_probs[best, 0]), top_ids[best], top_probs[best]))
        ids[pos], tokens[pos] = tid, bert.tokenizer.ids_to_tokens.get(tid, "[UNK]")
    return steps


@torch.inference_mode()
def logit_lens(bert, hidden_states, positions, k: int = 5) -> tuple[np.ndarray, np.ndarray]:
    """The MLM head applied to every layer's hidden state at ``positions`` ("logit lens").

    Args:
        hidden_states: L + 1 tensors (1, T, D): the embedding output, then each layer's output.

    Returns:
        (ids, probs), each (L + 1, len(positions), k): what each layer would predict. The last row
        equals the model's real prediction.
    """
    head = bert.model.cls.predictions
    pos = list(positions)
    stacked = torch.stack([h[0, pos] for h in hidden_states])  # (L+1, M, D)
    return top_k(head(stacked), k)


@dataclass
class MaskView:
    """Everything the masked-words page draws for one input and its masked positions."""

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


@torch.inference_mode()
def predict_masks(bert, enc: Encoding, positions, k: int = 5) -> MaskView:
    """Predictions for ``positions`` of ``enc`` (each replaced by [MASK]): independent, greedy, and
    per layer.

    One explained forward pass gives every layer's guess; the last layer's is the prediction, and
    the first step of greedy filling, so M masks cost M forward passes in all.
    """
    tok = bert.tokenizer
    enc = mask_encoding(enc, positions, tok.mask_token_id, tok.mask_token)
    words = tok.convert_ids_to_tokens
    hidden = bert.forward(enc, explain=True).hidden.explanation.hidden_states
    lens_ids, lens_probs = logit_lens(bert, hidden, positions, k)
    top_ids, top_probs = lens_ids[-1], lens_probs[-1]
    steps = greedy_fill(bert, enc, positions, k, first=(top_ids, top_probs))
    return MaskView(
        enc.tokens, list(positions), top_ids, [words(r) for r in top_ids], top_probs,
        [(s.position, words([s.token_id])[0], s.prob) for s in steps],
        {s.position: words(s.top_ids) for s in steps},
        {s.position: s.top_probs for s in steps},
        [[words(m) for m in layer] for layer in lens_ids], lens_probs)


# ----------------------------------------------------------------------------- the 15 % rule

@dataclass
class PretrainingMask:
    """BERT's pretraining rule on one input: what was chosen and what became of each token."""

    masked_ids: list[int]
    actions: list[str]  # per token: "" (not chosen), "mask", "random", "keep"
    chosen: list[int]  # positions chosen for prediction


def pretraining_mask(bert, enc: Encoding, seed: int, mlm_prob: float = 0.15) -> PretrainingMask:
    """Applies ``data.mask_tokens`` (15 %: 80 % [MASK], 10 % random, 10 % kept) with a seeded
    generator."""
    ids = torch.tensor([enc.ids])
    special = torch.tensor([enc.special_tokens_mask], dtype=torch.bool)
    gen = torch.Generator().manual_seed(int(seed))
    tok = bert.tokenizer
    masked, labels = data.mask_tokens(ids, special, tok.vocab_size, tok.mask_token_id, gen,
                                      mlm_prob, data.first_word_id(tok))
    masked = masked[0].tolist()
    actions = data.mask_actions(enc.ids, masked, labels[0].tolist(), tok.mask_token_id)
    return PretrainingMask(masked, actions, [i for i, a in enumerate(actions) if a])

"""Masked-word prediction: hide tokens and read BERT's guesses, all at once, one after another, and
layer by layer; and BERT's 15 % rule applied to one sentence.

The masked LM (Devlin et al., 2019, https://arxiv.org/abs/1810.04805, section 3.1, "Task #1")
predicts each hidden token from both sides. Predicting every [MASK] in one forward pass treats the
masks as independent; filling them one after another, most confident first, lets each guess see
the ones before (:func:`greedy_fill`). The "logit lens" (nostalgebraist, 2020) applies the MLM head
to every layer's hidden state, to show at which layer the guess forms (:func:`logit_lens`). For
pretraining, BERT chooses 15 % of the tokens and turns 80 % of those into [MASK], 10 % into a random
token and leaves 10 % unchanged (:func:`pretraining_mask`, with :func:`bertcore.data.mask_tokens`).

The MLM head scores all V words of the vocabulary (a D x V product per token: for a small model as
costly as the whole encoder), so it runs only at the masked positions, never over all T tokens: the
encoder's cost grows with the input, the head's with the masks. Besides the top k, the word that was
hidden gets its own rank and probability (:func:`rank_of`): a model can be close without being
right.

Shapes: T tokens, M masks, k guesses, L layers, V vocabulary; results are numpy arrays on the CPU.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np
import torch

from . import data
from .device import to_numpy
from .model import additive_attention_mask
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
def hidden_states_at(bert, enc: Encoding, positions) -> list[torch.Tensor]:
    """Every layer's hidden state at ``positions``: L + 1 tensors (M, D), the embedding output
    first, the last layer's output last.

    The layers run one after the other as :class:`bertcore.model.BertModel` runs them, on the
    fast path (fused attention, nothing recorded), and only the rows at ``positions`` are kept:
    the explained path would also keep every layer's (H, T, T) attention, which takes about
    twice as long at 512 tokens and is not needed here.
    """
    bert_model = bert.model.bert
    t = bert.tensors(enc)
    hidden = bert_model.embeddings(t["input_ids"], t["token_type_ids"])  # (1, T, D)
    mask = additive_attention_mask(t["attention_mask"], hidden.dtype)
    pos = list(positions)
    states = [hidden[0, pos]]
    for layer in bert_model.encoder.layer:
        hidden = layer(hidden, mask)
        states.append(hidden[0, pos])
    return states


@torch.inference_mode()
def logits_at(bert, enc: Encoding, positions) -> torch.Tensor:
    """MLM logits at any positions (not only [MASK]), (len(positions), V): the encoder over all
    tokens, the head only at ``positions``."""
    t = bert.tensors(enc)
    out = bert.model.bert(t["input_ids"], t["token_type_ids"], t["attention_mask"])
    return bert.model.cls.predictions(out.last_hidden_state[0, list(positions)])  # (M, V)


def rank_of(logits: torch.Tensor, ids) -> tuple[np.ndarray, np.ndarray]:
    """Where given words stand in a prediction: (ranks, probs), each (M,).

    Args:
        logits: (M, V) MLM logits.
        ids: M word ids, one per row (e.g. the words that were hidden).

    Returns:
        each word's rank (1 = the model's top guess; 1 + the number of words scored higher) and
        its probability.
    """
    probs = logits.float().softmax(-1)
    idx = torch.as_tensor(list(ids), dtype=torch.long, device=probs.device).reshape(-1, 1)
    p = probs.gather(-1, idx)  # (M, 1)
    ranks = (probs > p).sum(-1) + 1
    return ranks.cpu().numpy(), to_numpy(p[:, 0])


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
def lens_logits(bert, hidden_states, positions) -> torch.Tensor:
    """The MLM head applied to every layer's hidden state at ``positions``: (L + 1, M, V) logits.

    Args:
        hidden_states: L + 1 tensors (1, T, D): the embedding output, then each layer's output.
    """
    pos = list(positions)
    stacked = torch.stack([h[0, pos] for h in hidden_states])  # (L+1, M, D)
    return bert.model.cls.predictions(stacked)


@torch.inference_mode()
def logit_lens(bert, hidden_states, positions, k: int = 5) -> tuple[np.ndarray, np.ndarray]:
    """The MLM head applied to every layer's hidden state at ``positions`` ("logit lens").

    Args:
        hidden_states: L + 1 tensors (1, T, D): the embedding output, then each layer's output.

    Returns:
        (ids, probs), each (L + 1, len(positions), k): what each layer would predict. The last row
        equals the model's real prediction.
    """
    return top_k(lens_logits(bert, hidden_states, positions), k)


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
    # The word each mask hid, and where the model ranks it (None where the text itself had [MASK]).
    hidden_tokens: list[str | None]
    hidden_ranks: list[int | None]  # 1 = the top guess
    hidden_probs: list[float | None]


@torch.inference_mode()
def predict_masks(bert, enc: Encoding, positions, k: int = 5, greedy: bool = True) -> MaskView:
    """Predictions for ``positions`` of ``enc`` (each replaced by [MASK]): independent, greedy, and
    per layer, and the rank of each hidden word.

    One pass of the encoder gives every layer's guess (:func:`hidden_states_at`); the last
    layer's is the prediction, and the first step of greedy filling, so M masks cost M passes of
    the encoder in all (and the MLM head runs at the M positions only). ``greedy=False`` leaves
    greedy filling out (``greedy`` empty): one pass.
    """
    tok = bert.tokenizer
    hidden_ids = [enc.ids[p] for p in positions]
    enc = mask_encoding(enc, positions, tok.mask_token_id, tok.mask_token)
    words = tok.convert_ids_to_tokens
    logits = bert.model.cls.predictions(torch.stack(hidden_states_at(bert, enc, positions)))
    lens_ids, lens_probs = top_k(logits, k)
    top_ids, top_probs = lens_ids[-1], lens_probs[-1]
    ranks, probs = rank_of(logits[-1], hidden_ids)
    known = [i != tok.mask_token_id for i in hidden_ids]  # a [MASK] typed in the text hid nothing
    steps = greedy_fill(bert, enc, positions, k, first=(top_ids, top_probs)) if greedy else []
    return MaskView(
        enc.tokens, list(positions), top_ids, [words(r) for r in top_ids], top_probs,
        [(s.position, words([s.token_id])[0], s.prob) for s in steps],
        {s.position: words(s.top_ids) for s in steps},
        {s.position: s.top_probs for s in steps},
        [[words(m) for m in layer] for layer in lens_ids], lens_probs,
        [w if ok else None for w, ok in zip(words(hidden_ids), known)],
        [int(r) if ok else None for r, ok in zip(ranks, known)],
        [float(p) if ok else None for p, ok in zip(probs, known)])


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

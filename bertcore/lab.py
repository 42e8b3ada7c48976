"""Numbers for BERT Lab's pages: small tensor -> array helpers, no Streamlit.

The app's pages only draw; every computation they show is here (or elsewhere in bertcore), so it
is tested like the rest of the package. Everything returns plain numpy arrays and Python values,
small enough to keep in ``st.cache_data``.

* embeddings: the three lookups, their sum and the LayerNorm, checked against the model's own output;
* cosine similarity of position embeddings;
* masked LM: masking chosen positions, top-k, independent vs greedy (one after another) filling,
  and the "logit lens" (the MLM head applied to every layer's hidden state);
* BERT's pretraining masking rule (15 %: 80 % [MASK], 10 % random, 10 % kept) on one sentence;
* next-sentence probability and attention from sentence A to sentence B.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np
import torch

from .model import Explanation
from .tokenizer import Encoding


def _np(x: torch.Tensor) -> np.ndarray:
    return x.detach().float().cpu().numpy()


# ----------------------------------------------------------------------------- embeddings

@dataclass
class EmbeddingParts:
    """Per token (T, D): the three lookups, their sum, the LayerNorm, and the model's own output."""

    word: np.ndarray
    position: np.ndarray
    segment: np.ndarray
    sum: np.ndarray
    layernorm: np.ndarray
    model_output: np.ndarray  # the embedding layer's output from the model's forward pass
    sum_diff: float  # max |(word + position + segment) - the model's sum before LayerNorm|
    output_diff: float  # max |LayerNorm(our sum) - the model's embedding output|


@torch.inference_mode()
def embedding_parts(bert, enc: Encoding) -> EmbeddingParts:
    """Looks the three embeddings up in the weight tables by hand and checks them against a forward.

    The parts are rows of ``word_embeddings.weight`` (by token id), ``position_embeddings.weight``
    (0..T-1) and ``token_type_embeddings.weight`` (by segment); their sum and LayerNorm (with the
    model's own gamma, beta and eps) are compared with the model's embedding layer run on the same
    input, and the largest absolute differences are returned.
    """
    emb = bert.model.bert.embeddings
    t = bert.tensors(enc)
    ids, types = t["input_ids"][0], t["token_type_ids"][0]
    word = emb.word_embeddings.weight[ids]  # (T, D)
    position = emb.position_embeddings.weight[: len(ids)]  # (T, D)
    segment = emb.token_type_embeddings.weight[types]  # (T, D)
    total = word + segment + position  # the model's order of addition
    ln = emb.LayerNorm
    normed = torch.nn.functional.layer_norm(total, ln.normalized_shape, ln.weight, ln.bias, ln.eps)
    own = Explanation()  # the model's own forward (eval: no dropout) fills in its sum
    output = emb(t["input_ids"], t["token_type_ids"], own)
    return EmbeddingParts(
        word=_np(word), position=_np(position), segment=_np(segment), sum=_np(total),
        layernorm=_np(normed), model_output=_np(output[0]),
        sum_diff=float((total - own.embedding_sum[0]).abs().max()),
        output_diff=float((normed - output[0]).abs().max()))


def cosine_matrix(vectors) -> np.ndarray:
    """(N, D) -> (N, N) cosine similarity of every pair of rows."""
    v = torch.as_tensor(vectors).float()
    v = v / v.norm(dim=-1, keepdim=True).clamp_min(1e-12)
    return _np(v @ v.T)


@torch.inference_mode()
def position_similarity(bert, n: int) -> np.ndarray:
    """Cosine similarity of the position embeddings of positions 0..n-1, (n, n)."""
    weight = bert.model.bert.embeddings.position_embeddings.weight
    return cosine_matrix(weight[: max(1, min(n, weight.shape[0]))])


# ----------------------------------------------------------------------------- masked LM

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
    return top.indices.cpu().numpy(), _np(top.values)


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
class PretrainingMask:
    """BERT's pretraining rule on one input: what was chosen and what became of each token."""

    masked_ids: list[int]
    actions: list[str]  # per token: "" (not chosen), "mask", "random", "keep"
    chosen: list[int]  # positions chosen for prediction


def first_regular_id(tokenizer) -> int:
    """The first id after the special and [unusedN] tokens (where random replacements start)."""
    first = 0
    for i in range(tokenizer.vocab_size):
        tok = tokenizer.ids_to_tokens.get(i, "")
        if tok.startswith("[") and tok.endswith("]"):
            first = i + 1
        elif i > first + 1000:
            break
    return min(first, tokenizer.vocab_size - 1)


def pretraining_mask(bert, enc: Encoding, seed: int, mlm_prob: float = 0.15) -> PretrainingMask:
    """Applies ``data.mask_tokens`` (15 %: 80 % [MASK], 10 % random, 10 % kept) with a seeded generator."""
    from .data import mask_tokens

    ids = torch.tensor([enc.ids])
    special = torch.tensor([enc.special_tokens_mask], dtype=torch.bool)
    gen = torch.Generator().manual_seed(int(seed))
    tok = bert.tokenizer
    masked, labels = mask_tokens(ids, special, tok.vocab_size, tok.mask_token_id, gen, mlm_prob,
                                 first_regular_id(tok))
    masked = masked[0].tolist()
    actions = mask_actions(enc.ids, masked, labels[0].tolist(), tok.mask_token_id)
    return PretrainingMask(masked, actions, [i for i, a in enumerate(actions) if a])


def mask_actions(ids, masked_ids, labels, mask_id: int) -> list[str]:
    """Per token, what the masking rule did: "" (not chosen), "mask", "random" or "keep"."""
    actions = []
    for orig, new, label in zip(ids, masked_ids, labels):
        if label < 0:
            actions.append("")
        elif new == mask_id and orig != mask_id:
            actions.append("mask")
        elif new != orig:
            actions.append("random")
        else:
            actions.append("keep")
    return actions


# ----------------------------------------------------------------------------- next sentence

def softmax(logits) -> np.ndarray:
    return _np(torch.as_tensor(logits).float().softmax(-1))


def is_next_probability(nsp_logits: torch.Tensor) -> float:
    """P(IsNext) from the NSP head's (1, 2) logits (class 0 is IsNext, as in BERT)."""
    return float(softmax(nsp_logits).reshape(-1)[0])


def segment_positions(enc: Encoding) -> tuple[list[int], list[int]]:
    """Positions of sentence A's and sentence B's own tokens ([CLS]/[SEP] left out)."""
    a = [i for i, (s, sp) in enumerate(zip(enc.type_ids, enc.special_tokens_mask)) if not sp and s == 0]
    b = [i for i, (s, sp) in enumerate(zip(enc.type_ids, enc.special_tokens_mask)) if not sp and s == 1]
    return a, b


def cross_attention(attentions, rows, cols) -> np.ndarray:
    """Attention from ``rows`` to ``cols``, averaged over heads, for every layer: (L, |rows|, |cols|).

    Args:
        attentions: L tensors (1, H, T, T) of attention probabilities (row = query, column = key).
    """
    r, c = list(rows), list(cols)
    if not r or not c:
        return np.zeros((len(attentions), len(r), len(c)), dtype=np.float32)
    probs = torch.stack([a[0] for a in attentions])  # (L, H, T, T)
    return _np(probs[:, :, r][:, :, :, c].mean(dim=1))

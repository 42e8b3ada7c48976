"""What the attention heads do, computed from a real forward pass (no Streamlit here: pure math).

The attention itself, ``softmax(Q Kᵀ/√dh + mask) V`` per head, is computed inside the model
(:func:`bertcore.model.attention`); this module reads what it computed.

Three questions a student asks of BERT's attention, answered from an
:class:`~bertcore.api.Explained`:

* :func:`walkthrough` - *how* one head turns one token's query into its attention row and its
  output, step by step: ``q``, every ``k``, ``q·k``, ``÷√dh``, ``+ padding mask``, ``softmax``, and
  the probability-weighted sum of the values ``Σ p_j v_j``. Every step is recomputed here (in
  float64) from the model's own Q, K, V, and checked against what the model itself computed (its
  probabilities and its context vector): the numbers a student sees *are* the model's.
* :func:`head_summary` - *what* each head attends to, as in Clark et al. (2019), "What Does BERT
  Look At? An Analysis of BERT's Attention" (BlackboxNLP, https://arxiv.org/abs/1906.04341): the
  mean attention a head gives to [CLS], to [SEP], to the previous token, to the next token and to
  the token itself, and the mean entropy of its attention rows ("broad" heads spread attention
  thinly, §3 and §4 of the paper). Each head also gets a one-phrase label of its dominant behaviour
  (the rules are in :func:`label_head`).
* :func:`head_mask_effect` - *whether it matters*: the masked-LM predictions with some heads
  switched off (their attention probabilities multiplied by 0, as in Michel et al. 2019, "Are
  Sixteen Heads Really Better than One?", https://arxiv.org/abs/1905.10650) next to the predictions
  with all heads.

The visual side (head view, model view) follows Vig (2019), "A Multiscale Visualization of Attention
in the Transformer Model" (ACL demo, https://arxiv.org/abs/1906.05714), the bertviz tool; see
``ui/bertviz_view.py``. The neuron view's picture - the elementwise products ``q ⊙ k`` whose sum is
the attention score - comes from :func:`walkthrough`'s ``qk_terms``.

Shapes: L layers, H heads, T tokens, dh head size. All results are numpy arrays on the CPU.
"""

from __future__ import annotations

import math
from typing import Sequence

import numpy as np
import torch

from .device import to_numpy
from .masked_lm import mask_encoding

__all__ = [
    "layer_attention", "walkthrough", "head_summary", "attention_summary", "label_head",
    "head_mask_effect", "build_head_mask", "DOMINANT_SHARE", "BROAD_ENTROPY", "OFF_MASS",
    "HEAD_LABELS",
]

# ------------------------------------------------------------------------------------------------
# Thresholds for head labels (see label_head).

DOMINANT_SHARE = 0.5
"""A head is labelled by a pattern (e.g. "previous token") when it puts, on average over the query
tokens, at least this share of its attention there. Clark et al. (2019, §3) pick out heads that put
"over 50%" of their attention on the previous/next token or on [SEP]; 0.5 follows them."""

BROAD_ENTROPY = 0.8
"""Otherwise a head is "broad" when its mean row entropy is at least this fraction of the largest
possible entropy (log of the number of tokens it may attend to: a uniform row scores 1.0). Clark
et al. (2019, §4, fig. 4) describe such broadly attending heads, especially in the lowest layers."""

OFF_MASS = 0.5
"""A head whose rows sum to less than this (softmax rows sum to 1) has been switched off by a head
mask, which multiplies its probabilities by 0."""

HEAD_LABELS = ("[CLS]", "[SEP]", "previous token", "next token", "self", "broad", "mixed", "off")
"""Every label :func:`label_head` can give, in English (the app translates them)."""

_PATTERNS = (("cls", "[CLS]"), ("sep", "[SEP]"), ("prev", "previous token"), ("next", "next token"),
             ("self", "self"))


# ------------------------------------------------------------------------------------------------
# One query token through one head.


def layer_attention(x, layer: int) -> np.ndarray:
    """(H, T, T) attention probabilities of one layer (rows: queries, columns: keys), float64."""
    if not 0 <= layer < len(x.layers):
        raise IndexError(f"layer {layer} out of range (0..{len(x.layers) - 1})")
    return to_numpy(x.layers[layer].probs[0], np.float64)


def walkthrough(x, layer: int, head: int, query_pos: int, head_mask=None) -> dict[str, np.ndarray]:
    """Recompute one head's attention for one query token, step by step, and check it against the
    model.

    For query token i in head h of layer l (Vaswani et al. 2017, eq. 1)::

        s_j = q_i · k_j / √dh  (+ mask_j: 0, or -∞ for padding)
        p_j = softmax(s)_j
        out = Σ_j p_j v_j      (this head's slice of the context vector)

    Args:
        x: an :class:`~bertcore.api.Explained` (``bert.explain(...)``).
        layer, head: which head (0-based).
        query_pos: which token's row (0-based position in ``x.tokens``).
        head_mask: the (L, H) or (H,) head mask ``x`` was computed with, if any; a head multiplied
            by 0 has an all-zero probability row and output, and the recomputation follows it.

    Returns:
        dict of float64 numpy arrays (T tokens, dh head size):

        - ``q`` (dh,): the query vector of token ``query_pos``;
        - ``k`` (T, dh): every token's key; ``qk_terms`` (T, dh): ``q * k`` elementwise (the neuron
          view: row j sums to ``qk[j]``);
        - ``qk`` (T,): ``q·k_j``; ``sqrt_dh`` (): √dh; ``scaled`` (T,): ``q·k_j / √dh``;
        - ``model_scores`` (T,): the model's own raw scores row, ``scores_max_abs_diff`` ();
        - ``mask`` (T,): the additive padding mask (0 or -inf); ``masked`` (T,): ``scaled + mask``;
        - ``softmax`` (T,): the recomputed probabilities (times the head's mask value);
        - ``probs`` (T,): the model's own probabilities row; ``probs_max_abs_diff`` ();
        - ``v`` (T, dh): every token's value; ``weighted`` (T, dh): ``p_j v_j``;
        - ``weighted_sum`` (dh,): ``Σ p_j v_j``; ``context`` (dh,): the model's context vector slice
          for this head; ``context_max_abs_diff`` ();
        - ``head_weight`` (): the head-mask value (1.0 unless switched off).

    Raises:
        IndexError: for a layer, head or position out of range.
    """
    n_layers = len(x.layers)
    if not 0 <= layer < n_layers:
        raise IndexError(f"layer {layer} out of range (0..{n_layers - 1})")
    lx = x.layers[layer]
    n_heads, n_tok, dh = lx.query.shape[1:]
    if not 0 <= head < n_heads:
        raise IndexError(f"head {head} out of range (0..{n_heads - 1})")
    if not 0 <= query_pos < n_tok:
        raise IndexError(f"token position {query_pos} out of range (0..{n_tok - 1})")

    q = to_numpy(lx.query[0, head, query_pos], np.float64)  # (dh,)
    k = to_numpy(lx.key[0, head], np.float64)  # (T, dh)
    v = to_numpy(lx.value[0, head], np.float64)  # (T, dh)
    qk_terms = k * q  # (T, dh): the products summed by the dot product
    qk = qk_terms.sum(axis=1)  # (T,)
    sqrt_dh = math.sqrt(dh)
    scaled = qk / sqrt_dh  # (T,)
    keep = np.asarray(x.encoding.attention_mask, dtype=bool)  # (T,)
    mask = np.where(keep, 0.0, -np.inf)  # (T,)
    masked = scaled + mask
    e = np.exp(masked - masked[keep].max())
    weight = 1.0
    if head_mask is not None:
        hm = to_numpy(head_mask, np.float64)
        weight = float(hm[head] if hm.ndim == 1 else hm[layer, head])
    softmax = weight * e / e.sum()  # (T,)
    weighted = softmax[:, None] * v  # (T, dh)
    weighted_sum = weighted.sum(axis=0)  # (dh,)

    model_scores = to_numpy(lx.scores[0, head, query_pos], np.float64)  # (T,)
    probs = to_numpy(lx.probs[0, head, query_pos], np.float64)  # (T,)
    context = to_numpy(lx.context[0, query_pos, head * dh:(head + 1) * dh], np.float64)  # (dh,)
    return {
        "q": q, "k": k, "qk_terms": qk_terms, "qk": qk, "sqrt_dh": np.float64(sqrt_dh),
        "scaled": scaled, "model_scores": model_scores,
        "scores_max_abs_diff": np.float64(np.abs(scaled - model_scores).max()),
        "mask": mask, "masked": masked, "softmax": softmax, "probs": probs,
        "probs_max_abs_diff": np.float64(np.abs(softmax - probs).max()),
        "v": v, "weighted": weighted, "weighted_sum": weighted_sum, "context": context,
        "context_max_abs_diff": np.float64(np.abs(weighted_sum - context).max()),
        "head_weight": np.float64(weight),
    }


# ------------------------------------------------------------------------------------------------
# What every head attends to.


def _row_mean(values: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """Mean over the selected query rows of (L, H, T) values -> (L, H); 0 when no row is
    selected."""
    if not rows.any():
        return np.zeros(values.shape[:2])
    return values[..., rows].mean(axis=-1)


def attention_summary(attn, cls_positions: Sequence[int], sep_positions: Sequence[int],
                      valid: Sequence[bool] | None = None) -> dict[str, np.ndarray]:
    """Per-head attention statistics of an (L, H, T, T) attention tensor (rows: queries).

    Every statistic is a mean over query tokens (padding excluded), as in Clark et al. (2019, §3):

    - ``cls`` / ``sep``: attention given to the [CLS] / [SEP] token(s) (summed over them);
    - ``prev`` / ``next``: attention given to the token just before / after (over the queries that
      have one); ``self``: attention given to the query token itself;
    - ``entropy``: the entropy -Σ p log p (nats) of the row; ``entropy_norm`` divides it by its
      largest possible value, log(number of tokens), so a uniform row scores 1;
    - ``label``: :func:`label_head` of those numbers (an (L, H) array of strings).

    Args:
        attn: (L, H, T, T) probabilities (or L × (1, H, T, T), as ``x.attentions``).
        cls_positions, sep_positions: where [CLS] and [SEP] are.
        valid: (T,) True for real tokens, False for padding; None means all real.

    Returns:
        dict of (L, H) float arrays (and the string array ``label``); ``max_entropy`` () is log(T).
    """
    if isinstance(attn, (list, tuple)):
        # (L, H, T, T)
        attn = np.stack([to_numpy(a, np.float64).reshape(a.shape[-3:]) for a in attn])
    a = to_numpy(attn, np.float64)
    if a.ndim != 4 or a.shape[-1] != a.shape[-2]:
        raise ValueError(f"attention must be (L, H, T, T), not {a.shape}")
    n_tok = a.shape[-1]
    ok = np.ones(n_tok, bool) if valid is None else np.asarray(valid, bool)
    n_valid = int(ok.sum())
    idx = np.arange(n_tok)

    def to(positions) -> np.ndarray:  # (L, H, T): attention of each query to these keys
        pos = [p for p in positions if 0 <= p < n_tok]
        return a[..., pos].sum(axis=-1) if pos else np.zeros(a.shape[:3])

    diag = np.diagonal(a, axis1=-2, axis2=-1)  # (L, H, T)
    prev = np.zeros(a.shape[:3])
    prev[..., 1:] = a[..., idx[1:], idx[:-1]]
    nxt = np.zeros(a.shape[:3])
    nxt[..., :-1] = a[..., idx[:-1], idx[1:]]
    has_prev = ok & np.r_[False, ok[:-1]]
    has_next = ok & np.r_[ok[1:], False]
    with np.errstate(divide="ignore", invalid="ignore"):
        plogp = np.where(a > 0, a * np.log(np.where(a > 0, a, 1.0)), 0.0)
    entropy = -plogp.sum(axis=-1)  # (L, H, T)
    max_entropy = math.log(n_valid) if n_valid > 1 else 1.0
    out = {
        "cls": _row_mean(to(cls_positions), ok),
        "sep": _row_mean(to(sep_positions), ok),
        "prev": _row_mean(prev, has_prev),
        "next": _row_mean(nxt, has_next),
        "self": _row_mean(diag, ok),
        "entropy": _row_mean(entropy, ok),
        "mass": _row_mean(a.sum(axis=-1), ok),
        "max_entropy": np.float64(math.log(n_valid) if n_valid else 0.0),
    }
    # shares; float32 rows sum to 1 ± 1e-7
    for key in ("cls", "sep", "prev", "next", "self", "mass"):
        out[key] = np.clip(out[key], 0.0, 1.0)
    out["entropy_norm"] = np.clip(out["entropy"] / max_entropy, 0.0, 1.0)
    labels = np.empty(a.shape[:2], dtype=object)
    for li in range(a.shape[0]):
        for hi in range(a.shape[1]):
            labels[li, hi] = label_head({key: float(out[key][li, hi]) for key in
                                         ("cls", "sep", "prev", "next", "self", "entropy_norm",
                                          "mass")})
    out["label"] = labels
    return out


def label_head(stats: dict[str, float]) -> str:
    """The dominant behaviour of one head, from its :func:`attention_summary` numbers.

    Rules, in order:

    1. ``"off"`` when its rows sum to less than :data:`OFF_MASS` (switched off by a head mask);
    2. the pattern among [CLS], [SEP], previous token, next token, self with the largest mean share,
       when that share is at least :data:`DOMINANT_SHARE` (0.5);
    3. ``"broad"`` when the normalised entropy is at least :data:`BROAD_ENTROPY` (0.8);
    4. ``"mixed"`` otherwise (no single simple pattern: perhaps a syntactic head, Clark et al. §5).
    """
    if stats.get("mass", 1.0) < OFF_MASS:
        return "off"
    key, name = max(_PATTERNS, key=lambda kn: stats[kn[0]])
    if stats[key] >= DOMINANT_SHARE:
        return name
    if stats["entropy_norm"] >= BROAD_ENTROPY:
        return "broad"
    return "mixed"


def head_summary(x) -> dict[str, np.ndarray]:
    """:func:`attention_summary` of every head for one explained sentence (or pair).

    [CLS] is the first token; [SEP] every other special token (one after A, one after B).

    Returns:
        dict of (L, H) arrays: ``cls``, ``sep``, ``prev``, ``next``, ``self`` (shares in [0, 1]),
        ``entropy`` (nats), ``entropy_norm`` (in [0, 1]), ``mass`` (1, or 0 for a switched-off
        head), ``label`` (strings from :data:`HEAD_LABELS`); and ``max_entropy`` () = log(T).
    """
    enc = x.encoding
    special = [i for i, s in enumerate(enc.special_tokens_mask) if s]
    cls_pos = [0] if special and special[0] == 0 else []
    sep_pos = [i for i in special if i != 0]
    return attention_summary(x.attentions, cls_pos, sep_pos, enc.attention_mask)


# ------------------------------------------------------------------------------------------------
# Switching heads off.


def build_head_mask(num_layers: int, num_heads: int, off: Sequence[tuple[int, int]]) -> np.ndarray:
    """(L, H) float32 ones, with 0 at each (layer, head) in ``off``; IndexError for one out of
    range."""
    mask = np.ones((num_layers, num_heads), dtype=np.float32)
    for layer, head in off:
        if not (0 <= layer < num_layers and 0 <= head < num_heads):
            raise IndexError(f"head ({layer}, {head}) out of range: the model has "
                             f"{num_layers} layers of {num_heads} heads")
        mask[layer, head] = 0.0
    return mask


def head_mask_effect(bert, text: str, off: Sequence[tuple[int, int]], top_k: int = 5,
                     text_pair: str | None = None, mask_positions: Sequence[int] = ()) -> dict:
    """Masked-word predictions with all heads and with the heads in ``off`` switched off.

    A switched-off head's attention probabilities are multiplied by 0, so it adds nothing to its
    layer's output (the head mask of Michel et al. 2019 and of ``bert.fill_mask(head_mask=...)``).

    Args:
        bert: a loaded :class:`~bertcore.api.Bert` with a masked-LM head.
        text: a sentence; it needs at least one [MASK], written in it or made by ``mask_positions``
            (ValueError otherwise).
        off: (layer, head) pairs to switch off, 0-based.
        top_k: how many predictions per [MASK].
        text_pair: optional sentence B.
        mask_positions: token positions (in ``bert.encode(text, text_pair)``) to replace by [MASK]
            first, as the app's shared ``masks`` state holds them; ValueError for [CLS]/[SEP] or a
            position outside the input.

    Returns:
        dict with, per [MASK] left to right (lists of length M):

        - ``positions``: the [MASK] token positions;
        - ``before`` / ``after``: top-k ``(token, probability)`` with all heads / with ``off`` off
          (exactly what ``bert.fill_mask`` returns for the same head mask);
        - ``top1``: the original (all-heads) best token; ``top1_before`` / ``top1_after``: its
          probability with all heads / with ``off`` off; ``top1_delta``: after - before;
        - ``top1_changed``: whether the best token is a different one with ``off`` off;
        - ``tv_distance``: total-variation distance between the two distributions (0 = the same,
          1 = disjoint);

        and ``off`` (the sorted pairs) and ``head_mask`` ((L, H) array).
    """
    cfg = bert.config
    off = sorted({(int(layer), int(head)) for layer, head in off})
    mask = build_head_mask(cfg.num_hidden_layers, cfg.num_attention_heads, off)
    enc = bert.encode(text, text_pair)
    if mask_positions:
        enc = mask_encoding(enc, mask_positions, bert.tokenizer.mask_token_id,
                            bert.tokenizer.mask_token)
    positions = [i for i, t in enumerate(enc.ids) if t == bert.tokenizer.mask_token_id]
    p0 = bert.mask_logits(enc).float().softmax(-1).cpu()  # (M, V); ValueError with no [MASK]
    p1 = (bert.mask_logits(enc, mask).float().softmax(-1).cpu() if off else p0.clone())
    k = min(top_k, p0.shape[-1])
    vocab = bert.tokenizer.ids_to_tokens

    def top(p: torch.Tensor) -> list[list[tuple[str, float]]]:
        t = p.topk(k, dim=-1)
        return [[(vocab[i], pr) for i, pr in zip(ids.tolist(), ps.tolist())]
                for ids, ps in zip(t.indices, t.values)]

    best = p0.argmax(-1)  # (M,)
    rows = torch.arange(p0.shape[0])
    before, after = p0[rows, best], p1[rows, best]
    return {
        "off": off, "head_mask": mask, "positions": positions,
        "before": top(p0), "after": top(p1),
        "top1": [vocab[i] for i in best.tolist()],
        "top1_before": before.tolist(), "top1_after": after.tolist(),
        "top1_delta": (after - before).tolist(),
        "top1_changed": (p1.argmax(-1) != best).tolist(),
        "tv_distance": (0.5 * (p1 - p0).abs().sum(-1)).tolist(),
    }

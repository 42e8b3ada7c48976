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
  mean attention a head gives to [CLS], to [SEP], to punctuation, to the previous token and to the
  next token (their §3 and fig. 2), and the mean entropy of its attention rows ("broad" heads
  spread attention thinly, §4). Each head also gets a one-phrase label of its dominant behaviour
  (the rules are in :func:`label_head`).
* :func:`head_mask_effect` - *whether it matters*: the masked-LM predictions with some heads
  switched off (their attention probabilities multiplied by 0, as in Michel et al. 2019, "Are
  Sixteen Heads Really Better than One?", https://arxiv.org/abs/1905.10650) next to the predictions
  with all heads.

Helpers for the page: :func:`content_word` picks a word worth hiding (not "the"), and
:func:`walk_window` cuts a :func:`walkthrough` down to the tokens a view shows at long input.

The visual side (head view, model view) follows Vig (2019), "A Multiscale Visualization of Attention
in the Transformer Model" (ACL demo, https://arxiv.org/abs/1906.05714), the bertviz tool; see
``ui/bertviz_view.py``. The neuron view's picture - the elementwise products ``q ⊙ k`` whose sum is
the attention score - comes from :func:`walkthrough`'s ``qk_terms``.

Shapes: L layers, H heads, T tokens, dh head size. All results are numpy arrays on the CPU.
"""

from __future__ import annotations

import math
import unicodedata
from typing import Iterator, Sequence

import numpy as np
import torch

from .device import to_numpy
from .masked_lm import mask_encoding
from .tokenizer import _is_punctuation

__all__ = [
    "layer_attention", "walkthrough", "walk_window", "head_summary", "attention_summary",
    "label_head", "punctuation_positions", "content_word", "mask_probabilities",
    "mask_probabilities_each", "tv_distance", "head_mask_effect", "build_head_mask",
    "DOMINANT_SHARE", "BROAD_ENTROPY", "OFF_MASS", "HEAD_LABELS", "FUNCTION_WORDS",
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

HEAD_LABELS = ("[CLS]", "[SEP]", "punctuation", "previous token", "next token", "self", "broad",
               "mixed", "off")
"""Every label :func:`label_head` can give, in English (the app translates them)."""

_PATTERNS = (("cls", "[CLS]"), ("sep", "[SEP]"), ("punct", "punctuation"),
             ("prev", "previous token"), ("next", "next token"))
"""Clark et al.'s (2019, §3, fig. 2) patterns: the statistic and the label it gives."""


# ------------------------------------------------------------------------------------------------
# One query token through one head.


def layer_attention(x, layer: int, tokens: range | None = None) -> np.ndarray:
    """(H, T, T) attention probabilities of one layer (rows: queries, columns: keys), float64.

    Args:
        tokens: only these positions, as queries and as keys: (H, W, W) for a W-token window. The
            block is cut out before it is copied, so a window of a long input costs what the
            window does. Its rows sum to less than 1 when tokens outside it get attention.
    """
    if not 0 <= layer < len(x.layers):
        raise IndexError(f"layer {layer} out of range (0..{len(x.layers) - 1})")
    probs = x.layers[layer].probs[0]  # (H, T, T)
    if tokens is not None:
        probs = probs[:, tokens.start:tokens.stop, tokens.start:tokens.stop]
    return to_numpy(probs, np.float64)


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


_PER_KEY = ("k", "qk_terms", "qk", "scaled", "model_scores", "mask", "masked", "softmax", "probs",
            "v", "weighted")
"""The arrays of a :func:`walkthrough` that have one row per key token."""


def walk_window(walk: dict[str, np.ndarray], tokens: range) -> dict[str, np.ndarray]:
    """A :func:`walkthrough` cut down to the key tokens in ``tokens`` (a window of a long input).

    The per-key arrays (``k``, ``qk``, ``softmax``, ``weighted``, ...) keep only those rows; the
    rest (``q``, ``weighted_sum``, ``context``, the checks) still describe the whole row, because
    the softmax and the sum run over every token. ``outside`` () is the attention the query gives
    to tokens outside the window (the model's probabilities), which a windowed view should say.
    """
    out = dict(walk)
    for key in _PER_KEY:
        out[key] = walk[key][tokens.start:tokens.stop]
    out["outside"] = np.float64(max(0.0, float(walk["probs"].sum() - out["probs"].sum())))
    return out


# ------------------------------------------------------------------------------------------------
# What every head attends to.


def _row_mean(values: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """Mean over the selected query rows of (..., T) values -> (...); 0 when no row is
    selected."""
    if not rows.any():
        return np.zeros(values.shape[:-1])
    return values[..., rows].mean(axis=-1)


def _layers(attn) -> tuple[int, Iterator[np.ndarray]]:
    """(L, H, T, T) attention (an array, or L × (1, H, T, T) tensors): T, and the layers one at a
    time as float64 (H, T, T), each converted only when it is reached.

    Raises:
        ValueError: not (L, H, T, T) attention.
    """
    layers = list(attn) if isinstance(attn, (list, tuple)) else None
    if layers is None:
        attn = to_numpy(attn, np.float64)
        layers = list(attn) if attn.ndim == 4 else []
    shapes = {tuple(a.shape[-3:]) for a in layers}
    if len(shapes) != 1 or len(next(iter(shapes))) != 3 or any(
            a.shape[-1] != a.shape[-2] or math.prod(a.shape[:-3]) != 1 for a in layers):
        raise ValueError(f"attention must be (L, H, T, T), not {getattr(attn, 'shape', shapes)}")
    n_tok = next(iter(shapes))[-1]
    return n_tok, (to_numpy(a, np.float64).reshape(a.shape[-3:]) for a in layers)


_STATS = ("cls", "sep", "punct", "prev", "next", "self", "entropy", "mass")


def attention_summary(attn, cls_positions: Sequence[int], sep_positions: Sequence[int],
                      valid: Sequence[bool] | None = None,
                      punct_positions: Sequence[int] = ()) -> dict[str, np.ndarray]:
    """Per-head attention statistics of an (L, H, T, T) attention tensor (rows: queries).

    Every statistic is a mean over query tokens (padding excluded), as in Clark et al. (2019, §3):

    - ``cls`` / ``sep`` / ``punct``: attention given to the [CLS] / [SEP] / punctuation token(s)
      (summed over them);
    - ``prev`` / ``next``: attention given to the token just before / after (over the queries that
      have one); ``self``: attention given to the query token itself;
    - ``entropy``: the entropy -Σ p log p (nats) of the row; ``entropy_norm`` divides it by its
      largest possible value, log(number of tokens), so a uniform row scores 1;
    - ``label``: :func:`label_head` of those numbers (an (L, H) array of strings).

    One layer is worked on at a time, so the memory needed is one layer's (H, T, T), not the whole
    model's (bert-base at 512 tokens: 25 MB instead of 300 MB per float64 copy).

    Args:
        attn: (L, H, T, T) probabilities (or L × (1, H, T, T), as ``x.attentions``).
        cls_positions, sep_positions, punct_positions: where [CLS], [SEP] and punctuation are.
        valid: (T,) True for real tokens, False for padding; None means all real.

    Returns:
        dict of (L, H) float arrays (and the string array ``label``); ``max_entropy`` () is log(T).
    """
    n_tok, layers = _layers(attn)
    ok = np.ones(n_tok, bool) if valid is None else np.asarray(valid, bool)
    n_valid = int(ok.sum())
    idx = np.arange(n_tok)
    has_prev = ok & np.r_[False, ok[:-1]]
    has_next = ok & np.r_[ok[1:], False]

    def to(a: np.ndarray, positions) -> np.ndarray:  # (H, T): attention of each query to these
        pos = [p for p in positions if 0 <= p < n_tok]
        return a[..., pos].sum(axis=-1) if pos else np.zeros(a.shape[:2])

    per_layer: dict[str, list[np.ndarray]] = {key: [] for key in _STATS}
    for a in layers:  # (H, T, T)
        stats = {"cls": to(a, cls_positions), "sep": to(a, sep_positions),
                 "punct": to(a, punct_positions), "self": np.diagonal(a, axis1=-2, axis2=-1),
                 "mass": a.sum(axis=-1)}
        prev = np.zeros(a.shape[:2])
        prev[:, 1:] = a[:, idx[1:], idx[:-1]]
        nxt = np.zeros(a.shape[:2])
        nxt[:, :-1] = a[:, idx[:-1], idx[1:]]
        with np.errstate(divide="ignore", invalid="ignore"):
            plogp = np.where(a > 0, a * np.log(np.where(a > 0, a, 1.0)), 0.0)
        stats["entropy"] = -plogp.sum(axis=-1)
        for key, value in stats.items():
            per_layer[key].append(_row_mean(value, ok))
        per_layer["prev"].append(_row_mean(prev, has_prev))
        per_layer["next"].append(_row_mean(nxt, has_next))
    out = {key: np.array(v) for key, v in per_layer.items()}  # (L, H) each
    max_entropy = math.log(n_valid) if n_valid > 1 else 1.0
    out["max_entropy"] = np.float64(math.log(n_valid) if n_valid else 0.0)
    # shares; float32 rows sum to 1 ± 1e-7
    for key in ("cls", "sep", "punct", "prev", "next", "self", "mass"):
        out[key] = np.clip(out[key], 0.0, 1.0)
    out["entropy_norm"] = np.clip(out["entropy"] / max_entropy, 0.0, 1.0)
    labels = np.empty(out["cls"].shape, dtype=object)
    for li, hi in np.ndindex(labels.shape):
        labels[li, hi] = label_head({key: float(out[key][li, hi]) for key in
                                     (*_STATS, "entropy_norm") if key != "entropy"})
    out["label"] = labels
    return out


def label_head(stats: dict[str, float]) -> str:
    """The dominant behaviour of one head, from its :func:`attention_summary` numbers.

    Rules, in order:

    1. ``"off"`` when its rows sum to less than :data:`OFF_MASS` (switched off by a head mask);
    2. the pattern of Clark et al. (2019, §3) among [CLS], [SEP], punctuation, previous token and
       next token with the largest mean share, when that share is at least
       :data:`DOMINANT_SHARE` (0.5);
    3. ``"self"`` when the head gives at least that share to the query token itself. Clark et al.
       found that "most heads put little attention on the current token" (§3.1), so it is not one
       of their patterns, and no head of the offline models reaches it (the largest self share
       measured on their default sentences is 0.46 in English, 0.36 in Chinese); but a head of
       another checkpoint that does look at itself should be named so, not called "mixed";
    4. ``"broad"`` when the normalised entropy is at least :data:`BROAD_ENTROPY` (0.8), Clark et
       al.'s broad attention (§4);
    5. ``"mixed"`` otherwise (no single simple pattern: perhaps a syntactic head, Clark et al. §5).
    """
    if stats.get("mass", 1.0) < OFF_MASS:
        return "off"
    key, name = max(_PATTERNS, key=lambda kn: stats.get(kn[0], 0.0))
    if stats.get(key, 0.0) >= DOMINANT_SHARE:
        return name
    if stats.get("self", 0.0) >= DOMINANT_SHARE:
        return "self"
    if stats["entropy_norm"] >= BROAD_ENTROPY:
        return "broad"
    return "mixed"


def punctuation_positions(tokens: Sequence[str], special: Sequence[int] | None = None) -> list[int]:
    """Positions of tokens made only of punctuation ("." "," "，" "。" "!" ...), by the tokenizer's
    own rule (Unicode P*, plus ASCII symbols); special tokens are never punctuation."""
    special = special or [0] * len(tokens)
    return [i for i, tok in enumerate(tokens)
            if tok and not special[i] and all(_is_punctuation(ch) for ch in tok)]


def head_summary(x, layers: Sequence[int] | None = None) -> dict[str, np.ndarray]:
    """:func:`attention_summary` of every head for one explained sentence (or pair).

    [CLS] is the first token; [SEP] every other special token (one after A, one after B);
    punctuation as :func:`punctuation_positions` finds it.

    Args:
        layers: only these layers (their rows, in this order), e.g. the one a page shows: the
            work is O(L·H·T²), a second on bert-base at 512 tokens for all 12 layers.

    Returns:
        dict of (L, H) arrays: ``cls``, ``sep``, ``punct``, ``prev``, ``next``, ``self`` (shares in
        [0, 1]), ``entropy`` (nats), ``entropy_norm`` (in [0, 1]), ``mass`` (1, or 0 for a
        switched-off head), ``label`` (strings from :data:`HEAD_LABELS`); and ``max_entropy`` () =
        log(T).
    """
    enc = x.encoding
    special = [i for i, s in enumerate(enc.special_tokens_mask) if s]
    cls_pos = [0] if special and special[0] == 0 else []
    sep_pos = [i for i in special if i != 0]
    punct = punctuation_positions(enc.tokens, enc.special_tokens_mask)
    attn = x.attentions if layers is None else [x.attentions[li] for li in layers]
    return attention_summary(attn, cls_pos, sep_pos, enc.attention_mask, punct)


# ------------------------------------------------------------------------------------------------
# Which word to hide.

FUNCTION_WORDS = {
    "en": frozenset(
        "a an the and or but nor so yet if then than that this these those there here of to in "
        "on at by for with from into onto over under about after before up down out off as is "
        "am are was were be been being do does did done have has had having will would shall "
        "should can could may might must not no it its he him his she her hers they them their "
        "theirs we us our ours you your yours i me my mine who whom whose which what when where "
        "why how all any some each every both few more most other such only own same too very "
        "just also again once because while until though although since s t".split()),
    "zh": frozenset("的了是在和与及或也就都而着过把被从对向给为以于之其所因如但又还要会能可得地"
                    "很太更最不没无我你他她它们这那哪谁什么个一些有吗呢吧啊呀哦"),
}
"""Words that carry grammar rather than meaning, per language: hiding one teaches little ("the" is
everywhere and its guess is obvious). English: the articles, pronouns, auxiliaries, prepositions
and conjunctions of the usual short stop lists; Chinese: the particles (的 了 着 吗 …), pronouns,
prepositions, conjunctions and the commonest adverbs (很 不 也 都 …), one character each, since the
Chinese models read characters."""


def content_word(tokens: Sequence[str], special: Sequence[int] | None = None,
                 word_ids: Sequence[int | None] | None = None) -> int | None:
    """The first position worth hiding in a masked-word demo: a content word, not "the".

    A token qualifies when it is not a special token, is a whole word (not a ``##`` piece, and the
    only piece of its word when ``word_ids`` says so: hiding one piece of a split word leaves the
    others as a clue), is made of letters (alphabetic or ideographic, so no digits or
    punctuation), is at least two letters long unless it is an ideograph, and is not in
    :data:`FUNCTION_WORDS` (either language, compared in lower case).

    Returns:
        that position; else the first letters-only whole word; else the first ordinary token;
        None when there is none (an input of special tokens only).
    """
    special = special or [0] * len(tokens)
    pieces: dict[int, int] = {}
    for w in word_ids or ():
        if w is not None:
            pieces[w] = pieces.get(w, 0) + 1
    stop = FUNCTION_WORDS["en"] | FUNCTION_WORDS["zh"]

    def whole(i: int) -> bool:
        tok = tokens[i]
        alone = word_ids is None or word_ids[i] is None or pieces.get(word_ids[i], 1) == 1
        return not special[i] and not tok.startswith("##") and tok.isalpha() and alone

    def ideograph(tok: str) -> bool:
        return all(unicodedata.category(ch) == "Lo" and unicodedata.name(ch, "").startswith(
            "CJK") for ch in tok)

    ordinary = [i for i in range(len(tokens)) if not special[i]]
    for i in ordinary:
        tok = tokens[i]
        if whole(i) and tok.lower() not in stop and (len(tok) >= 2 or ideograph(tok)):
            return i
    return next((i for i in ordinary if whole(i)), ordinary[0] if ordinary else None)


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


def _masked(bert, text: str, text_pair: str | None, mask_positions: Sequence[int]):
    """The input encoded with ``mask_positions`` hidden, and every [MASK] position in it."""
    enc = bert.encode(text, text_pair)
    if mask_positions:
        enc = mask_encoding(enc, mask_positions, bert.tokenizer.mask_token_id,
                            bert.tokenizer.mask_token)
    return enc, [i for i, t in enumerate(enc.ids) if t == bert.tokenizer.mask_token_id]


def mask_probabilities(bert, text: str, off: Sequence[tuple[int, int]] = (),
                       text_pair: str | None = None,
                       mask_positions: Sequence[int] = ()) -> tuple[list[int], torch.Tensor]:
    """The masked-LM's probabilities at every [MASK], with the heads in ``off`` switched off.

    Arguments as :func:`head_mask_effect` takes them.

    Returns:
        the [MASK] positions (left to right) and their (M, V) float32 probabilities on the CPU.

    Raises:
        ValueError: no [MASK] (or a ``mask_positions`` entry on [CLS]/[SEP] or outside the input).
        IndexError: a head in ``off`` out of range.
    """
    cfg = bert.config
    mask = build_head_mask(cfg.num_hidden_layers, cfg.num_attention_heads, off) if off else None
    enc, positions = _masked(bert, text, text_pair, mask_positions)
    return positions, bert.mask_logits(enc, mask).float().softmax(-1).cpu()  # (M, V)


def mask_probabilities_each(bert, text: str, offs: Sequence[Sequence[tuple[int, int]]],
                            text_pair: str | None = None,
                            mask_positions: Sequence[int] = ()) -> tuple[list[int], torch.Tensor]:
    """:func:`mask_probabilities` for each set of heads in ``offs``, in one batched forward pass
    (the input once per set, each with its own head mask: N passes' work in one, several times
    faster on a CPU than N passes one after another).

    Returns:
        the [MASK] positions and (N, M, V) float32 probabilities on the CPU, row i with the heads
        in ``offs[i]`` off.
    """
    cfg = bert.config
    masks = np.stack([build_head_mask(cfg.num_hidden_layers, cfg.num_attention_heads, off)
                      for off in offs])  # (N, L, H)
    enc, positions = _masked(bert, text, text_pair, mask_positions)
    return positions, bert.mask_logits(enc, masks).float().softmax(-1).cpu()  # (N, M, V)


def tv_distance(p: torch.Tensor, q: torch.Tensor) -> torch.Tensor:
    """Total-variation distance of probability distributions over the last axis, (..., V) ->
    (...): half the summed absolute difference, 0 for the same guesses, 1 for disjoint ones."""
    return 0.5 * (p - q).abs().sum(-1)


def head_mask_effect(bert, text: str, off: Sequence[tuple[int, int]], top_k: int = 5,
                     text_pair: str | None = None, mask_positions: Sequence[int] = (),
                     all_heads: tuple[list[int], torch.Tensor] | None = None) -> dict:
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
        all_heads: :func:`mask_probabilities` of the same input with no head off, when already
            computed: then only the forward pass with ``off`` off runs (one instead of two, which
            matters at 512 tokens).

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
    positions, p0 = all_heads or mask_probabilities(bert, text, (), text_pair, mask_positions)
    p1 = mask_probabilities(bert, text, off, text_pair, mask_positions)[1] if off else p0.clone()
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
        "tv_distance": tv_distance(p1, p0).tolist(),
    }

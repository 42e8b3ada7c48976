"""The lesson's "predict first" questions: their true answers and options, from the loaded model.

The guided lesson (``pages/lesson.py``) walks the chapters of the article it teaches from ("BERT
model principles and code walk-through") and, in each, asks the learner to predict what the model
will do before showing it. Each function here turns what another concept module computed (an
:class:`~bertcore.tokenizer.Encoding`, :class:`~bertcore.embeddings.EmbeddingParts`,
:class:`~bertcore.layer.LayerWalk`, one head's attention, a
:class:`~bertcore.bidirectional.DirectionsView`, the masked-LM's probabilities with heads off)
into a question's options and truth, so that nothing the learner is told is canned. The model
facts behind them are those of Devlin et al. (2019, https://arxiv.org/abs/1810.04805): WordPiece
input (§3, "Input/Output Representations"), the embeddings' sum (figure 2), the encoder layer of
the Transformer (Vaswani et al. 2017), bidirectional self-attention (§3.1), masked words and next
sentence (§3.1 tasks #1 and #2), and switching heads off (the head mask of Michel et al. 2019).

Shapes: T tokens, D hidden size, H heads, M masked positions, V vocabulary size.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np

from .attention import mask_probabilities_each, tv_distance
from .tokenizer import Encoding

MATCH_TOLERANCE = 1e-4  # a candidate vector "is" the model's when no entry differs by more
# What could go into layer 1, in the order a question offers them: the token's own embedding,
# the three embeddings summed, and that sum after LayerNorm.
LAYER_ONE_CANDIDATES = ("word", "sum", "layernorm")


@dataclass
class SplitWord:
    """The input's word that WordPiece cuts into the most pieces."""

    word: str  # as the basic tokenizer split it (lower-cased by an uncased model)
    pieces: list[str]  # its word pieces, in order ("##" marks a continuation)
    positions: list[int]  # the pieces' token positions


def most_split_word(enc: Encoding) -> SplitWord | None:
    """The word with the most pieces (the first of equals); None for an input without words.

    Args:
        enc: the tokenized input; ``enc.word_ids`` (T,) maps each token to its word.
    """
    by_word: dict[int, list[int]] = {}
    for pos, w in enumerate(enc.word_ids):
        if w is not None:
            by_word.setdefault(w, []).append(pos)
    if not by_word:
        return None
    w, positions = max(by_word.items(), key=lambda item: (len(item[1]), -item[0]))
    return SplitWord(enc.words[w], [enc.tokens[p] for p in positions], positions)


def piece_options(n_pieces: int, most: int = 4) -> list[int]:
    """The counts a learner chooses from: 1 .. ``most``, widened to include the true count and
    one more (so the truth is never the last option)."""
    return list(range(1, max(most, n_pieces + 1) + 1))


def layer_one_input(parts) -> dict[str, float]:
    """How far each candidate for "what goes into layer 1" is from what the model feeds it.

    Args:
        parts: :class:`~bertcore.embeddings.EmbeddingParts` of the input (arrays (T, D)).

    Returns:
        candidate name (:data:`LAYER_ONE_CANDIDATES`) -> max |candidate - the embedding layer's
        output| over every token and dimension; the true answer is the one under
        :data:`MATCH_TOLERANCE`.
    """
    target = np.asarray(parts.model_output, dtype=np.float64)  # (T, D)
    return {name: float(np.abs(np.asarray(getattr(parts, name), np.float64) - target).max())
            for name in LAYER_ONE_CANDIDATES}


def bigger_change(walk) -> str:
    """Which sub-layer of one encoder layer changes the token's vector more: "attention" or
    "ffn", by the size of its update next to the residual stream it is added to.

    Args:
        walk: a :class:`~bertcore.layer.LayerWalk` (one token through one layer).
    """
    return "attention" if walk.attention_change["ratio"] >= walk.ffn_change["ratio"] else "ffn"


def attention_options(row: np.ndarray, k: int = 5) -> tuple[list[int], int]:
    """A question on one attention row: "which token does this head look at most?".

    Args:
        row: (T,) one query token's attention probabilities in one head.
        k: how many tokens to offer.

    Returns:
        the ``k`` positions with the largest weights, in input order (the options), and the
        position of the largest (the truth).
    """
    row = np.asarray(row, dtype=np.float64)
    top = np.argsort(-row, kind="stable")[:k]
    return sorted(int(i) for i in top), int(top[0])


def left_only_changes(view) -> list[bool]:
    """Per masked position: whether the top guess with the left side only differs from the
    guess with both sides.

    Args:
        view: a :class:`~bertcore.bidirectional.DirectionsView`.
    """
    return [both[0] != left[0] for both, left in zip(view.both.top_tokens, view.left.top_tokens)]


def same_word(typed: str, token: str) -> bool:
    """Whether a learner's typed word is the model's token (case, spaces and "##" aside)."""
    def norm(s: str) -> str:
        return s.strip().removeprefix("##").casefold()
    return bool(norm(typed)) and norm(typed) == norm(token)


def candidate_heads(num_heads: int, layer: int, most: int = 4) -> list[tuple[int, int]]:
    """The (layer, head) pairs a "which head matters most" question offers: the first ``most``
    heads of ``layer``, spaced across all its heads."""
    n = min(most, num_heads)
    heads = sorted({round(i * (num_heads - 1) / max(1, n - 1)) for i in range(n)})
    return [(layer, h) for h in heads]


def head_off_effects(bert, text: str, pair: str | None, masks: Sequence[int],
                     heads: Sequence[tuple[int, int]]) -> list[float]:
    """How much switching each head off (alone) changes the masked-word guess.

    Args:
        bert: a loaded :class:`~bertcore.api.Bert` with a masked-LM head.
        text, pair: the input; ``masks``: token positions to hide (at least one).
        heads: (layer, head) pairs, each switched off on its own.

    Returns:
        per head, the total-variation distance between the first [MASK]'s distribution over the
        vocabulary (V) with all heads and with that head off (0 = no change, 1 = disjoint).

    Raises:
        ValueError: no [MASK] in the input; MissingHeadError: no masked-LM head.
    """
    # (1 + N, M, V): all heads, then each head off
    _, p = mask_probabilities_each(bert, text, [(), *([h] for h in heads)], pair, list(masks))
    return tv_distance(p[1:, 0], p[0, 0]).tolist()

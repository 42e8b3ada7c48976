"""Inside one encoder layer: one token's vector, step by step, through the model's own modules.

Every layer of BERT (Devlin et al., 2019, https://arxiv.org/abs/1810.04805, §3: "a multi-layer
bidirectional Transformer encoder") is a layer of the Transformer's encoder (Vaswani et al., 2017,
"Attention Is All You Need", https://arxiv.org/abs/1706.03762, §3.1): two sub-layers, multi-head
self-attention and a position-wise feed-forward network (§3.3), each wrapped as
``LayerNorm(x + Sublayer(x))`` — a residual connection, then layer normalisation. For token i::

    h                                  the layer's input (the previous layer's output)
    a_update = W^O · attention(h)_i    self-attention output, after the output projection W^O
    a = LayerNorm(h_i + a_update)      + residual, LayerNorm: the attention sub-layer's output
    u = GELU(W_1 a + b_1)              the wide layer: D -> I units (I = 4D in BERT)
    f_update = W_2 u + b_2             back to D
    out = LayerNorm(a + f_update)      + residual, LayerNorm: the layer's output

:func:`walk` computes each step by calling the layer's own submodules, with Hugging Face's
attribute names (``layer.attention.self``, ``layer.attention.output.dense`` and ``.LayerNorm``,
``layer.intermediate.dense`` and ``.intermediate_act_fn``, ``layer.output.dense`` and
``.LayerNorm``; see :class:`bertcore.model.BertLayer`), so no formula is copied here; the model
runs in eval mode, where dropout does nothing. The result is checked against the hidden state the
model's own forward pass produced for that layer. The same :class:`LayerWalk` answers how much
each sub-layer changes the vector (the size of its update next to the residual stream it is added
to, and the cosine between the vector before and after) and how many of the wide units fire.

Shapes: T tokens, D hidden size, I intermediate (feed-forward) size; results are numpy arrays on
the CPU.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from .device import to_numpy
from .model import additive_attention_mask

__all__ = ["STEPS", "LayerWalk", "walk"]

STEPS = ("input", "attention", "attention_sum", "attention_norm", "ffn", "ffn_sum", "output")
"""The token's vector at each step of :func:`walk`, in order: h, the attention update (after W^O),
h + update, its LayerNorm, the FFN update, + residual, and the LayerNorm that is the output."""


def _cosine(a: np.ndarray, b: np.ndarray) -> float:
    return float(a @ b / max(np.linalg.norm(a) * np.linalg.norm(b), 1e-12))


@dataclass
class LayerWalk:
    """One token through one encoder layer (from :func:`walk`).

    The vectors are the model's numbers (float32); the derived numbers (norms, ratios, cosines)
    are computed from them in float64.
    """

    layer: int  # 0-based, as ``encoder.layer[layer]``
    position: int  # the token's position in the input
    vectors: np.ndarray  # (len(STEPS), D) the token's vector after each step, in STEPS order
    ffn_pre: np.ndarray  # (I,) W_1 a + b_1, before the activation
    ffn_act: np.ndarray  # (I,) after the activation (GELU in BERT): what the wide units output
    model_output: np.ndarray  # (D,) hidden_states[layer + 1] of the model's own forward pass
    output_diff: float  # max |recomputed output - the model's| for this token
    layer_diff: float  # the same over every token of the input (T × D)

    def vector(self, step: str) -> np.ndarray:
        """(D,) the token's vector after ``step`` (one of :data:`STEPS`)."""
        return self.vectors[STEPS.index(step)]

    @property
    def norms(self) -> np.ndarray:
        """(len(STEPS),) the Euclidean length of the vector after each step."""
        return np.linalg.norm(self.vectors.astype(np.float64), axis=1)

    def _sublayer(self, before: str, update: str, after: str) -> dict[str, float]:
        x, d, y = (self.vector(s).astype(np.float64) for s in (before, update, after))
        return {"stream": float(np.linalg.norm(x)), "update": float(np.linalg.norm(d)),
                "ratio": float(np.linalg.norm(d) / max(np.linalg.norm(x), 1e-12)),
                "cos_update": _cosine(x, x + d), "cos": _cosine(x, y)}

    @property
    def attention_change(self) -> dict[str, float]:
        """How much the attention sub-layer changes the vector: ``stream`` |h|, ``update``
        |a_update|, ``ratio`` |a_update| / |h|, ``cos_update`` cos(h, h + a_update) (the turn
        the residual sum makes) and ``cos`` cos(h, a) (before vs after the sub-layer, LayerNorm
        included)."""
        return self._sublayer("input", "attention", "attention_norm")

    @property
    def ffn_change(self) -> dict[str, float]:
        """The same for the feed-forward sub-layer: |a|, |f_update|, their ratio,
        cos(a, a + f_update) and cos(a, out)."""
        return self._sublayer("attention_norm", "ffn", "output")

    @property
    def layer_cosine(self) -> float:
        """cos(h, out): how far the whole layer turns the token's vector."""
        return _cosine(*(self.vector(s).astype(np.float64) for s in ("input", "output")))

    @property
    def fired(self) -> int:
        """How many of the I wide units output more than 0 (GELU lets small negatives through)."""
        return int((self.ffn_act > 0).sum())

    @property
    def fire_share(self) -> float:
        """The share of the I wide units that output more than 0."""
        return self.fired / max(1, self.ffn_act.size)

    def top_units(self, k: int = 10) -> list[tuple[int, float]]:
        """The ``k`` units with the largest outputs, largest first: (unit index, output)."""
        order = np.argsort(-self.ffn_act, kind="stable")[:k]
        return [(int(i), float(self.ffn_act[i])) for i in order]


def _encoder(bert):
    """The BertModel inside a checkpoint with heads (``.bert``), or the bare one."""
    return getattr(bert.model, "bert", bert.model)


@torch.inference_mode()
def walk(bert, x, layer: int, position: int) -> LayerWalk:
    """Follows token ``position`` through encoder layer ``layer``, one submodule at a time.

    The layer's input is the model's own hidden state before it (``x.hidden_states[layer]``), and
    the recomputed output is compared with the one after it; self-attention runs over the whole
    input (every token's keys and values count), the rest of the layer acts on each token alone.

    Args:
        bert: the loaded :class:`~bertcore.api.Bert` whose weights ``x`` was computed with.
        x: ``bert.explain(...)`` of the input (without a head mask).
        layer: 0-based layer index.
        position: 0-based token position.

    Returns:
        a :class:`LayerWalk`.

    Raises:
        IndexError: for a layer or position out of range.
    """
    module = _encoder(bert).encoder.layer
    if not 0 <= layer < len(module):
        raise IndexError(f"layer {layer} out of range (0..{len(module) - 1})")
    module = module[layer]
    hidden = x.hidden_states[layer]  # (1, T, D): the model's input to this layer
    T = hidden.shape[1]
    if not 0 <= position < T:
        raise IndexError(f"token position {position} out of range (0..{T - 1})")
    keep = bert.tensors(x.encoding)["attention_mask"]  # (1, T)
    mask = additive_attention_mask(keep, hidden.dtype)  # (1, 1, 1, T) or None

    sa, so = module.attention.self, module.attention.output
    context = sa(hidden, mask)  # (1, T, D): every head's weighted values, side by side
    attn_update = so.dense(context)  # (1, T, D): W^O
    attn_sum = hidden + attn_update  # (1, T, D): the residual connection
    attn_norm = so.LayerNorm(attn_sum)  # (1, T, D): the attention sub-layer's output
    ffn_pre = module.intermediate.dense(attn_norm)  # (1, T, I): W_1 a + b_1
    ffn_act = module.intermediate.intermediate_act_fn(ffn_pre)  # (1, T, I)
    ffn_update = module.output.dense(ffn_act)  # (1, T, D): W_2 u + b_2
    ffn_sum = attn_norm + ffn_update  # (1, T, D)
    output = module.output.LayerNorm(ffn_sum)  # (1, T, D): the layer's output

    own = x.hidden_states[layer + 1]  # (1, T, D): the model's own forward pass
    steps = (hidden, attn_update, attn_sum, attn_norm, ffn_update, ffn_sum, output)
    i = position
    return LayerWalk(
        layer=layer, position=i,
        vectors=to_numpy(torch.stack([s[0, i] for s in steps])),  # (len(STEPS), D)
        ffn_pre=to_numpy(ffn_pre[0, i]), ffn_act=to_numpy(ffn_act[0, i]),
        model_output=to_numpy(own[0, i]),
        output_diff=float((output[0, i] - own[0, i]).abs().max()),
        layer_diff=float((output - own).abs().max()))

"""The input representation, by hand: a token's three embeddings, their sum and the LayerNorm.

BERT's input (Devlin et al., 2019, https://arxiv.org/abs/1810.04805, section 3, figure 2) is "the
sum of the token embeddings, the segmentation embeddings and the position embeddings", normalised
by a LayerNorm. :class:`bertcore.model.BertEmbeddings` computes it inside the model; here the same
rows are looked up in the weight tables by hand and checked against the model's own output, so the
numbers the embeddings page shows are the model's. Also: how alike the learned position
embeddings are (cosine similarity), which shows that neighbouring positions get similar vectors.

Shapes: T tokens, D hidden size, all results numpy arrays on the CPU.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from .device import to_numpy
from .model import Explanation
from .tokenizer import Encoding


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
    own = Explanation()  # the model's own forward (eval: no dropout), recording its sum
    output = emb(t["input_ids"], t["token_type_ids"], own)
    return EmbeddingParts(
        word=to_numpy(word), position=to_numpy(position), segment=to_numpy(segment),
        sum=to_numpy(total), layernorm=to_numpy(normed), model_output=to_numpy(output[0]),
        sum_diff=float((total - own.embedding_sum[0]).abs().max()),
        output_diff=float((normed - output[0]).abs().max()))


def cosine_matrix(vectors) -> np.ndarray:
    """(N, D) -> (N, N) cosine similarity of every pair of rows."""
    v = torch.as_tensor(vectors).float()
    v = v / v.norm(dim=-1, keepdim=True).clamp_min(1e-12)
    return to_numpy(v @ v.T)


def sampled_positions(n: int, most: int) -> list[int]:
    """Positions 0..n-1, or every k-th of them (k = ceil(n / most)) when there are more than
    ``most``: a map of how n positions relate, drawn with at most most x most cells. Neighbouring
    positions change slowly, so the sample still shows the band along the diagonal."""
    return list(range(0, max(1, n), max(1, -(-n // max(1, most)))))


@torch.inference_mode()
def position_similarity(bert, n: int, positions=None) -> np.ndarray:
    """Cosine similarity of the position embeddings of positions 0..n-1, (n, n); or of the
    given ``positions`` (those the model has), (len(positions), len(positions))."""
    weight = bert.model.bert.embeddings.position_embeddings.weight
    if positions is not None:
        return cosine_matrix(weight[[p for p in positions if 0 <= p < weight.shape[0]]])
    return cosine_matrix(weight[: max(1, min(n, weight.shape[0]))])

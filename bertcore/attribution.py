"""Which words mattered for a guess: gradient × input and integrated gradients, with captum.

For one masked position and one word the model might put there, each input token gets a score:
how much its word embedding pushed the model's log-probability of that word up (> 0) or down
(< 0). Two methods, both from captum (https://captum.ai, ``captum.attr``), never hand-written:

* **gradient × input** (``InputXGradient``): the gradient of the output with respect to each
  token's word vector, times the vector, summed over its D dimensions. One backward pass; a local,
  first-order picture (Shrikumar et al. 2016; Simonyan et al. 2013 for plain gradients).
* **integrated gradients** (``IntegratedGradients``; Sundararajan, Taly and Yan, 2017, "Axiomatic
  Attribution for Deep Networks", https://arxiv.org/abs/1703.01365): the gradients are averaged
  along the straight line from a *baseline* input to the real one and multiplied by (input −
  baseline). Its *completeness* axiom (§3, Prop. 1): the scores add up to f(input) − f(baseline).
  The integral is approximated with ``steps`` points (Gauss-Legendre, captum's default); how far
  the sum is from f(input) − f(baseline) is the *convergence delta* captum returns (§4 suggests
  20 to 300 steps, until the delta is within a few percent).

What is attributed: f = log P(target | input) at the masked position, from the masked-LM head
(Devlin et al., 2019, https://arxiv.org/abs/1810.04805, §3.1). Inputs are the tokens' word
embeddings (``bert.embeddings.word_embeddings``, fed through ``BertModel(inputs_embeds=...)``:
the model's own forward, no hooks on a model other sessions share). The baseline replaces every
ordinary word by [PAD] and keeps [CLS], [SEP] and every [MASK]: they score exactly 0 under
integrated gradients, and the scores say what the words of the sentence did. Position and segment
embeddings are the same in both and are not attributed.

Cost: integrated gradients runs the model forward and backward ``steps`` + 1 times over the input
(in batches of about ``TOKENS_PER_BATCH`` tokens); an input longer than ``max_tokens`` is read as
the ``max_tokens`` tokens around the masked position (:func:`crop`), so a 512-token paste stays
quick.

Shapes: T tokens, D hidden size, V vocabulary; results are numpy arrays on the CPU.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np
import torch
from captum.attr import InputXGradient, IntegratedGradients

from .device import to_numpy
from .masked_lm import mask_encoding
from .tokenizer import Encoding

__all__ = ["STEPS", "MAX_TOKENS", "TOKENS_PER_BATCH", "Attribution", "crop", "baseline_ids",
           "attribute"]

STEPS = 32
"""Points on the path for integrated gradients: modest, for a live page; the convergence delta
says how well it did (Sundararajan et al. §4 use 20 to 300)."""

MAX_TOKENS = 64
"""Longest input attributed whole; a longer one is cut to this many tokens around the mask."""

TOKENS_PER_BATCH = 1024
"""Tokens (path points × input length) per forward/backward pass of integrated gradients: bounds
the memory of the backward pass (a bert-base keeps ~100 kB of activations a token)."""


@dataclass
class Attribution:
    """Per-token scores for one target word at one masked position."""

    tokens: list[str]  # the tokens the model read (with [MASK]s), after any crop
    kept: list[int]  # their positions in the whole input
    length: int  # tokens in the whole input
    position: int  # the masked position explained, in the whole input
    target: str  # the word whose log-probability is explained
    target_id: int
    prob: float  # P(target) at the position, for this input
    grad_x_input: np.ndarray  # (T,) gradient · word vector, per token
    integrated: np.ndarray  # (T,) integrated gradients, per token (0 where input = baseline)
    delta: float  # sum(integrated) - (f(input) - f(baseline)); near 0 when the steps suffice
    f_input: float  # log P(target | input)
    f_baseline: float  # log P(target | baseline)
    steps: int

    @property
    def change(self) -> float:
        """f(input) - f(baseline): what the integrated gradients add up to (completeness)."""
        return self.f_input - self.f_baseline

    @property
    def total(self) -> float:
        """The sum of the integrated gradients; equals ``change`` + ``delta``."""
        return float(self.integrated.sum())

    @property
    def cropped(self) -> bool:
        """Whether the model read only part of the input (see :func:`crop`)."""
        return len(self.kept) < self.length


def crop(enc: Encoding, around: int, max_tokens: int) -> tuple[Encoding, list[int]]:
    """The input as it is, or for a long one [CLS], the ``max_tokens`` - 2 tokens centred on
    ``around`` and the final [SEP] (segment ids kept): what attribution reads.

    Returns:
        the (possibly shorter) encoding, and the position in ``enc`` of each of its tokens.
    """
    n = len(enc)
    if n <= max_tokens:
        return enc, list(range(n))
    width = max_tokens - 2
    lo = min(max(1, around - width // 2), n - 1 - width)
    kept = [0, *range(lo, lo + width), n - 1]

    def pick(xs):
        return [xs[i] for i in kept]

    return dataclasses.replace(
        enc, ids=pick(enc.ids), tokens=pick(enc.tokens), type_ids=pick(enc.type_ids),
        attention_mask=pick(enc.attention_mask),
        special_tokens_mask=pick(enc.special_tokens_mask), word_ids=pick(enc.word_ids)), kept


def baseline_ids(enc: Encoding, tokenizer) -> list[int]:
    """The baseline input: [PAD] for every ordinary word; [CLS], [SEP] and [MASK] kept."""
    keep = {tokenizer.mask_token_id}
    return [i if special or i in keep else tokenizer.pad_token_id
            for i, special in zip(enc.ids, enc.special_tokens_mask)]


def attribute(bert, enc: Encoding, masks, position: int, target_id: int | None = None,
              steps: int = STEPS, max_tokens: int = MAX_TOKENS) -> Attribution:
    """Scores every input token for the guess ``target_id`` at the masked ``position``.

    Args:
        enc: the input as encoded (the words, not yet masked).
        masks: positions to hide with [MASK] (a [MASK] typed in the text is one already);
            ``position`` must be one of them or a typed [MASK].
        target_id: the word to explain; None: the model's top guess there.
        steps: points on the path for integrated gradients.
        max_tokens: a longer input is cut around ``position`` (:func:`crop`).

    Raises:
        ValueError: ``position`` is not a [MASK] of the masked input.
    """
    tok = bert.tokenizer
    enc = mask_encoding(enc, masks, tok.mask_token_id, tok.mask_token)
    if not 0 <= position < len(enc) or enc.ids[position] != tok.mask_token_id:
        raise ValueError(f"position {position} is not a [MASK] of this input")
    length = len(enc)
    enc, kept = crop(enc, position, max_tokens)
    at = kept.index(position)
    model = bert.model
    t = bert.tensors(enc)
    types = t["token_type_ids"]  # (1, T)
    word_embeddings = model.bert.embeddings.word_embeddings
    base = torch.tensor([baseline_ids(enc, tok)], device=bert.device)  # (1, T)
    with torch.no_grad():
        x, x0 = word_embeddings(t["input_ids"]), word_embeddings(base)  # (1, T, D) each

    def log_prob(embeds: torch.Tensor, token_types: torch.Tensor) -> torch.Tensor:
        """(N, T, D) word vectors -> (N,) log P(target) at the masked position."""
        hidden = model.bert(None, token_types, inputs_embeds=embeds).last_hidden_state
        return model.cls.predictions(hidden[:, at]).float().log_softmax(-1)[:, target]  # (N,)

    with torch.no_grad():
        logits = model.cls.predictions(model.bert(t["input_ids"], types).last_hidden_state[0, at])
    probs = logits.float().softmax(-1)  # (V,)
    target = int(probs.argmax()) if target_id is None else int(target_id)
    with torch.enable_grad():
        gxi = InputXGradient(log_prob).attribute(x.clone().requires_grad_(),
                                                 additional_forward_args=(types,))  # (1, T, D)
        ig, delta = IntegratedGradients(log_prob).attribute(
            x, baselines=x0, additional_forward_args=(types,), n_steps=steps,
            internal_batch_size=max(1, TOKENS_PER_BATCH // len(kept)),
            return_convergence_delta=True)  # (1, T, D), (1,)
    with torch.no_grad():
        f_x, f_0 = log_prob(torch.cat([x, x0]), types.expand(2, -1)).tolist()
    return Attribution(
        enc.tokens, kept, length, position, tok.convert_ids_to_tokens([target])[0], target,
        float(probs[target]), to_numpy(gxi[0].sum(-1)), to_numpy(ig[0].sum(-1)), float(delta[0]),
        f_x, f_0, steps)

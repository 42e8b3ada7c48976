"""BERT's encoder as small PyTorch modules that can show their work.

BERT (Devlin et al., 2019, "BERT: Pre-training of Deep Bidirectional Transformers for Language
Understanding", https://arxiv.org/abs/1810.04805) is the encoder of the Transformer (Vaswani et
al., 2017, "Attention Is All You Need", https://arxiv.org/abs/1706.03762): token embeddings, then
L identical layers of multi-head self-attention and a feed-forward network, each wrapped in a
residual connection and LayerNorm.

The modules below follow the paper's order and carry Hugging Face's attribute names, so a
``transformers`` BERT state dict loads key for key: ``model.load_state_dict(hf.state_dict())``.
(HF keeps its buffers ``embeddings.position_ids`` / ``embeddings.token_type_ids`` out of the state
dict; older checkpoints still hold them, and ``BertEmbeddings`` drops them on load, since
positions are recomputed here.)

Two paths go through the same weights:

* the **fast path** (``explain=False``) computes attention with PyTorch's fused
  ``torch.nn.functional.scaled_dot_product_attention`` and keeps nothing but the output;
* the **explained path** (``explain=True``) computes attention step by step (both are branches
  of :func:`attention`) and returns an :class:`Explanation`: the embedding parts, and per layer
  Q, K, V, raw scores, softmax probabilities, context vectors, attention output, feed-forward
  values and hidden states. :class:`BertModel` makes it empty and passes it down; each module
  fills in what it computed. It and :class:`LayerExplanation` are at the end of this file.

Nothing is stored on the modules; everything follows the device and dtype of weights and inputs.

Shapes: B batch, T tokens, D hidden (``hidden_size``), H heads, dh = D / H dims per head,
I intermediate (feed-forward) width, V vocabulary, L layers.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import partial
from typing import Callable, ClassVar

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from .config import BertConfig

__all__ = [
    "BertEmbeddings", "attention", "BertSelfAttention", "BertSelfOutput", "BertAttention",
    "ACTIVATIONS", "get_activation", "BertIntermediate", "BertOutput", "BertLayer", "BertEncoder",
    "BertPooler", "BertPreTrainedModel", "additive_attention_mask", "expand_head_mask", "BertModel",
    "LayerExplanation", "Explanation", "BertModelOutput",
]


class BertEmbeddings(nn.Module):
    """Input representation (BERT §3, fig. 2): word + segment + position embeddings, LayerNorm."""

    def __init__(self, config: BertConfig):
        super().__init__()
        self.word_embeddings = nn.Embedding(
            config.vocab_size, config.hidden_size, padding_idx=config.pad_token_id
        )
        self.position_embeddings = nn.Embedding(config.max_position_embeddings, config.hidden_size)
        self.token_type_embeddings = nn.Embedding(config.type_vocab_size, config.hidden_size)
        self.LayerNorm = nn.LayerNorm(config.hidden_size, eps=config.layer_norm_eps)
        self.dropout = nn.Dropout(config.hidden_dropout_prob)

    def forward(
        self,
        input_ids: Tensor | None,
        token_type_ids: Tensor | None = None,
        explanation: Explanation | None = None,
        inputs_embeds: Tensor | None = None,
    ) -> Tensor:
        """Look up and combine the three embeddings.

        Args:
            input_ids: (B, T) token ids; None when ``inputs_embeds`` is given.
            token_type_ids: (B, T) segment ids (0 sentence A, 1 sentence B); None means all 0.
            explanation: the explained path's record, whose embedding fields this fills in (the
                three lookups, their sum and the output); None on the fast path.
            inputs_embeds: (B, T, D) word vectors to use instead of looking ``input_ids`` up (as
                in ``transformers``): a point between two inputs, for gradients with respect to
                the word embeddings (:mod:`bertcore.attribution`).

        Returns:
            (B, T, D) the normalised sum, the first layer's input.
        """
        B, T = input_ids.shape if inputs_embeds is None else inputs_embeds.shape[:2]
        positions = self.position_embeddings.num_embeddings
        if T > positions:
            raise ValueError(f"{T} tokens is more than the {positions} positions this model has "
                             f"embeddings for (max_position_embeddings).")
        word = (self.word_embeddings(input_ids) if inputs_embeds is None
                else inputs_embeds)  # (B, T, D)
        if token_type_ids is None:
            token_type = self.token_type_embeddings.weight[0].expand(B, T, -1)  # (B, T, D) view
        else:
            token_type = self.token_type_embeddings(token_type_ids)  # (B, T, D)
        position = self.position_embeddings.weight[:T].unsqueeze(0)  # (1, T, D): positions 0..T-1
        total = word + token_type + position  # (B, T, D), added in HF's order
        output = self.dropout(self.LayerNorm(total))  # (B, T, D)
        if explanation is not None:
            explanation.word_embeddings = word
            explanation.position_embeddings = position.expand_as(word)  # (B, T, D) view
            explanation.token_type_embeddings = token_type
            explanation.embedding_sum = total
            explanation.embedding_output = output
        return output

    def _load_from_state_dict(self, state_dict, prefix, *args, **kwargs):
        # Older transformers saved these constant buffers (arange / zeros) in checkpoints; they
        # are recomputed here.
        for name in ("position_ids", "token_type_ids"):
            state_dict.pop(prefix + name, None)
        super()._load_from_state_dict(state_dict, prefix, *args, **kwargs)


def attention(
    q: Tensor,
    k: Tensor,
    v: Tensor,
    mask: Tensor | None = None,
    dropout_p: float = 0.0,
    head_mask: Tensor | None = None,
    explain: bool = False,
) -> tuple[Tensor, Tensor | None, Tensor | None]:
    """Scaled dot-product attention (Vaswani et al. 2017, eq. 1): ``softmax(Q Kᵀ/√dh + mask) V``.

    Without ``explain`` it runs PyTorch's fused ``F.scaled_dot_product_attention``, which never
    stores the (B, H, T, T) matrices; with ``explain`` it computes the formula step by step and
    keeps the scores and probabilities.

    Args:
        q, k, v: (B, H, T, dh) per-head queries, keys, values.
        mask: broadcastable to (B, H, T, T): additive (0 keep, very negative drop, as from
            :func:`additive_attention_mask`) or boolean (True keep, as SDPA takes it); None
            attends to every key.
        dropout_p: dropout on the probabilities (pass 0.0 outside training).
        head_mask: (1, H, 1, 1) or another shape that broadcasts over both (B, H, T, T) and
            (B, H, T, dh): multiplies each head's probabilities, so 0 switches a head off.
        explain: compute step by step and return the scores and probabilities too.

    Returns:
        context (B, H, T, dh), each query's probability-weighted sum of the values; then, with
        ``explain``, the raw scores Q·Kᵀ/√dh (B, H, T, T) before the mask and the probabilities
        (B, H, T, T) actually used (after dropout and head mask); without, None and None.
    """
    if not explain:
        context = F.scaled_dot_product_attention(q, k, v, attn_mask=mask, dropout_p=dropout_p)
        if head_mask is not None:  # the fused kernel hides P, and (m·P)V = m·(PV)
            context = context * head_mask
        return context, None, None  # context: (B, H, T, dh)
    scores = torch.matmul(q, k.transpose(-1, -2)) * (q.size(-1) ** -0.5)  # (B, H, T, T)
    masked = scores
    if mask is not None:
        if mask.dtype == torch.bool:
            masked = scores.masked_fill(~mask, torch.finfo(scores.dtype).min)
        else:
            masked = scores + mask
    probs = torch.softmax(masked, dim=-1)  # (B, H, T, T)
    if dropout_p > 0.0:
        probs = F.dropout(probs, p=dropout_p)
    if head_mask is not None:
        probs = probs * head_mask
    return torch.matmul(probs, v), scores, probs  # context: (B, H, T, dh)


class BertSelfAttention(nn.Module):
    """Multi-head self-attention (Vaswani et al. §3.2.2): H heads, each with its own Q, K, V."""

    def __init__(self, config: BertConfig):
        super().__init__()
        self.num_attention_heads = config.num_attention_heads
        self.attention_head_size = config.head_dim
        self.query = nn.Linear(config.hidden_size, config.hidden_size)
        self.key = nn.Linear(config.hidden_size, config.hidden_size)
        self.value = nn.Linear(config.hidden_size, config.hidden_size)
        self.dropout = nn.Dropout(config.attention_probs_dropout_prob)

    def forward(
        self,
        hidden: Tensor,
        mask: Tensor | None = None,
        head_mask: Tensor | None = None,
        record: LayerExplanation | None = None,
    ) -> Tensor:
        """Attend.

        Args:
            hidden: (B, T, D) the layer's input.
            mask: additive, (B, 1, 1, T) for padding or (B, 1, T, T) per query; or None.
            head_mask: (1, H, 1, 1) multiplier per head or None.
            record: the layer's record on the explained path: attention runs step by step and
                this fills in query, key, value, scores, probs and context. None: fused SDPA.

        Returns:
            (B, T, D) the context: every head's weighted sum of values, side by side.
        """
        B, T, D = hidden.shape
        split = (B, T, self.num_attention_heads, self.attention_head_size)
        q = self.query(hidden).view(split).transpose(1, 2)  # (B, H, T, dh)
        k = self.key(hidden).view(split).transpose(1, 2)  # (B, H, T, dh)
        v = self.value(hidden).view(split).transpose(1, 2)  # (B, H, T, dh)
        p = self.dropout.p if self.training else 0.0
        explain = record is not None
        context, scores, probs = attention(q, k, v, mask, p, head_mask, explain)
        context = context.transpose(1, 2).reshape(B, T, D)  # (B, T, D): heads side by side
        if explain:
            record.query, record.key, record.value = q, k, v
            record.scores, record.probs, record.context = scores, probs, context
        return context


class BertSelfOutput(nn.Module):
    """Mixes the heads' contexts (dense), then residual connection and LayerNorm."""

    def __init__(self, config: BertConfig):
        super().__init__()
        self.dense = nn.Linear(config.hidden_size, config.hidden_size)
        self.LayerNorm = nn.LayerNorm(config.hidden_size, eps=config.layer_norm_eps)
        self.dropout = nn.Dropout(config.hidden_dropout_prob)

    def forward(self, context: Tensor, residual: Tensor) -> Tensor:
        """(B, T, D), (B, T, D) -> (B, T, D)."""
        return self.LayerNorm(self.dropout(self.dense(context)) + residual)


class BertAttention(nn.Module):
    """The attention sub-layer: self-attention, then output projection + residual + LayerNorm."""

    def __init__(self, config: BertConfig):
        super().__init__()
        self.self = BertSelfAttention(config)
        self.output = BertSelfOutput(config)

    def forward(
        self,
        hidden: Tensor,
        mask: Tensor | None = None,
        head_mask: Tensor | None = None,
        record: LayerExplanation | None = None,
    ) -> Tensor:
        """(B, T, D) -> (B, T, D); ``record`` as in :class:`BertSelfAttention`."""
        return self.output(self.self(hidden, mask, head_mask, record), hidden)


# config.hidden_act -> function. "gelu" is the exact erf GELU of the original BERT; "gelu_new" and
# "gelu_pytorch_tanh" are its tanh approximation (as in GPT-2 and in HF).
ACTIVATIONS: dict[str, Callable[[Tensor], Tensor]] = {
    "gelu": F.gelu,
    "gelu_new": partial(F.gelu, approximate="tanh"),
    "gelu_pytorch_tanh": partial(F.gelu, approximate="tanh"),
    "relu": F.relu,
    "silu": F.silu,
    "swish": F.silu,
}


def get_activation(name: str) -> Callable[[Tensor], Tensor]:
    """The function ``config.hidden_act`` names; ValueError for one this package lacks."""
    try:
        return ACTIVATIONS[name]
    except (KeyError, TypeError):
        supported = sorted(ACTIVATIONS)
        raise ValueError(f"hidden_act {name!r} is not supported; use one of {supported}") from None


class BertIntermediate(nn.Module):
    """First half of the position-wise feed-forward network: D -> I, then the activation."""

    def __init__(self, config: BertConfig):
        super().__init__()
        self.dense = nn.Linear(config.hidden_size, config.intermediate_size)
        self.intermediate_act_fn = get_activation(config.hidden_act)

    def forward(self, hidden: Tensor) -> Tensor:
        """(B, T, D) -> (B, T, I)."""
        return self.intermediate_act_fn(self.dense(hidden))


class BertOutput(nn.Module):
    """Second half of the feed-forward network: I -> D, then residual connection and LayerNorm."""

    def __init__(self, config: BertConfig):
        super().__init__()
        self.dense = nn.Linear(config.intermediate_size, config.hidden_size)
        self.LayerNorm = nn.LayerNorm(config.hidden_size, eps=config.layer_norm_eps)
        self.dropout = nn.Dropout(config.hidden_dropout_prob)

    def forward(
        self, intermediate: Tensor, residual: Tensor, record: LayerExplanation | None = None
    ) -> Tensor:
        """(B, T, I), (B, T, D) -> (B, T, D); fills in ``record.ffn_output`` when given one."""
        ffn = self.dropout(self.dense(intermediate))  # (B, T, D)
        if record is not None:
            record.ffn_output = ffn
        return self.LayerNorm(ffn + residual)


class BertLayer(nn.Module):
    """One encoder layer: attention -> residual -> LayerNorm -> FFN -> residual -> LayerNorm."""

    def __init__(self, config: BertConfig):
        super().__init__()
        self.attention = BertAttention(config)
        self.intermediate = BertIntermediate(config)
        self.output = BertOutput(config)

    def forward(
        self,
        hidden: Tensor,
        mask: Tensor | None = None,
        head_mask: Tensor | None = None,
        record: LayerExplanation | None = None,
    ) -> Tensor:
        """(B, T, D) -> (B, T, D); on the explained path the modules fill in ``record``."""
        attention_output = self.attention(hidden, mask, head_mask, record)  # (B, T, D)
        intermediate = self.intermediate(attention_output)  # (B, T, I)
        output = self.output(intermediate, attention_output, record)  # (B, T, D)
        if record is not None:
            record.attention_output = attention_output
            record.intermediate = intermediate
            record.output = output
        return output


class BertEncoder(nn.Module):
    """L encoder layers, one after the other."""

    def __init__(self, config: BertConfig):
        super().__init__()
        self.layer = nn.ModuleList(BertLayer(config) for _ in range(config.num_hidden_layers))

    def forward(
        self,
        hidden: Tensor,
        mask: Tensor | None = None,
        head_mask: Tensor | None = None,
        explanation: Explanation | None = None,
    ) -> Tensor:
        """(B, T, D) -> (B, T, D); ``head_mask`` is (L, 1 or B, H, 1, 1) or None; layer i fills in
        ``explanation.layers[i]`` on the explained path."""
        for i, layer in enumerate(self.layer):
            layer_head_mask = None if head_mask is None else head_mask[i]  # (1 or B, H, 1, 1)
            record = None if explanation is None else explanation.layers[i]
            hidden = layer(hidden, mask, layer_head_mask, record)
        return hidden


class BertPooler(nn.Module):
    """Sums up the sequence by its first token [CLS]: tanh(dense(h_CLS)), for NSP / classifiers."""

    def __init__(self, config: BertConfig):
        super().__init__()
        self.dense = nn.Linear(config.hidden_size, config.hidden_size)
        self.activation = nn.Tanh()

    def forward(self, hidden: Tensor) -> Tensor:
        """(B, T, D) -> (B, D)."""
        return self.activation(self.dense(hidden[:, 0]))


class BertPreTrainedModel(nn.Module):
    """Base of every model here: holds the config and initialises weights the way HF's BERT does."""

    # Parameters shared with another (alias key -> source key), as HF's ``_tied_weights_keys``.
    tied_weights: ClassVar[dict[str, str]] = {}

    def __init__(self, config: BertConfig):
        super().__init__()
        self.config = config

    def _init_weights(self, module: nn.Module) -> None:
        """HF's BERT init: Linear and Embedding weights ~ N(0, initializer_range), biases and
        the [PAD] embedding 0, LayerNorm weight 1 and bias 0."""
        std = self.config.initializer_range
        if isinstance(module, nn.Linear):
            nn.init.normal_(module.weight, mean=0.0, std=std)
            if module.bias is not None:
                nn.init.zeros_(module.bias)
        elif isinstance(module, nn.Embedding):
            nn.init.normal_(module.weight, mean=0.0, std=std)
            if module.padding_idx is not None:
                with torch.no_grad():
                    module.weight[module.padding_idx].zero_()
        elif isinstance(module, nn.LayerNorm):
            nn.init.ones_(module.weight)
            nn.init.zeros_(module.bias)
        # The MLM head's output bias is also its decoder's bias, so the Linear rule zeroes it.

    def init_weights(self) -> None:
        """Initialise every weight (as a fresh HF model), then tie the shared ones."""
        self.apply(self._init_weights)
        self.tie_weights()

    def tie_weights(self) -> None:
        """Share parameters that are one in BERT (the MLM decoder and the word embeddings)."""


def additive_attention_mask(attention_mask: Tensor | None, dtype: torch.dtype) -> Tensor | None:
    """Turn an attention mask into the additive mask attention adds to its scores.

    Two kinds of mask come in, as ``transformers`` takes them:

    * a tokenizer's padding mask (B, T): 1 (or True) for real tokens, 0 for padding; every query
      may then see every real key;
    * a mask per query, (B, T, T) or (B, 1, T, T) (row i: what query i may see; a 4-D mask may
      also have one row block per head, (B, H, T, T)). A floating one is taken as already
      additive (0 keep, very negative drop: what ``transformers`` calls a prepared 4-D mask) and
      is only cast to ``dtype``; a boolean or integer one is a keep mask (1 keep, 0 drop). A
      causal mask (:func:`bertcore.bidirectional.causal_mask`) is one.

    Args:
        attention_mask: (B, T), (B, T, T) or (B, 1 or H, T, T) as above; None for no mask.
        dtype: floating dtype of the scores.

    Returns:
        (B, 1, 1, T) for a padding mask, (B, 1 or H, T, T) for a mask per query: 0 where a key may
        be attended to, the dtype's most negative number where not, so that softmax gives it
        exactly 0 probability. None when a padding mask pads nothing (checking that reads the
        mask, a device sync on a GPU).
    """
    if attention_mask is None:
        return None
    if attention_mask.dim() in (3, 4):
        if attention_mask.dim() == 3:
            attention_mask = attention_mask[:, None]  # (B, 1, T, T)
        if attention_mask.is_floating_point():
            return attention_mask.to(dtype)
        keep = attention_mask.bool()  # (B, 1 or H, T, T)
    elif bool(attention_mask.all()):
        return None
    else:
        keep = attention_mask[:, None, None, :].bool()  # (B, 1, 1, T)
    mask = torch.zeros(keep.shape, dtype=dtype, device=attention_mask.device)
    return mask.masked_fill_(~keep, torch.finfo(dtype).min)


def expand_head_mask(
    head_mask: Tensor | None, num_layers: int, num_heads: int, like: Tensor
) -> Tensor | None:
    """Bring a head mask to one multiplier per layer and head.

    Args:
        head_mask: (H,) for every layer or (L, H); 1 keeps a head, 0 switches it off; or
            (B, L, H), one mask per example of the batch (several choices of heads in one
            batched pass; transformers takes only the first two shapes); or None.
        like: a tensor whose device and dtype the mask takes.

    Returns:
        (L, 1, H, 1, 1) or (L, B, H, 1, 1), ready to multiply (B, H, T, T) probabilities (on the
        fast path, the (B, H, T, dh) contexts); or None.
    """
    if head_mask is None:
        return None
    if not isinstance(head_mask, Tensor):  # a list of numbers
        head_mask = torch.tensor(head_mask, device=like.device)
    head_mask = head_mask.to(device=like.device, dtype=like.dtype)
    if head_mask.dim() == 3 and head_mask.shape[1:] == (num_layers, num_heads):
        return head_mask.transpose(0, 1)[..., None, None]  # (L, B, H, 1, 1)
    if head_mask.shape == (num_heads,):
        head_mask = head_mask.expand(num_layers, num_heads)
    elif head_mask.shape != (num_layers, num_heads):
        raise ValueError(f"head_mask must have shape ({num_heads},), ({num_layers}, "
                         f"{num_heads}) or (B, {num_layers}, {num_heads}), not "
                         f"{tuple(head_mask.shape)}")
    return head_mask[:, None, :, None, None]  # (L, 1, H, 1, 1)


class BertModel(BertPreTrainedModel):
    """The BERT encoder: embeddings, L layers, and (optionally) the pooler."""

    def __init__(self, config: BertConfig, add_pooling_layer: bool = True):
        super().__init__(config)
        self.embeddings = BertEmbeddings(config)
        self.encoder = BertEncoder(config)
        self.pooler = BertPooler(config) if add_pooling_layer else None
        self.init_weights()

    def forward(
        self,
        input_ids: Tensor | None,
        token_type_ids: Tensor | None = None,
        attention_mask: Tensor | None = None,
        head_mask: Tensor | None = None,
        explain: bool = False,
        inputs_embeds: Tensor | None = None,
    ) -> BertModelOutput:
        """Encode a batch of token sequences.

        Args:
            input_ids: (B, T) token ids; None when ``inputs_embeds`` is given.
            token_type_ids: (B, T) segment ids, 0 for sentence A and 1 for sentence B; None: all 0.
            attention_mask: (B, T) 1 for tokens, 0 for padding; None means no padding. Or a mask
                per query, (B, T, T) or (B, 1, T, T): what each token may attend to (e.g. a
                causal mask), additive if floating, else 1 keep / 0 drop; see
                :func:`additive_attention_mask`.
            head_mask: (H,) or (L, H) multipliers of each head's attention probabilities; 0 removes
                a head (HF's former head_mask).
            explain: return an :class:`Explanation` of every step (else fused attention).
            inputs_embeds: (B, T, D) word vectors instead of ``input_ids`` (see
                :class:`BertEmbeddings`).

        Returns:
            :class:`BertModelOutput`: last_hidden_state (B, T, D), pooler_output (B, D) or None,
            and the explanation or None.
        """
        if (input_ids is None) == (inputs_embeds is None):
            raise ValueError("give either input_ids or inputs_embeds")
        if input_ids is not None and input_ids.dim() != 2:
            raise ValueError(f"input_ids must be (batch, tokens), not {tuple(input_ids.shape)}")
        if inputs_embeds is not None and inputs_embeds.dim() != 3:
            raise ValueError(f"inputs_embeds must be (batch, tokens, hidden), "
                             f"not {tuple(inputs_embeds.shape)}")
        B, T = input_ids.shape if input_ids is not None else inputs_embeds.shape[:2]
        if token_type_ids is not None and token_type_ids.shape != (B, T):
            raise ValueError(f"token_type_ids has shape {tuple(token_type_ids.shape)}, "
                             f"the input {(B, T)}")
        if attention_mask is not None:
            heads = (1, self.config.num_attention_heads)
            shape = tuple(attention_mask.shape)
            if not (shape in ((B, T), (B, T, T))
                    or len(shape) == 4 and shape[0] == B and shape[1] in heads
                    and shape[2:] == (T, T)):
                raise ValueError(f"attention_mask has shape {shape}; for an input of (B, T) = "
                                 f"{(B, T)} it must be (B, T), (B, T, T) or (B, 1, T, T)")
        explanation = None
        if explain:  # empty records, which the modules fill in on the way through
            explanation = Explanation(layers=[LayerExplanation() for _ in self.encoder.layer])
        hidden = self.embeddings(input_ids, token_type_ids, explanation,
                                 inputs_embeds)  # (B, T, D)
        # (B, 1, 1, T) padding, (B, 1, T, T) per query, or None
        mask = additive_attention_mask(attention_mask, hidden.dtype)
        cfg = self.config
        heads = expand_head_mask(head_mask, cfg.num_hidden_layers, cfg.num_attention_heads,
                                 hidden)  # (L, 1 or B, H, 1, 1) or None
        hidden = self.encoder(hidden, mask, heads, explanation)  # (B, T, D)
        pooled = self.pooler(hidden) if self.pooler is not None else None  # (B, D)
        if explanation is not None:
            explanation.pooled_output = pooled
        return BertModelOutput(hidden, pooled, explanation)


# ------------------------------------------------------------------------------------------------
# What the explained path fills in, and what BertModel returns.


@dataclass
class LayerExplanation:
    """What one encoder layer computed; every tensor has the batch dimension first.

    Made empty; the layer's modules fill it in as the explained path runs through them.
    """

    query: Tensor | None = None  # (B, H, T, dh)
    key: Tensor | None = None  # (B, H, T, dh)
    value: Tensor | None = None  # (B, H, T, dh)
    scores: Tensor | None = None  # (B, H, T, T) raw Q·Kᵀ/√dh, before the attention mask
    probs: Tensor | None = None  # (B, H, T, T) softmax after dropout and head mask = HF attentions
    context: Tensor | None = None  # (B, T, D) heads' weighted sums of V, concatenated
    attention_output: Tensor | None = None  # (B, T, D) after dense + residual + LayerNorm
    intermediate: Tensor | None = None  # (B, T, I) feed-forward hidden values after the activation
    ffn_output: Tensor | None = None  # (B, T, D) FFN output (dense, dropout), before residual + LN
    output: Tensor | None = None  # (B, T, D) the layer's hidden state


@dataclass
class Explanation:
    """Everything the explained path computed, from the embedding lookup to the heads.

    Made with one empty :class:`LayerExplanation` per layer; the modules fill in their fields.
    """

    word_embeddings: Tensor | None = None  # (B, T, D)
    position_embeddings: Tensor | None = None  # (B, T, D) view: the same rows for every sequence
    token_type_embeddings: Tensor | None = None  # (B, T, D)
    embedding_sum: Tensor | None = None  # (B, T, D) word + token type + position, before LayerNorm
    embedding_output: Tensor | None = None  # (B, T, D) after LayerNorm (+ dropout in training)
    layers: list[LayerExplanation] = field(default_factory=list)
    pooled_output: Tensor | None = None  # (B, D)
    mlm_logits: Tensor | None = None  # (B, T, V) filled in by a masked-LM head
    nsp_logits: Tensor | None = None  # (B, 2) filled in by a next-sentence head

    @property
    def attentions(self) -> tuple[Tensor, ...]:
        """L × (B, H, T, T) attention probabilities, as HF's ``attentions`` (and bertviz)."""
        return tuple(layer.probs for layer in self.layers)

    @property
    def hidden_states(self) -> tuple[Tensor, ...]:
        """L + 1 × (B, T, D): embedding output, then each layer's output (HF's hidden_states)."""
        return (self.embedding_output, *(layer.output for layer in self.layers))


@dataclass
class BertModelOutput:
    """What :class:`BertModel` returns."""

    last_hidden_state: Tensor  # (B, T, D)
    pooler_output: Tensor | None = None  # (B, D); None without a pooler
    explanation: Explanation | None = None  # only when explain=True

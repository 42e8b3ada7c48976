"""BERT's task heads, and the encoder with each head on top.

BERT (Devlin et al., 2019, "BERT: Pre-training of Deep Bidirectional Transformers for Language
Understanding", https://arxiv.org/abs/1810.04805) is pre-trained with two heads (§3.1): a
masked-LM head that predicts hidden words from their final hidden states, and a next-sentence
head that reads the pooled [CLS] vector. Fine-tuning (§3.2, fig. 4) adds one linear layer: over
the pooled vector for sentence classification, over every token for tagging, and a start/end
scorer for question-answering spans.

Module and attribute names are Hugging Face's (``bert``, ``cls.predictions.transform``,
``cls.predictions.decoder``, ``cls.predictions.bias``, ``cls.seq_relationship``, ``classifier``,
``qa_outputs``), so HF state dicts load key for key. As in HF, ``cls.predictions.decoder.weight``
*is* the word-embedding matrix and ``cls.predictions.decoder.bias`` *is* ``cls.predictions.bias``:
both names appear in the state dict and load into one parameter (see ``tied_weights``). Losses
are computed as HF computes them.

Shapes: B batch, T tokens, D hidden, H heads, dh = D / H, I intermediate, V vocabulary, L layers,
C classes (``config.num_labels``).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from .config import BertConfig
from .model import BertModel, BertModelOutput, BertPreTrainedModel, get_activation

__all__ = [
    "HeadsOutput", "BertPredictionHeadTransform", "BertLMPredictionHead", "BertOnlyMLMHead",
    "BertOnlyNSPHead", "BertPreTrainingHeads", "BertPreTrainedModel", "BertForPreTraining",
    "BertForMaskedLM", "BertForNextSentencePrediction", "BertForSequenceClassification",
    "BertForTokenClassification", "BertForQuestionAnswering", "TASK_MODELS",
]

MLM_TIES = {
    "cls.predictions.decoder.weight": "bert.embeddings.word_embeddings.weight",
    "cls.predictions.decoder.bias": "cls.predictions.bias",
}


@dataclass
class HeadsOutput:
    """What a task model returns; fields its head does not produce are None."""

    loss: Tensor | None = None  # () when labels were given
    mlm_logits: Tensor | None = None  # (B, T, V)
    nsp_logits: Tensor | None = None  # (B, 2): 0 "B follows A", 1 "B is random"
    logits: Tensor | None = None  # (B, C) sequence or (B, T, C) token classification
    start_logits: Tensor | None = None  # (B, T) answer-span start scores
    end_logits: Tensor | None = None  # (B, T) answer-span end scores
    hidden: BertModelOutput | None = None  # the encoder's output (with its explanation when asked)


# ------------------------------------------------------------------------------------------------
# Heads.


class BertPredictionHeadTransform(nn.Module):
    """The masked-LM head's first step: dense, activation, LayerNorm (D -> D)."""

    def __init__(self, config: BertConfig):
        super().__init__()
        self.dense = nn.Linear(config.hidden_size, config.hidden_size)
        self.transform_act_fn = get_activation(config.hidden_act)
        self.LayerNorm = nn.LayerNorm(config.hidden_size, eps=config.layer_norm_eps)

    def forward(self, hidden: Tensor) -> Tensor:
        """(B, T, D) -> (B, T, D)."""
        return self.LayerNorm(self.transform_act_fn(self.dense(hidden)))


class BertLMPredictionHead(nn.Module):
    """Scores every vocabulary word at every position: transform, then embeddingsᵀ + bias."""

    def __init__(self, config: BertConfig):
        super().__init__()
        self.transform = BertPredictionHeadTransform(config)
        # The decoder's weight becomes the word embeddings (tie_weights), its bias self.bias.
        self.decoder = nn.Linear(config.hidden_size, config.vocab_size, bias=False)
        self.bias = nn.Parameter(torch.zeros(config.vocab_size))
        self.decoder.bias = self.bias  # one parameter under two names, as in HF

    def forward(self, hidden: Tensor) -> Tensor:
        """(B, T, D) -> (B, T, V) logits."""
        return self.decoder(self.transform(hidden))


class BertOnlyMLMHead(nn.Module):
    def __init__(self, config: BertConfig):
        super().__init__()
        self.predictions = BertLMPredictionHead(config)

    def forward(self, sequence_output: Tensor) -> Tensor:
        """(B, T, D) -> (B, T, V)."""
        return self.predictions(sequence_output)


class BertOnlyNSPHead(nn.Module):
    def __init__(self, config: BertConfig):
        super().__init__()
        self.seq_relationship = nn.Linear(config.hidden_size, 2)

    def forward(self, pooled_output: Tensor) -> Tensor:
        """(B, D) -> (B, 2)."""
        return self.seq_relationship(pooled_output)


class BertPreTrainingHeads(nn.Module):
    """Both pre-training heads: masked LM over the tokens, next sentence over the pooled [CLS]."""

    def __init__(self, config: BertConfig):
        super().__init__()
        self.predictions = BertLMPredictionHead(config)
        self.seq_relationship = nn.Linear(config.hidden_size, 2)

    def forward(self, sequence_output: Tensor, pooled_output: Tensor) -> tuple[Tensor, Tensor]:
        """(B, T, D), (B, D) -> (B, T, V), (B, 2)."""
        return self.predictions(sequence_output), self.seq_relationship(pooled_output)


# ------------------------------------------------------------------------------------------------
# Losses, as HF computes them.


def _mlm_loss(logits: Tensor, labels: Tensor) -> Tensor:
    """(B, T, V), (B, T) with -100 at positions not predicted -> mean cross-entropy."""
    return F.cross_entropy(logits.reshape(-1, logits.size(-1)), labels.reshape(-1))


def _nsp_loss(logits: Tensor, labels: Tensor) -> Tensor:
    """(B, 2), (B,) -> mean cross-entropy."""
    return F.cross_entropy(logits.reshape(-1, 2), labels.reshape(-1))


class _TaskModel(BertPreTrainedModel):
    """Shared plumbing: run the encoder, then let the subclass's head read it."""

    def _init_heads(self) -> None:
        """Initialise what sits on top of ``self.bert`` (which initialised itself), then tie."""
        for name, child in self.named_children():
            if name != "bert":
                child.apply(self._init_weights)
        self.tie_weights()

    def tie_weights(self) -> None:
        cls = getattr(self, "cls", None)
        if cls is not None and hasattr(cls, "predictions"):
            cls.predictions.decoder.weight = self.bert.embeddings.word_embeddings.weight

    def _encode(self, input_ids, token_type_ids, attention_mask, head_mask, explain):
        return self.bert(input_ids, token_type_ids, attention_mask, head_mask, explain)


# ------------------------------------------------------------------------------------------------
# Task models. All take forward(input_ids, token_type_ids=None, attention_mask=None,
# head_mask=None, explain=False, *, <labels>), the first five as BertModel.forward takes them,
# and return a HeadsOutput.


class BertForPreTraining(_TaskModel):
    """BERT with both pre-training heads; loss = masked-LM loss + next-sentence loss."""

    tied_weights = MLM_TIES

    def __init__(self, config: BertConfig):
        super().__init__(config)
        self.bert = BertModel(config)
        self.cls = BertPreTrainingHeads(config)
        self._init_heads()

    def forward(self, input_ids, token_type_ids=None, attention_mask=None, head_mask=None,
                explain=False, *, labels: Tensor | None = None,
                next_sentence_label: Tensor | None = None) -> HeadsOutput:
        """labels: (B, T) word ids to predict, -100 elsewhere; next_sentence_label: (B,), 0 when
        sentence B follows A, 1 when it is random.

        The loss is their sum when both are given (as in HF), and the one term alone when only
        one is (HF gives None then).
        """
        hidden = self._encode(input_ids, token_type_ids, attention_mask, head_mask, explain)
        mlm, nsp = self.cls(hidden.last_hidden_state, hidden.pooler_output)
        terms = []
        if labels is not None:
            terms.append(_mlm_loss(mlm, labels))
        if next_sentence_label is not None:
            terms.append(_nsp_loss(nsp, next_sentence_label))
        if hidden.explanation is not None:
            hidden.explanation.mlm_logits, hidden.explanation.nsp_logits = mlm, nsp
        loss = sum(terms) if terms else None
        return HeadsOutput(loss=loss, mlm_logits=mlm, nsp_logits=nsp, hidden=hidden)


class BertForMaskedLM(_TaskModel):
    """BERT (no pooler) with the masked-LM head: fill in [MASK]ed words."""

    tied_weights = MLM_TIES

    def __init__(self, config: BertConfig):
        super().__init__(config)
        self.bert = BertModel(config, add_pooling_layer=False)
        self.cls = BertOnlyMLMHead(config)
        self._init_heads()

    def forward(self, input_ids, token_type_ids=None, attention_mask=None, head_mask=None,
                explain=False, *, labels: Tensor | None = None) -> HeadsOutput:
        """labels: (B, T) word ids to predict, -100 where nothing is predicted."""
        hidden = self._encode(input_ids, token_type_ids, attention_mask, head_mask, explain)
        mlm = self.cls(hidden.last_hidden_state)  # (B, T, V)
        if hidden.explanation is not None:
            hidden.explanation.mlm_logits = mlm
        loss = None if labels is None else _mlm_loss(mlm, labels)
        return HeadsOutput(loss=loss, mlm_logits=mlm, hidden=hidden)


class BertForNextSentencePrediction(_TaskModel):
    """BERT with the next-sentence head: does sentence B follow sentence A?"""

    def __init__(self, config: BertConfig):
        super().__init__(config)
        self.bert = BertModel(config)
        self.cls = BertOnlyNSPHead(config)
        self._init_heads()

    def forward(self, input_ids, token_type_ids=None, attention_mask=None, head_mask=None,
                explain=False, *, next_sentence_label: Tensor | None = None,
                labels: Tensor | None = None) -> HeadsOutput:
        """next_sentence_label (or ``labels``, HF's name here): (B,) 0 is-next, 1 random."""
        if labels is not None and next_sentence_label is not None:
            raise ValueError("give next_sentence_label or labels, not both")
        target = next_sentence_label if next_sentence_label is not None else labels
        hidden = self._encode(input_ids, token_type_ids, attention_mask, head_mask, explain)
        nsp = self.cls(hidden.pooler_output)  # (B, 2)
        if hidden.explanation is not None:
            hidden.explanation.nsp_logits = nsp
        loss = None if target is None else _nsp_loss(nsp, target)
        return HeadsOutput(loss=loss, nsp_logits=nsp, hidden=hidden)


def _classifier_dropout(config: BertConfig) -> float:
    p = config.extra.get("classifier_dropout")
    return config.hidden_dropout_prob if p is None else float(p)


class BertForSequenceClassification(_TaskModel):
    """BERT with a linear classifier over the pooled [CLS] vector (sentence or pair tasks)."""

    def __init__(self, config: BertConfig):
        super().__init__(config)
        self.num_labels = config.num_labels
        self.bert = BertModel(config)
        self.dropout = nn.Dropout(_classifier_dropout(config))
        self.classifier = nn.Linear(config.hidden_size, config.num_labels)
        self._init_heads()

    def forward(self, input_ids, token_type_ids=None, attention_mask=None, head_mask=None,
                explain=False, *, labels: Tensor | None = None) -> HeadsOutput:
        """labels: (B,) class ids; (B,) floats to regress (one label); (B, C) floats, multi-label.

        The loss follows HF's ``problem_type`` (``config.extra["problem_type"]``, else inferred):
        MSE for one label, cross-entropy for integer labels, else BCE with logits.
        """
        hidden = self._encode(input_ids, token_type_ids, attention_mask, head_mask, explain)
        logits = self.classifier(self.dropout(hidden.pooler_output))  # (B, C)
        loss = None
        if labels is not None:
            problem = self.config.extra.get("problem_type")
            if problem is None:
                if self.num_labels == 1:
                    problem = "regression"
                elif labels.dtype in (torch.long, torch.int):
                    problem = "single_label_classification"
                else:
                    problem = "multi_label_classification"
            if problem == "regression":
                target = labels.squeeze() if self.num_labels == 1 else labels
                loss = F.mse_loss(logits.squeeze() if self.num_labels == 1 else logits, target)
            elif problem == "single_label_classification":
                loss = F.cross_entropy(logits.view(-1, self.num_labels), labels.view(-1))
            else:
                loss = F.binary_cross_entropy_with_logits(logits, labels)
        return HeadsOutput(loss=loss, logits=logits, hidden=hidden)


class BertForTokenClassification(_TaskModel):
    """BERT (no pooler) with a linear classifier over every token (tagging, e.g. named entities)."""

    def __init__(self, config: BertConfig):
        super().__init__(config)
        self.num_labels = config.num_labels
        self.bert = BertModel(config, add_pooling_layer=False)
        self.dropout = nn.Dropout(_classifier_dropout(config))
        self.classifier = nn.Linear(config.hidden_size, config.num_labels)
        self._init_heads()

    def forward(self, input_ids, token_type_ids=None, attention_mask=None, head_mask=None,
                explain=False, *, labels: Tensor | None = None) -> HeadsOutput:
        """labels: (B, T) class ids, -100 where no label counts (padding, word-piece rests)."""
        hidden = self._encode(input_ids, token_type_ids, attention_mask, head_mask, explain)
        logits = self.classifier(self.dropout(hidden.last_hidden_state))  # (B, T, C)
        loss = None
        if labels is not None:
            loss = F.cross_entropy(logits.view(-1, self.num_labels), labels.view(-1))
        return HeadsOutput(loss=loss, logits=logits, hidden=hidden)


class BertForQuestionAnswering(_TaskModel):
    """BERT (no pooler) scoring each token as start and as end of the answer (SQuAD, §4.2)."""

    def __init__(self, config: BertConfig):
        super().__init__(config)
        self.bert = BertModel(config, add_pooling_layer=False)
        self.qa_outputs = nn.Linear(config.hidden_size, 2)
        self._init_heads()

    def forward(self, input_ids, token_type_ids=None, attention_mask=None, head_mask=None,
                explain=False, *, start_positions: Tensor | None = None,
                end_positions: Tensor | None = None) -> HeadsOutput:
        """start_positions, end_positions: (B,) token indices of the answer span; positions
        past the sequence are ignored.

        The loss (when both are given) is the mean of the start and end cross-entropies, as in HF.
        """
        hidden = self._encode(input_ids, token_type_ids, attention_mask, head_mask, explain)
        logits = self.qa_outputs(hidden.last_hidden_state)  # (B, T, 2)
        start_logits = logits[..., 0].contiguous()  # (B, T)
        end_logits = logits[..., 1].contiguous()  # (B, T)
        loss = None
        if start_positions is not None and end_positions is not None:
            ignored = start_logits.size(1)  # positions past the sequence: clamped here, ignored
            start = start_positions.reshape(-1).clamp(0, ignored)
            end = end_positions.reshape(-1).clamp(0, ignored)
            loss = (F.cross_entropy(start_logits, start, ignore_index=ignored)
                    + F.cross_entropy(end_logits, end, ignore_index=ignored)) / 2
        return HeadsOutput(loss=loss, start_logits=start_logits, end_logits=end_logits,
                           hidden=hidden)


# HF architecture name (config.json "architectures") -> class.
TASK_MODELS: dict[str, type[BertPreTrainedModel]] = {
    "BertModel": BertModel,
    "BertForPreTraining": BertForPreTraining,
    "BertForMaskedLM": BertForMaskedLM,
    "BertForNextSentencePrediction": BertForNextSentencePrediction,
    "BertForSequenceClassification": BertForSequenceClassification,
    "BertForTokenClassification": BertForTokenClassification,
    "BertForQuestionAnswering": BertForQuestionAnswering,
}

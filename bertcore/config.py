"""BERT's hyper-parameters, as a dataclass that reads and writes Hugging Face ``config.json``.

BERT (Devlin et al., 2019, "BERT: Pre-training of Deep Bidirectional Transformers for Language
Understanding", https://arxiv.org/abs/1810.04805) is fixed by a handful of numbers: the vocabulary
size V, the hidden width D, the number of layers L, of heads H, the feed-forward width I, and the
longest sequence it has position vectors for. BERT-base is L=12, D=768, H=12, I=3072.

The field names are Hugging Face's, so ``BertConfig.from_json_file("config.json")`` reads any BERT
checkpoint's config and ``to_json_file`` writes one that ``transformers`` reads back. Fields this
class does not know are kept in ``extra`` and written back unchanged.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

# model_type values that share BERT's architecture and weight names closely enough to load.
BERT_MODEL_TYPES = ("bert",)


class ConfigError(ValueError):
    """A config that does not describe a BERT this package can build."""


@dataclass
class BertConfig:
    vocab_size: int = 30522  # V: rows of the word-embedding table (and MLM output classes)
    hidden_size: int = 768  # D: width of every token vector between layers
    num_hidden_layers: int = 12  # L: encoder layers stacked
    num_attention_heads: int = 12  # H: heads per layer; each head has D / H dims
    intermediate_size: int = 3072  # I: width of the feed-forward layer inside each encoder layer
    hidden_act: str = "gelu"  # activation of the feed-forward layer ("gelu" is the exact erf GELU)
    # dropout on embeddings and every sub-layer output (training only)
    hidden_dropout_prob: float = 0.1
    attention_probs_dropout_prob: float = 0.1  # dropout on attention probabilities (training only)
    max_position_embeddings: int = 512  # longest sequence with a learned position vector
    type_vocab_size: int = 2  # segment ids: 0 for sentence A, 1 for sentence B
    initializer_range: float = 0.02  # std of the normal init for new weights
    layer_norm_eps: float = 1e-12  # epsilon inside every LayerNorm
    pad_token_id: int = 0  # id of [PAD] (its word embedding is not special in BERT)
    position_embedding_type: str = "absolute"  # only learned absolute positions are supported
    model_type: str = "bert"  # the HF model family; anything else is refused
    architectures: list[str] | None = None  # HF class names the checkpoint was saved from
    id2label: dict[int, str] | None = None  # classifier heads: class index -> name
    extra: dict[str, Any] = field(default_factory=dict)  # unknown config.json fields, kept verbatim

    def __post_init__(self) -> None:
        if self.model_type not in BERT_MODEL_TYPES:
            raise ConfigError(
                f"model_type {self.model_type!r} is not BERT; this app explains BERT checkpoints "
                f"(model_type 'bert') only."
            )
        if self.hidden_size % self.num_attention_heads:
            raise ConfigError(
                f"hidden_size {self.hidden_size} is not a multiple of num_attention_heads "
                f"{self.num_attention_heads}."
            )
        if self.position_embedding_type != "absolute":
            raise ConfigError(
                f"position_embedding_type {self.position_embedding_type!r} is not supported "
                f"(only 'absolute', as in the BERT paper)."
            )
        if self.id2label is not None:
            self.id2label = {int(k): str(v) for k, v in self.id2label.items()}

    @property
    def head_dim(self) -> int:
        """Dims per attention head, D / H (64 in BERT-base)."""
        return self.hidden_size // self.num_attention_heads

    @property
    def num_labels(self) -> int:
        """Classes of a classification head (2 when no labels are named, as in HF)."""
        return len(self.id2label) if self.id2label else 2

    @property
    def label2id(self) -> dict[str, int]:
        return {v: k for k, v in (self.id2label or {}).items()}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "BertConfig":
        known = {f.name for f in dataclasses.fields(cls)} - {"extra"}
        kwargs = {k: v for k, v in d.items() if k in known}
        extra = {k: v for k, v in d.items() if k not in known and k != "label2id"}
        if "num_labels" in extra and "id2label" not in kwargs:
            n = int(extra.pop("num_labels"))
            kwargs["id2label"] = {i: f"LABEL_{i}" for i in range(n)}
        extra.pop("num_labels", None)
        return cls(**kwargs, extra=extra)

    def to_dict(self) -> dict[str, Any]:
        d = {f.name: getattr(self, f.name) for f in dataclasses.fields(self) if f.name != "extra"}
        d = {**self.extra, **{k: v for k, v in d.items() if v is not None}}
        if self.id2label:
            d["id2label"] = {str(k): v for k, v in self.id2label.items()}
            d["label2id"] = self.label2id
        return d

    @classmethod
    def from_json_file(cls, path: str | Path) -> "BertConfig":
        path = Path(path)
        try:
            d = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
            raise ConfigError(f"cannot read {path}: {e}") from e
        if not isinstance(d, dict):
            raise ConfigError(f"{path} is not a JSON object")
        try:
            return cls.from_dict(d)
        except TypeError as e:
            raise ConfigError(f"{path}: {e}") from e

    def to_json_file(self, path: str | Path) -> None:
        Path(path).write_text(json.dumps(self.to_dict(), indent=2, sort_keys=True) + "\n", "utf-8")

"""``Bert``: a loaded checkpoint (model + tokenizer + config) and the questions one asks it.

This is the face bertcore shows to the app, the CLI and notebooks::

    bert = bertcore.load("bert-base-uncased")            # or a folder, or "offline-en"
    bert.fill_mask("The [MASK] barked.", top_k=5)         # [[("dog", 0.61), ...]]
    bert.next_sentence("It rained.", "The street was wet.")  # P(IsNext)
    x = bert.explain("The dog barked.")                  # every intermediate, see model.Explanation

Everything runs under ``torch.inference_mode`` in eval mode; the model is never changed, so one
``Bert`` can be shared by every session of the app. Shapes: B batch (always 1 here), T tokens,
H heads, V vocabulary.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import torch

from . import checkpoint
from .config import BertConfig
from .device import describe, pick_device, pick_dtype
from .model import Explanation
from .tokenizer import Encoding, Tokenizer, VocabNotFoundError


class MissingHeadError(Exception):
    """The checkpoint has no head for what was asked (e.g. masked-LM on a bare BertModel)."""


@dataclass
class Explained:
    """One sentence (or pair) through the explained path: its encoding and every intermediate.

    Attribute access falls through to the ``Explanation``, so ``x.attentions``,
    ``x.layers[3].probs`` and ``x.embedding_sum`` all work.
    """

    encoding: Encoding
    explanation: Explanation
    # The masked-LM head, applied to the last hidden state only when ``mlm_logits`` is read: its
    # (T, V) product is the largest of the whole pass, and most views never look at it.
    mlm_head: torch.nn.Module | None = field(default=None, repr=False)

    @property
    def tokens(self) -> list[str]:
        return self.encoding.tokens

    @property
    def mlm_logits(self) -> torch.Tensor | None:
        """(1, T, V) masked-LM logits at every position (None without a masked-LM head)."""
        x = self.explanation
        if x.mlm_logits is None and self.mlm_head is not None:
            with torch.inference_mode():
                x.mlm_logits = self.mlm_head(x.hidden_states[-1])
        return x.mlm_logits

    def __getattr__(self, name):
        if name.startswith("__") or name in ("encoding", "explanation", "mlm_head"):
            raise AttributeError(name)
        return getattr(self.explanation, name)


class Bert:
    """A BERT checkpoint ready to answer: model (eval mode, on ``device``), tokenizer and config."""

    def __init__(self, model: torch.nn.Module, tokenizer: Tokenizer, config: BertConfig,
                 device: torch.device, name: str = "", report: checkpoint.LoadReport | None = None):
        if tokenizer.vocab_size > config.vocab_size:
            raise checkpoint.CheckpointError(
                f"the tokenizer has {tokenizer.vocab_size} tokens but the model only "
                f"{config.vocab_size} word embeddings: they do not belong together.")
        self.model, self.tokenizer, self.config = model, tokenizer, config
        self.device, self.name, self.report = device, name, report

    # ------------------------------------------------------------------ what it has
    @property
    def has_mlm(self) -> bool:
        return hasattr(getattr(self.model, "cls", None), "predictions")

    @property
    def has_nsp(self) -> bool:
        return hasattr(getattr(self.model, "cls", None), "seq_relationship")

    @property
    def max_length(self) -> int:
        return min(self.tokenizer.model_max_length, self.config.max_position_embeddings)

    def describe_device(self) -> str:
        return describe(self.device)

    @property
    def cpu_threads(self) -> int:
        """Threads PyTorch uses for CPU work (the app shows it next to the device)."""
        return torch.get_num_threads()

    def __repr__(self) -> str:
        c = self.config
        return (f"Bert({self.name!r}, {type(self.model).__name__}, L={c.num_hidden_layers}, "
                f"H={c.num_attention_heads}, D={c.hidden_size}, V={c.vocab_size}, {self.device})")

    # ------------------------------------------------------------------ running it
    def encode(self, text: str, text_pair: str | None = None) -> Encoding:
        """``[CLS] text [SEP]`` (or ``[CLS] A [SEP] B [SEP]``), cut to what the model takes."""
        return self.tokenizer.encode(text, text_pair, max_length=self.max_length)

    def tensors(self, enc: Encoding) -> dict[str, torch.Tensor]:
        """The encoding as (1, T) LongTensors on the model's device."""
        as_t = lambda xs: torch.tensor([xs], dtype=torch.long, device=self.device)  # noqa: E731
        return {"input_ids": as_t(enc.ids), "token_type_ids": as_t(enc.type_ids),
                "attention_mask": as_t(enc.attention_mask)}

    def _head_mask(self, head_mask) -> torch.Tensor | None:
        if head_mask is None:
            return None
        return torch.as_tensor(head_mask, dtype=torch.float32, device=self.device)

    @torch.inference_mode()
    def forward(self, enc: Encoding, head_mask=None, explain: bool = False):
        """Runs the model on one encoding; ``explain`` takes the explained path.

        Args:
            head_mask: (H,) or (L, H); or (N, L, H), N choices of heads, each on its own copy of
                the encoding in one batch of N.

        Returns:
            a ``HeadsOutput``, or a ``BertModelOutput`` for a checkpoint without heads.
        """
        mask, inputs = self._head_mask(head_mask), self.tensors(enc)
        if mask is not None and mask.dim() == 3:
            inputs = {k: v.expand(mask.shape[0], -1) for k, v in inputs.items()}  # (N, T)
        return self.model(**inputs, head_mask=mask, explain=explain)

    def explain(self, text: str, text_pair: str | None = None, head_mask=None) -> Explained:
        """Every intermediate for one sentence or pair (see ``model.Explanation``).

        Args:
            head_mask: optional (H,) or (L, H) of 1 (keep) / 0 (switch the head off).
        """
        enc = self.encode(text, text_pair)
        encoder = getattr(self.model, "bert", self.model)  # a bare BertModel has no heads
        with torch.inference_mode():
            out = encoder(**self.tensors(enc), head_mask=self._head_mask(head_mask), explain=True)
            x = out.explanation
            if self.has_nsp:
                x.nsp_logits = self.model.cls.seq_relationship(out.pooler_output)  # (1, 2)
        return Explained(enc, x, self.model.cls.predictions if self.has_mlm else None)

    def mask_logits(self, enc: Encoding, head_mask=None) -> torch.Tensor:
        """MLM logits at each [MASK] position, (M, V) in the order the masks appear; (N, M, V)
        for an (N, L, H) ``head_mask`` (see :meth:`forward`)."""
        if not self.has_mlm:
            raise MissingHeadError(f"{self.name or 'this model'} has no masked-LM head.")
        positions = [i for i, t in enumerate(enc.ids) if t == self.tokenizer.mask_token_id]
        if not positions:
            raise ValueError("the text has no [MASK] token to predict.")
        mask = self._head_mask(head_mask)
        logits = self.forward(enc, mask).mlm_logits  # (1 or N, T, V)
        batched = mask is not None and mask.dim() == 3
        return logits[:, positions] if batched else logits[0, positions]

    def fill_mask(self, text: str, top_k: int = 5, text_pair: str | None = None,
                  head_mask=None) -> list[list[tuple[str, float]]]:
        """Top-k words for every [MASK], each predicted independently in one forward pass.

        Returns:
            one list per [MASK], left to right, of (token, probability) best first.
        """
        probs = self.mask_logits(self.encode(text, text_pair), head_mask).float().softmax(-1)
        top = probs.topk(min(top_k, probs.shape[-1]), dim=-1)
        return [[(self.tokenizer.ids_to_tokens[i], p) for i, p in zip(ids.tolist(), ps.tolist())]
                for ids, ps in zip(top.indices, top.values)]

    @torch.inference_mode()
    def next_sentence(self, text_a: str, text_b: str, head_mask=None) -> float:
        """P(IsNext): the NSP head's probability that B follows A (class 0 in BERT's head)."""
        if not self.has_nsp:
            raise MissingHeadError(f"{self.name or 'this model'} has no next-sentence head.")
        logits = self.forward(self.encode(text_a, text_b), head_mask).nsp_logits[0]
        return float(logits.float().softmax(-1)[0])

    def num_parameters(self) -> dict[str, int]:
        """Parameter counts per top-level component (embeddings, encoder, pooler, heads), a tied
        parameter counted once."""
        counts: dict[str, int] = {}
        seen: set[int] = set()
        for name, p in self.model.named_parameters(remove_duplicate=False):
            if p.data_ptr() in seen:
                continue
            seen.add(p.data_ptr())
            parts = name.removeprefix("bert.").split(".")
            key = parts[0] if parts[0] != "cls" else f"cls.{parts[1]}"
            counts[key] = counts.get(key, 0) + p.numel()
        return counts


# ----------------------------------------------------------------------------- loading

def load(name_or_path: str | Path, device: str | torch.device | None = "auto", dtype=None,
         architecture: str | None = None, local_files_only: bool = False,
         tqdm_class: type | None = None) -> Bert:
    """Loads a BERT checkpoint (folder, hub id, or an offline default) for inference.

    Args:
        name_or_path: a checkpoint folder, a hub id ("bert-base-uncased"), or a name from
            ``bertcore.defaults`` ("offline-en", "offline-zh").
        device: "auto" (CUDA, then MPS, then CPU), or an explicit device.
        dtype: None (float32), "bf16", "fp16".
        architecture: force a class from ``heads.TASK_MODELS``.
        local_files_only: never touch the network for hub ids.
        tqdm_class: download progress reporter (see ``checkpoint.progress_tqdm``).

    Raises:
        checkpoint.CheckpointError (and its OfflineError), with a message fit for a user.
    """
    from . import defaults

    folder = defaults.resolve(name_or_path, local_files_only=local_files_only,
                              tqdm_class=tqdm_class)
    model, config, report = checkpoint.load_model(folder, architecture)
    try:
        tokenizer = Tokenizer.from_pretrained(folder)
    except VocabNotFoundError as e:  # a folder without BERT's tokenizer files
        raise checkpoint.CheckpointError(str(e)) from e
    dev = pick_device(device)
    model.to(device=dev, dtype=pick_dtype(dtype, dev))
    return Bert(model, tokenizer, config, dev, name=str(name_or_path), report=report)

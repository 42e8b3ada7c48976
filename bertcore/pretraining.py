"""Pre-training BERT: the masked-LM + next-sentence loss, the examples it learns from, and how
well it does on text it never saw.

BERT is pre-trained on two tasks at once (Devlin et al., 2019, https://arxiv.org/abs/1810.04805,
section 3.1): predict 15 % of the tokens, chosen at random and mostly replaced by [MASK]; and tell
whether sentence B really follows sentence A. The loss is the sum of the two cross-entropies. The
data side (NSP pairs, BERT's 80/10/10 masking rule, batches) is :mod:`bertcore.data`; the training
loop is :mod:`bertcore.train`. The pretraining page runs all of it live on a tiny model
(:mod:`bertcore.toy`); the recipes that built the offline models (``recipes/pretrain.py``) run it
for hours.
"""

from __future__ import annotations

import random

import torch
import torch.nn.functional as F

from . import data
from .heads import BertForPreTraining
from .tokenizer import Tokenizer

# ----------------------------------------------------------------------------- the loss


def pretraining_loss(model: BertForPreTraining, batch: dict[str, torch.Tensor]) -> torch.Tensor:
    """MLM + NSP cross-entropy, with the vocabulary projection run only at masked positions.

    Equal to ``model(**batch).loss`` but the (B, T, V) logits are never built: the decoder is the
    largest matrix product of a small BERT, and only ~15 % of positions have a label.
    """
    return sum(pretraining_losses(model, batch).values())


def pretraining_losses(model: BertForPreTraining, batch: dict[str, torch.Tensor]) -> dict:
    """The two losses of :func:`pretraining_loss` apart: ``{"mlm": ..., "nsp": ...}`` ("nsp" only
    when the batch has next-sentence labels)."""
    out = model.bert(batch["input_ids"], batch.get("token_type_ids"), batch.get("attention_mask"))
    labels = batch["labels"]
    picked = labels != data.IGNORE_INDEX  # (B, T)
    mlm_logits = model.cls.predictions(out.last_hidden_state[picked])  # (M, V)
    losses = {"mlm": F.cross_entropy(mlm_logits.float(), labels[picked])}
    nsp_labels = batch.get("next_sentence_label")
    if nsp_labels is not None and (nsp_labels != data.IGNORE_INDEX).any():
        nsp_logits = model.cls.seq_relationship(out.pooler_output)  # (B, 2)
        losses["nsp"] = F.cross_entropy(nsp_logits.float(), nsp_labels,
                                        ignore_index=data.IGNORE_INDEX)
    return losses


# ----------------------------------------------------------------------------- examples


def split_documents(docs: list, heldout: float, seed: int) -> tuple[list, list]:
    """Documents shuffled with ``seed`` and split into (train, held-out); held-out ones never
    train."""
    order = list(range(len(docs)))
    random.Random(seed).shuffle(order)
    n = max(2, int(len(docs) * heldout))
    return [docs[i] for i in order[n:]], [docs[i] for i in order[:n]]


def build_examples(docs_ids: list, max_len: int, dupe_factor: int, seed: int) -> list:
    """NSP examples from ``dupe_factor`` passes, each with its own pairing; shuffled."""
    rng = random.Random(seed)
    examples = [ex for _ in range(dupe_factor)
                for ex in data.make_nsp_examples(docs_ids, max_len, rng)]
    rng.shuffle(examples)
    return examples


def collator_for(tok: Tokenizer, max_len: int, seed: int, cls=data.PretrainingCollator,
                 **kwargs) -> data.PretrainingCollator:
    """The batch maker for ``tok``'s vocabulary: masks drawn by a generator seeded with ``seed``
    (``cls`` and ``kwargs``: a subclass with another masking rule, and its own arguments)."""
    return cls(tok.cls_token_id, tok.sep_token_id, tok.pad_token_id, tok.mask_token_id,
               tok.vocab_size, seed=seed, first_non_special_id=data.first_word_id(tok),
               max_len=max_len, **kwargs)


# ----------------------------------------------------------------------------- evaluation


@torch.no_grad()
def evaluate(model: BertForPreTraining, examples: list, collate, batch_size: int = 64) -> dict:
    """Held-out masked-LM top-1/top-5 accuracy and loss, NSP accuracy and loss, with fixed masks."""
    model.eval()
    hits1 = hits5 = n = nsp_right = nsp_n = 0
    loss_sum = nsp_loss_sum = 0.0
    device = next(model.parameters()).device
    for i in range(0, len(examples), batch_size):
        batch = {k: v.to(device) for k, v in collate(examples[i:i + batch_size]).items()}
        out = model.bert(batch["input_ids"], batch["token_type_ids"], batch["attention_mask"])
        picked = batch["labels"] != data.IGNORE_INDEX
        logits = model.cls.predictions(out.last_hidden_state[picked]).float()  # (M, V)
        gold = batch["labels"][picked]
        top5 = logits.topk(5, dim=-1).indices
        hits1 += (top5[:, 0] == gold).sum().item()
        hits5 += (top5 == gold[:, None]).any(-1).sum().item()
        loss_sum += F.cross_entropy(logits, gold, reduction="sum").item()
        n += len(gold)
        nsp = batch["next_sentence_label"]
        keep = nsp != data.IGNORE_INDEX
        nsp_logits = model.cls.seq_relationship(out.pooler_output).float()[keep]  # (B', 2)
        nsp_right += (nsp_logits.argmax(-1) == nsp[keep]).sum().item()
        nsp_loss_sum += F.cross_entropy(nsp_logits, nsp[keep], reduction="sum").item()
        nsp_n += keep.sum().item()
    return {"mlm_top1": hits1 / max(n, 1), "mlm_top5": hits5 / max(n, 1),
            "mlm_loss": loss_sum / max(n, 1), "nsp_acc": nsp_right / max(nsp_n, 1),
            "nsp_loss": nsp_loss_sum / max(nsp_n, 1)}


@torch.no_grad()
def cloze_eval(model: BertForPreTraining, tok: Tokenizer, clozes: list[tuple[str, str]],
               top_k: int = 5) -> dict:
    """Top-1/top-k hits on cloze sentences (one [MASK] each, and the intended word), with each
    one's predictions."""
    model.eval()
    device = next(model.parameters()).device
    rows, hit1, hitk = [], 0, 0
    for sentence, answer in clozes:
        enc = tok.encode(sentence)
        pos = enc.ids.index(tok.mask_token_id)
        ids = torch.tensor([enc.ids], device=device)
        out = model.bert(ids, torch.tensor([enc.type_ids], device=device))
        probs = model.cls.predictions(out.last_hidden_state[0, pos]).float().softmax(-1)
        top = probs.topk(top_k)
        words = tok.convert_ids_to_tokens(top.indices.tolist())
        hit1 += words[0] == answer
        hitk += answer in words
        rows.append({"sentence": sentence, "answer": answer, "top": words,
                     "probs": [round(p, 3) for p in top.values.tolist()]})
    n = max(len(clozes), 1)
    return {"cloze_top1": hit1 / n, f"cloze_top{top_k}": hitk / n, "clozes": rows}

"""Shared pytest setup: offline, deterministic, and tiny checkpoints built locally.

No test downloads anything: a checkpoint is made here with ``transformers`` (random weights of a
tiny config, ``save_pretrained``) plus a toy vocab.txt, and loaded through the same code path a
user's hub model takes.
"""

from __future__ import annotations

import copy
import os
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

import pytest  # noqa: E402
import torch  # noqa: E402

SPECIALS = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
WORDS = ("the a dog cat barked sat on mat it rained street was wet paris is capital of france "
         "city river . , ! ? un ##aff ##able want ##ed runn ##ing he she they good bad movie "
         "very 中 国 人 大 学").split()
TOY_VOCAB = SPECIALS + WORDS


def hf_config(**kw):
    """A tiny transformers BertConfig (2 layers, 4 heads, hidden 32) over the toy vocab."""
    from transformers import BertConfig as HFConfig

    base = dict(vocab_size=len(TOY_VOCAB), hidden_size=32, num_hidden_layers=2,
                num_attention_heads=4, intermediate_size=64, max_position_embeddings=64,
                hidden_dropout_prob=0.1, attention_probs_dropout_prob=0.1)
    return HFConfig(**{**base, **kw})


def hf_model(cls_name: str = "BertForPreTraining", attn: str = "eager", seed: int = 0, **kw):
    """A randomly initialised transformers model of the tiny config, in eval mode."""
    import transformers

    torch.manual_seed(seed)
    cls = getattr(transformers, cls_name)
    return cls._from_config(copy.deepcopy(hf_config(**kw)), attn_implementation=attn).eval()


def write_checkpoint(folder: Path, cls_name: str = "BertForPreTraining", seed: int = 0, **kw):
    """Saves a tiny transformers model + toy vocab as a hub-style checkpoint folder."""
    model = hf_model(cls_name, seed=seed, **kw)
    model.save_pretrained(folder)
    (folder / "vocab.txt").write_text("\n".join(TOY_VOCAB) + "\n", encoding="utf-8")
    (folder / "tokenizer_config.json").write_text('{"do_lower_case": true}', encoding="utf-8")
    return model


@pytest.fixture(scope="session")
def tiny_ckpt(tmp_path_factory) -> tuple[Path, object]:
    """(folder, transformers model) of a tiny BertForPreTraining checkpoint (MLM + NSP heads)."""
    folder = tmp_path_factory.mktemp("tiny-bert")
    return folder, write_checkpoint(folder)


def write_dataset_folder(folder: Path, rows: dict, features) -> str:
    """A local data set folder as a hub repo holds one (parquet with the ``datasets`` features in
    its metadata), which ``datasets.load_dataset(folder)`` reads the way it reads a hub id."""
    from datasets import Dataset

    (folder / "data").mkdir(parents=True)
    Dataset.from_dict(rows, features=features).to_parquet(str(folder / "data" / "train-0.parquet"))
    return str(folder)


@pytest.fixture
def hub_offline(monkeypatch):
    """The hub unreachable at once (as here), instead of after the client's retries."""
    import datasets

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setattr(datasets.config, "HF_HUB_OFFLINE", True)

"""recipes/nsp_head.py: the everyday pairs it trains the next-sentence head on, and the head's
training on [CLS] vectors (a tiny model; the real runs are in recipes/NOTES.md)."""

from __future__ import annotations

import random

import pytest
import torch

import bertcore
from recipes import nsp_head

DOCS = [[f"doc{d} sentence {i} ." for i in range(12)] for d in range(30)]


def test_pairs_are_half_true_continuations_and_negatives_are_never_adjacent():
    pairs = nsp_head.sentence_pairs(DOCS, 2000, random.Random(0))
    assert len(pairs) == 2000
    where = {s: (d, i) for d, doc in enumerate(DOCS) for i, s in enumerate(doc)}
    follows = [p for p in pairs if p[2] == 0]
    assert 0.45 < len(follows) / len(pairs) < 0.55
    for a, b, label in pairs:
        (da, ia), (db, ib) = where[a], where[b]
        if label == 0:  # IsNext: the next sentence of the same document
            assert da == db and ib == ia + 1
        else:  # NotNext: another document, or the same one at least FAR sentences away
            assert da != db or abs(ia - ib) >= nsp_head.FAR
    same_doc = sum(where[a][0] == where[b][0] for a, b, label in pairs if label == 1)
    assert 0.3 < same_doc / (len(pairs) - len(follows)) < 0.7  # both kinds of negative


def test_the_head_learns_a_separable_signal_and_keeps_its_best_epoch(tiny_ckpt):
    bert = bertcore.load(tiny_ckpt[0], device="cpu", dtype=torch.float32)
    torch.manual_seed(0)
    d = bert.config.hidden_size
    y = torch.randint(0, 2, (512,))
    x = torch.randn(512, d) + 3.0 * y[:, None].float()  # the label is in every dimension
    before = {k: v.clone() for k, v in bert.model.state_dict().items()}
    result = nsp_head.train_head(bert, x[:400], y[:400], x[400:], y[400:], epochs=40, lr=1e-2)
    assert result["split_accuracy"] > 0.9
    changed = {k for k, v in bert.model.state_dict().items() if not torch.equal(v, before[k])}
    assert changed == set(nsp_head.HEAD)  # the pooler and the classifier, nothing else


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_the_models_it_writes_into_are_the_offline_defaults(lang):
    from bertcore import defaults

    assert nsp_head.MODELS[lang] == defaults.DEFAULT_MODEL[lang]

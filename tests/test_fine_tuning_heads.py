"""bertcore.fine_tuning_heads: the three heads' outputs on one input, equal to the transformers
task classes with the same weights (tiny config), untrained heads stable by seed, trained heads
read as they are."""

from __future__ import annotations

import copy

import numpy as np
import pytest
import torch
import transformers

import bertcore
from bertcore import fine_tuning_heads as fth
from bertcore.finetune import MAX_ANSWER_TOKENS

from conftest import hf_config, write_checkpoint

A, B = "the dog barked .", "it rained on the street ."
HF_CLASSES = {"classification": "BertForSequenceClassification",
              "ner": "BertForTokenClassification", "qa": "BertForQuestionAnswering"}


@pytest.fixture(scope="module")
def bert(tiny_ckpt):
    return bertcore.load(tiny_ckpt[0], device="cpu")


def hf_task_model(task: str, encoder_state: dict, head: torch.nn.Linear):
    """The transformers task class with the tiny checkpoint's encoder and ``head``'s weights."""
    n = head.out_features
    cls = getattr(transformers, HF_CLASSES[task])
    cfg = copy.deepcopy(hf_config(num_labels=2 if task == "qa" else n))
    model = cls._from_config(cfg, attn_implementation="eager").eval()
    missing, _ = model.bert.load_state_dict(encoder_state, strict=False)
    assert not missing
    getattr(model, fth.HEAD_NAMES[task]).load_state_dict(head.state_dict())
    return model


def hf_outputs(model, enc):
    with torch.no_grad():
        return model(input_ids=torch.tensor([enc.ids]),
                     token_type_ids=torch.tensor([enc.type_ids]),
                     attention_mask=torch.tensor([enc.attention_mask]))


@pytest.mark.parametrize("task", ["classification", "ner", "qa"])
def test_an_untrained_head_equals_the_transformers_class_with_the_same_weights(bert, tiny_ckpt,
                                                                               task):
    r = fth.read_head(bert.model, bert.tokenizer, task, A, B)
    enc = bert.encode(A, B)
    T, C = len(enc.ids), len(fth.DEFAULT_LABELS[task])
    assert r.tokens == enc.tokens and r.type_ids == enc.type_ids and not r.trained
    head = fth.new_head(bert.config, task, C)  # the same seed: the same weights
    hf = hf_outputs(hf_task_model(task, tiny_ckpt[1].bert.state_dict(), head), enc)
    if task == "classification":
        assert r.logits.shape == r.probs.shape == (C,) and len(r.best) == 1
        np.testing.assert_allclose(r.logits, hf.logits[0].numpy(), atol=1e-5)
        np.testing.assert_allclose(r.probs.sum(), 1.0, atol=1e-5)
        assert r.best == [int(hf.logits[0].argmax())]
    elif task == "ner":
        assert r.logits.shape == r.probs.shape == (T, C) and len(r.best) == T
        np.testing.assert_allclose(r.logits, hf.logits[0].numpy(), atol=1e-5)
        np.testing.assert_allclose(r.probs.sum(-1), 1.0, atol=1e-5)
        assert r.best == hf.logits[0].argmax(-1).tolist()
    else:
        assert r.logits.shape == r.probs.shape == (T, 2) and r.labels == []
        np.testing.assert_allclose(r.logits[:, 0], hf.start_logits[0].numpy(), atol=1e-5)
        np.testing.assert_allclose(r.logits[:, 1], hf.end_logits[0].numpy(), atol=1e-5)
        np.testing.assert_allclose(r.probs.sum(0), 1.0, atol=1e-5)


def test_the_answer_span_is_the_best_one_inside_the_passage(bert):
    r = fth.read_head(bert.model, bert.tokenizer, "qa", A, B)
    start, end = r.best
    first, last = r.type_ids.index(1), len(r.tokens) - 1
    assert first <= start <= end < last and end - start < MAX_ANSWER_TOKENS
    scores = {(i, j): r.logits[i, 0] + r.logits[j, 1]
              for i in range(first, last) for j in range(i, last)}
    assert max(scores, key=scores.get) == (start, end)
    assert r.answer == bert.tokenizer.decode(bert.encode(A, B).ids[start:end + 1])
    alone = fth.read_head(bert.model, bert.tokenizer, "qa", A)  # no passage: after [CLS]
    assert 1 <= alone.best[0] <= alone.best[1] < len(alone.tokens) - 1


def test_an_untrained_head_is_stable_by_seed_and_leaves_the_model_alone(bert):
    before = {k: v.clone() for k, v in bert.model.state_dict().items()}
    one = fth.read_head(bert.model, bert.tokenizer, "classification", A)
    again = fth.read_head(bert.model, bert.tokenizer, "classification", A)
    other = fth.read_head(bert.model, bert.tokenizer, "classification", A, seed=7)
    np.testing.assert_array_equal(one.logits, again.logits)
    assert not np.allclose(one.logits, other.logits)
    after = bert.model.state_dict()
    assert before.keys() == after.keys()
    assert all(torch.equal(before[k], after[k]) for k in before)
    w = fth.new_head(bert.config, "ner", 7).weight.detach()
    assert w.shape == (7, bert.config.hidden_size)
    assert abs(float(w.std()) - bert.config.initializer_range) < 0.01


@pytest.mark.parametrize("task", ["classification", "ner", "qa"])
def test_a_fine_tuned_checkpoint_reads_with_its_own_trained_head(tmp_path, task):
    hf = write_checkpoint(tmp_path, HF_CLASSES[task], seed=3,
                          **({} if task == "qa" else {"num_labels": 3}))
    ours = bertcore.load(tmp_path, device="cpu")
    assert fth.has_head(ours.model, task)
    r = fth.read_head(ours.model, ours.tokenizer, task, A, B)
    assert r.trained
    out = hf_outputs(hf, ours.encode(A, B))
    if task == "qa":
        np.testing.assert_allclose(r.logits[:, 0], out.start_logits[0].numpy(), atol=1e-5)
    else:
        np.testing.assert_allclose(r.logits, out.logits[0].numpy(), atol=1e-5)
        assert r.labels == ["LABEL_0", "LABEL_1", "LABEL_2"]  # the checkpoint's id2label


def test_an_encoder_saved_without_a_pooler_gets_a_new_one(tmp_path):
    write_checkpoint(tmp_path, "BertForMaskedLM")
    mlm = bertcore.load(tmp_path, device="cpu")
    assert mlm.model.bert.pooler is None
    r = fth.read_head(mlm.model, mlm.tokenizer, "classification", A)
    assert r.probs.shape == (2,) and not r.trained
    np.testing.assert_array_equal(
        r.logits, fth.read_head(mlm.model, mlm.tokenizer, "classification", A).logits)


def test_a_long_input_is_cut_to_what_the_model_reads(bert):
    long = " ".join(["the dog barked ."] * 40)  # 160 pieces; the tiny model reads 64
    r = fth.read_head(bert.model, bert.tokenizer, "ner", long, B)
    assert len(r.tokens) == bert.max_length == r.logits.shape[0] and r.truncated > 0
    with pytest.raises(ValueError):
        fth.read_head(bert.model, bert.tokenizer, "summarise", A)


def test_all_three_heads_from_one_pass_equal_each_on_its_own(bert):
    both = fth.read_heads(bert.model, bert.tokenizer, ("classification", "ner", "qa"), A, B)
    for task, r in both.items():
        alone = fth.read_head(bert.model, bert.tokenizer, task, A, B)
        np.testing.assert_array_equal(r.logits, alone.logits)
        assert r.best == alone.best and r.labels == alone.labels

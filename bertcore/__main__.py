"""``python -m bertcore``: BERT Lab's model from a terminal, a script or a notebook.

    python -m bertcore tokenize "Unaffable people." [--pair "B"] [--trace]
    python -m bertcore fill-mask "Paris is the capital of [MASK]." [--top-k 5]
    python -m bertcore nsp "It rained." "The street was wet."
    python -m bertcore explain "The dog barked." [--layer 0 --head 0]
    python -m bertcore info

Every command takes ``--model`` (a folder, a hub id, or an offline default; default "offline-en"),
``--device`` and ``--json`` (machine-readable output on stdout). Errors are one line on stderr and
exit status 2.
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
        traces = bert.tokenizer.trace(args.text) + (bert.tokenizer.trace(args.pair) if args.pair else [])
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
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    import bertcore

    try:
        bert = bertcore.load(args.model, device=args.device)
        if args.command == "explain":
            c = bert.config
            if not (0 <= args.layer < c.num_hidden_layers and 0 <= args.head < c.num_attention_heads):
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

"""Fine-tuning speed: bertcore's Accelerate loop against Hugging Face's ``Trainer``, and the time
the offline default needs to reach 85 % validation accuracy on English sentiment.

1. **Loop throughput.** The same checkpoint (the offline English default, or the all-MiniLM-L6-v2
   encoder it is built on when that is not built yet) as a sequence classifier in both libraries,
   the same tokenized examples (English sentiment, bertcore's tokenizer, whose ids equal
   transformers'), the same collator (dynamic padding), batch, step count, optimiser recipe
   (AdamW, warm-up + linear decay, clipping at 1.0), threads and device (the CPU). Wall time of
   ``bertcore.train.train`` against ``Trainer.train``, alternating, median of ``REPEATS``. Goal:
   bertcore's examples/second >= 1.0x Trainer's (the row's ratio is time, so <= 1.0x).
2. **Time to 85 %.** ``bertcore.finetune.run`` on the whole training split for ``EPOCHS`` epochs,
   the encoder learning rate ``suggested_learning_rate`` gives a hidden size of 384 (2e-4; small
   models take more than bert-base's 5e-5), dropout off (the page's "Dropout off": a CPU step
   about a quarter shorter; with dropout one epoch took 125 s and ended at 84.8 %), the weights
   averaged (the page's "Average the weights (EMA)", decay 0.98: the accuracy curve is smoother;
   five seeds without it: median 136 s), on the CPU, for each of ``SEEDS`` (head initialisation
   and data order). Every ``EVAL_EVERY`` steps it is measured on the whole validation split
   (1,057 snippets; 256 gave +-2.3 points of noise). A seed's time is its training time
   (evaluations left out: how often one measures is not how fast it learns) up to its first
   evaluation with accuracy >= 0.85; the row reports the median seed (a seed that never gets
   there counts as never; most never: no time, no ratio), with every seed's numbers beside it.
   Goal: under 2 minutes.

3. **The page's default run.** ``finetune.CLASSROOM`` as the page starts it (the size guard on,
   90 s), three seeds a language, then the whole validation split and the page's "try it" texts
   (see :func:`classroom`), and two such runs started at once (:func:`classroom_pair`).
   ``BENCH_TRAIN_ONLY=classroom`` runs this part alone.

Run: ``.venv/bin/python -m benchmarks bench_train`` (several minutes on a small CPU).
"""

from __future__ import annotations

import math
import os
import statistics
import tempfile
import time

import torch

THREADS = 2
BATCH = 16
STEPS = int(os.environ.get("BENCH_TRAIN_STEPS", "12"))
REPEATS = 2
TARGET = 0.85
GOAL_S = 120.0
EPOCHS = 1.5
EVAL_EVERY = 40
DROPOUT = 0.0  # the page's "Dropout off": a CPU step a quarter shorter, accuracy alike
EMA = 0.98  # the page's "Average the weights (EMA)" (finetune.EMA_DECAY)
SEEDS = (0, 1, 2, 3, 4)
DEADLINE_S = float(os.environ.get("BENCH_TRAIN_DEADLINE", "600"))
CLASSROOM_GOALS = {"en": 0.80, "zh": 0.75}
CLASSROOM_SEEDS = (0, 1, 2)
PAIR_GOAL = 0.75  # each of two runs started at once
CLASSROOM_TRIES = {  # the page's own "try it" texts (pages/fine_tuning.py TRY_DEFAULT) and one
    "en": ["A warm, funny and beautifully acted film.",  # the other way round
           "A dull, lifeless and far too long mess."],
    "zh": ["这家酒店干净又安静，服务很好。", "质量太差了，用了两天就坏了。"]}


def _model_folder():
    from bertcore import checkpoint, defaults

    try:
        return defaults.resolve("offline-en"), "offline-en"
    except checkpoint.CheckpointError:
        return defaults.minilm_folder(), "all-MiniLM-L6-v2"


def _features(tok, n: int, max_length: int = 64) -> list[dict]:
    from bertcore import finetune, tasks

    data = tasks.builtin("sentiment-en")
    return finetune.encode("classification", data.train[:n], tok, max_length)[0]


def _ours(folder, feats, collate, steps: int) -> float:
    from bertcore import checkpoint
    from bertcore.train import TrainConfig, train

    model, _, _ = checkpoint.load_model(folder, "BertForSequenceClassification")
    cfg = TrainConfig(max_steps=steps, batch_size=BATCH, learning_rate=5e-5, warmup_ratio=0.1,
                      eval_every=0, log_every=10**9, cpu=True, seed=0)
    t0 = time.perf_counter()
    train(model, feats, collate, cfg)
    return time.perf_counter() - t0


def _hf(folder, feats, collate, steps: int) -> float:
    import transformers

    model = transformers.BertForSequenceClassification.from_pretrained(
        folder, num_labels=2, attn_implementation="sdpa")
    with tempfile.TemporaryDirectory() as tmp:
        args = transformers.TrainingArguments(
            output_dir=tmp, per_device_train_batch_size=BATCH, max_steps=steps,
            learning_rate=5e-5, weight_decay=0.01, warmup_steps=max(1, int(0.1 * steps)),
            lr_scheduler_type="linear", max_grad_norm=1.0, logging_strategy="no",
            save_strategy="no", eval_strategy="no", report_to=[], disable_tqdm=True,
            use_cpu=True, seed=0, dataloader_num_workers=0, remove_unused_columns=False)
        trainer = transformers.Trainer(model=model, args=args, train_dataset=feats,
                                       data_collator=collate)
        t0 = time.perf_counter()
        trainer.train()
        return time.perf_counter() - t0


def loop_throughput() -> dict:
    from bertcore import finetune
    from bertcore.tokenizer import Tokenizer

    folder, name = _model_folder()
    tok = Tokenizer.from_pretrained(folder)
    feats = _features(tok, STEPS * BATCH)
    collate = finetune.Collator(tok.pad_token_id)
    _ours(folder, feats, collate, 2), _hf(folder, feats, collate, 2)  # warm-up
    ours, ref = [], []
    for _ in range(REPEATS):  # alternating, so other load on the machine hits both alike
        ours.append(_ours(folder, feats, collate, STEPS))
        ref.append(_hf(folder, feats, collate, STEPS))
    o, r = statistics.median(ours), statistics.median(ref)
    n = STEPS * BATCH
    print(f"   loop: bertcore {n / o:.1f} ex/s, Trainer {n / r:.1f} ex/s ({name}, B={BATCH}, "
          f"{STEPS} steps)", flush=True)
    return {"name": f"train loop vs Trainer ({name}, B={BATCH})", "ours_s": o, "ref_s": r,
            "ratio": o / r, "unit": "s", "ours_ex_per_s": n / o, "ref_ex_per_s": n / r,
            "goal": "<= 1.0x time (= >= 1.0x examples/s)"}


def _one_seed(model, config, tok, data, seed: int) -> dict:
    from bertcore import finetune

    cfg = finetune.FinetuneConfig(train_size=len(data.train), epochs=EPOCHS, learning_rate=2e-4,
                                  dropout=DROPOUT, ema=EMA, eval_every=EVAL_EVERY,
                                  eval_size=len(data.validation), test_size=len(data.test),
                                  seed=seed, cpu=True)
    reached: dict = {}
    t0 = time.perf_counter()

    def watch(p):
        wall = time.perf_counter() - t0
        if p.metrics and p.metrics.get("accuracy", 0) >= TARGET and not reached:
            reached.update(step=p.step, seconds=p.train_s, wall=wall)
        if p.metrics:
            print(f"   seed {seed} step {p.step}: val acc {p.metrics['accuracy']:.3f} after "
                  f"{p.train_s:.0f} s of training ({wall:.0f} s with the evaluations)", flush=True)

    out = finetune.run(model, config, tok, data, cfg, callback=watch,
                       should_stop=lambda: bool(reached) or time.perf_counter() - t0 > DEADLINE_S)
    rows = [r for r in out.result.history if "accuracy" in r]
    return {"seed": seed, "reached": bool(reached), "seconds": reached.get("seconds"),
            "step": reached.get("step"), "wall_s": reached.get("wall"),
            "best_accuracy": max(r["accuracy"] for r in rows),
            "train_seconds_run": rows[-1]["train_seconds"],
            "test_accuracy_after": out.after.metrics["accuracy"]}


def time_to_target() -> dict:
    from bertcore import tasks
    from bertcore.checkpoint import load_model
    from bertcore.tokenizer import Tokenizer

    folder, name = _model_folder()
    model, config, _ = load_model(folder)
    tok = Tokenizer.from_pretrained(folder)
    data = tasks.builtin("sentiment-en")
    runs = [_one_seed(model, config, tok, data, seed) for seed in SEEDS]
    times = sorted(r["seconds"] if r["reached"] else math.inf for r in runs)
    median = times[len(times) // 2]
    met = math.isfinite(median)  # reached by most seeds
    return {"name": f"time to {TARGET:.0%} val acc, sentiment-en ({name}, CPU, median of "
                    f"{len(SEEDS)} seeds)",
            "ours_s": median if met else None, "ref_s": GOAL_S,
            "ratio": median / GOAL_S if met else None, "unit": "s",
            "reached": met, "seeds_reached": sum(r["reached"] for r in runs),
            "validation_size": len(data.validation), "dropout": DROPOUT, "ema": EMA,
            "epochs": EPOCHS,
            "runs": runs, "goal": f"<= 1.0x ({GOAL_S:.0f} s)"}


def _classroom_seed(bert, data, seed: int) -> dict:
    """The fine-tuning page's untouched run (``finetune.CLASSROOM``, guard on) for one seed, then
    its accuracy on the whole validation split and its answers to the page's "try it" texts."""
    from dataclasses import replace

    from bertcore import finetune

    cfg = replace(finetune.CLASSROOM, learning_rate=finetune.suggested_learning_rate(bert.config),
                  seed=seed, cpu=True)
    out = finetune.run(bert.model, bert.config, bert.tokenizer, data, cfg)
    feats = finetune.encode("classification", data.validation, bert.tokenizer, cfg.max_length)[0]
    accuracy = finetune.evaluate(out.model, "classification", feats, data.labels,
                                 finetune.Collator(bert.tokenizer.pad_token_id))["accuracy"]
    said = {text: out.labels[int(torch.tensor(finetune.predict(
                out.model, bert.tokenizer, "classification", text, out.labels, "",
                max_length=128)["probs"]).argmax())]
            for text in CLASSROOM_TRIES[data.lang]}
    row = {"seed": seed, "steps": out.result.steps, "train_s": round(out.result.seconds, 1),
           "accuracy": accuracy, "tries": said}
    print(f"   {data.name} seed {seed}: {row}", flush=True)
    return row


def classroom() -> list[dict]:
    """Issue 17's goal for the page's default run, within 90 s of training on a 2-core CPU:
    validation accuracy >= 80 % (sentiment-en, offline-en) and >= 75 % (sentiment-zh,
    offline-zh), median of ``CLASSROOM_SEEDS``; row ratio = accuracy / goal (>= 1.0x)."""
    import bertcore
    from bertcore import tasks

    rows = []
    for lang, goal in CLASSROOM_GOALS.items():
        bert = bertcore.load(f"offline-{lang}", device="cpu")
        data = tasks.builtin(f"sentiment-{lang}")
        runs = [_classroom_seed(bert, data, seed) for seed in CLASSROOM_SEEDS]
        acc = statistics.median(r["accuracy"] for r in runs)
        rows.append({"name": f"page's default run: val acc, sentiment-{lang} (offline-{lang}, "
                             f"CPU, median of {len(runs)} seeds)",
                     "ours_s": acc, "ref_s": goal, "ratio": acc / goal, "unit": "",
                     "train_s": [r["train_s"] for r in runs], "runs": runs,
                     "goal": f">= 1.0x ({goal:.0%} within 90 s)"})
    return rows


def classroom_pair() -> list[dict]:
    """Two users start the page's default run at the same moment (two threads of one server
    process, as two Streamlit sessions are, sharing the CPU): issue 17's goal is >= 75 %
    validation accuracy for each. Row: the lower of the two (seeds 0 and 1) / 0.75."""
    import threading

    import bertcore
    from bertcore import tasks

    rows = []
    for lang in CLASSROOM_GOALS:
        bert = bertcore.load(f"offline-{lang}", device="cpu")
        data = tasks.builtin(f"sentiment-{lang}")
        runs: dict = {}
        threads = [threading.Thread(target=lambda s=seed: runs.update({s: _classroom_seed(
            bert, data, s)})) for seed in (0, 1)]
        for th in threads:
            th.start()
        for th in threads:
            th.join()
        low = min(r["accuracy"] for r in runs.values())
        rows.append({"name": f"page's default run, two at once: lower val acc, sentiment-{lang} "
                             f"(offline-{lang}, CPU)",
                     "ours_s": low, "ref_s": PAIR_GOAL, "ratio": low / PAIR_GOAL, "unit": "",
                     "runs": list(runs.values()), "goal": f">= 1.0x ({PAIR_GOAL:.0%} each)"})
    return rows


def run() -> list[dict]:
    previous = torch.get_num_threads()
    torch.set_num_threads(THREADS)
    try:
        only = os.environ.get("BENCH_TRAIN_ONLY")
        if only == "classroom":
            return [*classroom(), *classroom_pair()]
        return [loop_throughput(), time_to_target(), *classroom(), *classroom_pair()]
    finally:
        torch.set_num_threads(previous)


if __name__ == "__main__":
    for row in run():
        print(row)

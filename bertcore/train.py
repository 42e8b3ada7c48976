"""One training loop for fine-tuning and pretraining, built on 🤗 Accelerate.

BERT's recipe (Devlin et al., 2019, https://arxiv.org/abs/1810.04805, sections 3.1, 4 and A.2):
Adam(W) with weight decay 0.01 (none on biases and LayerNorm), a linear warm-up of the learning rate
followed by linear decay to zero, gradient clipping at norm 1.0. The loop is model-agnostic: it gets
a model, a dataset, a collate function and a ``loss_fn(model, batch)``; fine-tuning uses the heads'
own losses, pretraining passes its MLM + NSP loss.

Accelerate makes the same code run on the CPU, on one GPU with mixed precision, or on many GPUs and
machines: ``accelerate launch -m bertcore finetune …`` (see README). The loop reports progress
through a callback, can be cancelled between steps (what was trained so far is kept), evaluates
every N steps with early stopping, and is deterministic for a seed. Optionally it keeps an
exponential moving average of the weights (``TrainConfig.ema``), evaluates that and ends with it: a
short, noisy run then settles sooner.
"""

from __future__ import annotations

import math
import os
import time
from dataclasses import dataclass, field
from typing import Any, Callable

import torch
from torch import nn
from torch.utils.data import DataLoader

from .device import pick_device


@dataclass
class TrainConfig:
    max_steps: int = 200  # optimiser steps in all (the loop cycles over the data as needed)
    batch_size: int = 16  # examples per step (per process under `accelerate launch`)
    learning_rate: float = 5e-5  # peak learning rate, reached after warm-up
    # name prefix -> lr, e.g. new heads
    lr_overrides: dict[str, float] = field(default_factory=dict)
    weight_decay: float = 0.01  # AdamW decay, not applied to biases and LayerNorm weights
    warmup_ratio: float = 0.1  # fraction of max_steps spent warming the learning rate up from 0
    max_grad_norm: float = 1.0  # gradient clipping
    eval_every: int = 50  # steps between evaluations (0: only at the end)
    patience: int | None = None  # stop after this many evaluations without improvement
    metric: str = "loss"  # what early stopping watches: "loss"/"*loss" lower is better, else higher
    log_every: int = 10  # steps between progress callbacks
    seed: int = 0  # seeds torch, numpy, random and the data order
    mixed_precision: str = "no"  # "no", "fp16" or "bf16" (GPU); passed to Accelerator
    cpu: bool = False  # force the CPU even where a GPU is present
    # keep an exponential moving average of the trained weights (Polyak & Juditsky, 1992), evaluate
    # it and end with it; its decay warms up as min(ema, (1 + step) / (10 + step)). 0: off
    ema: float = 0.0


@dataclass
class Progress:
    """What a progress bar and a live chart need, sent to the callback."""

    step: int
    max_steps: int
    loss: float  # mean training loss since the last report
    learning_rate: float
    examples_per_s: float
    eta_s: float
    metrics: dict[str, float] | None = None  # the evaluation just made, if any
    done: bool = False
    train_s: float = 0.0  # seconds spent training so far, evaluations left out


@dataclass
class TrainResult:
    history: list[dict[str, Any]]  # one row per report: step, loss, lr, and evaluation metrics
    steps: int  # optimiser steps taken
    cancelled: bool  # stopped by should_stop()
    stopped_early: bool  # stopped by patience
    seconds: float
    best: dict[str, float] | None = None  # the best evaluation seen


def is_main_process() -> bool:
    """False in all but the first process under ``torchrun`` / ``accelerate launch`` (which set
    RANK), so that one process prints and writes files; True in a plain single process."""
    return os.environ.get("RANK", "0") == "0"


def default_loss(model: nn.Module, batch: dict[str, torch.Tensor]) -> torch.Tensor:
    """The model's own loss, computed from the labels in the batch."""
    return model(**batch).loss


class _Objective(nn.Module):
    """The model and its loss as one module, so that everything ``loss_fn`` computes runs inside the
    forward that DistributedDataParallel wraps (under ``accelerate launch``/``torchrun``), even a
    loss that calls submodules such as ``model.bert`` directly."""

    def __init__(self, model: nn.Module, loss_fn: Callable[[nn.Module, dict], torch.Tensor]):
        super().__init__()
        self.model = model
        self.loss_fn = loss_fn

    def forward(self, batch: dict[str, torch.Tensor]) -> torch.Tensor:
        return self.loss_fn(self.model, batch)


def param_groups(model: nn.Module, cfg: TrainConfig) -> list[dict[str, Any]]:
    """AdamW groups: decay or not (biases, LayerNorm), and per-prefix learning rates."""
    groups: dict[tuple[float, float], list[nn.Parameter]] = {}
    for name, p in model.named_parameters():
        if not p.requires_grad:
            continue
        lr = next((v for k, v in cfg.lr_overrides.items() if name.startswith(k)), cfg.learning_rate)
        decay = 0.0 if name.endswith("bias") or "LayerNorm" in name else cfg.weight_decay
        groups.setdefault((lr, decay), []).append(p)
    return [{"params": ps, "lr": lr, "weight_decay": wd} for (lr, wd), ps in groups.items()]


def adamw(groups: list[dict[str, Any]], lr: float) -> torch.optim.AdamW:
    """AdamW with PyTorch's fused kernel (one pass over all tensors, CPU and GPU), as HF's Trainer
    uses by default; the plain one where the kernel does not support the parameters."""
    try:
        return torch.optim.AdamW(groups, lr=lr, fused=True)
    except (RuntimeError, ValueError):
        return torch.optim.AdamW(groups, lr=lr)


def warmup_linear(step: int, total: int, warmup: int) -> float:
    """Learning-rate multiplier: 0 → 1 over ``warmup`` steps, then linearly back to 0 at
    ``total``."""
    if step < warmup:
        return (step + 1) / warmup
    return max(0.0, (total - step) / max(1, total - warmup))


def _better(metric: str, new: float, old: float | None) -> bool:
    if old is None:
        return True
    return new < old if metric.endswith("loss") else new > old


def train(model: nn.Module, dataset, collate: Callable, cfg: TrainConfig, *,
          loss_fn: Callable[[nn.Module, dict], torch.Tensor] = default_loss,
          evaluate: Callable[[nn.Module], dict[str, float]] | None = None,
          callback: Callable[[Progress], None] | None = None,
          should_stop: Callable[[], bool] | None = None,
          batch_sampler=None) -> TrainResult:
    """Trains ``model`` in place and returns what happened. The caller owns the copy it passes.

    Args:
        model: any nn.Module; only parameters with requires_grad are trained.
        dataset: anything a DataLoader takes (a list of examples works).
        collate: turns a list of examples into a dict of tensors for ``loss_fn``.
        cfg: hyper-parameters (TrainConfig).
        loss_fn: (model, batch) -> scalar loss.
        evaluate: (model in eval mode) -> metrics; called every ``cfg.eval_every`` steps and at the
            end.
        callback: gets a Progress every ``cfg.log_every`` steps, after each evaluation and at the
            end. It may change ``cfg.max_steps`` (the fine-tuning size guard does, from the real
            pace): the loop and the learning rate's decay read it at every step.
        should_stop: polled before every step; True cancels, keeping what was trained.
        batch_sampler: yields lists of indices (e.g. ``data.LengthGroupedBatches``); replaces the
            shuffled batches of ``cfg.batch_size``.
    """
    from accelerate import Accelerator
    from accelerate.utils import DistributedDataParallelKwargs, set_seed

    set_seed(cfg.seed)
    # cpu=True also where there is no accelerator at all: that is what lets `torchrun` start
    # several CPU processes (gloo); on a single process it changes nothing.
    cpu = cfg.cpu or pick_device("auto").type == "cpu"
    # a head that some batches leave unused (NSP without NSP labels, a pooler) must not stall DDP
    unused_ok = DistributedDataParallelKwargs(find_unused_parameters=True)
    accelerator = Accelerator(mixed_precision=cfg.mixed_precision, cpu=cpu,
                              kwargs_handlers=[unused_ok])
    processes = accelerator.num_processes
    generator = torch.Generator().manual_seed(cfg.seed)
    if batch_sampler is not None:
        loader = DataLoader(dataset, batch_sampler=batch_sampler, collate_fn=collate)
    else:
        loader = DataLoader(dataset, batch_size=cfg.batch_size, shuffle=True, collate_fn=collate,
                            generator=generator, drop_last=len(dataset) > cfg.batch_size)
    optimizer = adamw(param_groups(model, cfg), cfg.learning_rate)
    warmup = max(1, int(cfg.warmup_ratio * cfg.max_steps))
    scheduler = torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda s: warmup_linear(s, cfg.max_steps, warmup))
    objective, optimizer, loader, scheduler = accelerator.prepare(_Objective(model, loss_fn),
                                                                  optimizer, loader, scheduler)

    trained = [p for p in model.parameters() if p.requires_grad]
    averaged = [p.detach().clone() for p in trained] if cfg.ema else None
    history: list[dict[str, Any]] = []
    best: dict[str, float] | None = None
    bad_evals, step, seen, cancelled, stopped_early = 0, 0, 0, False, False
    run_loss, run_n = 0.0, 0
    t0, eval_s = time.perf_counter(), 0.0

    def report(metrics: dict[str, float] | None = None, done: bool = False) -> None:
        nonlocal run_loss, run_n
        elapsed = time.perf_counter() - t0
        training = elapsed - eval_s
        rate = seen / training if training > 0 else 0.0  # training speed, evaluations left out
        eta = (cfg.max_steps - step) * elapsed / step if step else math.inf
        loss = run_loss / run_n if run_n else (history[-1]["loss"] if history else math.nan)
        row = {"step": step, "loss": loss, "lr": scheduler.get_last_lr()[0],
               "examples_per_s": rate, "seconds": elapsed, "train_seconds": training,
               **(metrics or {})}
        history.append(row)
        run_loss, run_n = 0.0, 0
        if callback and accelerator.is_main_process:
            callback(Progress(step, cfg.max_steps, loss, row["lr"], rate, 0.0 if done else eta,
                              metrics, done, training))

    def swap_in_average() -> None:  # the averaged weights <-> the trained ones (no copy)
        for p, a in zip(trained, averaged or ()):
            p.data, a.data = a.data, p.data

    def run_eval() -> dict[str, float]:
        nonlocal eval_s
        started = time.perf_counter()
        objective.eval()
        swap_in_average()
        try:
            with torch.no_grad():
                # every process evaluates the same weights on the same data
                metrics = evaluate(model)
        finally:
            swap_in_average()
        objective.train()
        eval_s += time.perf_counter() - started
        return metrics

    def stop_now() -> bool:
        stop = bool(should_stop and should_stop())
        if processes > 1 and should_stop:  # all processes stop at the same step, or DDP would hang
            stop = accelerator.reduce(torch.tensor([float(stop)], device=accelerator.device),
                                      "max").item() > 0
        return stop

    objective.train()
    while step < cfg.max_steps and not (cancelled or stopped_early):
        for batch in loader:
            if stop_now():
                cancelled = True
                break
            loss = objective(batch)
            accelerator.backward(loss)
            if cfg.max_grad_norm:
                accelerator.clip_grad_norm_(objective.parameters(), cfg.max_grad_norm)
            optimizer.step()
            scheduler.step()
            optimizer.zero_grad(set_to_none=True)
            if averaged is not None:
                with torch.no_grad():
                    decay = min(cfg.ema, (1 + step) / (10 + step))
                    for a, p in zip(averaged, trained):
                        a.lerp_(p.detach(), 1.0 - decay)
            step += 1
            seen += len(next(iter(batch.values()))) * processes
            if processes > 1:  # report the mean over all processes' batches
                loss = accelerator.reduce(loss.detach(), "mean")
            run_loss, run_n = run_loss + loss.item(), run_n + 1
            if evaluate and cfg.eval_every and step % cfg.eval_every == 0 and step < cfg.max_steps:
                metrics = run_eval()
                report(metrics)
                if _better(cfg.metric, metrics[cfg.metric], best and best[cfg.metric]):
                    best, bad_evals = {"step": step, **metrics}, 0
                else:
                    bad_evals += 1
                    if cfg.patience is not None and bad_evals >= cfg.patience:
                        stopped_early = True
                        break
            elif step % cfg.log_every == 0:
                report()
            if step >= cfg.max_steps:
                break
    if averaged is not None:  # the model ends as the average (and so does a cancelled run)
        swap_in_average()
        averaged = None
    final = run_eval() if evaluate else None
    if final is not None and cfg.metric not in final:
        raise KeyError(f"evaluate() returned no {cfg.metric!r} (TrainConfig.metric); it has "
                       f"{list(final)}")
    if final and _better(cfg.metric, final[cfg.metric], best and best[cfg.metric]):
        best = {"step": step, **final}
    report(final, done=True)
    model.eval()
    accelerator.free_memory()
    return TrainResult(history, step, cancelled, stopped_early, time.perf_counter() - t0, best)

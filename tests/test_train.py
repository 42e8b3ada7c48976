"""The training loop: it learns, stops when told, stops early, and is deterministic."""

from __future__ import annotations

import random

import torch

from bertcore.config import BertConfig
from bertcore.heads import BertForSequenceClassification
from bertcore.train import TrainConfig, param_groups, train, warmup_linear

CFG = BertConfig(vocab_size=20, hidden_size=16, num_hidden_layers=1, num_attention_heads=2,
                 intermediate_size=32, max_position_embeddings=16)


def separable(n: int, seed: int = 0) -> list[tuple[list[int], int]]:
    """Sequences whose label is whether token 5 or token 6 appears: learnable, not trivial."""
    rng = random.Random(seed)
    out = []
    for _ in range(n):
        label = rng.randrange(2)
        ids = [2] + [rng.randrange(7, 20) for _ in range(6)] + [3]
        ids[rng.randrange(1, 7)] = 5 + label
        out.append((ids, label))
    return out


def collate(batch):
    return {"input_ids": torch.tensor([ids for ids, _ in batch]),
            "labels": torch.tensor([y for _, y in batch])}


def accuracy(model, rows) -> float:
    with torch.no_grad():
        logits = model(collate(rows)["input_ids"]).logits
    return (logits.argmax(-1) == collate(rows)["labels"]).float().mean().item()


def fresh_model(seed: int = 0) -> BertForSequenceClassification:
    torch.manual_seed(seed)
    return BertForSequenceClassification(CFG)


def test_loss_falls_and_accuracy_beats_chance():
    model, data, heldout = fresh_model(), separable(256), separable(128, seed=1)
    seen = []
    result = train(model, data, collate,
                   TrainConfig(max_steps=120, batch_size=16, learning_rate=3e-3, eval_every=40,
                               log_every=20),
                   evaluate=lambda m: {"accuracy": accuracy(m, heldout), "loss": 0.0},
                   callback=seen.append)
    assert result.steps == 120 and not result.cancelled
    losses = [row["loss"] for row in result.history]
    assert losses[-1] < 0.5 * losses[0]
    assert accuracy(model, heldout) >= 0.9
    assert seen[-1].done and seen[-1].step == 120 and seen[-1].examples_per_s > 0
    assert not model.training


def test_training_time_leaves_the_evaluations_out():
    import time

    def slow_eval(m):
        time.sleep(0.2)
        return {"loss": 0.0}

    seen = []
    result = train(fresh_model(), separable(64), collate,
                   TrainConfig(max_steps=8, batch_size=8, eval_every=2, log_every=1),
                   evaluate=slow_eval, callback=seen.append)
    last = result.history[-1]
    # four evaluations (steps 2, 4, 6 and the final one) of 0.2 s each are not training time
    assert last["seconds"] - last["train_seconds"] >= 4 * 0.2
    assert last["train_seconds"] > 0 and seen[-1].train_s == last["train_seconds"]
    assert last["examples_per_s"] == 8 * 8 / last["train_seconds"]
    assert [p.train_s for p in seen] == sorted(p.train_s for p in seen)


def test_cancel_between_steps_keeps_the_partial_model():
    model = fresh_model()
    before = [p.detach().clone() for p in model.parameters()]
    calls = {"n": 0}

    def stop():
        calls["n"] += 1
        return calls["n"] > 5

    result = train(model, separable(64), collate, TrainConfig(max_steps=100, batch_size=8),
                   should_stop=stop)
    assert result.cancelled and result.steps == 5
    assert any(not torch.equal(a, b) for a, b in zip(before, model.parameters()))


def test_same_seed_same_weights_other_seed_other_weights():
    def run(seed):
        model = fresh_model()
        train(model, separable(64), collate, TrainConfig(max_steps=10, batch_size=8, seed=seed))
        return torch.cat([p.detach().flatten() for p in model.parameters()])

    a, b, c = run(0), run(0), run(1)
    assert torch.equal(a, b)
    assert not torch.equal(a, c)


def test_early_stop_after_patience_evaluations_without_improvement():
    scores = iter([0.5, 0.4, 0.4, 0.3, 0.9, 0.9])
    result = train(fresh_model(), separable(64), collate,
                   TrainConfig(max_steps=100, batch_size=8, eval_every=2, patience=2,
                               metric="accuracy"),
                   evaluate=lambda m: {"accuracy": next(scores)})
    assert result.stopped_early and result.steps == 6
    assert result.best["accuracy"] == 0.5 and result.best["step"] == 2


def test_frozen_parameters_stay_and_groups_skip_decay_on_bias_and_layernorm():
    model = fresh_model()
    for p in model.bert.embeddings.parameters():
        p.requires_grad = False
    frozen = model.bert.embeddings.word_embeddings.weight.detach().clone()
    groups = param_groups(model, TrainConfig(lr_overrides={"classifier.": 1e-2}))
    assert {g["lr"] for g in groups} == {5e-5, 1e-2}
    no_decay = [p for g in groups if g["weight_decay"] == 0 for p in g["params"]]
    assert any(p is model.classifier.bias for p in no_decay)
    assert not any(p is model.classifier.weight for p in no_decay)
    train(model, separable(32), collate, TrainConfig(max_steps=3, batch_size=8))
    assert torch.equal(frozen, model.bert.embeddings.word_embeddings.weight)


def test_warmup_then_linear_decay():
    assert [round(warmup_linear(s, 10, 2), 2) for s in range(10)] == \
        [0.5, 1.0, 1.0, 0.88, 0.75, 0.62, 0.5, 0.38, 0.25, 0.12]


def test_weight_averaging_follows_the_trained_weights_and_the_model_ends_as_the_average():
    data = separable(128)
    cfg = dict(max_steps=12, batch_size=16, learning_rate=3e-3, eval_every=4, log_every=1, seed=0)
    weights = []  # the trained weights after every step of a plain run
    plain = fresh_model()
    start = [p.detach().clone() for p in plain.parameters()]
    train(plain, data, collate, TrainConfig(**cfg),
          callback=lambda p: weights.append([w.detach().clone() for w in plain.parameters()]))
    expected, after = [w.clone() for w in start], {}
    for step, ws in enumerate(weights[:12]):
        decay = min(0.9, (1 + step) / (10 + step))
        expected = [e + (1 - decay) * (w - e) for e, w in zip(expected, ws)]
        after[step + 1] = expected

    evaluated = []
    averaged = fresh_model()
    result = train(averaged, data, collate, TrainConfig(**cfg, ema=0.9),
                   evaluate=lambda m: evaluated.append(next(m.parameters()).detach().clone())
                   or {"loss": 0.0})
    for got, want in zip(averaged.parameters(), expected):
        torch.testing.assert_close(got.detach(), want, rtol=1e-4, atol=1e-6)
    assert not torch.allclose(next(averaged.parameters()), next(plain.parameters()))
    # every evaluation (steps 4 and 8, then the end) sees the average, not the trained weights
    assert result.steps == 12 and len(evaluated) == 3
    for got, step in zip(evaluated, (4, 8, 12)):
        torch.testing.assert_close(got, after[step][0], rtol=1e-4, atol=1e-6)
        assert not torch.allclose(got, weights[step - 1][0])

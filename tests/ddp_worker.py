"""Started twice by ``test_distributed.py`` under ``torchrun``: trains the tiny pretraining model
with ``train.train`` on two CPU processes (gloo) and writes what this process ended with.

Only process 1 asks to stop (after ``argv[2]`` steps): both must stop at that same step.
"""

from __future__ import annotations

import json
import os
import sys

import torch

from bertcore import pretraining
from bertcore.train import TrainConfig, train
from test_pretraining import TOK, tiny_model, toy_examples

out, stop_after = sys.argv[1], int(sys.argv[2])
rank = int(os.environ["RANK"])
model = tiny_model()
start = torch.cat([p.detach().flatten() for p in model.parameters()]).clone()
polls = 0


def should_stop() -> bool:
    global polls
    polls += 1
    return rank == 1 and polls > stop_after


cfg = TrainConfig(max_steps=50, batch_size=8, learning_rate=1e-3, eval_every=0, log_every=1,
                  seed=0, cpu=True)
result = train(model, toy_examples(), pretraining.collator_for(TOK, 24, seed=0), cfg,
               loss_fn=pretraining.pretraining_loss, should_stop=should_stop)
end = torch.cat([p.detach().flatten() for p in model.parameters()])
with open(os.path.join(out, f"rank{rank}.json"), "w") as f:
    json.dump({"world": torch.distributed.get_world_size(), "steps": result.steps,
               "cancelled": result.cancelled, "moved": (end - start).abs().max().item(),
               "weights": end[::97].tolist()}, f)

"""Several processes (``torchrun``, as ``accelerate launch`` starts them): data-parallel training
on two CPU processes keeps the copies equal, stops together, and the CLI saves and speaks once."""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from bertcore.checkpoint import save_pretrained
from test_pretraining import TOK, tiny_model

HERE = Path(__file__).parent
pytestmark = pytest.mark.skipif(not torch.distributed.is_available(), reason="no torch.distributed")


def torchrun(*args: str, timeout: int = 180) -> subprocess.CompletedProcess:
    env = {**os.environ, "OMP_NUM_THREADS": "1",
           "PYTHONPATH": os.pathsep.join([str(HERE.parent), str(HERE)])}
    return subprocess.run([sys.executable, "-m", "torch.distributed.run", "--standalone",
                           "--nproc_per_node", "2", *args], capture_output=True, text=True,
                          env=env, timeout=timeout)


def test_two_processes_train_one_model_and_stop_at_the_same_step(tmp_path):
    run = torchrun(str(HERE / "ddp_worker.py"), str(tmp_path), "3")
    assert run.returncode == 0, run.stderr[-3000:]
    r0, r1 = (json.loads((tmp_path / f"rank{r}.json").read_text()) for r in (0, 1))
    assert r0["world"] == r1["world"] == 2  # really two processes, not two single runs
    # only process 1 asked to stop, after 3 steps: both stopped there instead of one hanging
    assert r0["steps"] == r1["steps"] == 3 and r0["cancelled"] and r1["cancelled"]
    # each saw other batches; equal weights mean the gradients were averaged, loss and all
    assert r0["moved"] > 1e-4
    assert r0["weights"] == pytest.approx(r1["weights"], abs=1e-6)


def test_finetune_cli_under_two_processes_saves_and_reports_once(tmp_path):
    save_pretrained(tiny_model(), tmp_path / "tiny", TOK)
    with open(tmp_path / "data.csv", "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["text", "label"])
        for i in range(120):
            w.writerow(["the dog barked ." if i % 2 else "it rained .", "dog" if i % 2 else "rain"])
    run = torchrun("-m", "bertcore", "finetune", "--model", str(tmp_path / "tiny"),
                   "--data", str(tmp_path / "data.csv"), "--out", str(tmp_path / "out"),
                   "--max-steps", "6", "--batch-size", "8", "--cpu")
    assert run.returncode == 0, run.stderr[-3000:]
    assert run.stdout.count("saved to") == 1 and run.stdout.count("step 6/6") >= 1
    assert len({line for line in run.stdout.splitlines() if line.startswith("step 1/")}) == 1
    cfg = json.loads((tmp_path / "out" / "config.json").read_text())
    assert set(cfg["id2label"].values()) == {"dog", "rain"}

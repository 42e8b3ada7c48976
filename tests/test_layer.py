"""bertcore.layer: one token through one encoder layer, step by step, equals the model's own hidden
state and transformers' on the same weights; the wide layer's "fired" share is its activations'."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F

import bertcore
from bertcore import layer as inside
from conftest import write_checkpoint

TOL = 1e-5


@pytest.fixture(scope="module")
def bert(tiny_ckpt):
    return bertcore.load(tiny_ckpt[0], device="cpu")


def hf_hidden_states(hf, enc) -> tuple[torch.Tensor, ...]:
    with torch.no_grad():
        return hf.bert(input_ids=torch.tensor([enc.ids]),
                       token_type_ids=torch.tensor([enc.type_ids]),
                       attention_mask=torch.tensor([enc.attention_mask]),
                       output_hidden_states=True).hidden_states


def test_recomputed_output_is_the_models_and_transformers_hidden_state(bert, tiny_ckpt):
    enc = bert.encode("the dog barked on the mat .", "it rained .")
    x = bert.explain("the dog barked on the mat .", "it rained .")
    hf_states = hf_hidden_states(tiny_ckpt[1], enc)
    for layer in range(bert.config.num_hidden_layers):
        for pos in (0, 2, len(enc.ids) - 1):
            w = inside.walk(bert, x, layer, pos)
            ours = x.hidden_states[layer + 1][0, pos].numpy()
            np.testing.assert_allclose(w.vector("output"), ours, atol=TOL)
            np.testing.assert_allclose(w.model_output, ours, atol=0)
            np.testing.assert_allclose(w.vector("output"), hf_states[layer + 1][0, pos].numpy(),
                                       atol=TOL)
            np.testing.assert_allclose(w.vector("input"), hf_states[layer][0, pos].numpy(),
                                       atol=TOL)
            assert w.output_diff <= w.layer_diff <= TOL
            assert w.output_diff == pytest.approx(
                float(np.abs(w.vector("output") - ours).max()), abs=1e-7)


def test_each_step_matches_the_submodules_of_transformers(bert, tiny_ckpt):
    """The attention sub-layer's output and the wide layer's activations, read from transformers'
    own modules with hooks, are the walk's steps; the residual sums add up."""
    hf = tiny_ckpt[1]
    enc = bert.encode("the cat sat on the mat .")
    x = bert.explain("the cat sat on the mat .")
    seen = {}
    hf_layer = hf.bert.encoder.layer[1]
    hooks = [hf_layer.attention.register_forward_hook(
                 lambda m, i, o: seen.__setitem__("attention", o[0] if isinstance(o, tuple)
                                                  else o)),
             hf_layer.intermediate.register_forward_hook(
                 lambda m, i, o: seen.__setitem__("intermediate", o))]
    try:
        hf_hidden_states(hf, enc)
    finally:
        for h in hooks:
            h.remove()
    pos = 3
    w = inside.walk(bert, x, 1, pos)
    np.testing.assert_allclose(w.vector("attention_norm"), seen["attention"][0, pos].numpy(),
                               atol=TOL)
    np.testing.assert_allclose(w.ffn_act, seen["intermediate"][0, pos].numpy(), atol=TOL)
    np.testing.assert_allclose(w.vector("attention_sum"),
                               w.vector("input") + w.vector("attention"), atol=1e-6)
    np.testing.assert_allclose(w.vector("ffn_sum"),
                               w.vector("attention_norm") + w.vector("ffn"), atol=1e-6)
    assert w.vectors.shape == (len(inside.STEPS), bert.config.hidden_size)
    assert w.ffn_act.shape == w.ffn_pre.shape == (bert.config.intermediate_size,)


def test_the_walk_runs_the_models_own_modules(bert):
    """Change a weight of the model and the walk follows it (nothing is copied out of it)."""
    x = bert.explain("the dog barked .")
    before = inside.walk(bert, x, 0, 1)
    dense = bert.model.bert.encoder.layer[0].attention.output.dense
    saved = dense.weight.detach().clone()
    try:
        with torch.no_grad():
            dense.weight.zero_()  # W^O = 0: the attention update is its bias alone
        after = inside.walk(bert, x, 0, 1)
    finally:
        with torch.no_grad():
            dense.weight.copy_(saved)
    np.testing.assert_allclose(after.vector("attention"), dense.bias.detach().numpy(), atol=1e-7)
    assert after.output_diff > 1e-3  # no longer what the (unchanged) forward pass computed
    assert before.output_diff <= TOL


def test_fire_share_and_top_units_follow_the_activations(bert):
    w = inside.walk(bert, bert.explain("the dog barked on the mat ."), 1, 2)
    np.testing.assert_allclose(w.ffn_act, F.gelu(torch.from_numpy(w.ffn_pre)).numpy(), atol=1e-6)
    assert w.fired == int((w.ffn_act > 0).sum())
    assert w.fire_share == pytest.approx(float(np.mean(w.ffn_act > 0)))
    assert 0 < w.fire_share < 1
    top = w.top_units(5)
    values = [v for _, v in top]
    assert values == sorted(values, reverse=True) and values[0] == pytest.approx(w.ffn_act.max())
    assert all(w.ffn_act[i] == pytest.approx(v) for i, v in top)
    assert len(w.top_units(10_000)) == w.ffn_act.size


def test_relu_units_fire_exactly_where_their_input_is_positive(tmp_path):
    write_checkpoint(tmp_path, hidden_act="relu", seed=3)
    bert = bertcore.load(tmp_path, device="cpu")
    w = inside.walk(bert, bert.explain("the cat sat ."), 0, 2)
    assert w.fire_share == pytest.approx(float(np.mean(w.ffn_pre > 0)))
    assert (w.ffn_act >= 0).all()


def test_change_per_sublayer(bert):
    w = inside.walk(bert, bert.explain("the dog barked on the mat ."), 0, 2)
    norms = w.norms
    assert norms.shape == (len(inside.STEPS),) and (norms > 0).all()
    a, f = w.attention_change, w.ffn_change
    assert a["stream"] == pytest.approx(norms[0]) and a["update"] == pytest.approx(norms[1])
    assert a["ratio"] == pytest.approx(norms[1] / norms[0])
    assert f["stream"] == pytest.approx(norms[3])
    assert f["ratio"] == pytest.approx(norms[4] / norms[3])
    h, out = w.vector("input"), w.vector("output")
    assert w.layer_cosine == pytest.approx(h @ out / np.linalg.norm(h) / np.linalg.norm(out),
                                           rel=1e-5)
    for change in (a, f):
        assert -1 <= change["cos"] <= 1 and -1 <= change["cos_update"] <= 1


def test_a_checkpoint_without_heads_and_bad_indices(tmp_path):
    write_checkpoint(tmp_path, "BertModel")
    bert = bertcore.load(tmp_path, device="cpu")
    x = bert.explain("the dog barked .")
    w = inside.walk(bert, x, 1, 0)
    assert w.layer_diff <= TOL
    with pytest.raises(IndexError):
        inside.walk(bert, x, bert.config.num_hidden_layers, 0)
    with pytest.raises(IndexError):
        inside.walk(bert, x, 0, len(x.tokens))

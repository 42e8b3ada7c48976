"""bertcore.model against Hugging Face transformers on the same weights, and the explained
path's pieces against each other.

Tiny random configs only; HF models are built with ``_from_config`` (the hub is never touched) and
their weights perturbed so that biases and LayerNorm parameters are not a fresh init's 0 and 1.
"""

from __future__ import annotations

import copy

import pytest
import torch
import torch.nn.functional as F
import transformers
from transformers.activations import ACT2FN

from bertcore.config import BertConfig
from bertcore.model import (
    ACTIVATIONS,
    BertModel,
    additive_attention_mask,
    attention,
    get_activation,
)

TOL = 1e-5

CONFIGS = {
    "L1-H1-D8": dict(vocab_size=31, hidden_size=8, num_hidden_layers=1, num_attention_heads=1,
                     intermediate_size=16, hidden_act="gelu"),
    "L2-H2-D16": dict(vocab_size=50, hidden_size=16, num_hidden_layers=2, num_attention_heads=2,
                      intermediate_size=24, hidden_act="gelu_new"),
    "L2-H4-D32": dict(vocab_size=97, hidden_size=32, num_hidden_layers=2, num_attention_heads=4,
                      intermediate_size=48, hidden_act="relu"),
    "L3-H4-D64": dict(vocab_size=120, hidden_size=64, num_hidden_layers=3, num_attention_heads=4,
                      intermediate_size=37, hidden_act="silu", type_vocab_size=3,
                      max_position_embeddings=40, layer_norm_eps=1e-7),
}
HF_FIELDS = ("vocab_size", "hidden_size", "num_hidden_layers", "num_attention_heads",
             "intermediate_size", "hidden_act", "hidden_dropout_prob",
             "attention_probs_dropout_prob", "max_position_embeddings", "type_vocab_size",
             "initializer_range", "layer_norm_eps", "pad_token_id")


def hf_config(cfg: BertConfig) -> transformers.BertConfig:
    fields = {k: getattr(cfg, k) for k in HF_FIELDS}
    return transformers.BertConfig(**fields, num_labels=cfg.num_labels)


def hf_model(cfg: BertConfig, cls=transformers.BertModel, attn="eager", seed=0):
    torch.manual_seed(seed)
    model = cls._from_config(copy.deepcopy(hf_config(cfg)), attn_implementation=attn).eval()
    with torch.no_grad():  # make biases, LayerNorm and the [PAD] row non-trivial
        for p in model.parameters():
            p.add_(torch.randn_like(p) * 0.2)
    return model


def ours_from(hf, cfg: BertConfig, cls=BertModel):
    model = cls(cfg)
    model.load_state_dict(hf.state_dict())
    return model.eval()


def batch(cfg: BertConfig, B=3, T=9, seed=1):
    """Padded pairs: row 0 full, rows 1 and 2 padded; sentence B starts at different places."""
    g = torch.Generator().manual_seed(seed)
    ids = torch.randint(1, cfg.vocab_size, (B, T), generator=g)
    mask = torch.ones(B, T, dtype=torch.long)
    lengths = [T, T - 2, T // 2][:B]
    types = torch.zeros(B, T, dtype=torch.long)
    for b, n in enumerate(lengths):
        mask[b, n:] = 0
        ids[b, n:] = cfg.pad_token_id
        types[b, n // 2:n] = 1 + b % (cfg.type_vocab_size - 1)
    return ids, types, mask


def maxdiff(a, b) -> float:
    return (a - b).abs().max().item()


@pytest.fixture(scope="module", params=list(CONFIGS))
def pair(request):
    cfg = BertConfig(**CONFIGS[request.param])
    hf = hf_model(cfg)
    return cfg, hf, ours_from(hf, cfg)


# --- weights load key for key -------------------------------------------------------------------


@pytest.mark.parametrize("pool", [True, False])
def test_state_dict_matches_hf_key_for_key(pool):
    cfg = BertConfig(**CONFIGS["L2-H2-D16"])
    hf = transformers.BertModel._from_config(copy.deepcopy(hf_config(cfg)), add_pooling_layer=pool)
    ours = BertModel(cfg, add_pooling_layer=pool)
    assert list(ours.state_dict()) == list(hf.state_dict())
    for k, v in hf.state_dict().items():
        assert ours.state_dict()[k].shape == v.shape, k
    ours.load_state_dict(hf.state_dict())  # strict


def test_legacy_position_ids_buffers_in_a_checkpoint_are_ignored():
    cfg = BertConfig(**CONFIGS["L1-H1-D8"])
    sd = BertModel(cfg).state_dict()
    sd["embeddings.position_ids"] = torch.arange(cfg.max_position_embeddings)[None]
    sd["embeddings.token_type_ids"] = torch.zeros(1, cfg.max_position_embeddings, dtype=torch.long)
    BertModel(cfg).load_state_dict(sd)  # strict, no "unexpected keys"


# --- parity with transformers -------------------------------------------------------------------


@pytest.mark.parametrize("explain", [False, True], ids=["fast", "explained"])
def test_parity_with_hf_padded_pairs(pair, explain):
    cfg, hf, ours = pair
    ids, types, mask = batch(cfg)
    with torch.no_grad():
        ref = hf(input_ids=ids, token_type_ids=types, attention_mask=mask,
                 output_attentions=True, output_hidden_states=True)
        out = ours(ids, types, mask, explain=explain)
    assert maxdiff(out.last_hidden_state, ref.last_hidden_state) <= TOL
    assert maxdiff(out.pooler_output, ref.pooler_output) <= TOL
    if not explain:
        assert out.explanation is None
        return
    ex = out.explanation
    assert len(ex.hidden_states) == len(ref.hidden_states) == cfg.num_hidden_layers + 1
    for ours_h, ref_h in zip(ex.hidden_states, ref.hidden_states):
        assert maxdiff(ours_h, ref_h) <= TOL
    assert len(ex.attentions) == len(ref.attentions) == cfg.num_hidden_layers
    for ours_a, ref_a in zip(ex.attentions, ref.attentions):
        assert ours_a.shape == ref_a.shape
        assert maxdiff(ours_a, ref_a) <= TOL
    assert maxdiff(ex.pooled_output, ref.pooler_output) <= TOL


@pytest.mark.parametrize("explain", [False, True], ids=["fast", "explained"])
def test_parity_without_mask_or_segments(pair, explain):
    cfg, hf, ours = pair
    ids, _, _ = batch(cfg, B=2, T=6, seed=3)
    with torch.no_grad():
        ref = hf(input_ids=ids)
        out = ours(ids, explain=explain)
    assert maxdiff(out.last_hidden_state, ref.last_hidden_state) <= TOL
    assert maxdiff(out.pooler_output, ref.pooler_output) <= TOL


def test_fast_path_matches_hf_sdpa():
    cfg = BertConfig(**CONFIGS["L3-H4-D64"])
    hf = hf_model(cfg, attn="sdpa")
    ours = ours_from(hf, cfg)
    ids, types, mask = batch(cfg)
    with torch.no_grad():
        ref = hf(input_ids=ids, token_type_ids=types, attention_mask=mask)
        out = ours(ids, types, mask)
    assert maxdiff(out.last_hidden_state, ref.last_hidden_state) <= TOL


def test_float64_follows_the_weights_dtype():
    cfg = BertConfig(**CONFIGS["L2-H4-D32"])
    hf = hf_model(cfg).double()
    ours = ours_from(hf, cfg).double()
    ids, types, mask = batch(cfg)
    with torch.no_grad():
        ref = hf(input_ids=ids, token_type_ids=types, attention_mask=mask, output_attentions=True)
        for explain in (False, True):
            out = ours(ids, types, mask, head_mask=torch.ones(4), explain=explain)
            assert out.last_hidden_state.dtype == torch.float64
            assert maxdiff(out.last_hidden_state, ref.last_hidden_state) <= 1e-12
    assert out.explanation.layers[0].probs.dtype == torch.float64
    assert maxdiff(out.explanation.attentions[-1], ref.attentions[-1]) <= 1e-12


@pytest.mark.parametrize("explain", [False, True], ids=["fast", "explained"])
def test_runs_on_the_inputs_device_without_touching_cpu(explain):
    """On the meta device every op would fail if any tensor were made on the CPU behind our back."""
    cfg = BertConfig(**CONFIGS["L2-H2-D16"])
    model = BertModel(cfg).to("meta").eval()
    ids = torch.zeros(2, 5, dtype=torch.long, device="meta")
    out = model(ids, head_mask=torch.ones(2, 2), explain=explain)
    assert out.last_hidden_state.device.type == "meta"
    assert out.last_hidden_state.shape == (2, 5, 16)


@pytest.mark.parametrize("explain", [False, True], ids=["fast", "explained"])
def test_no_tensor_is_made_on_a_default_device_or_dtype(explain):
    """With the defaults set to meta / float64, any tensor made without the input's device and dtype
    would either fail to mix with the CPU float32 ones or promote the output to float64."""
    cfg = BertConfig(**CONFIGS["L2-H2-D16"])
    model = BertModel(cfg).eval()
    ids, types, mask = batch(cfg)
    head_mask = torch.tensor([1.0, 0.0])
    with torch.no_grad():
        expected = model(ids, types, mask, head_mask=head_mask, explain=explain).last_hidden_state
        previous = torch.get_default_dtype()
        try:
            torch.set_default_dtype(torch.float64)
            with torch.device("meta"):
                out = model(ids, types, mask, head_mask=head_mask, explain=explain)
                out = out.last_hidden_state
                no_types = model(ids, None, mask, explain=explain).last_hidden_state
        finally:
            torch.set_default_dtype(previous)
    assert out.device.type == no_types.device.type == "cpu"
    assert out.dtype == no_types.dtype == torch.float32
    assert torch.equal(out, expected)


def test_bfloat16_runs_on_both_paths():
    cfg = BertConfig(**CONFIGS["L2-H2-D16"])
    model = BertModel(cfg).to(torch.bfloat16).eval()
    ids, types, mask = batch(cfg)
    with torch.no_grad():
        head_mask = torch.tensor([1.0, 0.5])  # float32: must not promote the bfloat16 model
        fast = model(ids, types, mask, head_mask=head_mask).last_hidden_state
        slow = model(ids, types, mask, head_mask=head_mask, explain=True)
    assert fast.dtype == slow.last_hidden_state.dtype == torch.bfloat16
    assert slow.explanation.layers[0].probs.dtype == torch.bfloat16
    assert maxdiff(fast.float(), slow.last_hidden_state.float()) < 0.1


# --- the explanation ----------------------------------------------------------------------------


def test_every_explanation_field_has_its_shape():
    cfg = BertConfig(**CONFIGS["L3-H4-D64"])
    B, T, D, H, dh, I, L = 2, 7, 64, 4, 16, 37, 3  # noqa: E741 (I as in the shape legend)
    ids, types, mask = batch(cfg, B=B, T=T)
    with torch.no_grad():
        out = BertModel(cfg).eval()(ids, types, mask, explain=True)
    ex = out.explanation
    for name in ("word_embeddings", "position_embeddings", "token_type_embeddings", "embedding_sum",
                 "embedding_output"):
        assert getattr(ex, name).shape == (B, T, D), name
    assert ex.pooled_output.shape == (B, D)
    assert ex.mlm_logits is None and ex.nsp_logits is None
    assert len(ex.layers) == L
    shapes = dict(query=(B, H, T, dh), key=(B, H, T, dh), value=(B, H, T, dh), scores=(B, H, T, T),
                  probs=(B, H, T, T), context=(B, T, D), attention_output=(B, T, D),
                  intermediate=(B, T, I), ffn_output=(B, T, D), output=(B, T, D))
    for layer in ex.layers:
        for name, shape in shapes.items():
            assert getattr(layer, name).shape == shape, name
    assert [a.shape for a in ex.attentions] == [(B, H, T, T)] * L
    assert [h.shape for h in ex.hidden_states] == [(B, T, D)] * (L + 1)


def test_explanation_pieces_add_up(pair):
    cfg, _, ours = pair
    ids, types, mask = batch(cfg)
    with torch.no_grad():
        out = ours(ids, types, mask, explain=True)
    ex = out.explanation
    H, dh = cfg.num_attention_heads, cfg.head_dim
    assert torch.equal(ex.embedding_sum,
                       ex.word_embeddings + ex.token_type_embeddings + ex.position_embeddings)
    assert torch.equal(ex.word_embeddings, ours.embeddings.word_embeddings.weight[ids])
    assert torch.equal(ex.position_embeddings[1], ours.embeddings.position_embeddings.weight[:9])
    assert torch.equal(ex.hidden_states[-1], out.last_hidden_state)
    assert torch.equal(ex.hidden_states[0], ex.embedding_output)
    additive = additive_attention_mask(mask, ex.embedding_output.dtype)
    keep = mask[:, None, None, :].bool()  # (B, 1, 1, T)
    for module, layer, inputs in zip(ours.encoder.layer, ex.layers, ex.hidden_states):
        probs = layer.probs
        assert torch.allclose(probs.sum(-1), torch.ones(()), atol=TOL)  # rows sum to 1 ...
        assert (probs.masked_select(~keep.expand_as(probs)) == 0).all()  # ... over real keys
        assert maxdiff(torch.softmax(layer.scores + additive, -1), probs) <= 1e-6
        assert maxdiff(layer.scores, layer.query @ layer.key.transpose(-1, -2) / dh ** 0.5) <= 1e-5
        per_head = layer.context.view(*layer.context.shape[:2], H, dh).transpose(1, 2)
        assert maxdiff(per_head, probs @ layer.value) <= 1e-6
        att = module.attention.output
        assert torch.equal(att.LayerNorm(att.dense(layer.context) + inputs), layer.attention_output)
        ffn = module.output
        assert torch.equal(module.intermediate.intermediate_act_fn(
            module.intermediate.dense(layer.attention_output)), layer.intermediate)
        assert torch.equal(ffn.dense(layer.intermediate), layer.ffn_output)
        assert torch.equal(ffn.LayerNorm(layer.ffn_output + layer.attention_output), layer.output)


def test_explanation_holds_views_not_copies():
    cfg = BertConfig(**CONFIGS["L2-H2-D16"])
    ids, types, mask = batch(cfg)
    with torch.no_grad():
        ex = BertModel(cfg).eval()(ids, types, mask, explain=True).explanation
    assert ex.position_embeddings.stride(0) == 0  # one copy of the position rows, broadcast
    layer = ex.layers[0]
    assert layer.query._base is not None and layer.key._base is not None  # split heads are views
    assert ex.layers[1].query.data_ptr() != layer.query.data_ptr()


# --- head mask ----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def masked_run():
    cfg = BertConfig(**CONFIGS["L3-H4-D64"])
    hf = hf_model(cfg)
    ours = ours_from(hf, cfg)
    ids, types, mask = batch(cfg)
    head_mask = torch.ones(3, 4)
    head_mask[0, 1] = 0.0  # switch off layer 0, head 1
    with torch.no_grad():
        plain = ours(ids, types, mask, explain=True)
        masked = ours(ids, types, mask, head_mask=head_mask, explain=True)
        fast = ours(ids, types, mask, head_mask=head_mask)
    return cfg, hf, ours, (ids, types, mask), head_mask, plain, masked, fast


def test_head_mask_switches_the_head_off(masked_run):
    cfg, _, _, _, _, plain, masked, _ = masked_run
    layer0, dh = masked.explanation.layers[0], cfg.head_dim
    assert (layer0.probs[:, 1] == 0).all()
    assert (layer0.context[..., dh:2 * dh] == 0).all()
    others = [0, 2, 3]
    assert torch.equal(layer0.probs[:, others], plain.explanation.layers[0].probs[:, others])
    assert torch.equal(layer0.scores, plain.explanation.layers[0].scores)  # before the mask
    assert maxdiff(masked.last_hidden_state, plain.last_hidden_state) > 1e-3


def test_head_mask_same_on_both_paths(masked_run):
    *_, masked, fast = masked_run
    assert maxdiff(fast.last_hidden_state, masked.last_hidden_state) <= TOL
    assert maxdiff(fast.pooler_output, masked.pooler_output) <= TOL


@pytest.mark.parametrize("value", [0.0, 0.5])
@pytest.mark.parametrize("explain", [False, True], ids=["fast", "explained"])
def test_head_mask_equals_scaling_that_heads_values_in_hf(masked_run, value, explain):
    """transformers 5 dropped head_mask. Its old semantics, probs * m, equal scaling the head's
    values by m, (mP)V = P(mV): an HF model whose value projection for (layer 1, head 2) is
    scaled by m must give what ours gives with head_mask[1, 2] = m.
    """
    cfg, hf, ours, (ids, types, mask), *_ = masked_run
    dh, layer, head = cfg.head_dim, 1, 2
    scaled = copy.deepcopy(hf)
    with torch.no_grad():
        v = scaled.encoder.layer[layer].attention.self.value
        v.weight[head * dh:(head + 1) * dh] *= value
        v.bias[head * dh:(head + 1) * dh] *= value
        ref = scaled(input_ids=ids, token_type_ids=types, attention_mask=mask)
        head_mask = torch.ones(cfg.num_hidden_layers, cfg.num_attention_heads)
        head_mask[layer, head] = value
        out = ours(ids, types, mask, head_mask=head_mask, explain=explain)
    assert maxdiff(out.last_hidden_state, ref.last_hidden_state) <= TOL
    assert maxdiff(out.pooler_output, ref.pooler_output) <= TOL


def test_head_mask_of_shape_h_applies_to_every_layer(masked_run):
    cfg, _, ours, (ids, types, mask), *_ = masked_run
    per_head = torch.tensor([1.0, 0.0, 1.0, 1.0])
    with torch.no_grad():
        a = ours(ids, types, mask, head_mask=per_head, explain=True)
        b = ours(ids, types, mask, head_mask=per_head.expand(3, 4), explain=True)
    assert torch.equal(a.last_hidden_state, b.last_hidden_state)
    assert all((layer.probs[:, 1] == 0).all() for layer in a.explanation.layers)


def test_head_mask_of_wrong_shape_is_refused(masked_run):
    _, _, ours, (ids, types, mask), *_ = masked_run
    with pytest.raises(ValueError, match="head_mask"):
        ours(ids, types, mask, head_mask=torch.ones(2, 4))


# --- dropout ------------------------------------------------------------------------------------


@pytest.mark.parametrize("explain", [False, True], ids=["fast", "explained"])
def test_dropout_only_in_training(explain):
    cfg = BertConfig(**CONFIGS["L2-H2-D16"], hidden_dropout_prob=0.3,
                     attention_probs_dropout_prob=0.3)
    model = BertModel(cfg)
    ids, types, mask = batch(cfg)
    with torch.no_grad():
        model.eval()
        a, b = model(ids, types, mask, explain=explain), model(ids, types, mask, explain=explain)
        assert torch.equal(a.last_hidden_state, b.last_hidden_state)
        model.train()
        c, d = model(ids, types, mask, explain=explain), model(ids, types, mask, explain=explain)
        assert not torch.equal(c.last_hidden_state, d.last_hidden_state)
        assert not torch.equal(a.last_hidden_state, c.last_hidden_state)


# --- building blocks ----------------------------------------------------------------------------


def test_attention_function_matches_sdpa_and_the_formula():
    g = torch.Generator().manual_seed(0)
    q, k, v = (torch.randn(2, 3, 5, 4, generator=g) for _ in range(3))
    keep = torch.tensor([[1, 1, 1, 1, 1], [1, 1, 1, 0, 0]])
    additive = additive_attention_mask(keep, torch.float32)
    context, _, probs = attention(q, k, v, additive, explain=True)
    assert maxdiff(probs, torch.softmax(q @ k.transpose(-1, -2) / 2 + additive, -1)) <= 1e-6
    assert maxdiff(context, F.scaled_dot_product_attention(q, k, v, attn_mask=additive)) <= 1e-6
    assert maxdiff(attention(q, k, v, additive)[0], context) <= 1e-6
    bool_context, _, bool_probs = attention(q, k, v, keep[:, None, None, :].bool(), explain=True)
    assert maxdiff(bool_probs, probs) <= 1e-6 and maxdiff(bool_context, context) <= 1e-6
    assert additive_attention_mask(torch.ones(2, 5), torch.float32) is None


@pytest.mark.parametrize("name", sorted(ACTIVATIONS))
def test_activations_match_hf(name):
    x = torch.linspace(-6, 6, 101)
    assert maxdiff(get_activation(name)(x), ACT2FN[name](x)) <= 1e-6


def test_unknown_activation_is_a_clear_error():
    with pytest.raises(ValueError, match="hidden_act 'tanhh'"):
        BertModel(BertConfig(**{**CONFIGS["L1-H1-D8"], "hidden_act": "tanhh"}))


def test_too_long_input_is_a_clear_error():
    cfg = BertConfig(**CONFIGS["L3-H4-D64"])  # 40 positions
    with pytest.raises(ValueError, match="max_position_embeddings"):
        BertModel(cfg)(torch.ones(1, 41, dtype=torch.long))

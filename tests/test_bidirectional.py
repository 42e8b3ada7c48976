"""bertcore.bidirectional and the model's attention masks per query: a causal mask through our
forward equals transformers' on the same weights and the same additive 4-D mask; with it, a
token's output ignores everything on its right (and without it does not); compare() reads the
page's two runs.

Tiny random configs; HF models are built with ``_from_config`` (the hub is never touched), eager
attention, weights perturbed so that biases and LayerNorms are not a fresh init's 0 and 1.
"""

from __future__ import annotations

import copy

import numpy as np
import pytest
import torch
import transformers

import bertcore
from bertcore import bidirectional, masked_lm
from bertcore.config import BertConfig
from bertcore.heads import BertForMaskedLM
from bertcore.model import BertModel, additive_attention_mask

TOL = 1e-5
CFG = dict(vocab_size=61, hidden_size=32, num_hidden_layers=2, num_attention_heads=4,
           intermediate_size=48, hidden_act="gelu", max_position_embeddings=32)


def hf_pair(cls, ours_cls, seed=0):
    """(transformers model, ours) of ``CFG`` with the same perturbed weights, in eval mode."""
    cfg = BertConfig(**CFG)
    hf_cfg = transformers.BertConfig(**CFG)
    torch.manual_seed(seed)
    hf = cls._from_config(copy.deepcopy(hf_cfg), attn_implementation="eager").eval()
    with torch.no_grad():
        for p in hf.parameters():
            p.add_(torch.randn_like(p) * 0.2)
    ours = ours_cls(cfg)
    ours.load_state_dict(hf.state_dict())
    return hf, ours.eval()


def inputs(B=2, T=9, seed=1):
    """Random ids and segments; row 1 has two padding tokens at its end."""
    g = torch.Generator().manual_seed(seed)
    ids = torch.randint(5, CFG["vocab_size"], (B, T), generator=g)
    types = torch.zeros(B, T, dtype=torch.long)
    types[:, T // 2:] = 1
    keep = torch.ones(B, T, dtype=torch.long)
    keep[1, -2:] = 0
    ids[1, -2:] = 0
    return ids, types, keep


def maxdiff(a, b) -> float:
    return (a - b).abs().max().item()


# ----------------------------------------------------------------------------- the mask itself

def test_the_causal_mask_lets_each_query_see_itself_and_its_left_only():
    keep = torch.tensor([[1, 1, 1, 1], [1, 1, 1, 0]])
    mask = bidirectional.causal_mask(keep)
    assert mask.shape == (2, 1, 4, 4) and mask.dtype == torch.float32
    allowed = mask == 0
    for b in range(2):
        for i in range(4):
            for j in range(4):
                assert allowed[b, 0, i, j] == (j <= i and bool(keep[b, j])), (b, i, j)
    assert float(mask.min()) == torch.finfo(torch.float32).min


def test_masks_per_query_become_additive_and_wrong_shapes_are_refused():
    keep = torch.tensor([[[1, 0], [1, 1]]])  # (B, T, T) 0/1
    additive = additive_attention_mask(keep, torch.float32)
    assert additive.shape == (1, 1, 2, 2)
    assert additive[0, 0, 0, 1] == torch.finfo(torch.float32).min and additive[0, 0, 1, 0] == 0
    prepared = torch.tensor([[[[0.0, -5.0], [0.0, 0.0]]]])  # floating: already additive
    assert torch.equal(additive_attention_mask(prepared, torch.float32), prepared)
    model = BertModel(BertConfig(**CFG)).eval()
    ids = torch.randint(5, 60, (1, 4))
    with pytest.raises(ValueError, match="attention_mask has shape"):
        model(ids, attention_mask=torch.ones(1, 4, 3))
    with pytest.raises(ValueError, match="either input_ids or inputs_embeds"):
        model(None)


# ----------------------------------------------------------------------------- parity with HF

@pytest.mark.parametrize("explain", [False, True], ids=["fast", "explained"])
def test_causal_bert_equals_transformers_given_the_same_4d_mask(explain):
    hf, ours = hf_pair(transformers.BertModel, BertModel)
    ids, types, keep = inputs()
    mask = bidirectional.causal_mask(keep)  # (B, 1, T, T) additive
    with torch.no_grad():
        ref = hf(input_ids=ids, token_type_ids=types, attention_mask=mask, output_attentions=True)
        out = ours(ids, types, mask, explain=explain)
    assert maxdiff(out.last_hidden_state, ref.last_hidden_state) <= TOL
    assert maxdiff(out.pooler_output, ref.pooler_output) <= TOL
    if explain:
        for a, r in zip(out.explanation.attentions, ref.attentions):
            assert maxdiff(a, r) <= TOL
            assert float(a.triu(1).abs().max()) == 0.0  # nothing above the diagonal
    # The same mask as a boolean (B, T, T) keep mask gives the same result.
    allowed = (mask == 0)[:, 0]
    with torch.no_grad():
        again = ours(ids, types, allowed, explain=explain)
    assert maxdiff(again.last_hidden_state, ref.last_hidden_state) <= TOL


def test_causal_masked_lm_logits_equal_transformers():
    hf, ours = hf_pair(transformers.BertForMaskedLM, BertForMaskedLM, seed=3)
    ids, types, keep = inputs(seed=4)
    mask = bidirectional.causal_mask(keep)
    with torch.no_grad():
        ref = hf(input_ids=ids, token_type_ids=types, attention_mask=mask).logits
        out = ours(ids, types, mask).mlm_logits
        plain = ours(ids, types, keep).mlm_logits
    assert maxdiff(out, ref) <= TOL
    assert maxdiff(plain, ref) > 1e-3  # the mask changed something


# ----------------------------------------------------------------------------- what it does

@pytest.mark.parametrize("explain", [False, True], ids=["fast", "explained"])
def test_with_the_causal_mask_a_token_ignores_its_right_and_without_it_does_not(explain):
    model = BertModel(BertConfig(**CFG)).eval()
    T, i = 10, 4
    ids = torch.randint(5, 60, (1, T), generator=torch.Generator().manual_seed(0))
    changed = ids.clone()
    changed[0, i + 1:] = torch.randint(5, 60, (T - i - 1,), generator=torch.Generator()
                                       .manual_seed(1))
    assert not torch.equal(ids[0, i + 1:], changed[0, i + 1:])
    mask = bidirectional.causal_mask(torch.ones(1, T))
    with torch.no_grad():
        a = model(ids, attention_mask=mask, explain=explain).last_hidden_state
        b = model(changed, attention_mask=mask, explain=explain).last_hidden_state
        c = model(ids, explain=explain).last_hidden_state
        d = model(changed, explain=explain).last_hidden_state
    assert maxdiff(a[0, :i + 1], b[0, :i + 1]) <= 1e-6  # 0..i: identical
    assert maxdiff(a[0, i + 1:], b[0, i + 1:]) > 1e-3  # the changed tokens themselves differ
    assert maxdiff(c[0, :i + 1], d[0, :i + 1]) > 1e-3  # bidirectional: the left feels the right


# ----------------------------------------------------------------------------- the page's view

@pytest.fixture(scope="module")
def bert(tiny_ckpt):
    return bertcore.load(tiny_ckpt[0], device="cpu")


def test_compare_reads_both_runs_and_the_left_one_ignores_the_right(bert):
    enc = bert.encode("the dog sat on the mat because it was tired .")
    view = bidirectional.compare(bert, enc, [2, 6], layer=1, head=2, k=5)
    T = len(enc)
    assert view.tokens[2] == view.tokens[6] == "[MASK]" and view.hidden_tokens == ["dog", "mat"]
    assert (view.layer, view.head) == (1, 2)
    left, both = view.left.attention, view.both.attention
    assert left.shape == both.shape == (T, T)
    np.testing.assert_allclose(left.sum(-1), 1, atol=1e-5)
    assert np.abs(np.triu(left, 1)).max() == 0 and np.triu(both, 1).max() > 0
    # Both sides: the masked-words page's own guesses and ranks.
    mv = masked_lm.predict_masks(bert, enc, (2, 6), k=5, greedy=False)
    assert view.both.top_tokens == mv.top_tokens
    np.testing.assert_allclose(view.both.top_probs, mv.top_probs, atol=1e-5)
    assert view.both.hidden_ranks == mv.hidden_ranks
    # Left only: the guesses at #2 do not move when the words right of it change; both ways do.
    other = bidirectional.compare(bert, bert.encode("the dog sat . a cat ran by the river ."),
                                  [2], layer=1, head=2)
    # (a tiny random model guesses almost uniformly: the guesses move little, the attention more)
    np.testing.assert_allclose(other.left.top_probs[0], view.left.top_probs[0], rtol=1e-5)
    assert (np.abs(other.both.top_probs[0] - view.both.top_probs[0]) / view.both.top_probs[0]
            ).max() > 1e-4
    np.testing.assert_allclose(other.left.attention[:3, :3], left[:3, :3], atol=1e-6)
    assert np.abs(other.both.attention[:3, :3] - both[:3, :3]).max() > 1e-5  # float noise: 1e-7
    assert all(1 <= r <= bert.tokenizer.vocab_size for r in view.left.hidden_ranks)


def test_compare_without_masks_gives_the_attention_alone_and_refuses_a_missing_head(bert):
    enc = bert.encode("the [MASK] sat .")
    view = bidirectional.compare(bert, enc, [], layer=0, head=0)
    assert view.positions == [] and view.both.top_tokens == [] and view.left.attention.shape == (
        len(enc), len(enc))
    typed = bidirectional.compare(bert, enc, [2])  # a [MASK] the text has: nothing was hidden
    assert typed.hidden_tokens == [None] and typed.left.hidden_ranks == [None]
    with pytest.raises(IndexError):
        bidirectional.compare(bert, enc, [], layer=bert.config.num_hidden_layers)

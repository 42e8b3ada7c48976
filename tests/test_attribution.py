"""bertcore.attribution: integrated gradients' completeness, gradient × input against autograd by
hand, one score per token read, the baseline's tokens scoring 0, and the crop of a long input.

The tiny checkpoint's weights are perturbed (a fresh init guesses almost uniformly, and every
score would be ~0), so that the scores are large enough to say something.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

import bertcore
from bertcore import attribution
from bertcore.masked_lm import mask_encoding

SENTENCE = "the dog sat on the mat because it was tired ."


@pytest.fixture(scope="module")
def bert(tiny_ckpt):
    bert = bertcore.load(tiny_ckpt[0], device="cpu")
    torch.manual_seed(0)
    with torch.no_grad():
        for p in bert.model.parameters():
            p.add_(torch.randn_like(p) * 0.3)
    return bert


@torch.no_grad()
def log_prob(bert, ids: list[int], types: list[int], position: int, target: int) -> float:
    """log P(target) at ``position`` from the model's ordinary forward over token ids."""
    out = bert.model(torch.tensor([ids]), torch.tensor([types]))
    return float(out.mlm_logits[0, position].log_softmax(-1)[target])


def test_integrated_gradients_add_up_to_the_change_from_the_baseline(bert):
    enc = bert.encode(SENTENCE)
    a = attribution.attribute(bert, enc, [2], 2, steps=64)
    masked = mask_encoding(enc, [2], bert.tokenizer.mask_token_id)
    f_x = log_prob(bert, masked.ids, masked.type_ids, 2, a.target_id)
    base = attribution.baseline_ids(masked, bert.tokenizer)
    f_0 = log_prob(bert, base, masked.type_ids, 2, a.target_id)
    assert a.f_input == pytest.approx(f_x, abs=1e-4)
    assert a.f_baseline == pytest.approx(f_0, abs=1e-4)
    change = f_x - f_0
    assert abs(change) > 0.1  # something to attribute
    assert float(a.integrated.sum()) == pytest.approx(change, abs=0.02 * abs(change))
    assert a.delta == pytest.approx(float(a.integrated.sum()) - change, abs=1e-3)
    assert abs(a.delta) <= 0.02 * abs(change)
    # [CLS], [SEP] and the [MASK] are the same in the baseline: exactly 0.
    for i, tok in enumerate(a.tokens):
        if tok in ("[CLS]", "[SEP]", "[MASK]"):
            assert a.integrated[i] == 0.0, tok
    assert np.abs(a.integrated).max() > 0


def test_gradient_times_input_equals_autograd_by_hand(bert):
    enc = bert.encode(SENTENCE)
    a = attribution.attribute(bert, enc, [2, 5], 5, target_id=bert.tokenizer.vocab["cat"])
    masked = mask_encoding(enc, [2, 5], bert.tokenizer.mask_token_id)
    kept = {}

    def keep(module, args, output):  # the word vectors of the ordinary forward, with their grad
        output.retain_grad()
        kept["emb"] = output

    handle = bert.model.bert.embeddings.word_embeddings.register_forward_hook(keep)
    try:
        out = bert.model(torch.tensor([masked.ids]), torch.tensor([masked.type_ids]))
        out.mlm_logits[0, 5].log_softmax(-1)[bert.tokenizer.vocab["cat"]].backward()
    finally:
        handle.remove()
        bert.model.zero_grad(set_to_none=True)
    emb = kept["emb"]
    by_hand = (emb.grad * emb).sum(-1)[0].detach().numpy()  # (T,)
    np.testing.assert_allclose(a.grad_x_input, by_hand, atol=1e-5)
    assert a.target == "cat" and a.position == 5


def test_one_score_per_token_and_the_top_guess_by_default(bert):
    enc = bert.encode(SENTENCE)
    a = attribution.attribute(bert, enc, [3], 3)
    T = len(enc)
    assert a.grad_x_input.shape == a.integrated.shape == (T,)
    assert len(a.tokens) == T and a.kept == list(range(T)) and not a.cropped
    assert a.tokens[3] == "[MASK]" and a.steps == attribution.STEPS
    masked = mask_encoding(enc, [3], bert.tokenizer.mask_token_id)
    with torch.no_grad():
        probs = bert.model(torch.tensor([masked.ids])).mlm_logits[0, 3].softmax(-1)
    assert a.target_id == int(probs.argmax())
    assert a.prob == pytest.approx(float(probs.max()), abs=1e-5)
    assert a.f_input == pytest.approx(float(np.log(a.prob)), abs=1e-4)
    with pytest.raises(ValueError):
        attribution.attribute(bert, enc, [3], 4)  # 4 is not a [MASK]


def test_a_long_input_is_read_as_the_tokens_around_the_mask(bert):
    long = " ".join(["the dog barked on the street ."] * 8)  # 58 tokens: cut to 40
    enc = bert.encode(long)
    assert len(enc) > 40
    a = attribution.attribute(bert, enc, [30], 30, steps=8, max_tokens=40)
    assert a.cropped and len(a.tokens) == len(a.kept) == len(a.integrated) == 40
    assert a.kept[0] == 0 and a.kept[-1] == len(enc) - 1 and 30 in a.kept
    assert a.tokens[0] == "[CLS]" and a.tokens[-1] == "[SEP]"
    assert a.tokens[a.kept.index(30)] == "[MASK]"
    assert [a.tokens[j] for j, i in enumerate(a.kept) if i != 30] == [
        enc.tokens[i] for i in a.kept if i != 30]
    # Near the end, the window ends at the last token.
    end = attribution.crop(enc, len(enc) - 2, 40)[1]
    assert end[-2:] == [len(enc) - 2, len(enc) - 1] and len(end) == 40

"""bertcore.masked_lm: masking positions, the logit lens, greedy filling, the page's whole view,
and BERT's 15 % rule on one sentence."""

from __future__ import annotations

import numpy as np
import pytest

import bertcore
from bertcore import masked_lm


@pytest.fixture(scope="module")
def bert(tiny_ckpt):
    return bertcore.load(tiny_ckpt[0], device="cpu")


def test_masking_positions_and_refusing_specials(bert):
    enc = bert.encode("the dog barked .")
    masked = masked_lm.mask_encoding(enc, [2], bert.tokenizer.mask_token_id)
    assert masked.tokens[2] == "[MASK]" and masked.ids[2] == bert.tokenizer.mask_token_id
    assert enc.tokens[2] == "dog"  # the original is untouched
    with pytest.raises(ValueError):
        masked_lm.mask_encoding(enc, [0], bert.tokenizer.mask_token_id)  # [CLS]
    with pytest.raises(ValueError):
        masked_lm.mask_encoding(enc, [99], bert.tokenizer.mask_token_id)


def test_logit_lens_last_layer_is_the_models_prediction_and_greedy_starts_from_it(bert):
    enc = bert.encode("the [MASK] sat on the [MASK] .")
    positions = [i for i, t in enumerate(enc.tokens) if t == "[MASK]"]
    hidden = bert.explain("the [MASK] sat on the [MASK] .").hidden_states
    lens_ids, lens_probs = masked_lm.logit_lens(bert, hidden, positions, k=5)
    assert lens_ids.shape == lens_probs.shape == (bert.config.num_hidden_layers + 1, 2, 5)
    ids, probs = masked_lm.top_k(masked_lm.logits_at(bert, enc, positions), 5)
    np.testing.assert_array_equal(lens_ids[-1], ids)
    np.testing.assert_allclose(lens_probs[-1], probs, atol=1e-5)
    plain = masked_lm.greedy_fill(bert, enc, positions, 5)
    reused = masked_lm.greedy_fill(bert, enc, positions, 5, first=(ids, probs))
    assert [(s.position, s.token_id) for s in plain] == [(s.position, s.token_id) for s in reused]
    # the first filled mask is the one the model was surest of
    assert plain[0].prob == pytest.approx(float(probs[:, 0].max()), abs=1e-5)
    assert sorted(s.position for s in plain) == positions


def test_pretraining_mask_follows_the_rule_and_is_seeded(bert):
    enc = bert.encode("the dog barked at the cat on the mat . " * 4)
    a, b = (masked_lm.pretraining_mask(bert, enc, seed=1),
            masked_lm.pretraining_mask(bert, enc, seed=1))
    assert a == b
    regular = sum(1 for s in enc.special_tokens_mask if not s)
    assert len(a.chosen) == round(0.15 * regular)
    assert all(not enc.special_tokens_mask[i] for i in a.chosen)
    for i, act in enumerate(a.actions):
        if act == "mask":
            assert a.masked_ids[i] == bert.tokenizer.mask_token_id
        elif act == "keep":
            assert a.masked_ids[i] == enc.ids[i]
        elif act == "random":
            assert a.masked_ids[i] != enc.ids[i]
        else:
            assert a.masked_ids[i] == enc.ids[i]


def test_the_pages_view_is_fill_mask_plus_the_greedy_and_per_layer_guesses(bert):
    text = "the dog sat on the mat ."
    enc = bert.encode(text)
    positions = (2, 6)  # "dog", "mat"
    view = masked_lm.predict_masks(bert, enc, positions, k=5)
    assert [view.tokens[p] for p in positions] == ["[MASK]", "[MASK]"]
    masked = " ".join("[MASK]" if i in positions else t for i, t in enumerate(enc.tokens[1:-1], 1))
    expected = bert.fill_mask(masked, top_k=5)
    assert view.top_tokens == [[w for w, _ in row] for row in expected]
    np.testing.assert_allclose(view.top_probs, [[p for _, p in row] for row in expected], atol=1e-5)
    assert view.lens_probs.shape == (bert.config.num_hidden_layers + 1, 2, 5)
    assert sorted(p for p, _, _ in view.greedy) == list(positions)
    assert view.greedy[0][1] == view.top_tokens[positions.index(view.greedy[0][0])][0]
    with pytest.raises(ValueError):
        masked_lm.predict_masks(bert, enc, (0,))  # [CLS]

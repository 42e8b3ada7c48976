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


def test_the_head_runs_at_the_masks_only_and_gives_what_the_full_forward_gives(bert):
    enc = bert.encode("the dog sat on the mat .", "it rained .")
    positions = [2, 5, 9]
    full = bert.forward(enc).mlm_logits[0][positions]  # the head over every token
    np.testing.assert_allclose(masked_lm.logits_at(bert, enc, positions).numpy(), full.numpy(),
                               atol=1e-5)


def test_every_layers_state_at_the_masks_is_the_explained_paths(bert):
    enc = bert.encode("the [MASK] sat on the [MASK] .", "it rained .")
    positions = [2, 6]
    states = masked_lm.hidden_states_at(bert, enc, positions)
    explained = bert.explain("the [MASK] sat on the [MASK] .", "it rained .").hidden_states
    assert len(states) == len(explained) == bert.config.num_hidden_layers + 1
    for mine, theirs in zip(states, explained):
        np.testing.assert_allclose(mine.numpy(), theirs[0, positions].numpy(), atol=1e-5)


def test_rank_of_counts_the_words_scored_higher():
    import torch

    logits = torch.log(torch.tensor([[0.1, 0.6, 0.3], [0.2, 0.3, 0.5]]))
    ranks, probs = masked_lm.rank_of(logits, [2, 2])
    assert ranks.tolist() == [2, 1]
    np.testing.assert_allclose(probs, [0.3, 0.5], atol=1e-6)
    ranks, _ = masked_lm.rank_of(logits, [0, 0])
    assert ranks.tolist() == [3, 3]


def test_the_pages_view_ranks_each_hidden_word(bert):
    enc = bert.encode("the dog sat on the [MASK] .")
    positions = (2, 6)  # "dog", and the [MASK] typed in the text
    view = masked_lm.predict_masks(bert, enc, positions, k=5)
    assert view.hidden_tokens == ["dog", None]  # a typed [MASK] hid no word
    assert view.hidden_ranks[1] is None and view.hidden_probs[1] is None
    logits = masked_lm.logits_at(bert, masked_lm.mask_encoding(
        enc, positions, bert.tokenizer.mask_token_id), positions)[0]
    probs = logits.softmax(-1)
    dog = bert.tokenizer.vocab["dog"]
    assert view.hidden_probs[0] == pytest.approx(float(probs[dog]), abs=1e-6)
    assert view.hidden_ranks[0] == 1 + int((probs > probs[dog]).sum())
    if view.hidden_ranks[0] <= 5:  # in the top k, it is the top k's own entry at its rank
        assert view.top_tokens[0][view.hidden_ranks[0] - 1] == "dog"
    else:
        assert "dog" not in view.top_tokens[0]


def test_greedy_filling_can_be_left_out(bert):
    enc = bert.encode("the dog sat on the mat .")
    with_it = masked_lm.predict_masks(bert, enc, (2, 6), k=5)
    without = masked_lm.predict_masks(bert, enc, (2, 6), k=5, greedy=False)
    assert len(with_it.greedy) == 2 and without.greedy == [] and without.greedy_top_tokens == {}
    assert without.top_tokens == with_it.top_tokens
    assert without.hidden_ranks == with_it.hidden_ranks

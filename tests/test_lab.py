"""bertcore.lab: the numbers the pages show, checked against the model and transformers."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import bertcore
from bertcore import lab


@pytest.fixture(scope="module")
def bert(tiny_ckpt):
    return bertcore.load(tiny_ckpt[0], device="cpu")


def test_embedding_parts_add_up_to_the_models_own_embedding_output(bert, tiny_ckpt):
    enc = bert.encode("the dog barked .", "it rained .")
    parts = lab.embedding_parts(bert, enc)
    T, D = len(enc.ids), bert.config.hidden_size
    assert parts.word.shape == parts.position.shape == parts.segment.shape == (T, D)
    np.testing.assert_allclose(parts.word + parts.position + parts.segment, parts.sum, atol=1e-6)
    assert parts.sum_diff <= 1e-6 and parts.output_diff <= 1e-5
    hf = tiny_ckpt[1]
    with torch.no_grad():
        ref = hf.bert.embeddings(input_ids=torch.tensor([enc.ids]),
                                 token_type_ids=torch.tensor([enc.type_ids]))[0]
    np.testing.assert_allclose(parts.layernorm, ref.numpy(), atol=1e-5)
    # sentence B's tokens carry segment 1's vector
    b = enc.type_ids.index(1)
    assert not np.allclose(parts.segment[0], parts.segment[b])


def test_position_similarity_is_a_cosine_matrix(bert):
    sim = lab.position_similarity(bert, 10)
    assert sim.shape == (10, 10)
    np.testing.assert_allclose(np.diag(sim), 1.0, atol=1e-5)
    np.testing.assert_allclose(sim, sim.T, atol=1e-6)
    assert lab.position_similarity(bert, 10_000).shape[0] == bert.config.max_position_embeddings


def test_masking_positions_and_refusing_specials(bert):
    enc = bert.encode("the dog barked .")
    masked = lab.mask_encoding(enc, [2], bert.tokenizer.mask_token_id)
    assert masked.tokens[2] == "[MASK]" and masked.ids[2] == bert.tokenizer.mask_token_id
    assert enc.tokens[2] == "dog"  # the original is untouched
    with pytest.raises(ValueError):
        lab.mask_encoding(enc, [0], bert.tokenizer.mask_token_id)  # [CLS]
    with pytest.raises(ValueError):
        lab.mask_encoding(enc, [99], bert.tokenizer.mask_token_id)


def test_logit_lens_last_layer_is_the_models_prediction_and_greedy_starts_from_it(bert):
    enc = bert.encode("the [MASK] sat on the [MASK] .")
    positions = [i for i, t in enumerate(enc.tokens) if t == "[MASK]"]
    hidden = bert.explain("the [MASK] sat on the [MASK] .").hidden_states
    lens_ids, lens_probs = lab.logit_lens(bert, hidden, positions, k=5)
    assert lens_ids.shape == lens_probs.shape == (bert.config.num_hidden_layers + 1, 2, 5)
    ids, probs = lab.top_k(lab.logits_at(bert, enc, positions), 5)
    np.testing.assert_array_equal(lens_ids[-1], ids)
    np.testing.assert_allclose(lens_probs[-1], probs, atol=1e-5)
    plain = lab.greedy_fill(bert, enc, positions, 5)
    reused = lab.greedy_fill(bert, enc, positions, 5, first=(ids, probs))
    assert [(s.position, s.token_id) for s in plain] == [(s.position, s.token_id) for s in reused]
    # the first filled mask is the one the model was surest of
    assert plain[0].prob == pytest.approx(float(probs[:, 0].max()), abs=1e-5)
    assert sorted(s.position for s in plain) == positions


def test_pretraining_mask_follows_the_rule_and_is_seeded(bert):
    enc = bert.encode("the dog barked at the cat on the mat . " * 4)
    a, b = lab.pretraining_mask(bert, enc, seed=1), lab.pretraining_mask(bert, enc, seed=1)
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


def test_mask_actions_names_what_happened():
    assert lab.mask_actions([7, 8, 9, 10], [4, 8, 3, 10], [7, 8, 9, -100], mask_id=4) == \
        ["mask", "keep", "random", ""]


def test_next_sentence_pieces(bert):
    x = bert.explain("the dog barked .", "it rained .")
    assert lab.is_next_probability(x.nsp_logits) == pytest.approx(
        bert.next_sentence("the dog barked .", "it rained ."), abs=1e-6)
    a, b = lab.segment_positions(x.encoding)
    assert [x.tokens[i] for i in a] == ["the", "dog", "barked", "."]
    assert [x.tokens[i] for i in b] == ["it", "rained", "."]
    cross = lab.cross_attention(x.attentions, a, b)
    assert cross.shape == (bert.config.num_hidden_layers, 4, 3)
    layer0 = x.attentions[0][0].mean(0).numpy()  # (T, T) mean over heads
    np.testing.assert_allclose(cross[0], layer0[np.ix_(a, b)], atol=1e-6)
    assert lab.cross_attention(x.attentions, a, []).shape == (bert.config.num_hidden_layers, 4, 0)

"""bertcore.lesson: the lesson's questions take their truth from the model, checked against
transformers on the same weights (the tiny checkpoint of conftest, eager attention): the vector
layer 1 receives, the token a head attends to most, the masked word's top guess with a head off;
and the small rules (the word with the most pieces, typed-word matching, the heads offered)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import bertcore
from bertcore import bidirectional, embeddings, lesson, masked_lm
from bertcore.attention import head_mask_effect, layer_attention, mask_probabilities
from bertcore.layer import walk

TEXT = "the dog barked unaffable on the street ."


@pytest.fixture(scope="module")
def bert(tiny_ckpt):
    return bertcore.load(tiny_ckpt[0], device="cpu")


@pytest.fixture(scope="module")
def hf(tiny_ckpt):
    return tiny_ckpt[1]


def hf_inputs(enc):
    return dict(input_ids=torch.tensor([enc.ids]), token_type_ids=torch.tensor([enc.type_ids]),
                attention_mask=torch.tensor([enc.attention_mask]))


def test_the_most_split_word_is_the_tokenizers(bert):
    enc = bert.encode(TEXT)
    split = lesson.most_split_word(enc)
    assert split.word == "unaffable" and split.pieces == ["un", "##aff", "##able"]
    assert [enc.tokens[p] for p in split.positions] == split.pieces
    options = lesson.piece_options(len(split.pieces))
    assert len(split.pieces) in options and options[-1] > len(split.pieces)
    # equals: the first; no words at all: None
    assert lesson.most_split_word(bert.encode("dog cat")).word == "dog"
    assert lesson.most_split_word(bert.encode("")) is None


def test_layer_one_receives_the_layernormed_sum_as_transformers_computes_it(bert, hf):
    enc = bert.encode(TEXT, "it rained .")
    parts = embeddings.embedding_parts(bert, enc)
    gaps = lesson.layer_one_input(parts)
    assert set(gaps) == set(lesson.LAYER_ONE_CANDIDATES)
    assert min(gaps, key=gaps.get) == "layernorm" and gaps["layernorm"] < lesson.MATCH_TOLERANCE
    assert gaps["sum"] > 100 * lesson.MATCH_TOLERANCE  # LayerNorm changes the sum
    with torch.no_grad():  # transformers' layer 1 input: its embedding module's output
        x = hf.bert.embeddings(input_ids=torch.tensor([enc.ids]),
                               token_type_ids=torch.tensor([enc.type_ids]))[0].numpy()
    assert np.abs(parts.layernorm - x).max() < 1e-5


def test_the_most_attended_token_is_transformers_argmax(bert, hf):
    enc = bert.encode(TEXT)
    with torch.no_grad():
        att = hf(**hf_inputs(enc), output_attentions=True).attentions  # L × (1, H, T, T)
    x = bert.explain(TEXT)
    for layer in range(bert.config.num_hidden_layers):
        ours = layer_attention(x, layer)  # (H, T, T)
        for head in range(bert.config.num_attention_heads):
            for query in (1, 4):
                options, truth = lesson.attention_options(ours[head][query], k=3)
                assert truth == int(att[layer][0, head, query].argmax())
                assert truth in options and len(options) == 3 and options == sorted(options)


def test_bigger_change_reads_the_walk(bert):
    x = bert.explain(TEXT)
    for layer in range(bert.config.num_hidden_layers):
        w = walk(bert, x, layer, 2)
        expected = ("attention" if w.attention_change["ratio"] >= w.ffn_change["ratio"]
                    else "ffn")
        assert lesson.bigger_change(w) == expected


def test_left_only_changes_compares_the_two_readings(bert):
    enc = bert.encode(TEXT)
    view = bidirectional.compare(bert, enc, [2, 3], 0, 0, 3)
    changes = lesson.left_only_changes(view)
    assert changes == [view.both.top_tokens[m][0] != view.left.top_tokens[m][0] for m in (0, 1)]


def test_head_off_effects_are_each_heads_own(bert, hf):
    enc = bert.encode(TEXT)
    heads = lesson.candidate_heads(bert.config.num_attention_heads, 1, most=3)
    assert heads == [(1, 0), (1, 2), (1, 3)]
    effects = lesson.head_off_effects(bert, TEXT, None, [2], heads)
    assert len(effects) == 3 and all(0 <= e <= 1 for e in effects)
    p0 = mask_probabilities(bert, TEXT, (), None, [2])[1][0]
    for h, e in zip(heads, effects):
        p1 = mask_probabilities(bert, TEXT, [h], None, [2])[1][0]
        assert e == pytest.approx(0.5 * float((p0 - p1).abs().sum()), abs=1e-5)
        assert e == pytest.approx(head_mask_effect(bert, TEXT, [h], 1, None, [2])
                                  ["tv_distance"][0], abs=1e-6)
    # the all-heads guess is transformers' on the same weights
    ids = list(enc.ids)
    ids[2] = bert.tokenizer.mask_token_id
    with torch.no_grad():
        logits = hf(input_ids=torch.tensor([ids]),
                    token_type_ids=torch.tensor([enc.type_ids])).prediction_logits[0, 2]
    assert int(p0.argmax()) == int(logits.argmax())
    top = masked_lm.predict_masks(bert, enc, [2], 1, greedy=False).top_tokens[0][0]
    assert top == bert.tokenizer.ids_to_tokens[int(logits.argmax())]


def test_candidate_heads_spread_over_the_layer():
    assert lesson.candidate_heads(12, 3) == [(3, 0), (3, 4), (3, 7), (3, 11)]
    assert lesson.candidate_heads(2, 0) == [(0, 0), (0, 1)]
    assert lesson.candidate_heads(1, 5) == [(5, 0)]


@pytest.mark.parametrize("typed, token, same", [("Cat", "cat", True), (" cat ", "##cat", True),
                                                ("", "cat", False), ("cats", "cat", False),
                                                ("中", "中", True)])
def test_a_typed_word_matches_the_token_case_and_pieces_aside(typed, token, same):
    assert lesson.same_word(typed, token) is same

"""bertcore.attention: the attention walkthrough, head statistics and head switching, on a tiny
BERT."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

import bertcore
from bertcore import attention as A


@pytest.fixture(scope="module")
def bert(tiny_ckpt):
    return bertcore.load(str(tiny_ckpt[0]), device="cpu")


@pytest.fixture(scope="module")
def sharp_bert(tmp_path_factory):
    """A tiny BERT with large weights, so attention is peaked and switching heads off shows."""
    from conftest import write_checkpoint

    folder = tmp_path_factory.mktemp("sharp-bert")
    write_checkpoint(folder, initializer_range=0.6, seed=3)
    return bertcore.load(str(folder), device="cpu")


@pytest.fixture(scope="module")
def explained(bert):
    return bert.explain("the dog barked .", "it rained on the street")


# ------------------------------------------------------------------ walkthrough


@pytest.mark.parametrize("layer,head,pos", [(0, 0, 0), (0, 3, 4), (1, 2, 7), (1, 1, 11)])
def test_walkthrough_matches_the_model(explained, layer, head, pos):
    w = A.walkthrough(explained, layer, head, pos)
    n_tok, dh = len(explained.tokens), explained.layers[0].query.shape[-1]
    assert w["q"].shape == (dh,) and w["k"].shape == (n_tok, dh) and w["v"].shape == (n_tok, dh)
    assert w["qk"].shape == w["scaled"].shape == w["softmax"].shape == (n_tok,)
    np.testing.assert_allclose(w["qk_terms"].sum(1), w["qk"], atol=1e-12)
    np.testing.assert_allclose(w["scaled"], w["qk"] / math.sqrt(dh), atol=1e-12)
    assert w["sqrt_dh"] == pytest.approx(math.sqrt(dh))
    # The recomputed softmax row is the model's own probabilities row.
    np.testing.assert_allclose(w["softmax"], w["probs"], atol=1e-6)
    assert w["probs_max_abs_diff"] < 1e-6
    assert w["softmax"].sum() == pytest.approx(1.0)
    model_row = explained.layers[layer].probs[0, head, pos].double().numpy()
    np.testing.assert_allclose(w["probs"], model_row)
    np.testing.assert_allclose(w["scaled"], w["model_scores"], atol=1e-5)
    # Σ p_j v_j is this head's slice of the context vector.
    np.testing.assert_allclose(w["weighted_sum"], w["context"], atol=1e-5)
    assert w["context_max_abs_diff"] < 1e-5
    np.testing.assert_allclose(w["weighted"].sum(0), w["weighted_sum"], atol=1e-12)
    assert not np.any(w["mask"])  # no padding in one input


def test_layer_attention(explained):
    a = A.layer_attention(explained, 1)
    n = len(explained.tokens)
    assert a.shape == (4, n, n) and a.dtype == np.float64
    np.testing.assert_allclose(a.sum(-1), 1.0, atol=1e-6)
    np.testing.assert_array_equal(a, explained.attentions[1][0].double().numpy())
    with pytest.raises(IndexError):
        A.layer_attention(explained, 2)


def test_walkthrough_follows_a_head_mask(bert):
    mask = A.build_head_mask(2, 4, [(1, 2)])
    x = bert.explain("the cat sat on the mat", head_mask=mask)
    w = A.walkthrough(x, 1, 2, 3, head_mask=mask)
    assert w["head_weight"] == 0.0
    assert not w["probs"].any() and not w["softmax"].any() and not w["context"].any()
    assert w["probs_max_abs_diff"] == 0.0 and w["context_max_abs_diff"] == 0.0


def test_walkthrough_with_padding_mask(explained):
    # Hand-made padding: the last key is padding; it must get -inf and probability 0.
    class Fake:
        pass

    fake = Fake()
    fake.layers = explained.layers
    enc = explained.encoding
    fake.encoding = type(enc)(**{**enc.__dict__, "attention_mask": [1] * (len(enc) - 1) + [0]})
    w = A.walkthrough(fake, 0, 0, 1)
    assert w["mask"][-1] == -np.inf and w["softmax"][-1] == 0.0
    assert w["softmax"].sum() == pytest.approx(1.0)


def test_walkthrough_rejects_out_of_range(explained):
    for args in [(2, 0, 0), (0, 4, 0), (0, 0, 99), (-1, 0, 0)]:
        with pytest.raises(IndexError):
            A.walkthrough(explained, *args)


# ------------------------------------------------------------------ head summary


def test_head_summary_shapes_and_ranges(explained):
    s = A.head_summary(explained)
    for key in ("cls", "sep", "prev", "next", "self", "entropy_norm", "mass"):
        assert s[key].shape == (2, 4), key
        assert np.all((s[key] >= -1e-9) & (s[key] <= 1 + 1e-9)), key
    assert np.all(s["entropy"] >= 0) and np.all(s["entropy"] <= s["max_entropy"] + 1e-9)
    assert s["max_entropy"] == pytest.approx(math.log(len(explained.tokens)))
    assert set(s["label"].ravel()) <= set(A.HEAD_LABELS)


def test_head_summary_agrees_with_the_attention_matrices(explained):
    s = A.head_summary(explained)
    tokens = explained.tokens
    seps = [i for i, t in enumerate(tokens) if t == "[SEP]"]
    for layer in range(2):
        a = explained.attentions[layer][0].double().numpy()  # (H, T, T)
        n = a.shape[-1]
        for head in range(4):
            m = a[head]
            assert s["cls"][layer, head] == pytest.approx(m[:, 0].mean())
            assert s["sep"][layer, head] == pytest.approx(m[:, seps].sum(1).mean())
            assert s["prev"][layer, head] == pytest.approx(
                np.mean([m[i, i - 1] for i in range(1, n)]))
            assert s["next"][layer, head] == pytest.approx(
                np.mean([m[i, i + 1] for i in range(n - 1)]))
            assert s["self"][layer, head] == pytest.approx(np.trace(m) / n)
            ent = -(m * np.log(m)).sum(1).mean()
            assert s["entropy"][layer, head] == pytest.approx(ent)


def _pattern(n, kind):
    m = np.zeros((n, n))
    for i in range(n):
        j = {"prev": max(i - 1, 0), "next": min(i + 1, n - 1), "self": i, "cls": 0,
             "sep": n - 1}[kind]
        m[i, j] = 1.0
    return m


def test_hand_built_heads_get_their_labels():
    n = 7
    heads = [_pattern(n, "prev"), _pattern(n, "next"), _pattern(n, "self"), _pattern(n, "cls"),
             _pattern(n, "sep"), np.full((n, n), 1.0 / n), np.zeros((n, n)),
             0.45 * _pattern(n, "prev") + 0.45 * _pattern(n, "next") + 0.1 * _pattern(n, "self")]
    attn = np.stack(heads)[None]  # (1, 8, T, T)
    s = A.attention_summary(attn, cls_positions=[0], sep_positions=[n - 1])
    assert list(s["label"][0]) == ["previous token", "next token", "self", "[CLS]", "[SEP]",
                                   "broad", "off", "mixed"]
    assert s["prev"][0, 0] == pytest.approx(1.0) and s["next"][0, 1] == pytest.approx(1.0)
    assert s["entropy"][0, 0] == pytest.approx(0.0)
    assert (s["entropy"][0, 5] == pytest.approx(math.log(n))
            and s["entropy_norm"][0, 5] == pytest.approx(1))
    # Also as a list of (1, H, T, T) tensors, the way x.attentions comes.
    s2 = A.attention_summary([torch.tensor(attn[:, :3])], [0], [n - 1])
    assert list(s2["label"][0]) == ["previous token", "next token", "self"]


def test_label_thresholds():
    base = dict(cls=0.1, sep=0.1, prev=0.1, next=0.1, self=0.1, entropy_norm=0.5, mass=1.0)
    assert A.label_head({**base, "sep": A.DOMINANT_SHARE}) == "[SEP]"
    assert A.label_head({**base, "sep": A.DOMINANT_SHARE - 0.01}) == "mixed"
    assert A.label_head({**base, "entropy_norm": A.BROAD_ENTROPY}) == "broad"
    assert A.label_head({**base, "mass": 0.0}) == "off"


# ------------------------------------------------------------------ head mask effect


def test_head_mask_effect_nothing_off_changes_nothing(bert):
    e = A.head_mask_effect(bert, "the [MASK] barked .", [], top_k=3)
    assert e["before"] == e["after"] == bert.fill_mask("the [MASK] barked .", top_k=3)
    assert e["top1_delta"] == [0.0] and e["tv_distance"] == [0.0] and e["top1_changed"] == [False]
    assert e["positions"] == [2] and np.all(e["head_mask"] == 1)


def test_heads_off_in_one_batch_equal_one_pass_each(sharp_bert):
    """N choices of heads in one batched pass give what N passes give, row by row."""
    text = "the [MASK] sat on the [MASK] ."
    offs = [(), [(0, 0)], [(0, 1), (1, 3)], [(1, h) for h in range(4)]]
    positions, each = A.mask_probabilities_each(sharp_bert, text, offs)
    assert positions == [2, 6] and each.shape == (4, 2, sharp_bert.config.vocab_size)
    for row, off in zip(each, offs):
        one = A.mask_probabilities(sharp_bert, text, off)[1]  # (M, V)
        torch.testing.assert_close(row, one, atol=1e-6, rtol=1e-5)
    assert not torch.allclose(each[0], each[3], atol=1e-4)  # the heads did matter
    # the model takes the (N, L, H) mask as (L, N, H, 1, 1); other shapes are refused
    expanded = bertcore.model.expand_head_mask(torch.ones(4, 2, 4), 2, 4, torch.zeros(1))
    assert expanded.shape == (2, 4, 4, 1, 1)
    with pytest.raises(ValueError, match="head_mask must have shape"):
        bertcore.model.expand_head_mask(torch.ones(4, 3, 4), 2, 4, torch.zeros(1))


def test_head_mask_effect_heads_off_changes_predictions(sharp_bert):
    text = "the [MASK] sat on the [MASK] ."
    off = [(0, 0), (0, 1), (1, 3)]
    e = A.head_mask_effect(sharp_bert, text, off, top_k=5)
    mask = A.build_head_mask(2, 4, off)
    assert e["before"] == sharp_bert.fill_mask(text, top_k=5)
    assert e["after"] == sharp_bert.fill_mask(text, top_k=5, head_mask=mask)
    assert len(e["before"]) == len(e["after"]) == 2 and e["positions"] == [2, 6]
    assert e["before"] != e["after"]
    assert all(d > 1e-4 for d in e["tv_distance"])
    for i in range(2):
        assert e["top1"][i] == e["before"][i][0][0]
        assert e["top1_before"][i] == pytest.approx(e["before"][i][0][1])
        assert e["top1_delta"][i] == pytest.approx(e["top1_after"][i] - e["top1_before"][i])


def test_head_mask_effect_errors(bert):
    with pytest.raises(ValueError):
        A.head_mask_effect(bert, "no mask here", [(0, 0)])
    with pytest.raises(IndexError):
        A.head_mask_effect(bert, "the [MASK] .", [(5, 0)])


def test_head_mask_effect_masks_token_positions(sharp_bert):
    # "the cat sat on the mat ." -> [CLS] the cat sat on the mat . [SEP]:
    # mask "cat" (2) and "mat" (6)
    e = A.head_mask_effect(sharp_bert, "the cat sat on the mat .", [(0, 2)], mask_positions=[2, 6])
    same = A.head_mask_effect(sharp_bert, "the [MASK] sat on the [MASK] .", [(0, 2)])
    assert (e["positions"] == [2, 6] and e["before"] == same["before"]
            and e["after"] == same["after"])
    for bad in ([0], [8], [99]):
        with pytest.raises(ValueError):
            A.head_mask_effect(sharp_bert, "the cat sat on the mat .", [], mask_positions=bad)


def test_mask_probabilities_and_reusing_them(sharp_bert):
    text = "the [MASK] sat on the [MASK] ."
    positions, p0 = A.mask_probabilities(sharp_bert, text)
    assert positions == [2, 6] and p0.shape == (2, sharp_bert.config.vocab_size)
    assert torch.allclose(p0.sum(-1), torch.ones(2))
    off = [(0, 0), (1, 3)]
    _, p1 = A.mask_probabilities(sharp_bert, text, off)
    assert not torch.allclose(p0, p1)  # switching heads off changes the probabilities
    # Handing in the all-heads probabilities gives the same result as computing them again.
    fresh = A.head_mask_effect(sharp_bert, text, off, top_k=3)
    reused = A.head_mask_effect(sharp_bert, text, off, top_k=3, all_heads=(positions, p0))
    assert reused["before"] == fresh["before"] and reused["after"] == fresh["after"]
    assert reused["tv_distance"] == pytest.approx(fresh["tv_distance"])
    with pytest.raises(ValueError):
        A.mask_probabilities(sharp_bert, "no mask here")


# ------------------------------------------------------------------ windows of a long input


def test_layer_attention_window(explained):
    full = A.layer_attention(explained, 1)
    part = A.layer_attention(explained, 1, range(3, 8))
    assert part.shape == (4, 5, 5)
    np.testing.assert_array_equal(part, full[:, 3:8, 3:8])
    assert np.all(part.sum(-1) <= 1 + 1e-6)  # rows lose what goes outside the window


def test_walk_window(explained):
    w = A.walkthrough(explained, 1, 2, 4)
    part = A.walk_window(w, range(3, 7))
    for key in ("k", "qk_terms", "qk", "scaled", "softmax", "probs", "v", "weighted", "mask"):
        np.testing.assert_array_equal(part[key], w[key][3:7])
    for key in ("q", "weighted_sum", "context", "probs_max_abs_diff"):
        np.testing.assert_array_equal(part[key], w[key])  # still about the whole row
    assert part["outside"] == pytest.approx(1.0 - w["probs"][3:7].sum(), abs=1e-6)
    assert A.walk_window(w, range(len(explained.tokens)))["outside"] == pytest.approx(0, abs=1e-6)


# ------------------------------------------------------------------ Clark et al.'s categories


def test_punctuation_positions():
    tokens = ["[CLS]", "the", "dog", ",", "barked", "...", "!?", "don", "'", "t", "，", "。", "a.b",
              "[SEP]"]
    special = [1] + [0] * 12 + [1]
    assert A.punctuation_positions(tokens, special) == [3, 5, 6, 8, 10, 11]
    assert A.punctuation_positions(["[CLS]", "[SEP]"], [1, 1]) == []


def test_punctuation_heads_and_the_self_fallback():
    n = 6  # [CLS] a , b . [SEP]
    punct = np.zeros((n, n))
    punct[:, 2], punct[:, 4] = 0.3, 0.4
    punct[:, 0] = 0.3
    selfish = 0.6 * np.eye(n) + 0.4 / n
    attn = np.stack([punct, selfish])[None]  # (1, 2, T, T)
    s = A.attention_summary(attn, [0], [n - 1], punct_positions=[2, 4])
    assert s["punct"][0, 0] == pytest.approx(0.7)
    assert list(s["label"][0]) == ["punctuation", "self"]
    assert "punctuation" in A.HEAD_LABELS and set(s["label"].ravel()) <= set(A.HEAD_LABELS)


def test_clark_patterns_come_before_self():
    base = dict(cls=0.0, sep=0.0, punct=0.0, prev=0.0, next=0.0, self=0.0, entropy_norm=0.1,
                mass=1.0)
    # A head can give half to [SEP] and, being [SEP] itself, count that as "self" too.
    assert A.label_head({**base, "sep": 0.6, "self": 0.6}) == "[SEP]"
    assert A.label_head({**base, "self": 0.6}) == "self"
    assert A.label_head({**base, "punct": 0.5}) == "punctuation"
    assert A.label_head({**base, "self": 0.4, "entropy_norm": 0.9}) == "broad"


def test_head_summary_finds_punctuation(explained):
    s = A.head_summary(explained)  # "the dog barked ." + "it rained on the street"
    dot = explained.tokens.index(".")
    a = explained.attentions[0][0].double().numpy()
    assert s["punct"][0] == pytest.approx(a[:, :, dot].mean(-1))


def test_summary_works_one_layer_at_a_time():
    # A list of layers gives what the stacked array gives (the app passes x.attentions).
    g = np.random.default_rng(0)
    attn = g.random((3, 2, 5, 5))
    attn /= attn.sum(-1, keepdims=True)
    stacked = A.attention_summary(attn, [0], [4], punct_positions=[2])
    layered = A.attention_summary([torch.tensor(a[None]) for a in attn], [0], [4],
                                  punct_positions=[2])
    for key in ("cls", "sep", "punct", "prev", "next", "self", "entropy", "mass"):
        np.testing.assert_allclose(layered[key], stacked[key], err_msg=key)
        assert stacked[key].shape == (3, 2)
    with pytest.raises(ValueError):
        A.attention_summary(np.ones((2, 3, 4)), [0], [3])


# ------------------------------------------------------------------ which word to hide


@pytest.mark.parametrize("tokens,word_ids,expected", [
    # "the" and other function words are passed over for the first content word
    (["[CLS]", "the", "cat", "sat", "on", "the", "mat", ".", "[SEP]"], None, 2),
    (["[CLS]", "It", "is", "what", "France", "[SEP]"], None, 4),
    # a word split into pieces is passed over: its other pieces would give it away
    (["[CLS]", "the", "un", "##aff", "##able", "dog", "[SEP]"], [None, 0, 1, 1, 1, 2, None], 5),
    # digits, punctuation and single letters are not words to guess
    (["[CLS]", "1999", ",", "x", "river", "[SEP]"], None, 4),
    # Chinese: function characters (的 了 是 我 们 …) are passed over
    (["[CLS]", "我", "们", "都", "是", "好", "人", "。", "[SEP]"], None, 5),
    (["[CLS]", "今", "天", "[SEP]"], None, 1),
])
def test_content_word(tokens, word_ids, expected):
    special = [int(tok in ("[CLS]", "[SEP]")) for tok in tokens]
    assert A.content_word(tokens, special, word_ids) == expected


def test_content_word_fallbacks():
    # Only function words: the first whole alphabetic word; only punctuation: the first token.
    assert A.content_word(["[CLS]", "it", "is", "[SEP]"], [1, 0, 0, 1]) == 1
    assert A.content_word(["[CLS]", ",", "!", "[SEP]"], [1, 0, 0, 1]) == 1
    assert A.content_word(["[CLS]", "[SEP]"], [1, 1]) is None


def test_content_word_on_real_encodings(bert):
    enc = bert.encode("the dog barked on the street .")
    assert enc.tokens[A.content_word(enc.tokens, enc.special_tokens_mask, enc.word_ids)] == "dog"
    enc = bert.encode("the unaffable cat sat")  # un ##aff ##able: one word in three pieces
    assert enc.tokens[A.content_word(enc.tokens, enc.special_tokens_mask, enc.word_ids)] == "cat"


def test_head_summary_of_some_layers(explained):
    full = A.head_summary(explained)
    part = A.head_summary(explained, [1])
    for key in ("cls", "sep", "punct", "prev", "next", "self", "entropy", "label"):
        assert part[key].shape == (1, 4)
        np.testing.assert_array_equal(part[key][0], full[key][1])

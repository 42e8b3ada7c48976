"""bertcore.next_sentence: P(IsNext), the segments' positions, and A -> B attention."""

from __future__ import annotations

import numpy as np
import pytest

import bertcore
from bertcore import next_sentence


@pytest.fixture(scope="module")
def bert(tiny_ckpt):
    return bertcore.load(tiny_ckpt[0], device="cpu")


def test_next_sentence_pieces(bert):
    x = bert.explain("the dog barked .", "it rained .")
    assert next_sentence.is_next_probability(x.nsp_logits) == pytest.approx(
        bert.next_sentence("the dog barked .", "it rained ."), abs=1e-6)
    a, b = next_sentence.segment_positions(x.encoding)
    assert [x.tokens[i] for i in a] == ["the", "dog", "barked", "."]
    assert [x.tokens[i] for i in b] == ["it", "rained", "."]
    cross = next_sentence.cross_attention(x.attentions, a, b)
    assert cross.shape == (bert.config.num_hidden_layers, 4, 3)
    layer0 = x.attentions[0][0].mean(0).numpy()  # (T, T) mean over heads
    np.testing.assert_allclose(cross[0], layer0[np.ix_(a, b)], atol=1e-6)
    assert (next_sentence.cross_attention(x.attentions, a, []).shape
            == (bert.config.num_hidden_layers, 4, 0))



def test_the_pages_view_of_a_pair(bert):
    x = bert.explain("the dog barked .", "it rained .")
    view = next_sentence.pair_view(x)
    assert view.p_is_next == pytest.approx(bert.next_sentence("the dog barked .", "it rained ."),
                                           abs=1e-6)
    assert view.tokens == x.tokens and view.removed == 0
    assert view.cross.shape == (bert.config.num_hidden_layers, 4, 3)


def test_reading_a_pair_without_the_masked_lm_head_gives_the_same_view(bert):
    x = bert.explain("the dog barked .", "it rained .")
    full, lean = next_sentence.pair_view(x), next_sentence.read_pair(bert, x.encoding)
    assert lean.p_is_next == pytest.approx(full.p_is_next, abs=1e-6)
    assert (lean.tokens, lean.a_positions, lean.b_positions) == (
        full.tokens, full.a_positions, full.b_positions)
    np.testing.assert_allclose(lean.cross, full.cross, atol=1e-6)


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_the_example_pair_is_a_continuation_the_offline_model_recognises(lang):
    """The next-sentence page opens on [nsp] example_a/example_b: B must follow A for the model
    offered in that language (its offline default), or the page's first answer would mislead."""
    from bertcore import defaults
    from ui.i18n import STRINGS

    bert = bertcore.load(defaults.DEFAULT_MODEL[lang], device="cpu")
    a, b = STRINGS["nsp.example_a"][lang], STRINGS["nsp.example_b"][lang]
    assert bert.next_sentence(a, b) >= 0.5


# ----------------------------------------------------------------------------- the held-out set

@pytest.mark.parametrize("lang", ["en", "zh"])
def test_the_heldout_set_is_half_true_half_unrelated(lang):
    pairs = next_sentence.heldout_pairs(lang)
    assert len(pairs) >= 100 and sum(p.follows for p in pairs) == len(pairs) // 2
    assert len({(p.a, p.b) for p in pairs}) == len(pairs)  # no pair twice
    true = {(p.a, p.b) for p in pairs if p.follows}
    assert not any((p.a, p.b) in true for p in pairs if not p.follows)
    # an unrelated pair's B is another story's: never its own A's true continuation
    follows = {p.a: p.b for p in pairs if p.follows}
    assert all(follows[p.a] != p.b for p in pairs if not p.follows)


def test_a_malformed_heldout_line_is_a_clear_error(tmp_path):
    path = tmp_path / "pairs.tsv"
    path.write_text("# comment\nlang\tfollows\ta\tb\nen\t1\tA.\tB.\nen\tyes\tA.\tB.\n")
    with pytest.raises(ValueError, match="line 3"):
        next_sentence.heldout_pairs("en", path)
    path.write_text("lang\tfollows\ta\tb\nen\t1\tA.\tB.\nzh\t0\t甲。\t乙。\n")
    assert next_sentence.heldout_pairs("zh", path) == [next_sentence.HeldoutPair("甲。", "乙。",
                                                                                 False)]


def test_evaluate_agrees_with_one_pair_at_a_time(bert):
    pairs = [next_sentence.HeldoutPair("the dog barked .", "it rained .", True),
             next_sentence.HeldoutPair("it rained .", "the dog barked .", False),
             next_sentence.HeldoutPair("the cat sat on the mat .", "the dog barked .", True)]
    p = [bert.next_sentence(x.a, x.b) for x in pairs]
    score = next_sentence.evaluate(bert, pairs, batch=2)  # two batches, one padded
    right = sum((q >= 0.5) == x.follows for q, x in zip(p, pairs))
    assert score.accuracy == pytest.approx(right / 3, abs=1e-4) and score.pairs == 3
    assert score.median_true == pytest.approx(sorted([p[0], p[2]])[0] / 2 + sorted(
        [p[0], p[2]])[1] / 2, abs=1e-4)
    assert score.median_unrelated == pytest.approx(p[1], abs=1e-4)

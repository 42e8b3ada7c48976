"""The public API: bertcore.load and what a Bert answers, checked against transformers."""

from __future__ import annotations

import shutil

import pytest
import torch

import bertcore
from conftest import TOY_VOCAB, write_checkpoint


@pytest.fixture(scope="module")
def bert(tiny_ckpt):
    return bertcore.load(tiny_ckpt[0], device="cpu")


def _ref_logits(ref, enc):
    t = {k: torch.tensor([v]) for k, v in (("input_ids", enc.ids), ("token_type_ids", enc.type_ids),
                                             ("attention_mask", enc.attention_mask))}
    with torch.no_grad():
        return ref(**t, output_attentions=True, output_hidden_states=True)


def test_load_gives_both_pretraining_heads(bert):
    assert bert.has_mlm and bert.has_nsp
    assert bert.report.new == []
    assert bert.device.type == "cpu"
    assert "BertForPreTraining" in repr(bert)


def test_fill_mask_matches_transformers_probabilities(bert, tiny_ckpt):
    text = "the dog [MASK] on the [MASK] ."
    preds = bert.fill_mask(text, top_k=4)
    enc = bert.encode(text)
    assert enc.tokens[0] == "[CLS]" and enc.tokens[-1] == "[SEP]"
    ref = _ref_logits(tiny_ckpt[1], enc).prediction_logits[0]
    positions = [i for i, t in enumerate(enc.tokens) if t == "[MASK]"]
    assert len(preds) == len(positions) == 2
    for pos, got in zip(positions, preds):
        p = ref[pos].softmax(-1)
        top = p.topk(4)
        assert [t for t, _ in got] == [TOY_VOCAB[i] for i in top.indices.tolist()]
        assert max(abs(a - b) for (_, a), b in zip(got, top.values.tolist())) <= 1e-5


def test_fill_mask_without_a_mask_says_so(bert):
    with pytest.raises(ValueError, match="no \\[MASK\\]"):
        bert.fill_mask("the dog barked .")


def test_next_sentence_is_the_nsp_heads_is_next_probability(bert, tiny_ckpt):
    p = bert.next_sentence("it rained .", "the street was wet .")
    ref = _ref_logits(tiny_ckpt[1], bert.encode("it rained .", "the street was wet ."))
    assert abs(p - ref.seq_relationship_logits[0].softmax(-1)[0].item()) <= 1e-6
    assert 0.0 < p < 1.0


def test_explain_gives_transformers_attentions_and_hidden_states(bert, tiny_ckpt):
    x = bert.explain("the cat sat .", "it rained .")
    ref = _ref_logits(tiny_ckpt[1], x.encoding)
    assert x.tokens[:2] == ["[CLS]", "the"] and x.tokens.count("[SEP]") == 2
    assert len(x.attentions) == 2 and x.attentions[0].shape == (1, 4, len(x.tokens), len(x.tokens))
    assert len(x.hidden_states) == 3
    for ours, theirs in zip(x.attentions, ref.attentions):
        assert (ours - theirs).abs().max() <= 1e-5
    for ours, theirs in zip(x.hidden_states, ref.hidden_states):
        assert (ours - theirs).abs().max() <= 1e-5
    assert (x.mlm_logits - ref.prediction_logits).abs().max() <= 1e-5
    assert (x.nsp_logits - ref.seq_relationship_logits).abs().max() <= 1e-5


def test_head_mask_switches_a_head_off_and_changes_predictions(bert):
    mask = torch.ones(2, 4)
    mask[0, 1] = 0
    x = bert.explain("the dog barked .", head_mask=mask)
    assert x.attentions[0][0, 1].abs().max() == 0
    assert x.attentions[0][0, 0].abs().max() > 0
    plain = bert.fill_mask("the dog [MASK] .", top_k=3)
    masked = bert.fill_mask("the dog [MASK] .", top_k=3, head_mask=mask)
    assert plain != masked


def test_encoder_only_checkpoint_has_no_heads_to_ask(tmp_path):
    write_checkpoint(tmp_path, "BertModel")
    bert = bertcore.load(tmp_path, device="cpu")
    assert not bert.has_mlm and not bert.has_nsp
    with pytest.raises(bertcore.MissingHeadError, match="masked-LM"):
        bert.fill_mask("the [MASK] .")
    with pytest.raises(bertcore.MissingHeadError, match="next-sentence"):
        bert.next_sentence("a", "b")
    assert len(bert.explain("the dog").attentions) == 2


def test_fast_tokenizer_json_alone_is_enough(tmp_path, tiny_ckpt):
    from transformers import AutoTokenizer

    folder, _ = tiny_ckpt
    shutil.copytree(folder, tmp_path / "m")
    AutoTokenizer.from_pretrained(folder).save_pretrained(tmp_path / "fast")
    shutil.copy(tmp_path / "fast" / "tokenizer.json", tmp_path / "m" / "tokenizer.json")
    (tmp_path / "m" / "vocab.txt").unlink()
    bert = bertcore.load(tmp_path / "m", device="cpu")
    assert bert.encode("The dog barked.").tokens == ["[CLS]", "the", "dog", "barked", ".", "[SEP]"]


def test_parameter_counts_add_up_to_transformers(bert, tiny_ckpt):
    counts = bert.num_parameters()
    assert {"embeddings", "encoder", "pooler", "cls.predictions",
            "cls.seq_relationship"} <= set(counts)
    assert sum(counts.values()) == tiny_ckpt[1].num_parameters()


def test_tokenizer_larger_than_the_model_is_refused(tmp_path, tiny_ckpt):
    shutil.copytree(tiny_ckpt[0], tmp_path / "m")
    with open(tmp_path / "m" / "vocab.txt", "a", encoding="utf-8") as f:
        f.write("extra1\nextra2\n")
    with pytest.raises(bertcore.CheckpointError, match="do not belong together"):
        bertcore.load(tmp_path / "m", device="cpu")


@pytest.mark.skipif(torch.cuda.is_available(),
                    reason="checks the message on a machine without CUDA")
def test_asking_for_a_missing_gpu_is_a_clear_error(tiny_ckpt):
    with pytest.raises(ValueError, match="no CUDA GPU"):
        bertcore.load(tiny_ckpt[0], device="cuda")

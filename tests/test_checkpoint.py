"""Checkpoints: key-for-key loading of transformers' folders, its report, errors, and saving
back."""

from __future__ import annotations

import json
import pickle

import pytest
import torch

from bertcore import checkpoint
from bertcore.checkpoint import CheckpointError
from conftest import hf_model, write_checkpoint

IDS = torch.tensor([[2, 5, 6, 7, 3, 8, 9, 3, 0]])
TYPES = torch.tensor([[0, 0, 0, 0, 0, 1, 1, 1, 0]])
MASK = torch.tensor([[1, 1, 1, 1, 1, 1, 1, 1, 0]])


def _max_diff(a, b) -> float:
    return (a - b).abs().max().item()


@pytest.mark.parametrize("cls_name, expected", [
    ("BertForPreTraining", "BertForPreTraining"),
    ("BertForMaskedLM", "BertForMaskedLM"),
    ("BertForNextSentencePrediction", "BertForNextSentencePrediction"),
    ("BertModel", "BertModel"),
    ("BertForSequenceClassification", "BertForSequenceClassification"),
    ("BertForTokenClassification", "BertForTokenClassification"),
    ("BertForQuestionAnswering", "BertForQuestionAnswering"),
])
def test_every_transformers_class_loads_completely_and_agrees(tmp_path, cls_name, expected):
    labels = {} if cls_name == "BertForQuestionAnswering" else {"num_labels": 3}  # QA: start/end
    ref = write_checkpoint(tmp_path, cls_name, **labels)
    model, config, report = checkpoint.load_model(tmp_path)
    assert type(model).__name__ == expected
    assert report.new == [] and report.skipped == []
    assert len(report.loaded) > 10
    with torch.no_grad():
        ref_out = ref(input_ids=IDS, token_type_ids=TYPES, attention_mask=MASK)
        out = model(IDS, token_type_ids=TYPES, attention_mask=MASK)
    if cls_name == "BertModel":
        assert _max_diff(out.last_hidden_state, ref_out.last_hidden_state) <= 1e-5
    elif cls_name == "BertForPreTraining":
        assert _max_diff(out.mlm_logits, ref_out.prediction_logits) <= 1e-5
        assert _max_diff(out.nsp_logits, ref_out.seq_relationship_logits) <= 1e-5
    elif cls_name == "BertForMaskedLM":
        assert _max_diff(out.mlm_logits, ref_out.logits) <= 1e-5
    elif cls_name == "BertForNextSentencePrediction":
        assert _max_diff(out.nsp_logits, ref_out.logits) <= 1e-5
    elif cls_name == "BertForQuestionAnswering":
        assert _max_diff(out.start_logits, ref_out.start_logits) <= 1e-5
        assert _max_diff(out.end_logits, ref_out.end_logits) <= 1e-5
    else:
        assert out.logits.shape[-1] == 3
        assert _max_diff(out.logits, ref_out.logits) <= 1e-5


def test_encoder_only_checkpoint_into_pretraining_model_reports_new_heads(tmp_path):
    write_checkpoint(tmp_path, "BertModel")
    model, _, report = checkpoint.load_model(tmp_path, architecture="BertForPreTraining")
    assert report.skipped == []
    assert report.new and all(k.startswith("cls.") for k in report.new)
    assert "cls.predictions.transform.dense.weight" in report.new
    # the tied decoder came with the word embeddings, so it is not new
    assert "cls.predictions.decoder.weight" not in report.new
    assert all(k.startswith("bert.") for k in report.loaded)


def test_task_checkpoint_into_bare_encoder_names_what_it_skipped(tmp_path):
    ref = write_checkpoint(tmp_path, "BertForPreTraining")
    model, _, report = checkpoint.load_model(tmp_path, architecture="BertModel")
    assert report.new == []
    assert "cls.seq_relationship.weight" in report.skipped
    with torch.no_grad():
        want = ref.bert(input_ids=IDS, attention_mask=MASK).last_hidden_state
        got = model(IDS, attention_mask=MASK).last_hidden_state
    assert _max_diff(got, want) <= 1e-5


def test_legacy_gamma_beta_bin_checkpoint_loads(tmp_path):
    ref = hf_model("BertForMaskedLM")
    state = {k.replace("LayerNorm.weight", "LayerNorm.gamma")
             .replace("LayerNorm.bias", "LayerNorm.beta"): v
             for k, v in ref.state_dict().items()}
    assert any(k.endswith("LayerNorm.gamma") for k in state)
    torch.save(state, tmp_path / "pytorch_model.bin")
    ref.config.to_json_file(tmp_path / "config.json")
    model, _, report = checkpoint.load_model(tmp_path)
    assert report.new == [] and report.skipped == []
    with torch.no_grad():
        assert _max_diff(model(IDS).mlm_logits, ref(input_ids=IDS).logits) <= 1e-5


class _Evil:
    def __reduce__(self):
        return (exec, ("import pathlib; pathlib.Path('PWNED').write_text('x')",))


def test_pickle_with_code_is_refused_and_not_run(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    hf_model().config.to_json_file(tmp_path / "config.json")
    with open(tmp_path / "pytorch_model.bin", "wb") as f:
        pickle.dump({"x": _Evil()}, f)
    with pytest.raises(CheckpointError, match="weights_only|cannot read"):
        checkpoint.load_model(tmp_path)
    assert not (tmp_path / "PWNED").exists()


def test_corrupt_weights_and_missing_files_give_clear_errors(tmp_path):
    write_checkpoint(tmp_path)
    data = (tmp_path / "model.safetensors").read_bytes()
    (tmp_path / "model.safetensors").write_bytes(data[: len(data) // 3])
    with pytest.raises(CheckpointError, match="cannot read model.safetensors"):
        checkpoint.load_model(tmp_path)
    (tmp_path / "model.safetensors").unlink()
    with pytest.raises(CheckpointError, match="has no weights"):
        checkpoint.load_model(tmp_path)
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(CheckpointError, match="no config.json"):
        checkpoint.resolve(empty)


def test_non_bert_and_mismatched_checkpoints_are_refused(tmp_path):
    write_checkpoint(tmp_path)
    cfg = json.loads((tmp_path / "config.json").read_text())
    (tmp_path / "config.json").write_text(json.dumps({**cfg, "model_type": "gpt2"}))
    with pytest.raises(CheckpointError, match="not BERT"):
        checkpoint.load_model(tmp_path)
    (tmp_path / "config.json").write_text(json.dumps({**cfg, "hidden_size": 64,
                                                      "intermediate_size": 64}))
    with pytest.raises(CheckpointError, match=r"shape \(.*\).*expects"):
        checkpoint.load_model(tmp_path)


def test_classifier_with_other_labels_can_start_new(tmp_path):
    from bertcore.config import BertConfig

    write_checkpoint(tmp_path, "BertForSequenceClassification", num_labels=3)
    config = BertConfig.from_json_file(tmp_path / "config.json")
    config.id2label = {0: "neg", 1: "pos"}
    model, _, report = checkpoint.load_model(tmp_path, config=config, ignore_mismatched=True)
    assert sorted(report.new) == ["classifier.bias", "classifier.weight"]
    assert model.classifier.out_features == 2


def test_saved_folder_loads_in_transformers_with_identical_outputs(tmp_path, tiny_ckpt):
    import transformers

    folder, ref = tiny_ckpt
    model, _, _ = checkpoint.load_model(folder)
    with torch.no_grad():
        model.bert.encoder.layer[0].output.dense.bias.add_(0.5)  # make it ours, not a copy
    checkpoint.save_pretrained(model, tmp_path)
    saved = json.loads((tmp_path / "config.json").read_text())
    assert saved["architectures"] == ["BertForPreTraining"]
    back = transformers.BertForPreTraining.from_pretrained(tmp_path,
                                                           attn_implementation="eager").eval()
    with torch.no_grad():
        out = model(IDS, token_type_ids=TYPES, attention_mask=MASK)
        hf = back(input_ids=IDS, token_type_ids=TYPES, attention_mask=MASK)
    assert _max_diff(out.mlm_logits, hf.prediction_logits) <= 1e-5
    assert _max_diff(out.nsp_logits, hf.seq_relationship_logits) <= 1e-5
    # and round-trips through bertcore itself, with nothing new
    again, _, report = checkpoint.load_model(tmp_path)
    assert report.new == [] and report.skipped == []


def test_hub_id_offline_says_it_needs_a_network_once():
    with pytest.raises(checkpoint.OfflineError, match="needs a network once"):
        checkpoint.resolve("google-bert/bert-base-uncased", local_files_only=True)
    with pytest.raises(CheckpointError, match="not a checkpoint folder or a hub id"):
        checkpoint.resolve("./no/such/folder")

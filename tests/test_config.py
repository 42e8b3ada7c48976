"""BertConfig reads and writes Hugging Face config.json, keeps unknown fields, refuses non-BERT."""

from __future__ import annotations

import json

import pytest

from bertcore.config import BertConfig, ConfigError
from conftest import hf_config


def test_reads_what_transformers_writes_and_transformers_reads_it_back(tmp_path):
    from transformers import BertConfig as HFConfig

    hf = hf_config(num_labels=3, classifier_dropout=0.2)
    hf.save_pretrained(tmp_path)
    cfg = BertConfig.from_json_file(tmp_path / "config.json")
    assert (cfg.hidden_size, cfg.num_hidden_layers, cfg.num_attention_heads) == (32, 2, 4)
    assert cfg.head_dim == 8 and cfg.num_labels == 3
    assert cfg.extra["classifier_dropout"] == 0.2
    out = tmp_path / "out"
    out.mkdir()
    cfg.to_json_file(out / "config.json")
    back = HFConfig.from_pretrained(out)
    for field in ("vocab_size", "hidden_size", "num_hidden_layers", "num_attention_heads",
                  "intermediate_size", "hidden_act", "max_position_embeddings", "type_vocab_size",
                  "layer_norm_eps", "classifier_dropout"):
        assert getattr(back, field) == getattr(hf, field), field
    assert back.num_labels == 3 and back.id2label == hf.id2label


def test_labels_round_trip_with_integer_keys(tmp_path):
    cfg = BertConfig(id2label={"0": "neg", "1": "pos"})
    assert cfg.id2label == {0: "neg", 1: "pos"} and cfg.label2id == {"neg": 0, "pos": 1}
    cfg.to_json_file(tmp_path / "c.json")
    d = json.loads((tmp_path / "c.json").read_text())
    assert d["id2label"] == {"0": "neg", "1": "pos"} and d["label2id"] == {"neg": 0, "pos": 1}
    assert BertConfig.from_json_file(tmp_path / "c.json").id2label == {0: "neg", 1: "pos"}


@pytest.mark.parametrize("fields, message", [
    ({"model_type": "gpt2"}, "not BERT"),
    ({"hidden_size": 30, "num_attention_heads": 4}, "not a multiple"),
    ({"position_embedding_type": "relative_key"}, "not supported"),
])
def test_refuses_what_it_cannot_build(fields, message):
    with pytest.raises(ConfigError, match=message):
        BertConfig.from_dict(fields)


def test_unreadable_files_are_config_errors(tmp_path):
    (tmp_path / "bad.json").write_text("{not json")
    with pytest.raises(ConfigError, match="cannot read"):
        BertConfig.from_json_file(tmp_path / "bad.json")
    (tmp_path / "list.json").write_text("[1, 2]")
    with pytest.raises(ConfigError, match="not a JSON object"):
        BertConfig.from_json_file(tmp_path / "list.json")
    with pytest.raises(ConfigError, match="cannot read"):
        BertConfig.from_json_file(tmp_path / "missing.json")

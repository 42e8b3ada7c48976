"""bertcore.heads against Hugging Face transformers: same keys, logits, losses and tied weights.

Tiny random configs; HF models come from ``_from_config`` with perturbed weights (never the hub).
"""

from __future__ import annotations

import copy

import pytest
import torch
import transformers

from bertcore.config import BertConfig
from bertcore.heads import (
    TASK_MODELS, BertForMaskedLM, BertForPreTraining,
    BertForQuestionAnswering, BertForSequenceClassification, BertForTokenClassification,
    BertPreTrainedModel, HeadsOutput,
)
from bertcore.model import BertModel

TOL = 1e-5
CONFIGS = {
    "L1-H2-D8": dict(vocab_size=37, hidden_size=8, num_hidden_layers=1, num_attention_heads=2,
                     intermediate_size=12, hidden_act="gelu", id2label={0: "O", 1: "B", 2: "I"}),
    "L2-H4-D32": dict(vocab_size=90, hidden_size=32, num_hidden_layers=2, num_attention_heads=4,
                      intermediate_size=40, hidden_act="gelu_new"),
}
HF_FIELDS = ("vocab_size", "hidden_size", "num_hidden_layers", "num_attention_heads",
             "intermediate_size", "hidden_act", "hidden_dropout_prob",
             "attention_probs_dropout_prob", "max_position_embeddings", "type_vocab_size",
             "initializer_range", "layer_norm_eps", "pad_token_id")
TASKS = [name for name in TASK_MODELS if name != "BertModel"]
# our HeadsOutput field -> HF output field
LOGITS = {
    "BertForPreTraining": {"mlm_logits": "prediction_logits",
                           "nsp_logits": "seq_relationship_logits"},
    "BertForMaskedLM": {"mlm_logits": "logits"},
    "BertForNextSentencePrediction": {"nsp_logits": "logits"},
    "BertForSequenceClassification": {"logits": "logits"},
    "BertForTokenClassification": {"logits": "logits"},
    "BertForQuestionAnswering": {"start_logits": "start_logits", "end_logits": "end_logits"},
}


def config_for(name: str, config_name: str) -> BertConfig:
    """The QA head always has 2 outputs (start, end), so its config names no classes."""
    fields = dict(CONFIGS[config_name])
    if name == "BertForQuestionAnswering":
        fields.pop("id2label", None)
    return BertConfig(**fields)


def hf_config(cfg: BertConfig) -> transformers.BertConfig:
    fields = {k: getattr(cfg, k) for k in HF_FIELDS}
    return transformers.BertConfig(**fields, num_labels=cfg.num_labels)


def make_pair(name: str, cfg: BertConfig, seed=0):
    """An HF task model with perturbed random weights, and ours loaded from its state dict."""
    torch.manual_seed(seed)
    hf = getattr(transformers, name)._from_config(copy.deepcopy(hf_config(cfg)),
                                                  attn_implementation="eager").eval()
    with torch.no_grad():
        for p in hf.parameters():  # tied parameters appear once
            p.add_(torch.randn_like(p) * 0.2)
    ours = TASK_MODELS[name](cfg)
    ours.load_state_dict(hf.state_dict())
    return hf, ours.eval()


def batch(cfg: BertConfig, B=3, T=8, seed=1):
    g = torch.Generator().manual_seed(seed)
    ids = torch.randint(1, cfg.vocab_size, (B, T), generator=g)
    mask = torch.ones(B, T, dtype=torch.long)
    types = torch.zeros(B, T, dtype=torch.long)
    for b, n in enumerate([T, T - 3, T // 2][:B]):
        mask[b, n:], ids[b, n:] = 0, cfg.pad_token_id
        types[b, n // 2:n] = 1
    return ids, types, mask


def maxdiff(a, b) -> float:
    return (a - b).abs().max().item()


@pytest.fixture(scope="module", params=[(n, c) for n in TASKS for c in CONFIGS],
                ids=[f"{n}-{c}" for n in TASKS for c in CONFIGS])
def task_pair(request):
    name, config_name = request.param
    cfg = config_for(name, config_name)
    return name, cfg, *make_pair(name, cfg)


# --- weights ------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", TASKS)
def test_state_dict_matches_hf_key_for_key(name):
    cfg = config_for(name, "L1-H2-D8")
    hf = getattr(transformers, name)._from_config(copy.deepcopy(hf_config(cfg)))
    ours = TASK_MODELS[name](cfg)
    theirs = hf.state_dict()
    assert set(ours.state_dict()) == set(theirs)
    for k, v in ours.state_dict().items():
        assert v.shape == theirs[k].shape, k
    ours.load_state_dict(theirs)  # strict


@pytest.mark.parametrize("cls", [BertForPreTraining, BertForMaskedLM])
def test_decoder_is_tied_to_the_word_embeddings(cls):
    cfg = BertConfig(**CONFIGS["L1-H2-D8"])
    hf, ours = make_pair(cls.__name__, cfg)
    for model in (ours, ours.double()):
        predictions = model.cls.predictions
        assert predictions.decoder.weight is model.bert.embeddings.word_embeddings.weight
        assert predictions.decoder.bias is predictions.bias
        assert set(cls.tied_weights) <= set(model.state_dict())
    assert torch.equal(ours.cls.predictions.bias.float(), hf.cls.predictions.bias)
    n_ours = sum(p.numel() for p in ours.parameters())
    assert n_ours == sum(p.numel() for p in hf.parameters())  # shared once, as in HF


def test_init_is_hfs():
    cfg = BertConfig(vocab_size=300, hidden_size=64, num_hidden_layers=1, num_attention_heads=4,
                     intermediate_size=128, initializer_range=0.05)
    model = BertForPreTraining(cfg)
    for name, module in model.named_modules():
        if isinstance(module, torch.nn.LayerNorm):
            assert (module.weight == 1).all() and (module.bias == 0).all(), name
        elif isinstance(module, torch.nn.Linear):
            assert (module.bias == 0).all(), name
            assert abs(module.weight.std().item() - 0.05) < 0.01, name
        elif isinstance(module, torch.nn.Embedding):
            assert abs(module.weight.std().item() - 0.05) < 0.01, name
    assert (model.bert.embeddings.word_embeddings.weight[cfg.pad_token_id] == 0).all()
    assert (model.cls.predictions.bias == 0).all()


def test_task_models_are_named_as_hf_architectures():
    for name, cls in TASK_MODELS.items():
        assert hasattr(transformers, name), name
        assert cls.__name__ == name and issubclass(cls, BertPreTrainedModel)
    assert TASK_MODELS["BertModel"] is BertModel
    cfg = BertConfig(**CONFIGS["L1-H2-D8"])
    assert BertForMaskedLM(cfg).bert.pooler is None
    assert BertForTokenClassification(cfg).bert.pooler is None
    assert BertForQuestionAnswering(cfg).bert.pooler is None
    assert BertForSequenceClassification(cfg).classifier.out_features == 3


# --- logits -------------------------------------------------------------------------------------


@pytest.mark.parametrize("explain", [False, True], ids=["fast", "explained"])
def test_logits_match_hf(task_pair, explain):
    name, cfg, hf, ours = task_pair
    ids, types, mask = batch(cfg)
    with torch.no_grad():
        ref = hf(input_ids=ids, token_type_ids=types, attention_mask=mask)
        out = ours(ids, types, mask, explain=explain)
    assert isinstance(out, HeadsOutput) and out.loss is None
    for ours_field, hf_field in LOGITS[name].items():
        assert maxdiff(getattr(out, ours_field), getattr(ref, hf_field)) <= TOL, ours_field
    produced = {f for f in ("mlm_logits", "nsp_logits", "logits", "start_logits", "end_logits")
                if getattr(out, f) is not None}
    assert produced == set(LOGITS[name])
    assert (out.hidden.explanation is not None) == explain


def test_explanation_carries_the_pretraining_logits():
    cfg = BertConfig(**CONFIGS["L2-H4-D32"])
    _, ours = make_pair("BertForPreTraining", cfg)
    ids, types, mask = batch(cfg)
    with torch.no_grad():
        out = ours(ids, types, mask, explain=True)
    ex = out.hidden.explanation
    assert ex.mlm_logits is out.mlm_logits and ex.mlm_logits.shape == (3, 8, cfg.vocab_size)
    assert ex.nsp_logits is out.nsp_logits and ex.nsp_logits.shape == (3, 2)
    assert torch.equal(ex.pooled_output, out.hidden.pooler_output)


@pytest.mark.parametrize("name", ["BertForMaskedLM", "BertForNextSentencePrediction"])
def test_explanation_carries_single_head_logits(name):
    cfg = BertConfig(**CONFIGS["L1-H2-D8"])
    _, ours = make_pair(name, cfg)
    ids, types, mask = batch(cfg)
    with torch.no_grad():
        ex = ours(ids, types, mask, explain=True).hidden.explanation
    assert (ex.mlm_logits is not None) == (name == "BertForMaskedLM")
    assert (ex.nsp_logits is not None) == (name == "BertForNextSentencePrediction")


def test_head_mask_reaches_the_encoder():
    cfg = BertConfig(**CONFIGS["L2-H4-D32"])
    _, ours = make_pair("BertForSequenceClassification", cfg)
    ids, types, mask = batch(cfg)
    with torch.no_grad():
        heads = torch.tensor([1.0, 0.0, 0.0, 1.0])
        plain = ours(ids, types, mask).logits
        masked = ours(ids, types, mask, head_mask=heads)
        explained = ours(ids, types, mask, head_mask=heads, explain=True)
    assert maxdiff(plain, masked.logits) > 1e-4
    assert maxdiff(masked.logits, explained.logits) <= TOL
    assert (explained.hidden.explanation.layers[1].probs[:, 1:3] == 0).all()


# --- losses -------------------------------------------------------------------------------------


def _mlm_labels(ids, mask):
    labels = torch.full_like(ids, -100)
    labels[:, 1::3] = ids[:, 1::3]
    return labels.masked_fill(mask == 0, -100)


def _loss_cases(cfg, ids, mask):
    B, T = ids.shape
    g = torch.Generator().manual_seed(5)
    token_labels = torch.randint(0, cfg.num_labels, (B, T), generator=g)
    token_labels = token_labels.masked_fill(mask == 0, -100)
    return {
        "BertForPreTraining": dict(labels=_mlm_labels(ids, mask),
                                   next_sentence_label=torch.tensor([0, 1, 1])),
        "BertForMaskedLM": dict(labels=_mlm_labels(ids, mask)),
        "BertForNextSentencePrediction": dict(labels=torch.tensor([1, 0, 1])),
        "BertForSequenceClassification": dict(labels=torch.tensor([0, cfg.num_labels - 1, 1])),
        "BertForTokenClassification": dict(labels=token_labels),
        # the third answer lies past the sequence: clamped to T and ignored, as in HF
        "BertForQuestionAnswering": dict(start_positions=torch.tensor([1, 2, 50]),
                                         end_positions=torch.tensor([3, T - 1, 60])),
    }


def test_losses_match_hf(task_pair):
    name, cfg, hf, ours = task_pair
    ids, types, mask = batch(cfg)
    labels = _loss_cases(cfg, ids, mask)[name]
    with torch.no_grad():
        ref = hf(input_ids=ids, token_type_ids=types, attention_mask=mask, **labels)
        for explain in (False, True):
            out = ours(ids, types, mask, explain=explain, **labels)
            assert out.loss.shape == ()
            assert abs(out.loss.item() - ref.loss.item()) <= TOL


def test_pretraining_loss_is_mlm_plus_nsp_and_partial_labels_give_one_term():
    cfg = BertConfig(**CONFIGS["L2-H4-D32"])
    _, ours = make_pair("BertForPreTraining", cfg)
    ids, types, mask = batch(cfg)
    mlm, nsp = _mlm_labels(ids, mask), torch.tensor([0, 1, 1])
    with torch.no_grad():
        both = ours(ids, types, mask, labels=mlm, next_sentence_label=nsp).loss
        only_mlm = ours(ids, types, mask, labels=mlm).loss
        only_nsp = ours(ids, types, mask, next_sentence_label=nsp).loss
        none = ours(ids, types, mask).loss
    assert abs(both.item() - (only_mlm + only_nsp).item()) <= 1e-6
    assert none is None


@pytest.mark.parametrize("kind", ["regression", "multi_label"])
def test_sequence_classification_loss_kinds_match_hf(kind):
    labels = {0: "score"} if kind == "regression" else {0: "a", 1: "b", 2: "c"}
    cfg = BertConfig(**{**CONFIGS["L1-H2-D8"], "id2label": labels})
    hf, ours = make_pair("BertForSequenceClassification", cfg)
    ids, types, mask = batch(cfg)
    target = (torch.tensor([0.5, -1.0, 2.0]) if kind == "regression"
              else torch.tensor([[1.0, 0.0, 1.0], [0.0, 0.0, 1.0], [1.0, 1.0, 0.0]]))
    with torch.no_grad():
        ref = hf(input_ids=ids, token_type_ids=types, attention_mask=mask, labels=target)
        out = ours(ids, types, mask, labels=target)
    assert abs(out.loss.item() - ref.loss.item()) <= TOL


def test_next_sentence_label_names():
    cfg = BertConfig(**CONFIGS["L1-H2-D8"])
    _, ours = make_pair("BertForNextSentencePrediction", cfg)
    ids, types, mask = batch(cfg)
    y = torch.tensor([1, 0, 1])
    with torch.no_grad():
        assert torch.equal(ours(ids, types, mask, labels=y).loss,
                           ours(ids, types, mask, next_sentence_label=y).loss)
        with pytest.raises(ValueError):
            ours(ids, types, mask, labels=y, next_sentence_label=y)


def test_classifier_dropout_only_in_training():
    cfg = BertConfig(**{**CONFIGS["L1-H2-D8"], "hidden_dropout_prob": 0.0,
                        "attention_probs_dropout_prob": 0.0, "extra": {"classifier_dropout": 0.5}})
    model = BertForSequenceClassification(cfg)
    assert model.dropout.p == 0.5
    ids, types, mask = batch(cfg)
    with torch.no_grad():
        model.eval()
        assert torch.equal(model(ids, types, mask).logits, model(ids, types, mask).logits)
        model.train()
        assert not torch.equal(model(ids, types, mask).logits, model(ids, types, mask).logits)

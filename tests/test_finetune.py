"""Fine-tuning: it learns, stops when told, leaves the shared model alone, and saves folders that
transformers reads back with the same logits; task data and uploads are checked."""

from __future__ import annotations

import json
import random
import threading

import pytest
import torch

from bertcore import checkpoint, finetune, tasks
from bertcore.tasks import DataError, SpanExample, TagExample, TaskData, TextExample
from bertcore.tokenizer import Tokenizer

from conftest import write_checkpoint

torch.set_num_threads(1)
FILLER = "the a dog cat sat on mat it street was wet city river".split()


@pytest.fixture(scope="module")
def source(tmp_path_factory):
    """(model, config, tokenizer, folder) of a tiny pretrained-style checkpoint."""
    folder = tmp_path_factory.mktemp("src")
    write_checkpoint(folder, hidden_dropout_prob=0.0, attention_probs_dropout_prob=0.0)
    model, config, tok = finetune.load_for_task(str(folder))
    return model, config, tok, folder


def sentiment_toy(n: int = 240, seed: int = 0) -> TaskData:
    """'good' or 'bad' somewhere among filler words: separable, not trivial for a fresh head."""
    rng = random.Random(seed)
    rows = []
    for _ in range(n):
        label = rng.randrange(2)
        words = [rng.choice(FILLER) for _ in range(rng.randint(3, 7))]
        words.insert(rng.randrange(len(words) + 1), ("bad", "good")[label])
        rows.append(TextExample(" ".join(words), label))
    train, val, test = tasks.split(rows, seed=1)
    return TaskData("classification", "toy", "en", ["negative", "positive"], train, val, test)


def ner_toy(n: int = 160, seed: int = 0) -> TaskData:
    """Characters of 中国人大学; 中国 is a place (B-LOC I-LOC), everything else O."""
    rng = random.Random(seed)
    rows = []
    for _ in range(n):
        chars, tags = [], []
        for _ in range(rng.randint(2, 5)):
            if rng.random() < 0.4:
                chars += ["中", "国"]
                tags += [3, 4]
            else:
                c = rng.choice("人大学")
                chars.append(c)
                tags.append(0)
        rows.append(TagExample(chars, tags))
    train, val, test = tasks.split(rows, seed=1)
    return TaskData("ner", "toy-ner", "zh", tasks.NER_LABELS, train, val, test)


def qa_toy(n: int = 160, seed: int = 0) -> TaskData:
    rng = random.Random(seed)
    rows = []
    for _ in range(n):
        words = [rng.choice(FILLER) for _ in range(rng.randint(3, 8))]
        words.insert(rng.randrange(len(words) + 1), "paris")
        context = " ".join(words)
        rows.append(SpanExample("capital of france ?", context, "paris", context.index("paris")))
    train, val, test = tasks.split(rows, seed=1)
    return TaskData("qa", "toy-qa", "en", [], train, val, test)


FAST = dict(train_size=1000, eval_size=64, test_size=64, batch_size=16, learning_rate=3e-3,
            head_lr=3e-3, max_length=32, eval_every=20)


def state_of(model) -> dict:
    return {k: v.detach().clone() for k, v in model.state_dict().items()}


# ----------------------------------------------------------------------------- learning

def test_classification_loss_falls_and_accuracy_beats_chance(source):
    model, config, tok, _ = source
    before = state_of(model)
    seen = []
    out = finetune.run(model, config, tok, sentiment_toy(), finetune.FinetuneConfig(
        max_steps=60, **FAST), callback=seen.append)
    losses = [row["loss"] for row in out.result.history]
    assert losses[-1] < 0.6 * losses[0]
    assert out.after.metrics["accuracy"] >= 0.9 > out.before.metrics["accuracy"] - 0.2
    assert out.after.confusion.sum() == len(sentiment_toy().test[:64])
    assert out.after.points.shape == (len(out.after.point_labels), 2)
    L, H = config.num_hidden_layers, config.num_attention_heads
    assert out.after.probe_attentions[0].shape[:2] == (L, H)
    assert seen[-1].done and any(p.metrics for p in seen[:-1])
    # the shared model is only read: same weights, and it is not the trained module
    assert all(torch.equal(before[k], v) for k, v in model.state_dict().items())
    assert out.model is not model
    probs = finetune.predict(out.model, tok, "classification", "good movie", out.labels)["probs"]
    assert probs[1] > 0.5 and abs(sum(probs) - 1) < 1e-5


def test_ner_learns_the_place(source):
    model, config, tok, _ = source
    out = finetune.run(model, config, tok, ner_toy(), finetune.FinetuneConfig(max_steps=60, **FAST))
    assert out.after.metrics["f1"] >= 0.9 and out.after.metrics["f1"] > out.before.metrics["f1"]
    assert out.after.confusion.shape == (7, 7)
    pred = finetune.predict(out.model, tok, "ner", "人中国大", out.labels)
    assert pred["tags"] == ["O", "B-LOC", "I-LOC", "O"]


def test_qa_finds_the_span(source):
    model, config, tok, _ = source
    out = finetune.run(model, config, tok, qa_toy(), finetune.FinetuneConfig(max_steps=60, **FAST))
    assert out.after.metrics["accuracy"] >= 0.8 > out.before.metrics["accuracy"]
    pred = finetune.predict(out.model, tok, "qa", "the dog sat on paris mat", [],
                            question="capital of france ?")
    assert pred["answer"] == "paris"


def test_qa_features_point_at_the_answer(source):
    _, _, tok, _ = source
    feats, dropped = finetune.encode("qa", qa_toy(20).train, tok, 64)
    assert dropped == 0
    for f in feats:
        assert f["start_positions"] == f["end_positions"]
        assert tok.convert_ids_to_tokens([f["input_ids"][f["start_positions"]]]) == ["paris"]
        assert f["token_type_ids"][f["start_positions"]] == 1
    cut, dropped = finetune.encode("qa", [SpanExample("capital", "the " * 40 + "paris", "paris",
                                                      160)], tok, 16)
    assert cut == [] and dropped == 1


# ----------------------------------------------------------------------------- stopping

def test_cancel_keeps_the_partial_model(source):
    model, config, tok, _ = source
    calls = {"n": 0}

    def stop():
        calls["n"] += 1
        return calls["n"] > 4

    out = finetune.run(model, config, tok, sentiment_toy(), finetune.FinetuneConfig(
        max_steps=500, **FAST), should_stop=stop)
    assert out.result.cancelled and out.result.steps == 4
    fresh = finetune.task_model(model, config, "classification", ["n", "p"], seed=0)
    changed = [k for k, v in out.model.state_dict().items()
               if not torch.equal(v.cpu(), fresh.state_dict()[k])]
    assert any(k.startswith("bert.encoder.") for k in changed)
    assert out.after.metrics and out.log()["cancelled"]


def test_size_guard_shortens_the_run_to_the_budget(source):
    model, config, tok, _ = source
    plans = []
    cfg = finetune.FinetuneConfig(epochs=1000, time_budget_s=0.5, cpu=True,
                                  **{**FAST, "eval_every": 0})
    out = finetune.run(model, config, tok, sentiment_toy(), cfg,
                       on_plan=lambda plan, before: plans.append((plan, before)))
    plan = plans[0][0]
    assert plan.steps < 1000 * 12 and plan.seconds_per_step > 0 and "size guard" in plan.notes[0]
    assert out.result.steps <= plan.steps and plans[0][1].metrics["accuracy"] >= 0


def test_the_guard_times_a_batch_of_the_mean_length():
    """Training draws length-grouped batches, so a step costs what a batch of the mean length
    does: that is the batch timed, not the first examples padded to their longest."""
    from types import SimpleNamespace

    widths = []

    class Recorder(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.w = torch.nn.Parameter(torch.ones(()))

        def forward(self, input_ids, **_):
            widths.append(input_ids.shape[1])
            return SimpleNamespace(loss=self.w * input_ids.float().mean())

    lengths = [60] + [5 + i % 40 for i in range(399)]  # the longest first; mean about 24.6
    feats = [{"input_ids": [1] * n, "token_type_ids": [0] * n, "labels": 0} for n in lengths]
    assert finetune._time_one_step(Recorder(), feats, finetune.Collator(0), 16) > 0
    mean = sum(lengths) / len(lengths)
    assert widths and all(abs(w - mean) <= 2 for w in widths), (widths, mean)


def test_the_guard_plans_again_from_the_real_pace(source, monkeypatch):
    """A timed step far slower than training really is (another program was busy) plans a
    handful of steps; once training runs, the guard plans again from the real pace and uses the
    budget, never past the steps asked for nor the hard limit."""
    model, config, tok, _ = source
    monkeypatch.setattr(finetune, "_time_one_step", lambda *args: 5.0)
    seen = []
    cfg = finetune.FinetuneConfig(epochs=50, time_budget_s=2.0, cpu=True,
                                  **{**FAST, "eval_every": 0})
    out = finetune.run(model, config, tok, sentiment_toy(), cfg,
                       callback=lambda p: seen.append(p.max_steps))
    wanted = finetune._steps_for(cfg, out.plan.train_examples)
    assert out.plan.steps <= 1 < out.result.steps <= wanted  # planned 1, trained more
    assert max(seen) > out.plan.steps and out.result.seconds < 2 * cfg.time_budget_s + 1


def test_two_runs_at_once_both_finish(source):
    """Two sessions training in threads at the same time must not break each other."""
    model, config, tok, _ = source
    results, errors = {}, []

    def work(name, data):
        try:
            results[name] = finetune.run(model, config, tok, data,
                                         finetune.FinetuneConfig(max_steps=15, **FAST))
        except Exception as e:  # noqa: BLE001 - reported below
            errors.append(e)

    threads = [threading.Thread(target=work, args=("a", sentiment_toy())),
               threading.Thread(target=work, args=("b", ner_toy()))]
    for th in threads:
        th.start()
    for th in threads:
        th.join(120)
    assert not errors and set(results) == {"a", "b"}
    assert results["a"].result.steps == results["b"].result.steps == 15


def test_same_seed_same_model(source):
    model, config, tok, _ = source
    runs = [finetune.run(model, config, tok, sentiment_toy(), finetune.FinetuneConfig(
        max_steps=5, **FAST)).model for _ in range(2)]
    a, b = (torch.cat([p.detach().flatten().cpu() for p in m.parameters()]) for m in runs)
    assert torch.equal(a, b)


# ----------------------------------------------------------------------------- saving

@pytest.mark.parametrize("data_fn,auto", [(sentiment_toy, "AutoModelForSequenceClassification"),
                                          (ner_toy, "AutoModelForTokenClassification")])
def test_saved_folder_loads_in_transformers_with_same_logits(source, tmp_path, data_fn, auto):
    import transformers

    import bertcore

    model, config, tok, _ = source
    data = data_fn()
    out = finetune.run(model, config, tok, data, finetune.FinetuneConfig(max_steps=10, **FAST))
    folder = finetune.save(out, tmp_path / "ft")
    cfg = json.loads((folder / "config.json").read_text())
    assert cfg["id2label"] == {str(i): n for i, n in enumerate(data.labels)}
    assert cfg["label2id"] == {n: i for i, n in enumerate(data.labels)}
    log = json.loads((folder / "training_log.json").read_text())
    assert log["steps"] == 10 and log["history"]
    hf = getattr(transformers, auto).from_pretrained(folder, attn_implementation="eager").eval()
    hf_tok = transformers.AutoTokenizer.from_pretrained(folder)
    text = "the good dog sat" if data.task == "classification" else "中 国 人 大"
    enc = hf_tok(text, return_tensors="pt")
    ours = bertcore.load(folder, device="cpu")
    assert type(ours.model).__name__ == finetune.ARCHITECTURES[data.task]
    assert enc["input_ids"][0].tolist() == ours.encode(text).ids
    with torch.no_grad():
        ref = hf(**enc).logits
        mine = ours.forward(ours.encode(text)).logits
    torch.testing.assert_close(mine, ref, atol=1e-5, rtol=1e-4)
    if data.task == "classification":
        pipe = transformers.pipeline("text-classification", model=str(folder), device="cpu")
        assert pipe("good movie")[0]["label"] in data.labels


# ----------------------------------------------------------------------------- data

def test_bio_spans_and_people_daily_tags():
    chars, tags, spans = tasks._entities([("国务委员", ""), ("陈", "PER"), ("俊生", "PER"),
                                          ("在", ""), ("北京", "LOC"), ("新华社", "ORG")])
    assert "".join(chars) == "国务委员陈俊生在北京新华社"
    assert tags[4:] == ["B-PER", "I-PER", "I-PER", "O", "B-LOC", "I-LOC", "B-ORG", "I-ORG",
                        "I-ORG"]
    assert spans == [("PER", 4, 7), ("LOC", 8, 10), ("ORG", 10, 13)]
    assert finetune.bio_spans(tags) == {("PER", 4, 6), ("LOC", 8, 9), ("ORG", 10, 12)}


def test_splits_are_fixed_and_disjoint():
    rows = [TextExample(str(i), i % 2) for i in range(100)]
    a, b = tasks.split(rows), tasks.split(rows)
    assert a == b and [len(x) for x in a] == [80, 10, 10]
    assert len({e.text for part in a for e in part}) == 100


def test_builtin_chinese_sets_are_consistent():
    zh = tasks.sentiment_zh()
    texts = [e.text for part in (zh.train, zh.validation, zh.test) for e in part]
    assert len(texts) == len(set(texts)) and {e.label for e in zh.test} == {0, 1}
    qa = tasks.qa_zh()
    for ex in qa.train[:200]:
        assert ex.context[ex.start:ex.start + len(ex.answer)] == ex.answer
        assert ex.question in tasks.QA_QUESTIONS.values()
    ner = tasks.ner_zh()
    assert all(len(e.chars) == len(e.tags) and any(e.tags) for e in ner.train[:200])


@pytest.mark.parametrize("name,data,code", [
    ("a.csv", b"text,label\n" + b"x,1\n" * 5, "too_few"),
    ("a.csv", b"sentence,class\nhi,1\n", "missing_columns"),
    ("a.csv", b"text,label\n" + b"nice,pos\n" * 20, "one_class"),
    ("a.csv", b"text,label\n" + b"nice,pos\nbad,neg\n" * 10 + b",neg\nok,\n", "empty_rows"),
    ("a.csv", b"\x89PNG\r\n\x1a\n\x00\x00binary", "not_text"),
    ("a.csv", b"text,label\n" + b"x" * (tasks.MAX_UPLOAD_BYTES + 1), "too_large"),
    ("a.jsonl", b'{"text": "a", "label": 1}\n{oops\n', "bad_json"),
    ("a.jsonl", b'[1, 2]\n', "not_object"),
    ("a.jsonl", b'{"text": "a"}\n', "missing_columns"),
    ("a.json", b'{"version": 1}', "not_squad"),
    ("a.json", json.dumps({"data": [{"paragraphs": [{"context": "abc", "qas": [
        {"question": "q", "answers": [{"text": "zz", "answer_start": 0}]}]}]}]}).encode(),
     "answer_mismatch"),
])
def test_bad_uploads_say_what_is_wrong(name, data, code):
    with pytest.raises(DataError) as e:
        tasks.read_upload(name, data)
    assert e.value.code == code and str(e.value)


def test_good_uploads():
    rows = [f"review {i},{'pos' if i % 3 else 'neg'}\n" for i in range(30)]
    csv_data = "text,label\n" + "".join(rows)
    d = tasks.read_upload("mine.csv", csv_data.encode())
    assert d.task == "classification" and d.labels == ["neg", "pos"] and sum(d.sizes.values()) == 30
    jl = "".join(json.dumps({"text": f"t{i}", "label": i % 3}) + "\n" for i in range(20))
    assert tasks.read_upload("x.jsonl", jl.encode()).labels == ["0", "1", "2"]
    squad = {"data": [{"paragraphs": [{"context": f"the dog {i} barked", "qas": [
        {"question": "who barked?", "answers": [{"text": "dog", "answer_start": 4}]}]}
        for i in range(12)]}]}
    qa = tasks.read_upload("s.json", json.dumps(squad).encode())
    assert qa.task == "qa" and qa.train[0].answer == "dog"


def test_task_model_copies_the_encoder_and_adds_a_new_head(source):
    model, config, _, folder = source
    m = finetune.task_model(model, config, "classification", ["a", "b", "c"])
    assert m.classifier.out_features == 3 and m.config.id2label == {0: "a", 1: "b", 2: "c"}
    assert config.id2label != m.config.id2label  # the source config is untouched
    w = "bert.encoder.layer.0.attention.self.query.weight"
    assert torch.equal(m.state_dict()[w], model.state_dict()[w])
    assert m.state_dict()[w].data_ptr() != model.state_dict()[w].data_ptr()
    frozen = finetune.freeze_encoder(m)
    assert frozen and all(n.startswith(("bert.pooler.", "classifier.")) for n in frozen)
    assert isinstance(checkpoint.load_model(folder)[0], torch.nn.Module)
    assert Tokenizer.from_pretrained(folder).vocab_size == config.vocab_size


def test_dropout_off_trains_without_dropout_and_saves_the_checkpoints_value(tmp_path):
    write_checkpoint(tmp_path / "src", hidden_dropout_prob=0.1, attention_probs_dropout_prob=0.1)
    model, config, tok = finetune.load_for_task(str(tmp_path / "src"))
    m = finetune.task_model(model, config, "classification", ["a", "b"], dropout=0.0)
    rates = {mod.p for mod in m.modules() if isinstance(mod, torch.nn.Dropout)}
    assert rates == {0.0}
    assert m.config.hidden_dropout_prob == config.hidden_dropout_prob > 0
    ids = torch.tensor([[2, 5, 6, 3]])
    m.train()  # no dropout: training mode gives the same logits twice
    assert torch.equal(m(ids).logits, m(ids).logits)
    default = finetune.task_model(model, config, "classification", ["a", "b"])
    assert {mod.p for mod in default.modules() if isinstance(mod, torch.nn.Dropout)} == {
        config.hidden_dropout_prob, config.attention_probs_dropout_prob}
    data = TaskData("classification", "toy", "en", ["a", "b"],
                    *[[TextExample(f"w{i} x", i % 2) for i in range(20)]] * 3)
    out = finetune.run(model, config, tok, data, finetune.FinetuneConfig(
        train_size=20, max_steps=2, batch_size=4, eval_every=0, eval_size=4, test_size=4,
        dropout=0.0, cpu=True))
    saved = finetune.save(out, tmp_path / "ft")
    assert json.loads((saved / "config.json").read_text())["hidden_dropout_prob"] == \
        config.hidden_dropout_prob


def test_answers_beyond_max_length_say_so(source):
    model, config, tok, _ = source
    far = [SpanExample("capital", "the " * 60 + "paris", "paris", 240) for _ in range(12)]
    data = TaskData("qa", "far", "en", [], far[:8], far[8:10], far[10:])
    with pytest.raises(DataError) as e:
        finetune.run(model, config, tok, data, finetune.FinetuneConfig(max_steps=2, **FAST))
    assert e.value.code == "answers_cut" and "32" in str(e.value)

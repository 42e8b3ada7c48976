"""``python -m bertcore``: each command, its JSON, and its errors."""

from __future__ import annotations

import json
import subprocess
import sys

from bertcore.__main__ import main


def _json(capsys, argv) -> dict:
    assert main(argv + ["--json"]) == 0
    return json.loads(capsys.readouterr().out)


def test_tokenize_info_fill_mask_nsp_explain(capsys, tiny_ckpt):
    m = ["--model", str(tiny_ckpt[0])]
    tok = _json(capsys, ["tokenize", "Unaffable dogs!", "--pair", "It rained.", "--trace"] + m)
    assert tok["tokens"][:4] == ["[CLS]", "un", "##aff", "##able"]
    assert tok["type_ids"][-1] == 1 and tok["trace"][0]["pieces"] == ["un", "##aff", "##able"]
    info = _json(capsys, ["info"] + m)
    assert info["class"] == "BertForPreTraining" and info["has_mlm"] and info["has_nsp"]
    fm = _json(capsys, ["fill-mask", "the [MASK] barked .", "--top-k", "3"] + m)
    assert len(fm["masks"]) == 1 and len(fm["masks"][0]) == 3
    assert fm["masks"][0][0]["prob"] >= fm["masks"][0][1]["prob"]
    nsp = _json(capsys, ["nsp", "it rained .", "the street was wet ."] + m)
    assert 0 < nsp["p_is_next"] < 1
    ex = _json(capsys, ["explain", "the dog", "--layer", "1", "--head", "3"] + m)
    assert len(ex["attention"]) == len(ex["tokens"]) == 4
    assert abs(sum(ex["attention"][0]) - 1) < 1e-4
    assert main(["info"] + m) == 0 and "parameters" not in capsys.readouterr().err


def test_errors_are_one_line_and_exit_2(capsys, tiny_ckpt):
    m = ["--model", str(tiny_ckpt[0])]
    assert main(["fill-mask", "no mask here"] + m) == 2
    assert "no [MASK]" in capsys.readouterr().err
    assert main(["explain", "the dog", "--layer", "7"] + m) == 2
    assert "layer must be" in capsys.readouterr().err
    assert main(["info", "--model", "./does/not/exist"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error:") and err.count("\n") == 1


def test_runs_as_a_module(tiny_ckpt):
    out = subprocess.run([sys.executable, "-m", "bertcore", "nsp", "a", "b", "--model",
                          str(tiny_ckpt[0])], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0 and out.stdout.startswith("P(IsNext) = ")


def _toy_csv(path):
    rows = [f"the {'good' if i % 2 else 'bad'} dog sat,{'pos' if i % 2 else 'neg'}"
            for i in range(40)]
    path.write_text("text,label\n" + "\n".join(rows) + "\n", encoding="utf-8")
    return path


def test_finetune_writes_a_hugging_face_folder(capsys, tmp_path, tiny_ckpt):
    out = tmp_path / "ft"
    data = _toy_csv(tmp_path / "toy.csv")
    result = _json(capsys, ["finetune", "--model", str(tiny_ckpt[0]), "--data", str(data),
                            "--out", str(out), "--max-steps", "3", "--batch-size", "8",
                            "--eval-every", "0", "--threads", "1"])
    assert result["steps"] == 3 and "accuracy" in result["after"]
    config = json.loads((out / "config.json").read_text())
    assert config["id2label"] == {"0": "neg", "1": "pos"}
    assert config["architectures"] == ["BertForSequenceClassification"]
    assert (out / "vocab.txt").is_file() and (out / "training_log.json").is_file()
    # no --lr: the rate suggested for a small model (hidden 32); --lr wins when given
    log = json.loads((out / "training_log.json").read_text())
    assert log["config"]["learning_rate"] == 4e-4
    assert log["config"]["ema"] == 0.0  # BERT's recipe: no weight averaging unless asked
    _json(capsys, ["finetune", "--model", str(tiny_ckpt[0]), "--data", str(data), "--out", str(out),
                   "--max-steps", "1", "--eval-every", "0", "--threads", "1", "--lr", "3e-5",
                   "--ema"])
    log = json.loads((out / "training_log.json").read_text())
    assert log["config"]["learning_rate"] == 3e-5 and log["config"]["ema"] == 0.98


def test_suggested_learning_rate_follows_model_size():
    from bertcore.config import BertConfig
    from bertcore.finetune import suggested_learning_rate

    assert suggested_learning_rate(BertConfig(hidden_size=192)) == 4e-4
    assert suggested_learning_rate(BertConfig(hidden_size=384)) == 2e-4
    assert suggested_learning_rate(BertConfig(hidden_size=768)) == 5e-5


def test_finetune_errors_are_one_line(capsys, tmp_path, tiny_ckpt):
    bad = tmp_path / "bad.csv"
    bad.write_text("sentence,class\nhello,1\n", encoding="utf-8")
    assert main(["finetune", "--model", str(tiny_ckpt[0]), "--data", str(bad),
                 "--out", str(tmp_path / "x")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error:") and "text" in err and err.count("\n") == 1
    assert main(["finetune", "--data", "no-such-set", "--out", str(tmp_path / "x")]) == 2
    assert "sentiment-en" in capsys.readouterr().err

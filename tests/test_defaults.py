"""The offline default models: the shipped ones are complete, load offline and answer sensibly,
and a missing one says how to build it."""

from __future__ import annotations

import pytest

import bertcore
from bertcore import checkpoint, defaults


def test_a_missing_default_says_how_to_build_it(tmp_path, monkeypatch):
    monkeypatch.setattr(defaults, "OFFLINE_DIR", tmp_path)
    with pytest.raises(checkpoint.CheckpointError, match="python -m recipes.pretrain"):
        bertcore.load("offline-zh")


@pytest.mark.parametrize("name", defaults.OFFLINE_MODELS)
def test_shipped_defaults_load_offline_with_every_head(name):
    bert = bertcore.load(name, device="cpu")
    assert bert.report.new == [] and bert.has_mlm and bert.has_nsp
    info = defaults.manifest(name)
    assert {"mlm_top1", "mlm_top5", "nsp_acc"} <= set(info["quality"])
    # It predicts words, not just punctuation, and its NSP head gives a probability.
    sentence = ("paris is the capital of [MASK]." if name == "offline-en"
                else "我们在[MASK]京工作。")
    words = [w for w, _ in bert.fill_mask(sentence, top_k=10)[0]]
    assert any(w.isalpha() for w in words), words
    assert 0.0 <= bert.next_sentence("It rained.", "The street was wet.") <= 1.0


def test_the_app_opens_on_the_english_default_and_says_what_it_is(monkeypatch):
    from pathlib import Path

    from streamlit.testing.v1 import AppTest

    monkeypatch.delenv("BERTLAB_MODEL", raising=False)
    at = AppTest.from_file(str(Path(__file__).resolve().parent.parent / "app.py"),
                           default_timeout=180)
    at.query_params["masks"] = "11"  # "bed" in the default sentence
    at.switch_page("pages/masked_lm.py").run()
    assert not at.exception and not at.error
    info = defaults.manifest("offline-en")
    caption = " ".join(c.value for c in at.sidebar.caption).replace("\\", "")  # markdown escapes
    assert "all-MiniLM-L6-v2" in caption and f"{info['steps_done']} steps" in caption
    assert at.get("plotly_chart")  # the guesses for the masked word were drawn

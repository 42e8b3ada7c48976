"""The default models: the shipped offline ones are complete, load offline and answer sensibly,
and a missing one says how to build it; a real BERT of the language on disk comes first (the models
folder $BERTLAB_MODELS or the hub cache), and the app says how to get one while it is on an offline
default."""

from __future__ import annotations

from pathlib import Path

import pytest

import bertcore
from app_support import bar_lists
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
    """Nothing on disk (conftest: an empty hub cache, no $BERTLAB_MODELS): offline-en, and a line
    on the masked-word and start pages on how to get the real BERT."""
    from streamlit.testing.v1 import AppTest

    monkeypatch.delenv("BERTLAB_MODEL", raising=False)
    at = AppTest.from_file(APP, default_timeout=180)
    at.query_params["masks"] = "11"  # "bed" in the default sentence
    at.switch_page("pages/masked_lm.py").run()
    assert not at.exception and not at.error
    assert at.selectbox(key="w_model_choice").value == "offline-en"
    info = defaults.manifest("offline-en")
    caption = " ".join(c.value for c in at.sidebar.caption).replace("\\", "")  # markdown escapes
    assert "all-MiniLM-L6-v2" in caption and f"{info['steps_done']} steps" in caption
    (guesses,) = bar_lists(at)  # the guesses for the masked word were drawn
    assert guesses["title"] == "#11 (was “bed”)" and len(guesses["labels"]) == 5
    assert len(notes(at)) == 1 and "`python -m bertcore download bert-base-uncased`" in notes(at)[0]
    at.switch_page("pages/home.py").run()
    assert not at.exception and len(notes(at)) == 1


def test_the_chinese_default_points_to_bert_base_chinese(monkeypatch):
    from streamlit.testing.v1 import AppTest

    monkeypatch.delenv("BERTLAB_MODEL", raising=False)
    at = AppTest.from_file(APP, default_timeout=180)
    at.query_params["lang"] = "zh"
    at.run()
    assert not at.exception and at.selectbox(key="w_model_choice").value == "offline-zh"
    assert len(notes(at)) == 1 and "`python -m bertcore download bert-base-chinese`" in notes(at)[0]
    assert "当前是 **offline\\-zh**" in notes(at)[0]  # (the name, markdown-escaped)


# ----------------------------------------------------------------------------- a real BERT first

APP = str(Path(__file__).resolve().parent.parent / "app.py")


def notes(at) -> list[str]:
    """The offline note (ui.models.offline_note) in the page, in either language."""
    return [c.value for c in at.main.caption if "make models" in c.value]


@pytest.mark.parametrize("lang, on_disk, expected", [
    ("en", set(), "offline-en"),
    ("zh", set(), "offline-zh"),
    ("en", {"bert-base-cased"}, "bert-base-cased"),
    ("en", {"bert-base-cased", "bert-base-uncased"}, "bert-base-uncased"),  # the first of the list
    ("en", {"bert-base-chinese", "bert-base-multilingual-cased"}, "offline-en"),  # not English's
    ("zh", {"bert-base-uncased", "bert-base-chinese"}, "bert-base-chinese"),
    ("fr", {"bert-base-uncased"}, "offline-en"),  # a language with neither: English's offline
])
def test_a_real_bert_of_the_language_on_disk_comes_before_the_offline_default(lang, on_disk,
                                                                            expected):
    assert defaults.default_model(lang, on_disk) == expected


def test_the_models_folder_finds_checkpoints_and_BERTLAB_MODEL_still_wins(tmp_path, monkeypatch):
    from ui import state

    from app_support import write_app_checkpoint

    monkeypatch.delenv("BERTLAB_MODEL", raising=False)
    assert defaults.folder_models() == {} and state.default_model("en") == "offline-en"
    write_app_checkpoint(tmp_path / "bert-base-cased")
    (tmp_path / "notes").mkdir()  # a folder that is no checkpoint: left out
    (tmp_path / "README.txt").write_text("models for room 12", encoding="utf-8")
    monkeypatch.setenv("BERTLAB_MODELS", str(tmp_path))
    assert defaults.folder_models() == {"bert-base-cased": tmp_path / "bert-base-cased"}
    assert defaults.on_disk(defaults.HUB_MODELS) == {"bert-base-cased"}
    assert state.default_model("en") == "bert-base-cased"
    assert state.default_model("zh") == "offline-zh"
    assert defaults.resolve("bert-base-cased") == tmp_path / "bert-base-cased"
    monkeypatch.setenv("BERTLAB_MODEL", "/some/checkpoint")
    assert state.default_model("en") == state.default_model("zh") == "/some/checkpoint"


def test_the_app_opens_on_a_real_bert_in_the_models_folder_without_the_note(tmp_path,
                                                                            monkeypatch):
    from streamlit.testing.v1 import AppTest

    from app_support import write_app_checkpoint

    write_app_checkpoint(tmp_path / "bert-base-uncased")  # tiny, named like the real one
    write_app_checkpoint(tmp_path / "my-bert")
    monkeypatch.setenv("BERTLAB_MODELS", str(tmp_path))
    monkeypatch.delenv("BERTLAB_MODEL", raising=False)
    at = AppTest.from_file(APP, default_timeout=180)
    at.switch_page("pages/masked_lm.py").run()
    assert not at.exception and not at.error and not at.warning
    picker = at.selectbox(key="w_model_choice")
    assert picker.value == "bert-base-uncased"
    assert any("2 layers · 4 heads" in c.value for c in at.sidebar.caption)
    assert not notes(at)
    labels = picker.options  # (as shown)
    assert {"bert-base-uncased (models folder, on disk)", "my-bert (models folder, on disk)",
            "bert-base-chinese (Hugging Face hub, needs a network once)"} <= set(labels)
    assert sum("bert-base-uncased" in x for x in labels) == 1  # not again as a hub model
    at.switch_page("pages/home.py").run()
    assert not at.exception and not notes(at)

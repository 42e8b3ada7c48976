"""The view state a teacher can trust (ui/state.py): the UI language and the model are separate
choices, and token positions (masks, query token, window) never move onto other tokens.

The app runs under AppTest with two tiny local checkpoints as the languages' default models: an
English one (the app tests' word vocabulary) and a "Chinese" one whose vocabulary is characters and
single letters, so that English typed under it falls apart into "m ##y b ##r ##o…", as it did
under offline-zh before these rules.
"""

from __future__ import annotations

import logging

import pytest

import app_support

import bertcore

from app_support import write_app_checkpoint
from conftest import SPECIALS, write_checkpoint

pytest.importorskip("streamlit.testing.v1")

TIMEOUT = 120
LETTERS = "abcdefghijklmnopqrstuvwxyz"
ZH_VOCAB = SPECIALS + list("。，今天我们去北京旅游春年的猫它") + list(LETTERS) + [
    f"##{c}" for c in LETTERS] + list("0123456789") + [f"##{d}" for d in "0123456789"]
TYPED = "the dog barked on the street ."  # words of the English vocabulary, letters in the other

for _name in ("streamlit.runtime.scriptrunner_utils.script_run_context",
              "streamlit.runtime.state.session_state_proxy"):
    logging.getLogger(_name).setLevel(logging.ERROR)


@pytest.fixture(scope="module")
def two_models(tmp_path_factory) -> dict[str, str]:
    en = write_app_checkpoint(tmp_path_factory.mktemp("state-en"))
    zh = tmp_path_factory.mktemp("state-zh")
    write_checkpoint(zh, vocab_size=len(ZH_VOCAB))
    (zh / "vocab.txt").write_text("\n".join(ZH_VOCAB) + "\n", encoding="utf-8")
    return {"en": str(en), "zh": str(zh)}


@pytest.fixture(scope="module")
def third_model(tmp_path_factory) -> str:
    """A model that is no language's default (one a teacher picked)."""
    return str(write_app_checkpoint(tmp_path_factory.mktemp("state-picked")))


@pytest.fixture(autouse=True)
def _defaults(two_models, monkeypatch):
    """Each language's default model is its own tiny checkpoint (no $BERTLAB_MODEL, which would
    be the default of both)."""
    from bertcore import defaults

    monkeypatch.delenv("BERTLAB_MODEL", raising=False)
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setattr(defaults, "DEFAULT_MODEL", dict(two_models))
    _language_outside_runs(monkeypatch)


def _language_outside_runs(monkeypatch) -> None:
    """AppTest formats widget options between runs, where ``i18n.lang()`` can only say "en" (as
    in test_pages.py): outside a run, answer with the language of the last run."""
    from streamlit.runtime.scriptrunner_utils.script_run_context import get_script_run_ctx

    from ui import i18n

    inside, last = i18n.lang, ["en"]

    def lang() -> str:
        if get_script_run_ctx(suppress_warning=True) is not None:
            last[0] = inside()
        return last[0]

    monkeypatch.setattr(i18n, "lang", lang)


def run(at):
    return app_support.run(at, TIMEOUT)


def open_app(page: str = "home", **query):
    return app_support.open_app(page, TIMEOUT, **query)


def model(at) -> str:
    return at.selectbox(key="w_model_choice").value


def pill_labels(at) -> dict[int, str]:
    """Position -> label of the masked-words page's pills (the tokens a mask can go on)."""
    pills = at.pills(key="w_masks")
    labels = {}
    for i in range(1, 64):
        try:
            labels[i] = pills.format_func(i)
        except IndexError:
            break
    return {i: lab for i, lab in labels.items() if lab in pills.options}


def switch_language(at, lang: str):
    return run(at.segmented_control(key="w_lang").set_value(lang))


# ----------------------------------------------------------------------------- the language

def test_a_typed_sentence_keeps_its_words_its_model_and_its_masks(two_models):
    at = open_app("masked_lm")
    run(at.text_area(key="w_sentence").input(TYPED))
    dog = next(i for i, lab in pill_labels(at).items() if lab == "dog")
    run(at.pills(key="w_masks").set_value([dog]))

    switch_language(at, "zh")
    assert at.title[0].value == "掩码预测"  # the interface is Chinese ...
    assert at.text_area(key="w_sentence").value == TYPED  # ... the sentence is the user's,
    assert model(at) == two_models["en"]  # read by the same model
    assert at.query_params["model"] == two_models["en"]  # (the URL says so: not zh's default)
    assert at.pills(key="w_masks").value == [dog]
    assert pill_labels(at)[dog] == "dog"
    assert not any(lab.startswith("##") for lab in pill_labels(at).values())


def test_the_default_sentence_takes_the_model_along_and_drops_its_masks(two_models):
    at = open_app("masked_lm", masks="2")
    assert at.pills(key="w_masks").value == [2]
    switch_language(at, "zh")
    assert at.text_area(key="w_sentence").value == "2024年春天，我们去北京旅游。"
    assert model(at) == two_models["zh"]
    # not the English mask carried over: the Chinese default's own word to guess
    zh = bertcore.load(two_models["zh"], device="cpu").encode("2024年春天，我们去北京旅游。").tokens
    assert at.pills(key="w_masks").value == [zh.index("京")] != [2]
    assert at.query_params["masks"] == str(zh.index("京"))
    switch_language(at, "en")  # and back
    assert at.text_area(key="w_sentence").value == "The toddler was sleepy, so she went to bed."
    assert model(at) == two_models["en"]


def test_a_typed_second_sentence_keeps_the_input_as_it_is(two_models):
    at = open_app("next_sentence")
    run(at.text_area(key="w_pair").input("the dog barked ."))
    switch_language(at, "zh")
    assert at.text_area(key="w_sentence").value == "The toddler was sleepy, so she went to bed."
    assert at.text_area(key="w_pair").value == "the dog barked ."
    assert model(at) == two_models["en"]


def test_a_model_chosen_by_hand_stays_when_the_sentence_follows_the_language(third_model):
    at = open_app("home", model=third_model)
    switch_language(at, "zh")
    assert at.text_area(key="w_sentence").value == "2024年春天，我们去北京旅游。"
    assert model(at) == third_model
    switch_language(at, "en")
    assert at.text_area(key="w_sentence").value == "The toddler was sleepy, so she went to bed."
    assert model(at) == third_model


# ----------------------------------------------------------------------------- token positions

def test_an_edit_after_a_mask_keeps_it_and_one_before_drops_it():
    at = open_app("masked_lm", text="the cat sat on the mat .", masks="2,6")
    assert at.pills(key="w_masks").value == [2, 6]
    run(at.text_area(key="w_sentence").input("the cat sat on the mat . it rained ."))
    assert at.pills(key="w_masks").value == [2, 6]
    run(at.text_area(key="w_sentence").input("the cat sat on a mat . it rained ."))
    assert at.pills(key="w_masks").value == [2]  # "the" at 5 became "a": the mask on 6 goes
    assert at.query_params["masks"] == "2"
    run(at.text_area(key="w_sentence").input("a cat sat on a mat ."))
    assert at.pills(key="w_masks").value == [] and "masks" not in at.query_params


def test_a_second_sentence_moves_no_mask_of_the_first():
    at = open_app("masked_lm", text="the cat sat on the mat .", masks="3")
    run(at.text_area(key="w_pair").input("it rained ."))
    assert at.pills(key="w_masks").value == [3]


def test_query_and_window_follow_the_same_rule():
    at = open_app("tokenization", text="the cat sat on the mat .", query=4, window=2)
    assert at.query_params["query"] == "4" and at.query_params["window"] == "2"
    run(at.text_area(key="w_sentence").input("the cat sat on the mat . it rained ."))
    assert at.query_params["query"] == "4" and at.query_params["window"] == "2"
    run(at.text_area(key="w_sentence").input("the dog sat on the mat ."))
    assert "query" not in at.query_params and "window" not in at.query_params


def test_another_model_drops_every_position(two_models):
    at = open_app("masked_lm", text="the cat sat on the mat .", masks="2")
    run(at.selectbox(key="w_model_choice").select("__other__"))
    run(at.text_input(key="w_model_custom").input(two_models["zh"]))
    assert model(at) == two_models["zh"]
    assert at.pills(key="w_masks").value == [] and "masks" not in at.query_params


# ----------------------------------------------------------------------------- the pure rule

@pytest.mark.parametrize("old, new, n", [
    (["[CLS]", "a", "b", "[SEP]"], ["[CLS]", "a", "b", "[SEP]"], 4),
    (["[CLS]", "a", "b", "[SEP]"], ["[CLS]", "a", "c", "[SEP]"], 2),
    (["[CLS]", "a", "[SEP]"], ["[CLS]", "a", "b", "[SEP]"], 2),
    (["[CLS]", "a"], None, 0),
])
def test_unchanged_prefix(old, new, n):
    from ui import state

    assert state.unchanged_prefix(old, new) == n

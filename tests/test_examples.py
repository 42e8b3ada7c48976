"""The "try these" examples (examples/examples.toml, bertcore/examples.py, ui/examples.py).

* the data file: its format, both languages, every page that reads the sentence, a reason in every
  locale file, and bad files refused with the line at fault;
* the claims: the offline model each example is offered with still shows what it says (a split
  word splits, a hidden word is in the top 3, a pair is on its side of 0.5, a head looks where the
  caption says), and the default sentences have their split word and their word to mask;
* the sidebar: the examples of the model's language for the page on screen, and a click that sets
  the input (and masks, query token, layer, head, section) through the state and the URL.
"""

from __future__ import annotations

import logging
import tomllib
from pathlib import Path

import pytest

import app_support

import bertcore
from bertcore import examples
from ui import i18n

REPO = Path(__file__).resolve().parent.parent
DATA = examples.load()
MODELS = {"en": "offline-en", "zh": "offline-zh"}
SENTENCE_PAGES = ("tokenization", "embeddings", "attention", "masked_lm", "next_sentence")
TIMEOUT = 180

for _name in ("streamlit.runtime.scriptrunner_utils.script_run_context",
              "streamlit.runtime.state.session_state_proxy"):
    logging.getLogger(_name).setLevel(logging.ERROR)


# ----------------------------------------------------------------------------- the data file

def test_both_languages_offer_examples_on_every_page_that_reads_the_sentence():
    for lang in MODELS:
        for page in SENTENCE_PAGES:
            assert DATA.for_page(page, lang), f"no {lang} example on {page}"


def test_every_page_named_exists_and_kinds_fit_their_pages():
    for ex in DATA.examples:
        for page in ex.pages:
            assert (REPO / "pages" / f"{page}.py").is_file(), (ex.id, page)
    for lang in MODELS:
        kinds = {page: {ex.kind for ex in DATA.for_page(page, lang)} for page in SENTENCE_PAGES}
        assert {"split", "unknown", "chars"} <= kinds["tokenization"], lang
        assert kinds["attention"] == {"attend"} and kinds["masked_lm"] == {"mask"}, lang
        answers = {ex.expect for ex in DATA.for_page("next_sentence", lang)}
        assert answers == {"is_next", "not_next"}, lang  # one that follows, one that does not


def test_every_example_has_a_reason_in_every_language():
    for ex in DATA.examples:
        texts = i18n.STRINGS.get(f"ex.{ex.id}")
        assert texts and set(texts) == set(i18n.LANGS), ex.id
    reasons = {k for k in i18n.STRINGS if k.startswith("ex.")} - {"ex.title", "ex.help"}
    assert reasons == {f"ex.{ex.id}" for ex in DATA.examples}, "a reason for no example"


def test_the_defaults_table_names_each_language():
    assert set(DATA.defaults) == set(i18n.LANGS)


@pytest.mark.parametrize("text, error", [
    ('[[example]]\nid = "a"\nlang = "en"\npages = ["tokenization"]\nkind = "split"\n'
     'text = "x"\n', "needs 'word'"),
    ('[[example]]\nid = "a"\nlang = "en"\npages = ["tokenization"]\nkind = "guess"\n'
     'text = "x"\n', "kind must be one of"),
    ('[[example]]\nid = "a"\nlang = "en"\npages = ["masked_lm"]\nkind = "mask"\n'
     'text = "x"\nword = "x"\nmasks = [1]\n', "unknown keys"),
    ('[[example]]\nid = "a"\nlang = "en"\npages = ["next_sentence"]\nkind = "nsp"\n'
     'text = "x"\npair = "y"\nexpect = "maybe"\n', "expect must be one of"),
    ('[[example]]\nid = "a b"\nlang = "en"\npages = ["tokenization"]\nkind = "chars"\n'
     'text = "x"\n', "letters, digits"),
    ('[[example]]\nid = "a"\nlang = "en"\npages = "attention"\nkind = "chars"\ntext = "x"\n',
     "pages must be a list"),
    ('[[example]]\nid = "a"\nlang = "en"\npages = ["attention"]\nkind = "attend"\ntext = "x"\n'
     'query = "x"\nexpect = "x"\nlayer = -1\nhead = 0\n', "whole numbers"),
    ('[[example]]\nid = "a"\nlang = "en"\npages = ["t"]\nkind = "chars"\ntext = "x"\n'
     '[[example]]\nid = "a"\nlang = "en"\npages = ["t"]\nkind = "chars"\ntext = "y"\n',
     "used twice"),
    ('[defaults.en]\nsplit = "x"\n', "split and mask"),
    ('[[example]\n', "examples.toml"),
])
def test_a_bad_file_is_refused_with_what_is_wrong(tmp_path, text, error):
    path = tmp_path / "examples.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ValueError, match=error):
        examples.load(path)


def test_find_counts_occurrences_and_skips_a_run():
    tokens = ["[CLS]", "tea", "and", "green", "tea", "[SEP]"]
    assert examples.find(tokens, ["tea"]) == 1
    assert examples.find(tokens, ["tea"], nth=2) == 4
    assert examples.find(tokens, ["tea"], nth=3) is None
    assert examples.find(tokens, ["tea"], skip=1) == 4
    assert examples.find(tokens, ["green", "tea"]) == 3
    assert examples.find(tokens, []) is None


# ----------------------------------------------------------------------------- the claims

@pytest.fixture(scope="module")
def offline():
    return {lang: bertcore.load(name, device="cpu") for lang, name in MODELS.items()}


@pytest.mark.parametrize("ex", DATA.examples, ids=lambda ex: ex.id)
def test_each_example_still_shows_what_it_claims(offline, ex):
    found = examples.check(ex, offline[ex.lang])
    assert found.ok, f"{ex.id} on {MODELS[ex.lang]}: {found.measured}"


@pytest.mark.parametrize("lang", list(MODELS))
def test_the_default_sentence_splits_a_word_and_has_a_word_to_mask(offline, lang):
    sentence, claims = i18n.default_sentence(lang), DATA.defaults[lang]
    for kind in ("split", "mask"):
        ex = examples.Example(id="default", lang=lang, pages=("home",), kind=kind,
                              text=sentence, word=claims[kind])
        found = examples.check(ex, offline[lang])
        assert found.ok, f"{lang} default sentence, {kind} {claims[kind]!r}: {found.measured}"


def test_a_claim_that_does_not_hold_is_caught(offline):
    """The checks can fail: each kind on an input that does not show it."""
    en = offline["en"]
    wrong = [
        examples.Example("x", "en", ("t",), "split", "the cat sat", word="cat"),
        examples.Example("x", "en", ("t",), "unknown", "the cat sat", word="cat"),
        examples.Example("x", "en", ("t",), "chars", "the cat sat"),
        examples.Example("x", "en", ("t",), "repeat", "the cat sat", word="cat"),
        examples.Example("x", "en", ("t",), "mask", "I brushed my teeth and went to bed.",
                         word="teeth"),  # rank 5 on offline-en
        examples.Example("x", "en", ("t",), "nsp", "I went to the store to buy some milk.",
                         pair="Penguins cannot fly, but they swim very well.", expect="is_next"),
        examples.Example("x", "en", ("t",), "attend",
                         "The animal didn't cross the street because it was too tired.",
                         query="it", expect="street", layer=2, head=4),
        examples.Example("x", "en", ("t",), "attend", "the cat sat", query="dog", expect="cat"),
    ]
    for ex in wrong:
        assert not examples.check(ex, en).ok, ex


# ----------------------------------------------------------------------------- the sidebar

pytest.importorskip("streamlit.testing.v1")  # the sidebar tests run the app in AppTest


@pytest.fixture
def offline_app(monkeypatch):
    """The app on the offline defaults (the models the examples are offered with)."""
    monkeypatch.delenv("BERTLAB_MODEL", raising=False)
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")


def run(at):
    return app_support.run(at, TIMEOUT)


def open_app(page: str = "home", **query):
    return app_support.open_app(page, TIMEOUT, **query)


def example_buttons(at) -> dict[str, object]:
    return {b.key.removeprefix("ex_"): b for b in at.sidebar.button if b.key.startswith("ex_")}


def test_the_sidebar_offers_the_pages_examples_with_their_reasons(offline_app):
    at = open_app("tokenization")
    shown = example_buttons(at)
    assert list(shown) == [ex.id for ex in DATA.for_page("tokenization", "en")]
    captions = [c.value for c in at.sidebar.caption]
    assert i18n.STRINGS["ex.en_unknown"]["en"] in captions
    assert shown["en_split"].label == "Snowboarding is unbelievably fun\\."
    run(at.switch_page("pages/fine_tuning.py"))
    assert not example_buttons(at)  # a page that does not read the sentence offers none


def test_clicking_an_example_sets_the_input(offline_app):
    at = open_app("tokenization", pair="it rained .")
    run(example_buttons(at)["en_split"].click())
    assert at.text_area(key="w_sentence").value == "Snowboarding is unbelievably fun."
    assert at.text_area(key="w_pair").value == ""  # an example is a whole input
    assert at.query_params["text"] == "Snowboarding is unbelievably fun."
    assert "pair" not in at.query_params
    assert "##bly" in at.main.get("html")[0].value  # the page shows the pieces


def test_a_masked_word_example_masks_its_word(offline_app):
    at = open_app("masked_lm")
    run(example_buttons(at)["en_mask_bed"].click())
    assert at.query_params["text"] == "I brushed my teeth and went to bed."
    assert at.query_params["masks"] == "8"  # [CLS] i brushed my teeth and went to bed
    assert at.pills(key="w_masks").value == [8]
    assert "Top 5 guesses for each hidden spot" in [s.value for s in at.subheader]


def test_an_attention_example_opens_its_head_section_and_query(offline_app):
    at = open_app("attention", section="summary", layer=5, query=3)
    run(example_buttons(at)["en_pronoun"].click())
    q = at.query_params
    assert (q["layer"], q["head"], q["section"]) == ("2", "4", "head")
    assert q["query"] == "10"  # [CLS] the animal didn ' t cross the street because it
    assert at.selectbox(key="w_layer").value == 2 and at.selectbox(key="w_head").value == 4


def test_a_pair_example_sets_both_sentences(offline_app):
    at = open_app("next_sentence")
    run(example_buttons(at)["en_random"].click())
    assert at.text_area(key="w_sentence").value == "I went to the store to buy some milk."
    assert at.text_area(key="w_pair").value == "Penguins cannot fly, but they swim very well."
    assert any("P(B follows A)" in c.proto.spec for c in at.get("plotly_chart"))


def test_examples_follow_the_model_not_the_interface(offline_app):
    zh = open_app("masked_lm", lang="zh")  # Chinese UI, default sentence: offline-zh
    assert list(example_buttons(zh)) == [ex.id for ex in DATA.for_page("masked_lm", "zh")]
    assert i18n.STRINGS["ex.zh_mask_capital"]["zh"] in [c.value for c in zh.sidebar.caption]
    # A Chinese interface over offline-en (an English sentence): English examples, Chinese reasons.
    mixed = open_app("masked_lm", lang="zh", model="offline-en", text="the dog barked .")
    assert list(example_buttons(mixed)) == [ex.id for ex in DATA.for_page("masked_lm", "en")]
    assert i18n.STRINGS["ex.en_mask_bed"]["zh"] in [c.value for c in mixed.sidebar.caption]


def test_the_data_file_is_plain_toml():
    with open(examples.DATA, "rb") as fh:
        raw = tomllib.load(fh)
    assert len(raw["example"]) == len(DATA.examples)

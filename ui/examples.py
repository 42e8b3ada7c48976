"""The sidebar's "Try these": the examples of ``examples/examples.toml`` for the page on screen.

The examples shown are those of the language of the model in use (offline-en and the English hub
models read English, offline-zh and bert-base-chinese Chinese; any other model: the UI language),
because each was picked by running that language's model on it; the reason under each is in the
UI language. Clicking one sets the whole input through ``state.update``: the sentence, the second
sentence (or none), the masked word and the query token as positions in the current model's
tokens, and the layer, head and page section the example names::

    examples.sidebar("masked_lm")   # in app.py's sidebar, under the sentence boxes

:func:`default_mask` is where the masked-words page hides a word of a language's default sentence
(``[defaults.<lang>] mask``), so that the page opens on a guess; :func:`word_to_hide` is the word
the lesson hides (that one, else the first content word), also asked about in a class question.
"""

from __future__ import annotations

import streamlit as st

from bertcore import defaults
from bertcore import examples as data
from bertcore.attention import content_word

from . import models, state
from .i18n import LANGS, default_sentence, md_escape, t

# Models whose language is known; any other model gets the examples of the UI language.
MODEL_LANGS = {**{name: lang for lang, name in defaults.DEFAULT_MODEL.items()},
               "bert-base-uncased": "en", "bert-base-cased": "en", "bert-base-chinese": "zh"}
ICONS = {"split": ":material/content_cut:", "unknown": ":material/help:",
         "chars": ":material/translate:", "repeat": ":material/repeat:",
         "mask": ":material/visibility_off:", "nsp": ":material/swap_horiz:",
         "attend": ":material/hub:"}
LABEL_CHARS = 60  # a button shows this much of the example's text


@st.cache_resource(show_spinner=False)
def _examples() -> data.Examples:
    return data.load()


def examples_lang(model: str, ui_lang: str) -> str:
    """The language of the examples to offer with ``model``."""
    return MODEL_LANGS.get(model, ui_lang)


def label(example: data.Example) -> str:
    """A button's text: the example's text (and second sentence), shortened, as plain text."""
    text = f"{example.text} → {example.pair}" if example.pair else example.text
    if len(text) > LABEL_CHARS:
        text = text[:LABEL_CHARS - 1].rstrip() + "…"
    return md_escape(text)


def apply(example: data.Example) -> None:
    """on_click of an example: its input (and section, layer, head) into the state and the URL."""
    changes: dict[str, object] = {"sentence": example.text, "pair": example.pair, "masks": [],
                                  "query": state.State().query, "window": 0}
    if example.section:
        changes["section"] = example.section
    if example.kind == "attend":
        changes.update(layer=example.layer, head=example.head)
    try:
        bert = models.loaded(state.current().model)
        enc = bert.encode(example.text, example.pair or None)
        changes.update(data.positions(example, bert.tokenizer, enc.tokens))
    except Exception:  # the model failed to load: the input alone; the page says what is wrong
        pass
    state.update(**changes)


def default_mask(model: str, sentence: str) -> int | None:
    """The position of the word to hide when ``sentence`` is a language's default sentence, as
    ``model`` reads it (None for any other sentence, or when the model splits the word)."""
    lang = next((lang for lang in LANGS if default_sentence(lang) == sentence), None)
    word = _examples().defaults.get(lang, {}).get("mask")
    if word is None:
        return None
    tokenizer = models.loaded(model).tokenizer
    pieces = tokenizer.tokenize(word)
    if len(pieces) != 1 or pieces[0] == tokenizer.unk_token:
        return None
    return data.find(models.encode(model, sentence, None).tokens, pieces)


def word_to_hide(model: str, sentence: str, pair: str | None, enc) -> int | None:
    """The position the lesson hides in its masked-word chapters: the default sentence's word
    (:func:`default_mask`, with no second sentence), else the first content word; None for an
    input of special tokens only.

    Args:
        enc: the input as ``model`` reads it (``models.encode(model, sentence, pair)``).
    """
    special = enc.special_tokens_mask
    hide = default_mask(model, sentence) if not pair else None
    if hide is None or hide >= len(enc.tokens) or special[hide]:
        hide = content_word(enc.tokens, special, enc.word_ids)
    return hide


def sidebar(page: str) -> None:
    """The examples ``page`` offers, as buttons with their reasons (nothing when it has none)."""
    s = state.current()
    lang = examples_lang(s.model, s.lang)
    offered = _examples().for_page(page, lang)
    if not offered:
        return
    st.markdown(f"**{t('ex.title')}**",
                help=t("ex.help", model=defaults.DEFAULT_MODEL.get(lang, s.model)))
    for ex in offered:
        st.button(label(ex), key=f"ex_{ex.id}", icon=ICONS[ex.kind], on_click=apply, args=(ex,),
                  width="stretch")
        st.caption(t(f"ex.{ex.id}", layer=ex.layer, head=ex.head))

"""Every string a user reads, one file per language: ``locales/<code>.toml``.

A locale file has a ``[language]`` table (``name``, shown in the sidebar's language switch, and
``default_sentence``, the sentence the app opens on), then one table per key prefix whose keys are
the rest of the key: ``t("side.sentence")`` is ``sentence`` in ``[side]``, ``t("attn.sec.head")``
is ``"sec.head"`` (quoted) in ``[attn]``. Pages draw them with ``t``::

    from ui.i18n import t
    st.title(t("attn.title"))
    st.caption(t("tok.count", words=9, tokens=12, special=2))   # str.format(**fmt)

Every file is read once, at import. Adding a language = adding one file ``locales/<code>.toml``
with the same keys as ``en.toml`` (and the same ``{placeholders}`` in each text);
``tests/test_i18n.py`` names any key missing or extra in a file. The language shown is the one in
the view state (``ui.state``), chosen in the sidebar and kept in the URL.
"""

from __future__ import annotations

import tomllib
from contextvars import ContextVar
from dataclasses import dataclass
from pathlib import Path

LOCALES = Path(__file__).resolve().parent.parent / "locales"  # the repository's locales/
SOURCE = "en"  # the language every other one is checked against, and falls back to


@dataclass(frozen=True)
class Locales:
    """What a locales folder holds."""

    langs: tuple[str, ...]  # the file stems, English first, then sorted
    names: dict[str, str]  # lang -> its [language] name
    sentences: dict[str, str]  # lang -> its [language] default_sentence
    strings: dict[str, dict[str, str]]  # key -> {lang: text}, keys in en.toml's order


def load_locales(folder: Path = LOCALES) -> Locales:
    """Reads every ``<code>.toml`` in ``folder``.

    Raises:
        ValueError: a file is not TOML, has no ``[language] name``, or has a value that is not a
            text inside a table (e.g. ``sec.head = ...`` unquoted, which TOML reads as a table).
    """
    files = sorted(folder.glob("*.toml"), key=lambda f: (f.stem != SOURCE, f.stem))
    names, sentences, strings = {}, {}, {}
    for file in files:
        lang = file.stem
        try:
            with file.open("rb") as fh:
                data = tomllib.load(fh)
        except tomllib.TOMLDecodeError as e:  # its message has the line, not the file
            raise ValueError(f"{file}: {e}") from e
        language = data.pop("language", {})
        if not isinstance(language.get("name"), str) or not language["name"]:
            raise ValueError(f"{file}: no [language] name")
        names[lang] = language["name"]
        if isinstance(language.get("default_sentence"), str):
            sentences[lang] = language["default_sentence"]
        for table, entries in data.items():
            if not isinstance(entries, dict):
                raise ValueError(f"{file}: {table!r} is outside a table")
            for rest, text in entries.items():
                if not isinstance(text, str):
                    raise ValueError(f"{file}: [{table}] {rest} is not a text (quote a key "
                                     f'with dots: "{rest}.…" = "…")')
                strings.setdefault(f"{table}.{rest}", {})[lang] = text
    return Locales(tuple(f.stem for f in files), names, sentences, strings)


_LOCALES = load_locales()
LANGS = _LOCALES.langs
LANG_NAMES = _LOCALES.names
STRINGS: dict[str, dict[str, str]] = _LOCALES.strings


def default_sentence(lang: str) -> str:
    """The sentence the app opens on in ``lang`` (English's for a language without one)."""
    return _LOCALES.sentences.get(lang) or _LOCALES.sentences.get(SOURCE, "")


# This run's ``ui.state.State``: a page asks for the language ~100 times a run (every ``t``), and
# reading it from st.session_state each time cost ~8 % of a run. The State object is changed in
# place (``state.update``), so holding it keeps its language current; a run's thread belongs to one
# session (Streamlit runs each session's runs in its own threads).
_RUN_STATE: ContextVar = ContextVar("bertlab_run_state", default=None)


def lang() -> str:
    """The current UI language, one of ``LANGS`` (English outside a Streamlit session)."""
    current = _RUN_STATE.get()
    if current is None:
        try:
            from . import state

            current = state.current()
        except Exception:  # no session yet (imports, plain tests)
            return SOURCE
        _RUN_STATE.set(current)
    return current.lang if current.lang in LANGS else SOURCE


def t(key: str, **fmt) -> str:
    """The text for ``key`` in the current language, ``.format(**fmt)``-ed.

    An unknown key shows as the key itself (visible, never a crash); a language that lacks the key
    shows the English text; a format error leaves the text unformatted.
    """
    texts = STRINGS.get(key)
    if texts is None:
        return key
    text = texts.get(lang()) or texts.get(SOURCE) or key
    if fmt:
        try:
            return text.format(**fmt)
        except (KeyError, IndexError, ValueError):
            return text
    return text


def missing_translations() -> list[str]:
    """Keys that some language lacks (or has empty); tests/test_i18n.py names the file too."""
    return sorted(k for k, v in STRINGS.items() if any(not v.get(lg) for lg in LANGS))


_MD_SPECIAL = "\\`*_{}[]<>()#+-.!|~$:"


def md_escape(text: str) -> str:
    """``text`` with Markdown's special characters escaped, for user text inside st.markdown.

    (Streamlit never runs HTML in Markdown without unsafe_allow_html; this keeps "**" or "[x](y)"
    in a sentence from turning into formatting or links.)
    """
    return "".join("\\" + ch if ch in _MD_SPECIAL else ch for ch in str(text))

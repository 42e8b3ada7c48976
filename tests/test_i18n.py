"""The locale files: every language has exactly English's keys, the same placeholders, no empty
text, a name and a default sentence; a file dropped into locales/ is a new language."""

import shutil
import string
import tomllib
from types import SimpleNamespace

import pytest

from ui import i18n, state

FILES = sorted(i18n.LOCALES.glob("*.toml"))
OTHERS = [f for f in FILES if f.stem != "en"]


def read(file) -> tuple[dict, dict[str, object]]:
    """A locale file's [language] table and its texts as {"table.key": value}."""
    with file.open("rb") as fh:
        data = tomllib.load(fh)
    language = data.pop("language", {})
    texts = {}
    for table, entries in data.items():
        if not isinstance(entries, dict):  # a text outside any table
            texts[table] = entries
            continue
        for key, value in entries.items():
            texts[f"{table}.{key}"] = value
    return language, texts


def placeholders(text: str) -> set[str]:
    """The names of the {fields} that str.format fills in ``text``."""
    return {name for _, name, _, _ in string.Formatter().parse(text) if name is not None}


ENGLISH = read(i18n.LOCALES / "en.toml")[1]


def test_english_and_chinese_are_there():
    assert {"en", "zh"} <= {f.stem for f in FILES}
    assert i18n.LANGS[0] == "en" and set(i18n.LANGS) == {f.stem for f in FILES}
    assert len(ENGLISH) > 400


@pytest.mark.parametrize("file", OTHERS, ids=lambda f: f.name)
def test_same_keys_as_english(file):
    texts = read(file)[1]
    missing = [k for k in ENGLISH if k not in texts]
    extra = [k for k in texts if k not in ENGLISH]
    assert not missing and not extra, (f"{file.name}: missing keys {missing}, "
                                       f"keys that en.toml lacks {extra}")


@pytest.mark.parametrize("file", FILES, ids=lambda f: f.name)
def test_every_text_is_a_non_empty_string(file):
    for key, text in read(file)[1].items():
        # an unquoted dotted key (sec.head = ...) reads as a table, not a text
        assert isinstance(text, str), f"{file.name}: {key} is not a text (quote dotted keys)"
        assert text.strip(), f"{file.name}: {key} is empty"


@pytest.mark.parametrize("file", OTHERS, ids=lambda f: f.name)
def test_same_placeholders_as_english(file):
    for key, text in read(file)[1].items():
        if key in ENGLISH:
            assert placeholders(text) == placeholders(ENGLISH[key]), f"{file.name}: {key}"


@pytest.mark.parametrize("file", FILES, ids=lambda f: f.name)
def test_a_name_and_a_default_sentence(file):
    language = read(file)[0]
    assert isinstance(language.get("name"), str) and language["name"], file.name
    sentence = language.get("default_sentence")
    assert isinstance(sentence, str) and sentence.strip(), file.name
    assert i18n.LANG_NAMES[file.stem] == language["name"]
    assert i18n.default_sentence(file.stem) == sentence


def test_strings_hold_every_language_of_every_key():
    assert list(i18n.STRINGS) == list(ENGLISH)
    assert all(set(texts) == set(i18n.LANGS) for texts in i18n.STRINGS.values())
    assert not i18n.missing_translations()


def test_a_new_file_is_a_new_language(tmp_path):
    for file in FILES:
        shutil.copy(file, tmp_path)
    text = (i18n.LOCALES / "en.toml").read_text(encoding="utf-8")
    text = text.replace('name = "English"', 'name = "Français"', 1)
    (tmp_path / "fr.toml").write_text(text, encoding="utf-8")

    loaded = i18n.load_locales(tmp_path)
    assert loaded.langs[0] == "en" and "fr" in loaded.langs
    assert loaded.langs == ("en", *sorted({*i18n.LANGS[1:], "fr"}))  # English first, then sorted
    assert loaded.names["fr"] == "Français"
    assert loaded.strings["side.language"]["fr"] == "Language"
    assert i18n.load_locales().langs == i18n.LANGS  # the app's LANGS come from the same function


def test_an_unquoted_dotted_key_is_refused(tmp_path):
    (tmp_path / "en.toml").write_text('[language]\nname = "English"\n\n[attn]\nsec.head = "One"\n',
                                      encoding="utf-8")
    with pytest.raises(ValueError, match="sec"):
        i18n.load_locales(tmp_path)


def test_unknown_key_and_missing_language(monkeypatch):
    monkeypatch.setitem(i18n.STRINGS, "test.only_english", {"en": "Hello {name}"})
    monkeypatch.setattr(i18n, "lang", lambda: "zh")
    assert i18n.t("test.only_english", name="Ada") == "Hello Ada"
    assert i18n.t("test.no_such_key") == "test.no_such_key"
    assert i18n.t("side.language") == "语言"


@pytest.mark.parametrize("locale, lang", [("zh-CN", "zh"), ("zh", "zh"), ("en-GB", "en"),
                                          ("fr-FR", "en"), ("", "en"), (None, "en")])
def test_browser_locale_picks_a_language(monkeypatch, locale, lang):
    monkeypatch.setattr(state, "st", SimpleNamespace(context=SimpleNamespace(locale=locale)))
    assert state._browser_lang() == lang


def test_browser_locale_picks_any_available_language(monkeypatch):
    monkeypatch.setattr(state, "st", SimpleNamespace(context=SimpleNamespace(locale="fr-CA")))
    monkeypatch.setattr(state, "LANGS", ("en", "fr", "zh"))
    assert state._browser_lang() == "fr"

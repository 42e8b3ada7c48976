"""The lesson page (pages/lesson.py) with Streamlit's AppTest on the tiny checkpoint: every chapter
renders in English and Chinese with its question; each question, answered with the model's own
answer, says right, and answered otherwise, says not this time; Back/Next, the chapter list and
the URL; the links to the full pages carry the view; an empty sentence, a long paste, a model
without a masked-LM head and an input with no words say so; presenter mode."""

from __future__ import annotations

import logging
import re
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest

from app_support import write_app_checkpoint
from conftest import write_checkpoint
from test_pages import _language_outside_runs

AppTest = pytest.importorskip("streamlit.testing.v1").AppTest

APP = str(Path(__file__).resolve().parent.parent / "app.py")
TIMEOUT = 120
CAT = "the cat sat on the mat because it was tired ."
TITLES = {"en": ["Why a bidirectional encoder", "The input", "The encoder layer",
                 "The two pretraining tasks", "Fine-tuning", "The attention formulas"],
          "zh": ["为什么是双向编码器", "输入表示", "编码器层", "两个预训练任务", "微调",
                 "注意力公式"]}
# chapter -> its questions' ids (the widgets' keys are lesson_q_<id>_in)
QUESTIONS = {1: ["why"], 2: ["pieces", "layer1"], 3: ["layer"], 4: ["mlm"], 5: ["nsp"],
             6: ["attend", "off"]}
REVEAL = {"en": "Reveal", "zh": "揭晓"}
RIGHT = {"en": "Right: the model agrees with you.", "zh": "猜对了：模型和你想的一样。"}
WRONG = {"en": "Not this time", "zh": "这次没猜中"}

for _name in ("streamlit.runtime.scriptrunner_utils.script_run_context",
              "streamlit.runtime.state.session_state_proxy"):
    logging.getLogger(_name).setLevel(logging.ERROR)


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory) -> Path:
    return write_app_checkpoint(tmp_path_factory.mktemp("lesson-bert"))


@pytest.fixture(autouse=True)
def _env(model_dir, monkeypatch):
    monkeypatch.setenv("BERTLAB_MODEL", str(model_dir))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    _language_outside_runs(monkeypatch)  # (a Chinese radio's labels between runs)


def run(at):
    """Runs the app (``at`` may be a widget just changed); fails on an exception or an error."""
    at = at.run(timeout=TIMEOUT)
    if at.exception:
        pytest.fail("the page raised:\n" + "\n".join(
            f"{e.value}\n{''.join(e.stack_trace)}" for e in at.exception))
    assert not at.error, [e.value for e in at.error]
    return at


def open_lesson(**query) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    at.query_params.update({k: str(v) for k, v in query.items()})
    at.switch_page("pages/lesson.py")
    return run(at)


def chapter_title(at) -> str:
    return at.header[0].value


def widget(at, qid: str):
    """A question's input: the radio of choices, or the text box for a typed word."""
    key = f"lesson_q_{qid}_in"
    radios = [r for r in at.radio if r.key == key]
    return radios[0] if radios else at.text_input(key=key)


def reveal(at, qid: str):
    """Presses question ``qid``'s Reveal button."""
    return run(at.button(key=f"lesson_q_{qid}_reveal").click())


def ask_again(at, qid: str):
    return run(at.button(key=f"lesson_q_{qid}_again").click())


def models_answer(at) -> str:
    """The model's answer as the page shows it beside the learner's (the "BERT" metric of the
    question revealed last: questions are answered top to bottom here)."""
    return [m.value for m in at.metric if m.label == "BERT"][-1]


# Each question's options as the page draws them (labels) -> the values the radio holds.
RAW = {"why": lambda label, i: i == 0, "nsp": lambda label, i: i == 0,
       "pieces": lambda label, i: int(label),
       "layer1": lambda label, i: ("word", "sum", "layernorm")[i],
       "layer": lambda label, i: ("attention", "ffn")[i],
       "attend": lambda label, i: int(label.split(" · ")[0]),
       "off": lambda label, i: tuple(int(x) for x in re.findall(r"\d+", label))}


def answer(at, qid: str, label: str):
    """Answers ``qid`` with the option shown as ``label`` (or types ``label``), then reveals."""
    w = widget(at, qid)
    if qid in RAW:
        w.set_value(RAW[qid](label, w.options.index(label)))
    else:
        w.input(label)
    return reveal(at, qid)


def right_and_wrong(at, qid: str, lang: str = "en"):
    """Reveals ``qid`` unanswered (the model's answer), then answers it with that (right) and
    with another option or word (wrong); returns the model's answer."""
    at = reveal(at, qid)
    truth = models_answer(at)
    assert any("No guess" in i.value or "没有猜" in i.value for i in at.info)
    at = answer(ask_again(at, qid), qid, truth)
    assert any(RIGHT[lang] in x.value for x in at.success), [x.value for x in at.warning]
    yours = [m.value for m in at.metric if m.label in ("You", "你")]
    assert models_answer(at) == truth and yours[-1] == truth
    at = ask_again(at, qid)
    wrong_before = sum(WRONG[lang] in x.value for x in at.warning)
    w = widget(at, qid)
    other = next(o for o in w.options if o != truth) if qid in RAW else "zzzz"
    at = answer(at, qid, other)
    assert sum(WRONG[lang] in x.value for x in at.warning) == wrong_before + 1
    assert not any(RIGHT[lang] in x.value for x in at.success)
    return truth, at


# ----------------------------------------------------------------------------- tests

@pytest.mark.parametrize("lang", ["en", "zh"])
@pytest.mark.parametrize("chapter", range(1, 7))
def test_every_chapter_renders_with_its_question(chapter, lang):
    at = open_lesson(chapter=chapter, text=CAT, lang=lang)
    assert chapter_title(at) == f"{chapter} · {TITLES[lang][chapter - 1]}"
    first = QUESTIONS[chapter][0]
    assert widget(at, first) is not None
    assert any(b.label == REVEAL[lang] for b in at.button)
    # before the answer, the model's answer is not on the page
    assert not any(m.label == "BERT" for m in at.metric)
    # the link to the full page carries the sentence
    links = [m.value for m in at.markdown if ":material/open_in_new:" in m.value]
    assert links and all("text=the+cat" in link for link in links)


@pytest.mark.parametrize("chapter", range(1, 7))
def test_every_question_says_right_and_wrong(chapter):
    at = open_lesson(chapter=chapter, text=CAT)
    for qid in QUESTIONS[chapter]:
        truth, at = right_and_wrong(at, qid)
        assert truth and truth != "—"
    # answered: the chapter is ticked in the chapter list, and only it
    ticked = [o.endswith("✓") for o in at.pills(key="lesson_list").options]
    assert ticked == [i == chapter - 1 for i in range(6)]


def test_the_chapters_answers_come_from_the_model(model_dir):
    """The typed-word question's truth is the model's top guess, the pieces question's the
    tokenizer's count (computed here with bertcore, not read from the page)."""
    import bertcore
    from bertcore import lesson, masked_lm
    from bertcore.attention import content_word

    bert = bertcore.load(model_dir, device="cpu")
    text = "the dog barked at the cat ."
    enc = bert.encode(text)
    hide = content_word(enc.tokens, enc.special_tokens_mask, enc.word_ids)
    top = masked_lm.predict_masks(bert, enc, [hide], 1, greedy=False).top_tokens[0][0]
    at = reveal(open_lesson(chapter=4, text=text), "mlm")
    assert models_answer(at) == top
    at = reveal(open_lesson(chapter=2, text=text), "pieces")
    assert models_answer(at) == str(len(lesson.most_split_word(enc).pieces))


def test_chinese_questions_and_answers():
    at = open_lesson(chapter=1, text=CAT, lang="zh")
    assert any(m.value.startswith("**:material/psychology_alt: 先猜一猜：**") and "遮住" in m.value
               for m in at.markdown)
    truth, at = right_and_wrong(at, "why", "zh")
    assert truth in ("会", "不会")
    at = open_lesson(chapter=4, text=CAT, lang="zh")
    right_and_wrong(at, "mlm", "zh")


def test_back_next_and_the_chapter_list_move_through_the_lesson():
    at = open_lesson(text=CAT)
    assert chapter_title(at).startswith("1 · ")  # no chapter in the link: the first
    assert at.button(key="lesson_back").disabled
    at = run(at.button(key="lesson_next").click())
    assert chapter_title(at).startswith("2 · ") and at.query_params["chapter"] in ("2", ["2"])
    at = run(at.pills(key="lesson_list").set_value(6))
    assert chapter_title(at).startswith("6 · ") and at.button(key="lesson_next").disabled
    at = run(at.button(key="lesson_back").click())
    assert chapter_title(at).startswith("5 · ")


def test_a_link_opens_a_chapter_and_out_of_range_is_clamped():
    assert chapter_title(open_lesson(chapter=3, text=CAT)).startswith("3 · ")
    assert chapter_title(open_lesson(chapter=99, text=CAT)).startswith("6 · ")
    assert chapter_title(open_lesson(chapter="x", text=CAT)).startswith("1 · ")


def test_the_full_page_links_carry_the_view():
    at = open_lesson(chapter=6, text=CAT, layer=1, head=2)
    links = [re.search(r"\]\(([^)]*)\)", m.value).group(1) for m in at.markdown
             if ":material/open_in_new:" in m.value]
    pages = {urlsplit(u).path: parse_qs(urlsplit(u).query) for u in links}
    assert set(pages) == {"attention"}
    query = [parse_qs(urlsplit(u).query) for u in links]
    assert {q["section"][0] for q in query} == {"example", "off"}
    assert all(q["layer"] == ["1"] and q["head"] == ["2"] and q["text"] == [CAT] for q in query)
    assert "chapter" not in query[0] and any("masks" in q for q in query)
    # The masked-word page opens on the part each chapter is about.
    for chapter, part in ((1, "directions"), (4, "guesses")):
        (link,) = [re.search(r"\]\(([^)]*)\)", m.value).group(1)
                   for m in open_lesson(chapter=chapter, text=CAT).markdown
                   if ":material/open_in_new:" in m.value]
        assert urlsplit(link).path == "masked_lm", link
        assert parse_qs(urlsplit(link).query)["section"] == [part]


def test_the_start_page_stays_the_default_and_the_lesson_is_listed_first():
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    at = run(at)
    assert at.title[0].value == "BERT Lab"
    source = Path(APP).read_text(encoding="utf-8")
    listed = re.findall(r'\("(\w+)", ":material/', source)
    assert listed[0] == "lesson" and "home" in listed


@pytest.mark.parametrize("chapter", range(1, 7))
def test_an_empty_sentence_says_what_to_do(chapter):
    at = open_lesson(chapter=chapter, text="   ")
    assert any("Type a sentence" in i.value for i in at.info)
    assert chapter_title(at).startswith(f"{chapter} · ")
    assert not at.radio and not [w for w in at.text_input if w.key.startswith("lesson_q_")]


def test_an_input_of_special_tokens_only_says_so():
    at = open_lesson(chapter=1, text="\u200b\u200d")  # not blank to Python, no token either
    assert any("no words to work with" in i.value for i in at.info)
    assert not at.radio


@pytest.mark.parametrize("chapter", range(1, 7))
def test_a_long_paste_is_cut_with_a_notice(chapter):
    at = open_lesson(chapter=chapter, text="the dog barked on the street . " * 150)
    assert any("longer than this model reads" in w.value for w in at.warning)
    for qid in QUESTIONS[chapter]:
        at = reveal(at, qid)
        assert models_answer(at)


@pytest.mark.parametrize("chapter", [1, 4, 6])
def test_a_model_without_a_masked_lm_head_says_so(tmp_path, chapter):
    folder = tmp_path / "encoder-only"
    folder.mkdir()
    write_checkpoint(folder, "BertModel")
    at = open_lesson(chapter=chapter, text=CAT, model=str(folder))
    assert any("no masked-LM head" in w.value for w in at.warning)
    assert chapter_title(at).startswith(f"{chapter} · ")


def test_presenter_mode_shows_one_chapter_without_the_intro():
    at = open_lesson(chapter=3, text=CAT, presenter=1)
    assert len(at.header) == 1 and chapter_title(at).startswith("3 · ")
    assert not any("Six short chapters" in m.value for m in at.markdown)
    at = reveal(at, "layer")
    assert models_answer(at)
    assert at.table  # presenter.table: the sub-layers' change at the page's type size

"""The fine-tuning page, end to end with a tiny model: upload, train live, stop, results, try it."""

from __future__ import annotations

import json
import os
import random
import time
from pathlib import Path

import pytest

from bertcore import finetune

from conftest import write_checkpoint

APP = str(Path(__file__).resolve().parents[1] / "app.py")
WORDS = "the a dog cat sat on mat it street was wet city river".split()


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory):
    folder = tmp_path_factory.mktemp("page-ft-model")
    write_checkpoint(folder)
    old = os.environ.get("BERTLAB_MODEL")
    os.environ["BERTLAB_MODEL"] = str(folder)
    yield folder
    if old is None:
        os.environ.pop("BERTLAB_MODEL", None)
    else:
        os.environ["BERTLAB_MODEL"] = old


def toy_csv(n: int = 120) -> bytes:
    rng = random.Random(0)
    rows = ["text,label"]
    for _ in range(n):
        label = rng.randrange(2)
        words = [rng.choice(WORDS) for _ in range(4)] + [("bad", "good")[label]]
        rng.shuffle(words)
        rows.append(f"{' '.join(words)},{('neg', 'pos')[label]}")
    return ("\n".join(rows) + "\n").encode()


def find(at, kind: str, key: str):
    """The widget of that kind and key, or None when the page does not show it."""
    try:
        return getattr(at, kind)(key=key)
    except KeyError:
        return None


def open_page(tiny_model):
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(APP, default_timeout=120)
    at.run()
    at.switch_page("pages/fine_tuning.py").run()
    assert not at.exception, at.exception
    return at


def choose_upload(at, content: bytes, name: str = "mine.csv"):
    at.selectbox(key="ft_source_classification").set_value("__upload__").run()
    at.file_uploader(key="ft_upload_classification").set_value((name, content, "text/csv")).run()
    assert not at.exception, at.exception
    return at


def ft_charts(at) -> list:
    """The charts of the fine-tuning run (not the heads section's)."""
    return [c for c in at.get("plotly_chart") if "heads_" not in c.proto.id]


def wait_until_done(at, limit_s: float = 120):
    t0 = time.time()
    while time.time() - t0 < limit_s:
        at.run()
        assert not at.exception, at.exception
        # (the heads section's notes are warnings too: the run's end is the job's)
        job = at.session_state["_ft_job"] if "_ft_job" in at.session_state else None
        if job is not None and not job.running:
            return at.run()
        time.sleep(0.5)
    raise AssertionError("fine-tuning did not finish in time")


def test_trains_live_and_shows_before_and_after(tiny_model):
    at = choose_upload(open_page(tiny_model), toy_csv())
    assert any("96 training" in c.value for c in at.caption)
    at.select_slider(key="ft_lr").set_value(1e-3)
    at.select_slider(key="ft_epochs").set_value(3.0)
    at.select_slider(key="ft_batch").set_value(16)
    at.toggle(key="ft_no_dropout").set_value(True)
    at.toggle(key="ft_ema").set_value(True)
    if find(at, "toggle", "ft_guard") is not None:
        at.toggle(key="ft_guard").set_value(False)
    at.button(key="ft_start").click().run()
    assert not at.exception, at.exception
    wait_until_done(at)
    assert [s.value for s in at.success if s.value.startswith("Trained")][0].startswith(
        "Trained 18 steps")
    assert at.session_state["_ft_job"].cfg.dropout == 0.0
    assert at.session_state["_ft_job"].cfg.ema == finetune.EMA_DECAY
    # the heads section now reads the trained classifier; the other two heads stay random
    assert any("Fine-tuned in this session" in s.value for s in at.success)
    assert sum("random weights" in w.value for w in at.warning) == 1  # the tagger (no pair)
    labels = [m.label for m in at.metric]
    assert "Accuracy" in labels and "Loss" in labels
    charts = ft_charts(at)
    assert len(charts) >= 7  # curves, 2 confusion, 2 points, 2 attention, try-it bars
    assert len(at.get("download_button")) == 2
    at.text_input(key="ft_try_classification").set_value("good dog").run()
    assert not at.exception, at.exception
    at.selectbox(key="ft_probe").set_value(1).run()
    assert not at.exception, at.exception


def test_stop_keeps_the_partial_model(tiny_model):
    at = choose_upload(open_page(tiny_model), toy_csv(400))
    at.select_slider(key="ft_epochs").set_value(5.0)
    at.select_slider(key="ft_batch").set_value(8)
    if find(at, "toggle", "ft_guard") is not None:
        at.toggle(key="ft_guard").set_value(False)
    at.button(key="ft_start").click().run()
    for _ in range(100):  # wait for the first steps, then press Stop
        if find(at, "button", "ft_stop") is not None and ft_charts(at):
            break
        time.sleep(0.3)
        at.run()
    at.button(key="ft_stop").click().run()
    wait_until_done(at)
    assert any("Stopped after" in w.value for w in at.warning)
    assert at.metric and len(at.get("download_button")) == 2


@pytest.mark.parametrize("content,needle", [
    (b"sentence,class\nhi,1\n", "needs the columns"),
    (b"text,label\n" + b"same text,pos\n" * 20, "at least two classes"),
    (b"\x00\x01\x02binary", "not text"),
])
def test_bad_uploads_show_a_message_not_a_traceback(tiny_model, content, needle):
    at = choose_upload(open_page(tiny_model), content)
    assert any(needle in e.value for e in at.error), [e.value for e in at.error]
    assert find(at, "button", "ft_start") is None and not ft_charts(at)


def test_chinese_strings_and_other_tasks_render(tiny_model):
    at = open_page(tiny_model)
    at.segmented_control(key="ft_task").set_value("qa").run()
    assert not at.exception, at.exception
    at.selectbox(key="ft_source_qa").set_value("__upload__").run()
    assert find(at, "file_uploader", "ft_upload_qa") is not None
    at.segmented_control(key="ft_task").set_value("ner").run()
    assert not at.exception, at.exception
    from ui.i18n import STRINGS

    assert all(v["zh"] for k, v in STRINGS.items() if k.startswith("ft."))


def test_a_hub_data_set_by_name(tiny_model, tmp_path, hub_offline):
    from datasets import ClassLabel, Features, Value

    from conftest import write_dataset_folder

    rows = {"sentence": toy_csv().decode().splitlines()[1:], "label": [0, 1] * 60}
    folder = write_dataset_folder(tmp_path / "hubset", rows, Features(
        {"sentence": Value("string"), "label": ClassLabel(names=["neg", "pos"])}))
    at = open_page(tiny_model)
    at.selectbox(key="ft_source_classification").set_value("__hub__").run()
    at.text_input(key="ft_hub_classification").set_value(folder).run()
    assert not at.exception and not at.error, (at.exception, [e.value for e in at.error])
    assert any("96 training" in c.value for c in at.caption)
    assert any("Labels: neg, pos" in c.value for c in at.caption)
    assert find(at, "button", "ft_start") is not None
    at.text_input(key="ft_hub_classification").set_value("someone/no-such-set").run()
    assert any("network once" in e.value for e in at.error), [e.value for e in at.error]
    assert find(at, "button", "ft_start") is None
    at.segmented_control(key="ft_task").set_value("ner").run()
    at.selectbox(key="ft_source_ner").set_value("__hub__").run()
    at.text_input(key="ft_hub_ner").set_value(folder).run()
    assert any("is a Sentence classification data set" in e.value for e in at.error)
    assert not at.exception and find(at, "button", "ft_start") is None


def test_two_sessions_train_at_once(tiny_model):
    """A second session's run does not disturb the first: both finish with their own results."""
    sessions = []
    for n in (200, 120):
        at = choose_upload(open_page(tiny_model), toy_csv(n))
        at.select_slider(key="ft_epochs").set_value(2.0)
        if find(at, "toggle", "ft_guard") is not None:
            at.toggle(key="ft_guard").set_value(False)
        at.button(key="ft_start").click().run()
        assert not at.exception, at.exception
        sessions.append(at)
    for at in sessions:
        wait_until_done(at)
    steps = [s.value for at in sessions for s in at.success if s.value.startswith("Trained")]
    assert steps == ["Trained 10 steps in " + steps[0].split(" in ")[1],
                     "Trained 6 steps in " + steps[1].split(" in ")[1]]


def test_a_sentiment_tasks_labels_are_in_the_ui_language(tiny_model):
    named = toy_csv().replace(b",neg\n", b",negative\n").replace(b",pos\n", b",positive\n")
    at = choose_upload(open_page(tiny_model), named)
    assert any("Labels: negative, positive" in c.value for c in at.caption)
    at.segmented_control(key="w_lang").set_value("zh").run()
    assert not at.exception, at.exception
    assert any("标签：负面, 正面" in c.value for c in at.caption), [c.value for c in at.caption]
    at = choose_upload(open_page(tiny_model), toy_csv())  # labels it has no word for: as they are
    at.segmented_control(key="w_lang").set_value("zh").run()
    assert any("标签：neg, pos" in c.value for c in at.caption)


# ----------------------------------------------------------------------------- the three heads

def open_heads(**query):
    """The page opened with ``query`` in the URL (no exception, no error message)."""
    from app_support import open_app

    return open_app("fine_tuning", **query)


def chart(at, key: str):
    return next((c for c in at.get("plotly_chart") if c.proto.id and key in c.proto.id), None)


def z_shape(fig) -> tuple[int, int]:
    """(rows, columns) of a heatmap's z, which plotly may send as a typed array."""
    z = json.loads(fig.proto.spec)["data"][0]["z"]
    if isinstance(z, dict):
        return tuple(int(n) for n in z["shape"].split(","))
    return len(z), len(z[0])


def tag_chips(at) -> list[str]:
    """The token chips of the tagging head (the first chip row on the page)."""
    import re

    rows = [h.proto.body for h in at.get("html") if "bl-chips" in h.proto.body]
    return re.findall(r"white-space:pre;color:#2B2D42;\">(.*?)</div>", rows[0]) if rows else []


def test_the_three_heads_read_the_sidebars_pair_with_random_weights(tiny_model):
    at = open_heads(text="the dog barked .", pair="it rained on the street .")
    cls, qa = chart(at, "heads_cls_bars"), chart(at, "heads_qa_scores")
    assert cls is not None and qa is not None
    bars = json.loads(cls.proto.spec)["data"][0]
    assert len(bars["x"]) == 2 and abs(sum(bars["x"]) - 1) < 1e-4  # the class probabilities
    assert z_shape(qa) == (2, 13)  # start and end scores of every token of the pair
    assert tag_chips(at)[:3] == ["[CLS]", "the", "dog"]
    notes = [w.value for w in at.warning if "random weights" in w.value]
    assert len(notes) == 3 and all("(#fine-tune)" in n for n in notes)
    assert any("Best span: tokens" in m.value for m in at.markdown)
    assert find(at, "segmented_control", "ft_task") is not None  # the setup follows


def test_the_heads_in_chinese(tiny_model):
    at = open_heads(lang="zh", text="中 国 人", pair="大 学")
    assert any("三种输出头" in h.value for h in at.subheader)
    assert sum("权重是随机的" in w.value for w in at.warning) == 3
    assert chart(at, "heads_qa_scores") is not None


def test_without_a_pair_the_qa_head_asks_for_one(tiny_model):
    at = open_heads(text="the dog barked .")
    assert chart(at, "heads_cls_bars") is not None and chart(at, "heads_qa_scores") is None
    assert any("second sentence" in i.value for i in at.info)
    assert tag_chips(at)  # the other two heads are there


def test_an_empty_sentence_gets_a_message(tiny_model):
    at = open_heads(text=" ")
    assert chart(at, "heads_cls_bars") is None and at.info
    assert find(at, "segmented_control", "ft_task") is not None


def test_a_long_input_is_cut_and_windowed(tiny_model):
    from ui import window

    at = open_heads(text=" ".join(["the dog barked ."] * 60), pair="it rained .")
    assert any("cut" in w.value.lower() or "truncat" in w.value.lower() for w in at.warning)
    assert len(tag_chips(at)) == window.WIDTH  # 64 tokens read, a window of them shown
    assert z_shape(chart(at, "heads_qa_scores")) == (2, window.WIDTH)


def test_presenter_mode_shows_the_heads_first(tiny_model):
    at = open_heads(text="the dog barked .", pair="it rained .", presenter=1)
    assert chart(at, "heads_cls_bars") is not None
    assert find(at, "segmented_control", "ft_task") is None  # the setup is the next step
    assert any("next step" in w.value for w in at.warning)

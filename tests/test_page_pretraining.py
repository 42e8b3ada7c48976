"""AppTest of the pretraining page: it builds the data, trains a tiny BERT live, and keeps it."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from bertcore import toy
from conftest import write_checkpoint

APP = Path(__file__).resolve().parent.parent / "app.py"


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory):
    folder = tmp_path_factory.mktemp("pt-page-model")
    write_checkpoint(folder)
    return folder


def open_page(monkeypatch, model_dir, lang="en", **params) -> AppTest:
    """The page on the tiny checkpoint, in ``lang``, with more URL ``params`` if given."""
    monkeypatch.setenv("BERTLAB_MODEL", str(model_dir))
    at = AppTest.from_file(str(APP), default_timeout=240)
    at.query_params.update({"lang": lang, **params})
    at.switch_page("pages/pretraining.py").run()
    assert not at.exception, at.exception
    return at


def button(at: AppTest, label: str):
    return next(b for b in at.button if b.label == label)


def test_page_builds_pairs_and_masks_then_trains_and_continues(monkeypatch, model_dir):
    at = open_page(monkeypatch, model_dir, "en")
    at.select_slider(key="pt_docs").set_value(30).run()
    at.select_slider(key="pt_steps_en").set_value(50).run()
    table = at.dataframe[0].value
    assert set(table.iloc[:, 0]) <= {"IsNext", "NotNext"} and len(table) == 6
    masked = [h.proto.body for h in at.get("html") if "[MASK]" in h.proto.body]
    assert masked
    button(at, "Draw other masks").click().run()
    assert [h.proto.body for h in at.get("html") if "[MASK]" in h.proto.body] != masked
    assert not at.get("plotly_chart")  # nothing trained yet
    button(at, "Start from random weights").click().run()
    assert not at.exception, at.exception
    assert any("Trained 50 steps" in s.value for s in at.success)
    assert not any("Training now" in i.value for i in at.info)  # the status says it is done
    assert any("Going below it means it has started to use the context" in c.value
               for c in at.caption)  # what the dashed line means
    guesses = at.dataframe[-1].value
    assert list(guesses.iloc[:, 0]) == [50, 25]  # newest first, one row per evaluation
    # how much it has read (50 steps of the default batch), beside BERT's own reading
    batch, max_len = toy.DEFAULT_BATCH["en"], toy.DEFAULT_MAX_LEN["en"]
    assert any(f"has read {50 * batch:,} examples of up to {max_len} tokens" in c.value
               and "read 256,000,000 of up to 512" in c.value for c in at.caption)
    assert at.get("plotly_chart")
    button(at, "Train 50 more steps").click().run()
    assert any("Trained 100 steps" in s.value for s in at.success)
    assert any(f"has read {100 * batch:,} examples" in c.value for c in at.caption)
    # another widget's rerun shows the trained model again, without training it
    at.text_input(key="pt_cloze_en").set_value("no mask here").run()
    assert any("exactly one [MASK]" in w.value for w in at.warning)
    assert not at.success and list(at.dataframe[-1].value.iloc[:, 0])[0] == 100
    # other text means another vocabulary: that model is put aside
    at.select_slider(key="pt_docs").set_value(60).run()
    assert not at.get("plotly_chart") and "Start from random weights" in at.info[0].value


def test_page_speaks_chinese(monkeypatch, model_dir):
    at = open_page(monkeypatch, model_dir, "zh")
    assert at.title[0].value == "现场预训练"
    assert set(at.dataframe[0].value.iloc[:, 0]) <= {"IsNext（紧接）", "NotNext（随机）"}
    assert "从随机权重开始" in [b.label for b in at.button]
    a, b = at.dataframe[0].value.iloc[0, 1:]
    assert " " not in a.strip() and " " not in b.strip()  # Chinese is shown without spaces


def test_a_pasted_paragraph_to_watch_is_refused_with_a_message_and_training_still_runs(
        monkeypatch, model_dir):
    at = open_page(monkeypatch, model_dir, "en")
    at.select_slider(key="pt_docs").set_value(30).run()
    at.select_slider(key="pt_steps_en").set_value(50).run()
    at.text_input(key="pt_cloze_en").set_value("a " * 140 + "[MASK]").run()
    # 141 tokens, where the tiny BERT has positions for 126 and its two special tokens
    assert any("too long for the tiny BERT: 141 tokens, and it reads at most 126" in w.value
               for w in at.warning)
    button(at, "Start from random weights").click().run()
    assert not at.exception, at.exception
    assert any("Trained 50 steps" in s.value for s in at.success)
    assert len(at.dataframe) == 1  # the pairs; no guesses table: there is no sentence to watch


def test_on_a_projector_the_guesses_show_one_row_per_hundred_steps(monkeypatch, model_dir):
    at = open_page(monkeypatch, model_dir, "en", presenter="1", step="4")
    at.select_slider(key="pt_docs").set_value(30).run()
    at.select_slider(key="pt_steps_en").set_value(200).run()
    button(at, "Start from random weights").click().run()
    assert not at.exception, at.exception
    # evaluated every 25 steps; a table at the projector's type size keeps the newest, every
    # hundredth step and the first
    assert [int(v) for v in at.table[-1].value.iloc[:, 0]] == [200, 100, 25]
    assert not at.dataframe


def test_page_says_when_the_model_starts_memorising(monkeypatch, model_dir):
    # Held-out losses scripted: lowest at the second evaluation (step 50), then rising.
    losses = iter([6.0, 5.0] + [5.0 + 0.1 * i for i in range(1, 10)])
    real = toy.evaluate
    monkeypatch.setattr(toy, "evaluate",
                        lambda *a, **k: {**real(*a, **k), "mlm_loss": next(losses)})
    at = open_page(monkeypatch, model_dir, "en")
    at.select_slider(key="pt_docs").set_value(30).run()
    at.select_slider(key="pt_steps_en").set_value(200).run()
    button(at, "Start from random weights").click().run()
    assert not at.exception, at.exception
    (warning,) = [w.value for w in at.warning]
    stop = 50 + 25 * toy.MEMORISING_EVALS
    assert warning.startswith(f"Stopped at step {stop}: the model is now memorising its text")
    assert "lowest at step 50 (5.00)" in warning
    now = float(re.search(r"has risen since \((\d+\.\d+)\)", warning).group(1))
    assert now >= 5.0 + 0.1 * toy.MEMORISING_EVALS  # the latest held-out loss
    assert not at.success and list(at.dataframe[-1].value.iloc[:, 0])[0] == stop

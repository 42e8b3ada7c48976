"""AppTest of the "Inside a layer" page: the numbers it shows are bertcore.layer's for the layer and
token picked (both in the URL), in English and Chinese, in presenter mode's steps, at long input
(a window of tokens to pick from), on an empty sentence, and with models that have no heads or a
single layer. (test_pages.py runs it with every other page: bad input, a broken model, …)"""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

import bertcore
from app_support import array, APP_VOCAB, all_text, bar_lists, elements
from bertcore import layer as inside
from conftest import write_checkpoint

APP = Path(__file__).resolve().parent.parent / "app.py"
CAT = "the cat sat on the mat ."
LONG = "the dog barked on the street , and it rained . " * 60  # 720 tokens, cut to 512
TIMEOUT = 120


def checkpoint(folder: Path, **kw) -> Path:
    write_checkpoint(folder, vocab_size=len(APP_VOCAB), **kw)
    (folder / "vocab.txt").write_text("\n".join(APP_VOCAB) + "\n", encoding="utf-8")
    return folder


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory):
    """A tiny model that reads 512 tokens (2 layers, hidden 32, 64 wide units)."""
    return checkpoint(tmp_path_factory.mktemp("layer-512"), max_position_embeddings=512)


@pytest.fixture(autouse=True)
def _env(model_dir, monkeypatch):
    monkeypatch.setenv("BERTLAB_MODEL", str(model_dir))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")


def run(at) -> AppTest:
    at = at.run(timeout=TIMEOUT)
    assert not at.exception, "\n".join(f"{e.value}\n{''.join(e.stack_trace)}"
                                       for e in at.exception)
    assert not at.error, [e.value for e in at.error]
    return at


def open_page(**query) -> AppTest:
    at = AppTest.from_file(str(APP), default_timeout=TIMEOUT)
    at.query_params.update({k: str(v) for k, v in query.items()})
    at.switch_page("pages/layer.py")
    return run(at)


def metrics(at) -> dict[str, str]:
    return {m.label: m.value for m in at.metric}


def figures(at) -> list[dict]:
    return [json.loads(e.proto.spec) for e in elements(at, "plotly_chart")]


def expected(model_dir: Path, text: str, layer: int, pos: int) -> inside.LayerWalk:
    bert = bertcore.load(model_dir, device="cpu")
    return inside.walk(bert, bert.explain(text), layer, pos)


def test_default_view_shows_the_models_numbers(model_dir):
    at = open_page(text=CAT)
    assert at.title[0].value == "Inside a layer"
    assert "What layer 0 does to “the” (position 1)" in [s.value for s in at.subheader]
    w = expected(model_dir, CAT, 0, 1)
    shown = metrics(at)
    assert shown["Units that fire (output > 0)"] == f"{w.fired:,} / 64"
    assert shown["Share of units that fire"] == f"{w.fire_share:.1%}"
    assert any("agree" in s.value for s in at.success)
    texts = [e.value for e in (*at.main.markdown, *at.main.caption, *at.main.subheader)]
    assert not [v for v in texts if "{" in v], "a placeholder left unfilled"
    (units,) = figures(at)
    norms, top = bar_lists(at)
    assert len(norms["labels"]) == len(inside.STEPS) and not norms["absolute"]
    assert norms["values"] == [f"{v:.3g}" for v in w.norms]  # lengths relative to the longest
    np.testing.assert_allclose(norms["lengths"], np.array(w.norms) / max(w.norms) * 100,
                               atol=0.01)
    order = array(units["data"][0]["customdata"])  # every wide unit, largest output first
    assert sorted(order) == list(range(64))
    np.testing.assert_allclose(array(units["data"][0]["y"]), w.ffn_act[order], rtol=1e-5)
    assert (np.diff(array(units["data"][0]["y"])) <= 0).all()
    (unit, value), = w.top_units(1)
    assert top["labels"][0] == f"unit {unit}" and top["values"][0] == f"{value:.3g}"
    table = at.dataframe[0].value
    assert list(table.iloc[:, 0]) == ["self-attention", "feed-forward"]
    assert table.iloc[0, 1] == f"{w.attention_change['ratio']:.2f}"
    assert table.iloc[1, 2] == f"{w.ffn_change['cos']:.3f}"


def test_layer_and_token_change_the_view_and_the_url(model_dir):
    at = open_page(text=CAT)
    run(at.slider(key="layer_layer").set_value(1))
    assert at.query_params["layer"] == "1"
    run(at.pills(key="layer_token").set_value(3))
    assert at.query_params["query"] == "3"
    assert "What layer 1 does to “sat” (position 3)" in [s.value for s in at.subheader]
    w = expected(model_dir, CAT, 1, 3)
    assert metrics(at)["Units that fire (output > 0)"] == f"{w.fired:,} / 64"
    again = open_page(**dict(at.query_params))  # the link reopens the same view
    assert "What layer 1 does to “sat” (position 3)" in [s.value for s in again.subheader]
    assert again.slider(key="layer_layer").value == 1


def test_chinese():
    at = open_page(lang="zh")
    assert at.title[0].value == "一层之内"
    text = all_text(at)
    assert "前馈网络：32 → 64 → 32" in text and "激活的单元（输出 > 0）" in text
    assert "每个子层让向量改变了多少" in text
    assert not re.search(r"\blayer\.[a-z_]+", text), "an i18n key reached the page"
    assert list(at.dataframe[0].value.iloc[:, 0]) == ["自注意力", "前馈网络"]


def test_empty_sentence_asks_for_one():
    at = open_page(text="   ")
    assert "Type a sentence in the sidebar to begin." in [i.value for i in at.info]
    assert not elements(at, "plotly_chart")


def test_long_input_picks_the_token_in_a_window():
    at = open_page(text=LONG)
    assert any("longer than this model reads" in w.value for w in at.warning)
    pills = at.pills(key="layer_token")
    assert len(pills.options) == 32
    run(at.slider(key="layer_window").set_value(300))
    pills = at.pills(key="layer_token")
    assert pills.value == 300  # the token follows the window
    assert any("(position 300)" in s.value for s in at.subheader)
    run(pills.set_value(310))
    assert any("(position 310)" in s.value for s in at.subheader)
    assert any("Showing tokens 300–331 of 512" in c.value for c in at.caption)
    # A link with the token but no window opens a window around its token.
    link = open_page(**{k: v for k, v in at.query_params.items() if k != "window"})
    assert link.pills(key="layer_token").value == 310
    assert any("(position 310)" in s.value for s in link.subheader)


def test_presenter_mode_shows_one_section_at_a_time():
    at = open_page(text=CAT, presenter=1)
    assert at.subheader[0].value.startswith("What layer 0")
    assert "The feed-forward network: 32 → 64 → 32" not in [s.value for s in at.subheader]
    at = open_page(text=CAT, presenter=1, step=9)
    heads = [s.value for s in at.subheader]
    assert "The feed-forward network: 32 → 64 → 32" in heads
    assert "Check: is this what the model computes?" in heads
    assert at.table and not at.dataframe  # tables at the page's large type


@pytest.mark.parametrize("kind", ["BertModel", "one layer"])
def test_models_without_heads_or_with_one_layer(kind, tmp_path, monkeypatch):
    if kind == "BertModel":
        checkpoint(tmp_path, cls_name="BertModel")
    else:
        checkpoint(tmp_path, num_hidden_layers=1)
    monkeypatch.setenv("BERTLAB_MODEL", str(tmp_path))
    at = open_page(text=CAT, layer=5)
    assert any("agree" in s.value for s in at.success)
    if kind == "one layer":
        assert not at.slider and "This model has a single layer" in all_text(at)
        assert any(s.value.startswith("What layer 0") for s in at.subheader)

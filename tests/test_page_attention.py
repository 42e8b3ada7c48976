"""AppTest of the attention page at long input and of the view it keeps in the URL.

A tiny checkpoint that reads 512 tokens (2 layers, 4 heads, hidden 32: a 512-token forward pass
takes a fraction of a second) and a text long enough to be cut to 512 tokens. What must hold: every
view that draws tokens shows a window of ``window.WIDTH`` (or fewer) of them, with the window's
notice, and cuts its data before drawing; the section, the worked example's query token and the
window come from the URL and go back into it; a short input shows no window at all.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from app_support import array, APP_VOCAB, bar_lists, bertviz_params, elements, html_after
from bertcore import attention
from conftest import write_checkpoint

APP = Path(__file__).resolve().parent.parent / "app.py"
LONG = "the dog barked on the street , and it rained . " * 60  # 720 tokens, cut to 512
NOTICE = re.compile(r"Showing tokens (\d+)–(\d+) of (\d+)")
TIMEOUT = 120


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory):
    folder = tmp_path_factory.mktemp("attn-512")
    write_checkpoint(folder, vocab_size=len(APP_VOCAB), max_position_embeddings=512)
    (folder / "vocab.txt").write_text("\n".join(APP_VOCAB) + "\n", encoding="utf-8")
    return folder


@pytest.fixture(autouse=True)
def _env(model_dir, monkeypatch):
    monkeypatch.setenv("BERTLAB_MODEL", str(model_dir))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")


def run(at) -> AppTest:
    """Runs the script (``at``: the AppTest, or a widget of it after a change)."""
    at = at.run(timeout=TIMEOUT)
    assert not at.exception, "\n".join(f"{e.value}\n{''.join(e.stack_trace)}"
                                       for e in at.exception)
    return at


def open_page(**query) -> AppTest:
    at = AppTest.from_file(str(APP), default_timeout=TIMEOUT)
    at.query_params.update({k: str(v) for k, v in query.items()})
    at.switch_page("pages/attention.py")
    return run(at)


def section(at: AppTest, name: str) -> AppTest:
    return run(at.segmented_control(key="attn_section").set_value(name))


def notices(at: AppTest) -> list[tuple[int, int, int]]:
    return [tuple(map(int, m.groups())) for c in at.caption if (m := NOTICE.search(c.value))]


def bold(at: AppTest) -> list[str]:
    """The bold lines of the page ("**…**" markdown), unescaped."""
    return [m.value.strip("*").replace("\\", "") for m in at.markdown
            if m.value.startswith("**")]


def figures(at: AppTest) -> list[dict]:
    return [json.loads(e.proto.spec) for e in elements(at, "plotly_chart")]


def subheaders(at: AppTest) -> list[str]:
    return [s.value for s in at.subheader]


# ----------------------------------------------------------------------------- long input

def test_one_head_shows_a_window_of_a_long_input():
    at = open_page(text=LONG)
    assert any("cut off" in w.value for w in at.warning)
    assert notices(at) == [(0, 31, 512)]
    assert at.slider(key="attn_window").value == 0
    heat = figures(at)[0]
    assert len(heat["layout"]["xaxis"]["ticktext"]) == 32
    assert len(heat["layout"]["yaxis"]["ticktext"]) == 32
    assert array(heat["data"][0]["z"]).shape == (32, 32)
    assert "outside the window" in "\n".join(c.value for c in at.caption)
    # The small multiples are pictures of the same 32 × 32 window, one per head, in one element.
    (grid,) = elements(at, "image")
    assert [i.caption.split(" · ")[0] for i in grid.proto.imgs] == [f"head {h}" for h in range(4)]
    assert all(i.url.startswith("data:image/png;base64,") for i in grid.proto.imgs)  # inline
    # Sliding the window shows other tokens, and the URL keeps where it starts.
    run(at.slider(key="attn_window").set_value(100))
    assert notices(at) == [(100, 131, 512)] and at.query_params["window"] == "100"
    assert figures(at)[0]["layout"]["xaxis"]["ticktext"][:3] == LONG.split()[99:102]


def test_worked_example_shows_the_window_around_its_query():
    at = open_page(text=LONG, section="example", query=300)
    assert at.selectbox(key="attn_query").value == 300
    first, last, n = notices(at)[0]
    assert (n, last - first) == (512, 31) and first <= 300 <= last
    # One step at a time: q and the keys first, then the scores' table, then the weighted sum.
    assert at.segmented_control(key="attn_ex_step").value == "qk" and not at.table
    (q_and_keys,) = figures(at)
    assert len(q_and_keys["layout"]["yaxis"]["ticktext"]) == 33  # q and the window's 32 keys
    at = run(at.segmented_control(key="attn_ex_step").set_value("scores"))
    assert not figures(at)
    table = at.table[0].value
    assert len(table) == 32 and table.iloc[0, 0].startswith(str(first))
    assert any("outside the window" in c.value for c in at.caption)
    assert any("agree up to float rounding" in s.value for s in at.success)
    at = run(at.segmented_control(key="attn_ex_step").set_value("sum"))
    (weighted,) = figures(at)
    assert len(weighted["layout"]["yaxis"]["ticktext"]) == 34  # their p·v, Σ, the model's
    assert "over all 512 tokens" in weighted["layout"]["yaxis"]["ticktext"][-2]
    assert not at.table and "③ Weighted sum of the values" in subheaders(at)
    # A new query token moves the window to it.
    run(at.selectbox(key="attn_query").select(20))
    first, last, _ = notices(at)[0]
    assert first <= 20 <= last and at.query_params["query"] == "20"


def test_a_slid_window_stays_where_it_was_slid():
    at = open_page(text=LONG, section="example", query=300)
    run(at.slider(key="attn_window").set_value(50))
    assert notices(at)[0][:2] == (50, 81)
    run(at.selectbox(key="attn_query").select(300))  # the same query again: nothing moves
    assert notices(at)[0][:2] == (50, 81)


def test_bertviz_views_get_only_the_window():
    at = open_page(text=LONG, section="bertviz", query=200)
    first, last, n = notices(at)[0]
    assert last - first + 1 == 20 and first <= 200 <= last and n == 512
    for view in ("head", "model"):  # one view at a time; the head view first
        if view != "head":
            at = run(at.segmented_control(key="attn_bv_view").set_value(view))
        frames = elements(at, "iframe")
        assert not figures(at)
        if frames:  # vendor/ present: the view's page carries the window's tokens only
            (frame,) = frames
            params = bertviz_params(frame.proto.srcdoc)
            assert len(params["attention"][0]["left_text"]) == 20
            assert len(frame.proto.srcdoc) < 1_500_000
    at = run(at.segmented_control(key="attn_bv_view").set_value("neuron"))
    assert not elements(at, "iframe") and notices(at)[0] == (first, last, n)
    (neuron,) = figures(at)
    rows = neuron["data"][0]["y"]
    assert len(rows) == 20 and rows[0].startswith(f"{first} ")


def test_heads_off_and_summary_at_long_input():
    at = open_page(text=LONG, section="off")
    pick = at.selectbox(key="attn_mask_pick")
    assert pick.value == 2  # "dog", a content word: not "the"
    run(at.button(key="attn_mask_button").click())
    assert at.query_params["masks"] == "2"
    assert "[MASK] at position 2" in "\n".join(m.value for m in at.markdown)
    # The input line: the words around the hidden one, not all 512 tokens.
    line = next(c.value for c in at.caption if c.value.startswith("The model reads:"))
    line = line.replace("\\", "")  # (markdown escapes)
    assert line.split(": ", 1)[1].startswith("[CLS] the [MASK] barked") and line.endswith("…")
    assert len(line.split()) < 30
    # No head off yet: the guesses once, not twice with a change of 0
    assert [b["title"] for b in bar_lists(at)] == ["All heads on"] and not figures(at)
    assert not at.metric
    run(at.multiselect(key="attn_off").select((0, 1)))
    bars = bar_lists(at)
    assert [b["title"] for b in bars] == ["All heads on", "With 1 head(s) off"]
    # before and after on one 0-100 % scale, so the two lists compare
    assert all(b["absolute"] and b["ends"] == [("0%", "100%")] for b in bars)
    section(at, "summary")
    assert "Dominant behaviour of each head" in subheaders(at)
    assert any("no-op" in i.value for i in at.info)


def test_presenter_mode_narrows_the_heatmap_to_the_screen():
    at = open_page(text=LONG, presenter=1)
    assert notices(at) == [(0, 19, 512)]
    heat = figures(at)[0]
    assert len(heat["layout"]["xaxis"]["ticktext"]) == 20 and heat["layout"]["height"] <= 540
    # The cut-off notice comes under the chart, which comes first.
    main = [getattr(e, "type", "") for e in at.main]
    assert main.index("warning") > main.index("plotly_chart")


# ----------------------------------------------------------------------------- short input

def test_a_short_input_has_no_window():
    at = open_page(text="the dog barked on the mat .")
    for name in ("head", "example", "bertviz"):
        section(at, name)
        assert notices(at) == [] and not at.slider
    heat = figures(section(at, "head"))[0]
    assert heat["layout"]["xaxis"]["ticktext"] == ["[CLS]", "the", "dog", "barked", "on", "the",
                                                   "mat", ".", "[SEP]"]


# ----------------------------------------------------------------------------- the URL

def test_section_query_and_window_come_from_the_url():
    at = open_page(text=LONG, section="example", query=40, window=30)
    assert "① Query and keys" in subheaders(at)
    assert at.segmented_control(key="attn_section").value == "example"
    assert at.selectbox(key="attn_query").value == 40
    assert notices(at)[0][:2] == (30, 61)  # the link's window, which holds its query


def test_choices_go_into_the_url():
    at = open_page(text="the dog barked on the mat .")
    assert "section" not in at.query_params  # the first section is the default
    section(at, "example")
    assert at.query_params["section"] == "example"
    run(at.selectbox(key="attn_query").select(3))
    assert at.query_params["query"] == "3"
    section(at, "bertviz")  # the neuron view explains the same query token
    run(at.segmented_control(key="attn_bv_view").set_value("neuron"))
    assert at.selectbox(key="attn_query").value == 3


def test_the_summary_shows_one_pattern_at_a_time_and_keeps_it():
    at = open_page(text="the dog barked , and it rained .", section="summary")
    assert at.segmented_control(key="attn_pattern").value == "cls"
    (cls,) = figures(at)
    assert array(cls["data"][0]["z"]).shape == (2, 4)  # layers × heads
    assert "Mean share of attention to [CLS], per layer and head" in bold(at)
    # what each head does: a table of words, one row a layer, one cell a head, in its colour
    labels = html_after(at, "Dominant behaviour of each head").value
    cells = re.findall(r'<td style="[^"]*background:(rgb\([^)]*\))[^"]*">(.*?)</td>', labels)
    assert len(cells) == 2 * 4 and {w for _, w in cells} <= set(attention.HEAD_LABELS)
    assert len({c for c, _ in cells}) == len({w for _, w in cells})  # a colour a label
    run(at.segmented_control(key="attn_pattern").set_value("entropy"))
    (entropy,) = figures(at)
    labels_again = html_after(at, "Dominant behaviour of each head").value
    assert labels_again == labels and "entropy (nats, max" in " ".join(bold(at))
    assert entropy["data"][0]["zmax"] > 1 and not (array(entropy["data"][0]["z"])
                                                   == array(cls["data"][0]["z"])).all()
    # The pattern stays picked while another section is shown.
    section(section(at, "head"), "summary")
    assert at.segmented_control(key="attn_pattern").value == "entropy"


@pytest.mark.parametrize("bad", ["words", "x'; drop", ""])
def test_a_section_this_page_lacks_opens_the_first(bad):
    at = open_page(section=bad)
    assert at.segmented_control(key="attn_section").value == "head"
    assert "Layer 0, head 0: who looks at whom" in subheaders(at)


def test_a_query_past_the_end_falls_back_to_the_first_word():
    at = open_page(text="the dog barked .", section="example", query=99)
    assert at.selectbox(key="attn_query").value == 1
    assert "q of “the”" in json.dumps(figures(at)[0], ensure_ascii=False)

"""The chart rules of ``ui/charts.py``: text a class can read, one colour language, labels that fit.

Every builder's output is checked the way Streamlit would draw it: Streamlit's own chart theme gives
tick labels and axis titles 12-14 px in a pale grey unless a figure sets them, so each text must be
set explicitly, at least 18 px in presenter mode, in a colour that passes WCAG AA (contrast ≥ 4.5:1,
computed here from the WCAG 2 formula) on the chart's background. The rendered sizes are measured in
a real browser in ``test_browser_presenter.py``.
"""

from __future__ import annotations

import re
from types import SimpleNamespace

import numpy as np
import plotly.colors as pc
import plotly.graph_objects as go
import pytest

from ui import charts

TOKENS = ["[CLS]", "the", "cat", "sat", "because", "un", "##aff", "##able", ".", "[SEP]"]
ZH = ["[CLS]", "今", "天", "北京", "##国", "，", "大学", "[SEP]"]
BERT_BASE = SimpleNamespace(num_hidden_layers=12, num_attention_heads=12, hidden_size=768,
                            intermediate_size=3072, head_dim=64, vocab_size=30522,
                            max_position_embeddings=512, type_vocab_size=2)
COUNTS = {"embeddings": 23_837_184, "encoder": 85_054_464, "pooler": 590_592,
          "cls.predictions": 24_459_834, "cls.seq_relationship": 1_538}
ARCH_EN = {"input": "Input tokens", "embeddings": "Embeddings", "layer": "Encoder layer",
           "attention": "Multi-head self-attention", "ffn": "Feed-forward network",
           "pooler": "Pooler ([CLS])", "mlm": "Masked-LM head", "nsp": "Next-sentence head",
           "params": "params", "word": "word", "position": "position", "segment": "segment"}
HISTORY = [{"step": 10, "loss": 0.7, "accuracy": 0.5}, {"step": 20, "loss": 0.5},
           {"step": 30, "loss": 0.4, "accuracy": 0.8}]
STREAMLIT_GREY = "#808495"  # the tick colour Streamlit's chart theme gives (measured: 3.8:1)


def builders() -> dict[str, go.Figure]:
    """One figure from every builder in ui/charts.py (built at the current font scale)."""
    rng = np.random.default_rng(0)
    att = rng.dirichlet(np.ones(len(TOKENS)), len(TOKENS))
    return {
        "heatmap": charts.heatmap(att, TOKENS, TOKENS, "Layer 0, head 0", zmin=0, zmax=1,
                                  x_title="key token", y_title="query token"),
        "heatmap_zh": charts.heatmap(rng.random((len(ZH), len(ZH))), ZH, ZH, "注意力"),
        "heatmap_text": charts.heatmap(att[:3], TOKENS, ["a", "b", "c"], "cells",
                                       text=np.round(att[:3], 2).tolist()),
        "bars": charts.bars(["dog", "cat", "man"], [0.5, 0.3, 0.1], "#2 (was “cat”)",
                            highlight=1),
        "answer_counts": charts.answer_counts(["dog", "cat", "<b>x</b>"], [3, 0, 1],
                                              "The class's answers", highlight=[1]),
        "gauge": charts.gauge(0.73, "P(B follows A)", left="not next", right="next"),
        "position_map": charts.position_map(np.corrcoef(rng.normal(size=(6, 8))), range(6),
                                            "cos(position i, position j)"),
        "vectors": charts.vectors(rng.normal(size=(4, 64)), ["word", "position", "segment", "sum"],
                                  "the three parts"),
        "vectors_own_scale": charts.vectors(
            np.vstack([rng.normal(size=(4, 64)), 30 * rng.normal(size=(1, 64))]),
            ["word", "position", "segment", "sum", "LayerNorm(sum)"], own_scale=1),
        "curves": charts.curves(HISTORY, [("loss", "loss", charts.PALETTE[0], False),
                                          ("accuracy", "accuracy", charts.PALETTE[1], True)],
                                "training", x_title="step", y_title="loss",
                                hlines={"chance": 0.69}),
        "training_curves": charts.training_curves(HISTORY, loss_label="loss",
                                                  metric_labels={"accuracy": "Accuracy"},
                                                  step_label="step", title="curves",
                                                  max_steps=40),
        "confusion": charts.confusion([[5, 1], [2, 7]], ["neg", "pos"], "after",
                                      true_label="true", pred_label="predicted"),
        "points_2d": charts.points_2d(rng.normal(size=(20, 2)), [i % 2 for i in range(20)],
                                      ["neg", "pos"], "[CLS] vectors"),
    }


@pytest.fixture
def presenter():
    charts.set_font_scale(1.5)  # what app.py sets in presenter mode
    yield
    charts.set_font_scale(1.0)


# ----------------------------------------------------------------------------- reading a figure

def texts(fig: go.Figure) -> list[tuple[str, float | None, str | None]]:
    """(where, size, colour) of every text a reader sees in ``fig`` (hover labels excluded), with
    the size and colour the figure itself sets (None where it leaves them to the theme)."""
    lay = fig.layout
    out = [("layout.font", lay.font.size, lay.font.color)]
    if lay.title.text:
        out.append(("title", lay.title.font.size, lay.title.font.color))
    cartesian = [tr for tr in fig.data if tr.type in ("heatmap", "bar", "scatter")]
    if cartesian:
        for axis in (*fig.select_xaxes(), *fig.select_yaxes()):
            if axis.visible is not False and axis.showticklabels is not False:
                out.append((f"{axis.plotly_name}.tickfont", axis.tickfont.size,
                            axis.tickfont.color))
            if axis.title.text:
                out.append((f"{axis.plotly_name}.title", axis.title.font.size,
                            axis.title.font.color))
    if any(tr.type == "scatter" and tr.name for tr in fig.data):
        out.append(("legend", lay.legend.font.size, lay.legend.font.color))
    for tr in fig.data:
        if tr.type == "heatmap" and tr.showscale is not False:
            out.append(("colorbar.tickfont", tr.colorbar.tickfont.size, tr.colorbar.tickfont.color))
        if tr.type in ("heatmap", "bar") and tr.text is not None:
            out.append((f"{tr.type}.textfont", tr.textfont.size, None))
        if tr.type == "indicator":
            tick = tr.gauge.axis.tickfont
            out.append(("gauge.tickfont", tick.size, tick.color))
    for note in lay.annotations:
        if note.text:
            out.append(("annotation", note.font.size, note.font.color))
            for size in re.findall(r"font-size:\s*(\d+(?:\.\d+)?)px", note.text):
                out.append(("annotation span", float(size), note.font.color))
    return out


def luminance(color: str) -> float:
    """WCAG 2 relative luminance of a "#RRGGBB" or "rgb(r, g, b)" colour."""
    if color.startswith("#"):
        rgb = [int(color[i:i + 2], 16) / 255 for i in (1, 3, 5)]
    else:
        rgb = [float(v) / 255 for v in re.findall(r"[\d.]+", color)[:3]]
    lin = [c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in rgb]
    return 0.2126 * lin[0] + 0.7152 * lin[1] + 0.0722 * lin[2]


def contrast(a: str, b: str) -> float:
    hi, lo = sorted((luminance(a), luminance(b)), reverse=True)
    return (hi + 0.05) / (lo + 0.05)


# ----------------------------------------------------------------------------- text size

def test_the_contrast_formula():
    assert contrast("#000000", "#FFFFFF") == pytest.approx(21.0)
    assert contrast("#777777", "#FFFFFF") == pytest.approx(4.48, abs=0.01)
    assert contrast(STREAMLIT_GREY, "#FFFFFF") < 4.5  # why the ticks get a colour of their own


@pytest.mark.parametrize("name", list(builders()))
def test_presenter_text_is_at_least_18px_in_every_builder(presenter, name):
    fig = builders()[name]
    found = texts(fig)
    assert len(found) > 1
    small = [(where, size) for where, size, _ in found if size is None or size < 18]
    assert not small, f"{name}: text under 18 px (or left to Streamlit's 12 px theme): {small}"


@pytest.mark.parametrize("name", list(builders()))
def test_normal_mode_keeps_the_12px_type(name):
    fig = builders()[name]
    assert fig.layout.font.size == 12
    sizes = [size for _, size, _ in texts(fig)]
    assert None not in sizes and min(sizes) >= 12


@pytest.mark.parametrize("name", list(builders()))
def test_every_text_colour_passes_wcag_aa(presenter, name):
    fig = builders()[name]
    assert fig.layout.paper_bgcolor == charts.PAPER == "#FFFFFF"
    for where, _, color in texts(fig):
        if where.endswith("tickfont") or where in ("title", "layout.font"):
            assert color, f"{name}: {where} has no colour of its own (the theme's grey applies)"
        if color:
            assert contrast(color, charts.PAPER) >= 4.5, f"{name}: {where} {color}"


def test_readable_fixes_a_figure_built_elsewhere(presenter):
    fig = go.Figure(go.Heatmap(z=[[1, 2], [3, 4]]))
    fig.update_layout(title_text="elsewhere", title_font_size=12)
    fig.add_annotation(text="note", font=dict(size=9, color="#123456"))
    charts.readable(fig)
    assert fig.layout.title.font.size == 24 and fig.layout.xaxis.tickfont.size == 18
    assert fig.data[0].colorbar.tickfont.size == 18
    assert fig.layout.annotations[0].font.size == 18
    assert fig.layout.annotations[0].font.color == "#123456"  # a chosen colour is kept


def test_the_scale_is_per_session_thread_and_floors_at_18():
    assert charts.text_px(11) == 11
    charts.set_font_scale(1.5)
    try:
        assert charts.text_px(11) == 18 and charts.text_px(16) == 24 and charts.px(11) == 16
    finally:
        charts.set_font_scale(1.0)


# ----------------------------------------------------------------------------- labels that fit

def test_title_sits_above_the_token_labels_and_the_axis_title():
    fig = builders()["heatmap"]
    title = fig.layout.title
    assert (title.yref, title.y, title.yanchor, title.automargin) == ("container", 1, "top", True)
    assert fig.layout.xaxis.side == "top" and fig.layout.xaxis.automargin


@pytest.mark.parametrize("name", list(builders()))
def test_every_axis_makes_room_for_its_labels_instead_of_measuring_them(name):
    # automargin gives tick labels room; plotly's "hide past div" would measure each drawn label
    # (a forced layout each) to hide what sticks out, which then nothing does.
    fig = builders()[name]
    if all(tr.type == "indicator" for tr in fig.data):
        pytest.skip("a gauge draws no x or y axis")
    axes = [fig.layout[k] for k in fig.layout if re.fullmatch(r"[xy]axis\d*", k)]
    assert axes and all(a.automargin and a.ticklabeloverflow == "allow" for a in axes), name


def test_english_token_labels_turn_only_when_they_must():
    x = builders()["heatmap"].layout.xaxis
    assert x.tickangle is None  # plotly's "auto": the first of autotickangles that fits
    assert list(x.autotickangles) == [0, 45, 90]
    assert list(x.ticktext) == [charts.esc(v) for v in TOKENS]


def test_chinese_token_labels_stay_upright_and_stack():
    x = builders()["heatmap_zh"].layout.xaxis
    assert list(x.autotickangles)[0] == 0 and 45 not in x.autotickangles
    assert list(x.ticktext) == ["[CLS]", "今", "天", "北<br>京", "##<br>国", "，", "大<br>学",
                                "[SEP]"]
    assert list(builders()["heatmap_zh"].layout.yaxis.ticktext)[3] == "北京"  # rows: one line


def test_a_label_that_looks_like_markup_stays_text():
    ticks, cjk = charts.token_axis(["<b>", "中<i>"])
    assert ticks == ["&lt;b&gt;", "中&lt;i&gt;"] and not cjk


@pytest.mark.parametrize("rows", [13, 32, 512])
def test_row_labels_never_overlap(presenter, rows):
    labels = [f"tok{i}" for i in range(rows)]
    fig = charts.heatmap(np.zeros((rows, rows)), labels, labels, "t")
    y = fig.layout.yaxis
    line = 18 * 1.25
    shown = len(y.tickvals)
    assert shown <= charts.MAX_LABELS and len(fig.layout.xaxis.tickvals) <= charts.MAX_LABELS
    assert (fig.layout.height - 150) / shown >= line  # every shown label has a line of its own
    if rows <= 32:
        assert shown == rows


def test_sorted_units_is_one_shape_red_until_it_crosses_zero():
    values = np.array([0.3, -0.2, 1.5, -0.01, 0.0, 0.7, -1.1, 2.0])  # 4 units fire (above 0)
    fig = charts.sorted_units.fresh(values, unit_label="unit")
    (trace,) = fig.data  # one trace, one filled shape: not a bar per unit
    assert trace.type == "scatter" and trace.fill == "tozeroy" and trace.line.shape == "hvh"
    order = np.asarray(trace.customdata)
    assert sorted(order) == list(range(8)) and list(trace.y) == sorted(values, reverse=True)
    np.testing.assert_allclose(values[order], trace.y)
    # the fill is red up to the step between the 4th and 5th unit (x = 3.5 of 0..7), blue after
    grad = trace.fillgradient
    assert (grad.type, grad.start, grad.stop) == ("horizontal", 0, 7)
    (_, c0), (t1, c1), (t2, c2), (_, c3) = grad.colorscale
    assert c0 == c1 == charts.POSITIVE and c2 == c3 == charts.NEGATIVE
    assert t1 == t2 == pytest.approx(3.5 / 7)
    # no unit fires, or all do: the turn sits at an end, so the fill is one colour
    for v, end in ((-np.ones(5), 0), (np.ones(5), 1)):
        scale = charts.sorted_units.fresh(v).data[0].fillgradient.colorscale
        assert scale[1][0] == scale[2][0] == end


def test_column_labels_are_thinned_where_the_chart_is_narrow():
    css = charts.column_labels_css(12)
    assert '[data-testid="stPlotlyChart"] { container-type: inline-size; }' in css
    rules = [(int(w), int(k), int(step)) for w, k, step in re.findall(
        r"max-width: (\d+)px\) \{ g\.xtick:first-of-type:nth-last-of-type\(n\+(\d+)\) ~ "
        r"g\.xtick:not\(:nth-of-type\((\d+)n\+1\)\) text \{ visibility: hidden", css)]
    assert len(rules) == 44 and {step for _, _, step in rules} == {2, 4, 8, 16}

    def shown(width: int, n: int) -> int:
        """How many of n labels stay visible in a chart ``width`` px wide."""
        step = max([s for w, k, s in rules if width <= w and n >= k], default=1)
        return len(range(0, n, step))

    for width in (250, 350, 390, 700, 1000):  # the labels shown fit beside 120 px of row labels
        for n in (2, 13, 32, 64):
            assert shown(width, n) * 12 * 1.35 <= width - 120, (width, n)
    assert shown(1300, 32) == 32 and shown(700, 32) == 32  # a laptop: every token
    assert shown(390, 13) == 13 and shown(390, 2) == 2  # a phone, a short sentence: all
    assert shown(390, 32) == 8  # a phone, 32 tokens: every 4th (every 2nd would be 16 × 16 px)


def columns(line: str) -> int:
    """A line's width in columns, a CJK character counting two (as the title wrapping does)."""
    return sum(2 if charts.is_cjk(ch) else 1 for ch in line)


@pytest.mark.parametrize("title", [
    "The three parts and their sum, all 384 dimensions (red positive, blue negative)",
    "三个部分及其和，全部 384 维（红色为正，蓝色为负）——每一行是一个向量的全部维度",
])
def test_long_titles_wrap_to_fit_a_phone(title):
    lines = charts.heatmap([[1.0]], ["a"], ["b"], title).layout.title.text.split("<br>")
    assert len(lines) >= 2 and all(columns(line) <= charts.TITLE_LINE for line in lines)
    assert "".join(lines).replace(" ", "") == charts.esc(title).replace(" ", "")  # nothing lost
    assert not any(line[0] in "，。）" for line in lines[1:])  # no line opens with "，" or "）"
    charts.set_font_scale(1.5)  # a projector is wider: one line up to PRESENTER_TITLE_LINE
    try:
        assert "<br>" not in charts.heatmap([[1.0]], ["a"], ["b"], title).layout.title.text
    finally:
        charts.set_font_scale(1.0)
    short = "Layer 0: A → B, mean over heads"
    assert charts.heatmap([[1.0]], ["a"], ["b"], short).layout.title.text == charts.esc(short)


def gap_lines(fig: go.Figure) -> tuple[list[float], list[float]]:
    """Where a heatmap's gaps are drawn: between columns (x) and between rows (y), read from its
    one path of the background colour ("M x,y V y'" a column's line, "M x,y H x'" a row's), each
    checked to run across the whole heatmap."""
    paths = [g for g in fig.layout.shapes if g.type == "path" and g.line.color == charts.PAPER]
    assert len(paths) <= 1 and all((g.xref, g.yref) == ("x", "y") for g in paths)
    moves = re.findall(r"M([-\d.e]+),([-\d.e]+)([VH])([-\d.e]+)", paths[0].path) if paths else []
    trace = fig.data[0]
    x = (np.asarray(trace.x, dtype=float) if trace.x is not None
         else np.arange(np.shape(trace.z)[-1], dtype=float))
    half = (x[1] - x[0]) / 2 if len(x) > 1 else 0.5
    cols, rows = [], []
    for a, b, kind, c in moves:
        if kind == "V":
            cols.append(float(a))
        else:  # a row's line: from the first column's outer edge to the last's
            rows.append(float(b))
            assert (float(a), float(c)) == (x[0] - half, x[-1] + half)
    return cols, rows


def test_hundreds_of_columns_have_no_gaps():
    """A 1 px gap between cells hides the cells themselves when hundreds share a phone's width."""
    figs = builders()
    n = len(TOKENS)
    assert gap_lines(figs["heatmap"]) == ([c + 0.5 for c in range(n - 1)],
                                          [r + 0.5 for r in range(n - 1)])
    assert gap_lines(figs["vectors"]) == ([], [0.5, 1.5, 2.5])  # 64 dimensions touch; 4 rows don't
    wide = charts.heatmap(np.zeros((2, charts.GAPS_UP_TO + 1)))
    assert gap_lines(wide) == ([], [0.5])


def test_rows_on_a_scale_of_their_own_are_drawn_apart_with_their_own_colour_bar():
    rng = np.random.default_rng(1)
    parts, ln = rng.normal(size=(4, 64)), 30 * rng.normal(size=(1, 64))
    fig = charts.vectors(np.vstack([parts, ln]), ["w", "p", "s", "<b>sum</b>", "LN"], own_scale=1)
    top, bottom = fig.data
    np.testing.assert_allclose(top.z, parts)
    np.testing.assert_allclose(bottom.z, ln)
    assert top.zmax == -top.zmin == pytest.approx(np.abs(parts).max())  # each on its own scale
    assert bottom.zmax == -bottom.zmin == pytest.approx(np.abs(ln).max())
    gap = charts.VECTOR_BLOCK_GAP
    assert list(top.y) == [0, 1, 2, 3] and list(bottom.y) == [4 + gap]
    assert list(fig.layout.yaxis.tickvals) == [0, 1, 2, 3, 4 + gap]
    assert list(fig.layout.yaxis.ticktext) == ["w", "p", "s", "&lt;b&gt;sum&lt;/b&gt;", "LN"]
    assert list(fig.layout.yaxis.range) == [4 + gap + 0.5, -0.5]  # rows top to bottom
    assert gap_lines(fig) == ([], [0.5, 1.5, 2.5])  # lines between the rows inside a block only
    # Each colour bar beside its own block: the top one spans the four rows and ends above the
    # gap, the bottom one starts under it.
    span = 5 + gap
    assert top.colorbar.y == 1 and top.colorbar.len == pytest.approx(4 / span)
    assert bottom.colorbar.y == pytest.approx(1 - (4 + gap) / span)
    assert bottom.colorbar.y < 1 - 4 / span and bottom.colorbar.yanchor == "top"
    assert [float(v) for v in bottom.colorbar.tickvals] == [-bottom.zmax, bottom.zmax]
    # The hover writes the dimension and the value (the row is the one labelled beside it): no
    # label per cell.
    assert top.customdata is None and bottom.customdata is None
    assert top.hovertemplate == bottom.hovertemplate == "%{x}: %{z:+.4f}<extra></extra>"
    labelled = charts.heatmap(np.eye(2), ["x", "y"], ["<a>", "b"])  # a heatmap's own: per cell
    assert labelled.data[0].customdata[0][1] == "&lt;a&gt; → y"
    named = charts.vectors(parts, ["w", "p", "s", "sum"], dim_label="<dim>")
    assert named.data[0].hovertemplate == "&lt;dim&gt; %{x}: %{z:+.4f}<extra></extra>"
    one = charts.vectors(parts, ["w", "p", "s", "sum"], own_scale=0)
    assert len(one.data) == 1 and list(one.data[0].y) == [0, 1, 2, 3]


def test_the_position_map_is_drawn_on_its_positions():
    sim = np.eye(3)
    every = charts.position_map(sim, [0, 1, 2])
    assert gap_lines(every) == ([0.5, 1.5], [0.5, 1.5])
    sampled = charts.position_map(sim, [0, 4, 8])  # every 4th position of 12
    assert list(sampled.data[0].x) == [0, 4, 8] and gap_lines(sampled) == ([2.0, 6.0], [2.0, 6.0])
    assert sampled.data[0].customdata is None  # the hover reads the axes


def test_heatmaps_leave_plotly_its_fast_drawing():
    """plotly.js draws a heatmap as one pixel per cell, scaled, only when it has no xgap / ygap
    (its gaps are lines over the cells instead)."""
    for name, fig in builders().items():
        for trace in fig.data:
            if trace.type == "heatmap":
                assert not trace.xgap and not trace.ygap, name


def test_architecture_draws_the_model_s_own_numbers():
    drawn = charts.architecture_html(BERT_BASE, COUNTS, ARCH_EN)
    text = re.sub(r"<[^>]+>", " ", drawn.split("</style>", 1)[1])
    for shown in ("Encoder layer × 12", "85,054,464 params", "768 → 3072 → 768", "12 × 64 = 768",
                  "word 30,522×768", "position 512×768", "segment 2×768", "23,837,184 params",
                  "590,592 params", "24,459,834 params", "1,538 params", "≤ 512"):
        assert shown in text, shown
    # bottom-up as the data flows: the heads on top, the input last
    order = [text.index(k) for k in ("Pooler", "Encoder layer", "Feed-forward",
                                     "Multi-head", "Embeddings", "Input tokens")]
    assert order == sorted(order)
    # the 11 layers behind the front one, each a filled card with its edge
    stack = re.search(r'class="bl-arch-layer" style="box-shadow:([^"]+)"', drawn).group(1)
    assert stack.count("#DDE6F0") == 11 and stack.count("#9DB3CC") == 11


def test_architecture_escapes_labels_and_greys_a_missing_head():
    text = dict(ARCH_EN, mlm="<b>MLM</b>", nsp="NSP & co")
    no_heads = {k: v for k, v in COUNTS.items() if not k.startswith("cls.")}
    drawn = charts.architecture_html(BERT_BASE, no_heads, text)
    assert "<b>MLM</b>" not in drawn
    assert "&lt;b&gt;MLM&lt;/b&gt;" in drawn and "NSP &amp; co" in drawn
    assert drawn.count("background:#F1F1F1") == 2 and drawn.count("<small>—</small>") == 2


def test_architecture_type_follows_presenter_mode(presenter):
    assert "font-size: 21px" in charts.architecture_html(BERT_BASE, COUNTS, ARCH_EN)
    assert "font-size: 18px" in charts.architecture_html(BERT_BASE, COUNTS, ARCH_EN)


# ----------------------------------------------------------------------------- bar lists

def bar_rows(drawn: str) -> list[tuple[str, float, str, str]]:
    """(label, length in % of the track, colour, value as written) of each row of a bar list."""
    return re.findall(r'<span class="bl-bars-label" dir="auto">(.*?)</span><span class="[^"]+">'
                      r'<span class="bl-bars-bar" style="width:([\d.]+)%;'
                      r'background:([^"]+)"></span></span><span class="bl-bars-value">(.*?)</span>',
                      drawn)


def test_bar_list_on_the_absolute_scale_draws_each_probability_as_its_share():
    drawn = charts.bars_html(["paris", "<b>x</b>", "rome"], [0.9, 0.05, 0.0], "#4 (was “a”)",
                             x_max=1.0, highlight=1)
    rows = bar_rows(drawn)
    assert [(label, float(w), c, v) for label, w, c, v in rows] == [
        ("paris", 90.0, charts.PALETTE[0], "90.0%"),
        ("&lt;b&gt;x&lt;/b&gt;", 5.0, charts.PALETTE[1], "5.0%"),  # escaped, and highlighted
        ("rome", 0.0, charts.PALETTE[0], "0.0%")]
    assert "<b>x</b>" not in drawn and "#4 (was “a”)" in drawn
    assert drawn.count('class="bl-bars-track bl-bars-whole"') == 3  # the whole 100 % shown
    assert '<span class="bl-bars-scale"><span>0%</span><span>100%</span>' in drawn


def test_bar_list_scaled_to_its_longest_bar_with_numbers_and_categories():
    colors = [charts.PALETTE[0], charts.PALETTE[1], charts.PALETTE[0]]
    drawn = charts.bars_html(["h", "update", "sum"], [8.0, 2.0, -1.0], percent=False,
                             colors=colors)
    rows = bar_rows(drawn)
    assert [(float(w), c, v) for _, w, c, v in rows] == [
        (100.0, colors[0], "8"), (25.0, colors[1], "2"), (0.0, colors[2], "-1")]  # < 0: no bar
    assert "bl-bars-whole\"" not in drawn and "bl-bars-scale\"" not in drawn
    assert "bl-bars-title" not in drawn.split("</style>")[1]  # no title asked for


def test_bar_list_type_follows_presenter_mode(presenter):
    assert "font-size: 21px" in charts.bars_html(["a"], [1.0])
    assert "font-size: 18px" in charts.bars_html(["a"], [1.0])  # its scale's ends

# ----------------------------------------------------------------------------- colour language

def scale(name) -> list:
    return [[round(float(p), 6), c] for p, c in pc.get_colorscale(name)]


def used(trace) -> list:
    return [[round(float(p), 6), c] for p, c in trace.colorscale]


def rgb(color: str) -> tuple[float, ...]:
    return tuple(float(v) for v in re.findall(r"[\d.]+", pc.convert_colors_to_same_type(
        color, colortype="rgb")[0][0])[:3])


def test_every_heatmap_uses_one_of_the_two_scales():
    figs = builders()
    for name, fig in figs.items():
        for tr in fig.data:
            if tr.type == "heatmap":
                assert used(tr) in (scale(charts.SEQUENTIAL), scale(charts.DIVERGING)), name
    signed = figs["vectors"].data[0]
    assert used(signed) == scale(charts.DIVERGING)
    assert signed.zmid == 0 and signed.zmin == -signed.zmax  # centred: a colour is one size


def test_red_means_above_zero_and_dark_means_more():
    low, high = rgb(scale(charts.DIVERGING)[0][1]), rgb(scale(charts.DIVERGING)[-1][1])
    assert high[0] > high[2] and low[2] > low[0]  # red at the top end, blue at the bottom
    seq = [luminance(pc.convert_colors_to_same_type(c, colortype="rgb")[0][0])
           for _, c in scale(charts.SEQUENTIAL)]
    assert seq == sorted(seq, reverse=True)  # white (nothing) to dark blue (the most)


def test_scales_read_in_lightness_too():
    """Colour-blind safe: the sequential scale is one ramp of lightness, the diverging one is
    light in the middle and dark at both ends, so no colour vision is needed to read either."""
    div = [luminance(pc.convert_colors_to_same_type(c, colortype="rgb")[0][0])
           for _, c in scale(charts.DIVERGING)]
    mid = len(div) // 2
    assert div[:mid + 1] == sorted(div[:mid + 1]) and div[mid:] == sorted(div[mid:], reverse=True)
    assert div[mid] > 0.8 and div[0] < 0.2 and div[-1] < 0.2


def test_answer_counts_show_whole_counts_and_the_models_answer():
    fig = charts.answer_counts(["dog", "cat", "<b>x</b>"], [3, 0, 1], "answers", highlight=[1])
    bar = fig.data[0]
    assert list(bar.text) == ["3", "0", "1"]  # students, not "3.00" or "300%"
    assert list(bar.marker.color) == [charts.PALETTE[0], charts.PALETTE[1], charts.PALETTE[0]]
    assert "&lt;b&gt;x&lt;/b&gt;" in fig.layout.yaxis.ticktext  # a typed answer stays text
    assert fig.layout.xaxis.range[1] > 3  # the longest bar and its number fit
    empty = charts.answer_counts(["yes", "no"], [0, 0])
    assert empty.layout.xaxis.range[1] >= 1  # no answers yet: an axis, not a zero-width one


# ----------------------------------------------------------------------------- shared figures

def test_a_figure_is_built_once_per_arguments_and_type_size():
    m = np.arange(12, dtype=float).reshape(3, 4) / 12
    first = charts.heatmap(m, TOKENS[:4], TOKENS[:3], "shared?")
    assert charts.heatmap(m.copy(), list(TOKENS[:4]), TOKENS[:3], "shared?") is first
    assert charts.heatmap(m, TOKENS[:4], TOKENS[:3], "another title") is not first
    assert charts.heatmap(m * 0.5, TOKENS[:4], TOKENS[:3], "shared?") is not first
    assert charts.bars(["a"], [0.5], "shared?") is not first  # (another builder)
    try:
        charts.set_font_scale(1.5)  # presenter mode: its own, larger figure
        big = charts.heatmap(m, TOKENS[:4], TOKENS[:3], "shared?")
        assert big is not first and big.layout.font.size > first.layout.font.size
    finally:
        charts.set_font_scale(1.0)
    fresh = charts.heatmap.fresh(m, TOKENS[:4], TOKENS[:3], "shared?")
    assert fresh is not first and fresh.to_json() == first.to_json()


def test_the_shared_figures_are_bounded(monkeypatch):
    monkeypatch.setattr(charts, "SHARED_FIGURES", 3)
    figs = [charts.gauge(p / 10, "bounded") for p in range(5)]
    assert len(charts._shared) <= 3
    assert charts.gauge(0.4, "bounded") is figs[4]  # the newest are kept
    assert charts.gauge(0.0, "bounded") is not figs[0]  # the oldest was let go


def test_large_or_unpicklable_arguments_build_their_own(monkeypatch):
    monkeypatch.setattr(charts, "SHARED_ARGS_MAX", 1000)
    big = np.zeros((40, 40))
    assert charts.heatmap(big) is not charts.heatmap(big)
    assert charts.bars(iter(["a"]), [0.1]) is not None  # (a generator cannot be pickled)


def test_no_caller_changes_a_shared_figure():
    """A figure from a shared builder is handed to every session that draws the same view, so a
    page or view that changes a figure after building it must use ``builder.fresh``: here, every
    name assigned ``charts.<builder>(...)`` in pages/ and ui/ is never changed afterwards."""
    import ast
    from pathlib import Path

    root = Path(__file__).resolve().parent.parent
    builders = {n for n, f in vars(charts).items() if callable(f) and hasattr(f, "fresh")}
    assert {"heatmap", "bars", "vectors", "gauge"} <= builders
    bad = []
    for path in [*root.glob("pages/*.py"), *root.glob("ui/**/*.py")]:
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for fn in [tree, *[n for n in ast.walk(tree) if isinstance(n, ast.FunctionDef)]]:
            body = fn.body
            shared_names = set()
            for node in ast.walk(ast.Module(body=body, type_ignores=[])):
                if (isinstance(node, ast.Assign) and isinstance(node.value, ast.Call)
                        and isinstance(node.value.func, ast.Attribute)
                        and node.value.func.attr in builders
                        and (path.name == "charts.py" or (
                            isinstance(node.value.func.value, ast.Name)
                            and node.value.func.value.id == "charts"))):
                    shared_names |= {t.id for t in node.targets if isinstance(t, ast.Name)}
            for node in ast.walk(ast.Module(body=body, type_ignores=[])):
                if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                        and isinstance(node.func.value, ast.Name)
                        and node.func.value.id in shared_names
                        and node.func.attr.startswith(("update", "add_", "for_each", "set_"))):
                    bad.append(f"{path.relative_to(root)}:{node.lineno}")
    assert not bad, f"a shared figure is changed (use builder.fresh): {sorted(set(bad))}"


def test_sessions_asking_at_once_wait_for_one_build(monkeypatch):
    """Forty followers redraw the teacher's new view at the same moment: the figure is built
    once, and every session gets that one."""
    import threading
    import time

    calls = []
    real = charts.gauge.fresh

    def slow(*args, **kwargs):
        calls.append(1)
        time.sleep(0.2)
        return real(*args, **kwargs)

    get = charts.shared(slow)
    got = []
    threads = [threading.Thread(target=lambda: got.append(get(0.123, "at once")))
               for _ in range(8)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert len(calls) == 1 and len(got) == 8 and all(f is got[0] for f in got)
    assert not charts._building


def test_a_failed_build_leaves_no_one_waiting():
    def broken(*args):
        raise ValueError("no figure")

    get = charts.shared(broken)
    for _ in range(2):
        with pytest.raises(ValueError):
            get(1)
    assert not charts._building


def test_a_shared_figure_gives_its_dict_made_once():
    """st.plotly_chart asks each figure for ``to_dict()`` (a deep copy, arrays in base64): a shared
    figure makes it once, the same as a fresh figure's."""
    m = np.eye(3)
    fig = charts.heatmap(m, TOKENS[:3], TOKENS[:3], "dict once")
    assert fig.to_dict() is fig.to_dict()
    fresh = charts.heatmap.fresh(m, TOKENS[:3], TOKENS[:3], "dict once")
    assert fig.to_json() == fresh.to_json()

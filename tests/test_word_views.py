"""The token views' building blocks: right-to-left runs of tokens (ui.bidi) and how the chips lay
them out, the probability bars' absolute axis, and the word table of the logit lens."""

from __future__ import annotations

import json
import re
from html.parser import HTMLParser

import plotly.colors

from ui import bidi, charts, word_table

ARABIC = ["م", "##ر", "##حب", "##ا", "ب", "##ال", "##عالم"]  # "مرحبا بالعالم" in pieces
HEBREW = ["ש", "##לום"]


class Chips(HTMLParser):
    """The chips' HTML as a tree of (tag, attributes, children, text)."""

    def __init__(self):
        super().__init__()
        self.root = ("root", {}, [], [])
        self.stack = [self.root]

    def handle_starttag(self, tag, attrs):
        node = (tag, dict(attrs), [], [])
        self.stack[-1][2].append(node)
        self.stack.append(node)

    def handle_endtag(self, tag):
        self.stack.pop()

    def handle_data(self, data):
        self.stack[-1][3].append(data)


def parse(html: str):
    p = Chips()
    p.feed(html)
    assert len(p.stack) == 1, "unbalanced tags"
    (outer,) = p.root[2]
    return outer


def chip_texts(node) -> list[tuple[str, str | None]]:
    """(token, dir) of the chips under ``node``, in document order; runs are descended into."""
    out = []
    for child in node[2]:
        if "bl-chips-run" in child[1].get("class", ""):
            out += chip_texts(child)
        else:  # a chip: a column holding the token's box, then its sublabel
            box = child[2][0]
            out.append(("".join(box[3]), box[1].get("dir")))
    return out


def runs(node) -> list[tuple[str, list[str]]]:
    """(dir, tokens) of each nested run under ``node``."""
    return [(c[1]["dir"], [t for t, _ in chip_texts(c)]) for c in node[2]
            if "bl-chips-run" in c[1].get("class", "")]


def test_token_directions():
    assert bidi.text_direction("the") == "ltr" and bidi.text_direction("##ing") == "ltr"
    assert bidi.text_direction("م") == "rtl" and bidi.text_direction("##ال") == "rtl"
    assert bidi.text_direction("##לום") == "rtl"
    for neutral in ("[CLS]", "[SEP]", "[MASK]", "42", ".", "##", "😀"):
        assert bidi.text_direction(neutral) is None, neutral


def test_runs_follow_the_first_strong_token_and_neutrals_join_their_neighbours():
    tokens = ["[CLS]", *ARABIC, "the", "dog", "[SEP]"]
    base, found = bidi.bidi_runs(tokens)
    assert base == "rtl"  # the first strong token is Arabic ([CLS] has no direction)
    assert found == [("rtl", list(range(8))), ("ltr", [8, 9]), ("rtl", [10])]
    base, found = bidi.bidi_runs(["[CLS]", "the", "م", ".", "##ر", "dog", "[SEP]"])
    assert base == "ltr"
    assert found == [("ltr", [0, 1]), ("rtl", [2, 3, 4]), ("ltr", [5, 6])]
    assert bidi.bidi_runs(["[CLS]", "1", "[SEP]"]) == ("ltr", [("ltr", [0, 1, 2])])
    assert bidi.bidi_runs(["the", "م"], "rtl")[0] == "rtl"  # a base given is kept


def test_left_to_right_chips_are_unchanged():
    tokens = ["[CLS]", "the", "un", "##aff", "##able", "dog", "[SEP]"]
    html = charts.chips_html(tokens, ["#123456"] * len(tokens), [str(i) for i in range(7)])
    assert "dir=" not in html and "bl-chips-run" not in html
    assert [t for t, _ in chip_texts(parse(html))] == tokens


def test_right_to_left_chips_read_from_the_right_with_the_marks_on_the_joining_side():
    tokens = ["[CLS]", *ARABIC, "[SEP]"]
    outer = parse(charts.chips_html(tokens, ["#123456"] * len(tokens)))
    # The whole line is laid out right to left ([CLS] rightmost) and each piece's text too, so
    # "##ر" shows its "##" on the right: towards "م", the piece it joins.
    assert outer[1]["dir"] == "rtl" and runs(outer) == []
    chips = chip_texts(outer)
    assert [t for t, _ in chips] == tokens  # the document keeps reading order; dir lays it out
    assert all(d == "rtl" for _, d in chips)


def test_a_right_to_left_word_inside_english_is_a_run_of_its_own():
    tokens = ["[CLS]", "the", *HEBREW, "dog", "[SEP]"]
    outer = parse(charts.chips_html(tokens, ["#123456"] * len(tokens), list("abcdef")))
    assert outer[1]["dir"] == "ltr"
    assert runs(outer) == [("rtl", HEBREW)]
    chips = dict(chip_texts(outer))
    assert chips["the"] == "ltr" and chips["##לום"] == "rtl"
    assert [t for t, _ in chip_texts(outer)] == tokens
    # a sublabel (an id, "✓ in the vocabulary") reads in its own direction, not its chip's
    html = charts.chips_html(tokens, ["#123456"] * len(tokens), list("abcdef"))
    assert html.count('dir="auto" style="font-size:0.72em') == len(tokens)


def test_chips_escape_right_to_left_text_too():
    html = charts.chips_html(["م", "<b>x</b>"], ["#123456"] * 2, ['<i>"', "&"])
    assert "<b>" not in html and "&lt;b&gt;" in html and "<i>" not in html


def test_absolute_probability_bars():
    spec = json.loads(charts.bars(["paris", "lyon"], [0.03, 0.01], x_max=1.0).to_json())
    assert spec["layout"]["xaxis"]["range"] == [0, 1]
    assert spec["layout"]["xaxis"]["tickvals"][-1] == 1.0
    scaled = json.loads(charts.bars(["paris", "lyon"], [0.03, 0.01]).to_json())
    assert scaled["layout"]["xaxis"]["range"][1] < 0.1  # without x_max: scaled to the top bar
    high = json.loads(charts.bars(["a", "b"], [0.95, 0.02], x_max=1.0, highlight=1).to_json())
    bar = high["data"][0]
    assert bar["textposition"] == ["inside", "outside"]  # 95 % writes its value inside
    assert bar["marker"]["color"][1] == charts.PALETTE[1] != bar["marker"]["color"][0]


def test_the_word_table_shades_by_probability_and_marks_a_word():
    html = word_table.html(["layer 0", "layer 1"], ["guess 1", "guess 2"],
                           [["cat", "<dog>"], ["dog", "cat"]], [[0.9, 0.05], [0.5, 0.2]],
                           mark="cat")
    assert "<dog>" not in html and "&lt;dog&gt;" in html
    cells = re.findall(r'<td style="([^"]*)">(.*?)</td>', html)
    assert [re.sub("<.*", "", c) for _, c in cells] == ["cat", "&lt;dog&gt;", "dog", "cat"]
    assert [("outline" in style) for style, _ in cells] == [True, False, False, True]
    shade = [re.search(r"background:(rgb\([^)]*\))", style).group(1) for style, _ in cells]
    lum = [sum(int(v) for v in re.findall(r"\d+", s)) for s in shade]
    assert lum[0] < lum[2] < lum[3] < lum[1]  # darker for more probable
    assert "color:#FFFFFF" in cells[0][0] and f"color:{charts.INK}" in cells[1][0]
    assert "90%" in cells[0][1] and "5%" in cells[1][1]


def test_a_table_of_words_alone_takes_each_cells_own_colour():
    html = word_table.html(["0", "1"], ["0", "1"], [["[CLS]", "<b>"], ["broad", "self"]],
                           fills=[["#C9D7E8", "#2B2D42"], ["#C9D7E8", "#F6D3B0"]],
                           corner="layer ↓ head →", label_width="4em")
    assert "<b>" not in html.split("</style>")[1] and "&lt;b&gt;" in html
    cells = re.findall(r'<td style="([^"]*)">(.*?)</td>', html)
    assert [c for _, c in cells] == ["[CLS]", "&lt;b&gt;", "broad", "self"]  # no share below
    assert [re.search(r"background:(rgb\([^)]*\))", s).group(1) for s, _ in cells] == [
        "rgb(201, 215, 232)", "rgb(43, 45, 66)", "rgb(201, 215, 232)", "rgb(246, 211, 176)"]
    assert "color:#FFFFFF" in cells[1][0] and f"color:{charts.INK}" in cells[0][0]
    assert re.search(r'<th style="width:4em;[^"]*">layer ↓ head →</th>', html)
    assert "overflow-x" not in html  # the columns share the width there is
    narrow = word_table.html(["0"], ["0", "1"], [["broad", "self"]], fills=[["#C9D7E8"] * 2],
                             label_width="4em", min_cell="5em")
    assert narrow.split("</style>")[1].startswith('<div style="overflow-x:auto;"><table')
    assert "min-width:calc(4em + 2 * 5em);" in narrow and narrow.endswith("</table></div>")


def test_a_table_of_numbers_writes_each_value_under_its_column():
    html = word_table.numbers(["word “<b>”", "sum"], ["dim 0", "dim 1"], [[0.5, -0.25], [1, 0]])
    assert "<b>" not in html and "&lt;b&gt;" in html
    rows = re.findall(r"<tr>(.*?)</tr>", html)
    assert [re.findall(r"<t[hd][^>]*>(.*?)</t[hd]>", r) for r in rows] == [
        ["", "dim 0", "dim 1"], ["word “&lt;b&gt;”", "+0.5000", "-0.2500"],
        ["sum", "+1.0000", "+0.0000"]]
    assert html.startswith('<div style="overflow-x:auto;">')  # a phone scrolls it sideways
    assert "%.1f" not in word_table.numbers(["a"], ["b"], [[2]], "{:.1f}") and ">2.0<" in (
        word_table.numbers(["a"], ["b"], [[2]], "{:.1f}"))


def test_text_on_every_shade_keeps_aa_contrast():
    from plotly.colors import sample_colorscale

    assert round(word_table.contrast("rgb(0, 0, 0)", "rgb(255, 255, 255)"), 1) == 21.0
    as_rgb = {charts.INK: "rgb(43, 45, 66)", "#FFFFFF": "rgb(255, 255, 255)",
              "#000000": "rgb(0, 0, 0)"}
    for shade in sample_colorscale(charts.SEQUENTIAL, [i / 50 for i in range(51)]):
        ink = word_table.text_color(shade)
        assert word_table.contrast(shade, as_rgb[ink]) >= 4.5, (shade, ink)


def test_signed_scores_fill_their_chips_on_the_diverging_scale_with_readable_text():
    scores = [-2.0, -0.5, 0.0, 1.0, 2.0]
    colors = charts.diverging_colors(scores)
    ends = plotly.colors.sample_colorscale(charts.DIVERGING, [0.0, 0.5, 1.0])
    assert (colors[0], colors[2], colors[-1]) == tuple(ends)  # ± the largest at the ends, 0 white
    red, blue = (tuple(map(int, re.findall(r"\d+", c))) for c in (colors[3], colors[1]))
    assert red[0] > red[2] and blue[2] > blue[0]  # red above 0, blue below
    assert charts.diverging_colors([0.0, 0.0]) == [ends[1]] * 2  # nothing to scale: all white
    html = charts.chips_html(["a", "b", "c", "d", "e"], ["#C9D3DF"] * 5, fill=colors)
    for color in colors:
        ink = word_table.text_color(color)
        assert f"background:{color};" in html and f"color:{ink};" in html
        rgb = {"#FFFFFF": "rgb(255, 255, 255)", charts.INK: "rgb(43, 45, 66)",
               "#000000": "rgb(0, 0, 0)"}[ink]
        assert word_table.contrast(color, rgb) >= 4.5

"""ui.bertviz_view: bertviz's views as self-contained, offline, injection-safe HTML documents."""

from __future__ import annotations

import json
import re
import subprocess
from html.parser import HTMLParser
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
import torch

import bertcore
from app_support import bertviz_params
from bertcore import attention
from ui import bertviz_view as V

REPO = Path(__file__).resolve().parent.parent

# What each vendored file says about itself in its first lines.
SIGNATURES = {"jquery": "jQuery v2.1.0", "d3": "d3js.org v5.7.0", "requirejs": "RequireJS 2.3.6"}


def _vendor_or_skip() -> Path:
    folder = V.vendor_dir()
    if V.missing_vendor(folder):
        # Try to fetch them once (scripts/vendor_js.sh needs npm and the npm registry).
        try:
            subprocess.run(["bash", str(REPO / "scripts" / "vendor_js.sh"), str(folder)],
                           check=True, capture_output=True, timeout=120)
        except (OSError, subprocess.SubprocessError):
            pass
    if V.missing_vendor(folder):
        pytest.skip(f"vendored JavaScript missing in {folder}: run `make vendor` (needs npm)")
    return folder


@pytest.fixture(scope="module")
def vendor():
    return _vendor_or_skip()


@pytest.fixture(scope="module")
def bert(tiny_ckpt):
    return bertcore.load(str(tiny_ckpt[0]), device="cpu")


EVIL = ["[CLS]", "</script><script>window.__pwned=1</script>",
        "<img src=x onerror=window.__pwned=1>", "a&b", "\u2028", "[SEP]"]


def fake_explained(tokens, layers=2, heads=3, type_ids=None):
    """Something with .tokens, .attentions and .encoding.type_ids, as bertviz_view reads."""
    n = len(tokens)
    g = torch.Generator().manual_seed(0)
    atts = tuple(torch.softmax(torch.randn(1, heads, n, n, generator=g), -1) for _ in range(layers))
    enc = SimpleNamespace(type_ids=type_ids or [0] * n)
    return SimpleNamespace(tokens=list(tokens), attentions=atts, encoding=enc)


class _Elements(HTMLParser):
    """The elements a browser's tokenizer would see (script bodies are raw text to it too)."""

    def __init__(self):
        super().__init__()
        self.tags: list[str] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)


def _elements(doc: str) -> list[str]:
    parser = _Elements()
    parser.feed(doc)
    return parser.tags


def _assert_offline(doc: str):
    assert doc.startswith("<!DOCTYPE html>") and doc.rstrip().endswith("</html>")
    assert not re.search(r"<script[^>]*\bsrc\s*=", doc, re.I), "every script must be inline"
    assert not re.search(r"<link[^>]*\bhref\s*=\s*[\"']https?:", doc, re.I)
    for cdn in ("cdnjs", "jsdelivr", "unpkg", "googleapis", "cloudflare"):
        assert cdn not in doc.lower(), cdn
    assert "require.config({" not in doc
    assert not re.search(r"[\"']https?://[^\"']+\.js[\"']", doc), "a script URL is left"
    # The inlined libraries, by their banners, in load order: jQuery, d3, require.js, then bertviz.
    where = [doc.index(sig) for sig in SIGNATURES.values()]
    assert where == sorted(where)
    assert doc.index('define("d3"') > doc.index("RequireJS 2.3.6")
    assert doc.index("requirejs(['jquery', 'd3']") > doc.index('define("d3"')


def test_vendor_files_present(vendor):
    assert V.missing_vendor(vendor) == []
    for name, sig in SIGNATURES.items():
        text = (vendor / V.VENDOR_FILES[name]).read_text(encoding="utf-8")
        assert sig in text, name


def test_vendor_script_is_idempotent(vendor):
    out = subprocess.run(["bash", str(REPO / "scripts" / "vendor_js.sh"), str(vendor)],
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 0 and "already" in out.stdout


def test_vendor_script_without_npm_says_so(tmp_path):
    out = subprocess.run(["bash", str(REPO / "scripts" / "vendor_js.sh"), str(tmp_path / "v")],
                         capture_output=True, text=True, timeout=60, env={"PATH": "/nonexistent"},
                         executable="/bin/bash")
    assert out.returncode != 0 and "npm is not installed" in out.stderr


def test_head_view_is_offline_and_complete(vendor, bert):
    x = bert.explain("the dog barked .")
    doc = V.head_view_html(x, layer=1, heads=[0, 2], labels={"layer": "层"})
    _assert_offline(doc)
    assert "层: <select" in doc and "Layer: <select" not in doc
    params = bertviz_params(doc)
    assert params["layer"] == 1 and params["heads"] == [0, 2]
    assert params["attention"][0]["left_text"] == x.tokens
    attn = np.array(params["attention"][0]["attn"])  # (L, H, T, T)
    assert attn.shape == (2, 4, len(x.tokens), len(x.tokens))
    np.testing.assert_allclose(attn, np.stack([a[0].numpy() for a in x.attentions]), atol=1e-4)


def test_head_view_draws_lines_for_the_shown_heads_only(vendor, bert):
    doc = V.head_view_html(bert.explain("the dog barked ."), heads=[1])
    # Hidden heads get no lines, and a click on a head's square draws them anew (in a real
    # browser: tests/test_browser.py).
    assert "config.headVis[h] ? a : []" in doc
    assert doc.count("renderAttention(svg, config.attention[config.filter]") == 2
    assert "updateAttention(svg);" not in doc  # both click handlers changed
    with pytest.raises(RuntimeError, match="bertviz 1.4.1"):  # another bertviz: said, not drawn
        V._lines_of_shown_heads(doc)


def test_model_view_thumbnails_are_paths(vendor, bert):
    doc = V.model_view_html(bert.explain("the dog barked ."))
    start, end = doc.index("function renderThumbnailAttn"), doc.index("function renderDetailFrame")
    thumbnail = doc[start:end]
    # A few paths a thumbnail (what they draw is checked in a real browser: test_browser.py);
    # the enlarged view keeps bertviz's line per pair of tokens.
    assert 'append("path")' in thumbnail and 'append("line")' not in thumbnail
    assert 'append("line")' in doc[doc.index("function renderDetailAttn"):]
    with pytest.raises(RuntimeError, match="bertviz 1.4.1"):  # another bertviz: said, not drawn
        V._thumbnails_as_paths(doc)


def test_model_view_pair_and_labels(vendor, bert):
    x = bert.explain("the dog barked .", "it rained")
    assert V.sentence_b_start(x) == x.tokens.index("[SEP]") + 1
    doc = V.model_view_html(x, labels={"heads": "注意力头", "layers": "层",
                                       "a_b": "句子 A → 句子 B"})
    _assert_offline(doc)
    assert '.text("注意力头")' in doc and '.text("层")' in doc
    assert ">句子 A → 句子 B</option>" in doc
    params = bertviz_params(doc)
    assert [d["name"] for d in params["attention"]][:2] == ["All", "Sentence A -> Sentence A"]
    assert params["total_heads"] == 4


@pytest.mark.parametrize("view", [V.head_view_html, V.model_view_html])
def test_tokens_cannot_break_out_of_the_script(vendor, view):
    x = fake_explained(EVIL)
    doc = view(x)
    _assert_offline(doc)
    # Exactly our five scripts (jQuery, d3, require.js, the defines, bertviz): no injected one.
    tags = _elements(doc)
    assert tags.count("script") == 5 and "img" not in tags
    assert "<img" not in doc and "</script><script>window" not in doc
    assert "\\u003c/script\\u003e\\u003cscript\\u003ewindow.__pwned=1" in doc
    # ... and the tokens still arrive intact for d3's .text().
    assert bertviz_params(doc)["attention"][0]["left_text"] == EVIL


SERVED = re.compile(r'<script src="app/static/bertviz/([\w.]+)\?v=([0-9a-f]{12})"></script>')


@pytest.fixture
def served(vendor, tmp_path, monkeypatch):
    """A static folder holding copies of the vendored libraries (the app's static/bertviz/)."""
    folder = tmp_path / "static" / "bertviz"
    folder.mkdir(parents=True)
    for f in V.VENDOR_FILES.values():
        (folder / f).write_bytes((vendor / f).read_bytes())
    monkeypatch.setattr(V, "static_dir", lambda: folder)
    return folder


@pytest.mark.parametrize("view", [V.head_view_html, V.model_view_html])
def test_served_documents_load_the_libraries_from_the_app(served, bert, view):
    x = bert.explain("the dog barked .", "it rained")
    doc, inline = view(x, js="served"), view(x, js="inline")
    # The three libraries as <script src> of the app's static files, in load order, each URL
    # versioned by its content; then the defines and bertviz, as in the inline document.
    urls = SERVED.findall(doc)
    assert [f for f, _ in urls] == list(V.VENDOR_FILES.values())
    assert _elements(doc).count("script") == 5
    for sig in SIGNATURES.values():
        assert sig not in doc
    assert doc.index("require.js?v=") < doc.index('define("d3"') < doc.index(
        "requirejs(['jquery', 'd3']")
    assert not re.search(r"https?://", re.sub(r"<!--.*?-->", "", doc, flags=re.S).split(
        "<body>")[0]), "the served scripts are on the app's own server, not a CDN"
    uid = re.compile(r"bertviz-[0-9a-f]{32}")  # bertviz's own random element id
    served, inlined = (uid.sub("", json.dumps(bertviz_params(d))) for d in (doc, inline))
    assert served == inlined
    assert len(inline) - len(doc) > 300_000  # what a redraw no longer sends, per view
    # The download: the same document standalone again, with no second build.
    alone = V.standalone(doc)
    _assert_offline(alone)
    assert uid.sub("", alone) == uid.sub("", inline)
    with pytest.raises(ValueError):
        V.standalone(inline)


def test_a_changed_library_gets_a_new_url(served, bert):
    x = bert.explain("the dog")
    before = dict(SERVED.findall(V.head_view_html(x, js="served")))
    (served / "d3.min.js").write_text("/* d3js.org v5.7.1 */", encoding="utf-8")
    after = dict(SERVED.findall(V.head_view_html(x, js="served")))
    assert after["d3.min.js"] != before["d3.min.js"]  # the browser cannot use its stale copy
    assert after["require.js"] == before["require.js"]


def test_served_without_the_copies_is_a_clear_error(served, bert):
    assert V.served_ready()
    (served / "require.js").unlink()
    assert not V.served_ready()
    with pytest.raises(V.VendorMissing, match="require.js"):
        V.model_view_html(bert.explain("the dog"), js="served")
    V.model_view_html(bert.explain("the dog"), js="inline")  # the inline view still builds


def test_vendor_script_copies_the_libraries_for_serving(vendor, tmp_path):
    static = tmp_path / "static" / "bertviz"
    for _ in range(2):  # idempotent: a second run keeps the equal copies
        out = subprocess.run(["bash", str(REPO / "scripts" / "vendor_js.sh"), str(vendor),
                              str(static)], capture_output=True, text=True, timeout=60)
        assert out.returncode == 0, out.stderr
        for f in V.VENDOR_FILES.values():
            assert (static / f).read_bytes() == (vendor / f).read_bytes()
    (static / "d3.min.js").write_text("stale", encoding="utf-8")
    subprocess.run(["bash", str(REPO / "scripts" / "vendor_js.sh"), str(vendor), str(static)],
                   check=True, capture_output=True, timeout=60)
    assert (static / "d3.min.js").read_bytes() == (vendor / "d3.min.js").read_bytes()


def test_safe_json_round_trips():
    value = {"t": EVIL, "n": [1.5, None]}
    text = V.safe_json(value)
    assert not set("<>&") & set(text) and "\u2028" not in text
    assert json.loads(text) == value


def test_missing_vendor_is_a_clear_error(tmp_path, monkeypatch, bert):
    monkeypatch.setenv("BERTLAB_VENDOR", str(tmp_path))
    assert sorted(V.missing_vendor()) == sorted(V.VENDOR_FILES.values())
    with pytest.raises(V.VendorMissing, match="make vendor"):
        V.head_view_html(bert.explain("the dog"))


def test_view_height_grows_with_tokens():
    assert V.view_height("head", 20, 2, 4) > V.view_height("head", 5, 2, 4)
    assert V.view_height("model", 10, 12, 12, pair=True) > V.view_height("model", 10, 12, 12)
    with pytest.raises(ValueError):
        V.view_height("neuron", 1, 1, 1)


def test_zoomed_views_for_a_projector(vendor, bert):
    x = bert.explain("the dog barked .")
    assert "html{zoom:1.3;}" in V.head_view_html(x, zoom=1.3)
    assert "html{zoom:1.3;}" in V.model_view_html(x, zoom=1.3)
    assert "html{zoom:1;}" in V.head_view_html(x)
    for kind in ("head", "model"):  # the iframe grows with the view
        plain, zoomed = V.view_height(kind, 12, 2, 4), V.view_height(kind, 12, 2, 4, zoom=1.3)
        assert abs(zoomed - 1.3 * plain) <= 2


def test_neuron_figure(bert):
    x = bert.explain("the cat sat on the mat")
    w = attention.walkthrough(x, 1, 2, 3)
    tokens = list(x.tokens)
    tokens[1] = "<b>x</b>"
    fig = V.neuron_figure(w, tokens, 3, titles={"query": "query: {token}"})
    heat, bars = fig.data
    assert np.asarray(heat.z).shape == (len(tokens), x.layers[0].query.shape[-1])
    np.testing.assert_allclose(np.asarray(bars.x), w["probs"])
    # "the" twice, unique rows
    assert list(heat.y) == list(bars.y) and len(set(heat.y)) == len(tokens)
    assert "&lt;b&gt;x&lt;/b&gt;" in heat.y[1] and "<b>" not in "".join(heat.y)
    assert "query: 3 sat" == fig.layout.title.text


# ------------------------------------------------------------------ windows of a long input


def test_sentence_b_start_in_a_window():
    x = fake_explained(["t"] * 10, type_ids=[0] * 6 + [1] * 4)
    assert V.sentence_b_start(x) == 6
    assert V.sentence_b_start(x, range(2, 9)) == 4  # counted from the window's first token
    assert V.sentence_b_start(x, range(0, 5)) is None  # only sentence A in the window
    assert V.sentence_b_start(x, range(6, 10)) is None  # only sentence B
    assert V.sentence_b_start(fake_explained(["t"] * 5), range(1, 3)) is None


@pytest.mark.parametrize("view", [V.head_view_html, V.model_view_html])
def test_views_of_a_window_carry_only_its_tokens(vendor, view):
    tokens = [f"w{i}" for i in range(40)]
    x = fake_explained(tokens, layers=2, heads=3, type_ids=[0] * 25 + [1] * 15)
    doc = view(x, tokens=range(20, 30))
    _assert_offline(doc)
    params = bertviz_params(doc)
    everything = params["attention"][0]
    assert everything["left_text"] == tokens[20:30] and "w19" not in doc and "w30" not in doc
    attn = np.array(everything["attn"])  # (L, H, W, W): the window's block, nothing else
    assert attn.shape == (2, 3, 10, 10)
    full = np.stack([a[0].numpy() for a in x.attentions])
    np.testing.assert_allclose(attn, full[:, :, 20:30, 20:30], atol=1e-4)
    # The pair filter splits the window where sentence B starts in it (token 25 = its 6th).
    a_to_a = next(d for d in params["attention"] if d["name"] == "Sentence A -> Sentence A")
    assert a_to_a["left_text"] == tokens[20:25]


def test_a_window_keeps_the_page_small(vendor):
    x = fake_explained([f"w{i}" for i in range(300)], layers=2, heads=4)
    small = V.head_view_html(x, tokens=range(0, 20))
    assert len(small) < len(V.head_view_html(fake_explained(["w"] * 60, 2, 4)))


def test_model_view_layers():
    assert V.model_view_layers(6, 12, 13, 0, 40_000) is None  # 12,168 lines: every layer
    assert V.model_view_layers(12, 12, 20, 5, 40_000) == list(range(2, 10))  # 4,800 a layer: 8
    assert V.model_view_layers(12, 12, 20, 0, 40_000) == list(range(0, 8))
    assert V.model_view_layers(12, 12, 20, 11, 40_000) == list(range(4, 12))
    assert V.model_view_layers(12, 12, 512, 3, 40_000) == [3]  # never fewer than one


def test_neuron_figure_window_and_colours(bert):
    from ui import charts

    x = bert.explain("the cat sat on the mat , the dog barked on the street .")
    w = attention.walkthrough(x, 0, 1, 9)
    tokens = list(x.tokens)
    fig = V.neuron_figure(w, tokens, 9, tokens_shown=range(6, 12),
                          titles={"adds": "adds", "subtracts": "subtracts"})
    heat, bars = fig.data
    assert list(heat.y) == [f"{i} {tokens[i]}" for i in range(6, 12)]
    np.testing.assert_allclose(np.asarray(heat.z), w["qk_terms"][6:12])
    np.testing.assert_allclose(np.asarray(bars.x), w["probs"][6:12])
    # The app's diverging scale, centred on 0, and a colour bar that says which end adds: the
    # caption says red adds, so the scale's top (positive) end must be the red one.
    assert heat.zmid == 0 and heat.zmin == -heat.zmax
    scale = [c for _, c in heat.colorscale]
    top, bottom = _rgb(scale[-1]), _rgb(scale[0])
    assert top[0] > top[2] and bottom[2] > bottom[0]
    assert list(heat.colorscale) == list(go_scale(charts.DIVERGING))
    assert heat.colorbar.ticktext[0].endswith("subtracts")
    assert heat.colorbar.ticktext[-1].endswith("adds")


def go_scale(name):
    import plotly.graph_objects as go

    return go.Heatmap(colorscale=name).colorscale


def _rgb(color: str) -> tuple[float, ...]:
    import plotly.colors

    if color.startswith("#"):
        return plotly.colors.hex_to_rgb(color)
    return tuple(float(v) for v in re.findall(r"[\d.]+", color)[:3])


# ------------------------------------------------------------------ small multiples


def test_thumbnail():
    from ui import charts, thumbnails

    m = np.array([[0.0, 1.0], [0.5, 2.0]])
    img = thumbnails.thumbnail(m, size=40)
    assert img.shape == (40, 40, 3) and img.dtype == np.uint8
    cell = 20
    lut = thumbnails._lut(charts.SEQUENTIAL)
    assert tuple(img[0, 0]) == tuple(lut[0])  # 0: the palest colour
    assert tuple(img[0, cell]) == tuple(lut[255])  # 1: the darkest
    assert tuple(img[cell, cell]) == tuple(lut[255])  # above zmax: clipped to the darkest
    assert tuple(img[cell - 1, 3]) == (255, 255, 255)  # the gap between cells
    assert lut[255].sum() < lut[0].sum()  # the scale goes from pale to dark
    # A window's 32 × 32 block: cells of whole pixels, about the asked size.
    assert thumbnails.thumbnail(np.zeros((32, 32)), size=240).shape == (224, 224, 3)
    # A margin: the same picture inside a white frame.
    framed = thumbnails.thumbnail(m, size=40, margin=5)
    assert framed.shape == (50, 50, 3) and (framed[5:45, 5:45] == img).all()
    assert (framed[:5] == 255).all() and (framed[:, -5:] == 255).all()



def test_a_thumbnail_goes_to_the_page_as_a_png_of_its_own_pixels():
    import base64
    import io

    from PIL import Image

    from ui import thumbnails

    img = thumbnails.thumbnail(np.array([[0.1, 0.9], [0.6, 0.3]]), size=40, margin=3)
    url = thumbnails.data_url(img)
    assert url.startswith("data:image/png;base64,")
    back = Image.open(io.BytesIO(base64.b64decode(url.split(",", 1)[1])))
    assert back.format == "PNG" and (np.asarray(back.convert("RGB")) == img).all()  # lossless

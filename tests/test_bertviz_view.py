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
    params = _params(doc)
    assert params["layer"] == 1 and params["heads"] == [0, 2]
    assert params["attention"][0]["left_text"] == x.tokens
    attn = np.array(params["attention"][0]["attn"])  # (L, H, T, T)
    assert attn.shape == (2, 4, len(x.tokens), len(x.tokens))
    np.testing.assert_allclose(attn, np.stack([a[0].numpy() for a in x.attentions]), atol=1e-4)


def test_model_view_pair_and_labels(vendor, bert):
    x = bert.explain("the dog barked .", "it rained")
    assert V.sentence_b_start(x) == x.tokens.index("[SEP]") + 1
    doc = V.model_view_html(x, labels={"heads": "注意力头", "layers": "层",
                                       "a_b": "句子 A → 句子 B"})
    _assert_offline(doc)
    assert '.text("注意力头")' in doc and '.text("层")' in doc
    assert ">句子 A → 句子 B</option>" in doc
    params = _params(doc)
    assert [d["name"] for d in params["attention"]][:2] == ["All", "Sentence A -> Sentence A"]
    assert params["total_heads"] == 4


def _params(doc: str) -> dict:
    line = next(s for s in doc.splitlines() if s.strip().startswith("const params = "))
    value, _ = json.JSONDecoder().raw_decode(line.strip()[len("const params = "):])
    return value


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
    assert _params(doc)["attention"][0]["left_text"] == EVIL


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

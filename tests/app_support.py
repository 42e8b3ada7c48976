"""Helpers shared by the app tests (``test_pages.py``) and the browser tests (``test_browser.py``).

* :func:`write_app_checkpoint` builds the tiny checkpoint of ``conftest.write_checkpoint`` with a
  few more vocabulary entries, so that HTML-like input ("<", "script", ">") becomes real tokens that
  the pages must escape, instead of [UNK];
* :func:`walk` and :func:`all_text` read everything an AppTest run drew, for assertions on what a
  reader would see; :func:`html_after` finds a section's HTML by its subheader; :func:`bar_lists`
  reads the bar lists (``charts.bars_html``) a run drew;
* :func:`run` and :func:`open_app` run the app in AppTest and fail on an exception or an error
  message on the page.
"""

from __future__ import annotations

import base64
import html
import json
import re
from pathlib import Path

import numpy as np

import pytest

from conftest import TOY_VOCAB, write_checkpoint

APP = str(Path(__file__).resolve().parent.parent / "app.py")

# Extra pieces: HTML-ish punctuation and words, so an injected sentence tokenizes into real tokens.
EXTRA_VOCAB = ["<", ">", "/", "=", "_", "script", "window", "pwned", "b", "x", "1", "😀", "##s"]
APP_VOCAB = TOY_VOCAB + EXTRA_VOCAB


def write_app_checkpoint(folder: Path, positions: int = 64, extra_vocab=()) -> Path:
    """A tiny BertForPreTraining checkpoint (2 layers, 4 heads, ``positions`` positions) with
    ``APP_VOCAB`` and ``extra_vocab``."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    vocab = APP_VOCAB + list(extra_vocab)
    write_checkpoint(folder, vocab_size=len(vocab), max_position_embeddings=positions)
    (folder / "vocab.txt").write_text("\n".join(vocab) + "\n", encoding="utf-8")
    return folder


def walk(node):
    """Every node (blocks and elements) under an AppTest node, depth first, in drawing order."""
    yield node
    children = getattr(node, "children", None)
    if isinstance(children, dict):
        for key in sorted(children):
            yield from walk(children[key])


def element_text(el) -> str:
    """The readable text of one element ("" for those without any)."""
    parts: list[str] = []
    for attr in ("label", "body", "help", "placeholder", "alt"):
        try:
            v = getattr(el.proto, attr, None)
        except Exception:
            v = None
        if isinstance(v, str) and v and v not in parts:
            parts.append(v)
    try:
        v = el.value
    except Exception:
        v = None
    if isinstance(v, str) and v and v not in parts:
        parts.append(v)
    return "\n".join(parts)


def all_text(at) -> str:
    """All the text drawn in the main area and the sidebar of an AppTest run."""
    return "\n".join(element_text(n) for n in walk(at._tree) if not hasattr(n, "children"))


def elements(at, kind: str) -> list:
    """All elements of a proto type (e.g. "html", "markdown", "iframe", "plotly_chart") under an
    AppTest (everything) or one of its blocks (``at.main``, ``at.sidebar``)."""
    return [n for n in walk(getattr(at, "_tree", at)) if getattr(n, "type", None) == kind
            and not isinstance(getattr(n, "children", None), dict)]


def html_after(at, heading: str):
    """The first st.html element drawn after the subheader ``heading`` (e.g. a section's chips,
    where later sections draw chips of their own)."""
    seen = False
    for node in walk(at._tree):
        if getattr(node, "type", None) == "subheader" and getattr(node, "value", None) == heading:
            seen = True
        elif seen and getattr(node, "type", None) == "html" and not isinstance(
                getattr(node, "children", None), dict):
            return node
    raise AssertionError(f"no html after the subheader {heading!r}")


def bar_lists(at) -> list[dict]:
    """Every bar list (``charts.bars_html``) an AppTest run drew, in drawing order, as its title
    (None without one), labels, values as written, bar lengths (% of the track), colours and
    whether it is on the absolute scale (a whole track shaded, its ends written under it)."""
    found = []
    for el in elements(at, "html"):
        body = el.proto.body
        if 'class="bl-bars"' not in body:
            continue
        title = re.search(r'<div class="bl-bars-title">(.*?)</div>', body)
        bars = re.findall(r'width:([\d.]+)%;background:([^"]+)"', body)
        found.append(dict(
            title=html.unescape(title.group(1)) if title else None,
            labels=[html.unescape(x) for x in re.findall(
                r'<span class="bl-bars-label" dir="auto">(.*?)</span>', body, re.S)],
            values=re.findall(r'<span class="bl-bars-value">(.*?)</span>', body),
            lengths=[float(w) for w, _ in bars], colors=[c for _, c in bars],
            absolute='class="bl-bars-track bl-bars-whole"' in body,
            ends=re.findall(r'<span class="bl-bars-scale"><span>(.*?)</span><span>(.*?)</span>',
                            body)))
    return found


def run(at, timeout: float = 120):
    """Runs the app (``at`` may be a widget just changed) and fails on an exception or error."""
    at = at.run(timeout=timeout)
    if at.exception:
        pytest.fail("the page raised:\n" + "\n".join(e.value for e in at.exception))
    assert not at.error, [e.value for e in at.error]
    return at


def open_app(page: str = "home", timeout: float = 120, **query):
    """The app opened on ``pages/<page>.py`` with ``query`` in the URL, run once (:func:`run`)."""
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(APP, default_timeout=timeout)
    at.query_params.update({k: str(v) for k, v in query.items()})
    if page != "home":
        at.switch_page(f"pages/{page}.py")
    return run(at, timeout)


def array(value) -> np.ndarray:
    """A plotly JSON array: a list, or a typed array ({"dtype", "bdata", "shape"})."""
    if isinstance(value, dict) and "bdata" in value:
        flat = np.frombuffer(base64.b64decode(value["bdata"]), dtype=value["dtype"])
        shape = [int(d) for d in str(value.get("shape", len(flat))).split(",")]
        return flat.reshape(shape)
    return np.asarray(value)


def bertviz_params(doc: str) -> dict:
    """The parameters a bertviz view's document draws from (its ``const params = {...};``)."""
    line = next(s for s in doc.splitlines() if s.strip().startswith("const params = "))
    value, _ = json.JSONDecoder().raw_decode(line.strip()[len("const params = "):])
    return value

"""bertviz's head and model views (Vig 2019), made to work with no internet, and a neuron-style
view.

bertviz 1.4.1 (Vig, "A Multiscale Visualization of Attention in the Transformer Model", ACL 2019
demo, https://arxiv.org/abs/1906.05714) renders its views as HTML whose script asks cdnjs for
require.js, d3 5.7.0 and jQuery 2.0.0. Behind a classroom firewall (or here) those never load and
the view stays blank. So:

* ``scripts/vendor_js.sh`` (``make vendor``) fetches require.js 2.3.6, d3 5.7.0 and jQuery 2.1.0
  (2.0.0 was never on npm) with the npm client into the git-ignored ``vendor/`` folder;
* :func:`head_view_html` / :func:`model_view_html` take bertviz's own HTML
  (``html_action="return"``), drop its CDN ``<script src>`` and its ``require.config`` CDN paths,
  and load the three libraries themselves: jQuery and d3 first (they set ``window.jQuery`` /
  ``window.d3`` while no AMD loader exists), then require.js, then two named ``define`` calls that
  hand those globals to bertviz's ``requirejs(['jquery', 'd3'], ...)``. With ``js="inline"`` (the
  default, and the "Download as HTML" file) the libraries are inlined: one standalone document
  that draws with the network off. With ``js="served"`` (the page's iframes) they are
  ``<script src>`` tags pointing at this app's own server, see below.

Served scripts: inlined, the libraries are ~400 kB per view, so the page's two views sent ~1.26 MB
over the WebSocket at every redraw and the browser parsed them again each time (0.7 s of a 1.3 s
redraw, benchmarks/NOTES_redraw.md). Streamlit serves ``<app dir>/static/`` at ``app/static/``
when ``server.enableStaticServing`` is on (``.streamlit/config.toml``), with each file's
``Content-Type`` from Python's ``mimetypes`` (``text/javascript`` for ``.js``), an ETag and a
Last-Modified date. ``scripts/vendor_js.sh`` copies the three files into the git-ignored
``static/bertviz/`` (:func:`static_dir`; a symlink out of ``static/`` is refused by Streamlit's
path check). The iframe's document is a ``srcdoc``, whose relative URLs resolve against the page's
own address, so ``app/static/bertviz/d3.min.js`` reaches the app's server under any
``server.baseUrlPath``; Streamlit's iframe sandbox allows same-origin, so the browser caches the
files like the page's own. Each URL carries ``?v=`` and the file's content hash: a changed file is
a new URL, never a stale cached copy. :func:`served_ready` says whether the copies are there; the
page falls back to inlining when they are not (``streamlit run`` without ``make vendor``).

Speed: a redraw of the page loads the view's document anew, and bertviz draws one SVG element per
pair of tokens and head. :func:`head_view_html` builds lines for the shown heads only
(:func:`_lines_of_shown_heads`; the page shows its own layer and head), and :func:`model_view_html`
draws each thumbnail as a few paths (:func:`_thumbnails_as_paths`).

Safety: bertviz puts the tokens into a ``<script>`` as ``json.dumps`` output, where a token such as
``</script><img onerror=...>`` would end the script and run as HTML; the parameters are
re-serialised here with ``<``, ``>`` and ``&`` as JSON ``\\u003c`` escapes (the same string to
JavaScript, never markup). bertviz's JavaScript then writes tokens with d3's ``.text()``, which does
not parse HTML.

The documents are shown with ``st.iframe(html_string, height=...)`` (streamlit 1.67: a string that
is not a URL or path is embedded as the iframe's HTML; ``st.components.v1.html`` is deprecated).
Heights come from :func:`view_height`, which follows bertviz's own layout constants.

bertviz's neuron view needs its own patched model classes; :func:`neuron_figure` draws the same idea
from our model's real query and key vectors instead (``bertcore.attention.walkthrough``): the
elementwise products q ⊙ k, whose row sums are the attention scores, beside the softmax row.
"""

from __future__ import annotations

import functools
import hashlib
import html
import json
import os
import re
from pathlib import Path

import numpy as np

__all__ = ["VENDOR_FILES", "VendorMissing", "vendor_dir", "missing_vendor", "static_dir",
           "served_ready", "standalone", "head_view_html",
           "model_view_html", "model_view_layers", "view_height", "neuron_figure", "safe_json",
           "sentence_b_start"]

REPO = Path(__file__).resolve().parent.parent
# Load order matters: jQuery and d3 before require.js (see the module docstring).
VENDOR_FILES = {"jquery": "jquery.min.js", "d3": "d3.min.js", "requirejs": "require.js"}
STATIC_URL = "app/static/bertviz"  # static_dir() as Streamlit serves it, relative to the page
DECIMALS = 4  # attention values written into the page (bertviz draws them as opacities)


class VendorMissing(RuntimeError):
    """The vendored JavaScript is not there: ``make vendor`` (scripts/vendor_js.sh) was not run."""

    def __init__(self, missing: list[str], folder: Path):
        self.missing, self.folder = missing, folder
        super().__init__(f"missing in {folder}: {', '.join(missing)}; run `make vendor` "
                         f"(scripts/vendor_js.sh, needs npm)")


def vendor_dir() -> Path:
    """Where the vendored libraries are: $BERTLAB_VENDOR, else ``vendor/`` in the repository."""
    return Path(os.environ.get("BERTLAB_VENDOR") or REPO / "vendor")


def missing_vendor(folder: Path | None = None) -> list[str]:
    """File names of the three libraries that are absent or empty in ``folder``."""
    folder = Path(folder) if folder else vendor_dir()
    return [f for f in VENDOR_FILES.values() if not (folder / f).is_file()
            or (folder / f).stat().st_size == 0]


_SCRIPT_END = re.compile(r"</(script)", re.IGNORECASE)


def _inline_js(js: str) -> str:
    """JavaScript safe inside <script>...</script>: no "</script" or "<!--" can end it early."""
    return "<script>\n" + _SCRIPT_END.sub(r"<\\/\1", js).replace("<!--", "<\\!--") + "\n</script>"


def static_dir() -> Path:
    """Where Streamlit's static file serving finds the libraries: ``static/bertviz/`` next to
    ``app.py`` (filled by ``scripts/vendor_js.sh``)."""
    return REPO / "static" / "bertviz"


def served_ready() -> bool:
    """Whether :func:`static_dir` holds the three libraries, so that ``js="served"`` works."""
    return not missing_vendor(static_dir())


@functools.lru_cache(maxsize=16)
def _content_hash(path: Path, mtime_ns: int, size: int) -> str:
    """The first 12 hex digits of a file's SHA-256 (cached per path, mtime and size)."""
    return hashlib.sha256(path.read_bytes()).hexdigest()[:12]


_DEFINES = ('define("jquery", [], function () { return window.jQuery; });\n'
            'define("d3", [], function () { return window.d3; });')


def _vendored_scripts(js: str = "inline") -> str:
    """The libraries' ``<script>`` elements, in load order, then the two ``define`` calls.

    Args:
        js: "inline" (their text, from :func:`vendor_dir`) or "served" (``src`` URLs under
            :data:`STATIC_URL`, each with ``?v=`` its content hash, from :func:`static_dir`).
    """
    if js not in ("inline", "served"):
        raise ValueError(f"js must be 'inline' or 'served', not {js!r}")
    folder = vendor_dir() if js == "inline" else static_dir()
    missing = missing_vendor(folder)
    if missing:
        raise VendorMissing(missing, folder)
    parts = []
    for f in VENDOR_FILES.values():
        path = folder / f
        if js == "inline":
            parts.append(_inline_js(path.read_text(encoding="utf-8")))
        else:
            info = path.stat()
            version = _content_hash(path, info.st_mtime_ns, info.st_size)
            parts.append(f'<script src="{STATIC_URL}/{f}?v={version}"></script>')
    parts.append(_inline_js(_DEFINES))
    return "\n".join(parts)


def standalone(doc: str) -> str:
    """A ``js="served"`` document as the ``js="inline"`` one: the same view, drawing with no
    server (the "Download as HTML" file), without building it again.

    Raises:
        ValueError: ``doc`` does not load the served scripts (already standalone, or not ours).
        VendorMissing: ``vendor/`` lacks the libraries.
    """
    served = _vendored_scripts("served")
    if served not in doc:
        raise ValueError("not a document with served scripts (js='served')")
    return doc.replace(served, _vendored_scripts("inline"), 1)


def safe_json(value) -> str:
    """JSON that is safe inside an HTML <script>: <, >, & and the JS line separators escaped."""
    text = json.dumps(value, ensure_ascii=False)
    for ch, esc in (("<", "\\u003c"), (">", "\\u003e"), ("&", "\\u0026"),
                    ("\u2028", "\\u2028"), ("\u2029", "\\u2029")):
        text = text.replace(ch, esc)
    return text


_CDN_SCRIPT = re.compile(r"<script[^>]*\ssrc=[\"']https?://[^\"']*[\"'][^>]*>\s*</script>", re.I)
_REQUIRE_CONFIG = re.compile(r"require\.config\(\{.*?\}\);", re.S)
_PARAMS = re.compile(r"^\s*const params = (.*)$", re.M)


def _offline(bertviz_html: str, labels: dict[str, str]) -> str:
    """bertviz's HTML without its CDN references, with safely escaped parameters and our labels."""
    out, n = _CDN_SCRIPT.subn("", bertviz_html)
    out, m = _REQUIRE_CONFIG.subn("", out)
    match = _PARAMS.search(out)
    if not (n == 1 and m == 1 and match):
        raise RuntimeError("bertviz's HTML is not what ui/bertviz_view.py expects (bertviz 1.4.1)")
    # The line is `const params = {json}; // HACK: {json} is a template marker ...` (bertviz's
    # str.replace also fills the marker in the comment): keep one copy, safely escaped.
    params, _end = json.JSONDecoder().raw_decode(match.group(1))
    out = out[:match.start()] + "    const params = " + safe_json(params) + ";" + out[match.end():]
    # bertviz's own captions, in the app's language (plain text; escaped for where they go).
    replacements = {
        "Layer: <select": html.escape(labels.get("layer", "Layer")) + ": <select",
        "Attention: <select": html.escape(labels.get("attention", "Attention")) + ": <select",
        '.text("Heads")': f'.text({safe_json(labels.get("heads", "Heads"))})',
        '.text("Layers")': f'.text({safe_json(labels.get("layers", "Layers"))})',
        ".text('Layer ' + ": f'.text({safe_json(labels.get("layer", "Layer") + " ")} + ',
        ' + ", Head " + ': f' + {safe_json(", " + labels.get("head", "Head") + " ")} + ',
    }
    names = {"All": "all", "Sentence A -> Sentence A": "a_a", "Sentence B -> Sentence B": "b_b",
             "Sentence A -> Sentence B": "a_b", "Sentence B -> Sentence A": "b_a"}
    for name, key in names.items():  # the pair filter's options
        if key in labels:
            replacements[f">{name}</option>"] = f">{html.escape(labels[key])}</option>"
    for old, new in replacements.items():
        out = out.replace(old, new)
    if re.search(r"cdnjs|https?://[^\s'\"]*\.min(\.js)?['\"]", out):
        raise RuntimeError("bertviz's HTML still refers to a CDN after removing it")
    return out


def _document(body: str, title: str, zoom: float = 1.0, js: str = "inline") -> str:
    return ("<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\">"
            f"<title>{html.escape(title)}</title>\n"
            f"<style>html{{zoom:{zoom:g};}}"
            "body{margin:0;padding:4px 2px;background:#fff;color:#222;"
            "font-family:'Helvetica Neue',Helvetica,Arial,'Noto Sans CJK SC',sans-serif;}"
            "select{font-size:14px;}</style>\n"
            f"{_vendored_scripts(js)}\n</head><body>\n"
            # bertviz lays its views out in fixed pixels (the model view of a 4-head model is
            # wider than the page's column): a horizontal scrollbar instead of cut-off heads.
            f"<div style=\"overflow-x:auto;overflow-y:hidden;\">\n{body}\n</div>\n</body></html>\n")


def sentence_b_start(x, tokens: range | None = None) -> int | None:
    """Index of sentence B's first token in a pair (its first segment-1 token), else None.

    Args:
        tokens: a window of the input: the index is counted from its first token, and None unless
            the window holds tokens of both sentences (bertviz's A/B filter needs both).
    """
    types = list(x.encoding.type_ids)
    start = types.index(1) if 1 in types else None
    if tokens is None or start is None:
        return start
    return start - tokens.start if tokens.start < start < tokens.stop else None


def _attention(x, tokens: range | None = None) -> list:
    """x.attentions as float64 CPU tensors rounded to DECIMALS (short numbers in the page); only
    the ``tokens`` window's rows and columns, cut out before anything is copied."""
    import torch

    keep = slice(None) if tokens is None else slice(tokens.start, tokens.stop)
    return [a[..., keep, keep].detach().to("cpu", torch.float64).round(decimals=DECIMALS)
            for a in x.attentions]


def _tokens(x, tokens: range | None = None) -> list[str]:
    return list(x.tokens) if tokens is None else list(x.tokens)[tokens.start:tokens.stop]


def head_view_html(x, layer: int | None = None, heads: list[int] | None = None,
                   include_layers: list[int] | None = None, labels: dict[str, str] | None = None,
                   title: str = "head view", tokens: range | None = None,
                   zoom: float = 1.0, js: str = "inline") -> str:
    """bertviz's head view of ``x`` (an Explained) as an HTML document that needs no internet.

    Args:
        layer: the layer shown first (0-based); None for the first.
        heads: the heads shown first; None for all. Lines are drawn for the shown heads only
            (a click on a head's square draws its lines).
        include_layers: restrict the view to these layers (a smaller page: each layer of 12
            heads and 18 tokens is ~30 kB).
        labels: captions in the app's language: "layer", "attention" (the pair filter), "head",
            and the filter's options "all", "a_a", "b_b", "a_b", "b_a" (A→A, B→B, A→B, B→A).
        tokens: show only this window of the input (its tokens and the attention among them): a
            page of 512 tokens is 24 MB that the browser takes minutes to draw.
        zoom: the whole view drawn this much larger (CSS ``zoom``: bertviz's 15-px token labels
            at 1.3 are 19.5 px, for a projector); :func:`view_height` takes the same factor.
        js: "inline" for one self-contained file, "served" for ``<script src>`` tags that load
            the libraries from this app's static files (see the module docstring).

    Raises:
        VendorMissing: ``vendor/`` (``static/bertviz/`` for "served") lacks the libraries (run
            ``make vendor``).
    """
    from bertviz import head_view

    if layer is not None and include_layers is not None and layer not in include_layers:
        include_layers = sorted({*include_layers, layer})
    raw = head_view(attention=_attention(x, tokens), tokens=_tokens(x, tokens),
                    sentence_b_start=sentence_b_start(x, tokens), layer=layer,
                    heads=list(heads) if heads else None, include_layers=include_layers,
                    html_action="return").data
    return _document(_lines_of_shown_heads(_offline(raw, labels or {})), title, zoom, js)


# bertviz's head view draws one SVG line per head, query and key, for every head whether it is
# shown or not (a hidden head's lines have opacity 0), and a click on a head's square only changes
# opacities: 12 heads of 18 tokens are 3,888 lines, ~50 ms of script and ~35 ms of style and paint
# in chromium on a 2-core CPU (benchmarks/NOTES_redraw.md), with one head shown as with twelve.
# Here the lines are built for the shown heads only, and a click on a square builds them again.
_SHOWN_HEADS = (
    ("""            .selectAll(".headAttention")
            .data(attention)""",
     """            .selectAll(".headAttention")
            .data(attention.map((a, h) => config.headVis[h] ? a : []))""", 1),
    ("""            updateCheckboxes();
            updateAttention(svg);""",
     """            updateCheckboxes();
            renderAttention(svg, config.attention[config.filter].attn[config.layer_seq]);""", 2),
)


def _lines_of_shown_heads(head_view: str) -> str:
    """bertviz's head view (after :func:`_offline`) drawing lines for the shown heads only."""
    for old, new, count in _SHOWN_HEADS:
        if head_view.count(old) != count:
            raise RuntimeError("bertviz's head view is not what ui/bertviz_view.py expects "
                               "(bertviz 1.4.1)")
        head_view = head_view.replace(old, new)
    return head_view


def model_view_html(x, include_layers: list[int] | None = None,
                    include_heads: list[int] | None = None,
                    labels: dict[str, str] | None = None, display_mode: str = "light",
                    title: str = "model view", tokens: range | None = None,
                    zoom: float = 1.0, js: str = "inline") -> str:
    """bertviz's model view (every layer × head as a thumbnail) as an HTML document.

    Args:
        include_layers, include_heads: restrict the grid (bertviz's own options).
        labels: captions in the app's language: "layers", "heads", "layer", "head", "attention",
            and the pair filter's options (see :func:`head_view_html`).
        display_mode: "light" or "dark".
        tokens, zoom, js: see :func:`head_view_html`.

    Raises:
        VendorMissing: see :func:`head_view_html`.
    """
    from bertviz import model_view

    raw = model_view(attention=_attention(x, tokens), tokens=_tokens(x, tokens),
                     sentence_b_start=sentence_b_start(x, tokens), display_mode=display_mode,
                     include_layers=include_layers, include_heads=include_heads,
                     html_action="return").data
    return _document(_thumbnails_as_paths(_offline(raw, labels or {})), title, zoom, js)


# bertviz's model view draws each thumbnail as one SVG line per pair of tokens: 6 layers x 12 heads
# of 18 tokens are 23,328 lines, 0.53-0.58 s an edit in chromium on a 2-core CPU against 0.26-0.30
# s as below (benchmarks/NOTES_redraw.md). Here a thumbnail is one path per opacity level, in steps
# of 0.05 (a line lighter than 0.025 is left out): the same lines at nearly the same opacities,
# except that lines of one level no longer darken each other where they meet. The enlarged view
# a click opens is bertviz's own, one line per pair.
_THUMBNAIL_LINES = re.compile(
    r'( *)attnContainer\.selectAll\("g"\)\s*\.data\(att\).*?(?=var clickRegion = )', re.S)
_THUMBNAIL_PATHS = """\
{0}var levels = {{}};  // opacity level -> the path's segments
{0}att.forEach(function (row, sourceIndex) {{
{0}    var ya = y1 + (sourceIndex + .5) * config.thumbnailBoxHeight;
{0}    row.forEach(function (w, targetIndex) {{
{0}        var level = Math.round(w * 20) / 20;
{0}        if (level <= 0) return;
{0}        var yb = y1 + (targetIndex + .5) * config.thumbnailBoxHeight;
{0}        (levels[level] = levels[level] || []).push("M" + x1 + " " + ya + "L" + x2 + " " + yb);
{0}    }});
{0}}});
{0}Object.keys(levels).forEach(function (level) {{
{0}    attnContainer.append("path")
{0}        .attr("d", levels[level].join(""))
{0}        .attr("fill", "none")
{0}        .attr("stroke-width", 2.2)
{0}        .attr("stroke", getLayerColor(layerIndex))
{0}        .attr("stroke-opacity", level);
{0}}});

{0}"""


def _thumbnails_as_paths(model_view: str) -> str:
    """bertviz's model view (after :func:`_offline`) drawing a thumbnail as a few paths."""
    found = list(_THUMBNAIL_LINES.finditer(model_view))
    if len(found) != 1 or '.attr("stroke-width", 2.2)' not in found[0].group(0):
        raise RuntimeError("bertviz's model view is not what ui/bertviz_view.py expects "
                           "(bertviz 1.4.1)")
    match = found[0]
    return (model_view[:match.start()] + _THUMBNAIL_PATHS.format(match.group(1))
            + model_view[match.end():])


def model_view_layers(n_layers: int, n_heads: int, n_tokens: int, layer: int,
                      max_lines: int) -> list[int] | None:
    """The layers the model view draws: None for all, when its ``n_layers · n_heads ·
    n_tokens²`` attention lines (one SVG line per pair of tokens, per head) stay within
    ``max_lines``; else as many consecutive layers as fit (at least one), with ``layer`` as near
    the middle as the ends allow. A browser's drawing time grows with the lines."""
    per_layer = n_heads * n_tokens * n_tokens
    if n_layers * per_layer <= max_lines:
        return None
    k = max(1, max_lines // max(per_layer, 1))
    first = min(max(0, layer - (k - 1) // 2), n_layers - k)
    return list(range(first, first + k))


def view_height(kind: str, n_tokens: int, n_layers: int, n_heads: int, pair: bool = False,
                zoom: float = 1.0) -> int:
    """Pixel height for the iframe of a "head" or "model" view (bertviz's layout constants),
    drawn ``zoom`` times larger."""
    header = 34 + (30 if pair else 0)
    if kind == "head":  # BOXHEIGHT 22.5 per token + TEXT_TOP 30, under the checkbox row
        return int(zoom * (header + n_tokens * 22.5 + 30 + 40))
    if kind == "model":  # thumbnails of 7·12/H px per token row, or the detail panel if taller
        thumb = n_tokens * 7 * 12 / max(n_heads, 1) + 10
        detail = n_tokens * 18 + 30 + 25
        return int(zoom * (header + max(n_layers * thumb + 38, detail) + 24))
    raise ValueError(f"kind must be 'head' or 'model', not {kind!r}")


def neuron_figure(walk: dict, tokens: list[str], query_pos: int,
                  titles: dict[str, str] | None = None, tokens_shown: range | None = None):
    """A neuron-style view of one head for one query token, from ``attention.walkthrough``.

    Left: the heatmap of q ⊙ k (one row per key token, one column per head dimension); a row's sum
    is q·k, so one sees which dimensions make a token match. It uses the app's diverging scale for
    signed numbers (``charts.DIVERGING``: red above 0, adding to the score; blue below 0,
    subtracting), centred on 0, and its colour bar says which end adds. Right: the softmax
    probabilities (the model's own attention row), one bar per key token on the same rows, in the
    colour of the app's probability scale (``charts.SEQUENTIAL``).

    Args:
        walk: ``bertcore.attention.walkthrough(...)`` (every key token).
        tokens: every token; rows are labelled with their position and the token, escaped.
        titles: "products", "probs", "dim", "query" (the caption "query: {token}"), "adds",
            "subtracts" (the ends of the colour bar).
        tokens_shown: the key tokens drawn (a window of a long input); None for all.

    Returns:
        a plotly Figure.
    """
    import plotly.colors
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots

    from bertcore.attention import walk_window

    from . import charts

    titles = titles or {}
    shown = tokens_shown if tokens_shown is not None else range(len(tokens))
    part = walk_window(walk, shown) if tokens_shown is not None else walk
    terms = np.asarray(part["qk_terms"])  # (W, dh)
    probs = np.asarray(part["probs"])  # (W,)
    n_tok, dh = terms.shape
    rows = [f"{i} {html.escape(tokens[i])}" for i in shown]  # unique, escaped for plotly
    fig = make_subplots(rows=1, cols=2, shared_yaxes=True, column_widths=[0.72, 0.28],
                        horizontal_spacing=0.03,
                        subplot_titles=(html.escape(titles.get("products", "q ⊙ k")),
                                        html.escape(titles.get("probs", "softmax"))))
    lim = float(np.abs(terms).max()) or 1.0
    qk = np.asarray(part["qk"])
    fig.add_trace(go.Heatmap(
        z=terms, x=list(range(dh)), y=rows, colorscale=charts.DIVERGING, zmid=0, zmin=-lim,
        zmax=lim, customdata=np.repeat(qk[:, None], dh, axis=1),
        hovertemplate="%{y}<br>dim %{x}: %{z:.4f}<br>q·k = %{customdata:.4f}<extra></extra>",
        # At the bottom, across: on the left it covered the token labels, on the right its
        # words took the bars' room.
        colorbar=dict(orientation="h", x=0.0, xanchor="left", y=0.0, yref="container",
                      yanchor="bottom", ypad=8, len=0.7, thickness=10, tickvals=[-lim, 0, lim],
                      ticktext=[f"−{lim:.2f} {html.escape(titles.get('subtracts', ''))}", "0",
                                f"+{lim:.2f} {html.escape(titles.get('adds', ''))}"])),
        row=1, col=1)
    bar_color = plotly.colors.sample_colorscale(charts.SEQUENTIAL, [0.75])[0]
    fig.add_trace(go.Bar(
        x=probs, y=rows, orientation="h", marker_color=bar_color,
        text=[f"{p:.3f}" for p in probs], textposition="auto",
        hovertemplate="%{y}: %{x:.4f}<extra></extra>"), row=1, col=2)
    fig.update_yaxes(autorange="reversed", type="category", row=1, col=1)
    fig.update_xaxes(title_text=html.escape(titles.get("dim", "dimension")), row=1, col=1)
    fig.update_xaxes(range=[0, 1], row=1, col=2)
    query = html.escape(titles.get("query", "query: {token}").replace(
        "{token}", f"{query_pos} {tokens[query_pos]}"))
    fig.update_layout(height=max(300, 26 * n_tok + 200), margin=dict(l=10, r=10, t=60, b=130),
                      title=dict(text=query, x=0.0, font=dict(size=charts.px(14))),
                      showlegend=False)
    return fig

"""Keeping every picture: each plotly chart's config saves it (PNG by plotly's camera, SVG by the
app's button), and the bertviz views download as one offline HTML file.

The browser side (the buttons really download, the HTML draws with no network) is in
``test_browser_export.py``.
"""

from __future__ import annotations

import ast
import json
import re
from pathlib import Path

import pytest
import streamlit

from app_support import elements, open_app, run, write_app_checkpoint
from ui import bertviz_view, charts

REPO = Path(__file__).resolve().parent.parent
SOURCES = [REPO / "app.py", *sorted((REPO / "pages").glob("*.py")),
           *sorted((REPO / "ui").rglob("*.py"))]


def plotly_calls(path: Path) -> list[ast.Call]:
    """Every ``….plotly_chart(…)`` call in a source file."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    return [n for n in ast.walk(tree) if isinstance(n, ast.Call)
            and isinstance(n.func, ast.Attribute) and n.func.attr == "plotly_chart"]


def test_every_plotly_chart_call_passes_the_shared_config():
    calls = {str(p.relative_to(REPO)): plotly_calls(p) for p in SOURCES}
    assert sum(map(len, calls.values())) >= 20  # (the app's charts: a grep that finds none fails)
    for name, found in calls.items():
        for call in found:
            config = next((k.value for k in call.keywords if k.arg == "config"), None)
            assert (isinstance(config, ast.Call) and ast.unparse(config.func)
                    == "charts.plot_config"), f"{name}:{call.lineno} has no charts.plot_config"


def test_the_shared_config_keeps_the_camera_and_drops_zoom():
    cfg = charts.plot_config("attention-2-3")
    assert cfg["displayModeBar"] is True  # always shown: a phone cannot hover
    assert cfg["toImageButtonOptions"] == {"format": "png", "filename": "bertlab-attention-2-3",
                                           "scale": charts.PNG_SCALE}
    assert "toImage" not in cfg["modeBarButtonsToRemove"]
    assert {"zoom2d", "pan2d", "select2d", "lasso2d"} <= set(cfg["modeBarButtonsToRemove"])
    json.dumps(cfg)  # it travels to the browser as JSON


def test_the_svg_button_script_is_escaped_and_uses_the_camera():
    html = charts.svg_button_html('Save </script><b>"SVG"</b>')
    scripts = re.findall(r"<script>(.*?)</script>", html, flags=re.S)
    assert len(scripts) == 2  # the button's, and the one loading the chart code
    # Streamlit's sanitizer (DOMPurify) drops a script whose text has "<" before a letter, "/" or
    # "!" (it reads as markup); so the title, nor anything else, cannot end the script either
    assert not any(re.search(r"<[/\w!]", script) for script in scripts)
    script = scripts[0]
    assert 'name === "toImage"' in script and 'format: "svg"' in script
    assert "MutationObserver" in script


@pytest.fixture(scope="module")
def tiny_app(tmp_path_factory):
    import os

    folder = write_app_checkpoint(tmp_path_factory.mktemp("export-bert"))
    old = os.environ.get("BERTLAB_MODEL")
    os.environ["BERTLAB_MODEL"] = str(folder)
    yield folder
    if old is None:
        os.environ.pop("BERTLAB_MODEL", None)
    else:
        os.environ["BERTLAB_MODEL"] = old


@pytest.mark.parametrize("page,query", [("layer", {}), ("embeddings", {}),
                                        ("attention", {"section": "summary"}),
                                        ("fine_tuning", {"pair": "it rained ."})])
def test_every_chart_on_a_page_carries_the_config_and_the_svg_script(tiny_app, page, query):
    at = open_app(page, **query)
    drawn = elements(at, "plotly_chart")
    assert drawn
    for chart in drawn:
        cfg = json.loads(chart.proto.config)
        assert cfg["displayModeBar"] is True
        assert re.fullmatch(r"bertlab-[\w-]+", cfg["toImageButtonOptions"]["filename"])
    scripts = [h for h in elements(at, "html") if "bl-svg-js" in h.proto.body]
    assert len(scripts) == 1 and scripts[0].proto.unsafe_allow_javascript


def test_the_chart_code_is_loaded_as_a_page_opens(tiny_app):
    """The frame's script imports the installed Streamlit's own chart module (the file its main
    script imports, next to it), so that a page's first chart does not wait for it."""
    at = open_app("home")
    script = next(h.proto.body for h in elements(at, "html") if "bl-svg-js" in h.proto.body)
    name = re.search(r'new URL\("\./(PlotlyChart\.[\w-]+\.js)", main\.src\)', script).group(1)
    static = Path(streamlit.__file__).parent / "static" / "static" / "js"
    assert (static / name).is_file()
    main = next(f for f in static.glob("index.*.js") if "PlotlyChart" in f.read_text("utf-8"))
    main = main.read_text(encoding="utf-8")
    assert f"import(`./{name}`)" in main  # the very URL Streamlit's lazy import asks for


@pytest.fixture
def served(monkeypatch) -> dict[str, bytes]:
    """file name -> the bytes a download button of the next run serves (recorded as Streamlit
    stores them)."""
    from streamlit.runtime.memory_media_file_storage import MemoryMediaFileStorage

    files: dict[str, bytes] = {}
    store = MemoryMediaFileStorage.load_and_get_id

    def record(self, path_or_data, mimetype, kind, filename=None):
        if filename and isinstance(path_or_data, bytes):
            files[filename] = path_or_data
        return store(self, path_or_data, mimetype, kind, filename)

    monkeypatch.setattr(MemoryMediaFileStorage, "load_and_get_id", record)
    return files


@pytest.mark.skipif(bool(bertviz_view.missing_vendor()), reason="vendor/ lacks the JS")
def test_the_bertviz_views_download_as_offline_html(tiny_app, served):
    at = open_app("attention", section="bertviz", pair="it rained .", presenter=1)
    for view in ("head", "model"):  # one view at a time, each with its download
        if view == "model":
            at = run(at.segmented_control(key="attn_bv_view").set_value(view))
        (button,) = [b for b in elements(at, "download_button") if "attn_bv_" in b.proto.id]
        assert f"attn_bv_{view}_html" in button.proto.id
    assert sorted(served) == ["bertlab-head-view-layer-0-head-0.html", "bertlab-model-view.html"]
    for doc in (data.decode("utf-8") for data in served.values()):
        assert not re.search(r"<script[^>]*\bsrc\s*=", doc, re.I)  # nothing to fetch
        assert not re.search(r"[\"']https?://[^\"']+\.js[\"']", doc)  # nor a script URL
        for lib in bertviz_view.VENDOR_FILES.values():  # each library inlined, whole
            head = (bertviz_view.vendor_dir() / lib).read_text(encoding="utf-8")[:200]
            assert head.strip()[:80] in doc, lib
        assert "const params = " in doc
        assert "zoom:1;" in doc  # at its normal size, also from presenter mode's zoomed view

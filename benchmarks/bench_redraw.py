"""How quickly the app redraws after a sentence edit, a mask click or a page switch, and how long a
first open takes, in a real browser.

Issue 19's budgets ("quick redraws"), medians: a sentence edit or a mask click redraws every page
and section in at most 0.3 s on ``offline-en`` and 0.7 s on a bert-base-sized model (built locally
as in ``bench_pages``); a page switch takes at most 0.5 s; a cold first open at most 2.5 s.

A ``streamlit run app.py`` server per model and Debian's chromium under playwright, as in
``bench_long_input`` (whose server and wait-until-drawn helpers this module uses): a measurement
starts when the browser is sent to a URL or the action is taken, and ends when the script run is
over and every chart and iframe is drawn (two painted frames after). An action is timed by the
page's own clock (``CLOCK``: from the input event's timeStamp), an open by this process. An action
is taken on a settled page (the browser quiet for ``QUIET_MS``, as it is by the time a reader has
typed or found a word to click), and an edit is timed from its commit, not from the typing. The
actions:

* ``edit``: the sidebar sentence is replaced by one never seen before by that server (its end
  changes, so the masked word keeps its place) and committed (Ctrl+Enter), on every page, every
  section of the attention page and bertviz's other two views (picked in the page: they are not
  in the URL), every part of the masked-word page and every chapter of the lesson (each opened by
  its URL first);
* ``mask``: a click on a word of the masked-word page (its pills), which hides it too, and the
  attention page's "hide this word" button in "switch heads off" (a page without a mask yet),
  reached from the attention page's first section, and opened by a link to the section (then the
  click also loads plotly.js: nothing on the page before it was a chart);
* ``switch``: a click on the sidebar's link to each page, one after another, after a new sentence;
* ``open``: a fresh browser context on a warm server opening the app's first page (the default
  sentence), and ``cold``: a fresh server's first page load (server started, nothing imported by
  the app yet, the model not loaded).

Each measurement also says where its time went, from the page's side: ``server`` is the time to
the last WebSocket message of the run (script run, model, figure building and serialisation,
transfer), ``draw`` the time from that message to drawn (the browser's parsing and drawing), and
``kB`` what the run sent. Medians of ``REPEATS``; ratio = seconds / budget (goal: below 1).

Run: ``.venv/bin/python -m benchmarks bench_redraw`` ($BERTLAB_BENCH_REPEATS,
$BERTLAB_BENCH_MODELS="offline-en,bert-base", $BERTLAB_BENCH_ACTIONS="edit,mask,switch,open,cold"
change the defaults, $BERTLAB_BENCH_VIEWS="attention (bertviz)" keeps only the edits of the views
whose name contains one of its comma-separated parts; ``python -m benchmarks.bench_redraw`` prints
every split).
"""

from __future__ import annotations

import itertools
import os
import shutil
import statistics
import tempfile
import time
import tomllib
import urllib.parse
from contextlib import ExitStack
from pathlib import Path

from benchmarks.bench_long_input import (CHROMIUM, CHROMIUM_ARGS, DRAWN, PAGES, ROOT, _drawn,
                                         _section_button, _server, browser_missing)

BUDGETS = {"edit": {"offline-en": 0.3, "bert-base": 0.7}, "mask": {"offline-en": 0.3,
                                                                    "bert-base": 0.7},
           "switch": 0.5, "open": 2.5, "cold": 2.5}
REPEATS = int(os.environ.get("BERTLAB_BENCH_REPEATS", "3"))
TIMEOUT_S = 60.0
ATTENTION = ("head", "example", "bertviz", "off", "summary")
MASKED_PARTS = ("guesses", "rule", "directions", "attribution")  # the masked-word page's
CHAPTERS = 6  # the lesson's
MASK = 2  # "cat", hidden through the URL; an edit keeps it (the text changes after it)
WORD = "sleepy"  # the word the mask click hides on the masked-word page
SENTENCE = "The cat was sleepy, so she went to bed at {k} o'clock."
VIEWPORT = {"width": 1440, "height": 900}
# Every WebSocket message the page receives: [performance.now(), bytes, whether it is the run's
# script_finished message] in window.__ws. Each message is a ForwardMsg; a short one's top-level
# fields are read (protobuf: a varint tag, field number << 3 | wire type, then the value), and
# script_finished is field 6.
WS_LOG = """(() => {
  const Orig = window.WebSocket;
  window.__ws = [];
  const fields = (b) => {
    const out = [];
    let i = 0;
    const varint = () => {
      let v = 0, shift = 0, x;
      do { x = b[i++]; v += (x & 127) * 2 ** shift; shift += 7; } while (x & 128 && i < b.length);
      return v;
    };
    while (i < b.length) {
      const tag = varint(), wire = tag % 8;
      out.push(Math.floor(tag / 8));
      if (wire === 0) varint();
      else if (wire === 2) { const n = varint(); i += n; }
      else if (wire === 1) i += 8;
      else if (wire === 5) i += 4;
      else break;
    }
    return out;
  };
  function Logged(...args) {
    const ws = new Orig(...args);
    ws.addEventListener('message', (e) => {
      const d = e.data;
      const size = d.byteLength ?? d.size ?? d.length ?? 0;
      const finished = d instanceof ArrayBuffer && size <= 256
        && fields(new Uint8Array(d)).includes(6);
      window.__ws.push([performance.now(), size, finished]);
    });
    return ws;
  }
  Logged.prototype = Orig.prototype;
  Object.assign(Logged, {CONNECTING: 0, OPEN: 1, CLOSING: 2, CLOSED: 3});
  window.WebSocket = Logged;
})()"""
# An action's clock, kept in the page (window.__clock), in performance.now() time: from the input
# event that starts it (the Enter key that commits a text, a pointer pressed on a word, button or
# link: the event's own timeStamp) to two painted frames after the run it starts is over and the
# page is drawn (DRAWN, checked at every frame). The run is over when the app's run state turns from
# "running" to "notRunning"; a run so short that the page never showed "running" (5 of ~400 in one
# benchmark) is over three frames after its script_finished message, the app not running. Timed in
# the page, a measurement leaves out playwright's round trips between this process and the browser
# (four an action: the run's end, drawn, two frames, each answered only when the driver and this
# process get a core), which a reader does not wait for.
CLOCK = """() => {
  const drawn = (DRAWN);
  const app = document.querySelector('[data-testid="stApp"]');
  const clock = window.__clock = {act: null, ended: false, quiet: 0, done: null};
  const key = (e) => { if (e.key === 'Enter' && clock.act === null) clock.act = e.timeStamp; };
  const press = (e) => { if (clock.act === null) clock.act = e.timeStamp; };
  document.addEventListener('keydown', key, true);
  document.addEventListener('pointerdown', press, true);
  const obs = new MutationObserver((records) => {
    if (records.some((r) => r.oldValue === 'running')
        && app.getAttribute('data-test-script-state') === 'notRunning') clock.ended = true;
  });
  obs.observe(app, {attributes: true, attributeOldValue: true,
                    attributeFilter: ['data-test-script-state']});
  const frame = () => {
    if (clock.act !== null && !clock.ended
        && (window.__ws || []).some((m) => m[0] >= clock.act && m[2])
        && app.getAttribute('data-test-script-state') === 'notRunning'
        && ++clock.quiet > 2) clock.ended = true;
    if (clock.ended && drawn()) {
      obs.disconnect();
      document.removeEventListener('keydown', key, true);
      document.removeEventListener('pointerdown', press, true);
      requestAnimationFrame(() => requestAnimationFrame(() => { clock.done = performance.now(); }));
      return;
    }
    requestAnimationFrame(frame);
  };
  requestAnimationFrame(frame);
}""".replace("(DRAWN)", f"({DRAWN})")
# The browser quiet for QUIET_MS: idle callbacks that each get a whole idle period (nothing else
# waiting to run), one after another, for that long (at most SETTLE_MAX_MS in all). A page that
# still loads code in the background (the app imports plotly.js once a page load is first idle) is
# not settled until that is done, as it is by the time a reader has found something to click.
QUIET_MS, SETTLE_MAX_MS = 500, 5000
SETTLE = """() => new Promise((resolve) => {
  const start = performance.now();
  let since = null;
  const tick = (deadline) => {
    const now = performance.now();
    since = deadline.timeRemaining() >= 40 ? (since ?? now) : null;
    if ((since !== null && now - since >= %d) || now - start >= %d) resolve();
    else requestIdleCallback(tick, {timeout: 1000});
  };
  requestIdleCallback(tick, {timeout: 1000});
})""" % (QUIET_MS, SETTLE_MAX_MS)
_texts = (SENTENCE.format(k=k) for k in itertools.count(1))


def _labels() -> dict[str, str]:
    loc = tomllib.loads((ROOT / "locales" / "en.toml").read_text(encoding="utf-8"))
    return {"hide": loc["attn"]["off_mask_button"], "off": loc["attn"]["sec.off"],
            "model": loc["attn"]["bv_pick_model"], "neuron": loc["attn"]["bv_pick_neuron"]}


def _url(base: str, page: str, **extra) -> str:
    query = {"lang": "en", **extra}
    return f"{base}/{'' if page == 'home' else page}?{urllib.parse.urlencode(query)}"


def _split(pg, t_start: float, seconds: float, end: float | None = None) -> dict:
    """One measurement: seconds, and its server / draw split and bytes from the page's log
    (``t_start`` and ``end``, the moment it was drawn, in the page's time; ``end`` None: now)."""
    log, now = pg.evaluate("() => [window.__ws || [], performance.now()]")
    now = now if end is None else end
    log = [m for m in log if m[0] >= t_start]
    last = log[-1][0] if log else now
    return {"s": seconds, "server": (last - t_start) / 1000, "draw": (now - last) / 1000,
            "kB": sum(m[1] for m in log) / 1000}


def _opened(pg, url: str) -> dict:
    """Sending the browser to ``url`` until the page is drawn."""
    t0 = time.perf_counter()
    deadline = time.monotonic() + TIMEOUT_S
    pg.goto(url, timeout=TIMEOUT_S * 1000)
    pg.wait_for_selector("h1", timeout=TIMEOUT_S * 1000)
    _drawn(pg, deadline)
    return _split(pg, 0.0, time.perf_counter() - t0)  # (performance.now() counts from the goto)


def _settle(pg) -> None:
    """Until the browser is quiet (``SETTLE``): the state a page is in by the time a reader has
    typed a sentence or found a word to click. Measured on the masked-word page, an edit right
    after its page was drawn waited 0.15-0.9 s for the browser before the server heard of it
    (playwright's fill and key press), and 0.01-0.05 s once it had settled."""
    pg.evaluate(SETTLE)


def _acted(pg, act) -> dict:
    """``act()`` (a click, a commit) on a settled page until the run it starts is over and the
    page drawn, timed by the page's own clock (``CLOCK``). ``wall`` is the same measurement timed
    here, playwright's round trips included."""
    _settle(pg)
    pg.evaluate(CLOCK)
    t0 = time.perf_counter()
    act()
    pg.wait_for_function("() => window.__clock.done !== null", timeout=TIMEOUT_S * 1000,
                         polling=50)
    wall = time.perf_counter() - t0
    clock = pg.evaluate("() => window.__clock")
    return {**_split(pg, clock["act"], (clock["done"] - clock["act"]) / 1000, clock["done"]),
            "wall": wall}


def _edit(pg) -> dict:
    """A new sentence typed (not timed: typing is the reader's time, and a text area sends
    nothing until it is committed), then committed with Ctrl+Enter: timed from the commit."""
    box = pg.locator('[data-testid="stSidebar"] textarea').first
    box.fill(next(_texts))
    return _acted(pg, lambda: box.press("Control+Enter"))


def _context(browser):
    ctx = browser.new_context(viewport=VIEWPORT, locale="en-US")
    ctx.add_init_script(WS_LOG)
    return ctx, ctx.new_page()


def _views() -> list[tuple[str, str, dict, str | None]]:
    """(name, page, URL fields, the label of a view picked in the page after it opens, or None)
    of every page, attention section, bertviz view, masked-word part and lesson chapter (only
    those named in $BERTLAB_BENCH_VIEWS, when set)."""
    labels = _labels()
    out = []
    for page in PAGES:
        if page == "attention":
            out += [(f"attention ({sec})", page, {"section": sec}, None) for sec in ATTENTION]
            out += [(f"attention (bertviz, {view} view)", page, {"section": "bertviz"},
                     labels[view]) for view in ("model", "neuron")]  # not in the URL
        elif page == "masked_lm":
            out += [(f"masked_lm ({part})", page, {"section": part}, None)
                    for part in MASKED_PARTS]
        elif page == "lesson":
            out += [(f"lesson ({c})", page, {"chapter": c}, None)
                    for c in range(1, CHAPTERS + 1)]
        else:
            out.append((page, page, {}, None))
    if keep := [v for v in os.environ.get("BERTLAB_BENCH_VIEWS", "").split(",") if v]:
        out = [view for view in out if any(k in view[0] for k in keep)]
    return out


def _measure(browser, base: str, actions: set[str], repeats: int = REPEATS,
             tag: str = "") -> dict[tuple[str, str], list[dict]]:
    """(action, what) -> one split per repeat."""
    from playwright.sync_api import Error as PlaywrightError

    times: dict[tuple[str, str], list[dict]] = {}
    labels = _labels()

    def record(action: str, name: str, step) -> None:
        """Runs ``step``; one that does not finish in TIMEOUT_S (it happened once in ~500
        edits, on a loaded machine: the run's end was never seen) is left out of the median."""
        try:
            split = step()
        except PlaywrightError as e:
            print(f"   {tag}{action:<6} {name:<24} missed ({str(e).splitlines()[0][:60]})")
            return
        times.setdefault((action, name), []).append(split)
        wall = f", wall {split['wall']:.3f}" if "wall" in split else ""
        print(f"   {tag}{action:<6} {name:<24} {split['s']:6.3f} s  (server {split['server']:.3f}, "
              f"draw {split['draw']:.3f}, {split['kB']:.0f} kB{wall})", flush=True)

    for _ in range(repeats):
        ctx, pg = _context(browser)
        if actions & {"edit", "mask"}:
            for name, page, extra, pick in _views():
                _opened(pg, _url(base, page, text=next(_texts), masks=MASK, pair="", **extra))
                if pick:
                    _acted(pg, _section_button(pg, pick).click)
                if "edit" in actions:
                    record("edit", name, lambda: _edit(pg))
                if "mask" in actions and name == "masked_lm (guesses)":
                    pill = pg.locator('[data-testid="stButtonGroup"] button').filter(
                        has_text=WORD).first
                    record("mask", "masked_lm (a word)", lambda: _acted(pg, pill.click))
            if "mask" in actions:
                # "Switch heads off" reached as a class reaches it: the attention page opened,
                # then its section picked, with no word hidden yet.
                _opened(pg, _url(base, "attention", text=next(_texts)))
                _acted(pg, _section_button(pg, labels["off"]).click)
                record("mask", "attention (off: hide)",
                       lambda: _acted(pg, pg.get_by_role("button", name=labels["hide"]).click))
                # The same opened by a link to the section: the page has drawn no chart before
                # the click, so the click also loads and evaluates plotly.js (a page load's
                # first chart, ~0.2 s here, paid once a page load).
                _opened(pg, _url(base, "attention", text=next(_texts), section="off"))
                record("mask", "attention (off: hide, by link)",
                       lambda: _acted(pg, pg.get_by_role("button", name=labels["hide"]).click))
        if "switch" in actions:
            # From the last page, so that every switch leaves another page (a click on the link of
            # the page already shown starts no run).
            _opened(pg, _url(base, PAGES[-1], text=next(_texts), masks=MASK))
            for page in PAGES:
                href = "/" if page == "home" else f"/{page}"
                link = pg.locator(f'[data-testid="stSidebarNav"] a[href$="{href}"]').first
                record("switch", page, lambda: _acted(pg, link.click))
        ctx.close()
        if "open" in actions:
            ctx, pg = _context(browser)
            record("open", "fresh browser", lambda: _opened(pg, _url(base, "home")))
            ctx.close()
    return times


def _command(root: Path) -> tuple[str, ...]:
    """How the checkout ``root`` starts its server: ``ui.serve`` (imports and models loaded before
    it listens) where it has one, else ``streamlit run app.py``."""
    if (root / "ui" / "serve.py").is_file():
        return ("-m", "ui.serve")
    return ("-m", "streamlit", "run", "app.py")


def _cold(browser, folder: str | None, root: Path, tag: str = "") -> dict:
    """A fresh server's first page load (from the moment it answers its health check)."""
    with _server(folder, root, _command(root)) as base:
        ctx, pg = _context(browser)
        split = _opened(pg, _url(base, "home"))
        print(f"   {tag}cold   fresh server             {split['s']:6.3f} s  (server "
              f"{split['server']:.3f}, draw {split['draw']:.3f}, {split['kB']:.0f} kB)",
              flush=True)
        ctx.close()
    return split


def _warm_up(browser, base: str) -> None:
    """Loads the model and imports every page once, outside the measurements."""
    ctx, pg = _context(browser)
    for page in PAGES:
        _opened(pg, _url(base, page, text="The dog barked at the mailman.", masks=MASK))
    ctx.close()


def _budget(action: str, model: str) -> float:
    b = BUDGETS[action]
    return b[model] if isinstance(b, dict) else b


def _rows(times: dict, model: str, suffix: str) -> list[dict]:
    rows = []
    for (action, name), splits in times.items():
        med = {k: statistics.median(x[k] for x in splits) for k in splits[0]}
        budget = _budget(action, model)
        rows.append({"name": f"{action}: {name} ({model}{suffix})", "ours_s": med["s"],
                     "ref_s": budget, "ratio": med["s"] / budget, "unit": "s",
                     "goal": f"< 1.0x (the {budget:g} s budget)", "server_s": med["server"],
                     "draw_s": med["draw"], "kB": med["kB"],
                     **({"wall_s": med["wall"]} if "wall" in med else {})})
    return rows


def run() -> list[dict]:
    """Rows per model, action and view; with $BERTLAB_BENCH_BASELINE (another checkout, e.g. a
    ``git worktree`` of the commit before a change) its server is measured too, each repeat
    right after this checkout's, so that both see the same load (rows named "..., baseline")."""
    if browser_missing():
        return []
    from playwright.sync_api import sync_playwright

    from benchmarks.bench_pages import _bert_base_checkpoint

    models = os.environ.get("BERTLAB_BENCH_MODELS", "offline-en,bert-base").split(",")
    actions = set(os.environ.get("BERTLAB_BENCH_ACTIONS", ",".join(BUDGETS)).split(","))
    trees = {"": ROOT}
    if baseline := os.environ.get("BERTLAB_BENCH_BASELINE"):
        trees[", baseline"] = Path(baseline).resolve()
    rows = []
    tmp = Path(tempfile.mkdtemp(prefix="bench-redraw-"))
    try:
        with sync_playwright() as p, ExitStack() as servers:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            for model in [m for m in ("offline-en", "bert-base") if m in models]:
                folder = None if model == "offline-en" else str(_bert_base_checkpoint(tmp))
                print(f"   {model}:", flush=True)
                times: dict[str, dict] = {tree: {} for tree in trees}
                for _ in range(REPEATS if "cold" in actions else 0):
                    for tree, root in trees.items():
                        times[tree].setdefault(("cold", "fresh server"), []).append(
                            _cold(browser, folder, root, tree.strip(", ") + " "))
                bases = {tree: servers.enter_context(_server(folder, root, _command(root)))
                         for tree, root in trees.items()}
                for base in bases.values():
                    _warm_up(browser, base)
                for _ in range(REPEATS):
                    for tree, base in bases.items():
                        for key, splits in _measure(browser, base, actions, 1,
                                                    tree.strip(", ") + " ").items():
                            times[tree].setdefault(key, []).extend(splits)
                servers.close()
                print(f"   load average (1, 5, 15 min): {os.getloadavg()}", flush=True)
                for tree in trees:
                    rows += _rows(times[tree], model, tree)
            browser.close()
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return rows


if __name__ == "__main__":
    for row in run():
        print(f"{row['name']:<48} {row['ours_s']:6.3f} s  {row['ratio']:5.2f}x  server "
              f"{row['server_s']:.3f}  draw {row['draw_s']:.3f}  {row['kB']:.0f} kB  "
              f"(wall {row.get('wall_s', row['ours_s']):.3f} s)")

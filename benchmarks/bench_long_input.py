"""How long each page, and each section of the attention page, takes with a 512-token input, in a
real browser.

Issue 16's budget: with a text long enough to be cut to 512 tokens, every page and every section
finishes in at most 3 s on ``offline-en`` and in at most 6 s on a bert-base-sized model (L=12,
H=12, D=768; random weights over bert-base-uncased's vocabulary, built locally as in
``bench_pages``), on CPU.

A ``streamlit run app.py`` server per model, Debian's chromium under playwright. A measurement
starts when the browser is sent to the page (``goto``) or clicks a section, and ends when the script
run is over (``data-test-script-state`` back to ``notRunning``) and the page is drawn: no element is
still loading its code (a skeleton, as a session's first chart is while plotly.js loads), every
plotly chart has its SVG, every bertviz iframe has drawn its SVG, and the browser has painted two
frames after that (a browser busy laying out 512 labels does not get there). Each measurement uses a
text never seen before by that server (a different first word), so the forward pass is part of it,
as when a teacher pastes a new text; the model itself is loaded beforehand. The URL also hides one
word (``masks``), so the masked-word page and "switch heads off" predict, and the next-sentence page
gets a short second sentence. Median of ``REPEATS`` runs; ratio = seconds / budget (goal: below 1).
A step that does not finish within ``TIMEOUT_S`` is reported as never reached.

Run: ``.venv/bin/python -m benchmarks bench_long_input`` ($BERTLAB_BENCH_REPEATS,
$BERTLAB_BENCH_TIMEOUT, $BERTLAB_BENCH_MODELS="offline-en,bert-base" and
$BERTLAB_BENCH_PAGES="attention,..." change the defaults).
"""

from __future__ import annotations

import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import tomllib
import urllib.parse
import urllib.request
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
PAGES = ("home", "lesson", "tokenization", "embeddings", "attention", "layer", "masked_lm",
         "next_sentence", "fine_tuning", "pretraining")
SECTIONS = ("example", "bertviz", "off", "summary")  # "head" is the attention page's first
BUDGETS = {"offline-en": 3.0, "bert-base": 6.0}
REPEATS = int(os.environ.get("BERTLAB_BENCH_REPEATS", "3"))
TIMEOUT_S = float(os.environ.get("BERTLAB_BENCH_TIMEOUT", "300"))
MASK = 5  # the token hidden through the URL
PAIR = "The river keeps flowing."

# About 3,000 characters of plain English: cut to 512 tokens by the tokenizer.
LONG_TEXT = (
    "The history of the river town begins long before anyone wrote it down. Fishermen settled on "
    "the muddy banks because the water was calm, the fish were plentiful, and the hills kept the "
    "worst of the winter wind away. Over the centuries the small village grew into a busy market, "
    "where farmers brought grain, wool and cheese to sell to merchants who arrived on narrow "
    "wooden boats. When the first stone bridge was finished, travellers no longer had to wait for "
    "the ferry, and the town became a crossing point for roads from every direction. Inns, "
    "workshops and warehouses appeared along the main street, and the church tower, rebuilt twice "
    "after fires, could be seen from miles away. In the nineteenth century a railway line reached "
    "the valley. Factories opened near the station, producing textiles, paper and bicycles, and "
    "thousands of workers moved in from the countryside to find jobs. Rows of brick houses were "
    "built in a hurry, often without proper drains, and illness spread quickly during the hot "
    "summers. Reformers campaigned for clean water, public parks and schools for every child, and "
    "slowly the town changed again. A library was opened with money donated by a wealthy mill "
    "owner, who insisted that it remain free for anyone who wanted to read. The twentieth century "
    "brought both hardship and renewal. Two wars took many young men away, and some of the old "
    "factories closed when cheaper goods arrived from abroad. Yet the town adapted: the empty "
    "mills became studios, offices and apartments, and the riverside, once crowded with barges, "
    "turned into a long path for walking and cycling. Today visitors come for the weekly market, "
    "the festivals and the museum, which tells the story of the people who lived and worked here. "
    "Teachers bring their classes to see the old printing press, the steam engine and the "
    "collection of photographs showing the flood of the great winter, when the water rose higher "
    "than the doors of the houses. Children are often surprised to learn that their own street "
    "was once a field, or that the quiet square in front of the town hall was the scene of noisy "
    "protests, concerts and celebrations. Historians say that the town's greatest strength has "
    "always been its willingness to change without forgetting where it came from. Every "
    "generation has argued about what to keep and what to replace, and every generation has left "
    "something behind: a bridge, a school, a garden, a song. The newest project, a community "
    "centre built from recycled timber, was designed by students from the local college together "
    "with the people who will use it. Whether the town will still be recognisable in another "
    "hundred years is impossible to say, but the river will certainly keep flowing past it, "
    "patient and unhurried, as it always has, carrying leaves, boats and stories towards the sea.")

# Run-state changes of the app, recorded from the moment it is installed (see _clicked).
WATCH_RUN = """() => {
  window.__runEnded = false;
  const app = document.querySelector('[data-testid="stApp"]');
  const obs = new MutationObserver((records) => {
    if (records.some((r) => r.oldValue === 'running')
        && app.getAttribute('data-test-script-state') === 'notRunning') {
      window.__runEnded = true;
      obs.disconnect();
    }
  });
  obs.observe(app, {attributes: true, attributeOldValue: true,
                    attributeFilter: ['data-test-script-state']});
}"""
# Every plotly chart has its SVG and every iframe (bertviz) has drawn one.
DRAWN = """() => {
  const main = document.querySelector('[data-testid="stMain"]');
  if (!main) return false;
  // (an element whose code is still loading, e.g. a session's first chart: plotly.js takes
  // ~0.6 s to load and evaluate, and its place is a skeleton meanwhile)
  if (main.querySelector('[data-testid="stSkeleton"]')) return false;
  for (const p of main.querySelectorAll('[data-testid="stPlotlyChart"]'))
    if (!p.querySelector('.main-svg')) return false;
  // (pictures: the attention page's small multiples, fetched from the server or inline)
  for (const img of main.querySelectorAll('img'))
    if (!img.complete || !img.naturalWidth) return false;
  for (const f of main.querySelectorAll('iframe')) {
    const doc = f.contentDocument;
    if (doc && (doc.readyState !== 'complete' || !doc.querySelector('svg'))) return false;
  }
  return true;
}"""
TWO_FRAMES = "() => new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r)))"


def _labels() -> dict[str, str]:
    """The English labels the benchmark clicks (from the locale file, so they stay in step)."""
    attn = tomllib.loads((ROOT / "locales" / "en.toml").read_text(encoding="utf-8"))["attn"]
    return {**{s: attn[f"sec.{s}"] for s in SECTIONS},
            "off_layer": attn["off_layer"].format(layer=0)}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def browser_missing() -> bool:
    """Whether playwright or chromium is missing (and says so): the browser benchmarks skip."""
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        print("   skipped: playwright is not installed")
        return True
    if not os.access(CHROMIUM, os.X_OK):
        print(f"   skipped: {CHROMIUM} is missing")
        return True
    return False


@contextmanager
def streamlit_server(env_extra: dict | None = None, root: Path = ROOT,
                     command: tuple[str, ...] = ("-m", "streamlit", "run", "app.py"),
                     log_dir: Path | None = None):
    """``streamlit run app.py`` headless on a free port of 127.0.0.1, in the checkout ``root``
    (another one: a baseline to compare with), with the offline environment and ``env_extra``
    ($BERTLAB_MODEL and $BERTLAB_STORE only from there); ``command`` replaces the arguments before
    the options (e.g. ``-m ui.serve``). Yields (base URL, process) once it is healthy; the
    process's ``log`` is its output, ``log_dir/server-<port>.log`` (kept) or a temporary file
    (removed afterwards)."""
    env = {k: v for k, v in os.environ.items() if k not in ("BERTLAB_MODEL", "BERTLAB_STORE")}
    env.update(HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1", TOKENIZERS_PARALLELISM="false",
               **(env_extra or {}))
    port = _free_port()
    if log_dir is not None:
        log = log_dir / f"server-{port}.log"
    else:
        with tempfile.NamedTemporaryFile(prefix="bench-server-", suffix=".log",
                                         delete=False) as f:
            log = Path(f.name)
    with open(log, "w") as out:
        proc = subprocess.Popen(
            [sys.executable, *command, "--server.port", str(port),
             "--server.address", "127.0.0.1", "--server.headless", "true",
             "--browser.gatherUsageStats", "false", "--server.fileWatcherType", "none",
             "--server.runOnSave", "false"], cwd=root, env=env, stdout=out,
            stderr=subprocess.STDOUT)
    proc.log = log
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                with urllib.request.urlopen(f"{base}/_stcore/health", timeout=2) as r:
                    if r.status == 200:
                        break
            except OSError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"streamlit did not start: {log.read_text()[-2000:]}")
            time.sleep(0.3)
        yield base, proc
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
        if log_dir is None:
            log.unlink(missing_ok=True)


@contextmanager
def _server(model: str | None, root: Path = ROOT,
            command: tuple[str, ...] = ("-m", "streamlit", "run", "app.py")):
    """:func:`streamlit_server` with $BERTLAB_MODEL = ``model`` (None: the app's default);
    yields its base URL."""
    with streamlit_server({"BERTLAB_MODEL": model} if model else {}, root, command) as (base, _):
        yield base


def _url(base: str, page: str, text: str, **extra) -> str:
    query = {"lang": "en", "text": text, "masks": str(MASK), **extra}
    if page == "next_sentence":
        query["pair"] = PAIR
    return f"{base}/{'' if page == 'home' else page}?{urllib.parse.urlencode(query)}"


def _drawn(pg, deadline: float) -> None:
    """Waits until the run is over and the page is drawn (see the module docstring)."""
    left = lambda: max(1.0, (deadline - time.monotonic()) * 1000)  # noqa: E731
    pg.wait_for_selector('[data-testid="stApp"][data-test-script-state="notRunning"]',
                         timeout=left())
    pg.wait_for_function(DRAWN, timeout=left())
    pg.evaluate(TWO_FRAMES)


def _opened(pg, url: str) -> float:
    """Seconds from sending the browser to ``url`` to the page drawn."""
    t0 = time.perf_counter()
    deadline = time.monotonic() + TIMEOUT_S
    pg.goto(url, timeout=TIMEOUT_S * 1000)
    pg.wait_for_selector("h1", timeout=TIMEOUT_S * 1000)
    _drawn(pg, deadline)
    return time.perf_counter() - t0


def _clicked(pg, target) -> float:
    """Seconds from clicking ``target`` (a locator) to the run it starts over and drawn."""
    pg.evaluate(WATCH_RUN)
    t0 = time.perf_counter()
    deadline = time.monotonic() + TIMEOUT_S
    target.click(timeout=TIMEOUT_S * 1000)
    pg.wait_for_function("() => window.__runEnded === true", timeout=TIMEOUT_S * 1000)
    _drawn(pg, deadline)
    return time.perf_counter() - t0


def _section_button(pg, label: str):
    return pg.locator('[data-testid="stButtonGroup"] button').filter(has_text=label).first


def _measure(browser, base: str, labels: dict[str, str]) -> dict[str, list[float | None]]:
    """name -> seconds per repeat (None: not finished within TIMEOUT_S)."""
    from playwright.sync_api import Error as PlaywrightError

    times: dict[str, list[float | None]] = {}
    given_up: set[str] = set()
    texts = (f"Version {k}: {LONG_TEXT}" for k in range(10_000))

    def record(name: str, step) -> bool:
        if name in given_up:
            return False
        try:
            s = step()
        except PlaywrightError:  # a timeout, or a browser that stopped answering
            s = None
            given_up.add(name)
        times.setdefault(name, []).append(s)
        print(f"   {name:<40} {'never' if s is None else f'{s:6.2f} s'}", flush=True)
        return s is not None

    pages = os.environ.get("BERTLAB_BENCH_PAGES", ",".join(PAGES)).split(",")
    for _ in range(REPEATS):
        for page in [p for p in PAGES if p in pages]:
            ctx = browser.new_context(viewport={"width": 1440, "height": 900}, locale="en-US")
            pg = ctx.new_page()
            name = "attention (one head)" if page == "attention" else page
            opened = record(name, lambda: _opened(pg, _url(base, page, next(texts))))
            if page == "attention" and opened:
                for section in SECTIONS:
                    ok = record(f"attention ({labels[section].lower()})",
                                lambda: _clicked(pg, _section_button(pg, labels[section])))
                    if section == "off" and ok:
                        record("attention (switch off layer 0)", lambda: _clicked(
                            pg, pg.get_by_role("button", name=labels["off_layer"])))
            ctx.close()
    return times


def _warm_up(browser, base: str) -> None:
    """Loads the model and imports every page once (a short text), outside the measurements."""
    ctx = browser.new_context(viewport={"width": 1440, "height": 900}, locale="en-US")
    pg = ctx.new_page()
    for page in PAGES:
        _opened(pg, _url(base, page, "The dog barked at the mailman."))
    ctx.close()


def run() -> list[dict]:
    if browser_missing():
        return []
    from playwright.sync_api import sync_playwright

    from benchmarks.bench_pages import _bert_base_checkpoint

    wanted = os.environ.get("BERTLAB_BENCH_MODELS", ",".join(BUDGETS)).split(",")
    labels = _labels()
    rows = []
    tmp = Path(tempfile.mkdtemp(prefix="bench-long-"))
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            for model in [m for m in BUDGETS if m in wanted]:
                folder = None if model == "offline-en" else str(_bert_base_checkpoint(tmp))
                budget = BUDGETS[model]
                print(f"   {model}:", flush=True)
                with _server(folder) as base:
                    _warm_up(browser, base)
                    times = _measure(browser, base, labels)
                    # Other processes' load shows in every browser timing: say what it was.
                    print(f"   load average (1, 5, 15 min): {os.getloadavg()}", flush=True)
                    for name, secs in times.items():
                        done = [s for s in secs if s is not None]
                        s = statistics.median(done) if len(done) == len(secs) else None
                        rows.append({"name": f"512 tokens: {name} ({model})", "ours_s": s,
                                     "ref_s": budget, "ratio": None if s is None else s / budget,
                                     "unit": "s", "goal": f"< 1.0x (the {budget:g} s budget)"})
            browser.close()
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return rows


if __name__ == "__main__":
    for row in run():
        s = "never" if row["ours_s"] is None else f"{row['ours_s']:.2f} s"
        print(f"{row['name']:<60} {s}")

"""``python -m ui.serve [streamlit options]``: ``streamlit run app.py`` with what the first page
needs already in memory.

``streamlit run`` imports nothing of the app until the first visitor's session runs ``app.py``: that
run imported torch, plotly and pandas and loaded the model, and a fresh server's first page took
4.8-10 s on the 2-core test machine (benchmarks/NOTES_redraw.md). Here the server starts listening
only after those imports and after the default models of both UI languages are loaded into the
model registry (``ui.models``, shared by every session), so its first page opens like a warm
server's. ``make run`` starts the app this way; ``streamlit run app.py`` still works, with the
slow first page.

What was preloaded then moves to the collector's permanent generation (``gc.freeze()``): the
modules and models live as long as the server, and a full collection no longer walks their
objects. A full collection holds every session's run while it lasts: with a class of forty and
two fine-tunings (``benchmarks/bench_class.py``) each took 0.24-0.34 s of CPU, 0.13-0.17 s after
the freeze.
"""

from __future__ import annotations

import gc
import sys
import time
from pathlib import Path

APP = Path(__file__).resolve().parent.parent / "app.py"


def preload() -> float:
    """Imports what every page uses and loads the default models; returns the seconds it took."""
    t0 = time.perf_counter()
    import pandas  # noqa: F401  (tables)
    import plotly.graph_objects  # noqa: F401  (every chart)

    import bertcore  # noqa: F401  (torch)
    from ui import charts, examples, models, presenter, state, window  # noqa: F401
    from ui.i18n import LANGS

    names = dict.fromkeys(state.default_model(lang) for lang in LANGS)
    for name in names:  # loaded side by side, in the registry's threads
        models.preload(name)
    for name in names:
        try:
            models.loaded(name)
        except Exception as e:  # the app says what is wrong on the page; the server still starts
            print(f"bertlab: {name} not preloaded ({type(e).__name__}: {e})", file=sys.stderr)
    return time.perf_counter() - t0


def main(argv: list[str]) -> None:
    from streamlit.web import cli

    print(f"bertlab: preloaded in {preload():.1f} s", file=sys.stderr, flush=True)
    gc.freeze()  # what was loaded stays: the collector no longer walks it (see the docstring)
    sys.argv = ["streamlit", "run", str(APP), *argv]
    cli.main()


if __name__ == "__main__":
    main(sys.argv[1:])

"""Quick redraws and a quick first page (issue 19): the server's settings and ``ui.serve``.

Streamlit's ``runner.postScriptGC`` ran a full garbage collection after every script run, and the
run's last messages waited for it (0.3-0.7 s a redraw, benchmarks/NOTES_redraw.md); ``ui.serve``
(``make run``) loads the default models before the server listens, so a fresh server's first page
does not load them. The timings themselves are benchmarks/bench_redraw.py's.
"""

from __future__ import annotations

import tomllib
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def test_the_config_turns_the_collection_after_every_run_off():
    with open(REPO / ".streamlit" / "config.toml", "rb") as fh:
        assert tomllib.load(fh)["runner"]["postScriptGC"] is False


def test_make_run_starts_the_app_through_ui_serve():
    run = (REPO / "Makefile").read_text(encoding="utf-8").split("\nrun:", 1)[1].split("\n\n")[0]
    assert "-m ui.serve" in run and "streamlit run" not in run


def test_preload_leaves_the_default_model_loaded_in_the_shared_registry(tiny_ckpt, monkeypatch):
    from ui import models, serve

    folder, _ = tiny_ckpt
    monkeypatch.setenv("BERTLAB_MODEL", str(folder))  # the default model of every UI language
    models._registry().forget(str(folder))
    serve.preload()
    fut = models._registry().futures[str(folder)]
    assert fut.done() and fut.exception() is None
    assert models.loaded(str(folder)) is fut.result()  # what a page's run gets: the same model


def test_preload_survives_a_default_model_that_cannot_load(tmp_path, monkeypatch, capsys):
    from ui import models, serve

    missing = tmp_path / "no-such-checkpoint"
    monkeypatch.setenv("BERTLAB_MODEL", str(missing))
    serve.preload()  # the page says what is wrong; the server must still start
    assert "not preloaded" in capsys.readouterr().err
    assert str(missing) not in models._registry().futures  # forgotten, so a page can retry


def test_the_server_starts_after_the_preload_and_a_freeze(monkeypatch):
    """main() preloads, moves what it loaded out of the collector's way (gc.freeze), then runs
    ``streamlit run app.py`` with the options given."""
    import gc

    from streamlit.web import cli

    from ui import serve

    calls = []
    monkeypatch.setattr(serve, "preload", lambda: calls.append("preload") or 0.0)
    monkeypatch.setattr(gc, "freeze", lambda: calls.append("freeze"))
    monkeypatch.setattr(cli, "main", lambda: calls.append(("run", list(serve.sys.argv))))
    monkeypatch.setattr(serve.sys, "argv", ["x"])
    serve.main(["--server.port", "8599"])
    assert calls == ["preload", "freeze",
                     ("run", ["streamlit", "run", str(serve.APP), "--server.port", "8599"])]


def test_a_new_input_is_read_ahead_once_in_a_thread_of_its_own(monkeypatch):
    import threading

    from ui import models

    calls, done = [], threading.Event()

    def explain(name, sentence, pair):
        calls.append((name, sentence, pair, threading.current_thread().name))
        done.set()

    monkeypatch.setattr(models, "explain", explain)
    monkeypatch.setattr(models, "_read_ahead", {})
    models.read_ahead("m", "the cat sat", "")
    assert done.wait(10)
    models.read_ahead("m", "the cat sat", None)  # the same input again: not read twice
    models.read_ahead("m", " \n", None)  # nothing to read
    for thread in threading.enumerate():
        if thread.name == "bertlab-read-ahead":
            thread.join(10)
    assert calls == [("m", "the cat sat", None, "bertlab-read-ahead")]


def test_reading_ahead_keeps_a_bounded_memory_and_leaves_failures_to_the_page(monkeypatch):
    import threading

    from ui import models

    failed = []
    monkeypatch.setattr(threading, "excepthook", lambda args: failed.append(args.exc_value))

    def explain(name, sentence, pair):
        raise RuntimeError("the model is broken")

    monkeypatch.setattr(models, "explain", explain)
    monkeypatch.setattr(models, "_read_ahead", {})
    for i in range(models.READ_AHEAD_KEPT + 5):
        models.read_ahead("m", f"sentence {i}", None)
    for thread in threading.enumerate():
        if thread.name == "bertlab-read-ahead":
            thread.join(10)
    assert not failed  # nothing escapes the thread
    assert len(models._read_ahead) == models.READ_AHEAD_KEPT
    assert ("m", "sentence 0", None) not in models._read_ahead  # the oldest forgotten first

"""A quiet server: the app's Streamlit config (.streamlit/config.toml) watches no files.

Streamlit's default watcher (watchdog) watches the folder of app.py recursively, .venv included:
every module that Python opens under it is an inotify event, and a long-running server's log
filled with "Inotify queue overflowed" (17,696 lines an hour). Here a server is started as
``make run`` starts it (from the repository, no watcher flags), a session is opened (that is when
Streamlit sets up its watchers), and the server's inotify watches are counted in /proc.
"""

from __future__ import annotations

import asyncio
import os
import tomllib
from pathlib import Path

import pytest

from conftest import streamlit_process

REPO = Path(__file__).resolve().parent.parent


def test_the_config_turns_the_watcher_off_and_names_the_folders_to_skip():
    with open(REPO / ".streamlit" / "config.toml", "rb") as fh:
        server = tomllib.load(fh)["server"]
    assert server["fileWatcherType"] == "none"
    assert {".venv", "vendor", "node_modules"} <= set(server["folderWatchBlacklist"])


def test_the_config_serves_static_files_for_the_bertviz_views():
    """ui/bertviz_view.py's js="served" documents load their libraries from app/static/."""
    with open(REPO / ".streamlit" / "config.toml", "rb") as fh:
        assert tomllib.load(fh)["server"]["enableStaticServing"] is True
    assert "/static/bertviz/" in (REPO / ".gitignore").read_text().splitlines()


def inotify_watches(pid: int) -> int:
    """How many inotify watches the process holds (one per watched folder)."""
    n = 0
    for info in Path(f"/proc/{pid}/fdinfo").iterdir():
        try:
            n += sum(line.startswith("inotify wd:") for line in info.read_text().splitlines())
        except OSError:  # a descriptor closed while we looked
            pass
    return n


@pytest.mark.skipif(not Path("/proc/self/fdinfo").is_dir(), reason="needs Linux's /proc")
def test_a_server_started_like_make_run_watches_nothing(tmp_path):
    ws = pytest.importorskip("websockets.asyncio.client")
    env = {k: v for k, v in os.environ.items() if not k.startswith("STREAMLIT_")}
    log = tmp_path / "server.log"
    with streamlit_process(env, log, flags=()) as (proc, base):  # no watcher flags: the config's

        async def session() -> list[int]:
            """Opens a session and counts the watches a few times while it is open."""
            counts = []
            async with ws.connect(base.replace("http://", "ws://") + "/_stcore/stream"):
                for _ in range(6):
                    await asyncio.sleep(0.5)
                    counts.append(inotify_watches(proc.pid))
            return counts

        counts = asyncio.run(session())
    assert max(counts) == 0, f"inotify watches while a session was open: {counts}"
    assert "Inotify" not in log.read_text()

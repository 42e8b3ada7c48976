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
import socket
import subprocess
import sys
import time
import tomllib
import urllib.request
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent


def test_the_config_turns_the_watcher_off_and_names_the_folders_to_skip():
    with open(REPO / ".streamlit" / "config.toml", "rb") as fh:
        server = tomllib.load(fh)["server"]
    assert server["fileWatcherType"] == "none"
    assert {".venv", "vendor", "node_modules"} <= set(server["folderWatchBlacklist"])


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


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
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("STREAMLIT_")}
    log = tmp_path / "server.log"
    with open(log, "w") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "streamlit", "run", "app.py", "--server.port", str(port),
             "--server.address", "127.0.0.1", "--server.headless", "true"],
            cwd=REPO, env=env, stdout=out, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 90
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/_stcore/health",
                                            timeout=2) as r:
                    if r.status == 200:
                        break
            except OSError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"streamlit did not start:\n{log.read_text()[-3000:]}")
            time.sleep(0.3)

        async def session() -> list[int]:
            """Opens a session and counts the watches a few times while it is open."""
            counts = []
            async with ws.connect(f"ws://127.0.0.1:{port}/_stcore/stream"):
                for _ in range(6):
                    await asyncio.sleep(0.5)
                    counts.append(inotify_watches(proc.pid))
            return counts

        counts = asyncio.run(session())
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
    assert max(counts) == 0, f"inotify watches while a session was open: {counts}"
    assert "Inotify" not in log.read_text()

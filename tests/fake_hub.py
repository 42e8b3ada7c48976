"""A Hugging Face hub on 127.0.0.1, serving local folders, for the download tests.

It answers the three requests ``huggingface_hub.snapshot_download`` makes (huggingface_hub 1.x and
2.x), so that the real client code runs against it, with ``HF_ENDPOINT`` (or ``endpoint=``) set to
its URL:

* ``GET /api/models/{repo}/revision/{rev}``: the repo's info, JSON with ``sha`` (the commit) and
  ``siblings`` (its files);
* ``GET /api/models/{repo}/tree/{rev}?recursive=…``: its files, a JSON list of
  ``{"type": "file", "path", "size", "oid"}`` (one page: no ``Link`` header);
* ``HEAD`` and ``GET /{repo}/resolve/{rev}/{file}``: a file, with the headers the client checks:
  ``X-Repo-Commit``, ``ETag`` and ``Content-Length``.

A repo that is not served gets 404 with ``X-Error-Code: RepoNotFound``, as the hub answers. Every
request's path is kept in ``hub.requests``.
"""

from __future__ import annotations

import hashlib
import json
import re
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import unquote, urlsplit

COMMIT = "0123456789abcdef0123456789abcdef01234567"  # every repo's one commit (40 hex digits)
INFO = re.compile(r"^/api/models/(?P<repo>.+?)/revision/(?P<rev>[^/]+)$")
TREE = re.compile(r"^/api/models/(?P<repo>.+?)/tree/(?P<rev>[^/]+)$")
RESOLVE = re.compile(r"^/(?P<repo>.+?)/resolve/(?P<rev>[^/]+)/(?P<file>.+)$")


class FakeHub:
    """``with FakeHub({"bert-base-uncased": folder}) as hub:`` serves ``folder`` as that repo at
    ``hub.url`` until the block ends."""

    def __init__(self, repos: dict[str, Path]):
        self.repos = {name: Path(folder) for name, folder in repos.items()}
        self.requests: list[str] = []
        hub = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                hub._answer(self, body=True)

            def do_HEAD(self):
                hub._answer(self, body=False)

            def log_message(self, *args):  # quiet
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"

    def __enter__(self) -> FakeHub:
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()

    def files(self, repo: str) -> list[Path]:
        root = self.repos[repo]
        return sorted(p for p in root.rglob("*") if p.is_file())

    def _answer(self, handler: BaseHTTPRequestHandler, body: bool) -> None:
        path = unquote(urlsplit(handler.path).path)
        self.requests.append(path)
        for pattern, kind in ((INFO, "info"), (TREE, "tree"), (RESOLVE, "file")):
            if m := pattern.match(path):
                break
        else:
            return self._send(handler, 404, b"not a hub endpoint", body)
        repo = m["repo"]
        if repo not in self.repos:
            return self._send(handler, 404, b'{"error": "Repository not found"}', body,
                              {"X-Error-Code": "RepoNotFound"})
        root = self.repos[repo]
        names = [p.relative_to(root).as_posix() for p in self.files(repo)]
        if kind == "info":
            info = {"id": repo, "modelId": repo, "sha": COMMIT, "private": False,
                    "siblings": [{"rfilename": n} for n in names]}
            return self._send(handler, 200, json.dumps(info).encode(), body,
                              {"Content-Type": "application/json"})
        if kind == "tree":
            tree = [{"type": "file", "path": n, "size": (root / n).stat().st_size,
                     "oid": hashlib.sha1((root / n).read_bytes()).hexdigest()} for n in names]
            return self._send(handler, 200, json.dumps(tree).encode(), body,
                              {"Content-Type": "application/json"})
        if m["file"] not in names:
            return self._send(handler, 404, b"Entry not found", body,
                              {"X-Error-Code": "EntryNotFound", "X-Repo-Commit": COMMIT})
        data = (root / m["file"]).read_bytes()
        return self._send(handler, 200, data, body,
                          {"X-Repo-Commit": COMMIT,
                           "ETag": f'"{hashlib.sha256(data).hexdigest()}"',
                           "Content-Type": "application/octet-stream"})

    @staticmethod
    def _send(handler, status: int, data: bytes, body: bool, headers: dict | None = None) -> None:
        handler.send_response(status)
        for key, value in (headers or {}).items():
            handler.send_header(key, value)
        handler.send_header("Content-Length", str(len(data)))
        handler.end_headers()
        if body:
            handler.wfile.write(data)

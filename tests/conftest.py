"""Shared pytest setup: offline, deterministic, and tiny checkpoints built locally.

No test downloads anything: a checkpoint is made here with ``transformers`` (random weights of a
tiny config, ``save_pretrained``) plus a toy vocab.txt, and loaded through the same code path a
user's hub model takes. No test sees the real BERTs this machine may have: the Hugging Face cache
is an empty folder of this run and ``$BERTLAB_MODELS`` is unset (the app would open on a real BERT
found there instead of the offline default).
"""

from __future__ import annotations

import atexit
import contextlib
import copy
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
# (set before huggingface_hub is imported, which reads them once; subprocesses inherit them)
os.environ["HF_HUB_CACHE"] = tempfile.mkdtemp(prefix="bertlab-test-hub-")
atexit.register(shutil.rmtree, os.environ["HF_HUB_CACHE"], True)
os.environ.pop("BERTLAB_MODELS", None)
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

import pytest  # noqa: E402
import torch  # noqa: E402

SPECIALS = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
WORDS = ("the a dog cat barked sat on mat it rained street was wet paris is capital of france "
         "city river . , ! ? un ##aff ##able want ##ed runn ##ing he she they good bad movie "
         "very 中 国 人 大 学").split()
TOY_VOCAB = SPECIALS + WORDS


def hf_config(**kw):
    """A tiny transformers BertConfig (2 layers, 4 heads, hidden 32) over the toy vocab."""
    from transformers import BertConfig as HFConfig

    base = dict(vocab_size=len(TOY_VOCAB), hidden_size=32, num_hidden_layers=2,
                num_attention_heads=4, intermediate_size=64, max_position_embeddings=64,
                hidden_dropout_prob=0.1, attention_probs_dropout_prob=0.1)
    return HFConfig(**{**base, **kw})


def hf_model(cls_name: str = "BertForPreTraining", attn: str = "eager", seed: int = 0, **kw):
    """A randomly initialised transformers model of the tiny config, in eval mode."""
    import transformers

    torch.manual_seed(seed)
    cls = getattr(transformers, cls_name)
    return cls._from_config(copy.deepcopy(hf_config(**kw)), attn_implementation=attn).eval()


def write_checkpoint(folder: Path, cls_name: str = "BertForPreTraining", seed: int = 0, **kw):
    """Saves a tiny transformers model + toy vocab as a hub-style checkpoint folder."""
    model = hf_model(cls_name, seed=seed, **kw)
    model.save_pretrained(folder)
    (folder / "vocab.txt").write_text("\n".join(TOY_VOCAB) + "\n", encoding="utf-8")
    (folder / "tokenizer_config.json").write_text('{"do_lower_case": true}', encoding="utf-8")
    return model


@pytest.fixture(scope="session")
def tiny_ckpt(tmp_path_factory) -> tuple[Path, object]:
    """(folder, transformers model) of a tiny BertForPreTraining checkpoint (MLM + NSP heads)."""
    folder = tmp_path_factory.mktemp("tiny-bert")
    return folder, write_checkpoint(folder)


def write_dataset_folder(folder: Path, rows: dict, features) -> str:
    """A local data set folder as a hub repo holds one (parquet with the ``datasets`` features in
    its metadata), which ``datasets.load_dataset(folder)`` reads the way it reads a hub id."""
    from datasets import Dataset

    (folder / "data").mkdir(parents=True)
    Dataset.from_dict(rows, features=features).to_parquet(str(folder / "data" / "train-0.parquet"))
    return str(folder)


@pytest.fixture
def hub_offline(monkeypatch):
    """The hub unreachable at once (as here), instead of after the client's retries."""
    import datasets

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setattr(datasets.config, "HF_HUB_OFFLINE", True)


# ----------------------------------------------------------------------------- the browser tests
# (their helpers are in browser_support.py)

def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# Flags of the test servers: other people editing the repository must not make the page rerun
# under the tests.
TEST_SERVER_FLAGS = ("--browser.gatherUsageStats", "false", "--server.fileWatcherType", "none",
                     "--server.runOnSave", "false")


@contextlib.contextmanager
def streamlit_process(env: dict, log: Path, flags=TEST_SERVER_FLAGS, port: int | None = None):
    """``streamlit run app.py`` headless on ``port`` (a free one if None) of 127.0.0.1 with
    environment ``env``, output appended to ``log``; yields (the process, its base URL) once it is
    healthy, and stops it afterwards."""
    from browser_support import REPO

    port = port or _free_port()
    cmd = [sys.executable, "-m", "streamlit", "run", "app.py", "--server.port", str(port),
           "--server.address", "127.0.0.1", "--server.headless", "true", *flags]
    with open(log, "a") as out:
        proc = subprocess.Popen(cmd, cwd=REPO, env=env, stdout=out, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90
        while True:
            try:
                with urllib.request.urlopen(f"{base}/_stcore/health", timeout=2) as r:
                    if r.status == 200:
                        break
            except OSError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"streamlit did not become healthy:\n{log.read_text()[-3000:]}")
            time.sleep(0.3)
        yield proc, base
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()


@contextlib.contextmanager
def streamlit_server(model: Path | None, log_dir: Path):
    """A test server with ``model`` as $BERTLAB_MODEL (None: the app's own default, as in a
    classroom); yields its base URL once it is healthy, and stops it afterwards."""
    env = {k: v for k, v in os.environ.items() if k != "BERTLAB_MODEL"}
    env.update(HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1", TOKENIZERS_PARALLELISM="false")
    if model is not None:
        env["BERTLAB_MODEL"] = str(model)
    with streamlit_process(env, log_dir / "server.log") as (_, base):
        yield base


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """The app with the tiny checkpoint (one server per browser test module)."""
    from app_support import write_app_checkpoint

    model = write_app_checkpoint(tmp_path_factory.mktemp("browser-bert"))
    with streamlit_server(model, tmp_path_factory.mktemp("streamlit-log")) as base:
        yield base


@pytest.fixture(scope="module")
def browser():
    """Debian's chromium under playwright (skips when either is missing)."""
    from browser_support import CHROMIUM, CHROMIUM_ARGS, sync_api

    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield b
        b.close()


@pytest.fixture
def page(browser, server):
    """A fresh browser context (a new Streamlit session); every request it makes must be local."""
    from browser_support import is_local

    context = browser.new_context(viewport={"width": 1366, "height": 900}, locale="en-US")
    pg = context.new_page()
    seen: list[str] = []
    pg.on("request", lambda r: seen.append(r.url))
    pg.on("websocket", lambda ws: seen.append(ws.url))
    pg.base = server
    yield pg
    context.close()
    outside = [u for u in seen if not is_local(u)]
    assert not outside, f"requests left 127.0.0.1: {outside[:10]}"

"""Real BERT one step away: ``python -m bertcore download`` (``checkpoint.download``) against a hub
served on 127.0.0.1 (``fake_hub.py``), so that huggingface_hub's own client code runs, then what
is on disk: found without a network, listed in the app's model picker, loaded and predicting.

* into the Hugging Face cache (``$HF_HOME``), the hub given by ``$HF_ENDPOINT``, in a subprocess
  as a user runs it: only the files a BERT needs are fetched;
* ``--to DIR``: one plain folder per model, safetensors or (an older repo) pytorch_model.bin, found
  through ``$BERTLAB_MODELS`` and by path;
* the errors a classroom meets, each one line: a hub that cannot be reached (naming HF_ENDPOINT and
  the mirror), a name the hub does not have.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest
import torch

import bertcore
from app_support import write_app_checkpoint
from bertcore import defaults
from bertcore.__main__ import main
from fake_hub import FakeHub

REPO = Path(__file__).resolve().parent.parent
BERT_FILES = {"config.json", "model.safetensors", "vocab.txt", "tokenizer_config.json"}
TIMEOUT = 120


@pytest.fixture(scope="module")
def repos(tmp_path_factory) -> dict[str, Path]:
    """The repos the fake hub serves: bert-base-uncased (a tiny checkpoint, with files a BERT does
    not need beside it) and old-bert (pytorch_model.bin only, as older repos have)."""
    root = tmp_path_factory.mktemp("hub-repos")
    uncased = write_app_checkpoint(root / "bert-base-uncased")
    (uncased / "tf_model.h5").write_bytes(b"TensorFlow weights: not fetched")
    (uncased / "README.md").write_text("# a tiny BERT\n", encoding="utf-8")
    old = write_app_checkpoint(root / "old-bert")
    from safetensors.torch import load_file

    torch.save(load_file(old / "model.safetensors"), old / "pytorch_model.bin")
    (old / "model.safetensors").unlink()
    return {"bert-base-uncased": uncased, "old-bert": old}


def _cli(args: list[str], **env) -> subprocess.CompletedProcess:
    """``python -m bertcore download ARGS`` in a subprocess: the network allowed, ``env`` added."""
    full = {k: v for k, v in os.environ.items()
            if k not in ("HF_HUB_CACHE", "HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE")}
    full.update({k: str(v) for k, v in env.items()})
    return subprocess.run([sys.executable, "-m", "bertcore", "download", *args], cwd=REPO,
                          env=full, capture_output=True, text=True, timeout=TIMEOUT)


@pytest.fixture(scope="module")
def downloaded(repos, tmp_path_factory):
    """bert-base-uncased downloaded into a fresh Hugging Face cache through $HF_ENDPOINT:
    (the cache's hub folder, the CLI's result, the paths the hub was asked for)."""
    home = tmp_path_factory.mktemp("hf-home")
    with FakeHub(repos) as hub:
        out = _cli(["bert-base-uncased"], HF_HOME=home, HF_ENDPOINT=hub.url)
    return home / "hub", out, hub.requests


@pytest.fixture
def hub_cache(monkeypatch):
    """Points this process's huggingface_hub at a cache folder (it read $HF_HOME at import)."""
    from huggingface_hub import constants

    def use(folder: Path) -> None:
        monkeypatch.setattr(constants, "HF_HUB_CACHE", str(folder))

    return use


@pytest.fixture
def online(monkeypatch, tmp_path, hub_cache):
    """Downloads allowed in this process (conftest sets HF_HUB_OFFLINE), into an empty cache."""
    from huggingface_hub import constants

    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", False)
    hub_cache(tmp_path / "hf-cache")


# ----------------------------------------------------------------------------- into the cache

def test_download_asks_the_hub_of_HF_ENDPOINT_for_a_berts_files_only(downloaded):
    cache, out, requests = downloaded
    assert out.returncode == 0, out.stderr
    assert "Traceback" not in out.stderr
    assert any(r.startswith("/api/models/bert-base-uncased/") for r in requests), requests
    fetched = {r.rsplit("/", 1)[-1] for r in requests if "/resolve/" in r}
    assert fetched == BERT_FILES  # not tf_model.h5, not README.md
    # It says where the model went (in the cache of $HF_HOME).
    folder = Path(out.stdout.strip().split(": ", 1)[1])
    assert folder.is_relative_to(cache) and {p.name for p in folder.iterdir()} == BERT_FILES


def test_a_downloaded_model_is_on_disk_loads_offline_and_predicts(downloaded, hub_cache,
                                                                  monkeypatch):
    cache, out, _ = downloaded
    assert out.returncode == 0, out.stderr
    hub_cache(cache)
    assert defaults.on_disk(defaults.HUB_MODELS) == {"bert-base-uncased"}
    monkeypatch.delenv("BERTLAB_MODEL", raising=False)
    from ui import state

    assert state.default_model("en") == "bert-base-uncased"  # the app would open on it
    assert state.default_model("zh") == "offline-zh"
    bert = bertcore.load("bert-base-uncased", device="cpu", local_files_only=True)
    guesses = bert.fill_mask("the [MASK] barked .", top_k=3)
    assert len(guesses) == 1 and len(guesses[0]) == 3 and guesses[0][0][1] > 0


def test_the_app_opens_on_a_downloaded_model_and_lists_it_as_on_disk(downloaded, hub_cache,
                                                                     monkeypatch):
    from streamlit.testing.v1 import AppTest

    cache, out, _ = downloaded
    assert out.returncode == 0, out.stderr
    hub_cache(cache)
    monkeypatch.delenv("BERTLAB_MODEL", raising=False)
    at = AppTest.from_file(str(REPO / "app.py"), default_timeout=TIMEOUT).run()
    assert not at.exception and not at.error and not at.warning, at.warning
    picker = at.selectbox(key="w_model_choice")
    assert picker.value == "bert-base-uncased"
    labels = picker.options  # (as shown)
    assert "bert-base-uncased (Hugging Face hub, on disk)" in labels
    assert "bert-base-chinese (Hugging Face hub, needs a network once)" in labels
    assert any("2 layers · 4 heads" in c.value for c in at.sidebar.caption)


# ----------------------------------------------------------------------------- a folder to carry

def test_download_to_a_folder_one_plain_checkpoint_per_model(repos, tmp_path, online,
                                                             monkeypatch, capsys):
    to = tmp_path / "classroom"
    with FakeHub(repos) as hub:
        monkeypatch.setenv("HF_ENDPOINT", hub.url)
        assert main(["download", "bert-base-uncased", "old-bert", "--to", str(to)]) == 0
    printed = capsys.readouterr().out
    assert f"bert-base-uncased: {to / 'bert-base-uncased'}" in printed
    files = {d.name: {p.name for p in d.iterdir() if not p.name.startswith(".")}
             for d in to.iterdir()}
    assert files == {"bert-base-uncased": BERT_FILES,
                     "old-bert": BERT_FILES - {"model.safetensors"} | {"pytorch_model.bin"}}
    # The app's models folder lists both; each loads by its name and by its path, and predicts.
    monkeypatch.setenv("BERTLAB_MODELS", str(to))
    assert list(defaults.folder_models()) == ["bert-base-uncased", "old-bert"]
    assert defaults.on_disk(defaults.REAL_MODELS["en"]) == {"bert-base-uncased"}
    for name in ("old-bert", str(to / "bert-base-uncased")):
        bert = bertcore.load(name, device="cpu")
        assert bert.fill_mask("the dog [MASK] .", top_k=2)[0][0][1] > 0


# ----------------------------------------------------------------------------- errors

def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]  # nothing listens there once the socket is closed


def test_an_unreachable_hub_is_one_line_that_names_HF_ENDPOINT(tmp_path):
    url = f"http://127.0.0.1:{_closed_port()}"
    out = _cli(["bert-base-uncased"], HF_HOME=tmp_path, HF_ENDPOINT=url)
    assert out.returncode == 2 and out.stdout == ""
    err = out.stderr
    assert "Traceback" not in err and err.count("\n") == 1 and err.startswith("error: "), err
    assert f"the Hugging Face hub ({url}) cannot be reached" in err
    assert "HF_ENDPOINT=https://hf-mirror.com python -m bertcore download bert-base-uncased" in err


def test_a_name_the_hub_does_not_have_is_one_line(repos, online, monkeypatch, capsys):
    with FakeHub(repos) as hub:
        monkeypatch.setenv("HF_ENDPOINT", hub.url)
        assert main(["download", "bert-base-uncased-typo"]) == 2
    err = capsys.readouterr().err
    assert err == (f"error: there is no model 'bert-base-uncased-typo' on {hub.url}: check the "
                   f"name (e.g. bert-base-uncased); a private model needs `hf auth login`.\n")


def test_help_explains_HF_ENDPOINT_for_a_blocked_hub(capsys):
    with pytest.raises(SystemExit) as done:
        main(["download", "--help"])
    assert done.value.code == 0
    text = capsys.readouterr().out
    assert "HF_ENDPOINT=https://hf-mirror.com python -m bertcore download" in text
    assert "--to DIR" in text and "BERTLAB_MODELS" in text

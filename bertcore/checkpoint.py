"""Hugging Face BERT checkpoints in and out, key for key.

A checkpoint is a folder (or a hub id that becomes one through ``huggingface_hub``'s cache) holding
``config.json``, the weights (``model.safetensors``, sharded safetensors, or ``pytorch_model.bin``,
read only with ``weights_only=True``) and the tokenizer files. Because bertcore's modules carry the
same names as ``transformers``' (``bert.encoder.layer.0.attention.self.query.weight`` …), loading is
a copy of each tensor into the parameter of the same name, checking every shape. The ``LoadReport``
names what was copied, what the checkpoint had that the model does not use ("skipped") and what the
model has that the checkpoint lacks and therefore starts random ("new").

A hub id is fetched by ``download``: only config.json, the weights and the tokenizer files, into the
Hugging Face cache or, with ``to=``, into a plain folder that can be carried to a machine without a
network; ``$HF_ENDPOINT`` points it at a mirror where huggingface.co is blocked.

Which head class to build is read from the weights themselves: a checkpoint with both pretraining
heads (``cls.predictions`` and ``cls.seq_relationship``) becomes ``BertForPreTraining`` whatever its
``architectures`` says, so masked-LM and next-sentence prediction work on bert-base-uncased.
"""

from __future__ import annotations

import errno
import json
import os
import pickle
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import torch
from torch import nn

from .config import BertConfig, ConfigError
from .heads import TASK_MODELS

WEIGHT_FILES = ("model.safetensors", "model.safetensors.index.json", "pytorch_model.bin",
                "pytorch_model.bin.index.json")
# Files fetched from the hub for a BERT: config, weights and tokenizer, nothing else
# (no TF/Flax/ONNX).
HUB_PATTERNS = ["config.json", "vocab.txt", "tokenizer_config.json", "special_tokens_map.json",
                "tokenizer.json"]
# A public mirror of the hub, for classrooms where huggingface.co is blocked (HF_ENDPOINT).
HF_MIRROR = "https://hf-mirror.com"
# Names TensorFlow-era checkpoints use for LayerNorm parameters; transformers renames them the same
# way.
LEGACY_NAMES = {".gamma": ".weight", ".beta": ".bias"}


class CheckpointError(Exception):
    """A checkpoint that cannot be loaded, with a message fit to show a user."""


class OfflineError(CheckpointError):
    """A hub model that is not cached here and cannot be downloaded (no network)."""


@dataclass
class LoadReport:
    """What loading did, key by key."""

    architecture: str  # the class that was built, e.g. "BertForPreTraining"
    source: str  # the folder the weights came from
    loaded: list[str] = field(default_factory=list)  # copied from the checkpoint
    skipped: list[str] = field(default_factory=list)  # in the checkpoint, not used by this model
    new: list[str] = field(default_factory=list)  # in the model, not in the checkpoint: random init
    renamed: dict[str, str] = field(default_factory=dict)  # checkpoint name -> model name


# ----------------------------------------------------------------------------- finding the folder

def resolve(name_or_path: str | Path, *, local_files_only: bool = False,
            tqdm_class: type | None = None) -> Path:
    """Turns a local folder or a hub id into a local folder holding the checkpoint.

    Args:
        name_or_path: a folder with config.json, or a hub id such as "bert-base-uncased".
        local_files_only: only look in the local hub cache, never the network.
        tqdm_class: a tqdm subclass to report download progress (the app passes one that draws a
            progress bar on the page).

    Raises:
        OfflineError: a hub id that is neither cached nor downloadable.
        CheckpointError: a path that does not exist or holds no BERT checkpoint.
    """
    path = Path(name_or_path).expanduser()
    if path.is_dir():
        if not (path / "config.json").is_file():
            raise CheckpointError(f"{path} has no config.json: it is not a Hugging Face "
                                  f"checkpoint.")
        return path
    name = str(name_or_path).strip()
    if path.exists() or name.startswith((".", "/", "~")) or name.count("/") > 1 or not name:
        raise CheckpointError(f"{name or '(empty)'!r} is not a checkpoint folder or a hub id.")
    return download(name, local_files_only=local_files_only, tqdm_class=tqdm_class)


# ----------------------------------------------------------------------------- the hub

def hub_endpoint() -> str:
    """The hub downloads come from: ``$HF_ENDPOINT`` (a mirror, e.g. https://hf-mirror.com where
    huggingface.co is blocked) or https://huggingface.co."""
    from huggingface_hub import constants

    return (os.environ.get("HF_ENDPOINT") or constants.ENDPOINT).rstrip("/")


def download(name: str, to: str | Path | None = None, *, local_files_only: bool = False,
             tqdm_class: type | None = None) -> Path:
    """Fetches what a BERT needs from the hub, and nothing else: config.json, the weights
    (safetensors, or ``pytorch_model.bin`` for repos that have no safetensors) and the tokenizer
    files (no TensorFlow, Flax or ONNX copies).

    Args:
        name: a hub id, e.g. "bert-base-uncased" or "google-bert/bert-base-chinese".
        to: a folder: the checkpoint is written to ``to/<name after its last "/">/``, a plain
            folder that loads by path and can be carried to a machine without a network. By
            default it goes into the Hugging Face cache (``$HF_HOME``), where a hub id finds it.
        local_files_only: only look in the cache, never the network.
        tqdm_class: a tqdm subclass that reports progress (default: huggingface_hub's bars).

    Returns:
        The local folder holding the checkpoint.

    Raises:
        OfflineError: the hub (``hub_endpoint()``) cannot be reached and the model is not cached.
        CheckpointError: no such model on the hub, a gated one, an invalid id, or no config.json.
    """
    from huggingface_hub import snapshot_download

    endpoint = hub_endpoint()
    local_dir = Path(to).expanduser() / name.rstrip("/").rsplit("/", 1)[-1] if to else None

    def fetch(patterns: list[str]) -> Path:
        return Path(snapshot_download(name, allow_patterns=patterns, local_dir=local_dir,
                                      endpoint=endpoint, local_files_only=local_files_only,
                                      tqdm_class=tqdm_class))

    try:
        folder = fetch(HUB_PATTERNS + ["model.safetensors*"])
        if not _weight_files(folder):  # older repos: no safetensors, only pytorch_model.bin
            folder = fetch(["pytorch_model.bin*"])
    except Exception as e:
        raise _hub_error(name, endpoint, e, local_files_only) from e
    if not (folder / "config.json").is_file():
        raise CheckpointError(f"hub repo {name!r} has no config.json: it is not a transformers "
                              f"model.")
    return folder


def _hub_error(name: str, endpoint: str, e: Exception, local_files_only: bool) -> CheckpointError:
    """One line a user can act on, for what ``snapshot_download`` raised."""
    from huggingface_hub import constants
    from huggingface_hub.errors import (GatedRepoError, HFValidationError,
                                        LocalEntryNotFoundError, RepositoryNotFoundError)

    first_line = (str(e).strip().splitlines() or [""])[0]
    if isinstance(e, HFValidationError):
        return CheckpointError(f"{name!r} is not a valid hub id: {first_line}")
    if isinstance(e, GatedRepoError):
        return CheckpointError(f"{name!r} is gated on {endpoint}: accept its terms on its page "
                               f"and log in (`hf auth login`).")
    if isinstance(e, RepositoryNotFoundError):
        return CheckpointError(f"there is no model {name!r} on {endpoint}: check the name (e.g. "
                               f"bert-base-uncased); a private model needs `hf auth login`.")
    if isinstance(e, LocalEntryNotFoundError):
        if local_files_only:
            why = "is not on this machine"
        elif constants.is_offline_mode():
            why = "is not on this machine and HF_HUB_OFFLINE is set (unset it to download)"
        else:
            cause = e.__cause__ or e.__context__
            why = (f"is not on this machine and the Hugging Face hub ({endpoint}) cannot be "
                   f"reached" + (f" ({_first_line(cause)})" if cause else ""))
        return OfflineError(
            f"{name!r} {why}. It needs a network once: `python -m bertcore download {name}`; "
            f"where huggingface.co is blocked, through a mirror: "
            f"`HF_ENDPOINT={HF_MIRROR} python -m bertcore download {name}`.")
    if isinstance(e, OSError) and e.errno in (errno.EACCES, errno.EPERM, errno.ENOSPC,
                                              errno.EROFS):
        return CheckpointError(f"cannot write {name!r} to disk: {first_line}")
    return CheckpointError(f"cannot fetch {name!r} from {endpoint}: {_first_line(e)}")


def _first_line(e: BaseException) -> str:
    text = (str(e).strip().splitlines() or [""])[0]
    return f"{type(e).__name__}: {text}" if text else type(e).__name__


# ----------------------------------------------------------------------------- reading weights

def _weight_files(folder: Path) -> list[Path]:
    for name in WEIGHT_FILES:
        f = folder / name
        if f.is_file():
            if name.endswith(".index.json"):
                shards = sorted(set(json.loads(f.read_text())["weight_map"].values()))
                return [folder / s for s in shards]
            return [f]
    return []


def read_state_dict(folder: Path) -> dict[str, torch.Tensor]:
    """All tensors of a checkpoint folder, on the CPU, with legacy LayerNorm names modernised.

    Raises:
        CheckpointError: no weights, an unreadable or corrupt file, or a pickle that holds code.
    """
    files = _weight_files(folder)
    if not files:
        raise CheckpointError(f"{folder} has no weights (looked for {', '.join(WEIGHT_FILES)}).")
    state: dict[str, torch.Tensor] = {}
    for f in files:
        try:
            if f.suffix == ".safetensors":
                from safetensors.torch import load_file

                state.update(load_file(f, device="cpu"))
            else:
                state.update(torch.load(f, map_location="cpu", weights_only=True))
        except pickle.UnpicklingError as e:
            raise CheckpointError(f"{f.name} holds more than plain tensors; refusing to unpickle "
                                  f"it (weights_only=True): {e}") from e
        except Exception as e:  # truncated files, wrong formats, missing shards
            raise CheckpointError(f"cannot read {f.name}: {type(e).__name__}: {e}") from e
    return {_modern_name(k): v for k, v in state.items()}


def _modern_name(key: str) -> str:
    for old, new in LEGACY_NAMES.items():
        if key.endswith(old) and "LayerNorm" in key:
            return key[: -len(old)] + new
    return key


# ----------------------------------------------------------------------------- building the model

def pick_architecture(config: BertConfig, keys: set[str]) -> str:
    """The class to build: the task head the config names, else what the weights can fill."""
    named = (config.architectures or [None])[0]
    if named in ("BertForSequenceClassification", "BertForTokenClassification",
                 "BertForQuestionAnswering"):
        return named
    has_mlm = any(k.startswith("cls.predictions.") for k in keys)
    has_nsp = any(k.startswith("cls.seq_relationship.") for k in keys)
    if has_mlm and has_nsp:
        return "BertForPreTraining"
    if has_mlm:
        return "BertForMaskedLM"
    if has_nsp:
        return "BertForNextSentencePrediction"
    return "BertModel"


def copy_weights(model: nn.Module, state: dict[str, torch.Tensor], source: str = "",
                 ignore_mismatched: bool = False) -> LoadReport:
    """Copies ``state`` into ``model`` name for name, checking every shape.

    Checkpoints of a bare ``BertModel`` have no ``bert.`` prefix and task checkpoints do; either
    fits either kind of model. Tied parameters (the MLM decoder shares the word embeddings) count
    as present when any of their names is in the checkpoint.

    Raises:
        CheckpointError: a tensor whose shape differs from the model's (unless ignore_mismatched,
            which leaves such a parameter new, as fine-tuning with other labels needs).
    """
    report = LoadReport(type(model).__name__, source)
    ours = model.state_dict(keep_vars=True)
    prefixed = any(k.startswith("bert.") for k in ours)
    ckpt_prefixed = any(k.startswith("bert.") for k in state)

    def to_ours(key: str) -> str:
        if prefixed and not ckpt_prefixed and not key.startswith(
                ("cls.", "classifier.", "qa_outputs.")):
            return "bert." + key
        if not prefixed and key.startswith("bert."):
            return key[len("bert."):]
        return key

    by_storage: dict[int, list[str]] = {}  # tied parameters share one storage
    for k, t in ours.items():
        by_storage.setdefault(t.data_ptr(), []).append(k)
    filled: set[int] = set()
    with torch.no_grad():
        for key, tensor in state.items():
            name = to_ours(key)
            if name not in ours:
                # buffers some versions save
                if not key.endswith(("position_ids", "token_type_ids")):
                    report.skipped.append(key)
                continue
            target = ours[name]
            if target.shape != tensor.shape:
                if ignore_mismatched:
                    continue
                raise CheckpointError(f"{key}: the checkpoint has shape {tuple(tensor.shape)}, the "
                                      f"model (from config.json) expects {tuple(target.shape)}.")
            target.copy_(tensor)
            filled.add(target.data_ptr())
            report.loaded.append(name)
            if name != key:
                report.renamed[key] = name
    for ptr, names in by_storage.items():
        if ptr not in filled:
            report.new += [n for n in names if not n.endswith(("position_ids", "token_type_ids"))]
    return report


def load_model(folder: str | Path, architecture: str | None = None,
               ignore_mismatched: bool = False, config: BertConfig | None = None,
               ) -> tuple[nn.Module, BertConfig, LoadReport]:
    """Builds the right bertcore class for a checkpoint folder and copies its weights in.

    Args:
        folder: a local checkpoint folder (see ``resolve``).
        architecture: force a class from ``heads.TASK_MODELS`` (e.g. "BertForSequenceClassification"
            to fine-tune a pretrained encoder); by default it is picked from the weights.
        ignore_mismatched: leave shape-mismatched tensors new instead of failing.
        config: use this config instead of the folder's (e.g. with other labels).

    Returns:
        (model in eval mode on the CPU, its config, the LoadReport).
    """
    folder = Path(folder)
    try:
        config = config or BertConfig.from_json_file(folder / "config.json")
    except ConfigError as e:
        raise CheckpointError(str(e)) from e
    state = read_state_dict(folder)
    architecture = architecture or pick_architecture(config, set(state))
    if architecture not in TASK_MODELS:
        raise CheckpointError(f"unknown architecture {architecture!r}; "
                              f"choose one of {', '.join(TASK_MODELS)}.")
    model = TASK_MODELS[architecture](config)
    report = copy_weights(model, state, str(folder), ignore_mismatched)
    if not report.loaded:
        raise CheckpointError(f"none of the tensors in {folder} fit a BERT: "
                              f"is it a BERT checkpoint?")
    return model.eval(), config, report


def save_pretrained(model: nn.Module, folder: str | Path, tokenizer=None) -> Path:
    """Writes ``model`` (and the tokenizer) in the layout ``transformers`` loads.

    The config records the class as ``architectures``; tied tensors are written once, under the
    first name, as ``transformers`` does.
    """
    from safetensors.torch import save_file

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    config: BertConfig = model.config
    config.architectures = [type(model).__name__]
    config.to_json_file(folder / "config.json")
    seen: set[int] = set()
    tensors = {}
    for k, t in model.state_dict().items():
        if t.data_ptr() in seen or k.endswith(("position_ids", "token_type_ids")):
            continue
        seen.add(t.data_ptr())
        tensors[k] = t.detach().to("cpu").contiguous()
    save_file(tensors, folder / "model.safetensors", metadata={"format": "pt"})
    if tokenizer is not None:
        tokenizer.save_pretrained(folder)
    return folder


def progress_tqdm(report: Callable[[int, int, str], None]) -> type:
    """A tqdm class that calls ``report(done_bytes, total_bytes, description)`` as a download
    runs."""
    from tqdm.auto import tqdm

    class _Progress(tqdm):
        def update(self, n=1):
            out = super().update(n)
            report(int(self.n), int(self.total or 0), str(self.desc or ""))
            return out

    return _Progress

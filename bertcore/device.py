"""Where the model runs: device, dtype and CPU threads, chosen in one place.

BERT Lab runs on whatever the user has. ``pick_device("auto")`` takes CUDA when a GPU is there, then
Apple's MPS, then the CPU; every other module follows the device of the tensors it is given, so
nothing in bertcore assumes a GPU and nothing breaks when one is present.
"""

from __future__ import annotations

import os

import numpy as np
import torch

DTYPES = {"float32": torch.float32, "fp32": torch.float32, "float16": torch.float16,
          "fp16": torch.float16, "bfloat16": torch.bfloat16, "bf16": torch.bfloat16}


def available_devices() -> list[str]:
    """Names of the devices this machine can run on, best first (always ends with "cpu")."""
    names = []
    if torch.cuda.is_available():
        names += [f"cuda:{i}" for i in range(torch.cuda.device_count())]
    if getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
        names.append("mps")
    return names + ["cpu"]


def pick_device(device: str | torch.device | None = "auto") -> torch.device:
    """Resolves ``"auto"`` (or None) to CUDA, then MPS, then CPU; checks an explicit choice exists.

    Raises:
        ValueError: the named device is not available here (e.g. "cuda" on a CPU-only machine).
    """
    if device is None or str(device) == "auto":
        return torch.device(available_devices()[0])
    dev = torch.device(device)
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise ValueError("CUDA was asked for, but no CUDA GPU is available on this machine.")
    if dev.type == "mps" and "mps" not in available_devices():
        raise ValueError("MPS was asked for, but Apple's MPS backend is not available here.")
    return dev


def pick_dtype(dtype: str | torch.dtype | None, device: torch.device) -> torch.dtype:
    """float32 unless told otherwise; half precision only where the device runs it well.

    Explanations are shown as numbers, so the default stays float32 everywhere: fp16/bf16 is an
    explicit choice for speed (training with mixed precision goes through Accelerate instead).
    """
    if dtype is None or dtype == "auto":
        return torch.float32
    if isinstance(dtype, torch.dtype):
        return dtype
    try:
        return DTYPES[str(dtype).lower()]
    except KeyError:
        raise ValueError(f"unknown dtype {dtype!r}; choose one of {sorted(DTYPES)}") from None


def set_threads(n: int | None = None) -> int:
    """Sets torch's intra-op CPU threads (default: $BERTLAB_THREADS, else all cores) and returns
    it."""
    n = n or int(os.environ.get("BERTLAB_THREADS", "0")) or (os.cpu_count() or 1)
    torch.set_num_threads(max(1, n))
    return torch.get_num_threads()


def describe(device: torch.device) -> str:
    """A human-readable name for the device, for the UI and the CLI."""
    if device.type == "cuda":
        return f"GPU {torch.cuda.get_device_name(device)} (CUDA)"
    if device.type == "mps":
        return "Apple GPU (MPS)"
    return f"CPU ({torch.get_num_threads()} threads)"


def to_numpy(x, dtype=np.float32) -> np.ndarray:
    """A tensor (any device, any dtype, with or without grad) or array as a numpy array on the
    CPU: what the app draws and caches. Float64 where numbers are recomputed by hand and
    compared."""
    if isinstance(x, torch.Tensor):
        return x.detach().to("cpu", torch.float64 if dtype == np.float64 else torch.float32).numpy()
    return np.asarray(x, dtype=dtype)

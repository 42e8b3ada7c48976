"""Device and dtype choice."""

from __future__ import annotations

import pytest
import torch

from bertcore import device


def test_auto_picks_the_best_available_and_cpu_is_always_there():
    names = device.available_devices()
    assert names[-1] == "cpu"
    assert str(device.pick_device("auto")) == names[0]
    assert device.pick_device(None) == device.pick_device("auto")
    assert device.pick_device("cpu") == torch.device("cpu")


@pytest.mark.skipif(torch.cuda.is_available(),
                    reason="checks the refusal on a machine without CUDA")
def test_missing_gpu_is_refused_clearly():
    with pytest.raises(ValueError, match="no CUDA GPU"):
        device.pick_device("cuda")


def test_dtype_defaults_to_float32_and_names_are_checked():
    cpu = torch.device("cpu")
    assert device.pick_dtype(None, cpu) is torch.float32
    assert device.pick_dtype("bf16", cpu) is torch.bfloat16
    with pytest.raises(ValueError, match="unknown dtype"):
        device.pick_dtype("float8", cpu)


def test_threads_and_description(monkeypatch):
    before = torch.get_num_threads()
    try:
        assert device.set_threads(1) == 1
        monkeypatch.setenv("BERTLAB_THREADS", "2")
        assert device.set_threads() == 2
        assert device.describe(torch.device("cpu")) == "CPU (2 threads)"
    finally:
        torch.set_num_threads(before)

"""ui/jobs.py: what the fine-tuning page's progress line says about the time left, and the
training thread's lower CPU priority."""

from __future__ import annotations

import sys
from pathlib import Path
from types import SimpleNamespace

import pytest

from bertcore import finetune
from ui import jobs


def job() -> jobs.TrainingJob:
    return jobs.TrainingJob(data=None, cfg=finetune.FinetuneConfig(), model_name="tiny")


def test_before_any_plan_or_step_the_time_left_is_unknown_not_zero():
    assert job().time_left(now=100.0) is None


def test_before_the_first_step_the_plans_estimate_counts_down():
    j = job()
    plan = finetune.Plan(steps=10, eval_every=2, train_examples=320, seconds_per_step=3.0,
                         estimate_s=30.0)
    j._on_plan(plan, before=None)
    j.training_from = 1000.0
    assert j.time_left(now=1000.0) == 30.0
    assert j.time_left(now=1020.0) == 10.0
    assert j.time_left(now=1045.0) == 0.0  # late: never negative
    j.plan = finetune.Plan(steps=10, eval_every=2, train_examples=320, seconds_per_step=None,
                           estimate_s=None)  # no guard ran: nothing to count down
    assert j.time_left(now=1001.0) is None


def test_after_a_step_its_estimate_counts_down_between_steps():
    j = job()
    j._on_progress(SimpleNamespace(step=3, max_steps=10, eta_s=21.0, loss=0.5, metrics=None))
    j.eta_at = 500.0
    assert j.time_left(now=500.0) == 21.0 and j.time_left(now=506.0) == 15.0
    assert j.view()["step"] == 3 and j.history[-1]["loss"] == 0.5


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="per-thread priority is Linux's")
def test_a_training_thread_and_the_threads_it_starts_run_at_a_lower_priority():
    """The fine-tuning thread lowers only its own priority (the server's other threads, the
    pages' runs, keep theirs), and the threads it starts, as torch's pool is, take it too."""
    import threading

    seen = {}

    def nice_of(tid: int) -> int:
        return int(Path(f"/proc/self/task/{tid}/stat").read_text().rsplit(") ", 1)[1].split()[16])

    def worker():
        seen["lowered"] = jobs.lower_priority(jobs.TRAINING_NICE)
        seen["worker"] = nice_of(threading.get_native_id())
        child = threading.Thread(target=lambda: seen.update(child=nice_of(
            threading.get_native_id())))
        child.start()
        child.join()

    before = nice_of(threading.get_native_id())
    th = threading.Thread(target=worker)
    th.start()
    th.join()
    assert seen["lowered"] and jobs.TRAINING_NICE > before
    assert seen["worker"] == seen["child"] == jobs.TRAINING_NICE
    assert nice_of(threading.get_native_id()) == before  # this thread: unchanged

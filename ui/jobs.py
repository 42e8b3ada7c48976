"""The training-job runner: one fine-tuning run per session, in a background thread.

A session's run lives in a :class:`TrainingJob` kept in its ``st.session_state``: a background
thread trains a *copy* of the shared model (``finetune.run`` copies the weights; the shared Bert is
only read), and the page polls the job from an ``st.fragment``. The thread never calls Streamlit.
Memory stays bounded: each session keeps one job (a new Start replaces the old one), and at most
``MAX_TRAININGS`` runs train at once across all sessions (``BERTLAB_MAX_TRAININGS``); a session
that finds every slot taken gets a message instead of a run, and the runs already going are
untouched.
"""

from __future__ import annotations

import io
import json
import os
import tempfile
import threading
import time
import zipfile
from pathlib import Path

import streamlit as st

import bertcore
from bertcore import fine_tuning_heads, finetune, tasks

MAX_TRAININGS = int(os.environ.get("BERTLAB_MAX_TRAININGS", "2"))
# A training thread's CPU priority (Linux nice, 0-19): below the pages' runs, so that a class
# following its teacher is drawn first and the runs train in what is left. The threads torch starts
# for the run (its OpenMP pool) are started by this thread and take its priority.
TRAINING_NICE = int(os.environ.get("BERTLAB_TRAINING_NICE", "19"))
JOB_KEY = "_ft_job"


@st.cache_resource(show_spinner=False)
def _training_slots() -> threading.BoundedSemaphore:
    return threading.BoundedSemaphore(MAX_TRAININGS)


class TrainingJob:
    """One fine-tuning run in a background thread, read by the page while it runs."""

    def __init__(self, data: tasks.TaskData, cfg: finetune.FinetuneConfig, model_name: str):
        self.data, self.cfg, self.model_name = data, cfg, model_name
        self.lock = threading.Lock()
        self.stop_event = threading.Event()
        self.status = "preparing"  # preparing, training, done, failed
        self.history: list[dict] = []
        self.step, self.max_steps, self.eta_s = 0, 0, None
        self.eta_at = self.training_from = None  # when eta_s was measured; when training began
        self.plan: finetune.Plan | None = None
        self.before: finetune.Snapshot | None = None
        self.outcome: finetune.Outcome | None = None
        self.error: Exception | None = None
        self.started = time.time()
        self._zip: bytes | None = None
        self.thread: threading.Thread | None = None

    # -- the worker side
    def _on_plan(self, plan, before) -> None:
        with self.lock:
            self.plan, self.before, self.max_steps, self.status = (plan, before, plan.steps,
                                                                   "training")
            self.training_from = time.time()

    def _on_progress(self, p) -> None:
        with self.lock:
            self.step, self.max_steps, self.eta_s = p.step, p.max_steps, p.eta_s
            self.eta_at = time.time()
            self.history.append({"step": p.step, "loss": p.loss, **(p.metrics or {})})

    def _run(self, bert: bertcore.Bert, slots: threading.BoundedSemaphore) -> None:
        lower_priority(TRAINING_NICE)
        try:
            out = finetune.run(bert.model, bert.config, bert.tokenizer, self.data, self.cfg,
                               callback=self._on_progress, should_stop=self.stop_event.is_set,
                               on_plan=self._on_plan)
            with self.lock:
                self.outcome, self.status = out, "done"
        except Exception as e:  # shown on the page as a message, never a traceback
            with self.lock:
                self.error, self.status = e, "failed"
        finally:
            slots.release()

    # -- the page side
    @property
    def running(self) -> bool:
        return self.status in ("preparing", "training")

    def stop(self) -> None:
        self.stop_event.set()

    def time_left(self, now: float) -> float | None:
        """Seconds of training left, as of ``now``: the last step's estimate less the time since;
        before the first step, the plan's estimate less the time since training began; None
        when there is neither (the page then says it is still estimating)."""
        if self.eta_s is not None and self.eta_s != float("inf"):
            return max(0.0, self.eta_s - (now - self.eta_at))
        if self.plan is not None and self.plan.estimate_s and self.training_from is not None:
            return max(0.0, self.plan.estimate_s - (now - self.training_from))
        return None

    def view(self) -> dict:
        """A consistent copy of what the live panel draws."""
        with self.lock:
            now = time.time()
            return {"status": self.status, "history": list(self.history), "step": self.step,
                    "max_steps": self.max_steps, "eta_s": self.time_left(now), "plan": self.plan,
                    "elapsed": now - self.started, "stopping": self.stop_event.is_set()}

    def model_zip(self) -> bytes:
        """The fine-tuned model as a zip of its Hugging Face folder (made once)."""
        if self._zip is None and self.outcome is not None:
            with tempfile.TemporaryDirectory() as tmp:
                folder = finetune.save(self.outcome, Path(tmp) / "model")
                buf = io.BytesIO()
                with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
                    for f in sorted(folder.iterdir()):
                        z.write(f, f"bertlab-finetuned/{f.name}")
                self._zip = buf.getvalue()
        return self._zip or b""

    def log_json(self) -> str:
        return json.dumps(self.outcome.log() if self.outcome else {}, indent=1,
                          ensure_ascii=False, default=float)


def lower_priority(nice: int) -> bool:
    """Gives the calling thread (only it, and the threads it starts later) the CPU priority
    ``nice``; False where the system cannot (not Linux, or not allowed)."""
    try:
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), nice)
        return True
    except (AttributeError, OSError):
        return False


def training_job() -> TrainingJob | None:
    """This session's job, if it started one."""
    return st.session_state.get(JOB_KEY)


def start_training(bert: bertcore.Bert, model_name: str, data: tasks.TaskData,
                   cfg: finetune.FinetuneConfig) -> TrainingJob | None:
    """Starts a run for this session (replacing its previous job); None when all slots are busy."""
    old = training_job()
    if old is not None and old.running:
        return old
    slots = _training_slots()
    if not slots.acquire(blocking=False):
        return None
    job = TrainingJob(data, cfg, model_name)
    st.session_state[JOB_KEY] = job  # the old job (and its model) is dropped here
    job.thread = threading.Thread(target=job._run, args=(bert, slots), daemon=True,
                                  name="bertlab-finetune")
    job.thread.start()
    return job


def try_finetuned(job: TrainingJob, text: str, question: str = "") -> dict:
    """The fine-tuned model's answer for one input (see finetune.predict)."""
    out = job.outcome
    with job.lock:
        return finetune.predict(out.model, out.tokenizer, out.task, text, out.labels, question,
                                max_length=max(out.config.max_length, 128))


def read_head(job: TrainingJob, text: str, pair: str | None = None):
    """The fine-tuned model's own head on one input (see fine_tuning_heads.read_head)."""
    out = job.outcome
    with job.lock:
        return fine_tuning_heads.read_head(out.model, out.tokenizer, out.task, text, pair,
                                           labels=out.labels)

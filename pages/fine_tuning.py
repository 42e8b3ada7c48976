"""6 · Fine-tuning: the three heads fine-tuning adds, read live on the sidebar's input; then pick a
task and data, train a copy of the model live, compare before and after.

The heads section shows what each head (``bertcore.fine_tuning_heads``) computes with the
sidebar's model: its checkpoint's own head if it has one, else a seeded new layer (its numbers are
real, its answers mean nothing); a model this session fine-tuned for that task is read instead.

The run trains in a background thread owned by this session (ui.jobs.TrainingJob); the live panel
polls it with st.fragment(run_every=…). Stop keeps what was trained so far.
"""

import streamlit as st

from bertcore import fine_tuning_heads, finetune, tasks
from ui import charts, jobs, models, presenter, state, window
from ui.i18n import md_escape, t

TASK_DATA = {"classification": ["sentiment-en", "sentiment-zh"], "ner": ["ner-zh"], "qa": ["qa-zh"]}
UPLOAD = "__upload__"
HUB = "__hub__"
UPLOAD_TYPES = {"classification": ["csv", "jsonl"], "qa": ["json"]}
METRIC_NAMES = {"classification": {"accuracy": "ft.accuracy"},
                "ner": {"f1": "ft.f1", "accuracy": "ft.accuracy"},
                "qa": {"accuracy": "ft.exact", "f1": "ft.f1"}}
RESULT_METRICS = {"classification": {"accuracy": "ft.m.accuracy"},
                  "ner": {"f1": "ft.m.f1", "accuracy": "ft.m.accuracy"},
                  "qa": {"accuracy": "ft.m.exact", "f1": "ft.m.f1"}}
# The "try it" box's first text: a clear review of the kind the built-in task has most of (its
# Chinese reviews are mostly of hotels and books). A book review that praises the delivery
# ("这本书内容很好，物流也快。") came out negative in 6 of 7 measured runs of the
# untouched run, which reads all 13,891 training reviews: delivery is named in 18 of them,
# more often in complaints.
TRY_DEFAULT = {"en": "A warm, funny and beautifully acted film.",
               "zh": "这家酒店干净又安静，服务很好。"}
NER_DEFAULT = "新华社北京一月五日电，江泽民主席会见了美国客人。"
QA_DEFAULT = ("文中提到的人是谁？", "国务委员陈俊生作了会议总结。")
HEADS = ("classification", "ner", "qa")
SETUP_ANCHOR = "fine-tune"  # the setup's heading: an untrained head's note links here


@st.cache_resource(max_entries=4, show_spinner=False)
def task_data(name: str) -> tasks.TaskData:
    """A built-in fine-tuning set (read-only, shared by all sessions)."""
    return tasks.builtin(name)


@st.cache_resource(max_entries=4, show_spinner=False)
def hub_data(spec: str) -> tasks.TaskData:
    """A Hugging Face data set by ``NAME[:CONFIG]`` (read-only, shared; failures are not cached)."""
    return tasks.from_hub(spec)


@st.cache_data(max_entries=32, show_spinner=False)
def heads_view(name: str, tasks: tuple[str, ...], sentence: str, pair: str | None) -> dict:
    """The heads of ``tasks`` on the model's encoder (one pass): each its own if the checkpoint
    has it, else new."""
    bert = models.loaded(name)
    return fine_tuning_heads.read_heads(bert.model, bert.tokenizer, tasks, sentence, pair,
                                        max_length=bert.max_length)


def error_text(e: Exception) -> str:
    """A user-facing message: DataError codes translated, anything else as one line."""
    if isinstance(e, tasks.DataError):
        return t(f"ft.err.{e.code}", **{k: md_escape(v) for k, v in e.params.items()})
    return md_escape(f"{type(e).__name__}: {e}")


def pick_data(task: str):
    """The chosen data set (or None with a message shown)."""
    options = TASK_DATA[task] + ([UPLOAD] if task in UPLOAD_TYPES else []) + [HUB]
    if s.lang == "zh":  # a Chinese class (and model) starts on Chinese data
        options.sort(key=lambda o: not o.endswith("-zh"))
    name = lambda o: t({UPLOAD: "ft.data.upload", HUB: "ft.data.hub"}.get(o, f"ft.data.{o}"))  # noqa: E731
    source = st.selectbox(t("ft.data"), options, key=f"ft_source_{task}", format_func=name)
    if source == HUB:
        return pick_hub_data(task)
    if source != UPLOAD:
        if not s.presenter:
            st.caption(t(f"ft.about.{source}"))
        try:
            with st.spinner(t("model.loading", name=source)):
                return task_data(source)
        except Exception as e:  # the vaderSentiment download may fail offline
            st.error(error_text(e))
            return None
    if task not in UPLOAD_TYPES:
        st.info(t("ft.no_upload_ner"))
        return None
    up = st.file_uploader(t("ft.upload"), type=UPLOAD_TYPES[task], key=f"ft_upload_{task}",
                          help=t(f"ft.upload_help.{task}"))
    st.caption(t(f"ft.upload_help.{task}"))
    if up is None:
        return None
    try:
        data = tasks.read_upload(up.name, up.getvalue())
    except tasks.DataError as e:
        st.error(error_text(e), icon="⚠️")
        return None
    if data.task != task:
        st.error(t("ft.no_upload_ner"))
        return None
    return data


def pick_hub_data(task: str):
    """A data set from the Hugging Face hub by name (or None with a message shown)."""
    spec = st.text_input(t("ft.hub"), key=f"ft_hub_{task}", help=t(f"ft.hub_help.{task}")).strip()
    st.caption(t(f"ft.hub_help.{task}"))
    if not spec:
        return None
    try:
        with st.spinner(t("ft.hub_loading", name=md_escape(spec))):
            data = hub_data(spec)
    except tasks.DataError as e:
        st.error(error_text(e), icon="⚠️")
        return None
    if data.task != task:
        st.error(t("ft.hub_wrong_task", name=md_escape(spec), found=t(f"ft.task.{data.task}")))
        return None
    for note in data.notes:
        st.caption(md_escape(note))
    return data


def label_names(labels: list[str]) -> list[str]:
    """The labels in the UI's language where it has a word for them (negative -> 负面), else as the
    data names them (NER tags)."""
    return [name if (name := t(f"ft.label_{x}")) != f"ft.label_{x}" else x for x in labels]


def describe_data(data) -> None:
    labels = (" · " + t("ft.labels", labels=md_escape(", ".join(label_names(data.labels))))
              if data.labels else "")
    st.caption(t("ft.sizes", **data.sizes) + labels)
    model_lang = "zh" if "zh" in s.model else "en"
    if data.lang and data.lang != model_lang and s.model in ("offline-en", "offline-zh"):
        st.caption(t("ft.lang_hint", data=data.lang, model=model_lang))


def hyperparameters(data, on_cpu: bool) -> None:
    n_train = len(data.train)
    sizes = sorted({n for n in (100, 200, 500, 1000, 2000, 5000, 10000) if n < n_train} | {n_train})
    d = finetune.CLASSROOM  # the untouched run (measured: see bertcore/finetune.py)
    c1, c2, c3 = st.columns(3)
    c1.select_slider(t("ft.train_size"), sizes,
                     value=min(sizes, key=lambda n: abs(n - d.train_size)),
                     key=f"ft_train_size_{data.name}")
    c1.select_slider(t("ft.epochs"), [0.25, 0.5, 1.0, 2.0, 3.0, 5.0], value=d.epochs,
                     key="ft_epochs")
    c2.select_slider(t("ft.batch"), [8, 16, 32, 64], value=d.batch_size, key="ft_batch")
    c2.select_slider(t("ft.lr"), [1e-5, 2e-5, 3e-5, 5e-5, 1e-4, 2e-4, 3e-4, 4e-4, 5e-4, 1e-3],
                     value=finetune.suggested_learning_rate(bert.config),
                     format_func=lambda v: f"{v:.0e}", key="ft_lr")
    c3.select_slider(t("ft.max_len"), [32, 64, 128, 256], value=d.max_length, key="ft_max_len")
    c3.toggle(t("ft.freeze"), value=False, key="ft_freeze")
    c3.toggle(t("ft.no_dropout"), value=d.dropout == 0.0, key="ft_no_dropout",
              help=t("ft.no_dropout_help"))
    c3.toggle(t("ft.ema"), value=bool(d.ema), key="ft_ema", help=t("ft.ema_help"))
    if on_cpu:
        c3.toggle(t("ft.guard"), value=True, key="ft_guard", help=t("ft.guard_help"))


def chosen_config(data, on_cpu: bool) -> finetune.FinetuneConfig:
    """The hyperparameters as the widgets hold them now (also inside a button's callback)."""
    ss = st.session_state
    guard = on_cpu and ss.get("ft_guard", True)  # small evaluations too, to stay in the budget
    d = finetune.CLASSROOM
    return finetune.FinetuneConfig(
        train_size=ss[f"ft_train_size_{data.name}"], epochs=ss["ft_epochs"],
        batch_size=ss["ft_batch"], learning_rate=ss["ft_lr"], max_length=ss["ft_max_len"],
        freeze_encoder=ss["ft_freeze"], dropout=0.0 if ss.get("ft_no_dropout") else None,
        ema=finetune.EMA_DECAY if ss.get("ft_ema") else 0.0,
        eval_every=d.eval_every, eval_size=d.eval_size if guard else 200,
        test_size=d.test_size if guard else 300, time_budget_s=d.time_budget_s if guard else None)


def start(data, on_cpu: bool) -> None:
    if jobs.start_training(bert, s.model, data, chosen_config(data, on_cpu)) is None:
        st.session_state["_ft_busy"] = True


def live_panel(task: str, live: bool = False, scale: float = 1.0) -> None:
    """Progress bar and curves, redrawn from the job while it trains (``scale``: the charts' type
    scale of the page's run, which a fragment's rerun does not get from app.py)."""
    charts.set_font_scale(scale)
    job = jobs.training_job()
    if job is None:
        return
    v = job.view()
    if v["status"] == "preparing":
        st.info(t("ft.preparing"), icon="⏳")
    elif v["status"] == "training" and v["max_steps"]:
        where = (t("ft.progress", step=v["step"], total=v["max_steps"], eta=f"{v['eta_s']:.0f}")
                 if v["eta_s"] is not None else
                 t("ft.progress_first", step=v["step"], total=v["max_steps"]))
        st.progress(min(v["step"] / v["max_steps"], 1.0),
                    text=t("ft.stopping") if v["stopping"] else where)
    if v["history"]:
        names = {k: t(key) for k, key in METRIC_NAMES[task].items()}
        st.plotly_chart(charts.training_curves(v["history"], loss_label=t("ft.loss"),
                                               metric_labels=names, step_label=t("ft.step"),
                                               title=t("ft.curves"), max_steps=v["max_steps"]),
                        width="stretch", config=charts.plot_config("training-curves"),
                        key="ft_curves")
    if v["plan"] is not None and v["plan"].notes and not s.presenter:
        st.caption(md_escape(" · ".join(v["plan"].notes)))
    if job.running:
        st.button(t("ft.stop"), icon=":material/stop_circle:", on_click=job.stop, key="ft_stop",
                  disabled=v["stopping"])
    elif live:
        st.rerun()  # the run ended: redraw the whole page with the results


def metric_row(out) -> None:
    """One st.metric per score: the value after training, the change since before."""
    shown = {**RESULT_METRICS[out.task], "loss": "ft.m.loss"}
    for col, (key, label) in zip(st.columns(len(shown)), shown.items()):
        before, after = out.before.metrics[key], out.after.metrics[key]
        if key == "loss":
            col.metric(t(label), f"{after:.3f}", delta=f"{after - before:+.3f}",
                       delta_color="inverse", help=f"{t('ft.before')}: {before:.3f}")
        else:
            col.metric(t(label), f"{after:.1%}", delta=f"{(after - before) * 100:+.1f} pt",
                       help=f"{t('ft.before')}: {before:.1%}")


def before_after(draw) -> None:
    left, right = st.columns(2)
    with left:
        draw("before")
    with right:
        draw("after")


def results(job) -> None:
    out = job.outcome
    r = out.result
    if out.timed_out:
        st.warning(t("ft.timed_out", steps=r.steps), icon=":material/timer:")
    elif r.cancelled:
        st.warning(t("ft.cancelled", steps=r.steps), icon=":material/pan_tool:")
    else:
        st.success(t("ft.done", steps=r.steps, secs=r.seconds), icon=":material/check_circle:")
    steps.section("results")
    st.subheader(t("ft.results"))
    if not s.presenter:
        st.caption(t("ft.results_caption", n=min(out.config.test_size, len(job.data.test))))
    metric_row(out)

    if out.after.confusion is not None:
        st.markdown(f"**{t('ft.confusion')}**")
        if not s.presenter:
            st.caption(t("ft.confusion_caption"))
        before_after(lambda w: st.plotly_chart(
            charts.confusion(getattr(out, w).confusion, label_names(out.labels), t(f"ft.{w}"),
                             true_label=t("ft.true"), pred_label=t("ft.pred")),
            width="stretch", config=charts.plot_config(f"confusion-{w}"), key=f"ft_conf_{w}"))
    if out.after.points is not None:
        st.markdown(f"**{t('ft.points')}**")
        if not s.presenter:
            st.caption(t("ft.points_caption"))
        before_after(lambda w: st.plotly_chart(
            charts.points_2d(getattr(out, w).points, getattr(out, w).point_labels,
                             label_names(out.labels), t(f"ft.{w}")), width="stretch",
            config=charts.plot_config(f"cls-points-{w}"), key=f"ft_pts_{w}"))

    steps.section("attention")
    st.markdown(f"**{t('ft.attention')}**")
    probes = out.probe_tokens
    i = st.selectbox(t("ft.probe"), range(len(probes)), key="ft_probe",
                     format_func=lambda k: " ".join(probes[k][1:-1])[:90])
    layers, heads = out.before.probe_attentions[i].shape[:2]
    state.clamp_layer_head(layers, heads)
    c1, c2 = st.columns(2)
    c1.select_slider(t("common.layer"), list(range(layers)), help=t("common.from_zero"),
                     **state.bind("layer"))
    c2.select_slider(t("common.head"), list(range(heads)), help=t("common.from_zero"),
                     **state.bind("head"))
    cur = state.current()
    before_after(lambda w: st.plotly_chart(
        charts.heatmap(getattr(out, w).probe_attentions[i][cur.layer, cur.head], probes[i],
                       probes[i], t(f"ft.{w}"), zmin=0, zmax=1, value_label=t("common.attention")),
        width="stretch", config=charts.plot_config(f"attention-{w}"), key=f"ft_att_{w}"))

    steps.section("try")
    try_it(job)

    st.divider()
    c1, c2 = st.columns(2)
    c1.download_button(t("ft.download_model"), data=job.model_zip,
                       file_name="bertlab-finetuned.zip", mime="application/zip",
                       icon=":material/download:", on_click="ignore",
                       key="ft_dl_model")
    c2.download_button(t("ft.download_log"), data=job.log_json(), file_name="training_log.json",
                       mime="application/json", icon=":material/download:", on_click="ignore",
                       key="ft_dl_log")
    if not s.presenter:
        st.caption(t("ft.download_caption"))


def tag_colors(tags: list[str], labels: list[str]) -> list[str]:
    """A chip colour per tag: one per entity kind (B- and I- alike), grey for O."""
    kinds = sorted({tag[2:] for tag in labels if tag != "O"})
    return [charts.SPECIAL_COLOR if tag == "O" or tag[2:] not in kinds
            else charts.PALETTE[kinds.index(tag[2:]) % 10] for tag in tags]


def finetuned(task: str):
    """This session's finished fine-tuning job when it trained a ``task`` model, else None."""
    job = jobs.training_job()
    if job is None or job.running or job.outcome is None or job.outcome.task != task:
        return None
    return job


def head_note(r, job) -> None:
    """One line: which weights the head has (trained here, trained in the checkpoint, random)."""
    if job is not None:
        st.success(t("heads.finetuned", model=md_escape(job.model_name),
                     data=md_escape(job.data.name)), icon=":material/school:")
    elif r.trained:
        st.success(t("heads.checkpoint", model=md_escape(s.model)), icon=":material/school:")
    else:
        st.warning(t("heads.random_presenter" if s.presenter else "heads.random",
                     anchor=SETUP_ANCHOR), icon=":material/casino:")


def heads_section() -> None:
    """The three heads on the sidebar's input, each with its real numbers."""
    if not s.sentence.strip():
        st.info(t("input.empty"), icon="✍️")
        return
    pair = s.pair.strip() or None
    wanted = [task for task in HEADS if task != "qa" or pair]  # qa reads a question and a passage
    fine = {task: job for task in wanted if (job := finetuned(task)) is not None}
    shared = tuple(task for task in wanted if task not in fine)
    readings = {task: (None, r) for task, r in heads_view(s.model, shared, s.sentence,
                                                          pair).items()}
    readings |= {task: (job, jobs.read_head(job, s.sentence, pair)) for task, job in fine.items()}
    if cut := max((r.truncated for _, r in readings.values()), default=0):
        st.warning(t("input.truncated", max=bert.max_length, n=cut), icon="✂️")
    dim = bert.config.hidden_size

    st.markdown(f"**{t('heads.cls_title')}**")
    job, r = readings["classification"]
    if not s.presenter:
        st.caption(t("heads.cls_caption", dim=dim, n=len(r.labels)))
    head_note(r, job)
    st.plotly_chart(charts.bars(label_names(r.labels), r.probs, highlight=r.best[0], x_max=1.0),
                    width="stretch", config=charts.plot_config("classification-head"),
                    key="heads_cls_bars")

    # A long input: the two per-token heads show one window of it (one slider for both).
    shown = window.tokens(len(readings["ner"][1].tokens), key="heads_window")
    st.markdown(f"**{t('heads.tag_title')}**")
    job, r = readings["ner"]
    if not s.presenter:
        st.caption(t("heads.tag_caption", dim=dim, n=len(r.labels)))
    head_note(r, job)
    tags = [r.labels[r.best[i]] for i in shown]
    st.html(charts.chips_html([r.tokens[i] for i in shown], tag_colors(tags, r.labels), tags))

    st.markdown(f"**{t('heads.qa_title')}**")
    if "qa" not in readings:
        st.info(t("heads.qa_no_pair"), icon="❓")
        return
    job, r = readings["qa"]
    if not s.presenter:
        st.caption(t("heads.qa_caption", dim=dim, max=finetune.MAX_ANSWER_TOKENS))
    head_note(r, job)
    start, end = r.best
    shown = range(shown.start, min(shown.stop, len(r.tokens)))  # (a model of its own tokenizer)
    scores = r.logits[shown.start:shown.stop].T  # (2, W): start, end
    lim = float(abs(scores).max()) or 1.0
    fig = charts.heatmap.fresh(scores, r.tokens[shown.start:shown.stop],
                               [t("heads.qa_start"), t("heads.qa_end")], None,
                               colorscale=charts.DIVERGING, zmid=0, zmin=-lim, zmax=lim,
                               value_label=t("heads.qa_score"))
    if shown.start <= start and end < shown.stop:  # the best span, framed
        fig.add_vrect(x0=start - shown.start - 0.5, x1=end - shown.start + 0.5,
                      line=dict(color=charts.INK, width=3), fillcolor="rgba(0,0,0,0)")
    st.plotly_chart(fig, width="stretch", config=charts.plot_config("answer-span-head"),
                    key="heads_qa_scores")
    st.markdown(t("heads.qa_answer", start=start, end=end, answer=md_escape(r.answer))
                if r.answer.strip() else t("heads.qa_empty", start=start, end=end))


def try_it(job) -> None:
    out = job.outcome
    st.subheader(t("ft.try"))
    if out.task == "qa":
        q = st.text_input(t("ft.try_question"), QA_DEFAULT[0], key="ft_try_q", max_chars=300)
        text = st.text_area(t("ft.try_passage"), QA_DEFAULT[1], key="ft_try_p", max_chars=3000)
        if q.strip() and text.strip():
            pred = jobs.try_finetuned(job, text, q)
            st.markdown(t("ft.answer", answer=md_escape(pred["answer"])) if pred["answer"].strip()
                        else t("ft.no_answer"))
        return
    lang = job.data.lang or s.lang
    default = NER_DEFAULT if out.task == "ner" else TRY_DEFAULT.get(lang, TRY_DEFAULT["en"])
    text = st.text_input(t("ft.try_text"), default, key=f"ft_try_{out.task}", max_chars=1000)
    if not text.strip():
        st.info(t("ft.try_empty"), icon="✍️")
        return
    pred = jobs.try_finetuned(job, text)
    if out.task == "classification":
        probs = pred["probs"]
        best = max(range(len(probs)), key=probs.__getitem__)
        st.plotly_chart(charts.bars(label_names(out.labels), probs, highlight=best),
                        width="stretch", config=charts.plot_config("try-it"), key="ft_try_bars")
    else:
        st.html(charts.chips_html(pred["tokens"], tag_colors(pred["tags"], out.labels),
                                  pred["tags"]))


# ----------------------------------------------------------------------------- the page
s = state.current()
bert = models.current_bert()

st.title(t("ft.title"))
st.markdown(t("ft.intro"))
job = jobs.training_job()
running = job is not None and job.running
# In presenter mode: the three heads, the task and its run, then (once there are results) one
# part at a time.
steps = presenter.Steps("fine_tuning", {"heads": t("heads.title"), "setup": t("heads.setup")} | (
    {"results": t("ft.results"), "attention": t("ft.attention"), "try": t("ft.try")}
    if job is not None and not running and job.outcome is not None else {}))

st.subheader(t("heads.title"))
if not s.presenter:
    st.markdown(t("heads.intro"))
heads_section()

steps.section("setup")
st.subheader(t("heads.setup"), anchor=SETUP_ANCHOR)
task = st.segmented_control(t("ft.task"), list(TASK_DATA), format_func=lambda k: t(f"ft.task.{k}"),
                            default="classification", key="ft_task") or "classification"
data = pick_data(task)

if data is not None:
    describe_data(data)
    on_cpu = bert.device.type == "cpu"
    with st.expander(t("ft.hyper"), expanded=not s.presenter):
        hyperparameters(data, on_cpu)
    st.button(t("ft.start"), type="primary", icon=":material/play_arrow:", key="ft_start",
              disabled=running, on_click=start, args=(data, on_cpu))
if st.session_state.pop("_ft_busy", False):
    st.warning(t("ft.busy"), icon="⏳")

if job is not None:
    if running:
        st.fragment(run_every=1.0)(live_panel)(job.data.task, live=True,
                                               scale=charts.font_scale())
    else:
        live_panel(job.data.task, scale=charts.font_scale())
        if job.status == "failed":
            st.error(t("ft.failed", reason=error_text(job.error)), icon="⚠️")
        elif job.outcome is not None:
            results(job)

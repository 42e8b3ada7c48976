"""7 · Pretraining: a tiny BERT learns from scratch, live, with masked words and next sentences."""

import streamlit as st

from bertcore import toy
from ui import charts, presenter, state
from ui.i18n import lang, md_escape, t

CLOZES = toy.DEFAULT_CLOZES
# Steps between redraws of the chart and the guesses while training (the progress bar moves at
# every report): each redraw sends the whole history to the browser.
REDRAW_EVERY = 100
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
language = lang() if lang() in CLOZES else "en"  # the toy corpora: English and Chinese

steps = presenter.Steps("pretraining", {"text": t("pt.text"), "pairs": t("pt.pairs"),
                                        "masked": t("pt.masked"), "train": t("pt.train")})
st.title(t("pt.title"))
st.markdown(t("pt.intro"))

# ----------------------------------------------------------------------------- 1 · the text
st.subheader(t("pt.text"))
n_docs = st.select_slider(t("pt.docs"), [30, 60, 100, 150, 200, 300],
                          value=toy.DEFAULT_DOCS, key="pt_docs")
try:  # (a first visit on a server builds the corpus, its vocabulary and pairs: ~7 s in English)
    with st.spinner(t("pt.building")):
        view = corpus_view(language, n_docs, CLOZES[language])
except (OSError, ValueError) as e:
    st.error(t("pt.corpus_failed", reason=md_escape(e)))
    st.stop()
st.caption(t("pt.corpus", source=t(f"pt.source_{language}"), docs=view.n_docs,
             sents=view.n_sentences, vocab=view.vocab_size))
with st.expander(t("pt.first_doc")):
    st.text("\n".join(view.first_document))

# ----------------------------------------------------------------------------- 2 · NSP pairs
steps.section("pairs")
st.subheader(t("pt.pairs"))
st.markdown(t("pt.pairs_caption", n=view.n_examples, max_len=view.max_len))
presenter.table(
    [{t("pt.col_label"): t("pt.is_next" if is_next else "pt.not_next"), t("pt.col_a"): a,
      t("pt.col_b"): b} for a, b, is_next in view.pairs], width="stretch")

# ----------------------------------------------------------------------------- 3 · masking
steps.section("masked")
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
steps.section("train")
st.subheader(t("pt.train"))
c1, c2, c3 = st.columns(3)
steps = c1.select_slider(t("pt.steps"), sorted({50, 100, 200, 500, 1000, 2000, 3000,
                                                *toy.DEFAULT_STEPS.values()}),
                         value=toy.DEFAULT_STEPS[language], key=f"pt_steps_{language}")
lr = c2.select_slider(t("pt.lr"), [3e-4, 1e-3, 2e-3, 5e-3], value=toy.DEFAULT_LEARNING_RATE,
                      key="pt_lr", format_func=lambda v: f"{v:g}")
batch = c3.select_slider(t("pt.batch"), sorted({8, 16, 32, 64, 128, *toy.DEFAULT_BATCH.values()}),
                         value=toy.DEFAULT_BATCH[language], key=f"pt_batch_{language}")
cloze = st.text_input(t("pt.cloze"), CLOZES[language], key=f"pt_cloze_{language}",
                      max_chars=300, help=t("pt.cloze_help"))
shared_setup = setup(language, n_docs, CLOZES[language])
max_tokens = shared_setup.model.config.max_position_embeddings - 2  # with [CLS] and [SEP]
n_masks = cloze.count("[MASK]")
if n_masks != 1:
    st.warning(t("pt.cloze_bad", n=n_masks), icon="⚠️")
    cloze = None
elif (n_tokens := len(shared_setup.tokenizer.tokenize(cloze))) > max_tokens:
    st.warning(t("pt.cloze_long", n=n_tokens, max=max_tokens), icon="⚠️")
    cloze = None
elif unknown := toy.unknown_words(shared_setup.tokenizer, cloze):
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
    run = toy.ToyRun.start(shared_setup)
    ss[KEY] = (corpus_key, run)
if run is None:
    st.info(t("pt.not_yet", start=t("pt.start"), steps=steps), icon="🎓")
    st.stop()

c = run.model.config
st.caption(t("pt.size", layers=c.num_hidden_layers, heads=c.num_attention_heads,
             hidden=c.hidden_size, params=run.num_parameters))
status_slot, progress_slot, chart_slot = st.empty(), st.empty(), st.empty()
st.caption(t("pt.loss_caption"))
score_slot = st.empty()
st.markdown(f"**{t('pt.guesses')}**")
guess_slot = st.empty()
reading_slot = st.empty()
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
        row = run.history[-1]
        if "mlm_loss" not in row or row["step"] % REDRAW_EVERY:
            return  # while training, the chart and the guesses wait for every REDRAW_EVERY steps
    chart_slot.plotly_chart(charts.curves(
        run.history, SERIES, t("pt.loss_title"), x_title=t("pt.step"),
        hlines={t("pt.unigram"): run.setup.unigram_loss, t("pt.coin"): 0.6931}),
        config=charts.plot_config("pretraining-loss"), key=f"pt_curves_{ss['pt_draws']}")
    evals = [r for r in run.history if "mlm_top1" in r]
    if evals:
        score_slot.markdown(t("pt.scores", top1=evals[-1]["mlm_top1"], top5=evals[-1]["mlm_top5"],
                              nsp=evals[-1]["nsp_acc"]))
    guesses = [r for r in reversed(run.history) if "cloze" in r]
    if state.current().presenter:  # on a projector, one row per redraw (and the newest and first)
        guesses = [r for r in guesses if r["step"] % REDRAW_EVERY == 0
                   or r is guesses[0] or r is guesses[-1]]
    if guesses:
        presenter.table(
            [{t("pt.step"): r["step"], **{t("pt.guess_col", r=i + 1): f"{w} ({p:.0%})"
                                          for i, (w, p) in enumerate(r["cloze"])}}
             for r in guesses], guess_slot, width="stretch")
    reading_slot.caption(t("pt.reading", examples=run.examples_seen, max_len=run.setup.max_len,
                           bert_examples=toy.BERT_EXAMPLES, bert_max_len=toy.BERT_MAX_LEN))


if start or more:
    run.cloze = cloze
    status_slot.info(t("pt.running"), icon="⏳")
    # Training runs in this script run: a click on any button (Stop, too) reruns the page, which
    # ends training at the next redraw; the model and its history so far stay in this session.
    run.train(steps, learning_rate=lr, batch_size=batch, on_update=lambda: draw(steps))
    progress_slot.empty()
if best := run.memorised_after:
    status_slot.warning(t("pt.memorising", step=run.step, best_step=best["step"],
                          best=best["mlm_loss"], now=run.history[-1].get("mlm_loss", 0.0)),
                        icon="📚")
elif (start or more) and run.finished:
    status_slot.success(t("pt.done", step=run.step, sec=run.seconds), icon="✅")
elif run.step and not run.finished:
    status_slot.info(t("pt.stopped", step=run.step), icon="⏸️")
draw()

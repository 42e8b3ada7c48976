"""BERT Lab: what BERT does to a sentence, computed live, for a classroom or one curious reader.

``streamlit run app.py``. This file is the frame every page shares: page config, the view state
(which lives in the URL, see ``ui/state.py``), the model (loaded once, with a fallback to the
default when a choice fails), the sidebar (language, sentence, second sentence, model, presenter
mode) and the navigation over ``pages/``.

Environment: ``BERTLAB_MODEL`` (a checkpoint folder) replaces the default model, e.g. for tests;
``BERTLAB_MODELS`` is a models folder (one checkpoint per subfolder) whose models the picker lists
and whose real BERT of the UI's language the app opens on (see ``bertcore.defaults``).
"""

from __future__ import annotations

import os
from pathlib import Path

import streamlit as st

from bertcore import defaults
from bertcore.checkpoint import CheckpointError, OfflineError
from ui import charts, models, state
from ui.classroom import questions
from ui.classroom import session as classroom
from ui.i18n import LANG_NAMES, md_escape, t

HERE = Path(__file__).parent
OTHER = "__other__"

# ----------------------------------------------------------------------------- page and state
s = state.init()
# "auto": open on a laptop, closed on a phone (Streamlit's breakpoint), where it would cover most of
# the screen; presenter mode always starts with the whole width for the page.
st.set_page_config(page_title="BERT Lab", page_icon="🔬", layout="wide",
                   initial_sidebar_state="collapsed" if s.presenter else "auto")

PRESENTER_CHART_SCALE = 1.5  # the charts' type, like the page's (21 px instead of 14-16)
PRESENTER_CSS = """<style>
html { font-size: 21px; }
.stMainBlockContainer { max-width: 100%; padding-left: 3rem; padding-right: 3rem; }
[data-testid="stExpander"] { display: none; }
.stMainBlockContainer h1 { font-size: 2.6rem; }
</style>"""
CALM_CSS = """<style>
.stMainBlockContainer { padding-top: 2.5rem; }
.bl-chips { line-height: 2.6; }
</style>"""
charts.set_font_scale(PRESENTER_CHART_SCALE if s.presenter else 1.0)
st.html(CALM_CSS + (PRESENTER_CSS if s.presenter else "")
        + charts.column_labels_css(charts.text_px()))  # a chart's token labels apart, if narrow
# Every chart's mode bar saves it as PNG (plotly's camera) and as SVG (this script's button). The
# script sits in the sidebar (mounted also while it is closed), where it takes no room of a page's.
st.sidebar.html(charts.svg_button_html(t("export.svg")), unsafe_allow_javascript=True)


# ----------------------------------------------------------------------------- the model

def load_model():
    """The chosen model; on failure a message and the default; None if even that fails."""
    name, fallback = s.model, state.default_model(s.lang)
    try:
        return models.get_bert(name)
    except CheckpointError as e:
        if name == fallback:
            st.error(t("model.default_missing", name=md_escape(name), reason=md_escape(e)))
            return None
        if isinstance(e, OfflineError):  # (a valid hub id: safe in a code span as it is)
            notice = t("model.offline", name=md_escape(name), fallback=md_escape(fallback),
                       id=name)
        else:
            notice = (t("model.failed", name=md_escape(name), reason=md_escape(e)) + " "
                      + t("model.fell_back", fallback=md_escape(fallback)))
    state.update(model=fallback)
    try:
        bert = models.get_bert(fallback)
    except CheckpointError as e:
        st.error(t("model.default_missing", name=md_escape(fallback), reason=md_escape(e)))
        return None
    st.warning(notice, icon="⚠️")
    return bert


def offline_label(name: str) -> str:
    try:
        defaults.manifest(name)
    except CheckpointError:
        return t("side.offline_missing", name=name)
    return t("side.offline_en" if name == "offline-en" else "side.offline_zh")


def offline_caption(name: str) -> str | None:
    """What an offline default is and how well it does, from its manifest (measured numbers)."""
    try:
        info = defaults.manifest(name)
    except CheckpointError:
        return None
    q = info.get("quality") or {}
    try:
        return t(f"side.about_{name}", steps=info["steps_done"], minutes=info["train_minutes"],
                 top5=q["mlm_top5"], nsp=q["nsp_acc"], cloze=q["cloze_top5"])
    except (KeyError, TypeError):  # a manifest from another version: say what it is, no numbers
        return t(f"side.about_{name}_short")


def model_label(name: str) -> str:
    if name == OTHER:
        return t("side.model_other")
    if name in defaults.OFFLINE_MODELS:
        return offline_label(name)
    if name in FOLDER_MODELS:
        return t("side.model_folder", name=name)
    if name in defaults.HUB_MODELS:
        return t("side.model_cached" if name in CACHED else "side.model_hub", name=name)
    if Path(name).expanduser().is_dir():
        return t("side.model_local", name=Path(name).name or name)
    return name


def model_options() -> list[str]:
    """$BERTLAB_MODEL, the offline defaults, the models folder's, the suggested hub models (those
    not in the models folder), the current one, and "other"."""
    env = os.environ.get("BERTLAB_MODEL")
    hub = [n for n in defaults.HUB_MODELS if n not in FOLDER_MODELS]
    options = ([env] if env else []) + list(defaults.OFFLINE_MODELS) + list(FOLDER_MODELS) + hub
    if s.model not in options:
        options.append(s.model)
    return options + [OTHER]


def pick_model() -> None:
    choice = st.session_state["w_model_choice"]
    if choice != OTHER:
        state.update(model=choice)


def custom_model() -> None:
    name = (st.session_state.get("w_model_custom") or "").strip()
    if name:
        state.update(model=name)


def model_picker(bert) -> None:
    ss = st.session_state
    if ss.get("_model_shown") != s.model or "w_model_choice" not in ss:
        ss["w_model_choice"] = s.model
        ss["_model_shown"] = s.model
    choice = st.selectbox(t("side.model"), model_options(), format_func=model_label,
                          key="w_model_choice", on_change=pick_model)
    if choice == OTHER:
        st.text_input(t("side.model_custom"), key="w_model_custom", on_change=custom_model,
                      help=t("side.model_custom_help"), max_chars=500)
    if s.model in defaults.OFFLINE_MODELS and (cap := offline_caption(s.model)):
        st.caption(md_escape(cap))
    if bert is not None:
        c = bert.config
        st.caption(t("side.model_facts", layers=c.num_hidden_layers, heads=c.num_attention_heads,
                     hidden=c.hidden_size, params=f"{sum(bert.num_parameters().values()):,}"))
        where = (t("side.cpu", n=bert.cpu_threads) if bert.device.type == "cpu"
                 else bert.describe_device())
        st.caption(f"{t('side.device')}: {where}")


# ----------------------------------------------------------------------------- sidebar

def sidebar(bert, page_name: str) -> None:
    """Language, the sentences, the "try these" examples of page ``page_name``, the model and
    presenter mode."""
    from ui import examples

    with st.sidebar:
        st.segmented_control(t("side.language"), list(LANG_NAMES), format_func=LANG_NAMES.get,
                             **state.bind("lang"))
        st.text_area(t("side.sentence"), max_chars=state.MAX_CHARS, height=96,
                     help=t("side.sentence_help"), **state.bind("sentence"))
        st.text_area(t("side.pair"), max_chars=state.MAX_CHARS, height=68,
                     help=t("side.pair_help"), **state.bind("pair"))
        examples.sidebar(page_name)
        model_picker(bert)
        st.toggle(t("side.presenter"), help=t("side.presenter_help"), **state.bind("presenter"))
        st.caption(t("side.share"))


def pages() -> list:
    listed = [("lesson", ":material/school:"), ("home", ":material/home:"),
              ("tokenization", ":material/segment:"),
              ("embeddings", ":material/grid_on:"), ("attention", ":material/hub:"),
              ("layer", ":material/layers:"),
              ("masked_lm", ":material/visibility_off:"),
              ("next_sentence", ":material/swap_horiz:"), ("fine_tuning", ":material/tune:"),
              ("pretraining", ":material/model_training:")]
    return [st.Page(f"pages/{name}.py", title=t(f"nav.{name}"), icon=icon, default=name == "home")
            for name, icon in listed if (HERE / "pages" / f"{name}.py").is_file()]


# What is on disk, looked up once a run: the models folder's checkpoints and the hub models cached.
FOLDER_MODELS = defaults.folder_models()
CACHED = defaults.on_disk(n for n in defaults.HUB_MODELS if n not in FOLDER_MODELS)
bert = load_model()
s = state.current()
page = st.navigation(pages())
classroom.frame(page)  # the class: its join link, the teacher's view published, a member's section
if not classroom.following():  # a following student's controls are the teacher's
    sidebar(bert, page.url_path or "home")  # the default page (home) has the URL path ""
classroom.sidebar()  # "Start a class" / "Join a class" at the sidebar's end, when in none
shown = True  # the page, unless a class question asked on it waits for its reveal
if (member := classroom.member()) is not None:  # the class's question, above the page
    shown = questions.panel(classroom.store(), member, page.url_path or "", bert)
try:
    if bert is not None and shown:
        page.run()
finally:  # (also after the page's st.stop())
    classroom.after_page(page)  # the teacher's view, as the page left it, to the class
if bert is not None:  # the model's reading of a new input, for the page opened next
    now = state.current()
    models.read_ahead(now.model, now.sentence, now.pair)

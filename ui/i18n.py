"""Every string a user reads, in English and Chinese.

``STRINGS`` maps a key to ``{"en": ..., "zh": ...}``. Modules and pages register their own strings
at import with ``add`` (both languages are required), and draw them with ``t``::

    from ui.i18n import add, t
    add({"attn.title": {"en": "Attention", "zh": "注意力"}})
    st.title(t("attn.title"))
    st.caption(t("shared.tokens", n=12))   # str.format(**fmt)

The language is the one in the view state (``ui.state``), chosen in the sidebar and kept in the URL.
"""

from __future__ import annotations

LANGS = ("en", "zh")
LANG_NAMES = {"en": "English", "zh": "中文"}

STRINGS: dict[str, dict[str, str]] = {}


def add(strings: dict[str, dict[str, str]]) -> None:
    """Registers strings; each key needs a non-empty "en" and "zh" text.

    Raises:
        ValueError: a key lacks one of the languages (caught by the first test that draws the page).
    """
    for key, texts in strings.items():
        missing = [lg for lg in LANGS if not isinstance(texts.get(lg), str) or not texts[lg]]
        if missing:
            raise ValueError(f"i18n key {key!r} has no text for {', '.join(missing)}")
        STRINGS[key] = dict(texts)


def lang() -> str:
    """The current UI language, "en" or "zh" (English outside a Streamlit session)."""
    try:
        from . import state

        current = state.current().lang
    except Exception:  # no session yet (imports, plain tests)
        return "en"
    return current if current in LANGS else "en"


def t(key: str, **fmt) -> str:
    """The text for ``key`` in the current language, ``.format(**fmt)``-ed.

    An unknown key shows as the key itself (visible, never a crash); a format error leaves the
    text unformatted.
    """
    texts = STRINGS.get(key)
    if texts is None:
        return key
    text = texts.get(lang()) or texts.get("en") or key
    if fmt:
        try:
            return text.format(**fmt)
        except (KeyError, IndexError, ValueError):
            return text
    return text


def missing_translations() -> list[str]:
    """Keys that lack a language (always empty when every string went through ``add``)."""
    return sorted(k for k, v in STRINGS.items() if any(not v.get(lg) for lg in LANGS))


# ----------------------------------------------------------------------------- the frame's strings
add({
    "app.title": {"en": "BERT Lab", "zh": "BERT 实验室"},
    "app.tagline": {"en": "See what BERT does to a sentence, computed live.",
                    "zh": "实时计算，看看 BERT 如何处理一个句子。"},
    "nav.home": {"en": "Start", "zh": "开始"},
    "nav.tokenization": {"en": "1 · Tokenization", "zh": "1 · 分词"},
    "nav.embeddings": {"en": "2 · Embeddings", "zh": "2 · 嵌入"},
    "nav.attention": {"en": "3 · Attention", "zh": "3 · 注意力"},
    "nav.masked_lm": {"en": "4 · Masked words", "zh": "4 · 掩码预测"},
    "nav.next_sentence": {"en": "5 · Next sentence", "zh": "5 · 下一句预测"},
    "nav.fine_tuning": {"en": "6 · Fine-tuning", "zh": "6 · 微调"},
    "nav.pretraining": {"en": "7 · Pretraining", "zh": "7 · 预训练"},
    "side.language": {"en": "Language", "zh": "语言"},
    "side.sentence": {"en": "Sentence", "zh": "句子"},
    "side.sentence_help": {"en": "Type any sentence: every page shows what BERT does with it.",
                           "zh": "输入任意句子：每一页都展示 BERT 如何处理它。"},
    "side.pair": {"en": "Second sentence (optional)", "zh": "第二个句子（可选）"},
    "side.pair_help": {"en": "BERT reads two sentences as one input: [CLS] A [SEP] B [SEP].",
                       "zh": "BERT 把两个句子当作一个输入：[CLS] A [SEP] B [SEP]。"},
    "side.model": {"en": "Model", "zh": "模型"},
    "side.model_other": {"en": "Other: a hub id or a local folder…",
                         "zh": "其他：Hub 模型名或本地文件夹…"},
    "side.model_custom": {"en": "Hub id or folder", "zh": "Hub 模型名或文件夹"},
    "side.model_custom_help": {"en": "e.g. bert-base-german-cased, or /path/to/checkpoint. Press Enter to load.",
                               "zh": "例如 bert-base-german-cased，或 /path/to/checkpoint。按回车加载。"},
    "side.model_local": {"en": "local folder: {name}", "zh": "本地文件夹：{name}"},
    "side.model_hub": {"en": "{name} (Hugging Face hub, needs a network once)",
                       "zh": "{name}（Hugging Face Hub，首次需要联网）"},
    "side.offline_en": {"en": "offline-en — small English BERT, works without internet",
                        "zh": "offline-en — 小型英文 BERT，无需联网"},
    "side.offline_zh": {"en": "offline-zh — small Chinese BERT, works without internet",
                        "zh": "offline-zh — 小型中文 BERT，无需联网"},
    "side.about_offline-en_short": {
        "en": "The real all-MiniLM-L6-v2 encoder (6 layers, from PyPI) with all its layers "
              "retrained and new masked-word and next-sentence heads, trained here on English "
              "Wikipedia, news, reviews, tweets, a dictionary (WordNet), jokes and quotations, "
              "and students' everyday chats.",
        "zh": "真实的 all-MiniLM-L6-v2 编码器（6 层，来自 PyPI），其各层重新训练，新的掩码预测和下一句预测头在这里用"
              "英文维基百科、新闻、评论、推文、一部词典（WordNet）、笑话和名言以及学生的日常聊天训练。"},
    "side.about_offline-en": {
        "en": "The real all-MiniLM-L6-v2 encoder (6 layers, from PyPI) with all its layers "
              "retrained and new masked-word and next-sentence heads, trained here for {steps} "
              "steps ({minutes} min on a laptop CPU) on English Wikipedia, news, reviews, tweets, "
              "a dictionary (WordNet), jokes and quotations, and students' everyday chats. "
              "Held-out text: the hidden word is in its top 5 {top5:.0%} of the time, next "
              "sentence right {nsp:.0%}; everyday fill-in-the-blank sentences: {cloze:.0%} in the "
              "top 5. A full bert-base does much better.",
        "zh": "真实的 all-MiniLM-L6-v2 编码器（6 层，来自 PyPI），其各层重新训练，新的掩码预测和下一句预测头在这里用"
              "英文维基百科、新闻、评论、推文、一部词典（WordNet）、笑话和名言以及学生的日常聊天"
              "训练了 {steps} 步（笔记本 CPU 上 {minutes} 分钟）。"
              "留出文本上：被遮住的词有 {top5:.0%} 出现在前 5 名中，下一句判断正确率 {nsp:.0%}；日常填空句：前 5 名命中 "
              "{cloze:.0%}。完整的 bert-base 会好得多。"},
    "side.about_offline-zh_short": {
        "en": "A small character-level Chinese BERT trained from scratch here on People's Daily "
              "(January 1998).",
        "zh": "一个小型的字级中文 BERT，在这里用《人民日报》（1998 年 1 月）从零开始训练。"},
    "side.about_offline-zh": {
        "en": "A small character-level Chinese BERT (4 layers) trained from scratch here for {steps} "
              "steps ({minutes} min on a laptop CPU) on People's Daily, January 1998. Held-out text: "
              "the hidden character is in its top 5 {top5:.0%} of the time, next sentence right "
              "{nsp:.0%}; everyday fill-in-the-blank sentences: {cloze:.0%} in the top 5. "
              "bert-base-chinese does much better.",
        "zh": "一个小型的字级中文 BERT（4 层），在这里用《人民日报》（1998 年 1 月）从零开始训练了 {steps} 步"
              "（笔记本 CPU 上 {minutes} 分钟）。留出文本上：被遮住的字有 {top5:.0%} 出现在前 5 名中，"
              "下一句判断正确率 {nsp:.0%}；日常填空句：前 5 名命中 {cloze:.0%}。bert-base-chinese 会好得多。"},
    "side.offline_missing": {"en": "{name} — not built in this copy",
                             "zh": "{name} — 本副本中尚未构建"},
    "side.device": {"en": "Runs on", "zh": "运行设备"},
    "side.cpu": {"en": "CPU ({n} threads)", "zh": "CPU（{n} 个线程）"},
    "side.presenter": {"en": "Presenter mode", "zh": "演示模式"},
    "side.presenter_help": {"en": "Large type, one idea at a time: for projecting in class.",
                            "zh": "大字号、一次一个要点：适合课堂投影。"},
    "side.share": {"en": "The address bar holds this exact view: copy it to share.",
                   "zh": "地址栏保存了当前视图：复制链接即可分享。"},
    "side.model_facts": {"en": "{layers} layers · {heads} heads · hidden {hidden} · {params} parameters",
                         "zh": "{layers} 层 · {heads} 个头 · 隐藏维度 {hidden} · {params} 个参数"},
    "model.loading": {"en": "Loading {name}…", "zh": "正在加载 {name}…"},
    "model.downloading": {"en": "Downloading {name}: {file}", "zh": "正在下载 {name}：{file}"},
    "model.failed": {"en": "Could not load **{name}**: {reason}",
                     "zh": "无法加载 **{name}**：{reason}"},
    "model.offline": {"en": "**{name}** needs a network once to download; this machine cannot reach "
                            "the Hugging Face hub. Staying on **{fallback}**.",
                      "zh": "**{name}** 首次使用需要联网下载，但本机无法连接 Hugging Face Hub。"
                            "继续使用 **{fallback}**。"},
    "model.fell_back": {"en": "Showing **{fallback}** instead.", "zh": "改为显示 **{fallback}**。"},
    "model.default_missing": {
        "en": "The default model **{name}** is not available: {reason}\n\nPick another model in "
              "the sidebar (a hub model needs a network once), or build the offline models with "
              "`python -m bertcore.pretrain`.",
        "zh": "默认模型 **{name}** 不可用：{reason}\n\n请在侧边栏选择其他模型（Hub 模型首次需要联网），"
              "或用 `python -m bertcore.pretrain` 构建离线模型。"},
    "input.empty": {"en": "Type a sentence in the sidebar to begin.",
                    "zh": "请先在侧边栏输入一个句子。"},
    "input.truncated": {"en": "The text is longer than this model reads ({max} tokens): the last "
                              "{n} tokens were cut off.",
                        "zh": "文本超过了模型能读取的长度（{max} 个词元）：最后 {n} 个词元被截断。"},
    "input.clipped": {"en": "Only the first {n} characters are used.",
                      "zh": "只使用前 {n} 个字符。"},
    "head.no_mlm": {"en": "This model has no masked-LM head, so it cannot guess hidden words.",
                    "zh": "该模型没有掩码语言模型头，无法预测被遮住的词。"},
    "head.no_nsp": {"en": "This model has no next-sentence head.",
                    "zh": "该模型没有下一句预测头。"},
    "common.layer": {"en": "Layer", "zh": "层"},
    "common.from_zero": {"en": "Counted from 0, as in the code (encoder.layer.0 is the first layer) and in "
                               "bertviz's menus.",
                         "zh": "从 0 开始计数，与代码（encoder.layer.0 是第一层）和 bertviz 的菜单一致。"},
    "common.head": {"en": "Head", "zh": "注意力头"},
    "common.token": {"en": "Token", "zh": "词元"},
    "common.tokens": {"en": "Tokens", "zh": "词元"},
    "common.id": {"en": "id", "zh": "编号"},
    "common.probability": {"en": "probability", "zh": "概率"},
    "common.position": {"en": "position", "zh": "位置"},
    "common.segment": {"en": "segment", "zh": "句段"},
    "common.word": {"en": "word", "zh": "词"},
    "common.attention": {"en": "attention", "zh": "注意力"},
    "common.details": {"en": "Details", "zh": "详细信息"},
    "common.embeddings_layer": {"en": "embeddings", "zh": "嵌入层"},
})


_MD_SPECIAL = "\\`*_{}[]<>()#+-.!|~$:"


def md_escape(text: str) -> str:
    """``text`` with Markdown's special characters escaped, for user text inside st.markdown.

    (Streamlit never runs HTML in Markdown without unsafe_allow_html; this keeps "**" or "[x](y)"
    in a sentence from turning into formatting or links.)
    """
    return "".join("\\" + ch if ch in _MD_SPECIAL else ch for ch in str(text))

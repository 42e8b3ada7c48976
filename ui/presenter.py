"""Presenter mode's "one idea at a time": a page's sections revealed one by one; tables that fit.

In presenter mode a page that declares its sections shows the first one, and a small control at the
top right of the screen (a phone's bottom right: Back, "2 / 4 · the section's name", Next) reveals
the next; the arrow keys ← → and a clicker's PageUp / PageDown press Back and Next (not while
typing in a field, or on a slider, which has its own use for the arrows). How far the class has
got is ``state.step``, kept in the URL (``&step=2``), so a link reopens the same step; each page
remembers its own step for the session, and opening a page afresh starts at its first section.
Outside presenter mode every section shows, as if this module were not there.

A page adopts it in two kinds of lines: one call near the top naming its sections in order (a name
for each, with the label the control shows), and one call where each section after the first
begins::

    from ui import presenter

    steps = presenter.Steps("pretraining", {"text": t("pt.text"), "pairs": t("pt.pairs"),
                                             "masking": t("pt.masked"), "training": t("pt.train")})
    st.subheader(t("pt.text"))          # the first section always shows
    ...
    steps.section("pairs")              # in presenter mode, the page ends here until "pairs" is
    st.subheader(t("pt.pairs"))         # revealed (st.stop); elsewhere it does nothing
    ...

A page whose sections are not top to bottom (tabs, a section drawn inside a function) asks instead
with ``if steps.shows("pairs"): ...``. The section list may depend on what there is to show (the
fine-tuning page has results only after a run); a step past the end is clamped to the last.

:func:`table` draws rows as ``st.table`` in presenter mode (every row at the page's large type, no
inner scroll bar) and as ``st.dataframe`` otherwise.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence

import streamlit as st

from . import state
from .i18n import t

KEY = "bl_steps"  # the control's container: CSS class st-key-bl_steps
PAGE = "_bl_steps_page"  # st.session_state: the page whose step state.step holds
REMEMBERED = "_bl_steps_of"  # st.session_state: page -> its step when last left
SCROLL = "_bl_steps_scroll"  # st.session_state: Next was pressed, show the new section

# A projector's screen: fixed at the top right, in the empty band of Streamlit's header beside
# its menu, where it covers none of the page. A phone's: at the bottom right, and the page gets
# room below its end for it. A section revealed by Next scrolls to just under the header.
CSS = """<style>
.st-key-bl_steps { position: fixed; right: 1.5rem; bottom: 1.2rem; z-index: 999990;
  width: auto !important; background: #FFFFFF; border: 1px solid #C9CDD6; border-radius: 0.8rem;
  padding: 0.35rem 0.6rem; box-shadow: 0 4px 14px rgba(43, 45, 66, 0.18); }
.st-key-bl_steps .stMarkdown p { margin: 0; white-space: nowrap; }
.st-key-bl_steps .stElementContainer:has(.stHtml) { display: none; }
.stMainBlockContainer { padding-bottom: 7rem; }
[id^="bl-step-"] { scroll-margin-top: 6rem; }
@media (min-width: 900px) {
  .st-key-bl_steps { top: 0.3rem; bottom: auto; right: 4rem; padding: 0.15rem 0.5rem;
    box-shadow: 0 2px 8px rgba(43, 45, 66, 0.15); }
  .stMainBlockContainer { padding-bottom: 4rem; }
}
</style>"""

# The arrow keys press the control's buttons (a clicker's PageDown/PageUp are the buttons' own
# Streamlit shortcuts). Listens once per page load (reruns insert it again); keys pressed in a
# field, a slider or a menu are left to it.
KEYS_JS = """<script>
(() => {
  if (window.__bertlabSteps) return;
  window.__bertlabSteps = true;
  const KEYS = {ArrowRight: "next", ArrowLeft: "back"};
  const BUSY = 'input, textarea, select, [contenteditable="true"], [role="slider"], ' +
               '[role="listbox"], [role="option"], [role="combobox"], [role="menu"]';
  document.addEventListener("keydown", (e) => {
    const which = KEYS[e.key];
    if (!which || e.altKey || e.ctrlKey || e.metaKey || e.shiftKey) return;
    if (e.target && e.target.closest && e.target.closest(BUSY)) return;
    const button = document.querySelector(".st-key-bl_steps_" + which + " button");
    if (!button || button.disabled) return;
    e.preventDefault();
    button.click();
  }, true);
})();
</script>"""

# Scrolls the section just revealed into view (the class sees it without scrolling by hand).
SCROLL_JS = """<div id="bl-step-{i}"></div><script>
setTimeout(() => document.getElementById("bl-step-{i}")?.scrollIntoView(
  {{behavior: "smooth", block: "start"}}), 150);
</script>"""


def _go(step: int) -> None:
    """on_click of Back/Next."""
    state.update(step=step)
    st.session_state[SCROLL] = True


class Steps:
    """A page's sections in presenter mode: which are shown, and the control that reveals them.

    Args:
        page: the page's name (each page keeps its own step for the session).
        sections: the section names in order, each with its label for the control (a dict), or
            just the names (the names are then shown).
    """

    def __init__(self, page: str, sections: Mapping[str, str] | Sequence[str]):
        self.page = page
        self.names = list(sections)
        # (a label's own number, "2 · Pairs", would repeat the control's "2 / 4")
        self.labels = {n: re.sub(r"^\s*\d+\s*·\s*", "", label) for n, label in
                       (sections.items() if isinstance(sections, Mapping)
                        else zip(self.names, self.names))}
        self.active = state.current().presenter and len(self.names) > 1
        self.step = self._current_step() if self.active else len(self.names) - 1
        self.scroll = bool(st.session_state.pop(SCROLL, False)) and self.active
        if self.active:
            self._control()

    def _current_step(self) -> int:
        """state.step for this page: remembered when the page is opened again, clamped."""
        ss = st.session_state
        remembered = ss.setdefault(REMEMBERED, {})
        step = state.current().step
        if ss.get(PAGE) not in (None, self.page):  # arrived from another page
            remembered[ss[PAGE]] = step
            step = remembered.get(self.page, 0)
        ss[PAGE] = self.page
        step = min(step, len(self.names) - 1)
        if step != state.current().step:
            state.update(step=step)
        return step

    def _control(self) -> None:
        last = len(self.names) - 1
        st.html(CSS)  # style only: Streamlit puts it where it takes no room
        with st.container(key=KEY, horizontal=True, vertical_alignment="center", width="content"):
            st.html(KEYS_JS, unsafe_allow_javascript=True, width="content")
            st.button(t("present.back"), icon=":material/arrow_back:", key=f"{KEY}_back",
                      disabled=self.step == 0, on_click=_go, args=(self.step - 1,),
                      help=t("present.back_help"), shortcut="PageUp")
            st.markdown(t("present.where", n=self.step + 1, total=last + 1,
                          name=self.labels[self.names[self.step]]))
            st.button(t("present.next"), icon=":material/arrow_forward:", key=f"{KEY}_next",
                      disabled=self.step == last, on_click=_go, args=(self.step + 1,),
                      help=t("present.next_help"), type="primary", shortcut="PageDown")

    def shows(self, name: str) -> bool:
        """Whether section ``name`` is shown (always, outside presenter mode).

        Raises:
            KeyError: ``name`` is not one of the page's sections.
        """
        if name not in self.labels:
            raise KeyError(f"{self.page} has no section {name!r}")
        return self.names.index(name) <= self.step

    def section(self, name: str) -> None:
        """Marks where section ``name`` begins: the page stops here while it is not revealed.

        The section just revealed by Next (or left last by Back) is scrolled into view.
        """
        if not self.shows(name):
            st.stop()
        index = self.names.index(name)
        if self.scroll and index == self.step:
            st.html(SCROLL_JS.format(i=index), unsafe_allow_javascript=True)


def table(rows: list[dict], where=None, **dataframe_args) -> None:
    """Rows of a table: in presenter mode all of them at the page's type size with no inner scroll
    bar (``st.table``), else ``st.dataframe(rows, hide_index=True, **dataframe_args)``.

    Args:
        rows: one dict per row, column name -> value.
        where: the container or ``st.empty()`` slot to draw in (default: here, ``st``).
    """
    where = where or st
    if state.current().presenter:
        where.table(rows, hide_index=True)
    else:
        where.dataframe(rows, hide_index=True, **dataframe_args)

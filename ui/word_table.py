"""A table of words with their probabilities, each cell shaded on the app's probability scale, or
of words alone, each cell in its category's colour; and a plain table of numbers.

For views whose cells hold words (the masked-words page's "what each layer would guess", the
attention summary's "what each head does"): a plotly heatmap writes cell text at a fixed size
whatever the cell's width, so on a phone long words run into their neighbours; an HTML table wraps
them inside their cell and takes the page's type size (large in presenter mode). The shading samples
``charts.SEQUENTIAL``, the scale the charts use for probabilities, and each cell's text is dark or
white, whichever contrasts more with its shade.
"""

from __future__ import annotations

import re

from plotly.colors import hex_to_rgb, label_rgb, sample_colorscale

from . import charts

NARROW = 640  # px: at most this wide (a phone), the table's type is smaller


def _luminance(rgb: str) -> float:
    """WCAG relative luminance of an "rgb(r, g, b)" colour."""
    r, g, b = (int(v) / 255 for v in re.findall(r"\d+", rgb)[:3])
    lin = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in (r, g, b)]
    return 0.2126 * lin[0] + 0.7152 * lin[1] + 0.0722 * lin[2]


def contrast(a: str, b: str) -> float:
    """WCAG contrast ratio of two "rgb(r, g, b)" colours (1 to 21; AA asks 4.5 for text)."""
    hi, lo = sorted((_luminance(a), _luminance(b)), reverse=True)
    return (hi + 0.05) / (lo + 0.05)


def text_color(background: str) -> str:
    """The text colour for a cell of ``background`` ("rgb(r, g, b)"): charts.INK or white,
    whichever contrasts more, or black on the mid shades where neither reaches WCAG AA (4.5)."""
    ink, white = contrast(background, "rgb(43, 45, 66)"), contrast(background, "rgb(255, 255, 255)")
    if max(ink, white) >= 4.5:
        return charts.INK if ink >= white else "#FFFFFF"
    return "#000000"


def html(row_labels, col_labels, words, probs=None, *, mark: str | None = None,
         fills=None, corner: str = "", label_width: str = "22%",
         min_cell: str | None = None) -> str:
    """An HTML table: one row per label, one cell per word (with its probability below it).

    Args:
        row_labels: R labels (e.g. the layers).
        col_labels: C labels (e.g. "guess 1" … "guess k").
        words: R × C words; probs: R × C probabilities (0–1), which set each cell's shade, or None
            for a table of words alone (then shaded by ``fills``).
        mark: a word to outline wherever it appears (e.g. the word that was hidden).
        fills: R × C colours ("#RRGGBB"), each cell's own instead of a shade of its probability
            (categories, e.g. what each attention head does).
        corner: the text above the row labels (e.g. what the rows and the columns count).
        label_width: the row labels' column width (CSS).
        min_cell: the narrowest a column may be (CSS, e.g. "5em"): a screen too narrow for all of
            them (a phone, twelve heads) scrolls the table sideways instead of breaking its words
            into pieces. None: the columns share the width there is.

    Every label and word is escaped.
    """
    if fills is not None:  # as "rgb(r, g, b)", what text_color reads
        shades = [label_rgb(hex_to_rgb(c)) for row in fills for c in row]
    else:
        shades = sample_colorscale(charts.SEQUENTIAL,
                                   [min(max(float(p), 0.0), 1.0) for row in probs for p in row])
    written = ([[f"{float(p):.0%}" for p in row] for row in probs] if probs is not None
               else [[None] * len(row) for row in words])
    cell = ("padding:0.25em 0.15em;text-align:center;vertical-align:middle;"
            "overflow-wrap:break-word;line-height:1.25;")
    # A phone's columns are ~55 px: smaller type keeps "guess 1" or "remains" whole in them.
    out = [f"<style>@media (max-width: {NARROW}px) {{ .bl-word-table {{ font-size: 0.8em; }} }}"
           "</style>",
           '<div style="overflow-x:auto;">' if min_cell else "",
           '<table class="bl-word-table" style="width:100%;table-layout:fixed;'
           + (f"min-width:calc({label_width} + {len(col_labels)} * {min_cell});"
              if min_cell else "") +
           f'border-collapse:separate;border-spacing:2px;color:{charts.INK};'
           'font-family:Inter,sans-serif;">', "<thead><tr>",
           f'<th style="width:{label_width};{cell}font-weight:400;font-size:0.8em;">'
           f'{charts.esc(corner)}</th>']
    out += [f'<th style="{cell}font-weight:600;">{charts.esc(c)}</th>' for c in col_labels]
    out.append("</tr></thead><tbody>")
    n = 0
    for label, row_words, row_probs in zip(row_labels, words, written):
        out.append(f'<tr><th style="{cell}text-align:right;font-weight:400;">'
                   f'{charts.esc(label)}</th>')
        for word, p in zip(row_words, row_probs):
            bg, hit = shades[n], mark is not None and word == mark
            n += 1
            outline = f"outline:3px solid {charts.PALETTE[1]};outline-offset:-3px;" if hit else ""
            below = f'<div style="font-size:0.75em;">{p}</div>' if p is not None else ""
            out.append(f'<td style="{cell}background:{bg};color:{text_color(bg)};{outline}'
                       f'{"font-weight:700;" if hit else ""}">{charts.esc(word)}{below}</td>')
        out.append("</tr>")
    out.append("</tbody></table>" + ("</div>" if min_cell else ""))
    return "".join(out)


def numbers(row_labels, col_labels, values, fmt: str = "{:+.4f}") -> str:
    """A plain HTML table of numbers: one row per label, one right-aligned cell per value.

    For a few rows of numbers that are read, not sorted or searched (one token's vectors, their
    first dimensions): Streamlit's ``st.table`` renders every cell as Markdown and its
    ``st.dataframe`` is a canvas grid, each ~0.04-0.07 s of the browser's time for 5 × 8 numbers;
    this is one piece of HTML. A table wider than the screen (a phone) scrolls sideways.

    Args:
        row_labels: R labels; col_labels: C labels (escaped here).
        values: R × C numbers, written with ``fmt``.
    """
    cell = "padding:0.3em 0.5em;border-bottom:1px solid #E6E9EF;white-space:nowrap;"
    head = "".join(f'<th style="{cell}text-align:right;font-weight:400;color:{charts.INK_MUTED};">'
                   f"{charts.esc(c)}</th>" for c in col_labels)
    body = "".join(
        f'<tr><th style="{cell}text-align:left;font-weight:400;">{charts.esc(label)}</th>'
        + "".join(f'<td style="{cell}text-align:right;">{fmt.format(float(v))}</td>' for v in row)
        + "</tr>" for label, row in zip(row_labels, values))
    return ('<div style="overflow-x:auto;"><table class="bl-number-table" style="border-collapse:'
            f'collapse;color:{charts.INK};font-variant-numeric:tabular-nums;">'
            f'<thead><tr><th style="{cell}"></th>{head}</tr></thead><tbody>{body}</tbody>'
            "</table></div>")

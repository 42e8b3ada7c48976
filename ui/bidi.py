"""Right-to-left text in token views: which tokens read right to left, and in which runs.

Chips and traces lay tokens out one by one, so the browser's bidirectional algorithm, which works
on characters inside one text, cannot order them: an Arabic word cut into pieces would read
backwards, left to right. Here the same algorithm (Unicode UAX #9, reduced to what token views need)
runs on tokens: each token's direction is its first strong character's, tokens without one
(digits, punctuation, [CLS]/[SEP]/[MASK]) take their neighbours', and consecutive tokens of one
direction form a run that a view lays out in that direction. ``##`` does not count: it marks where
a piece joins the one before it, so in a right-to-left run it belongs on the piece's right.
"""

from __future__ import annotations

import re
import unicodedata

FSI, PDI = "\u2068", "\u2069"  # first-strong isolate and its end: a text keeps its own direction


_SPECIAL_TOKEN = re.compile(r"\[[A-Z]+\]")  # [CLS], [SEP], [MASK]…: no direction of their own


def text_direction(token: str) -> str | None:
    """"rtl" or "ltr" by a token's first strongly directional character (a leading "##" and
    [CLS]-like tokens aside), None for one without (digits, punctuation, specials)."""
    if _SPECIAL_TOKEN.fullmatch(token):
        return None
    for ch in token[2:] if token.startswith("##") else token:
        kind = unicodedata.bidirectional(ch)
        if kind == "L":
            return "ltr"
        if kind in ("R", "AL"):
            return "rtl"
    return None


def bidi_runs(tokens, base: str = "auto") -> tuple[str, list[tuple[str, list[int]]]]:
    """The token positions in runs of one direction, in logical order: (base direction, runs).

    Unicode's bidirectional algorithm, with tokens for characters: the base direction is the
    first strong token's (``base="auto"``, as HTML's ``dir="auto"``); a token without a direction
    takes its neighbours' when both agree, else the base direction.
    """
    strong = [text_direction(str(t)) for t in tokens]
    if base not in ("ltr", "rtl"):
        base = next((d for d in strong if d), "ltr")
    after, following = [base] * len(strong), base  # the next strong direction after each token
    for i in range(len(strong) - 1, -1, -1):
        after[i] = following
        following = strong[i] or following
    runs: list[tuple[str, list[int]]] = []
    before = base  # the last strong direction so far
    for i, d in enumerate(strong):
        if d is None:
            d = before if before == after[i] else base
        else:
            before = d
        if runs and runs[-1][0] == d:
            runs[-1][1].append(i)
        else:
            runs.append((d, [i]))
    return base, runs


def isolate(text: str) -> str:
    """``text`` wrapped as a first-strong isolate, so that inside a longer label ("word → pieces")
    it keeps its own direction and leaves the order of the rest alone."""
    return f"{FSI}{text}{PDI}"

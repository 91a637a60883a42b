"""Finding a vault's tokens in text: numbered placeholders as unmask reads them (any case,
spacing, leading zeros, bare ``LABEL_N``) and surrogates as whole words or anywhere.

Pure text functions with no vault state, shared by :mod:`pii_gemini.vault` (restore,
unmask) and :mod:`pii_gemini.operators` (placing surrogates where they can be found again).
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Iterable

__all__ = [
    "BARE",
    "BRACKETED",
    "PLACEHOLDERS",
    "PLACEHOLDER_LABEL_RE",
    "count_placeholders",
    "find_all",
    "is_word_char",
    "key_of_match",
    "occurs",
    "placeholder_key",
    "split_token",
    "surrogate_pattern",
    "unfilled",
    "whole_at",
]

PLACEHOLDER_LABEL_RE = re.compile(r"[A-Za-z][A-Za-z0-9_]*")
"""Labels a numbered placeholder ``[LABEL_N]`` can carry (what :func:`unmask` can parse)."""

# What unmask accepts as a numbered placeholder, besides the exact "[LABEL_N]":
#   any letter case, whitespace inside the brackets and around "_" ("[ firstname _ 1 ]"),
#   leading zeros in N ("[FIRSTNAME_01]"), and - without brackets - "LABEL_N" when it is
#   upper-case and a whole token (no letter, digit, "_" or bracket touching it).
BRACKETED = r"\[\s*(?P<bl>[A-Za-z][A-Za-z0-9_]*?)\s*_\s*(?P<bn>\d+)\s*\]"
BARE = r"(?<![\w\[])(?P<rl>[A-Z][A-Z0-9_]*?)_(?P<rn>\d+)(?![\w\]])"
PLACEHOLDERS = re.compile(f"{BRACKETED}|{BARE}")


def placeholder_key(label: str, index: int | str) -> str:
    return f"[{label.upper()}_{int(index)}]"


def split_token(token: str) -> tuple[str, str] | None:
    """``("EMAIL", "3")`` for ``"[EMAIL_3]"``; None unless it looks like ``[LABEL_N]``
    (what a regex would say, faster on a big vault load)."""
    if len(token) < 5 or token[0] != "[" or token[-1] != "]":
        return None
    label, _, n = token[1:-1].rpartition("_")
    if not (n.isascii() and n.isdigit()) or not PLACEHOLDER_LABEL_RE.fullmatch(label):
        return None
    return label, n


def key_of_match(m: re.Match[str]) -> str:
    if m.group("bl") is not None:
        return placeholder_key(m.group("bl"), m.group("bn"))
    return placeholder_key(m.group("rl"), m.group("rn"))


def count_placeholders(text: str) -> int:
    """How many strings in ``text`` :func:`unmask` would read as numbered placeholders."""
    return sum(1 for _ in PLACEHOLDERS.finditer(text))


def is_word_char(ch: str) -> bool:
    return ch.isalnum() or ch == "_"


def whole_at(needle: str, hay: str, start: int) -> bool:
    """True when ``needle``, found at ``start`` in ``hay``, is a whole word there: its
    word-character edges touch no word character (the ends of ``hay`` count as boundaries)."""
    end = start + len(needle)
    return (start == 0 or not is_word_char(needle[0]) or not is_word_char(hay[start - 1])) and (
        end == len(hay) or not is_word_char(needle[-1]) or not is_word_char(hay[end])
    )


def find_all(needle: str, hay: str) -> list[int]:
    """Every start of ``needle`` in ``hay``, overlapping ones included."""
    starts, start = [], hay.find(needle)
    while start >= 0:
        starts.append(start)
        start = hay.find(needle, start + 1)
    return starts


def occurs(needle: str, hay: str) -> bool:
    """True when :func:`unmask` without ``tokens`` could match ``needle`` inside ``hay``: an
    occurrence that is a whole word (see ``whole_at``)."""
    return any(whole_at(needle, hay, start) for start in find_all(needle, hay))


def surrogate_pattern(tokens: Iterable[str], *, whole: bool = True) -> str | None:
    """An alternation of surrogates, longest first; with ``whole``, whole-word where they
    start/end a word, else wherever they occur."""
    alts = [
        ("(?<!\\w)" if whole and is_word_char(t[0]) else "")
        + re.escape(t)
        + ("(?!\\w)" if whole and is_word_char(t[-1]) else "")
        for t in sorted(tokens, key=lambda t: (-len(t), t))
    ]
    return "(?P<s>" + "|".join(alts) + ")" if alts else None


def unfilled(tokens: Iterable[str], text: str, filled: list[tuple[int, int]]) -> int:
    """How many occurrences of ``tokens`` in ``text`` no span of ``filled`` (in text order)
    covers: surrogates issued for the text that stay in it (glued to a copy elsewhere)."""
    starts = [a for a, _ in filled]
    count = 0
    for token in tokens:
        for start in find_all(token, text):
            i = bisect.bisect_right(starts, start) - 1
            if i < 0 or filled[i][1] < start + len(token):
                count += 1
    return count

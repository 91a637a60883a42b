"""Where many literal values occur in a text, in time linear in the text.

The Masker looks for every value the safety net found in the source again in the model's
own (rewritten) answer. One ``str.find`` loop per value costs values x text: fine for a row,
quadratic for a long document full of PII. Past a size, values are bucketed by their first
characters and the text is walked once.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable

__all__ = ["find_occurrences"]

_DIRECT_WORK = 1 << 21  # values x characters below which one find loop per value is faster
_SHORT = 4  # values shorter than this are searched directly (few distinct ones can exist)


def find_occurrences(text: str, values: Iterable[str]) -> dict[str, list[int]]:
    """Start offsets of the non-overlapping occurrences of each non-empty value in ``text``,
    left to right (as repeated ``str.find`` gives them); values that do not occur are absent.
    """
    wanted = {v for v in values if v}
    direct = [v for v in wanted if len(v) < _SHORT or len(wanted) * len(text) <= _DIRECT_WORK]
    out = {v: pos for v in direct if (pos := _find_all(text, v))}
    if len(direct) == len(wanted):
        return out
    rest = wanted.difference(direct)
    width = min(map(len, rest))
    buckets: defaultdict[str, list[str]] = defaultdict(list)
    for value in rest:
        buckets[value[:width]].append(value)
    free_from: dict[str, int] = {}  # per value, where its next occurrence may start
    get = buckets.get
    for i in range(len(text) - width + 1):
        bucket = get(text[i : i + width])
        if bucket is None:
            continue
        for value in bucket:
            if i >= free_from.get(value, 0) and text.startswith(value, i):
                out.setdefault(value, []).append(i)
                free_from[value] = i + len(value)
    return out


def _find_all(text: str, value: str) -> list[int]:
    found = []
    at = text.find(value)
    while at >= 0:
        found.append(at)
        at = text.find(value, at + len(value))
    return found

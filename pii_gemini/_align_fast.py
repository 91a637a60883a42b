"""The fast path of the aligner: cut a masked text at its placeholders and place its literals.

A masked text is a sequence ``L0 P1 L1 ... Pn Ln`` of literal segments ``L`` and placeholders
``P``. When the model kept the non-PII text, every literal is found in the source in order and
each placeholder covers the gap between two literals. The earliest (left to right,
``str.find``) and the latest (right to left, ``str.rfind``) placements of the literals bound
every boundary; where they agree the boundary is certain. Where they differ
(``[CURRENCYSYMBOL][AMOUNT]`` for ``"£850"``, ``[FIRSTNAME] [LASTNAME]`` for a three-word
name) every placement is enumerated and checked against the value shapes of ``_shapes``; a
unique fit is taken, otherwise the split is flagged ``ambiguous`` (the earliest best-fitting
split is returned).
"""

from __future__ import annotations

import re
from collections.abc import Collection, Sequence
from itertools import accumulate
from operator import add
from typing import NamedTuple

from ._shapes import clean_cut, shape_ok
from .labels import PLACEHOLDER_RE

__all__ = ["MaskedParts", "place", "split_masked", "split_region"]

_MAX_SPLITS = 256  # placements enumerated per ambiguous group before giving up on shapes
_MAX_GROUP = 64  # floating literals enumerated (one recursion level each); more: not tried


class MaskedParts(NamedTuple):
    """A masked text cut into ``len(labels) + 1`` literals around ``len(labels)`` placeholders.

    ``placeholders[i]`` is the bracketed text of placeholder ``i`` (``"[NAME_1]"``), whose
    label is ``labels[i]``. (A named tuple: built on every alignment, it is cheaper than a
    frozen dataclass and just as immutable; offsets are derived on demand.)
    """

    literals: tuple[str, ...]
    labels: tuple[str, ...]
    placeholders: tuple[str, ...]

    @property
    def literal_starts(self) -> tuple[int, ...]:
        """Offset of each literal in the masked text."""
        steps = map(add, map(len, self.literals), map(len, self.placeholders))
        return tuple(accumulate(steps, initial=0))

    @property
    def positions(self) -> tuple[tuple[int, int], ...]:
        """``(start, end)`` of each placeholder in the masked text."""
        starts = self.literal_starts
        ends = map(add, starts, map(len, self.literals))
        return tuple(zip(ends, starts[1:], strict=False))  # ends has one item more


# one capturing group around the whole placeholder: split() yields literal, placeholder,
# label, index, literal, ...
_SPLIT_RE = re.compile(f"({PLACEHOLDER_RE.pattern})")


def split_masked(
    masked: str, source: str | None = None, *, labels: Collection[str] | None = None
) -> MaskedParts:
    """Cut ``masked`` at its placeholders.

    A bracketed token is literal text, not a placeholder, when it does not look like one
    (``[sic]``, ``[1]``), when ``labels`` is given and its label is not in it, or when the very
    same bracketed text occurs in ``source`` (a template token the data kept verbatim).
    """
    if labels is None and (source is None or "[" not in source):
        pieces = _SPLIT_RE.split(masked)  # every placeholder-like token counts: one C call
        return MaskedParts(tuple(pieces[0::4]), tuple(pieces[2::4]), tuple(pieces[1::4]))
    literals: list[str] = []
    labs: list[str] = []
    placeholders: list[str] = []
    last = 0
    for m in PLACEHOLDER_RE.finditer(masked):
        token, label = m.group(0, 1)
        if labels is not None and label not in labels:
            continue
        if source is not None and token in source:
            continue
        literals.append(masked[last : m.start()])
        labs.append(label)
        placeholders.append(token)
        last = m.end()
    literals.append(masked[last:])
    return MaskedParts(tuple(literals), tuple(labs), tuple(placeholders))


# -- placing the literals -------------------------------------------------------------------


def _place_lazy(source: str, lits: Sequence[str], lo: int, hi: int) -> list[int] | None:
    """Earliest start of each inner literal, values non-empty; None if they do not fit."""
    out: list[int] = []
    prev = lo
    for lit in lits:
        p = source.find(lit, prev + 1, hi - 1)
        if p < 0:
            return None
        out.append(p)
        prev = p + len(lit)
    return out if prev + 1 <= hi else None


def _place_greedy(source: str, lits: Sequence[str], lo: int, hi: int) -> list[int]:
    """Latest start of each inner literal (assumes a placement exists)."""
    out: list[int] = [0] * len(lits)
    nxt = hi
    for i in range(len(lits) - 1, -1, -1):
        p = source.rfind(lits[i], lo + 1, nxt - 1)
        out[i] = p
        nxt = p
    return out


def _enumerate(
    source: str,
    lits: Sequence[str],
    lo_pos: Sequence[int],
    hi_pos: Sequence[int],
    start: int,
    end: int,
    labels: Sequence[str],
) -> tuple[list[int], int, int]:
    """Enumerate placements of ``lits`` between ``start`` and ``end``.

    Returns the best placement (most values fitting their shape, earliest first), how many
    placements share that best score, and whether the enumeration was cut short (as 0/1).
    A group of more than ``_MAX_GROUP`` literals is not enumerated (its earliest placement
    comes back as cut short): the recursion would be that deep for at most 256 placements.
    """
    best: list[int] = list(lo_pos)
    if len(lits) > _MAX_GROUP:
        return best, 0, 1
    best_score = -1
    best_tie = -1
    n_best = 0
    count = 0
    cut = 0
    k = len(lits)
    cur: list[int] = [0] * k

    def score(ps: Sequence[int]) -> int:
        s = 0
        prev = start
        for j, p in enumerate(ps):
            s += shape_ok(labels[j], source[prev:p])
            prev = p + len(lits[j])
        s += shape_ok(labels[k], source[prev:end])
        return s

    def rec(i: int, prev_end: int) -> None:
        nonlocal best, best_score, best_tie, n_best, count, cut
        if cut:
            return
        if i == k:
            count += 1
            if count > _MAX_SPLITS:
                cut = 1
                return
            sc = score(cur)
            tie = sum(
                clean_cut(source, p) + clean_cut(source, p + len(lits[j]))
                for j, p in enumerate(cur)
            )
            if sc > best_score:
                best, best_score, best_tie, n_best = list(cur), sc, tie, 1
            elif sc == best_score:
                n_best += 1
                if tie > best_tie:
                    best, best_tie = list(cur), tie
            return
        lit = lits[i]
        p = source.find(lit, max(lo_pos[i], prev_end + 1), hi_pos[i] + len(lit))
        while 0 <= p <= hi_pos[i]:
            cur[i] = p
            rec(i + 1, p + len(lit))
            p = source.find(lit, p + 1, hi_pos[i] + len(lit)) if lit else p + 1
            if p > hi_pos[i]:
                break

    rec(0, start)
    full = best_score == k + 1
    return best, (n_best if full and not cut else 0), cut


def place(source: str, parts: MaskedParts) -> tuple[list[int], list[int], bool, list[str]] | None:
    """Place literals exactly; returns value starts/ends, ambiguity and issues, or None."""
    lits = parts.literals
    n = len(parts.labels)
    first, last = lits[0], lits[-1]
    if not source.startswith(first) or not source.endswith(last):
        return None
    lo = len(first)
    hi = len(source) - len(last)
    if hi - lo < n:
        return None
    inner = lits[1:-1]
    lazy = _place_lazy(source, inner, lo, hi)
    if lazy is None:
        return None
    greedy = _place_greedy(source, inner, lo, hi) if lazy else lazy
    pos = list(lazy)
    ambiguous = False
    issues: list[str] = []
    if lazy != greedy:
        i = 0
        m = len(inner)
        while i < m:
            if lazy[i] == greedy[i]:
                i += 1
                continue
            j = i
            while j < m and lazy[j] != greedy[j]:
                j += 1
            # literals i..j-1 float; values i..j (placeholders) lie between fixed anchors
            g_start = lo if i == 0 else lazy[i - 1] + len(inner[i - 1])
            g_end = hi if j == m else lazy[j]
            best, n_fit, cut = _enumerate(
                source, inner[i:j], lazy[i:j], greedy[i:j], g_start, g_end, parts.labels[i : j + 1]
            )
            pos[i:j] = best
            if n_fit == 1:
                issues.append("split_by_shape")
            else:
                ambiguous = True
                issues.append("ambiguous_split_truncated" if cut else "ambiguous_split")
            i = j
    starts = [lo, *map(add, pos, map(len, inner))]  # each value starts after its literal
    ends = [*pos, hi]
    return starts, ends, ambiguous, issues


def split_region(
    source: str, start: int, end: int, labels: Sequence[str]
) -> tuple[list[int], list[int], bool]:
    """Starts and ends of adjacent placeholders covering exactly ``source[start:end]``."""
    region = source[start:end]
    sub = MaskedParts(("",) * (len(labels) + 1), tuple(labels), tuple(f"[{x}]" for x in labels))
    res = place(region, sub)
    assert res is not None  # len(region) >= len(labels) was checked by the caller
    starts, ends, amb, _ = res
    return [start + x for x in starts], [start + x for x in ends], amb

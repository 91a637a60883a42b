"""Span arithmetic of an evaluation: strict matches, overlaps, preserved text, safety net.

Gold spans are the parallel lists of ``_gold``; predicted spans the parallel lists of a
``RawAlignment``. Both are sorted and never overlap, so every count is one merge-like pass.
"""

from __future__ import annotations

from collections.abc import Sequence
from itertools import compress

from ._align import RawAlignment
from ._gold import Gold

__all__ = ["caught", "cross_overlaps", "overlaps", "preserved", "strict_matches"]


def strict_matches(gold: Gold, pred: RawAlignment, matched: list[str]) -> int:
    """Predicted spans with the boundaries and label of a gold span.

    Appends the label of each match to ``matched``. (Neither side can hold the same span
    twice: gold spans may not overlap and aligned spans never do, so a set intersection is
    the multiset match.)
    """
    common = set(zip(gold[0], gold[1], gold[2], strict=True)).intersection(
        zip(pred.starts, pred.ends, pred.labels, strict=True)
    )
    matched.extend([key[2] for key in common])
    return len(common)


def overlaps(
    a_starts: Sequence[int], a_ends: Sequence[int], b_starts: Sequence[int], b_ends: Sequence[int]
) -> list[bool]:
    """For each span of ``a``: does it overlap a span of ``b``? (both sorted by start)"""
    nb = len(b_starts)
    if not nb:
        return [False] * len(a_starts)
    out: list[bool] = []
    j = 0
    for start, end in zip(a_starts, a_ends, strict=True):
        while j < nb and b_ends[j] <= start:
            j += 1
        k = j
        hit = False
        while k < nb and b_starts[k] < end:
            if b_ends[k] > start:
                hit = True
                break
            k += 1
        out.append(hit)
    return out


def preserved(n: int, gold: Gold, pred: RawAlignment) -> tuple[int, int]:
    """(kept, total) non-PII characters: outside gold, not masked and not rewritten.

    ``total`` is what the gold spans leave (they never overlap); ``kept`` is what the union
    of gold spans, predicted spans and the alignment's rewritten regions (``changes``,
    ``(source_start, source_end, ...)``) leaves.
    """
    g_starts, g_ends = gold[0], gold[1]
    total = n - sum(g_ends) + sum(g_starts)
    p_starts, p_ends, changes = pred.starts, pred.ends, pred.changes
    if not changes and p_starts == g_starts and p_ends == g_ends:
        return total, total
    covered = start = end = 0
    for a, b in sorted(
        [
            *zip(g_starts, g_ends, strict=True),
            *zip(p_starts, p_ends, strict=True),
            *[(c[0], c[1]) for c in changes if c[1] > c[0]],
        ]
    ):
        if a >= end:  # a new run of covered characters
            covered += end - start
            start, end = a, b
        elif b > end:
            end = b
    covered += end - start
    return n - covered, total


def caught(gold: Gold, pred: RawAlignment, net: tuple[list[int], list[int]]) -> int:
    """Gold spans that a safety-net span overlaps and no model span does.

    Model spans are the predicted spans that overlap no safety-net span (the safety net only
    adds spans where the model had none, so those others are its own).
    """
    net_starts, net_ends = net
    if not net_starts or not gold[0]:
        return 0
    own = [not hit for hit in overlaps(pred.starts, pred.ends, net_starts, net_ends)]
    model_starts = list(compress(pred.starts, own))
    model_ends = list(compress(pred.ends, own))
    by_net = overlaps(gold[0], gold[1], net_starts, net_ends)
    by_model = overlaps(gold[0], gold[1], model_starts, model_ends)
    return sum(n and not m for n, m in zip(by_net, by_model, strict=True))


def cross_overlaps(
    g_starts: Sequence[int], g_ends: Sequence[int], p_starts: Sequence[int], p_ends: Sequence[int]
) -> tuple[list[bool], int, int]:
    """Gold against predicted spans in one merge (each side sorted, its spans disjoint).

    Returns, for each gold span, whether a predicted span overlaps it (lenient recall);
    how many predicted spans overlap a gold span (lenient precision); and how many
    characters both cover (the true positives of the character-level, label-agnostic
    score).
    """
    ng, np_ = len(g_starts), len(p_starts)
    gold_hit = [False] * ng
    pred_hits = common = 0
    hit = False  # the current predicted span overlapped a gold span
    i = j = 0
    while i < ng and j < np_:
        g0, g1, p0, p1 = g_starts[i], g_ends[i], p_starts[j], p_ends[j]
        lo = g0 if g0 > p0 else p0
        hi = g1 if g1 < p1 else p1
        if hi > lo:
            common += hi - lo
            gold_hit[i] = hit = True
        if g1 <= p1:
            i += 1
        else:
            pred_hits += hit
            hit = False
            j += 1
    return gold_hit, pred_hits + hit, common

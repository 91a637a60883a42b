"""nervaluate's four evaluation schemes (SemEval-2013 task 9.1): strict, exact, partial, type.

Each predicted entity is matched against the gold entities of its document, in order, and
counted once as *correct*, *incorrect*, *partial* or *spurious*; each gold entity left over is
*missed*. The schemes differ in what a match needs:

========  ==========================================  =====================================
scheme    correct                                      incorrect / partial
========  ==========================================  =====================================
strict    same boundaries and label                    overlapping otherwise: incorrect
exact     same boundaries (any label)                  overlapping otherwise: incorrect
partial   same boundaries (any label)                  overlapping otherwise: partial
type      overlapping, same label (closest boundaries)  overlapping, other label: incorrect
========  ==========================================  =====================================

``possible = correct + incorrect + partial + missed`` (the gold count) and ``actual = correct +
incorrect + partial + spurious`` (the predicted count); precision is ``correct / actual`` and
recall ``correct / possible``, where partial and type count a partial match as half. Entities
"overlap" when they share at least ``min_overlap`` percent of the gold entity (nervaluate's
``min_overlap_percentage``, 1 by default).

This is a re-implementation that gives nervaluate's (1.x) figures number for number, greedy
order included (``tests/test_schemes.py`` checks it against the package): entities are
``(label, start, end)`` with ``end`` exclusive, character offsets or token indices alike.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

__all__ = ["SCHEMES", "SchemeCounts", "score_schemes"]

SCHEMES: tuple[str, ...] = ("strict", "exact", "partial", "type")
"""The four schemes, in nervaluate's order of strictness (its ``ent_type`` is ``type``)."""

Entity = tuple[str, int, int]  # label, start, end (exclusive)


@dataclass
class SchemeCounts:
    """Counts of one scheme (mutable while documents are added; see :meth:`scores`)."""

    correct: int = 0
    incorrect: int = 0
    partial: int = 0
    missed: int = 0
    spurious: int = 0

    def add(self, other: SchemeCounts) -> None:
        """Add another document's counts."""
        self.correct += other.correct
        self.incorrect += other.incorrect
        self.partial += other.partial
        self.missed += other.missed
        self.spurious += other.spurious

    def scores(self, half_partial: bool) -> dict[str, float | int]:
        """The counts with possible, actual, precision, recall and F1 (0.0 when undefined,
        as nervaluate reports them)."""
        actual = self.correct + self.incorrect + self.partial + self.spurious
        possible = self.correct + self.incorrect + self.partial + self.missed
        hits = self.correct + (0.5 * self.partial if half_partial else 0.0)
        p = hits / actual if actual else 0.0
        r = hits / possible if possible else 0.0
        f1 = 2 * p * r / (p + r) if p + r > 0 else 0.0
        return {
            "correct": self.correct, "incorrect": self.incorrect, "partial": self.partial,
            "missed": self.missed, "spurious": self.spurious, "possible": possible,
            "actual": actual, "precision": p, "recall": r, "f1": f1,
        }  # fmt: skip


def _overlaps(pred: Entity, true: Entity, min_overlap: float) -> bool:
    """nervaluate's test: the shared part is at least ``min_overlap`` % of the gold entity
    (computed as nervaluate does, so a tie at the threshold goes the same way)."""
    shared = min(pred[2], true[2]) - max(pred[1], true[1])
    return shared > 0 and (shared / (true[2] - true[1])) * 100.0 >= min_overlap


def _match_bounds(
    true: Sequence[Entity], pred: Sequence[Entity], min_overlap: float, *, label: bool, soft: bool
) -> SchemeCounts:
    """strict (``label``), exact and partial (``soft``): the same boundaries (and label) are
    correct; the first other overlapping gold entity makes the prediction incorrect, or a
    partial match when ``soft``."""
    c = SchemeCounts()
    matched: set[int] = set()
    for p in pred:
        other = -1
        for t_idx, t in enumerate(true):
            if t_idx in matched:
                continue
            if p[1] == t[1] and p[2] == t[2] and (not label or p[0] == t[0]):
                c.correct += 1
                matched.add(t_idx)
                break
            if other < 0 and _overlaps(p, t, min_overlap):
                other = t_idx
        else:
            if other < 0:
                c.spurious += 1
                continue
            matched.add(other)
            if soft:
                c.partial += 1
            else:
                c.incorrect += 1
    c.missed = len(true) - len(matched)
    return c


def _match_type(true: Sequence[Entity], pred: Sequence[Entity], min_overlap: float) -> SchemeCounts:
    """type: an overlap with the same label is correct (the closest boundaries win)."""
    c = SchemeCounts()
    matched: set[int] = set()
    for p in pred:
        best, best_distance, other = -1, -1, -1
        for t_idx, t in enumerate(true):
            if t_idx in matched or not _overlaps(p, t, min_overlap):
                continue
            if p[0] == t[0]:
                distance = abs(p[1] - t[1]) + abs(p[2] - t[2])
                if best < 0 or distance < best_distance:
                    best, best_distance = t_idx, distance
            elif other < 0:
                other = t_idx
        if best >= 0:
            c.correct += 1
            matched.add(best)
        elif other >= 0:
            c.incorrect += 1
            matched.add(other)
        else:
            c.spurious += 1
    c.missed = len(true) - len(matched)
    return c


def _document(
    true: Sequence[Entity], pred: Sequence[Entity], min_overlap: float
) -> dict[str, SchemeCounts]:
    return {
        "strict": _match_bounds(true, pred, min_overlap, label=True, soft=False),
        "exact": _match_bounds(true, pred, min_overlap, label=False, soft=False),
        "partial": _match_bounds(true, pred, min_overlap, label=False, soft=True),
        "type": _match_type(true, pred, min_overlap),
    }


def score_schemes(
    documents: Iterable[tuple[Sequence[Entity], Sequence[Entity]]],
    *,
    min_overlap: float = 1.0,
) -> tuple[dict[str, SchemeCounts], dict[str, dict[str, SchemeCounts]]]:
    """Counts per scheme over ``(gold, predicted)`` entity lists, one pair per document, and
    the same per label (each label scored on its own entities only, as nervaluate does)."""
    overall = {name: SchemeCounts() for name in SCHEMES}
    by_label: dict[str, dict[str, SchemeCounts]] = {}
    for true, pred in documents:
        for name, counts in _document(true, pred, min_overlap).items():
            overall[name].add(counts)
        for lab in {e[0] for e in true} | {e[0] for e in pred}:
            t = [e for e in true if e[0] == lab]
            p = [e for e in pred if e[0] == lab]
            per = by_label.setdefault(lab, {name: SchemeCounts() for name in SCHEMES})
            for name, counts in _document(t, p, min_overlap).items():
                per[name].add(counts)
    return overall, by_label

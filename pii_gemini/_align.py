"""Recover character spans from a masked text: which source characters each placeholder hides.

The algorithm is anchor based, in two paths:

* the fast path (``_align_fast``): the masked text is faithful, every literal between the
  placeholders is found in the source in order; adjacent placeholders are split by value
  shape (``_shapes``) and flagged ``ambiguous`` when the shapes cannot settle the cut;
* the loose path (``_align_loose``): the model rewrote other text; each literal is anchored
  by its longest prefix and suffix found in the source, the rest is reported as changes and
  the alignment is not ``faithful``.

No difflib: a handful of ``str.find`` calls per placeholder.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from typing import NamedTuple

from ._align_fast import MaskedParts, place, split_masked
from ._align_loose import loose
from ._types import Span

__all__ = [
    "Alignment",
    "MaskedParts",
    "RawAlignment",
    "align",
    "align_raw",
    "fit_alignment",
    "fit_raw",
    "fits",
    "split_masked",
]


@dataclass(frozen=True)
class Alignment:
    """Spans recovered from a masked text, with how trustworthy they are.

    ``changes`` lists regions where the masked text's literal text differs from the source,
    as ``(source_start, source_end, masked_start, masked_end)`` offsets (never text).
    """

    spans: tuple[Span, ...]
    ambiguous: bool
    faithful: bool
    issues: tuple[str, ...] = ()
    changes: tuple[tuple[int, int, int, int], ...] = ()


_FAITHFUL_EMPTY = Alignment((), False, True)  # no placeholder, text unchanged (immutable: shared)


class RawAlignment(NamedTuple):
    """An :class:`Alignment` as offsets, before any Span object is built.

    Span ``i`` is ``source[starts[i]:ends[i]]`` with label ``labels[i]``; ``tags`` are the
    labels of every placeholder of the masked text (a loose alignment may leave some
    unanchored, so there can be more tags than spans) and ``literals`` the text around them
    (empty when there is no placeholder). :func:`pii_gemini.metrics.evaluate` works on this
    form: building thousands of frozen Spans it would only read costs more than the
    alignment itself.
    """

    starts: Sequence[int]
    ends: Sequence[int]
    labels: Sequence[str]
    ambiguous: bool
    faithful: bool
    issues: tuple[str, ...]
    changes: tuple[tuple[int, int, int, int], ...]
    tags: tuple[str, ...]
    literals: tuple[str, ...]

    def to_alignment(self, source: str) -> Alignment:
        """The public form, with a Span (offsets, label and value) per recovered span."""
        if not self.labels and self.faithful and not self.issues:
            return _FAITHFUL_EMPTY
        spans = tuple(
            Span(s, e, lab, source[s:e])
            for s, e, lab in zip(self.starts, self.ends, self.labels, strict=True)
        )
        return Alignment(spans, self.ambiguous, self.faithful, self.issues, self.changes)


_RAW_FAITHFUL_EMPTY = RawAlignment((), (), (), False, True, (), (), (), ())


def _may_fit(source: str, masked: str) -> bool:
    """Cheap necessary condition for ``masked`` to equal ``source`` outside its placeholders.

    Whatever counts as a placeholder, the text before the first ``[`` and after the last ``]``
    is literal, so it must open and close the source (most chatty answers fail here).
    """
    i = masked.find("[")
    if i < 0:
        return masked == source
    return source.startswith(masked[:i]) and source.endswith(masked[masked.rfind("]") + 1 :])


def fits(source: str, masked: str, *, labels: Collection[str] | None = None) -> bool:
    """True when ``masked`` equals ``source`` outside its placeholders (cheap check)."""
    if not _may_fit(source, masked):
        return False
    parts = split_masked(masked, source, labels=labels)
    if not parts.labels:
        return masked == source
    return place(source, parts) is not None


def fit_alignment(
    source: str, masked: str, *, labels: Collection[str] | None = None
) -> Alignment | None:
    """``align(source, masked)`` when ``masked`` fits ``source`` (see :func:`fits`), else None.

    Lets a caller that checks the fit first (``clean_output``) reuse the work instead of
    aligning the same text twice.
    """
    raw = fit_raw(source, masked, labels=labels)
    return None if raw is None else raw.to_alignment(source)


def fit_raw(
    source: str, masked: str, *, labels: Collection[str] | None = None
) -> RawAlignment | None:
    """:func:`fit_alignment` as offsets (see :class:`RawAlignment`)."""
    if not _may_fit(source, masked):
        return None
    parts = split_masked(masked, source, labels=labels)
    if not parts.labels:
        return _RAW_FAITHFUL_EMPTY if masked == source else None
    fast = place(source, parts)
    return None if fast is None else _faithful(parts, fast)


def _faithful(
    parts: MaskedParts, fast: tuple[list[int], list[int], bool, list[str]]
) -> RawAlignment:
    """The alignment of a masked text whose literals were placed exactly (``_align_fast.place``)."""
    starts, ends, ambiguous, issues = fast
    tags, lits = parts.labels, parts.literals
    return RawAlignment(starts, ends, tags, ambiguous, True, tuple(issues), (), tags, lits)


def align(source: str, masked: str, *, labels: Collection[str] | None = None) -> Alignment:
    """Recover the spans of ``source`` that the placeholders of ``masked`` stand for.

    ``labels`` restricts what counts as a placeholder (others are literal text).
    """
    return align_raw(source, masked, labels=labels).to_alignment(source)


def align_raw(source: str, masked: str, *, labels: Collection[str] | None = None) -> RawAlignment:
    """:func:`align` as offsets (see :class:`RawAlignment`): no Span objects built."""
    parts = split_masked(masked, source, labels=labels)
    tags = parts.labels
    if not tags:
        if masked == source:
            return _RAW_FAITHFUL_EMPTY
        changed = ((0, len(source), 0, len(masked)),)
        return RawAlignment((), (), (), False, False, ("rewritten",), changed, (), ())
    fast = place(source, parts)
    if fast is not None:
        return _faithful(parts, fast)
    starts, ends, span_labels, changes, issues_l, amb = loose(source, parts)
    issues = ("rewritten", *dict.fromkeys(issues_l))
    return RawAlignment(
        starts, ends, span_labels, amb, False, issues, tuple(changes), tags, parts.literals
    )

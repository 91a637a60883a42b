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
from .labels import ALL_LABELS

__all__ = [
    "Alignment",
    "MaskedParts",
    "RawAlignment",
    "align",
    "align_raw",
    "fit_alignment",
    "fit_raw",
    "fits",
    "may_fit",
    "split_masked",
    "without_revealing",
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
    (empty when there is no placeholder). ``revealed`` are the labels of placeholders whose
    label spells out the very value they stand for, once :func:`without_revealing` has
    dropped their spans (the raw functions do not check; :meth:`to_alignment` does).
    :func:`pii_gemini.metrics.evaluate` works on this form: building thousands of frozen Spans
    it would only read costs more than the alignment itself.
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
    revealed: tuple[str, ...] = ()

    def to_alignment(self, source: str) -> Alignment:
        """The public form, with a Span (offsets, label and value) per recovered span; a
        placeholder that spells out its value gives none (see :func:`without_revealing`)."""
        if not self.labels and self.faithful and not self.issues:
            return _FAITHFUL_EMPTY
        raw = self if ALL_LABELS.issuperset(self.labels) else without_revealing(source, self)
        spans = tuple(
            Span(s, e, lab, source[s:e])
            for s, e, lab in zip(raw.starts, raw.ends, raw.labels, strict=True)
        )
        return Alignment(spans, raw.ambiguous, raw.faithful, raw.issues, raw.changes)


_RAW_FAITHFUL_EMPTY = RawAlignment((), (), (), False, True, (), (), (), ())


def may_fit(source: str, masked: str) -> bool:
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
    if not may_fit(source, masked):
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
    if not may_fit(source, masked):
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


def without_revealing(source: str, raw: RawAlignment) -> RawAlignment:
    """``raw`` without the spans whose placeholder's label spells out their value.

    "[WF75HYD]" for the value WF75HYD, "[BOB]" for Bob: the label equals the value
    upper-cased, or with its separators dropped too. Such a "placeholder" hides nothing; it
    is a leak (issue ``placeholder_reveals_value``; ``revealed`` names the labels). Only
    labels outside the ai4privacy label sets are checked, so a caller can skip the common
    alignment, whose labels are all known, with one set test: a value spelled exactly like a
    known label ("DATE") is too rare to pay for on every row.
    """
    drop: list[int] = []
    for k, (s, e, lab) in enumerate(zip(raw.starts, raw.ends, raw.labels, strict=True)):
        n, m = e - s, len(lab)
        if n < m or n > 2 * m or lab in ALL_LABELS:  # at most one separator per character
            continue
        value = source[s:e].upper()
        if value == lab or (
            value[0] == lab[0]
            and value[-1] == lab[-1]
            and "".join(filter(str.isalnum, value)) == lab
        ):
            drop.append(k)
    if not drop:
        return raw
    starts, ends, labels = raw.starts, raw.ends, raw.labels
    keep = [k for k in range(len(labels)) if k not in drop]
    return raw._replace(
        starts=[starts[k] for k in keep],
        ends=[ends[k] for k in keep],
        labels=[labels[k] for k in keep],
        issues=(*raw.issues, "placeholder_reveals_value"),
        revealed=tuple(dict.fromkeys(labels[k] for k in drop)),
    )


def align(source: str, masked: str, *, labels: Collection[str] | None = None) -> Alignment:
    """Recover the spans of ``source`` that the placeholders of ``masked`` stand for.

    ``labels`` restricts what counts as a placeholder (others are literal text).
    """
    return align_raw(source, masked, labels=labels).to_alignment(source)


def align_raw(
    source: str, masked: str, *, labels: Collection[str] | None = None, unfit: bool = False
) -> RawAlignment:
    """:func:`align` as offsets (see :class:`RawAlignment`): no Span objects built.

    ``unfit`` tells that ``masked`` is known not to fit ``source`` (``fits`` was False, as
    :class:`~pii_gemini._hygiene.CleanedFit` reports): the exact placement is skipped.
    """
    parts = split_masked(masked, source, labels=labels)
    tags = parts.labels
    if not tags:
        if masked == source:
            return _RAW_FAITHFUL_EMPTY
        changed = ((0, len(source), 0, len(masked)),)
        return RawAlignment((), (), (), False, False, ("rewritten",), changed, (), ())
    fast = None if unfit else place(source, parts)
    if fast is not None:
        return _faithful(parts, fast)
    starts, ends, span_labels, changes, issues_l, amb = loose(source, parts)
    issues = ("rewritten", *dict.fromkeys(issues_l))
    return RawAlignment(
        starts, ends, span_labels, amb, False, issues, tuple(changes), tags, parts.literals
    )

"""Recover character spans from a masked text: which source characters each placeholder hides.

The algorithm is anchor based. A masked text is a sequence ``L0 P1 L1 ... Pn Ln`` of literal
segments ``L`` and placeholders ``P``; when the model kept the non-PII text, every literal is
found in the source in order and each placeholder covers the gap between two literals.

* Fast path (the masked text is faithful): the earliest (left to right, ``str.find``) and the
  latest (right to left, ``str.rfind``) placements of the literals bound every boundary; where
  they agree the boundary is certain. Where they differ (``[CURRENCYSYMBOL][AMOUNT]`` for
  ``"£850"``, ``[FIRSTNAME] [LASTNAME]`` for a three-word name) every placement is enumerated
  and checked against conservative per-label value shapes; a unique fit is taken, otherwise
  the alignment is flagged ``ambiguous`` (the earliest best-fitting split is returned).
* Loose path (the model rewrote other text): each literal is anchored by its longest prefix
  and suffix found in the source (binary search over ``str.find``, prefix occurrence is
  monotone in length). Spans between anchors are recovered, the rest are reported as
  changed regions, and ``faithful`` is False.

No difflib: a handful of ``str.find`` calls per placeholder.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass
from itertools import accumulate
from operator import add
from typing import NamedTuple

from ._types import Span
from .labels import PLACEHOLDER_RE

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


_MAX_SPLITS = 256  # placements enumerated per ambiguous group before giving up on shapes
_MAX_VALUE_CHARS = 400  # loose path: longest value a placeholder may stand for
_MIN_LOOSE_ANCHOR = 3  # loose path: shortest partial literal trusted as an anchor


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


# -- value shapes: conservative full-match checks used only to split adjacent placeholders --

_AMOUNT_RE = re.compile(r"[.,]?\d[\d.,'\u00a0\u202f]*(?:[kKmMbB]|bn)?")
_NAME_PIECE_RE = re.compile(r"[^\W\d_][^\d_]*")
_PREFIX_RE = re.compile(
    r"(?:Mr|Mrs|Ms|Miss|Mx|Dr|Prof|Sir|Madam|Mme|Mlle|Mrs|Herr|Frau|Sig|Sig\.ra|Dott|Rev)\.?",
    re.IGNORECASE,
)
_DIGITS_RE = re.compile(r"\d+[A-Za-z]?")
_TIME_RE = re.compile(
    r"\d{1,2}(?:[:.h]\d{2}){1,2}(?:\s?[AaPp]\.?[Mm]\.?)?|\d{1,2}\s?[AaPp]\.?[Mm]\.?"
)


def _no_digit_no_space(v: str) -> bool:
    return not any(ch.isdigit() or ch.isspace() for ch in v) and len(v) <= 4


def _name(v: str) -> bool:
    return v[0].isupper() and _NAME_PIECE_RE.fullmatch(v) is not None


def _has_digit(v: str) -> bool:
    return any(ch.isdigit() for ch in v)


def _no_digit(v: str) -> bool:
    return not any(ch.isdigit() for ch in v)


def _fullmatch(rx: re.Pattern[str]) -> Callable[[str], bool]:
    return lambda v: rx.fullmatch(v) is not None


_SHAPES: dict[str, Callable[[str], bool]] = {
    "CURRENCYSYMBOL": _no_digit_no_space,
    "CURRENCYCODE": _fullmatch(re.compile(r"[A-Z]{3}")),
    "CURRENCY": _no_digit,
    "CURRENCYNAME": _no_digit,
    "AMOUNT": _fullmatch(_AMOUNT_RE),
    "PREFIX": _fullmatch(_PREFIX_RE),
    "TITLE": _fullmatch(_PREFIX_RE),
    "FIRSTNAME": _name,
    "MIDDLENAME": _name,
    "LASTNAME": _name,
    "GIVENNAME": _name,
    "SURNAME": _name,
    "GIVENNAME1": _name,
    "GIVENNAME2": _name,
    "LASTNAME1": _name,
    "LASTNAME2": _name,
    "LASTNAME3": _name,
    "BUILDINGNUMBER": _fullmatch(_DIGITS_RE),
    "BUILDINGNUM": _fullmatch(_DIGITS_RE),
    "BUILDING": _fullmatch(_DIGITS_RE),
    "AGE": _fullmatch(re.compile(r"\d{1,3}")),
    "TIME": _fullmatch(_TIME_RE),
    "DATE": _has_digit,
    "DOB": _has_digit,
    "ZIPCODE": _has_digit,
    "POSTCODE": _has_digit,
    "STREET": _no_digit,
    "CITY": _no_digit,
    "STATE": _no_digit,
    "COUNTY": _no_digit,
    "JOBTITLE": _no_digit,
    "JOBAREA": _no_digit,
    "JOBTYPE": _no_digit,
    "EMAIL": lambda v: "@" in v,
    "PHONENUMBER": _has_digit,
    "TEL": _has_digit,
}


def _shape_ok(label: str, value: str) -> bool:
    if not value or value[0].isspace() or value[-1].isspace():
        return False  # a PII value never starts or ends with whitespace
    check = _SHAPES.get(label)
    return True if check is None else check(value)


def _clean_cut(source: str, at: int) -> bool:
    """True when a boundary at ``at`` does not cut a word (tie-breaker for a best guess)."""
    a, b = source[at - 1], source[at]
    if a.isdigit() and b.isdigit():
        return False
    return not (a.isalpha() and b.isalpha() and not (a.islower() and b.isupper()))


# -- the fast path ---------------------------------------------------------------------------


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
    """
    best: list[int] = list(lo_pos)
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
            s += _shape_ok(labels[j], source[prev:p])
            prev = p + len(lits[j])
        s += _shape_ok(labels[k], source[prev:end])
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
                _clean_cut(source, p) + _clean_cut(source, p + len(lits[j]))
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


def _fast(source: str, parts: MaskedParts) -> tuple[list[int], list[int], bool, list[str]] | None:
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


# -- the loose path --------------------------------------------------------------------------


def _longest_prefix(source: str, lit: str, lo: int, hi: int) -> tuple[int, int]:
    """Longest prefix of ``lit`` starting in ``source[lo:hi]``: (length, position)."""
    if not lit:
        return 0, -1
    pos = source.find(lit, lo, hi + len(lit))
    if pos >= 0:  # the whole literal: what the search below would end with
        return len(lit), pos
    a, b = 0, len(lit) - 1  # a found (0 trivially), b upper bound
    while a < b:
        mid = (a + b + 1) // 2
        p = source.find(lit[:mid], lo, hi + mid)
        if p >= 0:
            a, pos = mid, p
        else:
            b = mid - 1
    return a, pos


def _longest_suffix(source: str, lit: str, lo: int) -> tuple[int, int]:
    """Longest suffix of ``lit`` found in ``source[lo:]``: (length, position of its start)."""
    if not lit:
        return 0, -1
    pos = source.find(lit, lo)
    if pos >= 0:  # the whole literal: what the search below would end with
        return len(lit), pos
    n = len(lit)
    a, b = 0, n - 1
    while a < b:
        mid = (a + b + 1) // 2
        p = source.find(lit[n - mid :], lo)
        if p >= 0:
            a, pos = mid, p
        else:
            b = mid - 1
    return a, pos


def _loose(
    source: str, parts: MaskedParts
) -> tuple[list[int], list[int], list[str], list[tuple[int, int, int, int]], list[str], bool]:
    """Anchor each literal by its longest found prefix (head) and suffix (tail).

    The head of a literal ends the pending value(s), its tail starts the next one; what lies
    between head and tail on either side is a changed region. Adjacent placeholders (empty
    literals) stay pending and are split like on the fast path once their end is anchored.
    """
    lits = parts.literals
    labels = parts.labels
    lit_starts = parts.literal_starts
    n = len(labels)
    starts: list[int] = []
    ends: list[int] = []
    span_labels: list[str] = []
    changes: list[tuple[int, int, int, int]] = []
    issues: list[str] = []
    ambiguous = False
    first = lits[0]
    val_start: int | None
    if source.startswith(first):
        val_start = len(first)
    else:
        k, p = _longest_suffix(source, first, 0)
        if k and (k == len(first) or k >= _MIN_LOOSE_ANCHOR):
            val_start = p + k
            changes.append((0, p, 0, len(first) - k))
        else:
            val_start = None
            changes.append((0, 0, 0, len(first)))
    cursor = val_start if val_start is not None else 0
    pending: list[str] = []
    for i in range(n):
        pending.append(labels[i])
        lit = lits[i + 1]
        m_start = lit_starts[i + 1]
        is_last = i == n - 1
        if not lit and not is_last:
            continue  # adjacent placeholders: decided when the next literal is anchored
        lo = cursor + len(pending) if val_start is not None else cursor
        if not lit:
            head_len, head_pos = 0, len(source)
        elif is_last and source.endswith(lit) and len(source) - len(lit) >= lo:
            head_len, head_pos = len(lit), len(source) - len(lit)
        else:
            head_len, head_pos = _longest_prefix(source, lit, lo, lo + _MAX_VALUE_CHARS)
        head_ok = head_pos >= 0 and (head_len == len(lit) or head_len >= _MIN_LOOSE_ANCHOR)
        if head_ok and val_start is not None and head_pos - val_start >= len(pending):
            if len(pending) == 1:
                starts.append(val_start)
                ends.append(head_pos)
            else:
                got_s, got_e, amb = _split_region(source, val_start, head_pos, pending)
                starts.extend(got_s)
                ends.extend(got_e)
                ambiguous = ambiguous or amb
            span_labels.extend(pending)
        else:
            issues.append("unanchored_placeholder")
        pending = []
        if head_ok:
            cursor = head_pos + head_len
            if head_len == len(lit):
                val_start = cursor
                continue
        rest = lit[head_len:] if head_ok else lit
        r_start = m_start + (head_len if head_ok else 0)
        if is_last:
            k = _common_suffix(source, rest, cursor)
            changes.append((cursor, len(source) - k, r_start, m_start + len(lit) - k))
            cursor = len(source)
            break
        k, p = _longest_suffix(source, rest, cursor)
        if k and (k == len(rest) or k >= _MIN_LOOSE_ANCHOR):
            changes.append((cursor, p, r_start, m_start + len(lit) - k))
            val_start = cursor = p + k
        else:
            changes.append((cursor, cursor, r_start, m_start + len(lit)))
            val_start = None
    if cursor < len(source):
        end_m = lit_starts[-1] + len(lits[-1])
        changes.append((cursor, len(source), end_m, end_m))
    return starts, ends, span_labels, changes, issues, ambiguous


def _common_suffix(source: str, text: str, lo: int) -> int:
    """Length of the common suffix of ``source[lo:]`` and ``text``."""
    k = 0
    limit = min(len(source) - lo, len(text))
    while k < limit and source[-1 - k] == text[-1 - k]:
        k += 1
    return k


def _split_region(
    source: str, start: int, end: int, labels: Sequence[str]
) -> tuple[list[int], list[int], bool]:
    """Starts and ends of adjacent placeholders covering exactly ``source[start:end]``."""
    region = source[start:end]
    sub = MaskedParts(("",) * (len(labels) + 1), tuple(labels), tuple(f"[{x}]" for x in labels))
    res = _fast(region, sub)
    assert res is not None  # len(region) >= len(labels) was checked by the caller
    starts, ends, amb, _ = res
    return [start + x for x in starts], [start + x for x in ends], amb


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
    return _fast(source, parts) is not None


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
    fast = _fast(source, parts)
    return None if fast is None else _faithful(parts, fast)


def _faithful(
    parts: MaskedParts, fast: tuple[list[int], list[int], bool, list[str]]
) -> RawAlignment:
    """The alignment of a masked text whose literals :func:`_fast` placed exactly."""
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
    fast = _fast(source, parts)
    if fast is not None:
        return _faithful(parts, fast)
    starts, ends, span_labels, changes, issues_l, amb = _loose(source, parts)
    issues = ("rewritten", *dict.fromkeys(issues_l))
    return RawAlignment(
        starts, ends, span_labels, amb, False, issues, tuple(changes), tags, parts.literals
    )

"""The loose path of the aligner: spans from a masked text whose model rewrote other text.

Each literal is anchored by its longest prefix and suffix found in the source (binary search
over ``str.find``: whether a prefix occurs is monotone in its length). Spans between anchors
are recovered; the rest is reported as changed regions, and the alignment is not faithful.
"""

from __future__ import annotations

from ._align_fast import MaskedParts, split_region

__all__ = ["loose"]

_MAX_VALUE_CHARS = 400  # longest value a placeholder may stand for
_MIN_LOOSE_ANCHOR = 3  # shortest partial literal trusted as an anchor


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


def loose(
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
                got_s, got_e, amb = split_region(source, val_start, head_pos, pending)
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

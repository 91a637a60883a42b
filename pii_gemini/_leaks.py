"""Leak counting: is a gold PII value still in a masked output, verbatim or normalised?

A value leaks when it occurs in the output more often than in the ideal masked text (so a
value that is also legitimately non-PII elsewhere is not counted). Placeholders are blanked
first, so a value such as "IP" never matches inside "[IPV4]".
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence

from .labels import PLACEHOLDER_RE

__all__ = ["blank", "leak_flags", "norm", "value_groups"]

_SEPARATORS = " \t\n\r\f\v-–.,()/_'’\u00a0\u202f"
_DROP_SEPARATORS = str.maketrans("", "", _SEPARATORS)
# the same for ASCII text, as bytes: one C pass that also lower-cases (casefold on ASCII)
_ASCII_SEPARATORS = "".join(ch for ch in _SEPARATORS if ch.isascii()).encode("ascii")
_ASCII_LOWER = bytes.maketrans(b"ABCDEFGHIJKLMNOPQRSTUVWXYZ", b"abcdefghijklmnopqrstuvwxyz")
# a value made only of these could match inside a placeholder ("IP" in "[IPV4]"); a value
# that str.strip(_LABEL_CHARS) empties is one (what [A-Z0-9_\[\]]+ fullmatches, 3x cheaper)
_LABEL_CHARS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_[]"


def norm(text: str) -> str:
    """Case-folded ``text`` without whitespace and digit/name separators."""
    if text.isascii():  # most texts: ~7x faster than str.translate, same result
        return text.encode("ascii").translate(_ASCII_LOWER, _ASCII_SEPARATORS).decode("ascii")
    return text.translate(_DROP_SEPARATORS).casefold()


def blank(text: str, keep: Collection[str] = ()) -> str:
    """``text`` with each placeholder replaced by a NUL (so no value can match across it).

    A placeholder whose label is in ``keep`` becomes its bare label instead: one that spells
    out the value it stands for (``[WF75HYD]``, see ``RawAlignment.revealed``) is a leak.
    """
    if "[" not in text:
        return text
    if not keep:
        return PLACEHOLDER_RE.sub("\x00", text)
    return PLACEHOLDER_RE.sub(lambda m: m[1] if m[1] in keep else "\x00", text)


def _norm_all(values: Sequence[str]) -> list[str]:
    """``norm`` of each value, in one call (case folding works char by char)."""
    joined = norm("\x00".join(values)).split("\x00")
    if len(joined) == len(values):
        return joined
    return [norm(v) for v in values]  # a value held a NUL


def value_groups(values: Sequence[str]) -> dict[str, list[int]]:
    """Indices of the gold spans per distinct (non-blank) value, in order of appearance."""
    groups: dict[str, list[int]] = {}
    for k, value in enumerate(values):
        if value.strip():
            groups.setdefault(value, []).append(k)
    return groups


def leak_flags(
    groups: Mapping[str, Sequence[int]],
    n_gold: int,
    output: str,
    reference: str,
    *,
    normalised: bool = True,
    output_blanked: str | None = None,
) -> tuple[list[bool], list[bool]]:
    """Per gold span: is its value still in the output (verbatim, and after normalising)?

    ``groups`` comes from :func:`value_groups` (computed once per row). A value leaks when
    it occurs in the output more often than in the ideal masked text (so a value that is
    also legitimately non-PII elsewhere is not counted); with a repeated value, that many of
    its spans count as leaked. The reference is only searched (and only normalised) for
    values the output contains. ``output_blanked`` is ``blank(output)`` when the caller
    has it already.
    """
    verbatim = [False] * n_gold
    normalised_flags = [False] * n_gold
    if not groups:
        return verbatim, normalised_flags
    blanking = False  # from the first label-like value on, count outside placeholders only
    out_b = output_blanked  # output / reference with placeholders blanked, on first need
    ref_b: str | None = None
    out_n: str | None = None  # normalised output / reference, on first need
    ref_n: str | None = None
    norm_values: list[str] | None = None
    for j, (value, idxs) in enumerate(groups.items()):
        n_spans = len(idxs)
        if not blanking and not value.strip(_LABEL_CHARS):  # (values are never blank)
            blanking = True  # a value like "IP" could match inside "[IPV4]"
        found = output.count(value)
        in_ref = reference
        if blanking and (found or "\x00" in value):  # (blanking removes matches, adds none)
            if out_b is None:
                out_b = blank(output)
            if ref_b is None:
                ref_b = blank(reference)
            found, in_ref = out_b.count(value), ref_b
        v = 0
        if found:
            v = min(max(found - in_ref.count(value), 0), n_spans)
            for k in idxs[:v]:
                verbatim[k] = True
        if not normalised:
            continue
        nv_count = v
        if v < n_spans:
            if norm_values is None:
                norm_values = _norm_all(list(groups))
            nv = norm_values[j]
            if nv:
                if out_n is None:  # placeholders out first: "[FIRSTNAME]" must not match "name"
                    out_n = norm(blank(output) if out_b is None else out_b)
                found_n = out_n.count(nv)
                if found_n:
                    if ref_n is None:
                        ref_n = norm(blank(reference) if ref_b is None else ref_b)
                    nv_count = max(nv_count, min(max(found_n - ref_n.count(nv), 0), n_spans))
        for k in idxs[:nv_count]:
            normalised_flags[k] = True
    return verbatim, normalised_flags

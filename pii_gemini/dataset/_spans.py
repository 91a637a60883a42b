"""One row's ``privacy_mask`` as checked spans: the fast path and the careful path.

Every span must satisfy ``source_text[start:end] == value``. The fast functions accept only
the canonical forms (a list of four-key span dicts in order with normalised labels; legacy
``span_labels`` whose values re-create ``privacy_mask``'s repr) and return None for anything
else. The careful functions take every form the datasets use (JSON or Python-literal strings,
numpy arrays, unordered spans, dict-repr masks, offsets walked from ``masked_text``) and raise
:class:`RowError` naming the column and a reason, never a value.
"""

from __future__ import annotations

import ast
import json
import re
from operator import itemgetter
from typing import Any

import numpy as np

from .._exceptions import ConfigError
from ..labels import PLACEHOLDER_RE, normalize_label

__all__ = [
    "RowError",
    "fast_current",
    "fast_legacy",
    "known_label",
    "spans_current",
    "spans_legacy",
]

# "[[0, 5, 'O'], [5, 8, 'PREFIX_1'], ...]" (legacy, Python repr) or the JSON form (current)
_SPAN_LABEL_RE = re.compile(r"\[\s*(-?\d+)\s*,\s*(-?\d+)\s*,\s*(['\"])(.*?)\3\s*\]")
# the canonical legacy form of an item ("O" ones too: every "[" but the outer one must start
# one, else the row takes the careful path, which reads items this form does not take)
_FAST_SPAN_RE = re.compile(r"\[(\d+), (\d+), '([A-Z][A-Z0-9_]*)'\]")
_BY_START = itemgetter("start")


class RowError(Exception):
    """A malformed row: the column and a reason free of PII."""

    def __init__(self, column: str, reason: str) -> None:
        super().__init__(reason)
        self.column = column
        self.reason = reason


_LABELS: dict[str, str] = {}  # raw label -> normalised label
_IDENTITY_LABELS: set[str] = set()  # labels that are already normalised


def _label(raw: object, column: str) -> str:
    """normalize_label with a cache (a dataset has few distinct labels)."""
    if type(raw) is str:
        hit = _LABELS.get(raw)
        if hit is not None:
            return hit
        try:
            label = normalize_label(raw)
        except ConfigError:
            raise RowError(column, "a span label is not a valid PII label") from None
        if len(_LABELS) < 10_000:
            _LABELS[raw] = label
            if label == raw:
                _IDENTITY_LABELS.add(raw)
        return label
    raise RowError(column, "a span label is not a string")


def known_label(raw: object) -> str | None:
    """The normalised label of ``raw`` for the fast paths, learning it on first sight (so a
    fresh process takes the fast path too); None when it is not a valid label."""
    if type(raw) is str:
        hit = _LABELS.get(raw)
        if hit is not None:
            return hit
    try:
        return _label(raw, "")
    except RowError:
        return None


def _parse_literal(raw: str, column: str) -> Any:
    """JSON first (fast), then a Python literal (ast.literal_eval, never eval)."""
    try:
        return json.loads(raw)
    except ValueError:
        pass
    try:
        return ast.literal_eval(raw)
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
        raise RowError(column, f"{column} is not a parsable list/dict literal") from None


def _as_offset(x: object, column: str) -> int:
    if type(x) is int:
        return x
    if isinstance(x, (int, np.integer)) and not isinstance(x, bool):
        return int(x)
    if isinstance(x, (float, np.floating)) and float(x).is_integer():
        return int(x)
    raise RowError(column, "span offsets must be integers")


def spans_current(text: object, raw_mask: object) -> list[dict[str, Any]]:
    """Validate a list-of-spans privacy_mask against the text; returns fresh span dicts."""
    if type(text) is not str:
        raise RowError("source_text", "source_text is not a string")
    mask: Any = raw_mask
    if isinstance(mask, str):
        mask = _parse_literal(mask, "privacy_mask")
    elif isinstance(mask, np.ndarray):
        mask = mask.tolist()
    if not isinstance(mask, (list, tuple)):
        raise RowError("privacy_mask", "privacy_mask is not a list of spans")
    out: list[dict[str, Any]] = []
    n = len(text)
    last = -1
    ordered = True
    for span in mask:
        try:
            value = span["value"]
            start = span["start"]
            end = span["end"]
            raw_label = span["label"]
        except (KeyError, TypeError, IndexError):
            raise RowError(
                "privacy_mask", "a span lacks one of the keys value/start/end/label"
            ) from None
        if type(start) is not int or type(end) is not int:
            start = _as_offset(start, "privacy_mask")
            end = _as_offset(end, "privacy_mask")
        if start < 0 or end > n or end < start:
            raise RowError("privacy_mask", f"span offsets {start}:{end} are out of range")
        if type(value) is not str or text[start:end] != value:
            raise RowError("privacy_mask", f"span value != source_text[{start}:{end}]")
        if start < last:
            ordered = False
        last = start
        out.append(
            {"value": value, "start": start, "end": end, "label": _label(raw_label, "privacy_mask")}
        )
    if not ordered:
        out.sort(key=_BY_START)
    return out


def spans_legacy(
    text: object, masked: object, raw_mask: object, raw_spans: object
) -> list[dict[str, Any]]:
    """Spans of an original-200k row: offsets from span_labels, checked against privacy_mask.

    Without span_labels the offsets come from walking masked_text's placeholders over the text.
    """
    if type(text) is not str:
        raise RowError("unmasked_text", "unmasked_text is not a string")
    if type(masked) is not str:
        raise RowError("masked_text", "masked_text is not a string")
    if type(raw_spans) is str:
        triples = _SPAN_LABEL_RE.findall(raw_spans)
        if not triples and raw_spans.strip() not in ("", "[]"):
            raise RowError(
                "span_labels", "span_labels is not a parsable list of [start, end, label]"
            )
        n = len(text)
        spans: list[dict[str, Any]] = []
        expected: dict[str, str] = {}
        for s, e, _, name in triples:
            if name == "O":
                continue
            start, end = int(s), int(e)
            if start < 0 or end > n or end < start:
                raise RowError("span_labels", f"span offsets {start}:{end} are out of range")
            value = text[start:end]
            expected[f"[{name}]"] = value
            spans.append(
                {"value": value, "start": start, "end": end, "label": _label(name, "span_labels")}
            )
        if isinstance(raw_mask, str):
            if repr(expected) == raw_mask:  # fast path: the dataset wrote repr(dict) in order
                return spans
            mapping = _parse_literal(raw_mask, "privacy_mask")
        else:
            mapping = raw_mask
        if not isinstance(mapping, dict):
            raise RowError("privacy_mask", "privacy_mask is not a placeholder -> value mapping")
        if mapping != expected:
            raise RowError(
                "privacy_mask", "privacy_mask values do not match span_labels offsets in the text"
            )
        spans.sort(key=_BY_START)
        return spans
    mapping = _parse_literal(raw_mask, "privacy_mask") if isinstance(raw_mask, str) else raw_mask
    if not isinstance(mapping, dict):
        raise RowError("privacy_mask", "privacy_mask is not a placeholder -> value mapping")
    return _walk_placeholders(text, masked, mapping)


def _walk_placeholders(text: str, masked: str, mapping: dict[Any, Any]) -> list[dict[str, Any]]:
    """Derive offsets by matching masked_text's literal parts and mapped values in order."""
    spans: list[dict[str, Any]] = []
    pos = 0  # in masked
    at = 0  # in text
    for m in PLACEHOLDER_RE.finditer(masked):
        key = m.group(0)
        if key not in mapping:  # a literal "[URGENT]" in the text, not a placeholder
            continue
        literal = masked[pos : m.start()]
        value = mapping[key]
        if not text.startswith(literal, at):
            raise RowError("masked_text", "masked_text does not align with unmasked_text")
        at += len(literal)
        if type(value) is not str or not text.startswith(value, at):
            raise RowError("privacy_mask", "a privacy_mask value is not at its placeholder's place")
        spans.append(
            {
                "value": value,
                "start": at,
                "end": at + len(value),
                "label": _label(m.group(1), "masked_text"),
            }
        )
        at += len(value)
        pos = m.end()
    if masked[pos:] != text[at:]:
        raise RowError("masked_text", "masked_text does not align with unmasked_text")
    return spans


def fast_current(text: object, mask: object) -> list[dict[str, Any]] | None:
    """The common case, checked without allocating: a list of 4-key span dicts, in order,
    matching the text, with normalised labels. Returns the input list or None (careful path)."""
    if type(text) is not str or type(mask) is not list:
        return None
    n = len(text)
    last = 0
    identity = _IDENTITY_LABELS
    try:
        for span in mask:
            if type(span) is not dict or len(span) != 4:
                return None
            value = span["value"]
            start = span["start"]
            end = span["end"]
            if (
                type(start) is not int
                or type(end) is not int
                or start < last
                or end < start
                or end > n
                or text[start:end] != value
                or (span["label"] not in identity and span["label"] != known_label(span["label"]))
            ):
                return None
            last = start
    except (KeyError, TypeError):  # a missing key, or an unhashable label
        return None
    return mask


def fast_legacy(text: object, raw_mask: object, raw_spans: object) -> list[dict[str, Any]] | None:
    """The common legacy case: canonical span_labels whose values re-create privacy_mask's
    repr exactly. Returns fresh span dicts or None (careful path)."""
    if type(text) is not str or type(raw_spans) is not str or type(raw_mask) is not str:
        return None
    n = len(text)
    last = 0
    labels = _LABELS
    spans = []
    expected = {}
    items = _FAST_SPAN_RE.findall(raw_spans)
    if len(items) + 1 != raw_spans.count("["):
        return None
    for a, b, name in items:
        if name == "O":
            continue
        start = int(a)
        end = int(b)
        label = labels.get(name) or known_label(name)
        if start < last or end < start or end > n or label is None:
            return None
        value = text[start:end]
        expected["[" + name + "]"] = value
        spans.append({"value": value, "start": start, "end": end, "label": label})
        last = start
    if repr(expected) != raw_mask:
        return None
    return spans

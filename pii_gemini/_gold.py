"""Gold spans for evaluation: parsed from ``privacy_mask`` entries into parallel lists.

:func:`pii_gemini.metrics.evaluate` reads the gold spans of thousands of rows a second, so a
row's spans are kept as parallel lists (starts, ends, labels, values) sorted by offset, never
built into Span objects. A one-loop fast path takes well-formed sorted rows; anything unusual
goes through a checked path that sorts, validates and raises ``DatasetError`` naming the row.
"""

from __future__ import annotations

import ast
import json
import re
from collections.abc import Iterable, Mapping, Sequence
from itertools import pairwise
from operator import itemgetter
from typing import Any

import numpy as np

from ._exceptions import DatasetError
from ._types import Span

__all__ = ["Gold", "gold_row", "net_row", "render", "span_item"]

_INDEX_RE = re.compile(r"_\d+$")
_BY_START_END = itemgetter(0, 1)
_START_END_LABEL = itemgetter("start", "end", "label")  # KeyError/TypeError: the checked path

# a row's gold spans as parallel lists (starts, ends, labels, values), sorted by (start, end):
# evaluate reads them thousands of times per second, so they are not built into Span objects
Gold = tuple[list[int], list[int], list[str], list[str]]


def gold_row(value: Any, source: str, row: int) -> Gold:
    """Gold spans from a privacy_mask entry: list of dicts/Spans, or its JSON/repr string."""
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            try:
                value = ast.literal_eval(value)
            except (ValueError, SyntaxError):
                # from None: the parser's message would quote the (PII) text
                raise DatasetError("gold_spans entry is not a list", row=row) from None
    if value is None:
        return [], [], [], []
    n_chars = len(source)
    starts: list[int] = []
    ends: list[int] = []
    labels: list[str] = []
    prev_end = 0
    try:  # the common case: dicts with int offsets and str labels, sorted, in the text
        if not isinstance(value, (list, tuple, np.ndarray)):
            raise _Unusual  # maybe a one-shot iterable: read it once, item by item
        for start, end, label in map(_START_END_LABEL, value):
            if (
                type(start) is not int
                or type(end) is not int
                or type(label) is not str
                or not prev_end <= start < end <= n_chars
            ):
                raise _Unusual
            starts.append(start)
            ends.append(end)
            labels.append(label)
            prev_end = end
    except (_Unusual, KeyError, TypeError, IndexError):
        starts, ends, labels = _gold_checked(value, n_chars, row)
    if "_" in "".join(labels):  # "FIRSTNAME_1" -> "FIRSTNAME"
        labels = [_INDEX_RE.sub("", label) for label in labels]
    return starts, ends, labels, [source[a:b] for a, b in zip(starts, ends, strict=True)]


class _Unusual(Exception):
    """A gold entry off the common shape: parsed again item by item, with checks."""


def _gold_checked(
    value: Iterable[Any], n_chars: int, row: int
) -> tuple[list[int], list[int], list[str]]:
    """Gold offsets and labels item by item (Spans, mappings, numpy integers), each checked,
    sorted by (start, end)."""
    try:
        items = list(value)
    except TypeError:
        raise DatasetError("gold_spans entry is not a list", row=row) from None
    bounds: list[tuple[int, int, str]] = []
    for k, item in enumerate(items):
        start, end, label = span_item(item, f"gold_spans[{row}][{k}]", row)
        if not 0 <= start < end <= n_chars:
            raise DatasetError(
                f"gold_spans[{row}][{k}] offsets {start}..{end} are outside the text", row=row
            )
        bounds.append((start, end, label))
    bounds.sort(key=_BY_START_END)
    if any(b[0] < a[1] for a, b in pairwise(bounds)):
        raise DatasetError(f"gold_spans[{row}] has overlapping spans", row=row)
    return [b[0] for b in bounds], [b[1] for b in bounds], [b[2] for b in bounds]


def span_item(item: Any, where: str, row: int) -> tuple[int, int, str]:
    """(start, end, label) of a Span or a ``{start, end, label}`` mapping; ``where`` names it."""
    if isinstance(item, Span):
        return item.start, item.end, item.label
    if not isinstance(item, Mapping):
        raise DatasetError(f"{where} is not a dict or Span", row=row)
    try:
        return int(item["start"]), int(item["end"]), str(item["label"])
    except (KeyError, TypeError, ValueError) as exc:
        raise DatasetError(f"{where} needs integer start/end and a label", row=row) from exc


def render(source: str, starts: Sequence[int], ends: Sequence[int], labels: Sequence[str]) -> str:
    """The ideal masked text: each gold span replaced by ``[LABEL]`` (sorted, no overlap)."""
    out: list[str] = []
    last = 0
    for start, end, label in zip(starts, ends, labels, strict=True):
        out.append(source[last:start])
        out.append(f"[{label}]")
        last = end
    out.append(source[last:])
    return "".join(out)


def net_row(value: Any, source: str, row: int) -> tuple[list[int], list[int]]:
    """One row of ``safety_net_spans`` (Spans or ``{start, end, label}`` dicts): sorted
    starts and ends."""
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            raise DatasetError("safety_net_spans entry is not a JSON list", row=row) from None
    if value is None:
        return [], []
    bounds: list[tuple[int, int]] = []
    for k, item in enumerate(value):
        start, end, _ = span_item(item, f"safety_net_spans[{row}][{k}]", row)
        if not 0 <= start <= end <= len(source):
            raise DatasetError(
                f"safety_net_spans[{row}][{k}] offsets {start}..{end} are outside the text",
                row=row,
            )
        bounds.append((start, end))
    bounds.sort()
    return [b[0] for b in bounds], [b[1] for b in bounds]

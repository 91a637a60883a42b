"""The safety net: runs the detectors after the model and adds the spans it missed."""

from __future__ import annotations

import threading
from bisect import bisect_left
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from itertools import accumulate
from operator import attrgetter

from .._exceptions import ConfigError
from .._types import Span

# The built-in detectors register as their modules are imported, in the order listed here:
# it is the order of DETECTORS and of a default SafetyNet's detectors (Masker cache keys
# name it). The module names sort in that order; keep it so.
from . import _addresses, _finance, _identity, _phone  # noqa: F401
from ._base import DETECTORS, Detector, get_detector

__all__ = ["SAFETY_NET_LABEL_MAPS", "SafetyNet", "SafetyNetResult", "resolve_overlaps"]

SAFETY_NET_LABEL_MAPS: Mapping[str, Mapping[str, str]] = {
    "200k": {},
    "300k": {
        "PHONENUMBER": "TEL", "DOB": "BOD", "SSN": "SOCIALNUMBER", "IPV4": "IP", "IPV6": "IP",
    },
    "400k": {
        "PHONENUMBER": "TELEPHONENUM", "DOB": "DATEOFBIRTH", "SSN": "SOCIALNUM",
        "IBAN": "ACCOUNTNUM",
    },
    "500k": {"PHONENUMBER": "TELEPHONENUM", "DOB": "DATE", "SSN": "SOCIALNUM"},
}  # fmt: skip
"""Detector label -> label of another ai4privacy version (unlisted labels stay as they are)."""


_LONG_TEXT = 20_000  # characters: far above a row, where a scan takes tens of milliseconds
_LONG_SCANS = threading.BoundedSemaphore(1)
"""Scans of long texts take turns, process-wide. A scan is pure-Python CPU work under the
GIL; with many workers scanning long documents at once, the threads that only wait on the
network would queue behind all of them for the GIL and requests would stall. Queued here,
the scans contend with those threads one at a time."""


def resolve_overlaps(spans: Iterable[Span]) -> tuple[Span, ...]:
    """Keep a non-overlapping subset: longest span first, then the earliest; sorted by start.

    Deterministic whatever the input order (ties after length and start break on end, then
    label). Spans are resolved one cluster of mutually chained overlaps at a time (a choice
    in one cluster never affects another), so the cost grows with the text, not with the
    square of the number of hits.
    """
    ordered = sorted(spans, key=_BY_START_END_LABEL)
    chosen: list[Span] = []
    i, n = 0, len(ordered)
    while i < n:
        j, reach = i + 1, ordered[i].end
        while j < n and ordered[j].start < reach:  # the cluster: chained by overlap
            reach = max(reach, ordered[j].end)
            j += 1
        chosen += _resolve_cluster(ordered[i:j]) if j - i > 1 else ordered[i:j]
        i = j
    return tuple(chosen)


_BY_START_END_LABEL = attrgetter("start", "end", "label")


def _resolve_cluster(cluster: list[Span]) -> list[Span]:
    """The greedy choice (longest first, then earliest) inside one cluster, sorted by start."""
    chosen: list[Span] = []
    for span in sorted(cluster, key=lambda s: (s.start - s.end, s.start, s.end, s.label)):
        if all(span.end <= c.start or span.start >= c.end for c in chosen):
            chosen.append(span)
    return sorted(chosen, key=_BY_START_END_LABEL)


def _free_of(spans: tuple[Span, ...], others: Iterable[Span]) -> tuple[Span, ...]:
    """The ``spans`` that overlap none of ``others`` (in O((n + m) log m))."""
    fixed = sorted(others, key=_BY_START_END_LABEL)
    if not fixed:
        return spans
    starts = [o.start for o in fixed]
    reach = list(accumulate((o.end for o in fixed), max))  # furthest end among the first k
    out = []
    for span in spans:
        k = bisect_left(starts, span.end)  # others starting before this span ends
        if k == 0 or reach[k - 1] <= span.start:  # none of them reaches into it
            out.append(span)
    return tuple(out)


@dataclass(frozen=True)
class SafetyNetResult:
    """What the safety net added to the model's spans.

    ``spans_added`` are the detector spans the model missed; ``spans`` are the model's spans
    and those, merged and sorted by offset.
    """

    spans_added: tuple[Span, ...]
    spans: tuple[Span, ...]

    @property
    def caught(self) -> int:
        """How many values the safety net caught that the model had missed."""
        return len(self.spans_added)

    @property
    def caught_by_label(self) -> dict[str, int]:
        """Caught values per label."""
        return dict(Counter(s.label for s in self.spans_added))


class SafetyNet:
    """Runs deterministic detectors after the model and adds what it missed.

    ``detectors`` are Detector instances or registered names (default: every registered
    built-in); ``labels_map`` renames emitted labels, as a mapping or a dataset version name
    of :data:`SAFETY_NET_LABEL_MAPS` ("300k", ...).
    """

    def __init__(
        self,
        detectors: Iterable[Detector | str] | None = None,
        *,
        labels_map: Mapping[str, str] | str | None = None,
    ) -> None:
        chosen = list(_BUILTIN_NAMES) if detectors is None else list(detectors)
        self.detectors: tuple[Detector, ...] = tuple(
            get_detector(d) if isinstance(d, str) else _check_detector(d) for d in chosen
        )
        if isinstance(labels_map, str):
            if labels_map not in SAFETY_NET_LABEL_MAPS:
                raise ConfigError(
                    f"unknown labels_map {labels_map!r}; known: {sorted(SAFETY_NET_LABEL_MAPS)}"
                )
            labels_map = SAFETY_NET_LABEL_MAPS[labels_map]
        self.labels_map: dict[str, str] = dict(labels_map or {})

    def __repr__(self) -> str:
        names = ", ".join(d.name for d in self.detectors)
        return f"SafetyNet(detectors=[{names}])"

    def scan(self, text: str, existing_spans: Iterable[Span] = ()) -> tuple[Span, ...]:
        """Detector spans in ``text`` that overlap none of ``existing_spans``, sorted.

        Detector hits that overlap each other are resolved longest first, then earliest.
        """
        if not isinstance(text, str):
            raise ConfigError(f"text must be a str, got {type(text).__name__}")
        if len(text) < _LONG_TEXT:
            return self._scan(text, existing_spans)
        with _LONG_SCANS:  # one long scan at a time: see _LONG_SCANS
            return self._scan(text, existing_spans)

    def _scan(self, text: str, existing_spans: Iterable[Span]) -> tuple[Span, ...]:
        found: list[Span] = []
        for detector in self.detectors:
            for span in detector.find(text):
                label = self.labels_map.get(span.label, span.label)
                found.append(span if label == span.label else Span(
                    span.start, span.end, label, span.value))  # fmt: skip
        return _free_of(resolve_overlaps(found), existing_spans)

    def apply(self, source: str, spans: Iterable[Span] = ()) -> SafetyNetResult:
        """Scan ``source`` (the ORIGINAL text) against the model's ``spans`` and merge.

        ``spans`` are offsets into ``source`` (``MaskResult.spans``).
        """
        model_spans = tuple(spans)
        for s in model_spans:
            if s.end > len(source):
                raise ConfigError(f"span {s.start}:{s.end} ({s.label}) lies outside the text")
        added = self.scan(source, model_spans)
        merged = tuple(sorted(model_spans + added, key=lambda s: (s.start, s.end, s.label)))
        return SafetyNetResult(spans_added=added, spans=merged)


def _check_detector(obj: object) -> Detector:
    if not isinstance(obj, Detector):
        kind = type(obj).__name__
        raise ConfigError(f"detectors must be Detector instances or names, got {kind}")
    return obj


_BUILTIN_NAMES: tuple[str, ...] = tuple(DETECTORS)

"""The safety net: runs the detectors after the model and adds the spans it missed."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

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


def resolve_overlaps(spans: Iterable[Span]) -> tuple[Span, ...]:
    """Keep a non-overlapping subset: longest span first, then the earliest; sorted by start.

    Deterministic whatever the input order (ties after length and start break on end, then
    label).
    """
    chosen: list[Span] = []
    for span in sorted(spans, key=lambda s: (-(s.end - s.start), s.start, s.end, s.label)):
        if all(span.end <= c.start or span.start >= c.end for c in chosen):
            chosen.append(span)
    return tuple(sorted(chosen, key=lambda s: (s.start, s.end)))


def _overlaps_any(span: Span, others: Sequence[Span]) -> bool:
    return any(span.start < o.end and o.start < span.end for o in others)


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
        found: list[Span] = []
        for detector in self.detectors:
            for span in detector.find(text):
                label = self.labels_map.get(span.label, span.label)
                found.append(span if label == span.label else Span(
                    span.start, span.end, label, span.value))  # fmt: skip
        existing = sorted(existing_spans, key=lambda s: s.start)
        return tuple(s for s in resolve_overlaps(found) if not _overlaps_any(s, existing))

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

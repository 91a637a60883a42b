"""Presidio-compatible export/import of spans."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest

from pii_gemini._exceptions import ConfigError
from pii_gemini._presidio import from_presidio, to_presidio
from pii_gemini._types import Span

TEXT = "Ann Lee, ann@x.org, +1 650-253-0000, 10.0.0.1"
SPANS = (
    Span(0, 3, "FIRSTNAME", "Ann"),
    Span(4, 7, "LASTNAME", "Lee"),
    Span(9, 18, "EMAIL", "ann@x.org"),
    Span(20, 35, "PHONENUMBER", "+1 650-253-0000"),
    Span(37, 45, "IPV4", "10.0.0.1"),
)


def test_to_presidio_maps_entities() -> None:
    out = to_presidio(SPANS, score=0.9)
    assert out == [
        {"entity_type": "PERSON", "start": 0, "end": 3, "score": 0.9},
        {"entity_type": "PERSON", "start": 4, "end": 7, "score": 0.9},
        {"entity_type": "EMAIL_ADDRESS", "start": 9, "end": 18, "score": 0.9},
        {"entity_type": "PHONE_NUMBER", "start": 20, "end": 35, "score": 0.9},
        {"entity_type": "IP_ADDRESS", "start": 37, "end": 45, "score": 0.9},
    ]
    assert [d["entity_type"] for d in to_presidio(SPANS, entity_map=None)] == [
        s.label for s in SPANS
    ]
    assert to_presidio([Span(0, 1, "EYECOLOR")])[0]["entity_type"] == "EYECOLOR"


def test_round_trip_through_presidio_dicts() -> None:
    back = from_presidio(to_presidio(SPANS), TEXT)
    assert [(s.start, s.end, s.value) for s in back] == [(s.start, s.end, s.value) for s in SPANS]
    assert [s.label for s in back] == ["PERSON", "PERSON", "EMAIL", "PHONENUMBER", "IP"]
    same = from_presidio(to_presidio(SPANS, entity_map=None), TEXT, label_map=None)
    assert same == SPANS


@dataclass
class _RecognizerResult:  # duck-typed like presidio_analyzer.RecognizerResult
    entity_type: str
    start: int
    end: int
    score: float


def test_from_presidio_accepts_objects_and_filters_scores() -> None:
    results = [
        _RecognizerResult("EMAIL_ADDRESS", 9, 18, 0.4),
        _RecognizerResult("PERSON", 0, 3, 0.85),
    ]
    spans = from_presidio(results, TEXT, min_score=0.5)
    assert spans == (Span(0, 3, "PERSON", "Ann"),)


@pytest.mark.parametrize(
    "result",
    [
        {"start": 0, "end": 3},
        {"entity_type": "", "start": 0, "end": 3},
        {"entity_type": "PERSON", "start": "0", "end": 3},
        {"entity_type": "PERSON", "start": 0, "end": 999},
        {"entity_type": "PERSON", "start": 5, "end": 3},
        object(),
    ],
)
def test_from_presidio_rejects_bad_results(result: Any) -> None:
    with pytest.raises(ConfigError, match="presidio result 0"):
        from_presidio([result], TEXT)


def test_to_presidio_rejects_bad_input() -> None:
    with pytest.raises(ConfigError, match="score"):
        to_presidio(SPANS, score=1.5)
    with pytest.raises(ConfigError, match="Span"):
        to_presidio([{"start": 0}])  # type: ignore[list-item]

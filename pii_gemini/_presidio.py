"""Presidio-compatible span export and import.

:func:`to_presidio` gives the ``RecognizerResult.to_dict()`` shape
(``entity_type``, ``start``, ``end``, ``score``) that presidio-anonymizer and other tools
accept; :func:`from_presidio` reads such results (dicts or objects) back into Spans.
Presidio itself is not needed (``pii_gemini.presidio.GeminiRecognizer`` is what needs it).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from numbers import Real
from typing import Any

from ._exceptions import ConfigError
from ._types import Span

__all__ = ["AI4PRIVACY_TO_PRESIDIO", "PRESIDIO_TO_AI4PRIVACY", "from_presidio", "to_presidio"]

AI4PRIVACY_TO_PRESIDIO: Mapping[str, str] = {
    "EMAIL": "EMAIL_ADDRESS", "PHONENUMBER": "PHONE_NUMBER", "TEL": "PHONE_NUMBER",
    "TELEPHONENUM": "PHONE_NUMBER", "CREDITCARDNUMBER": "CREDIT_CARD", "IBAN": "IBAN_CODE",
    "IP": "IP_ADDRESS", "IPV4": "IP_ADDRESS", "IPV6": "IP_ADDRESS", "URL": "URL",
    "SSN": "US_SSN", "FIRSTNAME": "PERSON", "MIDDLENAME": "PERSON", "LASTNAME": "PERSON",
    "GIVENNAME": "PERSON", "GIVENNAME1": "PERSON", "GIVENNAME2": "PERSON", "SURNAME": "PERSON",
    "LASTNAME1": "PERSON", "LASTNAME2": "PERSON", "LASTNAME3": "PERSON", "CITY": "LOCATION",
    "STATE": "LOCATION", "STREET": "LOCATION", "COUNTY": "LOCATION", "COUNTRY": "LOCATION",
    "DATE": "DATE_TIME", "DOB": "DATE_TIME", "BOD": "DATE_TIME", "DATEOFBIRTH": "DATE_TIME",
    "TIME": "DATE_TIME", "BITCOINADDRESS": "CRYPTO", "ETHEREUMADDRESS": "CRYPTO",
    "LITECOINADDRESS": "CRYPTO", "PASSPORT": "US_PASSPORT", "DRIVERLICENSE": "US_DRIVER_LICENSE",
    "MAC": "MAC_ADDRESS", "COMPANYNAME": "ORGANIZATION",
}  # fmt: skip
"""ai4privacy label -> Presidio entity type (labels not listed are exported unchanged)."""

PRESIDIO_TO_AI4PRIVACY: Mapping[str, str] = {
    "EMAIL_ADDRESS": "EMAIL", "PHONE_NUMBER": "PHONENUMBER", "CREDIT_CARD": "CREDITCARDNUMBER",
    "IBAN_CODE": "IBAN", "IP_ADDRESS": "IP", "URL": "URL", "US_SSN": "SSN", "DATE_TIME": "DATE",
}  # fmt: skip
"""Presidio entity type -> ai4privacy 200k label, only where the mapping is unambiguous
(``PERSON``, ``LOCATION`` and others stay as Presidio names)."""


def to_presidio(
    spans: Iterable[Span],
    *,
    score: float = 1.0,
    entity_map: Mapping[str, str] | None = AI4PRIVACY_TO_PRESIDIO,
) -> list[dict[str, Any]]:
    """Spans as Presidio result dicts; ``entity_map=None`` keeps ai4privacy labels."""
    score = _unit_score(score, "score")
    mapping = entity_map or {}
    out: list[dict[str, Any]] = []
    for i, span in enumerate(_iterable(spans, "spans")):
        if not isinstance(span, Span):
            raise ConfigError(f"span {i} must be a Span, got {type(span).__name__}")
        out.append(
            {
                "entity_type": mapping.get(span.label, span.label),
                "start": span.start,
                "end": span.end,
                "score": score,
            }
        )
    return out


def _unit_score(value: Any, what: str) -> float:
    """``value`` as a score in [0, 1]; ConfigError for anything else (NaN, a str, None)."""
    number = float(value) if isinstance(value, Real) and not isinstance(value, bool) else -1.0
    if not 0.0 <= number <= 1.0:
        raise ConfigError(f"{what} must be a number in [0, 1], got {type(value).__name__}")
    return number


def _iterable(values: Any, what: str) -> Iterable[Any]:
    if isinstance(values, (str, bytes)) or not isinstance(values, Iterable):
        raise ConfigError(f"{what} must be a sequence, got {type(values).__name__}")
    return values


def _field(result: Any, name: str, i: int) -> Any:
    if isinstance(result, Mapping):
        if name not in result:
            raise ConfigError(f"presidio result {i} has no {name!r}")
        return result[name]
    if not hasattr(result, name):
        raise ConfigError(f"presidio result {i} has no {name!r}")
    return getattr(result, name)


def from_presidio(
    results: Iterable[Any],
    text: str,
    *,
    label_map: Mapping[str, str] | None = PRESIDIO_TO_AI4PRIVACY,
    min_score: float = 0.0,
) -> tuple[Span, ...]:
    """Presidio results (dicts or ``RecognizerResult``-like objects) -> Spans over ``text``.

    Results scoring below ``min_score`` are dropped; ``label_map=None`` keeps Presidio
    entity names. Spans come back sorted by offset, with their values filled in.
    """
    if not isinstance(text, str):
        raise ConfigError(f"text must be a str, got {type(text).__name__}")
    min_score = _unit_score(min_score, "min_score")
    mapping = label_map or {}
    spans: list[Span] = []
    for i, result in enumerate(_iterable(results, "results")):
        entity = _field(result, "entity_type", i)
        start, end = _field(result, "start", i), _field(result, "end", i)
        if not isinstance(entity, str) or not entity:
            raise ConfigError(f"presidio result {i}: entity_type must be a non-empty str")
        if not all(isinstance(v, int) and not isinstance(v, bool) for v in (start, end)):
            raise ConfigError(f"presidio result {i}: start and end must be ints")
        if not 0 <= start <= end <= len(text):
            raise ConfigError(f"presidio result {i}: offsets {start}:{end} outside the text")
        score = (
            result.get("score", 1.0)
            if isinstance(result, Mapping)
            else getattr(result, "score", 1.0)
        )
        if score is not None and _unit_score(score, f"presidio result {i}: score") < min_score:
            continue
        spans.append(Span(start, end, mapping.get(entity, entity), text[start:end]))
    return tuple(sorted(spans, key=lambda s: (s.start, s.end, s.label)))

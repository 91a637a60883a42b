"""Value shapes: conservative per-label checks used only to split adjacent placeholders.

When a masked text has two placeholders side by side (``[CURRENCYSYMBOL][AMOUNT]`` for
``"£850"``), the literals around them do not say where one value ends and the next begins.
The aligner enumerates the possible cuts and keeps those where every value has a shape its
label allows; a unique fit is certain, anything else is flagged ambiguous.
"""

from __future__ import annotations

import re
from collections.abc import Callable

__all__ = ["clean_cut", "shape_ok"]

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


def shape_ok(label: str, value: str) -> bool:
    if not value or value[0].isspace() or value[-1].isspace():
        return False  # a PII value never starts or ends with whitespace
    check = _SHAPES.get(label)
    return True if check is None else check(value)


def clean_cut(source: str, at: int) -> bool:
    """True when a boundary at ``at`` does not cut a word (tie-breaker for a best guess)."""
    a, b = source[at - 1], source[at]
    if a.isdigit() and b.isdigit():
        return False
    return not (a.isalpha() and b.isalpha() and not (a.islower() and b.isupper()))

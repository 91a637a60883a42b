"""Value shapes: per-label checks used only to split adjacent placeholders.

When a masked text has two placeholders side by side (``[CURRENCYSYMBOL][AMOUNT]`` for
``"£850"``, ``[AGE] [GENDER]`` for ``"25 years old Male"``), the literals around them do not
say where one value ends and the next begins. The aligner enumerates the possible cuts and
keeps those where every value has a shape its label allows: a unique fit is certain, anything
else is flagged ambiguous.

A shape may only reject what a label's values never look like, so each one is written from
the value forms of the real data (ai4privacy's AGE is mostly "88 years" or "34 years old", a
TIME may be a bare hour "20" or "5 o'clock", a GENDER may be "F2M") and checked against it:
``benchmarks/check_shapes.py`` runs every shape over every value of the 1,000 real rows and
fails on a single rejection; ``tests/test_shapes.py`` does the same over the synthetic
generator's pools, which copy those forms. Labels without a shape accept any value.
"""

from __future__ import annotations

import re
from collections.abc import Callable

__all__ = ["SHAPED_LABELS", "clean_cut", "shape_ok"]

_AMOUNT_RE = re.compile(r"[.,]?\d[\d.,'\u00a0\u202f]*(?:[kKmMbB]|bn)?")
_NAME_PIECE_RE = re.compile(r"[^\W\d_][^\d_]*")
# lower-case name particles: "van der Dussen", "de la Cruz", "di Stefano"
_PARTICLES_RE = re.compile(r"(?:(?:van|von|de|di|da|del|della|der|den|du|la|le|zu|zur|vom)\s+)*")
_PREFIX_RE = re.compile(
    r"(?:Mr|Mrs|Ms|Miss|Mx|Dr|Prof|Sir|Madam|Mme|Mlle|Mrs|M|Pr|Herr|Frau|Sig|Sig\.ra|Dott"
    r"|Dott\.ssa|Rev)\.?",
    re.IGNORECASE,
)
_DIGITS_RE = re.compile(r"\d+[A-Za-z]?(?:[-/]\d+[A-Za-z]?)?")  # "12", "12b", "13-16", "10/87"
_ONLY_DIGITS_RE = re.compile(r"\d+")
_NUMBER_RE = re.compile(r"\d(?:[\d \-]*\d)?")  # digits, maybe grouped by spaces or dashes
# "72", "88 years", "34 years old", "5 yrs", "5 y/o"; fr "25 ans", de "25 Jahre", it "25 anni"
_AGE_RE = re.compile(
    r"\d{1,3}(?:[ -]?(?:years?|yrs?|y/?o|ans|Jahre|anni)(?:[ -](?:old|alt))?)?", re.IGNORECASE
)
# "10:18 PM", "2:48am", "14:55", "21.07", "4 PM", a bare hour "20", "5 o'clock", "15 Uhr", "9h"
_TIME_RE = re.compile(
    r"\d{1,2}(?:[:.h]\d{2}){1,2}(?:\s?[AaPp]\.?[Mm]\.?)?"
    r"|\d{1,2}(?:\s?[AaPp]\.?[Mm]\.?|\s?o'clock|\s?Uhr|\s?h)?"
)


def _no_digit_no_space(v: str) -> bool:
    return not any(ch.isdigit() or ch.isspace() for ch in v) and len(v) <= 4


def _name(v: str) -> bool:
    if not v[0].isupper():
        particles = _PARTICLES_RE.match(v)
        at = particles.end() if particles is not None else 0
        if at == 0 or at == len(v) or not v[at].isupper():
            return False
    return _NAME_PIECE_RE.fullmatch(v) is not None


def _capitalised(v: str) -> bool:
    return v[0].isupper()


def _has_digit(v: str) -> bool:
    return any(ch.isdigit() for ch in v)


def _no_digit(v: str) -> bool:
    return not any(ch.isdigit() for ch in v)


def _fullmatch(rx: re.Pattern[str]) -> Callable[[str], bool]:
    return lambda v: rx.fullmatch(v) is not None


_SHAPES: dict[str, Callable[[str], bool]] = {
    "ACCOUNTNAME": _no_digit,
    "ACCOUNTNUMBER": _fullmatch(_NUMBER_RE),
    "AGE": _fullmatch(_AGE_RE),
    "AMOUNT": _fullmatch(_AMOUNT_RE),
    "BUILDING": _fullmatch(_DIGITS_RE),
    "BUILDINGNUM": _fullmatch(_DIGITS_RE),
    "BUILDINGNUMBER": _fullmatch(_DIGITS_RE),
    "CITY": _no_digit,
    "COUNTY": _no_digit,
    "CREDITCARDCVV": _fullmatch(_ONLY_DIGITS_RE),
    "CREDITCARDISSUER": _no_digit,
    "CREDITCARDNUMBER": _has_digit,
    "CURRENCY": _no_digit,
    "CURRENCYCODE": _fullmatch(re.compile(r"[A-Z]{3}")),
    "CURRENCYNAME": _no_digit,
    "CURRENCYSYMBOL": _no_digit_no_space,
    "DATE": _has_digit,
    "DOB": _has_digit,
    "EMAIL": lambda v: "@" in v,
    "EYECOLOR": _no_digit,
    "FIRSTNAME": _name,
    "GENDER": _capitalised,
    "GIVENNAME": _name,
    "GIVENNAME1": _name,
    "GIVENNAME2": _name,
    "HEIGHT": _has_digit,
    "JOBAREA": _no_digit,
    "JOBTITLE": _no_digit,
    "JOBTYPE": _no_digit,
    "LASTNAME": _name,
    "LASTNAME1": _name,
    "LASTNAME2": _name,
    "LASTNAME3": _name,
    "MASKEDNUMBER": _has_digit,
    "MIDDLENAME": _name,
    "ORDINALDIRECTION": _no_digit,
    "PHONEIMEI": _has_digit,
    "PHONENUMBER": _has_digit,
    "PIN": _fullmatch(_ONLY_DIGITS_RE),
    "POSTCODE": _has_digit,
    "PREFIX": _fullmatch(_PREFIX_RE),
    "SECONDARYADDRESS": _has_digit,
    "SEX": _no_digit,
    "STATE": _no_digit,
    "STREET": _no_digit,
    "SURNAME": _name,
    "TEL": _has_digit,
    "TIME": _fullmatch(_TIME_RE),
    "TITLE": _fullmatch(_PREFIX_RE),
    "ZIPCODE": _has_digit,
}

SHAPED_LABELS: frozenset[str] = frozenset(_SHAPES)
"""The labels whose values have a shape (every other label accepts any value)."""


def shape_ok(label: str, value: str) -> bool:
    """True when ``value`` may be a value of ``label`` (never starts or ends with a space)."""
    if not value or value[0].isspace() or value[-1].isspace():
        return False
    check = _SHAPES.get(label)
    return True if check is None else check(value)


def clean_cut(source: str, at: int) -> bool:
    """True when a boundary at ``at`` does not cut a word (tie-breaker for a best guess)."""
    a, b = source[at - 1], source[at]
    if a.isdigit() and b.isdigit():
        return False
    return not (a.isalpha() and b.isalpha() and not (a.islower() and b.isupper()))

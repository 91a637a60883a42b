"""Detectors of identity numbers and dates: VIN, US SSN and date of birth.

Where the value alone proves little (a VIN without a check digit, nine bare digits, a
date), a cue word shortly before it decides.
"""

from __future__ import annotations

import datetime as _dt
import re
from collections.abc import Iterator

from .._checksums import vin_check_digit_valid
from .._types import Span
from ._base import Detector, RegexDetector, register_detector

__all__ = ["DateOfBirthDetector", "SsnDetector", "VinDetector"]


def _cue_before(cue: re.Pattern[str], text: str, start: int, window: int) -> bool:
    """True when ``cue`` matches in the ``window`` characters before ``start``."""
    return cue.search(text, max(0, start - window), start) is not None


_VIN_CUE = re.compile(r"(?i)\b(?:VIN|vehicle identification(?: number)?|chassis(?: number)?)\b")


@register_detector
class VinDetector(RegexDetector):
    """Vehicle identification numbers: 17 characters without I, O, Q, with letters and digits.

    Reported when the ISO 3779 check digit (9th character, used by North American VINs)
    is right, or - for VINs without a check digit (most of Europe, Asia) - when a cue such
    as "VIN" or "chassis number" comes within ``cue_window`` characters before it.
    """

    name = "vin"
    label = "VEHICLEVIN"
    pattern = re.compile(r"(?<![A-Za-z0-9])[A-HJ-NPR-Z0-9]{17}(?![A-Za-z0-9])")

    def __init__(self, *, cue_window: int = 40) -> None:
        self.cue_window = cue_window

    def validate(self, value: str, text: str, start: int) -> bool:
        if value.isdigit() or value.isalpha():
            return False
        if vin_check_digit_valid(value):
            return True
        return _cue_before(_VIN_CUE, text, start, self.cue_window)


_SSN_CUE = re.compile(r"(?i)\b(?:SSN|social security(?: number| no\.?| #)?|SS#)")


def _ssn_parts_valid(area: str, group: str, serial: str) -> bool:
    """US SSN rules: area not 000, 666 or 9xx; group not 00; serial not 0000."""
    return (
        not (area in ("000", "666") or area[0] == "9" or group == "00" or serial == "0000")
        and f"{area}{group}{serial}" not in _SSN_ADVERTISED
    )


_SSN_ADVERTISED = frozenset({"078051120", "219099999", "123456789"})  # famous invalid ones


@register_detector
class SsnDetector(RegexDetector):
    """US Social Security numbers ``AAA-GG-SSSS`` (or spaced) under the SSA rules: area not
    000/666/9xx, group not 00, serial not 0000, not a well-known advertised number. Nine
    digits without separators are reported only after a cue ("SSN", "social security").
    """

    name = "ssn"
    label = "SSN"
    pattern = re.compile(r"(?<![\w-])(?:\d{3}([- ])\d{2}\1\d{4}|\d{9})(?![\w]|-\d)")

    def __init__(self, *, cue_window: int = 30) -> None:
        self.cue_window = cue_window

    def validate(self, value: str, text: str, start: int) -> bool:
        digits = value.replace("-", "").replace(" ", "")
        if not _ssn_parts_valid(digits[:3], digits[3:5], digits[5:]):
            return False
        return len(value) == 11 or _cue_before(_SSN_CUE, text, start, self.cue_window)


_MONTHS: dict[str, int] = {}
for _num, _names in enumerate(
    (
        "january jan janvier janv januar jän gennaio genn",
        "february feb février fevrier févr fevr februar febbraio febb",
        "march mar mars märz maerz marzo",
        "april apr avril avr aprile",
        "may mai maggio mag",
        "june jun juin juni giugno giu",
        "july jul juillet juil juli luglio lug",
        "august aug août aout agosto ago",
        "september sep sept septembre settembre sett",
        "october oct octobre oktober okt ottobre ott",
        "november nov novembre",
        "december dec décembre decembre déc dezember dez dicembre dic",
    ),
    start=1,
):
    for _name in _names.split():
        _MONTHS[_name] = _num
_MONTH_RE = "|".join(sorted((re.escape(m) for m in _MONTHS), key=len, reverse=True))

_DOB_CUE = re.compile(
    r"(?i)(?:\bborn\b|birth|\bd\.?o\.?b\b|\bné(?:e|\(e\))?\b|\bnaissance\b|\bgeboren\b"
    r"|\bgeb\.|\bgeburts|\bnat[oa]\b|\bnascita\b)"
)
_DATE_RE = re.compile(
    r"(?i)(?<![\w/.-])(?:"
    r"(?P<y1>\d{4})[-/.](?P<m1>\d{1,2})[-/.](?P<d1>\d{1,2})"
    r"|(?P<a2>\d{1,2})(?P<sep>[-/.])(?P<b2>\d{1,2})(?P=sep)(?P<y2>\d{4}|\d{2})"
    rf"|(?P<d3>\d{{1,2}})(?:st|nd|rd|th|er)?\.?\s+(?:of\s+)?(?P<m3>{_MONTH_RE})\.?,?\s+(?P<y3>\d{{4}})"
    rf"|(?P<m4>{_MONTH_RE})\.?\s+(?P<d4>\d{{1,2}})(?:st|nd|rd|th)?,?\s+(?P<y4>\d{{4}})"
    r")(?![\w/]|[-.]\d)"
)


def _real_date(year: int, month: int, day: int, min_year: int) -> bool:
    if year < 100:
        year += 1900 if year > _dt.date.today().year % 100 else 2000
    if not min_year <= year <= _dt.date.today().year:
        return False
    try:
        _dt.date(year, month, day)
    except ValueError:
        return False
    return True


@register_detector
class DateOfBirthDetector(Detector):
    """Dates of birth: a real calendar date (year ``min_year``..today) within ``cue_window``
    characters after a birth cue - "born", "birth", "DOB", "né le", "naissance", "geboren",
    "geb.", "nato/nata", "nascita". Numeric dates may be day- or month-first (valid if either
    reading is a real date), ISO ``YYYY-MM-DD``, or with an English/French/German/Italian
    month name. Dates without a cue are not reported: most dates are not birthdays.
    """

    name = "dob"
    label = "DOB"

    def __init__(self, *, cue_window: int = 40, min_year: int = 1875) -> None:
        self.cue_window = cue_window
        self.min_year = min_year

    def _date_valid(self, m: re.Match[str]) -> bool:
        g = m.groupdict()
        if g["y1"]:
            return _real_date(int(g["y1"]), int(g["m1"]), int(g["d1"]), self.min_year)
        if g["y2"]:
            a, b, y = int(g["a2"]), int(g["b2"]), int(g["y2"])
            return _real_date(y, b, a, self.min_year) or _real_date(y, a, b, self.min_year)
        if g["y3"]:
            month = _MONTHS[g["m3"].lower()]
            return _real_date(int(g["y3"]), month, int(g["d3"]), self.min_year)
        month = _MONTHS[g["m4"].lower()]
        return _real_date(int(g["y4"]), month, int(g["d4"]), self.min_year)

    def candidates(self, text: str) -> Iterator[Span]:
        for m in _DATE_RE.finditer(text):
            yield Span(m.start(), m.end(), self.label, m.group())

    def find(self, text: str) -> Iterator[Span]:
        for m in _DATE_RE.finditer(text):
            if self._date_valid(m) and _cue_before(_DOB_CUE, text, m.start(), self.cue_window):
                yield Span(m.start(), m.end(), self.label, m.group())

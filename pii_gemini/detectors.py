"""Deterministic PII detectors: the safety net that runs after the model.

A fine-tuned model still misses values. Each :class:`Detector` finds one kind of PII with a
regular expression and then *validates* every candidate (checksums, ranges, calendars), so
that what it reports is very likely real. :class:`SafetyNet` runs a set of detectors over a
source text and returns only the spans the model did not already cover.

    >>> net = SafetyNet()
    >>> result = net.apply("Mail jane@example.org", [])
    >>> [(s.label, s.start, s.end) for s in result.spans_added]
    [('EMAIL', 5, 21)]

Labels are ai4privacy 200k names (``EMAIL``, ``PHONENUMBER``, ...); ``labels_map`` renames
them, e.g. to another dataset version's vocabulary (see :data:`SAFETY_NET_LABEL_MAPS`).
"""

from __future__ import annotations

import datetime as _dt
import ipaddress
import re
from abc import ABC, abstractmethod
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import ClassVar, TypeVar

from ._checksums import (
    IBAN_LENGTHS,
    base58check_valid,
    bech32_address_valid,
    eip55_valid,
    iban_valid,
    luhn_valid,
    vin_check_digit_valid,
)
from ._exceptions import ConfigError
from ._types import Span

__all__ = [
    "DETECTORS",
    "SAFETY_NET_LABEL_MAPS",
    "BitcoinDetector",
    "CreditCardDetector",
    "DateOfBirthDetector",
    "Detector",
    "EmailDetector",
    "EthereumDetector",
    "IPv4Detector",
    "IPv6Detector",
    "IbanDetector",
    "MacDetector",
    "PhoneDetector",
    "RegexDetector",
    "SafetyNet",
    "SafetyNetResult",
    "SsnDetector",
    "UrlDetector",
    "VinDetector",
    "get_detector",
    "register_detector",
    "resolve_overlaps",
]


class Detector(ABC):
    """Finds one kind of PII in a text.

    Subclasses set ``name`` (registry key) and ``label`` (the ai4privacy label they emit) and
    implement :meth:`find`. Spans carry offsets into the text given and its value.
    """

    name: ClassVar[str]
    label: ClassVar[str]

    @abstractmethod
    def find(self, text: str) -> Iterable[Span]:
        """Yield validated spans, in any order; overlaps are resolved by the caller."""

    def candidates(self, text: str) -> Iterable[Span]:
        """Spans the pattern alone matches, before validation (for comparisons/benchmarks)."""
        return self.find(text)

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"


class RegexDetector(Detector):
    """A detector made of a compiled ``pattern`` and a ``validate`` check per match."""

    pattern: ClassVar[re.Pattern[str]]

    def bounds(self, match: re.Match[str]) -> tuple[int, int]:
        """The span of a match; override to trim (group 0 by default)."""
        return match.span()

    def validate(self, value: str, text: str, start: int) -> bool:
        """True when the candidate ``value`` found at ``start`` in ``text`` is real PII."""
        return True

    def candidates(self, text: str) -> Iterator[Span]:
        pos = 0
        while (m := self.pattern.search(text, pos)) is not None:
            start, end = self.bounds(m)
            if end > start:
                yield Span(start, end, self.label, text[start:end])
            # resume after the kept part: a trimmed match may hide the next candidate
            pos = end if end > m.start() else m.start() + 1

    def find(self, text: str) -> Iterator[Span]:
        for span in self.candidates(text):
            if self.validate(span.value, text, span.start):
                yield span


DETECTORS: dict[str, type[Detector]] = {}
"""Registry: detector name -> class. Add your own with :func:`register_detector`."""

_D = TypeVar("_D", bound=type[Detector])


def register_detector(cls: _D) -> _D:
    """Register a Detector subclass under its ``name`` (usable as a class decorator)."""
    if not (isinstance(cls, type) and issubclass(cls, Detector)):
        raise ConfigError("register_detector expects a Detector subclass")
    name = getattr(cls, "name", None)
    if not isinstance(name, str) or not name:
        raise ConfigError(f"detector class {cls.__name__} needs a non-empty 'name'")
    if not isinstance(getattr(cls, "label", None), str) or not cls.label:
        raise ConfigError(f"detector class {cls.__name__} needs a non-empty 'label'")
    DETECTORS[name] = cls
    return cls


def get_detector(name: str) -> Detector:
    """A default-configured instance of the registered detector ``name``."""
    try:
        return DETECTORS[name]()
    except KeyError:
        raise ConfigError(
            f"unknown detector {name!r}; known: {', '.join(sorted(DETECTORS))}"
        ) from None


def _cue_before(cue: re.Pattern[str], text: str, start: int, window: int) -> bool:
    """True when ``cue`` matches in the ``window`` characters before ``start``."""
    return cue.search(text, max(0, start - window), start) is not None


# --- network -----------------------------------------------------------------------------


@register_detector
class EmailDetector(RegexDetector):
    """E-mail addresses with an ASCII local part and a dotted domain with a letter TLD.

    Validates RFC 5321 lengths (local <= 64, total <= 254, labels <= 63), no empty or
    hyphen-edged domain label and no leading/trailing/double dot in the local part.
    """

    name = "email"
    label = "EMAIL"
    pattern = re.compile(
        r"(?<![\w.%+-])[A-Za-z0-9._%+-]+@(?:[A-Za-z0-9-]+\.)+[A-Za-z]{2,63}(?![\w-]|\.\w)"
    )

    def validate(self, value: str, text: str, start: int) -> bool:
        local, _, domain = value.rpartition("@")
        if len(value) > 254 or not 0 < len(local) <= 64:
            return False
        if local[0] == "." or local[-1] == "." or ".." in local:
            return False
        return all(
            0 < len(lab) <= 63 and lab[0] != "-" and lab[-1] != "-" for lab in domain.split(".")
        )


_TRAILING_PUNCT = ".,;:!?'\"*"


def _trim_url_end(value: str) -> int:
    """Length of ``value`` without trailing punctuation and unbalanced closing brackets."""
    end = len(value)
    while end:
        ch = value[end - 1]
        if ch in _TRAILING_PUNCT:
            end -= 1
        elif ch in ")]}":
            opener = {")": "(", "]": "[", "}": "{"}[ch]
            if value.count(opener, 0, end) < value.count(ch, 0, end):
                end -= 1
            else:
                break
        else:
            break
    return end


@register_detector
class UrlDetector(RegexDetector):
    """URLs starting with ``http://``, ``https://``, ``ftp://`` or ``www.``.

    Trailing punctuation and unbalanced brackets are trimmed; the host must be a domain with
    a letter TLD, an IP address or ``localhost``, and a port must be in range. Bare domains
    (``example.com``) are not reported: too many file names look the same.
    """

    name = "url"
    label = "URL"
    pattern = re.compile(r"(?i)\b(?:(?:https?|ftp)://|www\.)[^\s<>\"'`|\\^{}]+")
    _host = re.compile(r"(?i)(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}\.?")

    def bounds(self, match: re.Match[str]) -> tuple[int, int]:
        return match.start(), match.start() + _trim_url_end(match.group())

    def validate(self, value: str, text: str, start: int) -> bool:
        from urllib.parse import urlsplit

        url = value if "://" in value else "http://" + value
        try:
            parts = urlsplit(url)
            host = parts.hostname
            _ = parts.port  # raises ValueError when out of range / not a number
        except ValueError:
            return False
        if not host:
            return False
        if host == "localhost" or self._host.fullmatch(host):
            return True
        try:
            ipaddress.ip_address(host)
        except ValueError:
            return False
        return True


@register_detector
class IPv4Detector(RegexDetector):
    """Dotted-quad IPv4 addresses: four octets 0-255 without leading zeros.

    A letter or dot right before it (``v1.2.3.4``, ``1.1.2.3.4``) rules it out, which skips
    most version strings; a bare ``1.2.3.4`` version number is still reported.
    """

    name = "ipv4"
    label = "IPV4"
    pattern = re.compile(r"(?<![\w.])(?:\d{1,3}\.){3}\d{1,3}(?!\w|\.\d)")

    def validate(self, value: str, text: str, start: int) -> bool:
        try:
            ipaddress.IPv4Address(value)
        except ValueError:
            return False
        return True


@register_detector
class IPv6Detector(RegexDetector):
    """IPv6 addresses, validated by :class:`ipaddress.IPv6Address` (``::`` and embedded IPv4).

    To skip times and code (``12:30:45``, ``a::b``) at least two groups must be non-empty and
    one of them at least three hex digits long. Zone ids (``%eth0``) are not included.
    """

    name = "ipv6"
    label = "IPV6"
    pattern = re.compile(
        r"(?<![\w:.])(?:[0-9A-Fa-f]{0,4}:){2,7}(?:(?:\d{1,3}\.){3}\d{1,3}|[0-9A-Fa-f]{0,4})"
        r"(?![\w:]|\.\w)"
    )

    def validate(self, value: str, text: str, start: int) -> bool:
        groups = [g for g in re.split(r"[:.]", value) if g]
        if len(groups) < 2 or max(len(g) for g in groups) < 3:
            return False
        try:
            ipaddress.IPv6Address(value)
        except ValueError:
            return False
        return True


@register_detector
class MacDetector(RegexDetector):
    """MAC-48 addresses: six hex pairs joined by one consistent ``:`` or ``-``, or Cisco
    ``xxxx.xxxx.xxxx``. The pattern is the validation (there is no checksum); longer
    colon-separated hex runs (IPv6) are excluded by the boundaries.
    """

    name = "mac"
    label = "MAC"
    pattern = re.compile(
        r"(?<![\w:.-])(?:[0-9A-Fa-f]{2}([:-])(?:[0-9A-Fa-f]{2}\1){4}[0-9A-Fa-f]{2}"
        r"|[0-9A-Fa-f]{4}\.[0-9A-Fa-f]{4}\.[0-9A-Fa-f]{4})(?![\w:-]|\.\w)"
    )

    def validate(self, value: str, text: str, start: int) -> bool:
        return any(ch.isdigit() for ch in value)  # "face.bead.cafe" is a word game


# --- finance -----------------------------------------------------------------------------


@register_detector
class IbanDetector(RegexDetector):
    """IBANs, compact or in groups of four: known country, exact country length, mod-97 = 1.

    The match is cut at the country's length, so an upper-case word after the IBAN is not
    swallowed. Lower-case IBANs are not reported.
    """

    name = "iban"
    label = "IBAN"
    pattern = re.compile(r"(?<![A-Za-z0-9])[A-Z]{2}\d{2}(?: ?[A-Z0-9]){10,30}")

    def bounds(self, match: re.Match[str]) -> tuple[int, int]:
        value = match.group()
        length = IBAN_LENGTHS.get(value[:2])
        if length is None:
            return match.start(), match.start()
        seen = 0
        for i, ch in enumerate(value):
            if ch != " ":
                seen += 1
                if seen == length:
                    end = match.start() + i + 1
                    text = match.string
                    if end < len(text) and text[end].isalnum():
                        break  # the IBAN would continue without a space: not this length
                    return match.start(), end
        return match.start(), match.start()

    def validate(self, value: str, text: str, start: int) -> bool:
        return iban_valid(value.replace(" ", ""))


# (prefix ranges, allowed lengths) per card scheme; prefixes compared on the leading digits.
_CARD_RULES: tuple[tuple[tuple[tuple[int, int], ...], frozenset[int]], ...] = (
    (((4, 4),), frozenset({13, 16, 19})),  # Visa
    (((51, 55), (2221, 2720)), frozenset({16})),  # Mastercard
    (((34, 34), (37, 37)), frozenset({15})),  # American Express
    (((6011, 6011), (644, 649), (65, 65)), frozenset({16, 17, 18, 19})),  # Discover
    (((3528, 3589),), frozenset({16, 17, 18, 19})),  # JCB
    (((300, 305), (36, 36), (38, 39)), frozenset({14, 15, 16, 17, 18, 19})),  # Diners
    (((62, 62),), frozenset({16, 17, 18, 19})),  # UnionPay
    (((50, 50), (56, 69)), frozenset({12, 13, 14, 15, 16, 17, 18, 19})),  # Maestro
    (((2200, 2204),), frozenset({16, 17, 18, 19})),  # Mir
)


def _card_prefix_ok(digits: str) -> bool:
    for ranges, lengths in _CARD_RULES:
        if len(digits) not in lengths:
            continue
        for lo, hi in ranges:
            width = len(str(lo))
            if lo <= int(digits[:width]) <= hi:
                return True
    return False


@register_detector
class CreditCardDetector(RegexDetector):
    """Payment card numbers: 12-19 digits (optionally grouped by one kind of separator,
    space or hyphen), a known scheme prefix for that length, and the Luhn checksum.
    """

    name = "credit_card"
    label = "CREDITCARDNUMBER"
    pattern = re.compile(r"(?<![\w+-])\d(?:[ -]?\d){11,18}(?![\w]|-\d)")

    def validate(self, value: str, text: str, start: int) -> bool:
        seps = {ch for ch in value if not ch.isdigit()}
        if len(seps) > 1:
            return False
        digits = value.replace(" ", "").replace("-", "")
        return _card_prefix_ok(digits) and luhn_valid(digits)


@register_detector
class BitcoinDetector(RegexDetector):
    """Bitcoin mainnet addresses: Base58Check ``1...``/``3...`` (25 bytes, version 0 or 5,
    double-SHA-256 checksum) and ``bc1...`` segwit (Bech32 for v0, Bech32m for v1+).
    """

    name = "bitcoin"
    label = "BITCOINADDRESS"
    pattern = re.compile(
        r"(?<![A-Za-z0-9])(?:[13][1-9A-HJ-NP-Za-km-z]{24,33}|(?:bc|BC)1[02-9ac-hj-np-zAC-HJ-NP-Z]{6,87})"
        r"(?![A-Za-z0-9])"
    )

    def validate(self, value: str, text: str, start: int) -> bool:
        if value[:3].lower() == "bc1":
            return bech32_address_valid(value)
        return base58check_valid(value)


@register_detector
class EthereumDetector(RegexDetector):
    """Ethereum addresses ``0x`` + 40 hex digits. All-lower and all-upper are accepted as is;
    mixed case must carry a valid EIP-55 checksum (Keccak-256, see ``_checksums``).
    """

    name = "ethereum"
    label = "ETHEREUMADDRESS"
    pattern = re.compile(r"(?<![A-Za-z0-9])0x[0-9A-Fa-f]{40}(?![A-Za-z0-9])")

    def validate(self, value: str, text: str, start: int) -> bool:
        return eip55_valid(value)


# --- identity ----------------------------------------------------------------------------

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


# --- phone -------------------------------------------------------------------------------

_DEFAULT_REGIONS = ("US", "GB", "FR", "DE", "IT")  # the ai4privacy 200k languages' countries
_PHONE_CANDIDATE = re.compile(r"(?<![\w+])\+?\(?\d[\d\s().-]{5,}\d(?!\w)")


# libphonenumber accepts some bare 4-5 digit runs as (German) numbers, e.g. "1640"; in
# prose those are case or row numbers, and no full phone number is that short.
_MIN_PHONE_DIGITS = 7


@register_detector
class PhoneDetector(Detector):
    """Phone numbers found and validated by Google's libphonenumber (``phonenumbers``).

    ``PhoneNumberMatcher`` with leniency ``VALID`` is run once per region in ``regions``
    (numbers with a ``+country`` prefix are found whatever the region); a number must be a
    valid, allocated number of its country with at least 7 digits, so random digit runs
    and short case numbers are rejected.
    """

    name = "phone"
    label = "PHONENUMBER"

    def __init__(self, *, regions: Sequence[str] = _DEFAULT_REGIONS) -> None:
        import phonenumbers

        if isinstance(regions, str) or not regions:
            raise ConfigError("regions must be a non-empty sequence of region codes like 'US'")
        supported = phonenumbers.SUPPORTED_REGIONS
        bad = [r for r in regions if r not in supported]
        if bad:
            raise ConfigError(f"unknown phone region code(s): {', '.join(map(str, bad))}")
        self.regions = tuple(regions)

    def __repr__(self) -> str:
        return f"PhoneDetector(regions={self.regions!r})"

    def candidates(self, text: str) -> Iterator[Span]:
        for m in _PHONE_CANDIDATE.finditer(text):
            yield Span(m.start(), m.end(), self.label, m.group())

    def find(self, text: str) -> Iterator[Span]:
        import phonenumbers

        if sum(ch.isdigit() for ch in text) < _MIN_PHONE_DIGITS:
            return  # no hit could be long enough: skip libphonenumber, the slowest detector
        seen: set[tuple[int, int]] = set()
        for region in self.regions:
            matcher = phonenumbers.PhoneNumberMatcher(
                text, region, leniency=phonenumbers.Leniency.VALID
            )
            for match in matcher:
                key = (match.start, match.end)
                digits = sum(ch.isdigit() for ch in match.raw_string)
                if key not in seen and digits >= _MIN_PHONE_DIGITS:
                    seen.add(key)
                    yield Span(match.start, match.end, self.label, match.raw_string)


# --- the safety net ----------------------------------------------------------------------

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

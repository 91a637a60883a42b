"""The phone-number detector, over Google's libphonenumber (``phonenumbers``).

libphonenumber's ``PhoneNumberMatcher`` scans a whole text once per region and tries to parse
every digit group it meets, a few times over (whole candidate, then inner groups). That is
slow on ordinary prose (dates, amounts and ids all get parsed five times) and it gives up
after 65,535 failed candidates, so a long text is neither scanned in linear time nor to its
end. Here one linear regex pass first finds *candidate windows*: runs of digits and the
punctuation libphonenumber allows between them, with a trailing extension (``x42917``,
``ext. 42``) kept. Only windows with at least 7 digits are handed, with a few characters of
context, to one matcher that tries every region on each candidate it extracts; a region whose
number lengths cannot fit the candidate's digits is not parsed at all.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from functools import cache, lru_cache
from typing import Any

from .._exceptions import ConfigError
from .._types import Span
from ._base import Detector, register_detector

__all__ = ["PhoneDetector"]

_DEFAULT_REGIONS = ("US", "GB", "FR", "DE", "IT")  # the ai4privacy 200k languages' countries

# libphonenumber accepts some bare 4-5 digit runs as (German) numbers, e.g. "1640"; in
# prose those are case or row numbers, and no full phone number is that short.
_MIN_PHONE_DIGITS = 7

# What libphonenumber allows between digit groups (its VALID_PUNCTUATION) plus whitespace:
# a window is a maximal run of digits joined by these. Every character class here excludes
# digits, so the regex matches in linear time.
_JOINERS = (
    "\\-x\u2010-\u2015\u2212\u30fc\uff0d-\uff0f \u00a0\u00ad\u200b\u2060\u3000"
    "()\uff08\uff09\uff3b\uff3d.\\[\\]/~\u2053\u223c\uff5e\\s"
)
_LEADS = "+\uff0b(\\[\uff08\uff3b"  # a plus or an opening bracket may start a number
_EXTENSION = (  # "x42917", "ext. 42", "extension 7", "#12", ";ext=3" - kept in the window
    r"(?:[ \t]*[,;]?[ \t]*(?:e?xt(?:n|ension)?\.?=?|\#|~|anexo|доб\.?)[ \t:.]*\d{1,7})?"
)
_WINDOW = re.compile(rf"[{_LEADS}]*\d(?:[{_JOINERS}]*\d)*{_EXTENSION}", re.IGNORECASE)
_CONTEXT_BEFORE = 1  # the matcher rejects a number glued to a letter or currency sign
_CONTEXT_AFTER = 4  # ... or followed by a letter, or by ":30" (a time stamp)
_PLUS = frozenset("+\uff0b")
_DOTTED_QUAD = re.compile(r"\d{1,3}(?:\.\d{1,3}){3}[.\s]*")  # an IPv4 address, not a phone


@register_detector
class PhoneDetector(Detector):
    """Phone numbers found and validated by Google's libphonenumber (``phonenumbers``).

    A number is reported when it parses, at leniency ``VALID``, as a valid, allocated number
    of one of ``regions`` (numbers with a ``+country`` prefix whatever the region) and has at
    least 7 digits, so random digit runs and short case numbers are rejected. Extensions
    (``x42917``, ``ext. 42``) are part of the span.
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
        for m in _WINDOW.finditer(text):
            if _digits(m.group()) >= _MIN_PHONE_DIGITS:
                yield Span(m.start(), m.end(), self.label, m.group())

    def find(self, text: str) -> Iterator[Span]:
        seen: set[tuple[int, int]] = set()
        matcher = _matcher_class()
        for window in _windows(text):
            lo = max(0, window.start() - _CONTEXT_BEFORE)
            hi = window.end() + _CONTEXT_AFTER
            for match in matcher(text[lo:hi], self.regions):
                start, end = lo + match.start, lo + match.end
                if (start, end) not in seen and _digits(match.raw_string) >= _MIN_PHONE_DIGITS:
                    seen.add((start, end))
                    yield Span(start, end, self.label, match.raw_string)


def _digits(text: str) -> int:
    return sum(map(str.isdigit, text))


def _windows(text: str) -> Iterator[re.Match[str]]:
    """The candidate windows of ``text``: digit runs (with an extension) of 7+ digits, except
    dotted quads (IPv4 addresses, the IPv4 detector's; libphonenumber parses many of them)."""
    if _digits(text) < _MIN_PHONE_DIGITS:
        return  # no window can be long enough (the common case: skip the regex too)
    for m in _WINDOW.finditer(text):
        if _digits(m.group()) >= _MIN_PHONE_DIGITS and not _DOTTED_QUAD.fullmatch(m.group()):
            yield m


@cache
def _length_rule(region: str) -> tuple[re.Pattern[str], frozenset[int]] | None:
    """(international dialling prefix, digit counts a national number read in ``region`` can
    have as written, with or without its national prefix), or None when the metadata cannot
    tell (a national prefix that is a pattern: then every candidate is parsed). The lengths
    are those of every region sharing the country code: validity is checked across them."""
    from phonenumbers import COUNTRY_CODE_TO_REGION_CODE, PhoneMetadata

    meta = PhoneMetadata.metadata_for_region(region)
    if meta is None or meta.country_code is None:
        return None
    lengths: set[int] = set()  # a number is valid if any region of its country code has it
    for sibling in COUNTRY_CODE_TO_REGION_CODE.get(meta.country_code, (region,)):
        desc = getattr(PhoneMetadata.metadata_for_region(sibling), "general_desc", None)
        lengths.update(getattr(desc, "possible_length", None) or ())
    prefix = meta.national_prefix_for_parsing or ""
    if not lengths or not re.fullmatch(r"(?:\d+(?:\|\d+)*)?", prefix):
        return None
    prefixes = {0, *(len(p) for p in prefix.split("|") if p)}
    allowed = frozenset(n + p for n in lengths for p in prefixes)
    return re.compile(meta.international_prefix or "(?!)"), allowed


def _regions_for(candidate: str, regions: tuple[str, ...]) -> tuple[str, ...]:
    """The regions worth parsing ``candidate`` for.

    A number written with a plus carries its country: one region parses it like any other
    (unless a dialling prefix follows the plus, as in ``+0044``, which each region reads its
    own way).
    A national number is parsed only for regions whose numbers can have its digit count;
    candidates with an extension or an international dialling prefix are parsed for all.
    """
    digits = "".join(ch for ch in candidate if ch.isdigit())
    for ch in candidate:
        if ch in _PLUS:  # no country code starts with 0: "+0044" is read with the IDD
            return regions[:1] if digits[:1] != "0" else regions
        if ch.isdigit():
            break
    if not digits.isascii() or any(ch.isalpha() or ch in "#~" for ch in candidate):
        return regions
    kept = []
    for region in regions:
        rule = _length_rule(region)
        if rule is None or len(digits) in rule[1] or rule[0].match(digits):
            kept.append(region)
    return tuple(kept)


@lru_cache(maxsize=1)
def _matcher_class() -> Any:
    """A ``PhoneNumberMatcher`` that tries every region on each candidate it extracts.

    Candidate extraction (the regex, inner groups, the checks on neighbouring characters) does
    not depend on the region, so it runs once instead of once per region; only the parse and
    the validity check are repeated, for the regions :func:`_regions_for` keeps. Built on
    first use: phonenumbers is imported lazily.
    """
    import phonenumbers

    base = phonenumbers.PhoneNumberMatcher

    class MultiRegionMatcher(base):  # type: ignore[misc, valid-type]
        def __init__(self, text: str, regions: tuple[str, ...]) -> None:
            super().__init__(text, regions[0], leniency=phonenumbers.Leniency.VALID)
            self._regions = regions

        def _parse_and_verify(self, candidate: str, offset: int) -> Any:
            for region in _regions_for(candidate, self._regions):
                self.preferred_region = region
                match = super()._parse_and_verify(candidate, offset)
                if match is not None:
                    return match
            return None

    if not callable(getattr(base, "_parse_and_verify", None)):  # pragma: no cover
        return _per_region_matches  # a phonenumbers without the hook: one scan per region
    return MultiRegionMatcher


def _per_region_matches(text: str, regions: tuple[str, ...]) -> Iterator[Any]:
    """The plain way: one libphonenumber scan of ``text`` per region."""
    import phonenumbers

    for region in regions:
        yield from phonenumbers.PhoneNumberMatcher(
            text, region, leniency=phonenumbers.Leniency.VALID
        )

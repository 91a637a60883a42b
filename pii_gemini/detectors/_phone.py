"""The phone-number detector, over Google's libphonenumber (``phonenumbers``)."""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence

from .._exceptions import ConfigError
from .._types import Span
from ._base import Detector, register_detector

__all__ = ["PhoneDetector"]

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

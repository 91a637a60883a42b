"""pii_gemini.detectors._phone: candidate windows, extensions, and libphonenumber's verdicts."""

from __future__ import annotations

import re

import phonenumbers
import pytest

from pii_gemini.detectors import PhoneDetector, resolve_overlaps
from pii_gemini.synthetic import generate_rows

_REGIONS = ("US", "GB", "FR", "DE", "IT")
_QUAD = re.compile(r"\d{1,3}(?:\.\d{1,3}){3}")


@pytest.mark.parametrize(
    ("text", "number"),
    [
        ("Call (202) 555-0143 x42917 today", "(202) 555-0143 x42917"),
        ("Call 202-555-0143 ext. 42 now", "202-555-0143 ext. 42"),
        ("Ring +1 202 555 0143#12.", "+1 202 555 0143#12"),
        ("Tel. 0044 20 7946 0958 (London)", "0044 20 7946 0958"),
        ("Appel au +33 (0)1 42 68 53 00 svp", "+33 (0)1 42 68 53 00"),
    ],
)
def test_windows_keep_extensions_and_prefixes(text: str, number: str) -> None:
    assert [s.value for s in PhoneDetector().find(text)] == [number]


def _libphonenumber(text: str) -> set[tuple[int, int]]:
    """The reference: one PhoneNumberMatcher scan of the whole text per region."""
    spans = [
        (m.start, m.end)
        for region in _REGIONS
        for m in phonenumbers.PhoneNumberMatcher(text, region, phonenumbers.Leniency.VALID)
        if sum(map(str.isdigit, m.raw_string)) >= 7 and not _QUAD.fullmatch(m.raw_string)
    ]
    return {(a, b) for a, b in spans if not any(c <= a and b <= d and (c, d) != (a, b)
                                                  for c, d in spans)}  # fmt: skip


def test_windows_find_what_libphonenumber_finds_in_the_whole_text() -> None:
    """Generated rows in four languages (phone numbers in many national formats, dates,
    amounts, ids): scanning windows gives the same numbers as scanning each text whole."""
    det = PhoneDetector()
    rows = generate_rows(150, seed=11, languages=("en", "fr", "de", "it"))
    texts = [*rows["source_text"], " ".join(rows["source_text"].head(40))]
    for text in texts:
        ours = {(s.start, s.end) for s in resolve_overlaps(det.find(text))}
        assert ours == _libphonenumber(text)


def test_a_plus_followed_by_a_dialling_prefix_is_read_in_every_region() -> None:
    # "+004..." is no country code: only regions whose dialling prefix is 00 read it
    assert [s.value for s in PhoneDetector().find("Tel +004-57 515 8727.")] == ["+004-57 515 8727"]


def test_dotted_quads_are_left_to_the_ipv4_detector() -> None:
    assert list(PhoneDetector().find("from 151.89.104.163 at noon")) == []

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

Inside: ``_base`` (Detector, RegexDetector, the registry), one module per detector family
(``_addresses``, ``_finance``, ``_identity``, ``_phone``), ``_safety_net`` (SafetyNet) and
``_occurrences`` (where many literal values occur in a text, in linear time).
"""

from __future__ import annotations

from ._addresses import EmailDetector, IPv4Detector, IPv6Detector, MacDetector, UrlDetector
from ._base import DETECTORS, Detector, RegexDetector, get_detector, register_detector
from ._finance import BitcoinDetector, CreditCardDetector, EthereumDetector, IbanDetector
from ._identity import DateOfBirthDetector, SsnDetector, VinDetector
from ._phone import PhoneDetector
from ._safety_net import SAFETY_NET_LABEL_MAPS, SafetyNet, SafetyNetResult, resolve_overlaps

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

# Masker cache keys and resumed output files name each detector as "<module>.<repr>": the
# built-in detectors keep the module they were written in before this package was split.
for _cls in (
    EmailDetector,
    UrlDetector,
    IPv4Detector,
    IPv6Detector,
    MacDetector,
    IbanDetector,
    CreditCardDetector,
    BitcoinDetector,
    EthereumDetector,
    VinDetector,
    SsnDetector,
    DateOfBirthDetector,
    PhoneDetector,
):
    _cls.__module__ = __name__
